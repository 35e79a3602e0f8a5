//! Tests of the token flows (refresh, logout, revocation), `token.oauth` and its resolution.
//! Fixtures: `testdata/oauth.yaml` (flows derived from `oauth`) and `testdata/token_flows.yaml`
//! (flows written out); tests edit single lines so diagnostics keep their line numbers.

use super::*;

const OAUTH: &str = include_str!("testdata/oauth.yaml");
const TOKEN_FLOWS: &str = include_str!("testdata/token_flows.yaml");
/// The fixture's client secret (public_demo: the fixture's base URL is loopback).
const CLIENT_SECRET: &str = "s3cr:et/+ é";
/// base64("my+client:s3cr%3Aet%2F%2B+%C3%A9"), computed independently (Python's
/// `base64.b64encode(quote_plus(id) + ":" + quote_plus(secret))`).
const CLIENT_BASIC: &str = "bXkrY2xpZW50OnMzY3IlM0FldCUyRiUyQislQzMlQTk=";

fn replace(src: &str, from: &str, to: &str) -> String {
    assert!(src.contains(from), "fixture lacks {from:?}");
    src.replacen(from, to, 1)
}

fn parse(src: &str) -> Profile {
    parse_profile(src, Path::new("p.yaml")).unwrap_or_else(|d| panic!("{d}"))
}

fn diags(src: &str) -> Diagnostics {
    parse_profile(src, Path::new("p.yaml")).expect_err("the profile should be refused")
}

/// The one diagnostic at `path`.
fn at<'a>(d: &'a Diagnostics, path: &str) -> &'a Diagnostic {
    let hits: Vec<&Diagnostic> = d.0.iter().filter(|x| x.path == path).collect();
    assert_eq!(hits.len(), 1, "one diagnostic at {path}:\n{d}");
    hits[0]
}

fn target(src: &str) -> Target {
    parse(src).resolve().unwrap_or_else(|d| panic!("{d}"))
}

fn discovery() -> serde_json::Value {
    serde_json::json!({
        "issuer": "http://127.0.0.1:8080",
        "token_endpoint": "http://127.0.0.1:8080/oauth2/token",
        "revocation_endpoint": "http://127.0.0.1:8080/oauth2/revoke",
        "jwks_uri": "http://127.0.0.1:8080/oauth2/jwks",
        "authorization_endpoint": "https://elsewhere.example.com/authorize"
    })
}

fn resolved(src: &str) -> Target {
    let mut t = target(src);
    t.resolve_oauth(Some(&discovery()))
        .unwrap_or_else(|e| panic!("{e}"));
    t
}

fn form(step: &FlowStep) -> &BTreeMap<String, String> {
    step.request.form.as_ref().expect("a form body")
}

#[test]
fn oauth_section_parses_every_key() {
    let p = parse(OAUTH);
    let t = p.spec.token.as_ref().unwrap();
    assert!(t.login.is_empty());
    assert_eq!(t.refresh_from, "rt");
    assert!(t.refresh.is_none() && t.revocation.is_none());
    assert_eq!(t.logout.as_ref().map(Vec::len), Some(1));
    let o = t.oauth.as_ref().unwrap();
    assert_eq!(
        o.discovery.as_deref(),
        Some("/.well-known/openid-configuration")
    );
    assert_eq!(o.token_endpoint, None);
    assert_eq!(o.grant, OAuthGrant::Password);
    assert_eq!(o.scope.as_deref(), Some("openid profile"));
    assert_eq!(o.client.value.id, "my client");
    assert_eq!(o.client.value.auth, ClientAuth::Basic);
    assert!(matches!(
        o.client.value.secret,
        Some(SecretSource::PublicDemo(_))
    ));
    assert_eq!(o.client.referenced.line(), 17);

    let src = replace(OAUTH, "grant: password", "grant: client_credentials");
    let src = replace(&src, "auth: basic", "auth: post");
    let src = replace(
        &src,
        "    scope: openid profile",
        "    token_endpoint: /t\n    revocation_endpoint: http://127.0.0.1:8080/r",
    );
    let o = parse(&src).spec.token.unwrap().oauth.unwrap();
    assert_eq!(o.grant, OAuthGrant::ClientCredentials);
    assert_eq!(o.client.value.auth, ClientAuth::Post);
    assert_eq!(o.token_endpoint.as_deref(), Some("/t"));
    assert_eq!(
        o.revocation_endpoint.as_deref(),
        Some("http://127.0.0.1:8080/r")
    );
    let src = replace(
        OAUTH,
        "secret: {public_demo: \"s3cr:et/+ é\"}, auth: basic",
        "auth: none",
    );
    let o = parse(&src).spec.token.unwrap().oauth.unwrap();
    assert_eq!(o.client.value.auth, ClientAuth::None);
    assert!(o.client.value.secret.is_none());
}

