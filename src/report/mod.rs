//! Reporters: turn the engine's events and report into text for people (with optional ANSI
//! colours) or JSON for machines. They return strings; the binary decides where they go
//! (the report on stdout, progress on stderr), after passing the final bytes through
//! [`seal`], the one choke point every writer calls. Nothing here sends requests or reads
//! files.

pub mod har;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod sarif;
mod seal;

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::{Event, Inconclusive, Outcome, Report, RuleResult, Status};
use crate::gate::Gate;

pub use crate::text::sanitize;
pub use seal::{seal, seal_note, seal_text};

/// Output format of `check`/`demo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Readable text.
    Human,
    /// The JSON report (`authprobe.report/v1`).
    Json,
    /// JUnit XML for CI test-report viewers.
    Junit,
    /// SARIF 2.1.0 for code-scanning upload.
    Sarif,
    /// Markdown for pull-request comments and step summaries.
    Markdown,
    /// A self-contained HTML page.
    Html,
    /// HAR 1.2 (HTTP Archive): the run's requests and responses, one page per rule.
    Har,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 7] = [
        Format::Human,
        Format::Json,
        Format::Junit,
        Format::Sarif,
        Format::Markdown,
        Format::Html,
        Format::Har,
    ];

    /// The format's name: `human`, `json`, `junit`, `sarif`, `markdown`, `html`, `har`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Sarif => "sarif",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Har => "har",
        }
    }

    /// One line saying what the format is (shown by `--help`).
    pub fn summary(self) -> &'static str {
        match self {
            Format::Human => "Readable text",
            Format::Json => "The JSON report (`authprobe.report/v1`)",
            Format::Junit => "JUnit XML",
            Format::Sarif => "SARIF 2.1.0",
            Format::Markdown => "Markdown summary",
            Format::Html => "Self-contained HTML",
            Format::Har => "HAR 1.2 (HTTP Archive) of the run's traffic",
        }
    }

    /// Parses a [name](Format::name) in any case, or the aliases `text`, `xml` and `md`.
    pub fn parse(s: &str) -> Option<Format> {
        let s = s.to_ascii_lowercase();
        let name = match s.as_str() {
            "text" => "human",
            "xml" => "junit",
            "md" => "markdown",
            s => s,
        };
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Renders a report in `format`. `profile` names the profile file for SARIF locations.
/// The CI gate's decision, when one was applied (`--fail-on`, `--baseline`). HAR is made
/// from the rules' transcripts here; [`har::render`] takes the run's capture as well.
pub fn render(
    format: Format,
    report: &Report,
    gate: Option<&Gate>,
    catalogue: &crate::spec::Catalogue,
    profile: Option<&str>,
    color: bool,
) -> String {
    match format {
        Format::Human => human(report, gate, color),
        Format::Json => json(report, gate),
        Format::Junit => junit::render(report),
        Format::Sarif => sarif::render_with_profile(report, gate, catalogue, profile),
        Format::Markdown => markdown::render(report, gate),
        Format::Html => html::render(report, gate, catalogue),
        Format::Har => har::render(report, None),
    }
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

/// One progress line for an event (for stderr), or none.
pub fn progress_line(event: &Event, done: usize, total: usize) -> Option<String> {
    match event {
        Event::Started {
            target,
            rules,
            seed,
        } => Some(format!(
            "authprobe: testing {} ({}{}) — {rules} rules, seed {seed}{}",
            sanitize(&target.name),
            target.base_url,
            if target.replicas.is_empty() {
                String::new()
            } else {
                format!("; replicas {}", target.replicas.join(", "))
            } + &target.modes_words(),
            // How the run was sized to the service, when it differs from what was asked.
            target
                .limits
                .notes
                .iter()
                .map(|n| format!("\nauthprobe: {}", sanitize(n)))
                .collect::<String>()
        )),
        Event::RuleFinished(r) => Some(format!(
            "[{done}/{total}] {:<12} {}",
            r.status().as_str(),
            r.label()
        )),
    }
}

/// The JSON report, pretty-printed, with the gate's decision (when one was applied) last.
pub fn json(report: &Report, gate: Option<&Gate>) -> String {
    #[derive(Serialize)]
    struct Gated<'a> {
        #[serde(flatten)]
        report: &'a Report,
        #[serde(skip_serializing_if = "Option::is_none")]
        gate: Option<&'a Gate>,
    }
    serde_json::to_string_pretty(&Gated { report, gate })
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise report: {e}\"}}"))
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line per token a rule judged (`ID token: fail — …`), for a rule that judged the
/// access token and the ID token of a login; empty otherwise. Every reporter shows them.
pub(crate) fn token_lines(r: &RuleResult) -> Vec<String> {
    r.tokens
        .iter()
        .map(|p| {
            let noun = p.token.noun();
            let mut line = format!(
                "{}{}: {}",
                noun[..1].to_uppercase(),
                &noun[1..],
                p.status.as_str()
            );
            if !p.summary.is_empty() {
                line.push_str(" — ");
                line.push_str(&p.summary);
            }
            line
        })
        .collect()
}

