//! Extractors: how a flow step names what to take from an answer — the short form
//! `cookie:NAME`, `json:/pointer`, `header:NAME`, `regex:PATTERN` (optionally behind `?`), or
//! the map form `{header: Location, regex: 'code=([^&]+)', optional: true}` that narrows a
//! header, cookie or JSON value with a regex. Owns their syntax and parsing; applying them to
//! a response is the engine's job. No I/O.

use std::fmt;

use serde::Deserialize;

use super::classifier::Pattern;

/// An extractor parsed from `kind:arg` or from the map form.
#[derive(Debug, Clone)]
pub enum Extractor {
    /// `cookie:NAME`: the value a Set-Cookie header of this response gives NAME.
    Cookie(String),
    /// `json:/pointer`: a JSON pointer into the body (strings as is, other values as JSON).
    Json(String),
    /// `header:NAME`: the first header of that name.
    Header(String),
    /// `regex:PATTERN`: the first capture group (or the whole match) in the body.
    Regex(Pattern),
    /// `{header|cookie|json: ..., regex: PATTERN}`: what `source` finds, narrowed to the
    /// pattern's first capture group (or its whole match); nothing when it does not match.
    Matched {
        /// Where the value comes from.
        source: Box<Extractor>,
        /// What is taken from it.
        pattern: Pattern,
    },
    /// `?kind:arg` (or `optional: true`): the inner extractor; when it finds nothing the
    /// variable stays unset instead of failing the step.
    Optional(Box<Extractor>),
}

/// `json:/access_token`, `?cookie:rt`, `header:Location matching /code=([^&]+)/`: the
/// extractor as messages name it.
impl fmt::Display for Extractor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Extractor::Cookie(n) => write!(f, "cookie:{n}"),
            Extractor::Json(p) => write!(f, "json:{p}"),
            Extractor::Header(n) => write!(f, "header:{n}"),
            Extractor::Regex(p) => write!(f, "regex:{}", p.as_str()),
            Extractor::Matched { source, pattern } => write!(f, "{source} matching {pattern}"),
            Extractor::Optional(inner) => write!(f, "?{inner}"),
        }
    }
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
    /// The map form names no source and no regex, or more than one source (the sources
    /// given are kept, e.g. `header, json`).
    #[error(
        "the extractor names {0}; give one of header, cookie or json (with or without regex), or regex alone for the body"
    )]
    Sources(String),
}

/// An extractor as written: the short form `"json:/access_token"` or the map form
/// `{header: Location, regex: 'code=([^&]+)'}`.
#[derive(Debug, Clone, PartialEq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ExtractSpec {
    /// `cookie:NAME`, `json:/pointer`, `header:NAME` or `regex:PATTERN` (first capture group
    /// in the body); a leading `?` makes it optional (`"?json:/refresh_token"`).
    Text(String),
    /// A value narrowed by a regex, e.g. `{header: Location, regex: 'code=([^&]+)'}`.
    Map(ExtractMap),
}

/// The map form of an extractor: one source (or none, for the body) and a regex whose first
/// capture group (or whole match) is taken; no match is a flow error naming the extractor,
/// unless `optional`.
///
/// ```yaml
/// extract:
///   code: {header: Location, regex: 'code=([^&]+)'}
///   csrf: {cookie: XSRF-TOKEN}
///   user_id: {json: /user/id, regex: '^u-(\d+)$', optional: true}
///   nonce: {regex: 'nonce="([^"]+)"'}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractMap {
    /// A response header (the first of that name, case-insensitive), e.g. `Location`.
    #[serde(default)]
    pub header: Option<String>,
    /// A cookie the response sets, e.g. `XSRF-TOKEN`.
    #[serde(default)]
    pub cookie: Option<String>,
    /// A JSON pointer into the body, e.g. `/data/token`.
    #[serde(default)]
    pub json: Option<String>,
    /// The regex applied to the source's value (or to the body without a source), e.g.
    /// `'code=([^&]+)'`; compiled when the profile is read.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub regex: Option<Pattern>,
    /// True: finding nothing leaves the variable unset instead of failing the step.
    #[serde(default)]
    pub optional: bool,
}

impl From<&str> for ExtractSpec {
    fn from(s: &str) -> ExtractSpec {
        ExtractSpec::Text(s.to_string())
    }
}

impl From<String> for ExtractSpec {
    fn from(s: String) -> ExtractSpec {
        ExtractSpec::Text(s)
    }
}

impl PartialEq<&str> for ExtractSpec {
    fn eq(&self, other: &&str) -> bool {
        matches!(self, ExtractSpec::Text(s) if s == other)
    }
}

impl<'de> Deserialize<'de> for ExtractSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ExtractSpec, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ExtractSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an extractor: `json:/pointer` (or cookie:, header:, regex:) or a map like {header: Location, regex: 'code=([^&]+)'}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ExtractSpec, E> {
                Ok(ExtractSpec::Text(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ExtractSpec, A::Error> {
                ExtractMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ExtractSpec::Map)
            }
        }
        d.deserialize_any(V)
    }
}

impl ExtractSpec {
    /// The extractor it describes.
    pub fn extractor(&self) -> Result<Extractor, ExtractorError> {
        match self {
            ExtractSpec::Text(s) => Extractor::parse(s),
            ExtractSpec::Map(m) => m.extractor(),
        }
    }
}

