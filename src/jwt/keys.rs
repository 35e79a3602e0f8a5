//! Public keys as a service publishes them (RFC 7517 JWK / JWKS), and the byte serialisations
//! a confused verifier might mistake for an HMAC secret.
//!
//! Owns: reading JWKS documents into [`PublicKey`]s (tolerant of unknown members, every bad
//! key reported as a [`SkippedKey`] rather than silently dropped), and writing them back out as
//! SubjectPublicKeyInfo / PKCS#1 DER and PEM and as JWK JSON, with a small hand-written ASN.1
//! DER encoder. Must not: fetch anything (the caller hands in the JWKS text), verify
//! signatures, or hold private keys.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD, URL_SAFE_NO_PAD_INDIFFERENT};
use serde_json::{Map, Value};

/// A named elliptic curve of the NIST family used by `ES256`/`ES384`/`ES512`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256 (secp256r1), `crv: "P-256"`, used with `ES256`.
    P256,
    /// NIST P-384 (secp384r1), `crv: "P-384"`, used with `ES384`.
    P384,
    /// NIST P-521 (secp521r1), `crv: "P-521"`, used with `ES512`.
    P521,
}

impl Curve {
    /// The JWK `crv` name, e.g. `"P-256"`.
    pub fn jwk_name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Length in bytes of one coordinate (and of `r` / `s` in a JWS signature).
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The JWS algorithm that signs with this curve, e.g. `"ES256"`.
    pub fn jws_alg(self) -> &'static str {
        match self {
            Curve::P256 => "ES256",
            Curve::P384 => "ES384",
            Curve::P521 => "ES512",
        }
    }

    fn from_jwk_name(name: &str) -> Option<Curve> {
        match name {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            "P-521" => Some(Curve::P521),
            _ => None,
        }
    }

    fn oid(self) -> &'static [u64] {
        match self {
            Curve::P256 => &[1, 2, 840, 10045, 3, 1, 7],
            Curve::P384 => &[1, 3, 132, 0, 34],
            Curve::P521 => &[1, 3, 132, 0, 35],
        }
    }
}

/// The key material of one public key. Big-endian integers are kept as the JWK gave them
/// (after base64url decoding); EC coordinates are left-padded to the curve's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// `kty: "RSA"`: modulus `n` and public exponent `e`.
    Rsa {
        /// Modulus, big-endian.
        n: Vec<u8>,
        /// Public exponent, big-endian.
        e: Vec<u8>,
    },
    /// `kty: "EC"`: a point on a NIST curve.
    Ec {
        /// The curve.
        curve: Curve,
        /// X coordinate, big-endian, exactly [`Curve::coordinate_len`] bytes.
        x: Vec<u8>,
        /// Y coordinate, big-endian, exactly [`Curve::coordinate_len`] bytes.
        y: Vec<u8>,
    },
    /// `kty: "OKP", crv: "Ed25519"`: the 32-byte public key.
    Ed25519 {
        /// The encoded point.
        x: Vec<u8>,
    },
}

/// One key of a JWKS: the key material plus the members that say how it is meant to be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// The key material.
    pub key: PublicKey,
    /// `kid`, if present.
    pub kid: Option<String>,
    /// `alg`, if present.
    pub alg: Option<String>,
    /// `use`, if present (e.g. `"sig"`).
    pub use_: Option<String>,
}

impl Jwk {
    /// The key as JWK JSON, with `kid`, `alg` and `use` when present.
    pub fn to_json(&self) -> Value {
        let mut v = self.key.to_jwk_json();
        if let Value::Object(m) = &mut v {
            for (name, value) in [("kid", &self.kid), ("alg", &self.alg), ("use", &self.use_)] {
                if let Some(value) = value {
                    m.insert(name.to_owned(), Value::String(value.clone()));
                }
            }
        }
        v
    }
}

/// The result of reading a JWKS: the keys we understood, and every key we did not, with why.
#[derive(Debug, Clone, Default)]
pub struct ParsedJwks {
    /// The usable keys, in document order.
    pub keys: Vec<Jwk>,
    /// Keys that were skipped (unsupported `kty`/`crv`, or malformed), in document order.
    pub skipped: Vec<SkippedKey>,
}