fn details(out: &mut String, r: &RuleResult, st: &Style) {
    let _ = writeln!(out, "      requirement: {}", r.requirement);
    for line in token_lines(r) {
        let _ = writeln!(out, "      {}", sanitize(&line));
    }
    if let Some(e) = &r.expected() {
        let _ = writeln!(out, "      expected:    {}", sanitize(e));
    }
    if let Some(o) = &r.observed() {
        let _ = writeln!(out, "      observed:    {}", sanitize(o));
    } else if let Some(reason) = &r.reason() {
        let _ = writeln!(out, "      reason:      {}", sanitize(reason));
    }
    if let Some(c) = &r.counterexample() {
        if c.steps.is_empty() {
            let _ = writeln!(
                out,
                "      counterexample (seed {}, case {}, shrunk in {} steps): {} → {}",
                c.seed,
                c.case,
                c.shrink_steps,
                sanitize(&c.input.join(", then ")),
                c.observed
            );
        } else {
            let _ = writeln!(
                out,
                "      counterexample (seed {}, sequence {}, shrunk in {} runs; replay with --seed {}{}):",
                c.seed,
                c.case,
                c.shrink_steps,
                c.seed,
                r.replay_only()
            );
            for s in &c.steps {
                let _ = writeln!(
                    out,
                    "        {}{:>2}. {}{}",
                    if s.failing { "→" } else { " " },
                    s.step,
                    sanitize(&s.operation),
                    if s.setup { " (set-up)" } else { "" }
                );
                let _ = writeln!(
                    out,
                    "             expected {} · observed {}",
                    sanitize(&s.expected),
                    sanitize(&s.observed)
                );
            }
            if let Some(script) = &c.replay_script {
                let _ = writeln!(out, "      replay script:");
                for line in script.lines() {
                    let _ = writeln!(out, "        {}", sanitize(line));
                }
            }
        }
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
pub fn human(report: &Report, gate: Option<&Gate>, color: bool) -> String {
    let st = Style { color };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "authprobe {} — {} ({}{}), {}, seed {}",
        report.tool.version,
        sanitize(&report.target.name),
        report.target.base_url,
        report.target.modes_words(),
        match report.target.session_cookie.as_deref() {
            Some(c) => format!("session cookie `{c}`"),
            None => "no cookie session (token only)".to_string(),
        },
        report.seed
    );
    let _ = writeln!(out);
    // One column for the labels (`id` or `id [mode]`), as wide as the longest.
    let width = report
        .results
        .iter()
        .map(|r| r.label().chars().count())
        .max()
        .unwrap_or(0)
        .max(28);
    for r in &report.results {
        let _ = writeln!(
            out,
            "  {} {:<width$} {}",
            st.status(r.status()),
            r.label(),
            r.title
        );
        match r.status() {
            Status::Pass => {}
            Status::Skip => {
                if let Some(reason) = &r.reason() {
                    let _ = writeln!(out, "      reason: {}", sanitize(reason));
                }
            }
            _ => details(&mut out, r, &st),
        }
    }
    let s = report.summary;
    if let Some(g) = gate {
        let _ = writeln!(out);
        for (id, reason) in &g.baselined {
            let _ = writeln!(out, "  baselined: {id} — {}", sanitize(reason));
        }
        for id in &g.below_threshold {
            let _ = writeln!(out, "  below --fail-on: {id}");
        }
        for id in &g.stale {
            let _ = writeln!(out, "  stale baseline entry (the rule passes now): {id}");
        }
        for id in &g.expired {
            let _ = writeln!(out, "  expired baseline entry (fails the run): {id}");
        }
        let _ = writeln!(
            out,
            "  gate: {} ({} counted failures)",
            if g.fails() { "FAIL" } else { "pass" },
            g.counted.len()
        );
    }
    let _ = writeln!(out);
    if let Some(why) = &report.incomplete {
        let _ = writeln!(
            out,
            "incomplete: {} — the rules that did not finish are listed as not run",
            sanitize(why)
        );
    }
    budget_lines(&mut out, report);
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

/// Under a budget: the plan in one line, then the rules that ran less than they ask for
/// (`reduced: session.model (16 of 64 sequences)`) and those the budget ended or never ran.
fn budget_lines(out: &mut String, report: &Report) {
    let Some(b) = &report.target.limits.budget else {
        return;
    };
    let _ = writeln!(
        out,
        "budget {:.0} s: planned {:.1} s for the rules (every rule in full: an estimated {:.0} s), one login {} ms",
        b.budget_ms as f64 / 1000.0,
        b.planned_ms as f64 / 1000.0,
        b.unbounded_ms as f64 / 1000.0,
        b.login_ms
    );
    let reduced: Vec<String> = report
        .results
        .iter()
        .filter_map(|r| {
            let c = r.coverage.filter(|c| c.ran < c.requested)?;
            Some(format!(
                "{} ({} of {} {})",
                r.label(),
                c.ran,
                c.requested,
                c.unit.word()
            ))
        })
        .collect();
    if !reduced.is_empty() {
        let _ = writeln!(out, "  reduced by the budget: {}", reduced.join(", "));
    }
    // The run's logins: how many were sent and how many shared (the engine's last note).
    for note in report
        .target
        .limits
        .notes
        .iter()
        .filter(|n| n.starts_with("logins: "))
    {
        let _ = writeln!(out, "  {}", sanitize(note));
    }
    let ended: Vec<String> = report
        .results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Inconclusive(Inconclusive::Budget(_))))
        .map(RuleResult::label)
        .collect();
    if !ended.is_empty() {
        let _ = writeln!(
            out,
            "  inconclusive for lack of budget: {}",
            ended.join(", ")
        );
    }
}

