//! Every rule has a flaw that breaks it; every flaw is caught, and fails nothing outside
//! its declared list; the clean testbed passes everything.

use std::collections::BTreeSet;

use authprobe::engine::Status;
use authprobe::spec;
use authprobe::testbed::Flaw;

use crate::support::run;

#[test]
fn every_rule_has_a_flaw_and_every_flaw_names_real_rules() {
    let catalogue = spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
    let ids: BTreeSet<&str> = catalogue.rules.iter().map(|r| r.id.as_str()).collect();
    let broken: BTreeSet<&str> = Flaw::ALL
        .iter()
        .flat_map(|f| f.breaks().iter().copied())
        .collect();
    for id in &ids {
        assert!(
            broken.contains(id),
            "rule {id} has no testbed flaw that breaks it"
        );
    }
    for f in Flaw::ALL {
        assert!(!f.breaks().is_empty(), "flaw {f} breaks nothing");
        for id in f.breaks().iter().chain(f.may_break()) {
            assert!(ids.contains(id), "flaw {f} names unknown rule {id}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_testbed_passes_every_rule() {
    let report = run(&[], &[]).await;
    for r in &report.results {
        assert_eq!(
            r.status,
            Status::Pass,
            "{}: {:?} {:?} {:?}",
            r.id,
            r.status,
            r.reason,
            r.notes
        );
    }
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flaw_fails_its_rules_and_nothing_else() {
    for flaw in Flaw::ALL {
        let report = run(&[*flaw], &[]).await;
        for r in &report.results {
            let must = flaw.breaks().contains(&r.id.as_str());
            let may = flaw.may_break().contains(&r.id.as_str());
            if must {
                assert_eq!(
                    r.status,
                    Status::Fail,
                    "flaw {flaw}: {} should fail: {:?} {:?}",
                    r.id,
                    r.reason,
                    r.notes
                );
            } else if !may {
                assert_eq!(
                    r.status,
                    Status::Pass,
                    "flaw {flaw}: {} should pass: {:?} {:?} {:?}",
                    r.id,
                    r.status,
                    r.reason,
                    r.observed
                );
            }
        }
        assert_eq!(report.exit_code(), 1, "flaw {flaw}");
    }
}
