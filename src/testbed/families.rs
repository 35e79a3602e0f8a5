//! The testbed's refresh-token families and its deny-list of revoked access tokens.
//!
//! This file owns the token state the bearer-token routes share: every grant that issues a
//! refresh token starts a *family* (user, client, the current refresh token, the tokens it
//! superseded, a revoked flag and the family's access tokens), indexed by refresh token and by
//! access-token `jti`. It must not know about HTTP or flaws: the handlers in `oauth` decide
//! *when* to rotate or revoke, this store only keeps the records. Everything is bounded: the
//! oldest families are evicted first, and each family keeps only its latest superseded tokens
//! and access-token ids.

use std::collections::{HashMap, HashSet, VecDeque};

/// Most families kept at once; the oldest is evicted to make room.
pub(crate) const MAX_FAMILIES: usize = 100_000;
/// Most indexed tokens (refresh tokens of every state plus access-token ids) kept at once.
const MAX_ENTRIES: usize = 250_000;
/// Superseded refresh tokens remembered per family; an older one is forgotten (and then
/// refused as unknown, without revoking the family).
pub(crate) const MAX_SUPERSEDED: usize = 64;
/// Access-token ids remembered per family (for logout by access token).
pub(crate) const MAX_FAMILY_JTIS: usize = 64;
/// Most revoked access-token ids remembered; the oldest is forgotten first (clean tokens
/// expire within minutes anyway).
pub(crate) const MAX_REVOKED_JTIS: usize = 100_000;

/// A family's key in [`Families`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FamilyId(u64);

/// An issued access token as a family remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessRecord {
    /// The compact JWT, exactly as handed out.
    pub(crate) token: String,
    /// Its `jti` claim.
    pub(crate) jti: String,
    /// Its `exp` claim (`None` when it has none).
    pub(crate) exp: Option<u64>,
}

/// One refresh-token family: everything issued from one grant.
#[derive(Debug)]
pub(crate) struct Family {
    /// The user (or, for a client's own grant, the client id) the tokens are for.
    pub(crate) user: String,
    /// The client the family was issued to.
    pub(crate) client_id: String,
    /// The one refresh token that may be redeemed.
    pub(crate) current: String,
    /// Refresh tokens this family rotated away from, oldest first.
    superseded: VecDeque<String>,
    /// Revoked families redeem nothing.
    pub(crate) revoked: bool,
    /// The access token issued last.
    pub(crate) last_access: AccessRecord,
    /// `jti`s of this family's access tokens, oldest first.
    jtis: VecDeque<String>,
}

impl Family {
    /// How many index entries this family holds.
    fn weight(&self) -> usize {
        1 + self.superseded.len() + self.jtis.len()
    }
}

/// Where a refresh token stands in its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshState {
    /// It is the family's current token.
    Current,
    /// The family has rotated past it.
    Superseded,
}

/// The bounded family store and revoked-`jti` set.
#[derive(Debug)]
pub(crate) struct Families {
    families: HashMap<FamilyId, Family>,
    /// Creation order, oldest first; holds exactly the keys of `families`.
    order: VecDeque<FamilyId>,
    /// Every remembered refresh token (current or superseded) → its family.
    by_refresh: HashMap<String, FamilyId>,
    /// Every remembered access-token `jti` → its family.
    by_jti: HashMap<String, FamilyId>,
    /// Sum of the families' weights (the sizes of `by_refresh` and `by_jti`).
    entries: usize,
    next_id: u64,
    revoked_jtis: HashSet<String>,
    /// Insertion order of `revoked_jtis`, oldest first.
    revoked_order: VecDeque<String>,
    max_families: usize,
    max_entries: usize,
    max_revoked: usize,
}

impl Default for Families {
    fn default() -> Self {
        Families::with_limits(MAX_FAMILIES, MAX_ENTRIES, MAX_REVOKED_JTIS)
    }
}

impl Families {
    fn with_limits(max_families: usize, max_entries: usize, max_revoked: usize) -> Self {
        Families {
            families: HashMap::new(),
            order: VecDeque::new(),
            by_refresh: HashMap::new(),
            by_jti: HashMap::new(),
            entries: 0,
            next_id: 0,
            revoked_jtis: HashSet::new(),
            revoked_order: VecDeque::new(),
            max_families,
            max_entries,
            max_revoked,
        }
    }

