//! The `authprobe inspect set-cookie` report: parse each header losslessly, apply it to a
//! browser-model jar in order, and show what the browser would send back.
//!
//! Owns [`Inspection`] (serialisable for `--format json`) and its plain-text rendering. It
//! must not print, read the clock or do I/O: the caller passes `now` and writes the output.
//! Text output escapes control characters in input-derived text (anomaly and rejection
//! messages quote input with `{:?}`), so a hostile header cannot drive the terminal.

use std::fmt::Write as _;

use serde::Serialize;
use url::Url;

use super::date::format_http_date;
use super::parse::{Effective, SetCookie, parse_set_cookie_ref};
use super::store::{
    COOKIE_AGE_LIMIT, CookieStore, NotSent, Rejection, SiteContext, StoreOutcome, StoredCookie,
    is_secure_origin,
};

/// The whole report for a list of `Set-Cookie` headers received from one URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// The request URL the headers were received from.
    pub url: String,
    /// The time used, Unix seconds.
    pub now: i64,
    /// `now` as an IMF-fixdate.
    pub now_http_date: String,
    /// Whether the browser treats `url` as a secure origin (https, wss or loopback http).
    pub secure_origin: bool,
    /// One report per header, in order.
    pub headers: Vec<HeaderReport>,
    /// The jar after applying every header.
    pub jar: Vec<StoredCookie>,
    /// The `Cookie` header the browser would send back to `url`; `None` when empty.
    pub cookie_header: Option<String>,
    /// What is sent to each request URL asked about: `url` first, then every other one
    /// (same-site requests from the HTTP layer).
    pub requests: Vec<RequestReport>,
}

/// What the jar sends with a request to one URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestReport {
    /// The request URL.
    pub url: String,
    /// Whether the browser treats it as a secure origin.
    pub secure_origin: bool,
    /// The `Cookie` header sent; `None` when no cookie is.
    pub cookie_header: Option<String>,
    /// Every cookie in the jar: sent or not, and why not.
    pub cookies: Vec<CookieSending>,
}

/// One stored cookie and one request: sent, or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CookieSending {
    /// The cookie's name.
    pub name: String,
    /// Its domain (the host that set it, when host-only).
    pub domain: String,
    /// Whether it is host-only.
    pub host_only: bool,
    /// Its path.
    pub path: String,
    /// True when it is sent.
    pub sent: bool,
    /// Why it is not sent, when it is not.
    pub not_sent: Option<NotSent>,
    /// The reason in words.
    pub reason: Option<String>,
}

/// What the jar sends to `url` at `now`.
fn request_report(store: &CookieStore, url: &Url, now: i64) -> RequestReport {
    let cookies = store
        .sending(url, now, SiteContext::SameSite)
        .into_iter()
        .map(|(c, why)| CookieSending {
            name: c.name.clone(),
            domain: c.domain.clone(),
            host_only: c.host_only,
            path: c.path.clone(),
            sent: why.is_none(),
            not_sent: why,
            reason: why.map(|w| w.describe().to_owned()),
        })
        .collect();
    RequestReport {
        url: url.to_string(),
        secure_origin: is_secure_origin(url),
        cookie_header: store.cookie_header(url, now),
        cookies,
    }
}

/// What one `Set-Cookie` header means and what the browser did with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderReport {
    /// Position in the input list, starting at 0.
    pub index: usize,
    /// The lossless parse: attributes in order with original spelling, and anomalies.
    pub set_cookie: SetCookie,
    /// What attribute processing yields (last valid occurrence wins).
    pub effective: Effective,
    /// False when the browser ignores the header entirely (see `rejection`).
    pub accepted: bool,
    /// What storing did to the jar, when accepted.
    pub outcome: Option<StoreOutcome>,
    /// Why the browser ignored the header, when it did.
    pub rejection: Option<Rejection>,
    /// The cookie as the browser created it, when accepted.
    pub cookie: Option<StoredCookie>,
    /// The cookie's expiry, when accepted.
    pub expiry: Option<ExpiryReport>,
    /// Extra explanations (400-day cap, deletion that matched nothing, ...).
    pub notes: Vec<String>,
}

