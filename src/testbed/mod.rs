//! The embedded reference auth server (session-cookie and bearer-token modes) and its flaw and
//! quirk switches.
//!
//! This module owns the testbed that `authprobe testbed`, `authprobe demo`, the integration
//! tests and the benches run the audit against. Clean, it keeps every session-cookie promise:
//! an opaque 256-bit id in a `__Host-session` cookie (`Path=/; Secure; HttpOnly;
//! SameSite=Lax`, no lifetime), server-side records that expire (30 min idle, 8 h absolute),
//! a new id at login, CSRF tokens bound to the session, revocation at logout and "log out
//! everywhere". Its bearer-token mode issues short-lived ES256 access tokens (`typ: at+jwt`,
//! 300 s) whose verifier pins the algorithm, requires `iss`, `aud`, `sub` and `exp`, and checks
//! `exp`/`nbf` with no leeway. Its OAuth 2.0 endpoints (RFC 6749 token endpoint, RFC 7009
//! revocation, discovery) and token logout keep the refresh-token promises: every refresh
//! token belongs to a family, every redemption rotates it and issues a new access token,
//! reuse of a superseded token revokes the whole family, and logout and revocation end the
//! family. Each [`Flaw`] breaks exactly one promise; each [`Quirk`] adds one legitimate
//! behaviour real services show (see [Quirks](#quirks)), under which every promise still holds.
//!
//! It is an independent implementation: cookies are built with the third-party `cookie`
//! crate and tokens signed and verified with `jsonwebtoken`, never with authprobe's own parser
//! or JWT code, so the tool is checked against code it did not write. Its signing keys
//! ([`DEMO_ES256_PRIVATE_KEY_PEM`], [`DEMO_RS256_PRIVATE_KEY_PEM`], [`DEMO_HS256_WEAK_SECRET`])
//! are public demo material, committed under `src/testbed/keys/`, and so is its one OAuth
//! client ([`DEMO_CLIENT_ID`], [`DEMO_CLIENT_SECRET`]). It must not be used by `engine`, must
//! not panic on hostile requests, keeps every store bounded, and is a demo service, not a
//! production one (its users, passwords and client secret are public).
//!
//! [`spawn`] serves [`TestbedConfig::replica_count`] more instances besides the first, each on
//! its own listener, all over one state (sessions, families, deny-list, opaque tokens); each
//! instance has its own request numbering under `transient-faults`. Under the flaw
//! `replica-local-revocation` an instance's logouts and revocations stay its own.
//!
//! It knows behaviours, never catalogue rule ids: which rules each flaw breaks (and which a
//! quirk makes untestable) is the business of the modules above both the testbed and the
//! catalogue.
//!
//! # Files
//! Each file depends only on files below it in this list; this file assembles the router.
//!
//! | file | owns |
//! |---|---|
//! | `oauth` | `/oauth/token`, `/oauth/revoke`, `/api/token/logout`, discovery: the refresh-token lifecycle |
//! | `login_pages` | a framework front-end's login page, login form, landing page and logout form |
//! | `oidc` | ID tokens (what the password grant issues with an `openid` scope) and the relying party's `/auth/oidc` |
//! | `jwt` | `/api/token`, `/api/token/me`, `/.well-known/jwks.json` |
//! | `verify` | the bearer-token verifier and the `jwt-*` flaws that bend it |
//! | `tokens` | demo keys, the shared token state, issuing access tokens (JWT or opaque), starting a family |
//! | `session` | the cookie-session routes |
//! | `cookies` | the session cookie (and its signature cookie): attributes, encoding, signature |
//! | `page` | `GET /`: the HTML page and its CSP, or JSON |
//! | `faults` | the `transient-faults` layer and the connections it can hang up |
//! | `http` | body limit, JSON answers and refusals, header/query access, response layers |
//! | `replica` | where an instance keeps its revocations: the shared stores, or its own record under `replica-local-revocation` |
//! | `store`, `families`, `opaque` | session records; refresh-token families and revoked access tokens; opaque access tokens |
//! | `session_formats` | session ids in framework formats (Flask, Django, Rails, PHP, Java, MessagePack, CBOR) for the `session-id-<family>` flaws |
//! | `accounts` | demo users and client, credential checks, the (slow) password check |
//! | `front_end` | the [`FrontEnd`] list: each framework's naming and pages, the OpenAPI document |
//! | `config`, `flaw`, `quirk` | [`TestbedConfig`]; the [`Flaw`] and [`Quirk`] lists with names and descriptions |
//!
//! # HTTP contract
//! Every API response is JSON with `Cache-Control: no-store`,
//! `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` and
//! `X-Content-Type-Options: nosniff`.
//!
//! | request | answer |
//! |---|---|
//! | `GET /` | HTML page about the testbed (its own strict CSP); no cookie |
//! | `GET /api/csrf` | `{"csrf_token"}` of the live session named by the cookie; otherwise a new anonymous session, set as cookie |
//! | `POST /api/login` | JSON `{"username","password"}` + `X-CSRF-Token`, or a form with `username`, `password`, `csrf_token`. 403 `csrf`, 401 `invalid_credentials`, 400 malformed, 415 other media types, 413 over 16 KiB. Success: the pre-login session is deleted, a new one is set as cookie; JSON → 200 `{"user"}`, form → 303 to `/` |
//! | `GET /api/me` | 200 `{"user","role"}` for a live authenticated session, else 401 `unauthenticated` |
//! | `GET /account` | the signed-in user's HTML account page (`text/html`, the page CSP of `GET /`, bent by the same flaws) for a live authenticated session, else 401 `unauthenticated`; under `json-only` the answer of `GET /api/me` |
//! | `POST /api/logout` | authenticated + `X-CSRF-Token` (else 401 / 403): deletes the session, clears the cookie, 200 `{"ok":true}` |
//! | `POST /api/logout-everywhere` | as logout, for every session of the user: 200 `{"ok":true,"sessions_ended":N}` |
//! | `POST /api/token` | JSON `{"username","password"}` (no CSRF: an API client's password grant; a missing `Content-Type` is read as JSON). 200 `{"access_token","token_type":"Bearer","expires_in":300,"refresh_token"}` with `Cache-Control: no-store` and `Pragma: no-cache`; the refresh token starts a family issued to [`DEMO_CLIENT_ID`]. 401 `invalid_grant`, 400 `invalid_request`, 415, 413 |
//! | `GET /.well-known/jwks.json` | `{"keys":[…]}`: the public EC P-256 key, `kid` [`ES256_KID`], `alg` ES256, `use` sig (`jwks-enc-key-signs` marks it `use` enc; `jwks-publishes-secret` adds a random `oct` key, `jwks-roca-key` the RSA key of `keys/roca-demo.txt`, neither used) |
//! | `GET /api/token/me` | `Authorization: Bearer TOKEN` → 200 `{"user","role"}` (from `sub` and `role`); an invalid or revoked (via `/oauth/revoke`) token → 401 `invalid_token` with `WWW-Authenticate: Bearer error="invalid_token"`; no bearer token → 401 `unauthenticated` with `WWW-Authenticate: Bearer` |
//! | `POST /oauth/token` | RFC 6749. Form body only (`application/x-www-form-urlencoded`, else 400 `invalid_request`; 413 over 16 KiB; a repeated parameter → 400 `invalid_request`; empty values count as omitted). Client authentication: HTTP Basic with the form-urlencoded [`DEMO_CLIENT_ID`]`:`[`DEMO_CLIENT_SECRET`] or form `client_id` + `client_secret`; missing or wrong → 401 `invalid_client` (with `WWW-Authenticate: Basic realm="authprobe-testbed"` when Basic was tried); both at once → 400 `invalid_request`. `grant_type=password` (`username`, `password`, optional `scope` and `nonce`): bad credentials → 400 `invalid_grant`, else tokens and a new family; a `scope` naming `openid` adds an `id_token` (claims below) and the answer's `scope` is `openid profile`. `grant_type=client_credentials`: an access token with `sub` = the client id, no refresh token. `grant_type=refresh_token` (`refresh_token`): the family's current token → rotated (the old one superseded) with a new access token; a superseded token → the family is revoked and 400 `invalid_grant`; unknown or revoked → 400 `invalid_grant`. Other `grant_type` → 400 `unsupported_grant_type`; missing parameters → 400 `invalid_request`. Success: 200 `{"access_token","token_type":"Bearer","expires_in":300,["refresh_token"],"scope":"profile"}` with `Cache-Control: no-store` and `Pragma: no-cache`; errors are `{"error"}` |
//! | `POST /oauth/revoke` | RFC 7009. Form body `token`, optional `token_type_hint` (`access_token`/`refresh_token`: only the lookup order; other values ignored); the token endpoint's body and client-authentication rules. A refresh token in any state → its family is revoked; an access token this testbed signed (checked with its own key, expired or not) → its `jti` is deny-listed. 200 `{}` with `Cache-Control: no-store`, also for unknown or garbage tokens; missing `token` → 400 `invalid_request` |
//! | `POST /api/token/logout` | `Authorization: Bearer ACCESS_TOKEN`, verified like `/api/token/me` (same 401s; no query token): revokes the family the access token was issued from and deny-lists the access token itself, 200 `{"ok":true}` (also when it has none, e.g. client credentials). Under `stateless-access-tokens` (or the flaw `token-logout-keeps-access`) the access token stays valid until it expires |
//! | `GET /.well-known/openid-configuration` | `{"issuer"` ([`TOKEN_ISSUER`]), `"token_endpoint","revocation_endpoint","jwks_uri"` (absolute `http://HOST/…` from the `Host` header; a missing or odd one → `127.0.0.1`), `"grant_types_supported":["password","client_credentials","refresh_token"]`, `"token_endpoint_auth_methods_supported"` and `"revocation_endpoint_auth_methods_supported"`: `["client_secret_basic","client_secret_post"]`, `"response_types_supported":["token","id_token"]`, `"subject_types_supported":["public"]`, `"id_token_signing_alg_values_supported":["ES256"]`, `"scopes_supported":["openid","profile","email"]`, `"claims_supported"`: the ID token's claims below} |
//! | `POST /auth/oidc` | A relying party's sign-in with an ID token: JSON `{"id_token"}` (a missing `Content-Type` is read as JSON). The token must be signed with the access tokens' key and pinned algorithm, `iss` [`TOKEN_ISSUER`], `aud` [`DEMO_CLIENT_ID`], `sub` and `exp` present, `exp` and `nbf` checked with no leeway (an access token has another `aud` and is refused): 200 `{"user","auth":"oidc"}`; otherwise 401 `invalid_token`; 400 `invalid_request` for another body, 415 for another media type, 413 over 16 KiB. No session and no nonce check: the answer is the verdict |
//! | anything else | 404 `not_found` (405 `method_not_allowed` for a known path) |
//!
//! Access-token claims: `iss` [`TOKEN_ISSUER`], `aud` [`TOKEN_AUDIENCE`], `sub`, `iat`, `nbf`,
//! `exp` (`iat` + [`ACCESS_TOKEN_TTL`]), `jti` (32 hex digits), `scope` `profile`, `role`
//! `user`.
//!
//! ID-token claims: `iss` [`TOKEN_ISSUER`], `sub`, `aud` [`DEMO_CLIENT_ID`], `iat`, `auth_time`
//! (both the time of the grant), `exp` (`iat` + [`ID_TOKEN_TTL`]), `nonce` (the grant's, when
//! given and at most 256 characters), `email` (`USER@example.com`), `email_verified`, `name`
//! and `preferred_username`; header `typ: JWT` and the access tokens' `alg` and `kid`. ID tokens
//! stay JWTs under `opaque-access-tokens`. The `id-token-*` flaws change only them and the
//! relying party (a password hash in the payload, a 24-hour lifetime, no signature check).
//!
//! Refresh tokens are 32 random bytes, base64url. Each grant that issues one (`/api/token`,
//! `/oauth/token` password) starts a *family* — user, client, current token, superseded
//! tokens, revoked flag, its access tokens — kept in memory under one lock, so the
//! check-and-rotate of a redemption is atomic. Access tokens are stateless: revoking a family
//! (reuse, logout, `/oauth/revoke` with a refresh token) leaves its access tokens valid until
//! they expire (the revocation window, at most [`ACCESS_TOKEN_TTL`]); only `/oauth/revoke`
//! with an access token deny-lists it. Bounds: at most 100 000 families and 250 000 indexed
//! tokens (the oldest families are evicted), 64 superseded tokens and 64 access-token ids per
//! family (an older superseded token is then refused as unknown, without revoking the family),
//! and 100 000 revoked access-token ids (oldest forgotten first).
//!
//! # Quirks
//! Each quirk changes the contract above only as its row says; quirks combine with each other
//! and with flaws. Without any quirk the testbed answers exactly as above.
//!
//! | quirk | contract change |
//! |---|---|
//! | `percent-encoded-cookie` | Session ids are 32 random bytes in padded standard base64 (44 characters, `+`, `/`, a final `=`), and the cookie value writes every byte but ASCII letters, digits and `-._~` as `%XX` (upper-case hex): `…%2B…%3D`. The server percent-decodes the presented value (hex digits in either case; other bytes, `+` included, as they are) before the lookup, so spellings that decode to the same bytes name the same session; a bad escape or non-UTF-8 result names none. The `session-id-in-url` value is decoded the same way. The readable and predictable ids of the id flaws keep their forms |
//! | `signed-cookie-pair` | Every `Set-Cookie` of the session is followed by one for `__Host-session.sig` with the same attributes (and flaws): base64url HMAC-SHA256 of the (decoded) id under a per-process random key; logout and logout-everywhere clear both. A request presents a session only with both cookies and a matching signature; otherwise it presents none (`/api/csrf` starts a new session, the other routes answer as without a cookie). The `session-id-in-url` flaw's URL id needs no signature |
//! | `samesite-only-csrf` | `POST /api/logout` and `/api/logout-everywhere` ignore `X-CSRF-Token` (an authenticated session is still required); `/api/csrf` and the login's CSRF check are unchanged |
//! | `grant-wide-revocation` | `POST /oauth/revoke` with an access token also revokes the family it was issued from (unless `revocation-endpoint-noop`) |
//! | `refresh-not-rotated` | The refresh grant answers with the presented refresh token (no rotation, so nothing is ever superseded) and a new access token |
//! | `rs256-tokens` | Access tokens are RS256 with `kid` [`RS256_KID`]; the JWKS holds the RSA key (`alg` RS256); the verifier pins RS256; discovery's `id_token_signing_alg_values_supported` is `["RS256"]`. `jwt-weak-secret` still wins (HS256, empty JWKS) |
//! | `opaque-access-tokens` | Every access token (`/api/token`, password, client-credentials and refresh grants) is 32 random bytes, base64url, remembered on the server with its user, a `jti` and its expiry (at most 100 000, oldest forgotten first); `/api/token/me`, `/api/token/logout` and `/oauth/revoke` look it up, and nothing else is accepted. The JWKS and discovery are unchanged |
//! | `transient-faults` | Requests are numbered from 1 in arrival order; request n is answered 503 `temporarily_unavailable` with `Retry-After: 0` when [`TRANSIENT_UNAVAILABLE_EVERY`] (17) divides n, and its connection is closed without an answer when [`TRANSIENT_HANGUP_EVERY`] (29) does (the hang-up wins at multiples of both). A faulted request is not processed, and a request identical to a faulted one (method, target, headers, body) is never faulted: one retry always succeeds. Bodies over 64 KiB are answered 413 |
//! | `slow-logins` | Every password check (`/api/login`, `/api/token`, the password grant) takes [`SLOW_LOGIN_DELAY`] (150 ms), right or wrong, and checks run one at a time: concurrent logins queue. A login's CSRF refusal comes before its password check |
//! | `path-param-404` | A path containing `;` (`/api/me;jsessionid=…`) is answered 404 `not_found` before any handler runs. The clean testbed gives the same answer, since none of its routes contains `;` |
//! | `json-only` | `GET /` answers 200 JSON `{"service":"authprobe testbed","flaws":[…],"quirks":[…]}` with the API headers instead of the HTML page |
//! | `stateless-access-tokens` | `POST /api/token/logout` revokes the family but not the access token, which stays valid until its `exp` (5 minutes) |
//!
//! With quirks on, the HTML page also lists them (`<p>Active quirks: …</p>`).
//!
//! # Front-ends
//! [`TestbedConfig::front_end`] puts a realistic login in front of the same session and token
//! core (legitimate variation, for `init` to discover); without one the contract above is
//! unchanged. Every session flaw and quirk bends the front-end's routes as it bends the API.
//!
//! | front-end | contract change |
//! |---|---|
//! | `django`, `rails`, `laravel`, `spring`, `aspnet`, `express` | The session cookie is the framework's name behind `__Host-` (e.g. `__Host-sessionid`). `GET /` links the login page. `GET LOGIN` (e.g. `/accounts/login/`): an HTML form (user and password fields in the framework's naming) with the session's CSRF token in a hidden field (`csrfmiddlewaretoken`, `authenticity_token` plus `<meta name="csrf-token">`, `_token`, `_csrf`, `__RequestVerificationToken`, `_csrf`) and, for Django, Laravel, Spring and ASP.NET, a CSRF cookie (`csrftoken`, `XSRF-TOKEN`, `XSRF-TOKEN`, `.AspNetCore.Antiforgery.VyLW6ORzMgk`; `Path=/; Secure; SameSite=Lax`, not HttpOnly); a new anonymous session as cookie when none is presented. `POST LOGIN` (form): a missing or wrong token → the framework's refusal (403; Rails 422, Laravel 419, ASP.NET 400); wrong credentials → the form again with an error (200; Rails 422); success → 302 (Rails 303) to the landing page with the new session cookie (and CSRF cookie). `GET HOME` (e.g. `/accounts/profile/`): the user and a logout form with the CSRF field (Rails adds `_method=delete`), or 302 to the login page. `POST LOGOUT` (the CSRF field, or `X-CSRF-Token`/`X-XSRF-Token`/`X-CSRFToken`): ends the session and clears the cookie, 302 to the login page; a wrong token → the refusal status; no session → 302 |
//! | `json` | `GET /openapi.json`: an OpenAPI 3.0 document of `/api/csrf`, `/api/login` (JSON body, `X-CSRF-Token` header), `/api/me`, `/api/logout` and `/api/logout-everywhere` (cookie `__Host-session`) |
//! | `oidc` | Discovery adds `"userinfo_endpoint"` (`http://HOST/oauth/userinfo`, answered like `GET /api/token/me`) and `offline_access` to `"scopes_supported"` |
//!
//! Some flaws cannot show under some quirks, because the quirk removes what the flaw bends:
//! `signed-cookie-pair` hides `session-prefix-match` (an altered id fails its signature before
//! the lookup) and lets `session-fixation` adopt only ids the server signed (the missing
//! rotation at login still shows); `samesite-only-csrf` hides `csrf-unprotected` (same
//! change); `refresh-not-rotated` hides `refresh-no-rotation` (same change),
//! `refresh-reuse-accepted`, `refresh-no-family-revocation` and
//! `refresh-concurrent-double-spend` (no token is ever superseded); `opaque-access-tokens`
//! hides every flaw of the JWT itself or its verifier except `jwt-long-lived`, `jwt-no-exp`,
//! `jwt-expired-accepted` (the lookup then ignores expiry), `jwt-in-query` and
//! `jwt-weak-secret` (the ID token, still a JWT, is signed with the guessable secret);
//! `grant-wide-revocation` has nothing to add under `revocation-endpoint-noop`; `json-only`
//! hides `no-csp` and `csp-unsafe-inline` (no HTML page).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use authprobe::testbed::{self, Flaw, Quirk, TestbedConfig};
//! // A two-cookie session whose logout revokes nothing.
//! let config = TestbedConfig::default()
//!     .with_flaw(Flaw::LogoutKeepsSession)
//!     .with_quirk(Quirk::SignedCookiePair);
//! let server = testbed::spawn("127.0.0.1:0".parse().unwrap(), config).await?;
//! println!("testbed at {}", server.base_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod accounts;
mod config;
mod cookies;
mod families;
mod faults;
mod flaw;
mod front_end;
mod http;
mod jwt;
mod login_pages;
mod oauth;
mod oidc;
mod opaque;
mod page;
mod quirk;
mod replica;
mod session;
mod session_formats;
mod store;
mod tokens;
mod verify;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use accounts::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_USERS, SLOW_LOGIN_DELAY};
pub use config::{IMPLIED_REPLICAS, TestbedConfig};
pub use faults::{TRANSIENT_HANGUP_EVERY, TRANSIENT_UNAVAILABLE_EVERY};
pub use flaw::{Flaw, UnknownFlaw};
pub use front_end::{FrontEnd, UnknownFrontEnd};
pub use oidc::ID_TOKEN_TTL;
pub use quirk::{Quirk, UnknownQuirk};
pub use tokens::{
    ACCESS_TOKEN_TTL, DEMO_ES256_PRIVATE_KEY_PEM, DEMO_ES256_PUBLIC_KEY_PEM,
    DEMO_HS256_WEAK_SECRET, DEMO_RS256_PRIVATE_KEY_PEM, DEMO_RS256_PUBLIC_KEY_PEM, ES256_KID,
    LONG_LIVED_TOKEN_TTL, RS256_KID, TOKEN_AUDIENCE, TOKEN_ISSUER,
};

