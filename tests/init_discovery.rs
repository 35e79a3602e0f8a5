//! `authprobe init --url … --login`: for each of the testbed's login front-ends, the profile
//! init writes passes `check` with no edits; without `--login` discovery sends only GET
//! requests; and every rule keeps its clean verdict under every front-end.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use authprobe::testbed::{self, FrontEnd, TestbedConfig};
use serde_json::Value;

/// The demo password (public by design), given to init and check through the environment.
const PASSWORD: &str = "alice-demo-password";
/// The rules a cookie login is checked with.
const COOKIE_RULES: &[&str] = &[
    "session.rotated-on-login",
    "session.revoked-on-logout",
    "session.tamper-rejected",
    "cookie.*",
    "transport.csrf",
    "transport.csp",
];
/// The rules a token login is checked with.
const TOKEN_RULES: &[&str] = &[
    "jwt.alg-none-rejected",
    "jwt.signature-required",
    "jwt.tamper-rejected",
    "jwt.expiry-present",
    "refresh.issues-new-access",
    "refresh.rotated",
    "refresh.reuse-rejected",
    "refresh.revocation-endpoint",
];

/// A fresh file path for a written profile.
fn profile_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authprobe-init-disc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.yaml"));
    let _ = std::fs::remove_file(&path);
    path
}

