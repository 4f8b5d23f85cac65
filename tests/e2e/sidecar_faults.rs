//! Scenario 7: WordPress safe from its own sidecar. WordPress's probes target the
//! sidecar's port, and the kubelet counts a refused or timed-out probe as a failure:
//! whenever the sidecar is down or hung, WordPress's readiness and then its liveness
//! fail. The pod of `k8s/base/deployment.yaml` must keep a healthy WordPress
//! running through a killed sidecar, a hung one, a crash-looping one, and a sidecar
//! restart in the middle of a drift episode.

use std::time::Duration;

use crate::kubelet::manifest::PodSpec;
use crate::kubelet::{EventKind, ProbeKind, ProbeResult};
use crate::scenario::*;
use crate::support::Layout;

/// How long a sidecar that stops answering takes to be killed and answer again,
/// at most, from the manifest: its liveness window and timeout, the kill's grace
/// period (a hung process ignores SIGTERM), one second to start. And how long
/// WordPress's liveness tolerates no answer: (failureThreshold − 1) periods less the
/// timeout. Emulated seconds.
fn sidecar_bounds(pod: &PodSpec) -> (u32, u32) {
    let sidecar = pod.container(SIDECAR).expect("the sidecar in the manifest");
    let wordpress = pod.container(CONTAINER).expect("WordPress in the manifest");
    let own = sidecar
        .probe(ProbeKind::Liveness)
        .expect("the sidecar's liveness probe");
    let grace = own
        .termination_grace_period_seconds
        .unwrap_or(pod.termination_grace_period_seconds)
        .max(2);
    let back = own.failure_threshold * own.period_seconds + own.timeout_seconds + grace + 1;
    let live = wordpress
        .probe(ProbeKind::Liveness)
        .expect("WordPress's liveness probe");
    let tolerated = (live.failure_threshold - 1) * live.period_seconds - live.timeout_seconds;
    (back, tolerated)
}

fn signal_to(name: &'static str, which: &'static str) -> impl Fn(&EventKind) -> bool {
    move |e| matches!(e, EventKind::Signal { container, signal } if container.is(name) && *signal == which)
}

