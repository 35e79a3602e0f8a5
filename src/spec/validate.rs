//! The second loading stage: a [`RawRule`] as written → a validated [`Rule`], or every problem
//! found in it (ids, empty text, the MUST/SHOULD keyword, exactly one kind, capabilities the
//! kind needs, step references, ranges), each with the rule's location and key path.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Attack, Capability, Check, ClaimAttack, Expect, Generator, GenuineRefused, Level, Model,
    Origin, PlantValue, Property, RawRule, Rule, RuleId, RuleKind, SPEC_USERS, Step,
    TransportAssertion, Via,
};
use crate::diag::{Diagnostic, Diagnostics};

/// Collects the problems of one rule, located at its first line under its key path.
struct Problems<'a> {
    origin: &'a Origin,
    path: &'a str,
    requires: BTreeSet<Capability>,
    out: Diagnostics,
}

impl Problems<'_> {
    /// Records a problem at `sub` (a key path below the rule; empty for the rule itself).
    fn err(&mut self, sub: &str, msg: impl Into<String>, hint: Option<&str>) {
        let p = if sub.is_empty() {
            self.path.to_string()
        } else {
            format!("{}.{sub}", self.path)
        };
        let d = Diagnostic::new(&self.origin.file, self.origin.line, 1, p, msg.into());
        self.out.push(match hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
    }

    /// Records a problem unless the rule requires `cap`.
    fn need(&mut self, cap: Capability, at: &str, msg: &str) {
        if !self.requires.contains(&cap) {
            self.err(
                at,
                format!("{msg} the `{}` capability", cap.name()),
                Some("add it to `requires` so profiles without it skip the rule"),
            );
        }
    }

    /// Checks a user a step or generator names.
    fn user(&mut self, user: &str, sub: &str) {
        if !SPEC_USERS.contains(&user) {
            self.err(
                sub,
                format!("unknown user `{user}`"),
                Some("specs name the profile's users `alice` and `bob`"),
            );
        } else if user == "bob" && !self.requires.contains(&Capability::SecondUser) {
            self.err(
                sub,
                "`bob` needs the `second_user` capability",
                Some("add `second_user` to `requires`"),
            );
        }
    }
}

/// Checks one parsed rule (`path` names it in diagnostics, `origin` locates it) and turns it
/// into a validated [`Rule`], or returns every problem found.
pub fn validate_rule(raw: RawRule, origin: Origin, path: &str) -> Result<Rule, Diagnostics> {
    let mut p = Problems {
        origin: &origin,
        path,
        requires: raw.requires.iter().copied().collect(),
        out: Diagnostics::default(),
    };
    let id = RuleId::parse(&raw.id);
    if id.is_none() {
        p.err(
            "id",
            format!("invalid rule id `{}`", raw.id),
            Some("use a dotted lowercase slug such as `session.revoked-on-logout`"),
        );
    }
    check_text(&raw, &mut p);
    let mut kinds = present_kinds(&raw);
    if kinds.len() != 1 {
        p.err(
            "",
            format!(
                "a rule needs exactly one of `check`, `scenario`, `property`, `attack`, `model` (found {})",
                kinds.len()
            ),
            None,
        );
    }
    check_requires(&kinds, &mut p);
    check_replicas(&raw, &mut p);
    for kind in &kinds {
        match kind {
            RuleKind::Attack(a) => check_attack(a, &mut p),
            RuleKind::Scenario(steps) => check_scenario(steps, &mut p),
            RuleKind::Model(m) => check_model(m, &mut p),
            RuleKind::Property(prop) => check_property(prop, &mut p),
            RuleKind::Check(_) => {}
        }
    }
    let kind = if kinds.len() == 1 { kinds.pop() } else { None };
    match (id, kind) {
        (Some(id), Some(kind)) if p.out.is_empty() => Ok(Rule {
            id,
            title: raw.title,
            requirement: raw.requirement,
            level: raw.level,
            severity: raw.severity,
            rationale: raw.rationale,
            references: raw.references,
            remediation: raw.remediation,
            requires: raw.requires,
            kind,
            replicas: raw.replicas,
            origin: origin.clone(),
        }),
        _ => Err(p.out),
    }
}

