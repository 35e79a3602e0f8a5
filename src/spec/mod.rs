//! The rule catalogue: typed rules (`check`, `scenario`, `property`), their metadata, the
//! policy values they read, and the loader that turns `specs/*.yaml` into a [`Catalogue`].
//!
//! Owns the spec language. It never does I/O beyond reading the spec files it is given, and
//! knows nothing about HTTP, profiles or how a rule is executed (that is `engine`'s job).
//! Every struct is `deny_unknown_fields`: a misspelt key is an error with its location.

mod load;
mod policy;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Session-id mutation operators (`bit_flip`, `truncate`, `extend`, `case_flip`,
/// `substitute`), defined next to the generator that implements them.
pub use crate::strategy::MutationKind;

pub use crate::units::{PrefixPolicy, SameSiteValue, Seconds};
pub use load::{
    BUILTIN_SPECS, SPEC_USERS, builtin_catalogue, catalogue_from_sources, load_catalogue,
    load_spec_file, validate_rule,
};
pub use policy::{Policy, PolicyOverrides};

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
        self.rules.iter().find(|r| r.id == id)
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
pub struct Rule {
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
    /// Where the rule was defined (filled by the loader).
    #[serde(skip)]
    pub origin: Origin,
}

/// The kind of a rule, borrowed from the rule.
#[derive(Debug, Clone, Copy)]
pub enum RuleKind<'a> {
    /// An assertion on a captured artefact.
    Check(&'a Check),
    /// A fixed sequence of steps.
    Scenario(&'a [Step]),
    /// Generated cases.
    Property(&'a Property),
    /// Forged tokens.
    Attack(&'a Attack),
    /// Sequences checked against a reference state machine.
    Model(&'a Model),
}

impl Rule {
    /// The rule's kind; the loader guarantees exactly one is present.
    pub fn kind(&self) -> Option<RuleKind<'_>> {
        match (
            &self.check,
            &self.scenario,
            &self.property,
            &self.attack,
            &self.model,
        ) {
            (Some(c), None, None, None, None) => Some(RuleKind::Check(c)),
            (None, Some(s), None, None, None) => Some(RuleKind::Scenario(s)),
            (None, None, Some(p), None, None) => Some(RuleKind::Property(p)),
            (None, None, None, Some(a), None) => Some(RuleKind::Attack(a)),
            (None, None, None, None, Some(m)) => Some(RuleKind::Model(m)),
            _ => None,
        }
    }

    /// True when running the rule ends sessions other rules may be using (logout
    /// everywhere), so the engine runs it alone.
    pub fn is_exclusive(&self) -> bool {
        let scenario = self.scenario.as_deref().is_some_and(|s| {
            s.iter()
                .any(|step| matches!(step, Step::LogoutEverywhere(_)))
        });
        // The session machine may log out everywhere (random sequences, or a script that does).
        let model = match &self.model {
            Some(Model::Session(run)) => {
                run.is_random()
                    || run
                        .setup
                        .iter()
                        .chain(&run.script)
                        .any(crate::machine::session::SessionOp::needs_logout_everywhere)
            }
            _ => false,
        };
        scenario || model
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

/// Kind `check`: an assertion on something captured while logging in.
///
/// ```yaml
/// check: {cookie: same_site}
/// check: {session_id: entropy}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// An attribute of the session cookie as the login response set it.
    Cookie(CookieAssertion),
    /// A property of the session id value.
    SessionId(SessionIdAssertion),
    /// A property of the access token (a JWT) the token login returned.
    Jwt(JwtAssertion),
    /// Transport and storage: caching, CSP, CORS, CSRF, where tokens are delivered.
    Transport(TransportAssertion),
}

/// What to assert about transport and storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransportAssertion {
    /// Login and token responses carry `Cache-Control: no-store`.
    NoStore,
    /// HTML pages (profile `pages`) carry a CSP that restricts scripts, objects and base URIs.
    Csp,
    /// An arbitrary or `null` Origin is never reflected with credentials allowed.
    CorsCredentials,
    /// The logout request forged cross-site without the CSRF token does not end the session.
    Csrf,
    /// Browser clients get session and access tokens in HttpOnly cookies, not JSON bodies.
    TokenInBody,
}

/// What to assert about the access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JwtAssertion {
    /// No secrets (password fields and hashes, API keys, private keys) in the readable payload.
    PayloadNoSecrets,
    /// No personal data (email, phone, address, national ids, card numbers) in the payload.
    PayloadNoPersonalData,
    /// The token has an `exp` claim.
    ExpiryPresent,
    /// `exp - iat` is at most the policy's `access_token_max_lifetime`.
    ShortLived,
    /// An HMAC-signed token's secret is not in the dictionary of common secrets.
    WeakSecret,
}

/// Kind `attack`: tokens derived from a live access token, each sent in place of it; every
/// one must meet `expect`. A positive control (the untampered token is accepted) runs before
/// and after.
///
/// ```yaml
/// attack:
///   forge: [none_algorithm]
///   expect: denied
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attack {
    /// Forgeries from the toolkit, in Wycheproof's vocabulary (`none_algorithm`,
    /// `missing_signature`, `symmetry_confusion`, `attacker_provided_embedded_jwk`, ...).
    #[serde(default)]
    pub forge: Vec<crate::jwt::dangerous::ForgeryKind>,
    /// Claim changes signed with the real key (white-box): `expired`, `not_yet_valid`,
    /// `wrong_audience`, `wrong_issuer`.
    #[serde(default)]
    pub resign: Vec<ClaimAttack>,
    /// Send the untampered token another way (e.g. `{query: [access_token]}`), without the
    /// profile's own transport (Authorization header or cookie).
    #[serde(default)]
    pub via: Option<Via>,
    /// What every derived request must answer.
    pub expect: Expect,
}

/// A claim change signed with the service's real key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimAttack {
    /// `exp` 10 minutes in the past.
    Expired,
    /// `nbf` 10 minutes in the future.
    NotYetValid,
    /// `aud` changed to another audience.
    WrongAudience,
    /// `iss` changed to another issuer.
    WrongIssuer,
}

/// What to assert about the session cookie's `Set-Cookie`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CookieAssertion {
    /// `HttpOnly` is set.
    HttpOnly,
    /// `Secure` is set.
    Secure,
    /// `SameSite` is one of the policy's `same_site` values.
    SameSite,
    /// No `Domain` attribute (host-only) unless the policy's `cookie_domain` allows it.
    Scope,
    /// The name carries the policy's prefix and the cookie meets that prefix's requirements.
    Prefix,
    /// `Max-Age`/`Expires` stay within the policy's `cookie_max_lifetime`.
    Lifetime,
}

/// What to assert about the session id value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionIdAssertion {
    /// The value decodes to nothing readable (no base64/hex/JSON/JWT content, no user name).
    Opaque,
    /// A sample of ids from fresh logins is unique, unpatterned and has enough entropy
    /// (policy `session_id_samples`, `session_id_min_entropy_bits`).
    Entropy,
}

