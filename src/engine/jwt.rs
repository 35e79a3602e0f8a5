//! Kind `check: {jwt: ...}`: what anyone holding the preflight's access token can read in it
//! (secrets, personal data), whether it expires and how long it lives, and whether its HMAC
//! secret is guessable. The claim checks read the captured token; the secret check cracks an
//! HMAC token offline, and for other algorithms asks the service whether it accepts HS256
//! tokens signed with guessable secrets.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::jwt::claims::{ExposureClass, exposures, lifetime};
use crate::jwt::dangerous::{self, SigningKey, WEAK_SECRETS, crack_hmac};
use crate::jwt::decode::{Jws, decode};
use crate::spec::JwtAssertion;
use crate::units::SpecUser;

use super::browser::{AccessOutcome, Browser, TokenRole, now_unix};
use super::outcome::{Evidence, Outcome, Verdict};
use super::preflight::TokenBaseline;
use super::probe::{Cases, Controls, Recheck, confirm, controlled};
use super::rule::{RuleCtx, step_verdict};
use super::session::mask_tokens;

/// The judged token, decoded; a skip verdict when it is not a JWS.
fn decoded(tb: &TokenBaseline, role: TokenRole) -> Result<Jws, Verdict> {
    decode(&tb.token).map_err(|e| Verdict::not_applicable(opaque_reason(role, &e)))
}

/// Why a token check has nothing to test on an opaque token.
pub(crate) fn opaque_reason(role: TokenRole, e: &impl std::fmt::Display) -> String {
    format!(
        "the {} is opaque, not a JWS ({e}): nothing in it is readable, so there is nothing to check",
        role.noun()
    )
}

/// A failure whose evidence is the response that returned the token.
fn fail(rc: &RuleCtx, tb: &TokenBaseline, expected: String, observed: String) -> Verdict {
    Verdict::new(Outcome::fail_observed(expected, observed)).evidence(vec![Evidence::new(
        "token login (preflight): the response that returned the token",
        &tb.exchange,
        rc.ctx.client.redactor(),
    )])
}

/// Runs one token assertion on the preflight's token of the context's role (the access
/// token, or the ID token); a failure is confirmed by a fresh token login whose token must
/// fail the same way.
pub(crate) async fn run(rc: &RuleCtx, a: JwtAssertion) -> Verdict {
    let Some(baseline) = rc.baseline.token.as_ref() else {
        return Verdict::not_applicable("the profile has no `token` section");
    };
    let role = rc.ctx.token_role;
    let token = match role {
        TokenRole::AccessToken => Some(baseline.token.clone()),
        TokenRole::IdToken => baseline.id_token.clone(),
    };
    let Some(token) = token else {
        return Verdict::not_applicable(format!("the token login returned no {}", role.noun()));
    };
    let tb = &TokenBaseline {
        token,
        exchange: baseline.exchange.clone(),
        id_token: None,
    };
    let verdict = judge(rc, tb, a).await;
    let what = format!("logged in again and judged the new {}", role.noun());
    let what = what.as_str();
    confirm(rc, verdict, what, async |t| {
        let mut b = Browser::new("confirmation");
        let token = match b.token_login(&rc.ctx, SpecUser::Alice.name(), t).await {
            Ok(token) => token,
            Err(e) => return Recheck::from_step_error(&e),
        };
        let Some(exchange) = t.last().map(|r| r.exchange.clone()) else {
            return Recheck::Unclear("the token login sent nothing".into());
        };
        let again = TokenBaseline {
            token,
            exchange,
            id_token: None,
        };
        match judge(rc, &again, a).await.outcome {
            Outcome::Fail(f) => Recheck::Failed(f.observed),
            Outcome::Pass => Recheck::Passed("the new token passes".into()),
            other => Recheck::Unclear(other.to_string()),
        }
    })
    .await
}

