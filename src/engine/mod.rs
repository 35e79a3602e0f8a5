//! The engine: runs the catalogue's rules against a target and produces results.
//!
//! It is the only module that knows all the others: it turns rules (`spec`) into probes sent
//! through the probe client (`http`) against the service a profile describes (`profile`),
//! reads cookies with `cookie`, generates cases with `gen`, and emits [`Event`]s. It never
//! prints: reporters consume its events and the final [`Report`].
//!
//! A run starts with a *preflight*: log in as `alice`, find the session cookie, and show
//! that the protected request is allowed. If that fails the target cannot be tested and the
//! run stops (exit 3). Then independent rules run concurrently (bounded); rules that end
//! every session of a user (logout everywhere) run alone afterwards.

mod browser;
mod check;
pub mod fuzz;
mod model;
mod property;
mod result;
mod scenario;
mod token;
mod transport;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

pub use browser::{AccessOutcome, Browser, Ctx, Jar, Recorded, StepError};
pub use result::{
    Counterexample, EVIDENCE_BODY_BYTES, Evidence, REPORT_SCHEMA, Report, RuleResult, SequenceStep,
    Status, Summary, TargetInfo, Tool,
};
pub use token::TokenBaseline;

use crate::http::{Client, Exchange, HttpError};
use crate::profile::{FlowName, ResolveError, Target};
use crate::spec::{Catalogue, Policy, Rule, RuleKind};

/// Options of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seed of every generated case.
    pub seed: u64,
    /// Most rules in flight at once (also bounds concurrent property cases).
    pub concurrency: usize,
    /// Run only rules whose id matches one of these (exact or glob with `*`/`?`).
    pub only: Vec<String>,
    /// Skip rules whose id matches one of these.
    pub skip: Vec<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: 0,
            concurrency: 8,
            only: Vec::new(),
            skip: Vec::new(),
        }
    }
}

/// What the engine reports while it runs.
#[derive(Debug, Clone)]
pub enum Event {
    /// The preflight succeeded; `rules` rules will run.
    Started {
        /// The target.
        target: TargetInfo,
        /// Number of selected rules.
        rules: usize,
        /// The run's seed.
        seed: u64,
    },
    /// One rule finished.
    RuleFinished(RuleResult),
}

/// Why a run could not produce a report.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// `--only`/`--skip` selected no rule (bad input, exit 2).
    Selection(String),
    /// The probe client could not be built (bad input, exit 2).
    Client(HttpError),
    /// The target did not answer (exit 3).
    Unreachable(HttpError),
    /// Login did not produce an authenticated session (exit 3).
    LoginFailed(String),
    /// The profile is unusable as written (exit 2).
    Profile(String),
}

impl RunError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Selection(_) | RunError::Client(_) | RunError::Profile(_) => 2,
            RunError::Unreachable(_) | RunError::LoginFailed(_) => 3,
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Selection(m) => f.write_str(m),
            RunError::Client(e) => write!(f, "{e}"),
            RunError::Unreachable(e) => write!(f, "the target could not be reached: {e}"),
            RunError::LoginFailed(m) => write!(f, "the target could not be tested: {m}"),
            RunError::Profile(m) => write!(f, "the profile cannot be used: {m}"),
        }
    }
}

impl std::error::Error for RunError {}

impl From<ResolveError> for RunError {
    /// A profile whose discovery URL is off-origin is unusable (exit 2); a discovery document
    /// that cannot be fetched or used means the target cannot be tested (exit 3).
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::Client(e) => RunError::Client(e),
            ResolveError::Unreachable(e) => RunError::Unreachable(e),
            ResolveError::DiscoveryUrl(_) => RunError::Profile(e.to_string()),
            ResolveError::DiscoveryStatus { .. }
            | ResolveError::DiscoveryNotAnObject { .. }
            | ResolveError::OAuth(_) => RunError::LoginFailed(e.to_string()),
        }
    }
}

impl From<StepError> for RunError {
    /// During the preflight, a request that fails means the target is unreachable; a flow
    /// that misbehaves means login did not give a testable session.
    fn from(e: StepError) -> Self {
        match e {
            StepError::Http(e) => RunError::Unreachable(e),
            StepError::Flow(m) => RunError::LoginFailed(m),
        }
    }
}

/// Matches `text` against a glob with `*` (any run) and `?` (one char).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The rules `options` select, in catalogue order.
pub fn select<'a>(
    catalogue: &'a Catalogue,
    options: &RunOptions,
) -> Result<Vec<&'a Rule>, RunError> {
    for pat in options.only.iter().chain(&options.skip) {
        if !catalogue.rules.iter().any(|r| glob_match(pat, &r.id)) {
            return Err(RunError::Selection(format!(
                "`{pat}` matches no rule id; `authprobe validate` lists the catalogue's rules"
            )));
        }
    }
    let rules: Vec<&Rule> = catalogue
        .rules
        .iter()
        .filter(|r| options.only.is_empty() || options.only.iter().any(|p| glob_match(p, &r.id)))
        .filter(|r| !options.skip.iter().any(|p| glob_match(p, &r.id)))
        .collect();
    if rules.is_empty() {
        return Err(RunError::Selection(
            "the selection leaves no rule to run".into(),
        ));
    }
    Ok(rules)
}

