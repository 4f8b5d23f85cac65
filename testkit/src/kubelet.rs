//! A kubelet emulator for one pod, after `docs/kubelet.md` and Kubernetes'
//! `pkg/kubelet/prober/worker.go`, `prober.go`, `pkg/probe/http` and
//! `kuberuntime_container.go`.
//!
//! - The pod: native sidecars (`initContainers` with `restartPolicy: Always`), each
//!   started in order once the one before it has *started* (its startup probe passed),
//!   then the main containers. Pod readiness needs every container ready: a container
//!   with a readiness probe when it passes, one without when it runs and has started
//!   (the kubelet's rule for native sidecars too).
//! - One worker per container and probe (startup, liveness, readiness) with
//!   `initialDelaySeconds`, `periodSeconds`, `timeoutSeconds`, `successThreshold` and
//!   `failureThreshold`; starting values readiness failure, liveness success, startup
//!   unknown; startup gating the other two; a refused, reset or timed-out probe is a
//!   failure (`kubelet/http.rs`). A liveness (or startup) failure puts the worker on
//!   hold, resets its count, and kills the container.
//! - A kill: preStop (a sleep) first, the container still running and readiness
//!   still probing; then the stop signal (SIGTERM); then the grace period (the
//!   probe's `terminationGracePeriodSeconds`, else the pod's, less the preStop time,
//!   at least 2 s); then SIGKILL. A SIGSTOPped process ignores SIGTERM, so its kill
//!   takes the whole grace period.
//! - A container that exits on its own is seen within `Options::pleg_period` (the
//!   kubelet's PLEG relist) and started again, whatever the pod's restart policy
//!   (true of native sidecars; this emulator applies `Always` to every container).
//! - Restart back-off (`Backoff`): checked against the previous exited instance.
//!
//! Time scale: every duration the kubelet would use (periods, timeouts, initial
//! delays, preStop, grace periods, back-off, PLEG) is multiplied by
//! `Options::time_scale`, so 0.1 turns a `periodSeconds: 10` into 1 s of real time.
//! Probe timeouts never go below `Options::min_timeout` (a 100 ms timeout would test
//! the machine's scheduler, not the probes). Things outside the kubelet (PHP's opcache
//! revalidation, the sidecar's own check intervals) are not scaled here.
//!
//! The emulator runs no process itself: a [`ContainerRuntime`] per container starts,
//! signals and watches it.

pub mod http;
pub mod manifest;
pub mod timeline;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

pub use self::manifest::{ContainerSpec, PodSpec, ProbeSpec};
pub use self::timeline::{Cid, EventKind, Outcome, ProbeKind, ProbeResult, Timeline};

/// The signals a kill sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// The image's stop signal (SIGTERM unless it says otherwise: Apache's image
    /// says SIGWINCH); the runtime picks it, the timeline says "stop signal".
    Stop,
    Kill,
}

impl Signal {
    fn as_str(self) -> &'static str {
        match self {
            Signal::Stop => "stop signal",
            Signal::Kill => "SIGKILL",
        }
    }
}

/// Starts, signals and watches one container's instances. Every call may block; the
/// emulator runs them on tokio's blocking pool.
pub trait ContainerRuntime: Send + Sync + 'static {
    /// Starts instance `instance` (0, then 1 after the first restart …); returns once
    /// its process runs (not once it is ready).
    fn start(&self, instance: u32) -> Result<(), String>;
    /// Sends `signal` to the instance's processes.
    fn signal(&self, instance: u32, signal: Signal) -> Result<(), String>;
    /// Whether any process of the instance still runs.
    fn running(&self, instance: u32) -> bool;
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
    /// How often the kubelet notices a container that exited (PLEG relist, 1 s).
    pub pleg_period_seconds: f64,
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
            pleg_period_seconds: 1.0,
            kubelet_just_started: false,
            user_agent: "kube-probe/1.33".to_string(),
        }
    }

    /// Emulated seconds → real time.
    pub fn scaled(&self, seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds * self.time_scale)
    }
}

/// What the workers see of a container.
#[derive(Clone, Debug)]
struct ContainerStatus {
    id: u32,
    /// Created at all (false until the pod lets it start).
    created: bool,
    running: bool,
    started_at: Instant,
    /// The startup probe passed (or there is none).
    started: bool,
}

