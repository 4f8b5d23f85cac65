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
        let (defines, assignments) = (&parsed.defines, &parsed.table_prefix_assignments);
        copy_until(
            &mut merged.defines,
            defines,
            &mut defines_done,
            eval.defines_before,
        );
        copy_until(
            &mut merged.table_prefix_assignments,
            assignments,
            &mut assignments_done,
            eval.assignments_before,
        );
        let origin = Origin::EnvEval(eval.var.clone());
        merged
            .defines
            .extend(extra.defines.into_iter().map(|mut define| {
                define.origin = origin.clone();
                define
            }));
        let extra_assignments = extra.table_prefix_assignments.into_iter();
        merged
            .table_prefix_assignments
            .extend(extra_assignments.map(|mut assignment| {
                assignment.origin = origin.clone();
                assignment
            }));
        merged.includes.extend(extra.includes);
    }
    let (defines, assignments) = (&parsed.defines, &parsed.table_prefix_assignments);
    copy_until(&mut merged.defines, defines, &mut defines_done, usize::MAX);
    copy_until(
        &mut merged.table_prefix_assignments,
        assignments,
        &mut assignments_done,
        usize::MAX,
    );
    merged
}

/// Appends `from[*done..end]` (clipped to `from`) to `into`, and moves `done` on.
fn copy_until<T: Clone>(into: &mut Vec<T>, from: &[T], done: &mut usize, end: usize) {
    let end = end.min(from.len()).max(*done);
    into.extend(from.get(*done..end).unwrap_or(&[]).iter().cloned());
    *done = end;
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
    let mut hasher = BatchedSha256::default();
    reader::for_each_normalized_token(bytes, &mut |token| {
        // Length-prefixed, so that token boundaries cannot collide.
        hasher.update(&(token.len() as u64).to_le_bytes());
        hasher.update(token.as_bytes());
    });
    hasher.finalize()
}

/// SHA-256 fed through a stack buffer, with the same digest as feeding each piece
/// directly: most tokens are a few bytes long, and a `Sha256::update` per piece
/// costs more in bookkeeping than in hashing.
struct BatchedSha256 {
    hasher: Sha256,
    batch: [u8; 512],
    len: usize,
}

impl Default for BatchedSha256 {
    fn default() -> Self {
        BatchedSha256 {
            hasher: Sha256::new(),
            batch: [0; 512],
            len: 0,
        }
    }
}

impl BatchedSha256 {
    fn update(&mut self, data: &[u8]) {
        if self.batch.len() - self.len < data.len() {
            self.hasher
                .update(self.batch.get(..self.len).unwrap_or(&[]));
            self.len = 0;
        }
        match self.batch.get_mut(self.len..self.len + data.len()) {
            Some(slot) => {
                slot.copy_from_slice(data);
                self.len += data.len();
            }
            None => self.hasher.update(data),
        }
    }

    fn finalize(mut self) -> [u8; 32] {
        self.hasher
            .update(self.batch.get(..self.len).unwrap_or(&[]));
        self.hasher.finalize().into()
    }
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
        PinKey::Define(name) => config
            .get(name)
            .map(|d| (&d.value, &d.origin, d.preempted_by_include)),
        PinKey::TablePrefix => config
            .table_prefix()
            .map(|a| (&a.value, &a.origin, a.preempted_by_include)),
    };
    let drift = |kind, found| Drift {
        key: pin.key.to_string(),
        kind,
        secret,
        expected: describe_expectation(&pin.expectation, env, secret),
        found,
    };
    let Some((value, origin, preempted)) = found else {
        return Some(drift(DriftKind::Missing, describe_missing(config)));
    };
    if preempted {
        // Debian's shape: the real value lives in a file the reader does not follow.
        let found = match secret {
            true => "unverifiable (an included file may set it)".to_string(),
            false => format!(
                "only a fallback {} ({})",
                describe_found(value, origin, env),
                includes_note(config)
            ),
        };
        return Some(drift(DriftKind::Unevaluable, found));
    }
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
            None => format!(
                "env {var} (unset, default {})",
                Resolved::Str(default.clone())
            ),
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
        "missing (the file holds no PHP)".to_string()
    } else if config.foreign_includes().next().is_some() {
        format!("missing ({})", includes_note(config))
    } else {
        "missing".to_string()
    }
}

