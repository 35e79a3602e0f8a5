//! The secret set: registered secrets (passwords, session ids, tokens, planted and mutated
//! ids) and their redaction, in every spelling a server may echo them in, by visible,
//! shell-safe placeholders `<redacted:LABEL>`.
//!
//! A secret of four or more characters is found as a substring: raw, in hex and base64 (the
//! block spellings of [`super::encode::spellings`]), and under any character escaping
//! (searched in one and two decoded layers of the text, see [`super::encode::decode_layer`]).
//! A shorter secret would match noise everywhere; it is redacted where it is the whole value
//! of a field ([`super::fields`]) — in target text only ([`SecretSet::redact`]), never in a
//! finished report ([`SecretSet::seal`]), whose own words it would otherwise eat.
//!
//! Every match is found (overlapping matches included) and the union of their spans is
//! replaced, so two overlapping secrets never leave a piece of either behind. The search is
//! Aho–Corasick over all patterns at once; patterns registered during a run go to small
//! automata that are merged as they grow (at most a logarithmic number of them).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::encode::{self, Spelling};
use super::fields;

/// Secrets shorter than this many characters are redacted by position only (as whole field
/// values), not wherever their characters occur.
pub const MIN_SECRET_CHARS: usize = 4;

/// The placeholder that replaces a secret registered under `label`: `<redacted:LABEL>`.
pub fn placeholder(label: &str) -> String {
    format!("<redacted:{label}>")
}

/// Registered secrets and the redaction of them in strings and bytes.
///
/// Cheap to clone; clones share the same secret list.
#[derive(Clone, Default)]
pub struct SecretSet {
    inner: Arc<RwLock<Secrets>>,
}

impl fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secrets themselves.
        f.debug_struct("SecretSet")
            .field("secrets", &self.len())
            .finish()
    }
}

struct Pattern {
    bytes: Vec<u8>,
    label: u32,
    kind: Spelling,
}

/// Patterns with the automaton that finds them (`None` if it could not be built: then a
/// plain search of each pattern).
struct Tier {
    patterns: Vec<Pattern>,
    automaton: Option<AhoCorasick>,
}

impl Tier {
    fn new(patterns: Vec<Pattern>) -> Tier {
        // The noncontiguous NFA builds in about half the time of the default (which converts
        // it to a contiguous one); automata are rebuilt as secrets arrive during a run.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::NoncontiguousNFA))
            .build(patterns.iter().map(|p| &p.bytes))
            .ok();
        Tier {
            patterns,
            automaton,
        }
    }

    /// Every occurrence (overlapping ones too) of every pattern: (start, end, pattern).
    fn find(&self, haystack: &[u8], out: &mut Vec<(usize, usize, usize)>) {
        match &self.automaton {
            Some(ac) => {
                for m in ac.find_overlapping_iter(haystack) {
                    out.push((m.start(), m.end(), m.pattern().as_usize()));
                }
            }
            None => {
                for (i, p) in self.patterns.iter().enumerate() {
                    for (at, w) in haystack.windows(p.bytes.len()).enumerate() {
                        if w == p.bytes.as_slice() {
                            out.push((at, at + w.len(), i));
                        }
                    }
                }
            }
        }
    }
}

#[derive(Default)]
struct Secrets {
    labels: Vec<String>,
    known_labels: HashSet<String>,
    /// Each registered secret and its label (the first one it was registered with).
    secrets: HashMap<String, u32>,
    seen_patterns: HashSet<Vec<u8>>,
    tiers: Vec<Tier>,
    /// Patterns not in an automaton yet, found through their first three bytes (a run
    /// registers secrets between searches all the time; automata are built for thousands).
    pending: Vec<Pattern>,
    pending_index: HashMap<[u8; 3], Vec<usize>>,
    /// Secrets of 1–3 characters ([unified](encode::unify)), redacted by position.
    short: Vec<(Vec<u8>, u32)>,
}

