//! Where an instance of the testbed keeps its revocations. Clean, every instance writes them
//! to the shared stores (the session store, the family store and its deny-list), so a logout
//! on one instance ends the session on all of them. Under `replica-local-revocation` each
//! instance keeps its own [`Local`] record instead — like a per-instance cache in front of a
//! shared store: issuing, rotation and lookups still go to the shared stores, but what an
//! instance revoked (sessions, refresh-token families, access-token ids) only that instance
//! knows.
//!
//! This file owns that per-instance record and its bounds; the session and token files ask it
//! whether a revocation stays local and whether an id was revoked here. No HTTP.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use super::families::FamilyId;

/// Most entries of each kind one instance remembers; the oldest is forgotten first.
const MAX_LOCAL: usize = 100_000;

/// A bounded set that forgets its oldest entry first.
#[derive(Debug)]
struct Bounded<T> {
    set: HashSet<T>,
    order: VecDeque<T>,
}

impl<T: Eq + Hash + Clone> Bounded<T> {
    fn new() -> Self {
        Bounded {
            set: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    fn insert(&mut self, value: T) {
        if self.set.contains(&value) {
            return;
        }
        while self.set.len() >= MAX_LOCAL {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.set.remove(&oldest);
        }
        self.set.insert(value.clone());
        self.order.push_back(value);
    }

    fn contains(&self, value: &T) -> bool {
        self.set.contains(value)
    }
}

/// What one instance revoked.
#[derive(Debug)]
struct Revoked {
    sessions: Bounded<String>,
    families: Bounded<FamilyId>,
    jtis: Bounded<String>,
}

/// An instance's revocation record: `None` when revocations go to the shared stores (the
/// clean testbed), `Some` under `replica-local-revocation`. Cheap to clone; clones share it.
#[derive(Debug, Clone, Default)]
pub(super) struct Local(Option<Arc<Mutex<Revoked>>>);

impl Local {
    /// Revocations go to the shared stores.
    pub(super) fn shared() -> Local {
        Local(None)
    }

    /// This instance keeps its own revocations.
    pub(super) fn own() -> Local {
        Local(Some(Arc::new(Mutex::new(Revoked {
            sessions: Bounded::new(),
            families: Bounded::new(),
            jtis: Bounded::new(),
        }))))
    }

    /// Runs `f` on the record, when this instance keeps one. Every mutation is a single
    /// insert, so a poisoned lock is safe to keep using.
    fn with<R>(&self, f: impl FnOnce(&mut Revoked) -> R) -> Option<R> {
        self.0
            .as_ref()
            .map(|m| f(&mut m.lock().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Whether this instance keeps its own revocations.
    pub(super) fn keeps_own(&self) -> bool {
        self.0.is_some()
    }

    /// Records the session `id` as revoked here; false when revocations are shared (the
    /// caller deletes the record from the shared store instead).
    pub(super) fn revoke_session(&self, id: &str) -> bool {
        self.with(|r| r.sessions.insert(id.to_owned())).is_some()
    }

    /// Whether this instance revoked the session `id`.
    pub(super) fn session_revoked(&self, id: &str) -> bool {
        self.with(|r| r.sessions.contains(&id.to_owned()))
            .unwrap_or(false)
    }

    /// Records family `id` as revoked here; false when revocations are shared.
    pub(super) fn revoke_family(&self, id: FamilyId) -> bool {
        self.with(|r| r.families.insert(id)).is_some()
    }

    /// Whether this instance revoked family `id`.
    pub(super) fn family_revoked(&self, id: FamilyId) -> bool {
        self.with(|r| r.families.contains(&id)).unwrap_or(false)
    }

    /// Records the access-token id `jti` as revoked here; false when revocations are shared.
    pub(super) fn revoke_jti(&self, jti: &str) -> bool {
        self.with(|r| r.jtis.insert(jti.to_owned())).is_some()
    }

    /// Whether this instance revoked the access-token id `jti`.
    pub(super) fn jti_revoked(&self, jti: &str) -> bool {
        self.with(|r| r.jtis.contains(&jti.to_owned()))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_records_nothing_and_own_remembers_boundedly() {
        let shared = Local::shared();
        assert!(!shared.revoke_session("a"));
        assert!(!shared.session_revoked("a"));
        let own = Local::own();
        assert!(own.revoke_session("a") && own.session_revoked("a"));
        assert!(
            !Local::own().session_revoked("a"),
            "another instance does not know it"
        );
        assert!(own.revoke_jti("j") && own.jti_revoked("j") && !own.jti_revoked("k"));
        let mut b = Bounded::new();
        for i in 0..MAX_LOCAL + 3 {
            b.insert(i);
        }
        assert_eq!(b.set.len(), MAX_LOCAL);
        assert_eq!(b.order.len(), MAX_LOCAL);
        assert!(!b.contains(&0) && b.contains(&(MAX_LOCAL + 2)));
    }
}
