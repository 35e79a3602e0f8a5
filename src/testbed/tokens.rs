//! The testbed's token core: the demo keys, the signer and verifier state every token route
//! shares, how access tokens are issued, and how a refresh-token family starts.
//!
//! This file owns what an access token is (claims, lifetime, algorithm, key) and where the
//! issuing `jwt-*` flaws (secrets or personal data in the payload, long or missing lifetimes,
//! weak or confusable keys) and the `rs256-tokens` and `opaque-access-tokens` quirks change
//! that. Clean, tokens are short-lived ES256 JWTs (`typ: at+jwt`). It must sign with the
//! third-party `jsonwebtoken` crate, never with authprobe's own JWT code; it must not know
//! routes (`jwt` and `oauth` serve them) and must never hold the family or opaque-token lock
//! across an `.await`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::header::{self, HeaderValue};
use axum::response::Response;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};

use super::accounts::PasswordCheck;
use super::config::TestbedConfig;
use super::families::{AccessRecord, Families, FamilyId};
use super::flaw::Flaw;
use super::http::CACHEABLE;
use super::opaque::{OpaqueRecord, OpaqueTokens};
use super::quirk::Quirk;
use super::replica::Local;
use super::store::random_token;

/// The EC P-256 private key (PKCS#8 PEM) that signs the clean testbed's ES256 access tokens.
///
/// Public demo material, committed on purpose: it protects nothing.
pub const DEMO_ES256_PRIVATE_KEY_PEM: &str = include_str!("keys/es256-demo.pem");
/// The RSA-2048 private key (PKCS#8 PEM) that signs RS256 access tokens under the
/// `jwt-key-confusion` flaw and the `rs256-tokens` quirk.
///
/// Public demo material, committed on purpose: it protects nothing.
pub const DEMO_RS256_PRIVATE_KEY_PEM: &str = include_str!("keys/rs256-demo.pem");
/// The guessable HS256 secret of the `jwt-weak-secret` flaw.
///
/// Public demo material: the point of the flaw is that it is guessable.
pub const DEMO_HS256_WEAK_SECRET: &str = "secret";
/// The public half of [`DEMO_ES256_PRIVATE_KEY_PEM`] (SPKI PEM).
pub const DEMO_ES256_PUBLIC_KEY_PEM: &str = include_str!("keys/es256-demo.pub.pem");
/// The public half of [`DEMO_RS256_PRIVATE_KEY_PEM`] (SPKI PEM as `openssl pkey -pubout`
/// writes it, with its trailing newline): the HMAC secret `jwt-key-confusion` accepts.
pub const DEMO_RS256_PUBLIC_KEY_PEM: &str = include_str!("keys/rs256-demo.pub.pem");

/// `kid` of the ES256 demo key.
pub const ES256_KID: &str = "testbed-es256-1";
/// `kid` of the RS256 demo key.
pub const RS256_KID: &str = "testbed-rs256-1";
/// The `iss` of every access token.
pub const TOKEN_ISSUER: &str = "authprobe-testbed";
/// The `aud` of every access token, which the verifier requires.
pub const TOKEN_AUDIENCE: &str = "authprobe-testbed-api";
/// Lifetime of a clean access token, in seconds.
pub const ACCESS_TOKEN_TTL: u64 = 300;
/// Lifetime of an access token under `jwt-long-lived`, in seconds (24 h).
pub const LONG_LIVED_TOKEN_TTL: u64 = 86_400;

/// How long `jwt-jku-followed` waits for a JWKS.
const JKU_TIMEOUT: Duration = Duration::from_secs(2);

const BCRYPT_ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Shared state of the token routes (`jwt`'s and `oauth`'s).
#[derive(Clone)]
pub(super) struct TokenState(pub(super) Arc<Tokens>);

/// The signer, the verifier and the family store of the token routes.
pub(super) struct Tokens {
    config: TestbedConfig,
    /// The algorithm tokens are signed with and the verifier pins.
    pub(super) alg: Algorithm,
    /// The `kid` of the signing key, when it has one.
    pub(super) kid: Option<&'static str>,
    /// The key access tokens (and ID tokens) are signed with.
    pub(super) signing_key: EncodingKey,
    /// The key the clean verifier checks signatures with.
    pub(super) verifying_key: DecodingKey,
    /// The clean verifier's claim checks, as the flaws bend them.
    pub(super) validation: Validation,
    /// The published JWK Set.
    pub(super) jwks: Value,
    /// Per-process random key for the claim-only check of the flawed paths.
    pub(super) claims_key: [u8; 32],
    /// Only under `jwt-jku-followed`.
    pub(super) jku_client: Option<reqwest::Client>,
    /// Refresh-token families and revoked access tokens, shared by every token route (of
    /// every instance).
    families: Arc<Mutex<Families>>,
    /// Under `opaque-access-tokens`: what each issued access token stands for.
    opaque: Arc<Mutex<OpaqueTokens>>,
    /// Where this instance's revocations go.
    local: Local,
    /// The password check of the password grants (shared with the session login).
    pub(super) passwords: Arc<PasswordCheck>,
}

