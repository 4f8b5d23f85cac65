//! [`Value`], the expression tree the reader keeps for each define and assignment,
//! and what can be asked of it without the source: its value under an environment,
//! the environment variables it reads, whether it can be evaluated at all.
//!
//! It must not parse (that is `expr.rs`) nor format for people (`describe.rs`), and
//! evaluating must stay side-effect free: the environment is a lookup closure.

use super::Resolved;

/// An expression as the reader understood it. Anything outside this small language is
/// [`Value::Unknown`], which resolves to nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string literal, escapes decoded.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A float literal (or an integer literal too large for `i64`, as in PHP).
    Float(f64),
    /// `true` / `false`, any case.
    Bool(bool),
    /// `null`, any case.
    Null,
    /// A read of the environment.
    Env {
        /// How it is read.
        source: EnvSource,
        /// The variable's name.
        var: String,
        /// `getenv_docker`'s second argument; `None` for the other sources.
        default: Option<Box<Value>>,
    },
    /// A bare constant such as `ABSPATH` or `__DIR__`: known shape, unknown value.
    Const(String),
    /// `!expr` (so `!!expr` is `Not(Not(expr))`).
    Not(Box<Value>),
    /// `(bool) expr`, `(int) expr`, …
    Cast(CastKind, Box<Value>),
    /// `a . b . c`.
    Concat(Vec<Value>),
    /// `a ?: b` or `a ?? b`.
    Fallback {
        /// The left-hand side.
        value: Box<Value>,
        /// Used when the left-hand side is falsy (`?:`) or null (`??`).
        fallback: Box<Value>,
        /// Which operator.
        when: FallbackWhen,
    },
    /// Something the reader cannot evaluate, as normalised source text (whitespace
    /// squeezed, at most 4 KiB).
    Unknown(String),
}

/// How a [`Value::Env`] reads the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvSource {
    /// The official image's `getenv_docker('X', 'default')`: `X_FILE`'s content,
    /// else `X`, else the default (the caller's environment closure handles `_FILE`).
    GetenvDocker,
    /// `getenv('X')`: the value, or `false` when unset.
    Getenv,
    /// `$_ENV['X']`: the value, or `null` when unset.
    EnvArray,
    /// `$_SERVER['X']`: depends on the request, so it never resolves.
    ServerArray,
}

/// The type of a `(type)` cast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CastKind {
    /// `(bool)`, `(boolean)`.
    Bool,
    /// `(int)`, `(integer)`.
    Int,
    /// `(float)`, `(double)`.
    Float,
    /// `(string)`.
    String,
}

/// Which operator a [`Value::Fallback`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FallbackWhen {
    /// `?:`: the fallback is used when the left side is falsy.
    Falsy,
    /// `??`: the fallback is used when the left side is null.
    Null,
}