/// Patterns kept in the prefix index before an automaton is built for them. Registration
/// happens all through a run and each build costs more than the searches it saves below
/// this size: with 2,048 the demo spent a quarter of its instructions building automata
/// (`cargo bench --bench parsers -- redaction`: registering 3,000 secrets 222 ms → 27 ms,
/// sealing a 65 KB report with them 1.5 ms → 4.5 ms).
const PENDING_MAX: usize = 65536;

/// A found secret: the span of the searched text and the label.
#[derive(Debug, Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    label: u32,
}

/// Keeps label characters that are safe in every output format and in a shell word.
fn clean_label(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ':' | '#' | '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Secrets {
    fn label_id(&mut self, label: &str) -> u32 {
        let label = clean_label(label);
        if let Some(i) = self.labels.iter().position(|l| *l == label) {
            return i as u32;
        }
        self.known_labels.insert(label.clone());
        self.labels.push(label);
        (self.labels.len() - 1) as u32
    }

    /// Moves pending patterns into an automaton once there are many, merging automata of
    /// similar size (each pattern is rebuilt a logarithmic number of times).
    fn flush(&mut self) {
        if self.pending.len() < PENDING_MAX {
            return;
        }
        self.pending_index.clear();
        let mut patterns = std::mem::take(&mut self.pending);
        while let Some(last) = self.tiers.last()
            && last.patterns.len() <= patterns.len()
        {
            if let Some(t) = self.tiers.pop() {
                patterns.extend(t.patterns);
            }
        }
        self.tiers.push(Tier::new(patterns));
    }

    /// Spans of `<redacted:LABEL>` placeholders of known labels in `bytes`: never searched
    /// into, so sealing an already-redacted text leaves its placeholders alone.
    fn placeholders(&self, bytes: &[u8]) -> Vec<(usize, usize)> {
        const OPEN: &[u8] = b"<redacted:";
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(p) = find(&bytes[i..], OPEN) {
            let start = i + p;
            let label_start = start + OPEN.len();
            let close = bytes[label_start..]
                .iter()
                .take(200)
                .position(|b| *b == b'>');
            match close {
                Some(c)
                    if std::str::from_utf8(&bytes[label_start..label_start + c])
                        .is_ok_and(|l| self.known_labels.contains(l)) =>
                {
                    out.push((start, label_start + c + 1));
                    i = label_start + c + 1;
                }
                _ => i = label_start,
            }
        }
        out
    }

    /// Substring hits in one view of the text; `from` maps view bytes to text spans (none:
    /// the view is the text).
    fn search_view(&self, view: &[u8], from: Option<&[(u32, u32)]>, hits: &mut Vec<Hit>) {
        let protected = self.placeholders(view);
        let mut found = Vec::new();
        let pending = Tier {
            patterns: Vec::new(),
            automaton: None,
        };
        for tier in self.tiers.iter().chain(std::iter::once(&pending)) {
            found.clear();
            let patterns = if tier.automaton.is_none() && tier.patterns.is_empty() {
                self.find_pending(view, &mut found);
                &self.pending
            } else {
                tier.find(view, &mut found);
                &tier.patterns
            };
            for &(mut a, mut b, p) in &found {
                let pattern = &patterns[p];
                if pattern.kind == Spelling::Base64 {
                    // The partial characters at either end carry bits of the secret too.
                    if a > 0 && view[a - 1] != b'=' && encode::is_base64_byte(view[a - 1]) {
                        a -= 1;
                    }
                    if b < view.len() && view[b] != b'=' && encode::is_base64_byte(view[b]) {
                        b += 1;
                    }
                    while b < view.len() && view[b] == b'=' {
                        b += 1;
                    }
                }
                if protected.iter().any(|&(s, e)| s <= a && b <= e) {
                    continue;
                }
                let (start, end) = match from {
                    None => (a, b),
                    Some(f) => (f[a].0 as usize, f[b - 1].1 as usize),
                };
                hits.push(Hit {
                    start,
                    end,
                    label: pattern.label,
                });
            }
        }
    }

    /// Occurrences of pending patterns, through the prefix index.
    fn find_pending(&self, view: &[u8], out: &mut Vec<(usize, usize, usize)>) {
        if self.pending.is_empty() {
            return;
        }
        for at in 0..view.len().saturating_sub(2) {
            let key = [view[at], view[at + 1], view[at + 2]];
            for &i in self.pending_index.get(&key).into_iter().flatten() {
                let p = &self.pending[i].bytes;
                if view[at..].starts_with(p) {
                    out.push((at, at + p.len(), i));
                }
            }
        }
    }

    /// Every substring hit in `text`, its first and second decoded layers.
    fn substring_hits(&self, text: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        if self.tiers.is_empty() && self.pending.is_empty() {
            return hits;
        }
        let view = encode::unify(text.to_vec());
        self.search_view(&view, None, &mut hits);
        if encode::has_escapes(text) {
            let d1 = encode::decode_layer(text);
            self.search_view(&d1.bytes, Some(&d1.from), &mut hits);
            if encode::has_escapes(&d1.bytes) {
                let d2 = encode::decode_layer(&d1.bytes);
                let from: Vec<(u32, u32)> = d2
                    .from
                    .iter()
                    .map(|&(s, e)| (d1.from[s as usize].0, d1.from[e as usize - 1].1))
                    .collect();
                self.search_view(&d2.bytes, Some(&from), &mut hits);
            }
        }
        hits
    }

    /// Field values of `text` equal to a short secret in some decoding.
    fn field_hits(&self, text: &[u8], hits: &mut Vec<Hit>) {
        if self.short.is_empty() {
            return;
        }
        let protected = self.placeholders(text);
        for (a, b) in fields::field_ranges(text) {
            if protected.iter().any(|&(s, e)| s <= a && b <= e) {
                continue;
            }
            let decodings = encode::field_decodings(&text[a..b]);
            if let Some((_, label)) = self
                .short
                .iter()
                .find(|(s, _)| decodings.iter().any(|d| d == s))
            {
                hits.push(Hit {
                    start: a,
                    end: b,
                    label: *label,
                });
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Replaces the union of the hits' spans, each merged span by the placeholder of its
/// longest hit's label; returns the new bytes and how many spans were replaced.
fn replace(
    text: &[u8],
    mut hits: Vec<Hit>,
    labels: &[String],
    placeholder: &dyn Fn(&str) -> String,
) -> (Vec<u8>, usize) {
    if hits.is_empty() {
        return (text.to_vec(), 0);
    }
    hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    let mut count = 0;
    let mut i = 0;
    while i < hits.len() {
        let (start, mut end) = (hits[i].start, hits[i].end);
        let mut best = hits[i];
        let mut j = i + 1;
        while j < hits.len() && hits[j].start < end {
            if hits[j].end - hits[j].start > best.end - best.start {
                best = hits[j];
            }
            end = end.max(hits[j].end);
            j += 1;
        }
        let start = start.max(at);
        out.extend_from_slice(&text[at..start]);
        let label = labels
            .get(best.label as usize)
            .map_or("secret", String::as_str);
        out.extend_from_slice(placeholder(label).as_bytes());
        at = end.max(start);
        count += 1;
        i = j;
    }
    out.extend_from_slice(&text[at.min(text.len())..]);
    (out, count)
}

impl SecretSet {
    /// Registers `secret` under `label` (e.g. `password:alice`, `session:alice`); labels
    /// keep only ASCII letters, digits and `:#-_.`. Registering a secret twice keeps the
    /// first label. Secrets of 1–3 characters are redacted by position only.
    pub fn register(&self, secret: &str, label: &str) {
        if secret.is_empty() {
            return;
        }
        let mut s = match self.inner.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if s.secrets.contains_key(secret) {
            return;
        }
        let id = s.label_id(label);
        s.secrets.insert(secret.to_owned(), id);
        if secret.chars().count() < MIN_SECRET_CHARS {
            s.short
                .push((encode::unify(secret.as_bytes().to_vec()), id));
            return;
        }
        for (bytes, kind) in encode::spellings(secret) {
            if s.seen_patterns.insert(bytes.clone()) {
                let key = [bytes[0], bytes[1], bytes[2]];
                let at = s.pending.len();
                s.pending_index.entry(key).or_default().push(at);
                s.pending.push(Pattern {
                    bytes,
                    label: id,
                    kind,
                });
            }
        }
    }

    /// How many distinct secrets are registered.
    pub fn len(&self) -> usize {
        self.inner.read().map(|s| s.secrets.len()).unwrap_or(0)
    }

    /// True when no secret is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` on the secrets with every registered pattern in an automaton.
    fn with_secrets<T>(&self, f: impl FnOnce(&Secrets) -> T) -> T {
        if let Ok(s) = self.inner.read()
            && s.pending.len() < PENDING_MAX
        {
            return f(&s);
        }
        let mut s = match self.inner.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        s.flush();
        f(&s)
    }

    /// Replaces every registered secret in target text `text`: substrings in every spelling,
    /// and short secrets that are a whole field value.
    pub fn redact(&self, text: &str) -> String {
        let out = self.redact_bytes(text.as_bytes());
        // Spans of valid UTF-8 text are cut at character boundaries but for pathological
        // escapes; then the lossy path keeps the result a string.
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// [`SecretSet::redact`] on bytes (a body).
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        self.with_secrets(|s| {
            let mut hits = s.substring_hits(bytes);
            s.field_hits(bytes, &mut hits);
            replace(bytes, hits, &s.labels, &placeholder).0
        })
    }

    /// Seals a finished output (a report, a script, a finding file): replaces every
    /// substring occurrence of a registered secret in any spelling with `placeholder(label)`
    /// and counts them. Short secrets are not searched (the output's own words would match).
    pub fn seal(&self, bytes: &[u8], placeholder: &dyn Fn(&str) -> String) -> (Vec<u8>, usize) {
        self.with_secrets(|s| {
            let hits = s.substring_hits(bytes);
            replace(bytes, hits, &s.labels, placeholder)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_secret_wins_and_short_secrets_only_as_whole_fields() {
        let secrets = SecretSet::default();
        secrets.register("abc", "short");
        secrets.register("abcd", "four");
        secrets.register("abcdefgh", "eight");
        assert_eq!(
            secrets.redact("abc abcd abcdefgh"),
            "abc <redacted:four> <redacted:eight>"
        );
        assert_eq!(
            secrets.redact("x=abc&y=abcx \"abc\""),
            "x=<redacted:short>&y=abcx \"<redacted:short>\""
        );
        let (sealed, n) = secrets.seal(b"x=abc", &placeholder);
        assert_eq!((sealed.as_slice(), n), (&b"x=abc"[..], 0));
    }

    #[test]
    fn redaction_does_not_mangle_placeholders() {
        let secrets = SecretSet::default();
        secrets.register("alice-session", "session:alice");
        secrets.register("alice", "password:alice");
        let once = secrets.redact("alice-session alice");
        assert_eq!(once, "<redacted:session:alice> <redacted:password:alice>");
        assert_eq!(secrets.redact(&once), once);
        assert_eq!(secrets.seal(once.as_bytes(), &placeholder).1, 0);
    }

    #[test]
    fn every_escaping_of_a_secret_is_redacted() {
        let secrets = SecretSet::default();
        secrets.register("p@ss word\"x&/", "pw");
        for echoed in [
            "p@ss word\"x&/",
            "p%40ss+word%22x%26%2F",
            "p%40ss%20word%22x%26%2f",
            "p@ss word\\\"x\\u0026\\/",
            "\\u0070\\u0040ss\\u0020word\\u0022x\\u0026\\u002F",
            "p@ss word&quot;x&amp;/",
            "p&#64;ss&#32;word&#x22;x&AMP;&#X2f;",
            // Two layers: a JSON-escaped HTML entity, a percent-encoded percent escape.
            "p&amp;#64;ss word\\\"x&amp;amp;/",
            "p%2540ss%2520word%2522x%2526/",
        ] {
            let text = format!("[{echoed}]");
            assert_eq!(secrets.redact(&text), "[<redacted:pw>]", "{echoed}");
        }
    }

    #[test]
    fn block_spellings_are_redacted_whole() {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let secrets = SecretSet::default();
        secrets.register("hunter2!", "pw");
        for echoed in [
            STANDARD.encode("hunter2!"),
            URL_SAFE_NO_PAD.encode("hunter2!"),
            STANDARD.encode("alice:hunter2!"),
            URL_SAFE_NO_PAD.encode("{\"p\":\"hunter2!\"}"),
            "68756e74657232".to_owned() + "21",
            "68756E7465723221".to_owned(),
        ] {
            let out = secrets.redact(&format!("<{echoed}>"));
            assert!(out.contains("<redacted:pw>"), "{echoed} → {out}");
            assert!(!out.contains(&echoed), "{echoed} → {out}");
        }
    }

    #[test]
    fn overlapping_secrets_leave_no_piece_behind() {
        let secrets = SecretSet::default();
        secrets.register("abcdef", "one");
        secrets.register("defghi", "two");
        assert_eq!(secrets.redact("xabcdefghix"), "x<redacted:one>x");
    }

    #[test]
    fn short_secrets_are_redacted_as_field_values_in_any_encoding() {
        let secrets = SecretSet::default();
        secrets.register("a&", "pw");
        for (text, want) in [
            ("user=alice&pass=a%26", "user=alice&pass=<redacted:pw>"),
            (r#"{"p":"a\u0026"}"#, r#"{"p":"<redacted:pw>"}"#),
            ("<p>a&amp;</p>", "<p><redacted:pw></p>"),
            ("echo=YSY=; Path=/", "echo=<redacted:pw>; Path=/"),
            ("a&", "<redacted:pw>"),
        ] {
            assert_eq!(secrets.redact(text), want);
        }
        assert_eq!(secrets.redact("a & b"), "a & b");
    }

    #[test]
    fn labels_are_made_safe_for_every_format() {
        let secrets = SecretSet::default();
        secrets.register("s3cr3t-value", "cookie:<x\" y>");
        assert_eq!(secrets.redact("s3cr3t-value"), "<redacted:cookie:_x__y_>");
    }

    #[test]
    fn thousands_of_secrets_sharing_prefixes_redact_exactly() {
        // A run registers every session id and token it sees; many share a prefix (`eyJh...`).
        let secrets = SecretSet::default();
        // Enough spellings to pass PENDING_MAX: automata are built and searched too.
        for i in 0..12000 {
            secrets.register(&format!("eyJhbGci{i:05}"), &format!("token#{i}"));
            if i % 2000 == 0 {
                // Redactions between registrations build automata incrementally.
                assert_eq!(secrets.redact("eyJhbGci"), "eyJhbGci");
            }
        }
        secrets.register("eyJhbGci00042-longer", "longer");
        secrets.register("eyJhbGci00042", "again"); // a second label for a known secret is ignored
        assert_eq!(
            secrets.redact("a eyJhbGci00042 b eyJhbGci00042-longer c eyJhbGci02999d eyJhbGciXYZ"),
            "a <redacted:token#42> b <redacted:longer> c <redacted:token#2999>d eyJhbGciXYZ"
        );
        assert_eq!(secrets.len(), 12001);
        assert!(format!("{secrets:?}").contains("secrets: 12001"));
        let tiers = secrets.inner.read().map(|s| s.tiers.len()).unwrap_or(0);
        assert!((1..=12).contains(&tiers), "{tiers} automata");
    }
}
