//! Schedules the checks: each runs in its own task, on its own interval plus random
//! jitter, under its own timeout (inside the check), and reports to the board.
//! A check can be triggered early: WordPress reporting an error triggers an immediate
//! database re-check (so the two intervals cannot race an outage into a restart), and
//! a file event triggers the wp-config check.
//!
//! WordPress has two checks: the light one often (`wordpress_light`, cheap: is PHP
//! alive) and the deep one rarely (`wordpress`, `/wp-login.php`), but at once on every
//! change the board shows (the light or the database check failing or recovering,
//! drift found or healed, the breaker) and every 250 ms while liveness fails (so the
//! kubelet's restart is seen). Either WordPress check whose latest result disagrees
//! with its effective status is re-run after 250 ms, to confirm the change.
//!
//! Only this file and the healer do I/O on a schedule; probe handlers never wait on it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::board::{Board, Snapshot};
use crate::checks::mysql::MysqlCheck;
use crate::checks::wordpress::WordPressCheck;
use crate::checks::wpconfig::WpConfigCheck;
use crate::config::{Config, Schedule};
use crate::verdict::{CheckName, Class, Observation, Status};

/// Wakes a check loop before its interval is up.
#[derive(Clone, Default)]
pub struct Triggers {
    pub mysql: Arc<Notify>,
    pub wpconfig: Arc<Notify>,
    /// The deep WordPress check.
    pub wordpress: Arc<Notify>,
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
        let mut handles = Vec::new();

        let mysql_enabled = config.mysql.enabled;
        let wordpress = Arc::new(WordPressCheck::new(&config.wordpress));
        handles.push(tokio::spawn(check_loop(
            CheckName::WordPress,
            config.wordpress.schedule,
            board.clone(),
            triggers.wordpress.clone(),
            shutdown.clone(),
            move || {
                let wordpress = wordpress.clone();
                async move { wordpress.run().await }
            },
            recheck_database_on_errors(mysql_enabled, triggers.mysql.clone()),
            deep_hurry(config.wordpress_light.schedule.interval),
        )));

        if config.wordpress_light.enabled {
            let light = Arc::new(WordPressCheck::light(
                &config.wordpress,
                &config.wordpress_light,
            ));
            handles.push(tokio::spawn(check_loop(
                CheckName::WordPressLight,
                config.wordpress_light.schedule,
                board.clone(),
                Arc::new(Notify::new()),
                shutdown.clone(),
                move || {
                    let light = light.clone();
                    async move { light.run().await }
                },
                recheck_database_on_errors(mysql_enabled, triggers.mysql.clone()),
                wordpress_hurry,
            )));
        }
        handles.push(tokio::spawn(deep_check_on_changes(
            board.clone(),
            triggers.wordpress.clone(),
            shutdown.clone(),
        )));

        let mysql = config
            .mysql
            .enabled
            .then(|| Arc::new(MysqlCheck::new(&config.mysql)));
        if let Some(check) = &mysql {
            let check = check.clone();
            handles.push(tokio::spawn(check_loop(
                CheckName::Mysql,
                config.mysql.schedule,
                board.clone(),
                triggers.mysql.clone(),
                shutdown.clone(),
                move || {
                    let check = check.clone();
                    async move { check.run().await }
                },
                |_: &Observation| {},
                never,
            )));
        }

        if let Some(check) = wpconfig {
            handles.push(tokio::spawn(check_loop(
                CheckName::WpConfig,
                config.wpconfig.schedule,
                board,
                triggers.wpconfig.clone(),
                shutdown,
                move || {
                    let check = check.clone();
                    async move { check.run().await }
                },
                |_: &Observation| {},
                never,
            )));
        }
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

/// One check's loop: run, report, wait for the interval (plus jitter), a trigger or
/// shutdown.
#[allow(clippy::too_many_arguments)]
async fn check_loop<F, Fut, A, H>(
    name: CheckName,
    schedule: Schedule,
    board: Arc<Board>,
    trigger: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    run: F,
    after: A,
    hurry: H,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Observation>,
    A: Fn(&Observation),
    H: Fn(&Board, CheckName) -> Option<Duration>,
{
    loop {
        if *shutdown.borrow() {
            return;
        }
        let observation = tokio::select! {
            observation = run() => observation,
            _ = shutdown.changed() => return,
        };
        after(&observation);
        board.record(name, observation);
        let mut wait = schedule.interval + jitter(schedule.jitter);
        if let Some(hurried) = hurry(&board, name) {
            wait = wait.min(hurried);
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

/// A WordPress check hurries while liveness fails (the restart must be seen), and
/// re-runs soon when its latest result disagrees with its effective status (a change
/// under way is confirmed, not left to the next interval).
fn wordpress_hurry(board: &Board, check: CheckName) -> Option<Duration> {
    let snapshot = board.snapshot();
    let liveness_failing =
        !crate::verdict::all_ok(snapshot.probe_lines(crate::verdict::Probe::Live));
    let state = &snapshot.states[check.index()];
    let change_under_way = state
        .last
        .as_ref()
        .is_some_and(|last| last.status.is_ok() != state.effective.is_ok());
    (liveness_failing || change_under_way).then_some(HURRIED_INTERVAL)
}

/// The deep check hurries like the light one, and while it fails (WordPress not
/// ready: an error page, the installer, maintenance) it runs at `failing_interval`
/// (the light check's): readiness must come back within seconds of a repair, and a
/// failure at start-up must not keep a pod out of its Service for a whole minute.
fn deep_hurry(failing_interval: Duration) -> impl Fn(&Board, CheckName) -> Option<Duration> {
    move |board: &Board, check: CheckName| {
        let failing = board.snapshot().states[check.index()].effective == Status::Fail;
        match wordpress_hurry(board, check) {
            Some(hurried) => Some(hurried),
            None => failing.then_some(failing_interval),
        }
    }
}

fn never(_: &Board, _: CheckName) -> Option<Duration> {
    None
}

/// WordPress answering an error page wakes the database check at once.
fn recheck_database_on_errors(
    mysql_enabled: bool,
    mysql_trigger: Arc<Notify>,
) -> impl Fn(&Observation) {
    move |observation: &Observation| {
        let wordpress_blames_something = matches!(
            observation.class,
            Class::DatabaseError | Class::ServerError | Class::UnexpectedStatus
        );
        if wordpress_blames_something && mysql_enabled {
            mysql_trigger.notify_one();
        }
    }
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
            snapshot.states[check.index()]
                .last
                .as_ref()
                .is_none_or(|last| last.status.is_ok())
        };
        let wpconfig = &snapshot.states[CheckName::WpConfig.index()];
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
