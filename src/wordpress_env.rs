//! The `WORDPRESS_*` variables, read exactly as the official image's `getenv_docker()`
//! reads them (`X_FILE` names a file whose content wins, then `X`, then the image's
//! default), and the forms `DB_HOST` can take.
//!
//! One ConfigMap and one Secret feed both containers through `envFrom`, so these values
//! are the *desired* settings: what WordPress should be using. The variables are read
//! once at start-up; a `_FILE` secret is read at start-up for the database settings
//! and again at each lookup of the drift comparison (a rotated Secret is seen without
//! a restart). It never logs a value.

use std::fmt;
use std::path::PathBuf;

use crate::secret::Secret;

/// The official image's defaults (`wp-config-docker.php`).
pub const DEFAULT_DB_HOST: &str = "mysql";
pub const DEFAULT_DB_USER: &str = "example username";
pub const DEFAULT_DB_PASSWORD: &str = "example password";
pub const DEFAULT_DB_NAME: &str = "wordpress";
pub const DEFAULT_TABLE_PREFIX: &str = "wp_";

/// Where the database is, parsed from `DB_HOST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbEndpoint {
    Tcp { host: String, port: u16 },
    Socket { path: PathBuf },
}

impl fmt::Display for DbEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbEndpoint::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            DbEndpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
            DbEndpoint::Socket { path } => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Parses `DB_HOST` the way WordPress's `wpdb::parse_db_host` does: `host`,
/// `host:port`, `host:/path/to.sock`, `[v6]`, `[v6]:port`, and a bare IPv6 address.
pub fn parse_db_host(value: &str) -> Result<DbEndpoint, String> {
    const DEFAULT_PORT: u16 = 3306;
    let value = value.trim();
    if value.is_empty() {
        return Err("empty host".into());
    }
    let port = |text: &str| -> Result<u16, String> {
        text.parse::<u16>()
            .ok()
            .filter(|port| *port != 0)
            .ok_or_else(|| format!("invalid port {text:?}"))
    };
    if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed [ in IPv6 host")?;
        if host.is_empty() {
            return Err("empty IPv6 host".into());
        }
        return match after {
            "" => Ok(DbEndpoint::Tcp {
                host: host.into(),
                port: DEFAULT_PORT,
            }),
            _ => {
                let after = after.strip_prefix(':').ok_or("expected :port after ]")?;
                if after.starts_with('/') {
                    return Ok(DbEndpoint::Socket { path: after.into() });
                }
                Ok(DbEndpoint::Tcp {
                    host: host.into(),
                    port: port(after)?,
                })
            }
        };
    }
    // More than one colon and no brackets: a bare IPv6 address (WordPress does the same).
    if value.matches(':').count() > 1 && !value.contains(":/") {
        return Ok(DbEndpoint::Tcp {
            host: value.into(),
            port: DEFAULT_PORT,
        });
    }
    match value.split_once(':') {
        None => Ok(DbEndpoint::Tcp {
            host: value.into(),
            port: DEFAULT_PORT,
        }),
        Some((_, path)) if path.starts_with('/') => Ok(DbEndpoint::Socket { path: path.into() }),
        Some((host, text)) if !host.is_empty() => Ok(DbEndpoint::Tcp {
            host: host.into(),
            port: port(text)?,
        }),
        Some(_) => Err("empty host before :".into()),
    }
}

/// The desired database settings.
#[derive(Clone, Debug)]
pub struct DbSettings {
    /// `DB_HOST` as written, for drift comparison and display.
    pub host_raw: String,
    pub endpoint: DbEndpoint,
    pub user: String,
    pub password: Secret,
    pub name: String,
    pub table_prefix: String,
}

/// Reads variables: a closure so tests and the CLI can pass their own environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `getenv_docker(name, default)`: `name_FILE` (a file, trailing CR/LF trimmed) wins,
/// then `name`, then the default. An unreadable `_FILE` is an error naming the variable.
pub fn getenv_docker(env: EnvLookup, name: &str) -> Result<Option<String>, String> {
    let file_var = format!("{name}_FILE");
    if let Some(path) = env(&file_var).filter(|path| !path.is_empty()) {
        return match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text.trim_end_matches(['\r', '\n']).to_string())),
            Err(error) => Err(format!("{file_var}: cannot read {path}: {error}")),
        };
    }
    Ok(env(name))
}

