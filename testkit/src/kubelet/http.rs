//! One kubelet HTTP probe, as `pkg/probe/http` and `prober.go` run it (see
//! `docs/kubelet.md`): a new TCP connection per request, `User-Agent:
//! kube-probe/1.33`, `Accept: */*`, `Connection: close`, no `Accept-Encoding`, `Host`
//! the target's `ip:port`; configured headers added (an empty value removes a default);
//! at most 10,240 bytes of body read (more is truncated, not an error); 200–299
//! success, 300–399 not followed a warning (success); redirects followed only to the
//! same hostname, at most 10 hops (the 10th fails); the timeout covers connect,
//! redirects and the body. A transport error before the answer (refused, reset,
//! closed, a timeout before the status line, too many redirects) is a plain
//! **failure**, not retried (`DoHTTPProbe`: "Convert errors into failures to catch
//! timeouts"); only an error while reading the body is an *error*, retried back to
//! back up to 3 attempts and, if every attempt errs, discarded.
//!
//! Not emulated: TLS (`scheme: HTTPS`), and `SO_LINGER` 1 s (tokio deprecates it: it
//! blocks the thread on drop; it only shortens TIME-WAIT).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// At most this much body is read (`maxRespBodyLength`).
pub const BODY_LIMIT: usize = 10 * 1024;
/// `maxProbeRetries` in `prober.go`.
pub const ATTEMPTS: u32 = 3;
/// Go's redirect checker stops when this many requests were made.
const MAX_VIA: u32 = 10;

/// Where one request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// Path and query.
    pub path: String,
}

impl Url {
    fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Everything about a probe request except where it goes.
#[derive(Clone, Debug)]
pub struct Rules {
    pub timeout: Duration,
    pub user_agent: String,
    /// `httpGet.httpHeaders`, in order.
    pub headers: Vec<(String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Success,
    Warning,
    Failure,
    /// Errored on every attempt: discarded by the worker.
    Error,
}

/// One probe run, all attempts included.
#[derive(Clone, Debug)]
pub struct ProbeRun {
    pub verdict: Verdict,
    pub status: Option<u16>,
    pub detail: String,
    pub attempts: u32,
    /// HTTP requests sent (each attempt and each redirect hop).
    pub requests: u32,
}

/// Where an attempt was when it went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Connect,
    Request,
    Body,
}

enum Attempt {
    Answer {
        status: u16,
        body: Vec<u8>,
    },
    /// A redirect to another host: the last answer is used as it is.
    OtherHost {
        status: u16,
    },
    TooManyRedirects,
    Transport {
        stage: Stage,
        message: String,
    },
}

/// Runs one probe: up to `ATTEMPTS` attempts while they end in an error.
pub async fn run(url: &Url, rules: &Rules) -> ProbeRun {
    let mut requests = 0;
    let mut last_error = String::new();
    for attempt in 1..=ATTEMPTS {
        let mut stage = Stage::Connect;
        let outcome = tokio::time::timeout(
            rules.timeout,
            follow(url.clone(), rules, &mut stage, &mut requests),
        )
        .await
        .unwrap_or_else(|_| Attempt::Transport {
            stage,
            message: format!("timeout after {:?}", rules.timeout),
        });
        let (verdict, status, detail) = judge(outcome);
        if verdict != Verdict::Error {
            return ProbeRun {
                verdict,
                status,
                detail,
                attempts: attempt,
                requests,
            };
        }
        last_error = detail;
    }
    ProbeRun {
        verdict: Verdict::Error,
        status: None,
        detail: format!("errored {ATTEMPTS} times, discarded: {last_error}"),
        attempts: ATTEMPTS,
        requests,
    }
}

fn judge(attempt: Attempt) -> (Verdict, Option<u16>, String) {
    match attempt {
        Attempt::Answer { status, body } => {
            let first_line = String::from_utf8_lossy(&body)
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .unwrap_or("")
                .chars()
                .take(100)
                .collect::<String>();
            match status {
                200..=299 => (Verdict::Success, Some(status), first_line),
                300..=399 => (
                    Verdict::Warning,
                    Some(status),
                    "redirect not followed".into(),
                ),
                _ => (
                    Verdict::Failure,
                    Some(status),
                    format!("HTTP probe failed with statuscode: {status} ({first_line})"),
                ),
            }
        }
        Attempt::OtherHost { status } => (
            Verdict::Warning,
            Some(status),
            "redirect to another host not followed".into(),
        ),
        Attempt::TooManyRedirects => (Verdict::Failure, None, "stopped after 10 redirects".into()),
        Attempt::Transport { stage, message } => {
            let verdict = if stage == Stage::Body {
                Verdict::Error
            } else {
                Verdict::Failure
            };
            (verdict, None, message)
        }
    }
}

/// Requests `url`, following same-host redirects.
async fn follow(mut url: Url, rules: &Rules, stage: &mut Stage, requests: &mut u32) -> Attempt {
    let first_host = url.host.clone();
    let mut via = 0;
    loop {
        *stage = Stage::Connect;
        let (status, location, body) = match request(&url, rules, stage, requests).await {
            Ok(answer) => answer,
            Err(message) => {
                return Attempt::Transport {
                    stage: *stage,
                    message,
                }
            }
        };
        let followed = matches!(status, 301 | 302 | 303 | 307 | 308);
        let Some(location) = location.filter(|_| followed) else {
            return Attempt::Answer { status, body };
        };
        let next = match resolve(&url, &location) {
            Ok(next) => next,
            Err(message) => {
                return Attempt::Transport {
                    stage: Stage::Request,
                    message,
                }
            }
        };
        if next.host != first_host {
            return Attempt::OtherHost { status };
        }
        via += 1;
        if via >= MAX_VIA {
            return Attempt::TooManyRedirects;
        }
        url = next;
    }
}

/// One request on a new connection: status, `Location`, at most `BODY_LIMIT` bytes.
async fn request(
    url: &Url,
    rules: &Rules,
    stage: &mut Stage,
    requests: &mut u32,
) -> Result<(u16, Option<String>, Vec<u8>), String> {
    let stream = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| format!("dial tcp {}: {e}", url.authority()))?;
    *stage = Stage::Request;
    *requests += 1;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), url.authority()),
        ("User-Agent".into(), rules.user_agent.clone()),
        ("Accept".into(), "*/*".into()),
        ("Connection".into(), "close".into()),
    ];
    for (name, value) in &rules.headers {
        headers.retain(|(known, _)| !known.eq_ignore_ascii_case(name));
        if !value.is_empty() {
            headers.push((name.clone(), value.clone()));
        }
    }
    let mut builder = Request::get(url.path.as_str());
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("bad request: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{}: {e}", url.authority()))?;
    *stage = Stage::Body;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(hyper::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while bytes.len() < BODY_LIMIT {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => return Err(format!("reading the body: {e}")),
        }
    }
    bytes.truncate(BODY_LIMIT);
    driver.abort();
    Ok((status, location, bytes))
}

