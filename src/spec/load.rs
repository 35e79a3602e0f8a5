//! Loading spec files: YAML → [`RawRule`]s → validated [`Rule`]s, every problem collected with
//! its location.
//!
//! A file is read once; its `rules:` items are deserialised one by one (each from its own
//! slice of the file, with positions kept), so a misspelt key in one rule does not hide the
//! problems of the next. Semantic checks (ids, kinds, step references) run on every rule that
//! parsed, and duplicate ids are checked across all files.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::{Catalogue, Origin, Policy, PolicyOverrides, RawRule, Rule, validate_rule};
use crate::diag::{self, Diagnostic, Diagnostics};

/// The catalogue shipped with authprobe, embedded in the binary: (file name, YAML).
pub const BUILTIN_SPECS: &[(&str, &str)] = &[
    (
        "specs/cookies.yaml",
        include_str!("../../specs/cookies.yaml"),
    ),
    (
        "specs/sessions.yaml",
        include_str!("../../specs/sessions.yaml"),
    ),
    ("specs/jwt.yaml", include_str!("../../specs/jwt.yaml")),
    (
        "specs/refresh.yaml",
        include_str!("../../specs/refresh.yaml"),
    ),
    (
        "specs/transport.yaml",
        include_str!("../../specs/transport.yaml"),
    ),
];

/// Top level of a spec file, positions only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Skeleton {
    #[serde(default)]
    #[allow(dead_code)]
    policy: Option<IgnoredAny>,
    rules: Vec<Spanned<IgnoredAny>>,
}

/// Top level of a spec file, the policy block typed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyOnly {
    #[serde(default)]
    policy: PolicyOverrides,
    #[allow(dead_code)]
    rules: IgnoredAny,
}

/// The users a spec may name: profiles map them to real accounts.
pub const SPEC_USERS: &[&str] = &["alice", "bob"];

/// Parses one spec file's text. Returns the rules that parsed, the policy overrides, and
/// every problem found.
pub fn load_spec_file(src: &str, file: &Path) -> (Vec<Rule>, PolicyOverrides, Diagnostics) {
    // YAML treats a lone CR as a line break but `str::lines` does not; normalise so the
    // per-rule slices (and their line numbers) match what the parser sees.
    let normalised;
    let src = if src.contains('\r') {
        normalised = src.replace("\r\n", "\n").replace('\r', "\n");
        normalised.as_str()
    } else {
        src
    };
    let mut diags = Diagnostics::default();
    let skeleton: Skeleton = match diag::from_yaml(src, file, 0, "") {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return (Vec::new(), PolicyOverrides::default(), diags);
        }
    };
    let policy = match diag::from_yaml::<PolicyOnly>(src, file, 0, "policy") {
        Ok(p) => {
            for (key, msg) in p.policy.problems() {
                diags.push(Diagnostic::new(file, 0, 0, format!("policy.{key}"), msg));
            }
            p.policy
        }
        Err(d) => {
            diags.push(d);
            PolicyOverrides::default()
        }
    };
    let mut rules = Vec::new();
    for (i, item) in skeleton.rules.iter().enumerate() {
        let (line, col) = (item.referenced.line(), item.referenced.column());
        let path = format!("rules[{i}]");
        let Some(slice) = diag::slice_block(src, line, col) else {
            diags.push(Diagnostic::new(
                file,
                line,
                col,
                path,
                "cannot locate this rule",
            ));
            continue;
        };
        match diag::from_yaml::<RawRule>(&slice, file, line.saturating_sub(1), &path) {
            Ok(raw) => {
                let origin = Origin {
                    file: file.to_path_buf(),
                    line,
                };
                let path = format!("rules[{i}] ({})", raw.id);
                match validate_rule(raw, origin, &path) {
                    Ok(rule) => rules.push(rule),
                    Err(d) => diags.extend(d),
                }
            }
            Err(mut d) => {
                // A rule that is not a mapping parses as something else; say so plainly.
                if d.line == 0 {
                    d.line = line;
                    d.column = col;
                }
                diags.push(d);
            }
        }
    }
    // Checks that know only a key path (policy values) report line 0; point them at the key
    // (found by fuzzing: `policy.same_site: []` printed without a position).
    diag::locate_all(src, &mut diags);
    (rules, policy, diags)
}

