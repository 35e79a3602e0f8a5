//! The target a run is aimed at, in two stages of one type:
//!
//! - [`UnresolvedTarget`] (`Target<Unresolved>`): a checked profile with its secrets read. No
//!   request has been sent; with `token.oauth` its token flows are not derived yet.
//! - [`Target`] (`Target<Resolved>`): `token.oauth` applied — the endpoints taken from the
//!   profile or the discovery document, the token login, refresh and revocation the profile
//!   left out derived — and every flow step's extractors parsed. This is what the engine
//!   runs against; only [`UnresolvedTarget::resolve_with`] (and
//!   [`UnresolvedTarget::resolve`], which fetches the discovery document first) build one.
//!
//! Owns the target's data, its capabilities and the URL of a path on its origin. Sends no
//! request (that is `resolve`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde_saphyr::Spanned;
use url::Url;

use super::extractor::Extractor;
use super::format::{
    AccessSpec, DEFAULT_ID_TOKEN_EXTRACTOR, FlowName, FlowStep, Flows, Limits, ProfileFile,
    TokenSpec,
};
use super::oauth::{self, OAuthError};
use super::origin::{self, UrlError, is_loopback};
use super::secrets::{Secrets, SigningKeyMaterial, User};
use super::template::Vars;
use crate::diag::{Diagnostic, Diagnostics};
use crate::http::TrustRoots;
use crate::spec::{Capability, PolicyOverrides};

/// A profile with its secrets read: resolved (`S` = [`Resolved`], the default) it is what the
/// engine runs against; [`Unresolved`] it still waits for `token.oauth` to be applied.
#[derive(Clone)]
pub struct Target<S = Resolved> {
    /// Display name.
    pub name: String,
    /// Base URL.
    pub base_url: Url,
    /// Other instances of the service (`replicas:`), as origins (path `/`); the paths are
    /// base_url's.
    pub replicas: Vec<Url>,
    /// Default headers.
    pub headers: BTreeMap<String, String>,
    /// Users by spec name (`alice`, `bob`).
    pub users: BTreeMap<String, User>,
    /// Configured session cookie name (None: auto-detect); with `session.cookies`, the first.
    pub session_cookie: Option<String>,
    /// Configured session cookie set, id cookie first (empty: the one cookie, or detected).
    pub session_cookies: Vec<String>,
    /// The cookie-session flows (None: a token-only service).
    pub flows: Option<Flows>,
    /// The token section (resolved: with the flows `token.oauth` derived).
    pub token: Option<TokenSpec>,
    /// Resolved signing keys of the token section.
    pub signing_keys: Vec<SigningKeyMaterial>,
    /// Policy overrides from the profile.
    pub policy: PolicyOverrides,
    /// Limits from the profile.
    pub limits: Limits,
    /// HTML pages to check.
    pub pages: Vec<String>,
    /// Variables every token flow starts from: `client.id`, and with a client secret
    /// `client.secret` and `client.basic` (base64 of `urlencode(id):urlencode(secret)`, RFC
    /// 6749 §2.3.1). Empty without `token.oauth`. Never printed; resolution registers the
    /// secret ones with the probe client's redactor.
    pub token_vars: Vars,
    /// The OAuth client secret, resolved (never printed).
    pub client_secret: Option<String>,
    /// CA certificates trusted besides the system's (`tls.ca_file`); the probe client uses
    /// them unless the run's configuration brings its own (`--ca-file`).
    pub trust_roots: TrustRoots,
    /// What the stage adds; private, so only this module builds a `Target`.
    state: S,
}

/// A target whose secrets are read and whose `token.oauth` section is not applied yet.
pub type UnresolvedTarget = Target<Unresolved>;

/// The stage of a target before resolution: nothing is added yet.
#[derive(Debug, Clone)]
pub struct Unresolved(());

/// The stage of a resolved target: the parsed extractors of every flow step.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// (flow, step index) → (variable, extractor); invalid ones were reported by the static
    /// check and are left out.
    extractors: BTreeMap<(FlowName, usize), Vec<(String, Extractor)>>,
    /// Where the token login's last answer carries an ID token (`token.id_token`, or the
    /// default `?json:/id_token`).
    id_token: Option<Extractor>,
}

impl<S: fmt::Debug> fmt::Debug for Target<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// `client.id` as is, every other variable redacted.
        struct Redacted<'a>(&'a Vars);
        impl fmt::Debug for Redacted<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(k, v)| {
                        let shown = if k == "client.id" {
                            v.as_str()
                        } else {
                            "<redacted>"
                        };
                        (k, shown)
                    }))
                    .finish()
            }
        }
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("replicas", &self.replicas)
            .field("headers", &self.headers)
            .field("users", &self.users)
            .field("session_cookie", &self.session_cookie)
            .field("flows", &self.flows)
            .field("token", &self.token)
            .field("signing_keys", &self.signing_keys)
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .field("pages", &self.pages)
            .field("token_vars", &Redacted(&self.token_vars))
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("trust_roots", &self.trust_roots)
            .field("state", &self.state)
            .finish()
    }
}

