//! The reader against real `wp-config.php` files: the official image's, WordPress's
//! sample, Debian's, Bitnami's and a hand-edited one.
//!
//! Tests only; the fixtures are read at compile time, never from disk at run time.

use super::super::*;

const DOCKER: &str = include_str!("../../../../tests/fixtures/wpconfig/docker.php");
const SAMPLE: &str = include_str!("../../../../tests/fixtures/wpconfig/sample.php");
const DEBIAN: &str = include_str!("../../../../tests/fixtures/wpconfig/debian.php");
const BITNAMI: &str = include_str!("../../../../tests/fixtures/wpconfig/bitnami.php");
const HAND_EDITED: &str = include_str!("../../../../tests/fixtures/wpconfig/hand-edited.php");

#[test]
fn official_docker_file() {
    let parsed = parse(DOCKER.as_bytes());
    assert_eq!(parsed.defines.len(), 16);
    assert_eq!(
        parsed.get("DB_HOST").unwrap().value,
        Value::Env {
            source: EnvSource::GetenvDocker,
            var: "WORDPRESS_DB_HOST".to_string(),
            default: Some(Box::new(Value::Str("mysql".to_string()))),
        }
    );
    let prefix = parsed.table_prefix().unwrap();
    assert_eq!(prefix.value.env_vars(), vec!["WORDPRESS_TABLE_PREFIX"]);
    assert_eq!(parsed.evals_env.len(), 1);
    assert_eq!(parsed.evals_env[0].var, "WORDPRESS_CONFIG_EXTRA");
    // The eval runs after WP_DEBUG and before ABSPATH.
    assert_eq!(parsed.evals_env[0].defines_before, 15);
    assert_eq!(parsed.unevaluated(), vec!["ABSPATH".to_string()]);
    assert!(parsed.duplicates().is_empty() && parsed.issues.is_empty());
    assert_eq!(parsed.foreign_includes().count(), 0);
    let unset = |_: &str| None;
    let debug = parsed.get("WP_DEBUG").unwrap().value.resolve(&unset);
    assert_eq!(debug, Some(Resolved::Bool(false)));
    let set = |var: &str| (var == "WORDPRESS_DEBUG").then(|| "1".to_string());
    let debug = parsed.get("WP_DEBUG").unwrap().value.resolve(&set);
    assert_eq!(debug, Some(Resolved::Bool(true)));
}

#[test]
fn wordpress_sample_file() {
    let parsed = parse(SAMPLE.as_bytes());
    let names: Vec<&str> = parsed.defines.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names.len(), 16);
    assert_eq!(names[..4], ["DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST"]);
    let salt = parsed.get("NONCE_SALT").unwrap();
    assert_eq!(
        salt.value,
        Value::Str("put your unique phrase here".to_string())
    );
    assert_eq!(
        parsed.table_prefix().unwrap().value,
        Value::Str("wp_".to_string())
    );
    assert_eq!(parsed.get("WP_DEBUG").unwrap().value, Value::Bool(false));
    assert!(parsed.get("ABSPATH").unwrap().guarded);
    assert_eq!(parsed.unevaluated(), vec!["ABSPATH".to_string()]);
    assert!(parsed.evals_env.is_empty() && parsed.issues.is_empty());
}

#[test]
fn debian_file_only_has_fallbacks_after_its_includes() {
    let parsed = parse(DEBIAN.as_bytes());
    // The real settings live in /etc/wordpress/config-*.php: say so.
    assert_eq!(parsed.foreign_includes().count(), 3);
    let host = parsed.get("DB_HOST").unwrap();
    assert!(host.guarded && host.preempted_by_include);
    assert_eq!(parsed.get("DB_PASSWORD"), None);
    let prefix = parsed.table_prefix().unwrap();
    assert!(prefix.only_if_unset && prefix.preempted_by_include);
    // DEBIAN_FILE in the if/elseif/else branches is no duplicate.
    assert!(parsed.duplicates().is_empty());
    assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
}

#[test]
fn bitnami_file() {
    let parsed = parse(BITNAMI.as_bytes());
    assert_eq!(
        parsed.get("DB_HOST").unwrap().value,
        Value::Str("mariadb:3306".to_string())
    );
    let key = parsed.get("LOGGED_IN_KEY").unwrap();
    assert_eq!(
        key.value,
        Value::Str("p}T7w-Bj!Hd@5'Mg#Ur6(Ys=Ck;Ix[O".to_string())
    );
    assert_eq!(
        parsed.unevaluated(),
        vec![
            "WP_HOME".to_string(),
            "WP_SITEURL".to_string(),
            "ABSPATH".to_string()
        ]
    );
    let temp = parsed.get("WP_TEMP_DIR").unwrap();
    assert!(
        !temp.conditional,
        "after the closures, back at the top level"
    );
    assert!(parsed.duplicates().is_empty() && parsed.issues.is_empty());
}

#[test]
fn hand_edited_file() {
    let parsed = parse(HAND_EDITED.as_bytes());
    let get = |name: &str| parsed.get(name).unwrap().value.clone();
    assert_eq!(get("DB_PASSWORD"), Value::Str("p@ss'w0rd\\".to_string()));
    assert_eq!(
        get("DB_USER"),
        Value::Str("wpadmin@wordpress-db-rworks".to_string())
    );
    assert_eq!(get("DB_CHARSET"), Value::Str("utf8mb4".to_string()));
    assert_eq!(
        get("MYSQL_CLIENT_FLAGS"),
        Value::Const("MYSQLI_CLIENT_SSL".to_string())
    );
    assert_eq!(get("WP_DEBUG"), Value::Bool(false), "the first define wins");
    assert_eq!(parsed.duplicates(), vec!["WP_DEBUG".to_string()]);
    assert_eq!(
        parsed.table_prefix().unwrap().value,
        Value::Str("rw_".to_string())
    );
    assert_eq!(parsed.get("DB_HOST").unwrap().line, 10);
    assert_eq!(
        parsed
            .defines
            .iter()
            .filter(|d| d.name == "DB_HOST")
            .count(),
        1
    );
    let redis = get("WP_REDIS_HOST").resolve(&|_| None);
    assert_eq!(redis, Some(Resolved::Str("redis".to_string())));
    assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
}
