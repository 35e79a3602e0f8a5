//! What anyone holding a token can read in its claims: secrets and personal data
//! ([`exposures`]) and how long the token lives ([`lifetime`]).
//!
//! Owns the detection rules: claim *names* (`password`, `client_secret`, `email`, …) and value
//! *shapes* (bcrypt/argon2/scrypt/PBKDF2 hashes, PEM private keys, well-known API key prefixes,
//! e-mail addresses, E.164 phone numbers, Luhn-valid card numbers, mod-97 IBANs, US SSNs).
//! Findings carry a masked excerpt, never the value. It must stay pure: no I/O, no clock (the
//! caller passes `now`), no printing, no panics; it never verifies signatures.
//!
//! False positives cost trust, so standard claims (`sub`, `jti`, `iss`, `aud`, `nonce`,
//! `at_hash`, …) are never secrets by name, and an unknown claim is flagged by shape only when
//! the shape is distinctive.

use serde::Serialize;
use serde_json::{Map, Value};

/// Objects and arrays nested deeper than this are not walked.
const MAX_DEPTH: usize = 64;

/// One claim that exposes a secret or personal data to whoever holds the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exposure {
    /// JSON pointer to the claim, e.g. `/user/email`.
    pub path: String,
    /// Secret or personal data.
    pub class: ExposureClass,
    /// What was recognised, e.g. `"bcrypt hash"` or `"email address"`.
    pub category: &'static str,
    /// A masked excerpt: at most the first 3 characters, `…` and the length, e.g. `$2b… (60 chars)`.
    pub excerpt: String,
}

/// The two classes of [`Exposure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExposureClass {
    /// A credential or key: holding the token gives it away.
    Secret,
    /// Data about a person (GDPR "personal data").
    PersonalData,
}

/// The time claims of a token and what follows from them, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Lifetime {
    /// `exp`, when numeric.
    pub exp: Option<i64>,
    /// `iat`, when numeric.
    pub iat: Option<i64>,
    /// `nbf`, when numeric.
    pub nbf: Option<i64>,
    /// `exp - iat`, or `exp - now` when `iat` is missing.
    pub lifetime: Option<i64>,
    /// `exp - now` (negative once expired).
    pub expires_in: Option<i64>,
}

/// A NumericDate (RFC 7519 §2) as whole seconds: integers, and finite floats truncated toward
/// zero. Strings, booleans and out-of-range numbers give `None`.
pub fn numeric_date(value: &Value) -> Option<i64> {
    let Value::Number(n) = value else {
        return None;
    };
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        // i64::MAX as f64 rounds up to 2^63, so `<` keeps the cast in range.
        (f.is_finite() && f >= i64::MIN as f64 && f < i64::MAX as f64).then(|| f.trunc() as i64)
    })
}

/// The token's time claims at `now` (seconds since the epoch).
pub fn lifetime(claims: &Map<String, Value>, now: i64) -> Lifetime {
    let get = |name: &str| claims.get(name).and_then(numeric_date);
    let (exp, iat, nbf) = (get("exp"), get("iat"), get("nbf"));
    Lifetime {
        exp,
        iat,
        nbf,
        lifetime: exp.map(|e| e.saturating_sub(iat.unwrap_or(now))),
        expires_in: exp.map(|e| e.saturating_sub(now)),
    }
}

/// Secrets and personal data readable in `claims`, walking nested objects and arrays.
///
/// `allow` lists claim names (matched at any depth) or JSON pointers (starting with `/`) that
/// the owner accepts; those claims and everything below them are skipped. A claim gives at
/// most one exposure; a flagged object is not walked further.
pub fn exposures(claims: &Map<String, Value>, allow: &[String]) -> Vec<Exposure> {
    let mut walker = Walker {
        allow,
        path: String::new(),
        out: Vec::new(),
    };
    for (name, value) in claims {
        walker.visit(name, name, value, 1);
    }
    walker.out
}

struct Walker<'a> {
    allow: &'a [String],
    path: String,
    out: Vec<Exposure>,
}

