//! The testbed's OAuth 2.0 surface: the token endpoint (RFC 6749), the revocation endpoint
//! (RFC 7009), token logout and the discovery document.
//!
//! This file owns the refresh-token lifecycle — families, rotation, reuse detection,
//! revocation — and where each `refresh-*` and `revocation-*` flaw and the
//! `refresh-not-rotated` and `grant-wide-revocation` quirks change it. Clean, every redemption
//! of a refresh token rotates it and issues a new access token; redeeming a superseded token
//! (reuse) revokes the whole family; logout and revocation revoke the family. Access tokens
//! stay stateless: logout leaves them valid until they expire (the documented revocation
//! window); only the revocation endpoint deny-lists one by its `jti`.
//!
//! It shares the token state of `tokens` (the signer and the [`Families`] store) and checks
//! bearer tokens with `verify`. It must keep every check-and-rotate under one lock (except under
//! `refresh-concurrent-double-spend`), never hold that lock across an `.await`, and never
//! panic on anything a client sends.
//!
//! [`Families`]: super::families::Families

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde_json::{Value, json};

use super::accounts::{DEMO_CLIENT_ID, check_client};
use super::families::{Families, FamilyId, RefreshState};
use super::flaw::Flaw;
use super::front_end::FrontEnd;
use super::http::{MAX_BODY, error, json_response};
use super::oidc;
use super::quirk::Quirk;
use super::store::random_token;
use super::tokens::{
    FamiliesView, TOKEN_ISSUER, TokenState, Tokens, issue, start_family, token_cache_headers,
};
use super::verify::authorize;

/// The `scope` every token is issued with.
const SCOPE: &str = "profile";
/// The `WWW-Authenticate` challenge of a failed HTTP Basic client authentication.
const BASIC_CHALLENGE: &str = r#"Basic realm="authprobe-testbed""#;
/// How long `refresh-concurrent-double-spend` waits between its check and its rotation.
const DOUBLE_SPEND_GAP: Duration = Duration::from_millis(100);
/// Longest `Host` the discovery document builds its URLs from.
const MAX_HOST: usize = 255;

/// The OAuth routes on `state` (shared with the bearer-token routes), for merging into the
/// testbed's router.
pub(super) fn routes(state: TokenState) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/api/token/logout", post(logout))
        .route("/.well-known/openid-configuration", get(discovery))
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Request parsing and client authentication

/// The parameters of a form body. Empty values count as omitted (RFC 6749 §3.1).
struct Form(HashMap<String, String>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

fn invalid_request() -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request")
}

fn invalid_grant() -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_grant")
}

/// The form parameters of a `application/x-www-form-urlencoded` body of at most 16 KiB:
/// otherwise 413, or 400 `invalid_request` for another media type or a repeated parameter
/// (RFC 6749 §3.2).
async fn read_form(headers: &HeaderMap, body: Body) -> Result<Form, Response> {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Err(error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .is_some_and(|mime| mime.eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(invalid_request());
    }
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(&bytes) {
        if value.is_empty() {
            continue;
        }
        if params
            .insert(name.into_owned(), value.into_owned())
            .is_some()
        {
            return Err(invalid_request());
        }
    }
    Ok(Form(params))
}

/// Why client authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientRefusal {
    /// 401 `invalid_client`, with a Basic challenge when `basic` was tried.
    InvalidClient { basic: bool },
    /// 400 `invalid_request`: more than one authentication method.
    TwoMethods,
}

impl ClientRefusal {
    fn into_response(self) -> Response {
        match self {
            ClientRefusal::InvalidClient { basic } => {
                let mut response = error(StatusCode::UNAUTHORIZED, "invalid_client");
                if basic {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(BASIC_CHALLENGE),
                    );
                }
                response
            }
            ClientRefusal::TwoMethods => invalid_request(),
        }
    }
}

/// The authenticated client of a token or revocation request: HTTP Basic
/// (`client_secret_basic`, id and secret form-urlencoded, RFC 6749 §2.3.1) or `client_id` and
/// `client_secret` form parameters (`client_secret_post`). A form `client_id` next to Basic
/// must name the same client.
fn authenticate_client(headers: &HeaderMap, form: &Form) -> Result<&'static str, ClientRefusal> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if let Some(credentials) = authorization.as_deref().and_then(basic_credentials) {
        // RFC 6749 §2.3: one authentication method per request.
        if form.get("client_secret").is_some() {
            return Err(ClientRefusal::TwoMethods);
        }
        let ok = credentials.is_some_and(|(id, secret)| {
            check_client(&id, &secret) && form.get("client_id").is_none_or(|c| c == id)
        });
        return if ok {
            Ok(DEMO_CLIENT_ID)
        } else {
            Err(ClientRefusal::InvalidClient { basic: true })
        };
    }
    match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) if check_client(id, secret) => Ok(DEMO_CLIENT_ID),
        _ => Err(ClientRefusal::InvalidClient { basic: false }),
    }
}

