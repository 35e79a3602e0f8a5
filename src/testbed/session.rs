//! The testbed's cookie-session routes: CSRF bootstrap, login, the protected endpoint, logout
//! and "log out everywhere", with the session cookie they set.
//!
//! This file owns the session-cookie half of the HTTP contract (see the module docs of
//! [`super`]) and where each cookie- or session-level flaw bends it. It must not hand-format
//! `Set-Cookie` values (they are built with the third-party `cookie` crate), must not panic on
//! anything a client sends, and must not hold the store lock across an `.await`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cookie::{Cookie, SameSite};
use serde_json::json;

use super::accounts::{check_credentials, constant_time_eq};
use super::config::TestbedConfig;
use super::flaw::Flaw;
use super::http::{ApiError, CACHEABLE, MAX_BODY, error, header_str, json_response, query_param};
use super::store::{IdScheme, Store};

/// The session cookie's name.
const SESSION_COOKIE: &str = "__Host-session";
/// The request header that carries the CSRF token.
const CSRF_HEADER: &str = "x-csrf-token";
/// `Max-Age` of the login cookie under `cookie-long-lived`: two years.
const LONG_LIVED_SECS: i64 = 63_072_000;
/// Longest cookie value `session-fixation` adopts as a session id.
const MAX_ADOPTED_ID: usize = 256;
/// Shared state of the session routes: the flaws and the session store.
#[derive(Clone)]
struct SessionState(Arc<Inner>);

struct Inner {
    config: TestbedConfig,
    store: Mutex<Store>,
}

impl SessionState {
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

/// The session routes with a fresh, empty session store, for merging into the testbed's
/// router.
pub(super) fn routes(config: TestbedConfig) -> Router {
    let scheme = IdScheme {
        readable: config.flaws.contains(&Flaw::SessionIdReadable),
        predictable: config.flaws.contains(&Flaw::SessionIdPredictable),
    };
    let state = SessionState(Arc::new(Inner {
        config,
        store: Mutex::new(Store::new(scheme)),
    }));
    Router::new()
        .route("/api/csrf", get(csrf))
        .route("/api/login", post(login))
        .route("/api/me", get(me))
        .route("/api/logout", post(logout))
        .route("/api/logout-everywhere", post(logout_everywhere))
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn csrf(State(state): State<SessionState>, headers: HeaderMap) -> Response {
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

async fn login(State(state): State<SessionState>, headers: HeaderMap, body: Body) -> Response {
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

async fn me(State(state): State<SessionState>, headers: HeaderMap, uri: Uri) -> Response {
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

async fn logout(State(state): State<SessionState>, headers: HeaderMap) -> Response {
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

async fn logout_everywhere(State(state): State<SessionState>, headers: HeaderMap) -> Response {
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

/// Every demo user has the same role; kept as a function so the answer is stable.
fn role_of(_user: &str) -> &'static str {
    "user"
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
    state: &SessionState,
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
fn parent_domain(host: &str) -> Option<String> {
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

fn clear_cookie(state: &SessionState, headers: &HeaderMap, response: Response) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;

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
