//! The desired state of `wp-config.php` and the comparison of what the reader found
//! against it: which pinned keys drifted, described for people, plus whole-file
//! fingerprints that catch changes outside the pinned keys.
//!
//! Pure: no I/O, no reading of the process environment (callers pass a lookup closure
//! that has already resolved the `_FILE` variants, exactly as the official image's
//! `getenv_docker` does), no panics. It must never put the value of a secret (see
//! [`is_secret`]) into any string it produces: a drifted secret is only "changed".
//!
//! This file holds the drift report ([`Drift`], [`DriftKind`]); the desired state
//! lives in `drift/desired.rs`, the merge of `WORDPRESS_CONFIG_EXTRA` in
//! `drift/effective.rs`, the matching rules in `drift/matching.rs`, the fingerprints
//! in `drift/fingerprints.rs`, and the unit tests in `drift/tests.rs`.

use std::fmt;

pub use super::reader::is_secret;
use super::reader::Value;

mod desired;
mod effective;
mod fingerprints;
mod matching;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use desired::{Desired, Expectation, Pin, PinKey, OFFICIAL_IMAGE_PINS};
pub use effective::effective_config;
pub use fingerprints::{fingerprint, hex, normalized_fingerprint, unhex};
pub use matching::compare;

/// The environment variable whose content the official image `eval()`s as PHP.
pub const CONFIG_EXTRA_VAR: &str = "WORDPRESS_CONFIG_EXTRA";

/// How a pinned key drifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// Present with another value or source.
    Changed,
    /// Present, but the reader cannot evaluate it (counts as drift: unverifiable).
    Unevaluable,
    /// Not defined at all.
    Missing,
}

/// One drifted key. Its strings never contain a secret's value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Drift {
    /// `DB_HOST`, `$table_prefix`, …
    pub key: String,
    /// How it drifted.
    pub kind: DriftKind,
    /// The key is secret: `expected` and `found` say nothing about values.
    pub secret: bool,
    /// What the desired state wants, e.g. `env WORDPRESS_DB_HOST ("db")` or `false`.
    pub expected: String,
    /// What the file has, e.g. `literal "hoge"`, `missing` or (secrets) `changed`.
    pub found: String,
}

/// `DB_HOST: expected env WORDPRESS_DB_HOST ("db"), found literal "hoge"`,
/// `DB_NAME: expected env WORDPRESS_DB_NAME ("wordpress"), missing`,
/// `DB_PASSWORD: changed`.
impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.secret, self.kind) {
            (true, _) => write!(f, "{}: {}", self.key, self.found),
            (false, DriftKind::Missing) => {
                write!(
                    f,
                    "{}: expected {}, {}",
                    self.key, self.expected, self.found
                )
            }
            (false, _) => write!(
                f,
                "{}: expected {}, found {}",
                self.key, self.expected, self.found
            ),
        }
    }
}

/// How the CLI shows a parsed value: [`Value::describe`], or
/// [`Value::describe_masked`] when `name` is a secret.
pub fn masked_value_description(name: &str, value: &Value) -> String {
    if is_secret(name) {
        value.describe_masked()
    } else {
        value.describe()
    }
}
