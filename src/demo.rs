//! What the demo promises: for every testbed [`Flaw`], the catalogue rules it must break and
//! the rules it may also break.
//!
//! This module owns the flaw → rule expectations (the testbed knows behaviours, never rule
//! ids; the catalogue knows rules, never flaws) and builds the flaw listing that
//! `demo --list-flaws`, `explain` and the README's rule table render. It sits above both
//! `testbed` and `spec`; it must not implement any behaviour of the testbed, run rules or print:
//! rendering belongs to `report`.
//!
//! [`expectation`] is an exhaustive `match`: a new flaw without an expectation does not
//! compile. The integration tests (`tests/coverage.rs`, `tests/rules.rs`) hold the testbed to
//! these lists.

use std::path::Path;

use crate::diag::Diagnostics;
use crate::profile::{Profile, TESTBED_PROFILE, parse_profile};
use crate::report::{FlawInfo, QuirkInfo};
use crate::testbed::{Flaw, Quirk, TestbedConfig};

/// The rules a flaw is expected to break, by catalogue rule id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlawExpectation {
    /// Rule ids that must fail against a testbed running with the flaw (never empty).
    pub breaks: &'static [&'static str],
    /// Rule ids that may also fail with it: a side effect, not the point of the flaw.
    pub may_break: &'static [&'static str],
}

/// A forged token is accepted whatever its signature, so every forgery rule may fail too
/// (and so may the weak-secret rule's HS256 tokens signed with guessable secrets).
const FORGERY_RULES: &[&str] = &[
    "jwt.weak-secret",
    "jwt.alg-none-rejected",
    "jwt.key-confusion-rejected",
    "jwt.embedded-key-rejected",
    "jwt.jku-rejected",
    "jwt.kid-injection-rejected",
    "jwt.psychic-signature-rejected",
];

/// Rules that rely on a refresh rotating its token.
const ROTATION_RULES: &[&str] = &[
    "refresh.reuse-rejected",
    "refresh.reuse-revokes-family",
    "refresh.concurrent-reuse",
    "refresh.model",
];

/// Rules whose steps refresh: a refresh that returns an earlier access token is a broken
/// refresh, so they fail or cannot set up.
const REFRESHING_RULES: &[&str] = &[
    "refresh.rotated",
    "refresh.revoked-on-logout",
    "refresh.reuse-rejected",
    "refresh.reuse-revokes-family",
    "refresh.concurrent-reuse",
    "refresh.model",
];

/// Rules that replay a revocation on the profile's replicas.
const REPLICA_RULES: &[&str] = &[
    "session.revoked-on-logout",
    "session.logout-everywhere",
    "token.revoked-on-logout",
    "refresh.reuse-revokes-family",
    "refresh.revoked-on-logout",
    "refresh.revocation-endpoint",
];

