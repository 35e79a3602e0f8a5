//! Turns criterion's saved results into a summary a person reads instead of raw criterion
//! output: a Markdown table (µs per operation, ratio to the in-process `HashMap` lookup and to a
//! Redis round-trip), a log-scale bar chart as a self-contained SVG, and — when the output of
//! `openssl speed` was captured beside them — the physical floor of each JWT algorithm (the raw
//! primitive on the same machine).
//!
//! This module only reads files criterion and `benches/floor.sh` wrote and writes two files; it
//! runs no benchmark and starts no process.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The id whose cost is the unit of the first ratio column.
pub const HASHMAP_BASELINE: &str = "session_lookup/hashmap_1k";
/// The id whose cost is the unit of the second ratio column (when Redis was benchmarked).
pub const REDIS_BASELINE: &str = "session_lookup/redis_get";
/// Where [`bench_report`] looks for captured `openssl speed` output, inside `out_dir`.
pub const OPENSSL_SPEED_FILE: &str = "openssl-speed.txt";
/// The Markdown summary written by [`bench_report`], inside `out_dir`.
pub const SUMMARY_FILE: &str = "bench-summary.md";
/// The chart written by [`bench_report`], inside `out_dir`.
pub const CHART_FILE: &str = "bench-cost.svg";
/// The criterion group holding the per-request auth checks (`benches/verify_vs_lookup.rs`).
pub const AUTH_GROUP: &str = "auth_check";

/// One benchmark id and its cost.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRow {
    /// Criterion's group (`auth_check`, `parsers`, ...).
    pub group: String,
    /// The id inside the group, e.g. `jwt_verify/ES256`.
    pub id: String,
    /// Mean time per iteration, µs.
    pub mean_us: f64,
    /// Median time per iteration, µs.
    pub median_us: f64,
    /// `mean / mean(session_lookup/hashmap_1k)`, when that id was measured (`auth_check` rows
    /// only).
    pub ratio_hashmap: Option<f64>,
    /// `mean / mean(session_lookup/redis_get)`, when that id was measured (`auth_check` rows
    /// only).
    pub ratio_redis: Option<f64>,
}

/// A raw primitive's cost parsed from `openssl speed` output.
#[derive(Debug, Clone, PartialEq)]
pub struct FloorFigure {
    /// The primitive as openssl names it, e.g. `hmac(sha256) 256 bytes`, `rsa 2048 bits verify`.
    pub primitive: String,
    /// Time per operation, µs.
    pub micros_per_op: f64,
}

/// One JWT algorithm beside its primitive.
#[derive(Debug, Clone, PartialEq)]
pub struct FloorRow {
    /// The JWT algorithm id suffix (`HS256`, `RS256_4096`, ...).
    pub alg: String,
    /// Median of `jwt_verify/<alg>`, µs.
    pub verify_us: f64,
    /// The primitive it rests on.
    pub primitive: String,
    /// The primitive's cost, µs.
    pub primitive_us: f64,
}

/// What [`bench_report`] found and wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchSummary {
    /// Every benchmark found, cheapest first within each group, groups in name order with
    /// `auth_check` first.
    pub rows: Vec<BenchRow>,
    /// JWT algorithms beside their primitives (empty without `openssl-speed.txt`).
    pub floor: Vec<FloorRow>,
    /// The Markdown file written.
    pub markdown: PathBuf,
    /// The SVG file written.
    pub svg: PathBuf,
}

/// Why [`bench_report`] failed, with the file involved.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct BenchReportError {
    /// The file or directory that caused it.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: BenchReportErrorKind,
}

