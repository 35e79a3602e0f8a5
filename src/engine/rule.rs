//! One rule's run: the context every rule kind reads ([`RuleCtx`]), the dispatch from a rule's
//! kind to the file that runs it, and the verdicts shared by every kind (a step that could not
//! complete, evidence from a transcript).

use std::time::Instant;

use crate::spec::{Check, Policy, Rule, RuleKind, SessionIdAssertion};

use super::browser::{Ctx, FlowError, Recorded, StepError};
use super::idtoken::{self, IdPart};
use super::outcome::{Evidence, Inconclusive, RuleError, RuleResult, Verdict};
use super::preflight::Baseline;
use super::{attack, cookie, jwt, model, property, replicas, scenario, session, token, transport};

/// Everything a rule needs.
pub(crate) struct RuleCtx {
    /// The run's shared context (target, client, session cookie name).
    pub ctx: Ctx,
    /// What the preflight login produced.
    pub baseline: Baseline,
    /// The policy values (catalogue defaults overridden by the profile).
    pub policy: Policy,
    /// This rule's seed (derived from the run's seed and the rule id).
    pub seed: u64,
    /// The run's seed (what `--seed` replays).
    pub run_seed: u64,
    /// Most generated cases in flight at once.
    pub case_concurrency: usize,
    /// The rule's share of the run's budget, when one is in force and the rule has generated
    /// work ([`super::budget`]).
    pub share: Option<super::budget::Share>,
}

impl RuleCtx {
    /// The same rule's context with no shared login: every login is sent.
    pub(crate) fn fresh(&self) -> RuleCtx {
        RuleCtx {
            ctx: super::browser::Ctx {
                share: false,
                took: Default::default(),
                ..self.ctx.clone()
            },
            baseline: self.baseline.clone(),
            policy: self.policy.clone(),
            seed: self.seed,
            run_seed: self.run_seed,
            case_concurrency: self.case_concurrency,
            share: self.share,
        }
    }

    /// Turns recorded exchanges into redacted evidence.
    pub(crate) fn evidence(&self, transcript: &[Recorded]) -> Vec<Evidence> {
        evidence(&self.ctx, transcript)
    }
}

/// Turns recorded exchanges into redacted evidence.
pub(crate) fn evidence(ctx: &Ctx, transcript: &[Recorded]) -> Vec<Evidence> {
    transcript
        .iter()
        .map(|r| Evidence::new(r.label.clone(), &r.exchange, ctx.client.redactor()))
        .collect()
}

/// The verdict for a step that could not complete: a request failure is an error; a flow
/// that did not behave as the profile describes makes the rule inconclusive.
pub(crate) fn step_verdict(rc: &RuleCtx, e: StepError, transcript: &[Recorded]) -> Verdict {
    step_verdict_in(rc, e, transcript, None)
}

/// As [`step_verdict`], for the numbered step of a scenario.
pub(crate) fn step_verdict_in(
    rc: &RuleCtx,
    e: StepError,
    transcript: &[Recorded],
    step: Option<usize>,
) -> Verdict {
    let outcome = match e {
        StepError::Http(error) => RuleError::Http {
            context: step.map(|n| format!("step {n}")),
            error: Box::new(error),
        }
        .into(),
        StepError::Flow(f) => match step {
            None => Inconclusive::Setup(f.to_string()).into(),
            Some(n) => Inconclusive::Setup(in_step(n, &f.to_string())).into(),
        },
    };
    Verdict::new(outcome)
        .evidence(rc.evidence(transcript))
        .requests(transcript.len() as u64)
}

/// `text` prefixed with `step n: `, unless it already names its step (access labels do:
/// "step 5: step 5: access …" was issue 13).
pub(crate) fn in_step(n: usize, text: &str) -> String {
    if text.starts_with(&format!("step {n}:")) {
        text.to_string()
    } else {
        format!("step {n}: {text}")
    }
}

impl From<RuleError> for super::outcome::Outcome {
    fn from(e: RuleError) -> Self {
        super::outcome::Outcome::Error(e)
    }
}

impl From<Inconclusive> for super::outcome::Outcome {
    fn from(i: Inconclusive) -> Self {
        super::outcome::Outcome::Inconclusive(i)
    }
}

impl From<FlowError> for Inconclusive {
    fn from(f: FlowError) -> Self {
        Inconclusive::Setup(f.to_string())
    }
}

/// Runs one rule, on the ID token too when the login returned one and the rule judges it
/// (see `idtoken`).
pub(crate) async fn run_rule(rc: &RuleCtx, rule: &Rule) -> RuleResult {
    let started = Instant::now();
    let verdict = match idtoken::id_part(&rc.ctx, &rc.baseline, rule) {
        IdPart::None => run_kind(rc, rule).await,
        IdPart::Skip(why) => {
            idtoken::combine(run_kind(rc, rule).await, Verdict::not_applicable(why))
        }
        IdPart::Run(ctx) => {
            let access = run_kind(rc, rule).await;
            let id = RuleCtx {
                ctx: *ctx,
                baseline: rc.baseline.clone(),
                policy: rc.policy.clone(),
                ..*rc
            };
            idtoken::combine(access, run_kind(&id, rule).await)
        }
    };
    // The revocations it lists, replayed on the profile's replicas (after a pass).
    let verdict = replicas::after(rc, rule, verdict).await;
    let mut r = RuleResult::new(rule, verdict);
    // Requests the client sent a second time count too (the kinds count exchanges).
    r.requests += rc.ctx.client.take_retries();
    r.duration_ms = started.elapsed().as_millis() as u64;
    r
}

/// Runs one rule's kind: the closed set of kinds, one match arm each.
async fn run_kind(rc: &RuleCtx, rule: &Rule) -> Verdict {
    match &rule.kind {
        RuleKind::Check(Check::Cookie(a)) => cookie::run(rc, *a).await,
        RuleKind::Check(Check::SessionId(SessionIdAssertion::Opaque)) => session::opaque(rc).await,
        RuleKind::Check(Check::SessionId(SessionIdAssertion::Entropy)) => {
            session::entropy(rc).await
        }
        RuleKind::Check(Check::Jwt(a)) => jwt::run(rc, *a).await,
        RuleKind::Check(Check::Token(a)) => token::run(rc, *a).await,
        RuleKind::Check(Check::Transport(a)) => transport::run(rc, *a).await,
        RuleKind::Scenario(steps) => scenario::run(rc, steps).await,
        RuleKind::Property(p) => property::run(rc, p).await,
        RuleKind::Attack(a) => attack::run(rc, a).await,
        RuleKind::Model(m) => model::run(rc, rule, m).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scenario's access labels already name their step; the verdict once read
    /// "step 5: step 5: access …" (issue 13).
    #[test]
    fn a_step_is_named_once() {
        assert_eq!(
            in_step(5, "step 5: access (alice)"),
            "step 5: access (alice)"
        );
        assert_eq!(
            in_step(5, "login answered 500"),
            "step 5: login answered 500"
        );
        assert_eq!(in_step(1, "step 12: x"), "step 1: step 12: x");
    }
}
