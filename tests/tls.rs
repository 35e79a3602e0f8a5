//! TLS: the testbed served over TLS on loopback with a private CA made here (rcgen), behind
//! a small TLS-terminating proxy. A profile with `tls.ca_file` checks it; without the CA the
//! run is a run error (exit 3, nothing on stdout) saying in words that the issuer is not
//! trusted; `--ca-file` replaces the profile's; a CA certificate served as the server's own,
//! a certificate for another name and an expired one are each explained.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use authprobe::profile::TESTBED_PROFILE;
use authprobe::testbed::{self, RunningTestbed, TestbedConfig};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A private CA: its certificate (PEM) and what signs with it.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A new private CA.
fn new_ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("CA certificate");
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// What the TLS server presents: its certificate chain and key.
struct ServerCert {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// A server certificate for `names`, signed by `ca`, adjusted by `edit`.
fn leaf(ca: &Ca, names: &[&str], edit: impl FnOnce(&mut CertificateParams)) -> ServerCert {
    let key = KeyPair::generate().expect("key");
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "authprobe test server");
    edit(&mut params);
    let cert = params.signed_by(&key, &ca.issuer).expect("leaf");
    ServerCert {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

/// A self-signed CA certificate for 127.0.0.1, served as the server's own (what `openssl
/// req -x509` makes); its PEM for `--ca-file`.
fn ca_as_leaf() -> (ServerCert, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("certificate");
    let pem = cert.pem();
    let served = ServerCert {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    };
    (served, pem)
}

/// The testbed behind a TLS-terminating proxy on loopback: the runtime that serves both, the
/// testbed, and the proxy's `https://` base URL.
struct TlsTestbed {
    rt: tokio::runtime::Runtime,
    bed: Option<RunningTestbed>,
    base_url: String,
}

impl TlsTestbed {
    fn start(cert: ServerCert) -> TlsTestbed {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (bed, base_url) = rt.block_on(async {
            let bed = testbed::spawn(
                SocketAddr::from(([127, 0, 0, 1], 0)),
                TestbedConfig::default(),
            )
            .await
            .expect("testbed starts");
            let proxy = tls_proxy(cert, bed.addr()).await;
            (bed, format!("https://{proxy}"))
        });
        TlsTestbed {
            rt,
            bed: Some(bed),
            base_url,
        }
    }
}

impl Drop for TlsTestbed {
    fn drop(&mut self) {
        if let Some(bed) = self.bed.take() {
            self.rt.block_on(bed.shutdown());
        }
    }
}

/// Accepts TLS on a loopback port and forwards each connection's plaintext to `upstream`.
async fn tls_proxy(cert: ServerCert, upstream: SocketAddr) -> SocketAddr {
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(cert.chain, cert.key)
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A refused handshake (the client does not trust the certificate) ends here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authprobe-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// The testbed profile for `base_url` without its token section (its discovery document
/// names the testbed's own plain-HTTP origin), plus `extra` lines; written into `dir`.
fn profile_in(dir: &Path, base_url: &str, extra: &str) -> PathBuf {
    let text = TESTBED_PROFILE.replace("http://127.0.0.1:8080", base_url);
    let cut = text
        .find("\ntoken:")
        .expect("the testbed profile has a token section");
    let path = dir.join("profile.yaml");
    std::fs::write(&path, format!("{}\n{extra}", &text[..cut])).expect("profile");
    path
}

/// Runs `check` with `args` after `--profile`; (exit code, stdout, stderr).
fn check(profile: &Path, args: &[&str]) -> (i32, String, String) {
    crate::support::outcome(
        Command::new(env!("CARGO_BIN_EXE_authprobe"))
            .args(["check", "--profile", profile.to_str().unwrap()])
            .args(["--only", "cookie.http-only", "--format", "json", "--quiet"])
            .args(args)
            .output()
            .expect("binary runs"),
    )
}

#[test]
fn a_profile_with_tls_ca_file_checks_the_testbed_over_tls() {
    let ca = new_ca("authprobe test CA");
    let bed = TlsTestbed::start(leaf(&ca, &["127.0.0.1", "localhost"], |_| {}));
    let dir = scratch("trusted");
    std::fs::write(dir.join("ca.pem"), &ca.pem).unwrap();
    let profile = profile_in(&dir, &bed.base_url, "tls: {ca_file: ca.pem}\n");
    let (code, out, err) = check(&profile, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(report["results"][0]["status"], "pass", "{out}");
    assert!(
        report["target"]["base_url"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn without_the_ca_the_run_fails_in_words_with_exit_3_and_no_document() {
    let ca = new_ca("authprobe test CA");
    let bed = TlsTestbed::start(leaf(&ca, &["127.0.0.1"], |_| {}));
    let dir = scratch("untrusted");
    let profile = profile_in(&dir, &bed.base_url, "");
    let (code, out, err) = check(&profile, &[]);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(out.is_empty(), "no document on stdout: {out}");
    assert!(
        err.contains("signed by a CA authprobe does not trust") && err.contains("--ca-file"),
        "{err}"
    );
    assert!(!err.contains("UnknownIssuer"), "no internal names: {err}");
    // --ca-file replaces a profile's CA file that names another CA.
    let other = new_ca("another CA");
    std::fs::write(dir.join("other.pem"), &other.pem).unwrap();
    std::fs::write(dir.join("ca.pem"), &ca.pem).unwrap();
    let profile = profile_in(&dir, &bed.base_url, "tls: {ca_file: other.pem}\n");
    let (code, _, err) = check(&profile, &[]);
    assert_eq!(code, 3, "{err}");
    let ca_file = dir.join("ca.pem");
    let (code, out, err) = check(&profile, &["--ca-file", ca_file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_ca_certificate_served_as_the_server_certificate_is_explained() {
    let (served, pem) = ca_as_leaf();
    let bed = TlsTestbed::start(served);
    let dir = scratch("ca-leaf");
    std::fs::write(dir.join("self.pem"), &pem).unwrap();
    let profile = profile_in(&dir, &bed.base_url, "tls: {ca_file: self.pem}\n");
    let (code, out, err) = check(&profile, &[]);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("presents a CA certificate (basic constraints CA:TRUE) as its own"),
        "{err}"
    );
    assert!(!err.contains("CaUsedAsEndEntity"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_certificate_for_another_name_or_expired_is_explained() {
    let ca = new_ca("authprobe test CA");
    let dir = scratch("name-expired");
    std::fs::write(dir.join("ca.pem"), &ca.pem).unwrap();
    let bed = TlsTestbed::start(leaf(&ca, &["example.test"], |_| {}));
    let profile = profile_in(&dir, &bed.base_url, "tls: {ca_file: ca.pem}\n");
    let (code, _, err) = check(&profile, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("not valid for the name authprobe asked for, 127.0.0.1: it is valid only for example.test"),
        "{err}"
    );
    drop(bed);
    let bed = TlsTestbed::start(leaf(&ca, &["127.0.0.1"], |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }));
    let profile = profile_in(&dir, &bed.base_url, "tls: {ca_file: ca.pem}\n");
    let (code, _, err) = check(&profile, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("the server's certificate expired on Fri, 01 Jan 2021"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_ca_file_without_a_certificate_is_bad_input() {
    let dir = scratch("bad-ca");
    std::fs::write(dir.join("ca.pem"), "not a certificate\n").unwrap();
    let profile = profile_in(&dir, "https://127.0.0.1:9", "tls: {ca_file: ca.pem}\n");
    let (code, _, err) = check(&profile, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("tls.ca_file") && err.contains("no PEM certificate"),
        "{err}"
    );
    let plain = profile_in(&dir, "https://127.0.0.1:9", "");
    let (code, _, err) = check(&plain, &["--ca-file", "/surely/not/here.pem"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--ca-file /surely/not/here.pem"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
