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
use serde_json::{Map, Value};

use super::claims::{Exposure, Lifetime, exposures, lifetime};
use super::decode::{Anomaly, DecodeError, DecodeErrorKind, Jws};
use super::jose::{self, JweDescription, Message, PayloadSource, Serialization, Signature};
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

/// One signature of a JSON-serialised JWS with several.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureInspection {
    /// The joint header (protected ∪ unprotected).
    pub header: Value,
    /// The unprotected part of it.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub unprotected_header: Map<String, Value>,
    /// Signature length in bytes.
    pub signature_bytes: usize,
    /// The verification result, when a key was given.
    pub verification: Option<Verification>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct JwtInspection {
    /// How the token was written: `compact`, `json_general` or `json_flattened`.
    pub serialization: Serialization,
    /// Where the payload came from: `attached`, `detached_supplied`, `detached_missing`.
    pub payload_source: PayloadSource,
    /// The payload is used unencoded in the signing input (`b64: false`, RFC 7797).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unencoded_payload: bool,
    /// The decoded header (of the first signature; protected ∪ unprotected).
    pub header: Value,
    /// The unprotected part of it (JSON serialisations).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub unprotected_header: Map<String, Value>,
    /// The decoded payload (JSON when it is JSON; null when detached and not supplied).
    pub payload: Value,
    /// Signature length in bytes (of the first signature).
    pub signature_bytes: usize,
    /// Everything odd about the encoding.
    pub anomalies: Vec<Anomaly>,
    /// What anyone holding the token can read (secrets, personal data).
    pub exposures: Vec<Exposure>,
    /// exp/iat/nbf and the lifetime.
    pub lifetime: Lifetime,
    /// The verification result, when a key was given. With several signatures: the first
    /// that verifies, else the first one's (RFC 7515 §7.2.1 leaves the policy to the
    /// application; `signatures` lists each).
    pub verification: Option<Verification>,
    /// Every signature of a general JSON serialisation with more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<SignatureInspection>,
}

/// What `inspect jwt` reports: a signed token, or an encrypted one described.
#[derive(Debug, Clone)]
pub enum Inspected {
    /// A JWS.
    Jws(Box<JwtInspection>),
    /// A JWE: recognised and described, not decrypted.
    Jwe(JweDescription),
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

/// What checks the signature: the `jsonwebtoken` crate, or aws-lc-rs for P-521 (ES512, which
/// jsonwebtoken lacks) with the key as SPKI DER or an uncompressed point.
enum Verifier {
    Library(jsonwebtoken::DecodingKey),
    P521(Vec<u8>),
}

/// A key ready to verify with and its algorithm family.
type KeyForToken = (Verifier, &'static str);

fn refused(r: Refusal) -> Verification {
    Verification {
        verified: false,
        algorithm: None,
        reason: r.reason,
        refusal: Some(r.kind),
    }
}

fn verify(sig: &Signature, key: &VerifyKey, pin: Option<&str>) -> Verification {
    let jws = &sig.jws;
    let alg = jws.alg().unwrap_or("").to_string();
    if let Some(r) = &sig.problem {
        return refused(r.clone());
    }
    if let Err(r) = strict::check_token(jws, pin)
        .and_then(|()| strict::check_crit(&sig.protected, &sig.unprotected))
    {
        return refused(r);
    }
    let (verifier, fam) = match decoding_key(jws, key) {
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
    let checked = match (&verifier, alg.as_str()) {
        (Verifier::P521(k), "ES512") => Ok(verify_p521(k, &sig.signing_input, &jws.signature)),
        (Verifier::P521(_), _) => Err(Refusal {
            kind: RefusalKind::CurveMismatch,
            reason: format!("the key is on P-521, which only ES512 uses; the token says {alg}"),
        }),
        (Verifier::Library(_), "ES512") => Err(Refusal {
            kind: RefusalKind::CurveMismatch,
            reason: "the token says ES512, which needs a P-521 key; the key is on another curve"
                .into(),
        }),
        (Verifier::Library(dkey), _) => match parse_alg(&alg) {
            Some(a) => {
                Ok(
                    jsonwebtoken::crypto::verify(&jws.signature_b64, &sig.signing_input, dkey, a)
                        .map_err(|e| e.to_string()),
                )
            }
            None => Err(Refusal {
                kind: RefusalKind::UnsupportedAlgorithm,
                reason: format!("unsupported algorithm {alg:?}"),
            }),
        },
    };
    let (verified, reason) = match checked {
        Ok(Ok(true)) => (
            true,
            format!("the {alg} signature verifies with the given key"),
        ),
        Ok(Ok(false)) => (
            false,
            format!("the {alg} signature does not verify with the given key"),
        ),
        Ok(Err(e)) => (false, format!("verification failed: {e}")),
        Err(r) => return refused(r),
    };
    Verification {
        verified,
        algorithm: Some(alg),
        reason,
        refusal: None,
    }
}

/// An ES512 signature (r‖s, 132 bytes) over `message` with a P-521 public key.
fn verify_p521(key: &[u8], message: &[u8], signature: &[u8]) -> Result<bool, String> {
    use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED, ParsedPublicKey};
    let parsed = ParsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, key)
        .map_err(|e| format!("the P-521 key is not usable: {e}"))?;
    Ok(parsed.verify_sig(message, signature).is_ok())
}

/// The P-521 key in `der` (SPKI), if it is one.
fn p521_der(der: &[u8]) -> Option<Vec<u8>> {
    use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED, ParsedPublicKey};
    ParsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, der)
        .ok()
        .map(|_| der.to_vec())
}

