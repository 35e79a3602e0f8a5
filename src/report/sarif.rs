//! SARIF 2.1.0 for code-scanning upload, from small typed serde structs (only the parts of the
//! format authprobe fills; `schemas/sarif-2.1.0.json` is the official schema the tests
//! validate against).
//!
//! `tool.driver.rules` describes every rule of the report (help text = rationale + remediation,
//! references as tags, a GitHub-style `security-severity`); `results` holds one result per
//! *failed* rule, at the level of its severity (`error` for critical/high, `warning` for
//! medium, `note` for low/info), located at the profile file when one is given (code-scanning
//! viewers need a file) or else at the target's base URL.
//!
//! **Fingerprints.** `partialFingerprints["authprobe/v1"]` is the lowercase hex SHA-256 of
//! `authprobe/v1 NUL rule-id NUL origin`, where origin is the ASCII serialisation of the
//! base URL's origin (`scheme://host[:port]`, default port omitted). It does not depend on
//! the seed, session values, timings or the observed text, so the same failure of the same
//! rule on the same service keeps its fingerprint across runs; a different host or port is a
//! different service and gets another one.
//!
//! Owns only the conversion: it sends nothing, reads nothing and prints nothing.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::{Report, RuleResult, Status};
use crate::gate::Gate;
use crate::spec::{Catalogue, Level, Severity};

/// `$schema` of the log.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Where users learn about the tool.
/// (The project has no public home yet; change this when it has one.)
pub const INFORMATION_URI: &str = "https://crates.io/crates/authprobe";
/// Key of the partial fingerprint.
pub const FINGERPRINT_KEY: &str = "authprobe/v1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    results: Vec<SarifResult>,
    invocations: Vec<Invocation>,
    properties: BTreeMap<&'static str, Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: String,
    name: String,
    short_description: Message,
    full_description: Message,
    help: MultiformatMessage,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
