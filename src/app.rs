//! The command line: argument definitions (clap) and one function per command. `main.rs`
//! only parses, calls [`run`], and exits with the code it returns.
//!
//! Exit codes: 0 every selected rule passed or was skipped · 1 a rule failed · 2 bad input
//! (CLI, spec, profile) · 3 the target could not be tested (unreachable, login failed, or a
//! rule was inconclusive or errored with no failure).

use std::io::{IsTerminal, Read as _, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diag::{self, Diagnostics};
use crate::engine::{self, Event, RunError, RunOptions};
use crate::http::ClientConfig;
use crate::profile::{self, Profile, UnresolvedTarget};
use crate::report::{self, Format};
use crate::spec::{self, Catalogue};
use crate::testbed::{self, Flaw, TestbedConfig};

/// Exit code: bad input.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code: the target could not be tested.
pub const EXIT_UNTESTABLE: i32 = 3;

/// authprobe — does your auth service keep the promises of session cookies and tokens?
#[derive(Debug, Parser)]
#[command(name = "authprobe", version, about, long_about = None)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the reference testbed in-process and run the whole catalogue against it.
    Demo(DemoArgs),
    /// Run the catalogue against the service a profile describes.
    Check(CheckArgs),
    /// Serve the reference testbed on loopback until Ctrl-C.
    Testbed(TestbedArgs),
    /// Check spec and profile files and print every problem.
    Validate(ValidateArgs),
    /// Send generated malformed and adversarial credentials to a service until a duration,
    /// the request budget or Ctrl-C; report 5xx, timeouts, dropped connections, accepted
    /// forgeries and response-time outliers.
    Fuzz(FuzzArgs),
    /// List the catalogue's rules.
    Rules(RulesArgs),
    /// Explain one rule: requirement, rationale, references, how to fix, how to check by hand.
    Explain(ExplainArgs),
    /// Write a commented profile skeleton (optionally filled from OIDC discovery).
    Init(InitArgs),
    /// Print the JSON Schema of spec files, profiles or baselines (for editors).
    Schema(SchemaArgs),
    /// Turn criterion's saved results into a Markdown table and a log-scale SVG.
    BenchReport(BenchReportArgs),
    /// Show what a header or token really does, offline.
    #[command(subcommand)]
    Inspect(InspectCommand),
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable text.
    Human,
    /// JSON.
    Json,
}

/// Report formats of `demo` and `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Readable text.
    Human,
    /// The JSON report (`authprobe.report/v1`).
    Json,
    /// JUnit XML.
    Junit,
    /// SARIF 2.1.0.
    Sarif,
    /// Markdown summary.
    Markdown,
    /// Self-contained HTML.
    Html,
}

impl From<ReportFormat> for Format {
    fn from(f: ReportFormat) -> Format {
        match f {
            ReportFormat::Human => Format::Human,
            ReportFormat::Json => Format::Json,
            ReportFormat::Junit => Format::Junit,
            ReportFormat::Sarif => Format::Sarif,
            ReportFormat::Markdown => Format::Markdown,
            ReportFormat::Html => Format::Html,
        }
    }
}

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

/// Options shared by `demo` and `check`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Output format on stdout (progress goes to stderr).
    #[arg(long, value_enum, default_value = "human")]
    pub format: ReportFormat,
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

impl From<SeverityArg> for crate::spec::Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Critical => crate::spec::Severity::Critical,
            SeverityArg::High => crate::spec::Severity::High,
            SeverityArg::Medium => crate::spec::Severity::Medium,
            SeverityArg::Low => crate::spec::Severity::Low,
            SeverityArg::Info => crate::spec::Severity::Info,
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

/// `rules` arguments.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    /// Use the spec files in DIR instead of the shipped catalogue.
    #[arg(long, value_name = "DIR")]
    pub specs: Option<PathBuf>,
}

