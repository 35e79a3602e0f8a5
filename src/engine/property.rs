//! Kind `property`: generated cases probed concurrently; the first failing case is shrunk
//! sequentially (each shrink step is one live request) to a minimal counterexample.
//!
//! Positive controls surround the attack: the untampered session is accepted before the
//! cases are sent and again afterwards; if either control fails the rule is inconclusive.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::r#gen::{self as generate, MutatedId};
use crate::spec::{Expect, Generator, Property, Rule};

use super::browser::{AccessOutcome, Browser, Ctx, Jar, Recorded, classify};
use super::{Counterexample, RuleCtx, RuleResult, Status, evidence, step_error};

/// Most shrink steps (live requests) spent on one counterexample.
pub const MAX_SHRINK_STEPS: u32 = 128;

fn meets(expect: Expect, outcome: AccessOutcome) -> bool {
    match expect {
        Expect::Allowed => outcome == AccessOutcome::Allowed,
        Expect::Denied => outcome == AccessOutcome::Denied,
    }
}

/// Sends the protected request with `jar` whose session cookie holds `value`.
async fn probe(
    ctx: &Ctx,
    base: &Jar,
    vars: &crate::profile::Vars,
    value: &str,
) -> Result<(AccessOutcome, crate::http::Exchange), crate::http::HttpError> {
    let mut jar = base.clone();
    jar.insert(ctx.session_cookie.clone(), value.to_string());
    let req = Browser::build(ctx, &ctx.target.flows.access.request, vars).map_err(|e| {
        crate::http::HttpError {
            kind: crate::http::HttpErrorKind::InvalidRequest,
            url: String::new(),
            message: e.to_string(),
        }
    })?;
    let ex = Browser::send_with(ctx, req, Some(&jar)).await?;
    Ok((classify(ctx, &ex), ex))
}

