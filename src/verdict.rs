//! What a check observed, and how the checks' latest states map to the three probes.
//!
//! This file is pure logic: no I/O, no clocks of its own (times are passed in), so the
//! cause-aware rules can be unit-tested exhaustively. The rules are the product:
//! a database outage never fails liveness; WordPress answering database errors fails
//! liveness only when the sidecar itself reached the database *after* WordPress
//! reported the error; drift fails liveness unless the restart-loop breaker tripped.

use std::fmt;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// The three outcomes a check can have, in the health+json vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    /// The health+json spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }

    /// Pass and warn both let a probe pass; only fail fails it.
    pub fn is_ok(self) -> bool {
        self != Status::Fail
    }
}

/// The checks the sidecar runs. Names are stable: they appear in URLs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckName {
    WordPress,
    Mysql,
    WpConfig,
}

impl CheckName {
    pub const ALL: [CheckName; 3] = [CheckName::WordPress, CheckName::Mysql, CheckName::WpConfig];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::WordPress => "wordpress",
            CheckName::Mysql => "mysql",
            CheckName::WpConfig => "wpconfig",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn parse(name: &str) -> Option<CheckName> {
        CheckName::ALL
            .into_iter()
            .find(|check| check.as_str() == name)
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a check ended as it did. The snake-case names are metric label values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    Ok,
    /// Not run yet.
    Pending,
    // WordPress over HTTP.
    Refused,
    Timeout,
    DatabaseError,
    ServerError,
    Maintenance,
    UnexpectedStatus,
    Protocol,
    // MySQL.
    Unreachable,
    AccessDenied,
    TooManyConnections,
    HostBlocked,
    UnknownDatabase,
    TablesMissing,
    Tls,
    // wp-config.php.
    Drift,
    ChangedOutsidePins,
    FileProblem,
    // Anything that should not happen (a check that panicked, a bug).
    Internal,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::Pending => "pending",
            Class::Refused => "refused",
            Class::Timeout => "timeout",
            Class::DatabaseError => "database_error",
            Class::ServerError => "server_error",
            Class::Maintenance => "maintenance",
            Class::UnexpectedStatus => "unexpected_status",
            Class::Protocol => "protocol_error",
            Class::Unreachable => "unreachable",
            Class::AccessDenied => "access_denied",
            Class::TooManyConnections => "too_many_connections",
            Class::HostBlocked => "host_blocked",
            Class::UnknownDatabase => "unknown_database",
            Class::TablesMissing => "tables_missing",
            Class::Tls => "tls_error",
            Class::Drift => "drift",
            Class::ChangedOutsidePins => "changed_outside_pins",
            Class::FileProblem => "file_problem",
            Class::Internal => "internal_error",
        }
    }

    /// Whether an HTTP answer came back from PHP at all (what `/startupz` waits for).
    pub fn is_http_answer(self) -> bool {
        matches!(
            self,
            Class::Ok
                | Class::DatabaseError
                | Class::ServerError
                | Class::Maintenance
                | Class::UnexpectedStatus
        )
    }
}

/// One run of one check.
#[derive(Clone, Debug)]
pub struct Observation {
    pub status: Status,
    pub class: Class,
    /// A human sentence; never holds a secret.
    pub message: String,
    pub started: Instant,
    pub duration: Duration,
    /// Wall-clock time the run finished, for the health+json `time` field.
    pub finished_at: SystemTime,
}

impl Observation {
    pub fn new(status: Status, class: Class, message: impl Into<String>, started: Instant) -> Self {
        Observation {
            status,
            class,
            message: message.into(),
            started,
            duration: started.elapsed(),
            finished_at: SystemTime::now(),
        }
    }

    pub fn pass(message: impl Into<String>, started: Instant) -> Self {
        Observation::new(Status::Pass, Class::Ok, message, started)
    }

    pub fn fail(class: Class, message: impl Into<String>, started: Instant) -> Self {
        Observation::new(Status::Fail, class, message, started)
    }

