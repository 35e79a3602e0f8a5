//! The run's traffic, for the HAR report (`--report har=PATH`): every exchange any clone
//! received, with its wall-clock start, its HTTP version and how long the answer took to start
//! and to finish, grouped by the scope that sent it ([`Client::scoped_as`](super::Client::scoped_as):
//! one rule; unnamed: the preflight and discovery).
//!
//! This file owns that bounded record. It is off until a run asks for it
//! ([`Client::capture_exchanges`](super::Client::capture_exchanges)), so a run without a HAR
//! report keeps nothing. Per scope the first [`HEAD`] and the last [`TAIL`] exchanges are
//! kept (a failure's minimal transcript is usually among the last, the set-up among the
//! first) and the ones between are counted; bodies are cut to [`MAX_BODY_BYTES`]; at most
//! [`MAX_SCOPES`] scopes are kept. Secrets are redacted when the record leaves the client
//! ([`CaptureLog::snapshot`] is given the client's redactor), never stored twice; and since
//! the capture holds every request, not only the ones a finding shows, the credentials the
//! requests themselves carried are secrets too, registered or not (a tampered session id, a
//! forged token, a cookie the run never named: a service may echo any of them), see
//! [`carried`].

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::SystemTime;

use super::{Exchange, ProbeRequest, Redactor};

/// Exchanges kept from the start of each scope.
pub const HEAD: usize = 50;

/// Exchanges kept from the end of each scope.
pub const TAIL: usize = 50;

/// Body bytes kept of each request and response (the rest is cut; the sizes say how much
/// there was).
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// Most scopes kept; the exchanges of later ones are only counted.
pub const MAX_SCOPES: usize = 512;

/// One exchange as captured: what was sent and received (bodies cut), when, and how long the
/// parts took.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Order of sending across the whole run (0-based).
    pub seq: u64,
    /// Wall-clock time the request was handed to the connection.
    pub started: SystemTime,
    /// The response's HTTP version, e.g. `HTTP/1.1`, `HTTP/2.0`.
    pub http_version: String,
    /// Milliseconds from sending to the response head.
    pub wait_ms: f64,
    /// Milliseconds from the response head to the end of the body.
    pub receive_ms: f64,
    /// The exchange, bodies cut to [`MAX_BODY_BYTES`].
    pub exchange: Exchange,
    /// Request body bytes sent (before the cut).
    pub request_body_size: usize,
    /// Response body bytes received (before the cut).
    pub response_body_size: usize,
}

/// The exchanges of one scope, as kept.
#[derive(Debug, Clone, Default)]
pub struct ScopeCapture {
    /// The scope's name (a rule id), or `None` for the run's own requests (preflight,
    /// discovery).
    pub scope: Option<String>,
    /// The kept exchanges, in sending order.
    pub exchanges: Vec<Captured>,
    /// Exchanges sent in this scope but not kept (between the head and the tail).
    pub omitted: usize,
}

/// What a run captured: the scopes in order of their first exchange, and the exchanges of
/// scopes past [`MAX_SCOPES`] (counted, not kept).
#[derive(Debug, Clone, Default)]
pub struct Capture {
    /// The scopes kept.
    pub scopes: Vec<ScopeCapture>,
    /// Exchanges of scopes that were not kept.
    pub dropped: usize,
}

#[derive(Debug, Default)]
struct Scope {
    name: Option<String>,
    head: Vec<Captured>,
    tail: VecDeque<Captured>,
    omitted: usize,
}

/// The shared record (one per client and its clones).
#[derive(Debug, Default)]
pub(super) struct CaptureLog {
    enabled: AtomicBool,
    seq: AtomicU64,
    inner: Mutex<(Vec<Scope>, usize)>,
}

/// Cuts `body` to [`MAX_BODY_BYTES`]; returns its original length.
fn cut(body: &mut Vec<u8>) -> usize {
    let len = body.len();
    body.truncate(MAX_BODY_BYTES);
    len
}

impl CaptureLog {
    /// Starts capturing (for every clone, from the next exchange on).
    pub(super) fn enable(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }

