//! The desired state of `wp-config.php` and the comparison of what the reader found
//! against it: which pinned keys drifted, described for people, plus whole-file
//! fingerprints that catch changes outside the pinned keys.
//!
//! Pure: no I/O, no reading of the process environment (callers pass a lookup closure
//! that has already resolved the `_FILE` variants, exactly as the official image's
//! `getenv_docker` does), no panics. It must never put the value of a secret (see
//! [`is_secret`]) into any string it produces: a drifted secret is only "changed".

use std::fmt;

use sha2::{Digest, Sha256};

pub use super::reader::is_secret;
use super::reader::{self, Origin, ParsedConfig, Resolved, Value};

/// The environment variable whose content the official image `eval()`s as PHP.
pub const CONFIG_EXTRA_VAR: &str = "WORDPRESS_CONFIG_EXTRA";

/// What the official image reads from the environment: key, variable, default.
pub const OFFICIAL_IMAGE_PINS: [(&str, &str, &str); 5] = [
    ("DB_HOST", "WORDPRESS_DB_HOST", "mysql"),
    ("DB_USER", "WORDPRESS_DB_USER", "example username"),
    ("DB_PASSWORD", "WORDPRESS_DB_PASSWORD", "example password"),
    ("DB_NAME", "WORDPRESS_DB_NAME", "wordpress"),
    ("$table_prefix", "WORDPRESS_TABLE_PREFIX", "wp_"),
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
    /// matching rules in [`compare`]).
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
        let shown = if self.key.is_secret() {
            "<masked>".to_string()
        } else {
            describe_expectation(&self.expectation, &|_| None, false)
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
    /// [`effective_config`] of the golden to include its `WORDPRESS_CONFIG_EXTRA`.
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
                write!(f, "{}: expected {}, {}", self.key, self.expected, self.found)
            }
            (false, _) => write!(
                f,
                "{}: expected {}, found {}",
                self.key, self.expected, self.found
            ),
        }
    }
}

