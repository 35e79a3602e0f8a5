//! The serialisations read into signatures with the right headers and signing inputs.

use serde_json::json;

use super::*;
use crate::jwt::decode::b64url;

fn h(v: Value) -> String {
    b64url(v.to_string().as_bytes())
}

fn jws(input: &str, detached: Option<&[u8]>) -> Message {
    match parse(input, detached).unwrap() {
        Parsed::Jws(m) => m,
        Parsed::Jwe(d) => panic!("a jwe: {d:?}"),
    }
}

fn jwe(input: &str) -> JweDescription {
    match parse(input, None).unwrap() {
        Parsed::Jwe(d) => d,
        Parsed::Jws(m) => panic!("a jws: {m:?}"),
    }
}

#[test]
fn a_compact_token_reads_as_the_decoder_reads_it() {
    let token = format!(
        "{}.{}.c2ln",
        h(json!({"alg": "ES256"})),
        b64url(b"{\"sub\":\"a\"}")
    );
    let m = jws(&token, None);
    assert_eq!(m.serialization, Serialization::Compact);
    assert_eq!(m.payload, PayloadSource::Attached);
    let s = &m.signatures[0];
    assert_eq!(s.jws, decode(&token).unwrap());
    assert_eq!(s.signing_input, s.jws.signing_input().into_bytes());
    assert!(s.problem.is_none());
}

#[test]
fn the_flattened_form_signs_what_the_compact_form_signs() {
    let (ph, p) = (h(json!({"alg": "ES256"})), b64url(b"{\"sub\":\"a\"}"));
    let doc = json!({"payload": p, "protected": ph, "header": {"kid": "k1"}, "signature": "c2ln"});
    let m = jws(&doc.to_string(), None);
    assert_eq!(m.serialization, Serialization::JsonFlattened);
    let s = &m.signatures[0];
    assert_eq!(s.signing_input, format!("{ph}.{p}").into_bytes());
    assert_eq!(s.jws.kid(), Some("k1"));
    assert_eq!(s.jws.alg(), Some("ES256"));
    assert_eq!(s.unprotected.get("kid"), Some(&json!("k1")));
    assert!(!s.protected.contains_key("kid"));
    assert_eq!(s.jws.claims().unwrap()["sub"], "a");
    assert!(s.problem.is_none());
}

#[test]
fn the_general_form_gives_each_signature_its_own_header() {
    let p = b64url(b"{\"sub\":\"a\"}");
    let doc = json!({"payload": p, "signatures": [
        {"protected": h(json!({"alg": "RS256"})), "header": {"kid": "r"}, "signature": "c2ln"},
        {"protected": h(json!({"alg": "ES256"})), "header": {"kid": "e"}, "signature": "c2lnMg"},
        {"header": {"alg": "HS256", "kid": "alg-unprotected"}, "signature": "c2lnMw"},
    ]});
    let m = jws(&doc.to_string(), None);
    assert_eq!(m.serialization, Serialization::JsonGeneral);
    let kids: Vec<_> = m.signatures.iter().map(|s| s.jws.kid().unwrap()).collect();
    assert_eq!(kids, ["r", "e", "alg-unprotected"]);
    assert_eq!(m.signatures[1].jws.signature, b"sig2");
    // No protected header: the signing input starts with the empty string.
    assert_eq!(m.signatures[2].signing_input, format!(".{p}").into_bytes());
    assert_eq!(m.signatures[2].jws.alg(), Some("HS256"));
}

#[test]
fn a_member_in_both_headers_is_refused() {
    let doc = json!({"payload": "e30", "protected": h(json!({"alg": "ES256", "kid": "a"})),
        "header": {"kid": "b"}, "signature": "c2ln"});
    let m = jws(&doc.to_string(), None);
    let p = m.signatures[0].problem.as_ref().unwrap();
    assert_eq!(p.kind, RefusalKind::DuplicateHeaderMember);
    assert!(p.reason.contains("\"kid\""), "{}", p.reason);
}

#[test]
fn json_that_is_no_serialization_gets_its_own_error() {
    for text in [
        "{\"payload\":\"e30\"}",
        "{\"signatures\":[],\"payload\":\"e30\"}",
        "{",
        "{\"signature\":1}",
    ] {
        let e = parse(text, None).unwrap_err();
        assert!(
            !e.message.contains("dot-separated"),
            "{text}: {}",
            e.message
        );
    }
}

