//! Revocation across replicas: the clean testbed's instances share their state and pass every
//! revocation rule on each replica (saying which were checked); a "replica" that does not
//! share it leaves the rules inconclusive, naming it, never passed; credentials reach only
//! the origins the profile names, and a redirect never carries them further.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use authprobe::profile::parse_profile;
use authprobe::testbed::{self, Flaw, TestbedConfig};
use authprobe::{ClientConfig, Report, RunOptions, Status, spec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{SEED, authprobe, details, run_demo};

/// The rules that replay a revocation on replicas: those the flaw that keeps revocations
/// on one instance breaks.
fn rules() -> &'static [&'static str] {
    authprobe::demo::expectation(Flaw::ReplicaLocalRevocation).breaks
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Runs `rules()` against the testbed at `base` with `replicas` named in its profile.
async fn run_against(base: &str, replicas: &[String]) -> Report {
    let mut profile =
        authprobe::demo::profile(base, &TestbedConfig::default()).unwrap_or_else(|d| panic!("{d}"));
    profile
        .set_replicas(replicas)
        .unwrap_or_else(|d| panic!("{d}"));
    let target = profile.load_secrets().unwrap_or_else(|d| panic!("{d}"));
    let (target, client) = target
        .resolve(ClientConfig::default())
        .await
        .expect("resolves");
    let mut allowed: Vec<String> = client
        .config()
        .allowed_origins
        .iter()
        .map(|o| o.ascii_serialization())
        .collect();
    allowed.sort();
    let mut named: Vec<String> = std::iter::once(base.to_string())
        .chain(replicas.iter().cloned())
        .collect();
    named.sort();
    assert_eq!(
        allowed, named,
        "the allow-list is base_url and the replicas, nothing else"
    );
    let catalogue = spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}"));
    let options = RunOptions {
        seed: SEED,
        only: rules().iter().map(|s| s.to_string()).collect(),
        ..RunOptions::default()
    };
    authprobe::run(&catalogue, target, client, &options, &|_| {})
        .await
        .expect("the run completes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_replicas_pass_every_revocation_rule_and_each_is_named() {
    let config = TestbedConfig {
        replicas: 2,
        ..TestbedConfig::default()
    };
    let report = run_demo(config, rules(), SEED)
        .await
        .expect("the run completes");
    for id in rules() {
        let r = crate::support::result(&report, id);
        assert_eq!(r.status(), Status::Pass, "{}", details(r));
        let checked = r.notes.iter().filter(|n| n.contains(" checked: ")).count();
        let per_replica = if *id == "refresh.revocation-endpoint" {
            4
        } else {
            2
        };
        assert_eq!(checked, per_replica, "{}", details(r));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flaw_without_replicas_asked_for_brings_two_and_fails_on_each() {
    let config = TestbedConfig::default().with_flaw(Flaw::ReplicaLocalRevocation);
    assert_eq!(config.replica_count(), testbed::IMPLIED_REPLICAS);
    let report = run_demo(config, &["session.revoked-on-logout"], SEED)
        .await
        .expect("the run completes");
    let r = crate::support::result(&report, "session.revoked-on-logout");
    assert_eq!(r.status(), Status::Fail, "{}", details(r));
    assert!(
        r.reason()
            .unwrap_or_default()
            .starts_with("replica http://127.0.0.1:"),
        "{}",
        details(r)
    );
    let confirmed = r
        .notes
        .iter()
        .filter(|n| n.starts_with("confirmed: "))
        .count();
    assert_eq!(
        confirmed,
        2,
        "each replica's failure is confirmed: {}",
        details(r)
    );
}

/// Two separate testbeds: the second knows none of the first's sessions or refresh tokens
/// (inconclusive for it, never passed), but trusts its access tokens (the same demo signing
/// key) without seeing its deny-list — a revoked access token still works there, which is a
/// failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_separate_service_is_inconclusive_where_it_knows_nothing_and_fails_where_it_trusts_revoked_tokens()
 {
    let a = testbed::spawn(loopback(), TestbedConfig::default())
        .await
        .expect("a");
    let b = testbed::spawn(loopback(), TestbedConfig::default())
        .await
        .expect("b");
    let report = run_against(&a.base_url(), &[b.base_url()]).await;
    for id in rules() {
        let r = crate::support::result(&report, id);
        let reason = r.reason().unwrap_or_default();
        assert!(
            reason.contains(&format!("replica {}", b.base_url())),
            "{}",
            details(r)
        );
        if matches!(
            *id,
            "token.revoked-on-logout" | "refresh.revocation-endpoint"
        ) {
            assert_eq!(r.status(), Status::Fail, "{}", details(r));
            assert!(
                reason.contains("still accepts the access token"),
                "{}",
                details(r)
            );
        } else {
            assert_eq!(r.status(), Status::Inconclusive, "{}", details(r));
            assert!(reason.contains("may not share"), "{}", details(r));
        }
    }
    a.shutdown().await;
    b.shutdown().await;
}

/// A server that counts the connections it accepts and answers each with `answer`.
async fn server(answer: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(loopback()).await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirecting_replica_never_sends_credentials_further() {
    let bed = testbed::spawn(loopback(), TestbedConfig::default())
        .await
        .expect("bed");
    let (elsewhere, stolen) = server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into()).await;
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nLocation: {elsewhere}/steal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let (replica, asked) = server(redirect).await;
    let report = run_against(&bed.base_url(), std::slice::from_ref(&replica)).await;
    assert!(
        asked.load(Ordering::SeqCst) > 0,
        "the named replica was asked"
    );
    assert_eq!(
        stolen.load(Ordering::SeqCst),
        0,
        "nothing followed the redirect"
    );
    for id in rules() {
        let r = crate::support::result(&report, id);
        assert_eq!(r.status(), Status::Inconclusive, "{}", details(r));
    }
    bed.shutdown().await;
}

#[test]
fn replicas_are_origins_checked_where_they_are_written() {
    let text = authprobe::profile::TESTBED_PROFILE.to_string()
        + "replicas: [\"http://127.0.0.1:8081\", \"http://127.0.0.1:8080\", \"https://x.example/app\"]\n";
    let err = parse_profile(&text, Path::new("p.yaml")).expect_err("refused");
    let shown = err.to_string();
    assert!(
        shown.contains("replicas[1]") && shown.contains("base_url's own origin"),
        "{shown}"
    );
    assert!(
        shown.contains("replicas[2]") && shown.contains("an origin only"),
        "{shown}"
    );
    assert!(!shown.contains("replicas[0]"), "{shown}");
    let line = text.lines().count();
    assert!(
        shown.contains(&format!("p.yaml:{line}:")),
        "located at its line: {shown}"
    );
}

#[test]
fn the_demo_takes_replicas_and_the_flaw_says_it_brings_two() {
    let only = [
        "--only",
        "session.revoked-on-logout",
        "--only",
        "token.revoked-on-logout",
    ];
    let mut args = vec!["demo", "--seed", "3", "--replicas", "1"];
    args.extend(only);
    let (code, out, err) = authprobe(&args);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("replicas: 1"),
        "the target names its replicas: {out}"
    );
    let mut args = vec!["demo", "--seed", "3", "--flaw", "replica-local-revocation"];
    args.extend(only);
    let (code, out, err) = authprobe(&args);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("2 replicas are started"), "{err}");
    assert_eq!(out.matches("FAIL").count(), 2, "{out}");
    let (code, _, err) = authprobe(&["demo", "--replicas", "17"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("from 0 to 16"), "{err}");
}

#[test]
fn the_testbed_prints_every_instance() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_authprobe"))
        .args(["testbed", "--listen", "127.0.0.1:0", "--replicas", "2"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("testbed starts");
    let stderr = child.stderr.take().expect("stderr");
    let lines: Vec<String> = BufReader::new(stderr)
        .lines()
        .take(4)
        .map(|l| l.unwrap_or_default())
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let text = lines.join("\n");
    assert!(
        lines[0].starts_with("authprobe testbed listening on http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("  replica 1: http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("  replica 2: http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("  for a profile: replicas: [\"http://127.0.0.1:"),
        "{text}"
    );
}
