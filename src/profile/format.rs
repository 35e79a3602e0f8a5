//! The profile file format: the serde types of a profile as written, strict
//! (`deny_unknown_fields`) and documented — the doc comments feed the JSON Schema
//! (`schemas/profile.schema.json`, compared by a test). Owns no validation beyond what serde
//! enforces (that is `check`) and no secret values, only where they come from (`secrets`
//! reads them). No I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

pub use super::classifier::{Classifier, statuses_in_words};
use super::extractor::ExtractSpec;
use crate::spec::{PolicyOverrides, Seconds};

/// A profile file as written.
///
/// ```yaml
/// name: my service
/// base_url: https://app.example.com
/// users:
///   alice: {username: alice@example.com, password: {env: ALICE_PASSWORD}}
/// flows:
///   login:
///     - request: {method: POST, path: /login, json: {user: "{{user.username}}", pass: "{{user.password}}"}}
///   access:
///     request: {path: /api/me}
///     allowed: {status: [200]}
/// ```
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// A name for reports, e.g. `billing staging`.
    #[serde(default)]
    pub name: Option<String>,
    /// Where the service lives, e.g. `https://app.example.com`. Requests never leave its origin.
    #[schemars(with = "String")]
    pub base_url: Spanned<String>,
    /// Other instances (or origins) of the same service, e.g.
    /// `["https://app-2.example.com", "http://127.0.0.1:8082"]`: origins only (http or https,
    /// no path, query or credentials), other than base_url's, at most 16. The paths are
    /// base_url's. After a logout or revocation on base_url, the revocation rules replay the
    /// stale session, access token and refresh token on each of them; credentials go to no
    /// origin but base_url's and these.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub replicas: Vec<Spanned<String>>,
    /// Headers sent with every request, e.g. `{X-Requested-With: authprobe}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Test accounts: `alice` (required) and `bob` (optional second user).
    #[schemars(with = "BTreeMap<String, UserSpec>")]
    pub users: BTreeMap<String, Spanned<UserSpec>>,
    /// Session cookie settings.
    #[serde(default)]
    pub session: SessionSpec,
    /// The cookie-session flows (login, logout, ..., the protected request). Optional when a
    /// `token` section is given: a token-only service (an OAuth server, a bearer API) has no
    /// cookie session, and the session rules are skipped with the reason.
    #[serde(default)]
    pub flows: Option<Flows>,
    /// Access tokens (JWTs): how to obtain one and where it is accepted.
    #[serde(default)]
    pub token: Option<TokenSpec>,
    /// More auth modes of the same service beside the top-level one (which is the mode
    /// `default` when it has `flows` or `token`): a name (`[a-z][a-z0-9_-]*`, at most 16
    /// modes) → its own `session`, `flows` and `token`, e.g. a browser's cookie login and a
    /// second client's bearer API, or two cookie logins on two apps. Every rule runs once per
    /// mode that provides what it requires; reports show the mode beside the rule id.
    ///
    /// ```yaml
    /// modes:
    ///   api:
    ///     token: {login: [...], from: access_token, access: {...}}
    /// ```
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, ModeSpec>")]
    pub modes: BTreeMap<String, Spanned<ModeSpec>>,
    /// HTML pages whose security headers (CSP) are checked, e.g. `[/, /login]`; default `[/]`.
    #[serde(default)]
    pub pages: Option<Vec<String>>,
    /// Policy overrides, e.g. `{cookie_max_lifetime: 12h}`.
    #[serde(default)]
    pub policy: PolicyOverrides,
    /// Request limits for runs against this service.
    #[serde(default)]
    pub limits: Limits,
    /// TLS settings, e.g. `{ca_file: certs/internal-ca.pem}` for a service whose certificate
    /// comes from a private CA.
    #[serde(default)]
    #[schemars(with = "Option<TlsSpec>")]
    pub tls: Option<Spanned<TlsSpec>>,
}

/// One named auth mode (`modes.NAME`): the same keys as the profile's top level, each
/// optional, at least `flows` or `token`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeSpec {
    /// Session cookie settings of this mode's cookie login.
    #[serde(default)]
    pub session: Option<SessionSpec>,
    /// This mode's cookie-session flows.
    #[serde(default)]
    pub flows: Option<Flows>,
    /// This mode's access tokens.
    #[serde(default)]
    pub token: Option<TokenSpec>,
}