impl<S> Target<S> {
    /// Builds the absolute URL for a path of this target; an error when it does not join
    /// onto the base URL or leaves its origin.
    pub fn url(&self, path: &str) -> Result<Url, UrlError> {
        origin::join(&self.base_url, path)
    }
}

impl Target<Unresolved> {
    /// The target of a checked profile (`spec`, read from `file`) and its secrets.
    pub(super) fn from_profile(
        file: &Path,
        spec: &ProfileFile,
        secrets: Secrets,
    ) -> Result<UnresolvedTarget, Diagnostics> {
        let base_url = Url::parse(&spec.base_url.value).map_err(|e| {
            let at = &spec.base_url.referenced;
            let msg = format!("invalid URL: {e}");
            Diagnostics(vec![Diagnostic::new(
                file,
                at.line(),
                at.column(),
                "base_url",
                msg,
            )])
        })?;
        Ok(Target {
            name: spec.name.clone().unwrap_or_else(|| base_url.to_string()),
            base_url,
            replicas: super::replicas::origins(&spec.replicas),
            headers: spec.headers.clone(),
            users: secrets.users,
            session_cookie: spec
                .session
                .cookie
                .clone()
                .or_else(|| spec.session.cookies.first().cloned()),
            session_cookies: spec.session.cookies.clone(),
            flows: spec.flows.clone(),
            token: spec.token.clone(),
            signing_keys: secrets.signing_keys,
            policy: spec.policy.clone(),
            limits: spec.limits.clone(),
            pages: spec.pages.clone().unwrap_or_else(|| vec!["/".to_string()]),
            token_vars: secrets.token_vars,
            client_secret: secrets.client_secret,
            trust_roots: TrustRoots::none(),
            state: Unresolved(()),
        })
    }

    /// The URL of `token.oauth.discovery`, when the profile names one: [`Self::resolve`]
    /// fetches it. An error when it is not on base_url's origin.
    pub fn discovery_url(&self) -> Option<Result<Url, UrlError>> {
        let d = self.token.as_ref()?.oauth.as_ref()?.discovery.as_ref()?;
        Some(origin::same_origin_path(&self.base_url, d).and_then(|p| self.url(&p)))
    }

    /// Resolves the target with a discovery document already in hand (`None`: the profile
    /// names none). With `token.oauth`: takes the endpoints from the profile, then from
    /// `discovery` (`token_endpoint`, `revocation_endpoint`, `jwks_uri` → `token.jwks_url`
    /// when unset), refuses any on another origin than base_url (authprobe never sends
    /// credentials to another origin), and derives what the profile left out: `token.login`
    /// from the grant, `token.refresh` (password grant) and `token.revocation` (when a
    /// revocation endpoint is known). Then parses every step's extractors.
    pub fn resolve_with(self, discovery: Option<&serde_json::Value>) -> Result<Target, OAuthError> {
        let mut token = self.token;
        if let Some(t) = token.as_mut() {
            oauth::complete(t, &self.base_url, discovery)?;
        }
        let extractors = parse_extractors(self.flows.as_ref(), token.as_ref());
        let id_token = token.as_ref().and_then(|t| {
            let written = t.id_token.as_ref().map(|s| s.value.as_str());
            Extractor::parse(written.unwrap_or(DEFAULT_ID_TOKEN_EXTRACTOR)).ok()
        });
        Ok(Target {
            name: self.name,
            base_url: self.base_url,
            replicas: self.replicas,
            headers: self.headers,
            users: self.users,
            session_cookie: self.session_cookie,
            session_cookies: self.session_cookies,
            flows: self.flows,
            token,
            signing_keys: self.signing_keys,
            policy: self.policy,
            limits: self.limits,
            pages: self.pages,
            token_vars: self.token_vars,
            client_secret: self.client_secret,
            trust_roots: self.trust_roots,
            state: Resolved {
                extractors,
                id_token,
            },
        })
    }
}

impl Target<Resolved> {
    /// This target moved to `replica` (one of [`Target::replicas`]): every path resolves on
    /// the replica's origin, base_url's path kept.
    pub fn at_replica(&self, replica: &Url) -> Target {
        let mut moved = self.clone();
        moved.base_url = replica.clone();
        moved.base_url.set_path(self.base_url.path());
        moved
    }

