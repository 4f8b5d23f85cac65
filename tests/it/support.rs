//! Test support: the real sidecar on port 0, a kubelet-like HTTP client (a new
//! connection per request), the real MariaDB (a user and database per test), a TCP
//! proxy that can cut the database off without stopping it for other tests, a
//! listener that accepts and never answers, and a stand-in WordPress for HTTP
//! classification.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wp_sentinel::board::Board;
use wp_sentinel::config::Config;

/// Where the tests find MariaDB as an administrator: root over the unix socket, which
/// works on a fresh Debian install (socket authentication) as on this machine.
pub fn admin_url() -> String {
    std::env::var("WP_SENTINEL_TEST_MYSQL_ADMIN").unwrap_or_else(|_| {
        "mysql://root@localhost/mysql?socket=%2Frun%2Fmysqld%2Fmysqld.sock".to_string()
    })
}

/// Where the sidecar under test reaches the same MariaDB over TCP.
pub fn mysql_addr() -> SocketAddr {
    std::env::var("WP_SENTINEL_TEST_MYSQL_ADDR")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3306)))
}

/// Builds a config from TOML and a `WORDPRESS_*` environment.
pub fn config(toml: &str, env: &[(&str, &str)]) -> Config {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let toml = format!("listen = \"127.0.0.1:0\"\n{toml}");
    Config::from_toml(&toml, &lookup)
        .unwrap_or_else(|errors| panic!("test config rejected: {errors}"))
}

/// The real sidecar, serving on an ephemeral port.
pub struct Sidecar {
    pub addr: SocketAddr,
    pub board: Arc<Board>,
    /// The probe port's connection books.
    pub admission: Arc<wp_sentinel::server::admission::Admission>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Sidecar {
    pub async fn start(config: Config) -> Sidecar {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port");
        let (stop, stopped) = oneshot::channel::<()>();
        let (started, on_start) = oneshot::channel();
        let task = tokio::spawn(wp_sentinel::run_with(
            config,
            listener,
            async move {
                let _ = stopped.await;
            },
            move |running| {
                let _ = started.send(running);
            },
        ));
        let running = on_start.await.expect("sidecar started");
        Sidecar {
            addr: running.local_addr,
            board: running.board,
            admission: running.admission,
            stop: Some(stop),
            task,
        }
    }

    /// Sends shutdown and waits for `run` to return.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.expect("sidecar task")
    }

