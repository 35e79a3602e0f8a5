//! The testbed's bearer-token verifier: how a presented access token is checked, and where
//! each verifying `jwt-*` flaw (alg none, unchecked signatures, key confusion, embedded or
//! fetched keys, kid traversal, psychic signatures, ignored claims, tokens in the URL, 500 on
//! malformed input) opens an extra way in.
//!
//! This file owns the bearer check every protected token route goes through. Clean, the
//! verifier pins the algorithm, requires `iss`/`aud`/`sub`/`exp` and checks `exp`/`nbf` with no
//! leeway; under the `opaque-access-tokens` quirk it looks the token up instead (no JWT, so
//! none of the verifying flaws but `jwt-expired-accepted` and `jwt-in-query` applies). It must verify with the third-party `jsonwebtoken` crate (plus `aws-lc-rs` HMAC
//! where a flaw needs an empty key), never with authprobe's own JWT code; it must not panic or
//! answer 500 on anything a client sends (except under `jwt-malformed-500`); and the flawed
//! acceptance paths must still apply the same claim checks as the clean path, so each flaw
//! breaks one promise only.

use std::io::Read as _;
use std::str::FromStr as _;
use std::time::Duration;

use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Map, Value};

use super::flaw::Flaw;
use super::http::{error, query_param};
use super::quirk::Quirk;
use super::tokens::{DEMO_RS256_PUBLIC_KEY_PEM, Tokens};

/// Largest JWKS body `jwt-jku-followed` reads.
const MAX_JWKS_BODY: usize = 64 * 1024;
/// Largest key file `jwt-kid-traversal` reads.
const MAX_KID_FILE: u64 = 64 * 1024;
/// How long `jwt-kid-traversal` waits for a key file.
const KID_FILE_TIMEOUT: Duration = Duration::from_secs(1);

/// The claims of the request's bearer token if the verifier accepts it and its `jti` is not
/// revoked; otherwise the 401 to answer (500 under `jwt-malformed-500` for a malformed
/// token). With `query`, a request without `Authorization` may carry the token as
/// `?access_token=`.
pub(super) async fn authorize(
    tokens: &Tokens,
    headers: &HeaderMap,
    query: Option<&Uri>,
) -> Result<Value, Response> {
    let presented = match headers.get(header::AUTHORIZATION) {
        // Non-ASCII bytes are kept (lossily) so they reach the verifier and are refused as a
        // malformed token, not mistaken for a missing one.
        Some(value) => bearer_token(&String::from_utf8_lossy(value.as_bytes())),
        None => query.and_then(|uri| query_param(uri, "access_token")),
    };
    let Some(token) = presented.filter(|t| !t.is_empty()) else {
        // RFC 6750 §3.1: no error code when the request carried no token.
        return Err(with_challenge(
            error(StatusCode::UNAUTHORIZED, "unauthenticated"),
            "Bearer",
        ));
    };
    let invalid = || {
        with_challenge(
            error(StatusCode::UNAUTHORIZED, "invalid_token"),
            r#"Bearer error="invalid_token""#,
        )
    };
    match verify(tokens, &token).await {
        Ok(claims) => {
            let revoked = claims
                .get("jti")
                .and_then(Value::as_str)
                .is_some_and(|jti| tokens.families().is_jti_revoked(jti));
            if revoked { Err(invalid()) } else { Ok(claims) }
        }
        Err(Rejection::Malformed) if tokens.has(Flaw::JwtMalformed500) => {
            // Flaw: a parse failure escapes as a server error.
            Err(error(StatusCode::INTERNAL_SERVER_ERROR, "internal"))
        }
        Err(_) => Err(invalid()),
    }
}

/// The token of an `Authorization: Bearer TOKEN` value (scheme case-insensitive).
fn bearer_token(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn with_challenge(mut response: Response, challenge: &'static str) -> Response {
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

// ---------------------------------------------------------------------------------------------
// Verification

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq)]
enum Rejection {
    /// Not three base64url segments with a JSON-object header and payload.
    Malformed,
    /// Well-formed, but its signature, algorithm or claims are not acceptable.
    Invalid,
}

/// A token split into its segments, with the header parsed.
struct Parts<'t> {
    header: Map<String, Value>,
    /// `header.payload`, the signed bytes.
    signing_input: &'t str,
    payload_b64: &'t str,
    /// `None` for a two-segment token.
    signature: Option<Vec<u8>>,
}

