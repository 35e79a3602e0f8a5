//! Login front-ends: how a user signs in, in the shape common web frameworks give it — an HTML
//! login page whose form carries a hidden CSRF field (and a CSRF cookie) in the naming of
//! Django, Rails, Laravel, Spring, ASP.NET Core or Express; a JSON login with a CSRF header,
//! published in an OpenAPI document; or an OpenID Connect provider whose discovery document
//! names the userinfo endpoint and `offline_access`.
//!
//! A front-end is legitimate variation, neither a flaw nor a quirk: the promises behind it are
//! the session core's (`session`) and the token core's, unchanged. This file owns the closed
//! list of front-ends, their names, the framework naming of each HTML one (paths, form fields,
//! cookies, status codes), and the pages they render. It must not serve anything (the routes
//! are `login_pages`'), must not know rule ids and
//! must not panic on anything a client sends.

use std::fmt;
use std::str::FromStr;

/// One way of signing in the testbed can be started with (`--front-end NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FrontEnd {
    /// Django's `django.contrib.auth` login view.
    Django,
    /// Rails with Devise.
    Rails,
    /// Laravel (Breeze).
    Laravel,
    /// Spring Security's form login.
    Spring,
    /// ASP.NET Core Identity.
    AspNet,
    /// Express with `express-session` and a CSRF middleware.
    Express,
    /// A JSON login with a CSRF header, published in `/openapi.json`.
    Json,
    /// An OpenID Connect provider: discovery with `userinfo_endpoint` and `offline_access`.
    Oidc,
}

/// A `--front-end` name that is not one of [`FrontEnd::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown front-end `{0}`; one of: {names}", names = FrontEnd::names())]
pub struct UnknownFrontEnd(pub String);

impl FrontEnd {
    /// Every front-end, in declaration order.
    pub const ALL: [FrontEnd; 8] = [
        FrontEnd::Django,
        FrontEnd::Rails,
        FrontEnd::Laravel,
        FrontEnd::Spring,
        FrontEnd::AspNet,
        FrontEnd::Express,
        FrontEnd::Json,
        FrontEnd::Oidc,
    ];

    /// The `--front-end` spelling.
    pub fn name(self) -> &'static str {
        match self {
            FrontEnd::Django => "django",
            FrontEnd::Rails => "rails",
            FrontEnd::Laravel => "laravel",
            FrontEnd::Spring => "spring",
            FrontEnd::AspNet => "aspnet",
            FrontEnd::Express => "express",
            FrontEnd::Json => "json",
            FrontEnd::Oidc => "oidc",
        }
    }

    /// One line: what signing in looks like.
    pub fn description(self) -> &'static str {
        match self {
            FrontEnd::Django => {
                "HTML form at /accounts/login/, csrfmiddlewaretoken + csrftoken cookie, session cookie __Host-sessionid"
            }
            FrontEnd::Rails => {
                "HTML form at /users/sign_in (Devise), authenticity_token + <meta name=\"csrf-token\">, session cookie __Host-_app_session"
            }
            FrontEnd::Laravel => {
                "HTML form at /login, _token + XSRF-TOKEN cookie, session cookie __Host-laravel_session"
            }
            FrontEnd::Spring => {
                "HTML form at /login, _csrf + XSRF-TOKEN cookie, session cookie __Host-JSESSIONID"
            }
            FrontEnd::AspNet => {
                "HTML form at /Identity/Account/Login, __RequestVerificationToken + .AspNetCore.Antiforgery.* cookie, session cookie __Host-.AspNetCore.Cookies"
            }
            FrontEnd::Express => "HTML form at /login, _csrf, session cookie __Host-connect.sid",
            FrontEnd::Json => {
                "JSON login at POST /api/login with X-CSRF-Token from GET /api/csrf, described in /openapi.json"
            }
            FrontEnd::Oidc => {
                "OpenID Connect provider: discovery names userinfo_endpoint and offline_access"
            }
        }
    }

    fn names() -> String {
        let names: Vec<&str> = FrontEnd::ALL.iter().map(|f| f.name()).collect();
        names.join(", ")
    }

    /// The HTML login of a framework front-end; `None` for `json` and `oidc`.
    pub(super) fn html(self) -> Option<&'static HtmlLogin> {
        Some(match self {
            FrontEnd::Django => &DJANGO,
            FrontEnd::Rails => &RAILS,
            FrontEnd::Laravel => &LARAVEL,
            FrontEnd::Spring => &SPRING,
            FrontEnd::AspNet => &ASPNET,
            FrontEnd::Express => &EXPRESS,
            FrontEnd::Json | FrontEnd::Oidc => return None,
        })
    }
}

impl fmt::Display for FrontEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FrontEnd {
    type Err = UnknownFrontEnd;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FrontEnd::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFrontEnd(s.to_string()))
    }
}

