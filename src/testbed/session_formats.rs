//! Session ids in the formats real frameworks put in cookies, for the `session-id-<family>`
//! flaws: the session's data (user number, user name, role and a random nonce that keeps ids
//! unique) written the way Flask, Django, Rack/Rails, PHP, Java, MessagePack and CBOR
//! services write it, signed where the framework signs.
//!
//! This file owns those encodings. It is an independent implementation: compression, JSON,
//! MessagePack and CBOR come from third-party crates (`miniz_oxide`, `serde_json`,
//! `rmp-serde`, `ciborium`), PHP `serialize`, Java serialization and Ruby Marshal are small
//! encoders written here from the formats' specifications, and signatures are HMACs from
//! `aws-lc-rs` — never authprobe's own decoders. It must not know HTTP or the store.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;

/// Which framework's session format an id is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// Flask: itsdangerous `.`+base64url(zlib(JSON)) `.timestamp.signature`.
    Flask,
    /// Django signed cookies: base64url(zlib(JSON)) with `.`, `:timestamp:signature`.
    Django,
    /// Rack / old Rails cookie store: base64(Marshal) `--` hex HMAC-SHA1, percent-escaped.
    Rails,
    /// PHP: percent-encoded base64 of `serialize()`.
    PhpSerialized,
    /// Java: base64 of an `ObjectOutputStream` (`rO0AB…`).
    JavaSerialized,
    /// base64url of a MessagePack map.
    Msgpack,
    /// base64url of a CBOR map.
    Cbor,
}

/// What a session id carries.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SessionData<'a> {
    /// The user's number (0 for an anonymous session).
    pub(crate) uid: u32,
    /// The user name (`None` before login).
    pub(crate) user: Option<&'a str>,
    /// The role (`None` before login).
    pub(crate) role: Option<&'a str>,
    /// A random nonce (hex) that keeps ids unique.
    pub(crate) nonce: &'a str,
}

/// The session id carrying `data` in `family`'s format.
pub(crate) fn encode(family: Family, data: &SessionData<'_>) -> String {
    match family {
        Family::Flask => flask(data),
        Family::Django => django(data),
        Family::Rails => rails(data),
        Family::PhpSerialized => escape(&STANDARD.encode(php_serialize(data))),
        Family::JavaSerialized => STANDARD.encode(java_serialize(data)),
        // Serialising a struct of strings and integers into a Vec cannot fail.
        Family::Msgpack => {
            URL_SAFE_NO_PAD.encode(rmp_serde::to_vec_named(data).unwrap_or_default())
        }
        Family::Cbor => {
            let mut out = Vec::new();
            let _ = ciborium::into_writer(data, &mut out);
            URL_SAFE_NO_PAD.encode(out)
        }
    }
}

fn json(data: &SessionData<'_>) -> Vec<u8> {
    serde_json::to_vec(data).unwrap_or_default()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A signature with a fresh random key: the testbed looks ids up whole, so the signature is
/// there for its shape.
fn sign(algorithm: hmac::Algorithm, message: &str) -> Vec<u8> {
    let key = hmac::Key::new(algorithm, &rand::random::<[u8; 32]>());
    hmac::sign(&key, message.as_bytes()).as_ref().to_vec()
}

/// itsdangerous `URLSafeTimedSerializer` as Flask uses it: compressed payloads get a `.`.
fn flask(data: &SessionData<'_>) -> String {
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&json(data), 6);
    let timestamp = u32::try_from(now_secs()).unwrap_or(u32::MAX).to_be_bytes();
    let value = format!(
        ".{}.{}",
        URL_SAFE_NO_PAD.encode(compressed),
        URL_SAFE_NO_PAD.encode(timestamp)
    );
    let signature = sign(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &value);
    format!("{value}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// `django.core.signing.dumps(compress=True)` with a `TimestampSigner`: base62 seconds.
fn django(data: &SessionData<'_>) -> String {
    let plain = json(data);
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&plain, 6);
    let payload = if compressed.len() < plain.len().saturating_sub(1) {
        format!(".{}", URL_SAFE_NO_PAD.encode(compressed))
    } else {
        URL_SAFE_NO_PAD.encode(plain)
    };
    let value = format!("{payload}:{}", base62(now_secs()));
    let signature = sign(hmac::HMAC_SHA256, &value);
    format!("{value}:{}", URL_SAFE_NO_PAD.encode(signature))
}

fn base62(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 62) as usize]);
        n /= 62;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Rack's `Cookie` store: base64(Marshal.dump(session)) + `--` + hex HMAC-SHA1, with `+`,
