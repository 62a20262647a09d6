//! Cross-node notifications: what one store commits reaches every listener
//! (LISTEN/NOTIFY) as a small payload, only once committed; a listener whose
//! connection is cut says `Missed` before anything newer, and goes on.
//! A fresh database per test on 127.0.0.1:5432; skips loudly without PostgreSQL.

use possync_core::*;
use possync_store::postgres::PostgresStore;
use possync_store::postgres::changes::{ChangeListener, StoreChange};
use possync_store::{CommitEntry, ConnectionSettings, HistoryEntry, Store, TokenOwner, UserEdit};
use possync_store_contract::postgres_database::TestDatabase;
use std::time::Duration;
use uuid::Uuid;

/// Waiting for a notification that must come; a broken promise fails, never hangs.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

async fn next(listener: &mut ChangeListener) -> StoreChange {
    tokio::time::timeout(NOTIFY_TIMEOUT, listener.next())
        .await
        .expect("a change within the timeout")
        .expect("the listener answers")
}

async fn setup() -> Option<(TestDatabase, PostgresStore, ChangeListener)> {
    let database = TestDatabase::create().await?;
    let store = PostgresStore::connect(&database.url(), &ConnectionSettings::default())
        .await
        .expect("connect");
    let listener = ChangeListener::connect(&database.url())
        .await
        .expect("listen");
    Some((database, store, listener))
}

/// A UUID unique in this process (each test has a database of its own).
fn fresh_uuid() -> Uuid {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_0000
            | u128::from(NEXT.fetch_add(1, Ordering::Relaxed)),
    )
}

fn name(text: &str) -> Name {
    Name::parse(text).expect("a name")
}

