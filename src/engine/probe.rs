//! The controlled probe: every negative probe of the engine goes through [`controlled`].
//!
//! A refusal proves something only when the genuine credential is accepted, so a probe is
//! always: a positive control (the genuine credential or action works), the cases (tampered,
//! forged or moved credentials), a positive control again (the service did not end the
//! session or revoke the token under attack), then the verdict. A case the service accepted
//! is a failure whatever the control after says; otherwise a failed control or an answer
//! that matched neither classifier makes the rule inconclusive, never passed.
//!
//! A failure is reported only when it reproduces: [`confirm`] runs the failing case once
//! more (each kind says what that is: the shrunk value re-sent, the accepted request
//! re-sent, the sequence or the scenario re-run from scratch) and turns a failure that does
//! not reproduce into [`Inconclusive::NotReproduced`], with both observations and both
//! transcripts.
//!
//! This file owns that order, the confirmation, and the inconclusive verdicts they produce;
//! what a case is and how a failure reads belong to the rule kinds that call it.

use super::browser::{AccessOutcome, Recorded, StepError};
use super::outcome::{Evidence, Inconclusive, Outcome, Verdict};
use super::rule::{RuleCtx, step_verdict};

/// Most runs [`confirm`] spends re-running a failing case whose re-run proves nothing (a
/// transport error, a server error where the failure was not one).
pub(crate) const MAX_CONFIRM_RUNS: usize = 3;

/// What one re-run of a failing case showed.
#[derive(Debug, Clone)]
pub(crate) enum Recheck {
    /// The case failed again as it did (what was seen, e.g. `allowed (status 200)`).
    Failed(String),
    /// The case met the rule's expectation (what was seen).
    Passed(String),
    /// The re-run proves nothing either way (why); it is tried again.
    Unclear(String),
}

impl Recheck {
    /// A re-run that could not complete proves nothing.
    pub(crate) fn from_step_error(e: &StepError) -> Recheck {
        Recheck::Unclear(format!("could not be completed: {e}"))
    }
}

/// Confirms a failure: re-runs its case (`rerun`, which records what it sends) until one run
/// says something (at most [`MAX_CONFIRM_RUNS`] runs). A case that fails again keeps the
/// failure, with a note saying how it was confirmed (`what`, e.g. `re-sent the minimal
/// counterexample`); otherwise the rule is inconclusive ([`Inconclusive::NotReproduced`])
/// with both observations, the failure's evidence and the re-runs' transcripts. Requests of
/// the re-runs are added to the verdict's. Anything but a failure is returned unchanged.
pub(crate) async fn confirm(
    rc: &RuleCtx,
    failure: Verdict,
    what: &str,
    mut rerun: impl AsyncFnMut(&mut Vec<Recorded>) -> Recheck,
) -> Verdict {
    let Verdict {
        outcome: Outcome::Fail(first),
        evidence,
        notes,
        requests,
        coverage,
        ..
    } = failure
    else {
        return failure;
    };
    let mut transcript = Vec::new();
    let mut unclear = Vec::new();
    let mut last = Recheck::Unclear("not re-run".into());
    for _ in 0..MAX_CONFIRM_RUNS {
        last = rerun(&mut transcript).await;
        match &last {
            Recheck::Unclear(why) => unclear.push(why.clone()),
            _ => break,
        }
    }
    let requests = requests + transcript.len() as u64;
    let retried = (!unclear.is_empty()).then(|| {
        format!(
            "{} re-run(s) proved nothing and were run again: {}",
            unclear.len(),
            unclear.join("; ")
        )
    });
    let (rerun_words, how) = match last {
        Recheck::Failed(seen) => {
            return Verdict {
                outcome: Outcome::Fail(first),
                tokens: Box::default(),
                evidence,
                notes,
                requests,
                coverage,
            }
            .note(format!("confirmed: {what}, and it failed again: {seen}"))
            .notes(retried);
        }
        Recheck::Passed(seen) => (seen, "passed on re-run"),
        Recheck::Unclear(why) => (why, "could not be confirmed"),
    };
    let mut evidence = evidence;
    evidence.extend(rc.evidence(&transcript).into_iter().map(|e| Evidence {
        step: format!("re-run: {}", e.step),
        ..e
    }));
    let note = format!(
        "failed once, {how} ({what}): first {}; re-run: {rerun_words}",
        first.reason
    );
    Verdict::inconclusive(Inconclusive::NotReproduced {
        first,
        rerun: rerun_words,
    })
    .evidence(evidence)
    .notes(notes)
    .note(note)
    .notes(retried)
    .requests(requests)
    .with_coverage(coverage)
}

