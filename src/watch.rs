//! inotify → the wp-config check's trigger. It watches the file's parent directory,
//! not the file: Kubernetes updates a mounted ConfigMap or Secret by swapping a
//! symlink, editors and `sed -i` replace the file, and a watch on the old inode
//! would go silent. Any event in the directory triggers a re-read (a cheap one); the
//! check's periodic re-read remains the safety net when watching is impossible.
//!
//! The notify callback runs on notify's own thread: it only wakes the check loop.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::{watch, Notify};

/// Keeps the watcher alive; dropping it stops watching.
pub struct FileWatch {
    _watcher: RecommendedWatcher,
    pub directory: PathBuf,
}

/// Starts watching the directory that holds `file`, waking `trigger` on each event.
pub fn watch_parent(file: &Path, trigger: Arc<Notify>) -> Result<FileWatch, notify::Error> {
    let directory = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reads are no change, and the check's own read of the file would otherwise
        // wake it again, forever. Errors (an overflowed queue) mean "re-read".
        let is_read = matches!(&event, Ok(event) if event.kind.is_access());
        if !is_read {
            trigger.notify_one();
        }
    })?;
    watcher.watch(&directory, RecursiveMode::NonRecursive)?;
    Ok(FileWatch {
        _watcher: watcher,
        directory,
    })
}

/// Keeps a watch on the directory for as long as the sidecar runs, retrying when the
/// directory is missing (a volume not mounted yet) or the watch fails.
pub async fn keep_watching(
    file: PathBuf,
    trigger: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut warned = false;
    loop {
        match watch_parent(&file, trigger.clone()) {
            Ok(active) => {
                tracing::info!(directory = %active.directory.display(), "watching wp-config.php's directory");
                // A watched directory that is deleted and recreated needs a new watch;
                // renew it from time to time rather than trusting one forever.
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(Duration::from_secs(300)) => {}
                }
                drop(active);
                warned = false;
            }
            Err(error) => {
                if !warned {
                    tracing::warn!(%error, file = %file.display(), "cannot watch wp-config.php's directory; relying on periodic re-reads");
                    warned = true;
                }
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Waits for one wake-up of `trigger` within a second.
    async fn woken(trigger: &Notify) -> bool {
        tokio::time::timeout(Duration::from_secs(1), trigger.notified())
            .await
            .is_ok()
    }

    async fn settle(trigger: &Notify) {
        // Drain wake-ups from the set-up itself.
        while tokio::time::timeout(Duration::from_millis(100), trigger.notified())
            .await
            .is_ok()
        {}
    }

    #[tokio::test]
    async fn every_kind_of_change_is_seen_within_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wp-config.php");
        std::fs::write(&file, "<?php define('DB_HOST', 'db');").unwrap();
        let trigger = Arc::new(Notify::new());
        let _watch = watch_parent(&file, trigger.clone()).unwrap();
        settle(&trigger).await;

        // In-place edit.
        std::fs::write(&file, "<?php define('DB_HOST', 'hoge');").unwrap();
        assert!(woken(&trigger).await, "in-place edit");
        settle(&trigger).await;

        // Atomic replace, as editors and `sed -i` do.
        let temporary = dir.path().join(".wp-config.php.tmp");
        std::fs::write(&temporary, "<?php define('DB_HOST', 'db');").unwrap();
        std::fs::rename(&temporary, &file).unwrap();
        assert!(woken(&trigger).await, "atomic replace");
        settle(&trigger).await;

        // Delete and recreate.
        std::fs::remove_file(&file).unwrap();
        assert!(woken(&trigger).await, "delete");
        settle(&trigger).await;
        std::fs::write(&file, "<?php").unwrap();
        assert!(woken(&trigger).await, "recreate");
        settle(&trigger).await;

        // Permissions removed.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
        assert!(woken(&trigger).await, "chmod");
    }

    #[tokio::test]
    async fn a_configmap_style_symlink_swap_is_seen() {
        // Kubernetes: wp-config.php -> ..data/wp-config.php, ..data -> ..2026_01_01; an
        // update writes a new timestamped directory and renames a new ..data over the old.
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("..2026_11_27_1");
        std::fs::create_dir(&first).unwrap();
        std::fs::write(first.join("wp-config.php"), "<?php // one").unwrap();
        std::os::unix::fs::symlink("..2026_11_27_1", dir.path().join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/wp-config.php", dir.path().join("wp-config.php"))
            .unwrap();
        let file = dir.path().join("wp-config.php");
        let trigger = Arc::new(Notify::new());
        let _watch = watch_parent(&file, trigger.clone()).unwrap();
        settle(&trigger).await;

        let second = dir.path().join("..2026_11_27_2");
        std::fs::create_dir(&second).unwrap();
        std::fs::write(second.join("wp-config.php"), "<?php // two").unwrap();
        std::os::unix::fs::symlink("..2026_11_27_2", dir.path().join("..data_tmp")).unwrap();
        std::fs::rename(dir.path().join("..data_tmp"), dir.path().join("..data")).unwrap();
        assert!(woken(&trigger).await, "symlink swap");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "<?php // two");
    }

    #[tokio::test]
    async fn reading_the_file_is_no_change() {
        // Regression: the check's own read woke the check again, a busy loop.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wp-config.php");
        std::fs::write(&file, "<?php").unwrap();
        let trigger = Arc::new(Notify::new());
        let _watch = watch_parent(&file, trigger.clone()).unwrap();
        settle(&trigger).await;
        for _ in 0..3 {
            std::fs::read(&file).unwrap();
        }
        assert!(!woken(&trigger).await, "reads must not trigger a re-check");
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_panic() {
        let trigger = Arc::new(Notify::new());
        assert!(watch_parent(Path::new("/nonexistent/dir/wp-config.php"), trigger).is_err());
    }
}
