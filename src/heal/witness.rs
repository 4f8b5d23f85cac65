//! The kubelet's own word that it is restarting WordPress.
//!
//! WordPress's liveness probe targets the sidecar, so the sidecar answers every
//! liveness probe the kubelet sends. The kubelet kills the container at exactly the
//! `failureThreshold`-th failed probe in a row (and starts counting again from zero
//! for the new container), so once the sidecar has answered that many failing
//! `/livez` probes in a row to a `kube-probe/` client, a restart has been ordered.
//! Unlike polling WordPress for "down, then up", this cannot miss a restart that is
//! shorter than the poll. The healer uses it as its first witness and polling as the
//! second (a restart by someone else, or a threshold set differently from the
//! manifest's).

use std::sync::atomic::{AtomicU32, Ordering};

use hyper::header::USER_AGENT;
use hyper::HeaderMap;
use tokio::sync::watch;

/// Counts failed liveness answers to the kubelet; publishes each restart order.
#[derive(Debug)]
pub struct LivenessWitness {
    threshold: u32,
    failed_in_a_row: AtomicU32,
    /// How many restarts the kubelet has ordered since start-up.
    orders: watch::Sender<u64>,
}

impl LivenessWitness {
    /// `threshold` is WordPress's `livenessProbe.failureThreshold`.
    pub fn new(threshold: u32) -> LivenessWitness {
        LivenessWitness {
            threshold: threshold.max(1),
            failed_in_a_row: AtomicU32::new(0),
            orders: watch::channel(0).0,
        }
    }

    /// Notes one `/livez` answer; only answers to the kubelet count.
    pub fn answered(&self, headers: &HeaderMap, passed: bool) {
        if !from_kubelet(headers) {
            return;
        }
        if passed {
            self.failed_in_a_row.store(0, Ordering::Relaxed);
            return;
        }
        let now = self.failed_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        if now >= self.threshold {
            // The kubelet resets its own count when it kills the container.
            self.failed_in_a_row.store(0, Ordering::Relaxed);
            self.orders.send_modify(|orders| *orders += 1);
        }
    }

    /// Restart orders so far; `changed()` wakes on each new one.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.orders.subscribe()
    }
}

/// The kubelet sends `User-Agent: kube-probe/<major>.<minor>`.
fn from_kubelet(headers: &HeaderMap) -> bool {
    headers
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|agent| agent.starts_with("kube-probe/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn agent(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn the_threshold_th_failure_in_a_row_is_one_restart_order() {
        let witness = LivenessWitness::new(3);
        let orders = witness.subscribe();
        let kubelet = agent("kube-probe/1.33");
        witness.answered(&kubelet, false);
        witness.answered(&kubelet, false);
        witness.answered(&kubelet, true);
        witness.answered(&kubelet, false);
        witness.answered(&kubelet, false);
        assert_eq!(*orders.borrow(), 0, "a pass in between restarts the count");
        witness.answered(&kubelet, false);
        assert_eq!(*orders.borrow(), 1);
        for _ in 0..5 {
            witness.answered(&kubelet, false);
        }
        assert_eq!(*orders.borrow(), 2, "the count starts again after a kill");
    }

    #[test]
    fn only_the_kubelet_counts() {
        let witness = LivenessWitness::new(1);
        let orders = witness.subscribe();
        witness.answered(&agent("curl/8.0"), false);
        witness.answered(&HeaderMap::new(), false);
        assert_eq!(*orders.borrow(), 0);
        witness.answered(&agent("kube-probe/1.30+"), false);
        assert_eq!(*orders.borrow(), 1);
    }
}