/// TLS settings for reaching the service.
///
/// ```yaml
/// tls: {ca_file: certs/internal-ca.pem}
/// ```
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// A PEM bundle of CA certificates trusted besides the system's (a private CA, or the
    /// CA that signed a loopback test certificate), e.g. `certs/internal-ca.pem`; a relative
    /// path is relative to the profile. `--ca-file` replaces it.
    pub ca_file: PathBuf,
}

/// Session cookie settings.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    /// The session cookie's name, e.g. `__Host-session`; absent: detected after login (the
    /// cookie whose absence turns an allowed request into a denied one).
    #[serde(default)]
    pub cookie: Option<String>,
    /// The cookies that together carry the session, the id cookie first, e.g.
    /// `[session, session.sig]` for a value cookie and its signature (signed-cookie
    /// middlewares); every replay carries them all. Instead of `cookie`; absent: detected.
    #[serde(default)]
    pub cookies: Vec<String>,
}

/// A test account.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The login name, e.g. `alice@example.com`.
    pub username: String,
    /// Where the password comes from: `{env: ALICE_PASSWORD}` or `{file: secrets/alice}`.
    pub password: SecretSource,
}

/// Where a secret comes from. Never the profile text, except public demo credentials.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SecretSource {
    /// An environment variable: `{env: ALICE_PASSWORD}`.
    Env(String),
    /// A file whose content (trailing newline removed) is the secret: `{file: secrets/alice}`;
    /// a relative path is relative to the profile.
    File(PathBuf),
    /// A credential that is public by design (the testbed's demo users). Accepted only when
    /// `base_url` is a loopback address.
    PublicDemo(String),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(v) => write!(f, "Env({v})"),
            SecretSource::File(p) => write!(f, "File({})", p.display()),
            SecretSource::PublicDemo(_) => f.write_str("PublicDemo(..)"),
        }
    }
}

/// The flows of a profile, each a short list of requests.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flows {
    /// Logs a user in; must leave a session cookie. Variables: `user.username`, `user.password`.
    #[schemars(with = "Vec<FlowStep>")]
    pub login: Vec<Spanned<FlowStep>>,
    /// Logs the client out.
    #[serde(default)]
    #[schemars(with = "Option<Vec<FlowStep>>")]
    pub logout: Option<Vec<Spanned<FlowStep>>>,
    /// Ends every session of the user.
    #[serde(default)]
    #[schemars(with = "Option<Vec<FlowStep>>")]
    pub logout_everywhere: Option<Vec<Spanned<FlowStep>>>,
    /// A pre-login visit that gives an anonymous session (used for session-fixation checks).
    #[serde(default)]
    #[schemars(with = "Option<Vec<FlowStep>>")]
    pub anonymous: Option<Vec<Spanned<FlowStep>>>,
    /// The protected request and how to read its answer.
    pub access: AccessSpec,
}

