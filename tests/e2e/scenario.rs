//! The stage every scenario plays on: a WordPress environment of its own, and the pod
//! of `k8s/base/deployment.yaml` run by the kubelet emulator: the real sidecar binary
//! as the native sidecar (started first, with its own startup and liveness probes),
//! then "the WordPress container" (the PHP server) once the sidecar has started; plus
//! the waits and the failure messages (which always carry the timeline and the
//! sidecar's last log lines).
//!
//! Time scale: each scenario picks a factor (0.1: a 10 s period takes 1 s); the
//! variable `WP_SENTINEL_E2E_SLOWDOWN` (default 1) multiplies it on a slow machine.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::kubelet::manifest::{read_container, read_pod, ContainerSpec, PodSpec};
use crate::kubelet::{ContainerRuntime, EventKind, Kubelet, Options, Outcome, ProbeKind, Timeline};
use crate::sidecar::Sidecar;
use crate::support::{http_get, repo, Layout, PhpContainer, WpEnv};

/// The main container of the pod, and the sidecar.
pub const CONTAINER: &str = "wordpress";
pub const SIDECAR: &str = "wp-sentinel";
pub const MANIFEST: &str = "k8s/base/deployment.yaml";
/// The sidecar's port in the manifests.
pub const SIDECAR_PORT: u16 = 9090;
/// The sed expressions of the scenarios (the template reads every setting through
/// `getenv_docker`, the article's file had literals: the effect is the same).
pub const SED_DB_HOST_HOGE: &str = "s/getenv_docker('WORDPRESS_DB_HOST', 'mysql')/'hoge'/";

pub fn scale(base: f64) -> f64 {
    let slowdown = std::env::var("WP_SENTINEL_E2E_SLOWDOWN")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(1.0);
    base * slowdown
}

pub fn state_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e")
}

pub fn wordpress_container() -> ContainerSpec {
    read_container(&repo().join(MANIFEST), CONTAINER)
        .unwrap_or_else(|e| panic!("the emulator cannot read the probes: {e}"))
}

/// The article's WordPress container: a liveness probe `GET /` on port 80
/// (initialDelaySeconds 30, periodSeconds 10, timeoutSeconds 5), no readiness
/// probe, no sidecar.
pub fn article_container() -> ContainerSpec {
    let mut liveness = crate::kubelet::ProbeSpec::http(ProbeKind::Liveness, "/", 80);
    liveness.initial_delay_seconds = 30;
    liveness.period_seconds = 10;
    liveness.timeout_seconds = 5;
    ContainerSpec {
        name: CONTAINER.into(),
        probes: vec![liveness],
        pre_stop_sleep_seconds: 0,
    }
}

/// The article's pod: WordPress alone, the default grace period.
pub fn article_pod() -> PodSpec {
    PodSpec {
        sidecars: Vec::new(),
        containers: vec![article_container()],
        termination_grace_period_seconds: 30,
    }
}

pub fn manifest_pod() -> PodSpec {
    read_pod(&repo().join(MANIFEST))
        .unwrap_or_else(|e| panic!("the emulator cannot read the pod: {e}"))
}

/// Field order is drop order: the emulator, then the sidecar, then the environment.
pub struct Stage {
    pub kubelet: Kubelet,
    pub sidecar: Arc<Sidecar>,
    pub env: Arc<WpEnv>,
    pub scale: f64,
}

impl Stage {
    /// Environment up, then the pod started by the emulator (the sidecar, then
    /// WordPress once the sidecar's startup probe passed) and ready.
    pub async fn start(
        name: &str,
        scale: f64,
        own_database: bool,
        layout: Layout,
        sidecar_env: impl FnOnce(&WpEnv) -> Vec<(String, String)>,
    ) -> Stage {
        let env = Arc::new(WpEnv::up(name, &state_root(), own_database));
        // The WordPress container starts only after its sidecar has.
        env.php_stop()
            .unwrap_or_else(|e| panic!("scenario {name}: {e}"));
        let extra = sidecar_env(&env);
        let extra: Vec<(&str, &str)> = extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let sidecar = Arc::new(Sidecar::new(
            std::path::Path::new(env!("CARGO_BIN_EXE_wp-sentinel")),
            &env,
            scale,
            &extra,
        ));
        let options = Options::new(
            scale,
            vec![(SIDECAR_PORT, sidecar.addr), (80, env.php_addr())],
        );
        let wordpress: Arc<dyn ContainerRuntime> = Arc::new(PhpContainer {
            env: env.clone(),
            layout,
        });
        let runtimes: Vec<(&str, Arc<dyn ContainerRuntime>)> =
            vec![(SIDECAR, sidecar.clone()), (CONTAINER, wordpress)];
        let kubelet = Kubelet::start(&manifest_pod(), options, runtimes)
            .unwrap_or_else(|e| panic!("the emulator rejected the manifest: {e}"));
        let stage = Stage {
            kubelet,
            sidecar,
            env,
            scale,
        };
        let ready = stage
            .kubelet
            .wait_until(
                Duration::from_secs(30),
                "pod ready at start",
                Kubelet::ready,
            )
            .await;
        stage.ok(ready);
        stage
    }