    pub fn finished(&self) -> Instant {
        self.started + self.duration
    }
}

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

/// A probe's verdict on one check, as listed by `?verbose`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub name: &'static str,
    pub ok: bool,
    pub reason: String,
}

/// Which probe is asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Probe {
    Live,
    Ready,
    Startup,
}

impl Probe {
    pub fn as_str(self) -> &'static str {
        match self {
            Probe::Live => "live",
            Probe::Ready => "ready",
            Probe::Startup => "startup",
        }
    }
}

/// Everything the mapping needs besides the check states.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context {
    pub draining: bool,
    /// The restart-loop breaker has tripped: drift no longer fails liveness.
    pub breaker_tripped: bool,
    /// Whether the wp-config check is enabled (a missing file is expected in the
    /// seed's layout, where the sidecar cannot see the docroot).
    pub wpconfig_enabled: bool,
    /// Whether the database check is enabled. Without it nobody can confirm the
    /// database is fine, so WordPress is never blamed for database errors.
    pub mysql_enabled: bool,
}

/// The states of all checks, indexed by `CheckName::index`.
pub type States = [CheckState; 3];

/// The lines of one probe. A probe passes when every line is ok.
pub fn evaluate(probe: Probe, states: &States, context: Context) -> Vec<Line> {
    let wordpress = &states[CheckName::WordPress.index()];
    let mysql = &states[CheckName::Mysql.index()];
    let wpconfig = &states[CheckName::WpConfig.index()];
    let mut lines = Vec::with_capacity(4);
    match probe {
        Probe::Startup => lines.push(startup_line(wordpress)),
        Probe::Live => {
            lines.push(live_wordpress_line(
                wordpress,
                mysql,
                context.breaker_tripped,
            ));
            if context.wpconfig_enabled {
                lines.push(live_wpconfig_line(wpconfig, context.breaker_tripped));
            }
        }
        Probe::Ready => {
            lines.push(plain_line(CheckName::WordPress, wordpress));
            if context.mysql_enabled {
                lines.push(plain_line(CheckName::Mysql, mysql));
            }
            if context.wpconfig_enabled {
                let mut line = plain_line(CheckName::WpConfig, wpconfig);
                if context.breaker_tripped && line.ok {
                    line.ok = false;
                    line.reason =
                        "restart-loop breaker tripped: restarts did not heal the drift".into();
                }
                lines.push(line);
            }
            lines.push(Line {
                name: "shutdown",
                ok: !context.draining,
                reason: if context.draining {
                    "draining: the sidecar is shutting down".into()
                } else {
                    String::new()
                },
            });
        }
    }
    lines
}

fn plain_line(name: CheckName, state: &CheckState) -> Line {
    Line {
        name: name.as_str(),
        ok: state.effective.is_ok(),
        // A plain pass needs no story; a warn or a failure says why.
        reason: if state.effective == Status::Pass {
            String::new()
        } else {
            state.effective_message.clone()
        },
    }
}

fn startup_line(wordpress: &CheckState) -> Line {
    // Any HTTP answer from PHP means the container started, even the database-error
    // page: a deploy during a database outage must not turn into a restart loop.
    let answered = wordpress
        .last
        .as_ref()
        .is_some_and(|last| last.class.is_http_answer());
    let reason = match &wordpress.last {
        Some(last) if !answered => last.message.clone(),
        None => "WordPress not checked yet".to_string(),
        Some(_) => String::new(),
    };
    Line {
        name: "wordpress",
        ok: answered,
        reason,
    }
}

