//! The keys of each section, with their defaults and bounds: `Validator::build`
//! reads the top-level keys and every section (`[wordpress]`, `[mysql]`,
//! `[wpconfig]`, `[heal]`, `[server]`, `[shutdown]`, `[log]`) into the typed
//! [`Config`].
//!
//! It must not read the figment other than through the typed getters of
//! `validate.rs`, so that every bad key is reported the same way, once; and it must
//! not touch the process environment (`WORDPRESS_*` values come through `env`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use figment::value::Value;

use super::{integer_of, key_label, ms, parse_status_range, secs, Validator};
use crate::config::{
    Config, HealConfig, HealPolicy, LogConfig, LogFormat, MysqlConfig, Schedule, ServerConfig,
    ShutdownConfig, StatusRange, TlsMode, WordPressConfig, WordPressLightConfig, WpConfigConfig,
    DEFAULT_LISTEN, DEFAULT_WORDPRESS_LIGHT_PATH, DEFAULT_WORDPRESS_PATH, DEFAULT_WORDPRESS_URL,
    DEFAULT_WP_CONFIG,
};
use crate::wordpress_env::{DbSettings, EnvLookup, ImageEnvironment};
use crate::wpconfig::reader::Resolved;

impl Validator {
    fn schedule(&mut self, section: &str, defaults: Schedule) -> Schedule {
        let key = |name: &str| format!("{section}.{name}");
        let interval = self.duration(&key("interval"), defaults.interval, ms(100), secs(3600));
        let timeout = self.duration(&key("timeout"), defaults.timeout, ms(10), secs(600));
        let jitter = self.duration(&key("jitter"), defaults.jitter, Duration::ZERO, secs(3600));
        let failure_threshold = self.number(
            &key("failure_threshold"),
            u64::from(defaults.failure_threshold),
            1,
            100,
        ) as u32;
        let success_threshold = self.number(
            &key("success_threshold"),
            u64::from(defaults.success_threshold),
            1,
            100,
        ) as u32;
        Schedule {
            interval,
            timeout,
            jitter,
            failure_threshold,
            success_threshold,
        }
    }

