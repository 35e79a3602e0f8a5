//! Kind `scenario`: a fixed sequence of steps over named clients. The first step that does
//! not meet its expectation decides the verdict: a positive control (login, an `access`
//! expected to be allowed, a flow) makes the rule inconclusive; a probe makes it fail, once
//! the whole scenario, run again with fresh clients, fails too ([`confirm`]).

use std::collections::BTreeMap;

use crate::cookie::parse_set_cookie_ref;
use crate::profile::FlowName;
use crate::spec::{AccessStep, Expect, ExpectSessionIdStep, PlantStep, PlantValue, Step, Via};

use super::browser::{AccessOutcome, Browser, Jar, Recorded, StepError, now_unix};
use super::browser::{classify, in_path_param, is_deletion, meets, session_access};
use super::outcome::{Inconclusive, Outcome, Verdict};
use super::probe::{Recheck, confirm};
use super::rule::{RuleCtx, in_step, step_verdict_in};

struct State {
    clients: BTreeMap<String, Browser>,
    snapshots: BTreeMap<String, Jar>,
    transcript: Vec<Recorded>,
    notes: Vec<String>,
    probes_checked: usize,
    rng: u64,
    /// Whether its one login may take the run's shared session (`pool::reads_only`).
    share: bool,
}

impl State {
    fn client(&mut self, name: &str) -> &mut Browser {
        self.clients
            .entry(name.to_string())
            .or_insert_with(|| Browser::new(name))
    }
}

/// How a step that did not meet its expectation ends the scenario.
enum Stop {
    /// The step failed as a probe: expected, observed.
    Fail(String, String),
    /// A control failed.
    Control(String),
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random value shaped like `like`: same length, characters from its alphabet class.
fn random_like(like: &str, rng: &mut u64) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let alphabet = if !like.is_empty()
        && like
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        HEX
    } else {
        B64
    };
    let len = like.len().clamp(16, 256);
    (0..len)
        .map(|_| alphabet[(splitmix(rng) % alphabet.len() as u64) as usize] as char)
        .collect()
}

/// Runs a `scenario` rule: its steps in order; the first that does not meet its expectation
/// decides the verdict. A failure is confirmed by running the whole scenario again with
/// fresh clients (and the same planted values).
pub(crate) async fn run(rc: &RuleCtx, steps: &[Step]) -> Verdict {
    let (verdict, _) = run_once(rc, steps).await;
    let first = verdict.outcome.to_string();
    confirm(
        rc,
        verdict,
        "ran the whole scenario again with fresh clients",
        async |t| {
            let (again, transcript) = run_once(rc, steps).await;
            t.extend(transcript);
            match again.outcome {
                Outcome::Fail(f) if f.reason == first => Recheck::Failed(f.reason),
                Outcome::Fail(f) => Recheck::Unclear(format!("failed differently: {}", f.reason)),
                Outcome::Pass => Recheck::Passed("every step met its expectation".into()),
                other => Recheck::Unclear(format!("ended {}: {other}", other.status().as_str())),
            }
        },
    )
    .await
}

/// One run of the scenario from fresh clients: the verdict and the transcript.
async fn run_once(rc: &RuleCtx, steps: &[Step]) -> (Verdict, Vec<Recorded>) {
    let mut st = State {
        clients: BTreeMap::new(),
        snapshots: BTreeMap::new(),
        transcript: Vec::new(),
        notes: Vec::new(),
        probes_checked: 0,
        rng: rc.seed,
        share: super::pool::reads_only(steps),
    };
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let before = st.transcript.len();
        let outcome = run_step(rc, &mut st, n, step).await;
        for rec in &mut st.transcript[before..] {
            if !rec.label.starts_with("step ") {
                rec.label = format!("step {n}: {}", rec.label);
            }
        }
        let verdict = match outcome {
            Ok(None) => continue,
            Ok(Some(Stop::Fail(expected, observed))) => {
                Verdict::new(Outcome::fail(in_step(n, &observed), expected, observed))
            }
            Ok(Some(Stop::Control(why))) => {
                Verdict::inconclusive(Inconclusive::Control(in_step(n, &why)))
            }
            Err(e) => step_verdict_in(rc, e, &st.transcript, Some(n)),
        };
        let verdict = verdict
            .evidence(rc.evidence(&st.transcript))
            .notes(st.notes)
            .requests(st.transcript.len() as u64);
        return (verdict, st.transcript);
    }
    let requests = st.transcript.len() as u64;
    let verdict = if st.probes_checked == 0 {
        Verdict::inconclusive(Inconclusive::Vacuous)
    } else {
        Verdict::new(Outcome::Pass)
    };
    (verdict.notes(st.notes).requests(requests), st.transcript)
}