/// How long [`RunningTestbed::shutdown`] waits for open connections before aborting the task.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The state every instance of one testbed shares: the configuration, the password check,
/// the session store and the token state (families, deny-list, opaque tokens).
struct Backend {
    config: TestbedConfig,
    passwords: Arc<accounts::PasswordCheck>,
    sessions: session::SessionCore,
    tokens: tokens::TokenState,
}

impl Backend {
    /// Fresh, empty stores for `config`.
    fn new(config: TestbedConfig) -> Backend {
        let slow = config
            .has_quirk(Quirk::SlowLogins)
            .then(|| config.slow_login.unwrap_or(SLOW_LOGIN_DELAY));
        let passwords = Arc::new(accounts::PasswordCheck::new(slow));
        Backend {
            sessions: session::SessionCore::new(config.clone(), passwords.clone()),
            tokens: tokens::TokenState::new(config.clone(), passwords.clone()),
            passwords,
            config,
        }
    }

    /// One instance's routes over the shared state: its revocations go to the shared stores,
    /// or under `replica-local-revocation` stay its own.
    fn instance(&self) -> Router {
        let config = self.config.clone();
        let local = if config.has(Flaw::ReplicaLocalRevocation) {
            replica::Local::own()
        } else {
            replica::Local::shared()
        };
        let tokens = self.tokens.0.instance(local.clone());
        let sessions = session::SessionState::new(&self.sessions, local);
        let mut routes = Router::new()
            .merge(page::routes(config.clone()))
            .merge(session::routes(sessions.clone()))
            .merge(login_pages::routes(&sessions))
            .merge(login_pages::openapi_routes(&config))
            .merge(jwt::routes(tokens.clone()))
            .merge(oauth::routes(tokens.clone()))
            .merge(oidc::routes(tokens))
            .fallback(http::not_found)
            .method_not_allowed_fallback(http::method_not_allowed);
        // Quirk: a path parameter makes the path unknown.
        if config.has_quirk(Quirk::PathParam404) {
            routes = routes.layer(axum::middleware::from_fn(http::path_param_404));
        }
        // Quirk: some requests fail before anything else looks at them (their answers still
        // get the response layers below).
        if config.has_quirk(Quirk::TransientFaults) {
            let faults = Arc::new(faults::Faults::default());
            routes = routes.layer(axum::middleware::from_fn_with_state(faults, faults::inject));
        }
        // Flaw: API responses go out without the framing and sniffing headers.
        let bare = config.has(Flaw::ApiHeadersMissing);
        routes
            .layer(axum::middleware::map_response(move |r| {
                http::security_headers(r, bare)
            }))
            .layer(axum::middleware::from_fn_with_state(
                config,
                http::reflect_origin,
            ))
    }
}

