//! Kind `model`: operation sequences run against the live service, every answer compared with
//! the reference state machine of [`crate::machine`]; the first disagreement is shrunk to the
//! shortest sequence that still disagrees and reported step by step, with a curl script that
//! replays it.
//!
//! Random sequences come from proptest strategies over the machine's operations (seeded from
//! the run's seed, no persistence files). Each sequence starts from fresh clients; operations
//! whose precondition does not hold in the model's state are skipped. Shrinking is a bounded,
//! deterministic delta-debugging loop (every candidate is a live run): cut after the failing
//! step, drop single operations, then simplify each remaining one. The same seed against the
//! same service gives the same counterexample.

use std::collections::BTreeMap;
use std::time::Instant;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::machine::refresh::{
    Hint, RefreshAnswer, RefreshModel, RefreshObs, RefreshOp, RefreshPlan, Returned, TokenKind,
};
use crate::machine::session::{
    CLIENTS, SessionModel, SessionObs, SessionOp, SessionPlan, SpecUser,
};
use crate::machine::{Answer, RefreshSemantics, SessionSemantics};
use crate::profile::{FlowName, Vars};
use crate::spec::{Capability, Model, ModelRun, Rule};

use super::browser::{AccessOutcome, Browser, Ctx, Recorded, StepError, now_unix};
use super::{Counterexample, Evidence, RuleCtx, RuleResult, SequenceStep, Status, evidence};

/// Most shrinking runs (each a whole sequence against the live service).
pub const MAX_SHRINK_RUNS: u32 = 64;

/// One executed operation.
#[derive(Debug, Clone)]
struct StepRecord {
    /// Index of the operation in the sequence that produced it.
    op_index: usize,
    operation: String,
    expected: String,
    observed: String,
    ok: bool,
    setup: bool,
    /// The exchanges it sent (indices into the run's transcript).
    exchanges: std::ops::Range<usize>,
}

/// The outcome of one sequence.
#[derive(Debug, Default)]
struct SeqRun {
    steps: Vec<StepRecord>,
    transcript: Vec<Recorded>,
    /// The step that disagreed.
    failed: Option<usize>,
    /// A request could not be sent (the sequence stopped).
    error: Option<String>,
    /// An answer matched neither classifier (the sequence stopped).
    unexpected: Option<String>,
    /// Operations skipped by preconditions.
    skipped: usize,
    /// Revocation-window observations.
    windows: Vec<(&'static str, String)>,
    /// Executed operations by kind.
    kinds: BTreeMap<&'static str, u32>,
}

impl SeqRun {
    fn disagrees(&self) -> bool {
        self.failed.is_some() && self.error.is_none() && self.unexpected.is_none()
    }

