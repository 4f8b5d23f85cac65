//! wp-sentinel: a health-probe sidecar and self-healing agent for WordPress on
//! Kubernetes.
//!
//! Data flows one way: checks produce observations, the board folds them into
//! verdicts, the server reads the board, the healer reacts to verdicts. Probe handlers
//! never wait on I/O; only the check loops and the healer do I/O.
//!
//! Layout:
//! - `config`: the only module that knows figment; raw layers → validated `Config`.
//! - `wordpress_env`: the `WORDPRESS_*` variables as the official image reads them.
//! - `secret`: a string that never prints itself.
//! - `verdict`: pure rules: hysteresis, and how check states map to the probes.
//! - `board`: the latest snapshot, staleness, draining; logs and metrics of changes.
//! - `engine`: one loop for every check (interval, jitter, triggers).
//! - `checks`: the `Check` trait and `run` (the one timeout); `wordpress` (HTTP),
//!   `mysql` (the only MySQL code), `wpconfig` (the file).
//! - `wpconfig`: the pure `wp-config.php` reader and drift comparison.
//! - `http`: the one HTTP GET client (the WordPress checks, `probe`).
//! - `server`: routes and bodies; `metrics`: names and recorder.
//! - `heal`: restart detection, the breaker, restore and quarantine; `watch`: inotify.
//! - `shutdown`, `logging`, `cli`: the process around it.

pub mod board;
pub mod checks;
pub mod cli;
pub mod config;
pub mod engine;
pub mod heal;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod secret;
pub mod server;
pub mod shutdown;
pub mod verdict;
pub mod watch;
pub mod wordpress_env;
pub mod wpconfig;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::board::{Board, CheckSettings};
use crate::config::{Config, Schedule};
use crate::engine::Engine;
use crate::server::admission::Admission;
use crate::server::AppState;
use crate::verdict::Thresholds;

/// A running sidecar's handles, for tests and for `run`.
pub struct Running {
    pub board: Arc<Board>,
    pub local_addr: SocketAddr,
    /// The probe port's connection books (open, evicted, refused).
    pub admission: Arc<Admission>,
}

fn check_settings(enabled: bool, schedule: &Schedule) -> CheckSettings {
    CheckSettings {
        enabled,
        thresholds: Thresholds {
            failure: schedule.failure_threshold,
            success: schedule.success_threshold,
        },
        staleness_bound: schedule.staleness_bound(),
    }
}

/// Builds the board for a configuration: one entry per check.
pub fn new_board(config: &Config) -> Arc<Board> {
    Board::new(verdict::PerCheck::from_fn(|check| {
        let (enabled, schedule) = check_schedule(config, check);
        check_settings(enabled, schedule)
    }))
}

/// Whether `check` runs, and on what schedule.
pub fn check_schedule(config: &Config, check: verdict::CheckName) -> (bool, &Schedule) {
    use verdict::CheckName::*;
    match check {
        WordPress => (true, &config.wordpress.schedule),
        WordPressLight => (
            config.wordpress_light.enabled,
            &config.wordpress_light.schedule,
        ),
        Mysql => (config.mysql.enabled, &config.mysql.schedule),
        WpConfig => (config.wpconfig.enabled, &config.wpconfig.schedule),
    }
}

/// Runs the sidecar until `shutdown` resolves, then fails readiness, keeps answering
/// for the drain period, lets in-flight requests finish under a deadline, stops the
/// checks and closes the database pool.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    run_with(config, listener, shutdown, |_| {}).await
}

/// `run`, with a callback that receives the handles once serving (for tests).
pub async fn run_with(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    on_start: impl FnOnce(Running),
) -> std::io::Result<()> {
    let metrics_handle = metrics::install();
    let board = new_board(&config);
    let (stop_checks, checks_stopped) = tokio::sync::watch::channel(false);
    let (stop_accepting, accept_stopped) = tokio::sync::watch::channel(false);
    let wpconfig = match config.wpconfig.enabled {
        true => Some(Arc::new(
            checks::wpconfig::from_config(&config.wpconfig).map_err(std::io::Error::other)?,
        )),
        false => None,
    };
    let engine = Engine::start(
        &config,
        board.clone(),
        wpconfig.clone(),
        checks_stopped.clone(),
    );
    let witness = Arc::new(heal::witness::LivenessWitness::new(
        config.heal.liveness_failure_threshold,
    ));
    let mut background = Vec::new();
    if let Some(check) = &wpconfig {
        let trigger = engine.triggers.of(verdict::CheckName::WpConfig).clone();
        background.push(tokio::spawn(watch::keep_watching(
            config.wpconfig.path.clone(),
            trigger.clone(),
            checks_stopped.clone(),
        )));
        let healer = heal::Healer {
            settings: config.heal.clone(),
            path: config.wpconfig.path.clone(),
            golden: config.wpconfig.golden.clone(),
            check: check.clone(),
            board: board.clone(),
            recheck: trigger,
            quarantine_after: config.heal.quarantine_after,
            witness: witness.clone(),
            state: config
                .heal
                .state_file
                .clone()
                .map(|path| heal::state::StateFile::new(path, config.wpconfig.max_bytes)),
        };
        // Before the server answers: a recalled breaker is on the board at once.
        let healer = healer.recall_state().await;
        background.push(tokio::spawn(
            healer.run(board.subscribe(), checks_stopped.clone()),
        ));
    }
    let upkeep = tokio::spawn(metrics::upkeep_loop(metrics_handle.clone(), checks_stopped));
    let state = Arc::new(AppState {
        board: board.clone(),
        metrics: metrics_handle,
        witness,
    });
    let local_addr = listener.local_addr()?;
    tracing::info!(listen = %local_addr, "wp-sentinel serving probes");
    let admission = Admission::new(config.server.max_connections);
    on_start(Running {
        board: board.clone(),
        local_addr,
        admission: admission.clone(),
    });
    let server = tokio::spawn(server::accept::serve(
        listener,
        state,
        config.server.clone(),
        admission,
        config.shutdown.deadline,
        accept_stopped,
    ));

    shutdown.await;
    board.start_draining();
    tracing::info!(drain = ?config.shutdown.drain, "readiness now fails; draining before exit");
    tokio::time::sleep(config.shutdown.drain).await;
    let _ = stop_accepting.send(true);
    let _ = server.await;
    let _ = stop_checks.send(true);
    engine.stop().await;
    let _ = upkeep.await;
    for task in background {
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
    tracing::info!("wp-sentinel stopped");
    Ok(())
}
