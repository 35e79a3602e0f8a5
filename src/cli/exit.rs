//! How a command ends, and the one mapping from that to the process exit code: 0 success
//! (conformant), 1 a rule failed (or findings, or a token that does not verify), 2 bad input
//! (or an output that cannot be written), 3 the target could not be tested (or the run was
//! interrupted). Handlers return `Result<Exit, CliError>`; only `main`
//! turns that into a code. Nothing here runs a command.

use authprobe::RunError;
use authprobe::diag::Diagnostics;

/// How a command ended when it ran to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit 0: the command did its job; a run was conformant (every selected rule passed or
    /// was skipped, or every failure is below `--fail-on` or in the baseline).
    Success,
    /// Exit 1: a counted rule failed, the fuzzer found something, or the token did not verify.
    Failed,
    /// Exit 3: rules were inconclusive or errored and none failed, or the run was
    /// interrupted (SIGINT, SIGTERM) and wrote a partial report.
    Untestable,
}

impl Exit {
    /// Reads the verdict code the library computed for a finished run
    /// (`gate::exit_code`, `FuzzReport::exit_code`: 0, 1 or 3), so the exit code and the
    /// code the reports print (SARIF, Markdown, HTML) never disagree.
    pub fn of_verdict(code: i32) -> Exit {
        match code {
            0 => Exit::Success,
            1 => Exit::Failed,
            _ => Exit::Untestable,
        }
    }

    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Untestable => 3,
        }
    }
}

/// Why a command stopped early. `Display` is the text printed on stderr.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input: a flag, a file it names, or an output that cannot be written (exit 2).
    #[error("authprobe: error: {0}")]
    BadInput(String),
    /// Problems in spec, profile or baseline files, each with its location (exit 2).
    #[error("{0}")]
    Diagnostics(Diagnostics),
    /// The run could not start or finish: bad input (exit 2) or an untestable target
    /// (exit 3), as [`RunError::exit_code`] says.
    #[error("authprobe: {0}")]
    Run(#[from] RunError),
    /// A document the command needs could not be fetched (exit 3).
    #[error("authprobe: {0}")]
    Unreachable(String),
    /// The async runtime could not start (exit 2).
    #[error("authprobe: error: cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl CliError {
    /// A bad-input error with this message.
    pub fn bad_input(message: impl std::fmt::Display) -> CliError {
        CliError::BadInput(message.to_string())
    }

    /// The process exit code.
    pub fn code(&self) -> i32 {
        match self {
            CliError::Run(e) => e.exit_code(),
            CliError::Unreachable(_) => 3,
            CliError::BadInput(_) | CliError::Diagnostics(_) | CliError::Runtime(_) => 2,
        }
    }
}

impl From<Diagnostics> for CliError {
    fn from(d: Diagnostics) -> CliError {
        CliError::Diagnostics(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_code_maps_back_to_itself() {
        for exit in [Exit::Success, Exit::Failed, Exit::Untestable] {
            assert_eq!(Exit::of_verdict(exit.code()), exit);
        }
    }

    #[test]
    fn bad_input_and_diagnostics_exit_two() {
        assert_eq!(CliError::bad_input("x").code(), 2);
        assert_eq!(CliError::Diagnostics(Diagnostics::default()).code(), 2);
        assert_eq!(CliError::Unreachable("x".into()).code(), 3);
    }

    #[test]
    fn a_bad_input_message_is_prefixed_like_every_error_line() {
        assert_eq!(
            CliError::bad_input("--max-rps must be a positive number").to_string(),
            "authprobe: error: --max-rps must be a positive number"
        );
    }
}
