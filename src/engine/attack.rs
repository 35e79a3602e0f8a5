//! Kind `attack`: tokens derived from a live access token — forgeries from `jwt::dangerous`,
//! claims re-signed with the service's own key (white-box), the untampered token moved where
//! it must not be accepted — each sent in place of the real one through the controlled probe
//! (the untampered token accepted before and after). A failure is confirmed by re-sending
//! the first accepted request ([`confirm`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};

use crate::jwt::dangerous::{
    self, AttackerKey, ForgeContext, ForgeryKind, SigningKey, WEAK_SECRETS, crack_hmac,
};
use crate::jwt::decode::{Jws, decode};
use crate::jwt::keys::{Jwk, parse_jwks};
use crate::spec::{Attack, ClaimAttack, Expect, Via};
use crate::units::SpecUser;

use super::browser::{
    AccessOutcome, Browser, Ctx, FlowError, Recorded, StepError, TokenRole, meets, now_unix,
};
use super::outcome::{Inconclusive, Outcome, RuleError, Verdict};
use super::probe::{Cases, Controls, Phase, Recheck, confirm, controlled};
use super::rule::{RuleCtx, step_verdict};
use super::session::mask_tokens;

/// One derived request of an attack.
struct Case {
    name: String,
    token: String,
    via: Option<Via>,
}

/// A case the service did not refuse: its transcript label and index, and what was sent.
struct Accepted {
    label: String,
    outcome: AccessOutcome,
    index: usize,
    token: String,
    via: Option<Via>,
}

/// The cases of an attack and what preparing them found out.
#[derive(Default)]
struct Prepared {
    cases: Vec<Case>,
    notes: Vec<String>,
    server: Option<AttackerServer>,
}

/// Runs an `attack` rule.
pub(crate) async fn run(rc: &RuleCtx, a: &Attack) -> Verdict {
    let ctx = &rc.ctx;
    let mut transcript: Vec<Recorded> = Vec::new();
    let mut b = Browser::new(SpecUser::Alice.name());
    // Forged, re-signed and moved copies leave the genuine token alive: the run's shared one
    // will do.
    let token = match b
        .shared_token_login(ctx, SpecUser::Alice.name(), &mut transcript)
        .await
    {
        Ok(t) => t,
        Err(e) => return step_verdict(rc, e, &transcript),
    };
    let mut prepared = Prepared::default();
    // Forging and re-signing need a JWS; moving the untampered token (`via`) does not, so an
    // opaque token still has that to test.
    let jws = match decode(&token) {
        Ok(j) => Some(j),
        Err(e) if a.forge.is_empty() && a.resign.is_empty() => {
            prepared.notes.push(format!(
                "the {} is opaque (not a JWS: {e})",
                ctx.token_role.noun()
            ));
            None
        }
        Err(e) => return Verdict::not_applicable(opaque_reason(ctx.token_role, &e)),
    };
    if let Some(jws) = &jws {
        if let Err(v) = forge_cases(rc, a, &token, &mut prepared, &mut transcript).await {
            return v;
        }
        if !a.resign.is_empty()
            && let Err(v) =
                resign_cases(rc, a, &mut b, &token, jws, &mut prepared, &mut transcript).await
        {
            return v;
        }
    }
    if let Some(via) = &a.via {
        prepared.cases.push(Case {
            name: "the untampered token, moved".into(),
            token: token.clone(),
            via: Some(via.clone()),
        });
    }
    if prepared.cases.is_empty() {
        return Verdict::not_applicable(format!(
            "nothing to try against this {} token: {}",
            jws.as_ref().and_then(|j| j.alg()).unwrap_or("?"),
            prepared.notes.join("; ")
        ))
        .requests(transcript.len() as u64);
    }
    probe(rc, a, b, &token, prepared, transcript).await
}

