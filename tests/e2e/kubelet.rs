//! A kubelet probe emulator for one container, after `shared/docs/kubelet-probes.md`
//! and Kubernetes' `pkg/kubelet/prober/worker.go`: one worker per probe (startup,
//! liveness, readiness) with `initialDelaySeconds`, `periodSeconds`, `timeoutSeconds`,
//! `successThreshold` and `failureThreshold`; starting values readiness failure,
//! liveness success, startup unknown; startup gating the other two; a liveness (or
//! startup) failure puts the worker on hold and kills the container (preStop sleep
//! first, the container still running and readiness still probing), which is started
//! again after the CrashLoopBackOff delay; then the workers wait for the new container.
//!
//! Time scale: every duration the kubelet would use (periods, timeouts, initial
//! delays, preStop, back-off) is multiplied by `Options::time_scale`, so 0.1 turns a
//! `periodSeconds: 10` into 1 s of real time and a minute of emulated time into 6 s.
//! Timeouts never go below `Options::min_timeout` (a 100 ms timeout would test the
//! machine's scheduler, not the probes). Things outside the kubelet (PHP's opcache
//! revalidation, the sidecar's own check intervals) are not scaled by the emulator.
//!
//! Restart back-off, as `flowcontrol.Backoff` does it in the kubelet: the first
//! restart at once, then 10 s, 20 s, 40 s … (the base is `Options::backoff_base_seconds`)
//! after the container died, capped at 300 s, forgotten after 600 s without a
//! restart. `Options::first_restart_immediate = false` reads the doc literally
//! instead (10 s before the first restart too).
//!
//! The emulator starts no process itself: a [`ContainerRuntime`] kills and starts the
//! container, and the container is assumed running when the emulator starts.

#[path = "kubelet/http.rs"]
pub mod http;
#[path = "kubelet/manifest.rs"]
pub mod manifest;
#[path = "kubelet/timeline.rs"]
pub mod timeline;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

pub use self::http::TransportErrors;
pub use self::manifest::{ContainerSpec, ProbeSpec};
pub use self::timeline::{EventKind, Outcome, ProbeKind, ProbeResult, Timeline};

/// Kills and starts "the container". Both calls block; the emulator runs them on
/// tokio's blocking pool.
pub trait ContainerRuntime: Send + Sync + 'static {
    /// Stops the running container `container` (the kubelet's kill, after preStop).
    fn kill(&self, container: u32) -> Result<(), String>;
    /// Starts container `container` (the next number) and returns once it runs.
    fn start(&self, container: u32) -> Result<(), String>;
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Real seconds per emulated second.
    pub time_scale: f64,
    /// Container port (as in the manifest) → where it is served on this machine.
    pub ports: Vec<(u16, SocketAddr)>,
    pub min_timeout: Duration,
    pub backoff_base_seconds: f64,
    pub backoff_max_seconds: f64,
    pub first_restart_immediate: bool,
    pub transport_errors: TransportErrors,
    /// Spread the first probes over one period, as a kubelet that just started does.
    pub kubelet_just_started: bool,
    pub user_agent: String,
}

impl Options {
    pub fn new(time_scale: f64, ports: Vec<(u16, SocketAddr)>) -> Options {
        Options {
            time_scale,
            ports,
            min_timeout: Duration::from_millis(250),
            backoff_base_seconds: 10.0,
            backoff_max_seconds: 300.0,
            first_restart_immediate: true,
            transport_errors: TransportErrors::Discard,
            kubelet_just_started: false,
            user_agent: "kube-probe/1.33".to_string(),
        }
    }

    /// Emulated seconds → real time.
    pub fn scaled(&self, seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds * self.time_scale)
    }
}

/// What the workers see of the container.
#[derive(Clone, Debug)]
struct ContainerStatus {
    id: u32,
    running: bool,
    started_at: Instant,
    /// The startup probe passed (or there is none).
    started: bool,
}

struct Kill {
    container: u32,
    reason: String,
}

struct Shared {
    options: Options,
    timeline: Arc<Timeline>,
    status: watch::Sender<ContainerStatus>,
    results: Mutex<[ProbeResult; 3]>,
    kills: mpsc::UnboundedSender<Kill>,
    readiness_trigger: Notify,
    has_readiness: bool,
}

