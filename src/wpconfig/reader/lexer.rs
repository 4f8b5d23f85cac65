//! The lexer: source text → [`Token`]s, one at a time, as an iterator. One pass over
//! the bytes; each byte is looked at a bounded number of times, and nothing is copied
//! (a token is a span of the source). Comments and string bodies are skipped, and
//! their line breaks counted, with the word-at-a-time helpers of `bytes.rs`.
//!
//! It must not allocate per token, interpret what the tokens mean, or recurse: the
//! scanner and the normalised fingerprint both sit on top of it.

use super::bytes::{count_newlines, find_any, find_pair, is_ident_char, is_ident_start};
use super::token::{offset, operator, Kind, Token};
use super::Issue;

mod strings;

/// Where the lexer is: in text outside `<?php … ?>`, in PHP code, or done (end of
/// input, or `__halt_compiler`, after which PHP reads nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Html,
    Php,
    Done,
}

pub(super) struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
    mode: Mode,
    /// Whether line breaks are counted (the normalised fingerprint needs no lines).
    with_lines: bool,
    /// The 1-based line at `pos`.
    line: u32,
    /// Lexical problems met so far.
    pub(super) issues: Vec<Issue>,
    /// Whether a PHP open tag was seen.
    pub(super) has_php: bool,
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        match self.mode {
            Mode::Html => self.inline_html(),
            Mode::Php => self.php(),
            Mode::Done => None,
        }
    }
}

impl<'a> Lexer<'a> {
    /// A lexer whose tokens carry their 1-based line.
    pub(super) fn new(src: &'a str) -> Self {
        Lexer {
            bytes: src.as_bytes(),
            pos: 0,
            mode: Mode::Html,
            with_lines: true,
            line: 1,
            issues: Vec::new(),
            has_php: false,
        }
    }

    /// A lexer that does not count line breaks: its tokens and issues all say line 1.
    pub(super) fn without_lines(src: &'a str) -> Self {
        Lexer {
            with_lines: false,
            ..Lexer::new(src)
        }
    }

    fn at(&self, offset: usize) -> u8 {
        self.bytes.get(self.pos + offset).copied().unwrap_or(0)
    }

    /// Moves to `end` (never backwards), counting the line breaks passed.
    fn advance_to(&mut self, end: usize) {
        let start = self.pos;
        self.pos = end.min(self.bytes.len()).max(start);
        if self.with_lines {
            let passed = self.bytes.get(start..self.pos).unwrap_or(&[]);
            let newlines = u32::try_from(count_newlines(passed)).unwrap_or(u32::MAX);
            self.line = self.line.saturating_add(newlines);
        }
    }

    /// The token from the current position to `end`, which may span lines.
    fn token(&mut self, kind: Kind, end: usize) -> Token {
        let (start, line) = (self.pos, self.line);
        self.advance_to(end);
        Token {
            kind,
            start: offset(start),
            end: offset(self.pos),
            line,
        }
    }

    /// Like [`Lexer::token`], for tokens that cannot hold a line break.
    fn flat_token(&mut self, kind: Kind, end: usize) -> Token {
        let start = self.pos;
        self.pos = end.min(self.bytes.len()).max(start);
        Token {
            kind,
            start: offset(start),
            end: offset(self.pos),
            line: self.line,
        }
    }

    fn issue(&mut self, message: &str, fatal: bool) {
        self.issues.push(Issue {
            line: self.line,
            message: message.to_string(),
            fatal,
        });
    }