/// `explain` arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The rule id, e.g. `session.revoked-on-logout`.
    pub rule: String,
    /// Use the spec files in DIR instead of the shipped catalogue.
    #[arg(long, value_name = "DIR")]
    pub specs: Option<PathBuf>,
}

/// `init` arguments.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The service's base URL.
    #[arg(long)]
    pub url: Option<String>,
    /// An OpenID Connect discovery document URL (`.../.well-known/openid-configuration`)
    /// whose endpoints fill the token section.
    #[arg(long, value_name = "DISCOVERY_URL")]
    pub oidc: Option<String>,
    /// Write to FILE (never overwrites) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Which schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// Spec files (`specs/*.yaml`).
    Spec,
    /// Target profiles.
    Profile,
    /// Expected-failures baselines.
    Baseline,
}

/// `schema` arguments.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which file kind.
    #[arg(value_enum)]
    pub kind: SchemaKind,
}

/// `fuzz` arguments.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// The target profile (YAML).
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// How long to run, e.g. `30s`, `10m`.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub duration: crate::spec::Seconds,
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

fn parse_duration(s: &str) -> Result<crate::spec::Seconds, String> {
    crate::spec::Seconds::parse(s)
        .filter(|d| d.0 > 0)
        .ok_or_else(|| format!("invalid duration `{s}`: use e.g. 30s, 10m, 1h"))
}

/// `testbed` arguments.
#[derive(Debug, Args)]
pub struct TestbedArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Break one promise (repeatable).
    #[arg(long, value_name = "NAME")]
    pub flaw: Vec<String>,
}

/// `validate` arguments.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Spec files (with a `rules:` list) and profiles.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `inspect` subcommands.
#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    /// Parse Set-Cookie headers losslessly and show what a browser on URL would store and send back.
    SetCookie(InspectSetCookieArgs),
    /// Decode a JWT offline: header, payload, anomalies, what anyone can read, lifetime, and
    /// with a key whether it verifies. The token is never sent anywhere.
    Jwt(InspectJwtArgs),
}

/// `inspect jwt` arguments.
#[derive(Debug, Args)]
pub struct InspectJwtArgs {
    /// The token (compact serialisation); `-` reads it from stdin.
    pub token: String,
    /// A PEM public key file, or a file holding an HMAC secret.
    #[arg(long, value_name = "FILE", conflicts_with = "jwks")]
    pub key: Option<PathBuf>,
    /// A JWKS file, or an http(s) URL to fetch it from (only the key set is fetched).
    #[arg(long, value_name = "FILE_OR_URL")]
    pub jwks: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
}

/// `inspect set-cookie` arguments.
#[derive(Debug, Args)]
pub struct InspectSetCookieArgs {
    /// The URL of the response that carried the headers.
    #[arg(long)]
    pub url: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    /// Set-Cookie header values, in the order received.
    #[arg(required = true, value_name = "HEADER")]
    pub headers: Vec<String>,
}

fn err(msg: impl std::fmt::Display) -> i32 {
    eprintln!("authprobe: error: {msg}");
    EXIT_BAD_INPUT
}

fn print_diagnostics(d: &Diagnostics) -> i32 {
    eprintln!("{d}");
    EXIT_BAD_INPUT
}

fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error worth a panic.
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
}

