//! The flaw × quirk matrix: under every quirk (a legitimate behaviour real services show) the
//! clean testbed passes or skips every rule, and every flaw the quirk does not hide still
//! fails its rules. One test runs the whole matrix, a few cells at a time.

use std::sync::Arc;
use std::time::Duration;

use authprobe::demo::{expectation, masked_by};
use authprobe::testbed::{Flaw, Quirk, TestbedConfig};
use authprobe::{Report, Status};

use crate::support::{SEED, run_demo};

/// Cells run at once (each with its own testbed on an ephemeral port).
const CELLS_IN_FLIGHT: usize = 4;

/// The testbed for one cell; slow logins are shortened so the matrix stays quick (the quirk's
/// point, logins that queue behind one worker, is kept).
fn config(quirk: Quirk, flaw: Option<Flaw>) -> TestbedConfig {
    TestbedConfig {
        flaws: flaw.into_iter().collect(),
        quirks: [quirk].into_iter().collect(),
        slow_login: Some(Duration::from_millis(5)),
        ..TestbedConfig::default()
    }
}

/// What went wrong in one cell, one line per rule.
fn problems(report: &Report, ok: impl Fn(&str, Status) -> bool) -> Vec<String> {
    report
        .results
        .iter()
        .filter(|r| !ok(&r.id, r.status()))
        .map(|r| {
            format!(
                "{}: {:?}: {}",
                r.id,
                r.status(),
                r.reason().unwrap_or_default()
            )
        })
        .collect()
}

async fn cell(quirk: Quirk, flaw: Option<Flaw>) -> Vec<String> {
    let only: Vec<&str> = flaw.map_or(Vec::new(), |f| expectation(f).breaks.to_vec());
    let name = match flaw {
        Some(f) => format!("{} + {}", quirk.name(), f.name()),
        None => quirk.name().to_string(),
    };
    let report = match run_demo(config(quirk, flaw), &only, SEED).await {
        Ok(r) => r,
        Err(e) => return vec![format!("{name}: the run failed: {e}")],
    };
    let lines = match flaw {
        // Clean + quirk: every verdict stays right: pass, or skip with a reason.
        None => problems(&report, |_, s| matches!(s, Status::Pass | Status::Skip)),
        // A flaw the quirk does not hide still fails every rule it breaks.
        Some(_) => problems(&report, |_, s| s == Status::Fail),
    };
    lines.into_iter().map(|l| format!("{name}: {l}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_quirk_keeps_every_verdict_and_every_flaw_it_does_not_hide_still_fails() {
    let mut cells: Vec<(Quirk, Option<Flaw>)> = Vec::new();
    for &quirk in Quirk::ALL {
        cells.push((quirk, None));
        for &flaw in Flaw::ALL {
            if !masked_by(quirk).contains(&flaw) {
                cells.push((quirk, Some(flaw)));
            }
        }
    }
    let total = cells.len();
    let sem = Arc::new(tokio::sync::Semaphore::new(CELLS_IN_FLIGHT));
    let mut set = tokio::task::JoinSet::new();
    for (quirk, flaw) in cells {
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            cell(quirk, flaw).await
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = set.join_next().await {
        failures.extend(done.expect("cell task"));
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {total} cells went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn quirks_hide_only_flaws_that_exist() {
    for &quirk in Quirk::ALL {
        for flaw in masked_by(quirk) {
            assert!(Flaw::ALL.contains(flaw), "{quirk}: {flaw}");
        }
    }
}
