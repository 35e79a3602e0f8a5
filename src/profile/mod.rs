//! Target profiles: how to talk to one auth service — base URL, users, flows (login, logout,
//! logout-everywhere, anonymous visit), the protected request and what counts as allowed,
//! and policy overrides.
//!
//! Owns the profile format, its validation (with `file:line:col` diagnostics) and the
//! resolution of secrets: passwords, keys and OAuth client secrets come from environment
//! variables or files named in the profile, never from the profile text — except
//! `public_demo` credentials, accepted only for loopback targets (the testbed's). With
//! `token.oauth` it also derives the token flows from a discovery document the engine hands
//! it ([`Target::resolve_oauth`]), refusing endpoints on another origin. It reads files and
//! environment variables and does no other I/O; it never sends a request.

mod oauth;
#[cfg(test)]
mod oauth_tests;
mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use url::Url;

use crate::diag::{self, Diagnostic, Diagnostics};
use crate::spec::{Capability, PolicyOverrides, Seconds};
pub use oauth::{ClientAuth, OAuthClient, OAuthGrant, OAuthSpec, RevocationSpec};
pub use template::{Template, TemplateError, Vars, render_json};

/// The profile for the embedded testbed (`authprobe demo` uses it with its ephemeral port).
pub const TESTBED_PROFILE: &str = include_str!("../../specs/profiles/testbed.yaml");

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
    /// HTML pages whose security headers (CSP) are checked, e.g. `[/, /login]`; default `[/]`.
    #[serde(default)]
    pub pages: Option<Vec<String>>,
    /// Policy overrides, e.g. `{cookie_max_lifetime: 12h}`.
    #[serde(default)]
    pub policy: PolicyOverrides,
    /// Request limits for runs against this service.
    #[serde(default)]
    pub limits: Limits,
}

/// Session cookie settings.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    /// The session cookie's name, e.g. `__Host-session`; absent: detected after login (the
    /// cookie whose absence turns an allowed request into a denied one).
    #[serde(default)]
    pub cookie: Option<String>,
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
}

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

/// A resolved signing key (secret material; never printed).
#[derive(Clone)]
pub struct SigningKeyMaterial {
    /// PEM text or HMAC secret.
    pub material: String,
    /// Declared algorithm.
    pub alg: Option<String>,
    /// Declared key id.
    pub kid: Option<String>,
}

impl fmt::Debug for SigningKeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKeyMaterial {{ alg: {:?}, kid: {:?}, material: <redacted> }}",
            self.alg, self.kid
        )
    }
}

/// Which flow; used in messages and evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// [`Target::flow`]).
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
    /// (`"?json:/refresh_token"`: unset when the answer has none).
    #[serde(default)]
    pub extract: BTreeMap<String, String>,
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

/// Matches a response.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Classifier {
    /// Acceptable statuses, e.g. `[200]`.
    pub status: Vec<u16>,
    /// Text the body must contain, e.g. `"\"user\""`.
    #[serde(default)]
    pub body_contains: Option<String>,
}

impl Classifier {
    /// True when a response with this status and body matches.
    pub fn matches(&self, status: u16, body: &str) -> bool {
        self.status.contains(&status)
            && self
                .body_contains
                .as_deref()
                .is_none_or(|needle| body.contains(needle))
    }
}

/// Request limits for a profile; command-line flags override them.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most requests one run may send, e.g. `5000`.
    #[serde(default)]
    pub max_requests: Option<u64>,
    /// Most requests per second, e.g. `20`.
    #[serde(default)]
    pub max_rps: Option<f64>,
    /// Per-request timeout, e.g. `10s`.
    #[serde(default)]
    pub timeout: Option<Seconds>,
}

/// An extractor parsed from `kind:arg`.
#[derive(Debug, Clone)]
pub enum Extractor {
    /// `cookie:NAME`: the value a Set-Cookie header of this response gives NAME.
    Cookie(String),
    /// `json:/pointer`: a JSON pointer into the body (strings as is, other values as JSON).
    Json(String),
    /// `header:NAME`: the first header of that name.
    Header(String),
    /// `regex:PATTERN`: the first capture group (or the whole match) in the body.
    Regex(regex::Regex),
    /// `?kind:arg`: the inner extractor; when it finds nothing the variable stays unset
    /// instead of failing the step.
    Optional(Box<Extractor>),
}

impl Extractor {
    /// Parses `kind:arg`, or `?kind:arg` for an optional one.
    pub fn parse(s: &str) -> Result<Extractor, String> {
        if let Some(inner) = s.strip_prefix('?') {
            if inner.starts_with('?') {
                return Err(format!("extractor `{s}`: one `?` makes it optional"));
            }
            return Extractor::parse(inner).map(|e| Extractor::Optional(Box::new(e)));
        }
        let (kind, arg) = s.split_once(':').ok_or_else(|| {
            format!("extractor `{s}` has no kind; use cookie:, json:, header: or regex:")
        })?;
        if arg.is_empty() {
            return Err(format!("extractor `{s}` has an empty argument"));
        }
        match kind {
            "cookie" => Ok(Extractor::Cookie(arg.to_string())),
            "json" if arg.starts_with('/') => Ok(Extractor::Json(arg.to_string())),
            "json" => Err(format!(
                "json pointer `{arg}` must start with `/`, e.g. json:/csrf_token"
            )),
            "header" => Ok(Extractor::Header(arg.to_string())),
            "regex" => regex::RegexBuilder::new(arg)
                .size_limit(1 << 20)
                .build()
                .map(Extractor::Regex)
                .map_err(|e| format!("invalid regex `{arg}`: {}", diag::lower(&e.to_string()))),
            other => Err(format!(
                "unknown extractor kind `{other}`; use cookie:, json:, header: or regex:"
            )),
        }
    }
}

/// A test user with the password resolved.
#[derive(Clone)]
pub struct User {
    /// Login name.
    pub username: String,
    /// Password (never printed; registered with the redactor).
    pub password: String,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "User {{ username: {:?}, password: <redacted> }}",
            self.username
        )
    }
}