/// Runs a parsed command line; returns the exit code.
pub async fn run(cli: Cli) -> i32 {
    // Exactly one jsonwebtoken backend is compiled in; installing it explicitly guards
    // against a build that enables none or both (which would panic at first use).
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    match cli.command {
        Command::Demo(a) => demo(a).await,
        Command::Check(a) => check(a).await,
        Command::Testbed(a) => serve_testbed(a).await,
        Command::Fuzz(a) => fuzz(a).await,
        Command::Rules(a) => match catalogue(&a.specs) {
            Ok(c) => {
                out(&match a.format {
                    OutputFormat::Human => report::rules_text(&c),
                    OutputFormat::Json => report::rules_json(&c),
                });
                0
            }
            Err(code) => code,
        },
        Command::Explain(a) => match catalogue(&a.specs) {
            Ok(c) => match c.rule(&a.rule) {
                Some(rule) => {
                    out(&report::explain(rule, &crate::demo::flaws()));
                    0
                }
                None => err(format!(
                    "no rule `{}`; `authprobe rules` lists them",
                    a.rule
                )),
            },
            Err(code) => code,
        },
        Command::Init(a) => init(a).await,
        Command::BenchReport(a) => match crate::benchreport::bench_report(&a.criterion, &a.out) {
            Ok(summary) => {
                out(&format!(
                    "{} benchmarks; wrote {} and {}",
                    summary.rows.len(),
                    summary.markdown.display(),
                    summary.svg.display()
                ));
                0
            }
            Err(e) => err(e),
        },
        Command::Schema(a) => {
            out(&crate::schema::render(match a.kind {
                SchemaKind::Spec => crate::schema::Kind::Spec,
                SchemaKind::Profile => crate::schema::Kind::Profile,
                SchemaKind::Baseline => crate::schema::Kind::Baseline,
            }));
            0
        }
        Command::Validate(a) => validate(&a.files),
        Command::Inspect(InspectCommand::SetCookie(a)) => inspect_set_cookie(&a),
        Command::Inspect(InspectCommand::Jwt(a)) => inspect_jwt(&a).await,
    }
}

fn parse_flaws(names: &[String]) -> Result<TestbedConfig, i32> {
    let mut flaws = std::collections::BTreeSet::new();
    for n in names {
        match n.parse::<Flaw>() {
            Ok(f) => {
                flaws.insert(f);
            }
            Err(e) => return Err(err(e)),
        }
    }
    Ok(TestbedConfig {
        flaws,
        ..TestbedConfig::default()
    })
}

fn catalogue(specs: &Option<PathBuf>) -> Result<Catalogue, i32> {
    match specs {
        Some(dir) => spec::load_catalogue(dir).map_err(|d| print_diagnostics(&d)),
        None => spec::builtin_catalogue().map_err(|d| print_diagnostics(&d)),
    }
}

async fn demo(a: DemoArgs) -> i32 {
    if a.list_flaws {
        out(&match a.run.format {
            ReportFormat::Json => report::flaws_json(&crate::demo::flaws()),
            _ => report::flaws_text(&crate::demo::flaws()),
        });
        return 0;
    }
    let config = match parse_flaws(&a.flaw) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let catalogue = match catalogue(&a.run.specs) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let bed = match testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config.clone()).await {
        Ok(b) => b,
        Err(e) => {
            return err(format!(
                "cannot start the testbed: {}",
                diag::lower(&e.to_string())
            ));
        }
    };
    let target = match Profile::testbed(&bed.base_url()).and_then(|p| p.load_secrets()) {
        Ok(t) => t,
        Err(d) => return print_diagnostics(&d),
    };
    let mut target = target;
    if !config.flaws.is_empty() {
        let names: Vec<&str> = config.flaws.iter().map(|f| f.name()).collect();
        target.name = format!("{} (flaws: {})", target.name, names.join(", "));
    }
    let code = execute(&catalogue, target, &a.run, None).await;
    bed.shutdown().await;
    code
}

async fn check(a: CheckArgs) -> i32 {
    let catalogue = match catalogue(&a.run.specs) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let target = match profile::load_profile(&a.profile).and_then(|p| p.load_secrets()) {
        Ok(t) => t,
        Err(d) => return print_diagnostics(&d),
    };
    execute(&catalogue, target, &a.run, Some(&a.profile)).await
}

fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    engine::seed_for(nanos ^ u64::from(std::process::id()), "seed") % 1_000_000_000
}

