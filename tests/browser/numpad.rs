//! The numpad and the keyboard never surprise a cashier (issue 11, points 1, 2, 4):
//! a line changed at another counter resets the digits being typed and says who
//! changed it; Enter never repeats the last tapped key (on the payment screen it
//! validates); values the server would refuse are refused while typing, with one
//! message in words; a note too long keeps its text and says by how much; a
//! quantity above the till's confirmation threshold (a slow-typed barcode) is not
//! sent until confirmed, and Enter cancels it.

use crate::shop::{Shop, run};
use crate::till::{Till, js_str};
use fantoccini::key::Key;
use futures_util::FutureExt;
use std::time::Duration;

const TEST_NAME: &str = "numpad";
/// Slower than the scanner detector's 40 ms: a person, or a slow scanner.
const SLOW_KEY_GAP: Duration = Duration::from_millis(70);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_numpad_and_the_keyboard_never_surprise_the_cashier() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

/// The quantity of `product`'s line as the server holds it, via Counter 1's token.
async fn server_qty(shop: &Shop, till: &Till, order_id: &str, product: &str) -> String {
    let token = till.terminal_token().await;
    let (status, order) = shop.api.get(&format!("/orders/{order_id}"), &token).await;
    assert_eq!(status, 200, "{order}");
    order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["name"] == product)
        .unwrap_or_else(|| panic!("no {product} line: {order}"))["qty"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// No toast has shown the server's raw refusal.
async fn no_raw_refusal(till: &Till) {
    let raw = till
        .eval("$$('toast').map(txt).filter((t) => /refused|bad op|out of range/i.test(t))")
        .await;
    assert_eq!(
        raw,
        serde_json::json!([]),
        "[{}] raw refusals shown",
        till.name
    );
}

async fn story(shop: &Shop) {
    let (counter_1, counter_2) = tokio::join!(
        shop.till("counter1", "cashier", "Counter 1"),
        shop.till("counter2", "cashier", "Counter 2"),
    );

    // ---- focus: Enter after tapping a product does not add it again ---------------
    counter_1.tap_product("Cappuccino").await;
    counter_1.press_key(Key::Enter).await;
    counter_1.tap_product("Croissant").await;
    counter_1
        .wait_lines(&[("Cappuccino", "1"), ("Croissant", "1")])
        .await;
    // A barcode scanned after a tap on an order button (Customer) adds its product:
    // neither its digits nor its Enter go to that button.
    counter_1.click_tid("customer-button").await;
    counter_1.click_tid("customer-none").await;
    counter_1
        .wait("the customer picker closed", "!$('customer-picker')")
        .await;
    let mut scan: Vec<char> = "8420001000007".chars().collect();
    scan.push(Key::Enter.into());
    counter_1.type_keys(&scan, Duration::ZERO).await;
    counter_1
        .wait_lines(&[("Cappuccino", "1"), ("Croissant", "1"), ("Espresso", "1")])
        .await;
    counter_1
        .wait(
            "no dialog opened by the scan's Enter",
            "!document.querySelector('dialog[open]')",
        )
        .await;
    counter_1.tap_line("Espresso").await;
    counter_1.click_tid("remove-line").await;
    counter_1
        .wait_lines(&[("Cappuccino", "1"), ("Croissant", "1")])
        .await;

    // ---- 1. a remote edit resets the digits being typed ---------------------------
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
        .wait_lines(&[("Cappuccino", "1"), ("Croissant", "1")])
        .await;
    counter_1.tap_line("Cappuccino").await;
    counter_1.numpad_qty("5").await;
    counter_2
        .wait_lines(&[("Cappuccino", "5"), ("Croissant", "1")])
        .await;
    counter_2.tap_line("Cappuccino").await;
    counter_2.numpad_qty("7").await;
    counter_1
        .wait_lines(&[("Cappuccino", "7"), ("Croissant", "1")])
        .await;
    counter_1
        .wait(
            "the line to say Counter 2 changed it",
            "(() => { const l = $$('order-line').find((l) => txt($('line-name', l)) === 'Cappuccino'); return !!l && /Counter 2/.test(txt($('line-changed', l)) || ''); })()",
        )
        .await;
    counter_1.shot("line-changed-at-counter-2").await;
    // The next key starts a new number: 2, not 52.
    counter_1.click_tid("numpad-key-2").await;
    counter_1
        .wait_lines(&[("Cappuccino", "2"), ("Croissant", "1")])
        .await;
    counter_2
        .wait_lines(&[("Cappuccino", "2"), ("Croissant", "1")])
        .await;
    counter_1.wait_live().await;
    assert_eq!(
        server_qty(shop, &counter_1, &order_id, "Cappuccino").await,
        "2"
    );

    // ---- 4. bounds while typing -------------------------------------------------------
    // Above the confirmation threshold nothing is sent until confirmed; past the
    // contract's bound (1,000,000) the key is refused with one message.
    counter_1.click_tid("numpad-mode-qty").await;
    for digit in ["1", "2", "3", "4", "5", "6", "7"] {
        counter_1.click_tid(&format!("numpad-key-{digit}")).await;
    }
    counter_1
        .wait_text_contains("numpad-hint", "at most 1,000,000")
        .await;
    counter_1.wait_text_contains("qty-confirm", "123,456").await;
    counter_1.shot("quantity-bound-and-confirmation").await;
    no_raw_refusal(&counter_1).await;
    counter_1.click_tid("qty-confirm-cancel").await;
    counter_1
        .wait_lines(&[("Cappuccino", "2"), ("Croissant", "1")])
        .await;
    for digit in ["1", "5", "0"] {
        counter_1.click_tid(&format!("numpad-key-{digit}")).await;
    }
    counter_1.click_tid("qty-confirm").await;
    counter_1
        .wait_lines(&[("Cappuccino", "150"), ("Croissant", "1")])
        .await;

    // A discount above 100% is refused with a message, never cut to 15%.
    counter_1.tap_line("Croissant").await;
    counter_1.click_tid("numpad-mode-discount").await;
    for digit in ["1", "5", "0"] {
        counter_1.click_tid(&format!("numpad-key-{digit}")).await;
    }
    counter_1
        .wait_text_contains("numpad-hint", "at most 100%")
        .await;
    counter_1.wait_text_contains("line-discount", "15%").await;
    counter_1.shot("discount-bound").await;

    // A note too long keeps every character typed and says by how much.
    counter_1.click_tid("order-note-button").await;
    counter_1
        .eval(&format!(
            "(() => {{ const f = $('order-note-input'); f.value = {}; f.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()",
            js_str(&"n".repeat(5000))
        ))
        .await;
    counter_1
        .wait(
            "the note's count to say it is too long",
            "/4,000 too many/.test(txt($('order-note-count')) || '') && $('order-note-ok').disabled && $('order-note-input').value.length === 5000",
        )
        .await;
    counter_1.shot("note-too-long").await;
    counter_1
        .eval("(() => { const f = $('order-note-input'); f.value = f.value.slice(0, 1000); f.dispatchEvent(new Event('input', {bubbles: true})); return true; })()")
        .await;
    counter_1.click_tid("order-note-ok").await;
    counter_1.wait_text("order-note-button", "Note ✓").await;

    // A barcode typed slowly into the numpad: the quantity is held for
    // confirmation, and the scanner's Enter cancels it.
    counter_1.numpad_qty("").await;
    counter_1.tap_line("Cappuccino").await;
    counter_1
        .eval("(() => { document.activeElement && document.activeElement.blur(); return true; })()")
        .await;
    let mut barcode: Vec<char> = "8420001000007".chars().collect();
    barcode.push(Key::Enter.into());
    counter_1.type_keys(&barcode, SLOW_KEY_GAP).await;
    counter_1
        .wait_lines(&[("Cappuccino", "150"), ("Croissant", "1")])
        .await;
    counter_1
        .wait("no quantity waiting for confirmation", "!$('qty-confirm')")
        .await;
    counter_1.wait_live().await;
    assert_eq!(
        server_qty(shop, &counter_1, &order_id, "Cappuccino").await,
        "150"
    );
    let token = counter_1.terminal_token().await;
    let (_, order) = shop.api.get(&format!("/orders/{order_id}"), &token).await;
    assert_eq!(
        order["note"].as_str().map(|n| n.chars().count()),
        Some(1000)
    );
    no_raw_refusal(&counter_1).await;

    // ---- 2. Enter on the payment screen validates; it never repeats a key ---------
    counter_1.click_tid("new-order").await;
    counter_1.tap_product("Espresso").await;
    counter_1.wait_text("order-total", "2.20").await;
    counter_1.click_tid("pay-button").await;
    counter_1
        .click(r#"[data-testid="payment-method"][data-kind="cash"]"#)
        .await;
    counter_1.wait_text("payment-line-amount", "2.20").await;
    counter_1.click_tid("numpad-key-1").await;
    counter_1.click_tid("numpad-key-0").await;
    counter_1.wait_text("payment-line-amount", "10.00").await;
    counter_1.press_key(Key::Enter).await;
    counter_1.wait("the receipt", "!!$('receipt')").await;
    counter_1.wait_text("receipt-change", "7.80").await;
    counter_1
        .wait(
            "the cash payment of 10.00",
            "$$('receipt-payment').map(txt).join('|') === 'Cash10.00'",
        )
        .await;
    counter_1.shot("enter-validated").await;
    for till in [&counter_1, &counter_2] {
        shop.chrome
            .check_console(&till.name, &till.client, &[])
            .await;
    }
}
