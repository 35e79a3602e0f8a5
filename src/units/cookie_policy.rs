//! The cookie policy vocabulary: which `SameSite` values and which name prefix a policy
//! asks of the session cookie.

use serde::{Deserialize, Serialize};

/// A `SameSite` value a policy allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SameSiteValue {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None` (only for cookies that must travel cross-site).
    None,
}

/// Which cookie-name prefix the session cookie must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrefixPolicy {
    /// `__Host-` (Secure, Path=/, no Domain): the strongest binding to one origin.
    Host,
    /// `__Secure-` or `__Host-`.
    Secure,
    /// No prefix required, but a prefix that is present must be honoured.
    Optional,
}
