//! Access tokens: the token login and the token-protected request, the `check: {jwt: ...}`
//! assertions, and the `attack` kind (forgeries from `jwt::dangerous`, white-box re-signing
//! with the service's key, and the token sent where it must not be accepted).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};

use crate::http::Exchange;
use crate::jwt::claims::{ExposureClass, exposures, lifetime};
use crate::jwt::dangerous::{
    self, AttackerKey, ForgeContext, ForgeryKind, SigningKey, WEAK_SECRETS, crack_hmac,
};
use crate::jwt::decode::{Jws, decode};
use crate::jwt::keys::{Jwk, parse_jwks};
use crate::profile::{FlowName, RequestSpec, TokenSpec};
use crate::spec::{Attack, ClaimAttack, Expect, JwtAssertion, Rule, Via};

use super::browser::{AccessOutcome, Browser, Ctx, Recorded, StepError, meets, now_unix};
use super::check::mask_tokens;
use super::{Evidence, RuleCtx, RuleResult, Status, evidence, step_error};

/// The token the preflight obtained, with its exchange.
#[derive(Debug, Clone)]
pub struct TokenBaseline {
    /// The raw access token.
    pub token: String,
    /// The exchange that returned it.
    pub exchange: Exchange,
}

fn spec(ctx: &Ctx) -> Result<&TokenSpec, StepError> {
    ctx.target
        .token
        .as_ref()
        .ok_or_else(|| StepError::Flow("the profile has no `token` section".into()))
}

impl Browser {
    /// Runs the token login for `user`; the token lands in `vars[token.from]`.
    pub async fn token_login(
        &mut self,
        ctx: &Ctx,
        user: &str,
        transcript: &mut Vec<Recorded>,
    ) -> Result<String, StepError> {
        let t = spec(ctx)?;
        let u = ctx
            .target
            .users
            .get(user)
            .ok_or_else(|| StepError::Flow(format!("the profile defines no user `{user}`")))?
            .clone();
        let before = self.vars.clone();
        self.run_flow(ctx, FlowName::TokenLogin, Some(&u), transcript)
            .await?;
        let token = self.vars.get(&t.from).cloned().ok_or_else(|| {
            StepError::Flow(format!("token login ({}) gave no `{}`", self.name, t.from))
        })?;
        for (k, v) in before {
            self.vars.entry(k).or_insert(v);
        }
        ctx.register_secret(&token, "access-token");
        Ok(token)
    }

    /// Sends the token-protected request with `token` in place of the browser's own; with
    /// `via` set, the token travels that way instead of the profile's transport.
    pub async fn token_access(
        &mut self,
        ctx: &Ctx,
        token: &str,
        via: Option<&Via>,
        label: &str,
        transcript: &mut Vec<Recorded>,
    ) -> Result<Vec<AccessOutcome>, StepError> {
        let t = spec(ctx)?;
        let mut vars = self.vars.clone();
        vars.insert(t.from.clone(), token.to_string());
        let mut outcomes = Vec::new();
        let requests: Vec<(String, crate::http::ProbeRequest)> = match via {
            None | Some(Via::Cookie) => {
                vec![(
                    label.to_string(),
                    Browser::build(ctx, &t.access.request, &vars)?,
                )]
            }
            Some(Via::Query(names)) | Some(Via::PathParam(names)) => {
                let stripped = strip_token(&t.access.request, &t.from);
                let mut out = Vec::new();
                for name in names {
                    let mut req = Browser::build(ctx, &stripped, &vars)?;
                    if matches!(via, Some(Via::Query(_))) {
                        req.url.query_pairs_mut().append_pair(name, token);
                        out.push((
                            format!(
                                "{label}: token in query parameter `{name}`, not in its usual place"
                            ),
                            req,
                        ));
                    } else {
                        let path = format!("{};{}={}", req.url.path(), name, token);
                        req.url.set_path(&path);
                        out.push((format!("{label}: token in path parameter `;{name}=`"), req));
                    }
                }
                out
            }
        };
        for (label, req) in requests {
            self.requests += 1;
            let ex = Browser::send_with(ctx, req, Some(&self.jar)).await?;
            outcomes.push(classify_token(ctx, &ex));
            transcript.push(Recorded {
                label,
                exchange: ex,
            });
        }
        Ok(outcomes)
    }
}

