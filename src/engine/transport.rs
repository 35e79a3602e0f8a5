//! `check: {transport: ...}`: caching of credential responses, the CSP of HTML pages, CORS
//! with credentials, CSRF on the logout request, and where browser credentials are delivered.

use crate::http::{Exchange, ProbeRequest, Response};
use crate::profile::{ClientKind, FlowName, RequestSpec, Template};
use crate::spec::{Rule, TransportAssertion};

use super::browser::{AccessOutcome, Browser, Recorded};
use super::{RuleCtx, RuleResult, Status, evidence, step_error};

/// An origin no service should trust.
pub const EVIL_ORIGIN: &str = "https://authprobe-attacker.example";

fn fail(
    rc: &RuleCtx,
    rule: &Rule,
    expected: &str,
    observed: String,
    transcript: &[Recorded],
) -> RuleResult {
    let mut r = RuleResult::new(rule, Status::Fail).because(observed.clone());
    r.expected = Some(expected.to_string());
    r.observed = Some(observed);
    r.evidence = evidence(&rc.ctx, transcript);
    r.requests = transcript.len() as u64;
    r
}

fn pass(rule: &Rule, note: String, requests: u64) -> RuleResult {
    let mut r = RuleResult::new(rule, Status::Pass);
    r.notes.push(note);
    r.requests = requests;
    r
}

