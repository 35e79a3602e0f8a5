//! Outcomes: one [`RuleResult`] per rule and the run's [`Report`] (the JSON report v1).

use serde::Serialize;

use crate::http::{Exchange, Redactor, curl_line};
use crate::spec::{Level, Rule, Severity};

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
        for body in [&mut ex.response.body] {
            if body.len() > EVIDENCE_BODY_BYTES {
                let cut = body.len() - EVIDENCE_BODY_BYTES;
                body.truncate(EVIDENCE_BODY_BYTES);
                body.extend_from_slice(format!("… [{cut} more bytes]").as_bytes());
            }
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
    /// The minimal input, in words (e.g. `substitute 'Q' for 'f' at position 16`).
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

/// The outcome of one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    /// Rule id.
    pub id: String,
    /// Rule title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// `must` or `should`.
    pub level: Level,
    /// The normative sentence.
    pub requirement: String,
    /// How it ended.
    pub status: Status,
    /// Why (for fail, skip, inconclusive, error): one line.
    pub reason: Option<String>,
    /// What the rule expected to see (failures).
    pub expected: Option<String>,
    /// What it saw (failures).
    pub observed: Option<String>,
    /// The minimal request transcript (failures, inconclusive and errors).
    pub evidence: Vec<Evidence>,
    /// The shrunk generated case, for property failures.
    pub counterexample: Option<Box<Counterexample>>,
    /// What was checked, and anything that could not be (one line each).
    pub notes: Vec<String>,
    /// Requests this rule sent.
    pub requests: u64,
    /// Wall time of the rule.
    pub duration_ms: u64,
}

impl RuleResult {
    /// A blank result for `rule` with the given status.
    pub fn new(rule: &Rule, status: Status) -> RuleResult {
        RuleResult {
            id: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            level: rule.level,
            requirement: rule.requirement.clone(),
            status,
            reason: None,
            expected: None,
            observed: None,
            evidence: Vec::new(),
            counterexample: None,
            notes: Vec::new(),
            requests: 0,
            duration_ms: 0,
        }
    }

    /// Sets the reason.
    pub fn because(mut self, reason: impl Into<String>) -> RuleResult {
        self.reason = Some(reason.into());
        self
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
            match r.status {
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
    /// The session cookie the run used.
    pub session_cookie: Option<String>,
}

/// The JSON report, schema `authprobe.report/v1`. Later versions add fields; they never
/// rename these.
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
    /// The CI gate's decision (`--fail-on`, `--strict`, `--baseline`), when one was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<crate::gate::Gate>,
}

/// The report schema id.
pub const REPORT_SCHEMA: &str = "authprobe.report/v1";

impl Report {
    /// The process exit code for this report: 1 if a rule failed; 3 if nothing could be
    /// shown to pass or fail because every tested rule was inconclusive or errored; 3 also
    /// when some rules were inconclusive or errored and none failed (the target could not
    /// be fully tested); 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        if let Some(g) = &self.gate {
            return crate::gate::exit_code(self, g);
        }
        let s = self.summary;
        if s.fail > 0 {
            1
        } else if s.inconclusive + s.error > 0 {
            3
        } else {
            0
        }
    }
}
