//! Who gets a connection slot on the probe port. The kubelet opens a new connection
//! for every probe and sends its request at once, so at the connection limit the
//! newcomer is admitted and the connection that has waited longest without a
//! complete request head is evicted (an idle or slowloris client, or a keep-alive
//! client idle since its last answer). Only when every slot is in the middle of a
//! request (a few microseconds each: handlers never wait) is the newcomer refused.
//!
//! This module only keeps the books; it does no I/O. The accept loop asks it for a
//! [`Ticket`] per connection and drops the connection when the ticket's slot is told
//! to go.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// `waiting_since` of a slot whose request is being answered.
const BUSY: u64 = u64::MAX;

/// The open connections and the limit.
pub struct Admission {
    limit: usize,
    clock: Arc<AtomicU64>,
    open: Mutex<Open>,
    evicted: AtomicUsize,
    refused: AtomicUsize,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    slots: HashMap<u64, Arc<Slot>>,
}

/// One connection's standing.
pub struct Slot {
    /// When the connection began waiting for a complete request head (its accept,
    /// or the end of its last answer), on a logical clock that ticks at every such
    /// event (so the order is exact even within a microsecond); `BUSY` while a
    /// request is being answered.
    waiting_since: AtomicU64,
    clock: Arc<AtomicU64>,
    evict: Notify,
}

/// Held by a connection's task; dropping it frees the slot.
pub struct Ticket {
    admission: Arc<Admission>,
    id: u64,
    slot: Arc<Slot>,
}

/// Marks a slot busy until dropped (held by the response body, so the slot is busy
/// until hyper has written the answer).
pub struct BusyGuard {
    slot: Arc<Slot>,
}

impl Admission {
    pub fn new(limit: usize) -> Arc<Admission> {
        Arc::new(Admission {
            limit: limit.max(1),
            clock: Arc::new(AtomicU64::new(0)),
            open: Mutex::new(Open::default()),
            evicted: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
        })
    }

    /// A slot for a new connection, evicting the longest-waiting one at the limit;
    /// `None` when every open connection is in the middle of a request.
    pub fn admit(self: &Arc<Self>) -> Option<Ticket> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if open.slots.len() >= self.limit {
            let victim = open
                .slots
                .iter()
                .map(|(id, slot)| (slot.waiting_since.load(Ordering::Acquire), *id))
                .filter(|(since, _)| *since != BUSY)
                .min();
            let Some((_, victim)) = victim else {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return None;
            };
            if let Some(slot) = open.slots.remove(&victim) {
                slot.evict.notify_one();
                self.evicted.fetch_add(1, Ordering::Relaxed);
            }
        }
        let id = open.next_id;
        open.next_id += 1;
        let slot = Arc::new(Slot {
            waiting_since: AtomicU64::new(tick(&self.clock)),
            clock: self.clock.clone(),
            evict: Notify::new(),
        });
        open.slots.insert(id, slot.clone());
        Some(Ticket {
            admission: self.clone(),
            id,
            slot,
        })
    }

    /// Connections open now (evicted ones no longer count).
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .slots
            .len()
    }

    /// Connections evicted so far to make room for a newcomer.
    pub fn evicted(&self) -> usize {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Newcomers refused because every slot was answering a request.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::Relaxed)
    }
}

impl Ticket {
    /// Resolves when this connection has been evicted.
    pub async fn evicted(&self) {
        self.slot.evict.notified().await;
    }

    /// A handle for the per-request service, which marks the connection busy.
    pub fn busy_marker(&self) -> BusyMarker {
        BusyMarker {
            slot: self.slot.clone(),
        }
    }
}

/// Cloneable handle that marks its connection busy (for the per-request service).
#[derive(Clone)]
pub struct BusyMarker {
    slot: Arc<Slot>,
}

impl BusyMarker {
    /// Marks the connection busy (a complete request head arrived) until the guard
    /// is dropped.
    pub fn busy(&self) -> BusyGuard {
        self.slot.waiting_since.store(BUSY, Ordering::Release);
        BusyGuard {
            slot: self.slot.clone(),
        }
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.slot
            .waiting_since
            .store(tick(&self.slot.clock), Ordering::Release);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self
            .admission
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        open.slots.remove(&self.id);
    }
}

fn tick(clock: &AtomicU64) -> u64 {
    // Never BUSY: at a billion ticks a second that takes 584 years.
    clock.fetch_add(1, Ordering::AcqRel).min(BUSY - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_limit_the_longest_waiting_connection_goes() {
        let admission = Admission::new(3);
        let first = admission.admit().expect("room");
        let second = admission.admit().expect("room");
        let third = admission.admit().expect("room");
        // The first answered a request just now: it is the newest waiter.
        drop(first.busy_marker().busy());
        let fourth = admission.admit().expect("a waiting connection is evicted");
        assert_eq!(admission.evicted(), 1);
        assert_eq!(admission.open(), 3);
        assert!(!admission
            .open
            .lock()
            .expect("lock")
            .slots
            .contains_key(&second.id));
        drop((first, third, fourth));
        assert_eq!(admission.open(), 0, "the evicted one no longer counts");
        drop(second);
        assert_eq!(admission.open(), 0);
    }

    #[test]
    fn busy_connections_are_never_evicted() {
        let admission = Admission::new(2);
        let first = admission.admit().expect("room");
        let second = admission.admit().expect("room");
        let _busy_first = first.busy_marker().busy();
        let _busy_second = second.busy_marker().busy();
        assert!(admission.admit().is_none(), "every slot is answering");
        assert_eq!(admission.refused(), 1);
        assert_eq!(admission.evicted(), 0);
    }

    #[tokio::test]
    async fn an_evicted_ticket_is_told() {
        let admission = Admission::new(1);
        let first = admission.admit().expect("room");
        let _second = admission.admit().expect("evicts the first");
        tokio::time::timeout(std::time::Duration::from_secs(5), first.evicted())
            .await
            .expect("the evicted connection is notified");
    }
}
