//! The quirk switches: each [`Quirk`] adds one legitimate behaviour real services show, under
//! which every promise still holds.
//!
//! This file owns the closed list of quirks, their names (the `--quirk NAME` spelling) and the
//! behaviour each one adds. It must not implement any behaviour (the server consults
//! `TestbedConfig::quirks` where the behaviour lives, so every quirk stays visible at the one
//! place it changes) and must not know rule ids: which verdicts a quirk may make untestable is
//! the business of the modules above the testbed.

use std::fmt;
use std::str::FromStr;

/// One legitimate behaviour the testbed can be started with.
///
/// Where a [`Flaw`](super::Flaw) breaks a promise, a quirk keeps every promise and only changes
/// *how* the service keeps it, the way real services differ from the reference one. Quirks
/// combine freely with each other and with flaws (a set of them is kept in `TestbedConfig`);
/// each changes only the behaviour its documentation names, and the testbed module docs give
/// the HTTP contract of each. A new variant needs a row in this file's table (name and
/// description).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Quirk {
    /// Session ids are padded standard base64 written percent-encoded in the cookie value
    /// (`+`, `/`, `=` as `%2B`, `%2F`, `%3D`); the server percent-decodes the value (hex digits
    /// in either case) before the lookup.
    PercentEncodedCookie,
    /// The session travels in two cookies: the id in `__Host-session` and its HMAC in
    /// `__Host-session.sig`; a request is authenticated only when both are present and match.
    SignedCookiePair,
    /// Logout and logout-everywhere rely on the `SameSite=Lax` cookie alone and need no CSRF
    /// token (the login still checks its token).
    SameSiteOnlyCsrf,
    /// Revoking an access token at `/oauth/revoke` also revokes the refresh-token family it was
    /// issued from (RFC 7009 §2.1).
    GrantWideRevocation,
    /// Refresh grants hand back the presented refresh token (a declared non-rotating refresh
    /// token) with a new access token.
    RefreshNotRotated,
    /// Access tokens are RS256-signed; the JWKS publishes the RSA key and the verifier pins
    /// RS256.
    Rs256Tokens,
    /// Access tokens are opaque random strings looked up on the server, not JWTs.
    OpaqueAccessTokens,
    /// Every 17th request answers 503 with `Retry-After: 0` and every 29th has its connection
    /// closed without an answer; the same request sent again is never faulted.
    TransientFaults,
    /// Every password check takes 150 ms and only one runs at a time.
    SlowLogins,
    /// A path carrying a `;` path parameter answers 404.
    PathParam404,
    /// `GET /` answers JSON instead of the HTML page.
    JsonOnly,
    /// Token logout revokes the refresh-token family but leaves the (short-lived, stateless)
    /// access token valid until its `exp`, as a service declaring stateless access tokens does.
    StatelessAccessTokens,
}

impl Quirk {
    /// Every quirk, in declaration (and `Ord`) order.
    pub const ALL: &'static [Quirk] = &{
        let mut all = [Quirk::PercentEncodedCookie; TABLE.len()];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].quirk;
            i += 1;
        }
        all
    };

    /// The kebab-case name used by `--quirk NAME`, e.g. `signed-cookie-pair`.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// One sentence: the legitimate behaviour this quirk adds.
    pub fn description(self) -> &'static str {
        self.row().description
    }

    fn row(self) -> &'static Row {
        &TABLE[self as usize]
    }
}

/// One row of [`TABLE`].
struct Row {
    quirk: Quirk,
    /// The `--quirk` name.
    name: &'static str,
    /// The behaviour the quirk adds, in one sentence.
    description: &'static str,
}

