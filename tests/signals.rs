//! Signals: SIGINT or SIGTERM to a running `check` (against a testbed whose logins are slow)
//! stops it; every requested report is written, marked incomplete, with the rules that did
//! not finish listed as not run; the exit code is 3. A `fuzz` run keeps every finding file
//! it wrote before SIGTERM (each is written when found) and exits 3.
//!
//! Signals are sent with the system's `kill` command; every wait is bounded (a hang guard,
//! not a timing assertion).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use authprobe::profile::TESTBED_PROFILE;
use authprobe::testbed::{self, Flaw, Quirk, RunningTestbed, TestbedConfig};

/// The longest any wait here may take before the test fails as hung.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authprobe-signals-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// A testbed on loopback served by its own runtime (kept alive by the returned value).
fn testbed(config: TestbedConfig) -> (tokio::runtime::Runtime, RunningTestbed) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let bed = rt
        .block_on(testbed::spawn(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            config,
        ))
        .expect("testbed starts");
    (rt, bed)
}

/// The testbed profile pointed at `base_url`, written into `dir`.
fn profile_in(dir: &Path, base_url: &str) -> PathBuf {
    let path = dir.join("profile.yaml");
    let text = TESTBED_PROFILE.replace("http://127.0.0.1:8080", base_url);
    std::fs::write(&path, text).expect("profile");
    path
}

/// A started binary: the process, its stderr lines as they come, its whole stdout.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: std::thread::JoinHandle<String>,
}

/// Starts the binary with `args`.
fn start(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authprobe"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let stdout = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
        out
    });
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    Running {
        child,
        lines: rx,
        stdout,
    }
}

/// Waits for a stderr line containing `needle`; panics with what came when it does not.
fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str) {
    let deadline = Instant::now() + HANG_GUARD;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("no stderr line with {needle:?}; saw:\n{}", seen.join("\n"));
}

/// Sends `signal` (`INT`, `TERM`) to `child`.
fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {signal}");
}

/// Waits for the process to exit (bounded); its exit code and stdout.
fn wait(running: Running) -> (i32, String) {
    let Running {
        mut child, stdout, ..
    } = running;
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = stdout.join().unwrap_or_default();
            return (status.code().unwrap_or(-1), out);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("authprobe did not exit after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A check against a testbed with slow logins, stopped by `sig` once a rule has finished.
fn interrupted_check(sig: &str) {
    let config = TestbedConfig {
        quirks: [Quirk::SlowLogins].into_iter().collect(),
        ..TestbedConfig::default()
    };
    let (_rt, bed) = testbed(config);
    let dir = scratch(&format!("check-{sig}"));
    let profile = profile_in(&dir, &bed.base_url());
    let json = dir.join("report.json");
    let junit = dir.join("report.xml");
    let sarif = dir.join("report.sarif");
    let running = start(&[
        "check",
        "--profile",
        profile.to_str().unwrap(),
        "--seed",
        "5",
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("junit={}", junit.display()),
        "--report",
        &format!("sarif={}", sarif.display()),
    ]);
    wait_for_line(&running.lines, "[1/");
    signal(&running.child, sig);
    let (code, out) = wait(running);
    let reason = format!("interrupted by SIG{sig}");
    assert_eq!(code, 3, "{out}");
    assert!(out.contains(&format!("incomplete: {reason}")), "{out}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("JSON report")).expect("whole JSON");
    assert_eq!(report["incomplete"], reason.as_str());
    let results = report["results"].as_array().expect("results");
    let not_run = format!("not run: {reason}");
    assert!(
        results.iter().any(|r| r["reason"] == not_run.as_str()),
        "some rule is listed as not run"
    );
    assert!(
        results.iter().all(|r| r["status"] == "pass"
            || r["status"] == "skip"
            || r["reason"] == not_run.as_str()),
        "the rules that finished pass on the clean testbed; the others were not run"
    );
    let junit = std::fs::read_to_string(&junit).expect("JUnit report");
    assert!(junit.contains(&reason), "JUnit says why it is incomplete");
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sarif).expect("SARIF")).expect("whole SARIF");
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(invocation["exitCode"], 3);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sigterm_during_check_writes_every_report_marked_incomplete_and_exits_3() {
    interrupted_check("TERM");
}

#[test]
fn sigint_during_check_writes_every_report_marked_incomplete_and_exits_3() {
    interrupted_check("INT");
}

#[test]
fn fuzz_findings_written_before_sigterm_survive_it() {
    let config = TestbedConfig {
        flaws: [Flaw::JwtMalformed500].into_iter().collect(),
        ..TestbedConfig::default()
    };
    let (_rt, bed) = testbed(config);
    let dir = scratch("fuzz");
    let profile = profile_in(&dir, &bed.base_url());
    let out_dir = dir.join("findings");
    let running = start(&[
        "fuzz",
        "--profile",
        profile.to_str().unwrap(),
        "--duration",
        "10m",
        "--seed",
        "11",
        "--format",
        "json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    wait_for_line(&running.lines, "fuzz: finding:");
    let before = finding_files(&out_dir);
    assert!(
        !before.is_empty(),
        "the finding is on disk as soon as it is reported"
    );
    signal(&running.child, "TERM");
    let (code, out) = wait(running);
    assert_eq!(code, 3, "{out}");
    let summary: serde_json::Value = serde_json::from_str(&out).expect("JSON summary");
    assert_eq!(summary["stopped_by"], "interrupted");
    let after = finding_files(&out_dir);
    for f in &before {
        assert!(after.contains(f), "{} survived", f.display());
        let finding: serde_json::Value =
            serde_json::from_slice(&std::fs::read(f).unwrap()).expect("whole JSON finding");
        assert!(finding["kind"].is_string());
    }
    let run_dir = before[0].parent().unwrap();
    assert!(
        run_dir.join("summary.json").exists(),
        "the summary is written too"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The finding files under `out` (every run directory).
fn finding_files(out: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for run in std::fs::read_dir(out).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(run.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.starts_with("finding-") && name.ends_with(".json") {
                files.push(f.path());
            }
        }
    }
    files.sort();
    files
}
