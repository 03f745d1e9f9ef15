//! A small owned JSON tree for results and events the control plane builds,
//! written to the wire by dsp-core's allocation-free [`JsonWriter`].
//!
//! The control plane is std and allocates freely; only the codec underneath
//! is shared with no_std hosts.

use dsp_core::proto::{EncodeError, JsonWriter, Str, ToJson};

/// An owned JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A non-negative integer.
    UInt(u64),
    /// A float (non-finite values encode as `null`).
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, members in insertion order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs.
    pub fn obj<const N: usize>(members: [(&str, Json); N]) -> Json {
        Json::Obj(
            members
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// A number, or `null` when not finite (undefined loudness).
    pub fn num_or_null(x: f64) -> Json {
        if x.is_finite() {
            Json::Num(x)
        } else {
            Json::Null
        }
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}
impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::Str(s.to_string())
    }
}
impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::Str(s)
    }
}
impl From<u64> for Json {
    fn from(n: u64) -> Self {
        Json::UInt(n)
    }
}
impl From<usize> for Json {
    fn from(n: usize) -> Self {
        Json::UInt(n as u64)
    }
}
impl From<u32> for Json {
    fn from(n: u32) -> Self {
        Json::UInt(n as u64)
    }
}
impl From<f64> for Json {
    fn from(x: f64) -> Self {
        Json::num_or_null(x)
    }
}
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Self {
        v.map_or(Json::Null, Into::into)
    }
}

impl ToJson for Json {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result<(), EncodeError> {
        match self {
            Json::Null => w.null(),
            Json::Bool(b) => w.bool(*b),
            Json::UInt(n) => w.u64(*n),
            Json::Num(x) if x.is_finite() => w.f64(*x),
            Json::Num(_) => w.null(),
            Json::Str(s) => w.str(s),
            Json::Arr(items) => {
                w.begin_array()?;
                for item in items {
                    item.to_json(w)?;
                }
                w.end_array()
            }
            Json::Obj(members) => {
                w.begin_object()?;
                for (k, v) in members {
                    w.key(k)?;
                    v.to_json(w)?;
                }
                w.end_object()
            }
        }
    }
}

/// A protocol string as an owned `String` (escapes resolved).
pub fn owned(s: Str<'_>) -> String {
    if let Some(plain) = s.as_str() {
        return plain.to_string();
    }
    // Unescaped text is never longer than its escaped form.
    let mut buf = vec![0u8; s.len().max(4)];
    match s.unescape_into(&mut buf) {
        Ok(text) => text.to_string(),
        Err(_) => s.chars().collect(),
    }
}
