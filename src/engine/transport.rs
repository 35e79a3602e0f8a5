//! `check: {transport: ...}`: caching of credential responses, the CSP of HTML pages, CORS
//! with credentials, CSRF on the logout request, and where browser credentials are delivered.

use crate::cookie::{CookieStore, SiteContext, parse_set_cookie_ref};
use crate::http::{Exchange, ProbeRequest, Response};
use crate::profile::{ClientKind, FlowName, RequestSpec, Template};
use crate::spec::TransportAssertion;
use crate::units::SpecUser;

use super::browser::{AccessOutcome, Browser, Jar, Recorded, StepError, now_unix, session_access};
use super::headers::has_no_store;
use super::outcome::{Inconclusive, Outcome, Verdict};
use super::probe::{Recheck, confirm};
use super::rule::{RuleCtx, step_verdict};

/// An origin no service should trust.
pub const EVIL_ORIGIN: &str = "https://authprobe-attacker.example";

fn fail(rc: &RuleCtx, expected: &str, observed: String, transcript: &[Recorded]) -> Verdict {
    Verdict::new(Outcome::fail_observed(expected, observed))
        .evidence(rc.evidence(transcript))
        .requests(transcript.len() as u64)
}

fn pass(note: String, requests: u64) -> Verdict {
    Verdict::pass(note).requests(requests)
}

/// Runs one transport assertion.
pub(crate) async fn run(rc: &RuleCtx, a: TransportAssertion) -> Verdict {
    let verdict = judge(rc, a).await;
    if matches!(
        a,
        TransportAssertion::NoStore | TransportAssertion::TokenInBody
    ) {
        // These read the preflight's login responses, which authenticated: nothing to re-run.
        return verdict;
    }
    // The others send their own requests: a failure must show again when they are sent again.
    confirm(rc, verdict, "ran the check again", async |_| {
        let again = match a {
            TransportAssertion::Csp => super::csp::run(rc, true).await,
            a => judge(rc, a).await,
        };
        match again.outcome {
            Outcome::Fail(f) => Recheck::Failed(f.observed),
            Outcome::Pass => Recheck::Passed("the check passed".into()),
            other => Recheck::Unclear(other.to_string()),
        }
    })
    .await
}

async fn judge(rc: &RuleCtx, a: TransportAssertion) -> Verdict {
    match a {
        TransportAssertion::NoStore => no_store(rc).await,
        TransportAssertion::Csp => super::csp::run(rc, false).await,
        TransportAssertion::ApiHeaders => super::headers::api_headers(rc).await,
        TransportAssertion::CorsCredentials => cors(rc).await,
        TransportAssertion::Csrf => csrf(rc).await,
        TransportAssertion::TokenInBody => token_in_body(rc),
    }
}

