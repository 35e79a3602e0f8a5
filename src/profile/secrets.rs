//! Secrets: the users' passwords, the signing keys and the OAuth client secret, read from the
//! sources the profile names — environment variables, files (relative to the profile) or
//! `public_demo` values (which `check` accepts for loopback targets only). Owns the
//! secret-bearing types; their `Debug` output never shows a secret. Reads environment
//! variables and files, nothing else; sends no request.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::Location;

use super::format::{ProfileFile, SecretSource};
use super::oauth::client_vars;
use super::template::Vars;
use crate::diag::{self, Diagnostic, Diagnostics};

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
    /// The secret file could not be read.
    #[error("cannot read secret file {}: {reason}", path.display())]
    File {
        /// The file, relative paths joined to the profile's directory.
        path: PathBuf,
        /// The operating system's reason, lowercased.
        reason: String,
    },
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
                match std::fs::read_to_string(&full) {
                    Ok(v) => Ok(v.trim_end_matches(['\n', '\r']).to_string()),
                    Err(e) => Err(SecretError::File {
                        path: full,
                        reason: diag::lower(&e.to_string()),
                    }),
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
