//! `jwt_decode`: the lenient JWS decoder never panics, keeps its input, and re-encoding what
//! it decoded is stable: a canonical token (no whitespace, padding, standard-alphabet or
//! non-canonical base64) re-encodes to itself, and for any token decode → encode_compact →
//! decode gives the same header, payload and signature, with no encoding anomaly left.
#![no_main]

use authprobe::jwt::decode::{AnomalyKind, Jws, decode, encode_compact};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_750_000_000;

fn is_encoding_anomaly(k: AnomalyKind) -> bool {
    matches!(
        k,
        AnomalyKind::SurroundingWhitespace
            | AnomalyKind::WhitespaceInSegment
            | AnomalyKind::Base64Padding
            | AnomalyKind::StandardBase64Alphabet
            | AnomalyKind::NonCanonicalBase64
    )
}

fn reencode(jws: &Jws) -> Option<String> {
    let payload = String::from_utf8(jws.payload_bytes()).ok()?;
    Some(encode_compact(&jws.header_json, &payload, &jws.signature))
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    // The `inspect jwt` report (every serialisation: compact, detached, b64: false, JWS JSON
    // general and flattened, JWE described; decoder + claim analysis) never panics.
    if let Ok(i) = authprobe::jwt::inspect::inspect(token, None, NOW) {
        let _ = authprobe::jwt::inspect::render_text(&i);
    }
    let jws = match decode(token) {
        Ok(jws) => jws,
        Err(e) => {
            assert!(!e.message.is_empty());
            return;
        }
    };
    assert_eq!(jws.raw, token);
    let _ = serde_json::to_string(&jws).expect("a decoded token serialises");
    let _ = jws.innermost();
    let Some(again) = reencode(&jws) else {
        return; // payload is not UTF-8: encode_compact takes text
    };
    let canonical = !jws.anomalies.iter().any(|a| is_encoding_anomaly(a.kind));
    if canonical {
        assert_eq!(
            again, token,
            "a canonical token does not re-encode to itself"
        );
    }
    let second = decode(&again).expect("a re-encoded token decodes");
    assert_eq!(second.header, jws.header);
    assert_eq!(second.header_json, jws.header_json);
    assert_eq!(second.payload, jws.payload);
    assert_eq!(second.signature, jws.signature);
    assert!(
        !second.anomalies.iter().any(|a| is_encoding_anomaly(a.kind)),
        "re-encoding left an encoding anomaly: {:?}",
        second.anomalies
    );
    let non_encoding = |j: &Jws| -> Vec<AnomalyKind> {
        j.anomalies
            .iter()
            .map(|a| a.kind)
            .filter(|k| !is_encoding_anomaly(*k))
            .collect()
    };
    assert_eq!(non_encoding(&second), non_encoding(&jws));
    assert_eq!(
        reencode(&second).as_deref(),
        Some(again.as_str()),
        "not idempotent"
    );
});
