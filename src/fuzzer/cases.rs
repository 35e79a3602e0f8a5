//! The fuzz cases: seeded generators taken in turn (malformed tokens, mutated live tokens,
//! type-confused and duplicated claims under the original signature, mutated and malformed
//! session ids, duplicated cookies, odd `Authorization` headers) and the request each case
//! becomes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::engine::{Baseline, Browser, Ctx, Jar};
use crate::http::ProbeRequest;
use crate::strategy::{self as generate, MutationKind};

/// Where a case goes.
#[derive(Debug, Clone)]
pub(super) enum Slot {
    /// Replaces the access token.
    Token(String),
    /// Replaces the session cookie's value.
    Session(String),
    /// Extra raw header on the token request (with the token removed).
    AuthHeader(String),
    /// Two session cookies with different values.
    DuplicateCookie(String),
}

pub(super) struct Case {
    pub(super) generator: &'static str,
    pub(super) slot: Slot,
    /// Must the target refuse it?
    pub(super) must_deny: bool,
    /// Derived from a live credential (so never shown unredacted).
    pub(super) secret: bool,
    pub(super) describe: String,
}

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s.as_bytes())
}

/// Type-confused and duplicated claims under the original header and signature.
fn confused_claims(token: &str, n: u64) -> String {
    let mut parts = token.splitn(3, '.');
    let header = parts.next().unwrap_or("");
    let _payload = parts.next();
    let sig = parts.next().unwrap_or("");
    let bodies = [
        r#"{"sub":["alice","admin"],"exp":"9999999999"}"#,
        r#"{"sub":{"$ne":null},"exp":1e308}"#,
        r#"{"sub":"alice","sub":"admin","exp":4102444800}"#,
        r#"{"sub":null,"exp":-1,"nbf":"now"}"#,
        r#"{"sub":"alice","aud":[[[[[[[["x"]]]]]]]],"exp":4102444800}"#,
        r#"{"sub":"\u0000admin","exp":4102444800,"role":"admin"}"#,
        r#"{"exp":true,"iat":{},"iss":12}"#,
        r#"[{"sub":"alice"}]"#,
    ];
    let body = bodies[(n as usize) % bodies.len()];
    format!("{header}.{}.{sig}", b64(body))
}

fn odd_auth_header(token: &str, n: u64) -> String {
    let big = "A".repeat(8192);
    let options = [
        "Bearer".to_string(),
        "Bearer ".to_string(),
        format!("bearer {token}"),
        format!("Bearer  {token}"),
        format!("Bearer {token} {token}"),
        format!("Basic {}", b64("alice:alice")),
        format!("Bearer {big}"),
        "Bearer null".to_string(),
        "Bearer undefined".to_string(),
        format!("Token {token}"),
    ];
    options[(n as usize) % options.len()].clone()
}

pub(super) struct Generators {
    runner: TestRunner,
    token: Option<String>,
    session: Option<String>,
    token_mut: Option<proptest::strategy::BoxedStrategy<generate::MutatedId>>,
    session_mut: Option<proptest::strategy::BoxedStrategy<generate::MutatedId>>,
    malformed: proptest::strategy::BoxedStrategy<String>,
    n: u64,
}

