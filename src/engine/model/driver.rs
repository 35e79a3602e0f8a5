//! The model driver: runs a rule's script or its random sequences (generated first, then run
//! in windows side by side), confirms and shrinks the first disagreement by delta debugging
//! against the live service, confirms the shrunk sequence, and writes the verdict with its
//! counterexample and notes.
//!
//! A disagreement is reported only when it reproduces: the sequence that disagreed is run
//! again from scratch before it is shrunk (one that does not disagree again is noted and the
//! search goes on), and the shrunk sequence is run again through [`confirm`]. A sequence
//! that stopped because a step could not be completed (a transport error) is run again, at
//! most [`MAX_STEP_RETRIES`] times, before the rule ends in an error. A sequence holding an
//! operation whose answer depends on timing (a concurrent refresh) is checked over
//! [`TRIALS`] runs and its verdict names the observed rate.

use std::collections::BTreeMap;
use std::time::Instant;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::machine::refresh::RefreshOp;
use crate::machine::session::SessionOp;
use crate::spec::{GenuineRefused, Model, ModelRun, Rule, RuleKind};

use super::super::browser::{Recorded, StepError};
use super::super::budget::MIN_SEQUENCES;
use super::super::outcome::{
    Counterexample, Evidence, Finding, Inconclusive, Outcome, RuleError, SequenceStep, Verdict,
};
use super::super::probe::{MAX_CONFIRM_RUNS, Recheck, confirm};
use super::super::rule::RuleCtx;
use super::SeqRun;
use super::replay::replay_script;
use super::{Start, join_all};

/// Most shrinking runs (each a whole sequence against the live service).
pub const MAX_SHRINK_RUNS: u32 = 64;

/// Most extra runs of a sequence that stopped on a transport error.
pub const MAX_STEP_RETRIES: usize = 2;

/// Shrunk disagreements that did not reproduce after which the search stops (each cost up to
/// [`MAX_SHRINK_RUNS`] runs): the service is too flaky to conclude anything.
pub const MAX_UNCONFIRMED_SHRINKS: usize = 2;

/// Runs of a sequence whose verdict depends on timing: a script holding a concurrent
/// operation must agree with the model this many times to pass, and a disagreement holding
/// one is re-run this many times less one to confirm it.
pub const TRIALS: usize = 5;

/// How [`drive`] runs a rule's sequences.
pub(super) struct Driving {
    /// Random sequences run side by side (1: one after the other).
    pub parallel: usize,
    /// The semantics in words, for the result's notes.
    pub note: String,
}

/// Operations that know their simpler variants, and whether their answer depends on timing.
pub(super) trait SimplerOp: Sized {
    fn simpler_ops(&self) -> Vec<Self>;

    /// Whether the answer depends on timing (requests racing each other).
    fn timing_dependent(&self) -> bool {
        false
    }
}

impl SimplerOp for SessionOp {
    fn simpler_ops(&self) -> Vec<Self> {
        self.simpler()
    }
}

impl SimplerOp for RefreshOp {
    fn simpler_ops(&self) -> Vec<Self> {
        self.simpler()
    }

    fn timing_dependent(&self) -> bool {
        matches!(self, RefreshOp::RefreshConcurrent { .. })
    }
}

/// What every run of a rule added up to (requests, operations, windows), for the notes.
#[derive(Default)]
struct Tally {
    requests: u64,
    executed: usize,
    skipped: usize,
    kinds: BTreeMap<&'static str, u32>,
    /// One window note per kind of revocation (logout, refresh-token or access-token
    /// revocation): the first observation.
    windows: Vec<(&'static str, String)>,
    /// Transport errors that stopped a sequence which was then run again.
    retried: Vec<String>,
    /// Disagreements that did not reproduce when their sequence (or its shrunk form) was run
    /// again: the verdict of the first one, and how many.
    unconfirmed: Option<Verdict>,
    unconfirmed_count: usize,
    /// Shrunk disagreements that did not reproduce.
    unconfirmed_shrinks: usize,
    /// The sequence after which the search stopped, when too many did not reproduce.
    stopped_early: Option<u32>,
    /// Timing-dependent operations among the sequences run.
    timing_ops: usize,
    /// Random sequences run (each once, re-runs and shrinking aside).
    ran: u32,
    /// The search stopped at the rule's budget deadline before every sequence ran.
    out_of_time: bool,
}

impl Tally {
    fn absorb(&mut self, run: &SeqRun) {
        self.requests += run.transcript.len() as u64;
        self.executed += run.steps.len();
        self.skipped += run.skipped;
        for (k, v) in &run.kinds {
            *self.kinds.entry(k).or_default() += v;
        }
        for (what, note) in &run.windows {
            if !self.windows.iter().any(|(w, _)| w == what) {
                self.windows.push((what, note.clone()));
            }
        }
    }

