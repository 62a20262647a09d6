//! Users and tokens.

use crate::fixtures::*;
use possync_core::*;
use possync_store::{AuditEntry, AuditNew, Conflict, Store, TokenOwner, TokenRecord, UserEdit};
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
                &[],
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
            .create_user(&login("ADMIN"), &name("Other"), Role::Cashier, "hash", &[])
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
            .create_user(
                &login("cathy"),
                &name("Cathy"),
                Role::Cashier,
                "hash-cathy",
                &[],
            )
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
                &UserEdit {
                    name: Some(&name("Cathy C.")),
                    password_hash: Some("hash-cathy-2"),
                    ..UserEdit::default()
                },
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
        store.update_user(cathy.id, &UserEdit::default()).await,
        "an empty update",
    );
    assert_eq!(unchanged, renamed);

    expect_conflict(
        store
            .update_user(
                admin.id,
                &UserEdit {
                    role: Some(Role::Cashier),
                    ..UserEdit::default()
                },
            )
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
            .update_user(
                admin.id,
                &UserEdit {
                    name: Some(&name("Ada")),
                    role: Some(Role::Manager),
                    ..UserEdit::default()
                },
            )
            .await,
        "a manager staying a manager is no demotion",
    );
    ok(
        store
            .update_user(
                cathy.id,
                &UserEdit {
                    role: Some(Role::Manager),
                    ..UserEdit::default()
                },
            )
            .await,
        "promote cathy",
    );
    let admin = ok(
        store
            .update_user(
                admin.id,
                &UserEdit {
                    role: Some(Role::Cashier),
                    ..UserEdit::default()
                },
            )
            .await,
        "demote admin now that cathy manages",
    );
    assert_eq!(admin.role, Role::Cashier);
    expect_conflict(
        store
            .update_user(
                cathy.id,
                &UserEdit {
                    role: Some(Role::Cashier),
                    ..UserEdit::default()
                },
            )
            .await,
        Conflict::LastManager,
        "demote cathy, now the last manager",
    );
    expect_not_found(
        store
            .update_user(
                UserId(MISSING_ID),
                &UserEdit {
                    name: Some(&name("Ghost")),
                    ..UserEdit::default()
                },
            )
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
    let later = Timestamp::from_unix_millis(tick().unix_millis() + 3_600_000);
    let user_owner = TokenOwner::User {
        user_id: shop.manager.id,
    };
    let terminal_owner = TokenOwner::Terminal {
        user_id: shop.manager.id,
        session_id: session.id,
    };
    ok(
        store
            .create_token("hash-user", user_owner, tick(), Some(later))
            .await,
        "create a user token",
    );
    ok(
        store
            .create_token("hash-terminal", terminal_owner, tick(), None)
            .await,
        "create a terminal token",
    );
    assert_eq!(
        ok(store.find_token("hash-user").await, "find the user token").map(owner_and_life),
        Some((user_owner, Some(later), None))
    );
    assert_eq!(
        ok(
            store.find_token("hash-terminal").await,
            "find the terminal token"
        )
        .map(owner_and_life),
        Some((terminal_owner, None, None))
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
            .create_token("hash-user", terminal_owner, tick(), None)
            .await,
        Conflict::TokenExists,
        "a token hash twice",
    );
    assert_eq!(
        ok(store.find_token("hash-user").await, "find the user token").map(owner_and_life),
        Some((user_owner, Some(later), None))
    );
    expect_invalid(
        store
            .create_token(
                "hash-ghost",
                TokenOwner::User {
                    user_id: UserId(MISSING_ID),
                },
                tick(),
                None,
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
                None,
            )
            .await,
        "a token of an unknown session",
    );
    assert_eq!(
        ok(store.find_token("hash-ghost").await, "find a refused token"),
        None
    );
}

fn owner_and_life(record: TokenRecord) -> (TokenOwner, Option<Timestamp>, Option<Timestamp>) {
    (record.owner, record.expires_at, record.revoked_at)
}

