//! A virtual browser: one client's cookies and variables, running the profile's flows and
//! the protected request through the probe client.
//!
//! Cookies are kept explicitly (no automatic jar) so a stale one can be replayed. The jar is
//! deliberately lenient — one value per cookie name for the target's origin, stored even when
//! a browser would reject it — so that the *rules* report a broken cookie instead of the login
//! silently failing. What a real browser would store is answered separately by
//! [`crate::cookie::CookieStore`] where a rule needs it.

use std::collections::BTreeMap;

use url::Url;

use crate::cookie::{SetCookieFields, parse_set_cookie_ref};
use crate::http::{Client, Exchange, HttpError, ProbeRequest};
use crate::profile::{
    Extractor, FlowName, ID_TOKEN_VAR, RequestSpec, Target, Template, TokenSpec, User, Vars,
    render_json,
};
use crate::spec::Via;

/// Cookies by name.
pub type Jar = BTreeMap<String, String>;

/// What the protected request answered, in the profile's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessOutcome {
    /// The `allowed` classifier matched.
    Allowed,
    /// Not allowed, and not a server error.
    Denied,
    /// A 5xx answer.
    ServerError,
    /// Neither the `allowed` nor the (given) `denied` classifier matched.
    Unexpected,
}

impl AccessOutcome {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessOutcome::Allowed => "allowed",
            AccessOutcome::Denied => "denied",
            AccessOutcome::ServerError => "server error",
            AccessOutcome::Unexpected => "neither allowed nor denied",
        }
    }
}

/// Why a step could not be completed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepError {
    /// The request could not be sent or answered (connectivity, budget, origin).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The service did not behave as the profile describes, or the profile lacks what the
    /// step needs.
    #[error(transparent)]
    Flow(#[from] FlowError),
}

/// How a flow or step did not go as the profile describes.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// The profile defines no such flow.
    #[error("the profile defines no {0} flow")]
    NoFlow(FlowName),
    /// The profile defines no such user.
    #[error("the profile defines no user `{0}`")]
    NoUser(String),
    /// The profile defines no cookie session.
    #[error("the profile defines no cookie session (`flows`)")]
    NoSession,
    /// The profile has no token section.
    #[error("the profile has no `token` section")]
    NoTokenSection,
    /// The profile defines no revocation endpoint.
    #[error("the profile defines no revocation endpoint")]
    NoRevocation,
    /// A template or request of the profile could not be rendered.
    #[error("{0}")]
    Request(String),
    /// A flow request answered a status the profile does not expect.
    #[error("{label} answered {status}, expected {}", match expected {
        Some(list) => crate::profile::statuses_in_words(list),
        None => "2xx or 3xx".to_string(),
    })]
    Status {
        /// The request, e.g. `login (alice) request 2`.
        label: String,
        /// What it answered.
        status: u16,
        /// The profile's `expect_status`, if any.
        expected: Option<Vec<u16>>,
    },
    /// An extractor found nothing.
    #[error("{label}: extractor `{extractor}` for `{var}` found nothing in the answer")]
    NothingExtracted {
        /// The request.
        label: String,
        /// The variable.
        var: String,
        /// The extractor, e.g. `header:Location matching /code=([^&]+)/`.
        extractor: String,
    },
    /// Login left no session cookie.
    #[error("login ({client}) left no `{cookie}` cookie")]
    NoSessionCookie {
        /// The client that logged in.
        client: String,
        /// The session cookie's name.
        cookie: String,
    },
    /// The profile has no `token.id_token_login` to present an ID token to.
    #[error(
        "the profile defines no `token.id_token_login` (where the service accepts an ID token)"
    )]
    NoIdTokenLogin,
    /// The token login gave no token.
    #[error("token login ({client}) gave no `{var}`")]
    NoToken {
        /// The client that logged in.
        client: String,
        /// The variable the token should land in.
        var: String,
    },
    /// The service's JWKS could not be used.
    #[error("{0}")]
    Jwks(String),
}

/// A labelled exchange in a transcript.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// What sent it, e.g. `login (victim) request 2`.
    pub label: String,
    /// The exchange, unredacted (redaction happens when evidence is made).
    pub exchange: Exchange,
}

