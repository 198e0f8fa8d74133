//! [`FaultControl`]s: a pair of shell commands (a real staging backend), and the demo
//! platform's backend switch.

use std::sync::Arc;
use std::time::Duration;

use super::{BoxFuture, FaultControl};
use crate::demo::{Backend, Platform};

/// Output of a failing command kept in the error message, at most.
const MAX_OUTPUT_IN_ERROR: usize = 400;

/// `--fault-start CMD` / `--fault-stop CMD`: each run with `sh -c`, bounded by a timeout,
/// its output captured (never printed; the end of it is quoted in the error when the command
/// fails).
#[derive(Clone, Debug)]
pub struct CommandFault {
    pub start: String,
    pub stop: String,
    /// How long each command may take before it is killed and reported as failed.
    pub timeout: Duration,
}

impl CommandFault {
    /// Commands with the default timeout (60 s).
    pub fn new(start: impl Into<String>, stop: impl Into<String>) -> Self {
        CommandFault {
            start: start.into(),
            stop: stop.into(),
            timeout: Duration::from_secs(60),
        }
    }
}

impl FaultControl for CommandFault {
    fn describe(&self) -> String {
        format!("`{}`", self.start)
    }

    fn start(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(run_command("--fault-start", &self.start, self.timeout))
    }

    fn stop(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(run_command("--fault-stop", &self.stop, self.timeout))
    }
}

/// Run `command` with `sh -c`; Ok when it exits 0 within `timeout`.
async fn run_command(flag: &str, command: &str, timeout: Duration) -> Result<(), String> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{flag} `{command}`: cannot run sh: {e}"))?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => {
            return Err(format!(
                "{flag} `{command}`: still running after {}s, killed",
                timeout.as_secs_f64()
            ))
        }
        Ok(Err(e)) => return Err(format!("{flag} `{command}`: {e}")),
        Ok(Ok(output)) => output,
    };
    if output.status.success() {
        return Ok(());
    }
    let mut said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if said.is_empty() {
        said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    }
    let said = tail(&said, MAX_OUTPUT_IN_ERROR);
    let status = match output.status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_owned(),
    };
    Err(if said.is_empty() {
        format!("{flag} `{command}` failed ({status})")
    } else {
        format!("{flag} `{command}` failed ({status}): {said}")
    })
}

/// The last `max` bytes of `text` (on a character boundary), one line.
fn tail(text: &str, max: usize) -> String {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let cut = if start > 0 { "…" } else { "" };
    format!("{cut}{}", text[start..].replace(['\n', '\r'], " | "))
}

/// The demo's fault: every export destination switched to `backend` during the fault phase,
/// then back to healthy.
pub struct DemoBackendFault {
    pub platform: Arc<Platform>,
    pub backend: Backend,
}

impl FaultControl for DemoBackendFault {
    fn describe(&self) -> String {
        format!(
            "the demo's export destinations switched to `{}`",
            self.backend
        )
    }

    fn start(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.platform
                .set_backend(self.backend)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn stop(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.platform
                .set_backend(Backend::Healthy)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_command_that_exits_zero_succeeds() {
        let fault = CommandFault::new("true", "exit 0");
        let rt = runtime();
        assert_eq!(rt.block_on(fault.start()), Ok(()));
        assert_eq!(rt.block_on(fault.stop()), Ok(()));
    }

    #[test]
    fn a_failing_command_is_reported_with_its_status_and_output() {
        let fault = CommandFault::new("echo 'backend is locked' >&2; exit 3", "true");
        let error = runtime()
            .block_on(fault.start())
            .expect_err("exit 3 is a failure");
        assert!(error.contains("--fault-start"), "{error}");
        assert!(error.contains("exit status 3"), "{error}");
        assert!(error.contains("backend is locked"), "{error}");
    }

    #[test]
    fn a_command_past_its_timeout_is_killed_and_reported() {
        let fault = CommandFault {
            timeout: Duration::from_millis(200),
            ..CommandFault::new("true", "sleep 5")
        };
        let started = std::time::Instant::now();
        let error = runtime()
            .block_on(fault.stop())
            .expect_err("a hung command fails");
        assert!(error.contains("killed"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn long_output_keeps_its_end_on_one_line() {
        let text = format!("{}\nthe reason", "x".repeat(1000));
        let kept = tail(&text, 30);
        assert!(kept.ends_with("the reason"), "{kept}");
        assert!(!kept.contains('\n'));
        assert!(kept.len() < 40);
    }
}
