//! The whole token stream of one source text, as the scanner and the expression
//! parser walk it: random access by index, each bracket's partner precomputed (so
//! that skipping a bracketed group costs O(1)), and the lexical issues found.
//!
//! Built in one pass over the lexer's output. It must not interpret statements or
//! expressions, and its accessors must never panic on an index out of range.

use super::lexer::Lexer;
use super::token::{offset, Kind, Op, Shape, Token};
use super::Issue;

const NO_PARTNER: u32 = u32::MAX;

pub(super) struct Tokens<'a> {
    pub(super) src: &'a str,
    pub(super) tokens: Vec<Token>,
    partner: Vec<u32>,
    /// Lexical problems, then unbalanced brackets.
    pub(super) issues: Vec<Issue>,
    /// Whether a PHP open tag was seen.
    pub(super) has_php: bool,
}

impl<'a> Tokens<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        let mut lexer = Lexer::new(src);
        // A token is at least one byte, so this never regrows (regrowing by doubling
        // would hold the old and the new buffer at once); pages never written are
        // never resident, so a small file costs only what it uses. Memory per input
        // byte, at worst (a byte per token): 16 (token) + 4 (partner) + at most 16
        // (the open-bracket stack, 8 a bracket, grown by doubling).
        let capacity = src.len() + 1;
        let mut tokens = Vec::with_capacity(capacity);
        let mut brackets = Brackets {
            partner: Vec::with_capacity(capacity),
            open: Vec::new(),
            unbalanced: None,
        };
        for token in lexer.by_ref() {
            brackets.push(&token);
            tokens.push(token);
        }
        let mut issues = lexer.issues;
        if let Some(line) = brackets.unbalanced_line(&tokens) {
            issues.push(Issue {
                line,
                message: "unbalanced brackets".to_string(),
                fatal: true,
            });
        }
        Tokens {
            src,
            tokens,
            partner: brackets.partner,
            issues,
            has_php: lexer.has_php,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.tokens.len()
    }

    pub(super) fn text(&self, i: usize) -> &'a str {
        self.tokens.get(i).map_or("", |t| t.text(self.src))
    }

    pub(super) fn kind(&self, i: usize) -> Option<Kind> {
        self.tokens.get(i).map(|t| t.kind)
    }

    pub(super) fn line(&self, i: usize) -> u32 {
        self.tokens.get(i).map_or(0, |t| t.line)
    }

    pub(super) fn is_op(&self, i: usize, op: Op) -> bool {
        self.kind(i) == Some(Kind::Op(op))
    }

    /// An identifier's name without a leading namespace backslash.
    pub(super) fn ident(&self, i: usize) -> Option<&'a str> {
        (self.kind(i) == Some(Kind::Ident)).then(|| {
            let text = self.text(i);
            text.strip_prefix('\\').unwrap_or(text)
        })
    }

    pub(super) fn is_ident(&self, i: usize, name: &str) -> bool {
        self.ident(i)
            .is_some_and(|id| id.eq_ignore_ascii_case(name))
    }

    pub(super) fn partner(&self, i: usize) -> Option<usize> {
        self.partner
            .get(i)
            .copied()
            .filter(|&p| p != NO_PARTNER)
            .map(|p| p as usize)
    }
}

/// Pairs brackets as the tokens arrive.
struct Brackets {
    /// For each token so far, its partner's index, or [`NO_PARTNER`].
    partner: Vec<u32>,
    /// The brackets still open: index and shape.
    open: Vec<(u32, Shape)>,
    /// The line of the first closing bracket that matched no opening one.
    unbalanced: Option<u32>,
}

impl Brackets {
    /// Takes the next token (index `partner.len()`).
    fn push(&mut self, token: &Token) {
        let i = offset(self.partner.len());
        self.partner.push(NO_PARTNER);
        let Kind::Op(op) = token.kind else { return };
        match op.bracket() {
            Some((true, shape)) => self.open.push((i, shape)),
            Some((false, shape)) if self.open.last().is_some_and(|&(_, s)| s == shape) => {
                if let Some((o, _)) = self.open.pop() {
                    if let Some(slot) = self.partner.get_mut(o as usize) {
                        *slot = i;
                    }
                    if let Some(slot) = self.partner.get_mut(i as usize) {
                        *slot = o;
                    }
                }
            }
            Some((false, _)) => {
                self.unbalanced.get_or_insert(token.line);
            }
            None => {}
        }
    }

    /// The earliest line of an unmatched bracket, closing or still open.
    fn unbalanced_line(&self, tokens: &[Token]) -> Option<u32> {
        let Some(&(o, _)) = self.open.first() else {
            return self.unbalanced;
        };
        let line = tokens.get(o as usize).map_or(0, |t| t.line);
        Some(self.unbalanced.map_or(line, |l| l.min(line)))
    }
}
