//! Two tabs of one browser are two terminals (issue 7, "A terminal is who the
//! server says it is"): the second tab takes a profile of its own ("?t=2"),
//! starts signed in as the same cashier, and joins the counter with its own
//! terminal token and terminal id, which the server accepts beside the first
//! tab's. A reload of either tab comes back as the same terminal.

use crate::shop::{Shop, run};
use crate::till::Till;
use fantoccini::wd::WindowHandle;
use futures_util::FutureExt;

const TEST_NAME: &str = "tabs";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tab_of_a_browser_is_a_terminal_of_its_own() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

async fn switch(till: &Till, handle: &WindowHandle) {
    till.client.switch_to_window(handle.clone()).await.unwrap();
}

/// (terminal id, terminal token, profile namespace) of the tab in front.
async fn identity(till: &Till) -> (String, String, String) {
    let token = till.terminal_token().await;
    let id = till.eval("window.possync.auth.terminal_id").await;
    let ns = till.eval("window.possync.ns").await;
    (
        id.as_str().unwrap().to_owned(),
        token,
        ns.as_str().unwrap().to_owned(),
    )
}

async fn story(shop: &Shop) {
    let till = shop.till("cashier", "cashier", "Counter 1").await;
    let first_tab = till.client.window().await.unwrap();
    let first = identity(&till).await;
    assert_eq!(first.2, "default");

    // The same address in a second tab: a till of its own, already signed in.
    let second_tab = till.client.new_window(true).await.unwrap().handle;
    switch(&till, &second_tab).await;
    till.client
        .goto(&format!("{}/", shop.server.base_url))
        .await
        .unwrap();
    till.wait(
        "the counter picker, signed in, in a profile of its own",
        "$$('config-option').length > 0 && new URLSearchParams(location.search).get('t') === '2'",
    )
    .await;
    till.shot("second-tab-picker").await;
    till.open_session("Counter 1").await;
    let second = identity(&till).await;
    assert_eq!(second.2, "2");
    assert_ne!(second.0, first.0, "each tab has its own terminal id");
    assert_ne!(second.1, first.1, "each tab has its own terminal token");

    // Both terminals are live at once: the server bound each id to its own token.
    switch(&till, &first_tab).await;
    till.wait_live().await;
    switch(&till, &second_tab).await;
    till.wait_live().await;
    let (status, me) = shop.api.get("/me", &second.1).await;
    assert_eq!(status, 200, "{me}");

    // A reload keeps each tab the terminal it was.
    till.reload().await;
    till.wait_live().await;
    assert_eq!(identity(&till).await, second);
    switch(&till, &first_tab).await;
    till.reload().await;
    till.wait_live().await;
    assert_eq!(identity(&till).await, first);
    till.shot("first-tab-after-reload").await;
}
