//! TLS for the probe client: CA certificates trusted besides the system's ([`TrustRoots`]: a
//! PEM bundle from `--ca-file` or the profile's `tls.ca_file`), and certificate failures
//! explained in words ([`explain`]) — an expired certificate with its date, a certificate for
//! another name with the name asked and the names it carries, a CA certificate served as the
//! server's own, a certificate signed by a CA authprobe does not trust, a server that does not
//! speak TLS. Reads no file (the caller passes the PEM text) and sends nothing.

use std::fmt;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, Error as TlsError};

/// CA certificates added to the system's trust roots for every request of a client.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustRoots {
    certs: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for TrustRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustRoots({} certificates)", self.certs.len())
    }
}

/// Why a PEM bundle cannot serve as trust roots.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustRootsError {
    /// The text holds no `BEGIN CERTIFICATE` block.
    #[error("no PEM certificate (-----BEGIN CERTIFICATE-----) in it")]
    NoCertificate,
    /// A PEM block is malformed (bad base64, no end line).
    #[error("a PEM block is malformed: {0}")]
    Pem(String),
    /// A certificate block does not hold a usable X.509 certificate.
    #[error("certificate {index} is not a usable X.509 certificate: {reason}")]
    Invalid {
        /// Its position in the bundle, from 1.
        index: usize,
        /// Why, in words.
        reason: String,
    },
}

impl TrustRoots {
    /// No extra roots: the system's only.
    pub fn none() -> TrustRoots {
        TrustRoots::default()
    }

    /// The certificates of a PEM bundle (other PEM blocks, such as keys, are ignored); each
    /// must be a certificate a trust store accepts.
    pub fn from_pem(pem: &[u8]) -> Result<TrustRoots, TrustRootsError> {
        let mut certs = Vec::new();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| TrustRootsError::Pem(lower(&e.to_string())))?;
            certs.push(cert);
        }
        if certs.is_empty() {
            return Err(TrustRootsError::NoCertificate);
        }
        let mut store = rustls::RootCertStore::empty();
        for (i, cert) in certs.iter().enumerate() {
            store
                .add(cert.clone())
                .map_err(|e| TrustRootsError::Invalid {
                    index: i + 1,
                    reason: describe(&e),
                })?;
        }
        Ok(TrustRoots { certs })
    }

    /// How many certificates.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// True without extra roots.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// Adds the roots to a client under construction (the system's stay trusted).
    pub(super) fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        if self.certs.is_empty() {
            return builder;
        }
        let certs = self
            .certs
            .iter()
            .filter_map(|c| reqwest::Certificate::from_der(c.as_ref()).ok());
        builder.tls_certs_merge(certs)
    }
}

/// A TLS failure in the source chain of `err`, explained in words; `None` when there is none.
pub(super) fn explain(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(tls) = e.downcast_ref::<TlsError>() {
            return Some(describe(tls));
        }
        // An `io::Error` hides the error it wraps from `source()` (it skips to that error's
        // own source): look at the wrapped error itself, which may be another `io::Error`.
        cur = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// Advice for a certificate no trusted CA vouches for.
const PASS_CA: &str =
    "pass its CA certificate (PEM) with --ca-file, or set tls.ca_file in the profile";

/// One TLS error in words.
fn describe(e: &TlsError) -> String {
    match e {
        TlsError::InvalidCertificate(c) => certificate(c),
        TlsError::InvalidMessage(_) => "the server did not answer with TLS (is it plain http? \
             then write the base URL with http://)"
            .to_owned(),
        TlsError::AlertReceived(alert) => format!(
            "the server refused the TLS handshake ({})",
            lower(&format!("{alert:?}"))
        ),
        TlsError::NoCertificatesPresented => "the server presented no certificate".to_owned(),
        other => format!("the TLS handshake failed: {}", lower(&other.to_string())),
    }
}

/// A certificate problem in words.
fn certificate(c: &CertificateError) -> String {
    match c {
        CertificateError::UnknownIssuer => format!(
            "the server's certificate is signed by a CA authprobe does not trust, or is \
             self-signed: {PASS_CA}"
        ),
        CertificateError::ExpiredContext { time, not_after } => format!(
            "the server's certificate expired on {} (it is now {})",
            date(not_after.as_secs()),
            date(time.as_secs())
        ),
        CertificateError::Expired => "the server's certificate has expired".to_owned(),
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "the server's certificate is not valid before {} (it is now {}; is a clock wrong?)",
            date(not_before.as_secs()),
            date(time.as_secs())
        ),
        CertificateError::NotValidYet => "the server's certificate is not valid yet".to_owned(),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => {
            let names: Vec<String> = presented.iter().map(|n| plain_name(n)).collect();
            format!(
                "the server's certificate is not valid for the name authprobe asked for, {}: it \
                 is valid only for {}",
                expected.to_str(),
                if names.is_empty() {
                    "no name (it has no subject alternative names)".to_owned()
                } else {
                    names.join(", ")
                }
            )
        }
        CertificateError::NotValidForName => {
            "the server's certificate is not valid for the name authprobe asked for".to_owned()
        }
        CertificateError::Revoked => "the server's certificate has been revoked".to_owned(),
        CertificateError::BadSignature => {
            "the server's certificate has a bad signature (it was not signed by the CA it names)"
                .to_owned()
        }
        CertificateError::BadEncoding => {
            "the server's certificate is malformed (bad DER encoding)".to_owned()
        }
        CertificateError::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
            format!(
                "the server presents a CA certificate (basic constraints CA:TRUE) as its own \
                 certificate, which TLS clients refuse, even when that CA is trusted — typical of \
                 a self-signed certificate made with `openssl req -x509`: serve a certificate for \
                 the server's name signed by that CA, and {PASS_CA}"
            )
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the server's certificate is not for TLS servers (extended key usage)".to_owned()
        }
        other => format!(
            "the server's certificate is not acceptable: {}",
            lower(&format!("{other}"))
        ),
    }
}

