//! The testbed's server-side session store: ids, CSRF tokens, expiry and the size bound.
//!
//! This file owns session records and how ids are minted and looked up, including the flawed
//! variants of both (`session-id-readable`, `session-id-predictable`, `session-prefix-match`,
//! the framework formats of the `session-id-<family>` flaws, written by `session_formats`)
//! and the padded standard base64 ids of the `percent-encoded-cookie` quirk.
//! It must not know about HTTP, cookies or users' passwords; handlers decide *when* to create,
//! look up or delete a session, the store decides only *how*.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::session_formats::{Family, SessionData, encode};

/// Most sessions kept at once; the oldest is evicted to make room.
pub(crate) const MAX_SESSIONS: usize = 100_000;
/// A session unused for this long is dead.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// A session older than this is dead, however busy.
pub(crate) const ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(8 * 60 * 60);
/// The shortest presented id the `session-prefix-match` flaw compares by prefix, and the
/// length of that prefix.
pub(crate) const PREFIX_MATCH_LEN: usize = 16;

/// 32 random bytes from the thread-local CSPRNG, base64url without padding (43 characters).
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// How ids are minted (the combination of the id-related flaws and quirks).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IdScheme {
    /// `session-id-readable`: the id is base64url JSON naming the user.
    pub(crate) readable: bool,
    /// `session-id-<family>`: the id is the user's data in a framework's session format.
    pub(crate) family: Option<Family>,
    /// `session-id-predictable`: the id (or, when readable, its nonce) is a counter.
    pub(crate) predictable: bool,
    /// `percent-encoded-cookie`: a random id is 32 bytes in padded standard base64 (44
    /// characters, `+` and `/` possible, one trailing `=`) instead of base64url. The id flaws
    /// keep their own forms.
    pub(crate) standard_base64: bool,
}

/// One server-side session record.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// `None` for an anonymous pre-login session.
    pub(crate) user: Option<String>,
    /// The CSRF token bound to this session.
    pub(crate) csrf_token: String,
    /// When the session was created (for the absolute timeout).
    pub(crate) created: Instant,
    /// When the session was last used (for the idle timeout).
    last_seen: Instant,
    /// Insertion sequence number: key into `Store::order`.
    seq: u64,
}

impl Session {
    fn is_live(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_seen) <= IDLE_TIMEOUT
            && now.saturating_duration_since(self.created) <= ABSOLUTE_TIMEOUT
    }
}

/// The bounded in-memory session store.
#[derive(Debug)]
pub(crate) struct Store {
    sessions: HashMap<String, Session>,
    /// Insertion order, oldest first: seq → id. Kept in step with `sessions`.
    order: BTreeMap<u64, String>,
    next_seq: u64,
    /// Next id under `session-id-predictable`; starts at a random u64.
    counter: u128,
    scheme: IdScheme,
    capacity: usize,
}

impl Store {
    /// An empty store minting ids with `scheme`.
    pub(crate) fn new(scheme: IdScheme) -> Self {
        Self::with_capacity(scheme, MAX_SESSIONS)
    }

    fn with_capacity(scheme: IdScheme, capacity: usize) -> Self {
        Store {
            sessions: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            counter: u128::from(rand::random::<u64>()),
            scheme,
            capacity: capacity.max(1),
        }
    }

    /// Number of records held (live or not yet purged).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }

