//! Runs over several auth modes of one profile (`modes:`): one run per mode — its own
//! preflight, context and rules, over a target resolved from the mode's sections — one after
//! the other through one probe client, so the request budget, the rate and the rules in flight
//! stay those of one run against the service. The results are tagged with their mode and
//! merged in catalogue order; a rule that no mode provides for is reported once, skipped with
//! its reason, and a rule one mode cannot run but another can is reported for the modes that
//! ran it. A profile with one mode runs exactly as [`run_until`] (no mode anywhere).
//!
//! `--only`/`--skip` take `id` (every mode) or `id@mode`. A `--budget` is shared: each mode
//! gets an equal part of what is left when it starts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::outcome::{Outcome, Report, RuleResult, Skip, Verdict};
use super::select::{SelectionError, select};
use super::{Event, RunError, RunOptions, Stop, TargetInfo, run_in_mode, run_until};
use crate::http::{Client, ClientConfig};
use crate::profile::{Target, UnresolvedTarget, split_mode};
use crate::spec::Catalogue;

/// Resolves every mode's target through one probe client built from `config` and runs the
/// catalogue in each until `stop` ([`run_modes_until`]); the selection is checked first,
/// before any request. `targets` come from [`Profile::modes`](crate::profile::Profile::modes)
/// with their secrets read. Returns the merged report and the client (its redactor and
/// capture).
pub async fn run_modes(
    catalogue: &Catalogue,
    targets: Vec<(Option<String>, UnresolvedTarget)>,
    config: ClientConfig,
    options: &RunOptions,
    events: &(dyn Fn(&Event) + Send + Sync),
    stop: Stop,
) -> Result<(Report, Client), RunError> {
    let names: Vec<Option<String>> = targets.iter().map(|(n, _)| n.clone()).collect();
    mode_options(catalogue, options, &names)?;
    let mut resolved = Vec::new();
    let mut client: Option<Client> = None;
    for (name, target) in targets {
        let result = match &client {
            None => target.resolve(config.clone()).await.map(|(t, c)| {
                client = Some(c);
                t
            }),
            Some(c) => target.resolve_on(c).await,
        };
        let target = result.map_err(|e| in_mode(name.as_deref(), e.into()))?;
        resolved.push((name, target));
    }
    let client = client.ok_or(SelectionError::Empty)?;
    let report =
        run_modes_until(catalogue, resolved, client.clone(), options, events, stop).await?;
    Ok((report, client))
}

/// `e` as an error of `mode` (unchanged without one).
fn in_mode(mode: Option<&str>, e: RunError) -> RunError {
    match mode {
        Some(m) => RunError::Mode {
            mode: m.to_owned(),
            source: Box::new(e),
        },
        None => e,
    }
}

