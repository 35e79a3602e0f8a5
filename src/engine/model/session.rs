//! The session machine against the service: clients log in as the profile's users, send the
//! protected request, log out (everywhere) and replay session ids they held before; every
//! answer is compared with [`SessionModel`].

use proptest::prelude::*;

use crate::machine::session::{
    CLIENTS, SessionModel, SessionObs, SessionOp, SessionPlan, SpecUser,
};
use crate::machine::{Answer, LogoutScope, SessionSemantics};
use crate::profile::FlowName;
use crate::spec::{Capability, ModelRun, Rule};

use super::super::browser::{Browser, Ctx, Jar, StepError};
use super::super::outcome::Verdict;
use super::super::rule::RuleCtx;
use super::Start;
use super::driver::{Driving, drive};
use super::{Observed, SeqRun, StepRecord, answer, last_status};

/// What the profile and the declared semantics let session sequences do.
pub(super) struct SessionEnv {
    semantics: SessionSemantics,
    has_bob: bool,
    has_logout: bool,
    has_logout_everywhere: bool,
    /// The live sessions the previous sequence of the search left (user, cookies, login
    /// variables), for the next one's logins to take ([`Start::MayReuse`]).
    leftover: std::sync::Mutex<Vec<Leftover>>,
    /// Logins taken from `leftover`.
    reused: std::sync::atomic::AtomicU64,
}

/// A session a sequence left live: its user, the client's cookies and login variables.
type Leftover = (SpecUser, Jar, crate::profile::Vars);

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs a `model: {session: ...}` rule.
pub(super) async fn run(
    rc: &RuleCtx,
    rule: &Rule,
    def: &ModelRun<SessionOp, crate::machine::SessionSemanticsOverrides>,
) -> Verdict {
    let ctx = &rc.ctx;
    let caps = ctx.target.capabilities();
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
        leftover: Default::default(),
        reused: Default::default(),
    };
    let exercised = |yes: bool, no: &str| {
        if yes {
            "exercised".to_string()
        } else {
            no.into()
        }
    };
    let note = format!(
        "semantics: logout ends {}; logout everywhere {}; second user {}",
        match semantics.logout_scope {
            LogoutScope::Session => "the session",
            LogoutScope::All => "every session of the user",
        },
        exercised(
            env.has_logout_everywhere,
            "not exercised (no flow, or disabled)"
        ),
        exercised(env.has_bob, "not defined"),
    );
    let verdict = drive(
        rc,
        rule,
        def,
        || strategy(&env),
        || {
            let mut sim = SessionModel::new(env.semantics, env.has_bob, env.has_logout_everywhere);
            Box::new(move |op: &SessionOp| sim.simulate(op))
        },
        |ops, setup, start: Start| {
            let env = &env;
            let start = if ctx.share { start } else { Start::Fresh };
            async move { run_sequence(ctx, env, &ops, setup, start).await }
        },
        Driving {
            // Sequences share the users' sessions (logout everywhere ends them all).
            parallel: 1,
            note,
        },
    )
    .await;
    super::noted_reuse(
        verdict,
        ctx,
        &env.reused,
        "a session the sequence before left live",
    )
}

/// One sequence against the service: fresh clients, then every operation whose precondition
/// holds, until the first disagreement (or a request failure, or an unclassified answer).
///
/// A sequence of the search ([`Start::MayReuse`]) takes the live sessions the sequence just
/// before it left (sequences run one at a time, so nothing ended them since; whatever it does
/// not take is dropped), and leaves its own when it agreed with the model throughout.
async fn run_sequence(
    ctx: &Ctx,
    env: &SessionEnv,
    ops: &[SessionOp],
    setup_len: usize,
    start: Start,
) -> SeqRun {
    let mut model = SessionModel::new(env.semantics, env.has_bob, env.has_logout_everywhere);
    let carry = match start {
        Start::MayReuse => std::mem::take(&mut *lock(&env.leftover)),
        Start::Fresh => Vec::new(),
    };
    let mut s = Sequence {
        ctx,
        clients: (0..CLIENTS)
            .map(|i| Browser::new(format!("client {i}")))
            .collect(),
        ids: Vec::new(),
        run: SeqRun::default(),
        carry,
        reused: 0,
    };
    for (index, op) in ops.iter().enumerate() {
        if op.needs_logout() && !env.has_logout {
            s.run.skipped += 1;
            continue;
        }
        let Some(plan) = model.plan(op) else {
            s.run.skipped += 1;
            continue;
        };
        let start = s.run.transcript.len();
        let Some((kind, observed, obs)) = s.execute(&plan).await else {
            break;
        };
        let v = model.apply(&plan, &obs);
        *s.run.kinds.entry(kind).or_default() += 1;
        let operation = match &plan {
            SessionPlan::Replay { session, .. } => {
                format!("{} (session #{})", op.describe(), session + 1)
            }
            _ => op.describe(),
        };
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
    let clean = s.run.error.is_none() && s.run.unexpected.is_none() && s.run.failed.is_none();
    if start == Start::MayReuse && clean {
        let left: Vec<Leftover> = model
            .live_clients()
            .into_iter()
            .map(|(c, user)| (user, s.clients[c].jar.clone(), s.clients[c].vars.clone()))
            .collect();
        *lock(&env.leftover) = left;
    }
    env.reused
        .fetch_add(s.reused, std::sync::atomic::Ordering::Relaxed);
    s.run
}

/// The clients of one sequence and what they have seen.
struct Sequence<'a> {
    ctx: &'a Ctx,
    clients: Vec<Browser>,
    /// Every session issued, in login order, as the cookies that carry it (replay picks from
    /// these and sends the whole set).
    ids: Vec<Jar>,
    run: SeqRun,
    /// Live sessions the sequence before left, for this one's logins to take.
    carry: Vec<Leftover>,
    /// Logins taken from `carry`.
    reused: u64,
}

