//! The Service in front of the pods: Debian's HAProxy (installed by
//! `scripts/images.sh setup`), one process per scenario on 127.0.0.1, driven only
//! through its runtime API on a socket in the scenario's own temporary directory.
//!
//! It stands for a ClusterIP Service and kube-proxy, so it is an L4 balancer
//! (`mode tcp`, round robin) and does nothing kube-proxy would not do:
//! - no health checks (no `check` on any server): which pods get traffic is only
//!   what the endpoints controller (`fleet.rs`) sets, exactly as kube-proxy follows
//!   the EndpointSlices and never probes a pod itself. A health check here would
//!   hide the very gaps the scenarios measure;
//! - no retries and no redispatch (`retries 0`): a connection refused by a pod that
//!   stopped listening reaches the client as a failure, as a DNAT to that pod would;
//! - a server taken out (`maint`) gets no new connection, and the connections it
//!   has are left to finish (kube-proxy leaves established conntrack entries alone).
//!
//! Every pod has a slot (`server-template pod 1-N`, all disabled at first); the
//! controller points a slot at the pod's address and sets it `ready` or `maint`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Haproxy {
    child: Child,
    socket: PathBuf,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// Starts HAProxy listening on `addr` with `slots` server slots, all out.
    pub fn start(addr: SocketAddr, slots: usize) -> Result<Haproxy, String> {
        let dir = tempfile::Builder::new()
            .prefix("wps-haproxy-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let socket = dir.path().join("admin.sock");
        let config = dir.path().join("haproxy.cfg");
        let text = format!(
            "global\n\
             \x20   stats socket {socket} mode 600 level admin\n\
             \x20   maxconn 4096\n\
             defaults\n\
             \x20   mode tcp\n\
             \x20   timeout connect 2s\n\
             \x20   timeout client 20s\n\
             \x20   timeout server 20s\n\
             \x20   retries 0\n\
             frontend service\n\
             \x20   bind {addr}\n\
             \x20   default_backend pods\n\
             backend pods\n\
             \x20   balance roundrobin\n\
             \x20   server-template pod 1-{slots} 127.0.0.1:9 disabled\n",
            socket = socket.display(),
        );
        std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
        let log = std::fs::File::create(dir.path().join("haproxy.log"))
            .map_err(|e| format!("haproxy.log: {e}"))?;
        // setpriv --pdeathsig: HAProxy goes with the test process, also when that is
        // killed without unwinding (a nextest timeout).
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--", "haproxy", "-db"])
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                format!("cannot run haproxy (scripts/images.sh setup installs it): {e}")
            })?;
        let mut proxy = Haproxy {
            child,
            socket,
            addr,
            _dir: dir,
        };
        let start = Instant::now();
        loop {
            if proxy.command("show info").is_ok() {
                return Ok(proxy);
            }
            if let Ok(Some(status)) = proxy.child.try_wait() {
                let log = std::fs::read_to_string(proxy._dir.path().join("haproxy.log"))
                    .unwrap_or_default();
                return Err(format!("haproxy exited at start ({status}): {log}"));
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err("haproxy: no runtime API within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One runtime API command; its answer. An answer that is not empty and not
    /// "show" output is an error for the `set` commands, checked by the callers.
    pub fn command(&self, line: &str) -> Result<String, String> {
        let mut stream =
            UnixStream::connect(&self.socket).map_err(|e| format!("runtime API: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(format!("{line}\n").as_bytes())
            .map_err(|e| format!("runtime API: {e}"))?;
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .map_err(|e| format!("runtime API: {e}"))?;
        Ok(answer.trim().to_string())
    }

    fn set(&self, line: &str) -> Result<(), String> {
        let answer = self.command(line)?;
        // `set server … addr` answers "IP changed from …" or "no need to change …".
        if answer.is_empty() || answer.contains("changed") || answer.contains("no need") {
            Ok(())
        } else {
            Err(format!("haproxy: {line}: {answer}"))
        }
    }

    /// Points slot `slot` (1-based) at `addr`, still out of rotation.
    pub fn assign(&self, slot: usize, addr: SocketAddr) -> Result<(), String> {
        self.set(&format!("set server pods/pod{slot} state maint"))?;
        self.set(&format!(
            "set server pods/pod{slot} addr {} port {}",
            addr.ip(),
            addr.port()
        ))
    }

    /// Puts slot `slot` in rotation (`ready`) or takes it out (`maint`).
    pub fn enable(&self, slot: usize, on: bool) -> Result<(), String> {
        let state = if on { "ready" } else { "maint" };
        self.set(&format!("set server pods/pod{slot} state {state}"))
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
