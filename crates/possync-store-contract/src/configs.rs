//! Configs and their two-way sync links.

use crate::fixtures::*;
use possync_core::*;
use possync_store::Store;
use std::sync::Arc;

/// Configs and the link matrix: two-way, never self, never transitive, and a
/// refused change changes nothing.
pub async fn configs_and_links<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let config_new = |config_name: &str, sync_with: Vec<ConfigId>| ConfigNew {
        restrict_price_control: false,
        name: name(config_name),
        sync_with,
        auto_share: false,
        printer: None,
    };
    let c1 = ok(
        store.create_config(&config_new("Counter 1", vec![])).await,
        "create counter 1",
    );
    assert_eq!(
        (c1.sync_with.clone(), c1.auto_share, c1.open_session_id),
        (vec![], false, None)
    );
    let c2 = ok(
        store
            .create_config(&config_new("Counter 2", vec![c1.id]))
            .await,
        "create counter 2 linked to 1",
    );
    assert_eq!(c2.sync_with, vec![c1.id]);
    assert_eq!(
        sync_with(store, c1.id).await,
        vec![c2.id],
        "a link made at creation shows on both sides"
    );
    assert_links_symmetric(store).await;
    let c3 = ok(
        store.create_config(&config_new("Terrace", vec![])).await,
        "create the terrace",
    );

    let c3_after = ok(
        store.set_sync_with(c3.id, &[c2.id, c1.id]).await,
        "link the terrace to both",
    );
    assert_eq!(c3_after.sync_with, vec![c1.id, c2.id]);
    assert_eq!(sync_with(store, c1.id).await, vec![c2.id, c3.id]);
    assert_eq!(sync_with(store, c2.id).await, vec![c1.id, c3.id]);
    assert_links_symmetric(store).await;

    let c1_after = ok(
        store.set_sync_with(c1.id, &[c3.id]).await,
        "counter 1 drops counter 2",
    );
    assert_eq!(c1_after.sync_with, vec![c3.id]);
    assert_eq!(
        sync_with(store, c2.id).await,
        vec![c3.id],
        "a dropped link vanishes from both sides"
    );
    assert_eq!(
        sync_with(store, c3.id).await,
        vec![c1.id, c2.id],
        "other links are untouched"
    );
    assert_links_symmetric(store).await;
    let links = ok(store.load_links().await, "load links");
    assert!(links.are_linked(c1.id, c3.id) && links.are_linked(c3.id, c2.id));
    assert!(!links.are_linked(c1.id, c2.id), "links are not transitive");

    let before = ok(store.load_links().await, "load links");
    expect_invalid(
        store.set_sync_with(c1.id, &[c1.id, c2.id]).await,
        "a self-link",
    );
    assert_eq!(
        ok(store.load_links().await, "load links"),
        before,
        "a refused self-link changes nothing"
    );
    let message = expect_invalid(
        store
            .set_sync_with(c1.id, &[c2.id, ConfigId(MISSING_ID)])
            .await,
        "a link to an unknown config",
    );
    assert!(
        message.contains(&MISSING_ID.to_string()),
        "the answer names the unknown id: {message}"
    );
    assert_eq!(
        ok(store.load_links().await, "load links"),
        before,
        "a refused unknown id changes nothing"
    );
    expect_not_found(
        store.set_sync_with(ConfigId(MISSING_ID), &[]).await,
        "config",
        "relink an unknown config",
    );
    expect_invalid(
        store
            .create_config(&config_new("Ghost", vec![c1.id, ConfigId(MISSING_ID)]))
            .await,
        "create a config linked to an unknown one",
    );
    assert_eq!(
        ok(store.list_configs().await, "list configs").len(),
        3,
        "a refused config is not created"
    );
    assert_eq!(ok(store.load_links().await, "load links"), before);

    let c3_after = ok(
        store.set_sync_with(c3.id, &[]).await,
        "the terrace drops every link",
    );
    assert!(c3_after.sync_with.is_empty());
    assert!(sync_with(store, c1.id).await.is_empty());
    assert!(sync_with(store, c2.id).await.is_empty());
    assert_links_symmetric(store).await;
    let c2_after = ok(
        store.set_sync_with(c2.id, &[c1.id, c1.id]).await,
        "a repeated id links once",
    );
    assert_eq!(c2_after.sync_with, vec![c1.id]);
    assert_links_symmetric(store).await;

    let c1_renamed = ok(
        store
            .update_config(
                c1.id,
                &ConfigChanges {
                    restrict_price_control: None,
                    name: Some(name("Bar")),
                    auto_share: Some(true),
                    printer: None,
                },
            )
            .await,
        "rename counter 1",
    );
    assert_eq!(
        (c1_renamed.name.as_str(), c1_renamed.auto_share),
        ("Bar", true)
    );
    assert_eq!(
        c1_renamed.sync_with,
        vec![c2.id],
        "an update keeps the links"
    );
    let c1_same = ok(
        store.update_config(c1.id, &ConfigChanges::default()).await,
        "an empty update",
    );
    assert_eq!(c1_same, c1_renamed);
    expect_not_found(
        store
            .update_config(ConfigId(MISSING_ID), &ConfigChanges::default())
            .await,
        "config",
        "update an unknown config",
    );
    expect_not_found(
        store.get_config(ConfigId(MISSING_ID)).await,
        "config",
        "get an unknown config",
    );

    let user = ok(
        store
            .create_user(&login("manager"), &name("Mia"), Role::Manager, "hash", &[])
            .await,
        "create a manager",
    );
    let (session, _) = ok(
        store
            .open_or_join_session(c2.id, user.id, Money::ZERO, tick())
            .await,
        "open counter 2",
    );
    assert_eq!(
        ok(store.get_config(c2.id).await, "get counter 2").open_session_id,
        Some(session.id)
    );
    let configs = ok(store.list_configs().await, "list configs");
    assert_eq!(
        configs.iter().map(|config| config.id).collect::<Vec<_>>(),
        vec![c1.id, c2.id, c3.id],
        "configs by id"
    );
    assert_eq!(configs[1].open_session_id, Some(session.id));
    assert_eq!(configs[0].open_session_id, None);
    ok(
        store.close_session(session.id, None, tick()).await,
        "close counter 2",
    );
    assert_eq!(
        ok(store.get_config(c2.id).await, "get counter 2").open_session_id,
        None
    );
}
