//! The rule catalogue: typed rules, their metadata, the policy values they read, and the
//! loader that turns `specs/*.yaml` into a [`Catalogue`].
//!
//! Loading has two stages: a rule as written ([`RawRule`], the serde form, every struct
//! `deny_unknown_fields` so a misspelt key is an error with its location) is checked and
//! turned into a validated [`Rule`] whose [`RuleKind`] is exactly one of the five kinds. The
//! engine only ever sees validated rules.
//!
//! Owns the spec language. It never does I/O beyond reading the spec files it is given, and
//! knows nothing about HTTP, profiles or how a rule is executed (that is `engine`'s job).

mod kinds;
mod load;
mod policy;
mod raw;
mod replicas;
mod validate;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::units::{PrefixPolicy, SameSiteValue, Seconds};
pub use kinds::*;
pub use load::{
    BUILTIN_SPECS, SPEC_USERS, builtin_catalogue, catalogue_from_sources, load_catalogue,
    load_spec_file,
};
pub use policy::{Policy, PolicyOverrides};
pub use raw::RawRule;
pub use replicas::{ReplicaCredential, ReplicaReplay, ReplicaRevocation};
pub use validate::validate_rule;

/// A loaded, validated set of rules with the policy defaults the spec files declare.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Rules in file order, then document order.
    pub rules: Vec<Rule>,
    /// Policy defaults: built-in values overridden by the spec files' `policy:` blocks.
    pub policy: Policy,
}

impl Catalogue {
    /// Looks a rule up by id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == *id)
    }
}

/// Where a rule was defined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// Spec file.
    pub file: PathBuf,
    /// 1-based line of the rule's first key.
    pub line: u64,
}

/// A rule id: a dotted lowercase slug such as `session.revoked-on-logout` (checked when a
/// spec is loaded). Compares equal to its text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RuleId(String);

