//! Classifiers: what an allowed or a denied answer looks like (`access.allowed`,
//! `access.denied`) — statuses, a body substring, a body regex, header regexes and `any_of`
//! alternatives — and [`Pattern`], a regular expression compiled (and size-bounded) while the
//! profile is read, so a bad one is a located load error. Owns the classifier's matching and
//! its description in words; the static limits (nesting, empty `any_of`, header names) are
//! `check`'s. No I/O.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::http::Response;

/// The most compiled bytes one profile regex may take (`RegexBuilder::size_limit`).
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// How deep `any_of` alternatives may nest (an alternative's own `any_of` is level 2).
pub const MAX_ANY_OF_DEPTH: usize = 3;

/// The most alternatives one `any_of` may list.
pub const MAX_ANY_OF_ALTERNATIVES: usize = 16;

/// A regular expression (the `regex` crate's syntax: no look-around or backreferences, linear
/// time) compiled when the profile is read; it matches anywhere in the text unless anchored
/// with `^`/`$`, e.g. `'"role":\s*"admin"'`. A pattern that does not compile, or compiles to
/// more than 1 MiB, refuses the profile with its location.
#[derive(Clone)]
pub struct Pattern(regex::Regex);

impl Pattern {
    /// Compiles `pattern` within [`PATTERN_SIZE_LIMIT`]; the error is the engine's reason,
    /// lowercased.
    pub fn new(pattern: &str) -> Result<Pattern, String> {
        regex::RegexBuilder::new(pattern)
            .size_limit(PATTERN_SIZE_LIMIT)
            .dfa_size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map(Pattern)
            .map_err(|e| crate::diag::lower(&e.to_string()))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// True when the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }

    /// Capture group 1 of the first match in `text`, or the whole match when the pattern has
    /// no group (or group 1 did not take part).
    pub fn capture(&self, text: &str) -> Option<String> {
        let caps = self.0.captures(text)?;
        caps.get(1)
            .or_else(|| caps.get(0))
            .map(|m| m.as_str().to_string())
    }
}

/// Two patterns are equal when they are written the same.
impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.as_str())
    }
}

/// `/pattern/`, as reports print it.
impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.as_str())
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Pattern, D::Error> {
        let text = String::deserialize(d)?;
        Pattern::new(&text)
            .map_err(|reason| serde::de::Error::custom(format!("invalid regex `{text}`: {reason}")))
    }
}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Matches a response: every condition it gives must hold, and when `any_of` is given at
/// least one of its alternatives must match too.
///
/// ```yaml
/// allowed: {status: [200], body_contains: '"user"'}
/// denied:
///   any_of:
///     - {status: [401, 403]}
///     - {status: [302], header: {Location: '/login'}}
///     - {status: [200], body_matches: '(?i)<form[^>]+action="/login"'}
/// ```
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Classifier {
    /// Acceptable statuses, e.g. `[200]`. May be left out (or empty) only when every `any_of`
    /// alternative lists its own.
    #[serde(default)]
    pub status: Vec<u16>,
    /// Text the body must contain, e.g. `"\"user\""`.
    #[serde(default)]
    pub body_contains: Option<String>,
    /// A regular expression the body must match somewhere, e.g. `'"email":\s*"[^"]+"'`
    /// (the `regex` crate's syntax; `(?i)` for case-insensitive).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub body_matches: Option<Pattern>,
    /// Headers that must be present with a value matching a regular expression, e.g.
    /// `{Location: '^/login', Content-Type: 'json'}`; names are case-insensitive, and a
    /// header sent more than once matches when one of its values does.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub header: BTreeMap<String, Pattern>,
    /// Alternatives, at least one of which must match besides this classifier's own
    /// conditions, e.g. `[{status: [401]}, {status: [302], header: {Location: /login}}]`; 1
    /// to 16 of them, nested at most 3 deep.
    #[serde(default)]
    pub any_of: Option<Vec<Classifier>>,
}

impl Classifier {
    /// A classifier of statuses only.
    pub fn status(statuses: &[u16]) -> Classifier {
        Classifier {
            status: statuses.to_vec(),
            ..Classifier::default()
        }
    }

    /// True when the response matches.
    pub fn matches(&self, r: &Response) -> bool {
        self.matches_parts(r.status, &r.headers, &r.body_text())
    }

    /// True when an answer with this status, these headers (any case) and this body matches.
    pub fn matches_parts(&self, status: u16, headers: &[(String, String)], body: &str) -> bool {
        (self.status.is_empty() || self.status.contains(&status))
            && self
                .body_contains
                .as_deref()
                .is_none_or(|needle| body.contains(needle))
            && self.body_matches.as_ref().is_none_or(|p| p.is_match(body))
            && self.header.iter().all(|(name, p)| {
                headers
                    .iter()
                    .any(|(n, v)| n.eq_ignore_ascii_case(name) && p.is_match(v))
            })
            && self.any_of.as_ref().is_none_or(|alternatives| {
                alternatives
                    .iter()
                    .any(|a| a.matches_parts(status, headers, body))
            })
    }