/// One flaw of the testbed, as listed by `demo --list-flaws`: the data the flaw listings
/// render (built by `crate::demo`; this module knows nothing of the testbed).
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

/// One quirk of the testbed, as listed by `demo --list-quirks`.
#[derive(Debug, Clone, Serialize)]
pub struct QuirkInfo {
    /// The `--quirk` name.
    pub name: &'static str,
    /// The legitimate behaviour it adds.
    pub description: &'static str,
    /// What the demo profile declares for it (YAML), when the service must declare it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<&'static str>,
    /// The flaws it hides (their behaviour no longer exists or shows under it).
    pub masks: Vec<&'static str>,
}

/// `demo --list-quirks` as text.
pub fn quirks_text(quirks: &[QuirkInfo]) -> String {
    let mut out = String::new();
    for q in quirks {
        let _ = writeln!(out, "{:<30} {}", q.name, q.description);
        if let Some(d) = q.declared {
            let _ = writeln!(
                out,
                "{:<30} the profile declares: {}",
                "",
                d.replace('\n', " ")
            );
        }
        if !q.masks.is_empty() {
            let _ = writeln!(out, "{:<30} hides the flaws {}", "", q.masks.join(", "));
        }
    }
    out
}

/// The quirks as a Markdown table (the README's quirk table is this, checked by a test).
pub fn quirk_table(quirks: &[QuirkInfo]) -> String {
    let mut out = String::from(
        "| quirk | legitimate behaviour | the demo profile declares | hides the flaws |\n|---|---|---|---|\n",
    );
    for q in quirks {
        let declared = q
            .declared
            .map(|d| format!("`{}`", d.split_whitespace().collect::<Vec<_>>().join(" ")))
            .unwrap_or_default();
        let masks: Vec<String> = q.masks.iter().map(|m| format!("`{m}`")).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {declared} | {} |",
            q.name,
            q.description,
            masks.join(", ")
        );
    }
    out
}

