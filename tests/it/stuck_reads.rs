//! No read can park the wp-config check: a FIFO put in place of `wp-config.php`
//! (opened without blocking, its type checked on the opened descriptor), a file and
//! a FIFO swapped thousands of times while the check runs, and a read that blocks
//! (a test reader that opens a FIFO the old, blocking way): its expiry is a
//! verdict, the stuck thread is not joined by more, and the check recovers once the
//! read returns. Also a dangling symlink after a good copy: missing, so drift.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wp_sentinel::checks::wpconfig::{
    from_config, read_bounded_with_owner, FileRead, Owner, WpConfigCheck,
};
use wp_sentinel::verdict::{Class, Status};

use crate::support::config;

const OFFICIAL: &str = include_str!("../fixtures/wpconfig/docker.php");

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("WORDPRESS_DB_HOST", "db.example:3306"),
        ("WORDPRESS_DB_USER", "wp"),
        ("WORDPRESS_DB_PASSWORD", "Stuck-Read-Pa55word"),
        ("WORDPRESS_DB_NAME", "wordpress"),
    ]
}

struct Docroot {
    dir: tempfile::TempDir,
    wp_config: PathBuf,
}

fn docroot() -> Docroot {
    let dir = tempfile::tempdir().expect("tempdir");
    let wp_config = dir.path().join("wp-config.php");
    std::fs::write(&wp_config, OFFICIAL).expect("write wp-config.php");
    Docroot { dir, wp_config }
}

