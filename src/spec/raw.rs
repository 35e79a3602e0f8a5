//! The spec file format: a rule as written, before validation. Exactly one of the kind keys
//! (`check`, `scenario`, `property`, `attack`, `model`) must be present; the validator turns
//! the options into the one [`super::RuleKind`] of a validated [`super::Rule`].

use serde::Deserialize;

use super::{Attack, Capability, Check, Level, Model, Property, ReplicaReplay, Severity, Step};

// The serde form of a rule; `validate` turns it into a `Rule`. The doc comment below is the
// JSON Schema's description of a rule: keep it in step with `Rule`'s.
/// One promise of session or token security, with how to check it.
///
/// ```yaml
/// - id: cookie.http-only
///   title: Session cookie is HttpOnly
///   requirement: The session cookie MUST carry the HttpOnly attribute.
///   level: must
///   severity: high
///   rationale: Scripts injected by XSS cannot read an HttpOnly cookie.
///   references: ["RFC 6265bis §4.1.2.6", "ASVS 3.4.2"]
///   requires: [session]
///   check: {cookie: http_only}
/// ```
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Rule")]
pub struct RawRule {
    /// Dotted slug, unique in the catalogue, e.g. `session.revoked-on-logout`.
    pub id: String,
    /// A short title, e.g. `Logout revokes the session on the server`.
    pub title: String,
    /// One normative sentence (MUST/SHOULD), e.g. `Replaying a session cookie after logout MUST be refused.`
    pub requirement: String,
    /// `must` or `should`.
    pub level: Level,
    /// `critical`, `high`, `medium`, `low` or `info`.
    pub severity: Severity,
    /// One paragraph in plain words: why the promise matters.
    pub rationale: String,
    /// Standards behind the rule, e.g. `RFC 6265bis §4.1.2.5`, `ASVS 3.4.1`, `WSTG-SESS-02`.
    #[serde(default)]
    pub references: Vec<String>,
    /// How to fix a failure, in one or two sentences.
    #[serde(default)]
    pub remediation: Option<String>,
    /// Capabilities the profile must provide, e.g. `[session, logout]`; a rule whose
    /// requirement is missing is skipped with the reason, never passed.
    #[serde(default)]
    pub requires: Vec<Capability>,
    /// Kind `check`: an assertion on an artefact captured during login.
    #[serde(default)]
    pub check: Option<Check>,
    /// Kind `scenario`: a fixed sequence of steps with expected outcomes.
    #[serde(default)]
    pub scenario: Option<Vec<Step>>,
    /// Kind `property`: generated cases that must all meet an expectation.
    #[serde(default)]
    pub property: Option<Property>,
    /// Kind `attack`: forged or re-signed access tokens that must all be refused.
    #[serde(default)]
    pub attack: Option<Attack>,
    /// Kind `model`: operation sequences whose every answer must agree with a reference
    /// state machine.
    #[serde(default)]
    pub model: Option<Model>,
    /// Revocations replayed on the profile's replicas, e.g.
    /// `[{after: logout, replay: session}]`: on each replica the credential is shown to work,
    /// revoked on base_url, then presented to the replica again, which must refuse it as
    /// base_url does. Runs only when the profile lists `replicas`.
    #[serde(default)]
    pub replicas: Vec<ReplicaReplay>,
}
