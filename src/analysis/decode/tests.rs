//! The search over real-world-shaped cookie values of each family (written from each format's
//! specification: itsdangerous, Django signing, Rack's cookie store, PHP `serialize`, Java's
//! stream protocol, MessagePack, CBOR), random opaque ids, and no panic on random input.

use super::*;

/// The most specific decoding: the last one that is not plain text.
fn best(value: &str) -> Decoded {
    decodings(value)
        .into_iter()
        .rev()
        .find(|d| d.layers.last() != Some(&Layer::Text))
        .unwrap_or_else(|| panic!("nothing decoded in {value}"))
}

fn sketch(d: &Decoded) -> String {
    d.node.sketch(&|_| None)
}

#[test]
fn flask_session_cookie() {
    let flask = ".eJyrVopPK0otzlCyKikqTdVRii8tTi2Kz0xRslIyMVLSUUouLkqLL8nPTs0DihinWSYbJBomAcWL8nNSgSKJKbmZeUq1AC_UFmo.ZVPxAA.79vZe_zjRiJLPyxB3rdd9NV4Wlo";
    let d = best(flask);
    assert_eq!(d.chain(), "itsdangerous → base64url → zlib → json");
    assert_eq!(
        sketch(&d),
        r#"{"_fresh": <bool>, "_user_id": <string, 2 chars>, "csrf_token": <string, 8 chars>, "role": <string, 5 chars>}"#
    );
}

#[test]
fn django_signed_cookie_session() {
    let django = ".eJyrVopPLC3JiC8tTi2Kz0xRslIyV9JBFktKTM5OzQNJpGQl5qXn6yXn55UUZSbpgZToQWWL9XzzU1JznKBqUQzISCzOAOq2TDJMxoeVagF_qi_L:1r31eq:3aR5qtpPYdhtKLvG2i12yDixHgnSXQIrx_fL78dSO0Y";
    let d = best(django);
    assert_eq!(d.chain(), "django-signing → base64url → zlib → json");
    assert_eq!(
        sketch(&d),
        r#"{"_auth_user_backend": <string, 41 chars, printable>, "_auth_user_hash": <string, 32 chars, hex>, "_auth_user_id": <string, 1 char>}"#
    );
    // The same under percent-encoding (a cookie jar that escapes `:`).
    let d = best(&django.replace(':', "%3A"));
    assert_eq!(
        d.chain(),
        "percent → django-signing → base64url → zlib → json"
    );
}

#[test]
fn rack_cookie_store_marshal() {
    let rack = "BAh7CEkiD3Nlc3Npb25faWQGOgZFVEkiJTlmODZkMDgxODg0YzdkNjU5YTJmZWFhMGM1NWFkMDE1BjsAVEkiDHVzZXJfaWQGOwBUaS9JIhBfY3NyZl90b2tlbgY7AFRJIg1LUTN4SzlacQY7AFQ%3D--c0da9b35edc469f303189908acb4f3dc7226c6fd";
    let d = best(rack);
    assert_eq!(d.chain(), "percent → rack-signed → base64 → ruby-marshal");
    assert_eq!(
        sketch(&d),
        r#"{"session_id": <string, 32 chars, hex>, "user_id": <int>, "_csrf_token": <string, 8 chars>}"#
    );
}

#[test]
fn php_serialized_percent_encoded_base64() {
    let php = "YTozOntzOjc6InVzZXJfaWQiO2k6MTI7czo4OiJ1c2VybmFtZSI7czo1OiJhbGljZSI7czo1OiJyb2xlcyI7YToxOntpOjA7czo0OiJ1c2VyIjt9fQ%3D%3D";
    let d = best(php);
    assert_eq!(d.chain(), "percent → base64 → php-serialize");
    assert_eq!(
        sketch(&d),
        r#"{"user_id": <int>, "username": <string, 5 chars>, "roles": {<int>: <string, 4 chars>}}"#
    );
}

#[test]
fn java_serialized_object() {
    let java = "rO0ABXNyABxjb20uZXhhbXBsZS5hdXRoLlVzZXJTZXNzaW9u////////724CAANKAAZ1c2VySWRMAAVyb2xlc3QAEExqYXZhL3V0aWwvTGlzdDtMAAh1c2VybmFtZXQAEkxqYXZhL2xhbmcvU3RyaW5nO3hwAAAAAAAAAAxwdAAFYWxpY2U=";
    let d = best(java);
    assert_eq!(d.chain(), "base64 → java-serialization");
    assert_eq!(
        sketch(&d),
        "com.example.auth.UserSession {userId: <int>, roles: null, username: <string, 5 chars>}"
    );
}

