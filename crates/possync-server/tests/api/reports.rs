//! The day's numbers (issue 12, point 6): `GET /reports/sales` sums the orders
//! paid in a period per hour, day, method, product and counter, net of refunds,
//! and attributes an order started at one counter and paid at another both ways.
//! The server's clock is the testkit's manual one: 2027-01-15 08:00 UTC.

use possync_testkit::*;
use serde_json::{Value, json};
use uuid::Uuid;

const HOUR_MS: i64 = 3_600_000;

/// Orders of the day: at 08:00 UTC a draft started at Counter 1 and paid at
/// Counter 2 (2 espressos and a croissant, 620: 300 card, 500 cash, 180 change);
/// at 10:00 an espresso at the Bar (220 cash) and a croissant brought back at
/// Counter 2 (−180 cash).
async fn the_day(shop: &Shop) {
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let mut bar = shop.counter(shop.bar).await;
    let across = Uuid::now_v7();
    counter_1.ok(across, create(true)).await;
    counter_1
        .ok(across, add_line(Uuid::now_v7(), shop.espresso, "2"))
        .await;
    counter_1
        .ok(across, add_line(Uuid::now_v7(), shop.croissant, "1"))
        .await;
    counter_2
        .expect_where(|message| message["type"] == "change" && message["version"] == 3)
        .await;
    counter_2
        .ok(
            across,
            json!({"kind": "pay", "payments": [{"method_id": shop.card, "amount": 300}, {"method_id": shop.cash, "amount": 500}], "expected_total": 620}),
        )
        .await;

    shop.clock.advance_millis(2 * HOUR_MS);
    let espresso = Uuid::now_v7();
    bar.ok(espresso, create(false)).await;
    bar.ok(espresso, add_line(Uuid::now_v7(), shop.espresso, "1"))
        .await;
    bar.ok(
        espresso,
        json!({"kind": "pay", "payments": [{"method_id": shop.cash, "amount": 220}], "expected_total": 220}),
    )
    .await;
    let returned = Uuid::now_v7();
    counter_2.ok(returned, create(false)).await;
    counter_2
        .ok(returned, add_line(Uuid::now_v7(), shop.croissant, "-1"))
        .await;
    counter_2
        .ok(
            returned,
            json!({"kind": "pay", "payments": [{"method_id": shop.cash, "amount": -180}], "expected_total": -180}),
        )
        .await;
    // A draft is not a sale.
    let open = Uuid::now_v7();
    bar.ok(open, create(false)).await;
    bar.ok(open, add_line(Uuid::now_v7(), shop.croissant, "3"))
        .await;
}

async fn sales(shop: &Shop, query: &str) -> Value {
    let (status, report) = shop
        .get(
            &format!("/api/v1/reports/sales{query}"),
            &shop.manager_token,
        )
        .await;
    assert_eq!(status, 200, "{query}: {report}");
    report
}

