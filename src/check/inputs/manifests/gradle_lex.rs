//! The tokens of a Gradle build or settings script, Groovy DSL or Kotlin DSL alike, grouped
//! into statements with the blocks they sit in: enough to read `plugins { … }`,
//! `dependencies { … }` and `rootProject.name = …` as they are written in the wild, without
//! running the script.

/// One token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Tok {
    /// A name or a dotted path (`implementation`, `libs.opentelemetry.api`, `mainClass.set`,
    /// `` `java-library` `` without its backticks).
    Word(String),
    /// A string literal's content (`'g:a:1'`, `"g:a:${v}"`, `"""…"""`), escapes left as written.
    Str(String),
    /// `(`, `)`, `,`, `=`, `:`…
    Punct(u8),
}

/// A statement: its tokens, the line of its first token, and the names of the blocks it is in
/// (`["dependencies"]`, `["subprojects", "dependencies"]`).
#[derive(Debug)]
pub(super) struct Statement {
    pub(super) toks: Vec<Tok>,
    pub(super) line: u32,
    pub(super) blocks: Vec<String>,
}

/// Split a script into statements. A statement ends at a line break outside parentheses
/// (unless the line ends with `,` or an operator that continues it), at `;`, and where a block
/// opens or closes; a block `name(…) {` is named after the statement's first word. Comments
/// are dropped; unbalanced brackets end nothing early and never fail.
pub(super) fn statements(text: &str) -> Vec<Statement> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut cur: Vec<Tok> = Vec::new();
    let mut cur_line = 1u32;
    let mut line = 1u32;
    let mut parens = 0usize;
    let mut i = 0;
    let flush = |cur: &mut Vec<Tok>, out: &mut Vec<Statement>, blocks: &[String], at: u32| {
        if !cur.is_empty() {
            out.push(Statement {
                toks: std::mem::take(cur),
                line: at,
                blocks: blocks.to_vec(),
            });
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line += 1;
                i += 1;
                let continues = matches!(
                    cur.last(),
                    Some(Tok::Punct(b',' | b'=' | b'+' | b'.' | b':'))
                );
                if parens == 0 && !continues {
                    flush(&mut cur, &mut out, &blocks, cur_line);
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    if bytes[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 2;
                continue;
            }
            _ if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }
        if cur.is_empty() {
            cur_line = line;
        }
        match b {
            b'\'' | b'"' => {
                let quote = b;
                let triple = bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote);
                let open = if triple { 3 } else { 1 };
                let start = i + open;
                let mut j = start;
                loop {
                    match bytes.get(j) {
                        None => break,
                        Some(b'\\') => j += 2,
                        Some(b'\n') if !triple => break,
                        Some(c) if *c == quote => {
                            if !triple
                                || (bytes.get(j + 1) == Some(&quote)
                                    && bytes.get(j + 2) == Some(&quote))
                            {
                                break;
                            }
                            j += 1;
                        }
                        Some(b'\n') => {
                            line += 1;
                            j += 1;
                        }
                        Some(_) => j += 1,
                    }
                }
                let end = j.min(bytes.len());
                cur.push(Tok::Str(
                    String::from_utf8_lossy(&bytes[start.min(end)..end]).into_owned(),
                ));
                i = (end + open).min(bytes.len().max(end));
            }
            b'`' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'`' && bytes[j] != b'\n' {
                    j += 1;
                }
                cur.push(Tok::Word(
                    String::from_utf8_lossy(&bytes[start..j]).into_owned(),
                ));
                i = j + 1;
            }
            _ if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'$')
                        || (bytes[i] == b'.'
                            && bytes
                                .get(i + 1)
                                .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'_')))
                {
                    i += 1;
                }
                cur.push(Tok::Word(
                    String::from_utf8_lossy(&bytes[start..i]).into_owned(),
                ));
            }
            b'{' => {
                let name = match cur.first() {
                    Some(Tok::Word(w)) => w.clone(),
                    _ => String::new(),
                };
                parens = 0;
                flush(&mut cur, &mut out, &blocks, cur_line);
                blocks.push(name);
                i += 1;
            }
            b'}' => {
                parens = 0;
                flush(&mut cur, &mut out, &blocks, cur_line);
                blocks.pop();
                i += 1;
            }
            b';' => {
                flush(&mut cur, &mut out, &blocks, cur_line);
                i += 1;
            }
            _ => {
                match b {
                    b'(' | b'[' => parens += 1,
                    b')' | b']' => parens = parens.saturating_sub(1),
                    _ => {}
                }
                cur.push(Tok::Punct(b));
                i += 1;
            }
        }
    }
    flush(&mut cur, &mut out, &blocks, cur_line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &Statement) -> String {
        s.toks
            .iter()
            .map(|t| match t {
                Tok::Word(w) => w.clone(),
                Tok::Str(s) => format!("'{s}'"),
                Tok::Punct(p) => (*p as char).to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn statements_with_their_blocks_and_lines() {
        let text = "plugins {\n    `java-library`\n    id(\"org.springframework.boot\") version \"3.3.5\" // boot\n}\n/* dependencies { implementation('x:y:1') } */\ndependencies {\n    implementation 'a:b:1',\n        'c:d:2'\n    implementation(\"e:f:3\") { exclude(group = \"g\") }\n    api(\n        libs.otel.api\n    ); runtimeOnly(\"\"\"h:i:4\"\"\")\n}\n";
        let got: Vec<(Vec<String>, u32, String)> = statements(text)
            .iter()
            .map(|s| (s.blocks.clone(), s.line, words(s)))
            .collect();
        let plugins = vec!["plugins".to_string()];
        let deps = vec!["dependencies".to_string()];
        assert_eq!(
            got,
            vec![
                (vec![], 1, "plugins".to_string()),
                (plugins.clone(), 2, "java-library".to_string()),
                (
                    plugins,
                    3,
                    "id ( 'org.springframework.boot' ) version '3.3.5'".to_string()
                ),
                (vec![], 6, "dependencies".to_string()),
                (
                    deps.clone(),
                    7,
                    "implementation 'a:b:1' , 'c:d:2'".to_string()
                ),
                (deps.clone(), 9, "implementation ( 'e:f:3' )".to_string()),
                (
                    vec!["dependencies".to_string(), "implementation".to_string()],
                    9,
                    "exclude ( group = 'g' )".to_string()
                ),
                (deps.clone(), 10, "api ( libs.otel.api )".to_string()),
                (deps, 12, "runtimeOnly ( 'h:i:4' )".to_string()),
            ]
        );
    }

    #[test]
    fn unbalanced_and_unterminated_input_never_fails() {
        for text in [
            "dependencies {\n implementation(\"a",
            "}}}\n((",
            "'''",
            "/* x",
            "`x",
        ] {
            let _ = statements(text);
        }
    }
}
