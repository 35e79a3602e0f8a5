//! Live fuzzing (`authprobe fuzz`): generated malformed and adversarial credentials sent to
//! the target's protected requests until a duration, the request budget or a stop signal.
//!
//! Cases come from seeded generators in turn: malformed tokens, mutated live tokens,
//! type-confused and duplicated claims under the original signature, mutated and malformed
//! session ids, duplicated cookies and odd `Authorization` headers. Every answer is judged:
//! a 5xx, a timeout, a dropped connection, a credential that must be refused but was
//! accepted, or a response-time outlier is a finding. Findings are deduplicated by kind and
//! generator; the first instance of each is kept with its request (secrets redacted) and a
//! curl line. It only emits events; the binary writes files and prints. It sits above the
//! engine and uses its preflight, virtual browser and classifiers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::engine::{
    AccessOutcome, Browser, Ctx, Evidence, RunError, classify, classify_token, preflight,
};
use crate::http::{Client, Exchange, HttpError, HttpErrorKind, ProbeRequest};
use crate::profile::Target;
use crate::units::SpecUser;

mod cases;

use cases::{Case, Generators, Slot, request_for};

/// Options of a fuzz run.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// Seed of the generators.
    pub seed: u64,
    /// Stop after this long.
    pub duration: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// What kind of problem a finding shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The target answered 5xx.
    ServerError,
    /// The request timed out.
    Timeout,
    /// The connection failed mid-run (the target was reachable at the preflight).
    DroppedConnection,
    /// A credential that must be refused was accepted.
    AcceptedForgery,
    /// The answer took far longer than usual.
    SlowResponse,
}

/// `server error`, `accepted forgery`, …: the kind in words (the JSON keeps the snake_case
/// names).
impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FindingKind::ServerError => "server error",
            FindingKind::Timeout => "timeout",
            FindingKind::DroppedConnection => "dropped connection",
            FindingKind::AcceptedForgery => "accepted forgery",
            FindingKind::SlowResponse => "slow response",
        })
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What went wrong.
    pub kind: FindingKind,
    /// The generator that produced the case.
    pub generator: &'static str,
    /// The case in words (secret-derived values are described, not shown).
    pub case: String,
    /// The exact generated value when it is not derived from a live credential (so the
    /// finding replays as is); `None` when it is.
    pub value: Option<String>,
    /// What was observed.
    pub observed: String,
    /// The exchange (secrets redacted), when there was an answer.
    pub evidence: Option<Evidence>,
    /// The request as a curl line (secrets redacted).
    pub curl: String,
    /// How many cases hit the same kind with the same generator.
    pub occurrences: u64,
}

/// Progress and results of a fuzz run.
#[derive(Debug, Clone)]
pub enum FuzzEvent {
    /// Periodic progress.
    Progress {
        /// Cases sent.
        cases: u64,
        /// Cases per second so far.
        rate: f64,
        /// Distinct findings so far.
        findings: usize,
    },
    /// A new distinct finding.
    Found(Box<Finding>),
}

/// The summary of a fuzz run.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzReport {
    /// `authprobe.fuzz/v1`.
    pub schema: &'static str,
    /// Target base URL.
    pub target: String,
    /// Seed.
    pub seed: u64,
    /// Cases sent.
    pub cases: u64,
    /// Wall time.
    pub duration_ms: u64,
    /// Why the run stopped: `duration`, `budget`, `interrupted` or `no cases`
    /// ([`FuzzReport::stop_reason`] says it in words).
    pub stopped_by: String,
    /// Cases per generator.
    pub per_generator: BTreeMap<&'static str, u64>,
    /// Distinct findings.
    pub findings: Vec<Finding>,
}

impl FuzzReport {
    /// Why the run stopped, in words for the readable summary (`stopped_by` keeps the JSON
    /// value: `duration`, `budget`, `interrupted` or `no cases`).
    pub fn stop_reason(&self) -> &'static str {
        match self.stopped_by.as_str() {
            "duration" => "the duration ended",
            "budget" => "the request budget was used up",
            "interrupted" => "interrupted",
            "no cases" => "the generators had no more cases",
            _ => "stopped",
        }
    }

    /// Exit code: 3 when the run was interrupted (its findings are partial), else 1 with
    /// findings, 0 without.
    pub fn exit_code(&self) -> i32 {
        if self.stopped_by == "interrupted" {
            3
        } else if self.findings.is_empty() {
            0
        } else {
            1
        }
    }
}

