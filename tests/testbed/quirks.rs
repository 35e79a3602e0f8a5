//! Tests of the quirks over real loopback HTTP: for each quirk, the legitimate behaviour it
//! adds, that the promises still hold under it, and that it combines with the flaws it meets
//! (a logout that revokes nothing on a two-cookie session, an unprotected logout that revokes
//! nothing, …): the session quirks in `session`, the token quirks in `tokens`, the
//! service-wide ones (faults, slow logins, path parameters, JSON only) in `service`. This file
//! holds the name list test, the helpers they share and all quirks at once, with and without
//! transient faults.

use std::cell::Cell;
use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cookie::Cookie;
use serde_json::json;

use super::oauth;
use super::{Resp, SESSION, request_bytes, start_with, try_raw};
use authprobe::testbed::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Flaw, Quirk, RunningTestbed, TestbedConfig,
};

mod service;
mod session;
mod tokens;

/// The signature cookie of `signed-cookie-pair`.
const SIG: &str = "__Host-session.sig";

// ---------------------------------------------------------------------------------------------
// The list

#[test]
fn every_quirk_name_parses_back_and_names_are_unique() {
    let names: BTreeSet<&str> = Quirk::ALL.iter().map(|q| q.name()).collect();
    assert_eq!(names.len(), Quirk::ALL.len(), "names are unique");
    for &quirk in Quirk::ALL {
        assert_eq!(quirk.name().parse::<Quirk>(), Ok(quirk));
        assert_eq!(quirk.to_string(), quirk.name());
        assert!(quirk.description().ends_with('.'), "{quirk}");
        let config = TestbedConfig::default().with_quirk(quirk);
        assert!(config.has_quirk(quirk) && config.flaws.is_empty());
    }
    let err = "no-such-quirk".parse::<Quirk>().unwrap_err();
    assert_eq!(err.name, "no-such-quirk");
    // One command line takes both `--flaw` and `--quirk`: their names never collide.
    for &flaw in Flaw::ALL {
        assert!(!names.contains(flaw.name()), "{flaw}");
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers the quirk modules share

/// The session a `signed-cookie-pair` response sets: its id and signature cookies, in order.
fn cookie_pair(resp: &Resp) -> (Cookie<'static>, Cookie<'static>) {
    let cookies = resp.set_cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert_eq!(cookies[0].name(), SESSION);
    assert_eq!(cookies[1].name(), SIG);
    (cookies[0].clone(), cookies[1].clone())
}

/// A `Cookie` header carrying an id and a signature.
fn pair_header(id: &str, sig: &str) -> String {
    format!("{SESSION}={id}; {SIG}={sig}")
}

/// A signed session: the values of its two cookies.
#[derive(Debug, Clone)]
struct Pair {
    id: String,
    sig: String,
}

impl Pair {
    fn of(resp: &Resp) -> Pair {
        let (id, sig) = cookie_pair(resp);
        Pair {
            id: id.value().to_owned(),
            sig: sig.value().to_owned(),
        }
    }

    fn header(&self) -> String {
        pair_header(&self.id, &self.sig)
    }
}

fn assert_opaque(token: &str) {
    assert!(!token.contains('.'), "{token}");
    assert_eq!(URL_SAFE_NO_PAD.decode(token).unwrap().len(), 32, "{token}");
}

/// Sends `request` on a new connection: the answer, or `None` when the testbed closed the
/// connection without one.
async fn once(tb: &RunningTestbed, request: &[u8]) -> Option<Resp> {
    try_raw(tb.addr(), request).await
}

/// The refresh grant for `refresh_token`, client authenticated with Basic.
fn refresh_request(tb: &RunningTestbed, refresh_token: &str) -> Vec<u8> {
    let auth = format!(
        "Basic {}",
        STANDARD.encode(format!("{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}"))
    );
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .finish();
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", auth.as_str()),
    ];
    request_bytes(tb, "POST", "/oauth/token", &headers, body.as_bytes())
}

// ---------------------------------------------------------------------------------------------
// All quirks at once

/// Sends `request`, once more when it meets a transient fault (503 or a hang-up), counting the
/// faults in `faults`.
async fn once_retrying(tb: &RunningTestbed, request: &[u8], faults: &Cell<usize>) -> Resp {
    match once(tb, request).await {
        Some(resp) if resp.status != 503 => resp,
        _ => {
            faults.set(faults.get() + 1);
            once(tb, request).await.expect("the retry is answered")
        }
    }
}

/// A login, access, logout, token grant, refresh and revocation on a testbed with every quirk
/// but (perhaps) transient faults, retrying each faulted request once.
async fn full_flow(tb: &RunningTestbed, faults: &Cell<usize>) {
    let send = |method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]| {
        let request = request_bytes(tb, method, target, headers, body);
        async move { once_retrying(tb, &request, faults).await }
    };
    let resp = send("GET", "/api/csrf", &[], b"").await;
    let token = resp.json()["csrf_token"].as_str().unwrap().to_owned();
    let pre = Pair::of(&resp).header();
    let body = json!({ "username": "alice", "password": "alice-demo-password" }).to_string();
    let headers = [
        ("Cookie", pre.as_str()),
        ("X-CSRF-Token", token.as_str()),
        ("Content-Type", "application/json"),
    ];
    let resp = send("POST", "/api/login", &headers, body.as_bytes()).await;
    assert_eq!(resp.status, 200);
    let pair = Pair::of(&resp);
    assert!(pair.id.contains('%'), "{}", pair.id);
    let cookies = pair.header();
    let cookies = [("Cookie", cookies.as_str())];
    assert_eq!(send("GET", "/api/me", &cookies, b"").await.status, 200);
    let target = format!("/api/me;jsessionid={}", pair.id);
    assert_eq!(send("GET", &target, &cookies, b"").await.status, 404);
    let logout = send("POST", "/api/logout", &cookies, b"").await;
    assert_eq!(logout.status, 200, "no CSRF token needed");
    assert_eq!(send("GET", "/api/me", &cookies, b"").await.status, 401);

    let form = "grant_type=password&username=alice&password=alice-demo-password";
    let auth = format!(
        "Basic {}",
        STANDARD.encode(format!("{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}"))
    );
    let form_headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", auth.as_str()),
    ];
    let resp = send("POST", "/oauth/token", &form_headers, form.as_bytes()).await;
    let (access, refresh) = oauth::tokens(&resp);
    assert_opaque(&access);
    let refresh_twice = refresh_request(tb, &refresh);
    let resp = once_retrying(tb, &refresh_twice, faults).await;
    assert_eq!(oauth::tokens(&resp).1, refresh, "not rotated");
    let form = format!("token={access}");
    let resp = send("POST", "/oauth/revoke", &form_headers, form.as_bytes()).await;
    assert_eq!(resp.status, 200);
    let resp = once_retrying(tb, &refresh_twice, faults).await;
    assert_eq!(resp.status, 400, "the grant went with its access token");
    let root = send("GET", "/", &[], b"").await;
    assert_eq!(root.json()["service"], "authprobe testbed");
}

#[tokio::test]
async fn every_quirk_combines_with_every_other() {
    let calm: Vec<Quirk> = Quirk::ALL
        .iter()
        .copied()
        .filter(|q| *q != Quirk::TransientFaults)
        .collect();
    let faults = Cell::new(0);
    let tb = start_with(&[], &calm).await;
    full_flow(&tb, &faults).await;
    assert_eq!(faults.get(), 0);
    tb.shutdown().await;

    // Eleven requests a flow, one more per fault: six flows send 72 requests and meet the
    // faults of requests 17, 29, 34, 51, 58 and 68, each on a different step.
    let tb = start_with(&[], Quirk::ALL).await;
    for _ in 0..6 {
        full_flow(&tb, &faults).await;
    }
    assert_eq!(faults.get(), 6);
    tb.shutdown().await;
}
