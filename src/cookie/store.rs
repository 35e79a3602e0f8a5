//! The RFC 6265bis user-agent cookie store: storage model (§5.7) and retrieval (§5.8.3).
//!
//! Owns [`CookieStore`], [`StoredCookie`], [`Rejection`] and the matching helpers (default
//! path, path-match, domain-match, "secure origin"). It answers "what would a browser do" for
//! a same-site, top-level HTTP response; it must not do I/O or read the clock (`now` is always
//! passed in), and must not panic on any input.
//!
//! Model choices and limitations:
//! - A "secure origin" is an `https`/`wss` URL, or an `http`/`ws` URL whose host is loopback
//!   (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`): browsers treat those as potentially
//!   trustworthy and let them set and receive `Secure` cookies.
//! - Public suffixes come from the embedded Public Suffix List (`suffix`): `Domain=com` from
//!   `example.com` is rejected, `Domain=com` from the host `com` makes a host-only cookie
//!   (§5.7 step 9); names under unknown top-level domains are not public suffixes here.
//! - SameSite only matters for cross-site requests; every request here is treated as
//!   same-site, so it is recorded but never blocks storage or retrieval.
//! - Cookie prefixes are matched case-insensitively (`__HOST-` counts), as current browsers
//!   and the latest 6265bis drafts do.
//! - No per-domain or total cookie limits, and last-access times are not tracked.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;
use url::{Host, Url};

use super::date::EARLIEST_COOKIE_DATE;
use super::parse::{Effective, MAX_NAME_VALUE_LEN, SameSite, SetCookieFields};

/// The cap on a cookie's lifetime: 400 days in seconds (RFC 6265bis §5.5, §5.6.1, §5.6.2).
pub const COOKIE_AGE_LIMIT: i64 = 400 * 86_400;

/// Where a request comes from, for SameSite enforcement (RFC 6265bis §5.2, §5.8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteContext {
    /// The request's site for cookies is the target's own site.
    SameSite,
    /// The request comes from another site (e.g. an attacker's page).
    CrossSite {
        /// A top-level navigation with a safe method (GET, HEAD): `Lax` cookies go along.
        top_level_safe: bool,
    },
}

impl SiteContext {
    /// Whether a cookie with `same_site` is sent in this context.
    pub fn admits(self, same_site: SameSite) -> bool {
        match (self, same_site) {
            (SiteContext::SameSite, _) => true,
            (SiteContext::CrossSite { .. }, SameSite::None | SameSite::Default) => true,
            (SiteContext::CrossSite { top_level_safe }, SameSite::Lax) => top_level_safe,
            (SiteContext::CrossSite { .. }, SameSite::Strict) => false,
        }
    }
}

/// A cookie as the user agent stores it (RFC 6265bis §5.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCookie {
    /// Cookie name (may be empty for a nameless cookie).
    pub name: String,
    /// Cookie value.
    pub value: String,
    /// The domain: the request host when host-only, else the `Domain` attribute.
    pub domain: String,
    /// The path: the `Path` attribute or the request URL's default path.
    pub path: String,
    /// Sent only to exactly `domain` (no `Domain` attribute).
    pub host_only: bool,
    /// Sent only to secure origins (`Secure`).
    pub secure_only: bool,
    /// Hidden from scripts (`HttpOnly`).
    pub http_only: bool,
    /// SameSite enforcement.
    pub same_site: SameSite,
    /// Expiry as Unix seconds; `None` = session cookie.
    pub expiry: Option<i64>,
    /// Monotonic creation counter (kept when a cookie replaces another), for ordering.
    pub creation: u64,
    /// `Partitioned` (CHIPS).
    pub partitioned: bool,
}

impl StoredCookie {
    /// True when the cookie has expired at `now` (expiry at or before `now`).
    pub fn is_expired(&self, now: i64) -> bool {
        self.expiry.is_some_and(|e| e <= now)
    }
}

/// What storing a `Set-Cookie` did to the jar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreOutcome {
    /// A new cookie was added.
    Created,
    /// An existing cookie with the same name, domain, host-only flag and path was replaced.
    Replaced,
    /// The cookie was already expired and removed an existing matching cookie (logout).
    Deleted,
    /// The cookie was already expired and there was no matching cookie to remove.
    ExpiredNoMatch,
}

/// The result of a successful [`CookieStore::set`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stored {
    /// What happened to the jar.
    pub outcome: StoreOutcome,
    /// The cookie as created (for `Deleted`/`ExpiredNoMatch` it is not in the jar).
    pub cookie: StoredCookie,
    /// True when the 400-day lifetime cap shortened the requested expiry.
    pub expiry_capped: bool,
}

/// Why a user agent ignores a cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("cookie {cookie_name:?} rejected: {message} ({section})")]
pub struct Rejection {
    /// What rule the cookie broke.
    pub kind: RejectionKind,
    /// The name of the rejected cookie.
    pub cookie_name: String,
    /// A lowercase explanation.
    pub message: String,
    /// The RFC step that mandates the rejection, e.g. `RFC 6265bis §5.7 step 13`.
    pub section: &'static str,
}

/// The kinds of [`Rejection`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionKind {
    /// A control character other than HTAB anywhere in the header.
    ControlCharacter,
    /// Name + value longer than 4096 bytes.
    NameValueTooLong,
    /// Both name and value are empty.
    EmptyNameAndValue,
    /// The request URL has no host (e.g. `data:`), so no cookie can be stored for it.
    NoHost,
    /// The `Domain` attribute contains non-ASCII characters.
    NonAsciiDomain,
    /// The request host does not domain-match the `Domain` attribute.
    DomainMismatch,
    /// The `Domain` attribute is a public suffix (`com`, `co.uk`, `github.io`) other than the
    /// request host itself.
    PublicSuffixDomain,
    /// `Secure` set by a non-secure origin.
    SecureFromInsecureOrigin,
    /// A non-secure origin tried to overwrite a `Secure` cookie.
    OverwriteOfSecureFromInsecure,
    /// `SameSite=None` without `Secure`.
    SameSiteNoneWithoutSecure,
    /// `Partitioned` (CHIPS) without `Secure`.
    PartitionedWithoutSecure,
    /// A `__Secure-` cookie without `Secure`.
    SecurePrefixViolation,
    /// A `__Host-` cookie without `Secure`, with `Domain`, or with a path other than `/`.
    HostPrefixViolation,
}

