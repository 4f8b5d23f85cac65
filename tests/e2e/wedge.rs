//! Scenario 4: WordPress wedged while the database is fine: the PHP server's whole
//! process group stopped with SIGSTOP (connections are accepted by the kernel and
//! never answered). The sidecar's WordPress check times out, `/livez` fails, the
//! kubelet kills the container (SIGCONT, then the PHP server is stopped) and starts a
//! new one, which heals it: exactly one restart.

use std::time::Duration;

use crate::kubelet::{ProbeKind, ProbeResult};
use crate::scenario::*;
use crate::support::Layout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wedged_wordpress_fails_liveness_and_a_restart_heals_it() {
    let stage = Stage::start("wedge", scale(0.1), false, Layout::ContainerLayer, |_| {
        Vec::new()
    })
    .await;
    stage.pass(20.0).await;

    let wedge = stage.kubelet.mark("kill -STOP: the PHP server is wedged");
    stage.ok(stage.env.signal_php("STOP"));
    let first_failure = stage
        .wait_event(
            wedge,
            Duration::from_secs(20),
            "a failed liveness probe",
            probe_failed(ProbeKind::Liveness),
        )
        .await;
    let kill = stage
        .wait_event(wedge, Duration::from_secs(20), "the kill", killing)
        .await;
    let healthy = stage
        .wait_event(
            kill,
            Duration::from_secs(20),
            "the restarted pod ready",
            result_changed(ProbeKind::Readiness, ProbeResult::Success),
        )
        .await;
    stage.ok(stage.wait_wordpress(200, Duration::from_secs(5)).await);
    stage.pass(50.0).await;

    let timeline = stage.timeline().clone();
    let kills = timeline.count_after(wedge, killing);
    let restarts = stage.kubelet.restarts();
    stage.check(
        kills == 1 && restarts == 1,
        &format!("expected exactly one restart, got {kills} kills and {restarts} restarts"),
    );
    stage.check(stage.kubelet.ready(), "the pod is not ready at the end");
    stage.check(
        timeline.count_after(Duration::ZERO, discarded) == 0,
        "a probe to the sidecar errored: the sidecar must answer while WordPress is wedged",
    );
    let not_ready = timeline.not_ready_between(wedge, timeline.now());
    let timeline = stage.finish("scenario 4: wedged PHP server").await;
    println!(
        "SIGSTOP -> first failed liveness probe: {}\nSIGSTOP -> kill: {}\nSIGSTOP -> ready again: {}\n\
         WordPress restarts {restarts}, not ready {:.1} s emulated",
        span(&timeline, wedge, first_failure),
        span(&timeline, wedge, kill),
        span(&timeline, wedge, healthy),
        timeline.emulated(not_ready),
    );
}
