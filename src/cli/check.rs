//! `authprobe check` and `authprobe demo`: run the catalogue against the service a profile
//! describes, or against the testbed started in-process; then gate the report, write the
//! `--report` files and print it. The report paths are checked before the first request; a
//! SIGINT or SIGTERM stops the run and its partial report is written (exit 3). The run
//! itself is `authprobe::engine`'s.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use authprobe::Redactor;
use authprobe::diag;
use authprobe::gate::{self, Baseline, Gate, GateOptions};
use authprobe::profile::{self, UnresolvedTarget};
use authprobe::report::{self, Format};
use authprobe::spec::{Catalogue, Seconds, Severity};
use authprobe::testbed;
use authprobe::{Capture, ClientConfig};
use authprobe::{Event, Report, RunError, RunOptions, Stop};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, ValueEnum};

use super::catalogue::load_catalogue;
use super::exit::{CliError, Exit};
use super::io::{out, random_seed, read_ca_file, stdout_color};
use super::limits;
use super::output::{self, Inputs};
use super::progress::RunProgress;
use super::signals;
use super::testbed::{describe_config, parse_config};

/// Options shared by `demo` and `check`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Output format on stdout (progress goes to stderr).
    #[arg(long, default_value = "human", value_parser = report_format())]
    pub format: Format,
    /// Also write the report in FORMAT to PATH (repeatable), e.g. `--report sarif=out.sarif`.
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report_spec)]
    pub reports: Vec<(Format, PathBuf)>,
    /// Seed for generated cases; the same seed replays the same cases (default: random, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run only these rules (id or glob, e.g. `cookie.*`; `ID@MODE` in one auth mode of the
    /// profile only); repeatable.
    #[arg(long, value_name = "RULE")]
    pub only: Vec<String>,
    /// Skip these rules (id or glob; `ID@MODE` in one auth mode only); repeatable.
    #[arg(long, value_name = "RULE")]
    pub skip: Vec<String>,
    /// Most rules in flight at once (1 to 256).
    #[arg(long, default_value = "8", value_name = "N", value_parser = limits::concurrency)]
    pub concurrency: u16,
    /// Most requests per second, 0.01 to 10000 (default: unlimited, or the profile's
    /// `limits.max_rps`).
    #[arg(long, value_name = "N", value_parser = limits::max_rps)]
    pub max_rps: Option<f64>,
    /// Most requests in the whole run (1 to 100000000).
    #[arg(long, default_value = "10000", value_name = "N", value_parser = limits::max_requests)]
    pub max_requests: u64,
    /// Per-request timeout in seconds, 1 to 3600 (or `30s`, `1m`).
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = limits::timeout)]
    pub timeout: Seconds,
    /// Longest wait, in seconds (0 to 86400, or `5m`, `1h`), for a real token to expire when
    /// no signing key is given (overrides the policy's `max_wait`, default 60).
    #[arg(long, value_name = "SECONDS", value_parser = limits::max_wait)]
    pub max_wait: Option<Seconds>,
    /// Wall time the whole run may take (10s to 1d, e.g. `60s`, `5m`): the property and model
    /// rules are sized from the login latency the preflight measures so the run fits, each
    /// reduced rule says how many cases or sequences ran of how many, and rules still running
    /// when it ends are inconclusive. Wins over the profile's `limits.budget`.
    #[arg(long, value_name = "DURATION", value_parser = limits::budget)]
    pub budget: Option<Seconds>,
    /// Use the spec files in DIR instead of the shipped catalogue.
    #[arg(long, value_name = "DIR")]
    pub specs: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Only failures at or above this severity fail the run (default: every failure does).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<SeverityArg>,
    /// With --fail-on, also count `should`-level rules.
    #[arg(long)]
    pub strict: bool,
    /// Expected-failures baseline (YAML): listed failures do not fail the run until they expire.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// CA certificates (a PEM bundle) to trust besides the system's, e.g. a private CA or the
    /// CA of a loopback test certificate; replaces the profile's `tls.ca_file`.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

/// `--format`: the names of [`Format`] with their summaries (so `--help` lists them and a
/// wrong name gets clap's "possible values" error), read back by [`Format::parse`].
fn report_format() -> impl TypedValueParser<Value = Format> {
    let names = Format::ALL.map(|f| PossibleValue::new(f.name()).help(f.summary()));
    PossibleValuesParser::new(names).try_map(|name| Format::parse(&name).ok_or("unknown format"))
}

