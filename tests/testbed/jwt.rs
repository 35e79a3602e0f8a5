//! Tests of the bearer-token mode over real loopback HTTP. Tokens are forged here with
//! `jsonwebtoken`, `aws-lc-rs` and hand-made base64url, never with authprobe's own JWT code.

use std::collections::BTreeSet;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

use super::{Resp, send, start};
use authprobe::testbed::{
    DEMO_ES256_PRIVATE_KEY_PEM, DEMO_ES256_PUBLIC_KEY_PEM, DEMO_HS256_WEAK_SECRET,
    DEMO_RS256_PUBLIC_KEY_PEM, ES256_KID, Flaw, RS256_KID, RunningTestbed, TOKEN_AUDIENCE,
    TOKEN_ISSUER,
};

// ---------------------------------------------------------------------------------------------
// Helpers

pub(super) async fn grant(tb: &RunningTestbed, user: &str, password: &str) -> Resp {
    let body = json!({ "username": user, "password": password }).to_string();
    send(
        tb,
        "POST",
        "/api/token",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await
}

/// Alice's access token from a successful grant.
pub(super) async fn access_token(tb: &RunningTestbed) -> String {
    let resp = grant(tb, "alice", "alice-demo-password").await;
    assert_eq!(resp.status, 200);
    resp.json()["access_token"].as_str().unwrap().to_owned()
}

async fn me(tb: &RunningTestbed, token: &str) -> Resp {
    let auth = format!("Bearer {token}");
    send(tb, "GET", "/api/token/me", &[("Authorization", &auth)], b"").await
}

/// The status `/api/token/me` answers for `token`; 401s are checked for their JSON and
/// challenge.
async fn status_of(tb: &RunningTestbed, token: &str) -> u16 {
    let resp = me(tb, token).await;
    if resp.status == 401 {
        assert_eq!(resp.json(), json!({ "error": "invalid_token" }), "{token}");
        assert_eq!(
            resp.header("www-authenticate"),
            Some(r#"Bearer error="invalid_token""#)
        );
    }
    resp.status
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Clean claims for `alice`, valid now.
fn claims() -> Value {
    let now = now();
    json!({
        "iss": TOKEN_ISSUER, "aud": TOKEN_AUDIENCE, "sub": "alice",
        "iat": now, "nbf": now, "exp": now + 300,
        "jti": "0123456789abcdef", "scope": "profile", "role": "user",
    })
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn segment(value: &Value) -> String {
    b64(value.to_string())
}

fn decode_segment(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn es256_header(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.into());
    header
}

fn demo_es256() -> EncodingKey {
    EncodingKey::from_ec_pem(DEMO_ES256_PRIVATE_KEY_PEM.as_bytes()).unwrap()
}

/// `claims` signed ES256 with the demo key, as the testbed would.
fn demo_signed(claims: &Value) -> String {
    jsonwebtoken::encode(&es256_header(ES256_KID), claims, &demo_es256()).unwrap()
}

/// A fresh EC P-256 key nobody trusts, and its public JWK.
fn attacker_key(kid: &str) -> (EncodingKey, Jwk) {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let key = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some(kid.into());
    (key, jwk)
}

/// HS256 over `header.claims` with `secret` (may be empty), by hand.
fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", segment(header), segment(claims));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// `token` with its payload replaced by `claims` (the signature kept).
fn swap_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], segment(claims), parts[2])
}

fn claims_with(changes: Value) -> Value {
    let mut claims = claims();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims
}

// ---------------------------------------------------------------------------------------------
// The clean service

#[tokio::test]
async fn clean_token_grant_issues_a_short_lived_es256_at_jwt() {
    let tb = start(&[]).await;
    let resp = grant(&tb, "alice", "alice-demo-password").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let body = resp.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let refresh = body["refresh_token"].as_str().unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(refresh).unwrap().len(), 32);

    let token = body["access_token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        decode_segment(parts[0]),
        json!({ "alg": "ES256", "typ": "at+jwt", "kid": ES256_KID })
    );
    let claims = decode_segment(parts[1]);
    let keys: BTreeSet<&str> = claims.as_object().unwrap().keys().map(|k| &**k).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "iss", "aud", "sub", "iat", "nbf", "exp", "jti", "scope", "role"
        ])
    );
    assert_eq!(claims["iss"], TOKEN_ISSUER);
    assert_eq!(claims["aud"], TOKEN_AUDIENCE);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["scope"], "profile");
    assert_eq!(claims["role"], "user");
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(claims["nbf"].as_u64(), Some(iat));
    assert_eq!(claims["exp"].as_u64(), Some(iat + 300));
    assert!(iat.abs_diff(now()) <= 5);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 32);

    let resp = me(&tb, token).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "user": "alice", "role": "user" }));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    // Every grant is a new token with a new jti.
    let other = access_token(&tb).await;
    assert_ne!(other, token);
    tb.shutdown().await;
}

