//! Secrets: the users' passwords, the signing keys and the OAuth client secret, read from the
//! sources the profile names — environment variables, files (relative to the profile) or
//! `public_demo` values (which `check` accepts for loopback targets only). A secret file is
//! read through the 64 KiB limit of [`InputKind::Secret`], so `/dev/zero` is refused. Owns the
//! secret-bearing types; their `Debug` output never shows a secret. Reads environment
//! variables and files, nothing else; sends no request.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_saphyr::Location;

use super::format::{ProfileFile, SecretSource};
use super::oauth::client_vars;
use super::template::Vars;
use crate::diag::{self, Diagnostic, Diagnostics, InputError, InputKind};

/// Why a secret could not be read; each variant keeps the variable or file at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The environment variable is unset or empty.
    #[error("environment variable `{0}` is not set")]
    EnvNotSet(String),
    /// The environment variable's value is not UTF-8.
    #[error("environment variable `{0}` is not valid utf-8")]
    EnvNotUnicode(String),
    /// The secret file could not be read, is larger than 64 KiB or is not UTF-8 text; the
    /// error keeps the file (relative paths joined to the profile's directory).
    #[error("secret file {0}")]
    File(InputError),
}

impl SecretSource {
    /// Reads the secret. A relative file path is relative to the directory of
    /// `profile_file`; a file secret keeps its content without trailing line breaks (PEM keys
    /// keep their inner newlines).
    pub fn read(&self, profile_file: &Path) -> Result<String, SecretError> {
        match self {
            SecretSource::Env(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(v),
                Ok(_) | Err(std::env::VarError::NotPresent) => {
                    Err(SecretError::EnvNotSet(var.clone()))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(SecretError::EnvNotUnicode(var.clone()))
                }
            },
            SecretSource::File(p) => {
                let full = if p.is_absolute() {
                    p.clone()
                } else {
                    profile_file.parent().unwrap_or(Path::new(".")).join(p)
                };
                match diag::read_text(&full, InputKind::Secret) {
                    Ok(v) => Ok(v.trim_end_matches(['\n', '\r']).to_string()),
                    Err(e) => Err(SecretError::File(e)),
                }
            }
            SecretSource::PublicDemo(v) => Ok(v.clone()),
        }
    }
}

/// A test user with the password resolved.
#[derive(Clone)]
pub struct User {
    /// Login name.
    pub username: String,
    /// Password (never printed; registered with the redactor).
    pub password: String,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "User {{ username: {:?}, password: <redacted> }}",
            self.username
        )
    }
}

/// A resolved signing key (secret material; never printed).
#[derive(Clone)]
pub struct SigningKeyMaterial {
    /// PEM text or HMAC secret.
    pub material: String,
    /// Declared algorithm.
    pub alg: Option<String>,
    /// Declared key id.
    pub kid: Option<String>,
}

impl fmt::Debug for SigningKeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKeyMaterial {{ alg: {:?}, kid: {:?}, material: <redacted> }}",
            self.alg, self.kid
        )
    }
}

/// Every secret of a profile, read.
pub(super) struct Secrets {
    /// Users by spec name, with their passwords.
    pub users: BTreeMap<String, User>,
    /// The token section's signing keys.
    pub signing_keys: Vec<SigningKeyMaterial>,
    /// The OAuth client secret.
    pub client_secret: Option<String>,
    /// The `client.*` template variables (empty without `token.oauth`).
    pub token_vars: Vars,
}

/// Reads every secret `spec` (from `file`) names; each one that cannot be read becomes a
/// diagnostic at its key, and all of them are reported together.
pub(super) fn load(file: &Path, spec: &ProfileFile) -> Result<Secrets, Diagnostics> {
    let mut reader = Reader {
        file,
        out: Diagnostics::default(),
    };
    let mut users = BTreeMap::new();
    for (name, user) in &spec.users {
        let path = format!("users.{name}.password");
        if let Some(password) = reader.read(&user.value.password, &user.referenced, &path) {
            let username = user.value.username.clone();
            users.insert(name.clone(), User { username, password });
        }
    }
    let mut signing_keys = Vec::new();
    for (i, k) in spec
        .token
        .iter()
        .flat_map(|t| t.signing_keys.iter())
        .enumerate()
    {
        let path = format!("token.signing_keys[{i}].key");
        if let Some(material) = reader.read(&k.value.key, &k.referenced, &path) {
            signing_keys.push(SigningKeyMaterial {
                material,
                alg: k.value.alg.clone(),
                kid: k.value.kid.clone(),
            });
        }
    }
    let mut client_secret = None;
    let mut token_vars = Vars::new();
    if let Some(o) = spec.token.as_ref().and_then(|t| t.oauth.as_ref()) {
        let client = &o.client;
        if let Some(source) = &client.value.secret {
            let path = "token.oauth.client.secret";
            client_secret = reader.read(source, &client.referenced, path);
        }
        token_vars = client_vars(&client.value, client_secret.as_deref());
    }
    if !reader.out.is_empty() {
        return Err(reader.out);
    }
    Ok(Secrets {
        users,
        signing_keys,
        client_secret,
        token_vars,
    })
}

/// What `load` would refuse in `spec` (from `file`): every unset or non-UTF-8 environment
/// variable and every unreadable secret file the profile names, each at its key. The secrets
/// read on the way are dropped unseen; `validate` reports these as warnings (the variables
/// may well be set where `check` runs), `check` refuses the profile for them.
pub(super) fn unreadable(file: &Path, spec: &ProfileFile) -> Diagnostics {
    match load(file, spec) {
        Ok(_) => Diagnostics::default(),
        Err(d) => d,
    }
}