/// The kinds of [`BenchReportError`].
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BenchReportErrorKind {
    /// Reading or writing failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A criterion file is not the JSON criterion writes.
    #[error("not a criterion result: {0}")]
    Json(#[from] serde_json::Error),
    /// The directory holds no `*/new/estimates.json` (run `cargo bench` first).
    #[error("no criterion results found (run `cargo bench` first)")]
    NoResults,
}

impl BenchReportError {
    fn new(path: &Path, kind: impl Into<BenchReportErrorKind>) -> Self {
        BenchReportError {
            path: path.to_path_buf(),
            kind: kind.into(),
        }
    }
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
    median: Estimate,
}

#[derive(Deserialize)]
struct BenchmarkId {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
}

/// Reads criterion's results under `criterion_dir` (usually `target/criterion`), writes
/// `out_dir/bench-summary.md` and `out_dir/bench-cost.svg`, and returns what it found.
/// When `out_dir/openssl-speed.txt` exists (written by `benches/floor.sh`), the summary also
/// puts each `jwt_verify/<ALG>` beside its raw primitive.
///
/// # Errors
/// When a directory or file cannot be read or written, a criterion file is not valid, or no
/// result is found; the error names the path.
pub fn bench_report(
    criterion_dir: &Path,
    out_dir: &Path,
) -> Result<BenchSummary, BenchReportError> {
    let rows = read_criterion(criterion_dir)?;
    let speed_path = out_dir.join(OPENSSL_SPEED_FILE);
    let floor = match std::fs::read_to_string(&speed_path) {
        Ok(text) => floor_rows(&rows, &parse_openssl_speed(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(BenchReportError::new(&speed_path, e)),
    };
    let date = today_utc();
    std::fs::create_dir_all(out_dir).map_err(|e| BenchReportError::new(out_dir, e))?;
    let markdown = out_dir.join(SUMMARY_FILE);
    std::fs::write(&markdown, render_markdown(&rows, &floor, &date))
        .map_err(|e| BenchReportError::new(&markdown, e))?;
    let svg = out_dir.join(CHART_FILE);
    std::fs::write(&svg, render_svg(&rows, &date)).map_err(|e| BenchReportError::new(&svg, e))?;
    Ok(BenchSummary {
        rows,
        floor,
        markdown,
        svg,
    })
}

/// Every `<id>/new/{estimates,benchmark}.json` under `criterion_dir`, with the ratio columns
/// filled in, sorted as in [`BenchSummary::rows`].
///
/// # Errors
/// As [`bench_report`].
pub fn read_criterion(criterion_dir: &Path) -> Result<Vec<BenchRow>, BenchReportError> {
    let mut found = Vec::new();
    collect_new_dirs(criterion_dir, &mut found)?;
    let mut rows = Vec::new();
    for dir in found {
        let estimates_path = dir.join("estimates.json");
        let benchmark_path = dir.join("benchmark.json");
        let estimates: Estimates = read_json(&estimates_path)?;
        let id: BenchmarkId = read_json(&benchmark_path)?;
        let inner = match (id.function_id, id.value_str) {
            (Some(f), Some(v)) => format!("{f}/{v}"),
            (Some(f), None) => f,
            (None, Some(v)) => v,
            (None, None) => String::new(),
        };
        rows.push(BenchRow {
            group: id.group_id,
            id: inner,
            mean_us: estimates.mean.point_estimate / 1000.0,
            median_us: estimates.median.point_estimate / 1000.0,
            ratio_hashmap: None,
            ratio_redis: None,
        });
    }
    if rows.is_empty() {
        return Err(BenchReportError::new(
            criterion_dir,
            BenchReportErrorKind::NoResults,
        ));
    }
    let unit = |id: &str| {
        rows.iter()
            .find(|r| r.group == AUTH_GROUP && r.id == id)
            .map(|r| r.mean_us)
            .filter(|m| *m > 0.0)
    };
    let (hashmap, redis) = (unit(HASHMAP_BASELINE), unit(REDIS_BASELINE));
    // Ratios only where the unit means something: per-request auth checks.
    for row in rows.iter_mut().filter(|r| r.group == AUTH_GROUP) {
        row.ratio_hashmap = hashmap.map(|u| row.mean_us / u);
        row.ratio_redis = redis.map(|u| row.mean_us / u);
    }
    rows.sort_by(|a, b| {
        (a.group != AUTH_GROUP, &a.group)
            .cmp(&(b.group != AUTH_GROUP, &b.group))
            .then(a.mean_us.total_cmp(&b.mean_us))
            .then(a.id.cmp(&b.id))
    });
    Ok(rows)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, BenchReportError> {
    let text = std::fs::read_to_string(path).map_err(|e| BenchReportError::new(path, e))?;
    serde_json::from_str(&text).map_err(|e| BenchReportError::new(path, e))
}

fn collect_new_dirs(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), BenchReportError> {
    let entries = std::fs::read_dir(dir).map_err(|e| BenchReportError::new(dir, e))?;
    let mut subdirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| BenchReportError::new(dir, e))?;
        let path = entry.path();
        if path.is_dir() {
            subdirs.push(path);
        }
    }
    subdirs.sort();
    for path in subdirs {
        if path.file_name().is_some_and(|n| n == "new") {
            if path.join("estimates.json").is_file() && path.join("benchmark.json").is_file() {
                found.push(path);
            }
        } else if !path
            .file_name()
            .is_some_and(|n| n == "base" || n == "change" || n == "report")
        {
            collect_new_dirs(&path, found)?;
        }
    }
    Ok(())
}

/// Parses the human-readable output of `openssl speed` (OpenSSL 3): digest/HMAC lines
/// (`hmac(sha256)   212937.73k`, thousands of bytes per second, under a `type  256 bytes`
/// header) and public-key lines (`rsa 2048 bits 0.000246s 0.000016s 4066.7 61195.8`, under a
/// header naming the columns, of which `verify/s` is used). Lines it does not recognise are
/// ignored, so the whole output of several runs may be concatenated.
pub fn parse_openssl_speed(text: &str) -> Vec<FloorFigure> {
    let mut figures = Vec::new();
    let mut sizes: Vec<u64> = Vec::new();
    let mut pk_columns: Vec<String> = Vec::new();
    for line in text.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.is_empty() {
            continue;
        }
        if tokens[0] == "type" && line.contains("bytes") {
            sizes = tokens
                .windows(2)
                .filter(|w| w[1] == "bytes")
                .filter_map(|w| w[0].parse().ok())
                .collect();
            continue;
        }
        if tokens.contains(&"verify/s") {
            pk_columns = tokens.iter().map(|t| t.to_string()).collect();
            continue;
        }
        // Public key: the trailing tokens are numbers, one per header column.
        let numeric = |t: &str| t.trim_end_matches('s').parse::<f64>().ok();
        if !pk_columns.is_empty() && tokens.len() > pk_columns.len() {
            let split = tokens.len() - pk_columns.len();
            let values: Vec<Option<f64>> = tokens[split..].iter().map(|t| numeric(t)).collect();
            let name = tokens[..split].join(" ");
            if values.iter().all(Option::is_some)
                && !name.starts_with("Doing")
                && let Some(per_s) = pk_columns
                    .iter()
                    .position(|c| c == "verify/s")
                    .and_then(|i| values[i])
                    .filter(|v| *v > 0.0)
            {
                figures.push(FloorFigure {
                    primitive: format!("{name} verify"),
                    micros_per_op: 1e6 / per_s,
                });
                continue;
            }
        }
        // Digest/HMAC: name then one `NNNN.NNk` per size.
        if !sizes.is_empty() && tokens.len() == sizes.len() + 1 {
            let rates: Vec<Option<f64>> = tokens[1..]
                .iter()
                .map(|t| t.strip_suffix('k').and_then(|n| n.parse::<f64>().ok()))
                .collect();
            if rates.iter().all(Option::is_some) {
                for (size, rate) in sizes.iter().zip(rates) {
                    let bytes_per_s = rate.unwrap_or(0.0) * 1000.0;
                    if bytes_per_s > 0.0 {
                        figures.push(FloorFigure {
                            primitive: format!("{} {size} bytes", tokens[0]),
                            micros_per_op: *size as f64 / bytes_per_s * 1e6,
                        });
                    }
                }
            }
        }
    }
    figures
}

/// The primitive under each JWT algorithm of `benches/verify_vs_lookup.rs`, as
/// [`parse_openssl_speed`] names it.
pub const JWT_PRIMITIVES: &[(&str, &str)] = &[
    ("HS256", "hmac(sha256) 256 bytes"),
    ("HS512", "hmac(sha512) 256 bytes"),
    ("RS256", "rsa 2048 bits verify"),
    ("RS256_4096", "rsa 4096 bits verify"),
    ("PS256", "rsa 2048 bits verify"),
    ("ES256", "256 bits ecdsa (nistp256) verify"),
    ("ES384", "384 bits ecdsa (nistp384) verify"),
    ("EdDSA", "253 bits EdDSA (Ed25519) verify"),
];

/// Puts each measured `jwt_verify/<ALG>` beside its primitive in `figures`.
pub fn floor_rows(rows: &[BenchRow], figures: &[FloorFigure]) -> Vec<FloorRow> {
    let mut out = Vec::new();
    for (alg, primitive) in JWT_PRIMITIVES {
        let verify = rows
            .iter()
            .find(|r| r.group == AUTH_GROUP && r.id == format!("jwt_verify/{alg}"));
        let figure = figures.iter().find(|f| f.primitive == *primitive);
        if let (Some(verify), Some(figure)) = (verify, figure) {
            out.push(FloorRow {
                alg: alg.to_string(),
                verify_us: verify.median_us,
                primitive: figure.primitive.clone(),
                primitive_us: figure.micros_per_op,
            });
        }
    }
    out
}

/// A number with three significant digits, without exponent notation.
fn sig3(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let a = v.abs();
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else if a >= 0.1 {
        3
    } else if a >= 0.01 {
        4
    } else {
        5
    };
    format!("{v:.decimals$}")
}

fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |r| format!("{}×", sig3(r)))
}