/// Staff access: counters and `active` are stored, replaced and checked; the
/// last active manager cannot be deactivated; tokens are revoked one by one
/// or all of a user's at once; a session knows the users who opened or joined it.
pub async fn staff_access_and_revocation<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let (counter_1, counter_2) = (shop.counter_1.id, shop.counter_2.id);
    let cathy = ok(
        store
            .create_user(
                &login("cathy"),
                &name("Cathy"),
                Role::Cashier,
                "hash",
                &[counter_2, counter_1, counter_2],
            )
            .await,
        "create a cashier with two counters (one named twice)",
    );
    assert!(cathy.active, "a new user is active");
    assert_eq!(
        cathy.config_ids,
        vec![counter_1, counter_2],
        "ascending, once each"
    );
    assert!(cathy.may_open(counter_1) && !cathy.may_open(ConfigId(MISSING_ID)));
    assert!(
        shop.manager.may_open(counter_2),
        "a manager opens any counter"
    );
    assert_eq!(ok(store.get_user(cathy.id).await, "get cathy"), cathy);
    expect_invalid(
        store
            .create_user(
                &login("ghost"),
                &name("Ghost"),
                Role::Cashier,
                "hash",
                &[ConfigId(MISSING_ID)],
            )
            .await,
        "a cashier of an unknown counter",
    );
    assert_eq!(
        ok(store.find_login(&login("ghost")).await, "find ghost"),
        None,
        "a refused user is not created"
    );
    let moved = ok(
        store
            .update_user(
                cathy.id,
                &UserEdit {
                    config_ids: Some(&[counter_2]),
                    ..UserEdit::default()
                },
            )
            .await,
        "move cathy to counter 2",
    );
    assert_eq!(moved.config_ids, vec![counter_2]);
    expect_invalid(
        store
            .update_user(
                cathy.id,
                &UserEdit {
                    name: Some(&name("Changed")),
                    config_ids: Some(&[ConfigId(MISSING_ID)]),
                    ..UserEdit::default()
                },
            )
            .await,
        "a counter that does not exist",
    );
    assert_eq!(
        ok(store.get_user(cathy.id).await, "get cathy"),
        moved,
        "a refused update changes nothing"
    );

    // Tokens: cathy has a login and a terminal token; another user's survive her revocation.
    let (session, _) = ok(
        store
            .open_or_join_session(counter_2, cathy.id, Money::ZERO, tick())
            .await,
        "cathy opens counter 2",
    );
    let terminal = TokenOwner::Terminal {
        user_id: cathy.id,
        session_id: session.id,
    };
    let login_owner = TokenOwner::User { user_id: cathy.id };
    ok(
        store
            .create_token("cathy-login", login_owner, tick(), None)
            .await,
        "login token",
    );
    ok(
        store
            .create_token("cathy-till", terminal, tick(), None)
            .await,
        "terminal token",
    );
    ok(
        store
            .create_token("cathy-logout", login_owner, tick(), None)
            .await,
        "a second login token",
    );
    let manager_terminal = TokenOwner::Terminal {
        user_id: shop.manager.id,
        session_id: session.id,
    };
    ok(
        store
            .create_token("mia-till", manager_terminal, tick(), None)
            .await,
        "the manager joins",
    );
    assert_eq!(
        ok(store.session_user_ids(session.id).await, "session users"),
        {
            let mut ids = vec![cathy.id, shop.manager.id];
            ids.sort();
            ids
        }
    );
    expect_not_found(
        store.session_user_ids(SessionId(MISSING_ID)).await,
        "session",
        "users of an unknown session",
    );

    let logout_at = tick();
    assert!(ok(
        store.revoke_token("cathy-logout", logout_at).await,
        "log out"
    ));
    assert!(
        !ok(
            store.revoke_token("cathy-logout", tick()).await,
            "log out again"
        ),
        "a revoked token is not revoked twice"
    );
    assert!(!ok(
        store.revoke_token("unknown", tick()).await,
        "revoke an unknown token"
    ));
    assert_eq!(
        ok(
            store.find_token("cathy-logout").await,
            "find the revoked token"
        )
        .and_then(|record| record.revoked_at),
        Some(logout_at)
    );

    let deactivated = ok(
        store
            .update_user(
                cathy.id,
                &UserEdit {
                    active: Some(false),
                    ..UserEdit::default()
                },
            )
            .await,
        "deactivate cathy",
    );
    assert!(!deactivated.active && !deactivated.may_open(counter_2));
    let mut revoked = ok(
        store.revoke_user_tokens(cathy.id, tick()).await,
        "revoke cathy's tokens",
    );
    revoked.sort();
    assert_eq!(
        revoked,
        vec!["cathy-login".to_owned(), "cathy-till".to_owned()],
        "the already revoked one is not named again"
    );
    for hash in ["cathy-login", "cathy-till"] {
        assert!(
            ok(store.find_token(hash).await, "find")
                .is_some_and(|record| record.revoked_at.is_some()),
            "{hash} is revoked"
        );
    }
    assert_eq!(
        ok(store.find_token("mia-till").await, "find").and_then(|record| record.revoked_at),
        None,
        "another user's token in the same session still works"
    );
    assert_eq!(
        ok(
            store.revoke_user_tokens(cathy.id, tick()).await,
            "revoke again"
        ),
        Vec::<String>::new()
    );

    // The last active manager stays: neither demoted nor deactivated.
    expect_conflict(
        store
            .update_user(
                shop.manager.id,
                &UserEdit {
                    active: Some(false),
                    ..UserEdit::default()
                },
            )
            .await,
        Conflict::LastManager,
        "deactivate the last manager",
    );
    ok(
        store
            .update_user(
                cathy.id,
                &UserEdit {
                    role: Some(Role::Manager),
                    ..UserEdit::default()
                },
            )
            .await,
        "an inactive manager",
    );
    expect_conflict(
        store
            .update_user(
                shop.manager.id,
                &UserEdit {
                    role: Some(Role::Cashier),
                    ..UserEdit::default()
                },
            )
            .await,
        Conflict::LastManager,
        "an inactive manager does not count",
    );
}