    /// True when every way to match this classifier passes a status condition (its own, or
    /// one in each `any_of` alternative): a classifier that would match any status, a 5xx
    /// included, is refused.
    pub fn constrains_status(&self) -> bool {
        !self.status.is_empty()
            || self.any_of.as_ref().is_some_and(|alternatives| {
                !alternatives.is_empty() && alternatives.iter().all(Classifier::constrains_status)
            })
    }

    /// How many classifiers deep it is: 1 without `any_of`, 1 + [`MAX_ANY_OF_DEPTH`] at most.
    pub fn depth(&self) -> usize {
        1 + self
            .any_of
            .iter()
            .flatten()
            .map(Classifier::depth)
            .max()
            .unwrap_or(0)
    }
}

/// `status 200`, `status 200 or 204 and a body containing "user"`, `status 302 and a Location
/// header matching /^\/login/`, `one of (status 401) or (status 403)`: the classifier in words.
impl fmt::Display for Classifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.status.is_empty() {
            parts.push(statuses_in_words(&self.status));
        }
        if let Some(needle) = &self.body_contains {
            parts.push(format!("a body containing {needle:?}"));
        }
        if let Some(p) = &self.body_matches {
            parts.push(format!("a body matching {p}"));
        }
        for (name, p) in &self.header {
            parts.push(format!("a {name} header matching {p}"));
        }
        if let Some(alternatives) = &self.any_of {
            let alternatives: Vec<String> = alternatives.iter().map(|a| format!("({a})")).collect();
            parts.push(format!("one of {}", alternatives.join(" or ")));
        }
        if parts.is_empty() {
            return f.write_str("any answer");
        }
        f.write_str(&parts.join(" and "))
    }
}