/// Access tokens: a login flow that yields one, the variable that holds it, and the request
/// that accepts it; optionally the refresh grant, a token logout and an RFC 7009 revocation
/// endpoint, written out or derived from an OAuth 2.0 / OpenID Connect section (`oauth`).
///
/// ```yaml
/// token:
///   login:
///     - request: {method: POST, path: /oauth/token, form: {grant_type: password, username: "{{user.username}}", password: "{{user.password}}"}}
///       extract: {access_token: "json:/access_token", refresh_token: "?json:/refresh_token"}
///   from: access_token
///   access:
///     request: {path: /api/me, headers: {Authorization: "Bearer {{access_token}}"}}
///     allowed: {status: [200]}
///     denied: {status: [401]}
///   jwks_url: /.well-known/jwks.json
/// ```
///
/// or, with the flows derived from the grant:
///
/// ```yaml
/// token:
///   oauth:
///     discovery: /.well-known/openid-configuration
///     client: {id: my-client, secret: {env: OAUTH_CLIENT_SECRET}}
///   from: access_token
///   access: {...}
/// ```
///
/// Template variables: `client.id`, `client.secret`, `client.basic` (with `oauth`) in every
/// token flow; `user.username`, `user.password` in `login`; what `login` extracted (`<from>`,
/// `<refresh_from>` ...) in `refresh`, `logout`, `revocation` and `access`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Obtains a token; variables `user.username`, `user.password` (and `client.*`). May be
    /// left out with `oauth`: then it is derived from the grant.
    #[serde(default)]
    #[schemars(with = "Vec<FlowStep>")]
    pub login: Vec<Spanned<FlowStep>>,
    /// The variable (extracted by `login`) holding the access token.
    pub from: String,
    /// The variable (extracted by `login`, and by `refresh` on rotation) holding the refresh
    /// token, default `refresh_token`.
    #[serde(default = "default_refresh_from")]
    pub refresh_from: String,
    /// The refresh grant: uses `{{<refresh_from>}}`, must extract a new access token into
    /// `<from>` and may extract a new refresh token into `<refresh_from>`. Derived from
    /// `oauth` for the password grant when left out (`client_credentials` derives none).
    ///
    /// ```yaml
    /// refresh:
    ///   - request: {method: POST, path: /oauth/token, form: {grant_type: refresh_token, refresh_token: "{{refresh_token}}"}}
    ///     extract: {access_token: "json:/access_token", refresh_token: "?json:/refresh_token"}
    ///     expect_status: [200]
    /// ```
    #[serde(default)]
    #[schemars(with = "Option<Vec<FlowStep>>")]
    pub refresh: Option<Vec<Spanned<FlowStep>>>,
    /// Ends the token session, e.g. `[{request: {method: POST, path: /api/token/logout,
    /// headers: {Authorization: "Bearer {{access_token}}"}}}]`; may use `{{<from>}}` and
    /// `{{<refresh_from>}}`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<FlowStep>>")]
    pub logout: Option<Vec<Spanned<FlowStep>>>,
    /// An RFC 7009 revocation endpoint, e.g. `{request: {path: /oauth/revoke, headers:
    /// {Authorization: "Basic {{client.basic}}"}}}`; derived from `oauth` when it knows a
    /// revocation endpoint.
    #[serde(default)]
    pub revocation: Option<RevocationSpec>,
    /// An OAuth 2.0 / OpenID Connect authorization server on the target's origin, e.g.
    /// `{discovery: /.well-known/openid-configuration, client: {id: my-client, secret: {env:
    /// OAUTH_CLIENT_SECRET}}}`: `login`, `refresh`, `revocation` and `jwks_url` are derived
    /// from it when left out.
    #[serde(default)]
    pub oauth: Option<OAuthSpec>,
    /// The request that needs the token; it uses `{{<from>}}` in a header, cookie or body.
    pub access: AccessSpec,
    /// The service's JWKS (path on the target, or a URL on the same origin).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The service's signing keys (white-box mode): PEM private keys or HMAC secrets, from
    /// files or environment variables. `{key: {file: keys/signing.pem}}` or
    /// `{key: {env: JWT_SECRET}, alg: HS256}`.
    #[serde(default)]
    #[schemars(with = "Vec<KeySpec>")]
    pub signing_keys: Vec<Spanned<KeySpec>>,
    /// Claim names the owner accepts in token payloads (merged with the policy's).
    #[serde(default)]
    pub claims_allow: Vec<String>,
    /// Who receives the token: `api` (a server-side or native client, the default) or
    /// `browser` (a page's scripts — then the token belongs in an HttpOnly cookie).
    #[serde(default)]
    pub client: ClientKind,
    /// Where the token login's answer carries an OpenID Connect ID token, as an extractor
    /// applied to the login's last answer, e.g. `json:/id_token` (`?json:/id_token`, the
    /// default: an answer without one has none). A login that extracts a variable `id_token`
    /// itself needs no such key. The ID token lands in the variable `id_token`; the payload,
    /// lifetime and forgery rules judge it beside the access token.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub id_token: Option<Spanned<String>>,
    /// Where the service accepts an ID token, e.g. a relying party's sign-in:
    /// `{request: {method: POST, path: /auth/oidc, json: {id_token: "{{id_token}}"}},
    /// allowed: {status: [200]}, denied: {status: [401]}}`. The forgery rules send forged ID
    /// tokens here (the genuine one accepted before and after); without it they skip the ID
    /// token with the reason.
    #[serde(default)]
    pub id_token_login: Option<AccessSpec>,
}

