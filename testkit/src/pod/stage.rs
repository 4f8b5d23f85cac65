//! The stage every pod scenario plays on: a database of its own (`scripts/wpenv.sh`,
//! which also installs WordPress into it, through PHP's server, before the pod
//! exists), then a podman pod run by the kubelet emulator from
//! `k8s/base/deployment.yaml`: the sidecar image (the repository's `Dockerfile`) as
//! the native sidecar, the WordPress image once the sidecar's startup probe passed,
//! with the manifests' securityContext (uid/gid 33, `readOnlyRootFilesystem` for the
//! sidecar, every capability dropped, no privilege escalation), their volumes as
//! podman volumes (the docroot emptyDir with `fsGroup`'s effect, the sidecar's state
//! emptyDir, the golden ConfigMap as a read-only file) and the database's socket
//! directory mounted read-only.
//!
//! The pod's pieces are public ([`create_pod`], [`empty_dir`], [`PodSettings`]'s
//! environment and run specs), so that the replicas of `tests/pod/rollout` are built
//! exactly as a stage's pod.
//!
//! Ports are published on 127.0.0.1 only. Field order is drop order: the emulator,
//! the containers, the pod, the volumes, then the database: everything is removed by
//! id, also after a panic.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fixtures::millis;
use crate::http::http_get;
use crate::kubelet::manifest::{read_pod, PodSpec};
use crate::kubelet::{ContainerRuntime, Kubelet, Options, Timeline};
use crate::pod::podman::{images, podman, Kind, Owned};
use crate::pod::runtime::{PodmanContainer, RunSpec};
use crate::wpenv::{free_port, repo, Layout, WpEnv};

pub use crate::fixtures::{
    scale, DB_HOST_HOGE, DB_HOST_TEMPLATE, GOLDEN, MANIFEST, SED_DB_HOST_HOGE, SIDECAR,
    SIDECAR_PORT, WORDPRESS, WORDPRESS_PORT,
};
pub use crate::scene::*;

/// What a scenario asks of its stage.
pub struct Setup {
    pub name: &'static str,
    pub scale: f64,
    pub layout: Layout,
    /// A private mariadbd the scenario may stop (`WPENV_DB_MODE=own`).
    pub own_database: bool,
    /// The pod: the manifests' (`None`) or another (the article's, no sidecar).
    pub pod: Option<PodSpec>,
    /// Settings for the sidecar, after the manifests' (they win).
    pub sidecar_env: Vec<(String, String)>,
    /// Where the database environments go (default: `target/tmp/pod` of the
    /// checkout, where the pod tests' `CARGO_TARGET_TMPDIR` is).
    pub root: Option<PathBuf>,
}

impl Setup {
    pub fn new(name: &'static str, scale: f64, layout: Layout) -> Setup {
        Setup {
            name,
            scale,
            layout,
            own_database: false,
            pod: None,
            sidecar_env: Vec::new(),
            root: None,
        }
    }
}

pub struct Stage {
    pub kubelet: Kubelet,
    pub sidecar: Option<Arc<PodmanContainer>>,
    pub wordpress: Arc<PodmanContainer>,
    pub pod: Owned,
    pub docroot: Option<Owned>,
    pub state: Owned,
    pub env: Arc<WpEnv>,
    pub scale: f64,
    /// WordPress (port 80 of the pod) and the sidecar (9090) on the host.
    pub wordpress_addr: SocketAddr,
    pub sidecar_addr: SocketAddr,
    pub started: Instant,
}

