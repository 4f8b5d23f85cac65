//! Scenario 6: what the probes cost WordPress, counted from PHP's own request log.
//!
//! The article's setup (a liveness probe `GET /` on port 80, initialDelaySeconds 30,
//! periodSeconds 10, timeoutSeconds 5) is run against WordPress directly, then the
//! manifests' setup (three probes, all answered by the sidecar) for the same emulated
//! time, then a burst of extra probes at the sidecar. With the article's setup every
//! probe request is a home-page render; with the sidecar no probe reaches PHP, and
//! WordPress receives one light request (`/wp-login.php`) per check interval of the
//! sidecar, however many probes come.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::kubelet::manifest::{ContainerSpec, PodSpec};
use crate::kubelet::{Kubelet, Options};
use crate::scenario::*;
use crate::sidecar::Sidecar;
use crate::support::{http_get, Layout, PhpContainer, PhpRequest, WpEnv};

/// Emulated seconds each setup is watched for.
const WINDOW: f64 = 120.0;
/// The sidecar's default WordPress check interval (scaled like everything else).
const CHECK_INTERVAL: f64 = 5.0;
const BURST: usize = 300;

/// PHP logs a request when it is done with it (after a stall, late): waits until the
/// log has not grown for half a second.
async fn settle_log(env: &WpEnv) {
    let start = Instant::now();
    let mut last = env.php_log_len();
    while start.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = env.php_log_len();
        if now == last {
            return;
        }
        last = now;
    }
}

struct Measured {
    probes: u64,
    probe_requests: u64,
    wordpress: Vec<PhpRequest>,
    cpu_ticks: u64,
}

/// Runs `container`'s probes for the window; what PHP received meanwhile. With
/// `settle`, requests PHP logs late (after a stall) count too: only where nothing
/// else (no sidecar) keeps sending requests.
async fn measure(
    env: &Arc<WpEnv>,
    container: &ContainerSpec,
    options: Options,
    settle: bool,
) -> Measured {
    let log = env.php_log_len();
    let cpu = env.php_cpu_ticks();
    let runtime = Arc::new(PhpContainer {
        env: env.clone(),
        layout: Layout::ContainerLayer,
    });
    let window = options.scaled(WINDOW);
    // The WordPress container alone (the sidecar, if any, runs outside the pod here).
    let pod = PodSpec {
        sidecars: Vec::new(),
        containers: vec![container.clone()],
        termination_grace_period_seconds: 30,
    };
    let kubelet =
        Kubelet::start(&pod, options, vec![(CONTAINER, runtime)]).expect("emulator starts");
    tokio::time::sleep(window).await;
    let restarts = kubelet.restarts();
    let timeline = kubelet.stop().await;
    let until = if settle {
        settle_log(env).await;
        u64::MAX
    } else {
        env.php_log_len()
    };
    assert_eq!(
        restarts,
        0,
        "a healthy WordPress was restarted:\n{}",
        timeline.render(true)
    );
    println!("{}", timeline.render(true));
    let counters = timeline.counters();
    Measured {
        probes: counters.probes_total(),
        probe_requests: counters.http_requests,
        wordpress: env.php_requests_between(log, until),
        cpu_ticks: env.php_cpu_ticks().saturating_sub(cpu),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_through_the_sidecar_do_not_reach_wordpress() {
    let scale = scale(0.1);
    let env = Arc::new(WpEnv::up("traffic", &state_root(), false));

    // The article's setup: the kubelet renders the home page itself.
    let article = measure(
        &env,
        &article_container(),
        Options::new(scale, vec![(80, env.php_addr())]),
        true,
    )
    .await;
    let renders = article.wordpress.iter().filter(|r| r.uri == "/").count() as u64;
    assert!(
        article.probes >= 8,
        "too few article probes: {}",
        article.probes
    );
    assert_eq!(
        renders, article.probe_requests,
        "every probe request of the article's setup is one render of / ({:?})",
        article.wordpress
    );
    assert_eq!(
        renders as usize,
        article.wordpress.len(),
        "nothing else reached WordPress"
    );

    // The manifests' setup: three probes, all answered by the sidecar.
    let sidecar = Sidecar::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_wp-sentinel")),
        &env,
        scale,
        &[],
    );
    sidecar
        .wait_for("/readyz", 200, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ports = vec![(SIDECAR_PORT, sidecar.addr), (80, env.php_addr())];
    let ours = measure(
        &env,
        &wordpress_container(),
        Options::new(scale, ports),
        false,
    )
    .await;
    let checks = ours
        .wordpress
        .iter()
        .filter(|r| r.uri == "/wp-login.php")
        .count() as u64;
    let light = ours
        .wordpress
        .iter()
        .filter(|r| r.uri == "/wp-includes/version.php");
    assert_eq!(
        checks as usize + light.count(),
        ours.wordpress.len(),
        "only the sidecar's checks may reach WordPress: {:?}",
        ours.wordpress
    );
    // At most one check per interval (fewer when a check waits out its timeout).
    let interval = CHECK_INTERVAL * scale;
    let window = WINDOW * scale;
    let most = (window / interval).ceil() as u64 + 2;
    assert!(
        (1..=most).contains(&checks),
        "{checks} WordPress requests in {window:.1}s at one per {interval:.2}s"
    );

    // A burst of probes changes nothing for WordPress.
    let log = env.php_log_len();
    let burst_start = Instant::now();
    for i in 0..BURST {
        let path = ["/livez", "/readyz", "/startupz"][i % 3];
        let (status, _) = http_get(sidecar.addr, path)
            .await
            .expect("the sidecar answers");
        assert_eq!(status, 200, "{path} during the burst");
    }
    let burst = burst_start.elapsed().as_secs_f64();
    let during_burst = env.php_requests_between(log, env.php_log_len()).len() as u64;
    assert!(
        during_burst <= (burst / interval).ceil() as u64 + 2,
        "{during_burst} WordPress requests during a burst of {BURST} probes in {burst:.2}s"
    );
    drop(sidecar);

    let per_probe = |requests: u64, probes: u64| requests as f64 / probes.max(1) as f64;
    let article_ratio = per_probe(renders, article.probes);
    let our_ratio = per_probe(checks, ours.probes);
    println!(
        "=== scenario 6: probe traffic over {WINDOW:.0}s emulated ({window:.1}s real) each ===\n\
         article (liveness GET / every 10s): {} probes -> {renders} WordPress requests (all GET /), \
         {article_ratio:.2} per probe, PHP CPU {} ticks ({:.2} per probe)\n\
         sidecar (manifest's 3 probes):      {} probes -> {checks} WordPress requests (all GET /wp-login.php), \
         {our_ratio:.2} per probe, PHP CPU {} ticks ({:.2} per probe)\n\
         burst: {BURST} probes at the sidecar in {burst:.2}s -> {during_burst} WordPress requests",
        article.probes,
        article.cpu_ticks,
        per_probe(article.cpu_ticks, article.probes),
        ours.probes,
        ours.cpu_ticks,
        per_probe(ours.cpu_ticks, ours.probes),
    );
    // At least one render per article probe (a probe that timed out is retried).
    assert!(
        article_ratio >= 1.0 && our_ratio <= 0.75,
        "requests per probe: article {article_ratio:.2}, sidecar {our_ratio:.2}"
    );
}
