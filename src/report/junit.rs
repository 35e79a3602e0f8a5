//! JUnit XML for CI test-report viewers: one `<testsuite>` per run, one `<testcase>` per rule.
//!
//! Mapping: `pass` → a passing case; `fail` → `<failure>` whose text carries the requirement,
//! what was expected and observed, the counterexample and the transcript with a curl line per
//! request; `skip` → `<skipped>` with the reason; `inconclusive` → `<skipped>` whose message
//! starts `inconclusive:` (and a `status` property, so a viewer that only counts skips still
//! tells them apart); `error` → `<error>`. Serialisation (and XML escaping) is `quick-junit`'s.
//! Owns only the conversion: it sends nothing, reads nothing and prints nothing.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::sanitize;
use crate::engine::{Report, RuleResult, Status};

/// Name of the `<testsuites>` element.
pub const SUITES_NAME: &str = "authprobe";

/// The suite (and class) name for a report: `authprobe: <target name>`.
pub fn suite_name(report: &Report) -> String {
    format!("{SUITES_NAME}: {}", xml_text(&report.target.name))
}

/// Text that survives XML 1.0: terminal control characters and the non-characters U+FFFE and
/// U+FFFF become U+FFFD (quick-junit would silently drop the control characters).
fn xml_text(text: &str) -> String {
    sanitize(text)
        .chars()
        .map(|c| match c {
            '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// The failure/error text: requirement, expected, observed, reason, counterexample, notes and
/// the transcript with one curl line per request.
pub fn failure_text(r: &RuleResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "requirement: {}", r.requirement);
    for line in super::token_lines(r) {
        let _ = writeln!(out, "{line}");
    }
    if let Some(e) = &r.expected() {
        let _ = writeln!(out, "expected:    {e}");
    }
    if let Some(o) = &r.observed() {
        let _ = writeln!(out, "observed:    {o}");
    }
    if let Some(reason) = r.reason().filter(|x| r.observed() != Some(x.as_str())) {
        let _ = writeln!(out, "reason:      {reason}");
    }
    if let Some(c) = &r.counterexample() {
        let _ = writeln!(
            out,
            "counterexample: seed {} (replay with --seed {}{}), case {}, shrunk in {} steps",
            c.seed,
            c.seed,
            r.replay_only(),
            c.case,
            c.shrink_steps
        );
        if c.steps.is_empty() {
            for (i, step) in c.input.iter().enumerate() {
                let _ = writeln!(out, "  {}. {step}", i + 1);
            }
        } else {
            for s in &c.steps {
                let _ = writeln!(
                    out,
                    "  {}{}. {} — expected {}, observed {}",
                    if s.failing { "→ " } else { "" },
                    s.step,
                    s.operation,
                    s.expected,
                    s.observed
                );
            }
        }
        let _ = writeln!(out, "  → {}", c.observed);
        if let Some(script) = &c.replay_script {
            let _ = writeln!(out, "replay script:\n{script}");
        }
    }
    for note in &r.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if !r.evidence.is_empty() {
        let _ = writeln!(out, "transcript ({} requests):", r.evidence.len());
        for (i, e) in r.evidence.iter().enumerate() {
            let ex = &e.exchange;
            let _ = writeln!(
                out,
                "  {}. {} — {} {} → {}",
                i + 1,
                e.step,
                ex.request.method,
                ex.request.url,
                ex.response.status
            );
            for (k, v) in &ex.response.headers {
                if k.eq_ignore_ascii_case("set-cookie") || k.eq_ignore_ascii_case("location") {
                    let _ = writeln!(out, "     < {k}: {v}");
                }
            }
            for line in e.curl.lines() {
                let _ = writeln!(out, "     $ {line}");
            }
        }
    }
    xml_text(&out)
}

fn one_line(r: &RuleResult) -> String {
    let reason = r.reason();
    let text = r
        .observed()
        .or(reason.as_deref())
        .unwrap_or(r.status().as_str());
    xml_text(&text.replace(['\r', '\n'], " "))
}

fn test_case(suite: &str, r: &RuleResult) -> TestCase {
    let status = match r.status() {
        Status::Pass => TestCaseStatus::success(),
        Status::Fail | Status::Error => {
            let kind = if r.status() == Status::Fail {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(one_line(r))
                .set_type(format!("{}/{}", r.status().as_str(), r.severity))
                .set_description(failure_text(r));
            s
        }
        Status::Skip => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(one_line(r)).set_type("skip");
            s
        }
        Status::Inconclusive => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("inconclusive: {}", one_line(r)))
                .set_type("inconclusive")
                .set_description(failure_text(r));
            s
        }
    };
    let mut case = TestCase::new(r.label(), status);
    case.set_classname(suite)
        .set_time(Duration::from_millis(r.duration_ms))
        .add_property(Property::new("status", r.status().as_str()))
        .add_property(Property::new("severity", r.severity.to_string()))
        .add_property(Property::new("title", xml_text(&r.title)))
        .add_property(Property::new("requests", r.requests.to_string()));
    if let Some(mode) = &r.mode {
        case.add_property(Property::new("mode", mode.as_str()));
    }
    case
}

