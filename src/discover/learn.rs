//! Signing in once (`init --login`): which cookie the login sets, which resource answers
//! differently with and without it, what the logout looks like, and, from an OpenID
//! provider, the tokens of a password grant and the userinfo answer.

use base64::Engine as _;
use serde_json::Value;

use super::html::{self, Form};
use super::openapi::ApiLogin;
use super::probe::{Jar, Probe, is_html, set_cookies};
use super::{CsrfField, DiscoverError, Discovery, FormLogin, PROTECTED_PATHS, csrf_regex};
use super::{is_csrf_cookie, path_of};
use crate::http::{Exchange, ProbeRequest};

/// A protected resource and what it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Its path.
    pub path: String,
    /// The status with credentials.
    pub allowed: u16,
    /// The status without.
    pub denied: u16,
}

/// How the session ends.
#[derive(Debug, Clone)]
pub enum Logout {
    /// A logout form on a signed-in page.
    Form {
        /// The page with the form.
        page: String,
        /// The form.
        form: Form,
        /// Its target path.
        action: String,
        /// How to read its CSRF field from the page.
        csrf: Option<CsrfField>,
        /// What the logout answered.
        status: u16,
    },
    /// A `POST` of the JSON API (with the CSRF header, when the login has one).
    Api {
        /// Its path.
        path: String,
        /// What it answered.
        status: u16,
    },
}

/// What a password grant at the provider's token endpoint gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLearned {
    /// The scope asked for.
    pub scope: String,
    /// Whether a refresh token came back.
    pub refresh: bool,
    /// The userinfo endpoint's answers with and without the access token.
    pub access: Option<Access>,
}

/// What signing in once taught.
#[derive(Debug, Clone, Default)]
pub struct Learned {
    /// The cookies the login set (the session), in order.
    pub session_cookies: Vec<String>,
    /// The login's status.
    pub login_status: Option<u16>,
    /// Whether the pre-login visit already hands out the session cookie.
    pub anonymous: bool,
    /// Where the login redirected (a signed-in page).
    pub landing: Option<String>,
    /// The protected resource.
    pub access: Option<Access>,
    /// The logout.
    pub logout: Option<Logout>,
    /// What "log out everywhere" answered, when the API has it.
    pub logout_everywhere: Option<u16>,
    /// The tokens of the OpenID provider.
    pub token: Option<TokenLearned>,
    /// What could not be learned, one line each (written as comments).
    pub notes: Vec<String>,
}

/// Signs in once with `creds` by the form, else by the JSON API; then, from an OpenID
/// provider, asks for tokens with `client`.
pub(super) async fn learn(
    probe: &mut Probe,
    d: &Discovery,
    creds: &(String, String),
    client: Option<&(String, String)>,
) -> Result<Learned, DiscoverError> {
    let mut l = Learned::default();
    if let Some(fl) = &d.form_login {
        learn_form(probe, fl, creds, &mut l).await?;
    } else if let Some((_, api)) = &d.api_login {
        learn_api(probe, api, creds, &mut l).await?;
    }
    if let Some(doc) = &d.oidc {
        match client {
            Some(client) => l.token = learn_token(probe, doc, creds, client, &mut l).await?,
            None => l.notes.push(
                "no --client-id: the OAuth client of the token section is a placeholder".into(),
            ),
        }
    }
    Ok(l)
}

/// The cookies an answer sets that are not CSRF cookies and not removals.
fn session_cookies(ex: &Exchange) -> Vec<String> {
    set_cookies(ex)
        .into_iter()
        .filter(|(n, v)| !v.is_empty() && !is_csrf_cookie(n))
        .map(|(n, _)| n)
        .collect()
}

/// A `POST` of `fields` as a form to `path` with `jar`.
async fn post_form(
    probe: &mut Probe,
    path: &str,
    fields: &[(String, String)],
    jar: &mut Jar,
) -> Result<Exchange, DiscoverError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let url = probe.url(path).ok_or_else(|| off_origin(path))?;
    let request =
        ProbeRequest::post(url).body(body.into_bytes(), "application/x-www-form-urlencoded");
    probe.send(request, Some(jar)).await
}

fn off_origin(path: &str) -> DiscoverError {
    DiscoverError::Unreachable {
        url: path.to_string(),
        status: 0,
    }
}

