//! The self-healing demo in real containers, run by `scripts/demo.sh` where podman
//! works: the article's `DB_HOST=hoge` edit in podman pods on this machine, with the
//! pod tests' harness (`tests/pod`: the images of `scripts/images.sh`, a podman pod
//! per act, the kubelet emulator of `tests/e2e` with a podman container runtime;
//! all from the test kit, `testkit`). Two acts, one after the other:
//!
//! 1. **The manifests' pod** (`k8s/base/deployment.yaml`): the sidecar image first as
//!    the native sidecar, WordPress with its probes (all on the sidecar's port), the
//!    docroot on a shared emptyDir, heal policy `restore`. The sidecar, as uid 33 with
//!    a read-only root, writes the golden copy back: healed with no restart.
//! 2. **The article's own pod**: WordPress alone, the docroot in the container's own
//!    layer, the article's liveness probe (`GET /` on port 80). No sidecar can see the
//!    file in this layout (README, "In a real pod"); the kubelet kills WordPress after
//!    three failed probes and a fresh container (a new writable layer) writes a good
//!    `wp-config.php`: one restart, the container id replaced.
//!
//! Each act prints its timeline, a summary and the podman container ids (old → new).
//! Everything is removed by id at the end of each act, also on a failure (a panic
//! unwinds through the harness's owners) or Ctrl-C. `WP_SENTINEL_DEMO_SCALE`
//! (default 0.2, five times faster than a cluster: podman's restarts need the room)
//! sets the speed; `WP_SENTINEL_DEMO_DIR` the state directory (default `target/demo`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use testkit::fixtures;
use testkit::kubelet::manifest::read_pod;
use testkit::kubelet::{EventKind, ProbeKind, ProbeResult, Timeline};
use testkit::pod::runtime::PodmanContainer;
use testkit::pod::stage::{
    killing, probe_failed, result_changed, started, Scene, Setup, Stage, DB_HOST_HOGE, GOLDEN,
    MANIFEST, SED_DB_HOST_HOGE, SIDECAR, WORDPRESS,
};
use testkit::wpenv::{repo, Layout};
use testkit::{report, wait};

fn scale() -> f64 {
    std::env::var("WP_SENTINEL_DEMO_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| *v > 0.0 && *v <= 1.0)
        .unwrap_or(0.2)
}

fn state_root() -> PathBuf {
    std::env::var_os("WP_SENTINEL_DEMO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/demo"))
        .join("pod")
}

/// The time of the first event after `since` that `matches`, if any yet.
fn first(
    timeline: &Timeline,
    since: Duration,
    matches: impl Fn(&EventKind) -> bool,
) -> Option<Duration> {
    timeline.first_after(since, matches).map(|e| e.at)
}

/// Every instance's container id so far, the running one last.
fn ids(container: &PodmanContainer) -> Vec<(u32, String)> {
    let mut all: Vec<(u32, String)> = container
        .history
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(n, id, _)| (*n, id.clone()))
        .collect();
    if let Some(id) = container.id() {
        let next = all.last().map(|(n, _)| n + 1).unwrap_or(0);
        all.push((next, id));
    }
    all
}

fn print_ids(name: &str, ids: &[(u32, String)]) {
    match ids {
        [] => println!("  {name}: no container"),
        [(_, only)] => println!(
            "  {name}: container {} kept (not replaced)",
            testkit::pod::runtime::short(only)
        ),
        _ => {
            for pair in ids.windows(2) {
                println!(
                    "  {name}: container #{} {} -> #{} {} (replaced: the old one and its writable layer removed)",
                    pair[0].0,
                    testkit::pod::runtime::short(&pair[0].1),
                    pair[1].0,
                    testkit::pod::runtime::short(&pair[1].1)
                );
            }
        }
    }
}

/// Apache's access log (the containers' output): requests by path and user agent.
fn print_requests(output: &str) {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for line in output.lines() {
        let Some((_, rest)) = line.split_once("\"GET ") else {
            continue;
        };
        let path = rest.split([' ', '?']).next().unwrap_or("");
        let agent = line.rsplit('"').nth(1).unwrap_or("");
        let who = if agent.starts_with("kube-probe/") {
            "the kubelet's probes"
        } else if agent.starts_with(testkit::http::USER_AGENT) {
            "this demo's own checks"
        } else if agent.starts_with("wp-sentinel") {
            "the sidecar's checks"
        } else {
            "other"
        };
        *by.entry(format!("GET {path}  ({who}, {agent})"))
            .or_default() += 1;
    }
    report::print_requests(
        "requests Apache served in the pod's life (its access log)",
        &by,
    );
}

