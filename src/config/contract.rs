//! `wp-sentinel config --contract`: what the binary promises to the manifests, the
//! dashboards and the README, as JSON: every configuration key with its variable and
//! its built-in default, and every metric with its type. `tests/k8s` reads it
//! instead of parsing the source, and `tests/it/contract.rs` checks it against the
//! README's key table and the validator's key lists (`SECTIONS` in `config.rs`).
//!
//! It must not read the environment or any file: the defaults are those of an empty
//! configuration.

use std::time::Duration;

use serde_json::{json, Value};

use super::{Config, LogFormat, Schedule, ENV_PREFIX, SECTIONS};

/// The variable of a key: `mysql.interval` → `WP_SENTINEL_MYSQL__INTERVAL`.
pub fn variable_of(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

/// Every key the validator accepts, as `section.key` (`key` at the top level).
pub fn known_keys() -> Vec<String> {
    SECTIONS
        .iter()
        .flat_map(|(section, keys)| {
            keys.iter().map(move |key| match section.is_empty() {
                true => key.to_string(),
                false => format!("{section}.{key}"),
            })
        })
        .collect()
}

/// `5s`, `500ms`, `0s`: the form the configuration accepts.
fn duration(value: Duration) -> Value {
    let ms = value.as_millis();
    if ms % 1000 == 0 {
        json!(format!("{}s", ms / 1000))
    } else {
        json!(format!("{ms}ms"))
    }
}

fn schedule(keys: &mut Vec<(String, Value)>, section: &str, s: &Schedule, thresholds: bool) {
    keys.push((format!("{section}.interval"), duration(s.interval)));
    keys.push((format!("{section}.timeout"), duration(s.timeout)));
    if thresholds {
        keys.push((format!("{section}.jitter"), duration(s.jitter)));
        keys.push((
            format!("{section}.failure_threshold"),
            json!(s.failure_threshold),
        ));
        keys.push((
            format!("{section}.success_threshold"),
            json!(s.success_threshold),
        ));
    }
}

/// Each key and its default, read from the configuration of no input.
fn defaults(c: &Config) -> Vec<(String, Value)> {
    let path = |p: &Option<std::path::PathBuf>| match p {
        Some(p) => json!(p.display().to_string()),
        None => Value::Null,
    };
    let mut keys: Vec<(String, Value)> = vec![
        ("listen".into(), json!(c.listen.to_string())),
        ("wordpress_url".into(), json!(super::DEFAULT_WORDPRESS_URL)),
        (
            "wp_config".into(),
            json!(c.wpconfig.path.display().to_string()),
        ),
        (
            "wordpress.path".into(),
            json!(super::DEFAULT_WORDPRESS_PATH),
        ),
        (
            "wordpress.host_header".into(),
            json!(c.wordpress.host_header),
        ),
        (
            "wordpress.forwarded_proto".into(),
            json!(c.wordpress.forwarded_proto),
        ),
        (
            "wordpress.expected_statuses".into(),
            json!(c
                .wordpress
                .expected_statuses
                .iter()
                .map(|r| format!("{}-{}", r.low, r.high))
                .collect::<Vec<_>>()),
        ),
        ("wordpress.body_limit".into(), json!(c.wordpress.body_limit)),
    ];
    schedule(&mut keys, "wordpress", &c.wordpress.schedule, true);
    keys.push((
        "wordpress_light.enabled".into(),
        json!(c.wordpress_light.enabled),
    ));
    keys.push((
        "wordpress_light.path".into(),
        json!(c.wordpress_light.url.path()),
    ));
    schedule(
        &mut keys,
        "wordpress_light",
        &c.wordpress_light.schedule,
        true,
    );
    keys.push(("mysql.enabled".into(), json!(c.mysql.enabled)));
    keys.push(("mysql.tls_mode".into(), json!(c.mysql.tls_mode.as_str())));
    keys.push(("mysql.tls_ca".into(), path(&c.mysql.tls_ca)));
    keys.push(("mysql.deep_check".into(), json!(c.mysql.deep_check)));
    schedule(&mut keys, "mysql", &c.mysql.schedule, true);
    keys.push(("wpconfig.enabled".into(), json!(c.wpconfig.enabled)));
    keys.push(("wpconfig.golden".into(), path(&c.wpconfig.golden)));
    keys.push(("wpconfig.pins".into(), json!({})));
    keys.push(("wpconfig.max_bytes".into(), json!(c.wpconfig.max_bytes)));
    schedule(&mut keys, "wpconfig", &c.wpconfig.schedule, false);
    keys.push(("wpconfig.reader_uid".into(), json!(c.wpconfig.reader_uid)));
    keys.push(("wpconfig.reader_gid".into(), json!(c.wpconfig.reader_gid)));
    let heal = &c.heal;
    keys.push(("heal.policy".into(), json!(heal.policy.as_str())));
    keys.push(("heal.max_restarts".into(), json!(heal.max_restarts)));
    keys.push((
        "heal.liveness_failure_threshold".into(),
        json!(heal.liveness_failure_threshold),
    ));
    keys.push(("heal.state_file".into(), path(&heal.state_file)));
    keys.push(("heal.forensics_dir".into(), path(&heal.forensics_dir)));
    keys.push((
        "heal.quarantine_after".into(),
        duration(heal.quarantine_after),
    ));
    keys.push((
        "heal.restore_after_breaker".into(),
        json!(heal.restore_after_breaker),
    ));
    keys.push((
        "server.max_connections".into(),
        json!(c.server.max_connections),
    ));
    keys.push((
        "server.header_read_timeout".into(),
        duration(c.server.header_read_timeout),
    ));
    keys.push((
        "server.max_header_bytes".into(),
        json!(c.server.max_header_bytes),
    ));
    keys.push(("shutdown.drain".into(), duration(c.shutdown.drain)));
    keys.push(("shutdown.deadline".into(), duration(c.shutdown.deadline)));
    let format = match c.log.format {
        LogFormat::Json => "json",
        LogFormat::Text => "text",
    };
    keys.push(("log.format".into(), json!(format)));
    keys.push(("log.level".into(), json!(c.log.level)));
    keys
}

/// The contract as JSON: `{"keys": [{"key", "variable", "default"}…],
/// "metrics": [{"name", "type"}…]}`.
pub fn contract() -> Value {
    let keys: Vec<Value> = match Config::from_toml("", &|_| None) {
        Ok(config) => defaults(&config)
            .into_iter()
            .map(|(key, default)| {
                json!({"key": key, "variable": variable_of(&key), "default": default})
            })
            .collect(),
        // The empty configuration is valid (a unit test says so); were it not, the
        // contract would list no key and every consumer's check would fail.
        Err(_) => Vec::new(),
    };
    let metrics: Vec<Value> = crate::metrics::ALL
        .iter()
        .map(|(name, kind)| json!({"name": name, "type": kind}))
        .collect();
    json!({"keys": keys, "metrics": metrics})
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_lists_each_known_key_once_and_only_those() {
        let contract = contract();
        let listed: Vec<&str> = contract["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["key"].as_str().unwrap())
            .collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), listed.len(), "a key listed twice: {listed:?}");
        let mut known = known_keys();
        known.sort_unstable();
        assert_eq!(sorted, known);
    }

    #[test]
    fn defaults_and_variables_are_the_ones_people_read() {
        let contract = contract();
        let key = |name: &str| {
            contract["keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["key"] == name)
                .cloned()
                .unwrap()
        };
        assert_eq!(key("listen")["default"], super::super::DEFAULT_LISTEN);
        assert_eq!(key("mysql.interval")["default"], "5s");
        assert_eq!(key("wordpress_light.jitter")["default"], "500ms");
        assert_eq!(
            key("mysql.interval")["variable"],
            "WP_SENTINEL_MYSQL__INTERVAL"
        );
        assert_eq!(key("wp_config")["variable"], "WP_SENTINEL_WP_CONFIG");
        assert_eq!(key("heal.state_file")["default"], Value::Null);
    }
}
