//! `jwt_mutate` (structure-aware): builds a well-formed compact JWS from an arbitrary header
//! and claims, applies every forgery of `jwt::dangerous`, and checks that each forged token
//! differs from the original and decodes (or fails to decode) exactly as its kind intends.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use authprobe::jwt::dangerous::{
    ATTACKER_KID, AttackerKey, ForgeContext, ForgeryKind, crack_hmac, forge,
};
use authprobe::jwt::decode::{DecodeErrorKind, Jws, b64url, decode, encode_compact};
use authprobe::jwt::keys::Jwk;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

static ATTACKER: LazyLock<AttackerKey> =
    LazyLock::new(|| AttackerKey::generate().expect("attacker key"));
static SERVICE_KEYS: LazyLock<Vec<Jwk>> = LazyLock::new(|| {
    // Any public key will do as "the service's": the attacker's own public half.
    vec![ATTACKER.public_jwk().clone()]
});
static JWKS_URL: LazyLock<url::Url> =
    LazyLock::new(|| url::Url::parse("http://127.0.0.1:9/attacker/jwks.json").expect("url"));

/// A JSON value; objects keep member order and may repeat names.
#[derive(Arbitrary, Debug)]
enum J {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(Name, J)>),
}

/// Member names: mostly the ones JOSE and JWT give meaning to, sometimes anything.
#[derive(Arbitrary, Debug)]
enum Name {
    Known(u8),
    Other(String),
}

const NAMES: &[&str] = &[
    "alg",
    "typ",
    "kid",
    "jwk",
    "jku",
    "x5u",
    "x5c",
    "cty",
    "crit",
    "b64",
    "authprobe",
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "scope",
    "role",
    "enc",
    "zip",
];
const ALGS: &[&str] = &[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512",
    "EdDSA", "none", "NONE", "nOnE", "",
];

impl Name {
    fn as_str(&self) -> &str {
        match self {
            Name::Known(i) => NAMES[usize::from(*i) % NAMES.len()],
            Name::Other(s) => s,
        }
    }
}

fn write(v: &J, out: &mut String) {
    match v {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Int(i) => out.push_str(&i.to_string()),
        J::Float(f) => out.push_str(&Value::from(*f).to_string()),
        J::Str(s) => out.push_str(&Value::from(s.as_str()).to_string()),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        J::Obj(members) => write_members(members.iter().map(|(k, v)| (k.as_str(), v)), out),
    }
}

fn write_members<'a>(members: impl Iterator<Item = (&'a str, &'a J)>, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(k).to_string());
        out.push(':');
        write(v, out);
    }
    out.push('}');
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Index into ALGS, or `None`: no `alg` member written first.
    alg: Option<u8>,
    header: Vec<(Name, J)>,
    claims: Vec<(Name, J)>,
    /// When set, the payload is this value instead of a claims object.
    payload_override: Option<J>,
    signature: Vec<u8>,
    other_signature: Option<Vec<u8>>,
    public_keys: bool,
    jwks_url: bool,
}

fn without(h: &Map<String, Value>, names: &[&str]) -> Map<String, Value> {
    let mut h = h.clone();
    for n in names {
        h.remove(*n);
    }
    h
}