/// `--report FORMAT=PATH`.
fn parse_report_spec(s: &str) -> Result<(Format, PathBuf), String> {
    let (f, path) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: write FORMAT=PATH, e.g. sarif=authprobe.sarif"))?;
    let format = Format::parse(f).ok_or_else(|| {
        format!("unknown report format `{f}`: use json, junit, sarif, markdown, html, har or human")
    })?;
    if path.is_empty() {
        return Err(format!("`{s}`: the path is empty"));
    }
    Ok((format, PathBuf::from(path)))
}

/// Severities for `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    /// Critical only.
    Critical,
    /// High and above.
    High,
    /// Medium and above.
    Medium,
    /// Low and above.
    Low,
    /// Everything.
    Info,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Critical => Severity::Critical,
            SeverityArg::High => Severity::High,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Info => Severity::Info,
        }
    }
}

/// `demo` arguments.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Break one promise of the testbed (repeatable); `--list-flaws` lists them.
    #[arg(long, value_name = "NAME")]
    pub flaw: Vec<String>,
    /// List the testbed's flaws with the rules each breaks, and exit.
    #[arg(long)]
    pub list_flaws: bool,
    /// Add one legitimate behaviour real services show (repeatable); every verdict must stay
    /// right under it. `--list-quirks` lists them.
    #[arg(long, value_name = "NAME")]
    pub quirk: Vec<String>,
    /// List the testbed's quirks, and exit.
    #[arg(long)]
    pub list_quirks: bool,
    /// Run N more testbed instances (0 to 16) sharing one state, and list them in the
    /// profile's `replicas`, so the revocation rules replay on each;
    /// `replica-local-revocation` brings 2 when none are asked for.
    #[arg(long, value_name = "N", value_parser = super::testbed::replica_count)]
    pub replicas: Option<usize>,
    /// How long each of the testbed's password checks takes (e.g. `1s`; 1 ms to 60 s), one at
    /// a time: the `slow-logins` quirk with this delay (implies `--quirk slow-logins`).
    #[arg(long, value_name = "DURATION", value_parser = super::limits::login_delay)]
    pub login_delay: Option<Duration>,
    /// Run the built-in profile as two auth modes: its cookie login as the mode `browser`
    /// and its token login as the mode `api` (every rule runs in each mode that provides
    /// what it requires, and reports show the mode beside the rule id).
    #[arg(long)]
    pub modes: bool,
    /// Run options.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The target profile (YAML).
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// Run options.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Starts the testbed (with `--flaw`s and `--quirk`s) on an ephemeral loopback port and runs
/// the catalogue against it with its built-in profile; or lists the flaws or the quirks.
pub async fn demo(a: DemoArgs) -> Result<Exit, CliError> {
    if a.list_flaws {
        let flaws = authprobe::demo::flaws();
        out(&match a.run.format {
            Format::Json => report::flaws_json(&flaws),
            _ => report::flaws_text(&flaws),
        })?;
        return Ok(Exit::Success);
    }
    if a.list_quirks {
        let quirks = authprobe::demo::quirks();
        out(&match a.run.format {
            Format::Json => report::quirks_json(&quirks),
            _ => report::quirks_text(&quirks),
        })?;
        return Ok(Exit::Success);
    }
    let config = super::testbed::with_replicas(parse_config(&a.flaw, &a.quirk)?, a.replicas);
    let config = super::testbed::with_login_delay(config, a.login_delay);
    let catalogue = load_catalogue(&a.run.specs)?;
    a.run.check_report_paths(Inputs::new())?;
    let bed = testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config.clone())
        .await
        .map_err(|e| {
            CliError::bad_input(format!(
                "cannot start the testbed: {}",
                diag::lower(&e.to_string())
            ))
        })?;
    let mut profile = authprobe::demo::replicated_profile(&bed, &config)?;
    if a.modes {
        profile.split_into_modes("browser", "api")?;
    }
    let mut targets = load_modes(&profile)?;
    if let Some(what) = describe_config(&config) {
        for (_, target) in &mut targets {
            target.name = format!("{} ({what})", target.name);
        }
    }
    let stop = signals::listen();
    let result = execute(&catalogue, targets, &a.run, None, stop.clone()).await;
    if stop.borrow().is_none() {
        bed.shutdown().await;
    }
    result
}

