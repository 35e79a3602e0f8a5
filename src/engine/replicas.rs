//! Revocation across replicas: after a rule has passed on base_url, each revocation its spec
//! lists under `replicas:` ([`ReplicaReplay`]) is replayed on every replica the profile
//! names. One mechanism for every revocation rule, whatever its kind (scenario, token check,
//! refresh model): the rule's own run shows base_url keeps the promise, this file shows the
//! other instances see what base_url revoked.
//!
//! For each replica, with a credential of its own (a fresh login on base_url):
//! 1. control: the live credential works on the replica (the session cookie on the protected
//!    request, the access token on the token request, the refresh token in a grant) — a
//!    replica that does not know it (sticky sessions, another service) makes the rule
//!    inconclusive for that replica, with the reason, never passed;
//! 2. the revocation on base_url (logout, logout everywhere from another session, token
//!    logout, RFC 7009 revocation, or reuse of a retired refresh token);
//! 3. the reference: the credential on base_url again (base_url refuses it — or, when it does
//!    not, as a declared stateless access token may, there is nothing to compare);
//! 4. the replay on the replica, which must refuse it as base_url does.
//!
//! A replica that accepts what base_url refused fails the rule, naming the replica, once the
//! whole replay has failed again with a new credential ([`confirm`]). Cookies reach a replica
//! only as the captured session cookies, sent explicitly; nothing goes to an origin the
//! profile does not name (the probe client's allow-list holds base_url and the replicas).

use std::sync::Arc;

use url::Url;

use crate::profile::FlowName;
use crate::spec::{ReplicaCredential, ReplicaReplay, ReplicaRevocation, Rule};
use crate::units::SpecUser;

use super::browser::{AccessOutcome, Browser, Ctx, FlowError, Recorded, StepError};
use super::model::revoke;
use super::outcome::{Inconclusive, Outcome, Verdict};
use super::probe::{Recheck, confirm};
use super::rule::{RuleCtx, step_verdict};

/// Replays the rule's revocations on every replica after its verdict on base_url
/// (`primary`), and returns the rule's verdict: unchanged without replicas; with them, a
/// failure on a replica fails the rule, a replica that could not be checked makes it
/// inconclusive, and a pass says which replicas were checked.
pub(crate) async fn after(rc: &RuleCtx, rule: &Rule, primary: Verdict) -> Verdict {
    let replicas = &rc.ctx.target.replicas;
    if rule.replicas.is_empty() || replicas.is_empty() {
        return primary;
    }
    if !matches!(primary.outcome, Outcome::Pass) {
        return primary.note(format!(
            "replicas not checked ({}): the rule did not pass on base_url",
            names(replicas)
        ));
    }
    let mut checked = Vec::new();
    for replay in &rule.replicas {
        for replica in replicas {
            checked.push(one(rc, *replay, replica).await);
        }
    }
    combine(primary, checked)
}

