//! The preflight: before any rule runs, log in as alice, find the session cookie (configured,
//! or the one whose absence turns an allowed request into a denied one), show that the
//! protected request is allowed, and do the same for the token login. What it captured is the
//! [`Baseline`] the `check` rules read; if it fails, the target cannot be tested (exit 3).

use std::sync::Arc;

use crate::http::{Exchange, HttpError};
use crate::profile::{AccessSpec, FlowName, Target};
use crate::units::SpecUser;

use super::RunError;
use super::browser::{AccessOutcome, Browser, Ctx, FlowError, Recorded, StepError, TokenRole};
use super::pool::{SharedSession, SharedToken};

/// What the preflight login produced; check-kind rules read it instead of logging in again.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The cookie-session login (None for a token-only profile).
    pub session: Option<SessionBaseline>,
    /// The whole preflight transcript.
    pub transcript: Vec<Recorded>,
    /// The access token of the token preflight, when the profile has a `token` section.
    pub token: Option<TokenBaseline>,
}

/// What the cookie-session login of the preflight produced.
#[derive(Debug, Clone)]
pub struct SessionBaseline {
    /// The login exchange that set the session cookie.
    pub exchange: Exchange,
    /// That Set-Cookie header.
    pub set_cookie: String,
    /// The URL of the request that received it.
    pub url: url::Url,
    /// The session id.
    pub session_id: String,
}

/// The token the preflight obtained, with its exchange.
#[derive(Debug, Clone)]
pub struct TokenBaseline {
    /// The raw access token.
    pub token: String,
    /// The exchange that returned it.
    pub exchange: Exchange,
    /// The OpenID Connect ID token the same login returned, when it returned one.
    pub id_token: Option<String>,
}

/// Why the preflight could not give a testable session.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PreflightError {
    /// The profile names no user alice.
    #[error("the profile defines no user `alice`")]
    NoAlice,
    /// The login flow did not behave as the profile describes.
    #[error("login as alice failed: {0}")]
    Login(FlowError),
    /// Login left no cookie of the configured name.
    #[error("login as alice left no `{name}` cookie (cookies held: {held})")]
    NoSessionCookie {
        /// The configured session cookie.
        name: String,
        /// The cookies the client held (`none` when empty).
        held: String,
    },
    /// Login set no cookie at all.
    #[error("login as alice set no cookie; is this a cookie-session service?")]
    NoCookies,
    /// Several cookies, and removing any one still gives access.
    #[error(
        "cannot tell which cookie is the session cookie ({0}); set `session: {{cookie: NAME}}` in the profile"
    )]
    AmbiguousCookie(String),
    /// After login the protected request was not allowed.
    #[error(
        "after logging in as alice the protected request answered {status} ({outcome}), not the profile's `allowed` ({allowed})"
    )]
    NotAllowed {
        /// Its status.
        status: u16,
        /// How it was classified.
        outcome: &'static str,
        /// The profile's classifier, in words.
        allowed: String,
    },
    /// No `Set-Cookie` for the session cookie was seen.
    #[error("no Set-Cookie for `{0}` was seen during login")]
    NoSetCookie(String),
    /// The token login flow did not behave as the profile describes.
    #[error("token login as alice failed: {0}")]
    TokenLogin(FlowError),
    /// The token login sent no request.
    #[error("the token login sent no request")]
    TokenNoRequest,
    /// The access token was not accepted.
    #[error(
        "with alice's access token the token-protected request answered {0}, not the profile's `token.access.allowed`"
    )]
    TokenNotAllowed(u16),
}

/// A request that fails during the preflight means the target is unreachable.
fn unreachable(e: HttpError) -> RunError {
    RunError::Unreachable(e)
}

fn last_status(transcript: &[Recorded]) -> u16 {
    transcript
        .last()
        .map(|r| r.exchange.response.status)
        .unwrap_or(0)
}

/// Runs the preflight: the cookie session (when the profile has one), then the token.
pub(crate) async fn preflight(
    target: Arc<Target>,
    client: crate::http::Client,
) -> Result<(Ctx, Baseline), RunError> {
    let mut ctx = Ctx {
        target: target.clone(),
        client,
        session_cookie: target.session_cookie.clone().unwrap_or_default(),
        session_set: target.session_cookies.clone(),
        secret_seq: Default::default(),
        token_role: Default::default(),
        pool: Default::default(),
        share: false,
        took: Default::default(),
    };
    let mut transcript = Vec::new();
    let session = match target.session_access() {
        Some(access) => Some(session_preflight(&mut ctx, access, &mut transcript).await?),
        None => None,
    };
    let token = match target.token {
        Some(_) => Some(token_preflight(&ctx, &mut transcript).await?),
        None => None,
    };
    let baseline = Baseline {
        session,
        transcript,
        token,
    };
    Ok((ctx, baseline))
}

