//! Runs cases through headless Chromium and through authprobe's `CookieStore`, hop by hop.
//!
//! One headless Chromium (fresh profile) serves the whole run; each case runs in its own tab,
//! opened on the case's first URL through the DevTools HTTP endpoint (`PUT /json/new?url`),
//! and follows the case's redirect chain: the responses that set cookies, then the probes.
//! A fresh `CookieStore` replays the same chain: at each hop it predicts the `Cookie` header,
//! then stores the hop's `Set-Cookie` headers. Cases share the browser's jar but not a host
//! (`c<N>.example.com`), so a fresh jar per case predicts the same thing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use authprobe::cookie::{CookieStore, SiteContext, parse_set_cookie};
use url::Url;

use super::cases::{Case, PROBES, Place};
use super::server::{Served, Server};

/// Cases running at once, one browser tab each.
const TABS: usize = 8;

/// The longest a case may take.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Every hop here is a top-level GET navigation started by the browser itself (no
/// initiator): Chromium treats each as same-site, whatever the redirect chain did before
/// (a chain that switched from https to http still carries `SameSite=Strict` cookies).
const CONTEXT: SiteContext = SiteContext::SameSite;

/// One request of a case, as both sides see it.
#[derive(Debug, Clone)]
pub struct HopResult {
    /// What the request asks ("set", "set 2", or the probe's question).
    pub label: String,
    /// The request URL.
    pub url: String,
    /// The `Cookie` header authprobe predicts (`Some(None)`: no header); `None` when the
    /// browser is expected not to make the request (see [`refuses`]).
    pub predicted: Option<Option<String>>,
    /// What Chromium sent; `None` when Chromium never made the request.
    pub observed: Option<Option<String>>,
}

impl HopResult {
    /// Both sides agree on this request.
    pub fn agrees(&self) -> bool {
        self.observed == self.predicted
    }
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Index of the case in the run's list.
    pub index: usize,
    /// Every request of the case, in order.
    pub hops: Vec<HopResult>,
}

impl CaseResult {
    /// Chromium and authprobe agree on every request of the case.
    pub fn agrees(&self) -> bool {
        self.hops.iter().all(HopResult::agrees)
    }
}

/// A hop about to be served: its label, URL and headers.
struct Hop {
    label: String,
    url: String,
    set_cookies: Vec<String>,
}

/// One headless Chromium (DevTools on a loopback port) and the loopback server; the browser
/// is killed on drop.
pub struct Harness {
    browser: Child,
    devtools: u16,
    server: Server,
    next_id: AtomicU64,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.browser.kill();
        let _ = self.browser.wait();
    }
}

impl Harness {
    /// Starts the server and the browser (its profile in `profile`, which must be fresh).
    pub fn new(browser: &Path, profile: &Path) -> Harness {
        let server = Server::start();
        let (browser, devtools) = start_chromium(browser, profile);
        Harness {
            browser,
            devtools,
            server,
            next_id: AtomicU64::new(1),
        }
    }

    fn url(&self, case: usize, place: Place, id: u64) -> String {
        let (scheme, port) = if place.secure {
            ("https", self.server.https_port)
        } else {
            ("http", self.server.http_port)
        };
        format!(
            "{scheme}://{}c{case}.example.com:{port}{}?h={id}",
            place.host, place.path
        )
    }

    /// The hops of case `index`: its responses, then the probes, each with a fresh id.
    fn hops(&self, index: usize, case: &Case) -> Vec<(u64, Hop)> {
        let site = format!("c{index}.example.com");
        let mut out = Vec::new();
        for (i, (place, headers)) in case.responses.iter().enumerate() {
            let id = self.next_id.fetch_add(1, Ordering::SeqCst);
            let label = if i == 0 {
                "set".to_owned()
            } else {
                format!("set {}", i + 1)
            };
            let set_cookies = headers
                .iter()
                .map(|h| h.replace("example.com", &site))
                .collect();
            let url = self.url(index, *place, id);
            out.push((
                id,
                Hop {
                    label,
                    url,
                    set_cookies,
                },
            ));
        }
        for (place, what) in PROBES {
            let id = self.next_id.fetch_add(1, Ordering::SeqCst);
            let url = self.url(index, place, id);
            out.push((
                id,
                Hop {
                    label: what.to_owned(),
                    url,
                    set_cookies: Vec::new(),
                },
            ));
        }
        out
    }