/// Every quirk with its name and description, one row per variant in declaration order
/// (checked at compile time below).
const TABLE: &[Row] = &[
    Row {
        quirk: Quirk::PercentEncodedCookie,
        name: "percent-encoded-cookie",
        description: "Session ids are base64 written percent-encoded in the cookie (%2B, %2F, %3D), and the server decodes the value before looking it up, so %2b and %2B name the same session.",
    },
    Row {
        quirk: Quirk::SignedCookiePair,
        name: "signed-cookie-pair",
        description: "The session travels in two cookies, the id and its HMAC signature, as signed-cookie middlewares do; only both together authenticate.",
    },
    Row {
        quirk: Quirk::SameSiteOnlyCsrf,
        name: "samesite-only-csrf",
        description: "Logout and logout-everywhere need no CSRF token: the SameSite=Lax session cookie alone keeps cross-site requests out.",
    },
    Row {
        quirk: Quirk::GrantWideRevocation,
        name: "grant-wide-revocation",
        description: "Revoking an access token also revokes the grant it came from, refresh token included, as RFC 7009 allows.",
    },
    Row {
        quirk: Quirk::RefreshNotRotated,
        name: "refresh-not-rotated",
        description: "Refresh tokens do not rotate: a refresh grant returns the same refresh token with a new access token, as a service declaring non-rotating refresh tokens does.",
    },
    Row {
        quirk: Quirk::Rs256Tokens,
        name: "rs256-tokens",
        description: "Access tokens are signed RS256 and the JWKS publishes the RSA public key; the verifier accepts RS256 only.",
    },
    Row {
        quirk: Quirk::OpaqueAccessTokens,
        name: "opaque-access-tokens",
        description: "Access tokens are opaque random strings the server looks up, not JWTs.",
    },
    Row {
        quirk: Quirk::TransientFaults,
        name: "transient-faults",
        description: "Every 17th request answers 503 with Retry-After: 0 and every 29th has its connection closed without an answer; sending the same request again succeeds.",
    },
    Row {
        quirk: Quirk::SlowLogins,
        name: "slow-logins",
        description: "Every password check takes 150 ms and logins are processed one at a time, like a single worker with a slow password hash.",
    },
    Row {
        quirk: Quirk::PathParam404,
        name: "path-param-404",
        description: "A URL whose path carries a ;name=value path parameter answers 404, as most frameworks do.",
    },
    Row {
        quirk: Quirk::JsonOnly,
        name: "json-only",
        description: "The service has no HTML: GET / answers a JSON description of the service.",
    },
    Row {
        quirk: Quirk::StatelessAccessTokens,
        name: "stateless-access-tokens",
        description: "Token logout ends the refresh token, while the 5-minute access token stays valid until it expires, as a service declaring stateless access tokens does.",
    },
];

// Row `i` describes the variant whose discriminant is `i`: `Quirk::row` indexes by discriminant.
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        assert!(
            TABLE[i].quirk as usize == i,
            "TABLE rows follow the declaration order of Quirk"
        );
        i += 1;
    }
};

impl fmt::Display for Quirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of [`Quirk::from_str`]: the name is not one of [`Quirk::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quirk `{name}`; valid quirks: {}", valid_names())]
pub struct UnknownQuirk {
    /// The name that was given.
    pub name: String,
}

fn valid_names() -> String {
    Quirk::ALL
        .iter()
        .map(|q| q.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Quirk {
    type Err = UnknownQuirk;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quirk::ALL
            .iter()
            .copied()
            .find(|q| q.name() == s)
            .ok_or_else(|| UnknownQuirk { name: s.to_owned() })
    }
}

impl serde::Serialize for Quirk {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Quirk {
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
        for &quirk in Quirk::ALL {
            assert_eq!(quirk.name().parse::<Quirk>(), Ok(quirk));
            assert_eq!(quirk.to_string(), quirk.name());
        }
    }

    #[test]
    fn all_is_sorted_unique_and_complete() {
        assert!(Quirk::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Quirk::ALL.len(), 12);
    }

    #[test]
    fn names_are_kebab_case_and_descriptions_are_sentences() {
        for &quirk in Quirk::ALL {
            let name = quirk.name();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
            assert!(quirk.description().ends_with('.'), "{name}");
        }
    }

    #[test]
    fn unknown_name_error_lists_valid_names() {
        let err = "percent-encoded".parse::<Quirk>().unwrap_err();
        assert_eq!(err.name, "percent-encoded");
        let message = err.to_string();
        for &quirk in Quirk::ALL {
            assert!(message.contains(quirk.name()), "{message}");
        }
    }

    #[test]
    fn serializes_as_name() {
        let json = serde_json::to_string(&Quirk::ALL).unwrap();
        assert!(json.starts_with("[\"percent-encoded-cookie\","), "{json}");
        let back: Vec<Quirk> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Quirk::ALL);
    }
}