fn vars_of(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `podman pod create` of a pod as the manifests shape it, after removing whatever an
/// earlier run left under its name: both ports published on 127.0.0.1, and with
/// `cgroup_parent` its `--cgroup-parent` (a Deployment's `kubepods`).
pub fn create_pod(
    name: &str,
    wordpress: SocketAddr,
    sidecar: SocketAddr,
    cgroup_parent: Option<&str>,
) -> Result<Owned, String> {
    let _ = podman(&["pod", "rm", "--force", "--time", "0", name]);
    let args = pod_args(name, wordpress, sidecar, cgroup_parent);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Ok(Owned::new(Kind::Pod, podman(&args)?))
}

fn pod_args(
    name: &str,
    wordpress: SocketAddr,
    sidecar: SocketAddr,
    cgroup_parent: Option<&str>,
) -> Vec<String> {
    let mut args: Vec<String> = [
        "pod",
        "create",
        "--name",
        name,
        // shareProcessNamespace: false, as the manifests; net, ipc, uts shared.
        "--share",
        "net,ipc,uts",
        "--publish",
        &format!("127.0.0.1:{}:{WORDPRESS_PORT}", wordpress.port()),
        "--publish",
        &format!("127.0.0.1:{}:{SIDECAR_PORT}", sidecar.port()),
        // The manifests' pod sysctl: Apache binds 80 as uid 33, no capability.
        "--sysctl",
        "net.ipv4.ip_unprivileged_port_start=0",
    ]
    .map(String::from)
    .to_vec();
    if let Some(parent) = cgroup_parent {
        args.extend(["--cgroup-parent".to_string(), parent.to_string()]);
    }
    args
}

/// An emptyDir of pod `pod_name` (`<pod_name>-<what>`); fsGroup 33 makes it group 33
/// and setgid, as the kubelet does.
pub fn empty_dir(pod_name: &str, what: &str) -> Result<Owned, String> {
    let owned = Owned::new(
        Kind::Volume,
        podman(&["volume", "create", &format!("{pod_name}-{what}")])?,
    );
    let path = owned.mountpoint()?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"chgrp 33 "$1" && chmod 2775 "$1""#)
        .arg("sh")
        .arg(&path)
        .status()
        .map_err(|e| format!("chgrp {}: {e}", path.display()))?;
    if !status.success() {
        return Err(format!("fsGroup on {}", path.display()));
    }
    Ok(owned)
}

/// The database's socket as the containers reach it: `dir` on the host, mounted
/// read-only on /run/mysqld, and the socket's file name in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbSocket {
    pub dir: PathBuf,
    pub name: String,
}

impl DbSocket {
    /// The scenario's own mariadbd's (`MYSQL_OWN_SOCKET`), or the machine's.
    pub fn of(env: &WpEnv, own_database: bool) -> DbSocket {
        if own_database {
            let own = PathBuf::from(env.var("MYSQL_OWN_SOCKET"));
            DbSocket {
                dir: own.parent().expect("socket directory").to_path_buf(),
                name: own
                    .file_name()
                    .expect("socket name")
                    .to_string_lossy()
                    .into_owned(),
            }
        } else {
            DbSocket {
                dir: PathBuf::from("/run/mysqld"),
                name: "mysqld.sock".to_string(),
            }
        }
    }
}

/// What the two containers of a pod are given, as the manifests give it, whether a
/// [`Stage`] or a Deployment's replicas: the ConfigMaps and the Secret (example
/// salts) as `envFrom`, the database through its socket directory, the golden
/// ConfigMap, the sidecar's intervals at the scenario's time scale.
#[derive(Clone, Debug)]
pub struct PodSettings {
    pub wordpress_vars: BTreeMap<String, String>,
    /// The WordPress container's, then `k8s/base/wp-sentinel.env`'s and the scaled
    /// intervals; a caller's own settings go in last (they win).
    pub sidecar_vars: BTreeMap<String, String>,
    /// `<socket dir>:/run/mysqld:ro`.
    pub socket_mount: String,
    pub golden: PathBuf,
}

impl PodSettings {
    /// For `env`'s database and siteurl (the host's view of the pod, or the Service).
    pub fn new(env: &WpEnv, own_database: bool, scale: f64) -> PodSettings {
        PodSettings::from_parts(
            env.wordpress_vars(),
            &DbSocket::of(env, own_database),
            env.php_addr(),
            scale,
        )
    }

