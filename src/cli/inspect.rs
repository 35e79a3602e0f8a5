//! `authprobe inspect`: show what a Set-Cookie header or a token really does, offline. The
//! only request is `inspect jwt --jwks URL`, which fetches that key set.

use std::path::PathBuf;

use authprobe::diag::{self, InputKind};
use authprobe::jwt::inspect::{VerifyKey, inspect, render_text};
use clap::{Args, Subcommand};

use super::exit::{CliError, Exit};
use super::fetch::fetch_document;
use super::io::{OutputFormat, now, out};

/// `inspect` subcommands.
#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    /// Parse Set-Cookie headers losslessly and show what a browser on URL would store and send back.
    SetCookie(InspectSetCookieArgs),
    /// Decode a JWT offline: header, payload, anomalies, what anyone can read, lifetime, and
    /// with a key whether it verifies. The token is never sent anywhere.
    Jwt(InspectJwtArgs),
}

/// `inspect jwt` arguments.
#[derive(Debug, Args)]
pub struct InspectJwtArgs {
    /// The token (compact serialisation); `-` reads it from stdin.
    pub token: String,
    /// A PEM public key file, or a file holding an HMAC secret.
    #[arg(long, value_name = "FILE", conflicts_with = "jwks")]
    pub key: Option<PathBuf>,
    /// A JWKS file, or an http(s) URL to fetch it from (only the key set is fetched).
    #[arg(long, value_name = "FILE_OR_URL")]
    pub jwks: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
}

/// `inspect set-cookie` arguments.
#[derive(Debug, Args)]
pub struct InspectSetCookieArgs {
    /// The URL of the response that carried the headers.
    #[arg(long)]
    pub url: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    /// Set-Cookie header values, in the order received.
    #[arg(required = true, value_name = "HEADER")]
    pub headers: Vec<String>,
}

/// Runs one `inspect` subcommand.
pub async fn inspect_command(command: InspectCommand) -> Result<Exit, CliError> {
    match command {
        InspectCommand::SetCookie(a) => set_cookie(&a),
        InspectCommand::Jwt(a) => jwt(&a).await,
    }
}

/// Parses the headers and shows what a browser on `--url` would store.
fn set_cookie(a: &InspectSetCookieArgs) -> Result<Exit, CliError> {
    let url = match url::Url::parse(&a.url) {
        Ok(u) if u.host().is_some() => u,
        Ok(_) => return Err(CliError::bad_input(format!("--url {} has no host", a.url))),
        Err(e) => return Err(CliError::bad_input(format!("--url {}: {e}", a.url))),
    };
    let headers: Vec<&str> = a.headers.iter().map(|h| strip_header_name(h)).collect();
    let inspection = authprobe::cookie::inspect(&headers, &url, now());
    out(&match a.format {
        OutputFormat::Human => authprobe::cookie::render_text(&inspection),
        OutputFormat::Json => serde_json::to_string_pretty(&inspection).unwrap_or_default(),
    })?;
    Ok(Exit::Success)
}

/// Accepts `Set-Cookie: a=b` as well as `a=b`.
fn strip_header_name(h: &str) -> &str {
    let t = h.trim_start();
    match t.get(..11) {
        Some(p) if p.eq_ignore_ascii_case("set-cookie:") => t[11..].trim_start(),
        _ => h,
    }
}

/// Decodes the token and, with a key, verifies it; exit 1 when it does not verify.
async fn jwt(a: &InspectJwtArgs) -> Result<Exit, CliError> {
    let token = if a.token == "-" {
        read_stdin_token()?
    } else {
        a.token.clone()
    };
    let key = match (&a.key, &a.jwks) {
        (Some(path), _) => Some(key_file(path)?),
        (None, Some(src)) => Some(jwks(src).await?),
        (None, None) => None,
    };
    let i = inspect(&token, key.as_ref(), now())
        .map_err(|e| CliError::bad_input(format!("not a JWT: {e}")))?;
    out(&match a.format {
        OutputFormat::Human => render_text(&i),
        OutputFormat::Json => serde_json::to_string_pretty(&i).unwrap_or_default(),
    })?;
    Ok(match &i.verification {
        Some(v) if !v.verified => Exit::Failed,
        _ => Exit::Success,
    })
}

/// Reads the token from stdin (at most 1 MiB; more is refused, not cut).
fn read_stdin_token() -> Result<String, CliError> {
    diag::read_text_from(std::io::stdin().lock(), "stdin", InputKind::Token)
        .map_err(|e| CliError::bad_input(format!("the token on {e}")))
}

/// `--key FILE`: a PEM public key, or else an HMAC secret (its bytes, without a trailing
/// newline). At most 1 MiB is read.
fn key_file(path: &std::path::Path) -> Result<VerifyKey, CliError> {
    let bytes = diag::read_bytes(path, InputKind::Key)
        .map_err(|e| CliError::bad_input(format!("--key {e}")))?;
    Ok(if bytes.windows(10).any(|w| w == b"-----BEGIN") {
        let text = String::from_utf8(bytes).map_err(|_| {
            CliError::bad_input(format!(
                "--key {}: a PEM key that is not UTF-8 text",
                path.display()
            ))
        })?;
        VerifyKey::Pem(text)
    } else {
        let end = bytes
            .iter()
            .rposition(|b| !matches!(b, b'\n' | b'\r'))
            .map_or(0, |i| i + 1);
        VerifyKey::Secret(bytes[..end].to_vec())
    })
}

/// `--jwks FILE_OR_URL`: a key set read from a file (at most 1 MiB) or fetched from an
/// http(s) URL.
async fn jwks(src: &str) -> Result<VerifyKey, CliError> {
    if !(src.starts_with("http://") || src.starts_with("https://")) {
        let text = diag::read_text(std::path::Path::new(src), InputKind::Jwks)
            .map_err(|e| CliError::bad_input(format!("--jwks {e}")))?;
        return Ok(VerifyKey::Jwks(text));
    }
    let url =
        url::Url::parse(src).map_err(|e| CliError::bad_input(format!("--jwks {src}: {e}")))?;
    let body = fetch_document(url, "--jwks", authprobe::TrustRoots::none())
        .await
        .map_err(CliError::bad_input)?;
    Ok(VerifyKey::Jwks(String::from_utf8_lossy(&body).into_owned()))
}
