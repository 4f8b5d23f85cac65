//! The pod harness of `tests/pod` and `examples/demo_pod.rs`: the podman command line
//! and the images of `scripts/images.sh` ([`podman`]), a container of the pod as the
//! emulator's `ContainerRuntime` ([`runtime`]), and the stage a pod scenario plays on
//! ([`stage`]).

pub mod podman;
pub mod runtime;
pub mod stage;