struct Kill {
    container: u32,
    /// The probe that ordered it (its own grace period may apply).
    probe: ProbeKind,
    reason: String,
}

/// One container of the pod.
struct Unit {
    spec: ContainerSpec,
    name: Arc<str>,
    runtime: Arc<dyn ContainerRuntime>,
    status: watch::Sender<ContainerStatus>,
    results: Mutex<[ProbeResult; 3]>,
    kills: mpsc::UnboundedSender<Kill>,
    readiness_trigger: Notify,
}

impl Unit {
    fn cid(&self, instance: u32) -> Cid {
        Cid {
            name: self.name.clone(),
            instance,
        }
    }

    fn result(&self, kind: ProbeKind) -> ProbeResult {
        self.results.lock().unwrap_or_else(|p| p.into_inner())[kind.index()]
    }

    /// `podutil`: running, started, and readiness passing (or none).
    fn ready(&self) -> bool {
        let status = self.status.borrow().clone();
        let readiness = self.spec.probe(ProbeKind::Readiness).is_none()
            || self.result(ProbeKind::Readiness) == ProbeResult::Success;
        status.created && status.running && status.started && readiness
    }
}

struct Shared {
    options: Options,
    timeline: Arc<Timeline>,
    /// Sidecars first, in start order, then the main containers.
    units: Vec<Arc<Unit>>,
    sidecars: usize,
    termination_grace: Duration,
    /// Set by [`Kubelet::delete`]: nothing is started or restarted any more.
    terminating: AtomicBool,
}

