//! Kind `property`: generated cases probed concurrently; the first failing case is shrunk
//! sequentially (each shrink step is one live request) to a minimal counterexample.
//!
//! Positive controls surround the attack: the untampered session is accepted before the
//! cases are sent and again afterwards; if either control fails the rule is inconclusive.

use super::browser::{StepError, meets};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::spec::{Generator, Property, Rule};
use crate::strategy::{self as generate, MutatedId};

use super::browser::{AccessOutcome, Browser, Ctx, Jar, Recorded, classify};
use super::{Counterexample, RuleCtx, RuleResult, Status, evidence, step_error};

/// Most shrink steps (live requests) spent on one counterexample.
pub const MAX_SHRINK_STEPS: u32 = 128;

/// What the generated values replace.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// The session cookie's value.
    Session,
    /// The access token.
    Token,
}

/// Sends the protected request with `value` in place of the session id or the token.
async fn probe(
    ctx: &Ctx,
    subject: Subject,
    base: &Jar,
    vars: &crate::profile::Vars,
    value: &str,
) -> Result<(AccessOutcome, crate::http::Exchange), crate::http::HttpError> {
    let invalid = |e: StepError| crate::http::HttpError {
        kind: crate::http::HttpErrorKind::InvalidRequest,
        url: String::new(),
        message: e.to_string(),
    };
    match subject {
        Subject::Session => {
            let mut jar = base.clone();
            jar.insert(ctx.session_cookie.clone(), value.to_string());
            let req = Browser::build(
                ctx,
                &super::browser::session_access(ctx)
                    .map_err(invalid)?
                    .request,
                vars,
            )
            .map_err(invalid)?;
            let ex = Browser::send_with(ctx, req, Some(&jar)).await?;
            Ok((classify(ctx, &ex), ex))
        }
        Subject::Token => {
            let Some(t) = ctx.target.token.as_ref() else {
                return Err(invalid(StepError::Flow(
                    "the profile has no `token` section".into(),
                )));
            };
            let mut vars = vars.clone();
            vars.insert(t.from.clone(), value.to_string());
            let req = Browser::build(ctx, &t.access.request, &vars).map_err(invalid)?;
            let ex = Browser::send_with(ctx, req, Some(base)).await?;
            Ok((super::token::classify_token(ctx, &ex), ex))
        }
    }
}

/// Logs in and checks the untampered credential is accepted; returns it.
async fn control(
    ctx: &Ctx,
    subject: Subject,
    b: &mut Browser,
    user: &str,
    label: &str,
    login: bool,
    transcript: &mut Vec<Recorded>,
) -> Result<(String, AccessOutcome), StepError> {
    match subject {
        Subject::Session => {
            if login {
                b.login(ctx, user, transcript).await?;
            }
            let o = b.access(ctx, None, label, transcript).await?;
            Ok((b.session_id(ctx).unwrap_or_default().to_string(), o))
        }
        Subject::Token => {
            let token = match ctx.target.token.as_ref().and_then(|t| b.vars.get(&t.from)) {
                Some(t) if !login => t.clone(),
                _ => b.token_login(ctx, user, transcript).await?,
            };
            let o = b.token_access(ctx, &token, None, label, transcript).await?;
            Ok((
                token,
                o.first().copied().unwrap_or(AccessOutcome::Unexpected),
            ))
        }
    }
}

