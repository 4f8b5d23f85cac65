//! The visitors: requests at a fixed rate through the Service for the whole
//! scenario, each on a connection of its own (`Connection: close`, so every request
//! is one pick of an endpoint, as a new client through kube-proxy would be), sent on
//! schedule whether or not the previous ones have answered. Nine in ten are `GET /`,
//! the tenth a logged-out view of the first post or the sample page.
//!
//! A failure is anything but a 2xx or 3xx answer: a refused or reset connection, a
//! connection closed before a whole status line, a non-2xx/3xx status, or no answer
//! within 5 s. Each is written onto the scenario's timeline when it is known, with
//! the time it was sent, so the timeline shows where it fell among the pods' events.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::kubelet::Timeline;

/// How long a request may take before it counts as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One request's fate.
#[derive(Clone, Debug)]
pub struct Record {
    /// When it was sent, on the scenario's timeline.
    pub sent: Duration,
    pub path: &'static str,
    /// The status and the `X-Release` header, or what went wrong.
    pub result: Result<(u16, Option<String>), String>,
}

impl Record {
    pub fn failed(&self) -> bool {
        !matches!(self.result, Ok((status, _)) if (200..400).contains(&status))
    }
}

pub struct Load {
    pub rate: f64,
    records: Arc<Mutex<Vec<Record>>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

const PATHS: [&str; 10] = [
    "/",
    "/",
    "/",
    "/",
    "/?p=1",
    "/",
    "/",
    "/",
    "/",
    "/?page_id=2",
];

impl Load {
    /// Starts sending `rate` requests per second to `service`, with `host` as the
    /// Host header (WordPress's siteurl, which the Service answers for).
    pub fn start(service: SocketAddr, host: String, rate: f64, timeline: Arc<Timeline>) -> Load {
        let records = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = watch::channel(false);
        let task = {
            let records = records.clone();
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
                // A late tick is sent at once: the rate holds on average.
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut inflight = tokio::task::JoinSet::new();
                let host: Arc<str> = Arc::from(host);
                for n in 0u64.. {
                    tokio::select! {
                        _ = ticker.tick() => {}
                        _ = stopped.changed() => break,
                    }
                    let path = PATHS[(n % PATHS.len() as u64) as usize];
                    let (records, timeline, host) =
                        (records.clone(), timeline.clone(), host.clone());
                    inflight.spawn(async move {
                        let sent = timeline.now();
                        let result =
                            tokio::time::timeout(REQUEST_TIMEOUT, get(service, &host, path))
                                .await
                                .unwrap_or_else(|_| {
                                    Err(format!("no answer in {REQUEST_TIMEOUT:?}"))
                                });
                        let record = Record { sent, path, result };
                        if record.failed() {
                            timeline.mark(format!(
                                "LOAD FAILURE GET {path} sent at {:.2}s: {}",
                                sent.as_secs_f64(),
                                match &record.result {
                                    Ok((status, _)) => format!("status {status}"),
                                    Err(e) => e.clone(),
                                }
                            ));
                        }
                        records
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(record);
                    });
                    while inflight.try_join_next().is_some() {}
                }
                // The last requests get their full time to answer.
                let _ = tokio::time::timeout(REQUEST_TIMEOUT * 2, async {
                    while inflight.join_next().await.is_some() {}
                })
                .await;
            })
        };
        Load {
            rate,
            records,
            stop,
            task,
        }
    }

    /// Every request that has answered (or failed) so far.
    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops sending, waits for the last answers; every record.
    pub async fn stop(self) -> Vec<Record> {
        let _ = self.stop.send(true);
        let records = self.records.clone();
        let _ = tokio::time::timeout(REQUEST_TIMEOUT * 3, self.task).await;
        let mut all = records.lock().unwrap_or_else(|p| p.into_inner()).clone();
        all.sort_by_key(|r| r.sent);
        all
    }
}

/// What the visitors saw in `[from, to)` (times they were sent).
#[derive(Debug, Default)]
pub struct Tally {
    pub sent: usize,
    pub failed: usize,
    /// Successful answers by their `X-Release` header (`-` when there was none).
    pub releases: BTreeMap<String, usize>,
    /// The first few failures, for the report.
    pub examples: Vec<String>,
}

pub fn tally(records: &[Record], from: Duration, to: Duration) -> Tally {
    let mut tally = Tally::default();
    for record in records.iter().filter(|r| r.sent >= from && r.sent < to) {
        tally.sent += 1;
        if record.failed() {
            tally.failed += 1;
            if tally.examples.len() < 5 {
                tally.examples.push(format!(
                    "{:.2}s GET {} {:?}",
                    record.sent.as_secs_f64(),
                    record.path,
                    record.result
                ));
            }
        } else if let Ok((_, release)) = &record.result {
            let release = release.clone().unwrap_or_else(|| "-".into());
            *tally.releases.entry(release).or_default() += 1;
        }
    }
    tally
}

/// One GET on a new connection: the status and `X-Release`.
async fn get(service: SocketAddr, host: &str, path: &str) -> Result<(u16, Option<String>), String> {
    let mut stream = tokio::net::TcpStream::connect(service)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: wp-sentinel-load\r\n\
         Accept: text/html\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::with_capacity(64 * 1024);
    stream
        .read_to_end(&mut raw)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let status = head
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            if raw.is_empty() {
                "connection closed without an answer".to_string()
            } else {
                format!("no HTTP status in {:?}", &head[..head.len().min(60)])
            }
        })?;
    let release = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("x-release")
            .then(|| value.trim().to_string())
    });
    Ok((status, release))
}