/// A running emulator.
pub struct Kubelet {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Kubelet {
    /// Starts the pod: every container of `pod` needs a runtime in `runtimes`, by
    /// name. The first main container is "the" container of `restarts()`, `result()`.
    pub fn start(
        pod: &PodSpec,
        options: Options,
        runtimes: Vec<(&str, Arc<dyn ContainerRuntime>)>,
    ) -> Result<Kubelet, String> {
        let main = pod.containers.first().ok_or("a pod without containers")?;
        let timeline = Arc::new(Timeline::new(options.time_scale, &main.name));
        let (stop, stopped) = watch::channel(false);
        let mut units = Vec::new();
        let mut kill_queues = Vec::new();
        let mut targets = Vec::new();
        for spec in pod.sidecars.iter().chain(&pod.containers) {
            let runtime = runtimes
                .iter()
                .find(|(name, _)| *name == spec.name)
                .map(|(_, runtime)| runtime.clone())
                .ok_or_else(|| format!("no runtime for container {:?}", spec.name))?;
            let mut probes = Vec::new();
            for probe in &spec.probes {
                probe.validate()?;
                probes.push((probe.clone(), target(probe, &options)?));
            }
            targets.push(probes);
            let (kills, queue) = mpsc::unbounded_channel();
            kill_queues.push(queue);
            units.push(Arc::new(Unit {
                spec: spec.clone(),
                name: Arc::from(spec.name.as_str()),
                runtime,
                status: watch::channel(ContainerStatus {
                    id: 0,
                    created: false,
                    running: false,
                    started_at: Instant::now(),
                    started: false,
                })
                .0,
                results: Mutex::new([
                    ProbeResult::Unknown,
                    ProbeResult::Success,
                    ProbeResult::Failure,
                ]),
                kills,
                readiness_trigger: Notify::new(),
            }));
        }
        let shared = Arc::new(Shared {
            termination_grace: options.scaled(f64::from(pod.termination_grace_period_seconds)),
            options,
            timeline,
            units,
            sidecars: pod.sidecars.len(),
            terminating: AtomicBool::new(false),
        });
        shared.timeline.mark(format!(
            "kubelet emulator started: sidecars {:?}, containers {:?}, time scale {}",
            pod.sidecars.iter().map(|c| &c.name).collect::<Vec<_>>(),
            pod.containers.iter().map(|c| &c.name).collect::<Vec<_>>(),
            shared.options.time_scale
        ));
        let mut tasks = vec![tokio::spawn(track_pod_readiness(
            shared.clone(),
            stopped.clone(),
        ))];
        for (index, (probes, queue)) in targets.into_iter().zip(kill_queues).enumerate() {
            let unit = shared.units[index].clone();
            for (probe, url) in probes {
                tasks.push(tokio::spawn(worker(
                    probe,
                    url,
                    shared.clone(),
                    unit.clone(),
                    stopped.clone(),
                )));
            }
            let life = Lifecycle {
                shared: shared.clone(),
                unit,
                index,
                backoff: Backoff::default(),
                last_exit: None,
            };
            tasks.push(tokio::spawn(life.run(queue, stopped.clone())));
        }
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

    fn unit(&self, name: &str) -> &Unit {
        self.shared
            .units
            .iter()
            .find(|u| &*u.name == name)
            .unwrap_or_else(|| panic!("no container {name:?} in the pod"))
    }

    /// In the Service's endpoints: every container ready.
    pub fn ready(&self) -> bool {
        self.shared.units.iter().all(|unit| unit.ready())
    }

    /// Restarts of the main container (WordPress).
    pub fn restarts(&self) -> u32 {
        self.shared.timeline.counters().restarts
    }

    pub fn restarts_of(&self, container: &str) -> u32 {
        self.shared.timeline.counters_of(container).restarts
    }

    /// Whether `container` runs now.
    pub fn running(&self, container: &str) -> bool {
        self.unit(container).status.borrow().running
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

    /// Deletes the pod as the kubelet does (`killPodWithSyncResult`): from now on
    /// nothing is started or restarted; the main containers are killed together (each
    /// preStop, the stop signal, SIGKILL at the end of the pod's grace period, never
    /// a probe's), then the sidecars one by one in reverse start order, each with
    /// what is left of the grace period (at least 2 s). Probes keep running until
    /// [`Kubelet::stop`], as the kubelet's do during termination. What takes the
    /// pod out of a Service is not here: the endpoints controller sees the deletion
    /// at the same moment as the kubelet (tests/pod/rollout/fleet.rs).
    #[allow(dead_code)] // Used by tests/pod (rollout), not by tests/e2e.
    pub async fn delete(&self, reason: &str) {
        let shared = self.shared.clone();
        shared.terminating.store(true, Ordering::SeqCst);
        let grace = shared.termination_grace;
        shared
            .timeline
            .mark(format!("pod deleted ({reason}): grace period {grace:.2?}"));
        let began = Instant::now();
        let mut mains = tokio::task::JoinSet::new();
        for unit in shared.units[shared.sidecars..].iter().cloned() {
            mains.spawn(terminate(shared.clone(), unit, grace));
        }
        while mains.join_next().await.is_some() {}
        for unit in shared.units[..shared.sidecars].iter().rev().cloned() {
            let left = grace
                .saturating_sub(began.elapsed())
                .max(shared.options.scaled(2.0));
            terminate(shared.clone(), unit, left).await;
        }
    }

    /// Stops the workers (a probe under way finishes first); the containers are left
    /// as they are.
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

/// One container's part of a pod deletion: preStop, the stop signal, SIGKILL when
/// `grace` (counted from the preStop) is over. Not started, or gone: nothing to do.
#[allow(dead_code)] // Kubelet::delete's.
async fn terminate(shared: Arc<Shared>, unit: Arc<Unit>, grace: Duration) {
    let status = unit.status.borrow().clone();
    let alive = |id: u32| {
        let runtime = unit.runtime.clone();
        async move {
            tokio::task::spawn_blocking(move || runtime.running(id))
                .await
                .unwrap_or(false)
        }
    };
    if !status.created || !status.running || !alive(status.id).await {
        return;
    }
    let timeline = &shared.timeline;
    let cid = unit.cid(status.id);
    timeline.push(EventKind::Killing {
        container: cid.clone(),
        reason: "pod deleted".into(),
    });
    let began = Instant::now();
    let pre_stop = shared
        .options
        .scaled(f64::from(unit.spec.pre_stop_sleep_seconds));
    if !pre_stop.is_zero() {
        timeline.mark(format!(
            "preStop of {cid}: sleep {pre_stop:.2?} (still running)"
        ));
        tokio::time::sleep(pre_stop.min(grace)).await;
    }
    let signal = |signal: Signal| {
        let runtime = unit.runtime.clone();
        let id = status.id;
        let cid = cid.clone();
        timeline.push(EventKind::Signal {
            container: cid.clone(),
            signal: signal.as_str(),
        });
        async move {
            let sent = tokio::task::spawn_blocking(move || runtime.signal(id, signal))
                .await
                .unwrap_or_else(|e| Err(format!("runtime call panicked: {e}")));
            if let Err(error) = sent {
                timeline.mark(format!("{} to {cid}: {error}", signal.as_str()));
            }
        }
    };
    signal(Signal::Stop).await;
    let deadline = began + grace.max(pre_stop + shared.options.scaled(2.0));
    while Instant::now() < deadline && alive(status.id).await {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if alive(status.id).await {
        signal(Signal::Kill).await;
        let limit = Instant::now() + Duration::from_secs(10);
        while Instant::now() < limit && alive(status.id).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    unit.status.send_modify(|s| s.running = false);
    timeline.push(EventKind::Died {
        container: unit.cid(status.id),
    });
}

/// Records every change of the pod's readiness (sampled every 10 ms).
async fn track_pod_readiness(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut ready = false;
    loop {
        let now = shared.units.iter().all(|unit| unit.ready());
        if now != ready {
            ready = now;
            shared.timeline.push(EventKind::PodReady(now));
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            _ = stop.changed() => return,
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
    unit: Arc<Unit>,
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
            _ = unit.readiness_trigger.notified(), if kind == ProbeKind::Readiness => {}
            _ = stop.changed() => return,
        }
        state.once(&url, &rules, &shared, &unit).await;
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
    async fn once(&mut self, url: &http::Url, rules: &http::Rules, shared: &Shared, unit: &Unit) {
        let kind = self.probe.kind;
        let status = unit.status.borrow().clone();
        if !status.created {
            return;
        }
        if self.container != Some(status.id) {
            self.container = Some(status.id);
            self.on_hold = false;
            set_result(shared, unit, kind, status.id, self.initial());
        }
        if self.on_hold {
            return;
        }
        if !status.running {
            set_result(shared, unit, kind, status.id, ProbeResult::Failure);
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
        let sent = shared.timeline.now();
        let run = http::run(url, rules).await;
        let timeline = &shared.timeline;
        let outcome = match run.verdict {
            http::Verdict::Success => Outcome::Success,
            http::Verdict::Warning => Outcome::Warning,
            http::Verdict::Failure => Outcome::Failure,
            http::Verdict::Error => Outcome::Discarded,
        };
        timeline.update(&unit.name, |c| {
            c.probes[kind.index()] += 1;
            c.http_requests += u64::from(run.requests);
            if outcome == Outcome::Discarded {
                c.discarded += 1;
            }
        });
        timeline.push(EventKind::Probe {
            probe: kind,
            container: unit.cid(status.id),
            sent,
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
        set_result(shared, unit, kind, status.id, result);
        if kind == ProbeKind::Startup && result == ProbeResult::Success {
            unit.status.send_modify(|s| {
                if s.id == status.id {
                    s.started = true;
                }
            });
            // The kubelet runs readiness at once for a started container not yet ready.
            unit.readiness_trigger.notify_one();
        }
        if kind != ProbeKind::Readiness && result == ProbeResult::Failure {
            self.on_hold = true;
            self.run = 0;
            let _ = unit.kills.send(Kill {
                container: status.id,
                probe: kind,
                reason: format!(
                    "failed {} probe {} times in a row, will be restarted",
                    kind.as_str(),
                    self.probe.failure_threshold
                ),
            });
        }
    }
}

fn set_result(shared: &Shared, unit: &Unit, kind: ProbeKind, container: u32, to: ProbeResult) {
    let from = {
        let mut results = unit.results.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut results[kind.index()], to)
    };
    if from != to {
        shared.timeline.push(EventKind::Result {
            probe: kind,
            container: unit.cid(container),
            from,
            to,
        });
    }
}

/// CrashLoopBackOff as `flowcontrol.Backoff` and `doBackOff` apply it: no delay for
/// the first restart; afterwards the restart waits until `back-off` has passed since
/// the *previous exited instance* finished, and each restart doubles the back-off
/// (10 s, 20 s, 40 s … capped at 300 s), forgotten after twice the cap without one.
/// After a probe kill the previous exited instance is the one before the killed
/// one, so a container that lived longer than the back-off restarts at once.
#[derive(Debug, Default)]
struct Backoff {
    /// The current back-off (zero: no entry) and when it was last moved on.
    current: Duration,
    last_update: Option<Instant>,
}

impl Backoff {
    /// How long to wait, at `now`, before the restart of a container whose previous
    /// exited instance finished at `reference` (none: there was none); moves on.
    fn next(&mut self, options: &Options, reference: Option<Instant>, now: Instant) -> Duration {
        let base = options.scaled(options.backoff_base_seconds);
        let max = options.scaled(options.backoff_max_seconds);
        let expired = self
            .last_update
            .is_none_or(|at| now.saturating_duration_since(at) > max * 2);
        let delay = match reference {
            Some(finished) if !expired && !self.current.is_zero() => {
                (finished + self.current).saturating_duration_since(now)
            }
            _ => Duration::ZERO,
        };
        self.current = if expired || self.current.is_zero() {
            base
        } else {
            (self.current * 2).min(max)
        };
        self.last_update = Some(now + delay);
        delay
    }
}

/// Starts, kills and restarts one container.
struct Lifecycle {
    shared: Arc<Shared>,
    unit: Arc<Unit>,
    index: usize,
    backoff: Backoff,
    /// When the previous exited instance finished.
    last_exit: Option<Instant>,
}

impl Lifecycle {
    async fn run(
        mut self,
        mut kills: mpsc::UnboundedReceiver<Kill>,
        mut stop: watch::Receiver<bool>,
    ) {
        if !self.wait_turn(&mut stop).await || !self.start(0, &mut stop).await {
            return;
        }
        let pleg = self
            .shared
            .options
            .scaled(self.shared.options.pleg_period_seconds);
        let mut relist = tokio::time::interval(pleg.max(Duration::from_millis(10)));
        relist.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let kill = tokio::select! {
                kill = kills.recv() => match kill { Some(kill) => Some(kill), None => return },
                _ = relist.tick() => None,
                _ = stop.changed() => return,
            };
            if self.shared.terminating.load(Ordering::SeqCst) {
                continue; // Kubelet::delete kills; nothing restarts.
            }
            let status = self.unit.status.borrow().clone();
            let id = status.id;
            let reference = match kill {
                Some(kill) => {
                    if kill.container != id || !status.running {
                        continue; // Liveness and startup may both ask; one kill is enough.
                    }
                    if !self.kill(kill, &mut stop).await {
                        return;
                    }
                    // The instance killed now is not the reference: the one before it is.
                    let reference = self.last_exit;
                    self.last_exit = Some(Instant::now());
                    reference
                }
                None => {
                    if !status.running || self.alive(id).await {
                        continue;
                    }
                    self.unit.status.send_modify(|s| s.running = false);
                    self.shared.timeline.push(EventKind::Exited {
                        container: self.unit.cid(id),
                    });
                    self.last_exit = Some(Instant::now());
                    self.last_exit
                }
            };
            let delay = self
                .backoff
                .next(&self.shared.options, reference, Instant::now());
            if !delay.is_zero() {
                self.shared.timeline.push(EventKind::BackOff {
                    container: self.unit.cid(id),
                    delay,
                });
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => return,
                }
            }
            if !self.start(id + 1, &mut stop).await {
                return;
            }
        }
    }

    /// Sidecars start one after the other, each once the one before has started; the
    /// main containers once every sidecar has.
    async fn wait_turn(&self, stop: &mut watch::Receiver<bool>) -> bool {
        let before = if self.index < self.shared.sidecars {
            self.index
        } else {
            self.shared.sidecars
        };
        for unit in &self.shared.units[..before] {
            let mut status = unit.status.subscribe();
            loop {
                if status.borrow_and_update().started {
                    break;
                }
                tokio::select! {
                    changed = status.changed() => if changed.is_err() { return false },
                    _ = stop.changed() => return false,
                }
            }
        }
        true
    }

    async fn alive(&self, id: u32) -> bool {
        let runtime = self.unit.runtime.clone();
        tokio::task::spawn_blocking(move || runtime.running(id))
            .await
            .unwrap_or(false)
    }

    /// preStop, the stop signal, the grace period, SIGKILL.
    async fn kill(&mut self, kill: Kill, stop: &mut watch::Receiver<bool>) -> bool {
        let timeline = self.shared.timeline.clone();
        let cid = self.unit.cid(kill.container);
        timeline.push(EventKind::Killing {
            container: cid.clone(),
            reason: kill.reason,
        });
        let options = &self.shared.options;
        let grace = self
            .unit
            .spec
            .probe(kill.probe)
            .and_then(|p| p.termination_grace_period_seconds)
            .map(|seconds| options.scaled(f64::from(seconds)))
            .unwrap_or(self.shared.termination_grace);
        let pre_stop = options.scaled(f64::from(self.unit.spec.pre_stop_sleep_seconds));
        let began = Instant::now();
        if !pre_stop.is_zero() {
            timeline.mark(format!(
                "preStop of {cid}: sleep {pre_stop:.2?} (still running)"
            ));
            tokio::select! {
                _ = tokio::time::sleep(pre_stop.min(grace)) => {}
                _ = stop.changed() => return false,
            }
        }
        let remaining = grace
            .saturating_sub(began.elapsed())
            .max(options.scaled(2.0));
        self.signal(kill.container, Signal::Stop).await;
        let deadline = Instant::now() + remaining;
        while Instant::now() < deadline && self.alive(kill.container).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if self.alive(kill.container).await {
            self.signal(kill.container, Signal::Kill).await;
            let limit = Instant::now() + Duration::from_secs(10);
            while Instant::now() < limit && self.alive(kill.container).await {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        self.unit.status.send_modify(|s| s.running = false);
        timeline.push(EventKind::Died { container: cid });
        true
    }

    async fn signal(&self, id: u32, signal: Signal) {
        let timeline = &self.shared.timeline;
        timeline.push(EventKind::Signal {
            container: self.unit.cid(id),
            signal: signal.as_str(),
        });
        let runtime = self.unit.runtime.clone();
        let sent = tokio::task::spawn_blocking(move || runtime.signal(id, signal))
            .await
            .unwrap_or_else(|e| Err(format!("runtime call panicked: {e}")));
        if let Err(error) = sent {
            timeline.mark(format!(
                "{} to {}: {error}",
                signal.as_str(),
                self.unit.cid(id)
            ));
        }
    }

    /// Starts instance `id`, again after each failure to start (with back-off).
    async fn start(&mut self, id: u32, stop: &mut watch::Receiver<bool>) -> bool {
        let timeline = self.shared.timeline.clone();
        loop {
            if self.shared.terminating.load(Ordering::SeqCst) {
                return false;
            }
            let runtime = self.unit.runtime.clone();
            match tokio::task::spawn_blocking(move || runtime.start(id))
                .await
                .unwrap_or_else(|e| Err(format!("runtime call panicked: {e}")))
            {
                Ok(()) => break,
                Err(error) => {
                    timeline.mark(format!("start of {} failed: {error}", self.unit.cid(id)));
                    self.last_exit = Some(Instant::now());
                    let delay =
                        self.backoff
                            .next(&self.shared.options, self.last_exit, Instant::now());
                    tokio::select! {
                        _ = tokio::time::sleep(delay.max(Duration::from_millis(10))) => {}
                        _ = stop.changed() => return false,
                    }
                }
            }
        }
        let started = self.unit.spec.probe(ProbeKind::Startup).is_none();
        self.unit.status.send_modify(|s| {
            s.id = id;
            s.created = true;
            s.running = true;
            s.started_at = Instant::now();
            s.started = started;
        });
        timeline.push(EventKind::Started {
            container: self.unit.cid(id),
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_kubelet() {
        let options = Options::new(1.0, Vec::new());
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        // A container that exits right after each start: 0, 10, 20, 40 … 300.
        let mut backoff = Backoff::default();
        let mut now = at(0);
        let mut delays = Vec::new();
        for _ in 0..8 {
            let delay = backoff.next(&options, Some(now), now);
            delays.push(delay.as_secs());
            now += delay + Duration::from_millis(1);
        }
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300]);
        // Liveness kills of a container that lives 35 s each time: measured against
        // the instance before the killed one, the restarts stay immediate until the
        // back-off exceeds that lifetime.
        let mut backoff = Backoff::default();
        let first = backoff.next(&options, None, at(100));
        let second = backoff.next(&options, Some(at(100)), at(135));
        let third = backoff.next(&options, Some(at(135)), at(170));
        let fourth = backoff.next(&options, Some(at(170)), at(205));
        assert_eq!(
            [first, second, third, fourth].map(|d| d.as_secs()),
            [0, 0, 0, 5],
            "10 s and 20 s back-offs are shorter than a 35 s life; 40 s is not"
        );
        // Forgotten after twice the cap without a restart.
        let forgotten = backoff.next(&options, Some(at(205)), at(205 + 700));
        assert_eq!(forgotten, Duration::ZERO);
    }
}
