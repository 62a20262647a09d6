//! The order panel shows every line, or says how many it cannot (issue 11, point
//! 3), and the till keeps its labels on a 768 px tablet (point 7): a nine-line
//! order at 1280x800 scrolls inside the panel, keeps the selected line in view and
//! counts the lines out of sight; at 768x1024 Manual Sync keeps its label, the
//! cashier's name stays visible and no category tab is cut off. Then the cashier
//! adds a new customer at the till (point 9) and the order gets it.

use crate::chrome::set_viewport;
use crate::shop::{Shop, run};
use crate::till::Till;
use futures_util::FutureExt;

const TEST_NAME: &str = "order_panel";
const NINE_PRODUCTS: [&str; 9] = [
    "Espresso",
    "Cappuccino",
    "Croissant",
    "Americano",
    "Caffè Latte",
    "Blueberry Muffin",
    "Chai Latte",
    "Club Sandwich",
    "Green Tea",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_is_in_view_or_counted_the_tablet_keeps_its_labels_and_customers_are_added_at_the_till()
 {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

/// The lines out of sight above and below the panel, measured in the page, and
/// what the "N more" markers say; the selected line must be wholly in sight.
const LINES_IN_SIGHT: &str = r#"(() => {
  const list = $('order-lines').getBoundingClientRect();
  let above = 0, below = 0;
  for (const l of $$('order-line')) {
    const r = l.getBoundingClientRect();
    if (r.top < list.top - 1) above += 1; else if (r.bottom > list.bottom + 1) below += 1;
  }
  const shown = (t) => { const e = $(t); return e && !e.hidden && e.getClientRects().length ? Number(e.dataset.count) : 0; };
  const sel = document.querySelector('[data-testid="order-line"].selected').getBoundingClientRect();
  return { above, below, said_above: shown('lines-more-above'), said_below: shown('lines-more-below'),
           selected_in_sight: sel.top >= list.top - 1 && sel.bottom <= list.bottom + 1,
           below_text: txt($('lines-more-below')) };
})()"#;

async fn lines_in_sight(till: &Till) -> serde_json::Value {
    till.wait(
        "the line markers to match what is out of sight",
        &format!(
            "(() => {{ const s = {LINES_IN_SIGHT}; return s.above === s.said_above && s.below === s.said_below && s.selected_in_sight ? s : null; }})()"
        ),
    )
    .await
}

async fn story(shop: &Shop) {
    let till = shop.till("counter1", "cashier", "Counter 1").await;
    for product in NINE_PRODUCTS {
        till.tap_product(product).await;
    }
    till.tap_line("Croissant").await;
    till.numpad_qty("10").await;
    till.wait(
        "nine lines, one of them ×10",
        "$$('order-line').length === 9 && $$('order-line').some((l) => txt($('line-qty', l)) === '10')",
    )
    .await;
    till.wait_live().await;

    // ---- 1280x800: the newest line in view, the others counted -------------------
    till.tap_line("Green Tea").await;
    let sight = lines_in_sight(&till).await;
    assert!(
        sight["above"].as_u64().unwrap() > 0,
        "at 1280x800 nine lines should not all fit: {sight}"
    );
    till.shot("nine-lines-1280-bottom").await;
    // Up to the first line with the keyboard: the selection stays in view and the
    // marker now counts the lines below (the ×10 among them).
    till.eval(
        "(() => { document.activeElement && document.activeElement.blur(); return true; })()",
    )
    .await;
    for _ in 0..8 {
        till.press_key(fantoccini::key::Key::Up).await;
    }
    till.wait(
        "the first line selected",
        "txt($('line-name', document.querySelector('[data-testid=\"order-line\"].selected'))) === 'Espresso'",
    )
    .await;
    let sight = lines_in_sight(&till).await;
    assert!(sight["below"].as_u64().unwrap() > 0, "{sight}");
    assert_eq!(
        sight["below_text"],
        format!("▼ {} more", sight["below"]),
        "{sight}"
    );
    till.shot("nine-lines-1280-top").await;
    // The marker scrolls to what it counts.
    till.click_tid("lines-more-below").await;
    till.wait("the list scrolled down", "$('order-lines').scrollTop > 0")
        .await;

    // ---- 768x1024: a tablet ---------------------------------------------------------
    set_viewport(&till.client, 768, 1024).await;
    till.wait("the tablet viewport", "innerWidth === 768").await;
    till.wait(
        "Manual Sync with its label",
        "(() => { const l = $('manual-sync').querySelector('.btn-label'); return !!l && l.getClientRects().length > 0 && txt(l) === 'Manual Sync' && l.scrollWidth <= l.clientWidth; })()",
    )
    .await;
    till.wait(
        "the cashier's name in sight",
        "(() => { const s = $('session-info'); return s.getClientRects().length > 0 && /Sam Cashier/.test(txt(s)) && s.scrollWidth <= s.clientWidth; })()",
    )
    .await;
    till.wait(
        "every category tab whole",
        "(() => { const bar = $('category-bar').getBoundingClientRect(); const tabs = [$('category-all'), ...$$('category-button')]; return tabs.length > 3 && tabs.every((t) => { const r = t.getBoundingClientRect(); return r.width > 0 && r.left >= bar.left - 1 && r.right <= Math.min(bar.right, innerWidth) + 1; }); })()",
    )
    .await;
    till.wait(
        "no sideways scrolling",
        "document.documentElement.scrollWidth <= innerWidth",
    )
    .await;
    lines_in_sight(&till).await;
    till.shot("tablet-768").await;
    set_viewport(&till.client, 1280, 800).await;

    // ---- a new customer, added at the till ------------------------------------------
    till.click_tid("customer-button").await;
    till.type_into("customer-search", "Nadia").await;
    till.wait(
        "no customer named Nadia yet",
        "!!$('customer-list') && $$('customer-option').length === 0",
    )
    .await;
    till.click_tid("customer-new").await;
    till.wait(
        "the name taken from the search",
        "$('customer-new-name').value === 'Nadia'",
    )
    .await;
    till.type_into("customer-new-name", " Haddad").await;
    till.type_into("customer-new-phone", "+32 470 12 34 56")
        .await;
    till.type_into("customer-new-email", "nadia@example").await;
    till.click_tid("customer-new-save").await;
    till.wait_text(
        "customer-new-error",
        "That email address does not look right.",
    )
    .await;
    till.type_into("customer-new-email", ".com").await;
    till.shot_both("new-customer-form").await;
    till.click_tid("customer-new-save").await;
    till.wait_text("customer-button", "Nadia Haddad").await;
    till.wait_live().await;
    let token = till.terminal_token().await;
    let order_id = till.current_order_id().await;
    let (_, order) = shop.api.get(&format!("/orders/{order_id}"), &token).await;
    let (_, customers) = shop.api.get("/customers", &token).await;
    let nadia = customers
        .as_array()
        .unwrap()
        .iter()
        .find(|customer| customer["name"] == "Nadia Haddad")
        .unwrap_or_else(|| panic!("the new customer on the server: {customers}"));
    assert_eq!(nadia["phone"], "+32 470 12 34 56", "{nadia}");
    assert_eq!(nadia["email"], "nadia@example.com", "{nadia}");
    assert_eq!(order["customer_id"], nadia["id"], "{order}");
    till.shot("new-customer-on-the-order").await;
    shop.chrome
        .check_console(&till.name, &till.client, &[])
        .await;
}
