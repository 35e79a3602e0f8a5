//! Reporters: turn the engine's events and report into text for people (with optional ANSI
//! colours) or JSON for machines. They return strings; the binary decides where they go
//! (the report on stdout, progress on stderr). Nothing here sends requests or reads files.

pub mod html;
pub mod junit;
pub mod markdown;
pub mod sarif;

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::{Event, Report, RuleResult, Status};
use crate::testbed::Flaw;

/// Output format of `check`/`demo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Readable text.
    Human,
    /// The JSON report (`authprobe.report/v1`).
    Json,
}

/// ANSI styling, off when `color` is false.
struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn status(&self, s: Status) -> String {
        let (label, code) = match s {
            Status::Pass => ("PASS", "32"),
            Status::Fail => ("FAIL", "1;31"),
            Status::Skip => ("SKIP", "2"),
            Status::Inconclusive => ("INCONCLUSIVE", "33"),
            Status::Error => ("ERROR", "35"),
        };
        self.paint(code, &format!("{label:<12}"))
    }
}

/// Removes terminal control characters from text that came from the target.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// One progress line for an event (for stderr), or none.
pub fn progress_line(event: &Event, done: usize, total: usize) -> Option<String> {
    match event {
        Event::Started {
            target,
            rules,
            seed,
        } => Some(format!(
            "authprobe: testing {} ({}) — {rules} rules, seed {seed}",
            sanitize(&target.name),
            target.base_url
        )),
        Event::RuleFinished(r) => Some(format!(
            "[{done}/{total}] {:<12} {}",
            r.status.as_str(),
            r.id
        )),
    }
}

/// The JSON report, pretty-printed.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise report: {e}\"}}"))
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn details(out: &mut String, r: &RuleResult, st: &Style) {
    let _ = writeln!(out, "      requirement: {}", r.requirement);
    if let Some(e) = &r.expected {
        let _ = writeln!(out, "      expected:    {}", sanitize(e));
    }
    if let Some(o) = &r.observed {
        let _ = writeln!(out, "      observed:    {}", sanitize(o));
    } else if let Some(reason) = &r.reason {
        let _ = writeln!(out, "      reason:      {}", sanitize(reason));
    }
    if let Some(c) = &r.counterexample {
        let _ = writeln!(
            out,
            "      counterexample (seed {}, case {}, shrunk in {} steps): {} → {}",
            c.seed,
            c.case,
            c.shrink_steps,
            sanitize(&c.input.join(", then ")),
            c.observed
        );
    }
    for note in &r.notes {
        let _ = writeln!(out, "      note: {}", sanitize(note));
    }
    if !r.evidence.is_empty() {
        let _ = writeln!(out, "      transcript ({} requests):", r.evidence.len());
        for (i, e) in r.evidence.iter().enumerate() {
            let ex = &e.exchange;
            let _ = writeln!(
                out,
                "        {}. {} — {} {} → {}",
                i + 1,
                sanitize(&e.step),
                ex.request.method,
                sanitize(ex.request.url.as_str()),
                st.paint("1", &ex.response.status.to_string())
            );
            for (k, v) in &ex.response.headers {
                if k.eq_ignore_ascii_case("set-cookie") {
                    let _ = writeln!(out, "           < set-cookie: {}", sanitize(v));
                }
            }
            let _ = writeln!(out, "{}", indent(&sanitize(&e.curl), "           $ "));
        }
    }
}

/// The readable report: one line per rule, failures (and inconclusive/error results)
/// expanded with requirement, expected, observed, transcript and curl lines.
pub fn human(report: &Report, color: bool) -> String {
    let st = Style { color };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "authprobe {} — {} ({}), session cookie `{}`, seed {}",
        report.tool.version,
        sanitize(&report.target.name),
        report.target.base_url,
        report.target.session_cookie.as_deref().unwrap_or("?"),
        report.seed
    );
    let _ = writeln!(out);
    for r in &report.results {
        let _ = writeln!(out, "  {} {:<28} {}", st.status(r.status), r.id, r.title);
        match r.status {
            Status::Pass => {}
            Status::Skip => {
                if let Some(reason) = &r.reason {
                    let _ = writeln!(out, "      reason: {}", sanitize(reason));
                }
            }
            _ => details(&mut out, r, &st),
        }
    }
    let s = report.summary;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} skipped, {} inconclusive, {} errors — {} requests in {:.2} s (replay with --seed {})",
        s.pass,
        s.fail,
        s.skip,
        s.inconclusive,
        s.error,
        report.requests,
        report.duration_ms as f64 / 1000.0,
        report.seed
    );
    out
}

