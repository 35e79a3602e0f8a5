//! Hostile input (issue 13): every input file, flag and answer from the list makes
//! the binary exit with a located message in words — exit 2 for bad input, 3 for an answer
//! it cannot read — with no panic, within a 30 s hang guard and, where `prlimit` exists,
//! under a 100 MiB address-space limit (an unbounded read of `/dev/zero` would exceed it and
//! abort). The read limit itself is unit-tested in `src/input.rs`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Address space the child may use: far below what an unbounded read reaches in a second.
const MEMORY_LIMIT: u64 = 100 * 1024 * 1024;
/// Hang guard: each case finishes in well under a second; this only stops a hang.
const GUARD: Duration = Duration::from_secs(30);

struct Run {
    code: i32,
    stderr: String,
}

/// Runs the binary with `args` (stdin from `/dev/zero` when `endless_stdin`), under
/// `prlimit --as` when available, killing it after [`GUARD`].
fn run(args: &[&str], endless_stdin: bool) -> Run {
    let bin = env!("CARGO_BIN_EXE_authprobe");
    let prlimit = Path::new("/usr/bin/prlimit");
    let mut cmd = if prlimit.exists() {
        let mut c = Command::new(prlimit);
        c.arg(format!("--as={MEMORY_LIMIT}")).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if endless_stdin {
        cmd.stdin(std::fs::File::open("/dev/zero").expect("/dev/zero"));
    } else {
        cmd.stdin(Stdio::null());
    }
    let mut child = cmd.spawn().expect("the binary starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > GUARD {
            let _ = child.kill();
            panic!("authprobe {args:?} still ran after {GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    let _ = child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr);
    Run {
        code: status.code().unwrap_or(-1),
        stderr,
    }
}

/// A scratch directory with the testbed profile (pointed at a closed port) and variants of it.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authprobe-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = authprobe::profile::TESTBED_PROFILE.replace("127.0.0.1:8080", "127.0.0.1:9");
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write("profile.yaml", &profile);
    write(
        "zero-password.yaml",
        &profile.replace("{public_demo: alice-demo-password}", "{file: /dev/zero}"),
    );
    write(
        "tiny-rps.yaml",
        &format!("{profile}limits: {{max_rps: 1e-300}}\n"),
    );
    write(
        "huge-wait.yaml",
        &format!("{profile}policy: {{max_wait: 5000000000000000h}}\n"),
    );
    write("duplicate.yaml", "name: a\nname: b\n");
    write("two-documents.yaml", &format!("{profile}---\nname: x\n"));
    std::fs::write(dir.join("latin1.yaml"), b"name: caf\xe9\n").unwrap();
    dir
}

/// One bad input: the command line, the exit code, and what stderr must say.
struct Case {
    args: Vec<String>,
    endless_stdin: bool,
    code: i32,
    says: Vec<String>,
}

fn case(args: &[&str], code: i32, says: &[&str]) -> Case {
    Case {
        args: args.iter().map(|s| s.to_string()).collect(),
        endless_stdin: false,
        code,
        says: says.iter().map(|s| s.to_string()).collect(),
    }
}

fn check_case(c: &Case) {
    let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
    let r = run(&args, c.endless_stdin);
    let shown = format!("authprobe {}\n{}", args.join(" "), r.stderr);
    assert_eq!(r.code, c.code, "{shown}");
    assert!(!r.stderr.contains("panicked"), "{shown}");
    assert!(!r.stderr.contains("overflow"), "{shown}");
    for s in &c.says {
        assert!(r.stderr.contains(s.as_str()), "missing `{s}` in\n{shown}");
    }
    // The libraries' own wording and Debug output never reach the user.
    for internal in [
        "DuplicateKeyPolicy",
        "from_str_multiple",
        "Some(",
        "os error",
    ] {
        assert!(!r.stderr.contains(internal), "`{internal}` in\n{shown}");
    }
}

#[test]
fn every_bad_input_exits_two_with_a_located_message() {
    let dir = scratch();
    let p = |name: &str| dir.join(name).display().to_string();
    let profile = p("profile.yaml");
    let mut cases = vec![
        // Unbounded reads.
        case(
            &["check", "--profile", "/dev/zero"],
            2,
            &["/dev/zero: error: larger than 4 MiB (the limit for a profile)"],
        ),
        case(
            &["validate", "/dev/urandom"],
            2,
            &["/dev/urandom: error: larger than 4 MiB"],
        ),
        case(
            &["check", "--profile", &p("zero-password.yaml")],
            2,
            &[
                "zero-password.yaml:",
                "secret file /dev/zero: larger than 64 KiB (the limit for a password or secret file)",
                "at: users.alice.password",
            ],
        ),
        case(
            &["inspect", "jwt", "--key", "/dev/zero", "a.b.c"],
            2,
            &["--key /dev/zero: larger than 1 MiB (the limit for a key file)"],
        ),
        case(
            &["inspect", "jwt", "--jwks", "/dev/zero", "a.b.c"],
            2,
            &["--jwks /dev/zero: larger than 1 MiB (the limit for a JWKS file)"],
        ),
        case(
            &["check", "--profile", &profile, "--specs", "/dev/zero"],
            2,
            &["/dev/zero: error: larger than 4 MiB (the limit for a spec file)"],
        ),
        case(
            &["check", "--profile", &profile, "--baseline", "/dev/zero"],
            2,
            &["/dev/zero: error: larger than 4 MiB (the limit for a baseline)"],
        ),
        // Numbers out of range (they once panicked with "overflow when adding duration to
        // instant").
        case(
            &["check", "--profile", &profile, "--max-rps", "1e-19"],
            2,
            &[
                "--max-rps",
                "1e-19 is out of range: give 0.01 to 10000 requests per second",
            ],
        ),
        case(
            &["fuzz", "--profile", &profile, "--max-rps", "1e-300"],
            2,
            &["--max-rps", "1e-300 is out of range"],
        ),
        case(
            &[
                "fuzz",
                "--profile",
                &profile,
                "--duration",
                "5000000000000000h",
            ],
            2,
            &[
                "--duration",
                "5000000000000000h is out of range: give 1s to 7d",
            ],
        ),
        case(
            &["check", "--profile", &profile, "--max-requests", "0"],
            2,
            &[
                "--max-requests",
                "0 is out of range: give 1 to 100000000 requests",
            ],
        ),
        case(
            &["check", "--profile", &profile, "--timeout", "0"],
            2,
            &["--timeout", "0s is out of range: give 1s to 1h"],
        ),
        case(
            &["check", "--profile", &profile, "--max-wait", "99999999999"],
            2,
            &["--max-wait", "is out of range: give 0s to 1d"],
        ),
        case(
            &["fuzz", "--profile", &profile, "--concurrency", "0"],
            2,
            &[
                "--concurrency",
                "0 is out of range: give 1 to 32 requests at once",
            ],
        ),
        case(
            &["check", "--profile", &p("tiny-rps.yaml")],
            2,
            &[
                "tiny-rps.yaml:",
                "error: 1e-300 is out of range: give 0.01 to 10000 requests per second",
                "at: limits.max_rps",
            ],
        ),
        case(
            &["validate", &p("tiny-rps.yaml")],
            2,
            &[
                "tiny-rps.yaml:",
                "1e-300 is out of range",
                "at: limits.max_rps",
            ],
        ),
        case(
            &["validate", &p("huge-wait.yaml")],
            2,
            &[
                "huge-wait.yaml:",
                "is out of range: give 0s to 1d",
                "at: policy.max_wait",
            ],
        ),
        // Library wording replaced by words.
        case(
            &["validate", &p("duplicate.yaml")],
            2,
            &["duplicate.yaml:2:1: error: duplicate key `name`"],
        ),
        case(
            &["validate", &p("two-documents.yaml")],
            2,
            &[
                "two-documents.yaml:",
                "the file holds several YAML documents",
            ],
        ),
        case(
            &["validate", &p("latin1.yaml")],
            2,
            &["latin1.yaml:1:10: error: the file is not valid UTF-8 text"],
        ),
    ];
    cases.push(Case {
        endless_stdin: true,
        ..case(
            &["inspect", "jwt", "-"],
            2,
            &["the token on stdin: larger than 1 MiB (the limit for a token)"],
        )
    });
    for c in &cases {
        check_case(c);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server answering every request with 101 headers: hyper refuses the head; the message
/// says so instead of "could not be reached" (exit 3, the target could not be tested).
#[test]
fn a_response_with_more_than_100_headers_is_named() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        // Bounded: the check sends at most a few requests before it gives up.
        for stream in listener.incoming().take(8) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let headers: String = (0..101).map(|i| format!("X-H{i}: v\r\n")).collect();
            let _ = s.write_all(
                format!("HTTP/1.1 200 OK\r\n{headers}Content-Length: 2\r\n\r\n{{}}").as_bytes(),
            );
        }
    });
    let dir = std::env::temp_dir().join(format!("authprobe-headers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("profile.yaml");
    std::fs::write(
        &profile,
        authprobe::profile::TESTBED_PROFILE.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}")),
    )
    .unwrap();
    let c = case(
        &["check", "--profile", &profile.display().to_string(), "-q"],
        3,
        &[
            "the target could not be tested: the response from",
            "had more than 100 headers",
        ],
    );
    check_case(&c);
    let _ = std::fs::remove_dir_all(&dir);
}
