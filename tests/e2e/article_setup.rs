//! Scenario 8: the article's own setup (a liveness probe `GET /` straight at
//! WordPress, no readiness probe, no sidecar) under the kubelet's true rules, for the
//! two faults the sidecar's scenarios also run: a wedge (`wedge.rs`) and a database
//! outage (`outage.rs`). Each prints WordPress restarts and the time the pod was out
//! of the Service, the figures to put beside the sidecar's (`cargo nextest run
//! --test e2e article_setup wedge outage --no-capture`).
//!
//! What the article's setup does, asserted so that the comparison stays true: the
//! outage restarts WordPress (a restart cannot bring a database back), and the pod
//! stays in the Service the whole time it serves errors or nothing (no readiness).

use std::sync::Arc;
use std::time::Duration;

use crate::kubelet::{ContainerRuntime, EventKind, Kubelet, Options};
use crate::scenario::*;
use crate::support::{Layout, PhpContainer, WpEnv};

struct ArticlePod {
    kubelet: Kubelet,
    env: Arc<WpEnv>,
}

async fn article_pod_on(name: &str, own_database: bool, scale: f64) -> ArticlePod {
    let env = Arc::new(WpEnv::up(name, &state_root(), own_database));
    let wordpress: Arc<dyn ContainerRuntime> = Arc::new(PhpContainer {
        env: env.clone(),
        layout: Layout::ContainerLayer,
    });
    let kubelet = Kubelet::start(
        &article_pod(),
        Options::new(scale, vec![(80, env.php_addr())]),
        vec![(CONTAINER, wordpress)],
    )
    .unwrap_or_else(|e| panic!("the emulator rejected the article's pod: {e}"));
    kubelet
        .wait_until(
            Duration::from_secs(20),
            "pod ready at start",
            Kubelet::ready,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ArticlePod { kubelet, env }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_articles_setup_restarts_wordpress_for_a_database_outage() {
    let scale = scale(0.1);
    let pod = article_pod_on("article_outage", true, scale).await;
    let emulated = |s: f64| Duration::from_secs_f64(s * scale);
    // Past the first liveness probe (initialDelaySeconds 30).
    tokio::time::sleep(emulated(40.0)).await;
    let down = pod.kubelet.mark("wpenv.sh db-stop: the database goes away");
    pod.env.db_stop().unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(emulated(60.0)).await;
    let up = pod.kubelet.mark("wpenv.sh db-start: the database is back");
    pod.env.db_start().unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(emulated(60.0)).await;
    let timeline = pod.kubelet.timeline().clone();
    let restarts = pod.kubelet.restarts();
    let not_ready = timeline.not_ready_between(down, timeline.now());
    let kubelet = pod.kubelet;
    let timeline = kubelet.stop().await;
    println!(
        "=== scenario 8a: the article's setup, a 60 s database outage ===\n{}",
        timeline.render(true)
    );
    println!(
        "article's setup, outage of 60 s emulated: WordPress restarts {restarts}, \
         not ready {:.1} s emulated (in the Service, serving the database-error page, the rest of the time)",
        timeline.emulated(not_ready)
    );
    assert!(
        restarts >= 1,
        "the article's liveness GET / fails on the database-error page: expected a restart\n{}",
        timeline.render(true)
    );
    assert!(
        timeline.count_after(down, killing) >= 1
            && timeline.count_after(up, started) <= restarts as usize,
        "{}",
        timeline.render(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_articles_setup_serves_a_wedge_until_the_kill_ends() {
    let scale = scale(0.1);
    let pod = article_pod_on("article_wedge", false, scale).await;
    let emulated = |s: f64| Duration::from_secs_f64(s * scale);
    tokio::time::sleep(emulated(40.0)).await;
    let wedge = pod.kubelet.mark("kill -STOP: the PHP server is wedged");
    pod.env.signal_php("STOP").unwrap_or_else(|e| panic!("{e}"));
    pod.kubelet
        .wait_until(Duration::from_secs(30), "restarted after the wedge", |k| {
            k.restarts() == 1 && k.ready()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let back = pod.kubelet.mark("restarted");
    tokio::time::sleep(emulated(60.0)).await;
    let timeline = pod.kubelet.timeline().clone();
    let restarts = pod.kubelet.restarts();
    let not_ready = timeline.not_ready_between(wedge, timeline.now());
    // The order of events, not their durations: the pod leaves the Service only once
    // the kill has begun (its container stops running), never while it is wedged.
    let kill = timeline.first_after(wedge, killing).map(|e| e.at);
    let left = timeline
        .first_after(wedge, |e| matches!(e, EventKind::PodReady(false)))
        .map(|e| e.at);
    let kubelet = pod.kubelet;
    let timeline = kubelet.stop().await;
    println!(
        "=== scenario 8b: the article's setup, a wedged PHP ===\n{}",
        timeline.render(true)
    );
    println!(
        "article's setup, wedge: WordPress restarts {restarts}, wedge -> restarted {}, not ready {:.1} s emulated \
         (in the Service, answering nothing, until the kill)",
        span(&timeline, wedge, back),
        timeline.emulated(not_ready)
    );
    assert_eq!(restarts, 1, "{}", timeline.render(true));
    assert!(
        kill.is_some() && left.is_none_or(|left| Some(left) >= kill),
        "without a readiness probe the wedged pod stays in the Service until the kill: \
         kill at {kill:?}, out of the Service at {left:?}"
    );
}