/// Builds a catalogue from (file name, text) pairs, checking duplicate ids across files.
pub fn catalogue_from_sources(sources: &[(PathBuf, String)]) -> Result<Catalogue, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut rules: Vec<Rule> = Vec::new();
    let mut policy = Policy::default();
    for (file, src) in sources {
        let (file_rules, overrides, d) = load_spec_file(src, file);
        diags.extend(d);
        policy = overrides.apply(&policy);
        for rule in file_rules {
            if let Some(first) = rules.iter().find(|r| r.id == rule.id) {
                diags.push(
                    Diagnostic::new(
                        &rule.origin.file,
                        rule.origin.line,
                        1,
                        format!("rule {}", rule.id),
                        format!("duplicate rule id `{}`", rule.id),
                    )
                    .with_hint(format!(
                        "first defined at {}:{}",
                        first.origin.file.display(),
                        first.origin.line
                    )),
                );
                continue;
            }
            rules.push(rule);
        }
    }
    if diags.is_empty() && rules.is_empty() {
        diags.push(Diagnostic::new(
            sources
                .first()
                .map(|s| s.0.as_path())
                .unwrap_or(Path::new("specs")),
            0,
            0,
            "",
            "no rules found",
        ));
    }
    if diags.is_empty() {
        Ok(Catalogue { rules, policy })
    } else {
        Err(diags)
    }
}

/// The catalogue embedded in the binary (the shipped `specs/`).
pub fn builtin_catalogue() -> Result<Catalogue, Diagnostics> {
    let sources: Vec<(PathBuf, String)> = BUILTIN_SPECS
        .iter()
        .map(|(name, text)| (PathBuf::from(name), (*text).to_string()))
        .collect();
    catalogue_from_sources(&sources)
}

