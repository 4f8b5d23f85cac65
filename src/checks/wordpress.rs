//! The WordPress HTTP check: one GET to WordPress on loopback over a fresh connection,
//! classified into refused, timeout, the database-error page, other 5xx, maintenance
//! mode, or an unexpected status.
//!
//! It reads at most `body_limit` bytes of the answer, only to classify it, and never
//! keeps a connection between runs (a restarted PHP server must look restarted).

use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderValue, HOST, USER_AGENT};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::config::{StatusRange, WordPressConfig};
use crate::verdict::{Class, Observation, Status};

/// What WordPress prints when `wp-settings.php` cannot reach the database
/// (`wp-includes/functions.php`, `dead_db()`; the same text in every locale's default).
const DATABASE_ERROR_MARKER: &str = "Error establishing a database connection";
/// What `wp_maintenance()` prints while `.maintenance` exists.
const MAINTENANCE_MARKER: &str = "Briefly unavailable for scheduled maintenance";

/// Everything the check needs, prepared once.
#[derive(Clone, Debug)]
pub struct WordPressCheck {
    url: Uri,
    authority: String,
    host_header: HeaderValue,
    forwarded_proto: Option<HeaderValue>,
    expected: Vec<StatusRange>,
    body_limit: usize,
    timeout: Duration,
}

impl WordPressCheck {
    pub fn new(config: &WordPressConfig) -> Self {
        let authority = config
            .url
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        let authority_with_port = if config.url.port().is_some() {
            authority.clone()
        } else {
            format!("{authority}:80")
        };
        let host = config
            .host_header
            .clone()
            .unwrap_or_else(|| authority.clone());
        WordPressCheck {
            url: config.url.clone(),
            authority: authority_with_port,
            host_header: HeaderValue::from_str(&host)
                .unwrap_or_else(|_| HeaderValue::from_static("localhost")),
            forwarded_proto: config
                .forwarded_proto
                .as_deref()
                .and_then(|p| HeaderValue::from_str(p).ok()),
            expected: config.expected_statuses.clone(),
            body_limit: config.body_limit,
            timeout: config.schedule.timeout,
        }
    }

    /// One run, always within the timeout.
    pub async fn run(&self) -> Observation {
        let started = Instant::now();
        match tokio::time::timeout(self.timeout, self.request()).await {
            Ok(Ok((status, body))) => self.classify(status, &body, started),
            Ok(Err((class, message))) => Observation::fail(class, message, started),
            Err(_) => Observation::fail(
                Class::Timeout,
                format!("no answer from {} within {:?}", self.url, self.timeout),
                started,
            ),
        }
    }

    async fn request(&self) -> Result<(u16, String), (Class, String)> {
        let stream = TcpStream::connect(&self.authority).await.map_err(|error| {
            let class = if error.kind() == std::io::ErrorKind::ConnectionRefused {
                Class::Refused
            } else {
                Class::Protocol
            };
            (
                class,
                format!("cannot connect to {}: {error}", self.authority),
            )
        })?;
        let _ = stream.set_nodelay(true);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| {
                (
                    Class::Protocol,
                    format!("HTTP handshake with {} failed: {error}", self.authority),
                )
            })?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        let path = self.url.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut builder = Request::get(path)
            .header(HOST, self.host_header.clone())
            .header(
                USER_AGENT,
                concat!("wp-sentinel/", env!("CARGO_PKG_VERSION")),
            )
            .header(hyper::header::CONNECTION, "close");
        if let Some(proto) = &self.forwarded_proto {
            builder = builder.header("x-forwarded-proto", proto.clone());
        }
        let request = builder
            .body(Empty::<Bytes>::new())
            .map_err(|error| (Class::Internal, format!("cannot build request: {error}")))?;
        let response = sender.send_request(request).await.map_err(|error| {
            (
                Class::Protocol,
                format!("{} closed without an HTTP answer: {error}", self.url),
            )
        })?;
        let status = response.status().as_u16();
        let body = read_prefix(response.into_body(), self.body_limit).await;
        driver.abort();
        Ok((status, body))
    }

    fn classify(&self, status: u16, body: &str, started: Instant) -> Observation {
        let expected = self
            .expected
            .iter()
            .any(|r| (r.low..=r.high).contains(&status));
        let (result, class, message) = if body.contains(DATABASE_ERROR_MARKER) && !expected {
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

/// Reads up to `limit` bytes of the body; a longer body is truncated, not an error.
async fn read_prefix(mut body: hyper::body::Incoming, limit: usize) -> String {
    let mut collected = Vec::new();
    while collected.len() < limit {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let room = limit - collected.len();
                    collected.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&collected).into_owned()
}
