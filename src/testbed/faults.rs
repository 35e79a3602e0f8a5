//! The `transient-faults` quirk: deterministic transient failures, the way an overloaded
//! service or a restarting proxy fails now and then.
//!
//! This file owns when a request is faulted and how: a global counter numbers every request
//! the testbed receives (1, 2, 3, …); request number n is answered 503 `temporarily_unavailable`
//! with `Retry-After: 0` when n is a multiple of [`TRANSIENT_UNAVAILABLE_EVERY`], and has its
//! connection closed without an answer when n is a multiple of [`TRANSIENT_HANGUP_EVERY`] (the
//! hang-up wins when both divide n). A faulted request is not processed at all, and the same
//! request (method, target, headers and body) arriving again is never faulted, so one retry
//! always succeeds. It must not know routes, sessions or tokens, and must not panic on anything
//! a client sends.
//!
//! Closing a connection from inside a request needs the connection: the testbed's own `serve`
//! wraps every accepted connection ([`Listener`]) so that a request can mark it as hung up
//! ([`Hangup`], handed to the request as its connect info); the connection then fails its next
//! write, and the answer is never sent. Served another way, a hang-up degrades to a 503.

use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::http::error;

/// Under `transient-faults`, every request whose number is a multiple of this is answered 503
/// with `Retry-After: 0`.
pub const TRANSIENT_UNAVAILABLE_EVERY: u64 = 17;
/// Under `transient-faults`, every request whose number is a multiple of this has its
/// connection closed without an answer.
pub const TRANSIENT_HANGUP_EVERY: u64 = 29;
/// Largest request body the fault layer reads to recognise a retry; a longer one is refused
/// with 413 (every route's own limit is lower).
const MAX_BUFFERED_BODY: usize = 64 * 1024;
/// Faulted requests remembered (never faulted again); the oldest is forgotten first.
const MAX_REMEMBERED: usize = 1024;

/// How a request is faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// 503 with `Retry-After: 0`.
    Unavailable,
    /// The connection is closed without an answer.
    Hangup,
}

/// The fault layer's state: the request counter and the faulted requests (never faulted again).
#[derive(Debug, Default)]
pub(super) struct Faults {
    /// Requests received so far.
    received: AtomicU64,
    /// Fingerprints of faulted requests (bounded, oldest forgotten first).
    faulted: Mutex<Remembered>,
}

/// A bounded set of request fingerprints, oldest first.
#[derive(Debug, Default)]
struct Remembered {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Faults {
    /// The fault for request number `n` with `fingerprint`: none for a request identical to
    /// a faulted one, else the fault of `n`'s position (remembered). The excuse is not used
    /// up: identical requests from other clients (a login's `GET /api/csrf`) may arrive
    /// between a faulted request and its retry, and the retry must still not be faulted.
    fn decide(&self, n: u64, fingerprint: u64) -> Option<Fault> {
        // Every mutation keeps `set` and `order` describing the same fingerprints: a poisoned
        // lock is safe to keep using.
        let mut faulted = self.faulted.lock().unwrap_or_else(PoisonError::into_inner);
        if faulted.set.contains(&fingerprint) {
            return None;
        }
        let fault = fault_at(n)?;
        if faulted.set.len() >= MAX_REMEMBERED
            && let Some(oldest) = faulted.order.pop_front()
        {
            faulted.set.remove(&oldest);
        }
        faulted.set.insert(fingerprint);
        faulted.order.push_back(fingerprint);
        Some(fault)
    }
}

/// The fault of request number `n`, by its position alone.
fn fault_at(n: u64) -> Option<Fault> {
    if n.is_multiple_of(TRANSIENT_HANGUP_EVERY) {
        Some(Fault::Hangup)
    } else if n.is_multiple_of(TRANSIENT_UNAVAILABLE_EVERY) {
        Some(Fault::Unavailable)
    } else {
        None
    }
}

/// What makes two requests the same request: method, target, headers in order, body.
fn fingerprint(parts: &Parts, body: &Bytes) -> u64 {
    let mut hasher = DefaultHasher::new();
    parts.method.as_str().hash(&mut hasher);
    parts.uri.to_string().hash(&mut hasher);
    for (name, value) in &parts.headers {
        name.as_str().hash(&mut hasher);
        value.as_bytes().hash(&mut hasher);
    }
    body.hash(&mut hasher);
    hasher.finish()
}

/// The fault layer (installed only under `transient-faults`, around every route): numbers the
/// request and faults it, or passes it on untouched.
pub(super) async fn inject(
    State(faults): State<Arc<Faults>>,
    request: Request,
    next: Next,
) -> Response {
    let n = faults.received.fetch_add(1, Ordering::SeqCst) + 1;
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BUFFERED_BODY).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    };
    let fault = faults.decide(n, fingerprint(&parts, &body));
    if fault == Some(Fault::Hangup)
        && let Some(ConnectInfo(hangup)) = parts.extensions.get::<ConnectInfo<Hangup>>()
    {
        hangup.0.store(true, Ordering::SeqCst);
    }
    match fault {
        None => next.run(Request::from_parts(parts, Body::from(body))).await,
        // A hang-up's answer is never written, unless the connection cannot be hung up.
        Some(Fault::Unavailable | Fault::Hangup) => unavailable(),
    }
}

