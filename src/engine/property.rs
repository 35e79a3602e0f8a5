//! Kind `property`: generated cases (mutated session ids or tokens, malformed tokens) probed
//! concurrently through the controlled probe; the first failing case is shrunk sequentially
//! (each shrink step is one live request) to a minimal counterexample, which is re-sent to
//! confirm the failure ([`confirm`]).
//!
//! Each case is drawn from its own runner, seeded by the rule's seed and the case's number,
//! and the strategy draws from the id's shape only, so the same seed gives the same cases
//! against any id of that shape; the notes carry a fingerprint of the case list to compare
//! runs by.

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::http::{Exchange, HttpError, HttpErrorKind};
use crate::profile::Vars;
use crate::spec::{Generator, Property};
use crate::strategy::{self as generate, MutatedId};

use super::browser::{AccessOutcome, Browser, Ctx, Jar, classify, classify_with, meets};
use super::browser::{StepError, session_access, token_channel};
use super::outcome::{Counterexample, Evidence, Finding, Outcome, RuleError, Verdict};
use super::probe::{Cases, Controls, Phase, Recheck, confirm, controlled};
use super::rule::{RuleCtx, step_verdict};

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

impl Subject {
    fn word(self) -> &'static str {
        match self {
            Subject::Session => "session",
            Subject::Token => "token",
        }
    }
}

/// The first failing case: its index, and what the service answered.
struct FirstFailure {
    index: usize,
    outcome: AccessOutcome,
    exchange: Exchange,
}

/// Sends the protected request with `value` in place of the session id or the token.
async fn probe(
    ctx: &Ctx,
    subject: Subject,
    base: &Jar,
    vars: &Vars,
    value: &str,
) -> Result<(AccessOutcome, Exchange), HttpError> {
    let invalid = |e: StepError| HttpError {
        kind: HttpErrorKind::InvalidRequest,
        url: String::new(),
        message: e.to_string(),
    };
    match subject {
        Subject::Session => {
            let mut jar = base.clone();
            jar.insert(ctx.session_cookie.clone(), value.to_string());
            let access = session_access(ctx).map_err(invalid)?;
            let req = Browser::build(ctx, &access.request, vars).map_err(invalid)?;
            let ex = Browser::send_with(ctx, req, Some(&jar)).await?;
            Ok((classify(ctx, &ex), ex))
        }
        Subject::Token => {
            let (access, var) = token_channel(ctx).map_err(invalid)?;
            let mut vars = vars.clone();
            vars.insert(var.to_string(), value.to_string());
            let req = Browser::build(ctx, &access.request, &vars).map_err(invalid)?;
            let ex = Browser::send_with(ctx, req, Some(base)).await?;
            Ok((classify_with(access, &ex), ex))
        }
    }
}

/// Logs in as the property's user and returns the untampered credential.
async fn login(
    ctx: &Ctx,
    subject: Subject,
    b: &mut Browser,
    user: &str,
    transcript: &mut Vec<super::browser::Recorded>,
) -> Result<String, StepError> {
    match subject {
        // The cases tamper with copies; the genuine credential stays alive, so the run's
        // shared one will do.
        Subject::Session => {
            b.shared_login(ctx, user, transcript).await?;
            Ok(b.session_id(ctx).unwrap_or_default().to_string())
        }
        Subject::Token => b.shared_token_login(ctx, user, transcript).await,
    }
}

/// The cases: one value tree per case, from a runner seeded by the rule's seed.
fn trees(
    rc: &RuleCtx,
    p: &Property,
    original: &str,
) -> Result<Vec<Box<dyn ValueTree<Value = MutatedId>>>, Verdict> {
    let strategy: BoxedStrategy<MutatedId> = match &p.for_all {
        Generator::SessionId(g) | Generator::Token(g) => {
            generate::session_id_mutations(original, &g.mutations, g.max_mutations as usize)
        }
        Generator::MalformedToken(m) => {
            generate::malformed_tokens(m.max_len.unwrap_or(4096) as usize)
                .prop_map(MutatedId::unmutated)
                .boxed()
        }
    };
    (0..p.cases)
        .map(|case| strategy.new_tree(&mut case_runner(rc.seed, case)))
        .collect::<Result<_, _>>()
        .map_err(|reason| {
            Verdict::error(RuleError::Tooling(format!(
                "could not generate cases: {reason}"
            )))
        })
}