/// Non-empty text, and a requirement that says MUST or SHOULD as its level does.
fn check_text(raw: &RawRule, p: &mut Problems<'_>) {
    for (key, value) in [
        ("title", &raw.title),
        ("requirement", &raw.requirement),
        ("rationale", &raw.rationale),
    ] {
        if value.trim().is_empty() {
            p.err(key, format!("`{key}` is empty"), None);
        }
    }
    let keyword = match raw.level {
        Level::Must => "MUST",
        Level::Should => "SHOULD",
    };
    if !raw.requirement.contains(keyword) {
        p.err(
            "requirement",
            format!(
                "a `{}`-level requirement must say {keyword}",
                keyword.to_lowercase()
            ),
            Some("write one normative sentence, e.g. `The session cookie MUST carry HttpOnly.`"),
        );
    }
}

/// The kind keys present (a valid rule has exactly one).
fn present_kinds(raw: &RawRule) -> Vec<RuleKind> {
    let mut kinds = Vec::new();
    if let Some(c) = &raw.check {
        kinds.push(RuleKind::Check(c.clone()));
    }
    if let Some(s) = &raw.scenario {
        kinds.push(RuleKind::Scenario(s.clone()));
    }
    if let Some(prop) = &raw.property {
        kinds.push(RuleKind::Property(prop.clone()));
    }
    if let Some(a) = &raw.attack {
        kinds.push(RuleKind::Attack(a.clone()));
    }
    if let Some(m) = &raw.model {
        kinds.push(RuleKind::Model(m.clone()));
    }
    kinds
}

/// The `session` or `jwt` capability every rule needs, and `jwt` for token rules.
fn check_requires(kinds: &[RuleKind], p: &mut Problems<'_>) {
    // `no_store`, `csp` and `api_headers` check whichever responses the profile yields (a
    // session login, a token grant, HTML pages), so they need neither capability in particular.
    let any_login = kinds.iter().any(|k| {
        matches!(
            k,
            RuleKind::Check(Check::Transport(
                TransportAssertion::NoStore
                    | TransportAssertion::Csp
                    | TransportAssertion::ApiHeaders
            ))
        )
    });
    if !any_login
        && !p.requires.contains(&Capability::Session)
        && !p.requires.contains(&Capability::Jwt)
    {
        p.err(
            "requires",
            "every rule needs the `session` or the `jwt` capability",
            Some("add `session` (cookie sessions) or `jwt` (access tokens) to `requires`"),
        );
    }
    let token_rule = kinds.iter().any(|k| match k {
        RuleKind::Check(Check::Jwt(_) | Check::Token(_)) | RuleKind::Attack(_) => true,
        RuleKind::Property(prop) => !matches!(prop.for_all, Generator::SessionId(_)),
        _ => false,
    });
    if token_rule && !p.requires.contains(&Capability::Jwt) {
        p.err(
            "requires",
            "a token check, attack or token generator needs the `jwt` capability",
            Some("add `jwt` to `requires`"),
        );
    }
}

/// Each `replicas` entry pairs a revocation with a credential it ends, and the rule requires
/// what the pair needs.
fn check_replicas(raw: &RawRule, p: &mut Problems<'_>) {
    for (i, r) in raw.replicas.iter().enumerate() {
        let at = format!("replicas[{i}]");
        match r.needs() {
            Ok(caps) => {
                for cap in caps {
                    p.need(cap, &at, "replaying it on replicas needs");
                }
            }
            Err(why) => p.err(&at, why, None),
        }
        if raw.replicas[..i].contains(r) {
            p.err(&at, "listed twice", None);
        }
    }
}