    /// Keeps the verdict of the first disagreement that did not reproduce.
    fn unconfirmed(&mut self, verdict: Verdict) {
        self.unconfirmed_count += 1;
        self.unconfirmed.get_or_insert(verdict);
    }

    /// `verdict` with the semantics note first, these notes last and every request counted.
    fn finish(&self, verdict: Verdict, semantics: &str) -> Verdict {
        let mut notes = vec![semantics.to_string()];
        notes.extend(verdict.notes);
        notes.extend(self.notes());
        Verdict {
            notes,
            requests: self.requests,
            ..verdict
        }
    }

    fn notes(&self) -> impl Iterator<Item = String> + '_ {
        let retried = (!self.retried.is_empty()).then(|| {
            format!(
                "{} sequence run(s) stopped on a transport error and were run again: {}",
                self.retried.len(),
                self.retried.join("; ")
            )
        });
        let unconfirmed = (self.unconfirmed_count > 0).then(|| {
            format!(
                "{} disagreement(s) did not reproduce when their sequence was run again from scratch, and the search went on",
                self.unconfirmed_count
            )
        });
        let stopped = self.stopped_early.map(|case| {
            format!(
                "the search stopped after sequence {case}: {} shrunk disagreements did not reproduce",
                self.unconfirmed_shrinks
            )
        });
        self.windows
            .iter()
            .map(|(_, note)| note.clone())
            .chain(retried)
            .chain(unconfirmed)
            .chain(stopped)
    }
}

/// The first disagreement found: its 1-based sequence number, operations and run.
type Failure<Op> = (u32, Vec<Op>, SeqRun);

/// Runs random sequences or the script, confirms and shrinks a disagreement and builds the
/// verdict.
pub(super) async fn drive<Op, F, Fut>(
    rc: &RuleCtx,
    rule: &Rule,
    run_def: &ModelRun<Op, impl Sized>,
    strategy: impl FnOnce() -> BoxedStrategy<Op>,
    simulator: impl FnMut() -> Box<dyn FnMut(&Op) -> bool>,
    exec: F,
    how: Driving,
) -> Verdict
where
    Op: Clone + std::fmt::Debug + SimplerOp,
    F: Fn(Vec<Op>, usize, Start) -> Fut,
    Fut: std::future::Future<Output = SeqRun>,
{
    let mut tally = Tally::default();
    if !run_def.is_random() {
        return drive_script(rc, rule, run_def, &exec, tally, how).await;
    }
    let sequences = run_def.sequences.unwrap_or(64);
    // A budget runs a prefix of the list (the same seed runs the same first sequences): the
    // planned number, and more while the rule's pace leaves time before its deadline.
    let planned = rc
        .share
        .map_or(sequences, |s| s.coverage.ran.min(sequences)) as usize;
    let started = Instant::now();
    let all = match sequences_for(rc, run_def, sequences, strategy, simulator) {
        Ok(all) => all,
        Err(v) => return v,
    };
    tally.timing_ops = all
        .iter()
        .flatten()
        .filter(|op| op.timing_dependent())
        .count();
    let mut from = 0;
    loop {
        let search = Search {
            rc,
            rule,
            exec: &exec,
            pace: (planned, started),
        };
        let found = search.windows(&all, from, how.parallel, &mut tally).await;
        let (case, ops, first) = match found {
            Err(v) => return covered(rc, tally.ran, tally.finish(v, &how.note)),
            Ok(None) if tally.out_of_time && tally.ran < MIN_SEQUENCES.min(sequences) => {
                let why = format!(
                    "the budget's deadline came after {} of the {sequences} sequences planned, fewer than the minimum of {}: nothing is concluded",
                    tally.ran,
                    MIN_SEQUENCES.min(sequences)
                );
                let v = Verdict::inconclusive(Inconclusive::Budget(why));
                return covered(rc, tally.ran, tally.finish(v, &how.note));
            }
            Ok(None) => {
                let ran = tally.ran;
                return covered(rc, ran, no_disagreement(run_def, false, ran, tally, how));
            }
            Ok(Some(f)) => f,
        };
        // Shrink, then run the shrunk sequence again.
        let shrink_started = Instant::now();
        let (best_ops, best, runs) = shrink(ops, first, &exec, &mut tally).await;
        let note = format!(
            "sequence {case} of {sequences} disagreed and did again when run from scratch; shrunk in {runs} runs ({} ms) to {} operations",
            shrink_started.elapsed().as_millis(),
            best.steps.len()
        );
        let verdict = disagreement(rc, rule, case, runs, &best)
            .note(note)
            .requests(tally.requests);
        let what = "ran the shrunk sequence again from scratch";
        let verdict = confirm(rc, verdict, what, async |t| {
            recheck(&exec, &best_ops, 0, &best, t, true).await
        })
        .await;
        tally.requests = verdict.requests;
        if matches!(verdict.outcome, Outcome::Fail(_)) {
            return covered(rc, tally.ran, tally.finish(verdict, &how.note));
        }
        // The shrunk sequence did not disagree again: look on, a bounded number of times.
        tally.unconfirmed(verdict);
        tally.unconfirmed_shrinks += 1;
        if tally.unconfirmed_shrinks >= MAX_UNCONFIRMED_SHRINKS && (case as usize) < all.len() {
            tally.stopped_early = Some(case);
            let ran = tally.ran;
            return covered(rc, ran, no_disagreement(run_def, false, ran, tally, how));
        }
        from = case as usize;
    }
}

