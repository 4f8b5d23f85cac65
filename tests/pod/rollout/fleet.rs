//! A Deployment on this machine: several podman pods, each run by a kubelet emulator
//! of its own, behind one Service (`haproxy.rs`), with the two controllers that
//! decide which pods exist and which get traffic.
//!
//! - The Deployment controller (`rollout`, `scale`) follows `strategy.rollingUpdate`
//!   and `minReadySeconds` as the ReplicaSet controller applies them: a new pod is
//!   created while the pods that are not terminating number fewer than
//!   `replicas + maxSurge`; an old pod is deleted while more than
//!   `replicas - maxUnavailable` pods are *available* (ready for `minReadySeconds`);
//!   unready old pods go first. A scale-in deletes the youngest pods (the
//!   ReplicaSet's ranking: not ready first, then the shortest time ready).
//!   Terminating pods count for neither, as in Kubernetes.
//! - The endpoints controller (with kube-proxy's part) samples every pod every
//!   20 ms: a pod belongs in the Service when it is ready (every container ready, as
//!   the emulator computes PodReady) and not terminating. Each change reaches
//!   HAProxy after the propagation delay (EndpointSlice, then kube-proxy; 1 s by
//!   default, emulated time). A deletion is seen by it and by the kubelet at the
//!   same moment: the removal travels while preStop runs.
//!
//! Time: one scale for everything the manifests say (periods, preStop, grace,
//! `minReadySeconds`, the sidecar's intervals) and for the propagation delay, so
//! their proportions stay the manifests'; what no manifest says (Apache's start, a
//! page's PHP time, podman) runs at its own speed.
//!
//! Every pod has its own volumes (the docroot and state emptyDirs), all share one
//! database (`WpEnv`, WordPress installed once) and the golden ConfigMap, as the
//! replicas of one Deployment share one Secret and one database.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::kubelet::manifest::PodSpec;
use crate::kubelet::timeline::describe;
use crate::kubelet::{ContainerRuntime, EventKind, Kubelet, Options, Timeline};
use crate::podman::Owned;
use crate::rollout::haproxy::Haproxy;
use crate::runtime::PodmanContainer;
use crate::stage::{
    create_pod, empty_dir, PodSettings, SIDECAR, SIDECAR_PORT, WORDPRESS, WORDPRESS_PORT,
};
use crate::support::{free_port, http_get, Layout, WpEnv};

/// Server slots in the Service: one per pod ever created (slots are not reused, so a
/// late removal can never hit a newer pod).
const SLOTS: usize = 24;

/// `strategy.rollingUpdate` and `minReadySeconds`, resolved for a replica count.
#[derive(Clone, Copy, Debug)]
pub struct Strategy {
    pub max_surge: usize,
    pub max_unavailable: usize,
    pub min_ready_seconds: f64,
}

/// An int-or-percent of `replicas`, rounded as the Deployment controller rounds it
/// (surge up, unavailable down).
fn resolve(
    value: Option<&serde_norway::Value>,
    replicas: usize,
    up: bool,
) -> Result<usize, String> {
    let text = match value {
        None => "25%".to_string(),
        Some(serde_norway::Value::Number(n)) => {
            return n
                .as_u64()
                .map(|n| n as usize)
                .ok_or(format!("{n} is not a count"))
        }
        Some(serde_norway::Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("{other:?} is neither a count nor a percentage")),
    };
    let percent: f64 = text
        .strip_suffix('%')
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("{text:?} is not a percentage"))?;
    let exact = percent / 100.0 * replicas as f64;
    Ok(if up { exact.ceil() } else { exact.floor() } as usize)
}

impl Strategy {
    /// From a Deployment manifest (the defaults where it says nothing: 25 %, 25 %, 0).
    pub fn from_manifest(path: &Path, replicas: usize) -> Result<Strategy, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc: serde_norway::Value =
            serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Strategy::from_spec(&doc["spec"], replicas)
    }

    pub fn from_spec(spec: &serde_norway::Value, replicas: usize) -> Result<Strategy, String> {
        let rolling = &spec["strategy"]["rollingUpdate"];
        let strategy = Strategy {
            max_surge: resolve(rolling.get("maxSurge"), replicas, true)?,
            max_unavailable: resolve(rolling.get("maxUnavailable"), replicas, false)?,
            min_ready_seconds: spec
                .get("minReadySeconds")
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0),
        };
        if strategy.max_surge == 0 && strategy.max_unavailable == 0 {
            return Err("maxSurge and maxUnavailable are both 0".into());
        }
        Ok(strategy)
    }
}

