//! Feature property values.

/// A feature property value, one of the seven `Value` kinds of `vector_tile.proto` v2.1.
///
/// Strings are borrowed so that adding thousands of features does not allocate per property.
/// Conversions: `&str`/`&String` → [`Value::String`], `f64` → [`Value::Double`],
/// `f32` → [`Value::Float`], signed integers → [`Value::SInt`] (zigzag, compact for negative
/// numbers), unsigned integers → [`Value::UInt`], `bool` → [`Value::Bool`].
///
/// Equal values are stored once per layer. Values of different kinds are different values:
/// `UInt(1)` and `SInt(1)` are two entries, and doubles are compared by their bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// `string_value`.
    String(&'a str),
    /// `float_value` (32-bit).
    Float(f32),
    /// `double_value` (64-bit).
    Double(f64),
    /// `int_value` (`int64`; negative numbers take 10 bytes, prefer [`Value::SInt`]).
    Int(i64),
    /// `uint_value` (`uint64`).
    UInt(u64),
    /// `sint_value` (`sint64`, zigzag).
    SInt(i64),
    /// `bool_value`.
    Bool(bool),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::String(v)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::String(v)
    }
}

impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}

impl From<f32> for Value<'_> {
    fn from(v: f32) -> Self {
        Value::Float(v)
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

macro_rules! from_int {
    ($variant:ident, $wide:ty: $($t:ty),*) => {$(
        impl From<$t> for Value<'_> {
            fn from(v: $t) -> Self {
                Value::$variant(<$wide>::from(v))
            }
        }
    )*};
}
from_int!(SInt, i64: i8, i16, i32, i64);
from_int!(UInt, u64: u8, u16, u32, u64);