    /// A fresh id for a session of `user`, per the id scheme. Never the id of a held record.
    pub(crate) fn mint_id(&mut self, user: Option<&str>) -> String {
        loop {
            let id = self.mint_candidate(user);
            if !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }

    fn mint_candidate(&mut self, user: Option<&str>) -> String {
        let core = if self.scheme.predictable {
            let value = self.counter;
            self.counter = self.counter.wrapping_add(1);
            format!("{value:032x}")
        } else if self.scheme.readable || self.scheme.family.is_some() {
            rand::random::<[u8; 32]>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        } else if self.scheme.standard_base64 {
            return STANDARD.encode(rand::random::<[u8; 32]>());
        } else {
            return random_token();
        };
        let (uid, role) = match user {
            Some(name) => (user_number(name), Some("user")),
            None => (0, None),
        };
        if let Some(family) = self.scheme.family {
            let data = SessionData {
                uid: u32::try_from(uid).unwrap_or(u32::MAX),
                user,
                role,
                nonce: &core,
            };
            return encode(family, &data);
        }
        if !self.scheme.readable {
            return core;
        }
        let claims = serde_json::json!({ "uid": uid, "user": user, "role": role, "nonce": core });
        URL_SAFE_NO_PAD.encode(claims.to_string())
    }

    /// Stores a new session under `id` (an id from [`Store::mint_id`], or an adopted one),
    /// evicting dead records and then the oldest ones if the store is full. Returns the
    /// session's CSRF token.
    pub(crate) fn insert(&mut self, id: String, user: Option<String>, now: Instant) -> String {
        self.remove(&id);
        if self.sessions.len() >= self.capacity {
            self.purge_dead(now);
        }
        while self.sessions.len() >= self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.sessions.remove(&oldest);
        }
        let csrf_token = random_token();
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, id.clone());
        self.sessions.insert(
            id,
            Session {
                user,
                csrf_token: csrf_token.clone(),
                created: now,
                last_seen: now,
                seq,
            },
        );
        csrf_token
    }

    /// The live session named by `presented`, touched (its idle clock restarted). Returns the
    /// id it is stored under, which differs from `presented` only with `prefix_match`.
    ///
    /// A dead record found on the way is removed.
    pub(crate) fn lookup(
        &mut self,
        presented: &str,
        prefix_match: bool,
        now: Instant,
    ) -> Option<(String, Session)> {
        let id = match self.sessions.get(presented) {
            Some(_) => presented.to_owned(),
            None if prefix_match => self.find_by_prefix(presented, now)?,
            None => return None,
        };
        let session = self.sessions.get_mut(&id)?;
        if !session.is_live(now) {
            self.remove(&id);
            return None;
        }
        session.last_seen = now;
        let session = session.clone();
        Some((id, session))
    }

    /// The flawed lookup: the oldest live session whose id starts with the first
    /// [`PREFIX_MATCH_LEN`] bytes of `presented`.
    fn find_by_prefix(&self, presented: &str, now: Instant) -> Option<String> {
        // `get` is `None` when byte 16 is inside a multi-byte character; such a prefix is not
        // ASCII and cannot start any id we mint, so refusing is the same answer.
        let prefix = presented.get(..PREFIX_MATCH_LEN)?;
        self.sessions
            .iter()
            .filter(|(id, s)| id.starts_with(prefix) && s.is_live(now))
            .min_by_key(|(_, s)| s.seq)
            .map(|(id, _)| id.clone())
    }

    /// Whether `id` names a held record (live or not), without touching it.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.sessions.contains_key(id)
    }

    /// Turns the session `id` into a session of `user`, keeping its id and CSRF token (the
    /// `session-fixation` flaw). Returns whether the session existed.
    pub(crate) fn upgrade_in_place(&mut self, id: &str, user: String) -> bool {
        match self.sessions.get_mut(id) {
            Some(session) => {
                session.user = Some(user);
                true
            }
            None => false,
        }
    }

    /// Deletes the session `id`; returns whether it existed.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        match self.sessions.remove(id) {
            Some(session) => {
                self.order.remove(&session.seq);
                true
            }
            None => false,
        }
    }

    /// The ids of `user`'s live sessions.
    pub(crate) fn live_ids_of(&self, user: &str, now: Instant) -> Vec<String> {
        self.sessions
            .iter()
            .filter(|(_, s)| s.user.as_deref() == Some(user) && s.is_live(now))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Deletes every record (live or dead) of `user`; returns how many were live.
    pub(crate) fn remove_user(&mut self, user: &str, now: Instant) -> usize {
        let doomed: Vec<(String, bool)> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.user.as_deref() == Some(user))
            .map(|(id, s)| (id.clone(), s.is_live(now)))
            .collect();
        let mut live = 0;
        for (id, is_live) in doomed {
            self.remove(&id);
            live += usize::from(is_live);
        }
        live
    }

    fn purge_dead(&mut self, now: Instant) {
        let dead: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| !s.is_live(now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in dead {
            self.remove(&id);
        }
    }
}

