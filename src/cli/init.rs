//! `authprobe init`: write a commented profile. With `--url` it first looks at the service
//! (`authprobe::discover`: GET requests only, and with `--login` one sign-in and one logout);
//! with `--skeleton` (or neither `--url` nor a discovery) it writes the generic skeleton,
//! optionally filled from an OpenID Connect discovery document (`--oidc`, the only request
//! sent then).

use std::io::Write;
use std::path::{Path, PathBuf};

use authprobe::{Client, ClientConfig, TrustRoots, diag, profile};
use clap::Args;

use super::exit::{CliError, Exit};
use super::fetch::fetch_document;
use super::io::{out, read_ca_file};

/// `init` arguments.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The service's base URL.
    #[arg(long)]
    pub url: Option<String>,
    /// An OpenID Connect discovery document URL (`.../.well-known/openid-configuration`)
    /// whose endpoints fill the token section.
    #[arg(long, value_name = "DISCOVERY_URL")]
    pub oidc: Option<String>,
    /// Write to FILE (never overwrites) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// CA certificates (a PEM bundle) to trust besides the system's when fetching `--oidc`.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Sign in once as USER to learn the session cookie, the protected resource, the
    /// allowed/denied answers and the logout (the password comes from `--password-env`).
    #[arg(long, value_name = "USER", requires = "url")]
    pub login: Option<String>,
    /// The environment variable holding the password of `--login` (never the password
    /// itself); the profile reads the same variable.
    #[arg(long, value_name = "VAR", default_value = "ALICE_PASSWORD")]
    pub password_env: String,
    /// The OAuth client of an OpenID provider's password grant.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The environment variable holding the OAuth client's secret.
    #[arg(long, value_name = "VAR", default_value = "OAUTH_CLIENT_SECRET")]
    pub client_secret_env: String,
    /// Write the generic skeleton for `--url` without sending anything to it.
    #[arg(long, conflicts_with = "login")]
    pub skeleton: bool,
}

/// Writes the skeleton to stdout or to `--out`.
pub async fn init(a: InitArgs) -> Result<Exit, CliError> {
    if let (Some(url), false, None) = (&a.url, a.skeleton, &a.oidc) {
        let text = discover(url, &a).await?;
        match &a.out {
            None => out(&text)?,
            Some(path) => write_new(path, &text)?,
        }
        return Ok(Exit::Success);
    }
    let discovery = match &a.oidc {
        Some(src) => Some(discovery(src, read_ca_file(a.ca_file.as_deref())?).await?),
        None => None,
    };
    let text =
        profile::skeleton(a.url.as_deref(), discovery.as_ref()).map_err(CliError::bad_input)?;
    match &a.out {
        None => out(&text)?,
        Some(path) => write_new(path, &text)?,
    }
    Ok(Exit::Success)
}

/// An environment variable's value, or a bad-input error naming it and the flag.
fn env_secret(var: &str, flag: &str) -> Result<String, CliError> {
    std::env::var(var).map_err(|_| {
        CliError::bad_input(format!(
            "{flag} {var}: the environment variable is not set (the secret is read from it, never from the command line)"
        ))
    })
}

/// Looks at the service at `url` (see `authprobe::discover`) and writes the profile; the
/// skeleton, with a note, when it offers nothing to sign in with.
async fn discover(url: &str, a: &InitArgs) -> Result<String, CliError> {
    let base = match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
        Ok(_) => {
            return Err(CliError::bad_input(format!(
                "--url {url}: not an http(s) URL"
            )));
        }
        Err(e) => return Err(CliError::bad_input(format!("--url {url}: {e}"))),
    };
    let login = match &a.login {
        Some(user) => Some((user.clone(), env_secret(&a.password_env, "--password-env")?)),
        None => None,
    };
    let client = match &a.client_id {
        Some(id) if login.is_some() => Some((
            id.clone(),
            env_secret(&a.client_secret_env, "--client-secret-env")?,
        )),
        _ => None,
    };
    let config = ClientConfig {
        allowed_origins: vec![base.origin()],
        max_requests: DISCOVERY_REQUESTS,
        trust_roots: read_ca_file(a.ca_file.as_deref())?,
        ..ClientConfig::default()
    };
    let http = Client::new(config).map_err(|e| CliError::Unreachable(e.to_string()))?;
    let options = authprobe::discover::Options { login, client };
    let found = authprobe::discover::discover(http, base, &options)
        .await
        .map_err(|e| match e {
            authprobe::discover::DiscoverError::LoginFailed(_) => {
                CliError::bad_input(format!("--login: {e}"))
            }
            e => CliError::Unreachable(format!(
                "{e} (--skeleton writes a profile without looking at the service)"
            )),
        })?;
    let names = authprobe::discover::Names {
        user: a
            .login
            .clone()
            .unwrap_or_else(|| "alice@example.com".into()),
        password_env: a.password_env.clone(),
        client_id: a.client_id.clone(),
        client_secret_env: a.client_secret_env.clone(),
    };
    eprintln!(
        "authprobe: init sent {} requests to {} ({})",
        found.sent.len(),
        found.base,
        summary(&found)
    );
    match authprobe::discover::write_profile(&found, &names) {
        Some(text) => Ok(text),
        None => {
            let text = profile::skeleton(Some(url), None).map_err(CliError::bad_input)?;
            Ok(format!("# NOTE: init found no login page, login form, OpenAPI login or OpenID provider at {url};
# this is the generic skeleton: fill in the flows.
{text}"))
        }
    }
}

/// Requests discovery may send at most.
const DISCOVERY_REQUESTS: u64 = 80;

/// What was found, in a few words.
fn summary(d: &authprobe::discover::Discovery) -> String {
    let mut found = Vec::new();
    if let Some(f) = &d.form_login {
        found.push(format!("login form at {}", f.page));
    }
    if let Some((doc, _)) = &d.api_login {
        found.push(format!("JSON login in {doc}"));
    }
    if d.oidc.is_some() {
        found.push("OpenID provider".to_string());
    }
    if !d.learned.session_cookies.is_empty() {
        found.push(format!(
            "session cookie {}",
            d.learned.session_cookies.join(", ")
        ));
    }
    if found.is_empty() {
        "nothing to sign in with".to_string()
    } else {
        found.join("; ")
    }
}

/// Fetches the discovery document at `src`: a JSON object.
async fn discovery(src: &str, trust_roots: TrustRoots) -> Result<serde_json::Value, CliError> {
    let url = match url::Url::parse(src) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        Ok(_) => {
            return Err(CliError::bad_input(format!(
                "--oidc {src}: not an http(s) URL"
            )));
        }
        Err(e) => return Err(CliError::bad_input(format!("--oidc {src}: {e}"))),
    };
    let body = fetch_document(url, "--oidc", trust_roots)
        .await
        .map_err(|e| CliError::Unreachable(e.to_string()))?;
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(CliError::bad_input(format!(
            "--oidc {src}: the answer is not a JSON object"
        ))),
    }
}

/// Writes the skeleton to a new file (never over an existing one) and says what to do next.
fn write_new(path: &Path, text: &str) -> Result<(), CliError> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path);
    file.and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| {
            CliError::bad_input(format!(
                "cannot write {} (it is never overwritten): {}",
                path.display(),
                diag::lower(&e.to_string())
            ))
        })?;
    eprintln!(
        "authprobe: wrote {}; fill in the flows, then `authprobe validate {}`",
        path.display(),
        path.display()
    );
    Ok(())
}