async fn execute(
    catalogue: &Catalogue,
    mut target: UnresolvedTarget,
    a: &RunArgs,
    profile: Option<&std::path::Path>,
) -> i32 {
    // Report files are outputs; never let one overwrite an input the user wrote.
    for (_, path) in &a.reports {
        let inputs = [profile, a.baseline.as_deref(), a.specs.as_deref()];
        if inputs.iter().flatten().any(|i| same_file(i, path)) {
            return err(format!(
                "--report {} would overwrite an input file",
                path.display()
            ));
        }
    }
    if let Some(w) = a.max_wait {
        target.policy.max_wait = Some(crate::spec::Seconds(w));
    }
    if let Some(rps) = a.max_rps
        && !(rps > 0.0 && rps.is_finite())
    {
        return err("--max-rps must be a positive number");
    }
    let options = RunOptions {
        seed: a.seed.unwrap_or_else(random_seed),
        concurrency: usize::from(a.concurrency),
        only: a.only.clone(),
        skip: a.skip.clone(),
    };
    let config = ClientConfig {
        timeout: Duration::from_secs(a.timeout.max(1)),
        max_requests: a.max_requests,
        max_rps: a.max_rps,
        ..ClientConfig::default()
    };
    // Progress on stderr: a bar on a terminal, plain lines otherwise, nothing with --quiet.
    let tty = std::io::stderr().is_terminal();
    let bar = (!a.quiet && tty).then(|| {
        let pb = indicatif::ProgressBar::new(0);
        let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} rules  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        pb.set_style(style);
        pb
    });
    let total = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let on_event = |e: &Event| {
        use std::sync::atomic::Ordering;
        let n = match e {
            Event::Started { rules, .. } => {
                total.store(*rules, Ordering::Relaxed);
                if let Some(pb) = &bar {
                    pb.set_length(*rules as u64);
                }
                0
            }
            Event::RuleFinished(_) => done.fetch_add(1, Ordering::Relaxed) + 1,
        };
        if a.quiet {
            return;
        }
        match (&bar, e) {
            (Some(pb), Event::RuleFinished(r)) => {
                pb.set_position(n as u64);
                pb.set_message(format!("{} {}", r.status().as_str(), r.id));
            }
            (Some(pb), Event::Started { .. }) => {
                if let Some(line) = report::progress_line(e, n, total.load(Ordering::Relaxed)) {
                    pb.println(line);
                }
            }
            (None, _) => {
                if let Some(line) = report::progress_line(e, n, total.load(Ordering::Relaxed)) {
                    eprintln!("{line}");
                }
            }
        }
    };
    let format: Format = a.format.into();
    let baseline = match &a.baseline {
        Some(path) => match crate::gate::load_baseline(path, Some(catalogue)) {
            Ok(b) => Some(b),
            Err(d) => return print_diagnostics(&d),
        },
        None => None,
    };
    let gate_options = crate::gate::GateOptions {
        fail_on: a.fail_on.map(Into::into),
        strict: a.strict,
    };
    let result = resolve_and_run(catalogue, target, config, &options, &on_event).await;
    if let Some(pb) = &bar {
        pb.finish_and_clear();
    }
    match result {
        Ok(report) => {
            let mut gate = None;
            if baseline.is_some() || gate_options.fail_on.is_some() {
                let g = crate::gate::decide(
                    &report,
                    &gate_options,
                    baseline.as_ref(),
                    crate::gate::today(),
                );
                for id in &g.stale {
                    eprintln!(
                        "authprobe: baseline entry `{id}` is stale: the rule now passes; remove it"
                    );
                }
                for id in &g.expired {
                    eprintln!(
                        "authprobe: baseline entry `{id}` has expired; it fails the run until it is renewed or fixed"
                    );
                }
                gate = Some(g);
            }
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let profile_text = profile.map(|p| p.display().to_string());
            out(&report::render(
                format,
                &report,
                gate.as_ref(),
                catalogue,
                profile_text.as_deref(),
                color,
            ));
            for (f, path) in &a.reports {
                let text = report::render(
                    *f,
                    &report,
                    gate.as_ref(),
                    catalogue,
                    profile_text.as_deref(),
                    false,
                );
                if let Err(e) = std::fs::write(path, text) {
                    eprintln!(
                        "authprobe: error: cannot write {}: {}",
                        path.display(),
                        diag::lower(&e.to_string())
                    );
                    return EXIT_BAD_INPUT;
                }
            }
            crate::gate::exit_code(&report, gate.as_ref())
        }
        Err(e) => {
            eprintln!("authprobe: {e}");
            e.exit_code()
        }
    }
}