/// Why a stored cookie is not sent with a request (RFC 6265bis §5.8.3 step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotSent {
    /// The request URL has no host.
    NoHost,
    /// A host-only cookie and a request to another host (a subdomain included).
    HostOnly,
    /// The request host does not domain-match the cookie's domain.
    OtherDomain,
    /// The request path does not path-match the cookie's path.
    OtherPath,
    /// A `Secure` cookie and a request to an origin that is not secure.
    InsecureOrigin,
    /// The cookie has expired.
    Expired,
    /// The request is cross-site and the cookie's `SameSite` keeps it out.
    SameSite,
}

impl NotSent {
    /// The reason in words.
    pub fn describe(self) -> &'static str {
        match self {
            NotSent::NoHost => "the request URL has no host",
            NotSent::HostOnly => {
                "host-only cookie (no Domain attribute): sent only to the exact host that set it"
            }
            NotSent::OtherDomain => "the request host does not domain-match the cookie's Domain",
            NotSent::OtherPath => "the request path is not under the cookie's Path",
            NotSent::InsecureOrigin => "Secure cookie and the request's origin is not secure",
            NotSent::Expired => "the cookie has expired",
            NotSent::SameSite => "cross-site request and the cookie's SameSite keeps it out",
        }
    }
}

/// Why `c` is not sent to `host` + `path` (`None`: it is), checked in the order of §5.8.3.
fn not_sent(
    c: &StoredCookie,
    host: Option<&str>,
    path: &str,
    secure: bool,
    now: i64,
    context: SiteContext,
) -> Option<NotSent> {
    let Some(host) = host else {
        return Some(NotSent::NoHost);
    };
    if c.host_only && host != c.domain {
        Some(NotSent::HostOnly)
    } else if !c.host_only && !domain_match(host, &c.domain) {
        Some(NotSent::OtherDomain)
    } else if !path_match(path, &c.path) {
        Some(NotSent::OtherPath)
    } else if c.secure_only && !secure {
        Some(NotSent::InsecureOrigin)
    } else if c.is_expired(now) {
        Some(NotSent::Expired)
    } else if !context.admits(c.same_site) {
        Some(NotSent::SameSite)
    } else {
        None
    }
}

/// An in-memory cookie jar following RFC 6265bis §5.7 and §5.8.3.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CookieStore {
    cookies: Vec<StoredCookie>,
    next_creation: u64,
}

/// True for an origin browsers let set and receive `Secure` cookies: `https`/`wss`, or
/// `http`/`ws` on a loopback host (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`).
pub fn is_secure_origin(url: &Url) -> bool {
    match url.scheme() {
        "https" | "wss" => true,
        "http" | "ws" => match url.host() {
            Some(Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                d == "localhost" || d.ends_with(".localhost")
            }
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
            None => false,
        },
        _ => false,
    }
}

/// The canonicalised request host (lowercase; IPv6 in brackets), if any.
fn request_host(url: &Url) -> Option<String> {
    url.host_str()
        .filter(|h| !h.is_empty())
        .map(str::to_ascii_lowercase)
}

fn is_ip(host: &str) -> bool {
    host.starts_with('[') || host.parse::<Ipv4Addr>().is_ok()
}

/// Domain-match (RFC 6265bis §5.1.3): `host` equals `domain`, or `host` is a host name (not an
/// IP address) ending in `.` + `domain`. Both must already be lowercase.
pub fn domain_match(host: &str, domain: &str) -> bool {
    if host == domain {
        return true;
    }
    if domain.is_empty() || is_ip(host) {
        return false;
    }
    host.strip_suffix(domain)
        .is_some_and(|prefix| prefix.ends_with('.'))
}

/// The default path of a request URL (RFC 6265bis §5.1.4): the path up to, not including, its
/// right-most `/`, or `/` when that would be empty.
pub fn default_path(url: &Url) -> String {
    let path = url.path();
    if !path.starts_with('/') {
        return "/".to_owned();
    }
    match path.rfind('/') {
        Some(i) if i > 0 => path.get(..i).unwrap_or("/").to_owned(),
        _ => "/".to_owned(),
    }
}

/// Path-match (RFC 6265bis §5.1.4): identical, or `cookie_path` is a prefix of `request_path`
/// that ends in `/` or is followed by `/` in `request_path`.
pub fn path_match(request_path: &str, cookie_path: &str) -> bool {
    if request_path == cookie_path {
        return true;
    }
    match request_path.strip_prefix(cookie_path) {
        Some(rest) => cookie_path.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

fn has_prefix_ci(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Builds the [`Rejection`]s of one cookie.
#[derive(Clone, Copy)]
struct Reject<'a>(&'a str);

impl Reject<'_> {
    fn because(self, kind: RejectionKind, section: &'static str, message: String) -> Rejection {
        Rejection {
            kind,
            cookie_name: self.0.to_owned(),
            message,
            section,
        }
    }
}

/// Where a cookie being stored applies: its domain, path and host-only flag.
struct Scope<'a> {
    domain: &'a str,
    path: &'a str,
    host_only: bool,
}