/// The runner case number `case` is drawn from: seeded by the rule's seed and the case's
/// number alone, so a case whose draw had to be repeated cannot shift the others.
fn case_runner(seed: u64, case: u32) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&seed.rotate_left(17).to_le_bytes());
    bytes[16..20].copy_from_slice(&case.to_le_bytes());
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// A fingerprint of the case list (FNV-1a over each case's masked pattern, or the value of
/// a case that is not derived from the live credential): the same seed against any id of
/// one shape gives the same fingerprint.
fn fingerprint(cases: &[MutatedId]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for case in cases {
        let text = if case.mutations.is_empty() {
            case.value.clone()
        } else {
            case.pattern()
        };
        for b in text.bytes().chain(std::iter::once(b'\n')) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Probes every case concurrently (bounded); the lowest-numbered failure is kept, one that
/// was not a server error first (a server error may be a transient fault, and would hide an
/// accepted case behind it).
async fn probe_all(
    rc: &RuleCtx,
    p: &Property,
    subject: Subject,
    b: &Browser,
    values: Vec<String>,
) -> Result<Cases<FirstFailure>, Verdict> {
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(rc.case_concurrency));
    let mut set = tokio::task::JoinSet::new();
    for (i, value) in values.into_iter().enumerate() {
        let (ctx, jar, vars, sem) = (rc.ctx.clone(), b.jar.clone(), b.vars.clone(), sem.clone());
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            (i, probe(&ctx, subject, &jar, &vars, &value).await)
        });
    }
    let mut first: Option<FirstFailure> = None;
    let mut unexpected: Option<(u32, u16)> = None;
    let mut http_error = None;
    while let Some(j) = set.join_next().await {
        let Ok((index, res)) = j else { continue };
        match res {
            Ok((AccessOutcome::Unexpected, ex)) => {
                unexpected.get_or_insert((0, ex.response.status)).0 += 1;
            }
            Ok((outcome, exchange)) => {
                let key = |o: AccessOutcome, i: usize| (o == AccessOutcome::ServerError, i);
                if !meets(p.expect, outcome)
                    && first
                        .as_ref()
                        .is_none_or(|f| key(outcome, index) < key(f.outcome, f.index))
                {
                    first = Some(FirstFailure {
                        index,
                        outcome,
                        exchange,
                    });
                }
            }
            Err(e) => {
                http_error.get_or_insert(e);
            }
        }
    }
    if let Some(error) = http_error {
        return Err(Verdict::error(RuleError::Http {
            context: Some("a case could not be sent".into()),
            error: Box::new(error),
        }));
    }
    Ok(Cases {
        failures: first.into_iter().collect(),
        unclassified: unexpected.map(|(n, status)| {
            format!(
                "{n} of {} cases answered neither allowed nor denied (e.g. status {status}); refine the profile's classifiers",
                p.cases
            )
        }),
    })
}

/// Runs a `property` rule: as many of its cases as its share of the run's budget grants
/// (all of them without a budget), saying how many of how many under a budget.
pub(crate) async fn run(rc: &RuleCtx, p: &Property) -> Verdict {
    let Some(share) = rc.share else {
        return run_cases(rc, p).await;
    };
    let granted = share.coverage.ran.min(p.cases);
    let sized = Property {
        cases: granted,
        ..p.clone()
    };
    let coverage = share.ran(granted);
    run_cases(rc, &sized)
        .await
        .note(coverage.note(share.budget))
        .coverage(coverage)
}

/// Runs a `property` rule with `p.cases` cases.
async fn run_cases(rc: &RuleCtx, p: &Property) -> Verdict {
    let ctx = &rc.ctx;
    let mut transcript = Vec::new();
    let subject = match p.for_all {
        Generator::SessionId(_) => Subject::Session,
        Generator::Token(_) | Generator::MalformedToken(_) => Subject::Token,
    };
    let what = subject.word();
    let mut b = Browser::new(p.given.login.clone());
    let original = match login(ctx, subject, &mut b, &p.given.login, &mut transcript).await {
        Ok(o) => o,
        Err(e) => return step_verdict(rc, e, &transcript),
    };
    let mut trees = match trees(rc, p, &original) {
        Ok(t) => t,
        Err(v) => return v,
    };
    let generated: Vec<MutatedId> = trees.iter().map(|t| t.current()).collect();
    let cases_note = format!(
        "case list fingerprint {} (operators and positions of the {} cases; the same seed gives the same cases against any {what} of this shape)",
        fingerprint(&generated),
        p.cases
    );
    let values: Vec<String> = generated.into_iter().map(|c| c.value).collect();
    let subject_words = format!("the untampered {what}");
    let names = Controls {
        subject: &subject_words,
        cases: "the cases",
    };
    let cases_browser = b.clone();
    let found = controlled(
        rc,
        names,
        &mut transcript,
        async |_: Phase, label: &str, t: &mut Vec<super::browser::Recorded>| match subject {
            Subject::Session => b.access(ctx, None, label, t).await,
            Subject::Token => b.token_use(ctx, &original, label, t).await,
        },
        async |_| probe_all(rc, p, subject, &cases_browser, values).await,
    )
    .await;
    let requests = transcript.len() as u64 + u64::from(p.cases);
    let mut found = match found {
        Ok(found) => found,
        Err(v) => return Verdict { requests, ..v }.note(cases_note),
    };
    let Some(first) = found.failures.pop() else {
        return Verdict::pass(pass_note(p, what))
            .note(cases_note)
            .requests(requests);
    };
    let expected = first.outcome;
    let tree = trees.swap_remove(first.index);
    let (verdict, best) = shrink(rc, p, subject, &b, &original, (tree, first), &transcript).await;
    let verdict = Verdict {
        requests: requests + verdict.requests,
        ..verdict
    };
    let confirmed = resend(rc, p, subject, &b, (verdict, &best), expected).await;
    confirmed.note(cases_note)
}

