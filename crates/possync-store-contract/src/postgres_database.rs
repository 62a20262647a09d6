//! Throwaway PostgreSQL databases for tests: each test gets a database of its
//! own on the machine's cluster (127.0.0.1:5432, user `postgres`, trust
//! auth), migrated, and dropped again when the test ends, even by a panic.
//!
//! Without a reachable PostgreSQL a test skips with a loud message on stderr;
//! with `POSSYNC_REQUIRE_POSTGRES=1` (CI) it fails instead.

use possync_store::postgres::PostgresStore;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The machine's cluster, as TEAM.md describes it.
pub const MACHINE_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432";

/// A database that exists until this value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// `postgres://user@host:port` of the cluster, without a database name.
    server_url: String,
    name: String,
}

impl TestDatabase {
    /// A fresh, migrated database on the machine's cluster; `None` (after a loud
    /// message) when PostgreSQL is not there and not required.
    pub async fn create() -> Option<TestDatabase> {
        TestDatabase::create_with(true).await
    }

    /// A fresh database without the schema, for what `possync migrate` must do.
    pub async fn create_unmigrated() -> Option<TestDatabase> {
        TestDatabase::create_with(false).await
    }

    async fn create_with(migrate: bool) -> Option<TestDatabase> {
        match TestDatabase::create_on(MACHINE_SERVER_URL, migrate).await {
            Ok(database) => Some(database),
            Err(error) => {
                skip_or_fail(&format!("PostgreSQL at {MACHINE_SERVER_URL}: {error}"));
                None
            }
        }
    }

    /// A fresh database on the cluster at `server_url` (`postgres://user@host:port`,
    /// no database name), migrated or not.
    pub async fn create_on(server_url: &str, migrate: bool) -> Result<TestDatabase, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or_default();
        // Unique across the processes of one `cargo test` and across runs.
        let name = format!(
            "possync_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(&format!("{server_url}/postgres"))
            .await
            .map_err(|error| error.to_string())?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .map_err(|error| error.to_string())?;
        let _ = admin.close().await;
        let database = TestDatabase {
            server_url: server_url.to_owned(),
            name,
        };
        if migrate {
            PostgresStore::migrate(&database.url())
                .await
                .map_err(|error| error.to_string())?;
        }
        Ok(database)
    }

    /// The URL of this database.
    pub fn url(&self) -> String {
        format!("{}/{}", self.server_url, self.name)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and it may run inside a runtime: a thread of its
        // own with a small runtime drops the database, forcing out connections
        // a panicking test left open.
        let admin_url = format!("{}/postgres", self.server_url);
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url)
                    .await
                    .map_err(|error| error.to_string())?;
                admin
                    .execute(statement.as_str())
                    .await
                    .map_err(|error| error.to_string())?;
                let _ = admin.close().await;
                Ok::<(), String>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "warning: could not drop the test database {}: {dropped:?}",
                self.name
            );
        }
    }
}

/// Whether CI asked for PostgreSQL tests to fail rather than skip.
pub fn postgres_required() -> bool {
    std::env::var("POSSYNC_REQUIRE_POSTGRES").is_ok_and(|value| value == "1")
}

/// Skips loudly, or fails when `POSSYNC_REQUIRE_POSTGRES=1`.
#[track_caller]
pub fn skip_or_fail(why: &str) {
    if postgres_required() {
        panic!("POSSYNC_REQUIRE_POSTGRES=1 but PostgreSQL is not usable: {why}");
    }
    eprintln!(
        "\n*** SKIPPED: this test needs PostgreSQL and it is not usable: {why}\n\
         *** (set POSSYNC_REQUIRE_POSTGRES=1 to make this a failure)\n"
    );
}
