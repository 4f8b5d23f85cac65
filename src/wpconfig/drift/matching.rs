//! Whether the effective configuration meets each pin, and the drift lines that say
//! how it does not: the matching rules (documented on [`compare`]) and the
//! descriptions of what was expected and what was found.
//!
//! It must never put the value of a secret key, or of a variable whose name looks
//! secret, into a description: a drifted secret is only "changed".

use super::{effective_config, is_secret, Desired, Drift, DriftKind, Expectation, Pin, PinKey};
use crate::wpconfig::reader::{Origin, ParsedConfig, Resolved, Value};

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
        (Some(found), Some(wanted)) if same_value(&found, &wanted) => Verdict::Matches,
        (Some(_), _) => Verdict::Differs,
        (None, _) => Verdict::Unevaluable,
    }
}

/// Whether `found` is `wanted`: the equality documented on [`compare`], stricter
/// than PHP's `==`.
pub(super) fn same_value(found: &Resolved, wanted: &Resolved) -> bool {
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