/// The variable an ID token lands in (`{{id_token}}` in `token.id_token_login`).
pub const ID_TOKEN_VAR: &str = "id_token";

/// The default `token.id_token` extractor: the login answer's `id_token` member, when it has
/// one.
pub const DEFAULT_ID_TOKEN_EXTRACTOR: &str = "?json:/id_token";

fn default_refresh_from() -> String {
    "refresh_token".to_string()
}

/// Who receives a token.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// A server-side or native API client.
    #[default]
    Api,
    /// Scripts in a browser page.
    Browser,
}

/// A signing key of the service.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Where the key comes from (a PEM private key, or an HMAC secret with `alg: HS*`).
    pub key: SecretSource,
    /// The algorithm, e.g. `HS256`; for PEM keys it is inferred (EC → ES256, RSA → RS256).
    #[serde(default)]
    pub alg: Option<String>,
    /// The key id tokens signed with it carry.
    #[serde(default)]
    pub kid: Option<String>,
}

/// Which flow; used in messages and evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowName {
    /// `flows.login`.
    Login,
    /// `flows.logout`.
    Logout,
    /// `flows.logout_everywhere`.
    LogoutEverywhere,
    /// `flows.anonymous`.
    Anonymous,
    /// `token.login`.
    TokenLogin,
    /// `token.refresh`.
    TokenRefresh,
    /// `token.logout`.
    TokenLogout,
}

impl fmt::Display for FlowName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlowName::Login => "login",
            FlowName::Logout => "logout",
            FlowName::LogoutEverywhere => "logout_everywhere",
            FlowName::Anonymous => "anonymous",
            FlowName::TokenLogin => "token login",
            FlowName::TokenRefresh => "token refresh",
            FlowName::TokenLogout => "token logout",
        })
    }
}

impl Flows {
    /// The steps of a flow, if the profile defines it (token flows are not here: see
    /// [`Target::flow`](super::Target::flow)).
    pub fn get(&self, name: FlowName) -> Option<&[Spanned<FlowStep>]> {
        match name {
            FlowName::Login => Some(&self.login),
            FlowName::Logout => self.logout.as_deref(),
            FlowName::LogoutEverywhere => self.logout_everywhere.as_deref(),
            FlowName::Anonymous => self.anonymous.as_deref(),
            FlowName::TokenLogin | FlowName::TokenRefresh | FlowName::TokenLogout => None,
        }
    }
}

/// One request of a flow, with what to extract from its answer.
///
/// ```yaml
/// - request: {path: /api/csrf}
///   extract: {csrf: "json:/csrf_token"}
/// - request: {method: POST, path: /api/login, headers: {X-CSRF-Token: "{{csrf}}"}, json: {...}}
///   expect_status: [200]
/// ```
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowStep {
    /// The request.
    pub request: RequestSpec,
    /// Variables to take from the answer: `cookie:NAME`, `json:/pointer`, `header:NAME` or
    /// `regex:PATTERN` (first capture group in the body); a leading `?` makes one optional
    /// (`"?json:/refresh_token"`: unset when the answer has none). The map form narrows a
    /// header, cookie or JSON value with a regex: `{header: Location, regex: 'code=([^&]+)'}`
    /// takes capture group 1 (or the whole match without a group).
    #[serde(default)]
    pub extract: BTreeMap<String, ExtractSpec>,
    /// Statuses that mean the step worked (default: any 2xx or 3xx).
    #[serde(default)]
    pub expect_status: Option<Vec<u16>>,
}

/// A templated request; `{{var}}` is replaced in the path, header values and bodies.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// HTTP method, default `GET`.
    #[serde(default = "default_method")]
    pub method: String,
    /// Path (and query) relative to the base URL's origin, starting with `/`.
    pub path: String,
    /// Extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (sent with `Content-Type: application/json`).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// A form body (sent as `application/x-www-form-urlencoded`).
    #[serde(default)]
    pub form: Option<BTreeMap<String, String>>,
    /// A raw body, sent as is (set `Content-Type` in `headers`).
    #[serde(default)]
    pub body: Option<String>,
}

fn default_method() -> String {
    "GET".to_string()
}

