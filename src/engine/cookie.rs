//! Kind `check: {cookie: ...}`: the session cookie's attributes as the preflight login's
//! `Set-Cookie` set them (HttpOnly, Secure, SameSite, scope, prefix, lifetime). The verdict
//! reads the captured header; a failure shows the login response and is confirmed by one
//! more login whose `Set-Cookie` must fail the same way.

use crate::cookie::{
    CookieStore, Effective, RejectionKind, SameSite, SetCookieRef, format_http_date,
    parse_set_cookie_ref,
};
use crate::spec::{CookieAssertion, PrefixPolicy, SameSiteValue};

use super::browser::{Browser, Recorded, now_unix};
use super::outcome::{Evidence, Outcome, Verdict};
use super::preflight::SessionBaseline;
use super::probe::{Recheck, confirm};
use super::rule::RuleCtx;
use crate::units::SpecUser;

/// The session cookie as the preflight login set it.
struct SetAtLogin<'a> {
    rc: &'a RuleCtx,
    baseline: &'a SessionBaseline,
    cookie: SetCookieRef<'a>,
    effective: Effective,
    /// The raw header, redacted, for observations.
    shown: String,
}

impl SetAtLogin<'_> {
    fn name(&self) -> &str {
        self.cookie.name
    }

    /// An attribute value from the target, redacted like the header it came from.
    fn taint(&self, value: &str) -> String {
        self.rc.ctx.client.redactor().redact(value)
    }

    /// A failure whose evidence is the login response.
    fn fail(&self, expected: impl Into<String>, observed: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::fail_observed(expected, observed)).evidence(vec![Evidence::new(
            "login (preflight): the response that set the session cookie",
            &self.baseline.exchange,
            self.rc.ctx.client.redactor(),
        )])
    }
}

/// Runs one cookie assertion on the preflight's `Set-Cookie`; a failure is confirmed by
/// logging in again and judging the `Set-Cookie` of that login the same way.
pub(crate) async fn run(rc: &RuleCtx, a: CookieAssertion) -> Verdict {
    let Some(baseline) = rc.baseline.session.as_ref() else {
        // The `session` capability is required, so the scheduler skips these rules first;
        // this is the safety net.
        return Verdict::not_applicable("the profile defines no cookie session (`flows`)");
    };
    let verdict = judge(rc, baseline, a);
    let what = "logged in again and read the session cookie's Set-Cookie";
    confirm(rc, verdict, what, async |t| {
        relogin(rc, baseline, a, t).await
    })
    .await
}

/// The confirmation: a fresh login's `Set-Cookie` for the session cookie, judged again.
async fn relogin(
    rc: &RuleCtx,
    first: &SessionBaseline,
    a: CookieAssertion,
    t: &mut Vec<Recorded>,
) -> Recheck {
    let ctx = &rc.ctx;
    let start = t.len();
    let mut b = Browser::new("confirmation");
    if let Err(e) = b.login(ctx, SpecUser::Alice.name(), t).await {
        return Recheck::from_step_error(&e);
    }
    let name = &ctx.session_cookie;
    let again = t[start..].iter().rev().find_map(|r| {
        let raw = r
            .exchange
            .response
            .set_cookies()
            .filter(|raw| parse_set_cookie_ref(raw).name == name.as_str())
            .last()?;
        Some(SessionBaseline {
            exchange: r.exchange.clone(),
            set_cookie: raw.to_string(),
            url: r.exchange.request.url.clone(),
            session_id: first.session_id.clone(),
        })
    });
    let Some(again) = again else {
        return Recheck::Unclear(format!("the login set no `{name}` cookie"));
    };
    let v = judge(rc, &again, a);
    let seen = rc.ctx.client.redactor().redact(&again.set_cookie);
    match v.outcome {
        Outcome::Fail(_) => Recheck::Failed(seen),
        Outcome::Pass => Recheck::Passed(seen),
        other => Recheck::Unclear(other.to_string()),
    }
}

/// Judges one cookie assertion on the `Set-Cookie` of `baseline`.
fn judge(rc: &RuleCtx, baseline: &SessionBaseline, a: CookieAssertion) -> Verdict {
    let cookie = parse_set_cookie_ref(&baseline.set_cookie);
    let c = SetAtLogin {
        rc,
        baseline,
        effective: cookie.effective(),
        cookie,
        shown: rc.ctx.client.redactor().redact(&baseline.set_cookie),
    };
    match a {
        CookieAssertion::HttpOnly => flag(&c, c.effective.http_only, "HttpOnly"),
        CookieAssertion::Secure => flag(&c, c.effective.secure, "Secure"),
        CookieAssertion::SameSite => same_site(&c),
        CookieAssertion::Scope => scope(&c),
        CookieAssertion::Prefix => prefix(&c),
        CookieAssertion::Lifetime => lifetime(&c),
    }
}

fn flag(c: &SetAtLogin<'_>, present: bool, attribute: &str) -> Verdict {
    let name = c.name();
    if present {
        Verdict::pass(format!("`{name}` is set with {attribute}"))
    } else {
        c.fail(
            format!("`{name}` set with {attribute}"),
            format!("`{name}` is set without {attribute}: {}", c.shown),
        )
    }
}