impl Walker<'_> {
    /// `name` is the member name used for name rules (array items inherit their array's);
    /// `segment` is the pointer segment (the name, or the index).
    fn visit(&mut self, name: &str, segment: &str, value: &Value, depth: usize) {
        let len = self.path.len();
        self.path.push('/');
        push_escaped(&mut self.path, segment);
        let allowed = self.allow.iter().any(|a| {
            if a.starts_with('/') {
                *a == self.path
            } else {
                a == name
            }
        });
        if !allowed {
            if let Some((class, category)) = classify(name, value, depth) {
                self.out.push(Exposure {
                    path: self.path.clone(),
                    class,
                    category,
                    excerpt: mask(value),
                });
            } else if depth < MAX_DEPTH {
                match value {
                    Value::Object(map) => {
                        for (k, v) in map {
                            self.visit(k, k, v, depth + 1);
                        }
                    }
                    Value::Array(items) => {
                        for (i, v) in items.iter().enumerate() {
                            self.visit(name, &i.to_string(), v, depth + 1);
                        }
                    }
                    _ => {}
                }
            }
        }
        self.path.truncate(len);
    }
}

fn push_escaped(path: &mut String, segment: &str) {
    for c in segment.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

/// At most the first 3 characters (fewer for short values, so a short value is never shown
/// whole), then `…` and the length.
fn mask(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Object(map) => return format!("{{…}} ({} members)", map.len()),
        Value::Array(items) => return format!("[…] ({} items)", items.len()),
        other => other.to_string(),
    };
    let n = text.chars().count();
    let prefix: String = text.chars().take((n / 4).min(3)).collect();
    format!("{prefix}… ({n} chars)")
}

/// Lowercase ASCII with `_`, `-`, `.` and spaces removed: `Client-Secret` → `clientsecret`.
fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Registered and common claims that are identifiers, hashes or policy, never secrets by name.
const NOT_SECRET_NAMES: &[&str] = &[
    "jti",
    "sub",
    "iss",
    "aud",
    "azp",
    "athash",
    "chash",
    "shash",
    "nonce",
    "sid",
    "kid",
    "typ",
    "cty",
    "alg",
    "scope",
    "scp",
    "role",
    "roles",
    "groups",
    "amr",
    "acr",
    "authtime",
    "tokenuse",
    "tokentype",
    "clientid",
    "cid",
    "uid",
    "sessionstate",
    "cnf",
    "jkt",
    "x5t#s256",
];

fn classify(name: &str, value: &Value, depth: usize) -> Option<(ExposureClass, &'static str)> {
    use ExposureClass::{PersonalData, Secret};
    let norm = normalize(name);
    match value {
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            if let Some(category) = secret_shape(s) {
                return Some((Secret, category));
            }
            if !NOT_SECRET_NAMES.contains(&norm.as_str()) {
                if let Some(category) = secret_name(&norm) {
                    return Some((Secret, category));
                }
                if weak_secret_name(&norm) && high_entropy(s) {
                    return Some((Secret, "high-entropy secret"));
                }
            }
            if let Some(category) = personal_shape(s) {
                return Some((PersonalData, category));
            }
            personal_name(&norm, depth).map(|c| (PersonalData, c))
        }
        Value::Number(_) => personal_name(&norm, depth)
            .filter(|c| {
                matches!(
                    *c,
                    "phone number" | "postal address" | "national id" | "card number"
                )
            })
            .map(|c| (PersonalData, c)),
        Value::Object(map) => {
            // A JWK with a private exponent / scalar `d`.
            if map.contains_key("kty") && map.get("d").is_some_and(Value::is_string) {
                return Some((Secret, "private key"));
            }
            (personal_name(&norm, depth) == Some("postal address"))
                .then_some((PersonalData, "postal address"))
        }
        _ => None,
    }
}