/// A running emulator.
pub struct Kubelet {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Kubelet {
    /// Starts the workers for `container`'s probes; the container is taken as running.
    pub fn start(
        container: &ContainerSpec,
        options: Options,
        runtime: Arc<dyn ContainerRuntime>,
    ) -> Result<Kubelet, String> {
        let has_startup = container.probe(ProbeKind::Startup).is_some();
        let timeline = Arc::new(Timeline::new(options.time_scale));
        let (status, _) = watch::channel(ContainerStatus {
            id: 0,
            running: true,
            started_at: Instant::now(),
            started: !has_startup,
        });
        let (kills, kill_requests) = mpsc::unbounded_channel();
        let (stop, stopped) = watch::channel(false);
        let mut targets = Vec::new();
        for probe in &container.probes {
            probe.validate()?;
            targets.push((probe.clone(), target(probe, &options)?));
        }
        let shared = Arc::new(Shared {
            options,
            timeline,
            status,
            results: Mutex::new([
                ProbeResult::Unknown,
                ProbeResult::Success,
                ProbeResult::Failure,
            ]),
            kills,
            readiness_trigger: Notify::new(),
            has_readiness: container.probe(ProbeKind::Readiness).is_some(),
        });
        shared.timeline.mark(format!(
            "kubelet emulator started: container {:?} (c0) running, time scale {}",
            container.name, shared.options.time_scale
        ));
        let mut tasks = Vec::new();
        for (probe, url) in targets {
            tasks.push(tokio::spawn(worker(
                probe,
                url,
                shared.clone(),
                stopped.clone(),
            )));
        }
        let pod = Pod {
            shared: shared.clone(),
            runtime,
            pre_stop: shared
                .options
                .scaled(f64::from(container.pre_stop_sleep_seconds)),
            has_startup,
            backoff: Backoff::default(),
        };
        tasks.push(tokio::spawn(pod.run(kill_requests, stopped)));
        Ok(Kubelet {
            shared,
            stop,
            tasks,
        })
    }

    pub fn timeline(&self) -> &Arc<Timeline> {
        &self.shared.timeline
    }

    pub fn mark(&self, text: impl Into<String>) -> Duration {
        self.shared.timeline.mark(text)
    }

    pub fn result(&self, kind: ProbeKind) -> ProbeResult {
        self.shared
            .results
            .lock()
            .unwrap_or_else(|p| p.into_inner())[kind.index()]
    }

    /// In the Service's endpoints: running, started, readiness passing (or none).
    pub fn ready(&self) -> bool {
        let status = self.shared.status.borrow().clone();
        let readiness =
            !self.shared.has_readiness || self.result(ProbeKind::Readiness) == ProbeResult::Success;
        status.running && status.started && readiness
    }

    pub fn restarts(&self) -> u32 {
        self.shared.timeline.counters().restarts
    }

    /// Polls `condition` every 20 ms; the real time it took, or an error with the
    /// timeline.
    pub async fn wait_until(
        &self,
        limit: Duration,
        what: &str,
        condition: impl Fn(&Kubelet) -> bool,
    ) -> Result<Duration, String> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if condition(self) {
                return Ok(start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!(
            "{what}: not within {limit:?}\n{}",
            self.shared.timeline.render(true)
        ))
    }