/// A framework's HTML login: where its pages are and how it names things. The session cookie
/// carries the framework's name behind `__Host-` (every framework lets the name be set, and
/// the reference service keeps the prefix).
pub(super) struct HtmlLogin {
    /// The login page (GET) and the form's target (POST).
    pub(super) login_path: &'static str,
    /// Where the logout form posts.
    pub(super) logout_path: &'static str,
    /// The signed-in landing page (where a login redirects), with the logout form.
    pub(super) home_path: &'static str,
    /// The hidden form field with the CSRF token.
    pub(super) csrf_field: &'static str,
    /// The cookie that also carries the CSRF token, for scripts (not HttpOnly).
    pub(super) csrf_cookie: Option<&'static str>,
    /// Whether the pages carry `<meta name="csrf-token">` (Rails).
    pub(super) csrf_meta: bool,
    /// The session cookie and, under `signed-cookie-pair`, its signature cookie.
    pub(super) session_cookie: &'static str,
    pub(super) signature_cookie: &'static str,
    /// The form fields of the user name and the password.
    pub(super) user_field: &'static str,
    pub(super) password_field: &'static str,
    /// A further hidden field of the logout form (Rails' `_method`).
    pub(super) logout_extra: Option<(&'static str, &'static str)>,
    /// The answer to a login with the wrong password (the form again, with an error).
    pub(super) bad_login: u16,
    /// The answer to a POST without the right CSRF token.
    pub(super) csrf_refused: u16,
    /// The answer to a good login (a redirect to `home_path`).
    pub(super) signed_in: u16,
    /// How a hidden input is written (`{name}`, `{value}`): attribute orders differ.
    pub(super) hidden: &'static str,
    /// The page title.
    pub(super) title: &'static str,
}

const DJANGO: HtmlLogin = HtmlLogin {
    login_path: "/accounts/login/",
    logout_path: "/accounts/logout/",
    home_path: "/accounts/profile/",
    csrf_field: "csrfmiddlewaretoken",
    csrf_cookie: Some("csrftoken"),
    csrf_meta: false,
    session_cookie: "__Host-sessionid",
    signature_cookie: "__Host-sessionid.sig",
    user_field: "username",
    password_field: "password",
    logout_extra: None,
    bad_login: 200,
    csrf_refused: 403,
    signed_in: 302,
    hidden: "<input type=\"hidden\" name=\"{name}\" value=\"{value}\">",
    title: "Log in",
};

const RAILS: HtmlLogin = HtmlLogin {
    login_path: "/users/sign_in",
    logout_path: "/users/sign_out",
    home_path: "/dashboard",
    csrf_field: "authenticity_token",
    csrf_cookie: None,
    csrf_meta: true,
    session_cookie: "__Host-_app_session",
    signature_cookie: "__Host-_app_session.sig",
    user_field: "user[email]",
    password_field: "user[password]",
    logout_extra: Some(("_method", "delete")),
    bad_login: 422,
    csrf_refused: 422,
    signed_in: 303,
    hidden: "<input type=\"hidden\" name=\"{name}\" value=\"{value}\" autocomplete=\"off\" />",
    title: "Sign in",
};

const LARAVEL: HtmlLogin = HtmlLogin {
    login_path: "/login",
    logout_path: "/logout",
    home_path: "/dashboard",
    csrf_field: "_token",
    csrf_cookie: Some("XSRF-TOKEN"),
    csrf_meta: false,
    session_cookie: "__Host-laravel_session",
    signature_cookie: "__Host-laravel_session.sig",
    user_field: "email",
    password_field: "password",
    logout_extra: None,
    bad_login: 200,
    csrf_refused: 419,
    signed_in: 302,
    hidden: "<input type=\"hidden\" name=\"{name}\" value=\"{value}\" autocomplete=\"off\">",
    title: "Log in",
};

const SPRING: HtmlLogin = HtmlLogin {
    login_path: "/login",
    logout_path: "/logout",
    home_path: "/home",
    csrf_field: "_csrf",
    csrf_cookie: Some("XSRF-TOKEN"),
    csrf_meta: false,
    session_cookie: "__Host-JSESSIONID",
    signature_cookie: "__Host-JSESSIONID.sig",
    user_field: "username",
    password_field: "password",
    logout_extra: None,
    bad_login: 200,
    csrf_refused: 403,
    signed_in: 302,
    hidden: "<input name=\"{name}\" type=\"hidden\" value=\"{value}\" />",
    title: "Please sign in",
};

