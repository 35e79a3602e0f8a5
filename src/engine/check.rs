//! Kind `check`: assertions on the session cookie the preflight login received, and on
//! session ids (one, or a sample from fresh logins).

use crate::analysis::session_id::{analyse_sample, problems_with_min_bits, readable_content};
use crate::cookie::{CookieStore, RejectionKind, SameSite, format_http_date, parse_set_cookie};
use crate::spec::{Check, CookieAssertion, PrefixPolicy, Rule, SameSiteValue, SessionIdAssertion};

use super::browser::{Browser, now_unix};
use super::{Evidence, Recorded, RuleCtx, RuleResult, Status, StepError, evidence, step_error};

pub(crate) async fn run(rc: &RuleCtx, rule: &Rule, check: &Check) -> RuleResult {
    match check {
        Check::Cookie(a) => cookie(rc, rule, *a),
        Check::SessionId(SessionIdAssertion::Opaque) => opaque(rc, rule),
        Check::SessionId(SessionIdAssertion::Entropy) => entropy(rc, rule).await,
        Check::Jwt(a) => super::token::check(rc, rule, *a),
        Check::Transport(a) => super::transport::run(rc, rule, *a).await,
    }
}

fn fail(rc: &RuleCtx, rule: &Rule, expected: String, observed: String) -> RuleResult {
    let mut r = RuleResult::new(rule, Status::Fail).because(observed.clone());
    r.expected = Some(expected);
    r.observed = Some(observed);
    r.evidence = rc
        .baseline
        .session
        .iter()
        .map(|s| {
            Evidence::new(
                "login (preflight): the response that set the session cookie",
                &s.exchange,
                rc.ctx.client.redactor(),
            )
        })
        .collect();
    r
}

/// The result for a session check on a token-only profile (the `session` capability is
/// required, so the scheduler skips these rules first; this is the safety net).
fn no_session(rule: &Rule) -> RuleResult {
    RuleResult::new(rule, Status::Skip).because("the profile defines no cookie session (`flows`)")
}

fn pass(rule: &Rule, note: String) -> RuleResult {
    let mut r = RuleResult::new(rule, Status::Pass);
    r.notes.push(note);
    r
}

fn same_site_name(v: SameSiteValue) -> &'static str {
    match v {
        SameSiteValue::Strict => "Strict",
        SameSiteValue::Lax => "Lax",
        SameSiteValue::None => "None",
    }
}

