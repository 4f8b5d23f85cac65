//! The WordPress HTTP checks: one GET to WordPress on loopback over a fresh connection,
//! classified into refused, timeout, the database-error page, other 5xx, maintenance
//! mode, or an unexpected status. Two kinds share the code:
//!
//! - **deep** (`wordpress`, `/wp-login.php`): WordPress boots with its database; a
//!   redirect to `/wp-admin/install.php` (missing tables, a wrong `$table_prefix`) or
//!   to `setup-config.php` (no `wp-config.php`) is a failure, not health.
//! - **light** (`wordpress_light`, `/wp-includes/version.php`): the web server and PHP
//!   answer; only a 200 whose body holds no PHP source passes.
//!
//! The GET is `http::fetch` (at most `body_limit` bytes of the answer, read only to
//! classify it; no connection kept between runs: a restarted PHP server must look
//! restarted).

use std::time::Duration;

use tokio::time::Instant;

use hyper::header::{HeaderName, HeaderValue, HOST, LOCATION, USER_AGENT};
use hyper::Uri;

use crate::checks::{Check, Pace, Pending};
use crate::config::{Schedule, StatusRange, WordPressConfig, WordPressLightConfig};
use crate::http::{self, Failure};
use crate::verdict::{CheckName, Class, Observation, Status};

/// What WordPress prints when `wp-settings.php` cannot reach the database
/// (`wp-includes/functions.php`, `dead_db()`; the same text in every locale's default).
const DATABASE_ERROR_MARKER: &str = "Error establishing a database connection";
/// What `wp_maintenance()` prints while `.maintenance` exists.
const MAINTENANCE_MARKER: &str = "Briefly unavailable for scheduled maintenance";
/// Where WordPress sends every request when its tables are missing (`wp_not_installed()`).
const INSTALLER_PATH: &str = "/wp-admin/install.php";
/// Where WordPress sends every request when `wp-config.php` is missing.
const SETUP_CONFIG_PATH: &str = "/wp-admin/setup-config.php";
/// What a `.php` file served as text starts with: PHP is not executing it.
const PHP_SOURCE_MARKER: &str = "<?php";
/// The light check reads no more than this: `version.php` prints nothing.
const LIGHT_BODY_LIMIT: usize = 4096;

/// Which of the two WordPress checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `/wp-login.php`: WordPress boots with its database.
    Deep,
    /// `/wp-includes/version.php`: the web server and PHP answer.
    Light,
}

/// Everything the check needs, prepared once.
#[derive(Clone, Debug)]
pub struct WordPressCheck {
    kind: Kind,
    url: Uri,
    authority: String,
    host_header: HeaderValue,
    forwarded_proto: Option<HeaderValue>,
    expected: Vec<StatusRange>,
    body_limit: usize,
    schedule: Schedule,
    /// The deep check's pace while it fails (the light check's interval).
    while_failing: Option<Duration>,
}

impl WordPressCheck {
    /// The light check: `light`'s URL and schedule, `config`'s headers.
    pub fn light(config: &WordPressConfig, light: &WordPressLightConfig) -> Self {
        let mut light_config = config.clone();
        light_config.url = light.url.clone();
        light_config.schedule = light.schedule;
        light_config.expected_statuses = vec![StatusRange {
            low: 200,
            high: 200,
        }];
        light_config.body_limit = LIGHT_BODY_LIMIT;
        WordPressCheck {
            kind: Kind::Light,
            ..WordPressCheck::new(&light_config)
        }
    }

    /// The deep check.
    pub fn new(config: &WordPressConfig) -> Self {
        let authority = config
            .url
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        let host = config
            .host_header
            .clone()
            .unwrap_or_else(|| authority.clone());
        WordPressCheck {
            kind: Kind::Deep,
            url: config.url.clone(),
            authority: http::connect_address(&config.url),
            host_header: HeaderValue::from_str(&host)
                .unwrap_or_else(|_| HeaderValue::from_static("localhost")),
            forwarded_proto: config
                .forwarded_proto
                .as_deref()
                .and_then(|p| HeaderValue::from_str(p).ok()),
            expected: config.expected_statuses.clone(),
            body_limit: config.body_limit,
            schedule: config.schedule,
            while_failing: None,
        }
    }

    /// Runs at `interval` while its effective status fails (the deep check, at the
    /// light check's interval: readiness must come back within seconds of a repair).
    pub fn paced_while_failing(mut self, interval: Duration) -> Self {
        self.while_failing = Some(interval);
        self
    }

    /// One run, within the timeout (see [`crate::checks::run`]).
    pub async fn run(&self) -> Observation {
        crate::checks::run(self).await
    }

    async fn observe_once(&self) -> Observation {
        let started = Instant::now();
        match self.request().await {
            Ok(answer) => self.classify(&answer, started),
            Err((class, message)) => Observation::fail(class, message, started),
        }
    }

    async fn request(&self) -> Result<Answer, (Class, String)> {
        let mut headers = vec![
            (HOST, self.host_header.clone()),
            (
                USER_AGENT,
                HeaderValue::from_static(concat!("wp-sentinel/", env!("CARGO_PKG_VERSION"))),
            ),
        ];
        if let Some(proto) = &self.forwarded_proto {
            headers.push((HeaderName::from_static("x-forwarded-proto"), proto.clone()));
        }
        let answer = http::fetch(&self.url, &headers, self.body_limit)
            .await
            .map_err(|failure| self.describe_failure(failure))?;
        let location = answer
            .headers
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        Ok(Answer {
            status: answer.status,
            location,
            body: answer.body,
        })
    }