/// Signs in with the login form (fetched afresh for its token), then learns the landing
/// page, the protected resource and the logout form.
async fn learn_form(
    probe: &mut Probe,
    fl: &FormLogin,
    (user, password): &(String, String),
    l: &mut Learned,
) -> Result<(), DiscoverError> {
    let mut jar = Jar::new();
    let Some(page) = probe.get(&fl.page, Some(&mut jar)).await else {
        return Ok(());
    };
    let before: Vec<String> = jar.keys().cloned().collect();
    let form = html::parse(&page.response.body_text())
        .login_form()
        .cloned()
        .unwrap_or_else(|| fl.form.clone());
    let mut fields = form.hidden.clone();
    fields.push((form.user.clone().unwrap_or_default(), user.clone()));
    fields.push((form.password.clone().unwrap_or_default(), password.clone()));
    let ex = post_form(probe, &fl.action, &fields, &mut jar).await?;
    l.login_status = Some(ex.response.status);
    l.session_cookies = session_cookies(&ex);
    if l.session_cookies.is_empty() {
        return Err(DiscoverError::LoginFailed(ex.response.status));
    }
    l.anonymous = l.session_cookies.iter().all(|c| before.contains(c));
    l.landing = ex
        .response
        .header("location")
        .and_then(|loc| probe.url(loc))
        .map(|u| path_of(&u));
    let mut candidates: Vec<String> = PROTECTED_PATHS.iter().map(|p| p.to_string()).collect();
    candidates.extend(l.landing.clone());
    l.access = find_access(probe, &jar, &candidates).await;
    if let Some(landing) = l.landing.clone() {
        l.logout = form_logout(probe, &landing, &mut jar).await?;
    }
    Ok(())
}

/// The first of `candidates` that answers a success with `jar` and something else without.
async fn find_access(probe: &mut Probe, jar: &Jar, candidates: &[String]) -> Option<Access> {
    find_access_with(probe, Some(jar), None, candidates).await
}

/// The first of `candidates` that answers a success with the credentials (the cookies of
/// `jar`, or the bearer token) and something else without.
async fn find_access_with(
    probe: &mut Probe,
    jar: Option<&Jar>,
    bearer: Option<&str>,
    candidates: &[String],
) -> Option<Access> {
    for path in candidates {
        let Some(url) = probe.url(path) else {
            continue;
        };
        let mut with = ProbeRequest::get(url.clone());
        if let Some(token) = bearer {
            with = with.header("Authorization", format!("Bearer {token}"));
        }
        let mut cookies = jar.cloned();
        let Ok(a) = probe.send(with, cookies.as_mut()).await else {
            continue;
        };
        if !(200..300).contains(&a.response.status) {
            continue;
        }
        let Ok(b) = probe.send(ProbeRequest::get(url), None).await else {
            continue;
        };
        if b.response.status != a.response.status {
            return Some(Access {
                path: path.clone(),
                allowed: a.response.status,
                denied: b.response.status,
            });
        }
    }
    None
}

/// The logout form of the signed-in page `landing`, sent once.
async fn form_logout(
    probe: &mut Probe,
    landing: &str,
    jar: &mut Jar,
) -> Result<Option<Logout>, DiscoverError> {
    let Some(ex) = probe.get(landing, Some(jar)).await else {
        return Ok(None);
    };
    if !is_html(&ex) {
        return Ok(None);
    }
    let text = ex.response.body_text().into_owned();
    let Some(form) = html::parse(&text).logout_form().cloned() else {
        return Ok(None);
    };
    let Some(action) = probe
        .url(landing)
        .and_then(|u| u.join(&form.action).ok())
        .filter(|u| probe.url(u.as_str()).is_some())
        .map(|u| path_of(&u))
    else {
        return Ok(None);
    };
    let csrf = form.csrf_field().and_then(|(n, v)| csrf_regex(&text, n, v));
    let sent = post_form(probe, &action, &form.hidden, jar).await?;
    Ok(Some(Logout::Form {
        page: landing.to_string(),
        form,
        action,
        csrf,
        status: sent.response.status,
    }))
}

/// The CSRF token for the JSON API: from its CSRF endpoint, with `jar`.
async fn api_csrf(probe: &mut Probe, api: &ApiLogin, jar: &mut Jar) -> Option<String> {
    let (path, property) = api.csrf_source.as_ref()?;
    let ex = probe.get(path, Some(jar)).await?;
    let v: Value = serde_json::from_slice(&ex.response.body).ok()?;
    v.get(property)?.as_str().map(str::to_string)
}

/// A `POST` of the JSON API at `path` with `body` (JSON) and the CSRF header when the login
/// asks for one.
async fn api_post(
    probe: &mut Probe,
    api: &ApiLogin,
    path: &str,
    body: Option<&Value>,
    jar: &mut Jar,
) -> Result<Exchange, DiscoverError> {
    let token = api_csrf(probe, api, jar).await;
    let url = probe.url(path).ok_or_else(|| off_origin(path))?;
    let mut request = ProbeRequest::post(url);
    if let Some(body) = body {
        request = request.body(body.to_string().into_bytes(), "application/json");
    }
    if let (Some(header), Some(token)) = (&api.csrf_header, token) {
        request = request.header(header.clone(), token);
    }
    probe.send(request, Some(jar)).await
}

