//! The testbed's bearer-token mode: the JSON token grant, the JWKS and the bearer-protected
//! endpoint, and the state every token route shares (see `oauth` for the OAuth 2.0 routes).
//!
//! This file owns how access tokens are issued and verified, and where each `jwt-*` flaw bends
//! that. Clean, tokens are short-lived ES256 JWTs (`typ: at+jwt`) verified with the algorithm
//! pinned, `iss`/`aud`/`sub`/`exp` required, `exp`/`nbf` checked with no leeway.
//!
//! It must sign and verify with the third-party `jsonwebtoken` crate (plus `aws-lc-rs` HMAC
//! where a flaw needs an empty key), never with authprobe's own JWT code; it must not panic or
//! answer 500 on anything a client sends (except under `jwt-malformed-500`); and the flawed
//! acceptance paths must still apply the same claim checks as the clean path, so each flaw
//! breaks one promise only.

use std::io::Read as _;
use std::str::FromStr as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};

use super::families::{AccessRecord, Families};
use super::handlers::{MAX_BODY, check_credentials, error, header_str, json_response, query_param};
use super::oauth::{self, DEMO_CLIENT_ID};
use super::{Flaw, TestbedConfig};

/// The EC P-256 private key (PKCS#8 PEM) that signs the clean testbed's ES256 access tokens.
///
/// Public demo material, committed on purpose: it protects nothing.
pub const DEMO_ES256_PRIVATE_KEY_PEM: &str = include_str!("keys/es256-demo.pem");
/// The RSA-2048 private key (PKCS#8 PEM) that signs RS256 access tokens under the
/// `jwt-key-confusion` flaw.
///
/// Public demo material, committed on purpose: it protects nothing.
pub const DEMO_RS256_PRIVATE_KEY_PEM: &str = include_str!("keys/rs256-demo.pem");
/// The guessable HS256 secret of the `jwt-weak-secret` flaw.
///
/// Public demo material: the point of the flaw is that it is guessable.
pub const DEMO_HS256_WEAK_SECRET: &str = "secret";
/// The public half of [`DEMO_ES256_PRIVATE_KEY_PEM`] (SPKI PEM).
pub(crate) const DEMO_ES256_PUBLIC_KEY_PEM: &str = include_str!("keys/es256-demo.pub.pem");
/// The public half of [`DEMO_RS256_PRIVATE_KEY_PEM`] (SPKI PEM as `openssl pkey -pubout`
/// writes it, with its trailing newline): the HMAC secret `jwt-key-confusion` accepts.
pub(crate) const DEMO_RS256_PUBLIC_KEY_PEM: &str = include_str!("keys/rs256-demo.pub.pem");

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

/// Largest JWKS body `jwt-jku-followed` reads.
const MAX_JWKS_BODY: usize = 64 * 1024;
/// Largest key file `jwt-kid-traversal` reads.
const MAX_KID_FILE: u64 = 64 * 1024;
/// How long `jwt-jku-followed` waits for a JWKS.
const JKU_TIMEOUT: Duration = Duration::from_secs(2);
/// How long `jwt-kid-traversal` waits for a key file.
const KID_FILE_TIMEOUT: Duration = Duration::from_secs(1);