impl TokenState {
    /// Fresh token state for `config`: its keys, verifier and an empty family store, with
    /// `passwords` checking the password grants.
    ///
    /// # Panics
    /// Only if the committed demo keys are unusable, which this file's tests rule out.
    pub(super) fn new(config: TestbedConfig, passwords: Arc<PasswordCheck>) -> Self {
        // A cheap guard against a second backend being enabled by accident (it would compile
        // and then panic at first use); an already installed provider is kept.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        TokenState(Arc::new(Tokens::new(config, passwords)))
    }
}

impl Tokens {
    fn new(config: TestbedConfig, passwords: Arc<PasswordCheck>) -> Self {
        const BAD_KEY: &str = "committed demo key is valid";
        let es256 = EncodingKey::from_ec_pem(DEMO_ES256_PRIVATE_KEY_PEM.as_bytes()).expect(BAD_KEY);
        let rs256 =
            EncodingKey::from_rsa_pem(DEMO_RS256_PRIVATE_KEY_PEM.as_bytes()).expect(BAD_KEY);
        let (alg, kid, signing_key, verifying_key) = if config.has(Flaw::JwtWeakSecret) {
            let secret = DEMO_HS256_WEAK_SECRET.as_bytes();
            (
                Algorithm::HS256,
                None,
                EncodingKey::from_secret(secret),
                DecodingKey::from_secret(secret),
            )
        } else if config.has(Flaw::JwtKeyConfusion) || config.has_quirk(Quirk::Rs256Tokens) {
            let public = DecodingKey::from_rsa_pem(DEMO_RS256_PUBLIC_KEY_PEM.as_bytes());
            (
                Algorithm::RS256,
                Some(RS256_KID),
                rs256.clone(),
                public.expect(BAD_KEY),
            )
        } else {
            let public = DecodingKey::from_ec_pem(DEMO_ES256_PUBLIC_KEY_PEM.as_bytes());
            (
                Algorithm::ES256,
                Some(ES256_KID),
                es256.clone(),
                public.expect(BAD_KEY),
            )
        };
        let published = if config.has(Flaw::JwtKeyConfusion) {
            vec![public_jwk(&rs256, Algorithm::RS256, RS256_KID)]
        } else if config.has(Flaw::JwtWeakSecret) {
            // Never publish a symmetric key.
            Vec::new()
        } else if alg == Algorithm::RS256 {
            // The `rs256-tokens` quirk.
            vec![public_jwk(&rs256, Algorithm::RS256, RS256_KID)]
        } else {
            vec![public_jwk(&es256, Algorithm::ES256, ES256_KID)]
        };
        let mut jwks = serde_json::to_value(JwkSet { keys: published }).expect(BAD_KEY);
        bend_jwks(&config, &mut jwks);
        let jku_client = config.has(Flaw::JwtJkuFollowed).then(|| {
            reqwest::Client::builder()
                .timeout(JKU_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap_or_default()
        });
        Tokens {
            validation: validation(&config, alg),
            config,
            alg,
            kid,
            signing_key,
            verifying_key,
            jwks,
            claims_key: rand::random(),
            jku_client,
            families: Arc::new(Mutex::new(Families::default())),
            opaque: Arc::new(Mutex::new(OpaqueTokens::default())),
            local: Local::shared(),
            passwords,
        }
    }

    pub(super) fn has(&self, flaw: Flaw) -> bool {
        self.config.has(flaw)
    }

    /// Another instance over the same keys and stores, its revocations going to `local`.
    pub(super) fn instance(&self, local: Local) -> TokenState {
        TokenState(Arc::new(Tokens {
            config: self.config.clone(),
            alg: self.alg,
            kid: self.kid,
            signing_key: self.signing_key.clone(),
            verifying_key: self.verifying_key.clone(),
            validation: self.validation.clone(),
            jwks: self.jwks.clone(),
            claims_key: self.claims_key,
            jku_client: self.jku_client.clone(),
            families: self.families.clone(),
            opaque: self.opaque.clone(),
            local,
            passwords: self.passwords.clone(),
        }))
    }

    pub(super) fn has_quirk(&self, quirk: Quirk) -> bool {
        self.config.has_quirk(quirk)
    }

    /// The front-end the testbed was started with.
    pub(super) fn front_end(&self) -> Option<super::front_end::FrontEnd> {
        self.config.front_end
    }

    /// The family store. Every mutation leaves it consistent before any call that could
    /// panic, so a poisoned lock is safe to keep using. Never hold it across an `.await`.
    pub(super) fn families(&self) -> FamiliesView<'_> {
        FamiliesView {
            families: self.families.lock().unwrap_or_else(PoisonError::into_inner),
            local: &self.local,
        }
    }

