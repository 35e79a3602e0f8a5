//! The self-describing binary formats: MessagePack (msgpack spec, 2017) and CBOR (RFC 8949),
//! each decoded into a structure of maps, arrays, strings and numbers. The whole input must
//! be one map or array: random bytes almost never are, which keeps random ids opaque.
//!
//! Pure, bounded (nodes and nesting) and panic-free.

use super::node::Node;
use super::reader::{MAX_DEPTH, Reader, plausible_len};

/// The structure of MessagePack `bytes`, when they are exactly one map or array.
pub(super) fn msgpack(bytes: &[u8]) -> Option<Node> {
    let first = *bytes.first()?;
    if !matches!(first, 0x80..=0x9f | 0xdc..=0xdf) {
        return None;
    }
    let mut r = Reader::new(bytes);
    let node = mp_value(&mut r, 0)?;
    r.at_end().then_some(node)
}

fn mp_value(r: &mut Reader<'_>, depth: usize) -> Option<Node> {
    r.node()?;
    if depth > MAX_DEPTH {
        return None;
    }
    let b = r.u8()?;
    Some(match b {
        0x00..=0x7f => Node::Int(i128::from(b)),
        0xe0..=0xff => Node::Int(i128::from(b as i8)),
        0x80..=0x8f => mp_map(r, usize::from(b & 0x0f), depth)?,
        0x90..=0x9f => mp_array(r, usize::from(b & 0x0f), depth)?,
        0xa0..=0xbf => mp_str(r, usize::from(b & 0x1f))?,
        0xc0 => Node::Null,
        0xc2 => Node::Bool(false),
        0xc3 => Node::Bool(true),
        0xc4..=0xc6 => {
            let n = r.be(1 << (b - 0xc4))?;
            let n = usize::try_from(n).ok()?;
            r.take(n)?;
            Node::Bytes(n)
        }
        0xc7..=0xc9 => {
            let n = usize::try_from(r.be(1 << (b - 0xc7))?).ok()?;
            r.u8()?; // extension type
            r.take(n)?;
            Node::Bytes(n)
        }
        0xca => {
            r.take(4)?;
            Node::Float
        }
        0xcb => {
            r.take(8)?;
            Node::Float
        }
        0xcc..=0xcf => Node::Int(i128::from(r.be(1 << (b - 0xcc))?)),
        0xd0..=0xd3 => {
            let width = 1usize << (b - 0xd0);
            let raw = r.be(width)?;
            let shift = 64 - 8 * width as u32;
            // Sign-extend the big-endian two's-complement value.
            Node::Int(i128::from(((raw << shift) as i64) >> shift))
        }
        0xd4..=0xd8 => {
            r.u8()?;
            let n = 1usize << (b - 0xd4);
            r.take(n)?;
            Node::Bytes(n)
        }
        0xd9..=0xdb => {
            let n = usize::try_from(r.be(1 << (b - 0xd9))?).ok()?;
            mp_str(r, n)?
        }
        0xdc | 0xdd => {
            let n = r.be(if b == 0xdc { 2 } else { 4 })?;
            mp_array(r, plausible_len(n, r, 1)?, depth)?
        }
        0xde | 0xdf => {
            let n = r.be(if b == 0xde { 2 } else { 4 })?;
            mp_map(r, plausible_len(n, r, 2)?, depth)?
        }
        0xc1 => return None,
    })
}

fn mp_str(r: &mut Reader<'_>, n: usize) -> Option<Node> {
    let bytes = r.take(n)?;
    Some(Node::Text(std::str::from_utf8(bytes).ok()?.to_owned()))
}

fn mp_array(r: &mut Reader<'_>, n: usize, depth: usize) -> Option<Node> {
    let items = (0..n)
        .map(|_| mp_value(r, depth + 1))
        .collect::<Option<_>>()?;
    Some(Node::List(items))
}

fn mp_map(r: &mut Reader<'_>, n: usize, depth: usize) -> Option<Node> {
    let mut pairs = Vec::with_capacity(n);
    for _ in 0..n {
        pairs.push((mp_value(r, depth + 1)?, mp_value(r, depth + 1)?));
    }
    Some(Node::Map(pairs))
}

/// The structure of CBOR `bytes`, when they are exactly one map or array (a leading
/// self-describe tag 55799 is allowed).
pub(super) fn cbor(bytes: &[u8]) -> Option<Node> {
    let body = bytes.strip_prefix(&[0xd9, 0xd9, 0xf7]).unwrap_or(bytes);
    if !matches!(body.first()? >> 5, 4 | 5) {
        return None;
    }
    let mut r = Reader::new(body);
    let node = cb_value(&mut r, 0)?;
    r.at_end().then_some(node)
}

/// The break stop code of indefinite-length items.
const BREAK: u8 = 0xff;

/// A head's argument: `Some(None)` for an indefinite length.
fn cb_argument(r: &mut Reader<'_>, info: u8) -> Option<Option<u64>> {
    Some(Some(match info {
        0..=23 => u64::from(info),
        24..=27 => r.be(1 << (info - 24))?,
        31 => return Some(None),
        _ => return None,
    }))
}