/// Kind `scenario`: one step. Steps act on named *clients* (independent browsers with
/// their own cookies); a client's name is free text, e.g. `victim`, `laptop`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Run the profile's anonymous flow (pre-login visit): `- anonymous: victim`.
    Anonymous(String),
    /// Log a user in: `- login: {client: victim, user: alice}`.
    Login(LoginStep),
    /// Run the logout flow: `- logout: alice`.
    Logout(String),
    /// Run the logout-everywhere flow: `- logout_everywhere: laptop`.
    LogoutEverywhere(String),
    /// Remember a client's cookies under a name: `- save: {client: alice, as: before_logout}`.
    Save(SaveStep),
    /// Put a session id into a client's cookies before it logs in (fixation attempt):
    /// `- plant: {client: victim, value: random}` or `value: {snapshot: attacker}`.
    Plant(PlantStep),
    /// Send the protected request and compare with the expectation:
    /// `- access: {client: alice, expect: denied, replay: before_logout}`.
    Access(AccessStep),
    /// The client's current session id differs from a saved one:
    /// `- expect_session_id: {client: victim, differs_from: pre_login}`.
    ExpectSessionId(ExpectSessionIdStep),
    /// The last logout told the browser to delete the session cookie (same name, domain and
    /// path, expired): `- expect_cookie_cleared: alice`.
    ExpectCookieCleared(String),
}

/// `login` step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginStep {
    /// The client (browser) that logs in.
    pub client: String,
    /// The profile user, `alice` or `bob`.
    pub user: String,
}

/// `save` step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveStep {
    /// Whose cookies.
    pub client: String,
    /// The snapshot's name.
    #[serde(rename = "as")]
    pub name: String,
}

/// `plant` step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlantStep {
    /// The victim client.
    pub client: String,
    /// Which id to plant.
    pub value: PlantValue,
}

/// The id a `plant` step puts into the victim's session cookie.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PlantValue {
    /// A fresh random value shaped like a real session id (never issued by the server).
    Random,
    /// The session id held in a saved snapshot (e.g. an attacker's anonymous session).
    Snapshot(String),
}

/// `access` step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessStep {
    /// Whose request.
    pub client: String,
    /// Expected outcome.
    pub expect: Expect,
    /// Send this snapshot's cookies instead of the client's current ones.
    #[serde(default)]
    pub replay: Option<String>,
    /// How the session id travels (default: the cookie).
    #[serde(default)]
    pub via: Via,
    /// Whether this step is a positive control (its failure makes the rule inconclusive,
    /// not failed). Defaults to true for `expect: allowed`, false for `denied`.
    #[serde(default)]
    pub control: Option<bool>,
}

impl AccessStep {
    /// Whether a failure of this step means "could not test" rather than "failed".
    pub fn is_control(&self) -> bool {
        self.control.unwrap_or(self.expect == Expect::Allowed)
    }
}

