//! A till that keeps the cashier aware (issue 11, points 5 and 6), with two linked
//! counters, Counter 2 behind a proxy that can take its network away:
//! - a draft shared by Counter 1 arrives at Counter 2 with a notice and a "new" mark;
//! - the orders list says who has an order open, also for an order shared while open;
//! - tracked stock warns when an order wants more than is on hand, and on-hand moves
//!   at the other counter without a reload once the order is paid;
//! - the sync state leaves "Live" within seconds of the network going silent;
//! - a payment lock whose holder vanished shows the time left on its lease, and a
//!   manager releases it early with their PIN ("Release (manager)"); the history
//!   names the manager.

use crate::chrome::set_viewport;
use crate::proxy::Proxy;
use crate::shop::{Shop, run};
use crate::till::{Till, js_str};
use futures_util::FutureExt;
use std::time::Duration;

const TEST_NAME: &str = "awareness";
/// The till promises 2 s; the wait allows for two busy cores.
const OFFLINE_NOTICED_WITHIN: Duration = Duration::from_secs(5);
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_till_keeps_the_cashier_aware_of_other_counters_stock_and_the_network() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

/// The stock shown on a product's tile.
fn tile_stock(product: &str) -> String {
    format!(
        "(() => {{ const t = $$('product-tile').find((t) => txt(t.querySelector('.tile-name')) === {}); return t ? txt(t.querySelector('.tile-stock')) : 'no tile'; }})()",
        js_str(product)
    )
}

async fn open_from_orders(till: &Till, order_id: &str) {
    if till.eval("location.hash").await != "#/orders" {
        till.show_orders().await;
    }
    till.click(&format!(
        r#"[data-testid="orders-row"][data-order-id="{order_id}"]"#
    ))
    .await;
    till.wait("the till screen", "location.hash === '#/pos'")
        .await;
}

const MANAGER_PIN: &str = "8642";

/// Gives the demo manager a PIN, to approve at a till; answers the manager's
/// token and user id.
async fn set_manager_pin(shop: &Shop) -> (String, serde_json::Value) {
    let (token, manager_id) = shop.manager().await;
    shop.set_pin(&token, &manager_id, MANAGER_PIN).await;
    (token, manager_id)
}

