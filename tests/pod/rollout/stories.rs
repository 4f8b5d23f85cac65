//! The scenarios. Each runs one Deployment of 2 replicas behind the Service, with
//! the visitors on from the first operation to the last, and runs its operations back
//! to back on it (pod starts are the expensive part): the rolling update v1 → v2,
//! the rollback to v1, scale 2 → 4, scale 4 → 2. Each operation's window runs from
//! its start until its last deleted pod is gone and 10 s (emulated) more, and the
//! failed requests sent in it are its count.
//!
//! - wp-sentinel's manifests (`k8s/base/deployment.yaml`: the sidecar, readiness
//!   from its verdicts, preStop 10 s, grace 45 s, maxSurge 1, maxUnavailable 0,
//!   minReadySeconds 10): every count must be 0, or the test fails.
//! - The article's setup (WordPress alone, its liveness probe `GET /`, no readiness
//!   probe, no preStop, grace 30 s, the Deployment defaults 25 % / 25 %, which for
//!   2 replicas is maxSurge 1, maxUnavailable 0): measured and printed beside it.
//!   What is asserted is only what is certain: every operation ran and was measured
//!   and the update reached the visitors; how many requests it loses depends on
//!   when Apache starts listening and on the machine's load.
//! - A rolling update while the database is down: the new pod never becomes
//!   ready, the rollout stalls with every old pod kept, nothing is restarted; once
//!   the database is back the rollout completes.

use std::sync::Arc;
use std::time::Duration;

use crate::article::article_pod;
use crate::kubelet::manifest::read_pod;
use crate::podman::{image_named, images};
use crate::rollout::fleet::{Fleet, FleetSetup, Strategy, Template};
use crate::rollout::load::{tally, Load, Tally};
use crate::stage::{scale, MANIFEST};
use crate::support::{repo, Layout};

