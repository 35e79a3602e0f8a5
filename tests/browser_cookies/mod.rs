//! A browser as the oracle of the cookie model: `Set-Cookie` headers — the repository's corpus
//! and seeded generated ones — are served on loopback to headless Chromium, and what Chromium
//! sends back on follow-up requests to other paths, hosts and schemes is compared with what
//! authprobe's `CookieStore` predicts for the same responses in the same order.
//!
//! Every disagreement must be catalogued, with its reason, in
//! `tests/data/chromium-disagreements.txt` (the README lists them), and the agreement rate
//! must stay at or above [`MIN_AGREEMENT`].
//!
//! Chromium comes from the system packages (`.ci/install-chromium.sh`); `AUTHPROBE_CHROMIUM`
//! names another binary. Without a browser the test fails and says so, unless
//! `AUTHPROBE_SKIP_BROWSER=1`.
//!
//! Campaign mode (generated headers at scale, prints disagreements not yet catalogued):
//! `AUTHPROBE_BROWSER_CASES=2000 AUTHPROBE_BROWSER_SEED=7 cargo test --test tests
//! browser_cookies::campaign -- --ignored --nocapture`.

mod cases;
mod run;
mod server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cases::Case;
use run::{CaseResult, Harness};

/// The lowest agreement rate (agreeing cases / cases) the CI run accepts.
const MIN_AGREEMENT: f64 = 0.93;

/// Generated cases in the CI run, and their seed.
const CI_GENERATED: usize = 60;
const CI_SEED: u64 = 0x6265_6973;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The browser, or `None` when the run may skip (`AUTHPROBE_SKIP_BROWSER=1`); otherwise a
/// missing browser fails the test in words.
fn browser_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(b) = crate::support::find_browser() {
        return Some(b);
    }
    if std::env::var("AUTHPROBE_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        println!("{test}: skipped (AUTHPROBE_SKIP_BROWSER=1 and no Chromium found)");
        return None;
    }
    panic!(
        "{test}: no Chromium found: run .ci/install-chromium.sh, set AUTHPROBE_CHROMIUM to a \
         Chromium binary, or set AUTHPROBE_SKIP_BROWSER=1 to skip the browser differential"
    );
}

fn scratch_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir =
        std::env::temp_dir().join(format!("authprobe-cookies-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The catalogue: case key → reason.
fn catalogue() -> HashMap<String, String> {
    let path = root().join("tests/data/chromium-disagreements.txt");
    let text = std::fs::read_to_string(&path).expect("tests/data/chromium-disagreements.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (key, reason) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("catalogue line without a tab: {l:?}"));
            (key.to_owned(), reason.trim().to_owned())
        })
        .collect()
}

/// A disagreement in words: the case, and each request where the two sides differ.
fn describe(case: &Case, result: &CaseResult) -> String {
    let mut out = format!("{}\n  key: {}\n", case.origin, case.key());
    for h in &result.hops {
        if h.agrees() {
            continue;
        }
        let words = |c: &Option<Option<String>>| match c {
            None => "no request (the navigation stops before it)".to_owned(),
            Some(c) => format!("{c:?}"),
        };
        out.push_str(&format!(
            "  {} {}\n    authprobe predicts Cookie: {}\n    chromium sent Cookie:      {}\n",
            h.label,
            h.url,
            words(&h.predicted),
            words(&h.observed)
        ));
    }
    out
}

/// Runs `cases`; returns (agreeing, total, uncatalogued disagreements in words, catalogued
/// keys seen).
fn differential(browser: PathBuf, cases: &[Case]) -> (usize, usize, Vec<String>, Vec<String>) {
    let scratch = scratch_dir();
    let results = {
        let harness = Harness::new(&browser, &scratch.join("profile"));
        harness.run(cases)
    };
    let _ = std::fs::remove_dir_all(&scratch);
    assert_eq!(results.len(), cases.len(), "every case ran");
    let known = catalogue();
    let mut agree = 0;
    let mut new = Vec::new();
    let mut seen = Vec::new();
    for r in &results {
        let case = &cases[r.index];
        if r.agrees() {
            agree += 1;
        } else if known.contains_key(&case.key()) {
            seen.push(case.key());
        } else {
            new.push(describe(case, r));
        }
    }
    (agree, results.len(), new, seen)
}

/// The CI run: the corpus and [`CI_GENERATED`] generated cases.
#[test]
fn chromium_agrees_with_the_cookie_store_on_the_corpus() {
    let Some(browser) = browser_or_skip("browser_cookies") else {
        return;
    };
    let mut cases = cases::corpus(root());
    cases.extend(cases::generated(CI_SEED, CI_GENERATED));
    let started = std::time::Instant::now();
    let (agree, total, new, seen) = differential(browser, &cases);
    let rate = agree as f64 / total as f64;
    println!(
        "browser_cookies: chromium and authprobe agree on {agree} of {total} cases ({:.1} %), {} catalogued disagreements, {:.1} s",
        rate * 100.0,
        seen.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        new.is_empty(),
        "{} disagreements with chromium not in tests/data/chromium-disagreements.txt:\n{}",
        new.len(),
        new.join("\n")
    );
    assert!(
        rate >= MIN_AGREEMENT,
        "agreement {agree}/{total} below {MIN_AGREEMENT}"
    );
}

/// The campaign: `AUTHPROBE_BROWSER_CASES` generated cases (default 500) from
/// `AUTHPROBE_BROWSER_SEED` (default: the clock); prints every disagreement not catalogued.
#[test]
#[ignore = "campaign mode: AUTHPROBE_BROWSER_CASES=N cargo test --test tests browser_cookies::campaign -- --ignored --nocapture"]
fn campaign() {
    let Some(browser) = browser_or_skip("browser_cookies::campaign") else {
        return;
    };
    let count = std::env::var("AUTHPROBE_BROWSER_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let seed = std::env::var("AUTHPROBE_BROWSER_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(1)
        });
    let cases = cases::generated(seed, count);
    let (agree, total, new, seen) = differential(browser, &cases);
    println!(
        "campaign seed {seed}: agree on {agree} of {total} cases, {} catalogued disagreements, {} new",
        seen.len(),
        new.len()
    );
    for d in &new {
        println!("{d}");
    }
}
