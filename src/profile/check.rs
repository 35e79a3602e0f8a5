//! Static validation of a parsed profile: everything serde cannot say — the base URL, the
//! users, cookie names, templates and the variables each flow may use, extractors,
//! classifiers, `token` and `token.oauth` consistency, signing-key algorithms, policy and
//! limits. Every problem becomes a [`Diagnostic`] with the key path (and the location when
//! the value carries one); all of them are collected before the profile is refused.
//! Reads no secret and sends no request.

use std::collections::BTreeSet;
use std::path::Path;

use serde_saphyr::{Location, Spanned};
use url::Url;

use super::classifier::{Classifier, MAX_ANY_OF_ALTERNATIVES, MAX_ANY_OF_DEPTH};
use super::extractor::Extractor;
use super::format::{
    AccessSpec, ClientAuth, FlowName, FlowStep, Flows, ID_TOKEN_VAR, OAuthGrant, OAuthSpec,
    ProfileFile, RequestSpec, SecretSource, TokenSpec,
};
use super::oauth::client_var_names;
use super::origin::{is_loopback, same_origin_path};
use super::template::Template;
use crate::diag::{Diagnostic, Diagnostics};
use crate::units::bounds;

/// The algorithms `token.signing_keys[].alg` may name.
const SIGNING_ALGORITHMS: [&str; 12] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "EdDSA",
];

/// Every problem of `spec` (read from `file`) that serde did not catch; empty when the
/// profile is usable.
pub(super) fn check(file: &Path, spec: &ProfileFile) -> Diagnostics {
    let mut c = Checker {
        file,
        out: Diagnostics::default(),
    };
    let url = c.base_url(spec);
    c.users(spec, url.as_ref());
    c.out
        .extend(super::replicas::check(file, &spec.replicas, url.as_ref()));
    c.session_cookie(spec);
    if spec.flows.is_none() && spec.token.is_none() && spec.modes.is_empty() {
        c.out.push(
            // About the file as a whole: neither key is there to point at.
            c.unlocated(
                "",
                "the profile has neither `flows` (a cookie session) nor `token` (access tokens)",
            )
            .with_hint("describe at least one way to log in: `flows: {login: ..., access: ...}` or a `token` section"),
        );
    }
    if let Some(flows) = &spec.flows {
        c.flows(flows, &spec.base_url.referenced);
    }
    if let Some(t) = &spec.token {
        c.token(t, url.as_ref(), &spec.base_url.referenced);
    }
    c.policy_and_limits(spec);
    let (problems, modes) = super::modes::check(file, spec);
    c.out.extend(problems);
    for (path, mode) in modes {
        for mut d in check_sections(file, &mode, url.as_ref()).0 {
            d.path = match d.path.as_str() {
                "" => path.clone(),
                key => format!("{path}.{key}"),
            };
            c.out.push(d);
        }
    }
    c.out
}

/// The problems of one auth mode's sections (`session`, `flows`, `token`) in `spec`, a
/// profile whose top level holds the mode's sections (see `modes`); key paths as at the top
/// level.
fn check_sections(file: &Path, spec: &ProfileFile, url: Option<&Url>) -> Diagnostics {
    let mut c = Checker {
        file,
        out: Diagnostics::default(),
    };
    c.session_cookie(spec);
    if let Some(flows) = &spec.flows {
        c.flows(flows, &spec.base_url.referenced);
    }
    if let Some(t) = &spec.token {
        c.token(t, url, &spec.base_url.referenced);
    }
    c.out
}

/// Collects the diagnostics of one profile file.
struct Checker<'a> {
    file: &'a Path,
    out: Diagnostics,
}

