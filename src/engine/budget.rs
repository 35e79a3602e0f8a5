//! The run budget (`--budget 60s`, `limits.budget`): a plan of the run's cost made after the
//! preflight and before any rule, and the deadlines that hold the run to it.
//!
//! The plan estimates each selected rule's cost in logins and other requests from its kind
//! (a property's cases, a model's sequences and their length, a scenario's login steps, the
//! entropy check's samples) and prices them with the latencies the preflight measured:
//! logins are counted one after the other (a service with one slow password-hashing worker
//! queues them, and a fast service makes the sum small anyway), other requests spread over
//! the rules in flight. Logins are counted as the run will send them: a rule that only reads
//! or attacks a session takes the run's shared login (`pool`), and the entropy check draws
//! on the session ids the other rules' cookie logins receive, logging in only for the rest.
//! Every rule is admitted at its minimum while the minimums fit in the budget less a small
//! reserve ([`ADMISSION_RESERVE_PERCENT`]); when the whole run does not fit in what is left
//! of the budget less the full reserve for controls, confirmations and shrinking
//! ([`RESERVE_PERCENT`]), the property rules' cases and the random model rules' sequences
//! are cut by one factor, each to no fewer than its minimum; a rule whose minimum does not
//! fit is not run and ends inconclusive with the estimate.
//! Every cut is reported: the rule's note and `coverage` say how many ran of how many were
//! requested, and the plan (JSON `target.limits.budget`) lists the rules reduced.
//!
//! While the run goes on, a model rule runs its planned sequences and then more while its own
//! pace (three times the time per sequence so far) still ends before the soft deadline (the
//! budget less the reserve), never past it nor past what it asks for; and at the budget itself
//! the run stops: every rule not finished ends inconclusive (budget), never passed.
//!
//! It must not send requests: it reads the rules, the policy and the preflight's timings.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::jwt::dangerous::ForgeryKind;
use crate::spec::{Check, Model, Policy, Rule, RuleKind, SessionIdAssertion, Step};

/// Fewest cases a property rule runs under a budget (or all it asks for, when fewer).
pub const MIN_CASES: u32 = 16;
/// Fewest random sequences a model rule runs under a budget (or all it asks for).
pub const MIN_SEQUENCES: u32 = 4;
/// Share of the budget, in percent, kept back for what the estimates leave out (positive
/// controls, re-runs that confirm a failure, shrinking).
pub const RESERVE_PERCENT: u32 = 15;
/// Share of the budget, in percent, that admitting the rules at their minimum leaves free: every
/// rule's minimum may use what the growth of generated work keeps in reserve, less this.
pub const ADMISSION_RESERVE_PERCENT: u32 = 5;

/// Estimated logins per operation of a random model sequence (measured on the testbed: the
/// session model logs in at about 3 of its 10 operations, the refresh model at 2 or 3).
const LOGINS_PER_OPERATION: f64 = 0.3;
/// Estimated requests per operation of a random model sequence (an operation is one
/// request, a login or a logout may be two).
const REQUESTS_PER_OPERATION: f64 = 1.5;

/// What a rule's generated work is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageUnit {
    /// Generated cases of a property rule.
    Cases,
    /// Random sequences of a model rule.
    Sequences,
}

impl CoverageUnit {
    /// `cases`, `sequences`.
    pub fn word(self) -> &'static str {
        match self {
            CoverageUnit::Cases => "cases",
            CoverageUnit::Sequences => "sequences",
        }
    }
}

/// How much of its generated work a rule ran under a budget (JSON `coverage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Cases or sequences run.
    pub ran: u32,
    /// Cases or sequences the rule asks for.
    pub requested: u32,
    /// What they count.
    pub unit: CoverageUnit,
}

