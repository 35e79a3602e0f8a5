//! Strict JOSE judgement before any signature check: what an auditor's verifier refuses that
//! permissive libraries accept. Each refusal has a kind (JSON) and a reason in words.
//!
//! This file owns the checks on the token's encoding (only canonical base64url), on the
//! algorithm (pinned by `--alg` or the key's `alg`), on the key itself (empty or short HMAC
//! secrets, RFC 7518 §3.2; JWKs not meant for signing, `use`/`key_ops`, RFC 7517 §4.2–4.3; an
//! EC `crv` that disagrees with its coordinates or with the token's algorithm, RFC 7518 §6.2.1)
//! and on key sets (a `kid` several keys share, no `kid` with several keys, symmetric keys
//! published beside asymmetric ones). Pure functions over parsed JSON: no I/O, no panic.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use super::decode::{AnomalyKind, Jws};

/// Why strict verification refuses a token before (or instead of) checking its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The token's base64url is not canonical (whitespace, padding, `+`/`/`, stray bits).
    NonCanonicalEncoding,
    /// The token's `alg` is not the one pinned (`--alg`, or the JWK's `alg`).
    AlgorithmNotPinned,
    /// The token's `alg` is not of the key's type (an RSA key and `HS256`, say).
    AlgorithmKeyMismatch,
    /// An HMAC key of zero bytes.
    EmptyHmacKey,
    /// An HMAC key shorter than the hash output of the algorithm (RFC 7518 §3.2).
    ShortHmacKey,
    /// A JWK meant for encryption (`use: enc`) or whose `key_ops` exclude `verify`.
    KeyNotForVerification,
    /// An EC JWK whose `crv` disagrees with its coordinates, or with the token's algorithm.
    CurveMismatch,
    /// The key set gives no single key for the token (shared `kid`, or no `kid` and several
    /// keys, or no key with the token's `kid`).
    AmbiguousKey,
    /// The key set publishes symmetric (`oct`) keys beside asymmetric ones.
    MixedKeyTypes,
    /// The key is not usable (not valid JSON, a missing member, not base64url).
    UnusableKey,
    /// The algorithm is not one authprobe verifies.
    UnsupportedAlgorithm,
    /// An RSA modulus of the vulnerable Infineon generator (ROCA, CVE-2017-15361): its
    /// private key can be computed from the public one.
    RocaKey,
    /// An RSA key shorter than 2048 bits (RFC 7518 §3.3).
    WeakRsaKey,
    /// `crit` names an extension authprobe does not understand, is malformed or not
    /// integrity-protected, or `b64` is used without being listed in it (RFC 7515 §4.1.11,
    /// RFC 7797 §3, §6).
    CriticalHeader,
    /// A member in both the protected and the unprotected header (RFC 7515 §7.2.1).
    DuplicateHeaderMember,
    /// The payload is detached (RFC 7515 Appendix F) and was not supplied.
    DetachedPayload,
    /// A key set published a symmetric (`oct`) key: an HMAC secret anyone can read.
    PublishedSymmetricKey,
}

/// A refusal: its kind and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// What kind of refusal.
    pub kind: RefusalKind,
    /// Why, in one sentence.
    pub reason: String,
}

fn refuse(kind: RefusalKind, reason: impl Into<String>) -> Refusal {
    Refusal {
        kind,
        reason: reason.into(),
    }
}

/// The key type an `alg` needs (`oct`, `RSA`, `EC`, `OKP`), or `None` for others.
pub fn key_type_of(alg: &str) -> Option<&'static str> {
    match alg {
        "HS256" | "HS384" | "HS512" => Some("oct"),
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => Some("RSA"),
        "ES256" | "ES384" | "ES512" => Some("EC"),
        "EdDSA" => Some("OKP"),
        _ => None,
    }
}

/// The least HMAC key length in bytes for `alg` (the hash output size), if it is HMAC.
pub fn min_hmac_key_len(alg: &str) -> Option<usize> {
    match alg {
        "HS256" => Some(32),
        "HS384" => Some(48),
        "HS512" => Some(64),
        _ => None,
    }
}

/// The curve an ECDSA `alg` needs.
fn curve_of(alg: &str) -> Option<&'static str> {
    match alg {
        "ES256" => Some("P-256"),
        "ES384" => Some("P-384"),
        "ES512" => Some("P-521"),
        _ => None,
    }
}

/// The coordinate length in bytes of a curve's points.
fn coordinate_len(crv: &str) -> Option<usize> {
    match crv {
        "P-256" => Some(32),
        "P-384" => Some(48),
        "P-521" => Some(66),
        _ => None,
    }
}