/// Shared, read-only context of a run.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The target.
    pub target: std::sync::Arc<Target>,
    /// The probe client (shared budget, rate limit, redactor).
    pub client: Client,
    /// The session cookie's name (configured or detected): the one holding the id.
    pub session_cookie: String,
    /// Every cookie that carries the session, the id cookie first (a value cookie and its
    /// signature, say); replays carry them all.
    pub session_set: Vec<String>,
    /// Numbers secrets in redaction labels, so evidence shows which values are equal.
    pub secret_seq: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Which token the token steps obtain and present: the access token (the default), or
    /// the OpenID Connect ID token (obtained by the token login, presented to
    /// `token.id_token_login`).
    pub token_role: TokenRole,
    /// The run's logins shared across rules and the session ids they produced.
    pub(crate) pool: std::sync::Arc<super::pool::Pool>,
    /// Whether this rule may take the preflight's login instead of logging in
    /// ([`Browser::shared_login`]); off for the preflight and for a rule run again on fresh
    /// logins.
    pub(crate) share: bool,
    /// Logins this rule took from the pool.
    pub(crate) took: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Which token of a token login a rule judges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRole {
    /// The access token (`token.from`), presented to `token.access`.
    #[default]
    AccessToken,
    /// The ID token (variable `id_token`), presented to `token.id_token_login`.
    IdToken,
}

impl TokenRole {
    /// `access token` or `ID token`.
    pub fn noun(self) -> &'static str {
        match self {
            TokenRole::AccessToken => "access token",
            TokenRole::IdToken => "ID token",
        }
    }

    /// The redaction label of such a token.
    pub(crate) fn label(self) -> &'static str {
        match self {
            TokenRole::AccessToken => "access-token",
            TokenRole::IdToken => "id-token",
        }
    }
}

impl Ctx {
    /// The cookies that together carry the session (the id cookie first).
    pub fn session_cookies(&self) -> Vec<String> {
        if self.session_set.is_empty() {
            vec![self.session_cookie.clone()]
        } else {
            self.session_set.clone()
        }
    }

    /// The session's cookies as `jar` holds them (the set's members it has).
    pub fn session_part(&self, jar: &Jar) -> Jar {
        self.session_cookies()
            .into_iter()
            .filter_map(|name| jar.get(&name).map(|v| (name, v.clone())))
            .collect()
    }

    /// Registers a secret for redaction as `<redacted:KIND#N>`, N counting distinct values in
    /// this run, so a reader can see that two redacted values are the same. A value that
    /// contains a registered secret (an extended session id, a password's base64) is
    /// registered too, so its own spellings (hex, base64 of it) are caught. A value of 1–3
    /// characters is registered too (redacted where it is a whole field value), but for a
    /// cookie only when it carries the session: `lang=en` is no secret.
    pub fn register_secret(&self, value: &str, kind: &str) {
        let redactor = self.client.redactor();
        if value.is_empty() {
            return;
        }
        if value.chars().count() < crate::text::MIN_SECRET_CHARS
            && let Some(name) = kind.strip_prefix("cookie:")
            && !self.session_cookies().iter().any(|c| c == name)
        {
            return;
        }
        let n = self
            .secret_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        redactor.register(value, &format!("{kind}#{n}"));
    }
}

/// Current Unix time in seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// True when this Set-Cookie tells a browser to delete the cookie.
pub fn is_deletion(sc: &(impl SetCookieFields + ?Sized), now: i64) -> bool {
    let e = sc.effective();
    match (e.max_age, e.expires) {
        (Some(m), _) => m <= 0,
        (None, Some(exp)) => exp <= now,
        (None, None) => false,
    }
}

/// One client (browser) of a scenario.
#[derive(Debug, Clone)]
pub struct Browser {
    /// Name in transcripts.
    pub name: String,
    /// Cookies it holds.
    pub jar: Jar,
    /// Variables extracted by its last login (e.g. a CSRF token).
    pub vars: Vars,
    /// Every Set-Cookie it received, with the request URL, in order.
    pub set_cookies: Vec<(Url, String)>,
    /// Set-Cookie headers received during its most recent flow.
    pub last_flow_set_cookies: Vec<(Url, String)>,
    /// Requests it sent.
    pub requests: u64,
}

