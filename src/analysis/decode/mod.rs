//! Decoders for what frameworks put in session cookies, and the bounded search that unwraps
//! a value layer by layer: [`decodings`] turns one cookie value into every readable
//! structure it reaches, each with the chain of layers that led to it (`percent → base64 →
//! php-serialize`).
//!
//! Layers: percent-encoding, hex, base64 and base64url; zlib, gzip and raw deflate
//! ([`compress`], bounded output); the signed layouts of itsdangerous, Django signing,
//! Rack/Rails and express ([`signed`]), and the parts of any other signed shape. Formats:
//! JSON, JWT, `key=value` fields, PHP `serialize` ([`php`]), Java serialization ([`java`]),
//! Ruby Marshal ([`marshal`]), MessagePack and CBOR ([`binary`]), and readable text.
//!
//! The search is bounded: at most [`MAX_LAYERS`] layers deep, [`MAX_STEPS`] decode attempts
//! and [`MAX_DECODINGS`] results per value, inputs over [`MAX_INPUT_BYTES`] are not unwrapped,
//! and every decoder bounds its own nodes and nesting. Everything here is pure and must never
//! panic: the values come from servers that may be hostile. What a decoding *means* (is it
//! readable session state?) is the judge's business (`session_id`).

mod binary;
pub mod compress;
mod java;
mod marshal;
mod node;
mod php;
mod reader;
mod signed;
mod text;

use serde::Serialize;

pub use node::{MAX_SKETCH_CHARS, Node, UserMatch};
pub use text::is_identifier;

use compress::Container;
use text::Base64Kind;

/// Deepest chain of layers the search follows (a percent-encoded, signed, base64,
/// compressed payload is 4 layers before its format).
pub const MAX_LAYERS: usize = 6;

/// Most decode attempts for one value.
pub const MAX_STEPS: usize = 256;

/// Most decodings [`decodings`] returns for one value.
pub const MAX_DECODINGS: usize = 32;

/// Longest text or byte string the search unwraps further (a cookie value is at most 4 KiB;
/// inflated payloads are cut at [`compress::MAX_INFLATED`]).
pub const MAX_INPUT_BYTES: usize = 64 * 1024;

/// Most inflated bytes in total for one value.
const MAX_INFLATED_TOTAL: usize = 4 * compress::MAX_INFLATED;

/// One layer a value was unwrapped through, or the format it ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Layer {
    /// `%XX` escapes.
    Percent,
    /// Standard base64 (`+`, `/`, `=`).
    Base64,
    /// URL-safe base64 (`-`, `_`, no padding).
    Base64url,
    /// Hexadecimal text.
    Hex,
    /// A zlib stream.
    Zlib,
    /// A gzip member.
    Gzip,
    /// A raw deflate stream.
    Deflate,
    /// itsdangerous (Flask) `payload.timestamp.signature`.
    Itsdangerous,
    /// Django signing `payload:timestamp:signature`.
    DjangoSigning,
    /// Rack / Rails cookie store `data--digest`.
    RackSigned,
    /// express `s:value.signature`.
    ExpressSigned,
    /// One part of another signed shape (split at `.`, `:`, `|` or `--`).
    SignedPart,
    /// A JWT (header and payload).
    Jwt,
    /// A JSON object or array.
    Json,
    /// `key=value` fields.
    Fields,
    /// PHP `serialize`.
    PhpSerialize,
    /// Java serialization.
    JavaSerialization,
    /// Ruby Marshal.
    RubyMarshal,
    /// MessagePack.
    Msgpack,
    /// CBOR.
    Cbor,
    /// Readable text.
    Text,
}

impl Layer {
    /// The layer's name in reports, e.g. `php-serialize`.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Percent => "percent",
            Layer::Base64 => "base64",
            Layer::Base64url => "base64url",
            Layer::Hex => "hex",
            Layer::Zlib => "zlib",
            Layer::Gzip => "gzip",
            Layer::Deflate => "deflate",
            Layer::Itsdangerous => "itsdangerous",
            Layer::DjangoSigning => "django-signing",
            Layer::RackSigned => "rack-signed",
            Layer::ExpressSigned => "express-signed",
            Layer::SignedPart => "signed-part",
            Layer::Jwt => "jwt",
            Layer::Json => "json",
            Layer::Fields => "fields",
            Layer::PhpSerialize => "php-serialize",
            Layer::JavaSerialization => "java-serialization",
            Layer::RubyMarshal => "ruby-marshal",
            Layer::Msgpack => "msgpack",
            Layer::Cbor => "cbor",
            Layer::Text => "text",
        }
    }

    /// Whether the layer hides its content from a casual look (an encoding or compression),
    /// unlike percent-escapes and signatures, which leave it in plain sight.
    pub fn is_encoding(self) -> bool {
        matches!(
            self,
            Layer::Base64
                | Layer::Base64url
                | Layer::Hex
                | Layer::Zlib
                | Layer::Gzip
                | Layer::Deflate
        )
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One structure a value decodes to, with the layers that led to it; the last layer is the
/// format ([`Layer::Json`], [`Layer::PhpSerialize`], …, or [`Layer::Text`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The layers, outermost first, e.g. `[Percent, Base64, PhpSerialize]`.
    pub layers: Vec<Layer>,
    /// What the innermost layer holds.
    pub node: Node,
}

