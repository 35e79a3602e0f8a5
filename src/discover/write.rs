//! The profile `init --url` writes from a [`Discovery`]: every value with a comment saying
//! where it came from. Pure: no I/O. The text parses as a profile (tests check it).

use std::fmt::Write as _;

use super::learn::{Access, Logout, oidc_scope};
use super::{CsrfField, Discovery, FormLogin, OIDC_DISCOVERY};

/// The highest `max_rps` init writes, and the lowest.
const MAX_RPS: (u64, u64) = (5, 50);

/// What the profile needs besides the discovery: the user, the environment variables that
/// hold the secrets, and the OAuth client id.
#[derive(Debug, Clone)]
pub struct Names {
    /// The user name signed in with (or a placeholder).
    pub user: String,
    /// The variable holding the password.
    pub password_env: String,
    /// The OAuth client id, when known.
    pub client_id: Option<String>,
    /// The variable holding the client secret.
    pub client_secret_env: String,
}

/// A double-quoted YAML (JSON) string.
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A single-quoted YAML string (nothing is escaped in it but `'`).
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The commented profile for `d`; `None` when nothing was found to sign in with (the caller
/// falls back to the skeleton).
pub fn write_profile(d: &Discovery, names: &Names) -> Option<String> {
    let cookie_login = d.form_login.is_some() || d.api_login.is_some();
    if !cookie_login && d.oidc.is_none() {
        return None;
    }
    let mut out = String::new();
    head(&mut out, d, names);
    if cookie_login {
        session(&mut out, d);
        out.push_str("flows:\n");
        match &d.form_login {
            Some(fl) => form_flows(&mut out, d, fl),
            None => api_flows(&mut out, d),
        }
        access(&mut out, d.learned.access.as_ref(), "  ", None);
    } else {
        out.push_str(
            "# No login page, login form or OpenAPI login was found: no cookie-session flows.\n\n",
        );
    }
    if let Some(doc) = &d.oidc {
        let mut section = String::new();
        token(&mut section, d, doc, names);
        let l = &d.learned;
        let attempted = l.login_status.is_some() || l.token.is_some();
        let works = l.token.as_ref().is_some_and(|t| t.access.is_some());
        let known = names.client_id.is_some() && (!attempted || works);
        if cookie_login && !known {
            // A placeholder client, or a token no resource was seen to accept, would make
            // every token rule fail: the section stays commented out.
            out.push_str(if names.client_id.is_none() {
                "\n# The service is also an OpenID provider; with its OAuth client (init --client-id ID\n# --client-secret-env VAR) init writes this section for the token rules:\n"
            } else {
                "\n# The service is also an OpenID provider, but no resource was seen to accept its access\n# token: set token.access, then uncomment this section for the token rules:\n"
            });
            for line in section.lines().filter(|l| !l.is_empty()) {
                let _ = writeln!(out, "# {line}");
            }
        } else {
            out.push_str(&section);
        }
    }
    tail(&mut out, d);
    Some(out)
}

fn head(out: &mut String, d: &Discovery, names: &Names) {
    let gets = d.sent.iter().filter(|s| s.starts_with("GET ")).count();
    let _ = writeln!(
        out,
        "# authprobe profile written by `authprobe init --url {}`{}.",
        d.base,
        if d.learned.login_status.is_some() || d.learned.token.is_some() {
            " --login"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "# Discovery sent {} requests ({gets} GET, the rest the login and logout), all to this origin.",
        d.sent.len()
    );
    out.push_str("# Each value says where it came from. Check it with `authprobe validate FILE`, run it with\n# `authprobe check --profile FILE`.\n");
    for note in &d.learned.notes {
        let _ = writeln!(out, "# NOTE: {note}");
    }
    let _ = writeln!(out, "name: {}", q(d.base.host_str().unwrap_or("service")));
    let _ = writeln!(out, "base_url: {}\n", d.base.as_str().trim_end_matches('/'));
    out.push_str("# The password comes from the environment, never from this file.\n");
    let _ = writeln!(
        out,
        "users:\n  alice: {{username: {}, password: {{env: {}}}}}",
        q(&names.user),
        names.password_env
    );
    out.push_str("  # bob: {username: ..., password: {env: BOB_PASSWORD}}   # a second user enables the cross-user rules\n\n");
}

fn session(out: &mut String, d: &Discovery) {
    let l = &d.learned;
    match l.session_cookies.as_slice() {
        [] => out.push_str("# session: {cookie: NAME}   # not learned (run init with --login); omitted, authprobe detects it\n\n"),
        [one] => {
            let _ = writeln!(
                out,
                "# The cookie the login answer set ({}).\nsession:\n  cookie: {}\n",
                login_answer(d),
                q(one)
            );
        }
        many => {
            let list: Vec<String> = many.iter().map(|c| q(c)).collect();
            let _ = writeln!(
                out,
                "# The cookies the login answer set ({}); they travel together.\nsession:\n  cookies: [{}]\n",
                login_answer(d),
                list.join(", ")
            );
        }
    }
    if !d.csrf_cookies.is_empty() {
        let _ = writeln!(
            out,
            "# CSRF cookies seen (not the session): {}\n",
            d.csrf_cookies.join(", ")
        );
    }
}

fn login_answer(d: &Discovery) -> String {
    let path = d
        .form_login
        .as_ref()
        .map(|f| f.action.clone())
        .or_else(|| d.api_login.as_ref().map(|(_, a)| a.path.clone()))
        .unwrap_or_default();
    match d.learned.login_status {
        Some(s) => format!("POST {path} answered {s}"),
        None => format!("POST {path}"),
    }
}

/// A `GET page` step that reads `csrf` into `{{csrf}}`.
fn get_with_csrf(out: &mut String, page: &str, csrf: Option<&CsrfField>) {
    let _ = writeln!(out, "    - request: {{method: GET, path: {}}}", q(page));
    if let Some(c) = csrf {
        let _ = writeln!(
            out,
            "      extract: {{csrf: {}}}",
            sq(&format!("regex:{}", c.regex))
        );
    }
}

/// A `POST` form step: the hidden fields (the CSRF one as `{{csrf}}`) and `more`.
fn post_form(
    out: &mut String,
    action: &str,
    hidden: &[(String, String)],
    csrf: Option<&CsrfField>,
    more: &[(String, &str)],
    status: Option<u16>,
) {
    let mut fields: Vec<String> = hidden
        .iter()
        .map(|(n, v)| match csrf {
            Some(c) if c.name == *n => format!("{}: \"{{{{csrf}}}}\"", q(n)),
            _ => format!("{}: {}", q(n), q(v)),
        })
        .collect();
    fields.extend(more.iter().map(|(n, v)| format!("{}: {}", q(n), q(v))));
    let _ = writeln!(
        out,
        "    - request:\n        method: POST\n        path: {}\n        form: {{{}}}",
        q(action),
        fields.join(", ")
    );
    status_line_or(out, status, "200, 302, 303");
}

fn form_flows(out: &mut String, d: &Discovery, fl: &FormLogin) {
    let l = &d.learned;
    if l.anonymous {
        out.push_str("  # The login page hands out the session cookie before login (the fixation checks plant it).\n  anonymous:\n");
        let _ = writeln!(out, "    - request: {{method: GET, path: {}}}", q(&fl.page));
    }
    let naming = fl
        .csrf
        .as_ref()
        .map(|c| format!("hidden CSRF field `{}`{}", c.name, framework(&c.name)))
        .unwrap_or_else(|| "no hidden CSRF field".into());
    let _ = writeln!(
        out,
        "  # The login form of {} ({naming}), posted as a browser does.\n  login:",
        fl.page
    );
    get_with_csrf(out, &fl.page, fl.csrf.as_ref());
    let user = fl.form.user.clone().unwrap_or_default();
    let password = fl.form.password.clone().unwrap_or_default();
    post_form(
        out,
        &fl.action,
        &fl.form.hidden,
        fl.csrf.as_ref(),
        &[(user, "{{user.username}}"), (password, "{{user.password}}")],
        l.login_status,
    );
    match &l.logout {
        Some(Logout::Form {
            page,
            form,
            action,
            csrf,
            status,
        }) => {
            let _ = writeln!(
                out,
                "  # The logout form of the signed-in page {page}.\n  logout:"
            );
            get_with_csrf(out, page, csrf.as_ref());
            post_form(out, action, &form.hidden, csrf.as_ref(), &[], Some(*status));
        }
        _ => out.push_str("  # logout: not found (no logout form on the page the login led to)\n"),
    }
}

/// Which framework names its CSRF field so, for the comment.
fn framework(field: &str) -> &'static str {
    match field {
        "csrfmiddlewaretoken" => ", Django's naming",
        "authenticity_token" => ", Rails' naming",
        "_token" => ", Laravel's naming",
        "__RequestVerificationToken" => ", ASP.NET's naming",
        "_csrf" => ", Spring's or Express' naming",
        _ => "",
    }
}

fn api_flows(out: &mut String, d: &Discovery) {
    let Some((doc_path, api)) = &d.api_login else {
        return;
    };
    let l = &d.learned;
    let csrf_step = |out: &mut String| {
        if let Some((path, prop)) = &api.csrf_source {
            let _ = writeln!(
                out,
                "    - request: {{method: GET, path: {}}}\n      extract: {{csrf: {}}}",
                q(path),
                q(&format!("json:/{prop}"))
            );
        }
    };
    let headers = match (&api.csrf_header, &api.csrf_source) {
        (Some(h), Some(_)) => format!(", headers: {{{}: \"{{{{csrf}}}}\"}}", q(h)),
        _ => String::new(),
    };
    if l.anonymous {
        out.push_str("  # The CSRF endpoint hands out the session cookie before login (the fixation checks plant it).\n  anonymous:\n");
        csrf_step(out);
    }
    let _ = writeln!(
        out,
        "  # The JSON login {doc_path} describes{}.\n  login:",
        api.csrf_header
            .as_ref()
            .map(|h| format!(", with its CSRF header {h}"))
            .unwrap_or_default()
    );
    csrf_step(out);
    let _ = writeln!(
        out,
        "    - request:\n        method: POST\n        path: {}\n        json: {{{}: \"{{{{user.username}}}}\", {}: \"{{{{user.password}}}}\"}}{}",
        q(&api.path),
        q(&api.user_field),
        q(&api.password_field),
        headers.replace(", headers:", "\n        headers:")
    );
    status_line(out, l.login_status);
    let mut end = |name: &str, path: &Option<String>, status: Option<u16>| {
        let Some(path) = path else { return };
        let _ = writeln!(out, "  {name}:");
        csrf_step(out);
        let _ = writeln!(
            out,
            "    - request: {{method: POST, path: {}{headers}}}",
            q(path)
        );
        status_line(out, status);
    };
    let logout_status = match &l.logout {
        Some(Logout::Api { status, .. }) => Some(*status),
        _ => None,
    };
    end("logout", &api.logout, logout_status);
    end(
        "logout_everywhere",
        &api.logout_everywhere,
        l.logout_everywhere,
    );
}

fn status_line(out: &mut String, status: Option<u16>) {
    status_line_or(out, status, "200, 204, 302, 303");
}

/// A step's `expect_status`: the status learned at discovery, else `unlearned` (a list).
fn status_line_or(out: &mut String, status: Option<u16>, unlearned: &str) {
    match status {
        Some(s) => {
            let _ = writeln!(
                out,
                "      expect_status: [{s}]   # what it answered at discovery"
            );
        }
        None => {
            let _ = writeln!(
                out,
                "      expect_status: [{unlearned}]   # not learned: run init with --login"
            );
        }
    }
}

/// The `access` section at `indent`; `bearer` names the token variable.
fn access(out: &mut String, a: Option<&Access>, indent: &str, bearer: Option<&str>) {
    let headers = bearer
        .map(|v| format!(", headers: {{Authorization: \"Bearer {{{{{v}}}}}\"}}"))
        .unwrap_or_default();
    match a {
        Some(a) => {
            let denied = denied_statuses(a.denied);
            let _ = writeln!(
                out,
                "{indent}# {} answered {} with the credentials and {} without.\n{indent}access:\n{indent}  request: {{method: GET, path: {}{headers}}}\n{indent}  allowed: {{status: [{}]}}\n{indent}  denied: {{status: [{denied}]}}",
                a.path,
                a.allowed,
                a.denied,
                q(&a.path),
                a.allowed
            );
        }
        None => {
            let _ = writeln!(
                out,
                "{indent}# NOTE: no protected resource was confirmed (run init with --login); a common guess:\n{indent}access:\n{indent}  request: {{method: GET, path: /api/me{headers}}}\n{indent}  allowed: {{status: [200]}}\n{indent}  denied: {{status: [401, 403]}}"
            );
        }
    }
}

/// The denied statuses for an observed refusal: 401 and 403 together, anything else (a
/// redirect to the login page, a 404) as seen.
fn denied_statuses(seen: u16) -> String {
    match seen {
        401 | 403 => "401, 403".to_string(),
        s => s.to_string(),
    }
}

fn token(out: &mut String, d: &Discovery, doc: &serde_json::Value, names: &Names) {
    let learned = d.learned.token.as_ref();
    let scope = learned
        .map(|t| t.scope.clone())
        .unwrap_or_else(|| oidc_scope(doc));
    let why = if scope.contains("offline_access") {
        "offline_access: the provider advertises refresh tokens"
    } else {
        "no refresh tokens advertised"
    };
    let _ = writeln!(
        out,
        "\n# Access tokens from the OpenID provider at {OIDC_DISCOVERY}; authprobe reads its endpoints at\n# run time and derives the password grant, the refresh grant and the revocation from them."
    );
    out.push_str("token:\n  oauth:\n");
    let _ = writeln!(out, "    discovery: {OIDC_DISCOVERY}\n    grant: password");
    match &names.client_id {
        Some(id) => {
            let _ = writeln!(
                out,
                "    client: {{id: {}, secret: {{env: {}}}, auth: basic}}",
                q(id),
                names.client_secret_env
            );
        }
        None => {
            let _ = writeln!(
                out,
                "    # NOTE: the OAuth client is not discoverable: set its id (init --client-id) and its secret's variable.\n    client: {{id: CLIENT_ID, secret: {{env: {}}}, auth: basic}}",
                names.client_secret_env
            );
        }
    }
    let _ = writeln!(out, "    scope: {}   # {why}", q(&scope));
    if let Some(t) = learned {
        let _ = writeln!(
            out,
            "  # The password grant at discovery gave an access token{}.",
            if t.refresh {
                " and a refresh token"
            } else {
                " and no refresh token"
            }
        );
    }
    out.push_str("  from: access_token\n");
    let userinfo = learned.and_then(|t| t.access.clone()).or_else(|| {
        let u = doc.get("userinfo_endpoint")?.as_str()?;
        let u = d
            .base
            .join(u)
            .ok()
            .filter(|u| u.origin() == d.base.origin())?;
        Some(Access {
            path: u.path().to_string(),
            allowed: 200,
            denied: 401,
        })
    });
    access(out, userinfo.as_ref(), "  ", Some("access_token"));
    if let Some(jwks) = doc.get("jwks_uri").and_then(|v| v.as_str())
        && let Ok(u) = d.base.join(jwks)
        && u.origin() == d.base.origin()
    {
        let keys = d
            .jwks_keys
            .map(|n| format!(" ({n} keys)"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  jwks_url: {}   # the discovery's jwks_uri{keys}",
            q(u.path())
        );
    }
}

fn tail(out: &mut String, d: &Discovery) {
    if !d.pages.is_empty() {
        let pages: Vec<String> = d.pages.iter().map(|p| q(p)).collect();
        let _ = writeln!(
            out,
            "\n# The public HTML pages seen (their CSP is checked).\npages: [{}]",
            pages.join(", ")
        );
    }
    let latency = d.median_latency_ms.unwrap_or(0);
    let rps = (500 / latency.max(1)).clamp(MAX_RPS.0, MAX_RPS.1);
    let _ = writeln!(
        out,
        "\n# max_rps: the median answer at discovery took {latency} ms; {rps} requests a second keep at most\n# about half of one server worker busy ({} - {} allowed). Raise it for a service with more workers.",
        MAX_RPS.0, MAX_RPS.1
    );
    let _ = writeln!(
        out,
        "limits: {{max_rps: {rps}, max_requests: 10000, timeout: 10s}}"
    );
}
