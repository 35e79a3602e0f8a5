//! The refresh machine against the service: token logins start families; refresh grants,
//! reuse of earlier refresh tokens, concurrent refreshes, token logout and RFC 7009
//! revocation are sent as planned, and every answer is compared with [`RefreshModel`].
//! Rules that revoke report the revocation window: how long the access token kept working.

use std::collections::BTreeMap;
use std::time::Instant;

use proptest::prelude::*;

use crate::machine::refresh::{
    Hint, RefreshAnswer, RefreshModel, RefreshObs, RefreshOp, RefreshPlan, Returned, TokenKind,
};
use crate::machine::{Answer, RefreshSemantics, RefreshSemanticsOverrides};
use crate::profile::{FlowName, Vars};
use crate::spec::{Capability, ModelRun, Rule};
use crate::units::RevocationScope;
use crate::units::SpecUser;

use super::super::browser::{Browser, Ctx, FlowError, Recorded, StepError, now_unix};
use super::super::outcome::Verdict;
use super::super::rule::{RuleCtx, step_verdict};
use super::super::select::seed_for;
use super::Start;
use super::driver::{Driving, drive};
use super::{Observed, SeqRun, StepRecord, answer, flow_words, last_status};

/// What the profile and the declared semantics let refresh sequences do.
pub(super) struct RefreshEnv {
    semantics: RefreshSemantics,
    has_logout: bool,
    has_revocation: bool,
    concurrent: bool,
    /// Names of the access-token and refresh-token variables.
    from: String,
    refresh_from: String,
    seed: u64,
    /// Grants that sequences of the search left live (newest access and refresh token), for
    /// a later sequence's login to take ([`Start::MayReuse`]).
    leftover: std::sync::Mutex<Vec<(String, String)>>,
    /// Logins taken from `leftover`.
    reused: std::sync::atomic::AtomicU64,
}

/// Runs a `model: {refresh: ...}` rule.
pub(super) async fn run(
    rc: &RuleCtx,
    rule: &Rule,
    def: &ModelRun<RefreshOp, RefreshSemanticsOverrides>,
) -> Verdict {
    let ctx = &rc.ctx;
    let caps = ctx.target.capabilities();
    let semantics = {
        let s = def.semantics.apply(&rc.policy.refresh);
        match &ctx.target.policy.refresh {
            Some(o) => o.apply(&s),
            None => s,
        }
    };
    let Some(t) = ctx.target.token.as_ref() else {
        return Verdict::not_applicable("the profile has no token section");
    };
    if let Some(why) = def.when.as_ref().and_then(|w| w.unmet(&semantics)) {
        return Verdict::not_applicable(why);
    }
    // Control: the token login must yield a refresh token, or there is nothing to test. It
    // only reads what the login returned: the run's shared login will do.
    let mut control = Vec::new();
    let mut b = Browser::new("control");
    match b
        .shared_token_login(ctx, SpecUser::Alice.name(), &mut control)
        .await
    {
        Ok(_) if b.vars.contains_key(&t.refresh_from) => {}
        Ok(_) => {
            return Verdict::not_applicable(format!(
                "the token login returned no refresh token (`{}`), so refresh semantics cannot be tested",
                t.refresh_from
            ))
            .evidence(rc.evidence(&control))
            .requests(control.len() as u64);
        }
        Err(e) => return step_verdict(rc, e, &control),
    }
    let env = RefreshEnv {
        semantics,
        has_logout: caps.contains(&Capability::TokenLogout),
        has_revocation: caps.contains(&Capability::Revocation),
        concurrent: true,
        from: t.from.clone(),
        refresh_from: t.refresh_from.clone(),
        seed: rc.seed,
        leftover: Default::default(),
        reused: Default::default(),
    };
    let note = semantics_note(&env);
    let verdict = drive(
        rc,
        rule,
        def,
        || strategy(&env),
        || {
            let mut sim = RefreshModel::new(env.semantics);
            Box::new(move |op: &RefreshOp| sim.simulate(op, 0.0))
        },
        |ops, setup, start| {
            let env = &env;
            let start = if ctx.share { start } else { Start::Fresh };
            async move { run_sequence(ctx, env, &ops, setup, start).await }
        },
        Driving {
            // Families are independent: sequences run side by side; under a budget two at a
            // time, so that later windows can take the grants earlier ones left live (the
            // logins queue at the service anyway).
            parallel: match rc.share {
                Some(_) => rc.case_concurrency.clamp(1, 2),
                None => rc.case_concurrency.clamp(1, 8),
            },
            note,
        },
    )
    .await;
    super::noted_reuse(
        verdict,
        ctx,
        &env.reused,
        "a grant an earlier sequence left live",
    )
}