    /// What this profile provides.
    pub fn capabilities(&self) -> BTreeSet<Capability> {
        let mut c = BTreeSet::new();
        if let Some(flows) = &self.flows {
            c.insert(Capability::Session);
            for (flow, cap) in [
                (&flows.logout, Capability::Logout),
                (&flows.logout_everywhere, Capability::LogoutEverywhere),
                (&flows.anonymous, Capability::AnonymousSession),
            ] {
                if flow.is_some() {
                    c.insert(cap);
                }
            }
        }
        if self.users.contains_key("bob") {
            c.insert(Capability::SecondUser);
        }
        if let Some(t) = &self.token {
            c.insert(Capability::Jwt);
            for (present, cap) in [
                (t.jwks_url.is_some(), Capability::Jwks),
                (!self.signing_keys.is_empty(), Capability::SigningKey),
                (t.refresh.is_some(), Capability::Refresh),
                (t.revocation.is_some(), Capability::Revocation),
                (t.logout.is_some(), Capability::TokenLogout),
            ] {
                if present {
                    c.insert(cap);
                }
            }
        }
        if is_loopback(&self.base_url) {
            c.insert(Capability::Loopback);
        }
        c
    }

    /// The steps of a flow, if the profile defines it (or resolution derived it).
    pub fn flow(&self, name: FlowName) -> Option<&[Spanned<FlowStep>]> {
        flow_steps(self.flows.as_ref(), self.token.as_ref(), name)
            .filter(|s| name != FlowName::TokenLogin || !s.is_empty())
    }

    /// The session-protected request and its classifiers (None: a token-only profile).
    pub fn session_access(&self) -> Option<&AccessSpec> {
        self.flows.as_ref().map(|f| &f.access)
    }

    /// Where the token login's last answer carries an ID token (None without a token
    /// section).
    pub fn id_token_extractor(&self) -> Option<&Extractor> {
        self.state.id_token.as_ref()
    }

    /// The parsed extractors of one step.
    pub fn step_extractors(&self, flow: FlowName, index: usize) -> &[(String, Extractor)] {
        self.state
            .extractors
            .get(&(flow, index))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// The steps of a flow of the cookie-session flows or the token section.
fn flow_steps<'a>(
    flows: Option<&'a Flows>,
    token: Option<&'a TokenSpec>,
    name: FlowName,
) -> Option<&'a [Spanned<FlowStep>]> {
    match name {
        FlowName::TokenLogin => token.map(|t| t.login.as_slice()),
        FlowName::TokenRefresh => token?.refresh.as_deref(),
        FlowName::TokenLogout => token?.logout.as_deref(),
        other => flows?.get(other),
    }
}

