//! Schedules the checks: each runs in its own task, on its own interval plus random
//! jitter, under its own timeout (inside the check), and reports to the board.
//! A check can be triggered early: WordPress reporting an error triggers an immediate
//! database re-check (so the two intervals cannot race an outage into a restart), and
//! a file event triggers the wp-config check.
//!
//! Only this file and the healer do I/O on a schedule; probe handlers never wait on it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::board::Board;
use crate::checks::mysql::MysqlCheck;
use crate::checks::wordpress::WordPressCheck;
use crate::checks::wpconfig::WpConfigCheck;
use crate::config::{Config, Schedule};
use crate::verdict::{CheckName, Class, Observation};

/// Wakes a check loop before its interval is up.
#[derive(Clone, Default)]
pub struct Triggers {
    pub mysql: Arc<Notify>,
    pub wpconfig: Arc<Notify>,
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

        let wordpress = Arc::new(WordPressCheck::new(&config.wordpress));
        let mysql_trigger = triggers.mysql.clone();
        let mysql_enabled = config.mysql.enabled;
        handles.push(tokio::spawn(check_loop(
            CheckName::WordPress,
            config.wordpress.schedule,
            board.clone(),
            Arc::new(Notify::new()),
            shutdown.clone(),
            move || {
                let wordpress = wordpress.clone();
                async move { wordpress.run().await }
            },
            move |observation: &Observation| {
                let wordpress_blames_something = matches!(
                    observation.class,
                    Class::DatabaseError | Class::ServerError | Class::UnexpectedStatus
                );
                if wordpress_blames_something && mysql_enabled {
                    mysql_trigger.notify_one();
                }
            },
            liveness_failing,
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
async fn check_loop<F, Fut, A>(
    name: CheckName,
    schedule: Schedule,
    board: Arc<Board>,
    trigger: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    run: F,
    after: A,
    hurry: fn(&Board) -> bool,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Observation>,
    A: Fn(&Observation),
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
        if hurry(&board) {
            wait = wait.min(HURRIED_INTERVAL);
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

fn liveness_failing(board: &Board) -> bool {
    !crate::verdict::all_ok(board.snapshot().probe_lines(crate::verdict::Probe::Live))
}

fn never(_: &Board) -> bool {
    false
}

fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let millis = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::random_range(0..=millis))
}
