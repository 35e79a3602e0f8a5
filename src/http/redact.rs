//! Secret redaction and curl reproduction lines. Every exchange that leaves the engine (for a
//! report or a log) goes through [`Redactor::redact_exchange`] first; [`curl_line`] is only
//! ever called on an already-redacted exchange.

use std::sync::{Arc, RwLock};

use url::Url;

use super::exchange::{Exchange, ProbeRequest, Response};

/// Secrets shorter than this many characters are ignored: they would redact noise.
const MIN_SECRET_CHARS: usize = 4;

/// Replaces registered secrets with visible, shell-safe placeholders `<redacted:LABEL>`.
///
/// Cheap to clone; clones share the same secret list. Besides the secret itself, its
/// form-urlencoded, percent-encoded and JSON-escaped spellings are registered too, so a
/// password in a form body or a JSON string is caught. `Authorization` request headers are
/// always redacted by structure, registered or not.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Secrets>>,
}

/// Registered secrets, indexed by their first four bytes so a redaction pass looks only at
/// the secrets that can start at each position (a run registers thousands: every session id
/// and token it sees).
#[derive(Default)]
struct Secrets {
    /// First four bytes → (secret, label), longest secret first.
    by_prefix: std::collections::HashMap<[u8; 4], Vec<(String, String)>>,
    count: usize,
}

fn prefix(bytes: &[u8]) -> Option<[u8; 4]> {
    bytes.get(..4).and_then(|p| p.try_into().ok())
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets themselves.
        let n = self.secrets.read().map(|s| s.count).unwrap_or(0);
        f.debug_struct("Redactor").field("secrets", &n).finish()
    }
}

impl Redactor {
    /// Registers `secret` under `label` (e.g. `password:alice`, `session:alice`).
    /// Secrets shorter than 4 characters are ignored; registering a secret twice keeps the
    /// first label.
    pub fn register(&self, secret: &str, label: &str) {
        if secret.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json
            .strip_prefix('"')
            .and_then(|j| j.strip_suffix('"'))
            .unwrap_or(secret)
            .to_owned();
        let mut secrets = match self.secrets.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        for variant in [secret.to_owned(), form, percent, json] {
            // At least four characters, so at least four bytes.
            let Some(key) = prefix(variant.as_bytes()) else {
                continue;
            };
            let bucket = secrets.by_prefix.entry(key).or_default();
            if bucket.iter().any(|(s, _)| *s == variant) {
                continue;
            }
            let at = bucket.partition_point(|(s, _)| s.len() >= variant.len());
            bucket.insert(at, (variant, label.to_owned()));
            secrets.count += 1;
        }
    }

    /// Replaces every occurrence of every registered secret in `text`.
    pub fn redact(&self, text: &str) -> String {
        let out = self.redact_bytes(text.as_bytes());
        // Matching valid UTF-8 needles in valid UTF-8 text only cuts at char boundaries,
        // so the result is valid UTF-8; the lossy path is never taken in practice.
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// Replaces every occurrence of every registered secret in `bytes`, in one left-to-right
    /// pass; where secrets overlap at a position, the longest wins.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let secrets = match self.secrets.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if secrets.count == 0 {
            return bytes.to_vec();
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        'outer: while i < bytes.len() {
            if let Some(bucket) = prefix(&bytes[i..]).and_then(|k| secrets.by_prefix.get(&k)) {
                for (secret, label) in bucket {
                    if bytes[i..].starts_with(secret.as_bytes()) {
                        out.extend_from_slice(placeholder(label).as_bytes());
                        i += secret.len();
                        continue 'outer;
                    }
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        out
    }

    /// A copy of `ex` with secrets removed from the URL, every header value and both bodies;
    /// `Authorization`/`Proxy-Authorization` request headers keep only their scheme word and
    /// a URL password is always replaced.
    pub fn redact_exchange(&self, ex: &Exchange) -> Exchange {
        let request = &ex.request;
        let headers = request
            .headers
            .iter()
            .map(|(name, value)| {
                let value = if is_authorization(name) {
                    redact_authorization(value)
                } else {
                    self.redact(value)
                };
                (name.clone(), value)
            })
            .collect();
        Exchange {
            request: ProbeRequest {
                method: self.redact(&request.method),
                url: self.redact_url(&request.url),
                headers,
                body: request.body.as_deref().map(|b| self.redact_bytes(b)),
            },
            response: Response {
                status: ex.response.status,
                headers: ex
                    .response
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), self.redact(v)))
                    .collect(),
                body: self.redact_bytes(&ex.response.body),
                truncated: ex.response.truncated,
            },
            elapsed_ms: ex.elapsed_ms,
        }
    }

    /// The URL with registered secrets replaced (placeholders are percent-encoded where the
    /// URL syntax demands it) and any userinfo password replaced.
    pub fn redact_url(&self, url: &Url) -> Url {
        let mut url = url.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some("redacted"));
        }
        let text = self.redact(url.as_str());
        if text == url.as_str() {
            return url;
        }
        match Url::parse(&text) {
            Ok(parsed) => parsed,
            Err(_) => {
                // A secret sat where a placeholder is not valid syntax (e.g. the host):
                // keep only what is certainly harmless.
                let mut safe = url;
                safe.set_path("/<redacted:unparseable-url>");
                safe.set_query(None);
                safe.set_fragment(None);
                let _ = safe.set_username("");
                let _ = safe.set_password(None);
                if self.redact(safe.as_str()) == safe.as_str() {
                    safe
                } else {
                    Url::parse("http://redacted.invalid/").unwrap_or(safe)
                }
            }
        }
    }
}

fn placeholder(label: &str) -> String {
    format!("<redacted:{label}>")
}

fn is_authorization(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("proxy-authorization")
}

/// `Bearer abc.def` → `Bearer <redacted:authorization>`; a value without a scheme word
/// is replaced entirely.
fn redact_authorization(value: &str) -> String {
    let trimmed = value.trim_start();
    match trimmed.split_once(' ') {
        Some((scheme, _))
            if !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            format!("{scheme} {}", placeholder("authorization"))
        }
        _ => placeholder("authorization"),
    }
}

/// A copy-pasteable curl command reproducing the request of `ex`:
/// `curl -sS -i -X METHOD 'URL' -H 'K: V' --data-binary 'BODY'`, every argument in POSIX
/// single quotes. Call it on an already-redacted exchange. A body that is not UTF-8 (or holds
/// NUL bytes, which no shell argument can carry) is shown lossily, so the line is then an
/// approximation.
pub fn curl_line(ex: &Exchange) -> String {
    let req = &ex.request;
    let mut line = String::from("curl -sS");
    if req.method.eq_ignore_ascii_case("HEAD") {
        line.push_str(" -I");
    } else {
        line.push_str(" -i -X ");
        if !req.method.is_empty()
            && req
                .method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            line.push_str(&req.method);
        } else {
            line.push_str(&shell_quote(&req.method));
        }
    }
    line.push(' ');
    line.push_str(&shell_quote(req.url.as_str()));
    for (name, value) in &req.headers {
        line.push_str(" -H ");
        line.push_str(&shell_quote(&format!("{name}: {value}")));
    }
    if let Some(body) = &req.body {
        let text = String::from_utf8_lossy(body).replace('\0', "\u{FFFD}");
        line.push_str(" --data-binary ");
        line.push_str(&shell_quote(&text));
    }
    line
}

/// POSIX single-quote escaping: `it's` → `'it'\''s'`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
