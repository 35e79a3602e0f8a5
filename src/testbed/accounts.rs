//! The testbed's public demo accounts — its users and its one OAuth client — and how
//! credentials are checked against them.
//!
//! This file owns the demo credentials, the constant-time comparisons that check them and the
//! password checker every login goes through (slow and one at a time under `slow-logins`). It
//! must not know HTTP, flaws or the configuration (the router tells the checker whether to be
//! slow). Everything here is public demo material: the testbed is a demo service, not a
//! production one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The demo accounts, `(username, password)`. Public by design: the testbed is a demo.
pub const DEMO_USERS: &[(&str, &str)] = &[
    ("alice", "alice-demo-password"),
    ("bob", "bob-demo-password"),
];

/// The `client_id` of the testbed's one OAuth client.
///
/// Public demo material, like the demo users.
pub const DEMO_CLIENT_ID: &str = "authprobe-demo";
/// The `client_secret` of [`DEMO_CLIENT_ID`].
///
/// Public demo material, like the demo users.
pub const DEMO_CLIENT_SECRET: &str = "authprobe-demo-client-secret";

/// How long one password check takes under the `slow-logins` quirk.
pub const SLOW_LOGIN_DELAY: Duration = Duration::from_millis(150);

/// The password check of every login (`/api/login`, `/api/token`, the `/oauth/token` password
/// grant). Clean, it answers at once; slow (the `slow-logins` quirk), each check takes
/// [`SLOW_LOGIN_DELAY`] and checks run one at a time, as a single worker with a slow password
/// hash would: concurrent logins queue.
#[derive(Debug, Default)]
pub(super) struct PasswordCheck {
    /// `Some` when slow: the one worker, held for the whole check, and how long a check takes.
    worker: Option<(tokio::sync::Mutex<()>, Duration)>,
    /// Checks started so far (right and wrong passwords alike).
    checks: AtomicU64,
}

impl PasswordCheck {
    /// A checker that is slow (one check at a time, `delay` each) or instant (`None`).
    pub(super) fn new(delay: Option<Duration>) -> Self {
        PasswordCheck {
            worker: delay.map(|d| (tokio::sync::Mutex::new(()), d)),
            checks: AtomicU64::new(0),
        }
    }

    /// Password checks started so far: the logins the service has had to pay for.
    pub(super) fn count(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// [`check_credentials`], after waiting for the worker and the hashing time when slow (for
    /// right and wrong passwords alike).
    pub(super) async fn check(&self, username: &str, password: &str) -> Option<&'static str> {
        self.checks.fetch_add(1, Ordering::Relaxed);
        if let Some((worker, delay)) = &self.worker {
            let _busy = worker.lock().await;
            tokio::time::sleep(*delay).await;
            return check_credentials(username, password);
        }
        check_credentials(username, password)
    }
}

/// The demo user these credentials belong to. Both comparisons always run.
pub(super) fn check_credentials(username: &str, password: &str) -> Option<&'static str> {
    let mut found = None;
    for (user, expected) in DEMO_USERS {
        let user_ok = constant_time_eq(username.as_bytes(), user.as_bytes());
        let password_ok = constant_time_eq(password.as_bytes(), expected.as_bytes());
        if user_ok & password_ok {
            found = Some(*user);
        }
    }
    found
}

/// Whether `id` and `secret` are the demo client's. Both comparisons always run.
pub(super) fn check_client(id: &str, secret: &str) -> bool {
    let id_ok = constant_time_eq(id.as_bytes(), DEMO_CLIENT_ID.as_bytes());
    let secret_ok = constant_time_eq(secret.as_bytes(), DEMO_CLIENT_SECRET.as_bytes());
    id_ok & secret_ok
}

/// Equality whose time depends only on the lengths, not on where the inputs differ.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_check_needs_both_halves() {
        assert!(check_client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET));
        assert!(!check_client(DEMO_CLIENT_ID, "wrong"));
        assert!(!check_client("other", DEMO_CLIENT_SECRET));
    }

    #[test]
    fn credentials_name_their_demo_user() {
        assert_eq!(
            check_credentials("alice", "alice-demo-password"),
            Some("alice")
        );
        assert_eq!(check_credentials("bob", "bob-demo-password"), Some("bob"));
        assert_eq!(check_credentials("alice", "bob-demo-password"), None);
        assert_eq!(check_credentials("alice", ""), None);
    }

    #[tokio::test]
    async fn slow_checks_take_their_time_one_at_a_time() {
        let slow = std::sync::Arc::new(PasswordCheck::new(Some(SLOW_LOGIN_DELAY)));
        let started = tokio::time::Instant::now();
        let (a, b) = tokio::join!(
            slow.check("alice", "alice-demo-password"),
            slow.check("bob", "wrong")
        );
        assert_eq!((a, b), (Some("alice"), None));
        assert!(started.elapsed() >= SLOW_LOGIN_DELAY * 2);
        let fast = PasswordCheck::new(None);
        assert_eq!(fast.check("bob", "bob-demo-password").await, Some("bob"));
    }

    #[test]
    fn constant_time_eq_compares_whole_inputs() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
