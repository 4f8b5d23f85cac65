//! The real `wp-sentinel serve` binary as a child process, configured like the
//! manifests configure it (the `WORDPRESS_*` variables of the environment, flags for
//! the listen address, WordPress URL and wp-config.php path) with its check intervals
//! scaled like the emulator's probes, and readable text logs in the scenario's
//! directory. Dropping it stops it (SIGTERM, then SIGKILL), also on a panic.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{free_port, http_get, WpEnv};

pub struct Sidecar {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

/// `5s` scaled, as the configuration reads it (`500ms`).
fn millis(seconds: f64, scale: f64) -> String {
    format!("{}ms", ((seconds * scale * 1000.0).round() as u64).max(1))
}

impl Sidecar {
    /// Starts `binary` against `env`. The defaults' intervals (5 s for WordPress and
    /// MySQL, 10 s for the file) and jitter are multiplied by `scale`; the timeouts
    /// stay as configured (2 s): WordPress on a busy machine must not look wedged.
    /// `extra` settings come last and win.
    pub fn start(binary: &Path, env: &WpEnv, scale: f64, extra: &[(&str, &str)]) -> Sidecar {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = env.dir.join("sidecar.log");
        let out = File::create(&log).expect("create sidecar.log");
        let err = out.try_clone().expect("clone the log handle");
        let interval = millis(5.0, scale);
        let jitter = millis(0.5, scale);
        let settings = [
            ("WP_SENTINEL_LOG__FORMAT", "text".to_string()),
            ("WP_SENTINEL_WORDPRESS__INTERVAL", interval.clone()),
            ("WP_SENTINEL_WORDPRESS__JITTER", jitter.clone()),
            ("WP_SENTINEL_MYSQL__INTERVAL", interval),
            ("WP_SENTINEL_MYSQL__JITTER", jitter),
            ("WP_SENTINEL_WPCONFIG__INTERVAL", millis(10.0, scale)),
            ("WP_SENTINEL_SHUTDOWN__DRAIN", "0s".to_string()),
            ("WP_SENTINEL_SHUTDOWN__DEADLINE", "1s".to_string()),
        ];
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--wordpress-url")
            .arg(env.url("/"))
            .arg("--wp-config")
            .arg(env.wp_config())
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .envs(env.wordpress_vars())
            .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut sidecar = Sidecar { child, addr, log };
        sidecar.wait_listening();
        sidecar
    }

    fn wait_listening(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "wp-sentinel exited at start ({status}):\n{}",
                    self.log_tail(30)
                );
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "wp-sentinel did not listen on {} within 15 s:\n{}",
            self.addr,
            self.log_tail(30)
        );
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path)
            .await
            .unwrap_or_else(|e| panic!("sidecar {path}: {e}\n{}", self.log_tail(30)))
    }

    /// Waits until `path` answers `status`; the body of that answer.
    pub async fn wait_for(
        &self,
        path: &str,
        status: u16,
        limit: Duration,
    ) -> Result<String, String> {
        let start = Instant::now();
        let mut last = (0, String::new());
        while start.elapsed() < limit {
            last = self.get(path).await;
            if last.0 == status {
                return Ok(last.1);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "sidecar {path} did not answer {status} within {limit:?}; last {} {}\n{}",
            last.0,
            last.1,
            self.log_tail(20)
        ))
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
