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
use testkit::kubelet::{EventKind, Outcome, ProbeKind, ProbeResult, Timeline};
use testkit::pod::runtime::PodmanContainer;
use testkit::pod::stage::{
    Scene, Setup, Stage, GOLDEN, MANIFEST, SED_DB_HOST_HOGE, SIDECAR, WORDPRESS,
};
use testkit::wpenv::{repo, Layout};

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

/// `edit -> at` in emulated and real seconds.
fn span(timeline: &Timeline, edit: Duration, at: Option<Duration>) -> String {
    match at {
        Some(at) => {
            let real = at.saturating_sub(edit);
            format!(
                "{:>6.1}s emulated ({:.2}s real)",
                timeline.emulated(real),
                real.as_secs_f64()
            )
        }
        None => "never".to_string(),
    }
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
    let mut total = 0;
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
        total += 1;
        *by.entry(format!("GET {path}  ({who}, {agent})"))
            .or_default() += 1;
    }
    println!("  requests Apache served in the pod's life (its access log): {total}");
    for (what, count) in by {
        println!("    {count:>5}  {what}");
    }
}

fn print_probes(timeline: &Timeline) {
    let counters = timeline.counters();
    println!(
        "  WordPress's probes: startup {}, liveness {}, readiness {} ({} HTTP requests)",
        counters.probes[ProbeKind::Startup.index()],
        counters.probes[ProbeKind::Liveness.index()],
        counters.probes[ProbeKind::Readiness.index()],
        counters.http_requests
    );
}

fn liveness_failed(e: &EventKind) -> bool {
    matches!(
        e,
        EventKind::Probe {
            probe: ProbeKind::Liveness,
            outcome: Outcome::Failure,
            container,
            ..
        } if container.is(WORDPRESS)
    )
}

fn ready_again(e: &EventKind) -> bool {
    matches!(
        e,
        EventKind::Result {
            probe: ProbeKind::Readiness,
            to: ProbeResult::Success,
            container,
            ..
        } if container.is(WORDPRESS)
    )
}

/// Act 1: the manifests' pod, the edit on the shared docroot, healed by `restore`.
async fn manifests_pod(scale: f64) -> Result<(), String> {
    println!(
        "\n=== act 1: the manifests' pod ({MANIFEST}): wp-sentinel first, WordPress with its probes, \
         the docroot on a shared emptyDir, heal policy restore ==="
    );
    let pod = read_pod(&repo().join(MANIFEST))?;
    let container = pod.container(WORDPRESS).ok_or("no wordpress container")?;
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
    let waited = Instant::now();
    let mut restored = None;
    while waited.elapsed() < Duration::from_secs(15) {
        if std::fs::read(&file).ok().as_ref() == Some(&golden) {
            restored = Some(
                stage
                    .kubelet
                    .mark("wp-config.php equals the golden copy again (written by wp-sentinel)"),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let serving = stage
        .wait_wordpress(200, Duration::from_secs(15))
        .await
        .ok();
    if serving.is_some() {
        stage.kubelet.mark("WordPress serves 200");
    }
    stage.pass(30.0).await;

    let timeline = stage.timeline().clone();
    let failed = timeline.first_after(edit, liveness_failed).map(|e| e.at);
    let wordpress_ids = ids(&stage.wordpress);
    let sidecar_ids = ids(stage.sidecar());
    let output = stage.wordpress.log_tail(usize::MAX);
    let restarts = stage.kubelet.restarts();
    let sidecar_restarts = stage.kubelet.restarts_of(SIDECAR);
    let timeline = stage.finish("act 1: timeline").await;

    println!("\nsummary, act 1 (the manifests' pod, restore):");
    println!(
        "  edit -> golden copy written back      {}",
        span(&timeline, edit, restored)
    );
    println!(
        "  edit -> WordPress serves 200          {}",
        span(&timeline, edit, serving)
    );
    println!(
        "  edit -> first failed liveness probe   {}",
        span(&timeline, edit, failed)
    );
    println!(
        "  out of the Service after the edit     {:>6.1}s emulated",
        timeline.emulated(timeline.not_ready_between(edit, timeline.now()))
    );
    println!("  restarts: WordPress {restarts}, wp-sentinel {sidecar_restarts}");
    print_ids("wordpress", &wordpress_ids);
    print_ids("wp-sentinel", &sidecar_ids);
    print_probes(&timeline);
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
        .wait_event(edit, Duration::from_secs(90), "the restart", |e| {
            matches!(e, EventKind::Started { container } if container.is(WORDPRESS) && container.instance > 0)
        })
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
    let failed = timeline.first_after(edit, liveness_failed).map(|e| e.at);
    let killed = timeline
        .first_after(edit, testkit::scene::killing_of(WORDPRESS))
        .map(|e| e.at);
    let healthy = timeline.first_after(restarted, ready_again).map(|e| e.at);
    let wordpress_ids = ids(&stage.wordpress);
    let output = stage.wordpress.log_tail(usize::MAX);
    let restarts = stage.kubelet.restarts();
    let timeline = stage.finish("act 2: timeline").await;

    println!("\nsummary, act 2 (the article's own pod, a restart):");
    println!(
        "  edit -> WordPress answers 500         {}",
        span(&timeline, edit, failing)
    );
    println!(
        "  edit -> first failed liveness probe   {}",
        span(&timeline, edit, failed)
    );
    println!(
        "  edit -> kubelet kills WordPress       {}",
        span(&timeline, edit, killed)
    );
    println!(
        "  edit -> new WordPress container       {}",
        span(&timeline, edit, Some(restarted))
    );
    if healthy.is_some() {
        println!(
            "  edit -> ready again                   {}",
            span(&timeline, edit, healthy)
        );
    }
    println!(
        "  edit -> WordPress serves 200 again    {}",
        span(&timeline, edit, serving)
    );
    println!("  restarts: WordPress {restarts}");
    print_ids("wordpress", &wordpress_ids);
    let kept_edit = fresh.contains("'hoge'");
    println!(
        "  the fresh container's wp-config.php: {}",
        if kept_edit {
            "still edited"
        } else {
            "written anew from the template"
        }
    );
    print_probes(&timeline);
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
