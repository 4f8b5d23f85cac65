//! Pure reader of `wp-config.php`: turns the file's bytes into the `define(...)` calls,
//! the `$table_prefix` assignments, the `eval()`s of environment variables and the
//! `require`/`include` statements it contains, each value kept as a small expression
//! tree that can be resolved against an environment and described to a person.
//!
//! It must never execute PHP, do I/O, panic, or take more than roughly linear time:
//! callers hand it untrusted bytes of any shape (binary junk, a truncated edit, a
//! megabyte of open parentheses). Nesting is bounded and nothing recurses as deep as
//! the input is long. Code it does not understand is skipped; values it cannot
//! evaluate become [`Value::Unknown`]. Deciding whether what it read is *right* is
//! `drift.rs`'s job, not this file's.

use std::collections::{HashMap, HashSet};
use std::fmt;

/// Largest `wp-config.php` the sidecar agrees to read. [`parse`] does not enforce it
/// (callers do, before reading), but it stays linear-time well beyond it.
pub const MAX_BYTES: usize = 1024 * 1024;

/// Deepest expression nesting (parentheses, `!`, call arguments, `??` chains) the
/// reader follows; anything deeper becomes [`Value::Unknown`]. Keeps recursion bounded.
const MAX_DEPTH: u32 = 32;
/// Deepest block nesting tracked for `if (!defined(...))` guards; deeper blocks are
/// only counted.
const MAX_FRAMES: usize = 256;
/// Longest source text kept inside [`Value::Unknown`].
const MAX_UNKNOWN_CHARS: usize = 4096;
/// Longest source text [`Value::describe`] shows.
const MAX_DESCRIBED_CHARS: usize = 80;

/// What the reader understood of one `wp-config.php`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedConfig {
    /// Every `define(...)` call and top-level `const`, in source order, duplicates
    /// included. [`ParsedConfig::get`] applies PHP's rule (the first one wins).
    pub defines: Vec<Define>,
    /// Every assignment to `$table_prefix`, in source order.
    /// [`ParsedConfig::table_prefix`] picks the one PHP ends up with.
    pub table_prefix_assignments: Vec<Assignment>,
    /// `eval()` calls on the content of an environment variable, like the official
    /// image's `eval($configExtra)` of `WORDPRESS_CONFIG_EXTRA`.
    pub evals_env: Vec<EnvEval>,
    /// `require`, `require_once`, `include` and `include_once` statements. The reader
    /// does not follow them: constants defined in those files are invisible to it.
    pub includes: Vec<Include>,
    /// Lexical problems, and constructs the reader saw but could not follow.
    pub issues: Vec<Issue>,
    /// Whether the file has a PHP open tag at all; without one PHP only echoes it.
    pub has_php: bool,
}

/// One `define('NAME', value)` call (or top-level `const NAME = value;`).
#[derive(Clone, PartialEq)]
pub struct Define {
    /// The constant's name as written (PHP constant names are case-sensitive).
    pub name: String,
    /// The second argument, as an expression tree.
    pub value: Value,
    /// 1-based line of the `define` keyword.
    pub line: u32,
    /// Inside a block or after a control statement (`if`, `else`, a function body…),
    /// so it may not run. The reader still counts it, as PHP usually does run it.
    pub conditional: bool,
    /// Inside `if (!defined('NAME'))` for its own name: PHP skips it silently when
    /// the constant already exists, so a later guarded define is no duplicate.
    pub guarded: bool,
    /// Guarded, and placed after a `require`/`include` of another file, which may
    /// have defined the constant first: then this is only a fallback (Debian's
    /// `wp-config.php` ends with such fallbacks for `DB_NAME`, `DB_USER`, `DB_HOST`).
    pub preempted_by_include: bool,
    /// Where the define came from.
    pub origin: Origin,
}

/// Secrets never reach a log through `{:?}`: the value of a define whose name
/// [`is_secret`] is masked.
impl fmt::Debug for Define {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = "<masked>";
        let value: &dyn fmt::Debug = if is_secret(&self.name) {
            &masked
        } else {
            &self.value
        };
        f.debug_struct("Define")
            .field("name", &self.name)
            .field("value", value)
            .field("line", &self.line)
            .field("conditional", &self.conditional)
            .field("guarded", &self.guarded)
            .field("preempted_by_include", &self.preempted_by_include)
            .field("origin", &self.origin)
            .finish()
    }
}

/// One assignment to `$table_prefix`.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// The right-hand side (`.=` keeps the whole statement as [`Value::Unknown`]).
    pub value: Value,
    /// 1-based line of the variable.
    pub line: u32,
    /// Inside a block or after a control statement.
    pub conditional: bool,
    /// Runs only when the variable is not set yet: `??=`, or inside
    /// `if (!isset($table_prefix))` (Debian's fallback).
    pub only_if_unset: bool,
    /// Runs only if unset, and placed after a `require`/`include` of another file,
    /// which may have set it first: then this is only a fallback.
    pub preempted_by_include: bool,
    /// Where the assignment came from.
    pub origin: Origin,
}

/// Where a define or assignment came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    /// The file itself.
    #[default]
    File,
    /// Code the file `eval()`s from this environment variable.
    EnvEval(String),
}

/// An `eval()` of an environment variable's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvEval {
    /// The variable whose content is evaluated, e.g. `WORDPRESS_CONFIG_EXTRA`.
    pub var: String,
    /// 1-based line of the `eval`.
    pub line: u32,
    /// How many of [`ParsedConfig::defines`] come before the `eval`: the evaluated
    /// code's defines take effect at that point.
    pub defines_before: usize,
    /// How many of [`ParsedConfig::table_prefix_assignments`] come before the `eval`.
    pub assignments_before: usize,
}

/// A `require`/`include` statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Include {
    /// The keyword, lower-cased: `require_once`, `include`, …
    pub statement: String,
    /// The path expression.
    pub target: Value,
    /// 1-based line of the keyword.
    pub line: u32,
}

impl Include {
    /// Whether this is the usual closing `require_once ABSPATH . 'wp-settings.php'`,
    /// which loads WordPress rather than more configuration.
    pub fn is_wp_settings(&self) -> bool {
        self.target.mentions("wp-settings.php")
    }
}

/// A lexical problem, or a construct the reader could not follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// 1-based line where it starts.
    pub line: u32,
    /// What it is, for people.
    pub message: String,
    /// PHP itself would refuse to compile the file (unterminated string, unbalanced
    /// brackets), so WordPress cannot be serving it.
    pub fatal: bool,
}

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

/// A concrete PHP value: what a [`Value`] evaluates to. Deserialises from a plain
/// TOML/JSON scalar, so configuration can pin `WP_DEBUG = false`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(untagged)]
pub enum Resolved {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// `null`.
    Null,
}

/// Whether a constant's value must never be shown: the database password, the
/// authentication keys and salts, and any name containing PASS, PWD, SECRET, KEY,
/// SALT, TOKEN, CREDENTIAL or PRIVATE (case-insensitive). Errs on the side of masking.
pub fn is_secret(name: &str) -> bool {
    const MARKERS: [&str; 8] = [
        "PASS",
        "PWD",
        "SECRET",
        "KEY",
        "SALT",
        "TOKEN",
        "CREDENTIAL",
        "PRIVATE",
    ];
    let upper = name.to_ascii_uppercase();
    MARKERS.iter().any(|marker| upper.contains(marker))
}

/// Reads `wp-config.php` bytes. Never fails: whatever it cannot understand shows up as
/// [`Value::Unknown`] values, [`Issue`]s, or simply nothing. Invalid UTF-8 is replaced,
/// a UTF-8 byte-order mark is ignored, CRLF and tabs are whitespace like any other.
pub fn parse(bytes: &[u8]) -> ParsedConfig {
    let text = String::from_utf8_lossy(bytes);
    let lexed = Lexed::new(strip_bom(&text));
    Scanner::new(&lexed).run()
}

