//! When the probe client sends a request a second time, and when it pauses before new ones.
//!
//! This file owns the two resilience policies of the client, as pure decisions over what one
//! attempt got (the client in `mod.rs` carries them out):
//!
//! - **Retry once** ([`plan`]). A `503` or `429` answer whose `Retry-After` is absent, invalid
//!   or at most [`MAX_RETRY_AFTER`] is retried for any method after that delay (or
//!   [`RETRY_BACKOFF`] without one): the server says it did not process the request. A
//!   transport failure (connection refused, reset or closed before an answer, a broken body,
//!   a timeout) is retried after [`RETRY_BACKOFF`] for idempotent methods only (GET, HEAD,
//!   OPTIONS, PUT, DELETE) — a POST may have been processed — and for requests the caller
//!   declared safe to repeat (logins, see `Client::set_repeatable_bodies`). Never more than once, never to
//!   another URL (so never to another origin), never past the request budget, and a redirect
//!   is an answer like any other (never followed, never retried).
//! - **Back off** ([`Backoff`]). After a timeout or a 5xx answer (or a 429), every clone of the
//!   client waits before sending anything new: for the answer's own `Retry-After` when it is at
//!   most [`MAX_RETRY_AFTER`] (the server's word, `0` included), otherwise for [`FAULT_PAUSE`]
//!   — but at most one such pause starts in any [`FAULT_PAUSE_EVERY`], so a service that
//!   answers 500 to every malformed token slows a run by a tenth at most. Pauses overlap,
//!   they do not add up: a burst of faults costs one pause, not one each.
//!
//! It must not know rules, verdicts or what a request is for.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::time::Instant;

use super::{Exchange, HttpError, Response};

/// Longest `Retry-After` the client waits for: a longer one is not retried (the answer
/// stands), and pauses the client for [`FAULT_PAUSE`] only.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);
/// Wait before a retry when the server gave no usable `Retry-After`, and before retrying a
/// transport failure.
pub const RETRY_BACKOFF: Duration = Duration::from_millis(200);
/// Shared pause before new requests after a timeout or a 5xx answer without a usable
/// `Retry-After`.
pub const FAULT_PAUSE: Duration = Duration::from_millis(50);
/// At most one [`FAULT_PAUSE`] starts in this long.
pub const FAULT_PAUSE_EVERY: Duration = Duration::from_millis(500);

/// Why a request was sent a second time. The exchange that carries it is the second
/// attempt's; the first attempt's answer is not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retried {
    /// What the first attempt got, e.g. `503 with Retry-After: 0` or `connection closed
    /// before message completed`.
    pub first: String,
    /// How long the client waited before the second attempt, in milliseconds.
    pub delay_ms: u64,
}

/// A decided retry: how long to wait and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    /// Wait before the second attempt.
    pub delay: Duration,
    /// What the first attempt got (a lowercase phrase).
    pub first: String,
}