/// True when a `Cache-Control` value has the `no-store` directive.
pub fn has_no_store(value: Option<&str>) -> bool {
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

pub(crate) async fn run(rc: &RuleCtx, rule: &Rule, a: TransportAssertion) -> RuleResult {
    match a {
        TransportAssertion::NoStore => no_store(rc, rule).await,
        TransportAssertion::Csp => csp(rc, rule).await,
        TransportAssertion::CorsCredentials => cors(rc, rule).await,
        TransportAssertion::Csrf => csrf(rc, rule).await,
        TransportAssertion::TokenInBody => token_in_body(rc, rule),
    }
}

async fn no_store(rc: &RuleCtx, rule: &Rule) -> RuleResult {
    let ctx = &rc.ctx;
    let mut checked: Vec<Recorded> = rc
        .baseline
        .session
        .iter()
        .map(|s| Recorded {
            label: "the login response that set the session cookie".into(),
            exchange: s.exchange.clone(),
        })
        .collect();
    if let Some(t) = &rc.baseline.token {
        checked.push(Recorded {
            label: "the token response".into(),
            exchange: t.exchange.clone(),
        });
    }
    let mut sent = 0u64;
    // A refresh grant's answer carries credentials too (RFC 6749 §5.1).
    if ctx
        .target
        .capabilities()
        .contains(&crate::spec::Capability::Refresh)
    {
        let mut t = Vec::new();
        let mut b = Browser::new("no-store");
        let res = match b.token_login(ctx, "alice", &mut t).await {
            Ok(_) => b.run_flow(ctx, FlowName::TokenRefresh, None, &mut t).await,
            Err(e) => Err(e),
        };
        sent = t.len() as u64;
        match res {
            Ok(_) => {
                if let Some(last) = t.pop() {
                    checked.push(Recorded {
                        label: "the refresh response".into(),
                        exchange: last.exchange,
                    });
                }
            }
            Err(e) => return step_error(ctx, rule, e, &t),
        }
    }
    if checked.is_empty() {
        return RuleResult::new(rule, Status::Skip).because(
            "the profile yields no credential response (no session login, no token grant)",
        );
    }
    let bad: Vec<&Recorded> = checked
        .iter()
        .filter(|r| !has_no_store(r.exchange.response.header("cache-control")))
        .collect();
    if bad.is_empty() {
        return pass(
            rule,
            format!(
                "{} credential responses ({}) carry Cache-Control: no-store",
                checked.len(),
                checked
                    .iter()
                    .map(|r| r.label.trim_start_matches("the "))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            sent,
        );
    }
    let what: Vec<String> = bad
        .iter()
        .map(|r| {
            format!(
                "{} has Cache-Control {:?}",
                r.label,
                r.exchange
                    .response
                    .header("cache-control")
                    .unwrap_or("(none)")
            )
        })
        .collect();
    let shown: Vec<Recorded> = bad.into_iter().cloned().collect();
    let mut r = fail(
        rc,
        rule,
        "Cache-Control: no-store on every response that delivers a credential",
        what.join("; "),
        &shown,
    );
    r.requests = sent;
    r
}

async fn csp(rc: &RuleCtx, rule: &Rule) -> RuleResult {
    let ctx = &rc.ctx;
    let mut transcript = Vec::new();
    let mut html_pages = 0;
    let mut problems: Vec<String> = Vec::new();
    for page in &ctx.target.pages {
        let url = match ctx.target.url(page) {
            Ok(u) => u,
            Err(e) => return RuleResult::new(rule, Status::Error).because(e.to_string()),
        };
        let ex = match ctx.client.send(ProbeRequest::get(url)).await {
            Ok(ex) => ex,
            Err(e) => return step_error(ctx, rule, super::StepError::Http(e), &transcript),
        };
        let html = ex.response.status == 200
            && ex
                .response
                .header("content-type")
                .is_some_and(|c| c.to_ascii_lowercase().contains("text/html"));
        if html {
            html_pages += 1;
            for p in csp_problems(ex.response.header("content-security-policy")) {
                problems.push(format!("{page}: {p}"));
            }
        }
        transcript.push(Recorded {
            label: format!("page {page}"),
            exchange: ex,
        });
    }
    if html_pages == 0 {
        let mut r = RuleResult::new(rule, Status::Skip).because(format!(
            "none of the profile's pages ({}) answered 200 with HTML; list HTML pages in `pages`",
            ctx.target.pages.join(", ")
        ));
        r.requests = transcript.len() as u64;
        return r;
    }
    if problems.is_empty() {
        pass(
            rule,
            format!("{html_pages} HTML pages carry a strict CSP"),
            transcript.len() as u64,
        )
    } else {
        fail(
            rc,
            rule,
            "a CSP without unsafe-inline/unsafe-eval (unless nonces or hashes), with object-src 'none' and base-uri",
            problems.join("; "),
            &transcript,
        )
    }
}

fn cors_verdict(origin: &str, r: &Response) -> Option<String> {
    let acao = r.header("access-control-allow-origin")?;
    let creds = r
        .header("access-control-allow-credentials")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    (creds && acao.trim() == origin).then(|| {
        format!("Origin `{origin}` was reflected with Access-Control-Allow-Credentials: true")
    })
}

async fn cors(rc: &RuleCtx, rule: &Rule) -> RuleResult {
    let ctx = &rc.ctx;
    let mut transcript = Vec::new();
    let mut b = Browser::new("alice");
    if let Err(e) = b.login(ctx, "alice", &mut transcript).await {
        return step_error(ctx, rule, e, &transcript);
    }
    let mut found = Vec::new();
    for origin in [EVIL_ORIGIN, "null"] {
        let req = match super::browser::session_access(ctx)
            .and_then(|a| Browser::build(ctx, &a.request, &b.vars))
        {
            Ok(r) => r.header("Origin", origin),
            Err(e) => return step_error(ctx, rule, e, &transcript),
        };
        let ex = match Browser::send_with(ctx, req, Some(&b.jar)).await {
            Ok(ex) => ex,
            Err(e) => return step_error(ctx, rule, super::StepError::Http(e), &transcript),
        };
        if let Some(v) = cors_verdict(origin, &ex.response) {
            found.push(v);
        }
        transcript.push(Recorded {
            label: format!("the protected request from Origin {origin}"),
            exchange: ex,
        });
    }
    if found.is_empty() {
        pass(
            rule,
            format!("neither `{EVIL_ORIGIN}` nor `null` is trusted with credentials"),
            transcript.len() as u64,
        )
    } else {
        fail(
            rc,
            rule,
            "no Access-Control-Allow-Origin echo of untrusted origins with credentials",
            found.join("; "),
            &transcript,
        )
    }
}

/// The request without headers, form fields or a body that carry extracted variables
/// (CSRF tokens); user credentials stay.
fn strip_tokens(r: &RequestSpec) -> RequestSpec {
    let carries =
        |text: &str| Template::parse(text).is_ok_and(|t| t.vars().any(|v| !v.starts_with("user.")));
    let mut r = r.clone();
    r.headers.retain(|_, v| !carries(v));
    if let Some(form) = &mut r.form {
        form.retain(|_, v| !carries(v));
    }
    if r.body.as_deref().is_some_and(carries) {
        r.body = None;
    }
    if let Some(serde_json::Value::Object(o)) = &mut r.json {
        o.retain(|_, v| !v.as_str().is_some_and(carries));
    }
    r
}

async fn csrf(rc: &RuleCtx, rule: &Rule) -> RuleResult {
    let ctx = &rc.ctx;
    let mut transcript = Vec::new();
    let mut b = Browser::new("victim");
    if let Err(e) = b.login(ctx, "alice", &mut transcript).await {
        return step_error(ctx, rule, e, &transcript);
    }
    match b
        .access(
            ctx,
            None,
            "positive control: the session works",
            &mut transcript,
        )
        .await
    {
        Ok(AccessOutcome::Allowed) => {}
        Ok(o) => {
            return RuleResult::new(rule, Status::Inconclusive).because(format!(
                "positive control failed: the session was {} right after login",
                o.as_str()
            ));
        }
        Err(e) => return step_error(ctx, rule, e, &transcript),
    }
    let Some(last) = ctx.target.flow(FlowName::Logout).and_then(|s| s.last()) else {
        return RuleResult::new(rule, Status::Skip).because("the profile defines no logout flow");
    };
    let forged_spec = strip_tokens(&last.value.request);
    let req = match Browser::build(ctx, &forged_spec, &b.vars) {
        Ok(r) => r
            .header("Origin", EVIL_ORIGIN)
            .header("Sec-Fetch-Site", "cross-site")
            .header("Referer", format!("{EVIL_ORIGIN}/")),
        Err(e) => return step_error(ctx, rule, e, &transcript),
    };
    let ex = match Browser::send_with(ctx, req, Some(&b.jar)).await {
        Ok(ex) => ex,
        Err(e) => return step_error(ctx, rule, super::StepError::Http(e), &transcript),
    };
    let forged_status = ex.response.status;
    transcript.push(Recorded {
        label: format!("the logout request forged from {EVIL_ORIGIN}, without the CSRF token"),
        exchange: ex,
    });
    match b
        .access(
            ctx,
            None,
            "the session after the forged request",
            &mut transcript,
        )
        .await
    {
        Ok(AccessOutcome::Allowed) => pass(
            rule,
            format!(
                "the forged cross-site logout was refused ({forged_status}) and the session still works"
            ),
            transcript.len() as u64,
        ),
        Ok(AccessOutcome::Denied) => fail(
            rc,
            rule,
            "the forged cross-site logout refused; the session still works",
            format!(
                "the forged cross-site logout without the CSRF token answered {forged_status} and ended the session"
            ),
            &transcript,
        ),
        Ok(o) => RuleResult::new(rule, Status::Inconclusive).because(format!(
            "after the forged request the session was {}",
            o.as_str()
        )),
        Err(e) => step_error(ctx, rule, e, &transcript),
    }
}

fn body_contains(ex: &Exchange, secret: &str) -> bool {
    secret.len() >= 8 && ex.response.body_text().contains(secret)
}

fn token_in_body(rc: &RuleCtx, rule: &Rule) -> RuleResult {
    let mut bad: Vec<Recorded> = Vec::new();
    let mut what = Vec::new();
    for r in &rc.baseline.transcript {
        let session_id = rc
            .baseline
            .session
            .as_ref()
            .map_or("", |s| s.session_id.as_str());
        if r.label.starts_with("login") && body_contains(&r.exchange, session_id) {
            what.push(format!("{} returns the session id in its body", r.label));
            bad.push(r.clone());
        }
    }
    let mut notes = Vec::new();
    if let (Some(t), Some(spec)) = (&rc.baseline.token, &rc.ctx.target.token) {
        if spec.client == ClientKind::Browser {
            if body_contains(&t.exchange, &t.token) {
                what.push(
                    "the token response returns the access token in its body to a browser client"
                        .into(),
                );
                bad.push(Recorded {
                    label: "token login".into(),
                    exchange: t.exchange.clone(),
                });
            }
        } else {
            notes.push(
                "the token section is for an API client (`client: api`); its JSON body is expected"
                    .to_string(),
            );
        }
    }
    if bad.is_empty() {
        let mut r = pass(
            rule,
            "no credential meant for a browser is delivered in a response body".into(),
            0,
        );
        r.notes.extend(notes);
        r
    } else {
        let mut r = fail(
            rc,
            rule,
            "credentials for browsers only in HttpOnly cookies",
            what.join("; "),
            &bad,
        );
        r.requests = 0;
        r.notes.extend(notes);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_store_is_found_among_directives() {
        assert!(has_no_store(Some("no-store")));
        assert!(has_no_store(Some("private, No-Store, max-age=0")));
        assert!(!has_no_store(Some("no-cache, max-age=0")));
        assert!(!has_no_store(None));
    }

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
