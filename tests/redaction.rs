//! No secret leaves in any encoding: the testbed behind a hostile layer that echoes every
//! secret it sees (passwords, the client secret, cookie values, tokens) in every encoding —
//! in headers, bodies, cookie values, JSON keys, HTML and error pages, and inside the
//! session id itself — then checks, a short fuzz, every report format, replay scripts and
//! fuzz finding files, searched for every secret in every encoding (the encoders below are
//! this test's own, independent of authprobe's).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use authprobe::fuzzer::{self, FuzzOptions};
use authprobe::profile::{TESTBED_PROFILE, parse_profile};
use authprobe::report::{self, Format};
use authprobe::testbed::{self, Flaw, TestbedConfig};
use authprobe::{Capture, ClientConfig, Redactor, Report, RunOptions};

/// The testbed's real passwords; the profile gives authprobe other ones, which the hostile
/// layer swaps in on the way in (so any password can be tested) and echoes on the way out.
const REAL: [(&str, &str); 2] = [
    ("alice", "alice-demo-password"),
    ("bob", "bob-demo-password"),
];
const CLIENT_SECRET: &str = "authprobe-demo-client-secret";
const SESSION: &str = "__Host-session";

/// What the hostile layer knows: the passwords authprobe uses, and every secret seen.
struct Hostile {
    passwords: Vec<(String, String)>,
    seen: Mutex<BTreeSet<String>>,
}

// ---- this test's own encoders -------------------------------------------------------------

fn pct_all(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

fn pct_min(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

fn form(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b if b.is_ascii_alphanumeric() || b"*-._".contains(&b) => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn json_u_all(s: &str) -> String {
    s.encode_utf16().map(|u| format!("\\u{u:04x}")).collect()
}

fn json_min(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            '/' => "\\/".to_owned(),
            '&' => "\\u0026".to_owned(),
            '<' => "\\u003C".to_owned(),
            '>' => "\\u003e".to_owned(),
            c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

fn html_named(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&LT;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            'é' => "&eacute;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn html_dec(s: &str) -> String {
    s.chars().map(|c| format!("&#{};", c as u32)).collect()
}

fn html_hex(s: &str) -> String {
    s.chars().map(|c| format!("&#X{:X};", c as u32)).collect()
}

fn hex(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// Every encoding the hostile layer echoes a secret in (and the test then looks for).
fn encodings(secret: &str, user: Option<&str>) -> Vec<String> {
    let mut out = vec![
        secret.to_owned(),
        form(secret),
        pct_all(secret, false),
        pct_all(secret, true),
        pct_min(secret),
        json_u_all(secret),
        json_min(secret),
        html_named(secret),
        html_dec(secret),
        html_hex(secret),
        STANDARD.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        hex(secret, false),
        hex(secret, true),
    ];
    if let Some(u) = user {
        out.push(STANDARD.encode(format!("{u}:{secret}")));
    }
    out
}

/// The same secrets inside longer base64 blobs (each alignment) as the layer echoes them.
fn blob_encodings(secret: &str) -> Vec<String> {
    ["", "x", "xy"]
        .iter()
        .map(|p| STANDARD.encode(format!("{p}{secret}!")))
        .collect()
}

// ---- the hostile layer -------------------------------------------------------------------

/// The session id authprobe sees: the testbed's id and a password, as readable JSON in
/// base64url (so `session.opaque-id` decodes a password inside a session id).
fn wrap_id(id: &str, password: &str) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!({"sid": id, "pw": password}).to_string())
}

fn unwrap_id(value: &str) -> Option<String> {
    let json: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(value).ok()?).ok()?;
    json.get("sid")?.as_str().map(str::to_owned)
}

/// Swaps the profile's passwords for the real ones in a login body; notes what it saw.
fn rewrite_body(h: &Hostile, body: &[u8]) -> Vec<u8> {
    if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(p) = json.get_mut("password")
            && let Some(real) = h.real_for(p.as_str().unwrap_or_default())
        {
            *p = serde_json::Value::String(real.to_owned());
        }
        return json.to_string().into_bytes();
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    if pairs.iter().any(|(k, _)| k == "password") {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            let v = if k == "password" {
                h.real_for(v).unwrap_or(v)
            } else {
                v
            };
            out.append_pair(k, v);
        }
        return out.finish().into_bytes();
    }
    body.to_vec()
}

impl Hostile {
    fn real_for(&self, password: &str) -> Option<&'static str> {
        self.passwords
            .iter()
            .zip(REAL)
            .find(|((_, p), _)| p == password)
            .map(|(_, (_, real))| real)
    }

    fn note(&self, secret: &str) {
        if !secret.is_empty()
            && let Ok(mut seen) = self.seen.lock()
        {
            seen.insert(secret.to_owned());
        }
    }

    /// Everything echoed: the passwords, the client secret, and the secrets this exchange
    /// carried (its cookies and credential), as an echo server would.
    fn echoes(&self, carried: &[String]) -> Vec<String> {
        let mut all: Vec<String> = self.passwords.iter().map(|(_, p)| p.clone()).collect();
        all.push(CLIENT_SECRET.to_owned());
        all.extend(carried.iter().filter(|s| !s.is_empty()).cloned());
        all
    }
}

