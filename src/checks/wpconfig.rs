//! The wp-config drift check: reads `wp-config.php` (bounded, never following a loop,
//! never trusting its content), hands the bytes to the pure reader and comparison in
//! `wpconfig/`, and turns the result into an observation. It also keeps the hash
//! baseline (changes outside the pinned keys are `warn`) and remembers the last copy
//! seen healthy, for the healer.
//!
//! It never writes the file: healing is `heal.rs`.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::checks::{Check, Pending};
use crate::config::{Schedule, WpConfigConfig};
use crate::secret::Redactor;
use crate::verdict::{CheckName, Class, Observation, Status};
use crate::wordpress_env::{EnvLookup, ImageEnvironment};
use crate::wpconfig::drift::{self, Desired, Drift, Expectation};
use crate::wpconfig::reader::{self, Resolved};

/// What reading the file gave.
#[derive(Debug, PartialEq, Eq)]
pub enum FileRead {
    Bytes(Vec<u8>),
    Missing,
    /// A symlink whose target does not exist: missing, for WordPress.
    DanglingSymlink,
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
            FileRead::DanglingSymlink => {
                format!("{path} is missing (a symlink to a file that does not exist)")
            }
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

/// A file's permission bits and owner, read once per run (`fstat` of the opened
/// descriptor) and carried with what was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The permission bits (`& 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    pub fn of(metadata: &std::fs::Metadata) -> Owner {
        Owner {
            mode: metadata.mode() & 0o7777,
            uid: metadata.uid(),
            gid: metadata.gid(),
        }
    }
}

/// Reads at most `max_bytes`; everything that is not a readable PHP text file gets
/// its own answer. Blocking: call it from `spawn_blocking`.
pub fn read_bounded(path: &Path, max_bytes: u64) -> FileRead {
    read_bounded_with_owner(path, max_bytes).0
}

/// `read_bounded`, and the owner and mode `fstat` gave for the very file read.
///
/// The file is opened without blocking (`O_NONBLOCK`: opening a FIFO waits for a
/// writer otherwise, for good if none comes) and without becoming a controlling
/// terminal, and its type is checked on the opened descriptor: a check on the path
/// before opening races with whoever swaps a FIFO or a device into its place.
pub fn read_bounded_with_owner(path: &Path, max_bytes: u64) -> (FileRead, Option<Owner>) {
    use std::os::unix::fs::OpenOptionsExt;
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(file) => file,
        Err(error) => return (classify_io_error(path, &error), None),
    };
    let metadata = match file.metadata() {
        Ok(metadata) => metadata,
        Err(error) => return (classify_io_error(path, &error), None),
    };
    let owner = Some(Owner::of(&metadata));
    if metadata.is_dir() {
        return (FileRead::Directory, owner);
    }
    if !metadata.is_file() {
        // A FIFO or a device would block or never end: never read it.
        return (FileRead::NotAFile, owner);
    }
    if metadata.len() > max_bytes {
        return (FileRead::TooLarge(metadata.len()), owner);
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The file may grow between fstat and read: read one byte past the limit to tell.
    if let Err(error) = file.take(max_bytes + 1).read_to_end(&mut bytes) {
        return (FileRead::Unreadable(error.to_string()), owner);
    }
    if bytes.len() as u64 > max_bytes {
        return (FileRead::TooLarge(bytes.len() as u64), owner);
    }
    if bytes.is_empty() || bytes.iter().all(u8::is_ascii_whitespace) {
        return (FileRead::Empty, owner);
    }
    if bytes.contains(&0) {
        return (FileRead::Binary, owner);
    }
    (FileRead::Bytes(bytes), owner)
}

