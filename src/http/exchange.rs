//! The evidence types: what was sent ([`ProbeRequest`]), what came back ([`Response`]) and
//! the pair ([`Exchange`]). Bodies are bytes; they serialise as (lossy) text.

use std::borrow::Cow;

use serde::{Serialize, Serializer};
use url::Url;

use super::Retried;

/// One request to send, exactly as the engine wants it on the wire (no cookie jar, no
/// implicit headers besides the client's `User-Agent` and reqwest's `Accept: */*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeRequest {
    /// HTTP method, e.g. `GET`, `POST`.
    pub method: String,
    /// Absolute `http`/`https` URL.
    #[serde(serialize_with = "ser_url")]
    pub url: Url,
    /// Headers in the order they are sent; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// Request body, if any.
    #[serde(serialize_with = "ser_opt_body")]
    pub body: Option<Vec<u8>>,
}

impl ProbeRequest {
    /// A request with the given method and URL, no headers and no body.
    pub fn new(method: impl Into<String>, url: Url) -> Self {
        ProbeRequest {
            method: method.into(),
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `GET` request.
    pub fn get(url: Url) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request (add a body with [`ProbeRequest::body`]).
    pub fn post(url: Url) -> Self {
        Self::new("POST", url)
    }

    /// Appends a header (an existing header of the same name is kept).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body and its `Content-Type`, replacing any earlier `Content-Type` header.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: &str) -> Self {
        self.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
        self.headers
            .push(("Content-Type".to_owned(), content_type.to_owned()));
        self.body = Some(bytes.into());
        self
    }
}

/// A response as received: status, every header, and the body up to the client's cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    /// Status code (a 3xx is returned as is; redirects are never followed).
    pub status: u16,
    /// Every header with a lowercase name; each `Set-Cookie` is its own entry. Values that are
    /// not UTF-8 are decoded lossily. Order: names in order of first appearance, and the
    /// values of one name in the order received (hyper does not keep the interleaving of
    /// different names).
    pub headers: Vec<(String, String)>,
    /// The body bytes, at most `max_body_bytes` of them.
    #[serde(serialize_with = "ser_body")]
    pub body: Vec<u8>,
    /// True when the body was longer than the cap and has been cut.
    pub truncated: bool,
}

impl Response {
    /// The first value of the header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the header `name` (case-insensitive), in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every `Set-Cookie` header value, each separately, in order.
    pub fn set_cookies(&self) -> impl Iterator<Item = &str> {
        self.headers_named("set-cookie")
    }

    /// The body as text (invalid UTF-8 replaced by U+FFFD).
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// True for a 5xx status.
    pub fn is_server_error(&self) -> bool {
        (500..600).contains(&self.status)
    }
}

/// One request and its response, with the wall time between sending and the end of the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// What was sent.
    pub request: ProbeRequest,
    /// What came back.
    pub response: Response,
    /// Milliseconds from sending the request to the end of reading the body (of the attempt
    /// whose answer this is).
    pub elapsed_ms: u64,
    /// Set when the client sent the request a second time: why, and after what wait. The
    /// response is the second attempt's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retried: Option<Retried>,
}

fn ser_body<S: Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(body))
}

fn ser_opt_body<S: Serializer>(body: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match body {
        Some(b) => ser_body(b, s),
        None => s.serialize_none(),
    }
}

fn ser_url<S: Serializer>(url: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(url.as_str())
}
