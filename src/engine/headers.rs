//! `check: {transport: api_headers}`: the security headers of authenticated JSON responses
//! (OWASP REST Security Cheat Sheet), on whichever credential the profile yields: a cookie
//! session, an access token, or both. Fresh logins each time, so a re-run confirms a failure.
//! Also the header predicates the transport checks share (`has_no_store`).

use crate::http::Response;
use crate::units::SpecUser;

use super::browser::{AccessOutcome, Browser, Recorded};
use super::outcome::{Outcome, Verdict};
use super::rule::{RuleCtx, step_verdict};

/// True when a `Cache-Control` value has the `no-store` directive.
pub(crate) fn has_no_store(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        v.split(',').any(|d| {
            d.trim()
                .split('=')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("no-store")
        })
    })
}

/// What the headers of one authenticated response lack, in words.
pub(crate) fn api_header_problems(r: &Response, https: bool) -> Vec<String> {
    let mut out = Vec::new();
    if !has_no_store(r.header("cache-control")) {
        out.push("no `Cache-Control: no-store`".to_string());
    }
    let json_type = r.header("content-type").is_some_and(|c| {
        let mime = c
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        mime == "application/json" || mime.ends_with("+json")
    });
    if !json_type {
        out.push(match r.header("content-type") {
            Some(c) => format!("a JSON body served as `{c}`"),
            None => "a JSON body without a Content-Type".to_string(),
        });
    }
    if !r
        .header("x-content-type-options")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("nosniff"))
    {
        out.push("no `X-Content-Type-Options: nosniff`".to_string());
    }
    if !refuses_framing(r) {
        out.push(
            "framing allowed: no CSP `frame-ancestors 'none'` (nor X-Frame-Options DENY)"
                .to_string(),
        );
    }
    if https
        && !r.header("strict-transport-security").is_some_and(|v| {
            v.to_ascii_lowercase().contains("max-age=") && !v.contains("max-age=0")
        })
    {
        out.push("no Strict-Transport-Security over https".to_string());
    }
    out
}

/// A CSP `frame-ancestors 'none'` or `'self'`, or `X-Frame-Options: DENY`/`SAMEORIGIN`.
fn refuses_framing(r: &Response) -> bool {
    let csp = r.header("content-security-policy").is_some_and(|p| {
        p.split(';').any(|d| {
            let mut words = d.split_whitespace();
            words
                .next()
                .is_some_and(|n| n.eq_ignore_ascii_case("frame-ancestors"))
                && words.all(|w| w == "'none'" || w == "'self'")
        })
    });
    let xfo = r.header("x-frame-options").is_some_and(|v| {
        let v = v.trim();
        v.eq_ignore_ascii_case("deny") || v.eq_ignore_ascii_case("sameorigin")
    });
    csp || xfo
}

/// Whether `r` carries JSON: by its Content-Type, or a body that parses as a JSON value
/// (a JSON body served under another type is what the rule must see).
fn is_json(r: &Response) -> bool {
    r.header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"))
        || serde_json::from_slice::<serde_json::Value>(&r.body).is_ok_and(|v| !v.is_string())
}

/// The authenticated protected responses: the cookie session's and the access token's,
/// whichever the profile defines; each from the run's shared login (or a fresh one).
async fn authenticated(rc: &RuleCtx, t: &mut Vec<Recorded>) -> Result<Vec<usize>, Verdict> {
    let ctx = &rc.ctx;
    let user = SpecUser::Alice.name();
    let mut allowed = Vec::new();
    if rc.baseline.session.is_some() {
        let mut b = Browser::new("session");
        b.shared_login(ctx, user, t)
            .await
            .map_err(|e| step_verdict(rc, e, t))?;
        let label = "the protected request with the session";
        if b.access(ctx, None, label, t)
            .await
            .map_err(|e| step_verdict(rc, e, t))?
            == AccessOutcome::Allowed
        {
            allowed.push(t.len() - 1);
        }
    }
    if ctx.target.token.is_some() {
        let mut b = Browser::new("token");
        let token = b
            .shared_token_login(ctx, user, t)
            .await
            .map_err(|e| step_verdict(rc, e, t))?;
        let label = "the token-protected request";
        if b.token_use(ctx, &token, label, t)
            .await
            .map_err(|e| step_verdict(rc, e, t))?
            == AccessOutcome::Allowed
        {
            allowed.push(t.len() - 1);
        }
    }
    Ok(allowed)
}

/// Runs the check.
pub(crate) async fn api_headers(rc: &RuleCtx) -> Verdict {
    let mut t: Vec<Recorded> = Vec::new();
    let allowed = match authenticated(rc, &mut t).await {
        Ok(a) => a,
        Err(v) => return v,
    };
    let json: Vec<usize> = allowed
        .into_iter()
        .filter(|&i| is_json(&t[i].exchange.response))
        .collect();
    if json.is_empty() {
        return Verdict::not_applicable(
            "no authenticated request answered JSON (the session's and the token's protected requests were not allowed, or not JSON)",
        )
        .evidence(rc.evidence(&t))
        .requests(t.len() as u64);
    }
    let mut problems = Vec::new();
    for &i in &json {
        let ex = &t[i].exchange;
        let https = ex.request.url.scheme() == "https";
        for p in api_header_problems(&ex.response, https) {
            problems.push(format!(
                "{} {}: {p}",
                ex.request.method,
                ex.request.url.path()
            ));
        }
    }
    let requests = t.len() as u64;
    if problems.is_empty() {
        Verdict::pass(format!(
            "{} authenticated JSON response(s) carry no-store, a JSON type, nosniff and a framing policy",
            json.len()
        ))
        .requests(requests)
    } else {
        Verdict::new(Outcome::fail_observed(
            "no-store, a JSON Content-Type, nosniff, frame-ancestors 'none' (and HSTS over https)",
            problems.join("; "),
        ))
        .evidence(rc.evidence(&t))
        .requests(requests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            truncated: false,
        }
    }

    #[test]
    fn the_owasp_set_passes_and_each_missing_header_is_named() {
        let full = [
            ("cache-control", "no-store"),
            ("content-type", "application/json; charset=utf-8"),
            ("x-content-type-options", "nosniff"),
            (
                "content-security-policy",
                "default-src 'none'; frame-ancestors 'none'",
            ),
            ("strict-transport-security", "max-age=63072000"),
        ];
        assert!(api_header_problems(&response(&full, "{}"), true).is_empty());
        for skip in 0..full.len() {
            let partial: Vec<_> = full
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, h)| *h)
                .collect();
            assert_eq!(
                api_header_problems(&response(&partial, "{}"), true).len(),
                1,
                "without {}",
                full[skip].0
            );
        }
        // HSTS is only asked for over https; X-Frame-Options stands in for frame-ancestors.
        let plain = [
            ("cache-control", "private, no-store"),
            ("content-type", "application/problem+json"),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
        ];
        assert!(api_header_problems(&response(&plain, "{}"), false).is_empty());
        let framed = [("content-security-policy", "frame-ancestors *")];
        assert!(
            api_header_problems(&response(&framed, "{}"), false)
                .iter()
                .any(|p| p.starts_with("framing allowed"))
        );
    }

    #[test]
    fn json_is_recognised_by_type_or_by_body() {
        assert!(is_json(&response(
            &[("content-type", "application/json")],
            ""
        )));
        assert!(is_json(&response(
            &[("content-type", "text/html")],
            "{\"a\":1}"
        )));
        assert!(!is_json(&response(
            &[("content-type", "text/html")],
            "<p>hi</p>"
        )));
    }
}
