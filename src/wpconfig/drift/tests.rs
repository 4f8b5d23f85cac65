//! Unit tests of drift detection against real `wp-config.php` files (the official
//! image's, WordPress's sample, Debian's) and the `DB_HOST=hoge` edit: matching rules,
//! secrets that never show, golden copies, `WORDPRESS_CONFIG_EXTRA`, fingerprints.
//!
//! They must not read the process environment: every lookup is a fixed table.

use super::matching::same_value;
use super::*;
use crate::wpconfig::reader::{self, Origin, Resolved};

const DOCKER: &str = include_str!("../../../tests/fixtures/wpconfig/docker.php");
const SAMPLE: &str = include_str!("../../../tests/fixtures/wpconfig/sample.php");
const DEBIAN: &str = include_str!("../../../tests/fixtures/wpconfig/debian.php");

/// The file of the cluster where the `DB_HOST=hoge` edit happened: an older official
/// image wrote literal values.
const LITERAL_FILE: &str = "<?php
define( 'DB_NAME', 'wordpress');
define( 'DB_USER', 'rworks@wordpress-db-rworks');
define( 'DB_PASSWORD', 'S3cret-pw!');
define( 'DB_HOST', 'wordpress-db-rworks.mysql.database.azure.com');
$table_prefix = 'wp_';
";
const LITERAL_ENV: &[(&str, &str)] = &[
    (
        "WORDPRESS_DB_HOST",
        "wordpress-db-rworks.mysql.database.azure.com",
    ),
    ("WORDPRESS_DB_USER", "rworks@wordpress-db-rworks"),
    ("WORDPRESS_DB_PASSWORD", "S3cret-pw!"),
    ("WORDPRESS_DB_NAME", "wordpress"),
];
/// What our manifests feed both containers through `envFrom`.
const K8S_ENV: &[(&str, &str)] = &[
    ("WORDPRESS_DB_HOST", "mysql.db.svc"),
    ("WORDPRESS_DB_USER", "wp"),
    ("WORDPRESS_DB_PASSWORD", "S3cret-pw!"),
    ("WORDPRESS_DB_NAME", "wordpress"),
];

fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_string())
    }
}

fn drifts(file: &str, env: &[(&str, &str)], desired: &Desired) -> Vec<Drift> {
    compare(&reader::parse(file.as_bytes()), desired, &lookup(env))
}

fn check(file: &str, env: &[(&str, &str)], desired: &Desired, expected: &[&str]) {
    let shown: Vec<String> = drifts(file, env, desired)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(shown, expected, "file:\n{file}");
}

fn edited(file: &str, from: &str, to: &str) -> String {
    assert!(file.contains(from), "fixture lacks {from}");
    file.replacen(from, to, 1)
}

fn with_extra(extra: &str) -> Vec<(&str, &str)> {
    let mut env = K8S_ENV.to_vec();
    env.push((CONFIG_EXTRA_VAR, extra));
    env
}

fn pins() -> Desired {
    Desired::official_image().with_literal("WP_DEBUG", Resolved::Bool(false))
}

/// A file, its environment, the desired state, and the drift lines expected.
type Case<'a> = (String, &'a [(&'a str, &'a str)], Desired, Vec<String>);

const DOCKER_HOST: &str = "getenv_docker('WORDPRESS_DB_HOST', 'mysql')";

