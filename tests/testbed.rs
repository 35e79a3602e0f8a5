//! Black-box tests of the testbed over real loopback HTTP, with a minimal raw HTTP/1.1 client
//! (no cookie jar: every cookie is sent by hand, exactly like authprobe's probe client): the
//! cookie-session routes (`session`), the bearer-token routes (`jwt`) and the OAuth 2.0 routes
//! (`oauth`), clean and with each flaw, and each quirk alone and with the flaws it combines
//! with (`quirks`). Only the testbed's public API is used.

use std::net::SocketAddr;
use std::time::Duration;

use cookie::Cookie;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use authprobe::testbed::{Flaw, Quirk, RunningTestbed, TestbedConfig, spawn};

mod jwt;
mod oauth;
mod oidc;
mod quirks;
mod session;

const SESSION: &str = "__Host-session";

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 client

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn set_cookies(&self) -> Vec<Cookie<'static>> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| Cookie::parse(v.clone()).expect("server sent a parsable Set-Cookie"))
            .collect()
    }

    /// The one session Set-Cookie of this response, if any.
    fn session_cookie(&self) -> Option<Cookie<'static>> {
        let cookies = self.set_cookies();
        assert!(cookies.len() <= 1, "more than one Set-Cookie: {cookies:?}");
        cookies.into_iter().find(|c| c.name() == SESSION)
    }

    fn json(&self) -> Value {
        assert_eq!(self.header("content-type"), Some("application/json"));
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

async fn raw(addr: SocketAddr, request: &[u8]) -> Resp {
    try_raw(addr, request)
        .await
        .expect("an answer before the connection closed")
}

/// `request` sent on a new connection: the answer, or `None` when the server closed the
/// connection without one.
async fn try_raw(addr: SocketAddr, request: &[u8]) -> Option<Resp> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request).await.expect("write");
        let mut bytes = Vec::new();
        // A reset after a partial answer would lose bytes; an answer is never partial here.
        match stream.read_to_end(&mut bytes).await {
            Ok(_) => bytes,
            Err(_) => Vec::new(),
        }
    };
    let bytes = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("response or close within 10 s");
    (!bytes.is_empty()).then(|| parse_response(&bytes))
}

fn parse_response(bytes: &[u8]) -> Resp {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head");
    let head = std::str::from_utf8(&bytes[..split]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_str = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size_str.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// A request to the testbed: `headers` may override `Host`.
async fn send(
    tb: &RunningTestbed,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    raw(tb.addr(), &request_bytes(tb, method, target, headers, body)).await
}

/// The bytes of a `Connection: close` HTTP/1.1 request; `headers` may override `Host`.
fn request_bytes(
    tb: &RunningTestbed,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut request = format!("{method} {target} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: {}\r\n", tb.addr()));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn cookie_header(id: &str) -> String {
    format!("{SESSION}={id}")
}

// ---------------------------------------------------------------------------------------------
// Starting a testbed

/// A testbed with `flaws` on an ephemeral loopback port.
async fn start(flaws: &[Flaw]) -> RunningTestbed {
    start_with(flaws, &[]).await
}

/// A testbed with `flaws` and `quirks` on an ephemeral loopback port.
async fn start_with(flaws: &[Flaw], quirks: &[Quirk]) -> RunningTestbed {
    let config = TestbedConfig {
        flaws: flaws.iter().copied().collect(),
        quirks: quirks.iter().copied().collect(),
        ..TestbedConfig::default()
    };
    start_config(config).await
}

/// A testbed started with `config` on an ephemeral loopback port.
async fn start_config(config: TestbedConfig) -> RunningTestbed {
    spawn("127.0.0.1:0".parse().unwrap(), config)
        .await
        .expect("testbed starts")
}
