//! The HTML login of a framework front-end (see `front_end`): the login page and its form,
//! the signed-in landing page with the logout form, and the logout, over the session core.
//!
//! This file owns those four routes and the `json` front-end's `/openapi.json`. The naming and the pages are `front_end`'s; the
//! session store, the CSRF tokens, the password check and the session cookie are `session`'s
//! and `cookies`' (so every session flaw and quirk bends these routes as it bends the API
//! ones). It must not panic on anything a client sends.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use serde_json::json;

use super::config::TestbedConfig;
use super::cookies::CookieUse;
use super::flaw::Flaw;
use super::front_end::{FrontEnd, HtmlLogin};
use super::http::{CACHEABLE, MAX_BODY, error, header_str, json_response};
use super::page::html_page;
use super::session::{
    LoginRefused, LoginRequest, SessionState, anonymous_session, csrf_of, current_session,
    end_session, log_in,
};

/// The CSRF headers a logout also accepts (scripts send the cookie's token in one of them).
const CSRF_HEADERS: [&str; 3] = ["x-csrf-token", "x-xsrf-token", "x-csrftoken"];

#[derive(Clone)]
struct Pages {
    state: SessionState,
    html: &'static HtmlLogin,
}

/// The front-end's HTML login routes on the session state, when its front-end has one.
pub(super) fn routes(state: &SessionState) -> Router {
    let Some(html) = state.config().front_end.and_then(|f| f.html()) else {
        return Router::new();
    };
    let pages = Pages {
        state: state.clone(),
        html,
    };
    Router::new()
        .route(html.login_path, get(login_page).post(login))
        .route(html.home_path, get(home))
        .route(html.logout_path, axum::routing::post(logout))
        .with_state(pages)
}

/// `response` with the framework's CSRF cookie (if it sets one) holding `token`.
fn with_csrf_cookie(mut response: Response, html: &HtmlLogin, token: &str) -> Response {
    if let Some(value) = html.csrf_set_cookie(token)
        && let Ok(value) = HeaderValue::from_str(&value)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A redirect to `location` with `status`.
fn redirect(status: u16, location: &'static str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND);
    (status, [(header::LOCATION, location)]).into_response()
}

/// `GET` the login page: the form with the session's CSRF token; a new anonymous session (set
/// as cookie) when the request presents none.
async fn login_page(State(p): State<Pages>, headers: HeaderMap) -> Response {
    let (new_id, token) = anonymous_session(&p.state, &headers);
    let page = html_page(p.state.config(), p.html.login_page(&token, false));
    let response = with_csrf_cookie(page, p.html, &token);
    match new_id {
        Some(id) => p
            .state
            .cookies()
            .set(response, &headers, &id, CookieUse::PreLogin),
        None => response,
    }
}

/// `POST` the login form: the framework's field names; the CSRF field must be the pre-login
/// session's token (else the framework's refusal status), then the password (else the form
/// again with an error); success redirects to the landing page with the new session cookie.
async fn login(State(p): State<Pages>, headers: HeaderMap, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    };
    let mime = header_str(&headers, &header::CONTENT_TYPE).unwrap_or("");
    if !mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    let field = |name: &str| {
        url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let request = LoginRequest {
        username: field(p.html.user_field).unwrap_or_default(),
        password: field(p.html.password_field).unwrap_or_default(),
        csrf_token: field(p.html.csrf_field),
        form: true,
    };
    let new_id = match log_in(&p.state, &headers, &request).await {
        Ok((id, _user)) => id,
        Err(LoginRefused::Csrf) => return csrf_refused(p.html),
        Err(LoginRefused::Credentials) => {
            let token = request.csrf_token.unwrap_or_default();
            let mut page = html_page(p.state.config(), p.html.login_page(&token, true));
            *page.status_mut() = StatusCode::from_u16(p.html.bad_login).unwrap_or(StatusCode::OK);
            return page;
        }
    };
    let mut response = redirect(p.html.signed_in, p.html.home_path);
    if p.state.has(Flaw::TokenCacheable) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHEABLE));
    }
    if let Some(token) = csrf_of(&p.state, &new_id) {
        response = with_csrf_cookie(response, p.html, &token);
    }
    p.state
        .cookies()
        .set(response, &headers, &new_id, CookieUse::Login)
}