async fn hostile(State(h): State<Arc<Hostile>>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let mut carried = Vec::new();
    // Unwrap the session ids the layer handed out; note every cookie and credential.
    if let Some(cookie) = parts.headers.get("cookie").and_then(|v| v.to_str().ok()) {
        let rewritten: Vec<String> = cookie
            .split("; ")
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                h.note(value);
                carried.push(value.to_owned());
                match (name == SESSION).then(|| unwrap_id(value)).flatten() {
                    Some(id) => format!("{name}={id}"),
                    None => pair.to_owned(),
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&rewritten.join("; ")) {
            parts.headers.insert("cookie", v);
        }
    }
    if let Some(auth) = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    {
        let credential = auth.split_once(' ').map_or(auth, |(_, t)| t);
        h.note(credential);
        carried.push(credential.to_owned());
    }
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let body = rewrite_body(&h, &body);
    let mut res = next.run(Request::from_parts(parts, Body::from(body))).await;
    let echoes = h.echoes(&carried);
    echo_headers(&h, &mut res, &echoes);
    let (parts, body) = res.into_parts();
    let body = axum::body::to_bytes(body, 1 << 22)
        .await
        .unwrap_or_default();
    let body = echo_body(&h, &parts, &body, &echoes);
    let mut res = Response::from_parts(parts, Body::from(body));
    res.headers_mut().remove("content-length");
    res
}

/// Wraps the session id, adds echo headers and echo cookies.
fn echo_headers(h: &Hostile, res: &mut Response, echoes: &[String]) {
    let password = h.passwords[0].1.clone();
    let cookies: Vec<HeaderValue> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .cloned()
        .collect();
    res.headers_mut().remove("set-cookie");
    for c in cookies {
        let text = c.to_str().unwrap_or_default().to_owned();
        let (pair, attrs) = text.split_once(';').unwrap_or((&text, ""));
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        // The testbed's own id never reaches authprobe (it sees the wrapped one).
        if name != SESSION {
            h.note(value);
        }
        let text = if name == SESSION && !value.is_empty() {
            let wrapped = wrap_id(value, &password);
            h.note(&wrapped);
            format!("{name}={wrapped};{attrs}")
        } else {
            text.clone()
        };
        if let Ok(v) = HeaderValue::from_str(&text) {
            res.headers_mut().append("set-cookie", v);
        }
    }
    let headers = res.headers_mut();
    for (i, secret) in echoes.iter().enumerate() {
        let all = encodings(secret, Some("alice")).join(" ");
        if let (Ok(name), Ok(v)) = (
            HeaderName::from_bytes(format!("x-echo-{i}").as_bytes()),
            HeaderValue::from_bytes(all.as_bytes()),
        ) {
            headers.insert(name, v);
        }
    }
    for (i, enc) in [URL_SAFE_NO_PAD.encode(&password), pct_all(&password, false)]
        .iter()
        .enumerate()
    {
        if let Ok(v) = HeaderValue::from_str(&format!("echo{i}={enc}; Path=/")) {
            headers.append("set-cookie", v);
        }
    }
}