/// The key to verify `jws` with and its algorithm family, or why there is none.
fn decoding_key(jws: &Jws, key: &VerifyKey) -> Result<KeyForToken, Refusal> {
    use jsonwebtoken::DecodingKey;
    let unusable = |reason: String| Refusal {
        kind: RefusalKind::UnusableKey,
        reason,
    };
    match key {
        VerifyKey::Secret(s) => Ok((Verifier::Library(DecodingKey::from_secret(s)), "hmac")),
        VerifyKey::Pem(pem) => {
            let bytes = pem.as_bytes();
            let der = super::der::pem_der(pem).unwrap_or_default();
            if let Some(k) = p521_der(&der) {
                Ok((Verifier::P521(k), "ec"))
            } else if let Ok(k) = DecodingKey::from_ec_pem(bytes) {
                Ok((Verifier::Library(k), "ec"))
            } else if let Ok(k) = DecodingKey::from_rsa_pem(bytes) {
                if let Some(n) = super::der::rsa_modulus(&der) {
                    strict::check_rsa_modulus(&n)?;
                }
                Ok((Verifier::Library(k), "rsa"))
            } else if let Ok(k) = DecodingKey::from_ed_pem(bytes) {
                Ok((Verifier::Library(k), "ed"))
            } else {
                Err(unusable(
                    "the key file is not a PEM public key (EC, RSA or Ed25519)".into(),
                ))
            }
        }
        VerifyKey::Jwks(text) => {
            let set: Value = serde_json::from_str(text)
                .map_err(|e| unusable(format!("the JWKS is not valid JSON: {e}")))?;
            let jwk = strict::select_jwk(&set, jws)?;
            let text = |name: &str| jwk.get(name).and_then(Value::as_str);
            let fam = match text("kty") {
                Some("EC") => "ec",
                Some("RSA") => "rsa",
                Some("OKP") => "ed",
                Some("oct") => "hmac",
                _ => "unknown",
            };
            if fam == "ec" && text("crv") == Some("P-521") {
                // select_jwk checked both coordinates are 66 bytes of base64url.
                let mut point = vec![4u8];
                for c in ["x", "y"] {
                    point.extend(
                        super::decode::lenient_b64(
                            text(c).unwrap_or(""),
                            super::decode::Segment::Token,
                            &mut Vec::new(),
                        )
                        .map_err(|e| unusable(format!("the JWK's {c}: {e}")))?,
                    );
                }
                return Ok((Verifier::P521(point), fam));
            }
            let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(Value::Object(jwk.clone()))
                .map_err(|e| unusable(format!("the JWKS key is not a valid JWK: {e}")))?;
            DecodingKey::from_jwk(&parsed)
                .map(|k| (Verifier::Library(k), fam))
                .map_err(|e| unusable(format!("the JWKS key cannot be used: {e}")))
        }
    }
}