impl Generators {
    pub(super) fn new(seed: u64, baseline: &Baseline, has_session: bool) -> Generators {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_le_bytes());
        s[8..16].copy_from_slice(&seed.rotate_left(29).to_le_bytes());
        let config = Config {
            failure_persistence: None,
            ..Config::default()
        };
        let kinds = &MutationKind::ALL;
        let token = baseline.token.as_ref().map(|t| t.token.clone());
        let session = has_session
            .then(|| baseline.session.as_ref().map(|s| s.session_id.clone()))
            .flatten()
            .filter(|s| !s.is_empty());
        Generators {
            runner: TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &s)),
            token_mut: token
                .as_ref()
                .map(|t| generate::session_id_mutations(t, kinds, 3)),
            session_mut: session
                .as_ref()
                .map(|t| generate::session_id_mutations(t, kinds, 3)),
            malformed: generate::malformed_tokens(16 * 1024),
            token,
            session,
            n: 0,
        }
    }

    pub(super) fn next(&mut self) -> Option<Case> {
        for _ in 0..8 {
            self.n += 1;
            let n = self.n;
            let pick = n % 7;
            let case = match pick {
                0 | 1 if self.token.is_some() => {
                    let v = self.malformed.new_tree(&mut self.runner).ok()?.current();
                    Some(Case {
                        generator: "malformed_token",
                        describe: format!("malformed token of {} bytes", v.len()),
                        slot: Slot::Token(v),
                        must_deny: true,
                        secret: false,
                    })
                }
                2 if self.token_mut.is_some() => {
                    let m = self
                        .token_mut
                        .as_ref()?
                        .new_tree(&mut self.runner)
                        .ok()?
                        .current();
                    let token = self.token.clone().unwrap_or_default();
                    Some(Case {
                        generator: "mutated_token",
                        describe: m.describe(&token),
                        slot: Slot::Token(m.value),
                        must_deny: true,
                        secret: true,
                    })
                }
                3 if self.token.is_some() => {
                    let t = confused_claims(self.token.as_deref().unwrap_or(""), n / 7);
                    Some(Case {
                        generator: "type_confused_claims",
                        describe: "type-confused or duplicated claims under the original signature"
                            .into(),
                        slot: Slot::Token(t),
                        must_deny: true,
                        secret: true,
                    })
                }
                4 if self.token.is_some() => {
                    let h = odd_auth_header(self.token.as_deref().unwrap_or(""), n / 7);
                    let accepted_ok = h.starts_with("bearer ") || h.starts_with("Bearer  ");
                    Some(Case {
                        generator: "odd_authorization_header",
                        describe: format!(
                            "Authorization header variant {} ({} bytes)",
                            (n / 7) % 10,
                            h.len()
                        ),
                        slot: Slot::AuthHeader(h),
                        // A case-insensitive scheme or extra space with the real token may be
                        // accepted (RFC 6750 allows it); the others must not be.
                        must_deny: !accepted_ok,
                        secret: true,
                    })
                }
                5 if self.session_mut.is_some() => {
                    let m = self
                        .session_mut
                        .as_ref()?
                        .new_tree(&mut self.runner)
                        .ok()?
                        .current();
                    let s = self.session.clone().unwrap_or_default();
                    Some(Case {
                        generator: "mutated_session_id",
                        describe: m.describe(&s),
                        slot: Slot::Session(m.value),
                        must_deny: true,
                        secret: true,
                    })
                }
                6 if self.session.is_some() => {
                    let v = self.malformed.new_tree(&mut self.runner).ok()?.current();
                    if n.is_multiple_of(3) {
                        Some(Case {
                            generator: "duplicate_session_cookie",
                            describe:
                                "the session cookie twice: a garbage value first, then the real one"
                                    .into(),
                            slot: Slot::DuplicateCookie(v),
                            must_deny: false,
                            secret: true,
                        })
                    } else {
                        Some(Case {
                            generator: "malformed_session_id",
                            describe: format!("malformed session id of {} bytes", v.len()),
                            slot: Slot::Session(v),
                            must_deny: true,
                            secret: false,
                        })
                    }
                }
                _ => None,
            };
            if case.is_some() {
                return case;
            }
        }
        None
    }
}

/// Builds the request for a case.
pub(super) fn request_for(
    ctx: &Ctx,
    baseline_vars: &crate::profile::Vars,
    jar: &Jar,
    case: &Case,
) -> Option<(ProbeRequest, bool)> {
    let token_spec = ctx.target.token.as_ref();
    match &case.slot {
        Slot::Token(v) => {
            let t = token_spec?;
            let mut vars = baseline_vars.clone();
            vars.insert(t.from.clone(), v.clone());
            Some((Browser::build(ctx, &t.access.request, &vars).ok()?, true))
        }
        Slot::AuthHeader(h) => {
            let t = token_spec?;
            let mut r = t.access.request.clone();
            r.headers
                .retain(|k, _| !k.eq_ignore_ascii_case("authorization"));
            let mut req = Browser::build(ctx, &r, baseline_vars).ok()?;
            req = req.header("Authorization", h.clone());
            Some((req, true))
        }
        Slot::Session(v) => {
            let mut j = jar.clone();
            j.insert(ctx.session_cookie.clone(), v.clone());
            let req = Browser::build(
                ctx,
                &ctx.target.session_access()?.request,
                &crate::profile::Vars::new(),
            )
            .ok()?;
            let cookie = j
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            Some((req.header("Cookie", cookie), false))
        }
        Slot::DuplicateCookie(v) => {
            let real = jar.get(&ctx.session_cookie)?.clone();
            let req = Browser::build(
                ctx,
                &ctx.target.session_access()?.request,
                &crate::profile::Vars::new(),
            )
            .ok()?;
            let cookie = format!("{0}={v}; {0}={real}", ctx.session_cookie);
            Some((req.header("Cookie", cookie), false))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confused_claims_keep_header_and_signature() {
        let t = "aGVhZA.cGF5bG9hZA.c2ln";
        for n in 0..8 {
            let c = confused_claims(t, n);
            assert!(c.starts_with("aGVhZA.") && c.ends_with(".c2ln"), "{c}");
            assert_ne!(c, t);
        }
    }
}
