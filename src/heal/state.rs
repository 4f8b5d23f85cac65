//! The healer's memory on a volume of the pod (`heal.state_file`), so that a restart
//! of the sidecar in the middle of a drift episode does not reset the restart-loop
//! breaker into a new restart loop, nor forget the baseline fingerprint and the last
//! healthy copy of `wp-config.php`.
//!
//! One small JSON file, written atomically (a temporary file in the same directory,
//! mode 0600, fsync, rename, fsync of the directory) whenever what it holds changes.
//! Reading is bounded; a file that is missing starts fresh, one that is unreadable,
//! too big or not this format starts fresh with a warning (never a failed start: the
//! sidecar must come back).

use std::fs;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checks::wpconfig::{GoodCopy, Owner};

/// Format version: a file of another version is ignored.
const VERSION: u32 = 1;

/// What survives a sidecar restart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub version: u32,
    /// Restarts of WordPress for the current drift, and whether the breaker tripped.
    pub unhealed_restarts: u32,
    pub tripped: bool,
    /// The wp-config check's memory.
    pub file: FileMemory,
}

/// The wp-config check's memory of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMemory {
    /// Hex sha256 of the normalised reference file.
    pub baseline: Option<String>,
    /// The file was seen matching once: its disappearance is drift.
    pub seen_good: bool,
    pub last_good: Option<SavedCopy>,
}

/// The last healthy copy (only when it is UTF-8 text, as `wp-config.php` is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCopy {
    pub text: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl SavedCopy {
    pub fn from_good(good: &GoodCopy) -> Option<SavedCopy> {
        Some(SavedCopy {
            text: String::from_utf8(good.bytes.clone()).ok()?,
            mode: good.owner.mode,
            uid: good.owner.uid,
            gid: good.owner.gid,
        })
    }

    pub fn to_good(&self) -> GoodCopy {
        GoodCopy {
            bytes: self.text.clone().into_bytes(),
            owner: Owner {
                mode: self.mode,
                uid: self.uid,
                gid: self.gid,
            },
        }
    }
}

/// Where the memory lives, and how big its file may be.
#[derive(Clone, Debug)]
pub struct StateFile {
    pub path: PathBuf,
    pub max_bytes: u64,
}

impl StateFile {
    /// `max_file_bytes` is `wpconfig.max_bytes`: the copy is the bulk of the file.
    pub fn new(path: PathBuf, max_file_bytes: u64) -> StateFile {
        StateFile {
            path,
            max_bytes: max_file_bytes.saturating_mul(2).saturating_add(64 * 1024),
        }
    }

    /// The saved memory; fresh when there is none or it cannot be used (said once).
    pub fn load(&self) -> Saved {
        match self.try_load() {
            Ok(Some(saved)) => {
                tracing::info!(
                    state_file = %self.path.display(),
                    unhealed_restarts = saved.unhealed_restarts,
                    tripped = saved.tripped,
                    "healer memory loaded from the state file"
                );
                saved
            }
            Ok(None) => Saved::default(),
            Err(error) => {
                tracing::warn!(state_file = %self.path.display(), %error, "state file ignored: starting with a fresh memory");
                Saved::default()
            }
        }
    }

    fn try_load(&self) -> Result<Option<Saved>, String> {
        let file = match fs::File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(format!("cannot open it: {error}")),
        };
        let metadata = file
            .metadata()
            .map_err(|e| format!("cannot stat it: {e}"))?;
        if !metadata.is_file() {
            return Err("not a regular file".into());
        }
        let mut bytes = Vec::new();
        file.take(self.max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read it: {e}"))?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(format!("larger than {} bytes", self.max_bytes));
        }
        let saved: Saved =
            serde_json::from_slice(&bytes).map_err(|e| format!("not a state file: {e}"))?;
        if saved.version != VERSION {
            return Err(format!(
                "version {} (this build reads {VERSION})",
                saved.version
            ));
        }
        Ok(Some(saved))
    }

    /// Writes `saved` atomically, mode 0600.
    pub fn save(&self, saved: &Saved) -> Result<(), String> {
        let mut saved = saved.clone();
        saved.version = VERSION;
        let mut bytes = serde_json::to_vec(&saved).map_err(|e| e.to_string())?;
        if bytes.len() as u64 > self.max_bytes {
            // Too big to keep whole: the copy goes, the breaker stays.
            saved.file.last_good = None;
            bytes = serde_json::to_vec(&saved).map_err(|e| e.to_string())?;
        }
        let directory = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".into());
        let temporary = directory.join(format!(".{name}.{}.tmp", std::process::id()));
        let _ = fs::remove_file(&temporary);
        let written = (|| -> std::io::Result<()> {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&temporary, &self.path)?;
            if let Ok(dir) = fs::File::open(directory) {
                let _ = dir.sync_all();
            }
            Ok(())
        })();
        written.map_err(|error| {
            let _ = fs::remove_file(&temporary);
            format!("cannot write {}: {error}", self.path.display())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn state(dir: &Path) -> StateFile {
        StateFile::new(dir.join("state.json"), 1024)
    }

    #[test]
    fn saved_memory_comes_back_and_the_file_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = state(dir.path());
        assert_eq!(file.load(), Saved::default(), "no file: a fresh memory");
        let saved = Saved {
            version: VERSION,
            unhealed_restarts: 2,
            tripped: true,
            file: FileMemory {
                baseline: Some("ab".repeat(32)),
                seen_good: true,
                last_good: Some(SavedCopy {
                    text: "<?php define('DB_HOST', 'db');".into(),
                    mode: 0o640,
                    uid: 33,
                    gid: 33,
                }),
            },
        };
        file.save(&saved).expect("save");
        assert_eq!(file.load(), saved);
        let mode = fs::metadata(&file.path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
    }

    #[test]
    fn a_broken_file_is_ignored_not_fatal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = state(dir.path());
        for bad in [
            &b"{not json"[..],
            br#"{"version": 99, "unhealed_restarts": 5, "tripped": true, "file": {"baseline": null, "seen_good": false, "last_good": null}}"#,
            &[b'x'; 5000][..],
        ] {
            fs::write(&file.path, bad).expect("write");
            assert_eq!(file.load(), Saved::default());
        }
        fs::remove_file(&file.path).expect("rm");
        fs::create_dir(&file.path).expect("a directory in its place");
        assert_eq!(file.load(), Saved::default());
    }

    #[test]
    fn a_copy_too_big_to_keep_is_dropped_and_the_breaker_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = StateFile {
            path: dir.path().join("state.json"),
            max_bytes: 300,
        };
        let mut saved = Saved {
            unhealed_restarts: 3,
            tripped: true,
            ..Saved::default()
        };
        saved.file.last_good = Some(SavedCopy {
            text: "x".repeat(1000),
            mode: 0o644,
            uid: 0,
            gid: 0,
        });
        file.save(&saved).expect("save");
        let back = file.load();
        assert_eq!((back.unhealed_restarts, back.tripped), (3, true));
        assert_eq!(back.file.last_good, None);
    }
}
