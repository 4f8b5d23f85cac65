//! wp-config.php drift end to end in-process: the real server with the drift check on
//! a temporary docroot holding the official image's wp-config.php, a stand-in
//! WordPress, and every healing policy. The check's periodic re-read is set to a
//! minute, so anything seen sooner was seen through inotify.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{config, eventually, Behaviour, Sidecar, StandIn};

const OFFICIAL: &str = include_str!("../fixtures/wpconfig/docker.php");
const PASSWORD: &str = "Drift-Test-Pa55word";

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("WORDPRESS_DB_HOST", "db.example:3306"),
        ("WORDPRESS_DB_USER", "wp"),
        ("WORDPRESS_DB_PASSWORD", PASSWORD),
        ("WORDPRESS_DB_NAME", "wordpress"),
    ]
}

struct Site {
    _dir: tempfile::TempDir,
    docroot: PathBuf,
    wp_config: PathBuf,
    wordpress: StandIn,
    sidecar: Sidecar,
}

impl Site {
    /// A docroot with the official wp-config.php, and the sidecar watching it.
    async fn start(extra_toml: &str) -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        let docroot = dir.path().join("html");
        std::fs::create_dir(&docroot).expect("docroot");
        let wp_config = docroot.join("wp-config.php");
        std::fs::write(&wp_config, OFFICIAL).expect("write wp-config.php");
        let golden = dir.path().join("golden.php");
        std::fs::write(&golden, OFFICIAL).expect("write golden");
        let wordpress = StandIn::start(Behaviour::Answer(200, "ok".into())).await;
        let toml = format!(
            "wordpress_url = \"{}\"\nwp_config = \"{}\"\n[wordpress]\ninterval = \"100ms\"\ntimeout = \"300ms\"\njitter = 0\n\
             [mysql]\nenabled = false\n[wpconfig]\ninterval = \"60s\"\n{}\n[shutdown]\ndrain = 0\n",
            wordpress.url(),
            wp_config.display(),
            extra_toml.replace("GOLDEN", &golden.display().to_string())
        );
        let sidecar = Sidecar::start(config(&toml, &env())).await;
        let site = Site {
            _dir: dir,
            docroot,
            wp_config,
            wordpress,
            sidecar,
        };
        assert!(
            site.becomes("/readyz", 200).await,
            "a fresh official wp-config.php is no drift"
        );
        site
    }

    async fn becomes(&self, path: &str, status: u16) -> bool {
        eventually(Duration::from_secs(1), || async {
            self.sidecar.get(path).await.status == status
        })
        .await
    }

    async fn stays(&self, path: &str, status: u16, how_long: Duration) -> bool {
        self.sidecar.stays(path, status, how_long).await
    }

    /// Edits the file as `sed -i` does: a new file renamed over the old one.
    fn sed(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.wp_config).expect("read");
        assert!(text.contains(from), "the fixture holds {from:?}");
        let temporary = self.docroot.join(".sedXYZ");
        std::fs::write(&temporary, text.replacen(from, to, 1)).expect("write");
        std::fs::rename(&temporary, &self.wp_config).expect("rename");
    }

    fn forensic_copies(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.docroot)
            .expect("docroot")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| file_name(path).starts_with(".ht-wp-sentinel-"))
            .collect()
    }

    /// The stand-in WordPress goes down and comes back, as a container restart does,
    /// and the sidecar sees both.
    async fn restart_wordpress(&self) {
        self.wordpress.set(Behaviour::Drop);
        let seen_down = eventually(Duration::from_secs(3), || async {
            self.sidecar.board.snapshot().states[wp_sentinel::verdict::CheckName::WordPress]
                .last
                .as_ref()
                .is_some_and(|o| !o.class.is_http_answer())
        })
        .await;
        assert!(seen_down, "the sidecar sees WordPress go down");
        self.wordpress.set(Behaviour::Answer(200, "ok".into()));
        let seen_up = eventually(Duration::from_secs(3), || async {
            self.sidecar.board.snapshot().states[wp_sentinel::verdict::CheckName::WordPress]
                .last
                .as_ref()
                .is_some_and(|o| o.class.is_http_answer())
        })
        .await;
        assert!(seen_up, "the sidecar sees WordPress come back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Something done to the file.
type Damage = Box<dyn Fn(&Path)>;

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_db_host_hoge_edit_fails_liveness_through_inotify() {
    let site = Site::start("").await;
    site.sed("getenv_docker('WORDPRESS_DB_HOST', 'mysql')", "'hoge'");
    assert!(
        site.becomes("/livez", 503).await,
        "seen through inotify, not the 60 s re-read"
    );
    assert_eq!(site.sidecar.get("/readyz").await.status, 503);
    let verbose = site.sidecar.get("/livez?verbose").await.body;
    assert!(
        verbose.contains(
            "DB_HOST: expected env WORDPRESS_DB_HOST (\"db.example:3306\"), found literal \"hoge\""
        ),
        "{verbose}"
    );
    let metrics = site.sidecar.get("/metrics").await.body;
    assert!(
        metrics.contains("wp_sentinel_drift_detected_total{key=\"DB_HOST\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("wp_sentinel_drift_keys 1"), "{metrics}");
}

#[tokio::test]
async fn semantic_drift_wordpress_would_not_notice_is_caught() {
    let cases = [
        (
            "getenv_docker('WORDPRESS_DB_NAME', 'wordpress')",
            "'wordpress_other'",
            "DB_NAME",
        ),
        (
            "getenv_docker('WORDPRESS_TABLE_PREFIX', 'wp_')",
            "'wp2_'",
            "$table_prefix",
        ),
        ("!!getenv_docker('WORDPRESS_DEBUG', '')", "true", "WP_DEBUG"),
    ];
    for (from, to, key) in cases {
        let site = Site::start("[wpconfig.pins]\nWP_DEBUG = false").await;
        site.sed(from, to);
        assert!(
            site.becomes("/livez", 503).await,
            "{key} drift fails liveness"
        );
        let verbose = site.sidecar.get("/readyz?verbose").await.body;
        assert!(
            verbose.contains(&format!("{key}: expected")),
            "{key}: {verbose}"
        );
    }
}

#[tokio::test]
async fn comments_and_whitespace_are_not_drift() {
    let site = Site::start("").await;
    site.sed(
        "define( 'DB_HOST'",
        "// a comment with define('DB_HOST', 'x');\n\tdefine(  'DB_HOST'",
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(site.stays("/livez", 200, Duration::from_millis(500)).await);
    assert_eq!(site.sidecar.get("/readyz").await.status, 200);
    let json = site.sidecar.get("/readyz?format=json").await.body;
    assert!(
        json.contains("\"wpconfig\":[{") && !json.contains("\"status\":\"warn\""),
        "{json}"
    );
}

#[tokio::test]
async fn a_change_outside_the_pins_is_a_warning_only() {
    let site = Site::start("").await;
    site.sed(
        "define( 'DB_HOST'",
        "define( 'WP_MEMORY_LIMIT', '512M' );\ndefine( 'DB_HOST'",
    );
    let warned = eventually(Duration::from_secs(1), || async {
        site.sidecar
            .get("/readyz?format=json")
            .await
            .body
            .contains("\"status\":\"warn\"")
    })
    .await;
    assert!(warned, "a change outside the pinned keys shows as warn");
    assert_eq!(site.sidecar.get("/livez").await.status, 200);
    assert_eq!(site.sidecar.get("/readyz").await.status, 200);
}

#[tokio::test]
async fn a_changed_password_is_reported_as_changed_never_shown() {
    let site = Site::start("").await;
    site.sed(
        "getenv_docker('WORDPRESS_DB_PASSWORD', 'example password')",
        "'Another-Secret-Value'",
    );
    assert!(site.becomes("/livez", 503).await);
    let mut everything = String::new();
    for path in [
        "/livez?verbose",
        "/readyz?verbose",
        "/readyz?format=json",
        "/metrics",
    ] {
        everything.push_str(&site.sidecar.get(path).await.body);
    }
    assert!(everything.contains("DB_PASSWORD: changed"), "{everything}");
    assert!(
        !everything.contains("Another-Secret-Value") && !everything.contains(PASSWORD),
        "{everything}"
    );
}

#[tokio::test]
async fn restore_writes_the_golden_copy_back_and_keeps_the_drifted_one() {
    let site = Site::start("golden = \"GOLDEN\"\n[heal]\npolicy = \"restore\"").await;
    site.sed("getenv_docker('WORDPRESS_DB_HOST', 'mysql')", "'hoge'");
    let restored = eventually(Duration::from_secs(3), || async {
        std::fs::read_to_string(&site.wp_config).is_ok_and(|text| text == OFFICIAL)
    })
    .await;
    assert!(restored, "the golden bytes are back");
    assert!(site.becomes("/livez", 200).await);
    assert!(site.becomes("/readyz", 200).await);
    let copies = site.forensic_copies();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert!(std::fs::read_to_string(&copies[0])
        .expect("copy")
        .contains("'hoge'"));
    let metrics = site.sidecar.get("/metrics").await.body;
    assert!(
        metrics.contains("wp_sentinel_heal_actions_total{policy=\"restore\",outcome=\"ok\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn restore_never_writes_before_a_drift_is_seen() {
    // The healer may look at the board before the first read of the file: no verdict
    // is no drift, and nothing may be written (nor the next repair throttled).
    let site = Site::start("golden = \"GOLDEN\"\n[heal]\npolicy = \"restore\"").await;
    assert!(
        site.forensic_copies().is_empty(),
        "a restore happened without any drift: {:?}",
        site.forensic_copies()
    );
    let metrics = site.sidecar.get("/metrics").await.body;
    assert!(!metrics.contains("policy=\"restore\""), "{metrics}");
}

#[tokio::test]
async fn restore_without_a_golden_copy_uses_the_last_healthy_one() {
    let site = Site::start("[heal]\npolicy = \"restore\"").await;
    std::fs::remove_file(&site.wp_config).expect("delete");
    let restored = eventually(Duration::from_secs(3), || async {
        std::fs::read_to_string(&site.wp_config).is_ok_and(|text| text == OFFICIAL)
    })
    .await;
    assert!(
        restored,
        "a deleted file comes back from the last healthy copy"
    );
}

#[tokio::test]
async fn the_breaker_trips_after_restarts_that_did_not_heal() {
    let site = Site::start("[heal]\npolicy = \"restart\"\nmax_restarts = 2").await;
    site.sed("getenv_docker('WORDPRESS_DB_HOST', 'mysql')", "'hoge'");
    assert!(site.becomes("/livez", 503).await);
    site.restart_wordpress().await;
    assert_eq!(
        site.sidecar.get("/livez").await.status,
        503,
        "one restart: still below the breaker"
    );
    site.restart_wordpress().await;
    assert!(
        site.becomes("/livez", 200).await,
        "the breaker holds liveness after 2 restarts"
    );
    assert_eq!(
        site.sidecar.get("/readyz").await.status,
        503,
        "readiness keeps failing"
    );
    let verbose = site.sidecar.get("/livez?verbose").await.body;
    assert!(
        verbose.contains("restart-loop breaker tripped"),
        "{verbose}"
    );
    let metrics = site.sidecar.get("/metrics").await.body;
    assert!(
        metrics.contains("wp_sentinel_breaker_tripped 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wp_sentinel_wordpress_restarts_observed_total 2"),
        "{metrics}"
    );

    // Someone repairs the file: the breaker resets and all is well.
    std::fs::write(&site.wp_config, OFFICIAL).expect("repair");
    assert!(site.becomes("/readyz", 200).await);
    assert!(!site
        .sidecar
        .get("/livez?verbose")
        .await
        .body
        .contains("breaker"));
}

impl Site {
    /// The kubelet's liveness worker: `n` probes of `/livez`, each answered 503.
    async fn kubelet_fails_liveness(&self, n: u32) {
        for i in 1..=n {
            let status = self.sidecar.get_as_kubelet("/livez").await.status;
            assert_eq!(status, 503, "liveness probe {i} of {n}");
        }
    }

    async fn restarts_observed(&self, n: u32) -> bool {
        let line = format!("wp_sentinel_wordpress_restarts_observed_total {n}\n");
        eventually(Duration::from_secs(1), || async {
            self.sidecar.get("/metrics").await.body.contains(&line)
        })
        .await
    }
}

#[tokio::test]
async fn the_kubelets_own_probes_witness_a_restart_too_short_to_poll() {
    // The stand-in never stops answering: the restarts happen between two polls.
    let site = Site::start(
        "[heal]\npolicy = \"restart\"\nmax_restarts = 2\nliveness_failure_threshold = 3",
    )
    .await;
    site.sed("getenv_docker('WORDPRESS_DB_HOST', 'mysql')", "'hoge'");
    assert!(site.becomes("/livez", 503).await);
    assert!(
        site.stays("/livez", 503, Duration::from_millis(300)).await,
        "failed answers to other clients are no restart orders"
    );
    site.kubelet_fails_liveness(3).await;
    assert!(
        site.restarts_observed(1).await,
        "the third failure is the kill"
    );
    site.kubelet_fails_liveness(2).await;
    assert_eq!(
        site.sidecar.get("/livez").await.status,
        503,
        "one restart: still below the breaker"
    );
    site.kubelet_fails_liveness(1).await;
    assert!(
        site.becomes("/livez", 200).await,
        "the breaker holds liveness once the kubelet has restarted WordPress twice"
    );
    let verbose = site.sidecar.get("/livez?verbose").await.body;
    assert!(
        verbose.contains("restart-loop breaker tripped"),
        "{verbose}"
    );
    assert!(site.restarts_observed(2).await);
}

#[tokio::test]
async fn a_restart_both_witnesses_see_counts_once() {
    let site = Site::start(
        "[heal]\npolicy = \"restart\"\nmax_restarts = 2\nliveness_failure_threshold = 2",
    )
    .await;
    site.sed("getenv_docker('WORDPRESS_DB_HOST', 'mysql')", "'hoge'");
    assert!(site.becomes("/livez", 503).await);
    site.kubelet_fails_liveness(2).await;
    // Wait for the healer to take the order before the restart it ordered shows.
    assert!(site.restarts_observed(1).await);
    site.restart_wordpress().await;
    assert!(
        site.stays("/livez", 503, Duration::from_millis(300)).await,
        "the restart polling saw is the one the kubelet ordered: one restart, not two"
    );
    assert!(site.restarts_observed(1).await);
    site.kubelet_fails_liveness(2).await;
    assert!(
        site.becomes("/livez", 200).await,
        "the second order trips the breaker"
    );
}

#[tokio::test]
async fn quarantine_moves_the_file_aside_once_readiness_has_failed() {
    let site = Site::start("[heal]\npolicy = \"quarantine\"\nquarantine_after = \"300ms\"").await;
    site.sed("getenv_docker('WORDPRESS_DB_HOST', 'mysql')", "'hoge'");
    let moved = eventually(Duration::from_secs(3), || async {
        !site.wp_config.exists()
    })
    .await;
    assert!(moved, "the drifted file is moved aside");
    assert_eq!(site.forensic_copies().len(), 1);
    assert_eq!(
        site.sidecar.get("/livez").await.status,
        503,
        "a restart must now regenerate it"
    );
    assert_eq!(site.sidecar.get("/readyz").await.status, 503);
}

#[tokio::test]
async fn hostile_files_get_a_clear_reason_and_never_crash() {
    let site = Site::start("").await;
    let cases: Vec<(&str, Damage)> = vec![
        (
            "holds binary data",
            Box::new(|p: &Path| std::fs::write(p, b"<?php \0\x01\x02").expect("write")),
        ),
        (
            "over the limit",
            Box::new(|p: &Path| std::fs::write(p, vec![b'a'; 2 * 1024 * 1024]).expect("write")),
        ),
        (
            "is empty",
            Box::new(|p: &Path| std::fs::write(p, b"").expect("write")),
        ),
        (
            "is a directory",
            Box::new(|p: &Path| {
                std::fs::remove_file(p).expect("rm");
                std::fs::create_dir(p).expect("mkdir");
            }),
        ),
        (
            "symlink loop",
            Box::new(|p: &Path| {
                std::fs::remove_dir(p).expect("rmdir");
                std::os::unix::fs::symlink(p, p).expect("loop");
            }),
        ),
        (
            "is missing",
            Box::new(|p: &Path| std::fs::remove_file(p).expect("rm")),
        ),
    ];
    for (reason, damage) in cases {
        damage(&site.wp_config);
        let said = eventually(Duration::from_secs(1), || async {
            site.sidecar
                .get("/readyz?verbose")
                .await
                .body
                .contains(reason)
        })
        .await;
        assert!(
            said,
            "{reason}: {}",
            site.sidecar.get("/readyz?verbose").await.body
        );
        assert_eq!(
            site.sidecar.get("/healthz").await.status,
            200,
            "{reason}: the sidecar is fine"
        );
    }
    std::fs::write(&site.wp_config, OFFICIAL).expect("repair");
    assert!(site.becomes("/readyz", 200).await);
}

#[tokio::test]
async fn a_file_missing_from_the_start_is_not_drift() {
    // The native sidecar starts before WordPress writes wp-config.php.
    let dir = tempfile::tempdir().expect("tempdir");
    let wordpress = StandIn::start(Behaviour::Answer(200, "ok".into())).await;
    let toml = format!(
        "wordpress_url = \"{}\"\nwp_config = \"{}/wp-config.php\"\n[wordpress]\ninterval = \"100ms\"\n\
         [mysql]\nenabled = false\n[heal]\npolicy = \"restore\"\n[shutdown]\ndrain = 0\n",
        wordpress.url(),
        dir.path().display()
    );
    let sidecar = Sidecar::start(config(&toml, &env())).await;
    assert!(
        eventually(Duration::from_secs(2), || async {
            sidecar
                .get("/readyz?verbose")
                .await
                .body
                .contains("is missing")
        })
        .await
    );
    assert_eq!(
        sidecar.get("/livez").await.status,
        200,
        "no restart for a file not written yet"
    );
    assert!(
        !dir.path().join("wp-config.php").exists(),
        "nothing to restore from: nothing written"
    );
    std::fs::write(dir.path().join("wp-config.php"), OFFICIAL).expect("the entrypoint writes it");
    assert!(
        eventually(Duration::from_secs(1), || async {
            sidecar.get("/readyz").await.status == 200
        })
        .await
    );
}

#[tokio::test]
async fn with_restore_allowed_the_breaker_restores_instead() {
    let site = Site::start("golden = \"GOLDEN\"\n[heal]\npolicy = \"restart\"\nmax_restarts = 1\nrestore_after_breaker = true").await;
    site.sed(
        "getenv_docker('WORDPRESS_DB_NAME', 'wordpress')",
        "'wordpress_other'",
    );
    assert!(site.becomes("/livez", 503).await);
    assert!(
        site.stays("/livez", 503, Duration::from_millis(300)).await,
        "policy restart: no restore before the breaker"
    );
    site.restart_wordpress().await;
    let restored = eventually(Duration::from_secs(3), || async {
        std::fs::read_to_string(&site.wp_config).is_ok_and(|text| text == OFFICIAL)
    })
    .await;
    assert!(
        restored,
        "after the breaker trips, the golden copy is written back"
    );
    assert!(site.becomes("/readyz", 200).await);
    assert!(site.becomes("/livez", 200).await);
}

/// The password typed into another key (`DB_USER`, `$table_prefix`) is masked by
/// value in every body, the JSON and the metrics: its name says nothing.
#[tokio::test]
async fn the_password_under_another_key_is_masked_by_value() {
    let site = Site::start("").await;
    site.sed(
        "getenv_docker('WORDPRESS_DB_USER', 'example username')",
        &format!("'{PASSWORD}'"),
    );
    assert!(site.becomes("/livez", 503).await);
    let mut everything = String::new();
    for path in [
        "/livez?verbose",
        "/readyz?verbose",
        "/readyz?format=json",
        "/livez/wpconfig?verbose",
        "/metrics",
    ] {
        everything.push_str(&site.sidecar.get(path).await.body);
    }
    assert!(everything.contains("DB_USER"), "{everything}");
    assert!(everything.contains("***"), "{everything}");
    assert!(!everything.contains(PASSWORD), "{everything}");
}
