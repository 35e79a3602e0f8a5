//! The compact JWS form as the forgery toolkit needs it: three raw segments, and the header
//! (and, on demand, the payload) as a JSON object whose member order is kept.
//!
//! serde_json's `Map` sorts its keys (the `preserve_order` feature is off), which would make
//! every forged header differ from the original in more than the one member we meant to
//! change. [`Ordered`] reads a top-level object as a list of members in document order and
//! writes it back in that order; nested values are still serde_json values (their own members
//! come out sorted).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE_NO_PAD, URL_SAFE_NO_PAD_INDIFFERENT};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::{ForgeError, ForgeErrorKind};

/// base64url without padding, as JWS uses it.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url, padding tolerated (servers differ; we read what we are given).
pub(crate) fn unb64(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD_INDIFFERENT.decode(s).ok()
}

/// A JSON object as a list of members in document order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Ordered(pub(crate) Vec<(String, Value)>);

impl Ordered {
    /// The value of member `name`; with duplicates the last one, as serde_json, [`to_map`] and
    /// the crate's decoder (and so most verifiers) read it.
    ///
    /// Found by fuzzing (`fuzz/fuzz_targets/jwt_mutate.rs`): this used to return the *first*
    /// duplicate, so for `{"alg":"ES384",…,"alg":"x"}` the forger saw ES384 and built
    /// symmetry-confusion tokens for a token every verifier reads as `alg: x` (and, the other
    /// way round, skipped them for `{"alg":"HS256","alg":"RS256"}`).
    ///
    /// [`to_map`]: Ordered::to_map
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub(crate) fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// Replaces the first member called `name` (dropping any duplicates), or appends it.
    pub(crate) fn set(&mut self, name: &str, value: Value) {
        let mut value = Some(value);
        self.0.retain_mut(|(k, v)| {
            if k != name {
                return true;
            }
            match value.take() {
                Some(new) => {
                    *v = new;
                    true
                }
                None => false,
            }
        });
        if let Some(value) = value {
            self.0.push((name.to_owned(), value));
        }
    }

    /// The members as a serde_json map (the last duplicate wins, as in serde_json).
    pub(crate) fn to_map(&self) -> Map<String, Value> {
        self.0.iter().cloned().collect()
    }

    /// `map` laid out in this object's member order, members new in `map` appended in the
    /// map's own order.
    pub(crate) fn reordered(&self, mut map: Map<String, Value>) -> Ordered {
        let mut out = Vec::with_capacity(map.len());
        for (k, _) in &self.0 {
            if let Some(v) = map.remove(k) {
                out.push((k.clone(), v));
            }
        }
        out.extend(map);
        Ordered(out)
    }

    pub(crate) fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&Value::String(k.clone()).to_string());
            out.push(':');
            out.push_str(&v.to_string());
        }
        out.push('}');
        out
    }

    pub(crate) fn to_b64(&self) -> String {
        b64(self.to_json().as_bytes())
    }

    fn parse(bytes: &[u8]) -> Result<Ordered, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Ordered, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = access.next_entry::<String, Value>()? {
                    members.push((k, v));
                }
                Ok(Ordered(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// A compact JWS split into its segments, with the header decoded.
#[derive(Debug, Clone)]
pub(crate) struct Compact<'a> {
    pub(crate) header_b64: &'a str,
    pub(crate) payload_b64: &'a str,
    pub(crate) signature_b64: &'a str,
    pub(crate) header: Ordered,
}

impl<'a> Compact<'a> {
    /// Splits `token` into exactly three segments and decodes the header.
    pub(crate) fn parse(token: &'a str) -> Result<Compact<'a>, ForgeError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ForgeError::new(ForgeErrorKind::NotThreeSegments, token));
        };
        let header = decode_object(h, "header", token)?;
        Ok(Compact {
            header_b64: h,
            payload_b64: p,
            signature_b64: s,
            header,
        })
    }

    /// The header's `alg`, if it is a string.
    pub(crate) fn alg(&self) -> Option<&str> {
        self.header.get_str("alg")
    }

    /// The payload decoded as a JSON object.
    pub(crate) fn payload(&self, token: &str) -> Result<Ordered, ForgeError> {
        decode_object(self.payload_b64, "payload", token)
    }

    /// The signature bytes.
    pub(crate) fn signature(&self, token: &str) -> Result<Vec<u8>, ForgeError> {
        unb64(self.signature_b64).ok_or_else(|| {
            ForgeError::new(
                ForgeErrorKind::InvalidBase64 {
                    segment: "signature",
                },
                token,
            )
        })
    }

    /// `header.payload`, the bytes a JWS signature covers.
    pub(crate) fn signing_input(&self) -> String {
        format!("{}.{}", self.header_b64, self.payload_b64)
    }
}

fn decode_object(segment: &str, name: &'static str, token: &str) -> Result<Ordered, ForgeError> {
    let bytes = unb64(segment)
        .ok_or_else(|| ForgeError::new(ForgeErrorKind::InvalidBase64 { segment: name }, token))?;
    Ordered::parse(&bytes)
        .map_err(|_| ForgeError::new(ForgeErrorKind::NotAJsonObject { segment: name }, token))
}
