//! Tests of the cookie-session routes over real loopback HTTP: CSRF bootstrap, login (JSON and
//! form), the protected endpoint, logout and logout-everywhere, the security headers, hostile
//! requests, and one test per cookie- or session-level flaw.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use serde_json::{Value, json};
use tokio::net::TcpStream;

use super::{Resp, SESSION, cookie_header, raw, send, start};
use authprobe::testbed::{Flaw, RunningTestbed};

// ---------------------------------------------------------------------------------------------
// Flow helpers

/// `GET /api/csrf` without a cookie: the new anonymous session's id and token.
pub(super) async fn pre_login(tb: &RunningTestbed) -> (String, String) {
    let resp = send(tb, "GET", "/api/csrf", &[], b"").await;
    assert_eq!(resp.status, 200);
    let id = resp.session_cookie().expect("anonymous session cookie");
    let token = resp.json()["csrf_token"].as_str().unwrap().to_owned();
    (id.value().to_owned(), token)
}

pub(super) async fn login_json(
    tb: &RunningTestbed,
    id: &str,
    token: &str,
    user: &str,
    password: &str,
) -> Resp {
    let body = json!({ "username": user, "password": password }).to_string();
    send(
        tb,
        "POST",
        "/api/login",
        &[
            ("Cookie", &cookie_header(id)),
            ("X-CSRF-Token", token),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
    .await
}

/// Logs in `user` with the demo password: the authenticated session id.
pub(super) async fn login(tb: &RunningTestbed, user: &str) -> String {
    let (id, token) = pre_login(tb).await;
    let resp = login_json(tb, &id, &token, user, &format!("{user}-demo-password")).await;
    assert_eq!(resp.status, 200, "{:?}", resp.json());
    assert_eq!(resp.json()["user"], json!(user));
    resp.session_cookie()
        .expect("login cookie")
        .value()
        .to_owned()
}

pub(super) async fn me(tb: &RunningTestbed, id: &str) -> Resp {
    send(tb, "GET", "/api/me", &[("Cookie", &cookie_header(id))], b"").await
}

pub(super) async fn csrf_of(tb: &RunningTestbed, id: &str) -> String {
    let resp = send(
        tb,
        "GET",
        "/api/csrf",
        &[("Cookie", &cookie_header(id))],
        b"",
    )
    .await;
    assert_eq!(resp.status, 200);
    assert!(resp.set_cookies().is_empty(), "live session: no new cookie");
    resp.json()["csrf_token"].as_str().unwrap().to_owned()
}

pub(super) async fn post_with_csrf(tb: &RunningTestbed, path: &str, id: &str) -> Resp {
    let token = csrf_of(tb, id).await;
    send(
        tb,
        "POST",
        path,
        &[("Cookie", &cookie_header(id)), ("X-CSRF-Token", &token)],
        b"",
    )
    .await
}

fn assert_clean_attributes(cookie: &Cookie<'_>) {
    assert_eq!(cookie.name(), SESSION);
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    assert_eq!(cookie.domain(), None);
}

fn assert_opaque_id(id: &str) {
    assert_eq!(id.len(), 43, "{id}");
    assert_eq!(URL_SAFE_NO_PAD.decode(id).expect("base64url").len(), 32);
}

// ---------------------------------------------------------------------------------------------
// The clean service

#[tokio::test]
async fn clean_login_flow_and_logout_revokes_old_cookie() {
    let tb = start(&[]).await;
    let id = login(&tb, "alice").await;
    let resp = me(&tb, &id).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "user": "alice", "role": "user" }));

    let resp = post_with_csrf(&tb, "/api/logout", &id).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "ok": true }));
    let removal = resp.session_cookie().expect("clearing cookie");
    assert_eq!(removal.value(), "");

    let resp = me(&tb, &id).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json(), json!({ "error": "unauthenticated" }));
    tb.shutdown().await;
}