/// What a step leaves: nothing (go on), or why the scenario stops.
type StepResult = Result<Option<Stop>, StepError>;

async fn run_step(rc: &RuleCtx, st: &mut State, n: usize, step: &Step) -> StepResult {
    let ctx = &rc.ctx;
    match step {
        Step::Anonymous(c) => {
            if ctx.target.flow(FlowName::Anonymous).is_none() {
                st.notes.push(format!("step {n}: the profile defines no anonymous flow; `{c}` starts without a pre-login session"));
                return Ok(None);
            }
            flow(rc, st, c, FlowName::Anonymous).await?;
        }
        Step::Login(l) => {
            let mut t = std::mem::take(&mut st.transcript);
            let share = st.share;
            let b = st.client(&l.client);
            let res = match share {
                true => b.shared_login(ctx, &l.user, &mut t).await,
                false => b.login(ctx, &l.user, &mut t).await,
            };
            st.transcript = t;
            return controlled_step(res);
        }
        Step::Logout(c) => return controlled_step(flow(rc, st, c, FlowName::Logout).await),
        Step::LogoutEverywhere(c) => {
            return controlled_step(flow(rc, st, c, FlowName::LogoutEverywhere).await);
        }
        Step::Save(s) => {
            let jar = st.client(&s.client).jar.clone();
            if !jar.contains_key(&ctx.session_cookie) {
                st.notes.push(format!(
                    "step {n}: `{}` held no `{}` cookie when saved as `{}`",
                    s.client, ctx.session_cookie, s.name
                ));
            }
            st.snapshots.insert(s.name.clone(), jar);
        }
        Step::Plant(p) => plant(rc, st, n, p),
        Step::Access(a) => return access(rc, st, n, a).await,
        Step::ExpectSessionId(e) => return Ok(expect_session_id(rc, st, n, e)),
        Step::ExpectCookieCleared(c) => return Ok(expect_cleared(rc, st, n, c)),
    }
    Ok(None)
}

/// A set-up step (login, logout): a flow that misbehaves is a failed control, not a failure.
fn controlled_step(res: Result<(), StepError>) -> StepResult {
    match res {
        Ok(()) => Ok(None),
        Err(StepError::Flow(m)) => Ok(Some(Stop::Control(m.to_string()))),
        Err(e) => Err(e),
    }
}

/// Runs one of the profile's flows for a client.
async fn flow(rc: &RuleCtx, st: &mut State, client: &str, name: FlowName) -> Result<(), StepError> {
    let mut t = std::mem::take(&mut st.transcript);
    let res = st
        .client(client)
        .run_flow(&rc.ctx, name, None, &mut t)
        .await;
    st.transcript = t;
    res.map(|_| ())
}