impl Checker<'_> {
    /// A diagnostic at `loc`.
    fn at(&self, loc: &Location, path: impl Into<String>, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.file, loc.line(), loc.column(), path, msg)
    }

    /// A diagnostic that knows only its key path (`locate_all` finds the key later).
    fn unlocated(&self, path: impl Into<String>, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.file, 0, 0, path, msg)
    }

    fn push_at(&mut self, loc: &Location, path: impl Into<String>, msg: impl Into<String>) {
        let d = self.at(loc, path, msg);
        self.out.push(d);
    }

    fn push_unlocated(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        let d = self.unlocated(path, msg);
        self.out.push(d);
    }

    /// `base_url`: an http(s) URL with a host and no credentials; the URL when it parses as
    /// one.
    fn base_url(&mut self, s: &ProfileFile) -> Option<Url> {
        let base = &s.base_url;
        let url = match Url::parse(&base.value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            Ok(u) => {
                self.push_at(
                    &base.referenced,
                    "base_url",
                    format!("`{}` is not an http(s) URL with a host", u),
                );
                None
            }
            Err(e) => {
                let d = self
                    .at(
                        &base.referenced,
                        "base_url",
                        format!("invalid URL `{}`: {e}", base.value),
                    )
                    .with_hint("write it like https://app.example.com");
                self.out.push(d);
                None
            }
        };
        if let Some(u) = &url
            && (!u.username().is_empty() || u.password().is_some())
        {
            let d = self
                .at(
                    &base.referenced,
                    "base_url",
                    "base_url must not contain credentials",
                )
                .with_hint("put passwords in environment variables named by `users`");
            self.out.push(d);
        }
        url
    }

    /// `users`: `alice` required, only `alice` and `bob`, demo passwords only on loopback,
    /// valid environment variable names.
    fn users(&mut self, s: &ProfileFile, url: Option<&Url>) {
        if !s.users.contains_key("alice") {
            let d = self
                .unlocated("users", "the profile must define user `alice`")
                .with_hint("`alice` and `bob` are the names specs use for your first and second test account");
            self.out.push(d);
        }
        for (name, user) in &s.users {
            let at = &user.referenced;
            if name != "alice" && name != "bob" {
                let d = self
                    .at(
                        at,
                        format!("users.{name}"),
                        format!("unknown user `{name}`"),
                    )
                    .with_hint("specs know `alice` (required) and `bob` (optional)");
                self.out.push(d);
            }
            if let SecretSource::PublicDemo(_) = user.value.password
                && !url.is_some_and(is_loopback)
            {
                let d = self
                    .at(at, format!("users.{name}.password"), "`public_demo` passwords are accepted only for loopback targets")
                    .with_hint("read real passwords from the environment: `password: {env: ALICE_PASSWORD}`");
                self.out.push(d);
            }
            if let SecretSource::Env(var) = &user.value.password
                && (var.is_empty() || var.contains('='))
            {
                self.push_at(
                    at,
                    format!("users.{name}.password.env"),
                    format!("invalid environment variable name `{var}`"),
                );
            }
        }
    }

    /// `session.cookie` / `session.cookies`: valid cookie names, one of the two keys.
    fn session_cookie(&mut self, s: &ProfileFile) {
        let invalid = |name: &str| {
            name.is_empty()
                || name
                    .bytes()
                    .any(|b| b <= 0x20 || b >= 0x7f || b"=;,".contains(&b))
        };
        if let Some(name) = &s.session.cookie
            && invalid(name)
        {
            self.push_unlocated(
                "session.cookie",
                format!("`{name}` is not a valid cookie name"),
            );
        }
        for (i, name) in s.session.cookies.iter().enumerate() {
            if invalid(name) {
                self.push_unlocated(
                    format!("session.cookies[{i}]"),
                    format!("`{name}` is not a valid cookie name"),
                );
            } else if s.session.cookies[..i].contains(name) {
                self.push_unlocated(
                    format!("session.cookies[{i}]"),
                    format!("`{name}` is listed twice"),
                );
            }
        }
        if s.session.cookie.is_some() && !s.session.cookies.is_empty() {
            self.push_unlocated(
                "session.cookies",
                "give either `cookie` (one session cookie) or `cookies` (the set, id first), not both",
            );
        }
    }

    /// `policy` overrides and `limits`.
    fn policy_and_limits(&mut self, s: &ProfileFile) {
        for (key, msg) in s.policy.problems() {
            self.push_unlocated(format!("policy.{key}"), msg);
        }
        let l = &s.limits;
        let checks = [
            (
                "limits.max_rps",
                l.max_rps.map(|v| bounds::MAX_RPS.check(v).map(drop)),
            ),
            (
                "limits.max_requests",
                l.max_requests
                    .map(|v| bounds::MAX_REQUESTS.check(v).map(drop)),
            ),
            (
                "limits.timeout",
                l.timeout.map(|v| bounds::TIMEOUT.check(v).map(drop)),
            ),
            (
                "limits.budget",
                l.budget.map(|v| bounds::BUDGET.check(v).map(drop)),
            ),
            (
                "limits.concurrency",
                l.concurrency
                    .map(|v| bounds::CONCURRENCY.check(u64::from(v)).map(drop)),
            ),
        ];
        for (key, result) in checks {
            if let Some(Err(message)) = result {
                self.push_unlocated(key, message);
            }
        }
    }

    /// Templates, extractors and classifiers of the cookie-session flows; `loc` is where
    /// diagnostics without a location of their own point (the base URL).
    fn flows(&mut self, flows: &Flows, loc: &Location) {
        let mut login_vars: BTreeSet<String> = BTreeSet::new();
        for (flow, steps) in [
            (FlowName::Login, Some(&flows.login)),
            (FlowName::Anonymous, flows.anonymous.as_ref()),
            (FlowName::Logout, flows.logout.as_ref()),
            (FlowName::LogoutEverywhere, flows.logout_everywhere.as_ref()),
        ] {
            let Some(steps) = steps else { continue };
            if steps.is_empty() {
                self.push_unlocated(format!("flows.{flow}"), "a flow needs at least one request");
            }
            let mut vars: BTreeSet<String> = match flow {
                FlowName::Login => ["user.username", "user.password"].map(String::from).into(),
                FlowName::Anonymous => BTreeSet::new(),
                _ => login_vars.clone(),
            };
            self.steps(steps, &format!("flows.{flow}"), &mut vars);
            if flow == FlowName::Login {
                // The later flows and the access request may use what the login extracts.
                login_vars = steps
                    .iter()
                    .flat_map(|s| s.value.extract.keys().cloned())
                    .collect();
            }
        }
        self.request(
            &flows.access.request,
            &login_vars,
            loc,
            "flows.access.request",
        );
        self.access_classifiers(&flows.access, "flows.access");
    }

    /// `allowed` and `denied` of an access section at `key`.
    fn access_classifiers(&mut self, access: &AccessSpec, key: &str) {
        self.classifier(&access.allowed, &format!("{key}.allowed"), 1);
        if let Some(d) = &access.denied {
            self.classifier(d, &format!("{key}.denied"), 1);
        }
    }

    /// A classifier at `key`, `depth` levels deep: it constrains the status on every way to
    /// match (checked at the top), its `any_of` lists 1 to 16 alternatives nested at most
    /// [`MAX_ANY_OF_DEPTH`] deep, and its header conditions name valid headers. Its regexes
    /// compiled when the file was parsed.
    fn classifier(&mut self, c: &Classifier, key: &str, depth: usize) {
        if depth == 1 && !c.constrains_status() {
            let d = self
                .unlocated(format!("{key}.status"), "list at least one status")
                .with_hint("here, or in every `any_of` alternative");
            self.out.push(d);
        }
        for name in c.header.keys() {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.push_unlocated(
                    format!("{key}.header.{name}"),
                    format!("`{name}` is not a valid header name"),
                );
            }
        }
        let Some(alternatives) = &c.any_of else {
            return;
        };
        if alternatives.is_empty() || alternatives.len() > MAX_ANY_OF_ALTERNATIVES {
            self.push_unlocated(
                format!("{key}.any_of"),
                format!(
                    "`any_of` lists {} alternatives; give 1 to {MAX_ANY_OF_ALTERNATIVES}",
                    alternatives.len()
                ),
            );
        }
        if depth >= MAX_ANY_OF_DEPTH && alternatives.iter().any(|a| a.any_of.is_some()) {
            let d = self
                .unlocated(
                    format!("{key}.any_of"),
                    format!("`any_of` nests more than {MAX_ANY_OF_DEPTH} levels deep"),
                )
                .with_hint("flatten the alternatives: (a or (b or c)) is (a or b or c)");
            self.out.push(d);
            return;
        }
        for (i, a) in alternatives.iter().enumerate() {
            self.classifier(a, &format!("{key}.any_of[{i}]"), depth + 1);
        }
    }

    /// Checks the steps of a flow, adding what they extract to `vars`.
    fn steps(&mut self, steps: &[Spanned<FlowStep>], key: &str, vars: &mut BTreeSet<String>) {
        for (i, step) in steps.iter().enumerate() {
            let path = format!("{key}[{i}]");
            self.request(&step.value.request, vars, &step.referenced, &path);
            for (var, ex) in &step.value.extract {
                if let Err(e) = ex.extractor() {
                    self.push_at(
                        &step.referenced,
                        format!("{path}.extract.{var}"),
                        e.to_string(),
                    );
                }
                vars.insert(var.clone());
            }
        }
    }

    /// The `token` section; `loc` is where diagnostics without a location of their own point.
    fn token(&mut self, t: &TokenSpec, url: Option<&Url>, loc: &Location) {
        if let Some(o) = &t.oauth {
            self.oauth(o, url);
        }
        let vars = self.token_login(t, loc);
        // What the later token flows (refresh, logout, revocation) may use.
        let mut session_vars: BTreeSet<String> = vars.clone();
        session_vars.remove("user.username");
        session_vars.remove("user.password");
        self.request(&t.access.request, &vars, loc, "token.access.request");
        self.access_classifiers(&t.access, "token.access");
        self.token_flows(t, &session_vars);
        self.id_token(t, &session_vars, loc);
        self.access_sends_token(t, loc);
        self.jwks_url(t, url, loc);
        self.signing_keys(t, url);
    }

    /// `token.login` and `token.from`; the variables the login leaves (with the user's and
    /// the client's).
    fn token_login(&mut self, t: &TokenSpec, loc: &Location) -> BTreeSet<String> {
        // Without `login`, `oauth` derives one that extracts `<from>` and `<refresh_from>`.
        let derived_login = t.login.is_empty() && t.oauth.is_some();
        if t.login.is_empty() && t.oauth.is_none() {
            let d = self
                .unlocated("token.login", "a flow needs at least one request")
                .with_hint("write the token login, or give `token.oauth` to derive it");
            self.out.push(d);
        }
        // Every token flow starts from the client variables.
        let mut vars: BTreeSet<String> = ["user.username", "user.password"]
            .into_iter()
            .chain(
                t.oauth
                    .iter()
                    .flat_map(|o| client_var_names(&o.client.value)),
            )
            .map(String::from)
            .collect();
        if derived_login {
            vars.insert(t.from.clone());
            vars.insert(t.refresh_from.clone());
        }
        self.steps(&t.login, "token.login", &mut vars);
        if !derived_login && !vars.contains(&t.from) {
            let d = self
                .at(
                    loc,
                    "token.from",
                    format!("`{}` is not extracted by token.login", t.from),
                )
                .with_hint("extract it, e.g. `extract: {access_token: \"json:/access_token\"}`");
            self.out.push(d);
        }
        vars
    }

    /// `token.id_token` parses as an extractor; `token.id_token_login` sends `{{id_token}}`
    /// and uses only what the token login leaves.
    fn id_token(&mut self, t: &TokenSpec, vars: &BTreeSet<String>, loc: &Location) {
        if let Some(ex) = &t.id_token
            && let Err(e) = Extractor::parse(&ex.value)
        {
            self.push_at(&ex.referenced, "token.id_token", e.to_string());
        }
        let Some(rp) = &t.id_token_login else { return };
        let mut vars = vars.clone();
        vars.insert(ID_TOKEN_VAR.to_string());
        let key = "token.id_token_login";
        self.request(&rp.request, &vars, loc, &format!("{key}.request"));
        if !templated_texts(&rp.request)
            .iter()
            .any(|(_, text)| text.contains("{{id_token}}") || text.contains("{{ id_token }}"))
        {
            let d = self
                .unlocated(
                    format!("{key}.request"),
                    "the request does not use `{{id_token}}`",
                )
                .with_hint("send the ID token, e.g. `json: {id_token: \"{{id_token}}\"}`");
            self.out.push(d);
        }
        self.access_classifiers(rp, key);
    }

    /// `token.access.request` must send `{{<from>}}` somewhere.
    fn access_sends_token(&mut self, t: &TokenSpec, loc: &Location) {
        let uses_token = |text: &str| {
            text.contains(&format!("{{{{{}}}}}", t.from))
                || text.contains(&format!("{{{{ {} }}}}", t.from))
        };
        let r = &t.access.request;
        if !(uses_token(&r.path)
            || r.headers.values().any(|v| uses_token(v))
            || r.body.as_deref().is_some_and(uses_token)
            || r.form.iter().flatten().any(|(_, v)| uses_token(v)))
        {
            let d = self
                .at(
                    loc,
                    "token.access.request",
                    format!("the request does not use `{{{{{}}}}}`", t.from),
                )
                .with_hint(
                    "send the token, e.g. `headers: {Authorization: \"Bearer {{access_token}}\"}`",
                );
            self.out.push(d);
        }
    }

    /// `token.jwks_url` on the target's origin.
    fn jwks_url(&mut self, t: &TokenSpec, url: Option<&Url>, loc: &Location) {
        let Some(j) = &t.jwks_url else { return };
        let ok = match url {
            Some(base) => base
                .join(j)
                .map(|u| u.origin() == base.origin())
                .unwrap_or(false),
            None => true,
        };
        if !ok {
            self.push_at(
                loc,
                "token.jwks_url",
                format!("`{j}` is not on the target's origin"),
            );
        }
    }

    /// `token.signing_keys`: demo keys only on loopback, known algorithms.
    fn signing_keys(&mut self, t: &TokenSpec, url: Option<&Url>) {
        for (i, k) in t.signing_keys.iter().enumerate() {
            if let SecretSource::PublicDemo(_) = k.value.key
                && !url.is_some_and(is_loopback)
            {
                self.push_at(
                    &k.referenced,
                    format!("token.signing_keys[{i}].key"),
                    "`public_demo` keys are accepted only for loopback targets",
                );
            }
            if let Some(alg) = &k.value.alg
                && !SIGNING_ALGORITHMS.contains(&alg.as_str())
            {
                self.push_at(
                    &k.referenced,
                    format!("token.signing_keys[{i}].alg"),
                    format!("unknown algorithm `{alg}`"),
                );
            }
        }
    }

    /// `token.refresh`, `token.logout`, `token.revocation` and `token.refresh_from`.
    /// `vars`: the client variables and what the token login extracts.
    fn token_flows(&mut self, t: &TokenSpec, vars: &BTreeSet<String>) {
        let mut flow_vars = vars.clone();
        flow_vars.insert(t.from.clone());
        flow_vars.insert(t.refresh_from.clone());
        for (key, steps) in [("token.refresh", &t.refresh), ("token.logout", &t.logout)] {
            let Some(steps) = steps else { continue };
            if steps.is_empty() {
                self.push_unlocated(key, "a flow needs at least one request");
            }
            self.steps(steps, key, &mut flow_vars.clone());
        }
        self.refresh_extracts_access_token(t);
        self.refresh_from(t, vars);
        if let Some(r) = &t.revocation {
            self.revocation_request(&r.request, &flow_vars);
        }
    }

    /// A written refresh flow extracts the new access token into `<from>`.
    fn refresh_extracts_access_token(&mut self, t: &TokenSpec) {
        if let Some(steps) = &t.refresh
            && !steps.is_empty()
            && !steps.iter().any(|s| s.value.extract.contains_key(&t.from))
        {
            let d = self
                .unlocated(
                    "token.refresh",
                    format!(
                        "the refresh flow does not extract the new access token `{}`",
                        t.from
                    ),
                )
                .with_hint(format!(
                    "extract it, e.g. `extract: {{{}: \"json:/access_token\"}}`",
                    t.from
                ));
            self.out.push(d);
        }
    }

    /// `token.refresh_from`: its own variable, extracted by the login when a refresh flow
    /// (written or derived from the password grant) needs it.
    fn refresh_from(&mut self, t: &TokenSpec, vars: &BTreeSet<String>) {
        if t.refresh_from == t.from {
            self.push_unlocated(
                "token.refresh_from",
                format!(
                    "`{}` is also `token.from`; the refresh token needs its own variable",
                    t.from
                ),
            );
        }
        let refreshes = t.refresh.is_some()
            || t.oauth
                .as_ref()
                .is_some_and(|o| o.grant == OAuthGrant::Password);
        if refreshes && !vars.contains(&t.refresh_from) && !t.login.is_empty() {
            let d = self
                .unlocated(
                    "token.refresh_from",
                    format!("`{}` is not extracted by token.login", t.refresh_from),
                )
                .with_hint(format!(
                    "extract it, e.g. `{}: \"?json:/refresh_token\"` (`?`: optional)",
                    t.refresh_from
                ));
            self.out.push(d);
        }
    }

    /// `token.revocation.request`: its templates, and no `token`/`token_type_hint` field
    /// (authprobe adds them).
    fn revocation_request(&mut self, req: &RequestSpec, vars: &BTreeSet<String>) {
        self.request(req, vars, &Location::UNKNOWN, "token.revocation.request");
        for field in ["token", "token_type_hint"] {
            if req.form.as_ref().is_some_and(|f| f.contains_key(field)) {
                self.push_unlocated(
                    format!("token.revocation.request.form.{field}"),
                    format!("authprobe adds the form field `{field}` itself (RFC 7009)"),
                );
            }
        }
    }

    /// `token.oauth`: endpoints on the target's origin, the client and its secret.
    fn oauth(&mut self, o: &OAuthSpec, url: Option<&Url>) {
        if o.token_endpoint.is_none() && o.discovery.is_none() {
            let d = self
                .unlocated(
                    "token.oauth",
                    "`token.oauth` needs `token_endpoint` or `discovery`",
                )
                .with_hint("e.g. `discovery: /.well-known/openid-configuration`");
            self.out.push(d);
        }
        for (key, value) in [
            ("discovery", &o.discovery),
            ("token_endpoint", &o.token_endpoint),
            ("revocation_endpoint", &o.revocation_endpoint),
        ] {
            let Some(v) = value else { continue };
            let problem =
                if !v.starts_with('/') && !v.starts_with("http://") && !v.starts_with("https://") {
                    Some(format!(
                        "`{v}` is neither a path starting with `/` nor an http(s) URL"
                    ))
                } else {
                    url.and_then(|base| same_origin_path(base, v).err())
                        .map(|e| e.to_string())
                };
            if let Some(msg) = problem {
                let d = self
                    .unlocated(format!("token.oauth.{key}"), msg)
                    .with_hint("give a path on base_url's origin, e.g. `/oauth/token`, or point base_url at the authorization server");
                self.out.push(d);
            }
        }
        self.oauth_client(o, url);
    }

    /// `token.oauth.client`: an id, and a secret unless the client is public.
    fn oauth_client(&mut self, o: &OAuthSpec, url: Option<&Url>) {
        let client = &o.client;
        let at = &client.referenced;
        if client.value.id.is_empty() {
            self.push_at(at, "token.oauth.client.id", "the client id is empty");
        }
        let d = match &client.value.secret {
            None if client.value.auth != ClientAuth::None => {
                let auth = match client.value.auth {
                    ClientAuth::Post => "post",
                    _ => "basic",
                };
                self.at(
                    at,
                    "token.oauth.client.secret",
                    format!("`auth: {auth}` needs a client secret"),
                )
                .with_hint(
                    "add `secret: {env: OAUTH_CLIENT_SECRET}`, or `auth: none` for a public client",
                )
            }
            Some(SecretSource::PublicDemo(_)) if !url.is_some_and(is_loopback) => self
                .at(
                    at,
                    "token.oauth.client.secret",
                    "`public_demo` client secrets are accepted only for loopback targets",
                )
                .with_hint("read it from the environment: `secret: {env: OAUTH_CLIENT_SECRET}`"),
            Some(SecretSource::Env(var)) if var.is_empty() || var.contains('=') => self.at(
                at,
                "token.oauth.client.secret.env",
                format!("invalid environment variable name `{var}`"),
            ),
            _ => return,
        };
        self.out.push(d);
    }

    /// A templated request: path, method, at most one body, and templates that use only
    /// `vars`.
    fn request(&mut self, r: &RequestSpec, vars: &BTreeSet<String>, loc: &Location, path: &str) {
        if !r.path.starts_with('/') {
            self.push_at(
                loc,
                format!("{path}.path"),
                format!("path `{}` must start with `/`", r.path),
            );
        }
        if r.method.is_empty() || !r.method.bytes().all(|b| b.is_ascii_alphabetic()) {
            self.push_at(
                loc,
                format!("{path}.method"),
                format!("invalid method `{}`", r.method),
            );
        }
        let bodies = [r.json.is_some(), r.form.is_some(), r.body.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if bodies > 1 {
            self.push_at(loc, path, "give at most one of `json`, `form`, `body`");
        }
        for (sub, text) in templated_texts(r) {
            self.template(text, vars, loc, &format!("{path}.{sub}"));
        }
    }

    /// One template: it parses and uses only `vars`.
    fn template(&mut self, text: &str, vars: &BTreeSet<String>, loc: &Location, path: &str) {
        let t = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => return self.push_at(loc, path, e.to_string()),
        };
        for var in t.vars() {
            if !vars.contains(var) {
                let known: Vec<&str> = vars.iter().map(String::as_str).collect();
                let d = self
                    .at(
                        loc,
                        path,
                        format!("unknown template variable `{{{{{var}}}}}`"),
                    )
                    .with_hint(if known.is_empty() {
                        "no variables are available here; extract one in an earlier step"
                            .to_string()
                    } else {
                        format!("variables available here: {}", known.join(", "))
                    });
                self.out.push(d);
            }
        }
    }
}