    /// Starts a family whose current refresh token is `refresh` and whose first access token
    /// is `access`. Evicts the oldest families when full.
    pub(crate) fn start(
        &mut self,
        user: String,
        client_id: String,
        refresh: String,
        access: AccessRecord,
    ) -> FamilyId {
        self.make_room(1, 2, None);
        let id = FamilyId(self.next_id);
        self.next_id += 1;
        self.by_refresh.insert(refresh.clone(), id);
        self.by_jti.insert(access.jti.clone(), id);
        let family = Family {
            user,
            client_id,
            current: refresh,
            superseded: VecDeque::new(),
            revoked: false,
            jtis: VecDeque::from([access.jti.clone()]),
            last_access: access,
        };
        self.entries += family.weight();
        self.families.insert(id, family);
        self.order.push_back(id);
        id
    }

    /// The family `refresh` belongs to and where it stands there.
    pub(crate) fn find_refresh(&self, refresh: &str) -> Option<(FamilyId, RefreshState)> {
        let id = *self.by_refresh.get(refresh)?;
        let family = self.families.get(&id)?;
        let state = if family.current == refresh {
            RefreshState::Current
        } else {
            RefreshState::Superseded
        };
        Some((id, state))
    }

    /// The family that issued the access token with this `jti`.
    pub(crate) fn find_jti(&self, jti: &str) -> Option<FamilyId> {
        self.by_jti.get(jti).copied()
    }

    pub(crate) fn get(&self, id: FamilyId) -> Option<&Family> {
        self.families.get(&id)
    }

    /// Makes `refresh` the family's current token; the old current one becomes superseded.
    /// Returns `false` (and does nothing) when the family is gone.
    pub(crate) fn rotate(&mut self, id: FamilyId, refresh: String) -> bool {
        if !self.families.contains_key(&id) {
            return false;
        }
        self.make_room(0, 1, Some(id));
        let Some(family) = self.families.get_mut(&id) else {
            return false;
        };
        let old = std::mem::replace(&mut family.current, refresh.clone());
        family.superseded.push_back(old);
        self.entries += 1;
        while family.superseded.len() > MAX_SUPERSEDED {
            if let Some(forgotten) = family.superseded.pop_front() {
                self.by_refresh.remove(&forgotten);
                self.entries -= 1;
            }
        }
        self.by_refresh.insert(refresh, id);
        true
    }

    /// Records a new access token issued from the family. Returns `false` (and does nothing)
    /// when the family is gone.
    pub(crate) fn record_access(&mut self, id: FamilyId, access: AccessRecord) -> bool {
        if !self.families.contains_key(&id) {
            return false;
        }
        self.make_room(0, 1, Some(id));
        let Some(family) = self.families.get_mut(&id) else {
            return false;
        };
        family.jtis.push_back(access.jti.clone());
        self.entries += 1;
        while family.jtis.len() > MAX_FAMILY_JTIS {
            if let Some(forgotten) = family.jtis.pop_front() {
                self.by_jti.remove(&forgotten);
                self.entries -= 1;
            }
        }
        self.by_jti.insert(access.jti.clone(), id);
        family.last_access = access;
        true
    }

    /// Revokes the whole family: none of its refresh tokens will be redeemed again. Returns
    /// whether the family exists.
    pub(crate) fn revoke(&mut self, id: FamilyId) -> bool {
        match self.families.get_mut(&id) {
            Some(family) => {
                family.revoked = true;
                true
            }
            None => false,
        }
    }

    /// Deny-lists an access token by its `jti`.
    pub(crate) fn revoke_jti(&mut self, jti: &str) {
        if self.revoked_jtis.contains(jti) {
            return;
        }
        while self.revoked_jtis.len() >= self.max_revoked {
            let Some(oldest) = self.revoked_order.pop_front() else {
                break;
            };
            self.revoked_jtis.remove(&oldest);
        }
        self.revoked_jtis.insert(jti.to_owned());
        self.revoked_order.push_back(jti.to_owned());
    }

    /// Whether the access token with this `jti` was revoked.
    pub(crate) fn is_jti_revoked(&self, jti: &str) -> bool {
        self.revoked_jtis.contains(jti)
    }

    /// Evicts the oldest families (never `keep`) until `new_families` more families and
    /// `new_entries` more entries fit.
    fn make_room(&mut self, new_families: usize, new_entries: usize, keep: Option<FamilyId>) {
        // Each pass evicts one family or moves `keep` to the back once, so this many passes
        // always suffice.
        for _ in 0..=self.order.len() {
            let full = self.families.len() + new_families > self.max_families
                || self.entries + new_entries > self.max_entries;
            if !full {
                return;
            }
            let Some(oldest) = self.order.pop_front() else {
                return;
            };
            if Some(oldest) == keep {
                self.order.push_back(oldest);
                continue;
            }
            self.evict(oldest);
        }
    }

