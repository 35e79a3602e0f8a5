//! What one authenticated request costs the service, per auth design (group `auth_check`):
//!
//! - `jwt_verify/<ALG>`: the full `jsonwebtoken::decode` a service runs per request (base64,
//!   JSON, signature, `exp`/`aud`/`iss`) on a ~300-byte token;
//! - `jwt_verify_denylist/<ALG>`: the same plus a `jti` check against 10 000 revoked ids;
//! - `session_lookup/<STORE>`: opaque 32-byte id → session record in an in-process `HashMap`
//!   (1 000 and 1 000 000 sessions), an `RwLock<HashMap>` while a second thread reads and
//!   writes it, a real Redis over loopback (one GET per lookup, and 16 GETs per pipeline) and
//!   SQLite by primary key (in memory and on disk).
//!
//! Keys are generated with `openssl` into a temporary directory at start. Redis: a private
//! `redis-server` on a free loopback port when it is on PATH, else `REDIS_URL`, else the Redis
//! ids are skipped with one line on stderr. `AUTHPROBE_BENCH_SMOKE=1` shortens every
//! measurement (CI smoke run).

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://api.example.com";
/// Revoked token ids in the deny-list.
const DENYLIST_SIZE: usize = 10_000;
/// Rows in the SQLite session tables.
const SQLITE_ROWS: usize = 100_000;
/// Keys loaded into Redis.
const REDIS_KEYS: usize = 10_000;
/// GETs per Redis pipeline.
const PIPELINE_DEPTH: u64 = 16;

fn smoke() -> bool {
    std::env::var_os("AUTHPROBE_BENCH_SMOKE").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Short runs: every id is measured, a full `--quick` run takes a few minutes on 2 cores.
fn config() -> Criterion {
    let (warm, measure, samples) = if smoke() {
        (Duration::from_millis(100), Duration::from_millis(300), 10)
    } else {
        (Duration::from_millis(500), Duration::from_secs(2), 30)
    };
    Criterion::default()
        .warm_up_time(warm)
        .measurement_time(measure)
        .sample_size(samples)
}

/// The claims of a typical access token: ~320 bytes signed with HS256, ~365 with ES256, ~620
/// with RS256 (the 256-byte signature).
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    jti: String,
}

/// splitmix64: deterministic ids without pulling a RNG API into the bench.
struct Ids(u64);