/// Calls `visit` with every token PHP would see, in order, leaving out comments and
/// whitespace; text outside `<?php ?>` is passed with its whitespace removed. Two files
/// that differ only in comments or layout yield the same sequence: `drift.rs` hashes
/// it into the normalised fingerprint.
pub fn for_each_normalized_token(bytes: &[u8], visit: &mut dyn FnMut(&str)) {
    let text = String::from_utf8_lossy(bytes);
    let src = strip_bom(&text);
    let lexed = Lexed::new(src);
    let mut squeezed = String::new();
    for token in &lexed.tokens {
        let text = src.get(token.start..token.end).unwrap_or("");
        if token.kind == Kind::InlineHtml {
            squeezed.clear();
            squeezed.extend(text.chars().filter(|c| !c.is_whitespace()));
            if !squeezed.is_empty() {
                visit(&squeezed);
            }
        } else {
            visit(text);
        }
    }
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

impl ParsedConfig {
    /// The define PHP keeps for `name`: the first one in the file.
    pub fn get(&self, name: &str) -> Option<&Define> {
        self.defines.iter().find(|define| define.name == name)
    }

    /// The `$table_prefix` assignment PHP ends up with: the last one, except that an
    /// assignment that only runs while the variable is unset is skipped once an
    /// earlier one has set it. Conditions of other `if`s are assumed to hold.
    pub fn table_prefix(&self) -> Option<&Assignment> {
        let mut current: Option<&Assignment> = None;
        for assignment in &self.table_prefix_assignments {
            if assignment.only_if_unset && current.is_some() {
                continue;
            }
            current = Some(assignment);
        }
        current
    }

    /// Names defined more than once (PHP warns and keeps the first), each listed once.
    /// A later define guarded by `if (!defined(...))` is no duplicate, and neither are
    /// two conditional ones (likely `if`/`else` branches, as in Debian's file).
    pub fn duplicates(&self) -> Vec<String> {
        // For each name seen: whether one of its defines was unconditional.
        let mut seen: HashMap<&str, bool> = HashMap::new();
        let mut reported = HashSet::new();
        let mut duplicates = Vec::new();
        for define in &self.defines {
            let name = define.name.as_str();
            let earlier_unconditional = seen.get(name).copied();
            let clash = earlier_unconditional.is_some_and(|u| u || !define.conditional);
            if clash && !define.guarded && reported.insert(name) {
                duplicates.push(define.name.clone());
            }
            let unconditional = earlier_unconditional.unwrap_or(false) || !define.conditional;
            seen.insert(name, unconditional);
        }
        duplicates
    }

    /// Names of the effective defines (and `$table_prefix`) whose value the reader
    /// cannot evaluate: [`Value::Unknown`], constants such as `__DIR__`, `$_SERVER`.
    pub fn unevaluated(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut names: Vec<String> = self
            .defines
            .iter()
            .filter(|define| seen.insert(define.name.as_str()))
            .filter(|define| !define.value.is_evaluable())
            .map(|define| define.name.clone())
            .collect();
        if self.table_prefix().is_some_and(|a| !a.value.is_evaluable()) {
            names.push("$table_prefix".to_string());
        }
        names
    }

    /// The includes other than `wp-settings.php`: configuration the reader cannot see
    /// (Debian's `wp-config.php` only loads `/etc/wordpress/config-*.php`).
    pub fn foreign_includes(&self) -> impl Iterator<Item = &Include> {
        self.includes
            .iter()
            .filter(|include| !include.is_wp_settings())
    }
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
    fn top_env_var(&self) -> Option<&str> {
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
    fn mentions(&self, needle: &str) -> bool {
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

impl Resolved {
    /// PHP's truthiness: `""`, `"0"`, `0`, `0.0`, `false` and `null` are false.
    pub fn truthy(&self) -> bool {
        match self {
            Resolved::Bool(flag) => *flag,
            Resolved::Int(number) => *number != 0,
            Resolved::Float(number) => *number != 0.0,
            Resolved::Str(text) => !(text.is_empty() || text == "0"),
            Resolved::Null => false,
        }
    }

    /// PHP's string conversion: `true` is `"1"`, `false` and `null` are `""`.
    /// Floats follow PHP for ordinary values (`1.0` is `"1"`), not for exponents.
    pub fn to_php_string(&self) -> String {
        match self {
            Resolved::Bool(true) => "1".to_string(),
            Resolved::Bool(false) | Resolved::Null => String::new(),
            Resolved::Int(number) => number.to_string(),
            Resolved::Float(number) => php_float_string(*number),
            Resolved::Str(text) => text.clone(),
        }
    }

    fn cast(self, kind: CastKind) -> Resolved {
        match kind {
            CastKind::Bool => Resolved::Bool(self.truthy()),
            CastKind::String => Resolved::Str(self.to_php_string()),
            CastKind::Int => Resolved::Int(match &self {
                Resolved::Float(number) if number.is_finite() => *number as i64,
                Resolved::Str(text) => leading_integer(text),
                other => i64::from(other.truthy()),
            }),
            CastKind::Float => Resolved::Float(match &self {
                Resolved::Int(number) => *number as f64,
                Resolved::Float(number) => *number,
                Resolved::Str(text) => text.trim().parse().unwrap_or(0.0),
                other => f64::from(u8::from(other.truthy())),
            }),
        }
    }
}

/// Shown as a PHP literal: `"text"`, `42`, `1.5`, `true`, `null`.
impl fmt::Display for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolved::Str(text) => write!(f, "{text:?}"),
            Resolved::Bool(flag) => write!(f, "{flag}"),
            Resolved::Null => f.write_str("null"),
            Resolved::Int(_) | Resolved::Float(_) => f.write_str(&self.to_php_string()),
        }
    }
}

fn php_float_string(number: f64) -> String {
    if number.is_nan() {
        "NAN".to_string()
    } else if number.is_infinite() {
        if number > 0.0 { "INF" } else { "-INF" }.to_string()
    } else if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{number:.0}")
    } else {
        format!("{number}")
    }
}

/// `(int)"12abc"` is 12 in PHP: the leading integer, or 0.
fn leading_integer(text: &str) -> i64 {
    let trimmed = text.trim_start();
    let digits_end = trimmed
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(trimmed.len(), |(i, _)| i);
    trimmed
        .get(..digits_end)
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------
// Lexer: bytes → tokens. One pass, every byte looked at a bounded number of times.
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    InlineHtml,
    OpenTag,
    CloseTag,
    Ident,
    Var,
    SingleStr,
    DoubleStr,
    /// An unterminated string: runs to the end of the input.
    BadStr,
    Number,
    /// Heredoc, nowdoc, backticks: skipped, never evaluated.
    Opaque,
    Op,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    line: u32,
}

const NO_PARTNER: usize = usize::MAX;

/// The token stream of one source text, with each bracket's partner precomputed so
/// that skipping a bracketed group costs O(1).
struct Lexed<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    partner: Vec<usize>,
    issues: Vec<Issue>,
    has_php: bool,
}

impl<'a> Lexed<'a> {
    fn new(src: &'a str) -> Self {
        let mut lexer = Lexer {
            bytes: src.as_bytes(),
            pos: 0,
            line: 1,
            tokens: Vec::new(),
            issues: Vec::new(),
            has_php: false,
        };
        lexer.run();
        let mut issues = lexer.issues;
        let (partner, unbalanced) = pair_brackets(src, &lexer.tokens);
        if let Some(line) = unbalanced {
            issues.push(Issue {
                line,
                message: "unbalanced brackets".to_string(),
                fatal: true,
            });
        }
        Lexed {
            src,
            tokens: lexer.tokens,
            partner,
            issues,
            has_php: lexer.has_php,
        }
    }

    fn text(&self, i: usize) -> &'a str {
        self.tokens
            .get(i)
            .and_then(|t| self.src.get(t.start..t.end))
            .unwrap_or("")
    }

    fn kind(&self, i: usize) -> Option<Kind> {
        self.tokens.get(i).map(|t| t.kind)
    }

    fn line(&self, i: usize) -> u32 {
        self.tokens.get(i).map_or(0, |t| t.line)
    }

    fn is_op(&self, i: usize, op: &str) -> bool {
        self.kind(i) == Some(Kind::Op) && self.text(i) == op
    }

    /// An identifier's name without a leading namespace backslash.
    fn ident(&self, i: usize) -> Option<&'a str> {
        (self.kind(i) == Some(Kind::Ident)).then(|| {
            let text = self.text(i);
            text.strip_prefix('\\').unwrap_or(text)
        })
    }

    fn is_ident(&self, i: usize, name: &str) -> bool {
        self.ident(i)
            .is_some_and(|id| id.eq_ignore_ascii_case(name))
    }

    fn partner(&self, i: usize) -> Option<usize> {
        self.partner.get(i).copied().filter(|&p| p != NO_PARTNER)
    }
}

fn pair_brackets(src: &str, tokens: &[Token]) -> (Vec<usize>, Option<u32>) {
    let mut partner = vec![NO_PARTNER; tokens.len()];
    let mut open: Vec<(usize, u8)> = Vec::new();
    let mut unbalanced = None;
    for (i, token) in tokens.iter().enumerate() {
        if token.kind != Kind::Op {
            continue;
        }
        let (opens, shape) = match src.get(token.start..token.end).unwrap_or("") {
            "(" => (true, b'('),
            "[" | "#[" => (true, b'['),
            "{" => (true, b'{'),
            ")" => (false, b'('),
            "]" => (false, b'['),
            "}" => (false, b'{'),
            _ => continue,
        };
        if opens {
            open.push((i, shape));
        } else if open.last().is_some_and(|&(_, s)| s == shape) {
            if let Some((o, _)) = open.pop() {
                if let Some(slot) = partner.get_mut(o) {
                    *slot = i;
                }
                if let Some(slot) = partner.get_mut(i) {
                    *slot = o;
                }
            }
        } else {
            unbalanced.get_or_insert(token.line);
        }
    }
    if let Some(&(o, _)) = open.first() {
        let line = tokens.get(o).map_or(0, |t| t.line);
        unbalanced = Some(unbalanced.map_or(line, |l: u32| l.min(line)));
    }
    (partner, unbalanced)
}

struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u32,
    tokens: Vec<Token>,
    issues: Vec<Issue>,
    has_php: bool,
}

const OPS3: [&[u8]; 9] = [
    b"===", b"!==", b"<=>", b"**=", b"...", b"<<=", b">>=", b"??=", b"?->",
];
const OPS2: [&[u8]; 25] = [
    b"==", b"!=", b"<>", b"<=", b">=", b"&&", b"||", b"??", b"->", b"=>", b"::", b"++", b"--",
    b"+=", b"-=", b"*=", b"/=", b".=", b"%=", b"&=", b"|=", b"^=", b"<<", b">>", b"**",
];

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_char(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let rest = haystack.get(from..)?;
    rest.windows(needle.len())
        .position(|window| window == needle)
        .map(|offset| from + offset)
}

