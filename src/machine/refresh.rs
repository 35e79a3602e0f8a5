//! The refresh-token family: each token login starts a family (an access token and a refresh
//! token); refresh grants exchange a refresh token for new tokens; reuse of a retired refresh
//! token, logout and RFC 7009 revocation end families or tokens.
//!
//! State per family: every refresh token received (live, retired at a time, or revoked),
//! every access token received (revoked or not, with its `exp`), and whether the family has
//! ended. After a concurrent double refresh under `reuse: revoke_family` the family's state
//! depends on the order the service processed the two requests, so the model stops predicting
//! its refresh tokens (it still predicts its access tokens).

use serde::{Deserialize, Serialize};

use super::{Answer, Prediction, Verdict, from_newest};
use crate::units::{
    AccessAfter, RefreshAfterLogout, RefreshSemantics, Reuse, RevocationScope, Rotation,
};

/// Which kind of token a revocation names.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// The family's current refresh token.
    #[default]
    Refresh,
    /// The family's newest access token.
    Access,
}

/// The `token_type_hint` sent with a revocation.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    /// No hint.
    #[default]
    None,
    /// The right type.
    Right,
    /// The other type (RFC 7009 §2.1: the server must still find the token).
    Wrong,
}

/// One operation on the refresh machine. `family: 0` is the newest login's family, 1 the one
/// before; `back: 0` is the newest token of the family, 1 the one before (wrapping).
///
/// ```yaml
/// - login
/// - refresh: {back: 1}        # reuse the previous refresh token
/// - access: {}                # the newest access token
/// - revoke: {token: refresh, hint: wrong}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RefreshOp {
    /// Token login: a new family.
    Login,
    /// The protected request with one of the family's access tokens.
    Access {
        /// Which family.
        #[serde(default)]
        family: u8,
        /// Which access token.
        #[serde(default)]
        back: u8,
    },
    /// A refresh grant with one of the family's refresh tokens.
    Refresh {
        /// Which family.
        #[serde(default)]
        family: u8,
        /// Which refresh token (0: current; 1 or more: a retired one, i.e. reuse).
        #[serde(default)]
        back: u8,
    },
    /// Two simultaneous refresh grants with the family's current refresh token.
    RefreshConcurrent {
        /// Which family.
        #[serde(default)]
        family: u8,
    },
    /// The token logout flow with the family's newest tokens.
    Logout {
        /// Which family.
        #[serde(default)]
        family: u8,
    },
    /// RFC 7009 revocation of the family's current refresh token or newest access token.
    Revoke {
        /// Which family.
        #[serde(default)]
        family: u8,
        /// Which token.
        #[serde(default)]
        token: TokenKind,
        /// The hint.
        #[serde(default)]
        hint: Hint,
    },
    /// RFC 7009 revocation of a token the service never issued (must answer 200).
    RevokeUnknown,
}

impl RefreshOp {
    /// The operation in words.
    pub fn describe(&self) -> String {
        let fam = |f: u8| match f {
            0 => "the newest family".to_string(),
            n => format!("the family of {n} logins before the newest"),
        };
        let back = |b: u8, what: &str| match b {
            0 => format!("its newest {what}"),
            1 => format!("its previous {what}"),
            n => format!("its {what} from {n} issues back"),
        };
        match *self {
            RefreshOp::Login => "token login (a new family)".to_string(),
            RefreshOp::Access { family, back: b } => format!(
                "protected request with {}'s {}",
                fam(family),
                back(b, "access token").trim_start_matches("its ")
            ),
            RefreshOp::Refresh { family, back: b } => format!(
                "refresh grant with {}'s {}",
                fam(family),
                match b {
                    0 => "current refresh token".to_string(),
                    1 => "previous refresh token (reuse)".to_string(),
                    n => format!("refresh token from {n} rotations back (reuse)"),
                }
            ),
            RefreshOp::RefreshConcurrent { family } => format!(
                "two simultaneous refresh grants with {}'s current refresh token",
                fam(family)
            ),
            RefreshOp::Logout { family } => format!("token logout of {}", fam(family)),
            RefreshOp::Revoke {
                family,
                token,
                hint,
            } => format!(
                "RFC 7009 revocation of {}'s {} ({})",
                fam(family),
                match token {
                    TokenKind::Refresh => "current refresh token",
                    TokenKind::Access => "newest access token",
                },
                match hint {
                    Hint::None => "no token_type_hint",
                    Hint::Right => "the right token_type_hint",
                    Hint::Wrong => "the wrong token_type_hint",
                }
            ),
            RefreshOp::RevokeUnknown => {
                "RFC 7009 revocation of a token the service never issued".to_string()
            }
        }
    }

