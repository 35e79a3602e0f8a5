//! The decoded structure of a session id ([`Node`]: maps, lists, strings, numbers, objects)
//! and its two *redacted* views: a one-line sketch for messages ([`Node::sketch`]) and a JSON
//! value for reports ([`Node::redacted_json`]). Both show keys, types, lengths, class names
//! and which strings hold a user name — never a value.
//!
//! This file owns the structure type and its rendering; the decoders build nodes, the judge
//! (`session_id`) decides what a structure means. Rendering is bounded (entries, depth and
//! characters) whatever the structure holds.

use serde_json::{Value, json};

/// Most entries (map pairs, list items, object fields) one sketch or JSON view shows per
/// container; the rest are counted.
const MAX_SHOWN_ENTRIES: usize = 12;

/// Deepest container a view descends into; deeper ones are shown as `{…}` / `[…]`.
const MAX_SHOWN_DEPTH: usize = 6;

/// Longest key, symbol or class name shown, in characters (longer ones end in `…`).
const MAX_NAME_CHARS: usize = 48;

/// Longest sketch, in characters (a longer one ends in `…`).
pub const MAX_SKETCH_CHARS: usize = 600;

/// Strings at least this long get their alphabet in a view (`hex`, `base64url`), which tells
/// a nonce from a name.
const ALPHABET_FROM_CHARS: usize = 16;

/// One value of a decoded session id.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Key/value pairs in their order (JSON object, PHP array, Ruby hash, MessagePack/CBOR map).
    Map(Vec<(Node, Node)>),
    /// Items in order (JSON array, MessagePack/CBOR array, Ruby array, Java array).
    List(Vec<Node>),
    /// A text string.
    Text(String),
    /// A byte string (binary), by its length.
    Bytes(usize),
    /// An integer.
    Int(i128),
    /// A floating-point number.
    Float,
    /// A boolean.
    Bool(bool),
    /// Null, nil or none.
    Null,
    /// A Ruby symbol (`:user_id`).
    Symbol(String),
    /// An instance of a named class with named fields (Java serialization, PHP `O:`, Ruby
    /// objects); `items` holds what the object wrote besides its fields (a Java `HashMap`'s
    /// keys and values).
    Object {
        /// The class name as the stream spells it, e.g. `java.util.HashMap`.
        class: String,
        /// Field names with their values.
        fields: Vec<(String, Node)>,
        /// Further values written by the object itself (custom serialisation data).
        items: Vec<Node>,
    },
}

/// Tells which strings name a user: `Some(true)` when the string is a user name, `Some(false)`
/// when it contains one, `None` otherwise.
pub type UserMatch<'a> = &'a dyn Fn(&str) -> Option<bool>;

impl Node {
    /// Every text the structure carries (strings, keys, symbols, class and field names), in
    /// order, depth first; `f` returns `true` to stop early.
    pub fn any_text(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        match self {
            Node::Text(s) | Node::Symbol(s) => f(s),
            Node::Map(pairs) => pairs.iter().any(|(k, v)| k.any_text(f) || v.any_text(f)),
            Node::List(items) => items.iter().any(|n| n.any_text(f)),
            Node::Object {
                class,
                fields,
                items,
            } => {
                f(class)
                    || fields.iter().any(|(name, v)| f(name) || v.any_text(f))
                    || items.iter().any(|n| n.any_text(f))
            }
            Node::Bytes(_) | Node::Int(_) | Node::Float | Node::Bool(_) | Node::Null => false,
        }
    }

    /// Number of nodes in the structure (itself included).
    pub fn size(&self) -> usize {
        1 + match self {
            Node::Map(pairs) => pairs.iter().map(|(k, v)| k.size() + v.size()).sum(),
            Node::List(items) => items.iter().map(Node::size).sum(),
            Node::Object { fields, items, .. } => {
                fields.iter().map(|(_, v)| v.size()).sum::<usize>()
                    + items.iter().map(Node::size).sum::<usize>()
            }
            _ => 0,
        }
    }

    /// A one-line view with every value redacted, e.g. `{"uid": <int>, "user": <string, 5
    /// chars: the user name>}`; at most [`MAX_SKETCH_CHARS`] characters.
    pub fn sketch(&self, user: UserMatch<'_>) -> String {
        let mut out = String::new();
        self.sketch_into(&mut out, user, 0);
        cut(&out, MAX_SKETCH_CHARS)
    }

