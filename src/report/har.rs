//! The HAR 1.2 report (`--report har=PATH`): the run's traffic as an HTTP Archive, to open in
//! a browser's developer tools or an intercepting proxy. One page per rule (titled with its
//! id, title and status; `pageTimings.onLoad` is the rule's wall time), plus a `run` page for
//! the preflight and discovery; one entry per exchange.
//!
//! The entries come from the client's capture when the run kept one (the CLI turns it on for
//! a HAR report: per rule the first 50 and last 50 exchanges, bodies cut to 4 KiB — see
//! `http::capture`); an entry that is part of a rule's minimal transcript carries the step in
//! its `comment`. Without a capture (or for transcript steps outside the kept window) the
//! rule's evidence is the entry, dated at the start of its page. Every string here comes from
//! redacted data (the capture leaves the client redacted, evidence is redacted by the engine),
//! and the finished document passes [`seal`](super::seal) like every other report.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::Serialize;

use crate::cookie::{AttributeKind, parse_cookie_date, parse_set_cookie_ref};
use crate::engine::{Evidence, Report, RuleResult};
use crate::http::{Capture, Captured, Exchange, ScopeCapture};

/// The page of the run's own requests (preflight, discovery).
const RUN_PAGE: &str = "run";

#[derive(Serialize)]
struct Har {
    log: Log,
}

#[derive(Serialize)]
struct Log {
    version: &'static str,
    creator: Creator,
    pages: Vec<Page>,
    entries: Vec<Entry>,
    comment: String,
}

