//! What the demos print about a run: the probes read from the manifest, the time from
//! the edit to each step, the probe counts, who sent the requests WordPress served.
//! One shape for both demos (`examples/demo.rs`, `examples/demo_pod.rs`) and both
//! acts of the pod demo.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::kubelet::manifest::ContainerSpec;
use crate::kubelet::{ProbeKind, Timeline};

/// `edit -> at` in emulated and real seconds; "never" when it did not happen.
pub fn span_since(timeline: &Timeline, edit: Duration, at: Option<Duration>) -> String {
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

/// The container's probes, as read from `source`.
pub fn print_probes_of(container: &ContainerSpec, source: &str) {
    println!(
        "the {} container's probes, read from {source}:",
        container.name
    );
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
}

/// The summary: a title, one line per step (`edit -> step`), the time out of the
/// Service after the edit.
pub fn print_steps(
    title: &str,
    timeline: &Timeline,
    edit: Duration,
    steps: &[(&str, Option<Duration>)],
) {
    println!("\n{title}:");
    for (step, at) in steps {
        println!("  edit -> {step:<30} {}", span_since(timeline, edit, *at));
    }
    println!(
        "  out of the Service after the edit     {:>6.1}s emulated",
        timeline.emulated(timeline.not_ready_between(edit, timeline.now()))
    );
}

/// How many probes WordPress's container got, of each kind; `note` after the count
/// of HTTP requests.
pub fn print_probe_counts(timeline: &Timeline, note: &str) {
    let counters = timeline.counters();
    println!(
        "  WordPress's probes: startup {}, liveness {}, readiness {} ({} HTTP requests{note})",
        counters.probes[ProbeKind::Startup.index()],
        counters.probes[ProbeKind::Liveness.index()],
        counters.probes[ProbeKind::Readiness.index()],
        counters.http_requests
    );
}

/// Requests counted by what and who: a title with the total, then one line each.
pub fn print_requests(title: &str, by: &BTreeMap<String, usize>) {
    println!("  {title}: {}", by.values().sum::<usize>());
    for (what, count) in by {
        println!("    {count:>5}  {what}");
    }
}