/// Notes tokens in a JSON body, then echoes every secret into it: as JSON keys and values,
/// or as HTML text, attributes and a list of encodings.
fn echo_body(
    h: &Hostile,
    parts: &axum::http::response::Parts,
    body: &[u8],
    echoes: &[String],
) -> Vec<u8> {
    if let Ok(serde_json::Value::Object(mut map)) = serde_json::from_slice(body) {
        for (k, v) in &map {
            if k.ends_with("token")
                && let Some(s) = v.as_str()
            {
                h.note(s);
            }
        }
        for (i, secret) in echoes.iter().enumerate() {
            let mut all = encodings(secret, Some("alice"));
            all.extend(blob_encodings(secret));
            map.insert(format!("echo:{secret}"), serde_json::json!(all));
            map.insert(format!("x{i}"), serde_json::json!(secret));
        }
        return serde_json::Value::Object(map).to_string().into_bytes();
    }
    let mut out = body.to_vec();
    let html = parts
        .headers
        .get("content-type")
        .is_some_and(|c| c.to_str().unwrap_or("").contains("html"));
    for secret in echoes {
        let mut all = encodings(secret, Some("alice"));
        all.extend(blob_encodings(secret));
        if html {
            out.extend_from_slice(
                format!(
                    "<p>{}</p><input value=\"{}\"><!-- {} -->",
                    html_named(secret),
                    html_dec(secret),
                    all.join(" ")
                )
                .as_bytes(),
            );
        } else {
            out.extend_from_slice(format!("\n{}", all.join("\n")).as_bytes());
        }
    }
    out
}

async fn spawn_hostile(
    config: TestbedConfig,
    h: Arc<Hostile>,
) -> (String, tokio::task::JoinHandle<()>) {
    let app = testbed::router(config).layer(axum::middleware::from_fn_with_state(h, hostile));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

/// The testbed profile pointed at `url`, with these passwords (YAML double-quoted).
fn profile_text(url: &str, passwords: &[(String, String)]) -> String {
    let mut text = TESTBED_PROFILE.replace("http://127.0.0.1:8080", url);
    for ((_, p), (_, real)) in passwords.iter().zip(REAL) {
        let quoted = serde_json::to_string(p).expect("json");
        text = text.replace(
            &format!("{{public_demo: {real}}}"),
            &format!("{{public_demo: {quoted}}}"),
        );
    }
    text
}

// ---- the outputs and the search ------------------------------------------------------------

/// Every document authprobe writes for this run: each format sealed as the CLI seals it
/// (HAR also from the run's captured traffic, as `--report har=PATH` writes it), each replay
/// script.
fn outputs(report: &Report, redactor: &Redactor, capture: &Capture) -> Vec<(String, String)> {
    let catalogue = authprobe::spec::builtin_catalogue().expect("catalogue");
    let mut out = Vec::new();
    let har = report::har::render(report, Some(capture));
    assert!(
        capture
            .scopes
            .iter()
            .map(|s| s.exchanges.len())
            .sum::<usize>()
            > 20,
        "the run's traffic was captured"
    );
    out.push((
        "har (captured)".to_owned(),
        report::seal_text(Format::Har, &har, redactor).0,
    ));
    for format in Format::ALL {
        let text = report::render(format, report, None, &catalogue, Some("p.yaml"), false);
        let (sealed, _) = report::seal_text(format, &text, redactor);
        out.push((format.name().to_owned(), sealed));
    }
    for r in &report.results {
        if let Some(script) = r.counterexample().and_then(|c| c.replay_script.clone()) {
            let (sealed, _) = report::seal_text(Format::Human, &script, redactor);
            out.push((format!("replay script of {}", r.id), sealed));
        }
    }
    out
}

/// The document as its reader reads it: as written, with the output format's own escaping
/// undone (HTML entities, Markdown backslashes, JSON strings).
fn reader_views(doc: &str) -> Vec<String> {
    let html = doc
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let mut md = String::new();
    let mut chars = html.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(n)) if n.is_ascii_punctuation() => {
                md.push(*n);
                chars.next();
            }
            _ => md.push(c),
        }
    }
    let mut views = vec![doc.to_owned(), html, md];
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(doc) {
        let mut strings = Vec::new();
        json_strings(&json, &mut strings);
        views.push(strings.join("\n"));
    }
    views
}

fn json_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                json_strings(v, out);
            }
        }
        _ => {}
    }
}