/// The protected request and the classifiers of its answer.
///
/// ```yaml
/// access:
///   request: {path: /api/me}
///   allowed: {status: [200], body_contains: '"user"'}
/// ```
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessSpec {
    /// The request that needs a session.
    pub request: RequestSpec,
    /// What an authenticated answer looks like.
    pub allowed: Classifier,
    /// What a refusal looks like, e.g. `{status: [401, 403]}`. Optional: without it every
    /// answer that is neither allowed nor 5xx counts as a refusal; with it, an answer that
    /// matches neither classifier makes the check inconclusive instead.
    #[serde(default)]
    pub denied: Option<Classifier>,
}

/// Request limits for a profile; command-line flags override them.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most requests one run may send, 1 to 100000000, e.g. `5000`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100_000_000))]
    pub max_requests: Option<u64>,
    /// Most requests per second, 0.01 to 10000, e.g. `20`.
    #[serde(default)]
    #[schemars(range(min = 0.01, max = 10_000.0))]
    pub max_rps: Option<f64>,
    /// Per-request timeout, 1s to 1h, e.g. `10s`. A run may raise it for a service with slow
    /// logins (it says so in its report).
    #[serde(default)]
    pub timeout: Option<Seconds>,
    /// Most rules in flight at once, 1 to 256, e.g. `2` for a service that cannot take many
    /// concurrent logins; `--concurrency` and this combine by taking the smaller.
    #[serde(default)]
    #[schemars(range(min = 1, max = 256))]
    pub concurrency: Option<u16>,
    /// Wall time the whole run may take, 10s to 1d, e.g. `60s`: the property and model rules
    /// run fewer cases and sequences to fit (each says how many of how many), and rules still
    /// running when it ends are inconclusive; `--budget` wins over this.
    #[serde(default)]
    pub budget: Option<Seconds>,
}

// ---- token.oauth ---------------------------------------------------------------------

/// An OAuth 2.0 / OpenID Connect authorization server on the target's origin; from it
/// authprobe derives what the token section leaves out: `login` (from `grant`), `refresh`
/// (password grant only; `client_credentials` derives none) and `revocation` (when a
/// revocation endpoint is known).
///
/// ```yaml
/// oauth:
///   discovery: /.well-known/openid-configuration
///   grant: password
///   client: {id: my-client, secret: {env: OAUTH_CLIENT_SECRET}, auth: basic}
///   scope: openid profile
/// ```
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthSpec {
    /// The discovery document (OpenID Connect discovery or RFC 8414 metadata): a path, or a
    /// URL on base_url's origin, e.g. `/.well-known/openid-configuration`. It supplies the
    /// endpoints the profile does not give (`token_endpoint`, `revocation_endpoint`,
    /// `jwks_uri`).
    #[serde(default)]
    pub discovery: Option<String>,
    /// The token endpoint, e.g. `/oauth/token`; optional when `discovery` gives it.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The RFC 7009 revocation endpoint, e.g. `/oauth/revoke`; optional.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// The grant the token login uses: `password` (default; the users' credentials) or
    /// `client_credentials` (the client's own token; no refresh flow is derived).
    #[serde(default)]
    pub grant: OAuthGrant,
    /// The client: `{id: my-client, secret: {env: OAUTH_CLIENT_SECRET}, auth: basic}`.
    #[schemars(with = "OAuthClient")]
    pub client: Spanned<OAuthClient>,
    /// The scope requested by the derived token login, e.g. `openid profile`.
    #[serde(default)]
    pub scope: Option<String>,
}

/// The grant of a derived token login.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OAuthGrant {
    /// Resource owner password credentials (RFC 6749 §4.3): `user.username`/`user.password`.
    #[default]
    Password,
    /// Client credentials (RFC 6749 §4.4): the client's own token, no user, no refresh.
    ClientCredentials,
}

