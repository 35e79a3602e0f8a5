//! OAuth 2.0 / OpenID Connect token sections: the `client.*` template variables, the
//! endpoints (from the profile first, then from a discovery document — OpenID Connect
//! discovery or RFC 8414 — that resolution fetched) and the flows derived from the grant
//! (token login, refresh grant, RFC 7009 revocation) for what the profile left out.
//!
//! Every endpoint must be on `base_url`'s origin: authprobe never sends credentials to another
//! origin. Derived requests carry templates (`{{client.basic}}`, `{{user.password}}`), never
//! secret values. The `token.oauth` format types live in `format`. No I/O here.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_saphyr::{Location, Spanned};
use url::Url;

use super::format::{
    ClientAuth, FlowStep, OAuthClient, OAuthGrant, OAuthSpec, RequestSpec, RevocationSpec,
    TokenSpec,
};
use super::origin::{UrlError, same_origin_path};
use super::template::Vars;

/// Why the endpoints of `token.oauth` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The discovery document is JSON but not an object.
    #[error("the discovery document is not a JSON object")]
    DiscoveryNotAnObject,
    /// A member of the discovery document that names an endpoint is not a string (the
    /// member's name is kept).
    #[error("the discovery document's `{0}` is not a string")]
    MemberNotAString(String),
    /// An endpoint that is not on `base_url`'s origin, or not a path or URL at all.
    #[error("{} ({}): {error}", endpoint.what(), endpoint.source(*from_profile))]
    Endpoint {
        /// Which endpoint.
        endpoint: Endpoint,
        /// True when the profile wrote it, false when the discovery document gave it.
        from_profile: bool,
        /// What is wrong with it (keeps the value).
        error: UrlError,
    },
    /// A discovery document was read, but neither it nor the profile names a token endpoint.
    #[error(
        "no token endpoint: neither token.oauth.token_endpoint nor the discovery document gives one"
    )]
    NoTokenEndpointInDiscovery,
    /// No token endpoint and no discovery document to take one from.
    #[error("no token endpoint: set token.oauth.token_endpoint or token.oauth.discovery")]
    NoTokenEndpoint,
}

/// An endpoint of an OAuth authorization server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// The token endpoint (`token_endpoint`).
    Token,
    /// The RFC 7009 revocation endpoint (`revocation_endpoint`).
    Revocation,
    /// The JWKS (`jwks_uri`; the profile's own is `token.jwks_url`).
    Jwks,
}

impl Endpoint {
    /// How messages name it.
    fn what(self) -> &'static str {
        match self {
            Endpoint::Token => "token endpoint",
            Endpoint::Revocation => "revocation endpoint",
            Endpoint::Jwks => "jwks",
        }
    }

    /// Its key in `token.oauth` and in the discovery document.
    fn key(self) -> &'static str {
        match self {
            Endpoint::Token => "token_endpoint",
            Endpoint::Revocation => "revocation_endpoint",
            Endpoint::Jwks => "jwks_uri",
        }
    }

    /// Where its value came from, for messages.
    fn source(self, from_profile: bool) -> String {
        if from_profile {
            format!("token.oauth.{}", self.key())
        } else {
            format!("the discovery document's `{}`", self.key())
        }
    }
}

/// `client.basic`: base64 of `urlencode(id):urlencode(secret)` (RFC 6749 §2.3.1 with
/// Appendix B's form encoding, so a space is `+`).
pub(super) fn client_basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
}

/// The `client.*` template variables: `client.id`, and with a secret `client.secret` and
/// `client.basic`.
pub(super) fn client_vars(client: &OAuthClient, secret: Option<&str>) -> Vars {
    let mut v = Vars::from([("client.id".to_string(), client.id.clone())]);
    if let Some(s) = secret {
        v.insert("client.secret".into(), s.to_string());
        v.insert("client.basic".into(), client_basic(&client.id, s));
    }
    v
}

/// The names of the `client.*` variables a client section provides (for static checks).
pub(super) fn client_var_names(client: &OAuthClient) -> Vec<&'static str> {
    if client.secret.is_some() {
        vec!["client.id", "client.secret", "client.basic"]
    } else {
        vec!["client.id"]
    }
}

/// The endpoints of an OAuth section, as paths on the target's origin.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoints {
    token: String,
    revocation: Option<String>,
    jwks: Option<String>,
}

/// The string member `key` of the discovery document, if it has one.
fn from_document(
    discovery: Option<&serde_json::Value>,
    key: &str,
) -> Result<Option<String>, OAuthError> {
    match discovery.and_then(|d| d.get(key)) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(OAuthError::MemberNotAString(key.to_string())),
    }
}

