//! What a service decodes a credential to: the percent-encoding layer mutations look
//! through ([`Codec`]), the value's alphabet class ([`Class`]), and when two values are the
//! same credential ([`same_credential`]).
//!
//! A mutation is a case only when it changes what the service decodes. `%2B` and `%2b` are
//! the same byte; a base64 character that differs only in the bits a decoder drops is the same
//! id; a hex id is the same number in either case. A service that accepts such a value is not
//! accepting a tampered credential, so the strategy never offers one as a case.
//!
//! Besides the seed, cases are derived only from what this file says about a value's *shape*
//! (its layer, its class and its length), never from its random characters, so that two runs
//! with one seed against a service handing out random ids try the same cases.
//!
//! Equivalences covered, per `.`-separated segment (JWTs, `id.signature` cookies), after
//! percent-decoding (hex digits of an escape in either case, a character or its escape):
//! - **hex**: two all-hex segments are the same when they differ only in case;
//! - **base64** (standard or URL-safe, padded or not): two segments are the same when a
//!   lenient decoder gives the same bytes — the unused low bits of the last character,
//!   missing or extra `=` padding, and `-`/`+`, `_`/`/` (decoders such as Node's accept both
//!   alphabets).
//!
//! Not covered, because no mutation can produce it: form-decoding (`+` as a space; mutations
//! only add `+` by flipping a bit of `/` or `;`, which changes the decoded bytes), quoted
//! cookie values and whitespace (not cookie-octets), characters a decoder skips (extensions
//! only append alphabet characters). Pure functions; no I/O, no panics.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::Serialize;

/// Which value mutation positions count characters of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// The value as sent.
    Raw,
    /// The percent-decoded value; the mutated value is percent-encoded again in the
    /// original's style before it is sent.
    PercentDecoded,
}

impl Layer {
    /// The value mutations address: `raw` itself, or percent-decoded.
    pub fn decode(self, raw: &str) -> String {
        match self {
            Layer::Raw => raw.to_owned(),
            Layer::PercentDecoded => percent_decode(raw).unwrap_or_else(|| raw.to_owned()),
        }
    }
}

/// How a value is percent-encoded, learnt from the original so that a mutated value is
/// encoded the same way.
#[derive(Debug, Clone)]
pub(super) struct Codec {
    pub(super) layer: Layer,
    /// Escapes use `A-F` (else `a-f`).
    upper_hex: bool,
    /// Characters the original writes as escapes.
    encoded: BTreeSet<char>,
    /// Characters the original writes literally.
    literal: BTreeSet<char>,
}

impl Codec {
    /// The codec of `raw` and the value mutations address. A value is percent-decoded when it
    /// holds at least one escape, decodes to UTF-8, and encoding the decoded value again in
    /// the original's style (escape case, which characters are escaped) gives `raw` back;
    /// anything else is mutated as sent.
    pub(super) fn detect(raw: &str) -> (Codec, String) {
        let plain = Codec {
            layer: Layer::Raw,
            upper_hex: true,
            encoded: BTreeSet::new(),
            literal: BTreeSet::new(),
        };
        if !raw.contains('%') {
            return (plain, raw.to_owned());
        }
        let Some(decoded) = percent_decode(raw) else {
            return (plain, raw.to_owned());
        };
        let (mut upper, mut lower) = (false, false);
        let mut codec = Codec {
            layer: Layer::PercentDecoded,
            ..plain.clone()
        };
        let bytes = raw.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = &raw[i + 1..i + 3];
                upper |= hex.bytes().any(|b| b.is_ascii_uppercase());
                lower |= hex.bytes().any(|b| b.is_ascii_lowercase());
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    codec.encoded.insert(char::from(b));
                }
                i += 3;
            } else {
                codec.literal.insert(char::from(bytes[i]));
                i += 1;
            }
        }
        codec.upper_hex = upper || !lower;
        if (upper && lower) || codec.encode(&decoded) != raw {
            return (plain, raw.to_owned());
        }
        (codec, decoded)
    }

    /// `value` (in the layer mutations address) as it is sent. A character is escaped when
    /// the original escapes it, or when it is neither written literally by the original nor
    /// an RFC 3986 unreserved character.
    pub(super) fn encode(&self, value: &str) -> String {
        if self.layer == Layer::Raw {
            return value.to_owned();
        }
        let mut out = String::with_capacity(value.len());
        for c in value.chars() {
            let keep =
                !self.encoded.contains(&c) && (self.literal.contains(&c) || is_unreserved(c));
            if keep {
                out.push(c);
                continue;
            }
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                if self.upper_hex {
                    out.push_str(&format!("%{b:02X}"));
                } else {
                    out.push_str(&format!("%{b:02x}"));
                }
            }
        }
        out
    }
}

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// `value` percent-decoded; `None` when an escape is malformed or the bytes are not UTF-8.
pub fn percent_decode(value: &str) -> Option<String> {
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let high = char::from(bytes.next()?).to_digit(16)?;
        let low = char::from(bytes.next()?).to_digit(16)?;
        out.push(u8::try_from(high * 16 + low).ok()?);
    }
    String::from_utf8(out).ok()
}

