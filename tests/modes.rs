//! Named auth modes (`modes:`): the profile's mode errors are located, a profile with one mode
//! reports exactly as before (no mode anywhere), and with two modes — the testbed profile's
//! cookie login as `browser` and its token login as `api` — each rule runs once per mode that
//! provides what it requires, a flaw of one kind fails its rule in that mode only, every report
//! format, the gate and the baseline key results by `id@mode`, and `--only` takes `id@mode`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;

use authprobe::gate::{self, GateOptions};
use authprobe::profile::{Profile, parse_profile};
use authprobe::report::{self, Format};
use authprobe::spec::{self, Catalogue};
use authprobe::testbed::{self, Flaw, TestbedConfig};
use authprobe::{ClientConfig, Report, RunOptions, Status};

use crate::support::{SEED, authprobe};

/// The testbed profile's text with `extra` appended (base_url is the unreachable default).
fn profile_with(extra: &str) -> String {
    format!("{}\n{extra}", authprobe::profile::TESTBED_PROFILE)
}

/// The one diagnostic at `path` of a profile that must be refused: (line, message).
fn refused_at(src: &str, path: &str) -> (u64, String) {
    let d = parse_profile(src, Path::new("p.yaml")).expect_err("the profile should be refused");
    let hits: Vec<_> = d.0.iter().filter(|x| x.path == path).collect();
    assert_eq!(hits.len(), 1, "one diagnostic at {path}:\n{d}");
    (hits[0].line, hits[0].message.clone())
}

/// The line (1-based) of the first line of `src` that contains `needle`.
fn line_of(src: &str, needle: &str) -> u64 {
    let i = src.lines().position(|l| l.contains(needle));
    i.map(|i| i as u64 + 1).expect("needle in the source")
}