    /// True once [`CaptureLog::enable`] was called.
    pub(super) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    /// Records one exchange of `scope` (when capturing is on).
    pub(super) fn record(
        &self,
        scope: Option<&str>,
        started: SystemTime,
        http_version: String,
        (wait_ms, receive_ms): (f64, f64),
        ex: &Exchange,
    ) {
        if !self.enabled() {
            return;
        }
        let mut exchange = ex.clone();
        let response_body_size = cut(&mut exchange.response.body);
        let request_body_size = exchange.request.body.as_mut().map_or(0, cut);
        let captured = Captured {
            seq: self.seq.fetch_add(1, Ordering::SeqCst),
            started,
            http_version,
            wait_ms,
            receive_ms,
            exchange,
            request_body_size,
            response_body_size,
        };
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (scopes, dropped) = &mut *guard;
        let i = match scopes.iter().position(|s| s.name.as_deref() == scope) {
            Some(i) => i,
            None if scopes.len() < MAX_SCOPES => {
                scopes.push(Scope {
                    name: scope.map(str::to_owned),
                    ..Scope::default()
                });
                scopes.len() - 1
            }
            None => {
                *dropped += 1;
                return;
            }
        };
        let s = &mut scopes[i];
        if s.head.len() < HEAD {
            s.head.push(captured);
            return;
        }
        if s.tail.len() == TAIL {
            s.tail.pop_front();
            s.omitted += 1;
        }
        s.tail.push_back(captured);
    }

    /// Everything kept so far, every exchange passed through `redactor` and then through the
    /// credentials every kept request carried ([`carried`]).
    pub(super) fn snapshot(&self, redactor: &Redactor) -> Capture {
        let guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (scopes, dropped) = &*guard;
        // A set of its own: these values are secrets of this record, not of the run's
        // other outputs (which show only what a finding needs, registered by the engine).
        let carried_set = Redactor::default();
        for c in scopes.iter().flat_map(|s| s.head.iter().chain(&s.tail)) {
            for (label, value) in carried(&c.exchange.request) {
                carried_set.register(&value, &label);
            }
        }
        let redact = |ex: &Exchange| carried_set.redact_exchange(&redactor.redact_exchange(ex));
        let scopes = scopes
            .iter()
            .map(|s| ScopeCapture {
                scope: s.name.as_deref().map(|n| redactor.redact(n)),
                exchanges: s
                    .head
                    .iter()
                    .chain(&s.tail)
                    .map(|c| Captured {
                        exchange: redact(&c.exchange),
                        http_version: carried_set.redact(&redactor.redact(&c.http_version)),
                        ..c.clone()
                    })
                    .collect(),
                omitted: s.omitted,
            })
            .collect();
        Capture {
            scopes,
            dropped: *dropped,
        }
    }
}

/// Fields of a form or JSON body, and query parameters, whose values are credentials.
const CREDENTIAL_FIELDS: [&str; 9] = [
    "password",
    "client_secret",
    "refresh_token",
    "access_token",
    "id_token",
    "token",
    "code",
    "code_verifier",
    "assertion",
];