/// A stable small number per demo user (`uid` in readable ids): its 1-based position in
/// [`super::accounts::DEMO_USERS`], 0 if unknown.
fn user_number(name: &str) -> usize {
    super::accounts::DEMO_USERS
        .iter()
        .position(|(user, _)| *user == name)
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_ids_are_43_char_base64url_and_distinct() {
        let mut store = Store::new(IdScheme::default());
        let a = store.mint_id(None);
        let b = store.mint_id(None);
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    }

    #[test]
    fn standard_base64_ids_are_padded_44_chars() {
        let mut store = Store::new(IdScheme {
            standard_base64: true,
            ..IdScheme::default()
        });
        let id = store.mint_id(None);
        assert_eq!(id.len(), 44);
        assert!(id.ends_with('='), "{id}");
        assert_eq!(STANDARD.decode(&id).unwrap().len(), 32);
    }

    #[test]
    fn sessions_expire_after_idle_timeout_and_absolute_timeout() {
        let mut store = Store::new(IdScheme::default());
        let t0 = Instant::now();
        let id = store.mint_id(None);
        store.insert(id.clone(), None, t0);
        assert!(store.lookup(&id, false, t0 + IDLE_TIMEOUT).is_some());
        assert!(
            store
                .lookup(&id, false, t0 + IDLE_TIMEOUT * 2 + Duration::from_secs(1))
                .is_none()
        );
        assert_eq!(store.len(), 0, "dead record is removed on lookup");

        let id = store.mint_id(None);
        store.insert(id.clone(), None, t0);
        let mut t = t0;
        while t < t0 + ABSOLUTE_TIMEOUT {
            t += Duration::from_secs(20 * 60);
            assert!(store.lookup(&id, false, t).is_some());
        }
        t += Duration::from_secs(20 * 60);
        assert!(store.lookup(&id, false, t).is_none());
    }

    #[test]
    fn full_store_evicts_oldest_first() {
        let mut store = Store::with_capacity(IdScheme::default(), 3);
        let now = Instant::now();
        let ids: Vec<String> = (0..4)
            .map(|_| {
                let id = store.mint_id(None);
                store.insert(id.clone(), None, now);
                id
            })
            .collect();
        assert_eq!(store.len(), 3);
        assert!(!store.contains(&ids[0]));
        assert!(ids[1..].iter().all(|id| store.contains(id)));
    }

    #[test]
    fn prefix_lookup_only_with_flag_and_never_panics_on_multibyte() {
        let mut store = Store::new(IdScheme::default());
        let now = Instant::now();
        let id = store.mint_id(None);
        store.insert(id.clone(), None, now);
        let tampered = format!("{}x", &id[..PREFIX_MATCH_LEN]);
        assert!(store.lookup(&tampered, false, now).is_none());
        assert_eq!(store.lookup(&tampered, true, now).unwrap().0, id);
        assert!(store.lookup(&"é".repeat(20), true, now).is_none());
        assert!(
            store
                .lookup(&id[..PREFIX_MATCH_LEN - 1], true, now)
                .is_none()
        );
    }

    #[test]
    fn predictable_ids_count_up_and_readable_ids_decode() {
        let mut store = Store::new(IdScheme {
            predictable: true,
            ..IdScheme::default()
        });
        let a = u128::from_str_radix(&store.mint_id(None), 16).unwrap();
        let b = u128::from_str_radix(&store.mint_id(None), 16).unwrap();
        assert_eq!(b, a + 1);

        let mut store = Store::new(IdScheme {
            readable: true,
            ..IdScheme::default()
        });
        let id = store.mint_id(Some("bob"));
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(id).unwrap()).unwrap();
        assert_eq!(claims["uid"], 2);
        assert_eq!(claims["user"], "bob");
        assert_eq!(claims["role"], "user");
        assert_eq!(claims["nonce"].as_str().unwrap().len(), 64);
    }
}
