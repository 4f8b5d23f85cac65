//! Expressions: a small recursive-descent parser over a token range, turning it into
//! a [`Value`], and the constant strings (`define`'s first argument) it stands for.
//!
//! Recursion is bounded by [`MAX_DEPTH`] and chains (`??`, `?:`, `.`) are collected
//! iteratively, so no input makes it recurse as deep as it is long. It must not
//! evaluate anything against the environment, nor allocate except for the values it
//! returns (an operand without an operator costs no vector).

use super::literal::{decode_double, decode_number, decode_single};
use super::ranges::{source_text, split_args};
use super::token::{lowercase, Kind, Op};
use super::tokens::Tokens;
use super::{CastKind, EnvSource, FallbackWhen, Resolved, Value};

/// Deepest expression nesting (parentheses, `!`, call arguments, `??` chains) the
/// reader follows; anything deeper becomes [`Value::Unknown`]. Keeps recursion bounded.
const MAX_DEPTH: u32 = 32;

/// Parses the tokens `start..end` as one expression; anything it does not fully
/// understand becomes [`Value::Unknown`] holding the source text.
pub(super) fn parse_value(tokens: &Tokens<'_>, start: usize, end: usize, depth: u32) -> Value {
    if start >= end || depth > MAX_DEPTH {
        return Value::Unknown(source_text(tokens, start, end));
    }
    let mut parser = ExprParser {
        tokens,
        pos: start,
        end,
        depth,
    };
    match parser.fallback_chain() {
        Some(value) if parser.pos == end => value,
        _ => Value::Unknown(source_text(tokens, start, end)),
    }
}

/// The string a constant expression such as `'DB_HOST'` or `'WP_' . 'DEBUG'` stands for.
pub(super) fn static_string(value: Value) -> Option<String> {
    if let Value::Str(text) = value {
        return Some(text);
    }
    if !value.env_vars().is_empty() {
        return None;
    }
    match value.resolve(&|_| None)? {
        Resolved::Str(text) => Some(text),
        _ => None,
    }
}

/// A variable token's name without its `$`.
pub(super) fn var_name(text: &str) -> &str {
    text.strip_prefix('$').unwrap_or(text)
}

struct ExprParser<'l, 'a> {
    tokens: &'l Tokens<'a>,
    pos: usize,
    end: usize,
    depth: u32,
}

impl ExprParser<'_, '_> {
    fn at_op(&self, offset: usize, op: Op) -> bool {
        self.pos + offset < self.end && self.tokens.is_op(self.pos + offset, op)
    }