fn same_site_name(v: SameSiteValue) -> &'static str {
    match v {
        SameSiteValue::Strict => "Strict",
        SameSiteValue::Lax => "Lax",
        SameSiteValue::None => "None",
    }
}

fn same_site(c: &SetAtLogin<'_>) -> Verdict {
    let (name, e, policy) = (c.name(), &c.effective, &c.rc.policy);
    let allowed: Vec<&str> = policy
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
        Some(v) if policy.same_site.contains(&v) => {
            Verdict::pass(format!("`{name}` has SameSite={}", same_site_name(v)))
        }
        Some(v) => c.fail(
            expected,
            format!(
                "`{name}` has SameSite={}, which the policy does not allow: {}",
                same_site_name(v),
                c.shown
            ),
        ),
        None => c.fail(
            expected,
            match e.same_site_raw.as_deref().map(|v| c.taint(v)) {
                Some(raw_v) => format!(
                    "`{name}` has an unrecognised SameSite value `{raw_v}` (browsers apply their default): {}",
                    c.shown
                ),
                None => format!(
                    "`{name}` has no SameSite attribute (browsers differ on the default): {}",
                    c.shown
                ),
            },
        ),
    }
}

fn scope(c: &SetAtLogin<'_>) -> Verdict {
    let name = c.name();
    let allowed_domain = c.rc.policy.cookie_domain.as_deref();
    let domain = c.effective.domain.as_deref().map(|d| c.taint(d));
    match &domain {
        None => Verdict::pass(format!("`{name}` is host-only (no Domain attribute)")),
        Some(d)
            if allowed_domain
                .is_some_and(|p| p.trim_start_matches('.').eq_ignore_ascii_case(d)) =>
        {
            Verdict::pass(format!("`{name}` has Domain={d}, which the policy allows"))
        }
        Some(d) => c.fail(
            "no Domain attribute (a host-only cookie)",
            if d.parse::<std::net::IpAddr>().is_ok() {
                format!(
                    "`{name}` has Domain={d}, which turns off the host-only flag: {}",
                    c.shown
                )
            } else {
                format!(
                    "`{name}` has Domain={d}, so every host under {d} receives it: {}",
                    c.shown
                )
            },
        ),
    }
}

fn prefix(c: &SetAtLogin<'_>) -> Verdict {
    let name = c.name();
    let lower = name.to_ascii_lowercase();
    let has_host = lower.starts_with("__host-");
    let has_secure = lower.starts_with("__secure-");
    let wanted = match c.rc.policy.cookie_prefix {
        PrefixPolicy::Host if !has_host => Some("__Host-"),
        PrefixPolicy::Secure if !has_host && !has_secure => Some("__Secure- or __Host-"),
        _ => None,
    };
    if let Some(w) = wanted {
        return c.fail(
            format!("a cookie name starting with {w}"),
            format!("the session cookie is named `{name}`, without the {w} prefix"),
        );
    }
    if !has_host && !has_secure {
        return Verdict::pass(format!(
            "`{name}` carries no prefix and the policy requires none"
        ));
    }
    let mut store = CookieStore::new();
    match store.set(&c.cookie, &c.baseline.url, now_unix()) {
        Ok(_) => Verdict::pass(format!(
            "`{name}` meets its prefix's requirements; a browser stores it"
        )),
        Err(rej)
            if matches!(
                rej.kind,
                RejectionKind::HostPrefixViolation | RejectionKind::SecurePrefixViolation
            ) =>
        {
            c.fail(
                "Secure, and for __Host-: Path=/ and no Domain",
                format!(
                    "browsers reject this cookie: {} ({}): {}",
                    rej.message, rej.section, c.shown
                ),
            )
        }
        Err(rej) => {
            Verdict::pass(format!("`{name}` meets its prefix's requirements")).note(format!(
                "a browser would still reject it for another reason: {} ({})",
                rej.message, rej.section
            ))
        }
    }
}

fn lifetime(c: &SetAtLogin<'_>) -> Verdict {
    let name = c.name();
    let now = now_unix();
    let policy_max = c.rc.policy.cookie_max_lifetime;
    let max = policy_max.0 as i64;
    let lifetime = match (c.effective.max_age, c.effective.expires) {
        (Some(m), _) => Some(m),
        (None, Some(x)) => Some(x - now),
        (None, None) => None,
    };
    match lifetime {
        None => Verdict::pass(format!(
            "`{name}` is a browser-session cookie (no Max-Age or Expires)"
        )),
        Some(l) if l <= max => Verdict::pass(format!(
            "`{name}` lives {l} s, within the policy's {policy_max}"
        )),
        Some(l) => {
            let capped = l.min(crate::cookie::COOKIE_AGE_LIMIT);
            c.fail(
                format!("a lifetime of at most {policy_max} ({max} s)"),
                format!(
                    "`{name}` asks to live {l} s ({} days; browsers keep it {} days, until {}): {}",
                    l / 86_400,
                    capped / 86_400,
                    format_http_date(now + capped),
                    c.shown
                ),
            )
        }
    }
}