/// Refuses a token whose segments are not canonical base64url, or whose `alg` is not `pinned`.
pub fn check_token(jws: &Jws, pinned: Option<&str>) -> Result<(), Refusal> {
    let bad = jws.anomalies.iter().find(|a| {
        matches!(
            a.kind,
            AnomalyKind::WhitespaceInSegment
                | AnomalyKind::Base64Padding
                | AnomalyKind::StandardBase64Alphabet
                | AnomalyKind::NonCanonicalBase64
        )
    });
    if let Some(a) = bad {
        return Err(refuse(
            RefusalKind::NonCanonicalEncoding,
            format!(
                "the token is not canonical base64url ({}): another spelling of a signed token is not the signed token (RFC 7515 §2, §7.1)",
                a.message
            ),
        ));
    }
    let alg = jws.alg().unwrap_or("");
    if let Some(p) = pinned
        && p != alg
    {
        return Err(refuse(
            RefusalKind::AlgorithmNotPinned,
            format!("the algorithm is pinned to {p}; the token says {alg:?}"),
        ));
    }
    Ok(())
}

/// Refuses an HMAC secret too short for `alg` (RFC 7518 §3.2: at least the hash size).
pub fn check_hmac_secret(secret: &[u8], alg: &str) -> Result<(), Refusal> {
    if secret.is_empty() {
        return Err(refuse(
            RefusalKind::EmptyHmacKey,
            "the HMAC key is empty: anyone can compute the signature",
        ));
    }
    match min_hmac_key_len(alg) {
        Some(min) if secret.len() < min => Err(refuse(
            RefusalKind::ShortHmacKey,
            format!(
                "the HMAC key is {} bytes; {alg} needs at least {min} (RFC 7518 §3.2: a key of the hash output's size or larger)",
                secret.len()
            ),
        )),
        _ => Ok(()),
    }
}

/// The one JWK of `set` (a JWKS document) that verifies `jws`, checked for use, type,
/// algorithm and curve; or why there is none.
pub fn select_jwk<'a>(set: &'a Value, jws: &Jws) -> Result<&'a Map<String, Value>, Refusal> {
    let keys: Vec<&Map<String, Value>> = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| refuse(RefusalKind::UnusableKey, "the JWKS has no \"keys\" array"))?
        .iter()
        .filter_map(Value::as_object)
        .collect();
    fn kty(k: &Map<String, Value>) -> &str {
        k.get("kty").and_then(Value::as_str).unwrap_or("")
    }
    let symmetric = keys.iter().any(|k| kty(k) == "oct");
    if symmetric && keys.iter().any(|k| kty(k) != "oct") {
        return Err(refuse(
            RefusalKind::MixedKeyTypes,
            "the key set publishes a symmetric (oct) key beside asymmetric ones: a published HMAC secret verifies tokens anyone can sign, and the token's header picks which kind is used",
        ));
    }
    let candidates: Vec<&Map<String, Value>> = match jws.kid() {
        Some(kid) => keys
            .iter()
            .copied()
            .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            .collect(),
        None => keys.clone(),
    };
    let key = match (candidates.as_slice(), jws.kid()) {
        ([one], _) => *one,
        ([], Some(kid)) => {
            return Err(refuse(
                RefusalKind::AmbiguousKey,
                format!("no key in the JWKS has kid {kid:?}"),
            ));
        }
        ([], None) => return Err(refuse(RefusalKind::AmbiguousKey, "the JWKS holds no key")),
        (many, Some(kid)) => {
            return Err(refuse(
                RefusalKind::AmbiguousKey,
                format!(
                    "{} keys in the JWKS share kid {kid:?}: which one verifies depends on the library",
                    many.len()
                ),
            ));
        }
        (many, None) => {
            return Err(refuse(
                RefusalKind::AmbiguousKey,
                format!(
                    "the token names no kid and the JWKS holds {} keys: the key must be picked by kid",
                    many.len()
                ),
            ));
        }
    };
    check_jwk(key, jws.alg().unwrap_or(""))?;
    Ok(key)
}

