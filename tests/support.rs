//! Helpers: start the testbed on 127.0.0.1:0 and run (part of) the catalogue against it.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use std::path::Path;

use authprobe::ClientConfig;
use authprobe::profile::{TESTBED_PROFILE, Target, UnresolvedTarget, parse_profile};
use authprobe::spec;
use authprobe::testbed::{self, Flaw, TestbedConfig};
use authprobe::{Report, RuleResult, RunError, RunOptions, Status};

/// Fixed seed so failures reproduce.
pub const SEED: u64 = 20261126;

/// Runs the rules matching `only` (all when empty) against a testbed with `flaws`.
pub async fn run(flaws: &[Flaw], only: &[&str]) -> Report {
    run_with(flawed(flaws), only, SEED, |t| t, |_| {})
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// The testbed with `flaws` and nothing else.
fn flawed(flaws: &[Flaw]) -> TestbedConfig {
    TestbedConfig {
        flaws: flaws.iter().copied().collect::<BTreeSet<_>>(),
        ..TestbedConfig::default()
    }
}

/// Starts a testbed with `config`, edits the testbed profile's text (already pointed at the
/// testbed) with `edit_profile` and the resolved target with `edit_target`, and runs the rules
/// matching `only`. A target that cannot be resolved is a [`RunError`] like one that cannot
/// be tested.
pub async fn run_with(
    config: TestbedConfig,
    only: &[&str],
    seed: u64,
    edit_profile: impl Fn(String) -> String,
    edit_target: impl FnOnce(&mut Target),
) -> Result<Report, RunError> {
    run_catalogue_with(config, &builtin(), only, seed, edit_profile, edit_target).await
}

/// [`run_with`] for the rules of `catalogue`.
async fn run_catalogue_with(
    config: TestbedConfig,
    catalogue: &spec::Catalogue,
    only: &[&str],
    seed: u64,
    edit_profile: impl Fn(String) -> String,
    edit_target: impl FnOnce(&mut Target),
) -> Result<Report, RunError> {
    let bed = testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("testbed starts");
    let text = edit_profile(with_replicas(
        TESTBED_PROFILE.replace("http://127.0.0.1:8080", &bed.base_url()),
        &bed.replica_urls(),
    ));
    let target = parse_profile(&text, Path::new("edited.yaml"))
        .and_then(|p| p.load_secrets())
        .unwrap_or_else(|d| panic!("{d}"));
    let report = run_target(target, catalogue, only, seed, edit_target).await;
    bed.shutdown().await;
    report
}

/// The built-in catalogue, parsed once per test process (the matrices start hundreds of runs;
/// parsing the spec files each time was a tenth of a small run's time in a debug build).
pub fn builtin() -> spec::Catalogue {
    static CATALOGUE: std::sync::OnceLock<spec::Catalogue> = std::sync::OnceLock::new();
    CATALOGUE
        .get_or_init(|| spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}")))
        .clone()
}

/// Resolves `target`, edits it with `edit_target` and runs the rules of `catalogue` matching
/// `only` with `seed`: the one place the tests' runs start the engine.
async fn run_target(
    target: UnresolvedTarget,
    catalogue: &spec::Catalogue,
    only: &[&str],
    seed: u64,
    edit_target: impl FnOnce(&mut Target),
) -> Result<Report, RunError> {
    let options = RunOptions {
        seed,
        only: only.iter().map(|s| s.to_string()).collect(),
        ..RunOptions::default()
    };
    let (mut target, client) = target.resolve(ClientConfig::default()).await?;
    edit_target(&mut target);
    authprobe::run(catalogue, target, client, &options, &|_| {}).await
}

/// The built-in catalogue with the generated work of every rule not in `keep` cut to a quarter
/// (model rules at least 16 random sequences, property rules at least 16 cases): for a
/// matrix's "nothing else fails" side, where a rule is checked for a verdict that stays right
/// under a flaw aimed elsewhere, not asked to find that flaw; the rules in `keep` (those the
/// flaw must or may break) keep their full size.
pub fn compact_catalogue(keep: &[&str]) -> spec::Catalogue {
    let quarter = |n: u32| (n / 4).max(16).min(n);
    let mut catalogue = builtin();
    for rule in catalogue
        .rules
        .iter_mut()
        .filter(|r| !keep.contains(&r.id.as_str()))
    {
        match &mut rule.kind {
            spec::RuleKind::Property(p) => p.cases = quarter(p.cases),
            spec::RuleKind::Model(spec::Model::Session(m)) => {
                m.sequences = m.sequences.map(quarter)
            }
            spec::RuleKind::Model(spec::Model::Refresh(m)) => {
                m.sequences = m.sequences.map(quarter)
            }
            _ => {}
        }
    }
    catalogue
}

/// Runs every rule of `catalogue` against a testbed with `flaws` (see [`compact_catalogue`]).
pub async fn run_compact(flaws: &[Flaw], catalogue: spec::Catalogue) -> Report {
    run_catalogue_with(flawed(flaws), &catalogue, &[], SEED, |t| t, |_| {})
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Runs the rules matching `only` against a testbed with `config` through the demo's profile
/// (the testbed profile plus what each quirk's service declares), as `authprobe demo` does.
pub async fn run_demo(config: TestbedConfig, only: &[&str], seed: u64) -> Result<Report, RunError> {
    let bed = testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config.clone())
        .await
        .expect("testbed starts");
    let target = authprobe::demo::replicated_profile(&bed, &config)
        .and_then(|p| p.load_secrets())
        .unwrap_or_else(|d| panic!("{d}"));
    let report = run_target(target, &builtin(), only, seed, |_| {}).await;
    bed.shutdown().await;
    report
}

/// Profile text naming `replicas` (the testbed's other instances), when there are any.
pub fn with_replicas(text: String, replicas: &[String]) -> String {
    if replicas.is_empty() {
        return text;
    }
    let quoted: Vec<String> = replicas.iter().map(|r| format!("{r:?}")).collect();
    format!("{}\nreplicas: [{}]\n", text.trim_end(), quoted.join(", "))
}

/// The result of rule `id` (panics when the report has none).
pub fn result<'a>(report: &'a Report, id: &str) -> &'a RuleResult {
    report
        .results
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("rule {id} not in report"))
}