/// Runs a fuzz campaign against a resolved `target` through its probe `client`.
pub async fn fuzz(
    target: Target,
    client: Client,
    options: &FuzzOptions,
    stop: tokio::sync::watch::Receiver<bool>,
    events: &(dyn Fn(&FuzzEvent) + Send + Sync),
) -> Result<FuzzReport, RunError> {
    let started = Instant::now();
    let target = Arc::new(target);
    let (ctx, baseline) = preflight(target.clone(), client.clone()).await?;
    // A browser with alice's session for the cookie cases, and her login variables.
    let mut b = Browser::new("fuzz");
    let mut t = Vec::new();
    let has_session = baseline.session.is_some();
    if has_session {
        b.login(&ctx, SpecUser::Alice.name(), &mut t)
            .await
            .map_err(RunError::from)?;
    }
    if target.token.is_some() {
        b.token_login(&ctx, SpecUser::Alice.name(), &mut t)
            .await
            .map_err(RunError::from)?;
    }
    let mut campaign = Campaign {
        ctx: &ctx,
        started,
        events,
        cases: 0,
        per_generator: BTreeMap::new(),
        findings: Vec::new(),
        seen: BTreeMap::new(),
        latencies: Vec::new(),
        last_progress: Instant::now(),
    };
    let gens = Generators::new(options.seed, &baseline, has_session);
    let stopped_by = campaign.run(gens, &b, options, stop).await;
    Ok(FuzzReport {
        schema: "authprobe.fuzz/v1",
        target: target.base_url.to_string(),
        seed: options.seed,
        cases: campaign.cases,
        duration_ms: started.elapsed().as_millis() as u64,
        stopped_by: stopped_by.to_string(),
        per_generator: campaign.per_generator,
        findings: campaign.findings,
    })
}

/// What an answer (or its absence) showed: a finding's kind, what was observed, the exchange.
type Judged = (FindingKind, String, Option<Exchange>);

/// A running campaign: counts, findings so far (deduplicated by kind and generator) and the
/// latencies that define an outlier.
struct Campaign<'a> {
    ctx: &'a Ctx,
    started: Instant,
    events: &'a (dyn Fn(&FuzzEvent) + Send + Sync),
    cases: u64,
    per_generator: BTreeMap<&'static str, u64>,
    findings: Vec<Finding>,
    seen: BTreeMap<(FindingKind, &'static str), usize>,
    latencies: Vec<u64>,
    last_progress: Instant,
}

