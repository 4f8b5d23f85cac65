//! Decoding of PHP literals: numbers in every base PHP accepts, single-quoted strings
//! and double-quoted strings with their escapes.
//!
//! It works on one token's text at a time. It must not guess: a double-quoted string
//! that interpolates a variable is not a literal (`None`), and a number it cannot
//! read stays [`Value::Unknown`].

use super::bytes::is_ident_start;
use super::Value;

/// PHP numeric literal: decimal, `0x`, `0b`, `0o`, legacy octal `0755`, `_`
/// separators, floats; integers too large for `i64` become floats as in PHP.
pub(super) fn decode_number(text: &str) -> Value {
    // Plain decimal integers (the common case) need no cleaning.
    let plain =
        text.bytes().all(|b| b.is_ascii_digit()) && !(text.len() > 1 && text.starts_with('0'));
    if plain {
        if let Ok(number) = text.parse::<i64>() {
            return Value::Int(number);
        }
    }
    let clean: String = text
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    let radix_digits = if let Some(digits) = clean.strip_prefix("0x") {
        Some((16, digits))
    } else if let Some(digits) = clean.strip_prefix("0b") {
        Some((2, digits))
    } else if let Some(digits) = clean.strip_prefix("0o") {
        Some((8, digits))
    } else if clean.len() > 1 && clean.starts_with('0') && clean.bytes().all(|b| b.is_ascii_digit())
    {
        clean.get(1..).map(|digits| (8, digits))
    } else {
        None
    };
    if let Some((radix, digits)) = radix_digits {
        return match i64::from_str_radix(digits, radix) {
            Ok(number) => Value::Int(number),
            Err(_) => u128::from_str_radix(digits, radix)
                .map_or(Value::Unknown(text.to_string()), |n| Value::Float(n as f64)),
        };
    }
    if clean.contains(['.', 'e']) {
        return clean
            .parse()
            .map_or(Value::Unknown(text.to_string()), Value::Float);
    }
    match clean.parse::<i64>() {
        Ok(number) => Value::Int(number),
        Err(_) => clean
            .parse()
            .map_or(Value::Unknown(text.to_string()), Value::Float),
    }
}

/// `'…'`: only `\'` and `\\` are escapes.
pub(super) fn decode_single(raw: &str) -> String {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
    if !inner.contains('\\') {
        return inner.to_string();
    }
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(backslash) = rest.find('\\') {
        out.push_str(rest.get(..backslash).unwrap_or_default());
        let after = rest.get(backslash + 1..).unwrap_or_default();
        match after.as_bytes().first() {
            Some(&next @ (b'\'' | b'\\')) => {
                out.push(char::from(next));
                rest = after.get(1..).unwrap_or_default();
            }
            _ => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `"…"` with PHP's escapes; `None` when it interpolates a variable (`"$x"`, `"{$x}"`).
pub(super) fn decode_double(raw: &str) -> Option<String> {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
    let special = |b: &u8| matches!(b, b'\\' | b'$' | b'{');
    if !inner.as_bytes().iter().any(special) {
        return Some(inner.to_string());
    }
    let inner = inner.as_bytes();
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while let Some(&c) = inner.get(i) {
        let next = inner.get(i + 1).copied().unwrap_or(0);
        match c {
            b'$' if is_ident_start(next) || next == b'{' => return None,
            b'{' if next == b'$' => return None,
            b'\\' => {
                i += 1 + push_escape(inner.get(i + 1..).unwrap_or(&[]), &mut out);
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Some(match String::from_utf8(out) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    })
}

/// Decodes the escape after a backslash into `out`; returns how many bytes it used.
fn push_escape(rest: &[u8], out: &mut Vec<u8>) -> usize {
    let Some(&c) = rest.first() else {
        out.push(b'\\');
        return 0;
    };
    let simple = match c {
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        b'v' => Some(0x0b),
        b'e' => Some(0x1b),
        b'f' => Some(0x0c),
        b'\\' | b'$' | b'"' => Some(c),
        _ => None,
    };
    if let Some(byte) = simple {
        out.push(byte);
        return 1;
    }
    let digits = |from: usize, max: usize, radix: u32| {
        rest.iter()
            .skip(from)
            .take(max)
            .take_while(|b| char::from(**b).is_digit(radix))
            .count()
    };
    let numeric = |from: usize, len: usize, radix: u32| {
        let text = std::str::from_utf8(rest.get(from..from + len)?).ok()?;
        u32::from_str_radix(text, radix).ok()
    };
    if c.is_ascii_digit() && c < b'8' {
        let len = digits(0, 3, 8);
        out.push((numeric(0, len, 8).unwrap_or(0) & 0xff) as u8);
        return len;
    }
    if c == b'x' && digits(1, 2, 16) > 0 {
        let len = digits(1, 2, 16);
        out.push(numeric(1, len, 16).unwrap_or(0) as u8);
        return 1 + len;
    }
    if c == b'u' && rest.get(1) == Some(&b'{') {
        let len = digits(2, 8, 16);
        let decoded = numeric(2, len, 16).and_then(char::from_u32);
        if let (Some(ch), Some(b'}')) = (decoded, rest.get(2 + len)) {
            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
            return 3 + len;
        }
    }
    out.push(b'\\');
    0
}