    /// Simpler variants of the operation, for shrinking (the newest family and token, no
    /// hint).
    pub fn simpler(&self) -> Vec<RefreshOp> {
        let mut out = Vec::new();
        match *self {
            RefreshOp::Access { family, back } | RefreshOp::Refresh { family, back } => {
                let make = |family, back| match self {
                    RefreshOp::Access { .. } => RefreshOp::Access { family, back },
                    _ => RefreshOp::Refresh { family, back },
                };
                if family > 0 {
                    out.push(make(0, back));
                }
                if back > 1 {
                    out.push(make(family, 1));
                }
            }
            RefreshOp::RefreshConcurrent { family } if family > 0 => {
                out.push(RefreshOp::RefreshConcurrent { family: 0 });
            }
            RefreshOp::Logout { family } if family > 0 => {
                out.push(RefreshOp::Logout { family: 0 });
            }
            RefreshOp::Revoke {
                family,
                token,
                hint,
            } => {
                if family > 0 {
                    out.push(RefreshOp::Revoke {
                        family: 0,
                        token,
                        hint,
                    });
                }
                if hint != Hint::None {
                    out.push(RefreshOp::Revoke {
                        family,
                        token,
                        hint: Hint::None,
                    });
                }
            }
            _ => {}
        }
        out
    }

    /// Whether the operation needs the token logout flow.
    pub fn needs_logout(&self) -> bool {
        matches!(self, RefreshOp::Logout { .. })
    }

    /// Whether the operation needs the revocation endpoint.
    pub fn needs_revocation(&self) -> bool {
        matches!(self, RefreshOp::Revoke { .. } | RefreshOp::RevokeUnknown)
    }
}

/// What a refresh grant must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Succeed with a new access token (and rotate as the semantics say).
    Granted,
    /// Be refused (4xx).
    Refused,
    /// Either.
    Either,
}

/// An operation resolved against the state.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshPlan {
    /// Token login.
    Login,
    /// Access with `family`'s access token number `token`.
    Access {
        /// Family index (oldest first).
        family: usize,
        /// Access-token index in the family (oldest first).
        token: usize,
        /// Prediction.
        expect: Prediction,
    },
    /// Refresh with `family`'s refresh token number `token`.
    Refresh {
        /// Family index.
        family: usize,
        /// Refresh-token index.
        token: usize,
        /// Prediction.
        expect: Grant,
    },
    /// Two simultaneous refreshes with `family`'s refresh token number `token`.
    Concurrent {
        /// Family index.
        family: usize,
        /// Refresh-token index.
        token: usize,
        /// Prediction for one refresh alone.
        expect: Grant,
    },
    /// Token logout with the family's newest access token and current refresh token.
    Logout {
        /// Family index.
        family: usize,
        /// Newest access token.
        access: usize,
        /// Current refresh token.
        refresh: usize,
        /// Whether the logout must complete (its access token is predicted to work).
        must_complete: bool,
    },
    /// Revocation of a token of the family.
    Revoke {
        /// Family index.
        family: usize,
        /// Which kind.
        kind: TokenKind,
        /// Index in the family's list of that kind.
        token: usize,
        /// Hint.
        hint: Hint,
    },
    /// Revocation of an unknown token.
    RevokeUnknown,
}

/// What the refresh grant answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshAnswer {
    /// 2xx with an access token.
    Granted {
        /// The access token differs from every access token received before.
        new_access: bool,
        /// What came back in place of the refresh token.
        refresh: Returned,
        /// The new access token's `exp`, when readable.
        exp: Option<i64>,
    },
    /// A 4xx refusal (status).
    Refused(u16),
    /// Anything else (5xx, 2xx without an access token), in words.
    Broken(String),
}

/// The refresh token in a granted refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// A token never seen before (rotation).
    New,
    /// The token that was presented.
    Same,
    /// None.
    Absent,
}

/// What the service did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshObs {
    /// The token login completed (with or without a refresh token, access-token `exp`) or
    /// failed.
    Login(Result<(bool, Option<i64>), String>),
    /// The protected request answered.
    Access(Answer),
    /// One refresh grant answered.
    Refresh(RefreshAnswer),
    /// Two simultaneous refresh grants answered.
    Concurrent(RefreshAnswer, RefreshAnswer),
    /// A flow (logout) completed or failed.
    Flow(Result<(), String>),
    /// The revocation endpoint answered with this status.
    Revoked(u16),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RState {
    Live,
    /// Retired by rotation at this time (seconds).
    Retired(f64),
    Revoked,
}

#[derive(Debug, Clone)]
struct AToken {
    revoked: bool,
    exp: Option<i64>,
}

#[derive(Debug, Clone)]
struct Family {
    refresh: Vec<RState>,
    access: Vec<AToken>,
    /// Ended by logout (true) or otherwise (false).
    ended: Option<bool>,
    /// The model no longer predicts this family's refresh tokens.
    uncertain: bool,
    /// One of its access tokens was revoked and the semantics allow that to end the grant:
    /// until a refresh shows whether it did, refreshes and its other access tokens may go
    /// either way.
    grant_maybe_revoked: bool,
}

/// The reference refresh-token machine.
#[derive(Debug, Clone)]
pub struct RefreshModel {
    semantics: RefreshSemantics,
    families: Vec<Family>,
}

/// Seconds either side of an access token's `exp` in which the model predicts nothing.
const EXP_SLACK: f64 = 2.0;

