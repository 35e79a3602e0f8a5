//! authprobe's parsers against the crates a service would use (group `parsers`):
//!
//! - `set_cookie/authprobe` vs `set_cookie/cookie_crate`: every line of
//!   `benches/data/set-cookie.txt` (real-world-shaped `Set-Cookie` values, some malformed)
//!   parsed once per iteration; ours keeps every attribute and reports anomalies, the `cookie`
//!   crate keeps what a client needs;
//! - `jwt_decode/authprobe` vs `jwt_decode/jsonwebtoken_insecure`: header and payload of a
//!   testbed-shaped ES256 token, without verification (ours also records anomalies;
//!   `jsonwebtoken::dangerous::insecure_decode` deserialises into `serde_json::Value`).
//!
//! - `redaction/seal_json` and `redaction/seal_html`: the final-bytes seal of a typical report
//!   (`benches/data/report.json`: `demo --flaw logout-keeps-session --flaw
//!   session-id-readable --seed 1`, 65 KB; its HTML view is the same text escaped) with the
//!   secrets of a run registered (two passwords and their pairs, the client secret, 3 000
//!   session ids and tokens); `redaction/register_3000` registers those secrets and runs the
//!   first search (which builds the automata).
//!
//! - `opacity/<family>`: what `session.opaque-id` spends judging one session id
//!   (`analysis::session_id::readable_content`: the decoders' bounded search and the judge),
//!   per family: a clean 32-byte base64url id (every decoder tried, nothing found), the
//!   framework samples of `fuzz/corpus/session_decode/` (Flask, Django, Rack, PHP, Java,
//!   MessagePack, CBOR), and a 4 KiB random base64 value (the largest cookie).
//!
//! `AUTHPROBE_BENCH_SMOKE=1` shortens every measurement.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

const CORPUS: &str = include_str!("data/set-cookie.txt");

fn config() -> Criterion {
    let smoke =
        std::env::var_os("AUTHPROBE_BENCH_SMOKE").is_some_and(|v| !v.is_empty() && v != "0");
    let (warm, measure) = if smoke {
        (Duration::from_millis(100), Duration::from_millis(300))
    } else {
        (Duration::from_millis(500), Duration::from_secs(2))
    };
    Criterion::default()
        .warm_up_time(warm)
        .measurement_time(measure)
        .sample_size(if smoke { 10 } else { 30 })
}

fn bench_set_cookie(c: &mut Criterion) {
    let lines: Vec<&str> = CORPUS.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut group = c.benchmark_group("parsers");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function(BenchmarkId::new("set_cookie", "authprobe"), |b| {
        b.iter(|| {
            for line in &lines {
                black_box(authprobe::cookie::parse_set_cookie(black_box(line)));
            }
        })
    });
    group.bench_function(BenchmarkId::new("set_cookie", "authprobe_borrowed"), |b| {
        b.iter(|| {
            for line in &lines {
                black_box(authprobe::cookie::parse_set_cookie_ref(black_box(line)));
            }
        })
    });
    group.bench_function(
        BenchmarkId::new("set_cookie", "authprobe_borrowed_effective"),
        |b| {
            b.iter(|| {
                for line in &lines {
                    let c = authprobe::cookie::parse_set_cookie_ref(black_box(line));
                    black_box(c.effective());
                }
            })
        },
    );
    group.bench_function(BenchmarkId::new("set_cookie", "cookie_crate"), |b| {
        b.iter(|| {
            for line in &lines {
                // Lines the crate refuses count too: a service pays for the attempt.
                black_box(cookie::Cookie::parse(black_box(*line)).is_ok());
            }
        })
    });
    group.finish();
}

fn testbed_shaped_token() -> String {
    let key = EncodingKey::from_ec_pem(authprobe::testbed::DEMO_ES256_PRIVATE_KEY_PEM.as_bytes())
        .expect("demo key parses");
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("testbed-es256-1".into());
    let claims = serde_json::json!({
        "iss": "authprobe-testbed",
        "sub": "alice",
        "aud": "authprobe-testbed-api",
        "exp": 1_900_000_300u64,
        "nbf": 1_900_000_000u64,
        "iat": 1_900_000_000u64,
        "jti": "6f1d0c0e4b9a4f7e8a2b3c4d5e6f7081",
        "scope": "profile:read",
        "sid": "s-7c9e6679",
    });
    jsonwebtoken::encode(&header, &claims, &key).expect("token signs")
}