/// Loads every `*.yaml`/`*.yml` file of a directory (sorted by name), or a single file.
pub fn load_catalogue(path: &Path) -> Result<Catalogue, Diagnostics> {
    let mut files = Vec::new();
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| {
            Diagnostics(vec![Diagnostic::new(
                path,
                0,
                0,
                "",
                format!("cannot read directory: {}", diag::lower(&e.to_string())),
            )])
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut sources = Vec::new();
    let mut diags = Diagnostics::default();
    for file in files {
        match diag::read_file(&file, diag::InputKind::Spec) {
            Ok(text) => sources.push((file, text)),
            Err(d) => diags.push(d),
        }
    }
    match catalogue_from_sources(&sources) {
        Ok(c) if diags.is_empty() => Ok(c),
        Ok(_) => Err(diags),
        Err(d) => {
            diags.extend(d);
            Err(diags)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
rules:
  - id: cookie.http-only
    title: t
    requirement: The cookie MUST be HttpOnly.
    level: must
    severity: high
    rationale: r
    requires: [session]
    check: {cookie: http_only}
"#;

    fn model_rule(requires: &str, model: &str) -> String {
        format!(
            "rules:\n  - id: x.model\n    title: t\n    requirement: It MUST hold.\n    level: must\n    severity: low\n    rationale: r\n    requires: {requires}\n    model:\n{model}"
        )
    }

    #[test]
    fn model_rules_are_random_or_scripted_and_declare_their_capabilities() {
        let ok = model_rule(
            "[jwt, refresh, revocation]",
            "      refresh:\n        setup: [login]\n        script: [revoke_unknown, {refresh: {back: 1}}]\n        semantics: {reuse: reject}\n",
        );
        let (rules, _, d) = load_spec_file(&ok, Path::new("t.yaml"));
        assert!(d.is_empty(), "{d}");
        assert!(matches!(rules[0].kind, crate::spec::RuleKind::Model(_)));
        let both = model_rule(
            "[jwt, refresh]",
            "      refresh:\n        sequences: 8\n        script: [login]\n",
        );
        let (_, _, d) = load_spec_file(&both, Path::new("t.yaml"));
        assert!(d.to_string().contains("not both"), "{d}");
        let neither = model_rule("[session]", "      session: {}\n");
        let (_, _, d) = load_spec_file(&neither, Path::new("t.yaml"));
        assert!(d.to_string().contains("`sequences`"), "{d}");
        let missing = model_rule(
            "[session]",
            "      session:\n        sequences: 1000\n        max_steps: 65\n",
        );
        let (_, _, d) = load_spec_file(&missing, Path::new("t.yaml"));
        assert!(d.to_string().contains("out of range 1..=64"), "{d}");
        let caps = model_rule(
            "[jwt, refresh]",
            "      refresh:\n        script: [login, {logout: {}}]\n",
        );
        let (_, _, d) = load_spec_file(&caps, Path::new("t.yaml"));
        assert!(d.to_string().contains("`token_logout`"), "{d}");
        assert!(d.to_string().contains("script[1]"), "{d}");
    }

    #[test]
    fn a_session_model_with_random_sequences_runs_alone() {
        let src = model_rule("[session, logout]", "      session: {sequences: 4}\n");
        let (rules, _, d) = load_spec_file(&src, Path::new("t.yaml"));
        assert!(d.is_empty(), "{d}");
        assert!(rules[0].is_exclusive());
    }

    #[test]
    fn builtin_catalogue_loads_without_problems() {
        let c = builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(c.rules.len(), 50);
    }

    #[test]
    fn a_good_rule_loads() {
        let (rules, _, d) = load_spec_file(GOOD, Path::new("t.yaml"));
        assert!(d.is_empty(), "{d}");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].origin.line, 3);
    }

    #[test]
    fn unknown_key_in_each_rule_is_reported_with_its_line() {
        let src = format!(
            "{GOOD}    bogus: 1\n{}",
            GOOD.replace("rules:\n", "")
                .replace("cookie.http-only", "cookie.other")
                .replace("title: t", "titel: t")
        );
        let (_, _, d) = load_spec_file(&src, Path::new("t.yaml"));
        assert_eq!(d.0.len(), 2, "{d}");
        assert!(d.0[0].message.contains("unknown field `bogus`"), "{d}");
        assert!(!d.0[0].message.contains("at line"), "{d}");
        assert_eq!((d.0[0].line, d.0[0].column), (11, 5), "{d}");
        assert!(d.0[1].message.contains("unknown field `titel`"), "{d}");
        assert_eq!(d.0[1].line, 14, "{d}");
    }

    #[test]
    fn unknown_capability_is_rejected() {
        let src = GOOD.replace("requires: [session]", "requires: [session, teleport]");
        let (_, _, d) = load_spec_file(&src, Path::new("t.yaml"));
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].message.contains("teleport"), "{d}");
        assert_eq!(d.0[0].line, 9);
    }

    #[test]
    fn duplicate_ids_across_files_are_rejected() {
        let sources = vec![
            (PathBuf::from("a.yaml"), GOOD.to_string()),
            (PathBuf::from("b.yaml"), GOOD.to_string()),
        ];
        let d = catalogue_from_sources(&sources).unwrap_err();
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].message.contains("duplicate rule id"));
        assert!(d.0[0].hint.as_deref().unwrap_or("").contains("a.yaml:3"));
    }

    #[test]
    fn two_kinds_in_one_rule_are_rejected() {
        let src = GOOD.replace(
            "check: {cookie: http_only}",
            "check: {cookie: http_only}\n    scenario:\n      - logout: alice",
        );
        let (_, _, d) = load_spec_file(&src, Path::new("t.yaml"));
        assert!(
            d.0.iter().any(|x| x.message.contains("exactly one of")),
            "{d}"
        );
        assert!(
            d.0.iter()
                .any(|x| x.message.contains("`logout` capability")),
            "{d}"
        );
    }

    #[test]
    fn replay_of_unsaved_snapshot_is_rejected() {
        let src = GOOD.replace(
            "check: {cookie: http_only}",
            "scenario:\n      - login: {client: a, user: alice}\n      - access: {client: a, expect: denied, replay: nope}",
        );
        let (_, _, d) = load_spec_file(&src, Path::new("t.yaml"));
        assert_eq!(d.0.len(), 1, "{d}");
        assert!(d.0[0].message.contains("snapshot `nope`"));
    }

    #[test]
    fn cr_only_line_endings_keep_rules_and_lines_apart() {
        let src = GOOD.replace('\n', "\r") + "    bogus: 1\r";
        let (_, _, d) = load_spec_file(&src, Path::new("t.yaml"));
        assert_eq!(d.0.len(), 1, "{d}");
        assert_eq!(d.0[0].line, 11, "{d}");
    }
}
