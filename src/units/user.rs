//! The test users a spec names: the profile maps them to real accounts.

use serde::{Deserialize, Serialize};

/// A profile user, as operations name them.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SpecUser {
    /// The first test user.
    #[default]
    Alice,
    /// The second test user (only with the `second_user` capability).
    Bob,
}

impl SpecUser {
    /// The profile's name for the user.
    pub fn name(self) -> &'static str {
        match self {
            SpecUser::Alice => "alice",
            SpecUser::Bob => "bob",
        }
    }
}
