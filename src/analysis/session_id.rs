//! Session ids judged on their content: [`readable_content`] says what anyone holding the
//! cookie can read in one id (the decoders in `decode` unwrap it; this file judges what they
//! found), [`analyse_sample`] says whether ids from fresh logins are unique, unpatterned and
//! carry enough entropy.
//!
//! Pure functions: no I/O, no printing, no clock, no randomness, and no panic on any input.
//! The verdict (pass/fail, which threshold applies) belongs to the rule that calls them.

use std::collections::HashSet;

use serde::Serialize;

use super::decode::{Decoded, Layer, Node, decodings, is_identifier, is_readable_text};

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

/// Longest [`SampleAnalysis::common_prefix_text`], in characters.
const MAX_PREFIX_TEXT_CHARS: usize = 40;

/// Why a session id counts as readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// It decodes to readable text (`user=carol;exp=…` in hex or base64).
    Text,
    /// It decodes to structured session state: a map with named keys, an object of a named
    /// class, a JSON document, a JWT.
    SessionState,
    /// A user name is in it, in plain sight or once decoded.
    NamesUser,
}

/// What anyone holding the cookie can read in a session id: the layers that unwrap it and
/// the structure inside. The structure holds the id's values; show it only through
/// [`Readable::sketch`] and [`Readable::redacted_json`], which show keys and types only.
#[derive(Debug, Clone, PartialEq)]
pub struct Readable {
    /// The layers, outermost first; the last is the format, e.g. `[Percent, Base64,
    /// PhpSerialize]` (`[Text]` alone: the value itself, in plain sight).
    pub layers: Vec<Layer>,
    /// The decoded structure (values included).
    pub structure: Node,
    /// The first of the given user names found in it (case-insensitive), spelt as given.
    pub contains_username: Option<String>,
    /// Why it counts as readable.
    pub why: Why,
    /// The user names looked for (to mark them in the views).
    names: Vec<String>,
}

impl Readable {
    /// The layers joined by ` → `, e.g. `percent → base64 → php-serialize`.
    pub fn chain(&self) -> String {
        let names: Vec<&str> = self.layers.iter().map(|l| l.name()).collect();
        names.join(" → ")
    }

    /// The structure with every value redacted: keys, types, lengths, and which string is
    /// the user name, e.g. `{"uid": <int>, "user": <string, 5 chars: the user name>}`.
    pub fn sketch(&self) -> String {
        self.structure.sketch(&|s| self.user_mark(s))
    }

    /// The same redacted view as JSON (for the JSON report's finding details):
    /// `{"layers": [...], "structure": {...}, "why": "session_state"}`.
    pub fn redacted_json(&self) -> serde_json::Value {
        serde_json::json!({
            "layers": self.layers,
            "structure": self.structure.redacted_json(&|s| self.user_mark(s)),
            "why": self.why,
            "contains_username": self.contains_username,
        })
    }

    fn user_mark(&self, s: &str) -> Option<bool> {
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let name = find_username(s, &names)?;
        Some(s.trim().eq_ignore_ascii_case(name))
    }
}

/// The formats the search tries, in words, for a passing verdict's note.
pub const TRIED: &str = "percent, hex, base64, base64url, zlib/gzip/deflate, the signed layouts \
    of itsdangerous, Django, Rack/Rails and express, JSON, JWT, key=value fields, PHP serialize, \
    Java serialization, Ruby Marshal, MessagePack and CBOR";

