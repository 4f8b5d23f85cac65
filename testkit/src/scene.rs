//! What every stage offers the scenario played on it, whatever runs the pod (child
//! processes in `tests/e2e`, podman in `tests/pod`): the waits for a cause (an event
//! on the emulator's timeline, an answer from WordPress), failure messages that carry
//! the timeline and the containers' last output, the checks every restart scenario
//! makes, and the event matchers.
//!
//! A stage says what it runs ([`Scene::kubelet`], [`Scene::output`],
//! [`Scene::wordpress_page`]); the rest is the same for every stage.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::fixtures::{SIDECAR, WORDPRESS};
use crate::kubelet::{EventKind, Kubelet, Outcome, ProbeKind, ProbeResult, Timeline};
use crate::wait;

/// When a restart healed WordPress: the first failed liveness probe, the kill, and
/// the restarted pod ready (timeline times).
#[derive(Clone, Copy, Debug)]
pub struct Healed {
    pub first_failure: Duration,
    pub kill: Duration,
    /// The new instance started.
    pub restarted: Duration,
    pub healthy: Duration,
}

// The scenarios await these on their own test task, never across threads, so the
// futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Scene {
    /// The emulator running the pod.
    fn kubelet(&self) -> &Kubelet;
    /// The containers' last output, for failure messages.
    fn output(&self) -> String;
    /// Where WordPress is polled from outside the pod, and the page polled.
    fn wordpress_page(&self) -> (SocketAddr, &'static str);

    fn timeline(&self) -> &Arc<Timeline> {
        self.kubelet().timeline()
    }

    /// Emulated seconds → real time, at the emulator's time scale.
    fn emulated(&self, seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds * self.timeline().scale())
    }

    /// Panics with `message`, the timeline and the containers' last output.
    fn fail(&self, message: &str) -> ! {
        panic!(
            "{message}\n--- timeline ---\n{}{}",
            self.timeline().render(true),
            self.output()
        )
    }

    fn ok<T>(&self, result: Result<T, String>) -> T {
        result.unwrap_or_else(|e| self.fail(&e))
    }

    fn check(&self, condition: bool, message: &str) {
        if !condition {
            self.fail(message);
        }
    }

    /// Lets `seconds` of emulated time pass.
    async fn pass(&self, seconds: f64) {
        tokio::time::sleep(self.emulated(seconds)).await;
    }

    /// Waits for the first event after `since` that `matches`; its time.
    async fn wait_event(
        &self,
        since: Duration,
        limit: Duration,
        what: &str,
        matches: impl Fn(&EventKind) -> bool,
    ) -> Duration {
        let found = wait::event(self.timeline(), since, limit, matches).await;
        found.unwrap_or_else(|| self.fail(&format!("{what}: not within {limit:?}")))
    }

    /// Polls WordPress until it answers `status`; when it did.
    async fn wait_wordpress(&self, status: u16, limit: Duration) -> Result<Duration, String> {
        let (addr, page) = self.wordpress_page();
        wait::answers(addr, page, status, limit, Duration::from_millis(100))
            .await
            .map(|_| self.timeline().now())
            .map_err(|e| format!("WordPress: {e}"))
    }

    /// The restart that heals a broken WordPress, after `since`: a failed liveness
    /// probe, the kill, the restarted pod ready; each waited for at most `limit`.
    async fn wait_restart_heals(&self, since: Duration, limit: Duration) -> Healed {
        let what = "a failed liveness probe";
        let first_failure = self
            .wait_event(since, limit, what, probe_failed(ProbeKind::Liveness))
            .await;
        let kill = self.wait_event(since, limit, "the kill", killing).await;
        let restarted = self
            .wait_event(kill, limit, "the new container", started)
            .await;
        let healthy = self
            .wait_event(
                restarted,
                limit,
                "the restarted pod ready",
                result_changed(ProbeKind::Readiness, ProbeResult::Success),
            )
            .await;
        Healed {
            first_failure,
            kill,
            restarted,
            healthy,
        }
    }

    /// Waits for WordPress's readiness to fail after `since` (the pod leaves the
    /// Service); when it did.
    async fn wait_unready(&self, since: Duration, limit: Duration) -> Duration {
        let failed = result_changed(ProbeKind::Readiness, ProbeResult::Failure);
        self.wait_event(since, limit, "readiness failing", failed)
            .await
    }

    /// Waits for WordPress's readiness to pass again after `since`; when it did.
    async fn wait_ready_again(&self, since: Duration, limit: Duration) -> Duration {
        let passed = result_changed(ProbeKind::Readiness, ProbeResult::Success);
        self.wait_event(since, limit, "readiness passing again", passed)
            .await
    }

    /// Waits until `condition` holds of the emulator; how long that took (real time).
    async fn wait_until(
        &self,
        limit: Duration,
        what: &str,
        condition: impl Fn(&Kubelet) -> bool,
    ) -> Duration {
        let held = self.kubelet().wait_until(limit, what, condition).await;
        self.ok(held)
    }

    /// Waits until the pod is ready; how long that took (real time).
    async fn wait_ready(&self, limit: Duration, what: &str) -> Duration {
        self.wait_until(limit, what, Kubelet::ready).await
    }

    /// Waits until the file at `path` holds exactly `bytes` (a restored golden copy).
    async fn wait_file_is(&self, path: &Path, bytes: &[u8], limit: Duration, what: &str) {
        let same = wait::until(limit, Duration::from_millis(20), move || async move {
            (std::fs::read(path).ok().as_deref() == Some(bytes)).then_some(())
        })
        .await;
        if same.is_none() {
            self.fail(&format!("{what}: not within {limit:?}"));
        }
    }

    /// Healed without a restart since `since`: no kill, no restart, and liveness
    /// never reached its failure threshold.
    fn check_no_restart(&self, since: Duration, why: &str) {
        let timeline = self.timeline();
        let (kills, restarts) = (
            timeline.count_after(since, killing),
            self.kubelet().restarts(),
        );
        self.check(
            kills == 0 && restarts == 0,
            &format!("{why}: got {kills} kills and {restarts} restarts"),
        );
        self.check(
            timeline.count_after(
                since,
                result_changed(ProbeKind::Liveness, ProbeResult::Failure),
            ) == 0,
            &format!("{why}: liveness reached its failure threshold"),
        );
    }

    /// Exactly one kill and one restart of WordPress since `since`, and the pod ready
    /// now; the counts.
    fn check_one_restart(&self, since: Duration) -> (usize, u32) {
        let kills = self.timeline().count_after(since, killing);
        let restarts = self.kubelet().restarts();
        self.check(
            kills == 1 && restarts == 1,
            &format!("expected exactly one restart, got {kills} kills and {restarts} restarts"),
        );
        self.check(self.kubelet().ready(), "the pod is not ready at the end");
        (kills, restarts)
    }

    /// Only the sidecar was restarted since `since`, once: WordPress was neither
    /// killed nor restarted (`why` says what happened to the sidecar).
    fn check_only_the_sidecar_restarted(&self, since: Duration, why: &str) {
        let kills = self.timeline().count_after(since, killing);
        let restarts = self.kubelet().restarts();
        self.check(
            kills == 0 && restarts == 0,
            &format!("WordPress was killed {kills} and restarted {restarts} times {why}"),
        );
        let sidecar = self.kubelet().restarts_of(SIDECAR);
        self.check(
            sidecar == 1,
            &format!("the sidecar was restarted {sidecar} times {why}, not once"),
        );
    }

    /// No probe erred (a body-read error, which the kubelet discards) all along:
    /// the sidecar always answered.
    fn check_no_discarded(&self, why: &str) {
        self.check(
            self.timeline().count_after(Duration::ZERO, discarded) == 0,
            &format!("a probe to the sidecar errored: {why}"),
        );
    }
}

