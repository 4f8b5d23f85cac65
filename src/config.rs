//! The only file that knows figment. It layers built-in defaults, the TOML file
//! (`--config` / `WP_SENTINEL_CONFIG`), `WP_SENTINEL_<SECTION>__<KEY>` variables and
//! the command-line flags, then validates every key into a typed [`Config`], reporting
//! every bad key at once, one line each, before any port is bound.
//!
//! It must not start anything: loading configuration has no side effect but reading
//! the TOML file and the `*_FILE` secrets named by `WORDPRESS_*` variables.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::Figment;
use serde::Serialize;

use crate::wordpress_env::{DbSettings, EnvLookup, ImageEnvironment};

/// The probe port every manifest in `k8s/` uses; the wiring test reads this line.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:9090";
pub const DEFAULT_WORDPRESS_URL: &str = "http://127.0.0.1:80/";
/// The page checked when `wordpress_url` has no path of its own: light, but it boots
/// WordPress and connects to its database (no theme render, unlike `/`).
pub const DEFAULT_WORDPRESS_PATH: &str = "/wp-login.php";
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

/// A value a pinned `define` must have.
#[derive(Clone, Debug, PartialEq)]
pub enum PinValue {
    Bool(bool),
    Int(i64),
    Text(String),
}

#[derive(Clone, Debug)]
pub struct WpConfigConfig {
    pub enabled: bool,
    /// The `WORDPRESS_*` variables the desired state comes from.
    pub environment: ImageEnvironment,
    pub path: PathBuf,
    pub golden: Option<PathBuf>,
    /// Extra defines to pin, by name (upper case).
    pub pins: BTreeMap<String, PinValue>,
    pub max_bytes: u64,
    pub schedule: Schedule,
}

#[derive(Clone, Debug)]
pub struct HealConfig {
    pub policy: HealPolicy,
    /// Restarts that did not heal before the breaker trips.
    pub max_restarts: u32,
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
    pub header_read_timeout: Duration,
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
        ],
    ),
    (
        "heal",
        &[
            "policy",
            "max_restarts",
            "forensics_dir",
            "quarantine_after",
            "restore_after_breaker",
        ],
    ),
    ("server", &["max_connections", "header_read_timeout"]),
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

struct Validator {
    dict: Dict,
    errors: Vec<String>,
}

/// `mysql.interval` → `mysql.interval (WP_SENTINEL_MYSQL__INTERVAL)`.
fn key_label(key: &str) -> String {
    format!(
        "{key} ({ENV_PREFIX}{})",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

/// A whole number, signed or not: figment reads `2` from an environment variable
/// as an unsigned number, which `to_i128` alone does not accept.
fn integer_of(value: &Value) -> Option<i128> {
    value
        .to_i128()
        .or_else(|| value.to_u128().and_then(|n| i128::try_from(n).ok()))
}

/// Any number, integer or float.
fn number_of(value: &Value) -> Option<f64> {
    integer_of(value)
        .map(|n| n as f64)
        .or_else(|| value.to_f64())
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(_, text) => format!("{text:?}"),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, _) => number_of(value)
            .map(|n| n.to_string())
            .unwrap_or_else(|| "a number".into()),
        Value::Dict(..) => "a table".into(),
        Value::Array(..) => "a list".into(),
        _ => "an empty value".into(),
    }
}

