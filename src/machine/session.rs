//! The session lifecycle: several clients (browsers) log in as the profile's users, use their
//! sessions, log out, log out everywhere and replay cookies they held before.
//!
//! State: every session ever established (its user and whether it is live) and, per client,
//! the session its cookie names now and the sessions it held before (for replay).

use serde::{Deserialize, Serialize};

pub use crate::units::SpecUser;

use super::{Answer, Prediction, Verdict, access_verdict, from_newest};
use crate::units::{LogoutScope, SessionSemantics};

/// Clients a sequence uses; operations name them modulo this.
pub const CLIENTS: usize = 3;

/// One operation on the session machine. Clients are numbered 0, 1, 2.
///
/// ```yaml
/// - login: {client: 0, user: alice}
/// - replay: {client: 0, back: 0}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SessionOp {
    /// The client logs in (only when it holds no live session).
    Login {
        /// Which client.
        #[serde(default)]
        client: u8,
        /// Which user.
        #[serde(default)]
        user: SpecUser,
    },
    /// The client sends the protected request with the cookies it holds.
    Access {
        /// Which client.
        #[serde(default)]
        client: u8,
    },
    /// The client logs out (only when it holds a live session).
    Logout {
        /// Which client.
        #[serde(default)]
        client: u8,
    },
    /// The client ends every session of its user (only with a live session and the flow).
    LogoutEverywhere {
        /// Which client.
        #[serde(default)]
        client: u8,
    },
    /// The protected request with a session cookie the client held before (a stale cookie
    /// replayed): `back: 0` is the newest session it held, 1 the one before.
    Replay {
        /// Which client.
        #[serde(default)]
        client: u8,
        /// How far back in the client's sessions.
        #[serde(default)]
        back: u8,
    },
}

impl SessionOp {
    /// The operation in words.
    pub fn describe(&self) -> String {
        match self {
            SessionOp::Login { client, user } => {
                format!("client {client} logs in as {}", user.name())
            }
            SessionOp::Access { client } => {
                format!("client {client} sends the protected request with its cookies")
            }
            SessionOp::Logout { client } => format!("client {client} logs out"),
            SessionOp::LogoutEverywhere { client } => {
                format!("client {client} logs out everywhere")
            }
            SessionOp::Replay { client, back } => format!(
                "client {client} replays the session cookie it held {} ",
                match back {
                    0 => "last".to_string(),
                    n => format!("{n} logins before its last"),
                }
            )
            .trim_end()
            .to_string(),
        }
    }

    /// Simpler variants of the operation, for shrinking (lower client numbers, alice).
    pub fn simpler(&self) -> Vec<SessionOp> {
        let mut out = Vec::new();
        match *self {
            SessionOp::Login { client, user } => {
                if user == SpecUser::Bob {
                    out.push(SessionOp::Login {
                        client,
                        user: SpecUser::Alice,
                    });
                }
                if client > 0 {
                    out.push(SessionOp::Login { client: 0, user });
                }
            }
            SessionOp::Access { client } if client > 0 => {
                out.push(SessionOp::Access { client: 0 });
            }
            SessionOp::Logout { client } if client > 0 => {
                out.push(SessionOp::Logout { client: 0 });
            }
            SessionOp::LogoutEverywhere { client } if client > 0 => {
                out.push(SessionOp::LogoutEverywhere { client: 0 });
            }
            SessionOp::Replay { client, back } => {
                if back > 0 {
                    out.push(SessionOp::Replay { client, back: 0 });
                }
                if client > 0 {
                    out.push(SessionOp::Replay { client: 0, back });
                }
            }
            _ => {}
        }
        out
    }

    /// Whether the operation needs the logout flow (for validation).
    pub fn needs_logout(&self) -> bool {
        matches!(self, SessionOp::Logout { .. })
    }

    /// Whether the operation needs the second user.
    pub fn needs_bob(&self) -> bool {
        matches!(
            self,
            SessionOp::Login {
                user: SpecUser::Bob,
                ..
            }
        )
    }

    /// Whether the operation needs the logout-everywhere flow.
    pub fn needs_logout_everywhere(&self) -> bool {
        matches!(self, SessionOp::LogoutEverywhere { .. })
    }
}

/// An operation resolved against the state: what to do and what to predict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionPlan {
    /// Client logs in as user.
    Login {
        /// Client index.
        client: usize,
        /// User.
        user: SpecUser,
    },
    /// Protected request with the client's cookies.
    Access {
        /// Client index.
        client: usize,
        /// Prediction.
        expect: Prediction,
    },
    /// Protected request with an earlier session's cookie.
    Replay {
        /// Client index.
        client: usize,
        /// The session (index into every session established in the sequence).
        session: usize,
        /// Prediction.
        expect: Prediction,
    },
    /// Logout of the client's session.
    Logout {
        /// Client index.
        client: usize,
    },
    /// Logout everywhere from the client's session.
    LogoutEverywhere {
        /// Client index.
        client: usize,
    },
}

