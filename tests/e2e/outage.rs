//! Scenario 2: a database outage of a minute (emulated), the scenario's own MariaDB
//! stopped with `wpenv.sh db-stop`. Readiness fails and recovers; liveness never
//! fails a single probe, so there is no restart at all: a restart cannot bring a
//! database back, and in a real cluster every replica would restart at once.

use std::time::Duration;

use crate::kubelet::{ProbeKind, ProbeResult};
use crate::scenario::*;
use crate::support::Layout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_readiness_and_restarts_nothing() {
    let stage = Stage::start("outage", scale(0.1), true, Layout::ContainerLayer, |_| {
        Vec::new()
    })
    .await;
    stage.pass(20.0).await;

    let down = stage
        .kubelet
        .mark("wpenv.sh db-stop: the database goes away");
    stage.ok(stage.env.db_stop());
    let stopped = stage.kubelet.mark("database stopped");
    let wordpress_error = stage.ok(stage.wait_wordpress(500, Duration::from_secs(10)).await);
    let not_ready = stage
        .wait_event(
            down,
            Duration::from_secs(10),
            "readiness failing in the outage",
            result_changed(ProbeKind::Readiness, ProbeResult::Failure),
        )
        .await;
    // Hold the outage for a minute of emulated time.
    let outage = stage.emulated(60.0);
    let elapsed = stage.timeline().now().saturating_sub(down);
    tokio::time::sleep(outage.saturating_sub(elapsed)).await;

    let up = stage
        .kubelet
        .mark("wpenv.sh db-start: the database is back");
    stage.ok(stage.env.db_start());
    let ready = stage
        .wait_event(
            up,
            Duration::from_secs(15),
            "ready again after the outage",
            result_changed(ProbeKind::Readiness, ProbeResult::Success),
        )
        .await;
    stage.ok(stage.wait_wordpress(200, Duration::from_secs(5)).await);
    stage.pass(30.0).await;

    let timeline = stage.timeline().clone();
    let liveness_failures = timeline.count_after(Duration::ZERO, probe_failed(ProbeKind::Liveness));
    stage.check(
        liveness_failures == 0,
        &format!("{liveness_failures} liveness probes failed during a database outage"),
    );
    stage.check(
        timeline.count_after(Duration::ZERO, killing) == 0 && stage.kubelet.restarts() == 0,
        "WordPress was restarted because of a database outage",
    );
    stage.check(stage.kubelet.ready(), "the pod is not ready at the end");
    stage.check(
        timeline.count_after(Duration::ZERO, discarded) == 0,
        "a probe to the sidecar errored: the sidecar must always answer",
    );
    let probes = timeline.counters();
    let timeline = stage.finish("scenario 2: database outage").await;
    println!(
        "db-stop -> stopped: {}\ndb-stop -> WordPress 500 seen: {}\ndb-stop -> pod not ready: {}\n\
         db-start -> ready again: {}\nliveness probes during the run: {} (failed: 0), restarts: 0",
        span(&timeline, down, stopped),
        span(&timeline, down, wordpress_error),
        span(&timeline, down, not_ready),
        span(&timeline, up, ready),
        probes.probes[ProbeKind::Liveness.index()],
    );
}
