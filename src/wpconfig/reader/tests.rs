//! Unit tests of the reader as a whole, through [`parse`]: the table of shapes found
//! in real files (one `check(input, expected)` line each), values, descriptions and
//! the normalised token stream. Real-world fixtures are in `tests/fixtures.rs`,
//! hostile inputs and property tests in `tests/robustness.rs`.
//!
//! Tests only: nothing here may be used by the reader itself.

#![allow(clippy::unwrap_used)]

use super::*;

mod fixtures;
mod robustness;

/// One line per thing the reader found, in a compact notation:
/// `NAME=description [guarded|if]`, `$table_prefix=…`, `eval VAR@n`,
/// `require_once …`, `dup NAME`, `!issue@line`, `no php`.
fn summary(parsed: &ParsedConfig) -> String {
    let flag = |guarded: bool, conditional: bool, guard_name: &str| match (guarded, conditional) {
        (true, _) => format!(" [{guard_name}]"),
        (false, true) => " [if]".to_string(),
        (false, false) => String::new(),
    };
    let mut parts = Vec::new();
    for d in &parsed.defines {
        let flags = flag(d.guarded, d.conditional, "guarded");
        parts.push(format!("{}={}{flags}", d.name, d.value.describe()));
    }
    for a in &parsed.table_prefix_assignments {
        let flags = flag(a.only_if_unset, a.conditional, "unset");
        parts.push(format!("$table_prefix={}{flags}", a.value.describe()));
    }
    for e in &parsed.evals_env {
        parts.push(format!("eval {}@{}", e.var, e.defines_before));
    }
    for i in &parsed.includes {
        parts.push(format!("{} {}", i.statement, i.target.describe()));
    }
    for name in parsed.duplicates() {
        parts.push(format!("dup {name}"));
    }
    for i in &parsed.issues {
        let fatal = if i.fatal { "fatal " } else { "" };
        parts.push(format!("!{fatal}{}@{}", i.message, i.line));
    }
    if !parsed.has_php {
        parts.push("no php".to_string());
    }
    parts.join("; ")
}

fn check(input: &str, expected: &str) {
    assert_eq!(
        summary(&parse(input.as_bytes())),
        expected,
        "input: {input:?}"
    );
}

