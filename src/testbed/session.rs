//! The testbed's cookie-session routes: CSRF bootstrap, login, the protected endpoint, logout
//! and "log out everywhere".
//!
//! This file owns the session-cookie half of the HTTP contract (see the module docs of
//! [`super`]) and where each session-level flaw bends it, and the `samesite-only-csrf` quirk
//! (no CSRF token on logout). The cookies themselves (names, attributes, encoding, signature)
//! are `cookies`' business. It must not panic on anything a client sends, and must not hold
//! the store lock across an `.await`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::accounts::{PasswordCheck, constant_time_eq};
use super::config::TestbedConfig;
use super::cookies::{CookieUse, SessionCookies};
use super::flaw::Flaw;
use super::http::{ApiError, CACHEABLE, MAX_BODY, error, header_str, json_response, query_param};
use super::quirk::Quirk;
use super::replica::Local;
use super::session_formats::Family;
use super::store::{IdScheme, Store};

/// The request header that carries the CSRF token.
const CSRF_HEADER: &str = "x-csrf-token";
/// Longest cookie value `session-fixation` adopts as a session id.
const MAX_ADOPTED_ID: usize = 256;
/// Shared state of the session routes: the flaws, the session cookies, the password check and
/// the session store.
#[derive(Clone)]
pub(super) struct SessionState(Arc<Inner>);

struct Inner {
    config: TestbedConfig,
    cookies: Arc<SessionCookies>,
    passwords: Arc<PasswordCheck>,
    /// Shared by every instance of the testbed.
    store: Arc<Mutex<Store>>,
    /// Where this instance's revocations go.
    local: Local,
}

/// The state every instance's session routes share: the session store, the cookies (and
/// their signature key) and the password check.
#[derive(Clone)]
pub(super) struct SessionCore {
    config: TestbedConfig,
    cookies: Arc<SessionCookies>,
    passwords: Arc<PasswordCheck>,
    store: Arc<Mutex<Store>>,
}

impl SessionCore {
    /// A fresh, empty session store for `config`; `passwords` is the password check every
    /// login shares.
    pub(super) fn new(config: TestbedConfig, passwords: Arc<PasswordCheck>) -> Self {
        let scheme = IdScheme {
            readable: config.flaws.contains(&Flaw::SessionIdReadable),
            family: id_family(&config),
            predictable: config.flaws.contains(&Flaw::SessionIdPredictable),
            standard_base64: config.has_quirk(Quirk::PercentEncodedCookie),
        };
        SessionCore {
            cookies: Arc::new(SessionCookies::new(config.clone())),
            config,
            passwords,
            store: Arc::new(Mutex::new(Store::new(scheme))),
        }
    }
}

/// The session store as one instance sees it: lookups skip the sessions this instance
/// revoked, and revocations go where the instance keeps them ([`Local`]).
struct StoreView<'a> {
    store: MutexGuard<'a, Store>,
    local: &'a Local,
}

impl std::ops::Deref for StoreView<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl std::ops::DerefMut for StoreView<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.store
    }
}

impl StoreView<'_> {
    /// [`Store::lookup`], except for a session this instance revoked.
    fn lookup(
        &mut self,
        presented: &str,
        prefix_match: bool,
        now: Instant,
    ) -> Option<(String, super::store::Session)> {
        let found = self.store.lookup(presented, prefix_match, now)?;
        (!self.local.session_revoked(&found.0)).then_some(found)
    }

    /// Ends the session `id` (here only, under `replica-local-revocation`); whether it
    /// existed.
    fn revoke(&mut self, id: &str) -> bool {
        if self.local.revoke_session(id) {
            return self.store.contains(id);
        }
        self.store.remove(id)
    }

    /// Ends every session of `user`; how many were live.
    fn revoke_user(&mut self, user: &str, now: Instant) -> usize {
        if !self.local.keeps_own() {
            return self.store.remove_user(user, now);
        }
        let mut live = 0;
        for id in self.store.live_ids_of(user, now) {
            live += usize::from(!self.local.session_revoked(&id));
            self.local.revoke_session(&id);
        }
        live
    }
}

impl SessionState {
    pub(super) fn has(&self, flaw: Flaw) -> bool {
        self.0.config.flaws.contains(&flaw)
    }

    pub(super) fn cookies(&self) -> &SessionCookies {
        &self.0.cookies
    }

