//! The latest verdicts, published as an immutable snapshot that probe handlers load
//! without waiting (`ArcSwap`). Only the engine and the healer write; every write
//! recomputes the three probes' lines once, so a probe only formats what is there.
//!
//! Hysteresis lives in `verdict.rs`; this file keeps the states, the staleness clock,
//! the draining flag and the breaker flag, and logs and counts every change.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use arc_swap::ArcSwap;

use crate::metrics as metric_names;
use crate::verdict::{
    self, CheckName, CheckState, Context, Line, Observation, PerCheck, PerProbe, Probe, States,
    Thresholds,
};

/// What probes read.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub states: States,
    /// Each probe's lines.
    pub lines: PerProbe<Vec<Line>>,
    pub context: Context,
    pub enabled: PerCheck<bool>,
    pub staleness_bounds: PerCheck<Duration>,
    /// When the sidecar started: a check that never finished is stale from here.
    pub started: Instant,
    /// Extra explanation for verbose bodies (the breaker's story).
    pub notes: Vec<String>,
}

impl Snapshot {
    pub fn probe_lines(&self, probe: Probe) -> &[Line] {
        &self.lines[probe]
    }

    /// Checks whose latest result is older than its bound, with their age.
    pub fn stale_checks(&self, now: Instant) -> Vec<(CheckName, Duration)> {
        CheckName::ALL
            .into_iter()
            .filter(|check| self.enabled[*check])
            .filter_map(|check| {
                let state = &self.states[check];
                let since = state
                    .last
                    .as_ref()
                    .map(|last| last.finished())
                    .unwrap_or(self.started);
                let age = now.saturating_duration_since(since);
                (age > self.staleness_bounds[check]).then_some((check, age))
            })
            .collect()
    }
}

/// Check settings the board needs.
#[derive(Clone, Copy, Debug)]
pub struct CheckSettings {
    pub enabled: bool,
    pub thresholds: Thresholds,
    pub staleness_bound: Duration,
}

pub struct Board {
    snapshot: ArcSwap<Snapshot>,
    /// Serialises writers; readers never take it.
    write: Mutex<Writer>,
    /// Bumped on every publish, for the healer to wait on.
    changes: tokio::sync::watch::Sender<u64>,
}

struct Writer {
    thresholds: PerCheck<Thresholds>,
}

impl Board {
    /// `settings` has one entry per check (an array is in `CheckName::ALL`'s order).
    pub fn new(settings: impl Into<PerCheck<CheckSettings>>) -> Arc<Board> {
        let settings = settings.into();
        let context = Context {
            draining: false,
            breaker_tripped: false,
            mysql_enabled: settings[CheckName::Mysql].enabled,
            wpconfig_enabled: settings[CheckName::WpConfig].enabled,
            wordpress_light_enabled: settings[CheckName::WordPressLight].enabled,
        };
        let states: States = Default::default();
        let lines = compute_lines(&states, context);
        let snapshot = Snapshot {
            states,
            lines,
            context,
            enabled: settings.map(|s| s.enabled),
            staleness_bounds: settings.map(|s| s.staleness_bound),
            started: Instant::now(),
            notes: Vec::new(),
        };
        let board = Arc::new(Board {
            snapshot: ArcSwap::from_pointee(snapshot),
            write: Mutex::new(Writer {
                thresholds: settings.map(|s| s.thresholds),
            }),
            changes: tokio::sync::watch::channel(0).0,
        });
        board.publish_verdict_metrics(&board.snapshot());
        board
    }

    /// The latest snapshot; never waits.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Wakes on every change of the snapshot.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Whether the sidecar drains: the snapshot's flag, the only one kept.
    pub fn is_draining(&self) -> bool {
        self.snapshot.load().context.draining
    }

    /// Folds in one observation; logs and counts what changed.
    pub fn record(&self, check: CheckName, observation: Observation) {
        let seconds = observation.duration.as_secs_f64();
        let finished_unix = observation
            .finished_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        metrics::histogram!(metric_names::CHECK_DURATION, "check" => check.as_str())
            .record(seconds);
        metrics::gauge!(metric_names::CHECK_LAST_RUN, "check" => check.as_str()).set(finished_unix);
        if !observation.status.is_ok() {
            metrics::counter!(metric_names::CHECK_FAILURES, "check" => check.as_str(), "reason" => observation.class.as_str())
                .increment(1);
        }
        self.update(|snapshot, thresholds| {
            let state = &mut snapshot.states[check];
            if state.record(observation, thresholds[check]) {
                log_check_change(check, state);
            }
            metrics::gauge!(metric_names::CHECK_UP, "check" => check.as_str())
                .set(if state.effective.is_ok() { 1.0 } else { 0.0 });
        });
    }

    /// Starts draining: `/readyz` fails from now on.
    pub fn start_draining(&self) {
        self.update(|snapshot, _| snapshot.context.draining = true);
    }

    /// The restart-loop breaker's state, with a sentence for verbose bodies.
    pub fn set_breaker(&self, tripped: bool, note: Option<String>) {
        metrics::gauge!(metric_names::BREAKER_TRIPPED).set(if tripped { 1.0 } else { 0.0 });
        self.update(|snapshot, _| {
            snapshot.context.breaker_tripped = tripped;
            snapshot.notes = note.into_iter().collect();
        });
    }

