//! The session quirks: `percent-encoded-cookie`, `signed-cookie-pair` and
//! `samesite-only-csrf`, alone and with the session flaws they meet.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cookie::{Cookie, SameSite};
use serde_json::json;

use super::{Pair, SIG, cookie_pair, pair_header};
use crate::testbed::{Resp, SESSION, cookie_header, send, session, start_with};
use authprobe::testbed::{Flaw, Quirk, RunningTestbed};

// ---------------------------------------------------------------------------------------------
// Helpers

/// `value` with every `%XX` escape decoded.
fn percent_decode(value: &str) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < value.len() {
        if value.as_bytes()[i] == b'%' {
            out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(value.as_bytes()[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// `value` with the hex digits of every escape in lower case.
fn lower_case_escapes(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        out.push_str(&rest[at..at + 3].to_ascii_lowercase());
        rest = &rest[at + 3..];
    }
    out + rest
}

/// `value` with its first letter or digit outside an escape changed to another one.
fn flip_plain_char(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut i = 0;
    while bytes[i] == b'%' {
        i += 3;
    }
    let replacement = if bytes[i] == b'A' { "B" } else { "A" };
    format!("{}{replacement}{}", &value[..i], &value[i + 1..])
}

/// The status of `GET /api/me` with `cookies` as the `Cookie` header.
async fn me_with(tb: &RunningTestbed, cookies: &str) -> u16 {
    send(tb, "GET", "/api/me", &[("Cookie", cookies)], b"")
        .await
        .status
}

/// A POST to `path` with `cookies` and, when given, an `X-CSRF-Token`.
async fn post_with(tb: &RunningTestbed, path: &str, cookies: &str, csrf: Option<&str>) -> Resp {
    let mut headers = vec![("Cookie", cookies)];
    if let Some(token) = csrf {
        headers.push(("X-CSRF-Token", token));
    }
    send(tb, "POST", path, &headers, b"").await
}

/// `GET /api/csrf` with `cookies`: the response.
async fn csrf_with(tb: &RunningTestbed, cookies: &str) -> Resp {
    send(tb, "GET", "/api/csrf", &[("Cookie", cookies)], b"").await
}

/// A signed pre-login session and its CSRF token.
async fn signed_pre_login(tb: &RunningTestbed) -> (Pair, String) {
    let resp = send(tb, "GET", "/api/csrf", &[], b"").await;
    assert_eq!(resp.status, 200);
    let token = resp.json()["csrf_token"].as_str().unwrap().to_owned();
    (Pair::of(&resp), token)
}

/// Logs `user` in on a signed testbed: the authenticated pair.
async fn signed_login(tb: &RunningTestbed, user: &str) -> Pair {
    let (pre, token) = signed_pre_login(tb).await;
    let body = json!({ "username": user, "password": format!("{user}-demo-password") });
    let resp = send(
        tb,
        "POST",
        "/api/login",
        &[
            ("Cookie", &pre.header()),
            ("X-CSRF-Token", &token),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(resp.status, 200, "{:?}", resp.json());
    Pair::of(&resp)
}

/// The CSRF token of a live signed session.
async fn signed_csrf(tb: &RunningTestbed, pair: &Pair) -> String {
    let resp = csrf_with(tb, &pair.header()).await;
    assert_eq!(resp.status, 200);
    assert!(
        resp.set_cookies().is_empty(),
        "live session: no new cookies"
    );
    resp.json()["csrf_token"].as_str().unwrap().to_owned()
}

fn assert_clean_attributes(cookie: &Cookie<'_>) {
    assert_eq!(cookie.path(), Some("/"), "{cookie}");
    assert_eq!(cookie.secure(), Some(true), "{cookie}");
    assert_eq!(cookie.http_only(), Some(true), "{cookie}");
    assert_eq!(cookie.same_site(), Some(SameSite::Lax), "{cookie}");
    assert_eq!(cookie.domain(), None, "{cookie}");
}

fn assert_removals(resp: &Resp, names: &[&str]) {
    let cookies = resp.set_cookies();
    let removed: Vec<&str> = cookies.iter().map(Cookie::name).collect();
    assert_eq!(removed, names);
    for cookie in &cookies {
        assert_eq!(cookie.value(), "", "{cookie}");
        assert_eq!(
            cookie.max_age(),
            Some(cookie::time::Duration::ZERO),
            "{cookie}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// percent-encoded-cookie

#[tokio::test]
async fn percent_encoded_cookie_carries_escaped_padded_base64_ids() {
    let tb = start_with(&[], &[Quirk::PercentEncodedCookie]).await;
    let (pre, token) = session::pre_login(&tb).await;
    assert!(pre.ends_with("%3D"), "{pre}");
    assert!(pre.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'%'));
    let id = percent_decode(&pre);
    assert_eq!(id.len(), 44, "{id}");
    assert_eq!(STANDARD.decode(&id).unwrap().len(), 32);

    let resp = session::login_json(&tb, &pre, &token, "alice", "alice-demo-password").await;
    assert_eq!(resp.status, 200);
    let cookie = resp.session_cookie().unwrap();
    assert_clean_attributes(&cookie);
    assert!(cookie.value().ends_with("%3D"));
    assert_ne!(cookie.value(), pre, "a new id at login");
    assert_eq!(session::me(&tb, cookie.value()).await.status, 200);
    assert_eq!(session::me(&tb, &pre).await.status, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn percent_encoded_cookie_values_that_decode_alike_name_one_session() {
    let tb = start_with(&[], &[Quirk::PercentEncodedCookie]).await;
    let value = session::login(&tb, "alice").await;
    let lower = lower_case_escapes(&value);
    assert_ne!(lower, value);
    // The same bytes spelt three ways: as set, with lower-case hex, and unescaped.
    for variant in [value.clone(), lower, percent_decode(&value)] {
        assert_eq!(session::me(&tb, &variant).await.status, 200, "{variant}");
    }
    tb.shutdown().await;
}

#[tokio::test]
async fn percent_encoded_cookie_refuses_every_change_of_the_decoded_bytes() {
    let tb = start_with(&[], &[Quirk::PercentEncodedCookie]).await;
    let value = session::login(&tb, "alice").await;
    let trimmed = value.strip_suffix("%3D").unwrap();
    for altered in [
        flip_plain_char(&value),
        format!("{trimmed}%3C"),
        trimmed.to_owned(),
        format!("{value}A"),
        format!("{trimmed}%3"),
        format!("{trimmed}%zz"),
    ] {
        assert_eq!(session::me(&tb, &altered).await.status, 401, "{altered}");
    }
    assert_eq!(session::me(&tb, &value).await.status, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn percent_encoded_cookie_with_session_prefix_match_compares_decoded_prefixes() {
    let tb = start_with(&[Flaw::SessionPrefixMatch], &[Quirk::PercentEncodedCookie]).await;
    let value = session::login(&tb, "alice").await;
    let id = percent_decode(&value);
    // Same first 16 decoded characters, different rest: the flaw lets it in.
    let tampered = format!("{}x", &id[..16])
        .replace('+', "%2B")
        .replace('/', "%2F");
    assert_eq!(session::me(&tb, &tampered).await.status, 200, "{tampered}");
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// signed-cookie-pair

#[tokio::test]
async fn signed_cookie_pair_sets_an_id_and_a_signature_cookie_alike() {
    let tb = start_with(&[], &[Quirk::SignedCookiePair]).await;
    let resp = send(&tb, "GET", "/api/csrf", &[], b"").await;
    let (id, sig) = cookie_pair(&resp);
    for cookie in [&id, &sig] {
        assert_clean_attributes(cookie);
        assert_eq!(cookie.max_age(), None, "{cookie}");
    }
    assert_eq!(URL_SAFE_NO_PAD.decode(id.value()).unwrap().len(), 32);
    assert_eq!(URL_SAFE_NO_PAD.decode(sig.value()).unwrap().len(), 32);

    let pair = signed_login(&tb, "alice").await;
    assert_ne!(pair.id, id.value(), "a new id at login");
    assert_ne!(pair.sig, sig.value());
    let resp = send(&tb, "GET", "/api/me", &[("Cookie", &pair.header())], b"").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "user": "alice", "role": "user" }));
    tb.shutdown().await;
}

#[tokio::test]
async fn signed_cookie_pair_authenticates_only_both_cookies_with_a_matching_signature() {
    let tb = start_with(&[], &[Quirk::SignedCookiePair]).await;
    let alice = signed_login(&tb, "alice").await;
    let bob = signed_login(&tb, "bob").await;
    let mut altered_sig = alice.sig.clone();
    altered_sig.replace_range(..1, if alice.sig.starts_with('A') { "B" } else { "A" });
    for cookies in [
        format!("{SESSION}={}", alice.id),
        format!("{SIG}={}", alice.sig),
        pair_header(&alice.id, &bob.sig),
        pair_header(&bob.id, &alice.sig),
        pair_header(&alice.id, &altered_sig),
        pair_header(&alice.id, ""),
        pair_header(&alice.id, "!!"),
    ] {
        assert_eq!(me_with(&tb, &cookies).await, 401, "{cookies}");
    }
    assert_eq!(me_with(&tb, &alice.header()).await, 200);
    assert_eq!(me_with(&tb, &bob.header()).await, 200);

    // An unsigned id is no session: /api/csrf starts a new one instead.
    let resp = csrf_with(&tb, &format!("{SESSION}={}", alice.id)).await;
    assert_ne!(Pair::of(&resp).id, alice.id);
    // Without its signature, the CSRF token does not help either.
    let token = signed_csrf(&tb, &alice).await;
    let unsigned = format!("{SESSION}={}", alice.id);
    let resp = post_with(&tb, "/api/logout", &unsigned, Some(&token)).await;
    assert_eq!(resp.status, 401);
    assert_eq!(me_with(&tb, &alice.header()).await, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn signed_cookie_pair_logout_clears_both_cookies_and_revokes() {
    let tb = start_with(&[], &[Quirk::SignedCookiePair]).await;
    let pair = signed_login(&tb, "alice").await;
    let token = signed_csrf(&tb, &pair).await;
    let resp = post_with(&tb, "/api/logout", &pair.header(), Some(&token)).await;
    assert_eq!(resp.status, 200);
    assert_removals(&resp, &[SESSION, SIG]);
    assert_eq!(me_with(&tb, &pair.header()).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn signed_cookie_pair_logout_everywhere_ends_every_pair() {
    let tb = start_with(&[], &[Quirk::SignedCookiePair]).await;
    let laptop = signed_login(&tb, "alice").await;
    let phone = signed_login(&tb, "alice").await;
    let bob = signed_login(&tb, "bob").await;
    let token = signed_csrf(&tb, &laptop).await;
    let resp = post_with(
        &tb,
        "/api/logout-everywhere",
        &laptop.header(),
        Some(&token),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "ok": true, "sessions_ended": 2 }));
    assert_removals(&resp, &[SESSION, SIG]);
    assert_eq!(me_with(&tb, &laptop.header()).await, 401);
    assert_eq!(me_with(&tb, &phone.header()).await, 401);
    assert_eq!(me_with(&tb, &bob.header()).await, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn signed_cookie_pair_with_logout_keeps_session_is_a_logout_that_revokes_nothing() {
    let tb = start_with(&[Flaw::LogoutKeepsSession], &[Quirk::SignedCookiePair]).await;
    let pair = signed_login(&tb, "alice").await;
    let token = signed_csrf(&tb, &pair).await;
    let resp = post_with(&tb, "/api/logout", &pair.header(), Some(&token)).await;
    assert_eq!(resp.status, 200);
    assert_removals(&resp, &[SESSION, SIG]);
    // Replaying the whole set shows the flaw; replaying the id alone would hide it.
    assert_eq!(me_with(&tb, &pair.header()).await, 200);
    assert_eq!(me_with(&tb, &format!("{SESSION}={}", pair.id)).await, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn signed_cookie_pair_combines_with_percent_encoded_cookie() {
    let quirks = [Quirk::SignedCookiePair, Quirk::PercentEncodedCookie];
    let tb = start_with(&[], &quirks).await;
    let pair = signed_login(&tb, "alice").await;
    assert!(pair.id.ends_with("%3D"), "{}", pair.id);
    assert_eq!(me_with(&tb, &pair.header()).await, 200);
    // The signature is of the decoded id, so a re-spelt id keeps it.
    let lower = pair_header(&lower_case_escapes(&pair.id), &pair.sig);
    assert_eq!(me_with(&tb, &lower).await, 200);
    let altered = pair_header(&flip_plain_char(&pair.id), &pair.sig);
    assert_eq!(me_with(&tb, &altered).await, 401);
    tb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// samesite-only-csrf

#[tokio::test]
async fn samesite_only_csrf_logouts_need_no_token() {
    let tb = start_with(&[], &[Quirk::SameSiteOnlyCsrf]).await;
    let (pre, token) = session::pre_login(&tb).await;
    let resp = session::login_json(&tb, &pre, &token, "alice", "alice-demo-password").await;
    let cookie = resp.session_cookie().unwrap();
    assert_eq!(
        cookie.same_site(),
        Some(SameSite::Lax),
        "the only protection"
    );
    let id = cookie.value().to_owned();
    let resp = post_with(&tb, "/api/logout", &cookie_header(&id), None).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "ok": true }));
    assert_eq!(
        session::me(&tb, &id).await.status,
        401,
        "logout still revokes"
    );

    let laptop = session::login(&tb, "bob").await;
    let phone = session::login(&tb, "bob").await;
    let resp = post_with(
        &tb,
        "/api/logout-everywhere",
        &cookie_header(&laptop),
        Some("wrong-token"),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "ok": true, "sessions_ended": 2 }));
    assert_eq!(session::me(&tb, &phone).await.status, 401);
    // Still only for an authenticated session.
    let resp = post_with(&tb, "/api/logout", &cookie_header("unknown"), None).await;
    assert_eq!(resp.status, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn samesite_only_csrf_login_still_checks_its_token() {
    let tb = start_with(&[], &[Quirk::SameSiteOnlyCsrf]).await;
    let (pre, token) = session::pre_login(&tb).await;
    for wrong in ["", "wrong"] {
        let resp = session::login_json(&tb, &pre, wrong, "alice", "alice-demo-password").await;
        assert_eq!(resp.status, 403, "{wrong:?}");
        assert_eq!(resp.json(), json!({ "error": "csrf" }));
    }
    let resp = session::login_json(&tb, &pre, &token, "alice", "alice-demo-password").await;
    assert_eq!(resp.status, 200);
    tb.shutdown().await;
}

#[tokio::test]
async fn samesite_only_csrf_with_logout_keeps_session_is_an_unprotected_logout_that_revokes_nothing()
 {
    let tb = start_with(&[Flaw::LogoutKeepsSession], &[Quirk::SameSiteOnlyCsrf]).await;
    let id = session::login(&tb, "alice").await;
    let resp = post_with(&tb, "/api/logout", &cookie_header(&id), None).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.session_cookie().unwrap().value(), "", "cookie cleared");
    assert_eq!(session::me(&tb, &id).await.status, 200, "session kept");
    tb.shutdown().await;
}

#[tokio::test]
async fn samesite_only_csrf_with_csrf_unprotected_drops_samesite_too() {
    // Both drop the token check of the logouts; the flaw also makes the cookie SameSite=None,
    // so the unprotected logout becomes forgeable from any site.
    let tb = start_with(&[Flaw::CsrfUnprotected], &[Quirk::SameSiteOnlyCsrf]).await;
    let (pre, token) = session::pre_login(&tb).await;
    let resp = session::login_json(&tb, &pre, &token, "alice", "alice-demo-password").await;
    let cookie = resp.session_cookie().unwrap();
    assert_eq!(cookie.same_site(), Some(SameSite::None));
    let id = cookie.value().to_owned();
    let resp = post_with(&tb, "/api/logout", &cookie_header(&id), None).await;
    assert_eq!(resp.status, 200);
    assert_eq!(session::me(&tb, &id).await.status, 401);
    tb.shutdown().await;
}

#[tokio::test]
async fn samesite_only_csrf_with_cookie_samesite_none_leaves_logout_unprotected() {
    let tb = start_with(&[Flaw::CookieSameSiteNone], &[Quirk::SameSiteOnlyCsrf]).await;
    let (pre, token) = session::pre_login(&tb).await;
    let resp = session::login_json(&tb, &pre, &token, "alice", "alice-demo-password").await;
    let cookie = resp.session_cookie().unwrap();
    assert_eq!(cookie.same_site(), Some(SameSite::None));
    let resp = post_with(&tb, "/api/logout", &cookie_header(cookie.value()), None).await;
    assert_eq!(resp.status, 200);
    tb.shutdown().await;
}