impl DbSettings {
    /// Reads the desired settings. Errors are one line each, naming the variable.
    pub fn from_env(env: EnvLookup) -> Result<DbSettings, Vec<String>> {
        let mut errors = Vec::new();
        let mut read = |name: &str, default: &str| match getenv_docker(env, name) {
            Ok(value) => value.unwrap_or_else(|| default.to_string()),
            Err(error) => {
                errors.push(error);
                default.to_string()
            }
        };
        let host_raw = read("WORDPRESS_DB_HOST", DEFAULT_DB_HOST);
        let user = read("WORDPRESS_DB_USER", DEFAULT_DB_USER);
        let password = Secret::new(read("WORDPRESS_DB_PASSWORD", DEFAULT_DB_PASSWORD));
        let name = read("WORDPRESS_DB_NAME", DEFAULT_DB_NAME);
        let table_prefix = read("WORDPRESS_TABLE_PREFIX", DEFAULT_TABLE_PREFIX);
        let endpoint = match parse_db_host(&host_raw) {
            Ok(endpoint) => Some(endpoint),
            Err(error) => {
                errors.push(format!("WORDPRESS_DB_HOST: {error} in {host_raw:?}"));
                None
            }
        };
        if !table_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || table_prefix.is_empty()
        {
            errors.push(format!(
                "WORDPRESS_TABLE_PREFIX: {table_prefix:?} may hold only letters, digits and underscores"
            ));
        }
        match endpoint {
            Some(endpoint) if errors.is_empty() => Ok(DbSettings {
                host_raw,
                endpoint,
                user,
                password,
                name,
                table_prefix,
            }),
            _ => Err(errors),
        }
    }
}

/// Every variable `wp-config-docker.php` reads through `getenv_docker()`.
pub const IMAGE_VARIABLES: &[&str] = &[
    "WORDPRESS_DB_HOST",
    "WORDPRESS_DB_USER",
    "WORDPRESS_DB_PASSWORD",
    "WORDPRESS_DB_NAME",
    "WORDPRESS_DB_CHARSET",
    "WORDPRESS_DB_COLLATE",
    "WORDPRESS_TABLE_PREFIX",
    "WORDPRESS_DEBUG",
    "WORDPRESS_CONFIG_EXTRA",
    "WORDPRESS_AUTH_KEY",
    "WORDPRESS_SECURE_AUTH_KEY",
    "WORDPRESS_LOGGED_IN_KEY",
    "WORDPRESS_NONCE_KEY",
    "WORDPRESS_AUTH_SALT",
    "WORDPRESS_SECURE_AUTH_SALT",
    "WORDPRESS_LOGGED_IN_SALT",
    "WORDPRESS_NONCE_SALT",
];

/// The image's variables as this process saw them at start-up (each `X` and
/// `X_FILE`), so the drift check compares against the same environment the
/// configuration was validated with. `_FILE` contents are read at each lookup (the
/// wp-config check takes a [`snapshot`](Self::snapshot) per run): a rotated Secret
/// is seen without a restart. `Debug` shows names only.
#[derive(Clone, Default)]
pub struct ImageEnvironment {
    variables: std::collections::BTreeMap<String, String>,
}

impl ImageEnvironment {
    pub fn capture(env: EnvLookup) -> ImageEnvironment {
        let mut variables = std::collections::BTreeMap::new();
        for name in IMAGE_VARIABLES {
            for key in [name.to_string(), format!("{name}_FILE")] {
                if let Some(value) = env(&key) {
                    variables.insert(key, value);
                }
            }
        }
        ImageEnvironment { variables }
    }

    /// `getenv_docker(name)`: the `_FILE` content, else the variable, else `None`.
    pub fn get(&self, name: &str) -> Option<String> {
        let lookup = |key: &str| self.variables.get(key).cloned();
        getenv_docker(&lookup, name).ok().flatten()
    }

    /// Every image variable's value now, `_FILE` contents read once: what one drift
    /// comparison looks up. Reading a Secret is file I/O, so the wp-config check takes
    /// this on the blocking thread that read the file, never on the async runtime (a
    /// Secret on a hung volume must not stall a worker; the check's timeout covers it).
    pub fn snapshot(&self) -> ImageEnvironment {
        let mut variables = std::collections::BTreeMap::new();
        for name in IMAGE_VARIABLES {
            if let Some(value) = self.get(name) {
                variables.insert(name.to_string(), value);
            }
        }
        ImageEnvironment { variables }
    }

    /// [`get`](Self::get) as the closure the drift comparison takes.
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |name: &str| self.get(name)
    }
}

