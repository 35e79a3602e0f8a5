use super::*;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "authprobe-benchreport-{tag}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn reads_new_estimates_and_ignores_the_base_run() {
    let rows = read_criterion(&fixture("criterion")).expect("fixture reads");
    let ids: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.group.as_str(), r.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("auth_check", "session_lookup/hashmap_1k"),
            ("auth_check", "jwt_verify/HS256"),
            ("auth_check", "session_lookup/redis_get"),
            ("auth_check", "jwt_verify/ES256"),
            ("parsers", "set_cookie/authprobe"),
        ]
    );
    let hs = &rows[1];
    assert!(close(hs.mean_us, 1.5), "ns → µs: {}", hs.mean_us);
    assert!(close(hs.median_us, 1.45));
    assert!(close(hs.ratio_hashmap.unwrap(), 50.0));
    assert!(close(hs.ratio_redis.unwrap(), 1500.0 / 24000.0));
    assert_eq!(rows[4].ratio_hashmap, None, "no ratio outside auth_check");
}

#[test]
fn missing_redis_leaves_the_redis_ratio_empty() {
    let rows = vec![BenchRow {
        group: AUTH_GROUP.into(),
        id: HASHMAP_BASELINE.into(),
        mean_us: 0.03,
        median_us: 0.03,
        ratio_hashmap: Some(1.0),
        ratio_redis: None,
    }];
    let md = render_markdown(&rows, &[], "2026-01-01");
    assert!(
        md.contains("| `session_lookup/hashmap_1k` | 0.0300 | 0.0300 | 1.00× | — |"),
        "{md}"
    );
}

#[test]
fn writes_markdown_and_svg() {
    let out = scratch("write");
    let summary = bench_report(&fixture("criterion"), &out).expect("report");
    let md = std::fs::read_to_string(&summary.markdown).unwrap();
    assert!(md.contains("## auth_check"));
    assert!(md.contains("## parsers"));
    assert!(
        md.contains("| `jwt_verify/ES256` | 48.0 | 47.0 | 1600× | 2.00× |"),
        "{md}"
    );
    assert!(
        summary.floor.is_empty(),
        "no openssl-speed.txt, no floor table"
    );
    let svg = std::fs::read_to_string(&summary.svg).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    // Only the auth_check group is drawn: four bars, decades 0.01 µs … 100 µs.
    assert_eq!(svg.matches("<rect x=").count(), 4);
    assert!(
        svg.contains(">0.01 µs<") && svg.contains(">100 µs<"),
        "{svg}"
    );
    assert!(!svg.contains("href"), "no external resources");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn floor_table_when_openssl_output_is_beside_the_outputs() {
    let out = scratch("floor");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(
        fixture("bench/openssl-speed-sample.txt"),
        out.join(OPENSSL_SPEED_FILE),
    )
    .unwrap();
    let summary = bench_report(&fixture("criterion"), &out).expect("report");
    let algs: Vec<&str> = summary.floor.iter().map(|f| f.alg.as_str()).collect();
    assert_eq!(algs, ["HS256", "ES256"]);
    let md = std::fs::read_to_string(&summary.markdown).unwrap();
    assert!(md.contains("## physical floor"), "{md}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn parses_openssl_speed_sample() {
    let text = std::fs::read_to_string(fixture("bench/openssl-speed-sample.txt")).unwrap();
    let figures = parse_openssl_speed(&text);
    let get = |p: &str| {
        figures
            .iter()
            .find(|f| f.primitive == p)
            .unwrap_or_else(|| panic!("{p} not in {figures:?}"))
            .micros_per_op
    };
    assert!(close(
        get("hmac(sha256) 256 bytes"),
        256.0 / 717_227_890.0 * 1e6
    ));
    assert!(close(get("rsa 2048 bits verify"), 1e6 / 61_195.8));
    assert!(close(get("rsa 4096 bits verify"), 1e6 / 15_600.0));
    assert!(close(
        get("256 bits ecdsa (nistp256) verify"),
        1e6 / 16_058.3
    ));
    assert!(close(
        get("384 bits ecdsa (nistp384) verify"),
        1e6 / 1_513.2
    ));
    assert!(close(get("253 bits EdDSA (Ed25519) verify"), 1e6 / 9_200.0));
    assert_eq!(figures.len(), 6, "{figures:?}");
}

#[test]
fn parses_openssl_32_columns_by_header_name() {
    // OpenSSL 3.2+ adds encapsulation columns; verify/s is found by name, not position.
    let text = "                  sign    verify    encrypt   decrypt   sign/s verify/s  encr./s  decr./s\n\
                rsa  2048 bits 0.000500s 0.000020s 0.000021s 0.000490s   2000.0  50000.0  47000.0   2040.0\n";
    let figures = parse_openssl_speed(text);
    assert_eq!(
        figures,
        [FloorFigure {
            primitive: "rsa 2048 bits verify".into(),
            micros_per_op: 20.0
        }]
    );
}

#[test]
fn empty_directory_is_no_results() {
    let dir = scratch("empty");
    std::fs::create_dir_all(&dir).unwrap();
    let err = bench_report(&dir, &dir.join("out")).unwrap_err();
    assert!(matches!(err.kind, BenchReportErrorKind::NoResults), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_directory_is_io_with_the_path() {
    let dir = scratch("missing");
    let err = bench_report(&dir, &dir).unwrap_err();
    assert!(matches!(err.kind, BenchReportErrorKind::Io(_)), "{err}");
    assert_eq!(err.path, dir);
}

#[test]
fn corrupt_estimates_is_json_error() {
    let dir = scratch("corrupt");
    let new = dir.join("g/f/new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(new.join("estimates.json"), "{\"mean\": 1}").unwrap();
    std::fs::write(new.join("benchmark.json"), "{\"group_id\": \"g\"}").unwrap();
    let err = read_criterion(&dir).unwrap_err();
    assert!(matches!(err.kind, BenchReportErrorKind::Json(_)), "{err}");
    assert_eq!(err.path, new.join("estimates.json"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn civil_dates() {
    assert_eq!(civil_date(0), "1970-01-01");
    assert_eq!(civil_date(20_454), "2026-01-01");
    assert_eq!(civil_date(11_016), "2000-02-29");
}