/// The Markdown summary: one table per criterion group, then the floor table.
pub fn render_markdown(rows: &[BenchRow], floor: &[FloorRow], date: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# authprobe benchmarks ({date})\n");
    let _ = writeln!(
        md,
        "Generated by `bench_report` from criterion's saved results. Times are per iteration \
         (for `{AUTH_GROUP}`: one request's auth check), in µs; the ratios divide the mean by the \
         mean of `{HASHMAP_BASELINE}` and of `{REDIS_BASELINE}` (— when that id was not run).\n"
    );
    let mut groups: BTreeMap<(bool, &str), Vec<&BenchRow>> = BTreeMap::new();
    for row in rows {
        groups
            .entry((row.group != AUTH_GROUP, &row.group))
            .or_default()
            .push(row);
    }
    for ((_, group), rows) in groups {
        let _ = writeln!(md, "## {group}\n");
        let _ = writeln!(
            md,
            "| id | mean µs | median µs | × hashmap_1k | × redis_get |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|");
        for r in rows {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} |",
                r.id,
                sig3(r.mean_us),
                sig3(r.median_us),
                ratio(r.ratio_hashmap),
                ratio(r.ratio_redis)
            );
        }
        md.push('\n');
    }
    if !floor.is_empty() {
        let _ = writeln!(md, "## physical floor (`openssl speed`, same machine)\n");
        let _ = writeln!(
            md,
            "| algorithm | jwt_verify median µs | primitive | primitive µs | verify ÷ primitive |"
        );
        let _ = writeln!(md, "|---|---:|---|---:|---:|");
        for f in floor {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {}× |",
                f.alg,
                sig3(f.verify_us),
                f.primitive,
                sig3(f.primitive_us),
                sig3(f.verify_us / f.primitive_us)
            );
        }
        md.push('\n');
    }
    md
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart of the mean cost per id on a log scale, self-contained SVG (no
/// scripts, fonts or links). Shows the `auth_check` group, or every row when that group is
/// absent.
pub fn render_svg(rows: &[BenchRow], date: &str) -> String {
    let mut shown: Vec<&BenchRow> = rows.iter().filter(|r| r.group == AUTH_GROUP).collect();
    if shown.is_empty() {
        shown = rows.iter().collect();
    }
    shown.retain(|r| r.mean_us > 0.0 && r.mean_us.is_finite());
    let chart = Chart::new(&shown);
    let (width, height) = (chart.width(), chart.height());
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{}" y="22" font-size="15" font-weight="bold" text-anchor="middle">Cost of one auth check per request (µs, log scale)</text>
<text x="{}" y="40" fill="#555555" text-anchor="middle">authprobe benches, {}; mean of criterion samples</text>"##,
        width / 2.0,
        width / 2.0,
        xml_escape(date)
    );
    svg_grid(&mut svg, &chart);
    for (i, r) in shown.iter().enumerate() {
        svg_bar(&mut svg, &chart, i, r);
    }
    let _ = writeln!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" fill="#555555" text-anchor="middle">blue: JWT verify · purple: JWT verify + deny-list · green: session-store lookup</text>"##,
        LABEL_W + CHART_W / 2.0,
        chart.axis_bottom() + 34.0
    );
    svg.push_str("</svg>\n");
    svg
}