async fn no_store(rc: &RuleCtx) -> Verdict {
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
        let res = match b.token_login(ctx, SpecUser::Alice.name(), &mut t).await {
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
            Err(e) => return step_verdict(rc, e, &t),
        }
    }
    if checked.is_empty() {
        return Verdict::not_applicable(
            "the profile yields no credential response (no session login, no token grant)",
        );
    }
    let bad: Vec<&Recorded> = checked
        .iter()
        .filter(|r| !has_no_store(r.exchange.response.header("cache-control")))
        .collect();
    if bad.is_empty() {
        return pass(
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
    fail(
        rc,
        "Cache-Control: no-store on every response that delivers a credential",
        what.join("; "),
        &shown,
    )
    .requests(sent)
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

async fn cors(rc: &RuleCtx) -> Verdict {
    let ctx = &rc.ctx;
    let mut transcript = Vec::new();
    let mut b = Browser::new(SpecUser::Alice.name());
    // Reads the answers to cross-origin requests: the run's shared session will do.
    if let Err(e) = b
        .shared_login(ctx, SpecUser::Alice.name(), &mut transcript)
        .await
    {
        return step_verdict(rc, e, &transcript);
    }
    let mut found = Vec::new();
    for origin in [EVIL_ORIGIN, "null"] {
        let req = match session_access(ctx).and_then(|a| Browser::build(ctx, &a.request, &b.vars)) {
            Ok(r) => r.header("Origin", origin),
            Err(e) => return step_verdict(rc, e, &transcript),
        };
        let ex = match Browser::send_with(ctx, req, Some(&b.jar)).await {
            Ok(ex) => ex,
            Err(e) => return step_verdict(rc, StepError::Http(e), &transcript),
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
            format!("neither `{EVIL_ORIGIN}` nor `null` is trusted with credentials"),
            transcript.len() as u64,
        )
    } else {
        fail(
            rc,
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

/// `transport: csrf`: a logout forged from another site, without the CSRF token, must not
/// end the session.
///
/// The forged request carries the cookies a browser would attach to it from the attacker's
/// site (the cookie store's SameSite rules), and the verdict "refused" is read from "the
/// session still works" only after a control showed that a genuine logout does end a
/// session. When SameSite alone keeps the session cookie off the forged request, the same
/// request is also sent with the cookie (what a same-site attacker could do) to say whether
/// SameSite is the only protection.
async fn csrf(rc: &RuleCtx) -> Verdict {
    let ctx = &rc.ctx;
    let mut transcript = Vec::new();
    let Some(last) = ctx.target.flow(FlowName::Logout).and_then(|s| s.last()) else {
        return Verdict::not_applicable("the profile defines no logout flow");
    };
    let forged_spec = strip_tokens(&last.value.request);
    if let Err(v) = genuine_logout_ends_the_session(rc, &mut transcript).await {
        return v;
    }
    let mut victim = Browser::new("victim");
    if let Err(e) = victim
        .login(ctx, SpecUser::Alice.name(), &mut transcript)
        .await
    {
        return step_verdict(rc, e, &transcript);
    }
    match victim
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
            return Verdict::inconclusive(Inconclusive::Control(format!(
                "the session was {} right after login",
                o.as_str()
            )))
            .evidence(rc.evidence(&transcript));
        }
        Err(e) => return step_verdict(rc, e, &transcript),
    }
    let req = match Browser::build(ctx, &forged_spec, &victim.vars) {
        Ok(r) => r,
        Err(e) => return step_verdict(rc, e, &transcript),
    };
    let top_level_safe = matches!(req.method.as_str(), "GET" | "HEAD");
    let cross_site = SiteContext::CrossSite { top_level_safe };
    let sent = cookies_in(&victim, &req.url, cross_site);
    let session_sent = ctx
        .session_cookies()
        .iter()
        .all(|name| sent.contains_key(name.as_str()));
    if !session_sent {
        return samesite_keeps_it_out(rc, &victim, req, &sent, transcript).await;
    }
    forged_logout(rc, &mut victim, req, &sent, transcript).await
}

/// The control behind "the forged logout was refused": a genuine logout ends a session (a
/// service whose logout never ends the session gives nothing to read from "still works").
async fn genuine_logout_ends_the_session(
    rc: &RuleCtx,
    transcript: &mut Vec<Recorded>,
) -> Result<(), Verdict> {
    let ctx = &rc.ctx;
    let mut g = Browser::new("control");
    // The session's cookies as held before the logout, replayed after it: a logout that only
    // clears the cookie in the browser does not end the session.
    let step = async |g: &mut Browser, t: &mut Vec<Recorded>| -> Result<AccessOutcome, StepError> {
        g.login(ctx, SpecUser::Alice.name(), t).await?;
        let before = g.jar.clone();
        g.run_flow(ctx, FlowName::Logout, None, t).await?;
        let label = "control: the session's cookies replayed after a genuine logout";
        g.access(ctx, Some(&before), label, t).await
    };
    match step(&mut g, transcript).await {
        Ok(AccessOutcome::Denied) => Ok(()),
        Ok(o) => Err(Verdict::inconclusive(Inconclusive::Control(format!(
            "after a genuine logout the session was {}, so a forged logout cannot be judged by whether the session still works",
            o.as_str()
        )))
        .evidence(rc.evidence(transcript))
        .requests(transcript.len() as u64)),
        Err(e) => Err(step_verdict(rc, e, transcript)),
    }
}

/// The cookies a browser holding `b`'s cookies would attach to `url` in `context`.
fn cookies_in(b: &Browser, url: &url::Url, context: SiteContext) -> Jar {
    let now = now_unix();
    let mut store = CookieStore::new();
    for (from, raw) in &b.set_cookies {
        let _ = store.set(&parse_set_cookie_ref(raw), from, now);
    }
    store
        .cookie_header_in(url, now, context)
        .map(|h| {
            h.split("; ")
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Sends the forged request with the cookies `jar` holds, from the attacker's origin.
async fn send_forged(
    rc: &RuleCtx,
    req: ProbeRequest,
    jar: &Jar,
    label: String,
    transcript: &mut Vec<Recorded>,
) -> Result<u16, StepError> {
    let req = req
        .header("Origin", EVIL_ORIGIN)
        .header("Sec-Fetch-Site", "cross-site")
        .header("Referer", format!("{EVIL_ORIGIN}/"));
    let ex = Browser::send_with(&rc.ctx, req, Some(jar)).await?;
    let status = ex.response.status;
    transcript.push(Recorded {
        label,
        exchange: ex,
    });
    Ok(status)
}

/// The session cookie travels with the cross-site request: the forged logout must be refused,
/// so the session still works after it.
async fn forged_logout(
    rc: &RuleCtx,
    victim: &mut Browser,
    req: ProbeRequest,
    sent: &Jar,
    mut transcript: Vec<Recorded>,
) -> Verdict {
    let ctx = &rc.ctx;
    let label = format!("the logout request forged from {EVIL_ORIGIN}, without the CSRF token");
    let status = match send_forged(rc, req, sent, label, &mut transcript).await {
        Ok(s) => s,
        Err(e) => return step_verdict(rc, e, &transcript),
    };
    let after = victim
        .access(
            ctx,
            None,
            "the session after the forged request",
            &mut transcript,
        )
        .await;
    match after {
        Ok(AccessOutcome::Allowed) => pass(
            format!(
                "the forged cross-site logout was refused ({status}) and the session still works; a genuine logout does end a session"
            ),
            transcript.len() as u64,
        ),
        Ok(AccessOutcome::Denied) => fail(
            rc,
            "the forged cross-site logout refused; the session still works",
            format!(
                "the forged cross-site logout without the CSRF token answered {status} and ended the session"
            ),
            &transcript,
        ),
        Ok(o) => Verdict::inconclusive(Inconclusive::Unclassified(format!(
            "after the forged request the session was {}",
            o.as_str()
        )))
        .evidence(rc.evidence(&transcript)),
        Err(e) => step_verdict(rc, e, &transcript),
    }
}

/// SameSite keeps the session cookie off the cross-site request, so no browser can forge the
/// logout from another site. The same request with the cookie (a same-site attacker's, e.g.
/// from a compromised subdomain) says whether SameSite is the only protection.
async fn samesite_keeps_it_out(
    rc: &RuleCtx,
    victim: &Browser,
    req: ProbeRequest,
    sent: &Jar,
    mut transcript: Vec<Recorded>,
) -> Verdict {
    let ctx = &rc.ctx;
    let mut same_site = Browser::new("same-site attacker's victim");
    let label = format!(
        "the logout forged from {EVIL_ORIGIN}, without the CSRF token, with the cookies a browser sends cross-site"
    );
    let status = match send_forged(rc, req.clone(), sent, label, &mut transcript).await {
        Ok(s) => s,
        Err(e) => return step_verdict(rc, e, &transcript),
    };
    let names = ctx.session_cookies().join(", ");
    let first = format!(
        "the session cookie ({names}) is SameSite-protected: a browser leaves it off the forged cross-site {} ({status}), so the forged logout cannot end the session",
        req.method
    );
    // A fresh session for the same request with its cookies: what SameSite does not stop.
    if let Err(e) = same_site
        .login(ctx, SpecUser::Alice.name(), &mut transcript)
        .await
    {
        return step_verdict(rc, e, &transcript);
    }
    let label =
        "the same forged logout with the session cookie, as a same-site attacker could send it";
    let with_cookie =
        match send_forged(rc, req, &same_site.jar, label.into(), &mut transcript).await {
            Ok(s) => s,
            Err(e) => return step_verdict(rc, e, &transcript),
        };
    let after = same_site
        .access(
            ctx,
            None,
            "that session after the forged logout",
            &mut transcript,
        )
        .await;
    let _ = victim;
    let note = match after {
        Ok(AccessOutcome::Denied) => format!(
            "SameSite is the only protection: the same logout with the cookie and no CSRF token answered {with_cookie} and ended the session. It does not cover same-site attackers (a compromised or user-controlled subdomain) or state changes made by a top-level GET under SameSite=Lax"
        ),
        Ok(AccessOutcome::Allowed) => format!(
            "the same logout with the cookie but no CSRF token was refused too ({with_cookie}): a token or origin check backs SameSite up"
        ),
        Ok(o) => format!(
            "with the cookie, the session was {} after the forged logout",
            o.as_str()
        ),
        Err(e) => return step_verdict(rc, e, &transcript),
    };
    pass(first, transcript.len() as u64).note(note)
}

fn body_contains(ex: &Exchange, secret: &str) -> bool {
    secret.len() >= 8 && ex.response.body_text().contains(secret)
}

fn token_in_body(rc: &RuleCtx) -> Verdict {
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
    let verdict = if bad.is_empty() {
        pass(
            "no credential meant for a browser is delivered in a response body".into(),
            0,
        )
    } else {
        fail(
            rc,
            "credentials for browsers only in HttpOnly cookies",
            what.join("; "),
            &bad,
        )
        .requests(0)
    };
    verdict.notes(notes)
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
}
