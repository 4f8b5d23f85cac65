//! Consecutive-result hysteresis, in one place: a check's effective status flips to
//! fail only after `failure` failures in a row and back only after `success` passes
//! in a row (a first run counts at once), and the start of the current run of
//! failures or passes is remembered for the cause-aware rules in `probes.rs`.
//!
//! Pure logic like the rest of `verdict`: no I/O, no clock of its own (observations
//! carry their times). It must not decide what a probe answers; that is `probes.rs`.

use tokio::time::Instant;

use super::{Class, Observation, Status};

/// Consecutive-result hysteresis for one check.
#[derive(Clone, Debug)]
pub struct CheckState {
    pub last: Option<Observation>,
    /// The status probes act on: flips only after the thresholds.
    pub effective: Status,
    /// The observation that set the effective status (its class is the effective class).
    pub effective_class: Class,
    pub effective_message: String,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    /// When the current run of failures began (the first failing run's start).
    pub failing_since: Option<Instant>,
    /// When the current run of passes began (the first passing run's start).
    pub passing_since: Option<Instant>,
}

impl Default for CheckState {
    fn default() -> Self {
        CheckState {
            last: None,
            effective: Status::Fail,
            effective_class: Class::Pending,
            effective_message: "not run yet".to_string(),
            consecutive_failures: 0,
            consecutive_successes: 0,
            failing_since: None,
            passing_since: None,
        }
    }
}

/// How many consecutive results flip a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub failure: u32,
    pub success: u32,
}

impl CheckState {
    /// Folds one observation in. Returns true when the effective status changed.
    pub fn record(&mut self, observation: Observation, thresholds: Thresholds) -> bool {
        let before = (self.effective, self.effective_class);
        let first = self.last.is_none();
        if observation.status == Status::Fail {
            self.consecutive_successes = 0;
            self.passing_since = None;
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            if self.consecutive_failures == 1 {
                self.failing_since = Some(observation.started);
            }
            // A first run that fails counts at once: a fresh sidecar has nothing to
            // hold on to, and the starting status is already fail.
            if first
                || self.consecutive_failures >= thresholds.failure
                || self.effective == Status::Fail
            {
                self.set_effective(&observation);
            }
        } else {
            self.consecutive_failures = 0;
            self.failing_since = None;
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            if self.consecutive_successes == 1 {
                self.passing_since = Some(observation.started);
            }
            if first
                || self.consecutive_successes >= thresholds.success
                || self.effective != Status::Fail
            {
                self.set_effective(&observation);
            }
        }
        self.last = Some(observation);
        before != (self.effective, self.effective_class)
    }

    fn set_effective(&mut self, observation: &Observation) {
        self.effective = observation.status;
        self.effective_class = observation.class;
        self.effective_message = observation.message.clone();
    }
}