impl Ids {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn id32(&mut self) -> [u8; 32] {
        let mut id = [0u8; 32];
        for chunk in id.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        id
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A per-process scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> std::io::Result<Self> {
        let dir =
            std::env::temp_dir().join(format!("authprobe-bench-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// JWT

/// One algorithm under test: the id suffix, the algorithm, and its keys.
struct JwtCase {
    name: &'static str,
    alg: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

fn openssl_key(
    dir: &Path,
    file: &str,
    genpkey_args: &[&str],
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let private = dir.join(file);
    let public = dir.join(format!("{file}.pub"));
    let status = Command::new("openssl")
        .arg("genpkey")
        .args(genpkey_args)
        .arg("-out")
        .arg(&private)
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("openssl not runnable: {e}"))?;
    if !status.success() {
        return Err(format!("openssl genpkey {genpkey_args:?} failed"));
    }
    let status = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("openssl not runnable: {e}"))?;
    if !status.success() {
        return Err("openssl pkey -pubout failed".into());
    }
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    Ok((read(&private)?, read(&public)?))
}

fn jwt_cases() -> Vec<JwtCase> {
    let mut cases = vec![
        JwtCase {
            name: "HS256",
            alg: Algorithm::HS256,
            encoding: EncodingKey::from_secret(&[7u8; 32]),
            decoding: DecodingKey::from_secret(&[7u8; 32]),
        },
        JwtCase {
            name: "HS512",
            alg: Algorithm::HS512,
            encoding: EncodingKey::from_secret(&[7u8; 64]),
            decoding: DecodingKey::from_secret(&[7u8; 64]),
        },
    ];
    let dir = match TempDir::new("keys") {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("auth_check: asymmetric jwt_verify ids skipped: no temp dir ({e})");
            return cases;
        }
    };
    type Make = fn(&[u8], &[u8]) -> jsonwebtoken::errors::Result<(EncodingKey, DecodingKey)>;
    let rsa: Make = |p, q| Ok((EncodingKey::from_rsa_pem(p)?, DecodingKey::from_rsa_pem(q)?));
    let ec: Make = |p, q| Ok((EncodingKey::from_ec_pem(p)?, DecodingKey::from_ec_pem(q)?));
    let ed: Make = |p, q| Ok((EncodingKey::from_ed_pem(p)?, DecodingKey::from_ed_pem(q)?));
    let specs: [(&str, Algorithm, &str, &[&str], Make); 6] = [
        (
            "RS256",
            Algorithm::RS256,
            "rsa2048.pem",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            rsa,
        ),
        (
            "RS256_4096",
            Algorithm::RS256,
            "rsa4096.pem",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
            rsa,
        ),
        ("PS256", Algorithm::PS256, "rsa2048.pem", &[], rsa),
        (
            "ES256",
            Algorithm::ES256,
            "p256.pem",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ec,
        ),
        (
            "ES384",
            Algorithm::ES384,
            "p384.pem",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            ec,
        ),
        (
            "EdDSA",
            Algorithm::EdDSA,
            "ed25519.pem",
            &["-algorithm", "ED25519"],
            ed,
        ),
    ];
    let mut pems: HashMap<&str, (Vec<u8>, Vec<u8>)> = HashMap::new();
    for (name, alg, file, args, make) in specs {
        if !pems.contains_key(file) {
            match openssl_key(&dir.0, file, args) {
                Ok(pair) => {
                    pems.insert(file, pair);
                }
                Err(e) => {
                    eprintln!("auth_check: jwt_verify/{name} skipped: {e}");
                    continue;
                }
            }
        }
        let (private, public) = &pems[file];
        match make(private, public) {
            Ok((encoding, decoding)) => cases.push(JwtCase {
                name,
                alg,
                encoding,
                decoding,
            }),
            Err(e) => eprintln!("auth_check: jwt_verify/{name} skipped: bad key ({e})"),
        }
    }
    cases
}

fn token_for(case: &JwtCase, jti: &str) -> String {
    let t = now();
    let claims = Claims {
        iss: ISSUER.into(),
        sub: "user-48213".into(),
        aud: AUDIENCE.into(),
        exp: t + 86_400,
        iat: t - 60,
        jti: jti.into(),
    };
    let mut header = Header::new(case.alg);
    header.kid = Some("key-2026-01".into());
    jsonwebtoken::encode(&header, &claims, &case.encoding).expect("token signs")
}

fn validation(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.set_audience(&[AUDIENCE]);
    v.set_issuer(&[ISSUER]);
    v.set_required_spec_claims(&["exp", "aud", "iss"]);
    v.leeway = 0;
    v
}

fn bench_jwt(c: &mut Criterion) {
    // The one enabled backend (aws-lc-rs), installed explicitly as the binary does.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let mut ids = Ids(1);
    let denylist: HashSet<String> = (0..DENYLIST_SIZE).map(|_| hex(&ids.id32()[..16])).collect();
    let jti = hex(&ids.id32()[..16]);
    let cases = jwt_cases();
    let mut group = c.benchmark_group("auth_check");
    for case in &cases {
        let token = token_for(case, &jti);
        let validation = validation(case.alg);
        // The token must verify, or we would be timing a rejection path.
        jsonwebtoken::decode::<Claims>(&token, &case.decoding, &validation)
            .unwrap_or_else(|e| panic!("{} token does not verify: {e}", case.name));
        group.bench_with_input(
            BenchmarkId::new("jwt_verify", case.name),
            &token,
            |b, token| {
                b.iter(|| {
                    let data = jsonwebtoken::decode::<Claims>(
                        black_box(token),
                        &case.decoding,
                        &validation,
                    );
                    black_box(data.is_ok())
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("jwt_verify_denylist", case.name),
            &token,
            |b, token| {
                b.iter(|| {
                    let ok = jsonwebtoken::decode::<Claims>(
                        black_box(token),
                        &case.decoding,
                        &validation,
                    )
                    .is_ok_and(|data| !denylist.contains(&data.claims.jti));
                    black_box(ok)
                })
            },
        );
    }
    let lengths: Vec<String> = cases
        .iter()
        .map(|c| format!("{} {}", c.name, token_for(c, &jti).len()))
        .collect();
    eprintln!("auth_check: token bytes: {}", lengths.join(", "));
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// Session stores

/// What a session store returns for an id.
#[derive(Debug, Clone)]
#[allow(dead_code)] // read through black_box only
struct Session {
    user_id: u64,
    expires_at: u64,
    csrf: [u8; 16],
}

/// The serialised record stored in Redis and SQLite (~90 bytes).
fn record(i: usize) -> String {
    format!(
        "{{\"user_id\":{i},\"expires_at\":{},\"csrf\":\"{:032x}\"}}",
        now() + 3600,
        i as u128 * 0x9E37_79B9
    )
}

fn session_map(n: usize) -> (HashMap<[u8; 32], Session>, Vec<[u8; 32]>) {
    let mut ids = Ids(n as u64);
    let mut map = HashMap::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let id = ids.id32();
        map.insert(
            id,
            Session {
                user_id: i as u64,
                expires_at: now() + 3600,
                csrf: [i as u8; 16],
            },
        );
        keys.push(id);
    }
    // Probe in a different order than insertion.
    let mut order = Ids(99);
    for i in (1..keys.len()).rev() {
        keys.swap(i, (order.next_u64() % (i as u64 + 1)) as usize);
    }
    (map, keys)
}

fn bench_hashmaps(c: &mut Criterion) {
    let mut group = c.benchmark_group("auth_check");
    for (name, n) in [("hashmap_1k", 1_000usize), ("hashmap_1m", 1_000_000)] {
        let (map, keys) = session_map(n);
        let mut i = 0usize;
        group.bench_function(BenchmarkId::new("session_lookup", name), |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                black_box(map.get(black_box(&keys[i])).map(|s| s.expires_at))
            })
        });
    }

    // An RwLock<HashMap> of 100 000 sessions, with a second thread doing the traffic of another
    // worker: 15 reads to 1 write (login/logout), all the time.
    let (map, keys) = session_map(100_000);
    let map = Arc::new(RwLock::new(map));
    let keys = Arc::new(keys);
    let stop = Arc::new(AtomicBool::new(false));
    let other = {
        let (map, keys, stop) = (map.clone(), keys.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rng = Ids(7);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let k = keys[(rng.next_u64() % keys.len() as u64) as usize];
                if n.is_multiple_of(16) {
                    let mut m = map.write().expect("lock");
                    if let Some(s) = m.get_mut(&k) {
                        s.expires_at += 1;
                    }
                } else {
                    let m = map.read().expect("lock");
                    black_box(m.get(&k).map(|s| s.user_id));
                }
                n += 1;
            }
        })
    };
    let mut i = 0usize;
    group.bench_function(
        BenchmarkId::new("session_lookup", "rwlock_hashmap_2threads"),
        |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                let m = map.read().expect("lock");
                black_box(m.get(black_box(&keys[i])).map(|s| s.expires_at))
            })
        },
    );
    stop.store(true, Ordering::Relaxed);
    let _ = other.join();
    group.finish();
}

