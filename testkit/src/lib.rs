//! wp-sentinel's test kit: the harness that `tests/it`, `tests/e2e`, `tests/pod` and
//! the demos (`examples/demo.rs`, `examples/demo_pod.rs`) share, as one dev-only crate
//! instead of files pulled in through `#[path]`.
//!
//! - [`kubelet`]: the kubelet emulator (`docs/kubelet.md`): probes, the kill sequence,
//!   restarts and back-off, pod readiness, the timeline.
//! - [`wpenv`]: `scripts/wpenv.sh` (a real WordPress and MariaDB per scenario) and the
//!   PHP server as "the WordPress container".
//! - [`sidecar`]: the real `wp-sentinel` binary as the pod's native sidecar.
//! - [`pod`]: podman, a pod container as the emulator's runtime, the pod stage.
//! - [`scene`]: what every stage offers a scenario (waits, failure messages carrying
//!   the timeline, the event matchers).
//! - [`http`]: the one test HTTP GET client; [`standin`]: a stand-in WordPress.
//! - [`wait`]: bounded polling; [`fixtures`]: the names and edits the scenarios share
//!   (the `DB_HOST=hoge` edit, the article's pod); [`report`]: what the demos print.
//!
//! The kit never links the sidecar's own crate: the tests that need its library (and
//! its binary, `CARGO_BIN_EXE_wp-sentinel`) pass what it needs in.

pub mod fixtures;
pub mod http;
pub mod kubelet;
pub mod pod;
pub mod report;
pub mod scene;
pub mod sidecar;
pub mod standin;
pub mod wait;
pub mod wpenv;