fn semantics_note(env: &RefreshEnv) -> String {
    let s = &env.semantics;
    let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let exercised = |yes: bool| if yes { "exercised" } else { "not defined" };
    format!(
        "semantics: rotation {}, reuse {}, grace {}, refresh after logout {}, access after logout {}, access after revocation {}, access-token revocation ends {}; token logout {}, revocation endpoint {}",
        name(serde_json::json!(s.rotation)),
        name(serde_json::json!(s.reuse)),
        s.grace_seconds,
        name(serde_json::json!(s.refresh_after_logout)),
        name(serde_json::json!(s.access_after_logout)),
        name(serde_json::json!(s.access_after_revocation)),
        match s.access_revocation_scope {
            RevocationScope::Token => "the token",
            RevocationScope::Grant => "the grant",
            RevocationScope::Either => "the token or the grant",
        },
        exercised(env.has_logout),
        exercised(env.has_revocation),
    )
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

/// A revocation (logout or RFC 7009) waiting for its first access observation.
struct Pending {
    what: &'static str,
    at: Instant,
    at_unix: i64,
}

impl Pending {
    fn now(what: &'static str) -> Pending {
        Pending {
            what,
            at: Instant::now(),
            at_unix: now_unix(),
        }
    }
}

fn exp_of(token: &str) -> Option<i64> {
    crate::jwt::decode::decode(token)
        .ok()
        .and_then(|j| j.claim_i64("exp"))
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn token_vars(ctx: &Ctx) -> Vars {
    ctx.target.token_vars.clone()
}

fn unix_now_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// One sequence against the service: every operation whose precondition holds, until the
/// first disagreement (or a request failure, or an unclassified answer).
async fn run_sequence(
    ctx: &Ctx,
    env: &RefreshEnv,
    ops: &[RefreshOp],
    setup_len: usize,
    start: Start,
) -> SeqRun {
    let mut model = RefreshModel::new(env.semantics);
    let mut s = Sequence {
        ctx,
        env,
        fams: Vec::new(),
        pending: BTreeMap::new(),
        run: SeqRun::default(),
        start,
    };
    for (index, op) in ops.iter().enumerate() {
        if (op.needs_logout() && !env.has_logout)
            || (op.needs_revocation() && !env.has_revocation)
            || (matches!(op, RefreshOp::RefreshConcurrent { .. }) && !env.concurrent)
        {
            s.run.skipped += 1;
            continue;
        }
        let Some(plan) = model.plan(op, unix_now_f64()) else {
            s.run.skipped += 1;
            continue;
        };
        let start = s.run.transcript.len();
        // Described as resolved against the state before it runs (what is actually sent).
        let operation = model.describe(op, &plan);
        s.run.note_vacuous(model.unmet(op, &plan));
        let Some((kind, observed, obs)) = s.execute(&plan, index).await else {
            break;
        };
        let v = model.apply(&plan, &obs, unix_now_f64());
        s.run.note_vacuous(v.vacuous.clone());
        *s.run.kinds.entry(kind).or_default() += 1;
        let exchanges = start..s.run.transcript.len();
        if !s.run.record(StepRecord {
            op_index: index,
            operation,
            expected: v.expected,
            observed,
            ok: v.ok,
            setup: index < setup_len,
            genuine_refused: v.genuine_refused,
            exchanges,
        }) {
            break;
        }
    }
    s.leave(&model);
    s.run
}

/// The families of one sequence and the revocations waiting for an access observation.
struct Sequence<'a> {
    ctx: &'a Ctx,
    env: &'a RefreshEnv,
    fams: Vec<Tokens>,
    pending: BTreeMap<(usize, usize), Pending>,
    run: SeqRun,
    /// Whether a login may take a grant an earlier sequence left live.
    start: Start,
}

impl Sequence<'_> {
    /// Sends one planned operation; `None` when the sequence must stop (the reason is in
    /// `run`).
    async fn execute(&mut self, plan: &RefreshPlan, index: usize) -> Option<Observed<RefreshObs>> {
        match plan {
            RefreshPlan::Login => self.login().await,
            RefreshPlan::Access { family, token, .. } => self.access(*family, *token).await,
            RefreshPlan::Refresh { family, token, .. } => self.refresh(*family, *token).await,
            RefreshPlan::Concurrent { family, token, .. } => self.concurrent(*family, *token).await,
            RefreshPlan::Logout {
                family,
                access,
                refresh,
                ..
            } => self.logout(*family, *access, *refresh).await,
            RefreshPlan::Revoke {
                family,
                kind,
                token,
                hint,
            } => self.revoke(*family, *kind, *token, *hint).await,
            RefreshPlan::RevokeUnknown => self.revoke_unknown(index).await,
        }
    }

    fn stop(&mut self, e: impl Into<StepError>) -> Option<Observed<RefreshObs>> {
        self.run.error = Some(e.into());
        None
    }

    fn step_number(&self) -> usize {
        self.run.steps.len() + 1
    }

    /// Every access token the sequence has seen (a grant's token is new when not among them).
    fn known_access(&self) -> Vec<String> {
        self.fams.iter().flat_map(|f| f.access.clone()).collect()
    }

    /// After a search sequence that agreed with the model throughout: the grants the model
    /// says are still as good as a fresh login go to `leftover` for a later sequence.
    fn leave(&self, model: &RefreshModel) {
        let clean = self.run.error.is_none() && self.run.unexpected.is_none();
        if self.start != Start::MayReuse || !clean || self.run.failed.is_some() {
            return;
        }
        // A minute of validity left at least, so the grant outlives the next sequence.
        for (i, refreshes, accesses) in model.reusable(unix_now_f64(), 60.0) {
            let Some(f) = self.fams.get(i) else { continue };
            if f.refresh.len() != refreshes || f.access.len() != accesses {
                continue;
            }
            if let (Some(a), Some(r)) = (f.access.last(), f.refresh.last()) {
                lock(&self.env.leftover).push((a.clone(), r.clone()));
            }
        }
    }

    /// A grant an earlier sequence left live, in place of a login (no request).
    fn reuse(&mut self) -> Option<Observed<RefreshObs>> {
        if self.start != Start::MayReuse {
            return None;
        }
        let (access, refresh) = lock(&self.env.leftover).pop()?;
        self.env
            .reused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let obs = RefreshObs::Login(Ok((true, exp_of(&access))));
        self.fams.push(Tokens {
            access: vec![access],
            refresh: vec![refresh],
        });
        let words = "took a grant an earlier sequence left live (its newest access and refresh token), in place of a login";
        Some(("login", words.to_string(), obs))
    }

    async fn login(&mut self) -> Option<Observed<RefreshObs>> {
        if let Some(reused) = self.reuse() {
            return Some(reused);
        }
        let ctx = self.ctx;
        let mut b = Browser::new(format!("family {}", self.fams.len() + 1));
        let access = match b
            .token_login(ctx, SpecUser::Alice.name(), &mut self.run.transcript)
            .await
        {
            Ok(access) => access,
            Err(StepError::Flow(m)) => {
                return Some((
                    "login",
                    format!("failed: {m}"),
                    RefreshObs::Login(Err(m.to_string())),
                ));
            }
            Err(e) => return self.stop(e),
        };
        let refresh = b.vars.get(&self.env.refresh_from).cloned();
        if let Some(r) = &refresh {
            ctx.register_secret(r, "refresh-token");
        }
        let words = if refresh.is_some() {
            "completed with an access token and a refresh token"
        } else {
            "completed without a refresh token"
        };
        let obs = RefreshObs::Login(Ok((refresh.is_some(), exp_of(&access))));
        self.fams.push(Tokens {
            access: vec![access],
            refresh: refresh.into_iter().collect(),
        });
        Some(("login", words.to_string(), obs))
    }

    async fn access(&mut self, family: usize, token: usize) -> Option<Observed<RefreshObs>> {
        let n = self.step_number();
        let mut b = Browser::new(format!("family {}", family + 1));
        b.vars = token_vars(self.ctx);
        let tok = self.fams[family].access[token].clone();
        let label = format!("step {n}: protected request (family {})", family + 1);
        let t = &mut self.run.transcript;
        let a = match b.token_use(self.ctx, &tok, &label, t).await {
            Ok(o) => answer(o),
            Err(e) => return self.stop(e),
        };
        let words = format!("{} (status {})", a.as_str(), last_status(t));
        if a == Answer::Unexpected {
            self.run.unexpected = Some(words);
            return None;
        }
        if let Some(p) = self.pending.remove(&(family, token)) {
            let note = window_note(&p, a, exp_of(&tok));
            self.run.windows.push((p.what, note));
        }
        Some(("access", words, RefreshObs::Access(a)))
    }

    async fn refresh(&mut self, family: usize, token: usize) -> Option<Observed<RefreshObs>> {
        let presented = self.fams[family].refresh[token].clone();
        let name = format!("family {}", family + 1);
        let known = self.known_access();
        let t = &mut self.run.transcript;
        let g = match refresh_grant(self.ctx, self.env, name, &presented, &known, t).await {
            Ok(g) => g,
            Err(e) => return self.stop(e),
        };
        let kind = if token + 1 == self.fams[family].refresh.len() {
            "refresh"
        } else {
            "reuse"
        };
        let words = grant_words(&g.answer);
        self.fams[family].access.extend(g.access);
        self.fams[family].refresh.extend(g.refresh);
        Some((kind, words, RefreshObs::Refresh(g.answer)))
    }

    async fn concurrent(&mut self, family: usize, token: usize) -> Option<Observed<RefreshObs>> {
        let presented = self.fams[family].refresh[token].clone();
        let known = self.known_access();
        let (mut t1, mut t2) = (Vec::new(), Vec::new());
        let name = |which: &str| format!("family {} request {which}", family + 1);
        let (a, b) = tokio::join!(
            refresh_grant(self.ctx, self.env, name("A"), &presented, &known, &mut t1),
            refresh_grant(self.ctx, self.env, name("B"), &presented, &known, &mut t2),
        );
        self.run.transcript.extend(t1);
        self.run.transcript.extend(t2);
        let (a, b) = match (a, b) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return self.stop(e),
        };
        let words = format!("A {}; B {}", grant_words(&a.answer), grant_words(&b.answer));
        for g in [&a, &b] {
            self.fams[family].access.extend(g.access.clone());
            self.fams[family].refresh.extend(g.refresh.clone());
        }
        Some((
            "concurrent_refresh",
            words,
            RefreshObs::Concurrent(a.answer, b.answer),
        ))
    }

    async fn logout(
        &mut self,
        family: usize,
        access: usize,
        refresh: usize,
    ) -> Option<Observed<RefreshObs>> {
        let env = self.env;
        let mut b = Browser::new(format!("family {}", family + 1));
        b.vars = token_vars(self.ctx);
        let fam = &self.fams[family];
        b.vars.insert(env.from.clone(), fam.access[access].clone());
        b.vars
            .insert(env.refresh_from.clone(), fam.refresh[refresh].clone());
        let t = &mut self.run.transcript;
        let r = match b.run_flow(self.ctx, FlowName::TokenLogout, None, t).await {
            Ok(_) => Ok(()),
            Err(StepError::Flow(m)) => Err(m.to_string()),
            Err(e) => return self.stop(e),
        };
        if r.is_ok() {
            for i in 0..self.fams[family].access.len() {
                self.pending
                    .entry((family, i))
                    .or_insert_with(|| Pending::now("logout"));
            }
        }
        Some(("logout", flow_words(&r), RefreshObs::Flow(r)))
    }

    async fn revoke(
        &mut self,
        family: usize,
        kind: TokenKind,
        token: usize,
        hint: Hint,
    ) -> Option<Observed<RefreshObs>> {
        let fam = &self.fams[family];
        let (tok, right, wrong) = match kind {
            TokenKind::Refresh => (fam.refresh[token].clone(), "refresh_token", "access_token"),
            TokenKind::Access => (fam.access[token].clone(), "access_token", "refresh_token"),
        };
        let h = match hint {
            Hint::None => None,
            Hint::Right => Some(right),
            Hint::Wrong => Some(wrong),
        };
        let label = format!(
            "step {}: revocation (family {})",
            self.step_number(),
            family + 1
        );
        let status = match revoke(self.ctx, &tok, h, label, &mut self.run.transcript).await {
            Ok(status) => status,
            Err(e) => return self.stop(e),
        };
        match kind {
            TokenKind::Access => {
                let p = Pending::now("revocation of the token");
                self.pending.insert((family, token), p);
            }
            TokenKind::Refresh => {
                for i in 0..self.fams[family].access.len() {
                    self.pending
                        .entry((family, i))
                        .or_insert_with(|| Pending::now("revocation of its refresh token"));
                }
            }
        }
        Some((
            "revoke",
            format!("status {status}"),
            RefreshObs::Revoked(status),
        ))
    }

    async fn revoke_unknown(&mut self, index: usize) -> Option<Observed<RefreshObs>> {
        let never = format!(
            "authprobe-never-issued-{:016x}",
            seed_for(self.env.seed, &format!("unknown-{index}"))
        );
        let label = format!(
            "step {}: revocation of an unknown token",
            self.step_number()
        );
        let t = &mut self.run.transcript;
        match revoke(self.ctx, &never, Some("refresh_token"), label, t).await {
            Ok(status) => Some((
                "revoke_unknown",
                format!("status {status}"),
                RefreshObs::Revoked(status),
            )),
            Err(e) => self.stop(e),
        }
    }
}