impl fmt::Debug for ImageEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.variables.keys()).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Result<DbEndpoint, String> {
        Ok(DbEndpoint::Tcp {
            host: host.into(),
            port,
        })
    }

    fn check(input: &str, expected: Result<DbEndpoint, String>) {
        let got = parse_db_host(input);
        match (&got, &expected) {
            (Err(_), Err(_)) => {}
            _ => assert_eq!(got, expected, "input {input:?}"),
        }
    }

    #[test]
    fn db_host_forms() {
        check("mysql", tcp("mysql", 3306));
        check("db.example.com:3307", tcp("db.example.com", 3307));
        check("127.0.0.1:3306", tcp("127.0.0.1", 3306));
        check(" 127.0.0.1 ", tcp("127.0.0.1", 3306));
        check(
            "localhost:/run/mysqld/mysqld.sock",
            Ok(DbEndpoint::Socket {
                path: "/run/mysqld/mysqld.sock".into(),
            }),
        );
        check("[::1]:3307", tcp("::1", 3307));
        check("[2001:db8::5]", tcp("2001:db8::5", 3306));
        check("2001:db8::5", tcp("2001:db8::5", 3306));
        check(
            "[::1]:/tmp/my.sock",
            Ok(DbEndpoint::Socket {
                path: "/tmp/my.sock".into(),
            }),
        );
        check(
            "wp.mysql.database.azure.com:3306",
            tcp("wp.mysql.database.azure.com", 3306),
        );
        check("", Err(String::new()));
        check("host:notaport", Err(String::new()));
        check("host:0", Err(String::new()));
        check("host:70000", Err(String::new()));
        check("[::1", Err(String::new()));
        check("[]:3306", Err(String::new()));
        check("[::1]x", Err(String::new()));
        check(":3306", Err(String::new()));
    }

    #[test]
    fn endpoint_display_brackets_ipv6() {
        assert_eq!(
            DbEndpoint::Tcp {
                host: "::1".into(),
                port: 3306
            }
            .to_string(),
            "[::1]:3306"
        );
        assert_eq!(
            DbEndpoint::Tcp {
                host: "db".into(),
                port: 1
            }
            .to_string(),
            "db:1"
        );
    }

    #[test]
    fn file_variant_wins_and_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, "s3cret\r\n").unwrap();
        let path_text = path.to_string_lossy().to_string();
        let env = move |name: &str| match name {
            "WORDPRESS_DB_PASSWORD_FILE" => Some(path_text.clone()),
            "WORDPRESS_DB_PASSWORD" => Some("ignored".to_string()),
            "WORDPRESS_DB_HOST" => Some("db:3307".to_string()),
            _ => None,
        };
        let settings = DbSettings::from_env(&env).unwrap();
        assert_eq!(settings.password.expose(), "s3cret");
        assert_eq!(
            settings.endpoint,
            DbEndpoint::Tcp {
                host: "db".into(),
                port: 3307
            }
        );
        assert_eq!(settings.user, DEFAULT_DB_USER);
        assert_eq!(settings.table_prefix, "wp_");
    }

    #[test]
    fn every_bad_variable_is_reported_at_once() {
        let env = |name: &str| match name {
            "WORDPRESS_DB_PASSWORD_FILE" => Some("/nonexistent/password".to_string()),
            "WORDPRESS_DB_HOST" => Some("db:x".to_string()),
            "WORDPRESS_TABLE_PREFIX" => Some("wp-; DROP".to_string()),
            _ => None,
        };
        let errors = DbSettings::from_env(&env).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("WORDPRESS_DB_PASSWORD_FILE"));
        assert!(errors[1].starts_with("WORDPRESS_DB_HOST"));
        assert!(errors[2].starts_with("WORDPRESS_TABLE_PREFIX"));
    }

    #[test]
    fn a_snapshot_reads_the_secrets_once_and_answers_as_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, "first\n").unwrap();
        let path_text = path.to_string_lossy().to_string();
        let env = move |name: &str| match name {
            "WORDPRESS_DB_PASSWORD_FILE" => Some(path_text.clone()),
            "WORDPRESS_DB_USER" => Some("wp".to_string()),
            _ => None,
        };
        let image = ImageEnvironment::capture(&env);
        let snapshot = image.snapshot();
        for name in IMAGE_VARIABLES {
            assert_eq!(snapshot.get(name), image.get(name), "{name}");
        }
        assert_eq!(
            snapshot.get("WORDPRESS_DB_PASSWORD").as_deref(),
            Some("first")
        );
        // A rotated Secret: the next snapshot sees it, this one keeps what it read.
        std::fs::write(&path, "second\n").unwrap();
        assert_eq!(
            snapshot.get("WORDPRESS_DB_PASSWORD").as_deref(),
            Some("first")
        );
        assert_eq!(
            image.snapshot().get("WORDPRESS_DB_PASSWORD").as_deref(),
            Some("second")
        );
    }
}
