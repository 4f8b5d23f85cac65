//! The real `wp-sentinel serve` binary as the pod's sidecar container: a child process
//! configured like the manifests configure it (the `WORDPRESS_*` variables of the
//! environment, flags for the listen address, WordPress URL and wp-config.php path)
//! with its check intervals scaled like the emulator's probes, and readable text logs
//! in the scenario's directory (every instance appends to `sidecar.log`). The kubelet
//! emulator starts, signals and restarts it as a [`ContainerRuntime`]; every instance
//! listens on the same address, as a container in the pod's network namespace does.
//! Dropping it stops the running instance (SIGTERM, then SIGKILL), also on a panic.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::fixtures::millis;
use crate::http::http_get;
use crate::kubelet::{ContainerRuntime, Signal};
use crate::wait;
use crate::wpenv::{free_port, WpEnv};

pub struct Sidecar {
    binary: PathBuf,
    /// Arguments after `serve`, and the environment, of every instance.
    args: Vec<String>,
    vars: Vec<(String, String)>,
    /// Settings added to the instances started from now on (a test's lever).
    later: Mutex<Vec<(String, String)>>,
    child: Mutex<Option<Child>>,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Sidecar {
    /// A sidecar for `env`, not started (the kubelet starts it). The defaults'
    /// intervals (5 s for the light WordPress check and MySQL, 10 s for the file) and
    /// jitter are multiplied by `scale`; the deep WordPress check runs at the scaled 5 s
    /// too (its default is a minute; it also runs at once on every change). The timeouts stay as configured (2 s): WordPress on a
    /// busy machine must not look wedged. `extra` settings come last and win.
    pub fn new(binary: &Path, env: &WpEnv, scale: f64, extra: &[(&str, &str)]) -> Sidecar {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = env.dir.join("sidecar.log");
        File::create(&log).expect("create sidecar.log");
        let interval = millis(5.0, scale);
        let jitter = millis(0.5, scale);
        let settings = [
            ("WP_SENTINEL_LOG__FORMAT", "text".to_string()),
            ("WP_SENTINEL_WORDPRESS__INTERVAL", interval.clone()),
            ("WP_SENTINEL_WORDPRESS__JITTER", jitter.clone()),
            ("WP_SENTINEL_WORDPRESS_LIGHT__INTERVAL", interval.clone()),
            ("WP_SENTINEL_WORDPRESS_LIGHT__JITTER", jitter.clone()),
            ("WP_SENTINEL_MYSQL__INTERVAL", interval),
            ("WP_SENTINEL_MYSQL__JITTER", jitter),
            ("WP_SENTINEL_WPCONFIG__INTERVAL", millis(10.0, scale)),
            ("WP_SENTINEL_SHUTDOWN__DRAIN", "0s".to_string()),
            ("WP_SENTINEL_SHUTDOWN__DEADLINE", "1s".to_string()),
        ];
        let mut vars: Vec<(String, String)> = vec![(
            "PATH".to_string(),
            "/usr/local/bin:/usr/bin:/bin".to_string(),
        )];
        vars.extend(env.wordpress_vars());
        vars.extend(settings.iter().map(|(k, v)| (k.to_string(), v.clone())));
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Sidecar {
            binary: binary.to_path_buf(),
            args: vec![
                "--listen".into(),
                addr.to_string(),
                "--wordpress-url".into(),
                env.url("/"),
                "--wp-config".into(),
                env.wp_config().to_string_lossy().into_owned(),
            ],
            vars,
            later: Mutex::new(Vec::new()),
            child: Mutex::new(None),
            addr,
            log,
        }
    }

    /// `new`, started, and listening: for tests without the emulator.
    pub fn start(binary: &Path, env: &WpEnv, scale: f64, extra: &[(&str, &str)]) -> Sidecar {
        let sidecar = Sidecar::new(binary, env, scale, extra);
        sidecar
            .spawn(0)
            .unwrap_or_else(|e| panic!("cannot start wp-sentinel: {e}"));
        sidecar.wait_listening();
        sidecar
    }

    /// Settings for every instance started from now on (the current one keeps its).
    pub fn set_for_next_starts(&self, settings: &[(&str, &str)]) {
        let mut later = self.later.lock().unwrap_or_else(|p| p.into_inner());
        later.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    }

    fn spawn(&self, instance: u32) -> Result<(), String> {
        let mut out = OpenOptions::new()
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("open sidecar.log: {e}"))?;
        let _ = writeln!(out, "=== wp-sentinel instance #{instance} ===");
        let err = out.try_clone().map_err(|e| format!("clone the log: {e}"))?;
        let later = self.later.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let child = Command::new(&self.binary)
            .arg("serve")
            .args(&self.args)
            .env_clear()
            .envs(self.vars.iter().cloned())
            .envs(later)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        *self.child.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
        Ok(())
    }

    /// The running instance's process id.
    pub fn pid(&self) -> Option<u32> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        match child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(None)) => child.as_ref().map(Child::id),
            _ => None,
        }
    }

    /// `kill -SIGNAL` to the running instance (`STOP`, `CONT`, `KILL`, `TERM`).
    pub fn send(&self, signal: &str) -> Result<(), String> {
        let pid = self.pid().ok_or("wp-sentinel is not running")?;
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .map_err(|e| format!("kill: {e}"))?;
        status
            .success()
            .then_some(())
            .ok_or_else(|| format!("kill -{signal} {pid}: {status}"))
    }

    fn wait_listening(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if self.pid().is_none() {
                panic!("wp-sentinel exited at start:\n{}", self.log_tail(30));
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

    /// Waits until `path` answers `status`; the body of that answer. A restarted
    /// instance may not listen yet: refused is "not yet".
    pub async fn wait_for(
        &self,
        path: &str,
        status: u16,
        limit: Duration,
    ) -> Result<String, String> {
        let every = Duration::from_millis(50);
        wait::answers(self.addr, path, status, limit, every)
            .await
            .map_err(|e| format!("sidecar: {e}\n{}", self.log_tail(20)))
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl ContainerRuntime for Sidecar {
    fn start(&self, instance: u32) -> Result<(), String> {
        self.spawn(instance)
    }

    fn signal(&self, _instance: u32, signal: Signal) -> Result<(), String> {
        self.send(match signal {
            Signal::Stop => "TERM",
            Signal::Kill => "KILL",
        })
    }

    fn running(&self, _instance: u32) -> bool {
        self.pid().is_some()
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let Some(mut child) = self.child.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        // A stopped process could not act on SIGTERM.
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(child.id().to_string())
            .status();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
