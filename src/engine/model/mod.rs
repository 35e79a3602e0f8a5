//! Kind `model`: operation sequences run against the live service, every answer compared with
//! the reference state machine of [`crate::machine`]; the first disagreement is shrunk to the
//! shortest sequence that still disagrees and reported step by step, with a curl script that
//! replays it.
//!
//! - `session` / `refresh`: run one sequence of the session or refresh machine against the
//!   service (what each operation sends, how its answer is observed);
//! - `driver`: random sequences or the script, the windows they run in, shrinking, the verdict;
//! - `replay`: the curl script of a counterexample.
//!
//! Random sequences come from proptest strategies over the machine's operations (seeded from
//! the run's seed, no persistence files). Each sequence starts from fresh clients; operations
//! whose precondition does not hold in the model's state are skipped. Shrinking is a bounded,
//! deterministic delta-debugging loop (every candidate is a live run): cut after the failing
//! step, drop single operations, then simplify each remaining one. The same seed against the
//! same service gives the same counterexample.

mod driver;
mod refresh;
mod replay;
mod session;

use std::collections::BTreeMap;

use crate::machine::Answer;
use crate::spec::{Model, Rule};

use super::browser::{AccessOutcome, Recorded, StepError};
use super::outcome::Verdict;

/// How a sequence starts: from scratch (every login sent), or, for a random sequence of the
/// search, possibly from what an earlier sequence left logged in (where the declared
/// semantics make that the same as a fresh login). A disagreement is always run again,
/// confirmed, shrunk and replayed from scratch, so reuse never changes what is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// Every login of the sequence is sent.
    Fresh,
    /// A login may take what an earlier sequence left logged in.
    MayReuse,
}
use super::rule::RuleCtx;

/// The RFC 7009 revocation request, shared with the replica replay.
pub(crate) use refresh::revoke;

/// The verdict of a model rule whose random sequences took `reused` logins an earlier sequence
/// left live (`what` they took): counted as shared in the run's pool and said in a note.
fn noted_reuse(
    verdict: Verdict,
    ctx: &super::browser::Ctx,
    reused: &std::sync::atomic::AtomicU64,
    what: &str,
) -> Verdict {
    let reused = reused.load(std::sync::atomic::Ordering::Relaxed);
    if reused == 0 {
        return verdict;
    }
    ctx.pool.count_shared(reused);
    verdict.note(format!(
        "{reused} logins of the random sequences took {what} (as good as a fresh login under the declared semantics); a disagreement is always run again, shrunk and replayed from fresh logins"
    ))
}

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
    /// A genuine action the model expected to work was refused (see
    /// [`crate::machine::Verdict::genuine_refused`]).
    genuine_refused: bool,
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
    /// A step could not be completed (the sequence stopped).
    error: Option<StepError>,
    /// An answer matched neither classifier (the sequence stopped).
    unexpected: Option<String>,
    /// Operations skipped by preconditions.
    skipped: usize,
    /// Revocation-window observations.
    windows: Vec<(&'static str, String)>,
    /// Executed operations by kind.
    kinds: BTreeMap<&'static str, u32>,
    /// The first step that could not exercise what it names under the declared semantics
    /// (1-based step, why): a scripted rule with one has nothing to test and is skipped.
    vacuous: Option<(usize, String)>,
}

impl SeqRun {
    /// Notes the first step that tested nothing.
    fn note_vacuous(&mut self, why: Option<String>) {
        if let (None, Some(why)) = (&self.vacuous, why) {
            self.vacuous = Some((self.steps.len() + 1, why));
        }
    }

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

/// What one executed operation observed: its kind (for the "operations exercised" note),
/// the answer in words, and the observation the model compares.
type Observed<Obs> = (&'static str, String, Obs);

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

/// Runs a `model` rule.
pub(crate) async fn run(rc: &RuleCtx, rule: &Rule, m: &Model) -> Verdict {
    match m {
        Model::Session(def) => session::run(rc, rule, def).await,
        Model::Refresh(def) => refresh::run(rc, rule, def).await,
    }
}

/// Polls every future concurrently on the current task and returns their outputs in order.
pub(super) async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
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