/// The rules `flaw` breaks, and those it may break as a side effect.
pub fn expectation(flaw: Flaw) -> FlawExpectation {
    let (breaks, may_break): (&'static [&'static str], &'static [&'static str]) = match flaw {
        Flaw::CookieNoHttpOnly => (&["cookie.http-only"], &[]),
        Flaw::CookieNoSecure => (&["cookie.secure", "cookie.prefix"], &[]),
        Flaw::CookieSameSiteNone => (&["cookie.same-site"], &[]),
        Flaw::CookieNoSameSite => (&["cookie.same-site"], &[]),
        Flaw::CookieParentDomain => (&["cookie.scope", "cookie.prefix"], &[]),
        Flaw::CookiePrefixBroken => (&["cookie.prefix"], &[]),
        Flaw::CookieLongLived => (&["cookie.lifetime"], &[]),
        Flaw::CookieNotClearedOnLogout => (&["cookie.cleared-on-logout"], &[]),
        Flaw::SessionIdReadable => (&["session.opaque-id"], &[]),
        Flaw::SessionIdPredictable => (&["session.id-entropy"], &["session.tamper-rejected"]),
        // An adopted id can outlive its revocation: after logout everywhere, a client whose
        // cookie was not cleared logs in again under the same id, and replaying the ended
        // session's cookie works again.
        Flaw::SessionFixation => (&["session.rotated-on-login"], &["session.model"]),
        // A logout that ends nothing leaves the CSRF rule nothing to read from "the session
        // still works": it is inconclusive, saying so.
        Flaw::LogoutKeepsSession => (
            &["session.revoked-on-logout", "session.model"],
            &["transport.csrf"],
        ),
        Flaw::LogoutEverywherePartial => (&["session.logout-everywhere", "session.model"], &[]),
        Flaw::SessionPrefixMatch => (&["session.tamper-rejected"], &[]),
        Flaw::SessionIdInUrl => (&["session.not-in-url"], &[]),
        Flaw::JwtSecretInPayload => (&["jwt.payload-no-secrets"], &[]),
        Flaw::JwtPiiInPayload => (&["jwt.payload-no-personal-data"], &[]),
        Flaw::JwtLongLived => (&["jwt.short-lived"], &[]),
        Flaw::JwtNoExp => (&["jwt.expiry-present", "jwt.short-lived"], &[]),
        Flaw::JwtAlgNone => (&["jwt.alg-none-rejected"], &["jwt.tamper-rejected"]),
        Flaw::JwtSignatureUnchecked => (
            &["jwt.signature-required", "jwt.tamper-rejected"],
            FORGERY_RULES,
        ),
        Flaw::JwtKeyConfusion => (&["jwt.key-confusion-rejected"], &[]),
        Flaw::JwtWeakSecret => (&["jwt.weak-secret"], &[]),
        Flaw::JwtEmbeddedJwk => (&["jwt.embedded-key-rejected"], &[]),
        Flaw::JwtJkuFollowed => (&["jwt.jku-rejected"], &[]),
        Flaw::JwtKidTraversal => (&["jwt.kid-injection-rejected"], &[]),
        Flaw::JwtPsychicSignature => (&["jwt.psychic-signature-rejected"], &[]),
        Flaw::JwtExpiredAccepted => (&["jwt.expired-rejected"], &[]),
        Flaw::JwtNbfIgnored => (&["jwt.not-before-enforced"], &[]),
        Flaw::JwtAudienceIgnored => (&["jwt.audience-enforced"], &[]),
        Flaw::JwtIssuerIgnored => (&["jwt.issuer-enforced"], &[]),
        Flaw::JwtInQuery => (&["jwt.not-in-url"], &[]),
        Flaw::JwtMalformed500 => (&["jwt.malformed-no-server-error"], &["jwt.tamper-rejected"]),
        Flaw::TokenCacheable => (&["transport.no-store"], &[]),
        Flaw::NoCsp => (&["transport.csp"], &[]),
        Flaw::CspUnsafeInline => (&["transport.csp"], &[]),
        Flaw::CorsReflectsOrigin => (&["transport.cors-credentials"], &[]),
        Flaw::CsrfUnprotected => (&["transport.csrf", "cookie.same-site"], &[]),
        Flaw::TokenInBody => (&["storage.token-in-body"], &[]),
        Flaw::RefreshNoRotation => (&["refresh.rotated"], ROTATION_RULES),
        Flaw::RefreshReuseAccepted => (
            &["refresh.reuse-rejected", "refresh.model"],
            &["refresh.reuse-revokes-family", "refresh.concurrent-reuse"],
        ),
        Flaw::RefreshNoFamilyRevocation => (
            &["refresh.reuse-revokes-family", "refresh.model"],
            &["refresh.concurrent-reuse"],
        ),
        Flaw::RefreshSurvivesLogout => (&["refresh.revoked-on-logout", "refresh.model"], &[]),
        Flaw::RefreshConcurrentDoubleSpend => (&["refresh.concurrent-reuse"], &["refresh.model"]),
        Flaw::RevocationEndpointNoop => (&["refresh.revocation-endpoint", "refresh.model"], &[]),
        Flaw::RevocationEndpointStrict => (&["refresh.revocation-endpoint"], &["refresh.model"]),
        Flaw::RefreshStaleAccessToken => (&["refresh.issues-new-access"], REFRESHING_RULES),
        Flaw::TokenLogoutKeepsAccess => (&["token.revoked-on-logout"], &[]),
        Flaw::ApiHeadersMissing => (&["transport.api-headers"], &[]),
        // Every revocation stays on the instance that made it: the replicas still accept the
        // session and the tokens base_url revoked.
        Flaw::ReplicaLocalRevocation => (REPLICA_RULES, &[]),
        // The ID-token flaws leave the access token clean: the ID-token part fails the rule.
        Flaw::IdTokenSecretInPayload => (&["jwt.payload-no-secrets"], &[]),
        Flaw::IdTokenLongLived => (&["jwt.short-lived"], &[]),
        Flaw::IdTokenSignatureUnchecked => (
            &["jwt.signature-required", "jwt.tamper-rejected"],
            FORGERY_RULES,
        ),
        Flaw::SessionIdFlask
        | Flaw::SessionIdDjango
        | Flaw::SessionIdRails
        | Flaw::SessionIdPhpSerialized
        | Flaw::SessionIdJavaSerialized
        | Flaw::SessionIdMsgpack
        | Flaw::SessionIdCbor => (&["session.opaque-id"], &[]),
        Flaw::JwksEncKeySigns | Flaw::JwksPublishesSecret | Flaw::JwksRocaKey => {
            (&["jwt.jwks-sound"], &[])
        }
    };
    FlawExpectation { breaks, may_break }
}