/// Sends the cases between the controls and writes the verdict.
async fn probe(
    rc: &RuleCtx,
    a: &Attack,
    mut b: Browser,
    token: &str,
    prepared: Prepared,
    mut transcript: Vec<Recorded>,
) -> Verdict {
    let ctx = &rc.ctx;
    let Prepared {
        cases,
        mut notes,
        server,
    } = prepared;
    let mut attacker = b.clone();
    let mut tally = Tally::default();
    let names = Controls {
        subject: "the untampered token",
        cases: "the attack",
    };
    let found = controlled(
        rc,
        names,
        &mut transcript,
        async |_, label, t| b.token_use(ctx, token, label, t).await,
        async |t| send_cases(rc, a, &mut attacker, &cases, t, &mut tally).await,
    )
    .await;
    let Tally {
        tried,
        server_errors,
    } = tally;
    if server_errors > 0 {
        notes.push(format!(
            "{server_errors} derived requests were answered with a server error (5xx): not accepted, but the parser fails open to errors"
        ));
    }
    if server
        .as_ref()
        .is_some_and(|s| s.fetched.load(Ordering::Relaxed))
    {
        notes.push(
            "the service fetched the attacker's JWKS from the URL in the token header".into(),
        );
    }
    let requests = transcript.len() as u64;
    let found = match found {
        Ok(found) => found,
        Err(v) => return v.notes(notes).requests(requests),
    };
    if found.failures.is_empty() {
        let kinds: BTreeSet<&str> = cases
            .iter()
            .map(|c| c.name.split(' ').next().unwrap_or(""))
            .collect();
        return Verdict::pass(format!(
            "{tried} derived requests were all {} ({}); the untampered token was accepted before and after",
            a.expect,
            kinds.into_iter().collect::<Vec<_>>().join(", ")
        ))
        .notes(notes)
        .requests(requests);
    }
    let verdict = failure(rc, a, tried, &found.failures, &transcript)
        .notes(notes)
        .requests(requests);
    resend(rc, a, &mut attacker, verdict, &found.failures[0]).await
}

/// Confirms a failure by re-sending the first accepted request ([`confirm`]).
async fn resend(
    rc: &RuleCtx,
    a: &Attack,
    attacker: &mut Browser,
    verdict: Verdict,
    first: &Accepted,
) -> Verdict {
    let ctx = &rc.ctx;
    confirm(
        rc,
        verdict,
        "re-sent the first accepted request",
        async |t| {
            let label = format!("{} (re-sent)", first.label);
            match attacker
                .token_access(ctx, &first.token, first.via.as_ref(), &label, t)
                .await
            {
                Ok(outcomes) => recheck(a.expect, &outcomes, first.outcome, t),
                Err(e) => Recheck::from_step_error(&e),
            }
        },
    )
    .await
}

/// What re-sending an accepted request showed: accepted again as before, refused, or
/// something that proves nothing (another answer, e.g. a server error).
fn recheck(
    expect: Expect,
    outcomes: &[AccessOutcome],
    before: AccessOutcome,
    t: &[Recorded],
) -> Recheck {
    let start = t.len().saturating_sub(outcomes.len());
    let seen = outcomes
        .iter()
        .zip(&t[start..])
        .map(|(o, r)| format!("{} (status {})", o.as_str(), r.exchange.response.status))
        .collect::<Vec<_>>()
        .join(", ");
    if outcomes.contains(&before) {
        Recheck::Failed(seen)
    } else if outcomes.iter().all(|o| meets(expect, *o)) {
        Recheck::Passed(seen)
    } else {
        Recheck::Unclear(format!("answered {seen}, not as the first time"))
    }
}

/// Counts over the cases of an attack.
#[derive(Default)]
struct Tally {
    /// Derived requests sent.
    tried: u32,
    /// Answered with a 5xx (not accepted, so not a failure of this rule).
    server_errors: u32,
}

/// Sends every case in place of the untampered token and sorts the answers.
async fn send_cases(
    rc: &RuleCtx,
    a: &Attack,
    attacker: &mut Browser,
    cases: &[Case],
    t: &mut Vec<Recorded>,
    tally: &mut Tally,
) -> Result<Cases<Accepted>, Verdict> {
    let ctx = &rc.ctx;
    let mut found = Cases::default();
    let mut unclassified = 0;
    for case in cases {
        ctx.register_secret(&case.token, "forged-token");
        let before = t.len();
        let label = format!("attack: {}", case.name);
        let outcomes = attacker
            .token_access(ctx, &case.token, case.via.as_ref(), &label, t)
            .await
            .map_err(|e| step_verdict(rc, e, t))?;
        for (i, o) in outcomes.into_iter().enumerate() {
            tally.tried += 1;
            match o {
                AccessOutcome::Unexpected if a.expect == Expect::Denied => unclassified += 1,
                // Not accepted, so the promise of this rule held; the server error itself is
                // the business of jwt.malformed-no-server-error.
                AccessOutcome::ServerError if a.expect == Expect::Denied => {
                    tally.server_errors += 1
                }
                o if !meets(a.expect, o) => found.failures.push(Accepted {
                    label: t[before + i].label.clone(),
                    outcome: o,
                    index: before + i,
                    token: case.token.clone(),
                    via: case.via.clone(),
                }),
                _ => {}
            }
        }
    }
    if unclassified > 0 {
        found.unclassified = Some(format!(
            "{unclassified} of {} answers matched neither the profile's allowed nor denied classifier",
            tally.tried
        ));
    }
    Ok(found)
}

