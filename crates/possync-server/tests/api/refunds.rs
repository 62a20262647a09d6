//! Refunds (issue 8, point 3): `POST /orders/{id}/refund` makes a draft of
//! negative lines copied from a paid order, paid out through `pay`; stock comes
//! back; no line is ever refunded beyond what was sold, across refunds and
//! under concurrency; a cancelled refund frees its quantities; a restricted
//! counter's cashier needs a manager's approval; nothing leaks across
//! unlinked counters.

use possync_testkit::*;
use serde_json::{Value, json};
use uuid::Uuid;

const PIN: &str = "4821";

fn refund_path(order_id: Uuid) -> String {
    format!("/api/v1/orders/{order_id}/refund")
}

async fn on_hand(shop: &Shop, product_id: i64) -> String {
    let (status, product) = shop
        .get(
            &format!("/api/v1/products/{product_id}"),
            &shop.manager_token,
        )
        .await;
    assert_eq!(status, 200, "{product}");
    product["on_hand"].as_str().unwrap().to_owned()
}

/// A paid sale at `counter`: 3 croissants (stock tracked) and 2 espressos,
/// paid by card. Answers (order id, croissant line, espresso line, total).
async fn paid_sale(shop: &Shop, counter: &mut Counter) -> (Uuid, Uuid, Uuid, i64) {
    let order_id = Uuid::now_v7();
    let croissants = Uuid::now_v7();
    let espressos = Uuid::now_v7();
    counter.ok(order_id, create(false)).await;
    counter
        .ok(order_id, add_line(croissants, shop.croissant, "3"))
        .await;
    counter
        .ok(order_id, add_line(espressos, shop.espresso, "2"))
        .await;
    let total = 3 * 180 + 2 * 220;
    counter
        .ok(
            order_id,
            json!({"kind": "pay", "payments": [{"method_id": shop.card, "amount": total}], "expected_total": total}),
        )
        .await;
    (order_id, croissants, espressos, total)
}

fn lines(pairs: &[(Uuid, &str)]) -> Value {
    pairs
        .iter()
        .map(|(line_id, qty)| json!({"line_id": line_id, "qty": qty}))
        .collect()
}

/// Asks for a refund with a new id; answers (status, body).
async fn refund(shop: &Shop, token: &str, order_id: Uuid, pairs: &[(Uuid, &str)]) -> (u16, Value) {
    shop.post(
        &refund_path(order_id),
        token,
        json!({"order_id": Uuid::now_v7(), "lines": lines(pairs)}),
    )
    .await
}

fn id_of(order: &Value) -> Uuid {
    order["id"].as_str().unwrap().parse().unwrap()
}

/// Pays a refund draft out in cash, exactly its (negative) total.
async fn pay_out(shop: &Shop, counter: &mut Counter, refund: &Value) {
    let total = refund["totals"]["total"].as_i64().unwrap();
    assert!(total < 0, "{refund}");
    counter
        .ok(
            id_of(refund),
            json!({"kind": "pay", "payments": [{"method_id": shop.cash, "amount": total}], "expected_total": total}),
        )
        .await;
}