impl Coverage {
    /// `ran 16 of 64 requested sequences (budget 60 s)`.
    pub fn note(&self, budget: Duration) -> String {
        format!(
            "ran {} of {} requested {} (budget {})",
            self.ran,
            self.requested,
            self.unit.word(),
            human(budget)
        )
    }
}

/// The plan of a run with a budget, as reported (JSON `target.limits.budget`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BudgetPlan {
    /// The budget, in milliseconds.
    pub budget_ms: u64,
    /// Time spent before the plan (target resolution, preflight), in milliseconds.
    pub spent_ms: u64,
    /// The estimated time of the rules as planned, in milliseconds.
    pub planned_ms: u64,
    /// The estimated time of every rule run in full, in milliseconds.
    pub unbounded_ms: u64,
    /// The estimated logins of the rules as planned.
    pub planned_logins: u64,
    /// One login as the preflight measured it, in milliseconds.
    pub login_ms: u64,
    /// One other request as the preflight measured it, in milliseconds.
    pub request_ms: u64,
    /// The rules run with fewer cases or sequences than they ask for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reduced: Vec<String>,
    /// The rules not run because even their minimum does not fit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
}

/// One rule's part of the plan: how many cases or sequences it runs, and until when it
/// may start more.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Share {
    /// What the rule asks for, and what it is granted.
    pub coverage: Coverage,
    /// Past this instant the rule starts no new sequence.
    pub deadline: Instant,
    /// The run's budget (for the notes).
    pub budget: Duration,
}

impl Share {
    /// Whether the soft deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// The coverage when `ran` units ran.
    pub fn ran(&self, ran: u32) -> Coverage {
        Coverage {
            ran,
            ..self.coverage
        }
    }
}

/// The plan: each rule's share by id, the rules that cannot run with the reason, the order
/// to start the rules in, the report and its notes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub shares: BTreeMap<String, Share>,
    pub cannot_run: BTreeMap<String, String>,
    /// The rules in the order to start them (cheapest first, those that do not fit last).
    pub order: Vec<String>,
    pub report: BudgetPlan,
    pub notes: Vec<String>,
}

/// What the plan is made from: the budget, what was spent before it and the latencies the
/// preflight measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs {
    pub budget: Duration,
    pub started: Instant,
    pub login: Duration,
    pub request: Duration,
    pub rules_in_flight: usize,
}

/// A rule's estimated cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Cost {
    logins: f64,
    requests: f64,
}

impl Cost {
    fn times(self, n: f64) -> Cost {
        Cost {
            logins: self.logins * n,
            requests: self.requests * n,
        }
    }

    fn plus(self, o: Cost) -> Cost {
        Cost {
            logins: self.logins + o.logins,
            requests: self.requests + o.requests,
        }
    }
}

/// Work that the budget may cut: how many units are asked for, the fewest that say
/// anything, and the cost of one.
#[derive(Debug, Clone, Copy)]
struct Scalable {
    unit: CoverageUnit,
    requested: u32,
    min: u32,
    each: Cost,
}

/// The estimated fixed cost of `rule`, and its generated work when the budget may cut it.
/// `harvest` is how many session ids the other rules' logins are expected to give the
/// entropy check (it runs after them and logs in only for what is missing). A rule that
/// only reads or attacks a session takes the run's shared login ([`super::pool`]): the
/// properties and the attacks log in only for a second token.
fn estimate(rule: &Rule, policy: &Policy, harvest: f64) -> (Cost, Option<Scalable>) {
    let fixed = |logins: f64, requests: f64| Cost { logins, requests };
    match &rule.kind {
        RuleKind::Check(Check::SessionId(SessionIdAssertion::Entropy)) => {
            let n = f64::from(policy.session_id_samples);
            let missing = (n - harvest).max(0.0);
            (fixed(missing, missing * 2.0), None)
        }
        RuleKind::Check(_) => (fixed(0.0, 3.0), None),
        RuleKind::Scenario(steps) => (fixed(cookie_logins(rule), steps.len() as f64 * 1.5), None),
        RuleKind::Attack(a) => {
            let second = a.forge.contains(&ForgeryKind::ForeignSignature);
            (fixed(if second { 1.0 } else { 0.0 }, 12.0), None)
        }
        RuleKind::Property(p) => (
            fixed(0.0, 6.0),
            Some(Scalable {
                unit: CoverageUnit::Cases,
                requested: p.cases,
                min: MIN_CASES.min(p.cases),
                each: fixed(0.0, 1.0),
            }),
        ),
        RuleKind::Model(m) => model_cost(m),
    }
}

