//! Policy values that rules read (allowed SameSite values, maximum cookie lifetime, ...):
//! built-in defaults, overridden by a spec file's `policy:` block, overridden again by the
//! profile's `policy:` block.

use serde::{Deserialize, Serialize};

use crate::units::{
    AccessAfter, PrefixPolicy, RefreshSemantics, RefreshSemanticsOverrides, SameSiteValue, Seconds,
    SessionSemantics, SessionSemanticsOverrides, bounds,
};

/// Effective policy values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Allowed `SameSite` values for the session cookie.
    pub same_site: Vec<SameSiteValue>,
    /// Longest acceptable session-cookie lifetime (`Max-Age`/`Expires`).
    pub cookie_max_lifetime: Seconds,
    /// Required name prefix.
    pub cookie_prefix: PrefixPolicy,
    /// A `Domain` attribute value the owner accepts (none: host-only required).
    pub cookie_domain: Option<String>,
    /// Fresh logins sampled by `session.id-entropy`.
    pub session_id_samples: u32,
    /// Minimum estimated entropy of a session id, in bits.
    pub session_id_min_entropy_bits: u32,
    /// Longest acceptable access-token lifetime (`exp - iat`).
    pub access_token_max_lifetime: Seconds,
    /// Claim names (or JSON pointers) the owner accepts in token payloads.
    pub jwt_claims_allow: Vec<String>,
    /// Longest authprobe waits for a real token to expire when no signing key is given.
    pub max_wait: Seconds,
    /// What the service declares about an access token after its token logout
    /// (`token.revoked-on-logout`): `rejected` at once, or `allowed_until_expiry` (stateless).
    pub access_after_logout: AccessAfter,
    /// Longest an access token may stay valid after logout when it is declared stateless.
    pub max_revocation_window: Seconds,
    /// Declared session semantics (`session.model`).
    pub sessions: SessionSemantics,
    /// Declared refresh-token semantics (`refresh.*`).
    pub refresh: RefreshSemantics,
    /// Longest acceptable ID-token lifetime (`exp - iat`).
    pub id_token_max_lifetime: Seconds,
    /// Personal-data claims an ID token may carry: the standard OpenID Connect claims by
    /// default (`OIDC_STANDARD_CLAIMS`).
    pub id_token_personal_claims: Vec<String>,
}

/// The standard claims of OpenID Connect Core 1.0 §5.1: what an ID token carries about the
/// user by design, allowed in ID tokens unless `policy.id_token_personal_claims` says
/// otherwise.
pub const OIDC_STANDARD_CLAIMS: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
];

impl Default for Policy {
    fn default() -> Self {
        Policy {
            same_site: vec![SameSiteValue::Lax, SameSiteValue::Strict],
            cookie_max_lifetime: Seconds(86_400),
            cookie_prefix: PrefixPolicy::Host,
            cookie_domain: None,
            session_id_samples: 32,
            session_id_min_entropy_bits: 128,
            access_token_max_lifetime: Seconds(900),
            jwt_claims_allow: Vec::new(),
            max_wait: Seconds(60),
            access_after_logout: AccessAfter::Rejected,
            max_revocation_window: Seconds(900),
            sessions: Default::default(),
            refresh: Default::default(),
            id_token_max_lifetime: Seconds(3600),
            id_token_personal_claims: OIDC_STANDARD_CLAIMS.iter().map(|c| c.to_string()).collect(),
        }
    }
}

