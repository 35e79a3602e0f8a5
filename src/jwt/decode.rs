//! Lossless decoding of the JWS compact serialisation (RFC 7515 §7.1), as an auditor reads it.
//!
//! Owns splitting a token, lenient base64url (padding, the standard alphabet, whitespace and
//! non-canonical trailing bits are accepted *and reported*), parsing the header and payload with
//! duplicate-member detection, nested JWTs (`cty: JWT`), recognising (not decrypting) JWE, and
//! the header and claim anomalies a person auditing a service wants to see.
//!
//! It must not verify or forge signatures, fetch keys (`jku`/`x5u` are only reported), read
//! clocks, do I/O or panic: tokens come from hostile servers. Work is bounded by
//! [`MAX_TOKEN_LEN`] and [`MAX_NESTING`].

mod json;

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

pub(crate) use json::parse_json;

/// Tokens longer than this many bytes are refused with [`DecodeErrorKind::TooLarge`].
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// How many JWTs may be nested inside the outer one (`cty: JWT`) before
/// [`DecodeErrorKind::TooDeep`].
pub const MAX_NESTING: usize = 4;

/// URL-safe alphabet, no padding, trailing bits tolerated (we report them ourselves).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// A decoded JWS in compact serialisation, with everything odd about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Jws {
    /// The exact input, surrounding whitespace included (reported as an anomaly).
    pub raw: String,
    /// The first segment exactly as received.
    pub header_b64: String,
    /// The second segment exactly as received.
    pub payload_b64: String,
    /// The third segment exactly as received.
    pub signature_b64: String,
    /// The JOSE header; always a JSON object. With duplicate members the last one wins.
    pub header: Map<String, Value>,
    /// The decoded header text, e.g. `{"alg":"HS256","typ":"JWT"}`.
    pub header_json: String,
    /// The decoded payload.
    pub payload: Payload,
    /// The decoded signature bytes (serialised as base64url).
    #[serde(serialize_with = "serialize_b64url")]
    pub signature: Vec<u8>,
    /// Everything odd about the token, in the order found.
    pub anomalies: Vec<Anomaly>,
    /// The inner token when the header says `cty: JWT` and the payload is a compact JWS.
    pub nested: Option<Box<Jws>>,
}

impl Jws {
    /// The `alg` header member when it is a string.
    pub fn alg(&self) -> Option<&str> {
        self.header_str("alg")
    }

    /// The `kid` header member when it is a string.
    pub fn kid(&self) -> Option<&str> {
        self.header_str("kid")
    }

    /// The `typ` header member when it is a string.
    pub fn typ(&self) -> Option<&str> {
        self.header_str("typ")
    }

    fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// The claims: the payload when it is a JSON object.
    pub fn claims(&self) -> Option<&Map<String, Value>> {
        match &self.payload {
            Payload::Json(Value::Object(map)) => Some(map),
            _ => None,
        }
    }

    /// The JWS signing input: `header_b64 + "." + payload_b64`, the exact raw segments.
    pub fn signing_input(&self) -> String {
        let mut s = String::with_capacity(self.header_b64.len() + 1 + self.payload_b64.len());
        s.push_str(&self.header_b64);
        s.push('.');
        s.push_str(&self.payload_b64);
        s
    }

    /// A numeric claim such as `exp`, `iat` or `nbf` as whole seconds.
    ///
    /// Integers and finite floats (truncated toward zero) are accepted; strings are not, even
    /// when they hold digits (the decoder reports them as [`AnomalyKind::NumericDateNotNumber`]).
    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        self.claims()?
            .get(name)
            .and_then(super::claims::numeric_date)
    }

    /// The decoded payload bytes, exactly as the signer saw them (re-read from
    /// [`Jws::payload_b64`]).
    pub fn payload_bytes(&self) -> Vec<u8> {
        lenient_b64(
            self.payload_b64.trim_matches(is_ws),
            Segment::Payload,
            &mut Vec::new(),
        )
        .unwrap_or_default()
    }

    /// The innermost token: `self` unless a nested JWT was decoded.
    pub fn innermost(&self) -> &Jws {
        let mut jws = self;
        while let Some(inner) = &jws.nested {
            jws = inner;
        }
        jws
    }
}

/// The payload of a JWS.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    /// Valid JSON of any type (a JWT's claims are an object).
    Json(Value),
    /// UTF-8 text that is not JSON (also the payload of a nested JWT).
    Text(String),
    /// Bytes that are not UTF-8 (serialised as base64url).
    Bytes(#[serde(serialize_with = "serialize_b64url")] Vec<u8>),
}

/// Which part of the token an anomaly or error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// The JOSE header (first segment).
    Header,
    /// The payload (second segment).
    Payload,
    /// The signature (third segment).
    Signature,
    /// The token as a whole.
    Token,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Segment::Header => "header",
            Segment::Payload => "payload",
            Segment::Signature => "signature",
            Segment::Token => "token",
        })
    }
}

/// Something odd about a token that did not stop it from being decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// What kind of oddity.
    pub kind: AnomalyKind,
    /// Which part of the token.
    pub segment: Segment,
    /// A lowercase, human-readable explanation.
    pub message: String,
}

/// The kinds of [`Anomaly`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// Whitespace before or after the token; the raw segments keep it.
    SurroundingWhitespace,
    /// Whitespace inside a base64url segment (skipped when decoding).
    WhitespaceInSegment,
    /// `=` padding, which base64url in JOSE must omit.
    Base64Padding,
    /// `+` or `/` from the standard base64 alphabet instead of `-` or `_`.
    StandardBase64Alphabet,
    /// Non-zero unused bits in the last character: another spelling of the same bytes.
    NonCanonicalBase64,
    /// A JSON object repeats a member name; the last value wins (as in most libraries).
    DuplicateMember,
    /// The payload is not UTF-8 (kept as bytes).
    PayloadNotUtf8,
    /// The payload is UTF-8 but not JSON (kept as text).
    PayloadNotJson,
    /// The payload is JSON but not an object, so it holds no claims.
    PayloadNotObject,
    /// The header has no `alg` member.
    MissingAlg,
    /// The header's `alg` member is not a string.
    AlgNotString,
    /// `alg` is `none` in some casing: the token claims to be unsecured.
    NoneAlgorithm,
    /// The header has `crit`: the verifier must understand the listed extensions or reject.
    CritHeader,
    /// The header embeds a key (`jwk`) or certificate chain (`x5c`) an attacker could supply.
    EmbeddedKey,
    /// The header points to a key URL (`jku`, `x5u`) a verifier might fetch.
    KeyUrl,
    /// `kid` holds path or quoting characters (`/`, `\`, `..`, quotes, NUL) or is not a string.
    SuspiciousKid,
    /// `typ` is neither `JWT` nor `at+jwt` (informational).
    UnusualTyp,
    /// The signature segment is empty.
    EmptySignature,
    /// `exp`, `iat` or `nbf` is not a JSON number (e.g. a string).
    NumericDateNotNumber,
    /// `exp`, `iat` or `nbf` is a number but not an integer in range.
    NumericDateNotInteger,
    /// The header says `cty: JWT` but the payload is not a compact JWS.
    NestedNotJws,
}

