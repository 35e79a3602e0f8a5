//! Helpers: start the testbed on 127.0.0.1:0 and run (part of) the catalogue against it.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use authprobe::engine::{self, Report, RunOptions, Status};
use authprobe::http::ClientConfig;
use authprobe::profile::Profile;
use authprobe::spec;
use authprobe::testbed::{self, Flaw, TestbedConfig};

/// Fixed seed so failures reproduce.
pub const SEED: u64 = 20261126;

/// Runs the rules matching `only` (all when empty) against a testbed with `flaws`.
pub async fn run(flaws: &[Flaw], only: &[&str]) -> Report {
    let config = TestbedConfig {
        flaws: flaws.iter().copied().collect::<BTreeSet<_>>(),
        ..TestbedConfig::default()
    };
    let bed = testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("testbed starts");
    let target = Profile::testbed(&bed.base_url())
        .and_then(|p| p.resolve())
        .unwrap_or_else(|d| panic!("{d}"));
    let catalogue = spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
    let options = RunOptions {
        seed: SEED,
        only: only.iter().map(|s| s.to_string()).collect(),
        ..RunOptions::default()
    };
    let report = engine::run(
        &catalogue,
        target,
        ClientConfig::default(),
        &options,
        &|_| {},
    )
    .await
    .unwrap_or_else(|e| panic!("run failed: {e}"));
    bed.shutdown().await;
    report
}

/// Panics with the rule's details unless it has `want`.
pub fn assert_status(report: &Report, id: &str, want: Status) {
    let r = report
        .results
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("rule {id} not in report"));
    assert_eq!(
        r.status, want,
        "{id}: expected {want:?}, got {:?}: reason {:?}, observed {:?}, notes {:?}",
        r.status, r.reason, r.observed, r.notes
    );
}
