//! Healing: reacts to the board's verdicts. It learns of WordPress restarts from the
//! kubelet's own liveness probes (`heal/witness.rs`: the `failureThreshold`-th failure
//! in a row answered to `kube-probe` is the kill) and, as a second witness, from
//! polling (down, then answering again); it counts the ones that did not heal the drift, and trips the
//! restart-loop breaker after `heal.max_restarts` of them (liveness held, readiness
//! failing, said loudly). By policy it also writes the golden copy back (`restore`),
//! or moves the drifted file aside so the image's entrypoint writes a fresh one at
//! the next restart (`quarantine`, only once readiness has been failing long enough).
//!
//! The only code that writes `wp-config.php`. File operations are in `heal/files.rs`.

pub mod files;
pub mod state;
pub mod witness;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::board::{Board, Snapshot};
use crate::checks::wpconfig::WpConfigCheck;
use crate::config::{HealConfig, HealPolicy};
use crate::metrics as m;
use crate::verdict::{CheckName, Class};

/// What the healer needs.
pub struct Healer {
    pub settings: HealConfig,
    pub path: PathBuf,
    pub golden: Option<PathBuf>,
    pub check: Arc<WpConfigCheck>,
    pub board: Arc<Board>,
    /// Wakes the wp-config check to verify a repair at once.
    pub recheck: Arc<Notify>,
    /// How long readiness must have failed before quarantine moves the file.
    pub quarantine_after: Duration,
    /// The kubelet's restart orders, read off the liveness probes the server answered.
    pub witness: Arc<witness::LivenessWitness>,
    /// Where the memory survives a restart of the sidecar (`heal.state_file`).
    pub state: Option<state::StateFile>,
}

/// The healer's memory between board changes.
#[derive(Debug, Default)]
struct HealerMemory {
    /// WordPress answered at least once: its first start is no restart.
    seen_up: bool,
    wordpress_down: bool,
    /// The kubelet's restart orders already handled.
    orders_seen: u64,
    /// A restart the kubelet ordered that polling has not yet seen happen: the next
    /// "down, then up" polling sees is that one, not another.
    order_pending: bool,
    /// Restarts of WordPress during the current drift: ordered by the kubelet while
    /// the drift was there, or seen by polling with the drift still there after.
    unhealed_restarts: u32,
    tripped: bool,
    last_attempt: Option<Instant>,
}

/// How long after a failed repair before trying again: a read-only volume must not
/// turn into a hot loop of attempts and log lines.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// A healer that has taken back what the state file held (the breaker is on the
/// board already), ready to run.
pub struct Recalled {
    healer: Healer,
    memory: HealerMemory,
    saved: state::Saved,
}

impl Healer {
    /// Loads the state file, if any, and puts a recalled breaker on the board: done
    /// before the server answers, so that no probe sees a sidecar without its memory.
    pub async fn recall_state(self) -> Recalled {
        let mut memory = HealerMemory::default();
        let saved = self.recall(&mut memory).await;
        Recalled {
            healer: self,
            memory,
            saved,
        }
    }

    /// `recall_state`, then `Recalled::run`.
    pub async fn run(self, changes: watch::Receiver<u64>, shutdown: watch::Receiver<bool>) {
        self.recall_state().await.run(changes, shutdown).await;
    }
}

impl Recalled {
    /// Runs until shutdown, reacting to every change on the board.
    pub async fn run(self, mut changes: watch::Receiver<u64>, mut shutdown: watch::Receiver<bool>) {
        let Recalled {
            healer: this,
            mut memory,
            mut saved,
        } = self;
        this.run_loop(&mut memory, &mut saved, &mut changes, &mut shutdown)
            .await;
    }
}

