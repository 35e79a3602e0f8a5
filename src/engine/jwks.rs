//! Kind `check: {jwt: jwks_sound}`: the key set the service publishes, judged as a strict
//! verifier of the service's own token would judge it. The judgement is
//! [`strict::judge_jwks`](crate::jwt::strict::judge_jwks) — the same code that refuses keys
//! in `inspect jwt` — so the tool and the engine never disagree about a key. This file only
//! fetches the JWKS and turns the refusals into a verdict.

use serde_json::Value;

use crate::http::ProbeRequest;
use crate::jwt::decode::Jws;
use crate::jwt::strict::judge_jwks;

use super::browser::{FlowError, Recorded};
use super::outcome::{Outcome, Verdict};
use super::rule::{RuleCtx, step_verdict};

/// Fetches the profile's JWKS and judges it against `jws`, the service's token.
pub(crate) async fn judge(rc: &RuleCtx, jws: &Jws) -> Verdict {
    let Some(path) = rc
        .ctx
        .target
        .token
        .as_ref()
        .and_then(|t| t.jwks_url.clone())
    else {
        return Verdict::not_applicable(
            "the profile names no JWKS (token.jwks_url), so there is no key set to judge",
        );
    };
    let url = match rc.ctx.target.url(&path) {
        Ok(u) => u,
        Err(e) => return step_verdict(rc, FlowError::Request(e.to_string()).into(), &[]),
    };
    let exchange = match rc.ctx.client.send(ProbeRequest::get(url)).await {
        Ok(ex) => ex,
        Err(e) => return step_verdict(rc, e.into(), &[]),
    };
    let transcript = vec![Recorded {
        label: "fetch the service's JWKS".into(),
        exchange,
    }];
    let response = &transcript[0].exchange.response;
    if response.status != 200 {
        let why = format!("the JWKS answered {}", response.status);
        return step_verdict(rc, FlowError::Jwks(why).into(), &transcript);
    }
    let set: Value = match serde_json::from_str(&response.body_text()) {
        Ok(v) => v,
        Err(e) => {
            let why = format!("the JWKS is not JSON: {e}");
            return step_verdict(rc, FlowError::Jwks(why).into(), &transcript);
        }
    };
    let count = set
        .get("keys")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let problems = judge_jwks(&set, jws);
    if problems.is_empty() {
        return Verdict::pass(format!(
            "the JWKS's {count} key(s): no symmetric key, no RSA key under 2048 bits or of the ROCA generator, and the token's key is one key meant for verifying {}",
            jws.alg().unwrap_or("its algorithm")
        ));
    }
    let observed = problems
        .iter()
        .map(|p| p.reason.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    Verdict::new(Outcome::fail_observed(
        "a key set with no symmetric key, no weak or ROCA RSA key, and exactly one signing key for the token's kid",
        observed,
    ))
    .evidence(rc.evidence(&transcript))
}
