//! `tracegate completions SHELL` and `tracegate man`: generated from the command-line
//! definitions themselves (clap_complete, clap_mangen), so they never drift from `--help`.

use clap::CommandFactory;
use tracegate::exit::ExitStatus;

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  tracegate completions bash > ~/.local/share/bash-completion/completions/tracegate
  tracegate completions zsh > ~/.zfunc/_tracegate        # with fpath+=(~/.zfunc) in .zshrc
  tracegate completions fish > ~/.config/fish/completions/tracegate.fish
  tracegate completions powershell >> $PROFILE";

const MAN_EXAMPLES: &str = "\
Examples:
  tracegate man > ~/.local/share/man/man1/tracegate.1
  tracegate man | man -l -";

/// Print a shell completion script on stdout.
#[derive(Debug, clap::Args)]
#[command(after_help = COMPLETIONS_EXAMPLES)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

/// Print the man page (roff, section 1) on stdout.
#[derive(Debug, clap::Args)]
#[command(after_help = MAN_EXAMPLES)]
pub struct ManArgs {}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitStatus> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "tracegate", &mut out);
    super::print(&String::from_utf8_lossy(&out))?;
    Ok(ExitStatus::Passed)
}

pub fn man(_args: ManArgs) -> anyhow::Result<ExitStatus> {
    let mut out = Vec::new();
    clap_mangen::Man::new(super::Cli::command()).render(&mut out)?;
    super::print(&String::from_utf8_lossy(&out))?;
    Ok(ExitStatus::Passed)
}
