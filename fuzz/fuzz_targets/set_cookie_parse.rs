//! `set_cookie_parse`: the lossless Set-Cookie parser never panics, gives its input back
//! byte for byte, and whatever the RFC 6265bis store accepts obeys the storage invariants
//! (name+value ≤ 4096 bytes, no control characters, `__Secure-`/`__Host-` prefix rules,
//! expiry ≤ now + 400 days, `Secure` only from a secure origin, `Domain` domain-matches).
#![no_main]

use std::sync::LazyLock;

use authprobe::cookie::{
    COOKIE_AGE_LIMIT, CookieStore, MAX_NAME_VALUE_LEN, SameSite, StoreOutcome, domain_match,
    inspect, is_secure_origin, parse_set_cookie, path_match, render_text,
};
use libfuzzer_sys::fuzz_target;
use url::Url;

/// A fixed clock: 2025-06-15T15:06:40Z.
const NOW: i64 = 1_750_000_000;

/// `FUZZ_PARSE_ONLY=1` checks only the parser properties (to measure the parser's own exec/s).
static PARSE_ONLY: LazyLock<bool> = LazyLock::new(|| std::env::var_os("FUZZ_PARSE_ONLY").is_some());

static URLS: LazyLock<Vec<Url>> = LazyLock::new(|| {
    [
        "https://www.example.com/app/login",
        "http://example.com/",
        "http://localhost:8080/api/me",
    ]
    .iter()
    .map(|u| Url::parse(u).expect("fixed url"))
    .collect()
});

fn has_prefix_ci(s: &str, p: &str) -> bool {
    s.as_bytes()
        .get(..p.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(p.as_bytes()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let c = parse_set_cookie(header);
    // Lossless: the parts give back the input exactly.
    assert_eq!(c.to_header_string(), header);
    assert_eq!(c.raw, header);
    let e = c.effective();
    if *PARSE_ONLY {
        return;
    }
    for (i, a) in c.anomalies.iter().enumerate() {
        assert!(!a.message.is_empty(), "anomaly {i} has no message");
        assert!(a.attribute.is_none_or(|at| at < c.attributes.len()));
    }

    for url in URLS.iter() {
        let mut store = CookieStore::new();
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let Ok(stored) = store.set(&c, url, NOW) else {
            continue;
        };
        let s = &stored.cookie;
        assert!(s.name.len() + s.value.len() <= MAX_NAME_VALUE_LEN);
        assert!(!(s.name.is_empty() && s.value.is_empty()));
        assert!(
            !header
                .bytes()
                .any(|b| matches!(b, 0x00..=0x08 | 0x0A..=0x1F | 0x7F)),
            "a header with a control character was stored"
        );
        if let Some(exp) = s.expiry {
            assert!(
                exp <= NOW + COOKIE_AGE_LIMIT,
                "expiry {exp} beyond the 400-day cap"
            );
        }
        assert_eq!(stored.expiry_capped, {
            let requested = match (e.max_age, e.expires) {
                (Some(a), _) if a > 0 => Some(NOW.saturating_add(a)),
                (Some(_), _) => None,
                (None, t) => t,
            };
            requested.is_some_and(|t| t > NOW + COOKIE_AGE_LIMIT)
        });
        if s.secure_only {
            assert!(is_secure_origin(url), "secure cookie from {url}");
        }
        if s.same_site == SameSite::None {
            assert!(s.secure_only, "samesite=none without secure was stored");
        }
        if s.host_only {
            assert_eq!(s.domain, host);
        } else {
            assert!(domain_match(&host, &s.domain), "{host} !~ {}", s.domain);
        }
        assert!(s.path.starts_with('/'), "path {:?}", s.path);
        let prefixed = |p: &str| {
            has_prefix_ci(&s.name, p) || (s.name.is_empty() && has_prefix_ci(&s.value, p))
        };
        if prefixed("__Secure-") {
            assert!(s.secure_only, "__Secure- cookie without secure");
        }
        if prefixed("__Host-") {
            assert!(
                s.secure_only && s.host_only && s.path == "/",
                "__Host- cookie not secure/host-only/path=/: {s:?}"
            );
        }
        // Retrieval: a live cookie whose path matches is sent back to the same URL.
        let header_out = store.cookie_header(url, NOW);
        match stored.outcome {
            StoreOutcome::Created | StoreOutcome::Replaced => {
                assert!(!s.is_expired(NOW));
                if path_match(url.path(), &s.path) {
                    let sent = header_out.expect("stored cookie not sent back");
                    assert!(sent.contains(s.value.as_str()));
                }
            }
            StoreOutcome::Deleted | StoreOutcome::ExpiredNoMatch => {
                assert!(s.is_expired(NOW));
                assert!(store.cookies().is_empty());
            }
        }
    }

    // The `inspect set-cookie` report never panics either.
    let report = inspect(&[header], &URLS[0], &URLS[1..], NOW);
    let _ = render_text(&report);
});