/// Matchers for `Timeline::first_after` / `count_after`; without `_of`, of WordPress.
pub fn probe_failed(kind: ProbeKind) -> impl Fn(&EventKind) -> bool {
    move |e| matches!(e, EventKind::Probe { probe, outcome: Outcome::Failure, container, .. } if *probe == kind && container.is(WORDPRESS))
}

pub fn killing(e: &EventKind) -> bool {
    killing_of(WORDPRESS)(e)
}

pub fn killing_of(name: &'static str) -> impl Fn(&EventKind) -> bool {
    move |e| matches!(e, EventKind::Killing { container, .. } if container.is(name))
}

/// A restarted instance (not the first) started.
pub fn started(e: &EventKind) -> bool {
    started_of(WORDPRESS)(e)
}

pub fn started_of(name: &'static str) -> impl Fn(&EventKind) -> bool {
    move |e| matches!(e, EventKind::Started { container } if container.is(name) && container.instance > 0)
}

pub fn exited_of(name: &'static str) -> impl Fn(&EventKind) -> bool {
    move |e| matches!(e, EventKind::Exited { container } if container.is(name))
}

pub fn result_changed(kind: ProbeKind, to: ProbeResult) -> impl Fn(&EventKind) -> bool {
    move |e| matches!(e, EventKind::Result { probe, to: t, container, .. } if *probe == kind && *t == to && container.is(WORDPRESS))
}

pub fn discarded(e: &EventKind) -> bool {
    matches!(
        e,
        EventKind::Probe {
            outcome: Outcome::Discarded,
            ..
        }
    )
}

/// `a → b` in emulated seconds, for reports.
pub fn span(timeline: &Timeline, from: Duration, to: Duration) -> String {
    let real = to.saturating_sub(from);
    format!(
        "{:.2}s real = {:.0}s emulated",
        real.as_secs_f64(),
        timeline.emulated(real)
    )
}