/// The cookie logins `rule` is expected to send at its minimum: what feeds the entropy
/// check's sample (a scenario's login steps, the session model's logins).
fn cookie_logins(rule: &Rule) -> f64 {
    match &rule.kind {
        RuleKind::Scenario(steps) if super::pool::reads_only(steps) => 0.0,
        RuleKind::Scenario(steps) => {
            steps.iter().filter(|s| matches!(s, Step::Login(_))).count() as f64
        }
        RuleKind::Model(m @ Model::Session(_)) => {
            let (fixed, scalable) = model_cost(m);
            fixed.logins + scalable.map_or(0.0, |s| s.each.logins * f64::from(s.min))
        }
        _ => 0.0,
    }
}

/// The session ids the preflight and the other `rules` are expected to give the entropy
/// check.
fn harvest(rules: &[&Rule]) -> f64 {
    1.0 + rules.iter().map(|r| cookie_logins(r)).sum::<f64>()
}

/// A model rule: random sequences of about three quarters of `max_steps` on average, or
/// its fixed set-up and script (run up to five times when timing decides).
fn model_cost(m: &Model) -> (Cost, Option<Scalable>) {
    let (sequences, max_steps, fixed_ops) = match m {
        Model::Session(r) => (r.sequences, r.max_steps, r.setup.len() + r.script.len()),
        Model::Refresh(r) => (r.sequences, r.max_steps, r.setup.len() + r.script.len()),
    };
    let per_op = Cost {
        logins: LOGINS_PER_OPERATION,
        requests: REQUESTS_PER_OPERATION,
    };
    match sequences {
        Some(requested) => {
            let ops = f64::from(max_steps) * 0.75;
            let scalable = Scalable {
                unit: CoverageUnit::Sequences,
                requested,
                min: MIN_SEQUENCES.min(requested),
                each: per_op.times(ops),
            };
            (Cost::default(), Some(scalable))
        }
        None => (per_op.times(fixed_ops as f64 * 2.0), None),
    }
}

impl Inputs {
    /// The estimated time of `cost`: logins one after the other, other requests spread over
    /// the rules in flight.
    fn time(&self, cost: Cost) -> Duration {
        let parallel = self.rules_in_flight.max(1) as f64;
        let secs = cost.logins * self.login.as_secs_f64()
            + cost.requests * self.request.as_secs_f64() / parallel;
        Duration::from_secs_f64(secs.max(0.0))
    }
}

/// One rule as the plan sees it.
struct Item<'r> {
    rule: &'r Rule,
    fixed: Cost,
    scalable: Option<Scalable>,
}

impl Item<'_> {
    /// The cost of the rule at its minimum (all of it, for a rule without generated work).
    fn least(&self) -> Cost {
        match self.scalable {
            Some(s) => self.fixed.plus(s.each.times(f64::from(s.min))),
            None => self.fixed,
        }
    }

    /// The cost of the rule in full.
    fn full(&self) -> Cost {
        match self.scalable {
            Some(s) => self.fixed.plus(s.each.times(f64::from(s.requested))),
            None => self.fixed,
        }
    }
}

