//! Renderers installed on the machine (`kustomize`, `kubectl kustomize`, `helm`), run when
//! the built-in rendering cannot follow a tree: which program (an environment variable names
//! it; empty never runs one), run from the filesystem root with stdin closed, a timeout and a
//! cap on what it prints; its failure in one line.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one render may take.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Most output read from a renderer (as `--manifests` reads at most).
const MAX_OUTPUT: u64 = 64 * 1024 * 1024;

/// Why a renderer gave nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// None is installed (or the variable is empty): the built-in result stands, with a note.
    NotInstalled,
    /// It ran and failed: one line.
    Failed(String),
}

/// The program `var` names (`None` when it is set empty), else the first of `defaults` on the
/// `PATH`.
pub fn program(var: &str, defaults: &[&str]) -> Option<PathBuf> {
    program_from(std::env::var_os(var), defaults)
}

fn program_from(value: Option<std::ffi::OsString>, defaults: &[&str]) -> Option<PathBuf> {
    match value {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None => defaults.iter().find_map(|name| on_path(name)),
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Run `program args…` and return what it printed.
pub fn run(program: &Path, args: &[&std::ffi::OsStr], root: &Path) -> Result<String, Failure> {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(neutral_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Failure::NotInstalled
            } else {
                Failure::Failed(format!("cannot run {}: {e}", program.display()))
            }
        })?;
    let stdout = reader(child.stdout.take(), MAX_OUTPUT + 1);
    let stderr = reader(child.stderr.take(), 64 * 1024);
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
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
        let err = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
        return Err(Failure::Failed(error_line(&err, root)));
    }
    if out.len() as u64 > MAX_OUTPUT {
        return Err(Failure::Failed(format!(
            "printed more than {} MiB",
            MAX_OUTPUT / (1024 * 1024)
        )));
    }
    String::from_utf8(out).map_err(|_| Failure::Failed("printed non-UTF-8 output".into()))
}

/// The filesystem root: nothing in the scanned tree chooses what the renderer loads besides
/// the paths it is given.
fn neutral_dir() -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|d| d.ancestors().last().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn reader<R: Read + Send + 'static>(pipe: Option<R>, cap: u64) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(p) = pipe {
            let mut limited = p.take(cap);
            let _ = limited.read_to_end(&mut bytes);
            // Drain the rest so the program is not blocked on a full pipe.
            let mut rest = limited.into_inner();
            let _ = std::io::copy(&mut rest, &mut std::io::sink());
        }
        bytes
    })
}

/// The renderer's error in one line: its first `Error:`/`error:` line (else its first line),
/// the absolute root removed from paths.
fn error_line(stderr: &str, root: &Path) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines
        .iter()
        .find_map(|l| {
            l.strip_prefix("Error: ")
                .or_else(|| l.strip_prefix("error: "))
        })
        .or_else(|| lines.first().copied())
        .unwrap_or("exit status not zero");
    let line: String = line.chars().take(300).collect();
    line.replace(&format!("{}/", root.display()), "")
        .replace(&root.display().to_string(), ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_one_line_without_the_absolute_root() {
        let stderr = "\nError: accumulating resources: accumulation err='accumulating resources from 'base': '/repo/k/base' must resolve to a file'\nmore\n";
        assert_eq!(
            error_line(stderr, Path::new("/repo")),
            "accumulating resources: accumulation err='accumulating resources from 'base': 'k/base' must resolve to a file'"
        );
        assert_eq!(error_line("", Path::new("/r")), "exit status not zero");
    }

    #[test]
    fn an_empty_variable_runs_nothing_and_a_missing_program_is_not_installed() {
        assert_eq!(program_from(Some("".into()), &["sh"]), None);
        assert_eq!(
            program_from(Some("/opt/kustomize".into()), &["sh"]),
            Some(PathBuf::from("/opt/kustomize"))
        );
        assert_eq!(program_from(None, &["no-such-renderer-here"]), None);
        assert!(program_from(None, &["no-such-renderer-here", "sh"]).is_some());
        let missing = Path::new("/nonexistent/kustomize");
        assert_eq!(
            run(missing, &[], Path::new("/")),
            Err(Failure::NotInstalled)
        );
    }

    #[test]
    fn output_and_failures_of_a_real_program() {
        let sh = Path::new("/bin/sh");
        let ok = run(
            sh,
            &["-c".as_ref(), "printf 'kind: Pod\\n'".as_ref()],
            Path::new("/"),
        );
        assert_eq!(ok, Ok("kind: Pod\n".to_string()));
        let failed = run(
            sh,
            &[
                "-c".as_ref(),
                "echo 'Error: /repo/x broke' >&2; exit 3".as_ref(),
            ],
            Path::new("/repo"),
        );
        assert_eq!(failed, Err(Failure::Failed("x broke".into())));
    }
}