/// Confirms a failure by re-sending its minimal value: answered as the failure was, it
/// stands; answered as the rule expects, the rule is inconclusive ([`confirm`]).
async fn resend(
    rc: &RuleCtx,
    p: &Property,
    subject: Subject,
    b: &Browser,
    (verdict, best): (Verdict, &str),
    failed_as: AccessOutcome,
) -> Verdict {
    let (ctx, jar, vars) = (&rc.ctx, &b.jar, &b.vars);
    let what = "re-sent the minimal counterexample";
    confirm(rc, verdict, what, async |t| {
        match probe(ctx, subject, jar, vars, best).await {
            Ok((o, ex)) => {
                let seen = format!("{} (status {})", o.as_str(), ex.response.status);
                t.push(super::browser::Recorded {
                    label: "the minimal counterexample, re-sent".into(),
                    exchange: ex,
                });
                if o == failed_as {
                    Recheck::Failed(seen)
                } else if meets(p.expect, o) {
                    Recheck::Passed(seen)
                } else {
                    Recheck::Unclear(format!("answered {seen}, not as the failure did"))
                }
            }
            Err(e) => Recheck::Unclear(format!("could not be sent: {e}")),
        }
    })
    .await
}

fn pass_note(p: &Property, what: &str) -> String {
    let cases = match &p.for_all {
        Generator::SessionId(g) | Generator::Token(g) => format!(
            "mutated {what}s ({})",
            g.mutations
                .iter()
                .map(|m| serde_json::to_value(m)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Generator::MalformedToken(_) => "malformed tokens".to_string(),
    };
    format!(
        "{} {cases} were all {}; the untampered {what} was allowed before and after",
        p.cases, p.expect
    )
}

/// Shrinks the first failing case (one live request per step) and writes the failure with
/// its counterexample; `requests` of the verdict counts the shrink requests only. A
/// candidate counts as failing only when it is answered as the first failure was (an
/// accepted case does not shrink into a server error, which may be a transient fault).
/// Returns the verdict and the minimal value.
async fn shrink(
    rc: &RuleCtx,
    p: &Property,
    subject: Subject,
    b: &Browser,
    original: &str,
    (mut tree, first): (Box<dyn ValueTree<Value = MutatedId>>, FirstFailure),
    transcript: &[super::browser::Recorded],
) -> (Verdict, String) {
    let ctx = &rc.ctx;
    let FirstFailure {
        index,
        mut outcome,
        mut exchange,
    } = first;
    let first_outcome = outcome;
    let mut best = tree.current();
    let mut steps = 0u32;
    if tree.simplify() {
        while steps < MAX_SHRINK_STEPS {
            steps += 1;
            let candidate = tree.current();
            match probe(ctx, subject, &b.jar, &b.vars, &candidate.value).await {
                Ok((o, ex)) if o == first_outcome => {
                    (best, outcome, exchange) = (candidate, o, ex);
                    if !tree.simplify() {
                        break;
                    }
                }
                Ok(_) if tree.complicate() => {}
                _ => break,
            }
        }
    }
    let what = subject.word();
    let input = describe_input(ctx, &best, original, what);
    let subject_text = if best.mutations.is_empty() {
        input.join("")
    } else {
        format!("a {what} altered by {}", input.join(", then "))
    };
    let answered = format!("{} (status {})", outcome.as_str(), exchange.response.status);
    let observed = format!("{subject_text} was {answered}");
    let mut evidence = rc.evidence(transcript);
    evidence.push(Evidence::new(
        "the minimal counterexample",
        &exchange,
        ctx.client.redactor(),
    ));
    let diff = if subject == Subject::Token && !best.mutations.is_empty() {
        super::jwt::token_diff(original, &best.value)
    } else {
        Vec::new()
    };
    let verdict = Verdict::new(Outcome::Fail(Box::new(Finding {
        reason: observed.clone(),
        expected: format!("every generated {what} {}", p.expect),
        observed,
        counterexample: Some(Counterexample {
            seed: rc.run_seed,
            case: index as u32 + 1,
            shrink_steps: steps,
            input,
            observed: answered,
            steps: Vec::new(),
            replay_script: None,
        }),
        details: None,
    })))
    .evidence(evidence)
    .notes(diff.into_iter().map(|l| format!("decoded difference: {l}")))
    .requests(u64::from(steps));
    (verdict, best.value)
}

/// The minimal input in words: the mutations applied one after the other, or the malformed
/// token itself (cut to 80 characters).
fn describe_input(ctx: &Ctx, best: &MutatedId, original: &str, what: &str) -> Vec<String> {
    if best.mutations.is_empty() {
        let shown: String = best.value.chars().take(80).collect();
        let more = best.value.chars().count().saturating_sub(80);
        return vec![if more > 0 {
            format!("the malformed token {shown:?}… ({more} more characters)")
        } else {
            format!("the malformed token {shown:?}")
        }];
    }
    ctx.register_secret(&best.value, &format!("mutated-{what}"));
    best.describe_each(original)
}
