//! `check: {transport: csp}`: the Content-Security-Policy of every HTML page the run knows —
//! the profile's `pages` (fetched without credentials), and every `200` `text/html` answer any
//! request of the run received (the preflight's, a rule's flows, logged in or not), judged as
//! it was received. The engine runs this rule after every other one, so the pages it judges
//! are all the run has seen. Needs no cookie session: a token-only service's HTML pages are
//! judged as well.

use crate::http::{Exchange, ProbeRequest, is_html_page, page_key};

use super::browser::{FlowError, Recorded, StepError};
use super::outcome::{Outcome, Verdict};
use super::rule::{RuleCtx, step_verdict};

/// Judges the pages; `again` (a confirmation) re-sends the requests that received the pages
/// seen during the run, and judges those still answered with HTML.
pub(crate) async fn run(rc: &RuleCtx, again: bool) -> Verdict {
    let ctx = &rc.ctx;
    let (seen, dropped) = ctx.client.html_pages_seen();
    let mut transcript: Vec<Recorded> = Vec::new();
    let mut keys = std::collections::BTreeSet::new();
    let mut judged: Vec<(&'static str, usize)> = Vec::new();
    for page in &ctx.target.pages {
        let url = match ctx.target.url(page) {
            Ok(u) => u,
            Err(e) => {
                return step_verdict(rc, FlowError::Request(e.to_string()).into(), &transcript);
            }
        };
        if !keys.insert(page_key(&url)) {
            continue;
        }
        let ex = match ctx.client.send(ProbeRequest::get(url)).await {
            Ok(ex) => ex,
            Err(e) => return step_verdict(rc, StepError::Http(e), &transcript),
        };
        let html = is_html_page(&ex);
        transcript.push(Recorded {
            label: format!("page {}", ex.request.url.path()),
            exchange: ex,
        });
        if html {
            judged.push(("", transcript.len() - 1));
        }
    }
    let fetched = transcript.len();
    let mut lost: Vec<String> = Vec::new();
    for ex in seen {
        if !keys.insert(page_key(&ex.request.url)) {
            continue;
        }
        let ex = if again {
            match ctx.client.send(ex.request.clone()).await {
                Ok(ex) => ex,
                Err(e) => return step_verdict(rc, StepError::Http(e), &transcript),
            }
        } else {
            ex
        };
        let html = is_html_page(&ex);
        let label = if again {
            "sent again"
        } else {
            "seen during the run"
        };
        let path = ex.request.url.path().to_owned();
        transcript.push(Recorded {
            label: format!("page {path} ({label})"),
            exchange: ex,
        });
        if html {
            judged.push((label, transcript.len() - 1));
        } else {
            lost.push(path);
        }
    }
    let sent = if again { transcript.len() } else { fetched } as u64;
    let verdict = verdict(rc, &transcript, &judged, dropped, sent);
    if matches!(verdict.outcome, Outcome::Pass) && !lost.is_empty() {
        // A page that failed may be among those no longer shown (the session that saw it
        // has ended): passing the others proves nothing about it.
        return Verdict::not_applicable(format!(
            "pages seen during the run no longer answer HTML when sent again: {}",
            lost.join(", ")
        ))
        .requests(sent);
    }
    verdict
}

/// The verdict on the pages of `transcript` that `judged` points at.
fn verdict(
    rc: &RuleCtx,
    transcript: &[Recorded],
    judged: &[(&'static str, usize)],
    dropped: usize,
    sent: u64,
) -> Verdict {
    let ctx = &rc.ctx;
    if judged.is_empty() {
        return Verdict::not_applicable(format!(
            "no HTML page: none of the profile's pages ({}) answered 200 with HTML, and no request of the run received HTML; list HTML pages in `pages`",
            ctx.target.pages.join(", ")
        ))
        .requests(sent);
    }
    let mut problems: Vec<String> = Vec::new();
    let mut failing: Vec<Recorded> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (how, i) in judged {
        let r = &transcript[*i];
        let ex: &Exchange = &r.exchange;
        let path = ex.request.url.path();
        names.push(if how.is_empty() {
            path.to_owned()
        } else {
            format!("{path} ({how})")
        });
        let found = csp_problems(ex.response.header("content-security-policy"));
        if !found.is_empty() {
            problems.extend(found.iter().map(|p| format!("{path}: {p}")));
            failing.push(r.clone());
        }
    }
    let more = if dropped > 0 {
        format!("; {dropped} more HTML pages seen were not kept")
    } else {
        String::new()
    };
    if problems.is_empty() {
        return Verdict::pass(format!(
            "{} HTML pages carry a strict CSP: {}{more}",
            judged.len(),
            names.join(", ")
        ))
        .requests(sent);
    }
    Verdict::new(Outcome::fail_observed(
        "a CSP without unsafe-inline/unsafe-eval (unless nonces or hashes), with object-src 'none' and base-uri",
        problems.join("; "),
    ))
    .evidence(rc.evidence(&failing))
    .requests(sent)
}

/// What is wrong with a page's CSP, as one line each; empty when it is strict enough.
pub fn csp_problems(header: Option<&str>) -> Vec<String> {
    let Some(h) = header else {
        return vec!["no Content-Security-Policy header".into()];
    };
    let mut directives: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for d in h.split(';') {
        let mut parts = d.split_ascii_whitespace();
        if let Some(name) = parts.next() {
            directives
                .entry(name.to_ascii_lowercase())
                .or_insert_with(|| parts.map(|p| p.to_ascii_lowercase()).collect());
        }
    }
    let mut out = Vec::new();
    let script = directives
        .get("script-src")
        .or_else(|| directives.get("default-src"));
    match script {
        None => out.push("neither script-src nor default-src restricts scripts".into()),
        Some(src) => {
            let strict = src.iter().any(|s| {
                s.starts_with("'nonce-") || s.starts_with("'sha") || s == "'strict-dynamic'"
            });
            if src.iter().any(|s| s == "'unsafe-inline'") && !strict {
                out.push("scripts allow 'unsafe-inline' without nonces or hashes".into());
            }
            if src.iter().any(|s| s == "'unsafe-eval'") {
                out.push("scripts allow 'unsafe-eval'".into());
            }
            if src
                .iter()
                .any(|s| s == "*" || s == "data:" || s == "http:" || s == "https:")
            {
                out.push("scripts may load from any host or from data: URLs".into());
            }
        }
    }
    let object_none = match directives.get("object-src") {
        Some(v) => v.len() == 1 && v[0] == "'none'",
        None => directives
            .get("default-src")
            .is_some_and(|v| v.len() == 1 && v[0] == "'none'"),
    };
    if !object_none {
        out.push("object-src is not 'none'".into());
    }
    if !directives.contains_key("base-uri") {
        out.push("base-uri is not restricted".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_rules() {
        assert!(csp_problems(Some("default-src 'none'; base-uri 'none'")).is_empty());
        assert!(
            csp_problems(Some(
                "script-src 'nonce-abc' 'unsafe-inline'; object-src 'none'; base-uri 'self'"
            ))
            .is_empty()
        );
        let p = csp_problems(Some(
            "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'",
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(csp_problems(None).len(), 1);
        let p = csp_problems(Some("img-src *"));
        assert!(p.len() >= 3, "{p:?}");
    }
}
