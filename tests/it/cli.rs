//! The real binary: bad configuration gives one clear line per key and exit 2
//! before any port is bound; `check`, `probe` and `config` keep their exit codes;
//! secrets stay masked.

use std::process::Command;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wp-sentinel"));
    command.env_clear().env("PATH", "/usr/bin:/bin");
    command
}

#[test]
fn a_bad_setting_is_one_clear_line_and_exit_2() {
    let output = binary()
        .args(["serve", "--listen", "127.0.0.1:1"])
        .env("WP_SENTINEL_MYSQL__INTERVAL", "often")
        .output()
        .expect("run the binary");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("mysql.interval (WP_SENTINEL_MYSQL__INTERVAL)"),
        "{stderr}"
    );
}

#[test]
fn several_bad_settings_are_all_reported() {
    let output = binary()
        .args(["serve", "--listen", "nowhere"])
        .env("WP_SENTINEL_HEAL__POLICY", "pray")
        .env("WORDPRESS_DB_HOST", "db:port")
        .output()
        .expect("run the binary");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&output.stderr).lines().count(), 3);
}

#[test]
fn a_missing_config_file_is_an_error() {
    let output = binary()
        .args(["config", "--config", "/nonexistent/sentinel.toml"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/sentinel.toml"));
}

#[test]
fn config_prints_the_effective_configuration_with_the_password_masked() {
    let output = binary()
        .arg("config")
        .env("WORDPRESS_DB_PASSWORD", "do-not-print-me")
        .env("WP_SENTINEL_HEAL__POLICY", "restore")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("policy = restore"), "{stdout}");
    assert!(!stdout.contains("do-not-print-me"), "{stdout}");
}

#[test]
fn check_exits_1_when_wordpress_is_down() {
    let output = binary()
        .args([
            "check",
            "--wordpress-url",
            "http://127.0.0.1:1/",
            "--wp-config",
            "/nonexistent/wp-config.php",
        ])
        .env("WP_SENTINEL_MYSQL__ENABLED", "false")
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("readyz: fail"));
}

#[test]
fn probe_exits_by_status() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let stand_in = runtime.block_on(crate::support::StandIn::start(
        crate::support::Behaviour::Answer(204, String::new()),
    ));
    let url = format!("http://{}/healthz", stand_in.addr);
    let ok = binary().args(["probe", &url]).output().expect("run");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    stand_in.set(crate::support::Behaviour::Answer(503, "no".into()));
    let failed = binary().args(["probe", &url]).output().expect("run");
    assert_eq!(failed.status.code(), Some(1));
    let refused = binary()
        .args(["probe", "http://127.0.0.1:1/"])
        .output()
        .expect("run");
    assert_eq!(refused.status.code(), Some(1));
    stand_in.set(crate::support::Behaviour::Hang);
    let hung = binary()
        .args(["probe", &url, "--timeout", "200ms"])
        .output()
        .expect("run");
    assert_eq!(hung.status.code(), Some(1));
    drop(runtime);
}

/// The README: "2 bad arguments". A URL the probe cannot use is one, told apart
/// from a target that does not answer (1).
#[test]
fn probe_exits_2_on_bad_arguments() {
    for bad in [
        &["probe", "not a url"][..],
        &["probe", "https://127.0.0.1/"],
        &["probe", "/healthz"],
        &["probe", "http://127.0.0.1:1/", "--timeout", "soon"],
    ] {
        let output = binary().args(bad).output().expect("run");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{bad:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn wpconfig_shows_what_it_read_and_exits_by_drift() {
    let official = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/wpconfig/docker.php"
    );
    let clean = binary()
        .args(["wpconfig", official])
        .env("WORDPRESS_DB_HOST", "db:3306")
        .env("WORDPRESS_DB_PASSWORD", "never-printed")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert_eq!(clean.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("define DB_HOST = env WORDPRESS_DB_HOST"),
        "{stdout}"
    );
    assert!(stdout.contains("no drift"), "{stdout}");

    let dir = tempfile::tempdir().expect("tempdir");
    let drifted = dir.path().join("wp-config.php");
    let text = std::fs::read_to_string(official).expect("fixture");
    let text = text.replace(
        "getenv_docker('WORDPRESS_DB_PASSWORD', 'example password')",
        "'literal-Pa55'",
    );
    std::fs::write(
        &drifted,
        text.replace("getenv_docker('WORDPRESS_DB_HOST', 'mysql')", "'hoge'"),
    )
    .expect("write");
    let output = binary()
        .arg("wpconfig")
        .arg(&drifted)
        .env("WORDPRESS_DB_HOST", "db:3306")
        .env("WORDPRESS_DB_PASSWORD", "never-printed")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "DB_HOST: expected env WORDPRESS_DB_HOST (\"db:3306\"), found literal \"hoge\""
        ),
        "{stdout}"
    );
    assert!(stdout.contains("DB_PASSWORD: changed"), "{stdout}");
    assert!(
        !stdout.contains("never-printed") && !stdout.contains("literal-Pa55"),
        "{stdout}"
    );
}

