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
                    assert!(r.expected().is_some() && r.observed().is_some(), "a failure says what was expected and seen");
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
    let ca = a.results[0].counterexample().expect("counterexample");
    let cb = b.results[0].counterexample().expect("counterexample");
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
    assert_eq!(r.status(), Status::Fail);
    assert!(
        r.reason().as_deref().unwrap_or("").contains("pre_login"),
        "{:?}",
        r.reason()
    );
}

rule_tests!(jwt_payload_no_secrets, "jwt.payload-no-secrets", fails_with_jwt_secret_in_payload => Flaw::JwtSecretInPayload);
rule_tests!(jwt_payload_no_personal_data, "jwt.payload-no-personal-data", fails_with_jwt_pii_in_payload => Flaw::JwtPiiInPayload);
rule_tests!(jwt_expiry_present, "jwt.expiry-present", fails_with_jwt_no_exp => Flaw::JwtNoExp);
rule_tests!(jwt_short_lived, "jwt.short-lived",
    fails_with_jwt_long_lived => Flaw::JwtLongLived,
    fails_with_jwt_no_exp => Flaw::JwtNoExp);
rule_tests!(jwt_alg_none_rejected, "jwt.alg-none-rejected", fails_with_jwt_alg_none => Flaw::JwtAlgNone);
rule_tests!(jwt_signature_required, "jwt.signature-required", fails_with_jwt_signature_unchecked => Flaw::JwtSignatureUnchecked);
rule_tests!(jwt_tamper_rejected, "jwt.tamper-rejected", fails_with_jwt_signature_unchecked => Flaw::JwtSignatureUnchecked);
rule_tests!(jwt_key_confusion_rejected, "jwt.key-confusion-rejected", fails_with_jwt_key_confusion => Flaw::JwtKeyConfusion);
rule_tests!(jwt_weak_secret, "jwt.weak-secret", fails_with_jwt_weak_secret => Flaw::JwtWeakSecret);
rule_tests!(jwt_embedded_key_rejected, "jwt.embedded-key-rejected", fails_with_jwt_embedded_jwk => Flaw::JwtEmbeddedJwk);
rule_tests!(jwt_jku_rejected, "jwt.jku-rejected", fails_with_jwt_jku_followed => Flaw::JwtJkuFollowed);
rule_tests!(jwt_kid_injection_rejected, "jwt.kid-injection-rejected", fails_with_jwt_kid_traversal => Flaw::JwtKidTraversal);
rule_tests!(jwt_psychic_signature_rejected, "jwt.psychic-signature-rejected", fails_with_jwt_psychic_signature => Flaw::JwtPsychicSignature);
rule_tests!(jwt_expired_rejected, "jwt.expired-rejected", fails_with_jwt_expired_accepted => Flaw::JwtExpiredAccepted);
rule_tests!(jwt_not_before_enforced, "jwt.not-before-enforced", fails_with_jwt_nbf_ignored => Flaw::JwtNbfIgnored);
rule_tests!(jwt_audience_enforced, "jwt.audience-enforced", fails_with_jwt_audience_ignored => Flaw::JwtAudienceIgnored);
rule_tests!(jwt_issuer_enforced, "jwt.issuer-enforced", fails_with_jwt_issuer_ignored => Flaw::JwtIssuerIgnored);
rule_tests!(jwt_not_in_url, "jwt.not-in-url", fails_with_jwt_in_query => Flaw::JwtInQuery);
rule_tests!(jwt_malformed_no_server_error, "jwt.malformed-no-server-error", fails_with_jwt_malformed_500 => Flaw::JwtMalformed500);

rule_tests!(transport_no_store, "transport.no-store", fails_with_token_cacheable => Flaw::TokenCacheable);
rule_tests!(transport_csp, "transport.csp",
    fails_with_no_csp => Flaw::NoCsp,
    fails_with_csp_unsafe_inline => Flaw::CspUnsafeInline);
rule_tests!(transport_cors_credentials, "transport.cors-credentials", fails_with_cors_reflects_origin => Flaw::CorsReflectsOrigin);
rule_tests!(transport_csrf, "transport.csrf", fails_with_csrf_unprotected => Flaw::CsrfUnprotected);
rule_tests!(storage_token_in_body, "storage.token-in-body", fails_with_token_in_body => Flaw::TokenInBody);
