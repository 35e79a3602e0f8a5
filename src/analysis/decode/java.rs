//! Java Object Serialization (`ac ed 00 05`, `rO0AB` in base64): the stream grammar of the
//! Java Object Serialization Specification §6.4 — objects with their class descriptors
//! (fields, super classes, back-references by handle), strings, arrays, enums and block
//! data. An object's fields come out with their names; what a class writes itself (a
//! `HashMap`'s keys and values) comes out as its data.
//!
//! A stream this parser cannot follow (an externalizable class without block data, an
//! unknown tag) still shows what anyone reading it would see: its class names and strings,
//! found by a scan of `TC_CLASSDESC` and `TC_STRING` records.
//!
//! Pure, bounded (nodes, nesting, handles) and panic-free.

use std::rc::Rc;

use super::node::Node;
use super::reader::{MAX_DEPTH, MAX_NODES, Reader, plausible_len};

const MAGIC: [u8; 4] = [0xac, 0xed, 0x00, 0x05];
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_CLASS: u8 = 0x76;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const TC_RESET: u8 = 0x79;
const TC_BLOCKDATALONG: u8 = 0x7a;
const TC_LONGSTRING: u8 = 0x7c;
const TC_PROXYCLASSDESC: u8 = 0x7d;
const TC_ENUM: u8 = 0x7e;
const BASE_HANDLE: u32 = 0x7e_0000;
const SC_WRITE_METHOD: u8 = 0x01;
const SC_SERIALIZABLE: u8 = 0x02;
const SC_EXTERNALIZABLE: u8 = 0x04;
const SC_BLOCK_DATA: u8 = 0x08;

/// The structure of a Java serialization stream (magic included): its objects in order (one
/// object alone when the stream holds one).
pub(super) fn decode(bytes: &[u8]) -> Option<Node> {
    let body = bytes.strip_prefix(&MAGIC)?;
    parse(body).or_else(|| scan(body))
}

/// What a handle names.
#[derive(Clone)]
enum Handle {
    Class(Rc<ClassDesc>),
    Text(String),
    Other,
}

struct ClassDesc {
    name: String,
    flags: u8,
    /// (type code, name) of each field, in stream order.
    fields: Vec<(u8, String)>,
    parent: Option<Rc<ClassDesc>>,
}

struct Stream<'a> {
    r: Reader<'a>,
    handles: Vec<Handle>,
}

fn parse(body: &[u8]) -> Option<Node> {
    let mut s = Stream {
        r: Reader::new(body),
        handles: Vec::new(),
    };
    let mut contents = Vec::new();
    while !s.r.at_end() {
        if let Some(node) = s.content(0)? {
            contents.push(node);
        }
    }
    match contents.len() {
        0 => None,
        1 => contents.pop(),
        _ => Some(Node::List(contents)),
    }
}

