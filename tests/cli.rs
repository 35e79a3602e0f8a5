//! The command line's contract: exit codes, diagnostics with locations, JSON on stdout.

use crate::support::authprobe;

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn demo_exits_zero_on_the_clean_testbed() {
    let (code, out, err) = authprobe(&["demo", "--seed", "7"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("PASS"), "{out}");
    assert!(out.contains("0 failed"), "{out}");
}

#[test]
fn demo_with_a_flaw_exits_one_and_reports_json() {
    let (code, out, err) = authprobe(&[
        "demo",
        "--flaw",
        "refresh-survives-logout",
        "--format",
        "json",
        "--seed",
        "7",
    ]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON");
    assert_eq!(v["schema"], "authprobe.report/v1");
    assert_eq!(v["seed"], 7);
    let failed: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["refresh.revoked-on-logout", "refresh.model"]);
    // The model rule carries its shrunk counterexample: steps and the seed.
    let model = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "refresh.model")
        .unwrap();
    let c = &model["counterexample"];
    assert_eq!(c["seed"], 7);
    let steps = c["steps"].as_array().expect("steps");
    assert!(!steps.is_empty());
    let last = steps.last().unwrap();
    assert_eq!(last["failing"], true);
    assert!(last["expected"].is_string() && last["observed"].is_string());
    assert!(
        c["replay_script"]
            .as_str()
            .unwrap()
            .starts_with("#!/bin/sh")
    );
    for key in ["pass", "fail", "skip", "inconclusive", "error"] {
        assert!(v["summary"][key].is_number(), "summary.{key}");
    }
}

