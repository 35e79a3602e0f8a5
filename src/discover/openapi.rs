//! What a published OpenAPI (or Swagger 2) document tells about signing in: the JSON login
//! operation and its fields, the CSRF header it asks for and where the token comes from, the
//! logout operations and the protected resources. Pure: no I/O.

use serde_json::Value;

/// The JSON login an OpenAPI document describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiLogin {
    /// The login operation's path (`POST`).
    pub path: String,
    /// The user-name and password properties of its JSON body.
    pub user_field: String,
    /// The password property.
    pub password_field: String,
    /// A header parameter carrying a CSRF token, when the operation asks for one.
    pub csrf_header: Option<String>,
    /// A `GET` operation that hands out the CSRF token, and the property holding it.
    pub csrf_source: Option<(String, String)>,
    /// `POST` operations that end the session, and that end every session of the user.
    pub logout: Option<String>,
    /// See `logout`.
    pub logout_everywhere: Option<String>,
    /// `GET` paths without parameters that declare a security requirement.
    pub protected: Vec<String>,
}

/// Whether a name says csrf/xsrf.
fn says_csrf(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    s.contains("csrf") || s.contains("xsrf")
}

/// The JSON login of `doc`: the first `POST` whose JSON body has a password property and a
/// user-name one (username, email, login, user).
pub fn login(doc: &Value) -> Option<ApiLogin> {
    let paths = doc.get("paths")?.as_object()?;
    let (path, op, props) = paths.iter().find_map(|(path, item)| {
        let op = item.get("post")?;
        let props = json_body_properties(doc, op)?;
        props
            .iter()
            .any(|p| p.to_ascii_lowercase().contains("password"))
            .then(|| (path.clone(), op, props))
    })?;
    let password_field = props
        .iter()
        .find(|p| p.to_ascii_lowercase().contains("password"))?
        .clone();
    let user_field = ["username", "email", "login", "user", "name"]
        .iter()
        .find_map(|w| {
            props
                .iter()
                .find(|p| p.to_ascii_lowercase().contains(w) && **p != password_field)
        })?
        .clone();
    let csrf_header = header_params(op).into_iter().find(|h| says_csrf(h));
    let csrf_source = paths.iter().find_map(|(p, item)| {
        let get = item.get("get")?;
        says_csrf(p).then(|| (p.clone(), token_property(doc, get)))
    });
    let post_paths = |pred: &dyn Fn(&str) -> bool| {
        paths
            .iter()
            .filter(|(p, item)| item.get("post").is_some() && pred(&p.to_ascii_lowercase()))
            .map(|(p, _)| p.clone())
            .next()
    };
    let everywhere = |p: &str| p.contains("everywhere") || p.contains("all");
    let logs_out = |p: &str| {
        let p = p.replace(['-', '_'], "");
        p.contains("logout") || p.contains("signout")
    };
    let protected = paths
        .iter()
        .filter(|(p, item)| {
            !p.contains('{')
                && item
                    .get("get")
                    .is_some_and(|g| g.get("security").is_some_and(|s| !is_empty(s)))
        })
        .map(|(p, _)| p.clone())
        .collect();
    Some(ApiLogin {
        path,
        user_field,
        password_field,
        csrf_header,
        csrf_source,
        logout: post_paths(&|p| logs_out(p) && !everywhere(p)),
        logout_everywhere: post_paths(&|p| logs_out(p) && everywhere(p)),
        protected,
    })
}

fn is_empty(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.is_empty())
}

/// The property names of an operation's JSON request body (OpenAPI 3 `requestBody`, or a
/// Swagger 2 `in: body` parameter), following one local `$ref`.
fn json_body_properties(doc: &Value, op: &Value) -> Option<Vec<String>> {
    let schema = op
        .pointer("/requestBody/content/application~1json/schema")
        .or_else(|| {
            op.get("parameters")?
                .as_array()?
                .iter()
                .find(|p| p.get("in").and_then(Value::as_str) == Some("body"))?
                .get("schema")
        })?;
    let schema = resolve(doc, schema);
    let props = schema.get("properties")?.as_object()?;
    Some(props.keys().cloned().collect())
}

/// `schema`, or what its local `$ref` (`#/...`) points at.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|p| doc.pointer(p))
        .unwrap_or(schema)
}

/// The names of an operation's header parameters.
fn header_params(op: &Value) -> Vec<String> {
    op.get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter(|p| p.get("in").and_then(Value::as_str) == Some("header"))
                .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The property of a `GET`'s 200 JSON answer that holds the token: one that says csrf/xsrf,
/// else one that says token, else `csrf_token`.
fn token_property(doc: &Value, get: &Value) -> String {
    let keys: Vec<String> = get
        .pointer("/responses/200/content/application~1json/schema")
        .map(|s| resolve(doc, s))
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.iter()
        .find(|k| says_csrf(k))
        .or_else(|| {
            keys.iter()
                .find(|k| k.to_ascii_lowercase().contains("token"))
        })
        .cloned()
        .unwrap_or_else(|| "csrf_token".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_json_login_its_csrf_header_and_the_logouts() {
        let doc = json!({
            "openapi": "3.0.3",
            "paths": {
                "/api/csrf": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
                    "type": "object", "properties": {"csrfToken": {"type": "string"}}}}}}}}},
                "/api/session": {"post": {
                    "parameters": [{"name": "X-XSRF-TOKEN", "in": "header"}],
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Creds"}}}}}},
                "/api/items/{id}": {"get": {"security": [{"s": []}]}},
                "/api/profile": {"get": {"security": [{"s": []}]}},
                "/api/sign-out": {"post": {}},
                "/api/sign-out-all": {"post": {}}
            },
            "components": {"schemas": {"Creds": {"properties": {"email": {}, "password": {}}}}}
        });
        let l = login(&doc).expect("a login");
        assert_eq!(l.path, "/api/session");
        assert_eq!(
            (l.user_field.as_str(), l.password_field.as_str()),
            ("email", "password")
        );
        assert_eq!(l.csrf_header.as_deref(), Some("X-XSRF-TOKEN"));
        assert_eq!(
            l.csrf_source,
            Some(("/api/csrf".into(), "csrfToken".into()))
        );
        assert_eq!(l.logout.as_deref(), Some("/api/sign-out"));
        assert_eq!(l.logout_everywhere.as_deref(), Some("/api/sign-out-all"));
        assert_eq!(l.protected, ["/api/profile"]);
    }

    #[test]
    fn a_document_without_a_password_body_has_no_login() {
        let doc = json!({"paths": {"/api/items": {"post": {"requestBody": {"content": {
            "application/json": {"schema": {"properties": {"name": {}}}}}}}}}});
        assert_eq!(login(&doc), None);
        assert_eq!(login(&json!([])), None);
    }
}