/// Distinctive shapes of credentials, whatever the claim is called.
fn secret_shape(s: &str) -> Option<&'static str> {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| s.starts_with(p));
    if s.len() >= 20 && starts(&["$2a$", "$2b$", "$2y$", "$2x$"]) {
        return Some("bcrypt hash");
    }
    if starts(&["$argon2id$", "$argon2i$", "$argon2d$"]) {
        return Some("argon2 hash");
    }
    if s.len() >= 20 && starts(&["$scrypt$", "$7$"]) {
        return Some("scrypt hash");
    }
    if starts(&["$pbkdf2-", "$pbkdf2$"]) || (s.starts_with("pbkdf2_") && s.contains('$')) {
        return Some("pbkdf2 hash");
    }
    if s.len() >= 20 && starts(&["$1$", "$5$", "$6$", "$y$"]) {
        return Some("crypt hash");
    }
    if s.contains("-----BEGIN") && s.contains("PRIVATE KEY-----") {
        return Some("private key");
    }
    let tail_len = |prefix_len: usize, ok: fn(u8) -> bool| {
        let tail = &s.as_bytes()[prefix_len.min(s.len())..];
        if tail.iter().all(|&b| ok(b)) {
            tail.len()
        } else {
            0
        }
    };
    if s.len() == 20
        && starts(&["AKIA", "ASIA"])
        && tail_len(4, |b| b.is_ascii_uppercase() || b.is_ascii_digit()) == 16
    {
        return Some("aws access key id");
    }
    if starts(&["sk_live_", "sk_test_", "rk_live_", "rk_test_"])
        && tail_len(8, |b| b.is_ascii_alphanumeric()) >= 10
    {
        return Some("stripe secret key");
    }
    if (starts(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_"])
        && tail_len(4, |b| b.is_ascii_alphanumeric()) >= 20)
        || (s.starts_with("github_pat_") && s.len() >= 30)
    {
        return Some("github token");
    }
    if starts(&["xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-"]) && s.len() >= 15 {
        return Some("slack token");
    }
    None
}

/// Claim names that are secrets whatever their value.
fn secret_name(norm: &str) -> Option<&'static str> {
    let ends = |suffixes: &[&str]| suffixes.iter().any(|x| norm.ends_with(x));
    if matches!(norm, "pwd" | "pass" | "passcode")
        || ends(&[
            "password",
            "passwd",
            "passphrase",
            "passwordhash",
            "pwdhash",
        ])
    {
        Some("password field")
    } else if norm.ends_with("clientsecret") {
        Some("client secret")
    } else if norm.ends_with("secret") {
        Some("secret field")
    } else if norm.ends_with("apikey") {
        Some("api key")
    } else if ends(&["privatekey", "privkey"]) {
        Some("private key")
    } else if norm.ends_with("token") {
        Some("token")
    } else {
        None
    }
}

/// Names that suggest a secret but also name harmless things; flagged only with a
/// high-entropy value.
fn weak_secret_name(norm: &str) -> bool {
    const HINTS: &[&str] = &[
        "secret",
        "key",
        "token",
        "pass",
        "cred",
        "signature",
        "salt",
        "seed",
        "hmac",
        "otp",
    ];
    const HARMLESS_SUFFIXES: &[&str] = &[
        "id", "ids", "hash", "type", "url", "uri", "use", "alg", "name", "at", "time", "exp",
        "expiry", "expires", "count", "version", "format", "enabled", "set",
    ];
    HINTS.iter().any(|h| norm.contains(h)) && !HARMLESS_SUFFIXES.iter().any(|x| norm.ends_with(x))
}