/// `verdict` with the coverage of `ran` random sequences, when the rule has a share of a
/// budget (the note says how many ran of how many were requested).
fn covered(rc: &RuleCtx, ran: u32, verdict: Verdict) -> Verdict {
    match rc.share {
        Some(share) => {
            let coverage = share.ran(ran);
            verdict.note(coverage.note(share.budget)).coverage(coverage)
        }
        None => verdict,
    }
}

/// A scripted rule: the fixed set-up and script (over [`TRIALS`] runs when timing decides
/// the answer), a disagreement confirmed by running it again.
async fn drive_script<Op, F, Fut>(
    rc: &RuleCtx,
    rule: &Rule,
    run_def: &ModelRun<Op, impl Sized>,
    exec: &F,
    mut tally: Tally,
    how: Driving,
) -> Verdict
where
    Op: Clone + SimplerOp,
    F: Fn(Vec<Op>, usize, Start) -> Fut,
    Fut: std::future::Future<Output = SeqRun>,
{
    let (trial, ops, first) = match run_script(rc, run_def, exec, &mut tally).await {
        Err(v) => return tally.finish(v, &how.note),
        Ok(None) => return no_disagreement(run_def, true, 1, tally, how),
        Ok(Some(f)) => f,
    };
    let mut verdict = disagreement(rc, rule, 1, 0, &first).requests(tally.requests);
    if trial > 1 {
        verdict = verdict.note(format!(
            "timing-dependent: the script agreed with the model in its first {} runs, then disagreed",
            trial - 1
        ));
    }
    let setup = run_def.setup.len();
    let verdict = confirm(
        rc,
        verdict,
        "ran the sequence again from scratch",
        async |t| recheck(exec, &ops, setup, &first, t, true).await,
    )
    .await;
    tally.requests = verdict.requests;
    tally.finish(verdict, &how.note)
}

/// The verdict when no disagreement reproduced: a pass, or inconclusive with the first
/// disagreement that was seen but did not reproduce.
fn no_disagreement<Op>(
    run_def: &ModelRun<Op, impl Sized>,
    scripted: bool,
    sequences: u32,
    mut tally: Tally,
    how: Driving,
) -> Verdict {
    match tally.unconfirmed.take() {
        Some(v) => tally.finish(v, &how.note),
        None => pass(run_def, scripted, sequences, &tally, how.note).requests(tally.requests),
    }
}

/// A disagreement whose sequence did not disagree again when run from scratch:
/// inconclusive, with both observations and both transcripts.
fn not_reproduced(
    rc: &RuleCtx,
    rule: &Rule,
    case: u32,
    run: &SeqRun,
    rerun: String,
    transcript: &[Recorded],
) -> Verdict {
    let verdict = disagreement(rc, rule, case, 0, run);
    let mut evidence = verdict.evidence;
    evidence.extend(rc.evidence(transcript).into_iter().map(|e| Evidence {
        step: format!("re-run: {}", e.step),
        ..e
    }));
    let outcome = match verdict.outcome {
        Outcome::Fail(first) => {
            let note = format!(
                "failed once, passed on re-run (ran sequence {case} again from scratch): first {}; re-run: {rerun}",
                first.reason
            );
            return Verdict::inconclusive(Inconclusive::NotReproduced { first, rerun })
                .evidence(evidence)
                .note(note);
        }
        other => other,
    };
    Verdict::new(outcome).evidence(evidence)
}

