//! TLS to MySQL, as managed services require it: a MariaDB of the test's own (wpenv.sh's private instance) with a
//! CA and a server certificate made by the test (openssl), and a user that must use
//! TLS (`REQUIRE SSL`). The check passes only with TLS on, verifies the CA and the
//! host name when asked, and fails with a TLS reason against a foreign CA.

use std::path::{Path, PathBuf};
use std::process::Command;

use wp_sentinel::checks::mysql::MysqlCheck;
use wp_sentinel::verdict::Class;

use crate::support::{config, pairs, TestDatabase};

/// A private MariaDB with TLS: `scripts/wpenv.sh db-up`'s own instance (the one
/// bootstrap of a private mariadbd in the repository), stopped by `down` when dropped.
struct TlsMariaDb {
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for TlsMariaDb {
    fn drop(&mut self) {
        let _ = self.wpenv("down");
    }
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
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

impl TlsMariaDb {
    fn start() -> TlsMariaDb {
        let dir = tempfile::Builder::new()
            .prefix("wps-tls-")
            .tempdir()
            .expect("tempdir");
        let (_, cert, key) = make_certificates(dir.path(), "server");
        // mariadbd runs as mysql: it must reach the state directory and read the key.
        run(Command::new("chmod").arg("755").arg(dir.path()));
        run(Command::new("chown")
            .arg("mysql:mysql")
            .arg(&cert)
            .arg(&key));
        let server = TlsMariaDb {
            dir,
            port: testkit::wpenv::free_port(),
        };
        let mut db_up = server.wpenv_command("db-up");
        db_up
            .env("WPENV_OWN_DB_SSL_CERT", &cert)
            .env("WPENV_OWN_DB_SSL_KEY", &key);
        run(&mut db_up);
        server
    }

    fn wpenv_command(&self, command: &str) -> Command {
        let mut wpenv = Command::new("bash");
        wpenv
            .arg(testkit::wpenv::repo().join("scripts/wpenv.sh"))
            .arg(command)
            .env("WPENV_DIR", self.state())
            .env("WPENV_DB_MODE", "own")
            .env("WPENV_OWN_DB_PORT", self.port.to_string());
        wpenv
    }

    fn wpenv(&self, command: &str) -> std::io::Result<std::process::Output> {
        self.wpenv_command(command).output()
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn admin_url(&self) -> String {
        let socket = self
            .state()
            .join("mysql/mariadbd.sock")
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
