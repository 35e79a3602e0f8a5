//! `authprobe inspect jwt`: an offline report of one token — decoded header and payload,
//! anomalies, what anyone can read in it, its lifetime and, given a key, whether its
//! signature verifies. The token is never sent anywhere.
//!
//! Verification is strict (`strict`): a non-canonical token, an algorithm other than the
//! pinned one, an empty or short HMAC key, a JWK not meant for verification, a curve that
//! disagrees, an ambiguous or mixed key set are refused with the reason before any signature
//! is checked. The signature is then checked with the `jsonwebtoken` crate, the algorithm
//! family taken from the key (EC → ES*, RSA → RS*/PS*, Ed25519 → EdDSA, a secret → HS*),
//! never from the token.

use serde::Serialize;
use serde_json::Value;

use super::claims::{Exposure, Lifetime, exposures, lifetime};
use super::decode::{Anomaly, Jws, decode};
use super::strict::{self, Refusal, RefusalKind};

/// A key to verify with.
#[derive(Debug, Clone)]
pub enum VerifyKey {
    /// A PEM public key (EC, RSA or Ed25519).
    Pem(String),
    /// An HMAC secret.
    Secret(Vec<u8>),
    /// A JWKS document; the key is chosen by the token's `kid`.
    Jwks(String),
}

/// The verification result.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// True when the signature verifies with the key.
    pub verified: bool,
    /// The algorithm used (from the key's family).
    pub algorithm: Option<String>,
    /// Why, in one line.
    pub reason: String,
    /// When strict verification refused the token or key before checking the signature: the
    /// kind of refusal (e.g. `short_hmac_key`, `ambiguous_key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<RefusalKind>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct JwtInspection {
    /// The decoded header.
    pub header: Value,
    /// The decoded payload (JSON when it is JSON).
    pub payload: Value,
    /// Signature length in bytes.
    pub signature_bytes: usize,
    /// Everything odd about the encoding.
    pub anomalies: Vec<Anomaly>,
    /// What anyone holding the token can read (secrets, personal data).
    pub exposures: Vec<Exposure>,
    /// exp/iat/nbf and the lifetime.
    pub lifetime: Lifetime,
    /// The verification result, when a key was given.
    pub verification: Option<Verification>,
}

fn family(alg: &str) -> &'static str {
    match alg.get(..2) {
        Some("HS") => "hmac",
        Some("RS") | Some("PS") => "rsa",
        Some("ES") => "ec",
        _ if alg == "EdDSA" => "ed",
        _ => "unknown",
    }
}

fn parse_alg(alg: &str) -> Option<jsonwebtoken::Algorithm> {
    alg.parse().ok()
}

/// A key ready for `jsonwebtoken` and its algorithm family.
type KeyForToken = (jsonwebtoken::DecodingKey, &'static str);

fn verify(jws: &Jws, key: &VerifyKey, pin: Option<&str>) -> Verification {
    let alg = jws.alg().unwrap_or("").to_string();
    let refused = |r: Refusal| Verification {
        verified: false,
        algorithm: None,
        reason: r.reason,
        refusal: Some(r.kind),
    };
    if let Err(r) = strict::check_token(jws, pin) {
        return refused(r);
    }
    let (dkey, fam) = match decoding_key(jws, key) {
        Ok(k) => k,
        Err(r) => return refused(r),
    };
    if family(&alg) != fam {
        return refused(Refusal {
            kind: RefusalKind::AlgorithmKeyMismatch,
            reason: format!(
                "the token says alg {alg:?} but the key is {fam}: refused (the algorithm comes from the key, never from the token)"
            ),
        });
    }
    if let VerifyKey::Secret(secret) = key
        && let Err(r) = strict::check_hmac_secret(secret, &alg)
    {
        return refused(r);
    }
    let Some(a) = parse_alg(&alg) else {
        return refused(Refusal {
            kind: RefusalKind::UnsupportedAlgorithm,
            reason: format!("unsupported algorithm {alg:?}"),
        });
    };
    let input = jws.signing_input();
    let (verified, reason) =
        match jsonwebtoken::crypto::verify(&jws.signature_b64, input.as_bytes(), &dkey, a) {
            Ok(true) => (
                true,
                format!("the {alg} signature verifies with the given key"),
            ),
            Ok(false) => (
                false,
                format!("the {alg} signature does not verify with the given key"),
            ),
            Err(e) => (false, format!("verification failed: {e}")),
        };
    Verification {
        verified,
        algorithm: Some(alg),
        reason,
        refusal: None,
    }
}

/// The key to verify `jws` with and its algorithm family, or why there is none.
fn decoding_key(jws: &Jws, key: &VerifyKey) -> Result<KeyForToken, Refusal> {
    use jsonwebtoken::DecodingKey;
    let unusable = |reason: String| Refusal {
        kind: RefusalKind::UnusableKey,
        reason,
    };
    match key {
        VerifyKey::Secret(s) => Ok((DecodingKey::from_secret(s), "hmac")),
        VerifyKey::Pem(pem) => {
            let bytes = pem.as_bytes();
            if let Ok(k) = DecodingKey::from_ec_pem(bytes) {
                Ok((k, "ec"))
            } else if let Ok(k) = DecodingKey::from_rsa_pem(bytes) {
                Ok((k, "rsa"))
            } else if let Ok(k) = DecodingKey::from_ed_pem(bytes) {
                Ok((k, "ed"))
            } else {
                Err(unusable(
                    "the key file is not a PEM public key (EC, RSA or Ed25519)".into(),
                ))
            }
        }
        VerifyKey::Jwks(text) => {
            let set: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| unusable(format!("the JWKS is not valid JSON: {e}")))?;
            let jwk = strict::select_jwk(&set, jws)?;
            let fam = match jwk.get("kty").and_then(serde_json::Value::as_str) {
                Some("EC") => "ec",
                Some("RSA") => "rsa",
                Some("OKP") => "ed",
                Some("oct") => "hmac",
                _ => "unknown",
            };
            let parsed: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(serde_json::Value::Object(jwk.clone()))
                    .map_err(|e| unusable(format!("the JWKS key is not a valid JWK: {e}")))?;
            DecodingKey::from_jwk(&parsed)
                .map(|k| (k, fam))
                .map_err(|e| unusable(format!("the JWKS key cannot be used: {e}")))
        }
    }
}

