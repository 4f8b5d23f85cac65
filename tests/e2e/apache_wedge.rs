//! Scenario 7: Apache wedged the way it wedges in production: every prefork worker
//! (MaxRequestWorkers is 4 in the test environment) stuck in a slow PHP request (the
//! test-only `wpenv-slow.php`), while the kernel still accepts TCP connections. The
//! sidecar runs at its defaults' shape, scaled (light check every 5 s, deep check
//! every 55 s), so it is the light check that sees the wedge: `/livez` fails, the
//! kubelet restarts the container, and one restart heals it.

use std::time::Duration;

use testkit::fixtures::millis;

use crate::kubelet::ProbeKind;
use crate::scenario::*;
use crate::support::{server_mode, Layout};

/// More slow requests than workers: the extra ones wait in the listen backlog.
const SLOW_REQUESTS: usize = 6;

/// The sidecar's defaults, scaled like the emulator's probes.
fn defaults_scaled(scale: f64) -> Vec<(String, String)> {
    vec![
        (
            "WP_SENTINEL_WORDPRESS__INTERVAL".into(),
            millis(55.0, scale),
        ),
        ("WP_SENTINEL_WORDPRESS__JITTER".into(), millis(5.0, scale)),
        (
            "WP_SENTINEL_WORDPRESS_LIGHT__INTERVAL".into(),
            millis(5.0, scale),
        ),
        (
            "WP_SENTINEL_WORDPRESS_LIGHT__JITTER".into(),
            millis(0.5, scale),
        ),
    ]
}

/// Requests the slow page and holds the connection until Apache answers or closes it
/// (at most `limit`): one prefork worker taken.
async fn hold_a_worker(addr: std::net::SocketAddr, path: String, limit: Duration) {
    let _ = testkit::http::get_within(addr, &path, &[], limit).await;
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
    let healed = stage
        .wait_restart_heals(first_failure, Duration::from_secs(30))
        .await;
    stage.ok(stage.wait_wordpress(200, Duration::from_secs(5)).await);
    for holder in holders {
        // The restart closed every held connection.
        let _ = tokio::time::timeout(Duration::from_secs(10), holder).await;
    }
    stage.pass(50.0).await;

    stage.check_one_restart(wedge);
    let log = std::fs::read_to_string(&stage.sidecar.log).unwrap_or_default();
    stage.check(
        log.contains("check wordpress_light now fail"),
        "the light check should have seen the wedge",
    );
    stage.check_no_discarded("the sidecar must answer while Apache is wedged");
    let timeline = stage.finish("scenario 7: every Apache worker stuck").await;
    println!(
        "workers stuck -> first failed liveness probe: {}\nworkers stuck -> kill: {}\n\
         workers stuck -> ready again: {}",
        span(&timeline, wedge, first_failure),
        span(&timeline, wedge, healed.kill),
        span(&timeline, wedge, healed.healthy),
    );
}
