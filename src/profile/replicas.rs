//! `replicas:`: the other instances (or origins) of the service a profile describes. Owns
//! what a replica may be — an http(s) origin and nothing more (no path, query, fragment or
//! credentials), not base_url's own origin, no duplicates, at most [`MAX_REPLICAS`] — and
//! turning the checked list into origins. Credentials go to these origins and base_url's,
//! nowhere else; the probe client's allow-list is built from exactly this list. Pure: no I/O.

use serde_saphyr::Spanned;
use url::Url;

use crate::diag::{Diagnostic, Diagnostics};

/// Most replicas a profile may name.
pub const MAX_REPLICAS: usize = 16;

/// Every problem of the `replicas` list (read from `file`), each at its entry; `base` is
/// base_url when it parsed.
pub(super) fn check(
    file: &std::path::Path,
    list: &[Spanned<String>],
    base: Option<&Url>,
) -> Diagnostics {
    let mut out = Diagnostics::default();
    if list.len() > MAX_REPLICAS {
        let at = &list[MAX_REPLICAS].referenced;
        out.push(
            Diagnostic::new(
                file,
                at.line(),
                at.column(),
                "replicas",
                format!(
                    "{} replicas are listed; at most {MAX_REPLICAS} are allowed",
                    list.len()
                ),
            )
            .with_hint("list the instances behind one shared store that matter most"),
        );
    }
    let mut seen: Vec<url::Origin> = Vec::new();
    // Entries past the limit are not looked at one by one: the count is the problem (and a
    // huge list must not cost a quadratic duplicate search).
    for (i, entry) in list.iter().enumerate().take(MAX_REPLICAS) {
        let at = &entry.referenced;
        let located = |msg: String| {
            Diagnostic::new(file, at.line(), at.column(), format!("replicas[{i}]"), msg)
        };
        let url = match origin_of(&entry.value) {
            Ok(u) => u,
            Err(why) => {
                out.push(
                    located(why).with_hint(
                        "write an origin like https://app-2.example.com or http://127.0.0.1:8082; the paths are base_url's",
                    ),
                );
                continue;
            }
        };
        if base.is_some_and(|b| b.origin() == url.origin()) {
            out.push(located(format!(
                "`{}` is base_url's own origin, not another instance",
                entry.value
            )));
        } else if seen.contains(&url.origin()) {
            out.push(located(format!("`{}` is listed twice", entry.value)));
        }
        seen.push(url.origin());
    }
    out
}

/// The origin `value` names, as a URL with the path `/`; why not when it is something else.
pub(super) fn origin_of(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("invalid URL `{value}`: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("`{value}` is not an http(s) URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a replica must not contain credentials".to_string());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{value}` has a path, query or fragment; a replica is an origin only"
        ));
    }
    Ok(url)
}

/// The checked list as origins (entries that do not parse are left out: the check reported
/// them).
pub(super) fn origins(list: &[Spanned<String>]) -> Vec<Url> {
    list.iter()
        .filter_map(|e| origin_of(&e.value).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spanned(values: &[&str]) -> Vec<Spanned<String>> {
        let yaml = format!(
            "[{}]",
            values
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        serde_saphyr::from_str(&yaml).expect("a YAML list")
    }

    fn problems(values: &[&str]) -> Vec<String> {
        let base = Url::parse("https://app.example.com/base/").ok();
        check(
            std::path::Path::new("p.yaml"),
            &spanned(values),
            base.as_ref(),
        )
        .0
        .iter()
        .map(|d| format!("{} {}", d.path, d.message))
        .collect()
    }

    #[test]
    fn origins_pass_and_everything_else_is_refused_at_its_entry() {
        assert!(problems(&["https://app-2.example.com", "http://127.0.0.1:8082/"]).is_empty());
        for (value, words) in [
            ("ftp://x.example.com", "not an http(s) URL"),
            ("https://u:p@x.example.com", "credentials"),
            ("https://x.example.com/app", "path, query or fragment"),
            ("https://x.example.com/?a=1", "path, query or fragment"),
            ("https://x.example.com/#f", "path, query or fragment"),
            ("app-2.example.com", "invalid URL"),
            ("https://app.example.com", "base_url's own origin"),
        ] {
            let p = problems(&["https://ok.example.com", value]);
            assert_eq!(p.len(), 1, "{value}: {p:?}");
            assert!(p[0].starts_with("replicas[1] "), "{value}: {p:?}");
            assert!(p[0].contains(words), "{value}: {p:?}");
        }
        let twice = problems(&["https://b.example.com", "https://b.example.com:443/"]);
        assert!(twice[0].contains("listed twice"), "{twice:?}");
    }

    #[test]
    fn at_most_sixteen() {
        let many: Vec<String> = (0..17)
            .map(|i| format!("http://127.0.0.1:{}", 9000 + i))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let p = problems(&refs);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("at most 16"), "{p:?}");
        assert_eq!(problems(&refs[..16]), Vec::<String>::new());
    }

    #[test]
    fn origins_keep_the_parsed_entries() {
        let o = origins(&spanned(&["http://127.0.0.1:8082", "nope"]));
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].as_str(), "http://127.0.0.1:8082/");
    }
}