/// What anyone holding the cookie can read in the session id `value`, if anything.
///
/// Every structure [`decodings`] finds (up to [`crate::analysis::decode::MAX_LAYERS`] nested
/// layers: percent-encoding, hex, base64, compression, signed layouts, and the formats above)
/// is judged; the strongest reason wins:
/// - a user name (of at least [`MIN_USERNAME_CHARS`] characters) anywhere in it, in plain
///   sight or decoded — a short name inside a random-looking token (`…xQbobZ…`) only counts
///   when chance matches are negligible or it stands apart;
/// - structured session state: a JSON document or JWT, a map with at least one named key
///   (`uid`, `role`), an object of a named class (Java, PHP, Ruby), a list holding either;
/// - readable text behind an encoding (hex, base64, compression): UTF-8, at least 6
///   characters, at least 90 % printable.
///
/// A random nonce, signed or not, is none of these.
pub fn readable_content(value: &str, usernames: &[&str]) -> Option<Readable> {
    let names: Vec<&str> = usernames
        .iter()
        .copied()
        .filter(|name| name.chars().count() >= MIN_USERNAME_CHARS)
        .collect();
    // The strongest reason wins; at the same reason a structure beats text.
    let mut best: Option<((Why, bool), Decoded, Option<&str>)> = None;
    for d in decodings(value) {
        let user = user_in(&d.node, &names);
        let Some(why) = judge(&d, user.is_some()) else {
            continue;
        };
        let rank = (why, !matches!(d.node, Node::Text(_)));
        if best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
            best = Some((rank, d, user));
        }
    }
    let ((why, _), d, user) = best?;
    Some(Readable {
        layers: d.layers,
        structure: d.node,
        contains_username: user.map(str::to_owned),
        why,
        names: names.iter().map(|n| (*n).to_owned()).collect(),
    })
}

/// Why `d` is readable, if it is.
fn judge(d: &Decoded, names_user: bool) -> Option<Why> {
    if names_user {
        return Some(Why::NamesUser);
    }
    match (d.layers.last()?, &d.node) {
        (Layer::Text, Node::Text(s)) => {
            (d.layers.iter().any(|l| l.is_encoding()) && is_readable_text(s)).then_some(Why::Text)
        }
        (Layer::Json | Layer::Jwt, _) => Some(Why::SessionState),
        (_, node) => is_session_state(node).then_some(Why::SessionState),
    }
}

/// A map with a named key, an object of a named class, or a list holding session state or
/// a word.
fn is_session_state(node: &Node) -> bool {
    match node {
        Node::Map(pairs) => pairs.iter().any(|(k, v)| {
            matches!(k, Node::Text(s) | Node::Symbol(s) if is_identifier(s)) || is_session_state(v)
        }),
        Node::Object { class, .. } => !class.trim().is_empty(),
        Node::List(items) => items
            .iter()
            .any(|n| is_session_state(n) || matches!(n, Node::Text(s) if is_identifier(s))),
        _ => false,
    }
}

