//! TLS to MySQL, as managed services require it: a MariaDB of the test's own with a
//! CA and a server certificate made by the test (openssl), and a user that must use
//! TLS (`REQUIRE SSL`). The check passes only with TLS on, verifies the CA and the
//! host name when asked, and fails with a TLS reason against a foreign CA.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wp_sentinel::checks::mysql::MysqlCheck;
use wp_sentinel::verdict::Class;

use crate::support::{config, pairs, TestDatabase};

/// A private mariadbd with TLS, stopped when dropped.
struct TlsMariaDb {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for TlsMariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA, and a certificate for 127.0.0.1 and localhost signed by it.
fn make_certificates(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = dir.join(format!("{name}-ca.key"));
    let ca = dir.join(format!("{name}-ca.pem"));
    let key = dir.join(format!("{name}-server.key"));
    let csr = dir.join(format!("{name}-server.csr"));
    let cert = dir.join(format!("{name}-server.pem"));
    let ext = dir.join(format!("{name}-ext.cnf"));
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext file");
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        ])
        .arg(format!("/CN=wp-sentinel test CA {name}"))
        .arg("-keyout")
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca));
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&csr));
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(&ca)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-out")
        .arg(&cert)
        .arg("-extfile")
        .arg(&ext));
    (ca, cert, key)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl TlsMariaDb {
    fn start() -> TlsMariaDb {
        let dir = tempfile::Builder::new()
            .prefix("wps-tls-")
            .tempdir()
            .expect("tempdir");
        let (ca, cert, key) = make_certificates(dir.path(), "server");
        let port = free_port();
        let data = dir.path().join("data");
        let cnf = dir.path().join("my.cnf");
        let socket = dir.path().join("mysqld.sock");
        std::fs::write(
            &cnf,
            format!(
                "[mysqld]\nuser = mysql\ndatadir = {}\nsocket = {}\nport = {port}\nbind-address = 127.0.0.1\n\
                 skip-name-resolve\ninnodb_buffer_pool_size = 16M\nssl_ca = {}\nssl_cert = {}\nssl_key = {}\n\
                 pid-file = {}\nlog-error = {}\n",
                data.display(),
                socket.display(),
                ca.display(),
                cert.display(),
                key.display(),
                dir.path().join("mysqld.pid").display(),
                dir.path().join("error.log").display()
            ),
        )
        .expect("my.cnf");
        run(Command::new("chown")
            .arg("-R")
            .arg("mysql:mysql")
            .arg(dir.path()));
        run(Command::new("chmod").arg("755").arg(dir.path()));
        run(Command::new("mariadb-install-db")
            .arg(format!("--defaults-file={}", cnf.display()))
            .args([
                "--user=mysql",
                "--skip-test-db",
                "--auth-root-authentication-method=socket",
            ])
            .stdout(Stdio::null()));
        let child = Command::new("/usr/sbin/mariadbd")
            .arg(format!("--defaults-file={}", cnf.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd (is mariadb-server installed? scripts/test.sh installs it)");
        let server = TlsMariaDb { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "own MariaDB did not start: see {}",
                server.dir.path().join("error.log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn admin_url(&self) -> String {
        let socket = self
            .dir
            .path()
            .join("mysqld.sock")
            .display()
            .to_string()
            .replace('/', "%2F");
        format!("mysql://root@localhost/mysql?socket={socket}")
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("server-ca.pem")
    }
}

async fn check(env: &[(String, String)], mysql: &str) -> (Class, String) {
    let config = config(&format!("[mysql]\ntimeout = \"3s\"\n{mysql}"), &pairs(env));
    let check = MysqlCheck::new(&config.mysql);
    let observation = check.run().await;
    check.disconnect().await;
    (observation.class, observation.message)
}

#[tokio::test]
async fn a_tls_only_user_passes_only_with_tls_and_verification_works() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = tokio::task::spawn_blocking(TlsMariaDb::start)
        .await
        .expect("start TLS MariaDB");
    let db = TestDatabase::create_on(&server.admin_url(), "tls", "REQUIRE SSL").await;
    let by_ip = db.env(&format!("127.0.0.1:{}", server.port));
    let by_name = db.env(&format!("localhost:{}", server.port));
    let ca = server.ca().display().to_string();

    let (class, message) = check(&by_ip, "tls_mode = \"disabled\"").await;
    assert_eq!(
        class,
        Class::AccessDenied,
        "without TLS the REQUIRE SSL user is refused: {message}"
    );
    for mode in ["preferred", "required"] {
        let (class, message) = check(&by_ip, &format!("tls_mode = \"{mode}\"")).await;
        assert_eq!(class, Class::Ok, "{mode}: {message}");
    }
    let (class, message) = check(
        &by_ip,
        &format!("tls_mode = \"verify-ca\"\ntls_ca = \"{ca}\""),
    )
    .await;
    assert_eq!(class, Class::Ok, "verify-ca: {message}");
    let (class, message) = check(
        &by_name,
        &format!("tls_mode = \"verify-identity\"\ntls_ca = \"{ca}\""),
    )
    .await;
    assert_eq!(class, Class::Ok, "verify-identity by name: {message}");
    let (class, message) = check(
        &by_ip,
        &format!("tls_mode = \"verify-identity\"\ntls_ca = \"{ca}\""),
    )
    .await;
    assert_eq!(class, Class::Ok, "verify-identity by IP: {message}");

    // A CA that did not sign the server's certificate.
    let foreign = tempfile::tempdir().expect("tempdir");
    let (foreign_ca, _, _) = make_certificates(foreign.path(), "foreign");
    let foreign_ca = foreign_ca.display().to_string();
    let (class, message) = check(
        &by_ip,
        &format!("tls_mode = \"verify-ca\"\ntls_ca = \"{foreign_ca}\""),
    )
    .await;
    assert_eq!(
        class,
        Class::Tls,
        "a foreign CA is a TLS failure: {message}"
    );
    // The server's certificate comes from a second CA the client does not name: the
    // verify modes trust the named CA alone (no compiled-in roots beside it; the
    // unit test in checks/mysql.rs pins that), so both reject it, by IP and by name.
    for (env, mode) in [
        (&by_ip, "verify-identity"),
        (&by_name, "verify-identity"),
        (&by_name, "verify-ca"),
    ] {
        let (class, message) = check(
            env,
            &format!("tls_mode = \"{mode}\"\ntls_ca = \"{foreign_ca}\""),
        )
        .await;
        assert_eq!(class, Class::Tls, "{mode} against a second CA: {message}");
    }
    db.drop_all().await;
}
