//! Dockerfile (`ENV`, `CMD`, `ENTRYPOINT`) and Procfile: how a service is started and with
//! which environment (auto-instrumentation agents, `OTEL_*` variables).

use crate::check::facts::{CommandSlot, Fact, FactKind};

/// Facts of a Dockerfile.
pub fn parse_dockerfile(rel: &str, text: &str) -> Vec<Fact> {
    // One entry per build stage (the first holds what comes before any FROM).
    let mut stages: Vec<Stage> = vec![Stage::default()];
    let mut logical = String::new();
    let mut start = 0u32;
    // `ARG NAME=default` before the first FROM: what `FROM ${NAME}` means.
    let mut args: Vec<(String, String)> = Vec::new();
    // What `RUN` installs, in any stage: a build stage's packages are copied into the image
    // (`pip install --prefix=/install`, then `COPY --from`).
    let mut installs: Vec<Fact> = Vec::new();
    let mut end_instruction = |logical: &str, start: u32, stages: &mut Vec<Stage>| {
        if let Some(run) = run_instruction(logical) {
            installs.extend(super::docker_run::installs(rel, run, start));
            return;
        }
        if stages.len() == 1 {
            if let Some((name, value)) = global_arg(logical) {
                let value = substitute(&value, &args);
                args.push((name, value));
            }
        }
        match from_instruction(logical, &args) {
            Some(stage) => stages.push(stage),
            None => {
                if let Some(stage) = stages.last_mut() {
                    instruction(rel, logical, start, &mut stage.facts);
                }
            }
        }
    };
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
        end_instruction(&logical, start, &mut stages);
        logical.clear();
    }
    if !logical.is_empty() {
        end_instruction(&logical, start, &mut stages);
    }
    let mut facts = shipped_facts(stages);
    facts.extend(installs);
    facts
}

/// The command of a `RUN` instruction (its flags, such as `--mount=…`, dropped).
fn run_instruction(line: &str) -> Option<&str> {
    let (word, rest) = line.split_once(char::is_whitespace)?;
    if !word.eq_ignore_ascii_case("RUN") {
        return None;
    }
    let mut rest = rest.trim_start();
    while rest.starts_with("--") {
        rest = rest
            .split_once(char::is_whitespace)
            .map_or("", |(_, r)| r)
            .trim_start();
    }
    Some(rest)
}

/// A build stage: `FROM base AS name` and the facts of its instructions.
#[derive(Default)]
struct Stage {
    name: Option<String>,
    base: String,
    facts: Vec<Fact>,
}

/// `ARG NAME=default` → (NAME, default); an `ARG NAME` without a default is unknown.
fn global_arg(line: &str) -> Option<(String, String)> {
    let (word, rest) = line.split_once(char::is_whitespace)?;
    if !word.eq_ignore_ascii_case("ARG") {
        return None;
    }
    let (name, value) = rest.trim().split_once('=')?;
    Some((
        name.trim().to_string(),
        value.trim().trim_matches(['"', '\'']).to_string(),
    ))
}

