//! The article's scenario with its own layout: the docroot in the WordPress
//! container's own layer, WordPress alone with the article's liveness probe
//! (`GET /` on port 80, initialDelaySeconds 30, periodSeconds 10, timeoutSeconds 5),
//! no sidecar. The edit is made inside the container (`podman exec … sed -i`, the
//! article's `kubectl exec`); WordPress answers 500; the kubelet kills it after three
//! failed probes and starts a *fresh container*, whose entrypoint writes a good
//! `wp-config.php` again because the edited one went with the old layer.
//!
//! Why not the sidecar in this layout: it has no volume in which to see the file.
//! Through a shared process namespace it can read and watch
//! `/proc/<Apache's PID>/root/var/www/html/wp-config.php` (measured by hand with the
//! sidecar image, see README "In a real pod"), but that path names a PID the
//! sidecar cannot know when it starts (it starts first) and that changes at every
//! WordPress restart; `wp_config` is a fixed path today. The default manifests
//! therefore keep the shared docroot with `restore` (`shared_volume`).

use std::time::Duration;

// Re-exported: other scenarios take the article's pod from here too.
pub use testkit::fixtures::article_pod;

use crate::kubelet::EventKind;
use crate::stage::*;
use crate::support::Layout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn article_edit_in_the_container_layer_is_healed_by_one_fresh_container() {
    let mut setup = Setup::new("article", scale(0.2), Layout::ContainerLayer);
    setup.pod = Some(article_pod());
    let stage = Stage::start(setup).await;
    let first = stage.wordpress.id().expect("WordPress runs");
    stage.pass(40.0).await;

    let edit = stage
        .kubelet
        .mark("podman exec wordpress sed -i: DB_HOST -> 'hoge' (in the container's layer)");
    stage.exec_sed(SED_DB_HOST_HOGE);
    let edited = stage.ok(stage.wp_config_in_wordpress());
    stage.check(edited.contains("'hoge'"), "the edit did not take");
    let failing = stage.ok(stage.wait_wordpress(500, Duration::from_secs(20)).await);
    let restarted = stage
        .wait_event(edit, Duration::from_secs(90), "the restart", |e| {
            matches!(e, EventKind::Started { container } if container.is(WORDPRESS) && container.instance == 1)
        })
        .await;
    let serving = stage.ok(stage.wait_wordpress(200, Duration::from_secs(60)).await);
    // Three more liveness periods: a fresh container that kept the edit would fail again.
    stage.pass(40.0).await;

    let second = stage.wordpress.id().expect("WordPress runs again");
    stage.check(second != first, "the restart did not make a new container");
    let fresh = stage.ok(stage.wp_config_in_wordpress());
    stage.check(
        !fresh.contains("'hoge'"),
        "the fresh container kept the edited wp-config.php",
    );
    stage.check(
        fresh.contains("getenv_docker('WORDPRESS_DB_HOST', 'mysql')"),
        "the fresh container's wp-config.php is not the template's",
    );
    let restarts = stage.kubelet.restarts();
    stage.check(
        restarts == 1,
        &format!("expected exactly one restart, got {restarts}"),
    );
    let timeline = stage
        .finish("pod: the article's edit, docroot in the container's layer")
        .await;
    println!(
        "edit -> 500: {}\nedit -> fresh container: {}\nedit -> 200: {}\ncontainers: {} -> {}",
        span(&timeline, edit, failing),
        span(&timeline, edit, restarted),
        span(&timeline, edit, serving),
        crate::runtime::short(&first),
        crate::runtime::short(&second),
    );
}
