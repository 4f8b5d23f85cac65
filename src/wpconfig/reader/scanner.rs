//! The scanner: tokens → the statements the reader cares about. It walks the tokens
//! once, keeping track of blocks and of the `if (!defined(...))` / `if
//! (!isset(...))` guards around them; the statements themselves are read in
//! `scanner/statements.rs`, which skips each as a whole through the bracket partners.
//!
//! It must not go back over tokens it has passed (that would make it quadratic), nor
//! keep more than [`MAX_FRAMES`] open blocks: deeper ones are only counted.

use std::collections::HashMap;

use super::expr::{parse_value, static_string, var_name};
use super::token::{lowercase, Kind, Op};
use super::tokens::Tokens;
use super::ParsedConfig;

mod statements;

/// Deepest block nesting tracked for `if (!defined(...))` guards; deeper blocks are
/// only counted.
const MAX_FRAMES: usize = 256;

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

pub(super) struct Scanner<'l, 'a> {
    tokens: &'l Tokens<'a>,
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
    /// A scanner over `tokens` that adds what it finds to `out`.
    pub(super) fn new(tokens: &'l Tokens<'a>, out: ParsedConfig) -> Self {
        Scanner {
            tokens,
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

    pub(super) fn run(mut self) -> ParsedConfig {
        let mut i = 0;
        while i < self.tokens.len() {
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
            if self.tokens.is_op(i, Op::BraceOpen) {
                self.push_frame(frame);
                return i + 1;
            }
            if self.tokens.is_op(i, Op::Colon) {
                self.push_frame(Frame { alt: true, ..frame });
                return i + 1;
            }
            self.statement = Some(frame);
        }
        match self.tokens.kind(i) {
            Some(Kind::Op(op)) => self.op(i, op),
            Some(Kind::CloseTag) => {
                self.statement = None;
                i + 1
            }
            Some(Kind::Ident) => self.keyword(i),
            Some(Kind::Var) => self.assignment(i),
            _ => i + 1,
        }
    }

    fn op(&mut self, i: usize, op: Op) -> usize {
        match op {
            Op::BraceOpen => self.push_frame(Frame::default()),
            Op::BraceClose => {
                self.pop_frame();
                self.statement = None;
            }
            Op::Semicolon => self.statement = None,
            _ => {}
        }
        i + 1
    }

    fn keyword(&mut self, i: usize) -> usize {
        let Some(name) = self.tokens.ident(i) else {
            return i + 1;
        };
        match lowercase(name, &mut [0; 16]) {
            b"if" | b"while" | b"for" | b"foreach" | b"switch" => self.control(i),
            b"elseif" => {
                self.end_alt_branch(i);
                self.control(i)
            }
            b"else" => {
                self.end_alt_branch(i);
                self.after_control = Some(Frame::default());
                i + 1
            }
            b"endif" | b"endwhile" | b"endfor" | b"endforeach" | b"endswitch" => {
                if self.frames.last().is_some_and(|f| f.alt) {
                    self.pop_frame();
                }
                i + 1
            }
            b"define" if self.is_call(i) => self.define(i),
            b"eval" if self.is_call(i) => self.eval(i),
            b"require" | b"require_once" | b"include" | b"include_once" => self.include(i),
            b"const" if self.frames.is_empty() && self.extra_depth == 0 => self.constant(i),
            _ => i + 1,
        }
    }

    /// A call to a global function: `name(` not preceded by `->`, `::`, `function`…
    fn is_call(&self, i: usize) -> bool {
        let tokens = self.tokens;
        let method = i > 0
            && (matches!(
                tokens.kind(i - 1),
                Some(Kind::Op(Op::Arrow | Op::NullsafeArrow | Op::DoubleColon))
            ) || ["function", "new", "const"]
                .iter()
                .any(|kw| tokens.is_ident(i - 1, kw)));
        !method && tokens.is_op(i + 1, Op::ParenOpen)
    }

    fn control(&mut self, i: usize) -> usize {
        if !self.tokens.is_op(i + 1, Op::ParenOpen) {
            return i + 1;
        }
        let Some(close) = self.tokens.partner(i + 1) else {
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
        let after_brace = i > 0 && self.tokens.is_op(i - 1, Op::BraceClose);
        if !after_brace && self.frames.last().is_some_and(|f| f.alt) {
            self.pop_frame();
        }
    }

    /// Recognises `!defined('NAME')` and `!isset($name)` as the whole condition.
    fn guard_between(&self, start: usize, end: usize) -> Option<Guard> {
        let tokens = self.tokens;
        let shaped = end == start + 5
            && tokens.is_op(start, Op::Not)
            && tokens.is_op(start + 2, Op::ParenOpen)
            && tokens.partner(start + 2) == Some(start + 4);
        if !shaped {
            return None;
        }
        let subject = start + 3;
        if tokens.is_ident(start + 1, "defined") {
            let name = static_string(parse_value(tokens, subject, subject + 1, 0))?;
            Some(Guard::Defined(name))
        } else if tokens.is_ident(start + 1, "isset") && tokens.kind(subject) == Some(Kind::Var) {
            Some(Guard::Unset(var_name(tokens.text(subject)).to_string()))
        } else {
            None
        }
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

    /// Whether an open block or the current brace-less statement is guarded by
    /// `if (!defined('name'))`.
    fn guarded_by_defined(&self, name: &str) -> bool {
        self.guarded_by(|guard| matches!(guard, Guard::Defined(n) if n == name))
    }

    /// Whether an open block or the current brace-less statement is guarded by
    /// `if (!isset($variable))`.
    fn guarded_by_unset(&self, variable: &str) -> bool {
        self.guarded_by(|guard| matches!(guard, Guard::Unset(v) if v == variable))
    }

    fn guarded_by(&self, matches: impl Fn(&Guard) -> bool) -> bool {
        self.frames
            .iter()
            .chain(self.statement.iter())
            .any(|frame| frame.guard.as_ref().is_some_and(&matches))
    }
}
