//! After payment (issue 12): receipts numbered per session and readable by the
//! origin and paying counters only, the shop's header, invoices as JSON and
//! PDF, cash moves and the session report's tax and cash figures.

use possync_testkit::*;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// A draft started at Counter 1 (2 espressos, 1 croissant, the customer),
/// shared, then paid at Counter 2 by card and cash with an invoice. Answers
/// the order id; the pay op is resent once (a duplicate).
async fn sell_across_counters(
    shop: &Shop,
    counter_1: &mut Counter,
    counter_2: &mut Counter,
) -> Uuid {
    let order = Uuid::now_v7();
    counter_1.ok(order, create(true)).await;
    counter_1
        .ok(order, add_line(Uuid::now_v7(), shop.espresso, "2"))
        .await;
    counter_1
        .ok(order, add_line(Uuid::now_v7(), shop.croissant, "1"))
        .await;
    counter_1
        .ok(
            order,
            json!({"kind": "set_customer", "customer_id": shop.customer}),
        )
        .await;
    counter_2
        .expect_where(|message| message["type"] == "change" && message["version"] == 4)
        .await;
    let pay = json!({"kind": "pay", "payments": [
        {"method_id": shop.card, "amount": 300},
        {"method_id": shop.cash, "amount": 500}
    ], "expected_total": 620, "invoice": true});
    let pay_id = Uuid::now_v7();
    let first = counter_2.op_with_id(pay_id, order, pay.clone()).await;
    assert_eq!(first["type"], "ack", "{first}");
    let again = counter_2.op_with_id(pay_id, order, pay).await;
    assert_eq!(again["duplicate"], true, "{again}");
    order
}