/// The report as JUnit XML: one `<testsuite>` named after the target, one `<testcase>` per
/// rule (classname = the suite name, name = the rule id). Never panics: a serialisation error
/// (which quick-junit only reports for I/O) becomes an XML comment.
pub fn render(report: &Report) -> String {
    let name = suite_name(report);
    let mut suite = TestSuite::new(name.as_str());
    suite
        .set_time(Duration::from_millis(report.duration_ms))
        .add_property(Property::new("target", xml_text(&report.target.name)))
        .add_property(Property::new("base_url", xml_text(&report.target.base_url)))
        .add_property(Property::new("seed", report.seed.to_string()))
        .add_property(Property::new("authprobe.version", report.tool.version))
        .add_properties(
            report
                .incomplete
                .iter()
                .map(|why| Property::new("incomplete", xml_text(why))),
        )
        .add_test_cases(report.results.iter().map(|r| test_case(&name, r)));
    let mut junit = quick_junit::Report::new(SUITES_NAME);
    junit
        .set_time(Duration::from_millis(report.duration_ms))
        .add_test_suite(suite);
    junit.to_string().unwrap_or_else(|e| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- cannot serialise report: {} -->\n<testsuites name=\"authprobe\"/>\n",
            e.to_string().replace("--", "- -")
        )
    })
}

#[cfg(test)]
mod tests {
    use quick_xml::Reader;
    use quick_xml::events::Event;

    use super::*;
    use crate::report::tests as sample;

    /// Parses the whole document; returns the element names in order.
    fn elements(xml: &str) -> Vec<String> {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().check_end_names = true;
        let mut names = Vec::new();
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                    names.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                    for a in e.attributes() {
                        a.expect("well-formed attribute");
                    }
                }
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!(
                    "not well-formed at {}: {e}\n{xml}",
                    reader.buffer_position()
                ),
            }
        }
        names
    }

    #[test]
    fn junit_is_well_formed_with_one_failure_per_failed_rule() {
        let xml = render(&sample::report(1, "abc"));
        let names = elements(&xml);
        let count = |n: &str| names.iter().filter(|x| *x == n).count();
        assert_eq!(count("testsuites"), 1);
        assert_eq!(count("testsuite"), 1);
        assert_eq!(count("testcase"), 5);
        assert_eq!(count("failure"), 1, "{xml}");
        assert_eq!(count("error"), 1, "{xml}");
        assert_eq!(count("skipped"), 2, "{xml}");
        assert!(xml.contains("name=\"cookie.http-only\""));
        assert!(xml.contains("classname=\"authprobe: shop &lt;&amp;&gt; &quot;prod&quot;\""));
        assert!(xml.contains("message=\"inconclusive: the untampered token"));
        assert!(xml.contains("$ curl -sS -i -X POST"), "{xml}");
        assert!(xml.contains("requirement: The rule cookie.http-only MUST hold."));
        assert!(xml.contains("&lt;script&gt;"), "{xml}");
        assert!(!xml.contains("<script>"));
    }

    #[test]
    fn junit_survives_control_characters_from_the_target() {
        let mut report = sample::report(1, "a\u{1b}[31mb\u{0}c\u{fffe}");
        report.target.name = "x\u{7}y".into();
        let xml = render(&report);
        elements(&xml);
        assert!(!xml.contains('\u{1b}') && !xml.contains('\u{0}') && !xml.contains('\u{fffe}'));
    }
}
