//! One module per catalogue rule, named after its id (`.` and `-` become `_`), with
//! `passes_on_clean_testbed` and one `fails_with_<flaw>` per testbed flaw that must break it,
//! so `cargo test refresh_reuse_revokes_family` runs that rule's pass and fail tests. Two tests
//! keep the modules honest: every catalogue rule selects at least two tests by its id, and each
//! module's flaws are exactly the flaws whose demo expectation breaks the rule.

use std::collections::{BTreeMap, BTreeSet};

use authprobe::Status;
use authprobe::demo::expectation;
use authprobe::spec;
use authprobe::testbed::Flaw;

use crate::support::{assert_status, run};

/// What one `rule_modules!` entry declares: its module, its rule and its fail tests.
struct RuleModule {
    /// The module name.
    module: &'static str,
    /// The rule id the module tests.
    id: &'static str,
    /// Each fail test's name with the flaw it runs against.
    fails: &'static [(&'static str, Flaw)],
}

/// Declares every rule module (one testbed per test, the run limited to that rule) and
/// [`RULE_MODULES`], the list the consistency tests read.
macro_rules! rule_modules {
    ($($module:ident $id:literal { $($fails:ident => $flaw:ident),+ $(,)? })+) => {
        /// Every rule module, as declared.
        const RULE_MODULES: &[RuleModule] = &[$(
            RuleModule {
                module: stringify!($module),
                id: $id,
                fails: &[$((stringify!($fails), Flaw::$flaw)),+],
            },
        )+];

        $(
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
                        let report = run(&[Flaw::$flaw], &[$id]).await;
                        assert_status(&report, $id, Status::Fail);
                        let r = &report.results[0];
                        assert!(r.expected().is_some() && r.observed().is_some(), "a failure says what was expected and seen");
                        assert!(!r.evidence.is_empty(), "a failure carries its transcript");
                        assert!(r.evidence.iter().all(|e| e.curl.starts_with("curl ")), "every request has a curl line");
                    }
                )+
            }
        )+
    };
}