    fn sketch_into(&self, out: &mut String, user: UserMatch<'_>, depth: usize) {
        // Past what will be shown (in bytes, at least as many as characters): stop early.
        if out.len() > 4 * MAX_SKETCH_CHARS {
            return;
        }
        match self {
            Node::Map(pairs) => {
                if depth >= MAX_SHOWN_DEPTH {
                    return out.push_str("{…}");
                }
                out.push('{');
                for (i, (k, v)) in pairs.iter().take(MAX_SHOWN_ENTRIES).enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&key_text(k));
                    out.push_str(": ");
                    v.sketch_into(out, user, depth + 1);
                }
                more(out, pairs.len());
                out.push('}');
            }
            Node::List(items) => list_sketch(items, out, user, depth),
            Node::Object {
                class,
                fields,
                items,
            } => {
                out.push_str(&name_text(class));
                if depth >= MAX_SHOWN_DEPTH {
                    return out.push_str(" {…}");
                }
                out.push_str(" {");
                for (i, (name, v)) in fields.iter().take(MAX_SHOWN_ENTRIES).enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&name_text(name));
                    out.push_str(": ");
                    v.sketch_into(out, user, depth + 1);
                }
                more(out, fields.len());
                if !items.is_empty() {
                    out.push_str(if fields.is_empty() { "" } else { "; " });
                    out.push_str("data: ");
                    list_sketch(items, out, user, depth + 1);
                }
                out.push('}');
            }
            Node::Text(s) => out.push_str(&text_view(s, "string", user)),
            Node::Symbol(s) => out.push_str(&text_view(s, "symbol", user)),
            Node::Bytes(n) => out.push_str(&format!("<bytes, {n}>")),
            Node::Int(_) => out.push_str("<int>"),
            Node::Float => out.push_str("<float>"),
            Node::Bool(_) => out.push_str("<bool>"),
            Node::Null => out.push_str("null"),
        }
    }

    /// The same redacted view as JSON: `{"type": "map", "entries": [{"key": "uid", "value":
    /// {"type": "int"}}]}`; strings as `{"type": "string", "chars": 5, "user_name": "is"}`.
    pub fn redacted_json(&self, user: UserMatch<'_>) -> Value {
        self.json_at(user, 0)
    }

    fn json_at(&self, user: UserMatch<'_>, depth: usize) -> Value {
        let deeper = |n: &Node| n.json_at(user, depth + 1);
        let hidden = |len: usize| len.saturating_sub(MAX_SHOWN_ENTRIES);
        match self {
            Node::Map(pairs) if depth < MAX_SHOWN_DEPTH => json!({
                "type": "map",
                "entries": pairs.iter().take(MAX_SHOWN_ENTRIES)
                    .map(|(k, v)| json!({"key": key_json(k), "value": deeper(v)}))
                    .collect::<Vec<_>>(),
                "more": hidden(pairs.len()),
            }),
            Node::List(items) if depth < MAX_SHOWN_DEPTH => json!({
                "type": "list",
                "items": items.iter().take(MAX_SHOWN_ENTRIES).map(deeper).collect::<Vec<_>>(),
                "more": hidden(items.len()),
            }),
            Node::Object {
                class,
                fields,
                items,
            } if depth < MAX_SHOWN_DEPTH => json!({
                "type": "object",
                "class": cut(class, MAX_NAME_CHARS),
                "fields": fields.iter().take(MAX_SHOWN_ENTRIES)
                    .map(|(name, v)| json!({"name": cut(name, MAX_NAME_CHARS), "value": deeper(v)}))
                    .collect::<Vec<_>>(),
                "data": items.iter().take(MAX_SHOWN_ENTRIES).map(deeper).collect::<Vec<_>>(),
                "more": hidden(fields.len()) + hidden(items.len()),
            }),
            Node::Map(_) => json!({"type": "map", "truncated": true}),
            Node::List(_) => json!({"type": "list", "truncated": true}),
            Node::Object { class, .. } => {
                json!({"type": "object", "class": cut(class, MAX_NAME_CHARS), "truncated": true})
            }
            Node::Text(s) | Node::Symbol(s) => {
                let kind = if matches!(self, Node::Text(_)) {
                    "string"
                } else {
                    "symbol"
                };
                let mut v = json!({"type": kind, "chars": s.chars().count()});
                if s.chars().count() >= ALPHABET_FROM_CHARS {
                    v["alphabet"] = json!(alphabet_of(s));
                }
                match user(s) {
                    Some(true) => v["user_name"] = json!("is"),
                    Some(false) => v["user_name"] = json!("contains"),
                    None => {}
                }
                v
            }
            Node::Bytes(n) => json!({"type": "bytes", "len": n}),
            Node::Int(_) => json!({"type": "int"}),
            Node::Float => json!({"type": "float"}),
            Node::Bool(_) => json!({"type": "bool"}),
            Node::Null => json!({"type": "null"}),
        }
    }
}

fn list_sketch(items: &[Node], out: &mut String, user: UserMatch<'_>, depth: usize) {
    if depth >= MAX_SHOWN_DEPTH {
        return out.push_str("[…]");
    }
    out.push('[');
    for (i, v) in items.iter().take(MAX_SHOWN_ENTRIES).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        v.sketch_into(out, user, depth + 1);
    }
    more(out, items.len());
    out.push(']');
}

fn more(out: &mut String, len: usize) {
    if len > MAX_SHOWN_ENTRIES {
        out.push_str(&format!(", … {} more", len - MAX_SHOWN_ENTRIES));
    }
}

