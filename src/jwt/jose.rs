//! The JOSE serialisations `inspect jwt` reads, beyond the plain compact JWS of
//! [`decode`](super::decode): the general and flattened JWS JSON serialisations (RFC 7515
//! §7.2), detached payloads (RFC 7515 Appendix F), unencoded payloads (`b64: false`,
//! RFC 7797), and JWE (RFC 7516, compact or JSON) recognised and described — never decrypted.
//!
//! Each signature of a message becomes a [`Signature`]: a decoded [`Jws`] whose header is the
//! joint header (protected ∪ unprotected), the protected and unprotected halves, and the exact
//! signing input. What a verifier must refuse in the structure (a member in both halves, a
//! detached payload nobody supplied) is carried as a [`Refusal`]; judging `crit` and keys is
//! [`strict`](super::strict)'s. No I/O, no verification, no panic; bounded by
//! [`MAX_TOKEN_LEN`] and [`MAX_SIGNATURES`].

use serde::Serialize;
use serde_json::{Map, Value};

use super::decode::{
    AnomalyKind, DecodeError, DecodeErrorKind, Jws, MAX_TOKEN_LEN, Payload, Segment, b64url,
    check_header, decode, lenient_b64,
};
use super::strict::{Refusal, RefusalKind};

/// At most this many signatures (or JWE recipients) are read from a JSON message.
pub const MAX_SIGNATURES: usize = 64;

/// How the message was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Serialization {
    /// `header.payload.signature` (JWS) or five dot-separated parts (JWE).
    Compact,
    /// JSON with a `signatures` (JWS) or `recipients` (JWE) array (RFC 7515 §7.2.1).
    JsonGeneral,
    /// JSON with one signature's (or recipient's) members at the top level (RFC 7515 §7.2.2).
    JsonFlattened,
}

/// Where the payload came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadSource {
    /// In the message.
    Attached,
    /// Detached (RFC 7515 Appendix F) and supplied separately (`--payload`).
    DetachedSupplied,
    /// Detached and not supplied: nothing can be verified.
    DetachedMissing,
}

/// One signature of a JWS message.
#[derive(Debug, Clone)]
pub struct Signature {
    /// The decoded token; its `header` is the joint header (protected ∪ unprotected) and its
    /// `header_b64` the protected header exactly as received.
    pub jws: Jws,
    /// The integrity-protected header.
    pub protected: Map<String, Value>,
    /// The unprotected header (JSON serialisations only).
    pub unprotected: Map<String, Value>,
    /// The exact bytes the signature is over.
    pub signing_input: Vec<u8>,
    /// The payload is used unencoded (`b64: false`, RFC 7797).
    pub unencoded: bool,
    /// What in the structure a verifier must refuse.
    pub problem: Option<Refusal>,
}

impl Signature {
    /// A compact token decoded by [`decode`]: its header is all protected.
    pub fn compact(jws: Jws) -> Signature {
        Signature {
            protected: jws.header.clone(),
            unprotected: Map::new(),
            signing_input: jws.signing_input().into_bytes(),
            unencoded: false,
            problem: None,
            jws,
        }
    }
}

/// A JWS message: its serialisation, payload source and signatures (at least one).
#[derive(Debug, Clone)]
pub struct Message {
    /// How it was written.
    pub serialization: Serialization,
    /// Where its payload came from.
    pub payload: PayloadSource,
    /// Its signatures, in order.
    pub signatures: Vec<Signature>,
}

/// A JWE described: its headers and what is worrying about its algorithms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JweDescription {
    /// How it was written.
    pub serialization: Serialization,
    /// The header shared by all recipients (protected ∪ shared unprotected).
    pub header: Map<String, Value>,
    /// The key management algorithm of each recipient (`alg`; one for the compact form).
    pub algorithms: Vec<String>,
    /// The content encryption algorithm (`enc`).
    pub enc: Option<String>,
    /// The `kid` of each recipient that names one.
    pub kids: Vec<String>,
    /// The compression (`zip`), if any.
    pub zip: Option<String>,
    /// What is worrying, in words.
    pub warnings: Vec<JweWarning>,
}