/// The first user name found in any text of `node`.
fn user_in<'a>(node: &Node, names: &[&'a str]) -> Option<&'a str> {
    let mut found = None;
    node.any_text(&mut |s| {
        found = find_username(s, names);
        found.is_some()
    });
    found
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
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    use crate::analysis::test_rng::XorShift;

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
        assert_eq!(r.chain(), "base64url → json");
        assert_eq!(r.why, Why::NamesUser);
        assert_eq!(r.contains_username.as_deref(), Some("alice"));
        assert_eq!(
            r.sketch(),
            r#"{"nonce": <string, 64 chars, hex>, "role": <string, 4 chars>, "uid": <int>, "user": <string, 5 chars: the user name>}"#
        );
        let json = r.redacted_json().to_string();
        assert!(
            !json.contains(&nonce) && json.contains(r#""user_name":"is""#),
            "{json}"
        );
        assert!(json.contains(r#""layers":["base64url","json"]"#), "{json}");
    }

    #[test]
    fn session_state_without_the_user_name_is_readable() {
        let id = URL_SAFE_NO_PAD.encode(r#"{"user_id":42,"role":"admin"}"#);
        let r = readable_content(&id, USERS).expect("readable");
        assert_eq!(
            (r.why, r.contains_username.as_deref()),
            (Why::SessionState, None)
        );
        assert_eq!(
            r.sketch(),
            r#"{"role": <string, 5 chars>, "user_id": <int>}"#
        );
    }

    #[test]
    fn standard_base64_text_is_readable_text() {
        let id = STANDARD.encode("user=carol;exp=1700000000");
        let r = readable_content(&id, USERS).expect("readable");
        assert_eq!(r.chain(), "base64 → fields");
        assert_eq!(r.contains_username.as_deref(), Some("carol"));
        let r = readable_content(&STANDARD.encode("hello there, world"), USERS).unwrap();
        assert_eq!((r.chain().as_str(), r.why), ("base64url → text", Why::Text));
        assert_eq!(r.sketch(), "<string, 18 chars, printable>");
    }

    #[test]
    fn jwt_shows_decoded_header_and_payload_keys() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"bob","admin":false}"#);
        let jwt = format!("{header}.{payload}.c2lnbmF0dXJlLWJ5dGVz");
        let r = readable_content(&jwt, USERS).expect("readable");
        assert_eq!(r.chain(), "jwt");
        assert_eq!(
            r.sketch(),
            r#"{"header": {"alg": <string, 5 chars>, "typ": <string, 3 chars>}, "payload": {"admin": <bool>, "sub": <string, 3 chars: the user name>}}"#
        );
        assert_eq!(r.contains_username.as_deref(), Some("bob"));
    }

    #[test]
    fn itsdangerous_payloads_are_read_compressed_or_not() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"user_id":"alice"}"#);
        let r = readable_content(&format!("{payload}.ZmRvYw.kP3xWq9sYt0bVn2m"), USERS)
            .expect("readable");
        assert_eq!(r.chain(), "itsdangerous → base64url → json");
        assert_eq!(r.contains_username.as_deref(), Some("alice"));
        let z = miniz_oxide::deflate::compress_to_vec_zlib(br#"{"_user_id":"7","role":"x"}"#, 6);
        let flask = format!(
            ".{}.ZVPxAA.79vZe_zjRiJLPyxB3rdd9NV4Wlo",
            URL_SAFE_NO_PAD.encode(z)
        );
        let r = readable_content(&flask, USERS).expect("readable");
        assert_eq!(r.chain(), "itsdangerous → base64url → zlib → json");
        assert_eq!(r.why, Why::SessionState);
    }

    #[test]
    fn plain_username_is_readable() {
        let r = readable_content("alice-1234", USERS).expect("readable");
        assert_eq!(r.chain(), "text");
        assert_eq!(r.sketch(), "<string, 10 chars: contains the user name>");
        assert_eq!(r.contains_username.as_deref(), Some("alice"));
        let r = readable_content("ALICE1234", USERS).expect("case-insensitive");
        assert_eq!(r.contains_username.as_deref(), Some("alice"));
        let r = readable_content("bob%40example.com", USERS).expect("readable");
        assert_eq!(r.chain(), "text", "in plain sight before percent-decoding");
        let r = readable_content("b%6Fb%2Dx", USERS).expect("readable");
        assert_eq!(r.chain(), "percent → text");
        assert_eq!(
            readable_content("0123%20abcdef", USERS),
            None,
            "percent alone hides nothing"
        );
    }

    #[test]
    fn hex_of_text_is_readable() {
        let r = readable_content(&hex(b"user=alice;role=admin"), USERS).expect("readable");
        assert_eq!(r.chain(), "hex → fields");
        assert_eq!(
            r.sketch(),
            r#"{"user": <string, 5 chars: the user name>, "role": <string, 5 chars>}"#
        );
    }

    #[test]
    fn percent_encoded_and_express_json_is_json() {
        let r = readable_content(
            "%7B%22user%22%3A%22alice%22%2C%22role%22%3A%22admin%22%7D",
            USERS,
        )
        .expect("readable");
        assert_eq!(r.chain(), "percent → json");
        let r = readable_content(r#"s:j:{"uid":7}.Zm9vYmFyYmF6cXV4"#, USERS).expect("readable");
        assert_eq!((r.chain().as_str(), r.why), ("json", Why::SessionState));
        assert_eq!(r.contains_username, None);
    }

    #[test]
    fn express_signed_random_id_is_opaque_and_readable_payload_found() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200 {
            let id = URL_SAFE_NO_PAD.encode(rng.bytes(24));
            let sig = STANDARD.encode(rng.bytes(32));
            let sig = sig.trim_end_matches('=');
            assert_eq!(readable_content(&format!("s:{id}.{sig}"), USERS), None);
            assert_eq!(readable_content(&format!("s%3A{id}.{sig}"), USERS), None);
        }
        let payload = URL_SAFE_NO_PAD.encode(r#"{"user":"carol"}"#);
        let r = readable_content(&format!("s%3A{payload}.aGVsbG8gd29ybGQhIQ"), USERS)
            .expect("readable");
        assert_eq!(r.chain(), "percent → express-signed → base64url → json");
        assert_eq!(r.contains_username.as_deref(), Some("carol"));
    }

    #[test]
    fn random_ids_have_no_false_positives() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut hits = Vec::new();
        for _ in 0..1000 {
            let bytes = rng.bytes(32);
            let sig = URL_SAFE_NO_PAD.encode(rng.bytes(20));
            for id in [
                URL_SAFE_NO_PAD.encode(&bytes),
                STANDARD.encode(&bytes),
                hex(&bytes),
                format!(".{}.ZVPxAA.{sig}", URL_SAFE_NO_PAD.encode(&bytes)),
                format!("{}:1r31eq:{sig}", URL_SAFE_NO_PAD.encode(&bytes)),
                format!("{}--{}", STANDARD.encode(&bytes), hex(&bytes[..20])),
            ] {
                if let Some(r) = readable_content(&id, USERS) {
                    hits.push((id, r.chain(), r.sketch()));
                }
            }
        }
        assert!(hits.is_empty(), "{} false positives: {hits:?}", hits.len());
    }

    /// The signed layouts a framework writes around a random id, with `payload` encoded as
    /// `form` picks (hex, base64, base64url).
    fn opaque_id(layout: usize, form: usize, payload: &[u8], sig: &[u8]) -> String {
        let p = match form % 3 {
            0 => hex(payload),
            1 => STANDARD.encode(payload),
            _ => URL_SAFE_NO_PAD.encode(payload),
        };
        let s = URL_SAFE_NO_PAD.encode(sig);
        match layout % 7 {
            0 => p,
            1 => format!("{p}.ZVPxAA.{s}"),
            2 => format!(".{p}.ZVPxAA.{s}"),
            3 => format!("{p}:1r31eq:{s}"),
            4 => format!("{p}--{}", hex(sig)),
            5 => format!("s:{p}.{s}"),
            _ => format!("s%3A{}.{s}", p.replace('+', "%2B").replace('/', "%2F")),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Random ids, alone or in any signed layout, never count as readable. The names are
        /// of five letters: a three-letter name stands apart by chance in about one random
        /// base64 id in 10^5 (`Bad+AAAA…`), which `short_names_inside_random_tokens_are_chance`
        /// covers and the rule's confirmation on a fresh login rules out.
        #[test]
        fn random_opaque_ids_are_never_readable(
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 16..64),
            sig in proptest::collection::vec(proptest::prelude::any::<u8>(), 16..32),
            layout in 0usize..7,
            form in 0usize..3,
        ) {
            let id = opaque_id(layout, form, &payload, &sig);
            let found = readable_content(&id, &["alice", "carol"]);
            proptest::prop_assert!(found.is_none(), "{id}: {:?}", found.map(|r| (r.chain(), r.sketch())));
        }
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
                assert!(r.sketch().chars().count() <= crate::analysis::decode::MAX_SKETCH_CHARS);
                let _ = r.redacted_json();
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
