//! The testbed's bearer-token routes: the JSON token grant (`POST /api/token`), the JWKS and
//! the bearer-protected endpoint (see `oauth` for the OAuth 2.0 routes). The JWKS is served
//! unchanged under `opaque-access-tokens`, although no access token is then signed.
//!
//! This file owns those three routes only: issuing lives in `tokens`, verification in
//! `verify`. It must not panic or answer 500 on anything a client sends.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{self, HeaderMap};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::accounts::DEMO_CLIENT_ID;
use super::flaw::Flaw;
use super::front_end::FrontEnd;
use super::http::{MAX_BODY, error, header_str, json_response};
use super::tokens::{TokenState, start_family, token_cache_headers};
use super::verify::authorize;

/// The bearer-token routes on `state`, for merging into the testbed's router.
pub(super) fn routes(state: TokenState) -> Router {
    let mut routes = Router::new()
        .route("/api/token", post(token))
        .route("/api/token/me", get(token_me))
        .route("/.well-known/jwks.json", get(jwks));
    // The `oidc` front-end's userinfo endpoint: the bearer-protected answer under its name.
    if state.0.front_end() == Some(FrontEnd::Oidc) {
        routes = routes.route(USERINFO_PATH, get(token_me));
    }
    routes.with_state(state)
}

/// The userinfo endpoint of the `oidc` front-end.
pub(super) const USERINFO_PATH: &str = "/oauth/userinfo";

#[derive(serde::Deserialize)]
struct TokenRequest {
    username: String,
    password: String,
}

/// `POST /api/token`: the password grant of an API client (JSON, no CSRF).
async fn token(State(state): State<TokenState>, headers: HeaderMap, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    };
    // A missing Content-Type is read as JSON (API clients often omit it); others are refused.
    if let Some(content_type) = header_str(&headers, &header::CONTENT_TYPE) {
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        }
    } else if headers.contains_key(header::CONTENT_TYPE) {
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    let Ok(request) = serde_json::from_slice::<TokenRequest>(&bytes) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let tokens = &state.0;
    let checked = tokens.passwords.check(&request.username, &request.password);
    let Some(user) = checked.await else {
        return error(StatusCode::UNAUTHORIZED, "invalid_grant");
    };
    // The family's client is the demo client, so `/oauth/token` can redeem its refresh token.
    let Ok((access, refresh_token)) = start_family(tokens, user, DEMO_CLIENT_ID) else {
        // Unreachable in practice: the demo keys sign anything.
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    };
    let mut body = json!({
        "access_token": access.token,
        "token_type": "Bearer",
        "refresh_token": refresh_token,
    });
    if let Some(expires_in) = access.expires_in {
        body["expires_in"] = json!(expires_in);
    }
    token_cache_headers(tokens, json_response(StatusCode::OK, body))
}

/// `GET /.well-known/jwks.json`: the public verification key(s).
async fn jwks(State(state): State<TokenState>) -> Response {
    json_response(StatusCode::OK, state.0.jwks.clone())
}

/// `GET /api/token/me`: the bearer-protected resource.
async fn token_me(State(state): State<TokenState>, headers: HeaderMap, uri: Uri) -> Response {
    let tokens = &state.0;
    // Flaw: the token is also taken from the URL.
    let query = tokens.has(Flaw::JwtInQuery).then_some(&uri);
    match authorize(tokens, &headers, query).await {
        Ok(claims) => {
            let user = claims.get("sub").and_then(Value::as_str).unwrap_or("");
            let role = claims.get("role").and_then(Value::as_str).unwrap_or("user");
            json_response(StatusCode::OK, json!({ "user": user, "role": role }))
        }
        Err(refusal) => refusal,
    }
}
