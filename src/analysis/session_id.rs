//! Session ids judged on their content: [`readable_content`] says what anyone holding the
//! cookie can read in one id, [`analyse_sample`] says whether ids from fresh logins are
//! unique, unpatterned and carry enough entropy.
//!
//! Pure functions: no I/O, no printing, no clock, no randomness, and no panic on any input.
//! The verdict (pass/fail, which threshold applies) belongs to the rule that calls them.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD_INDIFFERENT, URL_SAFE_NO_PAD_INDIFFERENT};
use serde::Serialize;

/// Longest [`Readable::text`], in characters (a cut text ends with `…`).
pub const MAX_TEXT_CHARS: usize = 160;

/// User names shorter than this (in characters) are not looked for: they match by chance.
pub const MIN_USERNAME_CHARS: usize = 3;

/// Entropy floor behind the low-entropy line of [`SampleAnalysis::problems`]: the OWASP
/// Session Management Cheat Sheet asks for at least 64 bits. Use [`problems_with_min_bits`]
/// for another floor.
pub const DEFAULT_MIN_BITS: u32 = 64;

/// Fewer samples than this make [`analyse_sample`] report "too few samples".
pub const MIN_SAMPLES: usize = 4;

/// A user name found by chance in a value of its alphabet with at least this expected
/// number of occurrences only counts when it stands apart (no letter or digit either side).
const CHANCE_MATCH_LIMIT: f64 = 1e-5;

/// Decoded content counts as text when at least this share of its characters is printable.
const PRINTABLE_SHARE: f64 = 0.9;

/// Decoded content shorter than this many characters does not count as text.
const MIN_TEXT_CHARS: usize = 6;

/// Base64 content decoding to fewer bytes than this is not looked at.
const MIN_BASE64_BYTES: usize = 8;

/// Hex content shorter than this many digits is not looked at.
const MIN_HEX_DIGITS: usize = 16;

/// Longest [`SampleAnalysis::common_prefix_text`], in characters.
const MAX_PREFIX_TEXT_CHARS: usize = 40;

/// What anyone holding the cookie can read in a session id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readable {
    /// The layer that made the content readable.
    pub encoding: Encoding,
    /// The decoded content, at most [`MAX_TEXT_CHARS`] characters, control characters
    /// escaped (`\n`, `\u{1b}`), e.g. `{"uid":1,"user":"alice"}`.
    pub text: String,
    /// The first of the given user names found in the content (case-insensitive), spelt as
    /// given, e.g. `Some("alice")`.
    pub contains_username: Option<String>,
}

/// How readable content is carried in a session id. When several layers apply the most
/// specific one is named: percent-encoded JSON is [`Encoding::Json`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// The value itself names a user, e.g. `alice-1234`.
    Plain,
    /// The value names a user once percent-decoded, e.g. `alice%40example.com`.
    PercentEncoded,
    /// The value (or a part of it, as in express `j:{…}` cookies) is a JSON object or array.
    Json,
    /// The value is a JWT: the text is the decoded header and payload joined by `.`.
    Jwt,
    /// The value (or a dot-, colon-, bar- or `--`-separated part of a signed cookie) is
    /// base64url text; values of letters and digits only unpadded are reported as this.
    Base64Url,
    /// The value (or a part of it) is standard base64 text (`+`, `/` or `=` padding).
    Base64,
    /// The value (or a part of it) is hexadecimal text.
    Hex,
}

/// What anyone holding the cookie can read in the session id `value`, if anything.
///
/// The value is percent-decoded first when it contains `%XX` (and unquoted when it is a
/// quoted cookie value). Then, in order: a JWT; a JSON object or array (whole, or embedded
/// between the first `{` and last `}`); one of `usernames` (of at least
/// [`MIN_USERNAME_CHARS`] characters) in plain sight; hex, base64url or base64 decoding to
/// text. Finally the parts of signed-cookie shapes (express `s:<id>.<sig>`, itsdangerous
/// `<payload>.<time>.<sig>`, Rails `<data>--<digest>`, Django `<value>:<time>:<sig>`) are
/// tried as hex/base64, so a signed random id stays opaque while a signed readable payload
/// is found.
///
/// Decoded bytes count as text when they are UTF-8, at least 6 characters long and at least
/// 90 % printable. A short user name inside a random-looking token (`…xQbobZ…`) only counts
/// when the expected number of chance matches is negligible or it stands apart.
pub fn readable_content(value: &str, usernames: &[&str]) -> Option<Readable> {
    let unquoted = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let (decoded, percent) = match percent_decode(unquoted) {
        Some(decoded) => (decoded, true),
        None => (unquoted.to_owned(), false),
    };
    let s = decoded.as_str();
    let names: Vec<&str> = usernames
        .iter()
        .copied()
        .filter(|name| name.chars().count() >= MIN_USERNAME_CHARS)
        .collect();

    if let Some(text) = jwt_text(s) {
        return Some(readable(Encoding::Jwt, &text, &names));
    }
    if let Some(json) = json_text(s).or_else(|| embedded_json(s)) {
        return Some(readable(Encoding::Json, json, &names));
    }
    if let Some(name) = find_username(s, &names) {
        let encoding = if percent {
            Encoding::PercentEncoded
        } else {
            Encoding::Plain
        };
        return Some(Readable {
            encoding,
            text: display_text(s, MAX_TEXT_CHARS),
            contains_username: Some(name.to_owned()),
        });
    }
    if let Some((encoding, text)) = decode_text(s) {
        return Some(readable(encoding, &text, &names));
    }
    signed_parts(s)
        .find_map(decode_text)
        .map(|(encoding, text)| readable(encoding, &text, &names))
}

