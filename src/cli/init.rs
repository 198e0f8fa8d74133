//! `tracegate init`: write a starter tracegate.yaml and a GitHub Actions workflow.

use std::path::PathBuf;

use super::init_templates as init;
use tracegate::exit::ExitStatus;

const EXAMPLES: &str = "\
Examples:
  tracegate init
      write ./tracegate.yaml and ./.github/workflows/tracegate.yml
  tracegate init path/to/repo --force
      overwrite them if they exist

Exit codes: 0 written, 2 a file exists (without --force) or cannot be written.";

/// Write a starter tracegate.yaml and a GitHub Actions workflow running `tracegate check`.
///
/// Refuses to overwrite either file unless --force is given (and then writes nothing).
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Repository root to write into.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    // The repository root must exist: a typo must not create a directory tree somewhere.
    match std::fs::metadata(&args.path) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => anyhow::bail!("{}: not a directory", args.path.display()),
        Err(err) => anyhow::bail!("{}: not a readable directory: {err}", args.path.display()),
    }
    let written = init::write_starter(&args.path, args.force)?;
    for path in written {
        eprintln!("wrote {}", path.display());
    }
    eprintln!("next: `tracegate check {}`", args.path.display());
    Ok(ExitStatus::Passed)
}