/// Something worrying about a JWE's algorithms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JweWarning {
    /// What kind.
    pub kind: JweWarningKind,
    /// Why, in one sentence.
    pub message: String,
}

/// The kinds of [`JweWarning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JweWarningKind {
    /// `alg: RSA1_5`: RSAES-PKCS1-v1_5, open to Bleichenbacher's padding-oracle attack.
    Rsa1_5,
    /// `alg: dir`: the content key is a long-lived shared secret.
    DirectKey,
    /// `alg` or `enc` missing, `none`, or not registered for JWE.
    NotEncrypted,
    /// `zip`: compression before encryption leaks the plaintext's length.
    Compressed,
}

/// What `inspect jwt` was given.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// A signed message.
    Jws(Message),
    /// An encrypted one.
    Jwe(JweDescription),
}

fn error(kind: DecodeErrorKind, message: impl Into<String>) -> DecodeError {
    DecodeError {
        kind,
        message: message.into(),
    }
}

/// Reads a JOSE message in any serialisation; `detached` is the payload supplied for a
/// detached one (its bytes as the signer saw them, before any base64url).
pub fn parse(input: &str, detached: Option<&[u8]>) -> Result<Parsed, DecodeError> {
    if input.len() > MAX_TOKEN_LEN {
        return Err(error(
            DecodeErrorKind::TooLarge,
            format!(
                "the input is {} bytes, more than the {MAX_TOKEN_LEN} this decoder reads",
                input.len()
            ),
        ));
    }
    let trimmed = input.trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.starts_with('{') {
        return parse_json_message(trimmed, detached);
    }
    match trimmed.bytes().filter(|&b| b == b'.').count() {
        4 => describe_compact_jwe(trimmed).map(Parsed::Jwe),
        2 => parse_compact(input, trimmed, detached).map(Parsed::Jws),
        // decode() gives the error for other shapes.
        _ => decode(input).map(|jws| Parsed::Jws(one_compact(jws))),
    }
}

fn one_compact(jws: Jws) -> Message {
    Message {
        serialization: Serialization::Compact,
        payload: PayloadSource::Attached,
        signatures: vec![Signature::compact(jws)],
    }
}

