//! The probe server: routes to handlers that read the board's latest snapshot and
//! format it. A handler never awaits I/O, never fails a request because a check
//! failed (a failed check is a 503 with a reason, not an error), and never shows a
//! secret (check messages are built without them).
//!
//! Bodies follow the Kubernetes API server's `/livez` and `/readyz`: the status code is
//! what machines read; `?verbose` lists `[+]name ok` / `[-]name failed: reason`;
//! `?exclude=name` skips a check; `application/health+json` (Accept header or
//! `?format=json`) gives the draft-inadarei health format.

pub mod accept;
pub mod admission;

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use tokio::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::board::{Board, Snapshot};
use crate::heal::witness::LivenessWitness;
use crate::metrics as metric_names;
use crate::verdict::{CheckName, Line, Probe, Subject};

/// What handlers share.
pub struct AppState {
    pub board: Arc<Board>,
    pub metrics: PrometheusHandle,
    /// Told of every `/livez` answer, to learn when the kubelet restarts WordPress.
    pub witness: Arc<LivenessWitness>,
}

pub type Body = Full<Bytes>;

/// Routes one request. Cheap and synchronous at heart; `async` only for hyper.
pub async fn handle<B>(
    state: Arc<AppState>,
    request: Request<B>,
) -> Result<Response<Body>, Infallible> {
    Ok(route(
        &state,
        request.method(),
        request.uri(),
        request.headers(),
    ))
}

/// The synchronous router (also what the benchmark measures).
pub fn route(
    state: &AppState,
    method: &Method,
    uri: &hyper::Uri,
    headers: &hyper::HeaderMap,
) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD\n".to_string(),
        );
    }
    let query = Query::parse(uri.query().unwrap_or(""), headers);
    let path = uri.path().trim_end_matches('/');
    let (endpoint, response) = match path {
        "/livez" => {
            let response = probe(state, Probe::Live, None, &query);
            state
                .witness
                .answered(headers, response.status().is_success());
            ("livez", response)
        }
        "/readyz" => ("readyz", probe(state, Probe::Ready, None, &query)),
        "/startupz" => ("startupz", probe(state, Probe::Startup, None, &query)),
        "/healthz" => ("healthz", healthz(state, &query)),
        "/metrics" => {
            return Response::builder()
                .header(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
                .body(Body::from(state.metrics.render()))
                .unwrap_or_default();
        }
        _ => match single_check(path) {
            Some((probe_kind, endpoint, check)) => {
                (endpoint, probe(state, probe_kind, Some(check), &query))
            }
            None => return text(StatusCode::NOT_FOUND, format!("no such endpoint: {path}\n")),
        },
    };
    let result = if response.status().is_success() {
        "pass"
    } else {
        "fail"
    };
    metrics::counter!(metric_names::PROBE_REQUESTS, "endpoint" => endpoint, "result" => result)
        .increment(1);
    response
}

/// `/livez/<check>` and `/readyz/<check>`.
fn single_check(path: &str) -> Option<(Probe, &'static str, &str)> {
    let (prefix, check) = path.rsplit_once('/')?;
    match prefix {
        "/livez" => Some((Probe::Live, "livez_check", check)),
        "/readyz" => Some((Probe::Ready, "readyz_check", check)),
        "/startupz" => Some((Probe::Startup, "startupz_check", check)),
        _ => None,
    }
}

/// The parts of a query string the endpoints understand.
#[derive(Debug, Default)]
struct Query<'a> {
    verbose: bool,
    json: bool,
    exclude: Vec<&'a str>,
}

impl<'a> Query<'a> {
    fn parse(query: &'a str, headers: &hyper::HeaderMap) -> Self {
        let mut parsed = Query::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "verbose" => parsed.verbose = true,
                "exclude" => parsed.exclude.push(value),
                "format" => parsed.json = value == "json",
                _ => {}
            }
        }
        let accepts_json = headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| {
                value.contains("application/health+json") || value.contains("application/json")
            });
        parsed.json |= accepts_json;
        parsed
    }
}

fn probe(state: &AppState, probe: Probe, only: Option<&str>, query: &Query) -> Response<Body> {
    let snapshot = state.board.snapshot();
    let mut lines: Vec<Line> = snapshot.probe_lines(probe).to_vec();
    if probe == Probe::Ready {
        mark_stale(&snapshot, &mut lines);
    }
    if let Some(only) = only {
        lines.retain(|line| line.subject.as_str() == only);
        if lines.is_empty() {
            return text(
                StatusCode::NOT_FOUND,
                format!("no check {only:?} in this probe\n"),
            );
        }
    }
    lines.retain(|line| !query.exclude.contains(&line.subject.as_str()));
    let ok = lines.iter().all(|line| line.ok);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let name = format!("{}z", probe_path(probe));
    if query.json {
        return json(status, health_json(&snapshot, &lines, ok));
    }
    if !query.verbose {
        let body = if ok {
            "ok\n".to_string()
        } else {
            format!("{name} check failed\n")
        };
        return text(status, body);
    }
    let mut body = String::new();
    for line in &lines {
        if line.ok && line.reason.is_empty() {
            let _ = writeln!(body, "[+]{} ok", line.subject);
        } else if line.ok {
            // Passing with a story (an outage that is not WordPress's fault, the breaker).
            let _ = writeln!(body, "[+]{} ok ({})", line.subject, line.reason);
        } else {
            let _ = writeln!(body, "[-]{} failed: {}", line.subject, line.reason);
        }
    }
    for note in &snapshot.notes {
        let _ = writeln!(body, "note: {note}");
    }
    let _ = writeln!(
        body,
        "{name} check {}",
        if ok { "passed" } else { "failed" }
    );
    text(status, body)
}

