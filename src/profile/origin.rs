//! The target's origin: turning a profile's paths and URLs into URLs on `base_url`'s origin,
//! and telling loopback hosts apart (only they may use `public_demo` secrets). authprobe never
//! sends credentials to another origin; this file is where that is decided for the profile.
//! Pure functions: no I/O.

use url::Url;

/// Why a path or URL of the profile cannot be used on the target's origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// A request path that does not join onto `base_url`.
    #[error("invalid path `{path}`: {reason}")]
    InvalidPath {
        /// The path as written.
        path: String,
        /// Why it does not join.
        reason: url::ParseError,
    },
    /// A request path that resolves to another origin (e.g. `//evil.example.com/x`).
    #[error("path `{0}` leaves the target's origin")]
    PathLeavesOrigin(String),
    /// An endpoint that is neither a path nor a URL.
    #[error("`{value}` is not a path or URL: {reason}")]
    NotPathOrUrl {
        /// The value as written.
        value: String,
        /// Why it does not join.
        reason: url::ParseError,
    },
    /// An endpoint URL with another scheme than http(s).
    #[error("`{0}` is not an http(s) URL")]
    NotHttp(String),
    /// An endpoint on another origin than `base_url`'s.
    #[error(
        "`{value}` is on {origin}, not on base_url's origin {base}; authprobe never sends credentials to another origin"
    )]
    OtherOrigin {
        /// The value as written.
        value: String,
        /// Its origin, serialised.
        origin: String,
        /// `base_url`'s origin, serialised.
        base: String,
    },
}

/// The absolute URL of `path` on `base`; an error when it does not join or leaves `base`'s
/// origin.
pub(super) fn join(base: &Url, path: &str) -> Result<Url, UrlError> {
    let url = base.join(path).map_err(|reason| UrlError::InvalidPath {
        path: path.to_string(),
        reason,
    })?;
    if url.origin() != base.origin() {
        return Err(UrlError::PathLeavesOrigin(path.to_string()));
    }
    Ok(url)
}

/// `value` (a path or an absolute URL) as a path and query on `base`'s origin; an error
/// when it is elsewhere.
pub(super) fn same_origin_path(base: &Url, value: &str) -> Result<String, UrlError> {
    let u = base.join(value).map_err(|reason| UrlError::NotPathOrUrl {
        value: value.to_string(),
        reason,
    })?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(UrlError::NotHttp(value.to_string()));
    }
    if u.origin() != base.origin() {
        return Err(UrlError::OtherOrigin {
            value: value.to_string(),
            origin: u.origin().ascii_serialization(),
            base: base.origin().ascii_serialization(),
        });
    }
    Ok(path_and_query(&u))
}

/// The path of `u` with its query, e.g. `/oauth/token?x=1`.
pub(super) fn path_and_query(u: &Url) -> String {
    let mut path = u.path().to_string();
    if let Some(q) = u.query() {
        path.push('?');
        path.push_str(q);
    }
    path
}

/// True for `localhost`, `*.localhost`, 127.0.0.0/8 and `::1`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        for u in [
            "http://127.0.0.1:1",
            "http://localhost",
            "http://a.localhost",
            "http://[::1]:8",
        ] {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        for u in [
            "http://10.0.0.1",
            "https://example.com",
            "http://localhost.example.com",
        ] {
            assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
    }

    #[test]
    fn same_origin_path_keeps_the_query_and_refuses_other_origins_with_the_input() {
        let base = Url::parse("http://127.0.0.1:8080/app/").unwrap();
        assert_eq!(
            same_origin_path(&base, "http://127.0.0.1:8080/t?x=1"),
            Ok("/t?x=1".to_string())
        );
        assert_eq!(same_origin_path(&base, "/t"), Ok("/t".to_string()));
        let e = same_origin_path(&base, "//evil.example.com/t").unwrap_err();
        assert!(
            matches!(&e, UrlError::OtherOrigin { value, .. } if value == "//evil.example.com/t"),
            "{e:?}"
        );
        assert!(e.to_string().contains("another origin"), "{e}");
        assert_eq!(
            same_origin_path(&base, "ftp://127.0.0.1/t"),
            Err(UrlError::NotHttp("ftp://127.0.0.1/t".into()))
        );
    }

    #[test]
    fn join_refuses_paths_that_leave_the_origin() {
        let base = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            join(&base, "/api/me").unwrap().as_str(),
            "http://127.0.0.1:8080/api/me"
        );
        assert_eq!(
            join(&base, "//evil.example.com/x"),
            Err(UrlError::PathLeavesOrigin("//evil.example.com/x".into()))
        );
    }
}
