//! Users and tokens.

use crate::fixtures::*;
use possync_core::*;
use possync_store::{Conflict, Store, TokenOwner};
use std::sync::Arc;

/// Users: creation, unique logins, lookups, updates, and the last manager.
pub async fn users<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    assert_eq!(
        ok(store.count_users().await, "count users"),
        0,
        "a fresh store has no users"
    );
    let admin = ok(
        store
            .create_user(
                &login("admin"),
                &name("Ada Admin"),
                Role::Manager,
                "hash-admin",
            )
            .await,
        "create admin",
    );
    assert_eq!(
        (admin.login.as_str(), admin.name.as_str(), admin.role),
        ("admin", "Ada Admin", Role::Manager)
    );
    expect_conflict(
        store
            .create_user(&login("ADMIN"), &name("Other"), Role::Cashier, "hash")
            .await,
        Conflict::LoginTaken,
        "a taken login (logins are normalized to lowercase)",
    );
    assert_eq!(
        ok(store.count_users().await, "count users"),
        1,
        "a refused user is not created"
    );

    let cathy = ok(
        store
            .create_user(&login("cathy"), &name("Cathy"), Role::Cashier, "hash-cathy")
            .await,
        "create cathy",
    );
    assert!(cathy.id > admin.id);
    assert_eq!(
        ok(store.list_users().await, "list users"),
        vec![admin.clone(), cathy.clone()]
    );
    assert_eq!(ok(store.count_users().await, "count users"), 2);
    assert_eq!(ok(store.get_user(cathy.id).await, "get cathy"), cathy);
    expect_not_found(
        store.get_user(UserId(MISSING_ID)).await,
        "user",
        "get an unknown user",
    );

    assert_eq!(
        ok(store.find_login(&login("cathy")).await, "find cathy"),
        Some((cathy.clone(), "hash-cathy".to_owned()))
    );
    assert_eq!(
        ok(store.find_login(&login("nobody")).await, "find nobody"),
        None
    );

    let renamed = ok(
        store
            .update_user(
                cathy.id,
                Some(&name("Cathy C.")),
                None,
                Some("hash-cathy-2"),
            )
            .await,
        "rename cathy and change her password",
    );
    assert_eq!(
        (renamed.name.as_str(), renamed.role),
        ("Cathy C.", Role::Cashier)
    );
    assert_eq!(
        ok(store.find_login(&login("cathy")).await, "find cathy").map(|(_, hash)| hash),
        Some("hash-cathy-2".to_owned())
    );
    let unchanged = ok(
        store.update_user(cathy.id, None, None, None).await,
        "an empty update",
    );
    assert_eq!(unchanged, renamed);

    expect_conflict(
        store
            .update_user(admin.id, None, Some(Role::Cashier), None)
            .await,
        Conflict::LastManager,
        "demote the last manager",
    );
    assert_eq!(
        ok(store.get_user(admin.id).await, "get admin").role,
        Role::Manager
    );
    ok(
        store
            .update_user(admin.id, Some(&name("Ada")), Some(Role::Manager), None)
            .await,
        "a manager staying a manager is no demotion",
    );
    ok(
        store
            .update_user(cathy.id, None, Some(Role::Manager), None)
            .await,
        "promote cathy",
    );
    let admin = ok(
        store
            .update_user(admin.id, None, Some(Role::Cashier), None)
            .await,
        "demote admin now that cathy manages",
    );
    assert_eq!(admin.role, Role::Cashier);
    expect_conflict(
        store
            .update_user(cathy.id, None, Some(Role::Cashier), None)
            .await,
        Conflict::LastManager,
        "demote cathy, now the last manager",
    );
    expect_not_found(
        store
            .update_user(UserId(MISSING_ID), Some(&name("Ghost")), None, None)
            .await,
        "user",
        "update an unknown user",
    );
}

/// Tokens: stored by hash for users and terminals; unknown owners refused.
pub async fn tokens<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let (session, _) = ok(
        store
            .open_or_join_session(shop.counter_1.id, shop.manager.id, Money::ZERO, tick())
            .await,
        "open a session",
    );
    let user_owner = TokenOwner::User {
        user_id: shop.manager.id,
    };
    let terminal_owner = TokenOwner::Terminal {
        user_id: shop.manager.id,
        session_id: session.id,
    };
    ok(
        store.create_token("hash-user", user_owner, tick()).await,
        "create a user token",
    );
    ok(
        store
            .create_token("hash-terminal", terminal_owner, tick())
            .await,
        "create a terminal token",
    );
    assert_eq!(
        ok(store.find_token("hash-user").await, "find the user token"),
        Some(user_owner)
    );
    assert_eq!(
        ok(
            store.find_token("hash-terminal").await,
            "find the terminal token"
        ),
        Some(terminal_owner)
    );
    assert_eq!(
        ok(
            store.find_token("hash-unknown").await,
            "find an unknown token"
        ),
        None
    );
    expect_conflict(
        store
            .create_token("hash-user", terminal_owner, tick())
            .await,
        Conflict::TokenExists,
        "a token hash twice",
    );
    assert_eq!(
        ok(store.find_token("hash-user").await, "find the user token"),
        Some(user_owner)
    );
    expect_invalid(
        store
            .create_token(
                "hash-ghost",
                TokenOwner::User {
                    user_id: UserId(MISSING_ID),
                },
                tick(),
            )
            .await,
        "a token of an unknown user",
    );
    expect_invalid(
        store
            .create_token(
                "hash-ghost-session",
                TokenOwner::Terminal {
                    user_id: shop.manager.id,
                    session_id: SessionId(MISSING_ID),
                },
                tick(),
            )
            .await,
        "a token of an unknown session",
    );
    assert_eq!(
        ok(store.find_token("hash-ghost").await, "find a refused token"),
        None
    );
}

/// A working store answers a ping.
pub async fn ping<S: Store + ?Sized>(store: Arc<S>) {
    ok(store.ping().await, "ping a fresh store");
    ok(store.ping().await, "ping it again");
}
