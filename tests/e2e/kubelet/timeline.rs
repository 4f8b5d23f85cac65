//! The emulator's record of a run: every probe result, every state change after the
//! thresholds, every kill, back-off and start, and markers the scenario adds ("edit
//! DB_HOST"), each stamped with the real time since the emulator started and shown
//! with its emulated equivalent (real time divided by the time scale). Counters
//! (probes sent, HTTP requests, discarded probes, restarts) live beside the events.
//!
//! It only records and answers questions; it never drives the emulator.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The three probe workers of a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Startup => "startup",
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A worker's published result (the kubelet's results manager).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    Unknown,
    Success,
    Failure,
}

/// What one probe run gave, before the thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A redirect that was not followed: counts as success.
    Warning,
    Failure,
    /// Every attempt ended in a transport error: counts toward neither threshold.
    Discarded,
}

#[derive(Clone, Debug)]
pub enum EventKind {
    Marker(String),
    Probe {
        probe: ProbeKind,
        container: u32,
        outcome: Outcome,
        status: Option<u16>,
        detail: String,
    },
    Result {
        probe: ProbeKind,
        container: u32,
        from: ProbeResult,
        to: ProbeResult,
    },
    Killing {
        container: u32,
        reason: String,
    },
    Died {
        container: u32,
    },
    BackOff {
        delay: Duration,
    },
    Started {
        container: u32,
    },
}

#[derive(Clone, Debug)]
pub struct Event {
    /// Real time since the emulator started.
    pub at: Duration,
    pub kind: EventKind,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    /// Probe runs per `ProbeKind::index`, discarded ones included.
    pub probes: [u64; 3],
    pub discarded: u64,
    /// HTTP requests the probes sent (retries and redirect hops each count).
    pub http_requests: u64,
    /// Containers started after the first one.
    pub restarts: u32,
}

impl Counters {
    pub fn probes_total(&self) -> u64 {
        self.probes.iter().sum()
    }
}

pub struct Timeline {
    start: Instant,
    scale: f64,
    events: Mutex<Vec<Event>>,
    counters: Mutex<Counters>,
}

impl Timeline {
    pub fn new(scale: f64) -> Timeline {
        Timeline {
            start: Instant::now(),
            scale,
            events: Mutex::new(Vec::new()),
            counters: Mutex::new(Counters::default()),
        }
    }

    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Real seconds → the emulated seconds they stand for.
    pub fn emulated(&self, real: Duration) -> f64 {
        real.as_secs_f64() / self.scale
    }

    pub fn push(&self, kind: EventKind) -> Duration {
        let at = self.now();
        if let EventKind::Started { .. } = kind {
            self.update(|c| c.restarts += 1);
        }
        self.lock_events().push(Event { at, kind });
        at
    }

    pub fn mark(&self, text: impl Into<String>) -> Duration {
        self.push(EventKind::Marker(text.into()))
    }

    pub fn update(&self, change: impl FnOnce(&mut Counters)) {
        change(&mut self.counters.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn counters(&self) -> Counters {
        *self.counters.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn events(&self) -> Vec<Event> {
        self.lock_events().clone()
    }

    fn lock_events(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The first event at or after `since` that `matches`.
    pub fn first_after(
        &self,
        since: Duration,
        matches: impl Fn(&EventKind) -> bool,
    ) -> Option<Event> {
        self.lock_events()
            .iter()
            .find(|e| e.at >= since && matches(&e.kind))
            .cloned()
    }

    /// How many events at or after `since` match.
    pub fn count_after(&self, since: Duration, matches: impl Fn(&EventKind) -> bool) -> usize {
        self.lock_events()
            .iter()
            .filter(|e| e.at >= since && matches(&e.kind))
            .count()
    }

    /// One line per event; with `compact`, a probe line only when its outcome differs
    /// from the previous run of the same probe (state changes are always shown).
    pub fn render(&self, compact: bool) -> String {
        let mut out = String::new();
        let mut previous: [Option<Outcome>; 3] = [None; 3];
        for event in self.lock_events().iter() {
            if let EventKind::Probe { probe, outcome, .. } = &event.kind {
                let slot = &mut previous[probe.index()];
                let repeated = *slot == Some(*outcome);
                *slot = Some(*outcome);
                if compact && repeated {
                    continue;
                }
            }
            let _ = writeln!(
                out,
                "{:>8.2}s  (emulated {:>6.1}s)  {}",
                event.at.as_secs_f64(),
                self.emulated(event.at),
                describe(&event.kind)
            );
        }
        let c = self.counters();
        let _ = writeln!(
            out,
            "counters: probes startup={} liveness={} readiness={} (discarded {}), HTTP requests {}, restarts {}",
            c.probes[0], c.probes[1], c.probes[2], c.discarded, c.http_requests, c.restarts
        );
        out
    }
}

fn describe(kind: &EventKind) -> String {
    match kind {
        EventKind::Marker(text) => format!("** {text}"),
        EventKind::Probe {
            probe,
            container,
            outcome,
            status,
            detail,
        } => {
            let status = status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "---".into());
            format!(
                "{:<9} probe  c{container}  {:<9} {status}  {detail}",
                probe.as_str(),
                format!("{outcome:?}")
            )
        }
        EventKind::Result {
            probe,
            container,
            from,
            to,
        } => format!(
            "{} result  c{container}  {from:?} -> {to:?}",
            probe.as_str().to_uppercase()
        ),
        EventKind::Killing { container, reason } => format!("KILLING c{container}: {reason}"),
        EventKind::Died { container } => format!("container c{container} stopped"),
        EventKind::BackOff { delay } => format!("back-off {delay:.2?} before the restart"),
        EventKind::Started { container } => format!("STARTED container c{container}"),
    }
}