fn readable(encoding: Encoding, content: &str, names: &[&str]) -> Readable {
    Readable {
        encoding,
        text: display_text(content, MAX_TEXT_CHARS),
        contains_username: find_username(content, names).map(str::to_owned),
    }
}

/// Decodes every valid `%XX`; `None` when there is none.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut any = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(&[hi, lo]) = bytes.get(i + 1..i + 3)
            && let (Some(hi), Some(lo)) = (hex_value(hi), hex_value(lo))
        {
            out.push(hi << 4 | lo);
            any = true;
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    any.then(|| String::from_utf8_lossy(&out).into_owned())
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Three base64url segments whose first decodes to a JSON object with `alg`.
fn jwt_text(s: &str) -> Option<String> {
    let mut parts = s.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || header.is_empty()
        || ![header, payload, signature]
            .iter()
            .all(|p| p.bytes().all(is_base64url_byte))
    {
        return None;
    }
    let header = URL_SAFE_NO_PAD_INDIFFERENT.decode(header).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&header).ok()?;
    json.as_object()?.get("alg")?;
    let header = String::from_utf8(header).ok()?;
    let payload = URL_SAFE_NO_PAD_INDIFFERENT
        .decode(payload)
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .unwrap_or_default();
    Some(format!("{header}.{payload}"))
}

/// The value itself, when it is a non-empty JSON object or array.
fn json_text(s: &str) -> Option<&str> {
    let t = s.trim();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    match serde_json::from_str::<serde_json::Value>(t).ok()? {
        serde_json::Value::Object(map) if !map.is_empty() => Some(t),
        serde_json::Value::Array(items) if !items.is_empty() => Some(t),
        _ => None,
    }
}

/// A non-empty JSON object between the first `{` and the last `}` (express `j:{…}`).
fn embedded_json(s: &str) -> Option<&str> {
    let start = s.find('{')?;
    let end = s.rfind('}')?;
    json_text(s.get(start..=end)?)
}

fn is_base64url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Hex, base64url or base64 content that decodes to text.
fn decode_text(s: &str) -> Option<(Encoding, String)> {
    if s.len() >= MIN_HEX_DIGITS
        && s.len().is_multiple_of(2)
        && s.bytes().all(|b| b.is_ascii_hexdigit())
        && let Some(text) = text_of(&hex_decode(s))
    {
        return Some((Encoding::Hex, text));
    }
    let body = s.trim_end_matches('=');
    if body.is_empty()
        || s.len() - body.len() > 2
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/-_".contains(&b))
    {
        return None;
    }
    let padded = body.len() < s.len();
    let url = (Encoding::Base64Url, &URL_SAFE_NO_PAD_INDIFFERENT);
    let standard = (Encoding::Base64, &STANDARD_NO_PAD_INDIFFERENT);
    let order = if padded {
        [standard, url]
    } else {
        [url, standard]
    };
    order.into_iter().find_map(|(encoding, engine)| {
        let bytes = engine.decode(s).ok()?;
        if bytes.len() < MIN_BASE64_BYTES {
            return None;
        }
        text_of(&bytes).map(|text| (encoding, text))
    })
}

fn hex_decode(s: &str) -> Vec<u8> {
    s.as_bytes()
        .chunks_exact(2)
        .filter_map(|pair| Some(hex_value(pair[0])? << 4 | hex_value(pair[1])?))
        .collect()
}

/// The bytes as text, when they are UTF-8, long enough and mostly printable.
fn text_of(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let total = text.chars().count();
    if total < MIN_TEXT_CHARS {
        return None;
    }
    let printable = text.chars().filter(|&c| is_printable(c)).count();
    // Both counts are far below 2^52, so the conversions are exact.
    (printable as f64 >= PRINTABLE_SHARE * total as f64).then(|| text.to_owned())
}

