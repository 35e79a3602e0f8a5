//! Tests of the OpenID Connect pieces over real loopback HTTP: the ID token of the password
//! grant (only with an `openid` scope; its claims, verified with the published key) and the
//! relying party's sign-in (`POST /auth/oidc`), clean and with each `id-token-*` flaw.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::oauth::{Client, post_form};
use super::{send, start};
use authprobe::testbed::{
    DEMO_CLIENT_ID, DEMO_ES256_PUBLIC_KEY_PEM, Flaw, ID_TOKEN_TTL, LONG_LIVED_TOKEN_TTL,
    RunningTestbed, TOKEN_ISSUER,
};

/// The token response of alice's password grant with `scope` (and `nonce`).
async fn grant(tb: &RunningTestbed, scope: Option<&str>, nonce: Option<&str>) -> Value {
    let mut params = vec![
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice-demo-password"),
    ];
    params.extend(scope.map(|s| ("scope", s)));
    params.extend(nonce.map(|n| ("nonce", n)));
    let resp = post_form(tb, "/oauth/token", Client::Basic, &params).await;
    assert_eq!(resp.status, 200);
    resp.json()
}

/// The verified claims of an ID token: ES256 with the demo key, `aud` the client.
fn verified(id_token: &str) -> Value {
    let key = DecodingKey::from_ec_pem(DEMO_ES256_PUBLIC_KEY_PEM.as_bytes()).unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&[DEMO_CLIENT_ID]);
    v.set_issuer(&[TOKEN_ISSUER]);
    jsonwebtoken::decode::<Value>(id_token, &key, &v)
        .expect("a valid ID token")
        .claims
}

async fn sign_in(tb: &RunningTestbed, id_token: &str) -> u16 {
    let body = json!({ "id_token": id_token }).to_string();
    let headers = [("Content-Type", "application/json")];
    send(tb, "POST", "/auth/oidc", &headers, body.as_bytes())
        .await
        .status
}

#[tokio::test]
async fn an_openid_scope_gets_an_id_token_that_signs_alice_in() {
    let tb = start(&[]).await;
    let plain = grant(&tb, None, None).await;
    assert!(plain.get("id_token").is_none(), "{plain}");
    let body = grant(&tb, Some("openid profile"), Some("n-0S6_WzA2Mj")).await;
    assert_eq!(body["scope"], "openid profile");
    let id_token = body["id_token"].as_str().expect("an id_token");
    let claims = verified(id_token);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["preferred_username"], "alice");
    let (iat, exp) = (claims["iat"].as_u64(), claims["exp"].as_u64());
    assert_eq!(exp.unwrap() - iat.unwrap(), ID_TOKEN_TTL);
    assert_eq!(claims["auth_time"], claims["iat"]);
    assert!(claims.get("password_hash").is_none());

    let resp = send(
        &tb,
        "POST",
        "/auth/oidc",
        &[("Content-Type", "application/json")],
        json!({ "id_token": id_token }).to_string().as_bytes(),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({"user": "alice", "auth": "oidc"}));
    // The access token is not an ID token (another audience); nor is garbage or a body
    // without one.
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(sign_in(&tb, access).await, 401);
    assert_eq!(sign_in(&tb, "not.a.token").await, 401);
    let bad = send(&tb, "POST", "/auth/oidc", &[], b"{}").await;
    assert_eq!(bad.status, 400);
    let form = [("Content-Type", "text/plain")];
    assert_eq!(
        send(&tb, "POST", "/auth/oidc", &form, b"x").await.status,
        415
    );
    for forged in forgeries(id_token) {
        assert_eq!(sign_in(&tb, &forged).await, 401, "{forged}");
    }
    tb.shutdown().await;
}

/// The ID token with `sub` changed under its signature, and unsigned with `alg: none`.
fn forgeries(id_token: &str) -> Vec<String> {
    let parts: Vec<&str> = id_token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("mallory");
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
    vec![
        format!("{}.{payload}.{}", parts[0], parts[2]),
        format!("{none}.{payload}."),
        format!("{none}.{payload}"),
    ]
}

#[tokio::test]
async fn each_id_token_flaw_bends_only_the_id_token() {
    let tb = start(&[Flaw::IdTokenSecretInPayload, Flaw::IdTokenLongLived]).await;
    let body = grant(&tb, Some("openid"), None).await;
    let claims = verified(body["id_token"].as_str().unwrap());
    assert!(
        claims["password_hash"]
            .as_str()
            .unwrap()
            .starts_with("$2b$")
    );
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, LONG_LIVED_TOKEN_TTL);
    // The access token stays clean.
    assert_eq!(body["expires_in"], 300);
    let access = body["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let access: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(access).unwrap()).unwrap();
    assert!(access.get("password_hash").is_none(), "{access}");
    tb.shutdown().await;

    let tb = start(&[Flaw::IdTokenSignatureUnchecked]).await;
    let body = grant(&tb, Some("openid"), None).await;
    let id_token = body["id_token"].as_str().unwrap();
    for forged in forgeries(id_token) {
        assert_eq!(sign_in(&tb, &forged).await, 200, "{forged}");
    }
    // The claims are still checked (the access token's audience is not the client), and the
    // access-token verifier is untouched.
    assert_eq!(
        sign_in(&tb, body["access_token"].as_str().unwrap()).await,
        401
    );
    let forged = &forgeries(body["access_token"].as_str().unwrap())[0];
    let bearer = format!("Bearer {forged}");
    let resp = send(
        &tb,
        "GET",
        "/api/token/me",
        &[("Authorization", &bearer)],
        b"",
    )
    .await;
    assert_eq!(resp.status, 401);
    tb.shutdown().await;
}