impl Healer {
    async fn run_loop(
        &self,
        memory: &mut HealerMemory,
        saved: &mut state::Saved,
        changes: &mut watch::Receiver<u64>,
        shutdown: &mut watch::Receiver<bool>,
    ) {
        let mut orders = self.witness.subscribe();
        loop {
            let snapshot = self.board.snapshot();
            let ordered = *orders.borrow_and_update();
            self.observe_orders(&snapshot, ordered, memory);
            self.react(&snapshot, memory).await;
            self.keep(memory, saved).await;
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                changed = orders.changed() => if changed.is_err() { return },
                _ = shutdown.changed() => return,
                // A repair that failed is retried even when nothing else changes.
                _ = tokio::time::sleep(RETRY_AFTER) => {}
            }
        }
    }

    /// What a previous instance saved: the breaker as it was, the file's memory.
    async fn recall(&self, memory: &mut HealerMemory) -> state::Saved {
        let Some(file) = self.state.clone() else {
            return state::Saved::default();
        };
        let saved = tokio::task::spawn_blocking(move || file.load())
            .await
            .unwrap_or_default();
        memory.unhealed_restarts = saved.unhealed_restarts;
        self.check.recall(&saved.file);
        if saved.tripped {
            memory.tripped = true;
            let note = format!(
                "restart-loop breaker tripped (before this sidecar restarted): WordPress has been restarted {} times \
                 for this drift of wp-config.php and the file keeps it. Liveness holds; readiness keeps failing. \
                 Repair wp-config.php, or set heal.policy = \"restore\" with a golden copy.",
                saved.unhealed_restarts
            );
            tracing::error!(unhealed_restarts = saved.unhealed_restarts, "{note}");
            self.board.set_breaker(true, Some(note));
        }
        saved
    }

    /// Writes the memory to the state file when it changed.
    async fn keep(&self, memory: &HealerMemory, saved: &mut state::Saved) {
        let Some(file) = self.state.clone() else {
            return;
        };
        let now = state::Saved {
            version: saved.version,
            unhealed_restarts: memory.unhealed_restarts,
            tripped: memory.tripped,
            file: self.check.file_memory(),
        };
        if now == *saved {
            return;
        }
        let to_write = now.clone();
        let written = tokio::task::spawn_blocking(move || file.save(&to_write))
            .await
            .unwrap_or_else(|error| Err(format!("state task failed: {error}")));
        match written {
            Ok(()) => *saved = now,
            Err(error) => {
                tracing::warn!(%error, "cannot save the healer's memory; a sidecar restart would forget it");
                // Not retried on every change: once per new memory.
                *saved = now;
            }
        }
    }

    async fn react(&self, snapshot: &Snapshot, memory: &mut HealerMemory) {
        let wpconfig = &snapshot.states[CheckName::WpConfig];
        let drifted = drifted(snapshot);
        self.observe_restart(snapshot, drifted, memory);
        if !drifted {
            // Before the first look at the file, a breaker recalled from the state
            // file stands.
            if wpconfig.last.is_some() && (memory.tripped || memory.unhealed_restarts > 0) {
                tracing::info!("wp-config.php is healthy again: restart-loop breaker reset");
                memory.tripped = false;
                memory.unhealed_restarts = 0;
                self.board.set_breaker(false, None);
            }
            // The throttle is for repairs that failed: a new drift is repaired at once.
            memory.last_attempt = None;
            return;
        }
        let due = memory
            .last_attempt
            .is_none_or(|at| at.elapsed() >= RETRY_AFTER);
        match self.settings.policy {
            // Restarts did not heal it; where allowed, write a good copy back instead.
            HealPolicy::Restart if due && memory.tripped && self.settings.restore_after_breaker => {
                memory.last_attempt = Some(Instant::now());
                tracing::warn!("restart-loop breaker tripped: restoring wp-config.php instead (heal.restore_after_breaker)");
                self.restore().await;
            }
            HealPolicy::Restart => {}
            HealPolicy::Restore if due => {
                memory.last_attempt = Some(Instant::now());
                self.restore().await;
            }
            HealPolicy::Quarantine if due && self.path.exists() => {
                let failing_for = wpconfig
                    .failing_since
                    .map(|since| since.elapsed())
                    .unwrap_or_default();
                if failing_for >= self.quarantine_after {
                    memory.last_attempt = Some(Instant::now());
                    self.quarantine().await;
                }
            }
            _ => {}
        }
    }

    /// The kubelet's restart orders since the last look (the first witness).
    fn observe_orders(&self, snapshot: &Snapshot, ordered: u64, memory: &mut HealerMemory) {
        if ordered <= memory.orders_seen {
            return;
        }
        let new = ordered - memory.orders_seen;
        memory.orders_seen = ordered;
        memory.order_pending = true;
        metrics::counter!(m::RESTARTS_OBSERVED).increment(new);
        let drifted = drifted(snapshot);
        tracing::warn!(
            orders = new,
            drifted,
            "the kubelet is restarting WordPress: its liveness probe failed failureThreshold times in a row here"
        );
        if drifted {
            for _ in 0..new {
                self.count_unhealed(memory);
            }
        }
    }

    /// WordPress went down and came back: a restart (by the kubelet, or anyone). The
    /// second witness: a restart shorter than the poll goes unseen here.
    fn observe_restart(&self, snapshot: &Snapshot, drifted: bool, memory: &mut HealerMemory) {
        let Some(last) = &snapshot.states[CheckName::WordPress].last else {
            return;
        };
        // Refused or reset: nothing listens, the container is down. A timeout is a
        // slow or wedged WordPress, not a restart.
        let down = matches!(last.class, Class::Refused | Class::Protocol);
        if down {
            memory.wordpress_down = memory.seen_up;
            return;
        }
        if !last.class.is_http_answer() {
            return;
        }
        memory.seen_up = true;
        if !memory.wordpress_down {
            return;
        }
        memory.wordpress_down = false;
        if std::mem::take(&mut memory.order_pending) {
            // The restart the kubelet ordered, already counted when it was ordered.
            tracing::info!(drifted, "WordPress is back after the kubelet's restart");
            return;
        }
        metrics::counter!(m::RESTARTS_OBSERVED).increment(1);
        if !drifted {
            tracing::info!("WordPress restarted");
            return;
        }
        tracing::warn!(
            "WordPress restarted but wp-config.php still drifts: the restart did not heal it"
        );
        self.count_unhealed(memory);
    }

    /// One more restart for the current drift; trips the breaker at `max_restarts`.
    fn count_unhealed(&self, memory: &mut HealerMemory) {
        memory.unhealed_restarts += 1;
        tracing::warn!(
            unhealed_restarts = memory.unhealed_restarts,
            max_restarts = self.settings.max_restarts,
            "a restart of WordPress for a drift of wp-config.php"
        );
        if memory.unhealed_restarts >= self.settings.max_restarts && !memory.tripped {
            memory.tripped = true;
            let note = format!(
                "restart-loop breaker tripped: WordPress has been restarted {} times for this drift of wp-config.php \
                 and the file keeps it (its volume survives restarts). Liveness now holds to stop the loop; readiness keeps failing. \
                 Repair wp-config.php, or set heal.policy = \"restore\" with a golden copy.",
                memory.unhealed_restarts
            );
            tracing::error!(unhealed_restarts = memory.unhealed_restarts, "{note}");
            self.board.set_breaker(true, Some(note));
        }
    }

    /// Writes the golden copy (else the last copy seen healthy) back, atomically.
    async fn restore(&self) {
        let source = match &self.golden {
            Some(golden) => match tokio::fs::read(golden).await {
                Ok(bytes) => Some((bytes, None)),
                Err(error) => {
                    tracing::error!(golden = %golden.display(), %error, "cannot read the golden copy");
                    None
                }
            },
            None => self
                .check
                .last_good()
                .map(|good| (good.bytes.clone(), Some(good))),
        };
        let Some((bytes, good)) = source else {
            metrics::counter!(m::HEAL_ACTIONS, "policy" => "restore", "outcome" => "no_source")
                .increment(1);
            tracing::error!("cannot restore wp-config.php: no golden copy configured and no healthy copy seen yet");
            return;
        };
        let path = self.path.clone();
        let forensics = self.settings.forensics_dir.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            files::restore(&path, &bytes, good.as_ref(), forensics.as_deref())
        })
        .await
        .unwrap_or_else(|error| Err(format!("restore task failed: {error}")));
        match outcome {
            Ok(kept) => {
                metrics::counter!(m::HEAL_ACTIONS, "policy" => "restore", "outcome" => "ok")
                    .increment(1);
                tracing::warn!(drifted_copy = %kept.display(), "restored wp-config.php from the {} copy", if self.golden.is_some() { "golden" } else { "last healthy" });
                self.recheck.notify_one();
            }
            Err(error) => {
                metrics::counter!(m::HEAL_ACTIONS, "policy" => "restore", "outcome" => "failed")
                    .increment(1);
                tracing::error!(%error, "restoring wp-config.php failed; liveness keeps failing so a restart can try");
            }
        }
    }

    /// Moves the drifted file aside so the next WordPress start writes a fresh one.
    async fn quarantine(&self) {
        let path = self.path.clone();
        let forensics = self.settings.forensics_dir.clone();
        let outcome =
            tokio::task::spawn_blocking(move || files::quarantine(&path, forensics.as_deref()))
                .await
                .unwrap_or_else(|error| Err(format!("quarantine task failed: {error}")));
        match outcome {
            Ok(kept) => {
                metrics::counter!(m::HEAL_ACTIONS, "policy" => "quarantine", "outcome" => "ok")
                    .increment(1);
                tracing::warn!(drifted_copy = %kept.display(), "moved the drifted wp-config.php aside; the next WordPress start writes a fresh one");
                self.recheck.notify_one();
            }
            Err(error) => {
                metrics::counter!(m::HEAL_ACTIONS, "policy" => "quarantine", "outcome" => "failed")
                    .increment(1);
                tracing::error!(%error, "quarantine of wp-config.php failed");
            }
        }
    }
}

/// `wp-config.php` drifts from the desired settings (after hysteresis).
fn drifted(snapshot: &Snapshot) -> bool {
    let wpconfig = &snapshot.states[CheckName::WpConfig];
    wpconfig.effective_class == Class::Drift && !wpconfig.effective.is_ok()
}