/// A validated profile with secrets resolved: what the engine runs against.
///
/// With `token.oauth`, call [`Target::resolve_oauth`] (after fetching
/// [`Target::discovery_url`], if any) before running flows or reading
/// [`Target::capabilities`]: it derives the token flows the profile left out.
#[derive(Clone)]
pub struct Target {
    /// Display name.
    pub name: String,
    /// Base URL.
    pub base_url: Url,
    /// Default headers.
    pub headers: BTreeMap<String, String>,
    /// Users by spec name (`alice`, `bob`).
    pub users: BTreeMap<String, User>,
    /// Configured session cookie name (None: auto-detect).
    pub session_cookie: Option<String>,
    /// The cookie-session flows (None: a token-only service).
    pub flows: Option<Flows>,
    /// The token section.
    pub token: Option<TokenSpec>,
    /// Resolved signing keys of the token section.
    pub signing_keys: Vec<SigningKeyMaterial>,
    /// Extractors of every flow step, parsed: (flow, step index) → (var, extractor).
    pub extractors: BTreeMap<(u8, usize), Vec<(String, Extractor)>>,
    /// Policy overrides from the profile.
    pub policy: PolicyOverrides,
    /// Limits from the profile.
    pub limits: Limits,
    /// HTML pages to check.
    pub pages: Vec<String>,
    /// Variables every token flow starts from: `client.id`, and with a client secret
    /// `client.secret` and `client.basic` (base64 of `urlencode(id):urlencode(secret)`, RFC
    /// 6749 §2.3.1). Empty without `token.oauth`. Never printed.
    pub token_vars: Vars,
    /// The OAuth client secret, resolved (register it and `client.basic` with the redactor).
    pub client_secret: Option<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Redacted<'a>(&'a Vars);
        impl fmt::Debug for Redacted<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(k, v)| {
                        let shown = if k == "client.id" {
                            v.as_str()
                        } else {
                            "<redacted>"
                        };
                        (k, shown)
                    }))
                    .finish()
            }
        }
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("headers", &self.headers)
            .field("users", &self.users)
            .field("session_cookie", &self.session_cookie)
            .field("flows", &self.flows)
            .field("token", &self.token)
            .field("signing_keys", &self.signing_keys)
            .field("extractors", &self.extractors)
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .field("pages", &self.pages)
            .field("token_vars", &Redacted(&self.token_vars))
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Target {
    /// What this profile provides (with `token.oauth`: call after [`Target::resolve_oauth`],
    /// which derives the refresh and revocation flows).
    pub fn capabilities(&self) -> BTreeSet<Capability> {
        let mut c = BTreeSet::new();
        if let Some(flows) = &self.flows {
            c.insert(Capability::Session);
            if flows.logout.is_some() {
                c.insert(Capability::Logout);
            }
            if flows.logout_everywhere.is_some() {
                c.insert(Capability::LogoutEverywhere);
            }
            if flows.anonymous.is_some() {
                c.insert(Capability::AnonymousSession);
            }
        }
        if self.users.contains_key("bob") {
            c.insert(Capability::SecondUser);
        }
        if let Some(t) = &self.token {
            c.insert(Capability::Jwt);
            if t.jwks_url.is_some() {
                c.insert(Capability::Jwks);
            }
            if !self.signing_keys.is_empty() {
                c.insert(Capability::SigningKey);
            }
            if t.refresh.is_some() {
                c.insert(Capability::Refresh);
            }
            if t.revocation.is_some() {
                c.insert(Capability::Revocation);
            }
            if t.logout.is_some() {
                c.insert(Capability::TokenLogout);
            }
        }
        if is_loopback(&self.base_url) {
            c.insert(Capability::Loopback);
        }
        c
    }

    /// The steps of a flow, if the profile defines it (or [`Target::resolve_oauth`] derived
    /// it).
    pub fn flow(&self, name: FlowName) -> Option<&[Spanned<FlowStep>]> {
        let token = self.token.as_ref();
        match name {
            FlowName::TokenLogin => token.map(|t| t.login.as_slice()).filter(|s| !s.is_empty()),
            FlowName::TokenRefresh => token?.refresh.as_deref(),
            FlowName::TokenLogout => token?.logout.as_deref(),
            other => self.flows.as_ref()?.get(other),
        }
    }

    /// The session-protected request and its classifiers (None: a token-only profile).
    pub fn session_access(&self) -> Option<&AccessSpec> {
        self.flows.as_ref().map(|f| &f.access)
    }

    /// The URL of `token.oauth.discovery`, when the profile names one: the engine fetches it
    /// and hands the document to [`Target::resolve_oauth`]. An error when it is not on
    /// base_url's origin.
    pub fn discovery_url(&self) -> Option<Result<Url, String>> {
        let d = self.token.as_ref()?.oauth.as_ref()?.discovery.as_ref()?;
        Some(
            oauth::same_origin_path(&self.base_url, d)
                .and_then(|p| self.url(&p))
                .map_err(|e| format!("discovery document (token.oauth.discovery): {e}")),
        )
    }

    /// With `token.oauth`: takes the endpoints from the profile, then from the `discovery`
    /// document (`token_endpoint`, `revocation_endpoint`, `jwks_uri` → `token.jwks_url` when
    /// unset), refuses any on another origin than base_url (authprobe never sends credentials
    /// to another origin), and derives what the profile left out: `token.login` from the
    /// grant, `token.refresh` (password grant) and `token.revocation` (when a revocation
    /// endpoint is known). Their extractors are parsed into [`Target::extractors`]. Without
    /// `token.oauth` it does nothing.
    pub fn resolve_oauth(&mut self, discovery: Option<&serde_json::Value>) -> Result<(), String> {
        let Some(t) = self.token.as_mut() else {
            return Ok(());
        };
        let Some(o) = t.oauth.as_ref() else {
            return Ok(());
        };
        if discovery.is_some_and(|d| !d.is_object()) {
            return Err("the discovery document is not a JSON object".into());
        }
        let ep = oauth::endpoints(&self.base_url, o, t.jwks_url.is_some(), discovery)?;
        if t.login.is_empty() {
            t.login = oauth::login_flow(o, &ep.token, &t.from, &t.refresh_from);
        }
        if t.refresh.is_none() {
            t.refresh = oauth::refresh_flow(o, &ep.token, &t.from, &t.refresh_from);
        }
        if t.revocation.is_none()
            && let Some(r) = &ep.revocation
        {
            t.revocation = Some(oauth::revocation(o, r));
        }
        if t.jwks_url.is_none() {
            t.jwks_url = ep.jwks;
        }
        self.extractors = parse_extractors(self.flows.as_ref(), self.token.as_ref());
        Ok(())
    }

    /// The parsed extractors of one step.
    pub fn step_extractors(&self, flow: FlowName, index: usize) -> &[(String, Extractor)] {
        self.extractors
            .get(&(flow_key(flow), index))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Builds the absolute URL for a path of this target.
    pub fn url(&self, path: &str) -> Result<Url, String> {
        let url = self
            .base_url
            .join(path)
            .map_err(|e| format!("invalid path `{path}`: {e}"))?;
        if url.origin() != self.base_url.origin() {
            return Err(format!("path `{path}` leaves the target's origin"));
        }
        Ok(url)
    }
}

fn flow_key(flow: FlowName) -> u8 {
    flow as u8
}

/// The extractors of every step of every flow, parsed (invalid ones were reported by the
/// static check and are left out).
fn parse_extractors(
    flows: Option<&Flows>,
    token: Option<&TokenSpec>,
) -> BTreeMap<(u8, usize), Vec<(String, Extractor)>> {
    let mut extractors = BTreeMap::new();
    for flow in [
        FlowName::TokenLogin,
        FlowName::TokenRefresh,
        FlowName::TokenLogout,
        FlowName::Login,
        FlowName::Logout,
        FlowName::LogoutEverywhere,
        FlowName::Anonymous,
    ] {
        let steps = match flow {
            FlowName::TokenLogin => token.map(|t| t.login.as_slice()),
            FlowName::TokenRefresh => token.and_then(|t| t.refresh.as_deref()),
            FlowName::TokenLogout => token.and_then(|t| t.logout.as_deref()),
            other => flows.and_then(|f| f.get(other)),
        };
        for (i, step) in steps.unwrap_or(&[]).iter().enumerate() {
            let list = step
                .value
                .extract
                .iter()
                .filter_map(|(var, ex)| Extractor::parse(ex).ok().map(|e| (var.clone(), e)))
                .collect();
            extractors.insert((flow_key(flow), i), list);
        }
    }
    extractors
}

/// True for `localhost`, `*.localhost`, 127.0.0.0/8 and `::1`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A profile file with its location, parsed and statically checked.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The file it came from.
    pub file: PathBuf,
    /// The parsed content.
    pub spec: ProfileFile,
}