#[test]
fn sigterm_drains_and_exits_0_and_logs_hold_no_secret() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let mut child = binary()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--wordpress-url",
            "http://127.0.0.1:1/",
        ])
        .args(["--wp-config", "/nonexistent/wp-config.php"])
        .env(
            "WORDPRESS_DB_HOST",
            crate::support::mysql_addr().to_string(),
        )
        .env("WORDPRESS_DB_USER", "root")
        .env("WORDPRESS_DB_PASSWORD", "Log-Leak-Canary-42")
        .env("WP_SENTINEL_SHUTDOWN__DRAIN", "500ms")
        .env("WP_SENTINEL_MYSQL__INTERVAL", "200ms")
        .env("RUST_LOG", "debug")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start serve");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let denied = runtime.block_on(crate::support::eventually(
        std::time::Duration::from_secs(5),
        || async {
            tokio::net::TcpStream::connect(addr).await.is_ok()
                && crate::support::get(addr, "/readyz?verbose", &[])
                    .await
                    .body
                    .contains("Access denied")
        },
    ));
    assert!(denied, "the wrong password is denied by the real MariaDB");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "a clean exit after SIGTERM");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("read logs");
    assert!(
        logs.lines().all(|line| line.starts_with('{')),
        "JSON logs by default:\n{logs}"
    );
    assert!(
        logs.contains("SIGTERM") && logs.contains("draining"),
        "{logs}"
    );
    assert!(logs.contains("access_denied"), "{logs}");
    assert!(
        !logs.contains("Log-Leak-Canary-42"),
        "the password leaked into the logs:\n{logs}"
    );
}

#[test]
fn non_utf8_database_variables_are_an_error_naming_them() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"pa\xffss");
    for name in ["WORDPRESS_DB_PASSWORD", "WORDPRESS_DB_HOST"] {
        let output = binary()
            .args(["config"])
            .env(name, bad)
            .output()
            .expect("run the binary");
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("{name}: not valid UTF-8")),
            "{stderr}"
        );
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains("pa"),
            "nothing printed"
        );
    }
}

#[test]
fn a_log_level_that_is_no_level_stops_start_up() {
    let output = binary()
        .args(["serve", "--listen", "127.0.0.1:1"])
        .env("WP_SENTINEL_LOG__LEVEL", "warning")
        .output()
        .expect("run the binary");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("log.level"), "{stderr}");
}

/// Canaries for secrets by value: pins whose names look secret, and the password
/// under another name, in `wp-sentinel config` and `wp-sentinel wpconfig`.
#[test]
fn secrets_are_masked_by_value_and_by_look_in_the_cli() {
    let canary = "Canary-Value-9f3e";
    let output = binary()
        .arg("config")
        .env("WORDPRESS_DB_PASSWORD", canary)
        .env("WORDPRESS_DB_USER", canary)
        .env(
            "WP_SENTINEL_WPCONFIG__PINS__MY_API_SECRET",
            "canary-pin-secret",
        )
        .env(
            "WP_SENTINEL_WPCONFIG__PINS__WP_REDIS_AUTH",
            "canary-redis-auth",
        )
        .env(
            "WP_SENTINEL_WPCONFIG__PINS__WPMDB_LICENCE",
            "canary-licence",
        )
        .env("WP_SENTINEL_WPCONFIG__PINS__WP_DEBUG", "false")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for leaked in [
        canary,
        "canary-pin-secret",
        "canary-redis-auth",
        "canary-licence",
    ] {
        assert!(!stdout.contains(leaked), "{leaked} printed: {stdout}");
    }
    assert!(stdout.contains("MY_API_SECRET = ***"), "{stdout}");
    assert!(stdout.contains("WP_DEBUG"), "{stdout}");

    let official = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/wpconfig/docker.php"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let drifted = dir.path().join("wp-config.php");
    let text = std::fs::read_to_string(official).expect("fixture");
    std::fs::write(
        &drifted,
        text.replace(
            "getenv_docker('WORDPRESS_DB_HOST', 'mysql')",
            &format!("'{canary}'"),
        ),
    )
    .expect("write");
    let output = binary()
        .arg("wpconfig")
        .arg(&drifted)
        .env("WORDPRESS_DB_HOST", "db:3306")
        .env("WORDPRESS_DB_PASSWORD", canary)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("DB_HOST"), "{stdout}");
    assert!(!stdout.contains(canary), "{stdout}");
}