struct MultiformatMessage {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct RuleProperties {
    tags: Vec<String>,
    security_severity: &'static str,
    precision: &'static str,
    problem_severity: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    properties: BTreeMap<&'static str, Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
    message: Message,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    exit_code: i32,
}

/// The SARIF `level` of a failure of this severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` score (a CVSS-like number as a string) for a severity.
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.0",
        Severity::High => "7.0",
        Severity::Medium => "5.0",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// The origin (`scheme://host[:port]`) of a base URL, or the URL itself if it does not parse.
pub fn origin(base_url: &str) -> String {
    match url::Url::parse(base_url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => base_url.to_string(),
    }
}

/// The stable fingerprint of a failure of `rule_id` on the service at `base_url` (see the
/// module docs).
pub fn fingerprint(rule_id: &str, base_url: &str) -> String {
    let input = format!("{FINGERPRINT_KEY}\0{rule_id}\0{}", origin(base_url));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn rule_descriptor(r: &RuleResult, catalogue: &Catalogue) -> ReportingDescriptor {
    let spec = catalogue.rule(&r.id);
    let rationale = spec.map(|s| s.rationale.trim()).unwrap_or("");
    let remediation = spec.and_then(|s| s.remediation.as_deref()).map(str::trim);
    let references: Vec<String> = spec.map(|s| s.references.clone()).unwrap_or_default();
    let mut text = String::new();
    let mut markdown = format!("**{}**\n\n", super::markdown::escape_inline(&r.requirement));
    if !rationale.is_empty() {
        text.push_str(rationale);
        markdown.push_str(&super::markdown::escape_inline(rationale));
    }
    if let Some(fix) = remediation {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str("How to fix: ");
        text.push_str(fix);
        markdown.push_str("\n\n**How to fix:** ");
        markdown.push_str(&super::markdown::escape_inline(fix));
    }
    if text.is_empty() {
        text = r.requirement.clone();
    }
    if !references.is_empty() {
        markdown.push_str("\n\n**References:** ");
        markdown.push_str(
            &references
                .iter()
                .map(|x| super::markdown::escape_inline(x))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    let mut tags = vec!["security".to_string()];
    tags.extend(references);
    ReportingDescriptor {
        id: r.key(),
        name: r.label(),
        short_description: Message {
            text: r.title.clone(),
        },
        full_description: Message {
            text: r.requirement.clone(),
        },
        help: MultiformatMessage { text, markdown },
        default_configuration: Configuration {
            level: match r.level {
                Level::Must => level(r.severity),
                Level::Should => "warning",
            },
        },
        properties: RuleProperties {
            tags,
            security_severity: security_severity(r.severity),
            precision: "high",
            problem_severity: match r.severity {
                Severity::Critical | Severity::High => "error",
                Severity::Medium => "warning",
                Severity::Low | Severity::Info => "recommendation",
            },
        },
    }
}

fn result(
    r: &RuleResult,
    index: usize,
    report: &Report,
    profile_path: Option<&str>,
) -> SarifResult {
    let reason = r.reason();
    let observed = r
        .observed()
        .or(reason.as_deref())
        .unwrap_or("the rule failed");
    let (uri, region) = match profile_path {
        Some(p) => (p.replace('\\', "/"), Some(Region { start_line: 1 })),
        None => (report.target.base_url.clone(), None),
    };
    let mut properties = BTreeMap::new();
    properties.insert("requirement", json!(r.requirement));
    properties.insert("severity", json!(r.severity.to_string()));
    properties.insert("targetUrl", json!(report.target.base_url));
    properties.insert("seed", json!(report.seed));
    if let Some(mode) = &r.mode {
        properties.insert("mode", json!(mode));
    }
    if let Some(e) = &r.expected() {
        properties.insert("expected", json!(e));
    }
    if let Some(o) = &r.observed() {
        properties.insert("observed", json!(o));
    }
    if let Some(c) = &r.counterexample() {
        properties.insert("counterexample", json!(c));
    }
    if !r.tokens.is_empty() {
        properties.insert("tokens", json!(r.tokens));
    }
    if !r.evidence.is_empty() {
        properties.insert(
            "curl",
            json!(r.evidence.iter().map(|e| &e.curl).collect::<Vec<_>>()),
        );
    }
    SarifResult {
        rule_id: r.key(),
        rule_index: index,
        level: level(r.severity),
        message: Message {
            text: match &r.mode {
                Some(mode) => format!("{} [{mode}]: {observed}", r.title),
                None => format!("{}: {observed}", r.title),
            },
        },
        locations: vec![Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri },
                region,
            },
            message: Message {
                text: format!(
                    "{} ({})",
                    super::sanitize(&report.target.name),
                    report.target.base_url
                ),
            },
        }],
        partial_fingerprints: BTreeMap::from([(
            FINGERPRINT_KEY,
            fingerprint(&r.key(), &report.target.base_url),
        )]),
        properties,
    }
}

/// The report as a SARIF 2.1.0 log, results located at the target's base URL.
pub fn render(report: &Report, catalogue: &Catalogue) -> String {
    render_with_profile(report, None, catalogue, None)
}

/// The report as a SARIF 2.1.0 log; with `profile_path` (a path relative to the repository
/// root, e.g. `authprobe/profile.yaml`) each result is located at line 1 of that file, which
/// is what code-scanning services need to show it.
pub fn render_with_profile(
    report: &Report,
    gate: Option<&Gate>,
    catalogue: &Catalogue,
    profile_path: Option<&str>,
) -> String {
    let rules: Vec<ReportingDescriptor> = report
        .results
        .iter()
        .map(|r| rule_descriptor(r, catalogue))
        .collect();
    let results = report
        .results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status() == Status::Fail)
        .map(|(i, r)| result(r, i, report, profile_path))
        .collect();
    let s = report.summary;
    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "authprobe",
                    version: report.tool.version,
                    semantic_version: report.tool.version,
                    information_uri: INFORMATION_URI,
                    rules,
                },
            },
            results,
            invocations: vec![Invocation {
                execution_successful: s.inconclusive + s.error == 0 && report.incomplete.is_none(),
                exit_code: crate::gate::exit_code(report, gate),
            }],
            properties: BTreeMap::from([
                ("target", json!(report.target.name)),
                ("targetUrl", json!(report.target.base_url)),
                ("seed", json!(report.seed)),
                ("summary", json!(s)),
            ])
            .into_iter()
            .chain(
                report
                    .incomplete
                    .iter()
                    .map(|why| ("incomplete", json!(why))),
            )
            .collect(),
        }],
    };
    serde_json::to_string_pretty(&log)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise SARIF: {e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests as sample;

    /// The SARIF pattern of `language` (runs and tool components) as published, with a stray `]`.
    const LANGUAGE_PATTERN: &str = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;

    /// The official schema, compiled with formats asserted. The file is shipped verbatim; its
    /// one known defect, the stray `]` in the two `language` patterns (which the meta-schema's
    /// `format: regex` rejects, and which only applies to a property authprobe never writes),
    /// is escaped in memory so the rest of the schema can be used.
    fn schema() -> jsonschema::Validator {
        let text = include_str!("../../schemas/sarif-2.1.0.json");
        assert_eq!(text.matches(LANGUAGE_PATTERN).count(), 2, "schema changed");
        let text = text.replace(
            LANGUAGE_PATTERN,
            r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$""#,
        );
        let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("schema compiles")
    }

    fn assert_valid(sarif: &str) -> Value {
        let log: Value = serde_json::from_str(sarif).expect("SARIF is JSON");
        let errors: Vec<String> = schema()
            .iter_errors(&log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{sarif}");
        log
    }

    #[test]
    fn sarif_validates_against_the_official_schema() {
        let catalogue = crate::spec::builtin_catalogue().expect("catalogue");
        let log = assert_valid(&render(&sample::report(1, "abc"), &catalogue));
        // The validator is not blind: a log without its version or with a bad level fails.
        let mut broken = log.clone();
        broken.as_object_mut().unwrap().remove("version");
        assert!(!schema().is_valid(&broken));
        let mut broken = log.clone();
        broken["runs"][0]["results"][0]["level"] = json!("critical");
        assert!(!schema().is_valid(&broken));
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "authprobe");
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 5);
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "only failed rules are results");
        assert_eq!(results[0]["ruleId"], "cookie.http-only");
        assert_eq!(results[0]["level"], "error");
        let rule =
            &run["tool"]["driver"]["rules"][results[0]["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], "cookie.http-only");
        assert_eq!(rule["properties"]["security-severity"], "7.0");
        assert!(
            rule["properties"]["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t.as_str().unwrap().contains("6265")),
            "references are tags: {rule}"
        );
        assert!(
            rule["help"]["text"]
                .as_str()
                .unwrap()
                .contains("How to fix")
        );
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "http://127.0.0.1:8080/"
        );
    }

    #[test]
    fn sarif_with_profile_path_validates_and_points_at_the_profile() {
        let catalogue = crate::spec::builtin_catalogue().expect("catalogue");
        let sarif = render_with_profile(
            &sample::report(1, "abc"),
            None,
            &catalogue,
            Some("deploy/authprobe.yaml"),
        );
        let log = assert_valid(&sarif);
        let loc = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "deploy/authprobe.yaml");
        assert_eq!(loc["region"]["startLine"], 1);
    }

    #[test]
    fn sarif_fingerprints_are_stable_across_runs() {
        let catalogue = crate::spec::builtin_catalogue().expect("catalogue");
        let mut second = sample::report(99, "a-different-session-id");
        second.duration_ms = 777;
        second.requests = 3;
        second.target.base_url = "http://127.0.0.1:8080/app/".into();
        let fp = |r: &Report| -> Vec<Value> {
            let log: Value = serde_json::from_str(&render(r, &catalogue)).unwrap();
            log["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["partialFingerprints"][FINGERPRINT_KEY].clone())
                .collect()
        };
        let first = fp(&sample::report(1, "abc"));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].as_str().unwrap().len(), 64);
        assert_eq!(first, fp(&second));
        let mut other_host = sample::report(1, "abc");
        other_host.target.base_url = "https://auth.example/".into();
        assert_ne!(first, fp(&other_host));
    }

    #[test]
    fn uris_are_valid() {
        let catalogue = crate::spec::builtin_catalogue().expect("catalogue");
        let log: Value =
            serde_json::from_str(&render(&sample::report(1, "abc"), &catalogue)).unwrap();
        for uri in [
            &log["$schema"],
            &log["runs"][0]["tool"]["driver"]["informationUri"],
            &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        ] {
            url::Url::parse(uri.as_str().expect("a string")).expect("an absolute URI");
        }
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(level(Severity::Info), "note");
    }
}