/// Policy values set by a spec file or a profile; absent keys keep the value below them.
///
/// ```yaml
/// policy:
///   same_site: [lax, strict]
///   cookie_max_lifetime: 1d
///   cookie_prefix: host
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyOverrides {
    /// Allowed `SameSite` values, e.g. `[lax, strict]`.
    #[serde(default)]
    pub same_site: Option<Vec<SameSiteValue>>,
    /// Longest session-cookie lifetime, e.g. `12h`.
    #[serde(default)]
    pub cookie_max_lifetime: Option<Seconds>,
    /// Required prefix: `host`, `secure` or `optional`.
    #[serde(default)]
    pub cookie_prefix: Option<PrefixPolicy>,
    /// Accepted `Domain` attribute, e.g. `example.com`.
    #[serde(default)]
    pub cookie_domain: Option<String>,
    /// Logins sampled for the entropy estimate (4..=1000), e.g. `32`.
    #[serde(default)]
    pub session_id_samples: Option<u32>,
    /// Minimum session-id entropy in bits, e.g. `128`.
    #[serde(default)]
    pub session_id_min_entropy_bits: Option<u32>,
    /// Longest access-token lifetime, e.g. `15m`.
    #[serde(default)]
    pub access_token_max_lifetime: Option<Seconds>,
    /// Claims the owner accepts in token payloads, e.g. `[email]`.
    #[serde(default)]
    pub jwt_claims_allow: Option<Vec<String>>,
    /// Longest wait for a real token to expire, 0s to 1d, e.g. `60s`.
    #[serde(default)]
    pub max_wait: Option<Seconds>,
    /// What an access token does after logout: `rejected` (default) or
    /// `allowed_until_expiry` (stateless tokens; see `max_revocation_window`).
    #[serde(default)]
    pub access_after_logout: Option<AccessAfter>,
    /// Longest a stateless access token may stay valid after logout, e.g. `15m`.
    #[serde(default)]
    pub max_revocation_window: Option<Seconds>,
    /// Session semantics, e.g. `{logout_scope: all}`.
    #[serde(default)]
    pub sessions: Option<SessionSemanticsOverrides>,
    /// Refresh-token semantics, e.g. `{rotation: optional, reuse: allow}`.
    #[serde(default)]
    pub refresh: Option<RefreshSemanticsOverrides>,
    /// Longest ID-token lifetime (`exp - iat`), e.g. `1h` (the default).
    #[serde(default)]
    pub id_token_max_lifetime: Option<Seconds>,
    /// The personal-data claims an ID token may carry, an explicit allow-list, e.g.
    /// `[email, name]`; `[]` forbids all. Default: the standard OpenID Connect claims (`name`,
    /// `email`, `preferred_username`, `address`, `phone_number`, … — OpenID Connect Core 1.0
    /// §5.1). Secrets are never allowed.
    #[serde(default)]
    pub id_token_personal_claims: Option<Vec<String>>,
}

impl PolicyOverrides {
    /// Applies these overrides on top of `base`.
    pub fn apply(&self, base: &Policy) -> Policy {
        Policy {
            same_site: self
                .same_site
                .clone()
                .unwrap_or_else(|| base.same_site.clone()),
            cookie_max_lifetime: self.cookie_max_lifetime.unwrap_or(base.cookie_max_lifetime),
            cookie_prefix: self.cookie_prefix.unwrap_or(base.cookie_prefix),
            cookie_domain: self
                .cookie_domain
                .clone()
                .or_else(|| base.cookie_domain.clone()),
            session_id_samples: self.session_id_samples.unwrap_or(base.session_id_samples),
            session_id_min_entropy_bits: self
                .session_id_min_entropy_bits
                .unwrap_or(base.session_id_min_entropy_bits),
            access_token_max_lifetime: self
                .access_token_max_lifetime
                .unwrap_or(base.access_token_max_lifetime),
            jwt_claims_allow: self
                .jwt_claims_allow
                .clone()
                .unwrap_or_else(|| base.jwt_claims_allow.clone()),
            max_wait: self.max_wait.unwrap_or(base.max_wait),
            access_after_logout: self.access_after_logout.unwrap_or(base.access_after_logout),
            max_revocation_window: self
                .max_revocation_window
                .unwrap_or(base.max_revocation_window),
            sessions: self
                .sessions
                .as_ref()
                .map_or(base.sessions, |o| o.apply(&base.sessions)),
            refresh: self
                .refresh
                .as_ref()
                .map_or(base.refresh, |o| o.apply(&base.refresh)),
            id_token_max_lifetime: self
                .id_token_max_lifetime
                .unwrap_or(base.id_token_max_lifetime),
            id_token_personal_claims: self
                .id_token_personal_claims
                .clone()
                .unwrap_or_else(|| base.id_token_personal_claims.clone()),
        }
    }

    /// Problems with the values themselves (ranges), as (key, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(n) = self.session_id_samples
            && !(4..=1000).contains(&n)
        {
            out.push((
                "session_id_samples",
                format!("{n} is out of range 4..=1000"),
            ));
        }
        if let Some(v) = &self.same_site
            && v.is_empty()
        {
            out.push((
                "same_site",
                "the list of allowed values is empty".to_string(),
            ));
        }
        if let Some(n) = self.session_id_min_entropy_bits
            && n > 1024
        {
            out.push((
                "session_id_min_entropy_bits",
                format!("{n} is out of range 0..=1024"),
            ));
        }
        if let Some(Err(message)) = self.max_wait.map(|w| bounds::MAX_WAIT.check(w)) {
            out.push(("max_wait", message));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_on_top_of_base() {
        let o = PolicyOverrides {
            cookie_max_lifetime: Some(Seconds(60)),
            ..Default::default()
        };
        let p = o.apply(&Policy::default());
        assert_eq!(p.cookie_max_lifetime, Seconds(60));
        assert_eq!(p.same_site, Policy::default().same_site);
    }
}
