//! The service-wide quirks: `transient-faults`, `slow-logins`, `path-param-404` and
//! `json-only`, alone and with the flaws they meet.

use std::time::Instant;

use serde_json::json;

use super::{once, refresh_request};
use crate::testbed::oauth::{self, Client};
use crate::testbed::{Resp, cookie_header, jwt, request_bytes, send, session, start_with};
use authprobe::testbed::{
    Flaw, Quirk, RunningTestbed, SLOW_LOGIN_DELAY, TRANSIENT_HANGUP_EVERY,
    TRANSIENT_UNAVAILABLE_EVERY,
};

/// The CSP of every API (JSON) response.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

// ---------------------------------------------------------------------------------------------
// transient-faults

fn get(tb: &RunningTestbed, target: &str) -> Vec<u8> {
    request_bytes(tb, "GET", target, &[], b"")
}

fn assert_unavailable(resp: &Resp) {
    assert_eq!(resp.status, 503);
    assert_eq!(resp.header("retry-after"), Some("0"));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(resp.json(), json!({ "error": "temporarily_unavailable" }));
}

/// What request number `n` meets on a testbed with transient faults.
fn expected_fault(n: u64) -> Option<&'static str> {
    if n.is_multiple_of(29) {
        Some("hang-up")
    } else if n.is_multiple_of(17) {
        Some("503")
    } else {
        None
    }
}

#[tokio::test]
async fn transient_faults_fail_every_17th_and_29th_request_and_never_its_retry() {
    assert_eq!(
        (TRANSIENT_UNAVAILABLE_EVERY, TRANSIENT_HANGUP_EVERY),
        (17, 29)
    );
    let tb = start_with(&[], &[Quirk::TransientFaults]).await;
    let mut n = 0;
    let mut distinct = 0;
    let mut seen = Vec::new();
    // 203 hangs up and 204 would answer 503: the retry of 203 is exempt all the same.
    while n < 210 {
        distinct += 1;
        let request = get(&tb, &format!("/.well-known/jwks.json?i={distinct}"));
        n += 1;
        let answer = once(&tb, &request).await;
        match expected_fault(n) {
            None => assert_eq!(answer.expect("answered").status, 200, "request {n}"),
            Some("503") => assert_unavailable(&answer.expect("answered")),
            Some(_) => assert!(answer.is_none(), "request {n} hangs up"),
        }
        if let Some(fault) = expected_fault(n) {
            seen.push((n, fault));
            n += 1;
            let retry = once(&tb, &request).await.expect("the retry is answered");
            assert_eq!(retry.status, 200, "retry of request {}", n - 1);
        }
    }
    assert!(seen.contains(&(17, "503")) && seen.contains(&(29, "hang-up")));
    assert!(seen.contains(&(203, "hang-up")), "{seen:?}");
    tb.shutdown().await;
}

#[tokio::test]
async fn transient_faults_count_unknown_paths_and_refused_requests_too() {
    let tb = start_with(&[], &[Quirk::TransientFaults]).await;
    for i in 1..=16 {
        let (method, target) = if i % 2 == 0 {
            ("GET", format!("/nowhere/{i}"))
        } else {
            ("GET", format!("/api/login?i={i}"))
        };
        let resp = once(&tb, &request_bytes(&tb, method, &target, &[], b""))
            .await
            .unwrap();
        assert_eq!(resp.status, if i % 2 == 0 { 404 } else { 405 }, "{target}");
    }
    assert_unavailable(&once(&tb, &get(&tb, "/nowhere/17")).await.unwrap());
    tb.shutdown().await;
}