/// The failure: how many derived requests were accepted, the first one, and the headers of
/// the accepted tokens (masked).
fn failure(
    rc: &RuleCtx,
    a: &Attack,
    tried: u32,
    failures: &[Accepted],
    transcript: &[Recorded],
) -> Verdict {
    let first = &failures[0];
    let status = transcript[first.index].exchange.response.status;
    let observed = format!(
        "{} of {tried} derived requests were not refused; first: {} was {} (status {status})",
        failures.len(),
        first.label,
        first.outcome.as_str()
    );
    let keep: BTreeSet<usize> = failures.iter().map(|f| f.index).collect();
    let minimal: Vec<Recorded> = transcript
        .iter()
        .enumerate()
        .filter(|(i, rec)| {
            keep.contains(i)
                || rec.label.starts_with("token login")
                || rec.label.starts_with("positive control before")
        })
        .map(|(_, rec)| rec.clone())
        .collect();
    let headers = failures.iter().take(8).filter_map(|f| {
        decode(&f.token)
            .ok()
            .map(|j| format!("{}: header {}", f.label, mask_tokens(&j.header_json)))
    });
    Verdict::new(Outcome::fail_observed(
        format!("every derived request {}", a.expect),
        observed,
    ))
    .evidence(rc.evidence(&minimal))
    .notes(headers)
}

/// Forgeries from `jwt::dangerous` (with the JWKS, a second token or an attacker-served
/// key set when a forgery needs one).
async fn forge_cases(
    rc: &RuleCtx,
    a: &Attack,
    token: &str,
    prepared: &mut Prepared,
    transcript: &mut Vec<Recorded>,
) -> Result<(), Verdict> {
    if a.forge.is_empty() {
        return Ok(());
    }
    let ctx = &rc.ctx;
    let (keys, skipped) = if a.forge.contains(&ForgeryKind::SymmetryConfusion) {
        fetch_jwks(ctx, transcript)
            .await
            .map_err(|e| step_verdict(rc, e, transcript))?
    } else {
        (Vec::new(), Vec::new())
    };
    if !skipped.is_empty() {
        prepared
            .notes
            .push(format!("JWKS keys skipped: {}", skipped.join("; ")));
    }
    let other = if a.forge.contains(&ForgeryKind::ForeignSignature) {
        // Only its signature is read: any other genuine token the run obtained will do.
        match ctx
            .share
            .then(|| ctx.pool.other_token(ctx.token_role.label(), token))
            .flatten()
        {
            Some(other) => {
                ctx.took.fetch_add(1, Ordering::Relaxed);
                Some(other)
            }
            None => {
                let mut b2 = Browser::new(format!("{} (second token)", SpecUser::Alice.name()));
                b2.token_login(ctx, SpecUser::Alice.name(), transcript)
                    .await
                    .ok()
            }
        }
    } else {
        None
    };
    let attacker = AttackerKey::generate().map_err(|e| {
        Verdict::error(RuleError::Tooling(format!(
            "cannot generate the attacker key: {e}"
        )))
    })?;
    let wants_url = a.forge.iter().any(|k| {
        matches!(
            k,
            ForgeryKind::AttackerProvidedJku | ForgeryKind::AttackerProvidedX5u
        )
    });
    if wants_url {
        if !crate::profile::is_loopback(&ctx.target.base_url) {
            return Err(Verdict::not_applicable(
                "the target is not on loopback, so authprobe does not serve it an attacker JWKS",
            ));
        }
        let server = AttackerServer::start(attacker.jwks_json())
            .await
            .map_err(|e| {
                Verdict::error(RuleError::Tooling(format!(
                    "cannot serve the attacker JWKS: {e}"
                )))
            })?;
        prepared.server = Some(server);
    }
    let fctx = ForgeContext {
        public_keys: &keys,
        other_token: other.as_deref(),
        attacker_jwks_url: prepared.server.as_ref().map(|s| &s.url),
        attacker: &attacker,
    };
    for kind in &a.forge {
        match dangerous::forge(*kind, token, &fctx) {
            Ok(list) if list.is_empty() => prepared
                .notes
                .push(format!("{kind:?}: not applicable to this token")),
            Ok(list) => prepared.cases.extend(list.into_iter().map(|f| Case {
                name: format!("{:?} ({})", f.kind, f.variant),
                token: f.token,
                via: None,
            })),
            Err(e) => prepared
                .notes
                .push(format!("{kind:?}: could not forge: {e}")),
        }
    }
    Ok(())
}

