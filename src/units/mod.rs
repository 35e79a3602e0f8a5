//! The vocabulary of declared policy: durations ([`Seconds`]), the cookie policy values
//! ([`SameSiteValue`], [`PrefixPolicy`]) and the declared model semantics
//! ([`SessionSemantics`], [`RefreshSemantics`], their `*Overrides` and the enums they use),
//! the test users specs name ([`SpecUser`]) and the documented ranges of the numeric run
//! limits ([`bounds`]).
//!
//! A leaf shared by `spec` (which reads these values from YAML and layers the spec, rule
//! and profile overrides) and `machine` (whose predictions follow them). It imports nothing
//! of the crate, does no I/O and never prints. Type names are part of the JSON schemas
//! (`schemars` names definitions after them), so they do not change.

pub mod bounds;
pub mod civil;
mod cookie_policy;
mod seconds;
mod semantics;
mod user;

pub use cookie_policy::{PrefixPolicy, SameSiteValue};
pub use seconds::Seconds;
pub use semantics::{
    AccessAfter, Applies, LogoutScope, RefreshAfterLogout, RefreshSemantics,
    RefreshSemanticsOverrides, Reuse, RevocationScope, Rotation, SessionSemantics,
    SessionSemanticsOverrides,
};
pub use user::SpecUser;