rule_modules! {
    cookie_http_only "cookie.http-only" {
        fails_with_cookie_no_httponly => CookieNoHttpOnly,
    }
    cookie_secure "cookie.secure" {
        fails_with_cookie_no_secure => CookieNoSecure,
    }
    cookie_same_site "cookie.same-site" {
        fails_with_cookie_samesite_none => CookieSameSiteNone,
        fails_with_cookie_no_samesite => CookieNoSameSite,
        fails_with_csrf_unprotected => CsrfUnprotected,
    }
    cookie_scope "cookie.scope" {
        fails_with_cookie_parent_domain => CookieParentDomain,
    }
    cookie_prefix "cookie.prefix" {
        fails_with_cookie_prefix_broken => CookiePrefixBroken,
        fails_with_cookie_no_secure => CookieNoSecure,
        fails_with_cookie_parent_domain => CookieParentDomain,
    }
    cookie_lifetime "cookie.lifetime" {
        fails_with_cookie_long_lived => CookieLongLived,
    }
    cookie_cleared_on_logout "cookie.cleared-on-logout" {
        fails_with_cookie_not_cleared_on_logout => CookieNotClearedOnLogout,
    }

    session_opaque_id "session.opaque-id" {
        fails_with_session_id_readable => SessionIdReadable,
        fails_with_session_id_flask => SessionIdFlask,
        fails_with_session_id_django => SessionIdDjango,
        fails_with_session_id_rails => SessionIdRails,
        fails_with_session_id_php_serialized => SessionIdPhpSerialized,
        fails_with_session_id_java_serialized => SessionIdJavaSerialized,
        fails_with_session_id_msgpack => SessionIdMsgpack,
        fails_with_session_id_cbor => SessionIdCbor,
    }
    session_id_entropy "session.id-entropy" {
        fails_with_session_id_predictable => SessionIdPredictable,
    }
    session_rotated_on_login "session.rotated-on-login" {
        fails_with_session_fixation => SessionFixation,
    }
    session_revoked_on_logout "session.revoked-on-logout" {
        fails_with_logout_keeps_session => LogoutKeepsSession,
        fails_with_replica_local_revocation => ReplicaLocalRevocation,
    }
    session_logout_everywhere "session.logout-everywhere" {
        fails_with_logout_everywhere_partial => LogoutEverywherePartial,
        fails_with_replica_local_revocation => ReplicaLocalRevocation,
    }
    session_tamper_rejected "session.tamper-rejected" {
        fails_with_session_prefix_match => SessionPrefixMatch,
    }
    session_not_in_url "session.not-in-url" {
        fails_with_session_id_in_url => SessionIdInUrl,
    }
    session_model "session.model" {
        fails_with_logout_keeps_session => LogoutKeepsSession,
        fails_with_logout_everywhere_partial => LogoutEverywherePartial,
    }

    jwt_payload_no_secrets "jwt.payload-no-secrets" {
        fails_with_jwt_secret_in_payload => JwtSecretInPayload,
        fails_with_id_token_secret_in_payload => IdTokenSecretInPayload,
    }
    jwt_payload_no_personal_data "jwt.payload-no-personal-data" {
        fails_with_jwt_pii_in_payload => JwtPiiInPayload,
    }
    jwt_expiry_present "jwt.expiry-present" {
        fails_with_jwt_no_exp => JwtNoExp,
    }
    jwt_short_lived "jwt.short-lived" {
        fails_with_jwt_long_lived => JwtLongLived,
        fails_with_jwt_no_exp => JwtNoExp,
        fails_with_id_token_long_lived => IdTokenLongLived,
    }
    jwt_alg_none_rejected "jwt.alg-none-rejected" {
        fails_with_jwt_alg_none => JwtAlgNone,
    }
    jwt_signature_required "jwt.signature-required" {
        fails_with_jwt_signature_unchecked => JwtSignatureUnchecked,
        fails_with_id_token_signature_unchecked => IdTokenSignatureUnchecked,
    }
    jwt_tamper_rejected "jwt.tamper-rejected" {
        fails_with_jwt_signature_unchecked => JwtSignatureUnchecked,
        fails_with_id_token_signature_unchecked => IdTokenSignatureUnchecked,
    }
    jwt_key_confusion_rejected "jwt.key-confusion-rejected" {
        fails_with_jwt_key_confusion => JwtKeyConfusion,
    }
    jwt_weak_secret "jwt.weak-secret" {
        fails_with_jwt_weak_secret => JwtWeakSecret,
    }
    jwt_jwks_sound "jwt.jwks-sound" {
        fails_with_jwks_enc_key_signs => JwksEncKeySigns,
        fails_with_jwks_publishes_secret => JwksPublishesSecret,
        fails_with_jwks_roca_key => JwksRocaKey,
    }
    jwt_embedded_key_rejected "jwt.embedded-key-rejected" {
        fails_with_jwt_embedded_jwk => JwtEmbeddedJwk,
    }
    jwt_jku_rejected "jwt.jku-rejected" {
        fails_with_jwt_jku_followed => JwtJkuFollowed,
    }
    jwt_kid_injection_rejected "jwt.kid-injection-rejected" {
        fails_with_jwt_kid_traversal => JwtKidTraversal,
    }
    jwt_psychic_signature_rejected "jwt.psychic-signature-rejected" {
        fails_with_jwt_psychic_signature => JwtPsychicSignature,
    }
    jwt_expired_rejected "jwt.expired-rejected" {
        fails_with_jwt_expired_accepted => JwtExpiredAccepted,
    }
    jwt_not_before_enforced "jwt.not-before-enforced" {
        fails_with_jwt_nbf_ignored => JwtNbfIgnored,
    }
    jwt_audience_enforced "jwt.audience-enforced" {
        fails_with_jwt_audience_ignored => JwtAudienceIgnored,
    }
    jwt_issuer_enforced "jwt.issuer-enforced" {
        fails_with_jwt_issuer_ignored => JwtIssuerIgnored,
    }
    jwt_not_in_url "jwt.not-in-url" {
        fails_with_jwt_in_query => JwtInQuery,
    }
    jwt_malformed_no_server_error "jwt.malformed-no-server-error" {
        fails_with_jwt_malformed_500 => JwtMalformed500,
    }
    token_revoked_on_logout "token.revoked-on-logout" {
        fails_with_token_logout_keeps_access => TokenLogoutKeepsAccess,
        fails_with_replica_local_revocation => ReplicaLocalRevocation,
    }

    transport_no_store "transport.no-store" {
        fails_with_token_cacheable => TokenCacheable,
    }
    transport_csp "transport.csp" {
        fails_with_no_csp => NoCsp,
        fails_with_csp_unsafe_inline => CspUnsafeInline,
    }
    transport_api_headers "transport.api-headers" {
        fails_with_api_headers_missing => ApiHeadersMissing,
    }
    transport_cors_credentials "transport.cors-credentials" {
        fails_with_cors_reflects_origin => CorsReflectsOrigin,
    }
    transport_csrf "transport.csrf" {
        fails_with_csrf_unprotected => CsrfUnprotected,
    }
    storage_token_in_body "storage.token-in-body" {
        fails_with_token_in_body => TokenInBody,
    }

    refresh_issues_new_access "refresh.issues-new-access" {
        fails_with_refresh_stale_access_token => RefreshStaleAccessToken,
    }
    refresh_rotated "refresh.rotated" {
        fails_with_refresh_no_rotation => RefreshNoRotation,
    }
    refresh_reuse_rejected "refresh.reuse-rejected" {
        fails_with_refresh_reuse_accepted => RefreshReuseAccepted,
    }
    refresh_reuse_revokes_family "refresh.reuse-revokes-family" {
        fails_with_refresh_no_family_revocation => RefreshNoFamilyRevocation,
        fails_with_replica_local_revocation => ReplicaLocalRevocation,
    }
    refresh_revoked_on_logout "refresh.revoked-on-logout" {
        fails_with_refresh_survives_logout => RefreshSurvivesLogout,
        fails_with_replica_local_revocation => ReplicaLocalRevocation,
    }
    refresh_concurrent_reuse "refresh.concurrent-reuse" {
        fails_with_refresh_concurrent_double_spend => RefreshConcurrentDoubleSpend,
    }
    refresh_revocation_endpoint "refresh.revocation-endpoint" {
        fails_with_revocation_endpoint_noop => RevocationEndpointNoop,
        fails_with_revocation_endpoint_strict => RevocationEndpointStrict,
        fails_with_replica_local_revocation => ReplicaLocalRevocation,
    }
    refresh_model "refresh.model" {
        fails_with_refresh_reuse_accepted => RefreshReuseAccepted,
        fails_with_refresh_no_family_revocation => RefreshNoFamilyRevocation,
        fails_with_refresh_survives_logout => RefreshSurvivesLogout,
        fails_with_revocation_endpoint_noop => RevocationEndpointNoop,
    }
}