    /// Stops the workers (a probe under way finishes first); the container is left as
    /// it is.
    pub async fn stop(mut self) -> Arc<Timeline> {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
        self.shared.timeline.clone()
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn target(probe: &ProbeSpec, options: &Options) -> Result<http::Url, String> {
    let local = options
        .ports
        .iter()
        .find(|(port, _)| *port == probe.http.port)
        .map(|(_, addr)| *addr)
        .ok_or_else(|| {
            format!(
                "{}Probe: port {} is not mapped",
                probe.kind.as_str(),
                probe.http.port
            )
        })?;
    Ok(http::Url {
        host: probe
            .http
            .host
            .clone()
            .unwrap_or_else(|| local.ip().to_string()),
        port: local.port(),
        path: probe.http.path.clone(),
    })
}

/// A worker's own state (`worker.go`).
struct Worker {
    probe: ProbeSpec,
    container: Option<u32>,
    on_hold: bool,
    last: Option<ProbeResult>,
    run: u32,
}

async fn worker(
    probe: ProbeSpec,
    url: http::Url,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let options = &shared.options;
    let period = options.scaled(f64::from(probe.period_seconds));
    let rules = http::Rules {
        timeout: options
            .scaled(f64::from(probe.timeout_seconds))
            .max(options.min_timeout),
        user_agent: options.user_agent.clone(),
        headers: probe.http.headers.clone(),
        transport_errors: options.transport_errors,
    };
    if options.kubelet_just_started {
        tokio::time::sleep(period.mul_f64(rand::random::<f64>())).await;
    }
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let kind = probe.kind;
    let mut state = Worker {
        probe,
        container: None,
        on_hold: false,
        last: None,
        run: 0,
    };
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shared.readiness_trigger.notified(), if kind == ProbeKind::Readiness => {}
            _ = stop.changed() => return,
        }
        state.once(&url, &rules, &shared).await;
    }
}

impl Worker {
    fn initial(&self) -> ProbeResult {
        match self.probe.kind {
            ProbeKind::Readiness => ProbeResult::Failure,
            ProbeKind::Liveness => ProbeResult::Success,
            ProbeKind::Startup => ProbeResult::Unknown,
        }
    }

    /// `doProbe`.
    async fn once(&mut self, url: &http::Url, rules: &http::Rules, shared: &Shared) {
        let kind = self.probe.kind;
        let status = shared.status.borrow().clone();
        if self.container != Some(status.id) {
            self.container = Some(status.id);
            self.on_hold = false;
            set_result(shared, kind, status.id, self.initial());
        }
        if self.on_hold {
            return;
        }
        if !status.running {
            set_result(shared, kind, status.id, ProbeResult::Failure);
            return;
        }
        let delay = shared
            .options
            .scaled(f64::from(self.probe.initial_delay_seconds));
        if status.started_at.elapsed() < delay {
            return;
        }
        if status.started == (kind == ProbeKind::Startup) {
            return;
        }
        let run = http::run(url, rules).await;
        let timeline = &shared.timeline;
        let outcome = match run.verdict {
            http::Verdict::Success => Outcome::Success,
            http::Verdict::Warning => Outcome::Warning,
            http::Verdict::Failure => Outcome::Failure,
            http::Verdict::Error => Outcome::Discarded,
        };
        timeline.update(|c| {
            c.probes[kind.index()] += 1;
            c.http_requests += u64::from(run.requests);
            if outcome == Outcome::Discarded {
                c.discarded += 1;
            }
        });
        timeline.push(EventKind::Probe {
            probe: kind,
            container: status.id,
            outcome,
            status: run.status,
            detail: format!("{} {}", url.path, run.detail),
        });
        let result = match outcome {
            Outcome::Discarded => return,
            Outcome::Success | Outcome::Warning => ProbeResult::Success,
            Outcome::Failure => ProbeResult::Failure,
        };
        if self.last == Some(result) {
            self.run += 1;
        } else {
            self.last = Some(result);
            self.run = 1;
        }
        let threshold = match result {
            ProbeResult::Failure => self.probe.failure_threshold,
            _ => self.probe.success_threshold,
        };
        if self.run < threshold {
            return;
        }
        set_result(shared, kind, status.id, result);
        if kind == ProbeKind::Startup && result == ProbeResult::Success {
            shared.status.send_modify(|s| {
                if s.id == status.id {
                    s.started = true;
                }
            });
            // The kubelet runs readiness at once for a started container not yet ready.
            shared.readiness_trigger.notify_one();
        }
        if kind != ProbeKind::Readiness && result == ProbeResult::Failure {
            self.on_hold = true;
            self.run = 0;
            let _ = shared.kills.send(Kill {
                container: status.id,
                reason: format!(
                    "failed {} probe {} times in a row, will be restarted",
                    kind.as_str(),
                    self.probe.failure_threshold
                ),
            });
        }
    }
}

fn set_result(shared: &Shared, kind: ProbeKind, container: u32, to: ProbeResult) {
    let from = {
        let mut results = shared.results.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut results[kind.index()], to)
    };
    if from != to {
        shared.timeline.push(EventKind::Result {
            probe: kind,
            container,
            from,
            to,
        });
    }
}

