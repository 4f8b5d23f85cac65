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
//!
//! This file holds the public result types and the entry points. Layout of the rest:
//! - `token.rs`: token kinds and the operators the reader tells apart;
//! - `lexer.rs` (with `lexer/strings.rs`): source text → tokens, one pass, spans
//!   only; `bytes.rs`: the word-at-a-time searches of its inner loops;
//! - `tokens.rs`: the token stream with each bracket's partner;
//! - `scanner.rs` (with `scanner/statements.rs`): tokens → defines, assignments,
//!   `eval`s and includes, with the blocks and guards around them;
//! - `expr.rs`: token ranges → [`Value`] trees; `ranges.rs`: where expressions and
//!   arguments end; `literal.rs`: string and number literals;
//! - `value.rs`, `describe.rs`, `resolved.rs`: what a [`Value`] means, how it is
//!   shown, and the concrete [`Resolved`] value with PHP's conversions;
//! - `queries.rs`: PHP's rules over a whole [`ParsedConfig`] (first define wins…);
//! - `tests.rs` (with `tests/`): the table of shapes, fixtures, hostile inputs.

use std::borrow::Cow;
use std::fmt;

mod bytes;
mod describe;
mod expr;
mod lexer;
mod literal;
mod queries;
mod ranges;
mod resolved;
mod scanner;
mod token;
mod tokens;
mod value;

#[cfg(test)]
mod tests;

pub use resolved::Resolved;
pub use value::{CastKind, EnvSource, FallbackWhen, Value};

/// The default of `wpconfig.max_bytes` (which may be set up to 64 MiB), and the size
/// the robustness tests feed the reader. [`parse`] enforces no limit (callers read at
/// most `wpconfig.max_bytes`) and stays linear-time beyond it.
pub const MAX_BYTES: usize = 1024 * 1024;

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

/// Whether a constant's value must never be shown: the database password, the
/// authentication keys and salts, and any name containing PASS, PWD, SECRET, KEY,
/// SALT, TOKEN, CREDENTIAL, PRIVATE, AUTH (`WP_REDIS_AUTH`) or LICEN (`WPMDB_LICENCE`,
/// `*_LICENSE_KEY`), case-insensitive. Errs on the side of masking.
pub fn is_secret(name: &str) -> bool {
    const MARKERS: [&[u8]; 10] = [
        b"AUTH",
        b"LICEN",
        b"PASS",
        b"PWD",
        b"SECRET",
        b"KEY",
        b"SALT",
        b"TOKEN",
        b"CREDENTIAL",
        b"PRIVATE",
    ];
    let name = name.as_bytes();
    MARKERS.iter().any(|marker| {
        name.windows(marker.len())
            .any(|window| window.eq_ignore_ascii_case(marker))
    })
}

/// Reads `wp-config.php` bytes. Never fails: whatever it cannot understand shows up as
/// [`Value::Unknown`] values, [`Issue`]s, or simply nothing. Invalid UTF-8 is replaced,
/// a UTF-8 byte-order mark is ignored, CRLF and tabs are whitespace like any other.
pub fn parse(bytes: &[u8]) -> ParsedConfig {
    let text = decode(bytes);
    let mut lexed = tokens::Tokens::new(strip_bom(&text));
    let out = ParsedConfig {
        issues: std::mem::take(&mut lexed.issues),
        has_php: lexed.has_php,
        ..ParsedConfig::default()
    };
    scanner::Scanner::new(&lexed, out).run()
}

/// Calls `visit` with every token PHP would see, in order, leaving out comments and
/// whitespace; text outside `<?php ?>` is passed with its whitespace removed. Two files
/// that differ only in comments or layout yield the same sequence: `drift.rs` hashes
/// it into the normalised fingerprint. Tokens are borrowed from `bytes`: it only
/// allocates for invalid UTF-8, whitespace outside `<?php ?>`, or a lexical problem.
pub fn for_each_normalized_token(bytes: &[u8], visit: &mut dyn FnMut(&str)) {
    let text = decode(bytes);
    let src = strip_bom(&text);
    let mut squeezed = String::new();
    for token in lexer::Lexer::without_lines(src) {
        let text = token.text(src);
        if token.kind != token::Kind::InlineHtml {
            visit(text);
        } else if !text.contains(char::is_whitespace) {
            if !text.is_empty() {
                visit(text);
            }
        } else {
            squeezed.clear();
            squeezed.extend(text.chars().filter(|c| !c.is_whitespace()));
            if !squeezed.is_empty() {
                visit(&squeezed);
            }
        }
    }
}

/// The bytes as text: borrowed when they are valid UTF-8 (the usual case, checked
/// quickly), invalid sequences replaced otherwise.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}