#[tokio::test]
async fn token_grant_refuses_wrong_credentials_and_bad_bodies() {
    let tb = start(&[]).await;
    for (user, password) in [("alice", "bob-demo-password"), ("mallory", "x"), ("", "")] {
        let resp = grant(&tb, user, password).await;
        assert_eq!(resp.status, 401);
        assert_eq!(resp.json(), json!({ "error": "invalid_grant" }));
    }
    let cases: [(Option<&str>, &[u8], u16); 5] = [
        (Some("application/json"), b"{not json", 400),
        (Some("application/json"), br#"{"username":"alice"}"#, 400),
        (Some("application/json"), &[b' '; 20 * 1024], 413),
        (
            Some("text/plain"),
            br#"{"username":"a","password":"b"}"#,
            415,
        ),
        (
            None,
            br#"{"username":"bob","password":"bob-demo-password"}"#,
            200,
        ),
    ];
    for (content_type, body, status) in cases {
        let headers: Vec<(&str, &str)> = content_type
            .map(|c| ("Content-Type", c))
            .into_iter()
            .collect();
        let resp = send(&tb, "POST", "/api/token", &headers, body).await;
        assert_eq!(resp.status, status, "{content_type:?}");
        resp.json();
    }
    let resp = send(&tb, "GET", "/api/token", &[], b"").await;
    assert_eq!(resp.status, 405);
    tb.shutdown().await;
}

#[tokio::test]
async fn jwks_publishes_the_es256_key_that_verifies_tokens() {
    let tb = start(&[]).await;
    let resp = send(&tb, "GET", "/.well-known/jwks.json", &[], b"").await;
    assert_eq!(resp.status, 200);
    let body = resp.json();
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["kid"], ES256_KID);
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    assert!(key.get("d").is_none(), "no private part");
    let set: JwkSet = serde_json::from_value(body).unwrap();
    let decoding = DecodingKey::from_jwk(set.find(ES256_KID).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[TOKEN_AUDIENCE]);
    let token = access_token(&tb).await;
    jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
    tb.shutdown().await;
}

#[tokio::test]
async fn clean_verifier_refuses_every_forgery_and_bad_claim() {
    let tb = start(&[]).await;
    assert_eq!(status_of(&tb, &demo_signed(&claims())).await, 200);
    let (attacker, jwk) = attacker_key(ES256_KID);
    let now = now();
    let header_none = segment(&json!({ "alg": "none", "typ": "at+jwt" }));
    let body = segment(&claims());
    let mut embedded = es256_header(ES256_KID);
    embedded.jwk = Some(jwk);
    let cases = [
        (
            "other EC key",
            jsonwebtoken::encode(&es256_header(ES256_KID), &claims(), &attacker).unwrap(),
        ),
        ("alg none", format!("{header_none}.{body}.")),
        ("alg none, no signature", format!("{header_none}.{body}")),
        (
            "alg NoNe",
            format!("{}.{body}.", segment(&json!({ "alg": "NoNe" }))),
        ),
        (
            "expired",
            demo_signed(&claims_with(
                json!({ "iat": now - 600, "nbf": now - 600, "exp": now - 1 }),
            )),
        ),
        ("no exp", demo_signed(&claims_with(json!({ "exp": null })))),
        (
            "wrong aud",
            demo_signed(&claims_with(json!({ "aud": "other-api" }))),
        ),
        ("no aud", demo_signed(&claims_with(json!({ "aud": null })))),
        (
            "wrong iss",
            demo_signed(&claims_with(json!({ "iss": "https://evil.test" }))),
        ),
        ("no iss", demo_signed(&claims_with(json!({ "iss": null })))),
        ("no sub", demo_signed(&claims_with(json!({ "sub": null })))),
        (
            "nbf in the future",
            demo_signed(&claims_with(json!({ "nbf": now + 120 }))),
        ),
        (
            "tampered payload",
            swap_payload(
                &demo_signed(&claims()),
                &claims_with(json!({ "sub": "bob" })),
            ),
        ),
        (
            "all-zero signature",
            format!(
                "{}.{body}.{}",
                segment(&json!({ "alg": "ES256" })),
                b64([0u8; 64])
            ),
        ),
        (
            "HS256 with the public key PEM",
            hs256(
                &json!({ "alg": "HS256" }),
                &claims(),
                DEMO_RS256_PUBLIC_KEY_PEM.as_bytes(),
            ),
        ),
        (
            "HS256 with the ES256 public key PEM",
            hs256(
                &json!({ "alg": "HS256" }),
                &claims(),
                DEMO_ES256_PUBLIC_KEY_PEM.as_bytes(),
            ),
        ),
        (
            "HS256 with \"secret\"",
            hs256(&json!({ "alg": "HS256" }), &claims(), b"secret"),
        ),
        (
            "kid traversal",
            hs256(
                &json!({ "alg": "HS256", "kid": "../../../../../../../../dev/null" }),
                &claims(),
                b"",
            ),
        ),
        (
            "embedded jwk",
            jsonwebtoken::encode(&embedded, &claims(), &attacker).unwrap(),
        ),
    ];
    for (what, token) in &cases {
        assert_eq!(status_of(&tb, token).await, 401, "{what}");
    }
    tb.shutdown().await;
}

