//! End-to-end tests: the real sidecar binary beside a real WordPress and a real
//! MariaDB, probed by a kubelet emulator that reads the WordPress container's probes
//! from `k8s/base/deployment.yaml`.
//!
//! Layout:
//! - `kubelet`: the probe emulator (`kubelet/http.rs`, `manifest.rs`, `timeline.rs`).

#[allow(dead_code)]
mod kubelet;
