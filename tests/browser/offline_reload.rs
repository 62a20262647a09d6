//! Never lose a draft, and keep selling: the server dies (SIGKILL), the cashier goes
//! on editing a shared draft, starts a new private one and sells it for cash while
//! the server is down (issue 11, point 8); the shared draft refuses to be paid
//! offline, in one sentence. The page is reloaded while the server is still down
//! and finds everything with its pending count and the offline sale; once the
//! server is back on the same address the till sends it all by itself, and the
//! server holds exactly one payment of the offline sale and one stock move.

use crate::chrome::{Chrome, programs_or_skip};
use crate::server::{Api, Server};
use crate::till::{Screenshots, Till, js_str};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

const TEST_NAME: &str = "offline_reload";
/// The till retries with backoff (0.25 s .. a few seconds after a short outage).
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_and_pending_changes_survive_a_reload_while_offline_and_reach_the_restarted_server()
{
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
    // The shared draft cannot be paid without the server, and the till says why.
    till.click_tid("pay-button").await;
    till.wait(
        "the refusal of an offline payment of a shared order",
        "/^This order is shared with other counters, so it can be paid only while the till is connected/.test(txt($('payment-problem')) || '') && $('payment-validate').disabled",
    )
    .await;
    till.shot_both("shared-draft-refuses-offline-payment").await;
    till.click_tid("payment-back").await;

    // A second draft, made and sold while offline: 1 Cappuccino and 1 bag of
    // coffee beans (a tracked product, 25 in stock), 13.30, paid 20.00 in cash.
    till.click_tid("new-order").await;
    till.wait("an empty new order", "!!$('order-empty')").await;
    till.tap_product("Cappuccino").await;
    till.tap_product("Coffee Beans 250 g").await;
    till.wait_lines(&[("Cappuccino", "1"), ("Coffee Beans 250 g", "1")])
        .await;
    till.wait_text("order-total", "13.30").await;
    let offline_order_id = till.current_order_id().await;
    assert_ne!(offline_order_id, shared_order_id);
    till.click_tid("pay-button").await;
    till.wait_text_contains("payment-lock", "Offline: this sale is kept on this till")
        .await;
    till.click(r#"[data-testid="payment-method"][data-kind="cash"]"#)
        .await;
    till.click_tid("numpad-key-2").await;
    till.click_tid("numpad-key-0").await;
    till.wait_text("payment-change", "6.70").await;
    till.shot("offline-cash-payment").await;
    till.click_tid("payment-validate").await;
    till.wait(
        "the receipt of the offline sale",
        "!!$('receipt') && /^Taken offline: kept on this till/.test(txt($('receipt-offline')) || '')",
    )
    .await;
    till.wait_text("receipt-change", "6.70").await;
    till.shot_both("offline-receipt").await;
    till.click_tid("receipt-new-order").await;
    // add_line + set_qty on the shared order; create, 2 × add_line, begin_payment
    // and pay for the sale.
    wait_offline_with(&till, 7).await;
    till.wait_text("orders-badge", "1").await;
    till.shot("offline-edits-pending").await;

    // ---- reload while the server is still down -----------------------------------
    till.reload().await;
    till.wait_text("counter-name", "Counter 1").await;
    wait_offline_with(&till, 7).await;
    till.wait_text("orders-badge", "1").await;
    till.show_orders().await;
    till.wait(
        "the shared draft kept with its pending changes, and the offline sale",
        &format!(
            "$$('orders-row').length === 1 && /saving…/.test(txt($$('orders-row')[0])) && $$('paid-offline-row').length === 1 && $$('paid-offline-row')[0].dataset.orderId === {}",
            js_str(&offline_order_id)
        ),
    )
    .await;
    till.shot_both("after-reload-still-pending").await;
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
        "the draft confirmed and the offline sale taken by the server",
        "$$('orders-row').length === 1 && !/saving…/.test(txt($$('orders-row')[0])) && $('orders-paid-offline').hidden",
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
    // The offline sale: paid once, with the cash given, and one stock move.
    let (status, sold) = api
        .get(&format!("/orders/{offline_order_id}"), &token)
        .await;
    assert_eq!(status, 200, "{sold}");
    assert_eq!(sold["state"], "paid", "{sold}");
    assert_eq!(sold["totals"]["total"], 1330, "{sold}");
    assert_eq!(sold["change"], 670, "{sold}");
    assert_eq!(sold["payments"].as_array().map(Vec::len), Some(1), "{sold}");
    assert_eq!(sold["payments"][0]["amount"], 2000, "{sold}");
    let (status, history) = api
        .get(&format!("/orders/{offline_order_id}/history"), &token)
        .await;
    assert_eq!(status, 200, "{history}");
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["op"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["create", "add_line", "add_line", "begin_payment", "pay"],
        "exactly one payment: {history}"
    );
    let (_, products) = api.get("/products", &token).await;
    let beans = products
        .as_array()
        .unwrap()
        .iter()
        .find(|product| product["name"] == "Coffee Beans 250 g")
        .unwrap();
    assert_eq!(beans["on_hand"], "24", "one stock move: {beans}");
    // The receipt, read again, is now the server's.
    till.eval(&format!(
        "(() => {{ location.hash = '#/receipt/' + {}; return true; }})()",
        js_str(&offline_order_id)
    ))
    .await;
    till.wait(
        "the offline receipt confirmed by the server",
        "/^Taken offline at .+; received by the server\\.$/.test(txt($('receipt-offline')) || '') && !/^Order /.test(txt($('receipt-reference')) || '')",
    )
    .await;
    // ... with the receipt number the server assigned when the payment arrived
    // (the first payment of this session of Counter 1).
    till.wait_text("receipt-number", "Receipt Counter 1/0001")
        .await;
    till.shot("offline-receipt-confirmed").await;
    chrome
        .check_console(&till.name, &till.client, &["ERR_CONNECTION_REFUSED"])
        .await;
    drop(server);
}
