//! The real environment of a scenario, shared by the tests and the demo:
//! `scripts/wpenv.sh` (a real WordPress served by `php -S` and a real MariaDB) under a
//! state directory of the scenario's own, the PHP server as the emulator's "WordPress
//! container", PHP's request log (what WordPress received).
//!
//! Everything it starts is stopped when the [`WpEnv`] is dropped (`wpenv.sh down`),
//! also on a panic. It never touches the machine's MariaDB beyond what `wpenv.sh`
//! does (a database and a user of the scenario's own).

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::kubelet::{ContainerRuntime, Signal};

/// The checkout: the kit lives in its `testkit/` folder.
pub fn repo() -> PathBuf {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
    kit.parent().unwrap_or(kit).to_path_buf()
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port on 127.0.0.1")
}

/// A short stable hash: the database and user names of two state directories (two
/// checkouts running the suite) must differ on the machine's MariaDB.
fn short_hash(text: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    format!("{:06x}", hash & 0xff_ffff)
}

/// The web server of "the WordPress container": Apache prefork + mod_php as the
/// official image runs it, unless `WP_SENTINEL_E2E_SERVER=php` asks for `php -S`.
pub fn server_mode() -> String {
    std::env::var("WP_SENTINEL_E2E_SERVER").unwrap_or_else(|_| "apache".to_string())
}

/// A scenario's WordPress and MariaDB.
pub struct WpEnv {
    pub name: String,
    pub dir: PathBuf,
    /// The `WPENV_*` settings passed to every `wpenv.sh` call.
    settings: Vec<(String, String)>,
    /// `<state>/env`, written by `wpenv.sh up`.
    vars: BTreeMap<String, String>,
}

impl WpEnv {
    /// `wpenv.sh up` under `root/name`, on fresh ports; with `own_database`, a private
    /// MariaDB the scenario may stop. Panics with what to do when it fails.
    pub fn up(name: &str, root: &Path, own_database: bool) -> WpEnv {
        let dir = root.join(name);
        let db = format!("e2e_{name}_{}", short_hash(&dir.to_string_lossy()));
        let mut settings = vec![
            ("WPENV_DIR".to_string(), dir.to_string_lossy().into_owned()),
            ("WPENV_PORT".to_string(), free_port().to_string()),
            ("WPENV_DB_NAME".to_string(), db.clone()),
            ("WPENV_DB_USER".to_string(), db),
            ("WPENV_PHP_WORKERS".to_string(), "4".to_string()),
            ("WPENV_SERVER".to_string(), server_mode()),
        ];
        if own_database {
            settings.push(("WPENV_DB_MODE".into(), "own".into()));
            settings.push(("WPENV_OWN_DB_PORT".into(), free_port().to_string()));
        } else {
            settings.push(("WPENV_DB_MODE".into(), "machine".into()));
        }
        let mut env = WpEnv {
            name: name.to_string(),
            dir,
            settings,
            vars: BTreeMap::new(),
        };
        // Whatever an earlier run left behind in this state directory (a test killed
        // on a timeout) would still listen on its old ports.
        let _ = env.wpenv(&["down"]);
        if let Err(error) = env.wpenv(&["up"]) {
            // Whatever came up halfway is stopped by the drop.
            panic!(
                "setup of scenario {name:?} failed: scripts/wpenv.sh up:\n{error}\n\
                 The end-to-end tests need root, Debian's packages (`scripts/wpenv.sh install`) \
                 and a MariaDB: the machine's on 127.0.0.1:3306 (`WPENV_DB_MODE=machine \
                 scripts/wpenv.sh db-up` starts it) or a private one. `scripts/test.sh` \
                 does all of it."
            );
        }
        let text = std::fs::read_to_string(env.dir.join("env"))
            .unwrap_or_else(|e| panic!("{}/env after wpenv.sh up: {e}", env.dir.display()));
        env.vars = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env
    }