/// Claims changed and signed with the service's own key, after a white-box control showing
/// the key is the real one. Without a key, `expired` alone waits for the real token to expire.
async fn resign_cases(
    rc: &RuleCtx,
    a: &Attack,
    b: &mut Browser,
    token: &str,
    jws: &Jws,
    prepared: &mut Prepared,
    transcript: &mut Vec<Recorded>,
) -> Result<(), Verdict> {
    let ctx = &rc.ctx;
    let Some((key, source)) = signing_key_for(rc, jws, token) else {
        if a.resign == [ClaimAttack::Expired] {
            return Err(wait_for_expiry(rc, b, token, jws, std::mem::take(transcript)).await);
        }
        return Err(Verdict::not_applicable(format!(
            "no signing key in the profile matches the token (alg {}, kid {:?})",
            jws.alg().unwrap_or("?"),
            jws.kid()
        )));
    };
    let header = jws.header.clone();
    let claims = jws.claims().cloned().unwrap_or_default();
    // White-box control: the unchanged claims re-signed must be accepted.
    let control = dangerous::resign(&header, &claims, &key).map_err(|e| {
        Verdict::error(RuleError::Tooling(format!(
            "cannot sign with {source}: {e}"
        )))
    })?;
    ctx.register_secret(&control, "resigned-token");
    let label = "white-box control: the same claims re-signed with the real key";
    match b.token_use(ctx, &control, label, transcript).await {
        Ok(AccessOutcome::Allowed) => prepared.notes.push(format!(
            "re-signed with {source}; the re-signed untampered token is accepted"
        )),
        Ok(_) => {
            // Which control failed: the key, or the genuine token itself.
            let label = "control: the untampered token";
            let what = match b.token_use(ctx, token, label, transcript).await {
                Ok(AccessOutcome::Allowed) => format!(
                    "a token re-signed with {source} was not accepted while the untampered token is, so the key is not the service's"
                ),
                Ok(_) => "the untampered token was denied before the attack".to_string(),
                Err(e) => return Err(step_verdict(rc, e, transcript)),
            };
            return Err(Verdict::inconclusive(Inconclusive::Control(what))
                .evidence(rc.evidence(transcript)));
        }
        Err(e) => return Err(step_verdict(rc, e, transcript)),
    }
    let now = now_unix();
    for attack in &a.resign {
        let mut c = claims.clone();
        match edit_claims(&mut c, *attack, now) {
            Ok(what) => match dangerous::resign(&header, &c, &key) {
                Ok(t) => prepared.cases.push(Case {
                    name: format!("{attack:?}: {what}, signed with {source}"),
                    token: t,
                    via: None,
                }),
                Err(e) => prepared.notes.push(format!("{attack:?}: cannot sign: {e}")),
            },
            Err(why) => prepared
                .notes
                .push(format!("{attack:?}: not applicable: {why}")),
        }
    }
    Ok(())
}