impl Validator {
    fn reject_unknown_keys(&mut self) {
        let mut unknown = Vec::new();
        for (key, value) in &self.dict {
            match SECTIONS.iter().find(|(name, _)| name == key) {
                Some((section, keys)) if !section.is_empty() => match value {
                    Value::Dict(_, inner) => {
                        for inner_key in inner.keys().filter(|k| !keys.contains(&k.as_str())) {
                            unknown.push(format!("{section}.{inner_key}"));
                        }
                    }
                    other => self.errors.push(format!(
                        "{section}: expected a table, found {}",
                        describe(other)
                    )),
                },
                _ if SECTIONS[0].1.contains(&key.as_str()) => {}
                _ => unknown.push(key.clone()),
            }
        }
        for key in unknown {
            self.errors
                .push(format!("{}: unknown key", key_label(&key)));
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        let mut parts = key.split('.');
        let first = self.dict.get(parts.next()?)?;
        match parts.next() {
            None => Some(first),
            Some(inner) => match first {
                Value::Dict(_, dict) => dict.get(inner),
                _ => None,
            },
        }
    }

    fn bad(&mut self, key: &str, expected: &str, value: &Value) {
        self.errors.push(format!(
            "{}: expected {expected}, found {}",
            key_label(key),
            describe(value)
        ));
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.get(key).cloned() {
            None => None,
            Some(Value::String(_, text)) => Some(text),
            Some(value @ Value::Num(..)) => number_of(&value).map(|n| n.to_string()),
            Some(value) => {
                self.bad(key, "a string", &value);
                None
            }
        }
    }

    /// A path that must name an existing file.
    fn existing_file(&mut self, key: &str) -> Option<PathBuf> {
        let path = self.string(key).map(PathBuf::from)?;
        if !path.is_file() {
            let label = key_label(key);
            self.errors.push(format!(
                "{label}: {} is not a readable file",
                path.display()
            ));
        }
        Some(path)
    }

    fn boolean(&mut self, key: &str, default: bool) -> bool {
        match self.get(key).cloned() {
            None => default,
            Some(value) => match value.to_bool_lossy() {
                Some(b) => b,
                None => {
                    self.bad(key, "true or false", &value);
                    default
                }
            },
        }
    }

    fn number(&mut self, key: &str, default: u64, min: u64, max: u64) -> u64 {
        let Some(value) = self.get(key).cloned() else {
            return default;
        };
        let parsed = integer_of(&value).or_else(|| match &value {
            Value::String(_, text) => text.trim().parse::<i128>().ok(),
            _ => None,
        });
        match parsed {
            Some(n) if n >= i128::from(min) && n <= i128::from(max) => n as u64,
            _ => {
                self.bad(key, &format!("a whole number from {min} to {max}"), &value);
                default
            }
        }
    }

    fn duration(&mut self, key: &str, default: Duration, min: Duration, max: Duration) -> Duration {
        let Some(value) = self.get(key).cloned() else {
            return default;
        };
        let parsed = match &value {
            Value::String(_, text) => parse_duration(text),
            Value::Num(..) => number_of(&value)
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map(Duration::from_secs_f64),
            _ => None,
        };
        match parsed {
            Some(d) if d >= min && d <= max => d,
            _ => {
                let range = format!(
                    "a duration from {} to {} (such as 5s or 250ms)",
                    show(min),
                    show(max)
                );
                self.bad(key, &range, &value);
                default
            }
        }
    }

    fn choice<T: Copy>(&mut self, key: &str, default: T, choices: &[(&str, T)]) -> T {
        let Some(value) = self.get(key).cloned() else {
            return default;
        };
        let text = match &value {
            Value::String(_, text) => text.trim().to_ascii_lowercase(),
            _ => String::new(),
        };
        match choices.iter().find(|(name, _)| *name == text) {
            Some((_, choice)) => *choice,
            None => {
                let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
                self.bad(key, &format!("one of {}", names.join(", ")), &value);
                default
            }
        }
    }

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

    fn build(&mut self, env: EnvLookup) -> Option<Config> {
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
            forensics_dir: self.string("heal.forensics_dir").map(PathBuf::from),
            restore_after_breaker: self.boolean("heal.restore_after_breaker", false),
            quarantine_after: self.duration(
                "heal.quarantine_after",
                secs(15),
                Duration::ZERO,
                secs(3600),
            ),
        };
        let server = ServerConfig {
            max_connections: self.number("server.max_connections", 2048, 1, 65_536) as usize,
            header_read_timeout: self.duration(
                "server.header_read_timeout",
                secs(5),
                ms(100),
                secs(300),
            ),
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
            level: self
                .string("log.level")
                .unwrap_or_else(|| "info".to_string()),
        };
        Some(Config {
            listen: listen?,
            wordpress: wordpress?,
            mysql: mysql?,
            wpconfig,
            heal,
            server,
            shutdown,
            log,
        })
    }