/// Runs the catalogue in every mode of `targets` (resolved, named as by
/// [`Profile::modes`](crate::profile::Profile::modes)) through `client`, one mode after the
/// other, until `stop`; one [`Event::Started`] for the whole run. The merged report lists the
/// modes in `target.modes` and tags each result with its mode.
pub async fn run_modes_until(
    catalogue: &Catalogue,
    targets: Vec<(Option<String>, Target)>,
    client: Client,
    options: &RunOptions,
    events: &(dyn Fn(&Event) + Send + Sync),
    stop: Stop,
) -> Result<Report, RunError> {
    let names: Vec<Option<String>> = targets.iter().map(|(n, _)| n.clone()).collect();
    let per_mode = mode_options(catalogue, options, &names)?;
    if let [(None, _)] = targets.as_slice() {
        let target = targets.into_iter().map(|(_, t)| t).next();
        let target = target.ok_or(SelectionError::Empty)?;
        return run_until(catalogue, target, client, options, events, stop).await;
    }
    let started = Instant::now();
    let budget = options.budget.or_else(|| {
        let b = targets.first()?.1.limits.budget?;
        Some(Duration::from_secs(b.0))
    });
    let mode_names: Vec<String> = names.iter().flatten().cloned().collect();
    let total: usize = per_mode
        .iter()
        .flatten()
        .map(|o| select(catalogue, &o.only, &o.skip).map_or(0, |r| r.len()))
        .sum();
    let relay = announce_once(events, mode_names.clone(), total);
    let per_mode = runnable(catalogue, per_mode, &targets);
    let mut left = per_mode.iter().flatten().filter(|(_, runs)| *runs).count();
    let mut results = Vec::new();
    let mut infos: Vec<(String, TargetInfo)> = Vec::new();
    let mut incomplete: Option<String> = None;
    for ((name, target), o) in targets.into_iter().zip(per_mode) {
        let Some((mut o, runs)) = o else { continue };
        let mode = name.unwrap_or_else(|| crate::profile::DEFAULT_MODE.to_owned());
        let why = incomplete.clone().or_else(|| stop.borrow().clone());
        // The first mode always runs (the report needs its preflight's view of the target).
        let unrun = match (runs, why) {
            _ if infos.is_empty() && (runs || left == 0) => None,
            // Nothing to run in this mode: its rules are skipped with what it lacks (no
            // login, no part of the budget).
            (false, _) => Some(lacking(catalogue, &o, &target)?),
            // The run was stopped: the later modes' rules are listed as not run.
            (true, Some(why)) => Some(not_run(catalogue, &o, &why)?),
            (true, None) => None,
        };
        if let Some(unrun) = unrun {
            for mut r in unrun {
                r.mode = Some(mode.clone());
                relay(&Event::RuleFinished(r.clone()));
                results.push(r);
            }
            continue;
        }
        if let Some(b) = budget {
            let parts = u32::try_from(left.max(1)).unwrap_or(1);
            o.budget = Some(b.saturating_sub(started.elapsed()) / parts);
        }
        left = left.saturating_sub(1);
        let (client, stop) = (client.clone(), stop.clone());
        let report = run_in_mode(
            catalogue,
            target,
            client.clone(),
            &o,
            &relay,
            stop,
            Some(&mode),
        )
        .await
        .map_err(|e| in_mode(Some(&mode), e))?;
        match &report.incomplete {
            Some(why) => incomplete = Some(why.clone()),
            // A mode whose share of the budget ran out stopped the client: the next mode
            // starts with its own share.
            None => client.resume(),
        }
        results.extend(report.results);
        infos.push((mode, report.target));
    }
    let results = merge(catalogue, results);
    let target = target_info(infos, mode_names, budget).ok_or(SelectionError::Empty)?;
    Ok(Report::assemble(
        target,
        options.seed,
        results,
        (client.requests_sent(), started),
        incomplete,
    ))
}

/// `events` with one [`Event::Started`] for the whole run: the first mode's, naming the
/// `modes` and the `rules` of every mode; the other modes' are dropped.
fn announce_once<'a>(
    events: &'a (dyn Fn(&Event) + Send + Sync),
    modes: Vec<String>,
    rules: usize,
) -> impl Fn(&Event) + Send + Sync + 'a {
    let announced = AtomicBool::new(false);
    move |e: &Event| match e {
        Event::Started { target, seed, .. } => {
            if !announced.swap(true, Ordering::SeqCst) {
                let mut target = target.clone();
                target.modes = modes.clone();
                let seed = *seed;
                events(&Event::Started {
                    target,
                    rules,
                    seed,
                });
            }
        }
        other => events(other),
    }
}

/// Each selected mode's options with whether any of its selected rules can run in it (the
/// target provides everything the rule requires).
fn runnable(
    catalogue: &Catalogue,
    per_mode: Vec<Option<RunOptions>>,
    targets: &[(Option<String>, Target)],
) -> Vec<Option<(RunOptions, bool)>> {
    per_mode
        .into_iter()
        .zip(targets)
        .map(|(o, (_, target))| {
            let o = o?;
            let caps = target.capabilities();
            let runs = select(catalogue, &o.only, &o.skip).is_ok_and(|rules| {
                rules
                    .iter()
                    .any(|r| r.requires.iter().all(|c| caps.contains(c)))
            });
            Some((o, runs))
        })
        .collect()
}

