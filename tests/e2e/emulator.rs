//! The emulator's own tests, against a stand-in HTTP server and a fake container
//! runtime on a fast time scale: what a probe request looks like, how statuses,
//! redirects, transport errors and long bodies are judged, and how the workers apply
//! thresholds, startup gating, the hold after a kill, the kill sequence (preStop,
//! SIGTERM, the grace period, SIGKILL), sidecars first, and the restart back-off. The
//! scenarios trust these rules; these tests are what makes them trustworthy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use testkit::standin::{Behaviour, Reply, StandIn};

use crate::kubelet::http::{self, Rules, Url, Verdict};
use crate::kubelet::manifest::{ContainerSpec, PodSpec, ProbeSpec};
use crate::kubelet::{
    ContainerRuntime, EventKind, Kubelet, Options, Outcome, ProbeKind, ProbeResult, Signal,
};

fn status(code: u16) -> Reply {
    Reply::Answer(code, Vec::new(), format!("status {code}\n").into_bytes())
}

fn redirect(location: String) -> Reply {
    Reply::Answer(302, vec![("Location".into(), location)], Vec::new())
}

/// Serves `reply(path, port)` for every request, one connection each (the kit's
/// stand-in, which keeps the request heads).
async fn stand_in(reply: impl Fn(&str, u16) -> Reply + Send + Sync + 'static) -> StandIn {
    StandIn::start(Behaviour::Route(Arc::new(reply))).await
}

fn url(addr: SocketAddr, path: &str) -> Url {
    Url {
        host: addr.ip().to_string(),
        port: addr.port(),
        path: path.to_string(),
    }
}

fn rules() -> Rules {
    Rules {
        timeout: Duration::from_millis(300),
        user_agent: "kube-probe/1.33".into(),
        headers: Vec::new(),
    }
}

#[tokio::test]
async fn a_probe_request_looks_like_the_kubelets() {
    let server = stand_in(|_, _| status(200)).await;
    let mut rules = rules();
    rules.headers = vec![("X-Probe".into(), "yes".into())];
    let run = http::run(&url(server.addr, "/livez?verbose"), &rules).await;
    assert_eq!(
        (run.verdict, run.status, run.requests),
        (Verdict::Success, Some(200), 1)
    );
    rules.headers = vec![("accept".into(), String::new())];
    http::run(&url(server.addr, "/"), &rules).await;
    let heads = server.heads.lock().expect("heads").clone();
    let first = heads[0].to_ascii_lowercase();
    assert!(
        first.starts_with("get /livez?verbose http/1.1\r\n"),
        "{first}"
    );
    for header in [
        format!("host: {}\r\n", server.addr),
        "user-agent: kube-probe/1.33\r\n".into(),
        "accept: */*\r\n".into(),
        "connection: close\r\n".into(),
        "x-probe: yes\r\n".into(),
    ] {
        assert!(first.contains(&header), "{header:?} missing from {first}");
    }
    assert!(!first.contains("accept-encoding"), "{first}");
    assert!(
        !heads[1].to_ascii_lowercase().contains("accept:"),
        "an empty value removes the default: {}",
        heads[1]
    );
}

