//! Shell scripts (`*.sh`): an entrypoint script a Dockerfile copies and runs
//! (`docker-entrypoint.sh`, `entrypoint.sh`, `run.sh`) starts the process and may set its
//! environment. Each command line becomes a `Command` fact and each `export NAME=value` (or a
//! bare `NAME=value`) an `Env` fact; whether the script runs at all is decided later, by the
//! commands of its service that start it.

use crate::check::facts::{Fact, FactKind};

/// Facts of a shell script.
pub fn parse_script(rel: &str, text: &str) -> Vec<Fact> {
    let mut out = Vec::new();
    for (start, line) in logical_lines(text) {
        line_facts(rel, &line, start, &mut out);
    }
    out
}

/// A script's logical lines (a `\` at the end of a line continues it) and the 1-based line each
/// starts at; blank lines and comment lines are left out.
pub fn logical_lines(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
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
        out.push((start, std::mem::take(&mut logical)));
    }
    if !logical.is_empty() {
        out.push((start, logical));
    }
    out
}

fn line_facts(rel: &str, line: &str, no: u32, out: &mut Vec<Fact>) {
    let assignment = line.strip_prefix("export ").unwrap_or(line).trim();
    if let Some((name, value)) = assignment.split_once('=') {
        let identifier = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let quoted = value.len() >= 2
            && ((value.starts_with('"') && value.ends_with('"'))
                || (value.starts_with('\'') && value.ends_with('\'')));
        // `A=1 node x.js` is a command run with a setting, not an assignment.
        if identifier && (quoted || !value.contains(char::is_whitespace)) {
            out.push(Fact::new(
                FactKind::Env {
                    name: name.to_string(),
                    value: Some(value.trim_matches(['"', '\'']).to_string()),
                    from_secret: false,
                    from_ref: false,
                },
                rel,
                no,
            ));
            return;
        }
    }
    out.push(Fact::new(FactKind::command(line), rel, no));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_exports_of_an_entrypoint_script() {
        let text = "#!/bin/sh\nset -e\nNODE_ENV=production node x.js\n# exec java -jar old.jar\nexport JAVA_TOOL_OPTIONS=\"-javaagent:/otel/agent.jar -Xmx1g\"\nOTEL_SERVICE_NAME=ledger\nexec java \\\n  -jar /app/app.jar \"$@\"\n";
        let facts = parse_script("svc/entrypoint.sh", text);
        let shown: Vec<String> = facts
            .iter()
            .map(|f| match &f.kind {
                FactKind::Env { name, value, .. } => {
                    format!("{}: {name}={}", f.line, value.as_deref().unwrap_or(""))
                }
                FactKind::Command { text, .. } => format!("{}: {text}", f.line),
                _ => String::new(),
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                "2: set -e",
                "3: NODE_ENV=production node x.js",
                "5: JAVA_TOOL_OPTIONS=-javaagent:/otel/agent.jar -Xmx1g",
                "6: OTEL_SERVICE_NAME=ledger",
                "7: exec java  -jar /app/app.jar \"$@\"",
            ]
        );
    }
}
