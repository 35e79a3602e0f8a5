//! Outcomes: how one rule ended ([`Outcome`]), the [`RuleResult`] that reports it with its
//! evidence, and the run's [`Report`] (the JSON report v1).
//!
//! The outcome is typed so that impossible combinations cannot be written: only a failure
//! carries an expected/observed pair and a counterexample, a skip carries why the rule could
//! not be tested, an inconclusive rule names the control or set-up that failed. The JSON
//! report keeps its flat v1 shape (`status`, `reason`, `expected`, `observed`, …): it is
//! derived from the outcome when a result is serialised.

use std::fmt;

use serde::{Serialize, Serializer};

pub use super::browser::TokenRole;
use crate::http::{Exchange, HttpError, Redactor, curl_line};
use crate::spec::{Capability, Level, Rule, Severity};

pub use super::budget::Coverage;

/// How a rule ended. Only `Pass` means the promise was shown to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The promise was shown to hold.
    Pass,
    /// The promise was shown to be broken.
    Fail,
    /// The profile lacks what the rule needs (with the reason).
    Skip,
    /// A positive control failed (the untampered credential was not accepted), so a refusal
    /// would prove nothing.
    Inconclusive,
    /// The target misbehaved (unreachable, budget exhausted) or authprobe hit a bug.
    Error,
}

impl Status {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Inconclusive => "inconclusive",
            Status::Error => "error",
        }
    }
}

/// How one rule ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The promise was shown to hold.
    Pass,
    /// The promise was shown to be broken.
    Fail(Box<Finding>),
    /// The rule could not be tested on this target.
    Skip(Skip),
    /// A control or the set-up failed, so nothing could be concluded.
    Inconclusive(Inconclusive),
    /// The target misbehaved or authprobe could not run the probe.
    Error(RuleError),
}

impl Outcome {
    /// The outcome's status.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Pass => Status::Pass,
            Outcome::Fail(_) => Status::Fail,
            Outcome::Skip(_) => Status::Skip,
            Outcome::Inconclusive(_) => Status::Inconclusive,
            Outcome::Error(_) => Status::Error,
        }
    }

    /// A failure with its one-line reason, what was expected and what was seen.
    pub fn fail(
        reason: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Outcome {
        Outcome::Fail(Box::new(Finding {
            reason: reason.into(),
            expected: expected.into(),
            observed: observed.into(),
            counterexample: None,
            details: None,
        }))
    }

    /// A failure whose reason is what was seen.
    pub fn fail_observed(expected: impl Into<String>, observed: impl Into<String>) -> Outcome {
        let observed = observed.into();
        Outcome::fail(observed.clone(), expected, observed)
    }

    /// The finding of a failure (or of a set-up disagreement, or of a failure that did not
    /// reproduce, that made the rule inconclusive).
    pub fn finding(&self) -> Option<&Finding> {
        match self {
            Outcome::Fail(f)
            | Outcome::Inconclusive(Inconclusive::ControlDisagreement(f))
            | Outcome::Inconclusive(Inconclusive::NotReproduced { first: f, .. }) => Some(f),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    /// The one-line reason (empty for a pass).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Pass => Ok(()),
            Outcome::Fail(x) => f.write_str(&x.reason),
            Outcome::Skip(s) => write!(f, "{s}"),
            Outcome::Inconclusive(i) => write!(f, "{i}"),
            Outcome::Error(e) => write!(f, "{e}"),
        }
    }
}

/// What a failing rule found.
#[derive(Debug, Clone)]
pub struct Finding {
    /// One line: why the rule failed.
    pub reason: String,
    /// What the rule expected to see.
    pub expected: String,
    /// What it saw.
    pub observed: String,
    /// The shrunk generated case, for property and model failures.
    pub counterexample: Option<Counterexample>,
    /// Structured details of what was found, already free of target values (e.g. the
    /// redacted structure of a readable session id); `details` in the JSON report.
    pub details: Option<serde_json::Value>,
}