#[test]
fn written_token_flows_parse_with_defaults() {
    let p = parse(TOKEN_FLOWS);
    let t = p.spec.token.as_ref().unwrap();
    assert_eq!(t.refresh_from, "refresh_token", "the default");
    assert!(t.oauth.is_none());
    let refresh = t.refresh.as_ref().unwrap();
    assert_eq!(refresh[0].value.request.path, "/api/token/refresh");
    assert_eq!(refresh[0].referenced.line(), 20);
    assert_eq!(t.logout.as_ref().unwrap()[0].referenced.line(), 24);
    let r = &t.revocation.as_ref().unwrap().request;
    assert_eq!(r.method, "POST", "a revocation request defaults to POST");
    assert_eq!(r.path, "/api/token/revoke");
    assert_eq!(form_of(r).get("client_id").map(String::as_str), Some("web"));
}

fn form_of(r: &RequestSpec) -> &BTreeMap<String, String> {
    r.form.as_ref().expect("a form body")
}

#[test]
fn revocation_request_takes_no_json_or_body_and_keeps_a_written_method() {
    let src = replace(
        TOKEN_FLOWS,
        "form: {client_id: web}}",
        "json: {client_id: web}}",
    );
    let d = diags(&src);
    assert!(d.0[0].message.contains("unknown field"), "{d}");
    assert_eq!(d.0[0].line, 26, "{d}");
    let src = replace(
        TOKEN_FLOWS,
        "request: {path: /api/token/revoke",
        "request: {method: DELETE, path: /api/token/revoke",
    );
    let p = parse(&src);
    let r = &p.spec.token.unwrap().revocation.unwrap().request;
    assert_eq!(r.method, "DELETE");
}

#[test]
fn the_testbed_profile_derives_its_token_flows_from_discovery() {
    let p = Profile::testbed("http://127.0.0.1:9").unwrap_or_else(|d| panic!("{d}"));
    let t = p.spec.token.as_ref().unwrap();
    assert_eq!(t.refresh_from, "refresh_token");
    assert!(t.oauth.is_some() && t.logout.is_some());
    assert!(t.refresh.is_none() && t.revocation.is_none() && t.login.is_empty());
    let mut target = p.resolve().unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(
        target
            .discovery_url()
            .and_then(Result::ok)
            .map(|u| u.to_string()),
        Some("http://127.0.0.1:9/.well-known/openid-configuration".to_string())
    );
    assert!(!target.capabilities().contains(&Capability::Refresh));
    let doc = serde_json::json!({
        "token_endpoint": "http://127.0.0.1:9/oauth/token",
        "revocation_endpoint": "http://127.0.0.1:9/oauth/revoke",
        "jwks_uri": "http://127.0.0.1:9/.well-known/jwks.json",
    });
    target.resolve_oauth(Some(&doc)).unwrap();
    let caps = target.capabilities();
    for c in [
        Capability::Refresh,
        Capability::Revocation,
        Capability::TokenLogout,
    ] {
        assert!(caps.contains(&c), "{c:?}");
    }
    assert!(target.flow(FlowName::TokenRefresh).is_some());
    assert!(target.token_vars.contains_key("client.basic"));
    assert!(!format!("{target:?}").contains("authprobe-demo-client-secret"));
}