/// Plans `rules` (those that will run) into what is left of the budget: the cheapest rules
/// first, each at its minimum, as long as they fit ([`admit`]); then the generated work of
/// those admitted grows into the room left ([`grow`]). A rule with generated work that was not
/// admitted is not run (inconclusive, with its estimate); one without is started last and
/// ends inconclusive if the budget runs out first.
pub(crate) fn plan(rules: &[&Rule], policy: &Policy, inputs: Inputs) -> Plan {
    let spent = inputs.started.elapsed();
    let reserve = inputs.budget * RESERVE_PERCENT / 100;
    let deadline = inputs.started + inputs.budget.saturating_sub(reserve);
    let left = inputs.budget.saturating_sub(spent).saturating_sub(reserve);
    let harvest = harvest(rules);
    let mut items: Vec<Item> = rules
        .iter()
        .map(|rule| {
            let (fixed, scalable) = estimate(rule, policy, harvest);
            Item {
                rule,
                fixed,
                scalable,
            }
        })
        .collect();
    let unbounded = items.iter().fold(Cost::default(), |c, i| c.plus(i.full()));
    items.sort_by(|a, b| {
        let (ta, tb) = (inputs.time(a.least()), inputs.time(b.least()));
        ta.cmp(&tb).then_with(|| a.rule.id.cmp(&b.rule.id))
    });
    // Every rule at its minimum may take all but a small reserve; only the growth of
    // generated work keeps the full reserve free.
    let admission = inputs
        .budget
        .saturating_sub(spent)
        .saturating_sub(inputs.budget * ADMISSION_RESERVE_PERCENT / 100);
    let a = admit(&items, &inputs, admission);
    // Generated work that logs in grows into what leaves the full reserve; work without
    // logins (property cases, a few milliseconds each) into what admission leaves, since
    // it cannot crowd out a confirmation's logins.
    let (mut free, mut logging): (Vec<_>, Vec<_>) =
        a.growing.iter().partition(|(_, s)| s.each.logins == 0.0);
    let room_free = admission.saturating_sub(inputs.time(a.cost));
    let (mut shares, free_extra, mut reduced) = grow(&mut free, &inputs, room_free, deadline);
    let room = left
        .saturating_sub(inputs.time(a.cost))
        .saturating_sub(inputs.time(free_extra));
    let (more, extra, also) = grow(&mut logging, &inputs, room, deadline);
    shares.extend(more);
    reduced.extend(also);
    reduced.sort();
    let extra = extra.plus(free_extra);
    let planned = a.cost.plus(extra);
    let late_cost = items
        .iter()
        .filter(|i| a.late.contains(&i.rule.id.to_string()))
        .fold(Cost::default(), |c, i| c.plus(i.fixed));
    let mut notes = vec![format!(
        "budget {}: {} spent before the rules; the rules admitted are planned at an estimated {} ({} logins of {} each, one after the other, other requests of {} each), {} kept in reserve; every rule in full would take an estimated {}",
        human(inputs.budget),
        human(spent),
        human(inputs.time(planned)),
        planned.logins.round(),
        human(inputs.login),
        human(inputs.request),
        human(reserve),
        human(inputs.time(unbounded)),
    )];
    if !a.late.is_empty() {
        notes.push(format!(
            "{} rule(s) do not fit the budget (an estimated {} more) and start last: those still running when it ends are inconclusive",
            a.late.len(),
            human(inputs.time(late_cost)),
        ));
    }
    notes.extend(
        reduced
            .iter()
            .map(|id| planned_note(id, shares[id].coverage)),
    );
    for id in a.cannot_run.keys() {
        notes.push(format!("{id}: not run within the budget (see the rule)"));
    }
    let mut order = a.order;
    order.extend(a.late);
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let report = BudgetPlan {
        budget_ms: ms(inputs.budget),
        spent_ms: ms(spent),
        planned_ms: ms(inputs.time(planned)),
        unbounded_ms: ms(inputs.time(unbounded)),
        planned_logins: planned.logins.round() as u64,
        login_ms: ms(inputs.login),
        request_ms: ms(inputs.request),
        reduced,
        not_run: a.cannot_run.keys().cloned().collect(),
    };
    Plan {
        shares,
        cannot_run: a.cannot_run,
        order,
        report,
        notes,
    }
}