fn is_printable(c: char) -> bool {
    c == ' ' || c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control())
}

/// The parts of a signed-cookie shape: split at `.`, `:`, `|` and `--`; empty when the
/// value has no separator (the whole value was already tried).
fn signed_parts(s: &str) -> impl Iterator<Item = &str> {
    let has_separator = s.contains(['.', ':', '|']) || s.contains("--");
    s.split(['.', ':', '|'])
        .flat_map(|part| part.split("--"))
        .filter(move |part| has_separator && !part.is_empty())
}

/// The first of `names` found in `hay`, case-insensitively, unless the match is likely chance.
fn find_username<'a>(hay: &str, names: &[&'a str]) -> Option<&'a str> {
    if names.is_empty() {
        return None;
    }
    let alphabet = Alphabet::covering([hay]);
    let hay_lower = hay.to_lowercase();
    let hay_chars = hay.chars().count();
    names.iter().copied().find(|name| {
        let name_lower = name.to_lowercase();
        let chance = expected_chance_matches(hay_chars, &name_lower, alphabet);
        occurs_plausibly(&hay_lower, &name_lower, chance)
    })
}

/// Expected number of chance occurrences of `name` in `len` uniformly random characters of
/// `alphabet`, matched case-insensitively.
fn expected_chance_matches(len: usize, name: &str, alphabet: Alphabet) -> f64 {
    let k = alphabet.size() as f64;
    let per_char = |c: char| {
        if c.is_ascii_alphabetic() && !alphabet.is_case_insensitive() {
            2.0 / k
        } else {
            1.0 / k
        }
    };
    name.chars().map(per_char).product::<f64>() * len as f64
}

fn occurs_plausibly(hay: &str, name: &str, chance: f64) -> bool {
    if name.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(rest) = hay.get(from..) {
        let Some(offset) = rest.find(name) else {
            return false;
        };
        let start = from + offset;
        let end = start + name.len();
        if chance < CHANCE_MATCH_LIMIT {
            return true;
        }
        let before = hay.get(..start).and_then(|h| h.chars().next_back());
        let after = hay.get(end..).and_then(|h| h.chars().next());
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            return true;
        }
        // Step one character past this match's start (overlapping matches count).
        from = start + rest[offset..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// `s` with control characters escaped, cut to `max` characters (ending in `…` when cut).
fn display_text(s: &str, max: usize) -> String {
    let pieces = s.chars().map(|c| {
        if c.is_control() {
            c.escape_default().collect::<String>()
        } else {
            c.to_string()
        }
    });
    let mut out = String::new();
    let mut used = 0;
    let mut pieces = pieces.peekable();
    while let Some(piece) = pieces.next() {
        let n = piece.chars().count();
        let room = if pieces.peek().is_some() {
            max.saturating_sub(1)
        } else {
            max
        };
        if used + n > room {
            if max > 0 {
                out.push('…');
            }
            break;
        }
        out.push_str(&piece);
        used += n;
    }
    out
}

/// Statistics over a sample of session ids from fresh logins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleAnalysis {
    /// Number of ids in the sample.
    pub samples: usize,
    /// Number of distinct ids.
    pub unique: usize,
    /// Length of the shortest id, in characters.
    pub min_len: usize,
    /// Length of the longest id, in characters.
    pub max_len: usize,
    /// Smallest standard alphabet covering every character (trailing `=` padding aside).
    pub alphabet: Alphabet,
    /// log2 of the alphabet size, e.g. 6 for base64url.
    pub bits_per_char: f64,
    /// Entropy estimate in bits: per character position, log2 of the alphabet size when the
    /// position shows at least 60 % of the distinct characters uniform random ones would,
    /// else log2 of the distinct characters seen (0 for a constant position); summed.
    pub estimated_bits: f64,
    /// Number of characters all ids share at the start.
    pub common_prefix: usize,
    /// That shared prefix, control characters escaped, cut to 40 characters.
    pub common_prefix_text: String,
    /// Why the ids look like a counter or timestamp, e.g. "ids are hexadecimal numbers
    /// within 31 of each other".
    pub sequential: Option<String>,
    /// Human one-liners: too few samples, duplicates, sequential ids, entropy below
    /// [`DEFAULT_MIN_BITS`] (with the shared prefix, if any). Empty means the ids look good.
    pub problems: Vec<String>,
}

/// The smallest standard alphabet covering a set of characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    /// `0-9` (10 symbols).
    Decimal,
    /// `0-9a-f`, either case (16 symbols).
    Hex,
    /// RFC 4648 base32 `A-Z2-7`, all upper or all lower case (32 symbols).
    Base32,
    /// `A-Za-z0-9` (62 symbols).
    Alnum,
    /// `A-Za-z0-9-_` (64 symbols).
    Base64Url,
    /// `A-Za-z0-9+/` (64 symbols).
    Base64,
    /// Printable ASCII including space (95 symbols).
    Printable,
    /// Anything else (control or non-ASCII characters), counted as 256 symbols.
    Other,
}