async fn get_text(app: &TestApp, path: &str, token: &str) -> (u16, String, String) {
    let response = app
        .send_raw(
            Method::GET,
            path,
            &Auth::Bearer(token.to_owned()),
            &Body::None,
        )
        .await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn a_sale_started_at_one_counter_and_paid_at_another_has_one_receipt_both_may_read() {
    let shop = Shop::open().await;
    let (status, header) = shop
        .patch(
            "/api/v1/shop",
            &shop.manager_token,
            json!({"name": "Café <Nube>", "address": "Calle Mayor 1\n28013 Madrid", "vat_number": "ESB12345678", "receipt_footer": "Gracias"}),
        )
        .await;
    assert_eq!(status, 200, "{header}");
    let (status, refused) = shop
        .patch("/api/v1/shop", &shop.cashier_token, json!({"name": "Mine"}))
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, refused) = shop
        .patch("/api/v1/shop", &shop.manager_token, json!({"name": ""}))
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("invalid"))
    );

    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let bar = shop.counter(shop.bar).await;
    let order = sell_across_counters(&shop, &mut counter_1, &mut counter_2).await;

    let receipt_path = format!("/api/v1/orders/{order}/receipt?format=json");
    let (status, receipt) = shop.get(&receipt_path, &counter_2.token).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["receipt_number"], "Counter 2/0001");
    assert_eq!(receipt["started_at"]["name"], "Counter 1");
    assert_eq!(receipt["paid_at"]["name"], "Counter 2");
    assert_eq!(receipt["shop"]["vat_number"], "ESB12345678");
    assert_eq!(receipt["customer_name"], "Ada Lovelace");
    assert_eq!(
        (receipt["total"].as_i64(), receipt["tax"].as_i64()),
        (Some(620), Some(56))
    );
    assert_eq!(receipt["change"], 180);
    assert_eq!(receipt["invoice"]["id"], 1);
    assert_eq!(receipt["taxes"].as_array().unwrap().len(), 1);
    assert_eq!(receipt["taxes"][0]["name"], "VAT 10%");
    assert_eq!(
        (
            receipt["taxes"][0]["base"].as_i64(),
            receipt["taxes"][0]["amount"].as_i64()
        ),
        (Some(564), Some(56))
    );
    let (status, same) = shop.get(&receipt_path, &counter_1.token).await;
    assert_eq!(
        (status, &same),
        (200, &receipt),
        "the origin counter reads the same receipt"
    );
    let (status, hidden) = shop.get(&receipt_path, &bar.token).await;
    assert_eq!(
        (status, hidden["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = shop.get(&receipt_path, &shop.cashier_token).await;
    assert_eq!(
        status, 403,
        "a cashier's login reads receipts through a till"
    );

    // The printable receipt: HTML by default, names escaped.
    let (status, content_type, html) = get_text(
        &shop,
        &format!("/api/v1/orders/{order}/receipt"),
        &counter_1.token,
    )
    .await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    for expected in [
        "Café &lt;Nube&gt;",
        "Calle Mayor 1<br>28013 Madrid",
        "VAT ESB12345678",
        "Receipt Counter 2/0001",
        "Started at Counter 1",
        "Paid at Counter 2",
        "VAT 10% on 5.64",
        "6.20",
        "Gracias",
    ] {
        assert!(html.contains(expected), "{expected} missing from {html}");
    }
    assert!(!html.contains("<Nube>"), "names are escaped");
    let (status, _, _) = get_text(
        &shop,
        &format!("/api/v1/orders/{order}/receipt"),
        &bar.token,
    )
    .await;
    assert_eq!(status, 404);
    let (status, bad) = shop
        .get(
            &format!("/api/v1/orders/{order}/receipt?format=xml"),
            &counter_1.token,
        )
        .await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("invalid"))
    );

    // The next payment at Counter 2 takes the next number; a draft has no receipt.
    let second = Uuid::now_v7();
    counter_2.ok(second, create(false)).await;
    counter_2
        .ok(second, add_line(Uuid::now_v7(), shop.espresso, "1"))
        .await;
    let (status, _) = shop
        .get(
            &format!("/api/v1/orders/{second}/receipt?format=json"),
            &counter_2.token,
        )
        .await;
    assert_eq!(status, 404, "a draft has no receipt");
    counter_2
        .ok(second, json!({"kind": "pay", "payments": [{"method_id": shop.cash, "amount": 220}], "expected_total": 220}))
        .await;
    let (_, receipt) = shop
        .get(
            &format!("/api/v1/orders/{second}/receipt?format=json"),
            &counter_2.token,
        )
        .await;
    assert_eq!(receipt["receipt_number"], "Counter 2/0002");

    // The resent pay moved the croissant's stock once.
    let moves = shop
        .store
        .list_stock_moves(possync_core::ProductId(shop.croissant))
        .await
        .unwrap();
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0].qty.to_string(), "-1");

    // Counter 2's report: both sales, tax per rate, both methods, net cash.
    let session_2 = counter_2.welcome["session"]["id"].as_i64().unwrap();
    let (status, report) = shop
        .get(
            &format!("/api/v1/sessions/{session_2}/report"),
            &shop.manager_token,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["orders_paid"], 2);
    assert_eq!(report["sales_total"], 840);
    assert_eq!(report["taxes"][0]["amount"], report["tax_total"]);
    assert_eq!(report["taxes"][0]["amount"], 76);
    let by_method: Vec<(i64, i64)> = report["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|total| {
            (
                total["method_id"].as_i64().unwrap(),
                total["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut expected = vec![(shop.cash, 720), (shop.card, 300)];
    expected.sort();
    assert_eq!(by_method, expected);
    assert_eq!(report["cash"]["payments"], 720);
    assert_eq!(report["cash"]["change_given"], 180);
    assert_eq!(report["cash"]["net"], 540);
    let session_1 = counter_1.welcome["session"]["id"].as_i64().unwrap();
    let (_, report_1) = shop
        .get(
            &format!("/api/v1/sessions/{session_1}/report"),
            &shop.manager_token,
        )
        .await;
    assert_eq!(
        report_1["orders_paid"], 0,
        "the paying session books the sale"
    );
}

#[tokio::test]
async fn an_invoice_has_a_number_json_and_a_pdf_with_the_orders_amounts() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let bar = shop.counter(shop.bar).await;
    let order = sell_across_counters(&shop, &mut counter_1, &mut counter_2).await;

    let response = shop
        .send_raw(
            Method::GET,
            "/api/v1/invoices?limit=1",
            &Auth::Bearer(shop.manager_token.clone()),
            &Body::None,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("link").is_none(),
        "one invoice: no next page"
    );
    let list: Value = response.json().await.unwrap();
    let year = &list[0]["at"].as_str().unwrap()[..4];
    let number = format!("INV/{year}/00001");
    assert_eq!(list[0]["number"], number.as_str());
    assert_eq!(list[0]["order_id"], order.to_string());
    let id = list[0]["id"].as_i64().unwrap();
    let (status, _) = shop.get("/api/v1/invoices", &counter_1.token).await;
    assert_eq!(status, 403, "the list is the back office's");
    let (status, _) = shop
        .get("/api/v1/invoices?limit=0", &shop.manager_token)
        .await;
    assert_eq!(status, 400);

    let (status, invoice) = shop
        .get(&format!("/api/v1/invoices/{id}"), &counter_1.token)
        .await;
    assert_eq!(status, 200, "{invoice}");
    let server_order = shop.server_order(order).await;
    assert_eq!(invoice["number"], number.as_str());
    assert_eq!(invoice["customer"]["name"], "Ada Lovelace");
    assert_eq!(invoice["total"], server_order["totals"]["total"]);
    assert_eq!(invoice["tax"], server_order["totals"]["tax"]);
    assert_eq!(invoice["subtotal"], server_order["totals"]["subtotal"]);
    let line_totals: Vec<&Value> = invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| &line["total"])
        .collect();
    let order_totals: Vec<&Value> = server_order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| &line["total"])
        .collect();
    assert_eq!(line_totals, order_totals);
    let (status, _) = shop
        .get(&format!("/api/v1/invoices/{id}"), &bar.token)
        .await;
    assert_eq!(status, 404, "the Bar cannot read it");
    let (status, _) = shop.get("/api/v1/invoices/999", &shop.manager_token).await;
    assert_eq!(status, 404);
    let (status, _) = shop.get("/api/v1/invoices/abc", &shop.manager_token).await;
    assert_eq!(status, 400);

    let response = shop
        .send_raw(
            Method::GET,
            &format!("/api/v1/invoices/{id}/pdf"),
            &Auth::Bearer(counter_2.token.clone()),
            &Body::None,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"), "a PDF document");
    match std::process::Command::new("pdftotext").arg("-v").output() {
        Ok(_) => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("invoice.pdf");
            std::fs::write(&path, &pdf).unwrap();
            let output = std::process::Command::new("pdftotext")
                .arg(&path)
                .arg("-")
                .output()
                .unwrap();
            assert!(output.status.success(), "{output:?}");
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(text.contains(&number), "{text}");
            assert!(text.contains("6.20"), "the total: {text}");
            assert!(text.contains("Ada Lovelace"), "{text}");
        }
        Err(_) => eprintln!("pdftotext is not installed: the PDF's text is not checked"),
    }
    let (status, _, _) = get_text(&shop, &format!("/api/v1/invoices/{id}/pdf"), &bar.token).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn cash_moves_are_recorded_during_the_session_and_reported() {
    let shop = Shop::open().await;
    let counter_1 = shop.counter(shop.counter_1).await;
    let bar = shop.counter(shop.bar).await;
    let session = counter_1.welcome["session"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/sessions/{session}/cash_moves");
    let (status, moved) = shop
        .post(
            &path,
            &counter_1.token,
            json!({"amount": 2000, "reason": "Float"}),
        )
        .await;
    assert_eq!(status, 201, "{moved}");
    assert_eq!(moved["amount"], 2000);
    let (status, _) = shop
        .post(
            &path,
            &shop.manager_token,
            json!({"amount": -500, "reason": "Bank drop"}),
        )
        .await;
    assert_eq!(status, 201);
    for (token, body, expected) in [
        (
            &counter_1.token,
            json!({"amount": 0, "reason": "nothing"}),
            400,
        ),
        (&counter_1.token, json!({"amount": 100, "reason": " "}), 400),
        (
            &counter_1.token,
            json!({"amount": "100", "reason": "x"}),
            400,
        ),
        (&counter_1.token, json!({"amount": 100}), 400),
        (
            &bar.token,
            json!({"amount": 100, "reason": "not mine"}),
            403,
        ),
    ] {
        let (status, answer) = shop.post(&path, token, body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
    }
    let (status, _) = shop
        .post(
            "/api/v1/sessions/999999/cash_moves",
            &shop.manager_token,
            json!({"amount": 1, "reason": "x"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, report) = shop
        .post(
            &format!("/api/v1/sessions/{session}/close"),
            &shop.manager_token,
            json!({"counted_cash": 1400}),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["cash"]["moves"], 1500);
    assert_eq!(report["cash"]["expected"], 1500);
    assert_eq!(report["cash"]["difference"], -100);
    assert_eq!(report["cash_moves"][0]["reason"], "Float");
    assert_eq!(report["cash_moves"][1]["reason"], "Bank drop");
    let (status, closed) = shop
        .post(
            &path,
            &shop.manager_token,
            json!({"amount": 1, "reason": "late"}),
        )
        .await;
    assert_eq!(
        (status, closed["error"]["code"].as_str()),
        (409, Some("session_closed"))
    );
}