/// Reads and checks a profile file (no secrets are read yet).
pub fn load_profile(file: &Path) -> Result<Profile, Diagnostics> {
    let src = diag::read_file(file).map_err(|d| Diagnostics(vec![d]))?;
    parse_profile(&src, file)
}

/// Parses and checks profile text.
pub fn parse_profile(src: &str, file: &Path) -> Result<Profile, Diagnostics> {
    let spec: ProfileFile = diag::from_yaml(src, file, 0, "").map_err(|d| Diagnostics(vec![d]))?;
    let profile = Profile {
        file: file.to_path_buf(),
        spec,
    };
    let mut diags = profile.check();
    // Checks that know only a key path report line 0; point them at the key (found by fuzzing).
    diag::locate_all(src, &mut diags);
    if diags.is_empty() {
        Ok(profile)
    } else {
        Err(diags)
    }
}

impl Profile {
    /// The testbed profile pointed at `base_url`.
    pub fn testbed(base_url: &str) -> Result<Profile, Diagnostics> {
        let mut p = parse_profile(TESTBED_PROFILE, Path::new("specs/profiles/testbed.yaml"))?;
        p.spec.base_url.value = base_url.to_string();
        let d = p.check();
        if d.is_empty() { Ok(p) } else { Err(d) }
    }

    fn d(
        &self,
        loc: &serde_saphyr::Location,
        path: impl Into<String>,
        msg: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(&self.file, loc.line(), loc.column(), path, msg)
    }

    /// Static checks: URL, users, templates, extractors, demo credentials.
    fn check(&self) -> Diagnostics {
        let mut out = Diagnostics::default();
        let s = &self.spec;
        let base = &s.base_url;
        let url = match Url::parse(&base.value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            Ok(u) => {
                out.push(self.d(
                    &base.referenced,
                    "base_url",
                    format!("`{}` is not an http(s) URL with a host", u),
                ));
                None
            }
            Err(e) => {
                out.push(
                    self.d(
                        &base.referenced,
                        "base_url",
                        format!("invalid URL `{}`: {e}", base.value),
                    )
                    .with_hint("write it like https://app.example.com"),
                );
                None
            }
        };
        if let Some(u) = &url
            && (!u.username().is_empty() || u.password().is_some())
        {
            out.push(
                self.d(
                    &base.referenced,
                    "base_url",
                    "base_url must not contain credentials",
                )
                .with_hint("put passwords in environment variables named by `users`"),
            );
        }
        if !s.users.contains_key("alice") {
            out.push(
                Diagnostic::new(&self.file, 0, 0, "users", "the profile must define user `alice`")
                    .with_hint("`alice` and `bob` are the names specs use for your first and second test account"),
            );
        }
        for (name, user) in &s.users {
            if name != "alice" && name != "bob" {
                out.push(
                    self.d(
                        &user.referenced,
                        format!("users.{name}"),
                        format!("unknown user `{name}`"),
                    )
                    .with_hint("specs know `alice` (required) and `bob` (optional)"),
                );
            }
            if let SecretSource::PublicDemo(_) = user.value.password
                && !url.as_ref().is_some_and(is_loopback)
            {
                out.push(
                    self.d(&user.referenced, format!("users.{name}.password"), "`public_demo` passwords are accepted only for loopback targets")
                        .with_hint("read real passwords from the environment: `password: {env: ALICE_PASSWORD}`"),
                );
            }
            if let SecretSource::Env(var) = &user.value.password
                && (var.is_empty() || var.contains('='))
            {
                out.push(self.d(
                    &user.referenced,
                    format!("users.{name}.password.env"),
                    format!("invalid environment variable name `{var}`"),
                ));
            }
        }
        if let Some(name) = &s.session.cookie
            && (name.is_empty()
                || name
                    .bytes()
                    .any(|b| b <= 0x20 || b >= 0x7f || b"=;,".contains(&b)))
        {
            out.push(Diagnostic::new(
                &self.file,
                0,
                0,
                "session.cookie",
                format!("`{name}` is not a valid cookie name"),
            ));
        }
        if s.flows.is_none() && s.token.is_none() {
            out.push(
                // About the file as a whole: neither key is there to point at.
                Diagnostic::new(
                    &self.file,
                    0,
                    0,
                    "",
                    "the profile has neither `flows` (a cookie session) nor `token` (access tokens)",
                )
                .with_hint("describe at least one way to log in: `flows: {login: ..., access: ...}` or a `token` section"),
            );
        }
        if let Some(flows) = &s.flows {
            self.check_flows(flows, &mut out);
        }
        if let Some(t) = &s.token {
            self.check_token(t, url.as_ref(), &mut out);
        }
        for (key, msg) in s.policy.problems() {
            out.push(Diagnostic::new(
                &self.file,
                0,
                0,
                format!("policy.{key}"),
                msg,
            ));
        }
        if let Some(rps) = s.limits.max_rps
            && !(rps > 0.0 && rps.is_finite())
        {
            out.push(Diagnostic::new(
                &self.file,
                0,
                0,
                "limits.max_rps",
                "must be a positive number",
            ));
        }
        out
    }