/// `hex`, `base64url`, `printable ASCII`: the alphabet in words for messages.
impl std::fmt::Display for Alphabet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Alphabet::Decimal => "decimal",
            Alphabet::Hex => "hex",
            Alphabet::Base32 => "base32",
            Alphabet::Alnum => "alphanumeric",
            Alphabet::Base64Url => "base64url",
            Alphabet::Base64 => "base64",
            Alphabet::Printable => "printable ASCII",
            Alphabet::Other => "non-ASCII or control",
        })
    }
}

/// `percent-encoded`, `JSON`, `JWT`: the encoding in words for messages.
impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoding::Plain => "plain",
            Encoding::PercentEncoded => "percent-encoded",
            Encoding::Json => "JSON",
            Encoding::Jwt => "JWT",
            Encoding::Base64Url => "base64url",
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
        })
    }
}

impl Alphabet {
    /// The number of symbols in the alphabet.
    pub fn size(self) -> usize {
        match self {
            Alphabet::Decimal => 10,
            Alphabet::Hex => 16,
            Alphabet::Base32 => 32,
            Alphabet::Alnum => 62,
            Alphabet::Base64Url | Alphabet::Base64 => 64,
            Alphabet::Printable => 95,
            Alphabet::Other => 256,
        }
    }

    /// Whether letters of either case are the same symbol (hex, base32).
    pub fn is_case_insensitive(self) -> bool {
        matches!(self, Alphabet::Hex | Alphabet::Base32)
    }

    /// The smallest alphabet covering every character of `values`, ignoring trailing `=`
    /// padding; [`Alphabet::Decimal`] when there are no characters.
    pub fn covering<'a>(values: impl IntoIterator<Item = &'a str>) -> Alphabet {
        let mut fits = [true; 8];
        for value in values {
            for c in value.trim_end_matches('=').chars() {
                let b32 = |letters: std::ops::RangeInclusive<char>| {
                    letters.contains(&c) || ('2'..='7').contains(&c)
                };
                let checks = [
                    c.is_ascii_digit(),
                    c.is_ascii_hexdigit(),
                    b32('A'..='Z'),
                    b32('a'..='z'),
                    c.is_ascii_alphanumeric(),
                    c.is_ascii_alphanumeric() || c == '-' || c == '_',
                    c.is_ascii_alphanumeric() || c == '+' || c == '/',
                    c == ' ' || c.is_ascii_graphic(),
                ];
                for (fit, ok) in fits.iter_mut().zip(checks) {
                    *fit &= ok;
                }
            }
        }
        let [
            decimal,
            hex,
            b32_upper,
            b32_lower,
            alnum,
            b64url,
            b64,
            printable,
        ] = fits;
        if decimal {
            Alphabet::Decimal
        } else if hex {
            Alphabet::Hex
        } else if b32_upper || b32_lower {
            Alphabet::Base32
        } else if alnum {
            Alphabet::Alnum
        } else if b64url {
            Alphabet::Base64Url
        } else if b64 {
            Alphabet::Base64
        } else if printable {
            Alphabet::Printable
        } else {
            Alphabet::Other
        }
    }
}

/// Statistics over a sample of session ids from fresh logins (one id per login).
///
/// Flags fewer than [`MIN_SAMPLES`] ids, duplicates, ids that are numbers close together
/// (counters, timestamps), and an estimated entropy below [`DEFAULT_MIN_BITS`] — naming the
/// shared prefix when a long one is part of the reason.
pub fn analyse_sample(ids: &[String]) -> SampleAnalysis {
    let samples = ids.len();
    let unique = ids.iter().collect::<HashSet<_>>().len();
    let lens = ids.iter().map(|id| id.chars().count());
    let min_len = lens.clone().min().unwrap_or(0);
    let max_len = lens.max().unwrap_or(0);
    let alphabet = Alphabet::covering(ids.iter().map(String::as_str));
    let k = alphabet.size() as f64;
    let folded: Vec<Vec<char>> = ids
        .iter()
        .map(|id| {
            id.chars()
                .map(|c| {
                    if alphabet.is_case_insensitive() {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    }
                })
                .collect()
        })
        .collect();
    let (common_prefix, common_prefix_text) = common_prefix(ids);
    let sequential = sequential(ids);

    let mut problems = Vec::new();
    if samples < MIN_SAMPLES {
        problems.push(format!(
            "too few samples: {samples} logins, at least {MIN_SAMPLES} are needed to judge the ids"
        ));
    }
    if unique < samples {
        problems.push(format!(
            "{} duplicate ids in {samples} logins",
            samples - unique
        ));
    }
    if let Some(why) = &sequential {
        problems.push(format!("ids look sequential: {why}"));
    }
    let mut analysis = SampleAnalysis {
        samples,
        unique,
        min_len,
        max_len,
        alphabet,
        bits_per_char: k.log2(),
        estimated_bits: estimate_bits(&folded, k),
        common_prefix,
        common_prefix_text,
        sequential,
        problems,
    };
    let threshold = threshold_problems(&analysis, DEFAULT_MIN_BITS);
    analysis.problems.extend(threshold);
    analysis
}