/// The extractors of every step of every flow, parsed (invalid ones were reported by the
/// static check and are left out).
fn parse_extractors(
    flows: Option<&Flows>,
    token: Option<&TokenSpec>,
) -> BTreeMap<(FlowName, usize), Vec<(String, Extractor)>> {
    let mut extractors = BTreeMap::new();
    for flow in [
        FlowName::TokenLogin,
        FlowName::TokenRefresh,
        FlowName::TokenLogout,
        FlowName::Login,
        FlowName::Logout,
        FlowName::LogoutEverywhere,
        FlowName::Anonymous,
    ] {
        let steps = flow_steps(flows, token, flow).unwrap_or(&[]);
        for (i, step) in steps.iter().enumerate() {
            let list = step
                .value
                .extract
                .iter()
                .filter_map(|(var, ex)| ex.extractor().ok().map(|e| (var.clone(), e)))
                .collect();
            extractors.insert((flow, i), list);
        }
    }
    extractors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use crate::profile::fixtures::{
        CLIENT_BASIC, CLIENT_SECRET, OAUTH, TOKEN_FLOWS, discovery, parse, replace, resolved,
        unresolved,
    };

    #[test]
    fn the_testbed_profile_derives_its_token_flows_from_discovery() {
        let p = Profile::testbed("http://127.0.0.1:9").unwrap_or_else(|d| panic!("{d}"));
        let t = p.spec.token.as_ref().unwrap();
        assert_eq!(t.refresh_from, "refresh_token");
        assert!(t.oauth.is_some() && t.logout.is_some());
        assert!(t.refresh.is_none() && t.revocation.is_none() && t.login.is_empty());
        let target = p.load_secrets().unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(
            target
                .discovery_url()
                .and_then(Result::ok)
                .map(|u| u.to_string()),
            Some("http://127.0.0.1:9/.well-known/openid-configuration".to_string())
        );
        let doc = serde_json::json!({
            "token_endpoint": "http://127.0.0.1:9/oauth/token",
            "revocation_endpoint": "http://127.0.0.1:9/oauth/revoke",
            "jwks_uri": "http://127.0.0.1:9/.well-known/jwks.json",
        });
        let target = target.resolve_with(Some(&doc)).unwrap();
        let caps = target.capabilities();
        for c in [
            Capability::Refresh,
            Capability::Revocation,
            Capability::TokenLogout,
            Capability::LogoutEverywhere,
        ] {
            assert!(caps.contains(&c), "{c:?}");
        }
        assert!(target.flow(FlowName::TokenRefresh).is_some());
        assert!(target.token_vars.contains_key("client.basic"));
        assert!(!format!("{target:?}").contains("authprobe-demo-client-secret"));
    }

    #[test]
    fn written_token_flows_are_targets_flows_with_parsed_extractors() {
        let src = replace(TOKEN_FLOWS, "https://app.example.com", "http://127.0.0.1:1");
        let src = replace(
            &src,
            "{env: ALICE_PASSWORD}",
            "{public_demo: alice-demo-password}",
        );
        let t = unresolved(&src);
        assert!(t.discovery_url().is_none(), "no oauth, nothing to fetch");
        let t = t.resolve_with(None).unwrap();
        assert_eq!(
            t.flow(FlowName::TokenRefresh).unwrap()[0]
                .value
                .request
                .path,
            "/api/token/refresh"
        );
        assert_eq!(
            t.flow(FlowName::TokenLogout).unwrap()[0].value.request.path,
            "/api/token/logout"
        );
        let ex = t.step_extractors(FlowName::TokenRefresh, 0);
        assert!(
            ex.iter()
                .any(|(v, e)| v == "access_token" && matches!(e, Extractor::Json(_)))
        );
        assert!(
            ex.iter()
                .any(|(v, e)| v == "refresh_token" && matches!(e, Extractor::Optional(_)))
        );
        assert!(
            t.step_extractors(FlowName::TokenLogin, 0)
                .iter()
                .any(|(_, e)| matches!(e, Extractor::Optional(_)))
        );
        let caps = t.capabilities();
        for c in [
            Capability::Refresh,
            Capability::Revocation,
            Capability::TokenLogout,
        ] {
            assert!(caps.contains(&c), "{c:?}");
        }
    }

    #[test]
    fn discovery_url_is_joined_to_the_base_and_kept_on_its_origin() {
        let t = unresolved(OAUTH);
        assert_eq!(
            t.discovery_url().unwrap().unwrap().as_str(),
            "http://127.0.0.1:8080/.well-known/openid-configuration"
        );
        let mut t = unresolved(OAUTH);
        t.base_url = Url::parse("http://127.0.0.1:1/").unwrap();
        t.token.as_mut().unwrap().oauth.as_mut().unwrap().discovery =
            Some("http://127.0.0.1:8080/.well-known/openid-configuration".into());
        let e = t.discovery_url().unwrap().unwrap_err();
        assert!(matches!(e, UrlError::OtherOrigin { .. }), "{e:?}");
        assert!(e.to_string().contains("another origin"), "{e}");
    }

    #[test]
    fn url_keeps_paths_on_the_target_origin() {
        let t = resolved(OAUTH);
        assert_eq!(
            t.url("/api/me?x=1").unwrap().as_str(),
            "http://127.0.0.1:8080/api/me?x=1"
        );
        let e = t.url("//evil.example.com/").unwrap_err();
        assert_eq!(e, UrlError::PathLeavesOrigin("//evil.example.com/".into()));
        assert_eq!(
            e.to_string(),
            "path `//evil.example.com/` leaves the target's origin"
        );
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let t = resolved(OAUTH);
        assert!(t.token_vars.values().any(|v| v == CLIENT_BASIC));
        let u = unresolved(OAUTH);
        let p = parse(OAUTH);
        for text in [
            format!("{t:?}"),
            format!("{t:#?}"),
            format!("{u:?}"),
            format!("{p:?}"),
        ] {
            for secret in [CLIENT_SECRET, CLIENT_BASIC, "alice-demo-password"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
            assert!(text.contains("my client"));
        }
    }

    #[test]
    fn a_token_only_profile_has_no_session_capability() {
        let start = OAUTH.find("flows:\n").unwrap();
        let end = OAUTH.find("token:\n").unwrap();
        let token_only = format!("{}{}", &OAUTH[..start], &OAUTH[end..]);
        let p = parse(&token_only);
        assert!(p.spec.flows.is_none());
        let target = p
            .load_secrets()
            .unwrap_or_else(|d| panic!("{d}"))
            .resolve_with(Some(&discovery()))
            .unwrap_or_else(|e| panic!("{e}"));
        let caps = target.capabilities();
        assert!(!caps.contains(&Capability::Session), "{caps:?}");
        assert!(caps.contains(&Capability::Jwt));
        assert!(target.session_access().is_none());
        assert!(target.flow(FlowName::Login).is_none());
    }
}
