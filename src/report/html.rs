//! One self-contained HTML file: no external resource of any kind (no CDN, font, image or
//! stylesheet by URL), readable offline and without JavaScript, under its own strict
//! Content-Security-Policy whose `style-src` and `script-src` are the SHA-256 hashes of the
//! exact inline `<style>` and `<script>` text (so nothing else can run or style the page,
//! even if escaping were ever wrong).
//!
//! Layout: a header (target, verdict, seed), a summary bar (counts per status, coloured, and a
//! strip with one segment per rule linking to its card), then one card per rule — problems
//! first — with a status badge, id, title, severity and requirement; failures add expected and
//! observed, the counterexample as an ordered step list, why it matters and how to fix (from
//! the catalogue), and the transcript folded in `<details>` (each request and response with
//! its curl line). A tiny script adds filtering by status; without it every card is shown.
//!
//! Everything from the target, the profile or the specs goes through [`escape`]. Owns only
//! the conversion: it sends nothing, reads nothing and prints nothing.

use std::fmt::Write as _;

use base64::Engine as _;

use super::sanitize;
use crate::engine::{Counterexample, Evidence, Report, RuleResult, Status};
use crate::gate::Gate;
use crate::spec::{Catalogue, Level};

/// The page's stylesheet, inlined verbatim (its hash is in the CSP).
pub const STYLE: &str = r#"
:root{--pass:#1a7f37;--fail:#cf222e;--skip:#6e7781;--inconclusive:#9a6700;--error:#8250df;
--fg:#1f2328;--muted:#59636e;--bg:#f6f8fa;--card:#fff;--line:#d1d9e0;--code:#eff2f5}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:13px}
code{background:var(--code);padding:1px 4px;border-radius:4px;overflow-wrap:anywhere}
pre{background:var(--code);padding:8px 10px;border-radius:6px;margin:4px 0;white-space:pre-wrap;
overflow-wrap:anywhere;max-height:24em;overflow:auto}
.page{max-width:1040px;margin:0 auto;padding:16px 20px 40px}
.top h1{font-size:22px;margin:8px 0 4px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.top p{margin:2px 0;color:var(--muted)}
.top .target strong{color:var(--fg)}
.verdict{font-size:13px;padding:2px 10px;border-radius:12px;color:#fff;letter-spacing:.04em}
.v-passed{background:var(--pass)}.v-failed{background:var(--fail)}.v-incomplete{background:var(--inconclusive)}
.summary{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin:14px 0}
.counts{list-style:none;display:flex;flex-wrap:wrap;gap:8px;margin:0 0 10px;padding:0}
.count{border-radius:6px;padding:4px 12px;color:#fff;font-weight:600}
.count .n{font-size:18px;margin-right:4px}
.count.zero{opacity:.35}
.s-pass{background:var(--pass)}.s-fail{background:var(--fail)}.s-skip{background:var(--skip)}
.s-inconclusive{background:var(--inconclusive)}.s-error{background:var(--error)}
.strip{display:flex;gap:2px;height:14px;border-radius:4px;overflow:hidden}
.strip a{flex:1 1 0;min-width:3px;display:block}
.strip a:hover,.strip a:focus{filter:brightness(1.25)}
.filters{margin-top:10px;color:var(--muted);display:flex;gap:14px;flex-wrap:wrap;align-items:center}
.filters label{cursor:pointer}
.card{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--skip);
border-radius:8px;padding:10px 14px;margin:10px 0}
.card.c-pass{border-left-color:var(--pass)}.card.c-fail{border-left-color:var(--fail)}
.card.c-inconclusive{border-left-color:var(--inconclusive)}.card.c-error{border-left-color:var(--error)}
.card-head{display:flex;gap:8px;align-items:baseline;flex-wrap:wrap}
.card-head h2{font-size:16px;margin:0;flex:1 1 16em}
.badge{color:#fff;font-size:12px;font-weight:700;padding:1px 8px;border-radius:10px;letter-spacing:.04em}
.sev,.level{font-size:12px;border:1px solid var(--line);border-radius:10px;padding:0 8px;color:var(--muted)}
.sev-critical{color:#fff;background:#82071e;border-color:#82071e}
.sev-high{color:var(--fail);border-color:var(--fail)}
.sev-medium{color:var(--inconclusive);border-color:var(--inconclusive)}
.req{margin:6px 0}
.reason{margin:6px 0;color:var(--muted)}
dl.eo{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}
dl.eo dt{font-weight:600;padding-top:6px}
dl.eo dd{margin:0;min-width:0}
.cx{border:1px dashed var(--line);border-radius:6px;padding:6px 12px;margin:8px 0}
.cx h3,.card h4{font-size:14px;margin:4px 0}
.cx ol{margin:4px 0;padding-left:24px}
.notes{color:var(--muted);margin:6px 0;padding-left:20px}
details{margin:6px 0}
summary{cursor:pointer;color:var(--muted);font-weight:600}
.exchanges{padding-left:22px}
.exchanges li{margin:8px 0}
.http{font-weight:700}
footer{color:var(--muted);font-size:12px;margin-top:24px}
"#;

/// The filter script, inlined verbatim (its hash is in the CSP). It only reveals the filter
/// bar and hides cards whose status is unticked.
pub const SCRIPT: &str = r#"
(function () {
  var bar = document.getElementById("filters");
  if (!bar) { return; }
  var boxes = bar.querySelectorAll("input[type=checkbox]");
  var cards = document.querySelectorAll("article.card");
  function apply() {
    var show = {};
    boxes.forEach(function (b) { show[b.value] = b.checked; });
    cards.forEach(function (c) { c.hidden = !show[c.getAttribute("data-status")]; });
  }
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  bar.hidden = false;
  apply();
})();
"#;

/// Escapes text for HTML element content and quoted attribute values; terminal control
/// characters become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in sanitize(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `'sha256-…'` of a text, as a CSP source expression.
pub fn csp_hash(text: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// The page's Content-Security-Policy.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src 'none'; base-uri 'none'; form-action 'none'",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    )
}

const ORDER: [Status; 5] = [
    Status::Fail,
    Status::Error,
    Status::Inconclusive,
    Status::Skip,
    Status::Pass,
];

fn label(s: Status) -> &'static str {
    match s {
        Status::Pass => "passed",
        Status::Fail => "failed",
        Status::Skip => "skipped",
        Status::Inconclusive => "inconclusive",
        Status::Error => "errors",
    }
}

fn count(report: &Report, s: Status) -> u32 {
    let c = report.summary;
    match s {
        Status::Pass => c.pass,
        Status::Fail => c.fail,
        Status::Skip => c.skip,
        Status::Inconclusive => c.inconclusive,
        Status::Error => c.error,
    }
}

/// A stable, attribute-safe anchor for a rule id.
fn anchor(id: &str) -> String {
    let slug: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("rule-{slug}")
}

fn head_lines(headers: &[(String, String)]) -> String {
    headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
}

fn exchange(out: &mut String, e: &Evidence) {
    let ex = &e.exchange;
    let req = &ex.request;
    let res = &ex.response;
    let path = match req.url.query() {
        Some(q) => format!("{}?{q}", req.url.path()),
        None => req.url.path().to_string(),
    };
    let mut request = format!(
        "{} {path}\nhost: {}\n{}",
        req.method,
        req.url.host_str().unwrap_or(""),
        head_lines(&req.headers)
    );
    if let Some(body) = &req.body {
        request.push('\n');
        request.push_str(&String::from_utf8_lossy(body));
    }
    let mut response = format!("HTTP {}\n{}", res.status, head_lines(&res.headers));
    if !res.body.is_empty() {
        response.push('\n');
        response.push_str(&res.body_text());
        if res.truncated {
            response.push_str("\n[body cut]");
        }
    }
    let _ = write!(
        out,
        "<li><p class=\"step\">{} — <code>{} {}</code> → <span class=\"http\">{}</span> <small>({} ms)</small></p>\
         <h4>Request</h4><pre>{}</pre><h4>Response</h4><pre>{}</pre><h4>Replay with curl</h4><pre class=\"curl\">{}</pre></li>",
        escape(&e.step),
        escape(&req.method),
        escape(req.url.as_str()),
        res.status,
        ex.elapsed_ms,
        escape(&request),
        escape(&response),
        escape(&e.curl)
    );
}

/// A property or model counterexample: the shrunk steps, the answer, the replay script.
fn counterexample(out: &mut String, c: &Counterexample, r: &RuleResult) {
    let _ = write!(
        out,
        "<div class=\"cx\"><h3>Counterexample</h3><p>Found at case {} with seed {}, shrunk in {} steps; replay with <code>--seed {}{}</code>.</p><ol class=\"steps\">",
        c.case,
        c.seed,
        c.shrink_steps,
        c.seed,
        escape(&r.replay_only())
    );
    if c.steps.is_empty() {
        for step in &c.input {
            let _ = write!(out, "<li>{}</li>", escape(step));
        }
    } else {
        for s in &c.steps {
            let _ = write!(
                out,
                "<li{}>{}{}<br><small>expected {} · observed {}</small></li>",
                if s.failing { " class=\"failing\"" } else { "" },
                escape(&s.operation),
                if s.setup { " (set-up)" } else { "" },
                escape(&s.expected),
                escape(&s.observed)
            );
        }
    }
    let _ = write!(
        out,
        "</ol><p>The server answered: <code>{}</code></p>",
        escape(&c.observed)
    );
    if let Some(script) = &c.replay_script {
        let _ = write!(
            out,
            "<details><summary>Replay script</summary><pre class=\"replay\">{}</pre></details>",
            escape(script)
        );
    }
    out.push_str("</div>");
}

/// Why the rule matters, how to fix a failure, and the standards behind it.
fn why(out: &mut String, rule: &crate::spec::Rule) {
    let _ = write!(
        out,
        "<details class=\"why\"><summary>Why it matters{}</summary><p>{}</p>",
        if rule.remediation.is_some() {
            " and how to fix it"
        } else {
            ""
        },
        escape(rule.rationale.trim())
    );
    if let Some(fix) = &rule.remediation {
        let _ = write!(
            out,
            "<p><strong>How to fix:</strong> {}</p>",
            escape(fix.trim())
        );
    }
    if !rule.references.is_empty() {
        let refs: Vec<String> = rule.references.iter().map(|x| escape(x)).collect();
        let _ = write!(
            out,
            "<p><strong>References:</strong> {}</p>",
            refs.join(", ")
        );
    }
    out.push_str("</details>");
}

fn card(out: &mut String, r: &RuleResult, catalogue: &Catalogue) {
    let st = r.status().as_str();
    let level = match r.level {
        Level::Must => "must",
        Level::Should => "should",
    };
    let _ = write!(
        out,
        "<article class=\"card c-{st}\" id=\"{}\" data-status=\"{st}\">\
         <div class=\"card-head\"><span class=\"badge s-{st}\">{}</span> <code class=\"rule-id\">{}</code>\
         <h2>{}</h2><span class=\"sev sev-{}\" title=\"severity\">{}</span><span class=\"level\" title=\"level\">{level}</span></div>\
         <p class=\"req\">{}</p>",
        anchor(&r.key()),
        st.to_uppercase(),
        escape(&r.label()),
        escape(&r.title),
        r.severity,
        r.severity,
        escape(&r.requirement)
    );
    if r.status() == Status::Pass {
        out.push_str("</article>\n");
        return;
    }
    let tokens = super::token_lines(r);
    if !tokens.is_empty() {
        out.push_str("<ul class=\"notes tokens\">");
        for line in &tokens {
            let _ = write!(out, "<li>{}</li>", escape(line));
        }
        out.push_str("</ul>");
    }
    if let Some(reason) = r.reason().filter(|x| r.observed() != Some(x.as_str())) {
        let _ = write!(out, "<p class=\"reason\">{}</p>", escape(&reason));
    }
    if r.expected().is_some() || r.observed().is_some() {
        out.push_str("<dl class=\"eo\">");
        if let Some(e) = &r.expected() {
            let _ = write!(out, "<dt>Expected</dt><dd><pre>{}</pre></dd>", escape(e));
        }
        if let Some(o) = &r.observed() {
            let _ = write!(
                out,
                "<dt>Observed</dt><dd><pre class=\"observed\">{}</pre></dd>",
                escape(o)
            );
        }
        out.push_str("</dl>");
    }
    if let Some(c) = r.counterexample() {
        counterexample(out, c, r);
    }
    if !r.notes.is_empty() {
        out.push_str("<ul class=\"notes\">");
        for n in &r.notes {
            let _ = write!(out, "<li>{}</li>", escape(n));
        }
        out.push_str("</ul>");
    }
    if let Some(rule) = catalogue.rule(&r.id) {
        why(out, rule);
    }
    if !r.evidence.is_empty() {
        let _ = write!(
            out,
            "<details class=\"evidence\"><summary>Transcript: {} request{} (secrets redacted)</summary><ol class=\"exchanges\">",
            r.evidence.len(),
            if r.evidence.len() == 1 { "" } else { "s" }
        );
        for e in &r.evidence {
            exchange(out, e);
        }
        out.push_str("</ol></details>");
    }
    out.push_str("</article>\n");
}

/// The report as one self-contained HTML page.
pub fn render(report: &Report, gate: Option<&Gate>, catalogue: &Catalogue) -> String {
    let verdict = match crate::gate::exit_code(report, gate) {
        0 => "PASSED",
        1 => "FAILED",
        _ => "INCOMPLETE",
    };
    let name = escape(&report.target.name);
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>authprobe: {name} — {verdict}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<div class=\"page\">\n",
        content_security_policy()
    );
    let _ = write!(
        out,
        "<header class=\"top\"><h1>authprobe report <span class=\"verdict v-{}\">{verdict}</span></h1>\
         <p class=\"target\"><strong>{name}</strong> <code>{}</code></p>\
         <p class=\"meta\">seed {} · {} requests in {:.2} s · session cookie <code>{}</code> · authprobe {}</p></header>",
        verdict.to_lowercase(),
        escape(&report.target.base_url),
        report.seed,
        report.requests,
        report.duration_ms as f64 / 1000.0,
        escape(
            report
                .target
                .session_cookie
                .as_deref()
                .unwrap_or("none (token only)")
        ),
        escape(report.tool.version),
    );
    if let Some(why) = &report.incomplete {
        let _ = write!(
            out,
            "\n<p class=\"incomplete\"><strong>Incomplete: {}</strong> — the rules that did not \
             finish are listed as not run.</p>",
            escape(why)
        );
    }
    out.push_str("\n<section class=\"summary\" aria-label=\"summary\"><ul class=\"counts\">");
    for s in ORDER {
        let n = count(report, s);
        let _ = write!(
            out,
            "<li class=\"count s-{}{}\" id=\"count-{}\"><span class=\"n\">{n}</span> {}</li>",
            s.as_str(),
            if n == 0 { " zero" } else { "" },
            s.as_str(),
            label(s)
        );
    }
    out.push_str("</ul><nav class=\"strip\" aria-label=\"rules by status\">");
    let mut ordered: Vec<&RuleResult> = report.results.iter().collect();
    ordered.sort_by_key(|r| ORDER.iter().position(|s| *s == r.status()));
    for r in &ordered {
        let _ = write!(
            out,
            "<a class=\"s-{}\" href=\"#{}\" title=\"{} {}\"></a>",
            r.status().as_str(),
            anchor(&r.key()),
            r.status().as_str().to_uppercase(),
            escape(&r.label())
        );
    }
    out.push_str("</nav><div class=\"filters\" id=\"filters\" hidden>Show:");
    for s in ORDER {
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" value=\"{}\" checked> {}</label>",
            s.as_str(),
            label(s)
        );
    }
    out.push_str("</div></section>\n<main>\n");
    for r in ordered {
        card(&mut out, r, catalogue);
    }
    let _ = write!(
        out,
        "</main>\n<footer>Generated by authprobe {} ({}). Self-contained: this file loads nothing from the network.</footer>\n\
         </div>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(report.tool.version),
        escape(report.schema)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests as sample;

    fn page() -> String {
        let catalogue = crate::spec::builtin_catalogue().expect("catalogue");
        render(&sample::report(1, "abc"), None, &catalogue)
    }

    #[test]
    fn html_escapes_hostile_target_text() {
        let html = page();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(html.matches("<script").count(), 1, "only our own script");
        assert!(html.contains("shop &lt;&amp;&gt; &quot;prod&quot;"));
    }

    #[test]
    fn html_csp_hashes_match_the_inline_style_and_script() {
        let html = page();
        let style = &html[html.find("<style>").unwrap() + 7..html.find("</style>").unwrap()];
        let script = &html[html.find("<script>").unwrap() + 8..html.find("</script>").unwrap()];
        assert_eq!(style, STYLE);
        assert_eq!(script, SCRIPT);
        assert!(html.contains(&format!("style-src {}", csp_hash(style))));
        assert!(html.contains(&format!("script-src {}", csp_hash(script))));
        assert!(html.contains("default-src 'none'"));
        // Known answer: the hash of the empty string.
        assert_eq!(
            csp_hash(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
    }

    #[test]
    fn html_loads_nothing_from_outside() {
        let html = page();
        for needle in [
            "http-equiv=\"refresh\"",
            "<link",
            "<img",
            "<iframe",
            "@import",
            "url(",
            "src=",
        ] {
            assert!(!html.contains(needle), "found {needle}");
        }
    }
}
