//! Typed exit statuses shared by every command (see DESIGN.md, "Contracts").

/// What a command concluded, mapped to the process exit code by `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// `0`: the check, verification or report passed.
    Passed,
    /// `1`: policy failed (findings at or above `--fail-on`, or an acceptance criterion failed).
    PolicyFailed,
    /// `2`: usage, configuration or input error.
    Error,
}

impl ExitStatus {
    /// The process exit code for this status.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Passed => 0,
            ExitStatus::PolicyFailed => 1,
            ExitStatus::Error => 2,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(ExitStatus::Passed.code(), 0);
        assert_eq!(ExitStatus::PolicyFailed.code(), 1);
        assert_eq!(ExitStatus::Error.code(), 2);
    }
}