impl Browser {
    /// A browser with no cookies.
    pub fn new(name: impl Into<String>) -> Browser {
        Browser {
            name: name.into(),
            jar: Jar::new(),
            vars: Vars::new(),
            set_cookies: Vec::new(),
            last_flow_set_cookies: Vec::new(),
            requests: 0,
        }
    }

    /// The session id it holds.
    pub fn session_id<'a>(&'a self, ctx: &Ctx) -> Option<&'a str> {
        self.jar.get(&ctx.session_cookie).map(String::as_str)
    }

    /// Builds a request from a templated spec.
    pub fn build(ctx: &Ctx, spec: &RequestSpec, vars: &Vars) -> Result<ProbeRequest, StepError> {
        let t = |text: &str| {
            Template::render_str(text, vars).map_err(|e| FlowError::Request(e.to_string()))
        };
        let path = t(&spec.path)?;
        let url = ctx
            .target
            .url(&path)
            .map_err(|e| FlowError::Request(e.to_string()))?;
        let mut req = ProbeRequest::new(spec.method.to_ascii_uppercase(), url);
        for (k, v) in &ctx.target.headers {
            req = req.header(k.clone(), t(v)?);
        }
        for (k, v) in &spec.headers {
            req = req.header(k.clone(), t(v)?);
        }
        if let Some(j) = &spec.json {
            let body = render_json(j, vars).map_err(|e| FlowError::Request(e.to_string()))?;
            req = req.body(
                serde_json::to_vec(&body).unwrap_or_default(),
                "application/json",
            );
        } else if let Some(form) = &spec.form {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in form {
                ser.append_pair(k, &t(v)?);
            }
            req = req.body(
                ser.finish().into_bytes(),
                "application/x-www-form-urlencoded",
            );
        } else if let Some(b) = &spec.body {
            let body = t(b)?;
            let has_ct = spec
                .headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"));
            req.body = Some(body.into_bytes());
            if !has_ct {
                req = req.header("Content-Type", "text/plain");
            }
        }
        Ok(req)
    }

    /// Sends `req` with cookies from `jar` (or none), without touching this browser's state.
    pub async fn send_with(
        ctx: &Ctx,
        mut req: ProbeRequest,
        jar: Option<&Jar>,
    ) -> Result<Exchange, HttpError> {
        if let Some(jar) = jar
            && !jar.is_empty()
        {
            let cookie = jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header("Cookie", cookie);
        }
        ctx.client.send(req).await
    }

    /// Sends `req` with this browser's cookies and takes its Set-Cookie headers.
    pub async fn send(&mut self, ctx: &Ctx, req: ProbeRequest) -> Result<Exchange, HttpError> {
        self.requests += 1;
        let ex = Browser::send_with(ctx, req, Some(&self.jar)).await?;
        self.absorb(ctx, &ex);
        Ok(ex)
    }

    /// Applies the response's Set-Cookie headers to the jar.
    pub fn absorb(&mut self, ctx: &Ctx, ex: &Exchange) {
        let now = now_unix();
        for raw in ex.response.set_cookies() {
            let sc = parse_set_cookie_ref(raw);
            self.set_cookies
                .push((ex.request.url.clone(), raw.to_string()));
            self.last_flow_set_cookies
                .push((ex.request.url.clone(), raw.to_string()));
            if sc.name.is_empty() {
                continue;
            }
            if is_deletion(&sc, now) {
                self.jar.remove(sc.name);
            } else {
                ctx.register_secret(sc.value, &format!("cookie:{}", sc.name));
                self.jar.insert(sc.name.to_owned(), sc.value.to_owned());
            }
        }
    }

    /// Runs a flow and returns the variables it extracted. `user` supplies
    /// `user.username`/`user.password` for login; token flows also see the profile's client
    /// variables (`client.id`, `client.basic`, ...). An optional extractor (`?json:/...`)
    /// that finds nothing leaves its variable unset.
    pub async fn run_flow(
        &mut self,
        ctx: &Ctx,
        flow: FlowName,
        user: Option<&User>,
        transcript: &mut Vec<Recorded>,
    ) -> Result<Vars, StepError> {
        let steps = ctx.target.flow(flow).ok_or(FlowError::NoFlow(flow))?;
        self.last_flow_set_cookies.clear();
        let mut vars = if matches!(
            flow,
            FlowName::Login | FlowName::Anonymous | FlowName::TokenLogin
        ) {
            Vars::new()
        } else {
            self.vars.clone()
        };
        if matches!(
            flow,
            FlowName::TokenLogin | FlowName::TokenRefresh | FlowName::TokenLogout
        ) {
            for (k, v) in &ctx.target.token_vars {
                vars.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        if let Some(u) = user {
            vars.insert("user.username".into(), u.username.clone());
            vars.insert("user.password".into(), u.password.clone());
        }
        let mut extracted = Vars::new();
        for (i, step) in steps.iter().enumerate() {
            let req = Browser::build(ctx, &step.value.request, &vars)?;
            let ex = self.send(ctx, req).await?;
            let label = if steps.len() > 1 {
                format!("{flow} ({}) request {}", self.name, i + 1)
            } else {
                format!("{flow} ({})", self.name)
            };
            transcript.push(Recorded {
                label: label.clone(),
                exchange: ex.clone(),
            });
            let status = ex.response.status;
            let ok = match &step.value.expect_status {
                Some(list) => list.contains(&status),
                None => (200..400).contains(&status),
            };
            if !ok {
                return Err(FlowError::Status {
                    label,
                    status,
                    expected: step.value.expect_status.clone(),
                }
                .into());
            }
            for (var, ex_kind) in ctx.target.step_extractors(flow, i) {
                let value = match (extract(ex_kind, &ex), ex_kind) {
                    (Some(v), _) => v,
                    (None, Extractor::Optional(_)) => {
                        vars.remove(var);
                        continue;
                    }
                    (None, _) => {
                        return Err(FlowError::NothingExtracted {
                            label,
                            var: var.clone(),
                            extractor: ex_kind.to_string(),
                        }
                        .into());
                    }
                };
                ctx.register_secret(&value, &format!("var:{var}"));
                vars.insert(var.clone(), value.clone());
                extracted.insert(var.clone(), value);
            }
        }
        if matches!(flow, FlowName::Login | FlowName::TokenLogin) {
            ctx.pool.count_login();
        }
        if flow == FlowName::Login {
            self.record_issued_id(ctx);
        }
        match flow {
            FlowName::Login => self.vars = extracted.clone(),
            FlowName::TokenLogin => self.vars.extend(extracted.clone()),
            _ => {}
        }
        Ok(extracted)
    }

    /// Gives the pool the session id this login received in a `Set-Cookie` (an id kept from
    /// before the login, as with fixation, was not issued by it).
    fn record_issued_id(&self, ctx: &Ctx) {
        let Some(id) = self.session_id(ctx) else {
            return;
        };
        let issued = self.last_flow_set_cookies.iter().any(|(_, raw)| {
            let sc = parse_set_cookie_ref(raw);
            sc.name == ctx.session_cookie && sc.value == id
        });
        if issued {
            ctx.pool.record_id(id);
        }
    }

    /// Takes the run's shared cookie session of `user` when this rule may
    /// ([`Ctx::share`]) and the pool has one (no request: the preflight's cookies and
    /// variables); logs in otherwise. For rules that only read or attack the session.
    pub(crate) async fn shared_login(
        &mut self,
        ctx: &Ctx,
        user: &str,
        transcript: &mut Vec<Recorded>,
    ) -> Result<(), StepError> {
        if let Some(s) = ctx.share.then(|| ctx.pool.take_session(user)).flatten() {
            ctx.took.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.jar = s.jar;
            self.vars = s.vars;
            return Ok(());
        }
        self.login(ctx, user, transcript).await
    }

    /// As [`Browser::shared_login`], for the token login: the preflight's token.
    pub(crate) async fn shared_token_login(
        &mut self,
        ctx: &Ctx,
        user: &str,
        transcript: &mut Vec<Recorded>,
    ) -> Result<String, StepError> {
        if let Some(t) = ctx
            .share
            .then(|| ctx.pool.take_token(user, ctx.token_role.label()))
            .flatten()
        {
            ctx.took.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.vars.extend(t.vars);
            return Ok(t.token);
        }
        self.token_login(ctx, user, transcript).await
    }

    /// Logs `user` in.
    pub async fn login(
        &mut self,
        ctx: &Ctx,
        user: &str,
        transcript: &mut Vec<Recorded>,
    ) -> Result<(), StepError> {
        let u = ctx
            .target
            .users
            .get(user)
            .ok_or_else(|| FlowError::NoUser(user.to_string()))?
            .clone();
        self.run_flow(ctx, FlowName::Login, Some(&u), transcript)
            .await?;
        if self.session_id(ctx).is_none() {
            return Err(FlowError::NoSessionCookie {
                client: self.name.clone(),
                cookie: ctx.session_cookie.clone(),
            }
            .into());
        }
        Ok(())
    }

    /// Sends the protected request with `jar` (this browser's own when `None`).
    pub async fn access(
        &mut self,
        ctx: &Ctx,
        jar: Option<&Jar>,
        label: &str,
        transcript: &mut Vec<Recorded>,
    ) -> Result<AccessOutcome, StepError> {
        let req = Browser::build(ctx, &session_access(ctx)?.request, &self.vars)?;
        self.requests += 1;
        let ex = match jar {
            Some(j) => Browser::send_with(ctx, req, Some(j)).await?,
            None => {
                let own = self.jar.clone();
                let ex = Browser::send_with(ctx, req, Some(&own)).await?;
                self.absorb(ctx, &ex);
                ex
            }
        };
        let outcome = classify(ctx, &ex);
        transcript.push(Recorded {
            label: label.to_string(),
            exchange: ex,
        });
        Ok(outcome)
    }
}

/// A credential moved into a path parameter (`/me;jsessionid=…`) that answers 404 was not
/// accepted: most frameworks route such a path nowhere. Counted as denied whatever the
/// profile's `denied` classifier lists.
pub fn in_path_param(outcome: AccessOutcome, ex: &Exchange) -> AccessOutcome {
    match outcome {
        AccessOutcome::Unexpected if ex.response.status == 404 => AccessOutcome::Denied,
        other => other,
    }
}

/// Classifies an answer to the session-protected request (a token-only profile has none:
/// nothing is classified as allowed).
pub fn classify(ctx: &Ctx, ex: &Exchange) -> AccessOutcome {
    match ctx.target.session_access() {
        Some(access) => classify_with(access, ex),
        None => AccessOutcome::Unexpected,
    }
}

/// The session-protected request and its classifiers; an error for a token-only profile
/// (rules that need it require the `session` capability, so this is a safety net).
pub fn session_access(ctx: &Ctx) -> Result<&crate::profile::AccessSpec, StepError> {
    ctx.target
        .session_access()
        .ok_or(StepError::Flow(FlowError::NoSession))
}

/// Classifies an answer with a profile's access classifiers.
pub fn classify_with(access: &crate::profile::AccessSpec, ex: &Exchange) -> AccessOutcome {
    let r = &ex.response;
    let body = r.body_text();
    if access.allowed.matches_parts(r.status, &r.headers, &body) {
        AccessOutcome::Allowed
    } else if r.is_server_error() {
        AccessOutcome::ServerError
    } else {
        match &access.denied {
            Some(d) if !d.matches_parts(r.status, &r.headers, &body) => AccessOutcome::Unexpected,
            _ => AccessOutcome::Denied,
        }
    }
}

/// Whether an outcome meets an expectation.
pub fn meets(expect: crate::spec::Expect, outcome: AccessOutcome) -> bool {
    use crate::spec::Expect;
    match expect {
        Expect::Allowed => outcome == AccessOutcome::Allowed,
        Expect::Denied => outcome == AccessOutcome::Denied,
        Expect::NoServerError => outcome != AccessOutcome::ServerError,
    }
}

/// Runs an extractor on an answer.
pub fn extract(ex_kind: &Extractor, ex: &Exchange) -> Option<String> {
    match ex_kind {
        Extractor::Cookie(name) => ex
            .response
            .set_cookies()
            .map(parse_set_cookie_ref)
            .filter(|sc| sc.name == name.as_str())
            .last()
            .map(|sc| sc.value.to_owned()),
        Extractor::Header(name) => ex.response.header(name).map(str::to_string),
        Extractor::Json(pointer) => {
            let v: serde_json::Value = serde_json::from_slice(&ex.response.body).ok()?;
            match v.pointer(pointer)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            }
        }
        Extractor::Optional(inner) => extract(inner, ex),
        Extractor::Regex(pattern) => pattern.capture(&ex.response.body_text()),
        Extractor::Matched { source, pattern } => pattern.capture(&extract(source, ex)?),
    }
}