impl Stream<'_> {
    /// One object or block of data (`None` inside for block data, which is skipped).
    fn content(&mut self, depth: usize) -> Option<Option<Node>> {
        match self.r.peek()? {
            TC_BLOCKDATA => {
                self.r.u8()?;
                let n = usize::from(self.r.u8()?);
                self.r.take(n)?;
                Some(None)
            }
            TC_BLOCKDATALONG => {
                self.r.u8()?;
                let n = usize::try_from(self.r.be(4)?).ok()?;
                self.r.take(n)?;
                Some(None)
            }
            _ => self.object(depth).map(Some),
        }
    }

    fn object(&mut self, depth: usize) -> Option<Node> {
        self.r.node()?;
        if depth > MAX_DEPTH {
            return None;
        }
        match self.r.u8()? {
            TC_NULL => Some(Node::Null),
            TC_RESET => {
                self.handles.clear();
                self.object(depth)
            }
            TC_REFERENCE => Some(match self.reference()? {
                Handle::Text(s) => Node::Text(s),
                Handle::Class(c) => Node::Symbol(c.name.clone()),
                Handle::Other => Node::Null,
            }),
            TC_STRING => {
                let n = usize::try_from(self.r.be(2)?).ok()?;
                self.string(n)
            }
            TC_LONGSTRING => {
                let n = usize::try_from(self.r.be(8)?).ok()?;
                self.string(n)
            }
            tag @ (TC_CLASSDESC | TC_PROXYCLASSDESC) => {
                let desc = self.class_desc_after(tag, depth)?;
                Some(Node::Symbol(desc.name.clone()))
            }
            TC_CLASS => {
                let desc = self.class_desc(depth)?;
                self.handles.push(Handle::Other);
                Some(Node::Symbol(
                    desc.map_or_else(String::new, |d| d.name.clone()),
                ))
            }
            TC_ENUM => {
                let desc = self.class_desc(depth)?;
                self.handles.push(Handle::Other);
                let constant = self.object(depth + 1)?;
                let class = desc.map_or_else(String::new, |d| d.name.clone());
                Some(Node::Object {
                    class,
                    fields: Vec::new(),
                    items: vec![constant],
                })
            }
            TC_ARRAY => self.array(depth),
            TC_OBJECT => self.new_object(depth),
            _ => None,
        }
    }

    fn string(&mut self, n: usize) -> Option<Node> {
        let bytes = self.r.take(n)?;
        // Java's modified UTF-8 is UTF-8 for everything but NUL and supplementary characters.
        let text = String::from_utf8_lossy(bytes).into_owned();
        self.push_handle(Handle::Text(text.clone()))?;
        Some(Node::Text(text))
    }

    fn push_handle(&mut self, h: Handle) -> Option<()> {
        (self.handles.len() < MAX_NODES).then(|| self.handles.push(h))
    }

    fn reference(&mut self) -> Option<Handle> {
        let handle = u32::try_from(self.r.be(4)?).ok()?;
        let index = usize::try_from(handle.checked_sub(BASE_HANDLE)?).ok()?;
        self.handles.get(index).cloned()
    }

    /// A class descriptor: new, null or a reference to an earlier one.
    fn class_desc(&mut self, depth: usize) -> Option<Option<Rc<ClassDesc>>> {
        match self.r.u8()? {
            TC_NULL => Some(None),
            TC_REFERENCE => match self.reference()? {
                Handle::Class(c) => Some(Some(c)),
                _ => None,
            },
            tag @ (TC_CLASSDESC | TC_PROXYCLASSDESC) => self.class_desc_after(tag, depth).map(Some),
            _ => None,
        }
    }

    fn class_desc_after(&mut self, tag: u8, depth: usize) -> Option<Rc<ClassDesc>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let index = self.handles.len();
        let (name, flags, fields) = if tag == TC_PROXYCLASSDESC {
            self.push_handle(Handle::Other)?;
            let count = plausible_len(self.r.be(4)?, &self.r, 2)?;
            let names: Vec<String> = (0..count).map(|_| self.utf()).collect::<Option<_>>()?;
            (
                format!("proxy({})", names.join(", ")),
                SC_SERIALIZABLE,
                Vec::new(),
            )
        } else {
            let name = self.utf()?;
            self.r.take(8)?; // serialVersionUID
            self.push_handle(Handle::Other)?;
            let flags = self.r.u8()?;
            let count = plausible_len(self.r.be(2)?, &self.r, 3)?;
            let mut fields = Vec::with_capacity(count);
            for _ in 0..count {
                self.r.node()?;
                let code = self.r.u8()?;
                let field = self.utf()?;
                if matches!(code, b'L' | b'[') {
                    self.object(depth + 1)?; // the field's type name
                } else if !b"BCDFIJSZ".contains(&code) {
                    return None;
                }
                fields.push((code, field));
            }
            (name, flags, fields)
        };
        self.annotation(depth)?;
        let parent = self.class_desc(depth + 1)?;
        let desc = Rc::new(ClassDesc {
            name,
            flags,
            fields,
            parent,
        });
        *self.handles.get_mut(index)? = Handle::Class(desc.clone());
        Some(desc)
    }

    /// Contents up to `TC_ENDBLOCKDATA`: the objects, block data skipped.
    fn annotation(&mut self, depth: usize) -> Option<Vec<Node>> {
        let mut items = Vec::new();
        while self.r.peek()? != TC_ENDBLOCKDATA {
            if let Some(node) = self.content(depth + 1)? {
                items.push(node);
            }
        }
        self.r.u8()?;
        Some(items)
    }

    fn utf(&mut self) -> Option<String> {
        let n = usize::try_from(self.r.be(2)?).ok()?;
        Some(String::from_utf8_lossy(self.r.take(n)?).into_owned())
    }

    fn array(&mut self, depth: usize) -> Option<Node> {
        let desc = self.class_desc(depth)?;
        self.push_handle(Handle::Other)?;
        let name = desc.map_or_else(String::new, |d| d.name.clone());
        let code = name.as_bytes().get(1).copied()?;
        let len = plausible_len(self.r.be(4)?, &self.r, 1)?;
        let items = (0..len)
            .map(|_| self.field_value(code, depth + 1))
            .collect::<Option<_>>()?;
        Some(Node::List(items))
    }

    fn field_value(&mut self, code: u8, depth: usize) -> Option<Node> {
        let width = match code {
            b'B' | b'Z' => 1,
            b'C' | b'S' => 2,
            b'I' | b'F' => 4,
            b'J' | b'D' => 8,
            b'L' | b'[' => return self.object(depth),
            _ => return None,
        };
        self.r.node()?;
        let raw = self.r.be(width)?;
        Some(match code {
            b'Z' => Node::Bool(raw != 0),
            b'F' | b'D' => Node::Float,
            _ => Node::Int(i128::from(raw)),
        })
    }

    fn new_object(&mut self, depth: usize) -> Option<Node> {
        let desc = self.class_desc(depth)?;
        self.push_handle(Handle::Other)?;
        let desc = desc?;
        let mut chain = Vec::new();
        let mut next = Some(desc.clone());
        while let Some(d) = next {
            if chain.len() > MAX_DEPTH {
                return None;
            }
            next = d.parent.clone();
            chain.push(d);
        }
        let mut fields = Vec::new();
        let mut items = Vec::new();
        for class in chain.iter().rev() {
            if class.flags & SC_EXTERNALIZABLE != 0 {
                if class.flags & SC_BLOCK_DATA == 0 {
                    return None;
                }
                items.extend(self.annotation(depth)?);
                continue;
            }
            for (code, name) in &class.fields {
                fields.push((name.clone(), self.field_value(*code, depth + 1)?));
            }
            if class.flags & SC_WRITE_METHOD != 0 {
                items.extend(self.annotation(depth)?);
            }
        }
        Some(as_map(desc.name.clone(), fields, items))
    }
}