/// A JWKS entry that could not be used.
#[derive(Debug, Clone)]
pub struct SkippedKey {
    /// Position of the entry in the `keys` array.
    pub index: usize,
    /// Its `kid`, if it had a string one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub error: KeyError,
}

impl fmt::Display for SkippedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {}", self.index)?;
        if let Some(kid) = &self.kid {
            write!(f, " (kid {kid:?})")?;
        }
        write!(f, ": {}", self.error)
    }
}

/// An error reading a JWK or JWKS. Keeps the offending input (the member value or a prefix of
/// the document).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (input: {input:?})")]
pub struct KeyError {
    /// What went wrong.
    pub kind: KeyErrorKind,
    /// The input that caused it (truncated to 200 characters).
    pub input: String,
}

/// The kinds of [`KeyError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyErrorKind {
    /// The document is not JSON.
    #[error("not json: {0}")]
    InvalidJson(String),
    /// The document or the key is not a JSON object.
    #[error("not a json object")]
    NotAnObject,
    /// The JWKS has no `keys` array.
    #[error("jwks has no \"keys\" array")]
    MissingKeys,
    /// A required member is absent or not a string.
    #[error("member {0:?} is missing or not a string")]
    MissingMember(&'static str),
    /// A member is not valid base64url.
    #[error("member {0:?} is not base64url")]
    InvalidBase64(&'static str),
    /// A member has an impossible length (empty integer, coordinate longer than the curve).
    #[error("member {0:?} has an invalid length")]
    InvalidLength(&'static str),
    /// The `kty` is one this module does not handle (e.g. `oct`).
    #[error("unsupported kty {0:?}")]
    UnsupportedKty(String),
    /// The `crv` is one this module does not handle (e.g. `secp256k1`, `Ed448`).
    #[error("unsupported crv {0:?}")]
    UnsupportedCurve(String),
}

fn key_error(kind: KeyErrorKind, input: &str) -> KeyError {
    KeyError {
        kind,
        input: input.chars().take(200).collect(),
    }
}

/// Reads a JWKS document (`{"keys": [...]}`). Unknown members are ignored; keys that cannot be
/// used are reported in [`ParsedJwks::skipped`]. Fails only if the document itself is unusable.
pub fn parse_jwks(json: &str) -> Result<ParsedJwks, KeyError> {
    let doc: Value = serde_json::from_str(json)
        .map_err(|e| key_error(KeyErrorKind::InvalidJson(e.to_string()), json))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| key_error(KeyErrorKind::NotAnObject, json))?;
    let keys = obj
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| key_error(KeyErrorKind::MissingKeys, json))?;
    let mut out = ParsedJwks::default();
    for (index, entry) in keys.iter().enumerate() {
        match parse_jwk(entry) {
            Ok(k) => out.keys.push(k),
            Err(error) => out.skipped.push(SkippedKey {
                index,
                kid: entry.get("kid").and_then(Value::as_str).map(str::to_owned),
                error,
            }),
        }
    }
    Ok(out)
}

/// Reads one JWK (public members only; private members such as `d` are ignored).
pub fn parse_jwk(json: &Value) -> Result<Jwk, KeyError> {
    let obj = json
        .as_object()
        .ok_or_else(|| key_error(KeyErrorKind::NotAnObject, &json.to_string()))?;
    let kty = str_member(obj, "kty")?;
    let key = match kty {
        "RSA" => {
            let n = strip_leading_zeros(b64_member(obj, "n")?);
            let e = strip_leading_zeros(b64_member(obj, "e")?);
            if n.is_empty() {
                return Err(key_error(
                    KeyErrorKind::InvalidLength("n"),
                    str_member(obj, "n")?,
                ));
            }
            if e.is_empty() {
                return Err(key_error(
                    KeyErrorKind::InvalidLength("e"),
                    str_member(obj, "e")?,
                ));
            }
            PublicKey::Rsa { n, e }
        }
        "EC" => {
            let crv = str_member(obj, "crv")?;
            let curve = Curve::from_jwk_name(crv)
                .ok_or_else(|| key_error(KeyErrorKind::UnsupportedCurve(crv.to_owned()), crv))?;
            let x = coordinate(obj, "x", curve.coordinate_len())?;
            let y = coordinate(obj, "y", curve.coordinate_len())?;
            PublicKey::Ec { curve, x, y }
        }
        "OKP" => {
            let crv = str_member(obj, "crv")?;
            if crv != "Ed25519" {
                return Err(key_error(
                    KeyErrorKind::UnsupportedCurve(crv.to_owned()),
                    crv,
                ));
            }
            let x = b64_member(obj, "x")?;
            if x.len() != 32 {
                return Err(key_error(
                    KeyErrorKind::InvalidLength("x"),
                    str_member(obj, "x")?,
                ));
            }
            PublicKey::Ed25519 { x }
        }
        other => {
            return Err(key_error(
                KeyErrorKind::UnsupportedKty(other.to_owned()),
                other,
            ));
        }
    };
    let opt = |name: &str| obj.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(Jwk {
        key,
        kid: opt("kid"),
        alg: opt("alg"),
        use_: opt("use"),
    })
}

