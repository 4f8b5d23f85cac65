//! The reader against hostile input: a mebibyte of unclosed or deeply nested
//! constructs must return (in roughly linear time) and still read what follows, and
//! arbitrary bytes or PHP token soup must never make it panic.
//!
//! Tests only.

use proptest::prelude::*;

use super::super::*;

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