/// The request without any header, form field or body that carries the token variable.
fn strip_token(r: &RequestSpec, var: &str) -> RequestSpec {
    let uses = |text: &str| text.contains(var) && text.contains("{{");
    let mut r = r.clone();
    r.headers.retain(|_, v| !uses(v));
    if let Some(form) = &mut r.form {
        form.retain(|_, v| !uses(v));
    }
    if r.body.as_deref().is_some_and(uses) {
        r.body = None;
    }
    r
}

/// Classifies an answer to the token-protected request.
pub fn classify_token(ctx: &Ctx, ex: &Exchange) -> AccessOutcome {
    match &ctx.target.token {
        Some(t) => super::browser::classify_with(&t.access, ex),
        None => AccessOutcome::Unexpected,
    }
}

fn decoded<'a>(rc: &'a RuleCtx, rule: &Rule) -> Result<(Jws, &'a TokenBaseline), Box<RuleResult>> {
    let skip = |why: String| Box::new(RuleResult::new(rule, Status::Skip).because(why));
    let Some(tb) = rc.baseline.token.as_ref() else {
        return Err(skip("the profile has no `token` section".into()));
    };
    match decode(&tb.token) {
        Ok(j) => Ok((j, tb)),
        Err(e) => Err(skip(format!(
            "the access token is not a JWS, so JWT rules do not apply: {e}"
        ))),
    }
}

fn token_evidence(rc: &RuleCtx, tb: &TokenBaseline) -> Vec<Evidence> {
    vec![Evidence::new(
        "token login (preflight): the response that returned the token",
        &tb.exchange,
        rc.ctx.client.redactor(),
    )]
}

fn fail(
    rc: &RuleCtx,
    rule: &Rule,
    tb: &TokenBaseline,
    expected: String,
    observed: String,
) -> RuleResult {
    let mut r = RuleResult::new(rule, Status::Fail).because(observed.clone());
    r.expected = Some(expected);
    r.observed = Some(observed);
    r.evidence = token_evidence(rc, tb);
    r
}

fn pass(rule: &Rule, note: String) -> RuleResult {
    let mut r = RuleResult::new(rule, Status::Pass);
    r.notes.push(note);
    r
}

