//! The sidecar's own faults in the pod, with the sidecar as PID 1 of its
//! FROM-scratch image:
//! - SIGTERM: `/readyz` fails at once (WordPress's next readiness probe with it; the
//!   pod leaves the Service), the server drains and exits 0 by itself; the kubelet starts it again
//!   (a native sidecar is always restarted) and WordPress is not restarted.
//! - SIGKILL: the kubelet restarts the sidecar, WordPress is not restarted, and the
//!   healer's memory (`WP_SENTINEL_HEAL__STATE_FILE` on the sentinel-state emptyDir)
//!   is the same file, with the same baseline, after the restart.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use crate::kubelet::{EventKind, Outcome, ProbeKind};
use crate::stage::*;
use crate::support::Layout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecar_sigterm_fails_readiness_at_once_and_exits_zero() {
    let stage = Stage::start(Setup::new("sigterm", scale(0.2), Layout::SharedVolume)).await;
    stage.pass(20.0).await;
    let first = stage.sidecar().id().expect("the sidecar runs");

    let signal = stage.kubelet.mark("podman kill --signal TERM wp-sentinel");
    stage.ok(stage
        .sidecar()
        .podman_on(&["kill", "--signal", "TERM"], &[]));
    let seen = std::cell::RefCell::new(Vec::new());
    let (statuses, on) = (&seen, &stage);
    let drains = testkit::wait::until(
        Duration::from_secs(5),
        Duration::from_millis(20),
        move || async move {
            let (status, _) = on.sidecar_get("/readyz").await;
            statuses.borrow_mut().push(status);
            (status == 503).then_some(())
        },
    )
    .await;
    let seen = seen.into_inner();
    stage.check(
        drains.is_some(),
        &format!("/readyz after SIGTERM answered {seen:?}, never 503 (draining)"),
    );
    let draining = stage.kubelet.mark("/readyz answers 503 (draining)");
    let (livez, _) = stage.sidecar_get("/livez").await;
    // WordPress's next readiness probe fails (503 while the sidecar drains, refused
    // once it is gone), and the pod leaves the Service. Whether the failure threshold
    // (2) is reached depends on how fast the sidecar is back: not asserted.
    // A probe sent before the sidecar began to drain may still end after the mark:
    // only probes sent after it count.
    let readiness_probe = move |e: &EventKind| matches!(e, EventKind::Probe { probe: ProbeKind::Readiness, container, sent, .. } if container.is(WORDPRESS) && *sent >= draining);
    stage
        .wait_event(
            draining,
            Duration::from_secs(20),
            "WordPress's next readiness probe",
            readiness_probe,
        )
        .await;
    let first_probe = stage
        .timeline()
        .first_after(draining, readiness_probe)
        .map(|e| e.kind);
    stage.check(
        matches!(
            first_probe,
            Some(EventKind::Probe {
                outcome: Outcome::Failure,
                ..
            })
        ),
        &format!(
            "WordPress's first readiness probe sent while the sidecar drains: {first_probe:?}"
        ),
    );
    let unready = stage
        .wait_event(
            signal,
            Duration::from_secs(20),
            "the pod out of the Service",
            |e| matches!(e, EventKind::PodReady(false)),
        )
        .await;
    let exited = stage
        .wait_event(
            signal,
            Duration::from_secs(30),
            "the sidecar's exit",
            exited_of(SIDECAR),
        )
        .await;
    stage
        .wait_event(
            signal,
            Duration::from_secs(30),
            "the sidecar started again",
            started_of(SIDECAR),
        )
        .await;
    let exit_code = stage
        .sidecar()
        .history
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|(_, id, _)| *id == first)
        .and_then(|(_, _, code)| *code);
    stage.check(
        exit_code == Some(0),
        &format!("the sidecar's exit after SIGTERM: {exit_code:?}, expected 0"),
    );
    stage
        .wait_until(Duration::from_secs(30), "ready again", |k| k.ready())
        .await;
    stage.pass(30.0).await;
    stage.check_only_the_sidecar_restarted(signal, "after a SIGTERM of the sidecar");
    let timeline = stage.finish("pod: SIGTERM to the sidecar").await;
    println!(
        "SIGTERM -> /readyz 503: {}\nSIGTERM -> pod out of the Service: {}\nSIGTERM -> exit 0 \
         (pod grace period 45 s emulated): {}\n/livez while draining: {livez}",
        span(&timeline, signal, draining),
        span(&timeline, signal, unready),
        span(&timeline, signal, exited),
    );
}

fn state_file(stage: &Stage) -> (serde_json::Value, (u32, u32, u32)) {
    let path = stage.state_dir().join("state.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| stage.fail(&format!("{}: {e}", path.display())));
    let meta = std::fs::metadata(&path).expect("state file metadata");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| stage.fail(&format!("state file is not JSON: {e}: {text}")));
    (json, (meta.uid(), meta.gid(), meta.mode() & 0o777))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecar_sigkill_restarts_the_sidecar_only_and_the_state_file_survives() {
    let stage = Stage::start(Setup::new("sigkill", scale(0.2), Layout::SharedVolume)).await;
    stage.pass(20.0).await;
    let (before, owner) = state_file(&stage);
    stage.check(
        owner == (33, 33, 0o600),
        &format!("state file owner and mode {owner:?}, expected 33:33 0600"),
    );
    stage.check(
        before["file"]["seen_good"] == true && before["file"]["baseline"].is_string(),
        &format!("the state file has no baseline: {before}"),
    );

    let kill = stage.kubelet.mark("podman kill --signal KILL wp-sentinel");
    stage.ok(stage
        .sidecar()
        .podman_on(&["kill", "--signal", "KILL"], &[]));
    let restarted = stage
        .wait_event(
            kill,
            Duration::from_secs(30),
            "the sidecar started again",
            started_of(SIDECAR),
        )
        .await;
    let ready = stage
        .wait_until(Duration::from_secs(30), "ready again", |k| k.ready())
        .await;
    stage.pass(40.0).await;
    let code = stage
        .sidecar()
        .history
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .first()
        .and_then(|(_, _, code)| *code);
    stage.check(
        code == Some(137),
        &format!("killed sidecar's exit {code:?}"),
    );
    stage.check_only_the_sidecar_restarted(kill, "after a SIGKILL of the sidecar");
    let (after, _) = state_file(&stage);
    stage.check(
        after["file"]["baseline"] == before["file"]["baseline"],
        &format!("the baseline changed across the restart: {before} -> {after}"),
    );
    let timeline = stage.finish("pod: SIGKILL of the sidecar").await;
    println!(
        "SIGKILL -> sidecar started again: {}\n-> pod ready {:.2}s real later; WordPress restarts: 0",
        span(&timeline, kill, restarted),
        ready.as_secs_f64()
    );
}