    /// Templates, extractors and classifiers of the cookie-session flows.
    fn check_flows(&self, flows: &Flows, out: &mut Diagnostics) {
        let s = &self.spec;
        let mut login_vars: BTreeSet<String> = BTreeSet::new();
        for (flow, steps) in [
            (FlowName::Login, Some(&flows.login)),
            (FlowName::Anonymous, flows.anonymous.as_ref()),
            (FlowName::Logout, flows.logout.as_ref()),
            (FlowName::LogoutEverywhere, flows.logout_everywhere.as_ref()),
        ] {
            let Some(steps) = steps else { continue };
            if steps.is_empty() {
                out.push(Diagnostic::new(
                    &self.file,
                    0,
                    0,
                    format!("flows.{flow}"),
                    "a flow needs at least one request",
                ));
            }
            let mut vars: BTreeSet<String> = match flow {
                FlowName::Login => ["user.username", "user.password"].map(String::from).into(),
                FlowName::Anonymous => BTreeSet::new(),
                _ => login_vars.clone(),
            };
            for (i, step) in steps.iter().enumerate() {
                let path = format!("flows.{flow}[{i}]");
                self.check_request(&step.value.request, &vars, &step.referenced, &path, out);
                for (var, ex) in &step.value.extract {
                    if let Err(msg) = Extractor::parse(ex) {
                        out.push(self.d(&step.referenced, format!("{path}.extract.{var}"), msg));
                    }
                    vars.insert(var.clone());
                    if flow == FlowName::Login {
                        login_vars.insert(var.clone());
                    }
                }
            }
        }
        let access_vars = login_vars;
        let loc = &s.base_url.referenced;
        self.check_request(
            &flows.access.request,
            &access_vars,
            loc,
            "flows.access.request",
            out,
        );
        if flows
            .access
            .denied
            .as_ref()
            .is_some_and(|d| d.status.is_empty())
        {
            out.push(Diagnostic::new(
                &self.file,
                0,
                0,
                "flows.access.denied.status",
                "list at least one status",
            ));
        }
        if flows.access.allowed.status.is_empty() {
            out.push(Diagnostic::new(
                &self.file,
                0,
                0,
                "flows.access.allowed.status",
                "list at least one status",
            ));
        }
    }

    fn check_token(&self, t: &TokenSpec, url: Option<&Url>, out: &mut Diagnostics) {
        let loc = &self.spec.base_url.referenced;
        // Every token flow starts from the client variables.
        let client_vars: BTreeSet<String> = t
            .oauth
            .iter()
            .flat_map(|o| oauth::client_var_names(&o.client.value))
            .map(String::from)
            .collect();
        if let Some(o) = &t.oauth {
            self.check_oauth(o, url, out);
        }
        // Without `login`, `oauth` derives one that extracts `<from>` and `<refresh_from>`.
        let derived_login = t.login.is_empty() && t.oauth.is_some();
        if t.login.is_empty() && t.oauth.is_none() {
            out.push(
                Diagnostic::new(
                    &self.file,
                    0,
                    0,
                    "token.login",
                    "a flow needs at least one request",
                )
                .with_hint("write the token login, or give `token.oauth` to derive it"),
            );
        }
        let mut vars: BTreeSet<String> = ["user.username", "user.password"]
            .map(String::from)
            .into_iter()
            .chain(client_vars.iter().cloned())
            .collect();
        if derived_login {
            vars.insert(t.from.clone());
            vars.insert(t.refresh_from.clone());
        }
        self.check_steps(&t.login, "token.login", &mut vars, out);
        // What the later token flows (refresh, logout, revocation) may use.
        let mut session_vars: BTreeSet<String> = vars.clone();
        session_vars.remove("user.username");
        session_vars.remove("user.password");
        if !derived_login && !vars.contains(&t.from) {
            out.push(
                self.d(
                    loc,
                    "token.from",
                    format!("`{}` is not extracted by token.login", t.from),
                )
                .with_hint("extract it, e.g. `extract: {access_token: \"json:/access_token\"}`"),
            );
        }
        self.check_request(&t.access.request, &vars, loc, "token.access.request", out);
        self.check_token_flows(t, &session_vars, out);
        let uses_token = |text: &str| {
            text.contains(&format!("{{{{{}}}}}", t.from))
                || text.contains(&format!("{{{{ {} }}}}", t.from))
        };
        let r = &t.access.request;
        if !(uses_token(&r.path)
            || r.headers.values().any(|v| uses_token(v))
            || r.body.as_deref().is_some_and(uses_token)
            || r.form.iter().flatten().any(|(_, v)| uses_token(v)))
        {
            out.push(
                self.d(
                    loc,
                    "token.access.request",
                    format!("the request does not use `{{{{{}}}}}`", t.from),
                )
                .with_hint(
                    "send the token, e.g. `headers: {Authorization: \"Bearer {{access_token}}\"}`",
                ),
            );
        }
        if let Some(j) = &t.jwks_url {
            let ok = match url {
                Some(base) => base
                    .join(j)
                    .map(|u| u.origin() == base.origin())
                    .unwrap_or(false),
                None => true,
            };
            if !ok {
                out.push(self.d(
                    loc,
                    "token.jwks_url",
                    format!("`{j}` is not on the target's origin"),
                ));
            }
        }
        for (i, k) in t.signing_keys.iter().enumerate() {
            if let SecretSource::PublicDemo(_) = k.value.key
                && !url.is_some_and(is_loopback)
            {
                out.push(self.d(
                    &k.referenced,
                    format!("token.signing_keys[{i}].key"),
                    "`public_demo` keys are accepted only for loopback targets",
                ));
            }
            if let Some(alg) = &k.value.alg
                && !matches!(
                    alg.as_str(),
                    "HS256"
                        | "HS384"
                        | "HS512"
                        | "RS256"
                        | "RS384"
                        | "RS512"
                        | "PS256"
                        | "PS384"
                        | "PS512"
                        | "ES256"
                        | "ES384"
                        | "EdDSA"
                )
            {
                out.push(self.d(
                    &k.referenced,
                    format!("token.signing_keys[{i}].alg"),
                    format!("unknown algorithm `{alg}`"),
                ));
            }
        }
    }