#[derive(Serialize)]
struct Creator {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    started_date_time: String,
    id: String,
    title: String,
    page_timings: PageTimings,
    #[serde(skip_serializing_if = "String::is_empty")]
    comment: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageTimings {
    on_content_load: i64,
    on_load: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    pageref: String,
    started_date_time: String,
    time: f64,
    request: Request,
    response: Response,
    cache: Cache,
    timings: Timings,
    #[serde(skip_serializing_if = "String::is_empty")]
    comment: String,
    /// When the entry was sent, for sorting (not serialised).
    #[serde(skip)]
    order: (SystemTime, u64),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    method: String,
    url: String,
    http_version: String,
    cookies: Vec<Cookie>,
    headers: Vec<NameValue>,
    query_string: Vec<NameValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_data: Option<PostData>,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    status: u16,
    status_text: String,
    http_version: String,
    cookies: Vec<Cookie>,
    headers: Vec<NameValue>,
    content: Content,
    #[serde(rename = "redirectURL")]
    redirect_url: String,
    headers_size: i64,
    body_size: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    comment: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Cookie {
    name: String,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secure: Option<bool>,
}

#[derive(Serialize)]
struct NameValue {
    name: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PostData {
    mime_type: String,
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    comment: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    size: i64,
    mime_type: String,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
}

#[derive(Serialize)]
struct Cache {}

#[derive(Serialize)]
struct Timings {
    send: f64,
    wait: f64,
    receive: f64,
}

/// One exchange with what HAR needs beyond it (from the capture, or estimated from evidence).
struct Sent<'a> {
    exchange: &'a Exchange,
    started: SystemTime,
    seq: u64,
    http_version: &'a str,
    wait_ms: f64,
    receive_ms: f64,
    request_body_size: usize,
    response_body_size: usize,
}

impl<'a> Sent<'a> {
    fn captured(c: &'a Captured) -> Sent<'a> {
        Sent {
            exchange: &c.exchange,
            started: c.started,
            seq: c.seq,
            http_version: &c.http_version,
            wait_ms: micros(c.wait_ms),
            receive_ms: micros(c.receive_ms),
            request_body_size: c.request_body_size,
            response_body_size: c.response_body_size,
        }
    }

    /// Evidence has no clock time: it is dated `started` (its page's start) and its whole
    /// elapsed time counts as waiting.
    fn evidence(e: &'a Evidence, started: SystemTime) -> Sent<'a> {
        let ex = &e.exchange;
        Sent {
            exchange: ex,
            started,
            seq: u64::MAX,
            http_version: "HTTP/1.1",
            wait_ms: ex.elapsed_ms as f64,
            receive_ms: 0.0,
            request_body_size: ex.request.body.as_ref().map_or(0, Vec::len),
            response_body_size: ex.response.body.len(),
        }
    }
}

/// Milliseconds rounded to the microsecond (what a HAR viewer shows).
fn micros(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// The HAR document of `report`, its entries from `capture` when the run kept one (else from
/// the rules' evidence), pretty-printed JSON.
pub fn render(report: &Report, capture: Option<&Capture>) -> String {
    let har = Har {
        log: log(report, capture),
    };
    serde_json::to_string_pretty(&har)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise the HAR report: {e}\"}}"))
}

fn log(report: &Report, capture: Option<&Capture>) -> Log {
    let scope = |name: Option<&str>| {
        capture.and_then(|c| c.scopes.iter().find(|s| s.scope.as_deref() == name))
    };
    // The run's start: its first captured exchange, else the report's duration before now.
    let run_start = capture
        .and_then(|c| {
            c.scopes
                .iter()
                .flat_map(|s| &s.exchanges)
                .map(|e| e.started)
                .min()
        })
        .unwrap_or_else(|| {
            SystemTime::now()
                .checked_sub(Duration::from_millis(report.duration_ms))
                .unwrap_or(UNIX_EPOCH)
        });
    let mut pages = Vec::new();
    let mut entries = Vec::new();
    if let Some(s) = scope(None) {
        pages.push(Page {
            started_date_time: iso8601(run_start),
            id: RUN_PAGE.into(),
            title: format!("{}: preflight and discovery", report.target.name),
            page_timings: PageTimings {
                on_content_load: -1,
                on_load: -1.0,
            },
            comment: omitted_note(s),
        });
        entries.extend(
            s.exchanges
                .iter()
                .map(|c| entry(RUN_PAGE, &Sent::captured(c))),
        );
    }
    let everything: Vec<&Captured> = capture
        .map(|c| c.scopes.iter().flat_map(|s| &s.exchanges).collect())
        .unwrap_or_default();
    for r in &report.results {
        let captured = scope(Some(&r.key()));
        let (page, mut e) = rule_page(r, captured, &everything, run_start);
        pages.push(page);
        entries.append(&mut e);
    }
    entries.sort_by_key(|e| e.order);
    Log {
        version: "1.2",
        creator: Creator {
            name: "authprobe",
            version: env!("CARGO_PKG_VERSION"),
        },
        pages,
        entries,
        comment: log_comment(report, capture),
    }
}

fn log_comment(report: &Report, capture: Option<&Capture>) -> String {
    let mut c = format!(
        "authprobe {} against {} ({}), seed {}: {} rules, {} requests in {:.2} s",
        env!("CARGO_PKG_VERSION"),
        report.target.name,
        report.target.base_url,
        report.seed,
        report.results.len(),
        report.requests,
        report.duration_ms as f64 / 1000.0
    );
    match capture {
        None => c.push_str("; entries are the rules' transcripts (no capture)"),
        Some(cap) if cap.dropped > 0 => c.push_str(&format!(
            "; {} exchanges of scopes past the capture's limit are not included",
            cap.dropped
        )),
        Some(_) => {}
    }
    if let Some(why) = &report.incomplete {
        c.push_str(&format!("; incomplete: {why}"));
    }
    c
}

fn omitted_note(s: &ScopeCapture) -> String {
    if s.omitted == 0 {
        String::new()
    } else {
        format!(
            "{} exchanges between the first and the last ones kept are not included",
            s.omitted
        )
    }
}

/// A rule's page and its entries: the captured ones (the transcript's steps named in their
/// comments), then any transcript step the rule did not send itself (a check of the
/// preflight's login response: that exchange again, on this page) or the capture did not keep.
fn rule_page(
    r: &RuleResult,
    captured: Option<&ScopeCapture>,
    everything: &[&Captured],
    run_start: SystemTime,
) -> (Page, Vec<Entry>) {
    let exchanges = captured.map_or(&[][..], |s| &s.exchanges[..]);
    let started = exchanges.first().map_or(run_start, |c| c.started);
    let mut entries: Vec<Entry> = exchanges
        .iter()
        .map(|c| entry(&r.key(), &Sent::captured(c)))
        .collect();
    let mut matched = vec![false; exchanges.len()];
    for ev in &r.evidence {
        let found = exchanges
            .iter()
            .enumerate()
            .position(|(i, c)| !matched[i] && same_exchange(&c.exchange, &ev.exchange));
        match found {
            Some(i) => {
                matched[i] = true;
                entries[i].comment = format!("transcript: {}", ev.step);
            }
            None => {
                let elsewhere = everything
                    .iter()
                    .find(|c| same_exchange(&c.exchange, &ev.exchange));
                let (sent, why) = match elsewhere {
                    Some(c) => (
                        Sent::captured(c),
                        " (sent before this rule, e.g. by the preflight)",
                    ),
                    None if everything.is_empty() => (Sent::evidence(ev, started), ""),
                    None => (
                        Sent::evidence(ev, started),
                        " (not in the capture; dated at the rule's start)",
                    ),
                };
                let mut e = entry(&r.key(), &sent);
                e.comment = format!("transcript: {}{why}", ev.step);
                entries.push(e);
            }
        }
    }
    let mut comment = r.reason().unwrap_or_default();
    if let Some(s) = captured {
        let note = omitted_note(s);
        if !note.is_empty() {
            comment = if comment.is_empty() {
                note
            } else {
                format!("{comment}; {note}")
            };
        }
    }
    let page = Page {
        started_date_time: iso8601(started),
        id: r.key(),
        title: format!("{} — {} ({})", r.label(), r.title, r.status().as_str()),
        page_timings: PageTimings {
            on_content_load: -1,
            on_load: r.duration_ms as f64,
        },
        comment,
    };
    (page, entries)
}

/// True when a captured exchange is the one a piece of evidence shows (both redacted; the
/// evidence's body may have been cut).
fn same_exchange(a: &Exchange, b: &Exchange) -> bool {
    a.request.method == b.request.method
        && a.request.url == b.request.url
        && a.request.headers == b.request.headers
        && a.response.status == b.response.status
        && a.elapsed_ms == b.elapsed_ms
}

fn entry(pageref: &str, s: &Sent) -> Entry {
    let ex = s.exchange;
    Entry {
        pageref: pageref.to_owned(),
        started_date_time: iso8601(s.started),
        time: micros(s.wait_ms + s.receive_ms),
        request: request(s),
        response: response(s),
        cache: Cache {},
        timings: Timings {
            send: 0.0,
            wait: s.wait_ms,
            receive: s.receive_ms,
        },
        comment: ex
            .retried
            .as_ref()
            .map(|r| format!("sent a second time after {} ms: {}", r.delay_ms, r.first))
            .unwrap_or_default(),
        order: (s.started, s.seq),
    }
}

fn pairs(headers: &[(String, String)]) -> Vec<NameValue> {
    headers
        .iter()
        .map(|(n, v)| NameValue {
            name: n.clone(),
            value: v.clone(),
        })
        .collect()
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn request(s: &Sent) -> Request {
    let rq = &s.exchange.request;
    let cookies = rq
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some(Cookie {
                name: name.into(),
                value: value.into(),
                path: None,
                domain: None,
                expires: None,
                http_only: None,
                secure: None,
            })
        })
        .collect();
    let post_data = rq.body.as_ref().map(|body| {
        let (text, _) = body_text(body);
        PostData {
            mime_type: header(&rq.headers, "content-type")
                .unwrap_or("application/octet-stream")
                .into(),
            text,
            comment: cut_note(body.len(), s.request_body_size),
        }
    });
    Request {
        method: rq.method.clone(),
        url: rq.url.as_str().to_owned(),
        http_version: s.http_version.to_owned(),
        cookies,
        headers: pairs(&rq.headers),
        query_string: rq
            .url
            .query_pairs()
            .map(|(n, v)| NameValue {
                name: n.into_owned(),
                value: v.into_owned(),
            })
            .collect(),
        post_data,
        headers_size: -1,
        body_size: s.request_body_size as i64,
    }
}

fn response(s: &Sent) -> Response {
    let rs = &s.exchange.response;
    let (text, encoding) = body_text(&rs.body);
    let mut comment = cut_note(rs.body.len(), s.response_body_size);
    if rs.truncated {
        comment = "the body was longer than the client reads (--max-body); it was cut".into();
    }
    Response {
        status: rs.status,
        status_text: reqwest::StatusCode::from_u16(rs.status)
            .ok()
            .and_then(|c| c.canonical_reason())
            .unwrap_or("")
            .into(),
        http_version: s.http_version.to_owned(),
        cookies: rs.set_cookies().map(set_cookie).collect(),
        headers: pairs(&rs.headers),
        content: Content {
            size: s.response_body_size as i64,
            mime_type: rs.header("content-type").unwrap_or("x-unknown").into(),
            text,
            encoding,
        },
        redirect_url: rs.header("location").unwrap_or("").into(),
        headers_size: -1,
        body_size: s.response_body_size as i64,
        comment,
    }
}

/// A note when the body shown is shorter than the one sent or received.
fn cut_note(kept: usize, size: usize) -> String {
    if kept < size {
        format!("body cut to its first {kept} of {size} bytes")
    } else {
        String::new()
    }
}

/// A body as HAR text: UTF-8 as it is, anything else base64 (`encoding: "base64"`).
fn body_text(body: &[u8]) -> (String, Option<&'static str>) {
    match std::str::from_utf8(body) {
        Ok(t) => (t.to_owned(), None),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(body),
            Some("base64"),
        ),
    }
}

/// A `Set-Cookie` header as a HAR cookie (authprobe's own lossless parser).
fn set_cookie(header: &str) -> Cookie {
    let c = parse_set_cookie_ref(header);
    let attr = |kind: AttributeKind| c.attributes.iter().rev().find(|a| a.kind == kind);
    let expires = attr(AttributeKind::Expires)
        .and_then(|a| a.value)
        .and_then(parse_cookie_date)
        .map(|secs| iso8601(unix(secs)));
    Cookie {
        name: c.name.to_owned(),
        value: c.value.to_owned(),
        path: attr(AttributeKind::Path).and_then(|a| a.value.map(str::to_owned)),
        domain: attr(AttributeKind::Domain).and_then(|a| a.value.map(str::to_owned)),
        expires,
        http_only: Some(attr(AttributeKind::HttpOnly).is_some()),
        secure: Some(attr(AttributeKind::Secure).is_some()),
    }
}

/// Unix seconds as a time (dates before 1970 saturate to the epoch).
fn unix(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (ISO 8601, UTC).
fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        crate::units::civil::iso_date(days),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_8601_utc_with_milliseconds() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(784_111_777_123);
        assert_eq!(iso8601(t), "1994-11-06T08:49:37.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn set_cookie_attributes_become_har_cookie_fields() {
        let c = set_cookie(
            "__Host-s=abc; Path=/; Secure; HttpOnly; Expires=Sun, 06 Nov 1994 08:49:37 GMT",
        );
        assert_eq!((c.name.as_str(), c.value.as_str()), ("__Host-s", "abc"));
        assert_eq!(c.path.as_deref(), Some("/"));
        assert_eq!(c.domain, None);
        assert_eq!(c.expires.as_deref(), Some("1994-11-06T08:49:37.000Z"));
        assert_eq!((c.http_only, c.secure), (Some(true), Some(true)));
        let plain = set_cookie("a=b");
        assert_eq!((plain.http_only, plain.secure), (Some(false), Some(false)));
    }

    #[test]
    fn the_fixture_report_becomes_har_from_its_evidence() {
        let report = crate::report::tests::report(7, "sess-value-123");
        let doc: serde_json::Value = serde_json::from_str(&render(&report, None)).expect("json");
        let log = &doc["log"];
        assert_eq!(log["version"], "1.2");
        assert_eq!(log["pages"].as_array().map(Vec::len), Some(5));
        let entries = log["entries"].as_array().expect("entries");
        assert_eq!(entries.len(), 2);
        let pagerefs: Vec<&str> = entries
            .iter()
            .filter_map(|e| e["pageref"].as_str())
            .collect();
        assert_eq!(pagerefs, ["cookie.http-only", "jwt.alg-none-rejected"]);
        let e = &entries[0];
        assert_eq!(e["comment"], "transcript: step 1: login (alice)");
        assert_eq!(
            e["request"]["postData"]["mimeType"],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(e["response"]["redirectURL"], "/home");
        assert_eq!(e["response"]["statusText"], "See Other");
        assert_eq!(e["response"]["cookies"][0]["name"], "sid");
        assert_eq!(e["request"]["cookies"][0]["value"], "[redacted]");
    }

    #[test]
    fn a_binary_body_is_base64() {
        assert_eq!(body_text(&[0xff, 0x00]), ("/wA=".into(), Some("base64")));
        assert_eq!(body_text(b"ok"), ("ok".into(), None));
    }
}