/// §5.6 steps 1 and 5, §5.7 step 2: no control characters, name and value within the size
/// limit, not both empty.
fn check_header_text<H: SetCookieFields + ?Sized>(
    header: &H,
    reject: Reject<'_>,
) -> Result<(), Rejection> {
    if let Some(b) = header
        .raw()
        .bytes()
        .find(|&b| matches!(b, 0x00..=0x08 | 0x0A..=0x1F | 0x7F))
    {
        return Err(reject.because(
            RejectionKind::ControlCharacter,
            "RFC 6265bis §5.6 step 1",
            format!("the header contains the control character 0x{b:02x}"),
        ));
    }
    let len = header.name().len() + header.value().len();
    if len > MAX_NAME_VALUE_LEN {
        return Err(reject.because(
            RejectionKind::NameValueTooLong,
            "RFC 6265bis §5.6 step 5",
            format!("name and value are {len} bytes, more than {MAX_NAME_VALUE_LEN}"),
        ));
    }
    if header.name().is_empty() && header.value().is_empty() {
        return Err(reject.because(
            RejectionKind::EmptyNameAndValue,
            "RFC 6265bis §5.7 step 2",
            "both the name and the value are empty".into(),
        ));
    }
    Ok(())
}

/// Step 6: the expiry (Max-Age wins over Expires; both capped at 400 days) and whether the
/// cap shortened it.
fn expiry(eff: &Effective, now: i64) -> (Option<i64>, bool) {
    let limit = now.saturating_add(COOKIE_AGE_LIMIT);
    match (eff.max_age, eff.expires) {
        (Some(age), _) if age <= 0 => (Some(EARLIEST_COOKIE_DATE), false),
        (Some(age), _) => (
            Some(now.saturating_add(age.min(COOKIE_AGE_LIMIT))),
            age > COOKIE_AGE_LIMIT,
        ),
        (None, Some(t)) if t > limit => (Some(limit), true),
        (None, Some(t)) => (Some(t), false),
        (None, None) => (None, false),
    }
}

/// Steps 7-10: the cookie's domain and host-only flag; a `Domain` attribute must be ASCII,
/// not a public suffix (unless it is the host itself: then host-only) and domain-match the
/// request host.
fn cookie_domain(
    attribute: Option<String>,
    host: String,
    reject: Reject<'_>,
) -> Result<(String, bool), Rejection> {
    let Some(d) = attribute else {
        return Ok((host, true));
    };
    if !d.is_ascii() {
        return Err(reject.because(
            RejectionKind::NonAsciiDomain,
            "RFC 6265bis §5.7 step 8",
            format!("the domain attribute {d:?} is not ascii"),
        ));
    }
    if super::suffix::is_public_suffix(&d) {
        if d == host {
            // Step 9: a public suffix equal to the host itself makes a host-only cookie.
            return Ok((host, true));
        }
        return Err(reject.because(
            RejectionKind::PublicSuffixDomain,
            "RFC 6265bis §5.7 step 9",
            format!(
                "the domain attribute {d:?} is a public suffix (public suffix list of psl {}): anyone can register a name under it, so browsers ignore the cookie",
                super::suffix::PSL_CRATE_VERSION
            ),
        ));
    }
    if !domain_match(&host, &d) {
        return Err(reject.because(
            RejectionKind::DomainMismatch,
            "RFC 6265bis §5.7 step 10",
            format!("the request host {host:?} does not domain-match {d:?}"),
        ));
    }
    Ok((d, false))
}

/// Step 19: `SameSite=None` requires `Secure`; so does `Partitioned` (CHIPS: a user agent
/// ignores a partitioned cookie without `Secure`, and Chromium does: found by the Chromium
/// differential, tests/browser_cookies); steps 20-21: the `__Secure-` and `__Host-`
/// prefixes (case-insensitive; a nameless cookie's value counts too).
fn check_same_site_and_prefixes<H: SetCookieFields + ?Sized>(
    header: &H,
    eff: &Effective,
    scope: &Scope<'_>,
) -> Result<(), Rejection> {
    let reject = Reject(header.name());
    if eff.same_site == SameSite::None && !eff.secure {
        return Err(reject.because(
            RejectionKind::SameSiteNoneWithoutSecure,
            "RFC 6265bis §5.7 step 19",
            "samesite=none requires the secure attribute".into(),
        ));
    }
    if eff.partitioned && !eff.secure {
        return Err(reject.because(
            RejectionKind::PartitionedWithoutSecure,
            "CHIPS (draft-cutler-httpbis-partitioned-cookies)",
            "a partitioned cookie requires the secure attribute".into(),
        ));
    }
    let prefixed = |p: &str| {
        has_prefix_ci(header.name(), p)
            || (header.name().is_empty() && has_prefix_ci(header.value(), p))
    };
    if prefixed("__Secure-") && !eff.secure {
        return Err(reject.because(
            RejectionKind::SecurePrefixViolation,
            "RFC 6265bis §5.7 step 20",
            "a __Secure- cookie must have the secure attribute".into(),
        ));
    }
    if prefixed("__Host-")
        && let Some(problem) = host_prefix_problem(eff, scope)
    {
        return Err(reject.because(
            RejectionKind::HostPrefixViolation,
            "RFC 6265bis §5.7 step 21",
            format!("a __Host- cookie must be secure, host-only and path=/, but {problem}"),
        ));
    }
    Ok(())
}

/// Why a `__Host-` cookie breaks its prefix's requirements, if it does.
fn host_prefix_problem(eff: &Effective, scope: &Scope<'_>) -> Option<String> {
    if !eff.secure {
        Some("it lacks the secure attribute".to_owned())
    } else if !scope.host_only {
        Some(format!("it has a domain attribute ({:?})", scope.domain))
    } else if eff.path.as_deref() != Some("/") {
        Some(match &eff.path {
            Some(p) => format!("its path is {p:?}, not \"/\""),
            None => "it has no valid path=/ attribute".to_owned(),
        })
    } else {
        None
    }
}

impl CookieStore {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// All cookies in the jar, in insertion order (a replacement keeps its slot).
    pub fn cookies(&self) -> &[StoredCookie] {
        &self.cookies
    }

    /// The first cookie named `name` (several may exist with different domains or paths).
    pub fn get(&self, name: &str) -> Option<&StoredCookie> {
        self.cookies.iter().find(|c| c.name == name)
    }

