//! A shop's whole day at Counter 1 (issue 12, "how it is checked"), with what the
//! till and back office have: open the session with a 50.00 float, sell 2 espressos
//! and a croissant (6.20) paid split, 3.00 by card and 5.00 cash (1.80 change),
//! print the receipt, take back a croissant (a return line, 1.80 paid out in cash),
//! put 20.00 into the drawer, close with the drawer counted (71.40, as expected),
//! read the report, and the manager's dashboard of the day. Screenshots of each step
//! under `target/e2e-screenshots/whole_day/`.
//!
//! Printing is the browser's print dialog; the test counts the calls to
//! `window.print` (headless Chromium has no printer to show).

use crate::shop::{Shop, run};
use crate::till::{Till, xpath_str};
use futures_util::FutureExt;

const TEST_NAME: &str = "whole_day";
const COUNT_PRINTS: &str = "(() => { window.__prints = 0; window.print = () => { window.__prints += 1; }; return true; })()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_day_from_opening_to_the_dashboard() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

async fn story(shop: &Shop) {
    // ---- open the session with a float ----------------------------------------------
    let till = Till::new(
        "counter1",
        shop.chrome.open_browser("counter1").await,
        &shop.server.base_url,
        shop.shots.clone(),
    );
    till.sign_in("cashier", "cashier").await;
    till.click_xpath(&format!(
        "//*[@data-testid='config-option'][.//*[@class='config-name' and normalize-space()={}]]",
        xpath_str("Counter 1")
    ))
    .await;
    till.type_into("opening-cash", "50").await;
    till.click_tid("session-open").await;
    till.wait_text("counter-name", "Counter 1").await;
    till.wait_live().await;
    till.shot("opened").await;

    // ---- sell, pay split -------------------------------------------------------------
    till.tap_product("Espresso").await;
    till.tap_product("Espresso").await;
    till.tap_product("Croissant").await;
    till.wait_lines(&[("Espresso", "2"), ("Croissant", "1")])
        .await;
    till.wait_live().await;
    till.click_tid("pay-button").await;
    till.click(r#"[data-testid="payment-method"][data-kind="card"]"#)
        .await;
    till.wait_text("payment-line-amount", "6.20").await;
    till.click_tid("numpad-key-3").await;
    till.wait_text("payment-line-amount", "3.00").await;
    till.click(r#"[data-testid="payment-method"][data-kind="cash"]"#)
        .await;
    till.wait(
        "the cash line with what remains",
        "$$('payment-line-amount').map(txt).join('|') === '3.00|3.20'",
    )
    .await;
    till.click_tid("numpad-key-5").await;
    till.wait_text("payment-change", "1.80").await;
    till.shot("paid-split").await;
    till.click_tid("payment-validate").await;
    till.wait("the receipt", "!!$('receipt')").await;
    till.wait_text("receipt-total", "6.20").await;
    till.wait_text("receipt-change", "1.80").await;
    till.wait(
        "both payments on the receipt",
        "$$('receipt-payment').map(txt).join('|') === 'Card3.00|Cash5.00'",
    )
    .await;

    // ---- print ----------------------------------------------------------------------
    till.eval(COUNT_PRINTS).await;
    till.click_tid("receipt-print").await;
    till.wait("the print dialog asked for", "window.__prints === 1")
        .await;
    till.shot("receipt-printed").await;
    till.click_tid("receipt-new-order").await;

    // ---- a croissant brought back ----------------------------------------------------
    till.tap_product("Croissant").await;
    till.wait_lines(&[("Croissant", "1")]).await;
    till.click_tid("numpad-mode-qty").await;
    till.click_tid("numpad-key-sign").await;
    till.wait_lines(&[("Croissant", "-1")]).await;
    till.wait_live().await;
    till.click_tid("pay-button").await;
    till.click(r#"[data-testid="payment-method"][data-kind="cash"]"#)
        .await;
    till.wait_text("payment-line-amount", "-1.80").await;
    till.shot("refund-paid-out").await;
    till.click_tid("payment-validate").await;
    till.wait("the refund's receipt", "!!$('receipt')").await;
    till.wait_text("receipt-total", "-1.80").await;
    till.click_tid("receipt-new-order").await;

    // ---- cash into the drawer --------------------------------------------------------
    till.click_tid("menu-button").await;
    till.click_tid("menu-cash-move").await;
    till.type_into("cash-move-amount", "20").await;
    till.type_into("cash-move-reason", "Change from the bank")
        .await;
    till.shot("cash-move").await;
    till.click_tid("cash-move-save").await;
    till.wait(
        "the cash move recorded",
        "!$('cash-move') && $$('toast').some((t) => txt(t) === 'Cash in 20.00 recorded')",
    )
    .await;

    // ---- close with the drawer counted, the report ------------------------------------
    till.click_tid("menu-button").await;
    till.click_tid("menu-close-session").await;
    till.wait(
        "no open order to warn about",
        "!!$('close-session') && !$('close-session-drafts')",
    )
    .await;
    // 50.00 float + 5.00 cash − 1.80 change − 1.80 paid out + 20.00 put in.
    till.type_into("counted-cash", "71.40").await;
    till.click_tid("close-session-confirm").await;
    till.wait("the report", "!!$('session-report-dialog')")
        .await;
    till.wait_text("report-orders-paid", "2").await;
    till.wait_text("report-sales-total", "4.40").await;
    till.wait_text("report-tax-total", "0.40").await;
    till.wait(
        "payments per method in the shop's words",
        "$$('report-payment').map((r) => txt(r.querySelector('th')) + ' ' + txt(r.querySelector('td'))).join('|') === 'Cash 3.20|Card 3.00'",
    )
    .await;
    for (testid, amount) in [
        ("report-cash-opening", "50.00"),
        ("report-cash-payments", "3.20"),
        ("report-cash-change", "-1.80"),
        ("report-cash-net", "1.40"),
        ("report-cash-moves", "20.00"),
        ("report-cash-expected", "71.40"),
        ("report-cash-counted", "71.40"),
        ("report-cash-difference", "0.00"),
    ] {
        till.wait_text(testid, amount).await;
    }
    till.wait_text("report-cash-verdict", "The drawer balances")
        .await;
    till.eval(COUNT_PRINTS).await;
    till.click_tid("report-print").await;
    till.wait(
        "the report's print dialog asked for",
        "window.__prints === 1",
    )
    .await;
    till.shot("session-report").await;
    till.click_tid("report-done").await;
    till.wait("the counter picker", "location.hash === '#/session'")
        .await;

    // ---- the manager's dashboard of the day ---------------------------------------------
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
            "the day's figures",
            "$('dashboard').dataset.state === 'shown' && txt($('dash-orders')) === '2' && txt($('dash-total')) === '4.40' && txt($('dash-tax')) === '0.40'",
        )
        .await;
    office
        .wait(
            "cash kept net of change and the refund, card as paid",
            "$$('dash-method-row').map((r) => txt(r.querySelector('td')) + ' ' + txt(r.querySelector('td:last-child'))).join('|') === 'Cash 1.40|Card 3.00'",
        )
        .await;
    office
        .wait(
            "Counter 1 started and took the day's sales",
            "$$('dash-config-row').map((r) => txt(r.querySelector('td')) + ' ' + txt($('dash-config-started', r)) + ' ' + txt($('dash-config-paid', r))).join('|') === 'Counter 1 4.40 4.40'",
        )
        .await;
    office.shot("dashboard").await;
    for (name, client) in [(&till.name, &till.client), (&office.name, &office.client)] {
        shop.chrome.check_console(name, client, &[]).await;
    }
}
