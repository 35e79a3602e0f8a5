//! The run budget (`--budget`, `limits.budget`) against the testbed with slow logins: the
//! run fits, says what it cut, and never passes what it could not finish.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use authprobe::demo::expectation;
use authprobe::profile::{TESTBED_PROFILE, parse_profile};
use authprobe::testbed::{self, Flaw, Quirk, TestbedConfig};
use authprobe::{ClientConfig, Inconclusive, Outcome, Report, RunOptions, Status};

use crate::support::{SEED, builtin, details, result};

/// What a budgeted run against a fresh testbed gave: the report, the wall time of the run
/// and the password checks (logins) the testbed did.
struct Run {
    report: Report,
    wall: Duration,
    logins: u64,
}

/// The testbed with the `slow-logins` quirk at `delay` per password check (one at a time).
fn slow(delay: Duration) -> TestbedConfig {
    TestbedConfig {
        quirks: BTreeSet::from([Quirk::SlowLogins]),
        slow_login: Some(delay),
        ..TestbedConfig::default()
    }
}

/// Runs `only` against a fresh testbed with `config`, with the testbed profile plus
/// `profile_extra`, and `budget` as `--budget` would give it.
async fn run(
    config: TestbedConfig,
    only: &[&str],
    profile_extra: &str,
    budget: Option<Duration>,
) -> Run {
    let bed = testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config.clone())
        .await
        .expect("testbed starts");
    let text = TESTBED_PROFILE.replace("http://127.0.0.1:8080", &bed.base_url()) + profile_extra;
    let target = parse_profile(&text, Path::new("budget.yaml"))
        .and_then(|p| p.load_secrets())
        .unwrap_or_else(|d| panic!("{d}"));
    let catalogue = builtin();
    let options = RunOptions {
        seed: SEED,
        only: only.iter().map(|s| s.to_string()).collect(),
        budget,
        ..RunOptions::default()
    };
    let started = Instant::now();
    let (target, client) = target
        .resolve(ClientConfig::default())
        .await
        .expect("the target resolves");
    let report = authprobe::run(&catalogue, target, client, &options, &|_| {})
        .await
        .expect("the run completes");
    let wall = started.elapsed();
    let logins = bed.password_checks();
    bed.shutdown().await;
    Run {
        report,
        wall,
        logins,
    }
}

fn budget_ended(r: &authprobe::RuleResult) -> bool {
    matches!(r.outcome, Outcome::Inconclusive(Inconclusive::Budget(_)))
}

/// The "done when": logins of about a second, one at a time; `--budget 60s` ends
/// within the budget with the verdicts of an unbounded run (on the clean testbed every rule
/// passes: `demo::expectation` lists no rule for it), and the run's own accounting says what
/// was cut. Unbounded, these rules log in about 330 times (5.5 min at 1 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_60s_budget_holds_slow_logins_with_the_unbounded_verdicts() {
    let only = [
        "session.model",
        "refresh.model",
        "session.tamper-rejected",
        "jwt.tamper-rejected",
        "session.revoked-on-logout",
        "cookie.http-only",
    ];
    let budget = Duration::from_secs(60);
    let run = run(slow(Duration::from_secs(1)), &only, "", Some(budget)).await;
    let report = &run.report;
    for id in only {
        let r = result(report, id);
        assert_eq!(r.status(), Status::Pass, "{}", details(r));
    }
    let plan = report
        .target
        .limits
        .budget
        .as_ref()
        .expect("the plan is reported");
    assert_eq!(plan.budget_ms, 60_000);
    assert!(plan.login_ms >= 1000, "{plan:?}");
    assert!(
        plan.spent_ms + plan.planned_ms <= plan.budget_ms,
        "planned within the budget: {plan:?}"
    );
    assert!(plan.unbounded_ms > plan.budget_ms * 3, "{plan:?}");
    assert!(report.duration_ms <= 60_000, "{} ms", report.duration_ms);
    assert!(
        run.wall < budget + Duration::from_secs(15),
        "{:?}",
        run.wall
    );
    // Each login holds the one worker for a second: the run paid for fewer than fit.
    assert!(run.logins <= 60, "{} logins", run.logins);
    // The model rules were cut, and say so (never silently less coverage).
    for id in ["session.model", "refresh.model"] {
        let r = result(report, id);
        let c = r.coverage.expect("coverage under a budget");
        assert!(c.ran < c.requested && c.ran >= 4, "{id}: {c:?}");
        let said = format!(
            "ran {} of {} requested sequences (budget 60 s)",
            c.ran, c.requested
        );
        assert!(r.notes.contains(&said), "{id}: {:?}", r.notes);
        assert!(plan.reduced.contains(&id.to_string()), "{plan:?}");
    }
    let text = authprobe::report::human(report, None, false);
    assert!(text.contains("reduced by the budget: "), "{text}");
}

