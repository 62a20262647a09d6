//! The terminal's local SQLite file: the durable outbox, and caches that
//! make a restart cheap.
//!
//! - `outbox`: every op not yet answered, in the order it was made. An op is
//!   written here (and the transaction is on disk, `synchronous=FULL`)
//!   before it is sent, so a crash or a restart never loses an edit; it is
//!   deleted on `ack` or on a final `reject`. A delete that does not reach
//!   the disk only means the op is sent again after a restart, and the
//!   server answers it as a duplicate: ops are idempotent by `op_id`.
//! - `orders`: the last confirmed copy of each order, so the next `hello`
//!   names known versions and catch-up sends only what changed. A stale or
//!   missing row only costs a larger catch-up.
//! - `identity`: the terminal id bound to the token (a hash of it), and the
//!   last `welcome` and catalog, for optimistic views while offline.
//!
//! The file is opened in exclusive locking mode: a second client on the same
//! file is refused at once instead of sending the same ops as another terminal.

use crate::catalog::Catalog;
use possync_core::{Order, OrderId, TerminalId};
use possync_protocol::OpRequest;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteLockingMode, SqliteSynchronous,
};
use sqlx::{Connection, Row};
use std::path::Path;
use std::time::Duration;

/// Why the local file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LocalFileError {
    #[error("the local file {path} is used by another client (one client per file)")]
    InUse { path: String },
    #[error("local file: {0}")]
    Sqlite(#[from] sqlx::Error),
    #[error("local file holds a row that does not parse: {0}")]
    Corrupt(String),
}

/// What `welcome` said about this terminal's session, kept for offline views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub session: possync_core::Session,
    pub config: possync_core::Config,
    pub linked_configs: Vec<possync_protocol::LinkedConfig>,
}

/// Everything restored from the file at start.
#[derive(Debug, Clone)]
pub struct Restored {
    pub terminal_id: TerminalId,
    pub outbox: Vec<OpRequest>,
    pub confirmed: Vec<Order>,
    pub session: Option<SessionInfo>,
    pub catalog: Catalog,
}

