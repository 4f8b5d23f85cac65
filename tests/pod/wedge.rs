//! A wedged WordPress: `podman pause` freezes every process of the container (Apache's
//! parent and all its prefork children), so nothing answers. The sidecar's WordPress
//! check times out, `/livez` fails, and after the liveness threshold the kubelet
//! kills it (preStop, the stop signal that a frozen Apache cannot take, the probe's
//! grace period, SIGKILL) and starts a fresh container: one restart heals.

use std::time::Duration;

use crate::stage::*;
use crate::support::Layout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_wordpress_is_restarted_once_and_serves_again() {
    let stage = Stage::start(Setup::new("wedge", scale(0.2), Layout::SharedVolume)).await;
    stage.pass(20.0).await;
    let first = stage.wordpress.id().expect("WordPress runs");

    let wedge = stage.kubelet.mark("podman pause wordpress (a wedge)");
    stage.ok(stage.wordpress.podman_on(&["pause"], &[]));
    let killed = stage
        .wait_event(wedge, Duration::from_secs(90), "the liveness kill", killing)
        .await;
    let restarted = stage
        .wait_event(
            wedge,
            Duration::from_secs(60),
            "the fresh container",
            started_of(WORDPRESS),
        )
        .await;
    let ready = stage.ok(stage
        .kubelet
        .wait_until(Duration::from_secs(60), "ready after the restart", |k| {
            k.ready()
        })
        .await);
    stage.pass(40.0).await;
    let restarts = stage.kubelet.restarts();
    stage.check(
        restarts == 1,
        &format!("expected one restart, got {restarts}"),
    );
    stage.check(
        stage.wordpress.id().is_some_and(|id| id != first),
        "no new container",
    );
    stage.check(stage.kubelet.ready(), "not ready at the end");
    let timeline = stage.finish("pod: WordPress wedged (podman pause)").await;
    println!(
        "wedge -> kill: {}\nwedge -> fresh container: {}\nthen ready after {:.2}s real; restarts: 1",
        span(&timeline, wedge, killed),
        span(&timeline, wedge, restarted),
        ready.as_secs_f64()
    );
}