/// The filter `cargo test` takes for a rule: its id with `.` and `-` as `_`.
fn test_filter(id: &str) -> String {
    id.replace(['.', '-'], "_")
}

#[test]
fn every_catalogue_rule_id_selects_its_pass_and_fail_tests() {
    // The test binary's own listing: exactly what `cargo test FILTER` matches against.
    let exe = std::env::current_exe().expect("the test binary");
    let listing = std::process::Command::new(exe)
        .args(["--list", "--format", "terse"])
        .output()
        .expect("the test binary lists its tests");
    assert!(listing.status.success(), "{listing:?}");
    let stdout = String::from_utf8(listing.stdout).expect("UTF-8 listing");
    let names: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("::every_catalogue_rule_id_selects_its_pass_and_fail_tests")),
        "the listing has this very test: {stdout}"
    );
    let catalogue = spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
    assert!(!catalogue.rules.is_empty());
    for rule in &catalogue.rules {
        let filter = test_filter(&rule.id);
        let selected: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| n.contains(&filter))
            .collect();
        assert!(
            selected.len() >= 2,
            "`cargo test {filter}` selects {selected:?}"
        );
        let pass = format!("{filter}::passes_on_clean_testbed");
        let fail = format!("{filter}::fails_with_");
        assert!(
            selected.iter().any(|n| n.ends_with(&pass)),
            "`cargo test {filter}` has no pass test: {selected:?}"
        );
        assert!(
            selected.iter().any(|n| n.contains(&fail)),
            "`cargo test {filter}` has no fail test: {selected:?}"
        );
    }
}