fn token_spec(ctx: &Ctx) -> Result<&TokenSpec, StepError> {
    ctx.target
        .token
        .as_ref()
        .ok_or(StepError::Flow(FlowError::NoTokenSection))
}

impl Browser {
    /// Runs the token login for `user`; the token lands in `vars[token.from]`.
    pub async fn token_login(
        &mut self,
        ctx: &Ctx,
        user: &str,
        transcript: &mut Vec<Recorded>,
    ) -> Result<String, StepError> {
        let t = token_spec(ctx)?;
        let u = ctx
            .target
            .users
            .get(user)
            .ok_or_else(|| FlowError::NoUser(user.to_string()))?
            .clone();
        let before = self.vars.clone();
        let extracted = self
            .run_flow(ctx, FlowName::TokenLogin, Some(&u), transcript)
            .await?;
        let access = self
            .vars
            .get(&t.from)
            .cloned()
            .ok_or_else(|| FlowError::NoToken {
                client: self.name.clone(),
                var: t.from.clone(),
            })?;
        for (k, v) in before {
            self.vars.entry(k).or_insert(v);
        }
        ctx.register_secret(&access, TokenRole::AccessToken.label());
        let id_token = self.capture_id_token(ctx, &extracted, transcript)?;
        ctx.pool
            .record_token(TokenRole::AccessToken.label(), &access);
        if let Some(id_token) = &id_token {
            ctx.pool.record_token(TokenRole::IdToken.label(), id_token);
        }
        match ctx.token_role {
            TokenRole::AccessToken => Ok(access),
            TokenRole::IdToken => id_token.ok_or_else(|| {
                FlowError::NoToken {
                    client: self.name.clone(),
                    var: ID_TOKEN_VAR.to_string(),
                }
                .into()
            }),
        }
    }

