//! A stand-in WordPress for unit-level HTTP classification (the only place a real
//! WordPress is not needed): its answer is changed at will by the test, it can hang,
//! drop the connection, or hold each request until the test releases it (so a test
//! asserts "20 probes were answered while the check was held", not a clock), or
//! answer by path (the emulator's own tests). Also a listener that accepts and never
//! answers, and a port nothing listens on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
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

/// One answer of a [`Behaviour::Route`].
#[derive(Clone, Debug)]
pub enum Reply {
    /// A status, extra headers, a body.
    Answer(u16, Vec<(String, String)>, Vec<u8>),
    /// Read the request, close without a word.
    Close,
    /// Read the request, never answer.
    Hang,
    /// A status line and headers promising more body than is sent, then close.
    Truncated,
}

/// Picks a [`Reply`] from the request's path and the stand-in's own port (for
/// redirects back to it).
pub type Route = Arc<dyn Fn(&str, u16) -> Reply + Send + Sync>;

/// What the stand-in WordPress answers.
#[derive(Clone)]
pub enum Behaviour {
    Answer(u16, String),
    Hang,
    /// Hold each request (counted in `StandIn::held`) until the semaphore has a
    /// permit for it, then answer 200 "ok": the test decides when a check finishes.
    Hold(Arc<tokio::sync::Semaphore>),
    /// Accept and close at once, as a container going down does.
    Drop,
    /// Answer each request by its path (the emulator's tests: redirects, long
    /// bodies, truncated answers).
    Route(Route),
}

impl std::fmt::Debug for Behaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Behaviour::Answer(status, body) => {
                f.debug_tuple("Answer").field(status).field(body).finish()
            }
            Behaviour::Hang => f.write_str("Hang"),
            Behaviour::Hold(_) => f.write_str("Hold"),
            Behaviour::Drop => f.write_str("Drop"),
            Behaviour::Route(_) => f.write_str("Route"),
        }
    }
}

/// A stand-in WordPress whose answer the test changes at will; it keeps every
/// request head it read (`heads`), in order.
pub struct StandIn {
    pub addr: SocketAddr,
    behaviour: Arc<Mutex<Behaviour>>,
    pub requests: Arc<std::sync::atomic::AtomicUsize>,
    /// Requests held right now by `Behaviour::Hold`.
    pub held: Arc<std::sync::atomic::AtomicUsize>,
    pub heads: Arc<Mutex<Vec<String>>>,
}

/// A request head is never longer than this here; a longer one is cut.
const HEAD_LIMIT: usize = 64 * 1024;

impl StandIn {
    pub async fn start(behaviour: Behaviour) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind stand-in");
        let addr = listener.local_addr().expect("address");
        let behaviour = Arc::new(Mutex::new(behaviour));
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let held = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (shared, counter, holding, seen) = (
            behaviour.clone(),
            requests.clone(),
            held.clone(),
            heads.clone(),
        );
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let behaviour = shared.lock().expect("behaviour").clone();
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (holding, seen) = (holding.clone(), seen.clone());
                tokio::spawn(async move {
                    let head = read_head(&mut stream).await;
                    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                    seen.lock().expect("heads").push(head);
                    let reply = match behaviour {
                        Behaviour::Drop => Reply::Close,
                        Behaviour::Hang => Reply::Hang,
                        Behaviour::Hold(gate) => {
                            use std::sync::atomic::Ordering::SeqCst;
                            holding.fetch_add(1, SeqCst);
                            let permit = gate.acquire().await;
                            holding.fetch_sub(1, SeqCst);
                            drop(permit);
                            Reply::Answer(200, Vec::new(), b"ok".to_vec())
                        }
                        Behaviour::Answer(status, body) => {
                            Reply::Answer(status, Vec::new(), body.into_bytes())
                        }
                        Behaviour::Route(route) => route(&path, addr.port()),
                    };
                    answer(&mut stream, reply).await;
                });
            }
        });
        StandIn {
            addr,
            behaviour,
            requests,
            held,
            heads,
        }
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().expect("behaviour") = behaviour;
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

/// The request head, up to its blank line (or the peer's close, or the limit).
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n")
        && head.len() < HEAD_LIMIT
        && stream.read(&mut byte).await.unwrap_or(0) == 1
    {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

async fn answer(stream: &mut TcpStream, reply: Reply) {
    match reply {
        Reply::Answer(status, headers, body) => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            let _ = stream.write_all(out.as_bytes()).await;
            let _ = stream.write_all(&body).await;
        }
        Reply::Close => {}
        Reply::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
        Reply::Truncated => {
            let out = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes.";
            let _ = stream.write_all(out.as_bytes()).await;
        }
    }
}

/// WordPress's page when it cannot reach its database.
pub const DATABASE_ERROR_PAGE: &str =
    "<!DOCTYPE html><html><body><div class=\"wp-die-message\"><h1>Error establishing a database connection</h1></div></body></html>";
/// WordPress's page in maintenance mode.
pub const MAINTENANCE_PAGE: &str =
    "<!DOCTYPE html><html><body><h1>Briefly unavailable for scheduled maintenance. Check back in a minute.</h1></body></html>";