/// The credentials `request` carries, each with a redaction label: every cookie value
/// (`cookie:NAME`), the `Authorization`/`Proxy-Authorization` credential (`credential`), and
/// the values of [`CREDENTIAL_FIELDS`] in the query and in a form or JSON body
/// (`field:NAME`).
pub(super) fn carried(request: &ProbeRequest) -> Vec<(String, String)> {
    let label = |prefix: &str, name: &str| {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .collect();
        format!("{prefix}:{name}")
    };
    let mut out = Vec::new();
    for (name, value) in &request.headers {
        if name.eq_ignore_ascii_case("cookie") {
            for pair in value.split(';') {
                if let Some((n, v)) = pair.trim().split_once('=') {
                    out.push((label("cookie", n.trim()), v.trim().to_owned()));
                }
            }
        } else if name.eq_ignore_ascii_case("authorization")
            || name.eq_ignore_ascii_case("proxy-authorization")
        {
            let credential = value
                .trim()
                .split_once(' ')
                .map_or(value.trim(), |(_, c)| c);
            out.push(("credential".to_owned(), credential.trim().to_owned()));
        }
    }
    let wanted = |k: &str| CREDENTIAL_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k));
    let mut fields: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Some(body) = &request.body {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(o)) => fields.extend(
                o.into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))),
            ),
            _ => fields.extend(url::form_urlencoded::parse(body).into_owned()),
        }
    }
    out.extend(
        fields
            .into_iter()
            .filter(|(k, _)| wanted(k))
            .map(|(k, v)| (label("field", &k), v)),
    );
    out.retain(|(_, v)| !v.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Response;

    fn exchange(path: &str, body: usize) -> Exchange {
        Exchange {
            request: ProbeRequest::get(url::Url::parse("http://a/").unwrap().join(path).unwrap())
                .header("Cookie", "sid=s3cret-session-value"),
            response: Response {
                status: 200,
                headers: vec![("set-cookie".into(), "sid=s3cret-session-value".into())],
                body: vec![b'x'; body],
                truncated: false,
            },
            elapsed_ms: 1,
            retried: None,
        }
    }

    fn record(log: &CaptureLog, scope: Option<&str>, path: &str, body: usize) {
        log.record(
            scope,
            SystemTime::now(),
            "HTTP/1.1".into(),
            (1.0, 0.5),
            &exchange(path, body),
        );
    }

    #[test]
    fn nothing_is_kept_until_enabled() {
        let log = CaptureLog::default();
        record(&log, None, "/x", 1);
        assert!(log.snapshot(&Redactor::default()).scopes.is_empty());
    }

    #[test]
    fn head_and_tail_are_kept_per_scope_bodies_cut_and_secrets_redacted() {
        let log = CaptureLog::default();
        log.enable();
        let redactor = Redactor::default();
        redactor.register("s3cret-session-value", "session");
        record(&log, None, "/pre", MAX_BODY_BYTES + 10);
        for i in 0..(HEAD + TAIL + 7) {
            record(&log, Some("rule.a"), &format!("/n{i}"), 1);
        }
        let c = log.snapshot(&redactor);
        assert_eq!(c.scopes.len(), 2);
        let pre = &c.scopes[0];
        assert_eq!(pre.scope, None);
        assert_eq!(
            pre.exchanges[0].exchange.response.body.len(),
            MAX_BODY_BYTES
        );
        assert_eq!(pre.exchanges[0].response_body_size, MAX_BODY_BYTES + 10);
        let a = &c.scopes[1];
        assert_eq!(a.scope.as_deref(), Some("rule.a"));
        assert_eq!(a.exchanges.len(), HEAD + TAIL);
        assert_eq!(a.omitted, 7);
        assert_eq!(a.exchanges[HEAD - 1].exchange.request.url.path(), "/n49");
        assert_eq!(a.exchanges[HEAD].exchange.request.url.path(), "/n57");
        let text = format!("{c:?}");
        assert!(!text.contains("s3cret-session-value"), "{text}");
    }

    #[test]
    fn credentials_a_request_carried_are_redacted_wherever_they_are_echoed() {
        let log = CaptureLog::default();
        log.enable();
        let url = url::Url::parse("http://a/t?token=query-token-value&page=2").unwrap();
        let mut ex = exchange("/", 1);
        ex.request = ProbeRequest::post(url)
            .header("Cookie", "sid=tampered-session-id; lang=en")
            .header("Authorization", "Bearer forged.token.value")
            .body(
                b"grant_type=refresh_token&refresh_token=old-refresh-value".to_vec(),
                "application/x-www-form-urlencoded",
            );
        ex.response.body = b"echo: tampered-session-id forged.token.value old-refresh-value             query-token-value en 2"
            .to_vec();
        log.record(None, SystemTime::now(), "HTTP/1.1".into(), (1.0, 0.0), &ex);
        let c = log.snapshot(&Redactor::default());
        let got = &c.scopes[0].exchanges[0].exchange;
        let body = String::from_utf8_lossy(&got.response.body).into_owned();
        for secret in [
            "tampered-session-id",
            "forged.token.value",
            "old-refresh-value",
            "query-token-value",
        ] {
            assert!(!body.contains(secret), "{body}");
            assert!(!format!("{:?}", got.request).contains(secret));
        }
        // Short values are redacted only where they are a whole field; the page number is
        // no credential.
        assert!(body.ends_with("en 2"), "{body}");
        assert!(got.request.url.as_str().ends_with("&page=2"));
    }

    #[test]
    fn scopes_past_the_cap_are_counted_not_kept() {
        let log = CaptureLog::default();
        log.enable();
        for i in 0..(MAX_SCOPES + 2) {
            record(&log, Some(&format!("r{i}")), "/", 1);
        }
        let c = log.snapshot(&Redactor::default());
        assert_eq!(c.scopes.len(), MAX_SCOPES);
        assert_eq!(c.dropped, 2);
    }
}