impl RefreshModel {
    /// A fresh machine without families.
    pub fn new(semantics: RefreshSemantics) -> Self {
        RefreshModel {
            semantics,
            families: Vec::new(),
        }
    }

    /// The families a new sequence may take as if it had just logged in, with how many
    /// refresh and access tokens each had: not ended, predicted with certainty, its newest
    /// refresh token live and its newest access token neither revoked nor within
    /// `min_left` seconds of its `exp` at `now`. (A login gives exactly that: a live grant
    /// with one refresh and one access token; the older tokens a new sequence never names.)
    pub fn reusable(&self, now: f64, min_left: f64) -> Vec<(usize, usize, usize)> {
        self.families
            .iter()
            .enumerate()
            .filter(|(_, f)| f.ended.is_none() && !f.uncertain && !f.grant_maybe_revoked)
            .filter(|(_, f)| matches!(f.refresh.last(), Some(RState::Live)))
            .filter(|(_, f)| {
                f.access.last().is_some_and(|t| {
                    !t.revoked && t.exp.is_none_or(|exp| exp as f64 - now > min_left)
                })
            })
            .map(|(i, f)| (i, f.refresh.len(), f.access.len()))
            .collect()
    }

    fn family_ref(&self, back: u8) -> Option<usize> {
        from_newest(self.families.len(), back)
    }

    fn access_prediction(&self, f: &Family, t: &AToken, now: f64) -> Prediction {
        let s = &self.semantics;
        if let Some(exp) = t.exp {
            let exp = exp as f64;
            if now > exp + EXP_SLACK {
                return Prediction::Denied;
            }
            if now > exp - EXP_SLACK {
                return Prediction::Either;
            }
        }
        // `allowed_until_expiry` is what a stateless token may do; refusing earlier is
        // stricter and agrees too (the revocation window note reports which it was).
        let after = |a: AccessAfter| match a {
            AccessAfter::Rejected => Prediction::Denied,
            AccessAfter::AllowedUntilExpiry => Prediction::Either,
        };
        if t.revoked {
            return after(s.access_after_revocation);
        }
        if f.ended.is_some() {
            return after(s.access_after_logout);
        }
        if f.grant_maybe_revoked {
            return Prediction::Either;
        }
        Prediction::Allowed
    }

    fn grant_prediction(&self, f: &Family, token: usize, now: f64) -> Grant {
        let s = &self.semantics;
        if f.uncertain || (f.grant_maybe_revoked && f.ended.is_none()) {
            return Grant::Either;
        }
        if let Some(by_logout) = f.ended {
            return if by_logout && s.refresh_after_logout == RefreshAfterLogout::Allowed {
                Grant::Either
            } else {
                Grant::Refused
            };
        }
        match f.refresh[token] {
            RState::Live => Grant::Granted,
            RState::Revoked => Grant::Refused,
            RState::Retired(at) => {
                if now - at < s.grace_seconds.0 as f64 {
                    Grant::Granted
                } else {
                    match s.reuse {
                        Reuse::RevokeFamily | Reuse::Reject => Grant::Refused,
                        Reuse::Allow => Grant::Either,
                    }
                }
            }
        }
    }

    /// Why `plan` does not send what `op` asks for (call before [`Self::apply`]): an
    /// operation that names an earlier token than the family ever had (`back: 1` when no
    /// refresh grant rotated the token) resolves to a newer one, so it tests nothing of reuse.
    pub fn unmet(&self, op: &RefreshOp, plan: &RefreshPlan) -> Option<String> {
        let (want, len, what) = match (op, plan) {
            (RefreshOp::Refresh { back, .. }, RefreshPlan::Refresh { family, .. }) => {
                (*back, self.families[*family].refresh.len(), "refresh")
            }
            (RefreshOp::Access { back, .. }, RefreshPlan::Access { family, .. }) => {
                (*back, self.families[*family].access.len(), "access")
            }
            _ => return None,
        };
        (usize::from(want) >= len).then(|| {
            let asked = match (what, want) {
                ("refresh", 1) => "the previous refresh token (a reuse)".to_string(),
                ("refresh", n) => format!("the refresh token from {n} rotations back (a reuse)"),
                (_, 1) => "the previous access token".to_string(),
                (_, n) => format!("the access token from {n} issues back"),
            };
            format!(
                "it sends {asked}, but the family holds only {len} {what} token{}: none was ever retired, so there is nothing to reuse",
                if len == 1 { "" } else { "s" }
            )
        })
    }

