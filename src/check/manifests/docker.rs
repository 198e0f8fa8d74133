//! Dockerfile (`ENV`, `CMD`, `ENTRYPOINT`) and Procfile: how a service is started and with
//! which environment (auto-instrumentation agents, `OTEL_*` variables).

use crate::check::facts::{Fact, FactKind};

/// Facts of a Dockerfile.
pub fn parse_dockerfile(rel: &str, text: &str) -> Vec<Fact> {
    let mut facts = Vec::new();
    let mut logical = String::new();
    let mut start = 0u32;
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if logical.is_empty() {
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            start = i as u32 + 1;
        }
        if let Some(cont) = t.strip_suffix('\\') {
            logical.push_str(cont);
            logical.push(' ');
            continue;
        }
        logical.push_str(t);
        instruction(rel, &logical, start, &mut facts);
        logical.clear();
    }
    if !logical.is_empty() {
        instruction(rel, &logical, start, &mut facts);
    }
    facts
}

fn instruction(rel: &str, line: &str, no: u32, out: &mut Vec<Fact>) {
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    match word.to_ascii_uppercase().as_str() {
        "ENV" => {
            if rest.contains('=') {
                for pair in split_env(rest) {
                    if let Some((k, v)) = pair.split_once('=') {
                        out.push(env(rel, no, k, v));
                    }
                }
            } else if let Some((k, v)) = rest.split_once(char::is_whitespace) {
                out.push(env(rel, no, k, v.trim()));
            }
        }
        "CMD" | "ENTRYPOINT" => {
            let text = match serde_json::from_str::<Vec<String>>(rest) {
                Ok(parts) => parts.join(" "),
                Err(_) => rest.to_string(),
            };
            out.push(Fact::new(FactKind::Command { text }, rel, no));
        }
        _ => {}
    }
}

fn env(rel: &str, no: u32, k: &str, v: &str) -> Fact {
    Fact::new(
        FactKind::Env {
            name: k.trim().to_string(),
            value: Some(v.trim().trim_matches('"').to_string()),
            from_secret: false,
            from_ref: false,
        },
        rel,
        no,
    )
}

/// Split `A=1 B="x y"` respecting double quotes.
fn split_env(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Facts of a Procfile (`web: command`).
pub fn parse_procfile(rel: &str, text: &str) -> Vec<Fact> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (_, cmd) = l.split_once(':')?;
            Some(Fact::new(
                FactKind::Command {
                    text: cmd.trim().to_string(),
                },
                rel,
                i as u32 + 1,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_entrypoint() {
        let f = parse_dockerfile(
            "svc/Dockerfile",
            "FROM eclipse-temurin:21\n# ENV JAVA_TOOL_OPTIONS=-javaagent:/x.jar\nENV OTEL_SERVICE_NAME=ledger \\\n    JAVA_TOOL_OPTIONS=\"-javaagent:/otel/agent.jar\"\nENTRYPOINT [\"java\", \"-jar\", \"app.jar\"]\n",
        );
        assert_eq!(f.len(), 3);
        assert!(
            matches!(&f[1].kind, FactKind::Env { name, value: Some(v), .. } if name == "JAVA_TOOL_OPTIONS" && v == "-javaagent:/otel/agent.jar")
        );
        assert_eq!(f[1].line, 3);
        assert!(matches!(&f[2].kind, FactKind::Command { text } if text == "java -jar app.jar"));
    }
}
