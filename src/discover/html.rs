//! What an HTML page tells about signing in: its forms (the login form with its user and
//! password fields and hidden CSRF field, a logout form), its links to a login page and its
//! `<meta name="csrf-token">`. Parsed with `scraper` (html5ever, the browsers' parsing
//! algorithm), never with patterns over the text. Pure: no I/O.

use scraper::{ElementRef, Html, Selector};

/// The hidden form fields that carry a CSRF token in the common frameworks' naming (Django,
/// Rails, Laravel, Spring, ASP.NET Core, Express and others).
pub const CSRF_FIELDS: [&str; 10] = [
    "csrfmiddlewaretoken",
    "authenticity_token",
    "_token",
    "_csrf",
    "__RequestVerificationToken",
    "csrf_token",
    "_csrf_token",
    "csrf",
    "YII_CSRF_TOKEN",
    "__csrf_magic",
];

/// Whether a hidden field's name is a CSRF token's: one of [`CSRF_FIELDS`], or a name that
/// says csrf/xsrf.
pub fn is_csrf_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    CSRF_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
        || lower.contains("csrf")
        || lower.contains("xsrf")
}

/// An HTML form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// `action` as written (empty: the page's own URL).
    pub action: String,
    /// `method`, upper-cased (`GET` when absent).
    pub method: String,
    /// Hidden inputs, in order: name and value.
    pub hidden: Vec<(String, String)>,
    /// The first password input's name.
    pub password: Option<String>,
    /// The user-name input's name: the text/email input before the password one (or one whose
    /// name says user, email or login).
    pub user: Option<String>,
}

impl Form {
    /// The hidden field that carries the CSRF token, with its value.
    pub fn csrf_field(&self) -> Option<&(String, String)> {
        self.hidden.iter().find(|(n, _)| is_csrf_field(n))
    }

    /// Whether this looks like a login form: a POST with a password field.
    pub fn is_login(&self) -> bool {
        self.method == "POST" && self.password.is_some() && self.user.is_some()
    }

    /// Whether this looks like a logout form: a POST without a password whose action says
    /// log out / sign out.
    pub fn is_logout(&self) -> bool {
        let a = self.action.to_ascii_lowercase().replace(['-', '_'], "");
        self.method == "POST"
            && self.password.is_none()
            && (a.contains("logout") || a.contains("signout") || a.contains("logoff"))
    }
}

/// What one page says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Every form, in document order.
    pub forms: Vec<Form>,
    /// `href`s of links whose target or text speaks of signing in, in document order.
    pub login_links: Vec<String>,
    /// `<meta name="csrf-token" content>`.
    pub meta_csrf: Option<String>,
}

impl Page {
    /// The first login form.
    pub fn login_form(&self) -> Option<&Form> {
        self.forms.iter().find(|f| f.is_login())
    }

    /// The first logout form.
    pub fn logout_form(&self) -> Option<&Form> {
        self.forms.iter().find(|f| f.is_logout())
    }
}

fn selector(s: &str) -> Selector {
    // The selectors below are constants that parse.
    Selector::parse(s).unwrap_or_else(|_| unreachable!("constant selector {s}"))
}

/// Parses `text` as an HTML document.
pub fn parse(text: &str) -> Page {
    let doc = Html::parse_document(text);
    let forms = doc.select(&selector("form")).map(form).collect();
    let mut login_links = Vec::new();
    for a in doc.select(&selector("a[href]")) {
        let href = a.value().attr("href").unwrap_or("");
        let text: String = a.text().collect();
        if speaks_of_login(href) || speaks_of_login(&text) {
            login_links.push(href.to_string());
        }
    }
    let meta_csrf = doc
        .select(&selector("meta[name=csrf-token]"))
        .find_map(|m| m.value().attr("content").map(str::to_string));
    Page {
        forms,
        login_links,
        meta_csrf,
    }
}

/// Whether a link's target or text speaks of signing in.
fn speaks_of_login(s: &str) -> bool {
    let s = s.to_ascii_lowercase().replace(['-', '_', ' '], "");
    ["login", "signin", "logon"].iter().any(|w| s.contains(w))
}

fn form(f: ElementRef<'_>) -> Form {
    let attr = |name| f.value().attr(name).unwrap_or("").to_string();
    let mut hidden = Vec::new();
    let (mut password, mut user, mut user_by_name) = (None, None, None);
    for input in f.select(&selector("input[name]")) {
        let name = input.value().attr("name").unwrap_or("").to_string();
        let kind = input
            .value()
            .attr("type")
            .unwrap_or("text")
            .to_ascii_lowercase();
        match kind.as_str() {
            "hidden" => {
                let value = input.value().attr("value").unwrap_or("").to_string();
                hidden.push((name, value));
            }
            "password" if password.is_none() => password = Some(name),
            "text" | "email" => {
                let lower = name.to_ascii_lowercase();
                if user_by_name.is_none()
                    && ["user", "email", "login", "name"]
                        .iter()
                        .any(|w| lower.contains(w))
                {
                    user_by_name = Some(name.clone());
                }
                if user.is_none() && password.is_none() {
                    user = Some(name);
                }
            }
            _ => {}
        }
    }
    Form {
        action: attr("action"),
        method: match attr("method").to_ascii_uppercase() {
            m if m.is_empty() => "GET".to_string(),
            m => m,
        },
        hidden,
        password,
        user: user_by_name.or(user),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_django_login_form_with_its_csrf_field() {
        let page = parse(
            r#"<html><body><form method="post" action="/accounts/login/">
            <input type="hidden" name="csrfmiddlewaretoken" value="abc">
            <input type="text" name="username"><input type="password" name="password">
            </form><a href="/about">About</a></body></html>"#,
        );
        let f = page.login_form().expect("a login form");
        assert_eq!(f.action, "/accounts/login/");
        assert_eq!(f.user.as_deref(), Some("username"));
        assert_eq!(f.password.as_deref(), Some("password"));
        assert_eq!(
            f.csrf_field(),
            Some(&("csrfmiddlewaretoken".into(), "abc".into()))
        );
        assert!(page.logout_form().is_none());
        assert!(page.login_links.is_empty());
    }

    #[test]
    fn finds_links_meta_tokens_and_logout_forms() {
        let page = parse(
            r#"<html><head><meta name="csrf-token" content="m1"></head><body>
            <a href="/users/sign_in">Sign in</a><a href="/x">Log in</a>
            <form action="/users/sign_out" method="post"><input type="hidden" name="_method" value="delete">
            <input type="hidden" name="authenticity_token" value="t"></form></body></html>"#,
        );
        assert_eq!(page.login_links, ["/users/sign_in", "/x"]);
        assert_eq!(page.meta_csrf.as_deref(), Some("m1"));
        let f = page.logout_form().expect("a logout form");
        assert_eq!(
            f.csrf_field().map(|c| c.0.as_str()),
            Some("authenticity_token")
        );
        assert!(page.login_form().is_none());
    }

    #[test]
    fn a_search_form_is_no_login_form_and_csrf_names_are_recognised() {
        let page = parse(r#"<form><input name="q"></form>"#);
        assert!(page.login_form().is_none() && page.logout_form().is_none());
        for f in CSRF_FIELDS {
            assert!(is_csrf_field(f), "{f}");
        }
        assert!(is_csrf_field("X-XSRF-TOKEN") && !is_csrf_field("username"));
    }
}
