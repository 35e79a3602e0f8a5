//! The testbed's HTTP surface: routes, request parsing, cookies and security headers.
//!
//! This file owns the HTTP contract of the reference service (see the module docs of
//! [`super`]) and where each cookie- or endpoint-level flaw bends it. It must not hand-format
//! `Set-Cookie` values (they are built with the third-party `cookie` crate), must not panic on
//! anything a client sends, and must not hold the store lock across an `.await`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use cookie::{Cookie, SameSite};
use serde_json::{Value, json};

use super::store::{IdScheme, Store};
use super::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_USERS, Flaw, TestbedConfig};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "__Host-session";
/// The request header that carries the CSRF token.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";
/// Largest request body read, in bytes.
pub(crate) const MAX_BODY: usize = 16 * 1024;
/// `Max-Age` of the login cookie under `cookie-long-lived`: two years.
pub(crate) const LONG_LIVED_SECS: i64 = 63_072_000;
/// Longest cookie value `session-fixation` adopts as a session id.
const MAX_ADOPTED_ID: usize = 256;

const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
const PAGE_CSP: &str =
    "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// The page CSP under `csp-unsafe-inline`: otherwise strict, but inline scripts run.
const PAGE_CSP_UNSAFE_INLINE: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
/// `Cache-Control` of login and token responses under `token-cacheable`.
pub(crate) const CACHEABLE: &str = "public, max-age=300";

/// Shared server state: the flaws and the session store.
#[derive(Clone)]
struct AppState(Arc<Inner>);

struct Inner {
    config: TestbedConfig,
    store: Mutex<Store>,
}

impl AppState {
    fn has(&self, flaw: Flaw) -> bool {
        self.0.config.flaws.contains(&flaw)
    }

    /// The store. A panic while holding the lock cannot leave a record half-written (every
    /// mutation is a single map operation), so a poisoned lock is safe to keep using.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.0.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`authenticate`] with this server's flaws (prefix lookup, CSRF check switched off).
    fn authenticate(
        &self,
        store: &mut Store,
        headers: &HeaderMap,
        now: Instant,
    ) -> Result<(String, String), ApiError> {
        authenticate(
            store,
            headers,
            self.has(Flaw::SessionPrefixMatch),
            !self.has(Flaw::CsrfUnprotected),
            now,
        )
    }
}