#[test]
fn rule_modules_fail_exactly_with_the_flaws_the_demo_expects() {
    let catalogue = spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
    let mut by_id = BTreeMap::new();
    for m in RULE_MODULES {
        assert!(by_id.insert(m.id, m).is_none(), "two modules for {}", m.id);
        assert_eq!(m.module, test_filter(m.id), "module name of {}", m.id);
        assert!(
            catalogue.rule(m.id).is_some(),
            "{} is not a catalogue rule",
            m.id
        );
    }
    for rule in &catalogue.rules {
        let id = rule.id.as_str();
        let m = by_id
            .get(id)
            .unwrap_or_else(|| panic!("rule {id} has no module in tests/rules.rs"));
        let expected: BTreeSet<Flaw> = Flaw::ALL
            .iter()
            .copied()
            .filter(|&f| expectation(f).breaks.contains(&id))
            .collect();
        let declared: BTreeSet<Flaw> = m.fails.iter().map(|&(_, f)| f).collect();
        assert_eq!(declared, expected, "{id}: fail tests vs demo::expectation");
        assert_eq!(declared.len(), m.fails.len(), "{id}: a flaw tested twice");
        for &(test, flaw) in m.fails {
            let want = format!("fails_with_{}", flaw.name().replace('-', "_"));
            assert_eq!(test, want, "{id}: the test for {flaw} is named after it");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_counterexample_is_shrunk_to_one_mutation_and_replays_with_the_same_seed() {
    let a = run(&[Flaw::SessionPrefixMatch], &["session.tamper-rejected"]).await;
    let b = run(&[Flaw::SessionPrefixMatch], &["session.tamper-rejected"]).await;
    let ca = a.results[0].counterexample().expect("counterexample");
    let cb = b.results[0].counterexample().expect("counterexample");
    assert_eq!(
        ca.input.len(),
        1,
        "shrunk to a single mutation: {:?}",
        ca.input
    );
    // The live session id differs between runs, so the characters involved do too, and so
    // does the bit a flip uses (which bits of a character give another cookie-octet depends
    // on the character); the operators and positions are what the seed fixes.
    let bits = regex::Regex::new(r"bit [0-9]+").expect("a regex");
    let shape = |input: &[String]| -> Vec<String> {
        input
            .iter()
            .map(|d| {
                let d = bits.replace_all(d, "bit ?");
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
    assert_eq!(r.status(), Status::Fail);
    assert!(
        r.reason().as_deref().unwrap_or("").contains("pre_login"),
        "{:?}",
        r.reason()
    );
}

/// `transport.csrf` reads "the forged logout was refused" from "the session still works": on a
/// service whose genuine logout ends nothing, that proves nothing, so the rule is inconclusive
/// and says why (with and without SameSite as the only protection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_csrf_is_inconclusive_when_a_genuine_logout_ends_nothing() {
    for flaws in [
        vec![Flaw::LogoutKeepsSession],
        vec![Flaw::LogoutKeepsSession, Flaw::CsrfUnprotected],
    ] {
        let report = run(&flaws, &["transport.csrf"]).await;
        let r = &report.results[0];
        assert_eq!(
            r.status(),
            Status::Inconclusive,
            "{flaws:?}: {:?}",
            r.reason()
        );
        let reason = r.reason().unwrap_or_default();
        assert!(reason.contains("genuine logout"), "{reason}");
    }
}

/// A readable session id is reported by its layers and its structure, values redacted, in the
/// JSON report's `details` too — here a PHP session behind two percent-encodings (the flaw's
/// own and the `percent-encoded-cookie` quirk's), and the failure is confirmed on a new login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_opaque_id_shows_layers_and_keys_never_values() {
    let config = authprobe::testbed::TestbedConfig {
        flaws: [Flaw::SessionIdPhpSerialized].into_iter().collect(),
        quirks: [authprobe::testbed::Quirk::PercentEncodedCookie]
            .into_iter()
            .collect(),
        ..authprobe::testbed::TestbedConfig::default()
    };
    let report = crate::support::run_demo(config, &["session.opaque-id"], crate::support::SEED)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r = &report.results[0];
    assert_status(&report, "session.opaque-id", Status::Fail);
    let observed = r.observed().unwrap_or_default();
    assert!(
        observed.contains("(percent → percent → base64 → php-serialize): {\"uid\": <int>, \"user\": <string, 5 chars: the user name>, \"role\": <string, 4 chars>, \"nonce\": <string, 64 chars, hex>}"),
        "{observed}"
    );
    assert!(
        r.notes.iter().any(|n| n.starts_with("confirmed: ")),
        "{:?}",
        r.notes
    );
    let json = serde_json::to_value(r).unwrap();
    let details = &json["details"];
    assert_eq!(
        details["layers"],
        serde_json::json!(["percent", "percent", "base64", "php-serialize"])
    );
    let keys: Vec<&str> = details["structure"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["uid", "user", "role", "nonce"]);
    assert_eq!(details["structure"]["entries"][3]["value"]["chars"], 64);
    // No value: the only strings are keys, type names, alphabets and the user-name marks.
    let text = details.to_string();
    assert!(
        !text.contains("\"user\",\"value\":\"") && !text.contains("<redacted"),
        "{text}"
    );
}
