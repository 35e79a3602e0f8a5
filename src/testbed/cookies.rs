//! How a session travels in cookies: the `__Host-session` cookie (or a front-end's) and, under the
//! `signed-cookie-pair` quirk, its `__Host-session.sig` companion — reading the session a
//! request presents and building the `Set-Cookie` values that hand it out or clear it.
//!
//! This file owns the session cookies' names, attributes (and where the cookie-level flaws bend
//! them), the value encoding of the `percent-encoded-cookie` quirk and the signature of the
//! `signed-cookie-pair` quirk. It must not hand-format `Set-Cookie` values (they are built with
//! the third-party `cookie` crate), must not know the session store or the routes, and must not
//! panic on anything a client sends.

use std::fmt::Write as _;

use aws_lc_rs::hmac;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};

use super::config::TestbedConfig;
use super::flaw::Flaw;
use super::http::{error, header_str};
use super::quirk::Quirk;

/// The session cookie's name.
const SESSION_COOKIE: &str = "__Host-session";
/// The signature cookie's name under `signed-cookie-pair`.
const SIGNATURE_COOKIE: &str = "__Host-session.sig";
/// `Max-Age` of the login cookie under `cookie-long-lived`: two years.
const LONG_LIVED_SECS: i64 = 63_072_000;

/// Which `Set-Cookie` is being built.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum CookieUse {
    /// The anonymous session from `/api/csrf`.
    PreLogin,
    /// The authenticated session from `/api/login`.
    Login,
    /// The removal at logout.
    Removal,
}

/// The session cookies of one testbed: their attributes as the flaws bend them, the value
/// encoding and the signature key the quirks add.
pub(super) struct SessionCookies {
    config: TestbedConfig,
    /// The per-process random HMAC-SHA256 key of the signature cookie, under
    /// `signed-cookie-pair`.
    signer: Option<hmac::Key>,
}

impl SessionCookies {
    /// The session cookies for `config`, with a fresh signature key when they are signed.
    pub(super) fn new(config: TestbedConfig) -> Self {
        let signer = config
            .has_quirk(Quirk::SignedCookiePair)
            .then(|| hmac::Key::new(hmac::HMAC_SHA256, &rand::random::<[u8; 32]>()));
        SessionCookies { config, signer }
    }

    fn has(&self, flaw: Flaw) -> bool {
        self.config.has(flaw)
    }

    /// The session cookie's name and its signature cookie's: `__Host-session`, or the
    /// framework's under an HTML front-end.
    fn names(&self) -> (&'static str, &'static str) {
        match self.config.front_end.and_then(|f| f.html()) {
            Some(html) => (html.session_cookie, html.signature_cookie),
            None => (SESSION_COOKIE, SIGNATURE_COOKIE),
        }
    }

    /// The session id the request presents: the value of its first `__Host-session` cookie,
    /// percent-decoded under `percent-encoded-cookie` (a value that does not decode presents
    /// nothing); under `signed-cookie-pair` only when its first `__Host-session.sig` cookie is
    /// that id's signature. Unparsable `Cookie` headers and pairs are skipped.
    pub(super) fn presented(&self, headers: &HeaderMap) -> Option<String> {
        let (session, signature) = self.names();
        let value = request_cookie(headers, session)?;
        let id = self.decode(value)?;
        if let Some(key) = &self.signer {
            let signature = request_cookie(headers, signature)?;
            let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
            hmac::verify(key, id.as_bytes(), &signature).ok()?;
        }
        Some(id)
    }

    /// The session id in a value taken from the URL by the `session-id-in-url` flaw: decoded
    /// like a cookie value (a URL carries no signature, and the flaw does not ask for one).
    pub(super) fn url_id(&self, value: String) -> Option<String> {
        self.decode(value)
    }

    fn decode(&self, value: String) -> Option<String> {
        if self.config.has_quirk(Quirk::PercentEncodedCookie) {
            percent_decode(&value)
        } else {
            Some(value)
        }
    }