/// Why a rule could not be tested.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Skip {
    /// The profile does not provide capabilities the rule requires (with what would provide them).
    Missing(Vec<(Capability, &'static str)>),
    /// The target gives the rule nothing to test (e.g. an opaque token for a JWT rule).
    NotApplicable(String),
    /// The run stopped before the rule finished (e.g. `interrupted by SIGTERM`): it was not
    /// run, or was abandoned in flight; nothing is concluded.
    NotRun(String),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Missing(missing) => {
                f.write_str("the profile does not provide: ")?;
                for (i, (cap, hint)) in missing.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{} ({hint})", cap.name())?;
                }
                Ok(())
            }
            Skip::NotApplicable(why) => f.write_str(why),
            Skip::NotRun(why) => write!(f, "not run: {why}"),
        }
    }
}

/// Why nothing could be concluded.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Inconclusive {
    /// A positive control failed: the genuine credential or action did not work, so a
    /// refusal would prove nothing (the text says which control and what it saw).
    Control(String),
    /// The set-up did not complete as the profile describes (a flow answered an unexpected
    /// status, an extractor found nothing).
    Setup(String),
    /// A scripted model rule's control disagreed with the model: its fixed set-up, or a
    /// genuine action the model expected to work was refused. The check itself could not
    /// run; the finding shows the sequence.
    ControlDisagreement(Box<Finding>),
    /// Answers matched neither the profile's allowed nor its denied classifier.
    Unclassified(String),
    /// Every check of the rule was vacuous (see the notes).
    Vacuous,
    /// A failure did not reproduce when its case was run again (the shrunk value re-sent,
    /// the sequence or scenario re-run from scratch), so it may have been a transient fault;
    /// both observations are kept, the transcripts of both runs are the evidence.
    NotReproduced {
        /// The would-be failure of the first run.
        first: Box<Finding>,
        /// What the re-run saw, e.g. `denied (status 401)`.
        rerun: String,
    },
    /// The run's budget (`--budget`, `limits.budget`) ran out before the rule finished, or
    /// left too little for even its minimum of cases or sequences (the text says which).
    Budget(String),
}

impl fmt::Display for Inconclusive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inconclusive::Control(what) => write!(f, "positive control failed: {what}"),
            Inconclusive::Setup(what) => write!(f, "could not complete the set-up: {what}"),
            Inconclusive::ControlDisagreement(x) => f.write_str(&x.reason),
            Inconclusive::Unclassified(what) => f.write_str(what),
            Inconclusive::Vacuous => {
                f.write_str("every check of this scenario was vacuous (see notes)")
            }
            Inconclusive::NotReproduced { first, rerun } => write!(
                f,
                "failed once, not reproduced on re-run: first {}; re-run: {rerun}",
                first.reason
            ),
            Inconclusive::Budget(why) => f.write_str(why),
        }
    }
}

/// Why a rule ended in an error.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RuleError {
    /// A request could not be sent or answered (connectivity, budget, origin); `context`
    /// says what was being done.
    Http {
        /// What was being done, e.g. `a case could not be sent`.
        context: Option<String>,
        /// The request error.
        error: Box<HttpError>,
    },
    /// authprobe could not prepare a probe (generate a key or cases, serve attacker material).
    Tooling(String),
    /// A bug in authprobe (a rule's task panicked, an invariant broke).
    Internal(&'static str),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::Http {
                context: Some(c),
                error,
            } => write!(f, "{c}: {error}"),
            RuleError::Http {
                context: None,
                error,
            } => write!(f, "{error}"),
            RuleError::Tooling(what) => f.write_str(what),
            RuleError::Internal(what) => write!(f, "internal error: {what}; please report this"),
        }
    }
}

/// One recorded request/response, redacted, with a curl line that replays it.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// Which step sent it, e.g. `step 4: logout (alice)`.
    pub step: String,
    /// The exchange, secrets redacted, bodies cut to [`EVIDENCE_BODY_BYTES`].
    pub exchange: Exchange,
    /// A curl command that sends the same request (secrets redacted).
    pub curl: String,
}

/// Longest body kept in evidence.
pub const EVIDENCE_BODY_BYTES: usize = 2048;