fn probe_path(probe: Probe) -> &'static str {
    match probe {
        Probe::Live => "live",
        Probe::Ready => "ready",
        Probe::Startup => "startup",
    }
}

/// A stuck check loop leaves an old verdict behind: readiness must not vouch for
/// WordPress on it (liveness keeps it: a broken sidecar must not restart WordPress).
fn mark_stale(snapshot: &Snapshot, lines: &mut [Line]) {
    for (check, age) in snapshot.stale_checks(Instant::now()) {
        if let Some(line) = lines
            .iter_mut()
            .find(|line| line.subject == Subject::Check(check))
        {
            line.ok = false;
            line.reason = format!(
                "verdict is stale ({:.1}s old): the sidecar's check loop is stuck",
                age.as_secs_f64()
            );
        }
    }
}

/// The sidecar's own liveness: fails when a check loop stopped producing results.
fn healthz(state: &AppState, query: &Query) -> Response<Body> {
    let snapshot = state.board.snapshot();
    let stale = snapshot.stale_checks(Instant::now());
    let lines: Vec<Line> = CheckName::ALL
        .into_iter()
        .filter(|check| snapshot.enabled[*check])
        .map(
            |check| match stale.iter().find(|(name, _)| *name == check) {
                Some((_, age)) => Line {
                    subject: Subject::Check(check),
                    ok: false,
                    reason: format!(
                        "no result for {:.1}s (bound {:?})",
                        age.as_secs_f64(),
                        snapshot.staleness_bounds[check]
                    ),
                },
                None => Line {
                    subject: Subject::Check(check),
                    ok: true,
                    reason: String::new(),
                },
            },
        )
        .filter(|line| !query.exclude.contains(&line.subject.as_str()))
        .collect();
    let ok = lines.iter().all(|line| line.ok);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if query.json {
        return json(status, health_json(&snapshot, &lines, ok));
    }
    let mut body = String::new();
    if query.verbose || !ok {
        for line in &lines {
            let mark = if line.ok { "+" } else { "-" };
            let _ = writeln!(
                body,
                "[{mark}]{} {}",
                line.subject,
                if line.ok {
                    "fresh".to_string()
                } else {
                    line.reason.clone()
                }
            );
        }
    }
    body.push_str(if ok { "ok\n" } else { "healthz check failed\n" });
    text(status, body)
}

/// draft-inadarei-api-health-check.
fn health_json(snapshot: &Snapshot, lines: &[Line], ok: bool) -> String {
    let mut checks = serde_json::Map::new();
    let mut any_warn = false;
    for line in lines {
        let mut entry = serde_json::Map::new();
        entry.insert("componentType".into(), "component".into());
        entry.insert(
            "status".into(),
            if line.ok { "pass" } else { "fail" }.into(),
        );
        if let Subject::Check(check) = line.subject {
            let state = &snapshot.states[check];
            if let Some(last) = &state.last {
                entry.insert(
                    "observedValue".into(),
                    (last.duration.as_secs_f64() * 1000.0).into(),
                );
                entry.insert("observedUnit".into(), "ms".into());
                entry.insert("time".into(), rfc3339(last.finished_at).into());
                entry.insert("reason".into(), state.effective_class.as_str().into());
                if line.ok && state.effective == crate::verdict::Status::Warn {
                    entry.insert("status".into(), "warn".into());
                    any_warn = true;
                }
            }
        }
        if !line.reason.is_empty() {
            entry.insert("output".into(), line.reason.clone().into());
        }
        let key = match line.subject {
            Subject::Check(check) if check.measures_response_time() => {
                format!("{check}:responseTime")
            }
            subject => subject.as_str().to_string(),
        };
        checks.insert(
            key,
            serde_json::Value::Array(vec![serde_json::Value::Object(entry)]),
        );
    }
    let status = if !ok {
        "fail"
    } else if any_warn {
        "warn"
    } else {
        "pass"
    };
    let mut body = serde_json::json!({
        "status": status,
        "serviceId": "wp-sentinel",
        "version": env!("CARGO_PKG_VERSION"),
        "checks": checks,
    });
    if !snapshot.notes.is_empty() {
        body["notes"] = snapshot.notes.clone().into();
    }
    body.to_string()
}

/// RFC 3339 in UTC with milliseconds (`2026-11-27T11:34:56.000Z`).
pub fn rfc3339(time: std::time::SystemTime) -> String {
    // humantime formats only the years 1970 to 9999 (it panics before, fails after):
    // a clock outside them is clamped, never a panic.
    let last = std::time::UNIX_EPOCH + std::time::Duration::from_secs(253_402_300_799);
    humantime::format_rfc3339_millis(time.clamp(std::time::UNIX_EPOCH, last)).to_string()
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    respond(status, "text/plain; charset=utf-8", body)
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    respond(status, "application/health+json", body)
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(951_782_400_250)),
            "2000-02-29T00:00:00.250Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_779_296)),
            "2026-11-27T11:34:56.000Z"
        );
        // Outside humantime's years: clamped, not a panic.
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(300_000_000_000)),
            "9999-12-31T23:59:59.000Z"
        );
    }
}