/// `a.problems` with the entropy floor `min_bits` instead of [`DEFAULT_MIN_BITS`]: adds
/// "estimated entropy N bits is below the required M" (and the shared prefix) when the
/// estimate is below `min_bits`, drops the default-floor lines otherwise.
pub fn problems_with_min_bits(a: &SampleAnalysis, min_bits: u32) -> Vec<String> {
    let default = threshold_problems(a, DEFAULT_MIN_BITS);
    let mut problems: Vec<String> = a
        .problems
        .iter()
        .filter(|p| !default.contains(p))
        .cloned()
        .collect();
    problems.extend(threshold_problems(a, min_bits));
    problems
}

fn threshold_problems(a: &SampleAnalysis, min_bits: u32) -> Vec<String> {
    let mut problems = Vec::new();
    if a.estimated_bits < f64::from(min_bits) {
        problems.push(format!(
            "estimated entropy {:.0} bits is below the required {min_bits}",
            a.estimated_bits.floor()
        ));
        if a.samples >= 2 && a.common_prefix >= (a.min_len / 4).max(4) {
            problems.push(format!(
                "all ids start with the same {} characters \"{}\"",
                a.common_prefix, a.common_prefix_text
            ));
        }
    }
    problems
}

fn estimate_bits(ids: &[Vec<char>], k: f64) -> f64 {
    let longest = ids.iter().map(Vec::len).max().unwrap_or(0);
    let mut total = 0.0;
    let mut seen = HashSet::new();
    for i in 0..longest {
        seen.clear();
        let mut n = 0u32;
        for c in ids.iter().filter_map(|id| id.get(i)) {
            n = n.saturating_add(1);
            seen.insert(*c);
        }
        if n < 2 {
            continue;
        }
        let distinct = seen.len() as f64;
        let expected = k * (1.0 - (1.0 - 1.0 / k).powf(f64::from(n)));
        if distinct >= 0.6 * expected {
            total += k.log2();
        } else if distinct > 1.0 {
            total += distinct.log2();
        }
    }
    total
}

