//! The emulator's own tests, against a stand-in HTTP server and a fake container
//! runtime on a fast time scale: what a probe request looks like, how statuses,
//! redirects, transport errors and long bodies are judged, and how the workers apply
//! thresholds, startup gating, the hold after a kill, and the restart back-off. The
//! scenarios trust these rules; these tests are what makes them trustworthy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::kubelet::http::{self, Rules, TransportErrors, Url, Verdict};
use crate::kubelet::manifest::{ContainerSpec, ProbeSpec};
use crate::kubelet::{
    ContainerRuntime, EventKind, Kubelet, Options, Outcome, ProbeKind, ProbeResult,
};

/// What the stand-in does with a request.
enum Reply {
    Answer(u16, Vec<(String, String)>, Vec<u8>),
    /// Accept, read the request, close without a word.
    Close,
    /// Accept and never answer.
    Hang,
}

fn status(code: u16) -> Reply {
    Reply::Answer(code, Vec::new(), format!("status {code}\n").into_bytes())
}

fn redirect(location: String) -> Reply {
    Reply::Answer(302, vec![("Location".into(), location)], Vec::new())
}

struct StandIn {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
}

/// Serves `reply(path)` for every request, one connection each.
async fn stand_in(reply: impl Fn(&str, u16) -> Reply + Send + Sync + 'static) -> StandIn {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let heads = Arc::new(Mutex::new(Vec::new()));
    let reply = Arc::new(reply);
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let reply = reply.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap_or(0) == 1
                {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                seen.lock().expect("heads").push(head);
                match reply(&path, addr.port()) {
                    Reply::Answer(code, headers, body) => {
                        let mut out = format!(
                            "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                        for (name, value) in headers {
                            out.push_str(&format!("{name}: {value}\r\n"));
                        }
                        out.push_str("\r\n");
                        let _ = stream.write_all(out.as_bytes()).await;
                        let _ = stream.write_all(&body).await;
                    }
                    Reply::Close => {}
                    Reply::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    StandIn { addr, heads }
}

fn url(addr: SocketAddr, path: &str) -> Url {
    Url {
        host: addr.ip().to_string(),
        port: addr.port(),
        path: path.to_string(),
    }
}

fn rules(transport_errors: TransportErrors) -> Rules {
    Rules {
        timeout: Duration::from_millis(300),
        user_agent: "kube-probe/1.33".into(),
        headers: Vec::new(),
        transport_errors,
    }
}

#[tokio::test]
async fn a_probe_request_looks_like_the_kubelets() {
    let server = stand_in(|_, _| status(200)).await;
    let mut rules = rules(TransportErrors::Discard);
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
    let rules = rules(TransportErrors::Discard);
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
async fn transport_errors_are_retried_then_discarded() {
    let server = stand_in(|path, _| {
        if path == "/hang" {
            Reply::Hang
        } else {
            Reply::Close
        }
    })
    .await;
    let discard = rules(TransportErrors::Discard);
    let closed = http::run(&url(server.addr, "/close"), &discard).await;
    assert_eq!(
        (closed.verdict, closed.attempts, closed.requests),
        (Verdict::Error, 3, 3)
    );
    let start = Instant::now();
    let hung = http::run(&url(server.addr, "/hang"), &discard).await;
    assert_eq!((hung.verdict, hung.attempts), (Verdict::Error, 3));
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "each attempt has its own timeout"
    );
    let refused_port = crate::support::free_port();
    let refused = http::run(
        &url(SocketAddr::from(([127, 0, 0, 1], refused_port)), "/"),
        &discard,
    )
    .await;
    assert_eq!(
        (refused.verdict, refused.attempts, refused.requests),
        (Verdict::Error, 3, 0)
    );
    // Kubernetes' code: an error before the answer is a plain failure, not retried.
    let code = rules(TransportErrors::AsInKubeletCode);
    let closed = http::run(&url(server.addr, "/close"), &code).await;
    assert_eq!((closed.verdict, closed.attempts), (Verdict::Failure, 1));
}

/// A container whose health the test flips; a restart heals it when `heals`.
struct FakeRuntime {
    broken: Arc<AtomicBool>,
    heals: bool,
    kills: AtomicU32,
}

impl ContainerRuntime for FakeRuntime {
    fn kill(&self, _container: u32) -> Result<(), String> {
        self.kills.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn start(&self, _container: u32) -> Result<(), String> {
        if self.heals {
            self.broken.store(false, Ordering::SeqCst);
        }
        Ok(())
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

/// A kubelet over a stand-in whose every path fails while `broken`.
async fn pod(
    broken: Arc<AtomicBool>,
    heals: bool,
    probes: Vec<ProbeSpec>,
) -> (Kubelet, Arc<FakeRuntime>) {
    let flag = broken.clone();
    let server = stand_in(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            status(500)
        } else {
            status(200)
        }
    })
    .await;
    let runtime = Arc::new(FakeRuntime {
        broken,
        heals,
        kills: AtomicU32::new(0),
    });
    let container = ContainerSpec {
        name: "app".into(),
        probes,
        pre_stop_sleep_seconds: 5,
    };
    let mut options = Options::new(SCALE, vec![(80, server.addr)]);
    options.min_timeout = Duration::from_millis(100);
    let kubelet = Kubelet::start(&container, options, runtime.clone()).expect("starts");
    (kubelet, runtime)
}

fn probes_of(kubelet: &Kubelet, kind: ProbeKind, container: u32) -> Vec<(Duration, Outcome)> {
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
            } if probe == kind && c == container => Some((e.at, outcome)),
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
    let started = first(&kubelet, |e| matches!(e, EventKind::Started { .. }));
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
    assert_eq!(runtime.kills.load(Ordering::SeqCst), 1);
    let timeline = kubelet.stop().await;
    assert_eq!(timeline.counters().restarts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealed_container_backs_off_10_20_40() {
    let broken = Arc::new(AtomicBool::new(true));
    let probes = vec![probe(ProbeKind::Liveness, "/livez", 1)];
    let (kubelet, _) = pod(broken, false, probes).await;
    kubelet
        .wait_until(Duration::from_secs(10), "four restarts", |k| {
            k.restarts() >= 4
        })
        .await
        .expect("restarts");
    let delays: Vec<u64> = kubelet
        .timeline()
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::BackOff { delay } => Some((delay.as_secs_f64() / SCALE).round() as u64),
            _ => None,
        })
        .collect();
    assert_eq!(&delays[..3], &[10, 20, 40], "emulated seconds of back-off");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discarded_probes_count_toward_neither_threshold() {
    let server = stand_in(|_, _| Reply::Close).await;
    let container = ContainerSpec {
        name: "app".into(),
        probes: vec![probe(ProbeKind::Liveness, "/livez", 1)],
        pre_stop_sleep_seconds: 0,
    };
    let runtime = Arc::new(FakeRuntime {
        broken: Arc::new(AtomicBool::new(false)),
        heals: true,
        kills: AtomicU32::new(0),
    });
    let kubelet = Kubelet::start(
        &container,
        Options::new(SCALE, vec![(80, server.addr)]),
        runtime.clone(),
    )
    .expect("starts");
    tokio::time::sleep(Duration::from_secs_f64(5.0 * 6.0 * SCALE)).await;
    let timeline = kubelet.stop().await;
    let counters = timeline.counters();
    assert!(counters.discarded >= 3, "{}", timeline.render(false));
    assert_eq!(counters.discarded, counters.probes_total());
    assert_eq!(
        runtime.kills.load(Ordering::SeqCst),
        0,
        "a discarded probe is no failure"
    );
}
