//! A read stuck on a hung volume cannot hold the process,
//! on the real binary: `serve` watches a `wp-config.php` on a FUSE volume
//! (`hung_volume.py`) that stops answering, as a network share does when its
//! server goes away. The check's read blocks in the kernel; the probes keep being
//! answered, `/readyz` with a `timeout` verdict naming the stuck read; SIGTERM then ends the process with its
//! documented exit code 0 while the read is still stuck (the volume is never
//! released before the exit is seen).
//!
//! Needs root, `/dev/fuse` and Debian's `python3-fusepy` (installed by
//! `scripts/test.sh`); without them the test fails and says so.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{eventually, get, Behaviour, StandIn};

const OFFICIAL: &str = include_str!("../fixtures/wpconfig/docker.php");
/// Each wait is for a cause (a mount, a verdict, an exit); the limit only ends a
/// broken run.
const CAUSE_WAIT: Duration = Duration::from_secs(30);

/// The FUSE volume, its daemon and the reader that hangs it; unmounted on drop.
struct Volume {
    _dir: tempfile::TempDir,
    mount: PathBuf,
    daemon: Child,
    lines: mpsc::Receiver<String>,
    gate: Option<Child>,
}

impl Volume {
    fn mount() -> Volume {
        let dir = tempfile::tempdir().expect("tempdir");
        let mount = dir.path().join("html");
        std::fs::create_dir(&mount).expect("mountpoint");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/hung_volume.py");
        let source = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/wpconfig/docker.php"
        );
        let mut daemon = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(&mount)
            .arg(source)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start /usr/bin/python3 (Debian's python3 with python3-fusepy)");
        let stdout = daemon.stdout.take().expect("daemon stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut volume = Volume {
            _dir: dir,
            mount,
            daemon,
            lines,
            gate: None,
        };
        let deadline = Instant::now() + CAUSE_WAIT;
        while std::fs::read_to_string(volume.wp_config()).ok().as_deref() != Some(OFFICIAL) {
            if let Ok(Some(status)) = volume.daemon.try_wait() {
                panic!("the FUSE daemon exited ({status}): is python3-fusepy installed, /dev/fuse there, and are we root?");
            }
            assert!(
                Instant::now() < deadline,
                "the FUSE volume never served wp-config.php"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        volume
    }

    fn wp_config(&self) -> PathBuf {
        self.mount.join("wp-config.php")
    }

    /// From now on no request to the volume is answered.
    fn hang(&mut self) {
        self.gate = Some(
            Command::new("cat")
                .arg(self.mount.join("gate"))
                .stdout(Stdio::null())
                // It ends with "connection aborted" when the daemon is killed.
                .stderr(Stdio::null())
                .spawn()
                .expect("cat gate"),
        );
        let line = self
            .lines
            .recv_timeout(CAUSE_WAIT)
            .expect("the daemon says hung");
        assert_eq!(line, "hung");
    }

    /// The volume is still hung: its daemon and the read that hung it are alive.
    fn still_hung(&mut self) -> bool {
        let daemon = matches!(self.daemon.try_wait(), Ok(None));
        let gate = match &mut self.gate {
            Some(gate) => matches!(gate.try_wait(), Ok(None)),
            None => false,
        };
        daemon && gate
    }
}

impl Drop for Volume {
    fn drop(&mut self) {
        // Killing the daemon fails every request still queued; then the mount goes.
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        if let Some(gate) = &mut self.gate {
            let _ = gate.kill();
            let _ = gate.wait();
        }
    }
}

/// The sidecar process, killed if the test ends early.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(addr: SocketAddr, wordpress: &str, wp_config: &Path) -> Serve {
    let child = Command::new(env!("CARGO_BIN_EXE_wp-sentinel"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(["serve", "--listen", &addr.to_string()])
        .args(["--wordpress-url", wordpress])
        .arg("--wp-config")
        .arg(wp_config)
        .env("WORDPRESS_DB_HOST", "db.example:3306")
        .env("WORDPRESS_DB_USER", "wp")
        .env("WORDPRESS_DB_PASSWORD", "Hung-Volume-Pa55word")
        .env("WORDPRESS_DB_NAME", "wordpress")
        .env("WP_SENTINEL_MYSQL__ENABLED", "false")
        .env("WP_SENTINEL_WPCONFIG__INTERVAL", "200ms")
        .env("WP_SENTINEL_WPCONFIG__TIMEOUT", "300ms")
        .env("WP_SENTINEL_SHUTDOWN__DRAIN", "100ms")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    Serve(child)
}

/// The wpconfig entry of `/readyz` in the health+json format: (reason, output).
async fn wpconfig_verdict(addr: SocketAddr) -> (String, String) {
    let answer = get(addr, "/readyz?format=json", &[]).await;
    assert!(
        answer.status == 200 || answer.status == 503,
        "a probe answer: {answer:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&answer.body).expect("health+json");
    let entry = &body["checks"]["wpconfig"][0];
    let text = |key: &str| entry[key].as_str().unwrap_or_default().to_string();
    (text("reason"), text("output"))
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_stuck_on_a_hung_volume_is_a_timeout_and_cannot_hold_sigterm() {
    let mut volume = Volume::mount();
    let wordpress = StandIn::start(Behaviour::Answer(200, "ok".into())).await;
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let mut sidecar = serve(addr, &wordpress.url(), &volume.wp_config());
    let listening = eventually(CAUSE_WAIT, || async {
        tokio::net::TcpStream::connect(addr).await.is_ok()
    })
    .await;
    assert!(listening, "serve listens on {addr}");
    let ok = eventually(CAUSE_WAIT, || async {
        wpconfig_verdict(addr).await.0 == "ok"
    })
    .await;
    assert!(
        ok,
        "the volume's file is read: {:?}",
        wpconfig_verdict(addr).await
    );

    volume.hang();
    let timed_out = eventually(CAUSE_WAIT, || async {
        wpconfig_verdict(addr).await.0 == "timeout"
    })
    .await;
    assert!(
        timed_out,
        "a timeout verdict: {:?}",
        wpconfig_verdict(addr).await
    );
    // The read stays stuck and the probes keep being answered with its verdict.
    for _ in 0..5 {
        let (reason, output) = wpconfig_verdict(addr).await;
        assert_eq!(reason, "timeout", "{output}");
        assert!(
            output.contains("did not finish") || output.contains("still stuck"),
            "{output}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(volume.still_hung(), "the volume is hung");

    let pid = sidecar.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + CAUSE_WAIT;
    let status = loop {
        if let Some(status) = sidecar.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "serve still alive after SIGTERM with a read stuck on the volume"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0), "the clean exit after SIGTERM");
    assert!(
        volume.still_hung(),
        "the exit came while the read was still stuck, not after the volume came back"
    );
}