    fn record(&mut self, r: StepRecord) -> bool {
        let ok = r.ok;
        self.steps.push(r);
        if !ok {
            self.failed = Some(self.steps.len() - 1);
        }
        ok
    }
}

fn answer(o: AccessOutcome) -> Answer {
    match o {
        AccessOutcome::Allowed => Answer::Allowed,
        AccessOutcome::Denied => Answer::Denied,
        AccessOutcome::ServerError => Answer::ServerError,
        AccessOutcome::Unexpected => Answer::Unexpected,
    }
}

fn last_status(t: &[Recorded]) -> u16 {
    t.last().map_or(0, |r| r.exchange.response.status)
}

fn flow_words(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "completed".to_string(),
        Err(m) => format!("failed: {m}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The session machine against the service

struct SessionEnv {
    semantics: SessionSemantics,
    has_bob: bool,
    has_logout: bool,
    has_logout_everywhere: bool,
}

async fn run_session(ctx: &Ctx, env: &SessionEnv, ops: &[SessionOp], setup_len: usize) -> SeqRun {
    let mut model = SessionModel::new(env.semantics, env.has_bob, env.has_logout_everywhere);
    let mut clients: Vec<Browser> = (0..CLIENTS)
        .map(|i| Browser::new(format!("client {i}")))
        .collect();
    let mut ids: Vec<String> = Vec::new();
    let mut run = SeqRun::default();
    for (index, op) in ops.iter().enumerate() {
        if op.needs_logout() && !env.has_logout {
            run.skipped += 1;
            continue;
        }
        let Some(plan) = model.plan(op) else {
            run.skipped += 1;
            continue;
        };
        let n = run.steps.len() + 1;
        let start = run.transcript.len();
        let t = &mut run.transcript;
        let (kind, observed, obs) = match &plan {
            SessionPlan::Login { client, user } => {
                let b = &mut clients[*client];
                match b.login(ctx, user.name(), t).await {
                    Ok(()) => {
                        ids.push(b.session_id(ctx).unwrap_or_default().to_string());
                        ("login", "completed".into(), SessionObs::Flow(Ok(())))
                    }
                    Err(StepError::Flow(m)) => {
                        ("login", format!("failed: {m}"), SessionObs::Flow(Err(m)))
                    }
                    Err(StepError::Http(e)) => {
                        run.error = Some(e.to_string());
                        break;
                    }
                }
            }
            SessionPlan::Access { client, .. } | SessionPlan::Replay { client, .. } => {
                let b = &mut clients[*client];
                let label = format!("step {n}: protected request ({})", b.name);
                let res = match &plan {
                    SessionPlan::Replay { session, .. } => {
                        let mut jar = b.jar.clone();
                        jar.insert(ctx.session_cookie.clone(), ids[*session].clone());
                        b.access(ctx, Some(&jar), &label, t).await
                    }
                    _ => b.access(ctx, None, &label, t).await,
                };
                match res {
                    Ok(o) => {
                        let a = answer(o);
                        let words = format!("{} (status {})", a.as_str(), last_status(t));
                        if a == Answer::Unexpected {
                            run.unexpected = Some(words);
                            break;
                        }
                        let kind = if matches!(plan, SessionPlan::Replay { .. }) {
                            "replay"
                        } else {
                            "access"
                        };
                        (kind, words, SessionObs::Access(a))
                    }
                    Err(e) => {
                        run.error = Some(e.to_string());
                        break;
                    }
                }
            }
            SessionPlan::Logout { client } | SessionPlan::LogoutEverywhere { client } => {
                let (flow, kind) = if matches!(plan, SessionPlan::Logout { .. }) {
                    (FlowName::Logout, "logout")
                } else {
                    (FlowName::LogoutEverywhere, "logout_everywhere")
                };
                match clients[*client].run_flow(ctx, flow, None, t).await {
                    Ok(_) => (kind, "completed".into(), SessionObs::Flow(Ok(()))),
                    Err(StepError::Flow(m)) => {
                        (kind, format!("failed: {m}"), SessionObs::Flow(Err(m)))
                    }
                    Err(StepError::Http(e)) => {
                        run.error = Some(e.to_string());
                        break;
                    }
                }
            }
        };
        let v = model.apply(&plan, &obs);
        *run.kinds.entry(kind).or_default() += 1;
        let operation = match (&plan, op) {
            (SessionPlan::Replay { session, .. }, _) => {
                format!("{} (session #{})", op.describe(), session + 1)
            }
            _ => op.describe(),
        };
        let end = run.transcript.len();
        if !run.record(StepRecord {
            op_index: index,
            operation,
            expected: v.expected,
            observed,
            ok: v.ok,
            setup: index < setup_len,
            exchanges: start..end,
        }) {
            break;
        }
    }
    run
}

fn session_strategy(env: &SessionEnv) -> BoxedStrategy<SessionOp> {
    // Clients 0 and 1 more often than 2, so sequences make sessions meet.
    let client = prop_oneof![2 => Just(0u8), 2 => Just(1u8), 1 => 2u8..CLIENTS as u8];
    let user: BoxedStrategy<SpecUser> = if env.has_bob {
        prop_oneof![4 => Just(SpecUser::Alice), 1 => Just(SpecUser::Bob)].boxed()
    } else {
        Just(SpecUser::Alice).boxed()
    };
    let mut ops: Vec<(u32, BoxedStrategy<SessionOp>)> = vec![
        (
            4,
            (client.clone(), user)
                .prop_map(|(client, user)| SessionOp::Login { client, user })
                .boxed(),
        ),
        (
            3,
            client
                .clone()
                .prop_map(|client| SessionOp::Access { client })
                .boxed(),
        ),
        (
            4,
            (client.clone(), 0u8..3)
                .prop_map(|(client, back)| SessionOp::Replay { client, back })
                .boxed(),
        ),
    ];
    if env.has_logout {
        ops.push((
            3,
            client
                .clone()
                .prop_map(|client| SessionOp::Logout { client })
                .boxed(),
        ));
    }
    if env.has_logout_everywhere {
        ops.push((
            3,
            client
                .prop_map(|client| SessionOp::LogoutEverywhere { client })
                .boxed(),
        ));
    }
    proptest::strategy::Union::new_weighted(ops).boxed()
}

/// Sequence lengths: from half the maximum up to it (short sequences find little; shrinking
/// still goes down to one operation).
fn lengths(max_steps: usize) -> std::ops::RangeInclusive<usize> {
    (max_steps / 2).max(1)..=max_steps.max(1)
}

// ---------------------------------------------------------------------------------------------
// The refresh machine against the service

struct RefreshEnv {
    semantics: RefreshSemantics,
    has_logout: bool,
    has_revocation: bool,
    concurrent: bool,
    /// Names of the access-token and refresh-token variables.
    from: String,
    refresh_from: String,
    seed: u64,
}

/// The tokens a family holds, in step with the model's lists.
#[derive(Default)]
struct Tokens {
    access: Vec<String>,
    refresh: Vec<String>,
}

/// What one refresh grant produced.
struct Grant {
    answer: RefreshAnswer,
    access: Option<String>,
    refresh: Option<String>,
}

fn exp_of(token: &str) -> Option<i64> {
    crate::jwt::decode::decode(token)
        .ok()
        .and_then(|j| j.claim_i64("exp"))
}

fn token_vars(ctx: &Ctx) -> Vars {
    ctx.target.token_vars.clone()
}

async fn refresh_grant(
    ctx: &Ctx,
    env: &RefreshEnv,
    name: String,
    presented: &str,
    known_access: &[&str],
    transcript: &mut Vec<Recorded>,
) -> Result<Grant, crate::http::HttpError> {
    let mut b = Browser::new(name);
    b.vars = token_vars(ctx);
    b.vars
        .insert(env.refresh_from.clone(), presented.to_string());
    match b
        .run_flow(ctx, FlowName::TokenRefresh, None, transcript)
        .await
    {
        Ok(extracted) => {
            let Some(access) = extracted.get(&env.from).cloned() else {
                return Ok(Grant {
                    answer: RefreshAnswer::Broken(format!(
                        "status {} without an access token",
                        last_status(transcript)
                    )),
                    access: None,
                    refresh: None,
                });
            };
            ctx.register_secret(&access, "access-token");
            let refresh = extracted.get(&env.refresh_from).cloned();
            let returned = match &refresh {
                None => Returned::Absent,
                Some(r) if r == presented => Returned::Same,
                Some(r) => {
                    ctx.register_secret(r, "refresh-token");
                    Returned::New
                }
            };
            Ok(Grant {
                answer: RefreshAnswer::Granted {
                    new_access: !known_access.contains(&access.as_str()),
                    refresh: returned,
                    exp: exp_of(&access),
                },
                access: Some(access),
                refresh: refresh.filter(|_| returned == Returned::New),
            })
        }
        Err(StepError::Http(e)) => Err(e),
        Err(StepError::Flow(m)) => {
            let status = last_status(transcript);
            Ok(Grant {
                answer: if (400..500).contains(&status) {
                    RefreshAnswer::Refused(status)
                } else {
                    RefreshAnswer::Broken(m)
                },
                access: None,
                refresh: None,
            })
        }
    }
}

fn grant_words(a: &RefreshAnswer) -> String {
    match a {
        RefreshAnswer::Granted {
            new_access,
            refresh,
            ..
        } => format!(
            "granted: {} access token, {}",
            if *new_access {
                "a new"
            } else {
                "a copy of an earlier"
            },
            match refresh {
                Returned::New => "a new refresh token",
                Returned::Same => "the same refresh token again",
                Returned::Absent => "no refresh token",
            }
        ),
        RefreshAnswer::Refused(s) => format!("refused (status {s})"),
        RefreshAnswer::Broken(m) => format!("broken: {m}"),
    }
}

/// Sends an RFC 7009 revocation request; returns the status.
async fn revoke(
    ctx: &Ctx,
    token: &str,
    hint: Option<&str>,
    label: String,
    transcript: &mut Vec<Recorded>,
) -> Result<u16, StepError> {
    let spec = ctx
        .target
        .token
        .as_ref()
        .and_then(|t| t.revocation.as_ref())
        .ok_or_else(|| StepError::Flow("the profile defines no revocation endpoint".into()))?;
    let mut req = spec.request.clone();
    // RFC 7009 §2.1: a POST with a form body.
    req.method = "POST".into();
    req.json = None;
    req.body = None;
    let mut form = req.form.clone().unwrap_or_default();
    form.insert("token".into(), "{{revoke.token}}".into());
    if let Some(h) = hint {
        form.insert("token_type_hint".into(), h.into());
    }
    req.form = Some(form);
    let mut vars = token_vars(ctx);
    vars.insert("revoke.token".into(), token.to_string());
    let r = Browser::build(ctx, &req, &vars)?;
    let ex = Browser::send_with(ctx, r, None).await?;
    let status = ex.response.status;
    transcript.push(Recorded {
        label,
        exchange: ex,
    });
    Ok(status)
}

/// A revocation (logout or RFC 7009) waiting for its first access observation.
struct Pending {
    what: &'static str,
    at: Instant,
    at_unix: i64,
}

async fn run_refresh(ctx: &Ctx, env: &RefreshEnv, ops: &[RefreshOp], setup_len: usize) -> SeqRun {
    let mut model = RefreshModel::new(env.semantics);
    let mut fams: Vec<Tokens> = Vec::new();
    let mut pending: BTreeMap<(usize, usize), Pending> = BTreeMap::new();
    let mut run = SeqRun::default();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    for (index, op) in ops.iter().enumerate() {
        if (op.needs_logout() && !env.has_logout)
            || (op.needs_revocation() && !env.has_revocation)
            || (matches!(op, RefreshOp::RefreshConcurrent { .. }) && !env.concurrent)
        {
            run.skipped += 1;
            continue;
        }
        let Some(plan) = model.plan(op, now()) else {
            run.skipped += 1;
            continue;
        };
        let n = run.steps.len() + 1;
        let start = run.transcript.len();
        let t = &mut run.transcript;
        let known: Vec<String> = fams.iter().flat_map(|f| f.access.clone()).collect();
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let (kind, observed, obs) = match &plan {
            RefreshPlan::Login => {
                let mut b = Browser::new(format!("family {}", fams.len() + 1));
                match b.token_login(ctx, "alice", t).await {
                    Ok(access) => {
                        let refresh = b.vars.get(&env.refresh_from).cloned();
                        if let Some(r) = &refresh {
                            ctx.register_secret(r, "refresh-token");
                        }
                        let exp = exp_of(&access);
                        let words = if refresh.is_some() {
                            "completed with an access token and a refresh token"
                        } else {
                            "completed without a refresh token"
                        };
                        let obs = RefreshObs::Login(Ok((refresh.is_some(), exp)));
                        fams.push(Tokens {
                            access: vec![access],
                            refresh: refresh.into_iter().collect(),
                        });
                        ("login", words.to_string(), obs)
                    }
                    Err(StepError::Flow(m)) => {
                        ("login", format!("failed: {m}"), RefreshObs::Login(Err(m)))
                    }
                    Err(StepError::Http(e)) => {
                        run.error = Some(e.to_string());
                        break;
                    }
                }
            }
            RefreshPlan::Access { family, token, .. } => {
                let mut b = Browser::new(format!("family {}", family + 1));
                b.vars = token_vars(ctx);
                let tok = fams[*family].access[*token].clone();
                let label = format!("step {n}: protected request (family {})", family + 1);
                match b.token_access(ctx, &tok, None, &label, t).await {
                    Ok(outcomes) => {
                        let a = answer(
                            outcomes
                                .first()
                                .copied()
                                .unwrap_or(AccessOutcome::Unexpected),
                        );
                        let words = format!("{} (status {})", a.as_str(), last_status(t));
                        if a == Answer::Unexpected {
                            run.unexpected = Some(words);
                            break;
                        }
                        if let Some(p) = pending.remove(&(*family, *token)) {
                            run.windows.push((p.what, window_note(&p, a, exp_of(&tok))));
                        }
                        ("access", words, RefreshObs::Access(a))
                    }
                    Err(e) => {
                        run.error = Some(e.to_string());
                        break;
                    }
                }
            }
            RefreshPlan::Refresh { family, token, .. } => {
                let presented = fams[*family].refresh[*token].clone();
                let name = format!("family {}", family + 1);
                match refresh_grant(ctx, env, name, &presented, &known, t).await {
                    Ok(g) => {
                        let kind = if *token + 1 == fams[*family].refresh.len() {
                            "refresh"
                        } else {
                            "reuse"
                        };
                        let words = grant_words(&g.answer);
                        if let Some(a) = g.access {
                            fams[*family].access.push(a);
                        }
                        if let Some(r) = g.refresh {
                            fams[*family].refresh.push(r);
                        }
                        (kind, words, RefreshObs::Refresh(g.answer))
                    }
                    Err(e) => {
                        run.error = Some(e.to_string());
                        break;
                    }
                }
            }
            RefreshPlan::Concurrent { family, token, .. } => {
                let presented = fams[*family].refresh[*token].clone();
                let (mut t1, mut t2) = (Vec::new(), Vec::new());
                let (a, b) = tokio::join!(
                    refresh_grant(
                        ctx,
                        env,
                        format!("family {} request A", family + 1),
                        &presented,
                        &known,
                        &mut t1
                    ),
                    refresh_grant(
                        ctx,
                        env,
                        format!("family {} request B", family + 1),
                        &presented,
                        &known,
                        &mut t2
                    ),
                );
                t.extend(t1);
                t.extend(t2);
                match (a, b) {
                    (Ok(a), Ok(b)) => {
                        let words =
                            format!("A {}; B {}", grant_words(&a.answer), grant_words(&b.answer));
                        for g in [&a, &b] {
                            if let Some(x) = &g.access {
                                fams[*family].access.push(x.clone());
                            }
                            if let Some(r) = &g.refresh {
                                fams[*family].refresh.push(r.clone());
                            }
                        }
                        (
                            "concurrent_refresh",
                            words,
                            RefreshObs::Concurrent(a.answer, b.answer),
                        )
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        run.error = Some(e.to_string());
                        break;
                    }
                }
            }
            RefreshPlan::Logout {
                family,
                access,
                refresh,
                ..
            } => {
                let mut b = Browser::new(format!("family {}", family + 1));
                b.vars = token_vars(ctx);
                b.vars
                    .insert(env.from.clone(), fams[*family].access[*access].clone());
                b.vars.insert(
                    env.refresh_from.clone(),
                    fams[*family].refresh[*refresh].clone(),
                );
                let r = match b.run_flow(ctx, FlowName::TokenLogout, None, t).await {
                    Ok(_) => Ok(()),
                    Err(StepError::Flow(m)) => Err(m),
                    Err(StepError::Http(e)) => {
                        run.error = Some(e.to_string());
                        break;
                    }
                };
                if r.is_ok() {
                    let at = Instant::now();
                    for i in 0..fams[*family].access.len() {
                        pending.entry((*family, i)).or_insert(Pending {
                            what: "logout",
                            at,
                            at_unix: now_unix(),
                        });
                    }
                }
                ("logout", flow_words(&r), RefreshObs::Flow(r))
            }
            RefreshPlan::Revoke {
                family,
                kind,
                token,
                hint,
            } => {
                let (tok, right, wrong) = match kind {
                    TokenKind::Refresh => (
                        fams[*family].refresh[*token].clone(),
                        "refresh_token",
                        "access_token",
                    ),
                    TokenKind::Access => (
                        fams[*family].access[*token].clone(),
                        "access_token",
                        "refresh_token",
                    ),
                };
                let h = match hint {
                    Hint::None => None,
                    Hint::Right => Some(right),
                    Hint::Wrong => Some(wrong),
                };
                let label = format!("step {n}: revocation (family {})", family + 1);
                match revoke(ctx, &tok, h, label, t).await {
                    Ok(status) => {
                        let at = Instant::now();
                        let p = |what| Pending {
                            what,
                            at,
                            at_unix: now_unix(),
                        };
                        match kind {
                            TokenKind::Access => {
                                pending.insert((*family, *token), p("revocation of the token"));
                            }
                            TokenKind::Refresh => {
                                for i in 0..fams[*family].access.len() {
                                    pending
                                        .entry((*family, i))
                                        .or_insert(p("revocation of its refresh token"));
                                }
                            }
                        }
                        (
                            "revoke",
                            format!("status {status}"),
                            RefreshObs::Revoked(status),
                        )
                    }
                    Err(e) => {
                        run.error = Some(e.to_string());
                        break;
                    }
                }
            }
            RefreshPlan::RevokeUnknown => {
                let never = format!(
                    "authprobe-never-issued-{:016x}",
                    super::seed_for(env.seed, &format!("unknown-{index}"))
                );
                let label = format!("step {n}: revocation of an unknown token");
                match revoke(ctx, &never, Some("refresh_token"), label, t).await {
                    Ok(status) => (
                        "revoke_unknown",
                        format!("status {status}"),
                        RefreshObs::Revoked(status),
                    ),
                    Err(e) => {
                        run.error = Some(e.to_string());
                        break;
                    }
                }
            }
        };
        let v = model.apply(&plan, &obs, now());
        *run.kinds.entry(kind).or_default() += 1;
        let end = run.transcript.len();
        if !run.record(StepRecord {
            op_index: index,
            operation: op.describe(),
            expected: v.expected,
            observed,
            ok: v.ok,
            setup: index < setup_len,
            exchanges: start..end,
        }) {
            break;
        }
    }
    run
}

/// The revocation window seen on the first access after a logout or revocation.
fn window_note(p: &Pending, a: Answer, exp: Option<i64>) -> String {
    let after = p.at.elapsed().as_secs_f64();
    match a {
        Answer::Allowed => match exp {
            Some(exp) => format!(
                "revocation window: the access token still worked {after:.3} s after {}; it stays valid until its exp, {} s after it",
                p.what,
                (exp - p.at_unix).max(0)
            ),
            None => format!(
                "revocation window: the access token still worked {after:.3} s after {} and carries no exp",
                p.what
            ),
        },
        _ => format!(
            "revocation window: 0 — the access token was refused {after:.3} s after {}",
            p.what
        ),
    }
}

fn refresh_strategy(env: &RefreshEnv) -> BoxedStrategy<RefreshOp> {
    let family = prop_oneof![3 => Just(0u8), 1 => 1u8..3];
    let back = prop_oneof![3 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)];
    let mut ops: Vec<(u32, BoxedStrategy<RefreshOp>)> = vec![
        (3, Just(RefreshOp::Login).boxed()),
        (
            4,
            (family.clone(), back.clone())
                .prop_map(|(family, back)| RefreshOp::Access { family, back })
                .boxed(),
        ),
        (
            6,
            (family.clone(), back)
                .prop_map(|(family, back)| RefreshOp::Refresh { family, back })
                .boxed(),
        ),
    ];
    if env.concurrent {
        ops.push((
            1,
            family
                .clone()
                .prop_map(|family| RefreshOp::RefreshConcurrent { family })
                .boxed(),
        ));
    }
    if env.has_logout {
        ops.push((
            2,
            family
                .clone()
                .prop_map(|family| RefreshOp::Logout { family })
                .boxed(),
        ));
    }
    if env.has_revocation {
        let kind = prop_oneof![Just(TokenKind::Refresh), Just(TokenKind::Access)];
        let hint = prop_oneof![Just(Hint::None), Just(Hint::Right), Just(Hint::Wrong)];
        ops.push((
            2,
            (family, kind, hint)
                .prop_map(|(family, token, hint)| RefreshOp::Revoke {
                    family,
                    token,
                    hint,
                })
                .boxed(),
        ));
        ops.push((1, Just(RefreshOp::RevokeUnknown).boxed()));
    }
    proptest::strategy::Union::new_weighted(ops).boxed()
}

// ---------------------------------------------------------------------------------------------
// The driver

/// How [`drive`] runs a rule's sequences.
struct Driving {
    /// Random sequences run side by side (1: one after the other).
    parallel: usize,
    /// The semantics in words, for the result's notes.
    note: String,
}

/// Runs random sequences or the script, shrinks a disagreement and builds the result.
async fn drive<Op, F, Fut>(
    rc: &RuleCtx,
    rule: &Rule,
    run_def: &ModelRun<Op, impl Sized>,
    strategy: impl FnOnce() -> BoxedStrategy<Op>,
    mut simulator: impl FnMut() -> Box<dyn FnMut(&Op) -> bool>,
    exec: F,
    how: Driving,
) -> RuleResult
where
    Op: Clone + std::fmt::Debug + SimplerOp,
    F: Fn(Vec<Op>, usize) -> Fut,
    Fut: std::future::Future<Output = SeqRun>,
{
    let ctx = &rc.ctx;
    let Driving {
        parallel,
        note: semantics_note,
    } = how;
    let mut requests = 0u64;
    let mut executed = 0usize;
    let mut skipped = 0usize;
    let mut kinds: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut windows: Vec<(&'static str, String)> = Vec::new();
    let mut absorb = |run: &SeqRun, requests: &mut u64| {
        *requests += run.transcript.len() as u64;
        executed += run.steps.len();
        skipped += run.skipped;
        for (k, v) in &run.kinds {
            *kinds.entry(k).or_default() += v;
        }
        // One window note per kind of revocation (logout, refresh-token or access-token
        // revocation): the first observation.
        for (what, note) in &run.windows {
            if !windows.iter().any(|(w, _)| w == what) {
                windows.push((what, note.clone()));
            }
        }
    };
    // (sequence number, ops, run)
    let mut failure: Option<(u32, Vec<Op>, SeqRun)> = None;
    let scripted = !run_def.is_random();
    let setup_len = run_def.setup.len();
    let sequences;
    if scripted {
        sequences = 1;
        let ops: Vec<Op> = run_def
            .setup
            .iter()
            .chain(&run_def.script)
            .cloned()
            .collect();
        let run = exec(ops.clone(), setup_len).await;
        absorb(&run, &mut requests);
        if let Some(r) = stopped(ctx, rule, &run, requests) {
            return r;
        }
        if run.disagrees() {
            failure = Some((1, ops, run));
        }
    } else {
        sequences = run_def.sequences.unwrap_or(64);
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&rc.seed.to_le_bytes());
        seed[8..16].copy_from_slice(&rc.seed.rotate_left(29).to_le_bytes());
        let config = Config {
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let strategy = strategy();
        let max = run_def.max_steps as usize;
        // Every sequence is generated first (the same RNG order whatever the parallelism),
        // then run in windows of `parallel`; the lowest-numbered disagreement of the first
        // window that has one is the one reported, as a sequential run would find it.
        let mut all: Vec<Vec<Op>> = Vec::with_capacity(sequences as usize);
        for _ in 0..sequences {
            match generate(&mut runner, &strategy, max, simulator()) {
                Ok(ops) => all.push(ops),
                Err(reason) => {
                    return RuleResult::new(rule, Status::Error)
                        .because(format!("could not generate sequences: {reason}"));
                }
            }
        }
        'windows: for (w, window) in all.chunks(parallel.max(1)).enumerate() {
            let runs = join_all(window.iter().map(|ops| exec(ops.clone(), 0)).collect()).await;
            for (j, run) in runs.into_iter().enumerate() {
                absorb(&run, &mut requests);
                if let Some(r) = stopped(ctx, rule, &run, requests) {
                    return r;
                }
                if run.disagrees() {
                    let index = w * parallel.max(1) + j;
                    failure = Some((index as u32 + 1, window[j].clone(), run));
                    break 'windows;
                }
            }
        }
    }
    let Some((case, ops, first)) = failure else {
        let mut r = RuleResult::new(rule, Status::Pass);
        let what = if scripted {
            format!("the scripted sequence ({executed} operations) agreed with the model")
        } else {
            format!(
                "{sequences} random sequences of up to {} operations ({executed} executed, {skipped} skipped by preconditions) agreed with the model",
                run_def.max_steps
            )
        };
        r.notes.push(what);
        r.notes.push(semantics_note);
        if !kinds.is_empty() {
            r.notes.push(format!(
                "operations exercised: {}",
                kinds
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        r.notes.extend(windows.into_iter().map(|(_, note)| note));
        r.requests = requests;
        return r;
    };
    // Shrink (random sequences only; a script is already minimal by design).
    let shrink_started = Instant::now();
    let mut best_ops = ops;
    let mut best = first;
    let mut runs = 0u32;
    if !scripted {
        let cut = |ops: &[Op], run: &SeqRun| -> Vec<Op> {
            let k = run.failed.map_or(ops.len(), |f| run.steps[f].op_index + 1);
            ops[..k.min(ops.len())].to_vec()
        };
        best_ops = cut(&best_ops, &best);
        let mut try_candidate =
            async |cand: Vec<Op>, best_ops: &mut Vec<Op>, best: &mut SeqRun, runs: &mut u32| {
                *runs += 1;
                let run = exec(cand.clone(), 0).await;
                requests += run.transcript.len() as u64;
                if run.disagrees() {
                    *best_ops = cut(&cand, &run);
                    *best = run;
                    true
                } else {
                    false
                }
            };
        // Drop single operations, front to back, until a pass changes nothing.
        let mut changed = true;
        while changed && runs < MAX_SHRINK_RUNS {
            changed = false;
            let mut i = 0;
            while i < best_ops.len() && runs < MAX_SHRINK_RUNS {
                if best_ops.len() == 1 {
                    break;
                }
                let mut cand = best_ops.clone();
                cand.remove(i);
                if try_candidate(cand, &mut best_ops, &mut best, &mut runs).await {
                    changed = true;
                } else {
                    i += 1;
                }
            }
        }
        // Simplify each operation.
        let mut i = 0;
        while i < best_ops.len() && runs < MAX_SHRINK_RUNS {
            let mut improved = false;
            for simpler in best_ops[i].simpler_ops() {
                if runs >= MAX_SHRINK_RUNS {
                    break;
                }
                let mut cand = best_ops.clone();
                cand[i] = simpler;
                if try_candidate(cand, &mut best_ops, &mut best, &mut runs).await {
                    improved = true;
                    break;
                }
            }
            if !improved {
                i += 1;
            }
        }
    }
    let shrink_ms = shrink_started.elapsed().as_millis();
    let Some(f) = best.failed else {
        return RuleResult::new(rule, Status::Error)
            .because("internal error: the counterexample lost its failing step");
    };
    let failing = &best.steps[f];
    let status = if failing.setup {
        Status::Inconclusive
    } else {
        Status::Fail
    };
    let reason = if failing.setup {
        format!(
            "the set-up did not behave as declared, so the check could not run: step {}: {} — expected {}, observed {}",
            f + 1,
            failing.operation,
            failing.expected,
            failing.observed
        )
    } else {
        format!(
            "step {}: {} — expected {}, observed {}",
            f + 1,
            failing.operation,
            failing.expected,
            failing.observed
        )
    };
    let mut r = RuleResult::new(rule, status).because(reason);
    r.expected = Some(failing.expected.clone());
    r.observed = Some(failing.observed.clone());
    let steps: Vec<SequenceStep> = best
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| SequenceStep {
            step: i as u32 + 1,
            operation: s.operation.clone(),
            expected: s.expected.clone(),
            observed: s.observed.clone(),
            failing: i == f,
            setup: s.setup,
        })
        .collect();
    let mut ev: Vec<Evidence> = Vec::new();
    for (i, s) in best.steps.iter().enumerate() {
        for rec in &best.transcript[s.exchanges.clone()] {
            ev.push(Evidence::new(
                format!("step {}: {} — {}", i + 1, s.operation, rec.label),
                &rec.exchange,
                ctx.client.redactor(),
            ));
        }
    }
    let script = replay_script(ctx, rule, rc.run_seed, &best, f);
    r.counterexample = Some(Box::new(Counterexample {
        seed: rc.run_seed,
        case,
        shrink_steps: runs,
        input: steps
            .iter()
            .map(|s| format!("{}. {}", s.step, s.operation))
            .collect(),
        observed: failing.observed.clone(),
        steps,
        replay_script: Some(script),
    }));
    r.evidence = ev;
    r.notes.push(semantics_note);
    if !scripted {
        r.notes.push(format!(
            "sequence {case} of {sequences} disagreed; shrunk in {runs} runs ({shrink_ms} ms) to {} operations",
            best.steps.len()
        ));
    }
    r.notes.extend(windows.into_iter().map(|(_, note)| note));
    r.requests = requests;
    r
}

/// One random sequence: a length from [`lengths`], then operations drawn from `strategy`
/// and kept only when `accept` (the model, simulating a service that agrees) finds their
/// precondition true, so every operation means something in the state the earlier ones
/// built. Shrinking may still remove operations; the runner then skips those whose
/// precondition no longer holds.
fn generate<Op: std::fmt::Debug>(
    runner: &mut TestRunner,
    strategy: &BoxedStrategy<Op>,
    max_steps: usize,
    mut accept: Box<dyn FnMut(&Op) -> bool>,
) -> Result<Vec<Op>, String> {
    let len = lengths(max_steps)
        .new_tree(runner)
        .map_err(|r| r.to_string())?
        .current();
    let mut ops = Vec::with_capacity(len);
    while ops.len() < len {
        let mut found = false;
        for _ in 0..32 {
            let op = strategy
                .new_tree(runner)
                .map_err(|r| r.to_string())?
                .current();
            if accept(&op) {
                ops.push(op);
                found = true;
                break;
            }
        }
        if !found {
            break;
        }
    }
    Ok(ops)
}

/// Polls every future concurrently on the current task and returns their outputs in order.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futures.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// A result when a sequence stopped without a verdict (request failure, unclassified answer).
fn stopped(ctx: &Ctx, rule: &Rule, run: &SeqRun, requests: u64) -> Option<RuleResult> {
    let (status, reason) = if let Some(e) = &run.error {
        (Status::Error, format!("a step could not be completed: {e}"))
    } else if let Some(w) = &run.unexpected {
        (
            Status::Inconclusive,
            format!(
                "an answer matched neither the allowed nor the denied classifier ({w}); refine the profile's classifiers"
            ),
        )
    } else {
        return None;
    };
    let mut r = RuleResult::new(rule, status).because(reason);
    r.evidence = evidence(ctx, &run.transcript);
    r.requests = requests;
    Some(r)
}

/// Operations that know their simpler variants.
trait SimplerOp: Sized {
    fn simpler_ops(&self) -> Vec<Self>;
}

impl SimplerOp for SessionOp {
    fn simpler_ops(&self) -> Vec<Self> {
        self.simpler()
    }
}

impl SimplerOp for RefreshOp {
    fn simpler_ops(&self) -> Vec<Self> {
        self.simpler()
    }
}

/// A POSIX shell script that replays the counterexample with curl. Secrets (passwords,
/// tokens, session ids) never appear: each is a shell variable, set from the answer that
/// issued it (with jq or from Set-Cookie) or, for passwords and client secrets, from the
/// environment.
fn replay_script(ctx: &Ctx, rule: &Rule, seed: u64, run: &SeqRun, failing: usize) -> String {
    let redactor = ctx.client.redactor();
    let mut out = String::new();
    out.push_str("#!/bin/sh\n");
    out.push_str(&format!(
        "# authprobe counterexample for {}, seed {seed}: replays the sequence step by step.\n",
        rule.id
    ));
    out.push_str(
        "# Needs curl and jq. Export the secrets named below first (never written here).\n",
    );
    out.push_str("set -u\nd=$(mktemp -d)\n");
    let mut defined: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut env_needed: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut body = String::new();
    let mut k = 0usize;
    for (i, s) in run.steps.iter().enumerate() {
        body.push_str(&format!(
            "\n# step {}: {}{}\n#   expected: {}\n#   observed: {}\n",
            i + 1,
            s.operation,
            if i == failing {
                "   <-- disagrees with the model"
            } else {
                ""
            },
            s.expected,
            s.observed
        ));
        for rec in &run.transcript[s.exchanges.clone()] {
            k += 1;
            let mut red = redactor.redact_exchange(&rec.exchange);
            // Reports hide whole Authorization values; the script needs to know *which*
            // credential went there. Keep the scheme and a registered secret's marker when
            // that is all the value holds (anything else stays wholly redacted).
            for ((name, value), (_, original)) in red
                .request
                .headers
                .iter_mut()
                .zip(&rec.exchange.request.headers)
            {
                if name.eq_ignore_ascii_case("authorization") {
                    let v = redactor.redact(original);
                    let credential = v.split_once(' ').map_or(v.as_str(), |(_, rest)| rest);
                    if whole_redaction(credential).is_some() {
                        *value = v;
                    }
                }
            }
            let mut line = crate::http::curl_line(&red);
            let shown = format!(
                "%{{http_code}}  step {}: {}\\n",
                i + 1,
                rec.label.replace('%', "%%")
            );
            line = line.replacen(
                "curl -sS -i",
                &format!(
                    "curl -sS -D \"$d/{k}.h\" -o \"$d/{k}.b\" -w {}",
                    crate::http::shell_quote(&shown)
                ),
                1,
            );
            // Redacted secrets become shell variables.
            let mut rest = line.as_str();
            let mut rewritten = String::new();
            while let Some(p) = rest.find("<redacted:") {
                let Some(e) = rest[p..].find('>') else { break };
                let label = &rest[p + 10..p + e];
                let var = shell_var(label);
                if !defined.contains(&var) {
                    env_needed.insert(var.clone());
                }
                rewritten.push_str(&rest[..p]);
                rewritten.push_str(&format!("'\"${{{var}}}\"'"));
                rest = &rest[p + e + 1..];
            }
            rewritten.push_str(rest);
            body.push_str(&format!("# {}\n{rewritten}\n", rec.label));
            // Capture secrets this answer issued: JSON string fields and Set-Cookie values.
            if let Ok(json) =
                serde_json::from_slice::<serde_json::Value>(&rec.exchange.response.body)
            {
                let mut leaves = Vec::new();
                json_leaves(&json, String::new(), &mut leaves);
                for (path, value) in leaves {
                    if let Some(label) = whole_redaction(&redactor.redact(&value)) {
                        let var = shell_var(&label);
                        if defined.insert(var.clone()) {
                            body.push_str(&format!("{var}=$(jq -r '{path}' \"$d/{k}.b\")\n"));
                        }
                    }
                }
            }
            for raw in rec.exchange.response.set_cookies() {
                let sc = crate::cookie::parse_set_cookie(raw);
                if let Some(label) = whole_redaction(&redactor.redact(&sc.value)) {
                    let var = shell_var(&label);
                    if defined.insert(var.clone()) {
                        body.push_str(&format!(
                            "{var}=$(sed -n 's/^[Ss]et-[Cc]ookie: *{}=\\([^;]*\\).*/\\1/p' \"$d/{k}.h\" | tail -n 1)\n",
                            sc.name
                        ));
                    }
                }
            }
        }
    }
    let env: Vec<String> = env_needed
        .into_iter()
        .filter(|v| !defined.contains(v))
        .collect();
    if !env.is_empty() {
        out.push_str(&format!(
            "# from the environment: {}\n: {}\n",
            env.join(" "),
            env.iter()
                .map(|v| format!("\"${{{v}:?export {v} first}}\""))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    out.push_str(&body);
    out.push_str("\nrm -rf \"$d\"\n");
    out
}

fn json_leaves(v: &serde_json::Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::String(s) => {
            out.push((if path.is_empty() { ".".into() } else { path }, s.clone()))
        }
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let key = if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    format!("{path}.{k}")
                } else {
                    format!("{path}[{}]", serde_json::Value::String(k.clone()))
                };
                json_leaves(v, key, out);
            }
        }
        _ => {}
    }
}

/// The label when `text` is exactly one redaction marker.
fn whole_redaction(text: &str) -> Option<String> {
    let inner = text.strip_prefix("<redacted:")?.strip_suffix('>')?;
    (!inner.contains('<') && !inner.contains('>')).then(|| inner.to_string())
}

/// A shell variable name for a redaction label: `var:access_token#3` → `ACCESS_TOKEN_3`.
fn shell_var(label: &str) -> String {
    let label = label.strip_prefix("var:").unwrap_or(label);
    let mut v: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    while v.contains("__") {
        v = v.replace("__", "_");
    }
    let v = v.trim_matches('_').to_string();
    if v.is_empty() || v.starts_with(|c: char| c.is_ascii_digit()) {
        format!("S_{v}")
    } else {
        v
    }
}

/// Runs a `model` rule.
pub(crate) async fn run(rc: &RuleCtx, rule: &Rule, m: &Model) -> RuleResult {
    let ctx = &rc.ctx;
    let caps = ctx.target.capabilities();
    match m {
        Model::Session(def) => {
            let semantics = {
                let s = def.semantics.apply(&rc.policy.sessions);
                match &ctx.target.policy.sessions {
                    Some(o) => o.apply(&s),
                    None => s,
                }
            };
            let env = SessionEnv {
                semantics,
                has_bob: caps.contains(&Capability::SecondUser),
                has_logout: caps.contains(&Capability::Logout),
                has_logout_everywhere: caps.contains(&Capability::LogoutEverywhere)
                    && semantics.logout_everywhere,
            };
            let note = format!(
                "semantics: logout ends {}; logout everywhere {}; second user {}",
                match semantics.logout_scope {
                    crate::machine::LogoutScope::Session => "the session",
                    crate::machine::LogoutScope::All => "every session of the user",
                },
                if env.has_logout_everywhere {
                    "exercised"
                } else {
                    "not exercised (no flow, or disabled)"
                },
                if env.has_bob {
                    "exercised"
                } else {
                    "not defined"
                }
            );
            drive(
                rc,
                rule,
                def,
                || session_strategy(&env),
                || {
                    let mut sim =
                        SessionModel::new(env.semantics, env.has_bob, env.has_logout_everywhere);
                    Box::new(move |op: &SessionOp| sim.simulate(op))
                },
                |ops, setup| {
                    let env = &env;
                    async move { run_session(ctx, env, &ops, setup).await }
                },
                Driving {
                    // Sequences share the users' sessions (logout everywhere ends them all).
                    parallel: 1,
                    note,
                },
            )
            .await
        }
        Model::Refresh(def) => {
            let semantics = {
                let s = def.semantics.apply(&rc.policy.refresh);
                match &ctx.target.policy.refresh {
                    Some(o) => o.apply(&s),
                    None => s,
                }
            };
            let Some(t) = ctx.target.token.as_ref() else {
                return RuleResult::new(rule, Status::Skip)
                    .because("the profile has no token section");
            };
            // Control: the token login must yield a refresh token, or there is nothing to test.
            let mut control = Vec::new();
            let mut b = Browser::new("control");
            match b.token_login(ctx, "alice", &mut control).await {
                Ok(_) if b.vars.contains_key(&t.refresh_from) => {}
                Ok(_) => {
                    let mut r = RuleResult::new(rule, Status::Skip).because(format!(
                        "the token login returned no refresh token (`{}`), so refresh semantics cannot be tested",
                        t.refresh_from
                    ));
                    r.evidence = evidence(ctx, &control);
                    r.requests = control.len() as u64;
                    return r;
                }
                Err(e) => return super::step_error(ctx, rule, e, &control),
            }
            let env = RefreshEnv {
                semantics,
                has_logout: caps.contains(&Capability::TokenLogout),
                has_revocation: caps.contains(&Capability::Revocation),
                concurrent: true,
                from: t.from.clone(),
                refresh_from: t.refresh_from.clone(),
                seed: rc.seed,
            };
            let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
            let note = format!(
                "semantics: rotation {}, reuse {}, grace {}, refresh after logout {}, access after logout {}, access after revocation {}; token logout {}, revocation endpoint {}",
                name(serde_json::json!(semantics.rotation)),
                name(serde_json::json!(semantics.reuse)),
                semantics.grace_seconds,
                name(serde_json::json!(semantics.refresh_after_logout)),
                name(serde_json::json!(semantics.access_after_logout)),
                name(serde_json::json!(semantics.access_after_revocation)),
                if env.has_logout {
                    "exercised"
                } else {
                    "not defined"
                },
                if env.has_revocation {
                    "exercised"
                } else {
                    "not defined"
                },
            );
            drive(
                rc,
                rule,
                def,
                || refresh_strategy(&env),
                || {
                    let mut sim = RefreshModel::new(env.semantics);
                    Box::new(move |op: &RefreshOp| sim.simulate(op, 0.0))
                },
                |ops, setup| {
                    let env = &env;
                    async move { run_refresh(ctx, env, &ops, setup).await }
                },
                Driving {
                    // Families are independent: sequences run side by side.
                    parallel: rc.case_concurrency.clamp(1, 8),
                    note,
                },
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_vars_are_safe_names() {
        assert_eq!(shell_var("var:access_token#3"), "ACCESS_TOKEN_3");
        assert_eq!(shell_var("password:alice"), "PASSWORD_ALICE");
        assert_eq!(
            shell_var("cookie:__Host-session#2"),
            "COOKIE_HOST_SESSION_2"
        );
        assert_eq!(shell_var("#1"), "S_1");
    }

    #[test]
    fn whole_redaction_needs_exactly_one_marker() {
        assert_eq!(
            whole_redaction("<redacted:var:a#1>").as_deref(),
            Some("var:a#1")
        );
        assert_eq!(whole_redaction("x<redacted:a>"), None);
        assert_eq!(whole_redaction("<redacted:a><redacted:b>"), None);
    }

    #[test]
    fn json_leaves_give_jq_paths() {
        let v = serde_json::json!({"access_token": "t", "nested": {"a-b": "u"}, "n": 1});
        let mut out = Vec::new();
        json_leaves(&v, String::new(), &mut out);
        assert!(out.contains(&(".access_token".to_string(), "t".to_string())));
        assert!(out.contains(&(".nested[\"a-b\"]".to_string(), "u".to_string())));
        assert_eq!(out.len(), 2);
    }
}