const BCRYPT_ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Shared state of the token routes (these and `oauth`'s).
#[derive(Clone)]
pub(super) struct JwtState(pub(super) Arc<Inner>);

pub(super) struct Inner {
    config: TestbedConfig,
    /// The algorithm tokens are signed with and the verifier pins.
    alg: Algorithm,
    kid: Option<&'static str>,
    signing_key: EncodingKey,
    verifying_key: DecodingKey,
    validation: Validation,
    jwks: Value,
    /// Per-process random key for [`Inner::check_claims`].
    claims_key: [u8; 32],
    /// Only under `jwt-jku-followed`.
    jku_client: Option<reqwest::Client>,
    /// Refresh-token families and revoked access tokens, shared by every token route.
    families: Mutex<Families>,
}

/// The token routes with their own state, for merging into the testbed's router.
///
/// # Panics
/// Only if the committed demo keys are unusable, which the module's tests rule out.
pub(crate) fn routes(config: &TestbedConfig) -> Router {
    // A cheap guard against a second backend being enabled by accident (it would compile and
    // then panic at first use); an already installed provider is kept.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let state = JwtState(Arc::new(Inner::new(config.clone())));
    Router::new()
        .route("/api/token", post(token))
        .route("/api/token/me", get(token_me))
        .route("/.well-known/jwks.json", get(jwks))
        .merge(oauth::routes())
        .with_state(state)
}

impl Inner {
    fn new(config: TestbedConfig) -> Self {
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
        } else if config.has(Flaw::JwtKeyConfusion) {
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
        } else {
            vec![public_jwk(&es256, Algorithm::ES256, ES256_KID)]
        };
        let jwks = serde_json::to_value(JwkSet { keys: published }).expect(BAD_KEY);
        let jku_client = config.has(Flaw::JwtJkuFollowed).then(|| {
            reqwest::Client::builder()
                .timeout(JKU_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap_or_default()
        });
        Inner {
            validation: validation(&config, alg),
            config,
            alg,
            kid,
            signing_key,
            verifying_key,
            jwks,
            claims_key: rand::random(),
            jku_client,
            families: Mutex::new(Families::default()),
        }
    }

    pub(super) fn has(&self, flaw: Flaw) -> bool {
        self.config.has(flaw)
    }

    /// The family store. Every mutation leaves it consistent before any call that could
    /// panic, so a poisoned lock is safe to keep using. Never hold it across an `.await`.
    pub(super) fn families(&self) -> MutexGuard<'_, Families> {
        self.families.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `jti` of `token` if this testbed signed it (its own key and algorithm, `iss` and
    /// `aud`), whether or not it has expired. The verifier's flaws do not apply: this is how
    /// the revocation endpoint recognises its own access tokens.
    pub(super) fn own_jti(&self, token: &str) -> Option<String> {
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

/// The public JWK of a private demo key, with its kid, alg and `use: sig`.
fn public_jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).expect("committed demo key is valid");
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk
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

// ---------------------------------------------------------------------------------------------
// Handlers

#[derive(serde::Deserialize)]
struct TokenRequest {
    username: String,
    password: String,
}

/// `POST /api/token`: the password grant of an API client (JSON, no CSRF).
async fn token(State(state): State<JwtState>, headers: HeaderMap, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    };
    // A missing Content-Type is read as JSON (API clients often omit it); others are refused.
    if let Some(content_type) = header_str(&headers, &header::CONTENT_TYPE) {
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        }
    } else if headers.contains_key(header::CONTENT_TYPE) {
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    let Ok(request) = serde_json::from_slice::<TokenRequest>(&bytes) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let Some(user) = check_credentials(&request.username, &request.password) else {
        return error(StatusCode::UNAUTHORIZED, "invalid_grant");
    };
    let inner = &state.0;
    // The family's client is the demo client, so `/oauth/token` can redeem its refresh token.
    let Ok((access, refresh_token)) = oauth::start_family(inner, user, DEMO_CLIENT_ID) else {
        // Unreachable in practice: the demo keys sign anything.
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    };
    let mut body = json!({
        "access_token": access.token,
        "token_type": "Bearer",
        "refresh_token": refresh_token,
    });
    if let Some(expires_in) = access.expires_in {
        body["expires_in"] = json!(expires_in);
    }
    token_cache_headers(inner, json_response(StatusCode::OK, body))
}

/// The caching headers of a successful token response: `no-store` and `Pragma: no-cache`, or
/// under `token-cacheable` a cacheable `Cache-Control`.
pub(super) fn token_cache_headers(inner: &Inner, mut response: Response) -> Response {
    let headers = response.headers_mut();
    if inner.has(Flaw::TokenCacheable) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(super::handlers::CACHEABLE),
        );
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

/// A signed access token for `user` (its `sub`).
pub(super) fn issue(inner: &Inner, user: &str) -> jsonwebtoken::errors::Result<Issued> {
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(TOKEN_ISSUER));
    claims.insert("aud".into(), json!(TOKEN_AUDIENCE));
    claims.insert("sub".into(), json!(user));
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    let ttl = if inner.has(Flaw::JwtLongLived) {
        LONG_LIVED_TOKEN_TTL
    } else {
        inner.config.access_token_ttl.unwrap_or(ACCESS_TOKEN_TTL)
    };
    // Flaw: no expiry at all.
    let expires_in = (!inner.has(Flaw::JwtNoExp)).then_some(ttl);
    let exp = expires_in.map(|ttl| now + ttl);
    if let Some(exp) = exp {
        claims.insert("exp".into(), json!(exp));
    }
    let jti: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    claims.insert("jti".into(), json!(&jti));
    claims.insert("scope".into(), json!("profile"));
    claims.insert("role".into(), json!("user"));
    if inner.has(Flaw::JwtSecretInPayload) {
        let hash = format!("$2b$12${}", random_string(BCRYPT_ALPHABET, 53));
        claims.insert("password_hash".into(), json!(hash));
        let key = format!("sk_live_{}", random_string(ALNUM, 24));
        claims.insert("api_key".into(), json!(key));
    }
    if inner.has(Flaw::JwtPiiInPayload) {
        claims.insert("email".into(), json!(format!("{user}@example.com")));
        claims.insert("phone".into(), json!("+14155550123"));
        claims.insert("address".into(), json!("1 Demo Street, Springfield"));
    }
    let mut header = Header::new(inner.alg);
    header.typ = Some("at+jwt".to_owned());
    header.kid = inner.kid.map(str::to_owned);
    let token = jsonwebtoken::encode(&header, &claims, &inner.signing_key)?;
    Ok(Issued {
        token,
        jti,
        expires_in,
        exp,
    })
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

/// `GET /.well-known/jwks.json`: the public verification key(s).
async fn jwks(State(state): State<JwtState>) -> Response {
    json_response(StatusCode::OK, state.0.jwks.clone())
}

/// `GET /api/token/me`: the bearer-protected resource.
async fn token_me(State(state): State<JwtState>, headers: HeaderMap, uri: Uri) -> Response {
    let inner = &state.0;
    // Flaw: the token is also taken from the URL.
    let query = inner.has(Flaw::JwtInQuery).then_some(&uri);
    match authorize(inner, &headers, query).await {
        Ok(claims) => {
            let user = claims.get("sub").and_then(Value::as_str).unwrap_or("");
            let role = claims.get("role").and_then(Value::as_str).unwrap_or("user");
            json_response(StatusCode::OK, json!({ "user": user, "role": role }))
        }
        Err(refusal) => refusal,
    }
}

/// The claims of the request's bearer token if the verifier accepts it and its `jti` is not
/// revoked; otherwise the 401 to answer (500 under `jwt-malformed-500` for a malformed
/// token). With `query`, a request without `Authorization` may carry the token as
/// `?access_token=`.
pub(super) async fn authorize(
    inner: &Inner,
    headers: &HeaderMap,
    query: Option<&Uri>,
) -> Result<Value, Response> {
    let presented = match headers.get(header::AUTHORIZATION) {
        // Non-ASCII bytes are kept (lossily) so they reach the verifier and are refused as a
        // malformed token, not mistaken for a missing one.
        Some(value) => bearer_token(&String::from_utf8_lossy(value.as_bytes())),
        None => query.and_then(|uri| query_param(uri, "access_token")),
    };
    let Some(token) = presented.filter(|t| !t.is_empty()) else {
        // RFC 6750 §3.1: no error code when the request carried no token.
        return Err(with_challenge(
            error(StatusCode::UNAUTHORIZED, "unauthenticated"),
            "Bearer",
        ));
    };
    let invalid = || {
        with_challenge(
            error(StatusCode::UNAUTHORIZED, "invalid_token"),
            r#"Bearer error="invalid_token""#,
        )
    };
    match verify(inner, &token).await {
        Ok(claims) => {
            let revoked = claims
                .get("jti")
                .and_then(Value::as_str)
                .is_some_and(|jti| inner.families().is_jti_revoked(jti));
            if revoked { Err(invalid()) } else { Ok(claims) }
        }
        Err(Rejection::Malformed) if inner.has(Flaw::JwtMalformed500) => {
            // Flaw: a parse failure escapes as a server error.
            Err(error(StatusCode::INTERNAL_SERVER_ERROR, "internal"))
        }
        Err(_) => Err(invalid()),
    }
}

/// The token of an `Authorization: Bearer TOKEN` value (scheme case-insensitive).
fn bearer_token(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn with_challenge(mut response: Response, challenge: &'static str) -> Response {
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

// ---------------------------------------------------------------------------------------------
// Verification

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq)]
enum Rejection {
    /// Not three base64url segments with a JSON-object header and payload.
    Malformed,
    /// Well-formed, but its signature, algorithm or claims are not acceptable.
    Invalid,
}

/// A token split into its segments, with the header parsed.
struct Parts<'t> {
    header: Map<String, Value>,
    /// `header.payload`, the signed bytes.
    signing_input: &'t str,
    payload_b64: &'t str,
    /// `None` for a two-segment token.
    signature: Option<Vec<u8>>,
}

/// Splits `token` into two or three base64url segments; the header and payload must be JSON
/// objects and the signature (when present) base64url.
fn split(token: &str) -> Option<Parts<'_>> {
    let mut segments = token.split('.');
    let (header_b64, payload_b64) = (segments.next()?, segments.next()?);
    let signature_b64 = segments.next();
    if segments.next().is_some() {
        return None;
    }
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).ok()?).ok()?;
    serde_json::from_slice::<Map<String, Value>>(&URL_SAFE_NO_PAD.decode(payload_b64).ok()?)
        .ok()?;
    let signature = match signature_b64 {
        Some(s) => Some(URL_SAFE_NO_PAD.decode(s).ok()?),
        None => None,
    };
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    Some(Parts {
        header,
        signing_input,
        payload_b64,
        signature,
    })
}