    /// Text up to the next `<?` as one token, then the open tag (`<?php`, `<?=` or a
    /// short `<?`) as the next.
    fn inline_html(&mut self) -> Option<Token> {
        if self.pos >= self.bytes.len() {
            self.mode = Mode::Done;
            return None;
        }
        let Some(tag) = find_pair(self.bytes, self.pos, *b"<?") else {
            self.mode = Mode::Done;
            return Some(self.token(Kind::InlineHtml, self.bytes.len()));
        };
        if tag > self.pos {
            return Some(self.token(Kind::InlineHtml, tag));
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
        self.has_php = true;
        self.mode = Mode::Php;
        Some(self.flat_token(Kind::OpenTag, tag + len))
    }

    /// The next token of PHP code; at `?>` the lexer goes back to inline text.
    fn php(&mut self) -> Option<Token> {
        self.skip_trivia();
        let Some(&c) = self.bytes.get(self.pos) else {
            self.mode = Mode::Done;
            return None;
        };
        let next = self.at(1);
        let token = match c {
            b'?' if next == b'>' => self.close_tag(),
            b'\'' => self.quoted(b'\'', Kind::SingleStr),
            b'"' => self.quoted(b'"', Kind::DoubleStr),
            b'`' => self.quoted(b'`', Kind::Opaque),
            b'<' if next == b'<' && self.at(2) == b'<' => match self.heredoc() {
                Some(token) => token,
                None => self.op(),
            },
            b'$' if is_ident_start(next) => self.variable(),
            b'0'..=b'9' => self.number(),
            b'.' if next.is_ascii_digit() => self.number(),
            _ if is_ident_start(c) || (c == b'\\' && is_ident_start(next)) => self.ident(),
            _ => self.op(),
        };
        Some(token)
    }

    /// Whitespace and comments, which PHP ignores.
    fn skip_trivia(&mut self) {
        while let Some(&c) = self.bytes.get(self.pos) {
            let next = self.bytes.get(self.pos + 1).copied();
            match c {
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line = self.line.saturating_add(1);
                }
                b'#' if next != Some(b'[') => self.line_comment(),
                b'/' if next == Some(b'/') => self.line_comment(),
                b'/' if next == Some(b'*') => self.block_comment(),
                _ => return,
            }
        }
    }

    /// `//` or `#` comment: ends at a line break or at `?>` (which closes PHP).
    fn line_comment(&mut self) {
        let mut i = self.pos;
        self.pos = loop {
            match find_any(self.bytes, i, [b'\n', b'\r', b'?']) {
                Some(at) if self.bytes.get(at) == Some(&b'?') => {
                    if self.bytes.get(at + 1) == Some(&b'>') {
                        break at;
                    }
                    i = at + 1;
                }
                Some(at) => break at,
                None => break self.bytes.len(),
            }
        };
    }

    fn block_comment(&mut self) {
        match find_pair(self.bytes, self.pos + 2, *b"*/") {
            Some(end) => self.advance_to(end + 2),
            None => {
                self.issue("unterminated comment", false);
                self.advance_to(self.bytes.len());
            }
        }
    }

    fn close_tag(&mut self) -> Token {
        let token = self.flat_token(Kind::CloseTag, self.pos + 2);
        // PHP swallows one line break right after `?>`.
        if self.at(0) == b'\r' && self.at(1) == b'\n' {
            self.advance_to(self.pos + 2);
        } else if self.at(0) == b'\n' {
            self.advance_to(self.pos + 1);
        }
        self.mode = Mode::Html;
        token
    }

    fn variable(&mut self) -> Token {
        let mut i = self.pos + 1;
        while self.bytes.get(i).is_some_and(|&c| is_ident_char(c)) {
            i += 1;
        }
        self.flat_token(Kind::Var, i)
    }

    fn number(&mut self) -> Token {
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
            return self.flat_token(Kind::Number, i);
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
        self.flat_token(Kind::Number, i)
    }

    /// A (possibly namespaced) name. At `__halt_compiler` the lexer stops.
    fn ident(&mut self) -> Token {
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
        if halt {
            self.mode = Mode::Done;
        }
        self.flat_token(Kind::Ident, i)
    }

    fn op(&mut self) -> Token {
        let rest = self.bytes.get(self.pos..).unwrap_or(&[]);
        let (op, len) = operator(rest);
        self.flat_token(Kind::Op(op), self.pos + len)
    }
}