#[test]
fn compares_effective_settings_with_the_desired_ones() {
    let hardened = format!("{SAMPLE}\ndefine('DISALLOW_FILE_EDIT', true);\n");
    let sample_env: &[(&str, &str)] = &[
        ("WORDPRESS_DB_HOST", "localhost"),
        ("WORDPRESS_DB_USER", "username_here"),
        ("WORDPRESS_DB_PASSWORD", "password_here"),
        ("WORDPRESS_DB_NAME", "database_name_here"),
    ];
    let hardening = pins().with_literal("DISALLOW_FILE_EDIT", Resolved::Bool(true));
    let expect_host = r#"DB_HOST: expected env WORDPRESS_DB_HOST ("mysql.db.svc")"#;
    let cases: Vec<Case> = vec![
        // The `DB_HOST=hoge` edit: literal values, then `sed` turns DB_HOST into 'hoge'.
        (LITERAL_FILE.to_string(), LITERAL_ENV, pins(), vec![
            "WP_DEBUG: expected false, missing".to_string(),
        ]),
        (LITERAL_FILE.to_string(), LITERAL_ENV, Desired::official_image(), vec![]),
        (edited(LITERAL_FILE, "wordpress-db-rworks.mysql.database.azure.com", "hoge"), LITERAL_ENV, Desired::official_image(), vec![
            r#"DB_HOST: expected env WORDPRESS_DB_HOST ("wordpress-db-rworks.mysql.database.azure.com"), found literal "hoge""#.to_string(),
        ]),
        // The official image's file, untouched, with the environment it was made for.
        (DOCKER.to_string(), K8S_ENV, pins(), vec![]),
        (edited(DOCKER, DOCKER_HOST, "'hoge'"), K8S_ENV, pins(), vec![
            format!(r#"{expect_host}, found literal "hoge""#),
        ]),
        // A literal equal to the desired value is fine; another one is not.
        (edited(DOCKER, DOCKER_HOST, "'mysql.db.svc'"), K8S_ENV, pins(), vec![]),
        (edited(DOCKER, "getenv_docker('WORDPRESS_DB_NAME', 'wordpress')", "'wordpress_old'"), K8S_ENV, pins(), vec![
            r#"DB_NAME: expected env WORDPRESS_DB_NAME ("wordpress"), found literal "wordpress_old""#.to_string(),
        ]),
        // Another variable is drift even when its value is the same.
        (edited(DOCKER, DOCKER_HOST, "getenv_docker('OTHER_HOST', 'mysql.db.svc')"), K8S_ENV, pins(), vec![
            format!(r#"{expect_host}, found env OTHER_HOST (default "mysql.db.svc") = "mysql.db.svc""#),
        ]),
        // A changed default matters only while the variable is unset.
        (edited(DOCKER, DOCKER_HOST, "getenv_docker('WORDPRESS_DB_HOST', 'hoge')"), K8S_ENV, pins(), vec![]),
        (edited(DOCKER, DOCKER_HOST, "getenv_docker('WORDPRESS_DB_HOST', 'hoge')"), &[], Desired::new().with_pin(
            PinKey::parse("DB_HOST"),
            Expectation::Env { var: "WORDPRESS_DB_HOST".to_string(), default: "mysql".to_string() },
        ), vec![
            r#"DB_HOST: expected env WORDPRESS_DB_HOST (unset, default "mysql"), found env WORDPRESS_DB_HOST (default "hoge") = "hoge""#.to_string(),
        ]),
        (edited(DOCKER, DOCKER_HOST, "$host"), K8S_ENV, pins(), vec![
            format!("{expect_host}, found unevaluable `$host`"),
        ]),
        // $table_prefix.
        (edited(DOCKER, "getenv_docker('WORDPRESS_TABLE_PREFIX', 'wp_')", "'x_'"), K8S_ENV, pins(), vec![
            r#"$table_prefix: expected env WORDPRESS_TABLE_PREFIX (unset, default "wp_"), found literal "x_""#.to_string(),
        ]),
        // WP_DEBUG switched on, through the environment or by hand; 'false' is truthy.
        (DOCKER.to_string(), &[("WORDPRESS_DEBUG", "1")], Desired::new().with_literal("WP_DEBUG", Resolved::Bool(false)), vec![
            r#"WP_DEBUG: expected false, found bool(env WORDPRESS_DEBUG (default "")) = true"#.to_string(),
        ]),
        (edited(SAMPLE, "'WP_DEBUG', false", "'WP_DEBUG', true"), sample_env, pins(), vec![
            "WP_DEBUG: expected false, found literal true".to_string(),
        ]),
        (edited(SAMPLE, "'WP_DEBUG', false", "'WP_DEBUG', 'false'"), sample_env, pins(), vec![
            r#"WP_DEBUG: expected false, found literal "false""#.to_string(),
        ]),
        (edited(SAMPLE, "'WP_DEBUG', false", "'WP_DEBUG', 0"), sample_env, pins(), vec![]),
        // DISALLOW_FILE_EDIT removed while pinned.
        (hardened.clone(), sample_env, hardening.clone(), vec![]),
        (edited(&hardened, "define('DISALLOW_FILE_EDIT', true);", "// removed"), sample_env, hardening, vec![
            "DISALLOW_FILE_EDIT: expected true, missing".to_string(),
        ]),
        // Debian's master file: the settings live in files the reader does not follow.
        (DEBIAN.to_string(), K8S_ENV, Desired::official_image(), vec![
            format!(r#"{expect_host}, found only a fallback literal "localhost" (the file includes other files, which the reader does not follow: require_once unevaluable `$debian_file`, require_once unevaluable `$debian_main_file`, require_once literal "/etc/wordpress/config-default.php")"#),
            "DB_USER: expected env WORDPRESS_DB_USER (\"wp\"), found only a fallback literal \"wordpress\" (the file includes other files, which the reader does not follow: require_once unevaluable `$debian_file`, require_once unevaluable `$debian_main_file`, require_once literal \"/etc/wordpress/config-default.php\")".to_string(),
            "DB_PASSWORD: missing (the file includes other files, which the reader does not follow: require_once unevaluable `$debian_file`, require_once unevaluable `$debian_main_file`, require_once literal \"/etc/wordpress/config-default.php\")".to_string(),
            "DB_NAME: expected env WORDPRESS_DB_NAME (\"wordpress\"), found only a fallback literal \"wordpress\" (the file includes other files, which the reader does not follow: require_once unevaluable `$debian_file`, require_once unevaluable `$debian_main_file`, require_once literal \"/etc/wordpress/config-default.php\")".to_string(),
            "$table_prefix: expected env WORDPRESS_TABLE_PREFIX (unset, default \"wp_\"), found only a fallback literal \"wp_\" (the file includes other files, which the reader does not follow: require_once unevaluable `$debian_file`, require_once unevaluable `$debian_main_file`, require_once literal \"/etc/wordpress/config-default.php\")".to_string(),
        ]),
        // Nothing PHP can read.
        ("\x00\x01 not php".to_string(), K8S_ENV, Desired::new().with_literal("WP_DEBUG", Resolved::Bool(false)), vec![
            "WP_DEBUG: expected false, missing (the file holds no PHP)".to_string(),
        ]),
    ];
    for (file, env, desired, expected) in cases {
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        check(&file, env, &desired, &expected);
    }
}

#[test]
fn a_drifted_password_is_only_ever_changed() {
    let leaked = "leaked-Pa55word";
    let file = edited(
        DOCKER,
        "getenv_docker('WORDPRESS_DB_PASSWORD', 'example password')",
        &format!("'{leaked}'"),
    );
    let found = drifts(&file, K8S_ENV, &pins());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].to_string(), "DB_PASSWORD: changed");
    for text in [found[0].to_string(), format!("{:?}", found[0])] {
        assert!(
            !text.contains(leaked) && !text.contains("S3cret-pw!"),
            "{text}"
        );
    }
    // A salt changed against a golden copy: same rule.
    let golden = reader::parse(SAMPLE.as_bytes());
    let file = edited(
        SAMPLE,
        "'NONCE_SALT',       'put your unique phrase here'",
        "'NONCE_SALT', 'salty'",
    );
    let found = drifts(&file, &[], &Desired::new().with_golden(&golden));
    assert_eq!(
        found.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["NONCE_SALT: changed"]
    );
    assert!(
        !format!("{found:?}").contains("salty") && !format!("{found:?}").contains("unique phrase")
    );
    // Nor do the desired state's Debug, or the CLI's description of a parsed value.
    let desired = Desired::new().with_literal("DB_PASSWORD", Resolved::Str(leaked.to_string()));
    assert!(!format!("{desired:?}").contains(leaked));
    let parsed = reader::parse(file.as_bytes());
    let shown = masked_value_description("NONCE_SALT", &parsed.get("NONCE_SALT").unwrap().value);
    assert_eq!(shown, "literal ***");
}

#[test]
fn a_golden_copy_pins_every_define() {
    let golden = reader::parse(SAMPLE.as_bytes());
    let desired = Desired::new().with_golden(&golden);
    assert_eq!(desired.pins().len(), 17, "16 defines and $table_prefix");
    // Unevaluable but identical (ABSPATH is `__DIR__ . '/'`) matches structurally.
    check(SAMPLE, &[], &desired, &[]);
    let moved = edited(SAMPLE, "'database_name_here'", "'other'");
    let moved = edited(&moved, "__DIR__ . '/'", "'/srv/wp/'");
    check(
        &moved,
        &[],
        &desired,
        &[
            r#"DB_NAME: expected literal "database_name_here" (golden), found literal "other""#,
            r#"ABSPATH: expected constant __DIR__ . "/" (golden), found literal "/srv/wp/""#,
        ],
    );
    // Same effective value through another expression matches.
    let docker_golden = reader::parse(DOCKER.as_bytes());
    let literal_host = edited(DOCKER, DOCKER_HOST, "'mysql.db.svc'");
    check(
        &literal_host,
        K8S_ENV,
        &Desired::new().with_golden(&docker_golden),
        &[],
    );
    // Configuration pins added afterwards win over the golden's.
    let desired = Desired::new()
        .with_golden(&golden)
        .with_literal("WP_DEBUG", Resolved::Bool(true));
    check(
        SAMPLE,
        &[],
        &desired,
        &["WP_DEBUG: expected true, found literal false"],
    );
}

#[test]
fn config_extra_is_read_as_more_php() {
    let desired = pins()
        .with_literal("DISALLOW_FILE_EDIT", Resolved::Bool(true))
        .with_literal("FORCE_SSL_ADMIN", Resolved::Bool(true));
    // The file's own WP_DEBUG comes first and wins, as in PHP.
    let extra = "define('DISALLOW_FILE_EDIT', true);\ndefine('WP_DEBUG', true);\ndefine('FORCE_SSL_ADMIN', false);";
    check(
        DOCKER,
        &with_extra(extra),
        &desired,
        &["FORCE_SSL_ADMIN: expected true, found literal false (from WORDPRESS_CONFIG_EXTRA)"],
    );
    // A later $table_prefix assignment overrides the file's.
    check(
        DOCKER,
        &with_extra("$table_prefix = 'x_';"),
        &pins(),
        &[
            r#"$table_prefix: expected env WORDPRESS_TABLE_PREFIX (unset, default "wp_"), found literal "x_" (from WORDPRESS_CONFIG_EXTRA)"#,
        ],
    );
    // Empty or "0": the image's `if` evaluates nothing.
    check(DOCKER, &with_extra("0"), &pins(), &[]);
    // The evaluated defines sit where the eval runs: before ABSPATH.
    let parsed = reader::parse(DOCKER.as_bytes());
    let effective = effective_config(&parsed, &lookup(&with_extra("define('ABSPATH', '/x/');")));
    let abspath = effective.get("ABSPATH").unwrap();
    assert_eq!(
        abspath.origin,
        Origin::EnvEval(CONFIG_EXTRA_VAR.to_string())
    );
    assert_eq!(effective.defines.len(), parsed.defines.len() + 1);
}

#[test]
fn a_cosmetic_edit_keeps_the_normalized_fingerprint() {
    let cosmetic = edited(
        DOCKER,
        "/** Database hostname */\ndefine( 'DB_HOST',",
        "// The host, from the Secret\ndefine(\t'DB_HOST',  ",
    );
    assert!(drifts(&cosmetic, K8S_ENV, &pins()).is_empty());
    assert_ne!(
        fingerprint(cosmetic.as_bytes()),
        fingerprint(DOCKER.as_bytes())
    );
    assert_eq!(
        normalized_fingerprint(cosmetic.as_bytes()),
        normalized_fingerprint(DOCKER.as_bytes())
    );
    // A change outside the pinned keys: no drift, but another normalized fingerprint.
    let added = format!("{DOCKER}\ndefine('WP_CACHE', true);\n");
    assert!(drifts(&added, K8S_ENV, &pins()).is_empty());
    assert_ne!(
        normalized_fingerprint(added.as_bytes()),
        normalized_fingerprint(DOCKER.as_bytes())
    );
    assert_eq!(
        hex(&fingerprint(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn equality_is_strict_about_types() {
    let equal = |a: Resolved, b: Resolved| same_value(&a, &b);
    assert!(equal(Resolved::Int(1), Resolved::Bool(true)));
    assert!(equal(Resolved::Str("3".into()), Resolved::Int(3)));
    assert!(equal(Resolved::Float(2.0), Resolved::Int(2)));
    assert!(!equal(Resolved::Str("".into()), Resolved::Bool(false)));
    assert!(!equal(Resolved::Null, Resolved::Bool(false)));
    assert!(!equal(Resolved::Int(2), Resolved::Bool(true)));
    assert!(!equal(Resolved::Str("03".into()), Resolved::Int(3)));
    assert!(!equal(Resolved::Bool(true), Resolved::Str("1".into())));
}
