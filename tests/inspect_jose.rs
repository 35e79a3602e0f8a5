//! `inspect jwt` beyond the compact JWS: ES512 (P-521), the JWS JSON serialisations, detached
//! and unencoded (`b64: false`) payloads, JWE described, and ROCA keys refused. Tokens are made
//! by independent signers (aws-lc-rs, jsonwebtoken), never by authprobe.

use serde_json::{Value, json};

use crate::support::{authprobe, demo_es256_pubkey, demo_es256_token};
use authprobe::jwt::b64url;

/// A temporary file with `bytes`, named after the test.
fn temp_file(name: &str, bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("authprobe-jose-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// `inspect jwt ARGS --format json`: the exit code and the JSON report.
fn inspect(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["inspect", "jwt"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let (code, out, err) = authprobe(&all);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (code, v)
}

/// An HMAC signature (jsonwebtoken) over `input`, base64url.
fn hs256_sig(input: &[u8], secret: &[u8]) -> String {
    jsonwebtoken::crypto::sign(
        input,
        &jsonwebtoken::EncodingKey::from_secret(secret),
        jsonwebtoken::Algorithm::HS256,
    )
    .unwrap()
}

const SECRET: &[u8] = b"a 32-byte secret for HS256 tests";

mod es512 {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    /// A fresh P-521 key: its ES512 token over `claims`, its public PEM and its JWK.
    fn p521(claims: &Value) -> (String, String, Value) {
        let pair = EcdsaKeyPair::generate(&ECDSA_P521_SHA512_FIXED_SIGNING).unwrap();
        let header = b64url(br#"{"alg":"ES512","kid":"p521"}"#);
        let input = format!("{header}.{}", b64url(claims.to_string().as_bytes()));
        let sig = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        assert_eq!(sig.as_ref().len(), 132, "r || s, 66 bytes each");
        let token = format!("{input}.{}", b64url(sig.as_ref()));
        let der = pair.public_key().as_der().unwrap();
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        );
        let point = pair.public_key().as_ref();
        assert_eq!((point[0], point.len()), (4, 133));
        let jwk = json!({"kty": "EC", "crv": "P-521", "kid": "p521", "use": "sig",
            "x": b64url(&point[1..67]), "y": b64url(&point[67..])});
        (token, pem, jwk)
    }

    #[test]
    fn es512_verifies_with_a_p521_pem_and_jwk() {
        let (token, pem, jwk) = p521(&json!({"sub": "alice"}));
        let pem = temp_file("p521.pem", pem.as_bytes());
        let (code, v) = inspect(&[&token, "--key", &pem]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["verification"]["verified"], true);
        assert_eq!(v["verification"]["algorithm"], "ES512");
        let set = temp_file("p521.jwks", json!({"keys": [jwk]}).to_string().as_bytes());
        let (code, v) = inspect(&[&token, "--jwks", &set, "--alg", "ES512"]);
        assert_eq!(
            (code, &v["verification"]["verified"]),
            (0, &json!(true)),
            "{v}"
        );
        // Another key's token does not verify.
        let (other, _, _) = p521(&json!({"sub": "alice"}));
        let (code, v) = inspect(&[&other, "--jwks", &set]);
        assert_eq!(
            (code, &v["verification"]["verified"]),
            (1, &json!(false)),
            "{v}"
        );
        assert!(v["verification"]["refusal"].is_null(), "{v}");
    }

    #[test]
    fn es512_keeps_the_strict_checks() {
        let (token, pem, jwk) = p521(&json!({"sub": "alice"}));
        let pem = temp_file("p521-strict.pem", pem.as_bytes());
        let (code, v) = inspect(&[&token, "--key", &pem, "--alg", "ES256"]);
        assert_eq!(
            (code, &v["verification"]["refusal"]),
            (1, &json!("algorithm_not_pinned"))
        );
        // A P-256 key for an ES512 token, and a P-521 key for an ES256 token.
        let (code, v) = inspect(&[&token, "--key", &demo_es256_pubkey()]);
        assert_eq!(
            (code, &v["verification"]["refusal"]),
            (1, &json!("curve_mismatch")),
            "{v}"
        );
        let es = demo_es256_token(json!({"sub": "alice"}));
        let (code, v) = inspect(&[&es, "--key", &pem]);
        assert_eq!(
            (code, &v["verification"]["refusal"]),
            (1, &json!("curve_mismatch")),
            "{v}"
        );
        // crv P-521 with coordinates one byte short, and crv P-256 with P-521 coordinates.
        let mut short = jwk.clone();
        short["x"] = json!(b64url(&[9u8; 65]));
        let mut wrong = jwk.clone();
        wrong["crv"] = json!("P-256");
        for (name, key) in [("short", short), ("wrong", wrong)] {
            let set = temp_file(
                &format!("{name}.jwks"),
                json!({"keys": [key]}).to_string().as_bytes(),
            );
            let (code, v) = inspect(&[&token, "--jwks", &set]);
            assert_eq!(
                (code, &v["verification"]["refusal"]),
                (1, &json!("curve_mismatch")),
                "{name}: {v}"
            );
        }
    }
}

mod json_serializations {
    use super::*;

    fn parts(token: &str) -> (String, String, String) {
        let mut p = token.split('.').map(str::to_owned);
        (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
    }

    #[test]
    fn the_flattened_form_verifies_and_says_so() {
        let (h, p, s) = parts(&demo_es256_token(
            json!({"sub": "alice", "email": "alice@example.com"}),
        ));
        let doc = json!({"payload": p, "protected": h, "header": {"kid": "testbed-es256-1"}, "signature": s});
        let file = temp_file("flat.json", doc.to_string().as_bytes());
        let (code, v) = inspect(&[&format!("@{file}"), "--key", &demo_es256_pubkey()]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["serialization"], "json_flattened");
        assert_eq!(v["verification"]["verified"], true);
        assert_eq!(v["header"]["kid"], "testbed-es256-1");
        assert_eq!(v["unprotected_header"]["kid"], "testbed-es256-1");
        assert_eq!(v["payload"]["sub"], "alice");
        let (code, out, _) = authprobe(&["inspect", "jwt", &format!("@{file}")]);
        assert_eq!(code, 0);
        assert!(out.contains("serialization: JWS JSON (flattened)"), "{out}");
        assert!(out.contains("of which unprotected"), "{out}");
    }

    #[test]
    fn the_general_form_judges_each_signature() {
        let (h, p, s) = parts(&demo_es256_token(json!({"sub": "alice"})));
        let hs = b64url(br#"{"alg":"HS256"}"#);
        let hs_sig = hs256_sig(format!("{hs}.{p}").as_bytes(), SECRET);
        let doc = json!({"payload": p, "signatures": [
            {"protected": hs, "header": {"kid": "h"}, "signature": hs_sig},
            {"protected": h, "header": {"kid": "e"}, "signature": s},
        ]});
        let file = temp_file("general.json", doc.to_string().as_bytes());
        let (code, v) = inspect(&[&format!("@{file}"), "--key", &demo_es256_pubkey()]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["serialization"], "json_general");
        let sigs = v["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 2);
        assert_eq!(sigs[0]["verification"]["refusal"], "algorithm_key_mismatch");
        assert_eq!(sigs[1]["verification"]["verified"], true);
        assert_eq!(v["verification"]["verified"], true);
        let key = temp_file("general.key", SECRET);
        let (code, v) = inspect(&[&format!("@{file}"), "--key", &key]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["signatures"][0]["verification"]["verified"], true);
        // A member in both headers is refused (RFC 7515 §7.2.1).
        let doc = json!({"payload": p, "protected": h, "header": {"alg": "ES256"}, "signature": s});
        let file = temp_file("dup.json", doc.to_string().as_bytes());
        let (code, v) = inspect(&[&format!("@{file}"), "--key", &demo_es256_pubkey()]);
        assert_eq!(
            (code, &v["verification"]["refusal"]),
            (1, &json!("duplicate_header_member")),
            "{v}"
        );
    }

    #[test]
    fn json_that_is_not_a_jws_gets_a_json_error() {
        let file = temp_file("other.json", br#"{"payload": "e30"}"#);
        let (code, _, err) = authprobe(&["inspect", "jwt", &format!("@{file}")]);
        assert_eq!(code, 2, "{err}");
        assert!(!err.contains("dot-separated"), "{err}");
        assert!(err.contains("json serialization"), "{err}");
    }
}

mod payloads {
    use super::*;

    #[test]
    fn a_detached_payload_verifies_only_when_supplied() {
        let claims = br#"{"sub":"alice"}"#;
        let h = b64url(br#"{"alg":"HS256"}"#);
        let sig = hs256_sig(format!("{h}.{}", b64url(claims)).as_bytes(), SECRET);
        let detached = format!("{h}..{sig}");
        let key = temp_file("detached.key", SECRET);
        let (code, v) = inspect(&[&detached, "--key", &key]);
        assert_eq!(code, 1, "{v}");
        assert_eq!(v["payload_source"], "detached_missing");
        assert_eq!(v["verification"]["refusal"], "detached_payload");
        let payload = temp_file("detached.payload", claims);
        let (code, v) = inspect(&[&detached, "--key", &key, "--payload", &payload]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["payload_source"], "detached_supplied");
        assert_eq!(v["payload"]["sub"], "alice");
        // Another payload does not verify; --payload with an attached payload is bad input.
        let other = temp_file("other.payload", br#"{"sub":"admin"}"#);
        let (code, _) = inspect(&[&detached, "--key", &key, "--payload", &other]);
        assert_eq!(code, 1);
        let attached = format!("{h}.{}.{sig}", b64url(claims));
        let (code, _, err) = authprobe(&["inspect", "jwt", &attached, "--payload", &payload]);
        assert_eq!(code, 2, "{err}");
    }

    #[test]
    fn an_unencoded_payload_verifies_only_when_crit_lists_b64() {
        let key = temp_file("b64.key", SECRET);
        let payload = "$02 paid to alice";
        let sign = |header: &[u8]| {
            let h = b64url(header);
            let sig = hs256_sig(format!("{h}.{payload}").as_bytes(), SECRET);
            format!("{h}.{payload}.{sig}")
        };
        let good = sign(br#"{"alg":"HS256","b64":false,"crit":["b64"]}"#);
        let (code, v) = inspect(&[&good, "--key", &key]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["unencoded_payload"], true);
        assert_eq!(v["payload"]["text"], payload, "{v}");
        for header in [
            &br#"{"alg":"HS256","b64":false}"#[..],
            br#"{"alg":"HS256","b64":false,"crit":["b64","exp"],"exp":1}"#,
        ] {
            let (code, v) = inspect(&[&sign(header), "--key", &key]);
            assert_eq!(
                (code, &v["verification"]["refusal"]),
                (1, &json!("critical_header")),
                "{v}"
            );
        }
        // The JSON form carries the unencoded payload as a string.
        let h = b64url(br#"{"alg":"HS256","b64":false,"crit":["b64"]}"#);
        let p = "a.b.c";
        let sig = hs256_sig(format!("{h}.{p}").as_bytes(), SECRET);
        let doc = json!({"payload": p, "protected": h, "signature": sig});
        let file = temp_file("b64.json", doc.to_string().as_bytes());
        let (code, v) = inspect(&[&format!("@{file}"), "--key", &key]);
        assert_eq!(code, 0, "{v}");
    }
}

#[test]
fn a_jwe_is_described_with_its_worries() {
    let h = b64url(br#"{"alg":"RSA1_5","enc":"A128CBC-HS256","kid":"k1","zip":"DEF"}"#);
    let jwe = format!("{h}.ZW5j.aXY.Y2lwaGVy.dGFn");
    let (code, v) = inspect(&[&jwe]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["encrypted"], true);
    assert_eq!(v["jwe"]["enc"], "A128CBC-HS256");
    assert_eq!(v["jwe"]["kids"][0], "k1");
    let kinds: Vec<&str> = v["jwe"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["rsa1_5", "compressed"]);
    let (code, out, _) = authprobe(&["inspect", "jwt", &jwe]);
    assert_eq!(code, 0);
    assert!(out.contains("an encrypted token (JWE, compact)"), "{out}");
    assert!(out.contains("Bleichenbacher"), "{out}");
    // With a key it cannot be verified: exit 1.
    let (code, _) = inspect(&[&jwe, "--key", &demo_es256_pubkey()]);
    assert_eq!(code, 1);
}

#[test]
fn a_roca_key_is_refused() {
    let text = include_str!("../src/testbed/keys/roca-demo.txt");
    let hex = text.lines().find_map(|l| l.strip_prefix("n=")).unwrap();
    let n: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let set = json!({"keys": [{"kty": "RSA", "kid": "r", "n": b64url(&n), "e": "AQAB"}]});
    let file = temp_file("roca.jwks", set.to_string().as_bytes());
    let h = b64url(br#"{"alg":"RS256","kid":"r"}"#);
    let token = format!("{h}.{}.{}", b64url(b"{}"), b64url(&[1; 256]));
    let (code, v) = inspect(&[&token, "--jwks", &file]);
    assert_eq!(
        (code, &v["verification"]["refusal"]),
        (1, &json!("roca_key")),
        "{v}"
    );
    assert!(
        v["verification"]["reason"]
            .as_str()
            .unwrap()
            .contains("CVE-2017-15361")
    );
}