/// `/` and `=` percent-escaped as Rack writes the cookie.
fn rails(data: &SessionData<'_>) -> String {
    let value = STANDARD.encode(marshal(data));
    let digest: String = sign(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &value)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}--{digest}", escape(&value))
}

/// `+`, `/` and `=` percent-encoded (as `urlencode` and Rack do).
fn escape(s: &str) -> String {
    s.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// Ruby `Marshal.dump` (format 4.8) of the session hash with string keys.
fn marshal(data: &SessionData<'_>) -> Vec<u8> {
    let mut out = vec![4, 8, b'{'];
    marshal_int(&mut out, 4);
    let mut first = true;
    let mut string = |out: &mut Vec<u8>, s: &str| {
        // `I` + raw string + one ivar: the `:E` (UTF-8) symbol, defined once then linked.
        out.extend([b'I', b'"']);
        marshal_int(out, s.len() as i64);
        out.extend(s.as_bytes());
        marshal_int(out, 1);
        if first {
            out.extend([b':', 6, b'E']);
            first = false;
        } else {
            out.extend([b';', 0]);
        }
        out.push(b'T');
    };
    string(&mut out, "session_id");
    string(&mut out, data.nonce);
    string(&mut out, "user_id");
    out.push(b'i');
    marshal_int(&mut out, i64::from(data.uid));
    for (key, value) in [("user", data.user), ("role", data.role)] {
        string(&mut out, key);
        match value {
            Some(v) => string(&mut out, v),
            None => out.push(b'0'),
        }
    }
    out
}

/// Marshal's packed integer (non-negative values here).
fn marshal_int(out: &mut Vec<u8>, n: i64) {
    match n {
        0 => out.push(0),
        1..=122 => out.push((n + 5) as u8),
        _ => {
            let bytes = n.to_le_bytes();
            let len = bytes.iter().rposition(|&b| b != 0).map_or(1, |i| i + 1);
            out.push(len as u8);
            out.extend(&bytes[..len]);
        }
    }
}

/// PHP `serialize()` of the session array (lengths in bytes).
fn php_serialize(data: &SessionData<'_>) -> String {
    let s = |v: &str| format!("s:{}:\"{v}\";", v.len());
    let opt = |v: Option<&str>| v.map_or_else(|| "N;".to_owned(), s);
    format!(
        "a:4:{{{}i:{};{}{}{}{}{}{}}}",
        s("uid"),
        data.uid,
        s("user"),
        opt(data.user),
        s("role"),
        opt(data.role),
        s("nonce"),
        s(data.nonce)
    )
}

/// `ObjectOutputStream.writeObject` of `com.example.auth.SessionState implements
/// Serializable { int uid; String nonce, role, user; }` (fields in Java's order: primitives
/// first, then by name), per the Java Object Serialization Specification §6.4.
fn java_serialize(data: &SessionData<'_>) -> Vec<u8> {
    fn utf(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u16).to_be_bytes());
        out.extend(s.as_bytes());
    }
    let mut out = vec![0xac, 0xed, 0x00, 0x05, 0x73, 0x72];
    utf(&mut out, "com.example.auth.SessionState");
    out.extend(0x1c3d_5e7f_9a0b_2c4du64.to_be_bytes());
    out.push(0x02);
    out.extend(4u16.to_be_bytes());
    out.push(b'I');
    utf(&mut out, "uid");
    for (i, name) in ["nonce", "role", "user"].iter().enumerate() {
        out.push(b'L');
        utf(&mut out, name);
        if i == 0 {
            out.push(0x74);
            utf(&mut out, "Ljava/lang/String;");
        } else {
            // TC_REFERENCE to the type string (handle 1: after the class descriptor).
            out.push(0x71);
            out.extend(0x007e_0001u32.to_be_bytes());
        }
    }
    out.extend([0x78, 0x70]);
    out.extend(data.uid.to_be_bytes());
    for value in [Some(data.nonce), data.role, data.user] {
        match value {
            Some(v) => {
                out.push(0x74);
                utf(&mut out, v);
            }
            None => out.push(0x70),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6265 cookie-octets: what a cookie value may hold unquoted.
    fn is_cookie_value(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'))
    }

    const ALICE: SessionData<'static> = SessionData {
        uid: 1,
        user: Some("alice"),
        role: Some("user"),
        nonce: "9f86d081884c7d659a2feaa0c55ad0159f86d081884c7d659a2feaa0c55ad015",
    };

    const ALL: [Family; 7] = [
        Family::Flask,
        Family::Django,
        Family::Rails,
        Family::PhpSerialized,
        Family::JavaSerialized,
        Family::Msgpack,
        Family::Cbor,
    ];

    #[test]
    fn every_family_writes_a_cookie_value() {
        for family in ALL {
            for data in [
                ALICE,
                SessionData {
                    uid: 0,
                    user: None,
                    role: None,
                    ..ALICE
                },
            ] {
                let id = encode(family, &data);
                assert!(is_cookie_value(&id), "{family:?}: {id}");
                assert!(!id.to_lowercase().contains("alice"), "{family:?}: {id}");
                assert!(id.len() < 1024, "{family:?}: {}", id.len());
            }
        }
    }

    /// Third-party decoders read what the encoders wrote (the formats are real).
    #[test]
    fn third_party_decoders_read_the_ids() {
        let flask = encode(Family::Flask, &ALICE);
        let payload = flask.strip_prefix('.').unwrap().split('.').next().unwrap();
        let zlib = URL_SAFE_NO_PAD.decode(payload).unwrap();
        let json = miniz_oxide::inflate::decompress_to_vec_zlib(&zlib).unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&json).unwrap()["user"],
            "alice"
        );

        let msgpack = URL_SAFE_NO_PAD
            .decode(encode(Family::Msgpack, &ALICE))
            .unwrap();
        let v: serde_json::Value = rmp_serde::from_slice(&msgpack).unwrap();
        assert_eq!(v["uid"], 1);

        let cbor = URL_SAFE_NO_PAD
            .decode(encode(Family::Cbor, &ALICE))
            .unwrap();
        let v: serde_json::Value = ciborium::from_reader(cbor.as_slice()).unwrap();
        assert_eq!(v["role"], "user");

        let django = encode(Family::Django, &ALICE);
        assert_eq!(django.matches(':').count(), 2, "{django}");
    }

    #[test]
    fn hand_written_encoders_follow_their_formats() {
        assert_eq!(
            php_serialize(&SessionData {
                nonce: "ab",
                ..ALICE
            }),
            r#"a:4:{s:3:"uid";i:1;s:4:"user";s:5:"alice";s:4:"role";s:4:"user";s:5:"nonce";s:2:"ab";}"#
        );
        let java = java_serialize(&ALICE);
        assert!(STANDARD.encode(&java).starts_with("rO0AB"));
        assert_eq!(&marshal(&ALICE)[..4], &[4, 8, b'{', 9]);
        let mut n = Vec::new();
        marshal_int(&mut n, 300);
        assert_eq!(n, [2, 0x2c, 0x01]);
        assert_eq!(base62(61), "z");
        assert_eq!(base62(62), "10");
    }
}