    /// `op` in words as `plan` resolved it in the current state (call before [`Self::apply`]):
    /// an operation that asked for an earlier token than the family has is labelled with the
    /// token it actually sends (e.g. the current refresh token, not a reuse).
    pub fn describe(&self, op: &RefreshOp, plan: &RefreshPlan) -> String {
        let fam_back = |fi: usize| (self.families.len().saturating_sub(1 + fi)) as u8;
        let back = |len: usize, index: usize| (len.saturating_sub(1 + index)) as u8;
        let resolved = match (op.clone(), plan) {
            (RefreshOp::Access { .. }, RefreshPlan::Access { family, token, .. }) => {
                RefreshOp::Access {
                    family: fam_back(*family),
                    back: back(self.families[*family].access.len(), *token),
                }
            }
            (RefreshOp::Refresh { .. }, RefreshPlan::Refresh { family, token, .. }) => {
                RefreshOp::Refresh {
                    family: fam_back(*family),
                    back: back(self.families[*family].refresh.len(), *token),
                }
            }
            (RefreshOp::RefreshConcurrent { .. }, RefreshPlan::Concurrent { family, .. }) => {
                RefreshOp::RefreshConcurrent {
                    family: fam_back(*family),
                }
            }
            (RefreshOp::Logout { .. }, RefreshPlan::Logout { family, .. }) => RefreshOp::Logout {
                family: fam_back(*family),
            },
            (RefreshOp::Revoke { token, hint, .. }, RefreshPlan::Revoke { family, .. }) => {
                RefreshOp::Revoke {
                    family: fam_back(*family),
                    token,
                    hint,
                }
            }
            (op, _) => op,
        };
        resolved.describe()
    }

    /// Resolves `op` at time `now` (Unix seconds); `None` when its precondition fails.
    pub fn plan(&self, op: &RefreshOp, now: f64) -> Option<RefreshPlan> {
        match *op {
            RefreshOp::Login => Some(RefreshPlan::Login),
            RefreshOp::Access { family, back } => {
                let fi = self.family_ref(family)?;
                let f = &self.families[fi];
                let token = from_newest(f.access.len(), back)?;
                let expect = self.access_prediction(f, &f.access[token], now);
                Some(RefreshPlan::Access {
                    family: fi,
                    token,
                    expect,
                })
            }
            RefreshOp::Refresh { family, back } => {
                let fi = self.family_ref(family)?;
                let f = &self.families[fi];
                let token = from_newest(f.refresh.len(), back)?;
                let expect = self.grant_prediction(f, token, now);
                Some(RefreshPlan::Refresh {
                    family: fi,
                    token,
                    expect,
                })
            }
            RefreshOp::RefreshConcurrent { family } => {
                let fi = self.family_ref(family)?;
                let f = &self.families[fi];
                let token = from_newest(f.refresh.len(), 0)?;
                let expect = self.grant_prediction(f, token, now);
                Some(RefreshPlan::Concurrent {
                    family: fi,
                    token,
                    expect,
                })
            }
            RefreshOp::Logout { family } => {
                let fi = self.family_ref(family)?;
                let f = &self.families[fi];
                let access = from_newest(f.access.len(), 0)?;
                let refresh = from_newest(f.refresh.len(), 0)?;
                let must_complete =
                    self.access_prediction(f, &f.access[access], now) == Prediction::Allowed;
                Some(RefreshPlan::Logout {
                    family: fi,
                    access,
                    refresh,
                    must_complete,
                })
            }
            RefreshOp::Revoke {
                family,
                token: kind,
                hint,
            } => {
                let fi = self.family_ref(family)?;
                let f = &self.families[fi];
                let len = match kind {
                    TokenKind::Refresh => f.refresh.len(),
                    TokenKind::Access => f.access.len(),
                };
                let token = from_newest(len, 0)?;
                Some(RefreshPlan::Revoke {
                    family: fi,
                    kind,
                    token,
                    hint,
                })
            }
            RefreshOp::RevokeUnknown => Some(RefreshPlan::RevokeUnknown),
        }
    }

    /// Checks one refresh answer against `expect`; returns the verdict's words and whether
    /// it agrees.
    fn judge_grant(&self, expect: Grant, answer: &RefreshAnswer) -> (String, bool) {
        let rotation = self.semantics.rotation;
        match expect {
            Grant::Granted => {
                let words = match rotation {
                    Rotation::Required => {
                        "granted: a new access token and a new refresh token (rotation: required)"
                    }
                    Rotation::None => {
                        "granted: a new access token, the same refresh token (rotation: none)"
                    }
                    Rotation::Optional => "granted: a new access token",
                };
                let ok = match answer {
                    RefreshAnswer::Granted {
                        new_access,
                        refresh,
                        ..
                    } => {
                        *new_access
                            && match rotation {
                                Rotation::Required => *refresh == Returned::New,
                                Rotation::None => *refresh != Returned::New,
                                Rotation::Optional => true,
                            }
                    }
                    _ => false,
                };
                (words.to_string(), ok)
            }
            Grant::Refused => (
                "refused".to_string(),
                matches!(answer, RefreshAnswer::Refused(_)),
            ),
            Grant::Either => (
                "granted or refused".to_string(),
                !matches!(answer, RefreshAnswer::Broken(_)),
            ),
        }
    }

    /// Applies a granted refresh of `token` in family `fi` at `now`.
    fn granted(&mut self, fi: usize, token: usize, answer: &RefreshAnswer, now: f64) {
        if let RefreshAnswer::Granted { refresh, exp, .. } = answer {
            let f = &mut self.families[fi];
            f.access.push(AToken {
                revoked: false,
                exp: *exp,
            });
            if *refresh == Returned::New {
                if f.refresh[token] == RState::Live {
                    f.refresh[token] = RState::Retired(now);
                }
                f.refresh.push(RState::Live);
            }
        }
    }