impl Plan {
    /// The record the retried exchange carries.
    pub fn record(&self) -> Retried {
        Retried {
            first: self.first.clone(),
            delay_ms: u64::try_from(self.delay.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// What a `Retry-After` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryAfter {
    /// No header, or one that is neither delay-seconds nor an HTTP-date (ignored, RFC 9110
    /// §10.2.3).
    Absent,
    /// Wait this long (an HTTP-date in the past is zero).
    Wait(Duration),
}

/// The `Retry-After` of a response, relative to `now` for an HTTP-date.
fn retry_after(response: &Response, now: SystemTime) -> RetryAfter {
    let Some(value) = response.header("retry-after").map(str::trim) else {
        return RetryAfter::Absent;
    };
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is a very long wait.
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return RetryAfter::Wait(Duration::from_secs(secs));
    }
    match httpdate::parse_http_date(value) {
        Ok(at) => RetryAfter::Wait(at.duration_since(now).unwrap_or(Duration::ZERO)),
        Err(_) => RetryAfter::Absent,
    }
}

/// True for a status whose answer says the request was not processed (and may be retried).
fn says_not_processed(status: u16) -> bool {
    status == 503 || status == 429
}

/// True for the methods RFC 9110 §9.2.2 calls idempotent that authprobe sends.
fn idempotent(method: &str) -> bool {
    ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]
        .iter()
        .any(|m| method.eq_ignore_ascii_case(m))
}

/// Whether (and after what wait) to send a request of `method` again after `first`;
/// `repeatable` says the request is safe to repeat whatever its method (a login).
pub(super) fn plan(
    method: &str,
    repeatable: bool,
    first: &Result<Exchange, HttpError>,
) -> Option<Plan> {
    match first {
        Ok(ex) if says_not_processed(ex.response.status) => {
            let status = ex.response.status;
            match retry_after(&ex.response, SystemTime::now()) {
                RetryAfter::Absent => Some(Plan {
                    delay: RETRY_BACKOFF,
                    first: format!("{status} without a usable Retry-After"),
                }),
                RetryAfter::Wait(d) if d <= MAX_RETRY_AFTER => Some(Plan {
                    delay: d,
                    first: format!("{status} with Retry-After: {}", d.as_secs()),
                }),
                RetryAfter::Wait(_) => None,
            }
        }
        Ok(_) => None,
        Err(e) if e.kind.is_transport() && (repeatable || idempotent(method)) => Some(Plan {
            delay: RETRY_BACKOFF,
            first: e.message.clone(),
        }),
        Err(_) => None,
    }
}

/// A pause an attempt's result calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pause {
    /// The server's own `Retry-After` (at most [`MAX_RETRY_AFTER`]): always kept.
    Asked(Duration),
    /// [`FAULT_PAUSE`], at most once in [`FAULT_PAUSE_EVERY`].
    Fault,
}

/// The shared pause an attempt's result calls for, if any.
fn pause_for(result: &Result<Exchange, HttpError>) -> Option<Pause> {
    match result {
        Ok(ex) if ex.response.is_server_error() || ex.response.status == 429 => {
            match retry_after(&ex.response, SystemTime::now()) {
                RetryAfter::Wait(d)
                    if says_not_processed(ex.response.status) && d <= MAX_RETRY_AFTER =>
                {
                    Some(Pause::Asked(d))
                }
                _ => Some(Pause::Fault),
            }
        }
        Err(e) if e.kind == super::HttpErrorKind::Timeout => Some(Pause::Fault),
        _ => None,
    }
}

/// The shared pause: no clone of the client sends a new request before it ends.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    state: Mutex<BackoffState>,
}

#[derive(Debug, Default)]
struct BackoffState {
    /// When the current pause ends.
    until: Option<Instant>,
    /// When the last [`Pause::Fault`] started.
    last_fault: Option<Instant>,
}

impl Backoff {
    /// Waits until the current pause (if any) is over.
    pub async fn wait(&self) {
        let until = self.state().until;
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
    }

    /// Extends the pause for what an attempt got (a pause never shortens another).
    pub fn observe(&self, result: &Result<Exchange, HttpError>) {
        let Some(pause) = pause_for(result) else {
            return;
        };
        let now = Instant::now();
        let mut state = self.state();
        let length = match pause {
            Pause::Asked(d) => d,
            Pause::Fault
                if state
                    .last_fault
                    .is_some_and(|t| now < super::later(t, FAULT_PAUSE_EVERY)) =>
            {
                return;
            }
            Pause::Fault => {
                state.last_fault = Some(now);
                FAULT_PAUSE
            }
        };
        let end = super::later(now, length);
        state.until = Some(state.until.map_or(end, |u| u.max(end)));
    }

