//! What a service's start commands run and expand to: the shell scripts of its directory that
//! a command runs (`ENTRYPOINT ["docker-entrypoint.sh"]`, `sh ./run.sh`, `. ./env.sh`, and
//! the scripts those run) add their commands and exports to the service; `$NAME` and
//! `${NAME}` in a command take the literal value the service sets (`ENV JAVA_OPTS=…` then
//! `exec java $JAVA_OPTS -jar app.jar`); and sourcing or running OpenTelemetry .NET
//! automatic instrumentation's `instrument.sh` sets what it exports (the CLR profiler and the
//! startup hook). A script copied but never run counts for nothing.

use super::work::Svc;
use crate::check::facts::{Fact, FactKind};
use crate::check::inputs::manifests::launch::programs;

/// The OpenTelemetry .NET automatic instrumentation's CLR profiler.
const DOTNET_PROFILER: &str = "{918728DD-259F-4A6A-AC2B-B85E1B658318}";

/// Run the scripts, expand the commands, for every service.
pub(super) fn start(services: &mut [Svc]) {
    for svc in services {
        run_scripts(svc);
        catalina(svc);
        expand(svc);
        dotnet_instrument_sh(svc);
    }
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether `command` runs, sources or executes the script named `name`.
fn runs_script(command: &str, name: &str) -> bool {
    programs(command).iter().any(|(program, args)| {
        program == name
            || matches!(
                program.as_str(),
                "sh" | "bash" | "ash" | "dash" | "zsh" | "." | "source"
            ) && args
                .iter()
                .find(|a| !a.starts_with('-'))
                .is_some_and(|a| base(a) == name)
    })
}

fn commands(svc: &Svc) -> Vec<String> {
    svc.facts
        .iter()
        .chain(svc.workloads.iter().flat_map(|w| w.facts.iter()))
        .filter_map(|f| match &f.kind {
            FactKind::Command { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn run_scripts(svc: &mut Svc) {
    if svc.scripts.is_empty() {
        return;
    }
    let mut scripts = std::mem::take(&mut svc.scripts);
    // Scripts run by the commands, then by those scripts' commands.
    loop {
        let commands = commands(svc);
        let run = scripts
            .iter()
            .position(|(rel, _)| commands.iter().any(|c| runs_script(c, base(rel))));
        match run {
            Some(i) => {
                let (_, facts) = scripts.swap_remove(i);
                svc.facts.extend(facts);
            }
            None => break,
        }
    }
}

/// Tomcat's `catalina.sh run` (`start`) starts the JVM with `$JAVA_OPTS $CATALINA_OPTS`:
/// that `java` command, at the command that runs it, so that what the image sets there (a
/// `-javaagent:…` in `CATALINA_OPTS`) is on a start command once expanded.
fn catalina(svc: &mut Svc) {
    let runs = |text: &str| {
        programs(text).iter().any(|(program, args)| {
            program == "catalina.sh"
                && args
                    .iter()
                    .any(|a| matches!(a.as_str(), "run" | "start" | "jpda"))
        })
    };
    let at: Vec<Fact> = svc
        .facts
        .iter()
        .chain(svc.workloads.iter().flat_map(|w| w.facts.iter()))
        .filter(|f| matches!(&f.kind, FactKind::Command { text, .. } if runs(text)))
        .cloned()
        .collect();
    for command in at {
        let FactKind::Command { slot, .. } = command.kind else {
            continue;
        };
        svc.facts.push(Fact::at(
            FactKind::Command {
                text: "java $JAVA_OPTS $CATALINA_OPTS org.apache.catalina.startup.Bootstrap start"
                    .into(),
                slot,
            },
            &command.file,
            command.line,
        ));
    }
}

/// `$NAME` / `${NAME}` in commands replaced by the literal value the service sets.
fn expand(svc: &mut Svc) {
    let values: Vec<(String, String)> = svc
        .facts
        .iter()
        .chain(svc.workloads.iter().flat_map(|w| w.facts.iter()))
        .filter_map(|f| match &f.kind {
            FactKind::Env {
                name,
                value: Some(v),
                ..
            } => Some((name.clone(), v.clone())),
            _ => None,
        })
        .collect();
    if values.is_empty() {
        return;
    }
    let facts = svc
        .facts
        .iter_mut()
        .chain(svc.workloads.iter_mut().flat_map(|w| w.facts.iter_mut()));
    for f in facts {
        if let FactKind::Command { text, .. } = &mut f.kind {
            if text.contains('$') {
                *text = substitute(text, &values);
            }
        }
    }
}

fn substitute(text: &str, values: &[(String, String)]) -> String {
    let value_of = |name: &str| values.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(close) => (&braced[..close], close + 2),
                None => ("", 0),
            },
            None => {
                let n = after
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    .count();
                (&after[..n], n)
            }
        };
        match value_of(name) {
            Some(v) if len > 0 => out.push_str(v),
            _ => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// `. $OTEL_DOTNET_AUTO_HOME/instrument.sh`, `source …/instrument.sh`, `instrument.sh dotnet
/// App.dll`: the variables it exports, at the command.
fn dotnet_instrument_sh(svc: &mut Svc) {
    let at: Vec<Fact> = svc
        .facts
        .iter()
        .chain(svc.workloads.iter().flat_map(|w| w.facts.iter()))
        .filter(
            |f| matches!(&f.kind, FactKind::Command { text, .. } if runs_script(text, "instrument.sh")),
        )
        .cloned()
        .collect();
    for command in at {
        for (name, value) in [
            ("CORECLR_ENABLE_PROFILING", "1"),
            ("CORECLR_PROFILER", DOTNET_PROFILER),
            (
                "DOTNET_STARTUP_HOOKS",
                "OpenTelemetry.AutoInstrumentation.StartupHook.dll",
            ),
        ] {
            svc.facts.push(Fact::at(
                FactKind::Env {
                    name: name.into(),
                    value: Some(value.into()),
                    from_secret: false,
                    from_ref: false,
                },
                &command.file,
                command.line,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(text: &str, file: &str, line: u32) -> Fact {
        Fact::new(FactKind::command(text), file, line)
    }

    fn env(name: &str, value: &str, file: &str) -> Fact {
        Fact::new(
            FactKind::Env {
                name: name.into(),
                value: Some(value.into()),
                from_secret: false,
                from_ref: false,
            },
            file,
            1,
        )
    }

    fn texts(svc: &Svc) -> Vec<String> {
        svc.facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::Command { text, .. } => Some(format!("{}:{} {text}", f.file, f.line)),
                FactKind::Env { name, value, .. } => Some(format!(
                    "{}:{} {name}={}",
                    f.file,
                    f.line,
                    value.as_deref().unwrap_or("")
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_script_counts_when_a_command_runs_it_and_commands_expand() {
        let mut svc = Svc {
            facts: vec![
                env("JAVA_OPTS", "-javaagent:/otel/agent.jar", "p/Dockerfile"),
                command("docker-entrypoint.sh", "p/Dockerfile", 9),
            ],
            scripts: vec![
                (
                    "p/docker-entrypoint.sh".into(),
                    vec![command(
                        "exec java ${JAVA_OPTS} -jar /app/app.jar",
                        "p/docker-entrypoint.sh",
                        4,
                    )],
                ),
                // Copied beside it, never run.
                (
                    "p/debug.sh".into(),
                    vec![command(
                        "exec opentelemetry-instrument python x.py",
                        "p/debug.sh",
                        2,
                    )],
                ),
            ],
            ..Svc::default()
        };
        start(std::slice::from_mut(&mut svc));
        assert_eq!(
            texts(&svc),
            vec![
                "p/Dockerfile:1 JAVA_OPTS=-javaagent:/otel/agent.jar",
                "p/Dockerfile:9 docker-entrypoint.sh",
                "p/docker-entrypoint.sh:4 exec java -javaagent:/otel/agent.jar -jar /app/app.jar",
            ]
        );
        assert!(svc.scripts.is_empty());
    }

    #[test]
    fn catalina_sh_run_starts_java_with_the_catalina_and_java_options() {
        let mut svc = Svc {
            facts: vec![
                env(
                    "CATALINA_OPTS",
                    "-javaagent:/usr/local/tomcat/otel/agent.jar",
                    "base/Dockerfile",
                ),
                command(
                    "/usr/local/tomcat/bin/start.sh && /usr/local/tomcat/bin/catalina.sh run",
                    "base/Dockerfile",
                    12,
                ),
                // Stopping Tomcat starts nothing.
                command("catalina.sh stop", "base/stop.sh", 2),
            ],
            ..Svc::default()
        };
        start(std::slice::from_mut(&mut svc));
        assert_eq!(
            texts(&svc)[3..],
            ["base/Dockerfile:12 java $JAVA_OPTS -javaagent:/usr/local/tomcat/otel/agent.jar org.apache.catalina.startup.Bootstrap start"]
        );
    }

    #[test]
    fn instrument_sh_sourced_sets_the_profiler_and_not_when_only_copied() {
        for (cmd, sets) in [
            (". \"$OTEL_DOTNET_AUTO_HOME/instrument.sh\"", true),
            (
                "/bin/bash -c 'source /otel/instrument.sh && dotnet App.dll'",
                true,
            ),
            ("/otel-dotnet-auto/instrument.sh dotnet App.dll", true),
            ("cp instrument.sh /otel/", false),
            ("dotnet App.dll", false),
        ] {
            let mut svc = Svc {
                facts: vec![command(cmd, "a/Dockerfile", 3)],
                ..Svc::default()
            };
            start(std::slice::from_mut(&mut svc));
            let profiling =
                texts(&svc).contains(&"a/Dockerfile:3 CORECLR_ENABLE_PROFILING=1".to_string());
            assert_eq!(profiling, sets, "{cmd}");
        }
    }
}
