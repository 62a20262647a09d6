//! The store contract against a real SQLite file, and what only the SQLite
//! store promises: data survives a reopen, durable pragmas, idempotent migrations.

use possync_core::OrderState;
use possync_store::sqlite::{ConnectionPragmas, SqliteStore};
use possync_store::{Store, StoreError};
use possync_store_contract as contract;
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use std::path::Path;
use std::sync::Arc;
use tempfile::TempDir;

/// A new store in its own temp dir; the dir lives as long as the test holds it.
async fn fresh_store() -> (TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().expect("create a temp dir");
    let store = SqliteStore::open(&dir.path().join("possync.db"))
        .await
        .expect("open a fresh store");
    (dir, Arc::new(store))
}

possync_store_contract::store_contract_tests!(fresh_store);

/// Two stores on one file, as two processes would have.
async fn two_stores() -> Option<(TempDir, Arc<SqliteStore>, Arc<SqliteStore>)> {
    let (dir, first) = fresh_store().await;
    let second = SqliteStore::open(&dir.path().join("possync.db"))
        .await
        .expect("open the file a second time");
    Some((dir, first, Arc::new(second)))
}

possync_store_contract::shared_database_tests!(two_stores);

/// Everything the store answers, to compare before and after a reopen.
#[derive(Debug, PartialEq)]
struct Snapshot {
    users: Vec<possync_core::User>,
    logins: Vec<Option<(possync_core::User, String)>>,
    products: Vec<possync_core::Product>,
    categories: Vec<possync_core::Category>,
    taxes: Vec<possync_core::Tax>,
    customers: Vec<possync_core::Customer>,
    payment_methods: Vec<possync_core::PaymentMethod>,
    configs: Vec<possync_core::Config>,
    links: possync_core::SyncLinks,
    sessions: Vec<possync_core::Session>,
    reports: Vec<possync_store::SessionReport>,
    orders: Vec<possync_core::Order>,
    histories: Vec<Vec<possync_store::HistoryEntry>>,
    outcomes: Vec<Option<possync_store::OpOutcome>>,
    stock_moves: Vec<Vec<possync_store::StockMove>>,
    invoices: Vec<possync_store::Invoice>,
}

