//! The audit trail (issue 8, point 7): every manager action the issue names
//! (links, prices, users, approvals, session closes) and the rest of what a
//! manager changes through the API is one entry, with who, what and when, and
//! never a password, a PIN or a hash. Only managers read it, a page at a time.

use possync_core::Timestamp;
use possync_server::Clock;
use possync_testkit::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use uuid::Uuid;

const PIN: &str = "4821";
const LENA_PASSWORD: &str = "lena-first-password";
const LENA_NEW_PASSWORD: &str = "lena-second-password";

/// Strings that must appear nowhere in the trail: every secret the test sends,
/// and the prefix of every hash the server stores.
const SECRETS: [&str; 5] = [
    PIN,
    LENA_PASSWORD,
    LENA_NEW_PASSWORD,
    MANAGER_PASSWORD,
    "$argon2",
];

/// One entry the trail must hold: what was done, to what, by whom, when, and
/// the fields of `details` that name the change (the entry may hold more).
#[derive(Debug)]
struct Expected {
    action: &'static str,
    target: String,
    user_id: i64,
    at: Timestamp,
    details: Value,
}

/// Each `expected[i]` is the `i`-th entry of the trail, oldest first: the same
/// action, target, user and time, and details that hold the expected fields.
fn check(trail_newest_first: &[Value], expected: &[Expected]) {
    let trail: Vec<&Value> = trail_newest_first.iter().rev().collect();
    let row = |action: &str, target: &str, user_id: i64, at: Timestamp| {
        format!("{action:<16} {target:<44} by user {user_id} at {at}")
    };
    let actual_rows: Vec<String> = trail
        .iter()
        .map(|entry| {
            let at = entry["at"]
                .as_str()
                .and_then(Timestamp::parse_rfc3339)
                .unwrap_or_else(|| panic!("`at` is not an RFC 3339 time: {entry}"));
            row(
                entry["action"].as_str().unwrap(),
                entry["target"].as_str().unwrap(),
                entry["user_id"].as_i64().unwrap(),
                at,
            )
        })
        .collect();
    let expected_rows: Vec<String> = expected
        .iter()
        .map(|entry| row(entry.action, &entry.target, entry.user_id, entry.at))
        .collect();
    assert_eq!(
        actual_rows, expected_rows,
        "one entry per action, oldest first"
    );
    for (entry, expected) in trail.iter().zip(expected) {
        assert!(
            holds(&entry["details"], &expected.details),
            "{} {}: details {} do not hold {}",
            expected.action,
            expected.target,
            entry["details"],
            expected.details,
        );
    }
}

/// Whether `actual` holds every field of `wanted`, recursively for objects.
fn holds(actual: &Value, wanted: &Value) -> bool {
    match (actual, wanted) {
        (Value::Object(actual), Value::Object(wanted)) => wanted
            .iter()
            .all(|(key, wanted)| actual.get(key).is_some_and(|actual| holds(actual, wanted))),
        _ => actual == wanted,
    }
}

