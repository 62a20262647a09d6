//! Where the shop's data lives: the SQLite file in the data directory (the
//! default, one process at a time), or a PostgreSQL database shared by several
//! server nodes (`--database postgres://...`), and the commands that look after
//! it: `possync migrate`, `possync backup`, `possync restore`.

use crate::console::say;
use crate::data_dir::{DATABASE_FILE_NAME, LockedDataDir};
use anyhow::{Context, Result, bail};
use clap::Args;
use possync_store::postgres::{PostgresStore, is_postgres_url};
use possync_store::sqlite::SqliteStore;
use possync_store::sqlite::backup::{self, BackupSummary};
use possync_store::{ConnectionSettings, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The database and how its connections are used, for every command.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// A PostgreSQL database shared by several server nodes, as
    /// postgres://user:password@host:port/name. Without it, the SQLite file in
    /// the data directory. Prefer the environment variable when the URL holds
    /// a password: command lines are visible to every local user.
    #[arg(
        long = "database",
        env = "POSSYNC_DATABASE_URL",
        global = true,
        hide_env_values = true,
        value_parser = parse_database_url
    )]
    pub database_url: Option<String>,

    /// Pooled database connections at most (PostgreSQL: all of a node's;
    /// SQLite: the readers, next to the one writer). Default: 10 for
    /// PostgreSQL, 4 for SQLite.
    #[arg(long, env = "POSSYNC_DATABASE_CONNECTIONS_MAX", global = true, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub database_connections_max: Option<u32>,

    /// How long a request waits for a database connection before it answers
    /// 503, in milliseconds. Default: 5000 for PostgreSQL, 30000 for SQLite.
    #[arg(long, env = "POSSYNC_DATABASE_ACQUIRE_TIMEOUT_MS", global = true, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub database_acquire_timeout_ms: Option<u64>,

    /// How long one statement may run (PostgreSQL's statement_timeout) or wait
    /// for another process's lock (SQLite's busy_timeout), in milliseconds.
    /// Default: 10000 for PostgreSQL, 5000 for SQLite.
    #[arg(long, env = "POSSYNC_DATABASE_STATEMENT_TIMEOUT_MS", global = true, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub database_statement_timeout_ms: Option<u64>,
}

fn parse_database_url(text: &str) -> Result<String, String> {
    if is_postgres_url(text) {
        Ok(text.to_owned())
    } else {
        Err(String::from(
            "a database URL starts with postgres:// or postgresql:// (the SQLite file is chosen with --data-dir)",
        ))
    }
}

/// An open store, and the data directory's lock when the store is its SQLite file.
pub struct OpenDatabase {
    pub store: Arc<dyn Store>,
    /// Where the data is, for people: a file path, or the PostgreSQL URL without its password.
    pub description: String,
    _lock: Option<LockedDataDir>,
}

impl DatabaseArgs {
    pub fn settings(&self) -> ConnectionSettings {
        ConnectionSettings {
            connections_max: self.database_connections_max,
            acquire_timeout_ms: self.database_acquire_timeout_ms,
            statement_timeout_ms: self.database_statement_timeout_ms,
        }
    }

    /// Opens the store: PostgreSQL (several nodes may share it; its schema
    /// must be current), or the data directory's SQLite file under the
    /// directory's lock (created and migrated as needed).
    pub async fn open(&self, data_dir: &Path, purpose: &str) -> Result<OpenDatabase> {
        match &self.database_url {
            Some(url) => {
                let store = PostgresStore::connect(url, &self.settings())
                    .await
                    .with_context(|| format!("could not open the database {}", redacted(url)))?;
                Ok(OpenDatabase {
                    store: Arc::new(store),
                    description: redacted(url),
                    _lock: None,
                })
            }
            None => {
                let lock = LockedDataDir::lock(data_dir, purpose)?;
                let path = lock.database_path();
                let store = SqliteStore::open_with(&path, &self.settings())
                    .await
                    .with_context(|| format!("could not open the database {}", path.display()))?;
                Ok(OpenDatabase {
                    store: Arc::new(store),
                    description: path.display().to_string(),
                    _lock: Some(lock),
                })
            }
        }
    }
}