async fn snapshot(store: &SqliteStore) -> Snapshot {
    let users = store.list_users().await.expect("list users");
    let mut logins = Vec::new();
    for user in &users {
        logins.push(store.find_login(&user.login).await.expect("find a login"));
    }
    let sessions = store.list_sessions().await.expect("list sessions");
    let mut reports = Vec::new();
    for session in &sessions {
        reports.push(
            store
                .session_report(session.id)
                .await
                .expect("report a session"),
        );
    }
    let mut orders = Vec::new();
    for state in [OrderState::Draft, OrderState::Paid, OrderState::Cancelled] {
        orders.extend(store.list_orders(state).await.expect("list orders"));
    }
    let mut histories = Vec::new();
    let mut outcomes = Vec::new();
    for order in &orders {
        let history = store.order_history(order.id).await.expect("read a history");
        for entry in &history {
            outcomes.push(
                store
                    .find_op_outcome(entry.op_id)
                    .await
                    .expect("find an outcome"),
            );
        }
        histories.push(history);
    }
    let products = store.list_products().await.expect("list products");
    let mut stock_moves = Vec::new();
    for product in &products {
        stock_moves.push(
            store
                .list_stock_moves(product.id)
                .await
                .expect("list stock moves"),
        );
    }
    Snapshot {
        users,
        logins,
        products,
        categories: store.list_categories().await.expect("list categories"),
        taxes: store.list_taxes().await.expect("list taxes"),
        customers: store.list_customers().await.expect("list customers"),
        payment_methods: store
            .list_payment_methods()
            .await
            .expect("list payment methods"),
        configs: store.list_configs().await.expect("list configs"),
        links: store.load_links().await.expect("load links"),
        sessions,
        reports,
        orders,
        histories,
        outcomes,
        stock_moves,
        invoices: store.list_invoices().await.expect("list invoices"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_close_and_reopen() {
    let dir = tempfile::tempdir().expect("create a temp dir");
    let path = dir.path().join("possync.db");
    let store = Arc::new(SqliteStore::open(&path).await.expect("open"));
    // The report scenario leaves a bit of everything: a shop, two sessions (one
    // closed), paid, draft and cancelled orders, payments, stock moves, an invoice.
    contract::session_report(Arc::clone(&store)).await;
    let before = snapshot(&store).await;
    assert!(!before.orders.is_empty() && !before.invoices.is_empty() && before.sessions.len() == 2);
    assert!(before.outcomes.iter().all(Option::is_some));

    // Dropped without closing, as when a process ends: committed data is on disk.
    drop(store);
    let store = SqliteStore::open(&path).await.expect("reopen after a drop");
    assert_eq!(
        snapshot(&store).await,
        before,
        "everything is there after a drop and reopen"
    );

    store.close().await;
    drop(store);
    let store = SqliteStore::open(&path)
        .await
        .expect("reopen after a close");
    assert_eq!(
        snapshot(&store).await,
        before,
        "everything is there after a close and reopen"
    );
    store.close().await;
}

#[tokio::test]
async fn pragmas_are_in_effect_on_committer_writer_and_readers() {
    let (_dir, store) = fresh_store().await;
    let pragmas = store.pragmas().await.expect("read the pragmas");
    let expected = ConnectionPragmas {
        journal_mode: "wal".to_owned(),
        synchronous: 2,
        foreign_keys: true,
        busy_timeout_ms: 5_000,
        wal_autocheckpoint_pages: 1_000,
    };
    assert_eq!(
        pragmas.committer, expected,
        "the commit thread's connection, which writes every op"
    );
    assert_eq!(pragmas.writer, expected, "writer");
    assert_eq!(pragmas.reader, expected, "reader");
}

#[tokio::test]
async fn the_commit_connection_checkpoints_less_often_while_batches_are_large() {
    let (_dir, store) = fresh_store().await;
    let mut edits = contract::EditBatches::start(store.as_ref()).await;
    // (ops in the next batch, then the checkpoint pages of the commit and writer connections)
    let steps = [
        (0, (1_000, 1_000), "SQLite's default after one-op commits"),
        (31, (1_000, 1_000), "31 ops are not many"),
        (
            32,
            (10_000, 1_000),
            "a batch of 32 ops: the commit connection's alone",
        ),
        (1, (1_000, 1_000), "back to small batches"),
    ];
    for (ops, expected, what) in steps {
        if ops > 0 {
            edits.commit(store.as_ref(), ops).await;
        }
        let pragmas = store.pragmas().await.expect("read the pragmas");
        let pages = (
            pragmas.committer.wal_autocheckpoint_pages,
            pragmas.writer.wal_autocheckpoint_pages,
        );
        assert_eq!(pages, expected, "{what}");
    }
    let history = store
        .order_history(edits.order_id())
        .await
        .expect("read the history");
    assert_eq!(history.len(), 1 + 31 + 32 + 1, "every edit committed");
}

/// The migrations recorded in the file: (version, success).
async fn applied_migrations(path: &Path) -> Vec<(i64, bool)> {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .expect("open a raw connection");
    sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .expect("read _sqlx_migrations")
}

#[tokio::test]
async fn migrations_are_idempotent_on_reopen() {
    let dir = tempfile::tempdir().expect("create a temp dir");
    let path = dir.path().join("possync.db");
    let store = SqliteStore::open(&path).await.expect("open");
    contract::users(Arc::new(store.clone())).await;
    store.close().await;
    let first = applied_migrations(&path).await;
    assert!(
        !first.is_empty() && first.iter().all(|&(_, success)| success),
        "{first:?}"
    );

    for _ in 0..2 {
        let store = SqliteStore::open(&path).await.expect("reopen");
        assert_eq!(
            store.count_users().await.expect("count users"),
            2,
            "the data is kept"
        );
        store.close().await;
        assert_eq!(
            applied_migrations(&path).await,
            first,
            "a reopen applies nothing again"
        );
    }
}

#[tokio::test]
async fn open_fails_cleanly_where_there_can_be_no_database() {
    let dir = tempfile::tempdir().expect("create a temp dir");
    let missing_dir = dir.path().join("no-such-dir").join("possync.db");
    match SqliteStore::open(&missing_dir).await {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("no-such-dir"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let not_a_database = dir.path().join("notes.txt");
    std::fs::write(
        &not_a_database,
        "this is not an SQLite file, just text that is long enough to matter",
    )
    .expect("write a text file");
    assert!(matches!(
        SqliteStore::open(&not_a_database).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_runs_through_a_trait_object() {
    let (_dir, store) = fresh_store().await;
    let store: Arc<dyn Store> = store;
    contract::orders_commit_and_history(store).await;
    let (_dir, store) = fresh_store().await;
    let store: Arc<dyn Store> = store;
    contract::concurrent_session_opens(store).await;
}

/// Creates a manager and a config through the store; returns their ids.
async fn manager_and_config(store: &SqliteStore) -> (possync_core::UserId, possync_core::ConfigId) {
    let manager = store
        .create_user(
            &possync_core::Login::parse("manager").expect("a login"),
            &possync_core::Name::parse("Mia").expect("a name"),
            possync_core::Role::Manager,
            "hash",
            &[],
        )
        .await
        .expect("create a manager");
    let config = store
        .create_config(&possync_core::ConfigNew {
            restrict_price_control: false,
            name: possync_core::Name::parse("Counter 1").expect("a name"),
            sync_with: vec![],
            auto_share: false,
            printer: None,
        })
        .await
        .expect("create a config");
    (manager.id, config.id)
}

#[tokio::test]
async fn the_schema_refuses_a_second_open_session() {
    let dir = tempfile::tempdir().expect("create a temp dir");
    let path = dir.path().join("possync.db");
    let store = SqliteStore::open(&path).await.expect("open");
    let (user_id, config_id) = manager_and_config(&store).await;
    let now = possync_core::Timestamp::from_unix_millis(1_795_000_000_000);
    store
        .open_or_join_session(config_id, user_id, possync_core::Money::ZERO, now)
        .await
        .expect("open a session");
    // Whatever the code does, the partial unique index is the backstop.
    let mut conn = SqliteConnectOptions::new()
        .filename(&path)
        .connect()
        .await
        .expect("open a raw connection");
    let second = sqlx::query(
        "INSERT INTO sessions (config_id, state, opened_at, opened_by, opening_cash) VALUES (?, 'open', 0, ?, 0)",
    )
    .bind(config_id.0)
    .bind(user_id.0)
    .execute(&mut conn)
    .await;
    let error = second.expect_err("a second open session is refused");
    assert!(
        error
            .as_database_error()
            .is_some_and(|error| error.is_unique_violation()),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_still_open_one_session() {
    let dir = tempfile::tempdir().expect("create a temp dir");
    let path = dir.path().join("possync.db");
    let first = Arc::new(SqliteStore::open(&path).await.expect("open"));
    // A second store on the same file stands for a second process: the write
    // lock, not the in-process writer queue, must keep them apart.
    let second = Arc::new(SqliteStore::open(&path).await.expect("open again"));
    let (user_id, config_id) = manager_and_config(&first).await;
    let now = possync_core::Timestamp::from_unix_millis(1_795_000_000_000);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 {
                Arc::clone(&first)
            } else {
                Arc::clone(&second)
            };
            tokio::spawn(async move {
                store
                    .open_or_join_session(config_id, user_id, possync_core::Money::ZERO, now)
                    .await
            })
        })
        .collect();
    let mut opened = Vec::new();
    for task in tasks {
        opened.push(
            task.await
                .expect("an open task finished")
                .expect("open or join"),
        );
    }
    let session_ids: std::collections::BTreeSet<_> =
        opened.iter().map(|(session, _)| session.id).collect();
    assert_eq!(session_ids.len(), 1, "{opened:?}");
    assert_eq!(
        opened.iter().filter(|(_, joined)| !joined).count(),
        1,
        "{opened:?}"
    );
}

#[tokio::test]
async fn a_closed_store_answers_ping_and_commits_unavailable() {
    let (_dir, store) = fresh_store().await;
    store.ping().await.expect("an open store answers");
    store.close().await;
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    // The commit thread is gone too: an answer, not a hang or a panic.
    let answer = store
        .commit_batch(&[possync_core::CommitEntry::Unchanged {
            op_id: possync_core::OpId(uuid::Uuid::from_u128(1)),
            order_id: possync_core::OrderId(uuid::Uuid::from_u128(2)),
            version: 1,
            at: possync_core::Timestamp::from_unix_millis(1),
        }])
        .await;
    assert!(
        matches!(&answer, Err(StoreError::Unavailable(message)) if message.contains("closed")),
        "{answer:?}"
    );
}

/// The commit thread and sqlx's writer are two connections of one store;
/// inside the process they take turns (the store's write turn) instead of
/// meeting at SQLite's lock, where the busy handler sleeps and gives up after
/// the busy timeout. With a busy timeout of 1 ms, which gives up almost as
/// soon as the two meet, a stream of commits and a stream of back-office
/// writes side by side all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_two_writers_take_turns_instead_of_meeting_at_the_lock() {
    use possync_core::{CommitEntry, CustomerNew, Name, OpId, OrderId, Timestamp};
    let dir = tempfile::tempdir().expect("create a temp dir");
    let settings = possync_store::ConnectionSettings {
        statement_timeout_ms: Some(1),
        ..Default::default()
    };
    let store = Arc::new(
        SqliteStore::open_with(&dir.path().join("possync.db"), &settings)
            .await
            .expect("open a fresh store"),
    );
    let committing = {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 1..=300_u128 {
                // A first answer to an op: one outcome row, one transaction, one fsync.
                let answer = CommitEntry::Unchanged {
                    op_id: OpId(uuid::Uuid::from_u128(n)),
                    order_id: OrderId(uuid::Uuid::from_u128(1 << 100)),
                    version: 1,
                    at: Timestamp::from_unix_millis(1),
                };
                store
                    .commit_batch(&[answer])
                    .await
                    .expect("a commit beside the back-office writes");
            }
        })
    };
    for n in 0..100 {
        let customer = CustomerNew {
            name: Name::parse(&format!("Customer {n}")).expect("a name"),
            email: None,
            phone: None,
        };
        store
            .create_customer(&customer)
            .await
            .expect("a back-office write beside the commits");
    }
    committing.await.expect("the commits ran");
    assert_eq!(store.list_customers().await.expect("list").len(), 100);
}