/// Reads secrets and collects what went wrong.
struct Reader<'a> {
    file: &'a Path,
    out: Diagnostics,
}

impl Reader<'_> {
    /// Reads one secret; a problem becomes a diagnostic at `loc` and `path`.
    fn read(&mut self, source: &SecretSource, loc: &Location, path: &str) -> Option<String> {
        match source.read(self.file) {
            Ok(secret) => Some(secret),
            Err(e) => {
                let d = Diagnostic::new(self.file, loc.line(), loc.column(), path, e.to_string());
                self.out.push(match &e {
                    SecretError::EnvNotSet(var) => {
                        d.with_hint(format!("export {var}=... before running authprobe"))
                    }
                    _ => d,
                });
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::fixtures::{
        CLIENT_BASIC, CLIENT_SECRET, OAUTH, at, parse, replace, unresolved,
    };
    use crate::profile::{TESTBED_PROFILE, parse_profile};
    use std::path::PathBuf;

    #[test]
    fn missing_environment_variable_is_a_located_diagnostic() {
        let src = TESTBED_PROFILE.replace(
            "{public_demo: alice-demo-password}",
            "{env: AUTHPROBE_TEST_SURELY_UNSET_VAR}",
        );
        let p = parse_profile(&src, Path::new("p.yaml")).unwrap_or_else(|d| panic!("{d}"));
        let d = p.load_secrets().unwrap_err();
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].message.contains("AUTHPROBE_TEST_SURELY_UNSET_VAR"));
        assert!(d.0[0].line > 0);
        assert!(d.0[0].hint.as_deref().unwrap_or("").starts_with("export "));
    }

    #[test]
    fn unset_client_secret_variable_is_a_located_diagnostic() {
        let src = replace(
            OAUTH,
            "{public_demo: \"s3cr:et/+ é\"}",
            "{env: AUTHPROBE_TEST_SURELY_UNSET_CLIENT_SECRET}",
        );
        let d = parse(&src).load_secrets().unwrap_err();
        let x = at(&d, "token.oauth.client.secret");
        assert_eq!(x.line, 17, "{d}");
        assert!(
            x.message
                .contains("AUTHPROBE_TEST_SURELY_UNSET_CLIENT_SECRET")
        );
    }

    #[test]
    fn client_variables_come_from_the_resolved_secret() {
        let t = unresolved(OAUTH);
        assert_eq!(t.client_secret.as_deref(), Some(CLIENT_SECRET));
        assert_eq!(t.token_vars["client.id"], "my client");
        assert_eq!(t.token_vars["client.secret"], CLIENT_SECRET);
        assert_eq!(t.token_vars["client.basic"], CLIENT_BASIC);
        let public = replace(
            OAUTH,
            "secret: {public_demo: \"s3cr:et/+ é\"}, auth: basic",
            "auth: none",
        );
        let t = unresolved(&public);
        assert_eq!(t.client_secret, None);
        assert_eq!(t.token_vars.keys().collect::<Vec<_>>(), ["client.id"]);
    }

    #[test]
    fn a_secret_file_is_read_relative_to_the_profile_without_trailing_line_breaks() {
        let dir = std::env::temp_dir().join(format!("authprobe-secrets-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        std::fs::write(dir.join("keys/alice"), "line one\nline two\r\n\n").unwrap();
        let profile = dir.join("profile.yaml");
        let source = SecretSource::File(PathBuf::from("keys/alice"));
        assert_eq!(source.read(&profile).unwrap(), "line one\nline two");
        let missing = SecretSource::File(PathBuf::from("keys/bob"));
        match missing.read(&profile) {
            Err(SecretError::File(e)) => assert_eq!(e.path, dir.join("keys/bob")),
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unset_variable_is_an_error_that_names_it() {
        let e = SecretSource::Env("AUTHPROBE_TEST_SURELY_UNSET_VAR".into())
            .read(Path::new("p.yaml"))
            .unwrap_err();
        assert_eq!(
            e,
            SecretError::EnvNotSet("AUTHPROBE_TEST_SURELY_UNSET_VAR".into())
        );
        assert_eq!(
            e.to_string(),
            "environment variable `AUTHPROBE_TEST_SURELY_UNSET_VAR` is not set"
        );
    }

    #[test]
    fn unreadable_lists_every_unset_variable_and_missing_file_at_its_key() {
        let src = replace(
            OAUTH,
            "secret: {public_demo: \"s3cr:et/+ é\"}",
            "secret: {env: AUTHPROBE_UNIT_UNSET_CLIENT_SECRET}",
        );
        let src = replace(
            &src,
            "password: {public_demo: alice-demo-password}",
            "password: {file: /nonexistent/authprobe/alice}",
        );
        let p = parse(&src);
        let d = p.unreadable_secrets();
        let x = at(&d, "token.oauth.client.secret");
        assert_eq!(
            x.message,
            "environment variable `AUTHPROBE_UNIT_UNSET_CLIENT_SECRET` is not set"
        );
        assert!(x.line > 0, "{d}");
        let x = at(&d, "users.alice.password");
        assert!(x.message.contains("/nonexistent/authprobe/alice"), "{d}");
        assert_eq!(x.line, 6, "{d}");
        assert_eq!(d.0.len(), 2, "{d}");
        assert!(parse(OAUTH).unreadable_secrets().is_empty());
    }
}
