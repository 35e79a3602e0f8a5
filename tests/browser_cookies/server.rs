//! The loopback server Chromium talks to: one plain-HTTP and one HTTPS listener (a
//! self-signed certificate; Chromium runs with `--ignore-certificate-errors`) that serve a
//! table of hops. A request names its hop in the query (`?h=<id>`); the server records the
//! `Cookie` header it carried and answers with the hop's `Set-Cookie` headers, written byte
//! for byte as given, and a `302` to the next hop (or a `200` page at the end of a chain).
//! One request per connection (`Connection: close`), bounded reads, loopback only.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Longest request head read (Chromium's requests here are far smaller).
const MAX_HEAD: usize = 64 * 1024;

/// What the server answers for one hop.
#[derive(Debug, Clone)]
pub struct Served {
    /// `Set-Cookie` header values, sent in this order.
    pub set_cookies: Vec<String>,
    /// The absolute URL of the next hop; `None` ends the chain with a `200`.
    pub next: Option<String>,
}

#[derive(Default)]
struct State {
    hops: Mutex<HashMap<u64, Served>>,
    /// Per hop id, the `Cookie` header of every request for it (`None`: no header).
    seen: Mutex<HashMap<u64, Vec<Option<String>>>>,
}

/// The running server; stops its listeners when dropped.
pub struct Server {
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    /// Port of the plain-HTTP listener.
    pub http_port: u16,
    /// Port of the HTTPS listener.
    pub https_port: u16,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds both listeners on 127.0.0.1 (ephemeral ports) and starts serving.
    pub fn start() -> Server {
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let tls = Arc::new(tls_config());
        let http = TcpListener::bind("127.0.0.1:0").expect("bind http");
        let https = TcpListener::bind("127.0.0.1:0").expect("bind https");
        let http_port = http.local_addr().expect("addr").port();
        let https_port = https.local_addr().expect("addr").port();
        let threads = vec![
            accept_loop(http, None, state.clone(), stop.clone()),
            accept_loop(https, Some(tls), state.clone(), stop.clone()),
        ];
        Server {
            state,
            stop,
            http_port,
            https_port,
            threads,
        }
    }

    /// Registers what hop `id` answers.
    pub fn serve(&self, id: u64, served: Served) {
        self.state
            .hops
            .lock()
            .expect("hops lock")
            .insert(id, served);
    }

    /// The `Cookie` headers recorded for hop `id`, one per request (empty: never requested).
    pub fn seen(&self, id: u64) -> Vec<Option<String>> {
        self.state
            .seen
            .lock()
            .expect("seen lock")
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for port in [self.http_port, self.https_port] {
            // Wakes the accept loop so it sees the flag.
            let _ = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port)));
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn tls_config() -> rustls::ServerConfig {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["example.com".to_owned()]).expect("params");
    let cert = params.self_signed(&key).expect("certificate");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server config")
}

fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(tcp) = conn else { continue };
            let state = state.clone();
            let tls = tls.clone();
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
                match tls {
                    None => handle(tcp, &state),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        handle(rustls::StreamOwned::new(conn, tcp), &state);
                    }
                }
            });
        }
    })
}

/// Reads one request head (bounded), records its `Cookie` header and answers.
fn handle(mut stream: impl Read + Write, state: &State) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
        if head.len() > MAX_HEAD {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.split("\r\n");
    let target = lines.next().and_then(|l| l.split(' ').nth(1)).unwrap_or("");
    let cookies: Vec<&str> = lines
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .map(|(_, v)| v.trim())
        .collect();
    let cookie = (!cookies.is_empty()).then(|| cookies.join("; "));
    let id = target
        .split_once("?h=")
        .and_then(|(_, q)| q.split('&').next())
        .and_then(|h| h.parse::<u64>().ok());
    let served = id.and_then(|id| state.hops.lock().expect("hops lock").get(&id).cloned());
    let (Some(id), Some(served)) = (id, served) else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    state
        .seen
        .lock()
        .expect("seen lock")
        .entry(id)
        .or_default()
        .push(cookie);
    let _ = stream.write_all(&response(&served));
    let _ = stream.flush();
}

fn response(served: &Served) -> Vec<u8> {
    let mut out = Vec::new();
    match &served.next {
        Some(next) => {
            out.extend_from_slice(b"HTTP/1.1 302 Found\r\nLocation: ");
            out.extend_from_slice(next.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"),
    }
    for c in &served.set_cookies {
        out.extend_from_slice(b"Set-Cookie: ");
        out.extend_from_slice(c.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let body: &[u8] = if served.next.is_some() {
        b""
    } else {
        b"<p>done</p>"
    };
    out.extend_from_slice(
        format!(
            "Cache-Control: no-store\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    out
}
