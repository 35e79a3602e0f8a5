//! The discovery's side of the wire: a probe client limited to the service's origin, a small
//! cookie jar, and the rule that without `--login` only GET, HEAD and OPTIONS leave it.

use std::collections::BTreeMap;
use std::time::Instant;

use url::Url;

use crate::http::{Client, Exchange, HttpError, ProbeRequest};

/// Why discovery stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoverError {
    /// A request failed (connection, timeout, the request budget).
    #[error("{0}")]
    Http(#[from] HttpError),
    /// A state-changing request was about to be sent without `--login` (a bug: discovery
    /// without credentials sends only GET, HEAD and OPTIONS).
    #[error("discovery without --login sends only GET, HEAD and OPTIONS, not {0}")]
    NotAllowed(String),
    /// The login answered without setting a session cookie (wrong credentials, or a login
    /// this discovery does not understand).
    #[error("the login answered {0} and set no session cookie (check the user and the password)")]
    LoginFailed(u16),
    /// The base URL itself did not answer with a page or document.
    #[error("{url} answered {status}; nothing to discover from")]
    Unreachable {
        /// The URL.
        url: String,
        /// Its status.
        status: u16,
    },
}

/// Cookies as a browser of this one origin keeps them: name → value.
pub type Jar = BTreeMap<String, String>;

/// The client, what it may send, and what it saw.
pub struct Probe {
    client: Client,
    base: Url,
    may_post: bool,
    /// `METHOD path` of every request sent, in order.
    pub sent: Vec<String>,
    /// Response times in milliseconds.
    pub latencies: Vec<u64>,
}

impl Probe {
    /// A probe over `client` (already limited to `base`'s origin); `may_post` with `--login`.
    pub fn new(client: Client, base: Url, may_post: bool) -> Probe {
        Probe {
            client,
            base,
            may_post,
            sent: Vec::new(),
            latencies: Vec::new(),
        }
    }

    /// `path` (or a URL) on the base URL's origin; `None` for another origin or a bad URL.
    pub fn url(&self, path: &str) -> Option<Url> {
        let u = self.base.join(path).ok()?;
        (u.origin() == self.base.origin()).then_some(u)
    }

    /// Sends `request` with the jar's cookies and puts the answer's cookies in the jar.
    pub async fn send(
        &mut self,
        mut request: ProbeRequest,
        jar: Option<&mut Jar>,
    ) -> Result<Exchange, DiscoverError> {
        if !self.may_post && !matches!(request.method.as_str(), "GET" | "HEAD" | "OPTIONS") {
            return Err(DiscoverError::NotAllowed(request.method));
        }
        if let Some(j) = jar.as_deref()
            && !j.is_empty()
        {
            let header: Vec<String> = j.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request
                .headers
                .push(("Cookie".to_string(), header.join("; ")));
        }
        self.sent
            .push(format!("{} {}", request.method, request.url.path()));
        let started = Instant::now();
        let ex = self.client.send(request).await?;
        self.latencies
            .push(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        if let Some(jar) = jar {
            for (name, value) in set_cookies(&ex) {
                if value.is_empty() {
                    jar.remove(&name);
                } else {
                    jar.insert(name, value);
                }
            }
        }
        Ok(ex)
    }

    /// `GET path` with `jar`.
    pub async fn get(&mut self, path: &str, jar: Option<&mut Jar>) -> Option<Exchange> {
        let url = self.url(path)?;
        self.send(ProbeRequest::get(url), jar).await.ok()
    }

    /// The median response time seen, in milliseconds.
    pub fn median_latency(&self) -> Option<u64> {
        let mut l = self.latencies.clone();
        l.sort_unstable();
        l.get(l.len() / 2).copied()
    }
}

/// The cookies an answer sets: name and value (empty for a removal), in order.
pub fn set_cookies(ex: &Exchange) -> Vec<(String, String)> {
    ex.response
        .set_cookies()
        .filter_map(|raw| {
            let pair = raw.split(';').next()?;
            let (name, value) = pair.split_once('=')?;
            let removal = raw.to_ascii_lowercase().contains("max-age=0")
                || raw
                    .to_ascii_lowercase()
                    .contains("expires=thu, 01 jan 1970");
            let value = if removal { "" } else { value.trim() };
            Some((name.trim().to_string(), value.to_string()))
        })
        .collect()
}

/// Whether an answer is an HTML page.
pub fn is_html(ex: &Exchange) -> bool {
    ex.response
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("text/html"))
}
