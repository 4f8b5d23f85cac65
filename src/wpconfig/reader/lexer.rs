//! The lexer: source text → [`Token`]s, one at a time, as an iterator. One pass over
//! the bytes; each byte is looked at a bounded number of times, and nothing is copied
//! (a token is a span of the source).
//!
//! It must not allocate per token, interpret what the tokens mean, or recurse: the
//! scanner and the normalised fingerprint both sit on top of it.

use super::token::{is_ident_char, is_ident_start, operator_len, Kind, Op, Token};
use super::Issue;

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
    line: u32,
    mode: Mode,
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
    pub(super) fn new(src: &'a str) -> Self {
        Lexer {
            bytes: src.as_bytes(),
            pos: 0,
            line: 1,
            mode: Mode::Html,
            issues: Vec::new(),
            has_php: false,
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

    /// The token from the current position to `end`, which may span lines.
    fn token(&mut self, kind: Kind, end: usize) -> Token {
        let end = end.min(self.bytes.len());
        let token = Token {
            kind,
            start: self.pos,
            end,
            line: self.line,
        };
        self.advance_to(end);
        token
    }

    /// Like [`Lexer::token`], for tokens that cannot hold a line break.
    fn flat_token(&mut self, kind: Kind, end: usize) -> Token {
        let end = end.min(self.bytes.len()).max(self.pos);
        let token = Token {
            kind,
            start: self.pos,
            end,
            line: self.line,
        };
        self.pos = end;
        token
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
        let Some(tag) = find(self.bytes, b"<?", self.pos) else {
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
        loop {
            let next = self.at(1);
            match self.at(0) {
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line = self.line.saturating_add(1);
                }
                b'#' if next != b'[' => self.line_comment(),
                b'/' if next == b'/' => self.line_comment(),
                b'/' if next == b'*' => self.block_comment(),
                _ => return,
            }
        }
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
        self.pos = i;
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

    fn quoted(&mut self, quote: u8, kind: Kind) -> Token {
        let mut i = self.pos + 1;
        while let Some(&c) = self.bytes.get(i) {
            match c {
                b'\\' => i += 2,
                _ if c == quote => return self.token(kind, i + 1),
                b'{' if quote != b'\'' && self.bytes.get(i + 1) == Some(&b'$') => {
                    i = skip_interpolation(self.bytes, i);
                }
                _ => i += 1,
            }
        }
        self.issue("unterminated string", kind != Kind::Opaque);
        self.token(Kind::BadStr, self.bytes.len())
    }

    /// `<<<ID` / `<<<'ID'` / `<<<"ID"` up to a line holding the closing `ID` (PHP 7.3
    /// rules: it may be indented and followed by anything but an identifier character).
    /// `None` when this is no heredoc opener, so `<<<` is lexed as operators.
    fn heredoc(&mut self) -> Option<Token> {
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
        let len = operator_len(rest);
        let op = Op::classify(rest.get(..len).unwrap_or(&[]));
        self.flat_token(Kind::Op(op), self.pos + len)
    }
}

/// The first `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut i = from;
    loop {
        let at = i + haystack.get(i..)?.iter().position(|&b| b == first)?;
        if haystack
            .get(at + 1..)
            .is_some_and(|tail| tail.starts_with(rest))
        {
            return Some(at);
        }
        i = at + 1;
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
