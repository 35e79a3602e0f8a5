//! ID tokens: when the token login answers with an OpenID Connect ID token, the payload,
//! lifetime and forgery rules judge it beside the access token, and the rule's result says
//! per token what was judged ([`TokenPart`]); its outcome is the worst of the two.
//!
//! This file owns which rules have an ID-token part, when that part is skipped (no
//! `token.id_token_login` to send forged ID tokens to), the context the part runs in (the
//! same rule with [`TokenRole::IdToken`]: its token steps obtain the login's ID token and
//! present it to `token.id_token_login`) and how the two verdicts become one, every text of
//! the ID-token part naming the ID token. The rule kinds themselves stay unaware of the
//! split: they read the context's role.
//!
//! A login without an ID token changes nothing: no part, no `tokens` in the result.

use crate::jwt::decode::decode;
use crate::spec::{Check, Generator, JwtAssertion, Rule, RuleKind};

use super::browser::{Ctx, TokenRole};
use super::outcome::{
    Coverage, Finding, Inconclusive, Outcome, RuleError, Skip, Status, TokenPart, Verdict,
};
use super::preflight::Baseline;

/// Whether (and how) a rule judges the ID token too.
pub(crate) enum IdPart {
    /// The rule does not judge ID tokens, or the login returned none.
    None,
    /// The rule would judge it but cannot on this target (why).
    Skip(String),
    /// The rule runs again in this context, whose token role is the ID token.
    Run(Box<Ctx>),
}

/// Why a forgery has nowhere to go without `token.id_token_login`.
const NO_ID_TOKEN_LOGIN: &str = "the profile declares no `token.id_token_login` (where the service accepts an ID token, e.g. a relying party's sign-in), so forged ID tokens have nowhere to go";

/// The ID-token part of `rule` on this run: the token checks (payload, lifetime, weak
/// secret), the forging and re-signing attacks and the token mutation properties judge the
/// login's ID token when it returned one. Attacks and properties need
/// `token.id_token_login`; so does the weak-secret check of a token that is not
/// HMAC-signed (it asks the service online).
pub(crate) fn id_part(ctx: &Ctx, baseline: &Baseline, rule: &Rule) -> IdPart {
    let Some(id_token) = baseline.token.as_ref().and_then(|t| t.id_token.as_ref()) else {
        return IdPart::None;
    };
    let accepts = ctx
        .target
        .token
        .as_ref()
        .is_some_and(|t| t.id_token_login.is_some());
    let needs_login = match &rule.kind {
        RuleKind::Check(Check::Jwt(JwtAssertion::WeakSecret)) => decode(id_token)
            .ok()
            .and_then(|j| j.alg().map(|a| !a.starts_with("HS")))
            .unwrap_or(false),
        RuleKind::Check(Check::Jwt(_)) => false,
        // Forging and re-signing (not moving the untampered token: that is the access token's
        // business).
        RuleKind::Attack(a) if (!a.forge.is_empty() || !a.resign.is_empty()) && a.via.is_none() => {
            true
        }
        RuleKind::Property(p) if matches!(p.for_all, Generator::Token(_)) => true,
        _ => return IdPart::None,
    };
    if needs_login && !accepts {
        let why = match &rule.kind {
            RuleKind::Check(_) => format!(
                "the ID token is not HMAC-signed, so it has no secret to crack offline, and {NO_ID_TOKEN_LOGIN}"
            ),
            _ => NO_ID_TOKEN_LOGIN.to_string(),
        };
        return IdPart::Skip(why);
    }
    let mut ctx = ctx.clone();
    ctx.token_role = TokenRole::IdToken;
    IdPart::Run(Box::new(ctx))
}

/// How bad a status is when parts are combined: a failure beats an error, which beats an
/// inconclusive part, which beats a pass; a skipped part counts only when every part skips.
fn rank(status: Status) -> u8 {
    match status {
        Status::Skip => 0,
        Status::Pass => 1,
        Status::Inconclusive => 2,
        Status::Error => 3,
        Status::Fail => 4,
    }
}

/// The part of one token: its status and, in words, what it showed.
fn part(token: TokenRole, v: &Verdict) -> TokenPart {
    let summary = match &v.outcome {
        Outcome::Pass => v
            .notes
            .first()
            .cloned()
            .unwrap_or_else(|| "passed".to_string()),
        other => other.to_string(),
    };
    TokenPart {
        token,
        status: v.outcome.status(),
        summary,
    }
}

