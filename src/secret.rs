//! A string that never prints itself. `Debug` and `Display` show `***`; only
//! `expose()` hands out the value, so every place a secret leaves this type is greppable.
//!
//! And [`Redactor`]: masks known secret values wherever they appear in a text, for
//! the places where a secret can end up under another name (the database password
//! typed into `DB_USER`, a pin whose name says nothing).

use std::fmt;

/// A password or key. Compare with `==`; print it and you get `***`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself: only for handing it to the database driver.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Values shorter than this are not masked by value: masking a two-letter password
/// everywhere would garble every message (such a password is masked by name only).
pub const MIN_REDACTED_LEN: usize = 4;

/// Known secret values, masked (as `***`) wherever they appear.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so a value that contains another is masked whole.
    values: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} values)", self.values.len())
    }
}

impl Redactor {
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Adds a value to mask (ignored when shorter than [`MIN_REDACTED_LEN`]).
    pub fn with(mut self, value: &str) -> Self {
        if value.chars().count() >= MIN_REDACTED_LEN && !self.values.iter().any(|v| v == value) {
            self.values.push(value.to_string());
            self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
        self
    }

    /// `text` with every known secret value replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        for value in &self.values {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), "***");
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_are_masked_wherever_they_appear() {
        let redactor = Redactor::new()
            .with("hunter2-long")
            .with("hunter2")
            .with("ab");
        assert_eq!(
            redactor.redact("DB_USER: found literal \"hunter2-long\" and hunter2, ab"),
            "DB_USER: found literal \"***\" and ***, ab"
        );
        assert_eq!(Redactor::new().redact("plain"), "plain");
    }

    #[test]
    fn secret_never_formats_its_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(
            format!("{secret} {secret:?} {:?}", Some(&secret)),
            "*** *** Some(***)"
        );
        assert_eq!(secret.expose(), "hunter2");
    }
}