/// The open local file.
#[derive(Debug)]
pub struct LocalFile {
    connection: SqliteConnection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL,
    op TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS identity (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn corrupt(error: impl std::fmt::Display) -> LocalFileError {
    LocalFileError::Corrupt(error.to_string())
}

impl LocalFile {
    /// Opens (or creates) the file and takes its lock. With a token other
    /// than the one the file was last used with, the terminal gets a new id
    /// (an id is bound to the token that first used it) and the cached
    /// orders are dropped (another session may see other orders); the
    /// outbox is kept, so no edit is lost.
    pub async fn open(
        path: &Path,
        terminal_token: &str,
        new_terminal_id: TerminalId,
    ) -> Result<(LocalFile, Restored), LocalFileError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .locking_mode(SqliteLockingMode::Exclusive)
            .busy_timeout(Duration::from_millis(200));
        let mut connection = SqliteConnection::connect_with(&options)
            .await
            .map_err(|error| match &error {
                sqlx::Error::Database(database) if database.message().contains("locked") => {
                    LocalFileError::InUse {
                        path: path.display().to_string(),
                    }
                }
                _ => LocalFileError::Sqlite(error),
            })?;
        // Exclusive mode takes the lock at the first write; take it now.
        let locked = sqlx::raw_sql(SCHEMA).execute(&mut connection).await;
        if let Err(error) = locked {
            return Err(match &error {
                sqlx::Error::Database(database)
                    if database.message().contains("locked")
                        || database.message().contains("busy") =>
                {
                    LocalFileError::InUse {
                        path: path.display().to_string(),
                    }
                }
                _ => LocalFileError::Sqlite(error),
            });
        }
        let mut file = LocalFile { connection };
        let restored = file.restore(terminal_token, new_terminal_id).await?;
        Ok((file, restored))
    }

    async fn identity_value(&mut self, key: &str) -> Result<Option<String>, LocalFileError> {
        Ok(sqlx::query("SELECT value FROM identity WHERE key = ?")
            .bind(key)
            .fetch_optional(&mut self.connection)
            .await?
            .map(|row| row.get::<String, _>(0)))
    }

    async fn restore(
        &mut self,
        terminal_token: &str,
        new_terminal_id: TerminalId,
    ) -> Result<Restored, LocalFileError> {
        let hash = token_hash(terminal_token);
        let same_token = self.identity_value("token_sha256").await?.as_deref() == Some(&hash);
        let stored_terminal = self
            .identity_value("terminal_id")
            .await?
            .and_then(|text| text.parse::<TerminalId>().ok());
        let terminal_id = match (same_token, stored_terminal) {
            (true, Some(terminal_id)) => terminal_id,
            _ => {
                let mut transaction = self.connection.begin().await?;
                sqlx::query("DELETE FROM orders")
                    .execute(&mut *transaction)
                    .await?;
                sqlx::query("DELETE FROM identity WHERE key = 'session'")
                    .execute(&mut *transaction)
                    .await?;
                for (key, value) in [
                    ("token_sha256", hash.clone()),
                    ("terminal_id", new_terminal_id.to_string()),
                ] {
                    sqlx::query("INSERT OR REPLACE INTO identity (key, value) VALUES (?, ?)")
                        .bind(key)
                        .bind(value)
                        .execute(&mut *transaction)
                        .await?;
                }
                transaction.commit().await?;
                new_terminal_id
            }
        };
        let mut outbox = Vec::new();
        for row in sqlx::query("SELECT op_id, order_id, op FROM outbox ORDER BY seq")
            .fetch_all(&mut self.connection)
            .await?
        {
            let op_id: String = row.get(0);
            let order_id: String = row.get(1);
            let op: String = row.get(2);
            outbox.push(OpRequest {
                approval: None,
                op_id: op_id.parse().map_err(corrupt)?,
                order_id: order_id.parse().map_err(corrupt)?,
                op: serde_json::from_str(&op).map_err(corrupt)?,
            });
        }
        let mut confirmed = Vec::new();
        for row in sqlx::query("SELECT body FROM orders")
            .fetch_all(&mut self.connection)
            .await?
        {
            let body: String = row.get(0);
            // A cached copy that no longer parses (an older SDK wrote it) is
            // only a cache: skip it and let catch-up send the order again.
            if let Ok(order) = serde_json::from_str::<Order>(&body) {
                confirmed.push(order);
            }
        }
        let session = self
            .identity_value("session")
            .await?
            .and_then(|text| serde_json::from_str(&text).ok());
        let catalog = self
            .identity_value("catalog")
            .await?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Ok(Restored {
            terminal_id,
            outbox,
            confirmed,
            session,
            catalog,
        })
    }

    /// Writes new ops to the outbox in one durable transaction.
    pub async fn append_ops(&mut self, requests: &[OpRequest]) -> Result<(), LocalFileError> {
        let mut transaction = self.connection.begin().await?;
        for request in requests {
            let op = serde_json::to_string(&request.op).map_err(corrupt)?;
            sqlx::query("INSERT OR IGNORE INTO outbox (op_id, order_id, op) VALUES (?, ?, ?)")
                .bind(request.op_id.to_string())
                .bind(request.order_id.to_string())
                .bind(op)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Applies what was learned since the last flush: answered ops leave the
    /// outbox, confirmed copies are replaced, removed orders are forgotten.
    pub async fn flush(&mut self, changes: &PendingWrites) -> Result<(), LocalFileError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut transaction = self.connection.begin().await?;
        for op_id in &changes.answered_ops {
            sqlx::query("DELETE FROM outbox WHERE op_id = ?")
                .bind(op_id.to_string())
                .execute(&mut *transaction)
                .await?;
        }
        for (order_id, order) in &changes.orders {
            match order {
                Some(order) => {
                    let body = serde_json::to_string(order).map_err(corrupt)?;
                    sqlx::query(
                        "INSERT OR REPLACE INTO orders (id, version, body) VALUES (?, ?, ?)",
                    )
                    .bind(order_id.to_string())
                    .bind(i64::try_from(order.version).unwrap_or(i64::MAX))
                    .bind(body)
                    .execute(&mut *transaction)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM orders WHERE id = ?")
                        .bind(order_id.to_string())
                        .execute(&mut *transaction)
                        .await?;
                }
            }
        }
        for (key, value) in [
            ("session", changes.session.as_ref()),
            ("catalog", changes.catalog.as_ref()),
        ] {
            if let Some(value) = value {
                sqlx::query("INSERT OR REPLACE INTO identity (key, value) VALUES (?, ?)")
                    .bind(key)
                    .bind(value)
                    .execute(&mut *transaction)
                    .await?;
            }
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Closes the file, releasing its lock.
    pub async fn close(self) -> Result<(), LocalFileError> {
        self.connection.close().await?;
        Ok(())
    }
}

/// Writes that may wait for the next flush (losing them costs a resend or a
/// larger catch-up, never an edit).
#[derive(Debug, Default)]
pub struct PendingWrites {
    pub answered_ops: Vec<possync_core::OpId>,
    /// `None` deletes the cached copy.
    pub orders: std::collections::BTreeMap<OrderId, Option<Order>>,
    /// JSON of the last `welcome`'s session info.
    pub session: Option<String>,
    /// JSON of the catalog.
    pub catalog: Option<String>,
}

impl PendingWrites {
    pub fn is_empty(&self) -> bool {
        self.answered_ops.is_empty()
            && self.orders.is_empty()
            && self.session.is_none()
            && self.catalog.is_none()
    }
}
