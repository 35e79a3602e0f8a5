//! JSON Schemas of the hand-written file kinds (spec files, profiles, baselines), generated
//! from the same types and doc comments the loaders use, for editors and CI validation.
//! `authprobe schema spec|profile|baseline` prints them; `schemas/*.schema.json` are
//! committed copies checked by a test.

use schemars::JsonSchema;

/// Which file kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `specs/*.yaml`.
    Spec,
    /// Target profiles.
    Profile,
    /// Expected-failures baselines.
    Baseline,
}

/// A spec file: policy defaults and rules.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SpecFile {
    /// Policy defaults that profiles may override.
    #[serde(default)]
    policy: Option<crate::spec::PolicyOverrides>,
    /// The rules.
    rules: Vec<crate::spec::RawRule>,
}

/// The schema of one file kind, pretty-printed JSON.
pub fn render(kind: Kind) -> String {
    let schema = match kind {
        Kind::Spec => schemars::schema_for!(SpecFile),
        Kind::Profile => schemars::schema_for!(crate::profile::ProfileFile),
        Kind::Baseline => schemars::schema_for!(crate::gate::BaselineFile),
    };
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