    fn end(&mut self, fi: usize, by_logout: bool) {
        let f = &mut self.families[fi];
        if f.ended.is_none() {
            f.ended = Some(by_logout);
        }
        for r in &mut f.refresh {
            *r = RState::Revoked;
        }
    }

    /// Compares the observation with the prediction and moves to the next state. A granted
    /// refresh that returned a new refresh token appends it to the family (its index is
    /// [`RefreshModel::refresh_tokens`] read before); a login appends a family.
    pub fn apply(&mut self, plan: &RefreshPlan, obs: &RefreshObs, now: f64) -> Verdict {
        match (plan, obs) {
            (RefreshPlan::Login, RefreshObs::Login(r)) => self.apply_login(r),
            (RefreshPlan::Access { expect, .. }, RefreshObs::Access(a)) => {
                super::access_verdict(*expect, *a)
            }
            (
                RefreshPlan::Refresh {
                    family,
                    token,
                    expect,
                },
                RefreshObs::Refresh(answer),
            ) => self.apply_refresh(*family, *token, *expect, answer, now),
            (
                RefreshPlan::Concurrent {
                    family,
                    token,
                    expect,
                },
                RefreshObs::Concurrent(a, b),
            ) => self.apply_concurrent(*family, *token, *expect, [a, b], now),
            (
                RefreshPlan::Logout {
                    family,
                    must_complete,
                    ..
                },
                RefreshObs::Flow(r),
            ) => {
                // The logout ends the family only if it completed (or had to).
                if r.is_ok() || *must_complete {
                    self.end(*family, true);
                }
                if *must_complete {
                    Verdict::genuine("logout completes", r.is_ok())
                } else {
                    Verdict::new("logout completes or is refused", true)
                }
            }
            (
                RefreshPlan::Revoke {
                    family,
                    kind,
                    token,
                    ..
                },
                RefreshObs::Revoked(status),
            ) => self.apply_revoke(*family, *kind, *token, *status),
            (RefreshPlan::RevokeUnknown, RefreshObs::Revoked(status)) => Verdict::new(
                "200: an unknown token is not an error (RFC 7009 §2.2)",
                *status == 200,
            ),
            _ => Verdict::new("an observation of the planned kind", false),
        }
    }

    /// A token login: a completed one starts a family.
    fn apply_login(&mut self, r: &Result<(bool, Option<i64>), String>) -> Verdict {
        let ok = matches!(r, Ok((true, _)));
        if let Ok((has_refresh, exp)) = r {
            self.families.push(Family {
                refresh: if *has_refresh {
                    vec![RState::Live]
                } else {
                    Vec::new()
                },
                access: vec![AToken {
                    revoked: false,
                    exp: *exp,
                }],
                ended: None,
                uncertain: false,
                grant_maybe_revoked: false,
            });
        }
        Verdict::genuine(
            "login completes with an access token and a refresh token",
            ok,
        )
    }

    /// One refresh grant: a granted one rotates, a refused reuse of a retired token under
    /// `reuse: revoke_family` ends the family.
    fn apply_refresh(
        &mut self,
        family: usize,
        token: usize,
        expect: Grant,
        answer: &RefreshAnswer,
        now: f64,
    ) -> Verdict {
        let (words, ok) = self.judge_grant(expect, answer);
        let maybe_revoked = self.families[family].grant_maybe_revoked;
        match answer {
            RefreshAnswer::Granted { .. } => {
                // The grant lived on: revoking the access token ended only the token.
                self.families[family].grant_maybe_revoked = false;
                self.granted(family, token, answer, now)
            }
            RefreshAnswer::Refused(_) => {
                let f = &self.families[family];
                let live = f.refresh[token] == RState::Live;
                let reuse_detected = matches!(f.refresh[token], RState::Retired(_))
                    && (expect == Grant::Refused || maybe_revoked)
                    && self.semantics.reuse == Reuse::RevokeFamily;
                if reuse_detected || (maybe_revoked && live) {
                    // Reuse detection ended the family, or the earlier access-token
                    // revocation ended the whole grant (a refused live token shows it).
                    self.end(family, false);
                }
                if live {
                    self.families[family].grant_maybe_revoked = false;
                }
            }
            RefreshAnswer::Broken(_) => {}
        }
        Verdict {
            genuine_refused: expect == Grant::Granted
                && matches!(answer, RefreshAnswer::Refused(_)),
            ..Verdict::new(words, ok)
        }
    }