/// Whether a service decoding `a` and `b` as percent-encoding, then each `.`-separated
/// segment as hex or base64, sees the same credential (see the module docs).
pub fn same_credential(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (a, b) = (decoded(a), decoded(b));
    if a == b {
        return true;
    }
    if a.split('.').count() != b.split('.').count() {
        return false;
    }
    a.split('.')
        .zip(b.split('.'))
        .all(|(x, y)| same_segment(x, y))
}

/// `s` percent-decoded when it holds a well-formed escape, else `s`.
fn decoded(s: &str) -> Cow<'_, str> {
    if s.contains('%') {
        percent_decode(s).map_or(Cow::Borrowed(s), Cow::Owned)
    } else {
        Cow::Borrowed(s)
    }
}

fn same_segment(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_hexdigit());
    if hex(a) && hex(b) {
        return a.eq_ignore_ascii_case(b);
    }
    same_base64(a, b)
}

/// Whether a lenient base64 decoder (either alphabet, padding optional, the unused bits of
/// the last character dropped) gives the same bytes for `a` and `b`; `false` when either is
/// not base64 at all.
fn same_base64(a: &str, b: &str) -> bool {
    let (Some(a), Some(b)) = (base64_data(a), base64_data(b)) else {
        return false;
    };
    if a.len() != b.len() {
        // Different data lengths decode to different byte counts.
        return false;
    }
    let unused = (a.len() * 6 % 8) as u32;
    let last = a.len() - 1;
    a.bytes().zip(b.bytes()).enumerate().all(|(i, (x, y))| {
        match (base64_value(x), base64_value(y)) {
            (Some(x), Some(y)) if i == last => x >> unused == y >> unused,
            (Some(x), Some(y)) => x == y,
            _ => false,
        }
    })
}

/// `s` without its `=` padding, when it can be base64 data.
fn base64_data(s: &str) -> Option<&str> {
    let d = s.trim_end_matches('=');
    let ok = s.len() - d.len() <= 2 && !d.is_empty() && d.len() % 4 != 1;
    ok.then_some(d)
}

/// The 6-bit value of a base64 character of either alphabet.
fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// The alphabet class of a value: what substitutions and extensions draw from, decided by
/// the value's shape alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// Every character is a hex digit: substitutions keep to the hex digits in the value's
    /// case (lowercase unless the value has uppercase letters and no lowercase ones). Case
    /// changes are the same number, so no case flip applies.
    Hex {
        /// `A-F` rather than `a-f`.
        upper: bool,
    },
    /// Anything else (base64, base64url, JWTs, signed values): substitutions and extensions
    /// use `A-Z`, `a-z`, `0-9`, the characters every base64 variant shares.
    Alnum,
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX_LOWER: &str = "0123456789abcdef";
const HEX_UPPER: &str = "0123456789ABCDEF";