fn check_attack(a: &Attack, p: &mut Problems<'_>) {
    if a.forge.is_empty() && a.resign.is_empty() && a.via.is_none() {
        p.err(
            "attack",
            "the attack lists no `forge`, `resign` or `via`",
            None,
        );
    }
    // `expired` alone can be checked without a key, by waiting for a real token to expire.
    let keyless = a.resign.iter().all(|c| *c == ClaimAttack::Expired);
    if !a.resign.is_empty() && !keyless && !p.requires.contains(&Capability::SigningKey) {
        p.err(
            "attack.resign",
            "re-signing needs the `signing_key` capability",
            Some("add `signing_key` to `requires`"),
        );
    }
    if a.expect == Expect::Allowed {
        p.err(
            "attack.expect",
            "an attack must expect `denied` or `no_server_error`",
            None,
        );
    }
}

fn check_scenario(steps: &[Step], p: &mut Problems<'_>) {
    if steps.is_empty() {
        p.err("scenario", "a scenario needs at least one step", None);
        return;
    }
    let mut snapshots: BTreeMap<&str, usize> = BTreeMap::new();
    let mut has_probe = false;
    let saved = |name: &str, sub: &str, snapshots: &BTreeMap<&str, usize>, p: &mut Problems| {
        if !snapshots.contains_key(name) {
            p.err(
                sub,
                format!("snapshot `{name}` is not saved by an earlier step"),
                None,
            );
        }
    };
    for (i, step) in steps.iter().enumerate() {
        let sub = format!("scenario[{i}]");
        match step {
            Step::Login(l) => p.user(&l.user, &sub),
            Step::Logout(_) => p.need(Capability::Logout, &sub, "this step needs"),
            Step::LogoutEverywhere(_) => {
                p.need(Capability::LogoutEverywhere, &sub, "this step needs")
            }
            Step::Save(s) => {
                snapshots.insert(&s.name, i);
            }
            Step::Plant(plant) => {
                if let PlantValue::Snapshot(name) = &plant.value {
                    saved(name, &sub, &snapshots, p);
                }
            }
            Step::Access(a) => {
                if let Some(name) = &a.replay {
                    saved(name, &sub, &snapshots, p);
                }
                if let Via::Query(names) | Via::PathParam(names) = &a.via
                    && names.is_empty()
                {
                    p.err(&sub, "`via` lists no parameter names", None);
                }
                has_probe |= !a.is_control();
                if a.expect == Expect::NoServerError {
                    p.err(&sub, "`access` steps expect `allowed` or `denied`", None);
                }
            }
            Step::ExpectSessionId(e) => {
                saved(&e.differs_from, &sub, &snapshots, p);
                has_probe = true;
            }
            Step::ExpectCookieCleared(_) => has_probe = true,
            Step::Anonymous(_) => {}
        }
    }
    if !has_probe {
        p.err(
            "scenario",
            "the scenario has no step that can fail (only controls)",
            Some("add an `access` with `expect: denied` or an `expect_*` step"),
        );
    }
}

fn check_property(prop: &Property, p: &mut Problems<'_>) {
    if !(1..=10_000).contains(&prop.cases) {
        p.err(
            "property.cases",
            format!("{} is out of range 1..=10000", prop.cases),
            None,
        );
    }
    p.user(&prop.given.login, "property.given.login");
    match &prop.for_all {
        Generator::SessionId(g) | Generator::Token(g) => {
            if g.mutations.is_empty() {
                p.err(
                    "property.for_all.session_id.mutations",
                    "no mutation operators listed",
                    None,
                );
            }
            if !(1..=8).contains(&g.max_mutations) {
                p.err(
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
                p.err(
                    "property.for_all.malformed_token.max_len",
                    format!("{n} is out of range 16..=65536"),
                    None,
                );
            }
        }
    }
}

/// The shape of a model run, independent of its machine.
struct RunShape<'a> {
    key: &'a str,
    sequences: Option<u32>,
    max_steps: u32,
    setup: usize,
    script: usize,
    /// `genuine_refused` differs from its default.
    genuine_refused_set: bool,
    /// Capabilities needed, with the index of the operation that needs it (`None`: the machine).
    needs: Vec<(Option<usize>, Capability)>,
}