#[test]
fn optional_extractor_wraps_the_inner_one() {
    match Extractor::parse("?json:/refresh_token") {
        Ok(Extractor::Optional(inner)) => {
            assert!(matches!(*inner, Extractor::Json(ref p) if p == "/refresh_token"))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Extractor::parse("?cookie:rt"),
        Ok(Extractor::Optional(_))
    ));
    assert!(Extractor::parse("??json:/a").is_err());
    assert!(Extractor::parse("?").is_err());
    assert!(Extractor::parse("?json:a").is_err());
}

#[test]
fn flow_names_of_the_token_flows() {
    assert_eq!(FlowName::TokenRefresh.to_string(), "token refresh");
    assert_eq!(FlowName::TokenLogout.to_string(), "token logout");
    assert_eq!(
        serde_json::to_string(&FlowName::TokenRefresh).unwrap(),
        "\"token_refresh\""
    );
}

#[test]
fn written_token_flows_are_targets_flows_with_parsed_extractors() {
    let src = replace(TOKEN_FLOWS, "https://app.example.com", "http://127.0.0.1:1");
    let src = replace(
        &src,
        "{env: ALICE_PASSWORD}",
        "{public_demo: alice-demo-password}",
    );
    let t = target(&src);
    assert_eq!(
        t.flow(FlowName::TokenRefresh).unwrap()[0]
            .value
            .request
            .path,
        "/api/token/refresh"
    );
    assert_eq!(
        t.flow(FlowName::TokenLogout).unwrap()[0].value.request.path,
        "/api/token/logout"
    );
    let ex = t.step_extractors(FlowName::TokenRefresh, 0);
    assert!(
        ex.iter()
            .any(|(v, e)| v == "access_token" && matches!(e, Extractor::Json(_)))
    );
    assert!(
        ex.iter()
            .any(|(v, e)| v == "refresh_token" && matches!(e, Extractor::Optional(_)))
    );
    assert!(
        t.step_extractors(FlowName::TokenLogin, 0)
            .iter()
            .any(|(_, e)| matches!(e, Extractor::Optional(_)))
    );
    let caps = t.capabilities();
    for c in [
        Capability::Refresh,
        Capability::Revocation,
        Capability::TokenLogout,
    ] {
        assert!(caps.contains(&c), "{c:?}");
    }
}

// ---- diagnostics ------------------------------------------------------------------------

#[test]
fn oauth_without_token_endpoint_or_discovery_is_refused_at_the_section() {
    let src = replace(
        OAUTH,
        "    discovery: /.well-known/openid-configuration",
        "    # no endpoints",
    );
    let d = diags(&src);
    let x = at(&d, "token.oauth");
    assert_eq!((x.line, x.column), (14, 3), "{d}");
    assert!(x.message.contains("token_endpoint"), "{d}");
}

#[test]
fn client_auth_basic_or_post_without_secret_is_refused_at_the_client() {
    for auth in ["basic", "post"] {
        let src = replace(
            OAUTH,
            "secret: {public_demo: \"s3cr:et/+ é\"}, auth: basic",
            &format!("auth: {auth}"),
        );
        let d = diags(&src);
        let x = at(&d, "token.oauth.client.secret");
        assert_eq!(x.line, 17, "{d}");
        assert!(x.message.contains(&format!("`auth: {auth}`")), "{d}");
    }
    let src = replace(
        OAUTH,
        "secret: {public_demo: \"s3cr:et/+ é\"}, auth: basic",
        "auth: none",
    );
    parse(&src);
}

#[test]
fn public_demo_client_secret_is_refused_for_remote_targets() {
    let src = replace(OAUTH, "http://127.0.0.1:8080", "https://app.example.com");
    let d = diags(&src);
    let x = at(&d, "token.oauth.client.secret");
    assert_eq!(x.line, 17, "{d}");
    assert!(x.message.contains("only for loopback"), "{d}");
}

