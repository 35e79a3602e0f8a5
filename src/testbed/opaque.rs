//! The server-side records of opaque access tokens (the `opaque-access-tokens` quirk).
//!
//! This file owns the bounded table from an opaque access token to what it stands for (user,
//! `jti`, expiry). It must not know HTTP, flaws or quirks: `tokens` decides when to issue and
//! how to check a record, `verify` when to look one up. The oldest records are evicted first.

use std::collections::{HashMap, VecDeque};

/// Most opaque access tokens remembered at once; the oldest is forgotten (and then refused as
/// unknown) to make room.
pub(crate) const MAX_OPAQUE_TOKENS: usize = 100_000;

/// What an opaque access token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpaqueRecord {
    /// The user (or, for a client's own grant, the client id) it was issued to.
    pub(crate) user: String,
    /// Its id, as a JWT's `jti` would be: how families and the deny-list know it.
    pub(crate) jti: String,
    /// When it expires, in seconds since the epoch (`None`: never).
    pub(crate) exp: Option<u64>,
}

/// The bounded table of opaque access tokens.
#[derive(Debug)]
pub(crate) struct OpaqueTokens {
    records: HashMap<String, OpaqueRecord>,
    /// Insertion order, oldest first; holds exactly the keys of `records`.
    order: VecDeque<String>,
    capacity: usize,
}

impl Default for OpaqueTokens {
    fn default() -> Self {
        OpaqueTokens::with_capacity(MAX_OPAQUE_TOKENS)
    }
}

impl OpaqueTokens {
    fn with_capacity(capacity: usize) -> Self {
        OpaqueTokens {
            records: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Remembers `token` (a fresh random string) as standing for `record`, forgetting the
    /// oldest tokens when full.
    pub(crate) fn insert(&mut self, token: String, record: OpaqueRecord) {
        if self.records.contains_key(&token) {
            return;
        }
        while self.records.len() >= self.capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.records.remove(&oldest);
        }
        self.order.push_back(token.clone());
        self.records.insert(token, record);
    }

    /// What `token` stands for, expired or not.
    pub(crate) fn get(&self, token: &str) -> Option<&OpaqueRecord> {
        self.records.get(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(jti: &str) -> OpaqueRecord {
        OpaqueRecord {
            user: "alice".into(),
            jti: jti.into(),
            exp: Some(1),
        }
    }

    #[test]
    fn oldest_tokens_are_forgotten_first() {
        let mut table = OpaqueTokens::with_capacity(2);
        for (token, jti) in [("a", "1"), ("b", "2"), ("c", "3")] {
            table.insert(token.into(), record(jti));
        }
        assert_eq!(table.get("a"), None);
        assert_eq!(table.get("b"), Some(&record("2")));
        assert_eq!(table.get("c"), Some(&record("3")));
        assert_eq!(table.records.len(), table.order.len());
    }
}
