//! Logins shared across the rules of a run, and every session id the run obtained.
//!
//! A login costs the service a password hash (a second or so on a framework default), so a
//! run does not log in again where a rule's semantics allow it to take a session it already
//! has: the preflight's cookie session and token grant are kept here and handed to the rules
//! that only read them or attack them without ending them (forged and tampered credentials,
//! the headers of a protected answer). Rules that end or change a session (logout,
//! revocation, rotation, fixation, the models) log in for themselves, and every
//! confirmation logs in afresh. A rule that ran on a shared login and did not pass is run
//! again from scratch on fresh logins (the engine's `run_rule_detached`), so sharing never
//! changes a verdict.
//!
//! Every session id a cookie login of the run received in a `Set-Cookie` is collected, so a
//! statistics rule (`session.id-entropy`) draws its sample from the ids the run already saw
//! and logs in only for what is missing. The counts (logins sent, logins shared, ids
//! collected) end up in the run's notes.
//!
//! It must not send requests: it holds what the logins of others produced.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::profile::Vars;
use crate::spec::Step;

/// Cookies by name (the engine's `Jar`).
type Jar = std::collections::BTreeMap<String, String>;

/// Which token of a login (the engine's `TokenRole`, by its label): the pool does not depend on
/// the browser that fills it.
pub(crate) type Role = &'static str;

/// The preflight's cookie session as a rule adopts it: the cookies and the variables its
/// login extracted (a CSRF token, say).
#[derive(Debug, Clone)]
pub(crate) struct SharedSession {
    /// The user it belongs to.
    pub user: String,
    /// The cookies the login left.
    pub jar: Jar,
    /// The variables the login extracted.
    pub vars: Vars,
}

/// The preflight's token grant as a rule adopts it.
#[derive(Debug, Clone)]
pub(crate) struct SharedToken {
    /// The user it belongs to.
    pub user: String,
    /// Which token of the login it is.
    pub role: Role,
    /// The token.
    pub token: String,
    /// The variables the token login extracted.
    pub vars: Vars,
}

/// What a run's logins produced, shared by its rules.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    session: Mutex<Option<SharedSession>>,
    tokens: Mutex<Vec<SharedToken>>,
    /// Session ids issued at login, distinct, in the order the logins ended.
    ids: Mutex<Vec<String>>,
    /// Tokens the token logins returned, by role (a signature source for a forgery).
    seen_tokens: Mutex<Vec<(Role, String)>>,
    /// Login flows sent (cookie and token).
    logins: AtomicU64,
    /// Logins a rule did not send because it took a shared one.
    shared: AtomicU64,
}

/// The counts of a run's logins, as its notes say them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LoginCounts {
    /// Login flows sent.
    pub sent: u64,
    /// Logins shared instead of sent.
    pub shared: u64,
    /// Distinct session ids collected.
    pub ids: usize,
}

impl Pool {
    /// Keeps the preflight's cookie session for the rules to share.
    pub fn offer_session(&self, session: SharedSession) {
        *lock(&self.session) = Some(session);
    }

    /// Keeps a token of the preflight for the rules to share (one per role).
    pub fn offer_token(&self, token: SharedToken) {
        let mut tokens = lock(&self.tokens);
        tokens.retain(|t| t.role != token.role || t.user != token.user);
        tokens.push(token);
    }

    /// The shared cookie session of `user`, counted as a login shared.
    pub fn take_session(&self, user: &str) -> Option<SharedSession> {
        let s = lock(&self.session).clone().filter(|s| s.user == user)?;
        self.shared.fetch_add(1, Ordering::Relaxed);
        Some(s)
    }

    /// The shared token of `user` in `role`, counted as a login shared.
    pub fn take_token(&self, user: &str, role: Role) -> Option<SharedToken> {
        let t = lock(&self.tokens)
            .iter()
            .find(|t| t.user == user && t.role == role)
            .cloned()?;
        self.shared.fetch_add(1, Ordering::Relaxed);
        Some(t)
    }

    /// Counts `n` logins a rule did not send because it took what another login left (a
    /// model sequence taking a grant an earlier one left live).
    pub fn count_shared(&self, n: u64) {
        self.shared.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts one login flow sent.
    pub fn count_login(&self) {
        self.logins.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a session id a login received (once; empty ids are not ids).
    pub fn record_id(&self, id: &str) {
        if id.is_empty() {
            return;
        }
        let mut ids = lock(&self.ids);
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_owned());
        }
    }

    /// Records a token a token login returned in `role` (at most a few are kept).
    pub fn record_token(&self, role: Role, token: &str) {
        let mut seen = lock(&self.seen_tokens);
        if seen.len() < 8 && !seen.iter().any(|(_, t)| t == token) {
            seen.push((role, token.to_owned()));
        }
    }

    /// A genuine token the run obtained other than `not`, one of `role` first, else one of
    /// another role (the ID token of the same login is signed by the same service; whether it
    /// is still valid does not matter to a reader of its signature), counted as a login
    /// shared.
    pub fn other_token(&self, role: Role, not: &str) -> Option<String> {
        let seen = lock(&self.seen_tokens);
        let t = seen
            .iter()
            .find(|(r, t)| *r == role && t != not)
            .or_else(|| seen.iter().find(|(_, t)| t != not))
            .map(|(_, t)| t.clone())?;
        drop(seen);
        self.shared.fetch_add(1, Ordering::Relaxed);
        Some(t)
    }

    /// Up to `n` of the session ids collected so far, oldest first.
    pub fn ids(&self, n: usize) -> Vec<String> {
        lock(&self.ids).iter().take(n).cloned().collect()
    }

    /// The counts so far.
    pub fn counts(&self) -> LoginCounts {
        LoginCounts {
            sent: self.logins.load(Ordering::Relaxed),
            shared: self.shared.load(Ordering::Relaxed),
            ids: lock(&self.ids).len(),
        }
    }
}

impl LoginCounts {
    /// `logins: 61 sent, 23 shared (rules that only read or attack a session took the
    /// preflight's instead of logging in), 40 session ids collected`.
    pub fn note(&self) -> String {
        format!(
            "logins: {} sent, {} shared (rules that only read or attack a session took the preflight's instead of logging in), {} session ids collected from the run's logins",
            self.sent, self.shared, self.ids
        )
    }
}

/// Whether a scenario only reads the one session it logs in (a login and protected requests,
/// no logout, no planted or saved id): its login may take the run's shared session.
pub(crate) fn reads_only(steps: &[Step]) -> bool {
    let logins = steps.iter().filter(|s| matches!(s, Step::Login(_))).count();
    logins == 1
        && steps
            .iter()
            .all(|s| matches!(s, Step::Login(_) | Step::Access(_)))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_kept_once_in_order_and_shares_are_counted() {
        let pool = Pool::default();
        for id in ["b", "a", "b", ""] {
            pool.record_id(id);
        }
        assert_eq!(pool.ids(5), ["b", "a"]);
        assert_eq!(pool.ids(1), ["b"]);
        assert!(pool.take_session("alice").is_none(), "nothing offered yet");
        pool.offer_session(SharedSession {
            user: "alice".into(),
            jar: Jar::new(),
            vars: Vars::new(),
        });
        assert!(pool.take_session("bob").is_none(), "only alice's is shared");
        assert!(pool.take_session("alice").is_some());
        pool.count_login();
        assert_eq!(
            pool.counts(),
            LoginCounts {
                sent: 1,
                shared: 1,
                ids: 2
            }
        );
    }
}