/// `session.model: planned 6 of 64 requested sequences (more if the time allows)`.
fn planned_note(id: &str, c: Coverage) -> String {
    format!(
        "{id}: planned {} of {} requested {}{}",
        c.ran,
        c.requested,
        c.unit.word(),
        match c.unit {
            CoverageUnit::Sequences => " (more if the time allows)",
            CoverageUnit::Cases => "",
        }
    )
}

/// What [`admit`] decided.
struct Admission<'r> {
    /// The estimated cost of the rules admitted, each at its minimum.
    cost: Cost,
    /// The rules admitted, cheapest first.
    order: Vec<String>,
    /// The rules without generated work that do not fit.
    late: Vec<String>,
    /// The rules with generated work whose minimum does not fit, with the reason.
    cannot_run: BTreeMap<String, String>,
    /// The generated work of the rules admitted.
    growing: Vec<(&'r Rule, Scalable)>,
}

/// Admits `items` (cheapest first) at their minimum while they fit in `left`.
fn admit<'r>(items: &[Item<'r>], inputs: &Inputs, left: Duration) -> Admission<'r> {
    let mut a = Admission {
        cost: Cost::default(),
        order: Vec::new(),
        late: Vec::new(),
        cannot_run: BTreeMap::new(),
        growing: Vec::new(),
    };
    for item in items {
        let id = item.rule.id.to_string();
        let with = a.cost.plus(item.least());
        if inputs.time(with) <= left {
            a.cost = with;
            a.order.push(id);
            a.growing.extend(item.scalable.map(|s| (item.rule, s)));
        } else if let Some(s) = item.scalable {
            a.cannot_run.insert(
                id,
                format!(
                    "not run: the budget ({}) leaves {} for the rules and the cheaper rules take an estimated {} of it; even this rule's minimum of {} {} needs an estimated {} more",
                    human(inputs.budget),
                    human(left),
                    human(inputs.time(a.cost)),
                    s.min,
                    s.unit.word(),
                    human(inputs.time(item.least())),
                ),
            );
        } else {
            a.late.push(id);
        }
    }
    a
}

/// Grows the admitted generated work into `room`: the rules cheapest to complete in full
/// first, then the others by one factor. Returns each rule's share, the cost added and the
/// rules left below what they ask for (sorted).
fn grow(
    growing: &mut [(&Rule, Scalable)],
    inputs: &Inputs,
    room: Duration,
    deadline: Instant,
) -> (BTreeMap<String, Share>, Cost, Vec<String>) {
    let extra = |s: &Scalable| s.each.times(f64::from(s.requested - s.min));
    growing.sort_by(|a, b| {
        let (ta, tb) = (inputs.time(extra(&a.1)), inputs.time(extra(&b.1)));
        ta.cmp(&tb).then_with(|| a.0.id.cmp(&b.0.id))
    });
    let mut room = room.as_secs_f64();
    let mut shares = BTreeMap::new();
    let mut added = Cost::default();
    let mut reduced = Vec::new();
    for (k, (rule, s)) in growing.iter().enumerate() {
        let wanted = growing[k..]
            .iter()
            .fold(Cost::default(), |c, (_, s)| c.plus(extra(s)));
        let factor = match inputs.time(wanted).as_secs_f64() {
            _ if inputs.time(extra(s)).as_secs_f64() <= room => 1.0,
            0.0 => 1.0,
            w => room / w,
        };
        let more = (f64::from(s.requested - s.min) * factor).floor() as u32;
        let granted = (s.min + more).min(s.requested);
        let cost = s.each.times(f64::from(granted - s.min));
        room = (room - inputs.time(cost).as_secs_f64()).max(0.0);
        added = added.plus(cost);
        if granted < s.requested {
            reduced.push(rule.id.to_string());
        }
        let coverage = Coverage {
            ran: granted,
            requested: s.requested,
            unit: s.unit,
        };
        shares.insert(
            rule.id.to_string(),
            Share {
                coverage,
                deadline,
                budget: inputs.budget,
            },
        );
    }
    reduced.sort();
    (shares, added, reduced)
}

