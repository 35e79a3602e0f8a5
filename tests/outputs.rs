//! Output paths: a `--report` that would overwrite an input (the profile, a hard link to it,
//! the password file it names, a spec file under `--specs`, the baseline) is refused with
//! exit 2 and the file is left byte for byte as it was; a report directory that does not
//! exist is refused before any request is sent; reports are written whole; a failed write
//! to stdout is an error.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use authprobe::profile::TESTBED_PROFILE;

use crate::support::authprobe;

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authprobe-outputs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// A loopback listener that counts the connections made to it and closes each at once: a
/// "service" that shows whether anything was sent.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, count)
}

/// The testbed profile pointed at `base_url`, alice's password read from the file `pw`
/// beside it; written as `dir/profile.yaml`.
fn profile_in(dir: &Path, base_url: &str) -> PathBuf {
    let text = TESTBED_PROFILE
        .replace("http://127.0.0.1:8080", base_url)
        .replace("{public_demo: alice-demo-password}", "{file: pw}");
    std::fs::write(dir.join("pw"), "alice-demo-password\n").expect("password file");
    let path = dir.join("profile.yaml");
    std::fs::write(&path, text).expect("profile");
    path
}

/// Copies the shipped specs into `dir/specs`.
fn specs_in(dir: &Path) -> PathBuf {
    let to = dir.join("specs");
    std::fs::create_dir_all(&to).expect("specs dir");
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    for entry in std::fs::read_dir(from).expect("shipped specs") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    to
}

#[test]
fn every_overwrite_of_an_input_is_refused_and_the_file_is_unchanged() {
    let dir = scratch("inputs");
    let (url, count) = counting_listener();
    let profile = profile_in(&dir, &url);
    let specs = specs_in(&dir);
    let link = dir.join("link.yaml");
    std::fs::hard_link(&profile, &link).expect("hard link");
    let baseline = dir.join("baseline.yaml");
    std::fs::write(&baseline, "expected_failures: []\n").expect("baseline");
    let spec_file = specs.join("cookies.yaml");
    assert!(spec_file.exists(), "the shipped specs have cookies.yaml");
    let p = profile.to_str().unwrap();
    let attempts: [(PathBuf, &str); 6] = [
        (profile.clone(), "the profile"),
        (dir.join("sub/../profile.yaml"), "the profile"),
        (link.clone(), "the profile"),
        (dir.join("pw"), "the password file of user alice"),
        (spec_file.clone(), "a spec file under --specs"),
        (baseline.clone(), "the baseline"),
    ];
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for (target, what) in attempts {
        let before = std::fs::read(&target).expect("input exists");
        let report = format!("json={}", target.display());
        let (code, out, err) = authprobe(&[
            "check",
            "--profile",
            p,
            "--specs",
            specs.to_str().unwrap(),
            "--baseline",
            baseline.to_str().unwrap(),
            "--report",
            &report,
        ]);
        assert_eq!(code, 2, "{}: {out}\n{err}", target.display());
        assert!(err.contains("refusing to overwrite"), "{err}");
        assert!(err.contains(what), "{}: {err}", target.display());
        assert!(out.is_empty(), "nothing on stdout: {out}");
        assert_eq!(
            std::fs::read(&target).expect("still there"),
            before,
            "{} is unchanged",
            target.display()
        );
    }
    assert_eq!(count.load(Ordering::SeqCst), 0, "no request was sent");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_missing_report_directory_is_refused_before_any_request() {
    let dir = scratch("nodir");
    let (url, count) = counting_listener();
    let profile = profile_in(&dir, &url);
    let missing = dir.join("no/such/dir/report.sarif");
    let (code, out, err) = authprobe(&[
        "check",
        "--profile",
        profile.to_str().unwrap(),
        "--report",
        &format!("sarif={}", missing.display()),
    ]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "the service saw no request"
    );
    // The same run with a usable directory does reach the service (which then fails it).
    let fine = dir.join("report.sarif");
    let (code, _, err) = authprobe(&[
        "check",
        "--profile",
        profile.to_str().unwrap(),
        "--report",
        &format!("sarif={}", fine.display()),
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(count.load(Ordering::SeqCst) > 0, "the service was reached");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reports_are_written_whole_and_replace_the_old_file() {
    let dir = scratch("atomic");
    let json = dir.join("report.json");
    std::fs::write(&json, "stale").unwrap();
    let md = dir.join("report.md");
    let (code, out, err) = authprobe(&[
        "demo",
        "--quiet",
        "--seed",
        "3",
        "--only",
        "cookie.*",
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("markdown={}", md.display()),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).expect("whole JSON");
    assert_eq!(report["schema"], "authprobe.report/v1");
    assert!(report.get("incomplete").is_none(), "a complete run");
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("### authprobe")
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_failed_write_to_stdout_is_an_error() {
    // A full device.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let status = Command::new(env!("CARGO_BIN_EXE_authprobe"))
        .args(["rules"])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    assert_eq!(status.status.code(), Some(2));
    let err = String::from_utf8_lossy(&status.stderr);
    assert!(err.contains("cannot write to stdout"), "{err}");
    // A pipe whose reader is gone (`| head -c1` after head exits).
    let mut child = Command::new(env!("CARGO_BIN_EXE_authprobe"))
        .args(["demo", "--quiet", "--only", "cookie.http-only"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    drop(child.stdout.take());
    let code = child.wait().expect("exits").code();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cannot write to stdout: broken pipe"), "{err}");
}