/// Sends the refresh grant with `presented`; a refusal or a broken answer is an observation,
/// only a request failure is an error.
async fn refresh_grant(
    ctx: &Ctx,
    env: &RefreshEnv,
    name: String,
    presented: &str,
    known_access: &[String],
    transcript: &mut Vec<Recorded>,
) -> Result<Grant, crate::http::HttpError> {
    let mut b = Browser::new(name);
    b.vars = token_vars(ctx);
    b.vars
        .insert(env.refresh_from.clone(), presented.to_string());
    let extracted = match b
        .run_flow(ctx, FlowName::TokenRefresh, None, transcript)
        .await
    {
        Ok(extracted) => extracted,
        Err(StepError::Http(e)) => return Err(e),
        Err(StepError::Flow(m)) => {
            let status = last_status(transcript);
            return Ok(Grant {
                answer: if (400..500).contains(&status) {
                    RefreshAnswer::Refused(status)
                } else {
                    RefreshAnswer::Broken(m.to_string())
                },
                access: None,
                refresh: None,
            });
        }
    };
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
            new_access: !known_access.contains(&access),
            refresh: returned,
            exp: exp_of(&access),
        },
        access: Some(access),
        refresh: refresh.filter(|_| returned == Returned::New),
    })
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
pub(crate) async fn revoke(
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
        .ok_or(FlowError::NoRevocation)?;
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

fn strategy(env: &RefreshEnv) -> BoxedStrategy<RefreshOp> {
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
        let concurrent = family
            .clone()
            .prop_map(|family| RefreshOp::RefreshConcurrent { family });
        ops.push((1, concurrent.boxed()));
    }
    if env.has_logout {
        let logout = family
            .clone()
            .prop_map(|family| RefreshOp::Logout { family });
        ops.push((2, logout.boxed()));
    }
    if env.has_revocation {
        let kind = prop_oneof![Just(TokenKind::Refresh), Just(TokenKind::Access)];
        let hint = prop_oneof![Just(Hint::None), Just(Hint::Right), Just(Hint::Wrong)];
        let revoke = (family, kind, hint).prop_map(|(family, token, hint)| RefreshOp::Revoke {
            family,
            token,
            hint,
        });
        ops.push((2, revoke.boxed()));
        ops.push((1, Just(RefreshOp::RevokeUnknown).boxed()));
    }
    proptest::strategy::Union::new_weighted(ops).boxed()
}