/// Builds the router; see [`super::router`].
pub(crate) fn build(config: TestbedConfig) -> Router {
    let scheme = IdScheme {
        readable: config.flaws.contains(&Flaw::SessionIdReadable),
        predictable: config.flaws.contains(&Flaw::SessionIdPredictable),
    };
    let state = AppState(Arc::new(Inner {
        config,
        store: Mutex::new(Store::new(scheme)),
    }));
    let tokens = super::jwt::routes(&state.0.config);
    let cors_config = state.0.config.clone();
    Router::new()
        .route("/", get(index))
        .route("/api/csrf", get(csrf))
        .route("/api/login", post(login))
        .route("/api/me", get(me))
        .route("/api/logout", post(logout))
        .route("/api/logout-everywhere", post(logout_everywhere))
        .with_state(state)
        .merge(tokens)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn_with_state(
            cors_config,
            reflect_origin,
        ))
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn index(State(state): State<AppState>) -> Response {
    let flaws: Vec<&str> = state.0.config.flaws.iter().map(|f| f.name()).collect();
    let flaws = if flaws.is_empty() {
        "none (clean)".to_owned()
    } else {
        flaws.join(", ")
    };
    let users: Vec<String> = DEMO_USERS
        .iter()
        .map(|(user, password)| format!("<li><code>{user}</code> / <code>{password}</code></li>"))
        .collect();
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>authprobe testbed</title></head><body>\n\
         <h1>authprobe testbed</h1>\n\
         <p>A reference session-cookie and bearer-token auth service for exercising authprobe. Not for real use.</p>\n\
         <p>Active flaws: <code>{flaws}</code></p>\n\
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
    let mut response = ([(header::CACHE_CONTROL, "no-store")], Html(page)).into_response();
    // Flaws: no CSP at all, or one that lets inline scripts run. With no CSP the API
    // default must not fill in either, so an empty marker header is never set.
    let csp = if state.has(Flaw::NoCsp) {
        None
    } else if state.has(Flaw::CspUnsafeInline) {
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

/// Marks a response that must go out without a CSP (the `no-csp` flaw).
#[derive(Clone, Copy)]
struct NoCspMarker;

async fn csrf(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = Instant::now();
    let prefix_match = state.has(Flaw::SessionPrefixMatch);
    let presented = presented_session(&headers);
    let (id, token) = {
        let mut store = state.store();
        if let Some(presented) = &presented
            && let Some((_, session)) = store.lookup(presented, prefix_match, now)
        {
            return json_response(StatusCode::OK, json!({ "csrf_token": session.csrf_token }));
        }
        let id = match presented {
            // Flaw: an unknown (attacker-planted) id is adopted instead of minting one.
            Some(p)
                if state.has(Flaw::SessionFixation)
                    && !p.is_empty()
                    && p.len() <= MAX_ADOPTED_ID
                    && !store.contains(&p) =>
            {
                p
            }
            _ => store.mint_id(None),
        };
        let token = store.insert(id.clone(), None, now);
        (id, token)
    };
    let cookie = session_cookie(&state, &headers, id, CookieUse::PreLogin);
    with_cookie(
        json_response(StatusCode::OK, json!({ "csrf_token": token })),
        &cookie,
    )
}

/// A parsed login request, JSON or form.
struct LoginRequest {
    username: String,
    password: String,
    csrf_token: Option<String>,
    form: bool,
}

#[derive(serde::Deserialize)]
struct JsonLogin {
    username: String,
    password: String,
}

async fn login(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    // Any body error (over the cap, or the client broke off) is answered as too large: the
    // only way a well-formed request gets here is by exceeding the cap.
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    };
    let request = match parse_login(&headers, &bytes) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let now = Instant::now();
    let Some(presented) = presented_session(&headers) else {
        return error(StatusCode::FORBIDDEN, "csrf");
    };
    let (user, new_id) = {
        let mut store = state.store();
        let Some((id, session)) =
            store.lookup(&presented, state.has(Flaw::SessionPrefixMatch), now)
        else {
            return error(StatusCode::FORBIDDEN, "csrf");
        };
        let csrf_ok = request
            .csrf_token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), session.csrf_token.as_bytes()));
        if !csrf_ok {
            return error(StatusCode::FORBIDDEN, "csrf");
        }
        let Some(user) = check_credentials(&request.username, &request.password) else {
            return error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        };
        let new_id = if state.has(Flaw::SessionFixation) {
            // Flaw: no rotation; the pre-login id becomes the authenticated one.
            store.upgrade_in_place(&id, user.to_owned());
            id
        } else {
            store.remove(&id);
            let new_id = store.mint_id(Some(user));
            store.insert(new_id.clone(), Some(user.to_owned()), now);
            new_id
        };
        (user, new_id)
    };
    let cookie = session_cookie(&state, &headers, new_id, CookieUse::Login);
    let mut response = if request.form {
        (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
    } else if state.has(Flaw::TokenInBody) {
        // Flaw: the session id is also handed to scripts in the body.
        json_response(
            StatusCode::OK,
            json!({ "user": user, "session_token": cookie.value() }),
        )
    } else {
        json_response(StatusCode::OK, json!({ "user": user }))
    };
    if state.has(Flaw::TokenCacheable) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHEABLE));
    }
    with_cookie(response, &cookie)
}

async fn me(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let presented = presented_session(&headers).or_else(|| {
        // Flaw: the session id is also taken from the URL.
        state
            .has(Flaw::SessionIdInUrl)
            .then(|| query_param(&uri, "session"))
            .flatten()
    });
    let now = Instant::now();
    let user = presented.and_then(|p| {
        state
            .store()
            .lookup(&p, state.has(Flaw::SessionPrefixMatch), now)
            .and_then(|(_, s)| s.user)
    });
    match user {
        Some(user) => json_response(
            StatusCode::OK,
            json!({ "user": user, "role": role_of(&user) }),
        ),
        None => error(StatusCode::UNAUTHORIZED, "unauthenticated"),
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = Instant::now();
    {
        let mut store = state.store();
        let (id, _user) = match state.authenticate(&mut store, &headers, now) {
            Ok(found) => found,
            Err(refusal) => return refusal.into_response(),
        };
        // Flaw: the record survives logout, so the old cookie keeps working.
        if !state.has(Flaw::LogoutKeepsSession) {
            store.remove(&id);
        }
    }
    let response = json_response(StatusCode::OK, json!({ "ok": true }));
    clear_cookie(&state, &headers, response)
}

async fn logout_everywhere(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = Instant::now();
    let ended = {
        let mut store = state.store();
        let (id, user) = match state.authenticate(&mut store, &headers, now) {
            Ok(found) => found,
            Err(refusal) => return refusal.into_response(),
        };
        if state.has(Flaw::LogoutEverywherePartial) {
            // Flaw: only the current session ends.
            usize::from(store.remove(&id))
        } else {
            store.remove_user(&user, now)
        }
    };
    let response = json_response(
        StatusCode::OK,
        json!({ "ok": true, "sessions_ended": ended }),
    );
    clear_cookie(&state, &headers, response)
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found")
}

async fn method_not_allowed() -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
}