    /// The ID token of the token login that just ran: the variable `id_token` when the login
    /// extracted one, else what `token.id_token` (default `?json:/id_token`) finds in the
    /// login's last answer. It lands in the variable `id_token` (removed when there is none)
    /// and is registered for redaction. A written, non-optional extractor that finds nothing
    /// fails the login.
    fn capture_id_token(
        &mut self,
        ctx: &Ctx,
        extracted: &Vars,
        transcript: &[Recorded],
    ) -> Result<Option<String>, StepError> {
        let extractor = ctx.target.id_token_extractor();
        let found = match extracted.get(ID_TOKEN_VAR) {
            Some(v) => Some(v.clone()),
            None => transcript
                .last()
                .zip(extractor)
                .and_then(|(r, e)| extract(e, &r.exchange)),
        };
        match &found {
            Some(v) => {
                ctx.register_secret(v, TokenRole::IdToken.label());
                self.vars.insert(ID_TOKEN_VAR.to_string(), v.clone());
            }
            None if extractor.is_some_and(|e| !matches!(e, Extractor::Optional(_))) => {
                return Err(FlowError::NothingExtracted {
                    label: format!("{} ({})", FlowName::TokenLogin, self.name),
                    var: ID_TOKEN_VAR.to_string(),
                    extractor: extractor.map(ToString::to_string).unwrap_or_default(),
                }
                .into());
            }
            None => {
                self.vars.remove(ID_TOKEN_VAR);
            }
        }
        Ok(found)
    }