/// What the service did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionObs {
    /// A flow (login, logout) completed, or failed with the reason.
    Flow(Result<(), String>),
    /// The protected request answered.
    Access(Answer),
}

#[derive(Debug, Clone)]
struct Session {
    user: SpecUser,
    live: bool,
}

#[derive(Debug, Clone, Default)]
struct Client {
    /// The session the client's cookie names (None: no cookie, or cleared at logout).
    current: Option<usize>,
    /// Every session the client held, oldest first.
    held: Vec<usize>,
}

/// The reference session machine.
#[derive(Debug, Clone)]
pub struct SessionModel {
    semantics: SessionSemantics,
    has_bob: bool,
    has_logout_everywhere: bool,
    sessions: Vec<Session>,
    clients: Vec<Client>,
}

impl SessionModel {
    /// A fresh machine: no sessions, [`CLIENTS`] clients without cookies.
    pub fn new(semantics: SessionSemantics, has_bob: bool, has_logout_everywhere: bool) -> Self {
        SessionModel {
            semantics,
            has_bob,
            has_logout_everywhere: has_logout_everywhere && semantics.logout_everywhere,
            sessions: Vec::new(),
            clients: vec![Client::default(); CLIENTS],
        }
    }

    /// Number of sessions established so far (the next login's index).
    #[cfg(test)]
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// The clients whose cookie names a live session, with its user: what a later sequence
    /// may take as if it had just logged in.
    pub fn live_clients(&self) -> Vec<(usize, SpecUser)> {
        (0..self.clients.len())
            .filter_map(|c| Some((c, self.sessions[self.live_current(c)?].user)))
            .collect()
    }

    fn live_current(&self, client: usize) -> Option<usize> {
        self.clients[client]
            .current
            .filter(|&s| self.sessions[s].live)
    }

    /// Resolves `op` against the state; `None` when its precondition does not hold (the
    /// operation is skipped).
    pub fn plan(&self, op: &SessionOp) -> Option<SessionPlan> {
        let c = |client: u8| usize::from(client) % CLIENTS;
        match *op {
            SessionOp::Login { client, user } => {
                let client = c(client);
                if self.live_current(client).is_some() || (user == SpecUser::Bob && !self.has_bob) {
                    return None;
                }
                Some(SessionPlan::Login { client, user })
            }
            SessionOp::Access { client } => {
                let client = c(client);
                let expect = if self.live_current(client).is_some() {
                    Prediction::Allowed
                } else {
                    Prediction::Denied
                };
                Some(SessionPlan::Access { client, expect })
            }
            SessionOp::Logout { client } => {
                let client = c(client);
                self.live_current(client)?;
                Some(SessionPlan::Logout { client })
            }
            SessionOp::LogoutEverywhere { client } => {
                let client = c(client);
                if !self.has_logout_everywhere {
                    return None;
                }
                self.live_current(client)?;
                Some(SessionPlan::LogoutEverywhere { client })
            }
            SessionOp::Replay { client, back } => {
                let client = c(client);
                let held = &self.clients[client].held;
                let session = held[from_newest(held.len(), back)?];
                let expect = if self.sessions[session].live {
                    Prediction::Allowed
                } else {
                    Prediction::Denied
                };
                Some(SessionPlan::Replay {
                    client,
                    session,
                    expect,
                })
            }
        }
    }

    /// Compares the observation with the prediction and moves to the next state. A login
    /// that completes establishes session number [`SessionModel::sessions`] (read before).
    pub fn apply(&mut self, plan: &SessionPlan, obs: &SessionObs) -> Verdict {
        match (plan, obs) {
            (SessionPlan::Login { client, user }, SessionObs::Flow(r)) => {
                if r.is_ok() {
                    let s = self.sessions.len();
                    self.sessions.push(Session {
                        user: *user,
                        live: true,
                    });
                    let cl = &mut self.clients[*client];
                    cl.current = Some(s);
                    cl.held.push(s);
                }
                Verdict::genuine("login completes with a session", r.is_ok())
            }
            (
                SessionPlan::Access { expect, .. } | SessionPlan::Replay { expect, .. },
                SessionObs::Access(a),
            ) => access_verdict(*expect, *a),
            (SessionPlan::Logout { client }, SessionObs::Flow(r)) => {
                if let Some(s) = self.live_current(*client) {
                    match self.semantics.logout_scope {
                        LogoutScope::Session => self.sessions[s].live = false,
                        LogoutScope::All => self.end_all(self.sessions[s].user),
                    }
                }
                self.clients[*client].current = None;
                Verdict::genuine("logout completes", r.is_ok())
            }
            (SessionPlan::LogoutEverywhere { client }, SessionObs::Flow(r)) => {
                if let Some(s) = self.live_current(*client) {
                    self.end_all(self.sessions[s].user);
                }
                self.clients[*client].current = None;
                Verdict::genuine("logout everywhere completes", r.is_ok())
            }
            _ => Verdict::new("an observation of the planned kind", false),
        }
    }

