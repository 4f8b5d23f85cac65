//! What a check observed, and how the checks' latest states map to the three probes.
//!
//! This file is pure logic: no I/O, no clocks of its own (times are passed in), so the
//! cause-aware rules can be unit-tested exhaustively. The rules are the product:
//! a database outage never fails liveness; WordPress answering database errors fails
//! liveness only when the sidecar itself reached the database *after* WordPress
//! reported the error; drift fails liveness unless the restart-loop breaker tripped.
//!
//! This file holds the vocabulary (statuses, check names, line subjects, failure
//! classes, observations); the consecutive-result hysteresis lives in
//! `verdict/hysteresis.rs`, the mapping of check states to probes in
//! `verdict/probes.rs`, the per-check and per-probe maps in `verdict/per.rs`, and the
//! unit tests in `verdict/tests.rs`.

use std::fmt;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

mod hysteresis;
mod per;
mod probes;
#[cfg(test)]
mod tests;

pub use hysteresis::{CheckState, Thresholds};
pub use per::{PerCheck, PerProbe};
pub use probes::{all_ok, evaluate, Context, Line, Probe, States};

/// How many checks there are: the length of [`CheckName::ALL`], the one list to
/// extend when a check is added.
pub const N_CHECKS: usize = CheckName::ALL.len();

/// The three outcomes a check can have, in the health+json vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    /// The health+json spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }

    /// Pass and warn both let a probe pass; only fail fails it.
    pub fn is_ok(self) -> bool {
        self != Status::Fail
    }
}

/// The checks the sidecar runs. Names are stable: they appear in URLs and metrics.
/// `WordPress` is the deep check (`/wp-login.php`: WordPress boots with its
/// database), `WordPressLight` the light one (`/wp-includes/version.php`: Apache and
/// PHP answer). A new check is added here and to [`CheckName::ALL`]; the per-check
/// maps ([`PerCheck`]) are sized by [`N_CHECKS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckName {
    WordPress,
    Mysql,
    WpConfig,
    WordPressLight,
}

impl CheckName {
    /// Every check, in index order (`index()` is the position here).
    pub const ALL: [CheckName; 4] = [
        CheckName::WordPress,
        CheckName::Mysql,
        CheckName::WpConfig,
        CheckName::WordPressLight,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::WordPress => "wordpress",
            CheckName::Mysql => "mysql",
            CheckName::WpConfig => "wpconfig",
            CheckName::WordPressLight => "wordpress_light",
        }
    }

    /// Whether the check measures a response time (health+json names it
    /// `<name>:responseTime`).
    pub fn measures_response_time(self) -> bool {
        matches!(
            self,
            CheckName::WordPress | CheckName::WordPressLight | CheckName::Mysql
        )
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn parse(name: &str) -> Option<CheckName> {
        CheckName::ALL
            .into_iter()
            .find(|check| check.as_str() == name)
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a verdict line is about: a check, or the sidecar's own shutdown (not a
/// check: `/readyz` fails while the sidecar drains). Its name is what `?verbose`,
/// `?exclude=` and health+json show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Check(CheckName),
    Shutdown,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Check(check) => check.as_str(),
            Subject::Shutdown => "shutdown",
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a check ended as it did. The snake-case names are metric label values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    Ok,
    /// Not run yet.
    Pending,
    // WordPress over HTTP.
    Refused,
    Timeout,
    DatabaseError,
    ServerError,
    Maintenance,
    UnexpectedStatus,
    Protocol,
    /// The deep check was redirected to `/wp-admin/install.php` (missing tables, a
    /// wrong `$table_prefix`) or to `setup-config.php` (no `wp-config.php`).
    NotInstalled,
    /// The light check's answer holds PHP source: the web server serves `.php` files
    /// as text, PHP is not executing them.
    PhpNotExecuting,
    // MySQL.
    Unreachable,
    AccessDenied,
    TooManyConnections,
    HostBlocked,
    UnknownDatabase,
    TablesMissing,
    Tls,
    // wp-config.php.
    Drift,
    ChangedOutsidePins,
    FileProblem,
    // Anything that should not happen (a check that panicked, a bug).
    Internal,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::Pending => "pending",
            Class::Refused => "refused",
            Class::Timeout => "timeout",
            Class::DatabaseError => "database_error",
            Class::ServerError => "server_error",
            Class::Maintenance => "maintenance",
            Class::UnexpectedStatus => "unexpected_status",
            Class::Protocol => "protocol_error",
            Class::NotInstalled => "not_installed",
            Class::PhpNotExecuting => "php_not_executing",
            Class::Unreachable => "unreachable",
            Class::AccessDenied => "access_denied",
            Class::TooManyConnections => "too_many_connections",
            Class::HostBlocked => "host_blocked",
            Class::UnknownDatabase => "unknown_database",
            Class::TablesMissing => "tables_missing",
            Class::Tls => "tls_error",
            Class::Drift => "drift",
            Class::ChangedOutsidePins => "changed_outside_pins",
            Class::FileProblem => "file_problem",
            Class::Internal => "internal_error",
        }
    }

    /// Whether an HTTP answer came back from PHP at all (what `/startupz` waits for).
    pub fn is_http_answer(self) -> bool {
        matches!(
            self,
            Class::Ok
                | Class::DatabaseError
                | Class::ServerError
                | Class::Maintenance
                | Class::UnexpectedStatus
                | Class::NotInstalled
        )
    }
}

/// One run of one check.
#[derive(Clone, Debug)]
pub struct Observation {
    pub status: Status,
    pub class: Class,
    /// A human sentence; never holds a secret.
    pub message: String,
    pub started: Instant,
    pub duration: Duration,
    /// Wall-clock time the run finished, for the health+json `time` field.
    pub finished_at: SystemTime,
}

impl Observation {
    pub fn new(status: Status, class: Class, message: impl Into<String>, started: Instant) -> Self {
        Observation {
            status,
            class,
            message: message.into(),
            started,
            duration: started.elapsed(),
            finished_at: SystemTime::now(),
        }
    }

    pub fn pass(message: impl Into<String>, started: Instant) -> Self {
        Observation::new(Status::Pass, Class::Ok, message, started)
    }

    pub fn fail(class: Class, message: impl Into<String>, started: Instant) -> Self {
        Observation::new(Status::Fail, class, message, started)
    }

    pub fn finished(&self) -> Instant {
        self.started + self.duration
    }
}
