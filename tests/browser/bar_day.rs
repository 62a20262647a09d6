//! A day at the Bar, in one browser: the manager adds a product in the back
//! office, opens the Bar's session with opening cash, scans the new product's
//! barcode, sets a quantity and a discount on the numpad, picks a customer, writes
//! a note, pays by card with an invoice, reads the order's full history in the
//! back office, and closes the session with counted cash to get its report.
//! Everything the back office and the till send goes to the real server.

use crate::chrome::{Chrome, programs_or_skip, set_viewport};
use crate::server::Server;
use crate::till::{Till, js_str};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

const TEST_NAME: &str = "bar_day";
/// A valid EAN-13 outside the demo's range.
const SCONE_BARCODE: &str = "2000000000015";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_at_the_bar_from_new_product_to_session_report() {
    let Some(programs) = programs_or_skip(TEST_NAME) else {
        return;
    };
    let data_dir = tempfile::tempdir().unwrap();
    let server = Server::start(data_dir.path(), "127.0.0.1:0");
    let chrome = Chrome::start(programs);
    let outcome = AssertUnwindSafe(day(&chrome, &server)).catch_unwind().await;
    chrome.shutdown().await;
    drop(server);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Selects an option of a `<select>` by its visible text.
async fn select_option(till: &Till, testid: &str, label: &str) {
    till.wait(
        &format!("{testid} to offer {label}"),
        &format!(
            "[...($({})||{{options: []}}).options].some((o) => o.text === {})",
            js_str(testid),
            js_str(label)
        ),
    )
    .await;
    let select = till
        .client
        .find(fantoccini::Locator::Css(&crate::till::tid(testid)))
        .await
        .unwrap();
    select.select_by_label(label).await.unwrap();
}

async fn day(chrome: &Chrome, server: &Server) {
    let started = Instant::now();
    let shots = crate::till::Screenshots::for_test(TEST_NAME);
    let till = Till::new(
        "bar",
        chrome.open_browser("bar").await,
        &server.base_url,
        shots,
    );

    // ---- a new product in the back office ----------------------------------------
    till.sign_in("admin", "admin").await;
    till.click_tid("backoffice-link").await;
    till.click_tid("bo-nav-products").await;
    till.wait("the product list", "$$('bo-row').length >= 30")
        .await;
    till.click_tid("bo-new").await;
    till.type_into("bo-field-name", "Scone").await;
    till.type_into("bo-field-price", "2.50").await;
    select_option(&till, "bo-field-category_id", "Bakery").await;
    till.click_xpath(
        "//*[@data-testid='bo-field-tax_ids']//label[normalize-space()='VAT 10%']/input",
    )
    .await;
    till.type_into("bo-field-barcode", SCONE_BARCODE).await;
    till.click_tid("bo-field-tracks_stock").await;
    till.eval("(() => { const f = $('bo-field-on_hand'); f.value = ''; return true; })()")
        .await;
    till.type_into("bo-field-on_hand", "12").await;
    till.shot("new-product-form").await;
    till.click_tid("bo-save").await;
    let scone_row =
        "$$('bo-row').find((r) => txt(r.querySelector('[data-col=\"name\"]')) === 'Scone')";
    till.wait(
        "the new product in the list",
        &format!(
            "(() => {{ const r = {scone_row}; return !!r && txt(r.querySelector('[data-col=\"price\"]')) === '2.50' && txt(r.querySelector('[data-col=\"category_id\"]')) === 'Bakery' && txt(r.querySelector('[data-col=\"tax_ids\"]')) === 'VAT 10%' && txt(r.querySelector('[data-col=\"on_hand\"]')) === '12'; }})()"
        ),
    )
    .await;
    // An untracked product has no on-hand to show (it used to read "0").
    till.wait(
        "no on-hand for an untracked product",
        "(() => { const r = $$('bo-row').find((r) => txt(r.querySelector('[data-col=\"name\"]')) === 'Espresso'); return !!r && txt(r.querySelector('[data-col=\"on_hand\"]')) === ''; })()",
    )
    .await;
    till.shot("new-product-listed").await;

    // ---- the Bar's session, with opening cash -------------------------------------
    till.click_tid("bo-to-session").await;
    till.click_xpath(
        "//*[@data-testid='config-option'][.//*[@class='config-name' and normalize-space()='Bar']]",
    )
    .await;
    till.type_into("opening-cash", "100").await;
    till.click_tid("session-open").await;
    till.wait_text("counter-name", "Bar").await;
    till.wait_live().await;
    eprintln!("[{TEST_NAME}] till open after {:?}", started.elapsed());

    // ---- an order: scan, numpad, customer, note ----------------------------------
    till.type_into("product-search", &format!("{SCONE_BARCODE}\n"))
        .await;
    till.wait_lines(&[("Scone", "1")]).await;
    till.tap_product("Draft Beer").await;
    till.tap_line("Scone").await;
    till.numpad_qty("2").await;
    till.tap_line("Draft Beer").await;
    till.click_tid("numpad-mode-discount").await;
    till.click_tid("numpad-key-1").await;
    till.click_tid("numpad-key-0").await;
    till.wait_lines(&[("Scone", "2"), ("Draft Beer", "1")])
        .await;
    till.wait_text_contains("line-discount", "10%").await;
    // 2 × 2.50 + 3.50 − 10% = 5.00 + 3.15
    till.wait_text("order-total", "8.15").await;
    till.click_tid("customer-button").await;
    till.type_into("customer-search", "Sophie").await;
    till.click(r#"[data-testid="customer-picker"] [data-testid="customer-option"]"#)
        .await;
    till.wait_text("customer-button", "Sophie Martin").await;
    till.click_tid("order-note-button").await;
    till.type_into("order-note-input", "Table 4").await;
    till.click_tid("order-note-ok").await;
    till.wait(
        "the note on the order",
        "txt($('order-note-button')) === 'Note ✓'",
    )
    .await;
    till.wait_live().await;
    let order_id = till.current_order_id().await;
    till.shot("order-with-customer-discount-note").await;

    // The same till on a 768px-wide tablet: everything fits, nothing scrolls sideways.
    set_viewport(&till.client, 768, 1024).await;
    till.wait(
        "the tablet layout without sideways scrolling",
        "innerWidth === 768 && document.documentElement.scrollWidth <= innerWidth && $('pay-button').getBoundingClientRect().right <= innerWidth",
    )
    .await;
    till.shot("tablet-768").await;
    set_viewport(&till.client, 1280, 800).await;

    // ---- card payment with an invoice ----------------------------------------------
    till.click_tid("pay-button").await;
    till.wait_text("payment-customer", "Customer: Sophie Martin")
        .await;
    till.click_tid("invoice-toggle").await;
    till.wait(
        "the invoice asked for",
        "$('invoice-toggle').getAttribute('aria-checked') === 'true'",
    )
    .await;
    till.click(r#"[data-testid="payment-method"][data-kind="card"]"#)
        .await;
    till.wait_text("payment-line-amount", "8.15").await;
    till.wait_text("payment-change", "0.00").await;
    till.shot("payment-card-invoice").await;
    till.click_tid("payment-validate").await;
    till.wait("the receipt", "!!$('receipt')").await;
    till.wait_text("receipt-customer", "Customer: Sophie Martin")
        .await;
    till.wait_text("receipt-invoice", "Invoice requested").await;
    till.wait_text("receipt-total", "8.15").await;
    till.wait(
        "the card payment on the receipt",
        "$$('receipt-payment').map(txt).join('|') === 'Card8.15'",
    )
    .await;
    till.shot("receipt-with-invoice").await;
    eprintln!("[{TEST_NAME}] paid after {:?}", started.elapsed());

    // ---- the back office: stock, and the order's full history ----------------------
    till.click_tid("menu-button").await;
    till.click_tid("menu-backoffice").await;
    till.click_tid("bo-nav-products").await;
    till.wait(
        "the sold scones taken from stock",
        &format!(
            "(() => {{ const r = {scone_row}; return !!r && txt(r.querySelector('[data-col=\"on_hand\"]')) === '10'; }})()"
        ),
    )
    .await;
    // Every other section lists its rows (each is its own module since the split).
    for (section, at_least) in [
        ("categories", 3),
        ("taxes", 2),
        ("customers", 10),
        ("payment_methods", 2),
        ("users", 2),
        ("configs", 3),
    ] {
        till.click_tid(&format!("bo-nav-{section}")).await;
        till.wait(
            &format!("the {section} list"),
            &format!(
                "location.hash === '#/office/{section}' && $$('bo-row').length >= {at_least} && !$('bo-error')"
            ),
        )
        .await;
    }
    till.click_tid("bo-nav-orders").await;
    till.click_tid("bo-orders-state-paid").await;
    till.click(&format!(r#"[data-testid="bo-row"][data-id="{order_id}"]"#))
        .await;
    till.wait("the order's history", "$$('history-row').length > 0")
        .await;
    let history = till
        .eval(
            "$$('history-row').map((r) => [r.dataset.version, txt($('history-by', r)), txt($('history-what', r).firstChild)])",
        )
        .await;
    let rows = history.as_array().unwrap();
    let whats: Vec<&str> = rows.iter().map(|r| r[2].as_str().unwrap()).collect();
    assert!(
        rows.iter()
            .enumerate()
            .all(
                |(i, r)| r[0].as_str().and_then(|v| v.parse::<usize>().ok()) == Some(i + 1)
                    && r[1] == "Bar"
            ),
        "history versions 1.. by the Bar: {history}"
    );
    for expected in [
        "Created the order",
        "Added 1 × Scone",
        "Added 1 × Draft Beer",
        "Set quantity of Scone to 2",
        "Set discount of Draft Beer to 10%",
        "Customer: Sophie Martin",
        "Order note: “Table 4”",
        "Started payment (order locked)",
        "Paid 8.15 (Card 8.15), invoiced",
    ] {
        assert!(
            whats.contains(&expected),
            "{expected:?} missing from the history: {whats:#?}"
        );
    }
    assert_eq!(whats.last(), Some(&"Paid 8.15 (Card 8.15), invoiced"));
    till.wait_text_contains("bo-order", "State: paid").await;
    till.shot("order-history").await;

    // ---- close the session with counted cash: the report ---------------------------
    till.click_tid("bo-nav-sessions").await;
    let bar_session = "$$('bo-row').find((r) => r.dataset.state === 'open' && r.cells[1] && txt(r.cells[1]) === 'Bar')";
    till.wait("the Bar's open session", &format!("!!{bar_session}"))
        .await;
    let session_id = till
        .eval(&format!("{bar_session}.dataset.id"))
        .await
        .as_str()
        .unwrap()
        .to_owned();
    till.click(&format!(
        r#"[data-testid="bo-row"][data-id="{session_id}"] [data-testid="bo-session-close"]"#
    ))
    .await;
    till.type_into("counted-cash", "100").await;
    till.click_tid("close-session-confirm").await;
    till.wait(
        "the session report",
        &format!(
            "location.hash === {} && !!$('session-report')",
            js_str(&format!("#/office/sessions/{session_id}"))
        ),
    )
    .await;
    till.wait_text("report-orders-paid", "1").await;
    till.wait_text("report-sales-total", "8.15").await;
    till.wait_text("report-cash-expected", "100.00").await;
    till.wait_text("report-cash-counted", "100.00").await;
    till.wait_text("report-cash-difference", "0.00").await;
    till.wait(
        "the card payments in the report",
        "$$('report-payment').map(txt).join('|') === 'Card8.15'",
    )
    .await;
    till.shot("session-report").await;
    chrome.check_console(&till.name, &till.client, &[]).await;
    eprintln!("[{TEST_NAME}] closed after {:?}", started.elapsed());
}