fn cb_value(r: &mut Reader<'_>, depth: usize) -> Option<Node> {
    r.node()?;
    if depth > MAX_DEPTH {
        return None;
    }
    let head = r.u8()?;
    let (major, info) = (head >> 5, head & 0x1f);
    let arg = cb_argument(r, info)?;
    Some(match (major, arg) {
        (0, Some(n)) => Node::Int(i128::from(n)),
        (1, Some(n)) => Node::Int(-1 - i128::from(n)),
        (2 | 3, Some(n)) => {
            let n = usize::try_from(n).ok()?;
            let bytes = r.take(n)?;
            cb_string(major, bytes, n)?
        }
        (2 | 3, None) => {
            let mut all = Vec::new();
            while r.peek()? != BREAK {
                r.node()?;
                let chunk = r.u8()?;
                let n = usize::try_from(cb_argument(r, chunk & 0x1f)??).ok()?;
                if chunk >> 5 != major {
                    return None;
                }
                all.extend_from_slice(r.take(n)?);
            }
            r.u8()?;
            cb_string(major, &all, all.len())?
        }
        (4, n) => {
            let mut items = Vec::new();
            let count = match n {
                Some(n) => Some(plausible_len(n, r, 1)?),
                None => None,
            };
            while more(r, count, items.len())? {
                items.push(cb_value(r, depth + 1)?);
            }
            if count.is_none() {
                r.u8()?;
            }
            Node::List(items)
        }
        (5, n) => {
            let mut pairs = Vec::new();
            let count = match n {
                Some(n) => Some(plausible_len(n, r, 2)?),
                None => None,
            };
            while more(r, count, pairs.len())? {
                pairs.push((cb_value(r, depth + 1)?, cb_value(r, depth + 1)?));
            }
            if count.is_none() {
                r.u8()?;
            }
            Node::Map(pairs)
        }
        (6, Some(_)) => cb_value(r, depth + 1)?,
        (7, _) => match info {
            20 => Node::Bool(false),
            21 => Node::Bool(true),
            22 | 23 => Node::Null,
            25..=27 => Node::Float,
            0..=19 | 24 => Node::Int(0),
            _ => return None,
        },
        _ => return None,
    })
}

/// Whether a container has another entry: fewer than `count` read, or (indefinite) no break
/// code next.
fn more(r: &Reader<'_>, count: Option<usize>, read: usize) -> Option<bool> {
    match count {
        Some(c) => Some(read < c),
        None => Some(r.peek()? != BREAK),
    }
}

fn cb_string(major: u8, bytes: &[u8], n: usize) -> Option<Node> {
    if major == 2 {
        return Some(Node::Bytes(n));
    }
    Some(Node::Text(std::str::from_utf8(bytes).ok()?.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_msgpack_map_decodes() {
        // {"uid": 1, "user": "alice", "admin": false, "n": -300, "f": 0.5} per the spec.
        let mut b = vec![0x85, 0xa3];
        b.extend(b"uid\x01\xa4user\xa5alice\xa5admin\xc2\xa1n\xd1\xfe\xd4\xa1f\xcb");
        b.extend(0.5f64.to_be_bytes());
        let node = msgpack(&b).expect("decodes");
        assert_eq!(
            node.sketch(&|_| None),
            r#"{"uid": <int>, "user": <string, 5 chars>, "admin": <bool>, "n": <int>, "f": <float>}"#
        );
        assert!(matches!(&node, Node::Map(p) if p[3].1 == Node::Int(-300)));
        assert_eq!(msgpack(&b[..b.len() - 1]), None, "truncated");
        assert_eq!(msgpack(b"\xa3uid"), None, "not a map or array");
        assert_eq!(msgpack(b"\xdf\xff\xff\xff\xff"), None, "a forged count");
    }

    #[test]
    fn a_cbor_map_decodes_definite_and_indefinite() {
        // RFC 8949 Appendix A: {"a": 1, "b": [2, 3]} and the indefinite
        // {_ "a": 1, "b": [_ 2, 3]}.
        let definite = [0xa2, 0x61, 0x61, 0x01, 0x61, 0x62, 0x82, 0x02, 0x03];
        let indefinite = [
            0xbf, 0x61, 0x61, 0x01, 0x61, 0x62, 0x9f, 0x02, 0x03, 0xff, 0xff,
        ];
        let want = r#"{"a": <int>, "b": [<int>, <int>]}"#;
        assert_eq!(cbor(&definite).unwrap().sketch(&|_| None), want);
        assert_eq!(cbor(&indefinite).unwrap().sketch(&|_| None), want);
        // Self-describe tag, a chunked text string, a negative int, floats, simple values.
        let b = [
            0xd9, 0xd9, 0xf7, 0xa3, 0x7f, 0x62, 0x75, 0x73, 0x61, 0x72, 0xff, 0x38, 0x63, 0x61,
            0x66, 0xf9, 0x3c, 0x00, 0x61, 0x74, 0xf5,
        ];
        let node = cbor(&b).expect("decodes");
        assert_eq!(
            node.sketch(&|_| None),
            r#"{"usr": <int>, "f": <float>, "t": <bool>}"#
        );
        assert!(matches!(&node, Node::Map(p) if p[0].1 == Node::Int(-100)));
        assert_eq!(cbor(&[0xa1, 0x61]), None);
        assert_eq!(cbor(&[0x61, 0x61]), None, "not a map or array");
        assert_eq!(
            cbor(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            None
        );
    }

    #[test]
    fn nesting_is_bounded() {
        assert_eq!(msgpack(&[0x91; 100]), None);
        assert_eq!(cbor(&[0x81; 100]), None);
    }
}