/// Act 1: the manifests' pod, the edit on the shared docroot, healed by `restore`.
async fn manifests_pod(scale: f64) -> Result<(), String> {
    println!(
        "\n=== act 1: the manifests' pod ({MANIFEST}): wp-sentinel first, WordPress with its probes, \
         the docroot on a shared emptyDir, heal policy restore ==="
    );
    let pod = read_pod(&repo().join(MANIFEST))?;
    let container = pod.container(WORDPRESS).ok_or("no wordpress container")?;
    report::print_probes_of(container, MANIFEST);
    println!("starting the pod (database, podman pod, volumes, containers) ...");
    let mut setup = Setup::new("demo_restore", scale, Layout::SharedVolume);
    setup.root = Some(state_root());
    let stage = Stage::start(setup).await;
    println!(
        "  pod ready: WordPress on http://{}, wp-sentinel on http://{}",
        stage.wordpress_addr, stage.sidecar_addr
    );
    stage.pass(20.0).await;

    let file = stage.docroot().join("wp-config.php");
    let golden = std::fs::read(repo().join(GOLDEN)).map_err(|e| format!("{GOLDEN}: {e}"))?;
    let edit = stage
        .kubelet
        .mark("podman exec wordpress sed -i \"s/.../'hoge'/\" wp-config.php  (DB_HOST = 'hoge', shared volume)");
    stage.exec_sed(SED_DB_HOST_HOGE);
    let (file, golden) = (&file, &golden);
    let restored = wait::until(
        Duration::from_secs(15),
        Duration::from_millis(20),
        move || async move { (std::fs::read(file).ok().as_ref() == Some(golden)).then_some(()) },
    )
    .await
    .map(|()| {
        stage
            .kubelet
            .mark("wp-config.php equals the golden copy again (written by wp-sentinel)")
    });
    let serving = stage
        .wait_wordpress(200, Duration::from_secs(15))
        .await
        .ok();
    if serving.is_some() {
        stage.kubelet.mark("WordPress serves 200");
    }
    stage.pass(30.0).await;

    let timeline = stage.timeline().clone();
    let failed = first(&timeline, edit, probe_failed(ProbeKind::Liveness));
    let wordpress_ids = ids(&stage.wordpress);
    let sidecar_ids = ids(stage.sidecar());
    let output = stage.wordpress.log_tail(usize::MAX);
    let restarts = stage.kubelet.restarts();
    let sidecar_restarts = stage.kubelet.restarts_of(SIDECAR);
    let timeline = stage.finish("act 1: timeline").await;

    report::print_steps(
        "summary, act 1 (the manifests' pod, restore)",
        &timeline,
        edit,
        &[
            ("golden copy written back", restored),
            ("WordPress serves 200", serving),
            ("first failed liveness probe", failed),
        ],
    );
    println!("  restarts: WordPress {restarts}, wp-sentinel {sidecar_restarts}");
    print_ids("wordpress", &wordpress_ids);
    print_ids("wp-sentinel", &sidecar_ids);
    report::print_probe_counts(&timeline, "");
    print_requests(&output);
    if restored.is_none() || serving.is_none() || restarts != 0 {
        return Err("act 1: expected the golden copy back, WordPress serving, no restart".into());
    }
    Ok(())
}