/// `check: {jwt: ...}`.
pub(crate) fn check(rc: &RuleCtx, rule: &Rule, a: JwtAssertion) -> RuleResult {
    let (jws, tb) = match decoded(rc, rule) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let empty = Map::new();
    let claims = jws.claims().unwrap_or(&empty);
    let mut allow = rc.policy.jwt_claims_allow.clone();
    if let Some(t) = &rc.ctx.target.token {
        allow.extend(t.claims_allow.iter().cloned());
    }
    match a {
        JwtAssertion::PayloadNoSecrets | JwtAssertion::PayloadNoPersonalData => {
            let class = if a == JwtAssertion::PayloadNoSecrets {
                ExposureClass::Secret
            } else {
                ExposureClass::PersonalData
            };
            let found: Vec<String> = exposures(claims, &allow)
                .into_iter()
                .filter(|e| e.class == class)
                .map(|e| format!("{} ({}: {})", e.path, e.category, e.excerpt))
                .collect();
            let what = if class == ExposureClass::Secret {
                "secrets"
            } else {
                "personal data"
            };
            if found.is_empty() {
                pass(
                    rule,
                    format!("the payload's {} claims show no {what}", claims.len()),
                )
            } else {
                fail(
                    rc,
                    rule,
                    tb,
                    format!("no {what} in the readable payload"),
                    format!(
                        "anyone holding the token can read {what}: {}",
                        found.join("; ")
                    ),
                )
            }
        }
        JwtAssertion::ExpiryPresent => match jws.claim_i64("exp") {
            Some(_) => pass(rule, "the token has an exp claim".into()),
            None => fail(
                rc,
                rule,
                tb,
                "an exp claim".into(),
                "the token has no exp claim: it never expires".into(),
            ),
        },
        JwtAssertion::ShortLived => {
            let l = lifetime(claims, now_unix());
            let max = rc.policy.access_token_max_lifetime;
            match l.lifetime {
                None => fail(
                    rc,
                    rule,
                    tb,
                    format!("a lifetime of at most {max}"),
                    "the token has no exp claim, so its lifetime is unbounded".into(),
                ),
                Some(s) if s <= max.0 as i64 => {
                    pass(rule, format!("the token lives {s} s, within {max}"))
                }
                Some(s) => fail(
                    rc,
                    rule,
                    tb,
                    format!("a lifetime of at most {max} ({} s)", max.0),
                    format!("the token lives {s} s ({:.1} h)", s as f64 / 3600.0),
                ),
            }
        }
        JwtAssertion::WeakSecret => {
            let alg = jws.alg().unwrap_or("");
            if !alg.starts_with("HS") {
                return pass(
                    rule,
                    format!("the token is {alg}-signed: there is no shared secret to guess"),
                );
            }
            let n = WEAK_SECRETS.lines().filter(|l| !l.is_empty()).count();
            match crack_hmac(&tb.token, WEAK_SECRETS.lines().filter(|l| !l.is_empty())) {
                None => pass(
                    rule,
                    format!("none of {n} common secrets verifies the {alg} signature"),
                ),
                Some(secret) => {
                    let shown = String::from_utf8_lossy(&secret);
                    let masked: String = shown.chars().take(2).collect();
                    fail(
                        rc,
                        rule,
                        tb,
                        "a secret that is not in the dictionary of common secrets".into(),
                        format!(
                            "the {alg} secret is in authprobe's dictionary of {n} common secrets (starts with `{masked}…`, {} bytes): anyone can forge tokens",
                            secret.len()
                        ),
                    )
                }
            }
        }
    }
}