#[tokio::test]
async fn a_refund_of_two_lines_restores_stock_and_a_second_refund_of_them_is_refused() {
    let shop = Shop::open().await;
    let mut counter = shop.counter(shop.counter_1).await;
    let (sale_id, croissants, espressos, total) = paid_sale(&shop, &mut counter).await;
    assert_eq!(on_hand(&shop, shop.croissant).await, "17");

    let (status, refund_order) = refund(
        &shop,
        &counter.token,
        sale_id,
        &[(croissants, "3"), (espressos, "2")],
    )
    .await;
    assert_eq!(status, 201, "{refund_order}");
    assert_eq!(refund_order["state"], "draft");
    assert_eq!(refund_order["refund_of"], json!(sale_id.to_string()));
    assert_eq!(refund_order["totals"]["total"], json!(-total));
    let refund_lines: Vec<(String, String, i64)> = refund_order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["id"].as_str().unwrap().to_owned(),
                line["qty"].as_str().unwrap().to_owned(),
                line["unit_price"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refund_lines,
        vec![
            (croissants.to_string(), "-3".to_owned(), 180),
            (espressos.to_string(), "-2".to_owned(), 220),
        ],
        "the refund keeps the sold lines' ids and prices, with negative quantities"
    );
    // The counter that made it sees it like any new draft of its own.
    let refund_id = id_of(&refund_order);
    counter
        .expect_where(|message| {
            message["type"] == "order" && message["order"]["id"] == json!(refund_id.to_string())
        })
        .await;

    pay_out(&shop, &mut counter, &refund_order).await;
    assert_eq!(
        on_hand(&shop, shop.croissant).await,
        "20",
        "the refund brought the croissants back"
    );
    let paid = shop.server_order(refund_id).await;
    assert_eq!(paid["state"], "paid", "{paid}");
    assert_eq!(paid["refund_of"], json!(sale_id.to_string()));

    // A second refund of the same lines: nothing is left to refund.
    let before = shop.snapshot().await;
    let (status, refused) = refund(
        &shop,
        &counter.token,
        sale_id,
        &[(croissants, "3"), (espressos, "2")],
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
    assert_eq!(
        shop.snapshot().await,
        before,
        "a refused refund changes nothing"
    );

    // The session's report shows the sale by card and the payout in cash.
    let session_id = counter.welcome["session"]["id"].as_i64().unwrap();
    let (status, report) = shop
        .get(
            &format!("/api/v1/sessions/{session_id}/report"),
            &shop.manager_token,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["orders_paid"], 2, "{report}");
    assert_eq!(report["sales_total"], 0, "net of the refund: {report}");
    assert_eq!(report["cash"]["payments"], json!(-total), "{report}");
    assert_eq!(report["cash"]["net"], json!(-total), "{report}");
    let cash_total = report["payments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|payment| payment["method_id"] == json!(shop.cash))
        .unwrap()["amount"]
        .clone();
    assert_eq!(cash_total, json!(-total), "{report}");
}

#[tokio::test]
async fn partial_refunds_add_up_to_what_was_sold_and_a_cancelled_refund_frees_its_quantities() {
    let shop = Shop::open().await;
    let mut counter = shop.counter(shop.counter_1).await;
    let (sale_id, croissants, espressos, _) = paid_sale(&shop, &mut counter).await;

    let (status, first) = refund(&shop, &counter.token, sale_id, &[(croissants, "1")]).await;
    assert_eq!(status, 201, "{first}");
    pay_out(&shop, &mut counter, &first).await;
    let (status, second) = refund(&shop, &counter.token, sale_id, &[(croissants, "1.5")]).await;
    assert_eq!(status, 201, "{second}");
    // The second is still a draft: it counts all the same.
    let (status, refused) = refund(&shop, &counter.token, sale_id, &[(croissants, "0.501")]).await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (400, json!("invalid")),
        "{refused}"
    );
    let (status, third) = refund(&shop, &counter.token, sale_id, &[(croissants, "0.5")]).await;
    assert_eq!(status, 201, "{third}");
    let (status, refused) = refund(&shop, &counter.token, sale_id, &[(croissants, "0.001")]).await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (400, json!("invalid")),
        "all 3 croissants are refunded: {refused}"
    );
    // The espressos are a line of their own.
    let (status, espresso_refund) =
        refund(&shop, &counter.token, sale_id, &[(espressos, "2")]).await;
    assert_eq!(status, 201, "{espresso_refund}");

    // Cancelling the unpaid 1.5 frees it.
    counter.ok(id_of(&second), json!({"kind": "cancel"})).await;
    let (status, refused) = refund(&shop, &counter.token, sale_id, &[(croissants, "1.501")]).await;
    assert_eq!(status, 400, "{refused}");
    let (status, again) = refund(&shop, &counter.token, sale_id, &[(croissants, "1.5")]).await;
    assert_eq!(status, 201, "{again}");
}

#[tokio::test]
async fn concurrent_refunds_of_the_same_line_accept_exactly_one() {
    let shop = Shop::open().await;
    let mut counter = shop.counter(shop.counter_1).await;
    let (sale_id, croissants, _, _) = paid_sale(&shop, &mut counter).await;
    // Ten requests at once for every croissant sold, from the session that sold them.
    let full = [(croissants, "3")];
    let requests = (0..10).map(|_| refund(&shop, &counter.token, sale_id, &full));
    let answers = futures_util::future::join_all(requests).await;
    let accepted = answers.iter().filter(|(status, _)| *status == 201).count();
    let refused = answers
        .iter()
        .filter(|(status, body)| *status == 400 && body["error"]["code"] == "invalid")
        .count();
    assert_eq!((accepted, refused), (1, 9), "{answers:?}");
    let (status, orders) = shop.get("/api/v1/orders?state=draft", &counter.token).await;
    assert_eq!(status, 200);
    let refunds = orders
        .as_array()
        .unwrap()
        .iter()
        .filter(|order| order["refund_of"] == json!(sale_id.to_string()))
        .count();
    assert_eq!(refunds, 1, "{orders}");
}