impl Evidence {
    /// Redacts and trims an exchange.
    pub fn new(step: impl Into<String>, exchange: &Exchange, redactor: &Redactor) -> Evidence {
        let mut ex = redactor.redact_exchange(exchange);
        let body = &mut ex.response.body;
        if body.len() > EVIDENCE_BODY_BYTES {
            let cut = body.len() - EVIDENCE_BODY_BYTES;
            body.truncate(EVIDENCE_BODY_BYTES);
            body.extend_from_slice(format!("… [{cut} more bytes]").as_bytes());
        }
        let curl = curl_line(&ex);
        Evidence {
            step: step.into(),
            exchange: ex,
            curl,
        }
    }
}

/// A generated case that broke the rule, shrunk.
#[derive(Debug, Clone, Serialize)]
pub struct Counterexample {
    /// The run seed that reproduces it (`--seed`).
    pub seed: u64,
    /// Cases generated before the failure was found (1-based index of the failing case).
    pub case: u32,
    /// Shrinking steps tried (each is one live request).
    pub shrink_steps: u32,
    /// The minimal input, in words (e.g. `substitute an A-Z character at position 16`).
    pub input: Vec<String>,
    /// What the server answered to the minimal input.
    pub observed: String,
    /// For `model` rules: the minimal operation sequence, step by step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<SequenceStep>,
    /// For `model` rules: a POSIX shell script of curl commands that replays the sequence
    /// (secrets are shell variables, never values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_script: Option<String>,
}

/// One executed operation of a model counterexample.
#[derive(Debug, Clone, Serialize)]
pub struct SequenceStep {
    /// 1-based step number.
    pub step: u32,
    /// The operation in words.
    pub operation: String,
    /// What the reference model predicted.
    pub expected: String,
    /// What the service did.
    pub observed: String,
    /// True for the step that disagrees with the model (the last one).
    pub failing: bool,
    /// True for a fixed set-up step of a scripted rule.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub setup: bool,
}

/// How one token fared in a rule that judges each token of a login (the access token and the
/// OpenID Connect ID token): the rule's outcome is the worst of its parts.
#[derive(Debug, Clone, Serialize)]
pub struct TokenPart {
    /// Which token: `access_token` or `id_token`.
    pub token: TokenRole,
    /// How the rule ended for it.
    pub status: Status,
    /// What was judged and why it ended so (the part's reason, or what a pass showed).
    pub summary: String,
}

/// What a rule's run concluded, before the rule's metadata is attached: the outcome, the
/// transcript that shows it, notes and the requests it sent.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// How the rule ended.
    pub outcome: Outcome,
    /// Per token, when the rule judged more than one (empty otherwise).
    pub tokens: Box<[TokenPart]>,
    /// The minimal request transcript (redacted).
    pub evidence: Vec<Evidence>,
    /// What was checked, and anything that could not be (one line each).
    pub notes: Vec<String>,
    /// Requests the rule sent.
    pub requests: u64,
    /// How much of its generated work the rule ran, when a budget is in force (boxed: a
    /// verdict is often an error value, kept small).
    pub coverage: Option<Box<Coverage>>,
}

impl Verdict {
    /// A verdict with no evidence, notes or requests yet.
    pub fn new(outcome: Outcome) -> Verdict {
        Verdict {
            outcome,
            tokens: Box::default(),
            evidence: Vec::new(),
            notes: Vec::new(),
            requests: 0,
            coverage: None,
        }
    }

    /// With `coverage`.
    pub fn coverage(mut self, coverage: Coverage) -> Verdict {
        self.coverage = Some(Box::new(coverage));
        self
    }

    /// With `coverage`, when there is one.
    pub(crate) fn with_coverage(mut self, coverage: Option<Box<Coverage>>) -> Verdict {
        self.coverage = coverage.or(self.coverage);
        self
    }