    /// Plans `op` and applies the observation the model predicts (a service that agrees);
    /// false when the precondition does not hold. Used to generate sequences that make sense
    /// step by step.
    pub fn simulate(&mut self, op: &SessionOp) -> bool {
        let Some(plan) = self.plan(op) else {
            return false;
        };
        let obs = match &plan {
            SessionPlan::Access { expect, .. } | SessionPlan::Replay { expect, .. } => {
                SessionObs::Access(if *expect == Prediction::Allowed {
                    Answer::Allowed
                } else {
                    Answer::Denied
                })
            }
            _ => SessionObs::Flow(Ok(())),
        };
        self.apply(&plan, &obs);
        true
    }

    fn end_all(&mut self, user: SpecUser) {
        for s in &mut self.sessions {
            if s.user == user {
                s.live = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> SessionModel {
        SessionModel::new(SessionSemantics::default(), true, true)
    }

    fn run(m: &mut SessionModel, op: SessionOp, obs: SessionObs) -> Option<Verdict> {
        let plan = m.plan(&op)?;
        Some(m.apply(&plan, &obs))
    }

    const OK: SessionObs = SessionObs::Flow(Ok(()));

    #[test]
    fn replay_after_logout_is_predicted_denied() {
        let mut m = model();
        run(
            &mut m,
            SessionOp::Login {
                client: 0,
                user: SpecUser::Alice,
            },
            OK,
        )
        .unwrap();
        run(&mut m, SessionOp::Logout { client: 0 }, OK).unwrap();
        let plan = m.plan(&SessionOp::Replay { client: 0, back: 0 }).unwrap();
        assert!(matches!(
            plan,
            SessionPlan::Replay {
                expect: Prediction::Denied,
                ..
            }
        ));
        let v = m.apply(&plan, &SessionObs::Access(Answer::Allowed));
        assert!(!v.ok);
        assert_eq!(v.expected, "denied");
    }

    #[test]
    fn logout_everywhere_ends_the_users_sessions_only() {
        let mut m = model();
        run(
            &mut m,
            SessionOp::Login {
                client: 0,
                user: SpecUser::Alice,
            },
            OK,
        )
        .unwrap();
        run(
            &mut m,
            SessionOp::Login {
                client: 1,
                user: SpecUser::Alice,
            },
            OK,
        )
        .unwrap();
        run(
            &mut m,
            SessionOp::Login {
                client: 2,
                user: SpecUser::Bob,
            },
            OK,
        )
        .unwrap();
        run(&mut m, SessionOp::LogoutEverywhere { client: 0 }, OK).unwrap();
        assert!(matches!(
            m.plan(&SessionOp::Access { client: 1 }),
            Some(SessionPlan::Access {
                expect: Prediction::Denied,
                ..
            })
        ));
        assert!(matches!(
            m.plan(&SessionOp::Access { client: 2 }),
            Some(SessionPlan::Access {
                expect: Prediction::Allowed,
                ..
            })
        ));
    }

    #[test]
    fn logout_scope_all_ends_other_sessions_of_the_user() {
        let sem = SessionSemantics {
            logout_scope: LogoutScope::All,
            ..SessionSemantics::default()
        };
        let mut m = SessionModel::new(sem, false, false);
        run(
            &mut m,
            SessionOp::Login {
                client: 0,
                user: SpecUser::Alice,
            },
            OK,
        )
        .unwrap();
        run(
            &mut m,
            SessionOp::Login {
                client: 1,
                user: SpecUser::Alice,
            },
            OK,
        )
        .unwrap();
        run(&mut m, SessionOp::Logout { client: 0 }, OK).unwrap();
        assert!(matches!(
            m.plan(&SessionOp::Access { client: 1 }),
            Some(SessionPlan::Access {
                expect: Prediction::Denied,
                ..
            })
        ));
    }

    #[test]
    fn preconditions_skip_meaningless_operations() {
        let mut m = SessionModel::new(SessionSemantics::default(), false, false);
        assert_eq!(m.plan(&SessionOp::Logout { client: 0 }), None);
        assert_eq!(m.plan(&SessionOp::Replay { client: 0, back: 0 }), None);
        assert_eq!(
            m.plan(&SessionOp::Login {
                client: 0,
                user: SpecUser::Bob
            }),
            None
        );
        run(
            &mut m,
            SessionOp::Login {
                client: 4,
                user: SpecUser::Alice,
            },
            OK,
        )
        .unwrap();
        // Client 4 is client 1; it holds a live session, so it cannot log in again.
        assert_eq!(
            m.plan(&SessionOp::Login {
                client: 1,
                user: SpecUser::Alice
            }),
            None
        );
        assert_eq!(m.plan(&SessionOp::LogoutEverywhere { client: 1 }), None);
    }

    #[test]
    fn a_failed_login_establishes_nothing() {
        let mut m = model();
        let v = run(
            &mut m,
            SessionOp::Login {
                client: 0,
                user: SpecUser::Alice,
            },
            SessionObs::Flow(Err("401".into())),
        )
        .unwrap();
        assert!(!v.ok);
        assert_eq!(m.sessions(), 0);
    }
}
