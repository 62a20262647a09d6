//! Stock (issue 12, point 4): every paid line of a tracked product is one move
//! (a resent pay moves nothing twice, a returned line moves goods back), a
//! manager adjusts stock by hand with a reason, and the back office reads a
//! product's moves newest first, a page at a time. A product form's new
//! on-hand is a count; a low-stock threshold is a product field.

use possync_testkit::*;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

fn moves_path(product_id: i64) -> String {
    format!("/api/v1/products/{product_id}/stock_moves")
}

async fn on_hand(shop: &Shop, product_id: i64) -> Value {
    let (status, product) = shop
        .get(
            &format!("/api/v1/products/{product_id}"),
            &shop.manager_token,
        )
        .await;
    assert_eq!(status, 200, "{product}");
    product["on_hand"].clone()
}

async fn moves(shop: &Shop, product_id: i64) -> Vec<Value> {
    let (status, moves) = shop.get(&moves_path(product_id), &shop.manager_token).await;
    assert_eq!(status, 200, "{moves}");
    moves.as_array().unwrap().clone()
}

/// `(reason, qty)` of each move, as listed (newest first).
fn reasons(moves: &[Value]) -> Vec<(String, String)> {
    moves
        .iter()
        .map(|stock_move| {
            (
                stock_move["reason"].as_str().unwrap().to_owned(),
                stock_move["qty"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(reason: &str, qty: &str) -> (String, String) {
    (reason.to_owned(), qty.to_owned())
}

/// GET `path` and answer the JSON array and the next link, if any.
async fn page(shop: &Shop, path: &str) -> (Vec<Value>, Option<String>) {
    let response = shop
        .send_raw(
            Method::GET,
            path,
            &Auth::Bearer(shop.manager_token.clone()),
            &Body::None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    let next = response
        .headers()
        .get("link")
        .map(|link| link.to_str().unwrap().to_owned())
        .map(|link| {
            let url = link.trim_start_matches('<');
            url[..url.find('>').unwrap()].to_owned()
        });
    let items: Value = response.json().await.unwrap();
    (items.as_array().unwrap().clone(), next)
}

#[tokio::test]
async fn sales_refunds_and_adjustments_are_moves_listed_newest_first() {
    let shop = Shop::open().await;
    assert_eq!(moves(&shop, shop.croissant).await, Vec::<Value>::new());
    let (_, me) = shop.get("/api/v1/me", &shop.manager_token).await;
    let manager_id = me["user"]["id"].as_i64().unwrap();

    // Two croissants sold at Counter 1; the pay is resent and moves nothing twice.
    let mut counter = shop.counter(shop.counter_1).await;
    let sale = Uuid::now_v7();
    counter.ok(sale, create(false)).await;
    counter
        .ok(sale, add_line(Uuid::now_v7(), shop.croissant, "2"))
        .await;
    let pay = json!({"kind": "pay", "payments": [{"method_id": shop.cash, "amount": 360}], "expected_total": 360});
    let pay_id = Uuid::now_v7();
    let first = counter.op_with_id(pay_id, sale, pay.clone()).await;
    assert_eq!(first["type"], "ack", "{first}");
    let again = counter.op_with_id(pay_id, sale, pay).await;
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(on_hand(&shop, shop.croissant).await, "18");

    // A croissant brought back: a negative line paid out moves it back in.
    let returned = Uuid::now_v7();
    counter.ok(returned, create(false)).await;
    counter
        .ok(returned, add_line(Uuid::now_v7(), shop.croissant, "-1"))
        .await;
    counter
        .ok(
            returned,
            json!({"kind": "pay", "payments": [{"method_id": shop.cash, "amount": -180}], "expected_total": -180}),
        )
        .await;
    assert_eq!(on_hand(&shop, shop.croissant).await, "19");

    // A delivery and a count, by the manager.
    let (status, delivered) = shop
        .post(
            &moves_path(shop.croissant),
            &shop.manager_token,
            json!({"reason": "delivery", "qty": "24", "note": "Supplier note 118"}),
        )
        .await;
    assert_eq!(status, 201, "{delivered}");
    assert_eq!(delivered["on_hand"], "43");
    assert_eq!(delivered["move"]["reason"], "delivery");
    assert_eq!(delivered["move"]["qty"], "24");
    assert_eq!(delivered["move"]["user_id"], manager_id);
    let (status, counted) = shop
        .post(
            &moves_path(shop.croissant),
            &shop.manager_token,
            json!({"reason": "count", "counted": "40"}),
        )
        .await;
    assert_eq!(status, 201, "{counted}");
    assert_eq!(
        (&counted["move"]["qty"], &counted["on_hand"]),
        (&json!("-3"), &json!("40"))
    );
    assert_eq!(on_hand(&shop, shop.croissant).await, "40");

    let listed = moves(&shop, shop.croissant).await;
    assert_eq!(
        reasons(&listed),
        vec![
            pair("count", "-3"),
            pair("delivery", "24"),
            pair("refund", "1"),
            pair("sale", "-2"),
        ]
    );
    assert_eq!(
        listed[0], counted["move"],
        "the list shows what the POST answered"
    );
    assert_eq!(listed[1]["note"], "Supplier note 118");
    let sold = &listed[3];
    assert_eq!(sold["order_id"], sale.to_string());
    assert_eq!(sold["receipt_number"], "Counter 1/0001");
    assert_eq!(
        sold["user_id"],
        Value::Null,
        "a sale is the till's, not a manager's"
    );
    assert_eq!(listed[2]["receipt_number"], "Counter 1/0002");
    assert!(
        listed
            .windows(2)
            .all(|two| two[0]["id"].as_i64() > two[1]["id"].as_i64())
    );
    assert!(
        moves(&shop, shop.espresso).await.is_empty(),
        "untracked: no moves"
    );

    // Pages of two, linked; the second page ends the list.
    let (first_page, next) = page(&shop, &format!("{}?limit=2", moves_path(shop.croissant))).await;
    assert_eq!(first_page, listed[..2].to_vec());
    let next = next.expect("a next link while moves remain");
    let (second_page, after) = page(&shop, &next).await;
    assert_eq!(second_page, listed[2..].to_vec());
    assert_eq!(after, None);

    // Each adjustment is in the audit trail with who made it.
    let (_, audit) = shop.get("/api/v1/audit", &shop.manager_token).await;
    let adjustments: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "stock.adjust")
        .collect();
    assert_eq!(adjustments.len(), 2, "{audit}");
    assert_eq!(
        adjustments[0]["target"],
        format!("product {}", shop.croissant)
    );
    assert_eq!(adjustments[0]["user_id"], manager_id);
    assert_eq!(adjustments[0]["details"]["reason"], "count");
    assert_eq!(adjustments[1]["details"]["note"], "Supplier note 118");
}

#[tokio::test]
async fn adjustments_are_for_managers_and_bad_ones_change_nothing() {
    let shop = Shop::open().await;
    let terminal = shop.terminal_token(shop.counter_1).await;
    let croissant = moves_path(shop.croissant);
    let delivery = json!({"reason": "delivery", "qty": "5"});
    for token in [&shop.cashier_token, &terminal] {
        let (status, refused) = shop.post(&croissant, token, delivery.clone()).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (403, Some("forbidden"))
        );
        let (status, refused) = shop.get(&croissant, token).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (403, Some("forbidden"))
        );
    }
    let long_note = "x".repeat(1_001);
    let refusals = [
        (
            shop.espresso,
            json!({"reason": "delivery", "qty": "5"}),
            "does not track stock",
        ),
        (
            shop.croissant,
            json!({"reason": "theft", "qty": "-1"}),
            "unknown variant `theft`",
        ),
        (
            shop.croissant,
            json!({"reason": "delivery", "qty": "-3"}),
            "qty must be positive",
        ),
        (
            shop.croissant,
            json!({"reason": "damage", "qty": "2"}),
            "qty must be negative",
        ),
        (
            shop.croissant,
            json!({"reason": "count", "qty": "2"}),
            "`counted`",
        ),
        (
            shop.croissant,
            json!({"reason": "count", "counted": "-2"}),
            "cannot be negative",
        ),
        (
            shop.croissant,
            json!({"reason": "correction", "qty": "1"}),
            "needs a note",
        ),
        (
            shop.croissant,
            json!({"reason": "delivery", "qty": "0"}),
            "other than zero",
        ),
        (
            shop.croissant,
            json!({"reason": "delivery", "qty": "1.0001"}),
            "3 digits after the decimal point",
        ),
        (
            shop.croissant,
            json!({"reason": "delivery", "qty": "999999"}),
            "range",
        ),
        (
            shop.croissant,
            json!({"reason": "delivery", "qty": "1", "by": 1}),
            "by",
        ),
        (
            shop.croissant,
            json!({"reason": "delivery", "qty": "1", "note": long_note}),
            "at most 1000 characters",
        ),
        (shop.croissant, json!([]), ""),
    ];
    for (product_id, body, says) in refusals {
        let (status, refused) = shop
            .post(&moves_path(product_id), &shop.manager_token, body.clone())
            .await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (400, Some("invalid")),
            "{body}: {refused}"
        );
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    let (status, missing) = shop
        .post(&moves_path(999_999), &shop.manager_token, delivery.clone())
        .await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = shop.get(&moves_path(999_999), &shop.manager_token).await;
    assert_eq!(status, 404);
    for query in ["?limit=0", "?limit=1001", "?before=x", "?limit=-1"] {
        let (status, refused) = shop
            .get(&format!("{croissant}{query}"), &shop.manager_token)
            .await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (400, Some("invalid")),
            "{query}"
        );
    }
    let (status, _) = shop
        .get(
            "/api/v1/products/croissant/stock_moves",
            &shop.manager_token,
        )
        .await;
    assert_eq!(status, 400);

    assert_eq!(on_hand(&shop, shop.croissant).await, "20", "nothing moved");
    assert!(moves(&shop, shop.croissant).await.is_empty());
}

#[tokio::test]
async fn a_new_on_hand_in_the_product_form_is_a_count_and_thresholds_are_product_fields() {
    let shop = Shop::open().await;
    let product_path = format!("/api/v1/products/{}", shop.croissant);
    let (status, changed) = shop
        .patch(
            &product_path,
            &shop.manager_token,
            json!({"on_hand": "15", "low_stock": "5"}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["on_hand"], &changed["low_stock"]),
        (&json!("15"), &json!("5"))
    );
    let listed = moves(&shop, shop.croissant).await;
    assert_eq!(reasons(&listed), vec![pair("count", "-5")]);
    assert_eq!(listed[0]["note"], "on hand changed in the product form");

    // The same on-hand again, or a rename, moves nothing.
    let (status, _) = shop
        .patch(
            &product_path,
            &shop.manager_token,
            json!({"on_hand": "15", "name": "Butter croissant"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(moves(&shop, shop.croissant).await.len(), 1);

    // An untracked product's on-hand means nothing: written, no move.
    let (status, espresso) = shop
        .patch(
            &format!("/api/v1/products/{}", shop.espresso),
            &shop.manager_token,
            json!({"on_hand": "3"}),
        )
        .await;
    assert_eq!((status, &espresso["on_hand"]), (200, &json!("3")));
    assert!(moves(&shop, shop.espresso).await.is_empty());

    // Thresholds: cleared with null, never negative, set at creation.
    let (_, cleared) = shop
        .patch(
            &product_path,
            &shop.manager_token,
            json!({"low_stock": null}),
        )
        .await;
    assert_eq!(cleared["low_stock"], Value::Null);
    let (status, refused) = shop
        .patch(
            &product_path,
            &shop.manager_token,
            json!({"low_stock": "-1"}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("invalid"))
    );
    let (status, refused) = shop
        .patch(&product_path, &shop.manager_token, json!({"on_hand": "-1"}))
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("invalid")),
        "a count is never negative: {refused}"
    );
    let (status, beans) = shop
        .post(
            "/api/v1/products",
            &shop.manager_token,
            json!({"name": "Beans", "price": 990, "tracks_stock": true, "on_hand": "8", "low_stock": "2.5"}),
        )
        .await;
    assert_eq!((status, &beans["low_stock"]), (201, &json!("2.5")));
    let (_, products) = shop.get("/api/v1/products", &shop.cashier_token).await;
    let thresholds: Vec<&Value> = products
        .as_array()
        .unwrap()
        .iter()
        .map(|product| &product["low_stock"])
        .collect();
    assert_eq!(thresholds, vec![&Value::Null, &Value::Null, &json!("2.5")]);
}