#[tokio::test]
async fn transient_faults_never_process_a_faulted_request() {
    let tb = start_with(&[], &[Quirk::TransientFaults]).await;
    let (access, refresh) = oauth::login(&tb).await; // request 1
    for i in 2..=16 {
        once(&tb, &get(&tb, &format!("/?i={i}"))).await.unwrap();
    }
    // 17: a refresh answered 503. Had it rotated, its retry would be a reuse and revoke all.
    let request = refresh_request(&tb, &refresh);
    assert_unavailable(&once(&tb, &request).await.unwrap());
    let resp = once(&tb, &request).await.unwrap(); // 18
    let (_, rotated) = oauth::tokens(&resp);
    assert_ne!(rotated, refresh);
    for i in 19..=28 {
        once(&tb, &get(&tb, &format!("/?i={i}"))).await.unwrap();
    }
    // 29: a token logout that is hung up does not revoke the family.
    let auth = format!("Bearer {access}");
    let logout = request_bytes(
        &tb,
        "POST",
        "/api/token/logout",
        &[("Authorization", &auth)],
        b"",
    );
    assert!(once(&tb, &logout).await.is_none());
    let resp = once(&tb, &refresh_request(&tb, &rotated)).await.unwrap(); // 30
    let (_, current) = oauth::tokens(&resp);
    assert_eq!(once(&tb, &logout).await.unwrap().status, 200); // 31: the retry
    let resp = once(&tb, &refresh_request(&tb, &current)).await.unwrap(); // 32
    assert_eq!(resp.status, 400, "the retried logout revoked the family");
    tb.shutdown().await;
}

#[tokio::test]
async fn transient_faults_with_logout_keeps_session_still_show_the_flaw_on_retry() {
    let tb = start_with(&[Flaw::LogoutKeepsSession], &[Quirk::TransientFaults]).await;
    let id = session::login(&tb, "alice").await; // requests 1 and 2
    let token = session::csrf_of(&tb, &id).await; // 3
    for i in 4..=16 {
        once(&tb, &get(&tb, &format!("/?i={i}"))).await.unwrap();
    }
    let cookie = cookie_header(&id);
    let headers = [
        ("Cookie", cookie.as_str()),
        ("X-CSRF-Token", token.as_str()),
    ];
    let logout = request_bytes(&tb, "POST", "/api/logout", &headers, b"");
    assert_unavailable(&once(&tb, &logout).await.unwrap()); // 17
    assert_eq!(once(&tb, &logout).await.unwrap().status, 200); // 18
    assert_eq!(session::me(&tb, &id).await.status, 200); // 19: the flaw
    tb.shutdown().await;
}

