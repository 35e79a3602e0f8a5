//! One module per rule: `passes_on_clean_testbed` and `fails_with_<flaw>`.

use authprobe::engine::Status;
use authprobe::testbed::Flaw;

use crate::support::{assert_status, run};

macro_rules! rule_tests {
    ($module:ident, $id:literal, $($fails:ident => $flaw:expr),+ $(,)?) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn passes_on_clean_testbed() {
                let report = run(&[], &[$id]).await;
                assert_status(&report, $id, Status::Pass);
            }

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $fails() {
                    let report = run(&[$flaw], &[$id]).await;
                    assert_status(&report, $id, Status::Fail);
                    let r = &report.results[0];
                    assert!(r.expected.is_some() && r.observed.is_some(), "a failure says what was expected and seen");
                    assert!(!r.evidence.is_empty(), "a failure carries its transcript");
                    assert!(r.evidence.iter().all(|e| e.curl.starts_with("curl ")), "every request has a curl line");
                }
            )+
        }
    };
}

rule_tests!(cookie_http_only, "cookie.http-only", fails_with_cookie_no_httponly => Flaw::CookieNoHttpOnly);
rule_tests!(cookie_secure, "cookie.secure", fails_with_cookie_no_secure => Flaw::CookieNoSecure);
rule_tests!(cookie_same_site, "cookie.same-site",
    fails_with_cookie_samesite_none => Flaw::CookieSameSiteNone,
    fails_with_cookie_no_samesite => Flaw::CookieNoSameSite);
rule_tests!(cookie_scope, "cookie.scope", fails_with_cookie_parent_domain => Flaw::CookieParentDomain);
rule_tests!(cookie_prefix, "cookie.prefix",
    fails_with_cookie_prefix_broken => Flaw::CookiePrefixBroken,
    fails_with_cookie_no_secure => Flaw::CookieNoSecure,
    fails_with_cookie_parent_domain => Flaw::CookieParentDomain);
rule_tests!(cookie_lifetime, "cookie.lifetime", fails_with_cookie_long_lived => Flaw::CookieLongLived);
rule_tests!(cookie_cleared_on_logout, "cookie.cleared-on-logout",
    fails_with_cookie_not_cleared_on_logout => Flaw::CookieNotClearedOnLogout);
rule_tests!(session_opaque_id, "session.opaque-id", fails_with_session_id_readable => Flaw::SessionIdReadable);
rule_tests!(session_id_entropy, "session.id-entropy", fails_with_session_id_predictable => Flaw::SessionIdPredictable);
rule_tests!(session_rotated_on_login, "session.rotated-on-login", fails_with_session_fixation => Flaw::SessionFixation);
rule_tests!(session_revoked_on_logout, "session.revoked-on-logout", fails_with_logout_keeps_session => Flaw::LogoutKeepsSession);
rule_tests!(session_logout_everywhere, "session.logout-everywhere",
    fails_with_logout_everywhere_partial => Flaw::LogoutEverywherePartial);
rule_tests!(session_tamper_rejected, "session.tamper-rejected", fails_with_session_prefix_match => Flaw::SessionPrefixMatch);
rule_tests!(session_not_in_url, "session.not-in-url", fails_with_session_id_in_url => Flaw::SessionIdInUrl);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_counterexample_is_shrunk_to_one_mutation_and_replays_with_the_same_seed() {
    let a = run(&[Flaw::SessionPrefixMatch], &["session.tamper-rejected"]).await;
    let b = run(&[Flaw::SessionPrefixMatch], &["session.tamper-rejected"]).await;
    let ca = a.results[0]
        .counterexample
        .as_ref()
        .expect("counterexample");
    let cb = b.results[0]
        .counterexample
        .as_ref()
        .expect("counterexample");
    assert_eq!(
        ca.input.len(),
        1,
        "shrunk to a single mutation: {:?}",
        ca.input
    );
    // The live session id differs between runs, so the characters involved do too; the
    // operators and positions are what the seed fixes.
    let shape = |input: &[String]| -> Vec<String> {
        input
            .iter()
            .map(|d| {
                let mut out = String::new();
                let mut quoted = false;
                for c in d.chars() {
                    if c == '\'' {
                        quoted = !quoted;
                        out.push(c);
                    } else {
                        out.push(if quoted { '_' } else { c });
                    }
                }
                out
            })
            .collect()
    };
    assert_eq!(
        shape(&ca.input),
        shape(&cb.input),
        "same seed, same counterexample"
    );
    assert_eq!(ca.case, cb.case);
    assert_eq!(ca.seed, crate::support::SEED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_fixation_is_shown_by_the_attackers_replay() {
    let report = run(&[Flaw::SessionFixation], &["session.rotated-on-login"]).await;
    let r = &report.results[0];
    assert_eq!(r.status, Status::Fail);
    assert!(
        r.reason.as_deref().unwrap_or("").contains("pre_login"),
        "{:?}",
        r.reason
    );
}
