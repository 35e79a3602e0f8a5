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

criterion_group! {
    name = benches;
    config = config();
    targets = bench_set_cookie, bench_jwt_decode
}
criterion_main!(benches);