/// `run` of `ops`, or when it stopped because a step could not be completed (a transport
/// error), `ops` run again from scratch, at most [`MAX_STEP_RETRIES`] times (the stopped
/// runs' requests count, their error is noted).
async fn retry_stopped<Op, F, Fut>(
    exec: &F,
    ops: &[Op],
    setup: usize,
    mut run: SeqRun,
    tally: &mut Tally,
) -> SeqRun
where
    Op: Clone,
    F: Fn(Vec<Op>, usize, Start) -> Fut,
    Fut: std::future::Future<Output = SeqRun>,
{
    for _ in 0..MAX_STEP_RETRIES {
        let Some(StepError::Http(e)) = &run.error else {
            break;
        };
        tally.requests += run.transcript.len() as u64;
        tally.retried.push(e.to_string());
        run = exec(ops.to_vec(), setup, Start::Fresh).await;
    }
    run
}

/// One check of a disagreement (`like`) by running `ops` again from scratch (what it sends
/// goes to `t`): once, or with `trials`, [`TRIALS`] less one times when an operation's
/// answer depends on timing (the words then give the rate).
async fn recheck<Op, F, Fut>(
    exec: &F,
    ops: &[Op],
    setup: usize,
    like: &SeqRun,
    t: &mut Vec<Recorded>,
    trials: bool,
) -> Recheck
where
    Op: Clone + SimplerOp,
    F: Fn(Vec<Op>, usize, Start) -> Fut,
    Fut: std::future::Future<Output = SeqRun>,
{
    let timing = ops.iter().any(SimplerOp::timing_dependent);
    if !(timing && trials) {
        let run = exec(ops.to_vec(), setup, Start::Fresh).await;
        t.extend(run.transcript.iter().cloned());
        return judge_rerun(&run, like, timing);
    }
    let (mut again, mut settled, mut unclear) = (0, 0, Vec::new());
    for _ in 1..TRIALS {
        let run = exec(ops.to_vec(), setup, Start::Fresh).await;
        t.extend(run.transcript.iter().cloned());
        match judge_rerun(&run, like, true) {
            Recheck::Failed(_) => (again, settled) = (again + 1, settled + 1),
            Recheck::Passed(_) => settled += 1,
            Recheck::Unclear(why) => unclear.push(why),
        }
    }
    if settled == 0 {
        return Recheck::Unclear(unclear.join("; "));
    }
    let rate = format!(
        "timing-dependent verdict (concurrent requests): disagreed in {} of {} runs",
        again + 1,
        settled + 1
    );
    if again > 0 {
        Recheck::Failed(rate)
    } else {
        Recheck::Passed(rate)
    }
}

/// What a re-run of a disagreeing sequence shows: the same disagreement (the same step,
/// observed the same way unless timing decides it), agreement, or nothing (a step could not
/// be completed, an unclassified answer, another disagreement).
fn judge_rerun(run: &SeqRun, like: &SeqRun, timing: bool) -> Recheck {
    if let Some(e) = &run.error {
        return Recheck::from_step_error(e);
    }
    if let Some(w) = &run.unexpected {
        return Recheck::Unclear(format!("an answer matched no classifier ({w})"));
    }
    let (Some(f), Some(g)) = (run.failed, like.failed) else {
        return Recheck::Passed(format!(
            "the {} operations agreed with the model",
            run.steps.len()
        ));
    };
    let same = f == g && (timing || run.steps[f].observed == like.steps[g].observed);
    if same {
        Recheck::Failed(failing_words(run))
    } else {
        Recheck::Unclear(format!("disagreed differently: {}", failing_words(run)))
    }
}

/// The failing step in words.
fn failing_words(run: &SeqRun) -> String {
    match run.failed.and_then(|f| run.steps.get(f).map(|s| (f, s))) {
        Some((f, s)) => format!(
            "step {}: {} — expected {}, observed {}",
            f + 1,
            s.operation,
            s.expected,
            s.observed
        ),
        None => "no step disagreed".into(),
    }
}

/// Whether the failing step of `run` was answered with a server error (5xx).
fn server_error_at_failure(run: &SeqRun) -> bool {
    run.failed.and_then(|f| run.steps.get(f)).is_some_and(|s| {
        run.transcript
            .get(s.exchanges.clone())
            .is_some_and(|t| t.iter().any(|r| r.exchange.response.status >= 500))
    })
}