    /// From `wpenv.sh`'s `WORDPRESS_*` variables, the socket and the siteurl's
    /// address (which the sidecar sends as its `Host`).
    pub fn from_parts(
        wordpress_vars: Vec<(String, String)>,
        socket: &DbSocket,
        siteurl: SocketAddr,
        scale: f64,
    ) -> PodSettings {
        let mut shared: BTreeMap<String, String> = vars_of(&repo().join("k8s/base/wordpress.env"))
            .into_iter()
            .collect();
        shared.extend(wordpress_vars);
        shared.insert(
            "WORDPRESS_DB_HOST".into(),
            format!("localhost:/run/mysqld/{}", socket.name),
        );
        for key in [
            "AUTH_KEY",
            "SECURE_AUTH_KEY",
            "LOGGED_IN_KEY",
            "NONCE_KEY",
            "AUTH_SALT",
            "SECURE_AUTH_SALT",
            "LOGGED_IN_SALT",
            "NONCE_SALT",
        ] {
            shared.insert(format!("WORDPRESS_{key}"), format!("pod-test-{key}"));
        }
        // No internet here: WordPress must not wait on update checks or WP-Cron.
        let extra = shared
            .get("WORDPRESS_CONFIG_EXTRA")
            .cloned()
            .unwrap_or_default();
        shared.insert(
            "WORDPRESS_CONFIG_EXTRA".into(),
            format!(
                "{extra} define('WP_HTTP_BLOCK_EXTERNAL', true); \
                 define('AUTOMATIC_UPDATER_DISABLED', true); define('DISABLE_WP_CRON', true);"
            ),
        );
        let mut sidecar = shared.clone();
        sidecar.extend(vars_of(&repo().join("k8s/base/wp-sentinel.env")));
        let interval = millis(5.0, scale);
        let jitter = millis(0.5, scale);
        for (key, value) in [
            ("WP_SENTINEL_LOG__FORMAT", "text".to_string()),
            ("WP_SENTINEL_WORDPRESS__INTERVAL", interval.clone()),
            ("WP_SENTINEL_WORDPRESS__JITTER", jitter.clone()),
            ("WP_SENTINEL_MYSQL__INTERVAL", interval),
            ("WP_SENTINEL_MYSQL__JITTER", jitter),
            ("WP_SENTINEL_WPCONFIG__INTERVAL", millis(10.0, scale)),
            ("WP_SENTINEL_SHUTDOWN__DRAIN", millis(5.0, scale)),
            ("WP_SENTINEL_SHUTDOWN__DEADLINE", millis(5.0, scale)),
            ("WP_SENTINEL_WORDPRESS__HOST_HEADER", siteurl.to_string()),
        ] {
            sidecar.insert(key.into(), value);
        }
        PodSettings {
            wordpress_vars: shared,
            sidecar_vars: sidecar,
            socket_mount: format!("{}:/run/mysqld:ro", socket.dir.display()),
            golden: repo().join(GOLDEN),
        }
    }

    /// The WordPress container: uid/gid 33, every capability dropped, no privilege
    /// escalation; the socket, the golden file as the image's config template, the
    /// docroot volume (by id) when there is one.
    pub fn wordpress(&self, image: &str, docroot: Option<&str>) -> RunSpec {
        let volumes: Vec<(&str, &str)> = docroot
            .map(|id| (id, "/var/www/html"))
            .into_iter()
            .collect();
        RunSpec {
            name: WORDPRESS.into(),
            flags: self.flags(
                &[],
                "/usr/src/wordpress/wp-config-docker.php",
                &volumes,
                &self.wordpress_vars,
            ),
            image: image.into(),
            command: Vec::new(),
            stop_signal: "WINCH".into(),
        }
    }

    /// The sidecar: WordPress's securityContext and a read-only root; the socket, the
    /// golden file, its state volume and the docroot volume (by id).
    pub fn sidecar(&self, image: &str, state: &str, docroot: Option<&str>) -> RunSpec {
        let mut volumes = vec![(state, "/var/lib/wp-sentinel")];
        volumes.extend(docroot.map(|id| (id, "/var/www/html")));
        // readOnlyRootFilesystem: no writable /tmp or /run either (podman would add
        // tmpfs mounts there by default; Kubernetes does not).
        let root = ["--read-only", "--read-only-tmpfs=false"];
        RunSpec {
            name: SIDECAR.into(),
            flags: self.flags(
                &root,
                "/etc/wp-sentinel/golden/wp-config.php",
                &volumes,
                &self.sidecar_vars,
            ),
            image: image.into(),
            command: vec!["serve".into()],
            stop_signal: "TERM".into(),
        }
    }