    /// Runs `scripts/wpenv.sh ARGS` with this scenario's settings.
    pub fn wpenv(&self, args: &[&str]) -> Result<String, String> {
        let output = Command::new("bash")
            .arg(repo().join("scripts/wpenv.sh"))
            .args(args)
            .envs(self.settings.iter().map(|(k, v)| (k, v)))
            .output()
            .map_err(|e| format!("cannot run scripts/wpenv.sh: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if output.status.success() {
            Ok(text)
        } else {
            Err(format!(
                "wpenv.sh {} ({}): {text}",
                args.join(" "),
                output.status
            ))
        }
    }

    pub fn var(&self, key: &str) -> String {
        self.vars
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("{key} missing from {}/env", self.dir.display()))
    }

    /// For the drop, which must not panic (the environment may be half up).
    fn try_var(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// The `WORDPRESS_*` variables both containers get (`envFrom`).
    pub fn wordpress_vars(&self) -> Vec<(String, String)> {
        self.vars
            .iter()
            .filter(|(k, _)| k.starts_with("WORDPRESS_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn php_addr(&self) -> SocketAddr {
        let port: u16 = self
            .var("WPENV_PORT")
            .parse()
            .expect("WPENV_PORT is a port");
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.php_addr())
    }

    pub fn wp_config(&self) -> PathBuf {
        PathBuf::from(self.var("WPENV_WP_CONFIG"))
    }

    /// What the image's entrypoint writes (and the golden copy).
    pub fn template(&self) -> PathBuf {
        PathBuf::from(self.var("WPENV_WP_CONFIG_TEMPLATE"))
    }

    /// Edits wp-config.php in place as `sed -i s/SEARCH/REPLACE/` does (a new file
    /// renamed over the old one); panics unless SEARCH is there to be replaced. (The
    /// file is not compared afterwards: a sidecar with `restore` may already have put
    /// it back.)
    pub fn sed(&self, expression: &str) {
        let path = self.wp_config();
        let search = expression.split('/').nth(1).unwrap_or_default();
        let before = std::fs::read_to_string(&path).expect("read wp-config.php");
        assert!(
            before.contains(search),
            "{search:?} is not in {}",
            path.display()
        );
        let status = Command::new("sed")
            .arg("-i")
            .arg(expression)
            .arg(&path)
            .status()
            .expect("run sed");
        assert!(status.success(), "sed -i {expression:?} failed");
    }

    pub fn php_stop(&self) -> Result<(), String> {
        self.wpenv(&["php-stop"]).map(drop)
    }

    pub fn php_start(&self, reset_config: bool) -> Result<(), String> {
        let args: &[&str] = if reset_config {
            &["php-start", "--reset-config"]
        } else {
            &["php-start"]
        };
        self.wpenv(args).map(drop)
    }

    pub fn db_stop(&self) -> Result<(), String> {
        self.wpenv(&["db-stop"]).map(drop)
    }

    pub fn db_start(&self) -> Result<(), String> {
        self.wpenv(&["db-start"]).map(drop)
    }

    /// The process group of the PHP server (its master and workers).
    pub fn php_group(&self) -> Option<u32> {
        let pid = std::fs::read_to_string(self.try_var("WPENV_PHP_PID_FILE")?).ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).ok()?;
        stat_fields(&stat)?.get(2)?.parse().ok()
    }

    /// The PHP server's master process runs (a zombie does not count).
    pub fn php_running(&self) -> bool {
        let Some(pid) = self
            .try_var("WPENV_PHP_PID_FILE")
            .and_then(|file| std::fs::read_to_string(file).ok())
        else {
            return false;
        };
        std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
            .ok()
            .and_then(|stat| stat_fields(&stat).map(|f| f.first().copied() != Some("Z")))
            .unwrap_or(false)
    }

    /// Sends `signal` (STOP, CONT, …) to the whole PHP server.
    pub fn signal_php(&self, signal: &str) -> Result<(), String> {
        let group = self.php_group().ok_or("the PHP server is not running")?;
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg("--")
            .arg(format!("-{group}"))
            .status()
            .map_err(|e| format!("kill: {e}"))?;
        status
            .success()
            .then_some(())
            .ok_or_else(|| format!("kill -{signal} -- -{group}: {status}"))
    }

    /// CPU time (clock ticks, user + system) of the PHP server's processes.
    pub fn php_cpu_ticks(&self) -> u64 {
        let Some(group) = self.php_group() else {
            return 0;
        };
        let mut ticks = 0;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            if let Some(fields) = stat_fields(&stat) {
                if fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(group) {
                    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
                    ticks += field(11).unwrap_or(0) + field(12).unwrap_or(0);
                }
            }
        }
        ticks
    }

