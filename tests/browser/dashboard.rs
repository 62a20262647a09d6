//! The back office's dashboard (issue 12, point 6): a draft started at Counter 1 and
//! paid by card at Counter 2 shows in today's figures, in SVG charts drawn in the
//! page, and per counter both ways: started at Counter 1, paid at Counter 2.

use crate::shop::{Shop, run};
use crate::till::{Till, js_str};
use futures_util::FutureExt;

const TEST_NAME: &str = "dashboard";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_charts_today_and_attributes_a_sale_to_both_counters() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

/// The bar of `series` for `label` in chart `testid`, as its value, or null.
fn bar(testid: &str, series: &str, label: &str) -> String {
    format!(
        "(() => {{ const b = document.querySelector(`[data-testid={}] rect[data-series={}][data-label={}]`); return b ? b.dataset.value : null; }})()",
        js_str(testid),
        js_str(series),
        js_str(label)
    )
}

async fn story(shop: &Shop) {
    let (counter_1, counter_2) = tokio::join!(
        shop.till("counter1", "cashier", "Counter 1"),
        shop.till("counter2", "cashier", "Counter 2"),
    );
    counter_1.tap_product("Espresso").await;
    counter_1.wait_live().await;
    counter_1.click_tid("manual-sync").await;
    counter_1
        .wait_text("sync-result", "Synced with Counter 2")
        .await;
    let order_id = counter_1.current_order_id().await;
    counter_2.show_orders().await;
    counter_2
        .click(&format!(
            r#"[data-testid="orders-row"][data-order-id="{order_id}"]"#
        ))
        .await;
    counter_2
        .wait("the till screen", "location.hash === '#/pos'")
        .await;
    counter_2.wait_lines(&[("Espresso", "1")]).await;
    counter_2.click_tid("pay-button").await;
    counter_2
        .click(r#"[data-testid="payment-method"][data-kind="card"]"#)
        .await;
    counter_2.click_tid("payment-validate").await;
    counter_2.wait("the receipt", "!!$('receipt')").await;

    let office = Till::new(
        "office",
        shop.chrome.open_browser("office").await,
        &shop.server.base_url,
        shop.shots.clone(),
    );
    office.sign_in("admin", "admin").await;
    office.click_tid("backoffice-link").await;
    office.click_tid("bo-nav-dashboard").await;
    office
        .wait(
            "today's figures",
            "$('dashboard').dataset.state === 'shown' && txt($('dash-orders')) === '1' && txt($('dash-total')) === '2.20' && txt($('dash-tax')) === '0.20'",
        )
        .await;
    office
        .wait(
            "a bar per hour of the day, the sale's hour at 2.20",
            "$$('chart-time')[0].querySelectorAll('rect.bar').length === 24 && [...$$('chart-time')[0].querySelectorAll('rect.bar')].filter((r) => r.dataset.value === '220').length === 1",
        )
        .await;
    office
        .wait(
            "the card bar",
            &format!("{} === '220'", bar("chart-method", "Kept", "Card")),
        )
        .await;
    office
        .wait(
            "started at Counter 1, paid at Counter 2",
            &format!(
                "{} === '220' && {} === '0' && {} === '0' && {} === '220'",
                bar("chart-config", "Started here", "Counter 1"),
                bar("chart-config", "Paid here", "Counter 1"),
                bar("chart-config", "Started here", "Counter 2"),
                bar("chart-config", "Paid here", "Counter 2"),
            ),
        )
        .await;
    office
        .wait(
            "the per-counter table both ways",
            "$$('dash-config-row').map((r) => txt(r.querySelector('td')) + ' ' + txt($('dash-config-started', r)) + ' ' + txt($('dash-config-paid', r))).join(', ') === 'Counter 1 2.20 0.00, Counter 2 0.00 2.20'",
        )
        .await;
    office.shot("dashboard-today").await;

    // Yesterday sold nothing: the charts give way to a sentence.
    office.click_tid("dash-preset-yesterday").await;
    office
        .wait(
            "an empty yesterday",
            "$('dashboard').dataset.state === 'shown' && $('dashboard').dataset.from === $('dash-from').value && $('dash-from').value === $('dash-to').value && txt($('dash-orders')) === '0' && $$('chart-time').length === 0",
        )
        .await;
    office.shot("dashboard-yesterday").await;
    shop.chrome
        .check_console(&office.name, &office.client, &[])
        .await;
}