    /// Runs every case, [`TABS`] browser tabs at a time; results in case order.
    pub fn run(&self, cases: &[Case]) -> Vec<CaseResult> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<CaseResult>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..TABS {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(case) = cases.get(i) else { break };
                        let r = self.case(i, case);
                        results.lock().expect("results").push(r);
                    }
                });
            }
        });
        let mut results = results.into_inner().expect("results");
        results.sort_by_key(|r| r.index);
        results
    }

    /// Runs one case in its own tab: the browser follows the redirect chain from the first
    /// hop; the case ends when the last expected request arrived or after [`CASE_TIMEOUT`].
    fn case(&self, index: usize, case: &Case) -> CaseResult {
        let hops = self.hops(index, case);
        for (k, (id, hop)) in hops.iter().enumerate() {
            let next = hops.get(k + 1).map(|(_, h)| h.url.clone());
            self.server.serve(
                *id,
                Served {
                    set_cookies: hop.set_cookies.clone(),
                    next,
                },
            );
        }
        let predicted = predict(&hops, unix_now());
        // The last request the browser should make: the end of the chain, or the response
        // it refuses (then a short grace shows whether it went on anyway).
        let last = predicted.iter().rposition(Option::is_some).unwrap_or(0);
        let refused = last + 1 < hops.len();
        let first = hops.first().map(|(_, h)| h.url.as_str()).unwrap_or("");
        let tab = devtools(self.devtools, "PUT", &format!("/json/new?{first}"));
        let tab = tab
            .split("\"id\": \"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_owned();
        let deadline = Instant::now() + CASE_TIMEOUT;
        let last_id = hops.get(last).map_or(0, |(id, _)| *id);
        while self.server.seen(last_id).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if refused {
            std::thread::sleep(Duration::from_millis(300));
        }
        if !tab.is_empty() {
            devtools(self.devtools, "GET", &format!("/json/close/{tab}"));
        }
        let hops = hops
            .iter()
            .zip(predicted)
            .map(|((id, hop), predicted)| HopResult {
                label: hop.label.clone(),
                url: hop.url.clone(),
                predicted,
                observed: self.server.seen(*id).into_iter().next(),
            })
            .collect();
        CaseResult { index, hops }
    }
}

/// True when a response carrying these headers never reaches the cookie layer: a NUL in a
/// field value makes the message invalid (RFC 9110 §5.5 lets a recipient reject it, and
/// Chromium does: `net::ERR_INVALID_HTTP_RESPONSE`), so the navigation stops there.
pub fn refuses(set_cookies: &[String]) -> bool {
    set_cookies.iter().any(|h| h.contains('\0'))
}

/// authprobe's answer for every hop of a chain (one jar, the same order as the browser):
/// the predicted `Cookie` header, or `None` when the browser is expected to stop before
/// this hop (an earlier response was refused by the HTTP layer, see [`refuses`]).
fn predict(hops: &[(u64, Hop)], now: i64) -> Vec<Option<Option<String>>> {
    let mut jar = CookieStore::new();
    let mut refused = false;
    let mut out = Vec::new();
    for (_, hop) in hops {
        if refused {
            out.push(None);
            continue;
        }
        let url = Url::parse(&hop.url).expect("hop url");
        out.push(Some(jar.cookie_header_in(&url, now, CONTEXT)));
        refused = refuses(&hop.set_cookies);
        if !refused {
            for h in &hop.set_cookies {
                let _ = jar.set(&parse_set_cookie(h), &url, now);
            }
        }
    }
    out
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Starts headless Chromium with DevTools on an ephemeral loopback port; returns the child
/// and the port (read from the `DevTools listening on` line, within 30 s).
fn start_chromium(browser: &Path, profile: &Path) -> (Child, u16) {
    let mut child = Command::new(browser)
        .args(crate::support::HEADLESS_CHROMIUM)
        .args([
            "--disable-quic",
            "--ignore-certificate-errors",
            "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
            "--host-resolver-rules=MAP *.example.com 127.0.0.1, MAP example.com 127.0.0.1",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stderr = child.stderr.take().expect("chromium stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Reads every line (so the pipe never fills) and reports the DevTools port once.
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent
                && let Some(rest) = line.split("DevTools listening on ws://127.0.0.1:").nth(1)
                && let Some(port) = rest.split('/').next().and_then(|p| p.parse::<u16>().ok())
            {
                let _ = tx.send(port);
                sent = true;
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(port) => (child, port),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not open its DevTools port within 30 s");
        }
    }
}

/// One request to the DevTools HTTP endpoint; returns the response (empty on failure).
fn devtools(port: u16, method: &str, target: &str) -> String {
    let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if tcp.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    // The endpoint keeps the connection open: read the head, then Content-Length bytes.
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < 1 << 20 {
        let Ok(n) = tcp.read(&mut buf) else { break };
        if n == 0 {
            break;
        }
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
        let text = String::from_utf8_lossy(&out);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return body.to_owned();
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
