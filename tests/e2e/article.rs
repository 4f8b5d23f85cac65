//! Scenario 1, the article's: `DB_HOST` edited to `hoge` in wp-config.php (with
//! `sed -i`), the docroot in the container's own layer (a restart writes a fresh
//! wp-config.php). `/livez` fails, the kubelet restarts WordPress exactly once, and
//! WordPress serves 200 again; the time from the edit to a ready pod is reported.

use std::time::Duration;

use crate::kubelet::{ProbeKind, ProbeResult};
use crate::scenario::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_host_hoge_fails_livez_and_one_restart_heals_it() {
    let stage = Stage::plain("article", scale(0.1)).await;
    let timeline = stage.timeline().clone();
    stage.pass(20.0).await;
    stage.check(
        timeline.count_after(Duration::ZERO, probe_failed(ProbeKind::Liveness)) == 0,
        "liveness failed on a healthy WordPress",
    );

    let edit = stage
        .kubelet
        .mark("sed -i: DB_HOST -> 'hoge' in wp-config.php");
    stage.env.sed(SED_DB_HOST_HOGE);
    let broken = stage.ok(stage.wait_wordpress(500, Duration::from_secs(8)).await);
    stage
        .kubelet
        .mark("WordPress answers 500 (Error establishing a database connection)");
    let healed = stage
        .wait_restart_heals(edit, Duration::from_secs(15))
        .await;
    let serving = stage.ok(stage.wait_wordpress(200, Duration::from_secs(5)).await);
    stage.kubelet.mark("WordPress serves 200 again");

    // Long enough for a second kill: 3 liveness periods, preStop and a back-off.
    stage.pass(50.0).await;
    stage.check_one_restart(edit);
    stage.check(
        timeline.count_after(
            edit,
            result_changed(ProbeKind::Readiness, ProbeResult::Failure),
        ) >= 1,
        "readiness never failed: the broken pod stayed in the Service",
    );
    stage.check_no_discarded("the sidecar must always answer");
    let timeline = stage
        .finish("scenario 1: the DB_HOST=hoge edit, container layer")
        .await;
    println!(
        "edit -> WordPress 500: {}\nedit -> first failed liveness probe: {}\n\
         edit -> kill: {}\nedit -> new container: {}\nedit -> ready again (healthy): {}\n\
         edit -> WordPress 200 seen: {}",
        span(&timeline, edit, broken),
        span(&timeline, edit, healed.first_failure),
        span(&timeline, edit, healed.kill),
        span(&timeline, edit, healed.restarted),
        span(&timeline, edit, healed.healthy),
        span(&timeline, edit, serving),
    );
}
