//! The stage every scenario plays on: a WordPress environment of its own, and the pod
//! of `k8s/base/deployment.yaml` run by the kubelet emulator: the real sidecar binary
//! as the native sidecar (started first, with its own startup and liveness probes),
//! then "the WordPress container" (the PHP server) once the sidecar has started; plus
//! its share of the test kit's `Scene` (the waits and the failure messages, which
//! always carry the timeline and the sidecar's last log lines).
//!
//! Time scale: each scenario picks a factor (0.1: a 10 s period takes 1 s); the
//! variable `WP_SENTINEL_E2E_SLOWDOWN` (default 1) multiplies it on a slow machine.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::net::SocketAddr;

use crate::kubelet::manifest::{read_container, read_pod, ContainerSpec, PodSpec};
use crate::kubelet::{ContainerRuntime, Kubelet, Options, Timeline};
use crate::sidecar::Sidecar;
use crate::support::{repo, Layout, PhpContainer, WpEnv};

pub use testkit::fixtures::{
    article_container, article_pod, scale, DB_HOST_HOGE, MANIFEST, SED_DB_HOST_HOGE, SIDECAR,
    SIDECAR_PORT, WORDPRESS as CONTAINER,
};
pub use testkit::scene::*;

pub fn state_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e")
}

pub fn wordpress_container() -> ContainerSpec {
    read_container(&repo().join(MANIFEST), CONTAINER)
        .unwrap_or_else(|e| panic!("the emulator cannot read the probes: {e}"))
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

    /// The plain stage: the machine's MariaDB, the docroot in the container's layer,
    /// the sidecar with the scenario defaults.
    pub async fn plain(name: &str, scale: f64) -> Stage {
        Stage::start(name, scale, false, Layout::ContainerLayer, |_| Vec::new()).await
    }

    /// The sidecar's `/readyz` answers 503 and the pod is out of the Service: the
    /// drift is still there (`why`).
    pub async fn check_unready(&self, why: &str) {
        let (readyz, _) = self.sidecar.get("/readyz").await;
        self.check(readyz == 503, &format!("/readyz answers {readyz}: {why}"));
        self.check(
            !self.kubelet.ready(),
            &format!("the pod is in the Service: {why}"),
        );
    }

    /// Waits for the restart loop to stop at the breaker: `max_restarts` restarts of
    /// WordPress, then `/livez` passing again (the breaker holds the drift's
    /// failures); `/livez?verbose`'s body.
    pub async fn wait_breaker(&self, max_restarts: u32) -> String {
        self.wait_until(
            Duration::from_secs(60),
            "the restarts before the breaker",
            |k| k.restarts() >= max_restarts,
        )
        .await;
        let body = self
            .sidecar
            .wait_for("/livez?verbose", 200, Duration::from_secs(15))
            .await;
        self.ok(body)
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

impl Scene for Stage {
    fn kubelet(&self) -> &Kubelet {
        &self.kubelet
    }

    fn output(&self) -> String {
        format!(
            "--- sidecar log (last lines) ---\n{}",
            self.sidecar.log_tail(25)
        )
    }

    /// WordPress's home page (a query the access logs tell apart from the probes').
    fn wordpress_page(&self) -> (SocketAddr, &'static str) {
        (self.env.php_addr(), "/?e2e=verify")
    }
}
