//! A Markdown summary for pull-request comments and `$GITHUB_STEP_SUMMARY` (GitHub-flavoured
//! Markdown): a heading and a summary line with counts, a table of every rule, then one folded
//! `<details>` block per failed, inconclusive or errored rule with the requirement, expected,
//! observed, counterexample and the curl lines.
//!
//! Everything that came from the target or the specs is escaped: inline text with
//! [`escape_inline`] (Markdown punctuation, `|` for tables, and `<`, `>`, `&` as entities, so
//! hostile text can neither break the table nor inject HTML), code with [`code_span`] and
//! [`fenced`] (fences longer than any run of backticks inside). No emoji: status words only.
//! Owns only the conversion: it sends nothing, reads nothing and prints nothing.

use std::fmt::Write as _;

use super::sanitize;
use crate::engine::{Report, RuleResult, Status};
use crate::gate::Gate;

/// Escapes text for inline Markdown (a paragraph or a table cell): line breaks become spaces,
/// `<`, `>` and `&` become entities, and Markdown punctuation (including `|` and backticks)
/// gets a backslash.
pub fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in sanitize(text).chars() {
        match c {
            '\r' | '\n' | '\t' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn longest_backtick_run(text: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in text.chars() {
        if c == '`' {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// Inline code: a backtick fence longer than any run of backticks in `text`, padded with a
/// space when the text starts or ends with a backtick. In a table cell (`in_table`) `|` is
/// written `\|`, which GFM turns back into `|` inside the code span.
pub fn code_span(text: &str, in_table: bool) -> String {
    let mut text = sanitize(text).replace(['\r', '\n'], " ");
    if in_table {
        text = text.replace('|', "\\|");
    }
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A fenced code block with the info string `info`, fenced with more backticks than any run
/// inside the text.
pub fn fenced(text: &str, info: &str) -> String {
    let text = sanitize(text);
    let fence = "`".repeat((longest_backtick_run(&text) + 1).max(3));
    format!("{fence}{info}\n{}\n{fence}\n", text.trim_end_matches('\n'))
}

/// Escapes text for HTML (inside `<summary>`, where Markdown is not processed).
fn html(text: &str) -> String {
    sanitize(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Skip => "SKIP",
        Status::Inconclusive => "INCONCLUSIVE",
        Status::Error => "ERROR",
    }
}

/// The overall verdict word for the summary line.
fn verdict(report: &Report, gate: Option<&Gate>) -> &'static str {
    match crate::gate::exit_code(report, gate) {
        0 => "PASSED",
        1 => "FAILED",
        _ => "INCOMPLETE",
    }
}

fn details(out: &mut String, r: &RuleResult) {
    let _ = writeln!(
        out,
        "<details>\n<summary><strong>{}</strong> <code>{}</code> ({}): {}</summary>\n",
        status_word(r.status()),
        html(&r.label()),
        r.severity,
        html(&r.title)
    );
    let _ = writeln!(out, "**Requirement:** {}\n", escape_inline(&r.requirement));
    let tokens = super::token_lines(r);
    if !tokens.is_empty() {
        let _ = writeln!(out, "**Per token:**\n");
        for line in &tokens {
            let _ = writeln!(out, "- {}", escape_inline(line));
        }
        let _ = writeln!(out);
    }
    if let Some(reason) = r.reason().filter(|x| r.observed() != Some(x.as_str())) {
        let _ = writeln!(out, "**Reason:** {}\n", escape_inline(&reason));
    }
    if let Some(e) = &r.expected() {
        let _ = writeln!(out, "**Expected:**\n\n{}", fenced(e, "text"));
    }
    if let Some(o) = &r.observed() {
        let _ = writeln!(out, "**Observed:**\n\n{}", fenced(o, "text"));
    }
    if let Some(c) = &r.counterexample() {
        let _ = writeln!(
            out,
            "**Counterexample** (seed {}, case {}, shrunk in {} steps; replay with {}):\n",
            c.seed,
            c.case,
            c.shrink_steps,
            code_span(&format!("--seed {}{}", c.seed, r.replay_only()), false)
        );
        if c.steps.is_empty() {
            for (i, step) in c.input.iter().enumerate() {
                let _ = writeln!(out, "{}. {}", i + 1, escape_inline(step));
            }
        } else {
            let _ = writeln!(
                out,
                "| # | operation | expected | observed |\n|---|---|---|---|"
            );
            for s in &c.steps {
                let mark = if s.failing { " **← disagrees**" } else { "" };
                let _ = writeln!(
                    out,
                    "| {} | {}{} | {} | {}{mark} |",
                    s.step,
                    escape_inline(&s.operation).replace('|', "\\|"),
                    if s.setup { " (set-up)" } else { "" },
                    escape_inline(&s.expected).replace('|', "\\|"),
                    escape_inline(&s.observed).replace('|', "\\|"),
                );
            }
        }
        let _ = writeln!(
            out,
            "\nThe server answered:\n\n{}",
            fenced(&c.observed, "text")
        );
        if let Some(script) = &c.replay_script {
            let _ = writeln!(out, "Replay script:\n\n{}", fenced(script, "sh"));
        }
    }
    if !r.notes.is_empty() {
        let _ = writeln!(out, "**Notes:**\n");
        for note in &r.notes {
            let _ = writeln!(out, "- {}", escape_inline(note));
        }
        let _ = writeln!(out);
    }
    if !r.evidence.is_empty() {
        let mut script = String::new();
        for (i, e) in r.evidence.iter().enumerate() {
            let ex = &e.exchange;
            let _ = writeln!(
                script,
                "# {}. {} — {} {} → {}",
                i + 1,
                e.step.replace('\n', " "),
                ex.request.method,
                ex.request.url,
                ex.response.status
            );
            let _ = writeln!(script, "{}", e.curl);
        }
        let n = r.evidence.len();
        let _ = writeln!(
            out,
            "**Transcript** ({n} request{}, secrets redacted):\n\n{}",
            if n == 1 { "" } else { "s" },
            fenced(&script, "sh")
        );
    }
    let _ = writeln!(out, "</details>\n");
}

/// The report as GitHub-flavoured Markdown.
pub fn render(report: &Report, gate: Option<&Gate>) -> String {
    let s = report.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### authprobe: {}\n",
        escape_inline(&report.target.name)
    );
    let _ = writeln!(
        out,
        "**{}**: {} failed, {} passed, {} skipped, {} inconclusive, {} errors. Target {}, seed {}, {} requests in {:.2} s, authprobe {}.\n",
        verdict(report, gate),
        s.fail,
        s.pass,
        s.skip,
        s.inconclusive,
        s.error,
        code_span(&report.target.base_url, false),
        report.seed,
        report.requests,
        report.duration_ms as f64 / 1000.0,
        report.tool.version
    );
    if let Some(why) = &report.incomplete {
        let _ = writeln!(
            out,
            "**Incomplete: {}**: the rules that did not finish are listed as not run.\n",
            escape_inline(why)
        );
    }
    let _ = writeln!(out, "| status | rule | severity | title |");
    let _ = writeln!(out, "|---|---|---|---|");
    for r in &report.results {
        let word = status_word(r.status());
        let status = if r.status() == Status::Pass {
            word.to_string()
        } else {
            format!("**{word}**")
        };
        let _ = writeln!(
            out,
            "| {status} | {} | {} | {} |",
            code_span(&r.label(), true),
            r.severity,
            escape_inline(&r.title)
        );
    }
    let _ = writeln!(out);
    for r in &report.results {
        if matches!(
            r.status(),
            Status::Fail | Status::Inconclusive | Status::Error
        ) {
            details(&mut out, r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests as sample;

    #[test]
    fn escape_inline_neutralises_tables_code_and_html() {
        assert_eq!(
            escape_inline("a|b `c` <script>&\n*x*"),
            "a\\|b \\`c\\` &lt;script&gt;&amp; \\*x\\*"
        );
    }

    #[test]
    fn code_span_outgrows_backticks_and_escapes_pipes_in_tables() {
        assert_eq!(code_span("a`b", false), "``a`b``");
        assert_eq!(code_span("`x`", false), "`` `x` ``");
        assert_eq!(code_span("a|b", true), "`a\\|b`");
        assert_eq!(code_span("a|b", false), "`a|b`");
    }

    #[test]
    fn fenced_outgrows_backtick_fences() {
        assert_eq!(fenced("```\nx", "text"), "````text\n```\nx\n````\n");
    }

    /// Golden file: `tests/data/reports/sample.md`; rewrite it with `UPDATE_GOLDEN=1`.
    #[test]
    fn markdown_matches_golden_file() {
        let md =
            render(&sample::report(1, "abc"), None).replace(env!("CARGO_PKG_VERSION"), "VERSION");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/reports/sample.md");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(path, &md).expect("write golden");
        }
        let golden = std::fs::read_to_string(path).expect("golden file");
        assert_eq!(
            md, golden,
            "rerun with UPDATE_GOLDEN=1 after checking the diff"
        );
    }

    #[test]
    fn markdown_table_has_one_row_per_rule_and_details_for_problems() {
        let md = render(&sample::report(1, "abc"), None);
        assert!(
            md.contains("**FAILED**: 1 failed, 1 passed, 1 skipped, 1 inconclusive, 1 errors.")
        );
        let rows = md.lines().filter(|l| l.starts_with("| ")).count();
        assert_eq!(rows, 1 + 5, "header + one row per rule");
        assert_eq!(md.matches("<details>").count(), 3);
        assert!(
            md.contains("| **FAIL** | `cookie.http-only` | high | Session cookie is HttpOnly |")
        );
        assert!(
            md.contains("| Session ids are \\`unpredictable\\` \\| random |"),
            "{md}"
        );
        // Hostile text is literal only inside the fenced Observed block.
        assert_eq!(md.matches("<script>").count(), 1, "{md}");
        let fence = md
            .find("**Observed:**\n\n```text\n")
            .expect("observed fence");
        let script = md.find("<script>").unwrap();
        assert!(
            script > fence && !md[fence + 20..script].contains("```"),
            "{md}"
        );
        assert!(md.contains("curl -sS -i -X POST"));
    }
}
