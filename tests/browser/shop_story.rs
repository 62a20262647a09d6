//! The whole story of a shared draft, in three browsers at once: a manager links
//! Counter 1 and Counter 2 in the back office; Counter 1, Counter 2 and the Bar
//! (not linked) open sessions; Counter 1 builds a draft that Counter 2 cannot see
//! until Manual Sync; Counter 2 opens it, adds a product and changes a quantity,
//! and Counter 1 shows both live; Counter 1 takes the payment (Counter 2 sees the
//! lock), pays cash with change and gets the receipt; the draft leaves Counter 2's
//! list. The Bar never sees the draft, on screen or through the API.

use crate::chrome::{Chrome, programs_or_skip};
use crate::server::{Api, Server};
use crate::till::{Screenshots, Till, js_str, xpath_str};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

const TEST_NAME: &str = "shop_story";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_linked_counters_share_a_draft_until_it_is_paid() {
    let Some(programs) = programs_or_skip(TEST_NAME) else {
        return;
    };
    let data_dir = tempfile::tempdir().unwrap();
    let server = Server::start(data_dir.path(), "127.0.0.1:0");
    let chrome = Chrome::start(programs);
    let outcome = AssertUnwindSafe(story(&chrome, &server))
        .catch_unwind()
        .await;
    chrome.shutdown().await;
    drop(server);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The `sync_with` cell of a counter in the back office's list.
fn sync_with_cell(config_name: &str) -> String {
    format!(
        "(() => {{ const row = $$('bo-row').find((r) => txt(r.cells[0]) === {}); return row ? txt(row.querySelector('[data-col=\"sync_with\"]')) : null; }})()",
        js_str(config_name)
    )
}

/// Opens `config_name` in the back office, sets its "Sync with" boxes as given, saves.
async fn set_links(manager: &Till, config_name: &str, links: &[(&str, bool)]) {
    manager
        .click_xpath(&format!(
            "//tr[@data-testid='bo-row'][td[1][normalize-space()={}]]",
            xpath_str(config_name)
        ))
        .await;
    manager
        .wait("the Sync with multi-select", "!!$('sync-with')")
        .await;
    for &(other, wanted) in links {
        let checkbox = format!(
            "//*[@data-testid='sync-with']//label[normalize-space()={}]/input[@data-testid='sync-with-option']",
            xpath_str(other)
        );
        let checked = manager
            .eval(&format!(
                "document.evaluate({}, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.checked",
                js_str(&checkbox)
            ))
            .await;
        if checked.as_bool() != Some(wanted) {
            manager.click_xpath(&checkbox).await;
        }
    }
    manager.click_tid("sync-with-save").await;
    manager
        .wait(
            "the counters list again",
            "location.hash === '#/office/configs' && $$('bo-row').length === 3",
        )
        .await;
}

async fn story(chrome: &Chrome, server: &Server) {
    let started = Instant::now();
    let shots = Screenshots::for_test(TEST_NAME);
    let api = Api::new(&server.base_url);
    let (counter_1, counter_2, bar) = tokio::join!(
        chrome.open_browser("counter1"),
        chrome.open_browser("counter2"),
        chrome.open_browser("bar"),
    );
    let counter_1 = Till::new("counter1", counter_1, &server.base_url, shots.clone());
    let counter_2 = Till::new("counter2", counter_2, &server.base_url, shots.clone());
    let bar = Till::new("bar", bar, &server.base_url, shots.clone());
    eprintln!("[{TEST_NAME}] browsers open after {:?}", started.elapsed());

    // ---- the manager links Counter 1 and Counter 2 in the back office ------------
    // The demo links them already: unlink through the UI, see it gone both ways,
    // and link again, so both directions of the multi-select are proven.
    counter_1.sign_in("admin", "admin").await;
    counter_1.click_tid("backoffice-link").await;
    counter_1
        .wait("the counters list", "$$('bo-row').length === 3")
        .await;
    counter_1
        .wait(
            "the demo links",
            &format!("{} === 'Counter 2'", sync_with_cell("Counter 1")),
        )
        .await;
    set_links(
        &counter_1,
        "Counter 1",
        &[("Counter 2", false), ("Bar", false)],
    )
    .await;
    counter_1
        .wait(
            "Counter 1 and Counter 2 unlinked, both ways",
            &format!(
                "{} === '—' && {} === '—'",
                sync_with_cell("Counter 1"),
                sync_with_cell("Counter 2")
            ),
        )
        .await;
    counter_1.shot("backoffice-unlinked").await;
    set_links(&counter_1, "Counter 2", &[("Counter 1", true)]).await;
    counter_1
        .wait(
            "Counter 1 and Counter 2 linked, both ways; the Bar alone",
            &format!(
                "{} === 'Counter 2' && {} === 'Counter 1' && {} === '—'",
                sync_with_cell("Counter 1"),
                sync_with_cell("Counter 2"),
                sync_with_cell("Bar")
            ),
        )
        .await;
    counter_1.shot("backoffice-linked").await;
    counter_1.click_tid("bo-to-session").await;
    eprintln!("[{TEST_NAME}] linked after {:?}", started.elapsed());

    // ---- three sessions --------------------------------------------------------
    let open_2 = async {
        counter_2.sign_in("cashier", "cashier").await;
        counter_2.open_session("Counter 2").await;
    };
    let open_bar = async {
        bar.sign_in("cashier", "cashier").await;
        bar.open_session("Bar").await;
    };
    tokio::join!(counter_1.open_session("Counter 1"), open_2, open_bar);
    counter_2.show_orders().await;
    bar.show_orders().await;
    eprintln!("[{TEST_NAME}] sessions open after {:?}", started.elapsed());

    // ---- Counter 1 builds a draft: Cappuccino, Croissant × 2 -------------------
    counter_1.tap_product("Cappuccino").await;
    counter_1.tap_product("Croissant").await;
    counter_1.tap_product("Croissant").await;
    counter_1
        .wait_lines(&[("Cappuccino", "1"), ("Croissant", "2")])
        .await;
    counter_1.wait_text("order-total", "7.00").await;
    // Confirmed by the server (acknowledged), yet not shared: nobody else sees it.
    counter_1.wait_live().await;
    let order_id = counter_1.current_order_id().await;
    counter_2
        .wait(
            "no orders on Counter 2",
            "!!$('orders-empty') && $('orders-badge').dataset.count === '0'",
        )
        .await;
    let counter_2_token = counter_2.terminal_token().await;
    let (status, drafts) = api.get("/orders?state=draft", &counter_2_token).await;
    assert_eq!(status, 200, "{drafts}");
    assert_eq!(
        drafts,
        serde_json::json!([]),
        "Counter 2 sees the unshared draft"
    );
    counter_1.shot("draft-built-not-shared").await;
    counter_2.shot("no-draft-before-manual-sync").await;

    // ---- Manual Sync: it appears on Counter 2, live -----------------------------
    let sync_button_left = "Math.round($('manual-sync').getBoundingClientRect().left)";
    let left_before = counter_1.eval(sync_button_left).await;
    counter_1.click_tid("manual-sync").await;
    counter_1
        .wait_text("sync-result", "Synced with Counter 2")
        .await;
    // The top bar does not shift when the result (or a pending count) shows.
    assert_eq!(counter_1.eval(sync_button_left).await, left_before);
    counter_1
        .wait("the shared tag", "!!$('order-shared')")
        .await;
    let row = format!(
        "$$('orders-row').find((r) => r.dataset.orderId === {})",
        js_str(&order_id)
    );
    counter_2
        .wait(
            "the shared draft on Counter 2's orders screen",
            &format!(
                "(() => {{ const r = {row}; return !!r && txt($('order-origin', r)) === 'Counter 1' && txt($('order-items', r)) === '2' && txt($('order-total', r)) === '7.00'; }})()"
            ),
        )
        .await;
    counter_2.wait_text("orders-badge", "1").await;
    counter_1.shot("manual-sync-done").await;
    counter_2.shot("draft-appears-after-manual-sync").await;

    // The Bar is not linked: nothing on its screen, and the server refuses it.
    let bar_token = bar.terminal_token().await;
    let (status, _) = api.get(&format!("/orders/{order_id}"), &bar_token).await;
    assert!(
        status == 403 || status == 404,
        "the Bar could read the shared draft: {status}"
    );
    bar.wait(
        "no orders at the Bar",
        "!!$('orders-empty') && $('orders-badge').dataset.count === '0'",
    )
    .await;
    bar.shot("unlinked-bar-sees-nothing").await;
    eprintln!("[{TEST_NAME}] shared after {:?}", started.elapsed());

    // ---- Counter 2 opens it, adds Espresso, sets Cappuccino to 3 ---------------
    counter_2
        .click(&format!(
            r#"[data-testid="orders-row"][data-order-id="{order_id}"]"#
        ))
        .await;
    counter_2
        .wait_lines(&[("Cappuccino", "1"), ("Croissant", "2")])
        .await;
    counter_2.wait_text("order-origin", "from Counter 1").await;
    // Counter 1 has it open too (it opened it before the server had it).
    counter_2
        .wait_text("presence", "Also open at Counter 1")
        .await;
    counter_2.tap_product("Espresso").await;
    counter_2.tap_line("Cappuccino").await;
    counter_2.numpad_qty("3").await;
    counter_2
        .wait_lines(&[("Cappuccino", "3"), ("Croissant", "2"), ("Espresso", "1")])
        .await;
    counter_2.wait_text("order-total", "16.00").await;
    // Counter 1 shows both changes without a reload, and who made them.
    counter_1
        .wait_lines(&[("Cappuccino", "3"), ("Croissant", "2"), ("Espresso", "1")])
        .await;
    counter_1.wait_text("order-total", "16.00").await;
    counter_1
        .wait_text_contains("last-change", "at Counter 2")
        .await;
    counter_1
        .wait_text("presence", "Also open at Counter 2")
        .await;
    counter_2.wait_live().await;
    counter_1.shot("counter2-edits-shown-live").await;
    counter_2.shot("counter2-edited").await;
    eprintln!("[{TEST_NAME}] edited after {:?}", started.elapsed());

    // ---- Counter 1 takes the payment; Counter 2 sees the lock -------------------
    counter_1.click_tid("pay-button").await;
    counter_1
        .wait_text("payment-lock", "Locked for payment on this till")
        .await;
    counter_1.wait_text("payment-order-total", "16.00").await;
    counter_2
        .wait_text("lock-badge", "Being paid at Counter 1")
        .await;
    counter_2
        .wait("Pay disabled on Counter 2", "$('pay-button').disabled")
        .await;
    counter_2.shot("lock-shown-on-till").await;
    // An edit tried during the payment is refused, in words.
    counter_2.tap_product("Espresso").await;
    counter_2
        .wait(
            "the refusal",
            "$$('toast').some((t) => txt(t) === 'Being paid at Counter 1')",
        )
        .await;
    counter_2
        .wait_lines(&[("Cappuccino", "3"), ("Croissant", "2"), ("Espresso", "1")])
        .await;
    counter_2.show_orders().await;
    counter_2
        .wait(
            "the lock badge on Counter 2's orders screen",
            &format!(
                "(() => {{ const r = {row}; return !!r && txt($('lock-badge', r)) === 'Being paid at Counter 1' && txt($('order-presence', r)) === 'Counter 1'; }})()"
            ),
        )
        .await;
    counter_2.shot("lock-shown-in-orders").await;

    // Cash 20.00 for 16.00: 4.00 change.
    counter_1
        .click(r#"[data-testid="payment-method"][data-kind="cash"]"#)
        .await;
    counter_1.wait_text("payment-line-amount", "16.00").await;
    counter_1.click_tid("numpad-key-2").await;
    counter_1.click_tid("numpad-key-0").await;
    counter_1.wait_text("payment-line-amount", "20.00").await;
    counter_1.wait_text("payment-change", "4.00").await;
    counter_1.wait_text("payment-remaining", "0.00").await;
    counter_1.shot("payment-cash-with-change").await;
    counter_1.click_tid("payment-validate").await;
    counter_1
        .wait(
            "the receipt",
            &format!(
                "!!$('receipt') && $('receipt').dataset.orderId === {}",
                js_str(&order_id)
            ),
        )
        .await;
    counter_1.wait_text("receipt-total", "16.00").await;
    counter_1.wait_text("receipt-change", "4.00").await;
    counter_1
        .wait("three receipt lines", "$$('receipt-line').length === 3")
        .await;
    counter_1
        .wait(
            "the server's reference on the receipt",
            "/\\S/.test(txt($('receipt-reference')) || '') && !txt($('receipt-reference')).startsWith('Order ')",
        )
        .await;
    counter_1.shot("receipt").await;

    // ---- the paid draft leaves Counter 2 -----------------------------------------
    counter_2
        .wait(
            "the paid draft gone from Counter 2's list",
            &format!("!{row} && !!$('orders-empty') && $('orders-badge').dataset.count === '0'"),
        )
        .await;
    counter_2
        .wait(
            "the word that it was paid",
            "$$('toast').some((t) => / was paid at Counter 1$/.test(txt(t)))",
        )
        .await;
    counter_2.shot("paid-draft-gone").await;
    let (status, paid) = api
        .get(&format!("/orders/{order_id}"), &counter_2_token)
        .await;
    assert!(
        status == 403 || status == 404,
        "Counter 2 can still read the paid order: {status} {paid}"
    );

    // The Bar saw nothing at any point.
    bar.wait(
        "still no orders at the Bar",
        "!!$('orders-empty') && $('orders-badge').dataset.count === '0' && window.possync.till.store.views().length === 0",
    )
    .await;
    bar.shot("bar-never-saw-it").await;

    // ---- Counter 2 closes its session from the till's menu -------------------------
    counter_2.click_tid("menu-button").await;
    counter_2.click_tid("menu-close-session").await;
    counter_2.type_into("counted-cash", "0").await;
    counter_2.click_tid("close-session-confirm").await;
    counter_2
        .wait(
            "the report of Counter 2's session",
            "!!$('session-report-dialog') && txt($('report-orders-paid')) === '0' && txt($('report-cash-counted')) === '0.00'",
        )
        .await;
    counter_2.shot("session-closed-report").await;
    counter_2.click_tid("report-done").await;
    counter_2
        .wait(
            "the counter picker after the close",
            "location.hash === '#/session' && $$('config-option').length === 3 && !window.possync.till",
        )
        .await;
    for till in [&counter_1, &counter_2, &bar] {
        chrome.check_console(&till.name, &till.client, &[]).await;
    }
    eprintln!("[{TEST_NAME}] paid after {:?}", started.elapsed());
}