    /// Removes every cookie expired at `now`.
    pub fn evict_expired(&mut self, now: i64) {
        self.cookies.retain(|c| !c.is_expired(now));
    }

    /// Receives a `Set-Cookie` from a response to `request_url` at `now` (Unix seconds), the
    /// way a browser's HTTP layer does (RFC 6265bis §5.6 and §5.7). Expired cookies, including
    /// the one just received when it is a deletion, are evicted afterwards.
    pub fn set<H: SetCookieFields + ?Sized>(
        &mut self,
        header: &H,
        request_url: &Url,
        now: i64,
    ) -> Result<Stored, Rejection> {
        self.set_effective(header, header.effective(), request_url, now)
    }

    /// [`Self::set`] when the caller already has `header.effective()` as `eff`.
    pub(crate) fn set_effective<H: SetCookieFields + ?Sized>(
        &mut self,
        header: &H,
        eff: Effective,
        request_url: &Url,
        now: i64,
    ) -> Result<Stored, Rejection> {
        let reject = Reject(header.name());
        check_header_text(header, reject)?;
        let Some(host) = request_host(request_url) else {
            return Err(reject.because(
                RejectionKind::NoHost,
                "RFC 6265bis §5.7 step 10",
                format!("the request url {request_url} has no host"),
            ));
        };
        let secure_origin = is_secure_origin(request_url);
        let (expiry, expiry_capped) = expiry(&eff, now);
        let (domain, host_only) = cookie_domain(eff.domain.clone(), host, reject)?;
        // Step 11: path.
        let path = eff
            .path
            .clone()
            .unwrap_or_else(|| default_path(request_url));
        let scope = Scope {
            domain: &domain,
            path: &path,
            host_only,
        };
        self.check_secure(header, &eff, request_url, secure_origin, &scope, now)?;
        check_same_site_and_prefixes(header, &eff, &scope)?;

        let cookie = StoredCookie {
            name: header.name().to_owned(),
            value: header.value().to_owned(),
            domain,
            path,
            host_only,
            secure_only: eff.secure,
            http_only: eff.http_only,
            same_site: eff.same_site,
            expiry,
            creation: self.next_creation,
            partitioned: eff.partitioned,
        };
        self.next_creation += 1;
        let (outcome, cookie) = self.store(cookie, now);
        self.evict_expired(now);
        Ok(Stored {
            outcome,
            cookie,
            expiry_capped,
        })
    }

    /// Steps 12-13 and 16: `Secure` only from a secure origin, and a non-secure origin may
    /// not overlay a live `Secure` cookie.
    fn check_secure<H: SetCookieFields + ?Sized>(
        &self,
        header: &H,
        eff: &Effective,
        request_url: &Url,
        secure_origin: bool,
        scope: &Scope<'_>,
        now: i64,
    ) -> Result<(), Rejection> {
        let reject = Reject(header.name());
        if eff.secure && !secure_origin {
            return Err(reject.because(
                RejectionKind::SecureFromInsecureOrigin,
                "RFC 6265bis §5.7 step 13",
                format!("a secure cookie cannot be set by the non-secure origin {request_url}"),
            ));
        }
        if !eff.secure
            && !secure_origin
            && let Some(old) = self.cookies.iter().find(|old| {
                old.name == header.name()
                    && old.secure_only
                    && !old.is_expired(now)
                    && (domain_match(&old.domain, scope.domain)
                        || domain_match(scope.domain, &old.domain))
                    && path_match(scope.path, &old.path)
            })
        {
            return Err(reject.because(
                RejectionKind::OverwriteOfSecureFromInsecure,
                "RFC 6265bis §5.7 step 16",
                format!(
                    "a non-secure origin cannot overwrite the secure cookie set for domain {:?} path {:?}",
                    old.domain, old.path
                ),
            ));
        }
        Ok(())
    }

    /// Steps 22-23: the new cookie replaces one with the same name, domain, host-only flag
    /// and path (keeping its creation time), or is added unless it is already expired.
    fn store(&mut self, mut cookie: StoredCookie, now: i64) -> (StoreOutcome, StoredCookie) {
        let existing = self.cookies.iter().position(|old| {
            old.name == cookie.name
                && old.domain == cookie.domain
                && old.host_only == cookie.host_only
                && old.path == cookie.path
        });
        let expired = cookie.is_expired(now);
        let outcome = match existing {
            Some(i) => {
                if let Some(old) = self.cookies.get_mut(i) {
                    cookie.creation = old.creation;
                    *old = cookie.clone();
                }
                if expired {
                    StoreOutcome::Deleted
                } else {
                    StoreOutcome::Replaced
                }
            }
            None => {
                if !expired {
                    self.cookies.push(cookie.clone());
                    StoreOutcome::Created
                } else {
                    StoreOutcome::ExpiredNoMatch
                }
            }
        };
        (outcome, cookie)
    }

    /// Every stored cookie with why it is not sent to `url` at `now` in `context` (RFC 6265bis
    /// §5.8.3 step 1), `None` when it is sent; in storage order.
    pub fn sending(
        &self,
        url: &Url,
        now: i64,
        context: SiteContext,
    ) -> Vec<(&StoredCookie, Option<NotSent>)> {
        let host = request_host(url);
        let secure = is_secure_origin(url);
        self.cookies
            .iter()
            .map(|c| {
                (
                    c,
                    not_sent(c, host.as_deref(), url.path(), secure, now, context),
                )
            })
            .collect()
    }

    /// The `Cookie` header a browser would send to `url` at `now` (RFC 6265bis §5.8.3), or
    /// `None` when no cookie applies. Cookies with longer paths come first; equal paths are
    /// ordered by creation. Requests are assumed same-site and from the HTTP layer.
    pub fn cookie_header(&self, url: &Url, now: i64) -> Option<String> {
        self.cookie_header_in(url, now, SiteContext::SameSite)
    }

