//! The desired state of `wp-config.php`: which keys are pinned ([`PinKey`]) and what
//! each must be ([`Expectation`]), built from the official image's `WORDPRESS_*`
//! variables, a golden copy, and pins from configuration.
//!
//! Data only: it must not compare anything (that is `matching.rs`) or read the
//! environment, and its `Debug` must never show the value a secret key is pinned to.

use std::fmt;

use crate::wordpress_env as image;
use crate::wpconfig::reader::{is_secret, ParsedConfig, Resolved, Value};

/// What the official image reads from the environment: key, variable, default (the
/// defaults are `wordpress_env`'s, which the database check reads too).
pub const OFFICIAL_IMAGE_PINS: [(&str, &str, &str); 5] = [
    ("DB_HOST", "WORDPRESS_DB_HOST", image::DEFAULT_DB_HOST),
    ("DB_USER", "WORDPRESS_DB_USER", image::DEFAULT_DB_USER),
    (
        "DB_PASSWORD",
        "WORDPRESS_DB_PASSWORD",
        image::DEFAULT_DB_PASSWORD,
    ),
    ("DB_NAME", "WORDPRESS_DB_NAME", image::DEFAULT_DB_NAME),
    (
        "$table_prefix",
        "WORDPRESS_TABLE_PREFIX",
        image::DEFAULT_TABLE_PREFIX,
    ),
];

/// What a pin is about: a constant, or the `$table_prefix` variable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PinKey {
    /// A `define('NAME', …)`.
    Define(String),
    /// `$table_prefix`.
    TablePrefix,
}

impl PinKey {
    /// `"$table_prefix"` (or `"table_prefix"`) is the variable; anything else a constant.
    pub fn parse(name: &str) -> PinKey {
        match name {
            "$table_prefix" | "table_prefix" => PinKey::TablePrefix,
            _ => PinKey::Define(name.to_string()),
        }
    }

    /// Whether values under this key must never be shown.
    pub fn is_secret(&self) -> bool {
        match self {
            PinKey::Define(name) => is_secret(name),
            PinKey::TablePrefix => false,
        }
    }
}

/// `DB_HOST`, or `$table_prefix`.
impl fmt::Display for PinKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinKey::Define(name) => f.write_str(name),
            PinKey::TablePrefix => f.write_str("$table_prefix"),
        }
    }
}

/// What a pinned key must be.
#[derive(Clone, PartialEq)]
pub enum Expectation {
    /// Read from this variable (`getenv_docker`, `getenv` or `$_ENV`), or a literal
    /// equal to its value (its default when unset). Another variable is drift even
    /// when its value happens to be equal.
    Env {
        /// The variable, e.g. `WORDPRESS_DB_HOST`.
        var: String,
        /// The value the official image uses when the variable is unset.
        default: String,
    },
    /// Any expression whose effective value equals this one (see the module's
    /// matching rules in [`compare`](super::compare)).
    Literal(Resolved),
    /// The same expression as the golden copy, or the same effective value.
    Golden(Value),
}

/// One pinned key and what it must be.
#[derive(Clone, PartialEq)]
pub struct Pin {
    /// The constant or variable.
    pub key: PinKey,
    /// What it must be.
    pub expectation: Expectation,
}

/// Hides the expectation of secret keys, so `{:?}` on a [`Desired`] is safe to log.
impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = match &self.expectation {
            _ if self.key.is_secret() => "<masked>".to_string(),
            Expectation::Env { var, .. } if is_secret(var) => format!("env {var}"),
            Expectation::Env { var, default } => format!("env {var} (default {default:?})"),
            Expectation::Literal(value) => value.to_string(),
            Expectation::Golden(value) => format!("{} (golden)", value.describe()),
        };
        f.debug_struct("Pin")
            .field("key", &self.key)
            .field("expectation", &shown)
            .finish()
    }
}

/// The desired state: a list of pins, at most one per key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Desired {
    pins: Vec<Pin>,
}

impl Desired {
    /// No pins at all.
    pub fn new() -> Self {
        Desired::default()
    }

    /// The pins of the official image: `DB_HOST`, `DB_USER`, `DB_PASSWORD`, `DB_NAME`
    /// and `$table_prefix` from the `WORDPRESS_*` variables, with its defaults.
    pub fn official_image() -> Self {
        OFFICIAL_IMAGE_PINS
            .iter()
            .fold(Desired::new(), |desired, (key, var, default)| {
                desired.with_pin(
                    PinKey::parse(key),
                    Expectation::Env {
                        var: (*var).to_string(),
                        default: (*default).to_string(),
                    },
                )
            })
    }

    /// Adds a pin; a later pin for the same key replaces the earlier one (so
    /// `official_image().with_golden(…).with_literal(…)` lets configuration win).
    pub fn with_pin(mut self, key: PinKey, expectation: Expectation) -> Self {
        match self.pins.iter_mut().find(|pin| pin.key == key) {
            Some(pin) => pin.expectation = expectation,
            None => self.pins.push(Pin { key, expectation }),
        }
        self
    }

    /// Pins `name` (a constant, or `$table_prefix`) to a value from configuration,
    /// e.g. `WP_DEBUG = false`.
    pub fn with_literal(self, name: &str, value: Resolved) -> Self {
        self.with_pin(PinKey::parse(name), Expectation::Literal(value))
    }

    /// Pins every define of a golden copy (the first of each name, as PHP keeps it)
    /// and its `$table_prefix` to the golden's expressions. Pass
    /// [`effective_config`](super::effective_config) of the golden to include its
    /// `WORDPRESS_CONFIG_EXTRA`.
    pub fn with_golden(self, golden: &ParsedConfig) -> Self {
        let mut desired = self;
        let mut seen = std::collections::HashSet::new();
        for define in &golden.defines {
            if seen.insert(define.name.as_str()) {
                let key = PinKey::Define(define.name.clone());
                desired = desired.with_pin(key, Expectation::Golden(define.value.clone()));
            }
        }
        if let Some(prefix) = golden.table_prefix() {
            let expectation = Expectation::Golden(prefix.value.clone());
            desired = desired.with_pin(PinKey::TablePrefix, expectation);
        }
        desired
    }

    /// The pins, in the order they were first added.
    pub fn pins(&self) -> &[Pin] {
        &self.pins
    }
}
