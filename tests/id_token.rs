//! ID tokens: when the token login answers with an OpenID Connect ID token, the payload,
//! lifetime and forgery rules judge it beside the access token and say so per token; a login
//! without one changes nothing. One testbed per test, few rules each.

use authprobe::testbed::{Flaw, Quirk, TestbedConfig};
use authprobe::{Report, Status, TokenRole};

use crate::support::{SEED, details, result, run_with};

fn config(flaws: &[Flaw], quirks: &[Quirk]) -> TestbedConfig {
    TestbedConfig {
        flaws: flaws.iter().copied().collect(),
        quirks: quirks.iter().copied().collect(),
        ..TestbedConfig::default()
    }
}

async fn run(config: TestbedConfig, only: &[&str], edit: impl Fn(String) -> String) -> Report {
    run_with(config, only, SEED, edit, |_| {})
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Asserts rule `id` has exactly the parts `want` (access token, ID token) and returns it.
fn parts<'a>(report: &'a Report, id: &str, want: [Status; 2]) -> &'a authprobe::RuleResult {
    let r = result(report, id);
    let got: Vec<(TokenRole, Status)> = r.tokens.iter().map(|p| (p.token, p.status)).collect();
    assert_eq!(
        got,
        [
            (TokenRole::AccessToken, want[0]),
            (TokenRole::IdToken, want[1])
        ],
        "{}",
        details(r)
    );
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_on_the_id_token_names_it_and_the_access_token_part_passes() {
    let flaws = [
        Flaw::IdTokenSecretInPayload,
        Flaw::IdTokenLongLived,
        Flaw::IdTokenSignatureUnchecked,
    ];
    let only = [
        "jwt.payload-no-secrets",
        "jwt.short-lived",
        "jwt.signature-required",
    ];
    let report = run(config(&flaws, &[]), &only, |t| t).await;
    for id in only {
        let r = parts(&report, id, [Status::Pass, Status::Fail]);
        assert_eq!(r.status(), Status::Fail);
        let observed = r.observed().unwrap_or_default();
        assert!(observed.starts_with("ID token: "), "{}", details(r));
        assert!(r.evidence.iter().all(|e| e.step.starts_with("ID token: ")));
    }
    let json = serde_json::to_value(result(&report, "jwt.short-lived")).unwrap();
    assert_eq!(json["tokens"][1]["token"], "id_token");
    assert_eq!(json["tokens"][1]["status"], "fail");
    assert_eq!(json["status"], "fail", "the v1 fields stay");
}

const PERSONAL: &str = "jwt.payload-no-personal-data";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_claims_in_the_id_token_pass_by_default_and_fail_when_the_policy_forbids_them() {
    let report = run(config(&[], &[]), &[PERSONAL], |t| t).await;
    let r = parts(&report, PERSONAL, [Status::Pass, Status::Pass]);
    assert!(
        r.tokens[1].summary.contains("/email"),
        "the pass says which standard claims it allowed: {}",
        details(r)
    );
    let forbid = |list: &'static str| {
        move |t: String| format!("{t}\npolicy:\n  id_token_personal_claims: {list}\n")
    };
    let report = run(config(&[], &[]), &[PERSONAL], forbid("[]")).await;
    let r = parts(&report, PERSONAL, [Status::Pass, Status::Fail]);
    let observed = r.observed().unwrap_or_default();
    assert!(
        observed.starts_with("ID token: ") && observed.contains("/email"),
        "{}",
        details(r)
    );
    let report = run(config(&[], &[]), &[PERSONAL], forbid("[email, name]")).await;
    parts(&report, PERSONAL, [Status::Pass, Status::Pass]);
}

/// The rules that judge ID tokens, one of each kind.
const JUDGING: [&str; 5] = [
    "jwt.payload-no-secrets",
    "jwt.short-lived",
    "jwt.weak-secret",
    "jwt.alg-none-rejected",
    "jwt.tamper-rejected",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_without_an_id_token_changes_nothing() {
    let no_openid = |t: String| t.replace("    scope: openid profile\n", "");
    let report = run(config(&[], &[]), &JUDGING, no_openid).await;
    for r in &report.results {
        assert_eq!(r.status(), Status::Pass, "{}", details(r));
        assert!(r.tokens.is_empty(), "no ID-token part: {}", details(r));
        assert!(
            !r.notes.iter().any(|n| n.contains("ID token")),
            "{}",
            details(r)
        );
    }
    let json = serde_json::to_value(&report.results[0]).unwrap();
    assert!(json.get("tokens").is_none(), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_place_that_accepts_id_tokens_the_forgeries_skip_the_id_token_with_the_reason() {
    let no_rp = |t: String| {
        let start = t
            .find("  id_token_login:")
            .expect("the demo profile declares it");
        let end = start + t[start..].find("  logout:").expect("then the logout");
        format!("{}{}", &t[..start], &t[end..])
    };
    let report = run(config(&[], &[]), &JUDGING, no_rp).await;
    for id in [
        "jwt.alg-none-rejected",
        "jwt.tamper-rejected",
        "jwt.weak-secret",
    ] {
        let r = parts(&report, id, [Status::Pass, Status::Skip]);
        assert_eq!(r.status(), Status::Pass);
        assert!(
            r.tokens[1].summary.contains("token.id_token_login"),
            "{}",
            details(r)
        );
    }
    for id in ["jwt.payload-no-secrets", "jwt.short-lived"] {
        parts(&report, id, [Status::Pass, Status::Pass]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_opaque_access_tokens_the_id_token_is_still_judged() {
    let quirks = [Quirk::OpaqueAccessTokens];
    let only = ["jwt.payload-no-secrets", "jwt.weak-secret"];
    let flaws = [Flaw::IdTokenSecretInPayload, Flaw::JwtWeakSecret];
    let report = run(config(&flaws, &quirks), &only, |t| t).await;
    for id in only {
        let r = parts(&report, id, [Status::Skip, Status::Fail]);
        assert_eq!(r.status(), Status::Fail, "{}", details(r));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_written_id_token_extractor_is_used_and_one_that_finds_nothing_stops_the_run() {
    let at = |pointer: &'static str| {
        move |t: String| {
            t.replace(
                "  from: access_token\n",
                &format!("  from: access_token\n  id_token: \"json:{pointer}\"\n"),
            )
        }
    };
    let report = run(config(&[], &[]), &["jwt.short-lived"], at("/id_token")).await;
    parts(&report, "jwt.short-lived", [Status::Pass, Status::Pass]);
    let err = run_with(
        config(&[], &[]),
        &["jwt.short-lived"],
        SEED,
        at("/nope"),
        |_| {},
    )
    .await
    .expect_err("the login does not give what the profile says");
    assert!(err.to_string().contains("id_token"), "{err}");
}
