//! Live fuzzing (`authprobe fuzz`): generated malformed and adversarial credentials sent to
//! the target's protected requests until a duration, the request budget or a stop signal.
//!
//! Cases come from seeded generators in turn: malformed tokens, mutated live tokens,
//! type-confused and duplicated claims under the original signature, mutated and malformed
//! session ids, duplicated cookies and odd `Authorization` headers. Every answer is judged:
//! a 5xx, a timeout, a dropped connection, a credential that must be refused but was
//! accepted, or a response-time outlier is a finding. Findings are deduplicated by kind and
//! generator; the first instance of each is kept with its request (secrets redacted) and a
//! curl line. The engine only emits events; the binary writes files and prints.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::Serialize;

use super::browser::{AccessOutcome, Browser, Ctx, classify};
use super::token::classify_token;
use super::{Baseline, Evidence, RunError, preflight};
use crate::http::{Client, Exchange, HttpErrorKind, ProbeRequest};
use crate::profile::Target;
use crate::strategy::{self as generate, MutationKind};

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
    /// Why the run stopped: `duration`, `budget` or `interrupted`.
    pub stopped_by: String,
    /// Cases per generator.
    pub per_generator: BTreeMap<&'static str, u64>,
    /// Distinct findings.
    pub findings: Vec<Finding>,
}

impl FuzzReport {
    /// Exit code: 1 with findings, 0 without.
    pub fn exit_code(&self) -> i32 {
        if self.findings.is_empty() { 0 } else { 1 }
    }
}

/// Where a case goes.
#[derive(Debug, Clone)]
enum Slot {
    /// Replaces the access token.
    Token(String),
    /// Replaces the session cookie's value.
    Session(String),
    /// Extra raw header on the token request (with the token removed).
    AuthHeader(String),
    /// Two session cookies with different values.
    DuplicateCookie(String),
}

struct Case {
    generator: &'static str,
    slot: Slot,
    /// Must the target refuse it?
    must_deny: bool,
    /// Derived from a live credential (so never shown unredacted).
    secret: bool,
    describe: String,
}

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s.as_bytes())
}

/// Type-confused and duplicated claims under the original header and signature.
fn confused_claims(token: &str, n: u64) -> String {
    let mut parts = token.splitn(3, '.');
    let header = parts.next().unwrap_or("");
    let _payload = parts.next();
    let sig = parts.next().unwrap_or("");
    let bodies = [
        r#"{"sub":["alice","admin"],"exp":"9999999999"}"#,
        r#"{"sub":{"$ne":null},"exp":1e308}"#,
        r#"{"sub":"alice","sub":"admin","exp":4102444800}"#,
        r#"{"sub":null,"exp":-1,"nbf":"now"}"#,
        r#"{"sub":"alice","aud":[[[[[[[["x"]]]]]]]],"exp":4102444800}"#,
        r#"{"sub":"\u0000admin","exp":4102444800,"role":"admin"}"#,
        r#"{"exp":true,"iat":{},"iss":12}"#,
        r#"[{"sub":"alice"}]"#,
    ];
    let body = bodies[(n as usize) % bodies.len()];
    format!("{header}.{}.{sig}", b64(body))
}

fn odd_auth_header(token: &str, n: u64) -> String {
    let big = "A".repeat(8192);
    let options = [
        "Bearer".to_string(),
        "Bearer ".to_string(),
        format!("bearer {token}"),
        format!("Bearer  {token}"),
        format!("Bearer {token} {token}"),
        format!("Basic {}", b64("alice:alice")),
        format!("Bearer {big}"),
        "Bearer null".to_string(),
        "Bearer undefined".to_string(),
        format!("Token {token}"),
    ];
    options[(n as usize) % options.len()].clone()
}

