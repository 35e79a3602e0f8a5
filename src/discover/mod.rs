//! `authprobe init --url`: find out how a service signs users in, and write a profile that
//! `check` runs without edits.
//!
//! Without credentials it sends only GET requests (HEAD and OPTIONS would be allowed too),
//! all to the service's origin: the base page and the login page it links to (or the first of
//! the common login paths that has a login form), a published OpenAPI document, the OpenID
//! Connect discovery document and its JWKS. With credentials ([`Options::login`]) it signs in
//! once to learn the session cookie (or the tokens), the protected resource and what it
//! answers with and without credentials, and the logout.
//!
//! This module owns the discovery and the profile text it writes ([`write_profile`]). It must
//! not print (the binary says what happened) and must not send anything to another origin.

mod html;
mod learn;
mod openapi;
mod probe;
mod write;

use url::Url;

use crate::http::Client;

pub use html::{CSRF_FIELDS, Form, Page, is_csrf_field};
pub use openapi::ApiLogin;
pub use probe::DiscoverError;
pub use write::{Names, write_profile};

use probe::{Jar, Probe, is_html, set_cookies};

/// Paths where login pages commonly live, tried in order when the base page links to none.
pub const LOGIN_PATHS: [&str; 8] = [
    "/login",
    "/signin",
    "/users/sign_in",
    "/accounts/login/",
    "/auth/login",
    "/account/login",
    "/Identity/Account/Login",
    "/user/login",
];

/// Where OpenAPI documents are commonly published.
pub const OPENAPI_PATHS: [&str; 4] = [
    "/openapi.json",
    "/v3/api-docs",
    "/swagger.json",
    "/api/openapi.json",
];

/// Common paths of a protected resource, tried in order.
pub const PROTECTED_PATHS: [&str; 6] = [
    "/api/me",
    "/api/user",
    "/me",
    "/account",
    "/profile",
    "/dashboard",
];

/// The OpenID Connect discovery path (RFC 8414 metadata uses the same shape).
pub const OIDC_DISCOVERY: &str = "/.well-known/openid-configuration";

/// Cookie names that carry a CSRF token rather than a session.
pub fn is_csrf_cookie(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("csrf") || lower.contains("xsrf") || lower.contains("antiforgery")
}

/// What to discover with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Sign in once with these credentials (user name, password).
    pub login: Option<(String, String)>,
    /// The OAuth client for a password grant, when the service is an OpenID provider: id and
    /// secret.
    pub client: Option<(String, String)>,
}

/// A login form found on a page.
#[derive(Debug, Clone)]
pub struct FormLogin {
    /// The page's path.
    pub page: String,
    /// The form.
    pub form: Form,
    /// The form's target path.
    pub action: String,
    /// How to read the CSRF field from the page, when the form has one.
    pub csrf: Option<CsrfField>,
}

/// A hidden CSRF field and a pattern that reads its value from the page's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfField {
    /// The field's name.
    pub name: String,
    /// A regular expression whose first group is the value (checked against the page).
    pub regex: String,
}

/// What discovery found.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The base URL.
    pub base: Url,
    /// Public HTML pages seen (paths).
    pub pages: Vec<String>,
    /// The login form, if a page has one.
    pub form_login: Option<FormLogin>,
    /// The JSON login a published OpenAPI document describes, and the document's path.
    pub api_login: Option<(String, ApiLogin)>,
    /// The OpenID Connect discovery document.
    pub oidc: Option<serde_json::Value>,
    /// How many keys the JWKS holds, when it was fetched.
    pub jwks_keys: Option<usize>,
    /// CSRF cookies the service sets.
    pub csrf_cookies: Vec<String>,
    /// What signing in taught (with [`Options::login`]).
    pub learned: learn::Learned,
    /// `METHOD path` of every request sent, in order.
    pub sent: Vec<String>,
    /// The median response time seen, in milliseconds.
    pub median_latency_ms: Option<u64>,
}

pub use learn::{Access, Learned, Logout, TokenLearned, oidc_scope};

/// Discovers how `base` signs users in, with `client` (limited to `base`'s origin).
pub async fn discover(
    client: Client,
    base: Url,
    options: &Options,
) -> Result<Discovery, DiscoverError> {
    let mut probe = Probe::new(client, base.clone(), options.login.is_some());
    let mut d = Discovery {
        base: base.clone(),
        pages: Vec::new(),
        form_login: None,
        api_login: None,
        oidc: None,
        jwks_keys: None,
        csrf_cookies: Vec::new(),
        learned: Learned::default(),
        sent: Vec::new(),
        median_latency_ms: None,
    };
    let root = probe
        .send(crate::http::ProbeRequest::get(base.clone()), None)
        .await?;
    if root.response.status >= 500 {
        return Err(DiscoverError::Unreachable {
            url: base.to_string(),
            status: root.response.status,
        });
    }
    let root_text = root.response.body_text().into_owned();
    let root_page = is_html(&root).then(|| html::parse(&root_text));
    if root.response.status == 200 && root_page.is_some() {
        d.pages.push(path_of(&base));
    }
    let root = root_page.as_ref().map(|p| (p, root_text.as_str()));
    find_login_form(&mut probe, &mut d, root).await;
    find_openapi(&mut probe, &mut d).await;
    find_oidc(&mut probe, &mut d).await;
    if let Some(creds) = &options.login {
        d.learned = learn::learn(&mut probe, &d, creds, options.client.as_ref()).await?;
    }
    d.median_latency_ms = probe.median_latency();
    d.sent = probe.sent;
    Ok(d)
}