/// The decoded header of a segment, if it is readable (for a first look at `b64`).
fn peek_header(seg: &str) -> Option<Map<String, Value>> {
    let bytes = lenient_b64(seg, Segment::Header, &mut Vec::new()).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// `b64: false` in the protected header.
fn unencoded(protected: &Map<String, Value>) -> bool {
    protected.get("b64") == Some(&Value::Bool(false))
}

/// A compact JWS: attached (decoded as it is), detached (`header..signature`) or unencoded.
fn parse_compact(
    input: &str,
    trimmed: &str,
    detached: Option<&[u8]>,
) -> Result<Message, DecodeError> {
    let mut parts = trimmed.splitn(3, '.');
    let (h, p, s) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let raw = peek_header(h).is_some_and(|ph| unencoded(&ph));
    if !p.is_empty() && !raw {
        return decode(input).map(one_compact);
    }
    let (payload, source) = match (p.is_empty(), detached) {
        (false, _) => (Some(p.as_bytes()), PayloadSource::Attached),
        (true, Some(bytes)) => (Some(bytes), PayloadSource::DetachedSupplied),
        (true, None) => (None, PayloadSource::DetachedMissing),
    };
    let signature = signature_over(h, Map::new(), payload, raw, s)?;
    Ok(Message {
        serialization: Serialization::Compact,
        payload: source,
        signatures: vec![signature],
    })
}

/// One signature over `payload` (the signer's payload bytes, or `None` when detached and
/// missing; for an encoded payload attached in a JSON message, its base64url text): the
/// protected header `h` (base64url, may be empty), the unprotected header and the signature
/// `s` (base64url).
fn signature_over(
    h: &str,
    unprotected: Map<String, Value>,
    payload: Option<&[u8]>,
    raw: bool,
    s: &str,
) -> Result<Signature, DecodeError> {
    // The payload segment decode() reads: canonical base64url of the payload bytes.
    let payload_seg = payload.map(b64url).unwrap_or_default();
    let header_seg = if h.is_empty() { "e30" } else { h };
    let mut jws = decode(&format!("{header_seg}.{payload_seg}.{s}"))?;
    let protected = if h.is_empty() {
        Map::new()
    } else {
        jws.header.clone()
    };
    let mut signing_input = h.as_bytes().to_vec();
    signing_input.push(b'.');
    match payload {
        Some(bytes) if raw => signing_input.extend_from_slice(bytes),
        Some(_) => signing_input.extend_from_slice(payload_seg.as_bytes()),
        None => {}
    }
    let mut problem = None;
    if payload.is_none() {
        jws.anomalies.retain(|a| a.segment != Segment::Payload);
        jws.payload = Payload::Text(String::new());
        problem = Some(Refusal {
            kind: RefusalKind::DetachedPayload,
            reason: "the payload is detached (RFC 7515 Appendix F) and was not supplied: give it with --payload FILE".into(),
        });
    }
    if let Some(name) = unprotected.keys().find(|k| protected.contains_key(*k)) {
        problem = Some(Refusal {
            kind: RefusalKind::DuplicateHeaderMember,
            reason: format!(
                "the member {name:?} is in both the protected and the unprotected header: RFC 7515 §7.2.1 says they must be disjoint"
            ),
        });
    }
    if !unprotected.is_empty() || h.is_empty() {
        // Header anomalies are judged on the joint header.
        jws.anomalies.retain(|a| {
            a.segment != Segment::Header
                || matches!(
                    a.kind,
                    AnomalyKind::WhitespaceInSegment
                        | AnomalyKind::Base64Padding
                        | AnomalyKind::StandardBase64Alphabet
                        | AnomalyKind::NonCanonicalBase64
                        | AnomalyKind::DuplicateMember
                )
        });
        let mut joint = protected.clone();
        joint.extend(unprotected.clone());
        check_header(&joint, &mut jws.anomalies);
        jws.header = joint;
    }
    jws.header_b64 = h.to_owned();
    if h.is_empty() {
        jws.header_json = String::new();
    }
    jws.payload_b64 = match payload {
        Some(bytes) if raw => String::from_utf8_lossy(bytes).into_owned(),
        Some(_) => payload_seg,
        None => String::new(),
    };
    Ok(Signature {
        jws,
        protected,
        unprotected,
        signing_input,
        unencoded: raw,
        problem,
    })
}

fn member<'a>(o: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, DecodeError> {
    match o.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(error(
            DecodeErrorKind::NotCompact,
            format!("the json serialization's {name:?} member is not a string"),
        )),
    }
}

fn object_member(o: &Map<String, Value>, name: &str) -> Result<Map<String, Value>, DecodeError> {
    match o.get(name) {
        None => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(error(
            DecodeErrorKind::HeaderNotObject,
            format!("the json serialization's {name:?} member is not an object"),
        )),
    }
}

