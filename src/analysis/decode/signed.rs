//! Signed-cookie layouts: where the payload sits in a value its framework signed.
//!
//! - itsdangerous (Flask): `payload.timestamp.signature`, base64url parts; a leading `.` means
//!   the payload is zlib-compressed.
//! - Django signing: `payload:timestamp:signature` (or `payload:signature`); a leading `.` on
//!   the payload means compressed, as in itsdangerous.
//! - Rack / Rails cookie store: `data--digest`, base64 data and a hex or base64 digest (three
//!   parts, `data--iv--tag`, are Rails' encrypted cookies: no payload to read).
//! - express `cookie-signature`: `s:value.signature`.
//!
//! A signature proves who wrote a value; it hides nothing. This file only finds the payload;
//! decoding it belongs to the search. Pure and panic-free.

use super::Layer;
use super::text::is_base64url;

/// The payload of a signed value, and whether the layout marks it compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Signed<'a> {
    /// Which layout matched.
    pub(super) layout: Layer,
    /// The payload text (still encoded).
    pub(super) payload: &'a str,
    /// A leading `.` (itsdangerous, Django) marked the payload compressed.
    pub(super) compressed: bool,
}

/// Longest timestamp part of itsdangerous and Django values (base64 or base62 seconds).
const MAX_TIMESTAMP_CHARS: usize = 8;

/// The signed layout `s` is in, if any, with its payload.
pub(super) fn layout(s: &str) -> Option<Signed<'_>> {
    express(s)
        .or_else(|| itsdangerous(s))
        .or_else(|| django(s))
        .or_else(|| rack(s))
}

fn express(s: &str) -> Option<Signed<'_>> {
    let rest = s.strip_prefix("s:")?;
    let (payload, signature) = rest.rsplit_once('.')?;
    let sig_ok = !signature.is_empty()
        && signature
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/-_".contains(&b));
    (sig_ok && !payload.is_empty()).then_some(Signed {
        layout: Layer::ExpressSigned,
        payload,
        compressed: false,
    })
}

fn itsdangerous(s: &str) -> Option<Signed<'_>> {
    let (compressed, body) = match s.strip_prefix('.') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let mut parts = body.split('.');
    let (payload, timestamp, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = parts.next().is_none()
        && [payload, timestamp, signature]
            .iter()
            .all(|p| is_base64url(p))
        && timestamp.len() <= MAX_TIMESTAMP_CHARS;
    ok.then_some(Signed {
        layout: Layer::Itsdangerous,
        payload,
        compressed,
    })
}

fn django(s: &str) -> Option<Signed<'_>> {
    let parts: Vec<&str> = s.splitn(4, ':').collect();
    let (payload, rest) = match parts.as_slice() {
        [payload, timestamp, signature] => {
            let ts_ok = !timestamp.is_empty()
                && timestamp.len() <= MAX_TIMESTAMP_CHARS
                && timestamp.bytes().all(|b| b.is_ascii_alphanumeric());
            (*payload, ts_ok.then_some(*signature)?)
        }
        [payload, signature] => (*payload, *signature),
        _ => return None,
    };
    let (compressed, body) = match payload.strip_prefix('.') {
        Some(body) => (true, body),
        None => (false, payload),
    };
    (is_base64url(body) && is_base64url(rest)).then_some(Signed {
        layout: Layer::DjangoSigning,
        payload: body,
        compressed,
    })
}

fn rack(s: &str) -> Option<Signed<'_>> {
    let (data, digest) = s.split_once("--")?;
    let digest_ok = digest.len() >= 16
        && !digest.contains("--")
        && (digest.bytes().all(|b| b.is_ascii_hexdigit())
            || digest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/-_=".contains(&b)));
    let data_ok = !data.is_empty()
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/-_=\n".contains(&b));
    (digest_ok && data_ok).then_some(Signed {
        layout: Layer::RackSigned,
        payload: data,
        compressed: false,
    })
}

/// The parts of any other signed shape: split at `.`, `:`, `|` and `--`; empty when the value
/// has no separator (the whole value is tried on its own).
pub(super) fn parts(s: &str) -> impl Iterator<Item = &str> {
    let has_separator = s.contains(['.', ':', '|']) || s.contains("--");
    s.split(['.', ':', '|'])
        .flat_map(|part| part.split("--"))
        .filter(move |part| has_separator && !part.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Option<(Layer, &str, bool)> {
        layout(s).map(|x| (x.layout, x.payload, x.compressed))
    }

    #[test]
    fn each_layout_yields_its_payload() {
        assert_eq!(
            found(".eJyrVkrOz0nNTSxKUbKqVsosLs4vSgEAQr0GqA.ZmRvYw.kP3xWq9sYt0bVn2mAbCd"),
            Some((
                Layer::Itsdangerous,
                "eJyrVkrOz0nNTSxKUbKqVsosLs4vSgEAQr0GqA",
                true
            ))
        );
        assert_eq!(
            found("eyJ1IjoxfQ.ZmRvYw.kP3xWq9sYt0bVn2m"),
            Some((Layer::Itsdangerous, "eyJ1IjoxfQ", false))
        );
        assert_eq!(
            found(".eJyrVsrJT0_MU7JSMjQyMDRRqgUAKsoEpw:1uQvJk:Zm9vYmFyYmF6cXV4"),
            Some((
                Layer::DjangoSigning,
                "eJyrVsrJT0_MU7JSMjQyMDRRqgUAKsoEpw",
                true
            ))
        );
        assert_eq!(
            found("eyJ1IjoxfQ:Zm9vYmFyYmF6cXV4"),
            Some((Layer::DjangoSigning, "eyJ1IjoxfQ", false))
        );
        assert_eq!(
            found(
                "BAh7BkkiCXVzZXIGOgZFVEkiCmFsaWNlBjsAVA==--0123456789abcdef0123456789abcdef01234567"
            ),
            Some((
                Layer::RackSigned,
                "BAh7BkkiCXVzZXIGOgZFVEkiCmFsaWNlBjsAVA==",
                false
            ))
        );
        assert_eq!(
            found("s:j:{\"uid\":7}.Zm9vYmFy"),
            Some((Layer::ExpressSigned, "j:{\"uid\":7}", false))
        );
    }

    #[test]
    fn near_misses_are_not_layouts() {
        assert_eq!(found("a.b.c.d"), None);
        assert_eq!(found("abc.this-timestamp-is-long.sig"), None);
        assert_eq!(found("a:b:c:d"), None);
        assert_eq!(
            found("data--iv==--tag=="),
            None,
            "Rails encrypted: three parts"
        );
        assert_eq!(found("plain"), None);
        assert_eq!(parts("abc").count(), 0);
        assert_eq!(
            parts("a.b:c|d--e").collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e"]
        );
    }
}