    /// The cookie value that carries session `id`: the id itself, or percent-encoded under
    /// `percent-encoded-cookie`.
    pub(super) fn value_of(&self, id: &str) -> String {
        if self.config.has_quirk(Quirk::PercentEncodedCookie) {
            percent_encode(id)
        } else {
            id.to_owned()
        }
    }

    /// `response` with the `Set-Cookie` that hands out session `id` (and, when signed, its
    /// signature cookie after it).
    pub(super) fn set(
        &self,
        response: Response,
        headers: &HeaderMap,
        id: &str,
        usage: CookieUse,
    ) -> Response {
        let (session, signature_name) = self.names();
        let cookie = self.cookie(headers, session, self.value_of(id), usage);
        let response = with_cookie(response, &cookie);
        match &self.signer {
            Some(key) => {
                let signature = URL_SAFE_NO_PAD.encode(hmac::sign(key, id.as_bytes()));
                let cookie = self.cookie(headers, signature_name, signature, usage);
                with_cookie(response, &cookie)
            }
            None => response,
        }
    }

    /// `response` with the removal cookie(s) of the session, unless `cookie-not-cleared-on-logout`
    /// is on.
    pub(super) fn clear(&self, response: Response, headers: &HeaderMap) -> Response {
        // Flaw: the browser is never told to drop the cookie.
        if self.has(Flaw::CookieNotClearedOnLogout) {
            return response;
        }
        let (session, signature) = self.names();
        let removal = self.cookie(headers, session, String::new(), CookieUse::Removal);
        let response = with_cookie(response, &removal);
        if self.signer.is_none() {
            return response;
        }
        let removal = self.cookie(headers, signature, String::new(), CookieUse::Removal);
        with_cookie(response, &removal)
    }

    /// Cookie `name` with every attribute the active flaws allow (the signature cookie has the
    /// same attributes as the session cookie). The removal cookie keeps the same Path/Domain
    /// (else it would not replace the cookie it means to delete).
    fn cookie(
        &self,
        headers: &HeaderMap,
        name: &'static str,
        value: String,
        usage: CookieUse,
    ) -> Cookie<'static> {
        let mut cookie = Cookie::new(name, value);
        cookie.set_path(if self.has(Flaw::CookiePrefixBroken) {
            "/api"
        } else {
            "/"
        });
        // Explicit `false` matters: with `SameSite=None` and `secure` unset, the cookie crate
        // would add `Secure` on its own.
        cookie.set_secure(!self.has(Flaw::CookieNoSecure));
        cookie.set_http_only(!self.has(Flaw::CookieNoHttpOnly));
        cookie.set_same_site(if self.has(Flaw::CookieNoSameSite) {
            None
        } else if self.has(Flaw::CookieSameSiteNone) || self.has(Flaw::CsrfUnprotected) {
            // An unprotected logout is forgeable only with a cookie browsers send cross-site.
            Some(SameSite::None)
        } else {
            Some(SameSite::Lax)
        });
        if self.has(Flaw::CookieParentDomain)
            && let Some(domain) = header_str(headers, &header::HOST).and_then(parent_domain)
        {
            cookie.set_domain(domain);
        }
        match usage {
            CookieUse::PreLogin => {}
            CookieUse::Login => {
                if self.has(Flaw::CookieLongLived) {
                    cookie.set_max_age(cookie::time::Duration::seconds(LONG_LIVED_SECS));
                }
            }
            CookieUse::Removal => cookie.make_removal(),
        }
        cookie
    }
}

