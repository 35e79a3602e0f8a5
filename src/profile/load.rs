//! Loading: a profile file read, parsed (strict serde) and checked into a [`Profile`] — no
//! secret read, no request sent — and the step that reads its secrets into an
//! [`UnresolvedTarget`]. Also the built-in testbed profile. Reads the profile file and, in
//! [`Profile::load_secrets`], the secrets it names; nothing else.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use super::check::check;
use super::format::{ModeSpec, ProfileFile, SecretSource};
use super::modes;
use super::secrets;
use super::target::UnresolvedTarget;
use crate::diag::{self, Diagnostic, Diagnostics};
use crate::http::TrustRoots;

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
    /// The flows this profile writes out, each with the capability it provides, e.g.
    /// (`token.logout`, `token_logout`). Flows derived from an OAuth discovery document at
    /// run time are not listed.
    pub fn declared_flows(&self) -> Vec<(&'static str, crate::spec::Capability)> {
        use crate::spec::Capability as C;
        let mut out = Vec::new();
        if let Some(f) = &self.spec.flows {
            for (present, key, cap) in [
                (f.logout.is_some(), "flows.logout", C::Logout),
                (
                    f.logout_everywhere.is_some(),
                    "flows.logout_everywhere",
                    C::LogoutEverywhere,
                ),
                (
                    f.anonymous.is_some(),
                    "flows.anonymous",
                    C::AnonymousSession,
                ),
            ] {
                if present {
                    out.push((key, cap));
                }
            }
        }
        if let Some(t) = &self.spec.token {
            for (present, key, cap) in [
                (t.logout.is_some(), "token.logout", C::TokenLogout),
                (t.refresh.is_some(), "token.refresh", C::Refresh),
                (t.revocation.is_some(), "token.revocation", C::Revocation),
            ] {
                if present {
                    out.push((key, cap));
                }
            }
        }
        out
    }

    /// Warnings for flows the profile declares that no rule of `catalogue` would run (a
    /// declared flow nothing uses is easy to believe tested).
    /// The named modes' flows count too (`modes.NAME.flows.logout`).
    pub fn unused_flows(&self, catalogue: &crate::spec::Catalogue) -> Vec<String> {
        let mut out = Vec::new();
        let mut sources = vec![(String::new(), self.clone())];
        for (n, m) in &self.spec.modes {
            let spec = modes::mode_file(&self.spec, &m.value);
            let file = self.file.clone();
            sources.push((format!("modes.{n}."), Profile { file, spec }));
        }
        for (prefix, p) in sources {
            for (key, cap) in p.declared_flows() {
                if !catalogue.rules.iter().any(|r| r.may_use(cap)) {
                    out.push(format!(
                        "`{prefix}{key}` is declared but no selected rule needs `{}`: the flow will never run",
                        cap.name()
                    ));
                }
            }
        }
        out
    }

    /// The secrets this profile names that cannot be read here: unset environment variables
    /// and unreadable secret files, each a diagnostic at its key (`users.alice.password`,
    /// `token.signing_keys[0].key`, `token.oauth.client.secret`). `validate` prints them as
    /// warnings; [`Profile::load_secrets`] refuses the profile for them.
    pub fn unreadable_secrets(&self) -> Diagnostics {
        let mut d = secrets::unreadable(&self.file, &self.spec);
        d.extend(modes::unreadable_secrets(&self.file, &self.spec));
        d
    }

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

    /// Names other instances of the service (the testbed's replicas) and checks the profile
    /// again.
    pub fn set_replicas(&mut self, replicas: &[String]) -> Result<(), Diagnostics> {
        // Located where base_url is: the list is not in the file.
        let base = &self.spec.base_url;
        self.spec.replicas = replicas
            .iter()
            .map(|r| serde_saphyr::Spanned {
                value: r.clone(),
                referenced: base.referenced,
                defined: base.defined,
            })
            .collect();
        let d = check(&self.file, &self.spec);
        if d.is_empty() { Ok(()) } else { Err(d) }
    }

    /// Reads the secrets (environment variables, files) and builds the target, not yet
    /// resolved: resolve it with [`UnresolvedTarget::resolve`] before running it.
    pub fn load_secrets(&self) -> Result<UnresolvedTarget, Diagnostics> {
        let secrets = secrets::load(&self.file, &self.spec)?;
        let trust_roots = self.trust_roots()?;
        let mut target = UnresolvedTarget::from_profile(&self.file, &self.spec, secrets)?;
        target.trust_roots = trust_roots;
        Ok(target)
    }

    /// The file `tls.ca_file` names, a relative path joined to the profile's directory.
    pub fn ca_file(&self) -> Option<PathBuf> {
        let tls = self.spec.tls.as_ref()?;
        Some(self.relative(&tls.value.ca_file))
    }

    /// The CA certificates of `tls.ca_file` (none without it); a file that cannot be read
    /// or holds no usable certificate is a diagnostic at the key.
    fn trust_roots(&self) -> Result<TrustRoots, Diagnostics> {
        let (Some(path), Some(tls)) = (self.ca_file(), &self.spec.tls) else {
            return Ok(TrustRoots::none());
        };
        let at = |message: String| {
            let loc = &tls.referenced;
            let d = Diagnostic::new(&self.file, loc.line(), loc.column(), "tls.ca_file", message);
            Diagnostics(vec![d])
        };
        let text = diag::read_file(&path, diag::InputKind::CaFile)
            .map_err(|d| at(format!("{}: {}", path.display(), d.message)))?;
        TrustRoots::from_pem(text.as_bytes()).map_err(|e| at(format!("{}: {e}", path.display())))
    }

    /// Every file the profile names — secret files, signing-key files, the CA file — each
    /// with what it is in words, relative paths joined to the profile's directory. Outputs
    /// must never overwrite one.
    pub fn named_files(&self) -> Vec<(PathBuf, String)> {
        let mut files = Vec::new();
        let mut add = |source: &SecretSource, what: String| {
            if let SecretSource::File(p) = source {
                files.push((self.relative(p), what));
            }
        };
        for (name, user) in &self.spec.users {
            add(
                &user.value.password,
                format!("the password file of user {name}"),
            );
        }
        if let Some(token) = &self.spec.token {
            for (i, k) in token.signing_keys.iter().enumerate() {
                add(
                    &k.value.key,
                    format!("the key file token.signing_keys[{i}]"),
                );
            }
            if let Some(secret) = token
                .oauth
                .as_ref()
                .and_then(|o| o.client.value.secret.as_ref())
            {
                add(secret, "the OAuth client secret file".to_owned());
            }
        }
        if let Some(ca) = self.ca_file() {
            files.push((ca, "the CA file (tls.ca_file)".to_owned()));
        }
        if !self.spec.modes.is_empty() {
            // The named modes' token sections name key and secret files of their own.
            for (_, p) in self.modes() {
                for f in p.named_files() {
                    if !files.iter().any(|(path, _)| *path == f.0) {
                        files.push(f);
                    }
                }
            }
        }
        files
    }

    /// `path` as named in the profile: relative to the profile's directory.
    fn relative(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.file.parent().unwrap_or(Path::new(".")).join(path)
        }
    }
}