fn bench_jwt_decode(c: &mut Criterion) {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let token = testbed_shaped_token();
    let mut group = c.benchmark_group("parsers");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("jwt_decode", "authprobe"), |b| {
        b.iter(|| black_box(authprobe::jwt::decode::decode(black_box(&token)).is_ok()))
    });
    group.bench_function(
        BenchmarkId::new("jwt_decode", "jsonwebtoken_insecure"),
        |b| {
            b.iter(|| {
                black_box(
                    jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(black_box(
                        &token,
                    ))
                    .is_ok(),
                )
            })
        },
    );
    group.finish();
}

const REPORT: &str = include_str!("data/report.json");

/// The secrets a typical run registers: passwords, pairs, the client secret, and 3 000 ids.
fn run_secrets() -> Vec<(String, String)> {
    let mut secrets = vec![
        (
            "alice-demo-password".to_owned(),
            "password:alice".to_owned(),
        ),
        ("bob-demo-password".to_owned(), "password:bob".to_owned()),
        (
            "alice:alice-demo-password".to_owned(),
            "password:alice".to_owned(),
        ),
        (
            "bob:bob-demo-password".to_owned(),
            "password:bob".to_owned(),
        ),
        (
            "authprobe-demo-client-secret".to_owned(),
            "client-secret".to_owned(),
        ),
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..3000 {
        let id: String = (0..43)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                alphabet[(x % 64) as usize] as char
            })
            .collect();
        secrets.push((id, format!("cookie:session#{i}")));
    }
    secrets
}

fn bench_redaction(c: &mut Criterion) {
    let secrets = run_secrets();
    let redactor = authprobe::Redactor::default();
    for (s, label) in &secrets {
        redactor.register(s, label);
    }
    let html = authprobe::report::html::escape(REPORT);
    let mut group = c.benchmark_group("redaction");
    group.throughput(Throughput::Bytes(REPORT.len() as u64));
    group.bench_function(BenchmarkId::new("seal", "json"), |b| {
        b.iter(|| {
            black_box(authprobe::report::seal(
                authprobe::report::Format::Json,
                black_box(REPORT.as_bytes()),
                &redactor,
            ))
        })
    });
    group.throughput(Throughput::Bytes(html.len() as u64));
    group.bench_function(BenchmarkId::new("seal", "html"), |b| {
        b.iter(|| {
            black_box(authprobe::report::seal(
                authprobe::report::Format::Html,
                black_box(html.as_bytes()),
                &redactor,
            ))
        })
    });
    group.throughput(Throughput::Elements(secrets.len() as u64));
    group.bench_function(BenchmarkId::new("register", "3000"), |b| {
        b.iter(|| {
            let r = authprobe::Redactor::default();
            for (s, label) in &secrets {
                r.register(s, label);
            }
            black_box(r.redact("warm"))
        })
    });
    group.finish();
}

fn bench_opacity(c: &mut Criterion) {
    let sample = |name: &str| {
        let path = format!(
            "{}/fuzz/corpus/session_decode/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    // Deterministic random bytes (xorshift64): the clean id and the 4 KiB worst case.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[3]
            })
            .collect()
    };
    use base64::Engine as _;
    let b64 = &base64::engine::general_purpose::STANDARD;
    let url = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut ids = vec![("clean_base64url", url.encode(random(32)))];
    for name in ["flask", "django", "rack", "php", "java", "msgpack", "cbor"] {
        ids.push((name, sample(name)));
    }
    ids.push(("random_4k", b64.encode(random(3072))));
    let mut group = c.benchmark_group("opacity");
    group.throughput(Throughput::Elements(1));
    for (name, id) in &ids {
        group.bench_function(BenchmarkId::new("readable_content", name), |b| {
            b.iter(|| {
                black_box(authprobe::analysis::session_id::readable_content(
                    black_box(id),
                    &["alice", "bob"],
                ))
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_set_cookie, bench_jwt_decode, bench_redaction, bench_opacity
}
criterion_main!(benches);
