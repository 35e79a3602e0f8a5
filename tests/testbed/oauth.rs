//! Tests of the OAuth 2.0 surface over real loopback HTTP: the token endpoint's grants and
//! client authentication, refresh-token families (rotation, reuse, revocation), RFC 7009
//! revocation, token logout, discovery, and one test per `refresh-*` / `revocation-*` flaw.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::{Resp, raw, send, start};
use authprobe::testbed::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Flaw, RunningTestbed, TOKEN_AUDIENCE, TOKEN_ISSUER,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// How a request to the token or revocation endpoint authenticates the client.
#[derive(Clone, Copy, Debug)]
pub(super) enum Client {
    /// `client_secret_basic`.
    Basic,
    /// `client_secret_post`.
    Post,
    /// No client authentication.
    Anonymous,
}

fn basic_header(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn form(params: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// A form POST to `path` with extra `headers` (after the form's `Content-Type`).
async fn post_form_with(
    tb: &RunningTestbed,
    path: &str,
    headers: &[(&str, &str)],
    params: &[(&str, &str)],
) -> Resp {
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    send(tb, "POST", path, &all, form(params).as_bytes()).await
}

pub(super) async fn post_form(
    tb: &RunningTestbed,
    path: &str,
    client: Client,
    params: &[(&str, &str)],
) -> Resp {
    match client {
        Client::Basic => {
            let auth = basic_header(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET);
            post_form_with(tb, path, &[("Authorization", &auth)], params).await
        }
        Client::Post => {
            let mut params = params.to_vec();
            params.push(("client_id", DEMO_CLIENT_ID));
            params.push(("client_secret", DEMO_CLIENT_SECRET));
            post_form_with(tb, path, &[], &params).await
        }
        Client::Anonymous => post_form_with(tb, path, &[], params).await,
    }
}

async fn password_grant(tb: &RunningTestbed, client: Client) -> Resp {
    post_form(
        tb,
        "/oauth/token",
        client,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-demo-password"),
            ("scope", "anything"),
        ],
    )
    .await
}

/// The access and refresh tokens of a successful grant response.
pub(super) fn tokens(resp: &Resp) -> (String, String) {
    assert_eq!(
        resp.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    let body = resp.json();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// Alice's access and refresh tokens from the OAuth password grant.
pub(super) async fn login(tb: &RunningTestbed) -> (String, String) {
    tokens(&password_grant(tb, Client::Basic).await)
}

pub(super) async fn refresh(tb: &RunningTestbed, refresh_token: &str) -> Resp {
    post_form(
        tb,
        "/oauth/token",
        Client::Basic,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Asserts `resp` is the OAuth error `code` with `status`.
pub(super) fn assert_error(resp: &Resp, status: u16, code: &str) {
    assert_eq!(
        resp.status,
        status,
        "{code}: {:?}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_eq!(resp.json(), json!({ "error": code }));
}

/// The status of a refresh with `refresh_token`; a refusal must be `invalid_grant`.
pub(super) async fn refresh_status(tb: &RunningTestbed, refresh_token: &str) -> u16 {
    let resp = refresh(tb, refresh_token).await;
    if resp.status != 200 {
        assert_error(&resp, 400, "invalid_grant");
    }
    resp.status
}

pub(super) async fn revoke(tb: &RunningTestbed, token: &str, hint: Option<&str>) -> Resp {
    let mut params = vec![("token", token)];
    if let Some(hint) = hint {
        params.push(("token_type_hint", hint));
    }
    post_form(tb, "/oauth/revoke", Client::Basic, &params).await
}

pub(super) fn assert_revoked_ok(resp: &Resp) {
    assert_eq!(
        resp.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(resp.json(), json!({}));
}

async fn me(tb: &RunningTestbed, access_token: &str) -> Resp {
    let auth = format!("Bearer {access_token}");
    send(tb, "GET", "/api/token/me", &[("Authorization", &auth)], b"").await
}

pub(super) async fn me_status(tb: &RunningTestbed, access_token: &str) -> u16 {
    let resp = me(tb, access_token).await;
    if resp.status == 401 {
        assert_eq!(resp.json(), json!({ "error": "invalid_token" }));
    }
    resp.status
}

pub(super) async fn logout(tb: &RunningTestbed, access_token: &str) -> Resp {
    let auth = format!("Bearer {access_token}");
    send(
        tb,
        "POST",
        "/api/token/logout",
        &[("Authorization", &auth)],
        b"",
    )
    .await
}

pub(super) fn claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn assert_no_store(resp: &Resp) {
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(resp.header("pragma"), Some("no-cache"));
}

// ---------------------------------------------------------------------------------------------
// The token endpoint

#[tokio::test]
async fn password_grant_issues_tokens_with_basic_or_post_client_auth() {
    let tb = start(&[]).await;
    for client in [Client::Basic, Client::Post] {
        let resp = password_grant(&tb, client).await;
        assert_eq!(resp.status, 200, "{client:?}");
        assert_no_store(&resp);
        let body = resp.json();
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(|k| &**k).collect();
        assert_eq!(
            keys.len(),
            5,
            "access_token, token_type, expires_in, refresh_token, scope: {body}"
        );
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 300);
        assert_eq!(body["scope"], "profile");
        let refresh = body["refresh_token"].as_str().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(refresh).unwrap().len(), 32);
        let access = body["access_token"].as_str().unwrap();
        let claims = claims(access);
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["iss"], TOKEN_ISSUER);
        assert_eq!(claims["aud"], TOKEN_AUDIENCE);
        let resp = me(&tb, access).await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.json(), json!({ "user": "alice", "role": "user" }));
    }
    // Client credentials may be form-urlencoded inside Basic (RFC 6749 §2.3.1).
    let auth = basic_header("authprobe%2Ddemo", "authprobe-demo-client%2Dsecret");
    let resp = post_form_with(
        &tb,
        "/oauth/token",
        &[("Authorization", &auth)],
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(resp.status, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    let tb = start(&[]).await;
    let grant = [("grant_type", "client_credentials")];
    let basic_challenge = Some(r#"Basic realm="authprobe-testbed""#);

    let resp = post_form(&tb, "/oauth/token", Client::Anonymous, &grant).await;
    assert_error(&resp, 401, "invalid_client");
    assert_eq!(resp.header("www-authenticate"), None);

    for (id, secret) in [
        (DEMO_CLIENT_ID, "wrong"),
        ("other-client", DEMO_CLIENT_SECRET),
        (DEMO_CLIENT_ID, ""),
    ] {
        let params = [grant[0], ("client_id", id), ("client_secret", secret)];
        let resp = post_form(&tb, "/oauth/token", Client::Anonymous, &params).await;
        assert_error(&resp, 401, "invalid_client");
        assert_eq!(resp.header("www-authenticate"), None);

        let auth = basic_header(id, secret);
        let resp = post_form_with(&tb, "/oauth/token", &[("Authorization", &auth)], &grant).await;
        assert_error(&resp, 401, "invalid_client");
        assert_eq!(resp.header("www-authenticate"), basic_challenge);
    }
    for auth in ["Basic", "Basic !!!", "basic YWJj", "Basic JUZGOng="] {
        let resp = post_form_with(&tb, "/oauth/token", &[("Authorization", auth)], &grant).await;
        assert_error(&resp, 401, "invalid_client");
        assert_eq!(resp.header("www-authenticate"), basic_challenge, "{auth}");
    }
    // A client id in the form must agree with Basic.
    let params = [grant[0], ("client_id", "other-client")];
    let resp = post_form(&tb, "/oauth/token", Client::Basic, &params).await;
    assert_error(&resp, 401, "invalid_client");
    let params = [grant[0], ("client_id", DEMO_CLIENT_ID)];
    assert_eq!(
        post_form(&tb, "/oauth/token", Client::Basic, &params)
            .await
            .status,
        200
    );
    // Two authentication methods at once.
    let params = [grant[0], ("client_secret", DEMO_CLIENT_SECRET)];
    let resp = post_form(&tb, "/oauth/token", Client::Basic, &params).await;
    assert_error(&resp, 400, "invalid_request");
    // A Bearer Authorization is not client authentication; the form's credentials count.
    let resp = post_form_with(
        &tb,
        "/oauth/token",
        &[("Authorization", "Bearer x")],
        &[
            grant[0],
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(resp.status, 200);
    // The revocation endpoint authenticates clients the same way.
    let resp = post_form(&tb, "/oauth/revoke", Client::Anonymous, &[("token", "x")]).await;
    assert_error(&resp, 401, "invalid_client");
    let auth = basic_header(DEMO_CLIENT_ID, "wrong");
    let resp = post_form_with(
        &tb,
        "/oauth/revoke",
        &[("Authorization", &auth)],
        &[("token", "x")],
    )
    .await;
    assert_error(&resp, 401, "invalid_client");
    assert_eq!(resp.header("www-authenticate"), basic_challenge);
    let resp = post_form(&tb, "/oauth/revoke", Client::Post, &[("token", "x")]).await;
    assert_revoked_ok(&resp);
    tb.shutdown().await;
}

#[tokio::test]
async fn token_and_revocation_endpoints_take_form_bodies_only() {
    let tb = start(&[]).await;
    let auth = basic_header(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET);
    let body = b"grant_type=client_credentials";
    for path in ["/oauth/token", "/oauth/revoke"] {
        for content_type in [Some("application/json"), Some("text/plain"), None] {
            let mut headers = vec![("Authorization", auth.as_str())];
            headers.extend(content_type.map(|c| ("Content-Type", c)));
            let resp = send(&tb, "POST", path, &headers, body).await;
            assert_error(&resp, 400, "invalid_request");
        }
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        let resp = send(&tb, "POST", path, &headers, &[b'a'; 20 * 1024]).await;
        assert_error(&resp, 413, "payload_too_large");
        assert_eq!(send(&tb, "GET", path, &[], b"").await.status, 405, "{path}");
    }
    let headers = [
        ("Authorization", auth.as_str()),
        (
            "Content-Type",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
        ),
    ];
    let resp = send(&tb, "POST", "/oauth/token", &headers, body).await;
    assert_eq!(resp.status, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_grant_errors() {
    let tb = start(&[]).await;
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);
    let cases: [Case<'_>; 9] = [
        (&[], 400, "invalid_request"),
        (&[("grant_type", "")], 400, "invalid_request"),
        (
            &[("grant_type", "authorization_code"), ("code", "x")],
            400,
            "unsupported_grant_type",
        ),
        (
            &[("grant_type", "password"), ("username", "alice")],
            400,
            "invalid_request",
        ),
        (
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "bob-demo-password"),
            ],
            400,
            "invalid_grant",
        ),
        (&[("grant_type", "refresh_token")], 400, "invalid_request"),
        (
            &[("grant_type", "refresh_token"), ("refresh_token", "nope")],
            400,
            "invalid_grant",
        ),
        // Parameters must not repeat (RFC 6749 §3.2).
        (
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            400,
            "invalid_request",
        ),
        (
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", ""),
            ],
            400,
            "invalid_request",
        ),
    ];
    for (params, status, code) in cases {
        let resp = post_form(&tb, "/oauth/token", Client::Basic, params).await;
        assert_error(&resp, status, code);
        assert_eq!(resp.header("cache-control"), Some("no-store"));
    }
    // Hostile bytes: clean errors, never a panic.
    let auth = basic_header(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    for body in [
        &b"%FF%FE=\xff&&==&grant_type=%ZZ"[..],
        b"grant_type=refresh_token&refresh_token=%00%00",
        b"grant_type=password&username=%C3%28&password=%FF",
    ] {
        let resp = send(&tb, "POST", "/oauth/token", &headers, body).await;
        assert_eq!(resp.status, 400);
        resp.json();
    }
    tb.shutdown().await;
}

#[tokio::test]
async fn client_credentials_grant_issues_an_access_token_for_the_client() {
    let tb = start(&[]).await;
    let resp = post_form(
        &tb,
        "/oauth/token",
        Client::Post,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_no_store(&resp);
    let body = resp.json();
    assert_eq!(body.get("refresh_token"), None);
    assert_eq!(body["scope"], "profile");
    assert_eq!(body["expires_in"], 300);
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["sub"], DEMO_CLIENT_ID);
    let resp = me(&tb, access).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["user"], DEMO_CLIENT_ID);
    // No family to end, still a successful logout, and the token is deny-listed.
    let resp = logout(&tb, access).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "ok": true }));
    assert_eq!(me_status(&tb, access).await, 401);
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Refresh-token families

#[tokio::test]
async fn refresh_rotates_and_issues_a_new_access_token() {
    let tb = start(&[]).await;
    let (access1, refresh1) = login(&tb).await;
    let resp = refresh(&tb, &refresh1).await;
    assert_no_store(&resp);
    let body = resp.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "profile");
    assert_eq!(body["expires_in"], 300);
    let (access2, refresh2) = tokens(&resp);
    assert_ne!(refresh2, refresh1);
    assert_eq!(URL_SAFE_NO_PAD.decode(&refresh2).unwrap().len(), 32);
    assert_ne!(access2, access1);
    assert_ne!(claims(&access2)["jti"], claims(&access1)["jti"]);
    assert_eq!(claims(&access2)["sub"], "alice");
    assert_eq!(me_status(&tb, &access2).await, 200);
    // The new refresh token rotates in turn.
    let (_, refresh3) = tokens(&refresh(&tb, &refresh2).await);
    assert_ne!(refresh3, refresh2);
    assert_eq!(refresh_status(&tb, &refresh3).await, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn reuse_of_a_superseded_token_revokes_the_whole_family() {
    let tb = start(&[]).await;
    let (_, refresh1) = login(&tb).await;
    let (_, other_family) = login(&tb).await;
    let (access2, refresh2) = tokens(&refresh(&tb, &refresh1).await);
    // Reuse of the old token: refused, and the current one dies with it.
    assert_eq!(refresh_status(&tb, &refresh1).await, 400);
    assert_eq!(refresh_status(&tb, &refresh2).await, 400);
    assert_eq!(refresh_status(&tb, &refresh1).await, 400);
    // Access tokens are stateless: the last one stays valid until it expires.
    assert_eq!(me_status(&tb, &access2).await, 200);
    // Other families are untouched.
    assert_eq!(refresh_status(&tb, &other_family).await, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn json_grant_refresh_token_is_redeemable_at_the_oauth_endpoint() {
    let tb = start(&[]).await;
    let body = json!({ "username": "bob", "password": "bob-demo-password" }).to_string();
    let resp = send(
        &tb,
        "POST",
        "/api/token",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(resp.status, 200);
    let json = resp.json();
    assert_eq!(
        json.get("scope"),
        None,
        "the JSON grant's body is unchanged"
    );
    let refresh1 = json["refresh_token"].as_str().unwrap();
    let (access2, refresh2) = tokens(&refresh(&tb, refresh1).await);
    assert_eq!(claims(&access2)["sub"], "bob");
    assert_eq!(refresh_status(&tb, refresh1).await, 400);
    assert_eq!(refresh_status(&tb, &refresh2).await, 400);
    tb.shutdown().await;
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_let_exactly_one_through() {
    let tb = start(&[]).await;
    let (_, refresh1) = login(&tb).await;
    let (a, b) = tokio::join!(refresh(&tb, &refresh1), refresh(&tb, &refresh1));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400]);
    // The loser counts as reuse: the winner's new token is revoked too.
    let winner = if a.status == 200 { a } else { b };
    let (_, refresh2) = tokens(&winner);
    assert_eq!(refresh_status(&tb, &refresh2).await, 400);
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Revocation (RFC 7009)

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family_whatever_the_hint() {
    let tb = start(&[]).await;
    for hint in [
        None,
        Some("refresh_token"),
        Some("access_token"),
        Some("id_token"),
    ] {
        let (access1, refresh1) = login(&tb).await;
        let (_, refresh2) = tokens(&refresh(&tb, &refresh1).await);
        assert_revoked_ok(&revoke(&tb, &refresh2, hint).await);
        assert_eq!(refresh_status(&tb, &refresh2).await, 400, "{hint:?}");
        // Revoking again, or an older token of the family, is still fine.
        assert_revoked_ok(&revoke(&tb, &refresh2, hint).await);
        assert_revoked_ok(&revoke(&tb, &refresh1, hint).await);
        // Access tokens are not deny-listed by a refresh-token revocation.
        assert_eq!(me_status(&tb, &access1).await, 200);
    }
    // A superseded token revokes the family as well.
    let (_, refresh1) = login(&tb).await;
    let (_, refresh2) = tokens(&refresh(&tb, &refresh1).await);
    assert_revoked_ok(&revoke(&tb, &refresh1, None).await);
    assert_eq!(refresh_status(&tb, &refresh2).await, 400);
    tb.shutdown().await;
}

#[tokio::test]
async fn revoking_an_access_token_deny_lists_it_whatever_the_hint() {
    let tb = start(&[]).await;
    for hint in [
        None,
        Some("access_token"),
        Some("refresh_token"),
        Some("bogus"),
    ] {
        let (access, refresh1) = login(&tb).await;
        let (other_access, _) = login(&tb).await;
        assert_revoked_ok(&revoke(&tb, &access, hint).await);
        let resp = me(&tb, &access).await;
        assert_eq!(resp.status, 401, "{hint:?}");
        assert_eq!(resp.json(), json!({ "error": "invalid_token" }));
        assert_eq!(
            resp.header("www-authenticate"),
            Some(r#"Bearer error="invalid_token""#)
        );
        assert_eq!(me_status(&tb, &other_access).await, 200);
        // Only that access token: its family still refreshes.
        let (access2, _) = tokens(&refresh(&tb, &refresh1).await);
        assert_eq!(me_status(&tb, &access2).await, 200);
        // A revoked access token cannot log out either.
        assert_eq!(logout(&tb, &access).await.status, 401);
    }
    tb.shutdown().await;
}

#[tokio::test]
async fn revoking_unknown_or_garbage_tokens_answers_200() {
    let tb = start(&[]).await;
    let (access, refresh1) = login(&tb).await;
    // A token signed by someone else, with a live token's jti.
    let forged = {
        let parts: Vec<&str> = access.split('.').collect();
        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig[0] ^= 1;
        format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig))
    };
    let long = "A".repeat(8000);
    for token in [
        "unknown",
        "a.b.c",
        "%%%",
        "\u{fffd}\u{0}",
        long.as_str(),
        forged.as_str(),
    ] {
        for hint in [None, Some("access_token"), Some("refresh_token")] {
            assert_revoked_ok(&revoke(&tb, token, hint).await);
        }
    }
    assert_eq!(
        me_status(&tb, &access).await,
        200,
        "the forgery revoked nothing"
    );
    assert_eq!(refresh_status(&tb, &refresh1).await, 200);
    // The token parameter itself is required.
    let resp = post_form(&tb, "/oauth/revoke", Client::Basic, &[("token", "")]).await;
    assert_error(&resp, 400, "invalid_request");
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Token logout

#[tokio::test]
async fn token_logout_revokes_the_family_and_the_access_token() {
    let tb = start(&[]).await;
    let (access1, refresh1) = login(&tb).await;
    let (_, other_family) = login(&tb).await;
    let resp = logout(&tb, &access1).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "ok": true }));
    assert_eq!(refresh_status(&tb, &refresh1).await, 400);
    // The access token it was called with is deny-listed.
    assert_eq!(me_status(&tb, &access1).await, 401);
    assert_eq!(refresh_status(&tb, &other_family).await, 200);

    // Logout with a later access token of a family (after a refresh) finds it too.
    let (_, refresh1) = login(&tb).await;
    let (access2, refresh2) = tokens(&refresh(&tb, &refresh1).await);
    assert_eq!(logout(&tb, &access2).await.status, 200);
    assert_eq!(refresh_status(&tb, &refresh2).await, 400);

    // The JSON grant's tokens form a family too.
    let body = json!({ "username": "alice", "password": "alice-demo-password" }).to_string();
    let resp = send(
        &tb,
        "POST",
        "/api/token",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await;
    let (access, refresh_json) = tokens(&resp);
    assert_eq!(logout(&tb, &access).await.status, 200);
    assert_eq!(refresh_status(&tb, &refresh_json).await, 400);
    tb.shutdown().await;
}

#[tokio::test]
async fn token_logout_needs_a_valid_bearer_token() {
    let tb = start(&[]).await;
    let resp = send(&tb, "POST", "/api/token/logout", &[], b"").await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json(), json!({ "error": "unauthenticated" }));
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"));
    for token in ["garbage", "a.b.c", "\u{fffd}"] {
        let resp = logout(&tb, token).await;
        assert_eq!(resp.status, 401, "{token}");
        assert_eq!(resp.json(), json!({ "error": "invalid_token" }));
    }
    let (access, refresh1) = login(&tb).await;
    let target = format!("/api/token/logout?access_token={access}");
    assert_eq!(send(&tb, "POST", &target, &[], b"").await.status, 401);
    assert_eq!(
        send(&tb, "GET", "/api/token/logout", &[], b"").await.status,
        405
    );
    assert_eq!(refresh_status(&tb, &refresh1).await, 200);
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Discovery

#[tokio::test]
async fn discovery_document_points_at_the_endpoints() {
    let tb = start(&[]).await;
    let resp = send(&tb, "GET", "/.well-known/openid-configuration", &[], b"").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let base = format!("http://{}", tb.addr());
    assert_eq!(
        resp.json(),
        json!({
            "issuer": TOKEN_ISSUER,
            "token_endpoint": format!("{base}/oauth/token"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "grant_types_supported": ["password", "client_credentials", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["token", "id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce",
                "email", "email_verified", "name", "preferred_username",
            ],
        })
    );
    // The advertised endpoints are the real ones.
    let token_endpoint = resp.json()["token_endpoint"].as_str().unwrap().to_owned();
    let path = token_endpoint.strip_prefix(&base).unwrap();
    let resp = post_form(
        &tb,
        path,
        Client::Basic,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(resp.status, 200);

    // Another Host is used as given; an odd or missing one becomes 127.0.0.1.
    let resp = send(
        &tb,
        "GET",
        "/.well-known/openid-configuration",
        &[("Host", "auth.example.test:8443")],
        b"",
    )
    .await;
    assert_eq!(
        resp.json()["jwks_uri"],
        "http://auth.example.test:8443/.well-known/jwks.json"
    );
    for host in ["evil.test/x?", "a\"b", "user@evil.test"] {
        let resp = send(
            &tb,
            "GET",
            "/.well-known/openid-configuration",
            &[("Host", host)],
            b"",
        )
        .await;
        assert_eq!(resp.status, 200, "{host}");
        assert_eq!(
            resp.json()["token_endpoint"],
            "http://127.0.0.1/oauth/token"
        );
    }
    let request = b"GET /.well-known/openid-configuration HTTP/1.0\r\nConnection: close\r\n\r\n";
    let resp = raw(tb.addr(), request).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json()["revocation_endpoint"],
        "http://127.0.0.1/oauth/revoke"
    );
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// One test per flaw

#[tokio::test]
async fn every_flaw_still_completes_the_oauth_flow() {
    for &flaw in Flaw::ALL {
        let tb = start(&[flaw]).await;
        let (access, refresh1) = login(&tb).await;
        assert_eq!(me_status(&tb, &access).await, 200, "{flaw}");
        let (access2, _) = tokens(&refresh(&tb, &refresh1).await);
        assert_eq!(me_status(&tb, &access2).await, 200, "{flaw}");
        assert_eq!(logout(&tb, &access2).await.status, 200, "{flaw}");
        tb.shutdown().await;
    }
}

#[tokio::test]
async fn flaw_token_cacheable_makes_oauth_token_responses_cacheable() {
    let tb = start(&[Flaw::TokenCacheable]).await;
    let resp = password_grant(&tb, Client::Basic).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(resp.header("pragma"), None);
    let (_, refresh1) = tokens(&resp);
    let resp = refresh(&tb, &refresh1).await;
    assert_eq!(resp.header("cache-control"), Some("public, max-age=300"));
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_refresh_no_rotation_hands_back_the_same_refresh_token() {
    let tb = start(&[Flaw::RefreshNoRotation]).await;
    let (access1, refresh1) = login(&tb).await;
    let mut previous = access1;
    for _ in 0..3 {
        let (access, refresh2) = tokens(&refresh(&tb, &refresh1).await);
        assert_eq!(refresh2, refresh1);
        assert_ne!(access, previous, "still a new access token");
        assert_eq!(me_status(&tb, &access).await, 200);
        previous = access;
    }
    // Revocation still works.
    assert_revoked_ok(&revoke(&tb, &refresh1, None).await);
    assert_eq!(refresh_status(&tb, &refresh1).await, 400);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_refresh_reuse_accepted_redeems_superseded_tokens() {
    let tb = start(&[Flaw::RefreshReuseAccepted]).await;
    let (_, refresh1) = login(&tb).await;
    let (_, refresh2) = tokens(&refresh(&tb, &refresh1).await);
    assert_ne!(refresh2, refresh1, "still rotates");
    // The superseded token buys fresh tokens, and its new refresh token becomes current.
    let (access3, refresh3) = tokens(&refresh(&tb, &refresh1).await);
    assert_ne!(refresh3, refresh2);
    assert_eq!(me_status(&tb, &access3).await, 200);
    assert_eq!(refresh_status(&tb, &refresh3).await, 200);
    assert_eq!(refresh_status(&tb, &refresh2).await, 200);
    // Unknown tokens and revoked families are still refused.
    assert_eq!(refresh_status(&tb, "unknown").await, 400);
    assert_revoked_ok(&revoke(&tb, &refresh1, None).await);
    assert_eq!(refresh_status(&tb, &refresh1).await, 400);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_refresh_no_family_revocation_refuses_reuse_but_keeps_the_family() {
    let tb = start(&[Flaw::RefreshNoFamilyRevocation]).await;
    let (_, refresh1) = login(&tb).await;
    let (_, refresh2) = tokens(&refresh(&tb, &refresh1).await);
    assert_eq!(refresh_status(&tb, &refresh1).await, 400);
    let (_, refresh3) = tokens(&refresh(&tb, &refresh2).await);
    assert_eq!(refresh_status(&tb, &refresh2).await, 400);
    assert_eq!(refresh_status(&tb, &refresh3).await, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_refresh_survives_logout_revokes_nothing_at_logout() {
    let tb = start(&[Flaw::RefreshSurvivesLogout]).await;
    let (access, refresh1) = login(&tb).await;
    let resp = logout(&tb, &access).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "ok": true }));
    assert_eq!(refresh_status(&tb, &refresh1).await, 200);
    // Logout still needs a valid token, and the revocation endpoint still revokes.
    assert_eq!(logout(&tb, "garbage").await.status, 401);
    let (_, refresh1) = login(&tb).await;
    assert_revoked_ok(&revoke(&tb, &refresh1, None).await);
    assert_eq!(refresh_status(&tb, &refresh1).await, 400);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_refresh_concurrent_double_spend_lets_simultaneous_refreshes_through() {
    let tb = start(&[Flaw::RefreshConcurrentDoubleSpend]).await;
    // Both requests must reach the check within the 100 ms gap; a few bounded attempts keep
    // a slow machine from failing the test.
    let mut both = false;
    for _ in 0..3 {
        let (_, refresh1) = login(&tb).await;
        let (a, b) = tokio::join!(refresh(&tb, &refresh1), refresh(&tb, &refresh1));
        if a.status == 200 && b.status == 200 {
            let (_, ra) = tokens(&a);
            let (_, rb) = tokens(&b);
            assert_ne!(ra, rb);
            both = true;
            break;
        }
    }
    assert!(both, "two simultaneous refreshes should both succeed");
    // A sequential reuse (after the first refresh completed) is still detected.
    let (_, refresh1) = login(&tb).await;
    let (_, refresh2) = tokens(&refresh(&tb, &refresh1).await);
    assert_eq!(refresh_status(&tb, &refresh1).await, 400);
    assert_eq!(refresh_status(&tb, &refresh2).await, 400);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_revocation_endpoint_noop_revokes_nothing() {
    let tb = start(&[Flaw::RevocationEndpointNoop]).await;
    let (access, refresh1) = login(&tb).await;
    assert_revoked_ok(&revoke(&tb, &refresh1, Some("refresh_token")).await);
    assert_revoked_ok(&revoke(&tb, &access, Some("access_token")).await);
    assert_eq!(refresh_status(&tb, &refresh1).await, 200);
    assert_eq!(me_status(&tb, &access).await, 200);
    // Client authentication is still required.
    let resp = post_form(&tb, "/oauth/revoke", Client::Anonymous, &[("token", "x")]).await;
    assert_error(&resp, 401, "invalid_client");
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_revocation_endpoint_strict_refuses_unknown_tokens() {
    let tb = start(&[Flaw::RevocationEndpointStrict]).await;
    for token in ["unknown", "a.b.c"] {
        let resp = revoke(&tb, token, None).await;
        assert_error(&resp, 400, "invalid_request");
    }
    // Known tokens are revoked as usual.
    let (access, refresh1) = login(&tb).await;
    assert_revoked_ok(&revoke(&tb, &refresh1, Some("access_token")).await);
    assert_eq!(refresh_status(&tb, &refresh1).await, 400);
    assert_revoked_ok(&revoke(&tb, &access, Some("refresh_token")).await);
    assert_eq!(me_status(&tb, &access).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_refresh_stale_access_token_hands_back_the_previous_access_token() {
    let tb = start(&[Flaw::RefreshStaleAccessToken]).await;
    let (access1, refresh1) = login(&tb).await;
    let resp = refresh(&tb, &refresh1).await;
    let expires_in = resp.json()["expires_in"].as_u64().unwrap();
    assert!((295..=300).contains(&expires_in), "{expires_in}");
    let (access2, refresh2) = tokens(&resp);
    assert_eq!(access2, access1, "the same token string");
    assert_ne!(refresh2, refresh1, "refresh tokens still rotate");
    let (access3, refresh3) = tokens(&refresh(&tb, &refresh2).await);
    assert_eq!(access3, access1);
    assert_eq!(me_status(&tb, &access3).await, 200);
    // Reuse detection is intact.
    assert_eq!(refresh_status(&tb, &refresh1).await, 400);
    assert_eq!(refresh_status(&tb, &refresh3).await, 400);
    tb.shutdown().await;
}