/// A budget too small for a model rule's minimum does not run it (inconclusive, with the
/// estimate); a rule still running when the budget ends is inconclusive, never passed; the
/// rules that fit pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_budget_cannot_hold_is_inconclusive_never_passed() {
    let only = ["session.model", "session.id-entropy", "cookie.http-only"];
    let budget = Duration::from_secs(10);
    let run = run(slow(Duration::from_secs(1)), &only, "", Some(budget)).await;
    let report = &run.report;
    let model = result(report, "session.model");
    assert!(budget_ended(model), "{}", details(model));
    assert!(
        model
            .reason()
            .is_some_and(|r| r.contains("minimum of 4 sequences")),
        "{}",
        details(model)
    );
    let entropy = result(report, "session.id-entropy");
    assert!(budget_ended(entropy), "{}", details(entropy));
    assert_eq!(result(report, "cookie.http-only").status(), Status::Pass);
    assert!(report.duration_ms <= 10_500, "{} ms", report.duration_ms);
    assert!(
        run.wall < budget + Duration::from_secs(10),
        "{:?}",
        run.wall
    );
    let text = authprobe::report::human(report, None, false);
    assert!(
        text.contains("inconclusive for lack of budget: session.id-entropy, session.model")
            || text.contains("inconclusive for lack of budget: session.model, session.id-entropy"),
        "{text}"
    );
}

/// `limits.budget` plans the run; `--budget` wins over it. Against a fast service nothing is
/// cut, and the property rule still says it ran all its cases.
#[tokio::test]
async fn the_option_wins_over_limits_budget_and_a_fast_service_is_not_cut() {
    let only = ["session.tamper-rejected"];
    let extra = "limits: {budget: 10m}\n";
    let from_profile = run(TestbedConfig::default(), &only, extra, None).await;
    let plan = from_profile.report.target.limits.budget.clone();
    assert_eq!(plan.map(|p| p.budget_ms), Some(600_000));
    let r = result(&from_profile.report, "session.tamper-rejected");
    let c = r.coverage.expect("coverage under a budget");
    assert_eq!(
        (r.status(), c.ran),
        (Status::Pass, c.requested),
        "{}",
        details(r)
    );
    let flag = run(
        TestbedConfig::default(),
        &only,
        extra,
        Some(Duration::from_secs(30)),
    )
    .await;
    let plan = flag.report.target.limits.budget.clone();
    assert_eq!(plan.map(|p| p.budget_ms), Some(30_000));
    let unbudgeted = run(TestbedConfig::default(), &only, "", None).await;
    assert!(unbudgeted.report.target.limits.budget.is_none());
    assert!(
        result(&unbudgeted.report, "session.tamper-rejected")
            .coverage
            .is_none()
    );
}

/// The run's own count of its logins (the `logins: N sent, M shared, …` note).
fn login_note(report: &Report) -> (u64, u64) {
    let note = report
        .target
        .limits
        .notes
        .iter()
        .find(|n| n.starts_with("logins: "))
        .unwrap_or_else(|| panic!("no logins note: {:?}", report.target.limits.notes));
    let number = |after: &str| -> u64 {
        note.split(after)
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{note}"))
    };
    (number(" sent"), number(" shared"))
}

