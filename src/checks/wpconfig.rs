//! The wp-config drift check: reads `wp-config.php` (bounded, never following a loop,
//! never trusting its content), hands the bytes to the pure reader and comparison in
//! `wpconfig/`, and turns the result into an observation. It also keeps the hash
//! baseline (changes outside the pinned keys are `warn`) and remembers the last copy
//! seen healthy, for the healer.
//!
//! It never writes the file: healing is `heal.rs`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokio::time::Instant;

use crate::verdict::{Class, Observation, Status};

/// What reading the file gave.
#[derive(Debug, PartialEq, Eq)]
pub enum FileRead {
    Bytes(Vec<u8>),
    Missing,
    Empty,
    Directory,
    NotAFile,
    SymlinkLoop,
    TooLarge(u64),
    Binary,
    Unreadable(String),
}

impl FileRead {
    /// A sentence for the verdict, naming the path.
    pub fn describe(&self, path: &Path) -> String {
        let path = path.display();
        match self {
            FileRead::Bytes(bytes) => format!("{path}: {} bytes", bytes.len()),
            FileRead::Missing => format!("{path} is missing"),
            FileRead::Empty => format!("{path} is empty"),
            FileRead::Directory => format!("{path} is a directory, not a file"),
            FileRead::NotAFile => format!("{path} is not a regular file"),
            FileRead::SymlinkLoop => format!("{path} is a symlink loop"),
            FileRead::TooLarge(size) => format!("{path} is {size} bytes, over the limit: not read"),
            FileRead::Binary => format!("{path} holds binary data (NUL bytes): not a PHP file"),
            FileRead::Unreadable(error) => format!("{path} cannot be read: {error}"),
        }
    }
}

/// Reads at most `max_bytes`; everything that is not a readable PHP text file gets
/// its own answer. Blocking: call it from `spawn_blocking`.
pub fn read_bounded(path: &Path, max_bytes: u64) -> FileRead {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) => return classify_io_error(path, &error),
    };
    if metadata.is_dir() {
        return FileRead::Directory;
    }
    if !metadata.is_file() {
        // A FIFO or a device would block or never end: do not open it.
        return FileRead::NotAFile;
    }
    if metadata.len() > max_bytes {
        return FileRead::TooLarge(metadata.len());
    }
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => return classify_io_error(path, &error),
    };
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The file may grow between stat and read: read one byte past the limit to tell.
    if let Err(error) = file.take(max_bytes + 1).read_to_end(&mut bytes) {
        return FileRead::Unreadable(error.to_string());
    }
    if bytes.len() as u64 > max_bytes {
        return FileRead::TooLarge(bytes.len() as u64);
    }
    if bytes.is_empty() || bytes.iter().all(u8::is_ascii_whitespace) {
        return FileRead::Empty;
    }
    if bytes.contains(&0) {
        return FileRead::Binary;
    }
    FileRead::Bytes(bytes)
}

fn classify_io_error(path: &Path, error: &std::io::Error) -> FileRead {
    // ELOOP: too many levels of symbolic links.
    if error.raw_os_error() == Some(40) {
        return FileRead::SymlinkLoop;
    }
    match error.kind() {
        std::io::ErrorKind::NotFound => {
            // A dangling symlink is "missing" too, but say so.
            if path.symlink_metadata().is_ok() {
                FileRead::Unreadable("dangling symlink".to_string())
            } else {
                FileRead::Missing
            }
        }
        std::io::ErrorKind::PermissionDenied => {
            FileRead::Unreadable("permission denied".to_string())
        }
        _ => FileRead::Unreadable(error.to_string()),
    }
}

/// The check.
pub struct WpConfigCheck {
    path: PathBuf,
    max_bytes: u64,
    state: Mutex<Baseline>,
}

#[derive(Default)]
struct Baseline {
    /// Hash of the first file seen without drift; later differences are `warn`.
    hash: Option<[u8; 32]>,
}

impl WpConfigCheck {
    pub fn new(path: PathBuf, max_bytes: u64) -> Self {
        WpConfigCheck {
            path,
            max_bytes,
            state: Mutex::new(Baseline::default()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn run(&self) -> Observation {
        let started = Instant::now();
        let path = self.path.clone();
        let max_bytes = self.max_bytes;
        let read = tokio::task::spawn_blocking(move || read_bounded(&path, max_bytes))
            .await
            .unwrap_or_else(|error| FileRead::Unreadable(format!("reader task failed: {error}")));
        self.evaluate(read, started)
    }

    fn evaluate(&self, read: FileRead, started: Instant) -> Observation {
        let bytes = match read {
            FileRead::Bytes(bytes) => bytes,
            other => {
                return Observation::fail(Class::FileProblem, other.describe(&self.path), started)
            }
        };
        let hash = sha256(&bytes);
        let mut baseline = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match baseline.hash {
            None => {
                baseline.hash = Some(hash);
                Observation::pass("wp-config.php read", started)
            }
            Some(known) if known == hash => Observation::pass("wp-config.php unchanged", started),
            Some(_) => Observation::new(
                Status::Warn,
                Class::ChangedOutsidePins,
                "wp-config.php changed",
                started,
            ),
        }
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