/// Serves the attacker's JWKS on loopback for the duration of a rule.
struct AttackerServer {
    url: url::Url,
    fetched: Arc<AtomicBool>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl AttackerServer {
    async fn start(jwks: String) -> std::io::Result<AttackerServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let fetched = Arc::new(AtomicBool::new(false));
        let flag = fetched.clone();
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let flag = flag.clone();
                let body = jwks.clone();
                async move {
                    flag.store(true, Ordering::Relaxed);
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        let url =
            url::Url::parse(&format!("http://{addr}/jwks.json")).map_err(std::io::Error::other)?;
        Ok(AttackerServer {
            url,
            fetched,
            shutdown: Some(tx),
        })
    }
}

impl Drop for AttackerServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn fetch_jwks(
    ctx: &Ctx,
    transcript: &mut Vec<Recorded>,
) -> Result<(Vec<Jwk>, Vec<String>), StepError> {
    let Some(path) = ctx.target.token.as_ref().and_then(|t| t.jwks_url.clone()) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let url = ctx
        .target
        .url(&path)
        .map_err(|e| StepError::Flow(e.to_string()))?;
    let ex = ctx.client.send(crate::http::ProbeRequest::get(url)).await?;
    let status = ex.response.status;
    let body = ex.response.body_text().into_owned();
    transcript.push(Recorded {
        label: "fetch the service's JWKS".into(),
        exchange: ex,
    });
    if status != 200 {
        return Err(StepError::Flow(format!("the JWKS answered {status}")));
    }
    let parsed =
        parse_jwks(&body).map_err(|e| StepError::Flow(format!("the JWKS is malformed: {e}")))?;
    let skipped = parsed.skipped.iter().map(|s| format!("{s:?}")).collect();
    Ok((parsed.keys, skipped))
}

fn signing_key_for(rc: &RuleCtx, jws: &Jws, token: &str) -> Option<(SigningKey, String)> {
    let kid = jws.kid();
    let alg = jws.alg().unwrap_or("");
    let keys = &rc.ctx.target.signing_keys;
    let pick = keys
        .iter()
        .find(|k| k.kid.is_some() && k.kid.as_deref() == kid)
        .or_else(|| keys.iter().find(|k| k.alg.as_deref() == Some(alg)))
        .or_else(|| {
            keys.iter().find(|k| {
                let pem = k.material.contains("-----BEGIN");
                match &alg[..alg.len().min(2)] {
                    "HS" => !pem,
                    "ES" => {
                        pem && k.material.contains("EC ")
                            || k.material.contains("BEGIN PRIVATE KEY") && alg.starts_with("ES")
                    }
                    "RS" | "PS" => pem,
                    _ => false,
                }
            })
        });
    if let Some(k) = pick {
        let key = if k.material.contains("-----BEGIN") {
            SigningKey::from_pem(&k.material).ok()?
        } else {
            SigningKey::Hmac(k.material.as_bytes().to_vec())
        };
        return Some((key, "the profile's signing key".into()));
    }
    if alg.starts_with("HS")
        && let Some(secret) = crack_hmac(token, WEAK_SECRETS.lines().filter(|l| !l.is_empty()))
    {
        return Some((
            SigningKey::Hmac(secret),
            "the HMAC secret cracked from the dictionary".into(),
        ));
    }
    None
}

fn edit_claims(
    claims: &mut Map<String, Value>,
    attack: ClaimAttack,
    now: i64,
) -> Result<String, String> {
    match attack {
        ClaimAttack::Expired => {
            claims.insert("exp".into(), Value::from(now - 600));
            claims.insert("iat".into(), Value::from(now - 900));
            if claims.contains_key("nbf") {
                claims.insert("nbf".into(), Value::from(now - 900));
            }
            Ok("exp 10 minutes in the past".into())
        }
        ClaimAttack::NotYetValid => {
            claims.insert("nbf".into(), Value::from(now + 600));
            if let Some(exp) = claims.get("exp").and_then(Value::as_i64) {
                claims.insert("exp".into(), Value::from(exp.max(now + 1200)));
            }
            Ok("nbf 10 minutes in the future".into())
        }
        ClaimAttack::WrongAudience => {
            if !claims.contains_key("aud") {
                return Err("the token carries no aud claim".into());
            }
            claims.insert("aud".into(), Value::from("authprobe-other-audience"));
            Ok("aud changed to `authprobe-other-audience`".into())
        }
        ClaimAttack::WrongIssuer => {
            if !claims.contains_key("iss") {
                return Err("the token carries no iss claim".into());
            }
            claims.insert(
                "iss".into(),
                Value::from("https://issuer.authprobe.invalid"),
            );
            Ok("iss changed to `https://issuer.authprobe.invalid`".into())
        }
    }
}

/// One derived request of an attack.
struct Case {
    name: String,
    token: String,
    via: Option<Via>,
}

/// Kind `attack`.
pub(crate) async fn attack(rc: &RuleCtx, rule: &Rule, a: &Attack) -> RuleResult {
    let ctx = &rc.ctx;
    let mut transcript: Vec<Recorded> = Vec::new();
    let mut notes = Vec::new();
    let mut b = Browser::new("alice");
    let token = match b.token_login(ctx, "alice", &mut transcript).await {
        Ok(t) => t,
        Err(e) => return step_error(ctx, rule, e, &transcript),
    };
    let jws = match decode(&token) {
        Ok(j) => j,
        Err(e) => {
            return RuleResult::new(rule, Status::Skip)
                .because(format!("the access token is not a JWS: {e}"));
        }
    };
    // Positive control before.
    match b
        .token_access(
            ctx,
            &token,
            None,
            "positive control before the attack: the untampered token",
            &mut transcript,
        )
        .await
    {
        Ok(o) if o.iter().all(|x| *x == AccessOutcome::Allowed) => {}
        Ok(o) => {
            let mut r = RuleResult::new(rule, Status::Inconclusive).because(format!(
                "positive control failed: the untampered token was {}",
                o.first().map(|x| x.as_str()).unwrap_or("?")
            ));
            r.evidence = evidence(ctx, &transcript);
            return r;
        }
        Err(e) => return step_error(ctx, rule, e, &transcript),
    }
    let mut cases: Vec<Case> = Vec::new();
    let mut server: Option<AttackerServer> = None;
    if !a.forge.is_empty() {
        let needs_jwks = a.forge.contains(&ForgeryKind::SymmetryConfusion);
        let (keys, skipped) = if needs_jwks {
            match fetch_jwks(ctx, &mut transcript).await {
                Ok(k) => k,
                Err(e) => return step_error(ctx, rule, e, &transcript),
            }
        } else {
            (Vec::new(), Vec::new())
        };
        if !skipped.is_empty() {
            notes.push(format!("JWKS keys skipped: {}", skipped.join("; ")));
        }
        let other = if a.forge.contains(&ForgeryKind::ForeignSignature) {
            let mut b2 = Browser::new("alice (second token)");
            b2.token_login(ctx, "alice", &mut transcript).await.ok()
        } else {
            None
        };
        let attacker = match AttackerKey::generate() {
            Ok(k) => k,
            Err(e) => {
                return RuleResult::new(rule, Status::Error)
                    .because(format!("cannot generate the attacker key: {e}"));
            }
        };
        let wants_url = a.forge.iter().any(|k| {
            matches!(
                k,
                ForgeryKind::AttackerProvidedJku | ForgeryKind::AttackerProvidedX5u
            )
        });
        if wants_url {
            if !crate::profile::is_loopback(&ctx.target.base_url) {
                return RuleResult::new(rule, Status::Skip)
                    .because("the target is not on loopback, so authprobe does not serve it an attacker JWKS");
            }
            match AttackerServer::start(attacker.jwks_json()).await {
                Ok(s) => server = Some(s),
                Err(e) => {
                    return RuleResult::new(rule, Status::Error)
                        .because(format!("cannot serve the attacker JWKS: {e}"));
                }
            }
        }
        let fctx = ForgeContext {
            public_keys: &keys,
            other_token: other.as_deref(),
            attacker_jwks_url: server.as_ref().map(|s| &s.url),
            attacker: &attacker,
        };
        for kind in &a.forge {
            match dangerous::forge(*kind, &token, &fctx) {
                Ok(list) if list.is_empty() => {
                    notes.push(format!("{kind:?}: not applicable to this token"))
                }
                Ok(list) => {
                    for f in list {
                        cases.push(Case {
                            name: format!("{:?} ({})", f.kind, f.variant),
                            token: f.token,
                            via: None,
                        });
                    }
                }
                Err(e) => notes.push(format!("{kind:?}: could not forge: {e}")),
            }
        }
    }
    if !a.resign.is_empty() {
        let Some((key, source)) = signing_key_for(rc, &jws, &token) else {
            if a.resign == [ClaimAttack::Expired] {
                return wait_for_expiry(rc, rule, &mut b, &token, &jws, transcript).await;
            }
            return RuleResult::new(rule, Status::Skip).because(format!(
                "no signing key in the profile matches the token (alg {}, kid {:?})",
                jws.alg().unwrap_or("?"),
                jws.kid()
            ));
        };
        let header = jws.header.clone();
        let claims = jws.claims().cloned().unwrap_or_default();
        // White-box control: the unchanged claims re-signed must be accepted.
        let control = match dangerous::resign(&header, &claims, &key) {
            Ok(t) => t,
            Err(e) => {
                return RuleResult::new(rule, Status::Error)
                    .because(format!("cannot sign with {source}: {e}"));
            }
        };
        ctx.register_secret(&control, "resigned-token");
        match b
            .token_access(
                ctx,
                &control,
                None,
                "white-box control: the same claims re-signed with the real key",
                &mut transcript,
            )
            .await
        {
            Ok(o) if o.iter().all(|x| *x == AccessOutcome::Allowed) => notes.push(format!(
                "re-signed with {source}; the re-signed untampered token is accepted"
            )),
            Ok(_) => {
                let mut r = RuleResult::new(rule, Status::Inconclusive).because(format!(
                    "positive control failed: a token re-signed with {source} was not accepted, so the key is not the service's"
                ));
                r.evidence = evidence(ctx, &transcript);
                return r;
            }
            Err(e) => return step_error(ctx, rule, e, &transcript),
        }
        let now = now_unix();
        for attack in &a.resign {
            let mut c = claims.clone();
            match edit_claims(&mut c, *attack, now) {
                Ok(what) => match dangerous::resign(&header, &c, &key) {
                    Ok(t) => cases.push(Case {
                        name: format!("{attack:?}: {what}, signed with {source}"),
                        token: t,
                        via: None,
                    }),
                    Err(e) => notes.push(format!("{attack:?}: cannot sign: {e}")),
                },
                Err(why) => notes.push(format!("{attack:?}: not applicable: {why}")),
            }
        }
    }
    if let Some(via) = &a.via {
        cases.push(Case {
            name: "the untampered token, moved".into(),
            token: token.clone(),
            via: Some(via.clone()),
        });
    }
    if cases.is_empty() {
        let mut r = RuleResult::new(rule, Status::Skip).because(format!(
            "nothing to try against this {} token: {}",
            jws.alg().unwrap_or("?"),
            notes.join("; ")
        ));
        r.requests = transcript.len() as u64;
        return r;
    }
    let mut failures: Vec<(String, AccessOutcome, usize, String)> = Vec::new();
    let mut unexpected = 0;
    let mut server_errors = 0;
    let mut tried = 0;
    for case in &cases {
        ctx.register_secret(&case.token, "forged-token");
        let before = transcript.len();
        let outcomes = match b
            .token_access(
                ctx,
                &case.token,
                case.via.as_ref(),
                &format!("attack: {}", case.name),
                &mut transcript,
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return step_error(ctx, rule, e, &transcript),
        };
        for (i, o) in outcomes.iter().enumerate() {
            tried += 1;
            if *o == AccessOutcome::Unexpected && a.expect == Expect::Denied {
                unexpected += 1;
            } else if *o == AccessOutcome::ServerError && a.expect == Expect::Denied {
                // Not accepted, so the promise of this rule held; the server error itself is
                // the business of jwt.malformed-no-server-error.
                server_errors += 1;
            } else if !meets(a.expect, *o) {
                failures.push((
                    transcript[before + i].label.clone(),
                    *o,
                    before + i,
                    case.token.clone(),
                ));
            }
        }
    }
    if server_errors > 0 {
        notes.push(format!(
            "{server_errors} derived requests were answered with a server error (5xx): not accepted, but the parser fails open to errors"
        ));
    }
    if let Some(s) = &server
        && s.fetched.load(Ordering::Relaxed)
    {
        notes.push(
            "the service fetched the attacker's JWKS from the URL in the token header".into(),
        );
    }
    // Positive control after.
    let after_ok = matches!(
        b.token_access(ctx, &token, None, "positive control after the attack: the untampered token", &mut transcript).await,
        Ok(ref o) if o.iter().all(|x| *x == AccessOutcome::Allowed)
    );
    let requests = transcript.len() as u64;
    if !failures.is_empty() {
        let (label, outcome, idx, _) = &failures[0];
        let status = transcript[*idx].exchange.response.status;
        let observed = format!(
            "{} of {tried} derived requests were not refused; first: {label} was {} (status {status})",
            failures.len(),
            outcome.as_str()
        );
        let mut r = RuleResult::new(rule, Status::Fail).because(observed.clone());
        r.expected = Some(format!("every derived request {}", a.expect));
        r.observed = Some(observed);
        let keep: BTreeSet<usize> = failures.iter().map(|f| f.2).collect();
        let minimal: Vec<Recorded> = transcript
            .iter()
            .enumerate()
            .filter(|(i, rec)| {
                keep.contains(i)
                    || rec.label.starts_with("token login")
                    || rec.label.starts_with("positive control before")
            })
            .map(|(_, rec)| rec.clone())
            .collect();
        r.evidence = evidence(ctx, &minimal);
        for (label, _, _, forged) in failures.iter().take(8) {
            if let Ok(j) = decode(forged) {
                r.notes
                    .push(format!("{label}: header {}", mask_tokens(&j.header_json)));
            }
        }
        r.notes.extend(notes);
        r.requests = requests;
        return r;
    }
    if !after_ok {
        let mut r = RuleResult::new(rule, Status::Inconclusive).because(
            "positive control failed: the untampered token was not accepted after the attack (the service may revoke under attack; refusals prove nothing)",
        );
        r.evidence = evidence(ctx, &transcript);
        r.notes = notes;
        r.requests = requests;
        return r;
    }
    if unexpected > 0 {
        let mut r = RuleResult::new(rule, Status::Inconclusive).because(format!(
            "{unexpected} of {tried} answers matched neither the profile's allowed nor denied classifier"
        ));
        r.notes = notes;
        r.requests = requests;
        return r;
    }
    let mut r = RuleResult::new(rule, Status::Pass);
    r.notes.push(format!(
        "{tried} derived requests were all {} ({}); the untampered token was accepted before and after",
        a.expect,
        cases.iter().map(|c| c.name.split(' ').next().unwrap_or("")).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", ")
    ));
    r.notes.extend(notes);
    r.requests = requests;
    r
}

