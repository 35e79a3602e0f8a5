//! The declared model semantics: what logout ends ([`SessionSemantics`]) and how refresh
//! tokens rotate, are reused and outlive logout or revocation ([`RefreshSemantics`]), with
//! the overrides a spec, a rule or a profile layers on top of the defaults.

use serde::{Deserialize, Serialize};

use super::Seconds;

/// What logout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogoutScope {
    /// The session that logged out.
    Session,
    /// Every session of the user.
    All,
}

/// The declared session semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SessionSemantics {
    /// What logout ends.
    pub logout_scope: LogoutScope,
    /// Whether the model uses logout-everywhere (when the profile defines it).
    pub logout_everywhere: bool,
}

impl Default for SessionSemantics {
    fn default() -> Self {
        SessionSemantics {
            logout_scope: LogoutScope::Session,
            logout_everywhere: true,
        }
    }
}

/// Session semantics set by a spec, a rule or a profile; absent keys keep the value below.
///
/// ```yaml
/// sessions: {logout_scope: all}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionSemanticsOverrides {
    /// `session` (logout ends the session that logs out) or `all` (every session of the user).
    #[serde(default)]
    pub logout_scope: Option<LogoutScope>,
    /// Whether to exercise logout-everywhere when the profile defines it (default true).
    #[serde(default)]
    pub logout_everywhere: Option<bool>,
}

impl SessionSemanticsOverrides {
    /// These overrides on top of `base`.
    pub fn apply(&self, base: &SessionSemantics) -> SessionSemantics {
        SessionSemantics {
            logout_scope: self.logout_scope.unwrap_or(base.logout_scope),
            logout_everywhere: self.logout_everywhere.unwrap_or(base.logout_everywhere),
        }
    }
}

/// Whether a refresh grant issues a new refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    /// Every refresh returns a new refresh token and retires the one presented (RFC 9700 §4.14.2).
    Required,
    /// The service may or may not rotate; the model follows what it does.
    Optional,
    /// The refresh token stays the same.
    None,
}

/// What happens when a retired (rotated-away) refresh token is presented again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reuse {
    /// Refused, and every token of its family is revoked (reuse detection, RFC 9700 §4.14.2).
    RevokeFamily,
    /// Refused; the family lives on.
    Reject,
    /// Accepted (the model admits either answer).
    Allow,
}

/// Whether a refresh token works after the session's logout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefreshAfterLogout {
    /// Refused.
    Rejected,
    /// Not constrained (the model admits either answer).
    Allowed,
}

/// Whether an access token still works once its session (refresh-token family) has ended by
/// logout, reuse detection or revocation, or once it was revoked itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessAfter {
    /// A stateless token may keep working until its `exp` (the revocation window); refusing
    /// it earlier agrees too.
    AllowedUntilExpiry,
    /// Refused at once (the server checks revocation on every request).
    Rejected,
}

/// What revoking an access token at the RFC 7009 endpoint ends (RFC 7009 §2.1 lets a server
/// revoke the whole grant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevocationScope {
    /// Only the access token; its grant (the refresh-token family) lives on.
    Token,
    /// The whole grant: its refresh tokens are refused afterwards.
    Grant,
    /// Either; the model follows what the service does.
    Either,
}

/// The declared refresh semantics under which a rule has something to test: a rule about
/// rotation has nothing to check when the service declares it does not rotate.
///
/// ```yaml
/// when: {rotation: [required]}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Applies {
    /// The `rotation` values under which the rule applies (any when empty).
    #[serde(default)]
    pub rotation: Vec<Rotation>,
}

impl Applies {
    /// Why the rule does not apply under `s`, when it does not.
    pub fn unmet(&self, s: &RefreshSemantics) -> Option<String> {
        if self.rotation.is_empty() || self.rotation.contains(&s.rotation) {
            return None;
        }
        let name = |r: Rotation| match r {
            Rotation::Required => "required",
            Rotation::Optional => "optional",
            Rotation::None => "none",
        };
        let wanted: Vec<&str> = self.rotation.iter().map(|r| name(*r)).collect();
        Some(format!(
            "the declared policy says rotation: {}, and this rule has something to test only when rotation is {}",
            name(s.rotation),
            wanted.join(" or ")
        ))
    }
}