/// Why a token could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    /// What went wrong.
    pub kind: DecodeErrorKind,
    /// A lowercase, human-readable explanation (never the whole token).
    pub message: String,
}

/// The kinds of [`DecodeError`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DecodeErrorKind {
    /// The input is empty or only whitespace.
    Empty,
    /// The input is longer than [`MAX_TOKEN_LEN`] bytes.
    TooLarge,
    /// The input does not have three (JWS) or five (JWE) dot-separated parts.
    NotCompact,
    /// Five parts: a JWE, which is encrypted; recognised and reported, not decrypted.
    Jwe,
    /// A segment is not base64url even leniently read.
    BadBase64 {
        /// The segment that failed.
        segment: Segment,
    },
    /// The header is not UTF-8 JSON.
    HeaderNotJson,
    /// The header is JSON but not an object.
    HeaderNotObject,
    /// JWTs nested (`cty: JWT`) deeper than [`MAX_NESTING`].
    TooDeep,
}

impl DecodeError {
    fn new(kind: DecodeErrorKind, message: impl Into<String>) -> Self {
        DecodeError {
            kind,
            message: message.into(),
        }
    }
}

/// Canonical base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `b64url(header).b64url(payload).b64url(signature)`: a compact JWS from its parts.
pub fn encode_compact(header_json: &str, payload_json: &str, signature: &[u8]) -> String {
    let mut s = b64url(header_json.as_bytes());
    s.push('.');
    s.push_str(&b64url(payload_json.as_bytes()));
    s.push('.');
    s.push_str(&b64url(signature));
    s
}

fn serialize_b64url<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&b64url(bytes))
}

/// Decodes a compact JWS (`header.payload.signature`) without verifying anything.
///
/// Oddities that a lenient reader can get past become [`Anomaly`]s; the rest are a typed
/// [`DecodeError`]. A five-part token is a JWE and gives [`DecodeErrorKind::Jwe`].
pub fn decode(token: &str) -> Result<Jws, DecodeError> {
    decode_at(token, 0)
}

fn is_ws(c: char) -> bool {
    c.is_ascii_whitespace()
}

fn decode_at(token: &str, depth: usize) -> Result<Jws, DecodeError> {
    let (inner, mut anomalies) = compact_form(token)?;
    // Trimming never removes a dot, so both splits line up part for part.
    let mut raw_parts = token.splitn(3, '.');
    let mut parts = inner.splitn(3, '.');
    let mut next = || (raw_parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (header_b64, header_seg) = next();
    let (payload_b64, payload_seg) = next();
    let (signature_b64, signature_seg) = next();

    let (header, header_json) = decode_header(header_seg, &mut anomalies)?;
    let payload_bytes = lenient_b64(payload_seg, Segment::Payload, &mut anomalies)?;
    let (payload, nested) =
        decode_payload(payload_bytes, says_nested(&header), depth, &mut anomalies)?;
    let signature = lenient_b64(signature_seg, Segment::Signature, &mut anomalies)?;
    if signature.is_empty() {
        anomalies.push(Anomaly {
            kind: AnomalyKind::EmptySignature,
            segment: Segment::Signature,
            message: "signature is empty".into(),
        });
    }

    Ok(Jws {
        raw: token.to_owned(),
        header_b64: header_b64.to_owned(),
        payload_b64: payload_b64.to_owned(),
        signature_b64: signature_b64.to_owned(),
        header,
        header_json,
        payload,
        signature,
        anomalies,
        nested,
    })
}

/// The token without surrounding whitespace (an anomaly when there was some), once it is
/// known to be small enough, not empty and in three parts (five: a JWE).
fn compact_form(token: &str) -> Result<(&str, Vec<Anomaly>), DecodeError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(DecodeError::new(
            DecodeErrorKind::TooLarge,
            format!(
                "token is {} bytes, more than the {MAX_TOKEN_LEN} this decoder reads",
                token.len()
            ),
        ));
    }
    let inner = token.trim_matches(is_ws);
    if inner.is_empty() {
        return Err(DecodeError::new(DecodeErrorKind::Empty, "token is empty"));
    }
    let mut anomalies = Vec::new();
    if inner.len() != token.len() {
        anomalies.push(Anomaly {
            kind: AnomalyKind::SurroundingWhitespace,
            segment: Segment::Token,
            message: "whitespace around the token".into(),
        });
    }
    match inner.bytes().filter(|&b| b == b'.').count() {
        2 => Ok((inner, anomalies)),
        4 => Err(jwe_error(inner)),
        n => Err(DecodeError::new(
            DecodeErrorKind::NotCompact,
            format!(
                "{} dot-separated parts; a compact jws has 3 and a jwe 5",
                n.saturating_add(1)
            ),
        )),
    }
}