fn sqlite_fill(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<[u8; 32]>> {
    conn.execute_batch(
        "CREATE TABLE sessions (id BLOB PRIMARY KEY, user_id INTEGER NOT NULL, \
         expires_at INTEGER NOT NULL, data TEXT NOT NULL) WITHOUT ROWID;",
    )?;
    let mut ids = Ids(3);
    let mut keys = Vec::with_capacity(SQLITE_ROWS);
    conn.execute_batch("BEGIN")?;
    {
        let mut insert = conn.prepare("INSERT INTO sessions VALUES (?1, ?2, ?3, ?4)")?;
        for i in 0..SQLITE_ROWS {
            let id = ids.id32();
            insert.execute(rusqlite::params![
                &id[..],
                i as i64,
                (now() + 3600) as i64,
                record(i)
            ])?;
            keys.push(id);
        }
    }
    conn.execute_batch("COMMIT")?;
    let mut order = Ids(98);
    for i in (1..keys.len()).rev() {
        keys.swap(i, (order.next_u64() % (i as u64 + 1)) as usize);
    }
    Ok(keys)
}

fn bench_sqlite_one(
    c: &mut Criterion,
    name: &str,
    conn: &rusqlite::Connection,
) -> rusqlite::Result<()> {
    let keys = sqlite_fill(conn)?;
    let mut stmt = conn.prepare("SELECT user_id, expires_at, data FROM sessions WHERE id = ?1")?;
    let mut i = 0usize;
    let mut group = c.benchmark_group("auth_check");
    group.bench_function(BenchmarkId::new("session_lookup", name), |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            let row = stmt.query_row([&keys[i][..]], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            });
            black_box(row.is_ok())
        })
    });
    group.finish();
    Ok(())
}

