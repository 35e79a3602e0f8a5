//! A verdict rests on a control: "refused" is concluded only when the genuine action was shown
//! to work. Each test breaks one genuine action in front of the clean testbed (a layer that
//! refuses it) and checks that no rule reading a refusal from it passes: each says that its
//! control failed, or that there was nothing to test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use authprobe::testbed::{self, TestbedConfig};
use authprobe::{Report, Status};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::support::{SEED, details, result, run_at};

/// Which genuine action the layer in front of the testbed breaks.
#[derive(Clone, Copy, Debug)]
enum Broken {
    /// Every bearer-protected request after the first `n` (those of the run's preflight) is
    /// refused: the genuine access token stops working.
    GenuineTokenAfter(usize),
    /// Every session-protected request after the first `n` (those of the run's preflight)
    /// is refused: the genuine session stops working.
    GenuineSessionAfter(usize),
    /// Every refresh grant is refused with `invalid_grant`.
    RefreshGrant,
}

fn refused_token() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        "",
    )
        .into_response()
}

fn invalid_grant() -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"error":"invalid_grant"}"#,
    )
        .into_response()
}

async fn break_action(
    State((broken, seen)): State<(Broken, Arc<AtomicUsize>)>,
    req: Request,
    next: Next,
) -> Response {
    match broken {
        Broken::GenuineTokenAfter(n)
            if req.method() == Method::GET
                && req.uri().path() == "/api/token/me"
                && seen.fetch_add(1, Ordering::SeqCst) >= n =>
        {
            refused_token()
        }
        Broken::GenuineSessionAfter(n)
            if req.method() == Method::GET
                && req.uri().path() == "/api/me"
                && seen.fetch_add(1, Ordering::SeqCst) >= n =>
        {
            (StatusCode::UNAUTHORIZED, "").into_response()
        }
        Broken::RefreshGrant
            if req.method() == Method::POST && req.uri().path() == "/oauth/token" =>
        {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = to_bytes(body, 64 * 1024).await else {
                return invalid_grant();
            };
            if String::from_utf8_lossy(&bytes).contains("grant_type=refresh_token") {
                return invalid_grant();
            }
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => next.run(req).await,
    }
}

struct Service {
    url: String,
    task: JoinHandle<()>,
}

impl Service {
    async fn start(config: &TestbedConfig, broken: Broken) -> Self {
        let app = testbed::router(config.clone()).layer(axum::middleware::from_fn_with_state(
            (broken, Arc::new(AtomicUsize::new(0))),
            break_action,
        ));
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Service { url, task }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run_broken(broken: Broken, only: &[&str]) -> Report {
    let config = TestbedConfig::default();
    let service = Service::start(&config, broken).await;
    run_at(&service.url, &config, only, SEED)
        .await
        .unwrap_or_else(|e| panic!("{broken:?}: run failed: {e}"))
}

/// Checks that each of `ids` ran and did not pass: inconclusive or skipped, with a reason
/// containing one of `words`.
fn none_pass(report: &Report, ids: &[&str], words: &[&str]) {
    for id in ids {
        let r = result(report, id);
        assert!(
            matches!(r.status(), Status::Inconclusive | Status::Skip),
            "{}",
            details(r)
        );
        let reason = r.reason().unwrap_or_default();
        assert!(
            words.iter().any(|w| reason.contains(w)),
            "the reason names the failed control: {}",
            details(r)
        );
    }
}

/// The rules that conclude "the forged or altered token was refused".
const TOKEN_REFUSALS: [&str; 14] = [
    "jwt.alg-none-rejected",
    "jwt.signature-required",
    "jwt.tamper-rejected",
    "jwt.key-confusion-rejected",
    "jwt.embedded-key-rejected",
    "jwt.jku-rejected",
    "jwt.kid-injection-rejected",
    "jwt.psychic-signature-rejected",
    "jwt.expired-rejected",
    "jwt.not-before-enforced",
    "jwt.audience-enforced",
    "jwt.issuer-enforced",
    "jwt.not-in-url",
    "jwt.weak-secret",
];

/// Bearer-protected requests the preflight sends with the genuine token.
const PREFLIGHT_TOKEN_REQUESTS: usize = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_refusals_are_inconclusive_when_the_genuine_token_is_refused_too() {
    let report = run_broken(
        Broken::GenuineTokenAfter(PREFLIGHT_TOKEN_REQUESTS),
        &["jwt.*"],
    )
    .await;
    none_pass(
        &report,
        &TOKEN_REFUSALS,
        &["positive control failed: the untampered token was denied"],
    );
}

/// The rules that conclude "the retired, reused or revoked refresh token was refused".
const REFRESH_REFUSALS: [&str; 5] = [
    "refresh.rotated",
    "refresh.reuse-rejected",
    "refresh.reuse-revokes-family",
    "refresh.revoked-on-logout",
    "refresh.concurrent-reuse",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_refusals_are_inconclusive_when_no_refresh_grant_works() {
    let report = run_broken(Broken::RefreshGrant, &["refresh.*"]).await;
    none_pass(
        &report,
        &REFRESH_REFUSALS,
        &[
            "control",
            "genuine",
            "could not complete the set-up",
            "refresh grant",
        ],
    );
    // The rule about the grant itself sees it broken: a failure, not an inconclusive verdict.
    let issues = report
        .results
        .iter()
        .find(|r| r.id == "refresh.issues-new-access")
        .expect("refresh.issues-new-access ran");
    assert_eq!(issues.status(), Status::Fail, "{}", details(issues));
}

/// Session-protected requests the preflight sends with the genuine session.
const PREFLIGHT_SESSION_REQUESTS: usize = 1;

/// The rules that conclude "the altered, replayed, logged-out or forged session was refused"
/// (transport.csrf reads it from the session still working).
const SESSION_REFUSALS: [&str; 5] = [
    "session.tamper-rejected",
    "session.revoked-on-logout",
    "session.logout-everywhere",
    "session.not-in-url",
    "transport.csrf",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_refusals_are_inconclusive_when_the_genuine_session_is_refused_too() {
    let report = run_broken(
        Broken::GenuineSessionAfter(PREFLIGHT_SESSION_REQUESTS),
        &SESSION_REFUSALS,
    )
    .await;
    none_pass(&report, &SESSION_REFUSALS, &["control", "genuine"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_genuine_credential_refused_from_the_start_stops_the_run_with_the_reason() {
    for (broken, words) in [
        (
            Broken::GenuineTokenAfter(0),
            "token-protected request answered 401",
        ),
        (Broken::GenuineSessionAfter(0), "401"),
    ] {
        let config = TestbedConfig::default();
        let service = Service::start(&config, broken).await;
        let err = match run_at(&service.url, &config, &[], SEED).await {
            Ok(_) => panic!("{broken:?}: the run went on with a credential that never works"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(words), "{broken:?}: {err}");
    }
}