#[tokio::test]
async fn statuses_and_redirects_are_judged_like_the_kubelet() {
    let server = stand_in(|path, port| {
        if let Some(n) = path.strip_prefix("/hops/") {
            let n: u32 = n.parse().unwrap_or(0);
            return if n == 0 {
                status(200)
            } else {
                redirect(format!("/hops/{}", n - 1))
            };
        }
        match path {
            "/other-host" => redirect(format!("http://localhost:{port}/")),
            "/absolute" => redirect(format!("http://127.0.0.1:{port}/hops/0")),
            "/no-location" => status(301),
            "/big" => Reply::Answer(200, Vec::new(), vec![b'x'; 1 << 20]),
            other => status(other.trim_start_matches('/').parse().unwrap_or(200)),
        }
    })
    .await;
    // No answer here is slow by design, so the timeout is not what is judged: a short
    // one would turn a loaded machine's scheduling (1 MiB written on this test's one
    // thread) into a Failure.
    let mut rules = rules();
    rules.timeout = Duration::from_secs(10);
    let judge = |path: &'static str| {
        let rules = rules.clone();
        let target = url(server.addr, path);
        async move { http::run(&target, &rules).await }
    };
    assert_eq!(judge("/204").await.verdict, Verdict::Success);
    assert_eq!(judge("/399").await.verdict, Verdict::Warning);
    assert_eq!(judge("/404").await.verdict, Verdict::Failure);
    assert_eq!(judge("/503").await.verdict, Verdict::Failure);
    assert_eq!(judge("/no-location").await.verdict, Verdict::Warning);
    assert_eq!(
        judge("/other-host").await.verdict,
        Verdict::Warning,
        "another host is not followed"
    );
    assert_eq!(
        judge("/absolute").await.verdict,
        Verdict::Success,
        "same host, another path: followed"
    );
    let nine = judge("/hops/9").await;
    assert_eq!(
        (nine.verdict, nine.requests),
        (Verdict::Success, 10),
        "9 redirects are followed"
    );
    let ten = judge("/hops/10").await;
    assert_eq!(
        (ten.verdict, ten.requests),
        (Verdict::Failure, 10),
        "the 10th redirect fails"
    );
    let big = judge("/big").await;
    assert_eq!(
        big.verdict,
        Verdict::Success,
        "a long body is truncated, not an error"
    );
}

#[tokio::test]
async fn transport_errors_are_failures_and_only_body_errors_are_discarded() {
    let server = stand_in(|path, _| match path {
        "/hang" => Reply::Hang,
        "/truncated" => Reply::Truncated,
        _ => Reply::Close,
    })
    .await;
    let rules = rules();
    let closed = http::run(&url(server.addr, "/close"), &rules).await;
    assert_eq!(
        (closed.verdict, closed.attempts, closed.requests),
        (Verdict::Failure, 1, 1),
        "closed unanswered: a failure, not retried"
    );
    let hung = http::run(&url(server.addr, "/hang"), &rules).await;
    assert_eq!(
        (hung.verdict, hung.attempts),
        (Verdict::Failure, 1),
        "a timeout before the answer is a failure"
    );
    let refused_port = crate::support::free_port();
    let refused = http::run(
        &url(SocketAddr::from(([127, 0, 0, 1], refused_port)), "/"),
        &rules,
    )
    .await;
    assert_eq!(
        (refused.verdict, refused.attempts, refused.requests),
        (Verdict::Failure, 1, 0),
        "refused: a failure"
    );
    let truncated = http::run(&url(server.addr, "/truncated"), &rules).await;
    assert_eq!(
        (truncated.verdict, truncated.attempts, truncated.requests),
        (Verdict::Error, 3, 3),
        "an error reading the body is retried back to back, then discarded"
    );
}

/// A container whose health the test flips; a restart heals it when `heals`. It
/// stops on SIGTERM unless `ignores_term` (a SIGSTOPped process), and exits by itself
/// right after each start when `crashes`.
struct FakeRuntime {
    broken: Arc<AtomicBool>,
    heals: bool,
    crashes: bool,
    ignores_term: bool,
    alive: AtomicBool,
    terms: AtomicU32,
    kills: AtomicU32,
}

impl FakeRuntime {
    fn new(broken: Arc<AtomicBool>, heals: bool) -> FakeRuntime {
        FakeRuntime {
            broken,
            heals,
            crashes: false,
            ignores_term: false,
            alive: AtomicBool::new(false),
            terms: AtomicU32::new(0),
            kills: AtomicU32::new(0),
        }
    }
}

impl ContainerRuntime for FakeRuntime {
    fn start(&self, _instance: u32) -> Result<(), String> {
        if self.heals {
            self.broken.store(false, Ordering::SeqCst);
        }
        self.alive.store(!self.crashes, Ordering::SeqCst);
        Ok(())
    }