/// One endpoint: the profile's value, else the discovery document's, as a path on `base`'s
/// origin.
fn pick(
    base: &Url,
    explicit: Option<&String>,
    endpoint: Endpoint,
    discovery: Option<&serde_json::Value>,
) -> Result<Option<String>, OAuthError> {
    let (value, from_profile) = match explicit {
        Some(v) => (v.clone(), true),
        None => match from_document(discovery, endpoint.key())? {
            Some(v) => (v, false),
            None => return Ok(None),
        },
    };
    same_origin_path(base, &value)
        .map(Some)
        .map_err(|error| OAuthError::Endpoint {
            endpoint,
            from_profile,
            error,
        })
}

/// Endpoints from the profile first, then from the discovery document; each checked to be
/// on `base`'s origin.
fn endpoints(
    base: &Url,
    o: &OAuthSpec,
    jwks_set: bool,
    discovery: Option<&serde_json::Value>,
) -> Result<Endpoints, OAuthError> {
    if discovery.is_some_and(|d| !d.is_object()) {
        return Err(OAuthError::DiscoveryNotAnObject);
    }
    let token = pick(base, o.token_endpoint.as_ref(), Endpoint::Token, discovery)?.ok_or(
        if discovery.is_some() {
            OAuthError::NoTokenEndpointInDiscovery
        } else {
            OAuthError::NoTokenEndpoint
        },
    )?;
    let revocation = pick(
        base,
        o.revocation_endpoint.as_ref(),
        Endpoint::Revocation,
        discovery,
    )?;
    let jwks = if jwks_set {
        None
    } else {
        pick(base, None, Endpoint::Jwks, discovery)?
    };
    Ok(Endpoints {
        token,
        revocation,
        jwks,
    })
}

/// With `token.oauth`: takes the endpoints from the profile, then from the `discovery`
/// document (`token_endpoint`, `revocation_endpoint`, `jwks_uri` → `token.jwks_url` when
/// unset), refuses any on another origin than `base` (authprobe never sends credentials to
/// another origin), and derives what the token section left out: `login` from the grant,
/// `refresh` (password grant) and `revocation` (when a revocation endpoint is known).
/// Without `token.oauth` it changes nothing. On error `token` is left as it was.
pub(super) fn complete(
    token: &mut TokenSpec,
    base: &Url,
    discovery: Option<&serde_json::Value>,
) -> Result<(), OAuthError> {
    let Some(o) = token.oauth.as_ref() else {
        return Ok(());
    };
    let ep = endpoints(base, o, token.jwks_url.is_some(), discovery)?;
    if token.login.is_empty() {
        token.login = login_flow(o, &ep.token, &token.from, &token.refresh_from);
    }
    if token.refresh.is_none() {
        token.refresh = refresh_flow(o, &ep.token, &token.from, &token.refresh_from);
    }
    if token.revocation.is_none()
        && let Some(r) = &ep.revocation
    {
        token.revocation = Some(revocation(o, r));
    }
    if token.jwks_url.is_none() {
        token.jwks_url = ep.jwks;
    }
    Ok(())
}

fn spanned<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Location::UNKNOWN, Location::UNKNOWN)
}

/// A POST form request to `path` with the client's authentication added.
fn client_request(
    path: &str,
    client: &OAuthClient,
    mut form: BTreeMap<String, String>,
) -> RequestSpec {
    let mut headers = BTreeMap::new();
    match client.auth {
        ClientAuth::Basic => {
            headers.insert("Authorization".into(), "Basic {{client.basic}}".into());
        }
        ClientAuth::Post => {
            form.insert("client_id".into(), "{{client.id}}".into());
            form.insert("client_secret".into(), "{{client.secret}}".into());
        }
        ClientAuth::None => {
            form.insert("client_id".into(), "{{client.id}}".into());
        }
    }
    RequestSpec {
        method: "POST".into(),
        path: path.to_string(),
        headers,
        json: None,
        form: (!form.is_empty()).then_some(form),
        body: None,
    }
}

/// One token-endpoint step: extracts the access token into `from` and, if the answer has
/// one, the refresh token into `refresh_from`; only 200 counts as success.
fn token_step(request: RequestSpec, from: &str, refresh_from: &str) -> Spanned<FlowStep> {
    spanned(FlowStep {
        request,
        extract: BTreeMap::from([
            (from.to_string(), "json:/access_token".into()),
            (refresh_from.to_string(), "?json:/refresh_token".into()),
        ]),
        expect_status: Some(vec![200]),
    })
}

