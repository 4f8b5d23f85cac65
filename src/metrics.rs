//! Metric names and the Prometheus recorder. Every metric the sidecar exports is
//! named here, so the names (which dashboards and alerts rely on) live in one place.
//!
//! The recorder is process-global (the `metrics` facade allows one), installed once;
//! `/metrics` renders it. Label values are check names, reasons and probe names: never
//! a value read from `wp-config.php` or the environment, so no secret can reach them.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const BUILD_INFO: &str = "wp_sentinel_build_info";
pub const CHECK_UP: &str = "wp_sentinel_check_up";
pub const CHECK_DURATION: &str = "wp_sentinel_check_duration_seconds";
pub const CHECK_FAILURES: &str = "wp_sentinel_check_failures_total";
pub const CHECK_LAST_RUN: &str = "wp_sentinel_check_last_run_timestamp_seconds";
pub const PROBE_REQUESTS: &str = "wp_sentinel_probe_requests_total";
pub const VERDICT: &str = "wp_sentinel_verdict";
pub const DRIFT_DETECTED: &str = "wp_sentinel_drift_detected_total";
pub const DRIFT_KEYS: &str = "wp_sentinel_drift_keys";
pub const HEAL_ACTIONS: &str = "wp_sentinel_heal_actions_total";
pub const RESTARTS_OBSERVED: &str = "wp_sentinel_wordpress_restarts_observed_total";
pub const BREAKER_TRIPPED: &str = "wp_sentinel_breaker_tripped";

/// Every metric and its Prometheus type (`wp-sentinel config --contract` prints it).
pub const ALL: &[(&str, &str)] = &[
    (BUILD_INFO, "gauge"),
    (CHECK_UP, "gauge"),
    (CHECK_DURATION, "histogram"),
    (CHECK_FAILURES, "counter"),
    (CHECK_LAST_RUN, "gauge"),
    (PROBE_REQUESTS, "counter"),
    (VERDICT, "gauge"),
    (DRIFT_DETECTED, "counter"),
    (DRIFT_KEYS, "gauge"),
    (HEAL_ACTIONS, "counter"),
    (RESTARTS_OBSERVED, "counter"),
    (BREAKER_TRIPPED, "gauge"),
];

/// Buckets for check durations: loopback HTTP and a ping take milliseconds; a
/// timeout takes seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder once per process and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(CHECK_DURATION.to_string()), DURATION_BUCKETS)
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Another recorder may be installed already (a test binary embedding us);
            // then our handle renders only what we were given, which is still correct.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label says which build runs."
    );
    describe_gauge!(
        CHECK_UP,
        "1 when the check's effective status passes (pass or warn), 0 when it fails."
    );
    describe_histogram!(
        CHECK_DURATION,
        Unit::Seconds,
        "How long each check run took."
    );
    describe_counter!(CHECK_FAILURES, "Failed check runs by check and reason.");
    describe_gauge!(
        CHECK_LAST_RUN,
        Unit::Seconds,
        "Unix time the check last finished a run."
    );
    describe_counter!(
        PROBE_REQUESTS,
        "Probe requests by endpoint and result (pass or fail)."
    );
    describe_gauge!(
        VERDICT,
        "1 when the probe (live, ready, startup) passes, 0 when it fails."
    );
    describe_counter!(DRIFT_DETECTED, "Drift of wp-config.php detected, by key.");
    describe_gauge!(
        DRIFT_KEYS,
        "How many pinned keys of wp-config.php drift now."
    );
    describe_counter!(HEAL_ACTIONS, "Healing actions by policy and outcome.");
    describe_counter!(
        RESTARTS_OBSERVED,
        "WordPress restarts the sidecar observed (down, then up again)."
    );
    describe_gauge!(
        BREAKER_TRIPPED,
        "1 while the restart-loop breaker holds liveness because restarts did not heal."
    );
}

/// Keeps the recorder's histograms bounded; the exporter's own listener would do this.
pub async fn upkeep_loop(
    handle: PrometheusHandle,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(10)) => handle.run_upkeep(),
            _ = shutdown.changed() => return,
        }
    }
}
