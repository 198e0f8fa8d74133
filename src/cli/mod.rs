//! Command-line definitions (clap) and one handler module per subcommand.
//!
//! Handlers call the library and render its results; they decide nothing themselves.

use clap::{Parser, Subcommand};
use tracegate::exit::ExitStatus;

mod check;
mod collect;
mod completions;
mod config;
mod conformance;
mod coverage;
mod demo;
mod init;
mod init_templates;
mod rules;
mod term;
mod trace;
mod verify;

const AFTER_HELP: &str = "\
Examples:
  tracegate check .
      gate a repository: a verdict per service, findings with file:line and the fix
  tracegate check . --format sarif --output tracegate.sarif
      SARIF for GitHub code scanning (also json, junit, github, markdown)
  tracegate rules explain TG102
      what a rule checks, why, how to fix it
  tracegate init
      starter tracegate.yaml and GitHub Actions workflow
  tracegate conformance-service --listen 127.0.0.1:5000
      serve the W3C trace-context test suite's service-under-test contract
  tracegate collect --store .tracegate/traces
      receive OTLP spans (HTTP :4318, gRPC :4317) and print each trace
  tracegate trace show 4bf92f3577b34da6a3ce929d0e0e4736 --format html -o trace.html
      draw one trace
  tracegate demo
      run the demo billing platform on loopback and verify AC-001…AC-007 against it
  tracegate verify --scenario scenario.yaml --from http://tempo:3200 --backend tempo
      replay a scenario through a running platform (--target URL, or the scenario's);
      a verdict with evidence per acceptance criterion
  tracegate coverage ~/src/payments ~/src/identity --format markdown
      this week's share of services propagating trace context, per team, with the trend
  tracegate completions bash > ~/.local/share/bash-completion/completions/tracegate
      shell completions (also zsh, fish, powershell); `tracegate man` prints the man page

Exit codes: 0 passed, 1 policy failed (a finding at or above --fail-on, a failed acceptance
criterion), 2 usage, configuration or input error.";

/// Make W3C trace-context propagation an enforceable, measurable capability.
#[derive(Debug, Parser)]
#[command(
    name = "tracegate",
    version = env!("TRACEGATE_VERSION"),
    about,
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Check(check::Args),
    Rules(rules::Args),
    Init(init::Args),
    Config(config::Args),
    ConformanceService(conformance::Args),
    Collect(collect::Args),
    Trace(trace::Args),
    Verify(verify::Args),
    Demo(demo::Args),
    Coverage(Box<coverage::Args>),
    Completions(completions::CompletionsArgs),
    Man(completions::ManArgs),
}

/// Parse the command line and run the chosen subcommand.
pub fn run() -> ExitStatus {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = err.print();
            return if err.use_stderr() {
                ExitStatus::Error
            } else {
                ExitStatus::Passed
            };
        }
    };
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Init(args) => init::run(args),
        Command::Config(args) => config::run(args),
        Command::ConformanceService(args) => conformance::run(args),
        Command::Collect(args) => collect::run(args),
        Command::Trace(args) => trace::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Coverage(args) => coverage::run(*args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    };
    match result {
        Ok(status) => status,
        Err(err) => {
            // errors can quote repository content (file names): no raw control characters
            let message = format!("{err:#}");
            eprintln!(
                "tracegate: error: {}",
                tracegate::report::escape_control(&message)
            );
            ExitStatus::Error
        }
    }
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    /// clap's own consistency checks over every subcommand (duplicate flags, conflicts naming
    /// arguments that exist, `global` flags): they otherwise run only for the subcommand parsed.
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
