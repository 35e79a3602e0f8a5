//! Signing for forged tokens, done directly with aws-lc-rs so that every JWS algorithm we
//! forge is available (including `ES512` and HMAC with an *empty* key, which a careful
//! library refuses to build), and the attacker's own key pair.

use std::sync::Arc;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self as sig, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair,
    KeyPair as _, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::token::{Compact, b64, unb64};
use super::{ForgeError, ForgeErrorKind};
use crate::jwt::keys::{Curve, Jwk, PublicKey};

/// The `kid` of the key authprobe signs attacker-controlled tokens with.
pub const ATTACKER_KID: &str = "authprobe-attacker";

/// A private key for white-box re-signing ([`resign`](super::resign)) or for the attacker.
#[derive(Clone, PartialEq, Eq)]
pub enum SigningKey {
    /// An HMAC secret (`HS256`/`HS384`/`HS512`); may be empty.
    Hmac(Vec<u8>),
    /// An EC private key (P-256, P-384 or P-521) as PKCS#8 DER.
    EcPkcs8Der(Vec<u8>),
    /// An RSA private key as PKCS#8 DER.
    RsaPkcs8Der(Vec<u8>),
    /// An Ed25519 private key as PKCS#8 DER.
    Ed25519Pkcs8Der(Vec<u8>),
}

impl std::fmt::Debug for SigningKey {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            SigningKey::Hmac(_) => "Hmac",
            SigningKey::EcPkcs8Der(_) => "EcPkcs8Der",
            SigningKey::RsaPkcs8Der(_) => "RsaPkcs8Der",
            SigningKey::Ed25519Pkcs8Der(_) => "Ed25519Pkcs8Der",
        };
        write!(f, "SigningKey::{name}(<redacted>)")
    }
}

const EC_CURVES: [(Curve, &EcdsaSigningAlgorithm); 3] = [
    (Curve::P256, &ECDSA_P256_SHA256_FIXED_SIGNING),
    (Curve::P384, &ECDSA_P384_SHA384_FIXED_SIGNING),
    (Curve::P521, &ECDSA_P521_SHA512_FIXED_SIGNING),
];

impl SigningKey {
    /// Reads a PKCS#8 `-----BEGIN PRIVATE KEY-----` PEM (EC, RSA or Ed25519). PKCS#1 and SEC1
    /// PEMs are refused with [`ForgeErrorKind::InvalidKey`]; convert them with
    /// `openssl pkcs8 -topk8 -nocrypt`.
    pub fn from_pem(pem: &str) -> Result<SigningKey, ForgeError> {
        let err = || ForgeError::new(ForgeErrorKind::InvalidKey, "<private key pem>");
        let body = pem
            .trim()
            .strip_prefix("-----BEGIN PRIVATE KEY-----")
            .and_then(|s| s.strip_suffix("-----END PRIVATE KEY-----"))
            .ok_or_else(err)?;
        let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = STANDARD.decode(b64).map_err(|_| err())?;
        if EC_CURVES
            .iter()
            .any(|(_, a)| EcdsaKeyPair::from_pkcs8(a, &der).is_ok())
        {
            Ok(SigningKey::EcPkcs8Der(der))
        } else if RsaKeyPair::from_pkcs8(&der).is_ok() {
            Ok(SigningKey::RsaPkcs8Der(der))
        } else if Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).is_ok() {
            Ok(SigningKey::Ed25519Pkcs8Der(der))
        } else {
            Err(err())
        }
    }

    /// The natural JWS `alg` for this key: `HS256`, `ES256`/`ES384`/`ES512` by curve,
    /// `RS256`, `EdDSA`. Fails if the key material cannot be read.
    pub fn alg(&self) -> Result<&'static str, ForgeError> {
        match self {
            SigningKey::Hmac(_) => Ok("HS256"),
            SigningKey::EcPkcs8Der(der) => ec_curve(der).map(Curve::jws_alg),
            SigningKey::RsaPkcs8Der(_) => Ok("RS256"),
            SigningKey::Ed25519Pkcs8Der(_) => Ok("EdDSA"),
        }
    }
}