/// One flaw of the testbed, as listed by `demo --list-flaws`.
#[derive(Debug, Clone, Serialize)]
pub struct FlawInfo {
    /// The `--flaw` name.
    pub name: &'static str,
    /// The promise it breaks.
    pub description: &'static str,
    /// Rules that must fail with it.
    pub breaks: &'static [&'static str],
    /// Rules that may also fail.
    pub may_break: &'static [&'static str],
}

/// Every flaw.
pub fn flaws() -> Vec<FlawInfo> {
    Flaw::ALL
        .iter()
        .map(|f| FlawInfo {
            name: f.name(),
            description: f.description(),
            breaks: f.breaks(),
            may_break: f.may_break(),
        })
        .collect()
}

/// `demo --list-flaws` as text.
pub fn flaws_text() -> String {
    let mut out = String::new();
    for f in flaws() {
        let _ = writeln!(out, "{:<30} breaks {}", f.name, f.breaks.join(", "));
        if !f.may_break.is_empty() {
            let _ = writeln!(out, "{:<30} may also break {}", "", f.may_break.join(", "));
        }
        let _ = writeln!(out, "{:<30} {}", "", f.description);
    }
    out
}

/// `demo --list-flaws --format json`.
pub fn flaws_json() -> String {
    serde_json::to_string_pretty(&flaws()).unwrap_or_default()
}

/// The catalogue as a Markdown table (the README's rule table is this, checked by a test).
pub fn rule_table(catalogue: &crate::spec::Catalogue) -> String {
    let mut out = String::from(
        "| id | level | severity | title | broken by testbed flaw |\n|---|---|---|---|---|\n",
    );
    for r in &catalogue.rules {
        let flaws: Vec<&str> = Flaw::ALL
            .iter()
            .filter(|f| f.breaks().contains(&r.id.as_str()))
            .map(|f| f.name())
            .collect();
        let level = match r.level {
            crate::spec::Level::Must => "must",
            crate::spec::Level::Should => "should",
        };
        let _ = writeln!(
            out,
            "| `{}` | {level} | {} | {} | {} |",
            r.id,
            r.severity,
            r.title,
            flaws
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

/// The readable summary of a fuzz run.
pub fn fuzz_human(
    r: &crate::engine::fuzz::FuzzReport,
    written: Option<&std::path::Path>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "authprobe fuzz — {} — {} cases in {:.1} s (stopped by {}), seed {}",
        r.target,
        r.cases,
        r.duration_ms as f64 / 1000.0,
        r.stopped_by,
        r.seed
    );
    for (g, n) in &r.per_generator {
        let _ = writeln!(out, "  {g:<28} {n} cases");
    }
    if r.findings.is_empty() {
        let _ = writeln!(out, "no findings");
        return out;
    }
    let _ = writeln!(out, "{} distinct findings:", r.findings.len());
    for (i, f) in r.findings.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. {:?} from {} ({} cases): {}",
            i + 1,
            f.kind,
            f.generator,
            f.occurrences,
            sanitize(&f.observed)
        );
        let _ = writeln!(out, "     case: {}", sanitize(&f.case));
        if let Some(v) = &f.value {
            let shown: String = v.chars().take(120).collect();
            let _ = writeln!(
                out,
                "     value: {}{}",
                sanitize(&shown),
                if v.chars().count() > 120 { "…" } else { "" }
            );
        }
        let _ = writeln!(out, "     $ {}", sanitize(&f.curl));
    }
    if let Some(dir) = written {
        let _ = writeln!(out, "finding files: {}", dir.display());
    }
    out
}