/// Splits `token` into two or three base64url segments; the header and payload must be JSON
/// objects and the signature (when present) base64url.
fn split(token: &str) -> Option<Parts<'_>> {
    let mut segments = token.split('.');
    let (header_b64, payload_b64) = (segments.next()?, segments.next()?);
    let signature_b64 = segments.next();
    if segments.next().is_some() {
        return None;
    }
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).ok()?).ok()?;
    serde_json::from_slice::<Map<String, Value>>(&URL_SAFE_NO_PAD.decode(payload_b64).ok()?)
        .ok()?;
    let signature = match signature_b64 {
        Some(s) => Some(URL_SAFE_NO_PAD.decode(s).ok()?),
        None => None,
    };
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    Some(Parts {
        header,
        signing_input,
        payload_b64,
        signature,
    })
}

/// The claims of `token` if the verifier (as the active flaws bend it) accepts it.
///
/// Each flawed path is an *extra* way in: when it does not apply or fails, the clean check
/// still runs. Every path applies the same claim checks.
async fn verify(tokens: &Tokens, token: &str) -> Result<Value, Rejection> {
    // Quirk: no JWTs at all, the server remembers what each token stands for.
    if tokens.has_quirk(Quirk::OpaqueAccessTokens) {
        return tokens.opaque_claims(token).ok_or(Rejection::Invalid);
    }
    let parts = split(token).ok_or(Rejection::Malformed)?;
    let alg = parts
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("");
    let is_none = alg.eq_ignore_ascii_case("none");
    let Some(signature) = &parts.signature else {
        // Flaw: an unsigned two-segment token with alg none.
        if tokens.has(Flaw::JwtAlgNone) && is_none {
            return tokens.check_claims(parts.payload_b64);
        }
        return Err(Rejection::Malformed);
    };
    // Flaw: the signature is never looked at.
    if tokens.has(Flaw::JwtSignatureUnchecked) {
        return tokens.check_claims(parts.payload_b64);
    }
    // Flaw: alg none with an empty signature.
    if tokens.has(Flaw::JwtAlgNone) && is_none && signature.is_empty() {
        return tokens.check_claims(parts.payload_b64);
    }
    // Flaw: r = s = 0 passes ES256 verification (CVE-2022-21449).
    if tokens.has(Flaw::JwtPsychicSignature)
        && alg == "ES256"
        && signature.len() == 64
        && signature.iter().all(|&b| b == 0)
    {
        return tokens.check_claims(parts.payload_b64);
    }
    // Flaw: the kid names the file holding the HMAC secret.
    if tokens.has(Flaw::JwtKidTraversal)
        && alg == "HS256"
        && let Some(kid) = parts.header.get("kid").and_then(Value::as_str)
        && let Some(secret) = read_key_file(kid.to_owned()).await
    {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
        if aws_lc_rs::hmac::verify(&key, parts.signing_input.as_bytes(), signature).is_ok() {
            return tokens.check_claims(parts.payload_b64);
        }
    }
    // Flaw: HS256 keyed with the public RSA key's PEM text.
    if tokens.has(Flaw::JwtKeyConfusion) && alg == "HS256" {
        let pem = DEMO_RS256_PUBLIC_KEY_PEM;
        for secret in [pem, pem.trim_end()] {
            let key = DecodingKey::from_secret(secret.as_bytes());
            if let Ok(claims) = tokens.decode_with(token, &key, Algorithm::HS256) {
                return Ok(claims);
            }
        }
    }
    // Flaw: the token brings its own key.
    if tokens.has(Flaw::JwtEmbeddedJwk)
        && let Some(jwk) = parts.header.get("jwk")
        && let Ok(jwk) = serde_json::from_value::<Jwk>(jwk.clone())
        && let Ok(claims) = tokens.decode_with_jwk(token, &jwk, alg)
    {
        return Ok(claims);
    }
    // Flaw: the token names where to fetch its key.
    if let Some(client) = &tokens.jku_client
        && let Some(jku) = parts.header.get("jku").and_then(Value::as_str)
        && let Some(kid) = parts.header.get("kid").and_then(Value::as_str)
        && is_loopback_url(jku)
        && let Some(set) = fetch_jwks(client, jku).await
        && let Some(jwk) = set.find(kid)
        && let Ok(claims) = tokens.decode_with_jwk(token, jwk, alg)
    {
        return Ok(claims);
    }
    tokens.decode_with(token, &tokens.verifying_key, tokens.alg)
}

