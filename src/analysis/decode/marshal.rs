//! Ruby Marshal 4.8 (what Rack's and old Rails' cookie stores base64-encode): `04 08`, then
//! one value — nil/true/false, fixnums, bignums, floats, strings (with their encoding ivars),
//! symbols and symbol links, arrays, hashes, objects, structs and user-defined dumps. Object
//! links are shown as null (the linked value was shown where it first appeared).
//!
//! Pure, bounded (nodes and nesting) and panic-free.

use super::node::Node;
use super::reader::{MAX_DEPTH, MAX_NODES, Reader, plausible_len};

/// Most symbols kept for `;` links (every symbol is a node, so the node budget is the bound).
const MAX_SYMBOLS: usize = MAX_NODES;

/// The structure of Marshal `bytes` (header included), when they are exactly one value.
pub(super) fn decode(bytes: &[u8]) -> Option<Node> {
    let body = bytes.strip_prefix(&[4, 8])?;
    let mut m = Marshal {
        r: Reader::new(body),
        symbols: Vec::new(),
    };
    let node = m.value(0)?;
    m.r.at_end().then_some(node)
}

struct Marshal<'a> {
    r: Reader<'a>,
    /// Symbols in the order they were defined (`;n` links to the n-th).
    symbols: Vec<String>,
}