impl Decoded {
    /// The layers joined by ` → `, e.g. `percent → base64 → php-serialize`.
    pub fn chain(&self) -> String {
        let names: Vec<&str> = self.layers.iter().map(|l| l.name()).collect();
        names.join(" → ")
    }
}

/// Every structure `value` decodes to, in search order, at most [`MAX_DECODINGS`]: the value
/// itself as text first, then each format found while unwrapping it (a value in quotes is
/// unquoted first). Never panics; bounded in time and memory whatever the input.
pub fn decodings(value: &str) -> Vec<Decoded> {
    let unquoted = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let mut search = Search {
        chain: Vec::new(),
        out: Vec::new(),
        steps: 0,
        inflated: 0,
    };
    search.text(unquoted);
    search.out
}

/// The state of one search.
struct Search {
    chain: Vec<Layer>,
    out: Vec<Decoded>,
    steps: usize,
    inflated: usize,
}

impl Search {
    /// Whether the search may try one more decoder here.
    fn step(&mut self) -> bool {
        self.steps += 1;
        self.steps <= MAX_STEPS && self.out.len() < MAX_DECODINGS
    }

    fn found(&mut self, format: Layer, node: Node) {
        if self.out.len() < MAX_DECODINGS {
            let mut layers = self.chain.clone();
            layers.push(format);
            self.out.push(Decoded { layers, node });
        }
    }

    /// Unwraps one more layer: runs `f` with `layer` on the chain, unless the chain is full.
    fn within(&mut self, layer: Layer, f: impl FnOnce(&mut Search)) {
        if self.chain.len() < MAX_LAYERS && self.step() {
            self.chain.push(layer);
            f(self);
            self.chain.pop();
        }
    }

    fn text(&mut self, s: &str) {
        self.found(Layer::Text, Node::Text(s.to_owned()));
        if s.len() > MAX_INPUT_BYTES || !self.step() {
            return;
        }
        if let Some(node) = text::jwt(s) {
            return self.found(Layer::Jwt, node);
        }
        if let Some(node) = text::json(s) {
            return self.found(Layer::Json, node);
        }
        if let Some(node) = php::decode(s.as_bytes()) {
            return self.found(Layer::PhpSerialize, node);
        }
        if let Some(bytes) = text::percent_decode(s) {
            return self.within(Layer::Percent, |me| me.bytes(&bytes));
        }
        if let Some(node) = text::fields(s) {
            self.found(Layer::Fields, node);
        }
        let layout = signed::layout(s);
        if let Some(found) = layout {
            self.within(found.layout, |me| {
                if found.compressed {
                    me.compressed_payload(found.payload);
                } else {
                    me.encoded(found.payload);
                }
            });
        }
        self.encoded(s);
        if layout.is_none() {
            for part in signed::parts(s) {
                self.within(Layer::SignedPart, |me| me.encoded(part));
            }
        }
    }

    /// Text that may be hex, base64 or base64url: its bytes, unwrapped further.
    fn encoded(&mut self, s: &str) {
        if !self.step() {
            return;
        }
        if let Some(bytes) = text::hex_decode(s) {
            self.within(Layer::Hex, |me| me.bytes(&bytes));
        }
        if let Some((kind, bytes)) = text::base64_decode(s) {
            let layer = match kind {
                Base64Kind::Standard => Layer::Base64,
                Base64Kind::Url => Layer::Base64url,
            };
            self.within(layer, |me| me.bytes(&bytes));
        }
    }

    /// A payload a signed layout marks compressed: base64url of zlib (or raw deflate).
    fn compressed_payload(&mut self, s: &str) {
        let Some((_, bytes)) = text::base64_decode(s) else {
            return;
        };
        self.within(Layer::Base64url, |me| {
            if compress::looks_like_zlib(&bytes) {
                me.inflate(&bytes, Container::Zlib, Layer::Zlib);
            } else {
                me.inflate(&bytes, Container::Deflate, Layer::Deflate);
            }
        });
    }

    fn inflate(&mut self, bytes: &[u8], container: Container, layer: Layer) {
        if self.inflated >= MAX_INFLATED_TOTAL || !self.step() {
            return;
        }
        if let Some(out) = compress::inflate(bytes, container) {
            self.inflated += out.len();
            self.within(layer, |me| me.bytes(&out));
        }
    }

    fn bytes(&mut self, b: &[u8]) {
        if b.len() > MAX_INPUT_BYTES || !self.step() {
            return;
        }
        if compress::looks_like_gzip(b) {
            return self.inflate(b, Container::Gzip, Layer::Gzip);
        }
        if compress::looks_like_zlib(b) {
            self.inflate(b, Container::Zlib, Layer::Zlib);
        }
        // Each decoder checks its own magic (`ac ed 00 05`, `04 08`).
        if let Some(node) = java::decode(b) {
            return self.found(Layer::JavaSerialization, node);
        }
        if let Some(node) = marshal::decode(b) {
            return self.found(Layer::RubyMarshal, node);
        }
        if let Some(node) = binary::msgpack(b) {
            self.found(Layer::Msgpack, node);
        }
        if let Some(node) = binary::cbor(b) {
            self.found(Layer::Cbor, node);
        }
        if let Ok(s) = std::str::from_utf8(b) {
            self.text(s);
        }
    }
}

/// Whether decoded bytes are readable text (UTF-8, at least 6 characters, at least 90 %
/// printable).
pub fn is_readable_text(s: &str) -> bool {
    text::is_readable_text(s)
}

#[cfg(test)]
mod tests;