/// `demo --list-quirks --format json`.
pub fn quirks_json(quirks: &[QuirkInfo]) -> String {
    serde_json::to_string_pretty(quirks).unwrap_or_default()
}

/// The names of the flaws in `flaws` that must break rule `id`, in listing order.
fn flaws_breaking<'f>(flaws: &'f [FlawInfo], id: &str) -> Vec<&'f str> {
    flaws
        .iter()
        .filter(|f| f.breaks.contains(&id))
        .map(|f| f.name)
        .collect()
}

/// `demo --list-flaws` as text.
pub fn flaws_text(flaws: &[FlawInfo]) -> String {
    let mut out = String::new();
    for f in flaws {
        let _ = writeln!(out, "{:<30} breaks {}", f.name, f.breaks.join(", "));
        if !f.may_break.is_empty() {
            let _ = writeln!(out, "{:<30} may also break {}", "", f.may_break.join(", "));
        }
        let _ = writeln!(out, "{:<30} {}", "", f.description);
    }
    out
}

/// `demo --list-flaws --format json`.
pub fn flaws_json(flaws: &[FlawInfo]) -> String {
    serde_json::to_string_pretty(flaws).unwrap_or_default()
}

/// The catalogue as a Markdown table, each rule with the `flaws` that break it (the README's
/// rule table is this, checked by a test).
pub fn rule_table(catalogue: &crate::spec::Catalogue, flaws: &[FlawInfo]) -> String {
    let mut out = String::from(
        "| id | level | severity | title | broken by testbed flaw |\n|---|---|---|---|---|\n",
    );
    for r in &catalogue.rules {
        let breaking = flaws_breaking(flaws, &r.id);
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
            breaking
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

/// The readable summary of a fuzz run.
pub fn fuzz_human(r: &crate::fuzzer::FuzzReport, written: Option<&std::path::Path>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "authprobe fuzz — {} — {} cases in {:.1} s ({}), seed {}",
        r.target,
        r.cases,
        r.duration_ms as f64 / 1000.0,
        r.stop_reason(),
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
            "  {}. {} from {} ({} cases): {}",
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

/// `authprobe rules` as a text table.
pub fn rules_text(c: &crate::spec::Catalogue) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<34} {:<6} {:<8} title", "id", "level", "severity");
    for r in &c.rules {
        let level = match r.level {
            crate::spec::Level::Must => "must",
            crate::spec::Level::Should => "should",
        };
        let _ = writeln!(
            out,
            "{:<34} {:<6} {:<8} {}",
            r.id,
            level,
            r.severity.to_string(),
            r.title
        );
    }
    let _ = write!(
        out,
        "{} rules; `authprobe explain RULE` for details",
        c.rules.len()
    );
    out
}

/// One catalogue entry in `authprobe rules --format json`.
#[derive(Debug, Serialize)]
struct RuleInfo<'a> {
    id: &'a str,
    title: &'a str,
    level: crate::spec::Level,
    severity: crate::spec::Severity,
    requirement: &'a str,
    references: &'a [String],
    requires: Vec<&'static str>,
    kind: &'static str,
}