    /// The store. A panic while holding the lock cannot leave a record half-written (every
    /// mutation is a single map operation), so a poisoned lock is safe to keep using.
    fn store(&self) -> StoreView<'_> {
        StoreView {
            store: self.0.store.lock().unwrap_or_else(PoisonError::into_inner),
            local: &self.0.local,
        }
    }

    /// [`authenticate`] with this server's flaws and quirks (prefix lookup; the CSRF check
    /// switched off by `csrf-unprotected` or, legitimately, by `samesite-only-csrf`).
    fn authenticate(
        &self,
        store: &mut StoreView<'_>,
        headers: &HeaderMap,
        csrf: Option<&str>,
        now: Instant,
    ) -> Result<(String, String), ApiError> {
        let check_csrf =
            !self.has(Flaw::CsrfUnprotected) && !self.0.config.has_quirk(Quirk::SameSiteOnlyCsrf);
        authenticate(
            store,
            self.cookies().presented(headers),
            csrf,
            self.has(Flaw::SessionPrefixMatch),
            check_csrf,
            now,
        )
    }

    /// The configuration the testbed was started with.
    pub(super) fn config(&self) -> &TestbedConfig {
        &self.0.config
    }
}

/// The framework session format a `session-id-<family>` flaw asks for (the first, if several).
fn id_family(config: &TestbedConfig) -> Option<Family> {
    [
        (Flaw::SessionIdFlask, Family::Flask),
        (Flaw::SessionIdDjango, Family::Django),
        (Flaw::SessionIdRails, Family::Rails),
        (Flaw::SessionIdPhpSerialized, Family::PhpSerialized),
        (Flaw::SessionIdJavaSerialized, Family::JavaSerialized),
        (Flaw::SessionIdMsgpack, Family::Msgpack),
        (Flaw::SessionIdCbor, Family::Cbor),
    ]
    .into_iter()
    .find(|(flaw, _)| config.flaws.contains(flaw))
    .map(|(_, family)| family)
}

/// One instance's session routes over its view of the shared state, for merging into the
/// testbed's router.
pub(super) fn routes(state: SessionState) -> Router {
    Router::new()
        .route("/api/csrf", get(csrf))
        .route("/api/login", post(login))
        .route("/api/me", get(me))
        .route("/account", get(account))
        .route("/api/logout", post(logout))
        .route("/api/logout-everywhere", post(logout_everywhere))
        .with_state(state)
}

