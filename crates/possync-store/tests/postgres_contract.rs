//! The store contract against a real PostgreSQL (a fresh database per test on
//! 127.0.0.1:5432, dropped afterwards), and what only the PostgreSQL store
//! promises: it never changes the schema on its own and refuses one it does
//! not know. Without PostgreSQL these tests skip loudly; with
//! `POSSYNC_REQUIRE_POSTGRES=1` they fail instead.

use possync_store::postgres::PostgresStore;
use possync_store::{ConnectionSettings, Store, StoreError};
use possync_store_contract::postgres_cluster::ThrowawayCluster;
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

/// Two stores (two nodes' pools) on one fresh database.
async fn two_stores() -> Option<(TestDatabase, Arc<PostgresStore>, Arc<PostgresStore>)> {
    let (database, first) = fresh_store().await?;
    let second = PostgresStore::connect(&database.url(), &ConnectionSettings::default())
        .await
        .expect("connect a second store");
    Some((database, first, Arc::new(second)))
}

possync_store_contract::shared_database_tests!(two_stores);

/// Runs one statement on the test database, outside any store.
async fn execute(database: &TestDatabase, statement: &str) {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::PgConnection::connect(&database.url())
        .await
        .expect("connect to the test database");
    conn.execute(statement).await.expect("run a statement");
    conn.close().await.expect("close");
}

#[track_caller]
fn expect_schema_error<T: std::fmt::Debug>(result: Result<T, StoreError>, mentions: &str) {
    match result {
        Err(StoreError::Schema(message)) => {
            assert!(
                message.contains(mentions),
                "{message:?} should mention {mentions:?}"
            )
        }
        other => panic!("expected a schema error mentioning {mentions:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn connect_refuses_a_schema_it_does_not_know_and_migrate_is_explicit() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let settings = ConnectionSettings::default();

    // Migrated once already: a second migrate applies nothing and says where it is.
    let again = PostgresStore::migrate(&database.url())
        .await
        .expect("migrate again");
    assert!(again.applied.is_empty(), "{again:?}");
    assert_eq!(again.current, possync_store::postgres::latest_migration());

    // A migration from a newer build: refused, data left alone.
    execute(
        &database,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101, 'from the future', true, '\\x00', 0)",
    )
    .await;
    expect_schema_error(
        PostgresStore::connect(&database.url(), &settings).await,
        "newer possync",
    );
    expect_schema_error(
        PostgresStore::migrate(&database.url()).await,
        "cannot migrate",
    );
    execute(
        &database,
        "DELETE FROM _sqlx_migrations WHERE version = 99990101",
    )
    .await;

    // A migration changed by hand.
    execute(
        &database,
        "UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = 1",
    )
    .await;
    expect_schema_error(
        PostgresStore::connect(&database.url(), &settings).await,
        "differs",
    );

    // No schema at all: connect never creates it, migrate does.
    execute(
        &database,
        "DROP SCHEMA public CASCADE; CREATE SCHEMA public",
    )
    .await;
    expect_schema_error(
        PostgresStore::connect(&database.url(), &settings).await,
        "possync migrate",
    );
    let report = PostgresStore::migrate(&database.url())
        .await
        .expect("migrate an empty database");
    assert_eq!(
        report.applied.last().copied(),
        possync_store::postgres::latest_migration(),
        "every migration applied, up to this build's newest"
    );
    assert_eq!(report.applied.first(), Some(&1));
    let store = PostgresStore::connect(&database.url(), &settings)
        .await
        .expect("connect after the migration");
    assert_eq!(store.count_users().await.expect("count users"), 0);
    store.ping().await.expect("an open store answers");
    store.close().await;
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_bad_url_or_an_unreachable_server_is_a_clear_error() {
    let settings = ConnectionSettings {
        acquire_timeout_ms: Some(2_000),
        ..ConnectionSettings::default()
    };
    assert!(matches!(
        PostgresStore::connect("mysql://nobody@127.0.0.1/x", &settings).await,
        Err(StoreError::Invalid(_))
    ));
    // Port 1 on loopback: nothing listens there.
    assert!(matches!(
        PostgresStore::connect("postgres://postgres@127.0.0.1:1/possync", &settings).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_recovers_by_itself_when_postgresql_restarts() {
    // Declared first, dropped last: the database goes before its cluster.
    let Some(cluster) = ThrowawayCluster::start() else {
        return;
    };
    let database = TestDatabase::create_on(&cluster.server_url(), true)
        .await
        .expect("a database on the throwaway cluster");
    let settings = ConnectionSettings {
        acquire_timeout_ms: Some(2_000),
        ..ConnectionSettings::default()
    };
    let store = PostgresStore::connect(&database.url(), &settings)
        .await
        .expect("connect");
    let login = |text: &str| possync_core::Login::parse(text).expect("a login");
    let name = possync_core::Name::parse("Someone").expect("a name");
    store
        .create_user(
            &login("before"),
            &name,
            possync_core::Role::Manager,
            "hash",
            &[],
        )
        .await
        .expect("write before the restart");

    cluster.stop();
    assert!(
        matches!(store.ping().await, Err(StoreError::Unavailable(_))),
        "a stopped database is not ready"
    );
    assert!(matches!(
        store
            .create_user(
                &login("during"),
                &name,
                possync_core::Role::Cashier,
                "hash",
                &[]
            )
            .await,
        Err(StoreError::Unavailable(_))
    ));

    cluster.start_again();
    // The pool replaces the connections the restart cut, without being told.
    store
        .ping()
        .await
        .expect("ready again once PostgreSQL is back");
    store
        .create_user(
            &login("after"),
            &name,
            possync_core::Role::Cashier,
            "hash",
            &[],
        )
        .await
        .expect("write after the restart");
    let logins: Vec<String> = store
        .list_users()
        .await
        .expect("list users")
        .into_iter()
        .map(|user| user.login.as_str().to_owned())
        .collect();
    assert_eq!(
        logins,
        ["before", "after"],
        "nothing written during the outage"
    );
    store.close().await;
    drop(database);
}