fn check_for(wp_config: &Path, timeout: &str) -> WpConfigCheck {
    let toml = format!(
        "wp_config = \"{}\"\n[mysql]\nenabled = false\n[wpconfig]\ntimeout = \"{timeout}\"\n",
        wp_config.display()
    );
    from_config(&config(&toml, &env()).wpconfig).expect("the check")
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[tokio::test]
async fn a_fifo_in_place_of_wp_config_is_a_verdict_not_a_hang() {
    let site = docroot();
    let check = check_for(&site.wp_config, "5s");
    assert_eq!(check.run().await.class, Class::Ok);
    std::fs::remove_file(&site.wp_config).expect("remove");
    mkfifo(&site.wp_config);
    // Nobody ever opens the FIFO for writing: a blocking open would wait for good.
    let observation = check.run().await;
    assert_eq!(observation.status, Status::Fail);
    assert_eq!(
        observation.class,
        Class::Drift,
        "a FIFO after a good copy is drift: {}",
        observation.message
    );
    assert!(
        observation.message.contains("not a regular file"),
        "{}",
        observation.message
    );
    // And the type came from the opened descriptor.
    let (read, owner) = read_bounded_with_owner(&site.wp_config, 1 << 20);
    assert_eq!(read, FileRead::NotAFile);
    assert!(owner.is_some(), "fstat of the opened FIFO");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_a_file_and_a_fifo_never_parks_the_reader() {
    let site = docroot();
    let check = check_for(&site.wp_config, "5s");
    assert_eq!(check.run().await.class, Class::Ok);
    let fifo = site.dir.path().join("fifo");
    let file = site.dir.path().join("file");
    mkfifo(&fifo);
    std::fs::write(&file, OFFICIAL).expect("file");
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicUsize::new(0));
    // Swap wp-config.php between the regular file and the FIFO, by atomic renames
    // through hard links, at most 20,000 times.
    let swapper = {
        let (stop, swaps, target) = (stop.clone(), swaps.clone(), site.wp_config.clone());
        let (fifo, file) = (fifo.clone(), file.clone());
        let staging = site.dir.path().join("staging");
        std::thread::spawn(move || {
            for round in 0..20_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let source = if round % 2 == 0 { &fifo } else { &file };
                let _ = std::fs::remove_file(&staging);
                if std::fs::hard_link(source, &staging).is_ok()
                    && std::fs::rename(&staging, &target).is_ok()
                {
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    let mut timed_out = 0;
    for _ in 0..400 {
        let observation = check.run().await;
        if observation.class == Class::Timeout {
            timed_out += 1;
        }
        *seen
            .entry(observation.class.as_str().to_string())
            .or_default() += 1;
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().expect("swapper");
    assert!(swaps.load(Ordering::Relaxed) > 100, "the swapper ran");
    assert_eq!(timed_out, 0, "no read was stuck: {seen:?}");
    assert!(
        seen.get("drift").copied().unwrap_or(0) > 0,
        "the FIFO was seen: {seen:?}"
    );
}

/// A reader whose first read opens the FIFO at `path` the blocking way, as the
/// reader once did (later reads are the real ones), and counts the reads running.
fn blocking_reader(running: Arc<AtomicUsize>) -> wp_sentinel::checks::wpconfig::Reader {
    let first = Arc::new(AtomicBool::new(true));
    Arc::new(
        move |path: &Path, max_bytes: u64| -> (FileRead, Option<Owner>) {
            running.fetch_add(1, Ordering::SeqCst);
            if first.swap(false, Ordering::SeqCst) {
                // Blocks until someone opens the FIFO for writing.
                drop(std::fs::File::open(path));
            }
            let read = read_bounded_with_owner(path, max_bytes);
            running.fetch_sub(1, Ordering::SeqCst);
            read
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_blocks_expires_into_a_verdict_and_is_not_joined_by_more() {
    let site = docroot();
    std::fs::remove_file(&site.wp_config).expect("remove");
    mkfifo(&site.wp_config);
    let running = Arc::new(AtomicUsize::new(0));
    let check = check_for(&site.wp_config, "200ms").with_reader(blocking_reader(running.clone()));
    let first = check.run().await;
    assert_eq!(first.class, Class::Timeout, "{}", first.message);
    assert!(
        first.message.contains("did not finish"),
        "{}",
        first.message
    );
    for _ in 0..5 {
        let again = check.run().await;
        assert_eq!(again.class, Class::Timeout);
        assert!(again.message.contains("still stuck"), "{}", again.message);
    }
    assert_eq!(
        running.load(Ordering::SeqCst),
        1,
        "one stuck thread, not six"
    );
    // The volume comes back: a writer opens the FIFO, the stuck open returns.
    let fifo = site.wp_config.clone();
    let writer = std::thread::spawn(move || {
        let _writer = std::fs::OpenOptions::new().write(true).open(&fifo);
    });
    writer.join().expect("writer");
    let mut recovered = false;
    for _ in 0..100 {
        let observation = check.run().await;
        if !observation.message.contains("still stuck") {
            assert_eq!(
                observation.class,
                Class::FileProblem,
                "{}",
                observation.message
            );
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        recovered,
        "the check reads again once the stuck read returned"
    );
    assert_eq!(running.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_dangling_symlink_after_a_good_copy_is_drift() {
    let site = docroot();
    let check = check_for(&site.wp_config, "5s");
    assert_eq!(check.run().await.class, Class::Ok);
    std::fs::remove_file(&site.wp_config).expect("remove");
    std::os::unix::fs::symlink(site.dir.path().join("nowhere.php"), &site.wp_config)
        .expect("symlink");
    let observation = check.run().await;
    assert_eq!(observation.class, Class::Drift, "{}", observation.message);
    assert!(
        observation.message.contains("missing"),
        "{}",
        observation.message
    );
}

/// The sidecar may run as root and read anything: what counts is whether WordPress
/// (uid and gid 33 in the manifests) can read the file.
#[tokio::test]
async fn a_file_wordpress_cannot_read_is_a_verdict_even_when_the_sidecar_can() {
    use std::os::unix::fs::PermissionsExt;
    let site = docroot();
    let check = check_for(&site.wp_config, "5s");
    let set = |mode: u32| {
        std::fs::set_permissions(&site.wp_config, std::fs::Permissions::from_mode(mode))
            .expect("chmod")
    };
    let owner = std::fs::metadata(&site.wp_config)
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .expect("metadata");
    assert_ne!(owner, 33, "the test's file is not www-data's");
    set(0o644);
    assert_eq!(check.run().await.class, Class::Ok);
    for mode in [0o000, 0o600, 0o640] {
        set(mode);
        let observation = check.run().await;
        assert_eq!(observation.class, Class::FileProblem, "mode {mode:o}");
        assert!(
            observation
                .message
                .contains("cannot be read by WordPress (uid 33"),
            "{}",
            observation.message
        );
    }
    set(0o604);
    assert_eq!(check.run().await.class, Class::Ok);
}
