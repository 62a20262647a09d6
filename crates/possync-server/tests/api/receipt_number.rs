//! A paid order carries its `receipt_number` on the order object (PROTOCOL.md
//! "After payment") wherever a paid order is answered: `GET /orders/{id}` and
//! `GET /orders?state=paid`, for the origin and the paying counter and the
//! manager, on SQLite and on PostgreSQL. Drafts and cancelled orders have no
//! such field at all (absent, never null).

use possync_testkit::*;
use serde_json::{Value, json};
use uuid::Uuid;

/// A one-espresso draft at `counter`, shared when `share` holds.
async fn sell_espresso(shop: &Shop, counter: &mut Counter, share: bool) -> Uuid {
    let order = Uuid::now_v7();
    counter.ok(order, create(share)).await;
    counter
        .ok(order, add_line(Uuid::now_v7(), shop.espresso, "1"))
        .await;
    order
}

async fn pay_cash(shop: &Shop, counter: &mut Counter, order: Uuid) {
    counter
        .ok(
            order,
            json!({"kind": "pay", "payments": [{"method_id": shop.cash, "amount": 220}], "expected_total": 220}),
        )
        .await;
}

async fn order_as(shop: &Shop, order: Uuid, token: &str) -> Value {
    let (status, body) = shop.get(&format!("/api/v1/orders/{order}"), token).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The paid orders a token's listing answers, by id.
async fn paid_listing(shop: &Shop, token: &str) -> Vec<Value> {
    let (status, body) = shop.get("/api/v1/orders?state=paid", token).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().expect("a JSON array").clone()
}

fn number_in(listing: &[Value], order: Uuid) -> Option<Value> {
    listing
        .iter()
        .find(|paid| paid["id"] == order.to_string())
        .map(|paid| paid["receipt_number"].clone())
}

/// The whole check, on whatever database `shop` runs.
async fn paid_orders_carry_their_receipt_number(shop: &Shop) {
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;

    // Started at Counter 1 and shared: a draft has no receipt number at all.
    let first = sell_espresso(shop, &mut counter_1, true).await;
    let draft = order_as(shop, first, &counter_1.token).await;
    assert_eq!(draft["state"], "draft");
    assert!(
        draft.get("receipt_number").is_none(),
        "a draft's order object has no receipt_number field: {draft}"
    );

    // Paid at Counter 2: the paying config's name and its first number.
    counter_2
        .expect_where(|message| {
            message["type"] == "order" && message["order"]["id"] == first.to_string()
        })
        .await;
    pay_cash(shop, &mut counter_2, first).await;
    for token in [&counter_1.token, &counter_2.token, &shop.manager_token] {
        let paid = order_as(shop, first, token).await;
        assert_eq!(paid["state"], "paid");
        assert_eq!(paid["receipt_number"], "Counter 2/0001", "{paid}");
    }

    // The next payment of that session takes the next number; the origin's own
    // session (Counter 1) numbers its receipts apart.
    let second = sell_espresso(shop, &mut counter_2, false).await;
    pay_cash(shop, &mut counter_2, second).await;
    let third = sell_espresso(shop, &mut counter_1, false).await;
    pay_cash(shop, &mut counter_1, third).await;

    let listing_2 = paid_listing(shop, &counter_2.token).await;
    assert_eq!(number_in(&listing_2, first), Some(json!("Counter 2/0001")));
    assert_eq!(number_in(&listing_2, second), Some(json!("Counter 2/0002")));
    assert_eq!(number_in(&listing_2, third), None, "Counter 2 never saw it");
    let listing_1 = paid_listing(shop, &counter_1.token).await;
    assert_eq!(number_in(&listing_1, first), Some(json!("Counter 2/0001")));
    assert_eq!(number_in(&listing_1, third), Some(json!("Counter 1/0001")));
    let everything = paid_listing(shop, &shop.manager_token).await;
    for (order, number) in [
        (first, "Counter 2/0001"),
        (second, "Counter 2/0002"),
        (third, "Counter 1/0001"),
    ] {
        assert_eq!(number_in(&everything, order), Some(json!(number)));
    }

    // The receipt route and the order object agree.
    let (status, receipt) = shop
        .get(
            &format!("/api/v1/orders/{second}/receipt?format=json"),
            &counter_2.token,
        )
        .await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["receipt_number"], "Counter 2/0002");

    // A cancelled order has no number either.
    let cancelled = sell_espresso(shop, &mut counter_1, false).await;
    counter_1.ok(cancelled, json!({"kind": "cancel"})).await;
    let (status, body) = shop
        .get("/api/v1/orders?state=cancelled", &counter_1.token)
        .await;
    assert_eq!(status, 200, "{body}");
    let listed = body
        .as_array()
        .unwrap()
        .iter()
        .find(|order| order["id"] == cancelled.to_string())
        .expect("the cancelled order is listed");
    assert!(listed.get("receipt_number").is_none(), "{listed}");
}

#[tokio::test]
async fn a_paid_order_carries_its_receipt_number_on_sqlite() {
    let mut shop = Shop::open().await;
    paid_orders_carry_their_receipt_number(&shop).await;

    // The number is part of the stored order: it is still there after a restart.
    let manager = shop.manager_token.clone();
    let (_, before) = shop.get("/api/v1/orders?state=paid", &manager).await;
    shop.restart().await;
    let (status, after) = shop.get("/api/v1/orders?state=paid", &manager).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_paid_order_carries_its_receipt_number_on_postgres() {
    let Some(nodes) = spawn_nodes(1).await else {
        return;
    };
    paid_orders_carry_their_receipt_number(&nodes.shop).await;
}