/// The fixed set-up and script: once, or until it disagrees over [`TRIALS`] runs when an
/// operation's answer depends on timing.
async fn run_script<Op, F, Fut>(
    rc: &RuleCtx,
    run_def: &ModelRun<Op, impl Sized>,
    exec: &F,
    tally: &mut Tally,
) -> Result<Option<Failure<Op>>, Verdict>
where
    Op: Clone + SimplerOp,
    F: Fn(Vec<Op>, usize, Start) -> Fut,
    Fut: std::future::Future<Output = SeqRun>,
{
    let ops: Vec<Op> = run_def
        .setup
        .iter()
        .chain(&run_def.script)
        .cloned()
        .collect();
    let timing = ops.iter().any(SimplerOp::timing_dependent);
    let trials = if timing { TRIALS } else { 1 };
    for trial in 1..=trials {
        let first = exec(ops.clone(), run_def.setup.len(), Start::Fresh).await;
        let run = retry_stopped(exec, &ops, run_def.setup.len(), first, tally).await;
        tally.absorb(&run);
        if let Some(v) = stopped(rc, &run, tally.requests) {
            return Err(v.notes(tally.notes()));
        }
        if run.disagrees() {
            return Ok(Some((trial as u32, ops, run)));
        }
        if let Some((step, why)) = &run.vacuous {
            // The script could not exercise what it is about: nothing to test, never a pass.
            return Err(Verdict::not_applicable(format!(
                "nothing to test under the declared semantics: step {step} of the script: {why}"
            ))
            .evidence(rc.evidence(&run.transcript))
            .requests(tally.requests));
        }
    }
    if timing {
        tally.timing_ops = trials;
    }
    Ok(None)
}

/// Every random sequence, generated before any runs (the same RNG order whatever the
/// parallelism).
fn sequences_for<Op: std::fmt::Debug>(
    rc: &RuleCtx,
    run_def: &ModelRun<Op, impl Sized>,
    sequences: u32,
    strategy: impl FnOnce() -> BoxedStrategy<Op>,
    mut simulator: impl FnMut() -> Box<dyn FnMut(&Op) -> bool>,
) -> Result<Vec<Vec<Op>>, Verdict> {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&rc.seed.to_le_bytes());
    seed[8..16].copy_from_slice(&rc.seed.rotate_left(29).to_le_bytes());
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let strategy = strategy();
    let max = run_def.max_steps as usize;
    (0..sequences)
        .map(|_| generate(&mut runner, &strategy, max, simulator()))
        .collect::<Result<_, _>>()
        .map_err(|reason| {
            Verdict::error(RuleError::Tooling(format!(
                "could not generate sequences: {reason}"
            )))
        })
}

/// What the search for a confirmed disagreement among random sequences needs.
struct Search<'a, F> {
    rc: &'a RuleCtx,
    rule: &'a Rule,
    exec: &'a F,
    /// Under a budget: the sequences planned, and when the search started.
    pace: (usize, Instant),
}

