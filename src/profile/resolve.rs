//! Resolution: an [`UnresolvedTarget`] becomes the resolved [`Target`] and the probe
//! [`Client`] the engine uses with it, before the engine starts. The client may reach
//! base_url's origin only, follows the profile's limits and knows every secret (its redactor
//! hides them in evidence); through it the `token.oauth.discovery` document is fetched once,
//! then `token.oauth` is applied ([`UnresolvedTarget::resolve_with`]). The one place of
//! `profile` that sends a request.

use std::time::Duration;

use url::Url;

use super::oauth::OAuthError;
use super::origin::UrlError;
use super::target::{Target, Unresolved};
use crate::http::{Client, ClientConfig, HttpError, ProbeRequest};

/// Why a target could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The probe client could not be built from the options and the profile's limits.
    #[error(transparent)]
    Client(HttpError),
    /// `token.oauth.discovery` is not a URL on base_url's origin (the profile is at fault).
    #[error("discovery document (token.oauth.discovery): {0}")]
    DiscoveryUrl(UrlError),
    /// The discovery document could not be fetched: the target did not answer.
    #[error("cannot fetch the discovery document: {0}")]
    Unreachable(HttpError),
    /// The discovery document answered another status than 200.
    #[error("the discovery document {url} answered {status}")]
    DiscoveryStatus {
        /// Where it was fetched from.
        url: Url,
        /// The status it answered.
        status: u16,
    },
    /// The discovery document is not a JSON object.
    #[error("the discovery document {url} is not a JSON object")]
    DiscoveryNotAnObject {
        /// Where it was fetched from.
        url: Url,
    },
    /// `token.oauth` cannot be applied: an endpoint is missing or on another origin.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
}

impl Target<Unresolved> {
    /// Builds the probe client for this target from `config` (the run's options), fetches
    /// the `token.oauth.discovery` document through it when the profile names one, and
    /// resolves the target with it ([`Self::resolve_with`]).
    pub async fn resolve(self, config: ClientConfig) -> Result<(Target, Client), ResolveError> {
        let client = self.probe_client(config).map_err(ResolveError::Client)?;
        let discovery = match self.discovery_url() {
            None => None,
            Some(url) => {
                let url = url.map_err(ResolveError::DiscoveryUrl)?;
                Some(fetch_discovery(&client, url).await?)
            }
        };
        let target = self.resolve_with(discovery.as_ref())?;
        Ok((target, client))
    }

    /// Resolves this target through a probe client built for another mode of the same
    /// profile (same origin and limits): registers this mode's secrets with the client's
    /// redactor, then fetches its discovery document through it, so every mode of a run
    /// shares one request budget and one rate.
    pub async fn resolve_on(self, client: &Client) -> Result<Target, ResolveError> {
        self.register_secrets(client);
        let discovery = match self.discovery_url() {
            None => None,
            Some(url) => {
                let url = url.map_err(ResolveError::DiscoveryUrl)?;
                Some(fetch_discovery(client, url).await?)
            }
        };
        Ok(self.resolve_with(discovery.as_ref())?)
    }

    /// The probe client: requests may go to the target's origin only, within the profile's
    /// limits (where `config` is not stricter), trusting the profile's CA file unless
    /// `config` names one, and every secret is registered with its redactor.
    fn probe_client(&self, mut config: ClientConfig) -> Result<Client, HttpError> {
        // base_url's origin and the replicas the profile names: nothing else.
        config.allowed_origins = std::iter::once(&self.base_url)
            .chain(&self.replicas)
            .map(Url::origin)
            .collect();
        if let Some(n) = self.limits.max_requests {
            config.max_requests = config.max_requests.min(n);
        }
        if config.max_rps.is_none() {
            config.max_rps = self.limits.max_rps;
        }
        if let Some(t) = self.limits.timeout {
            config.timeout = Duration::from_secs(t.0.max(1));
        }
        if config.trust_roots.is_empty() {
            config.trust_roots = self.trust_roots.clone();
        }
        let client = Client::new(config)?;
        self.register_secrets(&client);
        Ok(client)
    }

