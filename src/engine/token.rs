//! Kind `check: {token: ...}`: what the service does with an access token over its session,
//! whatever the token's format (JWT or opaque). `revoked_on_logout`: a fresh token login, a
//! control showing the token works, the token logout flow, and the same token again. A token
//! still accepted after logout passes only when the policy declares stateless access tokens
//! (`access_after_logout: allowed_until_expiry`) and the token's `exp` falls within
//! `max_revocation_window` of the logout; the report states the measured revocation window.

use crate::profile::FlowName;
use crate::spec::{Seconds, TokenAssertion};
use crate::units::{AccessAfter, SpecUser};

use super::browser::{AccessOutcome, Browser, Recorded, now_unix};
use super::outcome::{Inconclusive, Outcome, Verdict};
use super::probe::{Recheck, confirm};
use super::rule::{RuleCtx, step_verdict};

/// Runs one token assertion; a failure is confirmed by running it again with a new token.
pub(crate) async fn run(rc: &RuleCtx, a: TokenAssertion) -> Verdict {
    match a {
        TokenAssertion::RevokedOnLogout => {
            let verdict = revoked_on_logout(rc).await;
            let what = "logged in again, logged out and sent the new token again";
            confirm(rc, verdict, what, async |_| {
                match revoked_on_logout(rc).await.outcome {
                    Outcome::Fail(f) => Recheck::Failed(f.observed),
                    Outcome::Pass => Recheck::Passed("the token was refused after logout".into()),
                    other => Recheck::Unclear(other.to_string()),
                }
            })
            .await
        }
    }
}

/// How long after the logout the token stays valid, by its `exp` (`None`: no readable
/// `exp`, an opaque token or a JWT without one).
fn remaining_after(token: &str, logout_at: i64) -> Option<i64> {
    let exp = crate::jwt::decode::decode(token)
        .ok()
        .and_then(|j| j.claim_i64("exp"))?;
    Some(exp.saturating_sub(logout_at).max(0))
}

async fn revoked_on_logout(rc: &RuleCtx) -> Verdict {
    let ctx = &rc.ctx;
    let mut t: Vec<Recorded> = Vec::new();
    let mut b = Browser::new("alice");
    let token = match b.token_login(ctx, SpecUser::Alice.name(), &mut t).await {
        Ok(token) => token,
        Err(e) => return step_verdict(rc, e, &t),
    };
    // Control: the token works before the logout.
    let before = "control: the access token before the logout";
    match b.token_use(ctx, &token, before, &mut t).await {
        Ok(AccessOutcome::Allowed) => {}
        Ok(o) => {
            return Verdict::inconclusive(Inconclusive::Control(format!(
                "the access token was {} before the logout",
                o.as_str()
            )))
            .evidence(rc.evidence(&t))
            .requests(t.len() as u64);
        }
        Err(e) => return step_verdict(rc, e, &t),
    }
    let logout_at = now_unix();
    if let Err(e) = b.run_flow(ctx, FlowName::TokenLogout, None, &mut t).await {
        return step_verdict(rc, e, &t);
    }
    let after = "the same access token right after the logout";
    let outcome = match b.token_use(ctx, &token, after, &mut t).await {
        Ok(o) => o,
        Err(e) => return step_verdict(rc, e, &t),
    };
    let verdict = judge(rc, outcome, remaining_after(&token, logout_at));
    verdict.evidence(rc.evidence(&t)).requests(t.len() as u64)
}

/// The verdict on the token's answer after logout.
fn judge(rc: &RuleCtx, after: AccessOutcome, remaining: Option<i64>) -> Verdict {
    let Seconds(window) = rc.policy.max_revocation_window;
    let declared = rc.policy.access_after_logout;
    let lives = match remaining {
        Some(s) => format!("it stays valid until its exp, {s} s after the logout"),
        None => "it carries no readable exp, so nothing bounds how long it stays valid".into(),
    };
    match (after, declared, remaining) {
        (AccessOutcome::Denied, _, _) => {
            Verdict::pass("the access token was refused right after the logout")
                .note("revocation window: 0 s (refused at once)")
        }
        (AccessOutcome::Allowed, AccessAfter::Rejected, _) => Verdict::new(Outcome::fail(
            format!("the access token still works after logout: {lives}"),
            "the access token refused after the token logout",
            format!("allowed after logout; {lives}"),
        )),
        (AccessOutcome::Allowed, AccessAfter::AllowedUntilExpiry, Some(s))
            if s <= i64::try_from(window).unwrap_or(i64::MAX) =>
        {
            Verdict::pass(format!(
                "declared stateless: the access token still works after logout and expires {s} s later, within max_revocation_window ({window} s)"
            ))
            .note(format!(
                "revocation window: {s} s (the access token stays valid until its exp)"
            ))
        }
        (AccessOutcome::Allowed, AccessAfter::AllowedUntilExpiry, _) => {
            Verdict::new(Outcome::fail(
                format!(
                    "the access token outlives the logout by more than max_revocation_window ({window} s): {lives}"
                ),
                format!("refused, or valid for at most {window} s after the logout"),
                format!("allowed after logout; {lives}"),
            ))
        }
        (other, _, _) => Verdict::inconclusive(Inconclusive::Unclassified(format!(
            "after the logout the access token's request was {}",
            other.as_str()
        ))),
    }
}
