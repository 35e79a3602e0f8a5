//! The rule kinds' typed parameters: `check` assertions, `scenario` steps, `property`
//! generators, `attack` forgeries and `model` runs. One enum per kind's vocabulary, every
//! struct `deny_unknown_fields`, every field documented (the docs feed `explain` and the JSON
//! Schema). Shared by the file format ([`super::raw`]) and the validated [`super::Rule`].

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::strategy::MutationKind;

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
    /// What the service does with an access token (JWT or opaque) over its session.
    Token(TokenAssertion),
    /// Transport and storage: caching, CSP, CORS, CSRF, where tokens are delivered.
    Transport(TransportAssertion),
}

/// What to assert about the access token's life, whatever its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenAssertion {
    /// After the token logout flow the access token is refused; or, when the policy declares
    /// `access_after_logout: allowed_until_expiry`, it expires within `max_revocation_window`.
    RevokedOnLogout,
}

/// What to assert about transport and storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransportAssertion {
    /// Login and token responses carry `Cache-Control: no-store`.
    NoStore,
    /// HTML pages (profile `pages`, `/`, and HTML the preflight saw) carry a CSP that
    /// restricts scripts, objects and base URIs.
    Csp,
    /// Authenticated JSON responses carry the OWASP REST headers: `Cache-Control: no-store`,
    /// a JSON `Content-Type`, `X-Content-Type-Options: nosniff`, framing refused
    /// (`frame-ancestors 'none'`), and HSTS over https.
    ApiHeaders,
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
    /// The published JWKS (`token.jwks_url`) holds no symmetric key, no RSA key under 2048
    /// bits or of the ROCA generator, and exactly one key for the token's `kid`, meant for
    /// verifying its algorithm (`use`, `key_ops`, `alg`, `crv`).
    JwksSound,
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
    /// The declared semantics under which the rule has something to test, e.g.
    /// `{rotation: [required]}`; under others it is skipped with the reason (refresh only).
    #[serde(default)]
    pub when: Option<crate::units::Applies>,
    /// What a scripted rule concludes when a genuine action the model expected to work (a
    /// login, an access with a live credential, a refresh grant with the current token, a
    /// logout) is refused: by default a failed positive control, so the rule is inconclusive
    /// (a refusal proves nothing when the genuine action does not work either); `fail` for
    /// rules whose promise is that the action works. Random sequences judge every
    /// disagreement.
    #[serde(default)]
    pub genuine_refused: GenuineRefused,
}

/// See [`ModelRun::genuine_refused`].
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GenuineRefused {
    /// A failed control: the rule is inconclusive.
    #[default]
    Inconclusive,
    /// The rule's promise is broken.
    Fail,
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