/// `150 ms`, `4.5 s`, `60 s`.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn planned(ids: &[&str], budget: Duration, login: Duration) -> Plan {
        let catalogue = crate::spec::builtin_catalogue().expect("catalogue");
        let rules: Vec<&Rule> = ids
            .iter()
            .map(|id| {
                catalogue
                    .rules
                    .iter()
                    .find(|r| r.id.as_str() == *id)
                    .expect("rule in the catalogue")
            })
            .collect();
        let inputs = Inputs {
            budget,
            started: Instant::now(),
            login,
            request: MS(5),
            rules_in_flight: 8,
        };
        plan(&rules, &catalogue.policy, inputs)
    }

    const RULES: [&str; 4] = [
        "session.model",
        "refresh.model",
        "session.tamper-rejected",
        "session.revoked-on-logout",
    ];

    #[test]
    fn slow_logins_cut_the_model_sequences_to_fit_and_say_so() {
        let p = planned(&RULES, S(60), S(1));
        let r = &p.report;
        assert!(r.planned_ms <= 51_000, "{r:?}");
        assert!(r.unbounded_ms > 300_000, "{r:?}");
        assert_eq!(r.reduced, ["refresh.model", "session.model"]);
        assert!(p.cannot_run.is_empty(), "{:?}", p.cannot_run);
        for id in ["session.model", "refresh.model"] {
            let c = p.shares[id].coverage;
            assert_eq!(c.unit, CoverageUnit::Sequences);
            assert!(c.ran >= MIN_SEQUENCES && c.ran < c.requested, "{id}: {c:?}");
            assert!(
                p.notes
                    .iter()
                    .any(|n| n.starts_with(&format!("{id}: planned ")))
            );
        }
        // The cases of a property rule cost no login: all of them fit.
        let c = p.shares["session.tamper-rejected"].coverage;
        assert_eq!((c.ran, c.unit), (c.requested, CoverageUnit::Cases));
        // The cheapest rule starts first (the property: it takes the run's shared login), the
        // dearest last.
        assert_eq!(
            p.order.first().map(String::as_str),
            Some("session.tamper-rejected")
        );
        assert_eq!(p.order.len(), RULES.len());
    }

    #[test]
    fn a_fast_service_runs_everything_it_asks_for() {
        let p = planned(&RULES, S(60), MS(5));
        assert!(p.report.reduced.is_empty(), "{:?}", p.report);
        for share in p.shares.values() {
            assert_eq!(share.coverage.ran, share.coverage.requested);
        }
        assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
    }

    #[test]
    fn a_minimum_that_does_not_fit_is_not_run_and_fixed_rules_start_last() {
        let p = planned(&["session.model", "session.id-entropy"], S(10), S(1));
        let why = &p.cannot_run["session.model"];
        assert!(why.contains("minimum of 4 sequences"), "{why}");
        assert_eq!(p.report.not_run, ["session.model"]);
        // The entropy check cannot be cut: it runs last and may be ended by the budget.
        assert_eq!(p.order, ["session.id-entropy"]);
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("1 rule(s) do not fit the budget")),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn coverage_says_how_many_of_how_many() {
        let c = Coverage {
            ran: 16,
            requested: 64,
            unit: CoverageUnit::Sequences,
        };
        assert_eq!(
            c.note(S(60)),
            "ran 16 of 64 requested sequences (budget 60 s)"
        );
        assert_eq!(human(MS(1500)), "1.5 s");
    }
}
