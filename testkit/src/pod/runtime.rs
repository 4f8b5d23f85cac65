//! A container of the pod as the kubelet emulator's [`ContainerRuntime`], driving
//! podman the way the kubelet drives its runtime: each `start` is a `podman run` of
//! a fresh container into the pod (so a restart throws the writable layer away; the
//! previous instance's log and exit code are kept first, then it is removed), a
//! `signal` is `podman kill --signal` (the image's stop signal, SIGWINCH for Apache
//! as in the official image, or SIGKILL), and `running` looks at the instance's PID 1
//! on the host (a paused or stopped process still runs, as it would for the kubelet).
//!
//! It never restarts anything on its own: the emulator decides (its back-off, its
//! probes), exactly as in process mode.

use std::path::PathBuf;
use std::sync::Mutex;

use crate::kubelet::{ContainerRuntime, Signal};
use crate::pod::podman::{podman, Kind, Owned};

/// How to run one container of the pod: everything after `podman run -d --pod P`.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The container's name in the manifest.
    pub name: String,
    /// Flags: `--user`, `--read-only`, `--cap-drop`, `-v`, `-e` …
    pub flags: Vec<String>,
    pub image: String,
    pub command: Vec<String>,
    /// The image's STOPSIGNAL, which the kubelet's runtime sends on a kill.
    pub stop_signal: String,
}

/// One instance that ran or runs.
#[derive(Debug)]
pub struct Instance {
    pub number: u32,
    pub container: Owned,
    pub pid: u32,
    /// Filled in when the instance is replaced: its exit code and output.
    pub exit_code: Option<i32>,
}

pub struct PodmanContainer {
    pod: String,
    spec: RunSpec,
    current: Mutex<Option<Instance>>,
    /// Replaced instances: (number, container id, exit code).
    pub history: Mutex<Vec<(u32, String, Option<i32>)>>,
    log: PathBuf,
}

impl PodmanContainer {
    pub fn new(pod: &str, spec: RunSpec, log: PathBuf) -> PodmanContainer {
        let _ = std::fs::write(&log, "");
        PodmanContainer {
            pod: pod.to_string(),
            spec,
            current: Mutex::new(None),
            history: Mutex::new(Vec::new()),
            log,
        }
    }

    /// The running instance's container id.
    pub fn id(&self) -> Option<String> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.as_ref().map(|i| i.container.id.clone())
    }

    /// `podman ARGS… <id of the running instance>` (`pause`, `exec …`).
    pub fn podman_on(&self, before: &[&str], after: &[&str]) -> Result<String, String> {
        let id = self.id().ok_or("no instance runs")?;
        let mut args: Vec<&str> = before.to_vec();
        args.push(&id);
        args.extend_from_slice(after);
        podman(&args)
    }

    /// The output of every instance so far (the replaced ones, then the current one).
    pub fn log_tail(&self, lines: usize) -> String {
        let mut text = std::fs::read_to_string(&self.log).unwrap_or_default();
        if let Ok(now) = self.podman_on(&["logs"], &[]) {
            text.push_str(&now);
        }
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Keeps the instance's output and exit code, then removes it (its layer goes).
    fn retire(&self, mut instance: Instance) {
        let id = instance.container.id.clone();
        instance.exit_code = podman(&["inspect", "--format", "{{.State.ExitCode}}", &id])
            .ok()
            .and_then(|code| code.parse().ok());
        let output = podman(&["logs", &id]).unwrap_or_else(|e| e);
        let mut text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.push_str(&format!(
            "=== {} instance #{} ({}) exit {:?} ===\n{output}\n",
            self.spec.name,
            instance.number,
            short(&id),
            instance.exit_code
        ));
        let _ = std::fs::write(&self.log, text);
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((instance.number, id, instance.exit_code));
        drop(instance); // podman rm --force
    }
}

pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

impl ContainerRuntime for PodmanContainer {
    fn start(&self, number: u32) -> Result<(), String> {
        let previous = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(previous) = previous {
            self.retire(previous);
        }
        let name = format!("{}-{}-{number}", self.pod, self.spec.name);
        let mut args: Vec<&str> = vec!["run", "--detach", "--pod", &self.pod, "--name", &name];
        args.extend(self.spec.flags.iter().map(String::as_str));
        args.push(&self.spec.image);
        args.extend(self.spec.command.iter().map(String::as_str));
        let id = podman(&args)?;
        let container = Owned::new(Kind::Container, id.clone());
        let pid = podman(&["inspect", "--format", "{{.State.Pid}}", &id])?
            .parse()
            .map_err(|e| format!("the pid of {id}: {e}"))?;
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instance {
            number,
            container,
            pid,
            exit_code: None,
        });
        Ok(())
    }

    fn signal(&self, _number: u32, signal: Signal) -> Result<(), String> {
        let signal = match signal {
            Signal::Stop => self.spec.stop_signal.as_str(),
            Signal::Kill => "KILL",
        };
        match self.podman_on(&["kill", "--signal", signal], &[]) {
            Ok(_) => Ok(()),
            // A frozen (`podman pause`d) container cannot take a signal through podman;
            // the kernel would still deliver SIGKILL to a stopped process: remove it.
            Err(error) if signal == "KILL" => self
                .podman_on(&["rm", "--force", "--time", "0"], &[])
                .map(drop)
                .map_err(|again| format!("{error}; rm --force: {again}")),
            Err(error) => Err(error),
        }
    }

    fn running(&self, _number: u32) -> bool {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let Some(instance) = current.as_ref() else {
            return false;
        };
        // conmon reaps the container's PID 1 at once: no /proc entry, no process.
        std::fs::read_to_string(format!("/proc/{}/stat", instance.pid))
            .map(|stat| {
                let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                !state.starts_with('Z') && !state.starts_with('X')
            })
            .unwrap_or(false)
    }
}

impl Drop for PodmanContainer {
    fn drop(&mut self) {
        let current = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(instance) = current {
            self.retire(instance);
        }
    }
}