/// CrashLoopBackOff: how long to wait before the next start.
#[derive(Default)]
struct Backoff {
    /// Restarts in the current window, and when the last one happened.
    restarts: u32,
    last: Option<Instant>,
}

impl Backoff {
    /// The delay before the restart of a container that died now; counts it.
    fn next(&mut self, options: &Options) -> Duration {
        let max = options.backoff_max_seconds;
        let expired = self
            .last
            .is_some_and(|last| last.elapsed() > options.scaled(2.0 * max));
        if expired {
            self.restarts = 0;
        }
        let doublings = if options.first_restart_immediate {
            self.restarts.checked_sub(1)
        } else {
            Some(self.restarts)
        };
        self.restarts += 1;
        self.last = Some(Instant::now());
        match doublings {
            None => Duration::ZERO,
            Some(n) => options
                .scaled((options.backoff_base_seconds * 2f64.powi(n.min(30) as i32)).min(max)),
        }
    }
}

/// The pod side of the kubelet: kills and restarts the container.
struct Pod {
    shared: Arc<Shared>,
    runtime: Arc<dyn ContainerRuntime>,
    pre_stop: Duration,
    has_startup: bool,
    backoff: Backoff,
}

impl Pod {
    async fn run(
        mut self,
        mut kills: mpsc::UnboundedReceiver<Kill>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let kill = tokio::select! {
                kill = kills.recv() => match kill { Some(kill) => kill, None => return },
                _ = stop.changed() => return,
            };
            let status = self.shared.status.borrow().clone();
            if kill.container != status.id || !status.running {
                continue; // Liveness and startup may both ask; one kill is enough.
            }
            let timeline = self.shared.timeline.clone();
            timeline.push(EventKind::Killing {
                container: kill.container,
                reason: kill.reason,
            });
            if !self.pre_stop.is_zero() {
                timeline.mark(format!(
                    "preStop: sleep {:.2?} (still running)",
                    self.pre_stop
                ));
                tokio::select! {
                    _ = tokio::time::sleep(self.pre_stop) => {}
                    _ = stop.changed() => return,
                }
            }
            let runtime = self.runtime.clone();
            let id = kill.container;
            if let Err(error) = blocking(move || runtime.kill(id)).await {
                timeline.mark(format!("kill of c{id} failed: {error}"));
            }
            self.shared.status.send_modify(|s| s.running = false);
            timeline.push(EventKind::Died { container: id });
            if !self.start_next(id + 1, &mut stop).await {
                return;
            }
        }
    }

    /// Waits out the back-off and starts container `id`, again after each failure.
    async fn start_next(&mut self, id: u32, stop: &mut watch::Receiver<bool>) -> bool {
        let timeline = self.shared.timeline.clone();
        loop {
            let delay = self.backoff.next(&self.shared.options);
            if !delay.is_zero() {
                timeline.push(EventKind::BackOff { delay });
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => return false,
                }
            }
            let runtime = self.runtime.clone();
            match blocking(move || runtime.start(id)).await {
                Ok(()) => break,
                Err(error) => {
                    timeline.mark(format!("start of c{id} failed: {error}"));
                }
            }
        }
        let started = !self.has_startup;
        self.shared.status.send_modify(|s| {
            s.id = id;
            s.running = true;
            s.started_at = Instant::now();
            s.started = started;
        });
        timeline.push(EventKind::Started { container: id });
        true
    }
}

async fn blocking(
    work: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Result<(), String> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(format!("runtime call panicked: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_kubelet() {
        let mut options = Options::new(1.0, Vec::new());
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..8).map(|_| backoff.next(&options).as_secs()).collect();
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300]);
        options.first_restart_immediate = false;
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..3).map(|_| backoff.next(&options).as_secs()).collect();
        assert_eq!(delays, [10, 20, 40]);
    }
}
