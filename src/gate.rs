//! CI gating: which failures decide the exit code (`--fail-on`, `--strict`) and the
//! expected-failures baseline (rule id, required reason, optional expiry).
//!
//! Owns the baseline file format and the gate decision. It reads the baseline file it is
//! given and does no other I/O; it never changes a rule's status — a baselined failure is
//! still reported as failed, it just does not fail the run.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::diag::{self, Diagnostic, Diagnostics};
use crate::engine::{Report, Status};
use crate::spec::{Catalogue, Level, Severity};

/// A baseline file.
///
/// ```yaml
/// expected_failures:
///   - rule: cookie.http-only
///     reason: the legacy widget reads the cookie; removal tracked in SEC-123
///     expires: 2027-03-31
/// ```
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    /// Failures the owner expects and accepts for now.
    #[schemars(with = "Vec<BaselineEntry>")]
    pub expected_failures: Vec<Spanned<BaselineEntry>>,
}

/// One expected failure.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    /// The rule id, e.g. `cookie.http-only`; with a profile of several auth modes
    /// `cookie.http-only@browser` names the rule in one mode only (the id alone: every mode).
    pub rule: String,
    /// Why the failure is accepted (required, one line).
    pub reason: String,
    /// Last day (`YYYY-MM-DD`, UTC) the entry counts; after it the run fails.
    #[serde(default)]
    pub expires: Option<String>,
}

/// A validated baseline.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The file it came from.
    pub file: std::path::PathBuf,
    /// Its entries.
    pub entries: Vec<BaselineEntry>,
}

/// Days since 1970-01-01 for a `YYYY-MM-DD` date, if valid.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s.get(0..4)?.parse().ok()?;
    let m: i64 = s.get(5..7)?.parse().ok()?;
    let d: i64 = s.get(8..10)?.parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let dim = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > dim[(m - 1) as usize] {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Today, as days since 1970-01-01 (UTC).
pub fn today() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64 / 86_400)
        .unwrap_or(0)
}

/// True when `text` looks like a baseline (for `validate`).
pub fn looks_like_baseline(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("expected_failures:"))
}

/// Parses and checks a baseline against the catalogue (unknown rule ids, empty reasons,
/// invalid dates, duplicates are errors).
pub fn parse_baseline(
    src: &str,
    file: &Path,
    catalogue: Option<&Catalogue>,
) -> Result<Baseline, Diagnostics> {
    let parsed: BaselineFile =
        diag::from_yaml(src, file, 0, "").map_err(|d| Diagnostics(vec![d]))?;
    let mut out = Diagnostics::default();
    let mut seen = std::collections::BTreeSet::new();
    for (i, e) in parsed.expected_failures.iter().enumerate() {
        let (line, col) = (e.referenced.line(), e.referenced.column());
        let path = format!("expected_failures[{i}]");
        let v = &e.value;
        if let Some(c) = catalogue
            && c.rule(crate::profile::split_mode(&v.rule).0).is_none()
        {
            out.push(
                Diagnostic::new(
                    file,
                    line,
                    col,
                    format!("{path}.rule"),
                    format!("unknown rule id `{}`", v.rule),
                )
                .with_hint("`authprobe rules` lists the catalogue"),
            );
        }
        if v.reason.trim().is_empty() {
            out.push(Diagnostic::new(
                file,
                line,
                col,
                format!("{path}.reason"),
                "a reason is required",
            ));
        }
        if let Some(d) = &v.expires
            && parse_date(d).is_none()
        {
            out.push(
                Diagnostic::new(
                    file,
                    line,
                    col,
                    format!("{path}.expires"),
                    format!("invalid date `{d}`"),
                )
                .with_hint("write it as YYYY-MM-DD"),
            );
        }
        if !seen.insert(v.rule.clone()) {
            out.push(Diagnostic::new(
                file,
                line,
                col,
                format!("{path}.rule"),
                format!("`{}` is listed twice", v.rule),
            ));
        }
    }
    if out.is_empty() {
        Ok(Baseline {
            file: file.to_path_buf(),
            entries: parsed
                .expected_failures
                .into_iter()
                .map(|e| e.value)
                .collect(),
        })
    } else {
        Err(out)
    }
}

/// Reads and checks a baseline file.
pub fn load_baseline(file: &Path, catalogue: Option<&Catalogue>) -> Result<Baseline, Diagnostics> {
    let src = diag::read_file(file, diag::InputKind::Baseline).map_err(|d| Diagnostics(vec![d]))?;
    parse_baseline(&src, file, catalogue)
}

