//! The probe client: sends one [`ProbeRequest`] at a time on reqwest and records the
//! [`Exchange`] as evidence.
//!
//! It owns the transport safety rails of a run: the origin allow-list (checked before
//! anything is sent), the request budget, the global rate limit, the per-request timeout, the
//! response-body cap, the extra TLS trust roots (`tls`: certificate failures in words), and
//! secret redaction ([`Redactor`], [`curl_line`]). Redirects are never
//! followed — the caller sees the 3xx and decides — so credentials never travel to another
//! origin by accident. There is no cookie jar: every header sent is one the caller put there.
//!
//! It also rides out transient faults (`retry`): a `503`/`429` answer, or a transport failure
//! of an idempotent request (or of one declared safe to repeat: a login), is sent once more,
//! and the exchange records it ([`Retried`]);
//! after a timeout or a 5xx answer every clone pauses briefly before sending anything new.
//! Retries come out of the same budget and are counted per scope ([`Client::scoped`]).
//!
//! It keeps a bounded record of the HTML pages any clone received (`pages`), for the checks
//! that judge every page a run has seen; and, when a run asks for it, a bounded record of its
//! traffic per scope (`capture`), for the HAR report.
//!
//! It must not know anything about rules, specs, profiles or verdicts, and it never prints:
//! it returns typed [`HttpError`]s and plain data.

mod capture;
mod error;
mod exchange;
mod pages;
mod redact;
mod retry;
mod tls;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use tokio::sync::Mutex;
use tokio::time::Instant;

pub use capture::{Capture, Captured, ScopeCapture};
pub use error::{HttpError, HttpErrorKind};

use crate::units::bounds;
pub use exchange::{Exchange, ProbeRequest, Response};
pub use pages::{is_html_page, page_key};
pub use redact::{Redactor, curl_line, shell_quote};
pub use retry::Retried;
pub use tls::{TrustRoots, TrustRootsError};

/// Settings of a [`Client`], fixed for the whole run.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Per-request timeout, from connecting to the end of the body (default 10 s); the run
    /// may raise it later ([`Client::set_timeout`]).
    pub timeout: Duration,
    /// Response bodies are read up to this many bytes, then cut and flagged `truncated`
    /// (default 1 MiB).
    pub max_body_bytes: usize,
    /// Request budget for the whole run, shared by all clones (default 10 000).
    pub max_requests: u64,
    /// Global rate limit in requests per second across all clones; `None` = unlimited.
    pub max_rps: Option<f64>,
    /// The only origins requests may go to. Empty means no request is allowed.
    pub allowed_origins: Vec<url::Origin>,
    /// `User-Agent` sent when the request does not set one (default `authprobe/<version>`).
    pub user_agent: String,
    /// CA certificates trusted besides the system's (`--ca-file`, the profile's
    /// `tls.ca_file`); default none.
    pub trust_roots: TrustRoots,
    /// Capture the run's traffic from the first request on (see [`Client::capture_exchanges`]);
    /// default off.
    pub capture: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(10),
            max_body_bytes: 1024 * 1024,
            max_requests: 10_000,
            max_rps: None,
            allowed_origins: Vec::new(),
            user_agent: concat!("authprobe/", env!("CARGO_PKG_VERSION")).to_owned(),
            trust_roots: TrustRoots::none(),
            capture: false,
        }
    }
}

/// The probe client. Cheap to clone; clones share the budget, the rate limiter, the
/// timeout, the back-off pause and the redactor (and the retry count of their scope).
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
    /// Retries sent through this scope (see [`Client::scoped`]).
    retries: Arc<AtomicU64>,
    /// The scope's name in the capture ([`Client::scoped_as`]); `None` for the run's own.
    scope: Option<Arc<str>>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    sent: AtomicU64,
    /// Rate limiter: the spacing between requests and the next free slot.
    limiter: Option<(Duration, Mutex<Option<Instant>>)>,
    redactor: Redactor,
    /// The per-request timeout in milliseconds (starts at `config.timeout`).
    timeout_ms: AtomicU64,
    /// The shared pause after timeouts and server errors.
    backoff: retry::Backoff,
    /// A request whose body contains one of these is safe to repeat (a login).
    repeatable: std::sync::RwLock<Vec<Vec<u8>>>,
    /// Requests to these (method, URL) are safe to repeat (a sign-in with an ID token).
    repeatable_targets: std::sync::RwLock<Vec<(String, url::Url)>>,
    /// Set by [`Client::stop`]: nothing more is sent.
    stopped: std::sync::atomic::AtomicBool,
    /// Turns true with [`Client::stop`]: requests in flight are abandoned.
    stop_signal: tokio::sync::watch::Sender<bool>,
    /// The HTML pages the run has seen (`pages`).
    pages: pages::SeenPages,
    /// The run's traffic, when captured (`capture`).
    capture: capture::CaptureLog,
}

