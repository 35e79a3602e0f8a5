//! OAuth 2.0 / OpenID Connect token sections: the `token.oauth` format, the `client.*`
//! template variables, and the flows derived from a grant (token login, refresh grant,
//! RFC 7009 revocation) once the endpoints are known.
//!
//! Endpoints come from the profile first, then from a discovery document the engine fetched
//! (OpenID Connect discovery or RFC 8414). Every endpoint must be on `base_url`'s origin:
//! authprobe never sends credentials to another origin. Derived requests carry templates
//! (`{{client.basic}}`, `{{user.password}}`), never secret values. No I/O here.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use url::Url;

use super::{FlowStep, RequestSpec, SecretSource, Vars};

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
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
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
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
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

/// `client.basic`: base64 of `urlencode(id):urlencode(secret)` (RFC 6749 §2.3.1 with
/// Appendix B's form encoding, so a space is `+`).
pub(super) fn client_basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
}

/// The `client.*` template variables: `client.id`, and with a secret `client.secret` and
/// `client.basic`.
pub(super) fn client_vars(client: &OAuthClient, secret: Option<&str>) -> Vars {
    let mut v = Vars::from([("client.id".to_string(), client.id.clone())]);
    if let Some(s) = secret {
        v.insert("client.secret".into(), s.to_string());
        v.insert("client.basic".into(), client_basic(&client.id, s));
    }
    v
}

/// The names of the `client.*` variables a client section provides (for static checks).
pub(super) fn client_var_names(client: &OAuthClient) -> Vec<&'static str> {
    if client.secret.is_some() {
        vec!["client.id", "client.secret", "client.basic"]
    } else {
        vec!["client.id"]
    }
}

/// The endpoints of an OAuth section, as paths on the target's origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Endpoints {
    pub token: String,
    pub revocation: Option<String>,
    pub jwks: Option<String>,
}

/// Where an endpoint value came from, for messages.
fn source(key: &str, explicit: bool) -> String {
    if explicit {
        format!("token.oauth.{key}")
    } else {
        format!("the discovery document's `{key}`")
    }
}

/// `value` (a path or an absolute URL) as a path and query on `base`'s origin; an error
/// when it is elsewhere.
pub(super) fn same_origin_path(base: &Url, value: &str) -> Result<String, String> {
    let u = base
        .join(value)
        .map_err(|e| format!("`{value}` is not a path or URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("`{value}` is not an http(s) URL"));
    }
    if u.origin() != base.origin() {
        return Err(format!(
            "`{value}` is on {}, not on base_url's origin {}; authprobe never sends credentials to another origin",
            u.origin().ascii_serialization(),
            base.origin().ascii_serialization()
        ));
    }
    let mut path = u.path().to_string();
    if let Some(q) = u.query() {
        path.push('?');
        path.push_str(q);
    }
    Ok(path)
}

/// Endpoints from the profile first, then from the discovery document; each checked to be
/// on `base`'s origin.
pub(super) fn endpoints(
    base: &Url,
    o: &OAuthSpec,
    jwks_set: bool,
    discovery: Option<&serde_json::Value>,
) -> Result<Endpoints, String> {
    let from_doc = |key: &str| -> Result<Option<String>, String> {
        match discovery.and_then(|d| d.get(key)) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("the discovery document's `{key}` is not a string")),
        }
    };
    let pick =
        |explicit: Option<&String>, key: &str, what: &str| -> Result<Option<String>, String> {
            let (value, from_profile) = match explicit {
                Some(v) => (v.clone(), true),
                None => match from_doc(key)? {
                    Some(v) => (v, false),
                    None => return Ok(None),
                },
            };
            same_origin_path(base, &value)
                .map(Some)
                .map_err(|e| format!("{what} ({}): {e}", source(key, from_profile)))
        };
    let token = pick(o.token_endpoint.as_ref(), "token_endpoint", "token endpoint")?
        .ok_or_else(|| {
            if discovery.is_some() {
                "no token endpoint: neither token.oauth.token_endpoint nor the discovery document gives one".to_string()
            } else {
                "no token endpoint: set token.oauth.token_endpoint or token.oauth.discovery".to_string()
            }
        })?;
    let revocation = pick(
        o.revocation_endpoint.as_ref(),
        "revocation_endpoint",
        "revocation endpoint",
    )?;
    let jwks = if jwks_set {
        None
    } else {
        pick(None, "jwks_uri", "jwks")?
    };
    Ok(Endpoints {
        token,
        revocation,
        jwks,
    })
}