    fn signal(&self, _instance: u32, signal: Signal) -> Result<(), String> {
        match signal {
            Signal::Stop => {
                self.terms.fetch_add(1, Ordering::SeqCst);
                if !self.ignores_term {
                    self.alive.store(false, Ordering::SeqCst);
                }
            }
            Signal::Kill => {
                self.kills.fetch_add(1, Ordering::SeqCst);
                self.alive.store(false, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    fn running(&self, _instance: u32) -> bool {
        self.alive.load(Ordering::SeqCst)
    }
}

const SCALE: f64 = 0.02;

fn probe(kind: ProbeKind, path: &str, failure_threshold: u32) -> ProbeSpec {
    let mut spec = ProbeSpec::http(kind, path, 80);
    spec.period_seconds = 5;
    spec.timeout_seconds = 2;
    spec.failure_threshold = failure_threshold;
    spec
}

fn app(probes: Vec<ProbeSpec>, pre_stop_sleep_seconds: u32) -> PodSpec {
    PodSpec {
        sidecars: Vec::new(),
        containers: vec![ContainerSpec {
            name: "app".into(),
            probes,
            pre_stop_sleep_seconds,
        }],
        termination_grace_period_seconds: 30,
    }
}

/// A stand-in whose every path fails while `broken`.
async fn flippable(broken: Arc<AtomicBool>) -> SocketAddr {
    let flag = broken;
    stand_in(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            status(500)
        } else {
            status(200)
        }
    })
    .await
    .addr
}

/// A kubelet over a stand-in whose every path fails while `broken`.
async fn pod(
    broken: Arc<AtomicBool>,
    heals: bool,
    probes: Vec<ProbeSpec>,
) -> (Kubelet, Arc<FakeRuntime>) {
    let addr = flippable(broken.clone()).await;
    let runtime = Arc::new(FakeRuntime::new(broken, heals));
    let mut options = Options::new(SCALE, vec![(80, addr)]);
    options.min_timeout = Duration::from_millis(100);
    let kubelet =
        Kubelet::start(&app(probes, 5), options, vec![("app", runtime.clone())]).expect("starts");
    (kubelet, runtime)
}

fn probes_of(kubelet: &Kubelet, kind: ProbeKind, instance: u32) -> Vec<(Duration, Outcome)> {
    kubelet
        .timeline()
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Probe {
                probe,
                container: c,
                outcome,
                ..
            } if probe == kind && c.instance == instance => Some((e.at, outcome)),
            _ => None,
        })
        .collect()
}

