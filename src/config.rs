//! The only file that knows figment. It layers built-in defaults, the TOML file
//! (`--config` / `WP_SENTINEL_CONFIG`), `WP_SENTINEL_<SECTION>__<KEY>` variables and
//! the command-line flags, then validates every key into a typed [`Config`], reporting
//! every bad key at once, one line each, before any port is bound.
//!
//! It must not start anything: loading configuration has no side effect but reading
//! the TOML file and the `*_FILE` secrets named by `WORDPRESS_*` variables.
//!
//! This file holds the public types, the figment and the key table; the key-by-key
//! validation lives in `config/validate.rs` (the per-section rules in
//! `config/validate/sections.rs`), the `wp-sentinel config` description in
//! `config/describe.rs`, and the unit tests in `config/tests.rs`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Dict;
use figment::Figment;
use serde::Serialize;

use crate::wordpress_env::{DbSettings, EnvLookup, ImageEnvironment};
use crate::wpconfig::reader::Resolved;

pub mod contract;
mod describe;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::result_large_err)]
mod tests;
mod validate;

pub use describe::describe_config;
use validate::Validator;
pub use validate::{parse_duration, parse_status_range};

/// The probe port every manifest in `k8s/` uses; `tests/k8s` reads it from
/// `wp-sentinel config --contract`.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:9090";
pub const DEFAULT_WORDPRESS_URL: &str = "http://127.0.0.1:80/";
/// The page checked when `wordpress_url` has no path of its own: light, but it boots
/// WordPress and connects to its database (no theme render, unlike `/`).
pub const DEFAULT_WORDPRESS_PATH: &str = "/wp-login.php";
/// The light check's page: ships with every WordPress; PHP runs it and prints
/// nothing (no WordPress boot, no database).
pub const DEFAULT_WORDPRESS_LIGHT_PATH: &str = "/wp-includes/version.php";
pub const DEFAULT_WP_CONFIG: &str = "/var/www/html/wp-config.php";
const ENV_PREFIX: &str = "WP_SENTINEL_";

/// Flags from the command line; `None` leaves the lower layers alone.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wordpress_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wp_config: Option<String>,
}

/// One check's schedule and hysteresis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub interval: Duration,
    pub timeout: Duration,
    /// Up to this much is added at random to each interval, so replicas spread out.
    pub jitter: Duration,
    pub failure_threshold: u32,
    pub success_threshold: u32,
}

impl Schedule {
    /// How old the latest result may be before the sidecar counts itself stuck.
    pub fn staleness_bound(&self) -> Duration {
        self.interval * 3 + self.jitter + self.timeout
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Preferred => "preferred",
            TlsMode::Required => "required",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyIdentity => "verify-identity",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealPolicy {
    Restart,
    Restore,
    Quarantine,
}

impl HealPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            HealPolicy::Restart => "restart",
            HealPolicy::Restore => "restore",
            HealPolicy::Quarantine => "quarantine",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// An inclusive range of HTTP statuses that count as WordPress answering well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusRange {
    pub low: u16,
    pub high: u16,
}

#[derive(Clone, Debug)]
pub struct WordPressConfig {
    /// The full URL checked: `wordpress_url` with `wordpress.path` applied.
    pub url: hyper::Uri,
    pub host_header: Option<String>,
    pub forwarded_proto: Option<String>,
    pub expected_statuses: Vec<StatusRange>,
    pub body_limit: usize,
    pub schedule: Schedule,
}

/// The light WordPress check (`[wordpress_light]`): is the web server and PHP
/// alive. It sends `wordpress.host_header` and `wordpress.forwarded_proto` too.
#[derive(Clone, Debug)]
pub struct WordPressLightConfig {
    pub enabled: bool,
    /// `wordpress_url`'s authority with `wordpress_light.path`.
    pub url: hyper::Uri,
    pub schedule: Schedule,
}

#[derive(Clone, Debug)]
pub struct MysqlConfig {
    pub enabled: bool,
    pub settings: DbSettings,
    pub tls_mode: TlsMode,
    pub tls_ca: Option<PathBuf>,
    /// Also check that `<prefix>options` holds `siteurl`.
    pub deep_check: bool,
    pub schedule: Schedule,
}

#[derive(Clone, Debug)]
pub struct WpConfigConfig {
    pub enabled: bool,
    /// The `WORDPRESS_*` variables the desired state comes from.
    pub environment: ImageEnvironment,
    pub path: PathBuf,
    pub golden: Option<PathBuf>,
    /// Extra defines to pin, by name (upper case).
    pub pins: BTreeMap<String, Resolved>,
    pub max_bytes: u64,
    /// The uid and gid WordPress reads the file as (the manifests' `runAsUser` and
    /// `runAsGroup`): a file they cannot read is a verdict even when the sidecar can.
    pub reader_uid: u32,
    pub reader_gid: u32,
    pub schedule: Schedule,
}

#[derive(Clone, Debug)]
pub struct HealConfig {
    pub policy: HealPolicy,
    /// Restarts that did not heal before the breaker trips.
    pub max_restarts: u32,
    /// WordPress's `livenessProbe.failureThreshold`: that many failed `/livez`
    /// answers in a row to the kubelet are its restart order.
    pub liveness_failure_threshold: u32,
    /// Where the healer's memory survives a sidecar restart (a volume of the pod).
    pub state_file: Option<PathBuf>,
    /// Where drifted copies are kept (default: beside the file).
    pub forensics_dir: Option<PathBuf>,
    /// Quarantine waits until readiness has failed this long, so the Service has
    /// stopped sending visitors before `setup-config.php` can be reached.
    pub quarantine_after: Duration,
    /// With the `restart` policy: once the breaker trips, restore a good copy (the
    /// golden one, else the last healthy one) instead of only holding liveness.
    pub restore_after_breaker: bool,
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub max_connections: usize,
    /// A connection that has not sent a complete request head in this long (since
    /// it opened, or since its last answer) is closed.
    pub header_read_timeout: Duration,
    /// The largest request head accepted (hyper's read buffer; its minimum is 8192).
    pub max_header_bytes: usize,
}

#[derive(Clone, Debug)]
pub struct ShutdownConfig {
    /// How long `/readyz` fails while everything else keeps answering.
    pub drain: Duration,
    /// How long in-flight requests may take after the drain.
    pub deadline: Duration,
}

#[derive(Clone, Debug)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter; `RUST_LOG` wins when set.
    pub level: String,
}

