//! PHP `serialize()` format (what `session.serialize_handler = php_serialize` and many PHP
//! cookie stores write): `N;`, `b:1;`, `i:42;`, `d:0.5;`, `s:5:"alice";`,
//! `a:2:{s:3:"uid";i:1;…}`, objects `O:4:"User":1:{s:4:"name";…}`, custom objects
//! `C:3:"Foo":4:{data}`, enums `E:8:"Role:Adm";` and references `r:1;` / `R:1;`.
//!
//! Lengths are byte counts, as PHP writes them. The whole input must be one value. Pure,
//! bounded (nodes and nesting) and panic-free.

use super::node::Node;
use super::reader::{MAX_DEPTH, Reader, plausible_len};

/// The structure of PHP-serialized `bytes`, when they are exactly one array or object.
pub(super) fn decode(bytes: &[u8]) -> Option<Node> {
    if !matches!(bytes.first(), Some(b'a' | b'O' | b'C')) || bytes.get(1) != Some(&b':') {
        return None;
    }
    let mut r = Reader::new(bytes);
    let node = value(&mut r, 0)?;
    r.at_end().then_some(node)
}

fn value(r: &mut Reader<'_>, depth: usize) -> Option<Node> {
    r.node()?;
    if depth > MAX_DEPTH {
        return None;
    }
    let tag = r.u8()?;
    if tag == b'N' {
        r.expect(b";")?;
        return Some(Node::Null);
    }
    r.expect(b":")?;
    match tag {
        b'b' => match r.until(b';')? {
            b"0" => Some(Node::Bool(false)),
            b"1" => Some(Node::Bool(true)),
            _ => None,
        },
        b'i' => Some(Node::Int(int(r.until(b';')?)?)),
        b'd' => {
            let text = std::str::from_utf8(r.until(b';')?).ok()?;
            (text.parse::<f64>().is_ok() || matches!(text, "INF" | "-INF" | "NAN"))
                .then_some(Node::Float)
        }
        b's' => {
            let s = quoted(r)?;
            r.expect(b";")?;
            Some(text(s))
        }
        b'E' => {
            let s = quoted(r)?;
            r.expect(b";")?;
            Some(Node::Symbol(String::from_utf8_lossy(s).into_owned()))
        }
        b'r' | b'R' => {
            int(r.until(b';')?)?;
            Some(Node::Symbol("reference".into()))
        }
        b'a' => Some(Node::Map(entries(r, depth)?)),
        b'O' => {
            let class = String::from_utf8_lossy(quoted(r)?).into_owned();
            r.expect(b":")?;
            let fields = entries(r, depth)?
                .into_iter()
                .map(|(k, v)| (property_name(&k), v))
                .collect();
            Some(Node::Object {
                class,
                fields,
                items: Vec::new(),
            })
        }
        b'C' => {
            let class = String::from_utf8_lossy(quoted(r)?).into_owned();
            r.expect(b":")?;
            let len = usize::try_from(int(r.until(b':')?)?).ok()?;
            r.expect(b"{")?;
            let data = r.take(len)?;
            r.expect(b"}")?;
            Some(Node::Object {
                class,
                fields: Vec::new(),
                items: vec![text(data)],
            })
        }
        _ => None,
    }
}

/// `COUNT:{key;value;…}` of an array or object.
fn entries(r: &mut Reader<'_>, depth: usize) -> Option<Vec<(Node, Node)>> {
    let count = int(r.until(b':')?)?;
    // Each pair takes at least 4 bytes (`i:0;N;` is 6).
    let count = plausible_len(u64::try_from(count).ok()?, r, 4)?;
    r.expect(b"{")?;
    let mut pairs = Vec::with_capacity(count);
    for _ in 0..count {
        let key = value(r, depth + 1)?;
        if !matches!(key, Node::Int(_) | Node::Text(_) | Node::Bytes(_)) {
            return None;
        }
        pairs.push((key, value(r, depth + 1)?));
    }
    r.expect(b"}")?;
    Some(pairs)
}

/// `LEN:"bytes"`.
fn quoted<'a>(r: &mut Reader<'a>) -> Option<&'a [u8]> {
    let len = usize::try_from(int(r.until(b':')?)?).ok()?;
    r.expect(b"\"")?;
    let s = r.take(len)?;
    r.expect(b"\"")?;
    Some(s)
}

fn int(digits: &[u8]) -> Option<i128> {
    let text = std::str::from_utf8(digits).ok()?;
    if text.is_empty() || text.len() > 24 {
        return None;
    }
    text.parse().ok()
}

fn text(bytes: &[u8]) -> Node {
    match std::str::from_utf8(bytes) {
        Ok(s) => Node::Text(s.to_owned()),
        Err(_) => Node::Bytes(bytes.len()),
    }
}

/// A property name without PHP's visibility mangling (`\0*\0name`, `\0Class\0name`).
fn property_name(key: &Node) -> String {
    match key {
        Node::Text(s) => s.rsplit('\0').next().unwrap_or(s).to_owned(),
        Node::Int(i) => i.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_array_decodes() {
        // As PHP 8 writes serialize(['uid' => 1, 'user' => 'alice', 'admin' => false,
        // 'score' => 1.5, 'tags' => [0 => 'x'], 'none' => null]).
        let s = br#"a:6:{s:3:"uid";i:1;s:4:"user";s:5:"alice";s:5:"admin";b:0;s:5:"score";d:1.5;s:4:"tags";a:1:{i:0;s:1:"x";}s:4:"none";N;}"#;
        let node = decode(s).expect("decodes");
        assert_eq!(
            node.sketch(&|_| None),
            r#"{"uid": <int>, "user": <string, 5 chars>, "admin": <bool>, "score": <float>, "tags": {<int>: <string, 1 char>}, "none": null}"#
        );
    }

    #[test]
    fn objects_keep_their_class_and_unmangled_property_names() {
        let s = b"O:4:\"User\":2:{s:7:\"\0*\0name\";s:3:\"bob\";s:10:\"\0User\0role\";E:10:\"Role:Admin\";}";
        let node = decode(s).expect("decodes");
        assert_eq!(
            node.sketch(&|_| None),
            "User {name: <string, 3 chars>, role: <symbol, 10 chars>}"
        );
        let custom = decode(br#"C:11:"ArrayObject":21:{x:i:0;a:0:{};m:a:0:{}}"#).unwrap();
        assert!(matches!(custom, Node::Object { ref class, .. } if class == "ArrayObject"));
    }

    #[test]
    fn malformed_and_trailing_input_is_refused() {
        for bad in [
            &br#"a:1:{s:3:"uid";i:1;}x"#[..],
            br#"a:1:{s:9:"uid";i:1;}"#,
            br#"a:99999999999:{}"#,
            br#"a:1:{a:0:{}i:1;}"#,
            br#"s:5:"alice";"#,
            b"a:-1:{}",
            b"",
        ] {
            assert_eq!(decode(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let deep = format!("{}i:1;{}", "a:1:{i:0;".repeat(100), "}".repeat(100));
        assert_eq!(decode(deep.as_bytes()), None, "nesting is bounded");
    }
}