impl Tokens {
    /// `jsonwebtoken::decode` with this verifier's claim checks, pinned to `alg`.
    fn decode_with(
        &self,
        token: &str,
        key: &DecodingKey,
        alg: Algorithm,
    ) -> Result<Value, Rejection> {
        let mut validation = self.validation.clone();
        validation.algorithms = vec![alg];
        jsonwebtoken::decode::<Value>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| Rejection::Invalid)
    }

    /// Verification with a key the token itself pointed at, for the header's `alg` when it
    /// fits that key.
    fn decode_with_jwk(&self, token: &str, jwk: &Jwk, alg: &str) -> Result<Value, Rejection> {
        let key = DecodingKey::from_jwk(jwk).map_err(|_| Rejection::Invalid)?;
        let alg = Algorithm::from_str(alg).map_err(|_| Rejection::Invalid)?;
        if alg.family() != key.family() {
            return Err(Rejection::Invalid);
        }
        self.decode_with(token, &key, alg)
    }

    /// The claim checks alone, for the flawed paths that skip or fake the signature check.
    ///
    /// To run exactly `jsonwebtoken`'s checks, the original payload segment is re-signed with a
    /// per-process random HMAC key and decoded with the verifier's
    /// [`Validation`](jsonwebtoken::Validation).
    fn check_claims(&self, payload_b64: &str) -> Result<Value, Rejection> {
        let header_b64 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
        let message = format!("{header_b64}.{payload_b64}");
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(&self.claims_key),
            Algorithm::HS256,
        )
        .map_err(|_| Rejection::Invalid)?;
        let token = format!("{message}.{signature}");
        self.decode_with(
            &token,
            &DecodingKey::from_secret(&self.claims_key),
            Algorithm::HS256,
        )
    }
}

/// Whether `url` is `http(s)` on a loopback address or `localhost`.
fn is_loopback_url(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        }
}

/// The JWK Set at `url` (at most 64 KiB, 2 s, no redirects), if it answers 2xx with one.
async fn fetch_jwks(client: &reqwest::Client, url: &str) -> Option<JwkSet> {
    let mut response = client.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_JWKS_BODY {
            return None;
        }
    }
    serde_json::from_slice(&body).ok()
}

/// The first 64 KiB of the file at `path`, read off the async runtime with a 1 s limit (a FIFO
/// or terminal would otherwise block). `None` on any error.
async fn read_key_file(path: String) -> Option<Vec<u8>> {
    let read = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(path).ok()?;
        let mut bytes = Vec::new();
        file.take(MAX_KID_FILE).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    });
    tokio::time::timeout(KID_FILE_TIMEOUT, read)
        .await
        .ok()?
        .ok()?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_accepts_only_base64url_json_segments() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let p = URL_SAFE_NO_PAD.encode(br#"{"sub":"a"}"#);
        assert!(split(&format!("{h}.{p}.")).is_some());
        assert!(split(&format!("{h}.{p}")).unwrap().signature.is_none());
        assert!(split(&format!("{h}.{p}.AA")).is_some());
        for bad in [
            String::new(),
            "abc".to_owned(),
            format!("{h}.{p}.a.b"),
            format!("{h}.{p}.!!"),
            format!("{h}.bm90IGpzb24."),
            format!("{p}=.{p}."),
            format!("{}.{p}.", URL_SAFE_NO_PAD.encode("[1]")),
        ] {
            assert!(split(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn loopback_urls_only() {
        for ok in [
            "http://127.0.0.1:8080/jwks.json",
            "http://[::1]/k",
            "https://localhost/k",
            "http://127.1.2.3/",
        ] {
            assert!(is_loopback_url(ok), "{ok}");
        }
        for bad in [
            "http://192.0.2.1/k",
            "http://example.com/k",
            "file:///etc/passwd",
            "http://localhost.evil.test/",
            "not a url",
        ] {
            assert!(!is_loopback_url(bad), "{bad}");
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("bearer abc").as_deref(), Some("abc"));
        assert_eq!(bearer_token("Bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