/// Inspects one token.
pub fn inspect(
    token: &str,
    key: Option<&VerifyKey>,
    now: i64,
) -> Result<JwtInspection, DecodeError> {
    inspect_pinned(token, key, None, now)
}

/// Inspects one signed token in any JWS serialisation, verifying it (with a key) only under
/// algorithm `pin` when one is given. A JWE is an error of kind
/// [`DecodeErrorKind::Jwe`] here; [`inspect_input`] describes it.
pub fn inspect_pinned(
    token: &str,
    key: Option<&VerifyKey>,
    pin: Option<&str>,
    now: i64,
) -> Result<JwtInspection, DecodeError> {
    match inspect_input(token, None, key, pin, now)? {
        Inspected::Jws(i) => Ok(*i),
        Inspected::Jwe(d) => Err(DecodeError {
            kind: DecodeErrorKind::Jwe,
            message: format!(
                "the token is a jwe (alg {}, enc {}): encrypted, not signed",
                d.algorithms.join(", "),
                d.enc.as_deref().unwrap_or("?")
            ),
        }),
    }
}

/// Inspects a JOSE message in any serialisation: a JWS (compact, detached with `payload`
/// supplied, unencoded, general or flattened JSON), or a JWE described.
pub fn inspect_input(
    input: &str,
    payload: Option<&[u8]>,
    key: Option<&VerifyKey>,
    pin: Option<&str>,
    now: i64,
) -> Result<Inspected, DecodeError> {
    match jose::parse(input, payload)? {
        jose::Parsed::Jwe(d) => Ok(Inspected::Jwe(d)),
        jose::Parsed::Jws(m) => Ok(Inspected::Jws(Box::new(inspect_message(&m, key, pin, now)))),
    }
}