impl Campaign<'_> {
    /// Sends cases (bounded concurrency) until the duration, the budget, the stop signal or
    /// the generators end; returns why it stopped.
    async fn run(
        &mut self,
        mut gens: Generators,
        b: &Browser,
        options: &FuzzOptions,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> &'static str {
        // A duration beyond the clock's range has no deadline (the budget or Ctrl-C ends it).
        let deadline = self.started.checked_add(options.duration);
        let mut set = tokio::task::JoinSet::new();
        let concurrency = options.concurrency.clamp(1, 32);
        let stopped_by = loop {
            if *stop.borrow() {
                break "interrupted";
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break "duration";
            }
            while set.len() < concurrency {
                let Some(case) = gens.next() else { break };
                let Some((req, _)) = request_for(self.ctx, &b.vars, &b.jar, &case) else {
                    continue;
                };
                let client = self.ctx.client.clone();
                set.spawn(async move {
                    let sent = req.clone();
                    let res = client.send(req).await;
                    (case, sent, res)
                });
            }
            // A stop signal does not wait for the requests in flight: they are abandoned.
            let joined = tokio::select! {
                joined = set.join_next() => joined,
                () = stop_signalled(&mut stop) => break "interrupted",
            };
            let Some(joined) = joined else {
                break "no cases";
            };
            let Ok((case, sent, res)) = joined else {
                continue;
            };
            self.cases += 1;
            *self.per_generator.entry(case.generator).or_default() += 1;
            if matches!(&res, Err(e) if e.kind == HttpErrorKind::BudgetExhausted) {
                break "budget";
            }
            if let Some(judged) = self.judge(&case, res) {
                self.record(&case, sent, judged);
            }
            self.progress();
        };
        set.abort_all();
        stopped_by
    }

    /// What one answer shows, if anything.
    fn judge(&mut self, case: &Case, res: Result<Exchange, HttpError>) -> Option<Judged> {
        let ex = match res {
            Err(e) if e.kind == HttpErrorKind::Timeout => {
                return Some((FindingKind::Timeout, format!("{e}"), None));
            }
            Err(e) => return Some((FindingKind::DroppedConnection, format!("{e}"), None)),
            Ok(ex) => ex,
        };
        let outcome = match case.slot {
            Slot::Token(_) | Slot::AuthHeader(_) => classify_token(self.ctx, &ex),
            _ => classify(self.ctx, &ex),
        };
        self.latencies.push(ex.elapsed_ms);
        if outcome == AccessOutcome::ServerError {
            let observed = format!("answered {}", ex.response.status);
            Some((FindingKind::ServerError, observed, Some(ex)))
        } else if case.must_deny && outcome == AccessOutcome::Allowed {
            let observed = format!("accepted with {}", ex.response.status);
            Some((FindingKind::AcceptedForgery, observed, Some(ex)))
        } else if is_outlier(&self.latencies, ex.elapsed_ms) {
            let observed = format!(
                "answered in {} ms (median {} ms)",
                ex.elapsed_ms,
                median(&self.latencies)
            );
            Some((FindingKind::SlowResponse, observed, Some(ex)))
        } else {
            None
        }
    }

    /// Counts a repeat, or keeps the first instance of a finding (secrets redacted) and
    /// reports it.
    fn record(&mut self, case: &Case, sent: ProbeRequest, (kind, observed, ex): Judged) {
        let key = (kind, case.generator);
        if let Some(i) = self.seen.get(&key) {
            self.findings[*i].occurrences += 1;
            return;
        }
        let redactor = self.ctx.client.redactor();
        let (Slot::Token(v) | Slot::Session(v) | Slot::AuthHeader(v) | Slot::DuplicateCookie(v)) =
            &case.slot;
        if case.secret {
            self.ctx.register_secret(v, "fuzz-case");
        }
        let evidence = ex.as_ref().map(|e| {
            let step = redactor.redact(&format!("fuzz case: {}", case.describe));
            Evidence::new(step, e, redactor)
        });
        let curl = match &evidence {
            // A generated value that is not derived from a credential is shown as is, so the
            // curl line replays the finding; registered secrets (cookies, passwords) are
            // still replaced.
            Some(_) if !case.secret => redactor.redact(&crate::http::curl_line(&unanswered(sent))),
            Some(e) => e.curl.clone(),
            None => crate::http::curl_line(&redactor.redact_exchange(&unanswered(sent))),
        };
        let f = Finding {
            kind,
            generator: case.generator,
            case: redactor.redact(&case.describe),
            value: (!case.secret).then(|| redactor.redact(v)),
            observed: redactor.redact(&observed),
            evidence,
            curl,
            occurrences: 1,
        };
        (self.events)(&FuzzEvent::Found(Box::new(f.clone())));
        self.seen.insert(key, self.findings.len());
        self.findings.push(f);
    }

    /// A progress event at most once a second.
    fn progress(&mut self) {
        if self.last_progress.elapsed() >= Duration::from_secs(1) {
            self.last_progress = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            (self.events)(&FuzzEvent::Progress {
                cases: self.cases,
                rate: self.cases as f64 / secs,
                findings: self.findings.len(),
            });
        }
    }
}

/// Returns once `stop` is set (never when its sender is gone unset).
async fn stop_signalled(stop: &mut tokio::sync::watch::Receiver<bool>) {
    if stop.wait_for(|stopped| *stopped).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A request with no answer, for building its curl line.
fn unanswered(request: ProbeRequest) -> Exchange {
    Exchange {
        request,
        response: crate::http::Response {
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
            truncated: false,
        },
        elapsed_ms: 0,
        retried: None,
    }
}

fn median(v: &[u64]) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    s[s.len() / 2]
}

/// A response is an outlier when, after 200 samples, it took over a second and more than
/// twenty times the median: conservative, so a loopback service never trips it by noise.
fn is_outlier(latencies: &[u64], ms: u64) -> bool {
    if latencies.len() < 200 || ms < 1000 {
        return false;
    }
    // Sample the median cheaply from the last 1000 answers.
    let tail = &latencies[latencies.len().saturating_sub(1000)..];
    ms > median(tail).max(1) * 20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_need_many_samples_a_second_and_twenty_medians() {
        let fast = vec![5u64; 300];
        assert!(!is_outlier(&fast[..100], 5000));
        assert!(is_outlier(&fast, 1500));
        assert!(!is_outlier(&fast, 90));
        let slowish = vec![100u64; 300];
        assert!(!is_outlier(&slowish, 1500));
    }
}