/// The configuration PHP ends up with: the file's defines and `$table_prefix`
/// assignments, with the code of each `eval()`ed variable (the official image's
/// `WORDPRESS_CONFIG_EXTRA`) parsed as PHP and spliced in where the `eval` runs. The
/// file's earlier defines still win, as in PHP; a later `$table_prefix` overrides.
/// Only one level: `eval`s inside the evaluated code are not followed.
pub fn effective_config(
    parsed: &ParsedConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> ParsedConfig {
    let mut merged = ParsedConfig {
        defines: Vec::new(),
        table_prefix_assignments: Vec::new(),
        ..parsed.clone()
    };
    let (mut defines_done, mut assignments_done) = (0, 0);
    for eval in &parsed.evals_env {
        // `if ($configExtra = getenv_docker(...))`: empty or "0" evaluates nothing.
        let Some(code) = env(&eval.var).filter(|code| !code.is_empty() && code != "0") else {
            continue;
        };
        let extra = reader::parse(format!("<?php {code}").as_bytes());
        let defines_end = eval.defines_before.clamp(defines_done, parsed.defines.len());
        let assignments_end = eval
            .assignments_before
            .clamp(assignments_done, parsed.table_prefix_assignments.len());
        let file_defines = parsed.defines.get(defines_done..defines_end);
        merged.defines.extend(file_defines.unwrap_or(&[]).iter().cloned());
        let file_assignments = parsed
            .table_prefix_assignments
            .get(assignments_done..assignments_end);
        merged
            .table_prefix_assignments
            .extend(file_assignments.unwrap_or(&[]).iter().cloned());
        (defines_done, assignments_done) = (defines_end, assignments_end);
        let origin = Origin::EnvEval(eval.var.clone());
        merged.defines.extend(extra.defines.into_iter().map(|mut define| {
            define.origin = origin.clone();
            define
        }));
        merged.table_prefix_assignments.extend(
            extra
                .table_prefix_assignments
                .into_iter()
                .map(|mut assignment| {
                    assignment.origin = origin.clone();
                    assignment
                }),
        );
        merged.includes.extend(extra.includes);
    }
    let rest_defines = parsed.defines.get(defines_done..).unwrap_or(&[]);
    merged.defines.extend(rest_defines.iter().cloned());
    let rest_assignments = parsed
        .table_prefix_assignments
        .get(assignments_done..)
        .unwrap_or(&[]);
    merged
        .table_prefix_assignments
        .extend(rest_assignments.iter().cloned());
    merged
}

/// Compares the effective configuration (see [`effective_config`]) with every pin.
///
/// Matching rules:
/// - [`Expectation::Env`]: the expression may read only the pinned variable (through
///   `getenv_docker`, `getenv` or `$_ENV`; the WordPress container gets the same
///   environment through `envFrom`) or be a literal, and its effective value under
///   `env` must equal the variable's value (its default when unset). So a changed
///   `getenv_docker` default only drifts while the variable is unset, and another
///   variable is drift even when its value happens to be equal.
/// - [`Expectation::Literal`]: the effective value under `env` must be equal.
/// - [`Expectation::Golden`]: the same expression, or the same effective value.
/// - Anything the reader cannot evaluate is drift ([`DriftKind::Unevaluable`]); so is a
///   missing key ([`DriftKind::Missing`]).
///
/// Equality is deliberately stricter than PHP's `==`: strings compare exactly;
/// numbers compare numerically; a number and a string are equal only when the string
/// is the number's canonical form (`"3"` and `3`); a boolean equals only a boolean or
/// the integers 0 and 1. So `'false'` (truthy in PHP!), `''` and `null` do not satisfy
/// a pin of `false`: they are shown to a person rather than silently accepted.
pub fn compare(
    parsed: &ParsedConfig,
    desired: &Desired,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<Drift> {
    let effective = effective_config(parsed, env);
    desired
        .pins()
        .iter()
        .filter_map(|pin| check_pin(&effective, pin, env))
        .collect()
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

/// SHA-256 of the file's bytes: any change at all.
pub fn fingerprint(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 of the tokens PHP sees (see [`reader::for_each_normalized_token`]):
/// unchanged by edits to comments or whitespace, changed by anything else.
pub fn normalized_fingerprint(bytes: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    reader::for_each_normalized_token(bytes, &mut |token| {
        // Length-prefixed, so that token boundaries cannot collide.
        hasher.update((token.len() as u64).to_le_bytes());
        hasher.update(token.as_bytes());
    });
    hasher.finalize().into()
}

/// Lower-case hexadecimal of a fingerprint, for logs and metrics labels.
pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

enum Verdict {
    Matches,
    Differs,
    Unevaluable,
}

fn check_pin(
    config: &ParsedConfig,
    pin: &Pin,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Drift> {
    let secret = pin.key.is_secret();
    let found = match &pin.key {
        PinKey::Define(name) => config.get(name).map(|d| (&d.value, &d.origin)),
        PinKey::TablePrefix => config.table_prefix().map(|a| (&a.value, &a.origin)),
    };
    let drift = |kind, found| Drift {
        key: pin.key.to_string(),
        kind,
        secret,
        expected: describe_expectation(&pin.expectation, env, secret),
        found,
    };
    let Some((value, origin)) = found else {
        return Some(drift(DriftKind::Missing, describe_missing(config)));
    };
    let kind = match judge(&pin.expectation, value, env) {
        Verdict::Matches => return None,
        Verdict::Differs => DriftKind::Changed,
        Verdict::Unevaluable => DriftKind::Unevaluable,
    };
    let found = match (secret, kind) {
        (true, DriftKind::Unevaluable) => "changed (unevaluable expression)".to_string(),
        (true, _) => "changed".to_string(),
        (false, _) => describe_found(value, origin, env),
    };
    Some(drift(kind, found))
}

fn judge(
    expectation: &Expectation,
    value: &Value,
    env: &dyn Fn(&str) -> Option<String>,
) -> Verdict {
    if let Expectation::Golden(golden) = expectation {
        if value == golden {
            return Verdict::Matches;
        }
    }
    if !value.is_evaluable() {
        return Verdict::Unevaluable;
    }
    let wanted = match expectation {
        Expectation::Env { var, default } => {
            if value.env_vars().iter().any(|read| read != var) {
                return Verdict::Differs;
            }
            Some(Resolved::Str(env(var).unwrap_or_else(|| default.clone())))
        }
        Expectation::Literal(wanted) => Some(wanted.clone()),
        Expectation::Golden(golden) => golden.resolve(env),
    };
    match (value.resolve(env), wanted) {
        (Some(found), Some(wanted)) if loosely_equal(&found, &wanted) => Verdict::Matches,
        (Some(_), _) => Verdict::Differs,
        (None, _) => Verdict::Unevaluable,
    }
}

/// The equality documented on [`compare`].
fn loosely_equal(found: &Resolved, wanted: &Resolved) -> bool {
    use Resolved::{Bool, Float, Int, Null, Str};
    match (found, wanted) {
        (Str(a), Str(b)) => a == b,
        (Bool(a), Bool(b)) => a == b,
        (Int(n), Bool(b)) | (Bool(b), Int(n)) => matches!((n, b), (0, false) | (1, true)),
        (Int(a), Int(b)) => a == b,
        (Float(a), Float(b)) => a == b,
        (Int(a), Float(b)) | (Float(b), Int(a)) => (*a as f64) == *b,
        (Str(text), number @ (Int(_) | Float(_))) | (number @ (Int(_) | Float(_)), Str(text)) => {
            *text == number.to_php_string()
        }
        (Null, Null) => true,
        _ => false,
    }
}

fn describe_expectation(
    expectation: &Expectation,
    env: &dyn Fn(&str) -> Option<String>,
    secret: bool,
) -> String {
    if secret {
        return "(secret)".to_string();
    }
    match expectation {
        Expectation::Env { var, .. } if is_secret(var) => format!("env {var}"),
        Expectation::Env { var, default } => match env(var) {
            Some(value) => format!("env {var} ({})", Resolved::Str(value)),
            None => format!("env {var} (unset, default {})", Resolved::Str(default.clone())),
        },
        Expectation::Literal(value) => value.to_string(),
        Expectation::Golden(value) => format!("{} (golden)", value.describe()),
    }
}

/// The expression, its effective value when that is not obvious, and where it came
/// from. Values read from variables whose names look secret are not shown.
fn describe_found(value: &Value, origin: &Origin, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut text = value.describe();
    let reads_secret = value.env_vars().iter().any(|var| is_secret(var));
    if !value.is_literal() && !reads_secret {
        if let Some(resolved) = value.resolve(env) {
            text.push_str(&format!(" = {resolved}"));
        }
    }
    if let Origin::EnvEval(var) = origin {
        text.push_str(&format!(" (from {var})"));
    }
    text
}

fn describe_missing(config: &ParsedConfig) -> String {
    if !config.has_php {
        return "missing (the file holds no PHP)".to_string();
    }
    let includes: Vec<String> = config
        .foreign_includes()
        .take(3)
        .map(|include| format!("{} {}", include.statement, include.target.describe()))
        .collect();
    if includes.is_empty() {
        "missing".to_string()
    } else {
        format!(
            "missing (the file includes other files, which the reader does not follow: {})",
            includes.join(", ")
        )
    }
}