/// Every text of a request that may hold templates, with its key below the request: the
/// path, header values, form values, the raw body and every string of the JSON body (keys
/// too).
fn templated_texts(r: &RequestSpec) -> Vec<(String, &str)> {
    let mut texts: Vec<(String, &str)> = vec![("path".into(), r.path.as_str())];
    for (k, v) in &r.headers {
        texts.push((format!("headers.{k}"), v));
    }
    for (k, v) in r.form.iter().flatten() {
        texts.push((format!("form.{k}"), v));
    }
    if let Some(b) = &r.body {
        texts.push(("body".into(), b));
    }
    let mut json_strings = Vec::new();
    if let Some(j) = &r.json {
        collect_json_strings(j, &mut json_strings);
    }
    for s in json_strings {
        texts.push(("json".into(), s));
    }
    texts
}

fn collect_json_strings<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match v {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_json_strings(x, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k);
            collect_json_strings(x, out)
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::profile::fixtures::{OAUTH, TOKEN_FLOWS, at, diags, parse, replace};
    use crate::profile::{Profile, TESTBED_PROFILE};

    #[test]
    fn public_demo_password_is_refused_for_remote_targets() {
        let d = Profile::testbed("https://app.example.com").unwrap_err();
        assert!(
            d.0.iter().any(|x| x.message.contains("only for loopback")),
            "{d}"
        );
    }

    #[test]
    fn unknown_template_variable_is_reported_with_the_available_ones() {
        let src = TESTBED_PROFILE.replace("{{csrf}}", "{{crsf}}");
        let d = diags(&src);
        assert!(d.0.iter().any(|x| x.message.contains("`{{crsf}}`")), "{d}");
        assert!(d.0[0].hint.as_deref().unwrap_or("").contains("csrf"), "{d}");
    }

    #[test]
    fn a_profile_without_flows_or_token_is_refused_as_a_whole() {
        let start = OAUTH.find("flows:\n").unwrap();
        let end = OAUTH.find("token:\n").unwrap();
        let d = diags(&OAUTH[..start]);
        let x = at(&d, "");
        assert!(x.message.contains("neither"), "{d}");
        assert_eq!(x.line, 0, "about the file as a whole");
        // Either section alone is enough.
        parse(&format!("{}{}", &OAUTH[..start], &OAUTH[end..]));
        parse(&OAUTH[..end]);
    }

    #[test]
    fn oauth_without_token_endpoint_or_discovery_is_refused_at_the_section() {
        let src = replace(
            OAUTH,
            "    discovery: /.well-known/openid-configuration",
            "    # no endpoints",
        );
        let d = diags(&src);
        let x = at(&d, "token.oauth");
        assert_eq!((x.line, x.column), (14, 3), "{d}");
        assert!(x.message.contains("token_endpoint"), "{d}");
    }

    #[test]
    fn client_auth_basic_or_post_without_secret_is_refused_at_the_client() {
        for auth in ["basic", "post"] {
            let src = replace(
                OAUTH,
                "secret: {public_demo: \"s3cr:et/+ é\"}, auth: basic",
                &format!("auth: {auth}"),
            );
            let d = diags(&src);
            let x = at(&d, "token.oauth.client.secret");
            assert_eq!(x.line, 17, "{d}");
            assert!(x.message.contains(&format!("`auth: {auth}`")), "{d}");
        }
        let src = replace(
            OAUTH,
            "secret: {public_demo: \"s3cr:et/+ é\"}, auth: basic",
            "auth: none",
        );
        parse(&src);
    }

    #[test]
    fn public_demo_client_secret_is_refused_for_remote_targets() {
        let src = replace(OAUTH, "http://127.0.0.1:8080", "https://app.example.com");
        let d = diags(&src);
        let x = at(&d, "token.oauth.client.secret");
        assert_eq!(x.line, 17, "{d}");
        assert!(x.message.contains("only for loopback"), "{d}");
    }

    #[test]
    fn empty_token_login_without_oauth_is_refused() {
        let src = replace(
            TOKEN_FLOWS,
            "  login:\n    - request: {method: POST, path: /api/token",
            "  login: []\n    # - request: {method: POST, path: /api/token",
        );
        let src = replace(
            &src,
            "      extract: {access_token: \"json:/access_token\", refresh_token: \"?json:/refresh_token\"}\n      expect_status: [200]\n  from",
            "      # extract\n      # expect_status\n  from",
        );
        let d = diags(&src);
        let x = at(&d, "token.login");
        assert_eq!(x.line, 14, "{d}");
        assert!(
            x.hint.as_deref().unwrap_or("").contains("token.oauth"),
            "{d}"
        );
        // Left out entirely, the diagnostic points at the token section.
        let src = replace(&src, "  login: []\n", "");
        let d = diags(&src);
        assert_eq!(at(&d, "token.login").line, 13, "{d}");
    }

    #[test]
    fn endpoints_on_another_origin_are_refused_statically() {
        for (key, value, line) in [
            (
                "discovery",
                "https://id.example.com/.well-known/openid-configuration",
                15,
            ),
            ("token_endpoint", "https://evil.example.com/token", 15),
            ("revocation_endpoint", "//evil.example.com/revoke", 15),
            ("token_endpoint", "http://127.0.0.1:9090/token", 15),
        ] {
            // A revocation endpoint alone is not enough for the section; add a token endpoint.
            let extra = if key == "revocation_endpoint" {
                "\n    token_endpoint: /oauth/token"
            } else {
                ""
            };
            let src = replace(
                OAUTH,
                "    discovery: /.well-known/openid-configuration",
                &format!("    {key}: \"{value}\"{extra}"),
            );
            let d = diags(&src);
            let x = at(&d, &format!("token.oauth.{key}"));
            assert_eq!(x.line, line, "{d}");
            assert!(x.message.contains("another origin"), "{d}");
        }
        let src = replace(
            OAUTH,
            "    discovery: /.well-known/openid-configuration",
            "    token_endpoint: oauth/token",
        );
        let d = diags(&src);
        assert!(
            at(&d, "token.oauth.token_endpoint")
                .message
                .contains("path"),
            "{d}"
        );
        // A URL on the same origin is fine.
        parse(&replace(
            OAUTH,
            "    discovery: /.well-known/openid-configuration",
            "    token_endpoint: http://127.0.0.1:8080/oauth/token",
        ));
    }

    #[test]
    fn client_credentials_with_a_written_refresh_is_accepted() {
        let src = replace(OAUTH, "grant: password", "grant: client_credentials");
        let src = replace(
            &src,
            "  logout:\n",
            "  refresh:\n    - request: {method: POST, path: /r, form: {rt: \"{{rt}}\", c: \"{{client.basic}}\"}}\n      extract: {access_token: \"json:/access_token\"}\n  logout:\n",
        );
        let t = parse(&src).spec.token.unwrap();
        assert_eq!(t.refresh.unwrap().len(), 1);
    }

    #[test]
    fn id_token_keys_are_checked_extractor_and_template() {
        let ok = replace(
            OAUTH,
            "  logout:\n",
            "  id_token: \"json:/id_token\"\n  id_token_login:\n    request: {method: POST, path: /rp, json: {t: \"{{id_token}}\", a: \"{{access_token}}\"}}\n    allowed: {status: [200]}\n  logout:\n",
        );
        parse(&ok);
        let bad = replace(&ok, "\"json:/id_token\"", "\"json:id_token\"");
        let bad = replace(&bad, "t: \"{{id_token}}\"", "t: \"{{user.password}}\"");
        let d = diags(&bad);
        assert!(
            at(&d, "token.id_token")
                .message
                .contains("must start with `/`"),
            "{d}"
        );
        let x = at(&d, "token.id_token_login.request");
        assert!(x.message.contains("{{id_token}}"), "{d}");
        let x = at(&d, "token.id_token_login.request.json");
        assert!(x.message.contains("user.password"), "{d}");
    }

    #[test]
    fn refresh_that_extracts_no_access_token_is_refused() {
        let src = replace(
            TOKEN_FLOWS,
            "      extract: {access_token: \"json:/access_token\", refresh_token: \"?json:/refresh_token\"}\n      expect_status: [200]\n  logout",
            "      extract: {refresh_token: \"?json:/refresh_token\"}\n      expect_status: [200]\n  logout",
        );
        let d = diags(&src);
        let x = at(&d, "token.refresh");
        assert_eq!(x.line, 19, "{d}");
        assert!(x.message.contains("access_token"), "{d}");
    }

    #[test]
    fn token_flow_templates_are_checked_with_their_variables() {
        // refresh: `user.password` is a login variable only.
        let src = replace(
            TOKEN_FLOWS,
            "{refresh_token: \"{{refresh_token}}\"}",
            "{p: \"{{user.password}}\"}",
        );
        let d = diags(&src);
        let x = at(&d, "token.refresh[0].json");
        assert_eq!(x.line, 20, "{d}");
        assert!(x.message.contains("user.password"), "{d}");
        assert!(x.hint.as_deref().unwrap().contains("refresh_token"), "{d}");
        // logout: a typo.
        let src = replace(
            TOKEN_FLOWS,
            "Bearer {{access_token}}\"}}\n  revocation",
            "Bearer {{acess_token}}\"}}\n  revocation",
        );
        let d = diags(&src);
        assert_eq!(
            at(&d, "token.logout[0].headers.Authorization").line,
            24,
            "{d}"
        );
        // revocation: client variables exist only with `oauth`.
        let src = replace(
            TOKEN_FLOWS,
            "form: {client_id: web}",
            "form: {client_id: \"{{client.id}}\"}",
        );
        let d = diags(&src);
        assert_eq!(
            at(&d, "token.revocation.request.form.client_id").line,
            26,
            "{d}"
        );
        // With `oauth`, the derived login's variables and `client.*` are available everywhere.
        parse(OAUTH);
    }

    #[test]
    fn refresh_token_not_extracted_by_login_is_refused() {
        let src = replace(
            TOKEN_FLOWS,
            "      extract: {access_token: \"json:/access_token\", refresh_token: \"?json:/refresh_token\"}\n      expect_status: [200]\n  from",
            "      extract: {access_token: \"json:/access_token\"}\n      expect_status: [200]\n  from",
        );
        let d = diags(&src);
        let x = at(&d, "token.refresh_from");
        assert_eq!(x.line, 13, "the key is absent: the token section; {d}");
        assert!(
            x.hint.as_deref().unwrap().contains("?json:/refresh_token"),
            "{d}"
        );
    }

    #[test]
    fn revocation_form_must_not_carry_the_token() {
        let src = replace(
            TOKEN_FLOWS,
            "form: {client_id: web}",
            "form: {client_id: web, token: \"{{access_token}}\"}",
        );
        let d = diags(&src);
        let x = at(&d, "token.revocation.request.form.token");
        assert_eq!(x.line, 26, "{d}");
    }

    #[test]
    fn an_invalid_extractor_is_reported_at_its_step_with_the_extractor() {
        let src = replace(
            TOKEN_FLOWS,
            "refresh_token: \"?json:/refresh_token\"}\n      expect_status: [200]\n  from",
            "refresh_token: \"?json:refresh_token\"}\n      expect_status: [200]\n  from",
        );
        let d = diags(&src);
        let x = at(&d, "token.login[0].extract.refresh_token");
        assert!(x.line > 0, "{d}");
        assert_eq!(
            x.message,
            "json pointer `refresh_token` must start with `/`, e.g. json:/csrf_token"
        );
    }

    #[test]
    fn limits_concurrency_of_zero_is_refused_and_one_is_kept() {
        let src = format!("{TESTBED_PROFILE}limits: {{concurrency: 0}}\n");
        let d = diags(&src);
        let x = at(&d, "limits.concurrency");
        assert!(x.line > 0, "{d}");
        assert_eq!(x.message, "0 is out of range: give 1 to 256 rules at once");
        let p = parse(&format!("{TESTBED_PROFILE}limits: {{concurrency: 1}}\n"));
        assert_eq!(p.spec.limits.concurrency, Some(1));
    }

    /// `limits.max_rps: 1e-300` once passed `validate` and then panicked the run with
    /// "overflow when adding duration to instant" (issue 13); every limit is range-checked.
    #[test]
    fn limits_out_of_their_range_are_refused_at_their_key() {
        let src = format!(
            "{TESTBED_PROFILE}limits: {{max_rps: 1e-300, max_requests: 0, timeout: 2h}}\npolicy: {{max_wait: 5000000000000000h}}\n"
        );
        let d = diags(&src);
        let lines = TESTBED_PROFILE.lines().count() as u64;
        for (key, message) in [
            (
                "limits.max_rps",
                "1e-300 is out of range: give 0.01 to 10000 requests per second",
            ),
            (
                "limits.max_requests",
                "0 is out of range: give 1 to 100000000 requests",
            ),
            ("limits.timeout", "2h is out of range: give 1s to 1h"),
            (
                "policy.max_wait",
                "5000000000000000h is out of range: give 0s to 1d",
            ),
        ] {
            let x = at(&d, key);
            assert_eq!(x.message, message, "{d}");
            assert!(x.line > lines, "{key} at line {}: {d}", x.line);
        }
        let ok = format!(
            "{TESTBED_PROFILE}limits: {{max_rps: 0.01, max_requests: 1, timeout: 1h, concurrency: 256}}\n"
        );
        assert_eq!(parse(&ok).spec.limits.max_rps, Some(0.01));
    }
}