const API_MODE: &str = "modes:
  api:
    token:
      login:
        - request: {method: POST, path: /api/token, json: {username: \"{{user.username}}\", password: \"{{user.password}}\"}}
          extract: {access_token: \"json:/access_token\"}
      from: access_token
      access:
        request: {path: /api/token/me, headers: {Authorization: \"Bearer {{access_token}}\"}}
        allowed: {status: [200]}
        denied: {status: [401]}
";

#[test]
fn a_named_mode_loads_beside_the_default() {
    let p = parse_profile(&profile_with(API_MODE), Path::new("p.yaml"))
        .unwrap_or_else(|d| panic!("{d}"));
    let names: Vec<_> = p.modes().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, [Some("default".into()), Some("api".into())]);
}

#[test]
fn profile_mode_errors_are_located() {
    let bad_name = profile_with(&API_MODE.replace("  api:", "  Api:"));
    let (line, msg) = refused_at(&bad_name, "modes.Api");
    assert_eq!(line, line_of(&bad_name, "  Api:"), "{msg}");
    assert!(msg.contains("not a mode name"), "{msg}");

    let empty = profile_with("modes:\n  admin: {}\n");
    let (line, msg) = refused_at(&empty, "modes.admin");
    assert_eq!(line, line_of(&empty, "  admin:"));
    assert_eq!(msg, "the mode is empty");

    let session_only = profile_with("modes:\n  admin:\n    session: {cookie: sid}\n");
    let (line, msg) = refused_at(&session_only, "modes.admin");
    assert_eq!(line, line_of(&session_only, "  admin:"));
    assert!(msg.contains("no rule can use it"), "{msg}");

    let clash = profile_with(&API_MODE.replace("  api:", "  default:"));
    let (_, msg) = refused_at(&clash, "modes.default");
    assert!(msg.contains("are the mode `default`"), "{msg}");

    // A problem inside a mode's sections is reported at its key under the mode.
    let inner = profile_with(&API_MODE.replace("json:/access_token", "jsn:/access_token"));
    let d = parse_profile(&inner, Path::new("p.yaml")).expect_err("refused");
    let hit =
        d.0.iter()
            .find(|x| x.path.starts_with("modes.api.token.login[0]"));
    let hit = hit.unwrap_or_else(|| panic!("a diagnostic under modes.api.token:\n{d}"));
    // At the step, as at the top level.
    assert_eq!(hit.line, line_of(&inner, "path: /api/token,"), "{d}");

    let many: String = (0..17)
        .map(|i| format!("  m{i}:\n    token: {{login: [], from: t, access: {{request: {{path: /}}, allowed: {{status: [200]}}}}}}\n"))
        .collect();
    let too_many = profile_with(&format!("modes:\n{many}"));
    let (line, msg) = refused_at(&too_many, "modes");
    assert_eq!(line, line_of(&too_many, "modes:"));
    assert!(msg.contains("at most 16"), "{msg}");
}

#[test]
fn validate_refuses_a_bad_mode_with_its_location_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("authprobe-modes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let file = dir.join("p.yaml");
    let src = profile_with("modes:\n  admin: {}\n");
    std::fs::write(&file, &src).expect("write");
    let (code, out, err) = authprobe(&["validate", file.to_str().expect("utf-8")]);
    let line = line_of(&src, "  admin:");
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!("p.yaml:{line}:3")) && err.contains("modes.admin"),
        "{err}"
    );
}

/// Runs the rules matching `only` against a testbed with `flaws` through every mode of the
/// testbed profile, split into `browser` and `api` when `split`.
async fn run_modes(flaws: &[Flaw], only: &[&str], split: bool) -> (Report, Catalogue) {
    let config = TestbedConfig {
        flaws: flaws.iter().copied().collect::<BTreeSet<_>>(),
        ..TestbedConfig::default()
    };
    let bed = testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("testbed starts");
    let mut profile = Profile::testbed(&bed.base_url()).unwrap_or_else(|d| panic!("{d}"));
    if split {
        profile
            .split_into_modes("browser", "api")
            .unwrap_or_else(|d| panic!("{d}"));
    }
    let report = run_profile(&profile, only).await;
    bed.shutdown().await;
    (
        report,
        spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}")),
    )
}

/// Runs `profile`'s modes with the rules matching `only`.
async fn run_profile(profile: &Profile, only: &[&str]) -> Report {
    let targets = profile
        .modes()
        .into_iter()
        .map(|(n, p)| (n, p.load_secrets().unwrap_or_else(|d| panic!("{d}"))))
        .collect();
    let catalogue = spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
    let options = RunOptions {
        seed: SEED,
        only: only.iter().map(|s| s.to_string()).collect(),
        ..RunOptions::default()
    };
    let (_never, stop) = tokio::sync::watch::channel(None);
    let (report, _) = authprobe::run_modes(
        &catalogue,
        targets,
        ClientConfig::default(),
        &options,
        &|_| {},
        stop,
    )
    .await
    .unwrap_or_else(|e| panic!("run failed: {e}"));
    report
}

/// The results as `id@mode` keys with their status.
fn keyed(report: &Report) -> Vec<(String, Status)> {
    report
        .results
        .iter()
        .map(|r| (r.key(), r.status()))
        .collect()
}

/// A report's JSON without what varies from run to run (timings, the measured sizing).
fn stable_json(report: &Report) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("duration_ms");
                m.remove("limits");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value =
        serde_json::from_str(&report::json(report, None)).expect("JSON report");
    strip(&mut v);
    v
}

#[tokio::test]
async fn one_mode_reports_as_before_with_no_mode_anywhere() {
    let only = [
        "cookie.http-only",
        "jwt.alg-none-rejected",
        "transport.no-store",
    ];
    let bed = testbed::spawn(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        TestbedConfig::default(),
    )
    .await
    .expect("testbed starts");
    let profile = Profile::testbed(&bed.base_url()).unwrap_or_else(|d| panic!("{d}"));
    let through_modes = run_profile(&profile, &only).await;
    let before = crate::support::run_at(&bed.base_url(), &TestbedConfig::default(), &only, SEED)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    bed.shutdown().await;
    assert_eq!(stable_json(&through_modes), stable_json(&before));
    let catalogue = spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
    assert!(through_modes.results.iter().all(|r| r.mode.is_none()));
    for format in Format::ALL {
        let text = report::render(format, &through_modes, None, &catalogue, None, false);
        assert!(
            !text.contains("\"mode\""),
            "{format:?} shows a mode:\n{text}"
        );
        assert!(
            !text.contains("[api]") && !text.contains("@api"),
            "{format:?}"
        );
        assert!(!text.contains("auth modes"), "{format:?}");
    }
}

#[tokio::test]
async fn two_modes_run_each_rule_in_every_mode_that_provides_it() {
    let only = [
        "cookie.http-only",
        "jwt.alg-none-rejected",
        "transport.no-store",
    ];
    let (report, _) = run_modes(&[], &only, true).await;
    let want = [
        ("cookie.http-only@browser", Status::Pass),
        ("jwt.alg-none-rejected@api", Status::Pass),
        ("transport.no-store@api", Status::Pass),
        ("transport.no-store@browser", Status::Pass),
    ];
    let want: Vec<(String, Status)> = want.iter().map(|(k, s)| (k.to_string(), *s)).collect();
    assert_eq!(keyed(&report), want);
    assert_eq!(report.target.modes, ["api", "browser"]);
    assert_eq!(report.summary.pass, 4);
}