/// Serves the attacker's JWKS on loopback for the duration of a rule.
struct AttackerServer {
    url: url::Url,
    fetched: Arc<AtomicBool>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl AttackerServer {
    async fn start(jwks: String) -> std::io::Result<AttackerServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let fetched = Arc::new(AtomicBool::new(false));
        let flag = fetched.clone();
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let flag = flag.clone();
                let body = jwks.clone();
                async move {
                    flag.store(true, Ordering::Relaxed);
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        let url =
            url::Url::parse(&format!("http://{addr}/jwks.json")).map_err(std::io::Error::other)?;
        Ok(AttackerServer {
            url,
            fetched,
            shutdown: Some(tx),
        })
    }
}

impl Drop for AttackerServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The service's JWKS (when the profile names it): usable keys and why others were skipped.
async fn fetch_jwks(
    ctx: &Ctx,
    transcript: &mut Vec<Recorded>,
) -> Result<(Vec<Jwk>, Vec<String>), StepError> {
    let Some(path) = ctx.target.token.as_ref().and_then(|t| t.jwks_url.clone()) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let url = ctx
        .target
        .url(&path)
        .map_err(|e| FlowError::Request(e.to_string()))?;
    let ex = ctx.client.send(crate::http::ProbeRequest::get(url)).await?;
    let status = ex.response.status;
    let body = ex.response.body_text().into_owned();
    transcript.push(Recorded {
        label: "fetch the service's JWKS".into(),
        exchange: ex,
    });
    if status != 200 {
        return Err(FlowError::Jwks(format!("the JWKS answered {status}")).into());
    }
    let parsed =
        parse_jwks(&body).map_err(|e| FlowError::Jwks(format!("the JWKS is malformed: {e}")))?;
    let skipped = parsed.skipped.iter().map(ToString::to_string).collect();
    Ok((parsed.keys, skipped))
}

/// The key to re-sign with: the profile's key matching the token (by `kid`, then `alg`, then
/// key type), or an HMAC secret cracked from the dictionary.
fn signing_key_for(rc: &RuleCtx, jws: &Jws, token: &str) -> Option<(SigningKey, String)> {
    let kid = jws.kid();
    let alg = jws.alg().unwrap_or("");
    let keys = &rc.ctx.target.signing_keys;
    let pick = keys
        .iter()
        .find(|k| k.kid.is_some() && k.kid.as_deref() == kid)
        .or_else(|| keys.iter().find(|k| k.alg.as_deref() == Some(alg)))
        .or_else(|| {
            keys.iter().find(|k| {
                let pem = k.material.contains("-----BEGIN");
                match &alg[..alg.len().min(2)] {
                    "HS" => !pem,
                    "ES" => {
                        pem && k.material.contains("EC ")
                            || k.material.contains("BEGIN PRIVATE KEY") && alg.starts_with("ES")
                    }
                    "RS" | "PS" => pem,
                    _ => false,
                }
            })
        });
    if let Some(k) = pick {
        let key = if k.material.contains("-----BEGIN") {
            SigningKey::from_pem(&k.material).ok()?
        } else {
            SigningKey::Hmac(k.material.as_bytes().to_vec())
        };
        return Some((key, "the profile's signing key".into()));
    }
    if alg.starts_with("HS")
        && let Some(secret) = crack_hmac(token, WEAK_SECRETS.lines().filter(|l| !l.is_empty()))
    {
        return Some((
            SigningKey::Hmac(secret),
            "the HMAC secret cracked from the dictionary".into(),
        ));
    }
    None
}

fn edit_claims(
    claims: &mut Map<String, Value>,
    attack: ClaimAttack,
    now: i64,
) -> Result<String, String> {
    match attack {
        ClaimAttack::Expired => {
            claims.insert("exp".into(), Value::from(now - 600));
            claims.insert("iat".into(), Value::from(now - 900));
            if claims.contains_key("nbf") {
                claims.insert("nbf".into(), Value::from(now - 900));
            }
            Ok("exp 10 minutes in the past".into())
        }
        ClaimAttack::NotYetValid => {
            claims.insert("nbf".into(), Value::from(now + 600));
            if let Some(exp) = claims.get("exp").and_then(Value::as_i64) {
                claims.insert("exp".into(), Value::from(exp.max(now + 1200)));
            }
            Ok("nbf 10 minutes in the future".into())
        }
        ClaimAttack::WrongAudience => {
            if !claims.contains_key("aud") {
                return Err("the token carries no aud claim".into());
            }
            claims.insert("aud".into(), Value::from("authprobe-other-audience"));
            Ok("aud changed to `authprobe-other-audience`".into())
        }
        ClaimAttack::WrongIssuer => {
            if !claims.contains_key("iss") {
                return Err("the token carries no iss claim".into());
            }
            claims.insert(
                "iss".into(),
                Value::from("https://issuer.authprobe.invalid"),
            );
            Ok("iss changed to `https://issuer.authprobe.invalid`".into())
        }
    }
}

/// How long to wait for a token with `exp` to expire on the server's clock, judged from the
/// server's `Date` header (`server_now`) against ours; `None` when it already expired.
pub(crate) fn expiry_wait(exp: i64, server_now: Option<i64>, local_now: i64) -> i64 {
    let now = server_now.unwrap_or(local_now);
    // One second past exp: RFC 7519 says a token is invalid on or after exp, but common
    // verifiers reject only when now > exp.
    (exp - now + 1).max(0)
}

/// Without a signing key, `expired` waits for the real token to expire (when that takes at
/// most the policy's `max_wait`) and replays it, between the token accepted before and a
/// fresh token accepted after.
async fn wait_for_expiry(
    rc: &RuleCtx,
    b: &mut Browser,
    token: &str,
    jws: &Jws,
    mut transcript: Vec<Recorded>,
) -> Verdict {
    let ctx = &rc.ctx;
    let Some(exp) = jws.claim_i64("exp") else {
        return Verdict::not_applicable(
            "the token has no exp claim and the profile gives no signing key to forge an expired one",
        );
    };
    let server_now = transcript
        .iter()
        .rev()
        .find_map(|r| r.exchange.response.header("date"))
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    let local = now_unix();
    let wait = expiry_wait(exp, server_now, local);
    let max = rc.policy.max_wait.0 as i64;
    if wait > max {
        return Verdict::not_applicable(format!(
            "no signing key in the profile, and the token expires in {wait} s, longer than max_wait ({max} s); give a signing key or raise --max-wait"
        ));
    }
    let names = Controls {
        subject: "the token (before), a fresh token (after)",
        cases: "the wait",
    };
    let mut replay = b.clone();
    let found = controlled(
        rc,
        names,
        &mut transcript,
        async |phase, label, t| match phase {
            Phase::Before => b.token_use(ctx, token, label, t).await,
            Phase::After => {
                let fresh = b.token_login(ctx, SpecUser::Alice.name(), t).await?;
                b.token_use(ctx, &fresh, label, t).await
            }
        },
        async |t| {
            tokio::time::sleep(std::time::Duration::from_secs(wait as u64)).await;
            let label = format!("the same token after waiting {wait} s for it to expire");
            let o = replay
                .token_use(ctx, token, &label, t)
                .await
                .map_err(|e| step_verdict(rc, e, t))?;
            let mut found = Cases::default();
            if o == AccessOutcome::Allowed {
                found.failures.push(());
            }
            Ok(found)
        },
    )
    .await;
    let skew = server_now.map(|s| s - local).unwrap_or(0);
    let note = format!("waited {wait} s for the real token to expire (server clock skew {skew} s)");
    let requests = transcript.len() as u64;
    let verdict = match found {
        Err(v) => v,
        Ok(found) if !found.failures.is_empty() => Verdict::new(Outcome::fail(
            "the expired token was still accepted",
            "the expired token denied",
            format!("the token was accepted {wait} s after it was issued, past its exp"),
        ))
        .evidence(rc.evidence(&transcript)),
        Ok(_) => Verdict::new(Outcome::Pass),
    };
    let verdict = verdict.note(note).requests(requests);
    confirm(rc, verdict, "re-sent the expired token", async |t| {
        let label = "the same expired token, re-sent";
        match replay.token_use(ctx, token, label, t).await {
            Ok(o) => recheck(Expect::Denied, &[o], AccessOutcome::Allowed, t),
            Err(e) => Recheck::from_step_error(&e),
        }
    })
    .await
}

/// Why a forging or re-signing attack has nothing to test on an opaque token.
pub(crate) fn opaque_reason(role: TokenRole, e: &impl std::fmt::Display) -> String {
    format!(
        "the {} is opaque, not a JWS ({e}): there is no header or claim to forge",
        role.noun()
    )
}

/// Whether `a` needs the token's JWS structure (forging or re-signing), not only its bytes.
pub(crate) fn needs_jws(a: &Attack) -> bool {
    !a.forge.is_empty() || !a.resign.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_wait_uses_the_server_clock_and_one_second_past_exp() {
        assert_eq!(expiry_wait(1_000, Some(990), 2_000), 11);
        assert_eq!(expiry_wait(1_000, None, 990), 11);
        assert_eq!(expiry_wait(1_000, Some(5_000), 0), 0);
    }
}
