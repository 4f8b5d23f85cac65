//! Turns the merged figment dictionary into a typed [`Config`](super::Config): the
//! [`Validator`] that rejects unknown keys, reads each key as the type it must have
//! (string, file, boolean, bounded number, bounded duration, one of a few names),
//! and collects one line per bad key instead of stopping at the first; plus the
//! duration and HTTP status parsers that `wp-sentinel` also uses elsewhere.
//!
//! It must not build the figment or read the process environment (`config.rs` does
//! that), and it must not start anything. The per-section rules (defaults and bounds
//! of each key) live in `validate/sections.rs`.

use std::path::PathBuf;
use std::time::Duration;

use figment::value::{Dict, Value};

use super::{StatusRange, ENV_PREFIX, SECTIONS};

mod sections;

pub(super) struct Validator {
    pub(super) dict: Dict,
    pub(super) errors: Vec<String>,
}

/// `mysql.interval` → `mysql.interval (WP_SENTINEL_MYSQL__INTERVAL)`.
fn key_label(key: &str) -> String {
    format!(
        "{key} ({ENV_PREFIX}{})",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

/// A whole number, signed or not: figment reads `2` from an environment variable
/// as an unsigned number, which `to_i128` alone does not accept.
fn integer_of(value: &Value) -> Option<i128> {
    value
        .to_i128()
        .or_else(|| value.to_u128().and_then(|n| i128::try_from(n).ok()))
}

/// Any number, integer or float.
fn number_of(value: &Value) -> Option<f64> {
    integer_of(value)
        .map(|n| n as f64)
        .or_else(|| value.to_f64())
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(_, text) => format!("{text:?}"),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, _) => number_of(value)
            .map(|n| n.to_string())
            .unwrap_or_else(|| "a number".into()),
        Value::Dict(..) => "a table".into(),
        Value::Array(..) => "a list".into(),
        _ => "an empty value".into(),
    }
}

impl Validator {
    pub(super) fn reject_unknown_keys(&mut self) {
        let mut unknown = Vec::new();
        for (key, value) in &self.dict {
            match SECTIONS.iter().find(|(name, _)| name == key) {
                Some((section, keys)) if !section.is_empty() => match value {
                    Value::Dict(_, inner) => {
                        for inner_key in inner.keys().filter(|k| !keys.contains(&k.as_str())) {
                            unknown.push(format!("{section}.{inner_key}"));
                        }
                    }
                    other => self.errors.push(format!(
                        "{section}: expected a table, found {}",
                        describe(other)
                    )),
                },
                _ if SECTIONS[0].1.contains(&key.as_str()) => {}
                _ => unknown.push(key.clone()),
            }
        }
        for key in unknown {
            self.errors
                .push(format!("{}: unknown key", key_label(&key)));
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        let mut parts = key.split('.');
        let first = self.dict.get(parts.next()?)?;
        match parts.next() {
            None => Some(first),
            Some(inner) => match first {
                Value::Dict(_, dict) => dict.get(inner),
                _ => None,
            },
        }
    }

    fn bad(&mut self, key: &str, expected: &str, value: &Value) {
        self.errors.push(format!(
            "{}: expected {expected}, found {}",
            key_label(key),
            describe(value)
        ));
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.get(key).cloned() {
            None => None,
            Some(Value::String(_, text)) => Some(text),
            Some(value @ Value::Num(..)) => number_of(&value).map(|n| n.to_string()),
            Some(value) => {
                self.bad(key, "a string", &value);
                None
            }
        }
    }

    /// A path that must name an existing file.
    fn existing_file(&mut self, key: &str) -> Option<PathBuf> {
        let path = self.string(key).map(PathBuf::from)?;
        if !path.is_file() {
            let label = key_label(key);
            self.errors.push(format!(
                "{label}: {} is not a readable file",
                path.display()
            ));
        }
        Some(path)
    }

    fn boolean(&mut self, key: &str, default: bool) -> bool {
        match self.get(key).cloned() {
            None => default,
            Some(value) => match value.to_bool_lossy() {
                Some(b) => b,
                None => {
                    self.bad(key, "true or false", &value);
                    default
                }
            },
        }
    }

    fn number(&mut self, key: &str, default: u64, min: u64, max: u64) -> u64 {
        let Some(value) = self.get(key).cloned() else {
            return default;
        };
        let parsed = integer_of(&value).or_else(|| match &value {
            Value::String(_, text) => text.trim().parse::<i128>().ok(),
            _ => None,
        });
        match parsed {
            Some(n) if n >= i128::from(min) && n <= i128::from(max) => n as u64,
            _ => {
                self.bad(key, &format!("a whole number from {min} to {max}"), &value);
                default
            }
        }
    }

    fn duration(&mut self, key: &str, default: Duration, min: Duration, max: Duration) -> Duration {
        let Some(value) = self.get(key).cloned() else {
            return default;
        };
        let parsed = match &value {
            Value::String(_, text) => parse_duration(text),
            Value::Num(..) => number_of(&value)
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map(Duration::from_secs_f64),
            _ => None,
        };
        match parsed {
            Some(d) if d >= min && d <= max => d,
            _ => {
                let range = format!(
                    "a duration from {} to {} (such as 5s or 250ms)",
                    show(min),
                    show(max)
                );
                self.bad(key, &range, &value);
                default
            }
        }
    }

    fn choice<T: Copy>(&mut self, key: &str, default: T, choices: &[(&str, T)]) -> T {
        let Some(value) = self.get(key).cloned() else {
            return default;
        };
        let text = match &value {
            Value::String(_, text) => text.trim().to_ascii_lowercase(),
            _ => String::new(),
        };
        match choices.iter().find(|(name, _)| *name == text) {
            Some((_, choice)) => *choice,
            None => {
                let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
                self.bad(key, &format!("one of {}", names.join(", ")), &value);
                default
            }
        }
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn show(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// `250ms`, `5s`, `1.5s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// `200`, `200-399`, `2xx`.
pub fn parse_status_range(text: &str) -> Option<StatusRange> {
    let text = text.trim();
    let valid = |n: u16| (100..=599).contains(&n);
    let range = if let Some(class) = text.strip_suffix("xx").or_else(|| text.strip_suffix("XX")) {
        let digit: u16 = class.parse().ok()?;
        StatusRange {
            low: digit * 100,
            high: digit * 100 + 99,
        }
    } else if let Some((low, high)) = text.split_once('-') {
        StatusRange {
            low: low.trim().parse().ok()?,
            high: high.trim().parse().ok()?,
        }
    } else {
        let status = text.parse().ok()?;
        StatusRange {
            low: status,
            high: status,
        }
    };
    (valid(range.low) && valid(range.high) && range.low <= range.high).then_some(range)
}