/// The header segment: base64url, UTF-8, a JSON object; its duplicates and odd members
/// become anomalies. Returns the object and its text.
fn decode_header(
    seg: &str,
    anomalies: &mut Vec<Anomaly>,
) -> Result<(Map<String, Value>, String), DecodeError> {
    let header_bytes = lenient_b64(seg, Segment::Header, anomalies)?;
    let header_json = String::from_utf8(header_bytes).map_err(|e| {
        DecodeError::new(
            DecodeErrorKind::HeaderNotJson,
            format!(
                "header is not utf-8 (invalid byte at {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    let (header_value, dups) = parse_json(&header_json).map_err(|e| {
        DecodeError::new(
            DecodeErrorKind::HeaderNotJson,
            format!("header is not json: {e}"),
        )
    })?;
    let header = match header_value {
        Value::Object(map) => map,
        other => {
            return Err(DecodeError::new(
                DecodeErrorKind::HeaderNotObject,
                format!("header is a json {}, not an object", json_type(&other)),
            ));
        }
    };
    push_duplicates(&dups, Segment::Header, anomalies);
    check_header(&header, anomalies);
    Ok((header, header_json))
}

/// True when the header's `cty` says the payload is a JWT.
fn says_nested(header: &Map<String, Value>) -> bool {
    header
        .get("cty")
        .and_then(Value::as_str)
        .is_some_and(|c| c.eq_ignore_ascii_case("jwt") || c.eq_ignore_ascii_case("application/jwt"))
}

/// The decoded payload bytes as a [`Payload`], and the nested token when `is_nested` and the
/// payload is one. Nesting deeper than [`MAX_NESTING`] is an error; a payload that is not
/// the promised JWS is an anomaly.
fn decode_payload(
    bytes: Vec<u8>,
    is_nested: bool,
    depth: usize,
    anomalies: &mut Vec<Anomaly>,
) -> Result<(Payload, Option<Box<Jws>>), DecodeError> {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            anomalies.push(Anomaly {
                kind: AnomalyKind::PayloadNotUtf8,
                segment: Segment::Payload,
                message: format!(
                    "payload is not utf-8 (invalid byte at {})",
                    e.utf8_error().valid_up_to()
                ),
            });
            return Ok((Payload::Bytes(e.into_bytes()), None));
        }
    };
    if is_nested {
        if depth >= MAX_NESTING {
            return Err(DecodeError::new(
                DecodeErrorKind::TooDeep,
                format!("more than {MAX_NESTING} nested jwts"),
            ));
        }
        match decode_at(&text, depth + 1) {
            Ok(inner) => return Ok((Payload::Text(text), Some(Box::new(inner)))),
            Err(e) if e.kind == DecodeErrorKind::TooDeep => return Err(e),
            Err(e) => anomalies.push(Anomaly {
                kind: AnomalyKind::NestedNotJws,
                segment: Segment::Payload,
                message: format!("cty says jwt but the payload is not a compact jws: {e}"),
            }),
        }
    }
    Ok((text_payload(text, anomalies), None))
}

/// A UTF-8 payload: JSON (claims are checked) or, failing that, text.
fn text_payload(text: String, anomalies: &mut Vec<Anomaly>) -> Payload {
    match parse_json(&text) {
        Ok((value, dups)) => {
            push_duplicates(&dups, Segment::Payload, anomalies);
            match &value {
                Value::Object(claims) => check_claims(claims, anomalies),
                other => anomalies.push(Anomaly {
                    kind: AnomalyKind::PayloadNotObject,
                    segment: Segment::Payload,
                    message: format!(
                        "payload is a json {}, not an object of claims",
                        json_type(other)
                    ),
                }),
            }
            Payload::Json(value)
        }
        Err(e) => {
            anomalies.push(Anomaly {
                kind: AnomalyKind::PayloadNotJson,
                segment: Segment::Payload,
                message: format!("payload is text, not json: {e}"),
            });
            Payload::Text(text)
        }
    }
}

/// The error for a five-part token, naming `alg`/`enc` when the JWE header is readable.
fn jwe_error(inner: &str) -> DecodeError {
    let first = inner.split('.').next().unwrap_or("");
    let header = lenient_b64(first, Segment::Header, &mut Vec::new())
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let message = match header {
        Some(Value::Object(h)) => {
            let member = |name: &str| {
                h.get(name)
                    .and_then(Value::as_str)
                    .map_or_else(|| "?".to_owned(), |s| shorten(s, 40))
            };
            format!(
                "five-part token is a jwe (alg {}, enc {}): encrypted, not signed; \
                 its claims cannot be read without the key",
                member("alg"),
                member("enc")
            )
        }
        _ => "five-part token looks like a jwe, but its header is not readable".into(),
    };
    DecodeError::new(DecodeErrorKind::Jwe, message)
}

/// Value of a base64url character (either alphabet), or `None`.
fn b64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'-' | b'+' => Some(62),
        b'_' | b'/' => Some(63),
        _ => None,
    }
}

/// Decodes one segment leniently, pushing an anomaly for each kind of deviation found.
pub(crate) fn lenient_b64(
    seg: &str,
    segment: Segment,
    anomalies: &mut Vec<Anomaly>,
) -> Result<Vec<u8>, DecodeError> {
    let bad = |message: String| DecodeError::new(DecodeErrorKind::BadBase64 { segment }, message);
    let scan = scan_b64(seg, segment)?;
    let rem = scan.clean.len() % 4;
    if rem == 1 {
        return Err(bad(format!(
            "{segment} has {} base64 characters; one too many or too few to be bytes",
            scan.clean.len()
        )));
    }
    report_b64_deviations(&scan, segment, anomalies);
    LENIENT
        .decode(&scan.clean)
        .map_err(|e| bad(format!("{segment} is not base64url: {e}")))
}

/// A segment's base64url characters (standard-alphabet ones translated) and what was
/// skipped or translated on the way.
struct B64Scan {
    /// The base64url characters, in order.
    clean: Vec<u8>,
    /// `=` characters at the end.
    padding: usize,
    /// Whether `+` or `/` appeared.
    standard: bool,
    /// Whether whitespace appeared.
    whitespace: bool,
}

/// Reads a segment character by character; a character that is neither base64 (either
/// alphabet), padding nor whitespace, or data after padding, is an error.
fn scan_b64(seg: &str, segment: Segment) -> Result<B64Scan, DecodeError> {
    let bad = |message: String| DecodeError::new(DecodeErrorKind::BadBase64 { segment }, message);
    let mut scan = B64Scan {
        clean: Vec::with_capacity(seg.len()),
        padding: 0,
        standard: false,
        whitespace: false,
    };
    for (i, &b) in seg.as_bytes().iter().enumerate() {
        match b {
            b'=' => scan.padding += 1,
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => scan.whitespace = true,
            _ if b64_value(b).is_some() => {
                if scan.padding > 0 {
                    return Err(bad(format!(
                        "{segment} has data after '=' padding at byte {i}"
                    )));
                }
                match b {
                    b'+' => {
                        scan.standard = true;
                        scan.clean.push(b'-');
                    }
                    b'/' => {
                        scan.standard = true;
                        scan.clean.push(b'_');
                    }
                    _ => scan.clean.push(b),
                }
            }
            _ => {
                let what = if b.is_ascii_graphic() {
                    format!("'{}'", b as char)
                } else {
                    format!("byte 0x{b:02x}")
                };
                return Err(bad(format!(
                    "{segment} has {what} at byte {i}, which is not base64url"
                )));
            }
        }
    }
    Ok(scan)
}

