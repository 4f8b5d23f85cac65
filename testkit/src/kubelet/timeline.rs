//! The emulator's record of a run: every probe result, every state change after the
//! thresholds, every kill, back-off and start, and markers the scenario adds ("edit
//! DB_HOST"), each stamped with the real time since the emulator started and shown
//! with its emulated equivalent (real time divided by the time scale). Counters
//! (probes sent, HTTP requests, discarded probes, restarts) live beside the events.
//!
//! It only records and answers questions; it never drives the emulator.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One instance of a container of the pod: its name and which start it is (`#0` the
/// first, `#1` after the first restart …). The kubelet's container ID, in short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cid {
    pub name: Arc<str>,
    pub instance: u32,
}

impl Cid {
    pub fn is(&self, name: &str) -> bool {
        &*self.name == name
    }
}

impl std::fmt::Display for Cid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.name, self.instance)
    }
}

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
    /// Every attempt erred while reading the body: counts toward neither threshold.
    Discarded,
}

#[derive(Clone, Debug)]
pub enum EventKind {
    Marker(String),
    Probe {
        probe: ProbeKind,
        container: Cid,
        /// When the probe was sent (the event's own time is when it ended).
        sent: Duration,
        outcome: Outcome,
        status: Option<u16>,
        detail: String,
    },
    Result {
        probe: ProbeKind,
        container: Cid,
        from: ProbeResult,
        to: ProbeResult,
    },
    Killing {
        container: Cid,
        reason: String,
    },
    Died {
        container: Cid,
    },
    /// The instance's processes ended without a kill (a crash, an exit).
    Exited {
        container: Cid,
    },
    BackOff {
        container: Cid,
        delay: Duration,
    },
    /// The pod entered (true) or left (false) the Service's endpoints.
    PodReady(bool),
    /// Stop signal or SIGKILL sent to an instance.
    Signal {
        container: Cid,
        signal: &'static str,
    },
    Started {
        container: Cid,
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
    /// The container `counters()` and `render` report first (WordPress).
    main: String,
    events: Mutex<Vec<Event>>,
    counters: Mutex<BTreeMap<String, Counters>>,
}

impl Timeline {
    pub fn new(scale: f64, main: &str) -> Timeline {
        Timeline {
            start: Instant::now(),
            scale,
            main: main.to_string(),
            events: Mutex::new(Vec::new()),
            counters: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// The time scale: real seconds per emulated second.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Real seconds → the emulated seconds they stand for.
    pub fn emulated(&self, real: Duration) -> f64 {
        real.as_secs_f64() / self.scale
    }

    pub fn push(&self, kind: EventKind) -> Duration {
        let at = self.now();
        if let EventKind::Started { container } = &kind {
            if container.instance > 0 {
                self.update(&container.name, |c| c.restarts += 1);
            }
        }
        self.lock_events().push(Event { at, kind });
        at
    }

    pub fn mark(&self, text: impl Into<String>) -> Duration {
        self.push(EventKind::Marker(text.into()))
    }

    pub fn update(&self, container: &str, change: impl FnOnce(&mut Counters)) {
        let mut all = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        change(all.entry(container.to_string()).or_default());
    }

    /// The main container's counters (WordPress's).
    pub fn counters(&self) -> Counters {
        self.counters_of(&self.main)
    }

    pub fn counters_of(&self, container: &str) -> Counters {
        let all = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        all.get(container).copied().unwrap_or_default()
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

    /// How long the pod was not ready between `since` and `until` (from its
    /// `PodReady` events; not ready before the first one).
    pub fn not_ready_between(&self, since: Duration, until: Duration) -> Duration {
        let events = self.lock_events();
        let mut ready = false;
        let mut total = Duration::ZERO;
        let mut mark = since;
        for event in events.iter() {
            let EventKind::PodReady(now) = event.kind else {
                continue;
            };
            let at = event.at.clamp(since, until);
            if !ready {
                total += at.saturating_sub(mark);
            }
            ready = now;
            mark = at;
        }
        if !ready {
            total += until.saturating_sub(mark);
        }
        total
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
        let mut previous: BTreeMap<(String, usize), Outcome> = BTreeMap::new();
        for event in self.lock_events().iter() {
            if let EventKind::Probe {
                probe,
                outcome,
                container,
                ..
            } = &event.kind
            {
                let key = (container.name.to_string(), probe.index());
                let repeated = previous.insert(key, *outcome) == Some(*outcome);
                if compact && repeated {
                    continue;
                }
            }
            let took = match &event.kind {
                EventKind::Probe { sent, .. } => {
                    format!("  [{} ms]", event.at.saturating_sub(*sent).as_millis())
                }
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "{:>8.2}s  (emulated {:>6.1}s)  {}{took}",
                event.at.as_secs_f64(),
                self.emulated(event.at),
                describe(&event.kind)
            );
        }
        let all = self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let main = all.get(&self.main).copied().unwrap_or_default();
        let others = all.iter().filter(|(name, _)| **name != self.main);
        for (name, c) in std::iter::once((&self.main, &main)).chain(others) {
            let _ = writeln!(
                out,
                "counters {name}: probes startup={} liveness={} readiness={} (discarded {}), HTTP requests {}, restarts {}",
                c.probes[0], c.probes[1], c.probes[2], c.discarded, c.http_requests, c.restarts
            );
        }
        out
    }
}

/// One event in words, as `render` prints it.
pub fn describe(kind: &EventKind) -> String {
    match kind {
        EventKind::Marker(text) => format!("** {text}"),
        EventKind::Probe {
            probe,
            container,
            outcome,
            status,
            detail,
            ..
        } => {
            let status = status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "---".into());
            format!(
                "{:<9} probe  {container}  {:<9} {status}  {detail}",
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
            "{} result  {container}  {from:?} -> {to:?}",
            probe.as_str().to_uppercase()
        ),
        EventKind::Killing { container, reason } => format!("KILLING {container}: {reason}"),
        EventKind::Signal { container, signal } => format!("{signal} -> {container}"),
        EventKind::PodReady(true) => "POD READY (in the Service)".to_string(),
        EventKind::PodReady(false) => "POD NOT READY (out of the Service)".to_string(),
        EventKind::Died { container } => format!("container {container} stopped"),
        EventKind::Exited { container } => format!("container {container} EXITED on its own"),
        EventKind::BackOff { container, delay } => {
            format!("back-off {delay:.2?} before restarting {}", container.name)
        }
        EventKind::Started { container } => format!("STARTED {container}"),
    }
}