/// A new draft at version 1, created by a terminal of `session` at `config`.
fn create_entry(order_id: OrderId, config: &Config, session: &Session) -> CommitEntry {
    let by = By {
        session_id: session.id,
        config_id: config.id,
        config_name: config.name.clone(),
        terminal: TerminalId(fresh_uuid()),
    };
    let at = Timestamp::from_unix_millis(1_800_000_000_000);
    let op = Op::Create {
        config_id: None,
        customer_id: None,
        note: None,
        share: None,
    };
    #[derive(Debug)]
    struct NoCatalog;
    impl CatalogView for NoCatalog {
        fn sale_product(&self, _: ProductId) -> Option<SaleProduct> {
            None
        }
        fn customer_exists(&self, _: CustomerId) -> bool {
            false
        }
        fn payment_method_kind(&self, _: PaymentMethodId) -> Option<PaymentMethodKind> {
            None
        }
    }
    let context = ApplyContext {
        rights: possync_core::Rights::FULL,
        by: &by,
        now: at,
        catalog: &NoCatalog,
        lease_ms: 60_000,
        auto_share: false,
        reference: "Counter - 0001",
    };
    let Ok(Applied::Changed(order)) = apply(None, order_id, &op, &context) else {
        panic!("a create applies to no order");
    };
    CommitEntry::Accepted {
        entry: HistoryEntry {
            approved_by: None,
            version: order.version,
            op_id: OpId(fresh_uuid()),
            op,
            by,
            at,
        },
        order,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_change_is_told_and_nothing_else() {
    let Some((_database, store, mut listener)) = setup().await else {
        return;
    };
    let manager = store
        .create_user(
            &Login::parse("manager").expect("a login"),
            &name("Mia"),
            Role::Manager,
            "hash",
            &[],
        )
        .await
        .expect("create a user");
    assert_eq!(next(&mut listener).await, StoreChange::Users);
    store
        .update_user(
            manager.id,
            &UserEdit {
                name: Some(&name("Mia M.")),
                ..UserEdit::default()
            },
        )
        .await
        .expect("rename");
    assert_eq!(next(&mut listener).await, StoreChange::Users);

    // Revoked tokens are told one by one, by hash; revoking none tells nothing.
    let hashes: Vec<String> = ["a1", "b2", "c3"]
        .iter()
        .map(|seed| seed.repeat(32))
        .collect();
    for hash in &hashes {
        store
            .create_token(
                hash,
                TokenOwner::User {
                    user_id: manager.id,
                },
                Timestamp::from_unix_millis(0),
                None,
            )
            .await
            .expect("create a token");
    }
    assert!(
        store
            .revoke_token(&hashes[0], Timestamp::from_unix_millis(1))
            .await
            .expect("revoke a token")
    );
    assert_eq!(
        next(&mut listener).await,
        StoreChange::TokenRevoked(hashes[0].clone())
    );
    assert!(
        !store
            .revoke_token(&hashes[0], Timestamp::from_unix_millis(2))
            .await
            .expect("revoke it again")
    );
    let mut revoked = store
        .revoke_user_tokens(manager.id, Timestamp::from_unix_millis(3))
        .await
        .expect("revoke the user's tokens");
    revoked.sort();
    assert_eq!(revoked, hashes[1..].to_vec());
    let mut heard = vec![next(&mut listener).await, next(&mut listener).await];
    heard.sort_by_key(|change| format!("{change:?}"));
    assert_eq!(
        heard,
        vec![
            StoreChange::TokenRevoked(hashes[1].clone()),
            StoreChange::TokenRevoked(hashes[2].clone())
        ]
    );

    let counter = store
        .create_config(&ConfigNew {
            restrict_price_control: false,
            name: name("Counter"),
            sync_with: vec![],
            auto_share: false,
            printer: None,
        })
        .await
        .expect("create a config");
    assert_eq!(next(&mut listener).await, StoreChange::Configs);
    assert_eq!(next(&mut listener).await, StoreChange::Links);
    let bar = store
        .create_config(&ConfigNew {
            restrict_price_control: false,
            name: name("Bar"),
            sync_with: vec![],
            auto_share: false,
            printer: None,
        })
        .await
        .expect("create a config");
    assert_eq!(next(&mut listener).await, StoreChange::Configs);
    assert_eq!(next(&mut listener).await, StoreChange::Links);
    store
        .set_sync_with(counter.id, &[bar.id])
        .await
        .expect("link");
    assert_eq!(next(&mut listener).await, StoreChange::Links);
    store
        .create_category(&CategoryNew {
            name: name("Drinks"),
        })
        .await
        .expect("a category");
    assert_eq!(next(&mut listener).await, StoreChange::Catalog);

    // A refused write tells nothing: the next change heard is the next commit.
    assert!(
        store
            .set_sync_with(counter.id, &[counter.id])
            .await
            .is_err()
    );
    let (session, _) = store
        .open_or_join_session(
            counter.id,
            manager.id,
            Money::ZERO,
            Timestamp::from_unix_millis(0),
        )
        .await
        .expect("open a session");
    let order_id = OrderId(fresh_uuid());
    let created = create_entry(order_id, &counter, &session);
    store
        .commit_batch(std::slice::from_ref(&created))
        .await
        .expect("commit a create");
    let CommitEntry::Accepted { entry, .. } = &created else {
        panic!("a create is accepted");
    };
    assert_eq!(
        next(&mut listener).await,
        StoreChange::Order {
            order_id,
            version: 1,
            op_id: Some(entry.op_id),
        }
    );
    // The same create again conflicts and is rolled back: no notification.
    assert!(store.commit_batch(&[created]).await.is_err());
    store
        .close_session(session.id, None, Timestamp::from_unix_millis(1))
        .await
        .expect("close the session");
    assert_eq!(
        next(&mut listener).await,
        StoreChange::SessionClosed(session.id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_cut_off_says_missed_then_hears_again() {
    let Some((database, store, mut listener)) = setup().await else {
        return;
    };
    // Cut the listener's connection from the server side, as a network or a
    // PostgreSQL restart would.
    let admin = sqlx::PgPool::connect(&database.url())
        .await
        .expect("a pool");
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'possync-listener' AND datname = current_database()",
    )
    .fetch_all(&admin)
    .await
    .expect("terminate the listener's backend");
    assert_eq!(terminated, vec![true], "one listener connection was cut");

    // Whatever the listener sees first, it says Missed before any newer change.
    let mut first = tokio::time::timeout(NOTIFY_TIMEOUT, listener.next())
        .await
        .expect("an answer within the timeout");
    if first.is_err() {
        first = tokio::time::timeout(NOTIFY_TIMEOUT, listener.next())
            .await
            .expect("an answer within the timeout");
    }
    assert_eq!(first.expect("reconnected"), StoreChange::Missed);
    store
        .create_category(&CategoryNew {
            name: name("After"),
        })
        .await
        .expect("a category");
    assert_eq!(next(&mut listener).await, StoreChange::Catalog);
}
