//! Sizing a run to the service: how many rules and generated cases are in flight and the
//! per-request timeout, from the run options, the profile's `limits.concurrency` and the login
//! latency the preflight measured ([`RunLimits`], reported in the target info).
//!
//! The policy: rules in flight are the smaller of `--concurrency` and `limits.concurrency`;
//! cases of one rule in flight are as many, at most [`MAX_CASES_IN_FLIGHT`]. A service that
//! checks passwords one at a time queues concurrent logins, and up to `rules + cases − 1` of
//! them may be in flight (one rule logging in for every case, each other rule logging in
//! once). When [`SAFETY_FACTOR`] × that many × the slowest login request of the preflight
//! exceeds the timeout, the timeout is raised to it, at most to [`TIMEOUT_CAP`] (or the
//! timeout asked for, if longer); and when even that cap is too short, rules (and cases) in
//! flight are lowered until it fits. Every change is said in a note.
//!
//! It must not send requests: it reads the preflight's transcript only.

use std::time::Duration;

use serde::Serialize;

use crate::profile::FlowName;

use super::browser::Recorded;
use super::budget::human;

/// Margin between the longest expected login queue and the timeout.
pub const SAFETY_FACTOR: u32 = 2;
/// Longest per-request timeout the sizing chooses (a longer one asked for is kept).
pub const TIMEOUT_CAP: Duration = Duration::from_secs(60);
/// Most generated cases of one rule in flight.
pub const MAX_CASES_IN_FLIGHT: usize = 16;

/// How a run was sized to the service (JSON: `target.limits`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunLimits {
    /// Most rules in flight at once.
    pub rules_in_flight: usize,
    /// Most generated cases of one rule in flight at once.
    pub cases_in_flight: usize,
    /// The per-request timeout in force, in milliseconds.
    pub timeout_ms: u64,
    /// The slowest login request of the preflight, in milliseconds (absent when the
    /// preflight sent no login request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_latency_ms: Option<u64>,
    /// What was changed from the options asked for, and why, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The plan of a run with a budget (`--budget`, `limits.budget`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<super::budget::BudgetPlan>,
}

/// The slowest request of a login flow (cookie session or token) in a preflight transcript.
pub(crate) fn login_latency(transcript: &[Recorded]) -> Option<Duration> {
    let prefixes = [
        format!("{} (", FlowName::Login),
        format!("{} (", FlowName::TokenLogin),
    ];
    transcript
        .iter()
        .filter(|r| prefixes.iter().any(|p| r.label.starts_with(p.as_str())))
        .map(|r| Duration::from_millis(r.exchange.elapsed_ms))
        .max()
}

/// The median request of a preflight transcript that is not a login request (zero when it
/// has none): what one request of a rule costs, besides logins.
pub(crate) fn request_latency(transcript: &[Recorded]) -> Duration {
    let prefixes = [
        format!("{} (", FlowName::Login),
        format!("{} (", FlowName::TokenLogin),
    ];
    let mut ms: Vec<u64> = transcript
        .iter()
        .filter(|r| !prefixes.iter().any(|p| r.label.starts_with(p.as_str())))
        .map(|r| r.exchange.elapsed_ms)
        .collect();
    ms.sort_unstable();
    Duration::from_millis(ms.get(ms.len() / 2).copied().unwrap_or(0))
}

/// Sizes the run: `requested` rules in flight (`--concurrency`), the profile's
/// `limits.concurrency`, the `timeout` asked for and the measured `login_latency`.
pub(crate) fn size(
    requested: usize,
    profile_limit: Option<u16>,
    timeout: Duration,
    login_latency: Option<Duration>,
) -> RunLimits {
    let mut notes = Vec::new();
    let mut rules = requested.max(1);
    if let Some(limit) = profile_limit.map(usize::from).filter(|l| *l < rules) {
        let limit = limit.max(1);
        notes.push(format!(
            "{limit} rules in flight: the profile's limits.concurrency (the run asked for {rules})"
        ));
        rules = limit;
    }
    let mut chosen = timeout;
    if let Some(latency) = login_latency.filter(|l| !l.is_zero()) {
        let needed = |rules: usize| latency * SAFETY_FACTOR * saturating_u32(logins(rules));
        if needed(rules) > timeout {
            let cap = TIMEOUT_CAP.max(timeout);
            let asked = rules;
            while rules > 1 && needed(rules) > cap {
                rules -= 1;
            }
            chosen = needed(rules).min(cap).max(timeout);
            notes.push(format!(
                "logins take up to {} (the slowest login request of the preflight) and up to {} \
                 may queue at once ({rules} rules, {} cases of one rule): per-request timeout \
                 {} instead of {} ({SAFETY_FACTOR} × {} × {}, at most {})",
                human(latency),
                logins(rules),
                cases(rules),
                human(chosen),
                human(timeout),
                human(latency),
                logins(rules),
                human(cap),
            ));
            if rules < asked {
                notes.push(format!(
                    "{rules} rules in flight instead of {asked}, so that the login queue fits in {}",
                    human(cap)
                ));
            }
        }
    }
    RunLimits {
        rules_in_flight: rules,
        cases_in_flight: cases(rules),
        timeout_ms: u64::try_from(chosen.as_millis()).unwrap_or(u64::MAX),
        login_latency_ms: login_latency.map(|l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX)),
        notes,
        budget: None,
    }
}