/// A JWS or JWE in a JSON serialisation.
fn parse_json_message(text: &str, detached: Option<&[u8]>) -> Result<Parsed, DecodeError> {
    let doc: Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            return Err(error(
                DecodeErrorKind::NotCompact,
                "the input starts with { but is not a json object",
            ));
        }
        Err(e) => {
            return Err(error(
                DecodeErrorKind::NotCompact,
                format!("the input starts with {{ but is not a json serialization: {e}"),
            ));
        }
    };
    if doc.contains_key("ciphertext") {
        return describe_json_jwe(&doc).map(Parsed::Jwe);
    }
    let (entries, serialization) = match (doc.get("signatures"), doc.contains_key("signature")) {
        (Some(_), true) => {
            return Err(error(
                DecodeErrorKind::NotCompact,
                "the json serialization has both \"signatures\" and \"signature\"",
            ));
        }
        (Some(Value::Array(list)), false) => {
            let objects: Option<Vec<&Map<String, Value>>> =
                list.iter().map(Value::as_object).collect();
            match objects {
                Some(o) if !o.is_empty() && o.len() <= MAX_SIGNATURES => {
                    (o, Serialization::JsonGeneral)
                }
                _ => {
                    return Err(error(
                        DecodeErrorKind::NotCompact,
                        format!("\"signatures\" must be an array of 1 to {MAX_SIGNATURES} objects"),
                    ));
                }
            }
        }
        (None, true) => (vec![&doc], Serialization::JsonFlattened),
        _ => {
            return Err(error(
                DecodeErrorKind::NotCompact,
                "a json object with neither \"signatures\", \"signature\" nor \"ciphertext\": not a jws or jwe json serialization",
            ));
        }
    };
    let payload = member(&doc, "payload")?;
    let source = match (payload, detached) {
        (Some(_), _) => PayloadSource::Attached,
        (None, Some(_)) => PayloadSource::DetachedSupplied,
        (None, None) => PayloadSource::DetachedMissing,
    };
    let mut signatures = Vec::with_capacity(entries.len());
    for entry in entries {
        let h = member(entry, "protected")?.unwrap_or("");
        let s = member(entry, "signature")?.ok_or_else(|| {
            error(
                DecodeErrorKind::NotCompact,
                "a signature object has no \"signature\" member",
            )
        })?;
        let unprotected = object_member(entry, "header")?;
        let raw = peek_header(h).is_some_and(|p| unencoded(&p));
        // An encoded attached payload is its base64url text; the decoder reads it as is.
        let bytes: Option<Vec<u8>> = match (payload, detached) {
            (Some(p), _) if raw => Some(p.as_bytes().to_vec()),
            (Some(p), _) => Some(lenient_b64(p, Segment::Payload, &mut Vec::new())?),
            (None, Some(d)) => Some(d.to_vec()),
            (None, None) => None,
        };
        let mut sig = signature_over(h, unprotected, bytes.as_deref(), raw, s)?;
        if let (Some(p), false) = (payload, raw) {
            // Keep the attached segment as written: its spelling is what was signed.
            sig.signing_input.truncate(h.len() + 1);
            sig.signing_input.extend_from_slice(p.as_bytes());
            sig.jws.payload_b64 = p.to_owned();
            reencode_anomalies(&mut sig.jws, h, p, s);
        }
        signatures.push(sig);
    }
    Ok(Parsed::Jws(Message {
        serialization,
        payload: source,
        signatures,
    }))
}

/// The payload's encoding anomalies as written (not as re-encoded for decoding).
fn reencode_anomalies(jws: &mut Jws, h: &str, p: &str, s: &str) {
    let header_seg = if h.is_empty() { "e30" } else { h };
    if let Ok(as_written) = decode(&format!("{header_seg}.{p}.{s}")) {
        jws.anomalies.retain(|a| a.segment != Segment::Payload);
        jws.anomalies.extend(
            as_written
                .anomalies
                .into_iter()
                .filter(|a| a.segment == Segment::Payload),
        );
    }
}

/// A compact JWE: its protected header, described.
fn describe_compact_jwe(trimmed: &str) -> Result<JweDescription, DecodeError> {
    let first = trimmed.split('.').next().unwrap_or("");
    let header = peek_header(first).ok_or_else(|| {
        error(
            DecodeErrorKind::Jwe,
            "five-part token looks like a jwe, but its protected header is not a readable json object",
        )
    })?;
    Ok(describe(Serialization::Compact, header, vec![Map::new()]))
}