/// The claims of `token` if the verifier (as the active flaws bend it) accepts it.
///
/// Each flawed path is an *extra* way in: when it does not apply or fails, the clean check
/// still runs. Every path applies the same claim checks.
async fn verify(inner: &Inner, token: &str) -> Result<Value, Rejection> {
    let parts = split(token).ok_or(Rejection::Malformed)?;
    let alg = parts
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("");
    let is_none = alg.eq_ignore_ascii_case("none");
    let Some(signature) = &parts.signature else {
        // Flaw: an unsigned two-segment token with alg none.
        if inner.has(Flaw::JwtAlgNone) && is_none {
            return inner.check_claims(parts.payload_b64);
        }
        return Err(Rejection::Malformed);
    };
    // Flaw: the signature is never looked at.
    if inner.has(Flaw::JwtSignatureUnchecked) {
        return inner.check_claims(parts.payload_b64);
    }
    // Flaw: alg none with an empty signature.
    if inner.has(Flaw::JwtAlgNone) && is_none && signature.is_empty() {
        return inner.check_claims(parts.payload_b64);
    }
    // Flaw: r = s = 0 passes ES256 verification (CVE-2022-21449).
    if inner.has(Flaw::JwtPsychicSignature)
        && alg == "ES256"
        && signature.len() == 64
        && signature.iter().all(|&b| b == 0)
    {
        return inner.check_claims(parts.payload_b64);
    }
    // Flaw: the kid names the file holding the HMAC secret.
    if inner.has(Flaw::JwtKidTraversal)
        && alg == "HS256"
        && let Some(kid) = parts.header.get("kid").and_then(Value::as_str)
        && let Some(secret) = read_key_file(kid.to_owned()).await
    {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
        if aws_lc_rs::hmac::verify(&key, parts.signing_input.as_bytes(), signature).is_ok() {
            return inner.check_claims(parts.payload_b64);
        }
    }
    // Flaw: HS256 keyed with the public RSA key's PEM text.
    if inner.has(Flaw::JwtKeyConfusion) && alg == "HS256" {
        let pem = DEMO_RS256_PUBLIC_KEY_PEM;
        for secret in [pem, pem.trim_end()] {
            let key = DecodingKey::from_secret(secret.as_bytes());
            if let Ok(claims) = inner.decode_with(token, &key, Algorithm::HS256) {
                return Ok(claims);
            }
        }
    }
    // Flaw: the token brings its own key.
    if inner.has(Flaw::JwtEmbeddedJwk)
        && let Some(jwk) = parts.header.get("jwk")
        && let Ok(jwk) = serde_json::from_value::<Jwk>(jwk.clone())
        && let Ok(claims) = inner.decode_with_jwk(token, &jwk, alg)
    {
        return Ok(claims);
    }
    // Flaw: the token names where to fetch its key.
    if let Some(client) = &inner.jku_client
        && let Some(jku) = parts.header.get("jku").and_then(Value::as_str)
        && let Some(kid) = parts.header.get("kid").and_then(Value::as_str)
        && is_loopback_url(jku)
        && let Some(set) = fetch_jwks(client, jku).await
        && let Some(jwk) = set.find(kid)
        && let Ok(claims) = inner.decode_with_jwk(token, jwk, alg)
    {
        return Ok(claims);
    }
    inner.decode_with(token, &inner.verifying_key, inner.alg)
}

