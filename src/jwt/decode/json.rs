//! JSON parsing for the decoder that keeps what serde_json drops: the JSON pointers of object
//! members that appear more than once (the last value wins, as in most libraries).
//!
//! Pure: it knows nothing about tokens or anomalies; the decoder turns the pointers into
//! anomalies. Depth is bounded by serde_json's recursion limit.

use std::fmt;
use std::fmt::Write as _;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses JSON into a [`Value`] and lists the JSON pointers of repeated object members.
/// Depth is bounded by serde_json's recursion limit.
pub(crate) fn parse_json(text: &str) -> Result<(Value, Vec<String>), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut dups = Vec::new();
    let mut path = String::new();
    let value = Checked {
        dups: &mut dups,
        path: &mut path,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok((value, dups))
}

/// Builds a [`Value`] like serde_json does (last duplicate wins) while recording duplicates.
/// `path` is the JSON pointer of the value being read: one buffer for the whole document,
/// extended on the way in and cut back on the way out, copied only for a duplicate.
struct Checked<'a> {
    dups: &'a mut Vec<String>,
    path: &'a mut String,
}

fn escape_pointer(key: &str) -> std::borrow::Cow<'_, str> {
    if key.contains(['~', '/']) {
        key.replace('~', "~0").replace('/', "~1").into()
    } else {
        key.into()
    }
}

impl<'de> DeserializeSeed<'de> for Checked<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        let base = self.path.len();
        loop {
            // Writing to a String cannot fail.
            let _ = write!(self.path, "/{}", items.len());
            let seed = Checked {
                dups: &mut *self.dups,
                path: &mut *self.path,
            };
            let next = seq.next_element_seed(seed);
            self.path.truncate(base);
            match next? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let base = self.path.len();
        while let Some(key) = map.next_key::<String>()? {
            self.path.push('/');
            self.path.push_str(&escape_pointer(&key));
            let value = map.next_value_seed(Checked {
                dups: &mut *self.dups,
                path: &mut *self.path,
            });
            let value = match value {
                Ok(v) => v,
                Err(e) => {
                    self.path.truncate(base);
                    return Err(e);
                }
            };
            if out.insert(key, value).is_some() {
                self.dups.push(self.path.clone());
            }
            self.path.truncate(base);
        }
        Ok(Value::Object(out))
    }
}