pub(crate) async fn run(rc: &RuleCtx, rule: &Rule, p: &Property) -> RuleResult {
    let ctx = &rc.ctx;
    let mut transcript: Vec<Recorded> = Vec::new();
    let mut b = Browser::new(p.given.login.clone());
    if let Err(e) = b.login(ctx, &p.given.login, &mut transcript).await {
        return step_error(ctx, rule, e, &transcript);
    }
    match b
        .access(
            ctx,
            None,
            "positive control before the cases: the untampered session",
            &mut transcript,
        )
        .await
    {
        Ok(AccessOutcome::Allowed) => {}
        Ok(o) => {
            let mut r = RuleResult::new(rule, Status::Inconclusive).because(format!(
                "positive control failed: the untampered session was {} before the cases",
                o.as_str()
            ));
            r.evidence = super::evidence(ctx, &transcript);
            return r;
        }
        Err(e) => return step_error(ctx, rule, e, &transcript),
    }
    let original = b.session_id(ctx).unwrap_or_default().to_string();
    let Generator::SessionId(g) = &p.for_all;
    let strategy =
        generate::session_id_mutations(&original, &g.mutations, g.max_mutations as usize);
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&rc.seed.to_le_bytes());
    seed[8..16].copy_from_slice(&rc.seed.rotate_left(17).to_le_bytes());
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let mut trees = Vec::with_capacity(p.cases as usize);
    for _ in 0..p.cases {
        match strategy.new_tree(&mut runner) {
            Ok(t) => trees.push(t),
            Err(reason) => {
                return RuleResult::new(rule, Status::Error)
                    .because(format!("could not generate cases: {reason}"));
            }
        }
    }
    let values: Vec<MutatedId> = trees.iter().map(|t| t.current()).collect();
    // Probe every case concurrently (bounded).
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(rc.case_concurrency));
    let mut set = tokio::task::JoinSet::new();
    for (i, v) in values.iter().enumerate() {
        let ctx = ctx.clone();
        let jar = b.jar.clone();
        let vars = b.vars.clone();
        let value = v.value.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            (i, probe(&ctx, &jar, &vars, &value).await)
        });
    }
    let mut first_fail: Option<(usize, AccessOutcome, crate::http::Exchange)> = None;
    let mut unexpected: Option<(u32, u16)> = None;
    let mut http_error = None;
    while let Some(j) = set.join_next().await {
        let Ok((i, res)) = j else { continue };
        match res {
            Ok((outcome, ex)) => {
                if outcome == AccessOutcome::Unexpected {
                    let e = unexpected.get_or_insert((0, ex.response.status));
                    e.0 += 1;
                    continue;
                }
                if !meets(p.expect, outcome) && first_fail.as_ref().is_none_or(|(k, _, _)| i < *k) {
                    first_fail = Some((i, outcome, ex));
                }
            }
            Err(e) => {
                http_error.get_or_insert(e);
            }
        }
    }
    let mut requests = transcript.len() as u64 + u64::from(p.cases);
    if let Some(e) = http_error {
        let mut r =
            RuleResult::new(rule, Status::Error).because(format!("a case could not be sent: {e}"));
        r.requests = requests;
        return r;
    }
    // Positive control after the cases.
    match b
        .access(
            ctx,
            None,
            "positive control after the cases: the untampered session",
            &mut transcript,
        )
        .await
    {
        Ok(AccessOutcome::Allowed) => {}
        Ok(o) if first_fail.is_none() => {
            let mut r = RuleResult::new(rule, Status::Inconclusive).because(format!(
                "positive control failed: the untampered session was {} after the cases (the service may end sessions under attack; refusals prove nothing)",
                o.as_str()
            ));
            r.evidence = evidence(ctx, &transcript);
            r.requests = requests + 1;
            return r;
        }
        Ok(_) => {}
        Err(e) => return step_error(ctx, rule, e, &transcript),
    }
    requests += 1;
    if let (None, Some((n, status))) = (&first_fail, unexpected) {
        let mut r = RuleResult::new(rule, Status::Inconclusive).because(format!(
            "{n} of {} cases answered neither allowed nor denied (e.g. status {status}); refine the profile's classifiers",
            p.cases
        ));
        r.requests = requests;
        return r;
    }
    let Some((index, mut outcome, mut exchange)) = first_fail else {
        let mut r = RuleResult::new(rule, Status::Pass);
        r.notes.push(format!(
            "{} mutated session ids ({}) were all {}; the untampered session was allowed before and after",
            p.cases,
            g.mutations.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", "),
            p.expect
        ));
        r.requests = requests;
        return r;
    };
    // Shrink sequentially.
    let mut tree = trees.swap_remove(index);
    let mut best = tree.current();
    let mut steps = 0u32;
    if tree.simplify() {
        while steps < MAX_SHRINK_STEPS {
            steps += 1;
            let candidate = tree.current();
            let res = probe(ctx, &b.jar, &b.vars, &candidate.value).await;
            requests += 1;
            match res {
                Ok((o, ex)) if !meets(p.expect, o) && o != AccessOutcome::Unexpected => {
                    best = candidate;
                    outcome = o;
                    exchange = ex;
                    if !tree.simplify() {
                        break;
                    }
                }
                Ok(_) => {
                    if !tree.complicate() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
    ctx.register_secret(&best.value, "mutated-session-id");
    let input: Vec<String> = {
        let mut current = original.clone();
        best.mutations
            .iter()
            .map(|m| {
                let d = m.describe(&current);
                current = generate::apply(&current, std::slice::from_ref(m));
                d
            })
            .collect()
    };
    let observed = format!(
        "a session id altered by {} was {} (status {})",
        input.join(", then "),
        outcome.as_str(),
        exchange.response.status
    );
    let mut r = RuleResult::new(rule, Status::Fail).because(observed.clone());
    r.expected = Some(format!("every altered session id {}", p.expect));
    r.observed = Some(observed.clone());
    let mut ev = evidence(ctx, &transcript);
    ev.push(super::Evidence::new(
        "the minimal counterexample: the protected request with the altered session id",
        &exchange,
        ctx.client.redactor(),
    ));
    r.evidence = ev;
    r.counterexample = Some(Counterexample {
        seed: rc.run_seed,
        case: index as u32 + 1,
        shrink_steps: steps,
        input,
        observed: format!("{} (status {})", outcome.as_str(), exchange.response.status),
    });
    r.requests = requests;
    r
}