impl Class {
    /// The class of `value` (in the layer mutations address).
    pub(super) fn of(value: &str) -> Class {
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            let upper = value.bytes().any(|b| b.is_ascii_uppercase());
            let lower = value.bytes().any(|b| b.is_ascii_lowercase());
            Class::Hex {
                upper: upper && !lower,
            }
        } else {
            Class::Alnum
        }
    }

    /// The alphabet, in shrink order (shrinking moves toward the first character).
    pub(super) fn alphabet(self) -> Vec<char> {
        match self {
            Class::Hex { upper: false } => HEX_LOWER.chars().collect(),
            Class::Hex { upper: true } => HEX_UPPER.chars().collect(),
            Class::Alnum => ALNUM.chars().collect(),
        }
    }

    /// The ordinals of the alphabet's group (digits, letters; or uppercase, lowercase,
    /// digits) that ordinal `k` belongs to: a substitution that must avoid a character moves
    /// to the next one of the same group, so the class of the new character is the seed's.
    pub(super) fn group(self, k: usize) -> std::ops::Range<usize> {
        let bounds: &[usize] = match self {
            Class::Hex { .. } => &[0, 10, 16],
            Class::Alnum => &[0, 26, 52, 62],
        };
        bounds
            .windows(2)
            .map(|w| w[0]..w[1])
            .find(|r| r.contains(&k))
            .unwrap_or(0..0)
    }

    /// Whether a case change makes a different credential.
    pub(super) fn case_matters(self) -> bool {
        self == Class::Alnum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_escapes_in_either_case_are_the_same_credential() {
        assert!(same_credential("ab%2Bcd%3D", "ab%2bcd%3d"));
        assert!(same_credential("ab%2Bcd", "ab+cd"));
        assert!(same_credential("%41bc", "Abc"));
        assert!(!same_credential("ab%2Bcd", "ab%2Fcd"));
        assert!(!same_credential("ab%2Bcd", "ab%2Bce"));
    }

    #[test]
    fn base64_trailing_bits_padding_and_alphabets_are_the_same_credential() {
        // 43 characters carry 258 bits for 32 bytes: the last character's 2 low bits are
        // unused, so 'A' (000000) and 'D' (000011) end the same bytes; 'E' (000100) does not.
        let id = "q3Zk7Vd0-xP9_aLmN2bY8cRt5WuE1oJhG4iKsT6fQzA";
        let last = |c: char| format!("{}{c}", &id[..42]);
        assert!(same_credential(id, &last('D')));
        assert!(!same_credential(id, &last('E')));
        assert!(same_credential(id, &format!("{id}=")));
        assert!(same_credential(id, &id.replace('-', "+").replace('_', "/")));
        assert!(!same_credential(id, &id[..42]));
        assert!(!same_credential(id, &format!("{id}A")));
    }

    #[test]
    fn hex_case_is_the_same_credential_and_segments_compare_one_by_one() {
        assert!(same_credential("9f86d081", "9F86D081"));
        assert!(!same_credential("9f86d081", "9f86d082"));
        assert!(same_credential("eyJh.eyJi.c2lnAA", "eyJh.eyJi.c2lnAB"));
        assert!(!same_credential("eyJh.eyJi.c2lnAA", "eyJh.eyJj.c2lnAA"));
        assert!(!same_credential("a.b", "a.b.c"));
    }

    #[test]
    fn a_percent_encoded_value_is_mutated_decoded_and_encoded_back_in_its_style() {
        let (codec, decoded) = Codec::detect("ab%2Bc%2Fd%3D");
        assert_eq!(codec.layer, Layer::PercentDecoded);
        assert_eq!(decoded, "ab+c/d=");
        assert_eq!(codec.encode("xb+c/d=!"), "xb%2Bc%2Fd%3D%21");
        let (lower, _) = Codec::detect("ab%2bc");
        assert_eq!(lower.encode("+"), "%2b");
        for raw in ["plain-id_value", "bad%zz", "mixed%2B%2f", "100%"] {
            let (codec, value) = Codec::detect(raw);
            assert_eq!((codec.layer, value.as_str()), (Layer::Raw, raw), "{raw}");
            assert_eq!(codec.encode(raw), raw);
        }
        assert_eq!(Layer::PercentDecoded.decode("a%3D"), "a=");
        assert_eq!(Layer::Raw.decode("a%3D"), "a%3D");
    }

    #[test]
    fn classes_follow_the_shape_not_the_characters() {
        assert_eq!(Class::of("9f86d081"), Class::Hex { upper: false });
        assert_eq!(Class::of("DEADBEEF"), Class::Hex { upper: true });
        assert_eq!(Class::of("DEADbeef"), Class::Hex { upper: false });
        assert_eq!(Class::of("0123456789"), Class::Hex { upper: false });
        // With or without '-', '_', '+' or '/', a base64 id gets the same alphabet.
        for id in [
            "q3Zk7Vd0xP9aLmN",
            "q3Zk7Vd0-xP9_aLmN",
            "q3Zk7Vd0+xP9/aLmN=",
            "",
        ] {
            assert_eq!(Class::of(id), Class::Alnum, "{id}");
        }
        assert_eq!(Class::Alnum.alphabet().len(), 62);
        assert_eq!(Class::Alnum.group(30), 26..52);
        assert_eq!(Class::Hex { upper: false }.group(12), 10..16);
        assert!(!Class::Hex { upper: true }.case_matters());
    }
}
