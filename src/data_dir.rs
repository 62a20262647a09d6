//! The data directory: where the database lives, guarded by an exclusive lock so
//! that two processes never write the same SQLite file from two servers at once.

use anyhow::{Context, Result, bail};
use fs4::fs_std::FileExt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The database file's name inside the data directory.
pub const DATABASE_FILE_NAME: &str = "possync.db";
/// The lock file's name inside the data directory.
pub const LOCK_FILE_NAME: &str = "possync.lock";

/// A data directory this process holds the lock of. The lock is released when
/// this value is dropped (or the process ends, even by a crash: it is an OS lock).
#[derive(Debug)]
pub struct LockedDataDir {
    path: PathBuf,
    _lock_file: File,
}

impl LockedDataDir {
    /// Creates the directory if needed and takes its lock, or explains who holds it.
    pub fn lock(path: &Path, purpose: &str) -> Result<LockedDataDir> {
        std::fs::create_dir_all(path)
            .with_context(|| format!("the data directory {} cannot be created", path.display()))?;
        let path = path
            .canonicalize()
            .with_context(|| format!("could not resolve the data directory {}", path.display()))?;
        let lock_path = path.join(LOCK_FILE_NAME);
        let mut lock_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .with_context(|| {
                format!(
                    "the data directory {} cannot be written (its lock file {} cannot be opened); check that its disk is mounted read-write and that this user may write there",
                    path.display(),
                    lock_path.display()
                )
            })?;
        let locked = lock_file
            .try_lock_exclusive()
            .with_context(|| format!("could not lock {}", lock_path.display()))?;
        if !locked {
            let mut holder = String::new();
            let _ = lock_file.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() {
                String::from("another possync process")
            } else {
                format!("another possync process ({holder})")
            };
            bail!(
                "the data directory {} is in use by {holder}; stop it first, or use another --data-dir ({purpose} needs the directory to itself)",
                path.display()
            );
        }
        // Only the holder writes the file, so a refused process can say who holds it.
        lock_file.set_len(0)?;
        lock_file.seek(SeekFrom::Start(0))?;
        writeln!(lock_file, "pid {}", std::process::id())?;
        lock_file.flush()?;
        Ok(LockedDataDir {
            path,
            _lock_file: lock_file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn database_path(&self) -> PathBuf {
        self.path.join(DATABASE_FILE_NAME)
    }
}