fn live_wordpress_line(wordpress: &CheckState, mysql: &CheckState, breaker_tripped: bool) -> Line {
    let ok = |reason: &str| Line {
        name: "wordpress",
        ok: true,
        reason: reason.to_string(),
    };
    let fail = |reason: String| Line {
        name: "wordpress",
        ok: false,
        reason,
    };
    if wordpress.effective != Status::Fail {
        return ok("");
    }
    match wordpress.effective_class {
        // Not checked yet: liveness starts as success in the kubelet too.
        Class::Pending => ok("not checked yet"),
        // Maintenance mode is alive, just not ready.
        Class::Maintenance => ok("maintenance mode"),
        Class::Refused | Class::Timeout | Class::Protocol | Class::Internal => fail(format!(
            "WordPress is not answering: {}",
            wordpress.effective_message
        )),
        Class::DatabaseError | Class::ServerError | Class::UnexpectedStatus => {
            let line = blame_wordpress_if_database_is_fine(wordpress, mysql);
            if line.ok || !breaker_tripped {
                return line;
            }
            // Restarts did not heal the drift, and the drift explains these errors:
            // holding liveness here too is what stops the restart loop.
            ok(&format!(
                "{} (restart-loop breaker tripped: liveness held)",
                line.reason
            ))
        }
        _ => fail(wordpress.effective_message.clone()),
    }
}

/// WordPress answered an error. It is WordPress's fault (a restart may help) only if
/// the database was fine all around WordPress's latest error: the sidecar's current
/// run of database passes began before that error, and one of them started after it
/// (the engine triggers that re-check at once). An error WordPress saw while the
/// database was down, read back after the database returned, is not its fault.
/// Anything else, including a database check still under way, holds liveness.
fn blame_wordpress_if_database_is_fine(wordpress: &CheckState, mysql: &CheckState) -> Line {
    let error_at = wordpress.last.as_ref().map(|last| last.started);
    let database_fine_around = match (&mysql.last, mysql.passing_since, error_at) {
        (Some(last), Some(passing_since), Some(error_at)) => {
            last.status.is_ok()
                && mysql.effective.is_ok()
                && passing_since <= error_at
                && last.started >= error_at
        }
        _ => false,
    };
    if database_fine_around {
        Line {
            name: "wordpress",
            ok: false,
            reason: format!(
                "{} while the database answers with the desired settings: WordPress itself is broken",
                wordpress.effective_message
            ),
        }
    } else if mysql.effective == Status::Fail {
        Line {
            name: "wordpress",
            ok: true,
            reason: format!(
                "{} (database is down: not WordPress's fault)",
                wordpress.effective_message
            ),
        }
    } else {
        Line {
            name: "wordpress",
            ok: true,
            reason: format!(
                "{} (re-checking the database before blaming WordPress)",
                wordpress.effective_message
            ),
        }
    }
}

fn live_wpconfig_line(wpconfig: &CheckState, breaker_tripped: bool) -> Line {
    let drifted = wpconfig.effective == Status::Fail && wpconfig.effective_class == Class::Drift;
    if drifted && breaker_tripped {
        return Line {
            name: "wpconfig",
            ok: true,
            reason: format!(
                "{} (restart-loop breaker tripped: liveness held, readiness failing)",
                wpconfig.effective_message
            ),
        };
    }
    // A file problem (missing, unreadable) fails liveness only when it is drift the
    // restart can fix; the check itself classifies a missing file as drift when the
    // layout says a restart regenerates it.
    Line {
        name: "wpconfig",
        ok: !drifted,
        reason: if drifted {
            wpconfig.effective_message.clone()
        } else {
            String::new()
        },
    }
}

