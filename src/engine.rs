//! Schedules the checks: each runs in its own task, on its own interval plus random
//! jitter, under its own timeout (applied by `checks::run`, the one way a check
//! runs), and reports to the board. A check can be triggered early: WordPress
//! reporting an error triggers an immediate database re-check (so the two intervals
//! cannot race an outage into a restart), and a file event triggers the wp-config
//! check.
//!
//! WordPress has two checks: the light one often (`wordpress_light`, cheap: is PHP
//! alive) and the deep one rarely (`wordpress`, `/wp-login.php`), but at once on every
//! change the board shows (the light or the database check failing or recovering,
//! drift found or healed, the breaker) and every 250 ms while liveness fails (so the
//! kubelet's restart is seen). Either WordPress check whose latest result disagrees
//! with its effective status is re-run after 250 ms, to confirm the change.
//!
//! Adding a check: its `CheckName`, its `Check` implementation, and its arm in
//! `enabled_checks`; the loop is the same for all.
//!
//! Only this file and the healer do I/O on a schedule; probe handlers never wait on it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::board::{Board, Snapshot};
use crate::checks::mysql::MysqlCheck;
use crate::checks::wordpress::WordPressCheck;
use crate::checks::wpconfig::WpConfigCheck;
use crate::checks::{self, Check, Pace};
use crate::config::Config;
use crate::verdict::{CheckName, Class, PerCheck, Status};

/// Wakes a check loop before its interval is up: one per check.
#[derive(Clone, Default)]
pub struct Triggers(PerCheck<Arc<Notify>>);

impl Triggers {
    /// The trigger of `check`'s loop.
    pub fn of(&self, check: CheckName) -> &Arc<Notify> {
        &self.0[check]
    }
}

/// The running check loops.
pub struct Engine {
    pub triggers: Triggers,
    handles: Vec<JoinHandle<()>>,
    mysql: Option<Arc<MysqlCheck>>,
}

impl Engine {
    /// Starts every enabled check loop. The first run of each starts at once.
    pub fn start(
        config: &Config,
        board: Arc<Board>,
        wpconfig: Option<Arc<WpConfigCheck>>,
        shutdown: watch::Receiver<bool>,
    ) -> Engine {
        let triggers = Triggers::default();
        let mysql = config
            .mysql
            .enabled
            .then(|| Arc::new(MysqlCheck::new(&config.mysql)));
        let checks = enabled_checks(config, wpconfig, mysql.clone());
        let running: Arc<[CheckName]> = checks.iter().map(|check| check.name()).collect();
        let mut handles: Vec<JoinHandle<()>> = checks
            .into_iter()
            .map(|check| {
                tokio::spawn(check_loop(
                    check,
                    board.clone(),
                    triggers.clone(),
                    running.clone(),
                    shutdown.clone(),
                ))
            })
            .collect();
        handles.push(tokio::spawn(deep_check_on_changes(
            board,
            triggers.of(CheckName::WordPress).clone(),
            shutdown,
        )));
        Engine {
            triggers,
            handles,
            mysql,
        }
    }

    /// Waits for the loops to stop (they stop when shutdown is signalled) and closes
    /// the database pool.
    pub async fn stop(self) {
        for handle in self.handles {
            let _ = tokio::time::timeout(Duration::from_secs(3), handle).await;
        }
        if let Some(mysql) = self.mysql.and_then(|arc| Arc::try_unwrap(arc).ok()) {
            mysql.disconnect().await;
        }
    }
}

/// The checks this configuration runs, in `CheckName::ALL`'s order: the one list a
/// new check joins (the match makes the compiler ask for it).
fn enabled_checks(
    config: &Config,
    wpconfig: Option<Arc<WpConfigCheck>>,
    mysql: Option<Arc<MysqlCheck>>,
) -> Vec<Arc<dyn Check>> {
    CheckName::ALL
        .into_iter()
        .filter_map(|name| -> Option<Arc<dyn Check>> {
            match name {
                CheckName::WordPress => Some(Arc::new(
                    WordPressCheck::new(&config.wordpress)
                        .paced_while_failing(config.wordpress_light.schedule.interval),
                )),
                CheckName::WordPressLight => config.wordpress_light.enabled.then(|| {
                    Arc::new(WordPressCheck::light(
                        &config.wordpress,
                        &config.wordpress_light,
                    )) as Arc<dyn Check>
                }),
                CheckName::Mysql => mysql.clone().map(|check| check as Arc<dyn Check>),
                CheckName::WpConfig => wpconfig.clone().map(|check| check as Arc<dyn Check>),
            }
        })
        .collect()
}

