//! `authprobe fuzz`: send generated malformed and adversarial credentials to a service until
//! a duration, the request budget, SIGINT or SIGTERM; write one file per finding as it is
//! found (into a new subdirectory of `--out`, checked before the run) and print a summary.
//! The campaign itself is `authprobe::fuzzer`'s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use authprobe::ClientConfig;
use authprobe::Redactor;
use authprobe::RunError;
use authprobe::fuzzer::{self, Finding, FuzzEvent, FuzzOptions, FuzzReport};
use authprobe::report::Format;
use authprobe::spec::Seconds;
use authprobe::{diag, profile, report};
use clap::Args;

use super::exit::{CliError, Exit};
use super::io::{OutputFormat, now, out, random_seed, read_ca_file};
use super::limits;
use super::output::{self, write_atomic};
use super::progress::FuzzProgress;
use super::signals;

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
    /// CA certificates (a PEM bundle) to trust besides the system's; replaces the profile's
    /// `tls.ca_file`.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
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
            trust_roots: read_ca_file(self.ca_file.as_deref())?,
            ..ClientConfig::default()
        };
        Ok((options, config))
    }
}

/// Runs the campaign until its duration, its budget, SIGINT or SIGTERM; exit 1 with findings,
/// 3 when interrupted. `--out` is checked before anything is sent, and each finding is
/// written to its file as soon as it is found, so an interrupted run keeps every one.
pub async fn fuzz(a: FuzzArgs) -> Result<Exit, CliError> {
    let (options, config) = a.options()?;
    output::check_out_dir(&a.out).map_err(CliError::bad_input)?;
    let target = profile::load_profile(&a.profile).and_then(|p| p.load_secrets())?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut stop = signals::listen();
    tokio::spawn(async move {
        if stop.wait_for(Option::is_some).await.is_ok() {
            let _ = tx.send(true);
        }
    });
    let progress = FuzzProgress::new(a.quiet);
    progress.started(options.seed, a.duration, &target.base_url);
    let (target, client) = target.resolve(config).await.map_err(RunError::from)?;
    let redactor = client.redactor().clone();
    let files = FindingFiles::new(&a.out, options.seed, redactor.clone());
    // A finding is on disk before the progress line announces it.
    let on_event = |e: &FuzzEvent| {
        if let FuzzEvent::Found(f) = e {
            files.found(f);
        }
        progress.on_event(e);
    };
    let report = fuzzer::fuzz(target, client, &options, rx, &on_event).await?;
    let written = files.finish(&report);
    out(&match a.format {
        OutputFormat::Json => sealed(Format::Json, &to_json(&report), &redactor),
        OutputFormat::Human => sealed(
            Format::Human,
            &report::fuzz_human(&report, written.as_deref()),
            &redactor,
        ),
    })?;
    Ok(Exit::of_verdict(report.exit_code()))
}

/// The finding files of one run: a new subdirectory of `--out` (never overwriting one),
/// made when the first finding comes; one JSON file per finding, written when it is found
/// and brought up to date (its occurrences) at the end, and `summary.json`. A file that
/// cannot be written is a warning on stderr: the summary on stdout still has the finding.
struct FindingFiles {
    out: PathBuf,
    seed: u64,
    /// Every file passes the one choke point before output.
    redactor: Redactor,
    state: Mutex<Written>,
}

/// What has been written so far.
#[derive(Default)]
struct Written {
    dir: Option<PathBuf>,
    /// The file of each finding, in the order found.
    files: Vec<PathBuf>,
    /// A write failed already (warned once).
    failed: bool,
}

impl FindingFiles {
    fn new(out: &Path, seed: u64, redactor: Redactor) -> FindingFiles {
        FindingFiles {
            out: out.to_path_buf(),
            seed,
            redactor,
            state: Mutex::new(Written::default()),
        }
    }

    /// Writes a new finding to its own file.
    fn found(&self, f: &Finding) {
        let mut w = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let result = self.dir(&mut w).and_then(|dir| {
            let n = w.files.len() + 1;
            let name = format!("finding-{n:03}-{:?}-{}.json", f.kind, f.generator).to_lowercase();
            let path = dir.join(name);
            write_json_new(&path, f, &self.redactor)?;
            Ok(path)
        });
        match result {
            Ok(path) => w.files.push(path),
            Err(e) => warn_once(&mut w, &e),
        }
    }

    /// Brings every finding file up to date and writes `summary.json`; the directory, when
    /// anything was written there.
    fn finish(&self, report: &FuzzReport) -> Option<PathBuf> {
        let mut w = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if report.findings.is_empty() && w.dir.is_none() {
            return None;
        }
        let mut result = self.dir(&mut w).map(|_| ());
        for (path, f) in w.files.iter().zip(&report.findings) {
            let text = sealed_as(
                Format::Json,
                &to_json(f),
                &self.redactor,
                &path.display().to_string(),
            );
            result = result.and_then(|()| write_atomic(path, text.as_bytes()));
        }
        if let Some(dir) = &w.dir {
            let summary = dir.join("summary.json");
            let text = sealed_as(
                Format::Json,
                &to_json(report),
                &self.redactor,
                &summary.display().to_string(),
            );
            result = result.and_then(|()| write_atomic(&summary, text.as_bytes()));
        }
        if let Err(e) = result {
            warn_once(&mut w, &e);
        }
        w.dir.clone()
    }

    /// The run's directory, made on first use.
    fn dir(&self, w: &mut Written) -> std::io::Result<PathBuf> {
        if let Some(dir) = &w.dir {
            return Ok(dir.clone());
        }
        let stamp = now();
        let mut dir = self.out.join(format!("{stamp}-seed-{}", self.seed));
        let mut n = 1;
        while dir.exists() {
            n += 1;
            dir = self.out.join(format!("{stamp}-seed-{}-{n}", self.seed));
        }
        std::fs::create_dir_all(&dir)?;
        w.dir = Some(dir.clone());
        Ok(dir)
    }
}

/// Warns about a finding file that could not be written, once per run.
fn warn_once(w: &mut Written, e: &std::io::Error) {
    if !w.failed {
        w.failed = true;
        eprintln!(
            "authprobe: warning: cannot write finding files: {}",
            diag::lower(&e.to_string())
        );
    }
}

/// `value` as pretty JSON.
fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
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
    file.write_all(sealed_as(Format::Json, &to_json(value), redactor, &what).as_bytes())?;
    file.sync_all()
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