    /// Sends the token-protected request with `token` in place of the browser's own; with
    /// `via` set, the token travels that way instead of the profile's transport.
    pub async fn token_access(
        &mut self,
        ctx: &Ctx,
        token: &str,
        via: Option<&Via>,
        label: &str,
        transcript: &mut Vec<Recorded>,
    ) -> Result<Vec<AccessOutcome>, StepError> {
        let (access, var) = token_channel(ctx)?;
        let mut vars = self.vars.clone();
        vars.insert(var.to_string(), token.to_string());
        let mut outcomes = Vec::new();
        let requests: Vec<(String, crate::http::ProbeRequest)> = match via {
            None | Some(Via::Cookie) => {
                vec![(
                    label.to_string(),
                    Browser::build(ctx, &access.request, &vars)?,
                )]
            }
            Some(Via::Query(names)) | Some(Via::PathParam(names)) => {
                let stripped = strip_token(&access.request, var);
                let mut out = Vec::new();
                for name in names {
                    let mut req = Browser::build(ctx, &stripped, &vars)?;
                    if matches!(via, Some(Via::Query(_))) {
                        req.url.query_pairs_mut().append_pair(name, token);
                        out.push((
                            format!(
                                "{label}: token in query parameter `{name}`, not in its usual place"
                            ),
                            req,
                        ));
                    } else {
                        let path = format!("{};{}={}", req.url.path(), name, token);
                        req.url.set_path(&path);
                        out.push((format!("{label}: token in path parameter `;{name}=`"), req));
                    }
                }
                out
            }
        };
        let moved = matches!(via, Some(Via::PathParam(_)));
        for (label, req) in requests {
            self.requests += 1;
            let ex = Browser::send_with(ctx, req, Some(&self.jar)).await?;
            let outcome = classify_with(access, &ex);
            outcomes.push(if moved {
                in_path_param(outcome, &ex)
            } else {
                outcome
            });
            transcript.push(Recorded {
                label,
                exchange: ex,
            });
        }
        Ok(outcomes)
    }
}

