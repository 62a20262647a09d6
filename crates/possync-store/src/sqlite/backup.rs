//! Backups of the SQLite database: a consistent snapshot of a live file
//! (`VACUUM INTO`, which reads one transaction's view while the server keeps
//! writing), and the checks a file passes before it may replace the database.

use super::MIGRATOR;
use crate::database_errors::unavailable;
use crate::rows::decode_u64;
use crate::{StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a backup holds, to show the person who made or restores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub bytes: u64,
    pub orders: u64,
    pub users: u64,
    /// The newest schema migration in the file.
    pub schema_version: i64,
}

/// How long the snapshot waits for the server's write lock at most (it needs
/// none for long: `VACUUM INTO` only reads).
const BACKUP_BUSY_TIMEOUT_MS: u64 = 30_000;

/// Writes a consistent snapshot of the database at `database` to `output`,
/// while the server may be writing it. `output` must not exist. The snapshot
/// is written next to `output` first and renamed into place once it passed
/// [`check_backup`], so `output` is never a half-written file.
pub async fn backup(database: &Path, output: &Path) -> StoreResult<BackupSummary> {
    if output.exists() {
        return Err(StoreError::Invalid(format!(
            "{} exists already; choose a new file name",
            output.display()
        )));
    }
    if !database.is_file() {
        return Err(StoreError::Invalid(format!(
            "there is no database at {}",
            database.display()
        )));
    }
    let partial = partial_path(output);
    // A partial file left by an interrupted backup is ours to replace.
    let _ = std::fs::remove_file(&partial);
    let mut conn = SqliteConnectOptions::new()
        .filename(database)
        .create_if_missing(false)
        .busy_timeout(Duration::from_millis(BACKUP_BUSY_TIMEOUT_MS))
        .connect()
        .await
        .map_err(|error| {
            StoreError::Unavailable(format!("cannot open {}: {error}", database.display()))
        })?;
    let partial_text = partial
        .to_str()
        .ok_or_else(|| StoreError::Invalid(format!("{} is not a UTF-8 path", partial.display())))?;
    let vacuumed = sqlx::query("VACUUM INTO ?")
        .bind(partial_text)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    if let Err(error) = vacuumed {
        let _ = std::fs::remove_file(&partial);
        return Err(StoreError::Unavailable(format!(
            "cannot write the snapshot {}: {error}",
            partial.display()
        )));
    }
    let summary = match check_backup(&partial).await {
        Ok(summary) => summary,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    sync_file(&partial)?;
    std::fs::rename(&partial, output).map_err(|error| {
        StoreError::Unavailable(format!(
            "cannot rename {} to {}: {error}",
            partial.display(),
            output.display()
        ))
    })?;
    sync_parent_dir(output)?;
    Ok(summary)
}

/// Checks that `path` is a whole possync database this build can open: SQLite's
/// integrity check passes, and every schema migration in it is one this build
/// knows (an older schema is fine: opening it migrates it).
pub async fn check_backup(path: &Path) -> StoreResult<BackupSummary> {
    let not_a_backup = |detail: String| {
        StoreError::Invalid(format!(
            "{} is not a possync database backup: {detail}",
            path.display()
        ))
    };
    let bytes = std::fs::metadata(path)
        .map_err(|error| not_a_backup(error.to_string()))?
        .len();
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(true)
        .connect()
        .await
        .map_err(|error| not_a_backup(error.to_string()))?;
    let checked = check_connection(&mut conn, bytes).await;
    let _ = conn.close().await;
    checked.map_err(|error| match error {
        StoreError::Unavailable(detail) | StoreError::Invalid(detail) => not_a_backup(detail),
        other => other,
    })
}

async fn check_connection(conn: &mut SqliteConnection, bytes: u64) -> StoreResult<BackupSummary> {
    let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(|error| StoreError::Invalid(error.to_string()))?;
    if integrity != ["ok"] {
        return Err(StoreError::Invalid(format!(
            "the integrity check found: {}",
            integrity.join("; ")
        )));
    }
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(|_| StoreError::Invalid("it has no possync schema".to_owned()))?;
    if let Some(unknown) = versions
        .iter()
        .find(|&&version| !MIGRATOR.iter().any(|known| known.version == version))
    {
        return Err(StoreError::Schema(format!(
            "the backup has schema migration {unknown}, which this possync does not know: restore it with the possync that made it"
        )));
    }
    let schema_version = versions
        .last()
        .copied()
        .ok_or_else(|| StoreError::Invalid("it has no possync schema".to_owned()))?;
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&mut *conn)
        .await
        .map_err(unavailable("could not count the backup's orders"))?;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *conn)
        .await
        .map_err(unavailable("could not count the backup's users"))?;
    Ok(BackupSummary {
        bytes,
        orders: decode_u64(orders, "order count")?,
        users: decode_u64(users, "user count")?,
        schema_version,
    })
}

/// Puts the backup at `backup` in place of the database at `database`, which no
/// process may have open (the caller holds the data directory's lock). The
/// backup is checked first; the database it replaces is checkpointed (its WAL
/// folded in) and kept next to it as `aside`, so a restore can be undone.
pub async fn restore(backup: &Path, database: &Path, aside: &Path) -> StoreResult<BackupSummary> {
    let summary = check_backup(backup).await?;
    if aside.exists() {
        return Err(StoreError::Invalid(format!(
            "{} exists already; move it away first",
            aside.display()
        )));
    }
    let incoming = partial_path(database);
    std::fs::copy(backup, &incoming).map_err(|error| {
        StoreError::Unavailable(format!(
            "cannot copy {} to {}: {error}",
            backup.display(),
            incoming.display()
        ))
    })?;
    sync_file(&incoming)?;
    if database.exists() {
        // Fold the WAL into the file so the copy kept aside is whole by itself.
        let mut conn = SqliteConnectOptions::new()
            .filename(database)
            .create_if_missing(false)
            .connect()
            .await
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot open {}: {error}", database.display()))
            })?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .map_err(unavailable(
                "could not checkpoint the database being replaced",
            ))?;
        let _ = conn.close().await;
        std::fs::rename(database, aside).map_err(|error| {
            StoreError::Unavailable(format!("cannot move {} aside: {error}", database.display()))
        })?;
    }
    for suffix in ["-wal", "-shm"] {
        let mut side_file = database.as_os_str().to_os_string();
        side_file.push(suffix);
        match std::fs::remove_file(&side_file) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot remove {}: {error}",
                    PathBuf::from(side_file).display()
                )));
            }
        }
    }
    std::fs::rename(&incoming, database).map_err(|error| {
        StoreError::Unavailable(format!(
            "cannot move {} into place: {error}",
            incoming.display()
        ))
    })?;
    sync_parent_dir(database)?;
    Ok(summary)
}

/// Where a snapshot is written before it is renamed to `output`.
fn partial_path(output: &Path) -> PathBuf {
    let mut name = output
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    output.with_file_name(name)
}

fn sync_file(path: &Path) -> StoreResult<()> {
    std::fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|error| {
            StoreError::Unavailable(format!("cannot sync {}: {error}", path.display()))
        })
}

/// Makes a rename in the directory of `path` durable.
fn sync_parent_dir(path: &Path) -> StoreResult<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    sync_file(parent)
}
