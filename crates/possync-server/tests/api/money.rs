//! Money rights (issue 8, point 3; issue 11, point 5): `restrict_price_control`,
//! managers' PINs, approvals inside ops and their place in the history and the
//! audit trail, wrong PINs throttled, and a lock released early by a manager.

use possync_testkit::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

const PIN: &str = "4821";

/// A draft of `counter` with one espresso line; answers (order id, line id).
async fn draft_with_a_line(counter: &mut Counter, espresso: i64) -> (Uuid, Uuid) {
    let order_id = Uuid::now_v7();
    let line_id = Uuid::now_v7();
    counter.ok(order_id, create(false)).await;
    counter.ok(order_id, add_line(line_id, espresso, "1")).await;
    (order_id, line_id)
}

fn with_approval(mut op: Value, user_id: i64, pin: &str) -> Value {
    op["approval"] = json!({"user_id": user_id, "pin": pin});
    op
}

async fn order_history(shop: &Shop, order_id: Uuid) -> Vec<Value> {
    let (status, history) = shop
        .get(
            &format!("/api/v1/orders/{order_id}/history"),
            &shop.manager_token,
        )
        .await;
    assert_eq!(status, 200, "{history}");
    history.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_restricted_counter_refuses_a_cashiers_discount_until_a_manager_approves_it() {
    let shop = Shop::open().await;
    let manager_id = shop.manager_with_pin(PIN).await;
    shop.restrict(shop.counter_1, true).await;
    let mut cashier = shop.counter(shop.counter_1).await;
    let (order_id, line_id) = draft_with_a_line(&mut cashier, shop.espresso).await;

    let discount = json!({"kind": "set_discount", "line_id": line_id, "discount": "10"});
    let refused = cashier
        .refused(order_id, discount.clone(), "forbidden")
        .await;
    assert!(
        refused["message"].as_str().unwrap().contains("approval"),
        "{refused}"
    );
    for money_op in [
        json!({"kind": "set_price", "line_id": line_id, "unit_price": 100}),
        json!({"kind": "set_qty", "line_id": line_id, "qty": "-1"}),
        json!({"kind": "add_qty", "line_id": line_id, "delta": "-1"}),
        json!({"kind": "add_line", "line_id": Uuid::now_v7(), "product_id": shop.espresso, "qty": "1", "unit_price": 1}),
        json!({"kind": "add_line", "line_id": Uuid::now_v7(), "product_id": shop.espresso, "qty": "-1"}),
    ] {
        cashier.refused(order_id, money_op, "forbidden").await;
    }
    // Selling stays open to the cashier.
    cashier
        .ok(
            order_id,
            json!({"kind": "add_qty", "line_id": line_id, "delta": "2"}),
        )
        .await;

    // Resent with a new op id and the manager's approval: accepted.
    let version = cashier
        .ok(order_id, with_approval(discount, manager_id, PIN))
        .await;
    let order = shop.server_order(order_id).await;
    assert_eq!(order["lines"][0]["discount"], json!("10"), "{order}");

    let history = order_history(&shop, order_id).await;
    let approved = history
        .iter()
        .find(|entry| entry["version"] == json!(version))
        .unwrap();
    assert_eq!(approved["approved_by"], json!(manager_id), "{approved}");
    assert_eq!(approved["op"]["kind"], json!("set_discount"));
    assert!(
        history
            .iter()
            .filter(|entry| entry["version"] != json!(version))
            .all(|entry| entry.get("approved_by").is_none()),
        "only the approved op names an approver: {history:?}"
    );
    let everything = serde_json::to_string(&history).unwrap();
    assert!(!everything.contains(PIN), "the PIN is never stored");
    assert!(!everything.contains("approval"), "{everything}");

    // The audit trail has the approval, with the op it approved.
    let (status, audit) = shop.get("/api/v1/audit", &shop.manager_token).await;
    assert_eq!(status, 200, "{audit}");
    let approvals: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "op.approve")
        .collect();
    assert_eq!(approvals.len(), 1, "{audit}");
    assert_eq!(approvals[0]["user_id"], json!(manager_id));
    assert_eq!(approvals[0]["target"], json!(format!("order {order_id}")));
    assert_eq!(approvals[0]["details"]["kind"], json!("set_discount"));
    assert_eq!(approvals[0]["details"]["config_id"], json!(shop.counter_1));
    assert!(!audit.to_string().contains(PIN));

    // The same over HTTP (`POST /orders/{id}/ops`).
    let (status, answer) = shop
        .post(
            &format!("/api/v1/orders/{order_id}/ops"),
            &cashier.token,
            json!({"op_id": Uuid::now_v7(), "op": {"kind": "set_price", "line_id": line_id, "unit_price": 150}}),
        )
        .await;
    assert_eq!(
        (status, &answer["code"]),
        (403, &json!("forbidden")),
        "{answer}"
    );
    let (status, answer) = shop
        .post(
            &format!("/api/v1/orders/{order_id}/ops"),
            &cashier.token,
            json!({"op_id": Uuid::now_v7(), "op": with_approval(json!({"kind": "set_price", "line_id": line_id, "unit_price": 150}), manager_id, PIN)}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(!answer.to_string().contains(PIN));
    let last = order_history(&shop, order_id).await.pop().unwrap();
    assert_eq!(
        (&last["op"]["kind"], &last["approved_by"]),
        (&json!("set_price"), &json!(manager_id))
    );
}

#[tokio::test]
async fn a_wrong_pin_is_refused_changes_nothing_and_is_throttled_like_a_login() {
    let shop = Shop::open().await;
    let manager_id = shop.manager_with_pin(PIN).await;
    shop.restrict(shop.counter_1, true).await;
    let mut cashier = shop.counter(shop.counter_1).await;
    let (order_id, line_id) = draft_with_a_line(&mut cashier, shop.espresso).await;
    let discount = json!({"kind": "set_discount", "line_id": line_id, "discount": "50"});
    let version_before = shop.server_order(order_id).await["version"].clone();

    // A cashier with a PIN is no approver, and neither is a user that does not exist.
    let (cashier_id, _) = shop.add_user("bob", "cashier", &[shop.counter_1]).await;
    let (status, _) = shop
        .patch(
            &format!("/api/v1/users/{cashier_id}"),
            &shop.manager_token,
            json!({"pin": "1111"}),
        )
        .await;
    assert_eq!(status, 200);
    for (user_id, pin) in [(cashier_id, "1111"), (999_999, PIN), (manager_id, "0000")] {
        let refused = cashier
            .refused(
                order_id,
                with_approval(discount.clone(), user_id, pin),
                "forbidden",
            )
            .await;
        assert!(!refused.to_string().contains(pin), "{refused}");
    }
    // A PIN that is not 4 to 8 digits is not even checked.
    let refused = cashier
        .refused(
            order_id,
            with_approval(discount.clone(), manager_id, "12"),
            "invalid",
        )
        .await;
    assert!(
        !refused["message"].as_str().unwrap().contains("\"12\""),
        "{refused}"
    );
    assert_eq!(shop.server_order(order_id).await["version"], version_before);

    // Ten wrong PINs for the manager from this address (the login throttle's
    // limit per login and address), then even the right one waits.
    for _ in 0..9 {
        cashier
            .refused(
                order_id,
                with_approval(discount.clone(), manager_id, "9999"),
                "forbidden",
            )
            .await;
    }
    let throttled = cashier
        .refused(
            order_id,
            with_approval(discount.clone(), manager_id, PIN),
            "rate_limited",
        )
        .await;
    assert!(
        throttled["message"].as_str().unwrap().contains("try again"),
        "{throttled}"
    );
    assert_eq!(shop.server_order(order_id).await["version"], version_before);
    // PINs are counted apart from logins: the manager still logs in.
    shop.login(MANAGER_LOGIN, MANAGER_PASSWORD).await;

    // A minute later the right PIN works again. (The minute also ends this
    // terminal's heartbeats on the server's clock: the till reconnects.)
    shop.clock.advance_millis(61_000);
    cashier.close().await;
    let mut cashier = shop.counter(shop.counter_1).await;
    cashier
        .ok(order_id, with_approval(discount, manager_id, PIN))
        .await;
}

#[tokio::test]
async fn a_managers_own_terminal_needs_no_approval_and_unrestricted_counters_are_unchanged() {
    let shop = Shop::open().await;
    shop.restrict(shop.counter_1, true).await;
    // The cashier opened Counter 1's session; the manager joins it with a token of their own.
    let cashier = shop.counter(shop.counter_1).await;
    let (_, manager_token) = shop
        .open_session_as(&shop.manager_token, shop.counter_1)
        .await;
    let mut manager = Counter::connect(
        &shop.base_url,
        &manager_token,
        Uuid::now_v7(),
        BTreeMap::new(),
    )
    .await;
    let (order_id, line_id) = draft_with_a_line(&mut manager, shop.espresso).await;
    manager
        .ok(
            order_id,
            json!({"kind": "set_discount", "line_id": line_id, "discount": "100"}),
        )
        .await;
    manager
        .ok(
            order_id,
            json!({"kind": "set_qty", "line_id": line_id, "qty": "-2"}),
        )
        .await;
    assert!(
        order_history(&shop, order_id)
            .await
            .iter()
            .all(|entry| entry.get("approved_by").is_none())
    );
    cashier.close().await;

    // Counter 2 is not restricted: its cashier sets prices and discounts as before.
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let (order_id, line_id) = draft_with_a_line(&mut counter_2, shop.espresso).await;
    for op in [
        json!({"kind": "set_discount", "line_id": line_id, "discount": "15"}),
        json!({"kind": "set_price", "line_id": line_id, "unit_price": 1}),
        json!({"kind": "add_qty", "line_id": line_id, "delta": "-3"}),
    ] {
        counter_2.ok(order_id, op).await;
    }

    // Lifting the restriction gives the cashier their rights back.
    shop.restrict(shop.counter_1, false).await;
    let mut cashier = shop.counter(shop.counter_1).await;
    let (order_id, line_id) = draft_with_a_line(&mut cashier, shop.espresso).await;
    cashier
        .ok(
            order_id,
            json!({"kind": "set_discount", "line_id": line_id, "discount": "5"}),
        )
        .await;
}

#[tokio::test]
async fn a_manager_releases_a_vanished_terminals_lock_before_its_lease_ends() {
    let shop = Shop::open().await;
    let manager_id = shop.manager_with_pin(PIN).await;
    let mut holder = shop.counter(shop.counter_1).await;
    let (order_id, _) = draft_with_a_line(&mut holder, shop.espresso).await;
    holder.ok(order_id, json!({"kind": "begin_payment"})).await;
    holder.close().await;

    // Another terminal of the same counter: the lock holds for the lease.
    let mut other = shop.counter(shop.counter_1).await;
    let order = shop.server_order(order_id).await;
    assert!(order["lock"].is_object(), "{order}");
    other
        .refused(order_id, json!({"kind": "cancel_payment"}), "locked")
        .await;
    other
        .refused(
            order_id,
            with_approval(json!({"kind": "cancel_payment"}), manager_id, "0000"),
            "forbidden",
        )
        .await;
    // With the manager's approval the lock goes at once.
    let version = other
        .ok(
            order_id,
            with_approval(json!({"kind": "cancel_payment"}), manager_id, PIN),
        )
        .await;
    let order = shop.server_order(order_id).await;
    assert_eq!(order["lock"], Value::Null, "{order}");
    let released = order_history(&shop, order_id).await.pop().unwrap();
    assert_eq!(released["version"], json!(version));
    assert_eq!(released["op"]["kind"], json!("cancel_payment"));
    assert_eq!(released["approved_by"], json!(manager_id));
    // The order is this terminal's to pay now.
    other.ok(order_id, json!({"kind": "begin_payment"})).await;
}

#[tokio::test]
async fn pins_are_write_only_bounded_and_name_the_tills_approvers() {
    let shop = Shop::open().await;
    let me = shop.get("/api/v1/me", &shop.manager_token).await.1["user"].clone();
    let manager_id = me["id"].as_i64().unwrap();
    // Every active manager can approve (by password at least); the cashier is not named.
    let manager = json!({"id": manager_id, "name": me["name"], "has_pin": false});
    let (status, approvers) = shop.get("/api/v1/approvers", &shop.cashier_token).await;
    assert_eq!(
        (status, approvers),
        (200, json!([manager])),
        "a manager without a PIN approves by password"
    );

    for bad in [json!("123"), json!("123456789"), json!("12a4"), json!(1234)] {
        let before = shop.snapshot().await;
        let (status, body) = shop
            .patch(
                &format!("/api/v1/users/{manager_id}"),
                &shop.manager_token,
                json!({"pin": bad}),
            )
            .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!("invalid")),
            "{body}"
        );
        assert_eq!(shop.snapshot().await, before);
    }
    let (status, user) = shop
        .post(
            "/api/v1/users",
            &shop.manager_token,
            json!({"login": "mia", "name": "Mia", "role": "manager", "password": "mia-password", "pin": "24680"}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["has_pin"], json!(true));
    assert!(user.get("pin").is_none() && !user.to_string().contains("24680"));
    let mia = user["id"].as_i64().unwrap();

    // Every logged-in caller (a till's terminal token too) sees who can approve.
    let terminal = shop.terminal_token(shop.counter_1).await;
    let (status, approvers) = shop.get("/api/v1/approvers", &terminal).await;
    assert_eq!(status, 200);
    assert_eq!(
        approvers,
        json!([manager, {"id": mia, "name": "Mia", "has_pin": true}])
    );
    let (status, _) = shop.get("/api/v1/approvers", "").await;
    assert_eq!(status, 401);

    // `null` removes a PIN.
    let (status, user) = shop
        .patch(
            &format!("/api/v1/users/{mia}"),
            &shop.manager_token,
            json!({"pin": null}),
        )
        .await;
    assert_eq!((status, &user["has_pin"]), (200, &json!(false)), "{user}");
    let (_, approvers) = shop.get("/api/v1/approvers", &terminal).await;
    assert_eq!(
        approvers,
        json!([manager, {"id": mia, "name": "Mia", "has_pin": false}]),
        "still a manager, approving by password"
    );
    // A manager no longer active is not named.
    let (status, _) = shop
        .patch(
            &format!("/api/v1/users/{mia}"),
            &shop.manager_token,
            json!({"active": false}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, approvers) = shop.get("/api/v1/approvers", &terminal).await;
    assert_eq!(approvers, json!([manager]));
    let (_, users) = shop.get("/api/v1/users", &shop.manager_token).await;
    assert!(!users.to_string().contains("pin_hash"));
}

fn with_password(mut op: Value, user_id: i64, password: &str) -> Value {
    op["approval"] = json!({"user_id": user_id, "password": password});
    op
}

#[tokio::test]
async fn a_manager_approves_with_their_password_checked_and_throttled_as_a_login() {
    let shop = Shop::open().await;
    let manager_id = shop.get("/api/v1/me", &shop.manager_token).await.1["user"]["id"]
        .as_i64()
        .unwrap();
    shop.restrict(shop.counter_1, true).await;
    let mut cashier = shop.counter(shop.counter_1).await;
    let (order_id, line_id) = draft_with_a_line(&mut cashier, shop.espresso).await;
    let discount = json!({"kind": "set_discount", "line_id": line_id, "discount": "20"});
    let cashier_id = shop.get("/api/v1/me", &shop.cashier_token).await.1["user"]["id"]
        .as_i64()
        .unwrap();

    // A wrong password, a cashier's own password, a user that does not exist,
    // both a PIN and a password: refused, and no secret is echoed.
    for (approval, code) in [
        (
            json!({"user_id": manager_id, "password": "not-the-password"}),
            "forbidden",
        ),
        (
            json!({"user_id": cashier_id, "password": CASHIER_PASSWORD}),
            "forbidden",
        ),
        (
            json!({"user_id": 999_999, "password": MANAGER_PASSWORD}),
            "forbidden",
        ),
        (
            json!({"user_id": manager_id, "password": MANAGER_PASSWORD, "pin": "1234"}),
            "invalid",
        ),
    ] {
        let secret = approval["password"].as_str().unwrap().to_owned();
        let mut op = discount.clone();
        op["approval"] = approval;
        let refused = cashier.refused(order_id, op, code).await;
        assert!(!refused.to_string().contains(&secret), "{refused}");
    }

    // The manager's password approves (no PIN was ever set): the history names them.
    assert_eq!(
        shop.get(&format!("/api/v1/users/{manager_id}"), &shop.manager_token)
            .await
            .1["has_pin"],
        json!(false)
    );
    let version = cashier
        .ok(
            order_id,
            with_password(discount.clone(), manager_id, MANAGER_PASSWORD),
        )
        .await;
    let history = order_history(&shop, order_id).await;
    let approved = history
        .iter()
        .find(|entry| entry["version"] == json!(version))
        .unwrap();
    assert_eq!(approved["approved_by"], json!(manager_id), "{approved}");
    assert!(
        !serde_json::to_string(&history)
            .unwrap()
            .contains(MANAGER_PASSWORD),
        "{history:?}"
    );

    // Wrong passwords are failed logins of the manager from this address: after
    // the login throttle's ten, the manager's own login here waits too.
    for _ in 0..9 {
        cashier
            .refused(
                order_id,
                with_password(discount.clone(), manager_id, "guess"),
                "forbidden",
            )
            .await;
    }
    let throttled = cashier
        .refused(
            order_id,
            with_password(discount.clone(), manager_id, MANAGER_PASSWORD),
            "rate_limited",
        )
        .await;
    assert!(
        throttled["message"].as_str().unwrap().contains("try again"),
        "{throttled}"
    );
    // Over HTTP the same refusal is a 429 that says how long to wait.
    let response = shop
        .client
        .post(format!("{}/api/v1/orders/{order_id}/ops", shop.base_url))
        .bearer_auth(&cashier.token)
        .json(&json!({"op_id": Uuid::now_v7(), "op": with_password(discount.clone(), manager_id, MANAGER_PASSWORD)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    let (status, _) = shop
        .post(
            "/api/v1/login",
            "",
            json!({"login": MANAGER_LOGIN, "password": MANAGER_PASSWORD}),
        )
        .await;
    assert_eq!(status, 429, "the same count as logins");
}
