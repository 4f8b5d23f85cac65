//! The file operations of healing, blocking and small: write a copy back atomically
//! (temporary file in the same directory, fsync, owner and mode, rename, fsync of the
//! directory), and keep the drifted file aside for forensics.
//!
//! Forensic copies hold the database password, and the docroot is served by the web
//! server: by default they are kept beside the file under a name starting with
//! `.ht`, which Apache's default configuration refuses to serve, with mode 0600.
//! `heal.forensics_dir` should point at a volume that is not served at all.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::checks::wpconfig::{GoodCopy, Owner};

/// How many forensic copies to keep per directory; older ones are removed.
const KEEP_COPIES: usize = 10;
const PREFIX: &str = ".ht-wp-sentinel-";

/// Writes `bytes` to `path` atomically and keeps what was there aside. Owner and mode
/// come from the file being replaced, else from `good`, else 0640. Returns where
/// the drifted copy was kept (or would have been, when there was none).
pub fn restore(
    path: &Path,
    bytes: &[u8],
    good: Option<&GoodCopy>,
    forensics_dir: Option<&Path>,
) -> Result<PathBuf, String> {
    let directory = parent(path);
    let current = fs::symlink_metadata(path).ok().filter(|m| m.is_file());
    let owner = current
        .as_ref()
        .map(Owner::of)
        .or(good.map(|good| good.owner));
    let kept = forensic_path(path, forensics_dir, "drifted");
    if current.is_some() {
        keep_copy(path, &kept)?;
    }
    let temporary = directory.join(format!("{PREFIX}restore-{}.tmp", std::process::id()));
    let _ = fs::remove_file(&temporary);
    let mode = owner.map_or(0o640, |owner| owner.mode);
    let written = write_new(&temporary, bytes, mode, owner);
    if let Err(error) = written {
        let _ = fs::remove_file(&temporary);
        return Err(error);
    }
    fs::rename(&temporary, path).map_err(|error| {
        let _ = fs::remove_file(&temporary);
        format!(
            "cannot rename the restored copy over {}: {error}",
            path.display()
        )
    })?;
    sync_directory(&directory);
    let back =
        fs::read(path).map_err(|error| format!("cannot read back {}: {error}", path.display()))?;
    if back != bytes {
        return Err(format!(
            "{} does not hold the restored bytes after the rename",
            path.display()
        ));
    }
    prune(forensics_dir.unwrap_or(&directory));
    Ok(kept)
}

