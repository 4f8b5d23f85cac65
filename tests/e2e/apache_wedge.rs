//! Scenario 7: Apache wedged the way it wedges in production: every prefork worker
//! (MaxRequestWorkers is 4 in the test environment) stuck in a slow PHP request (the
//! test-only `wpenv-slow.php`), while the kernel still accepts TCP connections. The
//! sidecar runs at its defaults' shape, scaled (light check every 5 s, deep check
//! every 55 s), so it is the light check that sees the wedge: `/livez` fails, the
//! kubelet restarts the container, and one restart heals it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::kubelet::{ProbeKind, ProbeResult};
use crate::scenario::*;
use crate::support::{server_mode, Layout};

/// More slow requests than workers: the extra ones wait in the listen backlog.
const SLOW_REQUESTS: usize = 6;

/// The sidecar's defaults, scaled like the emulator's probes.
fn defaults_scaled(scale: f64) -> Vec<(String, String)> {
    let millis = |seconds: f64| format!("{}ms", ((seconds * scale * 1000.0).round() as u64).max(1));
    vec![
        ("WP_SENTINEL_WORDPRESS__INTERVAL".into(), millis(55.0)),
        ("WP_SENTINEL_WORDPRESS__JITTER".into(), millis(5.0)),
        ("WP_SENTINEL_WORDPRESS_LIGHT__INTERVAL".into(), millis(5.0)),
        ("WP_SENTINEL_WORDPRESS_LIGHT__JITTER".into(), millis(0.5)),
    ]
}

/// Opens a connection, sends a request for the slow page, and holds the connection
/// until Apache answers or closes it (at most `limit`).
async fn hold_a_worker(addr: std::net::SocketAddr, path: String, limit: Duration) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut sink = Vec::new();
        stream.read_to_end(&mut sink).await.ok()
    };
    let _ = tokio::time::timeout(limit, exchange).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_apache_workers_stuck_fail_liveness_and_one_restart_heals() {
    if server_mode() != "apache" {
        // This scenario is about Apache's workers; php -S has none to fill.
        panic!(
            "scenario apache_wedge needs the Apache mode (WP_SENTINEL_E2E_SERVER unset or apache)"
        );
    }
    let scale = scale(0.1);
    let stage = Stage::start("apache_wedge", scale, false, Layout::ContainerLayer, |_| {
        defaults_scaled(scale)
    })
    .await;
    stage.pass(20.0).await;

    let slow_page = format!("{}?s=120", stage.env.var("WPENV_SLOW_PAGE"));
    let wedge = stage
        .kubelet
        .mark("every Apache worker busy in a slow PHP request");
    let holders: Vec<_> = (0..SLOW_REQUESTS)
        .map(|_| {
            tokio::spawn(hold_a_worker(
                stage.env.php_addr(),
                slow_page.clone(),
                Duration::from_secs(150),
            ))
        })
        .collect();
    let first_failure = stage
        .wait_event(
            wedge,
            Duration::from_secs(30),
            "a failed liveness probe",
            probe_failed(ProbeKind::Liveness),
        )
        .await;
    // The wedge as the kubelet's own httpGet would meet it: connected, never answered.
    let connects = tokio::net::TcpStream::connect(stage.env.php_addr()).await;
    stage.check(
        connects.is_ok(),
        "TCP connects to the wedged Apache should still succeed",
    );
    let kill = stage
        .wait_event(wedge, Duration::from_secs(30), "the kill", killing)
        .await;
    let healthy = stage
        .wait_event(
            kill,
            Duration::from_secs(30),
            "the restarted pod ready",
            result_changed(ProbeKind::Readiness, ProbeResult::Success),
        )
        .await;
    stage.ok(stage.wait_wordpress(200, Duration::from_secs(5)).await);
    for holder in holders {
        // The restart closed every held connection.
        let _ = tokio::time::timeout(Duration::from_secs(10), holder).await;
    }
    stage.pass(50.0).await;

    let timeline = stage.timeline().clone();
    let kills = timeline.count_after(wedge, killing);
    let restarts = stage.kubelet.restarts();
    stage.check(
        kills == 1 && restarts == 1,
        &format!("expected exactly one restart, got {kills} kills and {restarts} restarts"),
    );
    stage.check(stage.kubelet.ready(), "the pod is not ready at the end");
    let log = std::fs::read_to_string(&stage.sidecar.log).unwrap_or_default();
    stage.check(
        log.contains("check wordpress_light now fail"),
        "the light check should have seen the wedge",
    );
    stage.check(
        timeline.count_after(Duration::ZERO, discarded) == 0,
        "a probe to the sidecar errored: the sidecar must answer while Apache is wedged",
    );
    let timeline = stage.finish("scenario 7: every Apache worker stuck").await;
    println!(
        "workers stuck -> first failed liveness probe: {}\nworkers stuck -> kill: {}\n\
         workers stuck -> ready again: {}",
        span(&timeline, wedge, first_failure),
        span(&timeline, wedge, kill),
        span(&timeline, wedge, healthy),
    );
}