/// What is wrong with a service's published key set, judged as a verifier of `jws` (one of
/// the service's own tokens) would: every symmetric key (a secret in public), every RSA key
/// shorter than 2048 bits or of the ROCA generator, and — unless the token is HMAC-signed,
/// when no published key should verify it — the key the token names, selected and checked
/// by [`select_jwk`] (one key for its `kid`, for signing, of its algorithm and curve).
/// Encryption keys the token does not use are not judged. Empty when the set is sound.
pub fn judge_jwks(set: &Value, jws: &Jws) -> Vec<Refusal> {
    let Some(keys) = set.get("keys").and_then(Value::as_array) else {
        return vec![refuse(
            RefusalKind::UnusableKey,
            "the JWKS has no \"keys\" array",
        )];
    };
    let label = |k: &Map<String, Value>| match k.get("kid").and_then(Value::as_str) {
        Some(kid) => format!("key {kid:?}"),
        None => "a key without kid".to_string(),
    };
    let mut out = Vec::new();
    let hmac_token = key_type_of(jws.alg().unwrap_or("")) == Some("oct");
    let selected = if hmac_token {
        None
    } else {
        match select_jwk(set, jws) {
            Ok(k) => Some(k),
            Err(r) if r.kind == RefusalKind::MixedKeyTypes => None,
            Err(mut r) => {
                r.reason = format!("the key for the service's own token: {}", r.reason);
                out.push(r);
                None
            }
        }
    };
    for key in keys.iter().filter_map(Value::as_object) {
        let kty = key.get("kty").and_then(Value::as_str).unwrap_or("");
        if kty == "oct" {
            out.push(refuse(
                RefusalKind::PublishedSymmetricKey,
                format!(
                    "{} is a symmetric (oct) key: a published HMAC secret lets anyone sign tokens it verifies",
                    label(key)
                ),
            ));
        } else if kty == "RSA" && selected != Some(key) {
            let judged = member_bytes(key, "n").and_then(|n| check_rsa_modulus(&n));
            if let Err(mut r) = judged {
                r.reason = format!("{}: {}", label(key), r.reason);
                out.push(r);
            }
        }
    }
    out
}

/// Refuses a JWK that may not verify a token of `alg`.
pub fn check_jwk(key: &Map<String, Value>, alg: &str) -> Result<(), Refusal> {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    if let Some(u) = text("use")
        && u != "sig"
    {
        return Err(refuse(
            RefusalKind::KeyNotForVerification,
            format!("the key's use is {u:?}, not \"sig\" (RFC 7517 §4.2)"),
        ));
    }
    if let Some(ops) = key.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")));
        if !verify {
            return Err(refuse(
                RefusalKind::KeyNotForVerification,
                format!("the key's key_ops {ops} do not include \"verify\" (RFC 7517 §4.3)"),
            ));
        }
    }
    let kty = text("kty").unwrap_or("");
    match key_type_of(alg) {
        Some(need) if need != kty => {
            return Err(refuse(
                RefusalKind::AlgorithmKeyMismatch,
                format!("the token says {alg} but the key's kty is {kty:?}, not {need:?}"),
            ));
        }
        Some(_) => {}
        None => {
            return Err(refuse(
                RefusalKind::UnsupportedAlgorithm,
                format!("unsupported algorithm {alg:?}"),
            ));
        }
    }
    if let Some(pinned) = text("alg")
        && pinned != alg
    {
        return Err(refuse(
            RefusalKind::AlgorithmNotPinned,
            format!("the key is pinned to {pinned} (its alg); the token says {alg}"),
        ));
    }
    match kty {
        "oct" => {
            let k = member_bytes(key, "k")?;
            check_hmac_secret(&k, alg)
        }
        "EC" => check_curve(key, alg),
        "RSA" => check_rsa_modulus(&member_bytes(key, "n")?),
        "OKP" => check_okp(key),
        _ => Ok(()),
    }
}

/// An OKP key verifies EdDSA only on a signature curve with a key of its length (RFC 8037
/// §2: `X25519` and `X448` are key-agreement curves).
fn check_okp(key: &Map<String, Value>) -> Result<(), Refusal> {
    let crv = key.get("crv").and_then(Value::as_str).unwrap_or("");
    let len = match crv {
        "Ed25519" => 32,
        "Ed448" => 57,
        _ => {
            return Err(refuse(
                RefusalKind::CurveMismatch,
                format!("the OKP key's crv {crv:?} is not a signature curve (Ed25519, Ed448)"),
            ));
        }
    };
    let x = member_bytes(key, "x")?;
    if x.len() != len {
        return Err(refuse(
            RefusalKind::CurveMismatch,
            format!(
                "the OKP key's x is {} bytes; {crv} keys are {len} (RFC 8037 §2)",
                x.len()
            ),
        ));
    }
    Ok(())
}

/// The least RSA modulus size in bits (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;

/// Refuses an RSA modulus (big-endian) shorter than 2048 bits or of the ROCA generator.
pub fn check_rsa_modulus(n: &[u8]) -> Result<(), Refusal> {
    let significant: Vec<u8> = n.iter().copied().skip_while(|&b| b == 0).collect();
    let bits = significant.first().map_or(0, |&top| {
        (significant.len() - 1) * 8 + (8 - top.leading_zeros() as usize)
    });
    if bits < MIN_RSA_BITS {
        return Err(refuse(
            RefusalKind::WeakRsaKey,
            format!("the RSA key is {bits} bits; RFC 7518 §3.3 requires {MIN_RSA_BITS} or more"),
        ));
    }
    if super::roca::is_roca_modulus(&significant) {
        return Err(refuse(
            RefusalKind::RocaKey,
            "the RSA modulus has the ROCA fingerprint (CVE-2017-15361): it comes from the Infineon RSALib generator, whose private keys can be computed from the public key",
        ));
    }
    Ok(())
}