/// Resolves the target (its probe client, the discovery document) and runs the catalogue
/// against it; `--only`/`--skip` are checked first, before any request is sent.
async fn resolve_and_run(
    catalogue: &Catalogue,
    target: UnresolvedTarget,
    config: ClientConfig,
    options: &RunOptions,
    events: &(dyn Fn(&Event) + Send + Sync),
) -> Result<engine::Report, RunError> {
    engine::select(catalogue, &options.only, &options.skip)?;
    let (target, client) = target.resolve(config).await?;
    engine::run(catalogue, target, client, options, events).await
}

async fn serve_testbed(a: TestbedArgs) -> i32 {
    if !a.listen.ip().is_loopback() {
        return err(format!(
            "the testbed is deliberately breakable and listens on loopback only; {} is not a loopback address",
            a.listen.ip()
        ));
    }
    let config = match parse_flaws(&a.flaw) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let listener = match tokio::net::TcpListener::bind(a.listen).await {
        Ok(l) => l,
        Err(e) => {
            return err(format!(
                "cannot listen on {}: {}",
                a.listen,
                diag::lower(&e.to_string())
            ));
        }
    };
    let names: Vec<&str> = config.flaws.iter().map(|f| f.name()).collect();
    eprintln!(
        "authprobe testbed listening on http://{} (flaws: {}); demo users alice/alice-demo-password, bob/bob-demo-password; Ctrl-C stops it",
        a.listen,
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match testbed::serve(listener, config, shutdown).await {
        Ok(()) => 0,
        Err(e) => err(format!("testbed stopped: {}", diag::lower(&e.to_string()))),
    }
}

fn looks_like_spec(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("rules:"))
}

fn validate(files: &[PathBuf]) -> i32 {
    let mut problems = Diagnostics::default();
    let mut spec_sources = Vec::new();
    let mut lines = Vec::new();
    for file in files {
        let text = match diag::read_file(file) {
            Ok(t) => t,
            Err(d) => {
                problems.push(d);
                continue;
            }
        };
        if looks_like_spec(&text) {
            spec_sources.push((file.clone(), text));
        } else if crate::gate::looks_like_baseline(&text) {
            let catalogue = spec::builtin_catalogue().ok();
            match crate::gate::parse_baseline(&text, file, catalogue.as_ref()) {
                Ok(b) => lines.push(format!(
                    "ok: {} (baseline, {} entries)",
                    file.display(),
                    b.entries.len()
                )),
                Err(d) => problems.extend(d),
            }
        } else {
            match profile::parse_profile(&text, file) {
                Ok(p) => lines.push(format!(
                    "ok: {} (profile `{}`)",
                    file.display(),
                    p.spec.name.as_deref().unwrap_or("unnamed")
                )),
                Err(d) => problems.extend(d),
            }
        }
    }
    if !spec_sources.is_empty() {
        match spec::catalogue_from_sources(&spec_sources) {
            Ok(c) => lines.push(format!(
                "ok: {} spec file(s), {} rules",
                spec_sources.len(),
                c.rules.len()
            )),
            Err(d) => problems.extend(d),
        }
    }
    if problems.is_empty() {
        out(&lines.join("\n"));
        0
    } else {
        print_diagnostics(&problems)
    }
}