fn check(kind: ForgeryKind, variant: &str, token: &str, orig: &Jws, other: Option<&Jws>) {
    let ctx = format!(
        "{kind:?} {variant:?}\nforged   {token}\noriginal {}",
        orig.raw
    );
    let dots = token.bytes().filter(|&b| b == b'.').count();
    let decoded = decode(token);
    if matches!(kind, ForgeryKind::MissingSignature) || dots == 1 {
        // Two segments: not a compact JWS; the signing input of the original.
        assert!(
            matches!(
                kind,
                ForgeryKind::MissingSignature | ForgeryKind::NoneAlgorithm
            ),
            "two segments\n{ctx}"
        );
        assert_eq!(
            decoded.as_ref().err().map(|e| e.kind),
            Some(DecodeErrorKind::NotCompact),
            "{ctx}"
        );
        if kind == ForgeryKind::MissingSignature {
            assert_eq!(token, orig.signing_input(), "{ctx}");
        } else {
            let j = decode(&format!("{token}.")).expect(&ctx);
            assert!(
                j.alg().is_some_and(|a| a.eq_ignore_ascii_case("none")),
                "{ctx}"
            );
            assert_eq!(j.payload_b64, orig.payload_b64, "{ctx}");
        }
        return;
    }
    let j = match decoded {
        Ok(j) => j,
        Err(e) => panic!("forged token does not decode: {e}\n{ctx}"),
    };
    let same_signing_input = j.header_b64 == orig.header_b64 && j.payload_b64 == orig.payload_b64;
    match kind {
        ForgeryKind::NoneAlgorithm => {
            assert!(
                j.alg().is_some_and(|a| a.eq_ignore_ascii_case("none")),
                "{ctx}"
            );
            assert!(j.signature.is_empty(), "{ctx}");
            assert_eq!(j.payload_b64, orig.payload_b64, "{ctx}");
            assert_eq!(
                without(&j.header, &["alg"]),
                without(&orig.header, &["alg"]),
                "{ctx}"
            );
        }
        ForgeryKind::MissingSignature => unreachable!(),
        ForgeryKind::EmptySignature => {
            assert!(same_signing_input && j.signature.is_empty(), "{ctx}");
        }
        ForgeryKind::TruncatedSignature => {
            assert!(same_signing_input, "{ctx}");
            assert!(j.signature.len() < orig.signature.len(), "{ctx}");
            assert!(orig.signature.starts_with(&j.signature), "{ctx}");
        }
        ForgeryKind::ForeignSignature => {
            let other = other.expect("foreign signature needs the other token");
            assert!(same_signing_input, "{ctx}");
            assert_eq!(j.signature, other.signature, "{ctx}");
        }
        ForgeryKind::ModifiedPayload => {
            assert_eq!(j.header_b64, orig.header_b64, "{ctx}");
            assert_eq!(j.signature_b64, orig.signature_b64, "{ctx}");
            assert_ne!(j.payload_b64, orig.payload_b64, "{ctx}");
        }
        ForgeryKind::ModifiedHeader => {
            assert_eq!(j.payload_b64, orig.payload_b64, "{ctx}");
            assert_eq!(j.signature_b64, orig.signature_b64, "{ctx}");
            assert_eq!(j.header.get("authprobe"), Some(&json!(1)), "{ctx}");
            assert_eq!(
                without(&j.header, &["authprobe"]),
                without(&orig.header, &["authprobe"]),
                "{ctx}"
            );
        }
        ForgeryKind::SymmetryConfusion => {
            let alg = orig.alg().unwrap_or_default();
            assert!(
                alg == "EdDSA" || ["RS", "PS", "ES"].iter().any(|p| alg.starts_with(p)),
                "symmetry confusion of a token whose alg is {alg:?}\n{ctx}"
            );
            assert!(j.alg().is_some_and(|a| a.starts_with("HS")), "{ctx}");
            assert_eq!(j.payload_b64, orig.payload_b64, "{ctx}");
            assert_eq!(
                without(&j.header, &["alg"]),
                without(&orig.header, &["alg"]),
                "{ctx}"
            );
        }
        ForgeryKind::AttackerProvidedEmbeddedJwk => {
            assert_eq!(j.alg(), Some("ES256"), "{ctx}");
            assert_eq!(
                j.header.get("jwk"),
                Some(&ATTACKER.public_jwk().key.to_jwk_json()),
                "{ctx}"
            );
            assert_eq!(j.payload_b64, orig.payload_b64, "{ctx}");
            assert_eq!(j.signature.len(), 64, "{ctx}");
        }
        ForgeryKind::AttackerProvidedJku | ForgeryKind::AttackerProvidedX5u => {
            let member = if kind == ForgeryKind::AttackerProvidedJku {
                "jku"
            } else {
                "x5u"
            };
            assert_eq!(j.alg(), Some("ES256"), "{ctx}");
            assert_eq!(j.kid(), Some(ATTACKER_KID), "{ctx}");
            assert_eq!(
                j.header.get(member),
                Some(&json!(JWKS_URL.as_str())),
                "{ctx}"
            );
            assert_eq!(j.payload_b64, orig.payload_b64, "{ctx}");
        }
        ForgeryKind::KidPathTraversal => {
            assert_eq!(j.alg(), Some("HS256"), "{ctx}");
            assert!(j.kid().is_some_and(|k| k.ends_with("dev/null")), "{ctx}");
            assert_eq!(
                crack_hmac(token, [b"".as_slice()]),
                Some(Vec::new()),
                "{ctx}"
            );
        }
        ForgeryKind::KidSqlInjection => {
            assert_eq!(j.alg(), Some("HS256"), "{ctx}");
            assert!(j.kid().is_some_and(|k| k.contains("UNION SELECT")), "{ctx}");
            assert!(crack_hmac(token, ["authprobe"]).is_some(), "{ctx}");
        }
        ForgeryKind::PsychicSignature => {
            let len = match j.alg() {
                Some("ES256") => 64,
                Some("ES384") => 96,
                Some("ES512") => 132,
                other => panic!("psychic signature with alg {other:?}\n{ctx}"),
            };
            assert_eq!(j.signature, vec![0u8; len], "{ctx}");
            assert_eq!(j.payload_b64, orig.payload_b64, "{ctx}");
        }
    }
}

