//! `{{var}}` templates in profile requests. No expressions, no filters: a variable is a
//! name (`csrf`, `user.username`) replaced by its value.

use std::collections::BTreeMap;

/// Variables available to a template.
pub type Vars = BTreeMap<String, String>;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

/// Why a template could not be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// `{{` without a closing `}}`.
    #[error("`{{{{` is not closed by `}}}}`")]
    Unclosed,
    /// `{{ }}` or a name with characters other than letters, digits, `_`, `-`, `.`.
    #[error("invalid template variable name `{0}`")]
    BadName(String),
    /// A variable with no value at render time.
    #[error("template variable `{{{{{0}}}}}` has no value")]
    Missing(String),
}

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
            let name = after[..end].trim();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
            {
                return Err(TemplateError::BadName(name.to_string()));
            }
            parts.push(Part::Var(name.to_string()));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// The variables used, in order.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Replaces every variable.
    pub fn render(&self, vars: &Vars) -> Result<String, TemplateError> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => out.push_str(
                    vars.get(v)
                        .ok_or_else(|| TemplateError::Missing(v.clone()))?,
                ),
            }
        }
        Ok(out)
    }

    /// Parses and renders in one go.
    pub fn render_str(text: &str, vars: &Vars) -> Result<String, TemplateError> {
        Template::parse(text)?.render(vars)
    }
}

/// Renders every string (keys too) of a JSON value.
pub fn render_json(v: &serde_json::Value, vars: &Vars) -> Result<serde_json::Value, TemplateError> {
    use serde_json::Value;
    Ok(match v {
        Value::String(s) => Value::String(Template::render_str(s, vars)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| render_json(x, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => {
            let mut m = serde_json::Map::new();
            for (k, x) in o {
                m.insert(Template::render_str(k, vars)?, render_json(x, vars)?);
            }
            Value::Object(m)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_variables_and_keeps_text() {
        let vars = Vars::from([
            ("csrf".into(), "abc".into()),
            ("user.username".into(), "alice".into()),
        ]);
        assert_eq!(
            Template::render_str("x {{ csrf }}-{{user.username}}", &vars).unwrap(),
            "x abc-alice"
        );
        assert_eq!(
            Template::render_str("{{nope}}", &vars),
            Err(TemplateError::Missing("nope".into()))
        );
        assert_eq!(Template::parse("{{a"), Err(TemplateError::Unclosed));
        assert!(matches!(
            Template::parse("{{a b}}"),
            Err(TemplateError::BadName(_))
        ));
    }

    #[test]
    fn error_messages_name_the_variable() {
        assert_eq!(
            TemplateError::Unclosed.to_string(),
            "`{{` is not closed by `}}`"
        );
        assert_eq!(
            TemplateError::BadName("a b".into()).to_string(),
            "invalid template variable name `a b`"
        );
        assert_eq!(
            TemplateError::Missing("csrf".into()).to_string(),
            "template variable `{{csrf}}` has no value"
        );
    }
}