/// Moves the drifted file aside (a rename when on the same file system).
pub fn quarantine(path: &Path, forensics_dir: Option<&Path>) -> Result<PathBuf, String> {
    if fs::symlink_metadata(path).is_err() {
        return Err(format!("{} is already gone", path.display()));
    }
    let kept = forensic_path(path, forensics_dir, "quarantined");
    if fs::rename(path, &kept).is_err() {
        keep_copy(path, &kept)?;
        fs::remove_file(path)
            .map_err(|error| format!("cannot remove {}: {error}", path.display()))?;
    }
    let _ = fs::set_permissions(&kept, fs::Permissions::from_mode(0o600));
    sync_directory(&parent(path));
    prune(forensics_dir.unwrap_or(&parent(path)));
    Ok(kept)
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.ht-wp-sentinel-wp-config.php.drifted-20261127T134501.123Z`
fn forensic_path(path: &Path, forensics_dir: Option<&Path>, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "wp-config.php".into());
    let stamp = crate::server::rfc3339(SystemTime::now()).replace([':', '-'], "");
    let directory = forensics_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| parent(path));
    directory.join(format!("{PREFIX}{name}.{what}-{stamp}"))
}

/// Copies `from` to `to` with mode 0600 (it holds secrets), fsynced.
fn keep_copy(from: &Path, to: &Path) -> Result<(), String> {
    let bytes = read_regular(from, KEEP_LIMIT)
        .map_err(|error| format!("cannot read {} to keep it: {error}", from.display()))?;
    write_new(to, &bytes, 0o600, None)
}

/// The most of a drifted file kept for forensics.
const KEEP_LIMIT: u64 = 64 * 1024 * 1024;

/// Reads a regular file without blocking on a FIFO (opened `O_NONBLOCK`, type checked
/// on the descriptor), at most `limit` bytes.
fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Creates `path` (which must not exist), writes, sets `mode` and `owner`'s uid and
/// gid (the sidecar's own without it), fsyncs.
fn write_new(path: &Path, bytes: &[u8], mode: u32, owner: Option<Owner>) -> Result<(), String> {
    let describe =
        |what: &str, error: std::io::Error| format!("cannot {what} {}: {error}", path.display());
    let mut file: File = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| describe("create", e))?;
    file.write_all(bytes).map_err(|e| describe("write", e))?;
    if let Some(Owner { uid, gid, .. }) = owner {
        // Only root may give a file away; a sidecar running as the file's owner
        // already writes it with the right owner.
        if let Err(error) = std::os::unix::fs::fchown(&file, Some(uid), Some(gid)) {
            let same = fs::metadata(path)
                .map(|m| m.uid() == uid && m.gid() == gid)
                .unwrap_or(false);
            if !same {
                tracing::warn!(path = %path.display(), %error, "cannot keep the file's owner");
            }
        }
    }
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| describe("set the mode of", e))?;
    file.sync_all().map_err(|e| describe("fsync", e))
}

fn sync_directory(directory: &Path) {
    if let Ok(handle) = File::open(directory) {
        let _ = handle.sync_all();
    }
}

/// Keeps the newest `KEEP_COPIES` forensic copies.
fn prune(directory: &Path) {
    let Ok(entries) = fs::read_dir(directory) else {
        return;
    };
    let mut copies: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.starts_with(PREFIX) && !name.ends_with(".tmp")
        })
        .collect();
    copies.sort();
    let excess = copies.len().saturating_sub(KEEP_COPIES);
    for old in copies.into_iter().take(excess) {
        let _ = fs::remove_file(old);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn forensic_files(directory: &Path) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = fs::read_dir(directory)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(PREFIX))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn restore_writes_the_exact_bytes_keeps_owner_and_mode_and_the_drifted_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wp-config.php");
        fs::write(&path, b"<?php define('DB_HOST', 'hoge');").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::chown(&path, Some(33), Some(33)).unwrap();
        let good = b"<?php define('DB_HOST', getenv_docker('WORDPRESS_DB_HOST', 'mysql'));\n";

        let kept = restore(&path, good, None, None).unwrap();

        assert_eq!(fs::read(&path).unwrap(), good);
        let metadata = fs::metadata(&path).unwrap();
        assert_eq!(metadata.mode() & 0o7777, 0o640);
        assert_eq!((metadata.uid(), metadata.gid()), (33, 33));
        assert_eq!(
            fs::read(&kept).unwrap(),
            b"<?php define('DB_HOST', 'hoge');"
        );
        assert_eq!(
            fs::metadata(&kept).unwrap().mode() & 0o777,
            0o600,
            "forensic copies hold secrets"
        );
        assert!(
            kept.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".ht"),
            "Apache refuses .ht* names"
        );
        assert_eq!(
            forensic_files(dir.path()),
            vec![kept],
            "no temporary file is left behind"
        );
    }

    #[test]
    fn an_interrupted_restore_leaves_the_old_file_whole_and_no_partial_file() {
        // A temporary file left by an earlier, interrupted restore (as a crash between
        // write and rename would leave it) is replaced, and the target is never partial.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wp-config.php");
        fs::write(&path, b"drifted").unwrap();
        let stale = dir
            .path()
            .join(format!("{PREFIX}restore-{}.tmp", std::process::id()));
        fs::write(&stale, b"half a fi").unwrap();
        restore(&path, b"good bytes", None, None).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"good bytes");
        assert!(!stale.exists());

        // A failure before the rename (the directory is read-only to the writer) leaves
        // the old file untouched and no temporary file.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        let nested = blocked.join("wp-config.php");
        fs::write(&nested, b"drifted").unwrap();
        let result = restore(
            &nested,
            b"good",
            None,
            Some(Path::new("/nonexistent/forensics")),
        );
        assert!(result.is_err());
        assert_eq!(
            fs::read(&nested).unwrap(),
            b"drifted",
            "the old file is whole"
        );
        assert_eq!(
            fs::read_dir(&blocked).unwrap().count(),
            1,
            "nothing partial is left"
        );
    }

    #[test]
    fn restore_of_a_missing_file_uses_the_good_copys_owner_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wp-config.php");
        let good = GoodCopy {
            bytes: b"<?php".to_vec(),
            owner: Owner {
                mode: 0o604,
                uid: 33,
                gid: 34,
            },
        };
        restore(&path, &good.bytes, Some(&good), None).unwrap();
        let metadata = fs::metadata(&path).unwrap();
        assert_eq!(
            (metadata.mode() & 0o7777, metadata.uid(), metadata.gid()),
            (0o604, 33, 34)
        );
    }

    #[test]
    fn quarantine_moves_the_file_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wp-config.php");
        fs::write(&path, b"drifted").unwrap();
        let kept = quarantine(&path, None).unwrap();
        assert!(!path.exists());
        assert_eq!(fs::read(&kept).unwrap(), b"drifted");
        assert!(quarantine(&path, None).is_err(), "nothing left to move");
    }

    #[test]
    fn old_forensic_copies_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..15 {
            fs::write(
                dir.path()
                    .join(format!("{PREFIX}wp-config.php.drifted-2026{n:02}")),
                b"x",
            )
            .unwrap();
        }
        prune(dir.path());
        let left = forensic_files(dir.path());
        assert_eq!(left.len(), KEEP_COPIES);
        assert!(
            left[0].to_string_lossy().ends_with("drifted-202605"),
            "the oldest go first"
        );
    }
}