    /// The opaque-token table. Every mutation is a single insert, so a poisoned lock is safe to
    /// keep using. Never hold it across an `.await`.
    fn opaque(&self) -> MutexGuard<'_, OpaqueTokens> {
        self.opaque.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Under `opaque-access-tokens`: the claims an opaque access token stands for (`sub`,
    /// `role`, `scope`, `jti` and, when it has one, `exp`) while it has not expired (expired
    /// ones too under `jwt-expired-accepted`). `None` for an unknown or expired token.
    pub(super) fn opaque_claims(&self, token: &str) -> Option<Value> {
        let record = self.opaque().get(token)?.clone();
        let now = jsonwebtoken::get_current_timestamp();
        let expired = record.exp.is_some_and(|exp| exp <= now);
        if expired && !self.has(Flaw::JwtExpiredAccepted) {
            return None;
        }
        let mut claims = json!({
            "sub": record.user, "role": "user", "scope": "profile", "jti": record.jti,
        });
        if let Some(exp) = record.exp {
            claims["exp"] = json!(exp);
        }
        Some(claims)
    }

    /// The `jti` of `token` if this testbed issued it, whether or not it has expired: a JWT
    /// signed with its own key and algorithm, `iss` and `aud` (or, under
    /// `opaque-access-tokens`, an opaque token it remembers). The verifier's flaws do not
    /// apply: this is how the revocation endpoint recognises its own access tokens.
    pub(super) fn own_jti(&self, token: &str) -> Option<String> {
        if self.has_quirk(Quirk::OpaqueAccessTokens) {
            return self.opaque().get(token).map(|record| record.jti.clone());
        }
        let mut validation = Validation::new(self.alg);
        validation.leeway = 0;
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_audience(&[TOKEN_AUDIENCE]);
        validation.set_issuer(&[TOKEN_ISSUER]);
        validation.set_required_spec_claims(&["iss", "aud"]);
        let data = jsonwebtoken::decode::<Value>(token, &self.verifying_key, &validation).ok()?;
        data.claims.get("jti")?.as_str().map(str::to_owned)
    }
}

/// The family store as one instance sees it: revocations go where the instance keeps them
/// ([`Local`]), and what it revoked counts as revoked.
pub(super) struct FamiliesView<'a> {
    families: MutexGuard<'a, Families>,
    local: &'a Local,
}

impl std::ops::Deref for FamiliesView<'_> {
    type Target = Families;
    fn deref(&self) -> &Families {
        &self.families
    }
}

impl std::ops::DerefMut for FamiliesView<'_> {
    fn deref_mut(&mut self) -> &mut Families {
        &mut self.families
    }
}

impl FamiliesView<'_> {
    /// Revokes family `id` (here only, under `replica-local-revocation`); whether it
    /// exists.
    pub(super) fn revoke(&mut self, id: FamilyId) -> bool {
        if self.local.revoke_family(id) {
            return self.families.get(id).is_some();
        }
        self.families.revoke(id)
    }

    /// Whether family `id` is revoked, in the shared store or here.
    pub(super) fn is_revoked(&self, id: FamilyId) -> bool {
        self.families.get(id).is_some_and(|f| f.revoked) || self.local.family_revoked(id)
    }

    /// Deny-lists the access token with this `jti` (here only, under
    /// `replica-local-revocation`).
    pub(super) fn revoke_jti(&mut self, jti: &str) {
        if !self.local.revoke_jti(jti) {
            self.families.revoke_jti(jti);
        }
    }

    /// Whether the access token with this `jti` was revoked, in the shared store or here.
    pub(super) fn is_jti_revoked(&self, jti: &str) -> bool {
        self.families.is_jti_revoked(jti) || self.local.jti_revoked(jti)
    }
}

/// The public JWK of a private demo key, with its kid, alg and `use: sig`.
fn public_jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).expect("committed demo key is valid");
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk
}

