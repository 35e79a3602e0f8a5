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
//! rules), `classifier` (allowed/denied matching and the load-time regexes), `extractor`,
//! `template`, `skeleton` (`authprobe init`). Nothing here prints.

mod check;
mod classifier;
mod extractor;
mod format;
mod load;
mod modes;
mod oauth;
mod origin;
mod replicas;
mod resolve;
mod secrets;
mod skeleton;
mod target;
mod template;

/// The documented ranges of the run limits (`limits:` here, the same flags on the command
/// line): [`bounds::MAX_RPS`], [`bounds::MAX_REQUESTS`], [`bounds::TIMEOUT`], … and
/// [`bounds::Bounds::check`], which refuses a value outside its range in words.
pub use crate::units::bounds;
pub use classifier::{MAX_ANY_OF_ALTERNATIVES, MAX_ANY_OF_DEPTH, PATTERN_SIZE_LIMIT, Pattern};
pub use extractor::{ExtractMap, ExtractSpec, Extractor, ExtractorError};
pub use format::{
    AccessSpec, Classifier, ClientAuth, ClientKind, DEFAULT_ID_TOKEN_EXTRACTOR, FlowName, FlowStep,
    Flows, ID_TOKEN_VAR, KeySpec, Limits, ModeSpec, OAuthClient, OAuthGrant, OAuthSpec,
    ProfileFile, RequestSpec, RevocationSpec, SecretSource, SessionSpec, TokenSpec, UserSpec,
    statuses_in_words,
};
pub use load::{Profile, TESTBED_PROFILE, load_profile, parse_profile};
pub use modes::{DEFAULT_MODE, MAX_MODES, split_mode};
pub use oauth::{Endpoint, OAuthError};
pub use origin::{UrlError, is_loopback};
pub use replicas::MAX_REPLICAS;
pub use resolve::ResolveError;
pub use secrets::{SecretError, SigningKeyMaterial, User};
pub use skeleton::{SkeletonError, skeleton};
pub use target::{Resolved, Target, Unresolved, UnresolvedTarget};
pub use template::{Template, TemplateError, Vars, render_json};

/// Fixtures shared by the unit tests of this module's files: `testdata/oauth.yaml` (token
/// flows derived from `oauth`) and `testdata/token_flows.yaml` (token flows written out).
/// Tests edit single lines so diagnostics keep their line numbers.
#[cfg(test)]
mod fixtures {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::diag::{Diagnostic, Diagnostics};

    pub(super) const OAUTH: &str = include_str!("testdata/oauth.yaml");
    pub(super) const TOKEN_FLOWS: &str = include_str!("testdata/token_flows.yaml");
    /// The OAuth fixture's client secret (public_demo: the fixture's base URL is loopback).
    pub(super) const CLIENT_SECRET: &str = "s3cr:et/+ é";
    /// base64("my+client:s3cr%3Aet%2F%2B+%C3%A9"), computed independently (Python's
    /// `base64.b64encode(quote_plus(id) + ":" + quote_plus(secret))`).
    pub(super) const CLIENT_BASIC: &str = "bXkrY2xpZW50OnMzY3IlM0FldCUyRiUyQislQzMlQTk=";

    /// `src` with the first `from` replaced by `to` (which must be there).
    pub(super) fn replace(src: &str, from: &str, to: &str) -> String {
        assert!(src.contains(from), "fixture lacks {from:?}");
        src.replacen(from, to, 1)
    }

    /// A profile that must load.
    pub(super) fn parse(src: &str) -> Profile {
        parse_profile(src, Path::new("p.yaml")).unwrap_or_else(|d| panic!("{d}"))
    }

    /// The diagnostics of a profile that must be refused.
    pub(super) fn diags(src: &str) -> Diagnostics {
        parse_profile(src, Path::new("p.yaml")).expect_err("the profile should be refused")
    }

    /// The one diagnostic at `path`.
    pub(super) fn at<'a>(d: &'a Diagnostics, path: &str) -> &'a Diagnostic {
        let hits: Vec<&Diagnostic> = d.0.iter().filter(|x| x.path == path).collect();
        assert_eq!(hits.len(), 1, "one diagnostic at {path}:\n{d}");
        hits[0]
    }

    /// A profile with its secrets read.
    pub(super) fn unresolved(src: &str) -> UnresolvedTarget {
        parse(src).load_secrets().unwrap_or_else(|d| panic!("{d}"))
    }

    /// A discovery document for the OAuth fixture's origin (`http://127.0.0.1:8080`).
    pub(super) fn discovery() -> serde_json::Value {
        serde_json::json!({
            "issuer": "http://127.0.0.1:8080",
            "token_endpoint": "http://127.0.0.1:8080/oauth2/token",
            "revocation_endpoint": "http://127.0.0.1:8080/oauth2/revoke",
            "jwks_uri": "http://127.0.0.1:8080/oauth2/jwks",
            "authorization_endpoint": "https://elsewhere.example.com/authorize"
        })
    }

    /// A profile resolved with [`discovery`].
    pub(super) fn resolved(src: &str) -> Target {
        unresolved(src)
            .resolve_with(Some(&discovery()))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The form body of a request.
    pub(super) fn form_of(r: &RequestSpec) -> &BTreeMap<String, String> {
        r.form.as_ref().expect("a form body")
    }

    /// The form body of a step's request.
    pub(super) fn form(step: &FlowStep) -> &BTreeMap<String, String> {
        form_of(&step.request)
    }
}