impl Browser {
    /// Sends the token-protected request with `token` the usual way and classifies the answer.
    pub async fn token_use(
        &mut self,
        ctx: &Ctx,
        token: &str,
        label: &str,
        transcript: &mut Vec<Recorded>,
    ) -> Result<AccessOutcome, StepError> {
        let outcomes = self
            .token_access(ctx, token, None, label, transcript)
            .await?;
        Ok(outcomes
            .first()
            .copied()
            .unwrap_or(AccessOutcome::Unexpected))
    }
}

/// The request without any header, form field or body that carries the token variable.
fn strip_token(r: &RequestSpec, var: &str) -> RequestSpec {
    let uses = |text: &str| text.contains(var) && text.contains("{{");
    let mut r = r.clone();
    r.headers.retain(|_, v| !uses(v));
    if let Some(form) = &mut r.form {
        form.retain(|_, v| !uses(v));
    }
    if r.body.as_deref().is_some_and(uses) {
        r.body = None;
    }
    r
}

/// Classifies an answer to the request that accepts the context's token (the
/// token-protected request, or for the ID token `token.id_token_login`).
pub fn classify_token(ctx: &Ctx, ex: &Exchange) -> AccessOutcome {
    match token_channel(ctx) {
        Ok((access, _)) => classify_with(access, ex),
        Err(_) => AccessOutcome::Unexpected,
    }
}

/// Where the context's token is accepted and the variable its request template reads: the
/// token-protected request and `token.from` for the access token, `token.id_token_login`
/// and `id_token` for the ID token.
pub fn token_channel(ctx: &Ctx) -> Result<(&crate::profile::AccessSpec, &str), StepError> {
    let t = token_spec(ctx)?;
    match ctx.token_role {
        TokenRole::AccessToken => Ok((&t.access, t.from.as_str())),
        TokenRole::IdToken => match &t.id_token_login {
            Some(rp) => Ok((rp, ID_TOKEN_VAR)),
            None => Err(FlowError::NoIdTokenLogin.into()),
        },
    }
}