/// Whether all lines pass.
pub fn all_ok(lines: &[Line]) -> bool {
    lines.iter().all(|line| line.ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    const THRESHOLDS: Thresholds = Thresholds {
        failure: 2,
        success: 1,
    };

    /// An observation of `class` that started `at_ms` after `base`.
    fn observed(base: Instant, at_ms: u64, class: Class) -> Observation {
        let status = match class {
            Class::Ok => Status::Pass,
            Class::ChangedOutsidePins => Status::Warn,
            _ => Status::Fail,
        };
        let started = base + Duration::from_millis(at_ms);
        Observation {
            status,
            class,
            message: class.as_str().to_string(),
            started,
            duration: Duration::from_millis(3),
            finished_at: SystemTime::now(),
        }
    }

    /// Feeds `(check, at_ms, class)` events in order and returns the states.
    fn states(events: &[(CheckName, u64, Class)]) -> States {
        let base = Instant::now();
        let mut states: States = Default::default();
        for (check, at_ms, class) in events {
            states[check.index()].record(observed(base, *at_ms, *class), THRESHOLDS);
        }
        states
    }

    fn passes(probe: Probe, states: &States, context: Context) -> bool {
        all_ok(&evaluate(probe, states, context))
    }

    const WITH_FILE: Context = Context {
        draining: false,
        breaker_tripped: false,
        wpconfig_enabled: true,
        mysql_enabled: true,
    };
    use CheckName::{Mysql as M, WordPress as W, WpConfig as C};

    #[test]
    fn hysteresis_needs_consecutive_failures_and_successes() {
        let base = Instant::now();
        let mut state = CheckState::default();
        let thresholds = Thresholds {
            failure: 3,
            success: 2,
        };
        assert!(
            state.record(observed(base, 0, Class::Ok), thresholds),
            "first result counts at once"
        );
        assert!(!state.record(observed(base, 1, Class::Timeout), thresholds));
        assert!(!state.record(observed(base, 2, Class::Timeout), thresholds));
        assert_eq!(state.effective, Status::Pass);
        assert!(
            state.record(observed(base, 3, Class::Timeout), thresholds),
            "third failure flips"
        );
        assert_eq!(
            (state.effective, state.effective_class),
            (Status::Fail, Class::Timeout)
        );
        assert!(
            !state.record(observed(base, 4, Class::Ok), thresholds),
            "one success is not enough"
        );
        assert!(state.record(observed(base, 5, Class::Ok), thresholds));
        assert_eq!(state.effective, Status::Pass);
        // A failure between successes resets the count.
        state.record(observed(base, 6, Class::Timeout), thresholds);
        state.record(observed(base, 7, Class::Ok), thresholds);
        state.record(observed(base, 8, Class::Timeout), thresholds);
        state.record(observed(base, 9, Class::Timeout), thresholds);
        assert_eq!(
            state.effective,
            Status::Pass,
            "failures were not consecutive"
        );
    }

    #[test]
    fn first_failure_counts_at_once_and_updates_reason_while_failing() {
        let base = Instant::now();
        let mut state = CheckState::default();
        state.record(observed(base, 0, Class::Refused), THRESHOLDS);
        assert_eq!(
            (state.effective, state.effective_class),
            (Status::Fail, Class::Refused)
        );
        state.record(observed(base, 1, Class::Timeout), THRESHOLDS);
        assert_eq!(
            state.effective_class,
            Class::Timeout,
            "a failing check shows its latest reason"
        );
    }

    #[test]
    fn database_outage_fails_readiness_never_liveness() {
        // WordPress shows the database-error page; the sidecar's own re-check fails too.
        let s = states(&[
            (M, 0, Class::Ok),
            (W, 0, Class::Ok),
            (W, 100, Class::DatabaseError),
            (M, 110, Class::Unreachable),
            (W, 200, Class::DatabaseError),
            (M, 210, Class::Unreachable),
        ]);
        assert!(passes(Probe::Live, &s, WITH_FILE));
        assert!(!passes(Probe::Ready, &s, WITH_FILE));
        assert!(
            passes(Probe::Startup, &s, WITH_FILE),
            "the error page is an HTTP answer"
        );
    }

    #[test]
    fn database_error_with_database_fine_after_it_fails_liveness() {
        let s = states(&[
            (M, 0, Class::Ok),
            (W, 100, Class::DatabaseError),
            (W, 200, Class::DatabaseError),
            (M, 210, Class::Ok),
        ]);
        let lines = evaluate(Probe::Live, &s, WITH_FILE);
        assert!(!all_ok(&lines));
        assert!(
            lines[0].reason.contains("WordPress itself is broken"),
            "{lines:?}"
        );
    }

    #[test]
    fn database_result_older_than_the_wordpress_error_holds_liveness() {
        // The race the re-check exists for: the last database success predates the error.
        let s = states(&[
            (M, 50, Class::Ok),
            (W, 100, Class::DatabaseError),
            (W, 200, Class::DatabaseError),
        ]);
        let lines = evaluate(Probe::Live, &s, WITH_FILE);
        assert!(all_ok(&lines), "{lines:?}");
        assert!(lines[0].reason.contains("re-checking"));
    }

    #[test]
    fn the_outages_last_error_read_after_the_database_returns_is_not_wordpress_fault() {
        // Regression: the database came back and passed its re-check while WordPress's
        // latest answer was still the outage's error page.
        let s = states(&[
            (M, 0, Class::Ok),
            (W, 0, Class::Ok),
            (W, 100, Class::DatabaseError),
            (M, 110, Class::Unreachable),
            (W, 200, Class::DatabaseError),
            (M, 210, Class::Unreachable),
            (M, 300, Class::Ok),
        ]);
        let lines = evaluate(Probe::Live, &s, WITH_FILE);
        assert!(all_ok(&lines), "{lines:?}");
    }

    #[test]
    fn wordpress_is_blamed_again_after_a_database_blip_once_it_errs_with_the_database_fine() {
        let s = states(&[
            (M, 0, Class::Ok),
            (W, 100, Class::DatabaseError),
            (W, 200, Class::DatabaseError),
            (M, 210, Class::Unreachable),
            (M, 300, Class::Ok),
            (W, 400, Class::DatabaseError),
            (M, 410, Class::Ok),
        ]);
        assert!(!passes(Probe::Live, &s, WITH_FILE));
    }

    #[test]
    fn the_breaker_also_holds_wordpress_errors_that_the_drift_explains() {
        // Regression: with DB_HOST 'hoge' the WordPress line kept failing liveness
        // after the breaker tripped, so the restart loop went on.
        let s = states(&[
            (M, 0, Class::Ok),
            (C, 0, Class::Drift),
            (W, 100, Class::DatabaseError),
            (W, 200, Class::DatabaseError),
            (M, 210, Class::Ok),
        ]);
        assert!(!passes(Probe::Live, &s, WITH_FILE));
        let tripped = Context {
            breaker_tripped: true,
            ..WITH_FILE
        };
        assert!(passes(Probe::Live, &s, tripped));
        assert!(!passes(Probe::Ready, &s, tripped));
        let wedged = states(&[
            (M, 0, Class::Ok),
            (C, 0, Class::Drift),
            (W, 100, Class::Timeout),
            (W, 200, Class::Timeout),
        ]);
        assert!(
            !passes(Probe::Live, &wedged, tripped),
            "a wedge is no drift symptom: still a restart"
        );
    }

    #[test]
    fn a_database_blip_below_threshold_does_not_blame_wordpress() {
        // Database check failed once (effective still pass) after WordPress's error.
        let s = states(&[
            (M, 0, Class::Ok),
            (W, 100, Class::DatabaseError),
            (W, 200, Class::DatabaseError),
            (M, 210, Class::Unreachable),
        ]);
        assert!(passes(Probe::Live, &s, WITH_FILE));
    }

    #[test]
    fn other_server_errors_blame_wordpress_only_when_the_database_answers() {
        let fine = states(&[
            (M, 0, Class::Ok),
            (W, 100, Class::ServerError),
            (W, 200, Class::ServerError),
            (M, 210, Class::Ok),
        ]);
        assert!(!passes(Probe::Live, &fine, WITH_FILE));
        let down = states(&[
            (M, 0, Class::Ok),
            (W, 100, Class::ServerError),
            (W, 200, Class::ServerError),
            (M, 210, Class::Timeout),
        ]);
        assert!(passes(Probe::Live, &down, WITH_FILE));
    }

    #[test]
    fn wedged_wordpress_fails_liveness_after_its_threshold() {
        let once = states(&[
            (W, 0, Class::Ok),
            (M, 0, Class::Ok),
            (W, 100, Class::Timeout),
        ]);
        assert!(
            passes(Probe::Live, &once, WITH_FILE),
            "one timeout is below the threshold"
        );
        let twice = states(&[
            (W, 0, Class::Ok),
            (M, 0, Class::Ok),
            (W, 100, Class::Timeout),
            (W, 200, Class::Refused),
        ]);
        assert!(!passes(Probe::Live, &twice, WITH_FILE));
        assert!(
            !passes(Probe::Startup, &twice, WITH_FILE),
            "refused is no HTTP answer"
        );
    }

    #[test]
    fn maintenance_is_alive_but_not_ready() {
        let s = states(&[(M, 0, Class::Ok), (W, 0, Class::Maintenance)]);
        assert!(passes(Probe::Live, &s, WITH_FILE));
        assert!(!passes(Probe::Ready, &s, WITH_FILE));
    }

    #[test]
    fn startup_waits_for_any_http_answer() {
        assert!(!passes(Probe::Startup, &states(&[]), WITH_FILE));
        assert!(!passes(
            Probe::Startup,
            &states(&[(W, 0, Class::Refused)]),
            WITH_FILE
        ));
        for class in [
            Class::Ok,
            Class::DatabaseError,
            Class::ServerError,
            Class::UnexpectedStatus,
            Class::Maintenance,
        ] {
            assert!(
                passes(Probe::Startup, &states(&[(W, 0, class)]), WITH_FILE),
                "{class:?}"
            );
        }
    }

    #[test]
    fn drift_fails_both_until_the_breaker_trips() {
        let s = states(&[(W, 0, Class::Ok), (M, 0, Class::Ok), (C, 0, Class::Drift)]);
        assert!(!passes(Probe::Live, &s, WITH_FILE));
        assert!(!passes(Probe::Ready, &s, WITH_FILE));
        let tripped = Context {
            breaker_tripped: true,
            ..WITH_FILE
        };
        assert!(passes(Probe::Live, &s, tripped));
        assert!(!passes(Probe::Ready, &s, tripped));
    }

    #[test]
    fn file_problems_and_outside_changes_do_not_fail_liveness() {
        let missing = states(&[
            (W, 0, Class::Ok),
            (M, 0, Class::Ok),
            (C, 0, Class::FileProblem),
        ]);
        assert!(passes(Probe::Live, &missing, WITH_FILE));
        assert!(!passes(Probe::Ready, &missing, WITH_FILE));
        let changed = states(&[
            (W, 0, Class::Ok),
            (M, 0, Class::Ok),
            (C, 0, Class::ChangedOutsidePins),
        ]);
        assert!(passes(Probe::Live, &changed, WITH_FILE));
        assert!(passes(Probe::Ready, &changed, WITH_FILE), "warn passes");
    }

    #[test]
    fn draining_fails_readiness_only() {
        let s = states(&[(W, 0, Class::Ok), (M, 0, Class::Ok), (C, 0, Class::Ok)]);
        assert!(passes(Probe::Ready, &s, WITH_FILE));
        let draining = Context {
            draining: true,
            ..WITH_FILE
        };
        assert!(!passes(Probe::Ready, &s, draining));
        assert!(passes(Probe::Live, &s, draining));
    }

    #[test]
    fn disabled_checks_have_no_lines() {
        let s = states(&[(W, 0, Class::Ok)]);
        let lines = evaluate(Probe::Ready, &s, Context::default());
        assert!(lines
            .iter()
            .all(|line| line.name != "wpconfig" && line.name != "mysql"));
        assert!(all_ok(&lines));
    }
}