fn bench_sqlite(c: &mut Criterion) {
    match rusqlite::Connection::open_in_memory() {
        Ok(conn) => {
            if let Err(e) = bench_sqlite_one(c, "sqlite_memory", &conn) {
                eprintln!("auth_check: session_lookup/sqlite_memory skipped: {e}");
            }
        }
        Err(e) => eprintln!("auth_check: session_lookup/sqlite_memory skipped: {e}"),
    }
    // On disk: WAL and synchronous=NORMAL, the usual production settings. Reads after the
    // first pass come from SQLite's page cache and the OS page cache, as they would in service.
    let dir = match TempDir::new("sqlite") {
        Ok(d) => d,
        Err(e) => {
            eprintln!("auth_check: session_lookup/sqlite_disk skipped: no temp dir ({e})");
            return;
        }
    };
    let result = rusqlite::Connection::open(dir.0.join("sessions.db")).and_then(|conn| {
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
        bench_sqlite_one(c, "sqlite_disk", &conn)
    });
    if let Err(e) = result {
        eprintln!("auth_check: session_lookup/sqlite_disk skipped: {e}");
    }
}

/// A `redis-server` this bench started; killed on drop.
struct RedisServer {
    child: Child,
    _dir: TempDir,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Starts `redis-server` on a free loopback port, without persistence.
fn start_redis() -> Result<(RedisServer, String), String> {
    let port = free_port().map_err(|e| format!("no free port: {e}"))?;
    let dir = TempDir::new("redis").map_err(|e| format!("no temp dir: {e}"))?;
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ])
        .arg("--dir")
        .arg(&dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("redis-server not runnable: {e}"))?;
    let server = RedisServer { child, _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!(
                "redis-server did not listen on 127.0.0.1:{port} within 5 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((server, format!("redis://127.0.0.1:{port}/")))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn bench_redis_with(c: &mut Criterion, url: &str) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut con = client.get_connection()?;
    // Wait until the server answers (it may still be loading).
    let mut pinged = redis::cmd("PING").query::<String>(&mut con);
    for _ in 0..50 {
        if pinged.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        pinged = redis::cmd("PING").query::<String>(&mut con);
    }
    pinged?;
    let mut ids = Ids(5);
    let mut keys = Vec::with_capacity(REDIS_KEYS);
    for chunk in 0..REDIS_KEYS / 1000 {
        let mut pipe = redis::pipe();
        for i in 0..1000 {
            let key = format!("authprobe-bench:session:{}", hex(&ids.id32()));
            pipe.cmd("SET")
                .arg(&key)
                .arg(record(chunk * 1000 + i))
                .arg("EX")
                .arg(3600)
                .ignore();
            keys.push(key);
        }
        pipe.query::<()>(&mut con)?;
    }
    let mut group = c.benchmark_group("auth_check");
    let mut i = 0usize;
    group.bench_function(BenchmarkId::new("session_lookup", "redis_get"), |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            let v = redis::cmd("GET")
                .arg(&keys[i])
                .query::<Option<Vec<u8>>>(&mut con);
            black_box(matches!(v, Ok(Some(_))))
        })
    });
    // One "iteration" is one lookup; lookups travel PIPELINE_DEPTH to a round-trip, so the
    // time per iteration is the amortised cost of a lookup in a pipelined batch.
    group.bench_function(BenchmarkId::new("session_lookup", "redis_pipelined"), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let mut done = 0u64;
            while done < iters {
                let n = PIPELINE_DEPTH.min(iters - done);
                let mut pipe = redis::pipe();
                for _ in 0..n {
                    i = (i + 1) % keys.len();
                    pipe.cmd("GET").arg(&keys[i]);
                }
                let v = pipe.query::<Vec<Option<Vec<u8>>>>(&mut con);
                black_box(v.is_ok());
                done += n;
            }
            start.elapsed()
        })
    });
    group.finish();
    // Leave a shared server (REDIS_URL) as we found it.
    let mut pipe = redis::pipe();
    for key in &keys {
        pipe.cmd("DEL").arg(key).ignore();
    }
    pipe.query::<()>(&mut con)?;
    Ok(())
}

fn bench_redis(c: &mut Criterion) {
    let (server, url) = if on_path("redis-server") {
        match start_redis() {
            Ok((server, url)) => (Some(server), url),
            Err(e) => {
                eprintln!("auth_check: session_lookup/redis_* skipped: {e}");
                return;
            }
        }
    } else if let Ok(url) = std::env::var("REDIS_URL") {
        (None, url)
    } else {
        eprintln!(
            "auth_check: session_lookup/redis_* skipped: redis-server is not on PATH and REDIS_URL is not set \
             (apt-get install redis-server)"
        );
        return;
    };
    if let Err(e) = bench_redis_with(c, &url) {
        eprintln!("auth_check: session_lookup/redis_* skipped: {url}: {e}");
    }
    drop(server);
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_jwt, bench_hashmaps, bench_redis, bench_sqlite
}
criterion_main!(benches);