/// The budget held and said so: planned within it, every rule admitted, the run's own
/// duration within it (10 s of slack for a loaded CI machine: the hard stop is the budget).
fn held(report: &Report, budget: Duration) {
    let plan = report
        .target
        .limits
        .budget
        .as_ref()
        .expect("the plan is reported");
    assert!(plan.not_run.is_empty(), "{plan:?}");
    assert!(
        plan.spent_ms + plan.planned_ms <= plan.budget_ms,
        "{plan:?}"
    );
    let limit = u64::try_from((budget + Duration::from_secs(10)).as_millis()).unwrap();
    assert!(report.duration_ms <= limit, "{} ms", report.duration_ms);
}

/// The "done when" for the whole catalogue: at about a second per login, one at a
/// time, `--budget 60s` ends within the budget with the verdicts of the unbounded run (every
/// rule passes on the clean testbed: `demo::expectation` names no rule without a flaw). The
/// logins the rules share and the session ids the entropy check draws from the run are what
/// make it fit (unbounded, the catalogue logs in about 500 times).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_catalogue_fits_60s_at_1s_per_login_with_the_unbounded_verdicts() {
    let budget = Duration::from_secs(60);
    let run = run(slow(Duration::from_secs(1)), &[], "", Some(budget)).await;
    let report = &run.report;
    assert_eq!(report.results.len(), builtin().rules.len());
    for r in &report.results {
        assert_eq!(r.status(), Status::Pass, "{}", details(r));
    }
    held(report, budget);
    let (sent, shared) = login_note(report);
    assert!(shared >= 20 && sent <= 60, "{sent} sent, {shared} shared");
    assert!(run.logins <= 60, "{} password checks", run.logins);
    assert_noted(
        report,
        "session.id-entropy",
        "ids the run's other logins received",
    );
    for id in ["session.model", "refresh.model"] {
        let c = result(report, id)
            .coverage
            .expect("coverage under a budget");
        assert!(c.ran >= 4, "{id}: {c:?}");
    }
}

/// Sharing never changes a verdict: under the same budget, a token flaw (an unsigned token
/// is accepted: found on the shared token, then run again on fresh logins) and a session flaw
/// (logout keeps the session) fail the rules they target, and every rule they do not touch
/// passes. (The session model, cut to its minimum, may not meet the flaw in this seed's
/// first sequences, and then passes with its coverage said; or on a loaded machine it may not
/// fit the plan and is inconclusive.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaws_under_the_budget_still_fail_their_rules() {
    let budget = Duration::from_secs(60);
    let flaws = [Flaw::JwtAlgNone, Flaw::LogoutKeepsSession];
    let config = TestbedConfig {
        flaws: flaws.into_iter().collect(),
        ..slow(Duration::from_secs(1))
    };
    let run = run(config, &[], "", Some(budget)).await;
    let report = &run.report;
    let breaks: BTreeSet<&str> = flaws
        .iter()
        .flat_map(|f| expectation(*f).breaks)
        .copied()
        .collect();
    let may: BTreeSet<&str> = flaws
        .iter()
        .flat_map(|f| expectation(*f).may_break)
        .copied()
        .collect();
    for r in &report.results {
        let id = r.id.as_str();
        // A model cut to a few of its sequences may not meet the flaw its full run finds: it
        // passes only with its coverage said (`ran 4 of 64 …`), never silently.
        // On a loaded machine the plan may not admit it at all: inconclusive, never passed.
        let cut = r.coverage.is_some_and(|c| c.ran < c.requested);
        let model = id.ends_with(".model");
        if model && (budget_ended(r) || (cut && r.status() == Status::Pass)) {
            continue;
        }
        if breaks.contains(id) {
            assert_eq!(r.status(), Status::Fail, "{}", details(r));
        } else if !may.contains(id) {
            assert_eq!(r.status(), Status::Pass, "{}", details(r));
        }
    }
    held(report, budget);
    assert_eq!(
        result(report, "session.revoked-on-logout").status(),
        Status::Fail
    );
    assert_noted(report, "jwt.alg-none-rejected", "run again on fresh logins");
}

/// Panics with the rule's details unless one of its notes contains `needle`.
fn assert_noted(report: &Report, id: &str, needle: &str) {
    let r = result(report, id);
    assert!(
        r.notes.iter().any(|n| n.contains(needle)),
        "{id}: no note with {needle:?}: {}",
        details(r)
    );
}
