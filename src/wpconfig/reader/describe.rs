//! How a [`Value`] is shown to people: one line such as `literal "hoge"` or
//! `env WORDPRESS_DB_HOST (default "mysql")`, optionally with every literal masked.
//!
//! It must never show a literal in masked mode (that is how secrets stay out of
//! logs), and it keeps unevaluable source text short.

use super::{CastKind, EnvSource, FallbackWhen, Value};

/// Longest source text [`Value::describe`] shows.
const MAX_DESCRIBED_CHARS: usize = 80;

impl Value {
    /// A one-line description for people, e.g. `literal "hoge"` or
    /// `env WORDPRESS_DB_HOST (default "mysql")`. Shows literal values: use
    /// [`Value::describe_masked`] for secrets.
    pub fn describe(&self) -> String {
        self.describe_with(false, true)
    }

    /// Like [`Value::describe`], with every literal and every unevaluable source text
    /// replaced by `***`; environment variable names stay visible.
    pub fn describe_masked(&self) -> String {
        self.describe_with(true, true)
    }

    /// `top` says whether literals get the `literal` prefix (not inside a larger
    /// expression, where `"https://" . env X` reads better).
    fn describe_with(&self, masked: bool, top: bool) -> String {
        if self.is_literal() {
            let shown = match self.resolve(&|_| None) {
                Some(resolved) if !masked => resolved.to_string(),
                _ => "***".to_string(),
            };
            return if top {
                format!("literal {shown}")
            } else {
                shown
            };
        }
        match self {
            Value::Env {
                source,
                var,
                default,
            } => describe_env(*source, var, default.as_deref(), masked),
            Value::Const(name) => format!("constant {name}"),
            Value::Not(inner) => match inner.as_ref() {
                Value::Not(twice) => format!("bool({})", twice.describe_with(masked, false)),
                _ => format!("not {}", inner.describe_with(masked, false)),
            },
            Value::Cast(kind, inner) => {
                format!("{}({})", kind.name(), inner.describe_with(masked, false))
            }
            Value::Concat(parts) => parts
                .iter()
                .map(|part| part.describe_with(masked, false))
                .collect::<Vec<_>>()
                .join(" . "),
            Value::Fallback {
                value,
                fallback,
                when,
            } => format!(
                "{} {} {}",
                value.describe_with(masked, false),
                when.operator(),
                fallback.describe_with(masked, false)
            ),
            Value::Unknown(_) if masked => "unevaluable expression".to_string(),
            Value::Unknown(text) => format!("unevaluable `{}`", truncate_chars(text)),
            _ => String::new(),
        }
    }
}

fn describe_env(source: EnvSource, var: &str, default: Option<&Value>, masked: bool) -> String {
    match source {
        EnvSource::GetenvDocker => match default {
            Some(default) => format!(
                "env {var} (default {})",
                default.describe_with(masked, false)
            ),
            None => format!("env {var}"),
        },
        EnvSource::Getenv => format!("env {var} (getenv)"),
        EnvSource::EnvArray => format!("env {var} ($_ENV)"),
        EnvSource::ServerArray => format!("$_SERVER[{var:?}]"),
    }
}

fn truncate_chars(text: &str) -> String {
    match text.char_indices().nth(MAX_DESCRIBED_CHARS) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or("")),
        None => text.to_string(),
    }
}

impl CastKind {
    fn name(self) -> &'static str {
        match self {
            CastKind::Bool => "bool",
            CastKind::Int => "int",
            CastKind::Float => "float",
            CastKind::String => "string",
        }
    }
}

impl FallbackWhen {
    fn operator(self) -> &'static str {
        match self {
            FallbackWhen::Falsy => "?:",
            FallbackWhen::Null => "??",
        }
    }
}