/// Which positive control is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before the cases.
    Before,
    /// After the cases.
    After,
}

/// How the controls are named in transcripts and verdicts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Controls<'a> {
    /// The genuine credential, e.g. `the untampered token`.
    pub subject: &'a str,
    /// What the cases are called, e.g. `the cases`, `the attack`.
    pub cases: &'a str,
}

impl Controls<'_> {
    /// The transcript label of a control.
    pub(crate) fn label(&self, phase: Phase) -> String {
        match phase {
            Phase::Before => format!("positive control before {}: {}", self.cases, self.subject),
            Phase::After => format!("positive control after {}: {}", self.cases, self.subject),
        }
    }

    fn failed(&self, phase: Phase, outcome: AccessOutcome) -> Inconclusive {
        Inconclusive::Control(match phase {
            Phase::Before => format!(
                "{} was {} before {}",
                self.subject,
                outcome.as_str(),
                self.cases
            ),
            Phase::After => format!(
                "{} was {} after {} (the service may end sessions or revoke tokens under attack; refusals prove nothing)",
                self.subject,
                outcome.as_str(),
                self.cases
            ),
        })
    }
}

/// What the cases of a probe found.
#[derive(Debug)]
pub(crate) struct Cases<F> {
    /// The failures (cases the service answered as the rule forbids), in case order.
    pub failures: Vec<F>,
    /// Why some answers prove nothing (they matched neither classifier), when they did.
    pub unclassified: Option<String>,
}

impl<F> Default for Cases<F> {
    fn default() -> Self {
        Cases {
            failures: Vec::new(),
            unclassified: None,
        }
    }
}

/// Runs control → cases → control. `control` sends the genuine credential once (labelled as
/// given) and says how it was answered; `cases` sends the cases (it may end the probe early with a verdict, e.g.
/// an error). On `Ok`, either a failure was found or both controls held and every answer was
/// classified (the caller then writes its fail or pass verdict); on `Err`, the verdict is
/// already decided: inconclusive (a control failed or answers were unclassified) or an error,
/// with the transcript as evidence.
pub(crate) async fn controlled<F>(
    rc: &RuleCtx,
    names: Controls<'_>,
    transcript: &mut Vec<Recorded>,
    mut control: impl AsyncFnMut(Phase, &str, &mut Vec<Recorded>) -> Result<AccessOutcome, StepError>,
    cases: impl AsyncFnOnce(&mut Vec<Recorded>) -> Result<Cases<F>, Verdict>,
) -> Result<Cases<F>, Verdict> {
    let inconclusive = |why: Inconclusive, transcript: &[Recorded]| {
        Verdict::inconclusive(why)
            .evidence(rc.evidence(transcript))
            .requests(transcript.len() as u64)
    };
    match control(Phase::Before, &names.label(Phase::Before), transcript).await {
        Ok(AccessOutcome::Allowed) => {}
        Ok(o) => return Err(inconclusive(names.failed(Phase::Before, o), transcript)),
        Err(e) => return Err(step_verdict(rc, e, transcript)),
    }
    let found = cases(transcript).await?;
    let after = control(Phase::After, &names.label(Phase::After), transcript).await;
    if !found.failures.is_empty() {
        return Ok(found);
    }
    match after {
        Ok(AccessOutcome::Allowed) => {}
        Ok(o) => return Err(inconclusive(names.failed(Phase::After, o), transcript)),
        Err(e) => return Err(step_verdict(rc, e, transcript)),
    }
    if let Some(why) = found.unclassified {
        return Err(inconclusive(Inconclusive::Unclassified(why), transcript));
    }
    Ok(found)
}