/// One check's loop: run (under its timeout), wake the check its result calls for,
/// report, wait for the interval (plus jitter, or less when its pace says so), a
/// trigger or shutdown.
async fn check_loop(
    check: Arc<dyn Check>,
    board: Arc<Board>,
    triggers: Triggers,
    running: Arc<[CheckName]>,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = check.name();
    let schedule = check.schedule();
    let trigger = triggers.of(name).clone();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let observation = tokio::select! {
            observation = checks::run(&*check) => observation,
            _ = shutdown.changed() => return,
        };
        if let Some(woken) = check.wakes(&observation) {
            if running.contains(&woken) {
                triggers.of(woken).notify_one();
            }
        }
        board.record(name, observation);
        let mut wait = schedule.interval + jitter(schedule.jitter);
        if let Some(sooner) = sooner(&board, name, check.pace()) {
            wait = wait.min(sooner);
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = trigger.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// While liveness fails, WordPress is checked this often, so that its restart by the
/// kubelet (down for a second or two, then up) is seen and counted by the healer.
const HURRIED_INTERVAL: Duration = Duration::from_millis(250);

/// How soon `check` runs again at `pace`, if sooner than its interval. A WordPress
/// check hurries while liveness fails (the restart must be seen), and re-runs soon
/// when its latest result disagrees with its effective status (a change under way is
/// confirmed, not left to the next interval). With `while_failing` (the deep check)
/// it also runs at that interval while it fails (WordPress not ready: an error page,
/// the installer, maintenance): readiness must come back within seconds of a repair,
/// and a failure at start-up must not keep a pod out of its Service for a whole
/// minute.
fn sooner(board: &Board, check: CheckName, pace: Pace) -> Option<Duration> {
    let Pace::WordPress { while_failing } = pace else {
        return None;
    };
    let snapshot = board.snapshot();
    let liveness_failing =
        !crate::verdict::all_ok(snapshot.probe_lines(crate::verdict::Probe::Live));
    let state = &snapshot.states[check];
    let change_under_way = state
        .last
        .as_ref()
        .is_some_and(|last| last.status.is_ok() != state.effective.is_ok());
    if liveness_failing || change_under_way {
        return Some(HURRIED_INTERVAL);
    }
    while_failing.filter(|_| state.effective == Status::Fail)
}

/// What, on the board, is a change the deep check must look at at once: the light
/// check's and the database check's latest results (pass or not), drift, the breaker.
/// A check that has not run yet counts as passing, so start-up alone (the deep check
/// runs first thing anyway) triggers nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Changes {
    light_ok: bool,
    mysql_ok: bool,
    drifted: bool,
    breaker_tripped: bool,
}

impl Changes {
    fn of(snapshot: &Snapshot) -> Changes {
        let last_ok = |check: CheckName| {
            snapshot.states[check]
                .last
                .as_ref()
                .is_none_or(|last| last.status.is_ok())
        };
        let wpconfig = &snapshot.states[CheckName::WpConfig];
        Changes {
            light_ok: last_ok(CheckName::WordPressLight),
            mysql_ok: last_ok(CheckName::Mysql),
            drifted: wpconfig.effective == Status::Fail && wpconfig.effective_class == Class::Drift,
            breaker_tripped: snapshot.context.breaker_tripped,
        }
    }
}

/// Wakes the deep check whenever [`Changes`] on the board change.
async fn deep_check_on_changes(
    board: Arc<Board>,
    deep: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut versions = board.subscribe();
    let mut seen = Changes::of(&board.snapshot());
    loop {
        tokio::select! {
            changed = versions.changed() => if changed.is_err() { return },
            _ = shutdown.changed() => return,
        }
        let now = Changes::of(&board.snapshot());
        if now != seen {
            tracing::debug!(
                ?seen,
                ?now,
                "a change on the board: the deep WordPress check runs now"
            );
            seen = now;
            deep.notify_one();
        }
    }
}

fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let millis = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::random_range(0..=millis))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::time::Instant;

    use super::*;
    use crate::board::CheckSettings;
    use crate::checks::Pending;
    use crate::config::Schedule;
    use crate::verdict::Thresholds;

    const INTERVAL: Duration = Duration::from_secs(10);
    const TIMEOUT: Duration = Duration::from_secs(2);

    /// A check whose every run waits for good (a server that accepts and never
    /// answers, a read stuck on a hung volume).
    struct NeverFinishes {
        runs: AtomicUsize,
    }

    impl Check for NeverFinishes {
        fn name(&self) -> CheckName {
            CheckName::Mysql
        }

        fn schedule(&self) -> Schedule {
            Schedule {
                interval: INTERVAL,
                timeout: TIMEOUT,
                jitter: Duration::ZERO,
                failure_threshold: 1,
                success_threshold: 1,
            }
        }

        fn observe(&self) -> Pending<'_> {
            self.runs.fetch_add(1, Ordering::SeqCst);
            Box::pin(std::future::pending())
        }

        fn timed_out(&self, timeout: Duration) -> String {
            format!("no answer within {timeout:?}")
        }
    }

    fn board() -> Arc<Board> {
        Board::new(
            [CheckSettings {
                enabled: true,
                thresholds: Thresholds {
                    failure: 1,
                    success: 1,
                },
                staleness_bound: Duration::from_secs(60),
            }; crate::verdict::N_CHECKS],
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_that_never_finishes_becomes_a_timeout_verdict_and_runs_again() {
        let board = board();
        let check = Arc::new(NeverFinishes {
            runs: AtomicUsize::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let mut versions = board.subscribe();
        let begun = Instant::now();
        let task = tokio::spawn(check_loop(
            check.clone(),
            board.clone(),
            Triggers::default(),
            Arc::from([CheckName::Mysql]),
            stopped,
        ));
        for run in 1..=2u32 {
            versions.changed().await.expect("the board publishes");
            let snapshot = board.snapshot();
            let last = snapshot.states[CheckName::Mysql]
                .last
                .clone()
                .expect("a verdict");
            assert_eq!(last.class, Class::Timeout, "run {run}: {}", last.message);
            assert_eq!(last.message, "no answer within 2s");
            assert_eq!(last.duration, TIMEOUT, "run {run} ends at its timeout");
            assert_eq!(check.runs.load(Ordering::SeqCst), run as usize);
            // Paused time: each run is the timeout, each wait the interval.
            assert_eq!(
                last.finished() - begun,
                TIMEOUT * run + INTERVAL * (run - 1),
                "run {run} began on schedule"
            );
        }
        stop.send(true).expect("the loop listens");
        task.await.expect("the loop stops on shutdown");
    }

    #[tokio::test(start_paused = true)]
    async fn a_trigger_runs_a_check_before_its_interval_is_up() {
        let board = board();
        let check = Arc::new(NeverFinishes {
            runs: AtomicUsize::new(0),
        });
        let triggers = Triggers::default();
        let (stop, stopped) = watch::channel(false);
        let mut versions = board.subscribe();
        let task = tokio::spawn(check_loop(
            check.clone(),
            board.clone(),
            triggers.clone(),
            Arc::from([CheckName::Mysql]),
            stopped,
        ));
        versions.changed().await.expect("the first verdict");
        let first = Instant::now();
        triggers.of(CheckName::Mysql).notify_one();
        versions.changed().await.expect("the triggered verdict");
        assert_eq!(check.runs.load(Ordering::SeqCst), 2);
        assert_eq!(
            Instant::now() - first,
            TIMEOUT,
            "the second run began at the trigger, not after the interval"
        );
        stop.send(true).expect("the loop listens");
        task.await.expect("the loop stops on shutdown");
    }
}