#[test]
fn empty_token_login_without_oauth_is_refused() {
    let src = replace(
        TOKEN_FLOWS,
        "  login:\n    - request: {method: POST, path: /api/token",
        "  login: []\n    # - request: {method: POST, path: /api/token",
    );
    let src = replace(
        &src,
        "      extract: {access_token: \"json:/access_token\", refresh_token: \"?json:/refresh_token\"}\n      expect_status: [200]\n  from",
        "      # extract\n      # expect_status\n  from",
    );
    let d = diags(&src);
    let x = at(&d, "token.login");
    assert_eq!(x.line, 14, "{d}");
    assert!(
        x.hint.as_deref().unwrap_or("").contains("token.oauth"),
        "{d}"
    );
    // Left out entirely, the diagnostic points at the token section.
    let src = replace(&src, "  login: []\n", "");
    let d = diags(&src);
    assert_eq!(at(&d, "token.login").line, 13, "{d}");
}

#[test]
fn endpoints_on_another_origin_are_refused_statically() {
    for (key, value, line) in [
        (
            "discovery",
            "https://id.example.com/.well-known/openid-configuration",
            15,
        ),
        ("token_endpoint", "https://evil.example.com/token", 15),
        ("revocation_endpoint", "//evil.example.com/revoke", 15),
        ("token_endpoint", "http://127.0.0.1:9090/token", 15),
    ] {
        // A revocation endpoint alone is not enough for the section; add a token endpoint.
        let extra = if key == "revocation_endpoint" {
            "\n    token_endpoint: /oauth/token"
        } else {
            ""
        };
        let src = replace(
            OAUTH,
            "    discovery: /.well-known/openid-configuration",
            &format!("    {key}: \"{value}\"{extra}"),
        );
        let d = diags(&src);
        let x = at(&d, &format!("token.oauth.{key}"));
        assert_eq!(x.line, line, "{d}");
        assert!(x.message.contains("another origin"), "{d}");
    }
    let src = replace(
        OAUTH,
        "    discovery: /.well-known/openid-configuration",
        "    token_endpoint: oauth/token",
    );
    let d = diags(&src);
    assert!(
        at(&d, "token.oauth.token_endpoint")
            .message
            .contains("path"),
        "{d}"
    );
    // A URL on the same origin is fine.
    parse(&replace(
        OAUTH,
        "    discovery: /.well-known/openid-configuration",
        "    token_endpoint: http://127.0.0.1:8080/oauth/token",
    ));
}

#[test]
fn client_credentials_with_a_written_refresh_is_accepted() {
    let src = replace(OAUTH, "grant: password", "grant: client_credentials");
    let src = replace(
        &src,
        "  logout:\n",
        "  refresh:\n    - request: {method: POST, path: /r, form: {rt: \"{{rt}}\", c: \"{{client.basic}}\"}}\n      extract: {access_token: \"json:/access_token\"}\n  logout:\n",
    );
    let t = parse(&src).spec.token.unwrap();
    assert_eq!(t.refresh.unwrap().len(), 1);
}

#[test]
fn refresh_that_extracts_no_access_token_is_refused() {
    let src = replace(
        TOKEN_FLOWS,
        "      extract: {access_token: \"json:/access_token\", refresh_token: \"?json:/refresh_token\"}\n      expect_status: [200]\n  logout",
        "      extract: {refresh_token: \"?json:/refresh_token\"}\n      expect_status: [200]\n  logout",
    );
    let d = diags(&src);
    let x = at(&d, "token.refresh");
    assert_eq!(x.line, 19, "{d}");
    assert!(x.message.contains("access_token"), "{d}");
}

