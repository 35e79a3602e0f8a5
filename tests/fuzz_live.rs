//! `authprobe fuzz` against the in-process testbed: the 500 flaw is found quickly, an
//! accepting session store is found, and the clean testbed gives no finding.

use std::net::SocketAddr;
use std::time::Duration;

use authprobe::ClientConfig;
use authprobe::fuzzer::{FindingKind, FuzzOptions, FuzzReport, fuzz};
use authprobe::profile::Profile;
use authprobe::testbed::{self, Flaw, TestbedConfig};

async fn run(flaws: &[Flaw], seconds: u64) -> FuzzReport {
    let config = TestbedConfig {
        flaws: flaws.iter().copied().collect(),
        ..TestbedConfig::default()
    };
    let bed = testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .unwrap();
    let (target, client) = Profile::testbed(&bed.base_url())
        .and_then(|p| p.load_secrets())
        .unwrap_or_else(|d| panic!("{d}"))
        .resolve(ClientConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let options = FuzzOptions {
        seed: 11,
        duration: Duration::from_secs(seconds),
        concurrency: 4,
    };
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let report = fuzz(target, client, &options, rx, &|_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    bed.shutdown().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_token_500_is_found_with_a_replayable_value() {
    let r = run(&[Flaw::JwtMalformed500], 3).await;
    let f = r
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::ServerError && f.generator == "malformed_token")
        .unwrap_or_else(|| panic!("no 500 finding in {} cases: {:?}", r.cases, r.findings));
    let value = f
        .value
        .as_deref()
        .expect("a generated garbage token is shown as is");
    assert!(
        f.curl.contains(value),
        "the curl line replays the exact value: {}",
        f.curl
    );
    assert_eq!(r.exit_code(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_matches_prefixes_is_found_as_accepted_forgery() {
    let r = run(&[Flaw::SessionPrefixMatch], 3).await;
    assert!(
        r.findings
            .iter()
            .any(|f| f.kind == FindingKind::AcceptedForgery && f.generator == "mutated_session_id"),
        "{:?}",
        r.findings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_testbed_gives_no_finding() {
    let r = run(&[], 3).await;
    assert!(r.cases > 100, "{} cases", r.cases);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.stopped_by, "duration");
}
