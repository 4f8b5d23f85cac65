//! The probe port under floods, with `server.max_connections` set low (50): idle,
//! slowloris and oversized connections held past the limit, and a reconnecting
//! flood, while a kubelet-like client (a new connection per probe, `Connection:
//! close`, the request sent at once) must get every answer. Also the request head's
//! size bound and deadline. Every attacker is on loopback and bounded in count and
//! time; no assertion is on a duration.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{config, eventually, Behaviour, Sidecar, StandIn};

const LIMIT: usize = 50;

fn flood_config(url: &str, header_read_timeout: &str, drain: &str) -> String {
    format!(
        "wordpress_url = \"{url}\"\n[wordpress]\ninterval = \"100ms\"\ntimeout = \"300ms\"\njitter = 0\n\
         [mysql]\nenabled = false\n[wpconfig]\nenabled = false\n\
         [server]\nmax_connections = {LIMIT}\nheader_read_timeout = \"{header_read_timeout}\"\n\
         [shutdown]\ndrain = \"{drain}\"\ndeadline = \"1s\"\n"
    )
}

async fn ready_sidecar(header_read_timeout: &str) -> (StandIn, Sidecar) {
    ready_sidecar_draining(header_read_timeout, "300ms").await
}

async fn ready_sidecar_draining(header_read_timeout: &str, drain: &str) -> (StandIn, Sidecar) {
    let stand_in = StandIn::start(Behaviour::Answer(200, "ok".into())).await;
    let sidecar = Sidecar::start(config(
        &flood_config(&stand_in.url(), header_read_timeout, drain),
        &[],
    ))
    .await;
    let ready = eventually(Duration::from_secs(10), || async {
        probe(sidecar.addr, "/readyz").await == Some(200)
    })
    .await;
    assert!(ready, "the sidecar should become ready");
    (stand_in, sidecar)
}

/// One probe as the kubelet sends it; `None` when refused, reset or closed
/// unanswered (each of which the kubelet counts as a failure). The 5 s bound only
/// keeps a broken server from hanging the test.
async fn probe(addr: SocketAddr, path: &str) -> Option<u16> {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: floods-it\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.ok()?;
        let text = String::from_utf8_lossy(&raw);
        text.split(' ').nth(1)?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(5), attempt)
        .await
        .ok()
        .flatten()
}

/// Kinds of hostile connection.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// Connects and sends nothing.
    Idle,
    /// Sends a partial head, then a byte every 50 ms (bounded).
    Slowloris,
    /// Sends 32 KiB of headers that never end.
    Oversized,
}