impl SessionState {
    /// One instance's view of the shared `core`; `local` says where its revocations go.
    pub(super) fn new(core: &SessionCore, local: Local) -> SessionState {
        SessionState(Arc::new(Inner {
            config: core.config.clone(),
            cookies: core.cookies.clone(),
            passwords: core.passwords.clone(),
            store: core.store.clone(),
            local,
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn csrf(State(state): State<SessionState>, headers: HeaderMap) -> Response {
    let (new_id, token) = anonymous_session(&state, &headers);
    let response = json_response(StatusCode::OK, json!({ "csrf_token": token }));
    match new_id {
        Some(id) => state
            .cookies()
            .set(response, &headers, &id, CookieUse::PreLogin),
        None => response,
    }
}

/// The CSRF token of the live session the request presents; otherwise a new anonymous
/// session's id (to set as cookie) and token.
pub(super) fn anonymous_session(
    state: &SessionState,
    headers: &HeaderMap,
) -> (Option<String>, String) {
    let now = Instant::now();
    let prefix_match = state.has(Flaw::SessionPrefixMatch);
    let presented = state.cookies().presented(headers);
    let mut store = state.store();
    if let Some(presented) = &presented
        && let Some((_, session)) = store.lookup(presented, prefix_match, now)
    {
        return (None, session.csrf_token);
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
    (Some(id), token)
}

/// A parsed login request, JSON or form.
pub(super) struct LoginRequest {
    pub(super) username: String,
    pub(super) password: String,
    pub(super) csrf_token: Option<String>,
    pub(super) form: bool,
}

/// Why a login did not start a session.
pub(super) enum LoginRefused {
    /// No live pre-login session, or not its CSRF token (403 `csrf` on the API).
    Csrf,
    /// Wrong user name or password (401 `invalid_credentials` on the API).
    Credentials,
}

#[derive(serde::Deserialize)]
struct JsonLogin {
    username: String,
    password: String,
}

/// `POST /api/login`. The pre-login session and its CSRF token are checked first (403), then
/// the password (401, after the slow check under `slow-logins`, with no lock held), then the
/// pre-login session is replaced by a new one (or, under `session-fixation`, upgraded).
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
    let (new_id, user) = match log_in(&state, &headers, &request).await {
        Ok(done) => done,
        Err(LoginRefused::Csrf) => return error(StatusCode::FORBIDDEN, "csrf"),
        Err(LoginRefused::Credentials) => {
            return error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        }
    };
    let mut response = if request.form {
        (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
    } else if state.has(Flaw::TokenInBody) {
        // Flaw: the session id is also handed to scripts in the body.
        let value = state.cookies().value_of(&new_id);
        json_response(
            StatusCode::OK,
            json!({ "user": user, "session_token": value }),
        )
    } else {
        json_response(StatusCode::OK, json!({ "user": user }))
    };
    if state.has(Flaw::TokenCacheable) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHEABLE));
    }
    state
        .cookies()
        .set(response, &headers, &new_id, CookieUse::Login)
}

/// Checks the pre-login session and its CSRF token, then the password (with no lock held),
/// then replaces the pre-login session by a new one (or, under `session-fixation`, upgrades
/// it): the new session's id and its user.
pub(super) async fn log_in(
    state: &SessionState,
    headers: &HeaderMap,
    request: &LoginRequest,
) -> Result<(String, &'static str), LoginRefused> {
    let id = pre_login_session(state, headers, request).ok_or(LoginRefused::Csrf)?;
    let checked = state
        .0
        .passwords
        .check(&request.username, &request.password);
    let user = checked.await.ok_or(LoginRefused::Credentials)?;
    // `None`: the pre-login session ended while the password was checked.
    let new_id = start_session(state, &id, user).ok_or(LoginRefused::Csrf)?;
    Ok((new_id, user))
}

/// The stored id of the live session the login request presents, when the request carries
/// that session's CSRF token.
fn pre_login_session(
    state: &SessionState,
    headers: &HeaderMap,
    request: &LoginRequest,
) -> Option<String> {
    let presented = state.cookies().presented(headers)?;
    let mut store = state.store();
    let prefix_match = state.has(Flaw::SessionPrefixMatch);
    let (id, session) = store.lookup(&presented, prefix_match, Instant::now())?;
    let csrf_ok = request
        .csrf_token
        .as_deref()
        .is_some_and(|t| constant_time_eq(t.as_bytes(), session.csrf_token.as_bytes()));
    csrf_ok.then_some(id)
}

/// Replaces the pre-login session `id` by a new session of `user` and returns its id (under
/// `session-fixation`, `id` itself, upgraded). `None` when `id` is no longer live.
fn start_session(state: &SessionState, id: &str, user: &str) -> Option<String> {
    let now = Instant::now();
    let mut store = state.store();
    store.lookup(id, false, now)?;
    if state.has(Flaw::SessionFixation) {
        // Flaw: no rotation; the pre-login id becomes the authenticated one.
        store.upgrade_in_place(id, user.to_owned());
        return Some(id.to_owned());
    }
    store.remove(id);
    let new_id = store.mint_id(Some(user));
    store.insert(new_id.clone(), Some(user.to_owned()), now);
    Some(new_id)
}

/// The user of the live authenticated session the request presents (the cookie, or under
/// `session-id-in-url` the `session` query parameter).
fn current_user(state: &SessionState, headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let presented = state.cookies().presented(headers).or_else(|| {
        // Flaw: the session id is also taken from the URL.
        state
            .has(Flaw::SessionIdInUrl)
            .then(|| query_param(uri, "session"))
            .flatten()
            .and_then(|value| state.cookies().url_id(value))
    });
    let now = Instant::now();
    presented.and_then(|p| {
        state
            .store()
            .lookup(&p, state.has(Flaw::SessionPrefixMatch), now)
            .and_then(|(_, s)| s.user)
    })
}

async fn me(State(state): State<SessionState>, headers: HeaderMap, uri: Uri) -> Response {
    match current_user(&state, &headers, &uri) {
        Some(user) => json_response(
            StatusCode::OK,
            json!({ "user": user, "role": role_of(&user) }),
        ),
        None => error(StatusCode::UNAUTHORIZED, "unauthenticated"),
    }
}

/// `GET /account`: the signed-in user's HTML account page (the page CSP, bent by the CSP
/// flaws); 401 `unauthenticated` without a live session. Under `json-only` it answers like
/// `GET /api/me`.
async fn account(State(state): State<SessionState>, headers: HeaderMap, uri: Uri) -> Response {
    if state.0.config.has_quirk(Quirk::JsonOnly) {
        return me(State(state), headers, uri).await;
    }
    match current_user(&state, &headers, &uri) {
        Some(user) => {
            // Demo user names are letters and digits only: nothing to escape.
            let page = format!(
                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <title>Account</title></head><body>\n<h1>Account</h1>\n\
                 <p>Signed in as <code>{user}</code> ({}).</p>\n</body></html>\n",
                role_of(&user)
            );
            super::page::html_page(&state.0.config, page)
        }
        None => error(StatusCode::UNAUTHORIZED, "unauthenticated"),
    }
}

async fn logout(State(state): State<SessionState>, headers: HeaderMap) -> Response {
    let csrf = header_str(&headers, &HeaderName::from_static(CSRF_HEADER));
    if let Err(refusal) = end_session(&state, &headers, csrf) {
        return refusal.into_response();
    }
    let response = json_response(StatusCode::OK, json!({ "ok": true }));
    state.cookies().clear(response, &headers)
}

/// Ends the authenticated session the request presents, when `csrf` is its CSRF token (401
/// without such a session, 403 on a CSRF mismatch); the caller clears the cookie.
pub(super) fn end_session(
    state: &SessionState,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<(), ApiError> {
    let mut store = state.store();
    let (id, _user) = state.authenticate(&mut store, headers, csrf, Instant::now())?;
    // Flaw: the record survives logout, so the old cookie keeps working.
    if !state.has(Flaw::LogoutKeepsSession) {
        store.revoke(&id);
    }
    Ok(())
}

/// The CSRF token of the live session stored under `id`.
pub(super) fn csrf_of(state: &SessionState, id: &str) -> Option<String> {
    let (_, session) = state.store().lookup(id, false, Instant::now())?;
    Some(session.csrf_token)
}

/// The user and CSRF token of the live authenticated session the request's cookie presents.
pub(super) fn current_session(
    state: &SessionState,
    headers: &HeaderMap,
) -> Option<(String, String)> {
    let presented = state.cookies().presented(headers)?;
    let (_, session) = state.store().lookup(
        &presented,
        state.has(Flaw::SessionPrefixMatch),
        Instant::now(),
    )?;
    Some((session.user?, session.csrf_token))
}

async fn logout_everywhere(State(state): State<SessionState>, headers: HeaderMap) -> Response {
    let now = Instant::now();
    let ended = {
        let mut store = state.store();
        let csrf = header_str(&headers, &HeaderName::from_static(CSRF_HEADER));
        let (id, user) = match state.authenticate(&mut store, &headers, csrf, now) {
            Ok(found) => found,
            Err(refusal) => return refusal.into_response(),
        };
        if state.has(Flaw::LogoutEverywherePartial) {
            // Flaw: only the current session ends.
            usize::from(store.revoke(&id))
        } else {
            store.revoke_user(&user, now)
        }
    };
    let response = json_response(
        StatusCode::OK,
        json!({ "ok": true, "sessions_ended": ended }),
    );
    state.cookies().clear(response, &headers)
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The live authenticated session the request presents, with a matching `X-CSRF-Token`: its stored
/// id and user. Otherwise the response to send (401 without such a session, 403 on a CSRF
/// mismatch).
fn authenticate(
    store: &mut StoreView<'_>,
    presented: Option<String>,
    csrf: Option<&str>,
    prefix_match: bool,
    check_csrf: bool,
    now: Instant,
) -> Result<(String, String), ApiError> {
    let found = presented
        .and_then(|p| store.lookup(&p, prefix_match, now))
        .and_then(|(id, s)| Some((id, s.user?, s.csrf_token)));
    let Some((id, user, csrf_token)) = found else {
        return Err(ApiError(StatusCode::UNAUTHORIZED, "unauthenticated"));
    };
    let csrf_ok = csrf.is_some_and(|t| constant_time_eq(t.as_bytes(), csrf_token.as_bytes()));
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