impl Lexer<'_> {
    fn run(&mut self) {
        while self.pos < self.bytes.len() {
            self.inline_html();
            if !self.php() {
                break;
            }
        }
    }

    fn at(&self, offset: usize) -> u8 {
        self.bytes.get(self.pos + offset).copied().unwrap_or(0)
    }

    /// Moves to `end`, counting the newlines passed.
    fn advance_to(&mut self, end: usize) {
        let end = end.min(self.bytes.len());
        let passed = self.bytes.get(self.pos..end).unwrap_or(&[]);
        let newlines = passed.iter().filter(|&&b| b == b'\n').count();
        self.line = self
            .line
            .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        self.pos = end.max(self.pos);
    }

    fn push(&mut self, kind: Kind, end: usize) {
        let end = end.min(self.bytes.len());
        self.tokens.push(Token {
            kind,
            start: self.pos,
            end,
            line: self.line,
        });
        self.advance_to(end);
    }

    fn issue(&mut self, message: &str, fatal: bool) {
        self.issues.push(Issue {
            line: self.line,
            message: message.to_string(),
            fatal,
        });
    }

    /// Text up to the next `<?`, then the open tag (`<?php`, `<?=` or a short `<?`).
    fn inline_html(&mut self) {
        let Some(tag) = find(self.bytes, b"<?", self.pos) else {
            self.push(Kind::InlineHtml, self.bytes.len());
            return;
        };
        if tag > self.pos {
            self.push(Kind::InlineHtml, tag);
        }
        let rest = self.bytes.get(tag..).unwrap_or(&[]);
        let long = rest
            .get(..5)
            .is_some_and(|t| t.eq_ignore_ascii_case(b"<?php"));
        let len = if long {
            5
        } else if rest.get(2) == Some(&b'=') {
            3
        } else {
            2
        };
        self.push(Kind::OpenTag, tag + len);
        self.has_php = true;
    }

    /// PHP code up to `?>` (returns true) or the end of input (returns false).
    fn php(&mut self) -> bool {
        while let Some(&c) = self.bytes.get(self.pos) {
            let next = self.at(1);
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => self.advance_to(self.pos + 1),
                b'#' if next != b'[' => self.line_comment(),
                b'/' if next == b'/' => self.line_comment(),
                b'/' if next == b'*' => self.block_comment(),
                b'?' if next == b'>' => {
                    self.close_tag();
                    return true;
                }
                b'\'' => self.quoted(b'\'', Kind::SingleStr),
                b'"' => self.quoted(b'"', Kind::DoubleStr),
                b'`' => self.quoted(b'`', Kind::Opaque),
                b'<' if next == b'<' && self.at(2) == b'<' && self.heredoc() => {}
                b'$' if is_ident_start(next) => self.variable(),
                b'0'..=b'9' => self.number(),
                b'.' if next.is_ascii_digit() => self.number(),
                _ if is_ident_start(c) || (c == b'\\' && is_ident_start(next)) => {
                    if self.ident() {
                        return false;
                    }
                }
                _ => self.op(),
            }
        }
        false
    }

    /// `//` or `#` comment: ends at a line break or at `?>` (which closes PHP).
    fn line_comment(&mut self) {
        let mut i = self.pos;
        while let Some(&c) = self.bytes.get(i) {
            if c == b'\n' || c == b'\r' || (c == b'?' && self.bytes.get(i + 1) == Some(&b'>')) {
                break;
            }
            i += 1;
        }
        self.advance_to(i);
    }

    fn block_comment(&mut self) {
        match find(self.bytes, b"*/", self.pos + 2) {
            Some(end) => self.advance_to(end + 2),
            None => {
                self.issue("unterminated comment", false);
                self.advance_to(self.bytes.len());
            }
        }
    }

    fn close_tag(&mut self) {
        self.push(Kind::CloseTag, self.pos + 2);
        // PHP swallows one line break right after `?>`.
        if self.at(0) == b'\r' && self.at(1) == b'\n' {
            self.advance_to(self.pos + 2);
        } else if self.at(0) == b'\n' {
            self.advance_to(self.pos + 1);
        }
    }

    fn quoted(&mut self, quote: u8, kind: Kind) {
        let mut i = self.pos + 1;
        while let Some(&c) = self.bytes.get(i) {
            match c {
                b'\\' => i += 2,
                _ if c == quote => {
                    self.push(kind, i + 1);
                    return;
                }
                b'{' if quote != b'\'' && self.bytes.get(i + 1) == Some(&b'$') => {
                    i = skip_interpolation(self.bytes, i);
                }
                _ => i += 1,
            }
        }
        self.issue("unterminated string", kind != Kind::Opaque);
        self.push(Kind::BadStr, self.bytes.len());
    }

    /// `<<<ID` / `<<<'ID'` / `<<<"ID"` up to a line holding the closing `ID` (PHP 7.3
    /// rules: it may be indented and followed by anything but an identifier character).
    /// Returns false when this is no heredoc opener, so `<<<` is lexed as operators.
    fn heredoc(&mut self) -> bool {
        let bytes = self.bytes;
        let mut i = self.pos + 3;
        while matches!(bytes.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let quote = match bytes.get(i) {
            Some(&q @ (b'\'' | b'"')) => {
                i += 1;
                Some(q)
            }
            _ => None,
        };
        let id_start = i;
        if !bytes.get(i).is_some_and(|&c| is_ident_start(c)) {
            return false;
        }
        while bytes.get(i).is_some_and(|&c| is_ident_char(c)) {
            i += 1;
        }
        let id = bytes.get(id_start..i).unwrap_or(&[]);
        if let Some(q) = quote {
            if bytes.get(i) != Some(&q) {
                return false;
            }
            i += 1;
        }
        match bytes.get(i) {
            Some(b'\n') => i += 1,
            Some(b'\r') if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            _ => return false,
        }
        let end = heredoc_end(bytes, id, i);
        if end.is_none() {
            self.issue("unterminated heredoc", true);
        }
        self.push(Kind::Opaque, end.unwrap_or(bytes.len()));
        true
    }

    fn variable(&mut self) {
        let mut i = self.pos + 1;
        while self.bytes.get(i).is_some_and(|&c| is_ident_char(c)) {
            i += 1;
        }
        self.push(Kind::Var, i);
    }

    fn number(&mut self) {
        let bytes = self.bytes;
        let mut i = self.pos;
        let prefixed = self.at(0) == b'0' && matches!(self.at(1) | 0x20, b'x' | b'b' | b'o');
        if prefixed && self.at(2).is_ascii_alphanumeric() {
            i += 2;
            while bytes
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            self.push(Kind::Number, i);
            return;
        }
        let digits = |mut i: usize| {
            while bytes
                .get(i)
                .is_some_and(|c| c.is_ascii_digit() || *c == b'_')
            {
                i += 1;
            }
            i
        };
        i = digits(i);
        if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i = digits(i + 1);
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
            if bytes.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
                i = digits(i + 1 + sign);
            }
        }
        self.push(Kind::Number, i);
    }

    /// Returns true at `__halt_compiler`, after which PHP reads nothing.
    fn ident(&mut self) -> bool {
        let bytes = self.bytes;
        let mut i = self.pos + usize::from(self.at(0) == b'\\');
        loop {
            while bytes.get(i).is_some_and(|&c| is_ident_char(c)) {
                i += 1;
            }
            let namespaced = bytes.get(i) == Some(&b'\\')
                && bytes.get(i + 1).is_some_and(|&c| is_ident_start(c));
            if !namespaced {
                break;
            }
            i += 1;
        }
        let halt = bytes
            .get(self.pos..i)
            .is_some_and(|id| id.eq_ignore_ascii_case(b"__halt_compiler"));
        self.push(Kind::Ident, i);
        halt
    }

    fn op(&mut self) {
        let rest = self.bytes.get(self.pos..).unwrap_or(&[]);
        let len = if OPS3.iter().any(|op| rest.starts_with(op)) {
            3
        } else if OPS2.iter().any(|op| rest.starts_with(op)) || rest.starts_with(b"#[") {
            2
        } else {
            1
        };
        self.push(Kind::Op, self.pos + len);
    }
}