/// At least 16 characters, no whitespace, two character classes and ≥ 3 bits of Shannon
/// entropy per character.
fn high_entropy(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() < 16 || bytes.iter().any(u8::is_ascii_whitespace) {
        return false;
    }
    let classes = [
        bytes.iter().any(u8::is_ascii_lowercase),
        bytes.iter().any(u8::is_ascii_uppercase),
        bytes.iter().any(u8::is_ascii_digit),
        bytes.iter().any(|b| !b.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|&&c| c).count() < 2 {
        return false;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    entropy >= 3.0
}

/// Shapes of personal data, whatever the claim is called.
fn personal_shape(s: &str) -> Option<&'static str> {
    if is_email(s) {
        Some("email address")
    } else if is_e164_phone(s) {
        Some("phone number")
    } else if is_card_number(s) {
        Some("card number")
    } else if is_iban(s) {
        Some("iban")
    } else if is_us_ssn(s) {
        Some("national id")
    } else {
        None
    }
}

/// Claim names that hold personal data. `name` alone counts only at the top level (the OIDC
/// claim); deeper it is too often the name of a role, a tenant or a product.
fn personal_name(norm: &str, depth: usize) -> Option<&'static str> {
    let any = |parts: &[&str]| parts.iter().any(|p| norm.contains(p));
    if norm.ends_with("verified") {
        None
    } else if norm.contains("email") {
        Some("email address")
    } else if any(&["phone", "msisdn"])
        || matches!(
            norm,
            "mobile" | "mobilenumber" | "mobileno" | "tel" | "telephone"
        )
    {
        Some("phone number")
    } else if any(&["birthdate", "dateofbirth", "birthday"]) || norm == "dob" {
        Some("birth date")
    } else if norm.starts_with("ssn")
        || norm.ends_with("ssn")
        || any(&["nationalid", "socialsecurity", "passport", "taxid"])
    {
        Some("national id")
    } else if norm.contains("iban") {
        Some("iban")
    } else if any(&["cardnumber", "ccnumber", "creditcard"]) {
        Some("card number")
    } else if norm == "address"
        || any(&[
            "streetaddress",
            "homeaddress",
            "postaladdress",
            "street",
            "postcode",
        ])
        || any(&["postalcode", "zipcode"])
        || norm == "zip"
    {
        Some("postal address")
    } else if matches!(
        norm,
        "givenname"
            | "familyname"
            | "middlename"
            | "firstname"
            | "lastname"
            | "fullname"
            | "surname"
            | "displayname"
    ) || (norm == "name" && depth == 1)
    {
        Some("person name")
    } else {
        None
    }
}

/// `local@domain.tld` without a regex: one `@`, RFC 5322 atext in the local part, a dotted
/// domain of letter/digit/hyphen labels and an alphabetic TLD of two or more letters.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    if !local_ok || domain.len() > 253 || !domain.contains('.') {
        return false;
    }
    let labels_ok = domain.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    let tld = domain.rsplit('.').next().unwrap_or("");
    labels_ok && tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())
}

/// `+` then 8–15 digits (E.164), allowing spaces, dots, dashes and parentheses between them.
fn is_e164_phone(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('+') else {
        return false;
    };
    if !rest
        .bytes()
        .all(|b| b.is_ascii_digit() || b" .-()".contains(&b))
    {
        return false;
    }
    let digits: Vec<u8> = rest.bytes().filter(u8::is_ascii_digit).collect();
    (8..=15).contains(&digits.len()) && digits.first().is_some_and(|&d| d != b'0')
}