/// Width of the label column of the SVG chart.
const LABEL_W: f64 = 300.0;
/// Width of the bars' area.
const CHART_W: f64 = 560.0;
/// Room right of the longest bar for its value.
const RIGHT_PAD: f64 = 70.0;
/// Room above the first bar (title, subtitle).
const TOP: f64 = 58.0;
/// Height of one bar's row.
const ROW_H: f64 = 22.0;
/// Room below the last bar (axis labels, legend).
const BOTTOM: f64 = 44.0;

/// The chart's rows and its log scale, whole decades from 10^`lo` to 10^`hi` µs.
struct Chart {
    rows: usize,
    lo: i32,
    hi: i32,
}

impl Chart {
    fn new(shown: &[&BenchRow]) -> Chart {
        let min = shown
            .iter()
            .map(|r| r.mean_us)
            .fold(f64::INFINITY, f64::min);
        let max = shown.iter().map(|r| r.mean_us).fold(0.0, f64::max);
        let (lo, hi) = if shown.is_empty() {
            (0, 1)
        } else {
            let lo = min.log10().floor() as i32;
            let hi = (max.log10().ceil() as i32).max(lo + 1);
            (lo, hi)
        };
        Chart {
            rows: shown.len(),
            lo,
            hi,
        }
    }

    fn width(&self) -> f64 {
        LABEL_W + CHART_W + RIGHT_PAD
    }

