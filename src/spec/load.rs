//! Loading spec files: YAML → [`Rule`]s, every problem collected with its location.
//!
//! A file is read once; its `rules:` items are deserialised one by one (each from its own
//! slice of the file, with positions kept), so a misspelt key in one rule does not hide the
//! problems of the next. Semantic checks (ids, kinds, step references) run on every rule that
//! parsed, and duplicate ids are checked across all files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::{
    Capability, Catalogue, Generator, Level, Origin, PlantValue, Policy, PolicyOverrides, Rule,
    Step, Via,
};
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
        match diag::from_yaml::<Rule>(&slice, file, line.saturating_sub(1), &path) {
            Ok(mut rule) => {
                rule.origin = Origin {
                    file: file.to_path_buf(),
                    line,
                };
                diags.extend(validate_rule(&rule, &format!("rules[{i}] ({})", rule.id)));
                rules.push(rule);
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

fn is_valid_id(id: &str) -> bool {
    let mut parts = id.split('.');
    let first_ok = parts.next().is_some_and(|p| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    let mut rest = 0;
    let rest_ok = parts.all(|p| {
        rest += 1;
        !p.is_empty()
            && !p.starts_with('-')
            && !p.ends_with('-')
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    first_ok && rest_ok && rest >= 1
}

/// Semantic checks on one parsed rule; `path` names it in diagnostics.
pub fn validate_rule(rule: &Rule, path: &str) -> Diagnostics {
    let mut out = Diagnostics::default();
    let file = &rule.origin.file;
    let line = rule.origin.line;
    let mut err = |sub: &str, msg: String, hint: Option<&str>| {
        let p = if sub.is_empty() {
            path.to_string()
        } else {
            format!("{path}.{sub}")
        };
        let d = Diagnostic::new(file, line, 1, p, msg);
        out.push(match hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
    };
    if !is_valid_id(&rule.id) {
        err(
            "id",
            format!("invalid rule id `{}`", rule.id),
            Some("use a dotted lowercase slug such as `session.revoked-on-logout`"),
        );
    }
    for (key, value) in [
        ("title", &rule.title),
        ("requirement", &rule.requirement),
        ("rationale", &rule.rationale),
    ] {
        if value.trim().is_empty() {
            err(key, format!("`{key}` is empty"), None);
        }
    }
    let keyword = match rule.level {
        Level::Must => "MUST",
        Level::Should => "SHOULD",
    };
    if !rule.requirement.contains(keyword) {
        err(
            "requirement",
            format!(
                "a `{}`-level requirement must say {keyword}",
                keyword.to_lowercase()
            ),
            Some("write one normative sentence, e.g. `The session cookie MUST carry HttpOnly.`"),
        );
    }
    let kinds = [
        rule.check.is_some(),
        rule.scenario.is_some(),
        rule.property.is_some(),
        rule.attack.is_some(),
        rule.model.is_some(),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    if kinds != 1 {
        err(
            "",
            format!(
                "a rule needs exactly one of `check`, `scenario`, `property`, `attack`, `model` (found {kinds})"
            ),
            None,
        );
    }
    let requires: BTreeSet<Capability> = rule.requires.iter().copied().collect();
    // `no_store` checks whichever credential responses the profile yields (a session login,
    // a token grant, a refresh), so it needs neither capability in particular.
    let any_login = matches!(
        rule.check,
        Some(super::Check::Transport(super::TransportAssertion::NoStore))
    );
    if !any_login
        && !requires.contains(&Capability::Session)
        && !requires.contains(&Capability::Jwt)
    {
        err(
            "requires",
            "every rule needs the `session` or the `jwt` capability".into(),
            Some("add `session` (cookie sessions) or `jwt` (access tokens) to `requires`"),
        );
    }
    let token_rule = matches!(rule.check, Some(super::Check::Jwt(_)))
        || rule.attack.is_some()
        || rule
            .property
            .as_ref()
            .is_some_and(|p| !matches!(p.for_all, Generator::SessionId(_)));
    if token_rule && !requires.contains(&Capability::Jwt) {
        err(
            "requires",
            "a token check, attack or token generator needs the `jwt` capability".into(),
            Some("add `jwt` to `requires`"),
        );
    }
    if let Some(a) = &rule.attack {
        if a.forge.is_empty() && a.resign.is_empty() && a.via.is_none() {
            err(
                "attack",
                "the attack lists no `forge`, `resign` or `via`".into(),
                None,
            );
        }
        // `expired` alone can be checked without a key, by waiting for a real token to expire.
        let keyless = a.resign.iter().all(|c| *c == super::ClaimAttack::Expired);
        if !a.resign.is_empty() && !keyless && !requires.contains(&Capability::SigningKey) {
            err(
                "attack.resign",
                "re-signing needs the `signing_key` capability".into(),
                Some("add `signing_key` to `requires`"),
            );
        }
        if a.expect == super::Expect::Allowed {
            err(
                "attack.expect",
                "an attack must expect `denied` or `no_server_error`".into(),
                None,
            );
        }
    }
    let need_user = |user: &str, sub: String, err: &mut dyn FnMut(&str, String, Option<&str>)| {
        if !SPEC_USERS.contains(&user) {
            err(
                &sub,
                format!("unknown user `{user}`"),
                Some("specs name the profile's users `alice` and `bob`"),
            );
        } else if user == "bob" && !requires.contains(&Capability::SecondUser) {
            err(
                &sub,
                "`bob` needs the `second_user` capability".into(),
                Some("add `second_user` to `requires`"),
            );
        }
    };
    if let Some(steps) = &rule.scenario {
        if steps.is_empty() {
            err(
                "scenario",
                "a scenario needs at least one step".into(),
                None,
            );
        }
        let mut snapshots: BTreeMap<&str, usize> = BTreeMap::new();
        let mut has_probe = false;
        for (i, step) in steps.iter().enumerate() {
            let sub = format!("scenario[{i}]");
            let need_cap = |cap: Capability, err: &mut dyn FnMut(&str, String, Option<&str>)| {
                if !requires.contains(&cap) {
                    err(
                        &sub,
                        format!("this step needs the `{}` capability", cap.name()),
                        Some("add it to `requires` so profiles without it skip the rule"),
                    );
                }
            };
            match step {
                Step::Login(l) => need_user(&l.user, sub.clone(), &mut err),
                Step::Logout(_) => need_cap(Capability::Logout, &mut err),
                Step::LogoutEverywhere(_) => need_cap(Capability::LogoutEverywhere, &mut err),
                Step::Save(s) => {
                    snapshots.insert(&s.name, i);
                }
                Step::Plant(p) => {
                    if let PlantValue::Snapshot(name) = &p.value
                        && !snapshots.contains_key(name.as_str())
                    {
                        err(
                            &sub,
                            format!("snapshot `{name}` is not saved by an earlier step"),
                            None,
                        );
                    }
                }
                Step::Access(a) => {
                    if let Some(name) = &a.replay
                        && !snapshots.contains_key(name.as_str())
                    {
                        err(
                            &sub,
                            format!("snapshot `{name}` is not saved by an earlier step"),
                            None,
                        );
                    }
                    match &a.via {
                        Via::Query(names) | Via::PathParam(names) if names.is_empty() => {
                            err(&sub, "`via` lists no parameter names".into(), None);
                        }
                        _ => {}
                    }
                    if !a.is_control() {
                        has_probe = true;
                    }
                    if a.expect == super::Expect::NoServerError {
                        err(
                            &sub,
                            "`access` steps expect `allowed` or `denied`".into(),
                            None,
                        );
                    }
                }
                Step::ExpectSessionId(e) => {
                    if !snapshots.contains_key(e.differs_from.as_str()) {
                        err(
                            &sub,
                            format!(
                                "snapshot `{}` is not saved by an earlier step",
                                e.differs_from
                            ),
                            None,
                        );
                    }
                    has_probe = true;
                }
                Step::ExpectCookieCleared(_) => has_probe = true,
                Step::Anonymous(_) => {}
            }
        }
        if !steps.is_empty() && !has_probe {
            err(
                "scenario",
                "the scenario has no step that can fail (only controls)".into(),
                Some("add an `access` with `expect: denied` or an `expect_*` step"),
            );
        }
    }
    if let Some(m) = &rule.model {
        validate_model(m, &requires, &mut err);
    }
    if let Some(p) = &rule.property {
        if !(1..=10_000).contains(&p.cases) {
            err(
                "property.cases",
                format!("{} is out of range 1..=10000", p.cases),
                None,
            );
        }
        need_user(&p.given.login, "property.given.login".into(), &mut err);
        match &p.for_all {
            Generator::SessionId(g) | Generator::Token(g) => {
                if g.mutations.is_empty() {
                    err(
                        "property.for_all.session_id.mutations",
                        "no mutation operators listed".into(),
                        None,
                    );
                }
                if !(1..=8).contains(&g.max_mutations) {
                    err(
                        "property.for_all.session_id.max_mutations",
                        format!("{} is out of range 1..=8", g.max_mutations),
                        None,
                    );
                }
            }
            Generator::MalformedToken(m) => {
                if let Some(n) = m.max_len
                    && !(16..=65_536).contains(&n)
                {
                    err(
                        "property.for_all.malformed_token.max_len",
                        format!("{n} is out of range 16..=65536"),
                        None,
                    );
                }
            }
        }
    }
    out
}

/// Checks a `model` rule: random or scripted, ranges, and the capabilities its operations need.
fn validate_model(
    m: &super::Model,
    requires: &BTreeSet<Capability>,
    err: &mut dyn FnMut(&str, String, Option<&str>),
) {
    use super::Model;
    /// (key, sequences, max_steps, setup length, script length, capabilities by op index)
    type Shape<'a> = (
        &'a str,
        Option<u32>,
        u32,
        usize,
        usize,
        Vec<(usize, Capability)>,
    );
    let (key, sequences, max_steps, setup, script, needs): Shape<'_> = match m {
        Model::Session(r) => {
            let mut needs = vec![(usize::MAX, Capability::Session)];
            for (i, op) in r.setup.iter().chain(&r.script).enumerate() {
                if op.needs_logout() {
                    needs.push((i, Capability::Logout));
                }
                if op.needs_logout_everywhere() {
                    needs.push((i, Capability::LogoutEverywhere));
                }
                if op.needs_bob() {
                    needs.push((i, Capability::SecondUser));
                }
            }
            (
                "model.session",
                r.sequences,
                r.max_steps,
                r.setup.len(),
                r.script.len(),
                needs,
            )
        }
        Model::Refresh(r) => {
            let mut needs = vec![
                (usize::MAX, Capability::Jwt),
                (usize::MAX, Capability::Refresh),
            ];
            for (i, op) in r.setup.iter().chain(&r.script).enumerate() {
                if op.needs_logout() {
                    needs.push((i, Capability::TokenLogout));
                }
                if op.needs_revocation() {
                    needs.push((i, Capability::Revocation));
                }
            }
            (
                "model.refresh",
                r.sequences,
                r.max_steps,
                r.setup.len(),
                r.script.len(),
                needs,
            )
        }
    };
    match (sequences, script) {
        (Some(_), n) if n > 0 => err(
            key,
            "give either `sequences` (random) or `script` (fixed), not both".into(),
            None,
        ),
        (None, 0) => err(
            key,
            "a model rule needs `sequences` (random sequences) or a `script`".into(),
            Some("e.g. `sequences: 64`"),
        ),
        (Some(n), _) if !(1..=1000).contains(&n) => err(
            &format!("{key}.sequences"),
            format!("{n} is out of range 1..=1000"),
            None,
        ),
        _ => {}
    }
    if sequences.is_some() && setup > 0 {
        err(
            &format!("{key}.setup"),
            "`setup` belongs to scripted rules; random sequences start from scratch".into(),
            None,
        );
    }
    if !(1..=64).contains(&max_steps) {
        err(
            &format!("{key}.max_steps"),
            format!("{max_steps} is out of range 1..=64"),
            None,
        );
    }
    for (i, cap) in needs {
        if !requires.contains(&cap) {
            let at = if i == usize::MAX {
                key.to_string()
            } else if i < setup {
                format!("{key}.setup[{i}]")
            } else {
                format!("{key}.script[{}]", i - setup)
            };
            err(
                &at,
                format!("this needs the `{}` capability", cap.name()),
                Some("add it to `requires` so profiles without it skip the rule"),
            );
        }
    }
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
        match diag::read_file(&file) {
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
        assert!(matches!(
            rules[0].kind(),
            Some(crate::spec::RuleKind::Model(_))
        ));
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
        assert_eq!(c.rules.len(), 47);
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

    #[test]
    fn ids_must_be_dotted_slugs() {
        assert!(is_valid_id("session.revoked-on-logout"));
        assert!(!is_valid_id("session"));
        assert!(!is_valid_id("Session.x"));
        assert!(!is_valid_id("a..b"));
        assert!(!is_valid_id("a.-b"));
    }
}