/// A stable 64-bit hash (FNV-1a) used to derive per-rule seeds.
pub fn seed_for(seed: u64, rule_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in rule_id.bytes().chain(seed.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

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

/// Everything a rule needs.
pub(crate) struct RuleCtx {
    pub ctx: Ctx,
    pub baseline: Baseline,
    pub policy: Policy,
    pub seed: u64,
    pub run_seed: u64,
    pub case_concurrency: usize,
}

async fn preflight(target: Arc<Target>, client: Client) -> Result<(Ctx, Baseline), RunError> {
    let mut ctx = Ctx {
        target: target.clone(),
        client,
        session_cookie: target.session_cookie.clone().unwrap_or_default(),
        secret_seq: Default::default(),
    };
    let mut transcript = Vec::new();
    let session = match target.session_access() {
        Some(access) => Some(session_preflight(&mut ctx, access, &mut transcript).await?),
        None => None,
    };
    let token = if target.token.is_some() {
        let mut tb = Browser::new("preflight (token)");
        let before = transcript.len();
        let t = tb
            .token_login(&ctx, "alice", &mut transcript)
            .await
            .map_err(|e| match e {
                StepError::Http(e) => RunError::Unreachable(e),
                StepError::Flow(m) => {
                    RunError::LoginFailed(format!("token login as alice failed: {m}"))
                }
            })?;
        let exchange = transcript
            .get(before..)
            .and_then(|s| s.last())
            .map(|r| r.exchange.clone())
            .ok_or_else(|| RunError::LoginFailed("the token login sent no request".into()))?;
        let outcomes = tb
            .token_access(&ctx, &t, None, "token access (preflight)", &mut transcript)
            .await
            .map_err(RunError::from)?;
        if outcomes.iter().any(|o| *o != AccessOutcome::Allowed) {
            let status = transcript
                .last()
                .map(|r| r.exchange.response.status)
                .unwrap_or(0);
            return Err(RunError::LoginFailed(format!(
                "with alice's access token the token-protected request answered {status}, not the profile's `token.access.allowed`"
            )));
        }
        Some(TokenBaseline { token: t, exchange })
    } else {
        None
    };
    Ok((
        ctx,
        Baseline {
            session,
            transcript,
            token,
        },
    ))
}

/// Logs alice in through the cookie-session flows, finds the session cookie and shows the
/// protected request is allowed.
async fn session_preflight(
    ctx: &mut Ctx,
    access: &crate::profile::AccessSpec,
    transcript: &mut Vec<Recorded>,
) -> Result<SessionBaseline, RunError> {
    let target = ctx.target.clone();
    let mut b = Browser::new("preflight");
    let alice = target
        .users
        .get("alice")
        .cloned()
        .ok_or_else(|| RunError::LoginFailed("the profile defines no user `alice`".into()))?;
    match b
        .run_flow(ctx, FlowName::Login, Some(&alice), transcript)
        .await
    {
        Ok(_) => {}
        Err(StepError::Http(e)) => return Err(RunError::Unreachable(e)),
        Err(StepError::Flow(m)) => {
            return Err(RunError::LoginFailed(format!("login as alice failed: {m}")));
        }
    }
    let name = match &target.session_cookie {
        Some(name) => {
            if !b.jar.contains_key(name) {
                return Err(RunError::LoginFailed(format!(
                    "login as alice left no `{name}` cookie (cookies held: {})",
                    if b.jar.is_empty() {
                        "none".to_string()
                    } else {
                        b.jar.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                )));
            }
            name.clone()
        }
        None => detect_session_cookie(ctx, &mut b, transcript).await?,
    };
    ctx.session_cookie = name.clone();
    let outcome = b
        .access(ctx, None, "access (preflight)", transcript)
        .await
        .map_err(RunError::from)?;
    if outcome != AccessOutcome::Allowed {
        let status = transcript
            .last()
            .map(|r| r.exchange.response.status)
            .unwrap_or(0);
        return Err(RunError::LoginFailed(format!(
            "after logging in as alice the protected request answered {status} ({}), not the profile's `allowed` ({:?})",
            outcome.as_str(),
            access.allowed
        )));
    }
    let (url, set_cookie, exchange) = transcript
        .iter()
        .rev()
        .find_map(|r| {
            r.exchange
                .response
                .set_cookies()
                .filter(|raw| crate::cookie::parse_set_cookie(raw).name == name)
                .last()
                .map(|raw| {
                    (
                        r.exchange.request.url.clone(),
                        raw.to_string(),
                        r.exchange.clone(),
                    )
                })
        })
        .ok_or_else(|| {
            RunError::LoginFailed(format!("no Set-Cookie for `{name}` was seen during login"))
        })?;
    let session_id = b.jar.get(&name).cloned().unwrap_or_default();
    Ok(SessionBaseline {
        exchange,
        set_cookie,
        url,
        session_id,
    })
}

/// Finds the cookie whose absence turns an allowed request into a denied one.
async fn detect_session_cookie(
    ctx: &Ctx,
    b: &mut Browser,
    transcript: &mut Vec<Recorded>,
) -> Result<String, RunError> {
    let names: Vec<String> = b.jar.keys().cloned().collect();
    match names.len() {
        0 => Err(RunError::LoginFailed(
            "login as alice set no cookie; is this a cookie-session service?".into(),
        )),
        1 => Ok(names[0].clone()),
        _ => {
            for name in &names {
                let mut jar = b.jar.clone();
                jar.remove(name);
                let outcome = b
                    .access(
                        ctx,
                        Some(&jar),
                        &format!("access without `{name}` (detecting the session cookie)"),
                        transcript,
                    )
                    .await
                    .map_err(RunError::from)?;
                if outcome != AccessOutcome::Allowed {
                    return Ok(name.clone());
                }
            }
            Err(RunError::LoginFailed(format!(
                "cannot tell which cookie is the session cookie ({}); set `session: {{cookie: NAME}}` in the profile",
                names.join(", ")
            )))
        }
    }
}

/// What a profile needs to provide a capability.
fn missing_hint(c: crate::spec::Capability) -> &'static str {
    use crate::spec::Capability as C;
    match c {
        C::Session => "define flows.login and flows.access",
        C::Logout => "define flows.logout",
        C::LogoutEverywhere => "define flows.logout_everywhere",
        C::AnonymousSession => "define flows.anonymous",
        C::SecondUser => "define user bob",
        C::Jwt => "add a token section",
        C::Jwks => "set token.jwks_url",
        C::SigningKey => "add token.signing_keys for white-box checks",
        C::Loopback => "authprobe serves attacker material only to targets on loopback",
        C::Refresh => {
            "define token.refresh (or token.oauth) and extract the refresh token at login"
        }
        C::Revocation => "define token.revocation (or token.oauth with a revocation endpoint)",
        C::TokenLogout => "define token.logout",
    }
}

/// Runs the selected rules of `catalogue` against a resolved `target` through its probe
/// `client` (both from [`UnresolvedTarget::resolve`](crate::profile::UnresolvedTarget::resolve)).
pub async fn run(
    catalogue: &Catalogue,
    target: Target,
    client: Client,
    options: &RunOptions,
    events: &(dyn Fn(&Event) + Send + Sync),
) -> Result<Report, RunError> {
    let started = Instant::now();
    let rules = select(catalogue, options)?;
    let policy = target.policy.apply(&catalogue.policy);
    let target = Arc::new(target);
    let (ctx, baseline) = preflight(target.clone(), client.clone()).await?;
    let info = TargetInfo {
        name: target.name.clone(),
        base_url: target.base_url.to_string(),
        session_cookie: baseline
            .session
            .as_ref()
            .map(|_| ctx.session_cookie.clone()),
    };
    events(&Event::Started {
        target: info.clone(),
        rules: rules.len(),
        seed: options.seed,
    });
    let concurrency = options.concurrency.max(1);
    let caps = target.capabilities();
    let mut results: BTreeMap<usize, RuleResult> = BTreeMap::new();
    let mut pending: Vec<(usize, Rule)> = Vec::new();
    let mut exclusive: Vec<(usize, Rule)> = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let missing: Vec<String> = rule
            .requires
            .iter()
            .filter(|c| !caps.contains(c))
            .map(|c| format!("{} ({})", c.name(), missing_hint(*c)))
            .collect();
        if !missing.is_empty() {
            let r = RuleResult::new(rule, Status::Skip).because(format!(
                "the profile does not provide: {}",
                missing.join("; ")
            ));
            events(&Event::RuleFinished(r.clone()));
            results.insert(i, r);
        } else if rule.is_exclusive() {
            exclusive.push((i, (*rule).clone()));
        } else {
            pending.push((i, (*rule).clone()));
        }
    }
    let make_ctx = |rule: &Rule| {
        Arc::new(RuleCtx {
            ctx: ctx.clone(),
            baseline: baseline.clone(),
            policy: policy.clone(),
            seed: seed_for(options.seed, &rule.id),
            run_seed: options.seed,
            case_concurrency: concurrency.clamp(1, 16),
        })
    };
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut set = tokio::task::JoinSet::new();
    let mut running: BTreeMap<tokio::task::Id, (usize, Rule)> = BTreeMap::new();
    for (i, rule) in pending {
        let rc = make_ctx(&rule);
        let sem = semaphore.clone();
        let r2 = rule.clone();
        let handle = set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (i, run_rule_detached(rc, r2).await)
        });
        running.insert(handle.id(), (i, rule));
    }
    while let Some(joined) = set.join_next_with_id().await {
        let (i, r) = match joined {
            Ok((_, (i, r))) => (i, r),
            Err(e) => {
                let Some((i, rule)) = running.get(&e.id()).cloned() else {
                    continue;
                };
                (
                    i,
                    RuleResult::new(&rule, Status::Error)
                        .because("internal error: the rule's task panicked; please report this"),
                )
            }
        };
        events(&Event::RuleFinished(r.clone()));
        results.insert(i, r);
    }
    for (i, rule) in exclusive {
        let rc = make_ctx(&rule);
        let r = run_rule_detached(rc, rule.clone()).await;
        events(&Event::RuleFinished(r.clone()));
        results.insert(i, r);
    }
    let results: Vec<RuleResult> = results.into_values().collect();
    Ok(Report {
        schema: REPORT_SCHEMA,
        tool: Tool {
            name: "authprobe",
            version: env!("CARGO_PKG_VERSION"),
        },
        target: info,
        seed: options.seed,
        summary: Summary::of(&results),
        results,
        requests: client.requests_sent(),
        duration_ms: started.elapsed().as_millis() as u64,
        gate: None,
    })
}

