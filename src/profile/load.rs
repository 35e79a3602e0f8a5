//! Loading: a profile file read, parsed (strict serde) and checked into a [`Profile`] — no
//! secret read, no request sent — and the step that reads its secrets into an
//! [`UnresolvedTarget`]. Also the built-in testbed profile. Reads the profile file and, in
//! [`Profile::load_secrets`], the secrets it names; nothing else.

use std::path::{Path, PathBuf};

use super::check::check;
use super::format::ProfileFile;
use super::secrets;
use super::target::UnresolvedTarget;
use crate::diag::{self, Diagnostics};

/// The profile for the embedded testbed (`authprobe demo` uses it with its ephemeral port).
pub const TESTBED_PROFILE: &str = include_str!("../../specs/profiles/testbed.yaml");

/// A profile file with its location, parsed and statically checked.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The file it came from.
    pub file: PathBuf,
    /// The parsed content.
    pub spec: ProfileFile,
}

/// Reads and checks a profile file (no secrets are read yet).
pub fn load_profile(file: &Path) -> Result<Profile, Diagnostics> {
    let src = diag::read_file(file, diag::InputKind::Profile).map_err(|d| Diagnostics(vec![d]))?;
    parse_profile(&src, file)
}

/// Parses and checks profile text.
pub fn parse_profile(src: &str, file: &Path) -> Result<Profile, Diagnostics> {
    let spec: ProfileFile = diag::from_yaml(src, file, 0, "").map_err(|d| Diagnostics(vec![d]))?;
    let mut diags = check(file, &spec);
    // Checks that know only a key path report line 0; point them at the key (found by fuzzing).
    diag::locate_all(src, &mut diags);
    if diags.is_empty() {
        Ok(Profile {
            file: file.to_path_buf(),
            spec,
        })
    } else {
        Err(diags)
    }
}

impl Profile {
    /// The testbed profile pointed at `base_url`.
    pub fn testbed(base_url: &str) -> Result<Profile, Diagnostics> {
        let mut p = parse_profile(TESTBED_PROFILE, Path::new("specs/profiles/testbed.yaml"))?;
        p.set_base_url(base_url)?;
        Ok(p)
    }

    /// Points the profile at another base URL (the testbed's ephemeral port) and checks it
    /// again (demo credentials are accepted only on loopback).
    pub fn set_base_url(&mut self, base_url: &str) -> Result<(), Diagnostics> {
        self.spec.base_url.value = base_url.to_string();
        let d = check(&self.file, &self.spec);
        if d.is_empty() { Ok(()) } else { Err(d) }
    }

    /// Reads the secrets (environment variables, files) and builds the target, not yet
    /// resolved: resolve it with [`UnresolvedTarget::resolve`] before running it.
    pub fn load_secrets(&self) -> Result<UnresolvedTarget, Diagnostics> {
        let secrets = secrets::load(&self.file, &self.spec)?;
        UnresolvedTarget::from_profile(&self.file, &self.spec, secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Capability;

    #[test]
    fn testbed_profile_parses_and_resolves_without_environment() {
        let p = Profile::testbed("http://127.0.0.1:9").unwrap_or_else(|d| panic!("{d}"));
        let t = p.load_secrets().unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(t.users["alice"].username, "alice");
        let doc = serde_json::json!({"token_endpoint": "http://127.0.0.1:9/oauth/token"});
        let t = t.resolve_with(Some(&doc)).unwrap_or_else(|e| panic!("{e}"));
        assert!(t.capabilities().contains(&Capability::LogoutEverywhere));
    }

    #[test]
    fn load_profile_reports_an_unreadable_file_as_a_diagnostic() {
        let d = load_profile(Path::new("/surely/not/here/profile.yaml")).unwrap_err();
        assert_eq!(d.0.len(), 1, "{d}");
        assert_eq!(d.0[0].file, Path::new("/surely/not/here/profile.yaml"));
    }
}