fn str_member<'a>(obj: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, KeyError> {
    obj.get(name).and_then(Value::as_str).ok_or_else(|| {
        key_error(
            KeyErrorKind::MissingMember(name),
            &Value::Object(obj.clone()).to_string(),
        )
    })
}

fn b64_member(obj: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, KeyError> {
    let s = str_member(obj, name)?;
    URL_SAFE_NO_PAD_INDIFFERENT
        .decode(s)
        .map_err(|_| key_error(KeyErrorKind::InvalidBase64(name), s))
}

fn coordinate(
    obj: &Map<String, Value>,
    name: &'static str,
    len: usize,
) -> Result<Vec<u8>, KeyError> {
    let raw = b64_member(obj, name)?;
    let trimmed = strip_leading_zeros(raw);
    if trimmed.len() > len {
        return Err(key_error(
            KeyErrorKind::InvalidLength(name),
            str_member(obj, name)?,
        ));
    }
    let mut out = vec![0u8; len - trimmed.len()];
    out.extend_from_slice(&trimmed);
    Ok(out)
}

fn strip_leading_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let zeros = v.iter().take_while(|b| **b == 0).count();
    v.drain(..zeros);
    v
}

impl PublicKey {
    /// The key as an X.509 SubjectPublicKeyInfo, DER-encoded (what `-----BEGIN PUBLIC KEY-----`
    /// wraps).
    pub fn to_spki_der(&self) -> Vec<u8> {
        let (algorithm, key_bits) = match self {
            PublicKey::Rsa { .. } => (
                der::sequence(&[der::oid(&[1, 2, 840, 113549, 1, 1, 1]), der::null()]),
                self.to_pkcs1_der().unwrap_or_default(),
            ),
            PublicKey::Ec { curve, x, y } => {
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                (
                    der::sequence(&[der::oid(&[1, 2, 840, 10045, 2, 1]), der::oid(curve.oid())]),
                    point,
                )
            }
            PublicKey::Ed25519 { x } => (der::sequence(&[der::oid(&[1, 3, 101, 112])]), x.clone()),
        };
        der::sequence(&[algorithm, der::bit_string(&key_bits)])
    }

    /// RSA keys only: the PKCS#1 `RSAPublicKey` structure, DER-encoded (what
    /// `-----BEGIN RSA PUBLIC KEY-----` wraps).
    pub fn to_pkcs1_der(&self) -> Option<Vec<u8>> {
        match self {
            PublicKey::Rsa { n, e } => Some(der::sequence(&[der::integer(n), der::integer(e)])),
            _ => None,
        }
    }

