//! `authprobe check` and `authprobe demo`: run the catalogue against the service a profile
//! describes, or against the testbed started in-process; then gate the report, print it and
//! write the `--report` files. The run itself is `authprobe::engine`'s.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use authprobe::ClientConfig;
use authprobe::Redactor;
use authprobe::diag;
use authprobe::gate::{self, Baseline, Gate, GateOptions};
use authprobe::profile::{self, UnresolvedTarget};
use authprobe::report::{self, Format};
use authprobe::spec::{Catalogue, Seconds, Severity};
use authprobe::testbed;
use authprobe::{Event, Report, RunError, RunOptions};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, ValueEnum};

use super::catalogue::load_catalogue;
use super::exit::{CliError, Exit};
use super::io::{out, random_seed, stdout_color};
use super::progress::RunProgress;
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
    /// Run only these rules (id or glob, e.g. `cookie.*`); repeatable.
    #[arg(long, value_name = "RULE")]
    pub only: Vec<String>,
    /// Skip these rules (id or glob); repeatable.
    #[arg(long, value_name = "RULE")]
    pub skip: Vec<String>,
    /// Most rules in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Most requests per second (default: unlimited, or the profile's `limits.max_rps`).
    #[arg(long, value_name = "N")]
    pub max_rps: Option<f64>,
    /// Most requests in the whole run.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_requests: u64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,
    /// Longest wait, in seconds, for a real token to expire when no signing key is given
    /// (overrides the policy's `max_wait`, default 60).
    #[arg(long, value_name = "SECONDS")]
    pub max_wait: Option<u64>,
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
        format!("unknown report format `{f}`: use json, junit, sarif, markdown, html or human")
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
        });
        return Ok(Exit::Success);
    }
    if a.list_quirks {
        let quirks = authprobe::demo::quirks();
        out(&match a.run.format {
            Format::Json => report::quirks_json(&quirks),
            _ => report::quirks_text(&quirks),
        });
        return Ok(Exit::Success);
    }
    let config = parse_config(&a.flaw, &a.quirk)?;
    let catalogue = load_catalogue(&a.run.specs)?;
    let bed = testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config.clone())
        .await
        .map_err(|e| {
            CliError::bad_input(format!(
                "cannot start the testbed: {}",
                diag::lower(&e.to_string())
            ))
        })?;
    let mut target =
        authprobe::demo::profile(&bed.base_url(), &config).and_then(|p| p.load_secrets())?;
    if let Some(what) = describe_config(&config) {
        target.name = format!("{} ({what})", target.name);
    }
    let result = execute(&catalogue, target, &a.run, None).await;
    bed.shutdown().await;
    result
}

/// Runs the catalogue against the service `--profile` describes.
pub async fn check(a: CheckArgs) -> Result<Exit, CliError> {
    let catalogue = load_catalogue(&a.run.specs)?;
    let target = profile::load_profile(&a.profile).and_then(|p| p.load_secrets())?;
    execute(&catalogue, target, &a.run, Some(&a.profile)).await
}

impl RunArgs {
    /// The engine's options and the probe client's limits.
    fn options(&self) -> Result<(RunOptions, ClientConfig), CliError> {
        if let Some(rps) = self.max_rps
            && !(rps > 0.0 && rps.is_finite())
        {
            return Err(CliError::bad_input("--max-rps must be a positive number"));
        }
        let options = RunOptions {
            seed: self.seed.unwrap_or_else(random_seed),
            concurrency: usize::from(self.concurrency),
            only: self.only.clone(),
            skip: self.skip.clone(),
        };
        let config = ClientConfig {
            timeout: Duration::from_secs(self.timeout.max(1)),
            max_requests: self.max_requests,
            max_rps: self.max_rps,
            ..ClientConfig::default()
        };
        Ok((options, config))
    }

    /// Report files are outputs; refuses one that would overwrite an input the user wrote.
    fn check_report_paths(&self, profile: Option<&Path>) -> Result<(), CliError> {
        let inputs = [profile, self.baseline.as_deref(), self.specs.as_deref()];
        for (_, path) in &self.reports {
            if inputs.iter().flatten().any(|i| same_file(i, path)) {
                return Err(CliError::bad_input(format!(
                    "--report {} would overwrite an input file",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// The `--baseline` file, checked against the catalogue.
    fn load_baseline(&self, catalogue: &Catalogue) -> Result<Option<Baseline>, CliError> {
        match &self.baseline {
            Some(path) => Ok(Some(gate::load_baseline(path, Some(catalogue))?)),
            None => Ok(None),
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Runs the catalogue against `target` with progress on stderr, gates the report, prints it
/// and writes the report files. `profile` names the profile file (for SARIF locations).
async fn execute(
    catalogue: &Catalogue,
    mut target: UnresolvedTarget,
    a: &RunArgs,
    profile: Option<&Path>,
) -> Result<Exit, CliError> {
    a.check_report_paths(profile)?;
    if let Some(w) = a.max_wait {
        target.policy.max_wait = Some(Seconds(w));
    }
    let (options, config) = a.options()?;
    let progress = RunProgress::new(a.quiet);
    let baseline = a.load_baseline(catalogue)?;
    let gate_options = GateOptions {
        fail_on: a.fail_on.map(Into::into),
        strict: a.strict,
    };
    let on_event = |e: &Event| progress.on_event(e);
    let result = resolve_and_run(catalogue, target, config, &options, &on_event).await;
    progress.finish();
    let (report, redactor) = result?;
    let gate = apply_gate(&report, &gate_options, baseline.as_ref());
    let profile_text = profile.map(|p| p.display().to_string());
    let render = |format, color| {
        let text = report::render(
            format,
            &report,
            gate.as_ref(),
            catalogue,
            profile_text.as_deref(),
            color,
        );
        sealed(format, &text, &redactor)
    };
    out(&render(a.format, stdout_color()));
    for (format, path) in &a.reports {
        std::fs::write(path, render(*format, false)).map_err(|e| {
            CliError::bad_input(format!(
                "cannot write {}: {}",
                path.display(),
                diag::lower(&e.to_string())
            ))
        })?;
    }
    Ok(Exit::of_verdict(gate::exit_code(&report, gate.as_ref())))
}

/// Resolves the target (its probe client, the discovery document) and runs the catalogue
/// against it; `--only`/`--skip` are checked first, before any request is sent.
async fn resolve_and_run(
    catalogue: &Catalogue,
    target: UnresolvedTarget,
    config: ClientConfig,
    options: &RunOptions,
    events: &(dyn Fn(&Event) + Send + Sync),
) -> Result<(Report, Redactor), RunError> {
    authprobe::select(catalogue, &options.only, &options.skip)?;
    let (target, client) = target.resolve(config).await?;
    let redactor = client.redactor().clone();
    let report = authprobe::run(catalogue, target, client, options, events).await?;
    Ok((report, redactor))
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