/// Cases of one rule in flight when `rules` rules are.
fn cases(rules: usize) -> usize {
    rules.clamp(1, MAX_CASES_IN_FLIGHT)
}

/// Most logins in flight at once: one rule logging in for each of its cases, every other
/// rule once.
fn logins(rules: usize) -> usize {
    rules + cases(rules) - 1
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use url::Url;

    use crate::http::{Exchange, ProbeRequest, Response};

    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn recorded(label: &str, elapsed_ms: u64) -> Recorded {
        Recorded {
            label: label.to_owned(),
            exchange: Exchange {
                request: ProbeRequest::get(Url::parse("http://127.0.0.1/").unwrap()),
                response: Response {
                    status: 200,
                    headers: Vec::new(),
                    body: Vec::new(),
                    truncated: false,
                },
                elapsed_ms,
                retried: None,
            },
        }
    }

    #[test]
    fn login_latency_is_the_slowest_login_request() {
        let transcript = [
            recorded("login (preflight) request 1", 3),
            recorded("login (preflight) request 2", 152),
            recorded("access (preflight)", 900),
            recorded("token login (preflight (token))", 151),
        ];
        assert_eq!(login_latency(&transcript), Some(MS(152)));
        assert_eq!(login_latency(&transcript[2..3]), None);
        assert_eq!(request_latency(&transcript), MS(900));
        assert_eq!(request_latency(&transcript[..2]), Duration::ZERO);
    }

    #[test]
    fn a_fast_service_keeps_what_was_asked() {
        let l = size(8, None, Duration::from_secs(10), Some(MS(3)));
        assert_eq!(
            l,
            RunLimits {
                rules_in_flight: 8,
                cases_in_flight: 8,
                timeout_ms: 10_000,
                login_latency_ms: Some(3),
                notes: Vec::new(),
                budget: None,
            }
        );
        assert_eq!(size(40, None, MS(10_000), None).cases_in_flight, 16);
    }

    #[test]
    fn the_profile_limit_and_the_option_combine_by_the_smaller() {
        let l = size(8, Some(2), MS(10_000), None);
        assert_eq!((l.rules_in_flight, l.cases_in_flight), (2, 2));
        assert!(l.notes[0].contains("limits.concurrency"), "{:?}", l.notes);
        let l = size(2, Some(8), MS(10_000), None);
        assert_eq!((l.rules_in_flight, l.notes.len()), (2, 0));
    }

    #[test]
    fn slow_logins_raise_the_timeout_to_the_login_queue() {
        // 8 rules and 8 cases: up to 15 logins of 150 ms queue; 2 × 150 ms × 15 = 4.5 s.
        let l = size(8, None, Duration::from_secs(1), Some(MS(150)));
        assert_eq!((l.rules_in_flight, l.timeout_ms), (8, 4_500));
        assert_eq!(l.notes.len(), 1);
        assert!(
            l.notes[0].contains("per-request timeout 4.5 s instead of 1 s"),
            "{}",
            l.notes[0]
        );
        // With one rule in flight one login is in flight: 300 ms fit in 1 s.
        assert_eq!(
            size(1, None, Duration::from_secs(1), Some(MS(150))).timeout_ms,
            1_000
        );
    }

    #[test]
    fn very_slow_logins_lower_the_rules_in_flight_to_fit_the_cap() {
        // 5 s logins: 2 × 5 s × (2r − 1) ≤ 60 s gives r = 3 (50 s).
        let l = size(
            8,
            None,
            Duration::from_secs(10),
            Some(Duration::from_secs(5)),
        );
        assert_eq!((l.rules_in_flight, l.cases_in_flight), (3, 3));
        assert_eq!(l.timeout_ms, 50_000);
        assert!(
            l.notes[1].contains("3 rules in flight instead of 8"),
            "{:?}",
            l.notes
        );
        // Logins slower than the cap allows even alone: one rule, the cap.
        let l = size(
            8,
            None,
            Duration::from_secs(10),
            Some(Duration::from_secs(40)),
        );
        assert_eq!((l.rules_in_flight, l.timeout_ms), (1, 60_000));
        // A timeout asked for above the cap is never lowered.
        let l = size(
            8,
            None,
            Duration::from_secs(600),
            Some(Duration::from_secs(40)),
        );
        assert_eq!(l.timeout_ms, 600_000);
    }
}