    /// The serialisations of this key that a verifier confused into HMAC mode might use as the
    /// secret, each with a label: `"SPKI PEM"`, `"SPKI PEM without trailing newline"`,
    /// `"PKCS#1 PEM"` and `"PKCS#1 PEM without trailing newline"` (RSA only), `"SPKI DER"`,
    /// `"PKCS#1 DER"` (RSA only) and `"JWK JSON"`.
    pub fn to_pem_variants(&self) -> Vec<(String, Vec<u8>)> {
        let spki = self.to_spki_der();
        let spki_pem = pem("PUBLIC KEY", &spki);
        let mut out = vec![
            ("SPKI PEM".to_owned(), spki_pem.clone().into_bytes()),
            (
                "SPKI PEM without trailing newline".to_owned(),
                spki_pem.trim_end_matches('\n').as_bytes().to_vec(),
            ),
        ];
        let pkcs1 = self.to_pkcs1_der();
        if let Some(pkcs1) = &pkcs1 {
            let p = pem("RSA PUBLIC KEY", pkcs1);
            out.push(("PKCS#1 PEM".to_owned(), p.clone().into_bytes()));
            out.push((
                "PKCS#1 PEM without trailing newline".to_owned(),
                p.trim_end_matches('\n').as_bytes().to_vec(),
            ));
        }
        out.push(("SPKI DER".to_owned(), spki));
        if let Some(pkcs1) = pkcs1 {
            out.push(("PKCS#1 DER".to_owned(), pkcs1));
        }
        out.push((
            "JWK JSON".to_owned(),
            self.to_jwk_json().to_string().into_bytes(),
        ));
        out
    }

    /// The key as a JWK object with only the key-material members (`kty`, `crv`, `x`, `y`,
    /// `n`, `e`).
    pub fn to_jwk_json(&self) -> Value {
        let b64 = |b: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(b));
        let mut m = Map::new();
        match self {
            PublicKey::Rsa { n, e } => {
                m.insert("kty".into(), "RSA".into());
                m.insert("n".into(), b64(n));
                m.insert("e".into(), b64(e));
            }
            PublicKey::Ec { curve, x, y } => {
                m.insert("kty".into(), "EC".into());
                m.insert("crv".into(), curve.jwk_name().into());
                m.insert("x".into(), b64(x));
                m.insert("y".into(), b64(y));
            }
            PublicKey::Ed25519 { x } => {
                m.insert("kty".into(), "OKP".into());
                m.insert("crv".into(), "Ed25519".into());
                m.insert("x".into(), b64(x));
            }
        }
        Value::Object(m)
    }
}

