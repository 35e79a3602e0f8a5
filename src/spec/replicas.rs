//! A rule's `replicas:` key: after which revocation on base_url, which credential is replayed
//! on every replica the profile names (`replicas:` in the profile). Owns the file format of
//! that key, which pairs make sense, and the capabilities each pair needs. How the replay is
//! run is the engine's business.

use serde::{Deserialize, Serialize};

use super::Capability;

/// One revocation a rule replays on the profile's replicas: the credential is obtained and
/// shown to work on each replica, revoked on base_url, then presented to each replica again,
/// which must answer as base_url does.
///
/// ```yaml
/// replicas: [{after: logout, replay: session}]
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicaReplay {
    /// What ends the credential on base_url.
    pub after: ReplicaRevocation,
    /// What is replayed on each replica.
    pub replay: ReplicaCredential,
}

/// What ends a credential on base_url before it is replayed on the replicas.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaRevocation {
    /// The profile's logout flow, by the client that holds the session.
    Logout,
    /// The logout-everywhere flow, by another session of the same user.
    LogoutEverywhere,
    /// The token logout flow (`token.logout`) of the token's family.
    TokenLogout,
    /// RFC 7009 revocation of the replayed token itself.
    Revocation,
    /// Reuse of a retired refresh token of the family (which must revoke the family).
    Reuse,
}

/// The credential replayed on each replica.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaCredential {
    /// The session cookie(s), sent explicitly to the protected request.
    Session,
    /// The access token, on the token-protected request.
    AccessToken,
    /// The refresh token, in a refresh grant.
    RefreshToken,
}

impl ReplicaRevocation {
    /// The YAML spelling.
    pub fn name(self) -> &'static str {
        match self {
            ReplicaRevocation::Logout => "logout",
            ReplicaRevocation::LogoutEverywhere => "logout_everywhere",
            ReplicaRevocation::TokenLogout => "token_logout",
            ReplicaRevocation::Revocation => "revocation",
            ReplicaRevocation::Reuse => "reuse",
        }
    }
}

impl ReplicaCredential {
    /// The YAML spelling.
    pub fn name(self) -> &'static str {
        match self {
            ReplicaCredential::Session => "session",
            ReplicaCredential::AccessToken => "access_token",
            ReplicaCredential::RefreshToken => "refresh_token",
        }
    }

    /// In words, e.g. `the session cookie`.
    pub fn words(self) -> &'static str {
        match self {
            ReplicaCredential::Session => "the session cookie",
            ReplicaCredential::AccessToken => "the access token",
            ReplicaCredential::RefreshToken => "the refresh token",
        }
    }
}

impl ReplicaReplay {
    /// The capabilities the pair needs, or why the pair makes no sense.
    pub fn needs(self) -> Result<Vec<Capability>, String> {
        use ReplicaCredential as C;
        use ReplicaRevocation as R;
        let token = |cap: Capability, credential: C| match credential {
            C::AccessToken => vec![Capability::Jwt, cap],
            _ => vec![Capability::Jwt, Capability::Refresh, cap],
        };
        match (self.after, self.replay) {
            (R::Logout, C::Session) => Ok(vec![Capability::Session, Capability::Logout]),
            (R::LogoutEverywhere, C::Session) => {
                Ok(vec![Capability::Session, Capability::LogoutEverywhere])
            }
            (R::TokenLogout, c @ (C::AccessToken | C::RefreshToken)) => {
                Ok(token(Capability::TokenLogout, c))
            }
            (R::Revocation, c @ (C::AccessToken | C::RefreshToken)) => {
                Ok(token(Capability::Revocation, c))
            }
            (R::Reuse, C::RefreshToken) => Ok(vec![Capability::Jwt, Capability::Refresh]),
            (after, replay) => Err(format!(
                "`replay: {}` cannot follow `after: {}`: a session goes with logout or logout_everywhere, a token with token_logout or revocation, and reuse ends refresh tokens only",
                replay.name(),
                after.name()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_say_what_they_need_or_why_not() {
        let pair = |after, replay| ReplicaReplay { after, replay };
        let needs = pair(
            ReplicaRevocation::TokenLogout,
            ReplicaCredential::RefreshToken,
        )
        .needs()
        .expect("a pair");
        assert!(needs.contains(&Capability::TokenLogout) && needs.contains(&Capability::Refresh));
        let bad = pair(ReplicaRevocation::Logout, ReplicaCredential::AccessToken)
            .needs()
            .expect_err("no pair");
        assert!(
            bad.contains("`replay: access_token` cannot follow `after: logout`"),
            "{bad}"
        );
        assert!(
            pair(ReplicaRevocation::Reuse, ReplicaCredential::Session)
                .needs()
                .is_err()
        );
    }
}
