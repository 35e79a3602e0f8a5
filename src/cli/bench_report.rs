//! `authprobe bench-report`: turn criterion's saved results into a Markdown table and a
//! log-scale SVG (the work is `authprobe::benchreport`'s; this is its command line).

use std::path::PathBuf;

use clap::Args;

use super::exit::{CliError, Exit};
use super::io::out;

/// `bench-report` arguments.
#[derive(Debug, Args)]
pub struct BenchReportArgs {
    /// Where criterion saved its results.
    #[arg(long, default_value = "target/criterion", value_name = "DIR")]
    pub criterion: PathBuf,
    /// Where to write bench-summary.md and bench-cost.svg (reads openssl-speed.txt there).
    #[arg(long, default_value = "docs/bench", value_name = "DIR")]
    pub out: PathBuf,
}

/// Writes the summary files and says where.
pub fn bench_report(a: &BenchReportArgs) -> Result<Exit, CliError> {
    let summary = authprobe::bench_report(&a.criterion, &a.out).map_err(CliError::bad_input)?;
    out(&format!(
        "{} benchmarks; wrote {} and {}",
        summary.rows.len(),
        summary.markdown.display(),
        summary.svg.display()
    ))?;
    Ok(Exit::Success)
}
