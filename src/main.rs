//! The `tracegate` binary: parse arguments, call the library, map the result to an exit code.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run().into()
}
