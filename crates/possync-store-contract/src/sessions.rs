//! Sessions: open, join, close, and at most one open per config under concurrent opens.

use crate::fixtures::*;
use possync_core::*;
use possync_store::{Conflict, Store};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Sessions: open, join, close once, reopen as a new session.
pub async fn sessions<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let cashier = ok(
        store
            .create_user(&login("cathy"), &name("Cathy"), Role::Cashier, "hash", &[])
            .await,
        "create a cashier",
    );
    let opened_at = tick();
    let (first, joined) = ok(
        store
            .open_or_join_session(shop.counter_1.id, shop.manager.id, money(10_000), opened_at)
            .await,
        "open counter 1",
    );
    assert!(!joined, "the first open opens");
    assert_eq!(
        first,
        Session {
            id: first.id,
            config_id: shop.counter_1.id,
            state: SessionState::Open,
            opened_at,
            closed_at: None,
            opened_by: shop.manager.id,
            opening_cash: money(10_000),
            counted_cash: None,
        }
    );
    let (again, joined) = ok(
        store
            .open_or_join_session(shop.counter_1.id, cashier.id, money(99), tick())
            .await,
        "open counter 1 again",
    );
    assert!(joined, "a second open joins");
    assert_eq!(again, first, "joining changes nothing about the session");
    let (other, joined) = ok(
        store
            .open_or_join_session(shop.counter_2.id, cashier.id, Money::ZERO, tick())
            .await,
        "open counter 2",
    );
    assert!(!joined);
    assert_ne!(other.id, first.id);
    assert_eq!(
        ok(store.get_session(first.id).await, "get the session"),
        first
    );
    expect_not_found(
        store.get_session(SessionId(MISSING_ID)).await,
        "session",
        "get an unknown session",
    );
    expect_not_found(
        store
            .open_or_join_session(ConfigId(MISSING_ID), cashier.id, Money::ZERO, tick())
            .await,
        "config",
        "open an unknown config",
    );
    expect_invalid(
        store
            .open_or_join_session(shop.counter_1.id, UserId(MISSING_ID), Money::ZERO, tick())
            .await,
        "open as an unknown user",
    );

    let closed_at = tick();
    let report = ok(
        store
            .close_session(first.id, Some(money(10_000)), closed_at)
            .await,
        "close counter 1",
    );
    assert_eq!(report.session.state, SessionState::Closed);
    assert_eq!(report.session.closed_at, Some(closed_at));
    assert_eq!(report.session.counted_cash, Some(money(10_000)));
    assert_eq!(
        ok(store.get_session(first.id).await, "get the closed session"),
        report.session
    );
    expect_conflict(
        store.close_session(first.id, None, tick()).await,
        Conflict::SessionClosed(first.id),
        "close a closed session",
    );
    assert_eq!(
        ok(store.get_session(first.id).await, "get the closed session"),
        report.session,
        "a refused close changes nothing"
    );
    expect_not_found(
        store
            .close_session(SessionId(MISSING_ID), None, tick())
            .await,
        "session",
        "close an unknown session",
    );
    expect_not_found(
        store.session_report(SessionId(MISSING_ID)).await,
        "session",
        "report an unknown session",
    );

    let (second, joined) = ok(
        store
            .open_or_join_session(shop.counter_1.id, cashier.id, money(500), tick())
            .await,
        "reopen counter 1",
    );
    assert!(!joined, "after a close, an open opens a new session");
    assert_ne!(second.id, first.id);
    assert_eq!(
        (second.opened_by, second.opening_cash),
        (cashier.id, money(500))
    );
    assert_eq!(
        ok(store.get_config(shop.counter_1.id).await, "get counter 1").open_session_id,
        Some(second.id)
    );

    let listed: Vec<SessionId> = ok(store.list_sessions().await, "list sessions")
        .into_iter()
        .map(|session| session.id)
        .collect();
    assert_eq!(
        listed,
        vec![second.id, other.id, first.id],
        "sessions newest first"
    );
}

/// Concurrent opens of one config make exactly one session; the others join it.
pub async fn concurrent_session_opens<S: Store + ?Sized>(store: Arc<S>) {
    let shop = open_shop(&*store).await;
    let config_id = shop.counter_1.id;
    let user_id = shop.manager.id;
    let now = tick();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .open_or_join_session(config_id, user_id, money(i * 100), now)
                    .await
            })
        })
        .collect();
    let mut opened = Vec::new();
    for task in tasks {
        let result = task.await.expect("an open task finished");
        opened.push(ok(result, "a concurrent open"));
    }
    let session_ids: BTreeSet<SessionId> = opened.iter().map(|(session, _)| session.id).collect();
    assert_eq!(
        session_ids.len(),
        1,
        "every concurrent open got the same session: {opened:?}"
    );
    let n_opened = opened.iter().filter(|(_, joined)| !joined).count();
    assert_eq!(
        n_opened, 1,
        "exactly one call opened, the others joined: {opened:?}"
    );
    let sessions = ok(store.list_sessions().await, "list sessions");
    assert_eq!(
        sessions
            .iter()
            .filter(|session| session.config_id == config_id)
            .count(),
        1
    );
}