struct Generators {
    runner: TestRunner,
    token: Option<String>,
    session: Option<String>,
    token_mut: Option<proptest::strategy::BoxedStrategy<generate::MutatedId>>,
    session_mut: Option<proptest::strategy::BoxedStrategy<generate::MutatedId>>,
    malformed: proptest::strategy::BoxedStrategy<String>,
    n: u64,
}

impl Generators {
    fn new(seed: u64, baseline: &Baseline, has_session: bool) -> Generators {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_le_bytes());
        s[8..16].copy_from_slice(&seed.rotate_left(29).to_le_bytes());
        let config = Config {
            failure_persistence: None,
            ..Config::default()
        };
        let kinds = &MutationKind::ALL;
        let token = baseline.token.as_ref().map(|t| t.token.clone());
        let session = has_session
            .then(|| baseline.session.as_ref().map(|s| s.session_id.clone()))
            .flatten()
            .filter(|s| !s.is_empty());
        Generators {
            runner: TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &s)),
            token_mut: token
                .as_ref()
                .map(|t| generate::session_id_mutations(t, kinds, 3)),
            session_mut: session
                .as_ref()
                .map(|t| generate::session_id_mutations(t, kinds, 3)),
            malformed: generate::malformed_tokens(16 * 1024),
            token,
            session,
            n: 0,
        }
    }

    fn next(&mut self) -> Option<Case> {
        for _ in 0..8 {
            self.n += 1;
            let n = self.n;
            let pick = n % 7;
            let case = match pick {
                0 | 1 if self.token.is_some() => {
                    let v = self.malformed.new_tree(&mut self.runner).ok()?.current();
                    Some(Case {
                        generator: "malformed_token",
                        describe: format!("malformed token of {} bytes", v.len()),
                        slot: Slot::Token(v),
                        must_deny: true,
                        secret: false,
                    })
                }
                2 if self.token_mut.is_some() => {
                    let m = self
                        .token_mut
                        .as_ref()?
                        .new_tree(&mut self.runner)
                        .ok()?
                        .current();
                    let token = self.token.clone().unwrap_or_default();
                    Some(Case {
                        generator: "mutated_token",
                        describe: m.describe(&token),
                        slot: Slot::Token(m.value),
                        must_deny: true,
                        secret: true,
                    })
                }
                3 if self.token.is_some() => {
                    let t = confused_claims(self.token.as_deref().unwrap_or(""), n / 7);
                    Some(Case {
                        generator: "type_confused_claims",
                        describe: "type-confused or duplicated claims under the original signature"
                            .into(),
                        slot: Slot::Token(t),
                        must_deny: true,
                        secret: true,
                    })
                }
                4 if self.token.is_some() => {
                    let h = odd_auth_header(self.token.as_deref().unwrap_or(""), n / 7);
                    let accepted_ok = h.starts_with("bearer ") || h.starts_with("Bearer  ");
                    Some(Case {
                        generator: "odd_authorization_header",
                        describe: format!(
                            "Authorization header variant {} ({} bytes)",
                            (n / 7) % 10,
                            h.len()
                        ),
                        slot: Slot::AuthHeader(h),
                        // A case-insensitive scheme or extra space with the real token may be
                        // accepted (RFC 6750 allows it); the others must not be.
                        must_deny: !accepted_ok,
                        secret: true,
                    })
                }
                5 if self.session_mut.is_some() => {
                    let m = self
                        .session_mut
                        .as_ref()?
                        .new_tree(&mut self.runner)
                        .ok()?
                        .current();
                    let s = self.session.clone().unwrap_or_default();
                    Some(Case {
                        generator: "mutated_session_id",
                        describe: m.describe(&s),
                        slot: Slot::Session(m.value),
                        must_deny: true,
                        secret: true,
                    })
                }
                6 if self.session.is_some() => {
                    let v = self.malformed.new_tree(&mut self.runner).ok()?.current();
                    if n.is_multiple_of(3) {
                        Some(Case {
                            generator: "duplicate_session_cookie",
                            describe:
                                "the session cookie twice: a garbage value first, then the real one"
                                    .into(),
                            slot: Slot::DuplicateCookie(v),
                            must_deny: false,
                            secret: true,
                        })
                    } else {
                        Some(Case {
                            generator: "malformed_session_id",
                            describe: format!("malformed session id of {} bytes", v.len()),
                            slot: Slot::Session(v),
                            must_deny: true,
                            secret: false,
                        })
                    }
                }
                _ => None,
            };
            if case.is_some() {
                return case;
            }
        }
        None
    }
}

