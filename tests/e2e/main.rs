//! End-to-end tests: the real sidecar binary beside a real WordPress (Debian's
//! package under Apache 2.4 prefork + mod_php, or `php -S` with
//! `WP_SENTINEL_E2E_SERVER=php`) and a real MariaDB, run as the pod of
//! `k8s/base/deployment.yaml` by a kubelet emulator that follows the kubelet's code
//! (`docs/kubelet.md`): the sidecar as a native sidecar with its own probes, WordPress
//! after it, refused and timed-out probes counted as failures. Each scenario
//! provisions its own environment with `scripts/wpenv.sh` (state under
//! `target/tmp/e2e/<scenario>`, fresh ports, a database and user of its own) and
//! leaves nothing running. They need root, as `scripts/wpenv.sh` does.
//!
//! Layout:
//! - from the test kit (`testkit`, re-exported under the names the scenarios use):
//!   `kubelet`, the probe emulator; `support`, wpenv.sh, PHP's log and process group,
//!   the PHP "container"; `sidecar`, the wp-sentinel child process.
//! - `emulator`: the emulator's own tests against a stand-in server.
//! - `scenario`: the stage each scenario plays on (its waits are the kit's `Scene`).
//! - one file per scenario: `article`, `outage`, `shared_volume`, `wedge`,
//!   `semantic_drift`, `probe_traffic`, `apache_wedge`, `sidecar_faults` (the sidecar
//!   killed, hung, crash-looping, restarted mid-episode), `article_setup` (the
//!   article's own probes under the same faults, for comparison).

pub use testkit::kubelet;
pub use testkit::sidecar;
pub use testkit::wpenv as support;

mod emulator;
mod scenario;

mod apache_wedge;
mod article;
mod article_setup;
mod outage;
mod probe_traffic;
mod semantic_drift;
mod shared_volume;
mod sidecar_faults;
mod wedge;