/// A stored cookie's expiry in both machine and human form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiryReport {
    /// True for a session cookie (no `Max-Age`/`Expires`).
    pub session: bool,
    /// Expiry as Unix seconds; `None` for a session cookie.
    pub unix: Option<i64>,
    /// Expiry as an IMF-fixdate, or `session`.
    pub http_date: String,
    /// True when the 400-day cap shortened the requested lifetime.
    pub capped: bool,
}

/// Applies `headers` in order as responses from `url` at `now` and reports each one, the
/// resulting `Cookie` header for `url`, and what is sent to `url` and each of `requests`.
pub fn inspect(headers: &[&str], url: &Url, requests: &[Url], now: i64) -> Inspection {
    let mut store = CookieStore::new();
    let mut reports = Vec::with_capacity(headers.len());
    for (index, header) in headers.iter().enumerate() {
        // One borrowed parse and one attribute processing serve the store and the report.
        let parsed = parse_set_cookie_ref(header);
        let effective = parsed.effective();
        let result = store.set_effective(&parsed, effective.clone(), url, now);
        let set_cookie = parsed.to_set_cookie_with(&effective);
        let mut report = HeaderReport {
            index,
            set_cookie,
            effective,
            accepted: result.is_ok(),
            outcome: None,
            rejection: None,
            cookie: None,
            expiry: None,
            notes: Vec::new(),
        };
        match result {
            Ok(stored) => {
                if stored.expiry_capped {
                    report.notes.push(format!(
                        "the requested lifetime exceeds {} days; browsers cap it at now + 400 days (rfc 6265bis §5.5)",
                        COOKIE_AGE_LIMIT / 86_400
                    ));
                }
                match stored.outcome {
                    StoreOutcome::Deleted => report.notes.push(
                        "the cookie is already expired: it deleted the stored cookie with the same name, domain, host-only flag and path"
                            .into(),
                    ),
                    StoreOutcome::ExpiredNoMatch => report.notes.push(
                        "the cookie is already expired, but no stored cookie has the same name, domain, host-only flag and path, so nothing was deleted"
                            .into(),
                    ),
                    StoreOutcome::Created | StoreOutcome::Replaced => {}
                }
                let c = &stored.cookie;
                report.expiry = Some(ExpiryReport {
                    session: c.expiry.is_none(),
                    unix: c.expiry,
                    http_date: c
                        .expiry
                        .map_or_else(|| "session".to_owned(), format_http_date),
                    capped: stored.expiry_capped,
                });
                report.outcome = Some(stored.outcome);
                report.cookie = Some(stored.cookie);
            }
            Err(rejection) => report.rejection = Some(rejection),
        }
        reports.push(report);
    }
    Inspection {
        url: url.to_string(),
        now,
        now_http_date: format_http_date(now),
        secure_origin: is_secure_origin(url),
        headers: reports,
        jar: store.cookies().to_vec(),
        cookie_header: store.cookie_header(url, now),
        requests: std::iter::once(url)
            .chain(requests.iter().filter(|r| *r != url))
            .map(|r| request_report(&store, r, now))
            .collect(),
    }
}

/// The serde (snake_case) name of a unit enum variant.
fn tag<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Renders an [`Inspection`] as plain multi-line text (no colours) for auditors.
pub fn render_text(inspection: &Inspection) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = render_into(&mut out, inspection);
    out
}

fn render_into(out: &mut String, ins: &Inspection) -> std::fmt::Result {
    writeln!(
        out,
        "Set-Cookie inspection for {} at {} ({})",
        ins.url.escape_debug(),
        ins.now_http_date,
        ins.now
    )?;
    writeln!(
        out,
        "origin: {}",
        if ins.secure_origin {
            "secure (may set and receive Secure cookies)"
        } else {
            "not secure (Secure cookies are refused and not sent)"
        }
    )?;
    for h in &ins.headers {
        writeln!(out)?;
        render_parsed(out, h)?;
        render_browser(out, h)?;
        for note in &h.notes {
            writeln!(out, "      note: {note}")?;
        }
    }
    for r in &ins.requests {
        writeln!(out)?;
        render_request(out, r)?;
    }
    Ok(())
}