fn first(kubelet: &Kubelet, matches: impl Fn(&EventKind) -> bool) -> Duration {
    kubelet
        .timeline()
        .first_after(Duration::ZERO, matches)
        .map(|e| e.at)
        .unwrap_or_else(|| panic!("event missing:\n{}", kubelet.timeline().render(false)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_failure_kills_once_then_the_new_container_is_probed_from_startup() {
    let broken = Arc::new(AtomicBool::new(false));
    let probes = vec![
        probe(ProbeKind::Startup, "/startupz", 3),
        probe(ProbeKind::Liveness, "/livez", 3),
        probe(ProbeKind::Readiness, "/readyz", 2),
    ];
    let (kubelet, runtime) = pod(broken.clone(), true, probes).await;
    kubelet
        .wait_until(Duration::from_secs(5), "ready", Kubelet::ready)
        .await
        .expect("ready");
    let startup_passed = first(&kubelet, |e| {
        matches!(
            e,
            EventKind::Result {
                probe: ProbeKind::Startup,
                to: ProbeResult::Success,
                ..
            }
        )
    });
    for kind in [ProbeKind::Liveness, ProbeKind::Readiness] {
        assert!(
            probes_of(&kubelet, kind, 0)
                .iter()
                .all(|(at, _)| *at >= startup_passed),
            "{kind:?} ran before startup passed"
        );
    }
    let broke = kubelet.mark("broken");
    broken.store(true, Ordering::SeqCst);
    kubelet
        .wait_until(Duration::from_secs(10), "restarted and ready", |k| {
            k.restarts() == 1 && k.ready()
        })
        .await
        .expect("restart");
    let kill = first(&kubelet, |e| matches!(e, EventKind::Killing { .. }));
    let started = first(
        &kubelet,
        |e| matches!(e, EventKind::Started { container } if container.instance == 1),
    );
    let failures_before_kill = probes_of(&kubelet, ProbeKind::Liveness, 0)
        .iter()
        .filter(|(at, outcome)| *at >= broke && *at <= kill && *outcome == Outcome::Failure)
        .count();
    assert_eq!(
        failures_before_kill,
        3,
        "failureThreshold consecutive failures\n{}",
        kubelet.timeline().render(false)
    );
    assert!(
        probes_of(&kubelet, ProbeKind::Liveness, 0)
            .iter()
            .all(|(at, _)| *at <= kill),
        "liveness is on hold after the kill"
    );
    assert!(
        started - kill >= Duration::from_secs_f64(5.0 * SCALE),
        "preStop runs before the kill"
    );
    assert!(
        kubelet
            .timeline()
            .first_after(Duration::ZERO, |e| matches!(e, EventKind::BackOff { .. }))
            .is_none(),
        "the first restart is immediate"
    );
    let c1_startup = probes_of(&kubelet, ProbeKind::Startup, 1);
    let c1_liveness = probes_of(&kubelet, ProbeKind::Liveness, 1);
    assert!(
        !c1_startup.is_empty() && c1_liveness.iter().all(|(at, _)| *at > c1_startup[0].0),
        "startup gates the new container"
    );
    assert_eq!(
        (
            runtime.terms.load(Ordering::SeqCst),
            runtime.kills.load(Ordering::SeqCst)
        ),
        (1, 0),
        "one SIGTERM, which it obeyed: no SIGKILL"
    );
    let timeline = kubelet.stop().await;
    assert_eq!(timeline.counters().restarts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_container_backs_off_10_20_40() {
    let addr = flippable(Arc::new(AtomicBool::new(false))).await;
    let mut runtime = FakeRuntime::new(Arc::new(AtomicBool::new(false)), false);
    runtime.crashes = true;
    let runtime = Arc::new(runtime);
    let mut options = Options::new(SCALE, vec![(80, addr)]);
    options.min_timeout = Duration::from_millis(100);
    let probes = vec![probe(ProbeKind::Liveness, "/livez", 1)];
    let kubelet = Kubelet::start(&app(probes, 0), options, vec![("app", runtime)]).expect("starts");
    kubelet
        .wait_until(Duration::from_secs(10), "four restarts", |k| {
            k.restarts() >= 4
        })
        .await
        .expect("restarts");
    let events = kubelet.timeline().events();
    let delays: Vec<u64> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::BackOff { delay, .. } => Some((delay.as_secs_f64() / SCALE).round() as u64),
            _ => None,
        })
        .collect();
    assert_eq!(&delays[..3], &[10, 20, 40], "emulated seconds of back-off");
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Exited { .. })),
        "the exits were seen without a kill"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let broken = Arc::new(AtomicBool::new(false));
    let addr = flippable(broken.clone()).await;
    let mut runtime = FakeRuntime::new(broken.clone(), true);
    runtime.ignores_term = true;
    let runtime = Arc::new(runtime);
    let mut options = Options::new(SCALE, vec![(80, addr)]);
    options.min_timeout = Duration::from_millis(100);
    let mut pod = app(vec![probe(ProbeKind::Liveness, "/livez", 1)], 5);
    pod.termination_grace_period_seconds = 20;
    let kubelet = Kubelet::start(&pod, options, vec![("app", runtime.clone())]).expect("starts");
    kubelet
        .wait_until(Duration::from_secs(5), "running", |k| k.running("app"))
        .await
        .expect("running");
    broken.store(true, Ordering::SeqCst);
    kubelet
        .wait_until(Duration::from_secs(10), "restarted", |k| k.restarts() == 1)
        .await
        .expect("restart");
    let signal_at = |name: &str| {
        first(
            &kubelet,
            |e| matches!(e, EventKind::Signal { signal, .. } if *signal == name),
        )
    };
    let kill = first(&kubelet, |e| matches!(e, EventKind::Killing { .. }));
    let (term, sigkill) = (signal_at("stop signal"), signal_at("SIGKILL"));
    assert!(
        term - kill >= Duration::from_secs_f64(5.0 * SCALE),
        "preStop (5 s) runs before SIGTERM"
    );
    assert!(
        sigkill - kill >= Duration::from_secs_f64(20.0 * SCALE),
        "SIGKILL only once the grace period (20 s, preStop included) is over\n{}",
        kubelet.timeline().render(false)
    );
    assert_eq!(runtime.kills.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_container_starts_once_its_sidecar_has_started() {
    let sidecar_up = Arc::new(AtomicBool::new(false));
    let addr = flippable(Arc::new(AtomicBool::new(false))).await;
    let flag = sidecar_up.clone();
    let sidecar_server = stand_in(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            status(200)
        } else {
            status(503)
        }
    })
    .await;
    let mut pod = app(vec![probe(ProbeKind::Readiness, "/readyz", 1)], 0);
    pod.sidecars.push(ContainerSpec {
        name: "sidecar".into(),
        probes: vec![{
            let mut startup = probe(ProbeKind::Startup, "/healthz", 60);
            startup.http.port = 9090;
            startup.period_seconds = 1;
            startup
        }],
        pre_stop_sleep_seconds: 0,
    });
    let app_runtime = Arc::new(FakeRuntime::new(Arc::new(AtomicBool::new(false)), true));
    let sidecar_runtime = Arc::new(FakeRuntime::new(Arc::new(AtomicBool::new(false)), true));
    let mut options = Options::new(SCALE, vec![(80, addr), (9090, sidecar_server.addr)]);
    options.min_timeout = Duration::from_millis(100);
    let kubelet = Kubelet::start(
        &pod,
        options,
        vec![
            ("app", app_runtime.clone()),
            ("sidecar", sidecar_runtime.clone()),
        ],
    )
    .expect("starts");
    tokio::time::sleep(Duration::from_secs_f64(10.0 * SCALE)).await;
    assert!(kubelet.running("sidecar"), "the sidecar starts first");
    assert!(
        !kubelet.running("app") && !kubelet.ready(),
        "the app waits for the sidecar's startup probe"
    );
    sidecar_up.store(true, Ordering::SeqCst);
    kubelet
        .wait_until(Duration::from_secs(5), "the pod ready", Kubelet::ready)
        .await
        .expect("ready once the sidecar started and the app is ready");
    // The sidecar exits: the pod is not ready until it is back; the app stays up.
    sidecar_runtime.alive.store(false, Ordering::SeqCst);
    kubelet
        .wait_until(Duration::from_secs(5), "the sidecar restarted", |k| {
            k.restarts_of("sidecar") == 1
        })
        .await
        .expect("a native sidecar is restarted");
    assert_eq!(kubelet.restarts(), 0, "the app was not restarted");
}

/// A kubelet over a stand-in that always gives `reply`, one liveness probe
/// (failureThreshold 1); the runtime, after six periods.
async fn liveness_against(
    reply: fn() -> Reply,
) -> (Arc<FakeRuntime>, Arc<crate::kubelet::Timeline>) {
    let server = stand_in(move |_, _| reply()).await;
    let runtime = Arc::new(FakeRuntime::new(Arc::new(AtomicBool::new(false)), true));
    let kubelet = Kubelet::start(
        &app(vec![probe(ProbeKind::Liveness, "/livez", 1)], 0),
        Options::new(SCALE, vec![(80, server.addr)]),
        vec![("app", runtime.clone())],
    )
    .expect("starts");
    tokio::time::sleep(Duration::from_secs_f64(5.0 * 6.0 * SCALE)).await;
    (runtime, kubelet.stop().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_unanswered_counts_toward_the_threshold() {
    let (runtime, timeline) = liveness_against(|| Reply::Close).await;
    assert!(
        runtime.terms.load(Ordering::SeqCst) >= 1,
        "a closed connection is a failure, and failureThreshold 1 kills\n{}",
        timeline.render(false)
    );
    assert_eq!(timeline.counters().discarded, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_whose_body_errs_counts_toward_neither_threshold() {
    let (runtime, timeline) = liveness_against(|| Reply::Truncated).await;
    let counters = timeline.counters();
    assert!(counters.discarded >= 3, "{}", timeline.render(false));
    assert_eq!(counters.discarded, counters.probes_total());
    assert_eq!(
        runtime.terms.load(Ordering::SeqCst),
        0,
        "a discarded probe is no failure"
    );
}
