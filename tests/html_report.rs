//! The HTML report in a real browser: a report from a live run against the testbed is
//! rendered, opened from a file in headless Chromium, and the test asserts on the DOM the
//! browser built (summary counts, the failed rule's card, hostile text staying text), that the
//! page's own CSP let its inline style and script run (and that the CSP is really enforced:
//! a page whose style does not match the hash is reported), and takes a screenshot.
//!
//! Chromium comes from the system packages (`.ci/install-chromium.sh`); `AUTHPROBE_CHROMIUM`
//! names another binary. Without a browser the test prints why and returns.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use authprobe::report::html;
use authprobe::spec;
use authprobe::testbed::Flaw;
use authprobe::{Inconclusive, Outcome, Report, Skip, Status, Summary};

use crate::support::{assert_status, run};

/// Text the target controls, planted in the observed string: it must stay text.
const HOSTILE: &str = "<script id=\"injected\">document.title='pwned'</script><img src=x>";

fn scratch_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("authprobe-html-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs headless Chromium on `page` with `extra` arguments; returns (stdout, stderr).
fn chromium(browser: &Path, profile: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let url = format!("file://{}", page.display());
    let mut child = Command::new(browser)
        .args(crate::support::HEADLESS_CHROMIUM)
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("chromium did not finish within 30 s");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let out = child.wait_with_output().expect("chromium output");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A live report with one result of each status: pass (`cookie.secure`), fail with evidence
/// (`cookie.http-only`), fail with a shrunk counterexample (`session.tamper-rejected`), and
/// — because the testbed profile has every capability and its controls always succeed — a
/// skip and an inconclusive made by hand from two passing results, the way the engine words
/// them.
async fn live_report() -> Report {
    let mut report = run(
        &[Flaw::CookieNoHttpOnly, Flaw::SessionPrefixMatch],
        &[
            "cookie.http-only",
            "cookie.secure",
            "cookie.same-site",
            "cookie.scope",
            "session.tamper-rejected",
        ],
    )
    .await;
    assert_status(&report, "cookie.http-only", Status::Fail);
    assert_status(&report, "session.tamper-rejected", Status::Fail);
    assert_status(&report, "cookie.secure", Status::Pass);
    for r in &mut report.results {
        match r.id.as_str() {
            "cookie.http-only" => {
                if let Outcome::Fail(f) = &mut r.outcome {
                    f.observed = format!("{} {HOSTILE}", f.observed);
                }
            }
            "cookie.same-site" => {
                r.outcome = Outcome::Skip(Skip::NotApplicable(
                    "the profile defines no anonymous flow".into(),
                ));
                r.notes.clear();
            }
            "cookie.scope" => {
                r.outcome = Outcome::Inconclusive(Inconclusive::Control(
                    "the untampered session was refused (401) before the probe, so a refusal proves nothing"
                        .into(),
                ));
                r.notes.clear();
            }
            _ => {}
        }
    }
    report.summary = Summary::of(&report.results);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_report_renders_in_headless_chromium() {
    let Some(browser) = crate::support::find_browser() else {
        println!(
            "html_report: skipped, no Chromium found (run .ci/install-chromium.sh or set AUTHPROBE_CHROMIUM)"
        );
        return;
    };
    let report = live_report().await;
    let catalogue = spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
    let page = html::render(&report, None, &catalogue);
    assert!(page.contains("&lt;script id=&quot;injected&quot;&gt;"));

    let dir = scratch_dir();
    let file = dir.join("report.html");
    std::fs::write(&file, &page).expect("write page");
    // Negative control: the same page with a stylesheet that does not match its hash must be
    // reported as a CSP violation, or the grep below would prove nothing.
    let tampered = dir.join("tampered.html");
    std::fs::write(
        &tampered,
        page.replacen("</style>", "body{color:red}</style>", 1),
    )
    .expect("write tampered page");
    let png = dir.join("report.png");
    if let Some(keep) = std::env::var_os("AUTHPROBE_HTML_KEEP") {
        std::fs::write(Path::new(&keep).with_extension("html"), &page).expect("keep page");
    }

    let (dom, console, shot_log, control) = std::thread::scope(|s| {
        let dump = s.spawn(|| chromium(&browser, &dir.join("p1"), &file, &["--dump-dom"]));
        let shot = s.spawn(|| {
            chromium(
                &browser,
                &dir.join("p2"),
                &file,
                &[
                    &format!("--screenshot={}", png.display()),
                    "--window-size=1100,1500",
                    "--hide-scrollbars",
                ],
            )
        });
        let bad = s.spawn(|| chromium(&browser, &dir.join("p3"), &tampered, &["--dump-dom"]));
        let (dom, console) = dump.join().expect("dump-dom");
        let (_, shot_log) = shot.join().expect("screenshot");
        let (_, control) = bad.join().expect("control");
        (dom, console, shot_log, control)
    });

    // The DOM the browser built.
    let s = report.summary;
    assert_eq!(
        (s.pass, s.fail, s.skip, s.inconclusive),
        (1, 2, 1, 1),
        "{s:?}"
    );
    for (status, n, label) in [
        ("fail", 2, "failed"),
        ("pass", 1, "passed"),
        ("skip", 1, "skipped"),
        ("inconclusive", 1, "inconclusive"),
        ("error", 0, "errors"),
    ] {
        let want = format!("id=\"count-{status}\"><span class=\"n\">{n}</span> {label}</li>");
        assert!(
            dom.contains(&want),
            "summary count {want} not in DOM:\n{dom}"
        );
    }
    assert_eq!(dom.matches("<article class=\"card").count(), 5);
    let card_start = dom
        .find("id=\"rule-cookie.http-only\"")
        .expect("card of the failed rule");
    let card = &dom[card_start..card_start + dom[card_start..].find("</article>").unwrap()];
    for text in [
        "FAIL",
        "Session cookie is HttpOnly",
        "The session cookie MUST",
        "Expected",
        "Observed",
        "Replay with curl",
        "curl -sS",
        "&lt;script id=\"injected\"&gt;",
    ] {
        assert!(
            card.contains(text),
            "{text:?} not in the failed card:\n{card}"
        );
    }
    let tamper = &dom[dom
        .find("id=\"rule-session.tamper-rejected\"")
        .expect("tamper card")..];
    assert!(
        tamper.contains("<ol class=\"steps\"><li>"),
        "counterexample steps"
    );
    // Hostile text stayed text: no element was created from it, and the title is ours.
    assert!(
        !dom.contains("<script id="),
        "injected script became an element"
    );
    assert!(!dom.contains("<img"), "injected image became an element");
    assert!(dom.contains("<title>authprobe: "), "title changed");
    // Our own script ran (it reveals the filter bar), so the CSP allowed it.
    let filters = &dom[dom.find("id=\"filters\"").expect("filter bar") - 40..];
    let filters = &filters[..filters.find('>').unwrap()];
    assert!(
        !filters.contains("hidden"),
        "filter script did not run: {filters}"
    );

    // No CSP violation in the console, and the control shows violations would be seen.
    let violation = "Content Security Policy";
    assert!(!console.contains(violation), "CSP violation:\n{console}");
    assert!(!shot_log.contains(violation), "CSP violation:\n{shot_log}");
    assert!(
        control.contains(violation),
        "the tampered page raised no CSP report, so the check is blind:\n{control}"
    );

    let meta = std::fs::metadata(&png).expect("screenshot written");
    assert!(
        meta.len() > 10_000,
        "screenshot too small: {} bytes",
        meta.len()
    );
    if let Some(keep) = std::env::var_os("AUTHPROBE_HTML_KEEP") {
        std::fs::copy(&png, Path::new(&keep).with_extension("png")).expect("keep screenshot");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