    fn describe_failure(&self, failure: Failure) -> (Class, String) {
        let authority = &self.authority;
        match failure {
            Failure::Connect(error) => {
                let class = if error.kind() == std::io::ErrorKind::ConnectionRefused {
                    Class::Refused
                } else {
                    Class::Protocol
                };
                (class, format!("cannot connect to {authority}: {error}"))
            }
            Failure::Handshake(error) => (
                Class::Protocol,
                format!("HTTP handshake with {authority} failed: {error}"),
            ),
            Failure::Request(error) => (Class::Internal, format!("cannot build request: {error}")),
            Failure::NoAnswer(error) => (
                Class::Protocol,
                format!("{} closed without an HTTP answer: {error}", self.url),
            ),
            Failure::TimedOut(timeout) => (Class::Timeout, self.timed_out(timeout)),
        }
    }

    fn classify(&self, answer: &Answer, started: Instant) -> Observation {
        let (status, body) = (answer.status, answer.body.as_str());
        let expected = self
            .expected
            .iter()
            .any(|r| (r.low..=r.high).contains(&status));
        let redirect_path = answer
            .location
            .as_deref()
            .filter(|_| (300..400).contains(&status))
            .map(location_path);
        let (result, class, message) = if self.kind == Kind::Deep
            && redirect_path.is_some_and(|path| path.ends_with(INSTALLER_PATH))
        {
            (
                Status::Fail,
                Class::NotInstalled,
                format!(
                    "WordPress answers {status} to {INSTALLER_PATH}: WordPress believes it is not installed: \
                     missing tables or a wrong `$table_prefix`"
                ),
            )
        } else if self.kind == Kind::Deep
            && redirect_path.is_some_and(|path| path.ends_with(SETUP_CONFIG_PATH))
        {
            (
                Status::Fail,
                Class::NotInstalled,
                format!(
                    "WordPress answers {status} to {SETUP_CONFIG_PATH}: it finds no wp-config.php"
                ),
            )
        } else if self.kind == Kind::Light && body.contains(PHP_SOURCE_MARKER) {
            (
                Status::Fail,
                Class::PhpNotExecuting,
                format!(
                    "{} answers {status} with PHP source: the web server does not execute PHP",
                    self.url.path()
                ),
            )
        } else if body.contains(DATABASE_ERROR_MARKER) && !expected {
            (
                Status::Fail,
                Class::DatabaseError,
                format!("WordPress answers {status} \"{DATABASE_ERROR_MARKER}\""),
            )
        } else if expected {
            (
                Status::Pass,
                Class::Ok,
                format!("WordPress answers {status}"),
            )
        } else if status == 503 && body.contains(MAINTENANCE_MARKER) {
            (
                Status::Fail,
                Class::Maintenance,
                "WordPress is in maintenance mode (.maintenance)".to_string(),
            )
        } else if status >= 500 {
            (
                Status::Fail,
                Class::ServerError,
                format!("WordPress answers {status}"),
            )
        } else {
            (
                Status::Fail,
                Class::UnexpectedStatus,
                format!("WordPress answers {status}, not an expected status"),
            )
        };
        Observation::new(result, class, message, started)
    }
}

impl Check for WordPressCheck {
    fn name(&self) -> CheckName {
        match self.kind {
            Kind::Deep => CheckName::WordPress,
            Kind::Light => CheckName::WordPressLight,
        }
    }

    fn schedule(&self) -> Schedule {
        self.schedule
    }

    fn pace(&self) -> Pace {
        Pace::WordPress {
            while_failing: self.while_failing,
        }
    }

    fn wakes(&self, observation: &Observation) -> Option<CheckName> {
        let blames_something = matches!(
            observation.class,
            Class::DatabaseError | Class::ServerError | Class::UnexpectedStatus
        );
        blames_something.then_some(CheckName::Mysql)
    }

    fn observe(&self) -> Pending<'_> {
        Box::pin(self.observe_once())
    }

    fn timed_out(&self, timeout: Duration) -> String {
        format!("no answer from {} within {timeout:?}", self.url)
    }
}

/// What came back: the status, where a redirect points, the head of the body.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

/// The path of a `Location` (absolute URL or absolute path), without its query.
fn location_path(location: &str) -> &str {
    let after_scheme = match location.find("://") {
        Some(at) => {
            let rest = &location[at + 3..];
            rest.find('/').map_or("/", |slash| &rest[slash..])
        }
        None => location,
    };
    let end = after_scheme.find(['?', '#']).unwrap_or(after_scheme.len());
    &after_scheme[..end]
}

#[cfg(test)]
mod tests {
    use super::location_path;

    #[test]
    fn location_paths_are_read_from_urls_and_paths() {
        for (location, path) in [
            (
                "http://example.com/wp-admin/install.php",
                "/wp-admin/install.php",
            ),
            (
                "https://example.com:8443/wp-admin/install.php?x=1",
                "/wp-admin/install.php",
            ),
            ("/wp-admin/install.php", "/wp-admin/install.php"),
            ("http://example.com", "/"),
            ("/wp-login.php#top", "/wp-login.php"),
        ] {
            assert_eq!(location_path(location), path, "{location}");
        }
    }
}