/// The JOSE header parameters `crit` may not list (RFC 7515 §4.1.11: those the JWS and JWA
/// specifications define).
const REGISTERED: [&str; 11] = [
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
];

/// The extensions authprobe understands (and so may be critical).
const UNDERSTOOD: [&str; 1] = ["b64"];

/// Refuses a malformed or unknown `crit`, a `crit` or `b64` outside the protected header,
/// and `b64` not listed in `crit` (RFC 7515 §4.1.11, RFC 7797 §3 and §6).
pub fn check_crit(
    protected: &Map<String, Value>,
    unprotected: &Map<String, Value>,
) -> Result<(), Refusal> {
    let bad = |reason: String| Err(refuse(RefusalKind::CriticalHeader, reason));
    for name in ["crit", "b64"] {
        if unprotected.contains_key(name) {
            return bad(format!(
                "{name} is in the unprotected header; it must be integrity protected (RFC 7515 §4.1.11, RFC 7797 §3)"
            ));
        }
    }
    let listed: Vec<&str> = match protected.get("crit") {
        None => Vec::new(),
        Some(Value::Array(list)) if !list.is_empty() => {
            match list.iter().map(Value::as_str).collect::<Option<Vec<_>>>() {
                Some(names) => names,
                None => return bad("crit holds a member that is not a string".into()),
            }
        }
        Some(other) => {
            return bad(format!(
                "crit is {other}, not a non-empty array of names (RFC 7515 §4.1.11)"
            ));
        }
    };
    for name in &listed {
        if REGISTERED.contains(name) {
            return bad(format!(
                "crit lists {name:?}, a parameter the JWS specification defines: refused (RFC 7515 §4.1.11)"
            ));
        }
        if !UNDERSTOOD.contains(name) {
            return bad(format!(
                "crit lists {name:?}, an extension authprobe does not understand: a verifier must refuse the token (RFC 7515 §4.1.11)"
            ));
        }
        if !protected.contains_key(*name) {
            return bad(format!(
                "crit lists {name:?} but the protected header has no such member"
            ));
        }
    }
    match protected.get("b64") {
        None => Ok(()),
        Some(Value::Bool(_)) if listed.contains(&"b64") => Ok(()),
        Some(Value::Bool(_)) => bad(
            "b64 is in the header but crit does not list it: RFC 7797 §6 requires crit to include b64, so verifiers that do not know b64 refuse rather than misread the payload".into(),
        ),
        Some(other) => bad(format!("b64 is {other}, not a boolean (RFC 7797 §3)")),
    }
}

/// An EC key's `crv` must match its coordinates' length and the algorithm's curve.
fn check_curve(key: &Map<String, Value>, alg: &str) -> Result<(), Refusal> {
    let crv = key.get("crv").and_then(Value::as_str).unwrap_or("");
    let Some(len) = coordinate_len(crv) else {
        return Err(refuse(
            RefusalKind::CurveMismatch,
            format!("the EC key's crv {crv:?} is not P-256, P-384 or P-521"),
        ));
    };
    for member in ["x", "y"] {
        let bytes = member_bytes(key, member)?;
        if bytes.len() != len {
            return Err(refuse(
                RefusalKind::CurveMismatch,
                format!(
                    "the EC key's {member} is {} bytes; {crv} coordinates are {len} (RFC 7518 §6.2.1.2)",
                    bytes.len()
                ),
            ));
        }
    }
    match curve_of(alg) {
        Some(need) if need != crv => Err(refuse(
            RefusalKind::CurveMismatch,
            format!("the token says {alg}, which needs {need}; the key is {crv}"),
        )),
        _ => Ok(()),
    }
}