impl Sequence<'_> {
    /// Sends one planned operation; `None` when the sequence must stop (the reason is in
    /// `run`).
    async fn execute(&mut self, plan: &SessionPlan) -> Option<Observed<SessionObs>> {
        match plan {
            SessionPlan::Login { client, user } => self.login(*client, *user).await,
            SessionPlan::Access { client, .. } => self.access(*client, None).await,
            SessionPlan::Replay {
                client, session, ..
            } => self.access(*client, Some(*session)).await,
            SessionPlan::Logout { client } => self.flow(*client, FlowName::Logout, "logout").await,
            SessionPlan::LogoutEverywhere { client } => {
                self.flow(*client, FlowName::LogoutEverywhere, "logout_everywhere")
                    .await
            }
        }
    }

    fn stop(&mut self, e: impl Into<StepError>) -> Option<Observed<SessionObs>> {
        self.run.error = Some(e.into());
        None
    }

    async fn login(&mut self, client: usize, user: SpecUser) -> Option<Observed<SessionObs>> {
        if let Some(at) = self.carry.iter().position(|(u, _, _)| *u == user) {
            let (_, jar, vars) = self.carry.swap_remove(at);
            let b = &mut self.clients[client];
            b.jar = jar;
            b.vars = vars;
            self.ids.push(self.ctx.session_part(&b.jar));
            self.reused += 1;
            let words = "took a session the sequence before left live, in place of a login";
            return Some(("login", words.into(), SessionObs::Flow(Ok(()))));
        }
        let b = &mut self.clients[client];
        match b
            .login(self.ctx, user.name(), &mut self.run.transcript)
            .await
        {
            Ok(()) => {
                self.ids.push(self.ctx.session_part(&b.jar));
                Some(("login", "completed".into(), SessionObs::Flow(Ok(()))))
            }
            Err(StepError::Flow(m)) => Some((
                "login",
                format!("failed: {m}"),
                SessionObs::Flow(Err(m.to_string())),
            )),
            Err(StepError::Http(e)) => self.stop(e),
        }
    }

    /// The protected request with the client's cookies, or replaying an earlier session id.
    async fn access(
        &mut self,
        client: usize,
        replay: Option<usize>,
    ) -> Option<Observed<SessionObs>> {
        let n = self.run.steps.len() + 1;
        let t = &mut self.run.transcript;
        let b = &mut self.clients[client];
        let label = format!("step {n}: protected request ({})", b.name);
        let res = match replay {
            Some(session) => {
                let mut jar = b.jar.clone();
                jar.extend(self.ids[session].clone());
                b.access(self.ctx, Some(&jar), &label, t).await
            }
            None => b.access(self.ctx, None, &label, t).await,
        };
        let a = match res {
            Ok(o) => answer(o),
            Err(e) => return self.stop(e),
        };
        let words = format!("{} (status {})", a.as_str(), last_status(t));
        if a == Answer::Unexpected {
            self.run.unexpected = Some(words);
            return None;
        }
        let kind = if replay.is_some() { "replay" } else { "access" };
        Some((kind, words, SessionObs::Access(a)))
    }

    async fn flow(
        &mut self,
        client: usize,
        flow: FlowName,
        kind: &'static str,
    ) -> Option<Observed<SessionObs>> {
        // A logout (everywhere, or of every session of the user) may end the sessions
        // carried from the sequence before that this one's model does not know: none is taken
        // after it.
        self.carry.clear();
        let t = &mut self.run.transcript;
        match self.clients[client].run_flow(self.ctx, flow, None, t).await {
            Ok(_) => Some((kind, "completed".into(), SessionObs::Flow(Ok(())))),
            Err(StepError::Flow(m)) => Some((
                kind,
                format!("failed: {m}"),
                SessionObs::Flow(Err(m.to_string())),
            )),
            Err(StepError::Http(e)) => self.stop(e),
        }
    }
}

fn strategy(env: &SessionEnv) -> BoxedStrategy<SessionOp> {
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
        let logout = client
            .clone()
            .prop_map(|client| SessionOp::Logout { client });
        ops.push((3, logout.boxed()));
    }
    if env.has_logout_everywhere {
        let everywhere = client.prop_map(|client| SessionOp::LogoutEverywhere { client });
        ops.push((3, everywhere.boxed()));
    }
    proptest::strategy::Union::new_weighted(ops).boxed()
}
