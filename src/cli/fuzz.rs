//! `authprobe fuzz`: send generated malformed and adversarial credentials to a service until
//! a duration, the request budget or Ctrl-C; write one file per finding and print a summary.
//! The campaign itself is `authprobe::fuzzer`'s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use authprobe::ClientConfig;
use authprobe::RunError;
use authprobe::fuzzer::{self, FuzzEvent, FuzzOptions, FuzzReport};
use authprobe::spec::Seconds;
use authprobe::{profile, report};
use clap::Args;

use super::exit::{CliError, Exit};
use super::io::{OutputFormat, now, out, random_seed};
use super::limits;
use super::progress::FuzzProgress;

/// `fuzz` arguments.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// The target profile (YAML).
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// How long to run, 1s to 7d, e.g. `30s`, `10m`.
    #[arg(long, default_value = "10m", value_parser = limits::fuzz_duration)]
    pub duration: Seconds,
    /// Most requests per second (0.01 to 10000).
    #[arg(long, value_name = "N", value_parser = limits::max_rps)]
    pub max_rps: Option<f64>,
    /// Most requests in the whole run (1 to 100000000).
    #[arg(long, default_value = "1000000", value_name = "N", value_parser = limits::max_requests)]
    pub max_requests: u64,
    /// Requests in flight at once (1 to 32).
    #[arg(long, default_value = "4", value_name = "N", value_parser = limits::fuzz_concurrency)]
    pub concurrency: u16,
    /// Per-request timeout in seconds, 1 to 3600 (a timeout is a finding).
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = limits::timeout)]
    pub timeout: Seconds,
    /// Seed of the generators (default: random, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Directory for finding files; each run writes a new subdirectory and never overwrites.
    #[arg(long, default_value = "authprobe-fuzz", value_name = "DIR")]
    pub out: PathBuf,
    /// Output format of the summary on stdout.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl FuzzArgs {
    /// The campaign's options and its probe client's limits.
    /// The numbers were range-checked when parsed (`cli::limits`).
    fn options(&self) -> Result<(FuzzOptions, ClientConfig), CliError> {
        let options = FuzzOptions {
            seed: self.seed.unwrap_or_else(random_seed),
            duration: Duration::from_secs(self.duration.0),
            concurrency: usize::from(self.concurrency),
        };
        let config = ClientConfig {
            timeout: Duration::from_secs(self.timeout.0),
            max_requests: self.max_requests,
            max_rps: self.max_rps,
            ..ClientConfig::default()
        };
        Ok((options, config))
    }
}

/// Runs the campaign until its duration, its budget or Ctrl-C; exit 1 with findings.
pub async fn fuzz(a: FuzzArgs) -> Result<Exit, CliError> {
    let (options, config) = a.options()?;
    let target = profile::load_profile(&a.profile).and_then(|p| p.load_secrets())?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(true);
        }
    });
    let progress = FuzzProgress::new(a.quiet);
    progress.started(options.seed, a.duration, &target.base_url);
    let (target, client) = target.resolve(config).await.map_err(RunError::from)?;
    let on_event = |e: &FuzzEvent| progress.on_event(e);
    let report = fuzzer::fuzz(target, client, &options, rx, &on_event).await?;
    let mut written = None;
    if !report.findings.is_empty() {
        match write_findings(&a.out, &report) {
            Ok(dir) => written = Some(dir),
            Err(e) => eprintln!("authprobe: warning: cannot write finding files: {e}"),
        }
    }
    out(&match a.format {
        OutputFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default(),
        OutputFormat::Human => report::fuzz_human(&report, written.as_deref()),
    });
    Ok(Exit::of_verdict(report.exit_code()))
}

/// Writes one JSON file per finding plus the summary into a new subdirectory of `out`.
fn write_findings(out: &Path, report: &FuzzReport) -> std::io::Result<PathBuf> {
    let stamp = now();
    let mut dir = out.join(format!("{stamp}-seed-{}", report.seed));
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = out.join(format!("{stamp}-seed-{}-{n}", report.seed));
    }
    std::fs::create_dir_all(&dir)?;
    for (i, f) in report.findings.iter().enumerate() {
        let name = format!("finding-{:03}-{:?}-{}.json", i + 1, f.kind, f.generator).to_lowercase();
        write_json_new(&dir.join(name), f)?;
    }
    write_json_new(&dir.join("summary.json"), report)?;
    Ok(dir)
}

/// Writes `value` as pretty JSON to a file that must not exist yet.
fn write_json_new(path: &Path, value: &impl serde::Serialize) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(
        serde_json::to_string_pretty(value)
            .unwrap_or_default()
            .as_bytes(),
    )
}
