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
    let healed = stage
        .wait_restart_heals(wedge, Duration::from_secs(90))
        .await;
    stage.pass(40.0).await;
    stage.check_one_restart(wedge);
    stage.check(
        stage.wordpress.id().is_some_and(|id| id != first),
        "no new container",
    );
    let timeline = stage.finish("pod: WordPress wedged (podman pause)").await;
    println!(
        "wedge -> kill: {}\nwedge -> fresh container: {}\nwedge -> ready: {}; restarts: 1",
        span(&timeline, wedge, healed.kill),
        span(&timeline, wedge, healed.restarted),
        span(&timeline, wedge, healed.healthy),
    );
}
