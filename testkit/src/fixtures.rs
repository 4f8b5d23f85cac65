//! What the scenarios, the pod tests and the demos share by name: the pod's
//! containers and ports in `k8s/base/deployment.yaml`, the golden copy, the
//! `DB_HOST=hoge` edit, the article's own pod, and the time scale.
//!
//! "The article" is the blog post the README names once (a WordPress pod whose
//! liveness probe is `GET /`, restarted in a loop after someone set `DB_HOST` to
//! `hoge`); "the `DB_HOST=hoge` edit" is that incident, replayed.

use crate::kubelet::manifest::{ContainerSpec, PodSpec, ProbeSpec};
use crate::kubelet::ProbeKind;

/// The main container of the pod, and the sidecar.
pub const WORDPRESS: &str = "wordpress";
pub const SIDECAR: &str = "wp-sentinel";
pub const MANIFEST: &str = "k8s/base/deployment.yaml";
pub const GOLDEN: &str = "k8s/base/golden/wp-config.php";
/// The sidecar's port in the manifests, and WordPress's.
pub const SIDECAR_PORT: u16 = 9090;
pub const WORDPRESS_PORT: u16 = 80;

/// The `DB_HOST=hoge` edit as a `sed` expression, against the template's
/// `getenv_docker` form (the article's file had literals: the effect is the same).
pub const SED_DB_HOST_HOGE: &str = "s/getenv_docker('WORDPRESS_DB_HOST', 'mysql')/'hoge'/";
/// What the edit searches for and writes, for checks on the file.
pub const DB_HOST_TEMPLATE: &str = "getenv_docker('WORDPRESS_DB_HOST', 'mysql')";
pub const DB_HOST_HOGE: &str = "'hoge'";

/// The article's WordPress container: a liveness probe `GET /` on port 80
/// (initialDelaySeconds 30, periodSeconds 10, timeoutSeconds 5), no readiness
/// probe, no sidecar.
pub fn article_container() -> ContainerSpec {
    let mut liveness = ProbeSpec::http(ProbeKind::Liveness, "/", WORDPRESS_PORT);
    liveness.initial_delay_seconds = 30;
    liveness.period_seconds = 10;
    liveness.timeout_seconds = 5;
    ContainerSpec {
        name: WORDPRESS.into(),
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

/// `WP_SENTINEL_E2E_SLOWDOWN` (default 1) multiplies a scenario's time scale `base`
/// (0.1: a 10 s period takes 1 s) on a slow machine.
pub fn scale(base: f64) -> f64 {
    let slowdown = std::env::var("WP_SENTINEL_E2E_SLOWDOWN")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(1.0);
    base * slowdown
}

/// `seconds` scaled, as the sidecar's configuration reads it (`500ms`).
pub fn millis(seconds: f64, scale: f64) -> String {
    format!("{}ms", ((seconds * scale * 1000.0).round() as u64).max(1))
}