#[test]
fn token_flow_templates_are_checked_with_their_variables() {
    // refresh: `user.password` is a login variable only.
    let src = replace(
        TOKEN_FLOWS,
        "{refresh_token: \"{{refresh_token}}\"}",
        "{p: \"{{user.password}}\"}",
    );
    let d = diags(&src);
    let x = at(&d, "token.refresh[0].json");
    assert_eq!(x.line, 20, "{d}");
    assert!(x.message.contains("user.password"), "{d}");
    assert!(x.hint.as_deref().unwrap().contains("refresh_token"), "{d}");
    // logout: a typo.
    let src = replace(
        TOKEN_FLOWS,
        "Bearer {{access_token}}\"}}\n  revocation",
        "Bearer {{acess_token}}\"}}\n  revocation",
    );
    let d = diags(&src);
    assert_eq!(
        at(&d, "token.logout[0].headers.Authorization").line,
        24,
        "{d}"
    );
    // revocation: client variables exist only with `oauth`.
    let src = replace(
        TOKEN_FLOWS,
        "form: {client_id: web}",
        "form: {client_id: \"{{client.id}}\"}",
    );
    let d = diags(&src);
    assert_eq!(
        at(&d, "token.revocation.request.form.client_id").line,
        26,
        "{d}"
    );
    // With `oauth`, the derived login's variables and `client.*` are available everywhere.
    parse(OAUTH);
}

#[test]
fn refresh_token_not_extracted_by_login_is_refused() {
    let src = replace(
        TOKEN_FLOWS,
        "      extract: {access_token: \"json:/access_token\", refresh_token: \"?json:/refresh_token\"}\n      expect_status: [200]\n  from",
        "      extract: {access_token: \"json:/access_token\"}\n      expect_status: [200]\n  from",
    );
    let d = diags(&src);
    let x = at(&d, "token.refresh_from");
    assert_eq!(x.line, 13, "the key is absent: the token section; {d}");
    assert!(
        x.hint.as_deref().unwrap().contains("?json:/refresh_token"),
        "{d}"
    );
}

#[test]
fn revocation_form_must_not_carry_the_token() {
    let src = replace(
        TOKEN_FLOWS,
        "form: {client_id: web}",
        "form: {client_id: web, token: \"{{access_token}}\"}",
    );
    let d = diags(&src);
    let x = at(&d, "token.revocation.request.form.token");
    assert_eq!(x.line, 26, "{d}");
}

// ---- resolution ---------------------------------------------------------------------------

#[test]
fn client_basic_follows_rfc_6749() {
    // RFC 6749 §2.3.1's example.
    assert_eq!(
        oauth::client_basic("s6BhdRkqt3", "gX1fBat3bV"),
        "czZCaGRSa3F0MzpnWDFmQmF0M2JW"
    );
    // Both parts form-urlencoded first (space as `+`, `:` escaped).
    assert_eq!(
        oauth::client_basic("my client", CLIENT_SECRET),
        CLIENT_BASIC
    );
}

#[test]
fn client_variables_come_from_the_resolved_secret() {
    let t = target(OAUTH);
    assert_eq!(t.client_secret.as_deref(), Some(CLIENT_SECRET));
    assert_eq!(t.token_vars["client.id"], "my client");
    assert_eq!(t.token_vars["client.secret"], CLIENT_SECRET);
    assert_eq!(t.token_vars["client.basic"], CLIENT_BASIC);
    let public = replace(
        OAUTH,
        "secret: {public_demo: \"s3cr:et/+ é\"}, auth: basic",
        "auth: none",
    );
    let t = target(&public);
    assert_eq!(t.client_secret, None);
    assert_eq!(t.token_vars.keys().collect::<Vec<_>>(), ["client.id"]);
}

#[test]
fn unset_client_secret_variable_is_a_located_diagnostic() {
    let src = replace(
        OAUTH,
        "{public_demo: \"s3cr:et/+ é\"}",
        "{env: AUTHPROBE_TEST_SURELY_UNSET_CLIENT_SECRET}",
    );
    let d = parse(&src).resolve().unwrap_err();
    let x = at(&d, "token.oauth.client.secret");
    assert_eq!(x.line, 17, "{d}");
    assert!(
        x.message
            .contains("AUTHPROBE_TEST_SURELY_UNSET_CLIENT_SECRET")
    );
}