/// Says which other files the configuration includes (the first three).
fn includes_note(config: &ParsedConfig) -> String {
    let includes: Vec<String> = config
        .foreign_includes()
        .take(3)
        .map(|include| format!("{} {}", include.statement, include.target.describe()))
        .collect();
    format!(
        "the file includes other files, which the reader does not follow: {}",
        includes.join(", ")
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DOCKER: &str = include_str!("../../tests/fixtures/wpconfig/docker.php");
    const SAMPLE: &str = include_str!("../../tests/fixtures/wpconfig/sample.php");
    const DEBIAN: &str = include_str!("../../tests/fixtures/wpconfig/debian.php");

    /// What the seed's cluster had: an older official image wrote literal values.
    const SEED: &str = "<?php
define( 'DB_NAME', 'wordpress');
define( 'DB_USER', 'rworks@wordpress-db-rworks');
define( 'DB_PASSWORD', 'S3cret-pw!');
define( 'DB_HOST', 'wordpress-db-rworks.mysql.database.azure.com');
$table_prefix = 'wp_';
";
    const SEED_ENV: &[(&str, &str)] = &[
        (
            "WORDPRESS_DB_HOST",
            "wordpress-db-rworks.mysql.database.azure.com",
        ),
        ("WORDPRESS_DB_USER", "rworks@wordpress-db-rworks"),
        ("WORDPRESS_DB_PASSWORD", "S3cret-pw!"),
        ("WORDPRESS_DB_NAME", "wordpress"),
    ];
    /// What our manifests feed both containers through `envFrom`.
    const K8S_ENV: &[(&str, &str)] = &[
        ("WORDPRESS_DB_HOST", "mysql.db.svc"),
        ("WORDPRESS_DB_USER", "wp"),
        ("WORDPRESS_DB_PASSWORD", "S3cret-pw!"),
        ("WORDPRESS_DB_NAME", "wordpress"),
    ];

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_string())
        }
    }

    fn drifts(file: &str, env: &[(&str, &str)], desired: &Desired) -> Vec<Drift> {
        compare(&reader::parse(file.as_bytes()), desired, &lookup(env))
    }

    fn check(file: &str, env: &[(&str, &str)], desired: &Desired, expected: &[&str]) {
        let shown: Vec<String> = drifts(file, env, desired)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, expected, "file:\n{file}");
    }

    fn edited(file: &str, from: &str, to: &str) -> String {
        assert!(file.contains(from), "fixture lacks {from}");
        file.replacen(from, to, 1)
    }

    fn with_extra(extra: &str) -> Vec<(&str, &str)> {
        let mut env = K8S_ENV.to_vec();
        env.push((CONFIG_EXTRA_VAR, extra));
        env
    }

    fn pins() -> Desired {
        Desired::official_image().with_literal("WP_DEBUG", Resolved::Bool(false))
    }

    /// A file, its environment, the desired state, and the drift lines expected.
    type Case<'a> = (String, &'a [(&'a str, &'a str)], Desired, Vec<String>);

    const DOCKER_HOST: &str = "getenv_docker('WORDPRESS_DB_HOST', 'mysql')";

    #[test]
    fn compares_effective_settings_with_the_desired_ones() {
        let hardened = format!("{SAMPLE}\ndefine('DISALLOW_FILE_EDIT', true);\n");
        let sample_env: &[(&str, &str)] = &[
            ("WORDPRESS_DB_HOST", "localhost"),
            ("WORDPRESS_DB_USER", "username_here"),
            ("WORDPRESS_DB_PASSWORD", "password_here"),
            ("WORDPRESS_DB_NAME", "database_name_here"),
        ];
        let hardening = pins().with_literal("DISALLOW_FILE_EDIT", Resolved::Bool(true));
        let expect_host = r#"DB_HOST: expected env WORDPRESS_DB_HOST ("mysql.db.svc")"#;
        let cases: Vec<Case> = vec![
            // The seed's story: literal values, then `sed` turns DB_HOST into 'hoge'.
            (SEED.to_string(), SEED_ENV, pins(), vec![
                "WP_DEBUG: expected false, missing".to_string(),
            ]),
            (SEED.to_string(), SEED_ENV, Desired::official_image(), vec![]),
            (edited(SEED, "wordpress-db-rworks.mysql.database.azure.com", "hoge"), SEED_ENV, Desired::official_image(), vec![
                r#"DB_HOST: expected env WORDPRESS_DB_HOST ("wordpress-db-rworks.mysql.database.azure.com"), found literal "hoge""#.to_string(),
            ]),
            // The official image's file, untouched, with the environment it was made for.
            (DOCKER.to_string(), K8S_ENV, pins(), vec![]),
            (edited(DOCKER, DOCKER_HOST, "'hoge'"), K8S_ENV, pins(), vec![
                format!(r#"{expect_host}, found literal "hoge""#),
            ]),
            // A literal equal to the desired value is fine; another one is not.
            (edited(DOCKER, DOCKER_HOST, "'mysql.db.svc'"), K8S_ENV, pins(), vec![]),
            (edited(DOCKER, "getenv_docker('WORDPRESS_DB_NAME', 'wordpress')", "'wordpress_old'"), K8S_ENV, pins(), vec![
                r#"DB_NAME: expected env WORDPRESS_DB_NAME ("wordpress"), found literal "wordpress_old""#.to_string(),
            ]),
            // Another variable is drift even when its value is the same.
            (edited(DOCKER, DOCKER_HOST, "getenv_docker('OTHER_HOST', 'mysql.db.svc')"), K8S_ENV, pins(), vec![
                format!(r#"{expect_host}, found env OTHER_HOST (default "mysql.db.svc") = "mysql.db.svc""#),
            ]),
            // A changed default matters only while the variable is unset.
            (edited(DOCKER, DOCKER_HOST, "getenv_docker('WORDPRESS_DB_HOST', 'hoge')"), K8S_ENV, pins(), vec![]),
            (edited(DOCKER, DOCKER_HOST, "getenv_docker('WORDPRESS_DB_HOST', 'hoge')"), &[], Desired::new().with_pin(
                PinKey::parse("DB_HOST"),
                Expectation::Env { var: "WORDPRESS_DB_HOST".to_string(), default: "mysql".to_string() },
            ), vec![
                r#"DB_HOST: expected env WORDPRESS_DB_HOST (unset, default "mysql"), found env WORDPRESS_DB_HOST (default "hoge") = "hoge""#.to_string(),
            ]),
            (edited(DOCKER, DOCKER_HOST, "$host"), K8S_ENV, pins(), vec![
                format!("{expect_host}, found unevaluable `$host`"),
            ]),
            // $table_prefix.
            (edited(DOCKER, "getenv_docker('WORDPRESS_TABLE_PREFIX', 'wp_')", "'x_'"), K8S_ENV, pins(), vec![
                r#"$table_prefix: expected env WORDPRESS_TABLE_PREFIX (unset, default "wp_"), found literal "x_""#.to_string(),
            ]),
            // WP_DEBUG switched on, through the environment or by hand; 'false' is truthy.
            (DOCKER.to_string(), &[("WORDPRESS_DEBUG", "1")], Desired::new().with_literal("WP_DEBUG", Resolved::Bool(false)), vec![
                r#"WP_DEBUG: expected false, found bool(env WORDPRESS_DEBUG (default "")) = true"#.to_string(),
            ]),
            (edited(SAMPLE, "'WP_DEBUG', false", "'WP_DEBUG', true"), sample_env, pins(), vec![
                "WP_DEBUG: expected false, found literal true".to_string(),
            ]),
            (edited(SAMPLE, "'WP_DEBUG', false", "'WP_DEBUG', 'false'"), sample_env, pins(), vec![
                r#"WP_DEBUG: expected false, found literal "false""#.to_string(),
            ]),
            (edited(SAMPLE, "'WP_DEBUG', false", "'WP_DEBUG', 0"), sample_env, pins(), vec![]),
            // DISALLOW_FILE_EDIT removed while pinned.
            (hardened.clone(), sample_env, hardening.clone(), vec![]),
            (edited(&hardened, "define('DISALLOW_FILE_EDIT', true);", "// removed"), sample_env, hardening, vec![
                "DISALLOW_FILE_EDIT: expected true, missing".to_string(),
            ]),
            // Debian's master file: the settings live in files the reader does not follow.
            (DEBIAN.to_string(), K8S_ENV, Desired::official_image(), vec![
                format!(r#"{expect_host}, found only a fallback literal "localhost" (the file includes other files, which the reader does not follow: require_once unevaluable `$debian_file`, require_once unevaluable `$debian_main_file`, require_once literal "/etc/wordpress/config-default.php")"#),
                "DB_USER: expected env WORDPRESS_DB_USER (\"wp\"), found only a fallback literal \"wordpress\" (the file includes other files, which the reader does not follow: require_once unevaluable `$debian_file`, require_once unevaluable `$debian_main_file`, require_once literal \"/etc/wordpress/config-default.php\")".to_string(),
                "DB_PASSWORD: missing (the file includes other files, which the reader does not follow: require_once unevaluable `$debian_file`, require_once unevaluable `$debian_main_file`, require_once literal \"/etc/wordpress/config-default.php\")".to_string(),
                "DB_NAME: expected env WORDPRESS_DB_NAME (\"wordpress\"), found only a fallback literal \"wordpress\" (the file includes other files, which the reader does not follow: require_once unevaluable `$debian_file`, require_once unevaluable `$debian_main_file`, require_once literal \"/etc/wordpress/config-default.php\")".to_string(),
                "$table_prefix: expected env WORDPRESS_TABLE_PREFIX (unset, default \"wp_\"), found only a fallback literal \"wp_\" (the file includes other files, which the reader does not follow: require_once unevaluable `$debian_file`, require_once unevaluable `$debian_main_file`, require_once literal \"/etc/wordpress/config-default.php\")".to_string(),
            ]),
            // Nothing PHP can read.
            ("\x00\x01 not php".to_string(), K8S_ENV, Desired::new().with_literal("WP_DEBUG", Resolved::Bool(false)), vec![
                "WP_DEBUG: expected false, missing (the file holds no PHP)".to_string(),
            ]),
        ];
        for (file, env, desired, expected) in cases {
            let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
            check(&file, env, &desired, &expected);
        }
    }

    #[test]
    fn a_drifted_password_is_only_ever_changed() {
        let leaked = "leaked-Pa55word";
        let file = edited(
            DOCKER,
            "getenv_docker('WORDPRESS_DB_PASSWORD', 'example password')",
            &format!("'{leaked}'"),
        );
        let found = drifts(&file, K8S_ENV, &pins());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].to_string(), "DB_PASSWORD: changed");
        for text in [found[0].to_string(), format!("{:?}", found[0])] {
            assert!(
                !text.contains(leaked) && !text.contains("S3cret-pw!"),
                "{text}"
            );
        }
        // A salt changed against a golden copy: same rule.
        let golden = reader::parse(SAMPLE.as_bytes());
        let file = edited(
            SAMPLE,
            "'NONCE_SALT',       'put your unique phrase here'",
            "'NONCE_SALT', 'salty'",
        );
        let found = drifts(&file, &[], &Desired::new().with_golden(&golden));
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["NONCE_SALT: changed"]
        );
        assert!(
            !format!("{found:?}").contains("salty")
                && !format!("{found:?}").contains("unique phrase")
        );
        // Nor do the desired state's Debug, or the CLI's description of a parsed value.
        let desired = Desired::new().with_literal("DB_PASSWORD", Resolved::Str(leaked.to_string()));
        assert!(!format!("{desired:?}").contains(leaked));
        let parsed = reader::parse(file.as_bytes());
        let shown =
            masked_value_description("NONCE_SALT", &parsed.get("NONCE_SALT").unwrap().value);
        assert_eq!(shown, "literal ***");
    }

    #[test]
    fn a_golden_copy_pins_every_define() {
        let golden = reader::parse(SAMPLE.as_bytes());
        let desired = Desired::new().with_golden(&golden);
        assert_eq!(desired.pins().len(), 17, "16 defines and $table_prefix");
        // Unevaluable but identical (ABSPATH is `__DIR__ . '/'`) matches structurally.
        check(SAMPLE, &[], &desired, &[]);
        let moved = edited(SAMPLE, "'database_name_here'", "'other'");
        let moved = edited(&moved, "__DIR__ . '/'", "'/srv/wp/'");
        check(
            &moved,
            &[],
            &desired,
            &[
                r#"DB_NAME: expected literal "database_name_here" (golden), found literal "other""#,
                r#"ABSPATH: expected constant __DIR__ . "/" (golden), found literal "/srv/wp/""#,
            ],
        );
        // Same effective value through another expression matches.
        let docker_golden = reader::parse(DOCKER.as_bytes());
        let literal_host = edited(DOCKER, DOCKER_HOST, "'mysql.db.svc'");
        check(
            &literal_host,
            K8S_ENV,
            &Desired::new().with_golden(&docker_golden),
            &[],
        );
        // Configuration pins added afterwards win over the golden's.
        let desired = Desired::new()
            .with_golden(&golden)
            .with_literal("WP_DEBUG", Resolved::Bool(true));
        check(
            SAMPLE,
            &[],
            &desired,
            &["WP_DEBUG: expected true, found literal false"],
        );
    }

    #[test]
    fn config_extra_is_read_as_more_php() {
        let desired = pins()
            .with_literal("DISALLOW_FILE_EDIT", Resolved::Bool(true))
            .with_literal("FORCE_SSL_ADMIN", Resolved::Bool(true));
        // The file's own WP_DEBUG comes first and wins, as in PHP.
        let extra = "define('DISALLOW_FILE_EDIT', true);\ndefine('WP_DEBUG', true);\ndefine('FORCE_SSL_ADMIN', false);";
        check(
            DOCKER,
            &with_extra(extra),
            &desired,
            &["FORCE_SSL_ADMIN: expected true, found literal false (from WORDPRESS_CONFIG_EXTRA)"],
        );
        // A later $table_prefix assignment overrides the file's.
        check(
            DOCKER,
            &with_extra("$table_prefix = 'x_';"),
            &pins(),
            &[
                r#"$table_prefix: expected env WORDPRESS_TABLE_PREFIX (unset, default "wp_"), found literal "x_" (from WORDPRESS_CONFIG_EXTRA)"#,
            ],
        );
        // Empty or "0": the image's `if` evaluates nothing.
        check(DOCKER, &with_extra("0"), &pins(), &[]);
        // The evaluated defines sit where the eval runs: before ABSPATH.
        let parsed = reader::parse(DOCKER.as_bytes());
        let effective =
            effective_config(&parsed, &lookup(&with_extra("define('ABSPATH', '/x/');")));
        let abspath = effective.get("ABSPATH").unwrap();
        assert_eq!(
            abspath.origin,
            Origin::EnvEval(CONFIG_EXTRA_VAR.to_string())
        );
        assert_eq!(effective.defines.len(), parsed.defines.len() + 1);
    }

    #[test]
    fn a_cosmetic_edit_keeps_the_normalized_fingerprint() {
        let cosmetic = edited(
            DOCKER,
            "/** Database hostname */\ndefine( 'DB_HOST',",
            "// The host, from the Secret\ndefine(\t'DB_HOST',  ",
        );
        assert!(drifts(&cosmetic, K8S_ENV, &pins()).is_empty());
        assert_ne!(
            fingerprint(cosmetic.as_bytes()),
            fingerprint(DOCKER.as_bytes())
        );
        assert_eq!(
            normalized_fingerprint(cosmetic.as_bytes()),
            normalized_fingerprint(DOCKER.as_bytes())
        );
        // A change outside the pinned keys: no drift, but another normalized fingerprint.
        let added = format!("{DOCKER}\ndefine('WP_CACHE', true);\n");
        assert!(drifts(&added, K8S_ENV, &pins()).is_empty());
        assert_ne!(
            normalized_fingerprint(added.as_bytes()),
            normalized_fingerprint(DOCKER.as_bytes())
        );
        assert_eq!(
            hex(&fingerprint(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn equality_is_strict_about_types() {
        let equal = |a: Resolved, b: Resolved| loosely_equal(&a, &b);
        assert!(equal(Resolved::Int(1), Resolved::Bool(true)));
        assert!(equal(Resolved::Str("3".into()), Resolved::Int(3)));
        assert!(equal(Resolved::Float(2.0), Resolved::Int(2)));
        assert!(!equal(Resolved::Str("".into()), Resolved::Bool(false)));
        assert!(!equal(Resolved::Null, Resolved::Bool(false)));
        assert!(!equal(Resolved::Int(2), Resolved::Bool(true)));
        assert!(!equal(Resolved::Str("03".into()), Resolved::Int(3)));
        assert!(!equal(Resolved::Bool(true), Resolved::Str("1".into())));
    }
}