#[tokio::test]
async fn garbage_tokens_get_401_never_500() {
    let tb = start(&[]).await;
    let good = access_token(&tb).await;
    let parts: Vec<&str> = good.split('.').collect();
    let garbage = [
        "abc".to_owned(),
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
        "a.b.c".to_owned(),
        format!("{good}."),
        format!("{good}.x"),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.!!!", parts[0], parts[1]),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", b64("[]"), parts[1], parts[2]),
        format!("{}.{}.{}", b64("{\"alg\":7}"), parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            b64("{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\"}}"),
            parts[1],
            parts[2]
        ),
        format!("{}.{}.{}", parts[0], b64("not json"), parts[2]),
        format!("{}.{}.{}", parts[0], b64("{\"exp\":\"soon\"}"), parts[2]),
        "é".repeat(100),
        "A".repeat(6000),
    ];
    for token in &garbage {
        assert_eq!(status_of(&tb, token).await, 401, "{token}");
    }
    // No token, another scheme, an empty bearer: 401 without an error code (RFC 6750 §3.1).
    for auth in [None, Some("Basic YWxpY2U6eA=="), Some("Bearer")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        let resp = send(&tb, "GET", "/api/token/me", &headers, b"").await;
        assert_eq!(resp.status, 401);
        assert_eq!(resp.header("www-authenticate"), Some("Bearer"));
        assert_eq!(resp.json(), json!({ "error": "unauthenticated" }));
    }
    tb.shutdown().await;
}