/// Signs in with the JSON login, then learns the protected resource and the logouts.
async fn learn_api(
    probe: &mut Probe,
    api: &ApiLogin,
    (user, password): &(String, String),
    l: &mut Learned,
) -> Result<(), DiscoverError> {
    let body = serde_json::json!({ &api.user_field: user, &api.password_field: password });
    let mut jar = Jar::new();
    // The pre-login visit: does it hand out the session cookie already?
    let token = api_csrf(probe, api, &mut jar).await;
    let before: Vec<String> = jar.keys().cloned().collect();
    let url = probe.url(&api.path).ok_or_else(|| off_origin(&api.path))?;
    let mut request =
        ProbeRequest::post(url).body(body.to_string().into_bytes(), "application/json");
    if let (Some(header), Some(token)) = (&api.csrf_header, token) {
        request = request.header(header.clone(), token);
    }
    let ex = probe.send(request, Some(&mut jar)).await?;
    l.login_status = Some(ex.response.status);
    l.session_cookies = session_cookies(&ex);
    if l.session_cookies.is_empty() {
        return Err(DiscoverError::LoginFailed(ex.response.status));
    }
    l.anonymous = l.session_cookies.iter().all(|c| before.contains(c));
    let mut candidates = api.protected.clone();
    candidates.extend(PROTECTED_PATHS.iter().map(|p| p.to_string()));
    l.access = find_access(probe, &jar, &candidates).await;
    if let Some(path) = &api.logout {
        let ex = api_post(probe, api, path, None, &mut jar).await?;
        l.logout = Some(Logout::Api {
            path: path.clone(),
            status: ex.response.status,
        });
    }
    if let Some(path) = &api.logout_everywhere {
        // A second session to end everywhere.
        let mut jar = Jar::new();
        let _ = api_post(probe, api, &api.path, Some(&body), &mut jar).await?;
        let ex = api_post(probe, api, path, None, &mut jar).await?;
        l.logout_everywhere = Some(ex.response.status);
    }
    Ok(())
}

/// The scope to ask an OpenID provider for: `openid` (when listed or nothing is listed) and
/// `offline_access` when it advertises refresh tokens (the `refresh_token` grant or the
/// `offline_access` scope).
pub fn oidc_scope(doc: &Value) -> String {
    let list = |key: &str| -> Vec<String> {
        doc.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let scopes = list("scopes_supported");
    let grants = list("grant_types_supported");
    let mut scope = Vec::new();
    if scopes.is_empty() || scopes.iter().any(|s| s == "openid") {
        scope.push("openid");
    }
    if scopes.iter().any(|s| s == "offline_access") || grants.iter().any(|g| g == "refresh_token") {
        scope.push("offline_access");
    }
    scope.join(" ")
}

/// A password grant at the provider's token endpoint (client authentication: HTTP Basic),
/// then the userinfo endpoint with and without the access token.
async fn learn_token(
    probe: &mut Probe,
    doc: &Value,
    (user, password): &(String, String),
    (id, secret): &(String, String),
    l: &mut Learned,
) -> Result<Option<TokenLearned>, DiscoverError> {
    let endpoint = |key: &str| {
        doc.get(key)
            .and_then(Value::as_str)
            .and_then(|u| probe.url(u))
    };
    let Some(token_url) = endpoint("token_endpoint") else {
        l.notes
            .push("the token endpoint is on another origin: not tried".into());
        return Ok(None);
    };
    let userinfo = endpoint("userinfo_endpoint");
    let scope = oidc_scope(doc);
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("scope", &scope),
        ])
        .finish();
    let request = ProbeRequest::post(token_url)
        .body(body.into_bytes(), "application/x-www-form-urlencoded")
        .header("Authorization", format!("Basic {basic}"));
    let ex = probe.send(request, None).await?;
    let answer: Value = serde_json::from_slice(&ex.response.body).unwrap_or(Value::Null);
    let Some(access_token) = answer.get("access_token").and_then(Value::as_str) else {
        l.notes.push(format!(
            "the password grant answered {} without an access token",
            ex.response.status
        ));
        return Ok(None);
    };
    // The userinfo endpoint, else the first common path that takes the token.
    let candidates: Vec<String> = match userinfo {
        Some(url) => vec![path_of(&url)],
        None => PROTECTED_PATHS.iter().map(|p| p.to_string()).collect(),
    };
    let access = find_access_with(probe, None, Some(access_token), &candidates).await;
    if access.is_none() {
        l.notes
            .push("no resource answered differently with and without the access token".into());
    }
    Ok(Some(TokenLearned {
        scope,
        refresh: answer.get("refresh_token").is_some(),
        access,
    }))
}
