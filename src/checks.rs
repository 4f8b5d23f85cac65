//! The checks, and the one way to run them. Each check does its own I/O and returns an
//! `Observation`; none of them decides what a probe answers (that is `verdict.rs`),
//! and none applies its own timeout: [`run`] does, the same way for every check, and
//! the engine runs every check through it.
//!
//! A check is a [`Check`]: its identity, its schedule, how it speeds up, which other
//! check its results wake, one run, and what a run that did not finish says.

pub mod mysql;
pub mod wordpress;
pub mod wpconfig;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::Schedule;
use crate::verdict::{CheckName, Class, Observation};

/// One run of a check, not yet finished.
pub type Pending<'a> = Pin<Box<dyn Future<Output = Observation> + Send + 'a>>;

/// How a check's next run may come before its interval is up (the engine reads the
/// board to decide; see `engine.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Its interval (plus jitter), or a trigger.
    Steady,
    /// A WordPress check: soon while liveness fails (the kubelet's restart must be
    /// seen) or while its latest result disagrees with its effective status (a
    /// change under way is confirmed); and, when `while_failing` is set, at that
    /// interval while its effective status fails.
    WordPress { while_failing: Option<Duration> },
}

/// A check the engine can run.
pub trait Check: Send + Sync {
    /// Which check this is: the subject of its verdict lines and metrics.
    fn name(&self) -> CheckName;

    /// Its interval, jitter and the timeout [`run`] applies.
    fn schedule(&self) -> Schedule;

    /// How its runs may come early.
    fn pace(&self) -> Pace {
        Pace::Steady
    }

    /// The check that must run at once after this observation, if any (WordPress
    /// answering an error page wakes the database check).
    fn wakes(&self, _observation: &Observation) -> Option<CheckName> {
        None
    }

    /// One run, with no timeout of its own: [`run`] applies the schedule's. Dropping
    /// it must leave the check usable for the next run.
    fn observe(&self) -> Pending<'_>;

    /// What the `timeout` verdict of a run that did not finish within `timeout` says.
    fn timed_out(&self, timeout: Duration) -> String;
}

/// Runs `check` once under its schedule's timeout: the one place a check's timeout is
/// applied, for the engine's loop and for a single run alike.
pub async fn run(check: &dyn Check) -> Observation {
    let started = Instant::now();
    let timeout = check.schedule().timeout;
    match tokio::time::timeout(timeout, check.observe()).await {
        Ok(observation) => observation,
        Err(_) => Observation::fail(Class::Timeout, check.timed_out(timeout), started),
    }
}
