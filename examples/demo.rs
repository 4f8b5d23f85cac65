//! The self-healing demo, run by `scripts/demo.sh`: the article's scenario on this
//! machine. A real WordPress and MariaDB (`scripts/wpenv.sh`), the real `wp-sentinel`
//! binary as the pod's native sidecar, and the end-to-end tests' kubelet emulator
//! running the pod of `k8s/base/deployment.yaml` under the kubelet's rules (the
//! sidecar first, with its own probes; WordPress once it has started). Someone `sed`s `DB_HOST` to
//! `hoge`; the demo prints what happens (first failed probe, the kill and restart,
//! healthy again), the probe counts and the requests WordPress received, then stops
//! everything it started.
//!
//! This is the process mode of `scripts/demo.sh`, its fallback where podman does not
//! work (`WP_SENTINEL_DEMO_MODE=process` forces it); the pod mode is `demo_pod.rs`.
//!
//! Time runs ten times faster than in a cluster (`WP_SENTINEL_DEMO_SCALE`, default
//! 0.1): each line shows real seconds and the emulated seconds they stand for.
//! `WP_SENTINEL_BIN` names the sidecar binary (default: beside this example's
//! directory); `WP_SENTINEL_DEMO_DIR` the state directory (default `target/demo`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use testkit::fixtures::SED_DB_HOST_HOGE;
use testkit::http::http_get;
use testkit::kubelet::manifest::read_pod;
use testkit::kubelet::{
    ContainerRuntime, EventKind, Kubelet, Options, Outcome, ProbeKind, ProbeResult, Timeline,
};
use testkit::sidecar::Sidecar;
use testkit::wpenv::{repo, Layout, PhpContainer, WpEnv};

const MANIFEST: &str = "k8s/base/deployment.yaml";

fn sidecar_binary() -> PathBuf {
    std::env::var_os("WP_SENTINEL_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.join("wp-sentinel"))
        })
        .filter(|path| path.is_file())
        .unwrap_or_else(|| {
            eprintln!("demo: the wp-sentinel binary was not found; run scripts/demo.sh, or set WP_SENTINEL_BIN");
            std::process::exit(2);
        })
}