    fn state(&self) -> std::sync::MutexGuard<'_, BackoffState> {
        // Every update leaves a consistent state: a poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the current pause ends (`None` when there has been none).
    #[cfg(test)]
    fn until(&self) -> Option<Instant> {
        self.state().until
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::any;
    use url::Url;

    use super::super::{Client, ClientConfig, HttpErrorKind, ProbeRequest};
    use super::*;

    fn answer(status: u16, retry_after: Option<&str>) -> Result<Exchange, HttpError> {
        let mut headers = Vec::new();
        if let Some(v) = retry_after {
            headers.push(("retry-after".to_owned(), v.to_owned()));
        }
        Ok(Exchange {
            request: ProbeRequest::get(Url::parse("http://127.0.0.1/").unwrap()),
            response: Response {
                status,
                headers,
                body: Vec::new(),
                truncated: false,
            },
            elapsed_ms: 1,
            retried: None,
        })
    }

    fn failure(kind: HttpErrorKind) -> Result<Exchange, HttpError> {
        Err(HttpError::new(
            kind,
            "http://127.0.0.1/",
            "connection reset",
        ))
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_ignores_garbage() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let r = |v: &str| match answer(503, Some(v)) {
            Ok(ex) => retry_after(&ex.response, now),
            Err(_) => unreachable!(),
        };
        assert_eq!(r("0"), RetryAfter::Wait(Duration::ZERO));
        assert_eq!(r(" 2 "), RetryAfter::Wait(Duration::from_secs(2)));
        assert_eq!(
            r("99999999999999999999999"),
            RetryAfter::Wait(Duration::from_secs(u64::MAX))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(1));
        assert_eq!(r(&later), RetryAfter::Wait(Duration::from_secs(1)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(60));
        assert_eq!(r(&earlier), RetryAfter::Wait(Duration::ZERO));
        assert_eq!(r("-1"), RetryAfter::Absent);
        assert_eq!(r("soon"), RetryAfter::Absent);
    }

    #[test]
    fn unavailable_and_too_many_requests_are_retried_for_any_method() {
        for status in [503, 429] {
            for method in ["POST", "GET", "PATCH"] {
                let p = plan(method, false, &answer(status, Some("0"))).expect("retried");
                assert_eq!(p.delay, Duration::ZERO);
                assert_eq!(p.first, format!("{status} with Retry-After: 0"));
                let p = plan(method, false, &answer(status, None)).expect("retried");
                assert_eq!(p.delay, RETRY_BACKOFF);
            }
        }
        assert_eq!(
            plan("POST", false, &answer(503, Some("2"))).map(|p| p.delay),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn a_long_retry_after_and_other_statuses_are_not_retried() {
        assert_eq!(plan("GET", false, &answer(503, Some("3"))), None);
        for status in [200, 302, 401, 404, 500, 502, 504] {
            assert_eq!(plan("GET", false, &answer(status, None)), None, "{status}");
        }
    }

    #[test]
    fn transport_failures_are_retried_for_idempotent_methods_only() {
        for kind in [
            HttpErrorKind::Connect,
            HttpErrorKind::Timeout,
            HttpErrorKind::Body,
            HttpErrorKind::Other,
        ] {
            for method in ["GET", "head", "OPTIONS", "PUT", "DELETE"] {
                let p = plan(method, false, &failure(kind)).expect("retried");
                assert_eq!(p.delay, RETRY_BACKOFF);
                assert_eq!(p.first, "connection reset");
            }
            for method in ["POST", "PATCH"] {
                assert_eq!(plan(method, false, &failure(kind)), None, "{method}");
                assert!(plan(method, true, &failure(kind)).is_some(), "a login");
            }
        }
        for kind in [
            HttpErrorKind::BudgetExhausted,
            HttpErrorKind::ForbiddenOrigin,
            HttpErrorKind::InvalidRequest,
            HttpErrorKind::Tls,
        ] {
            assert_eq!(plan("GET", true, &failure(kind)), None, "{kind:?}");
        }
    }

    #[test]
    fn timeouts_and_server_errors_pause_for_the_servers_word_or_a_short_pause() {
        assert_eq!(pause_for(&answer(500, None)), Some(Pause::Fault));
        assert_eq!(pause_for(&answer(500, Some("1"))), Some(Pause::Fault));
        assert_eq!(
            pause_for(&answer(503, Some("0"))),
            Some(Pause::Asked(Duration::ZERO))
        );
        assert_eq!(
            pause_for(&answer(429, Some("1"))),
            Some(Pause::Asked(Duration::from_secs(1)))
        );
        assert_eq!(pause_for(&answer(503, Some("60"))), Some(Pause::Fault));
        assert_eq!(
            pause_for(&failure(HttpErrorKind::Timeout)),
            Some(Pause::Fault)
        );
        for quiet in [answer(200, None), answer(404, None)] {
            assert_eq!(pause_for(&quiet), None);
        }
        assert_eq!(pause_for(&failure(HttpErrorKind::Connect)), None);
    }

    #[test]
    fn pauses_overlap_instead_of_adding_up() {
        let backoff = Backoff::default();
        backoff.observe(&answer(200, None));
        assert_eq!(backoff.until(), None);
        backoff.observe(&answer(503, Some("2")));
        let long = backoff.until().expect("paused");
        backoff.observe(&answer(500, None));
        assert_eq!(
            backoff.until(),
            Some(long),
            "a shorter pause keeps the longer one"
        );
    }

    #[test]
    fn fault_pauses_start_at_most_once_in_a_while_but_the_servers_word_always_counts() {
        let backoff = Backoff::default();
        backoff.observe(&answer(500, None));
        let first = backoff.until().expect("paused");
        backoff.observe(&failure(HttpErrorKind::Timeout));
        assert_eq!(
            backoff.until(),
            Some(first),
            "no second fault pause so soon"
        );
        backoff.observe(&answer(429, Some("1")));
        assert!(
            backoff.until() > Some(first),
            "the server asked for a second"
        );
    }

    // ---- the client carrying the policies out, against a server on 127.0.0.1:0 ----

    /// How the test server answers the n-th request (from 1) it receives.
    type Script = fn(usize) -> Reply;

    #[derive(Debug, Clone, Copy)]
    enum Reply {
        Status(u16, Option<&'static str>),
        /// Answers 200 after this many milliseconds.
        Late(u64),
    }

    /// A server following `script` on every path; returns its base URL and its request counter.
    async fn server(script: Script) -> (Url, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = Router::new().fallback(any(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                match script(n) {
                    Reply::Status(status, retry_after) => {
                        let mut r = axum::response::Response::new(axum::body::Body::from("x"));
                        *r.status_mut() = StatusCode::from_u16(status).expect("status");
                        if let Some(v) = retry_after {
                            r.headers_mut()
                                .insert("retry-after", v.parse().expect("value"));
                        }
                        r
                    }
                    Reply::Late(ms) => {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        axum::response::Response::new(axum::body::Body::from("late"))
                    }
                }
            }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        (Url::parse(&format!("http://{addr}/")).expect("url"), hits)
    }

    /// A server that reads the first request and closes its connection without an answer,
    /// then answers 200 to every later one; returns its base URL and its request counter.
    async fn hangup_server() -> (Url, Arc<AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    if counter.fetch_add(1, Ordering::SeqCst) > 0 {
                        let ok =
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                        stream.write_all(ok).await.ok();
                    }
                });
            }
        });
        (Url::parse(&format!("http://{addr}/")).expect("url"), hits)
    }

    fn client(base: &Url, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
        let mut config = ClientConfig {
            allowed_origins: vec![base.origin()],
            ..ClientConfig::default()
        };
        tweak(&mut config);
        Client::new(config).expect("client")
    }

    fn first_fails(n: usize, fault: Reply) -> Reply {
        if n == 1 {
            fault
        } else {
            Reply::Status(200, None)
        }
    }

    #[tokio::test]
    async fn a_503_post_is_sent_again_and_the_exchange_says_why() {
        let (base, hits) = server(|n| first_fails(n, Reply::Status(503, Some("0")))).await;
        let c = client(&base, |_| {});
        let scoped = c.scoped();
        let ex = scoped
            .send(ProbeRequest::post(base.join("login").unwrap()).body("a=1", "text/plain"))
            .await
            .expect("answered");
        assert_eq!(ex.response.status, 200);
        let retried = ex.retried.expect("recorded");
        assert_eq!(retried.first, "503 with Retry-After: 0");
        assert_eq!(retried.delay_ms, 0);
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        assert_eq!(c.requests_sent(), 2, "both attempts count");
        assert_eq!(scoped.take_retries(), 1);
        assert_eq!(
            c.take_retries(),
            0,
            "the parent scope saw no retry of its own"
        );
    }

    #[tokio::test]
    async fn a_second_503_stands_and_is_not_retried_again() {
        let (base, hits) = server(|_| Reply::Status(429, None)).await;
        let c = client(&base, |_| {});
        let ex = c
            .send(ProbeRequest::get(base.clone()))
            .await
            .expect("answered");
        assert_eq!(ex.response.status, 429);
        assert_eq!(
            ex.retried.map(|r| r.first),
            Some("429 without a usable Retry-After".to_owned())
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_long_retry_after_is_not_waited_for() {
        let (base, hits) = server(|_| Reply::Status(503, Some("120"))).await;
        let c = client(&base, |_| {});
        let ex = c
            .send(ProbeRequest::get(base.clone()))
            .await
            .expect("answered");
        assert_eq!((ex.response.status, ex.retried), (503, None));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_hangup_is_retried_for_get_but_not_for_post() {
        let (base, hits) = hangup_server().await;
        let c = client(&base, |_| {});
        let ex = c
            .send(ProbeRequest::get(base.clone()))
            .await
            .expect("retried");
        assert_eq!(ex.response.status, 200);
        assert!(ex.retried.is_some());
        assert_eq!(hits.load(Ordering::SeqCst), 2);

        let (base, hits) = hangup_server().await;
        let c = client(&base, |_| {});
        let err = c
            .send(ProbeRequest::post(base.clone()))
            .await
            .expect_err("not retried");
        assert!(err.kind.is_transport(), "{err}");
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(c.requests_sent(), 1);
    }

    #[tokio::test]
    async fn a_hangup_is_retried_for_a_post_declared_repeatable() {
        let (base, hits) = hangup_server().await;
        let c = client(&base, |_| {});
        c.set_repeatable_bodies(vec![b"pass=s%26cret".to_vec()]);
        let login = ProbeRequest::post(base.clone()).body("user=a&pass=s%26cret", "text/plain");
        let ex = c.send(login).await.expect("retried");
        assert_eq!(ex.response.status, 200);
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_timeout_is_retried_once_and_a_second_one_says_so() {
        let (base, hits) = server(|_| Reply::Late(2_000)).await;
        let c = client(&base, |cfg| cfg.timeout = Duration::from_millis(100));
        let err = c
            .send(ProbeRequest::get(base.clone()))
            .await
            .expect_err("late twice");
        assert_eq!(err.kind, HttpErrorKind::Timeout);
        assert!(err.message.contains("retried once"), "{err}");
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        assert_eq!(c.requests_sent(), 2);
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_for_get() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        let c = client(&base, |_| {});
        let err = c
            .send(ProbeRequest::get(base.clone()))
            .await
            .expect_err("refused");
        assert_eq!(err.kind, HttpErrorKind::Connect);
        assert_eq!(c.requests_sent(), 2);
    }

    #[tokio::test]
    async fn no_retry_past_the_request_budget() {
        let (base, hits) = server(|_| Reply::Status(503, Some("0"))).await;
        let c = client(&base, |cfg| cfg.max_requests = 1);
        let ex = c
            .send(ProbeRequest::get(base.clone()))
            .await
            .expect("answered");
        assert_eq!((ex.response.status, ex.retried), (503, None));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(c.requests_sent(), 1);
    }

    #[tokio::test]
    async fn a_redirect_is_neither_followed_nor_retried() {
        let (base, hits) = server(|_| Reply::Status(307, None)).await;
        let c = client(&base, |_| {});
        let ex = c
            .send(ProbeRequest::get(base.clone()))
            .await
            .expect("answered");
        assert_eq!((ex.response.status, ex.retried), (307, None));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_server_error_pauses_every_clone() {
        let (base, _) = server(|_| Reply::Status(500, None)).await;
        let c = client(&base, |_| {});
        let ex = c
            .send(ProbeRequest::get(base.clone()))
            .await
            .expect("answered");
        assert_eq!((ex.response.status, ex.retried), (500, None));
        assert!(c.clone().inner.backoff.until().is_some(), "paused");
    }
}