fn inspect_set_cookie(a: &InspectSetCookieArgs) -> i32 {
    let url = match url::Url::parse(&a.url) {
        Ok(u) if u.host().is_some() => u,
        Ok(_) => return err(format!("--url {} has no host", a.url)),
        Err(e) => return err(format!("--url {}: {e}", a.url)),
    };
    let headers: Vec<&str> = a.headers.iter().map(|h| strip_header_name(h)).collect();
    let inspection = crate::cookie::inspect(&headers, &url, engine_now());
    out(&match a.format {
        OutputFormat::Human => crate::cookie::render_text(&inspection),
        OutputFormat::Json => serde_json::to_string_pretty(&inspection).unwrap_or_default(),
    });
    0
}

/// Accepts `Set-Cookie: a=b` as well as `a=b`.
fn strip_header_name(h: &str) -> &str {
    let t = h.trim_start();
    match t.get(..11) {
        Some(p) if p.eq_ignore_ascii_case("set-cookie:") => t[11..].trim_start(),
        _ => h,
    }
}

fn engine_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn inspect_jwt(a: &InspectJwtArgs) -> i32 {
    use crate::jwt::inspect::{VerifyKey, inspect, render_text};
    let token = if a.token == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin().take(1 << 20), &mut s) {
            return err(format!(
                "cannot read the token from stdin: {}",
                diag::lower(&e.to_string())
            ));
        }
        s
    } else {
        a.token.clone()
    };
    let key = if let Some(path) = &a.key {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                if text.contains("-----BEGIN") {
                    Some(VerifyKey::Pem(text.into_owned()))
                } else {
                    let trimmed = text.trim_end_matches(['\n', '\r']).as_bytes().to_vec();
                    Some(VerifyKey::Secret(trimmed))
                }
            }
            Err(e) => {
                return err(format!(
                    "cannot read {}: {}",
                    path.display(),
                    diag::lower(&e.to_string())
                ));
            }
        }
    } else if let Some(src) = &a.jwks {
        if src.starts_with("http://") || src.starts_with("https://") {
            let url = match url::Url::parse(src) {
                Ok(u) => u,
                Err(e) => return err(format!("--jwks {src}: {e}")),
            };
            match fetch_document(url, "--jwks").await {
                Ok(body) => Some(VerifyKey::Jwks(String::from_utf8_lossy(&body).into_owned())),
                Err(e) => return err(e),
            }
        } else {
            match std::fs::read_to_string(src) {
                Ok(t) => Some(VerifyKey::Jwks(t)),
                Err(e) => {
                    return err(format!(
                        "cannot read {src}: {}",
                        diag::lower(&e.to_string())
                    ));
                }
            }
        }
    } else {
        None
    };
    match inspect(&token, key.as_ref(), engine_now()) {
        Ok(i) => {
            out(&match a.format {
                OutputFormat::Human => render_text(&i),
                OutputFormat::Json => serde_json::to_string_pretty(&i).unwrap_or_default(),
            });
            match &i.verification {
                Some(v) if !v.verified => 1,
                _ => 0,
            }
        }
        Err(e) => err(format!("not a JWT: {e}")),
    }
}

async fn fuzz(a: FuzzArgs) -> i32 {
    use crate::fuzzer::{FuzzEvent, FuzzOptions};
    if let Some(rps) = a.max_rps
        && !(rps > 0.0 && rps.is_finite())
    {
        return err("--max-rps must be a positive number");
    }
    let target = match profile::load_profile(&a.profile).and_then(|p| p.load_secrets()) {
        Ok(t) => t,
        Err(d) => return print_diagnostics(&d),
    };
    let seed = a.seed.unwrap_or_else(random_seed);
    let options = FuzzOptions {
        seed,
        duration: Duration::from_secs(a.duration.0),
        concurrency: usize::from(a.concurrency),
    };
    let config = ClientConfig {
        timeout: Duration::from_secs(a.timeout.max(1)),
        max_requests: a.max_requests,
        max_rps: a.max_rps,
        ..ClientConfig::default()
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(true);
        }
    });
    let progress = !a.quiet;
    if progress {
        eprintln!(
            "authprobe fuzz: seed {seed}, up to {} against {}",
            a.duration, target.base_url
        );
    }
    let on_event = |e: &FuzzEvent| {
        if !progress {
            return;
        }
        match e {
            FuzzEvent::Progress {
                cases,
                rate,
                findings,
            } => {
                eprintln!("fuzz: {cases} cases, {rate:.0}/s, {findings} findings")
            }
            FuzzEvent::Found(f) => eprintln!(
                "fuzz: finding: {:?} from {} — {}",
                f.kind,
                f.generator,
                report::sanitize(&f.observed)
            ),
        }
    };
    let (target, client) = match target.resolve(config).await {
        Ok(resolved) => resolved,
        Err(e) => {
            let e = RunError::from(e);
            eprintln!("authprobe: {e}");
            return e.exit_code();
        }
    };
    let report = match crate::fuzzer::fuzz(target, client, &options, rx, &on_event).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("authprobe: {e}");
            return e.exit_code();
        }
    };
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
    report.exit_code()
}