/// How an `access` step carries the session id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Via {
    /// In the session cookie, as a browser sends it.
    #[default]
    Cookie,
    /// Without cookies, as a query parameter; one request per name. `$cookie` stands for the
    /// session cookie's own name. `via: {query: [session, sid, $cookie]}`
    Query(Vec<String>),
    /// Without cookies, as a `;name=value` path parameter (servlet style); one request per
    /// name. `via: {path_param: [jsessionid]}`
    PathParam(Vec<String>),
}

/// `expect_session_id` step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectSessionIdStep {
    /// Whose session id.
    pub client: String,
    /// The snapshot it must differ from.
    pub differs_from: String,
}

/// What the protected request must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// The profile's `allowed` classifier matches.
    Allowed,
    /// Access is not granted: the `allowed` classifier does not match and the answer is not
    /// a server error (5xx).
    Denied,
    /// Anything but a server error (5xx): for malformed input, where refusal is expected
    /// but the point is that the server copes.
    NoServerError,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::Allowed => "allowed",
            Expect::Denied => "denied",
            Expect::NoServerError => "not a server error",
        })
    }
}

/// Kind `property`: every generated case must meet the expectation; a failure is shrunk
/// to a minimal counterexample.
///
/// ```yaml
/// property:
///   given: {login: alice}
///   for_all: {session_id: {mutations: [bit_flip, truncate, extend, case_flip, substitute]}}
///   cases: 256
///   expect: denied
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Property {
    /// The set-up: which user logs in first.
    pub given: Given,
    /// The generator of cases.
    pub for_all: Generator,
    /// Number of cases (1..=10000).
    pub cases: u32,
    /// What every case must answer.
    pub expect: Expect,
}

/// Set-up of a property.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Given {
    /// The user who logs in; the generator mutates what this login produced.
    pub login: String,
}

/// A named generator with parameters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Generator {
    /// Mutations of the live session id, sent as the session cookie.
    SessionId(SessionIdGenerator),
    /// Mutations of the live access token, sent in its place:
    /// `{token: {mutations: [bit_flip, substitute]}}`.
    Token(SessionIdGenerator),
    /// Malformed tokens (garbage, wrong segment counts, bad base64, non-JSON, huge values),
    /// sent in place of the access token: `{malformed_token: {}}`.
    MalformedToken(MalformedTokenGenerator),
}

/// Parameters of the `malformed_token` generator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MalformedTokenGenerator {
    /// Longest generated token in bytes (default 4096).
    #[serde(default)]
    pub max_len: Option<u32>,
}

/// Parameters of the `session_id` generator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionIdGenerator {
    /// Which mutation operators to draw from.
    pub mutations: Vec<MutationKind>,
    /// Most mutations applied to one case (default 3).
    #[serde(default = "default_max_mutations")]
    pub max_mutations: u32,
}

fn default_max_mutations() -> u32 {
    3
}

/// Kind `model`: a reference state machine, with either random operation sequences or a
/// fixed script; every answer of the service must agree with the machine's prediction under
/// the declared semantics, and a disagreement is shrunk to the shortest sequence that shows it.
///
/// ```yaml
/// model:
///   refresh:
///     sequences: 64
///     max_steps: 12
/// ```
/// or, scripted (a disagreement in `setup` makes the rule inconclusive, in `script` fails it):
/// ```yaml
/// model:
///   refresh:
///     setup: [login, {refresh: {}}]
///     script: [{refresh: {back: 1}}]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Model {
    /// The session lifecycle (`crate::machine::session`).
    Session(ModelRun<crate::machine::session::SessionOp, crate::units::SessionSemanticsOverrides>),
    /// The refresh-token family (`crate::machine::refresh`).
    Refresh(ModelRun<crate::machine::refresh::RefreshOp, crate::units::RefreshSemanticsOverrides>),
}

/// How a `model` rule exercises its machine.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[serde(bound(
    deserialize = "Op: Deserialize<'de>, Sem: Deserialize<'de> + Default",
    serialize = "Op: Serialize, Sem: Serialize"
))]
#[schemars(bound = "Op: schemars::JsonSchema, Sem: schemars::JsonSchema + Default")]
pub struct ModelRun<Op, Sem> {
    /// Random sequences to run (1..=1000); omit when `script` is given.
    #[serde(default)]
    pub sequences: Option<u32>,
    /// Most operations in a random sequence (1..=64, default 12).
    #[serde(default = "default_max_steps")]
    pub max_steps: u32,
    /// Fixed operations before `script`; a disagreement here makes the rule inconclusive.
    #[serde(default)]
    pub setup: Vec<Op>,
    /// A fixed sequence instead of random ones; a disagreement here fails the rule.
    #[serde(default)]
    pub script: Vec<Op>,
    /// Semantics for this rule, over the spec's policy; the profile's policy wins.
    #[serde(default)]
    pub semantics: Sem,
}

impl<Op, Sem> ModelRun<Op, Sem> {
    /// Whether the rule runs random sequences (no script).
    pub fn is_random(&self) -> bool {
        self.script.is_empty()
    }
}

fn default_max_steps() -> u32 {
    12
}