/// Plants a session id (random, or a saved one) in a client's jar.
fn plant(rc: &RuleCtx, st: &mut State, n: usize, p: &PlantStep) {
    let cookie = rc.ctx.session_cookie.clone();
    let value = match &p.value {
        PlantValue::Random => {
            let like = rc
                .baseline
                .session
                .as_ref()
                .map_or("", |s| s.session_id.as_str());
            random_like(like, &mut st.rng)
        }
        PlantValue::Snapshot(name) => {
            let Some(saved) = st.snapshots.get(name).filter(|j| j.contains_key(&cookie)) else {
                st.notes.push(format!(
                    "step {n}: snapshot `{name}` holds no session id; nothing planted"
                ));
                return;
            };
            // The whole saved session travels: its id and the cookies that go with it.
            let part = rc.ctx.session_part(saved);
            for v in part.values() {
                rc.ctx.register_secret(v, "planted-session-id");
            }
            st.client(&p.client).jar.extend(part);
            return;
        }
    };
    rc.ctx.register_secret(&value, "planted-session-id");
    st.client(&p.client).jar.insert(cookie, value);
}

/// The protected request, with the client's cookies, a replayed snapshot, or the session id
/// moved into the URL; judged against the step's expectation.
async fn access(rc: &RuleCtx, st: &mut State, n: usize, a: &AccessStep) -> StepResult {
    let ctx = &rc.ctx;
    let cookie = ctx.session_cookie.clone();
    let replay = a
        .replay
        .as_ref()
        .map(|name| st.snapshots.get(name).cloned().unwrap_or_default());
    let label_base = format!(
        "step {n}: access ({}{})",
        a.client,
        a.replay
            .as_ref()
            .map(|r| format!(", replaying `{r}`"))
            .unwrap_or_default()
    );
    let names = match &a.via {
        Via::Cookie => {
            if let Some(j) = &replay
                && !j.contains_key(&cookie)
            {
                st.notes.push(format!(
                    "step {n}: the replayed snapshot holds no session id; nothing to replay"
                ));
                return Ok(None);
            }
            let mut t = std::mem::take(&mut st.transcript);
            let res = st
                .client(&a.client)
                .access(ctx, replay.as_ref(), &label_base, &mut t)
                .await;
            st.transcript = t;
            if let Some(v) = judge(a.expect, a.is_control(), res?, &label_base, &st.transcript) {
                return Ok(Some(v));
            }
            if !a.is_control() {
                st.probes_checked += 1;
            }
            return Ok(None);
        }
        Via::Query(names) | Via::PathParam(names) => names,
    };
    let jar = replay.unwrap_or_else(|| st.client(&a.client).jar.clone());
    let Some(id) = jar.get(&cookie).cloned() else {
        st.notes.push(format!(
            "step {n}: `{}` holds no session id to put in the URL",
            a.client
        ));
        return Ok(None);
    };
    let vars = st.client(&a.client).vars.clone();
    for name in names {
        let param = if name == "$cookie" { &cookie } else { name };
        let mut req = Browser::build(ctx, &session_access(ctx)?.request, &vars)?;
        let label = if matches!(a.via, Via::Query(_)) {
            req.url.query_pairs_mut().append_pair(param, &id);
            format!("{label_base}: session id in query parameter `{param}`, no cookie")
        } else {
            let path = format!("{};{}={}", req.url.path(), param, id);
            req.url.set_path(&path);
            format!("{label_base}: session id in path parameter `;{param}=`, no cookie")
        };
        let ex = Browser::send_with(ctx, req, None).await?;
        let outcome = match a.via {
            Via::PathParam(_) => in_path_param(classify(ctx, &ex), &ex),
            _ => classify(ctx, &ex),
        };
        st.transcript.push(Recorded {
            label: label.clone(),
            exchange: ex,
        });
        if let Some(v) = judge(a.expect, a.is_control(), outcome, &label, &st.transcript) {
            return Ok(Some(v));
        }
    }
    if !a.is_control() {
        st.probes_checked += 1;
    }
    Ok(None)
}

