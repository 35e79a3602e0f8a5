//! `model` rules: random sequences against the reference machines, shrunk counterexamples,
//! determinism under a seed, and semantics that come from the declared policy.

use authprobe::testbed::{Flaw, Quirk, TestbedConfig};
use authprobe::{Report, RuleResult, Status};

use crate::support::{SEED, assert_status, result, run, run_with};

async fn run_flaw(flaw: Flaw, only: &[&str], seed: u64) -> Report {
    run_with(
        TestbedConfig::default().with_flaw(flaw),
        only,
        seed,
        |t| t,
        |_| {},
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_testbed_agrees_with_both_models_over_64_sequences() {
    let report = run(&[], &["session.model", "refresh.*"]).await;
    for r in &report.results {
        assert_eq!(
            r.status(),
            Status::Pass,
            "{}: {:?} {:?}",
            r.id,
            r.reason(),
            r.notes
        );
    }
    for id in ["session.model", "refresh.model"] {
        let r = result(&report, id);
        assert!(
            r.notes
                .iter()
                .any(|n| n.starts_with("64 random sequences of up to 12")),
            "{id}: {:?}",
            r.notes
        );
        assert!(r.requests > 64, "{id} sent {} requests", r.requests);
    }
    // The refresh model exercised every kind of operation the testbed profile offers.
    let notes = result(&report, "refresh.model").notes.join("\n");
    for kind in [
        "login",
        "refresh",
        "reuse",
        "concurrent_refresh",
        "logout",
        "revoke",
        "access",
    ] {
        assert!(
            notes.contains(&format!("{kind} ")),
            "{kind} missing: {notes}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_keeps_session_gives_a_short_replay_counterexample() {
    let report = run_flaw(Flaw::LogoutKeepsSession, &["session.model"], SEED).await;
    let r = result(&report, "session.model");
    assert_eq!(r.status(), Status::Fail, "{:?}", r.reason());
    let c = r.counterexample().expect("counterexample");
    assert_eq!(c.seed, SEED);
    let ops: Vec<&str> = c.steps.iter().map(|s| s.operation.as_str()).collect();
    // login → logout → replay (shrunk to the minimum).
    assert_eq!(c.steps.len(), 3, "{ops:?}");
    assert!(ops[0].contains("logs in"), "{ops:?}");
    assert!(ops[1].contains("logs out"), "{ops:?}");
    assert!(ops[2].contains("replays"), "{ops:?}");
    let last = c.steps.last().unwrap();
    assert!(last.failing);
    assert_eq!(last.expected, "denied");
    assert!(last.observed.starts_with("allowed"), "{}", last.observed);
    let script = c.replay_script.as_deref().expect("replay script");
    assert!(script.starts_with("#!/bin/sh"));
    assert!(script.contains("PASSWORD_ALICE"), "{script}");
    assert!(
        !script.contains("alice-demo-password"),
        "secrets stay out: {script}"
    );
    assert!(script.contains("COOKIE_HOST_SESSION"), "{script}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_everywhere_partial_fails_the_session_model() {
    let report = run_flaw(Flaw::LogoutEverywherePartial, &["session.model"], SEED).await;
    let r = result(&report, "session.model");
    assert_eq!(r.status(), Status::Fail, "{:?}", r.reason());
    let c = r.counterexample().unwrap();
    assert!(
        c.steps.iter().any(|s| s.operation.contains("everywhere")),
        "{:?}",
        c.steps
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_counterexample() {
    let a = run_flaw(Flaw::RefreshReuseAccepted, &["refresh.model"], 7).await;
    let b = run_flaw(Flaw::RefreshReuseAccepted, &["refresh.model"], 7).await;
    let (a, b) = (result(&a, "refresh.model"), result(&b, "refresh.model"));
    assert_eq!(a.status(), Status::Fail, "{:?}", a.reason());
    let steps = |r: &RuleResult| {
        r.counterexample()
            .as_ref()
            .unwrap()
            .steps
            .iter()
            .map(|s| (s.operation.clone(), s.expected.clone(), s.observed.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(steps(a), steps(b));
    // The replay script takes tokens from the answers that issued them and secrets from the
    // environment; no credential is written into it.
    let script = a
        .counterexample()
        .as_ref()
        .unwrap()
        .replay_script
        .clone()
        .unwrap();
    assert!(script.contains("jq -r '.refresh_token'"), "{script}");
    assert!(script.contains("${CLIENT_BASIC}"), "{script}");
    assert!(!script.contains("authprobe-demo-client-secret"), "{script}");
    assert!(
        !script.contains("YXV0aHByb2JlLWRlbW86"),
        "no base64 client credentials: {script}"
    );
    assert!(!script.contains("eyJ"), "no JWT in the script: {script}");
    assert_eq!(
        a.counterexample().unwrap().case,
        b.counterexample().unwrap().case
    );
}

/// A declared policy turns failures into agreement where there is still something to test,
/// and into skips (never passes) where the declared semantics leave the rule nothing to check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_policy_turns_failures_into_passes_or_skips_with_the_reason() {
    let relaxed =
        |t: String| format!("{t}\npolicy:\n  refresh: {{rotation: optional, reuse: allow}}\n");
    let rules = &["refresh.rotated", "refresh.reuse-rejected", "refresh.model"];
    for flaw in [Flaw::RefreshNoRotation, Flaw::RefreshReuseAccepted] {
        let strict = run_flaw(flaw, rules, SEED).await;
        assert!(
            strict.results.iter().any(|r| r.status() == Status::Fail),
            "{flaw} fails under the default semantics"
        );
        let report = run_with(
            TestbedConfig::default().with_flaw(flaw),
            rules,
            SEED,
            relaxed,
            |_| {},
        )
        .await
        .unwrap();
        for r in &report.results {
            let expected = match (flaw, r.id.as_str()) {
                // Rotation is no longer required: nothing to check.
                (_, "refresh.rotated") => Status::Skip,
                // The flawed service never rotates: no token is ever retired to reuse.
                (Flaw::RefreshNoRotation, "refresh.reuse-rejected") => Status::Skip,
                _ => Status::Pass,
            };
            assert_eq!(r.status(), expected, "{flaw}: {}: {:?}", r.id, r.reason());
            if expected == Status::Skip {
                assert!(
                    r.reason()
                        .is_some_and(|w| w.contains("rotation") || w.contains("retired"))
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declaring_access_rejected_after_logout_fails_a_stateless_service_and_reports_the_window() {
    let stateless = TestbedConfig::default().with_quirk(Quirk::StatelessAccessTokens);
    let report =
        crate::support::run_config(stateless.clone(), &["refresh.revoked-on-logout"], SEED).await;
    let r = result(&report, "refresh.revoked-on-logout");
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("revocation window: the access token still worked")),
        "{:?}",
        r.notes
    );
    let report = run_with(
        stateless,
        &["refresh.revoked-on-logout"],
        SEED,
        |t| format!("{t}\npolicy:\n  refresh: {{access_after_logout: rejected}}\n"),
        |_| {},
    )
    .await
    .unwrap();
    assert_status(&report, "refresh.revoked-on-logout", Status::Fail);
    let r = result(&report, "refresh.revoked-on-logout");
    let c = r.counterexample().unwrap();
    assert!(
        c.steps
            .last()
            .unwrap()
            .operation
            .contains("protected request")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_endpoint_rule_reports_a_zero_window_for_revoked_access_tokens() {
    let report = run(&[], &["refresh.revocation-endpoint"]).await;
    let r = result(&report, "refresh.revocation-endpoint");
    assert_eq!(r.status(), Status::Pass, "{:?}", r.reason());
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("revocation window: 0")),
        "{:?}",
        r.notes
    );
}