impl Inner {
    /// `jsonwebtoken::decode` with this verifier's claim checks, pinned to `alg`.
    fn decode_with(
        &self,
        token: &str,
        key: &DecodingKey,
        alg: Algorithm,
    ) -> Result<Value, Rejection> {
        let mut validation = self.validation.clone();
        validation.algorithms = vec![alg];
        jsonwebtoken::decode::<Value>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| Rejection::Invalid)
    }

    /// Verification with a key the token itself pointed at, for the header's `alg` when it
    /// fits that key.
    fn decode_with_jwk(&self, token: &str, jwk: &Jwk, alg: &str) -> Result<Value, Rejection> {
        let key = DecodingKey::from_jwk(jwk).map_err(|_| Rejection::Invalid)?;
        let alg = Algorithm::from_str(alg).map_err(|_| Rejection::Invalid)?;
        if alg.family() != key.family() {
            return Err(Rejection::Invalid);
        }
        self.decode_with(token, &key, alg)
    }

    /// The claim checks alone, for the flawed paths that skip or fake the signature check.
    ///
    /// To run exactly `jsonwebtoken`'s checks, the original payload segment is re-signed with a
    /// per-process random HMAC key and decoded with the verifier's [`Validation`].
    fn check_claims(&self, payload_b64: &str) -> Result<Value, Rejection> {
        let header_b64 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
        let message = format!("{header_b64}.{payload_b64}");
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(&self.claims_key),
            Algorithm::HS256,
        )
        .map_err(|_| Rejection::Invalid)?;
        let token = format!("{message}.{signature}");
        self.decode_with(
            &token,
            &DecodingKey::from_secret(&self.claims_key),
            Algorithm::HS256,
        )
    }
}