/// Builds the request for a case.
fn request_for(
    ctx: &Ctx,
    baseline_vars: &crate::profile::Vars,
    jar: &super::Jar,
    case: &Case,
) -> Option<(ProbeRequest, bool)> {
    let token_spec = ctx.target.token.as_ref();
    match &case.slot {
        Slot::Token(v) => {
            let t = token_spec?;
            let mut vars = baseline_vars.clone();
            vars.insert(t.from.clone(), v.clone());
            Some((Browser::build(ctx, &t.access.request, &vars).ok()?, true))
        }
        Slot::AuthHeader(h) => {
            let t = token_spec?;
            let mut r = t.access.request.clone();
            r.headers
                .retain(|k, _| !k.eq_ignore_ascii_case("authorization"));
            let mut req = Browser::build(ctx, &r, baseline_vars).ok()?;
            req = req.header("Authorization", h.clone());
            Some((req, true))
        }
        Slot::Session(v) => {
            let mut j = jar.clone();
            j.insert(ctx.session_cookie.clone(), v.clone());
            let req = Browser::build(
                ctx,
                &ctx.target.session_access()?.request,
                &crate::profile::Vars::new(),
            )
            .ok()?;
            let cookie = j
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            Some((req.header("Cookie", cookie), false))
        }
        Slot::DuplicateCookie(v) => {
            let real = jar.get(&ctx.session_cookie)?.clone();
            let req = Browser::build(
                ctx,
                &ctx.target.session_access()?.request,
                &crate::profile::Vars::new(),
            )
            .ok()?;
            let cookie = format!("{0}={v}; {0}={real}", ctx.session_cookie);
            Some((req.header("Cookie", cookie), false))
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
        b.login(&ctx, "alice", &mut t)
            .await
            .map_err(RunError::from)?;
    }
    if target.token.is_some() {
        b.token_login(&ctx, "alice", &mut t)
            .await
            .map_err(RunError::from)?;
    }
    let mut gens = Generators::new(options.seed, &baseline, has_session);
    let deadline = started + options.duration;
    let mut cases = 0u64;
    let mut per_generator: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut seen: BTreeMap<(FindingKind, &'static str), usize> = BTreeMap::new();
    let mut latencies: Vec<u64> = Vec::new();
    let mut last_progress = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let concurrency = options.concurrency.clamp(1, 32);
    let stopped_by;
    loop {
        if *stop.borrow() {
            stopped_by = "interrupted";
            break;
        }
        if Instant::now() >= deadline {
            stopped_by = "duration";
            break;
        }
        while set.len() < concurrency {
            let Some(case) = gens.next() else { break };
            let Some((req, _)) = request_for(&ctx, &b.vars, &b.jar, &case) else {
                continue;
            };
            let client = ctx.client.clone();
            set.spawn(async move {
                let sent = req.clone();
                let res = client.send(req).await;
                (case, sent, res)
            });
        }
        let Some(joined) = set.join_next().await else {
            stopped_by = "no cases";
            break;
        };
        let Ok((case, sent, res)) = joined else {
            continue;
        };
        cases += 1;
        *per_generator.entry(case.generator).or_default() += 1;
        let verdict: Option<(FindingKind, String, Option<Exchange>)> = match res {
            Err(e) if e.kind == HttpErrorKind::BudgetExhausted => {
                stopped_by = "budget";
                break;
            }
            Err(e) if e.kind == HttpErrorKind::Timeout => {
                Some((FindingKind::Timeout, format!("{e}"), None))
            }
            Err(e) if e.kind == HttpErrorKind::Connect => {
                Some((FindingKind::DroppedConnection, format!("{e}"), None))
            }
            Err(e) => Some((FindingKind::DroppedConnection, format!("{e}"), None)),
            Ok(ex) => {
                let outcome = match case.slot {
                    Slot::Token(_) | Slot::AuthHeader(_) => classify_token(&ctx, &ex),
                    _ => classify(&ctx, &ex),
                };
                latencies.push(ex.elapsed_ms);
                let slow = is_outlier(&latencies, ex.elapsed_ms);
                if outcome == AccessOutcome::ServerError {
                    Some((
                        FindingKind::ServerError,
                        format!("answered {}", ex.response.status),
                        Some(ex),
                    ))
                } else if case.must_deny && outcome == AccessOutcome::Allowed {
                    Some((
                        FindingKind::AcceptedForgery,
                        format!("accepted with {}", ex.response.status),
                        Some(ex),
                    ))
                } else if slow {
                    Some((
                        FindingKind::SlowResponse,
                        format!(
                            "answered in {} ms (median {} ms)",
                            ex.elapsed_ms,
                            median(&latencies)
                        ),
                        Some(ex),
                    ))
                } else {
                    None
                }
            }
        };
        if let Some((kind, observed, ex)) = verdict {
            let key = (kind, case.generator);
            if let Some(i) = seen.get(&key) {
                findings[*i].occurrences += 1;
            } else {
                let redactor = ctx.client.redactor();
                if case.secret
                    && let Slot::Token(v)
                    | Slot::Session(v)
                    | Slot::AuthHeader(v)
                    | Slot::DuplicateCookie(v) = &case.slot
                {
                    ctx.register_secret(v, "fuzz-case");
                }
                let evidence = ex
                    .as_ref()
                    .map(|e| Evidence::new(format!("fuzz case: {}", case.describe), e, redactor));
                let curl = match &evidence {
                    // A generated value that is not derived from a credential is shown as
                    // is, so the curl line replays the finding; registered secrets (cookies,
                    // passwords) are still replaced.
                    Some(_) if !case.secret => {
                        redactor.redact(&crate::http::curl_line(&unanswered(sent.clone())))
                    }
                    Some(e) => e.curl.clone(),
                    None => crate::http::curl_line(&redactor.redact_exchange(&unanswered(sent))),
                };
                let value = (!case.secret).then(|| match &case.slot {
                    Slot::Token(v)
                    | Slot::Session(v)
                    | Slot::AuthHeader(v)
                    | Slot::DuplicateCookie(v) => v.clone(),
                });
                let f = Finding {
                    kind,
                    generator: case.generator,
                    case: case.describe.clone(),
                    value,
                    observed,
                    evidence,
                    curl,
                    occurrences: 1,
                };
                events(&FuzzEvent::Found(Box::new(f.clone())));
                seen.insert(key, findings.len());
                findings.push(f);
            }
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            let secs = started.elapsed().as_secs_f64().max(0.001);
            events(&FuzzEvent::Progress {
                cases,
                rate: cases as f64 / secs,
                findings: findings.len(),
            });
        }
    }
    set.abort_all();
    Ok(FuzzReport {
        schema: "authprobe.fuzz/v1",
        target: target.base_url.to_string(),
        seed: options.seed,
        cases,
        duration_ms: started.elapsed().as_millis() as u64,
        stopped_by: stopped_by.to_string(),
        per_generator,
        findings,
    })
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

    #[test]
    fn confused_claims_keep_header_and_signature() {
        let t = "aGVhZA.cGF5bG9hZA.c2ln";
        for n in 0..8 {
            let c = confused_claims(t, n);
            assert!(c.starts_with("aGVhZA.") && c.ends_with(".c2ln"), "{c}");
            assert_ne!(c, t);
        }
    }
}