/// The published key set as the `jwks-*` flaws bend it. None of these keys verifies
/// anything: the flaws only publish what a sound key set must not.
fn bend_jwks(config: &TestbedConfig, jwks: &mut Value) {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let Some(keys) = jwks.get_mut("keys").and_then(Value::as_array_mut) else {
        return;
    };
    if config.has(Flaw::JwksEncKeySigns) {
        for key in keys.iter_mut() {
            key["use"] = json!("enc");
        }
    }
    if config.has(Flaw::JwksPublishesSecret) {
        let secret: [u8; 32] = rand::random();
        keys.push(
            json!({"kty": "oct", "kid": "testbed-hs256-legacy", "alg": "HS256",
            "use": "sig", "k": b64(&secret)}),
        );
    }
    if config.has(Flaw::JwksRocaKey) {
        keys.push(
            json!({"kty": "RSA", "kid": "testbed-rs256-2017", "alg": "RS256",
            "use": "sig", "n": b64(&roca_demo_modulus()), "e": "AQAB"}),
        );
    }
}

/// The modulus of the ROCA-shaped demo key (`keys/roca-demo.txt`, see `keys/README.md`).
pub(super) fn roca_demo_modulus() -> Vec<u8> {
    let text = include_str!("keys/roca-demo.txt");
    let hex = text
        .lines()
        .find_map(|l| l.strip_prefix("n="))
        .unwrap_or_default();
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// The claim checks of the verifier, pinned to `alg`, as the active flaws bend them.
fn validation(config: &TestbedConfig, alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = 0;
    v.validate_exp = !config.has(Flaw::JwtExpiredAccepted);
    v.validate_nbf = !config.has(Flaw::JwtNbfIgnored);
    let mut required = vec!["sub"];
    if !config.has(Flaw::JwtNoExp) {
        required.push("exp");
    }
    if config.has(Flaw::JwtAudienceIgnored) {
        v.validate_aud = false;
    } else {
        v.set_audience(&[TOKEN_AUDIENCE]);
        required.push("aud");
    }
    if !config.has(Flaw::JwtIssuerIgnored) {
        v.set_issuer(&[TOKEN_ISSUER]);
        required.push("iss");
    }
    v.set_required_spec_claims(&required);
    v
}

/// The caching headers of a successful token response: `no-store` and `Pragma: no-cache`, or
/// under `token-cacheable` a cacheable `Cache-Control`.
pub(super) fn token_cache_headers(tokens: &Tokens, mut response: Response) -> Response {
    let headers = response.headers_mut();
    if tokens.has(Flaw::TokenCacheable) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHEABLE));
    } else {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    response
}

/// A freshly signed access token.
#[derive(Debug, Clone)]
pub(super) struct Issued {
    /// The compact JWT.
    pub(super) token: String,
    /// Its `jti`.
    pub(super) jti: String,
    /// Its lifetime in seconds (`None` when it has no `exp`).
    pub(super) expires_in: Option<u64>,
    /// Its `exp` (`None` when it has none).
    pub(super) exp: Option<u64>,
}

impl Issued {
    /// What a refresh-token family remembers of it.
    pub(super) fn record(&self) -> AccessRecord {
        AccessRecord {
            token: self.token.clone(),
            jti: self.jti.clone(),
            exp: self.exp,
        }
    }
}

/// A new access token for `user` (its `sub`): a signed JWT, or under `opaque-access-tokens`
/// an opaque random string remembered with the same `jti` and lifetime.
pub(super) fn issue(tokens: &Tokens, user: &str) -> jsonwebtoken::errors::Result<Issued> {
    let now = jsonwebtoken::get_current_timestamp();
    let ttl = if tokens.has(Flaw::JwtLongLived) {
        LONG_LIVED_TOKEN_TTL
    } else {
        tokens.config.access_token_ttl.unwrap_or(ACCESS_TOKEN_TTL)
    };
    // Flaw: no expiry at all.
    let expires_in = (!tokens.has(Flaw::JwtNoExp)).then_some(ttl);
    let exp = expires_in.map(|ttl| now + ttl);
    let jti: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let token = if tokens.has_quirk(Quirk::OpaqueAccessTokens) {
        let token = random_token();
        let record = OpaqueRecord {
            user: user.to_owned(),
            jti: jti.clone(),
            exp,
        };
        tokens.opaque().insert(token.clone(), record);
        token
    } else {
        sign(tokens, user, now, exp, &jti)?
    };
    Ok(Issued {
        token,
        jti,
        expires_in,
        exp,
    })
}