/// Inspects one token.
pub fn inspect(
    token: &str,
    key: Option<&VerifyKey>,
    now: i64,
) -> Result<JwtInspection, super::decode::DecodeError> {
    inspect_pinned(token, key, None, now)
}

/// Inspects one token, verifying it (with a key) only under algorithm `pin` when one is given.
pub fn inspect_pinned(
    token: &str,
    key: Option<&VerifyKey>,
    pin: Option<&str>,
    now: i64,
) -> Result<JwtInspection, super::decode::DecodeError> {
    let jws = decode(token.trim())?;
    let payload = match jws.claims() {
        Some(c) => Value::Object(c.clone()),
        None => serde_json::to_value(&jws.payload).unwrap_or(Value::Null),
    };
    let empty = serde_json::Map::new();
    let claims = jws.claims().unwrap_or(&empty);
    Ok(JwtInspection {
        header: Value::Object(jws.header.clone()),
        payload,
        signature_bytes: jws.signature.len(),
        anomalies: jws.anomalies.clone(),
        exposures: exposures(claims, &[]),
        lifetime: lifetime(claims, now),
        verification: key.map(|k| verify(&jws, k, pin)),
    })
}

/// A readable rendering (no colours).
pub fn render_text(i: &JwtInspection) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let _ = writeln!(out, "header:\n{}", indent(&pretty(&i.header)));
    let _ = writeln!(
        out,
        "payload (readable by anyone who holds the token):\n{}",
        indent(&pretty(&i.payload))
    );
    let _ = writeln!(out, "signature: {} bytes", i.signature_bytes);
    let _ = writeln!(out, "{}", lifetime_text(&i.lifetime));
    if i.exposures.is_empty() {
        let _ = writeln!(
            out,
            "exposed: nothing that looks like a secret or personal data"
        );
    } else {
        let _ = writeln!(out, "exposed:");
        for e in &i.exposures {
            let _ = writeln!(
                out,
                "  - {} {} {}: {}",
                e.path,
                json_name(&e.class),
                e.category,
                e.excerpt
            );
        }
    }
    if i.anomalies.is_empty() {
        let _ = writeln!(out, "anomalies: none");
    } else {
        let _ = writeln!(out, "anomalies:");
        for a in &i.anomalies {
            let _ = writeln!(out, "  - {}: {}", json_name(&a.kind), a.message);
        }
    }
    if let Some(v) = &i.verification {
        let _ = writeln!(
            out,
            "verification: {} — {}",
            if v.verified {
                "VERIFIED"
            } else {
                "NOT VERIFIED"
            },
            v.reason
        );
    }
    crate::text::sanitize(&out)
}

/// `lifetime: exp 1700000300 (Tue, 14 Nov 2023 22:18:20 GMT), iat …, nbf none, lifetime
/// 300 s, expires in 120 s`: each time claim as its number and date, `none` when absent.
fn lifetime_text(l: &Lifetime) -> String {
    let date = |t: Option<i64>| match t {
        Some(t) => format!("{t} ({})", crate::cookie::format_http_date(t)),
        None => "none".to_string(),
    };
    format!(
        "lifetime: exp {}, iat {}, nbf {}, lifetime {}, expires in {}",
        date(l.exp),
        date(l.iat),
        date(l.nbf),
        l.lifetime
            .map(|s| format!("{s} s"))
            .unwrap_or_else(|| "unbounded (no exp)".into()),
        l.expires_in
            .map(|s| format!("{s} s"))
            .unwrap_or_else(|| "never".into())
    )
}

/// The name a value has in the JSON output (`personal_data`, `base64_padding`), for the text
/// rendering: never a Debug spelling.
fn json_name(v: &impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => "unknown".to_string(),
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text rendering once printed `exp Some(1700000300)` and `PersonalData` (Debug
    /// output); it names claims by number and date and kinds by their JSON names.
    #[test]
    fn the_text_rendering_has_no_debug_output() {
        use base64::Engine as _;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let token = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"HS256"}"#),
            b64(r#"{"exp":1700000300,"email":"alice@example.com"}"#)
        );
        let i = inspect(&token, None, 1_700_000_000).unwrap();
        let text = render_text(&i);
        assert!(
            text.contains(
                "lifetime: exp 1700000300 (Tue, 14 Nov 2023 22:18:20 GMT), iat none, nbf none"
            ),
            "{text}"
        );
        assert!(text.contains(" personal_data "), "{text}");
        for debug in ["Some(", "None", "PersonalData"] {
            assert!(!text.contains(debug), "{debug} in {text}");
        }
        let v = verify(
            &decode(&token).unwrap(),
            &VerifyKey::Jwks(r#"{"keys":[]}"#.to_string()),
            None,
        );
        assert_eq!(v.reason, "the JWKS holds no key");
        assert_eq!(v.refusal, Some(RefusalKind::AmbiguousKey));
    }
}
