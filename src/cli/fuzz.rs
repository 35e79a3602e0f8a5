//! `authprobe fuzz`: send generated malformed and adversarial credentials to a service until
//! a duration, the request budget or Ctrl-C; write one file per finding and print a summary.
//! The campaign itself is `authprobe::fuzzer`'s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use authprobe::ClientConfig;
use authprobe::Redactor;
use authprobe::RunError;
use authprobe::fuzzer::{self, FuzzEvent, FuzzOptions, FuzzReport};
use authprobe::report::Format;
use authprobe::spec::Seconds;
use authprobe::{profile, report};
use clap::Args;

use super::exit::{CliError, Exit};
use super::io::{OutputFormat, now, out, random_seed};
use super::progress::FuzzProgress;

/// `fuzz` arguments.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// The target profile (YAML).
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// How long to run, e.g. `30s`, `10m`.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub duration: Seconds,
    /// Most requests per second.
    #[arg(long, value_name = "N")]
    pub max_rps: Option<f64>,
    /// Most requests in the whole run.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub max_requests: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
    /// Per-request timeout in seconds (a timeout is a finding).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,
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

fn parse_duration(s: &str) -> Result<Seconds, String> {
    Seconds::parse(s)
        .filter(|d| d.0 > 0)
        .ok_or_else(|| format!("invalid duration `{s}`: use e.g. 30s, 10m, 1h"))
}

impl FuzzArgs {
    /// The campaign's options and its probe client's limits.
    fn options(&self) -> Result<(FuzzOptions, ClientConfig), CliError> {
        if let Some(rps) = self.max_rps
            && !(rps > 0.0 && rps.is_finite())
        {
            return Err(CliError::bad_input("--max-rps must be a positive number"));
        }
        let options = FuzzOptions {
            seed: self.seed.unwrap_or_else(random_seed),
            duration: Duration::from_secs(self.duration.0),
            concurrency: usize::from(self.concurrency),
        };
        let config = ClientConfig {
            timeout: Duration::from_secs(self.timeout.max(1)),
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
    let redactor = client.redactor().clone();
    let on_event = |e: &FuzzEvent| progress.on_event(e);
    let report = fuzzer::fuzz(target, client, &options, rx, &on_event).await?;
    let mut written = None;
    if !report.findings.is_empty() {
        match write_findings(&a.out, &report, &redactor) {
            Ok(dir) => written = Some(dir),
            Err(e) => eprintln!("authprobe: warning: cannot write finding files: {e}"),
        }
    }
    out(&match a.format {
        OutputFormat::Json => sealed(Format::Json, &to_json(&report), &redactor),
        OutputFormat::Human => sealed(
            Format::Human,
            &report::fuzz_human(&report, written.as_deref()),
            &redactor,
        ),
    });
    Ok(Exit::of_verdict(report.exit_code()))
}

/// Writes one JSON file per finding plus the summary into a new subdirectory of `out`.
fn write_findings(
    out: &Path,
    report: &FuzzReport,
    redactor: &Redactor,
) -> std::io::Result<PathBuf> {
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
        write_json_new(&dir.join(name), f, redactor)?;
    }
    write_json_new(&dir.join("summary.json"), report, redactor)?;
    Ok(dir)
}

/// Writes `value` as pretty JSON, sealed, to a file that must not exist yet.
fn write_json_new(
    path: &Path,
    value: &impl serde::Serialize,
    redactor: &Redactor,
) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let what = path.display().to_string();
    file.write_all(sealed_as(Format::Json, &to_json(value), redactor, &what).as_bytes())
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// A finished document through the one choke point before output ([`report::seal_text`]).
fn sealed(format: Format, text: &str, redactor: &Redactor) -> String {
    sealed_as(format, text, redactor, "stdout")
}

fn sealed_as(format: Format, text: &str, redactor: &Redactor, what: &str) -> String {
    let (text, n) = report::seal_text(format, text, redactor);
    if let Some(note) = report::seal_note(n, what) {
        eprintln!("authprobe: note: {note}");
    }
    text
}