async fn story(shop: &Shop) {
    let proxy = Proxy::start(&shop.server.listen).await;
    let (counter_1, counter_2) = tokio::join!(
        shop.till("counter1", "cashier", "Counter 1"),
        shop.till_at("counter2", &proxy.base_url, "cashier", "Counter 2"),
    );

    // ---- a shared draft arrives with a notice; the list says who has it open --------
    counter_1.tap_product("Espresso").await;
    counter_1.wait_live().await;
    counter_1.click_tid("manual-sync").await;
    counter_1
        .wait_text("sync-result", "Synced with Counter 2")
        .await;
    let order_id = counter_1.current_order_id().await;
    counter_2
        .wait(
            "the notice of the shared order",
            "$$('toast').some((t) => /^Shared by Counter 1: \\S/.test(txt(t))) && $('orders-new').dataset.count === '1' && !$('orders-new').hidden",
        )
        .await;
    counter_2.shot_both("shared-order-arrives").await;
    counter_2.show_orders().await;
    counter_2
        .wait(
            "Counter 1 named as having the order open",
            &format!(
                "(() => {{ const r = $$('orders-row').find((r) => r.dataset.orderId === {}); return !!r && txt($('order-presence', r)) === 'Counter 1'; }})()",
                js_str(&order_id)
            ),
        )
        .await;
    counter_2
        .wait("the new mark gone once seen", "$('orders-new').hidden")
        .await;
    counter_2.shot("open-now-at-counter-1").await;

    // ---- stock: a warning past on hand; on-hand moves live after the sale ------------
    counter_1
        .wait(
            "25 coffee bean bags in stock",
            &format!("{} === '25 in stock'", tile_stock("Coffee Beans 250 g")),
        )
        .await;
    counter_1
        .wait(
            "no stock shown on an untracked product",
            &format!("{} === null", tile_stock("Espresso")),
        )
        .await;
    open_from_orders(&counter_2, &order_id).await;
    counter_2.tap_product("Coffee Beans 250 g").await;
    counter_2.numpad_qty("26").await;
    counter_2
        .wait_text_contains("line-stock", "only 25 in stock")
        .await;
    counter_2.shot_both("more-than-on-hand").await;
    counter_2.click_tid("numpad-mode-qty").await;
    counter_2.click_tid("numpad-key-2").await;
    counter_2
        .wait_lines(&[("Espresso", "1"), ("Coffee Beans 250 g", "2")])
        .await;
    counter_2
        .wait("the stock warning gone", "!$('line-stock')")
        .await;
    counter_2.wait_live().await;
    counter_2.click_tid("pay-button").await;
    counter_2
        .click(r#"[data-testid="payment-method"][data-kind="card"]"#)
        .await;
    counter_2.click_tid("payment-validate").await;
    counter_2.wait("the receipt", "!!$('receipt')").await;
    counter_1
        .wait(
            "on-hand at Counter 1 down by the two sold, without a reload",
            &format!("{} === '23 in stock'", tile_stock("Coffee Beans 250 g")),
        )
        .await;
    counter_1.shot("stock-updated-live").await;
    counter_2.click_tid("receipt-new-order").await;

    // ---- the network goes silent: the state says so within seconds -----------------
    counter_2.tap_product("Cappuccino").await;
    counter_2.wait_live().await;
    proxy.blackhole();
    counter_2.tap_product("Croissant").await;
    counter_2
        .wait_for(
            "the sync state to leave Live",
            "(() => { const s = $('sync-state'); return s.dataset.state !== 'live' && s.dataset.pending === '1'; })()",
            OFFLINE_NOTICED_WITHIN,
        )
        .await;
    // The whole state fits its pill, on the till and on a tablet.
    let whole_state = "(() => { const l = $('sync-state').querySelector('.sync-label'); return / · 1 pending$/.test(txt(l)) && l.scrollWidth <= l.clientWidth; })()";
    counter_2
        .wait("the whole state in the pill", whole_state)
        .await;
    counter_2.shot("network-silent").await;
    set_viewport(&counter_2.client, 768, 1024).await;
    counter_2
        .wait(
            "the whole state in the pill at 768 px",
            &format!("innerWidth === 768 && {whole_state}"),
        )
        .await;
    counter_2.shot("network-silent-768").await;
    set_viewport(&counter_2.client, 1280, 800).await;
    proxy.restore();
    counter_2
        .wait_for(
            "the till back live with everything sent",
            "(() => { const s = $('sync-state'); return s.dataset.state === 'live' && s.dataset.pending === '0'; })()",
            RECONNECT_TIMEOUT,
        )
        .await;
    counter_2
        .wait_lines(&[("Cappuccino", "1"), ("Croissant", "1")])
        .await;

    // ---- a lock whose holder vanished shows its remaining lease ---------------------
    counter_2.click_tid("manual-sync").await;
    counter_2
        .wait_text("sync-result", "Synced with Counter 1")
        .await;
    let locked_order_id = counter_2.current_order_id().await;
    counter_2.click_tid("pay-button").await;
    counter_2
        .wait_text("payment-lock", "Locked for payment on this till")
        .await;
    open_from_orders(&counter_1, &locked_order_id).await;
    counter_1
        .wait_text("lock-badge", "Being paid at Counter 2")
        .await;
    counter_1
        .wait(
            "no lease shown while the holder is there",
            "!$('lock-lease')",
        )
        .await;
    proxy.cut();
    counter_1
        .wait(
            "the lease left on the abandoned lock",
            "/^Counter 2 is no longer connected: the lock ends in 0:[0-5]\\d$/.test(txt($('lock-lease')) || '')",
        )
        .await;
    counter_1.shot_both("abandoned-lock-lease").await;

    // ---- a manager releases it before the lease ends ---------------------------------
    let (manager, manager_id) = set_manager_pin(shop).await;
    counter_1.click_tid("lock-release").await;
    counter_1
        .wait("the approval dialog", "!!$('approval-dialog')")
        .await;
    counter_1.type_into("approval-pin", MANAGER_PIN).await;
    counter_1.click_tid("approval-ok").await;
    counter_1
        .wait(
            "the lock released",
            "!$('approval-dialog') && !$('lock-badge') && !$('lock-release')",
        )
        .await;
    counter_1.shot("abandoned-lock-released").await;
    let (status, history) = shop
        .api
        .get(&format!("/orders/{locked_order_id}/history"), &manager)
        .await;
    assert_eq!(status, 200, "{history}");
    let released = history.as_array().unwrap().last().unwrap();
    assert_eq!(released["op"]["kind"], "cancel_payment", "{released}");
    assert_eq!(
        released["approved_by"], manager_id,
        "the history names who released it"
    );
    shop.chrome
        .check_console(&counter_1.name, &counter_1.client, &[])
        .await;
    drop(proxy);
}
