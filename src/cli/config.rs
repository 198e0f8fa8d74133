//! `tracegate config`: the `tracegate.yaml` schema.

use tracegate::exit::ExitStatus;

const EXAMPLES: &str = "\
Examples:
  tracegate config schema > tracegate.schema.json
      the JSON Schema of tracegate.yaml (for editors: yaml-language-server)
  tracegate config schema --scenario > scenario.schema.json
      the JSON Schema of `tracegate verify` scenario files
  # first line of tracegate.yaml, for completion in VS Code and friends:
  #   # yaml-language-server: $schema=./tracegate.schema.json";

/// Work with `tracegate.yaml`, the policy file of `tracegate check` (and verify's scenarios).
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print the JSON Schema of tracegate.yaml (or, with --scenario, of verify's scenarios).
    #[command(after_help = EXAMPLES)]
    Schema {
        /// The schema of `tracegate verify` scenario files instead.
        #[arg(long)]
        scenario: bool,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    match args.command {
        Command::Schema { scenario } => {
            let schema = if scenario {
                serde_json::to_value(tracegate::verify::scenario::schema())?
            } else {
                serde_json::to_value(tracegate::check::policy::config::schema())?
            };
            super::print(&format!("{}\n", serde_json::to_string_pretty(&schema)?))?;
            Ok(ExitStatus::Passed)
        }
    }
}