/// The path (and query) of `u`.
fn path_of(u: &Url) -> String {
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

/// The login page: the base page itself, a page it links to, or the first common path with a
/// login form.
async fn find_login_form(probe: &mut Probe, d: &mut Discovery, root: Option<(&Page, &str)>) {
    if let Some((page, text)) = root
        && let Some(found) = login_on(probe, &path_of(&d.base), page, Some(text))
    {
        d.form_login = Some(found);
        return;
    }
    let links = root.map(|(p, _)| p.login_links.clone()).unwrap_or_default();
    let candidates = links
        .iter()
        .map(String::as_str)
        .chain(LOGIN_PATHS)
        .filter_map(|p| probe.url(p))
        .map(|u| path_of(&u));
    let candidates: Vec<String> = candidates.collect();
    for path in candidates {
        let mut jar = Jar::new();
        let Some(ex) = probe.get(&path, Some(&mut jar)).await else {
            continue;
        };
        if ex.response.status != 200 || !is_html(&ex) {
            continue;
        }
        let text = ex.response.body_text().into_owned();
        let page = html::parse(&text);
        if let Some(found) = login_on(probe, &path, &page, Some(&text)) {
            d.pages.push(path);
            d.csrf_cookies = set_cookies(&ex)
                .into_iter()
                .map(|(n, _)| n)
                .filter(|n| is_csrf_cookie(n))
                .collect();
            d.form_login = Some(found);
            return;
        }
    }
}

/// The login form of `page` (at `path`, whose text is `text` when known), with its target on
/// the service's origin.
fn login_on(probe: &Probe, path: &str, page: &Page, text: Option<&str>) -> Option<FormLogin> {
    let form = page.login_form()?.clone();
    let page_url = probe.url(path)?;
    let action = page_url.join(&form.action).ok()?;
    probe.url(action.as_str())?;
    let csrf = form
        .csrf_field()
        .and_then(|(name, value)| csrf_regex(text.unwrap_or(""), name, value));
    Some(FormLogin {
        page: path.to_string(),
        action: path_of(&action),
        form,
        csrf,
    })
}

/// A pattern that reads hidden field `name`'s value from `text`: the attribute orders
/// frameworks write, the first that finds `value` in `text`.
pub fn csrf_regex(text: &str, name: &str, value: &str) -> Option<CsrfField> {
    let n = regex::escape(name);
    let candidates = [
        format!(r#"name="{n}"[^>]*value="([^"]*)""#),
        format!(r#"value="([^"]*)"[^>]*name="{n}""#),
        format!(r#"name='{n}'[^>]*value='([^']*)'"#),
    ];
    candidates.into_iter().find_map(|pattern| {
        let re = regex::Regex::new(&pattern).ok()?;
        let found = re.captures(text)?.get(1)?.as_str() == value;
        found.then(|| CsrfField {
            name: name.to_string(),
            regex: pattern,
        })
    })
}

/// A published OpenAPI document with a JSON login.
async fn find_openapi(probe: &mut Probe, d: &mut Discovery) {
    for path in OPENAPI_PATHS {
        let Some(ex) = probe.get(path, None).await else {
            continue;
        };
        if ex.response.status != 200 {
            continue;
        }
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&ex.response.body) else {
            continue;
        };
        if let Some(login) = openapi::login(&doc) {
            d.api_login = Some((path.to_string(), login));
            return;
        }
    }
}

/// The OpenID Connect discovery document and its JWKS.
async fn find_oidc(probe: &mut Probe, d: &mut Discovery) {
    let Some(ex) = probe.get(OIDC_DISCOVERY, None).await else {
        return;
    };
    let doc = match serde_json::from_slice::<serde_json::Value>(&ex.response.body) {
        Ok(v) if ex.response.status == 200 && v.get("token_endpoint").is_some() => v,
        _ => return,
    };
    if let Some(jwks) = doc.get("jwks_uri").and_then(|v| v.as_str())
        && probe.url(jwks).is_some()
        && let Some(ex) = probe.get(jwks, None).await
        && let Ok(keys) = serde_json::from_slice::<serde_json::Value>(&ex.response.body)
    {
        d.jwks_keys = keys.get("keys").and_then(|k| k.as_array()).map(Vec::len);
    }
    d.oidc = Some(doc);
}
