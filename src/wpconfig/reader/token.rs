//! The vocabulary the lexer hands to the rest of the reader: token kinds, the
//! operators the reader tells apart, and the token itself, a span of the source
//! (never a copy of its text).
//!
//! It only classifies bytes the lexer has already delimited; it must not scan source
//! text, allocate, or know about statements.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
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
    Op(Op),
}

/// The operators and punctuation the scanner and the expression parser look at, so
/// that they compare small integers instead of text. Every other operator is
/// [`Op::Other`]; its text is still in the source span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    /// `(`
    ParenOpen,
    /// `)`
    ParenClose,
    /// `[`
    BracketOpen,
    /// `]`
    BracketClose,
    /// `#[`, an attribute: closed by `]`.
    AttributeOpen,
    /// `{`
    BraceOpen,
    /// `}`
    BraceClose,
    /// `;`
    Semicolon,
    /// `,`
    Comma,
    /// `:`
    Colon,
    /// `?`
    Question,
    /// `??`
    Coalesce,
    /// `.`
    Dot,
    /// `!`
    Not,
    /// `@`
    At,
    /// `-`
    Minus,
    /// `+`
    Plus,
    /// `=`
    Assign,
    /// `.=`
    ConcatAssign,
    /// `??=`
    CoalesceAssign,
    /// `->`
    Arrow,
    /// `?->`
    NullsafeArrow,
    /// `::`
    DoubleColon,
    /// `$` (as in `$$name`)
    Dollar,
    /// Any other operator.
    Other,
}

/// The shape of a bracket, shared by its opening and closing token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    Paren,
    Square,
    Brace,
}

impl Op {
    /// The operator whose text is `text`.
    fn classify(text: &[u8]) -> Op {
        match text {
            b"(" => Op::ParenOpen,
            b")" => Op::ParenClose,
            b"[" => Op::BracketOpen,
            b"]" => Op::BracketClose,
            b"#[" => Op::AttributeOpen,
            b"{" => Op::BraceOpen,
            b"}" => Op::BraceClose,
            b";" => Op::Semicolon,
            b"," => Op::Comma,
            b":" => Op::Colon,
            b"?" => Op::Question,
            b"??" => Op::Coalesce,
            b"." => Op::Dot,
            b"!" => Op::Not,
            b"@" => Op::At,
            b"-" => Op::Minus,
            b"+" => Op::Plus,
            b"=" => Op::Assign,
            b".=" => Op::ConcatAssign,
            b"??=" => Op::CoalesceAssign,
            b"->" => Op::Arrow,
            b"?->" => Op::NullsafeArrow,
            b"::" => Op::DoubleColon,
            b"$" => Op::Dollar,
            _ => Op::Other,
        }
    }

    /// For a bracket: whether it opens, and its shape.
    pub(super) fn bracket(self) -> Option<(bool, Shape)> {
        match self {
            Op::ParenOpen => Some((true, Shape::Paren)),
            Op::BracketOpen | Op::AttributeOpen => Some((true, Shape::Square)),
            Op::BraceOpen => Some((true, Shape::Brace)),
            Op::ParenClose => Some((false, Shape::Paren)),
            Op::BracketClose => Some((false, Shape::Square)),
            Op::BraceClose => Some((false, Shape::Brace)),
            _ => None,
        }
    }
}

/// The operator at the start of `rest`, and how many bytes it takes.
pub(super) fn operator(rest: &[u8]) -> (Op, usize) {
    // Brackets and separators, the most common, never start a longer operator.
    let single = match rest.first() {
        Some(b'(') => Op::ParenOpen,
        Some(b')') => Op::ParenClose,
        Some(b'[') => Op::BracketOpen,
        Some(b']') => Op::BracketClose,
        Some(b'{') => Op::BraceOpen,
        Some(b'}') => Op::BraceClose,
        Some(b';') => Op::Semicolon,
        Some(b',') => Op::Comma,
        _ => {
            let len = operator_len(rest);
            return (Op::classify(rest.get(..len).unwrap_or(&[])), len);
        }
    };
    (single, 1)
}

/// How many bytes the operator at the start of `rest` takes: PHP's three- and
/// two-character operators (longest first), else one byte.
fn operator_len(rest: &[u8]) -> usize {
    let three = rest.get(..3);
    let two = rest.get(..2);
    if matches!(
        three,
        Some(b"===" | b"!==" | b"<=>" | b"**=" | b"..." | b"<<=" | b">>=" | b"??=" | b"?->")
    ) {
        3
    } else if matches!(
        two,
        Some(
            b"=="
                | b"!="
                | b"<>"
                | b"<="
                | b">="
                | b"&&"
                | b"||"
                | b"??"
                | b"->"
                | b"=>"
                | b"::"
                | b"++"
                | b"--"
                | b"+="
                | b"-="
                | b"*="
                | b"/="
                | b".="
                | b"%="
                | b"&="
                | b"|="
                | b"^="
                | b"<<"
                | b">>"
                | b"**"
                | b"#["
        )
    ) {
        2
    } else {
        1
    }
}

/// One token: its kind, its byte span in the source, and its 1-based line.
#[derive(Clone, Copy, Debug)]
pub(super) struct Token {
    pub(super) kind: Kind,
    /// Byte offsets as `u32`: 16 bytes a token instead of 32 (inputs are at most
    /// `wpconfig.max_bytes`, 64 MiB; an offset past 4 GiB saturates and its text is
    /// empty, never a panic).
    pub(super) start: u32,
    pub(super) end: u32,
    pub(super) line: u32,
}

impl Token {
    /// The token's text in `src`, the source it was lexed from.
    pub(super) fn text(self, src: &str) -> &str {
        src.get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }
}

/// A byte offset or index as stored in a token or a partner table.
pub(super) fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `name` lower-cased into `buffer`, when it fits: keywords and the few function
/// names the reader knows are all shorter, so a longer name matches none of them.
pub(super) fn lowercase<'b>(name: &str, buffer: &'b mut [u8; 16]) -> &'b [u8] {
    let Some(slot) = buffer.get_mut(..name.len()) else {
        return &[];
    };
    for (out, byte) in slot.iter_mut().zip(name.bytes()) {
        *out = byte.to_ascii_lowercase();
    }
    slot
}

// The reader's memory bound (see `tokens.rs`) counts on 16 bytes a token.
const _: () = assert!(std::mem::size_of::<Token>() == 16);
