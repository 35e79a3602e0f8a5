//! The token quirks: `grant-wide-revocation`, `refresh-not-rotated`, `rs256-tokens` and
//! `opaque-access-tokens`, alone and with the token flaws they meet.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

use super::assert_opaque;
use crate::testbed::oauth::{self, Client};
use crate::testbed::{jwt, send, start_config, start_with};
use authprobe::testbed::{
    DEMO_CLIENT_ID, DEMO_ES256_PRIVATE_KEY_PEM, DEMO_RS256_PUBLIC_KEY_PEM, Flaw, Quirk, RS256_KID,
    TOKEN_AUDIENCE, TOKEN_ISSUER, TestbedConfig,
};

// ---------------------------------------------------------------------------------------------
// grant-wide-revocation

#[tokio::test]
async fn grant_wide_revocation_revoking_an_access_token_revokes_its_refresh_family() {
    let tb = start_with(&[], &[Quirk::GrantWideRevocation]).await;
    let (access, refresh) = oauth::login(&tb).await;
    let (other_access, other_refresh) = oauth::login(&tb).await;
    oauth::assert_revoked_ok(&oauth::revoke(&tb, &access, Some("access_token")).await);
    assert_eq!(oauth::me_status(&tb, &access).await, 401);
    assert_eq!(oauth::refresh_status(&tb, &refresh).await, 400);
    // Another grant of the same user and client is untouched.
    assert_eq!(oauth::me_status(&tb, &other_access).await, 200);
    let resp = oauth::refresh(&tb, &other_refresh).await;
    let (rotated_access, rotated_refresh) = oauth::tokens(&resp);

    // After a rotation, the newest access token still names the grant (no hint this time).
    oauth::assert_revoked_ok(&oauth::revoke(&tb, &rotated_access, None).await);
    assert_eq!(oauth::refresh_status(&tb, &rotated_refresh).await, 400);
    tb.shutdown().await;

    // Without the quirk the same revocation leaves the grant alone.
    let tb = start_with(&[], &[]).await;
    let (access, refresh) = oauth::login(&tb).await;
    oauth::assert_revoked_ok(&oauth::revoke(&tb, &access, Some("access_token")).await);
    assert_eq!(oauth::refresh_status(&tb, &refresh).await, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn grant_wide_revocation_with_revocation_endpoint_noop_revokes_nothing() {
    let flaws = [Flaw::RevocationEndpointNoop];
    let tb = start_with(&flaws, &[Quirk::GrantWideRevocation]).await;
    let (access, refresh) = oauth::login(&tb).await;
    oauth::assert_revoked_ok(&oauth::revoke(&tb, &access, None).await);
    assert_eq!(oauth::me_status(&tb, &access).await, 200);
    assert_eq!(oauth::refresh_status(&tb, &refresh).await, 200);
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// refresh-not-rotated

#[tokio::test]
async fn refresh_not_rotated_returns_the_same_refresh_token_with_new_access_tokens() {
    let tb = start_with(&[], &[Quirk::RefreshNotRotated]).await;
    let (first_access, refresh) = oauth::login(&tb).await;
    let jti = |token: &str| oauth::claims(token)["jti"].as_str().unwrap().to_owned();
    let mut jtis = BTreeSet::from([jti(&first_access)]);
    for _ in 0..3 {
        let resp = oauth::refresh(&tb, &refresh).await;
        let (access, same) = oauth::tokens(&resp);
        assert_eq!(same, refresh);
        assert_eq!(resp.json()["expires_in"], json!(300));
        assert!(jtis.insert(jti(&access)), "a new access token");
        assert_eq!(oauth::me_status(&tb, &access).await, 200);
    }
    assert_eq!(oauth::me_status(&tb, &first_access).await, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn refresh_not_rotated_families_still_end_at_logout_and_revocation() {
    let tb = start_with(&[], &[Quirk::RefreshNotRotated]).await;
    let (access, refresh) = oauth::login(&tb).await;
    assert_eq!(oauth::refresh_status(&tb, &refresh).await, 200);
    assert_eq!(oauth::logout(&tb, &access).await.status, 200);
    assert_eq!(oauth::refresh_status(&tb, &refresh).await, 400);

    let (_, refresh) = oauth::login(&tb).await;
    oauth::assert_revoked_ok(&oauth::revoke(&tb, &refresh, None).await);
    assert_eq!(oauth::refresh_status(&tb, &refresh).await, 400);
    tb.shutdown().await;
}

#[tokio::test]
async fn refresh_not_rotated_with_refresh_survives_logout_keeps_refreshing() {
    let flaws = [Flaw::RefreshSurvivesLogout];
    let tb = start_with(&flaws, &[Quirk::RefreshNotRotated]).await;
    let (access, refresh) = oauth::login(&tb).await;
    assert_eq!(oauth::logout(&tb, &access).await.status, 200);
    assert_eq!(oauth::refresh_status(&tb, &refresh).await, 200);
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// rs256-tokens

/// Clean claims for `alice`, valid now.
fn valid_claims() -> Value {
    let now = jsonwebtoken::get_current_timestamp();
    json!({
        "iss": TOKEN_ISSUER, "aud": TOKEN_AUDIENCE, "sub": "alice",
        "iat": now, "nbf": now, "exp": now + 300, "jti": "0123456789abcdef",
    })
}

fn es256_token() -> String {
    let key = EncodingKey::from_ec_pem(DEMO_ES256_PRIVATE_KEY_PEM.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::ES256), &valid_claims(), &key).unwrap()
}

#[tokio::test]
async fn rs256_tokens_are_rs256_signed_and_published_in_the_jwks() {
    let tb = start_with(&[], &[Quirk::Rs256Tokens]).await;
    let token = jwt::access_token(&tb).await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some(RS256_KID));
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let key = DecodingKey::from_rsa_pem(DEMO_RS256_PUBLIC_KEY_PEM.as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[TOKEN_AUDIENCE]);
    jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
    assert_eq!(oauth::me_status(&tb, &token).await, 200);

    let jwks = send(&tb, "GET", "/.well-known/jwks.json", &[], b"")
        .await
        .json();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["kid"], RS256_KID);
    assert_eq!(keys[0]["alg"], "RS256");
    let discovery = send(&tb, "GET", "/.well-known/openid-configuration", &[], b"").await;
    assert_eq!(
        discovery.json()["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    tb.shutdown().await;
}

#[tokio::test]
async fn rs256_tokens_verifier_pins_rs256() {
    let tb = start_with(&[], &[Quirk::Rs256Tokens]).await;
    let _ = jwt::access_token(&tb).await;
    let confused = {
        let key = EncodingKey::from_secret(DEMO_RS256_PUBLIC_KEY_PEM.as_bytes());
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &valid_claims(), &key).unwrap()
    };
    for token in [es256_token(), confused] {
        assert_eq!(oauth::me_status(&tb, &token).await, 401, "{token}");
    }
    tb.shutdown().await;

    // The flaw opens the same confusion on top of the quirk.
    let tb = start_with(&[Flaw::JwtKeyConfusion], &[Quirk::Rs256Tokens]).await;
    let key = EncodingKey::from_secret(DEMO_RS256_PUBLIC_KEY_PEM.as_bytes());
    let confused =
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &valid_claims(), &key).unwrap();
    assert_eq!(oauth::me_status(&tb, &confused).await, 200);
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// opaque-access-tokens

#[tokio::test]
async fn opaque_access_tokens_are_random_strings_the_server_looks_up() {
    let tb = start_with(&[], &[Quirk::OpaqueAccessTokens]).await;
    let resp = jwt::grant(&tb, "alice", "alice-demo-password").await;
    assert_eq!(resp.status, 200);
    let body = resp.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], json!(300));
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_opaque(&token);
    let me = send(
        &tb,
        "GET",
        "/api/token/me",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
    .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json(), json!({ "user": "alice", "role": "user" }));

    let (access, _) = oauth::login(&tb).await;
    assert_opaque(&access);
    let resp = oauth::post_form(
        &tb,
        "/oauth/token",
        Client::Basic,
        &[("grant_type", "client_credentials")],
    )
    .await;
    let client_token = resp.json()["access_token"].as_str().unwrap().to_owned();
    assert_opaque(&client_token);
    let me = send(
        &tb,
        "GET",
        "/api/token/me",
        &[("Authorization", &format!("Bearer {client_token}"))],
        b"",
    )
    .await;
    assert_eq!(me.json()["user"], DEMO_CLIENT_ID);

    // No JWT is accepted, however well signed; nor an unknown string.
    let unknown = URL_SAFE_NO_PAD.encode([7u8; 32]);
    for refused in [es256_token(), unknown, format!("{token}x")] {
        assert_eq!(oauth::me_status(&tb, &refused).await, 401, "{refused}");
    }
    tb.shutdown().await;
}

#[tokio::test]
async fn opaque_access_tokens_work_with_revocation_and_logout() {
    let tb = start_with(&[], &[Quirk::OpaqueAccessTokens]).await;
    let (access, refresh) = oauth::login(&tb).await;
    oauth::assert_revoked_ok(&oauth::revoke(&tb, &access, Some("access_token")).await);
    assert_eq!(oauth::me_status(&tb, &access).await, 401);
    // Revoking the access token alone leaves the grant.
    let resp = oauth::refresh(&tb, &refresh).await;
    let (access, refresh) = oauth::tokens(&resp);
    assert_opaque(&access);
    assert_eq!(oauth::logout(&tb, &access).await.status, 200);
    assert_eq!(oauth::refresh_status(&tb, &refresh).await, 400);
    assert_eq!(
        oauth::me_status(&tb, &access).await,
        401,
        "logout deny-lists the access token, as with JWTs"
    );
    tb.shutdown().await;
}

#[tokio::test]
async fn opaque_access_tokens_expire() {
    let config = TestbedConfig {
        access_token_ttl: Some(1),
        ..TestbedConfig::default().with_quirk(Quirk::OpaqueAccessTokens)
    };
    let tb = start_config(config).await;
    let (access, _) = oauth::login(&tb).await;
    assert_eq!(oauth::me_status(&tb, &access).await, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(oauth::me_status(&tb, &access).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn opaque_access_tokens_combine_with_grant_wide_revocation_and_jwt_in_query() {
    let quirks = [Quirk::OpaqueAccessTokens, Quirk::GrantWideRevocation];
    let tb = start_with(&[Flaw::JwtInQuery], &quirks).await;
    let (access, refresh) = oauth::login(&tb).await;
    let target = format!("/api/token/me?access_token={access}");
    assert_eq!(send(&tb, "GET", &target, &[], b"").await.status, 200);
    oauth::assert_revoked_ok(&oauth::revoke(&tb, &access, None).await);
    assert_eq!(oauth::refresh_status(&tb, &refresh).await, 400);
    assert_eq!(send(&tb, "GET", &target, &[], b"").await.status, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn stateless_access_tokens_outlive_logout_like_the_flaw_that_keeps_access() {
    for (flaws, quirks) in [
        (&[][..], &[Quirk::StatelessAccessTokens][..]),
        (&[Flaw::TokenLogoutKeepsAccess][..], &[][..]),
    ] {
        let tb = start_with(flaws, quirks).await;
        let (access, refresh) = oauth::login(&tb).await;
        assert_eq!(oauth::logout(&tb, &access).await.status, 200);
        assert_eq!(oauth::refresh_status(&tb, &refresh).await, 400);
        assert_eq!(
            oauth::me_status(&tb, &access).await,
            200,
            "{flaws:?} {quirks:?}: the access token lives until its exp"
        );
        tb.shutdown().await;
    }
}