/// The testbed's routes with fresh, empty session and token stores, for serving with
/// `axum::serve`: the page, the session routes and the token routes (bearer and OAuth, sharing
/// one token state and, with the session login, one password check), with the 404/405 answers
/// and the layers every response goes through. One instance: replicas are served by
/// [`spawn`]. Under `transient-faults`, only [`serve`] (and [`spawn`]) can close a connection
/// without an answer; served another way, those requests are answered 503.
pub fn router(config: TestbedConfig) -> Router {
    Backend::new(config).instance()
}

/// Serves one instance of the testbed on `listener` until `shutdown` completes, then finishes
/// the requests in flight and returns (replicas are served by [`spawn`]).
pub async fn serve(
    listener: TcpListener,
    config: TestbedConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let faults = config.has_quirk(Quirk::TransientFaults);
    serve_instance(listener, router(config), faults, shutdown).await
}

/// Serves `app` on `listener` until `shutdown` completes; with `faults`, connections a faulted
/// request hangs up can be closed without an answer.
async fn serve_instance(
    listener: TcpListener,
    app: Router,
    faults: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if faults {
        let service = app.into_make_service_with_connect_info::<faults::Hangup>();
        return axum::serve(faults::Listener(listener), service)
            .with_graceful_shutdown(shutdown)
            .await;
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `listen` (use port 0 for an ephemeral port) and serves the testbed in a tokio task;
/// with replicas ([`TestbedConfig::replica_count`]), each on an ephemeral port of the same
/// address, all sharing one state.
///
/// # Errors
/// When an address cannot be bound.
pub async fn spawn(listen: SocketAddr, config: TestbedConfig) -> std::io::Result<RunningTestbed> {
    let backend = Backend::new(config.clone());
    let faults = config.has_quirk(Quirk::TransientFaults);
    let mut listeners = vec![TcpListener::bind(listen).await?];
    for _ in 0..config.replica_count() {
        listeners.push(TcpListener::bind(SocketAddr::new(listen.ip(), 0)).await?);
    }
    let (shutdown, signal) = watch::channel(());
    let mut addrs = Vec::new();
    let mut tasks = Vec::new();
    for listener in listeners {
        addrs.push(listener.local_addr()?);
        let mut signal = signal.clone();
        let stop = async move {
            // Sent, or the sender dropped with the `RunningTestbed`: either way, stop.
            let _ = signal.changed().await;
        };
        tasks.push(tokio::spawn(serve_instance(
            listener,
            backend.instance(),
            faults,
            stop,
        )));
    }
    Ok(RunningTestbed {
        addrs,
        shutdown,
        tasks,
        passwords: backend.passwords.clone(),
    })
}

/// A testbed serving in a background task. Dropping it stops the server too (without
/// waiting); [`RunningTestbed::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct RunningTestbed {
    /// The first instance's address, then each replica's.
    addrs: Vec<SocketAddr>,
    shutdown: watch::Sender<()>,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
    passwords: Arc<accounts::PasswordCheck>,
}

impl RunningTestbed {
    /// The bound address of the first instance (with the real port when port 0 was asked
    /// for).
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// `http://IP:PORT` for the first instance's address; an unspecified bind address
    /// (`0.0.0.0`, `::`) is given as the loopback address of the same family.
    pub fn base_url(&self) -> String {
        url_of(self.addrs[0])
    }

    /// `http://IP:PORT` of every replica (the instances besides the first), in order.
    pub fn replica_urls(&self) -> Vec<String> {
        self.addrs[1..].iter().map(|a| url_of(*a)).collect()
    }

    /// Password checks (logins through `/api/login`, `/api/token` or the password grant, right
    /// or wrong) the testbed has done so far, across its instances: what a slow password hash
    /// makes a client pay for.
    pub fn password_checks(&self) -> u64 {
        self.passwords.count()
    }

    /// Stops accepting connections, lets requests in flight finish (at most 5 s, then the
    /// tasks are aborted) and waits for every instance's task to end.
    pub async fn shutdown(self) {
        let RunningTestbed {
            shutdown, tasks, ..
        } = self;
        let _ = shutdown.send(());
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for mut task in tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
    }
}

/// `http://IP:PORT` for a bound address, an unspecified one given as loopback.
fn url_of(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}