/// An OAuth client registration. Its secret, like passwords, never comes from the profile
/// text (except `public_demo` on loopback targets).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthClient {
    /// The client id, e.g. `my-client` (template variable `client.id`).
    pub id: String,
    /// Where the client secret comes from, e.g. `{env: OAUTH_CLIENT_SECRET}` (template
    /// variables `client.secret` and `client.basic`); optional only with `auth: none`.
    #[serde(default)]
    pub secret: Option<SecretSource>,
    /// How the client authenticates at the token endpoint: `basic` (default;
    /// `Authorization: Basic {{client.basic}}`), `post` (`client_id`/`client_secret` form
    /// fields) or `none` (a public client: `client_id` only).
    #[serde(default)]
    pub auth: ClientAuth,
}

/// Client authentication at the token and revocation endpoints (RFC 6749 §2.3.1).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with the form-urlencoded id and secret (`client_secret_basic`).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post,
    /// A public client: `client_id` in the form body, no secret.
    None,
}

/// An RFC 7009 token revocation endpoint. authprobe adds the form fields `token` and
/// (optionally) `token_type_hint` itself; `request` carries the client authentication.
///
/// ```yaml
/// revocation:
///   request: {path: /oauth/revoke, headers: {Authorization: "Basic {{client.basic}}"}}
/// ```
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevocationSpec {
    /// The request without the token: method (default `POST`), path, headers (client
    /// authentication) and optionally a base `form`, e.g.
    /// `{client_id: "{{client.id}}", client_secret: "{{client.secret}}"}`.
    #[serde(deserialize_with = "revocation_request")]
    #[schemars(with = "RevocationRequest")]
    pub request: RequestSpec,
}

/// A revocation request as written: a form request whose method defaults to `POST`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RevocationRequest {
    /// HTTP method, default `POST`.
    #[serde(default = "default_post")]
    method: String,
    /// Path (and query) relative to the base URL's origin, starting with `/`.
    path: String,
    /// Extra headers, e.g. `{Authorization: "Basic {{client.basic}}"}`.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Base form fields; authprobe adds `token` and `token_type_hint`.
    #[serde(default)]
    form: Option<BTreeMap<String, String>>,
}

fn default_post() -> String {
    "POST".to_string()
}