    /// Checks the steps of a flow, adding what they extract to `vars`.
    fn check_steps(
        &self,
        steps: &[Spanned<FlowStep>],
        key: &str,
        vars: &mut BTreeSet<String>,
        out: &mut Diagnostics,
    ) {
        for (i, step) in steps.iter().enumerate() {
            let path = format!("{key}[{i}]");
            self.check_request(&step.value.request, vars, &step.referenced, &path, out);
            for (var, ex) in &step.value.extract {
                if let Err(msg) = Extractor::parse(ex) {
                    out.push(self.d(&step.referenced, format!("{path}.extract.{var}"), msg));
                }
                vars.insert(var.clone());
            }
        }
    }

    /// `token.refresh`, `token.logout`, `token.revocation` and `token.refresh_from`.
    /// `vars`: the client variables and what the token login extracts.
    fn check_token_flows(&self, t: &TokenSpec, vars: &BTreeSet<String>, out: &mut Diagnostics) {
        let mut flow_vars = vars.clone();
        flow_vars.insert(t.from.clone());
        flow_vars.insert(t.refresh_from.clone());
        for (key, steps) in [("token.refresh", &t.refresh), ("token.logout", &t.logout)] {
            let Some(steps) = steps else { continue };
            if steps.is_empty() {
                out.push(Diagnostic::new(
                    &self.file,
                    0,
                    0,
                    key,
                    "a flow needs at least one request",
                ));
            }
            self.check_steps(steps, key, &mut flow_vars.clone(), out);
        }
        if let Some(steps) = &t.refresh
            && !steps.is_empty()
            && !steps.iter().any(|s| s.value.extract.contains_key(&t.from))
        {
            out.push(
                Diagnostic::new(
                    &self.file,
                    0,
                    0,
                    "token.refresh",
                    format!(
                        "the refresh flow does not extract the new access token `{}`",
                        t.from
                    ),
                )
                .with_hint(format!(
                    "extract it, e.g. `extract: {{{}: \"json:/access_token\"}}`",
                    t.from
                )),
            );
        }
        if t.refresh_from == t.from {
            out.push(Diagnostic::new(
                &self.file,
                0,
                0,
                "token.refresh_from",
                format!(
                    "`{}` is also `token.from`; the refresh token needs its own variable",
                    t.from
                ),
            ));
        }
        // A refresh flow (written or derived from the password grant) needs the refresh token.
        let refreshes = t.refresh.is_some()
            || t.oauth
                .as_ref()
                .is_some_and(|o| o.grant == OAuthGrant::Password);
        if refreshes && !vars.contains(&t.refresh_from) && !t.login.is_empty() {
            out.push(
                Diagnostic::new(
                    &self.file,
                    0,
                    0,
                    "token.refresh_from",
                    format!("`{}` is not extracted by token.login", t.refresh_from),
                )
                .with_hint(format!(
                    "extract it, e.g. `{}: \"?json:/refresh_token\"` (`?`: optional)",
                    t.refresh_from
                )),
            );
        }
        if let Some(r) = &t.revocation {
            let req = &r.request;
            self.check_request(
                req,
                &flow_vars,
                &serde_saphyr::Location::UNKNOWN,
                "token.revocation.request",
                out,
            );
            for field in ["token", "token_type_hint"] {
                if req.form.as_ref().is_some_and(|f| f.contains_key(field)) {
                    out.push(Diagnostic::new(
                        &self.file,
                        0,
                        0,
                        format!("token.revocation.request.form.{field}"),
                        format!("authprobe adds the form field `{field}` itself (RFC 7009)"),
                    ));
                }
            }
        }
    }

    /// `token.oauth`: endpoints on the target's origin, the client and its secret.
    fn check_oauth(&self, o: &OAuthSpec, url: Option<&Url>, out: &mut Diagnostics) {
        if o.token_endpoint.is_none() && o.discovery.is_none() {
            out.push(
                Diagnostic::new(
                    &self.file,
                    0,
                    0,
                    "token.oauth",
                    "`token.oauth` needs `token_endpoint` or `discovery`",
                )
                .with_hint("e.g. `discovery: /.well-known/openid-configuration`"),
            );
        }
        for (key, value) in [
            ("discovery", &o.discovery),
            ("token_endpoint", &o.token_endpoint),
            ("revocation_endpoint", &o.revocation_endpoint),
        ] {
            let Some(v) = value else { continue };
            let problem =
                if !v.starts_with('/') && !v.starts_with("http://") && !v.starts_with("https://") {
                    Some(format!(
                        "`{v}` is neither a path starting with `/` nor an http(s) URL"
                    ))
                } else {
                    url.and_then(|base| oauth::same_origin_path(base, v).err())
                };
            if let Some(msg) = problem {
                out.push(
                    Diagnostic::new(&self.file, 0, 0, format!("token.oauth.{key}"), msg)
                        .with_hint("give a path on base_url's origin, e.g. `/oauth/token`, or point base_url at the authorization server"),
                );
            }
        }
        let client = &o.client;
        let at = &client.referenced;
        if client.value.id.is_empty() {
            out.push(self.d(at, "token.oauth.client.id", "the client id is empty"));
        }
        match &client.value.secret {
            None if client.value.auth != ClientAuth::None => {
                let auth = match client.value.auth {
                    ClientAuth::Post => "post",
                    _ => "basic",
                };
                out.push(
                    self.d(
                        at,
                        "token.oauth.client.secret",
                        format!("`auth: {auth}` needs a client secret"),
                    )
                    .with_hint("add `secret: {env: OAUTH_CLIENT_SECRET}`, or `auth: none` for a public client"),
                );
            }
            Some(SecretSource::PublicDemo(_)) if !url.is_some_and(is_loopback) => {
                out.push(
                    self.d(
                        at,
                        "token.oauth.client.secret",
                        "`public_demo` client secrets are accepted only for loopback targets",
                    )
                    .with_hint(
                        "read it from the environment: `secret: {env: OAUTH_CLIENT_SECRET}`",
                    ),
                );
            }
            Some(SecretSource::Env(var)) if var.is_empty() || var.contains('=') => {
                out.push(self.d(
                    at,
                    "token.oauth.client.secret.env",
                    format!("invalid environment variable name `{var}`"),
                ));
            }
            _ => {}
        }
    }