/// Runs the catalogue against the service `--profile` describes.
pub async fn check(a: CheckArgs) -> Result<Exit, CliError> {
    let catalogue = load_catalogue(&a.run.specs)?;
    let profile = profile::load_profile(&a.profile)?;
    let mut inputs = Inputs::new();
    inputs.add(&a.profile, "the profile");
    for (path, what) in profile.named_files() {
        inputs.add(&path, what);
    }
    a.run.check_report_paths(inputs)?;
    let targets = load_modes(&profile)?;
    let stop = signals::listen();
    execute(&catalogue, targets, &a.run, Some(&a.profile), stop).await
}

/// Every auth mode of `profile` with its secrets read (one, unnamed, without `modes:`).
fn load_modes(
    profile: &profile::Profile,
) -> Result<Vec<(Option<String>, UnresolvedTarget)>, CliError> {
    let mut targets = Vec::new();
    for (name, p) in profile.modes() {
        targets.push((name, p.load_secrets()?));
    }
    Ok(targets)
}

impl RunArgs {
    /// The engine's options and the probe client's limits.
    /// The numbers were range-checked when parsed (`cli::limits`).
    fn options(&self) -> Result<(RunOptions, ClientConfig), CliError> {
        let options = RunOptions {
            seed: self.seed.unwrap_or_else(random_seed),
            concurrency: usize::from(self.concurrency),
            only: self.only.clone(),
            skip: self.skip.clone(),
            budget: self.budget.map(|b| Duration::from_secs(b.0)),
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

    /// Checks the `--report` paths before anything is sent: none may be an input (`inputs`,
    /// plus the baseline, every file under `--specs` and the CA file), and each must be
    /// writable (see `output`).
    fn check_report_paths(&self, mut inputs: Inputs) -> Result<(), CliError> {
        if let Some(b) = &self.baseline {
            inputs.add(b, "the baseline");
        }
        if let Some(dir) = &self.specs {
            inputs.add_tree(dir, "a spec file under --specs");
        }
        if let Some(ca) = &self.ca_file {
            inputs.add(ca, "the CA file (--ca-file)");
        }
        output::check_reports(self.reports.iter().map(|(_, p)| p.as_path()), &inputs)
            .map_err(CliError::bad_input)
    }

    /// The `--baseline` file, checked against the catalogue.
    fn load_baseline(&self, catalogue: &Catalogue) -> Result<Option<Baseline>, CliError> {
        match &self.baseline {
            Some(path) => Ok(Some(gate::load_baseline(path, Some(catalogue))?)),
            None => Ok(None),
        }
    }
}

/// Runs the catalogue against `target` with progress on stderr until it ends or `stop`
/// holds a reason, gates the report, writes the report files and prints it. `profile` names
/// the profile file (for SARIF locations). The report paths were checked before.
async fn execute(
    catalogue: &Catalogue,
    mut targets: Vec<(Option<String>, UnresolvedTarget)>,
    a: &RunArgs,
    profile: Option<&Path>,
    stop: Stop,
) -> Result<Exit, CliError> {
    if let Some(w) = a.max_wait {
        for (_, target) in &mut targets {
            target.policy.max_wait = Some(w);
        }
    }
    let (options, config) = a.options()?;
    let progress = RunProgress::new(a.quiet);
    let baseline = a.load_baseline(catalogue)?;
    let gate_options = GateOptions {
        fail_on: a.fail_on.map(Into::into),
        strict: a.strict,
    };
    let on_event = |e: &Event| progress.on_event(e);
    // A HAR report is made of the run's traffic: the client captures it (bounded) only then.
    let capture = a.format == Format::Har || a.reports.iter().any(|(f, _)| *f == Format::Har);
    let result = resolve_and_run(
        catalogue, targets, config, &options, &on_event, stop, capture,
    )
    .await;
    progress.finish();
    let (report, redactor, captured) = result?;
    if let Some(why) = &report.incomplete {
        eprintln!(
            "authprobe: {why}: the report is incomplete; rules that did not finish are listed as not run"
        );
    }
    let gate = apply_gate(&report, &gate_options, baseline.as_ref());
    let profile_text = profile.map(|p| p.display().to_string());
    let render = |format, color| {
        let text = match format {
            Format::Har => report::har::render(&report, captured.as_ref()),
            _ => report::render(
                format,
                &report,
                gate.as_ref(),
                catalogue,
                profile_text.as_deref(),
                color,
            ),
        };
        sealed(format, &text, &redactor)
    };
    // Every file first, then stdout; the first failure is the command's error.
    let mut failed = None;
    for (format, path) in &a.reports {
        if let Err(e) = output::write_atomic(path, render(*format, false).as_bytes()) {
            let e = CliError::bad_input(format!(
                "cannot write --report {}: {}",
                path.display(),
                diag::lower(&e.to_string())
            ));
            eprintln!("{e}");
            failed.get_or_insert(e);
        }
    }
    let printed = out(&render(a.format, stdout_color()));
    match (failed, printed) {
        (Some(e), _) | (None, Err(e)) => Err(e),
        (None, Ok(())) => Ok(Exit::of_verdict(gate::exit_code(&report, gate.as_ref()))),
    }
}

/// Resolves the target of every auth mode (one probe client, each mode's discovery document)
/// and runs the catalogue in each until `stop`; `--only`/`--skip` are checked first, before
/// any request is sent.
/// With `capture`, the client captures the run's traffic (from the discovery on), returned
/// redacted for the HAR report.
async fn resolve_and_run(
    catalogue: &Catalogue,
    targets: Vec<(Option<String>, UnresolvedTarget)>,
    config: ClientConfig,
    options: &RunOptions,
    events: &(dyn Fn(&Event) + Send + Sync),
    stop: Stop,
    capture: bool,
) -> Result<(Report, Redactor, Option<Capture>), RunError> {
    let config = ClientConfig { capture, ..config };
    let (report, client) =
        authprobe::run_modes(catalogue, targets, config, options, events, stop).await?;
    let redactor = client.redactor().clone();
    Ok((report, redactor, capture.then(|| client.captured())))
}

/// A finished document through the one choke point before output ([`report::seal_text`]),
/// with a note on stderr when it redacted anything.
fn sealed(format: Format, text: &str, redactor: &Redactor) -> String {
    let (text, n) = report::seal_text(format, text, redactor);
    if let Some(note) = report::seal_note(n, format.name()) {
        eprintln!("authprobe: note: {note}");
    }
    text
}

/// The CI gate's decision when `--fail-on` or `--baseline` asks for one; warns on stderr
/// about stale and expired baseline entries.
fn apply_gate(report: &Report, options: &GateOptions, baseline: Option<&Baseline>) -> Option<Gate> {
    if baseline.is_none() && options.fail_on.is_none() {
        return None;
    }
    let g = gate::decide(report, options, baseline, gate::today());
    for id in &g.stale {
        eprintln!("authprobe: baseline entry `{id}` is stale: the rule now passes; remove it");
    }
    for id in &g.expired {
        eprintln!(
            "authprobe: baseline entry `{id}` has expired; it fails the run until it is renewed or fixed"
        );
    }
    Some(g)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Run {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(words: &[&str]) -> Result<RunArgs, clap::Error> {
        Run::try_parse_from(std::iter::once("run").chain(words.iter().copied())).map(|r| r.run)
    }

    #[test]
    fn format_takes_every_format_name_and_defaults_to_human() {
        assert_eq!(parse(&[]).unwrap().format, Format::Human);
        for f in Format::ALL {
            assert_eq!(parse(&["--format", f.name()]).unwrap().format, f);
        }
    }

    #[test]
    fn format_refuses_the_report_aliases_with_the_possible_values() {
        let e = parse(&["--format", "md"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
        assert!(
            e.to_string().contains("possible values: human, json"),
            "{e}"
        );
    }

    #[test]
    fn report_takes_an_alias_in_any_case_and_needs_a_path() {
        let a = parse(&["--report", "MD=out.md", "--report", "sarif=x.sarif"]).unwrap();
        assert_eq!(
            a.reports,
            vec![
                (Format::Markdown, PathBuf::from("out.md")),
                (Format::Sarif, PathBuf::from("x.sarif"))
            ]
        );
        assert!(parse(&["--report", "sarif="]).is_err());
        assert!(parse(&["--report", "pdf=x.pdf"]).is_err());
        assert!(parse(&["--report", "sarif"]).is_err());
    }
}