/// `None` when `authorization` is not the Basic scheme; `Some(None)` when it is but its
/// credentials do not decode; else the form-urldecoded client id and secret.
fn basic_credentials(authorization: &str) -> Option<Option<(String, String)>> {
    let authorization = authorization.trim();
    let (scheme, rest) = authorization.split_once(' ').unwrap_or((authorization, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let encoded = rest.trim();
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    Some(decoded.and_then(|pair| {
        let (id, secret) = pair.split_once(':')?;
        Some((form_urldecode(id)?, form_urldecode(secret)?))
    }))
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space); `None` when it
/// has a bad `%` escape or does not decode to UTF-8.
fn form_urldecode(value: &str) -> Option<String> {
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = [bytes.next()?, bytes.next()?];
                let hex = std::str::from_utf8(&hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

// ---------------------------------------------------------------------------------------------
// The token endpoint

/// `POST /oauth/token`: the password, client-credentials and refresh-token grants.
async fn token(State(state): State<TokenState>, headers: HeaderMap, body: Body) -> Response {
    let tokens = &state.0;
    let form = match read_form(&headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let client = match authenticate_client(&headers, &form) {
        Ok(client) => client,
        Err(refusal) => return refusal.into_response(),
    };
    match form.get("grant_type") {
        None => invalid_request(),
        Some("password") => password_grant(tokens, client, &form).await,
        Some("client_credentials") => match issue(tokens, client) {
            Ok(access) => token_response(tokens, &access.token, access.expires_in, None, None),
            Err(_) => internal(),
        },
        Some("refresh_token") => refresh_grant(tokens, client, &form).await,
        Some(_) => error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

/// Unreachable in practice: the demo keys sign anything.
fn internal() -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal")
}

async fn password_grant(tokens: &Tokens, client: &str, form: &Form) -> Response {
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return invalid_request();
    };
    let Some(user) = tokens.passwords.check(username, password).await else {
        return invalid_grant();
    };
    let Ok((access, refresh)) = start_family(tokens, user, client) else {
        return internal();
    };
    // OpenID Connect: an `openid` scope asks for an ID token too.
    let id_token = if oidc::wants_id_token(form.get("scope")) {
        match oidc::issue_id_token(tokens, user, form.get("nonce")) {
            Ok(t) => Some(t),
            Err(_) => return internal(),
        }
    } else {
        None
    };
    let (token, expires_in) = (&access.token, access.expires_in);
    token_response(
        tokens,
        token,
        expires_in,
        Some(&refresh),
        id_token.as_deref(),
    )
}

/// The refresh grant. Clean: an unknown token, a token of a revoked family or of another
/// client is `invalid_grant`; the current token rotates and buys a new access token; a
/// superseded one (reuse) revokes its family and is `invalid_grant`.
async fn refresh_grant(tokens: &Tokens, client: &str, form: &Form) -> Response {
    let Some(presented) = form.get("refresh_token") else {
        return invalid_request();
    };
    if tokens.has(Flaw::RefreshConcurrentDoubleSpend) {
        // Flaw: check, let go of the lock, wait for a "slow store", then rotate without
        // looking again. A second request in the gap passes the same check.
        let current = {
            let families = tokens.families();
            match families.find_refresh(presented) {
                Some((id, RefreshState::Current)) => redeemable(&families, id, client),
                _ => false,
            }
        };
        if current {
            tokio::time::sleep(DOUBLE_SPEND_GAP).await;
            let mut families = tokens.families();
            return match families.find_refresh(presented) {
                Some((id, _)) => rotate_and_answer(tokens, &mut families, id),
                // Evicted meanwhile.
                None => invalid_grant(),
            };
        }
    }
    let mut families = tokens.families();
    let Some((id, state)) = families.find_refresh(presented) else {
        return invalid_grant();
    };
    if !redeemable(&families, id, client) {
        return invalid_grant();
    }
    match state {
        RefreshState::Current => {}
        // Flaw: an old token is as good as the current one.
        RefreshState::Superseded if tokens.has(Flaw::RefreshReuseAccepted) => {}
        RefreshState::Superseded => {
            // Reuse: someone holds a token that was already redeemed. Flaw: refuse it but
            // leave the family (and its current token) alive.
            if !tokens.has(Flaw::RefreshNoFamilyRevocation) {
                families.revoke(id);
            }
            return invalid_grant();
        }
    }
    rotate_and_answer(tokens, &mut families, id)
}

/// Whether family `id` exists, is not revoked and was issued to `client`.
fn redeemable(families: &FamiliesView<'_>, id: FamilyId, client: &str) -> bool {
    !families.is_revoked(id)
        && families
            .get(id)
            .is_some_and(|family| family.client_id == client)
}

/// Rotates family `id` (a new current refresh token) and answers with it and a new access
/// token, as the flaws allow.
fn rotate_and_answer(tokens: &Tokens, families: &mut Families, id: FamilyId) -> Response {
    let Some(family) = families.get(id) else {
        return invalid_grant();
    };
    let user = family.user.clone();
    let refresh =
        if tokens.has(Flaw::RefreshNoRotation) || tokens.has_quirk(Quirk::RefreshNotRotated) {
            // Flaw, or a declared non-rotating refresh token (quirk): the same refresh token again.
            family.current.clone()
        } else {
            let refresh = random_token();
            families.rotate(id, refresh.clone());
            refresh
        };
    if tokens.has(Flaw::RefreshStaleAccessToken) {
        // Flaw: the access token issued before, not a new one.
        let Some(family) = families.get(id) else {
            return invalid_grant();
        };
        let access = &family.last_access;
        let now = jsonwebtoken::get_current_timestamp();
        let expires_in = access.exp.map(|exp| exp.saturating_sub(now));
        return token_response(tokens, &access.token, expires_in, Some(&refresh), None);
    }
    let Ok(access) = issue(tokens, &user) else {
        return internal();
    };
    families.record_access(id, access.record());
    token_response(
        tokens,
        &access.token,
        access.expires_in,
        Some(&refresh),
        None,
    )
}

/// A successful token response (RFC 6749 §5.1) with its caching headers; with an ID token
/// (OpenID Connect Core §3.1.3.3) the scope says `openid` too.
fn token_response(
    tokens: &Tokens,
    access_token: &str,
    expires_in: Option<u64>,
    refresh_token: Option<&str>,
    id_token: Option<&str>,
) -> Response {
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "scope": SCOPE,
    });
    if let Some(id_token) = id_token {
        body["id_token"] = json!(id_token);
        body["scope"] = json!(format!("openid {SCOPE}"));
    }
    if let Some(expires_in) = expires_in {
        body["expires_in"] = json!(expires_in);
    }
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    token_cache_headers(tokens, json_response(StatusCode::OK, body))
}

// ---------------------------------------------------------------------------------------------
// Revocation and logout

/// `POST /oauth/revoke` (RFC 7009): a refresh token revokes its family, an access token of
/// this testbed is deny-listed by `jti`; unknown tokens are fine (200).
async fn revoke(State(state): State<TokenState>, headers: HeaderMap, body: Body) -> Response {
    let tokens = &state.0;
    let form = match read_form(&headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    if let Err(refusal) = authenticate_client(&headers, &form) {
        return refusal.into_response();
    }
    let Some(token) = form.get("token") else {
        return invalid_request();
    };
    // Flaw: nothing is revoked.
    if tokens.has(Flaw::RevocationEndpointNoop) {
        return revoked();
    }
    let as_refresh = || {
        let mut families = tokens.families();
        match families.find_refresh(token) {
            Some((id, _)) => families.revoke(id),
            None => false,
        }
    };
    let as_access = || match tokens.own_jti(token) {
        Some(jti) => {
            let mut families = tokens.families();
            families.revoke_jti(&jti);
            // Quirk: the grant the access token came from goes with it (RFC 7009 §2.1).
            if tokens.has_quirk(Quirk::GrantWideRevocation)
                && let Some(id) = families.find_jti(&jti)
            {
                families.revoke(id);
            }
            true
        }
        None => false,
    };
    // The hint only decides which lookup runs first (RFC 7009 §2.1); an unknown hint is
    // ignored.
    let lookups: [&dyn Fn() -> bool; 2] = if form.get("token_type_hint") == Some("access_token") {
        [&as_access, &as_refresh]
    } else {
        [&as_refresh, &as_access]
    };
    let found = lookups.iter().any(|lookup| lookup());
    // Flaw: an unknown token is an error (RFC 7009 §2.2 says 200).
    if !found && tokens.has(Flaw::RevocationEndpointStrict) {
        return invalid_request();
    }
    revoked()
}

/// The revocation endpoint's success: 200 `{}`, not cacheable.
fn revoked() -> Response {
    let mut response = json_response(StatusCode::OK, json!({}));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /api/token/logout`: ends the token session of the bearer access token: revokes its
/// refresh-token family and deny-lists the access token itself (under `stateless-access-tokens`
/// or `token-logout-keeps-access` the access token stays valid until it expires).
async fn logout(State(state): State<TokenState>, headers: HeaderMap) -> Response {
    let tokens = &state.0;
    let claims = match authorize(tokens, &headers, None).await {
        Ok(claims) => claims,
        Err(refusal) => return refusal,
    };
    if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
        let mut families = tokens.families();
        // Flaw: logout forgets the refresh-token family.
        if !tokens.has(Flaw::RefreshSurvivesLogout)
            && let Some(id) = families.find_jti(jti)
        {
            families.revoke(id);
        }
        // Quirk (declared) or flaw (undeclared): the access token lives until its exp.
        let stateless = tokens.has_quirk(Quirk::StatelessAccessTokens)
            || tokens.has(Flaw::TokenLogoutKeepsAccess);
        if !stateless {
            families.revoke_jti(jti);
        }
    }
    json_response(StatusCode::OK, json!({ "ok": true }))
}

// ---------------------------------------------------------------------------------------------
// Discovery

/// `GET /.well-known/openid-configuration`: where the endpoints are and what they support,
/// as absolute `http://HOST` URLs. The signing algorithm says RS256 under `rs256-tokens`.
async fn discovery(State(state): State<TokenState>, headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|host| is_plain_host(host))
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}");
    let alg = if state.0.has_quirk(Quirk::Rs256Tokens) {
        "RS256"
    } else {
        "ES256"
    };
    let mut document = json!({
            "issuer": TOKEN_ISSUER,
            "token_endpoint": format!("{base}/oauth/token"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "grant_types_supported": ["password", "client_credentials", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["token", "id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce",
                "email", "email_verified", "name", "preferred_username",
            ],
    });
    // The `oidc` front-end: a provider that names its userinfo endpoint and the scope that
    // asks for refresh tokens.
    if state.0.front_end() == Some(FrontEnd::Oidc) {
        document["userinfo_endpoint"] = json!(format!("{base}{}", super::jwt::USERINFO_PATH));
        document["scopes_supported"] = json!(["openid", "profile", "email", "offline_access"]);
    }
    json_response(StatusCode::OK, document)
}

/// Whether `host` is a plausible `Host` value (a name or IP literal with an optional port):
/// nothing else is echoed into the document's URLs.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= MAX_HOST
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_urldecoded() {
        let header = |pair: &str| format!("Basic {}", STANDARD.encode(pair));
        assert_eq!(
            basic_credentials(&header("a%3Ab+c:s%25%2B")),
            Some(Some(("a:b c".to_owned(), "s%+".to_owned())))
        );
        assert_eq!(
            basic_credentials(&format!("basic  {} ", STANDARD_NO_PAD.encode("id:secret"))),
            Some(Some(("id".to_owned(), "secret".to_owned())))
        );
        assert_eq!(basic_credentials("Bearer abc"), None);
        for bad in [
            "Basic".to_owned(),
            "Basic !!!".to_owned(),
            header("no-colon"),
            header("bad%zz:x"),
            header("x:%"),
            format!("Basic {}", STANDARD.encode([0xff, b':', b'a'])),
            header("%FF:x"),
        ] {
            assert_eq!(basic_credentials(&bad), Some(None), "{bad}");
        }
    }

    #[test]
    fn only_plain_hosts_are_echoed() {
        for ok in ["127.0.0.1:8080", "[::1]:3000", "auth.example.test"] {
            assert!(is_plain_host(ok), "{ok}");
        }
        let long = "a".repeat(MAX_HOST + 1);
        for bad in ["", "evil.test/x", "a b", "x\"y", "host@evil", long.as_str()] {
            assert!(!is_plain_host(bad), "{bad}");
        }
    }
}
