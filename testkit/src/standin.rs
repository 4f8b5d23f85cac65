//! A stand-in WordPress for unit-level HTTP classification (the only place a real
//! WordPress is not needed): its answer is changed at will by the test, it can hang,
//! drop the connection, or hold each request until the test releases it (so a test
//! asserts "20 probes were answered while the check was held", not a clock). Also a
//! listener that accepts and never answers, and a port nothing listens on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A listener that accepts connections and never says a word.
pub async fn silent_listener() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (addr, task)
}

/// A port nothing listens on.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("address")
}

/// What the stand-in WordPress answers.
#[derive(Clone, Debug)]
pub enum Behaviour {
    Answer(u16, String),
    Hang,
    /// Hold each request (counted in `StandIn::held`) until the semaphore has a
    /// permit for it, then answer 200 "ok": the test decides when a check finishes.
    Hold(Arc<tokio::sync::Semaphore>),
    /// Accept and close at once, as a container going down does.
    Drop,
}

/// A stand-in WordPress whose answer the test changes at will.
pub struct StandIn {
    pub addr: SocketAddr,
    behaviour: Arc<Mutex<Behaviour>>,
    pub requests: Arc<std::sync::atomic::AtomicUsize>,
    /// Requests held right now by `Behaviour::Hold`.
    pub held: Arc<std::sync::atomic::AtomicUsize>,
}

impl StandIn {
    pub async fn start(behaviour: Behaviour) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind stand-in");
        let addr = listener.local_addr().expect("address");
        let behaviour = Arc::new(Mutex::new(behaviour));
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let held = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (shared, counter, holding) = (behaviour.clone(), requests.clone(), held.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let behaviour = shared.lock().expect("behaviour").clone();
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let holding = holding.clone();
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    let _ = stream.read(&mut buffer).await;
                    match behaviour {
                        Behaviour::Drop => drop(stream),
                        Behaviour::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
                        Behaviour::Hold(gate) => {
                            use std::sync::atomic::Ordering::SeqCst;
                            holding.fetch_add(1, SeqCst);
                            let permit = gate.acquire().await;
                            holding.fetch_sub(1, SeqCst);
                            drop(permit);
                            let _ = stream
                                .write_all(
                                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                                )
                                .await;
                        }
                        Behaviour::Answer(status, body) => {
                            let answer = format!(
                                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = stream.write_all(answer.as_bytes()).await;
                        }
                    }
                });
            }
        });
        StandIn {
            addr,
            behaviour,
            requests,
            held,
        }
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().expect("behaviour") = behaviour;
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

/// WordPress's page when it cannot reach its database.
pub const DATABASE_ERROR_PAGE: &str =
    "<!DOCTYPE html><html><body><div class=\"wp-die-message\"><h1>Error establishing a database connection</h1></div></body></html>";
/// WordPress's page in maintenance mode.
pub const MAINTENANCE_PAGE: &str =
    "<!DOCTYPE html><html><body><h1>Briefly unavailable for scheduled maintenance. Check back in a minute.</h1></body></html>";