/// The URL without its password, for messages and logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::from("(a database URL)");
    };
    match rest.rsplit_once('@') {
        Some((credentials, host_and_name)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host_and_name}")
        }
        None => url.to_owned(),
    }
}

/// `possync migrate`: brings the schema up to date, explicitly.
pub async fn migrate(data_dir: &Path, database: &DatabaseArgs) -> Result<()> {
    match &database.database_url {
        Some(url) => {
            let report = PostgresStore::migrate(url)
                .await
                .with_context(|| format!("could not migrate {}", redacted(url)))?;
            let current = report
                .current
                .map_or_else(|| String::from("none"), |version| version.to_string());
            if report.applied.is_empty() {
                say(format!(
                    "The schema of {} is up to date (version {current}).",
                    redacted(url)
                ));
            } else {
                let applied: Vec<String> = report.applied.iter().map(i64::to_string).collect();
                say(format!(
                    "Applied migration(s) {} to {}; the schema is at version {current}.",
                    applied.join(", "),
                    redacted(url)
                ));
            }
        }
        None => {
            // The SQLite store migrates when it opens its file; taking the lock
            // makes sure no server is using it meanwhile.
            let opened = database.open(data_dir, "migrating").await?;
            say(format!(
                "The schema of {} is up to date.",
                opened.description
            ));
        }
    }
    Ok(())
}

/// `possync backup --output FILE`: a consistent copy of the SQLite database,
/// taken while the server keeps serving.
pub async fn backup(data_dir: &Path, database: &DatabaseArgs, output: &Path) -> Result<()> {
    refuse_postgres(database, "backup")?;
    let source = data_dir.join(DATABASE_FILE_NAME);
    let summary = backup::backup(&source, output)
        .await
        .with_context(|| format!("could not back up {}", source.display()))?;
    say(format!(
        "Backed up {} to {}: {}.",
        source.display(),
        output.display(),
        describe(&summary)
    ));
    Ok(())
}

/// `possync restore --input FILE`: puts a backup in place of the SQLite
/// database, which no server may be using; the replaced file is kept aside.
pub async fn restore(data_dir: &Path, database: &DatabaseArgs, input: &Path) -> Result<()> {
    refuse_postgres(database, "restore")?;
    let lock = LockedDataDir::lock(data_dir, "restoring a backup")?;
    let target = lock.database_path();
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    let aside: PathBuf = lock
        .path()
        .join(format!("possync-before-restore-{seconds}.db"));
    let had_database = target.exists();
    let summary = backup::restore(input, &target, &aside)
        .await
        .with_context(|| format!("could not restore {}", input.display()))?;
    say(format!(
        "Restored {} into {}: {}.",
        input.display(),
        target.display(),
        describe(&summary)
    ));
    if had_database {
        say(format!(
            "The database it replaced is kept as {}.",
            aside.display()
        ));
    }
    Ok(())
}

fn refuse_postgres(database: &DatabaseArgs, command: &str) -> Result<()> {
    if let Some(url) = &database.database_url {
        bail!(
            "`possync {command}` works on the SQLite file of a data directory; {} is PostgreSQL: use pg_dump and pg_restore (see docs/deployment.md)",
            redacted(url)
        );
    }
    Ok(())
}

fn describe(summary: &BackupSummary) -> String {
    format!(
        "{} orders, {} users, schema version {}, {} bytes",
        summary.orders, summary.users, summary.schema_version, summary.bytes
    )
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn urls_lose_their_password_in_messages() {
        for (url, shown) in [
            (
                "postgres://possync:s3cr3t@db.shop:5432/chain",
                "postgres://possync@db.shop:5432/chain",
            ),
            (
                "postgres://postgres@127.0.0.1/x",
                "postgres://postgres@127.0.0.1/x",
            ),
            ("postgresql://db/x", "postgresql://db/x"),
            ("postgres://a:b:c@d@host/x", "postgres://a@host/x"),
            ("nonsense", "(a database URL)"),
        ] {
            assert_eq!(redacted(url), shown, "{url}");
        }
    }
}
