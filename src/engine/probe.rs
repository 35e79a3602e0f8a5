//! The controlled probe: every negative probe of the engine goes through [`controlled`].
//!
//! A refusal proves something only when the genuine credential is accepted, so a probe is
//! always: a positive control (the genuine credential or action works), the cases (tampered,
//! forged or moved credentials), a positive control again (the service did not end the
//! session or revoke the token under attack), then the verdict. A case the service accepted
//! is a failure whatever the control after says; otherwise a failed control or an answer
//! that matched neither classifier makes the rule inconclusive, never passed.
//!
//! This file owns that order and the inconclusive verdicts it produces; what a case is and
//! how a failure reads belong to the rule kinds that call it.

use super::browser::{AccessOutcome, Recorded, StepError};
use super::outcome::{Inconclusive, Verdict};
use super::rule::{RuleCtx, step_verdict};

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