/// Every flaw with its description and expectation, in [`Flaw::ALL`] order: the data behind
/// `demo --list-flaws`, `explain`'s "see it fail" line and the README's rule table.
pub fn flaws() -> Vec<FlawInfo> {
    Flaw::ALL
        .iter()
        .map(|&flaw| {
            let FlawExpectation { breaks, may_break } = expectation(flaw);
            FlawInfo {
                name: flaw.name(),
                description: flaw.description(),
                breaks,
                may_break,
            }
        })
        .collect()
}

/// The flaws a quirk hides: with the quirk on, the behaviour the flaw changes no longer
/// exists or no longer shows, so the flaw's rules have nothing to find (they pass or skip,
/// saying why). Every other flaw must still fail its rules under the quirk.
pub fn masked_by(quirk: Quirk) -> &'static [Flaw] {
    match quirk {
        // An altered id fails its signature before the lookup the flaw loosens.
        Quirk::SignedCookiePair => &[Flaw::SessionPrefixMatch],
        // No refresh token is ever retired: nothing to rotate, reuse or double-spend.
        // (With no reuse, no family is revoked on reuse on any instance either.)
        Quirk::RefreshNotRotated => &[
            Flaw::RefreshNoRotation,
            Flaw::RefreshReuseAccepted,
            Flaw::RefreshNoFamilyRevocation,
            Flaw::RefreshConcurrentDoubleSpend,
            Flaw::ReplicaLocalRevocation,
        ],
        // Opaque tokens are looked up on the server: no readable payload, no signature, no
        // JWT verifier for a flaw to weaken (moving the token into the URL still shows). The
        // ID token stays a JWT signed with the service's key, so a guessable HMAC secret
        // still shows in it.
        Quirk::OpaqueAccessTokens => &[
            Flaw::JwtSecretInPayload,
            Flaw::JwtPiiInPayload,
            Flaw::JwtLongLived,
            Flaw::JwtNoExp,
            Flaw::JwtAlgNone,
            Flaw::JwtSignatureUnchecked,
            Flaw::JwtKeyConfusion,
            Flaw::JwtEmbeddedJwk,
            Flaw::JwtJkuFollowed,
            Flaw::JwtKidTraversal,
            Flaw::JwtPsychicSignature,
            Flaw::JwtExpiredAccepted,
            Flaw::JwtNbfIgnored,
            Flaw::JwtAudienceIgnored,
            Flaw::JwtIssuerIgnored,
            Flaw::JwtMalformed500,
        ],
        // No HTML page, so no CSP to get wrong.
        Quirk::JsonOnly => &[Flaw::NoCsp, Flaw::CspUnsafeInline],
        // The declared stateless access token is what the flaw does undeclared; and it
        // outlives the token logout on every instance alike, so no replica can miss it.
        Quirk::StatelessAccessTokens => {
            &[Flaw::TokenLogoutKeepsAccess, Flaw::ReplicaLocalRevocation]
        }
        _ => &[],
    }
}