/// What the pods of one revision are made of.
#[derive(Clone, Debug)]
pub struct Template {
    /// `v1`, `v2`: the image's `X-Release`.
    pub release: String,
    pub image: String,
}

/// What a scenario asks of its Deployment.
pub struct FleetSetup {
    pub name: &'static str,
    pub scale: f64,
    /// A private mariadbd the scenario may stop.
    pub own_database: bool,
    /// The pod: the manifests' (with the sidecar) or the article's.
    pub pod: PodSpec,
    pub layout: Layout,
    pub strategy: Strategy,
    /// EndpointSlice + kube-proxy, emulated seconds.
    pub propagation_seconds: f64,
    pub sidecar_image: String,
}

/// The pods' parent cgroup, as the kubelet's `kubepods`: `cpu.shares` of the node's
/// allocatable CPU (1024 per core). podman's default parent (`libpod_parent`, 1024
/// shares) holds every container on the machine and weighs as much as one process
/// outside it: with a compiler running beside the test, four pods got half a core
/// between them and answered in more than 5 s. Removed (every directory podman left
/// under it, in every controller) when dropped.
pub struct Kubepods {
    pub name: String,
}

impl Kubepods {
    pub fn create(scenario: &str) -> Result<Kubepods, String> {
        let name = format!("wps-kubepods-{scenario}-{}", std::process::id());
        let cpu = PathBuf::from("/sys/fs/cgroup/cpu").join(&name);
        std::fs::create_dir_all(&cpu).map_err(|e| format!("{}: {e}", cpu.display()))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::fs::write(cpu.join("cpu.shares"), (1024 * cores).to_string())
            .map_err(|e| format!("{}/cpu.shares: {e}", cpu.display()))?;
        Ok(Kubepods { name })
    }

    fn remove(dir: &Path) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    Kubepods::remove(&entry.path());
                }
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
}

impl Drop for Kubepods {
    fn drop(&mut self) {
        if let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") {
            for controller in controllers.flatten() {
                let dir = controller.path().join(&self.name);
                if dir.is_dir() {
                    Kubepods::remove(&dir);
                }
            }
        }
    }
}

/// What the endpoints controller and the reports need of a pod.
pub struct Pod {
    pub name: String,
    pub number: usize,
    pub release: String,
    /// WordPress's port 80 and the sidecar's 9090 on the host.
    pub addr: SocketAddr,
    pub sidecar_addr: SocketAddr,
    parts: Mutex<Option<Parts>>,
    kubelet: Mutex<Option<Arc<Kubelet>>>,
    /// The pod's own timeline and where it starts on the fleet's.
    timeline: Mutex<Option<(Arc<Timeline>, Duration)>>,
    start_error: Mutex<Option<String>>,
    pub terminating: AtomicBool,
    pub gone: AtomicBool,
    ready_since: Mutex<Option<Instant>>,
}

struct Parts {
    wordpress: Arc<PodmanContainer>,
    sidecar: Option<Arc<PodmanContainer>>,
    pod: Owned,
    volumes: Vec<Owned>,
}

impl Pod {
    fn kubelet(&self) -> Option<Arc<Kubelet>> {
        self.kubelet
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every container ready (PodReady), now.
    pub fn ready(&self) -> bool {
        self.kubelet().is_some_and(|k| k.ready())
    }

    fn live(&self) -> bool {
        !self.terminating.load(Ordering::SeqCst) && !self.gone.load(Ordering::SeqCst)
    }

    fn available(&self, min_ready: Duration) -> bool {
        self.ready_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|since| since.elapsed() >= min_ready)
    }

