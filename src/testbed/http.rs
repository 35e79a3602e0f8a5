//! The HTTP pieces every testbed route shares: the body limit, JSON answers and refusals,
//! header and query access, and the layers around every response (security headers, the
//! `cors-reflects-origin` flaw and the `path-param-404` quirk).
//!
//! This file owns how the testbed answers at the HTTP level, whatever the route. It must not
//! know sessions, tokens or credentials (the route files do), and must not panic on anything a
//! client sends.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::config::TestbedConfig;
use super::flaw::Flaw;

/// Largest request body read, in bytes.
pub(super) const MAX_BODY: usize = 16 * 1024;
/// `Cache-Control` of login and token responses under `token-cacheable`.
pub(super) const CACHEABLE: &str = "public, max-age=300";
/// The CSP of every API response.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// A JSON answer.
pub(super) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A JSON refusal: `{"error": code}`.
pub(super) fn error(status: StatusCode, code: &str) -> Response {
    json_response(status, json!({ "error": code }))
}

/// A refusal: the status and the `{"error": code}` body to answer with.
pub(super) struct ApiError(pub(super) StatusCode, pub(super) &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

/// The value of header `name` when it is visible ASCII.
pub(super) fn header_str<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The first value of query parameter `name`, form-urldecoded.
pub(super) fn query_param(uri: &Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Any unknown path: 404 `not_found`.
pub(super) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found")
}

/// A known path with another method: 405 `method_not_allowed`.
pub(super) async fn method_not_allowed() -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
}

/// The `path-param-404` quirk (installed only with it): a request whose path carries a `;`
/// path parameter (`/api/me;jsessionid=…`) is answered 404 `not_found` before any handler
/// sees it, whatever route it would otherwise reach.
pub(super) async fn path_param_404(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.uri().path().contains(';') {
        return not_found().await;
    }
    next.run(request).await
}

/// Marks a response that must go out without a CSP (the `no-csp` flaw).
#[derive(Clone, Copy)]
pub(super) struct NoCspMarker;

/// Adds the API security headers to every response that has not set its own; `bare` (the
/// `api-headers-missing` flaw) leaves out the CSP and `X-Content-Type-Options` of JSON
/// responses.
pub(super) async fn security_headers(mut response: Response, bare: bool) -> Response {
    let no_csp = response.extensions().get::<NoCspMarker>().is_some();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"));
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, API_CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        if no_csp && name == header::CONTENT_SECURITY_POLICY {
            continue;
        }
        if bare && json && name != header::CACHE_CONTROL {
            continue;
        }
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// The `cors-reflects-origin` flaw: echoes any Origin with credentials allowed.
pub(super) async fn reflect_origin(
    State(config): State<TestbedConfig>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = next.run(request).await;
    if config.has(Flaw::CorsReflectsOrigin)
        && let Some(origin) = origin
    {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}