    fn height(&self) -> f64 {
        self.axis_bottom() + BOTTOM
    }

    /// Where the bars end and the axis labels start.
    fn axis_bottom(&self) -> f64 {
        TOP + ROW_H * self.rows.max(1) as f64
    }

    /// The x coordinate of `v` µs.
    fn x(&self, v: f64) -> f64 {
        LABEL_W + (v.log10() - self.lo as f64) / (self.hi - self.lo) as f64 * CHART_W
    }
}

/// One vertical grid line and label per decade.
fn svg_grid(svg: &mut String, chart: &Chart) {
    let axis_bottom = chart.axis_bottom();
    for decade in chart.lo..=chart.hi {
        let gx = chart.x(10f64.powi(decade));
        let label = if decade >= 0 {
            format!("{}", 10u64.pow(decade as u32))
        } else {
            format!("{:.*}", (-decade) as usize, 10f64.powi(decade))
        };
        let _ = writeln!(
            svg,
            r##"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{axis_bottom}" stroke="#dddddd"/>
<text x="{gx:.1}" y="{:.1}" text-anchor="middle" fill="#333333">{label} µs</text>"##,
            axis_bottom + 16.0
        );
    }
}

/// The `i`-th bar: label, bar coloured by what it measures, value.
fn svg_bar(svg: &mut String, chart: &Chart, i: usize, r: &BenchRow) {
    let y = TOP + ROW_H * i as f64;
    let colour = if r.id.starts_with("jwt_verify_denylist/") {
        "#8e6bbf"
    } else if r.id.starts_with("jwt_verify/") {
        "#4c78a8"
    } else if r.id.starts_with("session_lookup/") {
        "#59a14f"
    } else {
        "#9c9c9c"
    };
    let bar_end = chart.x(r.mean_us).max(LABEL_W + 1.0);
    let label = if r.group == AUTH_GROUP {
        r.id.clone()
    } else {
        format!("{}/{}", r.group, r.id)
    };
    let _ = writeln!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>
<rect x="{LABEL_W}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"/>
<text x="{:.1}" y="{:.1}" fill="#222222">{}</text>"##,
        LABEL_W - 8.0,
        y + ROW_H * 0.7,
        xml_escape(&label),
        y + 3.0,
        bar_end - LABEL_W,
        ROW_H - 6.0,
        bar_end + 5.0,
        y + ROW_H * 0.7,
        sig3(r.mean_us)
    );
}

/// Today's date (UTC) as `YYYY-MM-DD`.
fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    crate::units::civil::iso_date((secs / 86_400) as i64)
}

#[cfg(test)]
mod tests {
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
}
