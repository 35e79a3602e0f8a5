//! `set_cookie_differential`: on the Set-Cookie headers both accept, authprobe's RFC 6265bis
//! parser and the `cookie` crate (a lenient server-side parser) agree on name, value,
//! HttpOnly, Secure, SameSite, Path, Domain and Max-Age — or the disagreement belongs to one of
//! the documented divergence classes (fuzz/README.md, "Divergence classes").
#![no_main]

use authprobe::cookie::{
    AnomalyKind, AttributeKind, MAX_ATTRIBUTE_VALUE_LEN, SameSite, SetCookie, parse_set_cookie,
};
use libfuzzer_sys::fuzz_target;

/// D1: the `cookie` crate trims with `str::trim` (Unicode White_Space); RFC 6265bis and we
/// trim only SP and HTAB.
fn unicode_whitespace(header: &str) -> bool {
    header.chars().any(|c| c.is_whitespace() && !c.is_ascii())
}

/// D2: attribute values over 1024 bytes are ignored by user agents (and us), used by `cookie`.
fn too_long(c: &SetCookie, kind: AttributeKind) -> bool {
    c.attributes
        .iter()
        .any(|a| a.kind == kind && a.value.as_deref().unwrap_or("").len() > MAX_ATTRIBUTE_VALUE_LEN)
}

/// Attributes of `kind` whose value makes `check` true (used for the per-field classes).
fn any_attr(c: &SetCookie, kind: AttributeKind, check: impl Fn(Option<&str>) -> bool) -> bool {
    c.attributes
        .iter()
        .any(|a| a.kind == kind && check(a.value.as_deref()))
}

fn same_site(s: Option<cookie::SameSite>) -> SameSite {
    match s {
        Some(cookie::SameSite::Strict) => SameSite::Strict,
        Some(cookie::SameSite::Lax) => SameSite::Lax,
        Some(cookie::SameSite::None) => SameSite::None,
        None => SameSite::Default,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let ours = parse_set_cookie(header);
    // What a user agent ignores outright is not "accepted" by us.
    if ours.has_anomaly(AnomalyKind::ControlCharacter)
        || ours.has_anomaly(AnomalyKind::NameValueTooLong)
        || ours.has_anomaly(AnomalyKind::EmptyNameAndValue)
    {
        return;
    }
    let Ok(theirs) = cookie::Cookie::parse(header) else {
        return;
    };
    if unicode_whitespace(header) {
        return; // D1: every field may differ by the trimmed characters.
    }
    let e = ours.effective();
    let ctx = || format!("header {header:?}\nours {e:?}\ntheirs {theirs:?}");

    assert_eq!(ours.name, theirs.name(), "name differs\n{}", ctx());
    assert_eq!(ours.value, theirs.value(), "value differs\n{}", ctx());

    // HttpOnly, Secure — D2 only: flags are set with or without a value by both.
    let flag = |kind, mine: bool, their: Option<bool>| {
        if mine != their.unwrap_or(false) && !too_long(&ours, kind) {
            panic!("{kind:?} differs\n{}", ctx());
        }
    };
    flag(AttributeKind::HttpOnly, e.http_only, theirs.http_only());
    flag(AttributeKind::Secure, e.secure, theirs.secure());

    // SameSite — D3: an invalid or valueless SameSite resets ours to Default (RFC 6265bis
    // §5.6.7: last one wins), `cookie` ignores it and keeps an earlier valid one.
    if e.same_site != same_site(theirs.same_site())
        && !any_attr(&ours, AttributeKind::SameSite, |v| {
            !matches!(
                v.map(str::to_ascii_lowercase).as_deref(),
                Some("strict" | "lax" | "none")
            )
        })
        && !too_long(&ours, AttributeKind::SameSite)
    {
        panic!("samesite differs\n{}", ctx());
    }

    // Path — D4: a Path that is empty, valueless or not starting with '/' resets ours to the
    // default path (§5.6.4); `cookie` keeps the text (or ignores a valueless one).
    if e.path.as_deref() != theirs.path()
        && !any_attr(&ours, AttributeKind::Path, |v| {
            !v.is_some_and(|p| p.starts_with('/'))
        })
        && !too_long(&ours, AttributeKind::Path)
    {
        panic!("path differs\n{}", ctx());
    }

    // Domain — normalisation, not divergence: both drop one leading dot; user agents compare
    // case-insensitively and we keep it lowercased. D5: an empty or valueless Domain makes ours
    // host-only (§5.6.3, last one wins); `cookie` ignores it and keeps an earlier one.
    let their_domain = theirs.domain().map(str::to_ascii_lowercase);
    if e.domain != their_domain
        && !any_attr(&ours, AttributeKind::Domain, |v| {
            v.is_none_or(|d| d.strip_prefix('.').unwrap_or(d).is_empty())
        })
        && !too_long(&ours, AttributeKind::Domain)
    {
        panic!("domain differs\n{}", ctx());
    }

    // Max-Age — normalisation: `cookie` clamps negative ages to 0; both mean "expire now".
    // D6: `Max-Age=` and `Max-Age=-` are invalid to us (§5.6.2 needs a digit) but `cookie`
    // reads them as i64::MAX and 0 seconds.
    let ours_age = e.max_age.map(|a| a.max(0));
    let their_age = theirs.max_age().map(|d| d.whole_seconds());
    if ours_age != their_age
        && !any_attr(&ours, AttributeKind::MaxAge, |v| {
            matches!(v, Some("" | "-"))
        })
        && !too_long(&ours, AttributeKind::MaxAge)
    {
        panic!("max-age differs\n{}", ctx());
    }
});
