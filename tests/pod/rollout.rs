//! The article's other two stories, measured: a rolling update and its rollback,
//! scaling out and in, with visitors through a Service the whole time.
//!
//! - `haproxy`: the Service (Debian's HAProxy, no health checks of its own).
//! - `fleet`: the pods of a Deployment, the Deployment controller, the endpoints
//!   controller with its propagation delay.
//! - `load`: the visitors at a fixed rate, every failure on the timeline.
//! - `stories`: the scenarios, with wp-sentinel's manifests and with the article's
//!   setup, and a rollout during a database outage.
//!
//! `cargo nextest run --test pod rollout --no-capture` prints each scenario's
//! table of operations and failed requests, and its whole timeline.

pub mod fleet;
pub mod haproxy;
pub mod load;
mod stories;
