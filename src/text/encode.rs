//! The spellings a server may echo a secret in, and the decoded views of a text that the
//! secret set searches.
//!
//! Two complementary halves, so that no encoding needs to be enumerated character by
//! character:
//! - *Block encodings* change every character and are registered as extra patterns:
//!   [`spellings`] gives the raw secret, its hex (both cases) and its base64 (standard and
//!   URL-safe) at each of the three alignments a secret inside a longer base64 blob can have.
//! - *Character escapes* — percent (either hex case, any subset of characters, form `+`),
//!   JSON (`\uXXXX` for any character, `\/`, `\"`, …), HTML entities (named, decimal, hex, any
//!   case), backslash-escaped punctuation (Markdown) — are undone by [`decode_layer`], which
//!   decodes one layer of all of them at once and remembers where each decoded byte came
//!   from. Searching the raw patterns in the text, in one decoded layer and in two (an
//!   output format's escaping over the target's), finds a secret however it was escaped.
//!
//! Space and `+` are one symbol everywhere ([`unify`]): form encoding writes a space as `+`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// How a pattern was derived: a base64 spelling is widened over the partial characters at
/// its ends (they carry a few bits of the secret and a few of its neighbours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spelling {
    /// The secret itself or its hex.
    Plain,
    /// A base64 spelling (an inner, alignment-stable part of it).
    Base64,
}

/// Patterns shorter than this are never searched as substrings (they would match noise).
pub(super) const MIN_PATTERN_BYTES: usize = 4;

/// Every searched spelling of `secret` (already [unified](unify)), at least
/// [`MIN_PATTERN_BYTES`] long, without duplicates.
pub(super) fn spellings(secret: &str) -> Vec<(Vec<u8>, Spelling)> {
    let bytes = secret.as_bytes();
    let mut out: Vec<(Vec<u8>, Spelling)> = Vec::new();
    let mut add_min = |p: Vec<u8>, kind: Spelling, min: usize| {
        let p = unify(p);
        if p.len() >= min && !out.iter().any(|(q, _)| *q == p) {
            out.push((p, kind));
        }
    };
    add_min(bytes.to_vec(), Spelling::Plain, MIN_PATTERN_BYTES);
    // A secret ending in an escape's first character (`…\`, `…%`, `…&`) may be decoded
    // together with what follows it (`\;` is an escaped `;`): its rest is a spelling too.
    if let Some(rest) = secret.strip_suffix(['\\', '%', '&']) {
        add_min(rest.as_bytes().to_vec(), Spelling::Plain, 3);
    }
    let mut add = |p: Vec<u8>, kind: Spelling| add_min(p, kind, MIN_PATTERN_BYTES);
    // A secret that itself looks escaped (`pass%41`) decodes with the layer around it.
    if has_escapes(bytes) {
        let once = decode_layer(bytes).bytes;
        if has_escapes(&once) {
            add(decode_layer(&once).bytes, Spelling::Plain);
        }
        add(once, Spelling::Plain);
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    add(hex.to_ascii_uppercase().into_bytes(), Spelling::Plain);
    add(hex.into_bytes(), Spelling::Plain);
    for engine in [&STANDARD, &URL_SAFE] {
        for align in 0..3 {
            if let Some(inner) = base64_inner(bytes, align, engine) {
                add(inner.into_bytes(), Spelling::Base64);
            }
        }
    }
    // The whole-blob forms (padded and not) of a secret encoded on its own.
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        add(engine.encode(bytes).into_bytes(), Spelling::Base64);
    }
    out
}

/// The base64 characters that depend on `secret` alone when it starts `align` bytes into a
/// 3-byte group of a longer blob: character `i` covers bits `6i..6i+6`, the secret bits
/// `8·align..8·(align+len)`.
fn base64_inner(
    secret: &[u8],
    align: usize,
    engine: &base64::engine::GeneralPurpose,
) -> Option<String> {
    let start_bit = 8 * align;
    let end_bit = 8 * (align + secret.len());
    let first = start_bit.div_ceil(6);
    let last = end_bit / 6; // exclusive
    if last <= first {
        return None;
    }
    let mut blob = vec![0u8; align];
    blob.extend_from_slice(secret);
    blob.extend_from_slice(&[0, 0, 0]);
    let encoded = engine.encode(&blob);
    encoded.get(first..last).map(str::to_owned)
}

/// Space and `+` are one symbol in patterns and views.
pub(super) fn unify(mut bytes: Vec<u8>) -> Vec<u8> {
    for b in &mut bytes {
        if *b == b' ' {
            *b = b'+';
        }
    }
    bytes
}

/// True for the bytes of a base64 alphabet (standard or URL-safe) and its padding.
pub(super) fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')
}