/// The selected rules of a mode that runs none of them, each skipped with what `target`
/// lacks (as the engine skips them).
fn lacking(
    catalogue: &Catalogue,
    o: &RunOptions,
    target: &Target,
) -> Result<Vec<RuleResult>, SelectionError> {
    let caps = target.capabilities();
    Ok(select(catalogue, &o.only, &o.skip)?
        .into_iter()
        .map(|rule| {
            let missing = rule
                .requires
                .iter()
                .filter(|c| !caps.contains(c))
                .map(|c| (*c, super::missing_hint(*c)))
                .collect();
            RuleResult::new(rule, Verdict::new(Outcome::Skip(Skip::Missing(missing))))
        })
        .collect())
}

/// The selected rules of a mode the run stopped before, each not run for `why`.
fn not_run(
    catalogue: &Catalogue,
    o: &RunOptions,
    why: &str,
) -> Result<Vec<RuleResult>, SelectionError> {
    Ok(select(catalogue, &o.only, &o.skip)?
        .into_iter()
        .map(|rule| {
            let skip = Skip::NotRun(why.to_owned());
            RuleResult::new(rule, Verdict::new(Outcome::Skip(skip)))
        })
        .collect())
}

/// Each mode's options (by position in `modes`): the `--only`/`--skip` patterns that concern
/// it, `@mode` removed; `None` for a mode the selection leaves no rule in. An `id@mode`
/// naming no mode of the profile, a pattern matching no rule and a selection that leaves no
/// rule in any mode are errors.
pub(crate) fn mode_options(
    catalogue: &Catalogue,
    options: &RunOptions,
    modes: &[Option<String>],
) -> Result<Vec<Option<RunOptions>>, SelectionError> {
    let names: Vec<&str> = modes.iter().flatten().map(String::as_str).collect();
    for pattern in options.only.iter().chain(&options.skip) {
        if let (_, Some(m)) = split_mode(pattern)
            && !names.contains(&m)
        {
            let known = if names.is_empty() {
                "it has one: name the rule alone".to_owned()
            } else {
                format!("its modes: {}", names.join(", "))
            };
            let pattern = pattern.clone();
            return Err(SelectionError::UnknownMode { pattern, known });
        }
    }
    let mut out = Vec::new();
    for mode in modes {
        let concerns = |patterns: &[String]| -> Vec<String> {
            patterns
                .iter()
                .filter_map(|p| match split_mode(p) {
                    (rule, None) => Some(rule.to_owned()),
                    (rule, Some(m)) if Some(m) == mode.as_deref() => Some(rule.to_owned()),
                    _ => None,
                })
                .collect()
        };
        let (only, skip) = (concerns(&options.only), concerns(&options.skip));
        if !options.only.is_empty() && only.is_empty() {
            out.push(None);
            continue;
        }
        match select(catalogue, &only, &skip) {
            Ok(_) => out.push(Some(RunOptions {
                only,
                skip,
                ..options.clone()
            })),
            Err(SelectionError::Empty) => out.push(None),
            Err(e) => return Err(e),
        }
    }
    if out.iter().all(Option::is_none) {
        return Err(SelectionError::Empty);
    }
    Ok(out)
}

/// The results of every mode in catalogue order, the modes of one rule in run order; a rule
/// skipped in some modes for what they lack is kept only for the modes that ran it, and
/// once, without a mode, when none could.
fn merge(catalogue: &Catalogue, results: Vec<RuleResult>) -> Vec<RuleResult> {
    let mut by_rule: BTreeMap<String, Vec<RuleResult>> = BTreeMap::new();
    for r in results {
        by_rule.entry(r.id.clone()).or_default().push(r);
    }
    let mut out = Vec::new();
    for rule in &catalogue.rules {
        let Some(all) = by_rule.remove(rule.id.as_str()) else {
            continue;
        };
        let (lacking, ran): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|r| matches!(r.outcome, Outcome::Skip(Skip::Missing(_))));
        if ran.is_empty() {
            out.extend(lacking.into_iter().take(1).map(|mut r| {
                r.mode = None;
                r
            }));
        } else {
            out.extend(ran);
        }
    }
    out
}