    /// The length of PHP's log now: requests logged after it are "since".
    pub fn php_log_len(&self) -> u64 {
        std::fs::metadata(self.var("WPENV_PHP_LOG"))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// The requests PHP logged between two `php_log_len`s (`u64::MAX`: until now).
    pub fn php_requests_between(&self, since: u64, until: u64) -> Vec<PhpRequest> {
        let bytes = std::fs::read(self.var("WPENV_PHP_LOG")).unwrap_or_default();
        let offset = |at: u64| usize::try_from(at).unwrap_or(usize::MAX).min(bytes.len());
        let (start, end) = (offset(since), offset(until));
        String::from_utf8_lossy(&bytes[start..end.max(start)])
            .lines()
            .filter_map(PhpRequest::parse)
            .collect()
    }
}

impl Drop for WpEnv {
    fn drop(&mut self) {
        // A stopped PHP server could not act on SIGTERM.
        let _ = self.signal_php("CONT");
        if let Err(error) = self.wpenv(&["down"]) {
            eprintln!("scenario {}: wpenv.sh down failed: {error}", self.name);
        }
    }
}

/// The fields after `pid (comm)` in `/proc/PID/stat`: state, ppid, pgrp, …
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().collect())
}

/// One line of `php -S`'s log: `[pid] [date] 127.0.0.1:port [200]: GET /path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhpRequest {
    pub status: u16,
    pub method: String,
    pub uri: String,
}

impl PhpRequest {
    pub fn parse(line: &str) -> Option<PhpRequest> {
        let (head, request) = line.split_once("]: ")?;
        let status = head.rsplit_once(" [")?.1.parse().ok()?;
        let (method, uri) = request.trim().split_once(' ')?;
        Some(PhpRequest {
            status,
            method: method.to_string(),
            uri: uri.to_string(),
        })
    }
}

/// Where the docroot of "the WordPress container" lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The container's own layer: a restart writes a fresh wp-config.php.
    ContainerLayer,
    /// A volume shared with the sidecar: the file survives a restart.
    SharedVolume,
}

/// The PHP server as the emulator's container.
pub struct PhpContainer {
    pub env: Arc<WpEnv>,
    pub layout: Layout,
}

impl ContainerRuntime for PhpContainer {
    fn start(&self, instance: u32) -> Result<(), String> {
        if instance == 0 && self.env.php_running() {
            return Ok(()); // Started before the emulator: taken as its first instance.
        }
        // What a dead instance left behind (its pid file) goes first.
        self.env.php_stop()?;
        self.env.php_start(self.layout == Layout::ContainerLayer)
    }

    fn signal(&self, _instance: u32, signal: Signal) -> Result<(), String> {
        self.env.signal_php(match signal {
            Signal::Stop => "TERM",
            Signal::Kill => "KILL",
        })
    }

    fn running(&self, _instance: u32) -> bool {
        self.env.php_running()
    }
}

pub use crate::http::http_get;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_log_lines_parse() {
        let line = "[17419] [Fri Nov 27 13:53:26 2026] 127.0.0.1:33652 [200]: GET /wp-login.php";
        assert_eq!(
            PhpRequest::parse(line),
            Some(PhpRequest {
                status: 200,
                method: "GET".into(),
                uri: "/wp-login.php".into()
            })
        );
        assert_eq!(PhpRequest::parse("[1] [date] 127.0.0.1:1 Accepted"), None);
        assert_eq!(
            PhpRequest::parse("[1] [date] PHP Warning:  Undefined variable $x in f.php"),
            None
        );
    }
}
