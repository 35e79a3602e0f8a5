//! The testbed's OpenID Connect pieces: the ID token the password grant issues when `openid`
//! is in the requested scope, and a relying party's sign-in that accepts one
//! (`POST /auth/oidc`).
//!
//! This file owns what an ID token is (claims, lifetime; signed with the access tokens' key
//! and algorithm) and how the relying party verifies it (algorithm pinned, signature, `iss`,
//! `aud` = the client id, `exp` and `nbf` with no leeway), and where the `id-token-*` flaws
//! change that. The access-token verifier's flaws do not reach it: an ID token is another
//! token for another audience. It must sign and verify with the third-party `jsonwebtoken`
//! crate, never with authprobe's own JWT code, and must not panic or answer 500 on anything
//! a client sends. It keeps no state: the sign-in answers who the token names (no session,
//! no nonce check).

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use axum::response::Response;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};

use super::accounts::DEMO_CLIENT_ID;
use super::flaw::Flaw;
use super::http::{MAX_BODY, error, header_str, json_response};
use super::tokens::{LONG_LIVED_TOKEN_TTL, TOKEN_ISSUER, TokenState, Tokens};

/// Lifetime of a clean ID token, in seconds.
pub const ID_TOKEN_TTL: u64 = 300;

/// Longest `nonce` copied into an ID token.
const MAX_NONCE: usize = 256;

/// The relying-party routes on `state`, for merging into the testbed's router.
pub(super) fn routes(state: TokenState) -> Router {
    Router::new()
        .route("/auth/oidc", post(sign_in))
        .with_state(state)
}

/// Whether a space-separated `scope` asks for an ID token.
pub(super) fn wants_id_token(scope: Option<&str>) -> bool {
    scope.is_some_and(|s| s.split(' ').any(|part| part == "openid"))
}

/// A signed ID token for `user`, issued now to the demo client: `iss`, `sub`, `aud`, `iat`,
/// `auth_time`, `exp`, `nonce` (when given, at most 256 characters) and the standard claims
/// `email`, `email_verified`, `name`, `preferred_username`; under `id-token-secret-in-payload`
/// a password hash too.
pub(super) fn issue_id_token(
    tokens: &Tokens,
    user: &str,
    nonce: Option<&str>,
) -> jsonwebtoken::errors::Result<String> {
    let now = jsonwebtoken::get_current_timestamp();
    let ttl = if tokens.has(Flaw::IdTokenLongLived) {
        LONG_LIVED_TOKEN_TTL
    } else {
        ID_TOKEN_TTL
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(TOKEN_ISSUER));
    claims.insert("sub".into(), json!(user));
    claims.insert("aud".into(), json!(DEMO_CLIENT_ID));
    claims.insert("iat".into(), json!(now));
    claims.insert("auth_time".into(), json!(now));
    claims.insert("exp".into(), json!(now + ttl));
    if let Some(nonce) = nonce.filter(|n| n.len() <= MAX_NONCE) {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("email".into(), json!(format!("{user}@example.com")));
    claims.insert("email_verified".into(), json!(true));
    claims.insert("name".into(), json!(display_name(user)));
    claims.insert("preferred_username".into(), json!(user));
    if tokens.has(Flaw::IdTokenSecretInPayload) {
        // A bcrypt-shaped hash of the demo password; the shape is what the flaw shows.
        let hash = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        claims.insert("password_hash".into(), json!(hash));
    }
    let mut header = Header::new(tokens.alg);
    header.typ = Some("JWT".to_owned());
    header.kid = tokens.kid.map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, &tokens.signing_key)
}

/// `Alice Demo` for `alice`.
fn display_name(user: &str) -> String {
    let mut chars = user.chars();
    match chars.next() {
        Some(first) => format!("{}{} Demo", first.to_uppercase(), chars.as_str()),
        None => "Demo".to_owned(),
    }
}

#[derive(serde::Deserialize)]
struct SignIn {
    id_token: String,
}

/// `POST /auth/oidc`: JSON `{"id_token"}` (a missing `Content-Type` is read as JSON) → 200
/// `{"user","auth":"oidc"}` for an ID token the relying party accepts, else 401
/// `invalid_token`; 400 `invalid_request` for another body, 415 for another media type, 413
/// over 16 KiB.
async fn sign_in(State(state): State<TokenState>, headers: HeaderMap, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    };
    if headers.contains_key(header::CONTENT_TYPE) {
        let mime = header_str(&headers, &header::CONTENT_TYPE)
            .map(|ct| ct.split(';').next().unwrap_or("").trim().to_owned())
            .unwrap_or_default();
        if !mime.eq_ignore_ascii_case("application/json") {
            return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        }
    }
    let Ok(request) = serde_json::from_slice::<SignIn>(&bytes) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    match verify_id_token(&state.0, &request.id_token) {
        Some(claims) => {
            let user = claims.get("sub").and_then(Value::as_str).unwrap_or("");
            json_response(StatusCode::OK, json!({ "user": user, "auth": "oidc" }))
        }
        None => error(StatusCode::UNAUTHORIZED, "invalid_token"),
    }
}

/// The relying party's claim checks, pinned to `alg`: `iss` the testbed, `aud` the demo
/// client, `sub` and `exp` required, `exp` and `nbf` checked with no leeway.
fn validation(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = 0;
    v.validate_nbf = true;
    v.set_audience(&[DEMO_CLIENT_ID]);
    v.set_issuer(&[TOKEN_ISSUER]);
    v.set_required_spec_claims(&["iss", "aud", "sub", "exp"]);
    v
}

/// The claims of an ID token the relying party accepts: signed with the testbed's key and
/// algorithm (under `id-token-signature-unchecked`, any or no signature) and passing the
/// claim checks.
fn verify_id_token(tokens: &Tokens, token: &str) -> Option<Value> {
    if tokens.has(Flaw::IdTokenSignatureUnchecked) {
        return check_claims_only(tokens, token);
    }
    jsonwebtoken::decode::<Value>(token, &tokens.verifying_key, &validation(tokens.alg))
        .ok()
        .map(|data| data.claims)
}

/// The claim checks alone, for the flaw that skips the signature: the payload segment of a
/// two- or three-segment token is re-signed with the per-process random key and decoded with
/// the same checks, so exactly `jsonwebtoken`'s claim validation runs.
fn check_claims_only(tokens: &Tokens, token: &str) -> Option<Value> {
    let mut segments = token.split('.');
    let (_header, payload) = (segments.next()?, segments.next()?);
    let _signature = segments.next();
    if segments.next().is_some() {
        return None;
    }
    serde_json::from_slice::<Map<String, Value>>(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
    let message = format!("{header}.{payload}");
    let key = EncodingKey::from_secret(&tokens.claims_key);
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).ok()?;
    let resigned = format!("{message}.{signature}");
    let key = DecodingKey::from_secret(&tokens.claims_key);
    jsonwebtoken::decode::<Value>(&resigned, &key, &validation(Algorithm::HS256))
        .ok()
        .map(|data| data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_openid_scope_asks_for_an_id_token() {
        assert!(wants_id_token(Some("openid profile")));
        assert!(wants_id_token(Some("profile openid")));
        assert!(!wants_id_token(Some("openidx profile")));
        assert!(!wants_id_token(None));
    }

    #[test]
    fn display_names_capitalise_the_user() {
        assert_eq!(display_name("alice"), "Alice Demo");
        assert_eq!(display_name(""), "Demo");
    }
}