/// Every occurrence of a secret (4+ characters) in any encoding, in any view of any output:
/// every encoding of every secret in one automaton, each view scanned once (a substring search
/// per encoding took minutes over a fuzz run's thousands of secrets in a debug build).
fn leaks(docs: &[(String, String)], secrets: &[(String, Option<&str>)]) -> Vec<String> {
    let mut patterns: Vec<String> = secrets
        .iter()
        .filter(|(secret, _)| secret.chars().count() >= 4)
        .flat_map(|(secret, user)| encodings(secret, *user))
        .filter(|enc| enc.len() >= 4)
        .collect();
    patterns.sort();
    patterns.dedup();
    let mut found = Vec::new();
    if patterns.is_empty() {
        return found;
    }
    let automaton = aho_corasick::AhoCorasick::new(&patterns).expect("the secrets' automaton");
    for (name, doc) in docs {
        for view in reader_views(doc) {
            for m in automaton.find_overlapping_iter(&view) {
                found.push(format!(
                    "{name}: {:?} (of a secret)",
                    patterns[m.pattern().as_usize()]
                ));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The search itself finds every encoding of a secret, overlapping ones included, in every
/// view, and nothing in a document without one.
#[test]
fn the_leak_search_finds_every_encoding_of_a_secret() {
    let secret = "s3cret/&wörd".to_owned();
    let secrets = vec![
        (secret.clone(), Some("alice")),
        ("other-secret".to_owned(), None),
    ];
    for enc in encodings(&secret, Some("alice"))
        .into_iter()
        .filter(|e| e.len() >= 4)
    {
        let docs = vec![("doc".to_owned(), format!("{{\"a\": \"x{enc}y\"}}"))];
        assert!(!leaks(&docs, &secrets).is_empty(), "{enc:?} not found");
    }
    let both = vec![("doc".to_owned(), format!("{secret}other-secret"))];
    assert_eq!(leaks(&both, &secrets).len(), 2);
    let clean = vec![("doc".to_owned(), "<redacted:password:alice>".to_owned())];
    assert!(leaks(&clean, &secrets).is_empty());
}

/// Runs `only` against the hostile testbed with `passwords`; the report, the redactor, every
/// secret the hostile layer saw and the run's captured traffic.
async fn hostile_run(
    flaws: &[Flaw],
    passwords: &[(String, String)],
    only: &[&str],
) -> (Report, Redactor, Vec<String>, Capture) {
    let h = Arc::new(Hostile {
        passwords: passwords.to_vec(),
        seen: Mutex::new(BTreeSet::new()),
    });
    let config = TestbedConfig {
        flaws: flaws.iter().copied().collect(),
        ..TestbedConfig::default()
    };
    let (url, task) = spawn_hostile(config, h.clone()).await;
    let text = profile_text(&url, passwords);
    let target = parse_profile(&text, Path::new("hostile.yaml"))
        .and_then(|p| p.load_secrets())
        .unwrap_or_else(|d| panic!("{d}"));
    let catalogue = authprobe::spec::builtin_catalogue().expect("catalogue");
    let options = RunOptions {
        seed: 13,
        only: only.iter().map(|s| s.to_string()).collect(),
        ..RunOptions::default()
    };
    let run = async {
        let config = ClientConfig {
            capture: true,
            ..ClientConfig::default()
        };
        let (target, client) = target.resolve(config).await?;
        let redactor = client.redactor().clone();
        let kept = client.clone();
        let report = authprobe::run(&catalogue, target, client, &options, &|_| {}).await?;
        Ok::<_, authprobe::RunError>((report, redactor, kept.captured()))
    };
    let (report, redactor, capture) = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the run ends")
        .unwrap_or_else(|e| panic!("run failed: {e}"));
    task.abort();
    let seen = h
        .seen
        .lock()
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default();
    (report, redactor, seen, capture)
}

fn secret_list<'a>(
    passwords: &'a [(String, String)],
    seen: &'a [String],
) -> Vec<(String, Option<&'a str>)> {
    let mut secrets: Vec<(String, Option<&str>)> = passwords
        .iter()
        .map(|(u, p)| (p.clone(), Some(u.as_str())))
        .collect();
    secrets.push((CLIENT_SECRET.to_owned(), Some("authprobe-demo")));
    // Cookie values and tokens the layer saw (short and public ones, like `echo` cookies of
    // a password's encoding, are covered by the password itself).
    secrets.extend(
        seen.iter()
            .filter(|s| s.len() >= 12)
            .map(|s| (s.clone(), None)),
    );
    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_echo_server_gets_no_secret_into_any_output() {
    let passwords = vec![
        ("alice".to_owned(), "p@ss wörd&\"/<x>+'é".to_owned()),
        ("bob".to_owned(), "bob's 2nd:pass%41".to_owned()),
    ];
    let only = [
        "cookie.*",
        "session.opaque-id",
        "session.tamper-rejected",
        "session.model",
        "jwt.payload-no-secrets",
        "transport.csp",
        "refresh.reuse-rejected",
    ];
    let (report, redactor, seen, capture) = hostile_run(
        &[Flaw::LogoutKeepsSession, Flaw::CookieSameSiteNone],
        &passwords,
        &only,
    )
    .await;
    assert!(
        report.results.iter().any(|r| r
            .counterexample()
            .is_some_and(|c| c.replay_script.is_some())),
        "a model failure with a replay script is part of the outputs"
    );
    let docs = outputs(&report, &redactor, &capture);
    let secrets = secret_list(&passwords, &seen);
    assert!(secrets.len() > 5, "{} secrets", secrets.len());
    let found = leaks(&docs, &secrets);
    assert!(found.is_empty(), "{} leaks: {found:#?}", found.len());
}

/// A password of `len` characters drawn from printable ASCII and a few non-ASCII letters by a
/// seeded xorshift (deterministic: the same seed, the same passwords).
fn random_password(state: &mut u64, len: usize) -> String {
    const EXTRA: [char; 4] = ['é', 'ö', 'ß', '€'];
    (0..len)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            let n = (*state % 99) as u8;
            if n < 95 {
                char::from(b' ' + n)
            } else {
                EXTRA[usize::from(n - 95)]
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_passwords_echoed_by_a_hostile_server_leave_no_trace() {
    for seed in [7u64, 20261202] {
        let mut state = seed;
        let passwords = vec![
            ("alice".to_owned(), random_password(&mut state, 9)),
            ("bob".to_owned(), random_password(&mut state, 5)),
        ];
        let only = [
            "cookie.http-only",
            "session.opaque-id",
            "session.revoked-on-logout",
        ];
        let (report, redactor, seen, capture) =
            hostile_run(&[Flaw::LogoutKeepsSession], &passwords, &only).await;
        let docs = outputs(&report, &redactor, &capture);
        let found = leaks(&docs, &secret_list(&passwords, &seen));
        assert!(found.is_empty(), "seed {seed}: {passwords:?}: {found:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_findings_against_a_hostile_echo_server_hold_no_secret() {
    let passwords = vec![
        ("alice".to_owned(), "fuzz-s3cret/&wörd".to_owned()),
        ("bob".to_owned(), "bob-pass-x".to_owned()),
    ];
    let h = Arc::new(Hostile {
        passwords: passwords.clone(),
        seen: Mutex::new(BTreeSet::new()),
    });
    let config = TestbedConfig {
        flaws: [Flaw::SessionPrefixMatch, Flaw::JwtMalformed500]
            .into_iter()
            .collect(),
        ..TestbedConfig::default()
    };
    let (url, task) = spawn_hostile(config, h.clone()).await;
    let target = parse_profile(&profile_text(&url, &passwords), Path::new("hostile.yaml"))
        .and_then(|p| p.load_secrets())
        .unwrap_or_else(|d| panic!("{d}"));
    // Bounded by requests, not by time: a loaded machine still sends every case.
    let config = ClientConfig {
        max_requests: 400,
        ..ClientConfig::default()
    };
    let (target, client) = target
        .resolve(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let redactor = client.redactor().clone();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let options = FuzzOptions {
        seed: 5,
        duration: Duration::from_secs(25),
        concurrency: 2,
    };
    let run = fuzzer::fuzz(target, client, &options, rx, &|_| {});
    let r = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the fuzz run ends")
        .unwrap_or_else(|e| panic!("{e}"));
    task.abort();
    assert!(!r.findings.is_empty(), "the flaws give findings");
    let mut docs = Vec::new();
    for (i, f) in r.findings.iter().enumerate() {
        let json = serde_json::to_string_pretty(f).expect("json");
        docs.push((
            format!("finding {i}"),
            report::seal_text(Format::Json, &json, &redactor).0,
        ));
    }
    let summary = serde_json::to_string_pretty(&r).expect("json");
    docs.push((
        "summary".to_owned(),
        report::seal_text(Format::Json, &summary, &redactor).0,
    ));
    let human = report::fuzz_human(&r, None);
    docs.push((
        "human".to_owned(),
        report::seal_text(Format::Human, &human, &redactor).0,
    ));
    // Generated values not derived from a credential are shown on purpose (they replay the
    // finding); every other value the layer saw is a secret.
    let shown: BTreeSet<&str> = r
        .findings
        .iter()
        .filter_map(|f| f.value.as_deref())
        .collect();
    let seen: Vec<String> = h
        .seen
        .lock()
        .map(|s| {
            s.iter()
                .filter(|v| !shown.contains(v.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let found = leaks(&docs, &secret_list(&passwords, &seen));
    assert!(found.is_empty(), "{} leaks: {found:#?}", found.len());
}
