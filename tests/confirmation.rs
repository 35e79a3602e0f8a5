//! Verdicts you can trust: a failure is reported only when it reproduces, a model sequence
//! survives a transport fault, the same seed gives the same cases and verdicts against a
//! service handing out random ids, and a mutation the service decodes to the same credential
//! is not a case.
//!
//! The flaky services here are the testbed behind a fault injector that misbehaves a fixed
//! number of times, so every test is deterministic: a layer that answers the first denied
//! protected request as allowed (a failure that does not reproduce), and a TCP proxy that
//! closes the connection of the first requests of one kind (a transport error).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use authprobe::testbed::{self, Flaw, Quirk, TestbedConfig};
use authprobe::{Inconclusive, Outcome, Report, Status};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::{SEED, details, result, run_at, run_config};

/// Takes one fault from `left`, if any is left.
fn take(left: &AtomicUsize) -> bool {
    left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// Answers the first denied (401) protected request, session or token, as allowed.
async fn flip_denial(State(left): State<Arc<AtomicUsize>>, req: Request, next: Next) -> Response {
    let protected =
        req.method() == Method::GET && matches!(req.uri().path(), "/api/me" | "/api/token/me");
    let response = next.run(req).await;
    if protected && response.status() == StatusCode::UNAUTHORIZED && take(&left) {
        let body = r#"{"user":"alice","note":"injected once by the test"}"#;
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    response
}

/// The testbed with `config`, served on loopback behind the fault injectors: `flips` denied
/// protected requests answered as allowed, and the connection closed without an answer on
/// the first `hangups` requests whose request line starts with `hangup_line`.
struct FlakyService {
    url: String,
    tasks: Vec<JoinHandle<()>>,
}

impl FlakyService {
    async fn start(config: &TestbedConfig, flips: usize, hangup: (&'static str, usize)) -> Self {
        let left = Arc::new(AtomicUsize::new(flips));
        let app = testbed::router(config.clone())
            .layer(axum::middleware::from_fn_with_state(left, flip_denial));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let upstream = listener.local_addr().expect("addr");
        let mut tasks = vec![tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        })];
        let front = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", front.local_addr().expect("addr"));
        let (line, hangups) = hangup;
        let left = Arc::new(AtomicUsize::new(hangups));
        tasks.push(tokio::spawn(async move {
            while let Ok((client, _)) = front.accept().await {
                tokio::spawn(relay(client, upstream, line, left.clone()));
            }
        }));
        FlakyService { url, tasks }
    }
}

impl Drop for FlakyService {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Relays one connection to `upstream`; a request whose first bytes are `line` closes both
/// sides without an answer while hang-ups are left.
async fn relay(client: TcpStream, upstream: SocketAddr, line: &str, left: Arc<AtomicUsize>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if !line.is_empty() && buf[..n].starts_with(line.as_bytes()) && take(&left) {
                return;
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let down = tokio::io::copy(&mut sr, &mut cw);
    tokio::select! {
        () = up => {}
        _ = down => {}
    }
}

/// Runs `only` once against the testbed with `config` behind `flips` flipped denials.
async fn run_flaky(config: TestbedConfig, flips: usize, only: &[&str]) -> Report {
    let service = FlakyService::start(&config, flips, ("", 0)).await;
    run_at(&service.url, &config, only, SEED)
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}"))
}

const ONE_OF_EACH_KIND: [&str; 4] = [
    "session.tamper-rejected",
    "session.revoked-on-logout",
    "jwt.alg-none-rejected",
    "session.model",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_that_does_not_reproduce_is_inconclusive_with_both_observations() {
    for id in ONE_OF_EACH_KIND {
        let report = run_flaky(TestbedConfig::default(), 1, &[id]).await;
        let r = result(&report, id);
        let Outcome::Inconclusive(Inconclusive::NotReproduced { first, rerun }) = &r.outcome else {
            panic!("{}", details(r));
        };
        // The would-be failure saw the injected "allowed"; the re-run saw the real refusal.
        assert!(first.observed.contains("allowed"), "{}", details(r));
        assert!(!rerun.contains("(status 200)"), "{}", details(r));
        assert!(
            r.notes
                .iter()
                .any(|n| n.starts_with("failed once, passed on re-run")),
            "{}",
            details(r)
        );
        assert!(r.observed().is_some() && r.expected().is_some(), "{id}");
        assert!(
            r.evidence.iter().any(|e| e.step.starts_with("re-run: ")),
            "{id}: the re-run's transcript is evidence"
        );
        assert!(
            r.evidence.iter().any(|e| !e.step.starts_with("re-run: ")),
            "{id}: the first run's transcript is evidence"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_flaw_stays_a_failure_confirmed_on_re_run() {
    let cases = [
        (Flaw::SessionPrefixMatch, "session.tamper-rejected"),
        (Flaw::LogoutKeepsSession, "session.revoked-on-logout"),
        (Flaw::JwtAlgNone, "jwt.alg-none-rejected"),
        (Flaw::LogoutKeepsSession, "session.model"),
        (Flaw::RefreshReuseAccepted, "refresh.model"),
    ];
    for (flaw, id) in cases {
        let report = run_config(TestbedConfig::default().with_flaw(flaw), &[id], SEED).await;
        let r = result(&report, id);
        assert_eq!(r.status(), Status::Fail, "{flaw}: {}", details(r));
        assert!(
            r.notes.iter().any(|n| n.starts_with("confirmed: ")),
            "{flaw}: {}",
            details(r)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaw_behind_a_flaky_answer_is_still_found_and_confirmed() {
    // The injected acceptance is seen first and does not reproduce; the search goes on to
    // the real disagreement, which does.
    let config = TestbedConfig::default().with_flaw(Flaw::LogoutKeepsSession);
    let report = run_flaky(config, 1, &["session.model"]).await;
    let r = result(&report, "session.model");
    assert_eq!(r.status(), Status::Fail, "{}", details(r));
    assert!(
        r.notes.iter().any(|n| n.starts_with("confirmed: ")),
        "{}",
        details(r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_sequence_stopped_by_a_transport_error_is_run_again() {
    // Two hang-ups: one for a client that resends the request itself, one more for the
    // sequence's own re-run; the third run of that sequence completes.
    let config = TestbedConfig::default();
    let service = FlakyService::start(&config, 0, ("POST /api/logout ", 2)).await;
    let report = run_at(&service.url, &config, &["session.model"], SEED)
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}"));
    let r = result(&report, "session.model");
    assert_eq!(r.status(), Status::Pass, "{}", details(r));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("stopped on a transport error and were run again")),
        "{}",
        details(r)
    );
}

/// What a run concluded, with the random characters of ids masked: per rule, the status,
/// the case-list fingerprint note, and the counterexample's case number and input (quoted
/// characters masked, and the bit a flip used: which bits of a character give another
/// cookie-octet depends on the character).
fn masked_verdicts(report: &Report) -> Vec<String> {
    let bits = regex::Regex::new(r"bit [0-9]+").expect("a regex");
    let mask = |s: &str| {
        let s = bits.replace_all(s, "bit ?");
        let mut out = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            out.push(c);
            if c == '\'' && chars.peek().is_some() {
                let inner = chars.next().unwrap_or('?');
                if chars.peek() == Some(&'\'') {
                    out.push('?');
                } else {
                    out.push(inner);
                }
            }
        }
        out
    };
    report
        .results
        .iter()
        .map(|r| {
            let fingerprint = r
                .notes
                .iter()
                .find(|n| n.starts_with("case list fingerprint"));
            let counterexample = r.counterexample().map(|c| {
                let input: Vec<String> = c.input.iter().map(|i| mask(i)).collect();
                format!("case {}: {}", c.case, input.join(" / "))
            });
            format!(
                "{} {:?} {fingerprint:?} {counterexample:?}",
                r.id,
                r.status()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_cases_and_verdicts_against_random_ids() {
    let configs = [
        TestbedConfig::default(),
        TestbedConfig::default().with_flaw(Flaw::SessionPrefixMatch),
        TestbedConfig::default()
            .with_flaw(Flaw::SessionPrefixMatch)
            .with_quirk(Quirk::PercentEncodedCookie),
    ];
    let only = [
        "session.*",
        "jwt.tamper-rejected",
        "refresh.concurrent-reuse",
    ];
    for config in configs {
        let first = run_config(config.clone(), &only, SEED).await;
        let second = run_config(config.clone(), &only, SEED).await;
        assert_ne!(
            first.target.session_cookie, None,
            "the runs used a session cookie"
        );
        assert_eq!(
            masked_verdicts(&first),
            masked_verdicts(&second),
            "{config:?}"
        );
        let tamper = result(&first, "session.tamper-rejected");
        assert!(
            tamper
                .notes
                .iter()
                .any(|n| n.starts_with("case list fingerprint")),
            "{}",
            details(tamper)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timing_dependent_verdicts_name_the_observed_rate() {
    let clean = run_config(
        TestbedConfig::default(),
        &["refresh.concurrent-reuse"],
        SEED,
    )
    .await;
    let r = result(&clean, "refresh.concurrent-reuse");
    assert_eq!(r.status(), Status::Pass, "{}", details(r));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("timing-dependent verdict") && n.contains("in all 5 runs")),
        "{}",
        details(r)
    );
    let config = TestbedConfig::default().with_flaw(Flaw::RefreshConcurrentDoubleSpend);
    let flawed = run_config(config, &["refresh.concurrent-reuse"], SEED).await;
    let r = result(&flawed, "refresh.concurrent-reuse");
    assert_eq!(r.status(), Status::Fail, "{}", details(r));
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("confirmed: ") && n.contains("timing-dependent verdict")),
        "{}",
        details(r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percent_encoded_session_ids_are_not_tampered_with_by_equivalent_escapes() {
    // `%2B` → `%2b` decodes to the same session: seeds 1..=20 pass (they failed on 2 and 9).
    let quirk = TestbedConfig::default().with_quirk(Quirk::PercentEncodedCookie);
    for seed in 1..=20 {
        let report = run_config(quirk.clone(), &["session.tamper-rejected"], seed).await;
        let r = result(&report, "session.tamper-rejected");
        assert_eq!(r.status(), Status::Pass, "seed {seed}: {}", details(r));
    }
    // A store that matches a prefix still fails, with and without the quirk.
    for config in [
        TestbedConfig::default().with_flaw(Flaw::SessionPrefixMatch),
        quirk.with_flaw(Flaw::SessionPrefixMatch),
    ] {
        for seed in 1..=3 {
            let report = run_config(config.clone(), &["session.tamper-rejected"], seed).await;
            let r = result(&report, "session.tamper-rejected");
            assert_eq!(r.status(), Status::Fail, "seed {seed}: {}", details(r));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_transient_faults_a_flaw_still_fails_confirmed_on_re_run() {
    // One rule of each kind that re-runs its case: cookie and token checks, property,
    // scenario, attack, model and a transport check that sends its own requests.
    let cases = [
        (Flaw::CookieNoHttpOnly, "cookie.http-only"),
        (Flaw::JwtNoExp, "jwt.expiry-present"),
        (Flaw::SessionPrefixMatch, "session.tamper-rejected"),
        (Flaw::LogoutKeepsSession, "session.revoked-on-logout"),
        (Flaw::JwtAlgNone, "jwt.alg-none-rejected"),
        (Flaw::RefreshReuseAccepted, "refresh.model"),
        (Flaw::CsrfUnprotected, "transport.csrf"),
    ];
    for (flaw, id) in cases {
        let config = TestbedConfig::default()
            .with_quirk(Quirk::TransientFaults)
            .with_flaw(flaw);
        let report = run_config(config, &[id], SEED).await;
        let r = result(&report, id);
        assert_eq!(r.status(), Status::Fail, "{flaw}: {}", details(r));
        assert!(
            r.notes.iter().any(|n| n.starts_with("confirmed: ")),
            "{flaw}: {}",
            details(r)
        );
    }
}