#[test]
fn reads_the_shapes_found_in_real_files() {
    let cases: &[(&str, &str)] = &[
        // Plain defines, both quote styles, spacing, case.
        ("<?php define('DB_HOST', 'mysql');", r#"DB_HOST=literal "mysql""#),
        (r#"<?php define("X",'y');"#, r#"X=literal "y""#),
        ("<?php DEFINE( 'A' , 1 );", "A=literal 1"),
        ("<?php \\define('A', 1);", "A=literal 1"),
        ("<?php define('A', true, true);", "A=literal true"),
        ("<?php define('A', 1,);", "A=literal 1"),
        ("<?php define('A', TRUE); define('B', False); define('C', NULL);", "A=literal true; B=literal false; C=literal null"),
        ("<?php define('A', 1.5); define('B', -3); define('C', 0x1F); define('D', 0755); define('E', 1_000);", "A=literal 1.5; B=literal -3; C=literal 31; D=literal 493; E=literal 1000"),
        ("<?php const DB_HOST = 'x', DB_NAME = 'y';", r#"DB_HOST=literal "x"; DB_NAME=literal "y""#),
        ("<?php define('WP_' . 'DEBUG', false);", "WP_DEBUG=literal false"),
        // Quoting and escapes.
        (r"<?php define('A', 'it\'s \\ \n');", r#"A=literal "it's \\ \\n""#),
        (r#"<?php define('A', "tab\there \"q\" \$x \x41\101\u{e9}");"#, r#"A=literal "tab\there \"q\" $x AAé""#),
        (r#"<?php define('A', 'has "double" and // and /* inside');"#, r#"A=literal "has \"double\" and // and /* inside""#),
        (r#"<?php define('A', "host-$suffix");"#, r#"A=unevaluable `"host-$suffix"`"#),
        (r#"<?php define('A', "{$cfg['x']}");"#, r#"A=unevaluable `"{$cfg['x']}"`"#),
        (r#"<?php $a = "{$b["k"]}"; define('A', 1);"#, "A=literal 1"),
        // Environment reads.
        ("<?php define( 'DB_HOST', getenv_docker('WORDPRESS_DB_HOST', 'mysql') );", r#"DB_HOST=env WORDPRESS_DB_HOST (default "mysql")"#),
        ("<?php define( 'WP_DEBUG', !!getenv_docker('WORDPRESS_DEBUG', '') );", r#"WP_DEBUG=bool(env WORDPRESS_DEBUG (default ""))"#),
        ("<?php define('A', getenv('X'));", "A=env X (getenv)"),
        ("<?php define('R', getenv('REDIS_HOST') ?: 'redis');", r#"R=env REDIS_HOST (getenv) ?: "redis""#),
        ("<?php define('A', $_ENV['X'] ?? 'd');", r#"A=env X ($_ENV) ?? "d""#),
        ("<?php define('A', (bool) getenv('X'));", "A=bool(env X (getenv))"),
        ("<?php define('A', @getenv('X'));", "A=env X (getenv)"),
        ("<?php define('A', !false);", "A=not false"),
        ("<?php define('WP_HOME', 'http://' . $_SERVER['HTTP_HOST'] . '/');", r#"WP_HOME="http://" . $_SERVER["HTTP_HOST"] . "/""#),
        ("<?php define('A', getenv_docker('X'));", "A=unevaluable `getenv_docker('X')`"),
        // Things it cannot evaluate, kept as source text.
        ("<?php define('ABSPATH', dirname(__FILE__) . '/');", "ABSPATH=unevaluable `dirname(__FILE__) . '/'`"),
        ("<?php define('A', $x ? 1 : 2);", "A=unevaluable `$x ? 1 : 2`"),
        ("<?php define('A', 1 + 2);", "A=unevaluable `1 + 2`"),
        ("<?php define('A', [1, 2]);", "A=unevaluable `[1, 2]`"),
        ("<?php define('A', <<<X\nv\nX);", "A=unevaluable `<<<X\nv\nX`"),
        // Guards and conditions.
        ("<?php if ( ! defined( 'ABSPATH' ) ) {\n\tdefine( 'ABSPATH', __DIR__ . '/' );\n}", r#"ABSPATH=constant __DIR__ . "/" [guarded]"#),
        ("<?php if (!defined('WP_DEBUG')) define('WP_DEBUG', false); define('B', 1);", "WP_DEBUG=literal false [guarded]; B=literal 1"),
        ("<?php if (!defined('A')): define('A', 1); endif; define('B', 2);", "A=literal 1 [guarded]; B=literal 2"),
        ("<?php if ( defined( 'WP_CLI' ) ) { define('X', 1); } define('Y', 2);", "X=literal 1 [if]; Y=literal 2"),
        ("<?php if ($x) { define('A', 1); } else define('A', 2); define('C', 3);", "A=literal 1 [if]; A=literal 2 [if]; C=literal 3"),
        ("<?php add_filter('x', function($h) { define('IN_CLOSURE', 1); return $h; });", "IN_CLOSURE=literal 1 [if]"),
        // Duplicates: all kept, PHP keeps the first.
        ("<?php define('A', 1); define('A', 2);", "A=literal 1; A=literal 2; dup A"),
        ("<?php define('A', 1); if (!defined('A')) { define('A', 2); }", "A=literal 1; A=literal 2 [guarded]"),
        // Comments, including ones that contain define(.
        ("<?php // define('A', 1);\n# define('B', 2);\n/* define('C', 3); */ /** define('D', 4) */ define('E', 5);", "E=literal 5"),
        ("<?php #[Attr]\ndefine('A', 1);", "A=literal 1"),
        ("<?php // define('A', 1); ?> define('B', 2); <?php define('C', 3);", "C=literal 3"),
        // Text outside PHP tags, and the tags themselves.
        ("define('A', 1); <?php define('B', 2); ?> define('C', 3);", "B=literal 2"),
        ("define('A', 1);", "no php"),
        ("", "no php"),
        ("<? define('A', 1); ?>", "A=literal 1"),
        ("<?PHP define('A', 1);", "A=literal 1"),
        // $table_prefix.
        ("<?php $table_prefix  = 'wp_';", r#"$table_prefix=literal "wp_""#),
        ("<?php $table_prefix = getenv_docker('WORDPRESS_TABLE_PREFIX', 'wp_');", r#"$table_prefix=env WORDPRESS_TABLE_PREFIX (default "wp_")"#),
        ("<?php $table_prefix = 'x_'; if (!isset($table_prefix)) { $table_prefix = 'wp_'; }", r#"$table_prefix=literal "x_"; $table_prefix=literal "wp_" [unset]"#),
        ("<?php $table_prefix ??= 'wp_'; $table_prefix .= 'x';", r#"$table_prefix=literal "wp_" [unset]; $table_prefix=unevaluable `.= 'x'`"#),
        ("<?php $this->table_prefix = 'no'; $GLOBALS['table_prefix'] = 'no';", ""),
        // eval() and includes.
        ("<?php if ($configExtra = getenv_docker('WORDPRESS_CONFIG_EXTRA', '')) { eval($configExtra); }", "eval WORDPRESS_CONFIG_EXTRA@0"),
        ("<?php define('A', 1); eval(getenv('EXTRA'));", "A=literal 1; eval EXTRA@1"),
        ("<?php eval($code);", "!eval() of code the reader cannot follow@1"),
        ("<?php require_once ABSPATH . 'wp-settings.php';", r#"require_once constant ABSPATH . "wp-settings.php""#),
        ("<?php require_once('/etc/wordpress/config-default.php');", r#"require_once literal "/etc/wordpress/config-default.php""#),
        // Not defines at all.
        ("<?php $c->define('A', 1); Config::define('B', 2); function define($a, $b) {}", ""),
        ("<?php if (defined('A')) {} echo DEFINED;", ""),
        // Heredoc, nowdoc, backticks: skipped.
        ("<?php $x = <<<EOT\ndefine('A', 1);\nEOT;\ndefine('B', 2);", "B=literal 2"),
        ("<?php $x = <<<'EOT'\n  define('A', 1);\n  EOT;\ndefine('B', 2);", "B=literal 2"),
        ("<?php $x = `define('A', 1)`; define('B', 2);", "B=literal 2"),
        // Byte-order mark, CRLF, tabs.
        ("\u{feff}<?php define('A', 1);", "A=literal 1"),
        ("<?php\r\ndefine('A',\r\n 'b');\r\n", r#"A=literal "b""#),
        ("<?php\tdefine(\t'A',\t'b'\t);", r#"A=literal "b""#),
        // Broken input: reports what PHP would choke on, keeps what it can.
        ("<?php define('A', 'oops);", "!fatal unterminated string@1; !fatal unbalanced brackets@1; !define( without its closing parenthesis@1"),
        ("<?php define('A', 1); /* define('B', 2);", "A=literal 1; !unterminated comment@1"),
        ("<?php define('A', 1);\n$x = <<<EOT\nnever closed", "A=literal 1; !fatal unterminated heredoc@2"),
        ("<?php }}}{{{ define('A', 1);", "A=literal 1 [if]; !fatal unbalanced brackets@1"),
        ("<?php define($name, 1); define('B');", "!define() with a name the reader cannot evaluate@1; !define() with fewer than two arguments@1"),
        ("<?php define('A', 1); __halt_compiler(); define('B', 2); 'unterminated", "A=literal 1"),
        ("\u{0}\u{fffd}<?php\u{0} define('A', 1); \u{7f}", "A=literal 1"),
    ];
    for (input, expected) in cases {
        check(input, expected);
    }
}

#[test]
fn binary_junk_around_a_define_is_tolerated() {
    let mut bytes = vec![0xff, 0xfe, 0x00, b'<', b'?', b'p', b'h', b'p', b' '];
    bytes.extend_from_slice(b"define('A', 'b'); \xc3\x28 \x80 define('C', 1);");
    let parsed = parse(&bytes);
    // 0x28 after the broken sequence is a `(` that never closes.
    let expected = r#"A=literal "b"; C=literal 1; !fatal unbalanced brackets@1"#;
    assert_eq!(summary(&parsed), expected);
}

#[test]
fn first_define_wins_and_lines_are_counted() {
    let parsed = parse(b"<?php\r\n\r\ndefine('A', 1);\n/* two\nlines */\ndefine('A', 2);");
    let first = parsed.get("A").unwrap();
    assert_eq!((first.value.clone(), first.line), (Value::Int(1), 3));
    assert_eq!(parsed.defines[1].line, 6);
    assert_eq!(parsed.duplicates(), vec!["A".to_string()]);
}

#[test]
fn deep_parentheses_are_followed_up_to_a_bound() {
    let shallow = format!("<?php define('A', {}1{});", "(".repeat(10), ")".repeat(10));
    check(&shallow, "A=literal 1");
    let deep = format!(
        "<?php define('A', {}1{}); define('B', 2);",
        "(".repeat(500),
        ")".repeat(500)
    );
    let parsed = parse(deep.as_bytes());
    assert!(matches!(parsed.get("A").unwrap().value, Value::Unknown(_)));
    assert_eq!(parsed.get("B").unwrap().value, Value::Int(2));
}

#[test]
fn describe_masks_secrets_and_debug_hides_them() {
    let parsed = parse(b"<?php define('DB_PASSWORD', 'hunter2' . getenv_docker('X', 'dflt'));");
    let define = parsed.get("DB_PASSWORD").unwrap();
    let masked = define.value.describe_masked();
    assert_eq!(masked, "*** . env X (default ***)");
    let debug = format!("{parsed:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("dflt"),
        "{debug}"
    );
    assert!(is_secret("SECURE_AUTH_SALT") && is_secret("smtp_pass") && !is_secret("DB_HOST"));
}

#[test]
fn resolve_follows_php_conversions() {
    let env = |var: &str| match var {
        "ZERO" => Some("0".to_string()),
        "HOST" => Some("db".to_string()),
        _ => None,
    };
    let cases: &[(&str, Option<Resolved>)] = &[
        ("getenv('NOPE')", Some(Resolved::Bool(false))),
        ("$_ENV['NOPE']", Some(Resolved::Null)),
        (
            "getenv('ZERO') ?: 'fallback'",
            Some(Resolved::Str("fallback".to_string())),
        ),
        (
            "getenv('ZERO') ?? 'fallback'",
            Some(Resolved::Str("0".to_string())),
        ),
        (
            "'tcp://' . getenv_docker('HOST', 'x') . ':' . 3306",
            Some(Resolved::Str("tcp://db:3306".to_string())),
        ),
        ("(int) '12abc'", Some(Resolved::Int(12))),
        (
            "(string) true . false . null . 1.0",
            Some(Resolved::Str("11".to_string())),
        ),
        ("!!getenv_docker('ZERO', '1')", Some(Resolved::Bool(false))),
        ("$_SERVER['HTTP_HOST']", None),
        ("ABSPATH . 'x'", None),
    ];
    for (expression, expected) in cases {
        let parsed = parse(format!("<?php define('A', {expression});").as_bytes());
        let value = &parsed.get("A").unwrap().value;
        assert_eq!(&value.resolve(&env), expected, "{expression}");
    }
}

#[test]
fn normalized_tokens_ignore_comments_and_layout() {
    let tokens = |text: &str| {
        let mut out = Vec::new();
        for_each_normalized_token(text.as_bytes(), &mut |t| out.push(t.to_string()));
        out
    };
    let a = tokens("<?php define( 'A', 1 ); // note\n");
    let b = tokens("<?php\n/* header */\ndefine('A',1);");
    assert_eq!(a, b);
    assert_ne!(a, tokens("<?php define('A', 2);"));
}