/// A decoded view: its bytes, and for each the span of the input it came from.
pub(super) struct View {
    pub(super) bytes: Vec<u8>,
    pub(super) from: Vec<(u32, u32)>,
}

/// True when `bytes` hold anything [`decode_layer`] would decode.
pub(super) fn has_escapes(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| matches!(b, b'%' | b'\\' | b'&'))
}

/// Decodes one layer of percent escapes, JSON/JavaScript escapes, backslash-escaped
/// punctuation and HTML character references, all at once (a text mixing them decodes too);
/// anything else is kept as it is. Every output byte remembers the input span it came from.
pub(super) fn decode_layer(input: &[u8]) -> View {
    let mut bytes = Vec::with_capacity(input.len());
    let mut from = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let (decoded, used) = match input[i] {
            b'%' => percent(&input[i..]),
            b'\\' => backslash(&input[i..]),
            b'&' => entity(&input[i..]),
            _ => (None, 1),
        };
        let span = (i as u32, (i + used) as u32);
        match decoded {
            Some(Decoded::Byte(b)) => {
                bytes.push(b);
                from.push(span);
            }
            Some(Decoded::Char(c)) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    bytes.push(b);
                    from.push(span);
                }
            }
            None => {
                bytes.push(input[i]);
                from.push((i as u32, i as u32 + 1));
            }
        }
        i += if decoded.is_some() { used } else { 1 };
    }
    for b in &mut bytes {
        if *b == b' ' {
            *b = b'+';
        }
    }
    View { bytes, from }
}

enum Decoded {
    Byte(u8),
    Char(char),
}

