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
use std::time::Duration;

use testkit::fixtures::{
    MANIFEST, SED_DB_HOST_HOGE, SIDECAR, SIDECAR_PORT, WORDPRESS, WORDPRESS_PORT,
};
use testkit::kubelet::manifest::read_pod;
use testkit::kubelet::{ContainerRuntime, Kubelet, Options, ProbeKind, ProbeResult};
use testkit::scene::{self, killing, probe_failed, result_changed};
use testkit::sidecar::Sidecar;
use testkit::wpenv::{repo, Layout, PhpContainer, WpEnv};
use testkit::{report, wait};

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

/// Polls WordPress's home page (a query PHP's log tells apart) until it answers
/// `status`.
async fn wait_wordpress(env: &WpEnv, status: u16, limit: Duration) -> bool {
    let every = Duration::from_millis(100);
    wait::answers(env.php_addr(), "/?demo=check", status, limit, every)
        .await
        .is_ok()
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
        .container(WORDPRESS)
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
    report::print_probes_of(&container, MANIFEST);

    let log_start = env.php_log_len();
    let options = Options::new(
        scale,
        vec![
            (SIDECAR_PORT, sidecar.addr),
            (WORDPRESS_PORT, env.php_addr()),
        ],
    );
    let wordpress: Arc<dyn ContainerRuntime> = Arc::new(PhpContainer {
        env: env.clone(),
        layout: Layout::ContainerLayer,
    });
    let runtimes: Vec<(&str, Arc<dyn ContainerRuntime>)> =
        vec![(SIDECAR, sidecar.clone()), (WORDPRESS, wordpress)];
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
    let failed = wait::event(&timeline, edit, long, probe_failed(ProbeKind::Liveness)).await;
    let killed = wait::event(&timeline, edit, long, killing).await;
    let started = wait::event(&timeline, edit, long, scene::started).await;
    let back = result_changed(ProbeKind::Readiness, ProbeResult::Success);
    let healthy = match started {
        Some(at) => wait::event(&timeline, at, long, back).await,
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
    let counters = timeline.counters();
    report::print_steps(
        "summary",
        &timeline,
        edit,
        &[
            ("first failed liveness probe", failed),
            ("kubelet kills WordPress", killed),
            ("new WordPress container", started),
            ("ready again (healthy)", healthy),
        ],
    );
    println!(
        "  restarts: WordPress {}, wp-sentinel {}",
        counters.restarts,
        timeline.counters_of(SIDECAR).restarts
    );
    report::print_probe_counts(&timeline, ", all to the sidecar");
    let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
    for request in &requests {
        let path = request.uri.split('?').next().unwrap_or("").to_string();
        let who = match path.as_str() {
            "/wp-login.php" => "the sidecar's deep check",
            "/wp-includes/version.php" => "the sidecar's light check, and wpenv.sh's start",
            _ if request.uri.contains("demo=check") => "this demo's own checks",
            _ => "other",
        };
        *by_path.entry(format!("GET {path}  ({who})")).or_default() += 1;
    }
    report::print_requests(
        "requests WordPress received meanwhile (PHP's log)",
        &by_path,
    );
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