impl<F> Search<'_, F> {
    /// Runs the sequences from number `from` (0-based) on, in windows of `parallel`; the
    /// lowest-numbered disagreement of the first window that has one is the one reported, as
    /// a sequential run would find it, once running its sequence again from scratch
    /// disagrees again (twice when the disagreement was a server error, the mark of a
    /// transient fault). One that does not is kept as the inconclusive verdict and the
    /// search goes on.
    async fn windows<Op, Fut>(
        &self,
        all: &[Vec<Op>],
        from: usize,
        parallel: usize,
        tally: &mut Tally,
    ) -> Result<Option<Failure<Op>>, Verdict>
    where
        Op: Clone + SimplerOp,
        F: Fn(Vec<Op>, usize, Start) -> Fut,
        Fut: std::future::Future<Output = SeqRun>,
    {
        let parallel = parallel.max(1);
        let mut index = from;
        while index < all.len() {
            // Past the budget's deadline no new sequence starts (the verdict says how many ran);
            // the rule's minimum, admitted into the budget, runs to the hard stop.
            let min = MIN_SEQUENCES.min(u32::try_from(all.len()).unwrap_or(u32::MAX)) as usize;
            if index >= min && self.rc.share.is_some_and(|s| s.expired()) {
                tally.out_of_time = true;
                return Ok(None);
            }
            // Within the plan a window ends at the planned number.
            let (planned, _) = self.pace;
            let len = match self.rc.share {
                Some(_) if index < planned => parallel.min(planned - index),
                _ => parallel,
            };
            let window = &all[index..(index + len).min(all.len())];
            if !self.more_fit(index, window.len(), tally.ran) {
                return Ok(None);
            }
            let first = index;
            index += window.len();
            tally.ran = tally.ran.max(index as u32);
            let runs = join_all(
                window
                    .iter()
                    .map(|ops| (self.exec)(ops.clone(), 0, Start::MayReuse))
                    .collect(),
            )
            .await;
            for (j, run) in runs.into_iter().enumerate() {
                let ops = &window[j];
                let run = retry_stopped(self.exec, ops, 0, run, tally).await;
                tally.absorb(&run);
                if let Some(v) = stopped(self.rc, &run, tally.requests) {
                    return Err(v);
                }
                if !run.disagrees() {
                    continue;
                }
                let case = (first + j) as u32 + 1;
                let mut t = Vec::new();
                let (check, run) = self.reproduces(ops, run, &mut t).await;
                tally.requests += t.len() as u64;
                match check {
                    Recheck::Failed(_) => return Ok(Some((case, ops.clone(), run))),
                    Recheck::Passed(words) | Recheck::Unclear(words) => {
                        let v = not_reproduced(self.rc, self.rule, case, &run, words, &t);
                        tally.unconfirmed(v);
                    }
                }
            }
        }
        Ok(None)
    }

    /// Whether a window of `len` sequences starting at `index` (0-based) may start: always
    /// without a budget and within the planned number; past it, when three times the pace of
    /// the sequences run so far (`ran`) still ends before the rule's deadline.
    fn more_fit(&self, index: usize, len: usize, ran: u32) -> bool {
        let (planned, started) = self.pace;
        let Some(share) = self.rc.share else {
            return true;
        };
        if index < planned {
            return true;
        }
        let pace = started.elapsed() / ran.max(1);
        Instant::now() + pace * 3 * u32::try_from(len).unwrap_or(u32::MAX) < share.deadline
    }

    /// Whether the disagreement of `run` reproduces when `ops` run again from scratch: one
    /// re-run that says something (a re-run that proves nothing is tried again, at most
    /// [`MAX_CONFIRM_RUNS`] times), two when the disagreement was a server error. A re-run
    /// that disagrees earlier or later without a server error, where the first run's
    /// disagreement was one, replaces it (a transient fault had hidden it) and is checked in
    /// turn. Returns the check and the run it speaks of.
    async fn reproduces<Op, Fut>(
        &self,
        ops: &[Op],
        mut run: SeqRun,
        t: &mut Vec<Recorded>,
    ) -> (Recheck, SeqRun)
    where
        Op: Clone + SimplerOp,
        F: Fn(Vec<Op>, usize, Start) -> Fut,
        Fut: std::future::Future<Output = SeqRun>,
    {
        let mut needed = if server_error_at_failure(&run) { 2 } else { 1 };
        let (mut reproduced, mut check) = (0, Recheck::Unclear("not re-run".into()));
        for _ in 0..MAX_CONFIRM_RUNS + 1 {
            // One run: the trials of a timing-dependent sequence wait for the shrunk one.
            let again = (self.exec)(ops.to_vec(), 0, Start::Fresh).await;
            t.extend(again.transcript.iter().cloned());
            let timing = ops.iter().any(SimplerOp::timing_dependent);
            check = judge_rerun(&again, &run, timing);
            match check {
                Recheck::Failed(_) => {
                    reproduced += 1;
                    if reproduced == needed {
                        break;
                    }
                }
                Recheck::Passed(_) => break,
                Recheck::Unclear(_)
                    if needed == 2 && again.disagrees() && !server_error_at_failure(&again) =>
                {
                    (run, needed, reproduced) = (again, 1, 0);
                }
                Recheck::Unclear(_) => {}
            }
        }
        let check = match check {
            Recheck::Failed(words) if reproduced < needed => Recheck::Unclear(format!(
                "a server error reproduced once, not twice: {words}"
            )),
            other => other,
        };
        (check, run)
    }
}