fn hex_value(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

fn hex_at(s: &[u8], n: usize) -> Option<u32> {
    let digits = s.get(..n)?;
    digits
        .iter()
        .try_fold(0u32, |acc, b| Some(acc * 16 + hex_value(*b)?))
}

/// `%XX`, either case.
fn percent(s: &[u8]) -> (Option<Decoded>, usize) {
    match hex_at(&s[1..], 2) {
        Some(v) => (Some(Decoded::Byte(v as u8)), 3),
        None => (None, 1),
    }
}

/// `\uXXXX` (with surrogate pairs), `\xXX`, `\n`-style escapes and `\` before the
/// punctuation JSON, JavaScript and Markdown escape (`\/`, `\"`, `\\`, `\|`, `\*`, …).
fn backslash(s: &[u8]) -> (Option<Decoded>, usize) {
    let Some(&next) = s.get(1) else {
        return (None, 1);
    };
    match next {
        b'u' => {
            let Some(hi) = hex_at(&s[2..], 4) else {
                return (None, 1);
            };
            if (0xD800..0xDC00).contains(&hi)
                && s.get(6..8) == Some(b"\\u")
                && let Some(lo) = hex_at(&s[8..], 4)
                && (0xDC00..0xE000).contains(&lo)
            {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return (char::from_u32(c).map(Decoded::Char), 12);
            }
            let c = char::from_u32(hi).unwrap_or('\u{FFFD}');
            (Some(Decoded::Char(c)), 6)
        }
        b'x' => match hex_at(&s[2..], 2) {
            Some(v) => (Some(Decoded::Byte(v as u8)), 4),
            None => (None, 1),
        },
        b'n' => (Some(Decoded::Byte(b'\n')), 2),
        b'r' => (Some(Decoded::Byte(b'\r')), 2),
        b't' => (Some(Decoded::Byte(b'\t')), 2),
        b'b' => (Some(Decoded::Byte(8)), 2),
        b'f' => (Some(Decoded::Byte(12)), 2),
        // What JSON, JavaScript and Markdown escapers put a backslash before; not `&`, `%`
        // or `;`, which would glue a secret's trailing backslash to the next escape.
        b'"' | b'\\' | b'/' | b'\'' | b'`' | b'*' | b'_' | b'[' | b']' | b'|' | b'~' | b'#'
        | b'!' => (Some(Decoded::Byte(next)), 2),
        _ => (None, 1),
    }
}

/// HTML named entities a server may use for the characters of a secret: the five XML ones
/// (any case), and the common named ones of HTML 4 / PHP `htmlentities` for Latin-1.
const ENTITIES: &[(&str, char)] = &[
    ("nbsp", '\u{a0}'),
    ("iexcl", '¡'),
    ("cent", '¢'),
    ("pound", '£'),
    ("curren", '¤'),
    ("yen", '¥'),
    ("brvbar", '¦'),
    ("sect", '§'),
    ("uml", '¨'),
    ("copy", '©'),
    ("ordf", 'ª'),
    ("laquo", '«'),
    ("not", '¬'),
    ("shy", '\u{ad}'),
    ("reg", '®'),
    ("macr", '¯'),
    ("deg", '°'),
    ("plusmn", '±'),
    ("sup2", '²'),
    ("sup3", '³'),
    ("acute", '´'),
    ("micro", 'µ'),
    ("para", '¶'),
    ("middot", '·'),
    ("cedil", '¸'),
    ("sup1", '¹'),
    ("ordm", 'º'),
    ("raquo", '»'),
    ("frac14", '¼'),
    ("frac12", '½'),
    ("frac34", '¾'),
    ("iquest", '¿'),
    ("times", '×'),
    ("divide", '÷'),
    ("szlig", 'ß'),
    ("Agrave", 'À'),
    ("Aacute", 'Á'),
    ("Acirc", 'Â'),
    ("Atilde", 'Ã'),
    ("Auml", 'Ä'),
    ("Aring", 'Å'),
    ("AElig", 'Æ'),
    ("Ccedil", 'Ç'),
    ("Egrave", 'È'),
    ("Eacute", 'É'),
    ("Ecirc", 'Ê'),
    ("Euml", 'Ë'),
    ("Igrave", 'Ì'),
    ("Iacute", 'Í'),
    ("Icirc", 'Î'),
    ("Iuml", 'Ï'),
    ("ETH", 'Ð'),
    ("Ntilde", 'Ñ'),
    ("Ograve", 'Ò'),
    ("Oacute", 'Ó'),
    ("Ocirc", 'Ô'),
    ("Otilde", 'Õ'),
    ("Ouml", 'Ö'),
    ("Oslash", 'Ø'),
    ("Ugrave", 'Ù'),
    ("Uacute", 'Ú'),
    ("Ucirc", 'Û'),
    ("Uuml", 'Ü'),
    ("Yacute", 'Ý'),
    ("THORN", 'Þ'),
    ("agrave", 'à'),
    ("aacute", 'á'),
    ("acirc", 'â'),
    ("atilde", 'ã'),
    ("auml", 'ä'),
    ("aring", 'å'),
    ("aelig", 'æ'),
    ("ccedil", 'ç'),
    ("egrave", 'è'),
    ("eacute", 'é'),
    ("ecirc", 'ê'),
    ("euml", 'ë'),
    ("igrave", 'ì'),
    ("iacute", 'í'),
    ("icirc", 'î'),
    ("iuml", 'ï'),
    ("eth", 'ð'),
    ("ntilde", 'ñ'),
    ("ograve", 'ò'),
    ("oacute", 'ó'),
    ("ocirc", 'ô'),
    ("otilde", 'õ'),
    ("ouml", 'ö'),
    ("oslash", 'ø'),
    ("ugrave", 'ù'),
    ("uacute", 'ú'),
    ("ucirc", 'û'),
    ("uuml", 'ü'),
    ("yacute", 'ý'),
    ("thorn", 'þ'),
    ("yuml", 'ÿ'),
    ("euro", '€'),
    ("hellip", '…'),
    ("ndash", '–'),
    ("mdash", '—'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("grave", '`'),
    ("Tab", '\t'),
    ("NewLine", '\n'),
    ("excl", '!'),
    ("num", '#'),
    ("dollar", '$'),
    ("percnt", '%'),
    ("lpar", '('),
    ("rpar", ')'),
    ("ast", '*'),
    ("plus", '+'),
    ("comma", ','),
    ("period", '.'),
    ("sol", '/'),
    ("colon", ':'),
    ("semi", ';'),
    ("equals", '='),
    ("quest", '?'),
    ("commat", '@'),
    ("lsqb", '['),
    ("bsol", '\\'),
    ("rsqb", ']'),
    ("Hat", '^'),
    ("lowbar", '_'),
    ("lcub", '{'),
    ("verbar", '|'),
    ("rcub", '}'),
    ("tilde", '˜'),
];

/// `&#NNN;`, `&#xHH;` (either case of `x` and the digits; the `;` may be missing, as
/// browsers allow) and named entities (`&amp;`, `&AMP;`, `&eacute;`, …).
fn entity(s: &[u8]) -> (Option<Decoded>, usize) {
    if s.get(1) == Some(&b'#') {
        let (hex, start) = match s.get(2) {
            Some(b'x' | b'X') => (true, 3),
            _ => (false, 2),
        };
        let digits = s[start..]
            .iter()
            .take(8)
            .take_while(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count();
        if digits == 0 {
            return (None, 1);
        }
        let text = std::str::from_utf8(&s[start..start + digits]).unwrap_or("");
        let value = u32::from_str_radix(text, if hex { 16 } else { 10 }).ok();
        let c = value.and_then(char::from_u32).unwrap_or('\u{FFFD}');
        let mut used = start + digits;
        if s.get(used) == Some(&b';') {
            used += 1;
        }
        return (Some(Decoded::Char(c)), used);
    }
    let name_len = s[1..]
        .iter()
        .take(12)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if name_len == 0 || s.get(1 + name_len) != Some(&b';') {
        return (None, 1);
    }
    let name = std::str::from_utf8(&s[1..1 + name_len]).unwrap_or("");
    let basic = match name.to_ascii_lowercase().as_str() {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    };
    let c = basic.or_else(|| ENTITIES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c));
    match c {
        Some(c) => (Some(Decoded::Char(c)), name_len + 2),
        None => (None, 1),
    }
}

/// The decodings of one field value a short secret is compared with: the value, one layer
/// of character escapes undone, and its base64 and hex decodings when it is valid as those.
pub(super) fn field_decodings(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![unify(value.to_vec())];
    if has_escapes(value) {
        // A JSON string of an escaped value carries two layers.
        let once = decode_layer(value).bytes;
        if has_escapes(&once) {
            out.push(decode_layer(&once).bytes);
        }
        out.push(once);
    }
    let Ok(value) = std::str::from_utf8(value) else {
        return out;
    };
    let trimmed = value.trim_end_matches('=');
    if !trimmed.is_empty() && trimmed.bytes().all(is_base64_byte) {
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            if let Ok(b) = engine.decode(trimmed) {
                out.push(unify(b));
            }
        }
    }
    if value.len() % 2 == 0 && !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        let b: Vec<u8> = (0..value.len() / 2)
            .filter_map(|i| u8::from_str_radix(&value[2 * i..2 * i + 2], 16).ok())
            .collect();
        out.push(unify(b));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str) -> String {
        String::from_utf8(decode_layer(text.as_bytes()).bytes).expect("utf-8")
    }

    #[test]
    fn one_layer_of_every_character_escape_is_decoded_with_its_source_spans() {
        assert_eq!(decoded("p%40ss%2fw%2F"), "p@ss/w/");
        assert_eq!(decoded("a\\u0026b\\/c\\\"d\\ud83d\\ude00"), "a&b/c\"d😀");
        assert_eq!(
            decoded("&amp;&AMP;&#64;&#x40;&#X40&eacute;&bogus;"),
            "&&@@@é&bogus;"
        );
        assert_eq!(decoded("a\\|b\\*c"), "a|b*c");
        assert_eq!(decoded("a b+c%20d"), "a+b+c+d");
        let v = decode_layer(b"x%41y");
        assert_eq!(v.bytes, b"xAy");
        assert_eq!(v.from, vec![(0, 1), (1, 4), (4, 5)]);
        // Incomplete escapes stay as they are.
        assert_eq!(decoded("100% \\u12 &#; &"), "100%+\\u12+&#;+&");
    }

    #[test]
    fn base64_spellings_cover_every_alignment_inside_a_longer_blob() {
        let secret = b"hunter2-secret";
        let patterns = spellings("hunter2-secret");
        for prefix in 0..3 {
            for suffix in 0..3 {
                let mut blob = vec![b'x'; prefix];
                blob.extend_from_slice(secret);
                blob.extend(std::iter::repeat_n(b'y', suffix));
                for engine in [&STANDARD, &URL_SAFE_NO_PAD] {
                    let encoded = engine.encode(&blob);
                    assert!(
                        patterns
                            .iter()
                            .any(|(p, _)| encoded.as_bytes().windows(p.len()).any(|w| w == p)),
                        "{prefix} {suffix} {encoded}"
                    );
                }
            }
        }
        assert!(
            patterns
                .iter()
                .any(|(p, _)| p == b"68756e746572322d736563726574")
        );
        assert!(
            patterns
                .iter()
                .any(|(p, _)| p == b"68756E746572322D736563726574")
        );
    }

    #[test]
    fn short_patterns_are_dropped_and_space_is_plus() {
        assert!(spellings("ab").iter().all(|(p, _)| p.len() >= 4));
        assert!(spellings("a b c d").iter().any(|(p, _)| p == b"a+b+c+d"));
    }

    #[test]
    fn field_decodings_undo_escapes_base64_and_hex() {
        let has = |v: &str, want: &[u8]| field_decodings(v.as_bytes()).iter().any(|d| d == want);
        assert!(has("%61b", b"ab"));
        assert!(has("\\u0061b", b"ab"));
        assert!(has("YWI=", b"ab"));
        assert!(has("YWI", b"ab"));
        assert!(has("6162", b"ab"));
        assert!(has("&#97;b", b"ab"));
        assert!(!has("abc", b"ab"));
    }
}