/// Opens one hostile connection; the returned task holds it until the server closes
/// it (or 60 s pass) and then counts it in `closed`.
async fn open_hostile(
    addr: SocketAddr,
    kind: Hostile,
    closed: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    let stream = TcpStream::connect(addr)
        .await
        .expect("connect a hostile client");
    tokio::spawn(async move {
        let (mut reader, mut writer) = stream.into_split();
        let writing = async move {
            match kind {
                Hostile::Idle => {}
                Hostile::Slowloris => {
                    let _ = writer
                        .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                        .await;
                    for _ in 0..1200 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        if writer.write_all(b"a").await.is_err() {
                            break;
                        }
                    }
                }
                Hostile::Oversized => {
                    let mut head = b"GET /livez HTTP/1.1\r\nHost: x\r\n".to_vec();
                    while head.len() < 32 * 1024 {
                        head.extend_from_slice(
                            b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                        );
                    }
                    let _ = writer.write_all(&head).await;
                }
            }
            // Keep the write half open (no FIN) while the read half waits.
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(writer);
        };
        let reading = async {
            let mut sink = [0u8; 1024];
            loop {
                match reader.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        tokio::select! {
            _ = reading => { closed.fetch_add(1, Ordering::Relaxed); }
            _ = writing => {}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_slow_and_oversized_connections_past_the_limit_never_shed_a_probe() {
    // A head deadline far longer than the test: only eviction can free a slot.
    let (_stand_in, sidecar) = ready_sidecar("120s").await;
    let closed = Arc::new(AtomicUsize::new(0));
    let mut holders = Vec::new();
    let mut answered = 0;
    let rounds = 30;
    for round in 0..rounds {
        for index in 0..20 {
            let kind = match (round + index) % 3 {
                0 => Hostile::Idle,
                1 => Hostile::Slowloris,
                _ => Hostile::Oversized,
            };
            holders.push(open_hostile(sidecar.addr, kind, closed.clone()).await);
        }
        match probe(sidecar.addr, "/livez").await {
            Some(200) => answered += 1,
            other => panic!(
                "probe {round} after {} hostile connections: {other:?}",
                holders.len()
            ),
        }
    }
    assert_eq!(answered, rounds);
    let hostile = holders.len();
    assert!(
        sidecar.admission.evicted() > 0,
        "the limit was passed, so connections must have been evicted"
    );
    assert!(sidecar.admission.open() <= LIMIT);
    // Every hostile connection beyond the limit was closed by the server: evicted,
    // or (oversized) answered 431 and closed.
    let all_but_the_limit = eventually(Duration::from_secs(20), || async {
        closed.load(Ordering::Relaxed) >= hostile - LIMIT
    })
    .await;
    assert!(
        all_but_the_limit,
        "{} of {hostile} hostile connections closed by the server",
        closed.load(Ordering::Relaxed)
    );
    for holder in holders {
        holder.abort();
    }
    sidecar.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_flood_never_sheds_a_probe() {
    let (_stand_in, sidecar) = ready_sidecar("120s").await;
    // 60 lanes on 50 slots: each lane reconnects (after 40 ms) as soon as it is
    // evicted, so evictions never stop while the probes run.
    let stop = Arc::new(AtomicBool::new(false));
    let connects = Arc::new(AtomicUsize::new(0));
    let mut lanes = Vec::new();
    for lane in 0..LIMIT + 10 {
        let (stop, connects, addr) = (stop.clone(), connects.clone(), sidecar.addr);
        lanes.push(tokio::spawn(async move {
            let kind = if lane % 2 == 0 {
                Hostile::Idle
            } else {
                Hostile::Slowloris
            };
            let closed = Arc::new(AtomicUsize::new(0));
            while !stop.load(Ordering::Relaxed) && connects.fetch_add(1, Ordering::Relaxed) < 20_000
            {
                let holder = open_hostile(addr, kind, closed.clone()).await;
                let _ = tokio::time::timeout(Duration::from_secs(30), holder).await;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        }));
    }
    let flooding = eventually(Duration::from_secs(20), || async {
        sidecar.admission.evicted() >= 100
    })
    .await;
    assert!(flooding, "the flood should be evicting connections");
    let mut unanswered = Vec::new();
    for index in 0..60 {
        let path = ["/livez", "/readyz", "/startupz"][index % 3];
        if probe(sidecar.addr, path).await.is_none() {
            unanswered.push(index);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let evicted = sidecar.admission.evicted();
    for lane in lanes {
        lane.abort();
    }
    assert!(
        unanswered.is_empty(),
        "probes unanswered during the flood: {unanswered:?} ({evicted} evictions)"
    );
    sidecar.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_head_over_the_bound_is_refused_and_a_probe_head_passes() {
    let (_stand_in, sidecar) = ready_sidecar("5s").await;
    let mut stream = TcpStream::connect(sidecar.addr).await.expect("connect");
    let mut head = b"GET /livez HTTP/1.1\r\nHost: x\r\n".to_vec();
    while head.len() < 16 * 1024 {
        head.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let _ = stream.write_all(&head).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.starts_with("HTTP/1.1 431"),
        "a 16 KiB head must be refused with 431, got {text:?}"
    );
    // A head just under the bound (what a verbose client might send) still passes.
    let mut stream = TcpStream::connect(sidecar.addr).await.expect("connect");
    let mut head = b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_vec();
    // Six headers of 1,000 bytes (hyper also bounds the count of headers, at 100).
    for index in 0..6 {
        head.extend_from_slice(format!("X-Pad-{index}: {}\r\n", "a".repeat(1000)).as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    stream.write_all(&head).await.expect("send");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "got {text:?}");
    sidecar.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_are_closed_at_the_head_deadline() {
    let (_stand_in, sidecar) = ready_sidecar("300ms").await;
    let closed = Arc::new(AtomicUsize::new(0));
    let mut holders = Vec::new();
    for kind in [
        Hostile::Idle,
        Hostile::Slowloris,
        Hostile::Idle,
        Hostile::Slowloris,
    ] {
        holders.push(open_hostile(sidecar.addr, kind, closed.clone()).await);
    }
    // Well under the limit: only the deadline can close them. The slowloris clients
    // keep sending a byte every 50 ms, so bytes alone must not extend the deadline.
    let all_closed = eventually(Duration::from_secs(20), || async {
        closed.load(Ordering::Relaxed) == 4
    })
    .await;
    assert!(all_closed, "{} of 4 closed", closed.load(Ordering::Relaxed));
    assert_eq!(
        sidecar.admission.evicted(),
        0,
        "closed by the deadline, not evicted"
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            sidecar.admission.open() == 0
        })
        .await,
        "their slots are free again"
    );
    sidecar.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_are_answered_during_the_drain_under_slowloris() {
    // A drain longer than the test needs, so every probe below falls inside it.
    let (_stand_in, mut sidecar) = ready_sidecar_draining("120s", "30s").await;
    let closed = Arc::new(AtomicUsize::new(0));
    let mut holders = Vec::new();
    for _ in 0..LIMIT * 2 {
        holders.push(open_hostile(sidecar.addr, Hostile::Slowloris, closed.clone()).await);
    }
    sidecar.trigger_shutdown();
    // Draining: readiness fails (503), liveness still answers; both must be answered.
    let draining = eventually(Duration::from_secs(5), || async {
        probe(sidecar.addr, "/readyz").await == Some(503)
    })
    .await;
    assert!(draining, "readiness fails while draining, and is answered");
    for _ in 0..5 {
        holders.push(open_hostile(sidecar.addr, Hostile::Slowloris, closed.clone()).await);
        assert_eq!(probe(sidecar.addr, "/livez").await, Some(200));
    }
    for holder in holders {
        holder.abort();
    }
}