#[test]
fn demo_lists_flaws_as_text_and_json() {
    let (code, out, _) = authprobe(&["demo", "--list-flaws"]);
    assert_eq!(code, 0);
    assert!(out.contains("session-fixation") && out.contains("session.rotated-on-login"));
    let (code, out, _) = authprobe(&["demo", "--list-flaws", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v.as_array().unwrap().len(),
        authprobe::testbed::Flaw::ALL.len()
    );
}

#[test]
fn unknown_flaw_is_bad_input() {
    let (code, _, err) = authprobe(&["demo", "--flaw", "no-such-flaw"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("session-fixation"),
        "the error lists valid names: {err}"
    );
}

#[test]
fn validate_reports_unknown_key_with_location_and_exits_two() {
    let (code, _, err) = authprobe(&["validate", &data("bad-spec.yaml")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad-spec.yaml:12:5: error: unknown field `titel`"),
        "{err}"
    );
    assert!(
        err.contains("bad-spec.yaml:21:"),
        "every problem is reported, not only the first: {err}"
    );
}

#[test]
fn validate_accepts_the_shipped_specs_and_profile() {
    let root = env!("CARGO_MANIFEST_DIR");
    let (code, out, err) = authprobe(&[
        "validate",
        &format!("{root}/specs/cookies.yaml"),
        &format!("{root}/specs/sessions.yaml"),
        &format!("{root}/specs/profiles/testbed.yaml"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("15 rules"), "{out}");
}

#[test]
fn validate_warns_about_declared_flows_no_selected_rule_runs() {
    let root = env!("CARGO_MANIFEST_DIR");
    let profile = format!("{root}/specs/profiles/testbed.yaml");
    // Cookie rules only (cookie.cleared-on-logout runs the logout): logout everywhere, the
    // anonymous visit and the token logout would never run.
    let (code, out, err) =
        authprobe(&["validate", &format!("{root}/specs/cookies.yaml"), &profile]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("`flows.logout`"), "{out}");
    for key in [
        "flows.logout_everywhere`",
        "flows.anonymous`",
        "token.logout`",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("warning: ") && l.contains(key)),
            "{key}: {out}"
        );
    }
    // The shipped catalogue uses every flow the testbed profile declares.
    let (code, out, err) = authprobe(&["validate", &profile]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("warning:"), "{out}");
}

#[test]
fn check_against_a_closed_port_exits_three() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let profile = std::fs::read_to_string(format!(
        "{}/specs/profiles/testbed.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace("http://127.0.0.1:8080", &format!("http://127.0.0.1:{port}"));
    let dir = std::env::temp_dir().join(format!("authprobe-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("closed.yaml");
    std::fs::write(&file, profile).unwrap();
    let (code, _, err) = authprobe(&["check", "--profile", file.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("could not be reached"), "{err}");
}

#[test]
fn profile_with_missing_environment_variable_is_bad_input() {
    let (code, _, err) = authprobe(&["check", "--profile", &data("env-profile.yaml")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("AUTHPROBE_TEST_UNSET_PASSWORD"), "{err}");
    assert!(err.contains("env-profile.yaml:"), "{err}");
}

/// `validate` once said ok while the password's variable was unset, and `check` then refused
/// the profile (issue 16): validate warns, at the key, and still exits 0.
#[test]
fn validate_warns_about_an_unset_environment_variable_at_its_line() {
    let (code, out, err) = authprobe(&["validate", &data("env-profile.yaml")]);
    assert_eq!(code, 0, "{err}");
    let warning = out
        .lines()
        .find(|l| l.starts_with("warning: ") && l.contains("AUTHPROBE_TEST_UNSET_PASSWORD"))
        .unwrap_or_else(|| panic!("no warning: {out}"));
    assert!(warning.contains("env-profile.yaml:5:"), "{warning}");
    assert!(warning.contains("users.alice.password"), "{warning}");
    assert!(warning.contains("is not set"), "{warning}");
    assert!(out.contains("ok: "), "{out}");
    // The shipped profile names no variable: no warning.
    let (code, out, _) = authprobe(&["validate", &data("../../specs/profiles/testbed.yaml")]);
    assert_eq!(code, 0);
    assert!(!out.contains("warning:"), "{out}");
}

#[test]
fn inspect_set_cookie_explains_a_rejected_host_prefix() {
    let (code, out, _) = authprobe(&[
        "inspect",
        "set-cookie",
        "--url",
        "https://app.example.com/login",
        "--format",
        "json",
        "__Host-sid=abc; Path=/app; Secure",
        "Set-Cookie: theme=dark; Path=/",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["headers"][0]["accepted"], false);
    assert_eq!(
        v["headers"][0]["rejection"]["kind"],
        "host_prefix_violation"
    );
    assert_eq!(v["headers"][1]["accepted"], true);
    assert_eq!(v["cookie_header"], "theme=dark");
}

/// Several responses from a file (a whole HTTP response), judged at a fixed time, asked about
/// other paths and hosts: each cookie is sent or not with the reason.
#[test]
fn inspect_set_cookie_answers_for_other_urls_from_a_response_file() {
    let (code, out, err) = authprobe(&[
        "inspect",
        "set-cookie",
        "--url",
        "https://app.example.com/login",
        "--file",
        &data("login-response.http"),
        "--request-url",
        "https://app.example.com/app/x",
        "--request-url",
        "https://sub.example.com/",
        "--request-url",
        "http://app.example.com/app/x",
        "--now",
        "1700000000",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let headers = v["headers"].as_array().unwrap();
    assert_eq!(headers.len(), 4, "the body's line is not a header: {out}");
    assert_eq!(headers[2]["rejection"]["kind"], "public_suffix_domain");
    assert_eq!(v["now"], 1_700_000_000);
    let requests = v["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 4);
    let sent = |i: usize, name: &str| -> serde_json::Value {
        requests[i]["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["not_sent"].clone())
            .unwrap_or_else(|| panic!("{name} in request {i}: {out}"))
    };
    // The response URL itself: /login is not under /app.
    assert_eq!(sent(0, "sid"), "other_path");
    assert_eq!(sent(0, "pref"), serde_json::Value::Null);
    assert_eq!(
        sent(0, "old"),
        serde_json::Value::Null,
        "not expired at --now"
    );
    assert_eq!(requests[1]["cookie_header"], "sid=s1; pref=1; old=1");
    assert_eq!(sent(2, "sid"), "host_only");
    assert_eq!(sent(2, "pref"), serde_json::Value::Null);
    assert_eq!(sent(3, "sid"), "insecure_origin");
    // The same file read from stdin, as text.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_authprobe"))
        .args([
            "inspect",
            "set-cookie",
            "--url",
            "https://app.example.com/login",
            "--file",
            "-",
            "--request-url",
            "https://sub.example.com/",
            "--now",
            "Tue, 14 Nov 2023 23:13:21 GMT",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("binary runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(&std::fs::read(data("login-response.http")).unwrap())
            .unwrap();
    }
    let done = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&done.stdout);
    assert_eq!(done.status.code(), Some(0), "{text}");
    assert!(text.contains("public_suffix_domain"), "{text}");
    assert!(
        text.contains("sid (host app.example.com, path /app): not sent: host-only cookie"),
        "{text}"
    );
    // Already expired at --now: not stored, so nothing is sent.
    assert!(text.contains("already expired"), "{text}");
    assert!(!text.contains("old (host"), "{text}");
}

#[test]
fn inspect_set_cookie_refuses_a_bad_now_and_an_empty_input() {
    let (code, _, err) = authprobe(&[
        "inspect",
        "set-cookie",
        "--url",
        "https://a.example/",
        "--now",
        "soon",
        "a=b",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--now \"soon\""), "{err}");
    let (code, _, err) = authprobe(&["inspect", "set-cookie", "--url", "https://a.example/"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn testbed_refuses_a_non_loopback_address() {
    let (code, _, err) = authprobe(&["testbed", "--listen", "0.0.0.0:0"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn readme_rule_table_is_current() {
    let catalogue = authprobe::spec::builtin_catalogue().unwrap();
    let table = authprobe::report::rule_table(&catalogue, &authprobe::demo::flaws());
    let readme =
        std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(
        readme.contains(&table),
        "README.md's rule table is stale; replace it with:\n{table}"
    );
}

#[test]
fn readme_quirk_table_is_current() {
    let table = authprobe::report::quirk_table(&authprobe::demo::quirks());
    let readme =
        std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(
        readme.contains(&table),
        "README.md's quirk table is stale; replace it with:\n{table}"
    );
}

mod inspect_jwt {
    use crate::support::{authprobe, demo_es256_pubkey as pubkey, demo_es256_token as token};

    #[test]
    fn a_genuine_token_verifies_with_the_public_key() {
        let t = token(
            serde_json::json!({"sub": "alice", "exp": 4_000_000_000u64, "email": "alice@example.com"}),
        );
        let (code, out, err) =
            authprobe(&["inspect", "jwt", &t, "--key", &pubkey(), "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["verification"]["verified"], true);
        assert_eq!(v["header"]["alg"], "ES256");
        assert!(
            v["exposures"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["category"] == "email address"),
            "{out}"
        );
    }

    #[test]
    fn a_tampered_token_does_not_verify_and_exits_one() {
        let t = token(serde_json::json!({"sub": "alice"}));
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        parts[1] = authprobe::jwt::b64url(br#"{"sub":"admin"}"#);
        let (code, out, _) = authprobe(&["inspect", "jwt", &parts.join("."), "--key", &pubkey()]);
        assert_eq!(code, 1);
        assert!(out.contains("NOT VERIFIED"), "{out}");
    }

    #[test]
    fn the_algorithm_comes_from_the_key_not_the_token() {
        let header = authprobe::jwt::b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = authprobe::jwt::b64url(br#"{"sub":"alice"}"#);
        let (code, out, _) = authprobe(&[
            "inspect",
            "jwt",
            &format!("{header}.{payload}.c2ln"),
            "--key",
            &pubkey(),
        ]);
        assert_eq!(code, 1);
        assert!(out.contains("never from the token"), "{out}");
    }

    /// A temporary file with `bytes`, named after the test.
    fn temp_file(name: &str, bytes: &[u8]) -> String {
        let dir = std::env::temp_dir().join(format!("authprobe-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    }

    fn hs256(secret: &[u8]) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &serde_json::json!({"sub": "alice", "exp": 4_000_000_000u64}),
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    fn verification(args: &[&str]) -> (i32, serde_json::Value) {
        let mut all = vec!["inspect", "jwt"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", "json"]);
        let (code, out, err) = authprobe(&all);
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
        (code, v["verification"].clone())
    }

    #[test]
    fn binary_hmac_secrets_verify_byte_for_byte() {
        // 48 bytes with a NUL, non-UTF-8 bytes and a trailing CR LF: all part of the key.
        let mut secret: Vec<u8> = (0u8..46).map(|i| i.wrapping_mul(37) ^ 0xF0).collect();
        secret.extend_from_slice(b"\r\n");
        let token = hs256(&secret);
        let raw = temp_file("binary.key", &secret);
        let (code, v) = verification(&[&token, "--key", &raw]);
        assert_eq!((code, &v["verified"]), (0, &serde_json::json!(true)), "{v}");
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&secret);
        let file = temp_file("binary.b64", format!("{b64}\n").as_bytes());
        let (code, v) = verification(&[&token, "--key-b64", &file]);
        assert_eq!((code, &v["verified"]), (0, &serde_json::json!(true)), "{v}");
        // Without the trailing CR LF it is another key.
        let cut = temp_file("cut.key", &secret[..46]);
        let (code, v) = verification(&[&token, "--key", &cut]);
        assert_eq!(code, 1, "{v}");
    }

    #[test]
    fn weak_keys_and_other_algorithms_are_refused_with_the_reason() {
        let short = b"only-16-bytes!!!";
        let (code, v) = verification(&[&hs256(short), "--key", &temp_file("short.key", short)]);
        assert_eq!(
            (code, &v["refusal"]),
            (1, &serde_json::json!("short_hmac_key")),
            "{v}"
        );
        let (code, v) = verification(&[&hs256(b""), "--key", &temp_file("empty.key", b"")]);
        assert_eq!(
            (code, &v["refusal"]),
            (1, &serde_json::json!("empty_hmac_key")),
            "{v}"
        );
        let es = token(serde_json::json!({"sub": "alice"}));
        let (code, v) = verification(&[&es, "--key", &pubkey(), "--alg", "PS512"]);
        assert_eq!(
            (code, &v["refusal"]),
            (1, &serde_json::json!("algorithm_not_pinned")),
            "{v}"
        );
        let (code, v) = verification(&[&es, "--key", &pubkey(), "--alg", "ES256"]);
        assert_eq!((code, &v["verified"]), (0, &serde_json::json!(true)), "{v}");
        let (code, _, err) = authprobe(&["inspect", "jwt", &es, "--alg", "none"]);
        assert_eq!(code, 2, "{err}");
    }

    #[test]
    fn ambiguous_key_sets_are_refused() {
        let es = token(serde_json::json!({"sub": "alice"}));
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        let set = serde_json::json!({"keys": [jwk, jwk]});
        let file = temp_file("two.jwks", set.to_string().as_bytes());
        let (code, v) = verification(&[&es, "--jwks", &file]);
        assert_eq!(
            (code, &v["refusal"]),
            (1, &serde_json::json!("ambiguous_key")),
            "{v}"
        );
    }

    #[test]
    fn garbage_and_jwe_are_bad_input_not_panics() {
        let (code, _, err) = authprobe(&["inspect", "jwt", "not-a-token"]);
        assert_eq!(code, 2, "{err}");
        // A JWE is recognised and described (exit 0), not refused as bad input.
        let (code, out, err) = authprobe(&[
            "inspect",
            "jwt",
            "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d",
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("JWE"), "{out}");
    }
}

mod gating {
    use crate::support::authprobe;

    fn baseline(name: &str, body: &str) -> String {
        let dir = std::env::temp_dir().join(format!("authprobe-gate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(name);
        std::fs::write(&file, body).unwrap();
        file.to_string_lossy().into_owned()
    }

    #[test]
    fn a_baselined_failure_passes_the_gate_until_it_expires() {
        let ok = baseline(
            "ok.yaml",
            "expected_failures:\n  - rule: cookie.http-only\n    reason: legacy widget, SEC-1\n    expires: 2999-12-31\n",
        );
        let (code, out, err) = authprobe(&[
            "demo",
            "--flaw",
            "cookie-no-httponly",
            "--only",
            "cookie.*",
            "--baseline",
            &ok,
            "--seed",
            "1",
        ]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("baselined: cookie.http-only"), "{out}");
        let expired = baseline(
            "expired.yaml",
            "expected_failures:\n  - rule: cookie.http-only\n    reason: legacy widget, SEC-1\n    expires: 2020-01-01\n",
        );
        let (code, _, err) = authprobe(&[
            "demo",
            "--flaw",
            "cookie-no-httponly",
            "--only",
            "cookie.*",
            "--baseline",
            &expired,
            "--seed",
            "1",
        ]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("expired"), "{err}");
    }

    #[test]
    fn a_stale_entry_is_reported_and_does_not_fail() {
        let stale = baseline(
            "stale.yaml",
            "expected_failures:\n  - rule: cookie.secure\n    reason: old\n",
        );
        let (code, _, err) = authprobe(&[
            "demo",
            "--only",
            "cookie.*",
            "--baseline",
            &stale,
            "--seed",
            "1",
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("stale"), "{err}");
    }

    #[test]
    fn fail_on_ignores_failures_below_the_threshold_and_strict_counts_should_rules() {
        // cookie.http-only is high: ignored with --fail-on critical.
        let (code, _, _) = authprobe(&[
            "demo",
            "--flaw",
            "cookie-no-httponly",
            "--only",
            "cookie.*",
            "--fail-on",
            "critical",
            "--seed",
            "1",
        ]);
        assert_eq!(code, 0);
        // cookie.prefix is a low, should-level rule: counted only with --strict.
        let args = [
            "demo",
            "--flaw",
            "cookie-prefix-broken",
            "--only",
            "cookie.prefix",
            "--fail-on",
            "low",
            "--seed",
            "1",
        ];
        assert_eq!(authprobe(&args).0, 0);
        let mut strict = args.to_vec();
        strict.push("--strict");
        assert_eq!(authprobe(&strict).0, 1);
        // Without --fail-on every failure counts (the core contract).
        assert_eq!(authprobe(&args[..5]).0, 1);
    }

    #[test]
    fn validate_checks_baselines_against_the_catalogue() {
        let bad = baseline(
            "bad.yaml",
            "expected_failures:\n  - rule: cookie.nope\n    reason: x\n",
        );
        let (code, _, err) = authprobe(&["validate", &bad]);
        assert_eq!(code, 2);
        assert!(
            err.contains("bad.yaml:2:") && err.contains("unknown rule id"),
            "{err}"
        );
    }
}

mod schemas {
    use authprobe::schema::{Kind, render};

    fn root() -> String {
        env!("CARGO_MANIFEST_DIR").to_string()
    }

    fn yaml_to_json(path: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(path).unwrap();
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn validate(kind: Kind, files: &[String]) {
        let schema: serde_json::Value = serde_json::from_str(&render(kind)).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("the schema is valid");
        for f in files {
            let doc = yaml_to_json(f);
            let errors: Vec<String> = validator
                .iter_errors(&doc)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{f} does not validate: {errors:#?}");
        }
    }

    #[test]
    fn committed_schemas_are_current() {
        for (kind, name) in [
            (Kind::Spec, "spec"),
            (Kind::Profile, "profile"),
            (Kind::Baseline, "baseline"),
        ] {
            let file = format!("{}/schemas/{name}.schema.json", root());
            let committed = std::fs::read_to_string(&file).unwrap_or_default();
            assert_eq!(
                committed.trim_end(),
                render(kind).trim_end(),
                "{file} is stale: run `authprobe schema {name} > {file}`"
            );
        }
    }

    #[test]
    fn every_shipped_file_validates_against_its_schema() {
        let specs: Vec<String> = ["cookies", "sessions", "jwt", "transport"]
            .iter()
            .map(|n| format!("{}/specs/{n}.yaml", root()))
            .collect();
        validate(Kind::Spec, &specs);
        validate(
            Kind::Profile,
            &[
                format!("{}/specs/profiles/testbed.yaml", root()),
                format!("{}/tests/data/env-profile.yaml", root()),
            ],
        );
        validate(
            Kind::Baseline,
            &[format!("{}/tests/data/baseline.yaml", root())],
        );
    }

    #[test]
    fn the_schema_rejects_what_the_loader_rejects() {
        let schema: serde_json::Value = serde_json::from_str(&render(Kind::Spec)).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let bad = yaml_to_json(&format!("{}/tests/data/bad-spec.yaml", root()));
        assert!(!validator.is_valid(&bad));
    }
}

mod catalogue_commands {
    use crate::support::authprobe;

    #[test]
    fn rules_lists_every_rule_as_text_and_json() {
        let (code, out, _) = authprobe(&["rules", "--format", "json"]);
        assert_eq!(code, 0);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let n = authprobe::spec::builtin_catalogue().unwrap().rules.len();
        assert_eq!(v.as_array().unwrap().len(), n);
        let (code, out, _) = authprobe(&["rules"]);
        assert_eq!(code, 0);
        assert!(out.contains("session.revoked-on-logout"));
    }

    #[test]
    fn explain_shows_requirement_fix_and_manual_check() {
        let (code, out, _) = authprobe(&["explain", "cookie.http-only"]);
        assert_eq!(code, 0);
        for needle in [
            "MUST carry the HttpOnly",
            "how to fix",
            "how to check by hand",
            "curl",
            "--flaw cookie-no-httponly",
        ] {
            assert!(out.contains(needle), "missing {needle}: {out}");
        }
        assert_eq!(authprobe(&["explain", "no.such-rule"]).0, 2);
    }

    #[test]
    fn init_writes_a_profile_that_validates_and_never_overwrites() {
        let dir = std::env::temp_dir().join(format!("authprobe-init-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.yaml");
        let _ = std::fs::remove_file(&file);
        let f = file.to_str().unwrap();
        assert_eq!(
            authprobe(&[
                "init",
                "--url",
                "https://api.example.com",
                "--skeleton",
                "--out",
                f
            ])
            .0,
            0
        );
        let (code, out, err) = authprobe(&["validate", f]);
        assert_eq!(code, 0, "{out}{err}");
        std::fs::write(&file, "mine").unwrap();
        assert_eq!(authprobe(&["init", "--out", f]).0, 2);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "mine",
            "nothing the user wrote is overwritten"
        );
    }
}

mod ci_reports {
    use crate::support::authprobe;

    #[test]
    fn demo_junit_is_well_formed_with_one_failure() {
        let (code, out, err) = authprobe(&[
            "demo",
            "--flaw",
            "cookie-no-httponly",
            "--format",
            "junit",
            "--seed",
            "1",
            "--quiet",
        ]);
        assert_eq!(code, 1, "{err}");
        let mut reader = quick_xml::Reader::from_str(&out);
        let (mut failures, mut testcases) = (0, 0);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Start(e)) | Ok(quick_xml::events::Event::Empty(e)) => {
                    match e.name().as_ref() {
                        b"failure" => failures += 1,
                        b"testcase" => testcases += 1,
                        _ => {}
                    }
                }
                Ok(quick_xml::events::Event::Eof) => break,
                Err(e) => panic!("not well-formed XML: {e}"),
                _ => {}
            }
        }
        assert_eq!(failures, 1);
        assert_eq!(
            testcases,
            authprobe::spec::builtin_catalogue().unwrap().rules.len()
        );
    }

    #[test]
    fn demo_sarif_validates_against_the_sarif_schema() {
        let (code, out, err) = authprobe(&[
            "demo",
            "--flaw",
            "cookie-no-httponly",
            "--format",
            "sarif",
            "--seed",
            "1",
            "--quiet",
        ]);
        assert_eq!(code, 1, "{err}");
        // The shipped schema has a stray `]` in two `language` patterns; escape it in memory
        // (see src/report/sarif.rs).
        let text = std::fs::read_to_string(format!(
            "{}/schemas/sarif-2.1.0.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .replace(
            r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
            r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$""#,
        );
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        let log: serde_json::Value = serde_json::from_str(&out).unwrap();
        let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 1);
    }
}
