//! What the testbed is started with: the set of flaws, the set of quirks, the access-token
//! lifetime and the number of replicas.
//!
//! This file owns [`TestbedConfig`]. It must not know routes or behaviours: the route files
//! read the configuration where each behaviour lives.

use std::collections::BTreeSet;

use super::flaw::Flaw;
use super::front_end::FrontEnd;
use super::quirk::Quirk;

/// What the testbed is started with. The default is the clean service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestbedConfig {
    /// The flaws switched on; each breaks one promise, independently of the others.
    pub flaws: BTreeSet<Flaw>,
    /// The quirks switched on; each adds one legitimate behaviour, independently of the others
    /// and of the flaws.
    pub quirks: BTreeSet<Quirk>,
    /// Access-token lifetime in seconds (default [`super::ACCESS_TOKEN_TTL`]); tests shorten it
    /// to watch real tokens expire.
    pub access_token_ttl: Option<u64>,
    /// How long one password check takes under the `slow-logins` quirk (default
    /// [`super::SLOW_LOGIN_DELAY`]); tests shorten it to keep large matrices quick.
    pub slow_login: Option<std::time::Duration>,
    /// Instances besides the first, each on its own listener, all sharing one state (its
    /// sessions, refresh-token families and deny-list); 0 = one instance. See
    /// [`TestbedConfig::replica_count`].
    pub replicas: usize,
    /// How users sign in: a framework's HTML login page, a JSON login published in OpenAPI, or
    /// an OpenID Connect provider (legitimate variation, like a quirk); `None` = the JSON API
    /// alone, as documented in the HTTP contract.
    pub front_end: Option<FrontEnd>,
}

/// The replicas `replica-local-revocation` brings when none are asked for: the flaw shows
/// only across instances.
pub const IMPLIED_REPLICAS: usize = 2;

impl TestbedConfig {
    /// This configuration with `flaw` switched on as well.
    pub fn with_flaw(mut self, flaw: Flaw) -> Self {
        self.flaws.insert(flaw);
        self
    }

    /// Whether `flaw` is switched on.
    pub fn has(&self, flaw: Flaw) -> bool {
        self.flaws.contains(&flaw)
    }

    /// This configuration with `quirk` switched on as well.
    pub fn with_quirk(mut self, quirk: Quirk) -> Self {
        self.quirks.insert(quirk);
        self
    }

    /// The instances served besides the first: [`TestbedConfig::replicas`], or
    /// [`IMPLIED_REPLICAS`] when none are asked for and `replica-local-revocation` is on.
    pub fn replica_count(&self) -> usize {
        if self.replicas == 0 && self.has(Flaw::ReplicaLocalRevocation) {
            IMPLIED_REPLICAS
        } else {
            self.replicas
        }
    }

    /// Whether `quirk` is switched on.
    pub fn has_quirk(&self, quirk: Quirk) -> bool {
        self.quirks.contains(&quirk)
    }
}

impl FromIterator<Flaw> for TestbedConfig {
    fn from_iter<I: IntoIterator<Item = Flaw>>(flaws: I) -> Self {
        TestbedConfig {
            flaws: flaws.into_iter().collect(),
            ..TestbedConfig::default()
        }
    }
}