    /// `a ?: b ?: c` (left-associative) over `??` chains. A full `a ? b : c` fails.
    fn fallback_chain(&mut self) -> Option<Value> {
        let mut value = self.coalesce_chain()?;
        let mut links = 0;
        while self.at_op(0, Op::Question) && self.at_op(1, Op::Colon) {
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
        (!self.at_op(0, Op::Question)).then_some(value)
    }

    /// `a ?? b ?? c` (right-associative), collected iteratively.
    fn coalesce_chain(&mut self) -> Option<Value> {
        let first = self.concat()?;
        if !self.at_op(0, Op::Coalesce) {
            return Some(first);
        }
        let mut operands = vec![first];
        while self.at_op(0, Op::Coalesce) {
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
        let first = self.unary()?;
        if !self.at_op(0, Op::Dot) {
            return Some(first);
        }
        let mut parts = vec![first];
        while self.at_op(0, Op::Dot) {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Some(Value::Concat(parts))
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
        if self.at_op(0, Op::Not) {
            self.pos += 1;
            return Some(Value::Not(Box::new(self.unary()?)));
        }
        if self.at_op(0, Op::At) {
            self.pos += 1;
            return self.unary();
        }
        if let Some(kind) = self.cast() {
            self.pos += 3;
            return Some(Value::Cast(kind, Box::new(self.unary()?)));
        }
        if self.at_op(0, Op::Minus) || self.at_op(0, Op::Plus) {
            let negative = self.at_op(0, Op::Minus);
            self.pos += 1;
            return signed_number(self.number()?, negative);
        }
        self.primary()
    }

    fn cast(&self) -> Option<CastKind> {
        if !self.at_op(0, Op::ParenOpen) || self.tokens.partner(self.pos) != Some(self.pos + 2) {
            return None;
        }
        let name = self.tokens.ident(self.pos + 1)?;
        match lowercase(name, &mut [0; 16]) {
            b"bool" | b"boolean" => Some(CastKind::Bool),
            b"int" | b"integer" => Some(CastKind::Int),
            b"float" | b"double" | b"real" => Some(CastKind::Float),
            b"string" | b"binary" => Some(CastKind::String),
            _ => None,
        }
    }

    fn number(&mut self) -> Option<Value> {
        if self.pos >= self.end || self.tokens.kind(self.pos) != Some(Kind::Number) {
            return None;
        }
        self.pos += 1;
        Some(decode_number(self.tokens.text(self.pos - 1)))
    }

    fn primary(&mut self) -> Option<Value> {
        if self.pos >= self.end {
            return None;
        }
        let i = self.pos;
        let tokens = self.tokens;
        match tokens.kind(i)? {
            Kind::SingleStr => {
                self.pos += 1;
                Some(Value::Str(decode_single(tokens.text(i))))
            }
            Kind::DoubleStr => {
                self.pos += 1;
                decode_double(tokens.text(i)).map(Value::Str)
            }
            Kind::Number => self.number(),
            Kind::Ident => self.identifier(),
            Kind::Var => self.superglobal(),
            Kind::Op(Op::ParenOpen) => {
                let close = tokens.partner(i).filter(|&c| c < self.end)?;
                self.pos = close + 1;
                Some(parse_value(tokens, i + 1, close, self.depth + 1))
            }
            _ => None,
        }
    }

    /// `true`/`false`/`null`, `getenv_docker(…)`, `getenv(…)`, or a bare constant.
    fn identifier(&mut self) -> Option<Value> {
        let i = self.pos;
        let name = self.tokens.ident(i)?;
        let mut buffer = [0; 16];
        let lower = lowercase(name, &mut buffer);
        if !self.at_op(1, Op::ParenOpen) {
            self.pos += 1;
            return Some(match lower {
                b"true" => Value::Bool(true),
                b"false" => Value::Bool(false),
                b"null" => Value::Null,
                _ => Value::Const(name.to_string()),
            });
        }
        let source = match lower {
            b"getenv_docker" => EnvSource::GetenvDocker,
            b"getenv" => EnvSource::Getenv,
            _ => return None,
        };
        let close = self.tokens.partner(i + 1).filter(|&c| c < self.end)?;
        let args = split_args(self.tokens, i + 2, close);
        let arg = |n: usize| {
            args.get(n)
                .map(|(a, b)| parse_value(self.tokens, a, b, self.depth + 1))
        };
        let var = static_string(arg(0)?)?;
        let default = match (source, args.len()) {
            (EnvSource::GetenvDocker, 2) => Some(Box::new(arg(1)?)),
            (EnvSource::Getenv, 1 | 2) => None,
            _ => return None,
        };
        self.pos = close + 1;
        Some(Value::Env {
            source,
            var,
            default,
        })
    }

    /// `$_ENV['X']` and `$_SERVER['X']`.
    fn superglobal(&mut self) -> Option<Value> {
        let i = self.pos;
        let source = match self.tokens.text(i) {
            "$_ENV" => EnvSource::EnvArray,
            "$_SERVER" => EnvSource::ServerArray,
            _ => return None,
        };
        let close = self.tokens.partner(i + 1).filter(|&c| c < self.end)?;
        if !self.tokens.is_op(i + 1, Op::BracketOpen) {
            return None;
        }
        let var = static_string(parse_value(self.tokens, i + 2, close, self.depth + 1))?;
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