fn ec_curve(der: &[u8]) -> Result<Curve, ForgeError> {
    EC_CURVES
        .iter()
        .find(|(_, a)| EcdsaKeyPair::from_pkcs8(a, der).is_ok())
        .map(|(c, _)| *c)
        .ok_or_else(|| ForgeError::new(ForgeErrorKind::InvalidKey, "<ec private key>"))
}

fn hmac_alg(alg: &str) -> Option<hmac::Algorithm> {
    match alg {
        "HS256" => Some(hmac::HMAC_SHA256),
        "HS384" => Some(hmac::HMAC_SHA384),
        "HS512" => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

/// HMAC over `message`; any key length, including zero.
pub(crate) fn hmac_sign(alg: hmac::Algorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(alg, key), message)
        .as_ref()
        .to_vec()
}

/// Signs `message` (`header.payload`) with `key` under JWS algorithm `alg`, returning the raw
/// signature (ECDSA as fixed-length `r || s`, as JWS wants).
pub(crate) fn sign_raw(alg: &str, key: &SigningKey, message: &[u8]) -> Result<Vec<u8>, ForgeError> {
    let mismatch = || {
        ForgeError::new(
            ForgeErrorKind::KeyAlgorithmMismatch {
                alg: alg.to_owned(),
            },
            alg,
        )
    };
    let invalid = || ForgeError::new(ForgeErrorKind::InvalidKey, alg);
    let rng = SystemRandom::new();
    match key {
        SigningKey::Hmac(secret) => {
            let a = hmac_alg(alg).ok_or_else(mismatch)?;
            Ok(hmac_sign(a, secret, message))
        }
        SigningKey::EcPkcs8Der(der) => {
            let curve = match alg {
                "ES256" => Curve::P256,
                "ES384" => Curve::P384,
                "ES512" => Curve::P521,
                _ => return Err(mismatch()),
            };
            let (_, a) = EC_CURVES
                .iter()
                .find(|(c, _)| *c == curve)
                .ok_or_else(mismatch)?;
            let pair = EcdsaKeyPair::from_pkcs8(a, der).map_err(|_| mismatch())?;
            let s = pair.sign(&rng, message).map_err(|_| invalid())?;
            Ok(s.as_ref().to_vec())
        }
        SigningKey::RsaPkcs8Der(der) => {
            let encoding: &'static dyn sig::RsaEncoding = match alg {
                "RS256" => &sig::RSA_PKCS1_SHA256,
                "RS384" => &sig::RSA_PKCS1_SHA384,
                "RS512" => &sig::RSA_PKCS1_SHA512,
                "PS256" => &sig::RSA_PSS_SHA256,
                "PS384" => &sig::RSA_PSS_SHA384,
                "PS512" => &sig::RSA_PSS_SHA512,
                _ => return Err(mismatch()),
            };
            let pair = RsaKeyPair::from_pkcs8(der).map_err(|_| invalid())?;
            let mut out = vec![0u8; pair.public_modulus_len()];
            pair.sign(encoding, &rng, message, &mut out)
                .map_err(|_| invalid())?;
            Ok(out)
        }
        SigningKey::Ed25519Pkcs8Der(der) => {
            if alg != "EdDSA" && alg != "Ed25519" {
                return Err(mismatch());
            }
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| invalid())?;
            Ok(pair.sign(message).as_ref().to_vec())
        }
    }
}

/// `header_b64.payload_b64.signature` with the header's own `alg`.
pub(crate) fn sign_compact(
    alg: &str,
    header_b64: &str,
    payload_b64: &str,
    key: &SigningKey,
) -> Result<String, ForgeError> {
    let input = format!("{header_b64}.{payload_b64}");
    let s = sign_raw(alg, key, input.as_bytes())?;
    Ok(format!("{input}.{}", b64(&s)))
}

/// The EC P-256 key pair authprobe signs attacker-controlled tokens with (embedded `jwk`,
/// `jku`, `x5u`). Generated fresh per run; the private half never leaves the process. The
/// parsed key pair is built once and reused for every signature (reading PKCS#8 derives the
/// public point, which costs more than signing).
#[derive(Clone)]
pub struct AttackerKey {
    pkcs8: Vec<u8>,
    pair: Arc<EcdsaKeyPair>,
    public: Jwk,
}

