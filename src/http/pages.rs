//! The HTML pages a run has seen: every `200` `text/html` answer to a `GET`, one per origin
//! and path, whatever part of the run sent it (the preflight, a rule's flow, a scenario step).
//!
//! This file owns that bounded record. Rules that judge pages (the CSP check) read it once
//! everything else has run, so a page the service only shows to a logged-in user, or only on
//! one flow, is judged too. The first answer seen for a page is kept (its body cut to
//! [`MAX_BODY_BYTES`], which is enough to show what the page is); at most [`MAX_PAGES`] pages
//! are kept, later ones are counted but dropped.

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::Exchange;

/// Most pages kept per run.
pub const MAX_PAGES: usize = 32;

/// Body bytes kept of each page (the rest is cut and the response flagged truncated).
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// The record of HTML pages seen (shared by every clone of a client).
#[derive(Debug, Default)]
pub(super) struct SeenPages {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// `origin + path` of every page kept or dropped.
    keys: BTreeSet<String>,
    /// The pages kept, in the order they were first seen.
    pages: Vec<Exchange>,
    /// Distinct pages seen past [`MAX_PAGES`].
    dropped: usize,
}

/// True when `ex` is a `GET` answered `200` with an HTML body.
pub fn is_html_page(ex: &Exchange) -> bool {
    ex.request.method.eq_ignore_ascii_case("GET")
        && ex.response.status == 200
        && ex.response.header("content-type").is_some_and(|c| {
            c.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/html"))
        })
}

/// The key a page is known by: origin and path, without the query.
pub fn page_key(url: &url::Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

impl SeenPages {
    /// Records `ex` when it is an HTML page not seen before.
    pub(super) fn observe(&self, ex: &Exchange) {
        if !is_html_page(ex) {
            return;
        }
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !inner.keys.insert(page_key(&ex.request.url)) {
            return;
        }
        if inner.pages.len() >= MAX_PAGES {
            inner.dropped += 1;
            return;
        }
        let mut kept = ex.clone();
        if kept.response.body.len() > MAX_BODY_BYTES {
            kept.response.body.truncate(MAX_BODY_BYTES);
            kept.response.truncated = true;
        }
        inner.pages.push(kept);
    }

    /// The pages kept, first seen first, and how many more were seen but not kept.
    pub(super) fn snapshot(&self) -> (Vec<Exchange>, usize) {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (inner.pages.clone(), inner.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{ProbeRequest, Response};

    fn exchange(method: &str, url: &str, status: u16, content_type: &str, body: usize) -> Exchange {
        Exchange {
            request: ProbeRequest::new(method, url::Url::parse(url).unwrap()),
            response: Response {
                status,
                headers: vec![("content-type".into(), content_type.into())],
                body: vec![b'x'; body],
                truncated: false,
            },
            elapsed_ms: 1,
            retried: None,
        }
    }

    #[test]
    fn only_successful_html_gets_are_pages() {
        let html = "text/html; charset=utf-8";
        assert!(is_html_page(&exchange("GET", "http://a/x", 200, html, 1)));
        assert!(is_html_page(&exchange(
            "GET",
            "http://a/x",
            200,
            "TEXT/HTML",
            1
        )));
        assert!(!is_html_page(&exchange("POST", "http://a/x", 200, html, 1)));
        assert!(!is_html_page(&exchange("GET", "http://a/x", 401, html, 1)));
        assert!(!is_html_page(&exchange(
            "GET",
            "http://a/x",
            200,
            "application/json",
            1
        )));
        assert!(!is_html_page(&exchange(
            "GET",
            "http://a/x",
            200,
            "text/html-ish",
            1
        )));
    }

    #[test]
    fn one_page_per_path_first_answer_kept_bounded_and_cut() {
        let seen = SeenPages::default();
        let html = "text/html";
        seen.observe(&exchange("GET", "http://a/p?x=1", 200, html, 1));
        seen.observe(&exchange("GET", "http://a/p?x=2", 200, html, 2));
        seen.observe(&exchange(
            "GET",
            "http://a/big",
            200,
            html,
            MAX_BODY_BYTES + 5,
        ));
        seen.observe(&exchange("GET", "http://a/api", 200, "application/json", 1));
        let (pages, dropped) = seen.snapshot();
        assert_eq!(pages.len(), 2);
        assert_eq!(dropped, 0);
        assert_eq!(pages[0].request.url.query(), Some("x=1"));
        assert_eq!(pages[1].response.body.len(), MAX_BODY_BYTES);
        assert!(pages[1].response.truncated);
        for i in 0..(MAX_PAGES + 3) {
            seen.observe(&exchange("GET", &format!("http://a/n{i}"), 200, html, 1));
        }
        let (pages, dropped) = seen.snapshot();
        assert_eq!(pages.len(), MAX_PAGES);
        assert_eq!(dropped, 5);
    }
}