#[test]
fn discovery_url_is_joined_to_the_base_and_kept_on_its_origin() {
    let t = target(OAUTH);
    assert_eq!(
        t.discovery_url().unwrap().unwrap().as_str(),
        "http://127.0.0.1:8080/.well-known/openid-configuration"
    );
    let mut t = target(OAUTH);
    t.base_url = Url::parse("http://127.0.0.1:1/").unwrap();
    t.token.as_mut().unwrap().oauth.as_mut().unwrap().discovery =
        Some("http://127.0.0.1:8080/.well-known/openid-configuration".into());
    let e = t.discovery_url().unwrap().unwrap_err();
    assert!(e.contains("another origin"), "{e}");
}

#[test]
fn resolution_takes_endpoints_from_discovery() {
    let t = resolved(OAUTH);
    let tok = t.token.as_ref().unwrap();
    assert_eq!(tok.login[0].value.request.path, "/oauth2/token");
    assert_eq!(
        tok.refresh.as_ref().unwrap()[0].value.request.path,
        "/oauth2/token"
    );
    assert_eq!(
        tok.revocation.as_ref().unwrap().request.path,
        "/oauth2/revoke"
    );
    assert_eq!(tok.jwks_url.as_deref(), Some("/oauth2/jwks"));
    let caps = t.capabilities();
    for c in [
        Capability::Jwt,
        Capability::Jwks,
        Capability::Refresh,
        Capability::Revocation,
        Capability::TokenLogout,
    ] {
        assert!(caps.contains(&c), "{c:?}");
    }
}

#[test]
fn profile_endpoints_win_over_discovery() {
    let src = replace(
        OAUTH,
        "    grant: password",
        "    token_endpoint: /mine/token\n    revocation_endpoint: /mine/revoke",
    );
    let src = replace(
        &src,
        "    denied: {status: [401]}",
        "    denied: {status: [401]}\n  jwks_url: /mine/jwks",
    );
    let t = resolved(&src);
    let tok = t.token.as_ref().unwrap();
    assert_eq!(tok.login[0].value.request.path, "/mine/token");
    assert_eq!(
        tok.revocation.as_ref().unwrap().request.path,
        "/mine/revoke"
    );
    assert_eq!(tok.jwks_url.as_deref(), Some("/mine/jwks"));
}

#[test]
fn resolution_refuses_endpoints_on_another_origin() {
    for key in ["token_endpoint", "revocation_endpoint", "jwks_uri"] {
        let mut d = discovery();
        d[key] = "https://id.example.com/x".into();
        let mut t = target(OAUTH);
        let e = t.resolve_oauth(Some(&d)).unwrap_err();
        assert!(e.contains("another origin"), "{key}: {e}");
        assert!(e.contains(key), "{key}: {e}");
        assert!(
            t.token.as_ref().unwrap().login.is_empty(),
            "nothing derived"
        );
    }
    let mut t = target(OAUTH);
    let mut d = discovery();
    d.as_object_mut().unwrap().remove("token_endpoint");
    let e = t.resolve_oauth(Some(&d)).unwrap_err();
    assert!(e.contains("no token endpoint"), "{e}");
    let e = target(OAUTH).resolve_oauth(None).unwrap_err();
    assert!(e.contains("no token endpoint"), "{e}");
    let e = target(OAUTH)
        .resolve_oauth(Some(&serde_json::json!([1])))
        .unwrap_err();
    assert!(e.contains("not a JSON object"), "{e}");
}