    /// An RFC 7009 revocation: a refresh token ends its family, an access token is revoked.
    fn apply_revoke(
        &mut self,
        family: usize,
        kind: TokenKind,
        token: usize,
        status: u16,
    ) -> Verdict {
        let unsupported_ok = kind == TokenKind::Access
            && self.semantics.access_after_revocation == AccessAfter::AllowedUntilExpiry;
        match kind {
            TokenKind::Refresh => self.end(family, false),
            TokenKind::Access => {
                self.families[family].access[token].revoked = true;
                match self.semantics.access_revocation_scope {
                    RevocationScope::Token => {}
                    RevocationScope::Grant => self.end(family, false),
                    RevocationScope::Either => {
                        if self.families[family].ended.is_none() {
                            self.families[family].grant_maybe_revoked = true;
                        }
                    }
                }
            }
        }
        if unsupported_ok {
            Verdict::new(
                "200 (or 400 unsupported_token_type)",
                matches!(status, 200 | 400),
            )
        } else {
            Verdict::new("200 (RFC 7009 §2.2)", status == 200)
        }
    }

    /// Plans `op` and applies the observation the model predicts (a service that agrees);
    /// false when the precondition does not hold. Used to generate sequences that make sense
    /// step by step.
    pub fn simulate(&mut self, op: &RefreshOp, now: f64) -> bool {
        let Some(plan) = self.plan(op, now) else {
            return false;
        };
        let granted = || RefreshAnswer::Granted {
            new_access: true,
            refresh: if self.semantics.rotation == Rotation::None {
                Returned::Same
            } else {
                Returned::New
            },
            exp: None,
        };
        let obs = match &plan {
            RefreshPlan::Login => RefreshObs::Login(Ok((true, None))),
            RefreshPlan::Access { expect, .. } => RefreshObs::Access(match expect {
                Prediction::Allowed => Answer::Allowed,
                _ => Answer::Denied,
            }),
            RefreshPlan::Refresh { expect, .. } => RefreshObs::Refresh(match expect {
                Grant::Granted => granted(),
                _ => RefreshAnswer::Refused(400),
            }),
            RefreshPlan::Concurrent { expect, .. } => match expect {
                Grant::Granted => RefreshObs::Concurrent(granted(), RefreshAnswer::Refused(400)),
                _ => {
                    RefreshObs::Concurrent(RefreshAnswer::Refused(400), RefreshAnswer::Refused(400))
                }
            },
            RefreshPlan::Logout { .. } => RefreshObs::Flow(Ok(())),
            RefreshPlan::Revoke { .. } | RefreshPlan::RevokeUnknown => RefreshObs::Revoked(200),
        };
        self.apply(&plan, &obs, now);
        true
    }