/// Delta debugging against the live service: cut after the failing step, drop single
/// operations until a pass changes nothing, then simplify each remaining one (at most
/// [`MAX_SHRINK_RUNS`] runs). A candidate counts only when it disagrees as the first run
/// did: not with a server error where the first did not (a transient fault must not steer
/// the shrinking). Returns the smallest sequence that still disagrees, its run and the runs
/// spent.
async fn shrink<Op, F, Fut>(
    ops: Vec<Op>,
    first: SeqRun,
    exec: &F,
    tally: &mut Tally,
) -> (Vec<Op>, SeqRun, u32)
where
    Op: Clone + SimplerOp,
    F: Fn(Vec<Op>, usize, Start) -> Fut,
    Fut: std::future::Future<Output = SeqRun>,
{
    let cut = |ops: &[Op], run: &SeqRun| -> Vec<Op> {
        let k = run.failed.map_or(ops.len(), |f| run.steps[f].op_index + 1);
        ops[..k.min(ops.len())].to_vec()
    };
    let server_error_allowed = server_error_at_failure(&first);
    let mut best_ops = cut(&ops, &first);
    let mut best = first;
    let mut try_candidate = async |cand: Vec<Op>, best_ops: &mut Vec<Op>, best: &mut SeqRun| {
        let run = exec(cand.clone(), 0, Start::Fresh).await;
        tally.requests += run.transcript.len() as u64;
        if run.disagrees() && (server_error_allowed || !server_error_at_failure(&run)) {
            *best_ops = cut(&cand, &run);
            *best = run;
            true
        } else {
            false
        }
    };
    let mut spent = 0u32;
    // Drop single operations, front to back, until a pass changes nothing.
    let mut changed = true;
    while changed && spent < MAX_SHRINK_RUNS {
        changed = false;
        let mut i = 0;
        while i < best_ops.len() && best_ops.len() > 1 && spent < MAX_SHRINK_RUNS {
            let mut cand = best_ops.clone();
            cand.remove(i);
            spent += 1;
            if try_candidate(cand, &mut best_ops, &mut best).await {
                changed = true;
            } else {
                i += 1;
            }
        }
    }
    // Simplify each operation.
    let mut i = 0;
    while i < best_ops.len() && spent < MAX_SHRINK_RUNS {
        let mut improved = false;
        for simpler in best_ops[i].simpler_ops() {
            if spent >= MAX_SHRINK_RUNS {
                break;
            }
            let mut cand = best_ops.clone();
            cand[i] = simpler;
            spent += 1;
            if try_candidate(cand, &mut best_ops, &mut best).await {
                improved = true;
                break;
            }
        }
        if !improved {
            i += 1;
        }
    }
    (best_ops, best, spent)
}

