//! Money rights: a counter's `restrict_price_control`, a user's PIN hash, and
//! an approved op's approver, kept in its history and in the audit trail.

use crate::fixtures::*;
use possync_core::*;
use possync_store::{CommitEntry, Store, UserEdit};
use std::sync::Arc;

/// The setting round-trips, a PIN hash is set and removed without touching the
/// rest of the user, and an approved op names its approver in the history and
/// in the audit trail, in the op's own transaction.
pub async fn money_rights<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    assert!(!shop.counter_1.restrict_price_control, "off by default");
    let restricted = ok(
        store
            .update_config(
                shop.counter_1.id,
                &ConfigChanges {
                    restrict_price_control: Some(true),
                    ..ConfigChanges::default()
                },
            )
            .await,
        "restrict counter 1",
    );
    assert!(restricted.restrict_price_control);
    assert_eq!(restricted.name, shop.counter_1.name, "other fields stay");
    let created = ok(
        store
            .create_config(&ConfigNew {
                name: name("Back bar"),
                sync_with: vec![],
                auto_share: false,
                printer: None,
                restrict_price_control: true,
            })
            .await,
        "create a restricted config",
    );
    let listed = ok(store.list_configs().await, "list configs");
    let restricted_ids: Vec<ConfigId> = listed
        .iter()
        .filter(|config| config.restrict_price_control)
        .map(|config| config.id)
        .collect();
    assert_eq!(restricted_ids, vec![shop.counter_1.id, created.id]);

    // A PIN hash: absent, set, left alone by other edits, removed.
    let manager = shop.manager.id;
    let (user, pin_hash) = ok(store.find_pin(manager).await, "find a PIN").unwrap();
    assert_eq!((user.has_pin, pin_hash), (false, None));
    let with_pin = ok(
        store
            .update_user(
                manager,
                &UserEdit {
                    pin_hash: Some(Some("pin-hash")),
                    ..UserEdit::default()
                },
            )
            .await,
        "set a PIN",
    );
    assert!(with_pin.has_pin);
    ok(
        store
            .update_user(
                manager,
                &UserEdit {
                    name: Some(&name("Mia M.")),
                    ..UserEdit::default()
                },
            )
            .await,
        "rename",
    );
    let (user, pin_hash) = ok(store.find_pin(manager).await, "find a PIN").unwrap();
    assert_eq!(
        (user.has_pin, pin_hash.as_deref()),
        (true, Some("pin-hash"))
    );
    assert!(ok(store.find_pin(UserId(MISSING_ID)).await, "an unknown user").is_none());

    // An approved op: its approver in the history and in the audit trail.
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let order = draft(store, &till, None, false, &[(shop.coffee.id, 1000, 0)]).await;
    let mut entry = till.decide(
        Some(&order),
        order.id,
        Op::set_discount(
            order.lines[0].id,
            Discount::from_basis_points(1000).unwrap(),
        ),
    );
    if let CommitEntry::Accepted { entry, .. } = &mut entry {
        entry.approved_by = Some(manager);
    }
    ok(
        store.commit_batch(std::slice::from_ref(&entry)).await,
        "commit an approved op",
    );
    let history = ok(store.order_history(order.id).await, "history");
    let approvers: Vec<Option<UserId>> = history.iter().map(|entry| entry.approved_by).collect();
    assert_eq!(approvers, vec![None, None, Some(manager)]);
    let paged = ok(
        store.order_history_page(order.id, 2, 10).await,
        "a page of history",
    );
    assert_eq!(paged[0].approved_by, Some(manager));
    let trail = ok(store.list_audit_page(None, 10).await, "the trail");
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0].user_id, manager);
    assert_eq!(trail[0].action, "op.approve");
    assert_eq!(trail[0].target, format!("order {}", order.id));
    assert_eq!(trail[0].details["kind"], "set_discount");
    assert_eq!(trail[0].details["version"], 3);
    assert_eq!(trail[0].details["config_id"], shop.counter_1.id.0);
    assert_eq!(trail[0].at, entry_history(&entry).at);

    let removed = ok(
        store
            .update_user(
                manager,
                &UserEdit {
                    pin_hash: Some(None),
                    ..UserEdit::default()
                },
            )
            .await,
        "remove the PIN",
    );
    assert!(!removed.has_pin);
    let (_, pin_hash) = ok(store.find_pin(manager).await, "find a PIN").unwrap();
    assert_eq!(pin_hash, None);
}
