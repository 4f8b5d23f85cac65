//! Scenario 5: drift that WordPress does not notice. `DB_NAME` is pointed at the
//! other database that exists (`<name>_other`, empty): WordPress answers 302 to its
//! installer instead of an error, so a status-code probe on `/` passes (and the
//! installer would let anyone set up a new site there). The sidecar compares the
//! file against the `WORDPRESS_*` settings: `/livez` and `/readyz` fail, and with the
//! default policy `restart` in the container-layer layout one restart heals it.

use std::time::Duration;

use crate::scenario::*;
use crate::support::http_get;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_name_of_another_database_is_caught_and_healed() {
    let stage = Stage::plain("dbname", scale(0.1)).await;
    stage.pass(20.0).await;

    let other = stage.env.var("WPENV_DB_OTHER_NAME");
    let edit = stage
        .kubelet
        .mark(format!("sed -i: DB_NAME -> '{other}' (exists, empty)"));
    stage.env.sed(&format!(
        "s/getenv_docker('WORDPRESS_DB_NAME', 'wordpress')/'{other}'/"
    ));
    // What WordPress itself does: a redirect to its installer, never an error.
    let mut statuses = Vec::new();
    let start = std::time::Instant::now();
    // Until the kill takes the drifted container down (preStop keeps it serving).
    let timeline = stage.timeline().clone();
    let died = |e: &crate::kubelet::EventKind| matches!(e, crate::kubelet::EventKind::Died { .. });
    while start.elapsed() < Duration::from_secs(8) && timeline.first_after(edit, died).is_none() {
        if let Ok((status, _)) = http_get(stage.env.php_addr(), "/").await {
            statuses.push(status);
            if status == 302 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stage.check(
        statuses.contains(&302) && !statuses.iter().any(|s| *s >= 500),
        &format!("WordPress should answer 302 to its installer, not an error: {statuses:?}"),
    );
    stage
        .kubelet
        .mark("WordPress answers 302 -> /wp-admin/install.php (no error)");

    let not_ready = stage.wait_unready(edit, Duration::from_secs(10)).await;
    let healed = stage
        .wait_restart_heals(edit, Duration::from_secs(15))
        .await;
    stage.ok(stage.wait_wordpress(200, Duration::from_secs(5)).await);
    stage.pass(50.0).await;
    stage.check_one_restart(edit);
    let timeline = stage
        .finish("scenario 5: DB_NAME of another database")
        .await;
    println!(
        "edit -> first failed liveness probe: {}\nedit -> not ready: {}\nedit -> kill: {}\n\
         edit -> ready again: {}",
        span(&timeline, edit, healed.first_failure),
        span(&timeline, edit, not_ready),
        span(&timeline, edit, healed.kill),
        span(&timeline, edit, healed.healthy),
    );
}
