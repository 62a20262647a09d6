//! The back office's stock (issue 12, point 4), in one browser: the manager sees
//! every tracked product's on-hand, records damage that takes Coffee Beans 1 kg to
//! its low-stock threshold (the demo's tracked products are low at 5, and its
//! French press starts there), finds it highlighted and listed first, then records a delivery that lifts it again; each
//! adjustment is a move with its reason, quantity, note and who made it.

use crate::chrome::{Chrome, programs_or_skip};
use crate::server::Server;
use crate::till::{Screenshots, Till, js_str, tid};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;

const TEST_NAME: &str = "stock";
const BEANS: &str = "Coffee Beans 1 kg";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_back_office_adjusts_stock_and_highlights_low_products() {
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

/// The stock list's row of `product`, as a script expression.
fn stock_row(product: &str) -> String {
    format!(
        "$$('stock-row').find((r) => txt(r.querySelector('[data-col=\"name\"]')).startsWith({}))",
        js_str(product)
    )
}

async fn select_reason(till: &Till, label: &str) {
    let select = till
        .client
        .find(fantoccini::Locator::Css(&tid("adjust-reason")))
        .await
        .unwrap();
    select.select_by_label(label).await.unwrap();
}

async fn record(till: &Till, reason: &str, qty: &str, note: &str) {
    select_reason(till, reason).await;
    till.eval(
        "(() => { $('adjust-qty').value = ''; $('adjust-note').value = ''; return true; })()",
    )
    .await;
    till.type_into("adjust-qty", qty).await;
    if !note.is_empty() {
        till.type_into("adjust-note", note).await;
    }
    till.click_tid("adjust-save").await;
}

async fn story(chrome: &Chrome, server: &Server) {
    let till = Till::new(
        "office",
        chrome.open_browser("office").await,
        &server.base_url,
        Screenshots::for_test(TEST_NAME),
    );
    till.sign_in("admin", "admin").await;
    till.click_tid("backoffice-link").await;
    till.click_tid("bo-nav-stock").await;
    till.wait(
        "the tracked products, the beans not low (only the French press is)",
        &format!(
            "(() => {{ const r = {}; return !!r && r.dataset.low === 'false' && txt(r.querySelector('[data-col=\"on_hand\"]')) === '8' && txt(r.querySelector('[data-col=\"low_stock\"]')) === '5' && txt($('stock-low-count')) === '1 low'; }})()",
            stock_row(BEANS)
        ),
    )
    .await;
    till.shot("stock-levels").await;

    // Damage takes the beans to their threshold: low.
    till.eval(&format!("{}.click()", stock_row(BEANS))).await;
    till.wait_text("stock-on-hand", "8").await;
    record(&till, "Damaged", "3", "Bags torn in the delivery van").await;
    till.wait(
        "on hand 5, low, and the move listed",
        "txt($('stock-on-hand')) === '5' && !$('stock-low').hidden && (() => { const m = $$('stock-move')[0]; return !!m && m.dataset.reason === 'damage' && txt($('stock-move-qty', m)) === '-3' && txt($('stock-move-note', m)) === 'Bags torn in the delivery van' && txt(m).includes('Alex Manager'); })()",
    )
    .await;
    till.shot("damage-recorded-low").await;

    // A quantity that does not fit the reason is refused in words, nothing sent.
    record(&till, "Count", "-1", "").await;
    till.wait_text("bo-error", "A count cannot be negative")
        .await;

    till.click_xpath("//a[normalize-space()='All stock']").await;
    till.wait(
        "the beans highlighted, first (low ones by name)",
        &format!(
            "(() => {{ const r = {}; return !!r && r.dataset.low === 'true' && r.classList.contains('row-low') && $$('stock-row')[0] === r && txt($('stock-low-count')) === '2 low'; }})()",
            stock_row(BEANS)
        ),
    )
    .await;
    till.shot("low-stock-highlighted").await;

    // A delivery lifts them above the threshold again.
    till.eval(&format!("{}.click()", stock_row(BEANS))).await;
    till.wait_text("stock-on-hand", "5").await;
    record(&till, "Delivery", "12", "Supplier note 118").await;
    till.wait(
        "on hand 17, not low, both moves newest first",
        "txt($('stock-on-hand')) === '17' && $('stock-low').hidden && $$('stock-move').map((m) => m.dataset.reason + ' ' + txt($('stock-move-qty', m))).join(', ') === 'delivery +12, damage -3'",
    )
    .await;
    till.reload().await;
    till.wait(
        "the moves read back from the server",
        "$$('stock-move').map((m) => txt($('stock-move-reason', m))).join(', ') === 'Delivery, Damaged'",
    )
    .await;
    till.shot("delivery-recorded").await;
    chrome_console_clean(chrome, &till).await;
}

async fn chrome_console_clean(chrome: &Chrome, till: &Till) {
    chrome.check_console(&till.name, &till.client, &[]).await;
}
