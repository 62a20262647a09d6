//! Never lose a draft: the server dies (SIGKILL), the cashier goes on editing a
//! shared draft and starts a new one, reloads the page while the server is still
//! down, finds everything with its pending count, and once the server is back on
//! the same address the till sends it all by itself; the server then holds it.

use crate::chrome::{Chrome, programs_or_skip};
use crate::server::{Api, Server};
use crate::till::{Screenshots, Till};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

const TEST_NAME: &str = "offline_reload";
/// The till retries with backoff (0.25 s .. a few seconds after a short outage).
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_changes_survive_a_reload_while_offline_and_reach_the_restarted_server() {
    let Some(programs) = programs_or_skip(TEST_NAME) else {
        return;
    };
    let data_dir = tempfile::tempdir().unwrap();
    let server = Server::start(data_dir.path(), "127.0.0.1:0");
    let chrome = Chrome::start(programs);
    let outcome = AssertUnwindSafe(story(&chrome, server, data_dir.path()))
        .catch_unwind()
        .await;
    chrome.shutdown().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Waits until the sync state is not live and shows `pending` unsent changes.
async fn wait_offline_with(till: &Till, pending: usize) {
    till.wait(
        &format!("offline with {pending} pending"),
        &format!(
            "(() => {{ const s = $('sync-state'); return !!s && ['reconnecting', 'offline', 'connecting', 'catching_up'].includes(s.dataset.state) && s.dataset.pending === '{pending}' && / · {pending} pending$/.test(txt(s)); }})()"
        ),
    )
    .await;
}

async fn story(chrome: &Chrome, mut server: Server, data_dir: &std::path::Path) {
    let started = Instant::now();
    let shots = Screenshots::for_test(TEST_NAME);
    let till = Till::new(
        "counter1",
        chrome.open_browser("counter1").await,
        &server.base_url,
        shots,
    );
    till.sign_in("cashier", "cashier").await;
    till.open_session("Counter 1").await;

    // A shared draft the server has confirmed.
    till.tap_product("Espresso").await;
    till.click_tid("manual-sync").await;
    till.wait_text("sync-result", "Synced with Counter 2").await;
    till.wait_live().await;
    let shared_order_id = till.current_order_id().await;
    // The page must be able to come back without the server: wait until the
    // service worker controls it (it keeps the till's files for offline starts).
    till.wait(
        "the offline copy of the till",
        "!!(navigator.serviceWorker && navigator.serviceWorker.controller)",
    )
    .await;
    till.shot("shared-draft-confirmed").await;
    eprintln!(
        "[{TEST_NAME}] draft confirmed after {:?}",
        started.elapsed()
    );

    // ---- the server dies; the cashier goes on ----------------------------------
    let listen = server.listen.clone();
    server.kill();
    till.wait(
        "the till to notice the server is gone",
        "$('sync-state').dataset.state !== 'live'",
    )
    .await;
    till.tap_product("Croissant").await;
    till.tap_line("Espresso").await;
    till.numpad_qty("4").await;
    till.wait_lines(&[("Espresso", "4"), ("Croissant", "1")])
        .await;
    // A second draft, made while offline.
    till.click_tid("new-order").await;
    till.wait("an empty new order", "!!$('order-empty')").await;
    till.tap_product("Cappuccino").await;
    till.wait_lines(&[("Cappuccino", "1")]).await;
    let offline_order_id = till.current_order_id().await;
    assert_ne!(offline_order_id, shared_order_id);
    // create + add_line for the new order, add_line + set_qty on the shared one.
    wait_offline_with(&till, 4).await;
    till.wait_text("orders-badge", "2").await;
    till.shot("offline-edits-pending").await;

    // ---- reload while the server is still down -----------------------------------
    till.reload().await;
    till.wait_text("counter-name", "Counter 1").await;
    wait_offline_with(&till, 4).await;
    till.wait_lines(&[("Cappuccino", "1")]).await;
    till.wait_text("orders-badge", "2").await;
    till.show_orders().await;
    till.wait(
        "both drafts kept, with their pending changes",
        "$$('orders-row').length === 2 && $$('orders-row').every((r) => /saving…/.test(txt(r)))",
    )
    .await;
    till.shot("after-reload-still-pending").await;
    eprintln!(
        "[{TEST_NAME}] reloaded offline after {:?}",
        started.elapsed()
    );

    // ---- the server comes back on the same address -------------------------------
    let server = Server::start(data_dir, &listen);
    assert_eq!(server.listen, listen);
    till.wait_for(
        "the till to reconnect and deliver every pending change",
        "(() => { const s = $('sync-state'); return !!s && s.dataset.state === 'live' && s.dataset.pending === '0'; })()",
        RECONNECT_TIMEOUT,
    )
    .await;
    till.wait(
        "both drafts confirmed",
        "$$('orders-row').length === 2 && $$('orders-row').every((r) => !/saving…/.test(txt(r)))",
    )
    .await;
    till.shot("reconnected-all-delivered").await;
    eprintln!("[{TEST_NAME}] delivered after {:?}", started.elapsed());

    // The server holds every change, as another terminal of the counter reads it.
    let api = Api::new(&server.base_url);
    let token = api.terminal_token("Counter 1").await;
    let (status, shared) = api.get(&format!("/orders/{shared_order_id}"), &token).await;
    assert_eq!(status, 200, "{shared}");
    let lines: Vec<(String, String)> = shared["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["name"].as_str().unwrap().to_owned(),
                line["qty"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("Espresso".to_owned(), "4".to_owned()),
            ("Croissant".to_owned(), "1".to_owned())
        ],
        "{shared}"
    );
    assert_eq!(shared["shared"], true);
    let (status, made_offline) = api
        .get(&format!("/orders/{offline_order_id}"), &token)
        .await;
    assert_eq!(status, 200, "{made_offline}");
    assert_eq!(made_offline["state"], "draft");
    assert_eq!(made_offline["lines"][0]["name"], "Cappuccino");
    assert_eq!(made_offline["lines"].as_array().unwrap().len(), 1);
    chrome
        .check_console(&till.name, &till.client, &["ERR_CONNECTION_REFUSED"])
        .await;
    drop(server);
}
