//! `authprobe init`: write a commented profile skeleton, optionally filled from an OpenID
//! Connect discovery document (the only request it sends).

use std::io::Write;
use std::path::{Path, PathBuf};

use authprobe::{TrustRoots, diag, profile};
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
}

/// Writes the skeleton to stdout or to `--out`.
pub async fn init(a: InitArgs) -> Result<Exit, CliError> {
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
