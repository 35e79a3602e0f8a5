//! The engine: runs the catalogue's rules against a target and produces results.
//!
//! It turns validated rules (`spec`) into probes sent through the probe client (`http`)
//! against the service a profile describes (`profile`), reads cookies with `cookie`, tokens
//! with `jwt`, generates cases with `strategy`, predicts answers with `machine`, and emits
//! [`Event`]s. It never prints: reporters consume its events and the final [`Report`].
//!
//! A run starts with a *preflight* (`preflight`): log in as alice, find the session cookie,
//! and show that the protected request is allowed. If that fails the target cannot be tested
//! and the run stops (exit 3); a preflight broken by a transport failure is run once more
//! first. The run is then sized to the service (`sizing`: rules and cases in flight, the
//! per-request timeout, from the login latency the preflight measured). Then independent rules
//! run concurrently (bounded); rules that end every session of a user (logout everywhere) run
//! alone afterwards. A rule that ends in an error caused by a transport failure is run once
//! more from scratch, and the second run's verdict stands (with a note naming the first
//! error); failures are never re-run here. [`run_until`] also watches a stop channel: when it
//! fires (SIGINT, SIGTERM in the binary), the client stops sending, the rules in flight are
//! abandoned, and the report keeps the finished verdicts, lists the others as not run and is
//! marked incomplete.
//!
//! Files: `rule` dispatches a rule to its kind — `cookie`, `session`, `jwt`, `transport`
//! (the `check` assertions), `scenario`, `property`, `attack`, `model/` — and every negative
//! probe goes through `probe` (positive control, cases, control, verdict). `browser` is one
//! virtual client (cookies, variables, flows); `outcome` is what a rule ends with.

mod attack;
mod browser;
mod budget;
mod cookie;
mod csp;
mod headers;
mod idtoken;
mod jwks;
mod jwt;
mod model;
mod modes;
mod outcome;
mod pool;
mod preflight;
mod probe;
mod property;
mod replicas;
mod rule;
mod scenario;
mod select;
mod session;
mod sizing;
mod token;
mod transport;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use browser::{AccessOutcome, Browser, Ctx, Jar, StepError, classify, classify_token};
pub use budget::{BudgetPlan, Coverage, CoverageUnit};
pub use modes::{run_modes, run_modes_until};
pub use outcome::{
    Counterexample, EVIDENCE_BODY_BYTES, Evidence, Finding, Inconclusive, Outcome, REPORT_SCHEMA,
    Report, RuleError, RuleResult, SequenceStep, Skip, Status, Summary, TargetInfo, TokenPart,
    TokenRole, Tool, Verdict,
};
pub(crate) use preflight::preflight;
pub use preflight::{Baseline, PreflightError};
pub use select::{SelectionError, seed_for, select};
pub use sizing::RunLimits;

use crate::http::{Client, HttpError, HttpErrorKind};
use crate::profile::{ResolveError, Target};
use crate::spec::{Catalogue, Check, Rule, RuleKind};

use rule::RuleCtx;

/// Options of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seed of every generated case.
    pub seed: u64,
    /// Most rules in flight at once (also bounds concurrent property cases); the profile's
    /// `limits.concurrency` lowers it, and so may a slow login (see the report's
    /// `target.limits`).
    pub concurrency: usize,
    /// Run only rules whose id matches one of these (exact or glob with `*`/`?`).
    pub only: Vec<String>,
    /// Skip rules whose id matches one of these.
    pub skip: Vec<String>,
    /// Wall time the run may take (`--budget`; wins over the profile's `limits.budget`): see
    /// the report's `target.limits.budget`.
    pub budget: Option<Duration>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: 0,
            concurrency: 8,
            only: Vec::new(),
            skip: Vec::new(),
            budget: None,
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
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// `--only`/`--skip` selected no rule (bad input, exit 2).
    #[error(transparent)]
    Selection(#[from] SelectionError),
    /// The probe client could not be built (bad input, exit 2).
    #[error("{0}")]
    Client(HttpError),
    /// A preflight or discovery request got no usable answer: the target did not answer,
    /// answered something that is not HTTP, or the budget ran out (exit 3).
    #[error("{}", unreachable_message(.0))]
    Unreachable(HttpError),
    /// Login did not produce an authenticated session (exit 3).
    #[error("the target could not be tested: {0}")]
    LoginFailed(#[from] PreflightError),
    /// The profile could not be resolved against the service before any rule ran: its
    /// discovery URL is off-origin (exit 2), or the discovery document or the OAuth
    /// endpoints it names are unusable (exit 3).
    #[error("{}", resolve_message(.0))]
    Resolve(ResolveError),
    /// One auth mode of the profile could not be resolved or tested (the mode's name and why).
    #[error("auth mode `{mode}`: {source}")]
    Mode {
        /// The mode.
        mode: String,
        /// Why.
        source: Box<RunError>,
    },
}

impl RunError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Selection(_) | RunError::Client(_) => 2,
            RunError::Resolve(ResolveError::DiscoveryUrl(_)) => 2,
            RunError::Unreachable(_) | RunError::LoginFailed(_) | RunError::Resolve(_) => 3,
            RunError::Mode { source, .. } => source.exit_code(),
        }
    }
}

