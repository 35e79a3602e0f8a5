//! `authprobe inspect`: show what a Set-Cookie header or a token really does, offline. The
//! only request is `inspect jwt --jwks URL`, which fetches that key set.

use std::path::PathBuf;

use authprobe::diag::{self, InputKind};
use authprobe::jwt::inspect::{Inspected, VerifyKey, inspect_input, render_jwe_text, render_text};
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
    /// with a key whether it verifies. The token is never sent anywhere. Reads the compact
    /// and both JSON serialisations, detached and unencoded (b64: false) payloads, and
    /// describes a JWE (exit 0; 1 with a key, as it cannot be verified).
    Jwt(InspectJwtArgs),
}

/// `inspect jwt` arguments.
#[derive(Debug, Args)]
pub struct InspectJwtArgs {
    /// The token: compact (`header.payload.signature`, `header..signature` when detached) or
    /// a JWS/JWE JSON serialisation; `-` reads it from stdin, `@FILE` from a file.
    pub token: String,
    /// The detached payload (RFC 7515 Appendix F): a file whose bytes are the payload exactly
    /// as signed (before base64url; as is with `b64: false`).
    #[arg(long, value_name = "FILE")]
    pub payload: Option<PathBuf>,
    /// A PEM public key file, or a file holding an HMAC secret (its bytes exactly as they
    /// are, a trailing newline included).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["jwks", "key_b64"])]
    pub key: Option<PathBuf>,
    /// A file holding an HMAC secret in base64 or base64url text (for binary secrets;
    /// surrounding whitespace ignored).
    #[arg(long = "key-b64", value_name = "FILE", conflicts_with = "jwks")]
    pub key_b64: Option<PathBuf>,
    /// Verify only under this algorithm (e.g. PS512): a token of another one is refused.
    #[arg(long, value_name = "ALG")]
    pub alg: Option<String>,
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
    /// The URL of the response(s) that carried the headers.
    #[arg(long)]
    pub url: String,
    /// Another URL to ask about: is each stored cookie sent there, and if not, why (repeat
    /// for several; `--url` is always answered first).
    #[arg(long = "request-url", value_name = "URL")]
    pub request_urls: Vec<String>,
    /// The time to judge at: Unix seconds or an HTTP date (default: now).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// A file of response header lines or a whole HTTP response (status line, headers, body);
    /// its Set-Cookie headers are applied in order after the HEADER arguments; `-` reads
    /// stdin; repeat for several responses, in order.
    #[arg(long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    /// Set-Cookie header values, in the order received.
    #[arg(value_name = "HEADER", required_unless_present = "files")]
    pub headers: Vec<String>,
}

/// Runs one `inspect` subcommand.
pub async fn inspect_command(command: InspectCommand) -> Result<Exit, CliError> {
    match command {
        InspectCommand::SetCookie(a) => set_cookie(&a),
        InspectCommand::Jwt(a) => jwt(&a).await,
    }
}

/// Parses the headers and shows what a browser on `--url` would store, and send to `--url`
/// and each `--request-url`.
fn set_cookie(a: &InspectSetCookieArgs) -> Result<Exit, CliError> {
    let url = request_url("--url", &a.url)?;
    let requests = a
        .request_urls
        .iter()
        .map(|u| request_url("--request-url", u))
        .collect::<Result<Vec<_>, _>>()?;
    let at = match &a.now {
        Some(t) => parse_now(t)?,
        None => now(),
    };
    let mut texts = Vec::new();
    for path in &a.files {
        texts.push(read_headers_file(path)?);
    }
    let mut headers: Vec<&str> = a.headers.iter().map(|h| strip_header_name(h)).collect();
    for text in &texts {
        headers.extend(set_cookie_lines(text));
    }
    if headers.is_empty() {
        return Err(CliError::bad_input(
            "no Set-Cookie header: none given and none in the --file input".to_owned(),
        ));
    }
    let inspection = authprobe::cookie::inspect(&headers, &url, &requests, at);
    out(&match a.format {
        OutputFormat::Human => authprobe::cookie::render_text(&inspection),
        OutputFormat::Json => serde_json::to_string_pretty(&inspection).unwrap_or_default(),
    })?;
    Ok(Exit::Success)
}

/// A URL option's value: absolute, with a host.
fn request_url(option: &str, value: &str) -> Result<url::Url, CliError> {
    match url::Url::parse(value) {
        Ok(u) if u.host().is_some() => Ok(u),
        Ok(_) => Err(CliError::bad_input(format!("{option} {value} has no host"))),
        Err(e) => Err(CliError::bad_input(format!("{option} {value}: {e}"))),
    }
}

/// `--now`: Unix seconds, or a date in any form a cookie's Expires may take.
fn parse_now(value: &str) -> Result<i64, CliError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .or_else(|| authprobe::cookie::parse_cookie_date(value))
        .ok_or_else(|| {
            CliError::bad_input(format!(
                "--now {value:?}: not Unix seconds nor a date (e.g. 1700000000 or \"Tue, 14 Nov 2023 22:13:20 GMT\")"
            ))
        })
}

/// Reads a `--file` (`-`: stdin), at most 1 MiB.
fn read_headers_file(path: &std::path::Path) -> Result<String, CliError> {
    if path.as_os_str() == "-" {
        return diag::read_text_from(std::io::stdin().lock(), "stdin", InputKind::Headers)
            .map_err(|e| CliError::bad_input(format!("--file {e}")));
    }
    diag::read_text(path, InputKind::Headers)
        .map_err(|e| CliError::bad_input(format!("--file {e}")))
}