/// The decoded difference between two tokens, one line per changed member (values masked),
/// for reporting an altered token a service accepted.
pub(crate) fn token_diff(original: &str, altered: &str) -> Vec<String> {
    let (Ok(a), Ok(b)) = (decode(original), decode(altered)) else {
        return match decode(altered) {
            Err(e) => vec![format!(
                "the altered token does not even decode as a JWS ({e}), yet it was accepted"
            )],
            Ok(_) => Vec::new(),
        };
    };
    let mut out = Vec::new();
    let show = |v: Option<&Value>| {
        v.map(|v| mask_tokens(&v.to_string()))
            .unwrap_or_else(|| "(absent)".into())
    };
    let empty = Map::new();
    for (part, x, y) in [
        ("header", &a.header, &b.header),
        (
            "payload",
            a.claims().unwrap_or(&empty),
            b.claims().unwrap_or(&empty),
        ),
    ] {
        let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
        for k in keys {
            if x.get(k) != y.get(k) {
                out.push(format!(
                    "{part}.{k}: {} → {}",
                    show(x.get(k)),
                    show(y.get(k))
                ));
            }
        }
    }
    if a.signature != b.signature {
        let differing = a
            .signature
            .iter()
            .zip(&b.signature)
            .filter(|(p, q)| p != q)
            .count()
            + a.signature.len().abs_diff(b.signature.len());
        out.push(format!(
            "signature: {differing} of {} bytes differ{}",
            a.signature.len(),
            if b.signature.len() != a.signature.len() {
                format!(" (length {} → {})", a.signature.len(), b.signature.len())
            } else {
                String::new()
            }
        ));
    }
    if out.is_empty() && original != altered {
        out.push("the decoded header, payload and signature are unchanged: only the encoding differs (non-canonical base64url or separators), and the service accepted it".into());
    }
    out
}