/// `$NAME`, `${NAME}` and `${NAME:-default}` replaced by the ARG defaults known, or by the
/// written default; one pass, left to right (a value is never substituted again). Unknown
/// references stay as written.
fn substitute(word: &str, args: &[(String, String)]) -> String {
    let value_of = |name: &str| args.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v);
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(braced) = after.strip_prefix('{') {
            let Some(close) = braced.find('}') else {
                out.push_str(&rest[at..]);
                return out;
            };
            let inner = &braced[..close];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            match (value_of(name), default) {
                (Some(v), _) => out.push_str(v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => out.push_str(&rest[at..at + 2 + close + 1]),
            }
            rest = &braced[close + 1..];
        } else {
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            match value_of(&after[..len]) {
                Some(v) if len > 0 => out.push_str(v),
                _ => out.push_str(&rest[at..at + 1 + len]),
            }
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    out
}

/// `FROM [--platform=…] image [AS name]`.
fn from_instruction(line: &str, args: &[(String, String)]) -> Option<Stage> {
    let mut words = line.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("FROM") {
        return None;
    }
    let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
    let base = substitute(rest.first().copied().unwrap_or_default(), args);
    let name = match rest.as_slice() {
        [_, as_kw, name, ..] if as_kw.eq_ignore_ascii_case("AS") => Some(name.to_string()),
        _ => None,
    };
    Some(Stage {
        name,
        base,
        facts: Vec::new(),
    })
}

/// Only the last stage is the image that ships; it also has what the stages it is built
/// `FROM` set (`FROM base AS final` keeps `base`'s ENV). An agent set in a build stage the
/// final image does not derive from does not count.
fn shipped_facts(mut stages: Vec<Stage>) -> Vec<Fact> {
    // A stage chosen by a build argument without a default (`FROM $TARGET`): any stage may
    // ship, so every stage counts, as for a single-stage file.
    if stages.iter().any(|s| s.base.contains('$')) {
        return stages.into_iter().flat_map(|s| s.facts).collect();
    }
    let mut chain = Vec::new();
    let mut at = stages.len() - 1;
    loop {
        chain.push(at);
        let base = &stages[at].base;
        let parent = stages[..at].iter().rposition(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(base))
        });
        match parent {
            Some(p) => at = p,
            None => break,
        }
    }
    if stages.len() > 1 && !chain.contains(&0) {
        chain.push(0); // instructions before the first FROM (ARG)
    }
    chain.sort_unstable();
    chain
        .into_iter()
        .flat_map(|i| std::mem::take(&mut stages[i].facts))
        .collect()
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
        "COPY" | "ADD" => out.extend(copy(rel, rest, no)),
        "CMD" | "ENTRYPOINT" => {
            let text = match serde_json::from_str::<Vec<String>>(rest) {
                Ok(parts) => parts.join(" "),
                Err(_) => rest.to_string(),
            };
            let slot = if word.eq_ignore_ascii_case("CMD") {
                CommandSlot::ImageCmd
            } else {
                CommandSlot::ImageEntrypoint
            };
            out.push(Fact::new(FactKind::Command { text, slot }, rel, no));
        }
        _ => {}
    }
}