/// The run's target as the first mode's preflight found it, with the modes, the first
/// session cookie any mode used, every mode's sizing notes and, with a `budget`, how it was
/// shared (`None` when no mode ran, which the selection rules out: the first selected mode
/// always runs).
fn target_info(
    infos: Vec<(String, TargetInfo)>,
    modes: Vec<String>,
    budget: Option<Duration>,
) -> Option<TargetInfo> {
    let session_cookie = infos.iter().find_map(|(_, i)| i.session_cookie.clone());
    let mut infos = infos.into_iter();
    let (_, mut first) = infos.next()?;
    for (mode, info) in infos {
        let notes = info.limits.notes.into_iter();
        first
            .limits
            .notes
            .extend(notes.map(|n| format!("[{mode}] {n}")));
    }
    if let Some(b) = budget {
        first.limits.notes.push(format!(
            "the budget ({} s) is shared by the auth modes: each had an equal part of what was left when it started (the budget line is the first mode's)",
            b.as_secs()
        ));
    }
    first.modes = modes;
    first.session_cookie = session_cookie;
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Capability, builtin_catalogue};

    fn catalogue() -> Catalogue {
        builtin_catalogue().unwrap_or_else(|d| panic!("{d}"))
    }

    fn options(only: &[&str], skip: &[&str]) -> RunOptions {
        RunOptions {
            only: only.iter().map(|s| s.to_string()).collect(),
            skip: skip.iter().map(|s| s.to_string()).collect(),
            ..RunOptions::default()
        }
    }

    fn two() -> Vec<Option<String>> {
        vec![Some("api".into()), Some("browser".into())]
    }

    #[test]
    fn only_id_at_mode_selects_the_rule_in_that_mode_alone() {
        let c = catalogue();
        let o = options(&["cookie.http-only@browser", "transport.no-store"], &[]);
        let per = mode_options(&c, &o, &two()).unwrap();
        let only = |i: usize| per[i].as_ref().map(|o| o.only.clone());
        assert_eq!(only(0), Some(vec!["transport.no-store".to_owned()]));
        assert_eq!(
            only(1),
            Some(vec![
                "cookie.http-only".to_owned(),
                "transport.no-store".to_owned()
            ])
        );
        let per = mode_options(&c, &options(&["cookie.http-only@browser"], &[]), &two()).unwrap();
        assert!(per[0].is_none() && per[1].is_some());
        let per = mode_options(&c, &options(&["cookie.*"], &["cookie.*@api"]), &two()).unwrap();
        assert!(per[0].is_none() && per[1].is_some());
    }

    #[test]
    fn an_unknown_mode_and_a_mode_on_a_one_mode_profile_are_refused() {
        let c = catalogue();
        let e = mode_options(&c, &options(&["cookie.http-only@admin"], &[]), &two()).unwrap_err();
        assert!(matches!(e, SelectionError::UnknownMode { .. }), "{e}");
        let e = mode_options(&c, &options(&[], &["cookie.secure@api"]), &[None]).unwrap_err();
        assert!(matches!(e, SelectionError::UnknownMode { .. }), "{e}");
        let e = mode_options(&c, &options(&["cookie.nope@api"], &[]), &two()).unwrap_err();
        assert!(matches!(e, SelectionError::NoMatch(_)), "{e}");
    }

    #[test]
    fn merge_keeps_the_modes_that_ran_a_rule_and_one_skip_when_none_could() {
        let c = catalogue();
        let rule = |id: &str| c.rule(id).unwrap_or_else(|| panic!("{id}"));
        let tagged = |id: &str, mode: &str, outcome: Outcome| {
            let mut r = RuleResult::new(rule(id), Verdict::new(outcome));
            r.mode = Some(mode.to_owned());
            r
        };
        let lacks = || Outcome::Skip(Skip::Missing(vec![(Capability::Session, "define flows")]));
        let results = vec![
            tagged("cookie.http-only", "api", lacks()),
            tagged("transport.no-store", "api", Outcome::Pass),
            tagged("session.logout-everywhere", "api", lacks()),
            tagged("cookie.http-only", "browser", Outcome::Pass),
            tagged("transport.no-store", "browser", Outcome::Pass),
            tagged("session.logout-everywhere", "browser", lacks()),
        ];
        let keys: Vec<String> = merge(&c, results).iter().map(RuleResult::key).collect();
        assert_eq!(
            keys,
            [
                "cookie.http-only@browser",
                "session.logout-everywhere",
                "transport.no-store@api",
                "transport.no-store@browser"
            ]
        );
    }
}