    pub(in crate::config) fn build(&mut self, env: EnvLookup) -> Option<Config> {
        let listen_text = self
            .string("listen")
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = match listen_text.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.errors.push(format!(
                    "{}: expected an address such as 0.0.0.0:9090, found {listen_text:?}",
                    key_label("listen")
                ));
                None
            }
        };
        let wordpress = self.wordpress();
        let wordpress_light = self.wordpress_light();
        let mysql = self.mysql(env);
        let wpconfig = self.wpconfig(env);
        let heal = HealConfig {
            policy: self.choice(
                "heal.policy",
                HealPolicy::Restart,
                &[
                    ("restart", HealPolicy::Restart),
                    ("restore", HealPolicy::Restore),
                    ("quarantine", HealPolicy::Quarantine),
                ],
            ),
            max_restarts: self.number("heal.max_restarts", 3, 1, 1000) as u32,
            liveness_failure_threshold: self.number("heal.liveness_failure_threshold", 3, 1, 100)
                as u32,
            forensics_dir: self.string("heal.forensics_dir").map(PathBuf::from),
            state_file: self.string("heal.state_file").map(PathBuf::from),
            restore_after_breaker: self.boolean("heal.restore_after_breaker", false),
            quarantine_after: self.duration(
                "heal.quarantine_after",
                secs(15),
                Duration::ZERO,
                secs(3600),
            ),
        };
        let server = ServerConfig {
            max_connections: self.number("server.max_connections", 1024, 1, 65_536) as usize,
            header_read_timeout: self.duration(
                "server.header_read_timeout",
                secs(2),
                ms(100),
                secs(300),
            ),
            // hyper refuses (panics on) a read buffer below 8192 bytes.
            max_header_bytes: self.number("server.max_header_bytes", 8192, 8192, 1 << 20) as usize,
        };
        let shutdown = ShutdownConfig {
            drain: self.duration("shutdown.drain", secs(5), Duration::ZERO, secs(600)),
            deadline: self.duration("shutdown.deadline", secs(5), Duration::ZERO, secs(600)),
        };
        let log = LogConfig {
            format: self.choice(
                "log.format",
                LogFormat::Json,
                &[("json", LogFormat::Json), ("text", LogFormat::Text)],
            ),
            level: self.log_level(),
        };
        Some(Config {
            listen: listen?,
            wordpress: wordpress?,
            wordpress_light: wordpress_light?,
            mysql: mysql?,
            wpconfig,
            heal,
            server,
            shutdown,
            log,
        })
    }

    /// `info`, or directives such as `warn,wp_sentinel=debug`. A word that is not a
    /// level (`warning`, `verbose`) would be taken by tracing as a target name and
    /// silence every log line, errors included: it is an error here.
    fn log_level(&mut self) -> String {
        let Some(level) = self.string("log.level") else {
            return "info".to_string();
        };
        const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
        let is_level = |word: &str| LEVELS.contains(&word.trim().to_ascii_lowercase().as_str());
        let valid = !level.trim().is_empty()
            && level
                .split(',')
                .all(|directive| match directive.split_once('=') {
                    Some((target, word)) => !target.trim().is_empty() && is_level(word),
                    None => is_level(directive),
                });
        if !valid {
            self.bad(
                "log.level",
                "off, error, warn, info, debug or trace (or target=level directives)",
                &figment::value::Value::from(level.clone()),
            );
        }
        level
    }

    fn wordpress(&mut self) -> Option<WordPressConfig> {
        let url_text = self
            .string("wordpress_url")
            .unwrap_or_else(|| DEFAULT_WORDPRESS_URL.to_string());
        let path = self.string("wordpress.path");
        let url = match url_text.parse::<hyper::Uri>() {
            // Credentials in the URL: never sent by the checks, and never echoed here.
            Ok(url) if url.authority().is_some_and(|a| a.as_str().contains('@')) => {
                self.errors.push(format!(
                    "{}: credentials in the URL (user@ or user:password@) are not supported: the checks send none",
                    key_label("wordpress_url")
                ));
                None
            }
            Ok(url) if url.scheme_str() == Some("http") && url.host().is_some_and(is_loopback) => {
                let own_path = url
                    .path_and_query()
                    .map(|p| p.as_str())
                    .filter(|p| *p != "/");
                let path = path
                    .as_deref()
                    .or(own_path)
                    .unwrap_or(DEFAULT_WORDPRESS_PATH);
                let authority = url.authority().map(|a| a.as_str()).unwrap_or_default();
                let joined = format!("http://{authority}/{}", path.trim_start_matches('/'));
                match joined.parse::<hyper::Uri>() {
                    Ok(url) => Some(url),
                    Err(_) => {
                        self.errors.push(format!(
                            "{}: {path:?} is not a valid path",
                            key_label("wordpress.path")
                        ));
                        None
                    }
                }
            }
            _ => {
                self.errors.push(format!(
                    "{}: expected an http:// URL on loopback such as http://127.0.0.1:80/, found {url_text:?}",
                    key_label("wordpress_url")
                ));
                None
            }
        };
        let expected_statuses = self.status_ranges("wordpress.expected_statuses");
        // The deep check: rarely on its own (every 55-60 s; BENCHMARKS.md §6 has
        // what it costs), at once on every change (the engine triggers it).
        let defaults = Schedule {
            interval: secs(55),
            timeout: secs(2),
            jitter: secs(5),
            failure_threshold: 2,
            success_threshold: 1,
        };
        Some(WordPressConfig {
            host_header: self.string("wordpress.host_header"),
            forwarded_proto: self.string("wordpress.forwarded_proto"),
            expected_statuses,
            body_limit: self.number("wordpress.body_limit", 64 * 1024, 1024, 16 * 1024 * 1024)
                as usize,
            schedule: self.schedule("wordpress", defaults),
            url: url?,
        })
    }

    /// `[wordpress_light]`: the light check, on `wordpress_url`'s host and port.
    fn wordpress_light(&mut self) -> Option<WordPressLightConfig> {
        let defaults = Schedule {
            interval: secs(5),
            timeout: secs(2),
            jitter: ms(500),
            failure_threshold: 2,
            success_threshold: 1,
        };
        let enabled = self.boolean("wordpress_light.enabled", true);
        let schedule = self.schedule("wordpress_light", defaults);
        let path = self
            .string("wordpress_light.path")
            .unwrap_or_else(|| DEFAULT_WORDPRESS_LIGHT_PATH.to_string());
        let url_text = self
            .string("wordpress_url")
            .unwrap_or_else(|| DEFAULT_WORDPRESS_URL.to_string());
        // A bad `wordpress_url` is reported once, by `wordpress()`.
        let authority = url_text
            .parse::<hyper::Uri>()
            .ok()?
            .authority()?
            .as_str()
            .to_string();
        let valid_path = path.starts_with('/') && !path.contains(char::is_whitespace);
        let url = format!("http://{authority}{path}").parse::<hyper::Uri>();
        match url {
            Ok(url) if valid_path => Some(WordPressLightConfig {
                enabled,
                url,
                schedule,
            }),
            _ => {
                self.errors.push(format!(
                    "{}: expected a path such as {DEFAULT_WORDPRESS_LIGHT_PATH}, found {path:?}",
                    key_label("wordpress_light.path")
                ));
                None
            }
        }
    }

    fn status_ranges(&mut self, key: &str) -> Vec<StatusRange> {
        let default = vec![StatusRange {
            low: 200,
            high: 399,
        }];
        let Some(value) = self.get(key).cloned() else {
            return default;
        };
        let items: Vec<Value> = match &value {
            Value::Array(_, items) => items.clone(),
            Value::String(_, text) => text
                .split(',')
                .map(|part| Value::from(part.trim().to_string()))
                .collect(),
            other => vec![other.clone()],
        };
        let mut ranges = Vec::new();
        for item in &items {
            let text = match item {
                Value::String(_, text) => text.clone(),
                other => integer_of(other).map(|n| n.to_string()).unwrap_or_default(),
            };
            match parse_status_range(&text) {
                Some(range) => ranges.push(range),
                None => {
                    self.bad(
                        key,
                        "HTTP statuses or ranges such as [200, \"300-399\"]",
                        &value,
                    );
                    return default;
                }
            }
        }
        if ranges.is_empty() {
            self.bad(key, "at least one status", &value);
            return default;
        }
        ranges
    }

    fn mysql(&mut self, env: EnvLookup) -> Option<MysqlConfig> {
        let defaults = Schedule {
            interval: secs(5),
            timeout: secs(2),
            jitter: ms(500),
            failure_threshold: 2,
            success_threshold: 1,
        };
        let tls_mode = self.choice(
            "mysql.tls_mode",
            TlsMode::Preferred,
            &[
                ("disabled", TlsMode::Disabled),
                ("preferred", TlsMode::Preferred),
                ("required", TlsMode::Required),
                ("verify-ca", TlsMode::VerifyCa),
                ("verify_ca", TlsMode::VerifyCa),
                ("verify-identity", TlsMode::VerifyIdentity),
                ("verify_identity", TlsMode::VerifyIdentity),
            ],
        );
        let tls_ca = self.existing_file("mysql.tls_ca");
        if tls_ca.is_some() && matches!(tls_mode, TlsMode::Disabled) {
            self.errors.push(format!(
                "{}: a CA file is set but tls_mode is disabled",
                key_label("mysql.tls_ca")
            ));
        }
        let enabled = self.boolean("mysql.enabled", true);
        let deep_check = self.boolean("mysql.deep_check", false);
        let schedule = self.schedule("mysql", defaults);
        let settings = match DbSettings::from_env(env) {
            Ok(settings) => Some(settings),
            Err(errors) => {
                self.errors.extend(errors);
                None
            }
        };
        Some(MysqlConfig {
            enabled,
            settings: settings?,
            tls_mode,
            tls_ca,
            deep_check,
            schedule,
        })
    }

    fn wpconfig(&mut self, env: EnvLookup) -> WpConfigConfig {
        let path = PathBuf::from(
            self.string("wp_config")
                .unwrap_or_else(|| DEFAULT_WP_CONFIG.to_string()),
        );
        let defaults = Schedule {
            interval: secs(10),
            timeout: secs(1),
            jitter: Duration::ZERO,
            failure_threshold: 1,
            success_threshold: 1,
        };
        let interval = self.duration("wpconfig.interval", defaults.interval, ms(100), secs(3600));
        let timeout = self.duration("wpconfig.timeout", defaults.timeout, ms(10), secs(60));
        let golden = self.existing_file("wpconfig.golden");
        WpConfigConfig {
            environment: ImageEnvironment::capture(env),
            enabled: self.boolean("wpconfig.enabled", true),
            path,
            golden,
            pins: self.pins(),
            max_bytes: self.number(
                "wpconfig.max_bytes",
                crate::wpconfig::reader::MAX_BYTES as u64,
                1024,
                64 * 1024 * 1024,
            ),
            // The manifests run WordPress as www-data (33:33).
            reader_uid: self.number("wpconfig.reader_uid", 33, 0, u64::from(u32::MAX)) as u32,
            reader_gid: self.number("wpconfig.reader_gid", 33, 0, u64::from(u32::MAX)) as u32,
            schedule: Schedule {
                interval,
                timeout,
                ..defaults
            },
        }
    }

    fn pins(&mut self) -> BTreeMap<String, Resolved> {
        let mut pins = BTreeMap::new();
        let Some(value) = self.get("wpconfig.pins").cloned() else {
            return pins;
        };
        let Value::Dict(_, dict) = &value else {
            self.bad("wpconfig.pins", "a table of NAME = value", &value);
            return pins;
        };
        for (name, value) in dict {
            let key = format!("wpconfig.pins.{name}");
            let pin = match value {
                Value::Bool(_, b) => Some(Resolved::Bool(*b)),
                Value::String(_, text) => Some(Resolved::Str(text.clone())),
                Value::Num(..) => integer_of(value)
                    .and_then(|n| i64::try_from(n).ok())
                    .map(Resolved::Int),
                _ => None,
            };
            let valid_name =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            match pin {
                Some(pin) if valid_name => {
                    pins.insert(name.to_ascii_uppercase(), pin);
                }
                _ => self.bad(
                    &key,
                    "a constant name with a boolean, whole number or string",
                    value,
                ),
            }
        }
        pins
    }
}

/// WordPress is checked in its own pod, over loopback: `localhost`, 127.0.0.0/8 or
/// `[::1]`. Another host would have the check (and liveness) judge a WordPress that
/// a restart of this pod's container cannot heal.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}
