//! The probe client (`authprobe::http`) against a tiny axum server on 127.0.0.1:0: what it
//! records, what it refuses to send, and how it reports transport failures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use url::Url;

use authprobe::{Client, ClientConfig, HttpErrorKind, ProbeRequest};

/// Starts the test server; returns its base URL and a counter of requests it received.
async fn server() -> (Url, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/cookies",
            get(|| async {
                let mut h = HeaderMap::new();
                h.append(
                    header::SET_COOKIE,
                    HeaderValue::from_static("a=1; HttpOnly"),
                );
                h.append(header::SET_COOKIE, HeaderValue::from_static("b=2; Secure"));
                h.append(header::SET_COOKIE, HeaderValue::from_static("a=3; Path=/"));
                (h, "cookies")
            }),
        )
        .route(
            "/redirect",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://127.0.0.1:9/elsewhere")],
                    "moved",
                )
            }),
        )
        .route("/big", get(|| async { vec![b'x'; 10_000] }))
        .route("/exact", get(|| async { vec![b'y'; 100] }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route(
            "/binary-header",
            get(|| async {
                let mut h = HeaderMap::new();
                h.insert(
                    "x-odd",
                    HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is a valid value"),
                );
                (h, "odd").into_response()
            }),
        )
        .route(
            "/echo",
            any(|headers: HeaderMap, body: axum::body::Bytes| async move {
                let auth = headers
                    .get(header::AUTHORIZATION)
                    .map(|v| v.to_str().unwrap_or("").to_owned())
                    .unwrap_or_default();
                format!("auth={auth} body={}", String::from_utf8_lossy(&body))
            }),
        )
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    next.run(req).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    (Url::parse(&format!("http://{addr}/")).expect("url"), hits)
}

fn client_for(base: &Url, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut config = ClientConfig {
        allowed_origins: vec![base.origin()],
        ..ClientConfig::default()
    };
    tweak(&mut config);
    Client::new(config).expect("client")
}

fn at(base: &Url, path: &str) -> Url {
    base.join(path).expect("join")
}

#[tokio::test]
async fn every_set_cookie_header_is_kept_separately() {
    let (base, _) = server().await;
    let client = client_for(&base, |_| {});
    let ex = client
        .send(ProbeRequest::get(at(&base, "cookies")))
        .await
        .expect("send");
    let cookies: Vec<&str> = ex.response.set_cookies().collect();
    assert_eq!(cookies, ["a=1; HttpOnly", "b=2; Secure", "a=3; Path=/"]);
    assert_eq!(ex.response.header("SET-COOKIE"), Some("a=1; HttpOnly"));
    assert_eq!(ex.response.status, 200);
    assert_eq!(ex.response.body_text(), "cookies");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (base, hits) = server().await;
    let client = client_for(&base, |_| {});
    let ex = client
        .send(ProbeRequest::get(at(&base, "redirect")))
        .await
        .expect("send");
    assert_eq!(ex.response.status, 302);
    assert_eq!(
        ex.response.header("location"),
        Some("http://127.0.0.1:9/elsewhere")
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(client.requests_sent(), 1);
}

#[tokio::test]
async fn body_over_cap_is_truncated_and_flagged() {
    let (base, _) = server().await;
    let client = client_for(&base, |c| c.max_body_bytes = 100);
    let ex = client
        .send(ProbeRequest::get(at(&base, "big")))
        .await
        .expect("send");
    assert!(ex.response.truncated);
    assert_eq!(ex.response.body, vec![b'x'; 100]);
}

#[tokio::test]
async fn body_exactly_at_cap_is_not_flagged() {
    let (base, _) = server().await;
    let client = client_for(&base, |c| c.max_body_bytes = 100);
    let ex = client
        .send(ProbeRequest::get(at(&base, "exact")))
        .await
        .expect("send");
    assert!(!ex.response.truncated);
    assert_eq!(ex.response.body.len(), 100);
}

#[tokio::test]
async fn budget_exhaustion_gives_budget_exhausted() {
    let (base, hits) = server().await;
    let client = client_for(&base, |c| c.max_requests = 2);
    let clone = client.clone();
    client
        .send(ProbeRequest::get(at(&base, "ok")))
        .await
        .expect("first");
    clone
        .send(ProbeRequest::get(at(&base, "ok")))
        .await
        .expect("second");
    let err = client
        .send(ProbeRequest::get(at(&base, "ok")))
        .await
        .expect_err("third is over budget");
    assert_eq!(err.kind, HttpErrorKind::BudgetExhausted);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(client.requests_sent(), 2);
}

#[tokio::test]
async fn url_on_another_origin_gives_forbidden_origin_without_any_connection() {
    let (allowed, _) = server().await;
    let (other, other_hits) = server().await;
    let client = client_for(&allowed, |_| {});
    for url in [
        at(&other, "ok"),
        Url::parse(&format!("https://{}/ok", other.authority())).expect("url"),
    ] {
        let err = client
            .send(ProbeRequest::get(url))
            .await
            .expect_err("other origin");
        assert_eq!(err.kind, HttpErrorKind::ForbiddenOrigin);
    }
    assert_eq!(other_hits.load(Ordering::SeqCst), 0);
    assert_eq!(client.requests_sent(), 0);
}

#[tokio::test]
async fn empty_allow_list_forbids_everything() {
    let (base, hits) = server().await;
    let client = Client::new(ClientConfig::default()).expect("client");
    let err = client
        .send(ProbeRequest::get(at(&base, "ok")))
        .await
        .expect_err("nothing allowed");
    assert_eq!(err.kind, HttpErrorKind::ForbiddenOrigin);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn closed_port_gives_connect() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let base = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");
    let client = client_for(&base, |_| {});
    let err = client
        .send(ProbeRequest::get(at(&base, "api/me")))
        .await
        .expect_err("closed port");
    assert_eq!(err.kind, HttpErrorKind::Connect);
    assert_eq!(
        err.to_string(),
        format!(
            "cannot connect to http://127.0.0.1:{port}/api/me: connection refused \
             (retried once after 200 ms: connection refused)"
        )
    );
}

#[tokio::test]
async fn timeout_gives_timeout() {
    let (base, _) = server().await;
    let client = client_for(&base, |c| c.timeout = Duration::from_millis(200));
    let err = client
        .send(ProbeRequest::get(at(&base, "slow")))
        .await
        .expect_err("slow");
    assert_eq!(err.kind, HttpErrorKind::Timeout);
}

#[tokio::test]
async fn max_rps_spaces_requests_across_clones() {
    let (base, _) = server().await;
    let client = client_for(&base, |c| c.max_rps = Some(20.0));
    let start = std::time::Instant::now();
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            let url = at(&base, "ok");
            tokio::spawn(async move { client.send(ProbeRequest::get(url)).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("send");
    }
    // Five requests at 20/s: the fifth may not start before 4 × 50 ms.
    assert!(
        start.elapsed() >= Duration::from_millis(195),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn invalid_header_gives_invalid_request_without_spending_budget() {
    let (base, hits) = server().await;
    let client = client_for(&base, |_| {});
    let err = client
        .send(ProbeRequest::get(at(&base, "ok")).header("x-bad", "line\nbreak"))
        .await
        .expect_err("bad header");
    assert_eq!(err.kind, HttpErrorKind::InvalidRequest);
    assert!(!err.to_string().contains("line"), "{err}");
    assert_eq!(client.requests_sent(), 0);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn non_utf8_header_value_is_decoded_lossily() {
    let (base, _) = server().await;
    let client = client_for(&base, |_| {});
    let ex = client
        .send(ProbeRequest::get(at(&base, "binary-header")))
        .await
        .expect("send");
    assert_eq!(ex.response.header("x-odd"), Some("caf\u{FFFD}"));
}

#[tokio::test]
async fn request_headers_and_body_reach_the_server() {
    let (base, _) = server().await;
    let client = client_for(&base, |_| {});
    let req = ProbeRequest::post(at(&base, "echo"))
        .header("Authorization", "Bearer tok")
        .body(b"{\"a\":1}".to_vec(), "application/json");
    let ex = client.send(req).await.expect("send");
    assert_eq!(ex.response.body_text(), "auth=Bearer tok body={\"a\":1}");
    assert_eq!(
        ex.request.headers.last(),
        Some(&("Content-Type".to_owned(), "application/json".to_owned()))
    );
}