fn cookie(rc: &RuleCtx, rule: &Rule, a: CookieAssertion) -> RuleResult {
    let Some(sb) = rc.baseline.session.as_ref() else {
        return no_session(rule);
    };
    let raw = &sb.set_cookie;
    let sc = parse_set_cookie(raw);
    let e = sc.effective();
    let name = &sc.name;
    let shown = rc.ctx.client.redactor().redact(raw);
    match a {
        CookieAssertion::HttpOnly => {
            if e.http_only {
                pass(rule, format!("`{name}` is set with HttpOnly"))
            } else {
                fail(
                    rc,
                    rule,
                    format!("`{name}` set with HttpOnly"),
                    format!("`{name}` is set without HttpOnly: {shown}"),
                )
            }
        }
        CookieAssertion::Secure => {
            if e.secure {
                pass(rule, format!("`{name}` is set with Secure"))
            } else {
                fail(
                    rc,
                    rule,
                    format!("`{name}` set with Secure"),
                    format!("`{name}` is set without Secure: {shown}"),
                )
            }
        }
        CookieAssertion::SameSite => {
            let allowed: Vec<&str> = rc
                .policy
                .same_site
                .iter()
                .map(|v| same_site_name(*v))
                .collect();
            let got = match e.same_site {
                SameSite::Strict => Some(SameSiteValue::Strict),
                SameSite::Lax => Some(SameSiteValue::Lax),
                SameSite::None => Some(SameSiteValue::None),
                SameSite::Default => None,
            };
            let expected = format!("SameSite={}", allowed.join(" or SameSite="));
            match got {
                Some(v) if rc.policy.same_site.contains(&v) => {
                    pass(rule, format!("`{name}` has SameSite={}", same_site_name(v)))
                }
                Some(v) => fail(
                    rc,
                    rule,
                    expected,
                    format!(
                        "`{name}` has SameSite={}, which the policy does not allow: {shown}",
                        same_site_name(v)
                    ),
                ),
                None => fail(
                    rc,
                    rule,
                    expected,
                    match &e.same_site_raw {
                        Some(raw_v) => format!(
                            "`{name}` has an unrecognised SameSite value `{raw_v}` (browsers apply their default): {shown}"
                        ),
                        None => format!(
                            "`{name}` has no SameSite attribute (browsers differ on the default): {shown}"
                        ),
                    },
                ),
            }
        }
        CookieAssertion::Scope => match &e.domain {
            None => pass(rule, format!("`{name}` is host-only (no Domain attribute)")),
            Some(d)
                if rc
                    .policy
                    .cookie_domain
                    .as_deref()
                    .is_some_and(|p| p.trim_start_matches('.').eq_ignore_ascii_case(d)) =>
            {
                pass(
                    rule,
                    format!("`{name}` has Domain={d}, which the policy allows"),
                )
            }
            Some(d) => fail(
                rc,
                rule,
                "no Domain attribute (a host-only cookie)".into(),
                if d.parse::<std::net::IpAddr>().is_ok() {
                    format!("`{name}` has Domain={d}, which turns off the host-only flag: {shown}")
                } else {
                    format!("`{name}` has Domain={d}, so every host under {d} receives it: {shown}")
                },
            ),
        },
        CookieAssertion::Prefix => {
            let lower = name.to_ascii_lowercase();
            let has_host = lower.starts_with("__host-");
            let has_secure = lower.starts_with("__secure-");
            let wanted = match rc.policy.cookie_prefix {
                PrefixPolicy::Host if !has_host => Some("__Host-"),
                PrefixPolicy::Secure if !has_host && !has_secure => Some("__Secure- or __Host-"),
                _ => None,
            };
            if let Some(w) = wanted {
                return fail(
                    rc,
                    rule,
                    format!("a cookie name starting with {w}"),
                    format!("the session cookie is named `{name}`, without the {w} prefix"),
                );
            }
            if !has_host && !has_secure {
                return pass(
                    rule,
                    format!("`{name}` carries no prefix and the policy requires none"),
                );
            }
            let mut store = CookieStore::new();
            match store.set(&sc, &sb.url, now_unix()) {
                Ok(_) => pass(
                    rule,
                    format!("`{name}` meets its prefix's requirements; a browser stores it"),
                ),
                Err(rej)
                    if matches!(
                        rej.kind,
                        RejectionKind::HostPrefixViolation | RejectionKind::SecurePrefixViolation
                    ) =>
                {
                    fail(
                        rc,
                        rule,
                        "Secure, and for __Host-: Path=/ and no Domain".into(),
                        format!(
                            "browsers reject this cookie: {} ({}): {shown}",
                            rej.message, rej.section
                        ),
                    )
                }
                Err(rej) => {
                    let mut r = pass(rule, format!("`{name}` meets its prefix's requirements"));
                    r.notes.push(format!(
                        "a browser would still reject it for another reason: {} ({})",
                        rej.message, rej.section
                    ));
                    r
                }
            }
        }
        CookieAssertion::Lifetime => {
            let now = now_unix();
            let max = rc.policy.cookie_max_lifetime.0 as i64;
            let lifetime = match (e.max_age, e.expires) {
                (Some(m), _) => Some(m),
                (None, Some(x)) => Some(x - now),
                (None, None) => None,
            };
            match lifetime {
                None => pass(
                    rule,
                    format!("`{name}` is a browser-session cookie (no Max-Age or Expires)"),
                ),
                Some(l) if l <= max => pass(
                    rule,
                    format!(
                        "`{name}` lives {l} s, within the policy's {}",
                        rc.policy.cookie_max_lifetime
                    ),
                ),
                Some(l) => {
                    let capped = l.min(crate::cookie::COOKIE_AGE_LIMIT);
                    fail(
                        rc,
                        rule,
                        format!(
                            "a lifetime of at most {} ({max} s)",
                            rc.policy.cookie_max_lifetime
                        ),
                        format!(
                            "`{name}` asks to live {l} s ({} days; browsers keep it {} days, until {}): {shown}",
                            l / 86_400,
                            capped / 86_400,
                            format_http_date(now + capped)
                        ),
                    )
                }
            }
        }
    }
}

