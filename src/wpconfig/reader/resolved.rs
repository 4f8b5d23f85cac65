//! [`Resolved`], a concrete PHP value, and PHP's conversions between the scalar
//! types: truthiness, string conversion, casts.
//!
//! It must follow PHP where the reader relies on it (`"0"` is falsy, `true . ""` is
//! `"1"`), and must not panic on any value, however odd (NaN, huge floats).

use std::fmt;

use super::CastKind;

/// A concrete PHP value: what a [`Value`](super::Value) evaluates to, and what a pin
/// in `wpconfig.pins` says a `define` must be (the validator builds a boolean, a
/// whole number or a string from the TOML or environment value).
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// `null`.
    Null,
}

impl Resolved {
    /// PHP's truthiness: `""`, `"0"`, `0`, `0.0`, `false` and `null` are false.
    pub fn truthy(&self) -> bool {
        match self {
            Resolved::Bool(flag) => *flag,
            Resolved::Int(number) => *number != 0,
            Resolved::Float(number) => *number != 0.0,
            Resolved::Str(text) => !(text.is_empty() || text == "0"),
            Resolved::Null => false,
        }
    }

    /// PHP's string conversion: `true` is `"1"`, `false` and `null` are `""`.
    /// Floats follow PHP for ordinary values (`1.0` is `"1"`), not for exponents.
    pub fn to_php_string(&self) -> String {
        match self {
            Resolved::Bool(true) => "1".to_string(),
            Resolved::Bool(false) | Resolved::Null => String::new(),
            Resolved::Int(number) => number.to_string(),
            Resolved::Float(number) => php_float_string(*number),
            Resolved::Str(text) => text.clone(),
        }
    }

    pub(super) fn cast(self, kind: CastKind) -> Resolved {
        match kind {
            CastKind::Bool => Resolved::Bool(self.truthy()),
            CastKind::String => Resolved::Str(self.to_php_string()),
            CastKind::Int => Resolved::Int(match &self {
                Resolved::Float(number) if number.is_finite() => *number as i64,
                Resolved::Str(text) => leading_integer(text),
                other => i64::from(other.truthy()),
            }),
            CastKind::Float => Resolved::Float(match &self {
                Resolved::Int(number) => *number as f64,
                Resolved::Float(number) => *number,
                Resolved::Str(text) => text.trim().parse().unwrap_or(0.0),
                other => f64::from(u8::from(other.truthy())),
            }),
        }
    }
}

/// Shown like a PHP literal: `42`, `1.5`, `true`, `null`, and a string in double
/// quotes (with Rust's escapes, so control characters cannot break the line).
impl fmt::Display for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolved::Str(text) => write!(f, "{text:?}"),
            Resolved::Bool(flag) => write!(f, "{flag}"),
            Resolved::Null => f.write_str("null"),
            Resolved::Int(_) | Resolved::Float(_) => f.write_str(&self.to_php_string()),
        }
    }
}

fn php_float_string(number: f64) -> String {
    if number.is_nan() {
        "NAN".to_string()
    } else if number.is_infinite() {
        if number > 0.0 { "INF" } else { "-INF" }.to_string()
    } else if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{number:.0}")
    } else {
        format!("{number}")
    }
}

/// `(int)"12abc"` is 12 in PHP: the leading integer, or 0.
fn leading_integer(text: &str) -> i64 {
    let trimmed = text.trim_start();
    let digits_end = trimmed
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(trimmed.len(), |(i, _)| i);
    trimmed
        .get(..digits_end)
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}