fn classify_io_error(path: &Path, error: &std::io::Error) -> FileRead {
    if error.raw_os_error() == Some(libc::ELOOP) {
        return FileRead::SymlinkLoop;
    }
    match error.kind() {
        std::io::ErrorKind::NotFound => {
            // A dangling symlink: WordPress finds no file either, so it is missing
            // (drift once a good copy was seen), and the verdict says why.
            if path.symlink_metadata().is_ok() {
                FileRead::DanglingSymlink
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

/// A copy of the file as it was when it matched the desired state, with the owner and
/// mode to restore it with.
#[derive(Clone, Debug)]
pub struct GoodCopy {
    pub bytes: Vec<u8>,
    pub owner: Owner,
}

/// How the check reads the file: `read_bounded_with_owner`, unless a test says so.
pub type Reader = Arc<dyn Fn(&Path, u64) -> (FileRead, Option<Owner>) + Send + Sync>;

/// The check.
pub struct WpConfigCheck {
    path: PathBuf,
    max_bytes: u64,
    /// WordPress's uid and gid (see `WpConfigConfig`).
    reader_ids: (u32, u32),
    schedule: Schedule,
    reader: Reader,
    /// A read is running on a blocking thread.
    reading: Arc<AtomicBool>,
    /// The desired values of secret keys, masked wherever they appear in a message
    /// (the password typed into `DB_USER` must not be printed as `DB_USER`'s value).
    redactor: Redactor,
    desired: Desired,
    /// The `WORDPRESS_*` variables (and their `_FILE` secrets) for the comparison.
    env: ImageEnvironment,
    state: Mutex<FileHistory>,
}

/// What the check remembers of the file between runs.
#[derive(Default)]
struct FileHistory {
    /// Normalised fingerprint (comments and whitespace ignored) of the reference file:
    /// the golden copy, else the first file seen without drift. A later difference is
    /// `warn`: a change outside the pinned keys.
    baseline: Option<[u8; 32]>,
    /// The file was seen at least once, so its disappearance is drift, not start-up.
    seen_good: bool,
    last_good: Option<GoodCopy>,
    /// Keys drifting now, to count each new drift once.
    drifting: BTreeSet<String>,
}

impl WpConfigCheck {
    /// `golden` is the golden copy's content, when configured; its pins join the
    /// official image's, and its fingerprint becomes the baseline.
    pub fn new(config: &WpConfigConfig, golden: Option<&[u8]>) -> Self {
        let env = config.environment.clone();
        let mut desired = Desired::official_image();
        let mut memory = FileHistory::default();
        if let Some(golden) = golden {
            let parsed = drift::effective_config(&reader::parse(golden), &env.lookup());
            desired = desired.with_golden(&parsed);
            memory.baseline = Some(drift::normalized_fingerprint(golden));
        }
        for (name, value) in &config.pins {
            desired = desired.with_literal(name, value.clone());
        }
        let redactor = secret_values(&desired, &env.lookup());
        WpConfigCheck {
            redactor,
            path: config.path.clone(),
            max_bytes: config.max_bytes,
            schedule: config.schedule,
            reader_ids: (config.reader_uid, config.reader_gid),
            reader: Arc::new(read_bounded_with_owner),
            reading: Arc::new(AtomicBool::new(false)),
            desired,
            env,
            state: Mutex::new(memory),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file must say.
    pub fn desired(&self) -> &Desired {
        &self.desired
    }

    /// The `WORDPRESS_*` lookup the comparison uses.
    pub fn environment(&self) -> &ImageEnvironment {
        &self.env
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The last copy seen matching the desired state.
    pub fn last_good(&self) -> Option<GoodCopy> {
        self.memory().last_good.clone()
    }

    /// What the check remembers of the file, for the healer's state file.
    pub fn file_memory(&self) -> crate::heal::state::FileMemory {
        let memory = self.memory();
        crate::heal::state::FileMemory {
            baseline: memory.baseline.as_ref().map(drift::hex),
            seen_good: memory.seen_good,
            last_good: memory
                .last_good
                .as_ref()
                .and_then(crate::heal::state::SavedCopy::from_good),
        }
    }

    /// Takes back what a previous instance remembered (a golden copy's baseline wins).
    pub fn recall(&self, saved: &crate::heal::state::FileMemory) {
        let mut memory = self.memory();
        if memory.baseline.is_none() {
            memory.baseline = saved.baseline.as_deref().and_then(drift::unhex);
        }
        memory.seen_good |= saved.seen_good;
        if memory.last_good.is_none() {
            memory.last_good = saved.last_good.as_ref().map(|copy| copy.to_good());
        }
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, FileHistory> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One run, within `wpconfig.timeout` (see [`crate::checks::run`]), whose
    /// expiry is a `timeout` verdict.
    pub async fn run(&self) -> Observation {
        crate::checks::run(self).await
    }

    /// The read runs on a blocking thread. A read still stuck from an earlier run (a
    /// hung network volume) is not joined by another: the run fails at once, so stuck
    /// threads never pile up. When the timeout drops this future, the thread goes on
    /// and clears `reading` when its read returns.
    async fn observe_once(&self) -> Observation {
        let started = Instant::now();
        if self.reading.swap(true, Ordering::AcqRel) {
            return Observation::fail(
                Class::Timeout,
                format!(
                    "an earlier read of {} is still stuck (a hung volume?)",
                    self.path.display()
                ),
                started,
            );
        }
        let (path, max_bytes, reader) = (self.path.clone(), self.max_bytes, self.reader.clone());
        let (reading, env) = (self.reading.clone(), self.env.clone());
        let task = tokio::task::spawn_blocking(move || {
            let read = reader(&path, max_bytes);
            // The `_FILE` Secrets too are read here, off the async runtime.
            let env = env.snapshot();
            reading.store(false, Ordering::Release);
            (read, env)
        });
        match task.await {
            Ok(((read, owner), env)) => self.evaluate(read, owner, &env, started),
            Err(error) => {
                self.reading.store(false, Ordering::Release);
                self.fail(
                    Class::Internal,
                    format!("reader task failed: {error}"),
                    started,
                )
            }
        }
    }

    /// Replaces the file reader (a seam for tests: a read that blocks).
    pub fn with_reader(mut self, reader: Reader) -> Self {
        self.reader = reader;
        self
    }

    /// Turns what was read into an observation. Pure but for the memory it keeps.
    pub fn evaluate(
        &self,
        read: FileRead,
        owner: Option<Owner>,
        env: &ImageEnvironment,
        started: Instant,
    ) -> Observation {
        let bytes = match read {
            FileRead::Bytes(bytes) => bytes,
            // Unreadable to the sidecar says nothing about what WordPress reads.
            FileRead::Unreadable(_) => {
                return self.fail(Class::FileProblem, read.describe(&self.path), started)
            }
            other => {
                // Gone, emptied or mangled after a good copy was seen: that is drift (a
                // restart regenerates a missing or empty file; restore writes it back).
                let class = if self.memory().seen_good {
                    Class::Drift
                } else {
                    Class::FileProblem
                };
                return self.fail(class, other.describe(&self.path), started);
            }
        };
        if let Some(Owner { mode, uid, gid }) = owner {
            let (reader_uid, reader_gid) = self.reader_ids;
            if !readable_by(mode, uid, gid, reader_uid, reader_gid) {
                return self.fail(
                    Class::FileProblem,
                    format!(
                        "{} (mode {mode:04o}, owner {uid}:{gid}) cannot be read by WordPress (uid {reader_uid}, gid {reader_gid}; wpconfig.reader_uid/reader_gid)",
                        self.path.display()
                    ),
                    started,
                );
            }
        }
        let parsed = reader::parse(&bytes);
        let drifts = drift::compare(&parsed, &self.desired, &env.lookup());
        if !drifts.is_empty() {
            self.count_new_drifts(&drifts);
            let described: Vec<String> = drifts.iter().map(ToString::to_string).collect();
            return self.fail(
                Class::Drift,
                format!("wp-config.php drifted: {}", described.join("; ")),
                started,
            );
        }
        self.count_new_drifts(&[]);
        let normalized = drift::normalized_fingerprint(&bytes);
        let mut memory = self.memory();
        memory.seen_good = true;
        let baseline = *memory.baseline.get_or_insert(normalized);
        if baseline != normalized {
            return Observation::new(
                Status::Warn,
                Class::ChangedOutsidePins,
                format!(
                    "wp-config.php changed outside the pinned keys (normalised sha256 {} → {})",
                    &drift::hex(&baseline)[..12],
                    &drift::hex(&normalized)[..12]
                ),
                started,
            );
        }
        memory.last_good = Some(GoodCopy {
            bytes,
            owner: owner.unwrap_or(Owner {
                mode: 0o644,
                uid: 0,
                gid: 0,
            }),
        });
        Observation::pass("wp-config.php matches the desired settings", started)
    }

    fn fail(&self, class: Class, message: String, started: Instant) -> Observation {
        Observation::fail(class, self.redactor.redact(&message), started)
    }

    /// Masks the known secret values (for the CLI's report).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Counts each key once when it starts drifting; keeps the gauge of drifting keys.
    fn count_new_drifts(&self, drifts: &[Drift]) {
        let now: BTreeSet<String> = drifts.iter().map(|d| d.key.clone()).collect();
        let mut memory = self.memory();
        for key in now.difference(&memory.drifting) {
            metrics::counter!(crate::metrics::DRIFT_DETECTED, "key" => key.clone()).increment(1);
        }
        metrics::gauge!(crate::metrics::DRIFT_KEYS).set(now.len() as f64);
        memory.drifting = now;
    }
}

impl Check for WpConfigCheck {
    fn name(&self) -> CheckName {
        CheckName::WpConfig
    }

    fn schedule(&self) -> Schedule {
        self.schedule
    }

    fn observe(&self) -> Pending<'_> {
        Box::pin(self.observe_once())
    }

    fn timed_out(&self, timeout: Duration) -> String {
        let path = self.path.display();
        format!("reading {path} did not finish within {timeout:?} (a hung volume?)")
    }
}

/// Whether a file of this mode and owner is readable by `reader_uid`/`reader_gid`
/// by the permission bits (ACLs and supplementary groups other than the gid are not
/// considered; root reads everything).
pub fn readable_by(mode: u32, uid: u32, gid: u32, reader_uid: u32, reader_gid: u32) -> bool {
    if reader_uid == 0 {
        return true;
    }
    if uid == reader_uid {
        return mode & 0o400 != 0;
    }
    if gid == reader_gid {
        return mode & 0o040 != 0;
    }
    mode & 0o004 != 0
}

/// The values of the secret pins: what the environment gives their variables, and
/// the literal values pinned (by the golden copy or `wpconfig.pins`).
fn secret_values(desired: &Desired, env: EnvLookup) -> Redactor {
    let mut redactor = Redactor::new();
    for pin in desired.pins().iter().filter(|pin| pin.key.is_secret()) {
        match &pin.expectation {
            Expectation::Env { var, .. } => {
                if let Some(value) = env(var) {
                    redactor = redactor.with(&value);
                }
            }
            Expectation::Literal(Resolved::Str(value)) => redactor = redactor.with(value),
            Expectation::Golden(value) => {
                if let Some(Resolved::Str(value)) = value.resolve(env) {
                    redactor = redactor.with(&value);
                }
            }
            Expectation::Literal(_) => {}
        }
    }
    redactor
}

/// Builds the check from configuration, reading the golden copy when there is one.
pub fn from_config(config: &WpConfigConfig) -> Result<WpConfigCheck, String> {
    let golden = match &config.golden {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|error| format!("wpconfig.golden {}: {error}", path.display()))?,
        ),
        None => None,
    };
    Ok(WpConfigCheck::new(config, golden.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::readable_by;

    #[test]
    fn readability_follows_the_permission_bits_for_the_reader() {
        assert!(readable_by(0o640, 33, 33, 33, 33));
        assert!(readable_by(0o040, 0, 33, 33, 33), "by group");
        assert!(!readable_by(0o600, 0, 0, 33, 33));
        assert!(!readable_by(0o000, 33, 33, 33, 33));
        assert!(readable_by(0o004, 0, 0, 33, 33), "by others");
        assert!(
            !readable_by(0o044, 33, 0, 33, 33),
            "the owner's bits decide"
        );
        assert!(readable_by(0o000, 5, 5, 0, 0), "root reads everything");
    }
}