/// A JSON JWE: the shared header and each recipient's.
fn describe_json_jwe(doc: &Map<String, Value>) -> Result<JweDescription, DecodeError> {
    let mut header = match member(doc, "protected")? {
        Some(p) => peek_header(p).ok_or_else(|| {
            error(
                DecodeErrorKind::Jwe,
                "the jwe's protected header is not a readable json object",
            )
        })?,
        None => Map::new(),
    };
    header.extend(object_member(doc, "unprotected")?);
    let (recipients, serialization) = match doc.get("recipients") {
        Some(Value::Array(list)) if !list.is_empty() && list.len() <= MAX_SIGNATURES => {
            let headers = list
                .iter()
                .map(|r| match r {
                    Value::Object(o) => object_member(o, "header"),
                    _ => Err(error(
                        DecodeErrorKind::Jwe,
                        "a jwe recipient is not an object",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            (headers, Serialization::JsonGeneral)
        }
        Some(_) => {
            return Err(error(
                DecodeErrorKind::Jwe,
                format!("\"recipients\" must be an array of 1 to {MAX_SIGNATURES} objects"),
            ));
        }
        None => (
            vec![object_member(doc, "header")?],
            Serialization::JsonFlattened,
        ),
    };
    Ok(describe(serialization, header, recipients))
}

/// The description of a JWE with this shared header and these per-recipient headers.
fn describe(
    serialization: Serialization,
    header: Map<String, Value>,
    recipients: Vec<Map<String, Value>>,
) -> JweDescription {
    let text = |m: &Map<String, Value>, name: &str| {
        m.get(name)
            .or_else(|| header.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let algorithms: Vec<String> = recipients
        .iter()
        .map(|r| text(r, "alg").unwrap_or_default())
        .collect();
    let kids = recipients.iter().filter_map(|r| text(r, "kid")).collect();
    let enc = text(&Map::new(), "enc");
    let zip = text(&Map::new(), "zip");
    let mut warnings = Vec::new();
    let mut warn = |kind, message: String| warnings.push(JweWarning { kind, message });
    for alg in &algorithms {
        match alg.as_str() {
            "RSA1_5" => warn(
                JweWarningKind::Rsa1_5,
                "alg RSA1_5 is RSAES-PKCS1-v1_5, open to Bleichenbacher's padding-oracle attack: a service that decrypts it can be made to decrypt for an attacker (RFC 8725 §3.2; use RSA-OAEP or ECDH-ES)".into(),
            ),
            "dir" => warn(
                JweWarningKind::DirectKey,
                "alg dir encrypts the content directly with a long-lived shared symmetric key: every holder of that key can read and create tokens, and nothing limits how much is encrypted under it".into(),
            ),
            a if a.is_empty() || a.eq_ignore_ascii_case("none") => warn(
                JweWarningKind::NotEncrypted,
                format!("alg is {a:?}: no key management algorithm, so the content may not be protected at all (RFC 7516 §4.1.1 requires one)"),
            ),
            _ => {}
        }
    }
    match enc.as_deref() {
        None | Some("") => warn(
            JweWarningKind::NotEncrypted,
            "the jwe has no enc: no content encryption algorithm (RFC 7516 §4.1.2 requires one)"
                .into(),
        ),
        Some(e) if e.eq_ignore_ascii_case("none") => warn(
            JweWarningKind::NotEncrypted,
            "enc is none: the content is not encrypted".into(),
        ),
        _ => {}
    }
    if let Some(z) = &zip {
        warn(
            JweWarningKind::Compressed,
            format!(
                "zip {z}: the content is compressed before encryption, so the ciphertext's length leaks what it holds (RFC 8725 §3.6)"
            ),
        );
    }
    JweDescription {
        serialization,
        header,
        algorithms,
        enc,
        kids,
        zip,
        warnings,
    }
}

#[cfg(test)]
mod tests;