#[tokio::test]
async fn a_restricted_counters_cashier_refunds_only_with_a_managers_approval() {
    let shop = Shop::open().await;
    let manager_id = shop.manager_with_pin(PIN).await;
    let mut counter = shop.counter(shop.counter_1).await;
    let (sale_id, croissants, espressos, _) = paid_sale(&shop, &mut counter).await;
    shop.restrict(shop.counter_1, true).await;

    let order_id = Uuid::now_v7();
    let body = |approval: Value| json!({"order_id": order_id, "lines": lines(&[(croissants, "1")]), "approval": approval});
    let before = shop.snapshot().await;
    let (status, refused) = shop
        .post(&refund_path(sale_id), &counter.token, body(Value::Null))
        .await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (403, json!("forbidden")),
        "{refused}"
    );
    let (status, refused) = shop
        .post(
            &refund_path(sale_id),
            &counter.token,
            body(json!({"user_id": manager_id, "pin": "0000"})),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (403, json!("forbidden")),
        "a wrong PIN: {refused}"
    );
    assert!(!refused.to_string().contains("0000"), "{refused}");
    assert_eq!(shop.snapshot().await, before, "refusals change nothing");

    // The same refund (same id) with the manager's PIN.
    let (status, approved) = shop
        .post(
            &refund_path(sale_id),
            &counter.token,
            body(json!({"user_id": manager_id, "pin": PIN})),
        )
        .await;
    assert_eq!(status, 201, "{approved}");
    let (status, history) = shop
        .get(
            &format!("/api/v1/orders/{order_id}/history"),
            &shop.manager_token,
        )
        .await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history[0]["op"]["kind"], "refund", "{history}");
    assert_eq!(history[0]["op"]["refund_of"], json!(sale_id.to_string()));
    assert_eq!(history[0]["approved_by"], json!(manager_id), "{history}");
    assert!(!history.to_string().contains(PIN), "{history}");

    // A manager's own session of the restricted counter needs no approval.
    let (_, manager_terminal) = shop
        .open_session_as(&shop.manager_token, shop.counter_1)
        .await;
    let (status, by_manager) = refund(&shop, &manager_terminal, sale_id, &[(espressos, "1")]).await;
    assert_eq!(status, 201, "{by_manager}");
}

#[tokio::test]
async fn refunds_of_what_a_session_may_not_refund_are_refused_without_leaking() {
    let shop = Shop::open().await;
    let mut counter = shop.counter(shop.counter_1).await;
    let (sale_id, croissants, _, _) = paid_sale(&shop, &mut counter).await;
    let bar = shop.terminal_token(shop.bar).await;

    // An unlinked counter's paid order, a draft, a missing order: one answer.
    let draft_id = Uuid::now_v7();
    let draft_line = Uuid::now_v7();
    counter.ok(draft_id, create(false)).await;
    counter
        .ok(draft_id, add_line(draft_line, shop.espresso, "1"))
        .await;
    let not_found = [
        refund(&shop, &bar, sale_id, &[(croissants, "1")]).await,
        refund(&shop, &counter.token, draft_id, &[(draft_line, "1")]).await,
        refund(&shop, &counter.token, Uuid::now_v7(), &[(croissants, "1")]).await,
    ];
    for (status, body) in &not_found {
        assert_eq!(*status, 404, "{body}");
        assert_eq!(body, &not_found[2].1, "the same answer as a missing order");
    }

    let cases = [
        ("a line not in the order", vec![(draft_line, "1")]),
        ("a zero quantity", vec![(croissants, "0")]),
        ("a negative quantity", vec![(croissants, "-1")]),
        ("beyond what was sold", vec![(croissants, "3.001")]),
        ("a line twice", vec![(croissants, "1"), (croissants, "1")]),
        ("no line", vec![]),
    ];
    for (name, pairs) in cases {
        let (status, body) = refund(&shop, &counter.token, sale_id, &pairs).await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (400, json!("invalid")),
            "{name}: {body}"
        );
    }
    let (status, body) = shop
        .post(
            &refund_path(sale_id),
            &counter.token,
            json!({"order_id": Uuid::now_v7(), "lines": [{"line_id": croissants, "qty": "abc"}]}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!("invalid")),
        "{body}"
    );
    // A user token is not a terminal's.
    let (status, body) = refund(&shop, &shop.manager_token, sale_id, &[(croissants, "1")]).await;
    assert_eq!(status, 403, "{body}");

    // A refund's lines are fixed; its note, customer and payment are not.
    let refund_id = Uuid::now_v7();
    let (status, refund_order) = shop
        .post(
            &refund_path(sale_id),
            &counter.token,
            json!({"order_id": refund_id, "lines": lines(&[(croissants, "2")])}),
        )
        .await;
    assert_eq!(status, 201, "{refund_order}");
    for op in [
        json!({"kind": "add_line", "line_id": Uuid::now_v7(), "product_id": shop.espresso, "qty": "1"}),
        json!({"kind": "add_qty", "line_id": croissants, "delta": "-1"}),
        json!({"kind": "set_qty", "line_id": croissants, "qty": "-3"}),
        json!({"kind": "set_price", "line_id": croissants, "unit_price": 1000}),
        json!({"kind": "set_discount", "line_id": croissants, "discount": "50"}),
        json!({"kind": "remove_line", "line_id": croissants}),
    ] {
        let refused = counter.refused(refund_id, op, "invalid").await;
        assert!(
            refused["message"].as_str().unwrap().contains("fixed"),
            "{refused}"
        );
    }
    counter
        .ok(refund_id, json!({"kind": "set_note", "note": "wrong size"}))
        .await;
    counter
        .ok(
            refund_id,
            json!({"kind": "set_customer", "customer_id": shop.customer}),
        )
        .await;
    // The same refund asked again (same id) answers the same draft.
    let (status, again) = shop
        .post(
            &refund_path(sale_id),
            &counter.token,
            json!({"order_id": refund_id, "lines": lines(&[(croissants, "2")])}),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], json!(refund_id.to_string()));
    // A refund cannot be refunded.
    pay_out(&shop, &mut counter, &refund_order).await;
    let (status, body) = refund(&shop, &counter.token, refund_id, &[(croissants, "1")]).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!("invalid")),
        "{body}"
    );
    // A terminal cannot send the server's refund op itself.
    let forged = Uuid::now_v7();
    counter
        .refused(
            forged,
            json!({"kind": "refund", "refund_of": sale_id, "lines": []}),
            "invalid",
        )
        .await;
}