/// Judges one token assertion on the token of `tb`.
async fn judge(rc: &RuleCtx, tb: &TokenBaseline, a: JwtAssertion) -> Verdict {
    let jws = match decoded(tb, rc.ctx.token_role) {
        Ok(x) => x,
        Err(v) => return v,
    };
    match a {
        JwtAssertion::PayloadNoSecrets => exposed(rc, tb, &jws, ExposureClass::Secret),
        JwtAssertion::PayloadNoPersonalData => exposed(rc, tb, &jws, ExposureClass::PersonalData),
        JwtAssertion::ExpiryPresent => match jws.claim_i64("exp") {
            Some(_) => Verdict::pass("the token has an exp claim"),
            None => fail(
                rc,
                tb,
                "an exp claim".into(),
                "the token has no exp claim: it never expires".into(),
            ),
        },
        JwtAssertion::ShortLived => short_lived(rc, tb, &jws),
        JwtAssertion::WeakSecret => weak_secret(rc, tb, &jws).await,
        JwtAssertion::JwksSound => super::jwks::judge(rc, &jws).await,
    }
}

fn exposed(rc: &RuleCtx, tb: &TokenBaseline, jws: &Jws, class: ExposureClass) -> Verdict {
    let empty = Map::new();
    let claims = jws.claims().unwrap_or(&empty);
    let mut allow = rc.policy.jwt_claims_allow.clone();
    if let Some(t) = &rc.ctx.target.token {
        allow.extend(t.claims_allow.iter().cloned());
    }
    let listed = |allow: &[String]| -> Vec<String> {
        exposures(claims, allow)
            .into_iter()
            .filter(|e| e.class == class)
            .map(|e| format!("{} ({}: {})", e.path, e.category, e.excerpt))
            .collect()
    };
    // An ID token carries the user's standard claims by design; secrets are never allowed.
    let mut standard = Vec::new();
    if rc.ctx.token_role == TokenRole::IdToken && class == ExposureClass::PersonalData {
        let before = listed(&allow);
        allow.extend(rc.policy.id_token_personal_claims.iter().cloned());
        let after = listed(&allow);
        standard = before.into_iter().filter(|e| !after.contains(e)).collect();
    }
    let found = listed(&allow);
    let what = if class == ExposureClass::Secret {
        "secrets"
    } else {
        "personal data"
    };
    if found.is_empty() {
        let allowed = if standard.is_empty() {
            String::new()
        } else {
            format!(
                " beyond the standard claims an ID token may carry (policy.id_token_personal_claims): {}",
                standard.join("; ")
            )
        };
        Verdict::pass(format!(
            "the payload's {} claims show no {what}{allowed}",
            claims.len()
        ))
    } else {
        fail(
            rc,
            tb,
            format!("no {what} in the readable payload"),
            format!(
                "anyone holding the token can read {what}: {}",
                found.join("; ")
            ),
        )
    }
}

fn short_lived(rc: &RuleCtx, tb: &TokenBaseline, jws: &Jws) -> Verdict {
    let empty = Map::new();
    let l = lifetime(jws.claims().unwrap_or(&empty), now_unix());
    let max = match rc.ctx.token_role {
        TokenRole::AccessToken => rc.policy.access_token_max_lifetime,
        TokenRole::IdToken => rc.policy.id_token_max_lifetime,
    };
    match l.lifetime {
        None => fail(
            rc,
            tb,
            format!("a lifetime of at most {max}"),
            "the token has no exp claim, so its lifetime is unbounded".into(),
        ),
        Some(s) if s <= max.0 as i64 => {
            Verdict::pass(format!("the token lives {s} s, within {max}"))
        }
        Some(s) => fail(
            rc,
            tb,
            format!("a lifetime of at most {max} ({} s)", max.0),
            format!("the token lives {s} s ({:.1} h)", s as f64 / 3600.0),
        ),
    }
}

/// How many dictionary secrets are tried online against a service whose own tokens are not
/// HMAC-signed (each one is a request).
const ONLINE_SECRETS: usize = 24;