/// One page of the trail as the manager reads it, and its next link.
async fn audit_page(app: &TestApp, path: &str) -> (Vec<Value>, Option<String>) {
    let response = app
        .send_raw(
            Method::GET,
            path,
            &Auth::Bearer(app.manager_token.clone()),
            &Body::None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    let next = response.headers().get("link").map(|link| {
        let link = link.to_str().unwrap();
        assert!(link.ends_with("rel=\"next\""), "{link}");
        let url = link.trim_start_matches('<');
        url[..url.find('>').unwrap()].to_owned()
    });
    let items: Value = response.json().await.unwrap();
    (items.as_array().unwrap().clone(), next)
}

/// Asserts a request succeeded and answers its body.
fn ok(status: u16, wanted: u16, body: Value) -> Value {
    assert_eq!(status, wanted, "{body}");
    body
}

/// One op over HTTP with a till's token, asserting it was acknowledged.
async fn till_op(app: &TestApp, terminal_token: &str, order_id: Uuid, op: Value) -> Value {
    let (status, answer) = app
        .post(
            &format!("/api/v1/orders/{order_id}/ops"),
            terminal_token,
            json!({"op_id": Uuid::now_v7(), "op": op}),
        )
        .await;
    ok(status, 200, answer)
}

#[tokio::test]
async fn every_manager_action_is_one_entry_naming_who_what_and_when_and_no_secret() {
    let app = spawn_app().await;
    let manager = &app.manager_token;
    let manager_id = app.get("/api/v1/me", manager).await.1["user"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        audit_page(&app, "/api/v1/audit").await,
        (vec![], None),
        "the test users are made in the store, not by a manager"
    );

    // Each action happens one second after the one before, at the time
    // `tick` answers, so every entry's `at` is exact and distinct.
    let tick = || {
        app.clock.advance_millis(1_000);
        app.clock.now()
    };
    let mut expected = Vec::new();
    let mut expect = |action, target: String, at, details| {
        expected.push(Expected {
            action,
            target,
            user_id: manager_id,
            at,
            details,
        })
    };

    // Configs and their links.
    let at = tick();
    let (status, front) = app
        .post("/api/v1/configs", manager, json!({"name": "Front"}))
        .await;
    let front = ok(status, 201, front)["id"].as_i64().unwrap();
    expect(
        "config.create",
        format!("config {front}"),
        at,
        json!({"name": "Front", "sync_with": [], "restrict_price_control": false}),
    );
    let at = tick();
    let (status, back) = app
        .post("/api/v1/configs", manager, json!({"name": "Back"}))
        .await;
    let back = ok(status, 201, back)["id"].as_i64().unwrap();
    expect(
        "config.create",
        format!("config {back}"),
        at,
        json!({"name": "Back", "sync_with": []}),
    );
    let at = tick();
    let (status, body) = app
        .put(
            &format!("/api/v1/configs/{front}/sync_with"),
            manager,
            json!({"config_ids": [back]}),
        )
        .await;
    ok(status, 200, body);
    expect(
        "links.set",
        format!("config {front}"),
        at,
        json!({"before": [], "after": [back]}),
    );
    let at = tick();
    let (status, body) = app
        .patch(
            &format!("/api/v1/configs/{front}"),
            manager,
            json!({"restrict_price_control": true}),
        )
        .await;
    ok(status, 200, body);
    expect(
        "config.update",
        format!("config {front}"),
        at,
        json!({"before": {"name": "Front", "restrict_price_control": false}, "after": {"name": "Front", "restrict_price_control": true}}),
    );

    // A printer is named like any other field (192.0.2.0/24 is for documentation: nothing listens).
    let at = tick();
    let (status, body) = app
        .patch(
            &format!("/api/v1/configs/{back}"),
            manager,
            json!({"printer": "192.0.2.10:9100"}),
        )
        .await;
    ok(status, 200, body);
    expect(
        "config.update",
        format!("config {back}"),
        at,
        json!({"before": {"name": "Back", "printer": null}, "after": {"name": "Back", "printer": "192.0.2.10:9100"}}),
    );

    // A product, its price, its stock.
    let at = tick();
    let (status, product) = app
        .post(
            "/api/v1/products",
            manager,
            json!({"name": "Flat white", "price": 350, "tracks_stock": true, "on_hand": "10"}),
        )
        .await;
    let product = ok(status, 201, product)["id"].as_i64().unwrap();
    expect(
        "product.create",
        format!("product {product}"),
        at,
        json!({"id": product, "name": "Flat white", "price": 350, "tracks_stock": true}),
    );
    let at = tick();
    let (status, body) = app
        .patch(
            &format!("/api/v1/products/{product}"),
            manager,
            json!({"price": 380}),
        )
        .await;
    ok(status, 200, body);
    expect(
        "product.update",
        format!("product {product}"),
        at,
        json!({"before": {"name": "Flat white", "price": 350}, "after": {"name": "Flat white", "price": 380}}),
    );
    let at = tick();
    let (status, body) = app
        .post(
            &format!("/api/v1/products/{product}/stock_moves"),
            manager,
            json!({"reason": "delivery", "qty": "5", "note": "Morning delivery"}),
        )
        .await;
    let on_hand = ok(status, 201, body)["on_hand"].clone();
    expect(
        "stock.adjust",
        format!("product {product}"),
        at,
        json!({"reason": "delivery", "qty": "5", "note": "Morning delivery", "on_hand": on_hand}),
    );

    // A user and every kind of change to a user.
    let at = tick();
    let (status, lena) = app
        .post(
            "/api/v1/users",
            manager,
            json!({"login": "lena", "name": "Lena", "role": "cashier", "password": LENA_PASSWORD, "config_ids": [front]}),
        )
        .await;
    let lena = ok(status, 201, lena)["id"].as_i64().unwrap();
    expect(
        "user.create",
        format!("user {lena}"),
        at,
        json!({"login": "lena", "name": "Lena", "role": "cashier", "config_ids": [front], "has_pin": false}),
    );
    let at = tick();
    let (status, body) = app
        .patch(
            &format!("/api/v1/users/{lena}"),
            manager,
            json!({"config_ids": [front, back]}),
        )
        .await;
    ok(status, 200, body);
    expect(
        "user.update",
        format!("user {lena}"),
        at,
        json!({"before": {"config_ids": [front]}, "after": {"config_ids": [front, back]}, "password_changed": false, "pin_changed": false}),
    );
    let at = tick();
    let (status, body) = app
        .patch(
            &format!("/api/v1/users/{manager_id}"),
            manager,
            json!({"pin": PIN}),
        )
        .await;
    ok(status, 200, body);
    expect(
        "user.update",
        format!("user {manager_id}"),
        at,
        json!({"password_changed": false, "pin_changed": true, "has_pin": true}),
    );

    // At the restricted counter, Lena's discounts need the manager: once by
    // PIN, once by password. Opening a session and selling are not audited.
    let lena_token = app.login("lena", LENA_PASSWORD).await;
    let (session, terminal_token) = app.open_session_as(&lena_token, front).await;
    let order_id = Uuid::now_v7();
    let line_id = Uuid::now_v7();
    till_op(&app, &terminal_token, order_id, create(false)).await;
    till_op(
        &app,
        &terminal_token,
        order_id,
        add_line(line_id, product, "2"),
    )
    .await;
    for (discount, approval) in [
        ("10", json!({"user_id": manager_id, "pin": PIN})),
        (
            "15",
            json!({"user_id": manager_id, "password": MANAGER_PASSWORD}),
        ),
    ] {
        let at = tick();
        let ack = till_op(
            &app,
            &terminal_token,
            order_id,
            json!({"kind": "set_discount", "line_id": line_id, "discount": discount, "approval": approval}),
        )
        .await;
        expect(
            "op.approve",
            format!("order {order_id}"),
            at,
            json!({"kind": "set_discount", "version": ack["version"], "config_id": front, "session_id": session}),
        );
    }

    // The manager closes Lena's session.
    let at = tick();
    let (status, body) = app
        .post(
            &format!("/api/v1/sessions/{session}/close"),
            manager,
            json!({"counted_cash": 0}),
        )
        .await;
    ok(status, 200, body);
    expect(
        "session.close",
        format!("session {session}"),
        at,
        json!({"config_id": front, "counted_cash": 0}),
    );

    // Lena is promoted, given a new password, then let go.
    for (change, details) in [
        (
            json!({"role": "manager"}),
            json!({"before": {"role": "cashier"}, "after": {"role": "manager"}, "password_changed": false}),
        ),
        (
            json!({"password": LENA_NEW_PASSWORD}),
            json!({"before": {"role": "manager", "active": true}, "after": {"role": "manager", "active": true}, "password_changed": true, "pin_changed": false}),
        ),
        (
            json!({"active": false}),
            json!({"before": {"active": true}, "after": {"active": false}, "password_changed": false}),
        ),
    ] {
        let at = tick();
        let (status, body) = app
            .patch(&format!("/api/v1/users/{lena}"), manager, change)
            .await;
        ok(status, 200, body);
        expect("user.update", format!("user {lena}"), at, details);
    }

    let (trail, next) = audit_page(&app, "/api/v1/audit").await;
    assert_eq!(next, None, "the default page holds the whole trail");
    check(&trail, &expected);
    let everything = serde_json::to_string(&trail).unwrap();
    for secret in SECRETS {
        assert!(
            !everything.contains(secret),
            "{secret:?} is in the trail: {everything}"
        );
    }

    // Pages of two, newest first, follow the next links through every entry once.
    let mut paged = Vec::new();
    let mut n_pages = 0;
    let mut path = Some("/api/v1/audit?limit=2".to_owned());
    while let Some(page_path) = path {
        let (page, next) = audit_page(&app, &page_path).await;
        assert!(!page.is_empty() && page.len() <= 2, "{page_path}: {page:?}");
        paged.extend(page);
        n_pages += 1;
        assert!(n_pages <= trail.len(), "the next links never end");
        path = next;
    }
    assert_eq!(paged, trail, "every entry once, in the same order");
    assert_eq!(n_pages, trail.len().div_ceil(2));
    let ids: BTreeSet<i64> = paged
        .iter()
        .map(|entry| entry["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), trail.len(), "no entry twice");
}

#[tokio::test]
async fn the_trail_is_for_managers_only() {
    let app = spawn_app().await;
    let (status, refused) = app.get("/api/v1/audit", &app.cashier_token).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{refused}"
    );
    let (lena, lena_token) = app.add_user("lena", "cashier", &[]).await;
    let (status, _) = app.get("/api/v1/audit", &lena_token).await;
    assert_eq!(status, 403, "a cashier the manager just made");
    let (status, trail) = app.get("/api/v1/audit", &app.manager_token).await;
    assert_eq!(status, 200, "{trail}");
    assert_eq!(trail[0]["target"], json!(format!("user {lena}")));
}