/// Act 2: the article's own pod, the edit in the container's layer, one restart.
async fn article_pod(scale: f64) -> Result<(), String> {
    println!(
        "\n=== act 2: the article's own pod: WordPress alone, the docroot in the container's own \
         layer, liveness GET / on :80 (initialDelay 30s, period 10s, timeout 5s, threshold 3) ==="
    );
    println!(
        "  (no sidecar: in this layout it has no volume in which to see wp-config.php; README, \"In a real pod\")"
    );
    println!("starting the pod ...");
    let mut setup = Setup::new("demo_article", scale, Layout::ContainerLayer);
    setup.pod = Some(fixtures::article_pod());
    setup.root = Some(state_root());
    let stage = Stage::start(setup).await;
    println!("  pod ready: WordPress on http://{}", stage.wordpress_addr);
    stage.pass(40.0).await;

    let edit = stage.kubelet.mark(
        "podman exec wordpress sed -i \"s/.../'hoge'/\" wp-config.php  (DB_HOST = 'hoge', the container's layer)",
    );
    stage.exec_sed(SED_DB_HOST_HOGE);
    let failing = stage
        .wait_wordpress(500, Duration::from_secs(20))
        .await
        .ok();
    if failing.is_some() {
        stage
            .kubelet
            .mark("WordPress answers 500: Error establishing a database connection");
    }
    let restarted = stage
        .wait_event(edit, Duration::from_secs(90), "the restart", started)
        .await;
    let serving = stage
        .wait_wordpress(200, Duration::from_secs(60))
        .await
        .ok();
    if serving.is_some() {
        stage
            .kubelet
            .mark("WordPress serves 200 again (the fresh container wrote a good wp-config.php)");
    }
    // Three more liveness periods: a fresh container that kept the edit would fail again.
    stage.pass(40.0).await;

    let fresh = stage.wp_config_in_wordpress().unwrap_or_default();
    let timeline = stage.timeline().clone();
    let failed = first(&timeline, edit, probe_failed(ProbeKind::Liveness));
    let killed = first(&timeline, edit, killing);
    let back = result_changed(ProbeKind::Readiness, ProbeResult::Success);
    let healthy = first(&timeline, restarted, back);
    let wordpress_ids = ids(&stage.wordpress);
    let output = stage.wordpress.log_tail(usize::MAX);
    let restarts = stage.kubelet.restarts();
    let timeline = stage.finish("act 2: timeline").await;

    // The article's pod has no readiness probe: "ready again" only when one ran.
    let mut steps = vec![
        ("WordPress answers 500", failing),
        ("first failed liveness probe", failed),
        ("kubelet kills WordPress", killed),
        ("new WordPress container", Some(restarted)),
    ];
    if healthy.is_some() {
        steps.push(("ready again", healthy));
    }
    steps.push(("WordPress serves 200 again", serving));
    report::print_steps(
        "summary, act 2 (the article's own pod, a restart)",
        &timeline,
        edit,
        &steps,
    );
    println!("  restarts: WordPress {restarts}");
    print_ids("wordpress", &wordpress_ids);
    let kept_edit = fresh.contains(DB_HOST_HOGE);
    println!(
        "  the fresh container's wp-config.php: {}",
        if kept_edit {
            "still edited"
        } else {
            "written anew from the template"
        }
    );
    report::print_probe_counts(&timeline, "");
    print_requests(&output);
    println!(
        "  the article's liveness probe renders WordPress's home page once per period, with a \
         database query; in act 1 no probe reaches WordPress (the sidecar answers them)."
    );
    if restarts != 1 || serving.is_none() || kept_edit || wordpress_ids.len() != 2 {
        return Err(
            "act 2: expected exactly one restart into a fresh container serving again".into(),
        );
    }
    Ok(())
}

async fn run() -> Result<(), String> {
    let scale = scale();
    let started = Instant::now();
    println!(
        "wp-sentinel demo in podman pods: the article's DB_HOST='hoge' edit, {:.0}x faster than real time",
        1.0 / scale
    );
    println!("images: scripts/images.sh build (cached by content) ...");
    let images = testkit::pod::podman::images();
    println!(
        "  sidecar {} (the repository's Dockerfile), WordPress {}",
        images.sidecar, images.wordpress
    );
    manifests_pod(scale).await?;
    article_pod(scale).await?;
    println!(
        "\ndone in {:.0?}: every container, pod and volume the demo made is removed (by id); \
         the databases' state is kept in {} for a faster next run",
        started.elapsed(),
        state_root().display()
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    // On Ctrl-C the running act is dropped: its owners remove the containers, the pod,
    // the volumes (by id) and stop the database environment.
    let result = tokio::select! {
        result = run() => result,
        _ = tokio::signal::ctrl_c() => Err("interrupted: removing what the demo started".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo: {error}");
            ExitCode::FAILURE
        }
    }
}
