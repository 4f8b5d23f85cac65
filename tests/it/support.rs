//! Test support: the real sidecar on port 0, the real MariaDB (a user and database
//! per test), and a TCP proxy that can cut the database off without stopping it for
//! other tests. The HTTP client, the stand-in WordPress, the silent listener and the
//! waits come from the test kit (`testkit`), re-exported here.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mysql_async::prelude::Queryable;
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

    /// Whether `path` answers `status` at every poll (every 50 ms) for `how_long`:
    /// "never failed during", not one read after a sleep.
    pub async fn stays(&self, path: &str, status: u16, how_long: Duration) -> bool {
        testkit::wait::stays(
            how_long,
            || async move { self.get(path).await.status == status },
        )
        .await
    }

    /// GET as the kubelet's prober sends it (its `User-Agent` counts for the healer).
    pub async fn get_as_kubelet(&self, path: &str) -> Response {
        get(self.addr, path, &[("User-Agent", KUBE_PROBE)]).await
    }
}

pub use testkit::http::{Response, KUBE_PROBE};
pub use testkit::standin::*;
pub use testkit::wait::eventually;

/// GET over a new connection with `Connection: close`, as the kubelet does, but as a
/// person's client (`User-Agent` not the kubelet's unless `headers` says so: the
/// healer counts the kubelet's failed liveness probes as restart orders). A sidecar
/// that does not answer fails the test here.
pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    testkit::http::get(addr, path, headers)
        .await
        .unwrap_or_else(|e| panic!("GET {path} on the sidecar: {e}"))
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