/// Skips `{$ … }` inside a double-quoted string, where quotes may nest
/// (`"{$a["key"]}"`). Returns the index after the closing brace.
fn skip_interpolation(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            b'\'' | b'"' => {
                i = skip_simple_quoted(bytes, i);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

fn skip_simple_quoted(bytes: &[u8], open: usize) -> usize {
    let quote = bytes.get(open).copied().unwrap_or(b'"');
    let mut i = open + 1;
    while let Some(&c) = bytes.get(i) {
        if c == b'\\' {
            i += 2;
            continue;
        }
        if c == quote {
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn heredoc_end(bytes: &[u8], id: &[u8], body_start: usize) -> Option<usize> {
    let mut line_start = body_start;
    loop {
        let mut j = line_start;
        while matches!(bytes.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        let closes = bytes.get(j..).is_some_and(|rest| rest.starts_with(id))
            && !bytes.get(j + id.len()).is_some_and(|&c| is_ident_char(c));
        if closes {
            return Some(j + id.len());
        }
        line_start = find(bytes, b"\n", j)? + 1;
    }
}

// ---------------------------------------------------------------------------------
// Scanner: tokens → statements the reader cares about. Walks the tokens once; a
// recognised statement is skipped as a whole through the bracket partners.
// ---------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Guard {
    /// `if (!defined('NAME'))`
    Defined(String),
    /// `if (!isset($name))`
    Unset(String),
}

/// An open block (`{ … }` or `: … endif;`) or a brace-less control statement.
#[derive(Clone, Debug, Default)]
struct Frame {
    guard: Option<Guard>,
    alt: bool,
}

struct Scanner<'l, 'a> {
    lx: &'l Lexed<'a>,
    out: ParsedConfig,
    frames: Vec<Frame>,
    /// Blocks deeper than [`MAX_FRAMES`], counted only.
    extra_depth: usize,
    /// The brace-less statement after `if (…)` / `else`, until its `;`.
    statement: Option<Frame>,
    /// Open control conditions: the index of their `)`, and the frame they start.
    controls: Vec<(usize, Frame)>,
    /// A control condition just closed: the next token decides how its body looks.
    after_control: Option<Frame>,
    /// `$var = getenv_docker('X', …)` seen: `$var` holds env `X`.
    env_vars: HashMap<String, String>,
    /// A `require`/`include` of something other than `wp-settings.php` was seen.
    seen_foreign_include: bool,
}

impl<'l, 'a> Scanner<'l, 'a> {
    fn new(lx: &'l Lexed<'a>) -> Self {
        let out = ParsedConfig {
            issues: lx.issues.clone(),
            has_php: lx.has_php,
            ..ParsedConfig::default()
        };
        Scanner {
            lx,
            out,
            frames: Vec::new(),
            extra_depth: 0,
            statement: None,
            controls: Vec::new(),
            after_control: None,
            env_vars: HashMap::new(),
            seen_foreign_include: false,
        }
    }

    fn run(mut self) -> ParsedConfig {
        let mut i = 0;
        while i < self.lx.tokens.len() {
            i = self.step(i).max(i + 1);
        }
        self.out
    }

    fn step(&mut self, i: usize) -> usize {
        while self.controls.last().is_some_and(|&(close, _)| close < i) {
            self.controls.pop();
        }
        if self.controls.last().is_some_and(|&(close, _)| close == i) {
            self.after_control = self.controls.pop().map(|(_, frame)| frame);
            return i + 1;
        }
        if let Some(frame) = self.after_control.take() {
            if self.lx.is_op(i, "{") {
                self.push_frame(frame);
                return i + 1;
            }
            if self.lx.is_op(i, ":") {
                self.push_frame(Frame { alt: true, ..frame });
                return i + 1;
            }
            self.statement = Some(frame);
        }
        match self.lx.kind(i) {
            Some(Kind::Op) => self.op(i),
            Some(Kind::CloseTag) => {
                self.statement = None;
                i + 1
            }
            Some(Kind::Ident) => self.keyword(i),
            Some(Kind::Var) => self.assignment(i),
            _ => i + 1,
        }
    }

    fn op(&mut self, i: usize) -> usize {
        match self.lx.text(i) {
            "{" => self.push_frame(Frame::default()),
            "}" => {
                self.pop_frame();
                self.statement = None;
            }
            ";" => self.statement = None,
            _ => {}
        }
        i + 1
    }

    fn keyword(&mut self, i: usize) -> usize {
        let Some(name) = self.lx.ident(i).filter(|n| n.len() <= 16) else {
            return i + 1;
        };
        match name.to_ascii_lowercase().as_str() {
            "if" | "while" | "for" | "foreach" | "switch" => self.control(i),
            "elseif" => {
                self.end_alt_branch(i);
                self.control(i)
            }
            "else" => {
                self.end_alt_branch(i);
                self.after_control = Some(Frame::default());
                i + 1
            }
            "endif" | "endwhile" | "endfor" | "endforeach" | "endswitch" => {
                if self.frames.last().is_some_and(|f| f.alt) {
                    self.pop_frame();
                }
                i + 1
            }
            "define" if self.is_call(i) => self.define(i),
            "eval" if self.is_call(i) => self.eval(i),
            "require" | "require_once" | "include" | "include_once" => self.include(i),
            "const" if self.frames.is_empty() && self.extra_depth == 0 => self.constant(i),
            _ => i + 1,
        }
    }

    /// A call to a global function: `name(` not preceded by `->`, `::`, `function`…
    fn is_call(&self, i: usize) -> bool {
        let method = i > 0
            && (["->", "?->", "::"]
                .iter()
                .any(|op| self.lx.is_op(i - 1, op))
                || ["function", "new", "const"]
                    .iter()
                    .any(|kw| self.lx.is_ident(i - 1, kw)));
        !method && self.lx.is_op(i + 1, "(")
    }

    fn control(&mut self, i: usize) -> usize {
        if !self.lx.is_op(i + 1, "(") {
            return i + 1;
        }
        let Some(close) = self.lx.partner(i + 1) else {
            return i + 1;
        };
        if self.controls.len() < MAX_FRAMES {
            let guard = self.guard_between(i + 2, close);
            self.controls.push((close, Frame { guard, alt: false }));
        }
        // The condition itself is scanned too: the official image assigns
        // `$configExtra = getenv_docker(...)` inside `if (...)`.
        i + 2
    }

    /// In `if (…): … else: … endif;`, `else`/`elseif` end the previous branch.
    fn end_alt_branch(&mut self, i: usize) {
        let after_brace = i > 0 && self.lx.is_op(i - 1, "}");
        if !after_brace && self.frames.last().is_some_and(|f| f.alt) {
            self.pop_frame();
        }
    }

    /// Recognises `!defined('NAME')` and `!isset($name)` as the whole condition.
    fn guard_between(&self, start: usize, end: usize) -> Option<Guard> {
        let lx = self.lx;
        let shaped = end == start + 5
            && lx.is_op(start, "!")
            && lx.is_op(start + 2, "(")
            && lx.partner(start + 2) == Some(start + 4);
        if !shaped {
            return None;
        }
        let subject = start + 3;
        if lx.is_ident(start + 1, "defined") {
            let name = static_string(&parse_value(lx, subject, subject + 1, 0))?;
            Some(Guard::Defined(name))
        } else if lx.is_ident(start + 1, "isset") && lx.kind(subject) == Some(Kind::Var) {
            Some(Guard::Unset(var_name(lx.text(subject)).to_string()))
        } else {
            None
        }
    }

    fn define(&mut self, i: usize) -> usize {
        let line = self.lx.line(i);
        let Some(close) = self.lx.partner(i + 1) else {
            self.issue(line, "define( without its closing parenthesis");
            return i + 1;
        };
        let args = split_args(self.lx, i + 2, close);
        let (Some(&(name_start, name_end)), Some(&(value_start, value_end))) =
            (args.first(), args.get(1))
        else {
            self.issue(line, "define() with fewer than two arguments");
            return close + 1;
        };
        let Some(name) = static_string(&parse_value(self.lx, name_start, name_end, 0)) else {
            self.issue(line, "define() with a name the reader cannot evaluate");
            return close + 1;
        };
        let value = parse_value(self.lx, value_start, value_end, 0);
        self.push_define(name, value, line);
        close + 1
    }

    /// `const NAME = value, OTHER = value;` at the top level.
    fn constant(&mut self, i: usize) -> usize {
        let mut k = i + 1;
        loop {
            let named = self.lx.kind(k) == Some(Kind::Ident) && self.lx.is_op(k + 1, "=");
            if !named {
                return k;
            }
            let end = expression_end(self.lx, k + 2);
            let value = parse_value(self.lx, k + 2, end, 0);
            let name = self.lx.text(k).to_string();
            self.push_define(name, value, self.lx.line(k));
            if !self.lx.is_op(end, ",") {
                return end;
            }
            k = end + 1;
        }
    }

    fn push_define(&mut self, name: String, value: Value, line: u32) {
        let guarded = self.guarded_by(&Guard::Defined(name.clone()));
        self.out.defines.push(Define {
            name,
            value,
            line,
            conditional: self.is_conditional(),
            guarded,
            preempted_by_include: guarded && self.seen_foreign_include,
            origin: Origin::File,
        });
    }

    /// `$name = …`, `$name .= …`, `$name ??= …`: records `$table_prefix`, and which
    /// variables hold an environment variable (for `eval($configExtra)`).
    fn assignment(&mut self, i: usize) -> usize {
        let lx = self.lx;
        let member = i > 0
            && ["->", "?->", "::", "$"]
                .iter()
                .any(|op| lx.is_op(i - 1, op));
        let operator = lx.text(i + 1);
        if member || lx.kind(i + 1) != Some(Kind::Op) || !["=", ".=", "??="].contains(&operator) {
            return i + 1;
        }
        let name = var_name(lx.text(i));
        let end = expression_end(lx, i + 2);
        let value = parse_value(lx, i + 2, end, 0);
        if operator == "=" {
            match value.top_env_var() {
                Some(var) => self.env_vars.insert(name.to_string(), var.to_string()),
                None => self.env_vars.remove(name),
            };
        }
        if name == "table_prefix" {
            let value = match operator {
                ".=" => Value::Unknown(format!(".= {}", source_text(lx, i + 2, end))),
                _ => value,
            };
            let only_if_unset =
                operator == "??=" || self.guarded_by(&Guard::Unset("table_prefix".to_string()));
            self.out.table_prefix_assignments.push(Assignment {
                value,
                line: lx.line(i),
                conditional: self.is_conditional(),
                only_if_unset,
                preempted_by_include: only_if_unset && self.seen_foreign_include,
                origin: Origin::File,
            });
        }
        end
    }

    fn eval(&mut self, i: usize) -> usize {
        let line = self.lx.line(i);
        let Some(close) = self.lx.partner(i + 1) else {
            return i + 1;
        };
        let var = if close == i + 3 && self.lx.kind(i + 2) == Some(Kind::Var) {
            self.env_vars.get(var_name(self.lx.text(i + 2))).cloned()
        } else {
            parse_value(self.lx, i + 2, close, 0)
                .top_env_var()
                .map(str::to_string)
        };
        match var {
            Some(var) => self.out.evals_env.push(EnvEval {
                var,
                line,
                defines_before: self.out.defines.len(),
                assignments_before: self.out.table_prefix_assignments.len(),
            }),
            None => self.issue(line, "eval() of code the reader cannot follow"),
        }
        close + 1
    }

    fn include(&mut self, i: usize) -> usize {
        let end = expression_end(self.lx, i + 1);
        let include = Include {
            statement: self.lx.ident(i).unwrap_or("").to_ascii_lowercase(),
            target: parse_value(self.lx, i + 1, end, 0),
            line: self.lx.line(i),
        };
        self.seen_foreign_include |= !include.is_wp_settings();
        self.out.includes.push(include);
        end
    }

    fn issue(&mut self, line: u32, message: &str) {
        self.out.issues.push(Issue {
            line,
            message: message.to_string(),
            fatal: false,
        });
    }

    fn push_frame(&mut self, frame: Frame) {
        if self.frames.len() < MAX_FRAMES {
            self.frames.push(frame);
        } else {
            self.extra_depth += 1;
        }
    }

    fn pop_frame(&mut self) {
        if self.extra_depth > 0 {
            self.extra_depth -= 1;
        } else {
            self.frames.pop();
        }
    }

    fn is_conditional(&self) -> bool {
        !self.frames.is_empty() || self.extra_depth > 0 || self.statement.is_some()
    }

    fn guarded_by(&self, guard: &Guard) -> bool {
        self.frames
            .iter()
            .chain(self.statement.iter())
            .any(|frame| frame.guard.as_ref() == Some(guard))
    }
}

fn var_name(text: &str) -> &str {
    text.strip_prefix('$').unwrap_or(text)
}

/// The index where an expression starting at `start` ends: the first `;`, `,`,
/// closing bracket or `?>` outside brackets (or an unmatched opening bracket).
fn expression_end(lx: &Lexed<'_>, start: usize) -> usize {
    let mut k = start;
    while k < lx.tokens.len() {
        match lx.kind(k) {
            Some(Kind::CloseTag) => return k,
            Some(Kind::Op) => match lx.text(k) {
                ";" | "," | ")" | "]" | "}" => return k,
                "(" | "[" | "{" | "#[" => match lx.partner(k) {
                    Some(p) if p > k => {
                        k = p + 1;
                        continue;
                    }
                    _ => return k,
                },
                _ => {}
            },
            _ => {}
        }
        k += 1;
    }
    lx.tokens.len()
}

/// Splits `start..end` (the inside of a call's parentheses) at top-level commas. A
/// trailing comma (allowed since PHP 7.3) adds no argument.
fn split_args(lx: &Lexed<'_>, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut args = Vec::new();
    let mut arg_start = start;
    let mut k = start;
    while k < end {
        if let Some(p) = lx.partner(k).filter(|&p| p > k && p < end) {
            k = p + 1;
            continue;
        }
        if lx.is_op(k, ",") {
            args.push((arg_start, k));
            arg_start = k + 1;
        }
        k += 1;
    }
    if arg_start < end {
        args.push((arg_start, end));
    }
    args
}

/// The string a constant expression such as `'DB_HOST'` or `'WP_' . 'DEBUG'` stands for.
fn static_string(value: &Value) -> Option<String> {
    if !value.env_vars().is_empty() {
        return None;
    }
    match value.resolve(&|_| None)? {
        Resolved::Str(text) => Some(text),
        _ => None,
    }
}

/// The tokens `start..end` as text, whitespace between them squeezed to one space.
fn source_text(lx: &Lexed<'_>, start: usize, end: usize) -> String {
    let mut out = String::new();
    let mut previous_end: Option<usize> = None;
    for token in lx.tokens.get(start..end).unwrap_or(&[]) {
        if previous_end.is_some_and(|p| token.start > p) {
            out.push(' ');
        }
        out.push_str(lx.src.get(token.start..token.end).unwrap_or(""));
        previous_end = Some(token.end);
        if out.len() > MAX_UNKNOWN_CHARS {
            let mut cut = MAX_UNKNOWN_CHARS;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// Expressions: a small recursive-descent parser over a token range, depth-bounded.
// ---------------------------------------------------------------------------------

/// Parses the tokens `start..end` as one expression; anything it does not fully
/// understand becomes [`Value::Unknown`] holding the source text.
fn parse_value(lx: &Lexed<'_>, start: usize, end: usize, depth: u32) -> Value {
    if start >= end || depth > MAX_DEPTH {
        return Value::Unknown(source_text(lx, start, end));
    }
    let mut parser = ExprParser {
        lx,
        pos: start,
        end,
        depth,
    };
    match parser.fallback_chain() {
        Some(value) if parser.pos == end => value,
        _ => Value::Unknown(source_text(lx, start, end)),
    }
}

struct ExprParser<'l, 'a> {
    lx: &'l Lexed<'a>,
    pos: usize,
    end: usize,
    depth: u32,
}

impl ExprParser<'_, '_> {
    fn at_op(&self, offset: usize, op: &str) -> bool {
        self.pos + offset < self.end && self.lx.is_op(self.pos + offset, op)
    }

    /// `a ?: b ?: c` (left-associative) over `??` chains. A full `a ? b : c` fails.
    fn fallback_chain(&mut self) -> Option<Value> {
        let mut value = self.coalesce_chain()?;
        let mut links = 0;
        while self.at_op(0, "?") && self.at_op(1, ":") {
            links += 1;
            if self.depth + links > MAX_DEPTH {
                return None;
            }
            self.pos += 2;
            let fallback = self.coalesce_chain()?;
            value = Value::Fallback {
                value: Box::new(value),
                fallback: Box::new(fallback),
                when: FallbackWhen::Falsy,
            };
        }
        (!self.at_op(0, "?")).then_some(value)
    }

    /// `a ?? b ?? c` (right-associative), collected iteratively.
    fn coalesce_chain(&mut self) -> Option<Value> {
        let mut operands = vec![self.concat()?];
        while self.at_op(0, "??") {
            if self.depth + operands.len() as u32 > MAX_DEPTH {
                return None;
            }
            self.pos += 1;
            operands.push(self.concat()?);
        }
        let mut value = operands.pop()?;
        while let Some(left) = operands.pop() {
            value = Value::Fallback {
                value: Box::new(left),
                fallback: Box::new(value),
                when: FallbackWhen::Null,
            };
        }
        Some(value)
    }

    fn concat(&mut self) -> Option<Value> {
        let mut parts = vec![self.unary()?];
        while self.at_op(0, ".") {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Some(if parts.len() == 1 {
            parts.pop()?
        } else {
            Value::Concat(parts)
        })
    }

    fn unary(&mut self) -> Option<Value> {
        self.depth += 1;
        let value = if self.depth > MAX_DEPTH {
            None
        } else {
            self.unary_inner()
        };
        self.depth -= 1;
        value
    }

    fn unary_inner(&mut self) -> Option<Value> {
        if self.at_op(0, "!") {
            self.pos += 1;
            return Some(Value::Not(Box::new(self.unary()?)));
        }
        if self.at_op(0, "@") {
            self.pos += 1;
            return self.unary();
        }
        if let Some(kind) = self.cast() {
            self.pos += 3;
            return Some(Value::Cast(kind, Box::new(self.unary()?)));
        }
        if self.at_op(0, "-") || self.at_op(0, "+") {
            let negative = self.at_op(0, "-");
            self.pos += 1;
            return signed_number(self.number()?, negative);
        }
        self.primary()
    }

    fn cast(&self) -> Option<CastKind> {
        if !self.at_op(0, "(") || self.lx.partner(self.pos) != Some(self.pos + 2) {
            return None;
        }
        let name = self.lx.ident(self.pos + 1)?.to_ascii_lowercase();
        match name.as_str() {
            "bool" | "boolean" => Some(CastKind::Bool),
            "int" | "integer" => Some(CastKind::Int),
            "float" | "double" | "real" => Some(CastKind::Float),
            "string" | "binary" => Some(CastKind::String),
            _ => None,
        }
    }

    fn number(&mut self) -> Option<Value> {
        if self.pos >= self.end || self.lx.kind(self.pos) != Some(Kind::Number) {
            return None;
        }
        self.pos += 1;
        Some(decode_number(self.lx.text(self.pos - 1)))
    }

    fn primary(&mut self) -> Option<Value> {
        if self.pos >= self.end {
            return None;
        }
        let i = self.pos;
        let lx = self.lx;
        match lx.kind(i)? {
            Kind::SingleStr => {
                self.pos += 1;
                Some(Value::Str(decode_single(lx.text(i))))
            }
            Kind::DoubleStr => {
                self.pos += 1;
                decode_double(lx.text(i)).map(Value::Str)
            }
            Kind::Number => self.number(),
            Kind::Ident => self.identifier(),
            Kind::Var => self.superglobal(),
            Kind::Op if lx.is_op(i, "(") => {
                let close = lx.partner(i).filter(|&c| c < self.end)?;
                self.pos = close + 1;
                Some(parse_value(lx, i + 1, close, self.depth + 1))
            }
            _ => None,
        }
    }

    /// `true`/`false`/`null`, `getenv_docker(…)`, `getenv(…)`, or a bare constant.
    fn identifier(&mut self) -> Option<Value> {
        let i = self.pos;
        let name = self.lx.ident(i)?;
        let lower = name.to_ascii_lowercase();
        if !self.at_op(1, "(") {
            self.pos += 1;
            return Some(match lower.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => Value::Const(name.to_string()),
            });
        }
        if lower != "getenv_docker" && lower != "getenv" {
            return None;
        }
        let close = self.lx.partner(i + 1).filter(|&c| c < self.end)?;
        let args = split_args(self.lx, i + 2, close);
        let arg = |n: usize| {
            args.get(n)
                .map(|&(a, b)| parse_value(self.lx, a, b, self.depth + 1))
        };
        let var = static_string(&arg(0)?)?;
        let value = match (lower.as_str(), args.len()) {
            ("getenv_docker", 2) => Value::Env {
                source: EnvSource::GetenvDocker,
                var,
                default: Some(Box::new(arg(1)?)),
            },
            ("getenv", 1 | 2) => Value::Env {
                source: EnvSource::Getenv,
                var,
                default: None,
            },
            _ => return None,
        };
        self.pos = close + 1;
        Some(value)
    }

    /// `$_ENV['X']` and `$_SERVER['X']`.
    fn superglobal(&mut self) -> Option<Value> {
        let i = self.pos;
        let source = match self.lx.text(i) {
            "$_ENV" => EnvSource::EnvArray,
            "$_SERVER" => EnvSource::ServerArray,
            _ => return None,
        };
        let close = self.lx.partner(i + 1).filter(|&c| c < self.end)?;
        if !self.lx.is_op(i + 1, "[") {
            return None;
        }
        let var = static_string(&parse_value(self.lx, i + 2, close, self.depth + 1))?;
        self.pos = close + 1;
        Some(Value::Env {
            source,
            var,
            default: None,
        })
    }
}

fn signed_number(value: Value, negative: bool) -> Option<Value> {
    match value {
        Value::Int(number) if negative => Some(
            number
                .checked_neg()
                .map_or(Value::Float(-(number as f64)), Value::Int),
        ),
        Value::Float(number) if negative => Some(Value::Float(-number)),
        Value::Int(_) | Value::Float(_) => Some(value),
        _ => None,
    }
}

/// PHP numeric literal: decimal, `0x`, `0b`, `0o`, legacy octal `0755`, `_`
/// separators, floats; integers too large for `i64` become floats as in PHP.
fn decode_number(text: &str) -> Value {
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
fn decode_single(raw: &str) -> String {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some(next @ ('\'' | '\\')) => {
                out.push(next);
                chars.next();
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// `"…"` with PHP's escapes; `None` when it interpolates a variable (`"$x"`, `"{$x}"`).
fn decode_double(raw: &str) -> Option<String> {
    let inner = raw
        .get(1..raw.len().saturating_sub(1))
        .unwrap_or_default()
        .as_bytes();
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
    Some(String::from_utf8_lossy(&out).into_owned())
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOCKER: &str = include_str!("../../tests/fixtures/wpconfig/docker.php");
    const SAMPLE: &str = include_str!("../../tests/fixtures/wpconfig/sample.php");
    const DEBIAN: &str = include_str!("../../tests/fixtures/wpconfig/debian.php");
    const BITNAMI: &str = include_str!("../../tests/fixtures/wpconfig/bitnami.php");
    const HAND_EDITED: &str = include_str!("../../tests/fixtures/wpconfig/hand-edited.php");

    /// One line per thing the reader found, in a compact notation:
    /// `NAME=description [guarded|if]`, `$table_prefix=…`, `eval VAR@n`,
    /// `require_once …`, `dup NAME`, `!issue@line`, `no php`.
    fn summary(parsed: &ParsedConfig) -> String {
        let flag = |guarded: bool, conditional: bool, guard_name: &str| match (guarded, conditional)
        {
            (true, _) => format!(" [{guard_name}]"),
            (false, true) => " [if]".to_string(),
            (false, false) => String::new(),
        };
        let mut parts = Vec::new();
        for d in &parsed.defines {
            let flags = flag(d.guarded, d.conditional, "guarded");
            parts.push(format!("{}={}{flags}", d.name, d.value.describe()));
        }
        for a in &parsed.table_prefix_assignments {
            let flags = flag(a.only_if_unset, a.conditional, "unset");
            parts.push(format!("$table_prefix={}{flags}", a.value.describe()));
        }
        for e in &parsed.evals_env {
            parts.push(format!("eval {}@{}", e.var, e.defines_before));
        }
        for i in &parsed.includes {
            parts.push(format!("{} {}", i.statement, i.target.describe()));
        }
        for name in parsed.duplicates() {
            parts.push(format!("dup {name}"));
        }
        for i in &parsed.issues {
            let fatal = if i.fatal { "fatal " } else { "" };
            parts.push(format!("!{fatal}{}@{}", i.message, i.line));
        }
        if !parsed.has_php {
            parts.push("no php".to_string());
        }
        parts.join("; ")
    }

    fn check(input: &str, expected: &str) {
        assert_eq!(
            summary(&parse(input.as_bytes())),
            expected,
            "input: {input:?}"
        );
    }

    #[test]
    fn reads_the_shapes_found_in_real_files() {
        let cases: &[(&str, &str)] = &[
            // Plain defines, both quote styles, spacing, case.
            ("<?php define('DB_HOST', 'mysql');", r#"DB_HOST=literal "mysql""#),
            (r#"<?php define("X",'y');"#, r#"X=literal "y""#),
            ("<?php DEFINE( 'A' , 1 );", "A=literal 1"),
            ("<?php \\define('A', 1);", "A=literal 1"),
            ("<?php define('A', true, true);", "A=literal true"),
            ("<?php define('A', 1,);", "A=literal 1"),
            ("<?php define('A', TRUE); define('B', False); define('C', NULL);", "A=literal true; B=literal false; C=literal null"),
            ("<?php define('A', 1.5); define('B', -3); define('C', 0x1F); define('D', 0755); define('E', 1_000);", "A=literal 1.5; B=literal -3; C=literal 31; D=literal 493; E=literal 1000"),
            ("<?php const DB_HOST = 'x', DB_NAME = 'y';", r#"DB_HOST=literal "x"; DB_NAME=literal "y""#),
            ("<?php define('WP_' . 'DEBUG', false);", "WP_DEBUG=literal false"),
            // Quoting and escapes.
            (r"<?php define('A', 'it\'s \\ \n');", r#"A=literal "it's \\ \\n""#),
            (r#"<?php define('A', "tab\there \"q\" \$x \x41\101\u{e9}");"#, r#"A=literal "tab\there \"q\" $x AAé""#),
            (r#"<?php define('A', 'has "double" and // and /* inside');"#, r#"A=literal "has \"double\" and // and /* inside""#),
            (r#"<?php define('A', "host-$suffix");"#, r#"A=unevaluable `"host-$suffix"`"#),
            (r#"<?php define('A', "{$cfg['x']}");"#, r#"A=unevaluable `"{$cfg['x']}"`"#),
            (r#"<?php $a = "{$b["k"]}"; define('A', 1);"#, "A=literal 1"),
            // Environment reads.
            ("<?php define( 'DB_HOST', getenv_docker('WORDPRESS_DB_HOST', 'mysql') );", r#"DB_HOST=env WORDPRESS_DB_HOST (default "mysql")"#),
            ("<?php define( 'WP_DEBUG', !!getenv_docker('WORDPRESS_DEBUG', '') );", r#"WP_DEBUG=bool(env WORDPRESS_DEBUG (default ""))"#),
            ("<?php define('A', getenv('X'));", "A=env X (getenv)"),
            ("<?php define('R', getenv('REDIS_HOST') ?: 'redis');", r#"R=env REDIS_HOST (getenv) ?: "redis""#),
            ("<?php define('A', $_ENV['X'] ?? 'd');", r#"A=env X ($_ENV) ?? "d""#),
            ("<?php define('A', (bool) getenv('X'));", "A=bool(env X (getenv))"),
            ("<?php define('A', @getenv('X'));", "A=env X (getenv)"),
            ("<?php define('A', !false);", "A=not false"),
            ("<?php define('WP_HOME', 'http://' . $_SERVER['HTTP_HOST'] . '/');", r#"WP_HOME="http://" . $_SERVER["HTTP_HOST"] . "/""#),
            ("<?php define('A', getenv_docker('X'));", "A=unevaluable `getenv_docker('X')`"),
            // Things it cannot evaluate, kept as source text.
            ("<?php define('ABSPATH', dirname(__FILE__) . '/');", "ABSPATH=unevaluable `dirname(__FILE__) . '/'`"),
            ("<?php define('A', $x ? 1 : 2);", "A=unevaluable `$x ? 1 : 2`"),
            ("<?php define('A', 1 + 2);", "A=unevaluable `1 + 2`"),
            ("<?php define('A', [1, 2]);", "A=unevaluable `[1, 2]`"),
            ("<?php define('A', <<<X\nv\nX);", "A=unevaluable `<<<X\nv\nX`"),
            // Guards and conditions.
            ("<?php if ( ! defined( 'ABSPATH' ) ) {\n\tdefine( 'ABSPATH', __DIR__ . '/' );\n}", r#"ABSPATH=constant __DIR__ . "/" [guarded]"#),
            ("<?php if (!defined('WP_DEBUG')) define('WP_DEBUG', false); define('B', 1);", "WP_DEBUG=literal false [guarded]; B=literal 1"),
            ("<?php if (!defined('A')): define('A', 1); endif; define('B', 2);", "A=literal 1 [guarded]; B=literal 2"),
            ("<?php if ( defined( 'WP_CLI' ) ) { define('X', 1); } define('Y', 2);", "X=literal 1 [if]; Y=literal 2"),
            ("<?php if ($x) { define('A', 1); } else define('A', 2); define('C', 3);", "A=literal 1 [if]; A=literal 2 [if]; C=literal 3"),
            ("<?php add_filter('x', function($h) { define('IN_CLOSURE', 1); return $h; });", "IN_CLOSURE=literal 1 [if]"),
            // Duplicates: all kept, PHP keeps the first.
            ("<?php define('A', 1); define('A', 2);", "A=literal 1; A=literal 2; dup A"),
            ("<?php define('A', 1); if (!defined('A')) { define('A', 2); }", "A=literal 1; A=literal 2 [guarded]"),
            // Comments, including ones that contain define(.
            ("<?php // define('A', 1);\n# define('B', 2);\n/* define('C', 3); */ /** define('D', 4) */ define('E', 5);", "E=literal 5"),
            ("<?php #[Attr]\ndefine('A', 1);", "A=literal 1"),
            ("<?php // define('A', 1); ?> define('B', 2); <?php define('C', 3);", "C=literal 3"),
            // Text outside PHP tags, and the tags themselves.
            ("define('A', 1); <?php define('B', 2); ?> define('C', 3);", "B=literal 2"),
            ("define('A', 1);", "no php"),
            ("", "no php"),
            ("<? define('A', 1); ?>", "A=literal 1"),
            ("<?PHP define('A', 1);", "A=literal 1"),
            // $table_prefix.
            ("<?php $table_prefix  = 'wp_';", r#"$table_prefix=literal "wp_""#),
            ("<?php $table_prefix = getenv_docker('WORDPRESS_TABLE_PREFIX', 'wp_');", r#"$table_prefix=env WORDPRESS_TABLE_PREFIX (default "wp_")"#),
            ("<?php $table_prefix = 'x_'; if (!isset($table_prefix)) { $table_prefix = 'wp_'; }", r#"$table_prefix=literal "x_"; $table_prefix=literal "wp_" [unset]"#),
            ("<?php $table_prefix ??= 'wp_'; $table_prefix .= 'x';", r#"$table_prefix=literal "wp_" [unset]; $table_prefix=unevaluable `.= 'x'`"#),
            ("<?php $this->table_prefix = 'no'; $GLOBALS['table_prefix'] = 'no';", ""),
            // eval() and includes.
            ("<?php if ($configExtra = getenv_docker('WORDPRESS_CONFIG_EXTRA', '')) { eval($configExtra); }", "eval WORDPRESS_CONFIG_EXTRA@0"),
            ("<?php define('A', 1); eval(getenv('EXTRA'));", "A=literal 1; eval EXTRA@1"),
            ("<?php eval($code);", "!eval() of code the reader cannot follow@1"),
            ("<?php require_once ABSPATH . 'wp-settings.php';", r#"require_once constant ABSPATH . "wp-settings.php""#),
            ("<?php require_once('/etc/wordpress/config-default.php');", r#"require_once literal "/etc/wordpress/config-default.php""#),
            // Not defines at all.
            ("<?php $c->define('A', 1); Config::define('B', 2); function define($a, $b) {}", ""),
            ("<?php if (defined('A')) {} echo DEFINED;", ""),
            // Heredoc, nowdoc, backticks: skipped.
            ("<?php $x = <<<EOT\ndefine('A', 1);\nEOT;\ndefine('B', 2);", "B=literal 2"),
            ("<?php $x = <<<'EOT'\n  define('A', 1);\n  EOT;\ndefine('B', 2);", "B=literal 2"),
            ("<?php $x = `define('A', 1)`; define('B', 2);", "B=literal 2"),
            // Byte-order mark, CRLF, tabs.
            ("\u{feff}<?php define('A', 1);", "A=literal 1"),
            ("<?php\r\ndefine('A',\r\n 'b');\r\n", r#"A=literal "b""#),
            ("<?php\tdefine(\t'A',\t'b'\t);", r#"A=literal "b""#),
            // Broken input: reports what PHP would choke on, keeps what it can.
            ("<?php define('A', 'oops);", "!fatal unterminated string@1; !fatal unbalanced brackets@1; !define( without its closing parenthesis@1"),
            ("<?php define('A', 1); /* define('B', 2);", "A=literal 1; !unterminated comment@1"),
            ("<?php define('A', 1);\n$x = <<<EOT\nnever closed", "A=literal 1; !fatal unterminated heredoc@2"),
            ("<?php }}}{{{ define('A', 1);", "A=literal 1 [if]; !fatal unbalanced brackets@1"),
            ("<?php define($name, 1); define('B');", "!define() with a name the reader cannot evaluate@1; !define() with fewer than two arguments@1"),
            ("<?php define('A', 1); __halt_compiler(); define('B', 2); 'unterminated", "A=literal 1"),
            ("\u{0}\u{fffd}<?php\u{0} define('A', 1); \u{7f}", "A=literal 1"),
        ];
        for (input, expected) in cases {
            check(input, expected);
        }
    }

    #[test]
    fn binary_junk_around_a_define_is_tolerated() {
        let mut bytes = vec![0xff, 0xfe, 0x00, b'<', b'?', b'p', b'h', b'p', b' '];
        bytes.extend_from_slice(b"define('A', 'b'); \xc3\x28 \x80 define('C', 1);");
        let parsed = parse(&bytes);
        // 0x28 after the broken sequence is a `(` that never closes.
        let expected = r#"A=literal "b"; C=literal 1; !fatal unbalanced brackets@1"#;
        assert_eq!(summary(&parsed), expected);
    }

    #[test]
    fn first_define_wins_and_lines_are_counted() {
        let parsed = parse(b"<?php\r\n\r\ndefine('A', 1);\n/* two\nlines */\ndefine('A', 2);");
        let first = parsed.get("A").unwrap();
        assert_eq!((first.value.clone(), first.line), (Value::Int(1), 3));
        assert_eq!(parsed.defines[1].line, 6);
        assert_eq!(parsed.duplicates(), vec!["A".to_string()]);
    }

    #[test]
    fn deep_parentheses_are_followed_up_to_a_bound() {
        let shallow = format!("<?php define('A', {}1{});", "(".repeat(10), ")".repeat(10));
        check(&shallow, "A=literal 1");
        let deep = format!(
            "<?php define('A', {}1{}); define('B', 2);",
            "(".repeat(500),
            ")".repeat(500)
        );
        let parsed = parse(deep.as_bytes());
        assert!(matches!(parsed.get("A").unwrap().value, Value::Unknown(_)));
        assert_eq!(parsed.get("B").unwrap().value, Value::Int(2));
    }

    #[test]
    fn official_docker_file() {
        let parsed = parse(DOCKER.as_bytes());
        assert_eq!(parsed.defines.len(), 16);
        assert_eq!(
            parsed.get("DB_HOST").unwrap().value,
            Value::Env {
                source: EnvSource::GetenvDocker,
                var: "WORDPRESS_DB_HOST".to_string(),
                default: Some(Box::new(Value::Str("mysql".to_string()))),
            }
        );
        let prefix = parsed.table_prefix().unwrap();
        assert_eq!(prefix.value.env_vars(), vec!["WORDPRESS_TABLE_PREFIX"]);
        assert_eq!(parsed.evals_env.len(), 1);
        assert_eq!(parsed.evals_env[0].var, "WORDPRESS_CONFIG_EXTRA");
        // The eval runs after WP_DEBUG and before ABSPATH.
        assert_eq!(parsed.evals_env[0].defines_before, 15);
        assert_eq!(parsed.unevaluated(), vec!["ABSPATH".to_string()]);
        assert!(parsed.duplicates().is_empty() && parsed.issues.is_empty());
        assert_eq!(parsed.foreign_includes().count(), 0);
        let unset = |_: &str| None;
        let debug = parsed.get("WP_DEBUG").unwrap().value.resolve(&unset);
        assert_eq!(debug, Some(Resolved::Bool(false)));
        let set = |var: &str| (var == "WORDPRESS_DEBUG").then(|| "1".to_string());
        let debug = parsed.get("WP_DEBUG").unwrap().value.resolve(&set);
        assert_eq!(debug, Some(Resolved::Bool(true)));
    }

    #[test]
    fn wordpress_sample_file() {
        let parsed = parse(SAMPLE.as_bytes());
        let names: Vec<&str> = parsed.defines.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names.len(), 16);
        assert_eq!(names[..4], ["DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST"]);
        let salt = parsed.get("NONCE_SALT").unwrap();
        assert_eq!(
            salt.value,
            Value::Str("put your unique phrase here".to_string())
        );
        assert_eq!(
            parsed.table_prefix().unwrap().value,
            Value::Str("wp_".to_string())
        );
        assert_eq!(parsed.get("WP_DEBUG").unwrap().value, Value::Bool(false));
        assert!(parsed.get("ABSPATH").unwrap().guarded);
        assert_eq!(parsed.unevaluated(), vec!["ABSPATH".to_string()]);
        assert!(parsed.evals_env.is_empty() && parsed.issues.is_empty());
    }

    #[test]
    fn debian_file_only_has_fallbacks_after_its_includes() {
        let parsed = parse(DEBIAN.as_bytes());
        // The real settings live in /etc/wordpress/config-*.php: say so.
        assert_eq!(parsed.foreign_includes().count(), 3);
        let host = parsed.get("DB_HOST").unwrap();
        assert!(host.guarded && host.preempted_by_include);
        assert_eq!(parsed.get("DB_PASSWORD"), None);
        let prefix = parsed.table_prefix().unwrap();
        assert!(prefix.only_if_unset && prefix.preempted_by_include);
        // DEBIAN_FILE in the if/elseif/else branches is no duplicate.
        assert!(parsed.duplicates().is_empty());
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
    }

    #[test]
    fn bitnami_file() {
        let parsed = parse(BITNAMI.as_bytes());
        assert_eq!(
            parsed.get("DB_HOST").unwrap().value,
            Value::Str("mariadb:3306".to_string())
        );
        let key = parsed.get("LOGGED_IN_KEY").unwrap();
        assert_eq!(
            key.value,
            Value::Str("p}T7w-Bj!Hd@5'Mg#Ur6(Ys=Ck;Ix[O".to_string())
        );
        assert_eq!(
            parsed.unevaluated(),
            vec![
                "WP_HOME".to_string(),
                "WP_SITEURL".to_string(),
                "ABSPATH".to_string()
            ]
        );
        let temp = parsed.get("WP_TEMP_DIR").unwrap();
        assert!(
            !temp.conditional,
            "after the closures, back at the top level"
        );
        assert!(parsed.duplicates().is_empty() && parsed.issues.is_empty());
    }

    #[test]
    fn hand_edited_file() {
        let parsed = parse(HAND_EDITED.as_bytes());
        let get = |name: &str| parsed.get(name).unwrap().value.clone();
        assert_eq!(get("DB_PASSWORD"), Value::Str("p@ss'w0rd\\".to_string()));
        assert_eq!(
            get("DB_USER"),
            Value::Str("wpadmin@wordpress-db-rworks".to_string())
        );
        assert_eq!(get("DB_CHARSET"), Value::Str("utf8mb4".to_string()));
        assert_eq!(
            get("MYSQL_CLIENT_FLAGS"),
            Value::Const("MYSQLI_CLIENT_SSL".to_string())
        );
        assert_eq!(get("WP_DEBUG"), Value::Bool(false), "the first define wins");
        assert_eq!(parsed.duplicates(), vec!["WP_DEBUG".to_string()]);
        assert_eq!(
            parsed.table_prefix().unwrap().value,
            Value::Str("rw_".to_string())
        );
        assert_eq!(parsed.get("DB_HOST").unwrap().line, 10);
        assert_eq!(
            parsed
                .defines
                .iter()
                .filter(|d| d.name == "DB_HOST")
                .count(),
            1
        );
        let redis = get("WP_REDIS_HOST").resolve(&|_| None);
        assert_eq!(redis, Some(Resolved::Str("redis".to_string())));
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
    }

    #[test]
    fn describe_masks_secrets_and_debug_hides_them() {
        let parsed = parse(b"<?php define('DB_PASSWORD', 'hunter2' . getenv_docker('X', 'dflt'));");
        let define = parsed.get("DB_PASSWORD").unwrap();
        let masked = define.value.describe_masked();
        assert_eq!(masked, "*** . env X (default ***)");
        let debug = format!("{parsed:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("dflt"),
            "{debug}"
        );
        assert!(is_secret("SECURE_AUTH_SALT") && is_secret("smtp_pass") && !is_secret("DB_HOST"));
    }

    #[test]
    fn resolve_follows_php_conversions() {
        let env = |var: &str| match var {
            "ZERO" => Some("0".to_string()),
            "HOST" => Some("db".to_string()),
            _ => None,
        };
        let cases: &[(&str, Option<Resolved>)] = &[
            ("getenv('NOPE')", Some(Resolved::Bool(false))),
            ("$_ENV['NOPE']", Some(Resolved::Null)),
            (
                "getenv('ZERO') ?: 'fallback'",
                Some(Resolved::Str("fallback".to_string())),
            ),
            (
                "getenv('ZERO') ?? 'fallback'",
                Some(Resolved::Str("0".to_string())),
            ),
            (
                "'tcp://' . getenv_docker('HOST', 'x') . ':' . 3306",
                Some(Resolved::Str("tcp://db:3306".to_string())),
            ),
            ("(int) '12abc'", Some(Resolved::Int(12))),
            (
                "(string) true . false . null . 1.0",
                Some(Resolved::Str("11".to_string())),
            ),
            ("!!getenv_docker('ZERO', '1')", Some(Resolved::Bool(false))),
            ("$_SERVER['HTTP_HOST']", None),
            ("ABSPATH . 'x'", None),
        ];
        for (expression, expected) in cases {
            let parsed = parse(format!("<?php define('A', {expression});").as_bytes());
            let value = &parsed.get("A").unwrap().value;
            assert_eq!(&value.resolve(&env), expected, "{expression}");
        }
    }

    #[test]
    fn normalized_tokens_ignore_comments_and_layout() {
        let tokens = |text: &str| {
            let mut out = Vec::new();
            for_each_normalized_token(text.as_bytes(), &mut |t| out.push(t.to_string()));
            out
        };
        let a = tokens("<?php define( 'A', 1 ); // note\n");
        let b = tokens("<?php\n/* header */\ndefine('A',1);");
        assert_eq!(a, b);
        assert_ne!(a, tokens("<?php define('A', 2);"));
    }

    /// About 1 MiB: an unclosed `define('A', ` followed by `unit` over and over.
    fn repeated(unit: &str) -> Vec<u8> {
        let mut input = b"<?php define('A', ".to_vec();
        while input.len() < MAX_BYTES {
            input.extend_from_slice(unit.as_bytes());
        }
        input
    }

    /// About 1 MiB: `define('A', open…open middle close…close); define('B', 1);`.
    fn nested(open: &str, middle: &str, close: &str) -> Vec<u8> {
        let n = MAX_BYTES / (open.len() + close.len());
        let value = format!("{}{middle}{}", open.repeat(n), close.repeat(n));
        format!("<?php define('A', {value}); define('B', 1);").into_bytes()
    }

    #[test]
    fn one_mebibyte_of_unclosed_constructs_returns() {
        let units = [
            "define(",
            "((((",
            "/*",
            "{",
            "}",
            "<<<A\n",
            "'",
            "\"{$",
            "$a=",
            "eval($x);",
            "if (!defined('A')) { ",
        ];
        for unit in units {
            let parsed = parse(&repeated(unit));
            assert!(parsed.get("A").is_none(), "{unit}");
        }
    }

    #[test]
    fn one_mebibyte_of_nesting_returns_and_reads_what_follows() {
        let shapes = [
            ("(", "1", ")"),
            ("!", "1", ""),
            ("'a' ?? ", "'z'", ""),
            ("'a' . ", "'z'", ""),
            ("getenv_docker('X', ", "'d'", ")"),
            ("if (!defined('A')) { ", "", "}"),
        ];
        for (open, middle, close) in shapes {
            let parsed = parse(&nested(open, middle, close));
            assert_eq!(
                parsed.get("B").map(|d| &d.value),
                Some(&Value::Int(1)),
                "{open}"
            );
        }
    }

    const PHP_TOKENS: [&str; 40] = [
        "<?php ",
        "?>",
        "define",
        "DEFINE",
        "(",
        ")",
        "'A'",
        "\"B\"",
        ",",
        ";",
        "getenv_docker",
        "getenv",
        "$_ENV",
        "$_SERVER",
        "[",
        "]",
        "{",
        "}",
        "!",
        "!!",
        "(bool)",
        ".",
        "?:",
        "??",
        "$table_prefix",
        "=",
        "if",
        "else",
        "endif",
        ":",
        "//",
        "#",
        "/*",
        "*/",
        "<<<EOT\n",
        "\nEOT",
        "'",
        "\"",
        "\\",
        "\n",
    ];

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let parsed = parse(&bytes);
            let _ = (parsed.duplicates(), parsed.unevaluated(), parsed.table_prefix());
            for define in &parsed.defines {
                let _ = (define.value.describe(), define.value.resolve(&|_| Some("1".to_string())));
            }
        }

        #[test]
        fn never_panics_on_php_token_soup(
            picks in proptest::collection::vec((0..PHP_TOKENS.len(), any::<bool>()), 0..300)
        ) {
            let mut text = String::from("<?php ");
            for (index, space) in picks {
                text.push_str(PHP_TOKENS[index]);
                if space {
                    text.push(' ');
                }
            }
            let parsed = parse(text.as_bytes());
            for define in &parsed.defines {
                let _ = (define.value.describe_masked(), define.value.resolve(&|_| None));
            }
        }
    }
}
