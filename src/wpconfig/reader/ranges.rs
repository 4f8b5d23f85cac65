//! Token ranges: where an expression or a call argument ends (skipping bracketed
//! groups through their partners), and the source text of a range, kept in
//! [`Value::Unknown`] for what the reader cannot evaluate.
//!
//! It must not parse expressions (that is `expr.rs`), and every function is linear
//! in the range it looks at.

use super::token::{Kind, Op};
use super::tokens::Tokens;
#[cfg(doc)]
use super::Value;

/// Longest source text kept inside [`Value::Unknown`].
const MAX_UNKNOWN_CHARS: usize = 4096;

/// The index where an expression starting at `start` ends: the first `;`, `,`,
/// closing bracket or `?>` outside brackets (or an unmatched opening bracket).
pub(super) fn expression_end(tokens: &Tokens<'_>, start: usize) -> usize {
    let mut k = start;
    while k < tokens.len() {
        match tokens.kind(k) {
            Some(Kind::CloseTag) => return k,
            Some(Kind::Op(
                Op::Semicolon | Op::Comma | Op::ParenClose | Op::BracketClose | Op::BraceClose,
            )) => return k,
            Some(Kind::Op(Op::ParenOpen | Op::BracketOpen | Op::BraceOpen | Op::AttributeOpen)) => {
                match tokens.partner(k) {
                    Some(p) if p > k => {
                        k = p + 1;
                        continue;
                    }
                    _ => return k,
                }
            }
            _ => {}
        }
        k += 1;
    }
    tokens.len()
}

/// The arguments of a call: the token ranges of the first two, and how many there are.
pub(super) struct Args {
    first: [(usize, usize); 2],
    count: usize,
}

impl Args {
    /// The token range of argument `n` (only the first two are kept).
    pub(super) fn get(&self, n: usize) -> Option<(usize, usize)> {
        self.first.get(n).copied().filter(|_| n < self.count)
    }

    pub(super) fn len(&self) -> usize {
        self.count
    }
}

/// Splits `start..end` (the inside of a call's parentheses) at top-level commas. A
/// trailing comma (allowed since PHP 7.3) adds no argument.
pub(super) fn split_args(tokens: &Tokens<'_>, start: usize, end: usize) -> Args {
    let mut args = Args {
        first: [(0, 0); 2],
        count: 0,
    };
    let mut push = |range: (usize, usize)| {
        if let Some(slot) = args.first.get_mut(args.count) {
            *slot = range;
        }
        args.count += 1;
    };
    let mut arg_start = start;
    let mut k = start;
    while k < end {
        if let Some(p) = tokens.partner(k).filter(|&p| p > k && p < end) {
            k = p + 1;
            continue;
        }
        if tokens.is_op(k, Op::Comma) {
            push((arg_start, k));
            arg_start = k + 1;
        }
        k += 1;
    }
    if arg_start < end {
        push((arg_start, end));
    }
    args
}

/// The tokens `start..end` as text, whitespace between them squeezed to one space.
pub(super) fn source_text(tokens: &Tokens<'_>, start: usize, end: usize) -> String {
    let mut out = String::new();
    let mut previous_end: Option<u32> = None;
    for token in tokens.tokens.get(start..end).unwrap_or(&[]) {
        if previous_end.is_some_and(|p| token.start > p) {
            out.push(' ');
        }
        out.push_str(token.text(tokens.src));
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
