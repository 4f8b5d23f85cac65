//! Scenario 3: the docroot on a volume shared with the sidecar (the default
//! manifests' layout), where a restart does not bring back wp-config.php.
//!
//! - Policy `restart` only: each restart leaves the drift in place; the restart-loop
//!   breaker counts the restarts that did not heal and, after `heal.max_restarts`,
//!   stops failing `/livez` (its verbose body says "breaker") while `/readyz` keeps
//!   failing: no CrashLoopBackOff, no further restarts.
//! - Policy `restore` with the template as the golden copy: the sidecar writes it
//!   back, WordPress recovers, and the kubelet restarts nothing.

use std::time::Duration;

use crate::scenario::*;
use crate::support::Layout;

const MAX_RESTARTS: u32 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_policy_on_a_shared_volume_trips_the_breaker() {
    let stage = Stage::start("breaker", scale(0.1), false, Layout::SharedVolume, |_| {
        vec![
            ("WP_SENTINEL_HEAL__POLICY".into(), "restart".into()),
            // Quoted: figment reads an unquoted `2` as an unsigned number, which
            // config.rs rejects today ("expected a whole number ..., found a number").
            (
                "WP_SENTINEL_HEAL__MAX_RESTARTS".into(),
                format!("\"{MAX_RESTARTS}\""),
            ),
        ]
    })
    .await;
    stage.pass(20.0).await;

    let edit = stage
        .kubelet
        .mark("sed -i: DB_HOST -> 'hoge' (the file survives restarts)");
    stage.env.sed(SED_DB_HOST_HOGE);
    let body = stage.wait_breaker(MAX_RESTARTS).await;
    let tripped = stage.kubelet.mark(format!("{MAX_RESTARTS} restarts done"));
    stage.check(
        body.to_lowercase().contains("breaker"),
        &format!("/livez?verbose does not mention the breaker: {body}"),
    );
    stage.kubelet.mark("sidecar: /livez 200, breaker tripped");
    // A third restart would come after 3 liveness periods, preStop and 20 s back-off.
    stage.pass(80.0).await;

    let timeline = stage.timeline().clone();
    let restarts = stage.kubelet.restarts();
    stage.check(
        restarts == MAX_RESTARTS,
        &format!("expected the loop to stop after {MAX_RESTARTS} restarts, got {restarts}"),
    );
    stage.check_unready("the drift is still there").await;
    stage.check(
        std::fs::read_to_string(stage.env.wp_config())
            .map(|text| text.contains(DB_HOST_HOGE))
            .unwrap_or(false),
        "policy restart must not rewrite wp-config.php",
    );
    let kills = timeline.count_after(edit, killing);
    let timeline = stage
        .finish("scenario 3a: shared volume, policy restart, breaker")
        .await;
    println!(
        "edit -> restart {MAX_RESTARTS}: {}\nkills: {kills}, restarts: {restarts}, no more after the breaker",
        span(&timeline, edit, tripped)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_policy_heals_a_shared_volume_without_a_restart() {
    // Slower scale: PHP's opcache needs up to ~3 s of real time to drop the drifted
    // file, which must stay well inside three liveness periods.
    let stage = Stage::start("restore", scale(0.2), false, Layout::SharedVolume, |env| {
        vec![
            ("WP_SENTINEL_HEAL__POLICY".into(), "restore".into()),
            (
                "WP_SENTINEL_WPCONFIG__GOLDEN".into(),
                env.template().to_string_lossy().into_owned(),
            ),
        ]
    })
    .await;
    stage.pass(20.0).await;
    let golden = std::fs::read(stage.env.template()).expect("read the template");

    let edit = stage
        .kubelet
        .mark("sed -i: DB_HOST -> 'hoge' (shared volume)");
    stage.env.sed(SED_DB_HOST_HOGE);
    stage
        .wait_file_is(
            &stage.env.wp_config(),
            &golden,
            Duration::from_secs(10),
            "the sidecar writing the golden copy back",
        )
        .await;
    let restored = stage
        .kubelet
        .mark("wp-config.php equals the golden copy again");
    let serving = stage.ok(stage.wait_wordpress(200, Duration::from_secs(10)).await);
    stage
        .wait_ready(Duration::from_secs(15), "ready after the restore")
        .await;
    stage.pass(40.0).await;
    stage.check_no_restart(edit, "restore must heal without a restart");
    stage.check(stage.kubelet.ready(), "the pod is not ready at the end");
    let timeline = stage
        .finish("scenario 3b: shared volume, policy restore")
        .await;
    println!(
        "edit -> golden copy back: {}\nedit -> WordPress 200: {}\nrestarts: 0",
        span(&timeline, edit, restored),
        span(&timeline, edit, serving),
    );
}