    fn evict(&mut self, id: FamilyId) {
        let Some(family) = self.families.remove(&id) else {
            return;
        };
        self.entries -= family.weight();
        self.by_refresh.remove(&family.current);
        for token in &family.superseded {
            self.by_refresh.remove(token);
        }
        for jti in &family.jtis {
            self.by_jti.remove(jti);
        }
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        assert_eq!(self.families.len(), self.order.len());
        assert!(self.families.len() <= self.max_families);
        assert!(self.entries <= self.max_entries);
        assert_eq!(self.entries, self.by_refresh.len() + self.by_jti.len());
        let weights: usize = self.families.values().map(Family::weight).sum();
        assert_eq!(self.entries, weights);
        assert!(self.revoked_jtis.len() <= self.max_revoked);
        assert_eq!(self.revoked_jtis.len(), self.revoked_order.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(jti: &str) -> AccessRecord {
        AccessRecord {
            token: format!("token-{jti}"),
            jti: jti.to_owned(),
            exp: Some(1),
        }
    }

    fn start(store: &mut Families, refresh: &str, jti: &str) -> FamilyId {
        store.start("alice".into(), "client".into(), refresh.into(), access(jti))
    }

    #[test]
    fn rotation_supersedes_the_current_token() {
        let mut store = Families::default();
        let id = start(&mut store, "r1", "j1");
        assert_eq!(store.find_refresh("r1"), Some((id, RefreshState::Current)));
        assert!(store.rotate(id, "r2".into()));
        assert_eq!(
            store.find_refresh("r1"),
            Some((id, RefreshState::Superseded))
        );
        assert_eq!(store.find_refresh("r2"), Some((id, RefreshState::Current)));
        assert_eq!(store.find_refresh("r3"), None);
        assert!(store.record_access(id, access("j2")));
        assert_eq!(store.find_jti("j1"), Some(id));
        assert_eq!(store.find_jti("j2"), Some(id));
        assert_eq!(store.get(id).unwrap().last_access, access("j2"));
        assert!(store.revoke(id));
        assert!(store.get(id).unwrap().revoked);
        store.check_invariants();
    }

    #[test]
    fn oldest_families_are_evicted_with_their_tokens() {
        let mut store = Families::with_limits(3, 100, 10);
        let ids: Vec<FamilyId> = (0..5)
            .map(|i| start(&mut store, &format!("r{i}"), &format!("j{i}")))
            .collect();
        store.check_invariants();
        assert_eq!(store.families.len(), 3);
        assert_eq!(store.find_refresh("r0"), None);
        assert_eq!(store.find_jti("j1"), None);
        assert!(store.get(ids[1]).is_none());
        assert!(!store.rotate(ids[0], "x".into()));
        assert!(!store.record_access(ids[0], access("x")));
        assert!(!store.revoke(ids[0]));
        assert_eq!(
            store.find_refresh("r4"),
            Some((ids[4], RefreshState::Current))
        );
        store.check_invariants();
    }

    #[test]
    fn growing_a_family_evicts_others_but_not_itself() {
        let mut store = Families::with_limits(10, 8, 10);
        let first = start(&mut store, "a", "ja");
        let second = start(&mut store, "b", "jb");
        // `first` is the oldest; it grows until `second` must go, and survives itself.
        for i in 0..6 {
            assert!(store.rotate(first, format!("a{i}")));
            store.check_invariants();
        }
        assert!(store.get(second).is_none());
        assert_eq!(
            store.find_refresh("a5"),
            Some((first, RefreshState::Current))
        );
        store.check_invariants();
    }

    #[test]
    fn superseded_tokens_and_jtis_per_family_are_capped() {
        let mut store = Families::default();
        let id = start(&mut store, "r", "j");
        for i in 0..(MAX_SUPERSEDED + 10) {
            assert!(store.rotate(id, format!("r{i}")));
            assert!(store.record_access(id, access(&format!("j{i}"))));
        }
        store.check_invariants();
        let family = store.get(id).unwrap();
        assert_eq!(family.superseded.len(), MAX_SUPERSEDED);
        assert_eq!(family.jtis.len(), MAX_FAMILY_JTIS);
        assert_eq!(store.find_refresh("r"), None, "the oldest is forgotten");
        assert_eq!(store.find_jti("j"), None);
        let last = format!("r{}", MAX_SUPERSEDED + 9);
        assert_eq!(store.find_refresh(&last), Some((id, RefreshState::Current)));
    }

    #[test]
    fn revoked_jtis_are_bounded_oldest_first() {
        let mut store = Families::with_limits(10, 10, 3);
        for jti in ["a", "b", "a", "c", "d"] {
            store.revoke_jti(jti);
        }
        assert!(!store.is_jti_revoked("a"));
        for jti in ["b", "c", "d"] {
            assert!(store.is_jti_revoked(jti), "{jti}");
        }
        store.check_invariants();
    }
}
