//! How far the lexer's quoted tokens reach: single- and double-quoted strings,
//! backticks, and heredoc / nowdoc bodies, including `{$…}` interpolations whose
//! nested quotes must not end the string.
//!
//! It only finds where these tokens end (and reports when they never do); it must
//! not decode them, which is `literal.rs`'s job, and only for the kinds the reader
//! evaluates.

use super::Lexer;
use crate::wpconfig::reader::bytes::{find_any, is_ident_char, is_ident_start};
use crate::wpconfig::reader::token::{Kind, Token};

impl Lexer<'_> {
    pub(super) fn quoted(&mut self, quote: u8, kind: Kind) -> Token {
        let mut i = self.pos + 1;
        // `{` only matters in double quotes and backticks (`{$…}` interpolation).
        let brace = if quote == b'\'' { quote } else { b'{' };
        while let Some(at) = find_any(self.bytes, i, [b'\\', quote, brace]) {
            match self.bytes.get(at) {
                Some(b'\\') => i = at + 2,
                Some(&c) if c == quote => return self.token(kind, at + 1),
                _ if self.bytes.get(at + 1) == Some(&b'$') => {
                    i = skip_interpolation(self.bytes, at);
                }
                _ => i = at + 1,
            }
        }
        self.issue("unterminated string", kind != Kind::Opaque);
        self.token(Kind::BadStr, self.bytes.len())
    }

    /// `<<<ID` / `<<<'ID'` / `<<<"ID"` up to a line holding the closing `ID` (PHP 7.3
    /// rules: it may be indented and followed by anything but an identifier character).
    /// `None` when this is no heredoc opener, so `<<<` is lexed as operators.
    pub(super) fn heredoc(&mut self) -> Option<Token> {
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
            return None;
        }
        while bytes.get(i).is_some_and(|&c| is_ident_char(c)) {
            i += 1;
        }
        let id = bytes.get(id_start..i).unwrap_or(&[]);
        if let Some(q) = quote {
            if bytes.get(i) != Some(&q) {
                return None;
            }
            i += 1;
        }
        match bytes.get(i) {
            Some(b'\n') => i += 1,
            Some(b'\r') if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            _ => return None,
        }
        let end = heredoc_end(bytes, id, i);
        if end.is_none() {
            self.issue("unterminated heredoc", true);
        }
        Some(self.token(Kind::Opaque, end.unwrap_or(bytes.len())))
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
        line_start = find_any(bytes, j, [b'\n'])? + 1;
    }
}