/// The declared refresh-token semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RefreshSemantics {
    /// Whether refresh rotates the refresh token.
    pub rotation: Rotation,
    /// What a reused, retired refresh token does.
    pub reuse: Reuse,
    /// Window after rotation in which the previous refresh token still works.
    pub grace_seconds: Seconds,
    /// Refresh after logout.
    pub refresh_after_logout: RefreshAfterLogout,
    /// Access tokens of an ended family (logout, reuse detection, refresh-token revocation).
    pub access_after_logout: AccessAfter,
    /// An access token revoked at the RFC 7009 endpoint.
    pub access_after_revocation: AccessAfter,
    /// What revoking an access token ends: the token, its grant, or either.
    pub access_revocation_scope: RevocationScope,
}

impl Default for RefreshSemantics {
    fn default() -> Self {
        RefreshSemantics {
            rotation: Rotation::Required,
            reuse: Reuse::RevokeFamily,
            grace_seconds: Seconds(0),
            refresh_after_logout: RefreshAfterLogout::Rejected,
            access_after_logout: AccessAfter::AllowedUntilExpiry,
            access_after_revocation: AccessAfter::Rejected,
            access_revocation_scope: RevocationScope::Either,
        }
    }
}

/// Refresh semantics set by a spec, a rule or a profile; absent keys keep the value below.
///
/// ```yaml
/// refresh: {rotation: optional, reuse: allow}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshSemanticsOverrides {
    /// `required`, `optional` or `none`.
    #[serde(default)]
    pub rotation: Option<Rotation>,
    /// `revoke_family`, `reject` or `allow`.
    #[serde(default)]
    pub reuse: Option<Reuse>,
    /// Window in which the previous refresh token still works, e.g. `30s`.
    #[serde(default)]
    pub grace_seconds: Option<Seconds>,
    /// `rejected` or `allowed`.
    #[serde(default)]
    pub refresh_after_logout: Option<RefreshAfterLogout>,
    /// `allowed_until_expiry` (stateless tokens) or `rejected`.
    #[serde(default)]
    pub access_after_logout: Option<AccessAfter>,
    /// `rejected` or `allowed_until_expiry`.
    #[serde(default)]
    pub access_after_revocation: Option<AccessAfter>,
    /// What revoking an access token ends: `token`, `grant` (its refresh tokens too, as RFC
    /// 7009 §2.1 allows) or `either` (the default).
    #[serde(default)]
    pub access_revocation_scope: Option<RevocationScope>,
}

impl RefreshSemanticsOverrides {
    /// These overrides on top of `base`.
    pub fn apply(&self, base: &RefreshSemantics) -> RefreshSemantics {
        RefreshSemantics {
            rotation: self.rotation.unwrap_or(base.rotation),
            reuse: self.reuse.unwrap_or(base.reuse),
            grace_seconds: self.grace_seconds.unwrap_or(base.grace_seconds),
            refresh_after_logout: self
                .refresh_after_logout
                .unwrap_or(base.refresh_after_logout),
            access_after_logout: self.access_after_logout.unwrap_or(base.access_after_logout),
            access_after_revocation: self
                .access_after_revocation
                .unwrap_or(base.access_after_revocation),
            access_revocation_scope: self
                .access_revocation_scope
                .unwrap_or(base.access_revocation_scope),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_on_top() {
        let o = RefreshSemanticsOverrides {
            reuse: Some(Reuse::Allow),
            ..Default::default()
        };
        let s = o.apply(&RefreshSemantics::default());
        assert_eq!(s.reuse, Reuse::Allow);
        assert_eq!(s.rotation, Rotation::Required);
        let s = SessionSemanticsOverrides {
            logout_scope: Some(LogoutScope::All),
            ..Default::default()
        }
        .apply(&SessionSemantics::default());
        assert_eq!(s.logout_scope, LogoutScope::All);
        assert!(s.logout_everywhere);
    }
}
