//! Reference state machines: what a service that keeps its declared promises answers to any
//! sequence of session or token operations.
//!
//! This module owns the *meaning* of logout, revocation and refresh as pure state: each
//! machine has operations (what a test may do), a precondition (whether an operation makes
//! sense in the current state: [`session::SessionModel::plan`], [`refresh::RefreshModel::plan`])
//! and a transition that compares what the service answered with what the model predicts and
//! then moves to the next state. Neither machine does I/O or knows HTTP: `engine::model`
//! executes the planned operations against the live service and feeds back what it observed.
//!
//! The predictions come from [`SessionSemantics`] and [`RefreshSemantics`], the service's
//! declared policy (spec defaults, overridden by the rule, overridden by the profile), so
//! `reuse: allow` with `rotation: optional` describes a different, still coherent, service.
//! That vocabulary lives in the `units` leaf (re-exported here); this module must not import
//! `spec`, which uses it too.

pub mod refresh;
pub mod session;

// The declared semantics, at their former path.
pub use crate::units::{
    LogoutScope, RefreshSemantics, RefreshSemanticsOverrides, SessionSemantics,
    SessionSemanticsOverrides,
};

/// What a request to the protected resource answered, in the profile's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The `allowed` classifier matched.
    Allowed,
    /// Refused (not allowed, not a server error).
    Denied,
    /// A 5xx answer.
    ServerError,
    /// Neither classifier matched.
    Unexpected,
}

impl Answer {
    /// Lowercase words.
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Allowed => "allowed",
            Answer::Denied => "denied",
            Answer::ServerError => "server error",
            Answer::Unexpected => "neither allowed nor denied",
        }
    }
}

/// What the model predicts for an access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prediction {
    /// Must be allowed.
    Allowed,
    /// Must be denied.
    Denied,
    /// Either is acceptable (the declared semantics leave it open), but never a server error.
    Either,
}

impl Prediction {
    /// Whether `answer` agrees with the prediction.
    pub fn admits(self, answer: Answer) -> bool {
        match self {
            Prediction::Allowed => answer == Answer::Allowed,
            Prediction::Denied => answer == Answer::Denied,
            Prediction::Either => matches!(answer, Answer::Allowed | Answer::Denied),
        }
    }

    /// Lowercase words.
    pub fn as_str(self) -> &'static str {
        match self {
            Prediction::Allowed => "allowed",
            Prediction::Denied => "denied",
            Prediction::Either => "allowed or denied",
        }
    }
}

/// The model's verdict on one executed operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// What the model predicted, in words.
    pub expected: String,
    /// Whether the observation agrees.
    pub ok: bool,
    /// Why the step could not exercise what it names under the declared semantics (e.g. a
    /// double spend of a token that is not single-use), when it could not.
    pub vacuous: Option<String>,
    /// The step is a genuine action the model expected to work (a login, an access with a
    /// live credential, a refresh grant with the current token, a logout, a revocation) and
    /// the service refused it: a failed positive control rather than a broken promise,
    /// unless working is what the rule judges.
    pub genuine_refused: bool,
}

impl Verdict {
    /// A verdict.
    pub fn new(expected: impl Into<String>, ok: bool) -> Verdict {
        Verdict {
            expected: expected.into(),
            ok,
            vacuous: None,
            genuine_refused: false,
        }
    }

    /// A verdict on a genuine action that was expected to work: `refused` when it did not.
    pub fn genuine(expected: impl Into<String>, ok: bool) -> Verdict {
        Verdict {
            genuine_refused: !ok,
            ..Verdict::new(expected, ok)
        }
    }

    /// This verdict, marked as not exercising what its step names.
    pub fn vacuous(mut self, why: impl Into<String>) -> Verdict {
        self.vacuous = Some(why.into());
        self
    }
}

/// The verdict on an access: an access the model expected to be allowed that was denied is
/// a genuine credential refused.
pub(crate) fn access_verdict(expect: Prediction, answer: Answer) -> Verdict {
    Verdict {
        genuine_refused: expect == Prediction::Allowed && answer == Answer::Denied,
        ..Verdict::new(expect.as_str(), expect.admits(answer))
    }
}

/// Picks the `back`-th entry counting back from the newest of `len` entries (wrapping), the
/// way operations name families and tokens: 0 is the newest. `None` when there is none.
pub fn from_newest(len: usize, back: u8) -> Option<usize> {
    (len > 0).then(|| len - 1 - usize::from(back) % len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_newest_wraps_and_handles_empty() {
        assert_eq!(from_newest(0, 0), None);
        assert_eq!(from_newest(3, 0), Some(2));
        assert_eq!(from_newest(3, 1), Some(1));
        assert_eq!(from_newest(3, 5), Some(0));
    }

    #[test]
    fn predictions_never_admit_server_errors() {
        for p in [Prediction::Allowed, Prediction::Denied, Prediction::Either] {
            assert!(!p.admits(Answer::ServerError));
            assert!(!p.admits(Answer::Unexpected));
        }
        assert!(Prediction::Either.admits(Answer::Denied));
    }
}
