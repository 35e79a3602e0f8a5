//! `jwks_parse`: reading a JWKS never panics; every key read back re-serialises (JWK JSON,
//! SPKI DER, PEM variants) and reads again as the same key.
#![no_main]

use authprobe::jwt::keys::{parse_jwk, parse_jwks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > 64 * 1024 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(jwks) = parse_jwks(text) else {
        return;
    };
    for skipped in &jwks.skipped {
        let _ = skipped.to_string();
    }
    for jwk in &jwks.keys {
        let again = parse_jwk(&jwk.to_json()).expect("a key we read re-reads from its own JSON");
        assert_eq!(&again, jwk);
        let _ = jwk.key.to_spki_der();
        let _ = jwk.key.to_pkcs1_der();
        let _ = jwk.key.to_pem_variants();
    }
});
