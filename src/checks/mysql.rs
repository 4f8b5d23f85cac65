//! The MySQL check: the only module that talks to MySQL. It connects with the desired
//! settings (the same `WORDPRESS_DB_*` values WordPress gets), through a pool of at
//! most one connection, pings, and optionally checks that `<prefix>options` holds
//! `siteurl`. Every call runs under the check's timeout: mysql_async has no connect
//! timeout of its own, and a server that accepts and never answers would hang it.
//!
//! Errors are classified by MySQL error code; messages never hold the password.

use std::time::Duration;

use tokio::time::Instant;

use mysql_async::prelude::Queryable;
use std::sync::atomic::{AtomicBool, Ordering};

use mysql_async::{DriverError, OptsBuilder, Pool, PoolConstraints, PoolOpts, SslOpts};

use crate::checks::{Check, Pending};
use crate::config::{MysqlConfig, Schedule, TlsMode};
use crate::verdict::{CheckName, Class, Observation};
use crate::wordpress_env::DbEndpoint;

pub struct MysqlCheck {
    pool: Pool,
    /// For `preferred`: a plain pool used when the server offers no TLS.
    plain_fallback: Option<Pool>,
    /// The server offered no TLS once: go plain from then on, instead of an aborted
    /// handshake (counted by the server in `Aborted_connects`) on every run.
    server_without_tls: AtomicBool,
    deep_check: bool,
    table_prefix: String,
    schedule: Schedule,
    endpoint: String,
}

impl MysqlCheck {
    pub fn new(config: &MysqlConfig) -> Self {
        let tls = ssl_opts(config);
        let plain_fallback =
            (config.tls_mode == TlsMode::Preferred).then(|| Pool::new(builder(config, None)));
        MysqlCheck {
            pool: Pool::new(builder(config, tls)),
            plain_fallback,
            server_without_tls: AtomicBool::new(false),
            deep_check: config.deep_check,
            table_prefix: config.settings.table_prefix.clone(),
            schedule: config.schedule,
            endpoint: config.settings.endpoint.to_string(),
        }
    }

    /// One run, within the timeout (see [`crate::checks::run`]).
    pub async fn run(&self) -> Observation {
        crate::checks::run(self).await
    }

    async fn observe_once(&self) -> Observation {
        let started = Instant::now();
        match self.probe_preferring_tls().await {
            Ok(None) => {
                Observation::pass(format!("database at {} answers", self.endpoint), started)
            }
            Ok(Some(missing)) => Observation::fail(Class::TablesMissing, missing, started),
            Err(error) => {
                let (class, message) = classify(&error);
                Observation::fail(
                    class,
                    format!("database at {}: {message}", self.endpoint),
                    started,
                )
            }
        }
    }

    /// Whether `preferred` found the server without TLS and now goes in plain text.
    pub fn settled_on_plain_text(&self) -> bool {
        self.server_without_tls.load(Ordering::Relaxed)
    }

    /// Probes over TLS, or (mode `preferred`, server without TLS) in plain text.
    async fn probe_preferring_tls(&self) -> Result<Option<String>, mysql_async::Error> {
        if let Some(plain) = &self.plain_fallback {
            if self.server_without_tls.load(Ordering::Relaxed) {
                return self.probe(plain).await;
            }
        }
        match (self.probe(&self.pool).await, &self.plain_fallback) {
            (
                Err(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer)),
                Some(plain),
            ) => {
                if !self.server_without_tls.swap(true, Ordering::Relaxed) {
                    tracing::info!(endpoint = %self.endpoint, "the database offers no TLS: tls_mode preferred goes on in plain text");
                }
                self.probe(plain).await
            }
            (other, _) => other,
        }
    }

    /// Ping, and the deep check when asked. `Ok(Some(reason))` means reachable but
    /// WordPress's tables are not there.
    async fn probe(&self, pool: &Pool) -> Result<Option<String>, mysql_async::Error> {
        let mut conn = pool.get_conn().await?;
        conn.ping().await?;
        if !self.deep_check {
            return Ok(None);
        }
        // The prefix was validated to letters, digits and underscores at start-up.
        let query = format!(
            "SELECT option_value FROM `{}options` WHERE option_name = 'siteurl'",
            self.table_prefix
        );
        match conn.query_first::<String, _>(query).await {
            Ok(Some(_)) => Ok(None),
            Ok(None) => Ok(Some(format!(
                "{}options has no siteurl: WordPress is not installed",
                self.table_prefix
            ))),
            Err(mysql_async::Error::Server(error)) if error.code == 1146 => Ok(Some(format!(
                "table {}options does not exist: WordPress is not installed",
                self.table_prefix
            ))),
            Err(error) => Err(error),
        }
    }

    /// Closes pooled connections; call at shutdown.
    pub async fn disconnect(self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.pool.disconnect()).await;
        if let Some(plain) = self.plain_fallback {
            let _ = tokio::time::timeout(Duration::from_secs(2), plain.disconnect()).await;
        }
    }
}

impl Check for MysqlCheck {
    fn name(&self) -> CheckName {
        CheckName::Mysql
    }

    fn schedule(&self) -> Schedule {
        self.schedule
    }

    fn observe(&self) -> Pending<'_> {
        Box::pin(self.observe_once())
    }

    fn timed_out(&self, timeout: Duration) -> String {
        let endpoint = &self.endpoint;
        format!("database at {endpoint} did not answer within {timeout:?}")
    }
}