#[test]
fn msgpack_and_cbor_maps() {
    let d = best("g6N1aWQDpHVzZXKjYm9io2V4cM5lU_EA");
    assert_eq!(d.chain(), "base64url → msgpack");
    assert_eq!(
        sketch(&d),
        r#"{"uid": <int>, "user": <string, 3 chars>, "exp": <int>}"#
    );
    let d = best("o2NzdWJlY2Fyb2xjaWF0GmVT8QBjYWRt9A");
    assert_eq!(d.chain(), "base64url → cbor");
    assert_eq!(
        sketch(&d),
        r#"{"sub": <string, 5 chars>, "iat": <int>, "adm": <bool>}"#
    );
}

#[test]
fn gzip_hex_and_nested_layers() {
    use miniz_oxide::deflate::compress_to_vec;
    let mut gz = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3];
    gz.extend(compress_to_vec(br#"{"uid":1}"#, 6));
    gz.extend([0; 8]);
    let hex: String = gz.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(best(&hex).chain(), "hex → gzip → json");
    // Percent-encoded base64 of percent-encoded base64 of JSON: four layers.
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let inner = b64(r#"{"role":"admin"}"#).replace('=', "%3D");
    let outer = b64(&inner).replace('=', "%3D");
    assert_eq!(
        best(&outer).chain(),
        "percent → base64 → percent → base64 → json"
    );
}

#[test]
fn depth_and_size_are_bounded() {
    use base64::Engine as _;
    let mut v = r#"{"role":"admin"}"#.to_string();
    for _ in 0..10 {
        v = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    }
    let found = decodings(&v);
    assert!(found.iter().all(|d| d.layers.len() <= MAX_LAYERS + 1));
    assert!(!found.iter().any(|d| d.layers.last() == Some(&Layer::Json)));
    let huge = "A".repeat(MAX_INPUT_BYTES + 1);
    assert_eq!(decodings(&huge).len(), 1, "only the value itself");
}

use crate::analysis::test_rng::XorShift;

#[test]
fn random_ids_and_signed_layouts_decode_to_no_structure() {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let mut rng = XorShift(0x5eed_0f0b_adca_fe01);
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    for round in 0..1500 {
        let len = 16 + (rng.next() % 48) as usize;
        let bytes = rng.bytes(len);
        let sig = URL_SAFE_NO_PAD.encode(rng.bytes(20));
        let ids = [
            URL_SAFE_NO_PAD.encode(&bytes),
            STANDARD.encode(&bytes),
            hex(&bytes),
            format!(".{}.ZVPxAA.{sig}", URL_SAFE_NO_PAD.encode(&bytes)),
            format!("{}:1r31eq:{sig}", URL_SAFE_NO_PAD.encode(&bytes)),
            format!("{}--{}", STANDARD.encode(&bytes), hex(&rng.bytes(20))),
            format!("s:{}.{sig}", URL_SAFE_NO_PAD.encode(&bytes)),
        ];
        for id in ids {
            for d in decodings(&id) {
                let structured = !matches!(d.node, Node::Text(_));
                assert!(
                    !structured,
                    "round {round}: {id} decoded to {} {}",
                    d.chain(),
                    sketch(&d)
                );
            }
        }
    }
}

#[test]
fn never_panics_on_random_input() {
    let mut rng = XorShift(42);
    let tricky: &[u8] =
        b"%%3A.:|--=={}[]\"'\\eyJ0a1fF-_+/ \x00\x7f\xc3\xa9\xffrO0ABeJwBAh7a:s:i:O:;";
    for round in 0..3000 {
        let len = (rng.next() % 200) as usize;
        let bytes: Vec<u8> = if round % 2 == 0 {
            rng.bytes(len)
        } else {
            (0..len)
                .map(|_| tricky[(rng.next() % tricky.len() as u64) as usize])
                .collect()
        };
        let s = String::from_utf8_lossy(&bytes);
        for d in decodings(&s) {
            assert!(d.layers.len() <= MAX_LAYERS + 1);
            assert!(d.node.sketch(&|_| None).chars().count() <= MAX_SKETCH_CHARS);
        }
        // Every binary decoder on the raw bytes, with each magic in front.
        for magic in [
            &[][..],
            &[0xac, 0xed, 0, 5],
            &[4, 8],
            &[0x1f, 0x8b, 8],
            &[0x78, 0x9c],
        ] {
            let mut b = magic.to_vec();
            b.extend(&bytes);
            let _ = java::decode(&b);
            let _ = marshal::decode(&b);
            let _ = php::decode(&b);
            let _ = binary::msgpack(&b);
            let _ = binary::cbor(&b);
            let _ = compress::inflate(&b, Container::Gzip);
            let _ = compress::inflate(&b, Container::Zlib);
        }
    }
}
