//! The flaw switches: each [`Flaw`] breaks exactly one promise of the reference service.
//!
//! This file owns the closed list of flaws, their names (the `--flaw NAME` spelling), the
//! promise each one breaks and the rule ids that must (or may) fail because of it. It must not
//! implement any behaviour: the server consults [`super::TestbedConfig::flaws`] where the
//! behaviour lives, so every flaw stays visible at the one place it changes.

use std::fmt;
use std::str::FromStr;

/// One deliberate defect the testbed can be started with.
///
/// Flaws combine freely (a set of them is kept in [`super::TestbedConfig`]); each changes only
/// the behaviour its documentation names, so an audit against a flawed testbed must fail the
/// rules in [`Flaw::breaks`] and no rule outside `breaks` and [`Flaw::may_break`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Flaw {
    /// The session cookie lacks `HttpOnly`.
    CookieNoHttpOnly,
    /// The session cookie lacks `Secure` (its name keeps the `__Host-` prefix).
    CookieNoSecure,
    /// The session cookie says `SameSite=None` (`Secure` kept).
    CookieSameSiteNone,
    /// The session cookie has no `SameSite` attribute.
    CookieNoSameSite,
    /// The session cookie carries `Domain=` the parent domain of the request's host.
    CookieParentDomain,
    /// The `__Host-` session cookie is set with `Path=/api` instead of `Path=/`.
    CookiePrefixBroken,
    /// The login cookie lives two years (`Max-Age=63072000`).
    CookieLongLived,
    /// Logout revokes the session on the server but sends no clearing `Set-Cookie`.
    CookieNotClearedOnLogout,
    /// The session id is base64url JSON naming the user, readable by anyone.
    SessionIdReadable,
    /// Session ids are a sequential counter.
    SessionIdPredictable,
    /// An attacker-chosen session id is adopted and kept across login.
    SessionFixation,
    /// Logout clears the cookie but keeps the server-side session alive.
    LogoutKeepsSession,
    /// "Log out everywhere" ends only the current session.
    LogoutEverywherePartial,
    /// Session lookup accepts any id sharing the first 16 characters of a live one.
    SessionPrefixMatch,
    /// `/api/me?session=ID` authenticates when no cookie is sent.
    SessionIdInUrl,
    /// Access tokens also carry a bcrypt `password_hash` and a live-looking `api_key` claim.
    JwtSecretInPayload,
    /// Access tokens also carry `email`, `phone` and `address` claims.
    JwtPiiInPayload,
    /// Access tokens live 24 hours (`exp = iat + 86400`).
    JwtLongLived,
    /// Access tokens have no `exp` claim and the verifier does not require one (it still checks
    /// `exp` when present).
    JwtNoExp,
    /// The verifier also accepts `alg: none` (any casing) with an empty or missing signature.
    JwtAlgNone,
    /// The verifier checks the claims but never the signature, whatever the `alg`.
    JwtSignatureUnchecked,
    /// Tokens are signed RS256; the verifier also accepts HS256 keyed with the RSA public key's
    /// SPKI PEM text.
    JwtKeyConfusion,
    /// Tokens are signed and verified HS256 with the secret `secret`.
    JwtWeakSecret,
    /// A token whose header carries a `jwk` is verified with that key.
    JwtEmbeddedJwk,
    /// A token whose header carries a loopback `jku` is verified with a key fetched from there.
    JwtJkuFollowed,
    /// For HS256 tokens the `kid` names a file whose bytes are the HMAC secret.
    JwtKidTraversal,
    /// The ES256 verifier accepts an all-zero signature (r = s = 0, CVE-2022-21449).
    JwtPsychicSignature,
    /// The verifier does not check `exp`.
    JwtExpiredAccepted,
    /// The verifier does not check `nbf`.
    JwtNbfIgnored,
    /// The verifier does not check `aud`.
    JwtAudienceIgnored,
    /// The verifier does not check `iss`.
    JwtIssuerIgnored,
    /// `/api/token/me?access_token=TOKEN` authenticates when no `Authorization` header is sent.
    JwtInQuery,
    /// A token that is not three base64url segments (JSON header and payload) gets a 500.
    JwtMalformed500,
    /// Login and token responses are cacheable (no `Cache-Control: no-store`).
    TokenCacheable,
    /// The HTML page has no Content-Security-Policy.
    NoCsp,
    /// The HTML page's CSP allows inline scripts (`'unsafe-inline'`).
    CspUnsafeInline,
    /// Any `Origin` is reflected with `Access-Control-Allow-Credentials: true`.
    CorsReflectsOrigin,
    /// Logout and logout-everywhere do not check the CSRF token.
    CsrfUnprotected,
    /// The JSON login response also returns the session id in its body.
    TokenInBody,
    /// The refresh grant answers with the presented refresh token instead of a new one.
    RefreshNoRotation,
    /// Refresh tokens rotate, but a superseded one is redeemed like the current one (its new
    /// refresh token becomes current).
    RefreshReuseAccepted,
    /// A superseded refresh token is refused, but its family is not revoked.
    RefreshNoFamilyRevocation,
    /// `/api/token/logout` answers 200 but revokes nothing.
    RefreshSurvivesLogout,
    /// The refresh grant checks that the token is current, lets go of the lock for 100 ms,
    /// then rotates without checking again.
    RefreshConcurrentDoubleSpend,
    /// `/oauth/revoke` answers 200 but revokes nothing.
    RevocationEndpointNoop,
    /// `/oauth/revoke` answers 400 `invalid_request` to a token it does not know.
    RevocationEndpointStrict,
    /// The refresh grant rotates the refresh token but hands back the family's previous access
    /// token (same string, `jti` and `exp`; `expires_in` is the time it has left).
    RefreshStaleAccessToken,
}