/// "Could not be reached" only when the target did not answer; an answer authprobe cannot
/// read or a budget that ran out says "could not be tested".
fn unreachable_message(e: &HttpError) -> String {
    match e.kind {
        HttpErrorKind::Connect | HttpErrorKind::Timeout | HttpErrorKind::Tls => {
            format!("the target could not be reached: {e}")
        }
        _ => format!("the target could not be tested: {e}"),
    }
}

/// A resolution error as the user reads it: the profile's fault, or the target's.
fn resolve_message(e: &ResolveError) -> String {
    match e {
        ResolveError::DiscoveryUrl(_) => format!("the profile cannot be used: {e}"),
        e => format!("the target could not be tested: {e}"),
    }
}

impl From<ResolveError> for RunError {
    /// The probe client and an unreachable target keep their own variants; the rest says
    /// the profile could not be resolved against the service.
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::Client(e) => RunError::Client(e),
            ResolveError::Unreachable(e) => RunError::Unreachable(e),
            e => RunError::Resolve(e),
        }
    }
}

impl From<StepError> for RunError {
    /// During the preflight, a request that fails means the target is unreachable; a flow
    /// that misbehaves means login did not give a testable session.
    fn from(e: StepError) -> Self {
        match e {
            StepError::Http(e) => RunError::Unreachable(e),
            StepError::Flow(m) => RunError::LoginFailed(PreflightError::Login(m)),
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
    let (_never, stop) = tokio::sync::watch::channel(None);
    run_until(catalogue, target, client, options, events, stop).await
}

/// A run's stop switch: the receiving end of a watch channel. When it holds a reason (e.g.
/// `interrupted by SIGTERM`), [`run_until`] stops at once.
pub type Stop = tokio::sync::watch::Receiver<Option<String>>;

/// Like [`run`], until `stop` holds a reason: then the client sends nothing more, the rules
/// in flight are abandoned, and the report keeps the verdicts of the rules that finished;
/// every other selected rule is listed as not run ([`Skip::NotRun`]) with the reason, and
/// the report is marked incomplete ([`Report::incomplete`]). A stop before the preflight
/// finished gives a report with no verdict.
pub async fn run_until(
    catalogue: &Catalogue,
    target: Target,
    client: Client,
    options: &RunOptions,
    events: &(dyn Fn(&Event) + Send + Sync),
    stop: Stop,
) -> Result<Report, RunError> {
    run_in_mode(catalogue, target, client, options, events, stop, None).await
}

/// [`run_until`] in one auth mode of the profile (`None`: the profile has one): the results
/// carry the mode, and each rule's traffic is filed under `id@mode`.
pub(crate) async fn run_in_mode(
    catalogue: &Catalogue,
    target: Target,
    client: Client,
    options: &RunOptions,
    events: &(dyn Fn(&Event) + Send + Sync),
    mut stop: Stop,
    mode: Option<&str>,
) -> Result<Report, RunError> {
    let started = Instant::now();
    let rules = select(catalogue, &options.only, &options.skip)?;
    let finished = std::sync::Mutex::new(BTreeMap::new());
    let started_info = std::sync::Mutex::new(None);
    let pool_slot = std::sync::Mutex::new(None);
    let fallback_info = TargetInfo {
        name: target.name.clone(),
        base_url: target.base_url.to_string(),
        replicas: replica_names(&target),
        modes: Vec::new(),
        session_cookie: None,
        limits: RunLimits::default(),
    };
    let budget = options
        .budget
        .or_else(|| target.limits.budget.map(|b| Duration::from_secs(b.0)));
    let work = run_rules(
        catalogue,
        &rules,
        target,
        &client,
        (options, budget, started, mode),
        events,
        (&finished, &started_info, &pool_slot),
    );
    let out_of_budget = async {
        match budget {
            Some(b) => tokio::time::sleep_until((started + b).into()).await,
            None => std::future::pending().await,
        }
    };
    let mut budget_ran_out = false;
    let incomplete = tokio::select! {
        done = work => {
            done?;
            None
        }
        reason = stopped(&mut stop) => {
            client.stop();
            Some(reason)
        }
        () = out_of_budget => {
            client.stop();
            budget_ran_out = true;
            None
        }
    };
    let mut finished = finished.into_inner().unwrap_or_else(|p| p.into_inner());
    if let (true, Some(b)) = (budget_ran_out, budget) {
        // The hard stop: what had not finished is inconclusive, never passed.
        for (i, rule) in rules.iter().enumerate() {
            finished.entry(i).or_insert_with(|| {
                let why = format!(
                    "the run's budget ({}) ran out before this rule finished",
                    budget::human(b)
                );
                RuleResult::new(rule, Verdict::inconclusive(Inconclusive::Budget(why)))
            });
        }
    }
    if let Some(reason) = &incomplete {
        for (i, rule) in rules.iter().enumerate() {
            finished.entry(i).or_insert_with(|| {
                let why = Skip::NotRun(reason.clone());
                RuleResult::new(rule, Verdict::new(Outcome::Skip(why)))
            });
        }
    }
    let results: Vec<RuleResult> = finished
        .into_values()
        .map(|mut r| {
            r.mode = mode.map(str::to_owned);
            r
        })
        .collect();
    let mut target = started_info
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .unwrap_or(fallback_info);
    if let Some(pool) = pool_slot.into_inner().unwrap_or_else(|p| p.into_inner()) {
        // What the run's logins cost, and how many the sharing saved.
        target.limits.notes.push(pool.counts().note());
    }
    Ok(Report::assemble(
        target,
        options.seed,
        results,
        (client.requests_sent(), started),
        incomplete,
    ))
}

/// A rule's key in one mode: `id`, or `id@mode` (see [`RuleResult::key`]).
fn mode_key(id: &str, mode: Option<&str>) -> String {
    match mode {
        Some(m) => format!("{id}@{m}"),
        None => id.to_owned(),
    }
}

/// The reason `stop` holds, once it holds one (never, when its sender is gone unused).
async fn stopped(stop: &mut Stop) -> String {
    loop {
        if let Some(reason) = stop.borrow_and_update().clone() {
            return reason;
        }
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Where a run keeps what it has done, so an interrupted run can still report it: the
/// results of the finished rules by catalogue position, and the target as the preflight
/// found it.
type Progress<'a> = (
    &'a std::sync::Mutex<BTreeMap<usize, RuleResult>>,
    &'a std::sync::Mutex<Option<TargetInfo>>,
    &'a std::sync::Mutex<Option<Arc<pool::Pool>>>,
);

/// The preflight, the sizing and the rules of a run; results go to `progress` as they come.
async fn run_rules(
    catalogue: &Catalogue,
    rules: &[&Rule],
    target: Target,
    client: &Client,
    (options, budget, started, mode): (&RunOptions, Option<Duration>, Instant, Option<&str>),
    events: &(dyn Fn(&Event) + Send + Sync),
    (finished, started_info, pool_slot): Progress<'_>,
) -> Result<(), RunError> {
    let policy = target.policy.apply(&catalogue.policy);
    let target = Arc::new(target);
    client.set_repeatable_bodies(login_markers(target.users.values()));
    client.set_repeatable_targets(id_token_login_target(&target).into_iter().collect());
    register_pairs(&target, client);
    let (ctx, baseline, mut notes) = preflight_retried(&target, client).await?;
    *pool_slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(ctx.pool.clone());
    let limits = sizing::size(
        options.concurrency,
        target.limits.concurrency,
        client.timeout(),
        sizing::login_latency(&baseline.transcript),
    );
    client.set_timeout(Duration::from_millis(limits.timeout_ms));
    notes.extend(limits.notes.iter().cloned());
    let plan = budget.map(|budget| {
        let caps = target.capabilities();
        let runnable: Vec<&Rule> = rules
            .iter()
            .copied()
            .filter(|r| r.requires.iter().all(|c| caps.contains(c)))
            .collect();
        let inputs = budget::Inputs {
            budget,
            started,
            login: sizing::login_latency(&baseline.transcript).unwrap_or_default(),
            request: sizing::request_latency(&baseline.transcript),
            rules_in_flight: limits.rules_in_flight,
        };
        budget::plan(&runnable, &policy, inputs)
    });
    let plan = plan.unwrap_or_default();
    notes.extend(plan.notes.iter().cloned());
    let limits = RunLimits {
        budget: budget.map(|_| plan.report.clone()),
        ..limits
    };
    let notes = notes.iter().map(|n| client.redactor().redact(n)).collect();
    let info = TargetInfo {
        name: target.name.clone(),
        base_url: target.base_url.to_string(),
        replicas: replica_names(&target),
        modes: Vec::new(),
        session_cookie: baseline
            .session
            .as_ref()
            .map(|_| ctx.session_cookie.clone()),
        limits: RunLimits { notes, ..limits },
    };
    *started_info.lock().unwrap_or_else(|p| p.into_inner()) = Some(info.clone());
    events(&Event::Started {
        target: info.clone(),
        rules: rules.len(),
        seed: options.seed,
    });
    let make_ctx = |rule: &Rule| {
        Arc::new(RuleCtx {
            // A client of its own scope, so the rule's retries are counted in its requests
            // (and its traffic is filed under the rule when captured for the HAR report).
            ctx: Ctx {
                client: ctx.client.scoped_as(&mode_key(&rule.id, mode)),
                share: true,
                took: Default::default(),
                ..ctx.clone()
            },
            baseline: baseline.clone(),
            policy: policy.clone(),
            seed: seed_for(options.seed, &rule.id),
            run_seed: options.seed,
            case_concurrency: info.limits.cases_in_flight,
            share: plan.shares.get(rule.id.as_str()).copied(),
        })
    };
    // The one path from a rule's outcome to the report: every text derived from the
    // target passes the redactor here.
    let redactor = client.redactor().clone();
    let finish = |i: usize, mut r: RuleResult| {
        r.mode = mode.map(str::to_owned);
        r.redact(&redactor);
        events(&Event::RuleFinished(r.clone()));
        finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(i, r);
    };
    let concurrency = info.limits.rules_in_flight;
    let planned = Planned {
        cannot_run: &plan.cannot_run,
        order: &plan.order,
        budget,
    };
    schedule(rules, &target, (concurrency, planned), make_ctx, &finish).await;
    Ok(())
}

/// Registers each user's `user:password` pair with the redactor: an `Authorization: Basic
/// base64(user:password)` echoed back is the pair's spelling.
fn register_pairs(target: &Target, client: &Client) {
    for (name, user) in &target.users {
        let pair = format!("{}:{}", user.username, user.password);
        client
            .redactor()
            .register(&pair, &format!("password:{name}"));
    }
}

/// Why `rule` has nothing to test on the preflight's token, when the token is opaque and
/// the rule needs a JWS (token checks, forging and re-signing attacks).
fn opaque_token(rule: &Rule, rc: &RuleCtx) -> Option<String> {
    let token = &rc.baseline.token.as_ref()?.token;
    let err = crate::jwt::decode::decode(token).err()?;
    match &rule.kind {
        RuleKind::Check(Check::Jwt(_)) => Some(jwt::opaque_reason(rc.ctx.token_role, &err)),
        RuleKind::Attack(a) if attack::needs_jws(a) => {
            Some(attack::opaque_reason(rc.ctx.token_role, &err))
        }
        _ => None,
    }
}

/// What the budget decided before the rules start.
struct Planned<'a> {
    /// Rules not run because even their minimum does not fit, with the reason.
    cannot_run: &'a BTreeMap<String, String>,
    /// The rules in the order to start them (empty: catalogue order).
    order: &'a [String],
    /// The run's budget, when one is in force.
    budget: Option<Duration>,
}

/// Whether `rule` waits for a real token to expire: the `expired` attack without a signing
/// key to forge an expired token (it sleeps until the token's `exp`).
fn waits_for_expiry(rule: &Rule, target: &Target) -> bool {
    matches!(&rule.kind, RuleKind::Attack(a) if a.resign == [crate::spec::ClaimAttack::Expired])
        && target.signing_keys.is_empty()
}

/// Skips rules whose capabilities the profile lacks and those the budget cannot hold, starts
/// those that wait for a real expiry first and beside the others (they hold no rule slot
/// while they sleep), runs the others concurrently (bounded), the exclusive ones alone
/// afterwards, and last those that read the whole run's record; each result goes to
/// `finish` with the rule's catalogue position as it comes.
async fn schedule(
    rules: &[&Rule],
    target: &Target,
    (concurrency, planned): (usize, Planned<'_>),
    make_ctx: impl Fn(&Rule) -> Arc<RuleCtx>,
    finish: &(dyn Fn(usize, RuleResult) + Send + Sync),
) {
    let caps = target.capabilities();
    let mut pending: Vec<(usize, Rule)> = Vec::new();
    let mut exclusive: Vec<(usize, Rule)> = Vec::new();
    let mut last: Vec<(usize, Rule)> = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let missing: Vec<_> = rule
            .requires
            .iter()
            .filter(|c| !caps.contains(c))
            .map(|c| (*c, missing_hint(*c)))
            .collect();
        if !missing.is_empty() {
            // A rule that reads or forges the token's structure says first that an opaque
            // token has none (providing the missing key would not make it testable).
            let skip = match opaque_token(rule, &make_ctx(rule)) {
                Some(why) => Skip::NotApplicable(why),
                None => Skip::Missing(missing),
            };
            finish(i, RuleResult::new(rule, Verdict::new(Outcome::Skip(skip))));
        } else if let Some(why) = planned.cannot_run.get(rule.id.as_str()) {
            let why = Inconclusive::Budget(why.clone());
            finish(i, RuleResult::new(rule, Verdict::inconclusive(why)));
        } else if rule.is_exclusive() {
            exclusive.push((i, (*rule).clone()));
        } else if rule.reads_the_run() || draws_ids_from_the_run(rule) {
            last.push((i, (*rule).clone()));
        } else {
            pending.push((i, (*rule).clone()));
        }
    }
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut set = tokio::task::JoinSet::new();
    let mut running: BTreeMap<tokio::task::Id, (usize, Rule)> = BTreeMap::new();
    // Under a budget in the plan's order; the rules that sleep until a real token expires
    // first, without a slot.
    let place = |rule: &Rule| planned.order.iter().position(|id| *id == rule.id.as_str());
    pending.sort_by_key(|(_, rule)| (!waits_for_expiry(rule, target), place(rule)));
    for (i, rule) in pending {
        let rc = make_ctx(&rule);
        let waits = waits_for_expiry(&rule, target);
        let sem = (!waits).then(|| semaphore.clone());
        let r2 = rule.clone();
        let budget = planned.budget;
        let handle = set.spawn(async move {
            let _permit = match sem {
                Some(sem) => sem.acquire_owned().await.ok(),
                None => None,
            };
            let mut result = run_rule_detached(rc, r2).await;
            if waits && result.notes.iter().any(|n| n.starts_with("waited ")) {
                result.notes.push(beside_note(budget));
            }
            (i, result)
        });
        running.insert(handle.id(), (i, rule));
    }
    while let Some(joined) = set.join_next_with_id().await {
        match joined {
            Ok((_, (i, r))) => finish(i, r),
            Err(e) => {
                if let Some((i, rule)) = running.get(&e.id()) {
                    finish(*i, panicked(rule));
                }
            }
        }
    }
    // Alone, since they end sessions others use; then the rules that judge what the whole
    // run has seen, the entropy check last (it may still log in for ids).
    last.sort_by_key(|(_, rule)| draws_ids_from_the_run(rule));
    for (i, rule) in exclusive.into_iter().chain(last) {
        let rc = make_ctx(&rule);
        finish(i, run_rule_detached(rc, rule).await);
    }
}

/// Whether `rule` samples session ids, and so takes those the run's other logins received
/// ([`pool`]): it runs after them.
fn draws_ids_from_the_run(rule: &Rule) -> bool {
    matches!(
        rule.kind,
        RuleKind::Check(Check::SessionId(crate::spec::SessionIdAssertion::Entropy))
    )
}

/// How a rule that waited for a real expiry ran.
fn beside_note(budget: Option<Duration>) -> String {
    let within = budget.map_or(String::new(), |b| {
        format!(", within the budget ({})", budget::human(b))
    });
    format!(
        "the wait ran in parallel with the other rules{within}: it started first and held no rule slot while it slept"
    )
}

/// The sign-in that accepts an ID token (`token.id_token_login`), when its path is not
/// templated: a login too, safe to repeat after a transport failure.
fn id_token_login_target(target: &Target) -> Option<(String, url::Url)> {
    let rp = target.token.as_ref()?.id_token_login.as_ref()?;
    let path = crate::profile::Template::render_str(&rp.request.path, &Default::default()).ok()?;
    let url = target.url(&path).ok()?;
    Some((rp.request.method.to_ascii_uppercase(), url))
}

/// What marks a login request for the probe client: a user's password as a request body
/// carries it (raw, form-encoded, JSON-escaped). A login is safe to repeat whatever its method
/// — sent twice, it at worst opens a session nobody holds — so the client retries it after a
/// transport failure. Passwords under 4 bytes mark nothing (they could match anything).
fn login_markers<'a>(users: impl IntoIterator<Item = &'a crate::profile::User>) -> Vec<Vec<u8>> {
    let mut markers: Vec<Vec<u8>> = Vec::new();
    for user in users {
        let password = user.password.as_str();
        if password.len() < 4 {
            continue;
        }
        let form: String = url::form_urlencoded::byte_serialize(password.as_bytes()).collect();
        let json = serde_json::to_string(password).unwrap_or_default();
        let json = json
            .strip_prefix('"')
            .and_then(|j| j.strip_suffix('"'))
            .unwrap_or(password);
        for marker in [password, form.as_str(), json] {
            if !markers.iter().any(|m| m == marker.as_bytes()) {
                markers.push(marker.as_bytes().to_vec());
            }
        }
    }
    markers
}

/// The preflight, run once more when a transport failure broke it; with a note saying so.
async fn preflight_retried(
    target: &Arc<Target>,
    client: &Client,
) -> Result<(Ctx, Baseline, Vec<String>), RunError> {
    match preflight::preflight(target.clone(), client.clone()).await {
        Err(RunError::Unreachable(e)) if e.kind.is_transport() => {
            let (ctx, baseline) = preflight::preflight(target.clone(), client.clone()).await?;
            let note = format!("the preflight was run again after a transport failure: {e}");
            Ok((ctx, baseline, vec![note]))
        }
        result => result.map(|(ctx, baseline)| (ctx, baseline, Vec::new())),
    }
}

/// The result of a rule whose task panicked.
fn panicked(rule: &Rule) -> RuleResult {
    RuleResult::new(
        rule,
        Verdict::error(RuleError::Internal("the rule's task panicked")),
    )
}

/// Runs a rule; when it ends in an error caused by a transport failure (a request that
/// could not be answered, e.g. a login whose connection closed: the client does not retry a
/// POST), runs it once more from scratch (new clients, new cases). The second run's verdict
/// stands, with a note naming the first run's error; requests and time add up.
async fn run_rule_detached(rc: Arc<RuleCtx>, rule: Rule) -> RuleResult {
    let first = run_rule_shared(rc.clone(), &rule).await;
    let Some(cause) = transport_error(&first) else {
        return first;
    };
    let mut second = run_rule_blocking(rc, rule).await;
    second.notes.push(format!(
        "run again from scratch after a transport failure in the first run ({cause}); this is \
         the second run's verdict"
    ));
    second.requests += first.requests;
    second.duration_ms += first.duration_ms;
    second
}

/// Runs a rule that may take the run's shared logins (`pool`); when it took one and did not
/// pass, runs it again from scratch on fresh logins, and that verdict stands (with a note):
/// a session others hold may have been ended or changed by them, so only a pass on it is
/// kept.
async fn run_rule_shared(rc: Arc<RuleCtx>, rule: &Rule) -> RuleResult {
    let first = run_rule_blocking(rc.clone(), rule.clone()).await;
    let took = rc.ctx.took.load(std::sync::atomic::Ordering::Relaxed);
    // A failure that did not reproduce was already run again on its own (and its verdict
    // says so): running the rule once more would only hide it.
    let unconfirmed = matches!(
        first.outcome,
        Outcome::Inconclusive(Inconclusive::NotReproduced { .. })
    );
    if took == 0 || unconfirmed || matches!(first.status(), Status::Pass | Status::Skip) {
        return first;
    }
    let fresh = Arc::new(rc.fresh());
    let mut second = run_rule_blocking(fresh, rule.clone()).await;
    second.notes.push(format!(
        "run again on fresh logins: the first run, on the run's shared login, ended {}; this is \
         the second run's verdict",
        first.status().as_str()
    ));
    second.requests += first.requests;
    second.duration_ms += first.duration_ms;
    second
}

/// The error of a result that ended in a transport failure, in words.
fn transport_error(result: &RuleResult) -> Option<String> {
    match &result.outcome {
        Outcome::Error(RuleError::Http { error, .. }) if error.kind.is_transport() => {
            Some(result.outcome.to_string())
        }
        _ => None,
    }
}

/// Runs a rule on a blocking thread that drives it with the runtime's handle. Property
/// rules hold proptest value trees (not `Send`) across requests; this keeps [`run`]'s
/// future `Send` while the rule's own requests still run on the shared runtime.
async fn run_rule_blocking(rc: Arc<RuleCtx>, rule: Rule) -> RuleResult {
    let handle = tokio::runtime::Handle::current();
    let fallback = panicked(&rule);
    tokio::task::spawn_blocking(move || handle.block_on(rule::run_rule(&rc, &rule)))
        .await
        .unwrap_or(fallback)
}

/// The target's replicas as reported: their origins.
fn replica_names(target: &Target) -> Vec<String> {
    target
        .replicas
        .iter()
        .map(|r| r.origin().ascii_serialization())
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::http::HttpErrorKind;

    use super::*;

    fn result_with(outcome: Outcome) -> RuleResult {
        let catalogue = crate::spec::builtin_catalogue().expect("catalogue");
        RuleResult::new(&catalogue.rules[0], Verdict::new(outcome))
    }

    fn http_error(kind: HttpErrorKind) -> Outcome {
        Outcome::Error(RuleError::Http {
            context: Some("step 2".to_owned()),
            error: Box::new(HttpError::new(
                kind,
                "http://127.0.0.1/api/login",
                "connection closed before message completed",
            )),
        })
    }

    #[test]
    fn only_errors_from_transport_failures_run_a_rule_again() {
        for kind in [
            HttpErrorKind::Other,
            HttpErrorKind::Timeout,
            HttpErrorKind::Connect,
        ] {
            let cause = transport_error(&result_with(http_error(kind)));
            assert!(cause.is_some_and(|c| c.starts_with("step 2: ")), "{kind:?}");
        }
        for outcome in [
            http_error(HttpErrorKind::BudgetExhausted),
            http_error(HttpErrorKind::ForbiddenOrigin),
            Outcome::Error(RuleError::Tooling("no key".to_owned())),
            Outcome::fail_observed("denied", "allowed"),
            Outcome::Inconclusive(Inconclusive::Control("503".to_owned())),
            Outcome::Pass,
        ] {
            assert_eq!(
                transport_error(&result_with(outcome.clone())),
                None,
                "{outcome}"
            );
        }
    }

    #[test]
    fn login_markers_are_each_password_as_bodies_carry_it() {
        let user = |password: &str| crate::profile::User {
            username: "u".to_owned(),
            password: password.to_owned(),
        };
        let users = [user("p@ss \"word\""), user("abc"), user("p@ss \"word\"")];
        let markers: Vec<String> = login_markers(&users)
            .into_iter()
            .map(|m| String::from_utf8(m).expect("utf-8"))
            .collect();
        assert_eq!(
            markers,
            ["p@ss \"word\"", "p%40ss+%22word%22", "p@ss \\\"word\\\""],
            "a 3-byte password marks nothing; a repeated one is marked once"
        );
    }
}
