//! The `tracegate` binary: parse arguments, call the library, map the result to an exit code.

mod cli;

use std::process::ExitCode;

/// mimalloc instead of glibc malloc: `check` allocates and frees many small syntax-tree nodes
/// (BENCHMARKS.md, "`tracegate check`"). The `override` feature covers tree-sitter's C code too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::run().into()
}