/// The derived token login for the grant.
fn login_flow(
    o: &OAuthSpec,
    token_endpoint: &str,
    from: &str,
    refresh_from: &str,
) -> Vec<Spanned<FlowStep>> {
    let mut form = BTreeMap::new();
    match o.grant {
        OAuthGrant::Password => {
            form.insert("grant_type".to_string(), "password".to_string());
            form.insert("username".into(), "{{user.username}}".into());
            form.insert("password".into(), "{{user.password}}".into());
        }
        OAuthGrant::ClientCredentials => {
            form.insert("grant_type".to_string(), "client_credentials".to_string());
        }
    }
    if let Some(scope) = &o.scope {
        form.insert("scope".into(), scope.clone());
    }
    let req = client_request(token_endpoint, &o.client.value, form);
    vec![token_step(req, from, refresh_from)]
}

/// The derived refresh grant (RFC 6749 §6), or None for grants without refresh tokens.
fn refresh_flow(
    o: &OAuthSpec,
    token_endpoint: &str,
    from: &str,
    refresh_from: &str,
) -> Option<Vec<Spanned<FlowStep>>> {
    if o.grant != OAuthGrant::Password {
        return None;
    }
    let form = BTreeMap::from([
        ("grant_type".to_string(), "refresh_token".to_string()),
        (
            "refresh_token".to_string(),
            format!("{{{{{refresh_from}}}}}"),
        ),
    ]);
    let req = client_request(token_endpoint, &o.client.value, form);
    Some(vec![token_step(req, from, refresh_from)])
}

/// The derived revocation request (the engine adds `token` and `token_type_hint`).
fn revocation(o: &OAuthSpec, revocation_endpoint: &str) -> RevocationSpec {
    RevocationSpec {
        request: client_request(revocation_endpoint, &o.client.value, BTreeMap::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::fixtures::{
        CLIENT_BASIC, CLIENT_SECRET, OAUTH, discovery, form, form_of, replace, resolved, unresolved,
    };
    use crate::profile::{Extractor, FlowName, Template};
    use crate::spec::Capability;

    #[test]
    fn client_basic_follows_rfc_6749() {
        // RFC 6749 §2.3.1's example.
        assert_eq!(
            client_basic("s6BhdRkqt3", "gX1fBat3bV"),
            "czZCaGRSa3F0MzpnWDFmQmF0M2JW"
        );
        // Both parts form-urlencoded first (space as `+`, `:` escaped).
        assert_eq!(client_basic("my client", CLIENT_SECRET), CLIENT_BASIC);
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
        for (key, endpoint) in [
            ("token_endpoint", Endpoint::Token),
            ("revocation_endpoint", Endpoint::Revocation),
            ("jwks_uri", Endpoint::Jwks),
        ] {
            let mut d = discovery();
            d[key] = "https://id.example.com/x".into();
            let e = unresolved(OAUTH).resolve_with(Some(&d)).unwrap_err();
            assert!(
                matches!(&e, OAuthError::Endpoint { endpoint: x, from_profile: false, .. } if *x == endpoint),
                "{key}: {e:?}"
            );
            let e = e.to_string();
            assert!(e.contains("another origin"), "{key}: {e}");
            assert!(e.contains(key), "{key}: {e}");
            assert!(e.contains("https://id.example.com/x"), "{key}: {e}");
        }
        let mut d = discovery();
        d.as_object_mut().unwrap().remove("token_endpoint");
        let e = unresolved(OAUTH).resolve_with(Some(&d)).unwrap_err();
        assert_eq!(e, OAuthError::NoTokenEndpointInDiscovery);
        assert!(e.to_string().contains("no token endpoint"), "{e}");
        let e = unresolved(OAUTH).resolve_with(None).unwrap_err();
        assert_eq!(e, OAuthError::NoTokenEndpoint);
        assert!(e.to_string().contains("no token endpoint"), "{e}");
        let e = unresolved(OAUTH)
            .resolve_with(Some(&serde_json::json!([1])))
            .unwrap_err();
        assert_eq!(e, OAuthError::DiscoveryNotAnObject);
        assert!(e.to_string().contains("not a JSON object"), "{e}");
        let mut d = discovery();
        d["jwks_uri"] = 7.into();
        let e = unresolved(OAUTH).resolve_with(Some(&d)).unwrap_err();
        assert_eq!(e, OAuthError::MemberNotAString("jwks_uri".into()));
    }

    #[test]
    fn a_refused_endpoint_derives_nothing() {
        let t = unresolved(OAUTH);
        let mut token = t.token.clone().unwrap();
        let mut d = discovery();
        d["revocation_endpoint"] = "https://id.example.com/revoke".into();
        complete(&mut token, &t.base_url, Some(&d)).unwrap_err();
        assert!(token.login.is_empty() && token.refresh.is_none());
        assert!(token.revocation.is_none() && token.jwks_url.is_none());
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
        assert!(
            ex.iter().any(|(v, e)| v == "access_token"
                && matches!(e, Extractor::Json(p) if p == "/access_token"))
        );
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
}
