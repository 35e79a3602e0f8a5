//! The secret set: registered secrets (passwords, session ids, tokens) and the one-pass
//! string redaction that replaces them with visible, shell-safe placeholders.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

/// Secrets shorter than this many characters are ignored: they would redact noise.
pub const MIN_SECRET_CHARS: usize = 4;

/// The placeholder that replaces a secret registered under `label`: `<redacted:LABEL>`.
pub fn placeholder(label: &str) -> String {
    format!("<redacted:{label}>")
}

/// Registered secrets and the redaction of them in strings and bytes.
///
/// Cheap to clone; clones share the same secret list. Besides the secret itself, its
/// form-urlencoded, percent-encoded and JSON-escaped spellings are registered too, so a
/// password in a form body or a JSON string is caught.
#[derive(Clone, Default)]
pub struct SecretSet {
    secrets: Arc<RwLock<Secrets>>,
}

/// Registered secrets, indexed by their first four bytes so a redaction pass looks only at
/// the secrets that can start at each position (a run registers thousands: every session id
/// and token it sees).
#[derive(Default)]
struct Secrets {
    /// First four bytes → (secret, label), longest secret first.
    by_prefix: HashMap<[u8; 4], Vec<(String, String)>>,
    count: usize,
}

fn prefix(bytes: &[u8]) -> Option<[u8; 4]> {
    bytes.get(..4).and_then(|p| p.try_into().ok())
}

impl fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secrets themselves.
        f.debug_struct("SecretSet")
            .field("secrets", &self.len())
            .finish()
    }
}

/// The spellings of `secret` that are registered: as is, form-urlencoded, percent-encoded
/// and JSON-escaped.
fn spellings(secret: &str) -> [String; 4] {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(secret)
        .to_owned();
    [secret.to_owned(), form, percent, json]
}

impl SecretSet {
    /// Registers `secret` under `label` (e.g. `password:alice`, `session:alice`).
    /// Secrets shorter than 4 characters are ignored; registering a secret twice keeps the
    /// first label.
    pub fn register(&self, secret: &str, label: &str) {
        if secret.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        let mut secrets = match self.secrets.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        for variant in spellings(secret) {
            // At least four characters, so at least four bytes.
            let Some(key) = prefix(variant.as_bytes()) else {
                continue;
            };
            let bucket = secrets.by_prefix.entry(key).or_default();
            if bucket.iter().any(|(s, _)| *s == variant) {
                continue;
            }
            let at = bucket.partition_point(|(s, _)| s.len() >= variant.len());
            bucket.insert(at, (variant, label.to_owned()));
            secrets.count += 1;
        }
    }

    /// How many spellings of secrets are registered.
    pub fn len(&self) -> usize {
        self.secrets.read().map(|s| s.count).unwrap_or(0)
    }

    /// Replaces every occurrence of every registered secret in `text`.
    pub fn redact(&self, text: &str) -> String {
        let out = self.redact_bytes(text.as_bytes());
        // Matching valid UTF-8 needles in valid UTF-8 text only cuts at char boundaries,
        // so the result is valid UTF-8; the lossy path is never taken in practice.
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// Replaces every occurrence of every registered secret in `bytes`, in one left-to-right
    /// pass; where secrets overlap at a position, the longest wins.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let secrets = match self.secrets.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if secrets.count == 0 {
            return bytes.to_vec();
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        'outer: while i < bytes.len() {
            if let Some(bucket) = prefix(&bytes[i..]).and_then(|k| secrets.by_prefix.get(&k)) {
                for (secret, label) in bucket {
                    if bytes[i..].starts_with(secret.as_bytes()) {
                        out.extend_from_slice(placeholder(label).as_bytes());
                        i += secret.len();
                        continue 'outer;
                    }
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_ignored_and_longest_secret_wins() {
        let secrets = SecretSet::default();
        secrets.register("abc", "short");
        secrets.register("abcd", "four");
        secrets.register("abcdefgh", "eight");
        assert_eq!(
            secrets.redact("abc abcd abcdefgh"),
            "abc <redacted:four> <redacted:eight>"
        );
    }

    #[test]
    fn redaction_does_not_mangle_placeholders() {
        let secrets = SecretSet::default();
        secrets.register("alice-session", "session:alice");
        secrets.register("alice", "password:alice");
        assert_eq!(
            secrets.redact("alice-session alice"),
            "<redacted:session:alice> <redacted:password:alice>"
        );
    }

    #[test]
    fn form_percent_and_json_spellings_of_a_secret_are_redacted() {
        let secrets = SecretSet::default();
        secrets.register("p@ss word\"x", "password:alice");
        assert_eq!(
            secrets.redact("p%40ss+word%22x p%40ss%20word%22x p@ss word\\\"x"),
            "<redacted:password:alice> <redacted:password:alice> <redacted:password:alice>"
        );
    }

    #[test]
    fn thousands_of_secrets_sharing_prefixes_redact_exactly() {
        // A run registers every session id and token it sees; many share a prefix (`eyJh...`).
        let secrets = SecretSet::default();
        for i in 0..3000 {
            secrets.register(&format!("eyJhbGci{i:05}"), &format!("token#{i}"));
        }
        secrets.register("eyJhbGci00042-longer", "longer");
        secrets.register("eyJhbGci00042", "again"); // a second label for a known secret is ignored
        assert_eq!(
            secrets.redact("a eyJhbGci00042 b eyJhbGci00042-longer c eyJhbGci02999d eyJhbGciXYZ"),
            "a <redacted:token#42> b <redacted:longer> c <redacted:token#2999>d eyJhbGciXYZ"
        );
        assert_eq!(secrets.len(), 3001);
        assert!(format!("{secrets:?}").contains("secrets: 3001"));
    }
}