/// Every sequence agreed with the model.
fn pass<Op>(
    run_def: &ModelRun<Op, impl Sized>,
    scripted: bool,
    sequences: u32,
    tally: &Tally,
    semantics_note: String,
) -> Verdict {
    let what = if scripted && tally.timing_ops > 1 {
        format!(
            "timing-dependent verdict (concurrent requests): the scripted sequence agreed with the model in all {} runs ({} operations)",
            tally.timing_ops, tally.executed
        )
    } else if scripted {
        format!(
            "the scripted sequence ({} operations) agreed with the model",
            tally.executed
        )
    } else {
        format!(
            "{sequences} random sequences of up to {} operations ({} executed, {} skipped by preconditions) agreed with the model",
            run_def.max_steps, tally.executed, tally.skipped
        )
    };
    let mut v = Verdict::pass(what).note(semantics_note);
    if !tally.kinds.is_empty() {
        v = v.note(format!(
            "operations exercised: {}",
            tally
                .kinds
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !scripted && tally.timing_ops > 0 {
        v = v.note(format!(
            "timing-dependent operations: the sequences held {} concurrent requests, and none disagreed with the model (a race that these runs did not hit may remain)",
            tally.timing_ops
        ));
    }
    v.notes(tally.notes())
}

/// The disagreement, step by step, with its evidence and replay script: a failure, or
/// inconclusive when it happened in a scripted rule's set-up.
fn disagreement(rc: &RuleCtx, rule: &Rule, case: u32, runs: u32, best: &SeqRun) -> Verdict {
    let ctx = &rc.ctx;
    let Some(f) = best.failed else {
        return Verdict::error(RuleError::Internal(
            "the counterexample lost its failing step",
        ));
    };
    let failing = &best.steps[f];
    let step_words = format!(
        "step {}: {} — expected {}, observed {}",
        f + 1,
        failing.operation,
        failing.expected,
        failing.observed
    );
    let steps: Vec<SequenceStep> = best
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| SequenceStep {
            step: i as u32 + 1,
            operation: s.operation.clone(),
            expected: s.expected.clone(),
            observed: s.observed.clone(),
            failing: i == f,
            setup: s.setup,
        })
        .collect();
    let mut evidence: Vec<Evidence> = Vec::new();
    for (i, s) in best.steps.iter().enumerate() {
        for rec in &best.transcript[s.exchanges.clone()] {
            evidence.push(Evidence::new(
                format!("step {}: {} — {}", i + 1, s.operation, rec.label),
                &rec.exchange,
                ctx.client.redactor(),
            ));
        }
    }
    // A genuine action refused is a failed control unless working is what the rule judges.
    let control = !failing.setup && failing.genuine_refused && !judges_genuine_refusals(rule);
    let finding = Box::new(Finding {
        reason: if failing.setup {
            format!(
                "the set-up did not behave as declared, so the check could not run: {step_words}"
            )
        } else if control {
            format!(
                "positive control failed: a genuine action was refused, so the refusals this rule checks would prove nothing: {step_words}"
            )
        } else {
            step_words
        },
        expected: failing.expected.clone(),
        observed: failing.observed.clone(),
        counterexample: Some(Counterexample {
            seed: rc.run_seed,
            case,
            shrink_steps: runs,
            input: steps
                .iter()
                .map(|s| format!("{}. {}", s.step, s.operation))
                .collect(),
            observed: failing.observed.clone(),
            steps,
            replay_script: Some(replay_script(ctx, &rule.id, rc.run_seed, best, f)),
        }),
        details: None,
    });
    let outcome = if failing.setup || control {
        Outcome::Inconclusive(Inconclusive::ControlDisagreement(finding))
    } else {
        Outcome::Fail(finding)
    };
    Verdict::new(outcome).evidence(evidence)
}

/// Whether `rule` fails when a genuine action is refused: random sequences judge every
/// disagreement; a script does when it declares `genuine_refused: fail`.
fn judges_genuine_refusals(rule: &Rule) -> bool {
    let (random, declared) = match &rule.kind {
        RuleKind::Model(Model::Session(r)) => (r.is_random(), r.genuine_refused),
        RuleKind::Model(Model::Refresh(r)) => (r.is_random(), r.genuine_refused),
        _ => return true,
    };
    random || declared == GenuineRefused::Fail
}

/// Sequence lengths: from half the maximum up to it (short sequences find little; shrinking
/// still goes down to one operation).
fn lengths(max_steps: usize) -> std::ops::RangeInclusive<usize> {
    (max_steps / 2).max(1)..=max_steps.max(1)
}

/// One random sequence: a length from [`lengths`], then operations drawn from `strategy`
/// and kept only when `accept` (the model, simulating a service that agrees) finds their
/// precondition true, so every operation means something in the state the earlier ones
/// built. Shrinking may still remove operations; the runner then skips those whose
/// precondition no longer holds.
fn generate<Op: std::fmt::Debug>(
    runner: &mut TestRunner,
    strategy: &BoxedStrategy<Op>,
    max_steps: usize,
    mut accept: Box<dyn FnMut(&Op) -> bool>,
) -> Result<Vec<Op>, String> {
    let len = lengths(max_steps)
        .new_tree(runner)
        .map_err(|r| r.to_string())?
        .current();
    let mut ops = Vec::with_capacity(len);
    while ops.len() < len {
        let mut found = false;
        for _ in 0..32 {
            let op = strategy
                .new_tree(runner)
                .map_err(|r| r.to_string())?
                .current();
            if accept(&op) {
                ops.push(op);
                found = true;
                break;
            }
        }
        if !found {
            break;
        }
    }
    Ok(ops)
}

/// The verdict when a sequence stopped without a verdict (a step that could not be
/// completed, an unclassified answer).
fn stopped(rc: &RuleCtx, run: &SeqRun, requests: u64) -> Option<Verdict> {
    let outcome = match (&run.error, &run.unexpected) {
        (Some(StepError::Http(e)), _) => Outcome::Error(RuleError::Http {
            context: Some("a step could not be completed".into()),
            error: Box::new(e.clone()),
        }),
        (Some(StepError::Flow(f)), _) => Outcome::Inconclusive(Inconclusive::Setup(f.to_string())),
        (None, Some(w)) => Outcome::Inconclusive(Inconclusive::Unclassified(format!(
            "an answer matched neither the allowed nor the denied classifier ({w}); refine the profile's classifiers"
        ))),
        (None, None) => return None,
    };
    Some(
        Verdict::new(outcome)
            .evidence(rc.evidence(&run.transcript))
            .requests(requests),
    )
}