    /// Registers every secret of this target with `client`'s redactor.
    fn register_secrets(&self, client: &Client) {
        let redactor = client.redactor();
        for (name, user) in &self.users {
            redactor.register(&user.password, &format!("password:{name}"));
        }
        for (i, key) in self.signing_keys.iter().enumerate() {
            redactor.register(&key.material, &format!("signing-key:{i}"));
        }
        if let Some(secret) = &self.client_secret {
            redactor.register(secret, "client-secret");
        }
        if let Some(basic) = self.token_vars.get("client.basic") {
            redactor.register(basic, "client-basic");
        }
    }
}

/// Fetches the discovery document: a 200 answer whose body is a JSON object.
async fn fetch_discovery(client: &Client, url: Url) -> Result<serde_json::Value, ResolveError> {
    let ex = client
        .send(ProbeRequest::new("GET", url.clone()))
        .await
        .map_err(ResolveError::Unreachable)?;
    if ex.response.status != 200 {
        let status = ex.response.status;
        return Err(ResolveError::DiscoveryStatus { url, status });
    }
    match serde_json::from_slice::<serde_json::Value>(&ex.response.body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(ResolveError::DiscoveryNotAnObject { url }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::fixtures::{CLIENT_SECRET, OAUTH, TOKEN_FLOWS, replace, unresolved};
    use crate::profile::{FlowName, TokenSpec};

    /// The written token flows fixture on loopback (no `oauth`: nothing to fetch).
    fn written_flows() -> String {
        let src = replace(TOKEN_FLOWS, "https://app.example.com", "http://127.0.0.1:1");
        replace(
            &src,
            "{env: ALICE_PASSWORD}",
            "{public_demo: alice-demo-password}",
        )
    }

    #[tokio::test]
    async fn a_profile_without_discovery_resolves_without_a_request() {
        let (target, client) = unresolved(&written_flows())
            .resolve(ClientConfig::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(client.requests_sent(), 0);
        assert!(target.flow(FlowName::TokenRefresh).is_some());
        let shown = client.redactor().redact("password=alice-demo-password");
        assert!(!shown.contains("alice-demo-password"), "{shown}");
    }

    #[tokio::test]
    async fn the_client_knows_the_oauth_client_secret() {
        let src = replace(
            OAUTH,
            "    discovery: /.well-known/openid-configuration",
            "    token_endpoint: /oauth/token",
        );
        let (target, client) = unresolved(&src)
            .resolve(ClientConfig::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let token: &TokenSpec = target.token.as_ref().unwrap();
        assert_eq!(token.login[0].value.request.path, "/oauth/token");
        let basic = &target.token_vars["client.basic"];
        let shown = client
            .redactor()
            .redact(&format!("{CLIENT_SECRET} Basic {basic}"));
        assert!(
            !shown.contains(CLIENT_SECRET) && !shown.contains(basic.as_str()),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_discovery_url_on_another_origin_is_refused_before_any_request() {
        let mut t = unresolved(OAUTH);
        t.token.as_mut().unwrap().oauth.as_mut().unwrap().discovery =
            Some("https://id.example.com/.well-known/openid-configuration".into());
        let e = t.resolve(ClientConfig::default()).await.unwrap_err();
        assert!(matches!(e, ResolveError::DiscoveryUrl(_)), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("discovery document (token.oauth.discovery): "),
            "{e}"
        );
    }

    #[tokio::test]
    async fn the_profile_limits_bound_the_client() {
        let mut t = unresolved(&written_flows());
        t.limits.max_requests = Some(0);
        let (_, client) = t.resolve(ClientConfig::default()).await.unwrap();
        let url = Url::parse("http://127.0.0.1:1/").unwrap();
        let e = client.send(ProbeRequest::get(url)).await.unwrap_err();
        assert_eq!(e.kind, crate::http::HttpErrorKind::BudgetExhausted);
    }
}