    /// As [`Self::cookie_header`], for a request made in `context` (RFC 6265bis §5.8.3 step 2):
    /// a cross-site request carries no `SameSite=Strict` cookie, and `SameSite=Lax` cookies
    /// only on a top-level navigation with a safe method. A cookie without a `SameSite`
    /// attribute is sent cross-site: browsers differ on its default (Lax in some, None in
    /// others), so an auditor assumes the one an attacker can use.
    pub fn cookie_header_in(&self, url: &Url, now: i64, context: SiteContext) -> Option<String> {
        let mut list: Vec<&StoredCookie> = self
            .sending(url, now, context)
            .into_iter()
            .filter_map(|(c, why)| why.is_none().then_some(c))
            .collect();
        if list.is_empty() {
            return None;
        }
        list.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.creation.cmp(&b.creation))
        });
        let mut out = String::new();
        for (i, c) in list.iter().enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            if !c.name.is_empty() {
                out.push_str(&c.name);
                out.push('=');
            }
            out.push_str(&c.value);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookie::parse::{parse_set_cookie, parse_set_cookie_ref};

    const NOW: i64 = 1_700_000_000;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    /// Stores through the owned parse and, on a twin jar, through the borrowed one (the
    /// engine's path): both must give the same result and the same jar.
    fn set(store: &mut CookieStore, u: &str, h: &str) -> Result<Stored, Rejection> {
        let mut twin = store.clone();
        let owned = store.set(&parse_set_cookie(h), &url(u), NOW);
        let borrowed = twin.set(&parse_set_cookie_ref(h), &url(u), NOW);
        assert_eq!(owned, borrowed, "{h}");
        assert_eq!(*store, twin, "{h}");
        owned
    }

    fn rejection(u: &str, h: &str) -> RejectionKind {
        set(&mut CookieStore::new(), u, h).unwrap_err().kind
    }

    #[test]
    fn rfc_example_session_cookie_is_host_only_with_default_path() {
        let mut s = CookieStore::new();
        let st = set(
            &mut s,
            "https://www.example.com/a/b",
            "SID=31d4d96e407aad42",
        )
        .unwrap();
        assert_eq!(st.outcome, StoreOutcome::Created);
        let c = &st.cookie;
        assert_eq!(
            (c.domain.as_str(), c.path.as_str(), c.host_only),
            ("www.example.com", "/a", true)
        );
        assert_eq!(c.expiry, None);
        assert_eq!(
            s.cookie_header(&url("https://www.example.com/a/c"), NOW)
                .as_deref(),
            Some("SID=31d4d96e407aad42")
        );
        assert_eq!(s.cookie_header(&url("https://www.example.com/"), NOW), None);
        assert_eq!(
            s.cookie_header(&url("https://sub.www.example.com/a"), NOW),
            None
        );
    }

    #[test]
    fn rfc_example_domain_cookie_reaches_subdomains() {
        let mut s = CookieStore::new();
        set(
            &mut s,
            "https://www.example.com/",
            "SID=31d4d96e407aad42; Path=/; Domain=example.com",
        )
        .unwrap();
        let c = s.get("SID").unwrap();
        assert!(!c.host_only);
        for u in [
            "https://example.com/",
            "https://www.example.com/x",
            "https://a.b.example.com/",
        ] {
            assert!(s.cookie_header(&url(u), NOW).is_some(), "{u}");
        }
        assert_eq!(s.cookie_header(&url("https://notexample.com/"), NOW), None);
    }

    #[test]
    fn a_public_suffix_domain_is_rejected_unless_it_is_the_host() {
        for (u, h) in [
            ("https://example.org/", "a=b; Domain=.org"),
            ("https://www.example.co.uk/", "a=b; Domain=co.uk"),
            ("https://me.github.io/", "a=b; Domain=github.io"),
        ] {
            let r = set(&mut CookieStore::new(), u, h).unwrap_err();
            assert_eq!(r.kind, RejectionKind::PublicSuffixDomain, "{u} {h}");
            assert!(r.message.contains("public suffix"), "{}", r.message);
        }
        // The host itself: stored host-only, not for every name under the suffix.
        let mut s = CookieStore::new();
        set(&mut s, "https://co.uk/", "a=b; Domain=co.uk").unwrap();
        assert!(s.cookie_header(&url("https://co.uk/"), NOW).is_some());
        assert_eq!(s.cookie_header(&url("https://example.co.uk/"), NOW), None);
        // A registrable domain and a name under an unknown top-level domain are kept.
        set(&mut s, "https://me.github.io/", "a=b; Domain=me.github.io").unwrap();
        set(&mut s, "https://app.internal/", "a=b; Domain=internal").unwrap();
    }

    #[test]
    fn domain_attribute_must_domain_match_request_host() {
        assert_eq!(
            rejection("https://www.example.com/", "a=b; Domain=other.com"),
            RejectionKind::DomainMismatch
        );
        assert_eq!(
            rejection("https://example.com/", "a=b; Domain=www.example.com"),
            RejectionKind::DomainMismatch
        );
        assert_eq!(
            rejection("https://badexample.com/", "a=b; Domain=example.com"),
            RejectionKind::DomainMismatch
        );
    }

    #[test]
    fn ip_hosts_only_match_themselves() {
        assert!(domain_match("127.0.0.1", "127.0.0.1"));
        assert!(!domain_match("10.0.0.1", "0.0.1"));
        assert_eq!(
            rejection("http://10.0.0.1/", "a=b; Domain=0.0.1"),
            RejectionKind::DomainMismatch
        );
        assert!(
            set(
                &mut CookieStore::new(),
                "http://10.0.0.1/",
                "a=b; Domain=10.0.0.1"
            )
            .is_ok()
        );
    }

    #[test]
    fn rfc_example_max_age_zero_deletes_cookie() {
        let mut s = CookieStore::new();
        set(&mut s, "https://example.com/", "lang=en-US; Path=/").unwrap();
        let st = set(&mut s, "https://example.com/", "lang=; Path=/; Max-Age=0").unwrap();
        assert_eq!(st.outcome, StoreOutcome::Deleted);
        assert!(s.cookies().is_empty());
        assert_eq!(s.cookie_header(&url("https://example.com/"), NOW), None);
    }

    #[test]
    fn past_expires_deletes_cookie() {
        let mut s = CookieStore::new();
        set(&mut s, "https://example.com/", "lang=en-US; Path=/").unwrap();
        let st = set(
            &mut s,
            "https://example.com/",
            "lang=; Path=/; Expires=Sun, 06 Nov 1994 08:49:37 GMT",
        )
        .unwrap();
        assert_eq!(st.outcome, StoreOutcome::Deleted);
        assert!(s.cookies().is_empty());
    }

    #[test]
    fn deletion_must_match_domain_host_only_flag_and_path() {
        let mut s = CookieStore::new();
        set(&mut s, "https://example.com/app/login", "sid=1").unwrap(); // path /app, host-only
        let wrong_path = set(&mut s, "https://example.com/", "sid=; Max-Age=0; Path=/").unwrap();
        assert_eq!(wrong_path.outcome, StoreOutcome::ExpiredNoMatch);
        let wrong_domain = set(
            &mut s,
            "https://example.com/app/x",
            "sid=; Max-Age=0; Domain=example.com",
        )
        .unwrap();
        assert_eq!(wrong_domain.outcome, StoreOutcome::ExpiredNoMatch);
        assert_eq!(s.cookies().len(), 1);
        let ok = set(&mut s, "https://example.com/", "sid=; Max-Age=0; Path=/app").unwrap();
        assert_eq!(ok.outcome, StoreOutcome::Deleted);
        assert!(s.cookies().is_empty());
    }

    #[test]
    fn max_age_wins_over_expires() {
        let mut s = CookieStore::new();
        let st = set(
            &mut s,
            "https://example.com/",
            "a=b; Max-Age=60; Expires=Sun, 06 Nov 1994 08:49:37 GMT",
        )
        .unwrap();
        assert_eq!(st.cookie.expiry, Some(NOW + 60));
        assert_eq!(st.outcome, StoreOutcome::Created);
        let st = set(
            &mut s,
            "https://example.com/",
            "c=d; Expires=Sun, 06 Nov 2050 08:49:37 GMT; Max-Age=-1",
        )
        .unwrap();
        assert_eq!(st.outcome, StoreOutcome::ExpiredNoMatch);
        assert_eq!(st.cookie.expiry, Some(EARLIEST_COOKIE_DATE));
    }

    #[test]
    fn lifetime_is_capped_at_400_days() {
        let mut s = CookieStore::new();
        let st = set(&mut s, "https://example.com/", "a=b; Max-Age=999999999").unwrap();
        assert_eq!(st.cookie.expiry, Some(NOW + COOKIE_AGE_LIMIT));
        assert!(st.expiry_capped);
        let st = set(
            &mut s,
            "https://example.com/",
            "c=d; Expires=Fri, 31 Dec 9999 23:59:59 GMT",
        )
        .unwrap();
        assert_eq!(st.cookie.expiry, Some(NOW + COOKIE_AGE_LIMIT));
        assert!(st.expiry_capped);
        let st = set(&mut s, "https://example.com/", "e=f; Max-Age=3600").unwrap();
        assert!(!st.expiry_capped);
    }

    #[test]
    fn session_cookie_has_no_expiry() {
        let st = set(
            &mut CookieStore::new(),
            "https://example.com/",
            "a=b; Max-Age=x",
        )
        .unwrap();
        assert_eq!(st.cookie.expiry, None);
    }

    #[test]
    fn expired_cookies_are_not_sent_and_are_evicted() {
        let mut s = CookieStore::new();
        set(&mut s, "https://example.com/", "a=b; Max-Age=10").unwrap();
        let u = url("https://example.com/");
        assert_eq!(s.cookie_header(&u, NOW + 9).as_deref(), Some("a=b"));
        assert_eq!(s.cookie_header(&u, NOW + 10), None);
        s.evict_expired(NOW + 10);
        assert!(s.cookies().is_empty());
    }

    #[test]
    fn control_characters_reject_the_cookie() {
        assert_eq!(
            rejection("https://example.com/", "a=b\x01c"),
            RejectionKind::ControlCharacter
        );
        assert_eq!(
            rejection("https://example.com/", "a=b; Path=/\x7f"),
            RejectionKind::ControlCharacter
        );
        assert!(set(&mut CookieStore::new(), "https://example.com/", "a=b\tc").is_ok());
    }

    #[test]
    fn oversized_and_empty_cookies_are_rejected() {
        let big = format!("n={}", "v".repeat(MAX_NAME_VALUE_LEN));
        assert_eq!(
            rejection("https://example.com/", &big),
            RejectionKind::NameValueTooLong
        );
        assert_eq!(
            rejection("https://example.com/", "=; Path=/"),
            RejectionKind::EmptyNameAndValue
        );
    }

    #[test]
    fn nameless_cookie_is_stored_and_sent_without_equals() {
        let mut s = CookieStore::new();
        set(&mut s, "https://example.com/", "token123").unwrap();
        set(&mut s, "https://example.com/", "a=b").unwrap();
        assert_eq!(
            s.cookie_header(&url("https://example.com/"), NOW)
                .as_deref(),
            Some("token123; a=b")
        );
    }

    #[test]
    fn secure_cookie_rejected_from_plain_http() {
        assert_eq!(
            rejection("http://example.com/", "a=b; Secure"),
            RejectionKind::SecureFromInsecureOrigin
        );
    }

    #[test]
    fn loopback_http_is_a_secure_origin() {
        for u in [
            "http://localhost:8080/",
            "http://app.localhost/",
            "http://127.0.0.1:3000/",
            "http://127.1.2.3/",
            "http://[::1]:8080/",
            "https://example.com/",
            "wss://example.com/",
        ] {
            assert!(is_secure_origin(&url(u)), "{u}");
        }
        for u in [
            "http://example.com/",
            "http://10.0.0.1/",
            "http://localhost.example.com/",
            "ftp://localhost/",
        ] {
            assert!(!is_secure_origin(&url(u)), "{u}");
        }
        let mut s = CookieStore::new();
        set(
            &mut s,
            "http://127.0.0.1:3000/",
            "__Host-sid=x; Secure; Path=/",
        )
        .unwrap();
        assert_eq!(
            s.cookie_header(&url("http://127.0.0.1:3000/me"), NOW)
                .as_deref(),
            Some("__Host-sid=x")
        );
    }

    #[test]
    fn secure_cookie_is_not_sent_to_insecure_origin() {
        let mut s = CookieStore::new();
        set(&mut s, "https://example.com/", "s=1; Secure").unwrap();
        set(&mut s, "https://example.com/", "p=2").unwrap();
        assert_eq!(
            s.cookie_header(&url("http://example.com/"), NOW).as_deref(),
            Some("p=2")
        );
        assert_eq!(
            s.cookie_header(&url("https://example.com/"), NOW)
                .as_deref(),
            Some("s=1; p=2")
        );
    }

    #[test]
    fn insecure_origin_cannot_overwrite_secure_cookie() {
        let mut s = CookieStore::new();
        set(
            &mut s,
            "https://example.com/login",
            "sid=secret; Secure; Path=/",
        )
        .unwrap();
        let err = set(&mut s, "http://example.com/", "sid=attacker; Path=/").unwrap_err();
        assert_eq!(err.kind, RejectionKind::OverwriteOfSecureFromInsecure);
        assert_eq!(err.section, "RFC 6265bis §5.7 step 16");
        let err = set(&mut s, "http://www.example.com/", "sid=x; Path=/deeper").unwrap_err();
        assert_eq!(err.kind, RejectionKind::OverwriteOfSecureFromInsecure);
        assert_eq!(s.get("sid").unwrap().value, "secret");
        // A different name is fine.
        assert!(set(&mut s, "http://example.com/", "other=1").is_ok());
    }

    #[test]
    fn same_site_none_requires_secure() {
        assert_eq!(
            rejection("https://example.com/", "a=b; SameSite=None"),
            RejectionKind::SameSiteNoneWithoutSecure
        );
        assert!(
            set(
                &mut CookieStore::new(),
                "https://example.com/",
                "a=b; SameSite=None; Secure"
            )
            .is_ok()
        );
    }

    /// RFC 6265bis §5.6 step 1: "If the set-cookie-string contains a %x00-08 / %x0A-1F /
    /// %x7F character (CTL characters excluding HTAB): Abort these steps and ignore the
    /// set-cookie-string entirely." NUL, CR and LF included: RFC 9110 §5.5 makes a recipient
    /// reject a message with them in a field value or replace them by SP, and Chromium refuses
    /// the whole response (the Chromium differential expects that), so no cookie of it is
    /// stored either way. HTAB inside the value is kept, as the draft says.
    #[test]
    fn draft_step_1_a_ctl_other_than_htab_ignores_the_whole_cookie() {
        for b in (0x00u8..=0x1f).chain([0x7f]).filter(|&b| b != b'\t') {
            let ch = char::from(b);
            for header in [
                format!("n{ch}m=v"),
                format!("n=v{ch}w"),
                format!("n=v; Path=/{ch}"),
                format!("n=v; Unknown=1{ch}"),
            ] {
                assert_eq!(
                    rejection("https://example.com/", &header),
                    RejectionKind::ControlCharacter,
                    "0x{b:02x} in {header:?}"
                );
            }
        }
        let st = set(&mut CookieStore::new(), "https://example.com/", "n=v\tw").unwrap();
        assert_eq!(st.cookie.value, "v\tw");
    }

    /// Found by the Chromium differential (tests/browser_cookies): Chromium ignores a
    /// `Partitioned` cookie without `Secure`, as CHIPS says; the store used to keep it.
    #[test]
    fn partitioned_requires_secure() {
        assert_eq!(
            rejection("https://example.com/", "a=b; Partitioned"),
            RejectionKind::PartitionedWithoutSecure
        );
        let st = set(
            &mut CookieStore::new(),
            "https://example.com/",
            "a=b; Partitioned; Secure",
        )
        .unwrap();
        assert!(st.cookie.partitioned);
    }

    #[test]
    fn unknown_same_site_is_stored_as_default() {
        let st = set(
            &mut CookieStore::new(),
            "https://example.com/",
            "a=b; SameSite=Lenient",
        )
        .unwrap();
        assert_eq!(st.cookie.same_site, SameSite::Default);
    }

    #[test]
    fn rfc_example_secure_prefix() {
        // §4.1.3.1: rejected without Secure, or from an insecure origin.
        assert_eq!(
            rejection(
                "https://example.com/",
                "__Secure-SID=12345; Domain=example.com"
            ),
            RejectionKind::SecurePrefixViolation
        );
        assert_eq!(
            rejection(
                "http://example.com/",
                "__Secure-SID=12345; Secure; Domain=example.com"
            ),
            RejectionKind::SecureFromInsecureOrigin
        );
        assert!(
            set(
                &mut CookieStore::new(),
                "https://example.com/",
                "__Secure-SID=12345; Secure; Domain=example.com"
            )
            .is_ok()
        );
    }

    #[test]
    fn rfc_example_host_prefix() {
        // §4.1.3.2 examples.
        assert_eq!(
            rejection("https://example.com/", "__Host-SID=12345"),
            RejectionKind::HostPrefixViolation
        );
        assert_eq!(
            rejection("https://example.com/", "__Host-SID=12345; Secure"),
            RejectionKind::HostPrefixViolation
        );
        assert!(
            set(
                &mut CookieStore::new(),
                "https://example.com/",
                "__Host-SID=12345; Secure; Path=/"
            )
            .is_ok()
        );
    }

    #[test]
    fn host_prefix_rejects_domain_attribute() {
        let err = set(
            &mut CookieStore::new(),
            "https://example.com/",
            "__Host-SID=12345; Secure; Domain=example.com; Path=/",
        )
        .unwrap_err();
        assert_eq!(err.kind, RejectionKind::HostPrefixViolation);
        assert!(err.message.contains("domain"), "{}", err.message);
    }

    #[test]
    fn host_prefix_requires_path_root() {
        assert_eq!(
            rejection("https://example.com/", "__Host-SID=1; Secure; Path=/app"),
            RejectionKind::HostPrefixViolation
        );
    }

    #[test]
    fn prefixes_are_case_insensitive_and_apply_to_nameless_values() {
        assert_eq!(
            rejection("https://example.com/", "__HOST-SID=1; Secure"),
            RejectionKind::HostPrefixViolation
        );
        assert_eq!(
            rejection("https://example.com/", "__secure-SID=1"),
            RejectionKind::SecurePrefixViolation
        );
        assert_eq!(
            rejection("https://example.com/", "__Host-SID; Path=/"),
            RejectionKind::HostPrefixViolation
        );
    }

    #[test]
    fn replacement_keeps_creation_order() {
        let mut s = CookieStore::new();
        set(&mut s, "https://example.com/", "a=1; Path=/").unwrap();
        set(&mut s, "https://example.com/", "b=2; Path=/").unwrap();
        let st = set(&mut s, "https://example.com/", "a=3; Path=/").unwrap();
        assert_eq!(st.outcome, StoreOutcome::Replaced);
        assert_eq!(
            s.cookie_header(&url("https://example.com/"), NOW)
                .as_deref(),
            Some("a=3; b=2")
        );
        assert_eq!(s.cookies().len(), 2);
    }

    #[test]
    fn retrieval_orders_longer_paths_first_then_creation() {
        let mut s = CookieStore::new();
        set(&mut s, "https://example.com/", "root=1; Path=/").unwrap();
        set(&mut s, "https://example.com/", "deep=2; Path=/a/b").unwrap();
        set(&mut s, "https://example.com/", "mid=3; Path=/a").unwrap();
        set(&mut s, "https://example.com/", "root2=4; Path=/").unwrap();
        assert_eq!(
            s.cookie_header(&url("https://example.com/a/b/c?q=1"), NOW)
                .as_deref(),
            Some("deep=2; mid=3; root=1; root2=4")
        );
        assert_eq!(
            s.cookie_header(&url("https://example.com/ab"), NOW)
                .as_deref(),
            Some("root=1; root2=4")
        );
    }

    #[test]
    fn path_match_follows_rfc() {
        assert!(path_match("/", "/"));
        assert!(path_match("/a/b", "/a"));
        assert!(path_match("/a/b", "/a/"));
        assert!(path_match("/a/", "/a"));
        assert!(!path_match("/ab", "/a"));
        assert!(!path_match("/a", "/a/"));
        assert!(!path_match("/", "/a"));
    }

    #[test]
    fn default_path_follows_rfc() {
        for (u, p) in [
            ("https://e.com", "/"),
            ("https://e.com/", "/"),
            ("https://e.com/login", "/"),
            ("https://e.com/a/b", "/a"),
            ("https://e.com/a/b/", "/a/b"),
            ("https://e.com/a/b?x=/y/z", "/a"),
            ("mailto:x@e.com", "/"),
        ] {
            assert_eq!(default_path(&url(u)), p, "{u}");
        }
    }

    #[test]
    fn host_is_case_insensitive() {
        let mut s = CookieStore::new();
        set(
            &mut s,
            "https://WWW.Example.COM/",
            "a=b; Domain=EXAMPLE.com",
        )
        .unwrap();
        assert_eq!(s.get("a").unwrap().domain, "example.com");
        assert!(
            s.cookie_header(&url("https://www.example.com/"), NOW)
                .is_some()
        );
    }

    #[test]
    fn url_without_host_is_rejected() {
        assert_eq!(
            rejection("data:text/plain,hi", "a=b"),
            RejectionKind::NoHost
        );
        assert_eq!(
            CookieStore::new().cookie_header(&url("data:text/plain,hi"), NOW),
            None
        );
    }

    #[test]
    fn non_ascii_domain_is_rejected() {
        assert_eq!(
            rejection("https://example.com/", "a=b; Domain=\u{e9}xample.com"),
            RejectionKind::NonAsciiDomain
        );
    }

    #[test]
    fn pseudo_random_headers_never_panic_in_store() {
        let mut x: u64 = 0xDEAD_BEEF_CAFE_F00D;
        let words: [&str; 16] = [
            "a=b",
            "; ",
            "Secure",
            "Path=/",
            "Domain=example.com",
            "Max-Age=",
            "-1",
            "0",
            "__Host-",
            "SameSite=None",
            ";",
            "=",
            "Expires=Sun, 06 Nov 1994 08:49:37 GMT",
            "/x",
            "\u{e9}",
            "HttpOnly",
        ];
        let urls = [
            url("https://example.com/x/y"),
            url("http://localhost/"),
            url("http://example.com/"),
        ];
        let mut s = CookieStore::new();
        for i in 0..3000 {
            let mut h = String::new();
            for _ in 0..(i % 9) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                h.push_str(words[(x % 16) as usize]);
            }
            let u = &urls[i % 3];
            let _ = s.set(&parse_set_cookie(&h), u, NOW + i as i64);
            let _ = s.cookie_header(u, NOW + i as i64);
        }
        let _ = s.set(&parse_set_cookie("a=b; Max-Age=5"), &urls[0], i64::MAX);
        let _ = s.set(&parse_set_cookie("a=b; Max-Age=-5"), &urls[0], i64::MIN);
    }
}
