//! What the commands take from the process: stdout for results, the clock, a fresh seed,
//! and the `--format` choice of the commands that print either text or JSON. Nothing here
//! knows a command.

use std::io::{IsTerminal, Write};
use std::path::Path;

use authprobe::TrustRoots;

use clap::ValueEnum;

use super::exit::CliError;

/// Output formats of `rules`, `fuzz` and `inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable text.
    Human,
    /// JSON.
    Json,
}

/// Writes a result on stdout, ending it with a newline. A write that fails (a closed pipe,
/// e.g. `| head -c1`; a full disk) is an error: bad output, exit 2, never a silent loss.
pub fn out(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    let newline: &[u8] = if text.ends_with('\n') { b"" } else { b"\n" };
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.write_all(newline))
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            CliError::bad_input(format!(
                "cannot write to stdout: {}",
                authprobe::diag::lower(&e.to_string())
            ))
        })
}

/// Whether stdout takes ANSI colours: a terminal, and `NO_COLOR` unset.
pub fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A seed for a run without `--seed`: from the clock and the process id, below 10⁹ so it is
/// easy to type back.
pub fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    authprobe::seed_for(nanos ^ u64::from(std::process::id()), "seed") % 1_000_000_000
}

/// The trust roots of `--ca-file` (none without it): a PEM bundle of CA certificates.
pub fn read_ca_file(path: Option<&Path>) -> Result<TrustRoots, CliError> {
    let Some(path) = path else {
        return Ok(TrustRoots::none());
    };
    let text = authprobe::diag::read_file(path, authprobe::diag::InputKind::CaFile)
        .map_err(|d| CliError::bad_input(format!("--ca-file {}: {}", path.display(), d.message)))?;
    TrustRoots::from_pem(text.as_bytes())
        .map_err(|e| CliError::bad_input(format!("--ca-file {}: {e}", path.display())))
}
