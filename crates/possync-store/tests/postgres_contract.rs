//! The store contract against a real PostgreSQL (a fresh database per test on
//! 127.0.0.1:5432, dropped afterwards), and what only the PostgreSQL store
//! promises: it never changes the schema on its own and refuses one it does
//! not know. Without PostgreSQL these tests skip loudly; with
//! `POSSYNC_REQUIRE_POSTGRES=1` they fail instead.

use possync_store::postgres::PostgresStore;
use possync_store::{ConnectionSettings, Store, StoreError};
use possync_store_contract::postgres_database::TestDatabase;
use std::sync::Arc;

/// A store on a fresh database; the database lives as long as the guard.
async fn fresh_store() -> Option<(TestDatabase, Arc<PostgresStore>)> {
    let database = TestDatabase::create().await?;
    let store = PostgresStore::connect(&database.url(), &ConnectionSettings::default())
        .await
        .expect("connect to a freshly migrated database");
    Some((database, Arc::new(store)))
}

possync_store_contract::store_contract_tests!(optional fresh_store);
