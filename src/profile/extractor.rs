//! Extractors: how a flow step names what to take from an answer (`cookie:NAME`,
//! `json:/pointer`, `header:NAME`, `regex:PATTERN`, optionally behind `?`). Owns their
//! syntax and parsing; applying them to a response is the engine's job. No I/O.

use crate::diag;

/// An extractor parsed from `kind:arg`.
#[derive(Debug, Clone)]
pub enum Extractor {
    /// `cookie:NAME`: the value a Set-Cookie header of this response gives NAME.
    Cookie(String),
    /// `json:/pointer`: a JSON pointer into the body (strings as is, other values as JSON).
    Json(String),
    /// `header:NAME`: the first header of that name.
    Header(String),
    /// `regex:PATTERN`: the first capture group (or the whole match) in the body.
    Regex(regex::Regex),
    /// `?kind:arg`: the inner extractor; when it finds nothing the variable stays unset
    /// instead of failing the step.
    Optional(Box<Extractor>),
}

/// Why an extractor does not parse; each variant keeps the text at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractorError {
    /// More than one leading `?`, e.g. `??json:/a`.
    #[error("extractor `{0}`: one `?` makes it optional")]
    RepeatedOptional(String),
    /// No `kind:` prefix, e.g. `cookie`.
    #[error("extractor `{0}` has no kind; use cookie:, json:, header: or regex:")]
    NoKind(String),
    /// Nothing after the kind, e.g. `json:`.
    #[error("extractor `{0}` has an empty argument")]
    EmptyArgument(String),
    /// A JSON pointer that does not start with `/` (the pointer is kept).
    #[error("json pointer `{0}` must start with `/`, e.g. json:/csrf_token")]
    RelativePointer(String),
    /// A pattern the regex engine refuses (or that compiles too big).
    #[error("invalid regex `{pattern}`: {reason}")]
    InvalidRegex {
        /// The pattern as written.
        pattern: String,
        /// The regex engine's reason, lowercased.
        reason: String,
    },
    /// A kind other than `cookie`, `json`, `header`, `regex` (the kind is kept).
    #[error("unknown extractor kind `{0}`; use cookie:, json:, header: or regex:")]
    UnknownKind(String),
}

impl Extractor {
    /// Parses `kind:arg`, or `?kind:arg` for an optional one.
    pub fn parse(s: &str) -> Result<Extractor, ExtractorError> {
        if let Some(inner) = s.strip_prefix('?') {
            if inner.starts_with('?') {
                return Err(ExtractorError::RepeatedOptional(s.to_string()));
            }
            return Extractor::parse(inner).map(|e| Extractor::Optional(Box::new(e)));
        }
        let (kind, arg) = s
            .split_once(':')
            .ok_or_else(|| ExtractorError::NoKind(s.to_string()))?;
        if arg.is_empty() {
            return Err(ExtractorError::EmptyArgument(s.to_string()));
        }
        match kind {
            "cookie" => Ok(Extractor::Cookie(arg.to_string())),
            "json" if arg.starts_with('/') => Ok(Extractor::Json(arg.to_string())),
            "json" => Err(ExtractorError::RelativePointer(arg.to_string())),
            "header" => Ok(Extractor::Header(arg.to_string())),
            "regex" => regex::RegexBuilder::new(arg)
                .size_limit(1 << 20)
                .build()
                .map(Extractor::Regex)
                .map_err(|e| ExtractorError::InvalidRegex {
                    pattern: arg.to_string(),
                    reason: diag::lower(&e.to_string()),
                }),
            other => Err(ExtractorError::UnknownKind(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extractors_parse_and_reject_nonsense() {
        assert!(matches!(
            Extractor::parse("json:/a/b"),
            Ok(Extractor::Json(_))
        ));
        assert_eq!(
            Extractor::parse("json:a").unwrap_err(),
            ExtractorError::RelativePointer("a".into())
        );
        assert_eq!(
            Extractor::parse("xml:/a").unwrap_err(),
            ExtractorError::UnknownKind("xml".into())
        );
        assert!(matches!(
            Extractor::parse("regex:("),
            Err(ExtractorError::InvalidRegex { pattern, .. }) if pattern == "("
        ));
        assert_eq!(
            Extractor::parse("cookie").unwrap_err(),
            ExtractorError::NoKind("cookie".into())
        );
        assert_eq!(
            Extractor::parse("header:").unwrap_err(),
            ExtractorError::EmptyArgument("header:".into())
        );
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
        assert_eq!(
            Extractor::parse("??json:/a").unwrap_err(),
            ExtractorError::RepeatedOptional("??json:/a".into())
        );
        assert!(Extractor::parse("?").is_err());
        assert!(Extractor::parse("?json:a").is_err());
    }

    #[test]
    fn messages_keep_the_offending_text() {
        for (input, message) in [
            ("??x:y", "extractor `??x:y`: one `?` makes it optional"),
            (
                "cookie",
                "extractor `cookie` has no kind; use cookie:, json:, header: or regex:",
            ),
            ("json:", "extractor `json:` has an empty argument"),
            (
                "json:a",
                "json pointer `a` must start with `/`, e.g. json:/csrf_token",
            ),
            (
                "xml:/a",
                "unknown extractor kind `xml`; use cookie:, json:, header: or regex:",
            ),
        ] {
            assert_eq!(Extractor::parse(input).unwrap_err().to_string(), message);
        }
        let e = Extractor::parse("regex:(").unwrap_err().to_string();
        assert!(e.starts_with("invalid regex `(`: "), "{e}");
    }
}