impl RuleId {
    /// Checks the slug: a lowercase first part, then one or more dot-separated parts of
    /// lowercase letters, digits and inner hyphens.
    pub fn parse(id: &str) -> Option<RuleId> {
        let mut parts = id.split('.');
        let first_ok = parts.next().is_some_and(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        let mut rest = 0;
        let rest_ok = parts.all(|p| {
            rest += 1;
            !p.is_empty()
                && !p.starts_with('-')
                && !p.ends_with('-')
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
        (first_ok && rest_ok && rest >= 1).then(|| RuleId(id.to_string()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a Rust identifier (`.` and `-` become `_`): how the rule's test module is
    /// named, so `cargo test <that>` selects the rule's tests.
    pub fn test_name(&self) -> String {
        self.0.replace(['.', '-'], "_")
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for RuleId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for RuleId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

/// One validated promise of session or token security, with how to check it (see
/// [`RawRule`] for the file format).
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique in the catalogue, e.g. `session.revoked-on-logout`.
    pub id: RuleId,
    /// A short title.
    pub title: String,
    /// One normative sentence with MUST or SHOULD (matching `level`).
    pub requirement: String,
    /// `must` or `should`.
    pub level: Level,
    /// How bad a failure is.
    pub severity: Severity,
    /// One paragraph in plain words: why the promise matters.
    pub rationale: String,
    /// Standards behind the rule.
    pub references: Vec<String>,
    /// How to fix a failure.
    pub remediation: Option<String>,
    /// Capabilities the profile must provide; a rule whose requirement is missing is
    /// skipped with the reason, never passed.
    pub requires: Vec<Capability>,
    /// How the rule is checked.
    pub kind: RuleKind,
    /// What the rule replays on the profile's replicas after a revocation on base_url
    /// (empty: the rule runs on base_url only).
    pub replicas: Vec<ReplicaReplay>,
    /// Where the rule was defined.
    pub origin: Origin,
}

/// How a rule is checked: the closed set of kinds.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// An assertion on a captured artefact.
    Check(Check),
    /// A fixed sequence of steps.
    Scenario(Vec<Step>),
    /// Generated cases.
    Property(Property),
    /// Forged tokens.
    Attack(Attack),
    /// Sequences checked against a reference state machine.
    Model(Model),
}

impl RuleKind {
    /// The kind's YAML key.
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Check(_) => "check",
            RuleKind::Scenario(_) => "scenario",
            RuleKind::Property(_) => "property",
            RuleKind::Attack(_) => "attack",
            RuleKind::Model(_) => "model",
        }
    }
}

impl Rule {
    /// True when running the rule would use `cap` when the profile provides it: a capability
    /// it requires, or one a step uses when present (a scenario's `anonymous` visit).
    pub fn may_use(&self, cap: Capability) -> bool {
        self.requires.contains(&cap)
            || match &self.kind {
                RuleKind::Scenario(steps) => {
                    cap == Capability::AnonymousSession
                        && steps.iter().any(|s| matches!(s, Step::Anonymous(_)))
                }
                _ => false,
            }
    }

    /// True when running the rule ends sessions other rules may be using (logout
    /// everywhere), so the engine runs it alone.
    pub fn is_exclusive(&self) -> bool {
        let replayed_everywhere = self
            .replicas
            .iter()
            .any(|r| r.after == ReplicaRevocation::LogoutEverywhere);
        replayed_everywhere
            || match &self.kind {
                RuleKind::Scenario(steps) => steps
                    .iter()
                    .any(|step| matches!(step, Step::LogoutEverywhere(_))),
                // The session machine may log out everywhere (random sequences, or a script that does).
                RuleKind::Model(Model::Session(run)) => {
                    run.is_random()
                        || run
                            .setup
                            .iter()
                            .chain(&run.script)
                            .any(crate::machine::session::SessionOp::needs_logout_everywhere)
                }
                _ => false,
            }
    }

    /// True when the rule judges what the whole run has seen (the HTML pages any request
    /// received), so the engine runs it after every other rule.
    pub fn reads_the_run(&self) -> bool {
        matches!(
            self.kind,
            RuleKind::Check(Check::Transport(TransportAssertion::Csp))
        )
    }
}

/// How binding a rule is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Required by the standards (MUST).
    Must,
    /// Recommended (SHOULD).
    Should,
}

/// How bad a failure is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical: account takeover or equivalent.
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// Something a profile can provide; rules list the ones they need in `requires`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Login yields a session cookie that authenticates the protected request.
    Session,
    /// A logout flow is defined.
    Logout,
    /// A logout-everywhere flow (end every session of the user) is defined.
    LogoutEverywhere,
    /// An anonymous flow gives a pre-login session cookie.
    AnonymousSession,
    /// A second test user (`bob`) is defined.
    SecondUser,
    /// The profile has a `token` section: login yields an access token (a JWT) that
    /// authenticates the token-protected request.
    Jwt,
    /// The profile names the service's JWKS URL (`token.jwks_url`).
    Jwks,
    /// The profile gives the service's token signing key(s) (`token.signing_keys`): white-box
    /// forging of expired, wrong-audience ... tokens signed with the real key.
    SigningKey,
    /// The target is on loopback, so authprobe may serve attacker material (a JWKS) that
    /// the target can fetch.
    Loopback,
    /// The token login yields a refresh token and a refresh flow is defined (`token.refresh`,
    /// or derived from `token.oauth`).
    Refresh,
    /// An RFC 7009 revocation endpoint is defined (`token.revocation`, or from `token.oauth`).
    Revocation,
    /// A token logout flow is defined (`token.logout`): it ends the token session.
    TokenLogout,
}

impl Capability {
    /// The YAML spelling.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Session => "session",
            Capability::Logout => "logout",
            Capability::LogoutEverywhere => "logout_everywhere",
            Capability::AnonymousSession => "anonymous_session",
            Capability::SecondUser => "second_user",
            Capability::Jwt => "jwt",
            Capability::Jwks => "jwks",
            Capability::SigningKey => "signing_key",
            Capability::Loopback => "loopback",
            Capability::Refresh => "refresh",
            Capability::Revocation => "revocation",
            Capability::TokenLogout => "token_logout",
        }
    }
}