fn csrf_refused(html: &HtmlLogin) -> Response {
    let status = StatusCode::from_u16(html.csrf_refused).unwrap_or(StatusCode::FORBIDDEN);
    error(status, "csrf")
}

/// `GET` the landing page: the user and the logout form for a live authenticated session,
/// else a redirect to the login page.
async fn home(State(p): State<Pages>, headers: HeaderMap) -> Response {
    match current_session(&p.state, &headers) {
        Some((user, token)) => html_page(p.state.config(), p.html.home_page(&user, &token)),
        None => redirect(302, p.html.login_path),
    }
}

/// `POST` the logout form: the CSRF field (or one of [`CSRF_HEADERS`]) must be the session's
/// token; the session ends and the cookie is cleared, then a redirect to the login page.
/// Without a session: the redirect alone.
async fn logout(State(p): State<Pages>, headers: HeaderMap, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    };
    let from_form = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == p.html.csrf_field)
        .map(|(_, v)| v.into_owned());
    let from_header = CSRF_HEADERS
        .iter()
        .find_map(|h| header_str(&headers, &HeaderName::from_static(h)))
        .map(str::to_owned);
    let csrf = from_form.or(from_header);
    match end_session(&p.state, &headers, csrf.as_deref()) {
        Ok(()) => {
            let response = redirect(302, p.html.login_path);
            p.state.cookies().clear(response, &headers)
        }
        Err(refusal) if refusal.0 == StatusCode::FORBIDDEN => csrf_refused(p.html),
        Err(_) => redirect(302, p.html.login_path),
    }
}

/// The routes a front-end adds besides the session ones: `/openapi.json` for `json`.
pub(super) fn openapi_routes(config: &TestbedConfig) -> Router {
    match config.front_end {
        Some(FrontEnd::Json) => Router::new().route("/openapi.json", get(openapi)),
        _ => Router::new(),
    }
}

/// `GET /openapi.json`: the session API, OpenAPI 3.0.
async fn openapi() -> Response {
    let csrf_header = json!([{
        "name": "X-CSRF-Token", "in": "header", "required": true,
        "description": "The csrf_token of GET /api/csrf for the current session",
        "schema": {"type": "string"}
    }]);
    let ok = |description: &str| json!({"description": description});
    let session = json!([{"session": []}]);
    json_response(
        StatusCode::OK,
        json!({
            "openapi": "3.0.3",
            "info": {"title": "authprobe testbed API", "version": "1"},
            "paths": {
                "/api/csrf": {"get": {
                    "summary": "The CSRF token of the current session (a new anonymous one if none)",
                    "responses": {"200": {"description": "the token", "content": {"application/json": {"schema": {
                        "type": "object", "properties": {"csrf_token": {"type": "string"}}}}}}}
                }},
                "/api/login": {"post": {
                    "summary": "Sign in",
                    "parameters": csrf_header,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["username", "password"],
                        "properties": {"username": {"type": "string"}, "password": {"type": "string", "format": "password"}}}}}},
                    "responses": {"200": ok("signed in; the session cookie is set"), "401": ok("wrong credentials"), "403": ok("CSRF token missing or wrong")}
                }},
                "/api/me": {"get": {
                    "summary": "The signed-in user", "security": session,
                    "responses": {"200": ok("the user"), "401": ok("not signed in")}
                }},
                "/api/logout": {"post": {
                    "summary": "Sign out", "security": session, "parameters": csrf_header,
                    "responses": {"200": ok("signed out"), "401": ok("not signed in"), "403": ok("CSRF token missing or wrong")}
                }},
                "/api/logout-everywhere": {"post": {
                    "summary": "Sign out every session of the user", "security": session, "parameters": csrf_header,
                    "responses": {"200": ok("signed out everywhere"), "401": ok("not signed in"), "403": ok("CSRF token missing or wrong")}
                }}
            },
            "components": {"securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "__Host-session"}}}
        }),
    )
}