    /// The manifests' securityContext (uid/gid 33, every capability dropped, no
    /// privilege escalation), `root`, the socket directory, the golden file at
    /// `golden_at`, the podman `volumes` (id, path), then `vars`, in that order.
    fn flags(
        &self,
        root: &[&str],
        golden_at: &str,
        volumes: &[(&str, &str)],
        vars: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let mut flags: Vec<String> = [
            "--user",
            "33:33",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
        ]
        .iter()
        .chain(root)
        .map(|flag| flag.to_string())
        .collect();
        flags.extend([
            "--volume".into(),
            self.socket_mount.clone(),
            "--volume".into(),
            format!("{}:{golden_at}:ro", self.golden.display()),
        ]);
        for (id, path) in volumes {
            flags.extend(["--volume".into(), format!("{id}:{path}")]);
        }
        flags.extend(
            vars.iter()
                .flat_map(|(k, v)| ["--env".to_string(), format!("{k}={v}")]),
        );
        flags
    }
}

impl Stage {
    pub async fn start(setup: Setup) -> Stage {
        let started = Instant::now();
        let images = images();
        let name = setup.name;
        let root = setup
            .root
            .clone()
            .unwrap_or_else(|| repo().join("target/tmp/pod"));
        let env = Arc::new(WpEnv::up(name, &root, setup.own_database));
        // WordPress is installed in the database; from now on the pod serves it, on
        // the port its siteurl names.
        env.php_stop()
            .unwrap_or_else(|e| panic!("scenario {name}: {e}"));
        let wordpress_addr = env.php_addr();
        let sidecar_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let pod_name = format!("wps-{name}-{}", std::process::id());
        let pod = create_pod(&pod_name, wordpress_addr, sidecar_addr, None)
            .unwrap_or_else(|e| panic!("scenario {name}: {e}"));
        let volume = |what: &str| {
            empty_dir(&pod_name, what).unwrap_or_else(|e| panic!("scenario {name}: {e}"))
        };
        let state = volume("sentinel-state");
        let docroot = (setup.layout == Layout::SharedVolume).then(|| volume("docroot"));

        // The sidecar's Host header is the siteurl, `wordpress_addr`: the host's view
        // of the pod.
        let mut settings = PodSettings::new(&env, setup.own_database, setup.scale);
        settings
            .sidecar_vars
            .extend(setup.sidecar_env.iter().cloned());
        let docroot_id = docroot.as_ref().map(|d| d.id.as_str());
        let wordpress = Arc::new(PodmanContainer::new(
            &pod_name,
            settings.wordpress(&images.wordpress, docroot_id),
            env.dir.join("wordpress.log"),
        ));
        let sidecar = Arc::new(PodmanContainer::new(
            &pod_name,
            settings.sidecar(&images.sidecar, &state.id, docroot_id),
            env.dir.join("sidecar.log"),
        ));

        let spec = setup.pod.clone().unwrap_or_else(|| {
            read_pod(&repo().join(MANIFEST))
                .unwrap_or_else(|e| panic!("the emulator cannot read the pod: {e}"))
        });
        let with_sidecar = spec.container(SIDECAR).is_some();
        let options = Options::new(
            setup.scale,
            vec![
                (SIDECAR_PORT, sidecar_addr),
                (WORDPRESS_PORT, wordpress_addr),
            ],
        );
        let mut runtimes: Vec<(&str, Arc<dyn ContainerRuntime>)> =
            vec![(WORDPRESS, wordpress.clone())];
        if with_sidecar {
            runtimes.push((SIDECAR, sidecar.clone()));
        }
        let kubelet = Kubelet::start(&spec, options, runtimes)
            .unwrap_or_else(|e| panic!("the emulator rejected the pod: {e}"));
        let stage = Stage {
            kubelet,
            sidecar: with_sidecar.then_some(sidecar),
            wordpress,
            pod,
            docroot,
            state,
            env,
            scale: setup.scale,
            wordpress_addr,
            sidecar_addr,
            started,
        };
        let ready = stage
            .kubelet
            .wait_until(Duration::from_secs(90), "pod ready at start", |k| {
                if with_sidecar {
                    k.ready()
                } else {
                    k.running(WORDPRESS)
                }
            })
            .await;
        stage.ok(ready);
        if !with_sidecar {
            // The article's pod has no readiness probe: wait for WordPress itself.
            let serving = stage.wait_wordpress(200, Duration::from_secs(60)).await;
            stage.ok(serving);
        }
        stage.kubelet.mark(format!(
            "pod ready, {:.1?} after the scenario began (database, pod, images)",
            started.elapsed()
        ));
        stage
    }

    pub fn sidecar(&self) -> &Arc<PodmanContainer> {
        self.sidecar.as_ref().expect("this pod has a sidecar")
    }