#[tokio::test]
async fn login_rotates_session_id_and_deletes_pre_login_session() {
    let tb = start(&[]).await;
    let (pre, token) = pre_login(&tb).await;
    let resp = login_json(&tb, &pre, &token, "bob", "bob-demo-password").await;
    assert_eq!(resp.status, 200);
    let post = resp.session_cookie().unwrap().value().to_owned();
    assert_ne!(pre, post);
    assert_eq!(me(&tb, &post).await.status, 200);
    assert_eq!(me(&tb, &pre).await.status, 401);
    // The pre-login id is gone entirely: /api/csrf mints a fresh session for it.
    let resp = send(
        &tb,
        "GET",
        "/api/csrf",
        &[("Cookie", &cookie_header(&pre))],
        b"",
    )
    .await;
    let fresh = resp.session_cookie().expect("new anonymous session");
    assert_ne!(fresh.value(), pre);
    tb.shutdown().await;
}

#[tokio::test]
async fn clean_cookies_have_strict_attributes_and_no_lifetime() {
    let tb = start(&[]).await;
    let resp = send(&tb, "GET", "/api/csrf", &[], b"").await;
    let anonymous = resp.session_cookie().unwrap();
    assert_clean_attributes(&anonymous);
    assert_opaque_id(anonymous.value());
    assert_eq!(anonymous.max_age(), None);
    assert_eq!(anonymous.expires(), None);
    let token = resp.json()["csrf_token"].as_str().unwrap().to_owned();
    assert_opaque_id(&token);

    let resp = login_json(
        &tb,
        anonymous.value(),
        &token,
        "alice",
        "alice-demo-password",
    )
    .await;
    let authenticated = resp.session_cookie().unwrap();
    assert_clean_attributes(&authenticated);
    assert_opaque_id(authenticated.value());
    assert_eq!(authenticated.max_age(), None);
    assert_eq!(authenticated.expires(), None);

    let resp = post_with_csrf(&tb, "/api/logout", authenticated.value()).await;
    let removal = resp.session_cookie().unwrap();
    assert_clean_attributes(&removal);
    assert_eq!(removal.value(), "");
    assert_eq!(removal.max_age(), Some(cookie::time::Duration::ZERO));
    let expires = removal.expires_datetime().expect("Expires date");
    assert!(expires < cookie::time::OffsetDateTime::now_utc());
    tb.shutdown().await;
}

#[tokio::test]
async fn csrf_endpoint_returns_the_live_sessions_token_without_cookie() {
    let tb = start(&[]).await;
    let (id, token) = pre_login(&tb).await;
    assert_eq!(csrf_of(&tb, &id).await, token);
    let auth = login(&tb, "alice").await;
    let token = csrf_of(&tb, &auth).await;
    assert_eq!(csrf_of(&tb, &auth).await, token);
    tb.shutdown().await;
}