impl ExtractMap {
    fn extractor(&self) -> Result<Extractor, ExtractorError> {
        let mut sources = Vec::new();
        if let Some(h) = &self.header {
            sources.push(("header", Extractor::parse(&format!("header:{h}"))?));
        }
        if let Some(c) = &self.cookie {
            sources.push(("cookie", Extractor::parse(&format!("cookie:{c}"))?));
        }
        if let Some(j) = &self.json {
            sources.push(("json", Extractor::parse(&format!("json:{j}"))?));
        }
        let e = match (sources.len(), &self.regex) {
            (0, Some(pattern)) => Extractor::Regex(pattern.clone()),
            (1, None) => sources.remove(0).1,
            (1, Some(pattern)) => Extractor::Matched {
                source: Box::new(sources.remove(0).1),
                pattern: pattern.clone(),
            },
            (0, None) => return Err(ExtractorError::Sources("nothing to extract".into())),
            _ => {
                let names: Vec<&str> = sources.iter().map(|(n, _)| *n).collect();
                return Err(ExtractorError::Sources(format!(
                    "several sources ({})",
                    names.join(", ")
                )));
            }
        };
        Ok(if self.optional {
            Extractor::Optional(Box::new(e))
        } else {
            e
        })
    }
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
            "regex" => Pattern::new(arg).map(Extractor::Regex).map_err(|reason| {
                ExtractorError::InvalidRegex {
                    pattern: arg.to_string(),
                    reason,
                }
            }),
            other => Err(ExtractorError::UnknownKind(other.to_string())),
        }
    }

    /// True for an optional extractor (`?kind:arg`, `optional: true`).
    pub fn is_optional(&self) -> bool {
        matches!(self, Extractor::Optional(_))
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

    fn spec(yaml: &str) -> ExtractSpec {
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_map_form_narrows_a_source_with_a_regex() {
        let e = spec("{header: Location, regex: 'code=([^&]+)'}")
            .extractor()
            .unwrap();
        assert!(matches!(
            &e,
            Extractor::Matched { source, pattern }
                if matches!(**source, Extractor::Header(ref h) if h == "Location")
                    && pattern.as_str() == "code=([^&]+)"
        ));
        assert_eq!(e.to_string(), "header:Location matching /code=([^&]+)/");
        let e = spec("{json: /user/id, regex: '^u-(\\d+)$', optional: true}")
            .extractor()
            .unwrap();
        assert!(e.is_optional());
        assert_eq!(e.to_string(), "?json:/user/id matching /^u-(\\d+)$/");
        // Without a regex it is the short form; with a regex alone, the body's regex.
        assert!(matches!(
            spec("{cookie: XSRF-TOKEN}").extractor(),
            Ok(Extractor::Cookie(c)) if c == "XSRF-TOKEN"
        ));
        assert!(matches!(
            spec("{regex: 'n=(\\w+)'}").extractor(),
            Ok(Extractor::Regex(_))
        ));
        assert!(matches!(
            spec("'json:/a'").extractor(),
            Ok(Extractor::Json(_))
        ));
        assert_eq!(spec("'?json:/a'"), "?json:/a");
    }

    #[test]
    fn the_map_form_refuses_no_source_several_sources_and_bad_parts() {
        assert_eq!(
            spec("{optional: true}").extractor().unwrap_err(),
            ExtractorError::Sources("nothing to extract".into())
        );
        let e = spec("{header: Location, json: /a, regex: x}")
            .extractor()
            .unwrap_err();
        assert_eq!(
            e,
            ExtractorError::Sources("several sources (header, json)".into())
        );
        assert!(
            e.to_string()
                .starts_with("the extractor names several sources (header, json); give one of")
        );
        assert_eq!(
            spec("{json: a}").extractor().unwrap_err(),
            ExtractorError::RelativePointer("a".into())
        );
        let bad = serde_saphyr::from_str::<ExtractSpec>("{header: Location, regex: '(x'}")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("invalid regex `(x`"), "{bad}");
        let unknown = serde_saphyr::from_str::<ExtractSpec>("{header: Location, regexp: x}")
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("unknown field `regexp`"), "{unknown}");
    }

    #[test]
    fn map_extractors_in_a_profile_are_checked_at_their_step() {
        use crate::profile::TESTBED_PROFILE;
        use crate::profile::fixtures::{at, diags, parse, replace};
        let csrf = "      extract: {csrf: \"json:/csrf_token\"}\n    - request:\n";
        let src = replace(
            TESTBED_PROFILE,
            csrf,
            "      extract: {csrf: {json: /csrf_token, regex: '^([0-9a-f]+)$'}}\n    - request:\n",
        );
        let p = parse(&src);
        let login = &p.spec.flows.unwrap().login;
        assert!(matches!(
            login[0].value.extract["csrf"],
            ExtractSpec::Map(_)
        ));
        let src = replace(
            TESTBED_PROFILE,
            csrf,
            "      extract: {csrf: {json: /csrf_token, header: X-Csrf}}\n    - request:\n",
        );
        let d = diags(&src);
        let x = at(&d, "flows.login[0].extract.csrf");
        assert_eq!(x.line, 23, "{d}");
        assert!(x.message.contains("several sources (header, json)"), "{d}");
        let src = replace(
            TESTBED_PROFILE,
            csrf,
            "      extract: {csrf: {json: /csrf_token, regex: '[z-a]'}}\n    - request:\n",
        );
        let d = diags(&src);
        assert_eq!(d.0[0].line, 24, "{d}");
        assert!(d.0[0].message.contains("invalid regex `[z-a]`"), "{d}");
    }
}