#[test]
fn a_detached_payload_is_refused_until_supplied() {
    let ph = h(json!({"alg": "HS256"}));
    let token = format!("{ph}..c2ln");
    let m = jws(&token, None);
    assert_eq!(m.payload, PayloadSource::DetachedMissing);
    let s = &m.signatures[0];
    assert_eq!(
        s.problem.as_ref().unwrap().kind,
        RefusalKind::DetachedPayload
    );
    assert!(
        s.jws
            .anomalies
            .iter()
            .all(|a| a.segment != Segment::Payload)
    );
    let m = jws(&token, Some(b"{\"sub\":\"a\"}"));
    assert_eq!(m.payload, PayloadSource::DetachedSupplied);
    let s = &m.signatures[0];
    assert!(s.problem.is_none());
    assert_eq!(
        s.signing_input,
        format!("{ph}.{}", b64url(b"{\"sub\":\"a\"}")).into_bytes()
    );
    assert_eq!(s.jws.claims().unwrap()["sub"], "a");
    // The JSON form omits "payload".
    let doc = json!({"protected": ph, "signature": "c2ln"});
    assert_eq!(
        jws(&doc.to_string(), None).payload,
        PayloadSource::DetachedMissing
    );
}

#[test]
fn an_unencoded_payload_is_signed_as_it_is() {
    let ph = h(json!({"alg": "HS256", "b64": false, "crit": ["b64"]}));
    let m = jws(&format!("{ph}.$€ ok.c2ln"), None);
    let s = &m.signatures[0];
    assert!(s.unencoded);
    assert_eq!(s.signing_input, format!("{ph}.$€ ok").into_bytes());
    let doc = json!({"payload": "$.02", "protected": ph, "signature": "c2ln"});
    let s = &jws(&doc.to_string(), None).signatures[0];
    assert_eq!(s.signing_input, format!("{ph}.$.02").into_bytes());
    let s = &jws(&format!("{ph}..c2ln"), Some(b"$.02")).signatures[0];
    assert_eq!(s.signing_input, format!("{ph}.$.02").into_bytes());
}

#[test]
fn jwe_is_described_with_its_worries() {
    let d = jwe(&format!(
        "{}.a.b.c.d",
        h(json!({"alg": "RSA1_5", "enc": "A128GCM", "kid": "k", "zip": "DEF"}))
    ));
    assert_eq!(d.serialization, Serialization::Compact);
    assert_eq!(
        (d.algorithms.clone(), d.enc.as_deref(), d.kids.clone()),
        (
            vec!["RSA1_5".to_string()],
            Some("A128GCM"),
            vec!["k".to_string()]
        )
    );
    let kinds: Vec<_> = d.warnings.iter().map(|w| w.kind).collect();
    assert_eq!(kinds, [JweWarningKind::Rsa1_5, JweWarningKind::Compressed]);
    let d = jwe(&format!(
        "{}.a.b.c.d",
        h(json!({"alg": "dir", "enc": "A256GCM"}))
    ));
    assert_eq!(d.warnings[0].kind, JweWarningKind::DirectKey);
    let d = jwe(&format!("{}.a.b.c.d", h(json!({"alg": "none"}))));
    let kinds: Vec<_> = d.warnings.iter().map(|w| w.kind).collect();
    assert_eq!(
        kinds,
        [JweWarningKind::NotEncrypted, JweWarningKind::NotEncrypted]
    );
    let doc = json!({"protected": h(json!({"enc": "A128CBC-HS256"})), "recipients": [
        {"header": {"alg": "RSA-OAEP", "kid": "a"}, "encrypted_key": "x"},
        {"header": {"alg": "RSA1_5", "kid": "b"}, "encrypted_key": "y"}],
        "iv": "i", "ciphertext": "c", "tag": "t"});
    let d = jwe(&doc.to_string());
    assert_eq!(d.serialization, Serialization::JsonGeneral);
    assert_eq!(d.algorithms, ["RSA-OAEP", "RSA1_5"]);
    assert_eq!(d.kids, ["a", "b"]);
    assert_eq!(d.warnings.len(), 1);
    let doc = json!({"protected": h(json!({"enc": "A128GCM", "alg": "ECDH-ES"})), "iv": "i", "ciphertext": "c", "tag": "t"});
    let d = jwe(&doc.to_string());
    assert_eq!(
        (d.serialization, d.warnings.len()),
        (Serialization::JsonFlattened, 0)
    );
    assert_eq!(
        parse("!!.a.b.c.d", None).unwrap_err().kind,
        DecodeErrorKind::Jwe
    );
}