    /// Emulated seconds → real time.
    pub fn emulated(&self, seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds * self.scale)
    }

    pub fn timeline(&self) -> &Arc<Timeline> {
        self.kubelet.timeline()
    }

    /// Panics with the timeline and the sidecar's log.
    pub fn fail(&self, message: &str) -> ! {
        panic!(
            "{message}\n--- timeline ---\n{}--- sidecar log (last lines) ---\n{}",
            self.timeline().render(true),
            self.sidecar.log_tail(25)
        )
    }

    pub fn ok<T>(&self, result: Result<T, String>) -> T {
        result.unwrap_or_else(|e| self.fail(&e))
    }

    pub fn check(&self, condition: bool, message: &str) {
        if !condition {
            self.fail(message);
        }
    }

    /// Waits for the first event after `since` that `matches`; its time.
    pub async fn wait_event(
        &self,
        since: Duration,
        limit: Duration,
        what: &str,
        matches: impl Fn(&EventKind) -> bool,
    ) -> Duration {
        let start = Instant::now();
        loop {
            if let Some(event) = self.timeline().first_after(since, &matches) {
                return event.at;
            }
            if start.elapsed() > limit {
                self.fail(&format!("{what}: not within {limit:?}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls WordPress's home page until it answers `status`; when it did.
    pub async fn wait_wordpress(&self, status: u16, limit: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < limit {
            match http_get(self.env.php_addr(), "/?e2e=verify").await {
                Ok((answer, _)) if answer == status => return Ok(self.timeline().now()),
                Ok((answer, _)) => last = answer.to_string(),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "WordPress did not answer {status} within {limit:?} (last: {last})"
        ))
    }

    /// Lets `seconds` of emulated time pass.
    pub async fn pass(&self, seconds: f64) {
        tokio::time::sleep(self.emulated(seconds)).await;
    }

    /// Stops the emulator, prints the timeline, stops the sidecar and the environment.
    pub async fn finish(self, title: &str) -> Arc<Timeline> {
        let Stage {
            kubelet,
            sidecar,
            env,
            ..
        } = self;
        let timeline = kubelet.stop().await;
        drop(sidecar);
        drop(env);
        println!("=== {title} ===\n{}", timeline.render(true));
        timeline
    }
}

/// Matchers for `Timeline::first_after` / `count_after`; without `_of`, of WordPress.
pub fn probe_failed(kind: ProbeKind) -> impl Fn(&EventKind) -> bool {
    move |e| matches!(e, EventKind::Probe { probe, outcome: Outcome::Failure, container, .. } if *probe == kind && container.is(CONTAINER))
}

pub fn killing(e: &EventKind) -> bool {
    killing_of(CONTAINER)(e)
}

pub fn killing_of(name: &'static str) -> impl Fn(&EventKind) -> bool {
    move |e| matches!(e, EventKind::Killing { container, .. } if container.is(name))
}

pub fn started(e: &EventKind) -> bool {
    started_of(CONTAINER)(e)
}

pub fn started_of(name: &'static str) -> impl Fn(&EventKind) -> bool {
    move |e| matches!(e, EventKind::Started { container } if container.is(name) && container.instance > 0)
}

pub fn result_changed(
    kind: ProbeKind,
    to: crate::kubelet::ProbeResult,
) -> impl Fn(&EventKind) -> bool {
    move |e| matches!(e, EventKind::Result { probe, to: t, container, .. } if *probe == kind && *t == to && container.is(CONTAINER))
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