/// `COPY [--flags] SRC… DEST` (or the JSON form): files of the build context put in the
/// image. One `--from` another stage or image copies nothing of the tree; a URL or a heredoc
/// is no file of it either.
fn copy(rel: &str, rest: &str, no: u32) -> Option<Fact> {
    let words: Vec<String> = match rest.find('[') {
        Some(i) if rest[..i].split_whitespace().all(|w| w.starts_with("--")) => {
            if rest[..i].contains("--from") {
                return None;
            }
            serde_json::from_str::<Vec<String>>(&rest[i..]).ok()?
        }
        _ => rest
            .split_whitespace()
            .map(|w| w.trim_matches(['"', '\'']).to_string())
            .collect(),
    };
    if words.iter().any(|w| w.starts_with("--from")) {
        return None;
    }
    let mut paths: Vec<String> = words.into_iter().filter(|w| !w.starts_with("--")).collect();
    let dest = paths.pop()?;
    paths.retain(|s| !s.contains("://") && !s.starts_with("<<") && !s.starts_with("git@"));
    if paths.is_empty() {
        return None;
    }
    Some(Fact::new(
        FactKind::Copy {
            sources: paths,
            dest,
        },
        rel,
        no,
    ))
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
            Some(Fact::new(FactKind::command(cmd.trim()), rel, i as u32 + 1))
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
        assert!(
            matches!(&f[2].kind, FactKind::Command { text, .. } if text == "java -jar app.jar")
        );
    }

    #[test]
    fn copies_of_the_build_context_not_from_stages_images_or_urls() {
        let text = "FROM golang:1.23 AS build\nCOPY . .\nFROM alpine\nCOPY --from=build /out/app /app\nCOPY --chown=1000:1000 otel-config.yaml /otel/config.yaml\nADD [\"a.yaml\", \"b.yaml\", \"/etc/otel/\"]\nCOPY --from=ghcr.io/x/defaults:1 /otel.yaml /otel/\nADD https://example.com/agent.jar /agent.jar\nCOPY <<EOF /x\n";
        let got: Vec<(Vec<String>, String, u32)> = parse_dockerfile("Dockerfile", text)
            .into_iter()
            .filter_map(|f| match f.kind {
                FactKind::Copy { sources, dest } => Some((sources, dest, f.line)),
                _ => None,
            })
            .collect();
        let s = |v: &[&str], d: &str, l: u32| {
            (
                v.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
                d.to_string(),
                l,
            )
        };
        assert_eq!(
            got,
            vec![
                s(&["otel-config.yaml"], "/otel/config.yaml", 5),
                s(&["a.yaml", "b.yaml"], "/etc/otel/", 6),
            ]
        );
    }

    fn env_names(f: &[Fact]) -> Vec<String> {
        f.iter()
            .filter_map(|f| match &f.kind {
                FactKind::Env { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn only_the_shipped_stage_and_its_bases_count() {
        // The agent is set in a build stage the final image does not derive from.
        let f = parse_dockerfile(
            "Dockerfile",
            "FROM maven:3 AS build\nENV JAVA_TOOL_OPTIONS=-javaagent:/otel.jar\nRUN mvn package\nFROM eclipse-temurin:21-jre\nENV OTEL_SERVICE_NAME=ledger\nCMD [\"java\", \"-jar\", \"app.jar\"]\n",
        );
        assert_eq!(env_names(&f), vec!["OTEL_SERVICE_NAME"]);
        assert_eq!(f[0].line, 5);
        // `FROM base AS final` keeps base's environment (names compare case-insensitively).
        let f = parse_dockerfile(
            "Dockerfile",
            "FROM --platform=linux/amd64 eclipse-temurin:21 AS Base\nENV JAVA_TOOL_OPTIONS=-javaagent:/otel.jar\nFROM maven:3 AS build\nENV X=1\nfrom base as final\nCMD java -jar app.jar\n",
        );
        assert_eq!(env_names(&f), vec!["JAVA_TOOL_OPTIONS"]);
        assert!(
            matches!(&f[1].kind, FactKind::Command { text, .. } if text == "java -jar app.jar")
        );
        // `FROM ${FINAL}` with `ARG FINAL=runtime`: the runtime stage ships.
        let f = parse_dockerfile(
            "Dockerfile",
            "ARG FINAL=runtime\nFROM python:3.12 AS runtime\nENV OTEL_PROPAGATORS=tracecontext\nFROM python:3.12 AS debug\nENV DEBUG=1\nFROM ${FINAL}\nLABEL a=b\n",
        );
        assert_eq!(env_names(&f), vec!["OTEL_PROPAGATORS"]);
        // A build argument without a default: any stage may ship, all count.
        let f = parse_dockerfile(
            "Dockerfile",
            "ARG FINAL\nFROM python:3.12 AS runtime\nENV A=1\nFROM python:3.12 AS debug\nENV B=1\nFROM $FINAL\n",
        );
        assert_eq!(env_names(&f), vec!["A", "B"]);
        // A default that refers to itself, single quotes, a longer name sharing a prefix.
        let f = parse_dockerfile(
            "Dockerfile",
            "ARG FINAL=${FINAL:-runtime}\nARG TAG='3.12'\nFROM python:$TAG AS runtime\nENV A=1\nFROM python:${TAG_X:-3} AS debug\nENV B=1\nFROM ${FINAL:-runtime}\n",
        );
        assert_eq!(env_names(&f), vec!["A"]);
        assert_eq!(
            substitute(
                "${FINAL:-runtime}",
                &[("FINAL".into(), "${FINAL:-runtime}".into())]
            ),
            "${FINAL:-runtime}"
        );
        assert_eq!(
            substitute("$TAG_X-$TAG", &[("TAG".into(), "1".into())]),
            "$TAG_X-1"
        );
    }
}
