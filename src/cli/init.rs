//! `tracegate init`: write a starter tracegate.yaml and a CI job (GitHub Actions or GitLab CI).

use std::path::PathBuf;

use super::init_templates::{self as init, Ci};
use tracegate::exit::ExitStatus;

const EXAMPLES: &str = "\
Examples:
  tracegate init
      write ./tracegate.yaml and ./.github/workflows/tracegate.yml
  tracegate init --ci gitlab
      write ./tracegate.yaml and ./.gitlab/tracegate.yml (include it from .gitlab-ci.yml)
  tracegate init path/to/repo --force
      overwrite them if they exist

The CI job pins this release of tracegate (the Action, or the release binary verified against
its SHA-256 checksum). One line on stderr names what was written; stdout stays empty.

Exit codes: 0 written, 2 a file exists (without --force) or cannot be written.";

/// Write a starter tracegate.yaml and a CI job running `tracegate check`.
///
/// Refuses to overwrite either file unless --force is given (and then writes nothing).
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Repository root to write into.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The CI to write a job for.
    #[arg(long, value_enum, default_value = "github")]
    ci: Ci,
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
    init::write_starter(&args.path, args.ci, args.force)?;
    let [config, job] = init::files(args.ci);
    let include = match args.ci {
        Ci::Github => "",
        Ci::Gitlab => " (include it from .gitlab-ci.yml)",
    };
    // A note for the person at the terminal (stderr, as cargo's status lines): one line.
    eprintln!(
        "wrote {config} and {job}{include} in {}; next: tracegate check {}",
        args.path.display(),
        args.path.display()
    );
    Ok(ExitStatus::Passed)
}
