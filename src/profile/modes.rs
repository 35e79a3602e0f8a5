//! Named auth modes (`modes:`): several ways into one service in one profile — a browser's
//! cookie login beside a second client's bearer API, or two cookie logins on two apps. Each
//! mode is a `session`/`flows`/`token` triple like the profile's top level (which is the mode
//! `default` when it has `flows` or `token`).
//!
//! Owns the mode names and their static checks, and turns a profile into one profile per mode
//! (the mode's sections at the top level, everything else shared), which is what the engine
//! runs: one run per mode over one probe client. Sends no request, reads no secret.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use url::Url;

use super::format::{ModeSpec, ProfileFile};
use super::origin::is_loopback;
use crate::diag::{Diagnostic, Diagnostics};
use crate::spec::Capability;

/// The most named modes a profile may have.
pub const MAX_MODES: usize = 16;

/// The name of the top level's mode when the profile also has named ones.
pub const DEFAULT_MODE: &str = "default";

/// True for a mode name: `[a-z][a-z0-9_-]*`.
fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A `--only`/`--skip` pattern split into the rule pattern and the mode it names:
/// `cookie.http-only@browser` → (`cookie.http-only`, `Some("browser")`); `cookie.*` →
/// (`cookie.*`, `None`).
pub fn split_mode(pattern: &str) -> (&str, Option<&str>) {
    match pattern.rsplit_once('@') {
        Some((rule, mode)) => (rule, Some(mode)),
        None => (pattern, None),
    }
}

/// The problems of `spec`'s `modes` themselves (none without it): names, their number, empty
/// modes and modes with nothing a rule can use, each at `modes` or `modes.NAME`; and the
/// modes to check further, each as (`modes.NAME`, a profile with the mode's sections at the
/// top level), whose problems the caller reports under that key.
pub(super) fn check(file: &Path, spec: &ProfileFile) -> (Diagnostics, Vec<(String, ProfileFile)>) {
    let mut out = Diagnostics::default();
    let mut sections = Vec::new();
    if spec.modes.is_empty() {
        return (out, sections);
    }
    let unlocated = |path: String, msg: String| Diagnostic::new(file, 0, 0, path, msg);
    if spec.modes.len() > MAX_MODES {
        out.push(unlocated(
            "modes".into(),
            format!("{} modes: at most {MAX_MODES}", spec.modes.len()),
        ));
    }
    let top = spec.flows.is_some() || spec.token.is_some();
    for (name, mode) in &spec.modes {
        let path = format!("modes.{name}");
        if !valid_name(name) {
            out.push(
                unlocated(path.clone(), format!("`{name}` is not a mode name")).with_hint(
                    "a lowercase letter, then lowercase letters, digits, `_` or `-`, e.g. `api`",
                ),
            );
        } else if name == DEFAULT_MODE && top {
            out.push(
                unlocated(
                    path.clone(),
                    "the top level's `flows`/`token` are the mode `default`".into(),
                )
                .with_hint("name this mode otherwise, or move it to the top level"),
            );
        }
        let m = &mode.value;
        if m.flows.is_none() && m.token.is_none() {
            let msg = if m.session.is_none() {
                "the mode is empty"
            } else {
                "the mode has only `session`: no rule can use it without `flows` or `token`"
            };
            out.push(
                unlocated(path, msg.into())
                    .with_hint("give the mode `flows` (a cookie login) or `token` (access tokens)"),
            );
            continue;
        }
        sections.push((path, mode_file(spec, m)));
    }
    (out, sections)
}

/// The secrets the named modes' `token` sections name that cannot be read here, at
/// `modes.NAME.token.…` (see [`Profile::unreadable_secrets`]).
pub(super) fn unreadable_secrets(file: &Path, spec: &ProfileFile) -> Diagnostics {
    let mut out = Diagnostics::default();
    for (name, m) in &spec.modes {
        if m.value.token.is_none() {
            continue;
        }
        let f = mode_file(spec, &m.value);
        for mut d in super::secrets::unreadable(file, &f).0 {
            if d.path.starts_with("token") {
                d.path = format!("modes.{name}.{}", d.path);
                out.push(d);
            }
        }
    }
    out
}

/// `spec` with the mode's sections at the top level and no `modes`.
pub(super) fn mode_file(spec: &ProfileFile, m: &ModeSpec) -> ProfileFile {
    let mut f = spec.clone();
    f.session = m.session.clone().unwrap_or_default();
    f.flows = m.flows.clone();
    f.token = m.token.clone();
    f.modes = BTreeMap::new();
    f
}

/// What a profile (its top level) provides before it is resolved; `token.oauth` counts as
/// providing what it may derive (refresh, revocation, JWKS).
pub(super) fn static_capabilities(spec: &ProfileFile) -> BTreeSet<Capability> {
    use Capability as C;
    let mut c = BTreeSet::new();
    if let Some(f) = &spec.flows {
        c.insert(C::Session);
        for (present, cap) in [
            (f.logout.is_some(), C::Logout),
            (f.logout_everywhere.is_some(), C::LogoutEverywhere),
            (f.anonymous.is_some(), C::AnonymousSession),
        ] {
            if present {
                c.insert(cap);
            }
        }
    }
    if let Some(t) = &spec.token {
        c.insert(C::Jwt);
        let oauth = t.oauth.is_some();
        for (present, cap) in [
            (t.jwks_url.is_some() || oauth, C::Jwks),
            (!t.signing_keys.is_empty(), C::SigningKey),
            (t.refresh.is_some() || oauth, C::Refresh),
            (t.revocation.is_some() || oauth, C::Revocation),
            (t.logout.is_some(), C::TokenLogout),
        ] {
            if present {
                c.insert(cap);
            }
        }
    }
    if spec.users.contains_key("bob") {
        c.insert(C::SecondUser);
    }
    if Url::parse(&spec.base_url.value).is_ok_and(|u| is_loopback(&u)) {
        c.insert(C::Loopback);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_names_are_lowercase_slugs() {
        for ok in ["api", "a", "admin-2", "web_app"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "Api", "2fa", "-x", "a.b", "a b", "é"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn split_mode_takes_the_last_at() {
        assert_eq!(
            split_mode("cookie.http-only@browser"),
            ("cookie.http-only", Some("browser"))
        );
        assert_eq!(split_mode("cookie.*"), ("cookie.*", None));
    }
}