    fn wordpress(&mut self) -> Option<WordPressConfig> {
        let url_text = self
            .string("wordpress_url")
            .unwrap_or_else(|| DEFAULT_WORDPRESS_URL.to_string());
        let path = self.string("wordpress.path");
        let url = match url_text.parse::<hyper::Uri>() {
            Ok(url) if url.scheme_str() == Some("http") && url.host().is_some() => {
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
        let defaults = Schedule {
            interval: secs(5),
            timeout: secs(2),
            jitter: ms(500),
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
            max_bytes: self.number("wpconfig.max_bytes", 1024 * 1024, 1024, 64 * 1024 * 1024),
            schedule: Schedule {
                interval,
                timeout,
                ..defaults
            },
        }
    }

    fn pins(&mut self) -> BTreeMap<String, PinValue> {
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
                Value::Bool(_, b) => Some(PinValue::Bool(*b)),
                Value::String(_, text) => Some(PinValue::Text(text.clone())),
                Value::Num(..) => integer_of(value)
                    .and_then(|n| i64::try_from(n).ok())
                    .map(PinValue::Int),
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

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn show(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// `250ms`, `5s`, `1.5s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// `200`, `200-399`, `2xx`.
pub fn parse_status_range(text: &str) -> Option<StatusRange> {
    let text = text.trim();
    let valid = |n: u16| (100..=599).contains(&n);
    let range = if let Some(class) = text.strip_suffix("xx").or_else(|| text.strip_suffix("XX")) {
        let digit: u16 = class.parse().ok()?;
        StatusRange {
            low: digit * 100,
            high: digit * 100 + 99,
        }
    } else if let Some((low, high)) = text.split_once('-') {
        StatusRange {
            low: low.trim().parse().ok()?,
            high: high.trim().parse().ok()?,
        }
    } else {
        let status = text.parse().ok()?;
        StatusRange {
            low: status,
            high: status,
        }
    };
    (valid(range.low) && valid(range.high) && range.low <= range.high).then_some(range)
}

/// The configuration as people read it, secrets masked (for `wp-sentinel config`).
pub fn describe_config(config: &Config) -> String {
    let db = &config.mysql.settings;
    let schedule = |s: &Schedule| {
        format!(
            "interval = {:?}, timeout = {:?}, jitter = {:?}, failure_threshold = {}, success_threshold = {}",
            s.interval, s.timeout, s.jitter, s.failure_threshold, s.success_threshold
        )
    };
    let statuses: Vec<String> = config
        .wordpress
        .expected_statuses
        .iter()
        .map(|r| {
            if r.low == r.high {
                r.low.to_string()
            } else {
                format!("{}-{}", r.low, r.high)
            }
        })
        .collect();
    let pins: BTreeSet<String> = config
        .wpconfig
        .pins
        .iter()
        .map(|(name, value)| format!("{name} = {value:?}"))
        .collect();
    let lines = [
        format!("listen = {}", config.listen),
        format!("wordpress_url = {}", config.wordpress.url),
        format!("wp_config = {}", config.wpconfig.path.display()),
        format!("[wordpress] host_header = {:?}, forwarded_proto = {:?}", config.wordpress.host_header, config.wordpress.forwarded_proto),
        format!("[wordpress] expected_statuses = {}, body_limit = {}", statuses.join(","), config.wordpress.body_limit),
        format!("[wordpress] {}", schedule(&config.wordpress.schedule)),
        format!("[mysql] enabled = {}, host = {} ({}), user = {:?}, password = ***, database = {:?}, table_prefix = {:?}",
            config.mysql.enabled, db.host_raw, db.endpoint, db.user, db.name, db.table_prefix),
        format!("[mysql] tls_mode = {}, tls_ca = {:?}, deep_check = {}", config.mysql.tls_mode.as_str(), config.mysql.tls_ca, config.mysql.deep_check),
        format!("[mysql] {}", schedule(&config.mysql.schedule)),
        format!("[wpconfig] enabled = {}, golden = {:?}, max_bytes = {}, interval = {:?}", config.wpconfig.enabled, config.wpconfig.golden, config.wpconfig.max_bytes, config.wpconfig.schedule.interval),
        format!("[wpconfig] pins = {{{}}}", pins.into_iter().collect::<Vec<_>>().join(", ")),
        format!("[heal] policy = {}, max_restarts = {}, forensics_dir = {:?}", config.heal.policy.as_str(), config.heal.max_restarts, config.heal.forensics_dir),
        format!("[server] max_connections = {}, header_read_timeout = {:?}", config.server.max_connections, config.server.header_read_timeout),
        format!("[shutdown] drain = {:?}, deadline = {:?}", config.shutdown.drain, config.shutdown.deadline),
        format!("[log] format = {:?}, level = {:?}", config.log.format, config.log.level),
    ];
    lines.join("\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::result_large_err)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// Loads `toml`; `Ok(())` or the error lines.
    fn load(toml: &str) -> Result<Config, Vec<String>> {
        Config::from_toml(toml, &no_env).map_err(|errors| errors.0)
    }

    /// One bad setting gives exactly one line, naming the key.
    fn check_error(toml: &str, key_in_message: &str) {
        let errors = load(toml)
            .err()
            .unwrap_or_else(|| panic!("{toml:?} should be rejected"));
        assert_eq!(errors.len(), 1, "{toml:?}: {errors:?}");
        assert!(
            errors[0].contains(key_in_message),
            "{toml:?}: {errors:?} should name {key_in_message}"
        );
    }

    #[test]
    fn defaults_match_the_contract() {
        let config = load("").unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(
            config.wordpress.url.to_string(),
            "http://127.0.0.1:80/wp-login.php"
        );
        assert_eq!(config.wpconfig.path, PathBuf::from(DEFAULT_WP_CONFIG));
        assert_eq!(config.heal.policy, HealPolicy::Restart);
        assert_eq!(config.mysql.tls_mode, TlsMode::Preferred);
        assert_eq!(config.mysql.settings.host_raw, "mysql");
        assert_eq!(
            config.wordpress.expected_statuses,
            vec![StatusRange {
                low: 200,
                high: 399
            }]
        );
        assert_eq!(config.wordpress.schedule.failure_threshold, 2);
    }

    #[test]
    fn valid_values_are_typed() {
        let config = load(
            r#"
            listen = "127.0.0.1:0"
            wordpress_url = "http://127.0.0.1:8080/"
            [wordpress]
            path = "/healthz.php?x=1"
            expected_statuses = [200, "300-302", "4xx"]
            interval = "1.5s"
            timeout = 250
            [mysql]
            tls_mode = "VERIFY-IDENTITY"
            deep_check = true
            [wpconfig.pins]
            wp_debug = false
            DISALLOW_FILE_EDIT = true
            WP_HOME = "https://example.com"
            [heal]
            policy = "restore"
            max_restarts = 5
            [shutdown]
            drain = "250ms"
            "#,
        )
        .unwrap();
        assert_eq!(
            config.wordpress.url.to_string(),
            "http://127.0.0.1:8080/healthz.php?x=1"
        );
        assert_eq!(config.wordpress.expected_statuses.len(), 3);
        assert_eq!(
            config.wordpress.schedule.interval,
            Duration::from_millis(1500)
        );
        assert_eq!(
            config.wordpress.schedule.timeout,
            Duration::from_secs(250).min(Duration::from_secs(600))
        );
        assert_eq!(config.mysql.tls_mode, TlsMode::VerifyIdentity);
        assert_eq!(
            config.wpconfig.pins.get("WP_DEBUG"),
            Some(&PinValue::Bool(false))
        );
        assert_eq!(
            config.wpconfig.pins.get("WP_HOME"),
            Some(&PinValue::Text("https://example.com".into()))
        );
        assert_eq!(config.heal.policy, HealPolicy::Restore);
        assert_eq!(config.shutdown.drain, Duration::from_millis(250));
    }

    #[test]
    fn each_bad_key_is_named() {
        check_error(r#"listen = "nowhere""#, "listen (WP_SENTINEL_LISTEN)");
        check_error(r#"wordpress_url = "https://127.0.0.1/""#, "wordpress_url");
        check_error(r#"wordpress_url = "not a url""#, "wordpress_url");
        check_error(
            "[wordpress]\ninterval = \"fast\"",
            "wordpress.interval (WP_SENTINEL_WORDPRESS__INTERVAL)",
        );
        check_error("[wordpress]\ninterval = \"1ms\"", "wordpress.interval");
        check_error("[wordpress]\ntimeout = -1", "wordpress.timeout");
        check_error(
            "[wordpress]\nfailure_threshold = 0",
            "wordpress.failure_threshold",
        );
        check_error(
            "[wordpress]\nexpected_statuses = [\"20x\"]",
            "wordpress.expected_statuses",
        );
        check_error(
            "[wordpress]\nexpected_statuses = [\"399-200\"]",
            "wordpress.expected_statuses",
        );
        check_error("[wordpress]\nbody_limit = \"big\"", "wordpress.body_limit");
        check_error("[mysql]\ntls_mode = \"sometimes\"", "mysql.tls_mode");
        check_error("[mysql]\ntls_ca = \"/nonexistent/ca.pem\"", "mysql.tls_ca");
        check_error("[mysql]\nenabled = \"perhaps\"", "mysql.enabled");
        check_error("[mysql]\ntls_mod = \"required\"", "mysql.tls_mod");
        check_error("[heal]\npolicy = \"pray\"", "heal.policy");
        check_error("[heal]\nmax_restarts = 0", "heal.max_restarts");
        check_error(
            "[wpconfig]\ngolden = \"/nonexistent/golden.php\"",
            "wpconfig.golden",
        );
        check_error(
            "[wpconfig.pins]\n\"BAD NAME\" = true",
            "wpconfig.pins.BAD NAME",
        );
        check_error("[wpconfig.pins]\nWP_DEBUG = [1]", "wpconfig.pins.WP_DEBUG");
        check_error("[log]\nformat = \"xml\"", "log.format");
        check_error("[shutdown]\ndrain = \"forever\"", "shutdown.drain");
        check_error("unknown_top = 1", "unknown_top");
        check_error("mysql = 3", "mysql: expected a table");
    }

    #[test]
    fn every_bad_key_is_reported_at_once() {
        let errors = load(
            "listen = \"x\"\n[mysql]\ntls_mode = \"x\"\n[heal]\npolicy = \"x\"\nmax_restarts = 0",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
    }

    #[test]
    fn database_variables_are_validated_with_the_rest() {
        let env = |name: &str| (name == "WORDPRESS_DB_HOST").then(|| "db:notaport".to_string());
        let errors = Config::from_toml("[heal]\npolicy = \"x\"", &env)
            .unwrap_err()
            .0;
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("WORDPRESS_DB_HOST")));
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let errors = Config::load(
            Some(Path::new("/nonexistent/wp-sentinel.toml")),
            &Flags::default(),
            &no_env,
        )
        .unwrap_err();
        assert!(
            errors.0[0].contains("/nonexistent/wp-sentinel.toml"),
            "{errors:?}"
        );
    }

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "sentinel.toml",
                "listen = \"127.0.0.1:1111\"\n[mysql]\ninterval = \"7s\"\ntimeout = \"3s\"\n",
            )?;
            jail.set_env("WP_SENTINEL_MYSQL__INTERVAL", "9s");
            jail.set_env("WP_SENTINEL_LISTEN", "127.0.0.1:2222");
            // What Kubernetes injects for a Service named wp-sentinel: ignored.
            jail.set_env("WP_SENTINEL_PORT", "tcp://10.0.0.1:9090");
            jail.set_env("WP_SENTINEL_SERVICE_HOST", "10.0.0.1");
            let flags = Flags {
                listen: Some("127.0.0.1:3333".into()),
                ..Flags::default()
            };
            let config = Config::load(Some(Path::new("sentinel.toml")), &flags, &no_env)
                .map_err(|e| e.to_string())?;
            assert_eq!(config.listen.to_string(), "127.0.0.1:3333", "flags win");
            assert_eq!(
                config.mysql.schedule.interval,
                Duration::from_secs(9),
                "env beats the file"
            );
            assert_eq!(
                config.mysql.schedule.timeout,
                Duration::from_secs(3),
                "the file beats defaults"
            );
            Ok(())
        });
    }

    #[test]
    fn whole_numbers_from_environment_variables_are_accepted() {
        // Regression: figment reads "2" as an unsigned number, which was rejected.
        figment::Jail::expect_with(|jail| {
            jail.set_env("WP_SENTINEL_HEAL__MAX_RESTARTS", "2");
            jail.set_env("WP_SENTINEL_MYSQL__TIMEOUT", "3");
            jail.set_env("WP_SENTINEL_WORDPRESS__FAILURE_THRESHOLD", "4");
            jail.set_env("WP_SENTINEL_WPCONFIG__PINS__WP_MEMORY_LIMIT", "256");
            let config =
                Config::load(None, &Flags::default(), &no_env).map_err(|e| e.to_string())?;
            assert_eq!(config.heal.max_restarts, 2);
            assert_eq!(config.mysql.schedule.timeout, Duration::from_secs(3));
            assert_eq!(config.wordpress.schedule.failure_threshold, 4);
            assert_eq!(
                config.wpconfig.pins.get("WP_MEMORY_LIMIT"),
                Some(&PinValue::Int(256))
            );
            Ok(())
        });
    }

    #[test]
    fn a_typo_in_an_env_key_of_a_known_section_is_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WP_SENTINEL_HEAL__POLICI", "restore");
            let errors = Config::load(None, &Flags::default(), &no_env).unwrap_err();
            assert!(
                errors.0[0].contains("WP_SENTINEL_HEAL__POLICI"),
                "{errors:?}"
            );
            Ok(())
        });
    }

    #[test]
    fn durations_and_status_ranges_parse() {
        let cases = [
            ("250ms", Some(250)),
            ("5s", Some(5000)),
            ("1.5s", Some(1500)),
            ("2m", Some(120_000)),
            ("3", Some(3000)),
            ("", None),
            ("5 parsecs", None),
            ("-1s", None),
            ("1e400", None),
        ];
        for (text, millis) in cases {
            assert_eq!(
                parse_duration(text).map(|d| d.as_millis() as u64),
                millis,
                "{text:?}"
            );
        }
        assert_eq!(
            parse_status_range("2xx"),
            Some(StatusRange {
                low: 200,
                high: 299
            })
        );
        assert_eq!(
            parse_status_range("301"),
            Some(StatusRange {
                low: 301,
                high: 301
            })
        );
        assert_eq!(
            parse_status_range(" 300 - 302 "),
            Some(StatusRange {
                low: 300,
                high: 302
            })
        );
        assert_eq!(parse_status_range("700"), None);
        assert_eq!(parse_status_range("9xx"), None);
    }

    #[test]
    fn the_description_masks_the_password() {
        let env = |name: &str| (name == "WORDPRESS_DB_PASSWORD").then(|| "pa55-w0rd".to_string());
        let config = Config::from_toml("", &env).unwrap();
        let text = describe_config(&config);
        assert!(!text.contains("pa55-w0rd"), "{text}");
        assert!(text.contains("password = ***"));
        assert!(!format!("{config:?}").contains("pa55-w0rd"));
    }
}
