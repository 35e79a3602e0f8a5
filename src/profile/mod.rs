//! Target profiles: how to talk to one auth service — base URL, users, flows (login, logout,
//! logout-everywhere, anonymous visit), the protected request and what counts as allowed,
//! and policy overrides.
//!
//! A profile goes through three stages, each its own type:
//!
//! 1. [`Profile`] — the file parsed ([`format`](ProfileFile)) and statically checked, every
//!    problem a `file:line:col` diagnostic ([`load_profile`], [`parse_profile`]). No secret
//!    read, no request sent.
//! 2. [`UnresolvedTarget`] — [`Profile::load_secrets`] read the passwords, keys and OAuth
//!    client secret from the environment variables or files the profile names (never from
//!    the profile text, except `public_demo` credentials for loopback targets).
//! 3. [`Target`] — [`UnresolvedTarget::resolve`] built the probe client (the target's origin
//!    only, its limits, every secret registered with the redactor), fetched the
//!    `token.oauth.discovery` document once and derived the token flows the profile left
//!    out, refusing endpoints on another origin. The engine accepts only this stage.
//!
//! Files by job: `format` (the serde types, which feed the JSON Schema), `check` (static
//! validation), `secrets`, `target` (the two target stages), `resolve` (the one request this
//! module sends), `oauth` (endpoints and derived flows), `origin` (same-origin and loopback
//! rules), `extractor`, `template`, `skeleton` (`authprobe init`). Nothing here prints.

mod check;
mod extractor;
mod format;
mod load;
mod oauth;
mod origin;
mod resolve;
mod secrets;
mod skeleton;
mod target;
mod template;

pub use extractor::{Extractor, ExtractorError};
pub use format::{
    AccessSpec, Classifier, ClientAuth, ClientKind, FlowName, FlowStep, Flows, KeySpec, Limits,
    OAuthClient, OAuthGrant, OAuthSpec, ProfileFile, RequestSpec, RevocationSpec, SecretSource,
    SessionSpec, TokenSpec, UserSpec,
};
pub use load::{Profile, TESTBED_PROFILE, load_profile, parse_profile};
pub use oauth::{Endpoint, OAuthError};
pub use origin::{UrlError, is_loopback};
pub use resolve::ResolveError;
pub use secrets::{SecretError, SigningKeyMaterial, User};
pub use skeleton::{SkeletonError, skeleton};
pub use target::{Resolved, Target, Unresolved, UnresolvedTarget};
pub use template::{Template, TemplateError, Vars, render_json};