fuzz_target!(|input: Input| {
    let mut header = String::new();
    let alg = input
        .alg
        .map(|i| J::Str(ALGS[usize::from(i) % ALGS.len()].to_owned()));
    let members = alg
        .iter()
        .map(|a| ("alg", a))
        .chain(input.header.iter().map(|(k, v)| (k.as_str(), v)));
    write_members(members, &mut header);
    let mut payload = String::new();
    match &input.payload_override {
        Some(v) => write(v, &mut payload),
        None => write_members(
            input.claims.iter().map(|(k, v)| (k.as_str(), v)),
            &mut payload,
        ),
    }
    let token = encode_compact(&header, &payload, &input.signature);
    let Ok(orig) = decode(&token) else {
        return; // e.g. JSON nested deeper than serde_json reads
    };
    let other_token = input.other_signature.as_ref().map(|s| {
        // Another token of the service: other claims, its own signature (over the same
        // bytes a signature is a genuine one, not a forgery).
        let payload = b64url(br#"{"authprobe_other_token":true}"#);
        format!("{}.{payload}.{}", orig.header_b64, b64url(s))
    });
    let other = other_token
        .as_deref()
        .map(|t| decode(t).expect("other token decodes"));
    let ctx = ForgeContext {
        public_keys: if input.public_keys {
            &SERVICE_KEYS
        } else {
            &[]
        },
        other_token: other_token.as_deref(),
        attacker_jwks_url: input.jwks_url.then(|| &*JWKS_URL),
        attacker: &ATTACKER,
    };
    for kind in ForgeryKind::ALL {
        let forged = match forge(kind, &token, &ctx) {
            Ok(f) => f,
            Err(e) => {
                // Only a payload that is not a claims object may stop a forgery.
                assert!(
                    kind == ForgeryKind::ModifiedPayload && orig.claims().is_none(),
                    "{kind:?} failed on a well-formed token: {e}\n{token}"
                );
                continue;
            }
        };
        let mut seen = std::collections::HashSet::new();
        for f in &forged {
            assert_eq!(f.kind, kind);
            assert_ne!(
                f.token, token,
                "{kind:?} {:?} did not change the token",
                f.variant
            );
            assert!(
                seen.insert(f.token.clone()),
                "{kind:?} returned a token twice"
            );
            check(kind, &f.variant, &f.token, &orig, other.as_ref());
        }
        // Kinds that always apply yield at least one token.
        let always = match kind {
            ForgeryKind::MissingSignature
            | ForgeryKind::NoneAlgorithm
            | ForgeryKind::KidPathTraversal
            | ForgeryKind::KidSqlInjection
            | ForgeryKind::PsychicSignature
            | ForgeryKind::AttackerProvidedEmbeddedJwk => true,
            ForgeryKind::EmptySignature | ForgeryKind::TruncatedSignature => {
                !orig.signature.is_empty()
            }
            ForgeryKind::AttackerProvidedJku | ForgeryKind::AttackerProvidedX5u => input.jwks_url,
            ForgeryKind::ForeignSignature => other.as_ref().is_some_and(|o| {
                o.signature_b64 != orig.signature_b64 && o.signing_input() != orig.signing_input()
            }),
            ForgeryKind::SymmetryConfusion => {
                input.public_keys
                    && orig.alg().is_some_and(|a| {
                        a == "EdDSA" || ["RS", "PS", "ES"].iter().any(|p| a.starts_with(p))
                    })
            }
            ForgeryKind::ModifiedPayload | ForgeryKind::ModifiedHeader => false,
        };
        assert!(
            !always || !forged.is_empty(),
            "{kind:?} yielded nothing for {token}"
        );
    }
});