/// Adds the API security headers to every response that has not set its own.
async fn security_headers(mut response: Response) -> Response {
    let no_csp = response.extensions().get::<NoCspMarker>().is_some();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, API_CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        if no_csp && name == header::CONTENT_SECURITY_POLICY {
            continue;
        }
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// The `cors-reflects-origin` flaw: echoes any Origin with credentials allowed.
async fn reflect_origin(
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

// ---------------------------------------------------------------------------------------------
// Helpers

/// The live authenticated session of the request, with a matching `X-CSRF-Token`: its stored
/// id and user. Otherwise the response to send (401 without such a session, 403 on a CSRF
/// mismatch).
fn authenticate(
    store: &mut Store,
    headers: &HeaderMap,
    prefix_match: bool,
    check_csrf: bool,
    now: Instant,
) -> Result<(String, String), ApiError> {
    let found = presented_session(headers)
        .and_then(|p| store.lookup(&p, prefix_match, now))
        .and_then(|(id, s)| Some((id, s.user?, s.csrf_token)));
    let Some((id, user, csrf_token)) = found else {
        return Err(ApiError(StatusCode::UNAUTHORIZED, "unauthenticated"));
    };
    let csrf_ok = header_str(headers, &HeaderName::from_static(CSRF_HEADER))
        .is_some_and(|t| constant_time_eq(t.as_bytes(), csrf_token.as_bytes()));
    if check_csrf && !csrf_ok {
        return Err(ApiError(StatusCode::FORBIDDEN, "csrf"));
    }
    Ok((id, user))
}

fn parse_login(headers: &HeaderMap, body: &[u8]) -> Result<LoginRequest, ApiError> {
    let content_type = header_str(headers, &header::CONTENT_TYPE).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    let bad_request = || ApiError(StatusCode::BAD_REQUEST, "bad_request");
    if mime.eq_ignore_ascii_case("application/json") {
        let JsonLogin { username, password } =
            serde_json::from_slice(body).map_err(|_| bad_request())?;
        let csrf_token =
            header_str(headers, &HeaderName::from_static(CSRF_HEADER)).map(str::to_owned);
        Ok(LoginRequest {
            username,
            password,
            csrf_token,
            form: false,
        })
    } else if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        let (mut username, mut password, mut csrf_token) = (None, None, None);
        for (key, value) in url::form_urlencoded::parse(body) {
            let slot = match &*key {
                "username" => &mut username,
                "password" => &mut password,
                "csrf_token" => &mut csrf_token,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        match (username, password) {
            (Some(username), Some(password)) => Ok(LoginRequest {
                username,
                password,
                csrf_token,
                form: true,
            }),
            _ => Err(bad_request()),
        }
    } else {
        Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ))
    }
}

/// The demo user these credentials belong to. Both comparisons always run.
pub(crate) fn check_credentials(username: &str, password: &str) -> Option<&'static str> {
    let mut found = None;
    for (user, expected) in DEMO_USERS {
        let user_ok = constant_time_eq(username.as_bytes(), user.as_bytes());
        let password_ok = constant_time_eq(password.as_bytes(), expected.as_bytes());
        if user_ok & password_ok {
            found = Some(*user);
        }
    }
    found
}

/// Equality whose time depends only on the lengths, not on where the inputs differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every demo user has the same role; kept as a function so the answer is stable.
fn role_of(_user: &str) -> &'static str {
    "user"
}

pub(crate) fn header_str<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The value of the first `__Host-session` cookie the request carries. Unparsable `Cookie`
/// headers and pairs are skipped.
fn presented_session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .flatten()
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