async fn weak_secret(rc: &RuleCtx, tb: &TokenBaseline, jws: &Jws) -> Verdict {
    let alg = jws.alg().unwrap_or("");
    if !alg.starts_with("HS") {
        return weak_secret_online(rc, jws, alg).await;
    }
    let n = dangerous::guessable_secret_count();
    match crack_hmac(&tb.token, dangerous::guessable_secrets()) {
        None => Verdict::pass(format!(
            "none of {n} guessable secrets (the empty one, a dictionary of common secrets, every one- and two-character secret) verifies the {alg} signature"
        )),
        Some(secret) => {
            let what = if secret.is_empty() {
                "the empty secret".to_owned()
            } else {
                let shown = String::from_utf8_lossy(&secret);
                let masked: String = shown.chars().take(2.min(secret.len() - 1)).collect();
                format!(
                    "a guessable secret (starts with `{masked}…`, {} bytes)",
                    secret.len()
                )
            };
            fail(
                rc,
                tb,
                "a random secret at least as long as the hash output (RFC 7518 §3.2)".into(),
                format!(
                    "the {alg} signature verifies with {what}, found offline among {n} guessable secrets: anyone can forge tokens"
                ),
            )
        }
    }
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
        out.push(signature_diff(&a.signature, &b.signature));
    }
    if out.is_empty() && original != altered {
        out.push("the decoded header, payload and signature are unchanged: only the encoding differs (non-canonical base64url or separators), and the service accepted it".into());
    }
    out
}

fn signature_diff(a: &[u8], b: &[u8]) -> String {
    let differing = a.iter().zip(b).filter(|(p, q)| p != q).count() + a.len().abs_diff(b.len());
    format!(
        "signature: {differing} of {} bytes differ{}",
        a.len(),
        if b.len() != a.len() {
            format!(" (length {} → {})", a.len(), b.len())
        } else {
            String::new()
        }
    )
}

/// A service whose tokens are not HMAC-signed has no secret to crack offline, but its verifier
/// may still accept HS256 tokens (algorithm agility) keyed with a guessable secret: the
/// token's own claims are signed HS256 with the empty secret and the most common ones, each
/// sent in its place through the controlled probe.
async fn weak_secret_online(rc: &RuleCtx, jws: &Jws, alg: &str) -> Verdict {
    let ctx = &rc.ctx;
    let mut transcript = Vec::new();
    let mut b = Browser::new(SpecUser::Alice.name());
    // Re-signed copies leave the genuine token alive: the run's shared one will do.
    let token = match b
        .shared_token_login(ctx, SpecUser::Alice.name(), &mut transcript)
        .await
    {
        Ok(t) => t,
        Err(e) => return step_verdict(rc, e, &transcript),
    };
    let mut header = jws.header.clone();
    header.insert("alg".into(), Value::from("HS256"));
    let claims = decode(&token)
        .ok()
        .and_then(|j| j.claims().cloned())
        .unwrap_or_default();
    let secrets: Vec<&str> = std::iter::once("")
        .chain(WEAK_SECRETS.lines().filter(|l| !l.is_empty()))
        .take(ONLINE_SECRETS + 1)
        .collect();
    let names = Controls {
        subject: "the untampered token",
        cases: "the guessed secrets",
    };
    let mut forger = b.clone();
    let found = controlled(
        rc,
        names,
        &mut transcript,
        async |_, label, t| b.token_use(ctx, &token, label, t).await,
        async |t| {
            let mut found = Cases::default();
            for secret in &secrets {
                let Ok(forged) = dangerous::resign(
                    &header,
                    &claims,
                    &SigningKey::Hmac(secret.as_bytes().to_vec()),
                ) else {
                    continue;
                };
                ctx.register_secret(&forged, "forged-token");
                let label = format!(
                    "HS256 token signed with a {}-byte dictionary secret",
                    secret.len()
                );
                let o = forger
                    .token_use(ctx, &forged, &label, t)
                    .await
                    .map_err(|e| step_verdict(rc, e, t))?;
                if o == AccessOutcome::Allowed {
                    found.failures.push((t.len() - 1, secret.len()));
                }
            }
            Ok(found)
        },
    )
    .await;
    let requests = transcript.len() as u64;
    let found = match found {
        Ok(found) => found,
        Err(v) => return v.requests(requests),
    };
    match found.failures.first() {
        None => Verdict::pass(format!(
            "the token is {alg}-signed, so there is no secret to crack offline; HS256 tokens with its claims signed with the empty secret and {ONLINE_SECRETS} common secrets were all refused"
        )),
        Some((index, len)) => Verdict::new(Outcome::fail_observed(
            "HS256 tokens signed with guessable secrets refused",
            format!(
                "the verifier accepts HS256 tokens although the service signs {alg}: one signed with a {len}-byte dictionary secret was accepted (status {}), so anyone can forge tokens",
                transcript[*index].exchange.response.status
            ),
        ))
        .evidence(rc.evidence(&transcript)),
    }
    .requests(requests)
}