    fn update(&self, change: impl FnOnce(&mut Snapshot, &PerCheck<Thresholds>)) {
        // A poisoned lock means a writer panicked mid-update; the snapshot it would have
        // replaced is still whole, so carry on with it.
        let writer = self
            .write
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = self.snapshot.load_full();
        let mut next = Snapshot::clone(&before);
        change(&mut next, &writer.thresholds);
        next.lines = compute_lines(&next.states, next.context);
        for probe in Probe::ALL {
            let was = verdict::all_ok(&before.lines[probe]);
            let now = verdict::all_ok(&next.lines[probe]);
            if was != now {
                log_probe_change(probe, now, &next.lines[probe]);
            }
        }
        self.publish_verdict_metrics(&next);
        self.snapshot.store(Arc::new(next));
        self.changes
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    fn publish_verdict_metrics(&self, snapshot: &Snapshot) {
        for (probe, lines) in snapshot.lines.iter() {
            let ok = verdict::all_ok(lines);
            metrics::gauge!(metric_names::VERDICT, "probe" => probe.as_str()).set(if ok {
                1.0
            } else {
                0.0
            });
        }
    }
}

fn compute_lines(states: &States, context: Context) -> PerProbe<Vec<Line>> {
    PerProbe::from_fn(|probe| verdict::evaluate(probe, states, context))
}

fn log_check_change(check: CheckName, state: &CheckState) {
    let status = state.effective.as_str();
    let reason = state.effective_class.as_str();
    if state.effective.is_ok() {
        tracing::info!(
            check = check.as_str(),
            status,
            reason,
            "check {check} now {status}: {}",
            state.effective_message
        );
    } else {
        tracing::warn!(
            check = check.as_str(),
            status,
            reason,
            "check {check} now {status}: {}",
            state.effective_message
        );
    }
}

fn log_probe_change(probe: Probe, ok: bool, lines: &[Line]) {
    let reasons: Vec<String> = lines
        .iter()
        .filter(|line| !line.ok)
        .map(|line| format!("{}: {}", line.subject, line.reason))
        .collect();
    if ok {
        tracing::info!(
            probe = probe.as_str(),
            verdict = "pass",
            "{} probe now passes",
            probe.as_str()
        );
    } else {
        tracing::warn!(
            probe = probe.as_str(),
            verdict = "fail",
            "{} probe now fails: {}",
            probe.as_str(),
            reasons.join("; ")
        );
    }
}

/// Seconds since the Unix epoch, for a `SystemTime`.
pub fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{Class, Status};

    fn settings(bound_secs: u64) -> CheckSettings {
        CheckSettings {
            enabled: true,
            thresholds: Thresholds {
                failure: 1,
                success: 1,
            },
            staleness_bound: Duration::from_secs(bound_secs),
        }
    }

    fn pass_now() -> Observation {
        Observation {
            status: Status::Pass,
            class: Class::Ok,
            message: "ok".into(),
            started: Instant::now(),
            duration: Duration::ZERO,
            finished_at: SystemTime::now(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_without_fresh_results_goes_stale() {
        let board = Board::new([settings(10), settings(10), settings(15), settings(10)]);
        assert!(
            board.snapshot().stale_checks(Instant::now()).is_empty(),
            "fresh at start"
        );
        tokio::time::advance(Duration::from_secs(11)).await;
        let stale: Vec<CheckName> = board
            .snapshot()
            .stale_checks(Instant::now())
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        assert_eq!(
            stale,
            vec![
                CheckName::WordPress,
                CheckName::Mysql,
                CheckName::WordPressLight
            ],
            "nothing ran for 11s"
        );
        board.record(CheckName::WordPress, pass_now());
        board.record(CheckName::Mysql, pass_now());
        board.record(CheckName::WordPressLight, pass_now());
        tokio::time::advance(Duration::from_secs(9)).await;
        let stale: Vec<CheckName> = board
            .snapshot()
            .stale_checks(Instant::now())
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        assert_eq!(
            stale,
            vec![CheckName::WpConfig],
            "wpconfig's bound is 15s, 20s passed without a result"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn disabled_checks_never_go_stale() {
        let mut disabled = settings(1);
        disabled.enabled = false;
        let board = Board::new([settings(100), disabled, disabled, disabled]);
        tokio::time::advance(Duration::from_secs(50)).await;
        assert!(board.snapshot().stale_checks(Instant::now()).is_empty());
    }

    #[test]
    fn draining_and_breaker_are_published_in_the_snapshot() {
        let board = Board::new([settings(10); verdict::N_CHECKS]);
        board.start_draining();
        assert!(board.is_draining());
        assert!(board.snapshot().context.draining);
        board.set_breaker(true, Some("tripped after 3 restarts".into()));
        let snapshot = board.snapshot();
        assert!(snapshot.context.breaker_tripped);
        assert_eq!(snapshot.notes, vec!["tripped after 3 restarts".to_string()]);
    }
}
