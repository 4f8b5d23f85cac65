//! The hostile-memory regression on the real binary: `serve`
//! watching a `wp-config.php` that is swapped for 1 MiB hostile files (unclosed
//! parentheses, balanced nesting, 60,000 defines) and back, with the image's
//! `GLIBC_TUNABLES` (read from the Dockerfile). Its peak RSS (`VmHWM`) must stay
//! within the reader's stated bound over the idle RSS, the memory must go back once
//! a normal file is read again, and every probe in between is answered.
//!
//! The bound is on bytes, not time. The reader keeps at most 36 bytes of state per
//! input byte (BENCHMARKS.md, "Memory on hostile wp-config.php files"): 36 MiB for
//! the 1 MiB `wpconfig.max_bytes`. The test allows [`PEAK_GROWTH`] = 40 MiB over the
//! idle RSS, so 36 MiB plus 4 MiB for the rest of a read (the file's bytes, the
//! drift comparison). Measured with the debug binary that this test runs: a peak
//! 29 MiB over an idle 18.4 MiB (most of that idle figure is the debug binary's own
//! pages, not counted in the growth), and 3.4 MiB more anonymous memory than idle
//! once the official file is back. The static release binary grows about the same
//! over its 5 MB idle. Without the tunables this test failed in the run tried
//! (46 MiB of growth by the third file); untuned figures vary with which blocking
//! threads read (one glibc arena each), so that failure is likely, not certain.
//! `scripts/hostile-memory.sh` prints both, release and debug, over three rounds.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{eventually, get, Behaviour, StandIn};

const OFFICIAL: &str = include_str!("../fixtures/wpconfig/docker.php");
const MIB: u64 = 1024 * 1024;
/// The allowed peak growth over the idle RSS: 36 B/B × 1 MiB, plus 4 MiB.
const PEAK_GROWTH: u64 = 40 * MIB;
/// What may stay allocated after a normal file is read again (measured: 3.4 MiB
/// more than idle with the tunables).
const KEPT_AFTER: u64 = 8 * MIB;
/// Each wait is for a cause (a verdict); the limit only ends a broken run.
const VERDICT_WAIT: Duration = Duration::from_secs(60);

/// The hostile files of `scripts/hostile-memory.sh`, each 1 MiB less 64 bytes.
fn hostile_files() -> Vec<(&'static str, String)> {
    let size = (MIB - 64) as usize;
    let mut defines = String::from("<?php\n");
    for i in 0..60_000 {
        defines.push_str(&format!("define('K{i}',1);\n"));
    }
    defines.truncate(size);
    vec![
        (
            "unclosed parentheses",
            format!("<?php define('X', {});", "(".repeat(size)),
        ),
        (
            "balanced nesting",
            format!(
                "<?php define('X', {}{});",
                "(".repeat(size / 2),
                ")".repeat(size / 2)
            ),
        ),
        ("60,000 defines", defines),
    ]
}

/// The image's `GLIBC_TUNABLES`, from the Dockerfile's runtime stage.
fn image_tunables() -> String {
    let dockerfile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile"))
        .expect("read the Dockerfile");
    let value = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("ENV GLIBC_TUNABLES="))
        .expect("the Dockerfile sets GLIBC_TUNABLES");
    value.trim().to_string()
}

/// `VmHWM`, `VmRSS` or `RssAnon` of `pid`, in bytes.
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"));
    kib * 1024
}

/// The sidecar process, killed if the test ends early.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Replaces `wp-config.php` as an editor does: a new file renamed over it.
fn replace(wp_config: &Path, text: &str) {
    let staging = wp_config.with_file_name(".wp-config.php.new");
    let mut file = std::fs::File::create(&staging).expect("create");
    file.write_all(text.as_bytes()).expect("write");
    drop(file);
    std::fs::rename(&staging, wp_config).expect("rename");
}

async fn wpconfig_line(addr: SocketAddr) -> String {
    let answer = get(addr, "/livez?verbose", &[]).await;
    assert!(
        answer.status == 200 || answer.status == 503,
        "a probe answer: {answer:?}"
    );
    answer
        .body
        .lines()
        .find(|line| line.contains("wpconfig"))
        .unwrap_or_default()
        .to_string()
}

async fn wait_for(addr: SocketAddr, prefix: &str, what: &str) {
    let seen = eventually(VERDICT_WAIT, || async {
        wpconfig_line(addr).await.starts_with(prefix)
    })
    .await;
    assert!(seen, "{what}: {}", wpconfig_line(addr).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_files_stay_inside_the_bound_and_the_memory_goes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wp_config: PathBuf = dir.path().join("wp-config.php");
    std::fs::write(&wp_config, OFFICIAL).expect("write wp-config.php");
    let wordpress = StandIn::start(Behaviour::Answer(200, "ok".into())).await;
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let child = Command::new(env!("CARGO_BIN_EXE_wp-sentinel"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("GLIBC_TUNABLES", image_tunables())
        .args(["serve", "--listen", &addr.to_string()])
        .args(["--wordpress-url", &wordpress.url()])
        .arg("--wp-config")
        .arg(&wp_config)
        .env("WORDPRESS_DB_HOST", "db.example:3306")
        .env("WORDPRESS_DB_USER", "wp")
        .env("WORDPRESS_DB_PASSWORD", "Hostile-Memory-Pa55word")
        .env("WORDPRESS_DB_NAME", "wordpress")
        .env("WP_SENTINEL_MYSQL__ENABLED", "false")
        // Every read is caused by a rename (inotify), and none may expire into a
        // timeout verdict on a loaded machine: the test is about bytes.
        .env("WP_SENTINEL_WPCONFIG__INTERVAL", "600s")
        .env("WP_SENTINEL_WPCONFIG__TIMEOUT", "60s")
        .env("WP_SENTINEL_SHUTDOWN__DRAIN", "100ms")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    let serve = Serve(child);
    let pid = serve.0.id();

    let listening = eventually(VERDICT_WAIT, || async {
        tokio::net::TcpStream::connect(addr).await.is_ok()
    })
    .await;
    assert!(listening, "serve listens on {addr}");
    wait_for(addr, "[+]wpconfig ok", "the official file is no drift").await;
    let idle_rss = memory(pid, "VmRSS");
    let idle_anon = memory(pid, "RssAnon");

    for (name, text) in hostile_files() {
        replace(&wp_config, &text);
        wait_for(addr, "[-]wpconfig", &format!("{name} was read")).await;
        replace(&wp_config, OFFICIAL);
        wait_for(addr, "[+]wpconfig ok", &format!("back from {name}")).await;
        let peak = memory(pid, "VmHWM");
        assert!(
            peak <= idle_rss + PEAK_GROWTH,
            "after {name}: peak RSS {} MiB, idle {} MiB: more than {} MiB growth",
            peak / MIB,
            idle_rss / MIB,
            PEAK_GROWTH / MIB
        );
    }
    let kept = memory(pid, "RssAnon");
    assert!(
        kept <= idle_anon + KEPT_AFTER,
        "after a normal file again: {} MiB anonymous memory, idle {} MiB",
        kept / MIB,
        idle_anon / MIB
    );
    eprintln!(
        "hostile memory: idle RSS {} KiB (anon {} KiB), peak {} KiB, anon after {} KiB",
        idle_rss / 1024,
        idle_anon / 1024,
        memory(pid, "VmHWM") / 1024,
        kept / 1024
    );
}