#[tokio::test]
async fn a_rule_no_mode_provides_is_skipped_once_with_its_reason() {
    let bed = testbed::spawn(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        TestbedConfig::default(),
    )
    .await
    .expect("testbed starts");
    let mut profile = Profile::testbed(&bed.base_url()).unwrap_or_else(|d| panic!("{d}"));
    if let Some(f) = profile.spec.flows.as_mut() {
        f.logout_everywhere = None;
    }
    profile
        .split_into_modes("browser", "api")
        .unwrap_or_else(|d| panic!("{d}"));
    let report = run_profile(&profile, &["session.logout-everywhere", "cookie.secure"]).await;
    bed.shutdown().await;
    let keys: Vec<String> = report.results.iter().map(|r| r.key()).collect();
    assert_eq!(keys, ["cookie.secure@browser", "session.logout-everywhere"]);
    let skipped = &report.results[1];
    assert_eq!(skipped.status(), Status::Skip);
    let reason = skipped.reason().unwrap_or_default();
    assert!(
        reason.contains("define flows.logout_everywhere"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_cookie_flaw_fails_the_cookie_mode_only() {
    let only = ["cookie.*", "transport.no-store", "jwt.alg-none-rejected"];
    let (report, _) = run_modes(&[Flaw::CookieNoHttpOnly], &only, true).await;
    for (key, status) in keyed(&report) {
        let want = if key == "cookie.http-only@browser" {
            Status::Fail
        } else {
            Status::Pass
        };
        assert_eq!(status, want, "{key}");
        assert!(
            !key.starts_with("cookie.") || key.ends_with("@browser"),
            "{key}"
        );
    }
    assert!(
        keyed(&report)
            .iter()
            .any(|(k, _)| k == "transport.no-store@api")
    );
}

#[tokio::test]
async fn a_token_flaw_fails_the_token_mode_only() {
    let only = [
        "jwt.alg-none-rejected",
        "cookie.http-only",
        "transport.no-store",
    ];
    let (report, _) = run_modes(&[Flaw::JwtAlgNone], &only, true).await;
    let failed: Vec<String> = keyed(&report)
        .into_iter()
        .filter(|(_, s)| *s != Status::Pass)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(failed, ["jwt.alg-none-rejected@api"]);
    assert_eq!(report.results.len(), 4);
}

#[tokio::test]
async fn every_format_shows_the_mode_and_keys_results_by_it() {
    let only = ["cookie.http-only", "transport.no-store"];
    let (report, catalogue) = run_modes(&[Flaw::CookieNoHttpOnly], &only, true).await;
    let json: serde_json::Value = serde_json::from_str(&report::json(&report, None)).expect("JSON");
    let results = json["results"].as_array().expect("results");
    let modes: Vec<(&str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or(""),
                r["mode"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        modes,
        [
            ("cookie.http-only", "browser"),
            ("transport.no-store", "api"),
            ("transport.no-store", "browser")
        ]
    );
    assert_eq!(
        json["target"]["modes"],
        serde_json::json!(["api", "browser"])
    );

    let sarif: serde_json::Value =
        serde_json::from_str(&report::sarif::render(&report, &catalogue)).expect("SARIF");
    let run = &sarif["runs"][0];
    let failed = &run["results"][0];
    assert_eq!(failed["ruleId"], "cookie.http-only@browser");
    assert_eq!(failed["properties"]["mode"], "browser");
    let index = failed["ruleIndex"].as_u64().expect("ruleIndex") as usize;
    assert_eq!(
        run["tool"]["driver"]["rules"][index]["id"],
        "cookie.http-only@browser"
    );
    let ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        ids,
        [
            "cookie.http-only@browser",
            "transport.no-store@api",
            "transport.no-store@browser"
        ]
    );

    let junit = report::junit::render(&report);
    for name in [
        "cookie.http-only [browser]",
        "transport.no-store [api]",
        "transport.no-store [browser]",
    ] {
        assert!(
            junit.contains(&format!("name=\"{name}\"")),
            "{name}:\n{junit}"
        );
    }
    let human = report::render(Format::Human, &report, None, &catalogue, None, false);
    assert!(human.contains("cookie.http-only [browser]"), "{human}");
    assert!(human.contains("auth modes api, browser"), "{human}");
    let md = report::markdown::render(&report, None);
    assert!(md.contains("cookie.http-only [browser]"), "{md}");
    let html = report::html::render(&report, None, &catalogue);
    assert!(html.contains("cookie.http-only [browser]"), "html");
    let har: serde_json::Value =
        serde_json::from_str(&report::har::render(&report, None)).expect("HAR");
    let pages: Vec<&str> = har["log"]["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert!(pages.contains(&"transport.no-store@api"), "{pages:?}");
    assert!(pages.contains(&"transport.no-store@browser"), "{pages:?}");
}

#[tokio::test]
async fn the_gate_and_the_baseline_are_keyed_per_mode() {
    let only = ["cookie.http-only", "transport.no-store"];
    let (report, catalogue) = run_modes(&[Flaw::CookieNoHttpOnly], &only, true).await;
    let baseline = |rule: &str| {
        let src = format!("expected_failures:\n  - rule: {rule}\n    reason: tracked in SEC-1\n");
        gate::parse_baseline(&src, Path::new("b.yaml"), Some(&catalogue))
            .unwrap_or_else(|d| panic!("{d}"))
    };
    let options = GateOptions::default();
    let g = gate::decide(&report, &options, None, gate::today());
    assert_eq!(g.counted, ["cookie.http-only@browser"]);
    // The mode's key and the bare id (every mode) both accept the failure.
    for rule in ["cookie.http-only@browser", "cookie.http-only"] {
        let g = gate::decide(&report, &options, Some(&baseline(rule)), gate::today());
        assert!(g.counted.is_empty(), "{rule}: {g:?}");
        assert_eq!(g.baselined[0].0, "cookie.http-only@browser");
    }
    // An entry for the rule in a mode where it passes is stale there.
    let g = gate::decide(
        &report,
        &options,
        Some(&baseline("transport.no-store@api")),
        gate::today(),
    );
    assert_eq!(g.stale, ["transport.no-store@api"]);
    assert_eq!(g.counted, ["cookie.http-only@browser"]);
}

#[test]
fn only_takes_id_at_mode_and_refuses_an_unknown_mode() {
    let (code, out, err) = authprobe(&[
        "demo",
        "--modes",
        "--quiet",
        "--format",
        "json",
        "--seed",
        "5",
        "--only",
        "transport.no-store@browser",
        "--only",
        "cookie.http-only",
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    let keys: Vec<String> = json["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            format!(
                "{}@{}",
                r["id"].as_str().unwrap_or(""),
                r["mode"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        keys,
        ["cookie.http-only@browser", "transport.no-store@browser"]
    );

    let (code, _, err) = authprobe(&[
        "demo",
        "--modes",
        "--quiet",
        "--only",
        "cookie.http-only@admin",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("names no auth mode of the profile (its modes: api, browser)"),
        "{err}"
    );
    let (code, _, err) = authprobe(&["demo", "--quiet", "--only", "cookie.http-only@api"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn validate_warns_about_a_mode_no_selected_rule_can_run_in() {
    let p = parse_profile(&profile_with(API_MODE), Path::new("p.yaml"))
        .unwrap_or_else(|d| panic!("{d}"));
    let mut catalogue = spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
    assert!(p.idle_modes(&catalogue).is_empty());
    // Only rules that need a cookie session: the token-only mode `api` runs none of them.
    catalogue
        .rules
        .retain(|r| r.requires.contains(&spec::Capability::Session));
    assert_eq!(
        p.idle_modes(&catalogue),
        ["mode `api` provides nothing a selected rule requires: no rule will run in it"]
    );
}

#[test]
fn validate_warns_about_a_mode_flow_no_selected_rule_needs() {
    let with_logout = API_MODE.replace(
        "      from: access_token\n",
        "      from: access_token\n      logout:\n        - request: {method: POST, path: /api/token/logout}\n",
    );
    let p = parse_profile(&profile_with(&with_logout), Path::new("p.yaml"))
        .unwrap_or_else(|d| panic!("{d}"));
    let mut catalogue = spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
    catalogue
        .rules
        .retain(|r| !r.may_use(spec::Capability::TokenLogout));
    let warnings = p.unused_flows(&catalogue);
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("`modes.api.token.logout` is declared")),
        "{warnings:?}"
    );
}