#[test]
fn the_manifest_restarts_a_hung_sidecar_before_wordpress_gives_up() {
    let (back, tolerated) = sidecar_bounds(&manifest_pod());
    assert!(
        back < tolerated,
        "k8s/base/deployment.yaml: a hung sidecar is back after up to {back} s, but WordPress's \
         liveness gives up after {tolerated} s without an answer: the kubelet would restart a \
         healthy WordPress"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sidecar_is_restarted_and_wordpress_is_not() {
    let stage = Stage::plain("sidecar_kill", scale(0.1)).await;
    stage.pass(20.0).await;
    let kill = stage.kubelet.mark("kill -KILL wp-sentinel");
    stage.ok(stage.sidecar.send("KILL"));
    let back = stage
        .wait_until(Duration::from_secs(15), "the sidecar restarted", |k| {
            k.restarts_of(SIDECAR) == 1 && k.ready()
        })
        .await;
    let ready_again = stage.kubelet.mark("pod ready again");
    // Three WordPress liveness periods and more: nothing more may happen.
    stage.pass(40.0).await;
    let timeline = stage.timeline().clone();
    let not_ready = timeline.not_ready_between(kill, timeline.now());
    stage.check_only_the_sidecar_restarted(kill, "after a SIGKILL of the sidecar");
    // Out of the Service only while the sidecar was down: once it is back, the pod
    // never leaves again (an order of events, not a duration).
    stage.check(
        timeline.count_after(ready_again, |e| matches!(e, EventKind::PodReady(false))) == 0,
        "the pod left the Service again after the sidecar was back",
    );
    stage.check(stage.kubelet.ready(), "the pod is not ready at the end");
    let timeline = stage.finish("scenario 7a: the sidecar SIGKILLed").await;
    println!(
        "kill -> sidecar back and pod ready: {}\nWordPress restarts 0, sidecar restarts 1, not ready {:.2}s real = {:.1}s emulated",
        span(&timeline, kill, kill + back),
        not_ready.as_secs_f64(),
        timeline.emulated(not_ready)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_sidecar_is_restarted_and_wordpress_is_not() {
    let (bound, tolerated) = sidecar_bounds(&manifest_pod());
    let stage = Stage::plain("sidecar_hang", scale(0.1)).await;
    stage.pass(20.0).await;
    let hang = stage.kubelet.mark("kill -STOP wp-sentinel (hung)");
    stage.ok(stage.sidecar.send("STOP"));
    stage
        .wait_until(
            stage.emulated(f64::from(tolerated) * 3.0),
            "the sidecar restarted",
            |k| k.restarts_of(SIDECAR) == 1,
        )
        .await;
    let restarted = stage
        .timeline()
        .first_after(hang, started_of(SIDECAR))
        .map(|e| e.at)
        .unwrap_or_else(|| stage.fail("no sidecar start after the hang"));
    stage.pass(40.0).await;
    let timeline = stage.timeline().clone();
    stage.check_only_the_sidecar_restarted(hang, "after the sidecar hung");
    stage.check(
        timeline.count_after(hang, signal_to(SIDECAR, "SIGKILL")) == 1,
        "a SIGSTOPped sidecar ignores SIGTERM: SIGKILL after the probe's grace period",
    );
    stage.check(
        timeline.count_after(
            hang,
            result_changed(ProbeKind::Liveness, ProbeResult::Failure),
        ) == 0,
        "WordPress's liveness reached its failure threshold",
    );
    stage.check(stage.kubelet.ready(), "the pod is not ready at the end");
    let not_ready = timeline.not_ready_between(hang, timeline.now());
    let timeline = stage.finish("scenario 7b: the sidecar SIGSTOPped").await;
    println!(
        "hang -> new sidecar started: {} (bound from the manifest {bound} s emulated, WordPress tolerates {tolerated} s)\n\
         WordPress restarts 0, sidecar restarts 1, not ready {:.2}s real = {:.1}s emulated",
        span(&timeline, hang, restarted),
        not_ready.as_secs_f64(),
        timeline.emulated(not_ready)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_survives_a_sidecar_restart_mid_episode() {
    const MAX_RESTARTS: u32 = 2;
    let stage = Stage::start(
        "sidecar_state",
        scale(0.1),
        false,
        Layout::SharedVolume,
        |env| {
            vec![
                ("WP_SENTINEL_HEAL__POLICY".into(), "restart".into()),
                (
                    "WP_SENTINEL_HEAL__MAX_RESTARTS".into(),
                    format!("\"{MAX_RESTARTS}\""),
                ),
                (
                    "WP_SENTINEL_HEAL__STATE_FILE".into(),
                    env.dir.join("sentinel-state.json").display().to_string(),
                ),
            ]
        },
    )
    .await;
    stage.pass(20.0).await;
    let edit = stage
        .kubelet
        .mark("sed -i: DB_HOST -> 'hoge' (the file survives restarts)");
    stage.env.sed(SED_DB_HOST_HOGE);
    stage.wait_breaker(MAX_RESTARTS).await;
    let tripped = stage
        .kubelet
        .mark("breaker tripped; now kill -KILL wp-sentinel");
    stage.ok(stage.sidecar.send("KILL"));
    stage
        .wait_until(Duration::from_secs(15), "the sidecar restarted", |k| {
            k.restarts_of(SIDECAR) == 1 && k.running(SIDECAR)
        })
        .await;
    let body = stage.ok(stage
        .sidecar
        .wait_for("/livez?verbose", 200, Duration::from_secs(10))
        .await);
    stage.check(
        body.contains("before this sidecar restarted"),
        &format!("the new sidecar does not remember the breaker: {body}"),
    );
    // A new loop would need 3 liveness periods, preStop and the restart.
    stage.pass(80.0).await;
    let timeline = stage.timeline().clone();
    stage.check(
        stage.kubelet.restarts() == MAX_RESTARTS && timeline.count_after(tripped, killing) == 0,
        &format!(
            "the sidecar's restart reset the breaker into a new loop: {} WordPress restarts",
            stage.kubelet.restarts()
        ),
    );
    stage
        .check_unready("readiness must keep failing while the drift is there")
        .await;
    let timeline = stage
        .finish("scenario 7c: the sidecar restarted mid-episode")
        .await;
    println!(
        "edit -> breaker tripped: {}\nWordPress restarts {MAX_RESTARTS} before the sidecar's restart, 0 after",
        span(&timeline, edit, tripped)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_sidecar_restarts_wordpress_at_most_once_per_startup_budget() {
    // Emulated seconds watched after the sidecar starts crashing.
    const WINDOW: f64 = 650.0;
    let pod = manifest_pod();
    let startup = pod
        .container(CONTAINER)
        .and_then(|c| c.probe(ProbeKind::Startup))
        .expect("WordPress's startup probe");
    let budget = f64::from(startup.failure_threshold * startup.period_seconds);
    let stage = Stage::plain("sidecar_crashloop", scale(0.05)).await;
    stage.pass(20.0).await;
    // Every later start exits 2: its golden copy is gone (a ConfigMap deleted).
    stage
        .sidecar
        .set_for_next_starts(&[("WP_SENTINEL_WPCONFIG__GOLDEN", "/nonexistent/golden.php")]);
    let crash = stage
        .kubelet
        .mark("kill -KILL wp-sentinel; every new start exits 2 (golden copy missing)");
    stage.ok(stage.sidecar.send("KILL"));
    stage.pass(WINDOW).await;
    let timeline = stage.timeline().clone();
    let wordpress_restarts = stage.kubelet.restarts();
    let sidecar_restarts = stage.kubelet.restarts_of(SIDECAR);
    let most = 1 + (WINDOW / budget).floor() as u32;
    stage.check(
        sidecar_restarts >= 4,
        &format!("the sidecar should be crash-looping with back-off: {sidecar_restarts} restarts"),
    );
    stage.check(
        wordpress_restarts <= most,
        &format!(
            "a crash-looping sidecar restarted WordPress {wordpress_restarts} times in {WINDOW} s: \
             more than once per startup budget ({budget} s)"
        ),
    );
    stage.check(
        !stage.kubelet.ready(),
        "a pod without its sidecar is in the Service",
    );
    let not_ready = timeline.not_ready_between(crash, timeline.now());
    let _ = stage.finish("scenario 7d: the sidecar crash-looping").await;
    println!(
        "over {WINDOW} s emulated: sidecar restarts {sidecar_restarts}, WordPress restarts {wordpress_restarts} \
         (at most {most}: one per startup budget of {budget} s), not ready {:.0} s emulated",
        timeline.emulated(not_ready)
    );
}
