//! The flaw switches: each [`Flaw`] breaks exactly one promise of the reference service.
//!
//! This file owns the closed list of flaws, their names (the `--flaw NAME` spelling) and the
//! promise each one breaks. It must not implement any behaviour (the server consults
//! `TestbedConfig::flaws` where the behaviour lives, so every flaw stays visible at the one
//! place it changes) and must not know rule ids: which catalogue rules each flaw breaks is the
//! business of the demo module above the testbed.

use std::fmt;
use std::str::FromStr;

/// One deliberate defect the testbed can be started with.
///
/// Flaws combine freely (a set of them is kept in `TestbedConfig`); each changes only the
/// behaviour its documentation names. A new variant needs a row in this file's table (name and
/// description) and an expectation in the demo module (the rules it breaks).
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
    /// Logout and logout-everywhere do not check the CSRF token, and the session cookie is
    /// `SameSite=None`, so browsers send it on cross-site requests.
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
    /// `/api/token/logout` answers 200 but leaves the refresh-token family alive (the access
    /// token it was called with is still deny-listed).
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
    /// `/api/token/logout` revokes the refresh-token family but not the access token it was
    /// called with, which keeps working until it expires.
    TokenLogoutKeepsAccess,
    /// JSON responses go out without `Content-Security-Policy` (`frame-ancestors`) and
    /// `X-Content-Type-Options: nosniff`.
    ApiHeadersMissing,
    /// Each instance keeps its own revocation state (revoked sessions, refresh-token families
    /// and access-token ids): a logout or revocation on one instance is not seen by the
    /// others. Implies two replicas when none are asked for.
    ReplicaLocalRevocation,
    /// ID tokens also carry a bcrypt `password_hash` claim (access tokens stay clean).
    IdTokenSecretInPayload,
    /// ID tokens live 24 hours (`exp = iat + 86400`; access tokens stay short-lived).
    IdTokenLongLived,
    /// The relying-party sign-in (`POST /auth/oidc`) checks an ID token's claims but never its
    /// signature, whatever the `alg` (the access-token verifier stays strict).
    IdTokenSignatureUnchecked,
    /// The session id is a Flask (itsdangerous) cookie: `.`, base64url of zlib-compressed
    /// JSON with the user's data, then a timestamp and a signature.
    SessionIdFlask,
    /// The session id is a Django signed cookie: compressed JSON with the user's data,
    /// `:timestamp:signature`.
    SessionIdDjango,
    /// The session id is a Rack/Rails cookie: base64 of a Ruby Marshal hash with the user's
    /// data, `--` and an HMAC digest.
    SessionIdRails,
    /// The session id is the percent-encoded base64 of a PHP `serialize()`d array with the
    /// user's data.
    SessionIdPhpSerialized,
    /// The session id is the base64 of a Java-serialized object with the user's data.
    SessionIdJavaSerialized,
    /// The session id is base64url MessagePack with the user's data.
    SessionIdMsgpack,
    /// The session id is base64url CBOR with the user's data.
    SessionIdCbor,
    /// The JWKS marks the key access tokens are signed with `use: enc` (for encryption).
    JwksEncKeySigns,
    /// The JWKS also publishes a symmetric (`oct`) key: an HMAC secret (random, unused).
    JwksPublishesSecret,
    /// The JWKS also publishes an RSA key from the ROCA-vulnerable generator (unused).
    JwksRocaKey,
}

impl Flaw {
    /// Every flaw, in declaration (and `Ord`) order.
    pub const ALL: &'static [Flaw] = &{
        let mut all = [Flaw::CookieNoHttpOnly; TABLE.len()];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].flaw;
            i += 1;
        }
        all
    };

    /// The kebab-case name used by `--flaw NAME`, e.g. `cookie-no-httponly`.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// One sentence: the promise this flaw breaks.
    pub fn description(self) -> &'static str {
        self.row().description
    }

    fn row(self) -> &'static Row {
        &TABLE[self as usize]
    }
}

/// One row of [`TABLE`].
struct Row {
    flaw: Flaw,
    /// The `--flaw` name.
    name: &'static str,
    /// The promise the flaw breaks, in one sentence.
    description: &'static str,
}