    /// The docroot volume's files on the host.
    pub fn docroot(&self) -> PathBuf {
        let volume = self.docroot.as_ref().expect("a shared docroot");
        volume
            .mountpoint()
            .unwrap_or_else(|e| self.fail(&format!("docroot volume: {e}")))
    }

    pub fn state_dir(&self) -> PathBuf {
        self.state
            .mountpoint()
            .unwrap_or_else(|e| self.fail(&format!("state volume: {e}")))
    }

    /// The article's `kubectl exec … sed -i`: run inside the WordPress container, as
    /// its user (33), on its own view of /var/www/html.
    pub fn exec_sed(&self, expression: &str) {
        let edited = self.wordpress.podman_on(
            &["exec", "--user", "33:33"],
            &["sed", "-i", expression, "/var/www/html/wp-config.php"],
        );
        self.ok(edited);
    }

    /// wp-config.php as the running WordPress container sees it.
    pub fn wp_config_in_wordpress(&self) -> Result<String, String> {
        self.wordpress
            .podman_on(&["exec"], &["cat", "/var/www/html/wp-config.php"])
    }

    /// GET on the sidecar through the pod's published port.
    pub async fn sidecar_get(&self, path: &str) -> (u16, String) {
        http_get(self.sidecar_addr, path)
            .await
            .unwrap_or((0, String::new()))
    }

    /// Stops the emulator, prints the timeline and the scenario's measured time, and
    /// removes the containers, the pod and the volumes (by id), then the database.
    pub async fn finish(self, title: &str) -> Arc<Timeline> {
        let Stage {
            kubelet,
            sidecar,
            wordpress,
            pod,
            docroot,
            state,
            env,
            started,
            ..
        } = self;
        let timeline = kubelet.stop().await;
        println!(
            "=== {title} ===\n{}replaced WordPress containers: {:?}\nreplaced sidecar containers: {:?}",
            timeline.render(true),
            ids(&wordpress),
            sidecar.as_ref().map(|s| ids(s)).unwrap_or_default()
        );
        drop(wordpress);
        drop(sidecar);
        drop(pod);
        drop(docroot);
        drop(state);
        drop(env);
        println!("{title}: {:.1?} in all", started.elapsed());
        timeline
    }
}

fn ids(container: &PodmanContainer) -> Vec<String> {
    container
        .history
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(n, id, code)| format!("#{n} {} exit {code:?}", crate::pod::runtime::short(id)))
        .collect()
}

impl Scene for Stage {
    /// `/wp-login.php` through the pod's published port.
    fn wordpress_page(&self) -> (SocketAddr, &'static str) {
        (self.wordpress_addr, "/wp-login.php")
    }

    fn kubelet(&self) -> &Kubelet {
        &self.kubelet
    }

