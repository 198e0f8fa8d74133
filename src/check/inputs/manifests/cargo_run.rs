//! Running `cargo metadata --no-deps --frozen` for `cargo_workspace`: which program, from
//! where, with what environment, with a timeout; cargo's failure in one line.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cargo_metadata::{Metadata, MetadataCommand};

/// The environment variable naming the cargo program.
pub const CARGO_ENV: &str = "TRACEGATE_CARGO";

/// How long one `cargo metadata` may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why cargo gave no metadata.
#[derive(Debug)]
pub enum Failure {
    /// The program does not exist: the built-in resolution stands, without a note.
    NotInstalled,
    /// It ran and failed, or could not be run: one line.
    Failed(String),
}

/// `TRACEGATE_CARGO`, else `$CARGO`, else `cargo`; `None` when `TRACEGATE_CARGO` is empty.
pub fn cargo_program() -> Option<PathBuf> {
    match std::env::var_os(CARGO_ENV) {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None => Some(
            std::env::var_os("CARGO")
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from("cargo"), PathBuf::from),
        ),
    }
}

/// `cargo metadata` on every root, a few at a time; results in the order of `files`.
pub fn run_all(cargo: &Path, files: &[(PathBuf, PathBuf)]) -> Vec<Result<Metadata, Failure>> {
    let slots: Vec<Mutex<Option<Result<Metadata, Failure>>>> =
        files.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(files.len())
        .max(1);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((manifest, prefix)) = files.get(i) else {
                    break;
                };
                let result = metadata(cargo, manifest, prefix);
                if let Ok(mut slot) = slots[i].lock() {
                    *slot = Some(result);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|s| {
            s.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(Failure::Failed("internal error: no result".into())))
        })
        .collect()
}

/// One `cargo metadata --no-deps --frozen`, from the filesystem root (so that neither the
/// repository's `rust-toolchain.toml` nor its `.cargo/config.toml` applies, and no other user
/// can plant one there, as they could in a shared temp directory: nothing in the scanned tree
/// chooses what runs), never installing a toolchain, with a timeout.
/// The filesystem root: searched upwards by rustup and cargo for toolchain and config files,
/// it has no parent, and only the administrator can write there.
fn neutral_dir() -> std::path::PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|d| d.ancestors().last().map(Path::to_path_buf))
        .unwrap_or_else(|| std::path::PathBuf::from("/"))
}

fn metadata(cargo: &Path, manifest: &Path, prefix: &Path) -> Result<Metadata, Failure> {
    let mut command: Command = MetadataCommand::new()
        .cargo_path(cargo)
        .manifest_path(manifest)
        .no_deps()
        .other_options(vec!["--frozen".to_string()])
        .current_dir(neutral_dir())
        .env("RUSTUP_AUTO_INSTALL", "0")
        .env("CARGO_NET_OFFLINE", "true")
        .cargo_command();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Failure::NotInstalled
        } else {
            Failure::Failed(format!("cannot run {}: {e}", cargo.display()))
        }
    })?;
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::Failed(format!(
                    "no answer within {} s",
                    TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(Failure::Failed(e.to_string())),
        }
    };
    let out = stdout.join().unwrap_or_default();
    if !status.success() {
        let err = stderr.join().unwrap_or_default();
        return Err(Failure::Failed(error_line(&err, prefix)));
    }
    MetadataCommand::parse(out)
        .map_err(|e| Failure::Failed(format!("unreadable output: {}", first_line(&e.to_string()))))
}

fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// cargo's error in one line: its first `error:` line and the innermost cause, with the
/// absolute `prefix` (the scanned root) removed from paths.
fn error_line(stderr: &str, prefix: &Path) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let first = lines
        .iter()
        .find_map(|l| l.strip_prefix("error: "))
        .or_else(|| lines.first().copied())
        .unwrap_or("exit status not zero");
    let cause = lines
        .iter()
        .rposition(|l| *l == "Caused by:")
        .and_then(|i| lines.get(i + 1));
    let text = match cause {
        Some(c) if *c != first => format!("{first}: {c}"),
        _ => first.to_string(),
    };
    text.replace(&format!("{}/", prefix.display()), "")
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_errors_in_one_line_without_the_absolute_root() {
        let stderr = "error: failed to load manifest for workspace member `/repo/ws/missing`\nreferenced by workspace at `/repo/ws/Cargo.toml`\n\nCaused by:\n  failed to read `/repo/ws/missing/Cargo.toml`\n\nCaused by:\n  No such file or directory (os error 2)\n";
        assert_eq!(
            error_line(stderr, Path::new("/repo")),
            "failed to load manifest for workspace member `ws/missing`: No such file or directory (os error 2)"
        );
    }
}