#[tokio::test]
async fn clean_verifier_ignores_a_token_in_the_query() {
    let tb = start(&[]).await;
    let token = access_token(&tb).await;
    let target = format!("/api/token/me?access_token={token}");
    assert_eq!(send(&tb, "GET", &target, &[], b"").await.status, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn every_flaw_still_grants_a_working_token() {
    for &flaw in Flaw::ALL {
        let tb = start(&[flaw]).await;
        let token = access_token(&tb).await;
        let resp = me(&tb, &token).await;
        assert_eq!(resp.status, 200, "{flaw}");
        assert_eq!(
            resp.json(),
            json!({ "user": "alice", "role": "user" }),
            "{flaw}"
        );
        tb.shutdown().await;
    }
}

// ---------------------------------------------------------------------------------------------
// One test per flaw

/// The decoded payload of a freshly granted token.
async fn granted_claims(tb: &RunningTestbed) -> Value {
    decode_segment(access_token(tb).await.split('.').nth(1).unwrap())
}

#[tokio::test]
async fn flaw_jwt_secret_in_payload_adds_a_password_hash_and_api_key() {
    let tb = start(&[Flaw::JwtSecretInPayload]).await;
    let claims = granted_claims(&tb).await;
    let hash = claims["password_hash"].as_str().unwrap();
    assert!(hash.starts_with("$2b$12$"), "{hash}");
    assert_eq!(hash.len(), 7 + 53);
    let key = claims["api_key"].as_str().unwrap();
    let rest = key.strip_prefix("sk_live_").unwrap();
    assert_eq!(rest.len(), 24);
    assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_pii_in_payload_adds_email_phone_and_address() {
    let tb = start(&[Flaw::JwtPiiInPayload]).await;
    let claims = granted_claims(&tb).await;
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["phone"], "+14155550123");
    assert_eq!(claims["address"], "1 Demo Street, Springfield");
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_long_lived_lasts_a_day() {
    let tb = start(&[Flaw::JwtLongLived]).await;
    let resp = grant(&tb, "alice", "alice-demo-password").await;
    assert_eq!(resp.json()["expires_in"], 86_400);
    let claims = granted_claims(&tb).await;
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 86_400);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_no_exp_issues_and_accepts_tokens_without_expiry() {
    let tb = start(&[Flaw::JwtNoExp]).await;
    let resp = grant(&tb, "alice", "alice-demo-password").await;
    let body = resp.json();
    assert!(body.get("expires_in").is_none(), "{body}");
    let claims = granted_claims(&tb).await;
    assert!(claims.get("exp").is_none(), "{claims}");
    let no_exp = demo_signed(&claims_with(json!({ "exp": null })));
    assert_eq!(status_of(&tb, &no_exp).await, 200);
    // An exp that is present is still checked.
    let expired = demo_signed(&claims_with(json!({ "exp": now() - 1 })));
    assert_eq!(status_of(&tb, &expired).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_alg_none_accepts_unsigned_tokens() {
    let tb = start(&[Flaw::JwtAlgNone]).await;
    let body = segment(&claims_with(json!({ "sub": "bob" })));
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = segment(&json!({ "alg": alg, "typ": "at+jwt" }));
        for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
            let resp = me(&tb, &token).await;
            assert_eq!(resp.status, 200, "{token}");
            assert_eq!(resp.json()["user"], "bob");
        }
        // A signature present is not ignored; claims are still checked.
        assert_eq!(status_of(&tb, &format!("{header}.{body}.AAAA")).await, 401);
        let expired = segment(&claims_with(json!({ "exp": now() - 1 })));
        assert_eq!(status_of(&tb, &format!("{header}.{expired}.")).await, 401);
    }
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_signature_unchecked_accepts_any_signature_but_checks_claims() {
    let tb = start(&[Flaw::JwtSignatureUnchecked]).await;
    let token = access_token(&tb).await;
    let tampered = swap_payload(
        &token,
        &claims_with(json!({ "sub": "bob", "role": "admin" })),
    );
    let resp = me(&tb, &tampered).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "user": "bob", "role": "admin" }));
    let (attacker, _) = attacker_key("x");
    let foreign = jsonwebtoken::encode(&es256_header("x"), &claims(), &attacker).unwrap();
    assert_eq!(status_of(&tb, &foreign).await, 200);
    let none = format!(
        "{}.{}.",
        segment(&json!({ "alg": "none" })),
        segment(&claims())
    );
    assert_eq!(status_of(&tb, &none).await, 200);
    for bad in [
        json!({ "exp": now() - 1 }),
        json!({ "aud": "x" }),
        json!({ "iss": "x" }),
    ] {
        let token = swap_payload(&token, &claims_with(bad));
        assert_eq!(status_of(&tb, &token).await, 401);
    }
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_key_confusion_accepts_hs256_keyed_with_the_public_pem() {
    let tb = start(&[Flaw::JwtKeyConfusion]).await;
    let token = access_token(&tb).await;
    assert_eq!(
        decode_segment(token.split('.').next().unwrap()),
        json!({ "alg": "RS256", "typ": "at+jwt", "kid": RS256_KID })
    );
    let jwks = send(&tb, "GET", "/.well-known/jwks.json", &[], b"")
        .await
        .json();
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str()),
        (Some("RSA"), Some("RS256"))
    );
    assert_eq!(key["kid"], RS256_KID);

    let pem = DEMO_RS256_PUBLIC_KEY_PEM;
    let header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": RS256_KID });
    let forged = claims_with(json!({ "sub": "bob" }));
    for secret in [pem, pem.trim_end()] {
        let resp = me(&tb, &hs256(&header, &forged, secret.as_bytes())).await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.json()["user"], "bob");
    }
    assert_eq!(
        status_of(&tb, &hs256(&header, &forged, b"guess")).await,
        401
    );
    let expired = claims_with(json!({ "exp": now() - 1 }));
    assert_eq!(
        status_of(&tb, &hs256(&header, &expired, pem.as_bytes())).await,
        401
    );
    // The ES256 key is no longer trusted.
    assert_eq!(status_of(&tb, &demo_signed(&claims())).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_weak_secret_signs_hs256_with_secret() {
    let tb = start(&[Flaw::JwtWeakSecret]).await;
    let token = access_token(&tb).await;
    assert_eq!(
        decode_segment(token.split('.').next().unwrap()),
        json!({ "alg": "HS256", "typ": "at+jwt" })
    );
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[TOKEN_AUDIENCE]);
    let weak = DecodingKey::from_secret(DEMO_HS256_WEAK_SECRET.as_bytes());
    jsonwebtoken::decode::<Value>(&token, &weak, &validation).unwrap();
    let jwks = send(&tb, "GET", "/.well-known/jwks.json", &[], b"")
        .await
        .json();
    assert_eq!(jwks, json!({ "keys": [] }));
    let forged = hs256(
        &json!({ "alg": "HS256" }),
        &claims_with(json!({ "sub": "bob" })),
        b"secret",
    );
    assert_eq!(me(&tb, &forged).await.json()["user"], "bob");
    // Algorithms stay pinned: the ES256 demo key is not accepted any more.
    assert_eq!(status_of(&tb, &demo_signed(&claims())).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_embedded_jwk_trusts_the_key_in_the_header() {
    let tb = start(&[Flaw::JwtEmbeddedJwk]).await;
    let (attacker, jwk) = attacker_key("attacker");
    let mut header = es256_header("attacker");
    header.jwk = Some(jwk.clone());
    let forged = claims_with(json!({ "sub": "bob" }));
    let token = jsonwebtoken::encode(&header, &forged, &attacker).unwrap();
    let resp = me(&tb, &token).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["user"], "bob");
    // Without the jwk, or with a jwk that did not sign it: refused.
    let bare = jsonwebtoken::encode(&es256_header("attacker"), &forged, &attacker).unwrap();
    assert_eq!(status_of(&tb, &bare).await, 401);
    let (other, _) = attacker_key("other");
    let mismatched = jsonwebtoken::encode(&header, &forged, &other).unwrap();
    assert_eq!(status_of(&tb, &mismatched).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_jku_followed_fetches_the_key_from_a_loopback_url() {
    let (attacker, jwk) = attacker_key("attacker-1");
    let set = serde_json::to_value(JwkSet { keys: vec![jwk] }).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let set = set.clone();
            async move { axum::Json(set) }
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let jku = format!("http://{jwks_addr}/jwks.json");

    let forge = |jku: &str, kid: &str| {
        let mut header = es256_header(kid);
        header.jku = Some(jku.to_owned());
        jsonwebtoken::encode(&header, &claims_with(json!({ "sub": "bob" })), &attacker).unwrap()
    };
    let clean = start(&[]).await;
    assert_eq!(status_of(&clean, &forge(&jku, "attacker-1")).await, 401);
    clean.shutdown().await;

    let tb = start(&[Flaw::JwtJkuFollowed]).await;
    let resp = me(&tb, &forge(&jku, "attacker-1")).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["user"], "bob");
    // Unknown kid, missing document, a non-loopback host: refused.
    assert_eq!(status_of(&tb, &forge(&jku, "other")).await, 401);
    let missing = format!("http://{jwks_addr}/nope.json");
    assert_eq!(status_of(&tb, &forge(&missing, "attacker-1")).await, 401);
    let remote = format!("http://192.0.2.1:{}/jwks.json", jwks_addr.port());
    assert_eq!(status_of(&tb, &forge(&remote, "attacker-1")).await, 401);
    tb.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn flaw_jwt_kid_traversal_keys_hmac_with_a_file() {
    let tb = start(&[Flaw::JwtKidTraversal]).await;
    let forged = claims_with(json!({ "sub": "bob" }));
    let header = json!({ "alg": "HS256", "kid": "../../../../../../../../dev/null" });
    let resp = me(&tb, &hs256(&header, &forged, b"")).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["user"], "bob");
    // The key is the file's content; unreadable paths are refused.
    let dir = std::env::temp_dir().join(format!("authprobe-kid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("key");
    std::fs::write(&file, b"file-key").unwrap();
    let header = json!({ "alg": "HS256", "kid": file.to_str().unwrap() });
    assert_eq!(
        status_of(&tb, &hs256(&header, &forged, b"file-key")).await,
        200
    );
    assert_eq!(status_of(&tb, &hs256(&header, &forged, b"")).await, 401);
    let header = json!({ "alg": "HS256", "kid": dir.join("missing").to_str().unwrap() });
    assert_eq!(status_of(&tb, &hs256(&header, &forged, b"")).await, 401);
    let header = json!({ "alg": "HS256", "kid": dir.to_str().unwrap() });
    assert_eq!(status_of(&tb, &hs256(&header, &forged, b"")).await, 401);
    std::fs::remove_dir_all(&dir).unwrap();
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_psychic_signature_accepts_all_zero_es256_signatures() {
    let tb = start(&[Flaw::JwtPsychicSignature]).await;
    let header = segment(&json!({ "alg": "ES256", "typ": "at+jwt", "kid": ES256_KID }));
    let body = segment(&claims_with(json!({ "sub": "bob" })));
    let resp = me(&tb, &format!("{header}.{body}.{}", b64([0u8; 64]))).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["user"], "bob");
    let mut almost = [0u8; 64];
    almost[63] = 1;
    assert_eq!(
        status_of(&tb, &format!("{header}.{body}.{}", b64(almost))).await,
        401
    );
    assert_eq!(
        status_of(&tb, &format!("{header}.{body}.{}", b64([0u8; 32]))).await,
        401
    );
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_expired_accepted_skips_exp() {
    let tb = start(&[Flaw::JwtExpiredAccepted]).await;
    let now = now();
    let expired = claims_with(json!({ "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600 }));
    assert_eq!(status_of(&tb, &demo_signed(&expired)).await, 200);
    let future = claims_with(json!({ "nbf": now + 120 }));
    assert_eq!(status_of(&tb, &demo_signed(&future)).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_nbf_ignored_accepts_tokens_not_yet_valid() {
    let tb = start(&[Flaw::JwtNbfIgnored]).await;
    let now = now();
    let future = claims_with(json!({ "nbf": now + 3600 }));
    assert_eq!(status_of(&tb, &demo_signed(&future)).await, 200);
    let expired = claims_with(json!({ "exp": now - 1 }));
    assert_eq!(status_of(&tb, &demo_signed(&expired)).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_audience_ignored_accepts_other_audiences() {
    let tb = start(&[Flaw::JwtAudienceIgnored]).await;
    for aud in [json!("other-api"), json!(["a", "b"]), Value::Null] {
        let token = demo_signed(&claims_with(json!({ "aud": aud })));
        assert_eq!(status_of(&tb, &token).await, 200, "{aud}");
    }
    let token = demo_signed(&claims_with(json!({ "iss": "other" })));
    assert_eq!(status_of(&tb, &token).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_issuer_ignored_accepts_other_issuers() {
    let tb = start(&[Flaw::JwtIssuerIgnored]).await;
    for iss in [json!("https://evil.test"), Value::Null] {
        let token = demo_signed(&claims_with(json!({ "iss": iss })));
        assert_eq!(status_of(&tb, &token).await, 200, "{iss}");
    }
    let token = demo_signed(&claims_with(json!({ "aud": "other" })));
    assert_eq!(status_of(&tb, &token).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_in_query_authenticates_from_the_url() {
    let tb = start(&[Flaw::JwtInQuery]).await;
    let token = access_token(&tb).await;
    let target = format!("/api/token/me?access_token={token}");
    let resp = send(&tb, "GET", &target, &[], b"").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["user"], "alice");
    // An Authorization header, when sent, wins over the URL.
    let resp = send(
        &tb,
        "GET",
        &target,
        &[("Authorization", "Bearer x.y.z")],
        b"",
    )
    .await;
    assert_eq!(resp.status, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_jwt_malformed_500_fails_on_unparsable_tokens_only() {
    let tb = start(&[Flaw::JwtMalformed500]).await;
    for garbage in ["abc", "a.b.c", "e30.e30.!!"] {
        let resp = me(&tb, garbage).await;
        assert_eq!(resp.status, 500, "{garbage}");
        assert_eq!(resp.json(), json!({ "error": "internal" }));
    }
    let token = access_token(&tb).await;
    assert_eq!(status_of(&tb, &token).await, 200);
    let tampered = swap_payload(&token, &claims_with(json!({ "sub": "bob" })));
    assert_eq!(status_of(&tb, &tampered).await, 401);
    tb.shutdown().await;
}