impl Flaw {
    /// Every flaw, in declaration (and `Ord`) order.
    pub const ALL: &'static [Flaw] = &[
        Flaw::CookieNoHttpOnly,
        Flaw::CookieNoSecure,
        Flaw::CookieSameSiteNone,
        Flaw::CookieNoSameSite,
        Flaw::CookieParentDomain,
        Flaw::CookiePrefixBroken,
        Flaw::CookieLongLived,
        Flaw::CookieNotClearedOnLogout,
        Flaw::SessionIdReadable,
        Flaw::SessionIdPredictable,
        Flaw::SessionFixation,
        Flaw::LogoutKeepsSession,
        Flaw::LogoutEverywherePartial,
        Flaw::SessionPrefixMatch,
        Flaw::SessionIdInUrl,
        Flaw::JwtSecretInPayload,
        Flaw::JwtPiiInPayload,
        Flaw::JwtLongLived,
        Flaw::JwtNoExp,
        Flaw::JwtAlgNone,
        Flaw::JwtSignatureUnchecked,
        Flaw::JwtKeyConfusion,
        Flaw::JwtWeakSecret,
        Flaw::JwtEmbeddedJwk,
        Flaw::JwtJkuFollowed,
        Flaw::JwtKidTraversal,
        Flaw::JwtPsychicSignature,
        Flaw::JwtExpiredAccepted,
        Flaw::JwtNbfIgnored,
        Flaw::JwtAudienceIgnored,
        Flaw::JwtIssuerIgnored,
        Flaw::JwtInQuery,
        Flaw::JwtMalformed500,
        Flaw::TokenCacheable,
        Flaw::NoCsp,
        Flaw::CspUnsafeInline,
        Flaw::CorsReflectsOrigin,
        Flaw::CsrfUnprotected,
        Flaw::TokenInBody,
        Flaw::RefreshNoRotation,
        Flaw::RefreshReuseAccepted,
        Flaw::RefreshNoFamilyRevocation,
        Flaw::RefreshSurvivesLogout,
        Flaw::RefreshConcurrentDoubleSpend,
        Flaw::RevocationEndpointNoop,
        Flaw::RevocationEndpointStrict,
        Flaw::RefreshStaleAccessToken,
    ];

    /// The kebab-case name used by `--flaw NAME`, e.g. `cookie-no-httponly`.
    pub fn name(self) -> &'static str {
        match self {
            Flaw::CookieNoHttpOnly => "cookie-no-httponly",
            Flaw::CookieNoSecure => "cookie-no-secure",
            Flaw::CookieSameSiteNone => "cookie-samesite-none",
            Flaw::CookieNoSameSite => "cookie-no-samesite",
            Flaw::CookieParentDomain => "cookie-parent-domain",
            Flaw::CookiePrefixBroken => "cookie-prefix-broken",
            Flaw::CookieLongLived => "cookie-long-lived",
            Flaw::CookieNotClearedOnLogout => "cookie-not-cleared-on-logout",
            Flaw::SessionIdReadable => "session-id-readable",
            Flaw::SessionIdPredictable => "session-id-predictable",
            Flaw::SessionFixation => "session-fixation",
            Flaw::LogoutKeepsSession => "logout-keeps-session",
            Flaw::LogoutEverywherePartial => "logout-everywhere-partial",
            Flaw::SessionPrefixMatch => "session-prefix-match",
            Flaw::SessionIdInUrl => "session-id-in-url",
            Flaw::JwtSecretInPayload => "jwt-secret-in-payload",
            Flaw::JwtPiiInPayload => "jwt-pii-in-payload",
            Flaw::JwtLongLived => "jwt-long-lived",
            Flaw::JwtNoExp => "jwt-no-exp",
            Flaw::JwtAlgNone => "jwt-alg-none",
            Flaw::JwtSignatureUnchecked => "jwt-signature-unchecked",
            Flaw::JwtKeyConfusion => "jwt-key-confusion",
            Flaw::JwtWeakSecret => "jwt-weak-secret",
            Flaw::JwtEmbeddedJwk => "jwt-embedded-jwk",
            Flaw::JwtJkuFollowed => "jwt-jku-followed",
            Flaw::JwtKidTraversal => "jwt-kid-traversal",
            Flaw::JwtPsychicSignature => "jwt-psychic-signature",
            Flaw::JwtExpiredAccepted => "jwt-expired-accepted",
            Flaw::JwtNbfIgnored => "jwt-nbf-ignored",
            Flaw::JwtAudienceIgnored => "jwt-audience-ignored",
            Flaw::JwtIssuerIgnored => "jwt-issuer-ignored",
            Flaw::JwtInQuery => "jwt-in-query",
            Flaw::JwtMalformed500 => "jwt-malformed-500",
            Flaw::TokenCacheable => "token-cacheable",
            Flaw::NoCsp => "no-csp",
            Flaw::CspUnsafeInline => "csp-unsafe-inline",
            Flaw::CorsReflectsOrigin => "cors-reflects-origin",
            Flaw::CsrfUnprotected => "csrf-unprotected",
            Flaw::TokenInBody => "token-in-body",
            Flaw::RefreshNoRotation => "refresh-no-rotation",
            Flaw::RefreshReuseAccepted => "refresh-reuse-accepted",
            Flaw::RefreshNoFamilyRevocation => "refresh-no-family-revocation",
            Flaw::RefreshSurvivesLogout => "refresh-survives-logout",
            Flaw::RefreshConcurrentDoubleSpend => "refresh-concurrent-double-spend",
            Flaw::RevocationEndpointNoop => "revocation-endpoint-noop",
            Flaw::RevocationEndpointStrict => "revocation-endpoint-strict",
            Flaw::RefreshStaleAccessToken => "refresh-stale-access-token",
        }
    }

    /// One sentence: the promise this flaw breaks.
    pub fn description(self) -> &'static str {
        match self {
            Flaw::CookieNoHttpOnly => {
                "The session cookie is set without HttpOnly, so page scripts (and any XSS) can read it."
            }
            Flaw::CookieNoSecure => {
                "The session cookie is set without Secure, so it may travel over plain HTTP (and its __Host- prefix is invalid)."
            }
            Flaw::CookieSameSiteNone => {
                "The session cookie is set with SameSite=None, so browsers send it on cross-site requests."
            }
            Flaw::CookieNoSameSite => {
                "The session cookie is set without a SameSite attribute, leaving cross-site behaviour to browser defaults."
            }
            Flaw::CookieParentDomain => {
                "The session cookie is scoped with Domain= to the parent domain, so sibling hosts receive it."
            }
            Flaw::CookiePrefixBroken => {
                "The __Host- session cookie is set with Path=/api, breaking the prefix's Path=/ requirement."
            }
            Flaw::CookieLongLived => {
                "The session cookie set at login persists for two years instead of ending with the browser session."
            }
            Flaw::CookieNotClearedOnLogout => {
                "Logout ends the session on the server but does not tell the browser to delete the cookie."
            }
            Flaw::SessionIdReadable => {
                "The session id is base64url JSON carrying the user name and role instead of an opaque random value."
            }
            Flaw::SessionIdPredictable => {
                "Session ids come from a counter, so one id reveals its neighbours."
            }
            Flaw::SessionFixation => {
                "An attacker-chosen session id is adopted and survives login, because no new id is issued at login."
            }
            Flaw::LogoutKeepsSession => {
                "Logout clears the cookie but keeps the server-side session, so a replayed cookie still works."
            }
            Flaw::LogoutEverywherePartial => {
                "Logging out everywhere ends only the current session; the user's other sessions stay alive."
            }
            Flaw::SessionPrefixMatch => {
                "Session lookup accepts an altered id that shares its first 16 characters with a live one."
            }
            Flaw::SessionIdInUrl => {
                "The protected endpoint accepts the session id from the URL query string."
            }
            Flaw::JwtSecretInPayload => {
                "Access tokens carry secrets (a password hash and an API key) in their readable payload."
            }
            Flaw::JwtPiiInPayload => {
                "Access tokens carry personal data (email, phone, postal address) in their readable payload."
            }
            Flaw::JwtLongLived => "Access tokens stay valid for 24 hours instead of minutes.",
            Flaw::JwtNoExp => {
                "Access tokens carry no expiry, and the verifier accepts tokens without one."
            }
            Flaw::JwtAlgNone => "The verifier accepts unsigned tokens whose header says alg none.",
            Flaw::JwtSignatureUnchecked => {
                "The verifier checks a token's claims but never its signature."
            }
            Flaw::JwtKeyConfusion => {
                "The verifier accepts HS256 tokens whose HMAC secret is the server's public RSA key (algorithm confusion)."
            }
            Flaw::JwtWeakSecret => {
                "Tokens are signed with HS256 and a guessable secret, so anyone can forge them."
            }
            Flaw::JwtEmbeddedJwk => {
                "The verifier trusts a public key embedded in the token's own header (jwk)."
            }
            Flaw::JwtJkuFollowed => {
                "The verifier fetches the verification key from the URL named in the token's header (jku)."
            }
            Flaw::JwtKidTraversal => {
                "The verifier reads the HMAC secret from the file path named by the token's kid, so kid ../../dev/null means an empty key."
            }
            Flaw::JwtPsychicSignature => {
                "The ES256 verifier accepts an all-zero signature (r = s = 0), the psychic-signature bug."
            }
            Flaw::JwtExpiredAccepted => "The verifier accepts tokens after their expiry time.",
            Flaw::JwtNbfIgnored => "The verifier accepts tokens before their not-before time.",
            Flaw::JwtAudienceIgnored => "The verifier accepts tokens issued for another audience.",
            Flaw::JwtIssuerIgnored => "The verifier accepts tokens from another issuer.",
            Flaw::JwtInQuery => {
                "The protected endpoint accepts the access token from the URL query string."
            }
            Flaw::JwtMalformed500 => {
                "A malformed bearer token makes the server fail with 500 instead of refusing it with 401."
            }
            Flaw::TokenCacheable => {
                "Login and token responses carry Cache-Control: public, max-age=300 instead of no-store."
            }
            Flaw::NoCsp => "The HTML page is served without a Content-Security-Policy.",
            Flaw::CspUnsafeInline => {
                "The HTML page's CSP allows inline scripts with 'unsafe-inline'."
            }
            Flaw::CorsReflectsOrigin => {
                "Every Origin is reflected in Access-Control-Allow-Origin with Access-Control-Allow-Credentials: true."
            }
            Flaw::CsrfUnprotected => {
                "Logout and logout-everywhere accept requests without the CSRF token."
            }
            Flaw::TokenInBody => {
                "The JSON login response also returns the session id in its body, for scripts to store."
            }
            Flaw::RefreshNoRotation => {
                "The refresh grant hands back the same refresh token instead of rotating it, so a stolen one works indefinitely."
            }
            Flaw::RefreshReuseAccepted => {
                "Refresh tokens rotate, but a superseded one is still redeemed like the current one, so a stolen old token keeps minting tokens."
            }
            Flaw::RefreshNoFamilyRevocation => {
                "A reused (superseded) refresh token is refused, but its family is not revoked, so the current token keeps working."
            }
            Flaw::RefreshSurvivesLogout => {
                "Token logout answers 200 but revokes nothing, so the refresh token keeps working after logout."
            }
            Flaw::RefreshConcurrentDoubleSpend => {
                "The refresh grant checks and rotates in two steps 100 ms apart, so two simultaneous refreshes with one token both succeed."
            }
            Flaw::RevocationEndpointNoop => {
                "The revocation endpoint answers 200 but revokes nothing."
            }
            Flaw::RevocationEndpointStrict => {
                "The revocation endpoint answers 400 to a token it does not know, where RFC 7009 requires 200."
            }
            Flaw::RefreshStaleAccessToken => {
                "The refresh grant rotates the refresh token but hands back the previously issued access token instead of a new one."
            }
        }
    }

    /// Rule ids that must fail against a testbed running with this flaw.
    pub fn breaks(self) -> &'static [&'static str] {
        match self {
            Flaw::CookieNoHttpOnly => &["cookie.http-only"],
            Flaw::CookieNoSecure => &["cookie.secure", "cookie.prefix"],
            Flaw::CookieSameSiteNone => &["cookie.same-site"],
            Flaw::CookieNoSameSite => &["cookie.same-site"],
            Flaw::CookieParentDomain => &["cookie.scope", "cookie.prefix"],
            Flaw::CookiePrefixBroken => &["cookie.prefix"],
            Flaw::CookieLongLived => &["cookie.lifetime"],
            Flaw::CookieNotClearedOnLogout => &["cookie.cleared-on-logout"],
            Flaw::SessionIdReadable => &["session.opaque-id"],
            Flaw::SessionIdPredictable => &["session.id-entropy"],
            Flaw::SessionFixation => &["session.rotated-on-login"],
            Flaw::LogoutKeepsSession => &["session.revoked-on-logout", "session.model"],
            Flaw::LogoutEverywherePartial => &["session.logout-everywhere", "session.model"],
            Flaw::SessionPrefixMatch => &["session.tamper-rejected"],
            Flaw::SessionIdInUrl => &["session.not-in-url"],
            Flaw::JwtSecretInPayload => &["jwt.payload-no-secrets"],
            Flaw::JwtPiiInPayload => &["jwt.payload-no-personal-data"],
            Flaw::JwtLongLived => &["jwt.short-lived"],
            Flaw::JwtNoExp => &["jwt.expiry-present", "jwt.short-lived"],
            Flaw::JwtAlgNone => &["jwt.alg-none-rejected"],
            Flaw::JwtSignatureUnchecked => &["jwt.signature-required", "jwt.tamper-rejected"],
            Flaw::JwtKeyConfusion => &["jwt.key-confusion-rejected"],
            Flaw::JwtWeakSecret => &["jwt.weak-secret"],
            Flaw::JwtEmbeddedJwk => &["jwt.embedded-key-rejected"],
            Flaw::JwtJkuFollowed => &["jwt.jku-rejected"],
            Flaw::JwtKidTraversal => &["jwt.kid-injection-rejected"],
            Flaw::JwtPsychicSignature => &["jwt.psychic-signature-rejected"],
            Flaw::JwtExpiredAccepted => &["jwt.expired-rejected"],
            Flaw::JwtNbfIgnored => &["jwt.not-before-enforced"],
            Flaw::JwtAudienceIgnored => &["jwt.audience-enforced"],
            Flaw::JwtIssuerIgnored => &["jwt.issuer-enforced"],
            Flaw::JwtInQuery => &["jwt.not-in-url"],
            Flaw::JwtMalformed500 => &["jwt.malformed-no-server-error"],
            Flaw::TokenCacheable => &["transport.no-store"],
            Flaw::NoCsp => &["transport.csp"],
            Flaw::CspUnsafeInline => &["transport.csp"],
            Flaw::CorsReflectsOrigin => &["transport.cors-credentials"],
            Flaw::CsrfUnprotected => &["transport.csrf"],
            Flaw::TokenInBody => &["storage.token-in-body"],
            Flaw::RefreshNoRotation => &["refresh.rotated"],
            Flaw::RefreshReuseAccepted => &["refresh.reuse-rejected", "refresh.model"],
            Flaw::RefreshNoFamilyRevocation => &["refresh.reuse-revokes-family", "refresh.model"],
            Flaw::RefreshSurvivesLogout => &["refresh.revoked-on-logout", "refresh.model"],
            Flaw::RefreshConcurrentDoubleSpend => &["refresh.concurrent-reuse"],
            Flaw::RevocationEndpointNoop => &["refresh.revocation-endpoint", "refresh.model"],
            Flaw::RevocationEndpointStrict => &["refresh.revocation-endpoint"],
            Flaw::RefreshStaleAccessToken => &["refresh.issues-new-access"],
        }
    }

    /// Rule ids that may also fail with this flaw (a side effect, not the point of the flaw).
    pub fn may_break(self) -> &'static [&'static str] {
        match self {
            Flaw::SessionIdPredictable => &["session.tamper-rejected"],
            // An adopted id can outlive its revocation: after logout everywhere, a client
            // whose cookie was not cleared logs in again under the same id, and replaying the
            // ended session's cookie works again.
            Flaw::SessionFixation => &["session.model"],
            Flaw::JwtAlgNone => &["jwt.tamper-rejected"],
            Flaw::JwtSignatureUnchecked => &[
                "jwt.alg-none-rejected",
                "jwt.key-confusion-rejected",
                "jwt.embedded-key-rejected",
                "jwt.jku-rejected",
                "jwt.kid-injection-rejected",
                "jwt.psychic-signature-rejected",
            ],
            Flaw::JwtMalformed500 => &["jwt.tamper-rejected"],
            Flaw::RefreshNoRotation => &[
                "refresh.reuse-rejected",
                "refresh.reuse-revokes-family",
                "refresh.concurrent-reuse",
                "refresh.model",
            ],
            Flaw::RefreshReuseAccepted => {
                &["refresh.reuse-revokes-family", "refresh.concurrent-reuse"]
            }
            Flaw::RefreshNoFamilyRevocation => &["refresh.concurrent-reuse"],
            Flaw::RefreshConcurrentDoubleSpend => &["refresh.model"],
            Flaw::RevocationEndpointStrict => &["refresh.model"],
            // A refresh that returns an earlier access token is a broken refresh: rules whose
            // steps refresh fail or cannot set up.
            Flaw::RefreshStaleAccessToken => &[
                "refresh.rotated",
                "refresh.reuse-rejected",
                "refresh.reuse-revokes-family",
                "refresh.concurrent-reuse",
                "refresh.model",
            ],
            _ => &[],
        }
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of [`Flaw::from_str`]: the name is not one of [`Flaw::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flaw `{name}`; valid flaws: {}", valid_names())]
pub struct UnknownFlaw {
    /// The name that was given.
    pub name: String,
}

fn valid_names() -> String {
    Flaw::ALL
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Flaw {
    type Err = UnknownFlaw;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Flaw::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFlaw { name: s.to_owned() })
    }
}

impl serde::Serialize for Flaw {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Flaw {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_through_from_str() {
        for &flaw in Flaw::ALL {
            assert_eq!(flaw.name().parse::<Flaw>(), Ok(flaw));
            assert_eq!(flaw.to_string(), flaw.name());
        }
    }

    #[test]
    fn all_is_sorted_unique_and_complete() {
        assert!(Flaw::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Flaw::ALL.len(), 47);
    }

    #[test]
    fn names_are_kebab_case_and_every_flaw_breaks_something() {
        for &flaw in Flaw::ALL {
            let name = flaw.name();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
            assert!(!flaw.breaks().is_empty(), "{name}");
            assert!(flaw.description().ends_with('.'), "{name}");
            for id in flaw.may_break() {
                assert!(!flaw.breaks().contains(id), "{name}: {id}");
            }
        }
    }

    #[test]
    fn unknown_name_error_lists_valid_names() {
        let err = "cookie-no-http-only".parse::<Flaw>().unwrap_err();
        assert_eq!(err.name, "cookie-no-http-only");
        let message = err.to_string();
        for &flaw in Flaw::ALL {
            assert!(message.contains(flaw.name()), "{message}");
        }
    }

    #[test]
    fn serializes_as_name() {
        let json = serde_json::to_string(&Flaw::ALL).unwrap();
        assert!(json.starts_with("[\"cookie-no-httponly\","), "{json}");
        let back: Vec<Flaw> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Flaw::ALL);
    }
}