/// Checks a `model` rule: random or scripted, ranges, and the capabilities its operations need.
fn check_model(m: &Model, p: &mut Problems<'_>) {
    let shape = model_shape(m);
    let key = shape.key;
    match (shape.sequences, shape.script) {
        (Some(_), n) if n > 0 => p.err(
            key,
            "give either `sequences` (random) or `script` (fixed), not both",
            None,
        ),
        (None, 0) => p.err(
            key,
            "a model rule needs `sequences` (random sequences) or a `script`",
            Some("e.g. `sequences: 64`"),
        ),
        (Some(n), _) if !(1..=1000).contains(&n) => p.err(
            &format!("{key}.sequences"),
            format!("{n} is out of range 1..=1000"),
            None,
        ),
        _ => {}
    }
    if shape.sequences.is_some() && shape.setup > 0 {
        p.err(
            &format!("{key}.setup"),
            "`setup` belongs to scripted rules; random sequences start from scratch",
            None,
        );
    }
    if shape.sequences.is_some() && shape.genuine_refused_set {
        p.err(
            &format!("{key}.genuine_refused"),
            "`genuine_refused` belongs to scripted rules; random sequences judge every disagreement",
            None,
        );
    }
    if let Model::Session(r) = m
        && r.when.is_some()
    {
        p.err(
            "model.session.when",
            "`when` names refresh semantics; it belongs to refresh models",
            None,
        );
    }
    if !(1..=64).contains(&shape.max_steps) {
        p.err(
            &format!("{key}.max_steps"),
            format!("{} is out of range 1..=64", shape.max_steps),
            None,
        );
    }
    for (i, cap) in &shape.needs {
        let at = match i {
            None => key.to_string(),
            Some(i) if *i < shape.setup => format!("{key}.setup[{i}]"),
            Some(i) => format!("{key}.script[{}]", i - shape.setup),
        };
        p.need(*cap, &at, "this needs");
    }
}

fn model_shape(m: &Model) -> RunShape<'static> {
    match m {
        Model::Session(r) => {
            let mut needs = vec![(None, Capability::Session)];
            for (i, op) in r.setup.iter().chain(&r.script).enumerate() {
                if op.needs_logout() {
                    needs.push((Some(i), Capability::Logout));
                }
                if op.needs_logout_everywhere() {
                    needs.push((Some(i), Capability::LogoutEverywhere));
                }
                if op.needs_bob() {
                    needs.push((Some(i), Capability::SecondUser));
                }
            }
            RunShape {
                key: "model.session",
                sequences: r.sequences,
                max_steps: r.max_steps,
                setup: r.setup.len(),
                script: r.script.len(),
                genuine_refused_set: r.genuine_refused != GenuineRefused::default(),
                needs,
            }
        }
        Model::Refresh(r) => {
            let mut needs = vec![(None, Capability::Jwt), (None, Capability::Refresh)];
            for (i, op) in r.setup.iter().chain(&r.script).enumerate() {
                if op.needs_logout() {
                    needs.push((Some(i), Capability::TokenLogout));
                }
                if op.needs_revocation() {
                    needs.push((Some(i), Capability::Revocation));
                }
            }
            RunShape {
                key: "model.refresh",
                sequences: r.sequences,
                max_steps: r.max_steps,
                setup: r.setup.len(),
                script: r.script.len(),
                genuine_refused_set: r.genuine_refused != GenuineRefused::default(),
                needs,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_dotted_lowercase_slugs() {
        assert!(RuleId::parse("session.revoked-on-logout").is_some());
        assert!(RuleId::parse("session").is_none());
        assert!(RuleId::parse("Session.x").is_none());
        assert!(RuleId::parse("a..b").is_none());
        assert!(RuleId::parse("a.-b").is_none());
    }
}