/// Runs the binary with `args` and the demo secrets in the environment, off the runtime.
async fn authprobe(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_authprobe"))
            .args(&args)
            .env("ALICE_PASSWORD", PASSWORD)
            .env("OAUTH_CLIENT_SECRET", testbed::DEMO_CLIENT_SECRET)
            .env("NO_COLOR", "1")
            .output()
            .expect("binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .expect("joined")
}

/// `init --url BASE --login alice` (plus `extra`) into a new file: its path and text.
async fn init(base: &str, name: &str, extra: &[&str]) -> (PathBuf, String) {
    let path = profile_path(name);
    let mut args: Vec<String> = ["init", "--url", base, "--login", "alice", "--out"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(path.to_str().expect("utf-8 path").to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let (code, out, err) = authprobe(args).await;
    assert_eq!(code, 0, "init failed: {out}{err}");
    let text = std::fs::read_to_string(&path).expect("profile written");
    assert!(
        !text.contains(PASSWORD),
        "the password is never written:\n{text}"
    );
    (path, text)
}

/// `check --profile PATH --only …` (the rate raised: the profile itself is not edited): the
/// exit code and each rule's (id, status, reason).
async fn check(path: &Path, only: &[&str]) -> (i32, Vec<(String, String, String)>, String) {
    let mut args: Vec<String> = vec![
        "check".into(),
        "--profile".into(),
        path.to_str().expect("utf-8 path").into(),
        "--format".into(),
        "json".into(),
        "--quiet".into(),
        "--seed".into(),
        "7".into(),
        "--max-rps".into(),
        "2000".into(),
    ];
    for o in only {
        args.push("--only".into());
        args.push(o.to_string());
    }
    let (code, out, err) = authprobe(args).await;
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let results = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
            (s("id"), s("status"), s("reason"))
        })
        .collect();
    (code, results, err)
}

/// Every selected rule passed (none skipped for want of what init should have found).
fn assert_all_pass(front: FrontEnd, code: i32, results: &[(String, String, String)], text: &str) {
    assert!(!results.is_empty(), "{front}: no rule ran");
    for (id, status, reason) in results {
        assert_eq!(status, "pass", "{front}: {id} {status} ({reason})\n{text}");
    }
    assert_eq!(code, 0, "{front}");
}

/// Starts the testbed with `front`, writes its profile with init and checks `only`.
async fn init_then_check(front: FrontEnd, only: &[&str], extra: &[&str]) -> String {
    let config = TestbedConfig {
        front_end: Some(front),
        ..TestbedConfig::default()
    };
    let bed = testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("testbed starts");
    let (path, text) = init(&bed.base_url(), front.name(), extra).await;
    let (code, results, err) = check(&path, only).await;
    bed.shutdown().await;
    assert_all_pass(front, code, &results, &format!("{text}\n{err}"));
    text
}

mod front_ends {
    use super::*;

    /// A framework's HTML login: the form, its hidden CSRF field and the session cookie.
    async fn html(front: FrontEnd, csrf_field: &str, session_cookie: &str) {
        let text = init_then_check(front, COOKIE_RULES, &[]).await;
        assert!(
            text.contains(&format!("\"{csrf_field}\": \"{{{{csrf}}}}\"")),
            "{text}"
        );
        assert!(
            text.contains(&format!("cookie: \"{session_cookie}\"")),
            "{text}"
        );
        assert!(text.contains("  logout:\n"), "{text}");
        assert!(
            text.contains("# token:") && !text.contains("\ntoken:"),
            "without the OAuth client the token section stays commented out:\n{text}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn django() {
        html(FrontEnd::Django, "csrfmiddlewaretoken", "__Host-sessionid").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn rails() {
        html(FrontEnd::Rails, "authenticity_token", "__Host-_app_session").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn laravel() {
        html(FrontEnd::Laravel, "_token", "__Host-laravel_session").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn spring() {
        html(FrontEnd::Spring, "_csrf", "__Host-JSESSIONID").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn aspnet() {
        html(
            FrontEnd::AspNet,
            "__RequestVerificationToken",
            "__Host-.AspNetCore.Cookies",
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn express() {
        html(FrontEnd::Express, "_csrf", "__Host-connect.sid").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn json_login_with_a_csrf_header() {
        let mut only = COOKIE_RULES.to_vec();
        only.push("session.logout-everywhere");
        let text = init_then_check(FrontEnd::Json, &only, &[]).await;
        assert!(text.contains("X-CSRF-Token"), "{text}");
        assert!(text.contains("logout_everywhere:"), "{text}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn oidc_provider() {
        let extra = ["--client-id", testbed::DEMO_CLIENT_ID];
        let text = init_then_check(FrontEnd::Oidc, TOKEN_RULES, &extra).await;
        assert!(text.contains("path: \"/oauth/userinfo\""), "{text}");
        assert!(text.contains("scope: \"openid offline_access\""), "{text}");
        assert!(
            !text.contains("flows:"),
            "no cookie flows were found:\n{text}"
        );
    }
}

/// Every rule keeps its clean-testbed verdict under every front-end: none fails, errs or is
/// inconclusive, and the session, cookie and transport rules pass (a skip only for what the
/// written profile cannot provide: tokens without a client, a second user, logout everywhere
/// without such a form).
#[tokio::test(flavor = "multi_thread")]
async fn every_rule_keeps_its_verdict_under_every_front_end() {
    for front in FrontEnd::ALL {
        let config = TestbedConfig {
            front_end: Some(front),
            ..TestbedConfig::default()
        };
        let bed = testbed::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config)
            .await
            .expect("testbed starts");
        let extra = ["--client-id", testbed::DEMO_CLIENT_ID];
        let (path, text) = init(&bed.base_url(), &format!("all-{front}"), &extra).await;
        let (code, results, err) = check(&path, &[]).await;
        bed.shutdown().await;
        let mut passed = 0;
        for (id, status, reason) in &results {
            assert!(
                status == "pass" || status == "skip",
                "{front}: {id} {status} ({reason})\n{text}\n{err}"
            );
            let cookie_rule = ["session.", "cookie.", "transport."]
                .iter()
                .any(|p| id.starts_with(p));
            if cookie_rule && front != FrontEnd::Oidc && id != "session.logout-everywhere" {
                assert_eq!(status, "pass", "{front}: {id} ({reason})");
            }
            passed += usize::from(status == "pass");
        }
        assert!(passed >= 15, "{front}: only {passed} rules passed");
        assert_eq!(code, 0, "{front}");
    }
}

/// Without `--login`, discovery sends only GET, HEAD and OPTIONS requests, and still finds
/// the login form.
#[tokio::test(flavor = "multi_thread")]
async fn without_login_only_safe_methods_are_sent() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    let config = TestbedConfig {
        front_end: Some(FrontEnd::Django),
        ..TestbedConfig::default()
    };
    let app = testbed::router(config).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let record = record.clone();
            async move {
                let line = format!("{} {}", req.method(), req.uri().path());
                record.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                next.run(req).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let path = profile_path("get-only");
    let args = [
        "init",
        "--url",
        &base,
        "--out",
        path.to_str().expect("utf-8"),
    ];
    let (code, out, err) = authprobe(args.iter().map(|s| s.to_string()).collect()).await;
    server.abort();
    assert_eq!(code, 0, "{out}{err}");
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        seen.contains(&"GET /accounts/login/".to_string()),
        "{seen:?}"
    );
    for line in &seen {
        let method = line.split(' ').next().unwrap_or("");
        assert!(
            matches!(method, "GET" | "HEAD" | "OPTIONS"),
            "{line} sent without --login: {seen:?}"
        );
    }
    let text = std::fs::read_to_string(&path).expect("profile written");
    assert!(text.contains("csrfmiddlewaretoken"), "{text}");
    let (code, out, err) = authprobe(vec![
        "validate".into(),
        path.to_str().expect("utf-8").into(),
    ])
    .await;
    assert_eq!(code, 0, "the profile validates:\n{text}\n{out}{err}");
}