/// PEM armour: base64 in 64-character lines, with a trailing newline.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The few ASN.1 DER constructions SubjectPublicKeyInfo needs.
mod der {
    pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    pub(super) fn sequence(items: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &items.concat())
    }

    /// A non-negative INTEGER from big-endian bytes: leading zeros removed, then one zero
    /// added back if the high bit is set (so the value stays positive).
    pub(super) fn integer(be: &[u8]) -> Vec<u8> {
        let start = be.iter().take_while(|b| **b == 0).count();
        let digits = &be[start..];
        let mut content = Vec::with_capacity(digits.len() + 1);
        if digits.first().is_none_or(|b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend_from_slice(digits);
        tlv(0x02, &content)
    }

    pub(super) fn bit_string(bits: &[u8]) -> Vec<u8> {
        let mut content = Vec::with_capacity(bits.len() + 1);
        content.push(0); // no unused bits
        content.extend_from_slice(bits);
        tlv(0x03, &content)
    }

    pub(super) fn null() -> Vec<u8> {
        vec![0x05, 0x00]
    }

    pub(super) fn oid(arcs: &[u64]) -> Vec<u8> {
        let mut content = Vec::new();
        let (first, rest) = match arcs {
            [a, b, rest @ ..] => (a * 40 + b, rest),
            [a] => (a * 40, &[][..]),
            [] => (0, &[][..]),
        };
        for arc in std::iter::once(first).chain(rest.iter().copied()) {
            let mut groups = vec![(arc & 0x7f) as u8];
            let mut v = arc >> 7;
            while v > 0 {
                groups.push(0x80 | (v & 0x7f) as u8);
                v >>= 7;
            }
            content.extend(groups.iter().rev());
        }
        tlv(0x06, &content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, crypto};

    /// RFC 7517 appendix A.1: an EC and an RSA public key.
    const RFC7517_A1: &str = r#"{"keys":
       [
         {"kty":"EC",
          "crv":"P-256",
          "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
          "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
          "use":"enc",
          "kid":"1"},

         {"kty":"RSA",
          "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
          "e":"AQAB",
          "alg":"RS256",
          "kid":"2011-04-29"}
       ]
     }"#;

    fn ec_p256_from_aws_lc() -> (Vec<u8>, PublicKey) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        assert_eq!(point.len(), 65);
        let key = PublicKey::Ec {
            curve: Curve::P256,
            x: point[1..33].to_vec(),
            y: point[33..].to_vec(),
        };
        (pkcs8.as_ref().to_vec(), key)
    }

    #[test]
    fn parses_the_rfc7517_a1_example() {
        let parsed = parse_jwks(RFC7517_A1).unwrap();
        assert!(parsed.skipped.is_empty());
        assert_eq!(parsed.keys.len(), 2);
        let ec = &parsed.keys[0];
        assert_eq!(ec.kid.as_deref(), Some("1"));
        assert_eq!(ec.use_.as_deref(), Some("enc"));
        match &ec.key {
            PublicKey::Ec { curve, x, y } => {
                assert_eq!(*curve, Curve::P256);
                assert_eq!((x.len(), y.len()), (32, 32));
            }
            other => panic!("expected EC, got {other:?}"),
        }
        let rsa = &parsed.keys[1];
        assert_eq!(rsa.kid.as_deref(), Some("2011-04-29"));
        assert_eq!(rsa.alg.as_deref(), Some("RS256"));
        match &rsa.key {
            PublicKey::Rsa { n, e } => {
                assert_eq!(n.len(), 256);
                assert_eq!(e, &[1, 0, 1]);
            }
            other => panic!("expected RSA, got {other:?}"),
        }
        // The SPKI we write for the RFC keys is accepted by jsonwebtoken's PEM reader.
        for (label, bytes) in rsa.key.to_pem_variants() {
            if label.starts_with("SPKI PEM") || label.starts_with("PKCS#1 PEM") {
                DecodingKey::from_rsa_pem(&bytes).unwrap_or_else(|e| panic!("{label}: {e}"));
            }
        }
        DecodingKey::from_ec_pem(&ec.key.to_pem_variants()[0].1).unwrap();
    }

    #[test]
    fn jwk_json_round_trips() {
        let parsed = parse_jwks(RFC7517_A1).unwrap();
        for k in &parsed.keys {
            assert_eq!(&parse_jwk(&k.to_json()).unwrap(), k);
        }
    }

    #[test]
    fn unsupported_and_bad_keys_are_reported_not_fatal() {
        let doc = r#"{"keys":[
            {"kty":"oct","k":"c2VjcmV0","kid":"hmac"},
            {"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"},
            {"kty":"RSA","n":"!!!","e":"AQAB"},
            {"kty":"EC","crv":"P-256","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AA"},
            {"kty":"RSA","e":"AQAB"},
            "not an object",
            {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","future":[1]}
        ], "extra": true}"#;
        let parsed = parse_jwks(doc).unwrap();
        assert_eq!(parsed.keys.len(), 1);
        assert!(matches!(parsed.keys[0].key, PublicKey::Ed25519 { .. }));
        let kinds: Vec<_> = parsed
            .skipped
            .iter()
            .map(|s| (s.index, s.error.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (0, KeyErrorKind::UnsupportedKty("oct".into())),
                (1, KeyErrorKind::UnsupportedCurve("secp256k1".into())),
                (2, KeyErrorKind::InvalidBase64("n")),
                (3, KeyErrorKind::InvalidLength("x")),
                (4, KeyErrorKind::MissingMember("n")),
                (5, KeyErrorKind::NotAnObject),
            ]
        );
        assert_eq!(parsed.skipped[0].kid.as_deref(), Some("hmac"));
        assert!(parsed.skipped[0].to_string().contains("unsupported kty"));
    }

    #[test]
    fn unusable_documents_are_typed_errors() {
        assert!(matches!(
            parse_jwks("{").unwrap_err().kind,
            KeyErrorKind::InvalidJson(_)
        ));
        assert_eq!(
            parse_jwks("[]").unwrap_err().kind,
            KeyErrorKind::NotAnObject
        );
        assert_eq!(
            parse_jwks(r#"{"keys":{}}"#).unwrap_err().kind,
            KeyErrorKind::MissingKeys
        );
    }

    #[test]
    fn ec_spki_from_aws_lc_point_verifies_a_token_signed_by_the_private_key() {
        let (pkcs8, key) = ec_p256_from_aws_lc();
        let message = b"eyJhbGciOiJFUzI1NiJ9.e30";
        let sig =
            crypto::sign(message, &EncodingKey::from_ec_der(&pkcs8), Algorithm::ES256).unwrap();
        let der = DecodingKey::from_ec_der(&key.to_spki_der());
        assert!(crypto::verify(&sig, message, &der, Algorithm::ES256).unwrap());
        let pem = DecodingKey::from_ec_pem(&key.to_pem_variants()[0].1).unwrap();
        assert!(crypto::verify(&sig, message, &pem, Algorithm::ES256).unwrap());
        let other = b"eyJhbGciOiJFUzI1NiJ9.e31";
        assert!(!crypto::verify(&sig, other, &pem, Algorithm::ES256).unwrap());
    }

    #[test]
    fn rsa_spki_and_pkcs1_verify_a_token_signed_by_the_private_key() {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 =
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        let public = pair.public_key();
        let key = PublicKey::Rsa {
            n: public.modulus().big_endian_without_leading_zero().to_vec(),
            e: public.exponent().big_endian_without_leading_zero().to_vec(),
        };
        // aws-lc's own PKCS#1 and SPKI encodings match ours byte for byte.
        assert_eq!(key.to_pkcs1_der().unwrap(), public.as_ref());
        let spki =
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(public)
                .unwrap();
        assert_eq!(key.to_spki_der(), spki.as_ref());

        let message = b"eyJhbGciOiJSUzI1NiJ9.e30";
        // jsonwebtoken signs RSA with PKCS#1 private keys; its PEM reader unwraps PKCS#8.
        let private =
            EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8.as_ref()).as_bytes()).unwrap();
        let sig = crypto::sign(message, &private, Algorithm::RS256).unwrap();
        for (label, bytes) in key.to_pem_variants() {
            let dk = match label.as_str() {
                "SPKI PEM" | "PKCS#1 PEM" => DecodingKey::from_rsa_pem(&bytes).unwrap(),
                "PKCS#1 DER" => DecodingKey::from_rsa_der(&bytes),
                _ => continue,
            };
            assert!(
                crypto::verify(&sig, message, &dk, Algorithm::RS256).unwrap(),
                "{label}"
            );
        }
    }

    #[test]
    fn pem_variants_are_labelled_and_distinct() {
        let (_, ec) = ec_p256_from_aws_lc();
        let labels: Vec<_> = ec.to_pem_variants().into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            labels,
            [
                "SPKI PEM",
                "SPKI PEM without trailing newline",
                "SPKI DER",
                "JWK JSON"
            ]
        );
        let v = ec.to_pem_variants();
        assert!(v[0].1.ends_with(b"-----END PUBLIC KEY-----\n"));
        assert!(v[1].1.ends_with(b"-----END PUBLIC KEY-----"));
        let rsa = parse_jwks(RFC7517_A1).unwrap().keys[1].key.clone();
        assert_eq!(rsa.to_pem_variants().len(), 7);
    }

    #[test]
    fn der_oids_encode_to_their_known_bytes() {
        assert_eq!(
            der::oid(&[1, 2, 840, 113549, 1, 1, 1]),
            [
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01
            ]
        );
        assert_eq!(
            der::oid(&[1, 2, 840, 10045, 2, 1]),
            [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]
        );
        assert_eq!(
            der::oid(&[1, 3, 132, 0, 35]),
            [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]
        );
        assert_eq!(der::oid(&[1, 3, 101, 112]), [0x06, 0x03, 0x2b, 0x65, 0x70]);
    }

    #[test]
    fn der_integers_follow_the_leading_zero_rule() {
        assert_eq!(
            der::integer(&[0x01, 0x00, 0x01]),
            [0x02, 0x03, 0x01, 0x00, 0x01]
        );
        assert_eq!(der::integer(&[0x00, 0x00, 0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der::integer(&[]), [0x02, 0x01, 0x00]);
    }

    #[test]
    fn der_long_lengths_use_the_long_form() {
        let t = der::tlv(0x04, &[0u8; 300]);
        assert_eq!(&t[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let t = der::tlv(0x04, &[0u8; 200]);
        assert_eq!(&t[..3], &[0x04, 0x81, 200]);
    }
}