    fn ready_for(&self) -> Duration {
        self.ready_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|since| since.elapsed())
            .unwrap_or_default()
    }

    /// CPU time the WordPress container has used (its cgroup's `cpuacct.usage`).
    pub fn wordpress_cpu(&self) -> Duration {
        let parts = self.parts.lock().unwrap_or_else(|p| p.into_inner());
        let Some(parts) = parts.as_ref() else {
            return Duration::ZERO;
        };
        parts
            .wordpress
            .podman_on(&["inspect", "--format", "{{.State.Pid}}"], &[])
            .ok()
            .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok())
            .and_then(|groups| {
                let line = groups
                    .lines()
                    .find(|l| l.split(':').nth(1) == Some("cpuacct"))?;
                let path = line.splitn(3, ':').nth(2)?.to_string();
                std::fs::read_to_string(format!("/sys/fs/cgroup/cpuacct{path}/cpuacct.usage")).ok()
            })
            .and_then(|ns| ns.trim().parse().ok())
            .map(Duration::from_nanos)
            .unwrap_or_default()
    }

    /// Restarts of its containers (WordPress, the sidecar) so far.
    pub fn restarts(&self) -> u32 {
        self.timeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(t, _)| t.counters_of(WORDPRESS).restarts + t.counters_of(SIDECAR).restarts)
            .unwrap_or(0)
    }

    /// Every kill a probe ordered (not the deletion's).
    pub fn probe_kills(&self) -> usize {
        self.timeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(t, _)| {
                t.count_after(
                    Duration::ZERO,
                    |e| matches!(e, EventKind::Killing { reason, .. } if reason != "pod deleted"),
                )
            })
            .unwrap_or(0)
    }
}

pub struct Fleet {
    pub env: Arc<WpEnv>,
    pub timeline: Arc<Timeline>,
    pub scale: f64,
    pub strategy: Strategy,
    pub propagation: Duration,
    pub haproxy: Arc<Haproxy>,
    spec: PodSpec,
    layout: Layout,
    sidecar_image: String,
    /// What every pod of the Deployment shares.
    settings: PodSettings,
    name: &'static str,
    pods: Mutex<Vec<Arc<Pod>>>,
    replicas: AtomicUsize,
    numbers: AtomicUsize,
    stop: watch::Sender<bool>,
    endpoints: Mutex<Option<JoinHandle<()>>>,
    kubepods: Mutex<Option<Kubepods>>,
}

impl Fleet {
    /// The database (WordPress installed into it), the Service on WordPress's siteurl
    /// (the address `php -S` served it on), the endpoints controller; no pod yet.
    pub async fn start(setup: FleetSetup) -> Arc<Fleet> {
        let name = setup.name;
        let kubepods = Kubepods::create(name).unwrap_or_else(|e| panic!("scenario {name}: {e}"));
        let root =
            PathBuf::from(option_env!("CARGO_TARGET_TMPDIR").unwrap_or("target/tmp")).join("pod");
        let env = Arc::new(WpEnv::up(name, &root, setup.own_database));
        env.php_stop()
            .unwrap_or_else(|e| panic!("scenario {name}: {e}"));
        let service = env.php_addr();
        let haproxy = Arc::new(
            Haproxy::start(service, SLOTS).unwrap_or_else(|e| panic!("scenario {name}: {e}")),
        );
        // The sidecar's Host header is the siteurl: what the Service answers for.
        let settings = PodSettings::new(&env, setup.own_database, setup.scale);
        let timeline = Arc::new(Timeline::new(setup.scale, "deployment"));
        timeline.mark(format!(
            "Service (HAProxy) on {service}; strategy {:?}; propagation {:.1}s emulated; \
             time scale {}",
            setup.strategy, setup.propagation_seconds, setup.scale
        ));
        let (stop, stopped) = watch::channel(false);
        let fleet = Arc::new(Fleet {
            env,
            timeline,
            scale: setup.scale,
            strategy: setup.strategy,
            propagation: Duration::from_secs_f64(setup.propagation_seconds * setup.scale),
            haproxy,
            spec: setup.pod,
            layout: setup.layout,
            sidecar_image: setup.sidecar_image,
            settings,
            name,
            pods: Mutex::new(Vec::new()),
            replicas: AtomicUsize::new(0),
            numbers: AtomicUsize::new(0),
            stop,
            endpoints: Mutex::new(None),
            kubepods: Mutex::new(Some(kubepods)),
        });
        let task = tokio::spawn(endpoints_controller(fleet.clone(), stopped));
        *fleet.endpoints.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        fleet
    }

