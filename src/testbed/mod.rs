//! The embedded reference auth server (session-cookie and bearer-token modes) and its flaw
//! switches.
//!
//! This module owns the testbed that `authprobe testbed`, `authprobe demo`, the integration
//! tests and the benches run the audit against. Clean, it keeps every session-cookie promise:
//! an opaque 256-bit id in a `__Host-session` cookie (`Path=/; Secure; HttpOnly;
//! SameSite=Lax`, no lifetime), server-side records that expire (30 min idle, 8 h absolute),
//! a new id at login, CSRF tokens bound to the session, revocation at logout and "log out
//! everywhere". Its bearer-token mode issues short-lived ES256 access tokens (`typ: at+jwt`,
//! 300 s) whose verifier pins the algorithm, requires `iss`, `aud`, `sub` and `exp`, and checks
//! `exp`/`nbf` with no leeway. Each [`Flaw`] breaks exactly one promise.
//!
//! It is an independent implementation: cookies are built with the third-party `cookie`
//! crate and tokens signed and verified with `jsonwebtoken`, never with authprobe's own parser
//! or JWT code, so the tool is checked against code it did not write. Its signing keys
//! ([`DEMO_ES256_PRIVATE_KEY_PEM`], [`DEMO_RS256_PRIVATE_KEY_PEM`], [`DEMO_HS256_WEAK_SECRET`])
//! are public demo material, committed under `src/testbed/keys/`. It must not be used by `engine`, must not panic on hostile requests, and is a demo
//! service, not a production one (its users and passwords are public).
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
//! | `POST /api/logout` | authenticated + `X-CSRF-Token` (else 401 / 403): deletes the session, clears the cookie, 200 `{"ok":true}` |
//! | `POST /api/logout-everywhere` | as logout, for every session of the user: 200 `{"ok":true,"sessions_ended":N}` |
//! | `POST /api/token` | JSON `{"username","password"}` (no CSRF: an API client's password grant; a missing `Content-Type` is read as JSON). 200 `{"access_token","token_type":"Bearer","expires_in":300,"refresh_token"}` with `Cache-Control: no-store` and `Pragma: no-cache`; 401 `invalid_grant`, 400 `invalid_request`, 415, 413 |
//! | `GET /.well-known/jwks.json` | `{"keys":[…]}`: the public EC P-256 key, `kid` [`ES256_KID`], `alg` ES256, `use` sig |
//! | `GET /api/token/me` | `Authorization: Bearer TOKEN` → 200 `{"user","role"}` (from `sub` and `role`); an invalid token → 401 `invalid_token` with `WWW-Authenticate: Bearer error="invalid_token"`; no bearer token → 401 `unauthenticated` with `WWW-Authenticate: Bearer` |
//! | anything else | 404 `not_found` (405 `method_not_allowed` for a known path) |
//!
//! Access-token claims: `iss` [`TOKEN_ISSUER`], `aud` [`TOKEN_AUDIENCE`], `sub`, `iat`, `nbf`,
//! `exp` (`iat` + [`ACCESS_TOKEN_TTL`]), `jti` (32 hex digits), `scope` `profile`, `role`
//! `user`. Refresh tokens (32 random bytes, base64url) are kept in memory; nothing redeems them
//! yet.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use authprobe::testbed::{self, Flaw, TestbedConfig};
//! let config = TestbedConfig::default().with_flaw(Flaw::LogoutKeepsSession);
//! let server = testbed::spawn("127.0.0.1:0".parse().unwrap(), config).await?;
//! println!("testbed at {}", server.base_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod families;
mod flaw;
mod handlers;
mod jwt;
mod oauth;
mod store;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use flaw::{Flaw, UnknownFlaw};
pub use jwt::{
    ACCESS_TOKEN_TTL, DEMO_ES256_PRIVATE_KEY_PEM, DEMO_HS256_WEAK_SECRET,
    DEMO_RS256_PRIVATE_KEY_PEM, ES256_KID, LONG_LIVED_TOKEN_TTL, RS256_KID, TOKEN_AUDIENCE,
    TOKEN_ISSUER,
};
pub use oauth::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};

/// The demo accounts, `(username, password)`. Public by design: the testbed is a demo.
pub const DEMO_USERS: &[(&str, &str)] = &[
    ("alice", "alice-demo-password"),
    ("bob", "bob-demo-password"),
];

/// How long [`RunningTestbed::shutdown`] waits for open connections before aborting the task.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What the testbed is started with. The default is the clean service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestbedConfig {
    /// The flaws switched on; each breaks one promise, independently of the others.
    pub flaws: BTreeSet<Flaw>,
    /// Access-token lifetime in seconds (default [`ACCESS_TOKEN_TTL`]); tests shorten it to
    /// watch real tokens expire.
    pub access_token_ttl: Option<u64>,
}

impl TestbedConfig {
    /// This configuration with `flaw` switched on as well.
    pub fn with_flaw(mut self, flaw: Flaw) -> Self {
        self.flaws.insert(flaw);
        self
    }

    /// Whether `flaw` is switched on.
    pub fn has(&self, flaw: Flaw) -> bool {
        self.flaws.contains(&flaw)
    }
}

impl FromIterator<Flaw> for TestbedConfig {
    fn from_iter<I: IntoIterator<Item = Flaw>>(flaws: I) -> Self {
        TestbedConfig {
            flaws: flaws.into_iter().collect(),
            ..TestbedConfig::default()
        }
    }
}

/// The testbed's routes with a fresh, empty session store, for serving with `axum::serve`.
pub fn router(config: TestbedConfig) -> axum::Router {
    handlers::build(config)
}

/// Serves the testbed on `listener` until `shutdown` completes, then finishes the requests in
/// flight and returns.
pub async fn serve(
    listener: TcpListener,
    config: TestbedConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(config))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `listen` (use port 0 for an ephemeral port) and serves the testbed in a tokio task.
///
/// # Errors
/// When the address cannot be bound.
pub async fn spawn(listen: SocketAddr, config: TestbedConfig) -> std::io::Result<RunningTestbed> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (shutdown, signal) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, config, async move {
        // Sent, or the sender dropped with the `RunningTestbed`: either way, stop.
        let _ = signal.await;
    }));
    Ok(RunningTestbed {
        addr,
        shutdown,
        task,
    })
}

/// A testbed serving in a background task. Dropping it stops the server too (without
/// waiting); [`RunningTestbed::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct RunningTestbed {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningTestbed {
    /// The bound address (with the real port when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT` for the bound address; an unspecified bind address (`0.0.0.0`, `::`)
    /// is given as the loopback address of the same family.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Stops accepting connections, lets requests in flight finish (at most 5 s, then the task
    /// is aborted) and waits for the server task to end.
    pub async fn shutdown(self) {
        let RunningTestbed {
            shutdown, mut task, ..
        } = self;
        let _ = shutdown.send(());
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
            .await
            .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}
