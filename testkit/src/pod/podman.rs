//! The podman command line, as the pod tests use it: every call with the project's
//! configuration (`containers/containers.conf` as `CONTAINERS_CONF`: runc, cgroupfs,
//! ulimits below the host's), bounded in time; the images from `scripts/images.sh`;
//! and [`Owned`], a container, pod or volume this run made, removed by id when
//! dropped (also after a panic). It never touches anything it did not create.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::wpenv::repo;

pub fn containers_conf() -> PathBuf {
    repo().join("containers/containers.conf")
}

/// `podman ARGS`: its trimmed stdout, or an error with its stderr. Killed after 120 s.
pub fn podman(args: &[&str]) -> Result<String, String> {
    let mut child = Command::new("podman")
        .args(args)
        .env("CONTAINERS_CONF", containers_conf())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run podman (scripts/images.sh installs it): {e}"))?;
    // Read while it runs: an output larger than the pipe's buffer (a `podman logs`
    // of an Apache that logged a few thousand requests) would block podman forever.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let start = Instant::now();
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("podman {}: no answer in 120 s", args.join(" ")));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = std::process::Output {
        status: child.wait().map_err(|e| e.to_string())?,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(format!(
            "podman {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        ))
    }
}

/// What `scripts/images.sh build` made (content-keyed: a second run builds nothing).
#[derive(Clone, Debug)]
pub struct Images {
    pub wordpress: String,
    pub sidecar: String,
}

/// Runs `scripts/images.sh build` once per test process (the script itself takes a
/// lock, so parallel test processes wait for one build) and reads its names.
pub fn images() -> &'static Images {
    static IMAGES: OnceLock<Images> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let started = Instant::now();
        // The test runner's environment (CARGO_*, NEXTEST_*, LD_LIBRARY_PATH …) would
        // make the script's release build look dirty and rebuild it from scratch:
        // the script gets a plain environment, as from a shell.
        let mut command = Command::new("bash");
        command.env_clear();
        for key in ["PATH", "HOME", "LANG", "TERM", "RUSTUP_HOME", "CARGO_HOME"] {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
        let status = command
            .arg(repo().join("scripts/images.sh"))
            .arg("build")
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run scripts/images.sh: {e}"));
        assert!(
            status.success(),
            "scripts/images.sh build failed ({status}): the pod tests need root, Debian's \
             mirror for apt-get and debootstrap, and the Rust toolchain"
        );
        let vars = images_env();
        println!("images ready in {:.1?}", started.elapsed());
        Images {
            wordpress: image_var(&vars, "WORDPRESS_IMAGE"),
            sidecar: image_var(&vars, "SIDECAR_IMAGE"),
        }
    })
}

/// One of the names `scripts/images.sh build` wrote (`WORDPRESS_V1_IMAGE` …), once
/// [`images`] has built them.
pub fn image_named(key: &str) -> String {
    images();
    image_var(&images_env(), key)
}

/// `target/pod/images.env`, which `scripts/images.sh build` writes.
fn images_env() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo().join("target/pod/images.env"))
        .expect("target/pod/images.env after scripts/images.sh build");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn image_var(vars: &BTreeMap<String, String>, key: &str) -> String {
    vars.get(key)
        .unwrap_or_else(|| panic!("{key} missing from target/pod/images.env"))
        .clone()
}

/// A kind of object podman makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Container,
    Pod,
    Volume,
}

/// A podman object this run made; removed by id when dropped.
#[derive(Debug)]
pub struct Owned {
    pub kind: Kind,
    pub id: String,
}

impl Owned {
    pub fn new(kind: Kind, id: String) -> Owned {
        Owned { kind, id }
    }

    /// Where a volume's files are on the host.
    pub fn mountpoint(&self) -> Result<PathBuf, String> {
        podman(&["volume", "inspect", "--format", "{{.Mountpoint}}", &self.id]).map(PathBuf::from)
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let removed = match self.kind {
            Kind::Container => podman(&["rm", "--force", "--time", "0", &self.id]),
            Kind::Pod => podman(&["pod", "rm", "--force", "--time", "0", &self.id]),
            Kind::Volume => podman(&["volume", "rm", "--force", &self.id]),
        };
        if let Err(error) = removed {
            if !error.contains("no such") {
                eprintln!(
                    "pod tests: could not remove {:?} {}: {error}",
                    self.kind, self.id
                );
            }
        }
    }
}