/// One verdict from the access token's and the ID token's: the worst outcome (two failures
/// become one finding naming both tokens), both parts, the evidence, notes and requests of
/// both, every text of the ID token's naming it.
pub(crate) fn combine(access: Verdict, id: Verdict) -> Verdict {
    let id = name_id_token(id);
    let mut tokens = vec![part(TokenRole::AccessToken, &access)];
    tokens.push(TokenPart {
        summary: strip_id_prefix(part(TokenRole::IdToken, &id).summary),
        ..part(TokenRole::IdToken, &id)
    });
    let (a, i) = (access.outcome.status(), id.outcome.status());
    let outcome = match (access.outcome, id.outcome) {
        (Outcome::Fail(a), Outcome::Fail(i)) => Outcome::Fail(Box::new(both(*a, *i))),
        (_, i_out) if rank(i) > rank(a) => i_out,
        (a_out, _) => a_out,
    };
    let mut evidence = access.evidence;
    evidence.extend(id.evidence);
    let mut notes = access.notes;
    notes.extend(id.notes);
    Verdict {
        outcome,
        tokens: tokens.into(),
        evidence,
        notes,
        requests: access.requests + id.requests,
        coverage: match (access.coverage, id.coverage) {
            (Some(a), Some(i)) => Some(Box::new(Coverage {
                ran: a.ran + i.ran,
                requested: a.requested + i.requested,
                ..*a
            })),
            (a, i) => a.or(i),
        },
    }
}

/// The finding of a rule both tokens failed.
fn both(a: Finding, i: Finding) -> Finding {
    let join = |x: &str, y: &str| {
        if x == y {
            x.to_string()
        } else {
            format!("access token: {x}; {y}")
        }
    };
    Finding {
        reason: join(&a.reason, &i.reason),
        expected: if a.expected == strip_id_prefix(i.expected.clone()) {
            a.expected.clone()
        } else {
            join(&a.expected, &i.expected)
        },
        observed: join(&a.observed, &i.observed),
        counterexample: a.counterexample.or(i.counterexample),
        details: a.details.or(i.details),
    }
}

/// The prefix every text of the ID-token part carries.
const PREFIX: &str = "ID token: ";

fn strip_id_prefix(text: String) -> String {
    match text.strip_prefix(PREFIX) {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// The ID token's verdict with every text naming it: reasons, findings, notes and the
/// transcript's step labels start with `ID token: `.
fn name_id_token(v: Verdict) -> Verdict {
    let named = |t: &mut String| {
        if !t.starts_with(PREFIX) {
            *t = format!("{PREFIX}{t}");
        }
    };
    let mut v = v;
    match &mut v.outcome {
        Outcome::Pass | Outcome::Skip(Skip::Missing(_)) => {}
        Outcome::Fail(f)
        | Outcome::Inconclusive(Inconclusive::ControlDisagreement(f))
        | Outcome::Inconclusive(Inconclusive::NotReproduced { first: f, .. }) => {
            named(&mut f.reason);
            named(&mut f.observed);
            named(&mut f.expected);
        }
        Outcome::Skip(Skip::NotApplicable(t) | Skip::NotRun(t)) => named(t),
        Outcome::Inconclusive(
            Inconclusive::Control(t) | Inconclusive::Setup(t) | Inconclusive::Unclassified(t),
        ) => named(t),
        Outcome::Inconclusive(_) => {}
        Outcome::Error(RuleError::Tooling(t)) => named(t),
        Outcome::Error(RuleError::Http { context, .. }) => {
            let mut c = context.take().unwrap_or_else(|| "a request failed".into());
            named(&mut c);
            *context = Some(c);
        }
        Outcome::Error(RuleError::Internal(_)) => {}
    }
    v.notes.iter_mut().for_each(named);
    v.evidence.iter_mut().for_each(|e| named(&mut e.step));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped(why: &str) -> Verdict {
        Verdict::not_applicable(why)
    }

    fn fail(text: &str) -> Verdict {
        Verdict::new(Outcome::fail_observed("nothing readable", text))
    }

    #[test]
    fn the_worst_part_wins_and_a_skipped_part_never_hides_a_pass() {
        let v = combine(Verdict::pass("access ok"), skipped("no flow"));
        assert_eq!(v.outcome.status(), Status::Pass);
        assert_eq!(v.tokens.len(), 2);
        assert_eq!(v.tokens[1].status, Status::Skip);
        assert_eq!(v.tokens[1].summary, "no flow");
        let v = combine(skipped("opaque"), Verdict::pass("id ok"));
        assert_eq!(v.outcome.status(), Status::Pass);
        assert_eq!(v.notes, ["ID token: id ok"]);
        let v = combine(Verdict::pass("ok"), fail("a password hash"));
        assert_eq!(v.outcome.status(), Status::Fail);
        assert_eq!(v.outcome.to_string(), "ID token: a password hash");
        assert_eq!(v.tokens[1].summary, "a password hash");
        let v = combine(
            Verdict::inconclusive(Inconclusive::Control("x".into())),
            Verdict::pass("ok"),
        );
        assert_eq!(v.outcome.status(), Status::Inconclusive);
    }

    #[test]
    fn two_failures_name_both_tokens() {
        let v = combine(fail("a"), fail("b"));
        let f = v.outcome.finding().unwrap();
        assert_eq!(f.observed, "access token: a; ID token: b");
        assert_eq!(f.expected, "nothing readable");
        assert_eq!(v.tokens.len(), 2);
        assert!(v.tokens.iter().all(|p| p.status == Status::Fail));
    }
}