#[tokio::test]
async fn csrf_is_enforced_on_login_and_logout() {
    let tb = start(&[]).await;
    let (id, token) = pre_login(&tb).await;
    let (_, other_token) = pre_login(&tb).await;
    // Wrong token, another session's token, no session at all, no header.
    for (cookie, csrf) in [
        (Some(id.as_str()), "wrong"),
        (Some(id.as_str()), other_token.as_str()),
        (None, token.as_str()),
    ] {
        let mut headers = vec![("X-CSRF-Token", csrf), ("Content-Type", "application/json")];
        let cookie = cookie.map(cookie_header);
        if let Some(cookie) = &cookie {
            headers.push(("Cookie", cookie));
        }
        let body = br#"{"username":"alice","password":"alice-demo-password"}"#;
        let resp = send(&tb, "POST", "/api/login", &headers, body).await;
        assert_eq!(resp.status, 403);
        assert_eq!(resp.json(), json!({ "error": "csrf" }));
    }
    let body = br#"{"username":"alice","password":"alice-demo-password"}"#;
    let resp = send(
        &tb,
        "POST",
        "/api/login",
        &[
            ("Cookie", &cookie_header(&id)),
            ("Content-Type", "application/json"),
        ],
        body,
    )
    .await;
    assert_eq!(resp.status, 403);

    let auth = login(&tb, "alice").await;
    let cookie = cookie_header(&auth);
    for path in ["/api/logout", "/api/logout-everywhere"] {
        let resp = send(
            &tb,
            "POST",
            path,
            &[("Cookie", &cookie), ("X-CSRF-Token", "x")],
            b"",
        )
        .await;
        assert_eq!(resp.status, 403);
        assert_eq!(resp.json(), json!({ "error": "csrf" }));
        let resp = send(&tb, "POST", path, &[("Cookie", &cookie)], b"").await;
        assert_eq!(resp.status, 403);
        // Without a session: 401.
        let resp = send(&tb, "POST", path, &[("X-CSRF-Token", &token)], b"").await;
        assert_eq!(resp.status, 401);
        // An anonymous session is not enough either.
        let resp = send(
            &tb,
            "POST",
            path,
            &[("Cookie", &cookie_header(&id)), ("X-CSRF-Token", &token)],
            b"",
        )
        .await;
        assert_eq!(resp.status, 401);
    }
    assert_eq!(
        me(&tb, &auth).await.status,
        200,
        "refused logouts changed nothing"
    );
    tb.shutdown().await;
}

