//! Text encodings and text formats: percent-encoding, hex, base64 and base64url (the layers a
//! value is unwrapped through), and the readable text formats a session id may be in — JSON,
//! JWT (header and payload), `key=value` fields and readable text itself.
//!
//! Pure and panic-free; every decoder refuses rather than guesses (a base64 decoder does not
//! drop bad characters, a hex decoder wants an even number of digits).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD_INDIFFERENT, URL_SAFE_NO_PAD_INDIFFERENT};

use super::node::Node;

/// Decoded content counts as text when at least this share of its characters is printable.
const PRINTABLE_SHARE: f64 = 0.9;

/// Decoded content shorter than this many characters does not count as text.
pub(super) const MIN_TEXT_CHARS: usize = 6;

/// Base64 content decoding to fewer bytes than this is not looked at.
const MIN_BASE64_BYTES: usize = 8;

/// Hex content shorter than this many digits is not looked at.
const MIN_HEX_DIGITS: usize = 16;

/// Deepest JSON nesting turned into a [`Node`] (deeper containers become empty ones).
const MAX_JSON_DEPTH: usize = 32;

/// Most `key=value` fields read from one text.
const MAX_FIELDS: usize = 64;

/// Decodes every valid `%XX` (and nothing else); `None` when there is none.
pub(super) fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut any = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(&[hi, lo]) = bytes.get(i + 1..i + 3)
            && let (Some(hi), Some(lo)) = (hex_value(hi), hex_value(lo))
        {
            out.push(hi << 4 | lo);
            any = true;
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    any.then_some(out)
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The bytes of hex text (at least 16 digits, an even number, either case).
pub(super) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() < MIN_HEX_DIGITS
        || !s.len().is_multiple_of(2)
        || !s.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    s.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(hex_value(pair[0])? << 4 | hex_value(*pair.get(1)?)?))
        .collect()
}

/// Which base64 alphabet a text decoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Base64Kind {
    /// `+` and `/` (or `=` padding).
    Standard,
    /// `-` and `_`, or letters and digits only without padding.
    Url,
}

/// The bytes of base64 or base64url text (padded or not; at least 8 bytes), with the
/// alphabet: standard first when the text is padded or uses `+`/`/`, URL-safe first otherwise.
pub(super) fn base64_decode(s: &str) -> Option<(Base64Kind, Vec<u8>)> {
    let body = s.trim_end_matches('=');
    if body.is_empty()
        || s.len() - body.len() > 2
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/-_".contains(&b))
    {
        return None;
    }
    let standard_first = body.len() < s.len() || body.contains(['+', '/']);
    let url = (Base64Kind::Url, &URL_SAFE_NO_PAD_INDIFFERENT);
    let standard = (Base64Kind::Standard, &STANDARD_NO_PAD_INDIFFERENT);
    let order = if standard_first {
        [standard, url]
    } else {
        [url, standard]
    };
    order.into_iter().find_map(|(kind, engine)| {
        let bytes = engine.decode(s).ok()?;
        (bytes.len() >= MIN_BASE64_BYTES).then_some((kind, bytes))
    })
}

/// Whether every byte is a base64url character (the shape of JWT and itsdangerous segments).
pub(super) fn is_base64url(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `text` is at least 6 characters long and at least 90 % printable.
pub(super) fn is_readable_text(text: &str) -> bool {
    let total = text.chars().count();
    if total < MIN_TEXT_CHARS {
        return false;
    }
    let printable = text.chars().filter(|&c| is_printable(c)).count();
    // Both counts are far below 2^52, so the conversions are exact.
    printable as f64 >= PRINTABLE_SHARE * total as f64
}

fn is_printable(c: char) -> bool {
    c == ' ' || c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control())
}

/// A non-empty JSON object or array: the whole text, or (express `j:{…}`) the part between
/// the first `{` and the last `}`.
pub(super) fn json(s: &str) -> Option<Node> {
    whole_json(s).or_else(|| {
        let start = s.find('{')?;
        let end = s.rfind('}')?;
        whole_json(s.get(start..=end)?)
    })
}

fn whole_json(s: &str) -> Option<Node> {
    let t = s.trim();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(t).ok()?;
    match &value {
        serde_json::Value::Object(map) if !map.is_empty() => Some(json_node(&value, 0)),
        serde_json::Value::Array(items) if !items.is_empty() => Some(json_node(&value, 0)),
        _ => None,
    }
}