pub(crate) fn query_param(uri: &Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Which `Set-Cookie` is being built.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CookieUse {
    /// The anonymous session from `/api/csrf`.
    PreLogin,
    /// The authenticated session from `/api/login`.
    Login,
    /// The removal at logout.
    Removal,
}

/// The session cookie with every attribute the active flaws allow. The removal cookie keeps
/// the same Path/Domain (else it would not replace the cookie it means to delete).
fn session_cookie(
    state: &AppState,
    headers: &HeaderMap,
    value: String,
    usage: CookieUse,
) -> Cookie<'static> {
    let mut cookie = Cookie::new(SESSION_COOKIE, value);
    cookie.set_path(if state.has(Flaw::CookiePrefixBroken) {
        "/api"
    } else {
        "/"
    });
    // Explicit `false` matters: with `SameSite=None` and `secure` unset, the cookie crate
    // would add `Secure` on its own.
    cookie.set_secure(!state.has(Flaw::CookieNoSecure));
    cookie.set_http_only(!state.has(Flaw::CookieNoHttpOnly));
    cookie.set_same_site(if state.has(Flaw::CookieNoSameSite) {
        None
    } else if state.has(Flaw::CookieSameSiteNone) {
        Some(SameSite::None)
    } else {
        Some(SameSite::Lax)
    });
    if state.has(Flaw::CookieParentDomain)
        && let Some(domain) = header_str(headers, &header::HOST).and_then(parent_domain)
    {
        cookie.set_domain(domain);
    }
    match usage {
        CookieUse::PreLogin => {}
        CookieUse::Login => {
            if state.has(Flaw::CookieLongLived) {
                cookie.set_max_age(cookie::time::Duration::seconds(LONG_LIVED_SECS));
            }
        }
        CookieUse::Removal => cookie.make_removal(),
    }
    cookie
}

/// The `cookie-parent-domain` scope for a `Host` header value: the host without its port;
/// then the first label dropped when it has two or more labels and is not an IP address, else
/// the host itself. `None` when the host is not a plain name or address (nothing is echoed
/// from a hostile `Host` into `Set-Cookie`).
pub(crate) fn parent_domain(host: &str) -> Option<String> {
    let host = if let Some(rest) = host.strip_prefix('[') {
        let (inner, _) = rest.split_once(']')?;
        return inner
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(|ip| ip.to_string());
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.split('.').any(str::is_empty);
    if !plain {
        return None;
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some(host);
    }
    match host.split_once('.') {
        Some((_, parent)) => Some(parent.to_owned()),
        None => Some(host),
    }
}

fn clear_cookie(state: &AppState, headers: &HeaderMap, response: Response) -> Response {
    // Flaw: the browser is never told to drop the cookie.
    if state.has(Flaw::CookieNotClearedOnLogout) {
        return response;
    }
    let removal = session_cookie(state, headers, String::new(), CookieUse::Removal);
    with_cookie(response, &removal)
}

fn with_cookie(mut response: Response, cookie: &Cookie<'_>) -> Response {
    match HeaderValue::from_str(&cookie.to_string()) {
        Ok(value) => {
            response.headers_mut().append(header::SET_COOKIE, value);
            response
        }
        // Unreachable in practice: ids are minted ASCII or were read from a valid header.
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

pub(crate) fn error(status: StatusCode, code: &str) -> Response {
    json_response(status, json!({ "error": code }))
}

/// A refusal: the status and the `{"error": code}` body to answer with.
struct ApiError(StatusCode, &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::parent_domain;

    #[test]
    fn parent_domain_drops_first_label_of_names_only() {
        assert_eq!(
            parent_domain("app.example.com:8080").as_deref(),
            Some("example.com")
        );
        assert_eq!(parent_domain("example.com").as_deref(), Some("com"));
        assert_eq!(
            parent_domain("localhost:3000").as_deref(),
            Some("localhost")
        );
        assert_eq!(
            parent_domain("127.0.0.1:3000").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(parent_domain("[::1]:3000").as_deref(), Some("::1"));
        assert_eq!(parent_domain("a.b; Max-Age=0"), None);
        assert_eq!(parent_domain(""), None);
        assert_eq!(parent_domain("a..b"), None);
        assert_eq!(parent_domain("[::1"), None);
    }
}