/// A rule's status, reason and notes, for assertion messages.
pub fn details(r: &RuleResult) -> String {
    format!(
        "{}: {:?}: reason {:?}, notes {:?}",
        r.id,
        r.status(),
        r.reason(),
        r.notes
    )
}

/// Panics with the rule's details unless it has `want`.
pub fn assert_status(report: &Report, id: &str, want: Status) {
    let r = result(report, id);
    assert_eq!(
        r.status(),
        want,
        "{id}: expected {want:?}, got {:?}: reason {:?}, observed {:?}, notes {:?}",
        r.status(),
        r.reason(),
        r.observed(),
        r.notes
    );
}

/// Runs the rules matching `only` with `seed` against a service already serving at
/// `base_url` that behaves like a testbed with `config`, using the profile the demo writes
/// for it (the testbed profile plus what `config`'s quirks declare).
pub async fn run_at(
    base_url: &str,
    config: &TestbedConfig,
    only: &[&str],
    seed: u64,
) -> Result<Report, RunError> {
    let target = authprobe::demo::profile(base_url, config)
        .and_then(|p| p.load_secrets())
        .unwrap_or_else(|d| panic!("{d}"));
    run_target(target, &builtin(), only, seed, |_| {}).await
}

/// Like [`run_at`] against a fresh testbed with `config`.
pub async fn run_config(config: TestbedConfig, only: &[&str], seed: u64) -> Report {
    let bed = testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config.clone())
        .await
        .expect("testbed starts");
    let report = run_at(&bed.base_url(), &config, only, seed).await;
    bed.shutdown().await;
    report.unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Exit code, stdout and stderr of a finished `authprobe` process.
pub fn outcome(out: std::process::Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the `authprobe` binary with `args` (`NO_COLOR` unset); (exit code, stdout, stderr).
pub fn authprobe(args: &[&str]) -> (i32, String, String) {
    outcome(
        std::process::Command::new(env!("CARGO_BIN_EXE_authprobe"))
            .args(args)
            .env_remove("NO_COLOR")
            .output()
            .expect("binary runs"),
    )
}

/// Headless Chromium's flags shared by the browser tests: no sandbox (root in CI), no GPU, and
/// none of the background traffic the closed network would refuse.
pub const HEADLESS_CHROMIUM: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
];

/// The Chromium to test with: `AUTHPROBE_CHROMIUM`, else the first of the usual names on
/// `PATH`.
pub fn find_browser() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("AUTHPROBE_CHROMIUM") {
        return Some(std::path::PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// A compact ES256 token over `claims`, signed with the testbed's demo key by jsonwebtoken
/// (an independent signer).
pub fn demo_es256_token(claims: serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_ec_pem(
        authprobe::testbed::DEMO_ES256_PRIVATE_KEY_PEM.as_bytes(),
    )
    .expect("the demo key");
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &claims,
        &key,
    )
    .expect("a token")
}

/// The path of the testbed's demo ES256 public key (PEM).
pub fn demo_es256_pubkey() -> String {
    format!(
        "{}/src/testbed/keys/es256-demo.pub.pem",
        env!("CARGO_MANIFEST_DIR")
    )
}