/// The signed JWT of an access token for `user` issued at `now`, with the payload flaws.
fn sign(
    tokens: &Tokens,
    user: &str,
    now: u64,
    exp: Option<u64>,
    jti: &str,
) -> jsonwebtoken::errors::Result<String> {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(TOKEN_ISSUER));
    claims.insert("aud".into(), json!(TOKEN_AUDIENCE));
    claims.insert("sub".into(), json!(user));
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    if let Some(exp) = exp {
        claims.insert("exp".into(), json!(exp));
    }
    claims.insert("jti".into(), json!(jti));
    claims.insert("scope".into(), json!("profile"));
    claims.insert("role".into(), json!("user"));
    if tokens.has(Flaw::JwtSecretInPayload) {
        let hash = format!("$2b$12${}", random_string(BCRYPT_ALPHABET, 53));
        claims.insert("password_hash".into(), json!(hash));
        let key = format!("sk_live_{}", random_string(ALNUM, 24));
        claims.insert("api_key".into(), json!(key));
    }
    if tokens.has(Flaw::JwtPiiInPayload) {
        claims.insert("email".into(), json!(format!("{user}@example.com")));
        claims.insert("phone".into(), json!("+14155550123"));
        claims.insert("address".into(), json!("1 Demo Street, Springfield"));
    }
    let mut header = Header::new(tokens.alg);
    header.typ = Some("at+jwt".to_owned());
    header.kid = tokens.kid.map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, &tokens.signing_key)
}

/// `len` characters drawn uniformly from `alphabet` (at most 256 symbols).
fn random_string(alphabet: &[u8], len: usize) -> String {
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let b = usize::from(rand::random::<u8>());
        if b < limit {
            out.push(char::from(alphabet[b % alphabet.len()]));
        }
    }
    out
}

/// Signs an access token for `user` and starts a refresh-token family for it, issued to
/// `client_id`: the access token and the family's first refresh token.
pub(super) fn start_family(
    tokens: &Tokens,
    user: &str,
    client_id: &str,
) -> jsonwebtoken::errors::Result<(Issued, String)> {
    let access = issue(tokens, user)?;
    let refresh = random_token();
    tokens.families().start(
        user.to_owned(),
        client_id.to_owned(),
        refresh.clone(),
        access.record(),
    );
    Ok((access, refresh))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ROCA demo modulus is the product of its two 1024-bit primes as committed.
    #[test]
    fn the_roca_demo_key_is_the_product_of_its_primes() {
        use num_bigint::BigUint;
        let text = include_str!("keys/roca-demo.txt");
        let hex = |name: &str| {
            let line = text.lines().find_map(|l| l.strip_prefix(name)).unwrap();
            BigUint::parse_bytes(line.as_bytes(), 16).unwrap()
        };
        let (p, q, n) = (hex("p="), hex("q="), hex("n="));
        assert_eq!((p.bits(), q.bits(), n.bits()), (1024, 1024, 2048));
        assert_eq!(&p * &q, n);
        assert_eq!(BigUint::from_bytes_be(&roca_demo_modulus()), n);
    }

    #[test]
    fn committed_public_keys_match_the_private_keys() {
        let config = TestbedConfig::default();
        for (private, public, alg) in [
            (
                DEMO_ES256_PRIVATE_KEY_PEM,
                DEMO_ES256_PUBLIC_KEY_PEM,
                Algorithm::ES256,
            ),
            (
                DEMO_RS256_PRIVATE_KEY_PEM,
                DEMO_RS256_PUBLIC_KEY_PEM,
                Algorithm::RS256,
            ),
        ] {
            let signing = match alg {
                Algorithm::ES256 => EncodingKey::from_ec_pem(private.as_bytes()).unwrap(),
                _ => EncodingKey::from_rsa_pem(private.as_bytes()).unwrap(),
            };
            let verifying = match alg {
                Algorithm::ES256 => DecodingKey::from_ec_pem(public.as_bytes()).unwrap(),
                _ => DecodingKey::from_rsa_pem(public.as_bytes()).unwrap(),
            };
            let claims = json!({
                "sub": "alice", "iss": TOKEN_ISSUER, "aud": TOKEN_AUDIENCE,
                "exp": jsonwebtoken::get_current_timestamp() + 60,
            });
            let token = jsonwebtoken::encode(&Header::new(alg), &claims, &signing).unwrap();
            let validation = validation(&config, alg);
            jsonwebtoken::decode::<Value>(&token, &verifying, &validation).unwrap();
            assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
            assert!(public.ends_with("-----END PUBLIC KEY-----\n"));
        }
    }

    #[test]
    fn random_strings_use_their_alphabet() {
        let s = random_string(BCRYPT_ALPHABET, 53);
        assert_eq!(s.len(), 53);
        assert!(s.bytes().all(|b| BCRYPT_ALPHABET.contains(&b)));
    }
}