/// `Location` against the URL that answered it.
fn resolve(base: &Url, location: &str) -> Result<Url, String> {
    let absolute = |rest: &str| -> Result<Url, String> {
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host.to_string(),
                port.parse()
                    .map_err(|_| format!("bad Location {location:?}"))?,
            ),
            None => (authority.to_string(), 80),
        };
        Ok(Url {
            host: host.trim_matches(|c| c == '[' || c == ']').to_string(),
            port,
            path: path.to_string(),
        })
    };
    if let Some(rest) = location.strip_prefix("http://") {
        absolute(rest)
    } else if location.starts_with("https://") {
        Err(format!("redirect to {location}: HTTPS is not emulated"))
    } else if let Some(rest) = location.strip_prefix("//") {
        absolute(rest)
    } else if location.starts_with('/') {
        Ok(Url {
            path: location.to_string(),
            ..base.clone()
        })
    } else {
        let path = base.path.split('?').next().unwrap_or("/");
        let directory = &path[..=path.rfind('/').unwrap_or(0)];
        Ok(Url {
            path: format!("{directory}{location}"),
            ..base.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_like_a_browser() {
        let base = Url {
            host: "127.0.0.1".into(),
            port: 8080,
            path: "/a/b?x=1".into(),
        };
        let check = |location: &str, host: &str, port: u16, path: &str| {
            let url = resolve(&base, location).expect(location);
            assert_eq!(
                (url.host.as_str(), url.port, url.path.as_str()),
                (host, port, path)
            );
        };
        check("http://127.0.0.1:9/x", "127.0.0.1", 9, "/x");
        check("http://example.com", "example.com", 80, "/");
        check(
            "/wp-admin/install.php",
            "127.0.0.1",
            8080,
            "/wp-admin/install.php",
        );
        check("c", "127.0.0.1", 8080, "/a/c");
        assert!(resolve(&base, "https://127.0.0.1/").is_err());
    }
}
