//! `session_decode`: the session-id decoders never panic and never show a value. The input is
//! decoded twice — as a cookie value (lossy UTF-8) and as raw bytes behind base64, which
//! reaches every binary decoder (Java, Marshal, MessagePack, CBOR, zlib/gzip). For every
//! decoding: the chain has at most `MAX_LAYERS` layers before its format, the redacted sketch
//! stays within `MAX_SKETCH_CHARS`, and neither the sketch nor the JSON view contains a long
//! alphanumeric string value of the structure (unless a key or class name holds it too).
#![no_main]

use authprobe::analysis::decode::{MAX_LAYERS, MAX_SKETCH_CHARS, Node, decodings};
use authprobe::analysis::session_id::readable_content;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;

/// Long alphanumeric string values (candidates for a leak) and every name the views may show.
fn collect(node: &Node, values: &mut Vec<String>, names: &mut Vec<String>) {
    match node {
        Node::Text(s) | Node::Symbol(s) => {
            if s.chars().count() >= 12 && s.chars().all(|c| c.is_ascii_alphanumeric()) {
                values.push(s.clone());
            }
        }
        Node::Map(pairs) => {
            for (k, v) in pairs {
                if let Node::Text(s) | Node::Symbol(s) = k {
                    names.push(s.clone());
                } else {
                    collect(k, values, names);
                }
                collect(v, values, names);
            }
        }
        Node::List(items) => items.iter().for_each(|n| collect(n, values, names)),
        Node::Object {
            class,
            fields,
            items,
        } => {
            names.push(class.clone());
            for (name, v) in fields {
                names.push(name.clone());
                collect(v, values, names);
            }
            items.iter().for_each(|n| collect(n, values, names));
        }
        _ => {}
    }
}

fn check(value: &str) {
    for d in decodings(value) {
        assert!(d.layers.len() <= MAX_LAYERS + 1, "{}", d.chain());
        let sketch = d.node.sketch(&|_| None);
        assert!(sketch.chars().count() <= MAX_SKETCH_CHARS);
        let json = d.node.redacted_json(&|_| None).to_string();
        let (mut values, mut names) = (Vec::new(), Vec::new());
        collect(&d.node, &mut values, &mut names);
        for v in values {
            if names.iter().any(|n| n.contains(v.as_str())) {
                continue;
            }
            assert!(!sketch.contains(&v), "value {v} shown in {sketch}");
            assert!(!json.contains(&v), "value {v} shown in {json}");
        }
    }
    if let Some(r) = readable_content(value, &["alice", "bob"]) {
        assert!(r.sketch().chars().count() <= MAX_SKETCH_CHARS);
        let _ = r.redacted_json();
    }
}

fuzz_target!(|data: &[u8]| {
    check(&String::from_utf8_lossy(data));
    check(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data));
});
