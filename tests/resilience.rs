//! Resilience: transient faults (`--quirk transient-faults`) and slow logins
//! (`--quirk slow-logins`) leave the verdicts right, and the profile's `limits.concurrency`
//! bounds the rules in flight.
//!
//! Still outside what these tests hold to: `session.model` and `refresh.model` under transient
//! faults. Their sequences send many POSTs (logouts, refresh grants, revocations) that the
//! client may not retry, and a sequence that meets a hang-up in both runs of the rule still
//! ends in an error (or, after a 503 met twice, a failure); making those sequences retry is
//! the model driver's business.

use std::collections::BTreeSet;

use authprobe::Status;
use authprobe::testbed::{Flaw, Quirk, TestbedConfig};

use crate::support::{SEED, assert_status, run_with};

/// A testbed configuration with these flaws and quirks.
fn config(flaws: &[Flaw], quirks: &[Quirk]) -> TestbedConfig {
    TestbedConfig {
        flaws: flaws.iter().copied().collect::<BTreeSet<_>>(),
        quirks: quirks.iter().copied().collect::<BTreeSet<_>>(),
        ..TestbedConfig::default()
    }
}

/// The catalogue's rule ids except the model rules.
fn every_rule_but_the_models() -> Vec<String> {
    authprobe::spec::builtin_catalogue()
        .expect("catalogue")
        .rules
        .iter()
        .map(|r| r.id.to_string())
        .filter(|id| !id.ends_with(".model"))
        .collect()
}

#[tokio::test]
async fn transient_faults_leave_every_rule_but_the_models_passing() {
    let only = every_rule_but_the_models();
    let only: Vec<&str> = only.iter().map(String::as_str).collect();
    let report = run_with(
        config(&[], &[Quirk::TransientFaults]),
        &only,
        SEED,
        |p| p,
        |_| {},
    )
    .await
    .expect("the run completes");
    let not_passing: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status() != Status::Pass)
        .map(|r| format!("{} {:?}: {:?}", r.id, r.status(), r.reason()))
        .collect();
    assert!(not_passing.is_empty(), "{not_passing:#?}");
}

#[tokio::test]
async fn transient_faults_keep_a_flaw_failing() {
    let report = run_with(
        config(&[Flaw::LogoutKeepsSession], &[Quirk::TransientFaults]),
        &["session.revoked-on-logout", "session.rotated-on-login"],
        SEED,
        |p| p,
        |_| {},
    )
    .await
    .expect("the run completes");
    assert_status(&report, "session.revoked-on-logout", Status::Fail);
    assert_status(&report, "session.rotated-on-login", Status::Pass);
}

#[tokio::test]
async fn slow_logins_with_a_one_second_timeout_end_in_no_timeout() {
    // 8 rules and 8 cases in flight queue up to 15 logins of 150 ms at the one worker: more
    // than a second. The run raises the timeout to the measured queue instead of timing out.
    let only = [
        "session.id-entropy",
        "session.rotated-on-login",
        "session.revoked-on-logout",
        "session.not-in-url",
    ];
    let report = run_with(
        config(&[], &[Quirk::SlowLogins]),
        &only,
        SEED,
        |p| format!("{p}limits: {{timeout: 1s}}\n"),
        |_| {},
    )
    .await
    .expect("the run completes");
    for id in only {
        assert_status(&report, id, Status::Pass);
    }
    let limits = &report.target.limits;
    assert!(
        limits.login_latency_ms.is_some_and(|l| l >= 150),
        "{limits:?}"
    );
    assert!(limits.timeout_ms > 1000, "{limits:?}");
    assert!(
        limits.notes.iter().any(|n| n.contains("instead of 1 s")),
        "{limits:?}"
    );
}

#[tokio::test]
async fn limits_concurrency_bounds_the_rules_in_flight() {
    let report = run_with(
        TestbedConfig::default(),
        &["cookie.*"],
        SEED,
        |p| format!("{p}limits: {{concurrency: 2}}\n"),
        |_| {},
    )
    .await
    .expect("the run completes");
    let limits = &report.target.limits;
    assert_eq!((limits.rules_in_flight, limits.cases_in_flight), (2, 2));
    assert!(
        limits
            .notes
            .iter()
            .any(|n| n.contains("limits.concurrency")),
        "{limits:?}"
    );
    assert!(report.results.iter().all(|r| r.status() == Status::Pass));
}
