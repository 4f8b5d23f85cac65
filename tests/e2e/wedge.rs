//! Scenario 4: WordPress wedged while the database is fine: the PHP server's whole
//! process group stopped with SIGSTOP (connections are accepted by the kernel and
//! never answered). The sidecar's WordPress check times out, `/livez` fails, the
//! kubelet kills the container (SIGCONT, then the PHP server is stopped) and starts a
//! new one, which heals it: exactly one restart.

use std::time::Duration;

use crate::scenario::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wedged_wordpress_fails_liveness_and_a_restart_heals_it() {
    let stage = Stage::plain("wedge", scale(0.1)).await;
    stage.pass(20.0).await;

    let wedge = stage.kubelet.mark("kill -STOP: the PHP server is wedged");
    stage.ok(stage.env.signal_php("STOP"));
    let healed = stage
        .wait_restart_heals(wedge, Duration::from_secs(20))
        .await;
    stage.ok(stage.wait_wordpress(200, Duration::from_secs(5)).await);
    stage.pass(50.0).await;

    let timeline = stage.timeline().clone();
    let (_, restarts) = stage.check_one_restart(wedge);
    stage.check_no_discarded("the sidecar must answer while WordPress is wedged");
    let not_ready = timeline.not_ready_between(wedge, timeline.now());
    let timeline = stage.finish("scenario 4: wedged PHP server").await;
    println!(
        "SIGSTOP -> first failed liveness probe: {}\nSIGSTOP -> kill: {}\nSIGSTOP -> ready again: {}\n\
         WordPress restarts {restarts}, not ready {:.1} s emulated",
        span(&timeline, wedge, healed.first_failure),
        span(&timeline, wedge, healed.kill),
        span(&timeline, wedge, healed.healthy),
        timeline.emulated(not_ready),
    );
}