impl std::fmt::Debug for AttackerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttackerKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl AttackerKey {
    /// Generates a new P-256 key with kid [`ATTACKER_KID`].
    pub fn generate() -> Result<AttackerKey, ForgeError> {
        let err = || ForgeError::new(ForgeErrorKind::InvalidKey, "<attacker key generation>");
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| err())?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .map_err(|_| err())?;
        let point = pair.public_key().as_ref();
        if point.len() != 65 || point[0] != 0x04 {
            return Err(err());
        }
        let public = Jwk {
            key: PublicKey::Ec {
                curve: Curve::P256,
                x: point[1..33].to_vec(),
                y: point[33..].to_vec(),
            },
            kid: Some(ATTACKER_KID.to_owned()),
            alg: Some("ES256".to_owned()),
            use_: Some("sig".to_owned()),
        };
        Ok(AttackerKey {
            pkcs8: pkcs8.as_ref().to_vec(),
            pair: Arc::new(pair),
            public,
        })
    }

    /// `header_b64.payload_b64.signature`, ES256-signed with the cached key pair.
    pub(crate) fn sign_es256_compact(
        &self,
        header_b64: &str,
        payload_b64: &str,
    ) -> Result<String, ForgeError> {
        let input = format!("{header_b64}.{payload_b64}");
        let s = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| ForgeError::new(ForgeErrorKind::InvalidKey, "ES256"))?;
        Ok(format!("{input}.{}", b64(s.as_ref())))
    }

    /// The public half, with kid, alg `ES256` and use `sig`.
    pub fn public_jwk(&self) -> &Jwk {
        &self.public
    }

    /// The JWKS document (`{"keys":[...]}`) the caller serves at the attacker URL.
    pub fn jwks_json(&self) -> String {
        serde_json::json!({ "keys": [self.public.to_json()] }).to_string()
    }

    /// The private key, for signing.
    pub fn signing_key(&self) -> SigningKey {
        SigningKey::EcPkcs8Der(self.pkcs8.clone())
    }

    /// The private key as PKCS#8 DER (e.g. to verify forged tokens in tests).
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }
}

/// Tries each candidate as the HMAC secret of an `HS256`/`HS384`/`HS512` token and returns
/// the first that reproduces its signature. `None` for other algorithms, malformed tokens, or
/// when no candidate matches. Offline, so the comparison need not be constant-time.
pub fn crack_hmac(
    token: &str,
    candidates: impl IntoIterator<Item = impl AsRef<[u8]>>,
) -> Option<Vec<u8>> {
    let c = Compact::parse(token).ok()?;
    let alg = hmac_alg(c.alg()?)?;
    let signature = unb64(c.signature_b64)?;
    let input = c.signing_input();
    candidates
        .into_iter()
        .find(|k| hmac_sign(alg, k.as_ref(), input.as_bytes()) == signature)
        .map(|k| k.as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::jwk::JwkSet;

    use super::*;
    use crate::jwt::keys::pem;

    #[test]
    fn signing_key_from_pem_recognises_ec_keys() {
        let key = AttackerKey::generate().unwrap();
        let k = SigningKey::from_pem(&pem("PRIVATE KEY", key.pkcs8_der())).unwrap();
        assert_eq!(k, SigningKey::EcPkcs8Der(key.pkcs8_der().to_vec()));
        assert_eq!(k.alg().unwrap(), "ES256");
        assert!(!format!("{k:?}").contains(&format!("{:?}", key.pkcs8_der()[0..8].to_vec())));
        assert_eq!(
            SigningKey::from_pem("nope").unwrap_err().kind,
            ForgeErrorKind::InvalidKey
        );
    }

    #[test]
    fn attacker_jwks_is_readable_by_us_and_by_jsonwebtoken() {
        let attacker = AttackerKey::generate().unwrap();
        let ours = crate::jwt::keys::parse_jwks(&attacker.jwks_json()).unwrap();
        assert_eq!(ours.keys, [attacker.public_jwk().clone()]);
        let theirs: JwkSet = serde_json::from_str(&attacker.jwks_json()).unwrap();
        assert!(theirs.find(ATTACKER_KID).is_some());
    }
}