/// After login, the client must hold a session id other than the one saved before.
fn expect_session_id(
    rc: &RuleCtx,
    st: &mut State,
    n: usize,
    e: &ExpectSessionIdStep,
) -> Option<Stop> {
    let cookie = &rc.ctx.session_cookie;
    let before = st
        .snapshots
        .get(&e.differs_from)
        .and_then(|j| j.get(cookie))
        .cloned();
    let now = st.client(&e.client).jar.get(cookie).cloned();
    match (before, now) {
        (None, _) => st.notes.push(format!(
            "step {n}: no session id was saved as `{}`, so there was nothing for login to rotate",
            e.differs_from
        )),
        (Some(_), None) => {
            return Some(Stop::Control(format!(
                "`{}` holds no session id after login",
                e.client
            )));
        }
        (Some(b), Some(a)) if a == b => {
            return Some(Stop::Fail(
                format!(
                    "a session id different from the one saved as `{}`",
                    e.differs_from
                ),
                format!(
                    "after login `{}` still holds the session id saved as `{}` (the server kept or adopted it)",
                    e.client, e.differs_from
                ),
            ));
        }
        (Some(_), Some(_)) => st.probes_checked += 1,
    }
    None
}

fn judge(
    expect: Expect,
    control: bool,
    outcome: AccessOutcome,
    label: &str,
    transcript: &[Recorded],
) -> Option<Stop> {
    let ok = meets(expect, outcome);
    if ok {
        return None;
    }
    let status = transcript
        .last()
        .map(|r| r.exchange.response.status)
        .unwrap_or(0);
    let observed = format!("{label} was {} (status {status})", outcome.as_str());
    if outcome == AccessOutcome::Unexpected {
        return Some(Stop::Control(format!(
            "{observed}: the answer matches neither the profile's `allowed` nor its `denied`, so it proves nothing"
        )));
    }
    if control {
        Some(Stop::Control(format!("{observed}, expected {expect}")))
    } else {
        Some(Stop::Fail(format!("{label}: {expect}"), observed))
    }
}

/// The client's last flow (logout) must have sent a Set-Cookie that deletes the session
/// cookie exactly as it was set: same name, same Domain (or none), same Path, expired.
fn expect_cleared(rc: &RuleCtx, st: &mut State, n: usize, client: &str) -> Option<Stop> {
    let cookie = rc.ctx.session_cookie.clone();
    let now = now_unix();
    let b = st.client(client);
    let set_at_login = b
        .set_cookies
        .iter()
        .rfind(|(_, raw)| {
            let sc = parse_set_cookie_ref(raw);
            sc.name == cookie && !is_deletion(&sc, now)
        })
        .cloned();
    let Some((login_url, login_raw)) = set_at_login else {
        return Some(Stop::Control(format!(
            "`{client}` never received a `{cookie}` cookie"
        )));
    };
    let login = parse_set_cookie_ref(&login_raw).effective();
    let login_path = login
        .path
        .clone()
        .unwrap_or_else(|| crate::cookie::default_path(&login_url));
    let clearing: Vec<(url::Url, String)> = b.last_flow_set_cookies.clone();
    let candidates: Vec<_> = clearing
        .iter()
        .map(|(u, raw)| (u, parse_set_cookie_ref(raw)))
        .filter(|(_, sc)| sc.name == cookie)
        .collect();
    let redactor = rc.ctx.client.redactor();
    if candidates.is_empty() {
        return Some(Stop::Fail(
            format!("step {n}: the logout response expires `{cookie}`"),
            format!(
                "the logout response sent no Set-Cookie for `{cookie}`, so the browser keeps the cookie"
            ),
        ));
    }
    for (u, sc) in &candidates {
        let e = sc.effective();
        let path = e
            .path
            .clone()
            .unwrap_or_else(|| crate::cookie::default_path(u));
        if is_deletion(sc, now) && e.domain == login.domain && path == login_path {
            st.probes_checked += 1;
            return None;
        }
    }
    let shown: Vec<String> = candidates
        .iter()
        .map(|(_, sc)| redactor.redact(sc.raw))
        .collect();
    Some(Stop::Fail(
        format!(
            "step {n}: a Set-Cookie that expires `{cookie}` with Domain={} and Path={login_path}",
            login.domain.as_deref().unwrap_or("(none)")
        ),
        format!(
            "the logout response's Set-Cookie for `{cookie}` does not delete the stored cookie: {}",
            shown.join(" | ")
        ),
    ))
}