/// One anomaly per kind of deviation in a scanned segment: whitespace, the standard
/// alphabet, padding, non-zero unused bits in the last character.
fn report_b64_deviations(scan: &B64Scan, segment: Segment, anomalies: &mut Vec<Anomaly>) {
    let mut push = |kind, message: String| {
        anomalies.push(Anomaly {
            kind,
            segment,
            message,
        })
    };
    if scan.whitespace {
        push(
            AnomalyKind::WhitespaceInSegment,
            format!("whitespace inside the {segment}"),
        );
    }
    if scan.standard {
        push(
            AnomalyKind::StandardBase64Alphabet,
            format!("{segment} uses '+' or '/' from the standard base64 alphabet"),
        );
    }
    let rem = scan.clean.len() % 4;
    let padding = scan.padding;
    if padding > 0 {
        let expected = (4 - rem) % 4;
        let note = if padding == expected {
            String::new()
        } else {
            format!(" (canonical padding would be {expected})")
        };
        push(
            AnomalyKind::Base64Padding,
            format!("{segment} has {padding} '=' padding character(s){note}"),
        );
    }
    let unused_bits_mask = match rem {
        2 => 0x0f,
        3 => 0x03,
        _ => 0,
    };
    if let Some(&last) = scan.clean.last()
        && b64_value(last).unwrap_or(0) & unused_bits_mask != 0
    {
        push(
            AnomalyKind::NonCanonicalBase64,
            format!(
                "{segment} ends in '{}' with non-zero unused bits: a second spelling of the same bytes",
                last as char
            ),
        );
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// At most `max` characters of `s`, with `…` when cut, debug-escaped for messages.
fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{:?}…", &s[..i]),
        None => format!("{s:?}"),
    }
}

fn push_duplicates(dups: &[String], segment: Segment, anomalies: &mut Vec<Anomaly>) {
    for pointer in dups {
        anomalies.push(Anomaly {
            kind: AnomalyKind::DuplicateMember,
            segment,
            message: format!("{segment} repeats member {pointer}; the last value wins"),
        });
    }
}

/// A header anomaly.
fn header_anomaly(kind: AnomalyKind, message: String) -> Anomaly {
    Anomaly {
        kind,
        segment: Segment::Header,
        message,
    }
}

/// The header members an auditor looks at: `alg`, `crit`, embedded keys and key URLs,
/// `kid`, `typ`.
pub(crate) fn check_header(header: &Map<String, Value>, anomalies: &mut Vec<Anomaly>) {
    anomalies.extend(alg_anomaly(header.get("alg")));
    anomalies.extend(key_source_anomalies(header));
    anomalies.extend(kid_anomaly(header.get("kid")));
    anomalies.extend(typ_anomaly(header.get("typ")));
}

/// `alg` missing, not a string, or `none` in any casing.
fn alg_anomaly(alg: Option<&Value>) -> Option<Anomaly> {
    match alg {
        None => Some(header_anomaly(
            AnomalyKind::MissingAlg,
            "header has no alg".into(),
        )),
        Some(Value::String(alg)) if alg.eq_ignore_ascii_case("none") => {
            let casing = if alg == "none" {
                String::new()
            } else {
                format!(" (spelled {alg:?})")
            };
            Some(header_anomaly(
                AnomalyKind::NoneAlgorithm,
                format!("alg is none{casing}: the token claims to be unsecured"),
            ))
        }
        Some(Value::String(_)) => None,
        Some(other) => Some(header_anomaly(
            AnomalyKind::AlgNotString,
            format!("alg is a json {}, not a string", json_type(other)),
        )),
    }
}

/// `crit`, embedded keys (`jwk`, `x5c`) and key URLs (`jku`, `x5u`), in that order.
fn key_source_anomalies(header: &Map<String, Value>) -> Vec<Anomaly> {
    let mut out = Vec::new();
    if header.contains_key("crit") {
        out.push(header_anomaly(
            AnomalyKind::CritHeader,
            "header has crit: verifiers that do not understand the listed members must reject"
                .into(),
        ));
    }
    for name in ["jwk", "x5c"] {
        if header.contains_key(name) {
            out.push(header_anomaly(
                AnomalyKind::EmbeddedKey,
                format!("header embeds {name}: a verifier trusting it accepts attacker keys"),
            ));
        }
    }
    for name in ["jku", "x5u"] {
        if let Some(v) = header.get(name) {
            let url = v
                .as_str()
                .map_or_else(|| json_type(v).to_owned(), |s| shorten(s, 80));
            out.push(header_anomaly(
                AnomalyKind::KeyUrl,
                format!("header points to keys at {name} {url}: a verifier may fetch it"),
            ));
        }
    }
    out
}

/// A `kid` that is not a string or holds path, quote or NUL characters.
fn kid_anomaly(kid: Option<&Value>) -> Option<Anomaly> {
    match kid? {
        Value::String(kid) => {
            let suspicious = kid.contains('/')
                || kid.contains('\\')
                || kid.contains("..")
                || kid.contains('"')
                || kid.contains('\'')
                || kid.contains('\0');
            suspicious.then(|| {
                header_anomaly(
                    AnomalyKind::SuspiciousKid,
                    format!(
                        "kid {} holds path, quote or nul characters",
                        shorten(kid, 60)
                    ),
                )
            })
        }
        other => Some(header_anomaly(
            AnomalyKind::SuspiciousKid,
            format!("kid is a json {}, not a string", json_type(other)),
        )),
    }
}

/// A `typ` that is not a string, or neither `JWT` nor `at+jwt` (with or without
/// `application/`).
fn typ_anomaly(typ: Option<&Value>) -> Option<Anomaly> {
    match typ? {
        Value::String(typ) => {
            let media = typ
                .get(..12)
                .filter(|p| p.eq_ignore_ascii_case("application/"))
                .map_or(typ.as_str(), |_| &typ[12..]);
            (!media.eq_ignore_ascii_case("jwt") && !media.eq_ignore_ascii_case("at+jwt")).then(
                || {
                    header_anomaly(
                        AnomalyKind::UnusualTyp,
                        format!("typ is {}, not JWT or at+jwt", shorten(typ, 40)),
                    )
                },
            )
        }
        other => Some(header_anomaly(
            AnomalyKind::UnusualTyp,
            format!("typ is a json {}, not a string", json_type(other)),
        )),
    }
}