#[test]
fn derived_password_login_and_refresh_with_basic_client_auth() {
    let t = resolved(OAUTH);
    let tok = t.token.as_ref().unwrap();
    assert_eq!(tok.login.len(), 1);
    let login = &tok.login[0].value;
    assert_eq!(login.request.method, "POST");
    assert_eq!(
        form(login),
        &BTreeMap::from([
            ("grant_type".to_string(), "password".to_string()),
            ("username".into(), "{{user.username}}".into()),
            ("password".into(), "{{user.password}}".into()),
            ("scope".into(), "openid profile".into()),
        ])
    );
    assert_eq!(
        login
            .request
            .headers
            .get("Authorization")
            .map(String::as_str),
        Some("Basic {{client.basic}}")
    );
    assert_eq!(login.expect_status, Some(vec![200]));
    assert_eq!(login.extract["access_token"], "json:/access_token");
    assert_eq!(login.extract["rt"], "?json:/refresh_token");
    let ex = t.step_extractors(FlowName::TokenLogin, 0);
    assert!(ex.iter().any(
        |(v, e)| v == "access_token" && matches!(e, Extractor::Json(p) if p == "/access_token")
    ));
    assert!(ex.iter().any(|(v, e)| v == "rt"
        && matches!(e, Extractor::Optional(i) if matches!(**i, Extractor::Json(ref p) if p == "/refresh_token"))));

    let refresh = &t.flow(FlowName::TokenRefresh).unwrap()[0].value;
    assert_eq!(
        form(refresh),
        &BTreeMap::from([
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".into(), "{{rt}}".into()),
        ])
    );
    assert_eq!(
        refresh
            .request
            .headers
            .get("Authorization")
            .map(String::as_str),
        Some("Basic {{client.basic}}")
    );
    assert_eq!(refresh.expect_status, Some(vec![200]));
    assert_eq!(refresh.extract["rt"], "?json:/refresh_token");
    assert_eq!(t.step_extractors(FlowName::TokenRefresh, 0).len(), 2);
    // The written logout flow keeps its extractors slot too.
    assert!(t.flow(FlowName::TokenLogout).is_some());

    let rev = &tok.revocation.as_ref().unwrap().request;
    assert_eq!(rev.method, "POST");
    assert_eq!(
        rev.headers.get("Authorization").map(String::as_str),
        Some("Basic {{client.basic}}")
    );
    assert!(rev.form.is_none(), "the engine adds the token");
    // Every derived template renders from the variables the engine has.
    let mut vars = t.token_vars.clone();
    for v in ["user.username", "user.password", "rt"] {
        vars.insert(v.into(), "x".into());
    }
    for step in tok.login.iter().chain(tok.refresh.iter().flatten()) {
        for text in step
            .value
            .request
            .headers
            .values()
            .chain(form(&step.value).values())
        {
            Template::render_str(text, &vars).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }
}

#[test]
fn derived_requests_follow_the_client_auth_method() {
    let src = replace(OAUTH, "auth: basic", "auth: post");
    let t = resolved(&src);
    let tok = t.token.as_ref().unwrap();
    for req in [
        &tok.login[0].value.request,
        &tok.refresh.as_ref().unwrap()[0].value.request,
        &tok.revocation.as_ref().unwrap().request,
    ] {
        assert!(req.headers.is_empty());
        let f = form_of(req);
        assert_eq!(f["client_id"], "{{client.id}}");
        assert_eq!(f["client_secret"], "{{client.secret}}");
    }
    let src = replace(
        OAUTH,
        "secret: {public_demo: \"s3cr:et/+ é\"}, auth: basic",
        "auth: none",
    );
    let t = resolved(&src);
    let tok = t.token.as_ref().unwrap();
    let f = form(&tok.login[0].value);
    assert_eq!(f["client_id"], "{{client.id}}");
    assert!(!f.contains_key("client_secret"));
    assert!(tok.login[0].value.request.headers.is_empty());
}

#[test]
fn client_credentials_derives_no_refresh() {
    let src = replace(OAUTH, "grant: password", "grant: client_credentials");
    let t = resolved(&src);
    let tok = t.token.as_ref().unwrap();
    let f = form(&tok.login[0].value);
    assert_eq!(f["grant_type"], "client_credentials");
    assert!(!f.contains_key("username") && !f.contains_key("password"));
    assert!(tok.refresh.is_none());
    assert!(!t.capabilities().contains(&Capability::Refresh));
}

#[test]
fn written_flows_are_not_replaced() {
    let src = replace(
        OAUTH,
        "  logout:\n",
        "  refresh:\n    - request: {method: POST, path: /my/refresh, form: {rt: \"{{rt}}\"}}\n      extract: {access_token: \"json:/access_token\"}\n  logout:\n",
    );
    let t = resolved(&src);
    let refresh = t.flow(FlowName::TokenRefresh).unwrap();
    assert_eq!(refresh[0].value.request.path, "/my/refresh");
    assert_eq!(t.step_extractors(FlowName::TokenRefresh, 0).len(), 1);
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let t = resolved(OAUTH);
    assert!(t.token_vars.values().any(|v| v == CLIENT_BASIC));
    let p = parse(OAUTH);
    for text in [format!("{t:?}"), format!("{t:#?}"), format!("{p:?}")] {
        for secret in [CLIENT_SECRET, CLIENT_BASIC, "alice-demo-password"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("my client"));
    }
}

#[test]
fn skeleton_picks_post_auth_when_the_server_lists_only_post() {
    let d = serde_json::json!({
        "issuer": "https://id.example.com",
        "token_endpoint": "https://id.example.com/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
        "revocation_endpoint": "https://other.example.com/revoke"
    });
    let text = skeleton(None, Some(&d)).unwrap();
    assert!(text.contains("auth: post"), "{text}");
    assert!(
        text.contains("# revocation_endpoint: https://other.example.com/revoke"),
        "{text}"
    );
    let p = parse_profile(&text, Path::new("init.yaml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let o = p.spec.token.unwrap().oauth.unwrap();
    assert_eq!(o.client.value.auth, ClientAuth::Post);
    assert_eq!(o.revocation_endpoint, None);
}

#[test]
fn generated_profile_schema_accepts_the_fixtures_and_refuses_unknown_oauth_keys() {
    let schema: serde_json::Value =
        serde_json::from_str(&crate::schema::render(crate::schema::Kind::Profile)).unwrap();
    let validator = jsonschema::options().build(&schema).unwrap();
    let json = |src: &str| -> serde_json::Value { serde_saphyr::from_str(src).unwrap() };
    for src in [OAUTH, TOKEN_FLOWS, TESTBED_PROFILE] {
        let errors: Vec<String> = validator
            .iter_errors(&json(src))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let bad = replace(OAUTH, "grant: password", "grant: implicit");
    assert!(!validator.is_valid(&json(&bad)));
    let bad = replace(OAUTH, "scope: openid profile", "scopes: openid");
    assert!(!validator.is_valid(&json(&bad)));
}

#[test]
fn flows_are_optional_for_a_token_only_profile_but_one_login_is_required() {
    let start = OAUTH.find("flows:\n").unwrap();
    let end = OAUTH.find("token:\n").unwrap();
    let token_only = format!("{}{}", &OAUTH[..start], &OAUTH[end..]);
    let p = parse(&token_only);
    assert!(p.spec.flows.is_none());
    let target = p.resolve().unwrap_or_else(|d| panic!("{d}"));
    let caps = target.capabilities();
    assert!(!caps.contains(&Capability::Session), "{caps:?}");
    assert!(caps.contains(&Capability::Jwt));
    assert!(target.session_access().is_none());
    assert!(target.flow(FlowName::Login).is_none());
    // Neither a session nor a token: nothing to log in with.
    let t = token_only.find("token:\n").unwrap();
    let neither = &token_only[..t];
    let d = diags(neither);
    assert!(
        d.0.iter()
            .any(|x| x.path.is_empty() && x.message.contains("neither")),
        "{d}"
    );
}