fn common_prefix(ids: &[String]) -> (usize, String) {
    let Some(first) = ids.first() else {
        return (0, String::new());
    };
    let mut len = first.chars().count();
    for id in &ids[1..] {
        len = first
            .chars()
            .zip(id.chars())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    let prefix: String = first.chars().take(len).collect();
    (len, display_text(&prefix, MAX_PREFIX_TEXT_CHARS))
}

/// Ids that are (after a shared non-digit prefix) decimal or hex numbers of at most 32
/// digits, closer together than 2^20 per login and far closer than random numbers of their
/// length would be.
fn sequential(ids: &[String]) -> Option<String> {
    if ids.iter().collect::<HashSet<_>>().len() < 2 {
        return None;
    }
    let first = ids.first()?;
    let shared = ids.iter().skip(1).fold(first.len(), |len, id| {
        first
            .bytes()
            .zip(id.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count()
    });
    let label_len = first
        .as_bytes()
        .get(..shared)?
        .iter()
        .rposition(|b| !b.is_ascii_hexdigit())
        .map_or(0, |i| i + 1);
    let digits: Vec<&str> = ids
        .iter()
        .map(|id| id.get(label_len..))
        .collect::<Option<_>>()?;
    if digits.iter().any(|d| d.is_empty() || d.len() > 32) {
        return None;
    }
    let (radix, kind) = if digits.iter().all(|d| d.bytes().all(|b| b.is_ascii_digit())) {
        (10, "decimal")
    } else if digits
        .iter()
        .all(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        (16, "hexadecimal")
    } else {
        return None;
    };
    let numbers: Vec<u128> = digits
        .iter()
        .map(|d| u128::from_str_radix(d, radix).ok())
        .collect::<Option<_>>()?;
    let spread = numbers.iter().max()? - numbers.iter().min()?;
    let logins = u128::try_from(ids.len()).unwrap_or(u128::MAX);
    let longest = digits.iter().map(|d| d.len()).max()?;
    let space = u32::try_from(longest)
        .ok()
        .and_then(|len| u128::from(radix).checked_pow(len))
        .unwrap_or(u128::MAX);
    if spread >= (1u128 << 20).saturating_mul(logins) || spread.saturating_mul(16) >= space {
        return None;
    }
    let label = first.get(..label_len).unwrap_or_default();
    Some(if label.is_empty() {
        format!("ids are {kind} numbers within {spread} of each other")
    } else {
        format!(
            "ids are \"{}\" and {kind} numbers within {spread} of each other",
            display_text(label, MAX_PREFIX_TEXT_CHARS)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    /// xorshift64: deterministic test data, no dependency.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next().to_le_bytes()[3]).collect()
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    const USERS: &[&str] = &["alice", "bob", "carol", "ace", "dee", "Bad"];

    #[test]
    fn base64url_json_naming_the_user_is_readable() {
        let nonce = hex(&XorShift(7).bytes(32));
        let claims = format!(r#"{{"uid":1,"user":"alice","role":"user","nonce":"{nonce}"}}"#);
        let id = URL_SAFE_NO_PAD.encode(&claims);
        let r = readable_content(&id, USERS).expect("readable");
        assert_eq!(r.encoding, Encoding::Base64Url);
        assert_eq!(r.contains_username.as_deref(), Some("alice"));
        assert!(
            r.text.starts_with(r#"{"uid":1,"user":"alice""#),
            "{}",
            r.text
        );
        assert!(r.text.chars().count() <= MAX_TEXT_CHARS);
    }

    #[test]
    fn standard_base64_with_padding_is_reported_as_base64() {
        let id = STANDARD.encode("user=carol;exp=1700000000");
        assert!(id.ends_with('='));
        let r = readable_content(&id, USERS).expect("readable");
        assert_eq!(r.encoding, Encoding::Base64);
        assert_eq!(r.contains_username.as_deref(), Some("carol"));
    }

    #[test]
    fn jwt_shows_decoded_header_and_payload() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"bob","admin":false}"#);
        let jwt = format!("{header}.{payload}.c2lnbmF0dXJlLWJ5dGVz");
        let r = readable_content(&jwt, USERS).expect("readable");
        assert_eq!(r.encoding, Encoding::Jwt);
        assert_eq!(
            r.text,
            r#"{"alg":"HS256","typ":"JWT"}.{"sub":"bob","admin":false}"#
        );
        assert_eq!(r.contains_username.as_deref(), Some("bob"));
    }

    #[test]
    fn dotted_base64_without_alg_header_is_not_a_jwt() {
        // itsdangerous / Flask: payload.timestamp.signature
        let payload = URL_SAFE_NO_PAD.encode(r#"{"user_id":"alice"}"#);
        let r = readable_content(&format!("{payload}.ZmRvYw.kP3xWq9sYt0bVn2m"), USERS)
            .expect("readable");
        assert_eq!(r.encoding, Encoding::Base64Url);
        assert_eq!(r.contains_username.as_deref(), Some("alice"));
    }

    #[test]
    fn plain_username_is_readable() {
        let r = readable_content("alice-1234", USERS).expect("readable");
        assert_eq!(r.encoding, Encoding::Plain);
        assert_eq!(r.text, "alice-1234");
        assert_eq!(r.contains_username.as_deref(), Some("alice"));
        let r = readable_content("ALICE1234", USERS).expect("case-insensitive");
        assert_eq!(r.contains_username.as_deref(), Some("alice"));
    }

    #[test]
    fn percent_encoded_username_is_reported_as_percent_encoded() {
        let r = readable_content("bob%40example.com", USERS).expect("readable");
        assert_eq!(r.encoding, Encoding::PercentEncoded);
        assert_eq!(r.text, "bob@example.com");
    }

    #[test]
    fn hex_of_text_is_readable() {
        let r = readable_content(&hex(b"user=alice;role=admin"), USERS).expect("readable");
        assert_eq!(r.encoding, Encoding::Hex);
        assert_eq!(r.text, "user=alice;role=admin");
        assert_eq!(r.contains_username.as_deref(), Some("alice"));
    }

    #[test]
    fn percent_encoded_json_is_json() {
        let r = readable_content(
            "%7B%22user%22%3A%22alice%22%2C%22role%22%3A%22admin%22%7D",
            USERS,
        )
        .expect("readable");
        assert_eq!(r.encoding, Encoding::Json);
        assert_eq!(r.text, r#"{"user":"alice","role":"admin"}"#);
        assert_eq!(r.contains_username.as_deref(), Some("alice"));
    }

    #[test]
    fn express_json_cookie_is_json() {
        let r = readable_content(r#"s:j:{"uid":7}.Zm9vYmFyYmF6cXV4"#, USERS).expect("readable");
        assert_eq!(r.encoding, Encoding::Json);
        assert_eq!(r.text, r#"{"uid":7}"#);
        assert_eq!(r.contains_username, None);
    }

    #[test]
    fn express_signed_random_id_is_opaque() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200 {
            let id = URL_SAFE_NO_PAD.encode(rng.bytes(24));
            let sig = STANDARD.encode(rng.bytes(32));
            let sig = sig.trim_end_matches('=');
            assert_eq!(readable_content(&format!("s:{id}.{sig}"), USERS), None);
            assert_eq!(readable_content(&format!("s%3A{id}.{sig}"), USERS), None);
        }
    }

    #[test]
    fn express_signed_readable_payload_is_found() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"user":"carol"}"#);
        let r = readable_content(&format!("s%3A{payload}.aGVsbG8gd29ybGQhIQ"), USERS)
            .expect("readable");
        assert_eq!(r.encoding, Encoding::Base64Url);
        assert_eq!(r.contains_username.as_deref(), Some("carol"));
    }

    #[test]
    fn random_ids_have_no_false_positives() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut hits = Vec::new();
        for _ in 0..2000 {
            let bytes = rng.bytes(32);
            for id in [
                URL_SAFE_NO_PAD.encode(&bytes),
                STANDARD.encode(&bytes),
                hex(&bytes),
            ] {
                if let Some(r) = readable_content(&id, USERS) {
                    hits.push((id, r));
                }
            }
        }
        assert!(hits.is_empty(), "{} false positives: {hits:?}", hits.len());
    }

    #[test]
    fn short_names_inside_random_tokens_are_chance() {
        assert_eq!(readable_content("Xq7bobZ9kLmN3pQr8sTuVwYz", USERS), None);
        assert_eq!(readable_content("9f3ace7d1b2c4e5f6a7b8c9d", USERS), None);
        // ...but count when they stand apart.
        let r = readable_content("bob-9f3a7d1b", USERS).expect("readable");
        assert_eq!(r.contains_username.as_deref(), Some("bob"));
    }

    #[test]
    fn names_shorter_than_three_characters_are_ignored() {
        assert_eq!(readable_content("al-1234567", &["al"]), None);
    }

    #[test]
    fn text_is_cut_to_160_chars_with_controls_escaped() {
        let long = format!("line1\nline2 {}", "x".repeat(400));
        let r = readable_content(&hex(long.as_bytes()), &[]).expect("readable");
        assert!(r.text.starts_with("line1\\nline2"), "{}", r.text);
        assert_eq!(r.text.chars().count(), MAX_TEXT_CHARS);
        assert!(r.text.ends_with('…'));
    }

    #[test]
    fn never_panics_on_random_input() {
        let mut rng = XorShift(42);
        let tricky = b"%%3A.:|--=={}[]\"'\\eyJ0a1fF-_+/ \x00\x7f\xc3\xa9\xff";
        for round in 0..4000 {
            let len = (rng.next() % 120) as usize;
            let bytes: Vec<u8> = if round % 2 == 0 {
                rng.bytes(len)
            } else {
                (0..len)
                    .map(|_| tricky[(rng.next() % tricky.len() as u64) as usize])
                    .collect()
            };
            let s = String::from_utf8_lossy(&bytes);
            if let Some(r) = readable_content(&s, USERS) {
                assert!(r.text.chars().count() <= MAX_TEXT_CHARS);
            }
            let ids: Vec<String> = s.split('.').map(str::to_owned).collect();
            let a = analyse_sample(&ids);
            assert!(a.estimated_bits >= 0.0);
        }
        assert_eq!(analyse_sample(&[]).samples, 0);
        assert_eq!(analyse_sample(&[String::new(), String::new()]).unique, 1);
    }

    fn sample(n: usize, mut make: impl FnMut() -> String) -> Vec<String> {
        (0..n).map(|_| make()).collect()
    }

    #[test]
    fn random_16_byte_base64url_ids_estimate_at_least_128_bits() {
        let mut rng = XorShift(11);
        let ids = sample(32, || URL_SAFE_NO_PAD.encode(rng.bytes(16)));
        let a = analyse_sample(&ids);
        assert_eq!(
            (a.alphabet, a.min_len, a.max_len),
            (Alphabet::Base64Url, 22, 22)
        );
        assert!(a.estimated_bits >= 128.0, "{}", a.estimated_bits);
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        assert!(problems_with_min_bits(&a, 128).is_empty());
    }

    #[test]
    fn random_32_byte_base64url_ids_estimate_at_least_128_bits() {
        let mut rng = XorShift(12);
        let ids = sample(32, || URL_SAFE_NO_PAD.encode(rng.bytes(32)));
        let a = analyse_sample(&ids);
        assert_eq!(a.max_len, 43);
        assert!(a.estimated_bits >= 128.0, "{}", a.estimated_bits);
        assert!(a.problems.is_empty(), "{:?}", a.problems);
    }

    #[test]
    fn random_32_byte_hex_ids_estimate_at_least_128_bits() {
        let mut rng = XorShift(13);
        let ids = sample(32, || hex(&rng.bytes(32)));
        let a = analyse_sample(&ids);
        assert_eq!((a.alphabet, a.bits_per_char), (Alphabet::Hex, 4.0));
        assert!(a.estimated_bits >= 128.0, "{}", a.estimated_bits);
        assert_eq!(a.sequential, None);
        assert!(a.problems.is_empty(), "{:?}", a.problems);
    }

    #[test]
    fn counter_ids_are_sequential_and_far_below_128_bits() {
        let base = u128::from(XorShift(14).next());
        let ids: Vec<String> = (0..32).map(|i| format!("{:032x}", base + i)).collect();
        let a = analyse_sample(&ids);
        assert!(a.estimated_bits < 40.0, "{}", a.estimated_bits);
        assert_eq!(
            a.sequential.as_deref(),
            Some("ids are hexadecimal numbers within 31 of each other")
        );
        assert!(a.problems.iter().any(|p| p.contains("sequential")));
        let strict = problems_with_min_bits(&a, 128);
        assert!(
            strict
                .iter()
                .any(|p| p.ends_with("bits is below the required 128"))
        );
    }

    #[test]
    fn labelled_decimal_counter_is_sequential() {
        let ids: Vec<String> = (0..8)
            .map(|i| format!("sess_{}", 1_700_000_000_000u64 + i * 37))
            .collect();
        let a = analyse_sample(&ids);
        assert_eq!(
            a.sequential.as_deref(),
            Some("ids are \"sess_\" and decimal numbers within 259 of each other")
        );
    }

    #[test]
    fn fixed_prefix_with_8_random_hex_chars_is_below_128_bits() {
        let mut rng = XorShift(15);
        let ids = sample(32, || format!("3f2a9c0b7d1e4f60{}", hex(&rng.bytes(4))));
        let a = analyse_sample(&ids);
        assert_eq!(a.common_prefix, 16);
        assert!(a.estimated_bits < 128.0, "{}", a.estimated_bits);
        assert_eq!(a.sequential, None);
        assert!(
            a.problems
                .contains(&"all ids start with the same 16 characters \"3f2a9c0b7d1e4f60\"".into()),
            "{:?}",
            a.problems
        );
    }

    #[test]
    fn min_bits_replaces_the_default_floor() {
        let mut rng = XorShift(16);
        let ids = sample(32, || hex(&rng.bytes(10)));
        let a = analyse_sample(&ids);
        assert!(a.estimated_bits >= 64.0 && a.estimated_bits < 128.0);
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        assert_eq!(
            problems_with_min_bits(&a, 128),
            vec![format!(
                "estimated entropy {} bits is below the required 128",
                a.estimated_bits.floor()
            )]
        );
        let b = analyse_sample(&sample(32, || hex(&rng.bytes(4))));
        assert!(!b.problems.is_empty());
        assert!(problems_with_min_bits(&b, 16).is_empty());
    }

    #[test]
    fn duplicates_and_too_few_samples_are_problems() {
        let ids: Vec<String> = ["a", "b", "a"].iter().map(|s| s.to_string()).collect();
        let a = analyse_sample(&ids);
        assert!(a.problems.iter().any(|p| p.starts_with("too few samples")));
        assert!(
            a.problems
                .contains(&"1 duplicate ids in 3 logins".to_string())
        );
    }

    #[test]
    fn alphabet_is_the_smallest_covering_one() {
        assert_eq!(Alphabet::covering(["0123", "99"]), Alphabet::Decimal);
        assert_eq!(Alphabet::covering(["00ff", "ABcd"]), Alphabet::Hex);
        assert_eq!(
            Alphabet::covering(["MFRGG2LT", "ABZ7===="]),
            Alphabet::Base32
        );
        assert_eq!(Alphabet::covering(["abcXYZ019"]), Alphabet::Alnum);
        assert_eq!(Alphabet::covering(["ab-_"]), Alphabet::Base64Url);
        assert_eq!(Alphabet::covering(["ab+/=="]), Alphabet::Base64);
        assert_eq!(Alphabet::covering(["a-b+c"]), Alphabet::Printable);
        assert_eq!(Alphabet::covering(["é"]), Alphabet::Other);
    }
}
