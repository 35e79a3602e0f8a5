//! The whole shipped catalogue against the in-process clean testbed (group `suite`, id
//! `catalogue/clean_testbed`): wall time per run, and HTTP requests per second as criterion's
//! throughput, so a regression in the engine's concurrency shows up here.
//!
//! The testbed and the engine run on two separate tokio runtimes whose threads are named
//! `testbed` and `engine`, so the CPU each used can be read per thread from
//! `/proc/self/task/*/stat` (Linux). After the measurement one line reports the engine's own
//! CPU time as a fraction of wall time, beside the testbed's and the whole process's.
//!
//! `AUTHPROBE_BENCH_SMOKE=1` shortens the measurement; `AUTHPROBE_BENCH_THREADS=1` also prints
//! the CPU ticks of every thread at the end.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authprobe::ClientConfig;
use authprobe::RunOptions;
use authprobe::profile::{Profile, UnresolvedTarget};
use authprobe::spec::{self, Catalogue};
use authprobe::testbed::{self, TestbedConfig};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn smoke() -> bool {
    std::env::var_os("AUTHPROBE_BENCH_SMOKE").is_some_and(|v| !v.is_empty() && v != "0")
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(if smoke() { 200 } else { 1000 }))
        .measurement_time(Duration::from_secs(if smoke() { 2 } else { 10 }))
        .sample_size(10)
}

/// CPU clock ticks (user + system) of the threads whose name starts with `prefix`, or of the
/// whole process (dead threads included) when `prefix` is `None`. `None` off Linux.
fn cpu_ticks(prefix: Option<&str>) -> Option<u64> {
    fn ticks(stat: &str) -> Option<u64> {
        // Fields after the `(comm)`, which may contain spaces: state is field 3, utime 14, stime 15.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }
    let Some(prefix) = prefix else {
        return ticks(&std::fs::read_to_string("/proc/self/stat").ok()?);
    };
    let mut total = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with(prefix)
            && let Ok(stat) = std::fs::read_to_string(entry.path().join("stat"))
        {
            total += ticks(&stat).unwrap_or(0);
        }
    }
    Some(total)
}

/// Clock ticks per second of `/proc` CPU times (USER_HZ: 100 on every Linux platform Rust
/// targets; there is no sysconf without libc).
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Default)]
struct Totals {
    runs: u64,
    requests: u64,
    wall: Duration,
    engine_ticks: u64,
    testbed_ticks: u64,
    process_ticks: u64,
}

struct Suite {
    engine_rt: tokio::runtime::Runtime,
    catalogue: Arc<Catalogue>,
    /// Resolved in each run (a fresh probe client, the discovery document fetched), as
    /// `authprobe demo` does.
    target: UnresolvedTarget,
}

impl Suite {
    /// One full run; returns (wall time, requests).
    fn run_once(&self) -> (Duration, u64) {
        let catalogue = self.catalogue.clone();
        let target = self.target.clone();
        let start = Instant::now();
        // Spawned so the engine's own future runs on an `engine` worker, not on this thread.
        let report = self
            .engine_rt
            .block_on(async move {
                tokio::spawn(async move {
                    let options = RunOptions {
                        seed: 1,
                        ..RunOptions::default()
                    };
                    let (target, client) = target
                        .resolve(ClientConfig::default())
                        .await
                        .expect("the testbed target resolves");
                    authprobe::run(&catalogue, target, client, &options, &|_| {}).await
                })
                .await
            })
            .expect("engine task does not panic")
            .expect("the clean testbed can be tested");
        let wall = start.elapsed();
        assert_eq!(
            report.summary.fail, 0,
            "the clean testbed passes every rule"
        );
        (wall, black_box(report.requests))
    }
}

fn bench_suite(c: &mut Criterion) {
    let testbed_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("testbed")
        .enable_all()
        .build()
        .expect("testbed runtime");
    let engine_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("engine")
        .enable_all()
        .build()
        .expect("engine runtime");
    let bed = testbed_rt
        .block_on(testbed::spawn(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            TestbedConfig::default(),
        ))
        .expect("testbed starts");
    let target = Profile::testbed(&bed.base_url())
        .and_then(|p| p.load_secrets())
        .unwrap_or_else(|d| panic!("{d}"));
    let catalogue = Arc::new(spec::builtin_catalogue().unwrap_or_else(|d| panic!("{d}")));
    let suite = Suite {
        engine_rt,
        catalogue,
        target,
    };
    let (_, requests) = suite.run_once();
    let totals = Mutex::new(Totals::default());

    let mut group = c.benchmark_group("suite");
    group.throughput(Throughput::Elements(requests));
    group.bench_function(BenchmarkId::new("catalogue", "clean_testbed"), |b| {
        b.iter_custom(|iters| {
            let mut wall = Duration::ZERO;
            for _ in 0..iters {
                let before = (
                    cpu_ticks(Some("engine")),
                    cpu_ticks(Some("testbed")),
                    cpu_ticks(None),
                );
                let (w, requests) = suite.run_once();
                let after = (
                    cpu_ticks(Some("engine")),
                    cpu_ticks(Some("testbed")),
                    cpu_ticks(None),
                );
                wall += w;
                let mut t = totals.lock().expect("totals");
                t.runs += 1;
                t.requests += requests;
                t.wall += w;
                let delta =
                    |a: Option<u64>, b: Option<u64>| b.unwrap_or(0).saturating_sub(a.unwrap_or(0));
                t.engine_ticks += delta(before.0, after.0);
                t.testbed_ticks += delta(before.1, after.1);
                t.process_ticks += delta(before.2, after.2);
            }
            wall
        })
    });
    group.finish();

    let t = totals.into_inner().expect("totals");
    if t.runs > 0 && cpu_ticks(None).is_some() {
        let wall = t.wall.as_secs_f64();
        let pct = |ticks: u64| 100.0 * ticks as f64 / TICKS_PER_SECOND / wall;
        println!(
            "suite: {} runs, {:.1} ms wall per run, {} requests per run, {:.0} requests/s; \
             CPU as % of wall time: engine {:.1}%, testbed {:.1}%, whole process {:.1}% (2 cores = 200%)",
            t.runs,
            wall * 1000.0 / t.runs as f64,
            t.requests / t.runs,
            t.requests as f64 / wall,
            pct(t.engine_ticks),
            pct(t.testbed_ticks),
            pct(t.process_ticks),
        );
    } else {
        println!("suite: CPU fraction not measured (no /proc/self/stat on this system)");
    }
    if std::env::var_os("AUTHPROBE_BENCH_THREADS").is_some() {
        for entry in std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
        {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            println!(
                "thread {} {}",
                comm.trim_end(),
                stat.rsplit_once(')').map_or("", |s| s.1)
            );
        }
    }
    testbed_rt.block_on(bed.shutdown());
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_suite
}
criterion_main!(benches);