    fn apply_concurrent(
        &mut self,
        fi: usize,
        token: usize,
        expect: Grant,
        answers: [&RefreshAnswer; 2],
        now: f64,
    ) -> Verdict {
        let s = self.semantics;
        let granted: Vec<&RefreshAnswer> = answers
            .iter()
            .copied()
            .filter(|a| matches!(a, RefreshAnswer::Granted { .. }))
            .collect();
        let broken = answers
            .iter()
            .any(|a| matches!(a, RefreshAnswer::Broken(_)));
        let rotated = granted.iter().any(|a| {
            matches!(
                a,
                RefreshAnswer::Granted {
                    refresh: Returned::New,
                    ..
                }
            )
        });
        let mut vacuous = None;
        let (words, ok) = match expect {
            Grant::Refused => ("both refused", granted.is_empty() && !broken),
            Grant::Either => ("granted or refused, each", !broken),
            Grant::Granted => {
                // Rotation makes the presented token single-use: the loser presents a
                // retired token. Without rotation (or with reuse allowed) both may succeed.
                let single_use = s.reuse != Reuse::Allow
                    && (s.rotation == Rotation::Required
                        || (s.rotation == Rotation::Optional && rotated));
                let each_ok = granted
                    .iter()
                    .all(|a| self.judge_grant(Grant::Granted, a).1);
                if single_use {
                    (
                        "exactly one granted (the token is single-use), the other refused",
                        granted.len() == 1 && each_ok && !broken,
                    )
                } else {
                    let why = if s.reuse == Reuse::Allow {
                        "the declared policy allows reuse (reuse: allow)"
                    } else if rotated {
                        "the declared policy does not require rotation"
                    } else {
                        "the refresh token did not rotate, which the declared policy allows"
                    };
                    vacuous = Some(format!(
                        "the presented refresh token is not single-use ({why}), so two grants with it are no double spend"
                    ));
                    (
                        "at least one granted",
                        !granted.is_empty() && each_ok && !broken,
                    )
                }
            }
        };
        if self.families[fi].grant_maybe_revoked {
            // A grant shows the revoked access token's grant lived on; two refusals of the
            // live token show it was revoked with it.
            if granted.is_empty() && !broken && self.families[fi].refresh[token] == RState::Live {
                self.end(fi, false);
            }
            self.families[fi].grant_maybe_revoked = false;
        }
        for a in &granted {
            self.granted(fi, token, a, now);
        }
        if expect != Grant::Refused && s.reuse == Reuse::RevokeFamily && granted.len() < 2 {
            // The loser may have been seen as reuse, ending the family, or not.
            self.families[fi].uncertain = true;
        }
        let v = Verdict {
            // Not one of the simultaneous grants with the current token worked.
            genuine_refused: expect == Grant::Granted && granted.is_empty() && !broken,
            ..Verdict::new(words, ok)
        };
        match vacuous {
            Some(why) => v.vacuous(why),
            None => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Seconds;

    fn granted(refresh: Returned) -> RefreshObs {
        RefreshObs::Refresh(RefreshAnswer::Granted {
            new_access: true,
            refresh,
            exp: None,
        })
    }

    fn step(m: &mut RefreshModel, op: RefreshOp, obs: RefreshObs) -> Verdict {
        let plan = m.plan(&op, 100.0).expect("precondition");
        m.apply(&plan, &obs, 100.0)
    }

    fn login(m: &mut RefreshModel) {
        assert!(step(m, RefreshOp::Login, RefreshObs::Login(Ok((true, None)))).ok);
    }

    #[test]
    fn reuse_is_refused_and_revokes_the_family() {
        let mut m = RefreshModel::new(RefreshSemantics::default());
        login(&mut m);
        assert!(
            step(
                &mut m,
                RefreshOp::Refresh { family: 0, back: 0 },
                granted(Returned::New)
            )
            .ok
        );
        // Reusing the first token: predicted refused.
        let v = step(
            &mut m,
            RefreshOp::Refresh { family: 0, back: 1 },
            granted(Returned::New),
        );
        assert!(!v.ok, "{v:?}");
        let mut m = RefreshModel::new(RefreshSemantics::default());
        login(&mut m);
        step(
            &mut m,
            RefreshOp::Refresh { family: 0, back: 0 },
            granted(Returned::New),
        );
        let v = step(
            &mut m,
            RefreshOp::Refresh { family: 0, back: 1 },
            RefreshObs::Refresh(RefreshAnswer::Refused(400)),
        );
        assert!(v.ok);
        // The current token died with the family.
        let plan = m
            .plan(&RefreshOp::Refresh { family: 0, back: 0 }, 100.0)
            .unwrap();
        assert!(matches!(
            plan,
            RefreshPlan::Refresh {
                expect: Grant::Refused,
                ..
            }
        ));
    }

    #[test]
    fn rotation_required_rejects_a_refresh_that_does_not_rotate() {
        let mut m = RefreshModel::new(RefreshSemantics::default());
        login(&mut m);
        let v = step(
            &mut m,
            RefreshOp::Refresh { family: 0, back: 0 },
            granted(Returned::Same),
        );
        assert!(!v.ok);
        let sem = RefreshSemantics {
            rotation: Rotation::Optional,
            reuse: Reuse::Allow,
            ..RefreshSemantics::default()
        };
        let mut m = RefreshModel::new(sem);
        login(&mut m);
        assert!(
            step(
                &mut m,
                RefreshOp::Refresh { family: 0, back: 0 },
                granted(Returned::Same)
            )
            .ok
        );
        assert!(
            step(
                &mut m,
                RefreshOp::Refresh { family: 0, back: 0 },
                granted(Returned::New)
            )
            .ok
        );
        // Reuse allowed: a granted reuse agrees.
        assert!(
            step(
                &mut m,
                RefreshOp::Refresh { family: 0, back: 1 },
                granted(Returned::New)
            )
            .ok
        );
    }

    #[test]
    fn logout_ends_refresh_but_access_lives_until_expiry_by_default() {
        let mut m = RefreshModel::new(RefreshSemantics::default());
        login(&mut m);
        assert!(
            step(
                &mut m,
                RefreshOp::Logout { family: 0 },
                RefreshObs::Flow(Ok(()))
            )
            .ok
        );
        let p = m
            .plan(&RefreshOp::Access { family: 0, back: 0 }, 100.0)
            .unwrap();
        assert!(matches!(
            p,
            RefreshPlan::Access {
                expect: Prediction::Either,
                ..
            }
        ));
        let p = m
            .plan(&RefreshOp::Refresh { family: 0, back: 0 }, 100.0)
            .unwrap();
        assert!(matches!(
            p,
            RefreshPlan::Refresh {
                expect: Grant::Refused,
                ..
            }
        ));
        let sem = RefreshSemantics {
            access_after_logout: AccessAfter::Rejected,
            ..RefreshSemantics::default()
        };
        let mut m = RefreshModel::new(sem);
        login(&mut m);
        step(
            &mut m,
            RefreshOp::Logout { family: 0 },
            RefreshObs::Flow(Ok(())),
        );
        let p = m
            .plan(&RefreshOp::Access { family: 0, back: 0 }, 100.0)
            .unwrap();
        assert!(matches!(
            p,
            RefreshPlan::Access {
                expect: Prediction::Denied,
                ..
            }
        ));
    }

    #[test]
    fn revocation_must_answer_200_and_revoke() {
        let mut m = RefreshModel::new(RefreshSemantics::default());
        login(&mut m);
        let op = RefreshOp::Revoke {
            family: 0,
            token: TokenKind::Access,
            hint: Hint::Wrong,
        };
        assert!(step(&mut m, op, RefreshObs::Revoked(200)).ok);
        let p = m
            .plan(&RefreshOp::Access { family: 0, back: 0 }, 100.0)
            .unwrap();
        assert!(matches!(
            p,
            RefreshPlan::Access {
                expect: Prediction::Denied,
                ..
            }
        ));
        assert!(!step(&mut m, RefreshOp::RevokeUnknown, RefreshObs::Revoked(400)).ok);
    }

    #[test]
    fn access_revocation_may_end_the_grant_as_declared() {
        let revoke = RefreshOp::Revoke {
            family: 0,
            token: TokenKind::Access,
            hint: Hint::Right,
        };
        let refresh = RefreshOp::Refresh { family: 0, back: 0 };
        let refused = RefreshObs::Refresh(RefreshAnswer::Refused(400));
        for (scope, refused_ok, granted_ok) in [
            (RevocationScope::Token, false, true),
            (RevocationScope::Grant, true, false),
            (RevocationScope::Either, true, true),
        ] {
            let s = RefreshSemantics {
                access_revocation_scope: scope,
                ..RefreshSemantics::default()
            };
            let mut m = RefreshModel::new(s);
            login(&mut m);
            assert!(step(&mut m, revoke.clone(), RefreshObs::Revoked(200)).ok);
            let mut a = m.clone();
            assert_eq!(
                step(&mut a, refresh.clone(), refused.clone()).ok,
                refused_ok,
                "{scope:?}"
            );
            let mut b = m.clone();
            assert_eq!(
                step(&mut b, refresh.clone(), granted(Returned::New)).ok,
                granted_ok,
                "{scope:?}"
            );
        }
        // Under `either`, the first refresh decides: once refused, the grant stays ended.
        let mut m = RefreshModel::new(RefreshSemantics::default());
        login(&mut m);
        step(&mut m, revoke.clone(), RefreshObs::Revoked(200));
        assert!(step(&mut m, refresh.clone(), refused.clone()).ok);
        assert!(!step(&mut m, refresh.clone(), granted(Returned::New)).ok);
    }

    #[test]
    fn an_operation_is_described_as_the_token_it_sends() {
        let mut m = RefreshModel::new(RefreshSemantics::default());
        login(&mut m);
        let op = RefreshOp::Refresh { family: 0, back: 1 };
        let plan = m.plan(&op, 100.0).expect("precondition");
        let words = m.describe(&op, &plan);
        assert!(words.contains("current refresh token"), "{words}");
        assert!(!words.contains("reuse"), "{words}");
    }

    #[test]
    fn concurrent_refresh_is_single_use() {
        let mut m = RefreshModel::new(RefreshSemantics::default());
        login(&mut m);
        let g = RefreshAnswer::Granted {
            new_access: true,
            refresh: Returned::New,
            exp: None,
        };
        let v = step(
            &mut m,
            RefreshOp::RefreshConcurrent { family: 0 },
            RefreshObs::Concurrent(g.clone(), g.clone()),
        );
        assert!(!v.ok);
        let mut m = RefreshModel::new(RefreshSemantics::default());
        login(&mut m);
        let v = step(
            &mut m,
            RefreshOp::RefreshConcurrent { family: 0 },
            RefreshObs::Concurrent(g, RefreshAnswer::Refused(400)),
        );
        assert!(v.ok);
        // Afterwards the family's refresh tokens are not predicted.
        let p = m
            .plan(&RefreshOp::Refresh { family: 0, back: 0 }, 100.0)
            .unwrap();
        assert!(matches!(
            p,
            RefreshPlan::Refresh {
                expect: Grant::Either,
                ..
            }
        ));
    }

    #[test]
    fn grace_window_admits_the_previous_token() {
        let sem = RefreshSemantics {
            grace_seconds: Seconds(30),
            ..RefreshSemantics::default()
        };
        let mut m = RefreshModel::new(sem);
        login(&mut m);
        step(
            &mut m,
            RefreshOp::Refresh { family: 0, back: 0 },
            granted(Returned::New),
        );
        let p = m
            .plan(&RefreshOp::Refresh { family: 0, back: 1 }, 110.0)
            .unwrap();
        assert!(matches!(
            p,
            RefreshPlan::Refresh {
                expect: Grant::Granted,
                ..
            }
        ));
        let p = m
            .plan(&RefreshOp::Refresh { family: 0, back: 1 }, 131.0)
            .unwrap();
        assert!(matches!(
            p,
            RefreshPlan::Refresh {
                expect: Grant::Refused,
                ..
            }
        ));
    }

    #[test]
    fn expired_access_tokens_are_predicted_denied() {
        let mut m = RefreshModel::new(RefreshSemantics::default());
        assert!(
            step(
                &mut m,
                RefreshOp::Login,
                RefreshObs::Login(Ok((true, Some(50))))
            )
            .ok
        );
        let p = m
            .plan(&RefreshOp::Access { family: 0, back: 0 }, 100.0)
            .unwrap();
        assert!(matches!(
            p,
            RefreshPlan::Access {
                expect: Prediction::Denied,
                ..
            }
        ));
        let p = m
            .plan(&RefreshOp::Access { family: 0, back: 0 }, 51.0)
            .unwrap();
        assert!(matches!(
            p,
            RefreshPlan::Access {
                expect: Prediction::Either,
                ..
            }
        ));
    }
}
