//! A database outage under the pod: the scenario's own mariadbd (`WPENV_DB_MODE=own`,
//! its socket directory mounted read-only into both containers) is stopped; the
//! machine's MariaDB is never touched. Readiness fails, liveness does not: no
//! restart; when the database is back, the pod is ready again.

use std::time::Duration;

use crate::stage::*;
use crate::support::Layout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_makes_the_pod_unready_and_restarts_nothing() {
    let mut setup = Setup::new("outage", scale(0.2), Layout::SharedVolume);
    setup.own_database = true;
    let stage = Stage::start(setup).await;
    stage.pass(20.0).await;

    let down = stage.kubelet.mark("the scenario's own mariadbd stopped");
    stage.ok(stage.env.db_stop());
    let unready = stage.wait_unready(down, Duration::from_secs(30)).await;
    stage.check(!stage.kubelet.ready(), "the pod stayed in the Service");
    // Longer than three liveness periods and the kill that would follow.
    stage.pass(60.0).await;
    stage.check_no_restart(down, "a database outage");

    let up = stage.kubelet.mark("mariadbd started again");
    stage.ok(stage.env.db_start());
    let ready = stage
        .wait_ready(Duration::from_secs(30), "ready after the outage")
        .await;
    let timeline = stage.finish("pod: database outage").await;
    println!(
        "outage -> readiness failed: {}\nback -> ready: {:.2}s real\nrestarts: 0",
        span(&timeline, down, unready),
        ready.as_secs_f64()
    );
    let _ = up;
}