/// A JSON value as a [`Node`].
pub(super) fn json_node(v: &serde_json::Value, depth: usize) -> Node {
    use serde_json::Value;
    let deeper = depth < MAX_JSON_DEPTH;
    match v {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Node::Int(i128::from(i)),
            None => match n.as_u64() {
                Some(u) => Node::Int(i128::from(u)),
                None => Node::Float,
            },
        },
        Value::String(s) => Node::Text(s.clone()),
        Value::Array(items) if deeper => {
            Node::List(items.iter().map(|i| json_node(i, depth + 1)).collect())
        }
        Value::Object(map) if deeper => Node::Map(
            map.iter()
                .map(|(k, v)| (Node::Text(k.clone()), json_node(v, depth + 1)))
                .collect(),
        ),
        Value::Array(_) => Node::List(Vec::new()),
        Value::Object(_) => Node::Map(Vec::new()),
    }
}

/// A JWT: three base64url segments whose first decodes to a JSON object with `alg`; the
/// structure is `{"header": …, "payload": …}` (a payload that is not JSON is its length).
pub(super) fn jwt(s: &str) -> Option<Node> {
    let mut parts = s.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !is_base64url(header)
        || !(payload.is_empty() || is_base64url(payload))
        || !(signature.is_empty() || is_base64url(signature))
    {
        return None;
    }
    let header = URL_SAFE_NO_PAD_INDIFFERENT.decode(header).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    header.as_object()?.get("alg")?;
    let payload = URL_SAFE_NO_PAD_INDIFFERENT
        .decode(payload)
        .unwrap_or_default();
    let payload = match serde_json::from_slice::<serde_json::Value>(&payload) {
        Ok(v) => json_node(&v, 1),
        Err(_) => match String::from_utf8(payload) {
            Ok(text) => Node::Text(text),
            Err(e) => Node::Bytes(e.as_bytes().len()),
        },
    };
    Some(Node::Map(vec![
        (Node::Text("header".into()), json_node(&header, 1)),
        (Node::Text("payload".into()), payload),
    ]))
}

/// `key=value` fields separated by `&` or `;` (a query string, `user=carol;exp=…`): at least
/// two, every key an identifier. Values stay text.
pub(super) fn fields(s: &str) -> Option<Node> {
    let sep = if s.contains('&') { '&' } else { ';' };
    let mut pairs = Vec::new();
    for field in s.split(sep).take(MAX_FIELDS + 1) {
        let (key, value) = field.trim().split_once('=')?;
        if !is_identifier(key) {
            return None;
        }
        pairs.push((Node::Text(key.to_owned()), Node::Text(value.to_owned())));
    }
    (pairs.len() >= 2 && pairs.len() <= MAX_FIELDS).then_some(Node::Map(pairs))
}

/// An identifier-like name: 2 to 64 characters, a letter or `_` first, then letters, digits,
/// `_`, `-`, `.` or `:`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && (2..=64).contains(&s.len())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%2Bb%2fc%zz%4").unwrap(), b"a+b/c%zz%4");
        assert_eq!(percent_decode("plain"), None);
    }

    #[test]
    fn hex_needs_an_even_number_of_digits() {
        assert_eq!(hex_decode("757365723d616c696365").unwrap(), b"user=alice");
        assert_eq!(hex_decode("757365723d616c69636"), None);
        assert_eq!(hex_decode("7573"), None);
    }

    #[test]
    fn base64_alphabet_is_chosen_by_shape() {
        let (kind, bytes) = base64_decode("dXNlcj1jYXJvbDtleHA9MQ==").unwrap();
        assert_eq!(
            (kind, bytes.as_slice()),
            (Base64Kind::Standard, &b"user=carol;exp=1"[..])
        );
        let (kind, _) = base64_decode("dXNlcj1jYXJvbDtleHA9MQ").unwrap();
        assert_eq!(kind, Base64Kind::Url);
        assert_eq!(base64_decode("abc"), None, "fewer than 8 bytes");
        assert_eq!(base64_decode("a%bcdefghijk"), None);
    }

    #[test]
    fn jwt_and_json_and_fields_become_structures() {
        let node = jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2ln").unwrap();
        assert_eq!(
            node.sketch(&|_| None),
            r#"{"header": {"alg": <string, 5 chars>}, "payload": {"sub": <string, 3 chars>}}"#
        );
        assert!(
            jwt("eyJmb28iOjF9.eyJzdWIiOiJib2IifQ.c2ln").is_none(),
            "no alg"
        );
        assert_eq!(
            json(r#"j:{"uid":7}"#).unwrap(),
            Node::Map(vec![(Node::Text("uid".into()), Node::Int(7))])
        );
        assert_eq!(json("{}"), None);
        assert_eq!(
            fields("user=carol;exp=1").unwrap().sketch(&|_| None),
            r#"{"user": <string, 5 chars>, "exp": <string, 1 char>}"#
        );
        assert_eq!(fields("x=1&y=2"), None, "one-letter keys");
        assert_eq!(fields("user=carol"), None, "one field");
    }
}
