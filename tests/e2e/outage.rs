//! Scenario 2: a database outage of a minute (emulated), the scenario's own MariaDB
//! stopped with `wpenv.sh db-stop`. Readiness fails and recovers; `/livez` never
//! fails, not even between two probes (it is also read every 25 ms), so there is no
//! restart at all: a restart cannot bring a database back, and in a real cluster
//! every replica would restart at once.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::kubelet::{ProbeKind, Timeline};
use crate::scenario::*;
use crate::support::{http_get, Layout};

/// Reads `/livez?verbose` every 25 ms while `watching`; how many reads, and the
/// failures (when, and the body's first failing line).
async fn watch_livez(
    sidecar: SocketAddr,
    timeline: Arc<Timeline>,
    watching: Arc<AtomicBool>,
) -> (usize, Vec<(Duration, String)>) {
    let mut reads = 0;
    let mut failures = Vec::new();
    while watching.load(Ordering::SeqCst) {
        if let Ok((status, body)) = http_get(sidecar, "/livez?verbose").await {
            reads += 1;
            if status != 200 {
                let line = body.lines().find(|l| l.starts_with("[-]")).unwrap_or("");
                failures.push((timeline.now(), format!("{status} {line}")));
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    (reads, failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_readiness_and_restarts_nothing() {
    let stage = Stage::start("outage", scale(0.1), true, Layout::ContainerLayer, |_| {
        Vec::new()
    })
    .await;
    stage.pass(20.0).await;

    // Besides the kubelet's probes (one per 10 emulated seconds), /livez is read every
    // 25 ms from before the outage until after the recovery: a failure that lasts
    // less than a probe period still breaks the contract.
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = tokio::spawn(watch_livez(
        stage.sidecar.addr,
        stage.timeline().clone(),
        watching.clone(),
    ));
    let down = stage
        .kubelet
        .mark("wpenv.sh db-stop: the database goes away");
    stage.ok(stage.env.db_stop());
    let stopped = stage.kubelet.mark("database stopped");
    let wordpress_error = stage.ok(stage.wait_wordpress(500, Duration::from_secs(10)).await);
    let not_ready = stage.wait_unready(down, Duration::from_secs(10)).await;
    // Hold the outage for a minute of emulated time.
    let outage = stage.emulated(60.0);
    let elapsed = stage.timeline().now().saturating_sub(down);
    tokio::time::sleep(outage.saturating_sub(elapsed)).await;

    let up = stage
        .kubelet
        .mark("wpenv.sh db-start: the database is back");
    stage.ok(stage.env.db_start());
    let ready = stage.wait_ready_again(up, Duration::from_secs(15)).await;
    stage.ok(stage.wait_wordpress(200, Duration::from_secs(5)).await);
    stage.pass(30.0).await;
    watching.store(false, Ordering::SeqCst);
    let (reads, livez_failures) = watcher.await.expect("the /livez watcher");

    let timeline = stage.timeline().clone();
    stage.check(
        livez_failures.is_empty(),
        &format!(
            "/livez failed {} of {reads} reads around a database outage; first: {:?}",
            livez_failures.len(),
            livez_failures.first()
        ),
    );
    // From the start: /startupz does not pass while a WordPress line of /livez fails,
    // so not even the first liveness probe may fail on a healthy pod.
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
    let out_of_service = timeline.not_ready_between(down, timeline.now());
    let timeline = stage.finish("scenario 2: database outage").await;
    println!(
        "db-stop -> stopped: {}\ndb-stop -> WordPress 500 seen: {}\ndb-stop -> pod not ready: {}\n\
         db-start -> ready again: {}\nliveness probes during the run: {} (failed: 0), restarts: 0, \
         not ready {:.1} s emulated",
        span(&timeline, down, stopped),
        span(&timeline, down, wordpress_error),
        span(&timeline, down, not_ready),
        span(&timeline, up, ready),
        probes.probes[ProbeKind::Liveness.index()],
        timeline.emulated(out_of_service),
    );
}