    fn check_request(
        &self,
        r: &RequestSpec,
        vars: &BTreeSet<String>,
        loc: &serde_saphyr::Location,
        path: &str,
        out: &mut Diagnostics,
    ) {
        if !r.path.starts_with('/') {
            out.push(self.d(
                loc,
                format!("{path}.path"),
                format!("path `{}` must start with `/`", r.path),
            ));
        }
        if r.method.is_empty() || !r.method.bytes().all(|b| b.is_ascii_alphabetic()) {
            out.push(self.d(
                loc,
                format!("{path}.method"),
                format!("invalid method `{}`", r.method),
            ));
        }
        let bodies = [r.json.is_some(), r.form.is_some(), r.body.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if bodies > 1 {
            out.push(self.d(loc, path, "give at most one of `json`, `form`, `body`"));
        }
        let mut texts: Vec<(String, &str)> = vec![("path".into(), r.path.as_str())];
        for (k, v) in &r.headers {
            texts.push((format!("headers.{k}"), v));
        }
        for (k, v) in r.form.iter().flatten() {
            texts.push((format!("form.{k}"), v));
        }
        if let Some(b) = &r.body {
            texts.push(("body".into(), b));
        }
        let mut json_strings = Vec::new();
        if let Some(j) = &r.json {
            collect_json_strings(j, &mut json_strings);
        }
        for s in &json_strings {
            texts.push(("json".into(), s));
        }
        for (sub, text) in texts {
            match Template::parse(text) {
                Ok(t) => {
                    for var in t.vars() {
                        if !vars.contains(var) {
                            let known: Vec<&str> = vars.iter().map(String::as_str).collect();
                            out.push(
                                self.d(loc, format!("{path}.{sub}"), format!("unknown template variable `{{{{{var}}}}}`"))
                                    .with_hint(if known.is_empty() {
                                        "no variables are available here; extract one in an earlier step".to_string()
                                    } else {
                                        format!("variables available here: {}", known.join(", "))
                                    }),
                            );
                        }
                    }
                }
                Err(e) => out.push(self.d(loc, format!("{path}.{sub}"), e.to_string())),
            }
        }
    }

    /// Reads one secret; a problem becomes a located diagnostic. A file secret keeps its
    /// content except one trailing newline (PEM keys keep their inner newlines).
    fn read_secret(
        &self,
        source: &SecretSource,
        loc: &serde_saphyr::Location,
        path: &str,
        out: &mut Diagnostics,
    ) -> Option<String> {
        match source {
            SecretSource::Env(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Some(v),
                Ok(_) | Err(std::env::VarError::NotPresent) => {
                    out.push(
                        self.d(
                            loc,
                            path,
                            format!("environment variable `{var}` is not set"),
                        )
                        .with_hint(format!("export {var}=... before running authprobe")),
                    );
                    None
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    out.push(self.d(
                        loc,
                        path,
                        format!("environment variable `{var}` is not valid utf-8"),
                    ));
                    None
                }
            },
            SecretSource::File(p) => {
                let full = if p.is_absolute() {
                    p.clone()
                } else {
                    self.file.parent().unwrap_or(Path::new(".")).join(p)
                };
                match std::fs::read_to_string(&full) {
                    Ok(v) => Some(v.trim_end_matches(['\n', '\r']).to_string()),
                    Err(e) => {
                        out.push(self.d(
                            loc,
                            path,
                            format!(
                                "cannot read secret file {}: {}",
                                full.display(),
                                diag::lower(&e.to_string())
                            ),
                        ));
                        None
                    }
                }
            }
            SecretSource::PublicDemo(v) => Some(v.clone()),
        }
    }

    /// Reads the secrets (environment variables, files) and builds the [`Target`].
    pub fn resolve(&self) -> Result<Target, Diagnostics> {
        let mut out = Diagnostics::default();
        let s = &self.spec;
        let mut users = BTreeMap::new();
        for (name, user) in &s.users {
            let password = self.read_secret(
                &user.value.password,
                &user.referenced,
                &format!("users.{name}.password"),
                &mut out,
            );
            if let Some(password) = password {
                users.insert(
                    name.clone(),
                    User {
                        username: user.value.username.clone(),
                        password,
                    },
                );
            }
        }
        let mut signing_keys = Vec::new();
        if let Some(t) = &s.token {
            for (i, k) in t.signing_keys.iter().enumerate() {
                let path = format!("token.signing_keys[{i}].key");
                if let Some(material) =
                    self.read_secret(&k.value.key, &k.referenced, &path, &mut out)
                {
                    signing_keys.push(SigningKeyMaterial {
                        material,
                        alg: k.value.alg.clone(),
                        kid: k.value.kid.clone(),
                    });
                }
            }
        }
        let mut client_secret = None;
        let mut token_vars = Vars::new();
        if let Some(o) = s.token.as_ref().and_then(|t| t.oauth.as_ref()) {
            let client = &o.client;
            if let Some(source) = &client.value.secret {
                client_secret = self.read_secret(
                    source,
                    &client.referenced,
                    "token.oauth.client.secret",
                    &mut out,
                );
            }
            token_vars = oauth::client_vars(&client.value, client_secret.as_deref());
        }
        let extractors = parse_extractors(s.flows.as_ref(), s.token.as_ref());
        if !out.is_empty() {
            return Err(out);
        }
        let base_url = Url::parse(&s.base_url.value).map_err(|e| {
            Diagnostics(vec![self.d(
                &s.base_url.referenced,
                "base_url",
                format!("invalid URL: {e}"),
            )])
        })?;
        Ok(Target {
            name: s.name.clone().unwrap_or_else(|| base_url.to_string()),
            base_url,
            headers: s.headers.clone(),
            users,
            session_cookie: s.session.cookie.clone(),
            flows: s.flows.clone(),
            token: s.token.clone(),
            signing_keys,
            extractors,
            policy: s.policy.clone(),
            limits: s.limits.clone(),
            pages: s.pages.clone().unwrap_or_else(|| vec!["/".to_string()]),
            token_vars,
            client_secret,
        })
    }
}

fn collect_json_strings<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match v {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_json_strings(x, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k);
            collect_json_strings(x, out)
        }),
        _ => {}
    }
}

