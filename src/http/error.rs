//! Typed errors of the probe client: a kind the engine can match on, the (redacted) URL that
//! was being probed and a short lowercase detail.

use std::fmt;

/// Why a probe could not produce an [`Exchange`](super::Exchange).
///
/// A response with any status (including 5xx) is *not* an error; only the failure to obtain
/// a response, or a refusal by the client itself, is.
#[derive(Debug, Clone)]
pub struct HttpError {
    /// What went wrong, for matching.
    pub kind: HttpErrorKind,
    /// The URL of the request, already passed through the client's redactor
    /// (empty when the error concerns the client configuration).
    pub url: String,
    /// A lowercase one-line detail, e.g. `connection refused`.
    pub message: String,
}

/// The category of an [`HttpError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpErrorKind {
    /// The TCP connection (or DNS resolution) to the target failed.
    Connect,
    /// The request did not complete within the configured timeout.
    Timeout,
    /// The run's request budget (`max_requests`) is used up; nothing was sent.
    BudgetExhausted,
    /// The URL's origin is not in `allowed_origins`; nothing was sent.
    ForbiddenOrigin,
    /// The request (method, header, URL scheme) or the client configuration is malformed.
    InvalidRequest,
    /// The TLS handshake or certificate verification failed.
    Tls,
    /// The connection broke while the response body was being read.
    Body,
    /// The answer is not HTTP authprobe can read: more than 100 header lines, a header block
    /// over 400 KiB, or a malformed status line or header.
    InvalidResponse,
    /// Any other transport failure.
    Other,
    /// The run was interrupted (SIGINT, SIGTERM): the client sends nothing more.
    Interrupted,
}

impl HttpErrorKind {
    /// True for a failure of the transport itself (connecting, a connection closed or reset,
    /// a broken body, a timeout): the kind a second attempt may not meet. False for what the
    /// client refused to send and for TLS failures.
    pub fn is_transport(self) -> bool {
        matches!(
            self,
            HttpErrorKind::Connect
                | HttpErrorKind::Timeout
                | HttpErrorKind::Body
                | HttpErrorKind::Other
        )
    }
}

impl HttpError {
    pub(crate) fn new(
        kind: HttpErrorKind,
        url: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        HttpError {
            kind,
            url: url.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (url, msg) = (&self.url, &self.message);
        if url.is_empty() {
            return write!(f, "invalid http client configuration: {msg}");
        }
        match self.kind {
            HttpErrorKind::Connect => write!(f, "cannot connect to {url}: {msg}"),
            HttpErrorKind::Timeout => write!(f, "request to {url} timed out: {msg}"),
            HttpErrorKind::BudgetExhausted => {
                write!(f, "request budget exhausted, not sending to {url}: {msg}")
            }
            HttpErrorKind::ForbiddenOrigin => write!(f, "refusing to send to {url}: {msg}"),
            HttpErrorKind::InvalidRequest => write!(f, "invalid request to {url}: {msg}"),
            HttpErrorKind::Tls => write!(f, "tls failure with {url}: {msg}"),
            HttpErrorKind::Body => write!(f, "cannot read the response body from {url}: {msg}"),
            HttpErrorKind::InvalidResponse => write!(f, "the response from {url} {msg}"),
            HttpErrorKind::Other => write!(f, "request to {url} failed: {msg}"),
            HttpErrorKind::Interrupted => write!(f, "not sending to {url}: {msg}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Classifies a reqwest error and extracts a short lowercase cause from its source chain.
pub(crate) fn classify(err: &reqwest::Error, reading_body: bool) -> (HttpErrorKind, String) {
    if let Some(words) = super::tls::explain(err) {
        return (HttpErrorKind::Tls, words);
    }
    let detail = root_cause(err);
    let chain = chain_text(err);
    if let Some(message) = invalid_response(&chain) {
        return (HttpErrorKind::InvalidResponse, message.to_owned());
    }
    let kind = if err.is_timeout() || chain.contains("timed out") {
        HttpErrorKind::Timeout
    } else if chain.contains("certificate")
        || chain.contains("tls")
        || chain.contains("ssl")
        || chain.contains("handshake")
    {
        HttpErrorKind::Tls
    } else if err.is_connect() {
        HttpErrorKind::Connect
    } else if reading_body || err.is_body() || err.is_decode() {
        HttpErrorKind::Body
    } else if err.is_builder() {
        HttpErrorKind::InvalidRequest
    } else {
        HttpErrorKind::Other
    };
    (kind, detail)
}

/// The response head could not be parsed (hyper's parse errors), in words: hyper says
/// "message head is too large" both for more than 100 headers (its default, which
/// authprobe keeps) and for a head over its buffer (about 400 KiB).
fn invalid_response(chain: &str) -> Option<&'static str> {
    if chain.contains("message head is too large") {
        Some("had more than 100 headers (or more than 400 KiB of header lines)")
    } else if chain.contains("invalid http version parsed") {
        Some("is not HTTP/1.x: its status line has an invalid version")
    } else if chain.contains("invalid http status-code parsed") {
        Some("has an invalid status code")
    } else if chain.contains("invalid http header parsed") {
        Some("has a malformed header line")
    } else {
        None
    }
}

fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut cur = err.source();
    while let Some(e) = cur {
        text.push_str(&e.to_string().to_lowercase());
        text.push('\n');
        cur = e.source();
    }
    text
}

/// The most specific cause: an `io::ErrorKind` description when there is one
/// ("connection refused"), otherwise the innermost source's message, lowercased first letter.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest: &(dyn std::error::Error + 'static) = err;
    let mut cur = err.source();
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            let kind = io.kind().to_string();
            if kind != "other error" && kind != "uncategorized error" {
                return kind;
            }
        }
        deepest = e;
        cur = e.source();
    }
    one_line_lower(&deepest.to_string())
}

/// Keeps the first line and lowercases the first character (house style for messages).
pub(crate) fn one_line_lower(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let mut chars = line.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => "unknown error".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More than 100 response headers once read "the target could not be reached: …
    /// message head is too large" (issue 13).
    #[test]
    fn an_unreadable_response_head_is_named_in_words() {
        let err = HttpError {
            kind: HttpErrorKind::InvalidResponse,
            url: "http://h/x".to_owned(),
            message: invalid_response("message head is too large\n")
                .unwrap()
                .to_owned(),
        };
        assert_eq!(
            err.to_string(),
            "the response from http://h/x had more than 100 headers (or more than 400 KiB of header lines)"
        );
        assert!(!HttpErrorKind::InvalidResponse.is_transport());
        assert_eq!(invalid_response("connection refused\n"), None);
    }

    #[test]
    fn error_display_is_one_lowercase_line_with_the_url() {
        let err = HttpError {
            kind: HttpErrorKind::Timeout,
            url: "http://h/x".to_owned(),
            message: "operation timed out".to_owned(),
        };
        assert_eq!(
            err.to_string(),
            "request to http://h/x timed out: operation timed out"
        );
    }
}