/// The visitors' rate: requests per second through the Service
/// (`WP_SENTINEL_ROLLOUT_RATE`, default 10). Not the 50: measured here,
/// `GET /` costs WordPress 25-47 ms of CPU (opcache on), so 50/s is 1.3-2.4 cores
/// of the machine's 2 before a single pod starts; starting one beside it saturated
/// the machine, answers took over 5 s, Apache children piled up until MariaDB's
/// `max_connections` (151) refused them (500s), and readiness failed on overloaded
/// pods. That run is in BENCHMARKS.md ("Rollouts"); at 10/s the machine has room to
/// start pods, and what is counted is the rollout's doing, not the machine's.
fn rate() -> f64 {
    std::env::var("WP_SENTINEL_ROLLOUT_RATE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0 && *v <= 500.0)
        .unwrap_or(10.0)
}

/// Emulated seconds per real second for these scenarios (see `fleet.rs`).
const SCALE: f64 = 0.5;

/// The bound of one operation, real time.
const OPERATION_LIMIT: Duration = Duration::from_secs(240);

/// How long each operation's outcome is watched within its window, emulated seconds.
const SETTLE_SECONDS: f64 = 10.0;

/// The steady state measured before the operations.
const STEADY: Duration = Duration::from_secs(10);

/// The machine's busy CPU time (all cores, from /proc/stat) and its core count.
#[derive(Clone, Copy)]
struct Busy {
    busy: f64,
    at: std::time::Instant,
    cores: usize,
}

fn machine_busy() -> Busy {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    Busy {
        // USER_HZ is 100 on Linux.
        busy: (total - idle) / 100.0,
        at: std::time::Instant::now(),
        cores: stat
            .lines()
            .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
            .count(),
    }
}

impl Busy {
    /// Cores busy on average since `before`, and the core count.
    fn since(self, before: Busy) -> (f64, usize) {
        let seconds = self.at.duration_since(before.at).as_secs_f64().max(1e-3);
        ((self.busy - before.busy) / seconds, self.cores)
    }
}

/// The v1 and v2 images from `scripts/images.sh`.
fn releases() -> (Template, Template) {
    (
        Template {
            release: "v1".into(),
            image: image_named("WORDPRESS_V1_IMAGE"),
        },
        Template {
            release: "v2".into(),
            image: image_named("WORDPRESS_V2_IMAGE"),
        },
    )
}

fn manifests_setup(name: &'static str, own_database: bool) -> FleetSetup {
    FleetSetup {
        name,
        scale: scale(SCALE),
        own_database,
        pod: read_pod(&repo().join(MANIFEST)).unwrap_or_else(|e| panic!("{MANIFEST}: {e}")),
        layout: Layout::SharedVolume,
        strategy: Strategy::from_manifest(&repo().join(MANIFEST), 2)
            .unwrap_or_else(|e| panic!("{MANIFEST}: {e}")),
        propagation_seconds: 1.0,
        sidecar_image: images().sidecar.clone(),
    }
}

fn article_setup(name: &'static str) -> FleetSetup {
    // The article's Deployment names no strategy and no minReadySeconds.
    let defaults = serde_norway::Value::Mapping(Default::default());
    FleetSetup {
        name,
        scale: scale(SCALE),
        own_database: false,
        pod: article_pod(),
        layout: Layout::ContainerLayer,
        strategy: Strategy::from_spec(&defaults, 2).expect("the defaults"),
        propagation_seconds: 1.0,
        sidecar_image: images().sidecar.clone(),
    }
}

/// One operation's measured window.
struct Measured {
    name: &'static str,
    took: Duration,
    tally: Tally,
}

/// Runs the four operations under load; the windows and the whole timeline.
async fn four_operations(fleet: &Arc<Fleet>) -> Result<Vec<Measured>, String> {
    let (v1, v2) = releases();
    fleet.scale(2, &v1, OPERATION_LIMIT).await?;
    // The article's pods are "ready" as soon as Apache's container runs: before the
    // visitors come, every pod must serve (the steady state is measured, not its
    // first start).
    fleet.wait_serving(Duration::from_secs(60)).await?;
    let load = Load::start(
        fleet.haproxy.addr,
        fleet.env.php_addr().to_string(),
        rate(),
        fleet.timeline.clone(),
    );
    fleet.mark(format!(
        "visitors: {} requests/s through the Service",
        load.rate
    ));
    // The steady state first: what serving costs here, before anything changes.
    let (cpu, machine, from) = (fleet.wordpress_cpu(), machine_busy(), fleet.timeline.now());
    tokio::time::sleep(STEADY).await;
    let (cpu, machine) = (fleet.wordpress_cpu() - cpu, machine_busy().since(machine));
    let steady = tally(&load.records(), from, fleet.timeline.now());
    println!(
        "steady state, 2 pods, {:.0} requests/s: {} sent, {} failed in {STEADY:?}; WordPress \
         containers {:.2} cores ({:.1} ms CPU per request); machine {:.2} of {} cores busy",
        load.rate,
        steady.sent,
        steady.failed,
        cpu.as_secs_f64() / STEADY.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0 / steady.sent.max(1) as f64,
        machine.0,
        machine.1
    );
    let mut windows = Vec::new();
    for (name, step) in [
        ("rolling update v1 -> v2", 0),
        ("rollback v2 -> v1", 1),
        ("scale out 2 -> 4", 2),
        ("scale in 4 -> 2", 3),
    ] {
        let from = fleet.mark(format!("=== {name} ==="));
        let took = match step {
            0 => fleet.rollout(&v2, OPERATION_LIMIT).await?,
            1 => fleet.rollout(&v1, OPERATION_LIMIT).await?,
            2 => fleet.scale(4, &v1, OPERATION_LIMIT).await?,
            _ => fleet.scale(2, &v1, OPERATION_LIMIT).await?,
        };
        // The new state serves for a while within the window: a pod that is in the
        // Service before it listens (the article's) shows here.
        tokio::time::sleep(fleet.emulated(SETTLE_SECONDS)).await;
        windows.push((name, from, fleet.timeline.now(), took));
    }
    let records = load.stop().await;
    Ok(windows
        .into_iter()
        .map(|(name, from, to, took)| Measured {
            name,
            took,
            tally: tally(&records, from, to),
        })
        .collect())
}

fn table(title: &str, measured: &[Measured], fleet: &Fleet) -> String {
    let mut out = format!(
        "=== {title}: failed requests at {} requests/s (time scale {}, propagation {:.2?}) ===\n",
        rate(),
        fleet.scale,
        fleet.propagation
    );
    for m in measured {
        out.push_str(&format!(
            "{:<26} {:>4} failed of {:>5} sent   {:>6.1}s real   answers by release {:?}{}\n",
            m.name,
            m.tally.failed,
            m.tally.sent,
            m.took.as_secs_f64(),
            m.tally.releases,
            if m.tally.examples.is_empty() {
                String::new()
            } else {
                format!("\n    first failures: {:?}", m.tally.examples)
            }
        ));
    }
    out
}

/// The update reached the visitors: v2 answered during the update, v1 only and
/// no v2 answers left after the rollback's window.
fn check_releases(measured: &[Measured]) -> Result<(), String> {
    let during_update = measured[0].tally.releases.get("v2").copied().unwrap_or(0);
    if during_update == 0 {
        return Err("no request was answered by v2 during the rolling update".into());
    }
    for later in &measured[2..] {
        if later.tally.releases.keys().any(|r| r != "v1") {
            return Err(format!(
                "{}: answers by {:?} after the rollback to v1",
                later.name, later.tally.releases
            ));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_lose_no_request_in_update_rollback_scale_out_and_in() {
    let fleet = Fleet::start(manifests_setup("rollout_manifests", false)).await;
    let outcome = four_operations(&fleet).await;
    let timeline = fleet.render();
    let verdict = outcome.and_then(|measured| {
        let report = table("wp-sentinel's manifests", &measured, &fleet);
        println!("{report}");
        check_releases(&measured)?;
        let lost: Vec<String> = measured
            .iter()
            .filter(|m| m.tally.failed > 0 || m.tally.sent == 0)
            .map(|m| format!("{}: {} failed of {}", m.name, m.tally.failed, m.tally.sent))
            .collect();
        if !lost.is_empty() {
            return Err(format!(
                "requests lost with the manifests: {lost:?}\n{report}"
            ));
        }
        match fleet.restarts() {
            0 => Ok(()),
            n => Err(format!("{n} container restarts during the operations")),
        }
    });
    conclude(&fleet, Some(timeline), verdict).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_articles_setup_is_measured_in_the_same_operations() {
    let fleet = Fleet::start(article_setup("rollout_article")).await;
    let outcome = four_operations(&fleet).await;
    let timeline = fleet.render();
    let verdict = outcome.and_then(|measured| {
        println!("{}", table("the article's setup", &measured, &fleet));
        check_releases(&measured)?;
        match measured.iter().find(|m| m.tally.sent == 0) {
            Some(m) => Err(format!("{}: no request measured", m.name)),
            None => Ok(()),
        }
    });
    conclude(&fleet, Some(timeline), verdict).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_during_a_database_outage_stalls_and_restarts_nothing() {
    let fleet = Fleet::start(manifests_setup("rollout_outage", true)).await;
    let verdict = outage(&fleet).await;
    conclude(&fleet, None, verdict).await;
}

/// Ends a scenario: on a failure the pods' last output (while they still exist), the
/// timeline (`None`: rendered now), the Deployment removed, then the verdict.
async fn conclude(fleet: &Arc<Fleet>, timeline: Option<String>, verdict: Result<(), String>) {
    let logs = verdict.as_ref().err().map(|_| fleet.logs());
    let timeline = timeline.unwrap_or_else(|| fleet.render());
    println!("--- timeline ---\n{timeline}");
    fleet.clone().finish().await;
    if let Err(error) = verdict {
        panic!("{error}\n--- last output ---\n{}", logs.unwrap_or_default());
    }
}

async fn outage(fleet: &Arc<Fleet>) -> Result<(), String> {
    let (v1, v2) = releases();
    fleet.scale(2, &v1, OPERATION_LIMIT).await?;
    let old: Vec<_> = fleet.pods();
    fleet.mark("the scenario's own mariadbd stopped");
    fleet.env.db_stop()?;
    let rollout = {
        let (fleet, v2) = (fleet.clone(), v2.clone());
        tokio::spawn(async move { fleet.rollout(&v2, OPERATION_LIMIT * 2).await })
    };
    // Longer than the new pod's start, its startup and several readiness and
    // liveness periods (3 x 10 s would restart a WordPress that liveness failed).
    tokio::time::sleep(fleet.emulated(50.0)).await;
    let pods = fleet.pods();
    let new: Vec<_> = pods.iter().filter(|p| p.release == "v2").collect();
    if new.len() != 1 {
        return Err(format!(
            "during the outage the rollout made {} new pods, expected 1 (maxSurge 1)",
            new.len()
        ));
    }
    if new.iter().any(|p| p.ready()) {
        return Err("a new pod became ready with the database down".into());
    }
    if old
        .iter()
        .any(|p| p.terminating.load(std::sync::atomic::Ordering::SeqCst))
    {
        return Err("an old pod was deleted while the new one was not available".into());
    }
    if rollout.is_finished() {
        return Err("the rollout finished with the database down".into());
    }
    let stalled =
        fleet.mark("rollout stalled as it should: the new pod is not ready, both old pods kept");
    fleet.mark("mariadbd started again");
    fleet.env.db_start()?;
    let took = rollout
        .await
        .map_err(|e| format!("the rollout task: {e}"))??;
    println!(
        "rollout during the outage: stalled for {:.1}s real, completed {:.1}s after it began",
        stalled.as_secs_f64(),
        took.as_secs_f64()
    );
    let restarts = fleet.restarts();
    let kills: usize = fleet.pods().iter().map(|p| p.probe_kills()).sum();
    if restarts != 0 || kills != 0 {
        return Err(format!(
            "the outage restarted containers: {restarts} restarts, {kills} probe kills"
        ));
    }
    Ok(())
}