    /// A pass with one note saying what was shown.
    pub fn pass(note: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Pass).note(note)
    }

    /// A skip because the target gives the rule nothing to test.
    pub fn not_applicable(why: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Skip(Skip::NotApplicable(why.into())))
    }

    /// An inconclusive verdict.
    pub fn inconclusive(why: Inconclusive) -> Verdict {
        Verdict::new(Outcome::Inconclusive(why))
    }

    /// An error verdict.
    pub fn error(e: RuleError) -> Verdict {
        Verdict::new(Outcome::Error(e))
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> Verdict {
        self.notes.push(note.into());
        self
    }

    /// Adds notes.
    pub fn notes(mut self, notes: impl IntoIterator<Item = String>) -> Verdict {
        self.notes.extend(notes);
        self
    }

    /// Sets the evidence.
    pub fn evidence(mut self, evidence: Vec<Evidence>) -> Verdict {
        self.evidence = evidence;
        self
    }

    /// Sets the request count.
    pub fn requests(mut self, requests: u64) -> Verdict {
        self.requests = requests;
        self
    }

    /// Attaches structured details to the finding (nothing without one).
    pub fn details(mut self, details: serde_json::Value) -> Verdict {
        if let Outcome::Fail(f) = &mut self.outcome {
            f.details = Some(details);
        }
        self
    }
}

/// The outcome of one rule, with its metadata, as reported.
#[derive(Debug, Clone)]
pub struct RuleResult {
    /// Rule id.
    pub id: String,
    /// The profile's auth mode (`modes:`) the rule ran in; `None` when the profile has one
    /// mode (then no report shows a mode).
    pub mode: Option<String>,
    /// Rule title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// `must` or `should`.
    pub level: Level,
    /// The normative sentence.
    pub requirement: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Per token (access token, ID token), when the rule judged more than one; the outcome is
    /// the worst of them. Empty when only one token (or none) was judged.
    pub tokens: Vec<TokenPart>,
    /// The minimal request transcript (failures, inconclusive and errors).
    pub evidence: Vec<Evidence>,
    /// What was checked, and anything that could not be (one line each).
    pub notes: Vec<String>,
    /// Requests this rule sent.
    pub requests: u64,
    /// Wall time of the rule.
    pub duration_ms: u64,
    /// How much of its generated work the rule ran, when a budget is in force.
    pub coverage: Option<Coverage>,
}

impl RuleResult {
    /// The result of `rule` with `verdict`.
    pub fn new(rule: &Rule, verdict: Verdict) -> RuleResult {
        RuleResult {
            id: rule.id.to_string(),
            mode: None,
            title: rule.title.clone(),
            severity: rule.severity,
            level: rule.level,
            requirement: rule.requirement.clone(),
            outcome: verdict.outcome,
            tokens: verdict.tokens.into_vec(),
            evidence: verdict.evidence,
            notes: verdict.notes,
            requests: verdict.requests,
            duration_ms: 0,
            coverage: verdict.coverage.map(|c| *c),
        }
    }

    /// How it ended.
    pub fn status(&self) -> Status {
        self.outcome.status()
    }

    /// The rule as reports show it: its id, and with several auth modes the mode beside it
    /// (`cookie.http-only [browser]`).
    pub fn label(&self) -> String {
        match &self.mode {
            Some(m) => format!("{} [{m}]", self.id),
            None => self.id.clone(),
        }
    }

    /// What a replay line adds to `--seed N` for a rule that ran in one of several auth
    /// modes (` --only id@mode`: the rule in that mode); nothing with one mode.
    pub fn replay_only(&self) -> String {
        match &self.mode {
            Some(_) => format!(" --only {}", self.key()),
            None => String::new(),
        }
    }

    /// The rule's key in baselines, gates, `--only` and the machine-readable reports: its
    /// id, and with several auth modes `id@mode` (`cookie.http-only@browser`).
    pub fn key(&self) -> String {
        match &self.mode {
            Some(m) => format!("{}@{m}", self.id),
            None => self.id.clone(),
        }
    }

    /// Why (for fail, skip, inconclusive, error): one line; `None` for a pass.
    pub fn reason(&self) -> Option<String> {
        match self.outcome {
            Outcome::Pass => None,
            _ => Some(self.outcome.to_string()),
        }
    }

    /// What the rule expected to see (failures).
    pub fn expected(&self) -> Option<&str> {
        self.outcome.finding().map(|f| f.expected.as_str())
    }

    /// What it saw (failures).
    pub fn observed(&self) -> Option<&str> {
        self.outcome.finding().map(|f| f.observed.as_str())
    }

