//! The terminal decisions every command with a text report shares: colour (`--color`,
//! `NO_COLOR`, `CLICOLOR_FORCE`) and width (`COLUMNS`, the terminal's). Renderers get the
//! answers as plain values ([`tracegate::report::term::TextOptions`]).

use std::io::IsTerminal;

/// When to colour the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When standard output is a terminal and NO_COLOR is unset or empty (CLICOLOR_FORCE
    /// forces colour, CLICOLOR=0 and TERM=dumb turn it off).
    #[default]
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

/// `--color`, for a command's arguments (`#[command(flatten)]`).
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct ColorArgs {
    /// Colour the terminal report.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
}

impl ColorArgs {
    /// Whether to colour what goes to standard output.
    pub fn stdout(self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            // anstream's decision: NO_COLOR (no-color.org), CLICOLOR_FORCE, CLICOLOR, TERM and
            // whether stdout is a terminal.
            ColorChoice::Auto => {
                anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
            }
        }
    }

    /// Whether to colour a report written to a file: only when asked for (`--color always`).
    pub fn file(self) -> bool {
        self.color == ColorChoice::Always
    }

    /// How to lay out a text report going to a file (`Some`) or to standard output (`None`): on
    /// standard output it takes the terminal's width and is coloured per `--color`; a file gets
    /// neither, unless `--color always`.
    pub fn text_options(
        self,
        file: Option<&std::path::Path>,
    ) -> tracegate::report::term::TextOptions<'static> {
        tracegate::report::term::TextOptions {
            width: if file.is_none() { stdout_width() } else { None },
            color: if file.is_some() {
                self.file()
            } else {
                self.stdout()
            },
            ..Default::default()
        }
    }
}

/// Columns to fit standard output in: `COLUMNS` when it is a positive number, else the
/// terminal's width; `None` (no wrapping) for a pipe or a file without `COLUMNS`. At least 40.
pub fn stdout_width() -> Option<usize> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    let width = columns.or_else(|| {
        let out = std::io::stdout();
        if !out.is_terminal() {
            return None;
        }
        terminal_size::terminal_size_of(&out).map(|(w, _)| usize::from(w.0))
    })?;
    Some(width.max(40))
}
