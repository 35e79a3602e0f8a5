//! Exchange-level secret redaction and curl reproduction lines. Every exchange that leaves
//! the engine (for a report or a log) goes through [`Redactor::redact_exchange`] first;
//! [`curl_line`] is only ever called on an already-redacted exchange.
//!
//! The string-level work (the secret set, the placeholders) is [`crate::text::SecretSet`];
//! this file adds what only HTTP knows: URLs, `Authorization` headers, bodies.

use url::Url;

use super::exchange::{Exchange, ProbeRequest, Response};
use crate::text::{SecretSet, placeholder};

/// Replaces registered secrets with visible, shell-safe placeholders `<redacted:LABEL>`.
///
/// Cheap to clone; clones share the same secret list. A secret is found in every spelling a
/// server may echo it in (escaped, percent-encoded, base64, hex, …; see
/// [`SecretSet`]); one of 1–3 characters where it is a whole field value (a header, a form,
/// query or cookie value, a JSON string). `Authorization` request headers are always
/// redacted by structure, registered or not.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: SecretSet,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets themselves.
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Redactor {
    /// Registers `secret` under `label` (e.g. `password:alice`, `session:alice`).
    /// Secrets shorter than 4 characters are redacted by position only (whole field
    /// values); registering a secret twice keeps the first label.
    pub fn register(&self, secret: &str, label: &str) {
        self.secrets.register(secret, label);
    }

    /// How many distinct secrets are registered.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// True when no secret is registered.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Seals a finished output: every substring occurrence of a registered secret, in any
    /// spelling, becomes `placeholder(label)`; returns the bytes and how many were replaced.
    /// The choke point every writer goes through is `report::seal`, which picks the
    /// placeholder's escaping for the output format.
    pub fn seal(&self, bytes: &[u8], placeholder: &dyn Fn(&str) -> String) -> (Vec<u8>, usize) {
        self.secrets.seal(bytes, placeholder)
    }

    /// Replaces every occurrence of every registered secret in `text`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.redact(text)
    }

    /// Replaces every occurrence of every registered secret in `bytes` (a body); where
    /// secrets overlap, the union of their spans is replaced.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        self.secrets.redact_bytes(bytes)
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
            retried: ex.retried.as_ref().map(|r| super::Retried {
                first: self.redact(&r.first),
                delay_ms: r.delay_ms,
            }),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_exchange() -> Exchange {
        Exchange {
            request: ProbeRequest::post(
                Url::parse("http://127.0.0.1:8080/login?token=s3cr3t-token&page=2").expect("url"),
            )
            .header("Cookie", "sid=SESSION-abcdef; theme=dark")
            .header("Authorization", "Bearer eyJhbGciOi.payload.sig")
            .body(
                b"user=alice&password=p%40ss+word".to_vec(),
                "application/x-www-form-urlencoded",
            ),
            response: Response {
                status: 200,
                headers: vec![
                    (
                        "set-cookie".to_owned(),
                        "sid=SESSION-abcdef; HttpOnly".to_owned(),
                    ),
                    ("content-type".to_owned(), "application/json".to_owned()),
                ],
                body: b"{\"token\":\"s3cr3t-token\",\"user\":\"alice\"}".to_vec(),
                truncated: false,
            },
            elapsed_ms: 3,
            retried: None,
        }
    }

    #[test]
    fn redaction_replaces_secrets_in_url_headers_and_bodies_and_leaves_others() {
        let redactor = Redactor::default();
        redactor.register("SESSION-abcdef", "session:alice");
        redactor.register("s3cr3t-token", "token:alice");
        redactor.register("p@ss word", "password:alice");
        let red = redactor.redact_exchange(&sample_exchange());

        let all = serde_json::to_string(&red).expect("json");
        for secret in [
            "SESSION-abcdef",
            "s3cr3t-token",
            "p%40ss+word",
            "payload.sig",
        ] {
            assert!(!all.contains(secret), "{secret} leaked in {all}");
        }
        assert_eq!(
            red.request.url.as_str(),
            "http://127.0.0.1:8080/login?token=%3Credacted:token:alice%3E&page=2"
        );
        assert_eq!(
            red.request.headers[0].1,
            "sid=<redacted:session:alice>; theme=dark"
        );
        assert_eq!(
            red.request.body.as_deref(),
            Some(&b"user=alice&password=<redacted:password:alice>"[..])
        );
        assert_eq!(
            red.response.header("set-cookie"),
            Some("sid=<redacted:session:alice>; HttpOnly")
        );
        assert_eq!(
            red.response.body_text(),
            "{\"token\":\"<redacted:token:alice>\",\"user\":\"alice\"}"
        );
        assert_eq!(
            red.response.header("content-type"),
            Some("application/json")
        );
    }

    #[test]
    fn authorization_is_redacted_by_structure_even_when_not_registered() {
        let red = Redactor::default().redact_exchange(&sample_exchange());
        assert_eq!(red.request.headers[1].1, "Bearer <redacted:authorization>");
        let ex = Exchange {
            request: ProbeRequest::get(Url::parse("http://u:pw1234@h/").expect("url"))
                .header("authorization", "opaque"),
            ..sample_exchange()
        };
        let red = Redactor::default().redact_exchange(&ex);
        assert_eq!(red.request.headers[0].1, "<redacted:authorization>");
        assert!(!red.request.url.as_str().contains("pw1234"));
    }

    #[test]
    fn debug_output_counts_secrets_without_showing_them() {
        let redactor = Redactor::default();
        redactor.register("SESSION-abcdef", "session:alice");
        let shown = format!("{redactor:?}");
        assert!(shown.contains("secrets: 1"), "{shown}");
        assert!(!shown.contains("SESSION"), "{shown}");
    }

    #[test]
    fn curl_line_quotes_a_value_containing_a_single_quote() {
        let ex = Exchange {
            request: ProbeRequest::post(Url::parse("http://127.0.0.1:8080/login").expect("url"))
                .header("X-Note", "it's")
                .body(b"{\"name\":\"O'Brien\"}".to_vec(), "application/json"),
            ..sample_exchange()
        };
        assert_eq!(
            curl_line(&ex),
            r#"curl -sS -i -X POST 'http://127.0.0.1:8080/login' -H 'X-Note: it'\''s' -H 'Content-Type: application/json' --data-binary '{"name":"O'\''Brien"}'"#
        );
    }
}