    fn kubepods_name(&self) -> String {
        self.kubepods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|k| k.name.clone())
            .unwrap_or_default()
    }

    pub fn emulated(&self, seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds * self.scale)
    }

    /// A line on the fleet's timeline, also printed at once (a scenario that hangs
    /// shows where).
    pub fn mark(&self, text: impl Into<String>) -> Duration {
        let text = text.into();
        println!("[{:>7.2}s] {text}", self.timeline.now().as_secs_f64());
        self.timeline.mark(text)
    }

    pub fn pods(&self) -> Vec<Arc<Pod>> {
        self.pods.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn live(&self) -> Vec<Arc<Pod>> {
        self.pods().into_iter().filter(|p| p.live()).collect()
    }

    fn min_ready(&self) -> Duration {
        self.emulated(self.strategy.min_ready_seconds)
    }

    /// CPU used so far by the WordPress containers of the pods that still exist.
    pub fn wordpress_cpu(&self) -> Duration {
        self.pods().iter().map(|p| p.wordpress_cpu()).sum()
    }

    /// Restarts of any container of any pod so far.
    pub fn restarts(&self) -> u32 {
        self.pods().iter().map(|p| p.restarts()).sum()
    }

    /// Creates a pod of `template`; it starts in the background.
    fn create(self: &Arc<Self>, template: &Template) {
        let number = self.numbers.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(number <= SLOTS, "more than {SLOTS} pods in one scenario");
        let pod = Arc::new(Pod {
            name: format!("pod-{number}"),
            number,
            release: template.release.clone(),
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            sidecar_addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            parts: Mutex::new(None),
            kubelet: Mutex::new(None),
            timeline: Mutex::new(None),
            start_error: Mutex::new(None),
            terminating: AtomicBool::new(false),
            gone: AtomicBool::new(false),
            ready_since: Mutex::new(None),
        });
        if let Err(error) = self.haproxy.assign(number, pod.addr) {
            panic!("scenario {}: {error}", self.name);
        }
        self.mark(format!(
            "created {} ({}) on {}",
            pod.name, template.release, pod.addr
        ));
        self.pods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(pod.clone());
        let (fleet, template) = (self.clone(), template.clone());
        tokio::spawn(async move {
            let built = {
                let (fleet, pod, template) = (fleet.clone(), pod.clone(), template.clone());
                tokio::task::spawn_blocking(move || fleet.build(&pod, &template)).await
            };
            match built {
                Ok(Ok((parts, runtimes))) => {
                    let options = Options::new(
                        fleet.scale,
                        vec![(SIDECAR_PORT, pod.sidecar_addr), (WORDPRESS_PORT, pod.addr)],
                    );
                    let runtimes: Vec<(&str, Arc<dyn ContainerRuntime>)> = runtimes
                        .iter()
                        .map(|(n, r)| (n.as_str(), r.clone()))
                        .collect();
                    let offset = fleet.timeline.now();
                    match Kubelet::start(&fleet.spec, options, runtimes) {
                        Ok(kubelet) => {
                            *pod.timeline.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some((kubelet.timeline().clone(), offset));
                            *pod.parts.lock().unwrap_or_else(|p| p.into_inner()) = Some(parts);
                            *pod.kubelet.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(Arc::new(kubelet));
                        }
                        Err(e) => {
                            *pod.start_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e)
                        }
                    }
                }
                Ok(Err(e)) => *pod.start_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e),
                Err(e) => {
                    *pod.start_error.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(format!("pod build panicked: {e}"))
                }
            }
        });
    }

    /// The podman pod, its volumes, its two containers (not started: the emulator
    /// starts them), from the pieces `stage.rs` makes its pod of, in the same order.
    #[allow(clippy::type_complexity)]
    fn build(
        &self,
        pod: &Pod,
        template: &Template,
    ) -> Result<(Parts, Vec<(String, Arc<dyn ContainerRuntime>)>), String> {
        let pod_name = format!("wps-{}-{}-{}", self.name, std::process::id(), pod.number);
        let owned_pod = create_pod(
            &pod_name,
            pod.addr,
            pod.sidecar_addr,
            Some(&format!("/{}", self.kubepods_name())),
        )?;
        let state = empty_dir(&pod_name, "sentinel-state")?;
        let docroot = match self.layout {
            Layout::SharedVolume => Some(empty_dir(&pod_name, "docroot")?),
            Layout::ContainerLayer => None,
        };
        let docroot_id = docroot.as_ref().map(|d| d.id.as_str());
        let logs = self.env.dir.join(&pod.name);
        std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
        let wordpress = Arc::new(PodmanContainer::new(
            &pod_name,
            self.settings.wordpress(&template.image, docroot_id),
            logs.join("wordpress.log"),
        ));
        let mut runtimes: Vec<(String, Arc<dyn ContainerRuntime>)> =
            vec![(WORDPRESS.into(), wordpress.clone())];
        let sidecar = if self.spec.container(SIDECAR).is_some() {
            let sidecar = Arc::new(PodmanContainer::new(
                &pod_name,
                self.settings
                    .sidecar(&self.sidecar_image, &state.id, docroot_id),
                logs.join("sidecar.log"),
            ));
            runtimes.push((SIDECAR.into(), sidecar.clone()));
            Some(sidecar)
        } else {
            None
        };
        let mut volumes = vec![state];
        volumes.extend(docroot);
        Ok((
            Parts {
                wordpress,
                sidecar,
                pod: owned_pod,
                volumes,
            },
            runtimes,
        ))
    }

    /// Deletes `pod`: the endpoints controller and the kubelet see it at once.
    fn delete(self: &Arc<Self>, pod: &Arc<Pod>, reason: &str) {
        pod.terminating.store(true, Ordering::SeqCst);
        self.mark(format!("deleting {} ({}): {reason}", pod.name, pod.release));
        let (fleet, pod, reason) = (self.clone(), pod.clone(), reason.to_string());
        tokio::spawn(async move {
            // A pod still being built is deleted once it exists.
            let limit = Instant::now() + Duration::from_secs(120);
            while pod.kubelet().is_none()
                && pod
                    .start_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_none()
                && Instant::now() < limit
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if let Some(kubelet) = pod.kubelet() {
                kubelet.delete(&reason).await;
            }
            fleet.tear_down(&pod).await;
            fleet.mark(format!("{} gone", pod.name));
        });
    }

    /// Stops the pod's emulator and removes its containers, pod and volumes.
    async fn tear_down(&self, pod: &Pod) {
        let kubelet = pod.kubelet.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(kubelet) = kubelet {
            // The endpoints controller holds a clone only for a moment.
            let mut kubelet = kubelet;
            for _ in 0..500 {
                match Arc::try_unwrap(kubelet) {
                    Ok(owned) => {
                        owned.stop().await;
                        break;
                    }
                    Err(shared) => {
                        kubelet = shared;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }
        let parts = pod.parts.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(parts) = parts {
            let _ = tokio::task::spawn_blocking(move || {
                let Parts {
                    wordpress,
                    sidecar,
                    pod,
                    volumes,
                } = parts;
                drop(wordpress);
                drop(sidecar);
                drop(pod);
                drop(volumes);
            })
            .await;
        }
        pod.gone.store(true, Ordering::SeqCst);
    }

    /// A line on how each pod stands, every 15 s of a long wait.
    fn progress(&self, began: Instant, last: &mut Instant) {
        if last.elapsed() < Duration::from_secs(15) {
            return;
        }
        *last = Instant::now();
        let states: Vec<String> = self
            .pods()
            .iter()
            .filter(|p| !p.gone.load(Ordering::SeqCst))
            .map(|p| {
                let last = p
                    .timeline
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                    .and_then(|(t, _)| {
                        t.events()
                            .iter()
                            .rev()
                            .find(|e| !matches!(e.kind, EventKind::Probe { .. }))
                            .map(|e| describe(&e.kind))
                    })
                    .unwrap_or_else(|| "not started".into());
                format!("{} ready={} [{last}]", p.name, p.ready())
            })
            .collect();
        self.mark(format!(
            "waiting {:.0}s: {}",
            began.elapsed().as_secs_f64(),
            states.join("; ")
        ));
    }

    fn check_started(&self) -> Result<(), String> {
        for pod in self.pods() {
            if let Some(error) = pod
                .start_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                return Err(format!("{} did not start: {error}", pod.name));
            }
        }
        Ok(())
    }

    /// The rolling update to `template`, as the Deployment controller does it; done
    /// when every pod is of `template`, available, and the old ones are gone.
    pub async fn rollout(
        self: &Arc<Self>,
        template: &Template,
        limit: Duration,
    ) -> Result<Duration, String> {
        let began = Instant::now();
        let replicas = self.replicas.load(Ordering::SeqCst);
        let strategy = self.strategy;
        self.mark(format!(
            "rollout to {} ({}): replicas {replicas}, maxSurge {}, maxUnavailable {}, \
             minReadySeconds {}",
            template.release,
            template.image,
            strategy.max_surge,
            strategy.max_unavailable,
            strategy.min_ready_seconds
        ));
        let mut last = Instant::now();
        while began.elapsed() < limit {
            self.progress(began, &mut last);
            self.check_started()?;
            let live = self.live();
            let (new, old): (Vec<_>, Vec<_>) = live
                .iter()
                .cloned()
                .partition(|p| p.release == template.release);
            let min_ready = self.min_ready();
            let all_gone = self
                .pods()
                .iter()
                .all(|p| p.live() || p.gone.load(Ordering::SeqCst));
            if old.is_empty()
                && new.len() == replicas
                && new.iter().all(|p| p.available(min_ready))
                && all_gone
            {
                self.mark(format!("rollout to {} complete", template.release));
                return Ok(began.elapsed());
            }
            if new.len() < replicas && live.len() < replicas + strategy.max_surge {
                self.create(template);
                continue;
            }
            let available = live.iter().filter(|p| p.available(min_ready)).count();
            let floor = replicas.saturating_sub(strategy.max_unavailable);
            // As `maxScaledDown` allows it: never below the floor of available pods,
            // not even for an unready old pod while new ones are not available.
            if !old.is_empty() && available > floor {
                // Unready old pods first (they serve nobody), then the oldest.
                let victim = old
                    .iter()
                    .find(|p| !p.ready())
                    .or_else(|| old.first())
                    .cloned();
                if let Some(victim) = victim {
                    let why = if victim.ready() {
                        format!("{available} available > {floor}")
                    } else {
                        "not ready".to_string()
                    };
                    self.delete(&victim, &format!("rollout to {}: {why}", template.release));
                    continue;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "rollout to {} not complete within {limit:?}",
            template.release
        ))
    }

    /// `replicas: N`: creates or deletes pods of `template`; done when N pods are
    /// available and the deleted ones are gone.
    pub async fn scale(
        self: &Arc<Self>,
        replicas: usize,
        template: &Template,
        limit: Duration,
    ) -> Result<Duration, String> {
        let began = Instant::now();
        let before = self.replicas.swap(replicas, Ordering::SeqCst);
        self.mark(format!("scale {before} -> {replicas}"));
        let mut last = Instant::now();
        while began.elapsed() < limit {
            self.progress(began, &mut last);
            self.check_started()?;
            let mut live = self.live();
            let min_ready = self.min_ready();
            if live.len() < replicas {
                self.create(template);
                continue;
            }
            if live.len() > replicas {
                // The ReplicaSet's ranking: not ready first, then ready the shortest.
                live.sort_by_key(|p| (p.ready(), p.ready_for()));
                self.delete(&live[0], &format!("scale to {replicas}"));
                continue;
            }
            let all_gone = self
                .pods()
                .iter()
                .all(|p| p.live() || p.gone.load(Ordering::SeqCst));
            if live.iter().all(|p| p.available(min_ready)) && all_gone {
                self.mark(format!("scaled to {replicas}"));
                return Ok(began.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("scale to {replicas} not complete within {limit:?}"))
    }

    /// Waits until every live pod answers `GET /wp-login.php` itself (not through the
    /// Service) with a 2xx or 3xx.
    pub async fn wait_serving(&self, limit: Duration) -> Result<(), String> {
        let began = Instant::now();
        for pod in self.live() {
            loop {
                if let Ok((status, _)) = http_get(pod.addr, "/wp-login.php").await {
                    // Not the siteurl's host: a redirect to it is serving too.
                    if (200..400).contains(&status) {
                        break;
                    }
                }
                if began.elapsed() > limit {
                    return Err(format!("{} does not serve within {limit:?}", pod.name));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        self.mark("every pod serves");
        Ok(())
    }

    /// One timeline of everything: the controllers', the visitors' failures, and
    /// each pod's (every event but the probe runs that changed nothing).
    pub fn render(&self) -> String {
        let mut lines: Vec<(Duration, String)> = self
            .timeline
            .events()
            .into_iter()
            .map(|e| (e.at, format!("{:<8} {}", "", describe(&e.kind))))
            .collect();
        for pod in self.pods() {
            let Some((timeline, offset)) = pod
                .timeline
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
            else {
                continue;
            };
            for event in timeline.events() {
                if matches!(event.kind, EventKind::Probe { .. }) {
                    continue;
                }
                lines.push((
                    offset + event.at,
                    format!("{:<8} {}", pod.name, describe(&event.kind)),
                ));
            }
        }
        lines.sort_by_key(|(at, _)| *at);
        let mut out = String::new();
        for (at, text) in lines {
            out.push_str(&format!(
                "{:>8.2}s  (emulated {:>6.1}s)  {text}\n",
                at.as_secs_f64(),
                at.as_secs_f64() / self.scale
            ));
        }
        out
    }

    /// The output of a pod's containers, for a failure's report.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for pod in self.pods() {
            if let Some(parts) = pod.parts.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                out.push_str(&format!(
                    "--- {} WordPress ---\n{}\n",
                    pod.name,
                    parts.wordpress.log_tail(8)
                ));
                if let Some(sidecar) = &parts.sidecar {
                    out.push_str(&format!(
                        "--- {} sidecar ---\n{}\n",
                        pod.name,
                        sidecar.log_tail(8)
                    ));
                }
            }
        }
        out
    }

    /// Stops the controllers and removes every pod left, then the Service, then the
    /// database.
    pub async fn finish(self: Arc<Self>) {
        let _ = self.stop.send(true);
        let task = self
            .endpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        let mut downs = tokio::task::JoinSet::new();
        for pod in self.pods() {
            if !pod.gone.load(Ordering::SeqCst) {
                let fleet = self.clone();
                downs.spawn(async move { fleet.tear_down(&pod).await });
            }
        }
        while downs.join_next().await.is_some() {}
        drop(
            self.kubepods
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }
}

/// The sampling loop of the endpoints controller (see the module's doc).
async fn endpoints_controller(fleet: Arc<Fleet>, mut stop: watch::Receiver<bool>) {
    let mut observed: BTreeMap<usize, bool> = BTreeMap::new();
    let mut pending: Vec<(Instant, Arc<Pod>, bool, Duration)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        for pod in fleet.pods() {
            if pod.gone.load(Ordering::SeqCst) {
                continue;
            }
            let ready = pod.ready();
            {
                let mut since = pod.ready_since.lock().unwrap_or_else(|p| p.into_inner());
                match (ready, since.is_some()) {
                    (true, false) => *since = Some(Instant::now()),
                    (false, true) => *since = None,
                    _ => {}
                }
            }
            let want = ready && !pod.terminating.load(Ordering::SeqCst);
            let before = observed.get(&pod.number).copied().unwrap_or(false);
            if want != before {
                observed.insert(pod.number, want);
                pending.push((
                    Instant::now() + fleet.propagation,
                    pod.clone(),
                    want,
                    fleet.timeline.now(),
                ));
            }
        }
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(at, ..)| *at <= now);
        pending = later;
        for (_, pod, want, seen) in due {
            let applied = fleet.haproxy.enable(pod.number, want);
            fleet.mark(format!(
                "endpoints: {} {} (seen at {:.2}s){}",
                pod.name,
                if want {
                    "ADDED to the Service"
                } else {
                    "REMOVED from the Service"
                },
                seen.as_secs_f64(),
                applied.err().map(|e| format!(": {e}")).unwrap_or_default()
            ));
        }
    }
}