fn inspect_message(
    m: &Message,
    key: Option<&VerifyKey>,
    pin: Option<&str>,
    now: i64,
) -> JwtInspection {
    let verifications: Vec<Option<Verification>> = m
        .signatures
        .iter()
        .map(|s| key.map(|k| verify(s, k, pin)))
        .collect();
    let first = &m.signatures[0];
    let jws = &first.jws;
    let payload = match (m.payload, jws.claims()) {
        (PayloadSource::DetachedMissing, _) => Value::Null,
        (_, Some(c)) => Value::Object(c.clone()),
        (_, None) => serde_json::to_value(&jws.payload).unwrap_or(Value::Null),
    };
    let empty = Map::new();
    let claims = jws.claims().unwrap_or(&empty);
    let verification = verifications
        .iter()
        .flatten()
        .find(|v| v.verified)
        .or_else(|| verifications.first().and_then(Option::as_ref))
        .cloned();
    let signatures = if m.signatures.len() > 1 {
        m.signatures
            .iter()
            .zip(verifications)
            .map(|(s, v)| SignatureInspection {
                header: Value::Object(s.jws.header.clone()),
                unprotected_header: s.unprotected.clone(),
                signature_bytes: s.jws.signature.len(),
                verification: v,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut anomalies = Vec::new();
    for s in &m.signatures {
        for a in &s.jws.anomalies {
            if !anomalies.contains(a) {
                anomalies.push(a.clone());
            }
        }
    }
    JwtInspection {
        serialization: m.serialization,
        payload_source: m.payload,
        unencoded_payload: first.unencoded,
        header: Value::Object(jws.header.clone()),
        unprotected_header: first.unprotected.clone(),
        payload,
        signature_bytes: jws.signature.len(),
        anomalies,
        exposures: exposures(claims, &[]),
        lifetime: lifetime(claims, now),
        verification,
        signatures,
    }
}

/// A readable rendering (no colours).
pub fn render_text(i: &JwtInspection) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let _ = writeln!(out, "{}", form_text(i));
    let _ = writeln!(out, "header:\n{}", indent(&pretty(&i.header)));
    if !i.unprotected_header.is_empty() {
        let unprotected = Value::Object(i.unprotected_header.clone());
        let _ = writeln!(
            out,
            "of which unprotected (not covered by the signature):\n{}",
            indent(&pretty(&unprotected))
        );
    }
    if i.payload_source == PayloadSource::DetachedMissing {
        let _ = writeln!(out, "payload: detached, not supplied (--payload FILE)");
    } else {
        let _ = writeln!(
            out,
            "payload (readable by anyone who holds the token):\n{}",
            indent(&pretty(&i.payload))
        );
    }
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
    for (n, s) in i.signatures.iter().enumerate() {
        let _ = writeln!(
            out,
            "signature {}: alg {}, kid {}, {} bytes",
            n + 1,
            s.header.get("alg").and_then(Value::as_str).unwrap_or("?"),
            s.header
                .get("kid")
                .and_then(Value::as_str)
                .unwrap_or("none"),
            s.signature_bytes
        );
        if let Some(v) = &s.verification {
            let _ = writeln!(out, "  {}", verification_text(v));
        }
    }
    if let Some(v) = &i.verification {
        let _ = writeln!(out, "verification: {}", verification_text(v));
    }
    crate::text::sanitize(&out)
}

fn verification_text(v: &Verification) -> String {
    let verdict = if v.verified {
        "VERIFIED"
    } else {
        "NOT VERIFIED"
    };
    format!("{verdict} — {}", v.reason)
}

/// `serialization: JWS JSON (general, 2 signatures); payload detached, supplied; unencoded
/// (b64: false)`.
fn form_text(i: &JwtInspection) -> String {
    let mut text = match i.serialization {
        Serialization::Compact => "serialization: JWS compact".to_string(),
        Serialization::JsonFlattened => "serialization: JWS JSON (flattened)".to_string(),
        Serialization::JsonGeneral => format!(
            "serialization: JWS JSON (general, {} signature{})",
            i.signatures.len().max(1),
            if i.signatures.len() > 1 { "s" } else { "" }
        ),
    };
    match i.payload_source {
        PayloadSource::Attached => {}
        PayloadSource::DetachedSupplied => text.push_str("; payload detached, supplied"),
        PayloadSource::DetachedMissing => text.push_str("; payload detached, not supplied"),
    }
    if i.unencoded_payload {
        text.push_str("; payload unencoded (b64: false, RFC 7797)");
    }
    text
}

/// A readable rendering of a JWE's description (no colours).
pub fn render_jwe_text(d: &JweDescription) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let form = match d.serialization {
        Serialization::Compact => "compact",
        Serialization::JsonFlattened => "JSON, flattened",
        Serialization::JsonGeneral => "JSON, general",
    };
    let _ = writeln!(
        out,
        "an encrypted token (JWE, {form}): its payload cannot be read without the key, and authprobe does not decrypt"
    );
    let pretty = serde_json::to_string_pretty(&Value::Object(d.header.clone())).unwrap_or_default();
    let _ = writeln!(out, "header:\n{}", indent(&pretty));
    let _ = writeln!(
        out,
        "alg: {}; enc: {}; kid: {}; zip: {}",
        if d.algorithms.is_empty() {
            "none".into()
        } else {
            d.algorithms.join(", ")
        },
        d.enc.as_deref().unwrap_or("none"),
        if d.kids.is_empty() {
            "none".into()
        } else {
            d.kids.join(", ")
        },
        d.zip.as_deref().unwrap_or("none")
    );
    if d.warnings.is_empty() {
        let _ = writeln!(out, "warnings: none");
    } else {
        let _ = writeln!(out, "warnings:");
        for w in &d.warnings {
            let _ = writeln!(out, "  - {}: {}", json_name(&w.kind), w.message);
        }
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
            &Signature::compact(crate::jwt::decode::decode(&token).unwrap()),
            &VerifyKey::Jwks(r#"{"keys":[]}"#.to_string()),
            None,
        );
        assert_eq!(v.reason, "the JWKS holds no key");
        assert_eq!(v.refusal, Some(RefusalKind::AmbiguousKey));
    }
}