/// A map class (`HashMap`, `Hashtable`, `TreeMap`, …) writes its keys and values in turn:
/// they are shown as one map.
fn as_map(class: String, fields: Vec<(String, Node)>, items: Vec<Node>) -> Node {
    let is_map = class.ends_with("Map") || class.ends_with("Hashtable");
    let items = if is_map && items.len().is_multiple_of(2) && !items.is_empty() {
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        vec![Node::Map(pairs)]
    } else {
        items
    };
    Node::Object {
        class,
        fields,
        items,
    }
}

/// The fallback: class names (`TC_CLASSDESC` + name) and strings (`TC_STRING` + text) found
/// anywhere in the stream, as one object of the first class.
fn scan(body: &[u8]) -> Option<Node> {
    let mut classes = Vec::new();
    let mut strings = Vec::new();
    let mut i = 0;
    while let Some(&tag) = body.get(i) {
        let text = (tag == TC_CLASSDESC || tag == TC_STRING)
            .then(|| {
                let len = usize::from(u16::from_be_bytes([*body.get(i + 1)?, *body.get(i + 2)?]));
                let bytes = body.get(i + 3..i + 3 + len)?;
                let text = std::str::from_utf8(bytes).ok()?;
                (!text.is_empty() && text.chars().all(|c| !c.is_control())).then_some((len, text))
            })
            .flatten();
        match text {
            Some((len, text)) if classes.len() + strings.len() < MAX_NODES => {
                if tag == TC_CLASSDESC {
                    classes.push(text.to_owned());
                } else {
                    strings.push(Node::Text(text.to_owned()));
                }
                i += 3 + len;
            }
            _ => i += 1,
        }
    }
    let class = classes.first()?.clone();
    let mut items: Vec<Node> = classes.into_iter().skip(1).map(Node::Symbol).collect();
    items.extend(strings);
    Some(Node::Object {
        class,
        fields: Vec::new(),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u16).to_be_bytes());
        out.extend(s.as_bytes());
    }

    /// `ObjectOutputStream.writeObject` of a class `Session implements Serializable` with
    /// `int uid; String user;`, written by hand from the specification (§6.4).
    fn session_stream(user: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend([TC_OBJECT, TC_CLASSDESC]);
        utf(&mut b, "com.example.Session");
        b.extend(1u64.to_be_bytes());
        b.push(SC_SERIALIZABLE);
        b.extend(2u16.to_be_bytes());
        b.push(b'I');
        utf(&mut b, "uid");
        b.push(b'L');
        utf(&mut b, "user");
        b.push(TC_STRING);
        utf(&mut b, "Ljava/lang/String;");
        b.extend([TC_ENDBLOCKDATA, TC_NULL]);
        b.extend(7u32.to_be_bytes());
        b.push(TC_STRING);
        utf(&mut b, user);
        b
    }

    #[test]
    fn an_object_with_fields_decodes_with_names() {
        let node = decode(&session_stream("alice")).expect("decodes");
        assert_eq!(
            node.sketch(&|_| None),
            "com.example.Session {uid: <int>, user: <string, 5 chars>}"
        );
    }

    #[test]
    fn a_hash_map_shows_its_keys() {
        // new HashMap<>(Map.of("role", "admin")) as Java 17 writes it.
        let mut b = MAGIC.to_vec();
        b.extend([TC_OBJECT, TC_CLASSDESC]);
        utf(&mut b, "java.util.HashMap");
        b.extend(0x0507_dac1_c316_60d1u64.to_be_bytes());
        b.push(SC_SERIALIZABLE | SC_WRITE_METHOD);
        b.extend(2u16.to_be_bytes());
        b.push(b'F');
        utf(&mut b, "loadFactor");
        b.push(b'I');
        utf(&mut b, "threshold");
        b.extend([TC_ENDBLOCKDATA, TC_NULL]);
        b.extend(0.75f32.to_be_bytes());
        b.extend(12u32.to_be_bytes());
        b.extend([TC_BLOCKDATA, 8, 0, 0, 0, 16, 0, 0, 0, 1]);
        b.push(TC_STRING);
        utf(&mut b, "role");
        b.push(TC_STRING);
        utf(&mut b, "admin");
        b.push(TC_ENDBLOCKDATA);
        let node = decode(&b).expect("decodes");
        assert_eq!(
            node.sketch(&|_| None),
            r#"java.util.HashMap {loadFactor: <float>, threshold: <int>; data: [{"role": <string, 5 chars>}]}"#
        );
    }

    #[test]
    fn a_stream_it_cannot_follow_is_scanned() {
        let mut b = session_stream("bob");
        b.push(0x42); // an unknown tag after the object
        let node = decode(&b).expect("scanned");
        let s = node.sketch(&|_| None);
        assert!(s.starts_with("com.example.Session {data: ["), "{s}");
        assert!(s.contains("<string, 3 chars>"), "{s}");
        assert_eq!(decode(&MAGIC), None);
        assert_eq!(decode(b"\xac\xed\x00\x06"), None);
    }

    #[test]
    fn references_and_bounds() {
        // Two objects of one class: the second names its descriptor by handle.
        let mut b = session_stream("carol");
        b.extend([TC_OBJECT, TC_REFERENCE]);
        b.extend(BASE_HANDLE.to_be_bytes());
        b.extend(8u32.to_be_bytes());
        b.push(TC_REFERENCE);
        b.extend((BASE_HANDLE + 3).to_be_bytes()); // the string "carol"
        let node = parse(b.strip_prefix(&MAGIC).unwrap()).expect("parses");
        assert!(
            matches!(&node, Node::List(items) if items.len() == 2),
            "{node:?}"
        );
        let mut deep = MAGIC.to_vec();
        deep.extend([TC_ARRAY, TC_CLASSDESC]);
        for _ in 0..200 {
            deep.extend([TC_OBJECT]);
        }
        assert!(parse(deep.strip_prefix(&MAGIC).unwrap()).is_none());
    }
}
