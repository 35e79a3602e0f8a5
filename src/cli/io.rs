//! What the commands take from the process: stdout for results, the clock, a fresh seed,
//! and the `--format` choice of the commands that print either text or JSON. Nothing here
//! knows a command.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;

/// Output formats of `rules`, `fuzz` and `inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable text.
    Human,
    /// JSON.
    Json,
}

/// Writes a result on stdout, ending it with a newline. A closed pipe (e.g. `| head`) is
/// not an error worth a panic.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
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