/// `(label, orders, total)` of each row.
fn rows(report: &Value) -> Vec<(String, u64, i64)> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["label"].as_str().unwrap().to_owned(),
                row["orders"].as_u64().unwrap(),
                row["total"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn row(label: &str, orders: u64, total: i64) -> (String, u64, i64) {
    (label.to_owned(), orders, total)
}

#[tokio::test]
async fn todays_sales_per_counter_method_product_and_hour() {
    let shop = Shop::open().await;
    the_day(&shop).await;

    // Per counter, both ways: Counter 1 started 620 it did not take; Counter 2
    // took 620 − 180 and started only the return.
    let per_counter = sales(&shop, "?group=config").await;
    assert_eq!(
        (
            &per_counter["orders"],
            &per_counter["total"],
            &per_counter["tax"]
        ),
        (&json!(3), &json!(660), &json!(60))
    );
    assert_eq!(per_counter["group"], "config");
    let by_label = |label: &str| {
        per_counter["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["label"] == label)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {label}: {per_counter}"))
    };
    assert_eq!(
        (
            &by_label("Counter 1")["started"],
            &by_label("Counter 1")["paid"]
        ),
        (
            &json!({"orders": 1, "total": 620}),
            &json!({"orders": 0, "total": 0})
        )
    );
    assert_eq!(
        (
            &by_label("Counter 2")["started"],
            &by_label("Counter 2")["paid"]
        ),
        (
            &json!({"orders": 1, "total": -180}),
            &json!({"orders": 2, "total": 440})
        )
    );
    assert_eq!(
        (&by_label("Bar")["started"], &by_label("Bar")["paid"]),
        (
            &json!({"orders": 1, "total": 220}),
            &json!({"orders": 1, "total": 220})
        )
    );

    // Per method: cash kept 500 − 180 change + 220 − 180 paid out.
    assert_eq!(
        rows(&sales(&shop, "?group=method").await),
        vec![row("Cash", 3, 360), row("Card", 1, 300)]
    );
    // Per product, net of the croissant brought back.
    let per_product = sales(&shop, "?group=product").await;
    assert_eq!(
        rows(&per_product),
        vec![row("Espresso", 2, 660), row("Croissant", 2, 0)]
    );
    assert_eq!(
        (
            &per_product["rows"][0]["qty"],
            &per_product["rows"][1]["qty"]
        ),
        (&json!("3"), &json!("0"))
    );

    // Per hour of a shop one hour ahead of UTC: 09:00 and 11:00 local.
    let per_hour = sales(&shop, "?group=hour&utc_offset_minutes=60").await;
    let hours = rows(&per_hour);
    assert_eq!(hours.len(), 24, "every hour of the day");
    assert_eq!(hours[0].0, "2027-01-15 00:00");
    let sold: Vec<_> = hours
        .into_iter()
        .filter(|(_, orders, _)| *orders > 0)
        .collect();
    assert_eq!(
        sold,
        vec![
            row("2027-01-15 09:00", 1, 620),
            row("2027-01-15 11:00", 2, 40)
        ]
    );
    assert_eq!(per_hour["from"], "2027-01-14T23:00:00Z");
    assert_eq!(per_hour["to"], "2027-01-15T23:00:00Z");

    // Per day over a chosen week (dates, local midnight to local midnight).
    let week = sales(&shop, "?group=day&from=2027-01-11&to=2027-01-17").await;
    assert_eq!(week["rows"].as_array().unwrap().len(), 7);
    assert_eq!(
        rows(&week)
            .into_iter()
            .filter(|(_, orders, _)| *orders > 0)
            .collect::<Vec<_>>(),
        vec![row("2027-01-15", 3, 660)]
    );
    // An RFC 3339 period that ends before the second hour of sales.
    let morning = sales(
        &shop,
        "?group=method&from=2027-01-15T00:00:00Z&to=2027-01-15T09:00:00Z",
    )
    .await;
    assert_eq!(
        (&morning["orders"], &morning["total"]),
        (&json!(1), &json!(620))
    );
    // Yesterday sold nothing.
    let yesterday = sales(&shop, "?from=2027-01-14&to=2027-01-14").await;
    assert_eq!(
        (&yesterday["orders"], &yesterday["total"]),
        (&json!(0), &json!(0))
    );
}

#[tokio::test]
async fn the_report_is_for_managers_and_bad_periods_are_refused_in_words() {
    let shop = Shop::open().await;
    let terminal = shop.terminal_token(shop.counter_1).await;
    for token in [&shop.cashier_token, &terminal] {
        let (status, refused) = shop.get("/api/v1/reports/sales", token).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (403, Some("forbidden"))
        );
    }
    let (status, _) = shop
        .send(
            reqwest::Method::GET,
            "/api/v1/reports/sales",
            &Auth::None,
            &Body::None,
        )
        .await;
    assert_eq!(status, 401);
    let long = "9".repeat(100);
    let refusals = [
        (
            "?group=week".to_owned(),
            "group: one of hour, day, method, product, config",
        ),
        ("?from=yesterday".to_owned(), "from: a date"),
        (format!("?from={long}"), "from: a date"),
        ("?from=2027-13-01&to=2027-13-02".to_owned(), "from: a date"),
        (
            "?from=2027-01-15&to=2027-01-14".to_owned(),
            "`to` must come after `from`",
        ),
        (
            "?from=2025-01-01&to=2027-01-01".to_owned(),
            "at most 366 days",
        ),
        (
            "?group=hour&from=2027-01-01&to=2027-02-15".to_owned(),
            "group per day instead",
        ),
        ("?utc_offset_minutes=900".to_owned(), "at most 14 hours"),
        // The smallest i32, whose absolute value does not exist (found by schemathesis).
        (
            "?utc_offset_minutes=-2147483648".to_owned(),
            "at most 14 hours",
        ),
        ("?utc_offset_minutes=noon".to_owned(), ""),
    ];
    for (query, says) in refusals {
        let (status, refused) = shop
            .get(
                &format!("/api/v1/reports/sales{query}"),
                &shop.manager_token,
            )
            .await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (400, Some("invalid")),
            "{query}: {refused}"
        );
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
    }
    // No sales at all: every figure is zero, today by default, per day.
    let empty = sales(&shop, "").await;
    assert_eq!(
        (
            &empty["group"],
            &empty["orders"],
            &empty["total"],
            &empty["from"]
        ),
        (
            &json!("day"),
            &json!(0),
            &json!(0),
            &json!("2027-01-15T00:00:00Z")
        )
    );
    assert_eq!(rows(&empty), vec![row("2027-01-15", 0, 0)]);
}