/// Runs a rule on a blocking thread that drives it with the runtime's handle. Property
/// rules hold proptest value trees (not `Send`) across requests; this keeps [`run`]'s
/// future `Send` while the rule's own requests still run on the shared runtime.
async fn run_rule_detached(rc: Arc<RuleCtx>, rule: Rule) -> RuleResult {
    let handle = tokio::runtime::Handle::current();
    let fallback = RuleResult::new(&rule, Status::Error)
        .because("internal error: the rule's task panicked; please report this");
    tokio::task::spawn_blocking(move || handle.block_on(run_rule(&rc, &rule)))
        .await
        .unwrap_or(fallback)
}

async fn run_rule(rc: &RuleCtx, rule: &Rule) -> RuleResult {
    let started = Instant::now();
    let mut r = match rule.kind() {
        Some(RuleKind::Check(c)) => check::run(rc, rule, c).await,
        Some(RuleKind::Scenario(steps)) => scenario::run(rc, rule, steps).await,
        Some(RuleKind::Property(p)) => property::run(rc, rule, p).await,
        Some(RuleKind::Attack(a)) => token::attack(rc, rule, a).await,
        Some(RuleKind::Model(m)) => model::run(rc, rule, m).await,
        None => RuleResult::new(rule, Status::Error)
            .because("the rule has no kind (spec validation should have caught this)"),
    };
    r.duration_ms = started.elapsed().as_millis() as u64;
    r
}