/// `status 200`, `status 200 or 302`, `status 200, 201 or 204`; `no status` for none.
pub fn statuses_in_words(statuses: &[u16]) -> String {
    match statuses {
        [] => "no status".to_string(),
        [one] => format!("status {one}"),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(u16::to_string).collect();
            format!("status {} or {last}", rest.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier(yaml: &str) -> Classifier {
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}"))
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// The preflight's refusal once printed `Classifier { status: [200], body_contains:
    /// None }` (issue 13); the classifier reads in words.
    #[test]
    fn a_classifier_reads_in_words() {
        assert_eq!(Classifier::status(&[200]).to_string(), "status 200");
        let c = Classifier {
            body_contains: Some("\"user\"".into()),
            ..Classifier::status(&[200, 201, 204])
        };
        assert_eq!(
            c.to_string(),
            "status 200, 201 or 204 and a body containing \"\\\"user\\\"\""
        );
        assert_eq!(statuses_in_words(&[]), "no status");
        let c = classifier(
            "{any_of: [{status: [401, 403]}, {status: [302], header: {Location: '^/login'}}], body_matches: 'denied|login'}",
        );
        assert_eq!(
            c.to_string(),
            "a body matching /denied|login/ and one of (status 401 or 403) or (status 302 and a Location header matching /^/login/)"
        );
        assert_eq!(Classifier::default().to_string(), "any answer");
    }

    #[test]
    fn the_short_form_matches_status_and_body_as_before() {
        let c = classifier("{status: [200], body_contains: '\"user\"'}");
        assert!(c.matches_parts(200, &[], "{\"user\": 1}"));
        assert!(!c.matches_parts(200, &[], "{}"), "the body must contain it");
        assert!(
            !c.matches_parts(201, &[], "{\"user\": 1}"),
            "the status too"
        );
    }

    #[test]
    fn body_matches_is_a_regex_anywhere_in_the_body() {
        let c = classifier(r#"{status: [200], body_matches: '"email":\s*"[^"]+@'}"#);
        assert!(c.matches_parts(200, &[], r#"{"id": 1, "email":  "a@example.com"}"#));
        assert!(!c.matches_parts(200, &[], r#"{"email": ""}"#));
        let anchored = classifier("{status: [200], body_matches: '^ok$'}");
        assert!(anchored.matches_parts(200, &[], "ok"));
        assert!(!anchored.matches_parts(200, &[], "not ok"));
    }

    #[test]
    fn header_names_match_case_insensitively_and_every_condition_must_hold() {
        let c =
            classifier("{status: [302], header: {LOCATION: '^/login', content-type: 'text/html'}}");
        let h = headers(&[
            ("location", "/login?next=/me"),
            ("Content-Type", "text/html"),
        ]);
        assert!(c.matches_parts(302, &h, ""));
        let h = headers(&[("location", "/login?next=/me")]);
        assert!(!c.matches_parts(302, &h, ""), "an absent header fails");
        let h = headers(&[("location", "/home"), ("content-type", "text/html")]);
        assert!(!c.matches_parts(302, &h, ""), "a value that does not match");
        // A header sent twice matches when one of its values does.
        let c = classifier("{status: [200], header: {Set-Cookie: '^session='}}");
        let h = headers(&[("set-cookie", "theme=dark"), ("set-cookie", "session=1")]);
        assert!(c.matches_parts(200, &h, ""));
    }

    #[test]
    fn any_of_needs_one_alternative_besides_the_own_conditions() {
        let c = classifier(
            "{body_contains: 'x', any_of: [{status: [401]}, {status: [302], header: {Location: /login}}]}",
        );
        let login = headers(&[("Location", "/login")]);
        assert!(c.matches_parts(401, &[], "x"));
        assert!(c.matches_parts(302, &login, "x"));
        assert!(!c.matches_parts(302, &[], "x"), "no alternative matches");
        assert!(!c.matches_parts(401, &[], "y"), "the own condition fails");
        assert!(c.constrains_status());
        assert_eq!(c.depth(), 2);
        let nested = classifier("{any_of: [{status: [401]}, {any_of: [{status: [403]}]}]}");
        assert!(nested.matches_parts(403, &[], ""));
        assert!(!nested.matches_parts(200, &[], ""));
        assert_eq!(nested.depth(), 3);
        assert!(nested.constrains_status());
        let loose = classifier("{any_of: [{status: [401]}, {body_contains: denied}]}");
        assert!(!loose.constrains_status(), "the second matches a 500");
        assert!(!classifier("{body_contains: x}").constrains_status());
        assert!(!classifier("{any_of: []}").constrains_status());
    }

    #[test]
    fn a_bad_or_huge_regex_is_refused_with_the_pattern() {
        let e = serde_saphyr::from_str::<Classifier>("{status: [200], body_matches: '(unclosed'}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid regex `(unclosed`"), "{e}");
        let e = Pattern::new(r"\w{1000}\w{1000}\w{1000}").unwrap_err();
        assert!(e.contains("size limit"), "{e}");
        let p = Pattern::new("code=([^&]+)").unwrap();
        assert_eq!(p.capture("/cb?code=abc&state=1").as_deref(), Some("abc"));
        assert_eq!(
            Pattern::new("ab").unwrap().capture("xaby").as_deref(),
            Some("ab")
        );
        assert_eq!(p.capture("/cb"), None);
    }

    /// The testbed profile with its session `allowed` classifier (line 43) replaced.
    fn with_allowed(classifier: &str) -> String {
        crate::profile::fixtures::replace(
            crate::profile::TESTBED_PROFILE,
            "    allowed: {status: [200], body_contains: '\"user\"'}\n    # A 404",
            &format!("    allowed: {classifier}\n    # A 404"),
        )
    }

    #[test]
    fn a_bad_regex_in_a_profile_is_a_load_error_at_its_line() {
        use crate::profile::fixtures::diags;
        let d = diags(&with_allowed("{status: [200], body_matches: '(x'}"));
        assert_eq!(d.0.len(), 1, "{d}");
        assert_eq!(d.0[0].line, 43, "{d}");
        assert!(d.0[0].column > 5, "{d}");
        assert!(d.0[0].message.contains("invalid regex `(x`"), "{d}");
        let d = diags(&with_allowed(
            "{status: [200], header: {Location: '[z-a]'}}",
        ));
        assert_eq!(d.0[0].line, 43, "{d}");
        assert!(d.0[0].message.contains("invalid regex `[z-a]`"), "{d}");
    }

    #[test]
    fn the_checks_refuse_loose_empty_deep_or_misnamed_classifiers_at_their_key() {
        use crate::profile::fixtures::{at, diags, parse};
        let d = diags(&with_allowed(
            "{any_of: [{status: [200]}, {body_contains: user}]}",
        ));
        let x = at(&d, "flows.access.allowed.status");
        assert_eq!(
            (x.message.as_str(), x.line),
            ("list at least one status", 43)
        );
        let d = diags(&with_allowed("{status: [200], any_of: []}"));
        let x = at(&d, "flows.access.allowed.any_of");
        assert_eq!(x.message, "`any_of` lists 0 alternatives; give 1 to 16");
        let d = diags(&with_allowed(
            "{status: [200], any_of: [{any_of: [{any_of: [{any_of: [{status: [200]}]}]}]}]}",
        ));
        let x = at(&d, "flows.access.allowed.any_of[0].any_of[0].any_of");
        assert_eq!(x.message, "`any_of` nests more than 3 levels deep");
        let d = diags(&with_allowed("{status: [200], header: {'Bad Name': x}}"));
        let x = at(&d, "flows.access.allowed.header.Bad Name");
        assert_eq!(x.message, "`Bad Name` is not a valid header name");
        // Three levels of `any_of`, every way with a status, is fine.
        let p = parse(&with_allowed(
            "{any_of: [{status: [200]}, {status: [203], any_of: [{body_contains: a}, {any_of: [{body_matches: b}]}]}]}",
        ));
        let allowed = &p.spec.flows.unwrap().access.allowed;
        assert_eq!(
            allowed.depth(),
            4,
            "the classifier and three levels of alternatives"
        );
        assert!(allowed.matches_parts(203, &[], "b"));
    }
}