/// The audit trail: entries are appended with who, what and when, and read
/// back newest first, a page at a time; an unknown user is refused.
pub async fn audit_trail<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let details = [
        serde_json::json!({"sync_with": [2, 3]}),
        serde_json::json!({"price": 250, "was": 200}),
        serde_json::json!({"counted_cash": 1000}),
    ];
    let mut appended = Vec::new();
    for (action, detail) in ["links.set", "product.update", "session.close"]
        .into_iter()
        .zip(&details)
    {
        let entry = ok(
            store
                .append_audit(&AuditNew {
                    at: tick(),
                    user_id: shop.manager.id,
                    action,
                    target: "config 1",
                    details: detail,
                })
                .await,
            "append an audit entry",
        );
        assert_eq!((entry.action.as_str(), &entry.details), (action, detail));
        appended.push(entry);
    }
    assert!(appended[0].id < appended[1].id && appended[1].id < appended[2].id);
    let newest_first: Vec<AuditEntry> = appended.iter().rev().cloned().collect();
    assert_eq!(
        ok(store.list_audit_page(None, 1000).await, "the trail"),
        newest_first
    );
    assert_eq!(
        ok(store.list_audit_page(None, 2).await, "the first page"),
        newest_first[..2].to_vec()
    );
    assert_eq!(
        ok(
            store.list_audit_page(Some(appended[1].id), 2).await,
            "the next page"
        ),
        newest_first[2..].to_vec()
    );
    expect_invalid(
        store
            .append_audit(&AuditNew {
                at: tick(),
                user_id: UserId(MISSING_ID),
                action: "user.update",
                target: "user 1",
                details: &serde_json::json!({}),
            })
            .await,
        "an entry by an unknown user",
    );
    assert_eq!(
        ok(store.list_audit_page(None, 1000).await, "the trail").len(),
        3
    );
}

/// A working store answers a ping.
pub async fn ping<S: Store + ?Sized>(store: Arc<S>) {
    ok(store.ping().await, "ping a fresh store");
    ok(store.ping().await, "ping it again");
}
