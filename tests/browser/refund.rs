//! A refund at the till (issue 8, "How it is checked"): a cashier sells two
//! lines, opens the sale from the Paid screen, refunds both with Refund… (the
//! counter keeps refunds for managers, so a manager approves with their PIN
//! first), pays the refund out in cash on the payment screen ("To refund"), and
//! the croissants are back in stock; a second refund of the same lines is
//! refused with words a cashier can read, at the till and by the server.

use crate::shop::{Shop, run};
use crate::till::js_str;
use futures_util::FutureExt;
use serde_json::{Value, json};

const TEST_NAME: &str = "refund";
const PIN: &str = "1357";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_of_two_lines_is_refunded_at_the_till_and_not_twice() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

async fn croissants_on_hand(shop: &Shop, token: &str) -> String {
    let (status, products) = shop.api.get("/products", token).await;
    assert_eq!(status, 200, "{products}");
    products
        .as_array()
        .unwrap()
        .iter()
        .find(|product| product["name"] == "Croissant")
        .expect("the demo's croissant")["on_hand"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn story(shop: &Shop) {
    let (manager, manager_id) = shop.restrict_counter_1(PIN).await;
    let stock_before = croissants_on_hand(shop, &manager).await;

    // Two croissants and an espresso, paid in cash.
    let till = shop.till("cashier", "cashier", "Counter 1").await;
    till.tap_product("Croissant").await;
    till.tap_product("Croissant").await;
    till.tap_product("Espresso").await;
    till.wait_lines(&[("Croissant", "2"), ("Espresso", "1")])
        .await;
    let sale_id = till.current_order_id().await;
    till.click_tid("pay-button").await;
    till.click(r#"[data-testid="payment-method"][data-kind="cash"]"#)
        .await;
    till.click_tid("payment-validate").await;
    till.wait(
        "the sale's receipt",
        &format!(
            "!!$('receipt') && $('receipt').dataset.orderId === {}",
            js_str(&sale_id)
        ),
    )
    .await;
    let sold: f64 = stock_before.parse::<f64>().unwrap() - 2.0;
    assert_eq!(
        croissants_on_hand(shop, &manager)
            .await
            .parse::<f64>()
            .unwrap(),
        sold
    );

    // The Paid screen: the sale, Refund…, both lines refundable in full.
    till.click_tid("receipt-new-order").await;
    till.click_tid("paid-button").await;
    let row = format!(
        "document.querySelector('[data-testid=\"paid-row\"][data-order-id={}]')",
        js_str(&sale_id)
    );
    till.wait("the sale in the paid list", &format!("!!{row}"))
        .await;
    till.eval(&format!("{row}.click()")).await;
    till.click_tid("paid-refund").await;
    till.wait(
        "the refund dialog with what is left of each line",
        "$$('refund-left').map(txt).join(', ') === '2, 1'",
    )
    .await;
    till.shot("refund-dialog").await;
    till.click_tid("refund-create").await;

    // A cashier at this counter needs a manager: the approval dialog asks first.
    till.wait("the approval dialog", "!!$('approval-dialog')")
        .await;
    till.wait_text_contains("approval-what", "refund").await;
    till.shot("refund-approval").await;
    till.type_into("approval-pin", PIN).await;
    till.click_tid("approval-ok").await;

    // The refund draft is paid out on the payment screen.
    till.wait(
        "the refund on the payment screen",
        "location.hash.startsWith('#/pay/') && !$('refund-dialog') && !$('approval-dialog')",
    )
    .await;
    let refund_id = till
        .eval("location.hash.slice('#/pay/'.length)")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    till.wait(
        "the payment screen to say what is to refund",
        "!!$('payment-remaining') && txt($('payment-remaining').parentElement).includes('To refund')",
    )
    .await;
    till.shot("refund-to-pay-out").await;
    till.click(r#"[data-testid="payment-method"][data-kind="cash"]"#)
        .await;
    till.click_tid("payment-validate").await;
    till.wait(
        "the refund's receipt",
        &format!(
            "!!$('receipt') && $('receipt').dataset.orderId === {}",
            js_str(&refund_id)
        ),
    )
    .await;
    till.shot("refund-paid").await;

    let (status, refund) = shop
        .api
        .get(&format!("/orders/{refund_id}"), &manager)
        .await;
    assert_eq!(status, 200, "{refund}");
    assert_eq!(refund["state"], "paid", "{refund}");
    assert_eq!(refund["refund_of"], json!(sale_id), "{refund}");
    let sale_total = shop
        .api
        .get(&format!("/orders/{sale_id}"), &manager)
        .await
        .1["totals"]["total"]
        .as_i64()
        .unwrap();
    assert_eq!(refund["totals"]["total"], json!(-sale_total), "{refund}");
    assert_eq!(
        refund["payments"][0]["amount"],
        json!(-sale_total),
        "paid out in cash"
    );
    assert_eq!(
        croissants_on_hand(shop, &manager).await,
        stock_before,
        "the croissants are back in stock"
    );
    let (_, history) = shop
        .api
        .get(&format!("/orders/{refund_id}/history"), &manager)
        .await;
    assert_eq!(history[0]["op"]["kind"], "refund", "{history}");
    assert_eq!(history[0]["approved_by"], manager_id, "{history}");

    // A second refund of the same sale: nothing is left, and the till says so.
    till.click_tid("receipt-new-order").await;
    till.click_tid("paid-button").await;
    till.wait("the sale in the paid list", &format!("!!{row}"))
        .await;
    till.eval(&format!("{row}.click()")).await;
    till.click_tid("paid-refund").await;
    till.wait(
        "the refund dialog with nothing left",
        "$$('refund-left').map(txt).join(', ') === '0, 0'",
    )
    .await;
    till.click_tid("refund-create").await;
    till.wait_text_contains("refund-error", "at least one line")
        .await;
    till.shot("refund-nothing-left").await;
    till.click_tid("refund-cancel").await;

    // The server refuses it too, whatever a till believes.
    let terminal = till.terminal_token().await;
    let (_, sale) = shop.api.get(&format!("/orders/{sale_id}"), &manager).await;
    let lines: Vec<Value> = sale["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| json!({"line_id": line["id"], "qty": line["qty"]}))
        .collect();
    let (status, refused) = shop
        .api
        .post_answer(
            &format!("/orders/{sale_id}/refund"),
            &terminal,
            json!({"order_id": uuid::Uuid::now_v7(), "lines": lines, "approval": {"user_id": manager_id, "pin": PIN}}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("can still be refunded"),
        "{refused}"
    );
}