/// The value of the first cookie called `name` the request carries.
fn request_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .flatten()
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// `id` with every byte but ASCII letters, digits and `-._~` written `%XX` (upper-case hex).
fn percent_encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + 8);
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `value` with every `%XX` escape (hex digits in either case) decoded; other bytes are kept
/// as they are. `None` for a bad escape or a result that is not UTF-8.
fn percent_decode(value: &str) -> Option<String> {
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let high = char::from(bytes.next()?).to_digit(16)?;
        let low = char::from(bytes.next()?).to_digit(16)?;
        // Two hex digits are at most 0xff.
        out.push(u8::try_from(high * 16 + low).ok()?);
    }
    String::from_utf8(out).ok()
}

/// The `cookie-parent-domain` scope for a `Host` header value: the host without its port;
/// then the first label dropped when it has two or more labels and is not an IP address, else
/// the host itself. `None` when the host is not a plain name or address (nothing is echoed
/// from a hostile `Host` into `Set-Cookie`).
fn parent_domain(host: &str) -> Option<String> {
    let host = if let Some(rest) = host.strip_prefix('[') {
        let (inner, _) = rest.split_once(']')?;
        return inner
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(|ip| ip.to_string());
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.split('.').any(str::is_empty);
    if !plain {
        return None;
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some(host);
    }
    match host.split_once('.') {
        Some((_, parent)) => Some(parent.to_owned()),
        None => Some(host),
    }
}

fn with_cookie(mut response: Response, cookie: &Cookie<'_>) -> Response {
    match HeaderValue::from_str(&cookie.to_string()) {
        Ok(value) => {
            response.headers_mut().append(header::SET_COOKIE, value);
            response
        }
        // Unreachable in practice: ids are minted ASCII, percent-encoded, or were read from a
        // valid header.
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_domain_drops_first_label_of_names_only() {
        assert_eq!(
            parent_domain("app.example.com:8080").as_deref(),
            Some("example.com")
        );
        assert_eq!(parent_domain("example.com").as_deref(), Some("com"));
        assert_eq!(
            parent_domain("localhost:3000").as_deref(),
            Some("localhost")
        );
        assert_eq!(
            parent_domain("127.0.0.1:3000").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(parent_domain("[::1]:3000").as_deref(), Some("::1"));
        assert_eq!(parent_domain("a.b; Max-Age=0"), None);
        assert_eq!(parent_domain(""), None);
        assert_eq!(parent_domain("a..b"), None);
        assert_eq!(parent_domain("[::1"), None);
    }

    #[test]
    fn percent_encoding_round_trips_and_decoding_ignores_hex_case() {
        let id = "ab+c/d==";
        assert_eq!(percent_encode(id), "ab%2Bc%2Fd%3D%3D");
        assert_eq!(percent_decode(&percent_encode(id)).as_deref(), Some(id));
        assert_eq!(percent_decode("ab%2bc%2fd%3d%3d").as_deref(), Some(id));
        assert_eq!(percent_decode("ab+c").as_deref(), Some("ab+c"));
        assert_eq!(percent_encode("é%"), "%C3%A9%25");
        for bad in ["%", "%2", "%zz", "%+1", "%-1", "%ff", "a%C3"] {
            assert_eq!(percent_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn signed_ids_need_their_own_signature() {
        let cookies =
            SessionCookies::new(TestbedConfig::default().with_quirk(Quirk::SignedCookiePair));
        let key = cookies.signer.as_ref().unwrap();
        let signature = URL_SAFE_NO_PAD.encode(hmac::sign(key, b"id-1"));
        let headers = |cookie: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
            headers
        };
        let pair = format!("{SESSION_COOKIE}=id-1; {SIGNATURE_COOKIE}={signature}");
        assert_eq!(cookies.presented(&headers(&pair)).as_deref(), Some("id-1"));
        let other = format!("{SESSION_COOKIE}=id-2; {SIGNATURE_COOKIE}={signature}");
        assert_eq!(cookies.presented(&headers(&other)), None);
        assert_eq!(
            cookies.presented(&headers(&format!("{SESSION_COOKIE}=id-1"))),
            None
        );
    }
}
