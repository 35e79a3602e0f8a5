//! The testbed's public demo accounts — its users and its one OAuth client — and how
//! credentials are checked against them.
//!
//! This file owns the demo credentials and the constant-time comparisons that check them. It
//! must not know HTTP or flaws. Everything here is public demo material: the testbed is a
//! demo service, not a production one.

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

    #[test]
    fn constant_time_eq_compares_whole_inputs() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