impl Marshal<'_> {
    fn value(&mut self, depth: usize) -> Option<Node> {
        self.r.node()?;
        if depth > MAX_DEPTH {
            return None;
        }
        match self.r.u8()? {
            b'0' => Some(Node::Null),
            b'T' => Some(Node::Bool(true)),
            b'F' => Some(Node::Bool(false)),
            b'i' => Some(Node::Int(i128::from(self.fixnum()?))),
            b'l' => {
                self.r.u8()?; // sign
                let shorts = self.len(2)?;
                self.r.take(shorts * 2)?;
                Some(Node::Int(0))
            }
            b'f' => {
                let n = self.len(1)?;
                self.r.take(n)?;
                Some(Node::Float)
            }
            b'"' => Some(self.string()?),
            tag @ (b':' | b';') => Some(Node::Symbol(self.symbol_body(tag)?)),
            b'I' => self.with_ivars(depth),
            b'[' => {
                let n = self.len(1)?;
                let items = (0..n)
                    .map(|_| self.value(depth + 1))
                    .collect::<Option<_>>()?;
                Some(Node::List(items))
            }
            tag @ (b'{' | b'}') => {
                let n = self.len(2)?;
                let mut pairs = Vec::with_capacity(n);
                for _ in 0..n {
                    pairs.push((self.value(depth + 1)?, self.value(depth + 1)?));
                }
                if tag == b'}' {
                    self.value(depth + 1)?; // the hash's default value
                }
                Some(Node::Map(pairs))
            }
            b'o' | b'S' => {
                let class = self.symbol()?;
                let fields = self.named_values(depth)?;
                Some(Node::Object {
                    class,
                    fields,
                    items: Vec::new(),
                })
            }
            b'u' => {
                let class = self.symbol()?;
                let n = self.len(1)?;
                let data = self.r.take(n)?;
                Some(Node::Object {
                    class,
                    fields: Vec::new(),
                    items: vec![Node::Bytes(data.len())],
                })
            }
            b'U' | b'C' | b'e' => {
                let class = self.symbol()?;
                let inner = self.value(depth + 1)?;
                Some(Node::Object {
                    class,
                    fields: Vec::new(),
                    items: vec![inner],
                })
            }
            b'c' | b'm' | b'M' => {
                let n = self.len(1)?;
                let name = self.r.take(n)?;
                Some(Node::Symbol(String::from_utf8_lossy(name).into_owned()))
            }
            b'/' => {
                let s = self.string()?;
                self.r.u8()?; // options
                Some(s)
            }
            b'@' => {
                self.fixnum()?;
                Some(Node::Null)
            }
            _ => None,
        }
    }

    /// `I`: a value followed by instance variables (a string's `:E`/`:encoding`); the ivars
    /// of a string are its encoding and are dropped, others become object fields.
    fn with_ivars(&mut self, depth: usize) -> Option<Node> {
        let inner = self.value(depth + 1)?;
        let ivars = self.named_values(depth)?;
        let encoding_only = ivars.iter().all(|(k, _)| k == "E" || k == "encoding");
        if encoding_only {
            return Some(inner);
        }
        Some(Node::Object {
            class: "ivars".into(),
            fields: ivars,
            items: vec![inner],
        })
    }

    /// A count, then that many (symbol, value) pairs.
    fn named_values(&mut self, depth: usize) -> Option<Vec<(String, Node)>> {
        let n = self.len(2)?;
        let mut fields = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.symbol()?;
            let name = name.strip_prefix('@').map(str::to_owned).unwrap_or(name);
            fields.push((name, self.value(depth + 1)?));
        }
        Some(fields)
    }

    fn string(&mut self) -> Option<Node> {
        let n = self.len(1)?;
        let bytes = self.r.take(n)?;
        Some(match std::str::from_utf8(bytes) {
            Ok(s) => Node::Text(s.to_owned()),
            Err(_) => Node::Bytes(n),
        })
    }

    /// A symbol (`:` definition or `;` link), tag included.
    fn symbol(&mut self) -> Option<String> {
        self.r.node()?;
        let tag = self.r.u8()?;
        self.symbol_body(tag)
    }

    /// The symbol after its tag: a definition (`:`, added to the table) or a link (`;`).
    fn symbol_body(&mut self, tag: u8) -> Option<String> {
        match tag {
            b':' => {
                let n = self.len(1)?;
                let name = String::from_utf8_lossy(self.r.take(n)?).into_owned();
                if self.symbols.len() < MAX_SYMBOLS {
                    self.symbols.push(name.clone());
                }
                Some(name)
            }
            b';' => {
                let index = usize::try_from(self.fixnum()?).ok()?;
                self.symbols.get(index).cloned()
            }
            _ => None,
        }
    }

    /// A length: a non-negative fixnum that fits in what is left.
    fn len(&mut self, min_entry_bytes: usize) -> Option<usize> {
        let n = self.fixnum()?;
        plausible_len(u64::try_from(n).ok()?, &self.r, min_entry_bytes)
    }

    /// Marshal's packed integer.
    fn fixnum(&mut self) -> Option<i64> {
        let c = self.r.u8()? as i8;
        Some(match c {
            0 => 0,
            1..=4 => {
                let n = usize::from(c.unsigned_abs());
                let bytes = self.r.take(n)?;
                bytes
                    .iter()
                    .rev()
                    .fold(0i64, |acc, &b| acc << 8 | i64::from(b))
            }
            -4..=-1 => {
                let n = usize::from(c.unsigned_abs());
                let bytes = self.r.take(n)?;
                let v = bytes
                    .iter()
                    .rev()
                    .fold(0i64, |acc, &b| acc << 8 | i64::from(b));
                v - (1i64 << (8 * n))
            }
            5..=127 => i64::from(c) - 5,
            _ => i64::from(c) + 5,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rack_session_hash_decodes() {
        // Marshal.dump({"session_id" => "ab12", "user_id" => 1, "user" => "alice",
        //   :admin => false, "n" => -300}) with Ruby 3's string encodings (`I` … `:ET`).
        let mut b = vec![4, 8, b'{', 5 + 5];
        let string = |b: &mut Vec<u8>, s: &str, first: bool| {
            b.extend([b'I', b'"', s.len() as u8 + 5]);
            b.extend(s.as_bytes());
            b.extend([6]);
            if first {
                b.extend([b':', 6, b'E']);
            } else {
                b.extend([b';', 0]);
            }
            b.push(b'T');
        };
        string(&mut b, "session_id", true);
        string(&mut b, "ab12", false);
        string(&mut b, "user_id", false);
        b.extend([b'i', 6]);
        string(&mut b, "user", false);
        string(&mut b, "alice", false);
        b.extend([b':', 10]);
        b.extend(b"admin");
        b.push(b'F');
        string(&mut b, "n", false);
        b.extend([b'i', 0xfe, 0xd4, 0xfe]);
        let node = decode(&b).expect("decodes");
        assert_eq!(
            node.sketch(&|_| None),
            r#"{"session_id": <string, 4 chars>, "user_id": <int>, "user": <string, 5 chars>, :admin: <bool>, "n": <int>}"#
        );
    }

    #[test]
    fn fixnums_follow_the_packed_encoding() {
        for (bytes, want) in [
            (&[0u8][..], 0i64),
            (&[6], 1),
            (&[0x7f], 122),
            (&[0xfa], -1),
            (&[0x80], -123),
            (&[1, 0xff], 255),
            (&[2, 0x00, 0x01], 256),
            (&[0xff, 0x00], -256),
            (&[0xfe, 0xd4, 0xfe], -300),
        ] {
            let mut m = Marshal {
                r: Reader::new(bytes),
                symbols: Vec::new(),
            };
            assert_eq!(m.fixnum(), Some(want), "{bytes:02x?}");
        }
    }

    #[test]
    fn objects_and_refusals() {
        // Marshal.dump(User.new) with @name = "bob": o :User, 1 ivar, :@name "bob".
        let b = [
            4, 8, b'o', b':', 9, b'U', b's', b'e', b'r', 6, b':', 10, b'@', b'n', b'a', b'm', b'e',
            b'"', 8, b'b', b'o', b'b',
        ];
        assert_eq!(
            decode(&b).unwrap().sketch(&|_| None),
            "User {name: <string, 3 chars>}"
        );
        assert_eq!(decode(&[4, 8]), None);
        assert_eq!(decode(&[4, 8, b'0', b'0']), None, "trailing bytes");
        assert_eq!(decode(&[4, 8, b'[', 0x7f]), None, "a count past the end");
        assert_eq!(decode(&[4, 8, b';', 6]), None, "a link to no symbol");
        let mut deep = vec![4, 8];
        deep.extend([b'[', 6].repeat(200));
        deep.push(b'0');
        assert_eq!(decode(&deep), None, "nesting is bounded");
    }
}