    pub fn trigger_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        get(self.addr, path, &[]).await
    }

    /// GET as the kubelet's prober sends it (its `User-Agent` counts for the healer).
    /// Whether `path` answers `status` at every poll (every 50 ms) for `how_long`:
    /// "never failed during", not one read after a sleep.
    pub async fn stays(&self, path: &str, status: u16, how_long: Duration) -> bool {
        let end = tokio::time::Instant::now() + how_long;
        while tokio::time::Instant::now() < end {
            if self.get(path).await.status != status {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    pub async fn get_as_kubelet(&self, path: &str) -> Response {
        get(self.addr, path, &[("User-Agent", KUBE_PROBE)]).await
    }
}

/// The kubelet's `User-Agent`.
pub const KUBE_PROBE: &str = "kube-probe/1.33";

/// A probe's answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: String,
    pub body: String,
    pub elapsed: Duration,
}

/// GET over a new connection with `Connection: close`, as the kubelet does, but as a
/// person's client (`User-Agent` not the kubelet's unless `headers` says so: the
/// healer counts the kubelet's failed liveness probes as restart orders).
pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the sidecar");
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("user-agent"))
    {
        request.push_str("User-Agent: wp-sentinel-it\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("the sidecar answers within 10s")
        .expect("read answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Response {
        status,
        headers: head.to_string(),
        body: body.to_string(),
        elapsed: started.elapsed(),
    }
}

/// Polls `probe` every 50 ms until it returns true or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if probe().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A user and a database of this test's own on the real MariaDB.
pub struct TestDatabase {
    pub user: String,
    pub password: String,
    pub name: String,
    pub admin: mysql_async::Pool,
}

impl TestDatabase {
    pub async fn create(label: &str) -> TestDatabase {
        TestDatabase::create_with(label, "").await
    }

    /// `require` is appended to CREATE USER (for example `REQUIRE SSL`).
    pub async fn create_with(label: &str, require: &str) -> TestDatabase {
        TestDatabase::create_on(&admin_url(), label, require).await
    }

    pub async fn create_on(admin_url: &str, label: &str, require: &str) -> TestDatabase {
        let admin =
            mysql_async::Pool::new(mysql_async::Opts::from_url(admin_url).expect("admin URL"));
        let mut conn = match tokio::time::timeout(Duration::from_secs(5), admin.get_conn()).await {
            Ok(Ok(conn)) => conn,
            other => panic!(
                "MariaDB is not answering at {admin_url} ({:?}). Start it with \
                 `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`, \
                 or run scripts/test.sh, which installs and starts it.",
                other.map(|r| r.err())
            ),
        };
        let suffix = format!("{:x}", rand::random::<u32>());
        let user = format!("wps_{label}_{suffix}");
        let name = format!("wps_{label}_{suffix}");
        let password = format!("pw-{:x}-secret", rand::random::<u64>());
        for statement in [
            format!("CREATE DATABASE `{name}`"),
            format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}' {require}"),
            format!("CREATE USER '{user}'@'localhost' IDENTIFIED BY '{password}' {require}"),
            format!("GRANT ALL ON `{name}`.* TO '{user}'@'%'"),
            format!("GRANT ALL ON `{name}`.* TO '{user}'@'localhost'"),
        ] {
            conn.query_drop(statement)
                .await
                .expect("create the test user and database");
        }
        drop(conn);
        TestDatabase {
            user,
            password,
            name,
            admin,
        }
    }

    /// The `WORDPRESS_*` variables pointing at `host`.
    pub fn env(&self, host: &str) -> Vec<(String, String)> {
        vec![
            ("WORDPRESS_DB_HOST".into(), host.into()),
            ("WORDPRESS_DB_USER".into(), self.user.clone()),
            ("WORDPRESS_DB_PASSWORD".into(), self.password.clone()),
            ("WORDPRESS_DB_NAME".into(), self.name.clone()),
        ]
    }

    pub async fn execute(&self, statement: &str) {
        let mut conn = self.admin.get_conn().await.expect("admin connection");
        conn.query_drop(statement).await.expect("admin statement");
    }

    pub async fn drop_all(self) {
        if let Ok(mut conn) = self.admin.get_conn().await {
            let _ = conn
                .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name))
                .await;
            let _ = conn
                .query_drop(format!("DROP USER IF EXISTS '{}'@'%'", self.user))
                .await;
            let _ = conn
                .query_drop(format!("DROP USER IF EXISTS '{}'@'localhost'", self.user))
                .await;
        }
        let _ = self.admin.disconnect().await;
    }
}

/// Borrowed pairs for `config()`.
pub fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A TCP proxy in front of the database that the test can cut off (refusing new
/// connections and dropping open ones) and restore, without stopping MariaDB for
/// the other tests.
pub struct CutProxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
}

struct ProxyState {
    accept_task: Option<JoinHandle<()>>,
    connections: Vec<JoinHandle<()>>,
}

impl CutProxy {
    pub async fn start(target: SocketAddr) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(ProxyState {
            accept_task: None,
            connections: Vec::new(),
        }));
        let proxy = CutProxy {
            addr,
            target,
            state,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let target = self.target;
        let state = self.state.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let connection = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                state
                    .lock()
                    .expect("proxy state")
                    .connections
                    .push(connection);
            }
        });
        self.state.lock().expect("proxy state").accept_task = Some(task);
    }

    /// The database "goes away": the port refuses, open connections drop.
    pub fn cut(&self) {
        let mut state = self.state.lock().expect("proxy state");
        if let Some(task) = state.accept_task.take() {
            task.abort();
        }
        for connection in state.connections.drain(..) {
            connection.abort();
        }
    }

    /// The database comes back on the same port.
    pub async fn restore(&self) {
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("re-bind the proxy port");
        self.serve(listener);
    }
}

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