/// Writes one JSON file per finding plus the summary into a new subdirectory of `out`.
fn write_findings(
    out: &std::path::Path,
    report: &crate::fuzzer::FuzzReport,
) -> std::io::Result<PathBuf> {
    let stamp = engine_now();
    let mut dir = out.join(format!("{stamp}-seed-{}", report.seed));
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = out.join(format!("{stamp}-seed-{}-{n}", report.seed));
    }
    std::fs::create_dir_all(&dir)?;
    for (i, f) in report.findings.iter().enumerate() {
        let name = format!("finding-{:03}-{:?}-{}.json", i + 1, f.kind, f.generator).to_lowercase();
        let path = dir.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        file.write_all(
            serde_json::to_string_pretty(f)
                .unwrap_or_default()
                .as_bytes(),
        )?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join("summary.json"))?;
    file.write_all(
        serde_json::to_string_pretty(report)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    Ok(dir)
}

async fn init(a: InitArgs) -> i32 {
    let mut discovery: Option<serde_json::Value> = None;
    if let Some(src) = &a.oidc {
        let url = match url::Url::parse(src) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            Ok(_) => return err(format!("--oidc {src}: not an http(s) URL")),
            Err(e) => return err(format!("--oidc {src}: {e}")),
        };
        match fetch_document(url, "--oidc").await {
            Ok(body) => match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(v) if v.is_object() => discovery = Some(v),
                _ => return err(format!("--oidc {src}: the answer is not a JSON object")),
            },
            Err(e) => {
                eprintln!("authprobe: {e}");
                return EXIT_UNTESTABLE;
            }
        }
    }
    let text = match crate::profile::skeleton(a.url.as_deref(), discovery.as_ref()) {
        Ok(t) => t,
        Err(e) => return err(e),
    };
    match &a.out {
        None => {
            out(&text);
            0
        }
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path);
            match file.and_then(|mut f| f.write_all(text.as_bytes())) {
                Ok(()) => {
                    eprintln!(
                        "authprobe: wrote {}; fill in the flows, then `authprobe validate {}`",
                        path.display(),
                        path.display()
                    );
                    0
                }
                Err(e) => err(format!(
                    "cannot write {} (it is never overwritten): {}",
                    path.display(),
                    diag::lower(&e.to_string())
                )),
            }
        }
    }
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Fetches one document (a JWKS, a discovery document) with a client limited to that URL's
/// origin and a single request; nothing else is sent. The error is one line.
async fn fetch_document(url: url::Url, flag: &str) -> Result<Vec<u8>, String> {
    let config = ClientConfig {
        allowed_origins: vec![url.origin()],
        max_requests: 1,
        ..ClientConfig::default()
    };
    let client = crate::http::Client::new(config).map_err(|e| e.to_string())?;
    let shown = url.to_string();
    match client.send(crate::http::ProbeRequest::get(url)).await {
        Ok(ex) if ex.response.status == 200 => Ok(ex.response.body),
        Ok(ex) => Err(format!("{flag} {shown} answered {}", ex.response.status)),
        Err(e) => Err(e.to_string()),
    }
}