fn builder(config: &MysqlConfig, tls: Option<SslOpts>) -> OptsBuilder {
    let settings = &config.settings;
    // One connection at most, dropped after a minute idle: the check must never be
    // the reason a small managed database runs out of connections.
    let constraints = PoolConstraints::new(0, 1).unwrap_or_default();
    let pool = PoolOpts::default()
        .with_constraints(constraints)
        .with_inactive_connection_ttl(Duration::from_secs(60))
        .with_ttl_check_interval(Duration::from_secs(30))
        // A ping and a SELECT leave no session state: resetting the connection each
        // time it goes back to the pool would be one more command per check.
        .with_reset_connection(false);
    let builder = OptsBuilder::default()
        .user(Some(settings.user.clone()))
        .pass(Some(settings.password.expose().to_string()))
        .db_name(Some(settings.name.clone()))
        .prefer_socket(false)
        .stmt_cache_size(0)
        .pool_opts(pool)
        .ssl_opts(tls);
    match &settings.endpoint {
        DbEndpoint::Tcp { host, port } => builder.ip_or_hostname(host.clone()).tcp_port(*port),
        DbEndpoint::Socket { path } => builder.socket(Some(path.to_string_lossy().to_string())),
    }
}

/// What each mode trusts. With `tls_ca` set, the verify modes trust that CA alone:
/// mysql_async otherwise adds its compiled-in Mozilla roots (webpki-roots) beside it,
/// and `verify-ca`, which skips the host name, would then accept any publicly issued
/// certificate. Without `tls_ca`, the verify modes trust those compiled-in roots (not
/// the system's store: the image has none).
pub(crate) fn ssl_opts(config: &MysqlConfig) -> Option<SslOpts> {
    let with_ca = |opts: SslOpts| match &config.tls_ca {
        Some(path) => opts
            .with_root_certs(vec![path.clone().into()])
            .with_disable_built_in_roots(true),
        None => opts,
    };
    match config.tls_mode {
        TlsMode::Disabled => None,
        // Like MySQL's own client: encrypt, but do not verify.
        TlsMode::Preferred | TlsMode::Required => Some(
            SslOpts::default()
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
        ),
        TlsMode::VerifyCa => {
            if config.tls_ca.is_none() {
                tracing::warn!(
                    "mysql.tls_mode verify-ca without mysql.tls_ca trusts every publicly issued certificate (the compiled-in Mozilla roots, host name not checked): set mysql.tls_ca"
                );
            }
            Some(with_ca(SslOpts::default()).with_danger_skip_domain_validation(true))
        }
        TlsMode::VerifyIdentity => Some(with_ca(SslOpts::default())),
    }
}

/// Maps a driver error to a class and a message without secrets.
pub fn classify(error: &mysql_async::Error) -> (Class, String) {
    match error {
        mysql_async::Error::Server(server) => {
            let class = match server.code {
                // 1044: access denied to the database; 1045: to the server.
                1044 | 1045 => Class::AccessDenied,
                1040 | 1226 => Class::TooManyConnections,
                1129 => Class::HostBlocked,
                1049 => Class::UnknownDatabase,
                _ => Class::Unreachable,
            };
            (class, format!("error {}: {}", server.code, server.message))
        }
        mysql_async::Error::Io(mysql_async::IoError::Tls(tls)) => {
            (Class::Tls, format!("TLS failed: {tls}"))
        }
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) if is_tls_failure(io) => {
            (Class::Tls, format!("TLS failed: {io}"))
        }
        mysql_async::Error::Io(io) => (Class::Unreachable, format!("unreachable: {io}")),
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => (
            Class::Tls,
            "TLS is required but the server does not offer it".to_string(),
        ),
        mysql_async::Error::Driver(driver) => {
            (Class::Unreachable, format!("driver error: {driver}"))
        }
        mysql_async::Error::Other(other) => (Class::Unreachable, format!("error: {other}")),
        mysql_async::Error::Url(_) => (Class::Internal, "invalid connection settings".to_string()),
    }
}

/// rustls reports a bad certificate as an I/O error wrapping its own error.
fn is_tls_failure(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn mysql_config(mysql: &str) -> MysqlConfig {
        let lookup = |_: &str| None;
        Config::from_toml(&format!("[mysql]\n{mysql}"), &lookup)
            .expect("valid test config")
            .mysql
    }

    #[test]
    fn a_named_ca_is_trusted_alone_and_without_one_the_compiled_in_roots_are() {
        let ca = tempfile::NamedTempFile::new().expect("a CA file");
        let ca = ca.path().display().to_string();
        for mode in ["verify-ca", "verify-identity"] {
            let named = ssl_opts(&mysql_config(&format!(
                "tls_mode = \"{mode}\"\ntls_ca = \"{ca}\""
            )))
            .expect("TLS on");
            assert!(named.disable_built_in_roots(), "{mode} with tls_ca");
            assert_eq!(named.root_certs().len(), 1, "{mode}: the named CA");
            assert!(!named.accept_invalid_certs(), "{mode} verifies");
            let unnamed =
                ssl_opts(&mysql_config(&format!("tls_mode = \"{mode}\""))).expect("TLS on");
            assert!(!unnamed.disable_built_in_roots(), "{mode} without tls_ca");
            assert!(unnamed.root_certs().is_empty());
        }
        let verify_ca = ssl_opts(&mysql_config(&format!(
            "tls_mode = \"verify-ca\"\ntls_ca = \"{ca}\""
        )))
        .expect("TLS on");
        assert!(verify_ca.skip_domain_validation());
        let identity = ssl_opts(&mysql_config(&format!(
            "tls_mode = \"verify-identity\"\ntls_ca = \"{ca}\""
        )))
        .expect("TLS on");
        assert!(!identity.skip_domain_validation());
    }
}
