//! OAuth 2.0 / OpenID Connect profiles against the testbed's authorization server: discovery,
//! both grants, both client authentications, and the refusal to send credentials elsewhere.

use authprobe::testbed::TestbedConfig;
use authprobe::{RunError, Status};

use crate::support::{SEED, run_with};

fn with_client(text: String, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the testbed profile changed: {from}");
    text.replace(from, to)
}

const CLIENT: &str = "client: {id: authprobe-demo, secret: {public_demo: authprobe-demo-client-secret}, auth: basic}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_post_works_like_basic() {
    let report = run_with(
        TestbedConfig::default(),
        &["refresh.rotated", "refresh.revocation-endpoint", "jwt.expiry-present"],
        SEED,
        |t| {
            with_client(
                t,
                CLIENT,
                "client: {id: authprobe-demo, secret: {public_demo: authprobe-demo-client-secret}, auth: post}",
            )
        },
        |_| {},
    )
    .await
    .unwrap();
    for r in &report.results {
        assert_eq!(r.status(), Status::Pass, "{}: {:?}", r.id, r.reason());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_grant_tests_the_token_and_skips_refresh_rules() {
    let report = run_with(
        TestbedConfig::default(),
        &["jwt.alg-none-rejected", "jwt.expiry-present", "refresh.*"],
        SEED,
        |t| with_client(t, "grant: password", "grant: client_credentials"),
        |_| {},
    )
    .await
    .unwrap();
    for r in &report.results {
        if r.id.starts_with("refresh.") {
            assert_eq!(r.status(), Status::Skip, "{}: {:?}", r.id, r.reason());
            assert!(
                r.reason().as_deref().unwrap_or("").contains("refresh"),
                "{:?}",
                r.reason()
            );
        } else {
            assert_eq!(r.status(), Status::Pass, "{}: {:?}", r.id, r.reason());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_means_the_target_cannot_be_tested() {
    let err = run_with(
        TestbedConfig::default(),
        &["jwt.expiry-present"],
        SEED,
        |t| with_client(t, "authprobe-demo-client-secret", "not-the-secret"),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RunError::LoginFailed(_)), "{err}");
    assert_eq!(err.exit_code(), 3);
    assert!(!err.to_string().contains("not-the-secret"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovery_document_that_is_missing_stops_the_run() {
    let err = run_with(
        TestbedConfig::default(),
        &["jwt.expiry-present"],
        SEED,
        |t| {
            with_client(
                t,
                "discovery: /.well-known/openid-configuration",
                "discovery: /.well-known/no-such-document",
            )
        },
        |_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");
    assert!(err.to_string().contains("404"), "{err}");
}

/// The testbed profile without its cookie-session `flows`: a token-only service.
fn token_only(text: String) -> String {
    let start = text.find("\nsession:\n").expect("session section");
    let end = text
        .find("\n# Access tokens")
        .expect("token section comment");
    format!("{}{}", &text[..start], &text[end..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_only_profile_runs_the_token_rules_and_skips_the_session_rules() {
    let report = run_with(
        TestbedConfig::default(),
        &[
            "cookie.http-only",
            "session.model",
            "jwt.alg-none-rejected",
            "refresh.*",
            "transport.no-store",
        ],
        SEED,
        token_only,
        |t| assert!(t.flows.is_none(), "flows removed"),
    )
    .await
    .unwrap();
    assert_eq!(report.target.session_cookie, None);
    for r in &report.results {
        if r.id.starts_with("cookie.") || r.id.starts_with("session.") {
            assert_eq!(r.status(), Status::Skip, "{}: {:?}", r.id, r.reason());
            assert!(
                r.reason().as_deref().unwrap_or("").contains("session"),
                "{:?}",
                r.reason()
            );
        } else {
            assert_eq!(
                r.status(),
                Status::Pass,
                "{}: {:?} {:?}",
                r.id,
                r.reason(),
                r.notes
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rules_skip_when_the_login_returns_no_refresh_token() {
    // The refresh flow exists, but the extractor looks for a field the service never sends.
    let report = run_with(
        TestbedConfig::default(),
        &["refresh.rotated", "refresh.model"],
        SEED,
        |t| {
            with_client(
                t,
                "  from: access_token\n",
                "  from: access_token\n  refresh_from: rt\n  refresh:\n    - request: {method: POST, path: /oauth/token, headers: {Authorization: \"Basic {{client.basic}}\"}, form: {grant_type: refresh_token, refresh_token: \"{{rt}}\"}}\n      extract: {access_token: \"json:/access_token\", rt: \"?json:/no_such_field\"}\n  login:\n    - request: {method: POST, path: /oauth/token, headers: {Authorization: \"Basic {{client.basic}}\"}, form: {grant_type: password, username: \"{{user.username}}\", password: \"{{user.password}}\"}}\n      extract: {access_token: \"json:/access_token\", rt: \"?json:/no_such_field\"}\n",
            )
        },
        |_| {},
    )
    .await
    .unwrap();
    for r in &report.results {
        assert_eq!(r.status(), Status::Skip, "{}: {:?}", r.id, r.reason());
        assert!(
            r.reason()
                .as_deref()
                .unwrap_or("")
                .contains("no refresh token"),
            "{:?}",
            r.reason()
        );
    }
}