pub(crate) async fn run(rc: &RuleCtx, rule: &Rule, p: &Property) -> RuleResult {
    let ctx = &rc.ctx;
    let mut transcript: Vec<Recorded> = Vec::new();
    let subject = match p.for_all {
        Generator::SessionId(_) => Subject::Session,
        Generator::Token(_) | Generator::MalformedToken(_) => Subject::Token,
    };
    let what = if subject == Subject::Session {
        "session"
    } else {
        "token"
    };
    let mut b = Browser::new(p.given.login.clone());
    let original = match control(
        ctx,
        subject,
        &mut b,
        &p.given.login,
        &format!("positive control before the cases: the untampered {what}"),
        true,
        &mut transcript,
    )
    .await
    {
        Ok((orig, AccessOutcome::Allowed)) => orig,
        Ok((_, o)) => {
            let mut r = RuleResult::new(rule, Status::Inconclusive).because(format!(
                "positive control failed: the untampered {what} was {} before the cases",
                o.as_str()
            ));
            r.evidence = super::evidence(ctx, &transcript);
            return r;
        }
        Err(e) => return step_error(ctx, rule, e, &transcript),
    };
    let strategy: proptest::strategy::BoxedStrategy<MutatedId> = match &p.for_all {
        Generator::SessionId(g) | Generator::Token(g) => {
            generate::session_id_mutations(&original, &g.mutations, g.max_mutations as usize)
        }
        Generator::MalformedToken(m) => {
            generate::malformed_tokens(m.max_len.unwrap_or(4096) as usize)
                .prop_map(|value| MutatedId {
                    mutations: Vec::new(),
                    value,
                })
                .boxed()
        }
    };
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
            (i, probe(&ctx, subject, &jar, &vars, &value).await)
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
    match control(
        ctx,
        subject,
        &mut b,
        &p.given.login,
        &format!("positive control after the cases: the untampered {what}"),
        false,
        &mut transcript,
    )
    .await
    .map(|(_, o)| o)
    {
        Ok(AccessOutcome::Allowed) => {}
        Ok(o) if first_fail.is_none() => {
            let mut r = RuleResult::new(rule, Status::Inconclusive).because(format!(
                "positive control failed: the untampered {what} was {} after the cases (the service may end sessions under attack; refusals prove nothing)",
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
        let cases = match &p.for_all {
            Generator::SessionId(g) | Generator::Token(g) => format!(
                "mutated {what}s ({})",
                g.mutations
                    .iter()
                    .map(|m| format!("{m:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Generator::MalformedToken(_) => "malformed tokens".to_string(),
        };
        r.notes.push(format!(
            "{} {cases} were all {}; the untampered {what} was allowed before and after",
            p.cases, p.expect
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
            let res = probe(ctx, subject, &b.jar, &b.vars, &candidate.value).await;
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
    let input: Vec<String> = if best.mutations.is_empty() {
        let shown: String = best.value.chars().take(80).collect();
        let more = best.value.chars().count().saturating_sub(80);
        vec![if more > 0 {
            format!("the malformed token {shown:?}… ({more} more characters)")
        } else {
            format!("the malformed token {shown:?}")
        }]
    } else {
        ctx.register_secret(&best.value, &format!("mutated-{what}"));
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
    let subject_text = if best.mutations.is_empty() {
        input.join("")
    } else {
        format!("a {what} altered by {}", input.join(", then "))
    };
    let observed = format!(
        "{subject_text} was {} (status {})",
        outcome.as_str(),
        exchange.response.status
    );
    let mut r = RuleResult::new(rule, Status::Fail).because(observed.clone());
    r.expected = Some(format!("every generated {what} {}", p.expect));
    r.observed = Some(observed.clone());
    let mut ev = evidence(ctx, &transcript);
    ev.push(super::Evidence::new(
        "the minimal counterexample",
        &exchange,
        ctx.client.redactor(),
    ));
    r.evidence = ev;
    if subject == Subject::Token && !best.mutations.is_empty() {
        for line in super::token::token_diff(&original, &best.value) {
            r.notes.push(format!("decoded difference: {line}"));
        }
    }
    r.counterexample = Some(Box::new(Counterexample {
        seed: rc.run_seed,
        case: index as u32 + 1,
        shrink_steps: steps,
        input,
        observed: format!("{} (status {})", outcome.as_str(), exchange.response.status),
        steps: Vec::new(),
        replay_script: None,
    }));
    r.requests = requests;
    r
}