/// A refund's id is its idempotency key: the same lines under it answer the
/// same draft (200), other lines under it are another refund (409 `exists`),
/// and nothing new is made either way.
#[tokio::test]
async fn a_refund_id_asked_again_answers_its_draft_only_for_the_same_lines() {
    let shop = Shop::open().await;
    let mut counter = shop.counter(shop.counter_1).await;
    let (sale_id, croissants, espressos, _) = paid_sale(&shop, &mut counter).await;
    let refund_id = Uuid::now_v7();
    let path = refund_path(sale_id);
    let ask = |pairs: &[(Uuid, &str)]| {
        shop.post(
            &path,
            &counter.token,
            json!({"order_id": refund_id, "lines": lines(pairs)}),
        )
    };
    let (status, made) = ask(&[(croissants, "1")]).await;
    assert_eq!(status, 201, "{made}");
    let (status, again) = ask(&[(croissants, "1")]).await;
    assert_eq!((status, &again), (200, &made));
    for other in [
        vec![(croissants, "2")],
        vec![(espressos, "1")],
        vec![(croissants, "1"), (espressos, "1")],
    ] {
        let (status, refused) = ask(&other).await;
        assert_eq!(
            (status, refused["error"]["code"].clone()),
            (409, json!("exists")),
            "{other:?}: {refused}"
        );
    }
    assert_eq!(shop.server_order(refund_id).await["lines"], made["lines"]);
    // Two croissants are still refundable: the id reuse took none of them.
    let (status, rest) = refund(&shop, &counter.token, sale_id, &[(croissants, "2")]).await;
    assert_eq!(status, 201, "{rest}");
}

/// A line refunded a piece at a time pays back exactly what it took in, and
/// a sale is refunded at most `REFUNDS_PER_ORDER_MAX` times: each refund
/// request reads all of them, so more is refused (413 `too_large`).
#[tokio::test]
async fn refunds_in_pieces_pay_back_the_sale_exactly_and_are_bounded_in_number() {
    let shop = Shop::open().await;
    let mut counter = shop.counter(shop.counter_1).await;
    let order_id = Uuid::now_v7();
    let espressos = Uuid::now_v7();
    counter.ok(order_id, create(false)).await;
    counter
        .ok(order_id, add_line(espressos, shop.espresso, "0.3"))
        .await;
    // 0.3 × 2.20 = 0.66, refunded 0.003 at a time: each piece priced alone
    // would be 0.0066, rounded to 0.01, 1.00 in all for a 0.66 sale.
    let total = shop.server_order(order_id).await["totals"]["total"]
        .as_i64()
        .unwrap();
    assert_eq!(total, 66);
    counter
        .ok(
            order_id,
            json!({"kind": "pay", "payments": [{"method_id": shop.card, "amount": total}], "expected_total": total}),
        )
        .await;
    let max = possync_core::limits::REFUNDS_PER_ORDER_MAX;
    let mut back = 0;
    for n in 0..max {
        let (status, piece) =
            refund(&shop, &counter.token, order_id, &[(espressos, "0.003")]).await;
        assert_eq!(status, 201, "refund {n}: {piece}");
        back += piece["totals"]["total"].as_i64().unwrap();
        assert!(-back <= total, "refund {n} paid back {back} of {total}");
    }
    assert_eq!(
        back, -total,
        "every espresso is back, and exactly its price"
    );
    let (status, refused) = refund(&shop, &counter.token, order_id, &[(espressos, "0.001")]).await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (413, json!("too_large")),
        "{refused}"
    );
}