/// How failures decide the exit code.
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    /// Only failures at or above this severity count; `None` (the default) counts every
    /// failing rule of every level, as the core exit-code contract says.
    pub fail_on: Option<Severity>,
    /// With `fail_on`, also count `should`-level rules (otherwise only `must`).
    pub strict: bool,
}

/// The gate's decision, added to the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Gate {
    /// `--fail-on` (absent: every failure counts).
    pub fail_on: Option<Severity>,
    /// `--strict`.
    pub strict: bool,
    /// Failed rules that fail the run.
    pub counted: Vec<String>,
    /// Failed rules accepted by the baseline, with its reason.
    pub baselined: Vec<(String, String)>,
    /// Failed rules below the threshold.
    pub below_threshold: Vec<String>,
    /// Baseline entries whose rule now passes (remove them).
    pub stale: Vec<String>,
    /// Baseline entries past their expiry (they fail the run).
    pub expired: Vec<String>,
}

impl Gate {
    /// True when the run fails.
    pub fn fails(&self) -> bool {
        !self.counted.is_empty() || !self.expired.is_empty()
    }
}

/// Decides which failures count.
pub fn decide(
    report: &Report,
    options: &GateOptions,
    baseline: Option<&Baseline>,
    today: i64,
) -> Gate {
    let mut g = Gate {
        fail_on: options.fail_on,
        strict: options.strict,
        ..Gate::default()
    };
    let entries = baseline.map(|b| b.entries.as_slice()).unwrap_or(&[]);
    for e in entries {
        if e.expires
            .as_deref()
            .and_then(parse_date)
            .is_some_and(|d| today > d)
        {
            g.expired.push(e.rule.clone());
        }
        let mut matched = report
            .results
            .iter()
            .filter(|r| covers(&e.rule, r))
            .peekable();
        if matched.peek().is_some() && matched.all(|r| r.status() == Status::Pass) {
            g.stale.push(e.rule.clone());
        }
    }
    for r in report.results.iter().filter(|r| r.status() == Status::Fail) {
        if let Some(e) = entries.iter().find(|e| covers(&e.rule, r))
            && !g.expired.contains(&e.rule)
        {
            g.baselined.push((r.key(), e.reason.clone()));
            continue;
        }
        let counts = match options.fail_on {
            None => true,
            Some(min) => r.severity >= min && (r.level == Level::Must || options.strict),
        };
        if counts {
            g.counted.push(r.key());
        } else {
            g.below_threshold.push(r.key());
        }
    }
    g
}

/// Whether a baseline entry's `rule` covers a result: the rule id covers it in every auth
/// mode, `id@mode` in that mode only.
fn covers(rule: &str, r: &crate::engine::RuleResult) -> bool {
    rule == r.id || (r.mode.is_some() && rule == r.key())
}

/// The exit code of a run: 3 when it was interrupted ([`Report::incomplete`]: what it found
/// is partial, whatever it found); 1 when a counted rule failed (every failure, without a gate;
/// the gate's counted failures and expired baseline entries, with one); otherwise 3 when rules
/// were inconclusive or errored (the target could not be fully tested); otherwise 0. This is
/// the one place the report and the gate become the exit code.
pub fn exit_code(report: &Report, gate: Option<&Gate>) -> i32 {
    if report.incomplete.is_some() {
        return 3;
    }
    let s = report.summary;
    let fails = match gate {
        Some(g) => g.fails(),
        None => s.fail > 0,
    };
    if fails {
        1
    } else if s.inconclusive + s.error > 0 {
        3
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_and_compare() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-11-26"), Some(20_783));
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("26-11-2026"), None);
    }

    #[test]
    fn baseline_rejects_unknown_rules_missing_reasons_and_bad_dates() {
        let c = crate::spec::builtin_catalogue().unwrap();
        let src = "expected_failures:\n  - rule: cookie.nope\n    reason: x\n  - rule: cookie.secure\n    reason: ''\n    expires: 2026-02-30\n";
        let d = parse_baseline(src, Path::new("b.yaml"), Some(&c)).unwrap_err();
        assert_eq!(d.0.len(), 3, "{d}");
        assert!(d.0[0].message.contains("cookie.nope"));
        assert_eq!(d.0[0].line, 2);
    }
}