/// `DnsName("a.example")` → `a.example`, `IpAddress(127.0.0.1)` → `127.0.0.1` (the shape
/// webpki reports a certificate's names in); anything else as is.
fn plain_name(n: &str) -> String {
    let inner = n
        .strip_prefix("DnsName(\"")
        .and_then(|s| s.strip_suffix("\")"))
        .or_else(|| {
            n.strip_prefix("IpAddress(")
                .and_then(|s| s.strip_suffix(')'))
        });
    inner.unwrap_or(n).to_owned()
}

/// A Unix time as an HTTP date (`Tue, 01 Apr 2025 00:00:00 GMT`).
fn date(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_secs(secs))
        .unwrap_or(std::time::UNIX_EPOCH);
    httpdate::fmt_http_date(t)
}

/// The first letter lowercased.
fn lower(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::OtherError;
    use rustls::pki_types::{ServerName, UnixTime};

    use super::*;

    #[test]
    fn a_bundle_without_certificates_or_with_garbage_is_refused() {
        assert_eq!(
            TrustRoots::from_pem(b"hello").unwrap_err(),
            TrustRootsError::NoCertificate
        );
        let bad = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let e = TrustRoots::from_pem(bad).unwrap_err();
        assert!(
            matches!(e, TrustRootsError::Invalid { index: 1, .. }),
            "{e}"
        );
    }

    #[test]
    fn certificate_failures_read_as_words() {
        let unknown = TlsError::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(describe(&unknown).contains("signed by a CA authprobe does not trust"));
        assert!(describe(&unknown).contains("--ca-file"));
        let expired = TlsError::InvalidCertificate(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000)),
            not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_700_000_000)),
        });
        assert_eq!(
            describe(&expired),
            "the server's certificate expired on Tue, 14 Nov 2023 22:13:20 GMT (it is now Fri, 15 \
             Jan 2027 08:00:00 GMT)"
        );
        let name = TlsError::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("127.0.0.1").unwrap(),
            presented: vec![
                "DnsName(\"example.test\")".to_owned(),
                "IpAddress(10.0.0.1)".to_owned(),
            ],
        });
        assert_eq!(
            describe(&name),
            "the server's certificate is not valid for the name authprobe asked for, 127.0.0.1: \
             it is valid only for example.test, 10.0.0.1"
        );
        #[derive(Debug)]
        struct CaUsedAsEndEntity;
        impl fmt::Display for CaUsedAsEndEntity {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{self:?}")
            }
        }
        impl std::error::Error for CaUsedAsEndEntity {}
        let ca = TlsError::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
            CaUsedAsEndEntity,
        ))));
        assert!(describe(&ca).contains("CA certificate (basic constraints CA:TRUE)"));
        assert!(!describe(&ca).contains("OtherError"));
    }

    #[test]
    fn the_tls_error_is_found_inside_nested_io_errors() {
        let tls = TlsError::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let io = std::io::Error::other(io);
        let found = explain(&io).expect("found");
        assert!(found.contains("does not trust"), "{found}");
        assert_eq!(explain(&std::io::Error::other("plain")), None);
    }
}
