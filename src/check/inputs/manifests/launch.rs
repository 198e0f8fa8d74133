//! What a start command runs — a Dockerfile's `CMD`/`ENTRYPOINT`, a Procfile's process, a
//! container's command — read past shells (`sh -c '…'`), command lists (`a && b`), init
//! wrappers (`exec`, `dumb-init`, `tini --`) and environment settings (`env A=1`, `A=1`).

/// Each simple command in `text`: its program (the last component of its path) and arguments.
pub fn programs(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    collect(&words(text), 0, &mut out);
    out
}

/// Whether `text` starts Node.js: `node`/`nodejs` (any flags, `--require ./tracing.js`),
/// `ts-node`, `tsx`, `nodemon`, `pm2-runtime`, `bun`, a package manager running a script
/// (`npm start`, `npm run serve`, `yarn start`, `pnpm start`), or `npx` running one of those.
pub fn runs_node(text: &str) -> bool {
    programs(text)
        .iter()
        .any(|(program, args)| node_program(program, args))
}

/// Whether some command in `text` runs `program` (directly, by `npx`, or as `python -m`).
pub fn runs(text: &str, program: &str) -> bool {
    programs(text).iter().any(|(p, args)| {
        p == program
            || (p == "npx" && first_operand(args) == Some(program))
            || (p.starts_with("python")
                && args.first().map(String::as_str) == Some("-m")
                && args.get(1).map(String::as_str) == Some(program))
    })
}

fn node_program(program: &str, args: &[String]) -> bool {
    match program {
        "node" | "nodejs" | "ts-node" | "ts-node-dev" | "tsx" | "nodemon" | "pm2-runtime"
        | "bun" => true,
        "npm" => matches!(
            first_operand(args),
            Some("start" | "run" | "run-script" | "exec")
        ),
        // `yarn start`, `yarn serve`, `pnpm run start`: any script name but installs and builds.
        "yarn" | "pnpm" => first_operand(args)
            .is_some_and(|a| !matches!(a, "install" | "add" | "build" | "ci" | "test")),
        "npx" => {
            let rest: Vec<String> = args
                .iter()
                .skip_while(|a| a.starts_with('-'))
                .cloned()
                .collect();
            rest.split_first()
                .is_some_and(|(p, a)| p != "npx" && node_program(base(p), a))
        }
        _ => false,
    }
}

fn first_operand(args: &[String]) -> Option<&str> {
    args.iter()
        .map(String::as_str)
        .find(|a| !a.starts_with('-'))
}

fn base(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Split on white space outside quotes; quotes removed. `;`, `&&`, `||` and `|` are words of
/// their own (also when written against the previous word: `a; b`).
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, ';') => {
                flush(&mut cur, &mut out);
                out.push(";".into());
            }
            (None, c) if c.is_whitespace() => flush(&mut cur, &mut out),
            (None, c) => cur.push(c),
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// The commands of `words`, opening `sh -c` scripts (at most a few levels deep).
fn collect(words: &[String], depth: usize, out: &mut Vec<(String, Vec<String>)>) {
    for command in words.split(|w| matches!(w.as_str(), ";" | "&&" | "||" | "|")) {
        let mut rest = command;
        // Wrappers and settings before the program.
        while let Some((first, tail)) = rest.split_first() {
            let setting = first.contains('=') && !first.starts_with('-');
            let wrapper = matches!(
                base(first),
                "exec" | "env" | "dumb-init" | "tini" | "--" | "nice" | "nohup"
            );
            // Options of a wrapper (`env -i`, `tini -g --`) go with it.
            if setting || wrapper || first.starts_with('-') {
                rest = tail;
            } else {
                break;
            }
        }
        let Some((first, args)) = rest.split_first() else {
            continue;
        };
        let program = base(first);
        let shell = matches!(program, "sh" | "bash" | "ash" | "dash" | "zsh");
        if shell {
            // `sh -c 'script'`, `bash -ec script words…` (exec form joined by spaces).
            if let Some(at) = args
                .iter()
                .position(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('c'))
            {
                if depth < 4 {
                    let script = args[at + 1..].join(" ");
                    collect(&self::words(&script), depth + 1, out);
                }
                continue;
            }
        }
        out.push((program.to_string(), args.to_vec()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_started_in_every_usual_form() {
        for cmd in [
            "node index.js",
            "node --require ./opentelemetry.js index.js",
            "/usr/local/bin/node server.js",
            "npm start",
            "npm run start:prod",
            "yarn start",
            "pnpm run serve",
            "ts-node src/index.ts",
            "tsx watch src/server.ts",
            "npx ts-node src/index.ts",
            "dumb-init node dist/main.js",
            "tini -- node server.js",
            "exec node server.js",
            "NODE_ENV=production node server.js",
            "env NODE_OPTIONS=--enable-source-maps node server.js",
            "sh -c node --require ./tracing.js index.js",
            "/bin/sh -c 'npm run migrate && node server.js'",
            "pm2-runtime ecosystem.config.js",
            "node",
        ] {
            assert!(runs_node(cmd), "{cmd}");
        }
    }

    #[test]
    fn other_programs_do_not_start_node() {
        for cmd in [
            "python app.py",
            "gunicorn app:app",
            "/api",
            "java -jar app.jar",
            "npx serve -s build",
            "nginx -g daemon off;",
            "k6 run script.js",
            "npm ci",
            "yarn install",
            "sh -c ./run.sh",
            "",
            "locust --headless -H http://frontend:8080",
            "nodeenv --version",
        ] {
            assert!(!runs_node(cmd), "{cmd}");
        }
    }

    #[test]
    fn a_program_past_wrappers_and_shells() {
        assert!(runs("locust --headless -H http://frontend", "locust"));
        assert!(runs("sh -c 'locust -f locustfile.py'", "locust"));
        assert!(runs("python -m locust -f locustfile.py", "locust"));
        assert!(runs("exec mkdocs serve -a 0.0.0.0:8000", "mkdocs"));
        assert!(!runs("gunicorn app:app", "locust"));
        assert!(!runs("python app.py locust", "locust"));
        assert_eq!(
            programs("A=1 sh -c \"cd /app; node x.js\""),
            vec![
                ("cd".to_string(), vec!["/app".to_string()]),
                ("node".to_string(), vec!["x.js".to_string()])
            ]
        );
    }
}
