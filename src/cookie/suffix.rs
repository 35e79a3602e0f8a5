//! Public suffixes (RFC 6265bis §5.7 step 9): a cookie may not be scoped to a domain under
//! which unrelated parties register names (`com`, `co.uk`, `github.io`).
//!
//! This file owns the one question the cookie store asks of the Public Suffix List, answered
//! by the `psl` crate's embedded copy of the list (ICANN and private sections). Only rules the
//! list names count: a name under an unknown top-level domain (`app.internal`, `svc.test`) is
//! not treated as a public suffix, so `Domain=internal` from `app.internal` is stored — the
//! conservative reading for private networks (browsers differ there).

/// The version of the `psl` crate whose embedded list is used (its releases follow the list's
/// updates); `--version` prints it.
pub const PSL_CRATE_VERSION: &str = "2.1.247";

/// True when `domain` (ASCII in any case, no leading or trailing dot) is itself a public suffix
/// named by a rule of the list, e.g. `com`, `co.uk`, `github.io`; false for registrable
/// domains (`example.com`), IP addresses and names under unknown top-level domains.
pub fn is_public_suffix(domain: &str) -> bool {
    if domain.is_empty() || domain.parse::<std::net::IpAddr>().is_ok() {
        return false;
    }
    let domain = domain.to_ascii_lowercase();
    psl::suffix(domain.as_bytes())
        .is_some_and(|s| s.is_known() && s.as_bytes() == domain.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icann_and_private_suffixes_are_public_suffixes() {
        for d in [
            "com",
            "org",
            "co.uk",
            "github.io",
            "s3.amazonaws.com",
            "CO.UK",
        ] {
            assert!(is_public_suffix(d), "{d}");
        }
    }

    #[test]
    fn registrable_domains_ips_and_unknown_tlds_are_not() {
        for d in [
            "example.com",
            "www.example.co.uk",
            "example.github.io",
            "127.0.0.1",
            "::1",
            "localhost",
            "app.internal",
            "internal",
            "",
        ] {
            assert!(!is_public_suffix(d), "{d}");
        }
    }

    #[test]
    fn the_version_shown_is_the_locked_one() {
        let lock = include_str!("../../Cargo.lock");
        let at = lock
            .find("name = \"psl\"\nversion = \"")
            .expect("psl in Cargo.lock");
        let rest = &lock[at + "name = \"psl\"\nversion = \"".len()..];
        let version = &rest[..rest.find('"').expect("closing quote")];
        assert_eq!(version, PSL_CRATE_VERSION);
    }
}