/// Every flaw with its name and description, one row per variant in declaration order (checked
/// at compile time below).
const TABLE: &[Row] = &[
    Row {
        flaw: Flaw::CookieNoHttpOnly,
        name: "cookie-no-httponly",
        description: "The session cookie is set without HttpOnly, so page scripts (and any XSS) can read it.",
    },
    Row {
        flaw: Flaw::CookieNoSecure,
        name: "cookie-no-secure",
        description: "The session cookie is set without Secure, so it may travel over plain HTTP (and its __Host- prefix is invalid).",
    },
    Row {
        flaw: Flaw::CookieSameSiteNone,
        name: "cookie-samesite-none",
        description: "The session cookie is set with SameSite=None, so browsers send it on cross-site requests.",
    },
    Row {
        flaw: Flaw::CookieNoSameSite,
        name: "cookie-no-samesite",
        description: "The session cookie is set without a SameSite attribute, leaving cross-site behaviour to browser defaults.",
    },
    Row {
        flaw: Flaw::CookieParentDomain,
        name: "cookie-parent-domain",
        description: "The session cookie is scoped with Domain= to the parent domain, so sibling hosts receive it.",
    },
    Row {
        flaw: Flaw::CookiePrefixBroken,
        name: "cookie-prefix-broken",
        description: "The __Host- session cookie is set with Path=/api, breaking the prefix's Path=/ requirement.",
    },
    Row {
        flaw: Flaw::CookieLongLived,
        name: "cookie-long-lived",
        description: "The session cookie set at login persists for two years instead of ending with the browser session.",
    },
    Row {
        flaw: Flaw::CookieNotClearedOnLogout,
        name: "cookie-not-cleared-on-logout",
        description: "Logout ends the session on the server but does not tell the browser to delete the cookie.",
    },
    Row {
        flaw: Flaw::SessionIdReadable,
        name: "session-id-readable",
        description: "The session id is base64url JSON carrying the user name and role instead of an opaque random value.",
    },
    Row {
        flaw: Flaw::SessionIdPredictable,
        name: "session-id-predictable",
        description: "Session ids come from a counter, so one id reveals its neighbours.",
    },
    Row {
        flaw: Flaw::SessionFixation,
        name: "session-fixation",
        description: "An attacker-chosen session id is adopted and survives login, because no new id is issued at login.",
    },
    Row {
        flaw: Flaw::LogoutKeepsSession,
        name: "logout-keeps-session",
        description: "Logout clears the cookie but keeps the server-side session, so a replayed cookie still works.",
    },
    Row {
        flaw: Flaw::LogoutEverywherePartial,
        name: "logout-everywhere-partial",
        description: "Logging out everywhere ends only the current session; the user's other sessions stay alive.",
    },
    Row {
        flaw: Flaw::SessionPrefixMatch,
        name: "session-prefix-match",
        description: "Session lookup accepts an altered id that shares its first 16 characters with a live one.",
    },
    Row {
        flaw: Flaw::SessionIdInUrl,
        name: "session-id-in-url",
        description: "The protected endpoint accepts the session id from the URL query string.",
    },
    Row {
        flaw: Flaw::JwtSecretInPayload,
        name: "jwt-secret-in-payload",
        description: "Access tokens carry secrets (a password hash and an API key) in their readable payload.",
    },
    Row {
        flaw: Flaw::JwtPiiInPayload,
        name: "jwt-pii-in-payload",
        description: "Access tokens carry personal data (email, phone, postal address) in their readable payload.",
    },
    Row {
        flaw: Flaw::JwtLongLived,
        name: "jwt-long-lived",
        description: "Access tokens stay valid for 24 hours instead of minutes.",
    },
    Row {
        flaw: Flaw::JwtNoExp,
        name: "jwt-no-exp",
        description: "Access tokens carry no expiry, and the verifier accepts tokens without one.",
    },
    Row {
        flaw: Flaw::JwtAlgNone,
        name: "jwt-alg-none",
        description: "The verifier accepts unsigned tokens whose header says alg none.",
    },
    Row {
        flaw: Flaw::JwtSignatureUnchecked,
        name: "jwt-signature-unchecked",
        description: "The verifier checks a token's claims but never its signature.",
    },
    Row {
        flaw: Flaw::JwtKeyConfusion,
        name: "jwt-key-confusion",
        description: "The verifier accepts HS256 tokens whose HMAC secret is the server's public RSA key (algorithm confusion).",
    },
    Row {
        flaw: Flaw::JwtWeakSecret,
        name: "jwt-weak-secret",
        description: "Tokens are signed with HS256 and a guessable secret, so anyone can forge them.",
    },
    Row {
        flaw: Flaw::JwtEmbeddedJwk,
        name: "jwt-embedded-jwk",
        description: "The verifier trusts a public key embedded in the token's own header (jwk).",
    },
    Row {
        flaw: Flaw::JwtJkuFollowed,
        name: "jwt-jku-followed",
        description: "The verifier fetches the verification key from the URL named in the token's header (jku).",
    },
    Row {
        flaw: Flaw::JwtKidTraversal,
        name: "jwt-kid-traversal",
        description: "The verifier reads the HMAC secret from the file path named by the token's kid, so kid ../../dev/null means an empty key.",
    },
    Row {
        flaw: Flaw::JwtPsychicSignature,
        name: "jwt-psychic-signature",
        description: "The ES256 verifier accepts an all-zero signature (r = s = 0), the psychic-signature bug.",
    },
    Row {
        flaw: Flaw::JwtExpiredAccepted,
        name: "jwt-expired-accepted",
        description: "The verifier accepts tokens after their expiry time.",
    },
    Row {
        flaw: Flaw::JwtNbfIgnored,
        name: "jwt-nbf-ignored",
        description: "The verifier accepts tokens before their not-before time.",
    },
    Row {
        flaw: Flaw::JwtAudienceIgnored,
        name: "jwt-audience-ignored",
        description: "The verifier accepts tokens issued for another audience.",
    },
    Row {
        flaw: Flaw::JwtIssuerIgnored,
        name: "jwt-issuer-ignored",
        description: "The verifier accepts tokens from another issuer.",
    },
    Row {
        flaw: Flaw::JwtInQuery,
        name: "jwt-in-query",
        description: "The protected endpoint accepts the access token from the URL query string.",
    },
    Row {
        flaw: Flaw::JwtMalformed500,
        name: "jwt-malformed-500",
        description: "A malformed bearer token makes the server fail with 500 instead of refusing it with 401.",
    },
    Row {
        flaw: Flaw::TokenCacheable,
        name: "token-cacheable",
        description: "Login and token responses carry Cache-Control: public, max-age=300 instead of no-store.",
    },
    Row {
        flaw: Flaw::NoCsp,
        name: "no-csp",
        description: "The HTML page is served without a Content-Security-Policy.",
    },
    Row {
        flaw: Flaw::CspUnsafeInline,
        name: "csp-unsafe-inline",
        description: "The HTML page's CSP allows inline scripts with 'unsafe-inline'.",
    },
    Row {
        flaw: Flaw::CorsReflectsOrigin,
        name: "cors-reflects-origin",
        description: "Every Origin is reflected in Access-Control-Allow-Origin with Access-Control-Allow-Credentials: true.",
    },
    Row {
        flaw: Flaw::CsrfUnprotected,
        name: "csrf-unprotected",
        description: "Logout and logout-everywhere accept requests without the CSRF token, and the session cookie is SameSite=None, so a page on any site can log the user out.",
    },
    Row {
        flaw: Flaw::TokenInBody,
        name: "token-in-body",
        description: "The JSON login response also returns the session id in its body, for scripts to store.",
    },
    Row {
        flaw: Flaw::RefreshNoRotation,
        name: "refresh-no-rotation",
        description: "The refresh grant hands back the same refresh token instead of rotating it, so a stolen one works indefinitely.",
    },
    Row {
        flaw: Flaw::RefreshReuseAccepted,
        name: "refresh-reuse-accepted",
        description: "Refresh tokens rotate, but a superseded one is still redeemed like the current one, so a stolen old token keeps minting tokens.",
    },
    Row {
        flaw: Flaw::RefreshNoFamilyRevocation,
        name: "refresh-no-family-revocation",
        description: "A reused (superseded) refresh token is refused, but its family is not revoked, so the current token keeps working.",
    },
    Row {
        flaw: Flaw::RefreshSurvivesLogout,
        name: "refresh-survives-logout",
        description: "Token logout answers 200 but leaves the refresh token alive, so it keeps minting access tokens after logout.",
    },
    Row {
        flaw: Flaw::RefreshConcurrentDoubleSpend,
        name: "refresh-concurrent-double-spend",
        description: "The refresh grant checks and rotates in two steps 100 ms apart, so two simultaneous refreshes with one token both succeed.",
    },
    Row {
        flaw: Flaw::RevocationEndpointNoop,
        name: "revocation-endpoint-noop",
        description: "The revocation endpoint answers 200 but revokes nothing.",
    },
    Row {
        flaw: Flaw::RevocationEndpointStrict,
        name: "revocation-endpoint-strict",
        description: "The revocation endpoint answers 400 to a token it does not know, where RFC 7009 requires 200.",
    },
    Row {
        flaw: Flaw::RefreshStaleAccessToken,
        name: "refresh-stale-access-token",
        description: "The refresh grant rotates the refresh token but hands back the previously issued access token instead of a new one.",
    },
    Row {
        flaw: Flaw::TokenLogoutKeepsAccess,
        name: "token-logout-keeps-access",
        description: "Token logout revokes the refresh token but not the access token, which keeps working after logout until it expires.",
    },
    Row {
        flaw: Flaw::ApiHeadersMissing,
        name: "api-headers-missing",
        description: "JSON API responses carry no Content-Security-Policy (frame-ancestors) and no X-Content-Type-Options: nosniff.",
    },
    Row {
        flaw: Flaw::ReplicaLocalRevocation,
        name: "replica-local-revocation",
        description: "Each instance keeps its own revocation state, like a per-instance cache in front of a shared store: a logout or revocation on one instance is not seen by the others (implies 2 replicas).",
    },
    Row {
        flaw: Flaw::IdTokenSecretInPayload,
        name: "id-token-secret-in-payload",
        description: "ID tokens carry a password hash, readable by anyone who holds the token (the browser app that keeps it, its logs).",
    },
    Row {
        flaw: Flaw::IdTokenLongLived,
        name: "id-token-long-lived",
        description: "ID tokens live 24 hours, so a leaked one can sign its holder in all day.",
    },
    Row {
        flaw: Flaw::IdTokenSignatureUnchecked,
        name: "id-token-signature-unchecked",
        description: "The relying party's ID-token sign-in never checks the signature, so unsigned and tampered ID tokens sign anyone in.",
    },
    Row {
        flaw: Flaw::SessionIdFlask,
        name: "session-id-flask",
        description: "The session id is a Flask (itsdangerous) cookie: signed but only zlib-compressed JSON carrying the user id, name and role.",
    },
    Row {
        flaw: Flaw::SessionIdDjango,
        name: "session-id-django",
        description: "The session id is a Django signed cookie: compressed JSON carrying the user id, name and role, readable without the key.",
    },
    Row {
        flaw: Flaw::SessionIdRails,
        name: "session-id-rails",
        description: "The session id is a Rack/Rails cookie store value: base64 of a Ruby Marshal hash carrying the user id, name and role.",
    },
    Row {
        flaw: Flaw::SessionIdPhpSerialized,
        name: "session-id-php-serialized",
        description: "The session id is percent-encoded base64 of a PHP serialize()d array carrying the user id, name and role.",
    },
    Row {
        flaw: Flaw::SessionIdJavaSerialized,
        name: "session-id-java-serialized",
        description: "The session id is a base64 Java-serialized object (rO0AB…) carrying the user id, name and role.",
    },
    Row {
        flaw: Flaw::SessionIdMsgpack,
        name: "session-id-msgpack",
        description: "The session id is base64url MessagePack carrying the user id, name and role.",
    },
    Row {
        flaw: Flaw::SessionIdCbor,
        name: "session-id-cbor",
        description: "The session id is base64url CBOR carrying the user id, name and role.",
    },
    Row {
        flaw: Flaw::JwksEncKeySigns,
        name: "jwks-enc-key-signs",
        description: "The JWKS marks the key that signs access tokens as an encryption key (use enc).",
    },
    Row {
        flaw: Flaw::JwksPublishesSecret,
        name: "jwks-publishes-secret",
        description: "The JWKS also publishes a symmetric HMAC key (kty oct): a secret anyone can read.",
    },
    Row {
        flaw: Flaw::JwksRocaKey,
        name: "jwks-roca-key",
        description: "The JWKS also publishes an RSA key from the ROCA-vulnerable Infineon generator (CVE-2017-15361), whose private half can be computed.",
    },
];

// Row `i` describes the variant whose discriminant is `i`: `Flaw::row` indexes by discriminant.
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        assert!(
            TABLE[i].flaw as usize == i,
            "TABLE rows follow the declaration order of Flaw"
        );
        i += 1;
    }
};

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
        assert_eq!(Flaw::ALL.len(), 63);
    }

    #[test]
    fn names_are_kebab_case_and_descriptions_are_sentences() {
        for &flaw in Flaw::ALL {
            let name = flaw.name();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
            assert!(flaw.description().ends_with('.'), "{name}");
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
