//! The pod tests: the self-healing story in real containers on this machine. The
//! images come from `scripts/images.sh` (a debootstrap base, a WordPress image shaped
//! like the official `wordpress:*-apache`, the sidecar from the repository's
//! `Dockerfile`, no registry); each scenario runs a podman pod of its own, driven by
//! the same kubelet emulator as `tests/e2e` (both take it from the test kit, `testkit`),
//! with a podman container runtime instead of child processes: a restart is a fresh
//! container, a kill is the image's stop signal, the grace period, then SIGKILL.
//! They need root (podman, debootstrap, `scripts/wpenv.sh` for the database).
//!
//! Layout:
//! - from the test kit (`testkit`), re-exported under the names the scenarios use:
//!   `kubelet`, `support` (the emulator and the database environment of `tests/e2e`);
//!   `podman` (the command line, the images, objects removed by id when dropped);
//!   `runtime` (a container of the pod as the emulator's `ContainerRuntime`); `stage`
//!   (the pod of a scenario: volumes, securityContext, database socket, the waits).
//! - one file per scenario: `article` (the docroot in the container's layer),
//!   `shared_volume` (restore as uid 33 with a read-only root), `outage`,
//!   `sidecar_faults` (SIGTERM, SIGKILL, the state file), `wedge` (`podman pause`).
//! - `rollout`: several pods behind a Service (HAProxy), a Deployment controller and
//!   visitors: the rolling update, the rollback, scaling out and in.

pub use testkit::kubelet;
pub use testkit::pod::{podman, runtime, stage};
pub use testkit::wpenv as support;

mod article;
mod outage;
mod rollout;
mod shared_volume;
mod sidecar_faults;
mod wedge;
