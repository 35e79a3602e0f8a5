//! Every rule has a flaw that breaks it; every flaw is caught, and fails nothing outside
//! its declared list; the clean testbed passes everything.

use std::collections::BTreeSet;

use authprobe::Status;
use authprobe::demo::expectation;
use authprobe::spec;
use authprobe::testbed::Flaw;

use crate::support::{compact_catalogue, run, run_compact};

#[test]
fn every_rule_has_a_flaw_and_every_flaw_names_real_rules() {
    let catalogue = spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
    let ids: BTreeSet<&str> = catalogue.rules.iter().map(|r| r.id.as_str()).collect();
    let broken: BTreeSet<&str> = Flaw::ALL
        .iter()
        .flat_map(|&f| expectation(f).breaks.iter().copied())
        .collect();
    for id in &ids {
        assert!(
            broken.contains(id),
            "rule {id} has no testbed flaw that breaks it"
        );
    }
    for &f in Flaw::ALL {
        let e = expectation(f);
        assert!(!e.breaks.is_empty(), "flaw {f} breaks nothing");
        for id in e.breaks.iter().chain(e.may_break) {
            assert!(ids.contains(id), "flaw {f} names unknown rule {id}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_testbed_passes_every_rule() {
    let report = run(&[], &[]).await;
    for r in &report.results {
        assert_eq!(
            r.status(),
            Status::Pass,
            "{}: {:?} {:?} {:?}",
            r.id,
            r.status(),
            r.reason(),
            r.notes
        );
    }
    assert_eq!(authprobe::gate::exit_code(&report, None), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flaw_fails_its_rules_and_nothing_else() {
    for &flaw in Flaw::ALL {
        let e = expectation(flaw);
        // The rules the flaw must (or may) break run at full size; the others, checked only
        // for a verdict that stays right, with a quarter of their generated work.
        let keep: Vec<&str> = e.breaks.iter().chain(e.may_break).copied().collect();
        let report = run_compact(&[flaw], compact_catalogue(&keep)).await;
        for r in &report.results {
            let must = e.breaks.contains(&r.id.as_str());
            let may = e.may_break.contains(&r.id.as_str());
            if must {
                assert_eq!(
                    r.status(),
                    Status::Fail,
                    "flaw {flaw}: {} should fail: {:?} {:?}",
                    r.id,
                    r.reason(),
                    r.notes
                );
            } else if !may {
                // Outside the declared list a rule must not fail or error; it may be skipped
                // with a reason when the flaw removes what it needs (e.g. no JWKS keys).
                assert!(
                    matches!(r.status(), Status::Pass | Status::Skip),
                    "flaw {flaw}: {} should not fail: {:?} {:?} {:?}",
                    r.id,
                    r.status(),
                    r.reason(),
                    r.observed()
                );
                if r.status() == Status::Skip {
                    assert!(r.reason().is_some(), "a skip carries its reason");
                }
            }
        }
        assert_eq!(authprobe::gate::exit_code(&report, None), 1, "flaw {flaw}");
    }
}

mod preflight_support {
    use authprobe::RunError;
    use authprobe::testbed::TestbedConfig;

    /// The clean testbed with an edited profile.
    pub async fn run_with_profile(
        only: &[&str],
        edit: impl Fn(String) -> String,
    ) -> Result<authprobe::Report, RunError> {
        crate::support::run_with(TestbedConfig::default(), only, 3, edit, |_| {}).await
    }
}

mod preflight {
    use super::preflight_support::run_with_profile;
    use authprobe::RunError;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn session_cookie_is_detected_when_the_profile_does_not_name_it() {
        let report = run_with_profile(&["cookie.*"], |t| {
            t.replace("session:\n  cookie: __Host-session\n", "")
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            report.target.session_cookie.as_deref(),
            Some("__Host-session")
        );
        assert_eq!(authprobe::gate::exit_code(&report, None), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wrong_password_means_the_target_cannot_be_tested() {
        let err = run_with_profile(&["cookie.*"], |t| {
            t.replace("alice-demo-password", "wrong-password")
        })
        .await
        .unwrap_err();
        assert!(matches!(err, RunError::LoginFailed(_)), "{err}");
        assert_eq!(err.exit_code(), 3);
        assert!(
            !err.to_string().contains("wrong-password"),
            "no secret in messages: {err}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_allowed_classifier_that_never_matches_stops_the_run_instead_of_passing() {
        let err = run_with_profile(&["cookie.*"], |t| {
            t.replace(r#"body_contains: '"user"'"#, "body_contains: 'never-there'")
        })
        .await
        .unwrap_err();
        assert_eq!(err.exit_code(), 3, "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rule_whose_capability_is_missing_is_skipped_with_the_reason() {
        let report = run_with_profile(&["cookie.*"], |t| {
            let start = t.find("  logout:\n").unwrap();
            let end = t.find("  logout_everywhere:\n").unwrap();
            format!("{}{}", &t[..start], &t[end..])
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let r = report
            .results
            .iter()
            .find(|r| r.id == "cookie.cleared-on-logout")
            .unwrap();
        assert_eq!(r.status(), authprobe::Status::Skip);
        assert!(
            r.reason().as_deref().unwrap_or("").contains("logout"),
            "{:?}",
            r.reason()
        );
    }
}

mod profiles {
    use super::preflight_support::run_with_profile;
    use authprobe::Status;

    const FORM_LOGIN: &str = r#"  login:
    - request: {method: GET, path: /api/csrf}
      extract: {csrf: "json:/csrf_token"}
    - request:
        method: POST
        path: /api/login
        form: {username: "{{user.username}}", password: "{{user.password}}", csrf_token: "{{csrf}}"}
      expect_status: [303]
"#;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn form_login_with_a_csrf_field_works() {
        let report = run_with_profile(&["cookie.*", "session.revoked-on-logout"], |t| {
            let start = t.find("  login:\n").unwrap();
            let end = t.find("  logout:\n").unwrap();
            format!("{}{FORM_LOGIN}{}", &t[..start], &t[end..])
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        for r in &report.results {
            assert_eq!(r.status(), Status::Pass, "{}: {:?}", r.id, r.reason());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answer_matching_neither_classifier_is_inconclusive_never_a_pass() {
        let report = run_with_profile(
            &["session.revoked-on-logout", "session.tamper-rejected"],
            |t| t.replace("denied: {status: [401]}", "denied: {status: [403]}"),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        for r in &report.results {
            assert_eq!(
                r.status(),
                Status::Inconclusive,
                "{}: {:?}",
                r.id,
                r.reason()
            );
        }
        assert_eq!(authprobe::gate::exit_code(&report, None), 3);
    }
}

mod keyless_expiry {
    use authprobe::Status;
    use authprobe::spec;
    use authprobe::testbed::{Flaw, TestbedConfig};

    /// Runs jwt.expired-rejected with the profile's signing keys removed.
    async fn run(ttl: u64, flaws: &[Flaw]) -> authprobe::RuleResult {
        let config = TestbedConfig {
            flaws: flaws.iter().copied().collect(),
            access_token_ttl: Some(ttl),
            ..TestbedConfig::default()
        };
        let keyless = |text: String| {
            let cut = text
                .find("  signing_keys:")
                .expect("the testbed profile has signing keys");
            format!("{}\n", &text[..cut])
        };
        let set_wait =
            |t: &mut authprobe::profile::Target| t.policy.max_wait = Some(spec::Seconds(5));
        let report =
            crate::support::run_with(config, &["jwt.expired-rejected"], 1, keyless, set_wait)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        report.results.into_iter().next().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_key_a_short_lived_token_is_watched_until_it_expires() {
        let r = run(2, &[]).await;
        assert_eq!(r.status(), Status::Pass, "{:?} {:?}", r.reason(), r.notes);
        assert!(
            r.notes.iter().any(|n| n.contains("waited")),
            "{:?}",
            r.notes
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_key_an_expired_token_that_still_works_fails() {
        let r = run(2, &[Flaw::JwtExpiredAccepted]).await;
        assert_eq!(r.status(), Status::Fail, "{:?} {:?}", r.reason(), r.notes);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_key_a_long_lived_token_is_skipped_with_the_reason() {
        let r = run(300, &[]).await;
        assert_eq!(r.status(), Status::Skip);
        assert!(
            r.reason().as_deref().unwrap_or("").contains("max_wait"),
            "{:?}",
            r.reason()
        );
    }
}

mod opaque_keyless {
    use authprobe::Status;
    use authprobe::testbed::{Quirk, TestbedConfig};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_opaque_token_says_so_before_asking_for_a_signing_key() {
        let config = TestbedConfig::default().with_quirk(Quirk::OpaqueAccessTokens);
        let keyless = |text: String| {
            let cut = text
                .find("  signing_keys:")
                .expect("the testbed profile has signing keys");
            format!("{}\n", &text[..cut])
        };
        let only = [
            "jwt.not-before-enforced",
            "jwt.audience-enforced",
            "jwt.issuer-enforced",
        ];
        let report = crate::support::run_with(config, &only, 1, keyless, |_| {})
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.results.len(), only.len());
        for r in &report.results {
            let reason = r.reason().unwrap_or_default();
            assert_eq!(r.status(), Status::Skip, "{}: {reason}", r.id);
            assert!(reason.contains("opaque"), "{}: {reason}", r.id);
            assert!(!reason.contains("signing"), "{}: {reason}", r.id);
        }
    }
}

mod token_only {
    use authprobe::Status;
    use authprobe::testbed::{Flaw, TestbedConfig};

    /// The testbed profile without its cookie session: a token-only API.
    fn token_only(text: String) -> String {
        let start = text
            .find("\nsession:")
            .expect("the testbed profile has a session");
        let end = text
            .find("\n# Access tokens from")
            .expect("the testbed profile has a token section");
        format!("{}{}", &text[..start], &text[end..])
    }

    async fn status(flaws: &[Flaw], id: &str) -> (Status, Option<String>) {
        let config = TestbedConfig {
            flaws: flaws.iter().copied().collect(),
            ..TestbedConfig::default()
        };
        let report = crate::support::run_with(config, &[id], 1, token_only, |_| {})
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(report.target.session_cookie.is_none(), "no cookie session");
        let r = &report.results[0];
        (r.status(), r.reason())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn headers_rules_run_on_a_token_only_service() {
        for (id, flaw) in [
            ("transport.csp", Flaw::NoCsp),
            ("transport.api-headers", Flaw::ApiHeadersMissing),
        ] {
            let (clean, why) = status(&[], id).await;
            assert_eq!(clean, Status::Pass, "{id}: {why:?}");
            let (flawed, why) = status(&[flaw], id).await;
            assert_eq!(flawed, Status::Fail, "{id} with {flaw}: {why:?}");
        }
    }
}

/// `transport.csp` judges every HTML page the run received, not only the profile's `pages`.
mod discovered_pages {
    use authprobe::Status;
    use authprobe::testbed::{Flaw, TestbedConfig};

    /// The testbed profile with no configured pages and, when `account`, the HTML account page
    /// as the protected resource (so the run receives it logged in).
    fn edit(account: bool) -> impl Fn(String) -> String {
        move |text: String| {
            let text = format!("{text}\npages: []\n");
            if !account {
                return text;
            }
            let old = "request: {method: GET, path: /api/me}\n    allowed: {status: [200], body_contains: '\"user\"'}";
            assert!(text.contains(old), "the testbed profile's access flow");
            text.replace(
                old,
                "request: {method: GET, path: /account}\n    allowed: {status: [200], body_contains: 'Signed in as'}",
            )
        }
    }

    async fn csp(flaws: &[Flaw], account: bool) -> (Status, String) {
        let config = TestbedConfig {
            flaws: flaws.iter().copied().collect(),
            ..TestbedConfig::default()
        };
        let report = crate::support::run_with(config, &["transport.csp"], 1, edit(account), |_| {})
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let r = crate::support::result(&report, "transport.csp");
        (r.status(), crate::support::details(r))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_seen_logged_in_is_judged() {
        let (status, details) = csp(&[], true).await;
        assert_eq!(status, Status::Pass, "{details}");
        assert!(
            details.contains("/account (seen during the run)"),
            "{details}"
        );
        for flaw in [Flaw::NoCsp, Flaw::CspUnsafeInline] {
            let (status, details) = csp(&[flaw], true).await;
            assert_eq!(status, Status::Fail, "{flaw}: {details}");
            assert!(details.contains("/account:"), "{flaw}: {details}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_any_html_page_the_rule_is_skipped_not_passed() {
        let (status, details) = csp(&[Flaw::NoCsp], false).await;
        assert_eq!(status, Status::Skip, "{details}");
        assert!(details.contains("no HTML page"), "{details}");
    }
}