/// Masks long token-like runs (16+ base64/hex characters) in text derived from a session id,
/// so a report shows the shape of what is readable without handing out the secret part.
pub(crate) fn mask_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 16 {
            let head: String = run.chars().take(4).collect();
            out.push_str(&format!(
                "{head}…[{} chars masked]",
                run.chars().count() - 4
            ));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/' | '=') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn usernames(rc: &RuleCtx) -> Vec<String> {
    rc.ctx
        .target
        .users
        .values()
        .map(|u| u.username.clone())
        .collect()
}

fn opaque(rc: &RuleCtx, rule: &Rule) -> RuleResult {
    let names = usernames(rc);
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let Some(sb) = rc.baseline.session.as_ref() else {
        return no_session(rule);
    };
    match readable_content(&sb.session_id, &refs) {
        None => pass(rule, "the session id decodes to nothing readable (tried percent, base64, base64url, hex, JSON, JWT)".into()),
        Some(found) => {
            let mut observed = format!(
                "the session id is {:?}-encoded readable data: {}",
                found.encoding,
                mask_tokens(&found.text)
            );
            if let Some(u) = &found.contains_username {
                observed.push_str(&format!(" (it contains the user name `{u}`)"));
            }
            fail(rc, rule, "an opaque random value".into(), observed)
        }
    }
}

/// Shows at most 4 characters of a prefix that all sampled ids share.
fn mask_prefix(text: &str, prefix: &str) -> String {
    if prefix.chars().count() <= 4 {
        return text.to_string();
    }
    let head: String = prefix.chars().take(4).collect();
    text.replace(prefix, &format!("{head}…"))
}

async fn entropy(rc: &RuleCtx, rule: &Rule) -> RuleResult {
    let n = rc.policy.session_id_samples as usize;
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(rc.case_concurrency));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let ctx = rc.ctx.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            let mut b = Browser::new(format!("sample {}", i + 1));
            let mut t = Vec::new();
            let res = b.login(&ctx, "alice", &mut t).await;
            (
                i,
                res.map(|()| b.session_id(&ctx).unwrap_or_default().to_string()),
                t,
            )
        });
    }
    let mut ids: Vec<(usize, String)> = Vec::with_capacity(n);
    let mut transcript: Vec<Recorded> = Vec::new();
    let mut first_err: Option<(StepError, Vec<Recorded>)> = None;
    while let Some(j) = set.join_next().await {
        let Ok((i, res, t)) = j else { continue };
        match res {
            Ok(id) => {
                ids.push((i, id));
                if transcript.len() < 6 {
                    transcript.extend(t);
                }
            }
            Err(e) => {
                if first_err.is_none() {
                    first_err = Some((e, t));
                }
            }
        }
    }
    if let Some((e, t)) = first_err {
        return step_error(&rc.ctx, rule, e, &t);
    }
    ids.sort();
    let ids: Vec<String> = ids.into_iter().map(|(_, id)| id).collect();
    let a = analyse_sample(&ids);
    let problems: Vec<String> = problems_with_min_bits(&a, rc.policy.session_id_min_entropy_bits)
        .into_iter()
        .map(|p| mask_prefix(&p, &a.common_prefix_text))
        .collect();
    let summary = format!(
        "{} ids from {} fresh logins: {} unique, length {}..={}, {:?} alphabet, about {:.0} bits of entropy, common prefix {} chars",
        a.samples, n, a.unique, a.min_len, a.max_len, a.alphabet, a.estimated_bits, a.common_prefix
    );
    let mut r = if problems.is_empty() {
        let mut r = RuleResult::new(rule, Status::Pass);
        r.notes.push(summary);
        r
    } else {
        let mut r = RuleResult::new(rule, Status::Fail).because(problems.join("; "));
        r.expected = Some(format!(
            "unique, unpatterned ids with at least {} bits of entropy",
            rc.policy.session_id_min_entropy_bits
        ));
        r.observed = Some(format!("{}; {summary}", problems.join("; ")));
        r.evidence = evidence(&rc.ctx, &transcript);
        r
    };
    r.requests = (n as u64)
        * rc.ctx
            .target
            .flow(crate::profile::FlowName::Login)
            .map_or(0, <[_]>::len) as u64;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_tokens_are_masked_and_words_kept() {
        let t = mask_tokens(r#"{"nonce":"f668ae0cd729a595fb2e5aad","user":"alice"}"#);
        assert_eq!(t, r#"{"nonce":"f668…[20 chars masked]","user":"alice"}"#);
        assert_eq!(
            mask_prefix("start \"0000000000ab\" x", "0000000000ab"),
            "start \"0000…\" x"
        );
    }
}