/// The Set-Cookie values of a headers file, in order: lines `Set-Cookie: VALUE`
/// (case-insensitive), and lines that are not a header at all (a bare value). Other header
/// lines are skipped; a file that starts with an HTTP status line ends at its first empty
/// line (the body follows).
fn set_cookie_lines(text: &str) -> Vec<&str> {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r')).peekable();
    let response = lines.peek().is_some_and(|l| l.starts_with("HTTP/"));
    if response {
        lines.next();
    }
    let mut out = Vec::new();
    for line in lines {
        if line.trim().is_empty() {
            if response {
                break;
            }
            continue;
        }
        match header_name(line) {
            Some(name) if name.eq_ignore_ascii_case("set-cookie") => {
                out.push(strip_header_name(line))
            }
            Some(_) => {}
            None if line.starts_with([' ', '\t']) => {}
            None => out.push(line),
        }
    }
    out
}

/// The header name of `line` when it is `token:` followed by anything.
fn header_name(line: &str) -> Option<&str> {
    let (name, _) = line.split_once(':')?;
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    (!name.is_empty() && name.bytes().all(tchar)).then_some(name)
}

/// Accepts `Set-Cookie: a=b` as well as `a=b`.
fn strip_header_name(h: &str) -> &str {
    let t = h.trim_start();
    match t.get(..11) {
        Some(p) if p.eq_ignore_ascii_case("set-cookie:") => t[11..].trim_start(),
        _ => h,
    }
}

/// Decodes the token and, with a key, verifies it; exit 1 when it does not verify. A JWE is
/// described: exit 0, or 1 when a key was given (it cannot be verified).
async fn jwt(a: &InspectJwtArgs) -> Result<Exit, CliError> {
    let token = if a.token == "-" {
        read_stdin_token()?
    } else if let Some(path) = a.token.strip_prefix('@') {
        diag::read_text(std::path::Path::new(path), InputKind::Token)
            .map_err(|e| CliError::bad_input(format!("the token file {e}")))?
    } else {
        a.token.clone()
    };
    let key = match (&a.key, &a.key_b64, &a.jwks) {
        (Some(path), _, _) => Some(key_file(path)?),
        (None, Some(path), _) => Some(key_b64_file(path)?),
        (None, None, Some(src)) => Some(jwks(src).await?),
        (None, None, None) => None,
    };
    if let Some(alg) = &a.alg
        && authprobe::jwt::strict::key_type_of(alg).is_none()
    {
        return Err(CliError::bad_input(format!(
            "--alg {alg:?}: not a JWS algorithm authprobe verifies (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA)"
        )));
    }
    let payload = match &a.payload {
        Some(path) => Some(
            diag::read_bytes(path, InputKind::Token)
                .map_err(|e| CliError::bad_input(format!("--payload {e}")))?,
        ),
        None => None,
    };
    let inspected = inspect_input(
        &token,
        payload.as_deref(),
        key.as_ref(),
        a.alg.as_deref(),
        now(),
    )
    .map_err(|e| CliError::bad_input(format!("not a JWT: {e}")))?;
    let i = match inspected {
        Inspected::Jwe(d) => {
            out(&match a.format {
                OutputFormat::Human => render_jwe_text(&d),
                OutputFormat::Json => {
                    let v = serde_json::json!({"encrypted": true, "jwe": d});
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                }
            })?;
            return Ok(if key.is_some() {
                Exit::Failed
            } else {
                Exit::Success
            });
        }
        Inspected::Jws(i) => i,
    };
    if payload.is_some() && i.payload_source == authprobe::jwt::jose::PayloadSource::Attached {
        return Err(CliError::bad_input(
            "--payload: the token carries its own payload (it is not detached)",
        ));
    }
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

/// `--key FILE`: a PEM public key, or else an HMAC secret: the file's bytes exactly (a
/// binary secret or a trailing newline is part of the key). At most 1 MiB is read.
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
        VerifyKey::Secret(bytes)
    })
}

/// `--key-b64 FILE`: an HMAC secret written as base64 or base64url text (padded or not).
fn key_b64_file(path: &std::path::Path) -> Result<VerifyKey, CliError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let text = diag::read_text(path, InputKind::Key)
        .map_err(|e| CliError::bad_input(format!("--key-b64 {e}")))?;
    let t = text.trim().trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(t)
        .or_else(|_| STANDARD_NO_PAD.decode(t))
        .map(VerifyKey::Secret)
        .map_err(|e| {
            CliError::bad_input(format!(
                "--key-b64 {}: not base64 or base64url text ({e})",
                path.display()
            ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_files_yield_set_cookie_values_and_bare_values_in_order() {
        let text = "Set-Cookie: a=1\r\nContent-Type: text/html\r\nb=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT\n\
                    SET-COOKIE:c=3\n  folded\n\nset-cookie: d=4\n";
        assert_eq!(
            set_cookie_lines(text),
            vec![
                "a=1",
                "b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
                "c=3",
                "d=4"
            ]
        );
        let response = "HTTP/2 200\nset-cookie: a=1\nx-y: z\n\nset-cookie: body=1\n";
        assert_eq!(set_cookie_lines(response), vec!["a=1"]);
    }

    #[test]
    fn now_takes_unix_seconds_or_a_date() {
        assert_eq!(parse_now("1700000000").ok(), Some(1_700_000_000));
        assert_eq!(
            parse_now("Tue, 14 Nov 2023 22:13:20 GMT").ok(),
            Some(1_700_000_000)
        );
        assert!(parse_now("tomorrow").is_err());
    }
}