/// The profile's auth modes (`modes:`; see `modes`).
impl Profile {
    /// The profile's auth modes, each as a profile with the mode's `session`, `flows` and
    /// `token` at the top level (everything else shared): the top level first as `default`
    /// (when it has `flows` or `token`), then the named modes by name. A profile with one
    /// mode gives itself, unnamed — its reports show no mode.
    pub fn modes(&self) -> Vec<(Option<String>, Profile)> {
        let spec = &self.spec;
        let mut out = Vec::new();
        if spec.flows.is_some() || spec.token.is_some() {
            let mut top = spec.clone();
            top.modes = BTreeMap::new();
            out.push((modes::DEFAULT_MODE.to_owned(), top));
        }
        for (name, m) in &spec.modes {
            out.push((name.clone(), modes::mode_file(spec, &m.value)));
        }
        let named = out.len() > 1;
        out.into_iter()
            .map(|(name, spec)| {
                let p = Profile {
                    file: self.file.clone(),
                    spec,
                };
                (named.then_some(name), p)
            })
            .collect()
    }

    /// Warnings for modes in which no rule of `catalogue` can run (each selected rule
    /// requires something the mode does not provide).
    pub fn idle_modes(&self, catalogue: &crate::spec::Catalogue) -> Vec<String> {
        self.modes()
            .into_iter()
            .filter_map(|(name, p)| {
                let caps = modes::static_capabilities(&p.spec);
                let runs = catalogue
                    .rules
                    .iter()
                    .any(|r| r.requires.iter().all(|c| caps.contains(c)));
                (!runs).then(|| {
                    let name = name.unwrap_or_else(|| modes::DEFAULT_MODE.to_owned());
                    format!(
                        "mode `{name}` provides nothing a selected rule requires: no rule will run in it"
                    )
                })
            })
            .collect()
    }

    /// Moves the top level's cookie session (`session`, `flows`) into the mode `cookie` and
    /// its `token` into the mode `token`, and checks the profile again: the built-in testbed
    /// profile as two auth modes (`authprobe demo --modes`).
    pub fn split_into_modes(&mut self, cookie: &str, token: &str) -> Result<(), Diagnostics> {
        let at = |value: ModeSpec| serde_saphyr::Spanned {
            value,
            referenced: self.spec.base_url.referenced,
            defined: self.spec.base_url.defined,
        };
        let cookie_mode = ModeSpec {
            session: Some(std::mem::take(&mut self.spec.session)),
            flows: self.spec.flows.take(),
            token: None,
        };
        let token_mode = ModeSpec {
            session: None,
            flows: None,
            token: self.spec.token.take(),
        };
        for (name, m) in [(cookie, cookie_mode), (token, token_mode)] {
            if m.flows.is_some() || m.token.is_some() {
                self.spec.modes.insert(name.to_owned(), at(m));
            }
        }
        let d = check(&self.file, &self.spec);
        if d.is_empty() { Ok(()) } else { Err(d) }
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

    #[test]
    fn the_testbed_profile_splits_into_a_cookie_and_a_token_mode() {
        let mut p = Profile::testbed("http://127.0.0.1:9").unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(p.modes().len(), 1);
        assert_eq!(p.modes()[0].0, None);
        p.split_into_modes("browser", "api")
            .unwrap_or_else(|d| panic!("{d}"));
        let modes = p.modes();
        let names: Vec<_> = modes.iter().map(|(n, _)| n.clone().unwrap()).collect();
        assert_eq!(names, ["api", "browser"]);
        assert!(modes[0].1.spec.flows.is_none() && modes[0].1.spec.token.is_some());
        assert!(modes[1].1.spec.flows.is_some() && modes[1].1.spec.token.is_none());
        assert_eq!(
            modes[1].1.spec.session.cookie.as_deref(),
            Some("__Host-session")
        );
    }
}
