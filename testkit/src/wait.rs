//! Bounded polling, the one shape every wait of the suites takes: look, sleep a
//! little, give up after a limit, and say what was last seen. A wait is for a cause
//! (an event, an answer); the limit only keeps a broken run from hanging and is never
//! what a test asserts.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::http;
use crate::kubelet::{EventKind, Timeline};

/// Calls `look` every `every` until it gives `Some`, for at most `limit` (it is
/// called at least once); `None` when the limit passed.
pub async fn until<T, F, Fut>(limit: Duration, every: Duration, mut look: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(found) = look().await {
            return Some(found);
        }
        if start.elapsed() >= limit {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}

/// The time of the first event after `since` that `matches`, polled every 20 ms;
/// `None` after `limit`.
pub async fn event(
    timeline: &Timeline,
    since: Duration,
    limit: Duration,
    matches: impl Fn(&EventKind) -> bool,
) -> Option<Duration> {
    let matches = &matches;
    until(limit, Duration::from_millis(20), move || async move {
        timeline.first_after(since, matches).map(|event| event.at)
    })
    .await
}

/// Whether `probe` turns true within `limit` (polled every 50 ms).
pub async fn eventually<F, Fut>(limit: Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    until(limit, Duration::from_millis(50), || {
        let seen = probe();
        async move { seen.await.then_some(()) }
    })
    .await
    .is_some()
}

/// Whether `probe` holds at every poll (every 50 ms) for `how_long`: "never failed
/// during", not one look after a sleep.
pub async fn stays<F, Fut>(how_long: Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + how_long;
    while tokio::time::Instant::now() < end {
        if !probe().await {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

/// Polls `GET path` on `addr` (every `every`) until it answers `status`; the body of
/// that answer, or what was last seen (a status, or why there was none: a restarted
/// server that does not listen yet refuses, which is "not yet").
pub async fn answers(
    addr: SocketAddr,
    path: &str,
    status: u16,
    limit: Duration,
    every: Duration,
) -> Result<String, String> {
    let last = std::cell::RefCell::new(String::new());
    let seen = &last;
    let found = until(limit, every, move || async move {
        match http::get(addr, path, &[]).await {
            Ok(answer) if answer.status == status => Some(answer.body),
            Ok(answer) => {
                *seen.borrow_mut() = format!("{} {}", answer.status, answer.body);
                None
            }
            Err(error) => {
                *seen.borrow_mut() = error;
                None
            }
        }
    })
    .await;
    found.ok_or_else(|| {
        let last: String = last.borrow().chars().take(300).collect();
        format!("GET {path} on {addr} did not answer {status} within {limit:?} (last: {last})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn until_looks_at_least_once_and_stops_at_the_first_find() {
        let mut looks = 0;
        let found = until(Duration::ZERO, Duration::from_millis(1), || {
            looks += 1;
            async { Some(7) }
        })
        .await;
        assert_eq!((found, looks), (Some(7), 1));
        let mut count = 0;
        let third = until(Duration::from_secs(5), Duration::from_millis(1), || {
            count += 1;
            let at = count;
            async move { (at == 3).then_some(at) }
        })
        .await;
        assert_eq!(third, Some(3));
    }

    #[tokio::test(start_paused = true)]
    async fn stays_fails_at_the_first_false() {
        let mut left = 3;
        let held = stays(Duration::from_secs(60), || {
            left -= 1;
            async move { left > 0 }
        })
        .await;
        assert!(!held);
        assert_eq!(left, 0);
    }
}
