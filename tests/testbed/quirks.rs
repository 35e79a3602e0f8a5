//! Tests of the quirks over real loopback HTTP: for each quirk, the legitimate behaviour it
//! adds, that the promises still hold under it, and that it combines with the flaws it meets
//! (a logout that revokes nothing on a two-cookie session, an unprotected logout that revokes
//! nothing, …); then all quirks at once, with and without transient faults.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cookie::{Cookie, SameSite};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

use super::oauth::{self, Client};
use super::{Resp, SESSION, jwt, request_bytes, send, session, start_config, start_with, try_raw};
use authprobe::testbed::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ES256_PRIVATE_KEY_PEM, DEMO_RS256_PUBLIC_KEY_PEM,
    Flaw, Quirk, RS256_KID, RunningTestbed, SLOW_LOGIN_DELAY, TOKEN_AUDIENCE, TOKEN_ISSUER,
    TRANSIENT_HANGUP_EVERY, TRANSIENT_UNAVAILABLE_EVERY, TestbedConfig,
};

/// The signature cookie of `signed-cookie-pair`.
const SIG: &str = "__Host-session.sig";
/// The CSP of every API (JSON) response.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

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
// Cookie helpers

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
    let resp = post_with(&tb, "/api/logout", &super::cookie_header(&id), None).await;
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
        &super::cookie_header(&laptop),
        Some("wrong-token"),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({ "ok": true, "sessions_ended": 2 }));
    assert_eq!(session::me(&tb, &phone).await.status, 401);
    // Still only for an authenticated session.
    let resp = post_with(&tb, "/api/logout", &super::cookie_header("unknown"), None).await;
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
    let resp = post_with(&tb, "/api/logout", &super::cookie_header(&id), None).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.session_cookie().unwrap().value(), "", "cookie cleared");
    assert_eq!(session::me(&tb, &id).await.status, 200, "session kept");
    tb.shutdown().await;
}

#[tokio::test]
async fn samesite_only_csrf_with_csrf_unprotected_behaves_as_the_quirk_alone() {
    // Both drop the token check of the logouts: with the Lax cookie kept, nothing is left for
    // the flaw to break.
    let tb = start_with(&[Flaw::CsrfUnprotected], &[Quirk::SameSiteOnlyCsrf]).await;
    let (pre, token) = session::pre_login(&tb).await;
    let resp = session::login_json(&tb, &pre, &token, "alice", "alice-demo-password").await;
    let cookie = resp.session_cookie().unwrap();
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    let id = cookie.value().to_owned();
    let resp = post_with(&tb, "/api/logout", &super::cookie_header(&id), None).await;
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
    let resp = post_with(
        &tb,
        "/api/logout",
        &super::cookie_header(cookie.value()),
        None,
    )
    .await;
    assert_eq!(resp.status, 200);
    tb.shutdown().await;
}

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

fn assert_opaque(token: &str) {
    assert!(!token.contains('.'), "{token}");
    assert_eq!(URL_SAFE_NO_PAD.decode(token).unwrap().len(), 32, "{token}");
}

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
        200,
        "logout leaves the access token to expire, as with JWTs"
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

// ---------------------------------------------------------------------------------------------
// transient-faults

/// Sends `request` on a new connection: the answer, or `None` when the testbed closed the
/// connection without one.
async fn once(tb: &RunningTestbed, request: &[u8]) -> Option<Resp> {
    try_raw(tb.addr(), request).await
}

fn get(tb: &RunningTestbed, target: &str) -> Vec<u8> {
    request_bytes(tb, "GET", target, &[], b"")
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
    let cookie = super::cookie_header(&id);
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
    let cookie = super::cookie_header(&id);
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
    let cookie = super::cookie_header(&id);
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