/// The validated configuration: units and types that cannot be wrong.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub wordpress: WordPressConfig,
    pub wordpress_light: WordPressLightConfig,
    pub mysql: MysqlConfig,
    pub wpconfig: WpConfigConfig,
    pub heal: HealConfig,
    pub server: ServerConfig,
    pub shutdown: ShutdownConfig,
    pub log: LogConfig,
}

/// Every problem found, one line each.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct ConfigErrors(pub Vec<String>);

/// The keys each section accepts; anything else is an error (a typo must not pass).
const SECTIONS: &[(&str, &[&str])] = &[
    ("", &["listen", "wordpress_url", "wp_config"]),
    (
        "wordpress",
        &[
            "path",
            "host_header",
            "forwarded_proto",
            "expected_statuses",
            "body_limit",
            "interval",
            "timeout",
            "jitter",
            "failure_threshold",
            "success_threshold",
        ],
    ),
    (
        "wordpress_light",
        &[
            "enabled",
            "path",
            "interval",
            "timeout",
            "jitter",
            "failure_threshold",
            "success_threshold",
        ],
    ),
    (
        "mysql",
        &[
            "enabled",
            "tls_mode",
            "tls_ca",
            "deep_check",
            "interval",
            "timeout",
            "jitter",
            "failure_threshold",
            "success_threshold",
        ],
    ),
    (
        "wpconfig",
        &[
            "enabled",
            "golden",
            "pins",
            "max_bytes",
            "interval",
            "timeout",
            "reader_uid",
            "reader_gid",
        ],
    ),
    (
        "heal",
        &[
            "policy",
            "max_restarts",
            "liveness_failure_threshold",
            "state_file",
            "forensics_dir",
            "quarantine_after",
            "restore_after_breaker",
        ],
    ),
    (
        "server",
        &["max_connections", "header_read_timeout", "max_header_bytes"],
    ),
    ("shutdown", &["drain", "deadline"]),
    ("log", &["format", "level"]),
];

/// Where the TOML file comes from: the flag, else `WP_SENTINEL_CONFIG`.
pub fn config_path(flag: Option<&Path>, env: EnvLookup) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        env("WP_SENTINEL_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Builds the figment: defaults (in the validators) → TOML → environment → flags.
pub fn figment(config_file: Option<&Path>, flags: &Flags) -> Result<Figment, ConfigErrors> {
    let mut figment = Figment::new();
    if let Some(path) = config_file {
        if !path.is_file() {
            return Err(ConfigErrors(vec![format!(
                "config file {}: does not exist or is not a file (from --config / WP_SENTINEL_CONFIG)",
                path.display()
            )]));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    let env = Env::prefixed(ENV_PREFIX)
        .split("__")
        .filter(|key| is_env_key_ours(key.as_str()));
    Ok(figment.merge(env).merge(Serialized::defaults(flags)))
}

/// Kubernetes injects `WP_SENTINEL_PORT`, `WP_SENTINEL_SERVICE_HOST` … for a Service
/// named `wp-sentinel`; only keys of a known section (or a known top-level key) count.
fn is_env_key_ours(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    match key.split_once('.') {
        None => SECTIONS[0].1.contains(&key.as_str()),
        Some((section, _)) => SECTIONS.iter().skip(1).any(|(name, _)| *name == section),
    }
}

impl Config {
    /// Loads and validates. `env` resolves the `WORDPRESS_*` variables (tests pass
    /// their own); the `WP_SENTINEL_*` layer comes from the process environment.
    pub fn load(
        config_file: Option<&Path>,
        flags: &Flags,
        env: EnvLookup,
    ) -> Result<Config, ConfigErrors> {
        let figment = figment(config_file, flags)?;
        Config::from_figment(&figment, env)
    }

    /// Loads from TOML text alone (no environment layer): for tests and tools.
    pub fn from_toml(text: &str, env: EnvLookup) -> Result<Config, ConfigErrors> {
        Config::from_figment(&Figment::from(Toml::string(text)), env)
    }

    pub fn from_figment(figment: &Figment, env: EnvLookup) -> Result<Config, ConfigErrors> {
        let dict: Dict = figment.extract().map_err(|error| {
            ConfigErrors(
                error
                    .into_iter()
                    .map(|e| format!("configuration: {e}"))
                    .collect(),
            )
        })?;
        let mut v = Validator {
            dict,
            errors: Vec::new(),
        };
        v.reject_unknown_keys();
        let config = v.build(env);
        match config {
            Some(config) if v.errors.is_empty() => Ok(config),
            _ => Err(ConfigErrors(v.errors)),
        }
    }
}