    /// The shrunk generated case (property and model failures).
    pub fn counterexample(&self) -> Option<&Counterexample> {
        self.outcome
            .finding()
            .and_then(|f| f.counterexample.as_ref())
    }

    /// Structured details of the finding, if it has any.
    pub fn details(&self) -> Option<&serde_json::Value> {
        self.outcome.finding().and_then(|f| f.details.as_ref())
    }
}

impl RuleResult {
    /// Redacts in place every text of the result that may hold target data: the outcome's
    /// reasons, observations and counterexample (operations, observations, replay script),
    /// the notes and the evidence (again: a secret may have been registered since it was
    /// made). Only the rule's own metadata (id, title, requirement) is left as it is.
    pub fn redact(&mut self, redactor: &Redactor) {
        let r = |t: &mut String| *t = redactor.redact(t);
        redact_outcome(&mut self.outcome, redactor);
        self.notes.iter_mut().for_each(r);
        self.tokens.iter_mut().for_each(|p| r(&mut p.summary));
        for e in &mut self.evidence {
            e.step = redactor.redact(&e.step);
            e.exchange = redactor.redact_exchange(&e.exchange);
            e.curl = redactor.redact(&e.curl);
        }
    }
}

fn redact_outcome(outcome: &mut Outcome, redactor: &Redactor) {
    let r = |t: &mut String| *t = redactor.redact(t);
    match outcome {
        Outcome::Pass => {}
        Outcome::Fail(f)
        | Outcome::Inconclusive(Inconclusive::ControlDisagreement(f))
        | Outcome::Inconclusive(Inconclusive::NotReproduced { first: f, .. }) => {
            redact_finding(f, redactor)
        }
        Outcome::Skip(Skip::NotApplicable(t)) => r(t),
        Outcome::Skip(_) => {}
        Outcome::Inconclusive(i) => match i {
            Inconclusive::Control(t) | Inconclusive::Setup(t) | Inconclusive::Unclassified(t) => {
                r(t)
            }
            _ => {}
        },
        Outcome::Error(RuleError::Http { context, error }) => {
            context.iter_mut().for_each(r);
            r(&mut error.url);
            r(&mut error.message);
        }
        Outcome::Error(RuleError::Tooling(t)) => r(t),
        Outcome::Error(_) => {}
    }
    if let Outcome::Inconclusive(Inconclusive::NotReproduced { rerun, .. }) = outcome {
        r(rerun);
    }
}

fn redact_finding(f: &mut Finding, redactor: &Redactor) {
    let r = |t: &mut String| *t = redactor.redact(t);
    r(&mut f.reason);
    r(&mut f.expected);
    r(&mut f.observed);
    if let Some(d) = &mut f.details {
        redact_json(d, redactor);
    }
    if let Some(c) = &mut f.counterexample {
        c.input.iter_mut().for_each(r);
        r(&mut c.observed);
        for s in &mut c.steps {
            r(&mut s.operation);
            r(&mut s.expected);
            r(&mut s.observed);
        }
        if let Some(script) = &mut c.replay_script {
            // Secrets are shell variables in a script; anything still registered becomes a
            // placeholder (the script then says what is missing rather than leak it).
            r(script);
        }
    }
}

/// Redacts every string (keys included) of a JSON value in place.
fn redact_json(v: &mut serde_json::Value, redactor: &Redactor) {
    use serde_json::Value;
    match v {
        Value::String(s) => *s = redactor.redact(s),
        Value::Array(items) => items.iter_mut().for_each(|i| redact_json(i, redactor)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut v) in old {
                redact_json(&mut v, redactor);
                map.insert(redactor.redact(&k), v);
            }
        }
        _ => {}
    }
}

