//! Closing a session (issue 12, point 5), at Counter 1 with Counter 2 linked: a
//! card sale, a cash float put in from the till's menu, a shared draft left open.
//! The close dialog says the draft stays open and that Counter 2 will still see it;
//! the drawer is counted short, and the report names methods as the shop does
//! ("Card", not "Card (card)"), lists tax per rate and the cash move, and makes
//! the shortage stand out.

use crate::shop::{Shop, run};
use futures_util::FutureExt;

const TEST_NAME: &str = "session_close";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_warns_of_open_drafts_and_the_report_shows_a_shortage() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

async fn story(shop: &Shop) {
    let counter_1 = shop.till("counter1", "cashier", "Counter 1").await;

    // A card sale of one espresso.
    counter_1.tap_product("Espresso").await;
    counter_1.wait_live().await;
    counter_1.click_tid("pay-button").await;
    counter_1
        .click(r#"[data-testid="payment-method"][data-kind="card"]"#)
        .await;
    counter_1.click_tid("payment-validate").await;
    counter_1.wait("the receipt", "!!$('receipt')").await;
    counter_1.click_tid("receipt-new-order").await;

    // A draft shared with Counter 2, left open.
    counter_1.tap_product("Croissant").await;
    counter_1.wait_live().await;
    counter_1.click_tid("manual-sync").await;
    counter_1
        .wait_text("sync-result", "Synced with Counter 2")
        .await;

    // A float of 20.00 into the drawer.
    counter_1.click_tid("menu-button").await;
    counter_1.click_tid("menu-cash-move").await;
    counter_1.type_into("cash-move-amount", "20").await;
    counter_1.click_tid("cash-move-save").await;
    counter_1
        .wait_text_contains("cash-move", "Say why the cash moves.")
        .await;
    counter_1.type_into("cash-move-reason", "Float").await;
    counter_1.click_tid("cash-move-save").await;
    counter_1
        .wait(
            "the cash move recorded",
            "!$('cash-move') && $$('toast').some((t) => txt(t) === 'Cash in 20.00 recorded')",
        )
        .await;

    // Close: the dialog says what stays open and who still sees it.
    counter_1.click_tid("menu-button").await;
    counter_1.click_tid("menu-close-session").await;
    counter_1
        .wait_text(
            "close-session-drafts",
            "1 open order stays open after closing. Counter 2 will still see it and can finish it.",
        )
        .await;
    counter_1.shot("close-warns-of-open-draft").await;
    counter_1.type_into("counted-cash", "15").await;
    counter_1.click_tid("close-session-confirm").await;
    counter_1
        .wait("the report", "!!$('session-report-dialog')")
        .await;
    counter_1.wait_text("report-orders-paid", "1").await;
    counter_1
        .wait(
            "payments named as the shop names them",
            "$$('report-payment').map((r) => txt(r.querySelector('th'))).join('|') === 'Card'",
        )
        .await;
    counter_1
        .wait(
            "tax per rate",
            "$$('report-tax').length === 1 && /^VAT 10%/.test(txt($('report-tax')))",
        )
        .await;
    counter_1.wait_text("report-cash-moves", "20.00").await;
    counter_1.wait_text("report-cash-expected", "20.00").await;
    counter_1.wait_text("report-cash-counted", "15.00").await;
    counter_1.wait_text("report-cash-difference", "-5.00").await;
    counter_1
        .wait(
            "the shortage standing out",
            "txt($('report-cash-verdict')) === 'Shortage of 5.00' && $('report-cash-verdict').dataset.tone === 'short' && getComputedStyle($('report-cash-verdict')).backgroundColor !== getComputedStyle(document.body).backgroundColor && $$('report-cash-move').length === 1 && /Float/.test(txt($('report-cash-move')))",
        )
        .await;
    counter_1.shot("report-with-shortage").await;
    counter_1.click_tid("report-done").await;
    counter_1
        .wait(
            "the counter picker after the close",
            "location.hash === '#/session'",
        )
        .await;
    shop.chrome
        .check_console(&counter_1.name, &counter_1.client, &[])
        .await;
}