impl Value {
    /// The value PHP would compute, given an environment lookup (`None` = unset).
    /// `None` when it depends on something the reader cannot know: [`Value::Unknown`],
    /// a constant, `$_SERVER`.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<Resolved> {
        match self {
            Value::Str(text) => Some(Resolved::Str(text.clone())),
            Value::Int(number) => Some(Resolved::Int(*number)),
            Value::Float(number) => Some(Resolved::Float(*number)),
            Value::Bool(flag) => Some(Resolved::Bool(*flag)),
            Value::Null => Some(Resolved::Null),
            Value::Env {
                source,
                var,
                default,
            } => resolve_env(*source, var, default.as_deref(), env),
            Value::Const(_) | Value::Unknown(_) => None,
            Value::Not(inner) => Some(Resolved::Bool(!inner.resolve(env)?.truthy())),
            Value::Cast(kind, inner) => Some(inner.resolve(env)?.cast(*kind)),
            Value::Concat(parts) => {
                let mut joined = String::new();
                for part in parts {
                    joined.push_str(&part.resolve(env)?.to_php_string());
                }
                Some(Resolved::Str(joined))
            }
            Value::Fallback {
                value,
                fallback,
                when,
            } => {
                let first = value.resolve(env)?;
                let keep = match when {
                    FallbackWhen::Falsy => first.truthy(),
                    FallbackWhen::Null => first != Resolved::Null,
                };
                if keep {
                    Some(first)
                } else {
                    fallback.resolve(env)
                }
            }
        }
    }

    /// The environment variables this expression reads (through `getenv_docker`,
    /// `getenv` or `$_ENV`), in order, repeats included.
    pub fn env_vars(&self) -> Vec<&str> {
        let mut vars = Vec::new();
        self.collect_env_vars(&mut vars);
        vars
    }

    /// Whether [`Value::resolve`] can succeed: no [`Value::Unknown`], constant or
    /// `$_SERVER` anywhere inside.
    pub fn is_evaluable(&self) -> bool {
        match self {
            Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null => true,
            Value::Env {
                source, default, ..
            } => {
                *source != EnvSource::ServerArray
                    && default.as_ref().is_none_or(|d| d.is_evaluable())
            }
            Value::Const(_) | Value::Unknown(_) => false,
            Value::Not(inner) | Value::Cast(_, inner) => inner.is_evaluable(),
            Value::Concat(parts) => parts.iter().all(Value::is_evaluable),
            Value::Fallback {
                value, fallback, ..
            } => value.is_evaluable() && fallback.is_evaluable(),
        }
    }

    /// Whether this is a plain literal (string, number, boolean, null).
    pub fn is_literal(&self) -> bool {
        matches!(
            self,
            Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null
        )
    }

    /// The variable read at the top of the expression (`getenv_docker('X', …)`,
    /// `getenv('X') ?: 'd'`), if it is one: what `$x = …; eval($x);` evaluates.
    pub(super) fn top_env_var(&self) -> Option<&str> {
        match self {
            Value::Env { source, var, .. } if *source != EnvSource::ServerArray => Some(var),
            Value::Fallback { value, .. } => value.top_env_var(),
            _ => None,
        }
    }

    fn collect_env_vars<'v>(&'v self, vars: &mut Vec<&'v str>) {
        match self {
            Value::Env {
                source,
                var,
                default,
            } => {
                if *source != EnvSource::ServerArray {
                    vars.push(var);
                }
                if let Some(default) = default {
                    default.collect_env_vars(vars);
                }
            }
            Value::Not(inner) | Value::Cast(_, inner) => inner.collect_env_vars(vars),
            Value::Concat(parts) => parts.iter().for_each(|p| p.collect_env_vars(vars)),
            Value::Fallback {
                value, fallback, ..
            } => {
                value.collect_env_vars(vars);
                fallback.collect_env_vars(vars);
            }
            _ => {}
        }
    }

    /// Whether a string literal or unevaluable text inside mentions `needle`.
    pub(super) fn mentions(&self, needle: &str) -> bool {
        match self {
            Value::Str(text) | Value::Unknown(text) => text.contains(needle),
            Value::Not(inner) | Value::Cast(_, inner) => inner.mentions(needle),
            Value::Concat(parts) => parts.iter().any(|p| p.mentions(needle)),
            Value::Fallback {
                value, fallback, ..
            } => value.mentions(needle) || fallback.mentions(needle),
            _ => false,
        }
    }
}

fn resolve_env(
    source: EnvSource,
    var: &str,
    default: Option<&Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Resolved> {
    match source {
        EnvSource::GetenvDocker => match env(var) {
            Some(value) => Some(Resolved::Str(value)),
            None => default?.resolve(env),
        },
        EnvSource::Getenv => Some(env(var).map_or(Resolved::Bool(false), Resolved::Str)),
        EnvSource::EnvArray => Some(env(var).map_or(Resolved::Null, Resolved::Str)),
        EnvSource::ServerArray => None,
    }
}