/// Every quirk with its description, in [`Quirk::ALL`] order: the data behind
/// `demo --list-quirks` and the README's quirk table.
pub fn quirks() -> Vec<QuirkInfo> {
    Quirk::ALL
        .iter()
        .map(|&quirk| QuirkInfo {
            name: quirk.name(),
            description: quirk.description(),
            declared: declaration(quirk).map(str::trim),
            masks: masked_by(quirk).iter().map(|f| f.name()).collect(),
        })
        .collect()
}

/// What a profile for a service with `quirk` declares about it (one `policy:` entry added
/// to the testbed profile), when the quirk is a choice the service must declare to be judged
/// by it.
fn declaration(quirk: Quirk) -> Option<&'static str> {
    match quirk {
        // A non-rotating refresh token is legitimate only when the service says so.
        Quirk::RefreshNotRotated => Some("policy: refresh: {rotation: none}"),
        // So is an access token that outlives logout (stateless, short-lived).
        Quirk::StatelessAccessTokens => Some("policy: access_after_logout: allowed_until_expiry"),
        _ => None,
    }
}

/// The demo's profile for a running testbed: [`profile`] at its first instance, naming its
/// other instances as `replicas`.
pub fn replicated_profile(
    testbed: &crate::testbed::RunningTestbed,
    config: &TestbedConfig,
) -> Result<Profile, Diagnostics> {
    let mut p = profile(&testbed.base_url(), config)?;
    let replicas = testbed.replica_urls();
    if !replicas.is_empty() {
        p.set_replicas(&replicas)?;
    }
    Ok(p)
}

/// The demo's profile for a testbed at `base_url` running `config`: the shipped testbed
/// profile (`specs/profiles/testbed.yaml`) plus what each quirk's service declares.
pub fn profile(base_url: &str, config: &TestbedConfig) -> Result<Profile, Diagnostics> {
    // Every declaration is a `policy:` entry; the testbed profile has no policy block.
    let entries: Vec<&str> = config
        .quirks
        .iter()
        .filter_map(|q| declaration(*q))
        .filter_map(|d| d.strip_prefix("policy: "))
        .collect();
    if entries.is_empty() {
        return Profile::testbed(base_url);
    }
    let block: String = entries.iter().map(|e| format!("  {e}\n")).collect();
    let text = format!("{}\npolicy:\n{block}", TESTBED_PROFILE.trim_end());
    let mut p = parse_profile(&text, Path::new("specs/profiles/testbed.yaml"))?;
    p.set_base_url(base_url)?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flaw_breaks_something_and_may_break_only_other_rules() {
        for &flaw in Flaw::ALL {
            let e = expectation(flaw);
            assert!(!e.breaks.is_empty(), "{flaw}");
            for id in e.may_break {
                assert!(!e.breaks.contains(id), "{flaw}: {id}");
            }
        }
    }

    #[test]
    fn every_named_rule_is_in_the_builtin_catalogue() {
        let catalogue = crate::spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
        for &flaw in Flaw::ALL {
            let e = expectation(flaw);
            for id in e.breaks.iter().chain(e.may_break) {
                assert!(catalogue.rule(id).is_some(), "{flaw}: unknown rule {id}");
            }
        }
    }

    #[test]
    fn the_listing_follows_flaw_order() {
        let names: Vec<&str> = flaws().iter().map(|f| f.name).collect();
        let all: Vec<&str> = Flaw::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names, all);
    }
}