impl Client {
    /// Builds the client. Fails with [`HttpErrorKind::InvalidRequest`] when `max_rps` is
    /// outside its documented range (0.01 to 10 000, [`bounds::MAX_RPS`]) or the user agent
    /// is not a valid header value.
    pub fn new(config: ClientConfig) -> Result<Client, HttpError> {
        let limiter = match config.max_rps.map(|rps| bounds::MAX_RPS.check(rps)) {
            None => None,
            Some(Ok(rps)) => Some((
                Duration::try_from_secs_f64(1.0 / rps).unwrap_or(Duration::MAX),
                Mutex::new(None),
            )),
            Some(Err(why)) => {
                return Err(HttpError::new(
                    HttpErrorKind::InvalidRequest,
                    "",
                    format!("max_rps: {why}"),
                ));
            }
        };
        let user_agent = HeaderValue::from_str(&config.user_agent).map_err(|_| {
            HttpError::new(
                HttpErrorKind::InvalidRequest,
                "",
                "user agent is not a valid header value",
            )
        })?;
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(user_agent);
        let http = config.trust_roots.apply(builder).build().map_err(|e| {
            let (kind, message) = error::classify(&e, false);
            HttpError::new(kind, "", message)
        })?;
        let capture = capture::CaptureLog::default();
        if config.capture {
            capture.enable();
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                timeout_ms: AtomicU64::new(millis(config.timeout)),
                config,
                sent: AtomicU64::new(0),
                limiter,
                redactor: Redactor::default(),
                backoff: retry::Backoff::default(),
                repeatable: Default::default(),
                repeatable_targets: Default::default(),
                stopped: Default::default(),
                stop_signal: tokio::sync::watch::Sender::new(false),
                pages: Default::default(),
                capture,
            }),
            retries: Arc::new(AtomicU64::new(0)),
            scope: None,
        })
    }

    /// A clone with a retry count of its own (everything else shared), so that the retries
    /// of one part of a run — one rule — can be counted ([`Client::take_retries`]).
    pub fn scoped(&self) -> Client {
        Client {
            inner: self.inner.clone(),
            retries: Arc::new(AtomicU64::new(0)),
            scope: self.scope.clone(),
        }
    }

    /// A [scoped](Client::scoped) clone whose exchanges the capture files under `name` (the
    /// engine names each rule's scope after the rule).
    pub fn scoped_as(&self, name: &str) -> Client {
        Client {
            scope: Some(Arc::from(name)),
            ..self.scoped()
        }
    }

    /// Starts capturing the traffic of this client and every clone, per scope, bounded (see
    /// `capture`): what the HAR report is made of. Off by default.
    pub fn capture_exchanges(&self) {
        self.inner.capture.enable();
    }

    /// The traffic captured so far (nothing unless [`Client::capture_exchanges`] was
    /// called), every exchange redacted with this client's [`Redactor`].
    pub fn captured(&self) -> Capture {
        self.inner.capture.snapshot(&self.inner.redactor)
    }

    /// Retries sent through this scope since the last call, and resets the count.
    pub fn take_retries(&self) -> u64 {
        self.retries.swap(0, Ordering::SeqCst)
    }

    /// Declares requests whose body contains one of `markers` safe to repeat whatever their
    /// method, so that a transport failure on one is retried like an idempotent request's
    /// (the engine passes the users' passwords as sent: a request presenting one is a login,
    /// and a login sent twice at worst opens a session nobody holds). Empty markers are
    /// ignored; the list replaces any earlier one, for every clone.
    pub fn set_repeatable_bodies(&self, markers: Vec<Vec<u8>>) {
        let markers = markers.into_iter().filter(|m| !m.is_empty()).collect();
        *self
            .inner
            .repeatable
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = markers;
    }

    /// Declares requests of these methods to these URLs safe to repeat whatever their
    /// method, like [`Client::set_repeatable_bodies`]: the engine passes the sign-in that
    /// accepts an ID token (sent twice, it at worst opens a session nobody holds). The list
    /// replaces any earlier one, for every clone.
    pub fn set_repeatable_targets(&self, targets: Vec<(String, url::Url)>) {
        *self
            .inner
            .repeatable_targets
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = targets;
    }

    /// True when `request`'s body contains a marker of [`Client::set_repeatable_bodies`], or
    /// it goes to a target of [`Client::set_repeatable_targets`].
    fn is_repeatable(&self, request: &ProbeRequest) -> bool {
        let targets = self
            .inner
            .repeatable_targets
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if targets
            .iter()
            .any(|(m, u)| m.eq_ignore_ascii_case(&request.method) && *u == request.url)
        {
            return true;
        }
        drop(targets);
        let Some(body) = &request.body else {
            return false;
        };
        let markers = self
            .inner
            .repeatable
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        markers
            .iter()
            .any(|m| body.windows(m.len()).any(|w| w == m.as_slice()))
    }

    /// Stops this client and every clone: from now on every request fails with
    /// [`HttpErrorKind::Interrupted`] before anything is sent (retries included), and the
    /// requests in flight are abandoned with the same error (a stopped run ends at once,
    /// not when a queue of slow answers drains).
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.stop_signal.send_replace(true);
    }

    /// One attempt of `request`, abandoned when the client is stopped meanwhile.
    async fn attempt_until_stopped(&self, request: &ProbeRequest) -> Result<Exchange, HttpError> {
        let mut stopped = self.inner.stop_signal.subscribe();
        tokio::select! {
            result = self.attempt(request) => result,
            _ = stopped.wait_for(|s| *s) => Err(self.error(
                &request.url,
                HttpErrorKind::Interrupted,
                "the run was interrupted".to_owned(),
            )),
        }
    }

    /// The per-request timeout now in force.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.inner.timeout_ms.load(Ordering::SeqCst))
    }

    /// Changes the per-request timeout of this client and every clone, for requests sent from
    /// now on (at least 1 ms).
    pub fn set_timeout(&self, timeout: Duration) {
        self.inner
            .timeout_ms
            .store(millis(timeout).max(1), Ordering::SeqCst);
    }

    /// The HTML pages (`200` `text/html` answers to `GET`s) any clone has received so far, one
    /// per origin and path, first seen first, bodies cut to 8 KiB; and how many more distinct
    /// pages were seen past the [`pages::MAX_PAGES`] kept.
    pub fn html_pages_seen(&self) -> (Vec<Exchange>, usize) {
        self.inner.pages.snapshot()
    }

    /// Sends `request` and reads the response (never following redirects).
    ///
    /// Checked before anything is sent, in this order: the origin is allowed, the request is
    /// well formed, the budget has room (one request is reserved), the back-off pause, the
    /// rate limit slot. A response of any status is `Ok`. A `503`/`429` answer, or a transport
    /// failure of an idempotent method or a login, is sent once more when the budget has room (see
    /// `retry`); the result is then the second attempt's, its exchange saying why
    /// ([`Exchange::retried`]), its error saying that it was retried.
    pub async fn send(&self, request: ProbeRequest) -> Result<Exchange, HttpError> {
        let err = |kind, message: String| self.error(&request.url, kind, message);
        self.check_origin(&request.url)
            .map_err(|m| err(HttpErrorKind::ForbiddenOrigin, m))?;
        self.build(&request)
            .map_err(|m| err(HttpErrorKind::InvalidRequest, m))?;
        if self.inner.stopped.load(Ordering::SeqCst) {
            return Err(err(
                HttpErrorKind::Interrupted,
                "the run was interrupted".to_owned(),
            ));
        }
        self.reserve_one()
            .map_err(|m| err(HttpErrorKind::BudgetExhausted, m))?;
        let first = self.attempt_until_stopped(&request).await;
        let repeatable = self.is_repeatable(&request);
        let Some(plan) = retry::plan(&request.method, repeatable, &first) else {
            return first;
        };
        if self.reserve_one().is_err() {
            return first;
        }
        self.retries.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(plan.delay).await;
        match self.attempt_until_stopped(&request).await {
            Ok(mut ex) => {
                ex.retried = Some(plan.record());
                Ok(ex)
            }
            Err(mut e) => {
                e.message = format!(
                    "{} (retried once after {} ms: {})",
                    e.message,
                    plan.delay.as_millis(),
                    plan.first
                );
                Err(e)
            }
        }
    }

    /// One attempt at a checked, reserved request: waits for the back-off pause and the rate
    /// slot, sends, reads the body, and tells the back-off what came back.
    async fn attempt(&self, request: &ProbeRequest) -> Result<Exchange, HttpError> {
        let inner = &*self.inner;
        let err = |kind, message: String| self.error(&request.url, kind, message);
        let mut wire = self
            .build(request)
            .map_err(|m| err(HttpErrorKind::InvalidRequest, m))?;
        *wire.timeout_mut() = Some(self.timeout());
        inner.backoff.wait().await;
        self.wait_for_rate_slot().await;
        let started = std::time::Instant::now();
        let started_at = std::time::SystemTime::now();
        let mut head = (started, String::new());
        let result = async {
            let mut response = inner.http.execute(wire).await.map_err(|e| {
                let (kind, message) = error::classify(&e, false);
                err(kind, message)
            })?;
            head = (
                std::time::Instant::now(),
                format!("{:?}", response.version()),
            );
            let status = response.status().as_u16();
            let headers = header_list(response.headers());
            let (body, truncated) = read_capped(&mut response, inner.config.max_body_bytes)
                .await
                .map_err(|e| {
                    let (kind, message) = error::classify(&e, true);
                    err(kind, message)
                })?;
            Ok(Exchange {
                request: request.clone(),
                response: Response {
                    status,
                    headers,
                    body,
                    truncated,
                },
                elapsed_ms: millis(started.elapsed()),
                retried: None,
            })
        }
        .await;
        inner.backoff.observe(&result);
        if let Ok(ex) = &result {
            inner.pages.observe(ex);
            if inner.capture.enabled() {
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                let timings = (ms(head.0 - started), ms(head.0.elapsed()));
                let scope = self.scope.as_deref();
                inner.capture.record(scope, started_at, head.1, timings, ex);
            }
        }
        result
    }

    /// An error about a request to `url` (redacted).
    fn error(&self, url: &url::Url, kind: HttpErrorKind, message: String) -> HttpError {
        HttpError::new(kind, self.inner.redactor.redact_url(url).as_str(), message)
    }

    /// Refuses a URL whose origin is not in the allow-list.
    fn check_origin(&self, url: &url::Url) -> Result<(), String> {
        let origin = url.origin();
        if self.inner.config.allowed_origins.contains(&origin) {
            Ok(())
        } else {
            Err(format!(
                "origin {} is not one of the allowed origins",
                origin.ascii_serialization()
            ))
        }
    }

    /// Reserves one request of the budget shared by all clones, or says it is used up.
    fn reserve_one(&self) -> Result<(), String> {
        if self.inner.stopped.load(Ordering::SeqCst) {
            return Err("the run was interrupted".to_owned());
        }
        let max = self.inner.config.max_requests;
        self.inner
            .sent
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .map(|_| ())
            .map_err(|_| format!("all {max} requests of the budget are used"))
    }

    /// Waits for the next free slot of the global rate limit (at once when there is none).
    async fn wait_for_rate_slot(&self) {
        if let Some((spacing, next)) = &self.inner.limiter {
            let slot = {
                let mut next = next.lock().await;
                let now = Instant::now();
                let slot = next.map_or(now, |n| n.max(now));
                *next = Some(later(slot, *spacing));
                slot
            };
            tokio::time::sleep_until(slot).await;
        }
    }

    /// Requests sent (or reserved and being sent) so far by this client and its clones.
    pub fn requests_sent(&self) -> u64 {
        self.inner.sent.load(Ordering::SeqCst)
    }

    /// The redactor shared by this client and its clones; register secrets here.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Translates a [`ProbeRequest`] to a reqwest request, or says what is malformed.
    fn build(&self, request: &ProbeRequest) -> Result<reqwest::Request, String> {
        if !matches!(request.url.scheme(), "http" | "https") {
            return Err(format!("unsupported url scheme {:?}", request.url.scheme()));
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| format!("invalid method {:?}", request.method))?;
        let mut wire = reqwest::Request::new(method, request.url.clone());
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name {name:?}"))?;
            // The value itself is not quoted in the message: it may be a secret.
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("invalid value for header {name}"))?;
            wire.headers_mut().append(name, value);
        }
        if let Some(body) = &request.body {
            *wire.body_mut() = Some(reqwest::Body::from(body.clone()));
        }
        Ok(wire)
    }
}