/// Whether `url` is `http(s)` on a loopback address or `localhost`.
fn is_loopback_url(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        }
}

/// The JWK Set at `url` (at most 64 KiB, 2 s, no redirects), if it answers 2xx with one.
async fn fetch_jwks(client: &reqwest::Client, url: &str) -> Option<JwkSet> {
    let mut response = client.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_JWKS_BODY {
            return None;
        }
    }
    serde_json::from_slice(&body).ok()
}

/// The first 64 KiB of the file at `path`, read off the async runtime with a 1 s limit (a FIFO
/// or terminal would otherwise block). `None` on any error.
async fn read_key_file(path: String) -> Option<Vec<u8>> {
    let read = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(path).ok()?;
        let mut bytes = Vec::new();
        file.take(MAX_KID_FILE).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    });
    tokio::time::timeout(KID_FILE_TIMEOUT, read)
        .await
        .ok()?
        .ok()?
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn split_accepts_only_base64url_json_segments() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let p = URL_SAFE_NO_PAD.encode(br#"{"sub":"a"}"#);
        assert!(split(&format!("{h}.{p}.")).is_some());
        assert!(split(&format!("{h}.{p}")).unwrap().signature.is_none());
        assert!(split(&format!("{h}.{p}.AA")).is_some());
        for bad in [
            String::new(),
            "abc".to_owned(),
            format!("{h}.{p}.a.b"),
            format!("{h}.{p}.!!"),
            format!("{h}.bm90IGpzb24."),
            format!("{p}=.{p}."),
            format!("{}.{p}.", URL_SAFE_NO_PAD.encode("[1]")),
        ] {
            assert!(split(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn loopback_urls_only() {
        for ok in [
            "http://127.0.0.1:8080/jwks.json",
            "http://[::1]/k",
            "https://localhost/k",
            "http://127.1.2.3/",
        ] {
            assert!(is_loopback_url(ok), "{ok}");
        }
        for bad in [
            "http://192.0.2.1/k",
            "http://example.com/k",
            "file:///etc/passwd",
            "http://localhost.evil.test/",
            "not a url",
        ] {
            assert!(!is_loopback_url(bad), "{bad}");
        }
    }

    #[test]
    fn random_strings_use_their_alphabet() {
        let s = random_string(BCRYPT_ALPHABET, 53);
        assert_eq!(s.len(), 53);
        assert!(s.bytes().all(|b| BCRYPT_ALPHABET.contains(&b)));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("bearer abc").as_deref(), Some("abc"));
        assert_eq!(bearer_token("Bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