/// 13–19 digits (spaces or dashes allowed), a plausible issuer prefix (2–6) and a valid Luhn
/// check digit.
fn is_card_number(s: &str) -> bool {
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
    {
        return false;
    }
    let digits: Vec<u32> = s
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
        .collect();
    if !(13..=19).contains(&digits.len())
        || !(2..=6).contains(&digits[0])
        || digits.iter().all(|&d| d == digits[0])
    {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Country code (two capitals), two check digits, 11–30 capitals or digits (spaces allowed),
/// and the ISO 13616 mod-97 check.
fn is_iban(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(|&b| b != b' ').collect();
    if !(15..=34).contains(&compact.len())
        || !compact[..2].iter().all(u8::is_ascii_uppercase)
        || !compact[2..4].iter().all(u8::is_ascii_digit)
        || !compact[4..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return false;
    }
    let mut remainder: u32 = 0;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if v >= 10 {
            (remainder * 100 + v) % 97
        } else {
            (remainder * 10 + v) % 97
        };
    }
    remainder == 1
}

/// `ddd-dd-dddd` with an area other than 000, 666 and 9xx, a non-zero group and serial.
fn is_us_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 11 || b[3] != b'-' || b[6] != b'-' {
        return false;
    }
    let digits_ok = [0, 1, 2, 4, 5, 7, 8, 9, 10]
        .iter()
        .all(|&i| b[i].is_ascii_digit());
    digits_ok
        && &s[..3] != "000"
        && &s[..3] != "666"
        && b[0] != b'9'
        && &s[4..6] != "00"
        && &s[7..] != "0000"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("test fixture is not an object"),
        }
    }

    fn found(claims: Value) -> Vec<(String, ExposureClass, &'static str)> {
        exposures(&obj(claims), &[])
            .into_iter()
            .map(|e| (e.path, e.class, e.category))
            .collect()
    }

    fn one(claims: Value) -> (String, ExposureClass, &'static str) {
        let all = found(claims.clone());
        assert_eq!(
            all.len(),
            1,
            "expected one exposure in {claims}, got {all:?}"
        );
        all.into_iter().next().unwrap()
    }

    fn secret(path: &str, category: &'static str) -> (String, ExposureClass, &'static str) {
        (path.to_owned(), ExposureClass::Secret, category)
    }

    fn personal(path: &str, category: &'static str) -> (String, ExposureClass, &'static str) {
        (path.to_owned(), ExposureClass::PersonalData, category)
    }

    #[test]
    fn ordinary_access_token_claims_expose_nothing() {
        let claims = json!({
            "iss": "https://auth.example.com/realms/main",
            "sub": "alice",
            "aud": ["api://orders", "https://api.example.com"],
            "azp": "web-frontend",
            "scope": "openid profile email orders:read",
            "role": "admin",
            "roles": ["user", "billing"],
            "groups": [{"name": "staff", "id": 7}],
            "exp": 1_700_003_600, "iat": 1_700_000_000, "nbf": 1_700_000_000,
            "auth_time": 1_700_000_000,
            "jti": "9f1c2b7e-4c1d-4f8e-9a3b-2d6f0e8c7a51",
            "sid": "3Fq9ZkP0xL7mN2vR8sT4wY6bC1dE5gH",
            "nonce": "n-0S6_WzA2Mj8xQpL7rT4vY",
            "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
            "c_hash": "LDktKdoQak3Pk0cnXxCltA",
            "token_use": "access",
            "client_id": "s6BhdRkqt3",
            "kid_hint": "2024-05-rotation",
            "email_verified": true,
            "tenant": {"name": "Acme", "plan": "pro"},
            "ver": 2,
            "business_name": "Acme Ltd",
            "mobile_app_version": "3.2.1",
            "ip_address": "203.0.113.7",
            "amr": ["pwd", "mfa"],
        });
        assert_eq!(found(claims), vec![]);
    }

    #[test]
    fn password_and_secret_names_are_secrets() {
        assert_eq!(
            one(json!({"password": "hunter2"})),
            secret("/password", "password field")
        );
        assert_eq!(
            one(json!({"user": {"db_passwd": "x"}})),
            secret("/user/db_passwd", "password field")
        );
        assert_eq!(one(json!({"pwd": "abc"})), secret("/pwd", "password field"));
        assert_eq!(
            one(json!({"client_secret": "abc"})),
            secret("/client_secret", "client secret")
        );
        assert_eq!(
            one(json!({"totp-secret": "JBSWY3DPEHPK3PXP"})),
            secret("/totp-secret", "secret field")
        );
        assert_eq!(one(json!({"apiKey": "k"})), secret("/apiKey", "api key"));
        assert_eq!(
            one(json!({"x-api-key": "k"})),
            secret("/x-api-key", "api key")
        );
        assert_eq!(
            one(json!({"private_key": "k"})),
            secret("/private_key", "private key")
        );
        assert_eq!(
            one(json!({"refresh_token": "def502..."})),
            secret("/refresh_token", "token")
        );
        assert_eq!(one(json!({"token": "abc"})), secret("/token", "token"));
    }

    #[test]
    fn empty_secret_values_expose_nothing() {
        assert_eq!(found(json!({"password": "", "secret": "  "})), vec![]);
    }

    #[test]
    fn password_hash_shapes_are_recognised_under_any_name() {
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert_eq!(one(json!({"h": bcrypt})), secret("/h", "bcrypt hash"));
        assert_eq!(
            one(json!({"h": "$2y$10$abcdefghijklmnopqrstuv"})),
            secret("/h", "bcrypt hash")
        );
        assert_eq!(
            one(json!({"h": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g"})),
            secret("/h", "argon2 hash")
        );
        assert_eq!(
            one(json!({"h": "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA"})),
            secret("/h", "scrypt hash")
        );
        assert_eq!(
            one(json!({"h": "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn"})),
            secret("/h", "scrypt hash")
        );
        assert_eq!(
            one(json!({"h": "pbkdf2_sha256$600000$salt$aGFzaA=="})),
            secret("/h", "pbkdf2 hash")
        );
        assert_eq!(
            one(json!({"h": "$pbkdf2-sha256$29000$N2$abc"})),
            secret("/h", "pbkdf2 hash")
        );
    }

    #[test]
    fn key_and_vendor_token_shapes_are_recognised() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----";
        assert_eq!(one(json!({"k": pem})), secret("/k", "private key"));
        assert_eq!(
            one(json!({"k": "-----BEGIN PRIVATE KEY-----\nMC4CAQA=\n-----END PRIVATE KEY-----"})),
            secret("/k", "private key")
        );
        assert_eq!(
            one(json!({"v": "AKIAIOSFODNN7EXAMPLE"})),
            secret("/v", "aws access key id")
        );
        assert_eq!(
            one(json!({"v": "sk_live_4eC39HqLyjWDarjtT1zdp7dc"})),
            secret("/v", "stripe secret key")
        );
        assert_eq!(
            one(json!({"v": "ghp_1234567890abcdefghijABCDEFGHIJ123456"})),
            secret("/v", "github token")
        );
        assert_eq!(
            one(json!({"v": "xoxb-2634-8291-ZbXvQ1t9"})),
            secret("/v", "slack token")
        );
        assert_eq!(
            one(json!({"signing": {"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c"}})),
            secret("/signing", "private key")
        );
        // A public JWK is not a secret.
        assert_eq!(
            found(json!({"cnf": {"jwk": {"kty": "EC", "x": "a", "y": "b"}}})),
            vec![]
        );
    }

    #[test]
    fn high_entropy_values_in_secret_sounding_claims_are_secrets() {
        assert_eq!(
            one(json!({"hmac_material": "q8Z3xV1pL7mN2vR8sT4wY6bC"})),
            secret("/hmac_material", "high-entropy secret")
        );
        assert_eq!(
            one(json!({"session_key": "9f86d081884c7d659a2feaa0c55ad015"})),
            secret("/session_key", "high-entropy secret")
        );
        // Low entropy or an identifier-like name: nothing.
        assert_eq!(
            found(json!({"session_key": "aaaaaaaaaaaaaaaaaaaa"})),
            vec![]
        );
        assert_eq!(found(json!({"key_id": "q8Z3xV1pL7mN2vR8sT4wY6bC"})), vec![]);
        assert_eq!(found(json!({"keyboard_layout": "de"})), vec![]);
    }

    #[test]
    fn personal_data_names_are_recognised() {
        let claims = json!({
            "name": "Alice Liddell",
            "given_name": "Alice",
            "family_name": "Liddell",
            "birthdate": "1852-05-04",
            "address": {"street_address": "1 Christ Church", "locality": "Oxford", "postal_code": "OX1 1DP"},
            "phone": 441865276150u64,
            "mobile": "01865 276150",
            "user_ssn": "078051120",
            "passport": "X1234567",
            "national_id": "AB123456C",
            "zip": "OX1",
            "bank": {"iban": "not checked by name only"},
        });
        let mut got = found(claims);
        got.sort();
        let mut want = vec![
            personal("/address", "postal address"),
            personal("/bank/iban", "iban"),
            personal("/birthdate", "birth date"),
            personal("/family_name", "person name"),
            personal("/given_name", "person name"),
            personal("/name", "person name"),
            personal("/national_id", "national id"),
            personal("/passport", "national id"),
            personal("/phone", "phone number"),
            personal("/mobile", "phone number"),
            personal("/user_ssn", "national id"),
            personal("/zip", "postal address"),
        ];
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn personal_data_shapes_are_recognised_under_any_name() {
        assert_eq!(
            one(json!({"sub": "alice@example.co.uk"})),
            personal("/sub", "email address")
        );
        assert_eq!(
            one(json!({"u": {"contact": "+44 1865 276150"}})),
            personal("/u/contact", "phone number")
        );
        assert_eq!(
            one(json!({"pm": "4111 1111 1111 1111"})),
            personal("/pm", "card number")
        );
        assert_eq!(
            one(json!({"acct": "GB82 WEST 1234 5698 7654 32"})),
            personal("/acct", "iban")
        );
        assert_eq!(
            one(json!({"acct": "DE89370400440532013000"})),
            personal("/acct", "iban")
        );
        assert_eq!(
            one(json!({"x": "078-05-1120"})),
            personal("/x", "national id")
        );
    }

    #[test]
    fn near_miss_shapes_expose_nothing() {
        let claims = json!({
            "a": "alice@localhost",
            "b": "not an @ address.com",
            "c": "+1234",
            "d": "4111 1111 1111 1112",
            "e": "1300819380123",
            "f": "GB82 WEST 1234 5698 7654 33",
            "g": "000-12-3456",
            "h": "666-12-3456",
            "i": "+0123456789",
            "j": "1111111111111111",
            "k": "$2b$",
        });
        assert_eq!(found(claims), vec![]);
    }

    #[test]
    fn arrays_and_nested_objects_are_walked_with_json_pointers() {
        let claims = json!({
            "emails": ["a@example.com", "b@example.com"],
            "a/b": {"c~d": {"password": "x"}},
        });
        let mut got = found(claims);
        got.sort();
        assert_eq!(
            got,
            vec![
                secret("/a~1b/c~0d/password", "password field"),
                personal("/emails/0", "email address"),
                personal("/emails/1", "email address"),
            ]
        );
    }

    #[test]
    fn allow_list_skips_names_anywhere_and_exact_pointers() {
        let claims = obj(json!({
            "email": "alice@example.com",
            "user": {"email": "bob@example.com", "phone": "+4915112345678"},
            "password": "x",
        }));
        let allow = vec!["email".to_owned(), "/user/phone".to_owned()];
        let got: Vec<String> = exposures(&claims, &allow)
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(got, vec!["/password"]);
        // A pointer to an object skips everything below it.
        let got = exposures(&claims, &["/user".to_owned(), "/email".to_owned()]);
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn excerpts_never_show_the_value() {
        let e = exposures(
            &obj(json!({"password": "correct horse battery staple"})),
            &[],
        );
        assert_eq!(e[0].excerpt, "cor… (28 chars)");
        let e = exposures(&obj(json!({"pwd": "abc"})), &[]);
        assert_eq!(e[0].excerpt, "… (3 chars)");
        let e = exposures(&obj(json!({"pwd": "abcdefg"})), &[]);
        assert_eq!(e[0].excerpt, "a… (7 chars)");
        let e = exposures(&obj(json!({"address": {"a": 1, "b": 2}})), &[]);
        assert_eq!(e[0].excerpt, "{…} (2 members)");
    }

    #[test]
    fn lifetime_uses_iat_when_present() {
        let l = lifetime(
            &obj(json!({"exp": 10_003_600, "iat": 10_000_000, "nbf": 10_000_000})),
            10_001_000,
        );
        assert_eq!(
            l,
            Lifetime {
                exp: Some(10_003_600),
                iat: Some(10_000_000),
                nbf: Some(10_000_000),
                lifetime: Some(3_600),
                expires_in: Some(2_600),
            }
        );
    }

    #[test]
    fn lifetime_without_iat_counts_from_now_and_goes_negative_when_expired() {
        let l = lifetime(&obj(json!({"exp": 100})), 160);
        assert_eq!(l.lifetime, Some(-60));
        assert_eq!(l.expires_in, Some(-60));
        assert_eq!(l.iat, None);
    }

    #[test]
    fn lifetime_ignores_strings_accepts_floats_and_never_overflows() {
        let l = lifetime(&obj(json!({"exp": "1700000000", "iat": 5.9})), 0);
        assert_eq!((l.exp, l.iat, l.lifetime), (None, Some(5), None));
        let l = lifetime(&obj(json!({"exp": i64::MAX, "iat": i64::MIN})), i64::MIN);
        assert_eq!(l.lifetime, Some(i64::MAX));
        assert_eq!(l.expires_in, Some(i64::MAX));
        let l = lifetime(&obj(json!({"exp": 1e300, "nbf": u64::MAX})), 0);
        assert_eq!((l.exp, l.nbf), (None, None));
        assert_eq!(lifetime(&Map::new(), 0), Lifetime::default());
    }
}