/// A map key as shown: a text key quoted, a symbol as `:name`, anything else by its type.
fn key_text(k: &Node) -> String {
    match k {
        Node::Text(s) => format!("\"{}\"", name_text(s)),
        Node::Symbol(s) => format!(":{}", name_text(s)),
        Node::Int(_) => "<int>".into(),
        other => {
            let mut out = String::new();
            other.sketch_into(&mut out, &|_| None, MAX_SHOWN_DEPTH);
            out
        }
    }
}

fn key_json(k: &Node) -> Value {
    match k {
        Node::Text(s) => json!(cut(s, MAX_NAME_CHARS)),
        Node::Symbol(s) => json!(format!(":{}", cut(s, MAX_NAME_CHARS))),
        Node::Int(_) => json!({"type": "int"}),
        other => other.json_at(&|_| None, MAX_SHOWN_DEPTH),
    }
}

/// A key, symbol or class name as shown: control characters, quotes and backslashes escaped,
/// cut to [`MAX_NAME_CHARS`].
fn name_text(s: &str) -> String {
    let escaped: String = s
        .chars()
        .take(MAX_NAME_CHARS + 1)
        .flat_map(|c| {
            if c.is_control() || c == '"' || c == '\\' {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    cut(&escaped, MAX_NAME_CHARS)
}

fn text_view(s: &str, kind: &str, user: UserMatch<'_>) -> String {
    let chars = s.chars().count();
    let mut view = format!("<{kind}, {chars} char{}", if chars == 1 { "" } else { "s" });
    if chars >= ALPHABET_FROM_CHARS {
        view.push_str(&format!(", {}", alphabet_of(s)));
    }
    match user(s) {
        Some(true) => view.push_str(": the user name"),
        Some(false) => view.push_str(": contains the user name"),
        None => {}
    }
    view.push('>');
    view
}

/// The smallest common alphabet of `s` in words: `decimal`, `hex`, `base64url`, `base64`,
/// `printable`, `other`.
fn alphabet_of(s: &str) -> &'static str {
    let all = |f: fn(char) -> bool| s.chars().all(f);
    if all(|c| c.is_ascii_digit()) {
        "decimal"
    } else if all(|c| c.is_ascii_hexdigit()) {
        "hex"
    } else if all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        "base64url"
    } else if all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')) {
        "base64"
    } else if all(|c| c == ' ' || c.is_ascii_graphic()) {
        "printable"
    } else {
        "other"
    }
}

/// `s` cut to `max` characters, ending in `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Node {
        Node::Text(s.into())
    }

    fn alice(s: &str) -> Option<bool> {
        let lower = s.to_lowercase();
        (lower == "alice")
            .then_some(true)
            .or(lower.contains("alice").then_some(false))
    }

    #[test]
    fn sketch_shows_keys_and_types_never_values() {
        let node = Node::Map(vec![
            (text("uid"), Node::Int(1)),
            (text("user"), text("alice")),
            (text("role"), text("admin")),
            (text("nonce"), text(&"ab12".repeat(16))),
        ]);
        let s = node.sketch(&alice);
        assert_eq!(
            s,
            r#"{"uid": <int>, "user": <string, 5 chars: the user name>, "role": <string, 5 chars>, "nonce": <string, 64 chars, hex>}"#
        );
        assert!(!s.contains("admin") && !s.contains("ab12"));
        let j = node.redacted_json(&alice).to_string();
        assert!(
            j.contains(r#""key":"user""#) && j.contains(r#""user_name":"is""#),
            "{j}"
        );
        assert!(!j.contains("admin") && !j.contains("ab12"), "{j}");
    }

    #[test]
    fn objects_symbols_and_lists_are_sketched() {
        let node = Node::Object {
            class: "com.example.Session".into(),
            fields: vec![("uid".into(), Node::Int(2)), ("user".into(), text("bob"))],
            items: vec![Node::Symbol("x".into())],
        };
        assert_eq!(
            node.sketch(&|_| None),
            "com.example.Session {uid: <int>, user: <string, 3 chars>; data: [<symbol, 1 char>]}"
        );
        let map = Node::Map(vec![(Node::Symbol("user_id".into()), Node::Null)]);
        assert_eq!(map.sketch(&|_| None), "{:user_id: null}");
    }

    #[test]
    fn views_are_bounded() {
        let mut deep = Node::Int(0);
        for _ in 0..100 {
            deep = Node::List(vec![deep]);
        }
        assert!(deep.sketch(&|_| None).contains("[…]"));
        assert_eq!(deep.size(), 101);
        let wide = Node::Map(
            (0..1000)
                .map(|i| (Node::Int(i), Node::Bool(true)))
                .collect(),
        );
        let s = wide.sketch(&|_| None);
        assert!(s.ends_with(", … 988 more}"), "{s}");
        let long_keys = Node::Map(
            (0..20)
                .map(|_| (text(&"k\"\n".repeat(100)), Node::Null))
                .collect(),
        );
        let s = long_keys.sketch(&|_| None);
        assert!(s.chars().count() <= MAX_SKETCH_CHARS, "{}", s.len());
        assert!(!s.contains('\n'));
        let j = long_keys.redacted_json(&|_| None);
        assert_eq!(j["more"], 8);
    }
}