fn check_claims(claims: &Map<String, Value>, anomalies: &mut Vec<Anomaly>) {
    for name in ["exp", "iat", "nbf"] {
        let Some(value) = claims.get(name) else {
            continue;
        };
        let problem = match value {
            Value::Number(n) if n.is_i64() => None,
            Value::Number(n) if n.is_u64() => Some((
                AnomalyKind::NumericDateNotInteger,
                format!("{name} is {n}, beyond the 64-bit range"),
            )),
            Value::Number(n) => Some((
                AnomalyKind::NumericDateNotInteger,
                format!("{name} is {n}, not an integer"),
            )),
            other => Some((
                AnomalyKind::NumericDateNotNumber,
                format!(
                    "{name} is a json {}, not a number of seconds",
                    json_type(other)
                ),
            )),
        };
        if let Some((kind, message)) = problem {
            anomalies.push(Anomaly {
                kind,
                segment: Segment::Payload,
                message,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A1: &str = include_str!("../../tests/data/jwt/a1.jwt");
    const A2: &str = include_str!("../../tests/data/jwt/a2.jwt");
    const A3: &str = include_str!("../../tests/data/jwt/a3.jwt");
    const A4: &str = include_str!("../../tests/data/jwt/a4.jwt");
    const A5: &str = include_str!("../../tests/data/jwt/a5.jwt");
    const R41: &str = include_str!("../../tests/data/jwt/r41.jwt");
    const R44: &str = include_str!("../../tests/data/jwt/r44.jwt");
    const JWE: &str = include_str!("../../tests/data/jwt/jwe.jwt");

    const RFC7515_CLAIMS: &str =
        "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
    const RFC7520_PAYLOAD: &str = "It\u{2019}s a dangerous business, Frodo, going out your door. \
        You step onto the road, and if you don't keep your feet, there\u{2019}s no knowing where \
        you might be swept off to.";

    fn kinds(jws: &Jws) -> Vec<AnomalyKind> {
        jws.anomalies.iter().map(|a| a.kind).collect()
    }

    fn has(jws: &Jws, kind: AnomalyKind, segment: Segment) -> bool {
        jws.anomalies
            .iter()
            .any(|a| a.kind == kind && a.segment == segment)
    }

    fn token(header: &str, payload: &str) -> String {
        encode_compact(header, payload, b"sig")
    }

    fn err(token: &str) -> DecodeErrorKind {
        decode(token).unwrap_err().kind
    }

    /// decode → encode_compact of the decoded parts gives the input back.
    fn assert_round_trip(jws: &Jws) {
        let payload = String::from_utf8(jws.payload_bytes()).unwrap();
        assert_eq!(
            encode_compact(&jws.header_json, &payload, &jws.signature),
            jws.raw
        );
    }

    fn assert_rfc7515_claims(jws: &Jws) {
        let claims = jws.claims().unwrap();
        assert_eq!(claims["iss"], "joe");
        assert_eq!(jws.claim_i64("exp"), Some(1_300_819_380));
        assert_eq!(claims["http://example.com/is_root"], true);
        assert_eq!(jws.payload_bytes(), RFC7515_CLAIMS.as_bytes());
    }

    #[test]
    fn rfc7515_a1_hs256_example() {
        let jws = decode(A1).unwrap();
        assert_eq!(jws.alg(), Some("HS256"));
        assert_eq!(jws.typ(), Some("JWT"));
        assert_eq!(jws.header_json, "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
        assert_rfc7515_claims(&jws);
        assert_eq!(jws.signature.len(), 32);
        assert_eq!(kinds(&jws), vec![]);
        assert_eq!(jws.signing_input(), A1.rsplit_once('.').unwrap().0);
        assert_round_trip(&jws);
    }

    #[test]
    fn rfc7515_a2_rs256_example() {
        let jws = decode(A2).unwrap();
        assert_eq!(jws.alg(), Some("RS256"));
        assert_rfc7515_claims(&jws);
        assert_eq!(jws.signature.len(), 256);
        assert_eq!(kinds(&jws), vec![]);
        assert_round_trip(&jws);
    }

    #[test]
    fn rfc7515_a3_es256_example() {
        let jws = decode(A3).unwrap();
        assert_eq!(jws.alg(), Some("ES256"));
        assert_rfc7515_claims(&jws);
        assert_eq!(jws.signature.len(), 64);
        assert_round_trip(&jws);
    }

    #[test]
    fn rfc7515_a4_es512_example_has_a_text_payload() {
        let jws = decode(A4).unwrap();
        assert_eq!(jws.alg(), Some("ES512"));
        assert_eq!(jws.payload, Payload::Text("Payload".into()));
        assert_eq!(jws.claims(), None);
        assert_eq!(jws.signature.len(), 132);
        assert_eq!(kinds(&jws), vec![AnomalyKind::PayloadNotJson]);
        assert_round_trip(&jws);
    }

    #[test]
    fn rfc7515_a5_unsecured_example_is_flagged() {
        let jws = decode(A5).unwrap();
        assert_eq!(jws.alg(), Some("none"));
        assert_rfc7515_claims(&jws);
        assert!(jws.signature.is_empty());
        assert_eq!(
            kinds(&jws),
            vec![AnomalyKind::NoneAlgorithm, AnomalyKind::EmptySignature]
        );
        assert_round_trip(&jws);
    }

    #[test]
    fn rfc7520_4_1_rs256_example() {
        let jws = decode(R41).unwrap();
        assert_eq!(jws.alg(), Some("RS256"));
        assert_eq!(jws.kid(), Some("bilbo.baggins@hobbiton.example"));
        assert_eq!(jws.payload, Payload::Text(RFC7520_PAYLOAD.into()));
        assert_eq!(jws.signature.len(), 256);
        assert_eq!(kinds(&jws), vec![AnomalyKind::PayloadNotJson]);
        assert_round_trip(&jws);
    }

    #[test]
    fn rfc7520_4_4_hs256_example() {
        let jws = decode(R44).unwrap();
        assert_eq!(jws.alg(), Some("HS256"));
        assert_eq!(jws.kid(), Some("018c0ae5-4d9b-471b-bfd6-eef314bc7037"));
        assert_eq!(jws.payload, Payload::Text(RFC7520_PAYLOAD.into()));
        assert_eq!(jws.signature.len(), 32);
        assert_round_trip(&jws);
    }

    #[test]
    fn rfc7516_a1_jwe_is_recognised_not_misparsed() {
        let e = decode(JWE).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::Jwe);
        assert!(e.message.contains("RSA-OAEP"), "{}", e.message);
        assert!(e.message.contains("A256GCM"), "{}", e.message);
        assert_eq!(err("!!.a.b.c.d"), DecodeErrorKind::Jwe);
    }

    #[test]
    fn token_made_by_jsonwebtoken_decodes_to_its_claims() {
        let claims = json!({"sub": "alice", "exp": 2_000_000_000u32, "roles": ["a", "b"]});
        let made = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS384),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"testbed secret"),
        )
        .unwrap();
        let jws = decode(&made).unwrap();
        assert_eq!(jws.alg(), Some("HS384"));
        assert_eq!(jws.typ(), Some("JWT"));
        assert_eq!(jws.payload, Payload::Json(claims));
        assert_eq!(jws.signature.len(), 48);
        assert_eq!(kinds(&jws), vec![]);
        assert_round_trip(&jws);
    }

    #[test]
    fn errors_are_typed() {
        use DecodeErrorKind as K;
        assert_eq!(err(""), K::Empty);
        assert_eq!(err(" \n\t"), K::Empty);
        assert_eq!(err(&"a".repeat(MAX_TOKEN_LEN + 1)), K::TooLarge);
        assert_eq!(err("abc"), K::NotCompact);
        assert_eq!(err("a.b"), K::NotCompact);
        assert_eq!(err("a.b.c.d"), K::NotCompact);
        assert_eq!(err("a.b.c.d.e.f"), K::NotCompact);
        let hdr = b64url(br#"{"alg":"HS256"}"#);
        let bad = |segment| K::BadBase64 { segment };
        assert_eq!(err("e!J.e30.AA"), bad(Segment::Header));
        assert_eq!(err(&format!("{hdr}.e30*.AA")), bad(Segment::Payload));
        assert_eq!(err(&format!("{hdr}.e30.A")), bad(Segment::Signature));
        assert_eq!(err(&format!("{hdr}.e30.AA=A")), bad(Segment::Signature));
        assert_eq!(err(&format!("{hdr}.e30.AA\u{e9}")), bad(Segment::Signature));
        assert_eq!(err(&token("not json", "{}")), K::HeaderNotJson);
        assert_eq!(err(&token("{\"alg\":\"HS256\"", "{}")), K::HeaderNotJson);
        assert_eq!(
            err(&format!("{}.e30.AA", b64url(b"{\"a\":\"\xff\"}"))),
            K::HeaderNotJson
        );
        assert_eq!(err(&token("[\"alg\"]", "{}")), K::HeaderNotObject);
        assert_eq!(err(&token("\"HS256\"", "{}")), K::HeaderNotObject);
    }

    #[test]
    fn error_messages_are_lowercase_and_never_echo_the_token() {
        let secret_token = format!("{}.{}.A", b64url(b"{\"alg\":\"HS256\"}"), b64url(b"{}"));
        let e = decode(&secret_token).unwrap_err();
        assert!(!e.message.contains(&secret_token));
        assert!(e.message.starts_with("signature"), "{}", e.message);
    }

    #[test]
    fn surrounding_whitespace_is_kept_and_reported() {
        let raw = format!(" {A1}\r\n");
        let jws = decode(&raw).unwrap();
        assert_eq!(jws.raw, raw);
        assert!(jws.header_b64.starts_with(' '));
        assert!(jws.signature_b64.ends_with("\r\n"));
        assert_eq!(jws.alg(), Some("HS256"));
        assert_eq!(kinds(&jws), vec![AnomalyKind::SurroundingWhitespace]);
        assert!(has(
            &jws,
            AnomalyKind::SurroundingWhitespace,
            Segment::Token
        ));
    }

    #[test]
    fn whitespace_inside_a_segment_is_skipped_and_reported() {
        let (head, sig) = A1.rsplit_once('.').unwrap();
        let jws = decode(&format!("{head}.{} {}", &sig[..10], &sig[10..])).unwrap();
        assert_eq!(jws.signature, decode(A1).unwrap().signature);
        assert_eq!(kinds(&jws), vec![AnomalyKind::WhitespaceInSegment]);
        assert!(has(
            &jws,
            AnomalyKind::WhitespaceInSegment,
            Segment::Signature
        ));
    }

    #[test]
    fn padding_is_accepted_and_reported() {
        let jws = decode(&format!("{A1}=")).unwrap();
        assert_eq!(jws.signature.len(), 32);
        assert_eq!(kinds(&jws), vec![AnomalyKind::Base64Padding]);
        // Padding in the middle of the token (header of 15 bytes needs one '=').
        let h = b64url(br#"{"alg":"HS256"}"#);
        let jws = decode(&format!("{h}==.e30.AA")).unwrap();
        assert!(has(&jws, AnomalyKind::Base64Padding, Segment::Header));
        assert!(
            jws.anomalies[0]
                .message
                .contains("canonical padding would be 0")
        );
    }

    #[test]
    fn standard_alphabet_is_accepted_and_reported() {
        let std = A1.replace('-', "+").replace('_', "/");
        let jws = decode(&std).unwrap();
        assert_eq!(jws.signature, decode(A1).unwrap().signature);
        assert_eq!(kinds(&jws), vec![AnomalyKind::StandardBase64Alphabet]);
        assert!(has(
            &jws,
            AnomalyKind::StandardBase64Alphabet,
            Segment::Signature
        ));
    }

    #[test]
    fn non_canonical_trailing_bits_are_accepted_and_reported() {
        // 43 characters leave 2 unused bits; 'k' has them zero, 'l' does not.
        assert!(A1.ends_with('k'));
        let jws = decode(&format!("{}l", &A1[..A1.len() - 1])).unwrap();
        assert_eq!(jws.signature, decode(A1).unwrap().signature);
        assert_eq!(kinds(&jws), vec![AnomalyKind::NonCanonicalBase64]);
        // Two-character remainder: 4 unused bits ("AB" decodes like "AA").
        let jws = decode(&token(r#"{"alg":"HS256"}"#, "{}").replace(".c2ln", ".c2lnAB")).unwrap();
        assert!(has(
            &jws,
            AnomalyKind::NonCanonicalBase64,
            Segment::Signature
        ));
    }

    #[test]
    fn duplicate_members_are_reported_and_the_last_wins() {
        let jws = decode(&token(
            r#"{"alg":"HS256","alg":"none"}"#,
            r#"{"sub":"a","sub":"b","x":{"y/z":1,"y/z":2},"l":[{"q":1,"q":2}]}"#,
        ))
        .unwrap();
        assert_eq!(jws.alg(), Some("none"));
        assert_eq!(jws.claims().unwrap()["sub"], "b");
        let dups: Vec<(Segment, &str)> = jws
            .anomalies
            .iter()
            .filter(|a| a.kind == AnomalyKind::DuplicateMember)
            .map(|a| (a.segment, a.message.as_str()))
            .collect();
        assert_eq!(dups.len(), 4, "{dups:?}");
        assert!(dups[0].1.contains("/alg") && dups[0].0 == Segment::Header);
        assert!(dups.iter().any(|d| d.1.contains("/sub")));
        assert!(dups.iter().any(|d| d.1.contains("/x/y~1z")));
        assert!(dups.iter().any(|d| d.1.contains("/l/0/q")));
    }

    #[test]
    fn payload_kinds_are_kept_and_reported() {
        let h = b64url(br#"{"alg":"HS256"}"#);
        let jws = decode(&format!("{h}.{}.AA", b64url(&[0xff, 0xfe, 0]))).unwrap();
        assert_eq!(jws.payload, Payload::Bytes(vec![0xff, 0xfe, 0]));
        assert_eq!(kinds(&jws), vec![AnomalyKind::PayloadNotUtf8]);

        let jws = decode(&token(r#"{"alg":"HS256"}"#, "[1,2]")).unwrap();
        assert_eq!(jws.payload, Payload::Json(json!([1, 2])));
        assert_eq!(jws.claims(), None);
        assert_eq!(kinds(&jws), vec![AnomalyKind::PayloadNotObject]);

        let jws = decode(&token(r#"{"alg":"HS256"}"#, "hello")).unwrap();
        assert_eq!(jws.payload, Payload::Text("hello".into()));
        assert_eq!(kinds(&jws), vec![AnomalyKind::PayloadNotJson]);
    }

    #[test]
    fn alg_problems_are_reported() {
        let k = |h: &str| kinds(&decode(&token(h, "{}")).unwrap());
        assert_eq!(k(r#"{"typ":"JWT"}"#), vec![AnomalyKind::MissingAlg]);
        assert_eq!(k(r#"{"alg":256}"#), vec![AnomalyKind::AlgNotString]);
        assert_eq!(k(r#"{"alg":null}"#), vec![AnomalyKind::AlgNotString]);
        for none in ["none", "None", "NONE", "nOnE"] {
            let jws = decode(&token(&format!(r#"{{"alg":"{none}"}}"#), "{}")).unwrap();
            assert_eq!(kinds(&jws), vec![AnomalyKind::NoneAlgorithm], "{none}");
            assert_eq!(jws.alg(), Some(none));
        }
        assert_eq!(k(r#"{"alg":"nonE ","typ":"JWT"}"#), vec![]);
    }

    #[test]
    fn crit_and_key_smuggling_members_are_reported() {
        let k = |h: &str| kinds(&decode(&token(h, "{}")).unwrap());
        assert_eq!(
            k(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#),
            vec![AnomalyKind::CritHeader]
        );
        assert_eq!(
            k(r#"{"alg":"RS256","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"},"x5c":["MIIB"]}"#),
            vec![AnomalyKind::EmbeddedKey, AnomalyKind::EmbeddedKey]
        );
        let jws = decode(&token(
            r#"{"alg":"RS256","jku":"https://attacker.example/jwks.json","x5u":7}"#,
            "{}",
        ))
        .unwrap();
        assert_eq!(kinds(&jws), vec![AnomalyKind::KeyUrl, AnomalyKind::KeyUrl]);
        assert!(jws.anomalies[0].message.contains("attacker.example"));
    }

    #[test]
    fn suspicious_kids_are_reported() {
        for kid in [
            r#""../../dev/null""#,
            r#""keys/1""#,
            r#""a\\b""#,
            r#""' OR '1'='1""#,
            r#""a\"b""#,
            r#""k\u0000""#,
            "5",
            "null",
        ] {
            let jws = decode(&token(&format!(r#"{{"alg":"HS256","kid":{kid}}}"#), "{}")).unwrap();
            assert_eq!(kinds(&jws), vec![AnomalyKind::SuspiciousKid], "{kid}");
        }
        let jws = decode(&token(r#"{"alg":"HS256","kid":"2024-05.rsa_k1"}"#, "{}")).unwrap();
        assert_eq!(kinds(&jws), vec![]);
    }

    #[test]
    fn unusual_typ_is_reported() {
        for ok in [
            "JWT",
            "jwt",
            "at+jwt",
            "application/at+jwt",
            "application/JWT",
        ] {
            let jws = decode(&token(&format!(r#"{{"alg":"HS256","typ":"{ok}"}}"#), "{}")).unwrap();
            assert_eq!(kinds(&jws), vec![], "{ok}");
        }
        for odd in [r#""JOSE""#, r#""dpop+jwt""#, r#""""#, "1", r#""é""#] {
            let jws = decode(&token(&format!(r#"{{"alg":"HS256","typ":{odd}}}"#), "{}")).unwrap();
            assert_eq!(kinds(&jws), vec![AnomalyKind::UnusualTyp], "{odd}");
        }
    }

    #[test]
    fn empty_signature_is_reported() {
        let jws = decode(&format!("{}.e30.", b64url(br#"{"alg":"HS256"}"#))).unwrap();
        assert_eq!(kinds(&jws), vec![AnomalyKind::EmptySignature]);
        assert!(has(&jws, AnomalyKind::EmptySignature, Segment::Signature));
    }

    #[test]
    fn numeric_dates_that_are_not_integers_are_reported() {
        let jws = decode(&token(
            r#"{"alg":"HS256"}"#,
            r#"{"exp":"1700000000","iat":1.5,"nbf":18446744073709551615}"#,
        ))
        .unwrap();
        assert_eq!(
            kinds(&jws),
            vec![
                AnomalyKind::NumericDateNotNumber,
                AnomalyKind::NumericDateNotInteger,
                AnomalyKind::NumericDateNotInteger,
            ]
        );
        assert_eq!(jws.claim_i64("exp"), None);
        assert_eq!(jws.claim_i64("iat"), Some(1));
        assert_eq!(jws.claim_i64("nbf"), None);
        let jws = decode(&token(r#"{"alg":"HS256"}"#, r#"{"exp":true,"iat":-5}"#)).unwrap();
        assert_eq!(kinds(&jws), vec![AnomalyKind::NumericDateNotNumber]);
        assert_eq!(jws.claim_i64("iat"), Some(-5));
    }

    fn nest(levels: usize) -> String {
        let mut t = token(r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"sub":"inner"}"#);
        for i in 0..levels {
            let cty = if i % 2 == 0 { "JWT" } else { "jwt" };
            t = token(&format!(r#"{{"alg":"RS256","cty":"{cty}"}}"#), &t);
        }
        t
    }

    #[test]
    fn nested_jwts_are_decoded_up_to_the_limit() {
        let jws = decode(&nest(1)).unwrap();
        let inner = jws.nested.as_deref().unwrap();
        assert_eq!(jws.alg(), Some("RS256"));
        assert_eq!(inner.alg(), Some("HS256"));
        assert_eq!(inner.claims().unwrap()["sub"], "inner");
        assert!(matches!(jws.payload, Payload::Text(_)));
        assert_eq!(kinds(&jws), vec![]);

        let deepest = decode(&nest(MAX_NESTING)).unwrap();
        assert_eq!(deepest.innermost().claims().unwrap()["sub"], "inner");
        assert_eq!(err(&nest(MAX_NESTING + 1)), DecodeErrorKind::TooDeep);
    }

    #[test]
    fn cty_jwt_without_a_jws_inside_is_reported() {
        let jws = decode(&token(r#"{"alg":"HS256","cty":"JWT"}"#, "hello")).unwrap();
        assert_eq!(jws.nested, None);
        assert_eq!(
            kinds(&jws),
            vec![AnomalyKind::NestedNotJws, AnomalyKind::PayloadNotJson]
        );
        // Claims under a misused cty are still read.
        let jws = decode(&token(r#"{"alg":"HS256","cty":"JWT"}"#, r#"{"sub":"a"}"#)).unwrap();
        assert_eq!(kinds(&jws), vec![AnomalyKind::NestedNotJws]);
        assert_eq!(jws.claims().unwrap()["sub"], "a");
        let jws = decode(&token(r#"{"alg":"HS256","cty":"JWT"}"#, JWE)).unwrap();
        assert!(jws.anomalies[0].message.contains("jwe"));
    }

    #[test]
    fn serialises_for_reports() {
        let v = serde_json::to_value(decode(A5).unwrap()).unwrap();
        assert_eq!(v["payload"]["json"]["iss"], "joe");
        assert_eq!(v["signature"], "");
        assert_eq!(v["anomalies"][0]["kind"], "none_algorithm");
        assert_eq!(v["anomalies"][0]["segment"], "header");
        let v = serde_json::to_value(
            decode(&format!(
                "{}.{}.AQI",
                b64url(br#"{"alg":"HS256"}"#),
                b64url(&[0xff])
            ))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["payload"]["bytes"], "_w");
        assert_eq!(v["signature"], "AQI");
        let e = serde_json::to_value(DecodeErrorKind::BadBase64 {
            segment: Segment::Payload,
        })
        .unwrap();
        assert_eq!(e, json!({"kind": "bad_base64", "segment": "payload"}));
    }

    #[test]
    fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
        let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(err(&token(&deep, "{}")), DecodeErrorKind::HeaderNotJson);
        let jws = decode(&token(r#"{"alg":"HS256"}"#, &deep)).unwrap();
        assert_eq!(kinds(&jws), vec![AnomalyKind::PayloadNotJson]);
    }

    #[test]
    fn a_token_at_the_size_limit_decodes() {
        let filler = "x".repeat(40_000);
        let t = token(r#"{"alg":"HS256"}"#, &format!(r#"{{"pad":"{filler}"}}"#));
        assert!(t.len() < MAX_TOKEN_LEN);
        assert_eq!(
            decode(&t).unwrap().claims().unwrap()["pad"],
            filler.as_str()
        );
        let too_big = token(r#"{"alg":"HS256"}"#, &"y".repeat(50_000));
        assert_eq!(err(&too_big), DecodeErrorKind::TooLarge);
    }

    /// Deterministic xorshift so failures reproduce; the seed is in the assertion message.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn check_invariants(input: &str, seed: u64) {
        if let Ok(jws) = decode(input) {
            assert_eq!(jws.raw, input, "seed {seed}");
            let (signing_input, _) = input.rsplit_once('.').unwrap();
            assert_eq!(jws.signing_input(), signing_input, "seed {seed}");
        }
    }

    #[test]
    fn never_panics_on_random_bytes_or_dot_joined_garbage() {
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= .\t\n\"{}[]:,\\\0";
        let fragments = [
            "{",
            "}",
            "\"alg\"",
            ":",
            "\"none\"",
            ",",
            "\"cty\"",
            "\"JWT\"",
            "[",
            "]",
            "\"exp\"",
            "1e999",
            "-0",
            "\"\\ud800\"",
            "\"kid\"",
            "\"..\"",
            "null",
            "{\"a\":",
            "\u{2019}",
        ];
        for seed in 1..=4000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let input = match seed % 4 {
                0 => {
                    let bytes: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                1 => (0..rng.below(200))
                    .map(|_| ALPHABET[rng.below(ALPHABET.len())] as char)
                    .collect(),
                2 => {
                    let part = |rng: &mut Rng| -> String {
                        let json: String = (0..rng.below(12))
                            .map(|_| fragments[rng.below(fragments.len())])
                            .collect();
                        b64url(json.as_bytes())
                    };
                    let n = [3, 3, 3, 5, 2, 4][rng.below(6)];
                    (0..n).map(|_| part(&mut rng)).collect::<Vec<_>>().join(".")
                }
                _ => {
                    let mut bytes = nest(rng.below(6)).into_bytes();
                    for _ in 0..=rng.below(4) {
                        let i = rng.below(bytes.len());
                        bytes[i] = ALPHABET[rng.below(ALPHABET.len())];
                    }
                    String::from_utf8_lossy(&bytes).into_owned()
                }
            };
            check_invariants(&input, seed);
        }
    }

    /// Throughput on a realistic 302-byte ES256 access token. Run with
    /// `cargo test --release --lib jwt::decode::tests::decode_throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "measurement, not a check"]
    fn decode_throughput() {
        let header = r#"{"alg":"ES256","typ":"JWT","kid":"k1"}"#;
        let payload = r#"{"iss":"https://auth.example.com","sub":"248289761001","aud":"api","exp":1716239022,"iat":1716235422,"jti":"9f1c2b7e4c1d"}"#;
        let t = encode_compact(header, payload, &[0x5a; 64]);
        let n = 200_000u32;
        let start = std::time::Instant::now();
        let mut anomalies = 0usize;
        for _ in 0..n {
            anomalies += decode(std::hint::black_box(&t)).unwrap().anomalies.len();
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(anomalies, 0);
        println!(
            "{}-byte token: {n} decodes in {secs:.3}s = {:.0} tokens/s",
            t.len(),
            f64::from(n) / secs
        );
    }
}