fn spanned<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Location::UNKNOWN, Location::UNKNOWN)
}

/// A POST form request to `path` with the client's authentication added.
fn client_request(
    path: &str,
    client: &OAuthClient,
    mut form: BTreeMap<String, String>,
) -> RequestSpec {
    let mut headers = BTreeMap::new();
    match client.auth {
        ClientAuth::Basic => {
            headers.insert("Authorization".into(), "Basic {{client.basic}}".into());
        }
        ClientAuth::Post => {
            form.insert("client_id".into(), "{{client.id}}".into());
            form.insert("client_secret".into(), "{{client.secret}}".into());
        }
        ClientAuth::None => {
            form.insert("client_id".into(), "{{client.id}}".into());
        }
    }
    RequestSpec {
        method: "POST".into(),
        path: path.to_string(),
        headers,
        json: None,
        form: (!form.is_empty()).then_some(form),
        body: None,
    }
}

/// One token-endpoint step: extracts the access token into `from` and, if the answer has
/// one, the refresh token into `refresh_from`; only 200 counts as success.
fn token_step(request: RequestSpec, from: &str, refresh_from: &str) -> Spanned<FlowStep> {
    spanned(FlowStep {
        request,
        extract: BTreeMap::from([
            (from.to_string(), "json:/access_token".to_string()),
            (refresh_from.to_string(), "?json:/refresh_token".to_string()),
        ]),
        expect_status: Some(vec![200]),
    })
}

/// The derived token login for the grant.
pub(super) fn login_flow(
    o: &OAuthSpec,
    token_endpoint: &str,
    from: &str,
    refresh_from: &str,
) -> Vec<Spanned<FlowStep>> {
    let mut form = BTreeMap::new();
    match o.grant {
        OAuthGrant::Password => {
            form.insert("grant_type".to_string(), "password".to_string());
            form.insert("username".into(), "{{user.username}}".into());
            form.insert("password".into(), "{{user.password}}".into());
        }
        OAuthGrant::ClientCredentials => {
            form.insert("grant_type".to_string(), "client_credentials".to_string());
        }
    }
    if let Some(scope) = &o.scope {
        form.insert("scope".into(), scope.clone());
    }
    let req = client_request(token_endpoint, &o.client.value, form);
    vec![token_step(req, from, refresh_from)]
}

/// The derived refresh grant (RFC 6749 §6), or None for grants without refresh tokens.
pub(super) fn refresh_flow(
    o: &OAuthSpec,
    token_endpoint: &str,
    from: &str,
    refresh_from: &str,
) -> Option<Vec<Spanned<FlowStep>>> {
    if o.grant != OAuthGrant::Password {
        return None;
    }
    let form = BTreeMap::from([
        ("grant_type".to_string(), "refresh_token".to_string()),
        (
            "refresh_token".to_string(),
            format!("{{{{{refresh_from}}}}}"),
        ),
    ]);
    let req = client_request(token_endpoint, &o.client.value, form);
    Some(vec![token_step(req, from, refresh_from)])
}

/// The derived revocation request (the engine adds `token` and `token_type_hint`).
pub(super) fn revocation(o: &OAuthSpec, revocation_endpoint: &str) -> RevocationSpec {
    RevocationSpec {
        request: client_request(revocation_endpoint, &o.client.value, BTreeMap::new()),
    }
}