/// What is sent to one request URL, cookie by cookie.
fn render_request(out: &mut String, r: &RequestReport) -> std::fmt::Result {
    match &r.cookie_header {
        Some(c) => writeln!(
            out,
            "Cookie header sent to {}:\n    Cookie: {}",
            r.url.escape_debug(),
            c.escape_debug()
        )?,
        None => writeln!(
            out,
            "No Cookie header would be sent to {}.",
            r.url.escape_debug()
        )?,
    }
    for c in &r.cookies {
        let scope = if c.host_only {
            format!("host {}", c.domain.escape_debug())
        } else {
            format!("domain {}", c.domain.escape_debug())
        };
        match &c.reason {
            None => writeln!(
                out,
                "    {} ({scope}, path {}): sent",
                c.name.escape_debug(),
                c.path.escape_debug()
            )?,
            Some(why) => writeln!(
                out,
                "    {} ({scope}, path {}): not sent: {why}",
                c.name.escape_debug(),
                c.path.escape_debug()
            )?,
        }
    }
    Ok(())
}

/// What the parser read from one header: name, value, attributes, anomalies.
fn render_parsed(out: &mut String, h: &HeaderReport) -> std::fmt::Result {
    let sc = &h.set_cookie;
    writeln!(
        out,
        "[{}] Set-Cookie: {}",
        h.index + 1,
        sc.raw.escape_debug()
    )?;
    writeln!(
        out,
        "    name: \"{}\"  value: \"{}\"",
        sc.name.escape_debug(),
        sc.value.escape_debug()
    )?;
    if !sc.attributes.is_empty() {
        writeln!(out, "    attributes:")?;
        for (i, a) in sc.attributes.iter().enumerate() {
            let value = a
                .value
                .as_deref()
                .map(|v| format!(" = \"{}\"", v.escape_debug()))
                .unwrap_or_default();
            writeln!(
                out,
                "      #{i} {}{value}  ({})",
                a.name.escape_debug(),
                tag(&a.kind)
            )?;
        }
    }
    if !sc.anomalies.is_empty() {
        writeln!(out, "    anomalies:")?;
        for a in &sc.anomalies {
            let at = a.attribute.map(|i| format!(" #{i}")).unwrap_or_default();
            writeln!(out, "      - {}{at}: {}", tag(&a.kind), a.message)?;
        }
    }
    Ok(())
}