/// The replicas' origins, comma-separated.
fn names(replicas: &[Url]) -> String {
    replicas
        .iter()
        .map(origin_name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A replica's origin as written in reports, e.g. `http://127.0.0.1:8082`.
fn origin_name(replica: &Url) -> String {
    replica.origin().ascii_serialization()
}

/// The verdict of the rule from base_url's pass and each replica's verdict: the first
/// failure, else the first error, else the first inconclusive one, else base_url's pass with
/// one note per replica checked. Requests add up either way.
fn combine(primary: Verdict, checked: Vec<Verdict>) -> Verdict {
    let requests = primary.requests + checked.iter().map(|v| v.requests).sum::<u64>();
    let notes: Vec<String> = checked.iter().flat_map(|v| v.notes.clone()).collect();
    let rank = |o: &Outcome| match o {
        Outcome::Fail(_) => 0,
        Outcome::Error(_) => 1,
        Outcome::Inconclusive(_) => 2,
        _ => 3,
    };
    let worst = checked
        .into_iter()
        .filter(|v| rank(&v.outcome) < 3)
        .min_by_key(|v| rank(&v.outcome));
    match worst {
        Some(v) => Verdict {
            notes: primary.notes.into_iter().chain(notes).collect(),
            requests,
            ..v
        },
        None => Verdict {
            notes: primary.notes.into_iter().chain(notes).collect(),
            requests,
            ..primary
        },
    }
}

/// What one replay on one replica showed.
enum Seen {
    /// The replica refused the credential as base_url does (what was seen).
    Refused(String),
    /// The replica accepted what base_url refused after the revocation (what was seen).
    Accepted(String),
    /// base_url itself still accepts the credential after the revocation: nothing to compare.
    NotRevoked(String),
    /// The replica refused the live credential (the control), or there is nothing to revoke.
    Control(String),
    /// There is nothing of this kind to check (why).
    NotApplicable(String),
    /// An answer matched neither classifier.
    Unclear(String),
}

/// One replay on one replica, confirmed when it fails.
async fn one(rc: &RuleCtx, replay: ReplicaReplay, replica: &Url) -> Verdict {
    let name = origin_name(replica);
    let (seen, transcript) = replay_once(rc, replay, replica).await;
    let first = match seen {
        Ok(seen) => verdict(rc, replay, &name, seen, &transcript),
        Err(e) => step_verdict(rc, e, &transcript).note(format!(
            "replica {name}: the replay of {} after {} could not be completed",
            replay.replay.words(),
            revocation_words(replay.after)
        )),
    };
    let what = format!("replayed it on replica {name} again with a new credential");
    confirm(rc, first, &what, async |t| {
        let (again, transcript) = replay_once(rc, replay, replica).await;
        t.extend(transcript);
        match again {
            Ok(Seen::Accepted(seen)) => Recheck::Failed(seen),
            Ok(Seen::Refused(seen)) => Recheck::Passed(seen),
            Ok(Seen::NotRevoked(w) | Seen::Control(w) | Seen::Unclear(w)) => Recheck::Unclear(w),
            Ok(Seen::NotApplicable(w)) => Recheck::Unclear(w),
            Err(e) => Recheck::from_step_error(&e),
        }
    })
    .await
}

/// The revocation in words, e.g. `the logout on base_url`.
fn revocation_words(after: ReplicaRevocation) -> &'static str {
    match after {
        ReplicaRevocation::Logout => "the logout on base_url",
        ReplicaRevocation::LogoutEverywhere => {
            "logout everywhere on base_url (from another session)"
        }
        ReplicaRevocation::TokenLogout => "the token logout on base_url",
        ReplicaRevocation::Revocation => "its RFC 7009 revocation on base_url",
        ReplicaRevocation::Reuse => "reuse of a retired refresh token of its family on base_url",
    }
}

/// The verdict of one replica's replay.
fn verdict(
    rc: &RuleCtx,
    replay: ReplicaReplay,
    name: &str,
    seen: Seen,
    transcript: &[Recorded],
) -> Verdict {
    let what = replay.replay.words();
    let after = revocation_words(replay.after);
    let v = match seen {
        Seen::Refused(w) => {
            return Verdict::new(Outcome::Pass)
                .note(format!(
                    "replica {name} checked: {what} refused after {after}, as on base_url ({w})"
                ))
                .requests(transcript.len() as u64);
        }
        Seen::Accepted(w) => Verdict::new(Outcome::fail(
            format!("replica {name} still accepts {what} after {after}, which base_url refuses"),
            format!("{what} refused on every replica after {after}, as base_url refuses it"),
            w,
        )),
        Seen::NotRevoked(w) => {
            return Verdict::new(Outcome::Pass)
                .note(format!(
                    "replica {name}: not compared: base_url itself still accepts {what} after {after} ({w})"
                ))
                .requests(transcript.len() as u64);
        }
        Seen::Control(w) => {
            Verdict::inconclusive(Inconclusive::Control(format!("replica {name}: {w}")))
        }
        Seen::NotApplicable(w) => {
            return Verdict::new(Outcome::Pass)
                .note(format!("replica {name}: not checked: {w}"))
                .requests(transcript.len() as u64);
        }
        Seen::Unclear(w) => {
            Verdict::inconclusive(Inconclusive::Unclassified(format!("replica {name}: {w}")))
        }
    };
    v.evidence(rc.evidence(transcript))
        .requests(transcript.len() as u64)
}

/// The context of a run moved to `replica`: every path of the profile now resolves on the
/// replica's origin (base_url's path kept).
fn at_replica(ctx: &Ctx, replica: &Url) -> Ctx {
    Ctx {
        target: Arc::new(ctx.target.at_replica(replica)),
        ..ctx.clone()
    }
}

/// The credential being replayed.
#[derive(Clone)]
enum Credential {
    /// The session's cookies.
    Session(super::browser::Jar),
    /// An access token.
    Access(String),
    /// A refresh token.
    Refresh(String),
}

/// One replay from a fresh login: the observation (or why it could not be made) and the
/// transcript.
async fn replay_once(
    rc: &RuleCtx,
    replay: ReplicaReplay,
    replica: &Url,
) -> (Result<Seen, StepError>, Vec<Recorded>) {
    let mut t = Vec::new();
    let seen = replay_steps(rc, replay, replica, &mut t).await;
    (seen, t)
}

/// The two sessions of a replay, logged in on base_url: the holder of the credential, and
/// (for logout everywhere) another session of the same user that ends it.
struct Holders {
    holder: Browser,
    other: Browser,
}

async fn replay_steps(
    rc: &RuleCtx,
    replay: ReplicaReplay,
    replica: &Url,
    t: &mut Vec<Recorded>,
) -> Result<Seen, StepError> {
    let base = &rc.ctx;
    let there = at_replica(base, replica);
    let name = origin_name(replica);
    let mut h = Holders {
        holder: Browser::new("alice"),
        other: Browser::new("alice, another device"),
    };
    let mut cred = match obtain(base, replay, &mut h, t).await? {
        Ok(cred) => cred,
        Err(seen) => return Ok(seen),
    };
    // 1. Control: the live credential works on the replica.
    let label = format!("control on replica {name}: the live credential");
    let retired = cred.clone();
    let control = use_credential(&there, &h.holder, &mut cred, &label, t).await?;
    if control != AccessOutcome::Allowed {
        return Ok(Seen::Control(format!(
            "{} that works on base_url was {} there (status {}): the replica may not share the service's state (sticky sessions, or not the same service), so what it does after a revocation proves nothing",
            replay.replay.words(),
            control.as_str(),
            last_status(t)
        )));
    }
    if let (Credential::Refresh(r), Some(spec)) = (&cred, &base.target.token) {
        // The token logout presents the newest refresh token.
        h.holder.vars.insert(spec.refresh_from.clone(), r.clone());
    }
    // 2. The revocation on base_url.
    if let Some(seen) = revoke_on_base(base, replay.after, &mut h, &retired, &cred, t).await? {
        return Ok(seen);
    }
    // 3. The reference on base_url, 4. the replay on the replica.
    let mut reference = cred.clone();
    let label = format!("base_url after the revocation: {}", replay.replay.words());
    let on_base = use_credential(base, &h.holder, &mut reference, &label, t).await?;
    let base_status = last_status(t);
    let label = format!("replay on replica {name}: {}", replay.replay.words());
    let on_replica = use_credential(&there, &h.holder, &mut cred, &label, t).await?;
    let replica_status = last_status(t);
    let seen = format!(
        "replica {name}: {} (status {replica_status}); base_url: {} (status {base_status})",
        on_replica.as_str(),
        on_base.as_str()
    );
    Ok(match (on_base, on_replica) {
        (AccessOutcome::Allowed, _) => Seen::NotRevoked(seen),
        (AccessOutcome::Denied, AccessOutcome::Denied) => {
            Seen::Refused(format!("status {replica_status}, base_url {base_status}"))
        }
        (AccessOutcome::Denied, AccessOutcome::Allowed) => Seen::Accepted(seen),
        _ => Seen::Unclear(format!("the answers prove nothing: {seen}")),
    })
}

/// Logs in on base_url and returns the credential to replay (or why there is none).
async fn obtain(
    base: &Ctx,
    replay: ReplicaReplay,
    h: &mut Holders,
    t: &mut Vec<Recorded>,
) -> Result<Result<Credential, Seen>, StepError> {
    let alice = SpecUser::Alice.name();
    let cred = match replay.replay {
        ReplicaCredential::Session => {
            h.holder.login(base, alice, t).await?;
            Credential::Session(base.session_part(&h.holder.jar))
        }
        ReplicaCredential::AccessToken => {
            Credential::Access(h.holder.token_login(base, alice, t).await?)
        }
        ReplicaCredential::RefreshToken => {
            h.holder.token_login(base, alice, t).await?;
            match h.holder.vars.get(&refresh_var(base)?) {
                Some(r) => Credential::Refresh(r.clone()),
                None => {
                    let why = "the token login returned no refresh token".to_string();
                    return Ok(Err(Seen::NotApplicable(why)));
                }
            }
        }
    };
    if replay.after == ReplicaRevocation::LogoutEverywhere {
        h.other.login(base, alice, t).await?;
    }
    Ok(Ok(cred))
}

/// The revocation on base_url; `Some` when it already decides the replay (nothing to
/// revoke, or base_url did not revoke).
async fn revoke_on_base(
    base: &Ctx,
    after: ReplicaRevocation,
    h: &mut Holders,
    retired: &Credential,
    cred: &Credential,
    t: &mut Vec<Recorded>,
) -> Result<Option<Seen>, StepError> {
    let (who, flow) = match after {
        ReplicaRevocation::Logout => (&mut h.holder, FlowName::Logout),
        ReplicaRevocation::LogoutEverywhere => (&mut h.other, FlowName::LogoutEverywhere),
        ReplicaRevocation::TokenLogout => (&mut h.holder, FlowName::TokenLogout),
        ReplicaRevocation::Revocation => return revoke_at_base(base, cred, t).await,
        ReplicaRevocation::Reuse => return reuse_at_base(base, &h.holder, retired, cred, t).await,
    };
    who.run_flow(base, flow, None, t).await?;
    Ok(None)
}

/// RFC 7009 revocation of the credential itself on base_url.
async fn revoke_at_base(
    ctx: &Ctx,
    cred: &Credential,
    t: &mut Vec<Recorded>,
) -> Result<Option<Seen>, StepError> {
    let (token, hint) = match cred {
        Credential::Access(a) => (a, "access_token"),
        Credential::Refresh(r) => (r, "refresh_token"),
        Credential::Session(_) => return Ok(None),
    };
    let label = format!("revocation of the {} on base_url", hint.replace('_', " "));
    let status = revoke(ctx, token, Some(hint), label, t).await?;
    if status != 200 {
        return Err(FlowError::Request(format!(
            "the revocation request answered {status}, expected 200"
        ))
        .into());
    }
    Ok(None)
}

/// Reuse of the retired refresh token (`retired`, rotated away by the control) on base_url.
async fn reuse_at_base(
    ctx: &Ctx,
    holder: &Browser,
    retired: &Credential,
    current: &Credential,
    t: &mut Vec<Recorded>,
) -> Result<Option<Seen>, StepError> {
    let (Credential::Refresh(old), Credential::Refresh(new)) = (retired, current) else {
        return Ok(None);
    };
    if old == new {
        return Ok(Some(Seen::NotApplicable(
            "the refresh token did not rotate, so there is no retired token to reuse".into(),
        )));
    }
    let mut reused = retired.clone();
    let label = "reuse of the retired refresh token on base_url";
    match use_credential(ctx, holder, &mut reused, label, t).await? {
        AccessOutcome::Denied => Ok(None),
        other => Ok(Some(Seen::NotRevoked(format!(
            "the reuse itself was {} (status {})",
            other.as_str(),
            last_status(t)
        )))),
    }
}

/// The profile's refresh-token variable.
fn refresh_var(ctx: &Ctx) -> Result<String, StepError> {
    ctx.target
        .token
        .as_ref()
        .map(|t| t.refresh_from.clone())
        .ok_or(StepError::Flow(FlowError::NoTokenSection))
}

/// The status of the last recorded exchange (0 when there is none).
fn last_status(t: &[Recorded]) -> u16 {
    t.last().map_or(0, |r| r.exchange.response.status)
}

/// Presents the credential where `ctx` points: the session's cookies on the protected
/// request, the access token on the token request, the refresh token in a refresh grant
/// (a grant that rotates replaces `cred` by the new refresh token). Only the credential
/// travels: no other cookie of the holder.
async fn use_credential(
    ctx: &Ctx,
    holder: &Browser,
    cred: &mut Credential,
    label: &str,
    t: &mut Vec<Recorded>,
) -> Result<AccessOutcome, StepError> {
    let mut b = Browser::new(holder.name.clone());
    b.vars = holder.vars.clone();
    match cred {
        Credential::Session(jar) => b.access(ctx, Some(jar), label, t).await,
        Credential::Access(token) => b.token_use(ctx, token, label, t).await,
        Credential::Refresh(refresh) => {
            let (outcome, rotated) = grant(ctx, label, refresh, t).await?;
            if let Some(r) = rotated {
                *refresh = r;
            }
            Ok(outcome)
        }
    }
}

/// A refresh grant with `refresh` where `ctx` points: allowed when it returned an access
/// token (with the new refresh token, if one came back), denied on a 4xx refusal.
async fn grant(
    ctx: &Ctx,
    label: &str,
    refresh: &str,
    t: &mut Vec<Recorded>,
) -> Result<(AccessOutcome, Option<String>), StepError> {
    let spec = ctx
        .target
        .token
        .as_ref()
        .ok_or(StepError::Flow(FlowError::NoTokenSection))?;
    let mut b = Browser::new(label);
    b.vars = ctx.target.token_vars.clone();
    b.vars
        .insert(spec.refresh_from.clone(), refresh.to_string());
    let before = t.len();
    match b.run_flow(ctx, FlowName::TokenRefresh, None, t).await {
        Ok(extracted) => {
            let Some(access) = extracted.get(&spec.from) else {
                return Ok((AccessOutcome::Unexpected, None));
            };
            ctx.register_secret(access, "access-token");
            let rotated = extracted.get(&spec.refresh_from).cloned();
            if let Some(r) = &rotated {
                ctx.register_secret(r, "refresh-token");
            }
            Ok((AccessOutcome::Allowed, rotated))
        }
        Err(StepError::Flow(_)) if t.len() > before => Ok((
            match last_status(t) {
                400..=499 => AccessOutcome::Denied,
                500..=599 => AccessOutcome::ServerError,
                _ => AccessOutcome::Unexpected,
            },
            None,
        )),
        Err(e) => Err(e),
    }
}