fn revocation_request<'de, D: serde::Deserializer<'de>>(d: D) -> Result<RequestSpec, D::Error> {
    let r = RevocationRequest::deserialize(d)?;
    Ok(RequestSpec {
        method: r.method,
        path: r.path,
        headers: r.headers,
        json: None,
        form: r.form,
        body: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::TESTBED_PROFILE;
    use crate::profile::fixtures::{OAUTH, TOKEN_FLOWS, diags, form_of, parse, replace};

    #[test]
    fn oauth_section_parses_every_key() {
        let p = parse(OAUTH);
        let t = p.spec.token.as_ref().unwrap();
        assert!(t.login.is_empty());
        assert_eq!(t.refresh_from, "rt");
        assert!(t.refresh.is_none() && t.revocation.is_none());
        assert_eq!(t.logout.as_ref().map(Vec::len), Some(1));
        let o = t.oauth.as_ref().unwrap();
        assert_eq!(
            o.discovery.as_deref(),
            Some("/.well-known/openid-configuration")
        );
        assert_eq!(o.token_endpoint, None);
        assert_eq!(o.grant, OAuthGrant::Password);
        assert_eq!(o.scope.as_deref(), Some("openid profile"));
        assert_eq!(o.client.value.id, "my client");
        assert_eq!(o.client.value.auth, ClientAuth::Basic);
        assert!(matches!(
            o.client.value.secret,
            Some(SecretSource::PublicDemo(_))
        ));
        assert_eq!(o.client.referenced.line(), 17);

        let src = replace(OAUTH, "grant: password", "grant: client_credentials");
        let src = replace(&src, "auth: basic", "auth: post");
        let src = replace(
            &src,
            "    scope: openid profile",
            "    token_endpoint: /t\n    revocation_endpoint: http://127.0.0.1:8080/r",
        );
        let o = parse(&src).spec.token.unwrap().oauth.unwrap();
        assert_eq!(o.grant, OAuthGrant::ClientCredentials);
        assert_eq!(o.client.value.auth, ClientAuth::Post);
        assert_eq!(o.token_endpoint.as_deref(), Some("/t"));
        assert_eq!(
            o.revocation_endpoint.as_deref(),
            Some("http://127.0.0.1:8080/r")
        );
        let src = replace(
            OAUTH,
            "secret: {public_demo: \"s3cr:et/+ é\"}, auth: basic",
            "auth: none",
        );
        let o = parse(&src).spec.token.unwrap().oauth.unwrap();
        assert_eq!(o.client.value.auth, ClientAuth::None);
        assert!(o.client.value.secret.is_none());
    }

    #[test]
    fn written_token_flows_parse_with_defaults() {
        let p = parse(TOKEN_FLOWS);
        let t = p.spec.token.as_ref().unwrap();
        assert_eq!(t.refresh_from, "refresh_token", "the default");
        assert!(t.oauth.is_none());
        let refresh = t.refresh.as_ref().unwrap();
        assert_eq!(refresh[0].value.request.path, "/api/token/refresh");
        assert_eq!(refresh[0].referenced.line(), 20);
        assert_eq!(t.logout.as_ref().unwrap()[0].referenced.line(), 24);
        let r = &t.revocation.as_ref().unwrap().request;
        assert_eq!(r.method, "POST", "a revocation request defaults to POST");
        assert_eq!(r.path, "/api/token/revoke");
        assert_eq!(form_of(r).get("client_id").map(String::as_str), Some("web"));
    }

    #[test]
    fn revocation_request_takes_no_json_or_body_and_keeps_a_written_method() {
        let src = replace(
            TOKEN_FLOWS,
            "form: {client_id: web}}",
            "json: {client_id: web}}",
        );
        let d = diags(&src);
        assert!(d.0[0].message.contains("unknown field"), "{d}");
        assert_eq!(d.0[0].line, 26, "{d}");
        let src = replace(
            TOKEN_FLOWS,
            "request: {path: /api/token/revoke",
            "request: {method: DELETE, path: /api/token/revoke",
        );
        let p = parse(&src);
        let r = &p.spec.token.unwrap().revocation.unwrap().request;
        assert_eq!(r.method, "DELETE");
    }

    #[test]
    fn unknown_key_is_reported_with_line_and_column() {
        let src = TESTBED_PROFILE.replace("base_url:", "base_ur:");
        let d = diags(&src);
        assert!(d.0[0].message.contains("base_ur"), "{d}");
        assert!(d.0[0].line > 0);
    }

    #[test]
    fn flow_names_of_the_token_flows() {
        assert_eq!(FlowName::TokenRefresh.to_string(), "token refresh");
        assert_eq!(FlowName::TokenLogout.to_string(), "token logout");
        assert_eq!(
            serde_json::to_string(&FlowName::TokenRefresh).unwrap(),
            "\"token_refresh\""
        );
    }

    #[test]
    fn generated_profile_schema_accepts_the_fixtures_and_refuses_unknown_oauth_keys() {
        let schema: serde_json::Value =
            serde_json::from_str(&crate::schema::render(crate::schema::Kind::Profile)).unwrap();
        let validator = jsonschema::options().build(&schema).unwrap();
        let json = |src: &str| -> serde_json::Value { serde_saphyr::from_str(src).unwrap() };
        for src in [OAUTH, TOKEN_FLOWS, TESTBED_PROFILE] {
            let errors: Vec<String> = validator
                .iter_errors(&json(src))
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:#?}");
        }
        // The classifier and extractor forms of issue 16.
        let rich = replace(
            TOKEN_FLOWS,
            "allowed: {status: [200]}",
            "allowed: {any_of: [{status: [200], body_matches: 'u.+'}, {status: [203], header: {X-U: a}}]}",
        );
        let rich = replace(
            &rich,
            "refresh_token: \"?json:/refresh_token\"}",
            "refresh_token: {json: /refresh_token, regex: '^(.+)$', optional: true}}",
        );
        parse(&rich);
        assert!(validator.is_valid(&json(&rich)), "{rich}");
        let bad = replace(&rich, "optional: true", "optionl: true");
        assert!(!validator.is_valid(&json(&bad)));
        let bad = replace(&rich, "{status: [203], header", "{status: [203], headers");
        assert!(!validator.is_valid(&json(&bad)));
        let bad = replace(OAUTH, "grant: password", "grant: implicit");
        assert!(!validator.is_valid(&json(&bad)));
        let bad = replace(OAUTH, "scope: openid profile", "scopes: openid");
        assert!(!validator.is_valid(&json(&bad)));
    }
}