/// What a browser did with one header: ignored (why) or stored (as what, until when).
fn render_browser(out: &mut String, h: &HeaderReport) -> std::fmt::Result {
    match (&h.rejection, &h.cookie) {
        (Some(r), _) => {
            writeln!(out, "    browser: IGNORED ({})", tag(&r.kind))?;
            writeln!(out, "      {}", r.message)?;
            writeln!(out, "      see {}", r.section)?;
        }
        (None, Some(c)) => {
            let outcome = h.outcome.as_ref().map(tag).unwrap_or_default();
            writeln!(out, "    browser: accepted ({outcome})")?;
            writeln!(
                out,
                "      domain={}{} path={} secure={} httponly={} samesite={} partitioned={}",
                c.domain.escape_debug(),
                if c.host_only {
                    " (host-only)"
                } else {
                    " (and subdomains)"
                },
                c.path.escape_debug(),
                yes_no(c.secure_only),
                yes_no(c.http_only),
                c.same_site.as_str(),
                yes_no(c.partitioned)
            )?;
            if let Some(e) = &h.expiry {
                match e.unix {
                    Some(t) => writeln!(out, "      expires: {} ({t})", e.http_date)?,
                    None => writeln!(out, "      expires: session")?,
                }
            }
        }
        (None, None) => writeln!(out, "    browser: accepted")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookie::{AnomalyKind, RejectionKind};

    const NOW: i64 = 1_700_000_000;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn reports_each_header_and_final_cookie_header() {
        let ins = inspect(
            &[
                "__Host-sid=abc; Secure; Path=/; HttpOnly; SameSite=Lax",
                "__Host-bad=1; Secure; Domain=example.com; Path=/",
                "theme=dark; Max-Age=999999999; max-age=5",
            ],
            &url("https://example.com/login"),
            &[],
            NOW,
        );
        assert_eq!(ins.headers.len(), 3);
        assert!(ins.headers[0].accepted);
        assert_eq!(ins.headers[0].outcome, Some(StoreOutcome::Created));
        assert_eq!(
            ins.headers[1].rejection.as_ref().map(|r| r.kind),
            Some(RejectionKind::HostPrefixViolation)
        );
        assert!(
            ins.headers[2]
                .set_cookie
                .has_anomaly(AnomalyKind::DuplicateAttribute)
        );
        assert_eq!(ins.headers[2].expiry.as_ref().unwrap().unix, Some(NOW + 5));
        assert_eq!(
            ins.cookie_header.as_deref(),
            Some("__Host-sid=abc; theme=dark")
        );
        assert_eq!(ins.jar.len(), 2);
    }

    #[test]
    fn session_expiry_and_cap_note_are_reported() {
        let ins = inspect(
            &["a=b", "c=d; Expires=Fri, 31 Dec 9999 23:59:59 GMT"],
            &url("https://example.com/"),
            &[],
            NOW,
        );
        let e0 = ins.headers[0].expiry.as_ref().unwrap();
        assert!(e0.session);
        assert_eq!(e0.http_date, "session");
        let e1 = ins.headers[1].expiry.as_ref().unwrap();
        assert!(e1.capped);
        assert_eq!(e1.unix, Some(NOW + COOKIE_AGE_LIMIT));
        assert!(ins.headers[1].notes.iter().any(|n| n.contains("400 days")));
    }

    #[test]
    fn logout_sequence_clears_cookie() {
        let ins = inspect(
            &["sid=1; Path=/; Secure; HttpOnly", "sid=; Path=/; Max-Age=0"],
            &url("https://example.com/"),
            &[],
            NOW,
        );
        assert_eq!(ins.headers[1].outcome, Some(StoreOutcome::Deleted));
        assert_eq!(ins.cookie_header, None);
        assert!(ins.jar.is_empty());
    }

    #[test]
    fn json_uses_snake_case_field_and_variant_names() {
        let ins = inspect(
            &["a=b; SameSite=None; Secure; Max-Age=60; Foo"],
            &url("https://example.com/"),
            &[],
            NOW,
        );
        let v = serde_json::to_value(&ins).unwrap();
        let h = &v["headers"][0];
        assert_eq!(h["effective"]["same_site"], "none");
        assert_eq!(h["set_cookie"]["attributes"][2]["kind"], "max_age");
        assert_eq!(h["set_cookie"]["anomalies"][0]["kind"], "unknown_attribute");
        assert_eq!(h["outcome"], "created");
        assert_eq!(v["cookie_header"], "a=b");
    }

    #[test]
    fn text_rendering_shows_verdicts_and_escapes_control_characters() {
        let ins = inspect(
            &["a=b; Secure", "evil=\x1b[31mred", "c=d; Max-Age=0"],
            &url("http://example.com/"),
            &[],
            NOW,
        );
        let text = render_text(&ins);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.contains("secure_from_insecure_origin"), "{text}");
        assert!(text.contains("RFC 6265bis §5.7 step 13"), "{text}");
        assert!(text.contains("control_character"), "{text}");
        assert!(text.contains("expired_no_match"), "{text}");
        assert!(text.contains("No Cookie header"), "{text}");
    }

    #[test]
    fn text_rendering_shows_cookie_header_and_expiry() {
        let ins = inspect(
            &["a=b; Max-Age=60; Path=/"],
            &url("https://example.com/"),
            &[],
            NOW,
        );
        let text = render_text(&ins);
        assert!(text.contains("Cookie: a=b"), "{text}");
        assert!(text.contains(&format_http_date(NOW + 60)), "{text}");
        assert!(text.contains("host-only"), "{text}");
    }
}