#[tokio::test]
async fn wrong_password_is_401_and_keeps_the_pre_login_session() {
    let tb = start(&[]).await;
    let (id, token) = pre_login(&tb).await;
    for (user, password) in [("alice", "bob-demo-password"), ("mallory", "x"), ("", "")] {
        let resp = login_json(&tb, &id, &token, user, password).await;
        assert_eq!(resp.status, 401);
        assert_eq!(resp.json(), json!({ "error": "invalid_credentials" }));
        assert!(resp.set_cookies().is_empty());
    }
    assert_eq!(csrf_of(&tb, &id).await, token);
    let resp = login_json(&tb, &id, &token, "alice", "alice-demo-password").await;
    assert_eq!(resp.status, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn anonymous_session_is_not_authenticated() {
    let tb = start(&[]).await;
    let (id, _) = pre_login(&tb).await;
    assert_eq!(me(&tb, &id).await.status, 401);
    assert_eq!(send(&tb, "GET", "/api/me", &[], b"").await.status, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn form_login_answers_303_with_a_new_session() {
    let tb = start(&[]).await;
    let (id, token) = pre_login(&tb).await;
    let body = format!("username=bob&password=bob-demo-password&csrf_token={token}");
    let resp = send(
        &tb,
        "POST",
        "/api/login",
        &[
            ("Cookie", &cookie_header(&id)),
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(resp.status, 303);
    assert_eq!(resp.header("location"), Some("/"));
    let cookie = resp.session_cookie().unwrap();
    assert_clean_attributes(&cookie);
    assert_ne!(cookie.value(), id);
    assert_eq!(me(&tb, cookie.value()).await.json()["user"], "bob");

    // A form without the token is a CSRF failure; one without a password is malformed.
    let (id, _) = pre_login(&tb).await;
    let form = [
        ("Cookie", cookie_header(&id)),
        (
            "Content-Type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let resp = send(
        &tb,
        "POST",
        "/api/login",
        &form,
        b"username=bob&password=bob-demo-password",
    )
    .await;
    assert_eq!(resp.status, 403);
    let resp = send(&tb, "POST", "/api/login", &form, b"username=bob").await;
    assert_eq!(resp.status, 400);
    tb.shutdown().await;
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_of_the_user_only() {
    let tb = start(&[]).await;
    let first = login(&tb, "alice").await;
    let second = login(&tb, "alice").await;
    let bob = login(&tb, "bob").await;
    let resp = post_with_csrf(&tb, "/api/logout-everywhere", &first).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "ok": true, "sessions_ended": 2 }));
    assert_eq!(resp.session_cookie().unwrap().value(), "");
    assert_eq!(me(&tb, &first).await.status, 401);
    assert_eq!(me(&tb, &second).await.status, 401);
    assert_eq!(me(&tb, &bob).await.status, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn api_responses_carry_security_headers_and_json_errors() {
    let tb = start(&[]).await;
    let id = login(&tb, "alice").await;
    let responses = [
        send(&tb, "GET", "/api/csrf", &[], b"").await,
        me(&tb, &id).await,
        send(&tb, "GET", "/api/me", &[], b"").await,
        send(&tb, "GET", "/nope", &[], b"").await,
        send(&tb, "DELETE", "/api/me", &[], b"").await,
    ];
    for resp in &responses {
        assert_eq!(resp.header("cache-control"), Some("no-store"));
        assert_eq!(
            resp.header("content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'")
        );
        assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
        resp.json();
    }
    assert_eq!(responses[3].status, 404);
    assert_eq!(responses[3].json(), json!({ "error": "not_found" }));
    assert_eq!(responses[4].status, 405);
    tb.shutdown().await;
}

#[tokio::test]
async fn index_page_is_html_with_strict_csp_and_no_cookie() {
    let tb = start(&[Flaw::SessionFixation, Flaw::CookieLongLived]).await;
    let resp = send(&tb, "GET", "/", &[], b"").await;
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        resp.header("content-security-policy")
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert!(resp.set_cookies().is_empty());
    let page = String::from_utf8(resp.body).unwrap();
    assert!(
        page.contains("cookie-long-lived, session-fixation"),
        "{page}"
    );
    assert!(page.contains("alice-demo-password"));
    assert!(page.contains("/oauth/token") && page.contains("authprobe-demo-client-secret"));
    tb.shutdown().await;
}

#[tokio::test]
async fn hostile_requests_get_clean_errors() {
    let tb = start(&[
        Flaw::SessionPrefixMatch,
        Flaw::SessionFixation,
        Flaw::CookieParentDomain,
    ])
    .await;
    let (id, token) = pre_login(&tb).await;
    let cookie = cookie_header(&id);
    let login_with = |content_type: &'static str| {
        vec![
            ("Cookie", cookie.clone()),
            ("X-CSRF-Token", token.clone()),
            ("Content-Type", content_type.to_owned()),
        ]
    };
    let cases: [(&str, Vec<u8>, u16); 5] = [
        ("application/json", b"{not json".to_vec(), 400),
        (
            "application/json",
            br#"{"username":1,"password":"x"}"#.to_vec(),
            400,
        ),
        ("application/json", vec![b' '; 20 * 1024], 413),
        ("text/plain", b"username=alice".to_vec(), 415),
        (
            "application/x-www-form-urlencoded",
            b"%FF%FE=\xff&&==".to_vec(),
            400,
        ),
    ];
    for (content_type, body, status) in cases {
        let headers = login_with(content_type);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let resp = send(&tb, "POST", "/api/login", &headers, &body).await;
        assert_eq!(resp.status, status, "{content_type}");
        resp.json();
    }
    // Odd cookies and hosts: no panic, the server still answers.
    let odd = [
        "__Host-session=".to_owned(),
        "__Host-session".to_owned(),
        ";;;=;".to_owned(),
        format!("__Host-session={}", "é".repeat(40)),
        format!("__Host-session={}", "A".repeat(4000)),
    ];
    for cookie in &odd {
        let resp = send(&tb, "GET", "/api/me", &[("Cookie", cookie)], b"").await;
        assert_eq!(resp.status, 401);
        let resp = send(
            &tb,
            "GET",
            "/api/csrf",
            &[("Cookie", cookie), ("Host", "x; Domain=evil.test")],
            b"",
        )
        .await;
        assert_eq!(resp.status, 200);
        if let Some(set) = resp.session_cookie() {
            assert_eq!(set.domain(), None, "hostile Host is not echoed");
        }
    }
    // Non-UTF-8 header bytes.
    let mut request = b"GET /api/me?session=%FF HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: __Host-session=\xff\xfe\r\nConnection: close\r\n\r\n".to_vec();
    assert_eq!(raw(tb.addr(), &request).await.status, 401);
    request = b"POST /api/login HTTP/1.1\r\nHost: \xff\r\nContent-Type: application/json\r\nX-CSRF-Token: \xff\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}".to_vec();
    assert_eq!(raw(tb.addr(), &request).await.status, 400);
    tb.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let tb = start(&[]).await;
    let addr = tb.addr();
    assert_eq!(tb.base_url(), format!("http://127.0.0.1:{}", addr.port()));
    tb.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());
}

// ---------------------------------------------------------------------------------------------
// One test per flaw

/// The login cookie of `alice` on a testbed with `flaws`.
async fn login_cookie(tb: &RunningTestbed) -> Cookie<'static> {
    let (id, token) = pre_login(tb).await;
    let resp = login_json(tb, &id, &token, "alice", "alice-demo-password").await;
    assert_eq!(resp.status, 200);
    resp.session_cookie().unwrap()
}

#[tokio::test]
async fn flaw_cookie_no_httponly_drops_only_httponly() {
    let tb = start(&[Flaw::CookieNoHttpOnly]).await;
    let cookie = login_cookie(&tb).await;
    assert_ne!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    assert_eq!(cookie.path(), Some("/"));
    assert_opaque_id(cookie.value());
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_cookie_no_secure_keeps_the_host_prefix_name() {
    let tb = start(&[Flaw::CookieNoSecure]).await;
    let cookie = login_cookie(&tb).await;
    assert_eq!(cookie.name(), SESSION);
    assert_ne!(cookie.secure(), Some(true));
    assert_eq!(cookie.http_only(), Some(true));
    tb.shutdown().await;

    // Combined with SameSite=None, the cookie crate must not slip Secure back in.
    let tb = start(&[Flaw::CookieNoSecure, Flaw::CookieSameSiteNone]).await;
    let resp = send(&tb, "GET", "/api/csrf", &[], b"").await;
    let raw = resp.header("set-cookie").unwrap().to_owned();
    assert!(!raw.contains("Secure"), "{raw}");
    assert!(raw.contains("SameSite=None"), "{raw}");
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_cookie_samesite_none_keeps_secure() {
    let tb = start(&[Flaw::CookieSameSiteNone]).await;
    let cookie = login_cookie(&tb).await;
    assert_eq!(cookie.same_site(), Some(SameSite::None));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.http_only(), Some(true));
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_cookie_no_samesite_omits_the_attribute() {
    let tb = start(&[Flaw::CookieNoSameSite]).await;
    let cookie = login_cookie(&tb).await;
    assert_eq!(cookie.same_site(), None);
    assert_eq!(cookie.secure(), Some(true));
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_cookie_parent_domain_scopes_to_the_parent() {
    let tb = start(&[Flaw::CookieParentDomain]).await;
    let host = format!("app.example.test:{}", tb.addr().port());
    let resp = send(&tb, "GET", "/api/csrf", &[("Host", &host)], b"").await;
    let cookie = resp.session_cookie().unwrap();
    assert_eq!(cookie.domain(), Some("example.test"));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.secure(), Some(true));

    // On the loopback address the host itself is used; logout clears with the same scope.
    let cookie = login_cookie(&tb).await;
    assert_eq!(cookie.domain(), Some("127.0.0.1"));
    let resp = post_with_csrf(&tb, "/api/logout", cookie.value()).await;
    assert_eq!(resp.session_cookie().unwrap().domain(), Some("127.0.0.1"));
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_cookie_prefix_broken_uses_path_api_and_still_works() {
    let tb = start(&[Flaw::CookiePrefixBroken]).await;
    let cookie = login_cookie(&tb).await;
    assert_eq!(cookie.name(), SESSION);
    assert_eq!(cookie.path(), Some("/api"));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(me(&tb, cookie.value()).await.status, 200);
    let resp = post_with_csrf(&tb, "/api/logout", cookie.value()).await;
    assert_eq!(resp.session_cookie().unwrap().path(), Some("/api"));
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_cookie_long_lived_sets_two_years_on_login_only() {
    let tb = start(&[Flaw::CookieLongLived]).await;
    let resp = send(&tb, "GET", "/api/csrf", &[], b"").await;
    assert_eq!(resp.session_cookie().unwrap().max_age(), None);
    let cookie = login_cookie(&tb).await;
    assert_eq!(
        cookie.max_age(),
        Some(cookie::time::Duration::seconds(63_072_000))
    );
    let resp = post_with_csrf(&tb, "/api/logout", cookie.value()).await;
    assert_eq!(
        resp.session_cookie().unwrap().max_age(),
        Some(cookie::time::Duration::ZERO)
    );
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_cookie_not_cleared_on_logout_still_revokes() {
    let tb = start(&[Flaw::CookieNotClearedOnLogout]).await;
    let id = login(&tb, "alice").await;
    let resp = post_with_csrf(&tb, "/api/logout", &id).await;
    assert_eq!(resp.status, 200);
    assert!(resp.set_cookies().is_empty());
    assert_eq!(me(&tb, &id).await.status, 401);

    let id = login(&tb, "alice").await;
    let resp = post_with_csrf(&tb, "/api/logout-everywhere", &id).await;
    assert_eq!(resp.json()["sessions_ended"], 1);
    assert!(resp.set_cookies().is_empty());
    assert_eq!(me(&tb, &id).await.status, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_session_id_readable_encodes_the_user() {
    let tb = start(&[Flaw::SessionIdReadable]).await;
    let (anonymous, _) = pre_login(&tb).await;
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&anonymous).unwrap()).unwrap();
    assert_eq!(claims["user"], Value::Null);
    let id = login(&tb, "alice").await;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&id).unwrap()).unwrap();
    assert_eq!(claims["user"], "alice");
    assert_eq!(claims["uid"], 1);
    assert_eq!(claims["role"], "user");
    assert_eq!(claims["nonce"].as_str().unwrap().len(), 64);
    assert_eq!(me(&tb, &id).await.status, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_session_id_predictable_counts_up() {
    let tb = start(&[Flaw::SessionIdPredictable]).await;
    let (a, _) = pre_login(&tb).await;
    let (b, _) = pre_login(&tb).await;
    assert_eq!(a.len(), 32);
    let a = u128::from_str_radix(&a, 16).unwrap();
    let b = u128::from_str_radix(&b, 16).unwrap();
    assert_eq!(b, a + 1);
    let id = login(&tb, "bob").await;
    assert_eq!(u128::from_str_radix(&id, 16).unwrap(), b + 2);
    assert_eq!(me(&tb, &id).await.status, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_session_fixation_adopts_and_keeps_the_planted_id() {
    const PLANTED: &str = "attacker-chosen-session-id-0001";
    let clean = start(&[]).await;
    let resp = send(
        &clean,
        "GET",
        "/api/csrf",
        &[("Cookie", &cookie_header(PLANTED))],
        b"",
    )
    .await;
    assert_ne!(resp.session_cookie().unwrap().value(), PLANTED);
    clean.shutdown().await;

    let tb = start(&[Flaw::SessionFixation]).await;
    let resp = send(
        &tb,
        "GET",
        "/api/csrf",
        &[("Cookie", &cookie_header(PLANTED))],
        b"",
    )
    .await;
    let cookie = resp.session_cookie().unwrap();
    assert_eq!(cookie.value(), PLANTED);
    assert_clean_attributes(&cookie);
    let token = resp.json()["csrf_token"].as_str().unwrap().to_owned();
    let resp = login_json(&tb, PLANTED, &token, "alice", "alice-demo-password").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.session_cookie().unwrap().value(), PLANTED);
    // The attacker, who chose the id, is now alice.
    assert_eq!(me(&tb, PLANTED).await.json()["user"], "alice");
    // Without a planted id, ids are still minted fresh (and kept across login).
    let (pre, token) = pre_login(&tb).await;
    assert_opaque_id(&pre);
    let resp = login_json(&tb, &pre, &token, "bob", "bob-demo-password").await;
    assert_eq!(resp.session_cookie().unwrap().value(), pre);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_logout_keeps_session_clears_cookie_but_old_cookie_works() {
    let tb = start(&[Flaw::LogoutKeepsSession]).await;
    let id = login(&tb, "alice").await;
    let resp = post_with_csrf(&tb, "/api/logout", &id).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.session_cookie().unwrap().value(), "");
    assert_eq!(me(&tb, &id).await.status, 200);
    // Logout-everywhere is unaffected.
    let resp = post_with_csrf(&tb, "/api/logout-everywhere", &id).await;
    assert_eq!(resp.json()["sessions_ended"], 1);
    assert_eq!(me(&tb, &id).await.status, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_logout_everywhere_partial_ends_only_the_current_session() {
    let tb = start(&[Flaw::LogoutEverywherePartial]).await;
    let first = login(&tb, "alice").await;
    let second = login(&tb, "alice").await;
    let resp = post_with_csrf(&tb, "/api/logout-everywhere", &first).await;
    assert_eq!(resp.json(), json!({ "ok": true, "sessions_ended": 1 }));
    assert_eq!(me(&tb, &first).await.status, 401);
    assert_eq!(me(&tb, &second).await.status, 200);
    tb.shutdown().await;
}

/// `id` with its last character changed.
fn tamper(id: &str) -> String {
    let (head, last) = id.split_at(id.len() - 1);
    format!("{head}{}", if last == "A" { "B" } else { "A" })
}

#[tokio::test]
async fn flaw_session_prefix_match_accepts_a_tampered_id() {
    let clean = start(&[]).await;
    let id = login(&clean, "alice").await;
    assert_eq!(me(&clean, &tamper(&id)).await.status, 401);
    clean.shutdown().await;

    let tb = start(&[Flaw::SessionPrefixMatch]).await;
    let id = login(&tb, "alice").await;
    let resp = me(&tb, &tamper(&id)).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["user"], "alice");
    assert_eq!(me(&tb, &format!("{}zzzz", &id[..16])).await.status, 200);
    assert_eq!(me(&tb, &id[..15]).await.status, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn flaw_session_id_in_url_authenticates_from_the_query() {
    let clean = start(&[]).await;
    let id = login(&clean, "alice").await;
    let target = format!("/api/me?session={id}");
    assert_eq!(send(&clean, "GET", &target, &[], b"").await.status, 401);
    clean.shutdown().await;

    let tb = start(&[Flaw::SessionIdInUrl]).await;
    let id = login(&tb, "alice").await;
    let target = format!("/api/me?session={id}");
    let resp = send(&tb, "GET", &target, &[], b"").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["user"], "alice");
    // A cookie, when sent, wins over the URL.
    let resp = send(
        &tb,
        "GET",
        &target,
        &[("Cookie", "__Host-session=unknown")],
        b"",
    )
    .await;
    assert_eq!(resp.status, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn every_flaw_still_completes_the_login_flow() {
    for &flaw in Flaw::ALL {
        let tb = start(&[flaw]).await;
        let id = login(&tb, "bob").await;
        assert_eq!(me(&tb, &id).await.status, 200, "{flaw}");
        let resp = post_with_csrf(&tb, "/api/logout", &id).await;
        assert_eq!(resp.status, 200, "{flaw}");
        tb.shutdown().await;
    }
}