#[tokio::test]
async fn transient_faults_hang_ups_reach_a_keep_alive_client_as_transport_errors() {
    let tb = start_with(&[], &[Quirk::TransientFaults]).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = |i: u32| format!("{}/.well-known/jwks.json?i={i}", tb.base_url());
    for i in 1..=28 {
        let status = client.get(url(i)).send().await.unwrap().status();
        assert_eq!(status, if i == 17 { 503 } else { 200 }, "request {i}");
    }
    let hung_up = client.get(url(29)).send().await;
    assert!(hung_up.is_err(), "{hung_up:?}");
    let retry = client.get(url(29)).send().await.unwrap();
    assert_eq!(retry.status(), 200);
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// slow-logins

#[tokio::test]
async fn slow_logins_take_their_time_one_at_a_time() {
    let tb = start_with(&[], &[Quirk::SlowLogins]).await;
    let started = Instant::now();
    assert_eq!(
        jwt::grant(&tb, "alice", "alice-demo-password").await.status,
        200
    );
    assert!(started.elapsed() >= SLOW_LOGIN_DELAY);

    let started = Instant::now();
    let (ok, wrong) = tokio::join!(
        jwt::grant(&tb, "alice", "alice-demo-password"),
        jwt::grant(&tb, "bob", "wrong-password"),
    );
    assert_eq!((ok.status, wrong.status), (200, 401));
    assert!(started.elapsed() >= SLOW_LOGIN_DELAY * 2);
    tb.shutdown().await;
}

#[tokio::test]
async fn slow_logins_queue_across_every_login_route() {
    let tb = start_with(&[], &[Quirk::SlowLogins]).await;
    let (pre, token) = session::pre_login(&tb).await;
    let started = Instant::now();
    let (session_login, json_grant, oauth_grant) = tokio::join!(
        session::login_json(&tb, &pre, &token, "bob", "bob-demo-password"),
        jwt::grant(&tb, "alice", "alice-demo-password"),
        oauth::post_form(
            &tb,
            "/oauth/token",
            Client::Basic,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-demo-password"),
            ],
        ),
    );
    let statuses = (session_login.status, json_grant.status, oauth_grant.status);
    assert_eq!(statuses, (200, 200, 200));
    assert!(started.elapsed() >= SLOW_LOGIN_DELAY * 3);
    // A CSRF refusal comes before the password check, and stays a refusal.
    let resp = session::login_json(&tb, &pre, &token, "bob", "bob-demo-password").await;
    assert_eq!(resp.status, 403, "the pre-login session was replaced");
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// path-param-404

fn assert_not_found(resp: &Resp) {
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json(), json!({ "error": "not_found" }));
    assert_eq!(resp.header("content-security-policy"), Some(API_CSP));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn path_param_404_answers_404_to_every_path_parameter() {
    let tb = start_with(&[], &[Quirk::PathParam404]).await;
    let id = session::login(&tb, "alice").await;
    let cookie = cookie_header(&id);
    let with_cookie = [("Cookie", cookie.as_str())];
    for target in [
        format!("/api/me;jsessionid={id}"),
        "/api/me;x".to_owned(),
        "/api;a=b/me".to_owned(),
        "/;a=b".to_owned(),
        "/api/token/me;x=y".to_owned(),
    ] {
        assert_not_found(&send(&tb, "GET", &target, &with_cookie, b"").await);
    }
    let token = session::csrf_of(&tb, &id).await;
    let headers = [
        ("Cookie", cookie.as_str()),
        ("X-CSRF-Token", token.as_str()),
    ];
    assert_not_found(&send(&tb, "POST", "/api/logout;a=b", &headers, b"").await);
    assert_eq!(
        session::me(&tb, &id).await.status,
        200,
        "nothing was processed"
    );
    // A `;` in the query is no path parameter.
    let resp = send(&tb, "GET", "/api/me?x=a;b", &with_cookie, b"").await;
    assert_eq!(resp.status, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn path_param_404_answers_as_the_clean_testbed_already_does() {
    // No route of the testbed contains `;`, so the clean service answers the same 404: the
    // quirk names this behaviour and keeps it whatever the routes become.
    let tb = start_with(&[], &[]).await;
    let id = session::login(&tb, "alice").await;
    let cookie = cookie_header(&id);
    let target = format!("/api/me;jsessionid={id}");
    assert_not_found(&send(&tb, "GET", &target, &[("Cookie", &cookie)], b"").await);
    tb.shutdown().await;
}

#[tokio::test]
async fn path_param_404_with_session_id_in_url_still_takes_the_query() {
    let tb = start_with(&[Flaw::SessionIdInUrl], &[Quirk::PathParam404]).await;
    let id = session::login(&tb, "alice").await;
    let resp = send(&tb, "GET", &format!("/api/me?session={id}"), &[], b"").await;
    assert_eq!(resp.status, 200);
    assert_not_found(&send(&tb, "GET", &format!("/api/me;session={id}"), &[], b"").await);
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// json-only

#[tokio::test]
async fn json_only_answers_get_root_with_json() {
    let tb = start_with(&[], &[Quirk::JsonOnly]).await;
    let resp = send(&tb, "GET", "/", &[], b"").await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json(),
        json!({ "service": "authprobe testbed", "flaws": [], "quirks": ["json-only"] })
    );
    assert_eq!(resp.header("content-security-policy"), Some(API_CSP));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(send(&tb, "GET", "/api/csrf", &[], b"").await.status, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn json_only_with_no_csp_keeps_the_api_headers() {
    // The CSP flaws bend the HTML page; with no page there is nothing for them to bend.
    let tb = start_with(&[Flaw::NoCsp], &[Quirk::JsonOnly]).await;
    let resp = send(&tb, "GET", "/", &[], b"").await;
    assert_eq!(resp.json()["flaws"], json!(["no-csp"]));
    assert_eq!(resp.header("content-security-policy"), Some(API_CSP));
    tb.shutdown().await;
}

#[tokio::test]
async fn html_page_lists_active_quirks_only_when_some_are_on() {
    let tb = start_with(&[], &[]).await;
    let page = String::from_utf8(send(&tb, "GET", "/", &[], b"").await.body).unwrap();
    assert!(!page.contains("quirks"), "the clean page is unchanged");
    tb.shutdown().await;

    let tb = start_with(&[], &[Quirk::SlowLogins, Quirk::PathParam404]).await;
    let resp = send(&tb, "GET", "/", &[], b"").await;
    assert!(
        resp.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let page = String::from_utf8(resp.body).unwrap();
    assert!(
        page.contains("<p>Active quirks: <code>slow-logins, path-param-404</code></p>\n<h2>"),
        "{page}"
    );
    tb.shutdown().await;
}