/// `authprobe rules --format json`.
pub fn rules_json(c: &crate::spec::Catalogue) -> String {
    let list: Vec<RuleInfo> = c
        .rules
        .iter()
        .map(|r| RuleInfo {
            id: &r.id,
            title: &r.title,
            level: r.level,
            severity: r.severity,
            requirement: &r.requirement,
            references: &r.references,
            requires: r.requires.iter().map(|c| c.name()).collect(),
            kind: r.kind.name(),
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_default()
}

/// How to check a rule by hand with curl (placeholders in capitals).
pub fn manual_check(rule: &crate::spec::Rule) -> String {
    use crate::spec::{
        Check, CookieAssertion as C, JwtAssertion as J, RuleKind, SessionIdAssertion as S,
        TokenAssertion, TransportAssertion as T,
    };
    let login = "curl -si -X POST https://APP/LOGIN -d 'username=USER&password=PASS'";
    match &rule.kind {
        RuleKind::Check(Check::Cookie(a)) => format!(
            "{login} | grep -i '^set-cookie'\n# then look at the session cookie's attributes: {}",
            match a {
                C::HttpOnly => "HttpOnly must be present",
                C::Secure => "Secure must be present",
                C::SameSite => "SameSite=Lax or Strict",
                C::Scope => "no Domain attribute",
                C::Prefix => "name starts with __Host-, with Secure, Path=/ and no Domain (`authprobe inspect set-cookie --url URL 'HEADER'` shows what a browser does)",
                C::Lifetime => "no Max-Age/Expires beyond the policy (1 day by default)",
            }
        ),
        RuleKind::Check(Check::SessionId(S::Opaque)) => format!(
            "{login} | grep -i '^set-cookie'\n# decode the id: echo 'VALUE' | base64 -d; it must not be readable text, JSON or a JWT"
        ),
        RuleKind::Check(Check::SessionId(S::Entropy)) => format!(
            "for i in $(seq 32); do {login} | grep -io 'SESSION=[^;]*'; done | sort\n# the ids must be unique, look random and share no long prefix"
        ),
        RuleKind::Check(Check::Jwt(a)) => format!(
            "authprobe inspect jwt \"$TOKEN\" --jwks https://APP/.well-known/jwks.json\n# {}",
            match a {
                J::PayloadNoSecrets => "the payload section must show no password hashes, API keys or private keys",
                J::PayloadNoPersonalData => "the payload section must show no email, phone, address or ids",
                J::ExpiryPresent => "exp must be present",
                J::ShortLived => "exp - iat must be at most 15 minutes",
                J::WeakSecret => "for HS* tokens, try common secrets offline (e.g. hashcat -m 16500)",
                J::JwksSound => "it must verify, not be refused; and the JWKS must hold no oct key nor an RSA key the same command refuses (short, ROCA)",
            }
        ),
        RuleKind::Check(Check::Token(TokenAssertion::RevokedOnLogout)) => "curl -si https://APP/PROTECTED -H \"Authorization: Bearer $TOKEN\"\ncurl -si -X POST https://APP/LOGOUT -H \"Authorization: Bearer $TOKEN\"\ncurl -si https://APP/PROTECTED -H \"Authorization: Bearer $TOKEN\"\n# after logout the token must be refused (or, if declared stateless, expire within 15 minutes)".into(),
        RuleKind::Check(Check::Transport(a)) => match a {
            T::NoStore => format!("{login} | grep -i '^cache-control'\n# must include no-store"),
            T::Csp => "curl -si https://APP/ | grep -i '^content-security-policy'\n# no 'unsafe-inline'/'unsafe-eval' without nonces, object-src 'none', base-uri set".into(),
            T::ApiHeaders => "curl -si https://APP/PROTECTED -H \"Authorization: Bearer $TOKEN\" | grep -iE '^(cache-control|content-type|x-content-type-options|content-security-policy|strict-transport-security)'\n# no-store, a JSON content type, nosniff, frame-ancestors 'none', and HSTS over https".into(),
            T::CorsCredentials => "curl -si https://APP/PROTECTED -H 'Cookie: SESSION=VALUE' -H 'Origin: https://evil.example' | grep -i '^access-control'\n# must not echo the origin with Access-Control-Allow-Credentials: true".into(),
            T::Csrf => "curl -si -X POST https://APP/LOGOUT -H 'Cookie: SESSION=VALUE' -H 'Origin: https://evil.example'\ncurl -si https://APP/PROTECTED -H 'Cookie: SESSION=VALUE'\n# without the CSRF token the logout must be refused and the session must still work".into(),
            T::TokenInBody => format!("{login}\n# the session id or access token must not appear in the response body"),
        },
        RuleKind::Scenario(steps) => {
            let mut t = String::from("# one cookie file per client (curl -c CLIENT.txt -b CLIENT.txt), then:\n");
            for (i, step) in steps.iter().enumerate() {
                t.push_str(&format!("# {}. {}\n", i + 1, describe_step(step)));
            }
            t
        }
        RuleKind::Property(_) => "curl -si https://APP/PROTECTED -H 'Cookie: SESSION=ALTERED_VALUE'\n# every altered value must be refused; authprobe reports the smallest accepted change and its seed".into(),
        RuleKind::Attack(_) => "curl -si https://APP/PROTECTED -H \"Authorization: Bearer $FORGED\"\n# every forged token must be refused; `authprobe check --only RULE` prints each forged variant".into(),
        RuleKind::Model(m) => manual_model(m),
    }
}

/// The manual check of a `model` rule: its script in words, or how random sequences work.
fn manual_model(m: &crate::spec::Model) -> String {
    use crate::spec::Model;
    let (setup, script): (Vec<String>, Vec<String>) = match m {
        Model::Session(r) => (
            r.setup.iter().map(|o| o.describe()).collect(),
            r.script.iter().map(|o| o.describe()).collect(),
        ),
        Model::Refresh(r) => (
            r.setup.iter().map(|o| o.describe()).collect(),
            r.script.iter().map(|o| o.describe()).collect(),
        ),
    };
    if script.is_empty() {
        let ops = match m {
            Model::Session(_) => {
                "log in (up to three browsers, alice and bob), send the protected request, log out, log out everywhere, replay a session cookie a browser held before"
            }
            Model::Refresh(_) => {
                "token login, access with a current or older access token, refresh with the current token, reuse an older refresh token, two simultaneous refreshes, token logout, RFC 7009 revocation (refresh or access token, right/wrong/no hint, unknown token)"
            }
        };
        return format!(
            "# random sequences of these operations are compared with the reference model:\n#   {ops}\n# a failure prints the shortest disagreeing sequence as numbered steps and a curl script\n# (`counterexample.replay_script` in the JSON report) that replays it"
        );
    }
    let mut t = String::new();
    for (i, s) in setup.iter().chain(&script).enumerate() {
        let role = if i < setup.len() { "set-up" } else { "check" };
        t.push_str(&format!("# {}. ({role}) {s}\n", i + 1));
    }
    t
}

/// `authprobe explain RULE`; the first of the `flaws` that breaks it gives the "see it fail"
/// line.
pub fn explain(rule: &crate::spec::Rule, flaws: &[FlawInfo]) -> String {
    let mut out = String::new();
    let level = match rule.level {
        crate::spec::Level::Must => "must",
        crate::spec::Level::Should => "should",
    };
    let _ = writeln!(out, "{} — {}", rule.id, rule.title);
    let _ = writeln!(out, "level {level}, severity {}", rule.severity);
    let _ = writeln!(out, "\nrequirement:\n  {}", rule.requirement);
    let _ = writeln!(out, "\nwhy:\n  {}", rule.rationale);
    if let Some(fix) = &rule.remediation {
        let _ = writeln!(out, "\nhow to fix:\n  {fix}");
    }
    if !rule.references.is_empty() {
        let _ = writeln!(out, "\nreferences: {}", rule.references.join(", "));
    }
    let needs: Vec<&str> = rule.requires.iter().map(|c| c.name()).collect();
    let _ = writeln!(out, "needs from the profile: {}", needs.join(", "));
    let _ = writeln!(
        out,
        "\nhow to check by hand:\n{}",
        indent(&manual_check(rule), "  ")
    );
    if let Some(f) = flaws_breaking(flaws, &rule.id).first() {
        let _ = writeln!(
            out,
            "\nsee it fail: authprobe demo --flaw {f} --only {}",
            rule.id
        );
    }
    out
}

/// One scenario step in words.
pub fn describe_step(step: &crate::spec::Step) -> String {
    use crate::spec::{PlantValue, Step, Via};
    match step {
        Step::Anonymous(c) => format!("{c}: visit anonymously (run the anonymous flow)"),
        Step::Login(l) => format!("{}: log in as {}", l.client, l.user),
        Step::Logout(c) => format!("{c}: log out"),
        Step::LogoutEverywhere(c) => format!("{c}: log out everywhere"),
        Step::Save(s) => format!("{}: copy the cookie file to `{}`", s.client, s.name),
        Step::Plant(p) => match &p.value {
            PlantValue::Random => {
                format!("{}: put a random session id in the cookie file", p.client)
            }
            PlantValue::Snapshot(n) => format!(
                "{}: put the session id of `{n}` in the cookie file",
                p.client
            ),
        },
        Step::Access(a) => {
            let how = match &a.via {
                Via::Cookie => String::new(),
                Via::Query(n) => {
                    format!(" with the id in the query ({}) and no cookie", n.join(", "))
                }
                Via::PathParam(n) => format!(
                    " with the id as a path parameter ({}) and no cookie",
                    n.join(", ")
                ),
            };
            let replay = a
                .replay
                .as_ref()
                .map(|r| format!(" replaying `{r}`"))
                .unwrap_or_default();
            format!(
                "{}: the protected request{replay}{how} → must be {}",
                a.client, a.expect
            )
        }
        Step::ExpectSessionId(e) => format!(
            "{}: the session id must differ from `{}`",
            e.client, e.differs_from
        ),
        Step::ExpectCookieCleared(c) => format!(
            "{c}: the logout response must expire the session cookie (same Path and Domain)"
        ),
    }
}

/// The reporters' shared fixture: a hand-built report with one result of every status,
/// hostile target text and a property counterexample.
#[cfg(test)]
pub(crate) mod tests {
    use crate::engine::{
        Counterexample, Evidence, Finding, Inconclusive, Outcome, Report, RuleError, RuleResult,
        Skip, Summary, TargetInfo, Tool,
    };
    use crate::http::{Exchange, ProbeRequest, Response, curl_line};
    use crate::spec::{Level, Severity};

    fn result(id: &str, title: &str, severity: Severity, outcome: Outcome) -> RuleResult {
        RuleResult {
            id: id.into(),
            mode: None,
            title: title.into(),
            severity,
            level: Level::Must,
            requirement: format!("The rule {id} MUST hold."),
            outcome,
            tokens: Vec::new(),
            evidence: Vec::new(),
            notes: Vec::new(),
            requests: 2,
            duration_ms: 12,
            coverage: None,
        }
    }

    /// An exchange whose response sets a cookie.
    pub fn evidence(base: &str, step: &str, set_cookie: &str) -> Evidence {
        let url = url::Url::parse(base)
            .and_then(|u| u.join("/login"))
            .expect("url");
        let exchange = Exchange {
            request: ProbeRequest::post(url)
                .header("Cookie", "sid=[redacted]")
                .body(
                    b"user=alice&password=[redacted]".to_vec(),
                    "application/x-www-form-urlencoded",
                ),
            response: Response {
                status: 303,
                headers: vec![
                    ("location".into(), "/home".into()),
                    ("set-cookie".into(), set_cookie.into()),
                ],
                body: b"<p>see /home</p>".to_vec(),
                truncated: false,
            },
            elapsed_ms: 3,
            retried: None,
        };
        let curl = curl_line(&exchange);
        Evidence {
            step: step.into(),
            exchange,
            curl,
        }
    }

    /// One pass, one fail (with counterexample, evidence and `<script>` / `|` / backticks in
    /// the observed text), one skip, one inconclusive, one error.
    pub fn report(seed: u64, session_value: &str) -> Report {
        let base = "http://127.0.0.1:8080/";
        let pass = result(
            "cookie.secure",
            "Session cookie is Secure",
            Severity::High,
            Outcome::Pass,
        );
        let counterexample = Counterexample {
            seed,
            case: 7,
            shrink_steps: 3,
            input: vec![
                "login as alice".into(),
                "flip bit 3 of the session id".into(),
            ],
            observed: "200 OK <b>accepted</b>".into(),
            steps: Vec::new(),
            replay_script: None,
        };
        let mut fail = result(
            "cookie.http-only",
            "Session cookie is HttpOnly",
            Severity::High,
            Outcome::Fail(Box::new(Finding {
                reason: "the session cookie lacks HttpOnly".into(),
                expected: "Set-Cookie: sid=…; HttpOnly".into(),
                observed: format!(
                    "Set-Cookie: sid={session_value}; Path=/ <script>alert(1)</script> | `tick`"
                ),
                counterexample: Some(counterexample),
                details: None,
            })),
        );
        fail.evidence = vec![evidence(
            base,
            "step 1: login (alice)",
            &format!("sid={session_value}; Path=/"),
        )];
        fail.notes = vec!["checked the login response".into()];
        let skip = result(
            "session.logout-everywhere",
            "Logout everywhere ends every session",
            Severity::Medium,
            Outcome::Skip(Skip::NotApplicable(
                "the profile defines no logout_everywhere flow".into(),
            )),
        );
        let mut inconclusive = result(
            "jwt.alg-none-rejected",
            "alg=none tokens are refused",
            Severity::Critical,
            Outcome::Inconclusive(Inconclusive::Unclassified(
                "the untampered token was refused (401) before the attack".into(),
            )),
        );
        inconclusive.evidence = vec![evidence(base, "control: untampered token", "x=1")];
        let error = result(
            "session.id-entropy",
            "Session ids are `unpredictable` | random",
            Severity::Low,
            Outcome::Error(RuleError::Tooling("connection refused".into())),
        );
        let results = vec![pass, fail, skip, inconclusive, error];
        Report {
            schema: crate::engine::REPORT_SCHEMA,
            tool: Tool {
                name: "authprobe",
                version: env!("CARGO_PKG_VERSION"),
            },
            target: TargetInfo {
                name: "shop <&> \"prod\"".into(),
                base_url: base.into(),
                replicas: Vec::new(),
                modes: Vec::new(),
                session_cookie: Some("sid".into()),
                limits: Default::default(),
            },
            seed,
            summary: Summary::of(&results),
            results,
            requests: 42,
            duration_ms: 1234,
            incomplete: None,
        }
    }

    #[test]
    fn every_format_parses_from_its_name_in_any_case_and_from_its_alias() {
        use super::Format;
        for f in Format::ALL {
            assert_eq!(Format::parse(f.name()), Some(f));
            assert_eq!(Format::parse(&f.name().to_uppercase()), Some(f));
        }
        assert_eq!(Format::parse("text"), Some(Format::Human));
        assert_eq!(Format::parse("XML"), Some(Format::Junit));
        assert_eq!(Format::parse("md"), Some(Format::Markdown));
        assert_eq!(Format::parse("pdf"), None);
    }
}
