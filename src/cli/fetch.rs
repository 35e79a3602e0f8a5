//! Fetching the one document a command needs (a JWKS for `inspect jwt --jwks URL`, a
//! discovery document for `init --oidc`) with a probe client limited to that URL's origin
//! and a single request. Nothing else is sent.

use authprobe::{Client, ClientConfig, HttpError, ProbeRequest, TrustRoots};

/// Why a document could not be fetched; the message is one line.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The request failed, or the client for that origin could not be built.
    #[error("{0}")]
    Http(#[from] HttpError),
    /// The server answered with another status than 200.
    #[error("{flag} {url} answered {status}")]
    Status {
        /// The flag that named the URL, e.g. `--jwks`.
        flag: String,
        /// The URL as given.
        url: String,
        /// The status code received.
        status: u16,
    },
}

/// Fetches `url` (named by `flag`) and returns the body of a 200 answer; `trust_roots` are
/// trusted besides the system's CAs (`--ca-file`).
pub async fn fetch_document(
    url: url::Url,
    flag: &str,
    trust_roots: TrustRoots,
) -> Result<Vec<u8>, FetchError> {
    let config = ClientConfig {
        allowed_origins: vec![url.origin()],
        max_requests: 1,
        trust_roots,
        ..ClientConfig::default()
    };
    let client = Client::new(config)?;
    let shown = url.to_string();
    let exchange = client.send(ProbeRequest::get(url)).await?;
    match exchange.response.status {
        200 => Ok(exchange.response.body),
        status => Err(FetchError::Status {
            flag: flag.to_string(),
            url: shown,
            status,
        }),
    }
}
