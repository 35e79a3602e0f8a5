//! The testbed's HTML page (`GET /`): what the service is, its endpoints and demo users — or,
//! under the `json-only` quirk, a JSON description instead.
//!
//! This file owns the answer to `GET /` and the service's HTML answers' Content-Security-Policy
//! (`GET /account` in `session` is the other HTML page),
//! where the `no-csp` and `csp-unsafe-inline` flaws bend that policy, and the JSON answer of
//! `json-only` (an API response with the API headers; the CSP flaws, which bend the HTML page,
//! change nothing there). It must not set cookies or touch the session or token state.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::accounts::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_USERS};
use super::config::TestbedConfig;
use super::flaw::Flaw;
use super::http::{NoCspMarker, json_response};
use super::quirk::Quirk;

/// The page's CSP on the clean testbed.
const PAGE_CSP: &str =
    "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// The page CSP under `csp-unsafe-inline`: otherwise strict, but inline scripts run.
const PAGE_CSP_UNSAFE_INLINE: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The page route, with its own state (the configuration).
pub(super) fn routes(config: TestbedConfig) -> Router {
    Router::new().route("/", get(index)).with_state(config)
}

/// The service name `GET /` gives.
const SERVICE: &str = "authprobe testbed";

/// `GET /`: the HTML page, with its own strict CSP (none, or a lax one, under the CSP flaws);
/// JSON under `json-only`.
async fn index(State(config): State<TestbedConfig>) -> Response {
    if config.has_quirk(Quirk::JsonOnly) {
        return describe(&config);
    }
    let flaws: Vec<&str> = config.flaws.iter().map(|f| f.name()).collect();
    let flaws = if flaws.is_empty() {
        "none (clean)".to_owned()
    } else {
        flaws.join(", ")
    };
    // Only with quirks on, so the clean page stays as it was.
    let quirks: Vec<&str> = config.quirks.iter().map(|q| q.name()).collect();
    let quirks = if quirks.is_empty() {
        String::new()
    } else {
        format!("<p>Active quirks: <code>{}</code></p>\n", quirks.join(", "))
    };
    // A front-end's login page is linked, as a site's home page links its sign-in page.
    let sign_in = config
        .front_end
        .and_then(|f| f.html())
        .map(|h| format!("<p><a href=\"{}\">Sign in</a></p>\n", h.login_path))
        .unwrap_or_default();
    let users: Vec<String> = DEMO_USERS
        .iter()
        .map(|(user, password)| format!("<li><code>{user}</code> / <code>{password}</code></li>"))
        .collect();
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>authprobe testbed</title></head><body>\n\
         <h1>authprobe testbed</h1>\n\
         <p>A reference session-cookie and bearer-token auth service for exercising authprobe. Not for real use.</p>\n\
         <p>Active flaws: <code>{flaws}</code></p>\n{quirks}{sign_in}\
         <h2>Endpoints</h2><ul>\n\
         <li><code>GET /api/csrf</code> &rarr; <code>{{\"csrf_token\"}}</code>, starts an anonymous session</li>\n\
         <li><code>POST /api/login</code> JSON <code>{{\"username\",\"password\"}}</code> with <code>X-CSRF-Token</code>, \
         or a form with <code>username</code>, <code>password</code>, <code>csrf_token</code></li>\n\
         <li><code>GET /api/me</code> (protected)</li>\n\
         <li><code>POST /api/logout</code>, <code>POST /api/logout-everywhere</code> with <code>X-CSRF-Token</code></li>\n\
         <li><code>POST /api/token</code> JSON <code>{{\"username\",\"password\"}}</code> &rarr; a bearer access token</li>\n\
         <li><code>GET /api/token/me</code> with <code>Authorization: Bearer</code> (protected); keys at <code>/.well-known/jwks.json</code></li>\n\
         <li><code>POST /oauth/token</code> (form; client <code>{DEMO_CLIENT_ID}</code> / <code>{DEMO_CLIENT_SECRET}</code>, Basic or form): \
         grant types <code>password</code>, <code>client_credentials</code>, <code>refresh_token</code></li>\n\
         <li><code>POST /oauth/revoke</code> (RFC 7009), <code>POST /api/token/logout</code> with <code>Authorization: Bearer</code>; \
         metadata at <code>/.well-known/openid-configuration</code></li>\n\
         </ul>\n<h2>Demo users (public by design)</h2><ul>\n{}\n</ul>\n</body></html>\n",
        users.join("\n")
    );
    html_page(&config, page)
}

/// An HTML answer of the service (`Cache-Control: no-store`) with the page CSP: the strict
/// one, none under `no-csp`, a lax one under `csp-unsafe-inline`.
pub(super) fn html_page(config: &TestbedConfig, page: String) -> Response {
    let mut response = ([(header::CACHE_CONTROL, "no-store")], Html(page)).into_response();
    // Flaws: no CSP at all, or one that lets inline scripts run. With no CSP the API
    // default must not fill in either, so an empty marker header is never set.
    let csp = if config.has(Flaw::NoCsp) {
        None
    } else if config.has(Flaw::CspUnsafeInline) {
        Some(PAGE_CSP_UNSAFE_INLINE)
    } else {
        Some(PAGE_CSP)
    };
    match csp {
        Some(csp) => {
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(csp),
            );
        }
        None => {
            response.extensions_mut().insert(NoCspMarker);
        }
    }
    response
}

/// The `json-only` answer to `GET /`: `{"service","flaws","quirks"}` (the active flaws and
/// quirks by name), with the API headers every JSON answer gets.
fn describe(config: &TestbedConfig) -> Response {
    let flaws: Vec<&str> = config.flaws.iter().map(|f| f.name()).collect();
    let quirks: Vec<&str> = config.quirks.iter().map(|q| q.name()).collect();
    json_response(
        StatusCode::OK,
        json!({ "service": SERVICE, "flaws": flaws, "quirks": quirks }),
    )
}