/// A commented profile skeleton for `authprobe init`; with an OpenID Connect discovery (or RFC
/// 8414) document, the token section is a `token.oauth` section with its endpoints (paths
/// when on base_url's origin) and the client secret read from `OAUTH_CLIENT_SECRET`. The
/// result parses as a profile.
pub fn skeleton(
    url: Option<&str>,
    discovery: Option<&serde_json::Value>,
) -> Result<String, String> {
    let issuer = discovery
        .and_then(|d| d.get("issuer"))
        .and_then(|v| v.as_str());
    let base = match (url, issuer) {
        (Some(u), _) => u.to_string(),
        (None, Some(i)) => i.to_string(),
        (None, None) => "https://app.example.com".to_string(),
    };
    let base_url = Url::parse(&base).map_err(|e| format!("invalid URL `{base}`: {e}"))?;
    if !matches!(base_url.scheme(), "http" | "https") || base_url.host().is_none() {
        return Err(format!("`{base}` is not an http(s) URL with a host"));
    }
    let origin = base_url.origin();
    // An endpoint of the discovery document: its path (and query) on base_url's origin, or
    // the whole URL when it is on another origin (then `false`).
    let same_origin_path = |key: &str| -> Option<(String, bool)> {
        let v = discovery?.get(key)?.as_str()?;
        let u = Url::parse(v).ok()?;
        if u.origin() != origin {
            return Some((v.to_string(), false));
        }
        let mut path = u.path().to_string();
        if let Some(q) = u.query() {
            path.push('?');
            path.push_str(q);
        }
        Some((path, true))
    };
    let mut out = String::new();
    out.push_str("# authprobe profile — generated by `authprobe init`; fill in the flows for your service.\n");
    out.push_str(
        "# Reference: README \"Profiles\"; check it with `authprobe validate THIS_FILE`.\n",
    );
    out.push_str(&format!(
        "name: {}\n",
        base_url.host_str().unwrap_or("my service")
    ));
    out.push_str(&format!(
        "base_url: {}\n\n",
        base_url.as_str().trim_end_matches('/')
    ));
    out.push_str("# Test accounts. Passwords come from environment variables (or files), never from this file.\n");
    out.push_str(
        "users:\n  alice: {username: alice@example.com, password: {env: ALICE_PASSWORD}}\n",
    );
    out.push_str("  # bob: {username: bob@example.com, password: {env: BOB_PASSWORD}}   # a second user enables cross-user rules\n\n");
    out.push_str(
        "# session: {cookie: SESSIONID}   # the session cookie's name; omit to detect it\n\n",
    );
    out.push_str("flows:\n");
    out.push_str("  # anonymous:                      # a pre-login visit that hands out a session (fixation checks)\n");
    out.push_str("  #   - request: {path: /login}\n");
    out.push_str("  login:\n");
    out.push_str("    # - request: {path: /login}\n    #   extract: {csrf: 'regex:name=\"csrf\" value=\"([^\"]+)\"'}\n");
    out.push_str("    - request:\n        method: POST\n        path: /login\n        form: {username: \"{{user.username}}\", password: \"{{user.password}}\"}\n      expect_status: [200, 302, 303]\n");
    out.push_str("  logout:\n    - request: {method: POST, path: /logout}\n");
    out.push_str(
        "  # logout_everywhere:\n  #   - request: {method: POST, path: /sessions/revoke-all}\n",
    );
    out.push_str("  access:                           # a request that needs the session\n");
    out.push_str("    request: {path: /api/me}\n    allowed: {status: [200]}\n    denied: {status: [401, 403]}\n\n");
    match (discovery, same_origin_path("token_endpoint")) {
        (Some(_), Some((token_path, same))) => {
            // On another origin the token endpoint is written as a path on base_url's origin
            // (so the file still parses), with a note.
            let token_path = if same {
                token_path
            } else {
                out.push_str(&format!("# NOTE: the discovery's token endpoint {token_path} is on another origin than base_url;\n# authprobe only talks to base_url's origin, so point base_url at the issuer for the token rules.\n"));
                Url::parse(&token_path)
                    .map(|u| u.path().to_string())
                    .unwrap_or_else(|_| "/oauth/token".into())
            };
            // The client authenticates as the server prefers: Basic unless it only lists post.
            let methods: Vec<&str> = discovery
                .and_then(|d| d.get("token_endpoint_auth_methods_supported"))
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|m| m.as_str()).collect())
                .unwrap_or_default();
            let auth = if !methods.is_empty()
                && !methods.contains(&"client_secret_basic")
                && methods.contains(&"client_secret_post")
            {
                "post"
            } else {
                "basic"
            };
            out.push_str("# Access tokens: OAuth 2.0 / OpenID Connect, endpoints from the discovery document.\n");
            out.push_str("# authprobe derives the token login (the grant), the refresh grant and the RFC 7009\n# revocation request from `oauth`; write `login`, `refresh` or `revocation` to override them.\n");
            out.push_str("token:\n  oauth:\n");
            out.push_str(&format!("    token_endpoint: {token_path}\n"));
            if let Some((rev, same)) = same_origin_path("revocation_endpoint") {
                if same {
                    out.push_str(&format!("    revocation_endpoint: {rev}   # RFC 7009\n"));
                } else {
                    out.push_str(&format!(
                        "    # revocation_endpoint: {rev}   # on another origin than base_url\n"
                    ));
                }
            }
            out.push_str("    # discovery: /.well-known/openid-configuration   # or read the endpoints at run time\n");
            out.push_str("    grant: password                  # or client_credentials (the client's own token; no refresh)\n");
            out.push_str("    # The client secret comes from an environment variable (or a file), never from this file.\n");
            out.push_str(&format!("    client: {{id: CLIENT_ID, secret: {{env: OAUTH_CLIENT_SECRET}}, auth: {auth}}}   # auth: basic | post | none\n"));
            out.push_str("    # scope: openid profile\n");
            out.push_str("  from: access_token\n  # refresh_from: refresh_token     # the variable holding the refresh token\n");
            out.push_str("  access:\n    request: {path: /api/me, headers: {Authorization: \"Bearer {{access_token}}\"}}\n    allowed: {status: [200]}\n    denied: {status: [401]}\n");
            if let Some((jwks, same)) = same_origin_path("jwks_uri") {
                if same {
                    out.push_str(&format!("  jwks_url: {jwks}\n"));
                } else {
                    out.push_str(&format!(
                        "  # jwks_url: {jwks}   # on another origin than base_url\n"
                    ));
                }
            }
            out.push_str("  # logout:                         # ends the token session\n  #   - request: {method: POST, path: /logout, headers: {Authorization: \"Bearer {{access_token}}\"}}\n");
            out.push_str("  # signing_keys: [{key: {file: keys/signing.pem}}]   # white-box checks of exp/nbf/aud/iss\n");
        }
        _ => {
            out.push_str("# token:                            # access tokens (JWT), if the service issues them\n");
            out.push_str("#   login:\n#     - request: {method: POST, path: /oauth/token, form: {grant_type: password, username: \"{{user.username}}\", password: \"{{user.password}}\"}}\n");
            out.push_str(
                "#       extract: {access_token: \"json:/access_token\"}\n#   from: access_token\n",
            );
            out.push_str("#   access:\n#     request: {path: /api/me, headers: {Authorization: \"Bearer {{access_token}}\"}}\n#     allowed: {status: [200]}\n");
            out.push_str("#   jwks_url: /.well-known/jwks.json\n");
        }
    }
    out.push_str("\n# pages: [/]                        # HTML pages whose CSP is checked\n");
    out.push_str("# policy: {cookie_max_lifetime: 12h, access_token_max_lifetime: 15m}\n");
    out.push_str("limits: {max_rps: 10, max_requests: 5000, timeout: 10s}\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeleton_from_oidc_discovery_fills_the_token_section_and_parses() {
        let d = serde_json::json!({
            "issuer": "https://id.example.com",
            "token_endpoint": "https://id.example.com/oauth2/token",
            "jwks_uri": "https://id.example.com/.well-known/jwks.json",
            "revocation_endpoint": "https://id.example.com/oauth2/revoke"
        });
        let text = skeleton(None, Some(&d)).unwrap();
        assert!(text.contains("token_endpoint: /oauth2/token"), "{text}");
        assert!(text.contains("jwks_url: /.well-known/jwks.json"), "{text}");
        assert!(
            text.contains("revocation_endpoint: /oauth2/revoke"),
            "{text}"
        );
        assert!(text.contains("{env: OAUTH_CLIENT_SECRET}"), "{text}");
        let p =
            parse_profile(&text, Path::new("init.yaml")).unwrap_or_else(|d| panic!("{d}\n{text}"));
        let t = p.spec.token.as_ref().unwrap();
        let o = t.oauth.as_ref().expect("an oauth section");
        assert_eq!(o.token_endpoint.as_deref(), Some("/oauth2/token"));
        assert_eq!(o.client.value.auth, ClientAuth::Basic);
        assert!(
            matches!(&o.client.value.secret, Some(SecretSource::Env(v)) if v == "OAUTH_CLIENT_SECRET")
        );
        assert!(t.login.is_empty(), "the login is derived");
    }

    #[test]
    fn testbed_profile_parses_and_resolves_without_environment() {
        let p = Profile::testbed("http://127.0.0.1:9").unwrap_or_else(|d| panic!("{d}"));
        let t = p.resolve().unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(t.users["alice"].username, "alice");
        assert!(t.capabilities().contains(&Capability::LogoutEverywhere));
    }

    #[test]
    fn public_demo_password_is_refused_for_remote_targets() {
        let d = Profile::testbed("https://app.example.com").unwrap_err();
        assert!(
            d.0.iter().any(|x| x.message.contains("only for loopback")),
            "{d}"
        );
    }

    #[test]
    fn missing_environment_variable_is_a_located_diagnostic() {
        let src = TESTBED_PROFILE.replace(
            "{public_demo: alice-demo-password}",
            "{env: AUTHPROBE_TEST_SURELY_UNSET_VAR}",
        );
        let p = parse_profile(&src, Path::new("p.yaml")).unwrap_or_else(|d| panic!("{d}"));
        let d = p.resolve().unwrap_err();
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].message.contains("AUTHPROBE_TEST_SURELY_UNSET_VAR"));
        assert!(d.0[0].line > 0);
    }

    #[test]
    fn unknown_template_variable_is_reported_with_the_available_ones() {
        let src = TESTBED_PROFILE.replace("{{csrf}}", "{{crsf}}");
        let d = parse_profile(&src, Path::new("p.yaml")).unwrap_err();
        assert!(d.0.iter().any(|x| x.message.contains("`{{crsf}}`")), "{d}");
        assert!(d.0[0].hint.as_deref().unwrap_or("").contains("csrf"), "{d}");
    }

    #[test]
    fn unknown_key_is_reported_with_line_and_column() {
        let src = TESTBED_PROFILE.replace("base_url:", "base_ur:");
        let d = parse_profile(&src, Path::new("p.yaml")).unwrap_err();
        assert!(d.0[0].message.contains("base_ur"), "{d}");
        assert!(d.0[0].line > 0);
    }

    #[test]
    fn extractors_parse_and_reject_nonsense() {
        assert!(matches!(
            Extractor::parse("json:/a/b"),
            Ok(Extractor::Json(_))
        ));
        assert!(Extractor::parse("json:a").is_err());
        assert!(Extractor::parse("xml:/a").is_err());
        assert!(Extractor::parse("regex:(").is_err());
        assert!(Extractor::parse("cookie").is_err());
    }

    #[test]
    fn loopback_detection() {
        for u in [
            "http://127.0.0.1:1",
            "http://localhost",
            "http://a.localhost",
            "http://[::1]:8",
        ] {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        for u in [
            "http://10.0.0.1",
            "https://example.com",
            "http://localhost.example.com",
        ] {
            assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
    }
}