    /// Both containers' last lines (podman's log of each).
    fn output(&self) -> String {
        let sidecar = self
            .sidecar
            .as_ref()
            .map(|s| s.log_tail(30))
            .unwrap_or_default();
        format!(
            "--- sidecar output (last lines) ---\n{sidecar}\n\
             --- WordPress output (last lines) ---\n{}",
            self.wordpress.log_tail(15)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifests' securityContext, both containers.
    const SECURITY: &str = "--user 33:33 --cap-drop ALL --security-opt no-new-privileges";

    const SOCKET: [&str; 2] = ["--volume", "/tmp/own:/run/mysqld:ro"];

    fn at(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn settings() -> PodSettings {
        let socket = DbSocket {
            dir: PathBuf::from("/tmp/own"),
            name: "own.sock".into(),
        };
        let vars = vec![
            ("WORDPRESS_DB_NAME".to_string(), "e2e_x".to_string()),
            (
                "WORDPRESS_CONFIG_EXTRA".to_string(),
                "define('X', 1);".to_string(),
            ),
        ];
        PodSettings::from_parts(vars, &socket, at(8081), 0.5)
    }

    /// The flags before the `--env`s, and the `--env`s as a map.
    fn split(flags: &[String]) -> (Vec<&str>, BTreeMap<&str, &str>) {
        let first_env = flags
            .iter()
            .position(|f| f == "--env")
            .unwrap_or(flags.len());
        let env = flags[first_env..]
            .chunks(2)
            .map(|pair| {
                assert_eq!(pair[0], "--env", "{flags:?}");
                pair[1].split_once('=').expect("KEY=VALUE")
            })
            .collect();
        (flags[..first_env].iter().map(String::as_str).collect(), env)
    }

    /// Checks that `spec`'s flags are the securityContext, `middle`, then one `--env`
    /// per variable, among them the socket's DB_HOST; returns the variables.
    fn checked<'a>(spec: &'a RunSpec, middle: &[&str]) -> BTreeMap<&'a str, &'a str> {
        let (flags, env) = split(&spec.flags);
        let security: Vec<&str> = SECURITY.split(' ').collect();
        assert_eq!(flags, [&security[..], middle].concat());
        assert_eq!(env["WORDPRESS_DB_HOST"], "localhost:/run/mysqld/own.sock");
        env
    }

    #[test]
    fn the_pod_is_created_as_the_manifests_shape_it() {
        let args = pod_args("wps-a", at(8081), at(9091), Some("/kubepods"));
        assert_eq!(
            args,
            [
                "pod",
                "create",
                "--name",
                "wps-a",
                "--share",
                "net,ipc,uts",
                "--publish",
                "127.0.0.1:8081:80",
                "--publish",
                "127.0.0.1:9091:9090",
                "--sysctl",
                "net.ipv4.ip_unprivileged_port_start=0",
                "--cgroup-parent",
                "/kubepods",
            ]
        );
        assert!(!pod_args("wps-a", at(8081), at(9091), None).contains(&"--cgroup-parent".into()));
    }

    #[test]
    fn wordpress_gets_the_securitycontext_mounts_and_shared_environment() {
        let settings = settings();
        let spec = settings.wordpress("wp-image", Some("docroot-id"));
        let golden = repo().join(GOLDEN);
        let template = format!(
            "{}:/usr/src/wordpress/wp-config-docker.php:ro",
            golden.display()
        );
        let mounts = [
            "--volume",
            &template,
            "--volume",
            "docroot-id:/var/www/html",
        ];
        let env = checked(&spec, &[&SOCKET[..], &mounts].concat());
        assert_eq!(env["WORDPRESS_DB_NAME"], "e2e_x");
        assert_eq!(env["WORDPRESS_NONCE_SALT"], "pod-test-NONCE_SALT");
        assert!(
            env["WORDPRESS_CONFIG_EXTRA"].starts_with("define('X', 1); define('WP_HTTP_BLOCK"),
            "{env:?}"
        );
        assert!(!env.contains_key("WP_SENTINEL_LOG__FORMAT"));
        assert_eq!(
            (
                spec.name.as_str(),
                spec.image.as_str(),
                spec.stop_signal.as_str()
            ),
            (WORDPRESS, "wp-image", "WINCH")
        );
        assert!(spec.command.is_empty());
        let layer = settings.wordpress("wp-image", None);
        assert!(!layer.flags.contains(&"docroot-id:/var/www/html".into()));
    }

    #[test]
    fn the_sidecar_gets_a_read_only_root_its_state_and_scaled_intervals() {
        let mut settings = settings();
        settings
            .sidecar_vars
            .insert("WP_SENTINEL_LOG__FORMAT".into(), "json".into());
        let spec = settings.sidecar("sidecar-image", "state-id", None);
        let golden = repo().join(GOLDEN);
        let golden = format!(
            "{}:/etc/wp-sentinel/golden/wp-config.php:ro",
            golden.display()
        );
        let root = ["--read-only", "--read-only-tmpfs=false"];
        let mounts = [
            "--volume",
            &golden,
            "--volume",
            "state-id:/var/lib/wp-sentinel",
        ];
        let env = checked(&spec, &[&root[..], &SOCKET, &mounts].concat());
        assert_eq!(env["WP_SENTINEL_LOG__FORMAT"], "json");
        assert_eq!(env["WP_SENTINEL_WORDPRESS__INTERVAL"], "2500ms");
        assert_eq!(env["WP_SENTINEL_MYSQL__JITTER"], "250ms");
        assert_eq!(env["WP_SENTINEL_WORDPRESS__HOST_HEADER"], "127.0.0.1:8081");
        assert_eq!(
            (
                spec.name.as_str(),
                spec.command.as_slice(),
                spec.stop_signal.as_str()
            ),
            (SIDECAR, ["serve".to_string()].as_slice(), "TERM")
        );
    }
}