const ASPNET: HtmlLogin = HtmlLogin {
    login_path: "/Identity/Account/Login",
    logout_path: "/Identity/Account/Logout",
    home_path: "/Identity/Account/Manage",
    csrf_field: "__RequestVerificationToken",
    csrf_cookie: Some(".AspNetCore.Antiforgery.VyLW6ORzMgk"),
    csrf_meta: false,
    session_cookie: "__Host-.AspNetCore.Cookies",
    signature_cookie: "__Host-.AspNetCore.Cookies.sig",
    user_field: "Input.Email",
    password_field: "Input.Password",
    logout_extra: None,
    bad_login: 200,
    csrf_refused: 400,
    signed_in: 302,
    hidden: "<input name=\"{name}\" type=\"hidden\" value=\"{value}\" />",
    title: "Log in",
};

const EXPRESS: HtmlLogin = HtmlLogin {
    login_path: "/login",
    logout_path: "/logout",
    home_path: "/profile",
    csrf_field: "_csrf",
    csrf_cookie: None,
    csrf_meta: false,
    session_cookie: "__Host-connect.sid",
    signature_cookie: "__Host-connect.sid.sig",
    user_field: "username",
    password_field: "password",
    logout_extra: None,
    bad_login: 200,
    csrf_refused: 403,
    signed_in: 302,
    hidden: "<input type=\"hidden\" name=\"{name}\" value=\"{value}\">",
    title: "Sign in",
};

impl HtmlLogin {
    fn hidden_input(&self, name: &str, value: &str) -> String {
        self.hidden
            .replace("{name}", name)
            .replace("{value}", value)
    }

    fn head(&self, title: &str, csrf: &str) -> String {
        let meta = if self.csrf_meta {
            format!(
                "<meta name=\"csrf-param\" content=\"{}\">\n<meta name=\"csrf-token\" content=\"{csrf}\">\n",
                self.csrf_field
            )
        } else {
            String::new()
        };
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
             <title>{title}</title>\n{meta}</head><body>\n"
        )
    }

    /// The login page with its form; `error` says the last attempt failed.
    pub(super) fn login_page(&self, csrf: &str, error: bool) -> String {
        let error = if error {
            "<p class=\"error\">Please enter a correct user name and password.</p>\n"
        } else {
            ""
        };
        format!(
            "{head}<h1>{title}</h1>\n{error}\
             <form method=\"post\" action=\"{action}\" accept-charset=\"UTF-8\">\n{hidden}\n\
             <label for=\"user\">User name</label>\n\
             <input type=\"text\" id=\"user\" name=\"{user}\" autocomplete=\"username\" required>\n\
             <label for=\"password\">Password</label>\n\
             <input type=\"password\" id=\"password\" name=\"{password}\" autocomplete=\"current-password\" required>\n\
             <button type=\"submit\">{title}</button>\n</form>\n</body></html>\n",
            head = self.head(self.title, csrf),
            title = self.title,
            action = self.login_path,
            hidden = self.hidden_input(self.csrf_field, csrf),
            user = self.user_field,
            password = self.password_field,
        )
    }

    /// The signed-in landing page with the logout form.
    pub(super) fn home_page(&self, user: &str, csrf: &str) -> String {
        let extra = self
            .logout_extra
            .map(|(n, v)| self.hidden_input(n, v))
            .unwrap_or_default();
        // Demo user names are letters and digits only: nothing to escape.
        format!(
            "{head}<h1>Welcome</h1>\n<p>Signed in as <code>{user}</code>.</p>\n\
             <form method=\"post\" action=\"{action}\">\n{extra}{hidden}\n\
             <button type=\"submit\">Log out</button>\n</form>\n</body></html>\n",
            head = self.head("Dashboard", csrf),
            action = self.logout_path,
            hidden = self.hidden_input(self.csrf_field, csrf),
        )
    }

    /// The `Set-Cookie` value of the CSRF cookie holding `token`, if the framework sets one:
    /// `Path=/; Secure; SameSite=Lax`, readable by scripts (no HttpOnly), as the frameworks do.
    pub(super) fn csrf_set_cookie(&self, token: &str) -> Option<String> {
        let name = self.csrf_cookie?;
        let mut cookie = cookie::Cookie::new(name, token.to_owned());
        cookie.set_path("/");
        cookie.set_secure(true);
        cookie.set_same_site(cookie::SameSite::Lax);
        Some(cookie.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for f in FrontEnd::ALL {
            assert_eq!(f.name().parse::<FrontEnd>(), Ok(f));
        }
        let e = "wordpress".parse::<FrontEnd>().unwrap_err();
        assert!(e.to_string().contains("django, rails"), "{e}");
    }

    #[test]
    fn every_html_front_end_puts_its_token_in_a_hidden_field() {
        for f in FrontEnd::ALL {
            let Some(h) = f.html() else { continue };
            let page = h.login_page("tok-123", false);
            assert!(
                page.contains(h.csrf_field) && page.contains("tok-123"),
                "{f}"
            );
            assert!(page.contains(h.user_field) && page.contains(h.password_field));
            assert!(h.home_page("alice", "tok-9").contains(h.logout_path));
        }
    }
}