/// Logs alice in through the token flow and shows the token-protected request is allowed.
async fn token_preflight(
    ctx: &Ctx,
    transcript: &mut Vec<Recorded>,
) -> Result<TokenBaseline, RunError> {
    let mut tb = Browser::new("preflight (token)");
    let before = transcript.len();
    let token = tb
        .token_login(ctx, SpecUser::Alice.name(), transcript)
        .await
        .map_err(|e| match e {
            StepError::Http(e) => unreachable(e),
            StepError::Flow(m) => PreflightError::TokenLogin(m).into(),
        })?;
    let exchange = transcript
        .get(before..)
        .and_then(|s| s.last())
        .map(|r| r.exchange.clone())
        .ok_or(PreflightError::TokenNoRequest)?;
    let outcomes = tb
        .token_access(ctx, &token, None, "token access (preflight)", transcript)
        .await
        .map_err(RunError::from)?;
    if outcomes.iter().any(|o| *o != AccessOutcome::Allowed) {
        return Err(PreflightError::TokenNotAllowed(last_status(transcript)).into());
    }
    let id_token = tb.vars.get(crate::profile::ID_TOKEN_VAR).cloned();
    // The rules that judge the ID token take it from the same login.
    let roles = [
        (TokenRole::AccessToken, Some(&token)),
        (TokenRole::IdToken, id_token.as_ref()),
    ];
    for (role, shared) in roles {
        if let Some(shared) = shared {
            ctx.pool.offer_token(SharedToken {
                user: SpecUser::Alice.name().to_owned(),
                role: role.label(),
                token: shared.clone(),
                vars: tb.vars.clone(),
            });
        }
    }
    Ok(TokenBaseline {
        token,
        exchange,
        id_token,
    })
}

/// Logs alice in through the cookie-session flows, finds the session cookie and shows the
/// protected request is allowed.
async fn session_preflight(
    ctx: &mut Ctx,
    access: &AccessSpec,
    transcript: &mut Vec<Recorded>,
) -> Result<SessionBaseline, RunError> {
    let target = ctx.target.clone();
    let mut b = Browser::new("preflight");
    let alice = target
        .users
        .get(SpecUser::Alice.name())
        .cloned()
        .ok_or(PreflightError::NoAlice)?;
    match b
        .run_flow(ctx, FlowName::Login, Some(&alice), transcript)
        .await
    {
        Ok(_) => {}
        Err(StepError::Http(e)) => return Err(unreachable(e)),
        Err(StepError::Flow(m)) => return Err(PreflightError::Login(m).into()),
    }
    let configured: Vec<String> = match (&target.session_cookie, &target.session_cookies) {
        (_, set) if !set.is_empty() => set.clone(),
        (Some(name), _) => vec![name.clone()],
        (None, _) => Vec::new(),
    };
    if let Some(missing) = configured.iter().find(|n| !b.jar.contains_key(*n)) {
        let held = if b.jar.is_empty() {
            "none".to_string()
        } else {
            b.jar.keys().cloned().collect::<Vec<_>>().join(", ")
        };
        return Err(PreflightError::NoSessionCookie {
            name: missing.clone(),
            held,
        }
        .into());
    }
    let set = if target.session_cookies.is_empty() {
        // Configured one cookie, or none: find every cookie the session needs.
        detect_session_cookies(ctx, &mut b, &configured, transcript).await?
    } else {
        configured
    };
    let name = set[0].clone();
    ctx.session_cookie = name.clone();
    ctx.session_set = set;
    let outcome = b
        .access(ctx, None, "access (preflight)", transcript)
        .await
        .map_err(RunError::from)?;
    if outcome != AccessOutcome::Allowed {
        return Err(PreflightError::NotAllowed {
            status: last_status(transcript),
            outcome: outcome.as_str(),
            allowed: access.allowed.to_string(),
        }
        .into());
    }
    let (url, set_cookie, exchange) = transcript
        .iter()
        .rev()
        .find_map(|r| {
            let raw = r
                .exchange
                .response
                .set_cookies()
                .filter(|raw| crate::cookie::parse_set_cookie_ref(raw).name == name.as_str())
                .last()?;
            Some((
                r.exchange.request.url.clone(),
                raw.to_string(),
                r.exchange.clone(),
            ))
        })
        .ok_or_else(|| PreflightError::NoSetCookie(name.clone()))?;
    let session_id = b.jar.get(&name).cloned().unwrap_or_default();
    ctx.pool.record_id(&session_id);
    ctx.pool.offer_session(SharedSession {
        user: SpecUser::Alice.name().to_owned(),
        jar: b.jar.clone(),
        vars: b.vars.clone(),
    });
    Ok(SessionBaseline {
        exchange,
        set_cookie,
        url,
        session_id,
    })
}

/// The session's cookie set: every cookie whose absence turns an allowed request into a
/// denied one (a value cookie and its signature, say), the `configured` one or the detected
/// id cookie first. A single cookie is the set without a request; with several, each one
/// the configuration does not name is left out once.
async fn detect_session_cookies(
    ctx: &Ctx,
    b: &mut Browser,
    configured: &[String],
    transcript: &mut Vec<Recorded>,
) -> Result<Vec<String>, RunError> {
    let names: Vec<String> = b.jar.keys().cloned().collect();
    if names.is_empty() {
        return Err(PreflightError::NoCookies.into());
    }
    if names.len() == 1 {
        return Ok(names);
    }
    let mut set: Vec<String> = configured.to_vec();
    for name in names.iter().filter(|n| !configured.contains(n)) {
        let mut jar = b.jar.clone();
        jar.remove(name);
        let label = format!("access without `{name}` (detecting the session cookies)");
        let outcome = b
            .access(ctx, Some(&jar), &label, transcript)
            .await
            .map_err(RunError::from)?;
        if outcome != AccessOutcome::Allowed {
            set.push(name.clone());
        }
    }
    if set.is_empty() {
        return Err(PreflightError::AmbiguousCookie(names.join(", ")).into());
    }
    // The id cookie first: the configured one, else the name the others extend
    // (`session` before `session.sig`), else the first by name.
    if configured.is_empty() {
        set.sort_by_key(|n| (!set_prefix_of_others(n, &names), n.clone()));
    }
    Ok(set)
}

/// True when every other cookie name of `names` that shares a prefix with `name` extends it.
fn set_prefix_of_others(name: &str, names: &[String]) -> bool {
    names
        .iter()
        .any(|other| other != name && other.starts_with(name))
}
