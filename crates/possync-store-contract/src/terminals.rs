//! Terminal identity and the history of links: what the sync node asks the
//! store so that no terminal acts under another's id and no config hears of
//! orders it could never see.

use crate::fixtures::*;
use possync_core::*;
use possync_store::Store;
use std::sync::Arc;
use uuid::Uuid;

/// A terminal id belongs to the first token that names it, and stays so.
pub async fn terminal_bindings<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let now = Timestamp::from_unix_millis(1_800_000_000_000);
    let terminal = TerminalId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001));
    let other = TerminalId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002));
    assert_eq!(
        ok(store.bind_terminal(terminal, "token-a", now).await, "bind"),
        "token-a",
        "the first token to name a terminal id gets it"
    );
    assert_eq!(
        ok(
            store.bind_terminal(terminal, "token-a", now).await,
            "bind again"
        ),
        "token-a",
        "binding again with the same token is harmless"
    );
    assert_eq!(
        ok(store.bind_terminal(terminal, "token-b", now).await, "claim"),
        "token-a",
        "another token naming the id is told whose it is, and does not get it"
    );
    assert_eq!(
        ok(
            store.bind_terminal(other, "token-b", now).await,
            "bind another"
        ),
        "token-b"
    );
    // Two tokens racing for a new id: exactly one wins, and both hear the same winner.
    let racing = TerminalId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0003));
    let (first, second) = tokio::join!(
        store.bind_terminal(racing, "token-c", now),
        store.bind_terminal(racing, "token-d", now)
    );
    let (first, second) = (ok(first, "race c"), ok(second, "race d"));
    assert_eq!(first, second, "racing binds agree on the owner");
    assert!(first == "token-c" || first == "token-d");
}

/// The link history keeps every pair ever linked, unlinked ones included.
pub async fn link_history<S: Store + ?Sized>(store: Arc<S>) {
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
        "c1",
    );
    let c2 = ok(
        store
            .create_config(&config_new("Counter 2", vec![c1.id]))
            .await,
        "c2 linked to c1",
    );
    let c3 = ok(store.create_config(&config_new("Bar", vec![])).await, "bar");
    let ever = ok(store.load_links_ever().await, "history");
    assert!(
        ever.are_linked(c1.id, c2.id),
        "a link made at creation is in the history"
    );
    assert!(!ever.are_linked(c1.id, c3.id));
    ok(store.set_sync_with(c3.id, &[c1.id]).await, "link the bar");
    ok(store.set_sync_with(c3.id, &[]).await, "unlink the bar");
    let ever = ok(store.load_links_ever().await, "history");
    let now = ok(store.load_links().await, "links");
    assert!(!now.are_linked(c1.id, c3.id), "the bar is unlinked now");
    assert!(
        ever.are_linked(c1.id, c3.id),
        "an unlinked pair stays in the history"
    );
    assert!(ever.are_linked(c1.id, c2.id));
    assert!(
        !ever.are_linked(c2.id, c3.id),
        "never linked, never in the history"
    );
}