fn scale() -> f64 {
    std::env::var("WP_SENTINEL_DEMO_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| *v > 0.0 && *v <= 1.0)
        .unwrap_or(0.1)
}

/// Waits for an event after `since`; its time, or `None` after `limit`.
async fn wait_event(
    timeline: &Timeline,
    since: Duration,
    limit: Duration,
    matches: impl Fn(&EventKind) -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(event) = timeline.first_after(since, &matches) {
            return Some(event.at);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

async fn wait_wordpress(env: &WpEnv, status: u16, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if matches!(http_get(env.php_addr(), "/?demo=check").await, Ok((s, _)) if s == status) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    // Everything started is stopped when `run` returns or, on Ctrl-C, when it is
    // dropped (the sidecar, the PHP server); the runtime's tasks go before the exit.
    let result = tokio::select! {
        result = run() => result,
        _ = tokio::signal::ctrl_c() => Err("interrupted: stopping what the demo started".into()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let scale = scale();
    let binary = sidecar_binary();
    let pod = read_pod(&repo().join(MANIFEST))?;
    let container = pod
        .container("wordpress")
        .cloned()
        .ok_or("no wordpress container in the manifest")?;
    let root = std::env::var_os("WP_SENTINEL_DEMO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/demo"));

    println!(
        "wp-sentinel demo: the article's self-healing scenario, {:.0}x faster than real time",
        1.0 / scale
    );
    println!(
        "setting up WordPress and MariaDB (scripts/wpenv.sh up, state in {}) ...",
        root.display()
    );
    let env = Arc::new(WpEnv::up("article", &root, false));
    println!(
        "  WordPress at {}, wp-config.php at {}",
        env.url("/"),
        env.wp_config().display()
    );
    // The WordPress container starts only once its sidecar has.
    env.php_stop()?;
    let sidecar = Arc::new(Sidecar::new(&binary, &env, scale, &[]));
    println!(
        "  wp-sentinel (the native sidecar) will serve probes on {} (log: {})",
        sidecar.addr,
        sidecar.log.display()
    );
    println!("the WordPress container's probes, read from {MANIFEST}:");
    for probe in &container.probes {
        println!(
            "  {:<9} GET :{}{}  period {}s, timeout {}s, failureThreshold {}",
            probe.kind.as_str(),
            probe.http.port,
            probe.http.path,
            probe.period_seconds,
            probe.timeout_seconds,
            probe.failure_threshold
        );
    }

    let log_start = env.php_log_len();
    let options = Options::new(scale, vec![(9090, sidecar.addr), (80, env.php_addr())]);
    let wordpress: Arc<dyn ContainerRuntime> = Arc::new(PhpContainer {
        env: env.clone(),
        layout: Layout::ContainerLayer,
    });
    let runtimes: Vec<(&str, Arc<dyn ContainerRuntime>)> =
        vec![("wp-sentinel", sidecar.clone()), ("wordpress", wordpress)];
    let kubelet = Kubelet::start(&pod, options.clone(), runtimes)?;
    let timeline = kubelet.timeline().clone();
    kubelet
        .wait_until(Duration::from_secs(30), "pod ready", Kubelet::ready)
        .await?;
    tokio::time::sleep(options.scaled(20.0)).await;

    let edit = kubelet.mark("sed -i \"s/.../'hoge'/\" wp-config.php  (DB_HOST = 'hoge')");
    env.sed(SED_DB_HOST_HOGE);
    if wait_wordpress(&env, 500, Duration::from_secs(8)).await {
        kubelet.mark("WordPress answers 500: Error establishing a database connection");
    }
    let long = Duration::from_secs(30);
    let failed = wait_event(&timeline, edit, long, |e| {
        matches!(
            e,
            EventKind::Probe {
                probe: ProbeKind::Liveness,
                outcome: Outcome::Failure,
                container,
                ..
            } if container.is("wordpress")
        )
    })
    .await;
    let killed = wait_event(
        &timeline,
        edit,
        long,
        |e| matches!(e, EventKind::Killing { container, .. } if container.is("wordpress")),
    )
    .await;
    let started = wait_event(&timeline, edit, long, |e| {
        matches!(e, EventKind::Started { container } if container.is("wordpress") && container.instance > 0)
    })
    .await;
    let healthy = match started {
        Some(at) => {
            wait_event(&timeline, at, long, |e| {
                matches!(
                    e,
                    EventKind::Result {
                        probe: ProbeKind::Readiness,
                        to: ProbeResult::Success,
                        container,
                        ..
                    } if container.is("wordpress")
                )
            })
            .await
        }
        None => None,
    };
    if wait_wordpress(&env, 200, Duration::from_secs(10)).await {
        kubelet.mark("WordPress serves 200 again");
    }
    tokio::time::sleep(options.scaled(30.0)).await;
    let timeline = kubelet.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let requests = env.php_requests_between(log_start, u64::MAX);
    drop(sidecar);
    drop(env);

    println!(
        "\ntimeline (a probe line only when its result differs from the probe's previous one):"
    );
    print!("{}", timeline.render(true));
    let span = |at: Option<Duration>| match at {
        Some(at) => {
            let real = at.saturating_sub(edit);
            format!(
                "{:>6.1}s emulated ({:.2}s real)",
                timeline.emulated(real),
                real.as_secs_f64()
            )
        }
        None => "never".to_string(),
    };
    let counters = timeline.counters();
    println!("\nsummary:");
    println!("  edit -> first failed liveness probe   {}", span(failed));
    println!("  edit -> kubelet kills WordPress       {}", span(killed));
    println!("  edit -> new WordPress container       {}", span(started));
    println!("  edit -> ready again (healthy)         {}", span(healthy));
    println!(
        "  out of the Service after the edit      {:>6.1}s emulated",
        timeline.emulated(timeline.not_ready_between(edit, timeline.now()))
    );
    println!(
        "  restarts: WordPress {}, wp-sentinel {}",
        counters.restarts,
        timeline.counters_of("wp-sentinel").restarts
    );
    println!(
        "  WordPress's probes: startup {}, liveness {}, readiness {} ({} HTTP requests, all to the sidecar)",
        counters.probes[ProbeKind::Startup.index()],
        counters.probes[ProbeKind::Liveness.index()],
        counters.probes[ProbeKind::Readiness.index()],
        counters.http_requests
    );
    let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
    for request in &requests {
        let path = request.uri.split('?').next().unwrap_or("").to_string();
        let who = match path.as_str() {
            "/wp-login.php" => "the sidecar's checks",
            "/wp-includes/version.php" => "wpenv.sh waiting for PHP to start",
            _ if request.uri.contains("demo=check") => "this demo's own checks",
            _ => "other",
        };
        *by_path.entry(format!("GET {path}  ({who})")).or_default() += 1;
    }
    println!(
        "  requests WordPress received meanwhile (PHP's log): {}",
        requests.len()
    );
    for (what, count) in by_path {
        println!("    {count:>5}  {what}");
    }
    println!(
        "  the article's setup (liveness GET / every 10 s) renders the home page once per probe;\n  \
         here no probe reaches WordPress: it gets one light request per check interval of the sidecar."
    );
    println!(
        "done: the PHP server and the sidecar are stopped (state kept in {} for a faster next run)",
        root.display()
    );
    if counters.restarts != 1 || healthy.is_none() {
        return Err("expected exactly one restart and a healthy pod at the end".into());
    }
    Ok(())
}