/// 503 `temporarily_unavailable` with `Retry-After: 0`.
fn unavailable() -> Response {
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("0"));
    response
}

// ---------------------------------------------------------------------------------------------
// Connections that a request can hang up

/// A connection's hang-up switch, handed to each of its requests as connect info: once set,
/// the connection fails its next write and is closed.
#[derive(Debug, Clone, Default)]
pub(super) struct Hangup(Arc<AtomicBool>);

impl Hangup {
    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, Listener>> for Hangup {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        stream.io().hangup.clone()
    }
}

/// A TCP listener whose connections can be hung up by their requests.
pub(super) struct Listener(pub(super) TcpListener);

impl axum::serve::Listener for Listener {
    type Io = Connection;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.0).await;
        let connection = Connection {
            stream,
            hangup: Hangup::default(),
        };
        (connection, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// An accepted TCP connection with its hang-up switch: once set, reads see the end of the
/// stream and writes fail, so the server drops the connection without answering.
pub(super) struct Connection {
    stream: TcpStream,
    hangup: Hangup,
}

fn hung_up() -> io::Error {
    io::Error::from(io::ErrorKind::ConnectionAborted)
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.hangup.is_set() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.hangup.is_set() {
            return Poll::Ready(Err(hung_up()));
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.hangup.is_set() {
            return Poll::Ready(Err(hung_up()));
        }
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.hangup.is_set() {
            return Poll::Ready(Err(hung_up()));
        }
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_fault_by_their_number_and_hangup_wins() {
        assert_eq!(fault_at(1), None);
        assert_eq!(fault_at(17), Some(Fault::Unavailable));
        assert_eq!(fault_at(29), Some(Fault::Hangup));
        assert_eq!(fault_at(17 * 29), Some(Fault::Hangup));
        assert_eq!(fault_at(34), Some(Fault::Unavailable));
    }

    #[test]
    fn the_retry_of_a_faulted_request_is_never_faulted() {
        let faults = Faults::default();
        assert_eq!(faults.decide(17, 7), Some(Fault::Unavailable));
        // Position 29 would hang up, but this is request 7 again, and so is the next one
        // (another client's identical request may have come in between).
        assert_eq!(faults.decide(29, 7), None);
        assert_eq!(faults.decide(58, 7), None);
        assert_eq!(faults.decide(16, 8), None);
        assert_eq!(faults.decide(34, 8), Some(Fault::Unavailable));
    }

    #[test]
    fn remembered_retries_are_bounded() {
        let faults = Faults::default();
        for fingerprint in 0..(MAX_REMEMBERED as u64 + 5) {
            assert!(faults.decide(17, fingerprint).is_some());
        }
        let faulted = faults.faulted.lock().unwrap();
        assert_eq!(faulted.set.len(), MAX_REMEMBERED);
        assert_eq!(faulted.order.len(), MAX_REMEMBERED);
        assert!(!faulted.set.contains(&0));
    }
}