/// Whole milliseconds, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Every response header as (lowercase name, value), values decoded lossily.
fn header_list(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Reads the body up to `cap` bytes; true when it was longer and has been cut.
async fn read_capped(
    response: &mut reqwest::Response,
    cap: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// `t + d` without the panic of an overflowing `Instant`: an instant beyond the clock's
/// range is replaced by one about thirty years after `t` (or `t` itself, which cannot happen
/// with the documented limits).
pub(crate) fn later(t: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(30 * 365 * 86_400);
    t.checked_add(d).or_else(|| t.checked_add(FAR)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_rate_limit_is_rejected() {
        let config = ClientConfig {
            max_rps: Some(0.0),
            ..ClientConfig::default()
        };
        let err = Client::new(config).expect_err("zero rps");
        assert_eq!(err.kind, HttpErrorKind::InvalidRequest);
    }

    #[test]
    fn the_timeout_can_be_raised_for_every_clone() {
        let client = Client::new(ClientConfig::default()).expect("client");
        assert_eq!(client.timeout(), Duration::from_secs(10));
        let scoped = client.scoped();
        scoped.set_timeout(Duration::from_millis(4500));
        assert_eq!(client.timeout(), Duration::from_millis(4500));
        client.set_timeout(Duration::ZERO);
        assert_eq!(scoped.timeout(), Duration::from_millis(1));
    }
}