/// A base64url member of a JWK, decoded (canonical, unpadded).
fn member_bytes(key: &Map<String, Value>, name: &str) -> Result<Vec<u8>, Refusal> {
    let text = key
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| refuse(RefusalKind::UnusableKey, format!("the key has no {name:?}")))?;
    URL_SAFE_NO_PAD.decode(text).map_err(|_| {
        refuse(
            RefusalKind::UnusableKey,
            format!("the key's {name:?} is not canonical base64url"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::decode::decode;
    use serde_json::json;

    fn jws(header: Value) -> Jws {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(br#"{"sub":"a"}"#);
        decode(&format!("{h}.{p}.c2ln")).unwrap()
    }

    fn b64(n: usize) -> String {
        URL_SAFE_NO_PAD.encode(vec![7u8; n])
    }

    fn ec(crv: &str, len: usize) -> Value {
        json!({"kty": "EC", "crv": crv, "x": b64(len), "y": b64(len), "kid": "e"})
    }

    fn kind(r: Result<impl Sized, Refusal>) -> Option<RefusalKind> {
        r.err().map(|e| e.kind)
    }

    #[test]
    fn hmac_keys_must_be_as_long_as_the_hash() {
        assert_eq!(
            kind(check_hmac_secret(b"", "HS256")),
            Some(RefusalKind::EmptyHmacKey)
        );
        assert_eq!(
            kind(check_hmac_secret(&[1; 31], "HS256")),
            Some(RefusalKind::ShortHmacKey)
        );
        assert_eq!(kind(check_hmac_secret(&[1; 32], "HS256")), None);
        assert_eq!(
            kind(check_hmac_secret(&[1; 47], "HS384")),
            Some(RefusalKind::ShortHmacKey)
        );
        assert_eq!(kind(check_hmac_secret(&[1; 64], "HS512")), None);
    }

    #[test]
    fn each_key_class_is_refused_with_its_reason() {
        let t = |v: Value, alg: &str| kind(check_jwk(v.as_object().unwrap(), alg));
        let oct = |n: usize| json!({"kty": "oct", "k": b64(n)});
        assert_eq!(
            t(json!({"kty": "oct", "k": ""}), "HS256"),
            Some(RefusalKind::EmptyHmacKey)
        );
        assert_eq!(t(oct(16), "HS256"), Some(RefusalKind::ShortHmacKey));
        assert_eq!(t(oct(32), "HS256"), None);
        let mut enc = oct(32);
        enc["use"] = json!("enc");
        assert_eq!(t(enc, "HS256"), Some(RefusalKind::KeyNotForVerification));
        let mut ops = oct(32);
        ops["key_ops"] = json!(["encrypt", "sign"]);
        assert_eq!(
            t(ops.clone(), "HS256"),
            Some(RefusalKind::KeyNotForVerification)
        );
        ops["key_ops"] = json!(["sign", "verify"]);
        assert_eq!(t(ops, "HS256"), None);
        assert_eq!(t(oct(32), "RS256"), Some(RefusalKind::AlgorithmKeyMismatch));
        let mut pinned = oct(64);
        pinned["alg"] = json!("HS512");
        assert_eq!(t(pinned, "HS256"), Some(RefusalKind::AlgorithmNotPinned));
        assert_eq!(t(ec("P-256", 32), "ES256"), None);
        assert_eq!(
            t(ec("P-256", 48), "ES256"),
            Some(RefusalKind::CurveMismatch)
        );
        assert_eq!(
            t(ec("P-384", 48), "ES256"),
            Some(RefusalKind::CurveMismatch)
        );
        assert_eq!(t(ec("P-521", 66), "ES512"), None);
        assert_eq!(
            t(ec("P-256", 32), "none"),
            Some(RefusalKind::UnsupportedAlgorithm)
        );
    }

    /// A conforming JWK for `alg` (public parts of the right sizes; not a real key).
    fn conforming(alg: &str) -> Value {
        match key_type_of(alg) {
            Some("oct") => json!({"kty": "oct", "k": b64(min_hmac_key_len(alg).unwrap())}),
            Some("EC") => {
                let crv = curve_of(alg).unwrap();
                ec(crv, coordinate_len(crv).unwrap())
            }
            Some("RSA") => {
                json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xC7; 256]), "e": "AQAB"})
            }
            _ => json!({"kty": "OKP", "crv": "Ed25519", "x": b64(32)}),
        }
    }

    /// For every key type and algorithm, each mismatch class is refused with its kind and
    /// the conforming key passes.
    #[test]
    fn every_key_type_refuses_each_mismatch_class() {
        let algs = [
            "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
            "ES256", "ES384", "ES512", "EdDSA",
        ];
        let t = |v: &Value, alg: &str| kind(check_jwk(v.as_object().unwrap(), alg));
        for alg in algs {
            let good = conforming(alg);
            assert_eq!(t(&good, alg), None, "{alg}: {good}");
            let mut sig = good.clone();
            sig["use"] = json!("sig");
            sig["key_ops"] = json!(["verify"]);
            sig["alg"] = json!(alg);
            assert_eq!(t(&sig, alg), None, "{alg} with use, key_ops and alg");
            let mut enc = good.clone();
            enc["use"] = json!("enc");
            assert_eq!(
                t(&enc, alg),
                Some(RefusalKind::KeyNotForVerification),
                "{alg}"
            );
            let mut ops = good.clone();
            ops["key_ops"] = json!(["encrypt", "wrapKey"]);
            assert_eq!(
                t(&ops, alg),
                Some(RefusalKind::KeyNotForVerification),
                "{alg}"
            );
            for other in algs.iter().filter(|o| **o != alg) {
                let mut pinned = good.clone();
                pinned["alg"] = json!(other);
                let want = if key_type_of(other) == key_type_of(alg) {
                    RefusalKind::AlgorithmNotPinned
                } else {
                    RefusalKind::AlgorithmKeyMismatch
                };
                // The key pinned to another algorithm, or a token of another algorithm.
                assert_eq!(
                    t(&pinned, alg),
                    Some(RefusalKind::AlgorithmNotPinned),
                    "{alg} key pinned to {other}"
                );
                let got = t(&good, other);
                if key_type_of(other) != key_type_of(alg) {
                    assert_eq!(got, Some(want), "{alg} key, {other} token");
                }
            }
            if let Some(min) = min_hmac_key_len(alg) {
                let short = json!({"kty": "oct", "k": b64(min - 1)});
                assert_eq!(t(&short, alg), Some(RefusalKind::ShortHmacKey), "{alg}");
                let empty = json!({"kty": "oct", "k": ""});
                assert_eq!(t(&empty, alg), Some(RefusalKind::EmptyHmacKey), "{alg}");
            }
            if let Some(crv) = curve_of(alg) {
                let len = coordinate_len(crv).unwrap();
                assert_eq!(
                    t(&ec(crv, len + 1), alg),
                    Some(RefusalKind::CurveMismatch),
                    "{alg}"
                );
                for other in ["P-256", "P-384", "P-521"].iter().filter(|c| **c != crv) {
                    let k = ec(other, coordinate_len(other).unwrap());
                    assert_eq!(
                        t(&k, alg),
                        Some(RefusalKind::CurveMismatch),
                        "{alg} on {other}"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        /// Any HMAC key shorter than the hash is refused, any other is accepted.
        #[test]
        fn hmac_key_length_decides(len in 0usize..130, which in 0usize..3) {
            let alg = ["HS256", "HS384", "HS512"][which];
            let min = min_hmac_key_len(alg).unwrap();
            let got = kind(check_hmac_secret(&vec![0xA5; len], alg));
            let want = match len {
                0 => Some(RefusalKind::EmptyHmacKey),
                n if n < min => Some(RefusalKind::ShortHmacKey),
                _ => None,
            };
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn key_sets_must_give_exactly_one_key() {
        let set = json!({"keys": [ec("P-256", 32), ec("P-256", 32)]});
        let r = select_jwk(&set, &jws(json!({"alg": "ES256", "kid": "e"})));
        assert_eq!(kind(r), Some(RefusalKind::AmbiguousKey));
        let r = select_jwk(&set, &jws(json!({"alg": "ES256"})));
        assert_eq!(kind(r), Some(RefusalKind::AmbiguousKey));
        let r = select_jwk(&set, &jws(json!({"alg": "ES256", "kid": "other"})));
        assert_eq!(kind(r), Some(RefusalKind::AmbiguousKey));
        let one = json!({"keys": [ec("P-256", 32)]});
        assert!(select_jwk(&one, &jws(json!({"alg": "ES256", "kid": "e"}))).is_ok());
        let mixed = json!({"keys": [ec("P-256", 32), {"kty": "oct", "k": b64(32), "kid": "h"}]});
        let r = select_jwk(&mixed, &jws(json!({"alg": "HS256", "kid": "h"})));
        assert_eq!(kind(r), Some(RefusalKind::MixedKeyTypes));
    }

    /// The testbed's ROCA-shaped 2048-bit demo modulus.
    fn roca_modulus() -> Vec<u8> {
        let text = include_str!("../testbed/keys/roca-demo.txt");
        let hex = text.lines().find_map(|l| l.strip_prefix("n=")).unwrap();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rsa_keys_must_be_long_and_not_of_the_roca_generator() {
        assert_eq!(kind(check_rsa_modulus(&[0xC7; 256])), None);
        assert_eq!(
            kind(check_rsa_modulus(&[0x7F; 256])),
            Some(RefusalKind::WeakRsaKey),
            "2047 bits"
        );
        assert_eq!(
            kind(check_rsa_modulus(&[0xC7; 128])),
            Some(RefusalKind::WeakRsaKey)
        );
        let roca = roca_modulus();
        assert_eq!(roca.len(), 256);
        assert_eq!(kind(check_rsa_modulus(&roca)), Some(RefusalKind::RocaKey));
        let jwk = json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(&roca), "e": "AQAB"});
        assert_eq!(
            kind(check_jwk(jwk.as_object().unwrap(), "PS512")),
            Some(RefusalKind::RocaKey)
        );
    }

    #[test]
    fn crit_must_list_only_understood_protected_members() {
        let m = |v: Value| v.as_object().unwrap().clone();
        let none = Map::new();
        let t = |p: Value, u: &Map<String, Value>| kind(check_crit(&m(p), u));
        assert_eq!(t(json!({"alg": "HS256"}), &none), None);
        assert_eq!(t(json!({"b64": false, "crit": ["b64"]}), &none), None);
        for (protected, why) in [
            (json!({"b64": false}), "b64 not in crit"),
            (json!({"crit": ["exp"], "exp": 1}), "unknown extension"),
            (json!({"crit": ["b64"]}), "listed but absent"),
            (
                json!({"crit": ["alg"], "alg": "HS256"}),
                "a registered name",
            ),
            (json!({"crit": []}), "empty"),
            (json!({"crit": "b64", "b64": false}), "not an array"),
            (json!({"crit": ["b64"], "b64": "no"}), "b64 not a boolean"),
        ] {
            assert_eq!(
                t(protected, &none),
                Some(RefusalKind::CriticalHeader),
                "{why}"
            );
        }
        let unprotected = m(json!({"crit": ["b64"]}));
        assert_eq!(
            t(json!({"b64": false}), &unprotected),
            Some(RefusalKind::CriticalHeader)
        );
    }

    const ALGS: [&str; 13] = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
        "ES384", "ES512", "EdDSA",
    ];

    /// The mismatch classes of issue 15, each applied to a conforming key.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Class {
        Conforming,
        WrongKty,
        WrongCurve,
        KeyPinnedElsewhere,
        TokenOfAnotherAlg,
        UseEnc,
        KeyOpsWithoutVerify,
        ShortHmac,
        EmptyHmac,
        AmbiguousKid,
        Roca,
        ShortRsa,
    }

    const CLASSES: [Class; 12] = [
        Class::Conforming,
        Class::WrongKty,
        Class::WrongCurve,
        Class::KeyPinnedElsewhere,
        Class::TokenOfAnotherAlg,
        Class::UseEnc,
        Class::KeyOpsWithoutVerify,
        Class::ShortHmac,
        Class::EmptyHmac,
        Class::AmbiguousKid,
        Class::Roca,
        Class::ShortRsa,
    ];

    /// One case: the key set, the token's header, the pinned algorithm and the refusal due.
    type Case = (Value, Value, Option<String>, Option<RefusalKind>);

    /// The case of `class` for `alg`; `None` when the class does not apply to the key type.
    fn case(alg: &str, class: Class, kid: &str, pick: usize) -> Option<Case> {
        let kty = key_type_of(alg)?;
        let mut key = conforming(alg);
        key["kid"] = json!(kid);
        let header = json!({"alg": alg, "kid": kid});
        let same_type: Vec<&str> = ALGS
            .iter()
            .copied()
            .filter(|a| *a != alg && key_type_of(a) == Some(kty))
            .collect();
        let other_type: Vec<&str> = ["oct", "RSA", "EC", "OKP"]
            .into_iter()
            .filter(|t| *t != kty)
            .collect();
        let mut pin = None;
        let mut keys = vec![key.clone()];
        let want = match class {
            Class::Conforming => None,
            Class::WrongKty => {
                keys[0]["kty"] = json!(other_type[pick % other_type.len()]);
                Some(RefusalKind::AlgorithmKeyMismatch)
            }
            Class::WrongCurve if kty == "EC" => {
                let crv = curve_of(alg)?;
                let others: Vec<&str> = ["P-256", "P-384", "P-521", "secp256k1"]
                    .into_iter()
                    .filter(|c| *c != crv)
                    .collect();
                keys[0]["crv"] = json!(others[pick % others.len()]);
                Some(RefusalKind::CurveMismatch)
            }
            Class::WrongCurve if kty == "OKP" => {
                keys[0]["crv"] = json!(["X25519", "X448", "P-256"][pick % 3]);
                Some(RefusalKind::CurveMismatch)
            }
            Class::KeyPinnedElsewhere if !same_type.is_empty() => {
                keys[0]["alg"] = json!(same_type[pick % same_type.len()]);
                Some(RefusalKind::AlgorithmNotPinned)
            }
            Class::TokenOfAnotherAlg => {
                let others: Vec<&str> = ALGS.iter().copied().filter(|a| *a != alg).collect();
                pin = Some(others[pick % others.len()].to_string());
                Some(RefusalKind::AlgorithmNotPinned)
            }
            Class::UseEnc => {
                keys[0]["use"] = json!("enc");
                Some(RefusalKind::KeyNotForVerification)
            }
            Class::KeyOpsWithoutVerify => {
                let ops = [
                    json!(["encrypt"]),
                    json!(["sign"]),
                    json!(["wrapKey", "decrypt"]),
                    json!([]),
                ];
                keys[0]["key_ops"] = ops[pick % ops.len()].clone();
                Some(RefusalKind::KeyNotForVerification)
            }
            Class::ShortHmac if kty == "oct" => {
                let min = min_hmac_key_len(alg)?;
                keys[0]["k"] = json!(b64(1 + pick % (min - 1)));
                Some(RefusalKind::ShortHmacKey)
            }
            Class::EmptyHmac if kty == "oct" => {
                keys[0]["k"] = json!("");
                Some(RefusalKind::EmptyHmacKey)
            }
            Class::AmbiguousKid => {
                keys.push(key.clone());
                Some(RefusalKind::AmbiguousKey)
            }
            Class::Roca if kty == "RSA" => {
                keys[0]["n"] = json!(URL_SAFE_NO_PAD.encode(roca_modulus()));
                Some(RefusalKind::RocaKey)
            }
            Class::ShortRsa if kty == "RSA" => {
                keys[0]["n"] = json!(URL_SAFE_NO_PAD.encode(vec![0xC7; 64 + pick % 192]));
                Some(RefusalKind::WeakRsaKey)
            }
            _ => return None,
        };
        Some((json!({"keys": keys}), header, pin, want))
    }

    proptest::proptest! {
        /// For every JOSE key type (oct, RSA, EC P-256/384/521, OKP Ed25519) and algorithm,
        /// each mismatch class is refused with its reason and the conforming key is chosen.
        #[test]
        fn each_mismatch_class_is_refused_with_its_reason(
            a in 0usize..ALGS.len(),
            c in 0usize..CLASSES.len(),
            kid in "[a-z0-9-]{1,12}",
            pick in 0usize..1000,
        ) {
            let (alg, class) = (ALGS[a], CLASSES[c]);
            let case = case(alg, class, &kid, pick);
            proptest::prop_assume!(case.is_some());
            let (set, header, pin, want) = case.unwrap();
            let token = jws(header);
            let got = check_token(&token, pin.as_deref())
                .and_then(|()| select_jwk(&set, &token).map(|_| ()));
            let got_kind = got.as_ref().err().map(|r| r.kind);
            proptest::prop_assert_eq!(got_kind, want, "{} {:?}: {:?}", alg, class, got);
            if let Err(r) = got {
                proptest::prop_assert!(!r.reason.is_empty());
            }
        }
    }

    #[test]
    fn published_key_sets_are_judged_as_a_verifier_would() {
        let token = jws(json!({"alg": "ES256", "kid": "e"}));
        let kinds = |set: Value| -> Vec<RefusalKind> {
            judge_jwks(&set, &token)
                .into_iter()
                .map(|r| r.kind)
                .collect()
        };
        let good = ec("P-256", 32);
        assert_eq!(kinds(json!({"keys": [good]})), []);
        let enc_rsa = json!({"kty": "RSA", "use": "enc", "kid": "r", "n": URL_SAFE_NO_PAD.encode([0xC7; 256]), "e": "AQAB"});
        assert_eq!(
            kinds(json!({"keys": [good, enc_rsa]})),
            [],
            "an unused encryption key is fine"
        );
        let mut enc = good.clone();
        enc["use"] = json!("enc");
        assert_eq!(
            kinds(json!({"keys": [enc]})),
            [RefusalKind::KeyNotForVerification]
        );
        let oct = json!({"kty": "oct", "kid": "h", "k": b64(32)});
        assert_eq!(
            kinds(json!({"keys": [good, oct]})),
            [RefusalKind::PublishedSymmetricKey]
        );
        let roca = json!({"kty": "RSA", "kid": "old", "n": URL_SAFE_NO_PAD.encode(roca_modulus()), "e": "AQAB"});
        assert_eq!(kinds(json!({"keys": [good, roca]})), [RefusalKind::RocaKey]);
        let short = json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xC7; 128]), "e": "AQAB"});
        assert_eq!(
            kinds(json!({"keys": [good, short]})),
            [RefusalKind::WeakRsaKey]
        );
        assert_eq!(
            kinds(json!({"keys": [good, good]})),
            [RefusalKind::AmbiguousKey]
        );
        // An HMAC-signed service's tokens need no published key.
        let hs = jws(json!({"alg": "HS256"}));
        assert!(judge_jwks(&json!({"keys": []}), &hs).is_empty());
        assert_eq!(kinds(json!({})), [RefusalKind::UnusableKey]);
    }

    #[test]
    fn non_canonical_tokens_and_other_algorithms_are_refused() {
        let t = jws(json!({"alg": "ES256"}));
        assert_eq!(kind(check_token(&t, None)), None);
        assert_eq!(kind(check_token(&t, Some("ES256"))), None);
        assert_eq!(
            kind(check_token(&t, Some("PS512"))),
            Some(RefusalKind::AlgorithmNotPinned)
        );
        let h = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256"}).to_string());
        let padded = decode(&format!("{h}.eyJzdWIiOiJhIn0=.c2ln")).unwrap();
        assert_eq!(
            kind(check_token(&padded, None)),
            Some(RefusalKind::NonCanonicalEncoding)
        );
    }
}