/// How long to wait for a token with `exp` to expire on the server's clock, judged from the
/// server's `Date` header (`server_now`) against ours; `None` when it already expired.
pub(crate) fn expiry_wait(exp: i64, server_now: Option<i64>, local_now: i64) -> i64 {
    let now = server_now.unwrap_or(local_now);
    // One second past exp: RFC 7519 says a token is invalid on or after exp, but common
    // verifiers reject only when now > exp.
    (exp - now + 1).max(0)
}

/// Without a signing key, `expired` waits for the real token to expire (when that takes at
/// most the policy's `max_wait`) and replays it.
async fn wait_for_expiry(
    rc: &RuleCtx,
    rule: &Rule,
    b: &mut Browser,
    token: &str,
    jws: &Jws,
    mut transcript: Vec<Recorded>,
) -> RuleResult {
    let ctx = &rc.ctx;
    let Some(exp) = jws.claim_i64("exp") else {
        return RuleResult::new(rule, Status::Skip)
            .because("the token has no exp claim and the profile gives no signing key to forge an expired one");
    };
    let server_now = transcript
        .iter()
        .rev()
        .find_map(|r| r.exchange.response.header("date"))
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    let local = now_unix();
    let wait = expiry_wait(exp, server_now, local);
    let max = rc.policy.max_wait.0 as i64;
    if wait > max {
        return RuleResult::new(rule, Status::Skip).because(format!(
            "no signing key in the profile, and the token expires in {wait} s, longer than max_wait ({max} s); give a signing key or raise --max-wait"
        ));
    }
    tokio::time::sleep(std::time::Duration::from_secs(wait as u64)).await;
    let outcomes = match b
        .token_access(
            ctx,
            token,
            None,
            &format!("the same token after waiting {wait} s for it to expire"),
            &mut transcript,
        )
        .await
    {
        Ok(o) => o,
        Err(e) => return step_error(ctx, rule, e, &transcript),
    };
    // Control after: a fresh token still works, so the refusal is about expiry.
    let fresh = match b.token_login(ctx, "alice", &mut transcript).await {
        Ok(t) => t,
        Err(e) => return step_error(ctx, rule, e, &transcript),
    };
    let control_ok = matches!(
        b.token_access(ctx, &fresh, None, "positive control: a fresh token", &mut transcript).await,
        Ok(ref o) if o.iter().all(|x| *x == AccessOutcome::Allowed)
    );
    let skew = server_now.map(|s| s - local).unwrap_or(0);
    let note = format!("waited {wait} s for the real token to expire (server clock skew {skew} s)");
    let requests = transcript.len() as u64;
    let mut r = if outcomes.contains(&AccessOutcome::Allowed) {
        let mut r =
            RuleResult::new(rule, Status::Fail).because("the expired token was still accepted");
        r.expected = Some("the expired token denied".into());
        r.observed = Some(format!(
            "the token was accepted {wait} s after it was issued, past its exp"
        ));
        r.evidence = evidence(ctx, &transcript);
        r
    } else if !control_ok {
        RuleResult::new(rule, Status::Inconclusive)
            .because("positive control failed: a fresh token was not accepted after the wait")
    } else {
        RuleResult::new(rule, Status::Pass)
    };
    r.notes.push(note);
    r.requests = requests;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_wait_uses_the_server_clock_and_one_second_past_exp() {
        assert_eq!(expiry_wait(1_000, Some(990), 2_000), 11);
        assert_eq!(expiry_wait(1_000, None, 990), 11);
        assert_eq!(expiry_wait(1_000, Some(5_000), 0), 0);
    }
}