impl Serialize for RuleResult {
    /// The flat v1 shape: `status`, `reason`, `expected`, `observed`, `evidence`,
    /// `counterexample` are derived from the typed outcome.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            mode: Option<&'a str>,
            title: &'a str,
            severity: Severity,
            level: Level,
            requirement: &'a str,
            status: Status,
            reason: Option<String>,
            expected: Option<&'a str>,
            observed: Option<&'a str>,
            evidence: &'a [Evidence],
            counterexample: Option<&'a Counterexample>,
            #[serde(skip_serializing_if = "Option::is_none")]
            details: Option<&'a serde_json::Value>,
            notes: &'a [String],
            #[serde(skip_serializing_if = "<[TokenPart]>::is_empty")]
            tokens: &'a [TokenPart],
            requests: u64,
            duration_ms: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            coverage: Option<&'a Coverage>,
        }
        Wire {
            id: &self.id,
            mode: self.mode.as_deref(),
            title: &self.title,
            severity: self.severity,
            level: self.level,
            requirement: &self.requirement,
            status: self.status(),
            reason: self.reason(),
            expected: self.expected(),
            observed: self.observed(),
            evidence: &self.evidence,
            counterexample: self.counterexample(),
            details: self.details(),
            notes: &self.notes,
            tokens: &self.tokens,
            requests: self.requests,
            duration_ms: self.duration_ms,
            coverage: self.coverage.as_ref(),
        }
        .serialize(s)
    }
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Passed rules.
    pub pass: u32,
    /// Failed rules.
    pub fail: u32,
    /// Skipped rules.
    pub skip: u32,
    /// Inconclusive rules.
    pub inconclusive: u32,
    /// Rules that ended in an error.
    pub error: u32,
}

impl Summary {
    /// Counts the results.
    pub fn of(results: &[RuleResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            match r.status() {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Skip => s.skip += 1,
                Status::Inconclusive => s.inconclusive += 1,
                Status::Error => s.error += 1,
            }
        }
        s
    }
}

/// The tool that wrote a report.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    /// `authprobe`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// The target of a run, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    /// Profile name.
    pub name: String,
    /// Base URL.
    pub base_url: String,
    /// The other instances the revocation rules replayed on (the profile's `replicas`, as
    /// origins); left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<String>,
    /// The profile's auth modes the rules ran in (`modes:`, the top level as `default`);
    /// left out when the profile has one mode.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modes: Vec<String>,
    /// The session cookie the run used.
    pub session_cookie: Option<String>,
    /// How the run was sized to the service: rules and cases in flight, the per-request
    /// timeout, the measured login latency, and why any of them changed.
    pub limits: super::sizing::RunLimits,
}

impl TargetInfo {
    /// `; auth modes api, browser` for a run over several auth modes; nothing with one.
    pub fn modes_words(&self) -> String {
        if self.modes.is_empty() {
            String::new()
        } else {
            format!("; auth modes {}", self.modes.join(", "))
        }
    }
}

/// What a run produced: schema `authprobe.report/v1` (the CI gate's decision is added by
/// the reporters when one was applied; the engine knows nothing of gating).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `authprobe.report/v1`.
    pub schema: &'static str,
    /// The tool.
    pub tool: Tool,
    /// What was tested.
    pub target: TargetInfo,
    /// The seed of every generated case (`--seed` replays them).
    pub seed: u64,
    /// Counts per status.
    pub summary: Summary,
    /// One result per selected rule, in catalogue order.
    pub results: Vec<RuleResult>,
    /// Requests sent in the whole run.
    pub requests: u64,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// Why the run stopped before every rule finished (`interrupted by SIGTERM`); absent
    /// for a complete run. The rules that did not finish are skipped as not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// The report schema id.
pub const REPORT_SCHEMA: &str = "authprobe.report/v1";

impl Report {
    /// The report of a run of `target` that started at `started` and sent `requests`: this
    /// tool, the schema and the summary counted from `results`.
    pub(crate) fn assemble(
        target: TargetInfo,
        seed: u64,
        results: Vec<RuleResult>,
        (requests, started): (u64, std::time::Instant),
        incomplete: Option<String>,
    ) -> Report {
        Report {
            schema: REPORT_SCHEMA,
            tool: Tool {
                name: "authprobe",
                version: env!("CARGO_PKG_VERSION"),
            },
            target,
            seed,
            summary: Summary::of(&results),
            results,
            requests,
            duration_ms: started.elapsed().as_millis() as u64,
            incomplete,
        }
    }
}