/// Turns recorded exchanges into redacted evidence.
pub(crate) fn evidence(ctx: &Ctx, transcript: &[Recorded]) -> Vec<Evidence> {
    transcript
        .iter()
        .map(|r| Evidence::new(r.label.clone(), &r.exchange, ctx.client.redactor()))
        .collect()
}

/// The result for a step that could not complete.
pub(crate) fn step_error(
    ctx: &Ctx,
    rule: &Rule,
    e: StepError,
    transcript: &[Recorded],
) -> RuleResult {
    let (status, reason) = match e {
        StepError::Http(e) => (Status::Error, format!("{e}")),
        StepError::Flow(m) => (
            Status::Inconclusive,
            format!("could not complete the set-up: {m}"),
        ),
    };
    let mut r = RuleResult::new(rule, status).because(reason);
    r.evidence = evidence(ctx, transcript);
    r.requests = transcript.len() as u64;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_a_shell() {
        assert!(glob_match("cookie.*", "cookie.secure"));
        assert!(glob_match("*.secure", "cookie.secure"));
        assert!(glob_match("session.?paque-id", "session.opaque-id"));
        assert!(!glob_match("cookie.*", "session.opaque-id"));
        assert!(glob_match("cookie.secure", "cookie.secure"));
        assert!(!glob_match("cookie.secur", "cookie.secure"));
    }

    #[test]
    fn per_rule_seeds_differ_and_are_stable() {
        assert_eq!(seed_for(1, "a.b"), seed_for(1, "a.b"));
        assert_ne!(seed_for(1, "a.b"), seed_for(2, "a.b"));
        assert_ne!(seed_for(1, "a.b"), seed_for(1, "a.c"));
    }
}
