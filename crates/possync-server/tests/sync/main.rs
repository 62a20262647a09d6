//! Live sync over the wire: several WebSocket counters of linked and unlinked
//! configs against the real server and a real SQLite file, as a third-party
//! client written from shared/PROTOCOL.md would see it.

mod node_rules;
mod nodes;

use possync_core::Order;
use possync_engine::{NodeSettings, RateLimit};
use possync_server::ServerConfig;
use possync_server::sync::SyncSettings;
use possync_testkit::{Counter, Shop, add_line, create};
use serde_json::{Value, json};
use uuid::Uuid;

/// The counter's copy, built from messages only, equals the server's order.
async fn assert_converged(shop: &Shop, counter: &mut Counter, order_id: Uuid) {
    counter.barrier().await;
    let server: Order = serde_json::from_value(shop.server_order(order_id).await).unwrap();
    assert_eq!(
        counter.orders.get(&order_id),
        Some(&server),
        "counter copy differs from the server"
    );
}

#[tokio::test]
async fn a_private_draft_is_shared_by_manual_sync_and_edited_from_both_sides() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let mut bar = shop.counter(shop.bar).await;
    assert_eq!(counter_1.welcome["linked_configs"][0]["name"], "Counter 2");

    let order = Uuid::now_v7();
    assert_eq!(counter_1.ok(order, create(false)).await, 1);
    counter_1
        .ok(order, add_line(Uuid::now_v7(), shop.espresso, "2"))
        .await;
    let created = counter_1.expect_where(|m| m["type"] == "order").await;
    assert_eq!(created["order"]["id"], order.to_string());
    assert!(
        counter_2.received().await.is_empty(),
        "a private draft is not seen by a linked counter"
    );
    assert!(bar.received().await.is_empty());

    // Manual Sync.
    counter_1.ok(order, json!({"kind": "share"})).await;
    let appeared = counter_2.expect("order").await;
    assert_eq!(appeared["order"]["lines"][0]["qty"], "2");
    assert_eq!(appeared["order"]["shared"], true);
    assert!(
        bar.received().await.is_empty(),
        "an unlinked counter never sees it"
    );

    // Counter 2 adds a product and changes a quantity; Counter 1 sees both as patches.
    let line = Uuid::now_v7();
    counter_2
        .ok(order, add_line(line, shop.croissant, "1"))
        .await;
    counter_2
        .ok(
            order,
            json!({"kind": "set_qty", "line_id": line, "qty": "3"}),
        )
        .await;
    counter_1
        .ok(order, json!({"kind": "set_note", "note": "table 4"}))
        .await;
    counter_1
        .ok(
            order,
            json!({"kind": "set_customer", "customer_id": shop.customer}),
        )
        .await;
    counter_2
        .ok(
            order,
            json!({"kind": "set_discount", "line_id": line, "discount": "10"}),
        )
        .await;
    assert_converged(&shop, &mut counter_1, order).await;
    assert_converged(&shop, &mut counter_2, order).await;
    let copy = &counter_1.orders[&order];
    assert_eq!(copy.lines.len(), 2);
    assert_eq!(copy.note.as_str(), "table 4");
    // 2 × 2.20 + 3 × 1.80 − 10% = 4.40 + 4.86
    assert_eq!(copy.totals.total.minor(), 926);

    // The bar can neither read nor edit it, and learns nothing.
    bar.refused(
        order,
        json!({"kind": "set_note", "note": "mine"}),
        "not_found",
    )
    .await;
    let (status, _) = shop
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/orders/{order}"),
            &bar.token,
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Unsharing takes it away from Counter 2 again.
    counter_1.ok(order, json!({"kind": "unshare"})).await;
    let removed = counter_2.expect("removed").await;
    assert_eq!(removed["reason"], "unshared");
    counter_2
        .refused(order, json!({"kind": "set_note", "note": "x"}), "not_found")
        .await;
}

#[tokio::test]
async fn auto_share_configs_share_new_drafts_at_once() {
    let shop = Shop::open().await;
    let (status, _) = shop
        .request(
            reqwest::Method::PATCH,
            &format!("/api/v1/configs/{}", shop.counter_1),
            &shop.manager_token,
            Some(json!({"auto_share": true})),
        )
        .await;
    assert_eq!(status, 200);
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    counter_1.ok(order, create(false)).await;
    let appeared = counter_2.expect("order").await;
    assert_eq!(appeared["order"]["shared"], true);
}

#[tokio::test]
async fn concurrent_edits_from_two_counters_converge() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    counter_1.ok(order, create(true)).await;
    let line = Uuid::now_v7();
    counter_1
        .ok(order, add_line(line, shop.espresso, "1"))
        .await;
    counter_2.expect("order").await;

    // Both send add_qty without waiting for each other: every add counts.
    let op = |delta: &str| json!({"type": "op", "op_id": Uuid::now_v7(), "order_id": order, "op": {"kind": "add_qty", "line_id": line, "delta": delta}});
    for _ in 0..5 {
        counter_1.send(op("1")).await;
        counter_2.send(op("2")).await;
    }
    for _ in 0..5 {
        counter_1.expect("ack").await;
        counter_2.expect("ack").await;
    }
    assert_converged(&shop, &mut counter_1, order).await;
    assert_converged(&shop, &mut counter_2, order).await;
    assert_eq!(counter_1.orders[&order].lines[0].qty, "16".parse().unwrap());

    // set_qty race: the last one sequenced wins, and both end with the same value.
    counter_1
        .send(json!({"type": "op", "op_id": Uuid::now_v7(), "order_id": order, "op": {"kind": "set_qty", "line_id": line, "qty": "4"}}))
        .await;
    counter_2
        .send(json!({"type": "op", "op_id": Uuid::now_v7(), "order_id": order, "op": {"kind": "set_qty", "line_id": line, "qty": "7"}}))
        .await;
    counter_1.expect("ack").await;
    counter_2.expect("ack").await;
    assert_converged(&shop, &mut counter_1, order).await;
    assert_converged(&shop, &mut counter_2, order).await;
    let qty = counter_1.orders[&order].lines[0].qty;
    assert!(qty == "4".parse().unwrap() || qty == "7".parse().unwrap());
    assert_eq!(counter_2.orders[&order].lines[0].qty, qty);

    // An edit of a line the other counter removed.
    counter_2
        .ok(order, json!({"kind": "remove_line", "line_id": line}))
        .await;
    let reject = counter_1
        .refused(
            order,
            json!({"kind": "add_qty", "line_id": line, "delta": "1"}),
            "line_removed",
        )
        .await;
    assert!(
        reject["order"]["lines"].as_array().unwrap().is_empty(),
        "the reject carries the current order"
    );
    counter_1
        .refused(
            order,
            json!({"kind": "set_qty", "line_id": Uuid::now_v7(), "qty": "1"}),
            "unknown_line",
        )
        .await;
}

#[tokio::test]
async fn a_payment_lock_blocks_the_other_counter_until_its_lease_ends() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    counter_1.ok(order, create(true)).await;
    let line = Uuid::now_v7();
    counter_1
        .ok(order, add_line(line, shop.espresso, "1"))
        .await;
    counter_1.ok(order, json!({"kind": "begin_payment"})).await;
    let locked = counter_2
        .refused(
            order,
            json!({"kind": "add_qty", "line_id": line, "delta": "1"}),
            "locked",
        )
        .await;
    assert!(
        locked["message"].as_str().unwrap().contains("Counter 1"),
        "{locked}"
    );
    assert_eq!(locked["order"]["lock"]["config_name"], "Counter 1");
    counter_2.refused(order, json!({"kind": "pay", "payments": [{"method_id": shop.card, "amount": 220}], "expected_total": 220}), "locked").await;
    // The holder still edits.
    counter_1
        .ok(order, json!({"kind": "set_note", "note": "paying"}))
        .await;
    // The holder vanishes; after the lease the other counter gets in.
    counter_1.close().await;
    shop.clock.advance_millis(60_001);
    counter_2
        .ok(
            order,
            json!({"kind": "add_qty", "line_id": line, "delta": "1"}),
        )
        .await;
    assert_converged(&shop, &mut counter_2, order).await;
    assert_eq!(counter_2.orders[&order].lock, None);
}

#[tokio::test]
async fn two_counters_paying_at_once_pay_exactly_once() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let mut other_tab = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    counter_1.ok(order, create(true)).await;
    counter_1
        .ok(order, add_line(Uuid::now_v7(), shop.croissant, "2"))
        .await;
    counter_2.expect("order").await;
    let pay = |method: i64, amount: i64| {
        json!({"type": "op", "op_id": Uuid::now_v7(), "order_id": order,
               "op": {"kind": "pay", "payments": [{"method_id": method, "amount": amount}], "expected_total": 360}})
    };
    counter_1.send(pay(shop.cash, 500)).await;
    counter_2.send(pay(shop.card, 360)).await;
    let first = counter_1
        .expect_where(|m| m["type"] == "ack" || m["type"] == "reject")
        .await;
    let second = counter_2
        .expect_where(|m| m["type"] == "ack" || m["type"] == "reject")
        .await;
    let answers = [
        first["type"].as_str().unwrap(),
        second["type"].as_str().unwrap(),
    ];
    assert_eq!(
        answers.iter().filter(|kind| **kind == "ack").count(),
        1,
        "{first} {second}"
    );
    let loser = if first["type"] == "reject" {
        &first
    } else {
        &second
    };
    assert_eq!(loser["code"], "paid", "{loser}");
    // Every counter that saw it is told it left, paid.
    for counter in [&mut counter_1, &mut counter_2, &mut other_tab] {
        let removed = counter.expect("removed").await;
        assert_eq!(removed["reason"], "paid");
        assert!(counter.orders.is_empty());
    }
    // No edit after pay.
    counter_1
        .refused(order, json!({"kind": "set_note", "note": "late"}), "paid")
        .await;
    // The paid order follows the normal flow: payments, stock, session report.
    let paid = shop.server_order(order).await;
    assert_eq!(paid["state"], "paid");
    let (_, products) = shop
        .request(
            reqwest::Method::GET,
            "/api/v1/products",
            &shop.manager_token,
            None,
        )
        .await;
    let croissant = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == shop.croissant)
        .unwrap();
    assert_eq!(croissant["on_hand"], "18");
}

#[tokio::test]
async fn cancelled_drafts_leave_every_counter() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    counter_1.ok(order, create(true)).await;
    counter_2.expect("order").await;
    counter_2
        .ok(order, json!({"kind": "cancel", "reason": "customer left"}))
        .await;
    for counter in [&mut counter_1, &mut counter_2] {
        let removed = counter.expect("removed").await;
        assert_eq!(removed["reason"], "cancelled");
    }
    counter_1
        .refused(order, json!({"kind": "share"}), "cancelled")
        .await;
}

#[tokio::test]
async fn a_reconnecting_counter_catches_up_exactly() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let kept = Uuid::now_v7();
    let edited = Uuid::now_v7();
    let paid = Uuid::now_v7();
    for order in [kept, edited, paid] {
        counter_1.ok(order, create(true)).await;
        counter_1
            .ok(order, add_line(Uuid::now_v7(), shop.espresso, "1"))
            .await;
    }
    assert_converged(&shop, &mut counter_2, kept).await;
    let known = counter_2.known();
    assert_eq!(known.len(), 3);
    let token = counter_2.token.clone();
    let terminal = counter_2.terminal;
    counter_2.close().await;

    // While Counter 2 is away: one order edited, one paid, one new.
    counter_1
        .ok(edited, json!({"kind": "set_note", "note": "while away"}))
        .await;
    counter_1
        .ok(paid, json!({"kind": "pay", "payments": [{"method_id": shop.card, "amount": 220}], "expected_total": 220}))
        .await;
    let new = Uuid::now_v7();
    counter_1.ok(new, create(true)).await;

    let mut counter_2 = Counter::connect(&shop.base_url, &token, terminal, known).await;
    let caught_up: Vec<Value> = counter_2.inbox.drain(..).collect();
    let mut orders: Vec<String> = caught_up
        .iter()
        .filter(|m| m["type"] == "order")
        .map(|m| m["order"]["id"].as_str().unwrap().to_owned())
        .collect();
    orders.sort();
    let mut expected = vec![edited.to_string(), new.to_string()];
    expected.sort();
    assert_eq!(
        orders, expected,
        "only what changed is sent again: {caught_up:?}"
    );
    let removed: Vec<&Value> = caught_up
        .iter()
        .filter(|m| m["type"] == "removed")
        .collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["order_id"], paid.to_string());
    assert_eq!(removed[0]["reason"], "paid");
    // The kept order was not resent: the counter's copy was already current.
    assert!(!counter_2.orders.contains_key(&kept), "kept was not resent");
    // A resync asks for it whole.
    counter_2
        .send(json!({"type": "resync", "order_ids": [kept]}))
        .await;
    counter_2.expect("order").await;
    assert_converged(&shop, &mut counter_2, kept).await;
}

#[tokio::test]
async fn a_resent_op_of_every_kind_is_a_duplicate_not_a_second_effect() {
    let mut shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let order = Uuid::now_v7();
    let line = Uuid::now_v7();
    let ops = vec![
        create(false),
        json!({"kind": "share"}),
        add_line(line, shop.espresso, "1"),
        json!({"kind": "add_qty", "line_id": line, "delta": "1"}),
        json!({"kind": "set_qty", "line_id": line, "qty": "3"}),
        json!({"kind": "set_price", "line_id": line, "unit_price": 250}),
        json!({"kind": "set_discount", "line_id": line, "discount": "5"}),
        json!({"kind": "set_line_note", "line_id": line, "note": "no sugar"}),
        json!({"kind": "set_customer", "customer_id": shop.customer}),
        json!({"kind": "set_note", "note": "by the window"}),
        json!({"kind": "unshare"}),
        json!({"kind": "begin_payment"}),
        json!({"kind": "cancel_payment"}),
        add_line(Uuid::now_v7(), shop.croissant, "1"),
        json!({"kind": "remove_line", "line_id": line}),
        json!({"kind": "pay", "payments": [{"method_id": shop.cash, "amount": 500}], "expected_total": 180, "invoice": true}),
    ];
    let mut sent = Vec::new();
    for op in &ops {
        let op_id = Uuid::now_v7();
        let answer = counter_1.op_with_id(op_id, order, op.clone()).await;
        assert_eq!(answer["type"], "ack", "{op}: {answer}");
        sent.push((op_id, op.clone(), answer["version"].as_u64().unwrap()));
    }
    // Resent on the same connection, on a new one, and after a server restart.
    for round in 0..3 {
        if round == 2 {
            shop.restart().await;
        }
        let mut counter = shop.counter(shop.counter_1).await;
        for (op_id, op, version) in &sent {
            let again = counter.op_with_id(*op_id, order, op.clone()).await;
            assert_eq!(again["type"], "ack", "round {round}: {op}: {again}");
            assert_eq!(again["duplicate"], true, "round {round}: {op}");
            assert_eq!(
                again["version"].as_u64(),
                Some(*version),
                "round {round}: {op}"
            );
        }
    }
    // The history holds each op once, versions without gaps.
    let (status, history) = shop
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/orders/{order}/history"),
            &shop.manager_token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), ops.len());
    for (index, entry) in history.iter().enumerate() {
        assert_eq!(entry["version"], index as u64 + 1);
        assert_eq!(entry["op_id"], sent[index].0.to_string());
        assert_eq!(entry["by"]["config_name"], "Counter 1");
        assert!(entry["at"].as_str().unwrap().ends_with('Z'));
    }
    // A rejected op is answered the same way when resent, also after a restart.
    let mut counter = shop.counter(shop.counter_1).await;
    let bad = Uuid::now_v7();
    let missing_order = Uuid::now_v7();
    let first = counter
        .op_with_id(bad, missing_order, json!({"kind": "share"}))
        .await;
    assert_eq!(first["code"], "not_found");
    shop.restart().await;
    let mut counter = shop.counter(shop.counter_1).await;
    let again = counter
        .op_with_id(bad, missing_order, json!({"kind": "share"}))
        .await;
    assert_eq!(
        (&first["code"], &first["message"]),
        (&again["code"], &again["message"])
    );
}

#[tokio::test]
async fn bad_frames_get_an_error_and_hurt_no_one() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    counter_1.ok(order, create(true)).await;
    counter_2.expect("order").await;

    let big_note = "x".repeat(70 * 1024);
    let cases: Vec<(String, &str, &str)> = vec![
        ("not json".to_owned(), "error", "invalid"),
        ("[1,2,3]".to_owned(), "error", "invalid"),
        (r#"{"type":"launch"}"#.to_owned(), "error", "invalid"),
        (r#"{"type":"op","op_id":"nope","order_id":"x","op":{}}"#.to_owned(), "error", "invalid"),
        (
            json!({"type":"op","op_id":Uuid::now_v7(),"order_id":order,"op":{"kind":"set_qty","line_id":Uuid::now_v7(),"qty":"1.0001"}}).to_string(),
            "reject",
            "invalid",
        ),
        (
            json!({"type":"op","op_id":Uuid::now_v7(),"order_id":order,"op":{"kind":"set_discount","line_id":Uuid::now_v7(),"discount":"120"}}).to_string(),
            "reject",
            "invalid",
        ),
        (json!({"type":"op","op_id":Uuid::now_v7(),"order_id":order,"op":{"kind":"set_note","note":big_note}}).to_string(), "error", "too_large"),
        (json!({"type":"hello","protocol":1,"terminal":Uuid::now_v7()}).to_string(), "error", "invalid"),
        (json!({"type":"resync","order_ids":vec![Uuid::nil(); 2000]}).to_string(), "error", "too_large"),
    ];
    for (text, kind, code) in cases {
        counter_1.send_text(text.clone()).await;
        let answer = counter_1
            .expect_where(|m| m["type"] == "error" || m["type"] == "reject")
            .await;
        assert_eq!(
            (answer["type"].as_str(), answer["code"].as_str()),
            (Some(kind), Some(code)),
            "{}",
            &text[..text.len().min(80)]
        );
    }
    // Nothing changed, and both connections still work.
    let server = shop.server_order(order).await;
    assert_eq!(server["version"], 1);
    counter_1
        .ok(order, json!({"kind": "set_note", "note": "still here"}))
        .await;
    counter_2.expect("change").await;
    let pong = {
        counter_2.send(json!({"type": "ping", "t": 42})).await;
        counter_2.expect("pong").await
    };
    assert_eq!(pong["t"], 42);
}

#[tokio::test]
async fn linking_and_unlinking_moves_shared_drafts_live() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut bar = shop.counter(shop.bar).await;
    let order = Uuid::now_v7();
    counter_1.ok(order, create(true)).await;
    assert!(bar.received().await.is_empty());
    shop.set_links(shop.bar, &[shop.counter_1]).await;
    let appeared = bar.expect("order").await;
    assert_eq!(appeared["order"]["id"], order.to_string());
    bar.ok(order, json!({"kind": "set_note", "note": "from the bar"}))
        .await;
    shop.set_links(shop.bar, &[]).await;
    let removed = bar.expect("removed").await;
    assert_eq!(removed["reason"], "unshared");
    bar.refused(
        order,
        json!({"kind": "set_note", "note": "again"}),
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn presence_says_who_has_an_order_open() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    counter_1.ok(order, create(true)).await;
    counter_2.expect("order").await;
    counter_2
        .send(json!({"type": "presence", "order_id": order}))
        .await;
    let presence = counter_1.expect("presence").await;
    assert_eq!(presence["terminals"][0]["config_name"], "Counter 2");
    assert_eq!(
        presence["terminals"][0]["terminal"],
        counter_2.terminal.to_string()
    );
    counter_2.close().await;
    let left = counter_1.expect("presence").await;
    assert!(left["terminals"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn ops_over_http_take_the_same_path() {
    let shop = Shop::open().await;
    let token = shop.terminal_token(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    let post = |op_id: Uuid, op: Value| {
        let shop = &shop;
        let token = token.clone();
        async move {
            shop.request(
                reqwest::Method::POST,
                &format!("/api/v1/orders/{order}/ops"),
                &token,
                Some(json!({"op_id": op_id, "op": op})),
            )
            .await
        }
    };
    let create_id = Uuid::now_v7();
    let (status, ack) = post(create_id, create(true)).await;
    assert_eq!(
        (status, ack["type"].as_str(), ack["version"].as_u64()),
        (200, Some("ack"), Some(1)),
        "{ack}"
    );
    counter_2.expect("order").await;
    let (status, again) = post(create_id, create(true)).await;
    assert_eq!((status, again["duplicate"].as_bool()), (200, Some(true)));
    let (status, reject) = post(
        Uuid::now_v7(),
        json!({"kind": "set_qty", "line_id": Uuid::now_v7(), "qty": "1"}),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(reject["code"], "unknown_line");
    assert_eq!(reject["error"]["code"], "unknown_line");
    let (status, reject) = post(Uuid::now_v7(), json!({"kind": "set_qty"})).await;
    assert_eq!((status, reject["code"].as_str()), (400, Some("invalid")));
    let (status, reject) = post(
        Uuid::now_v7(),
        json!({"kind": "pay", "payments": [], "expected_total": 999}),
    )
    .await;
    assert_eq!(
        (status, reject["code"].as_str()),
        (400, Some("invalid")),
        "{reject}"
    );
    // A user token cannot send ops.
    let (status, _) = shop
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/orders/{order}/ops"),
            &shop.manager_token,
            Some(json!({"op_id": Uuid::now_v7(), "op": {"kind": "share"}})),
        )
        .await;
    assert_eq!(status, 403);
    // Metrics count what happened.
    let metrics = shop
        .client
        .get(format!("{}/metrics", shop.base_url))
        .bearer_auth(&shop.manager_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("possync_ops_accepted_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("possync_ops_rejected_total{code=\"unknown_line\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("possync_connections 1"), "{metrics}");
    assert!(
        metrics.contains("possync_commit_seconds_count"),
        "{metrics}"
    );
}

#[tokio::test]
async fn closing_a_session_ends_its_connections() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let session_id = counter_1.welcome["session"]["id"].as_i64().unwrap();
    let (status, report) = shop
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/sessions/{session_id}/close"),
            &shop.manager_token,
            Some(json!({"counted_cash": 0})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let error = counter_1.expect("error").await;
    assert_eq!(error["code"], "session_closed");
    assert_eq!(counter_1.closed_with().await, Some(4001));
}

#[tokio::test]
async fn a_slow_connection_is_closed_and_never_slows_the_others() {
    let config = ServerConfig {
        sync: SyncSettings {
            node: NodeSettings {
                frames_per_connection_max: 16,
                ops_rate: RateLimit::new(100_000, 100_000),
                ..NodeSettings::default()
            },
            ..SyncSettings::default()
        },
        ..ServerConfig::default()
    };
    let shop = Shop::open_with(config).await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    // Counter 2 connects and then stops reading, like a frozen tablet.
    let mut frozen = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    counter_1.ok(order, create(false)).await;
    for _ in 0..300 {
        counter_1
            .ok(order, add_line(Uuid::now_v7(), shop.espresso, "1"))
            .await;
        // Keep this counter's own inbox small: it is the fast one.
        counter_1.inbox.clear();
    }
    // Sharing and unsharing a 300-line order sends the frozen counter the whole
    // order each time, until its socket buffers and its queue are full.
    let mut closed = false;
    for round in 0..400 {
        let kind = if round % 2 == 0 { "share" } else { "unshare" };
        counter_1.ok(order, json!({"kind": kind})).await;
        if round % 10 == 9
            && shop.metric("possync_slow_connections_closed_total").await == Some(1.0)
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "the frozen connection was never closed");
    // The fast counter was never held up and is still served.
    counter_1
        .ok(order, json!({"kind": "set_note", "note": "still fast"}))
        .await;
    assert_converged(&shop, &mut counter_1, order).await;
    // The frozen counter finds a 4008 close once it reads again, and may reconnect and catch up.
    assert_eq!(frozen.read_until_closed().await, Some(4008));
}

#[tokio::test]
async fn a_silent_terminal_is_dropped_after_missed_heartbeats() {
    // The node decides silence on the server's clock, which the test moves;
    // real pings are a minute apart, so none is answered while the test runs.
    let heartbeat_ms = 60_000;
    let config = ServerConfig {
        sync: SyncSettings {
            node: NodeSettings {
                heartbeat_ms,
                ..NodeSettings::default()
            },
            ..SyncSettings::default()
        },
        ..ServerConfig::default()
    };
    let shop = Shop::open_with(config).await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    // Two heartbeats of silence are allowed...
    shop.clock.advance_millis(2 * heartbeat_ms);
    counter_2.barrier().await;
    // ...three are not. Counter 2 keeps talking, so only Counter 1 goes.
    shop.clock.advance_millis(heartbeat_ms + 1);
    counter_2.send(json!({"type": "ping", "t": 1})).await;
    counter_2.expect("pong").await;
    assert_eq!(counter_1.read_until_closed().await, Some(4000));
    counter_2.barrier().await;
}

/// Runs one SQL statement on the shop's database through a connection of its own.
async fn execute_sql(shop: &Shop, sql: &str) {
    use sqlx::Connection;
    let path = shop.data_dir.path().join(possync_testkit::DATABASE_FILE);
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query(sql).execute(&mut connection).await.unwrap();
    connection.close().await.unwrap();
}

#[tokio::test]
async fn a_failed_commit_answers_unavailable_changes_nothing_and_the_resend_applies_once() {
    let shop = Shop::open().await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    counter_1.ok(order, create(true)).await;
    counter_2.expect("order").await;
    let before = shop.server_order(order).await;

    // The disk "fails": a real SQLite error aborts every commit that writes history.
    execute_sql(&shop, "CREATE TABLE injected_fault (on_purpose INTEGER)").await;
    execute_sql(
        &shop,
        "CREATE TRIGGER injected_fault BEFORE INSERT ON order_ops \
         WHEN (SELECT count(*) FROM injected_fault) > 0 BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
    )
    .await;
    execute_sql(&shop, "INSERT INTO injected_fault VALUES (1)").await;
    let op_id = Uuid::now_v7();
    let line = Uuid::now_v7();
    let answer = counter_1
        .op_with_id(op_id, order, add_line(line, shop.espresso, "2"))
        .await;
    assert_eq!(
        (answer["type"].as_str(), answer["code"].as_str()),
        (Some("reject"), Some("unavailable")),
        "{answer}"
    );
    // Nothing left the server: no change for anyone, and the order is as it was.
    assert!(
        counter_2.received().await.is_empty(),
        "a change escaped a failed commit"
    );
    assert_eq!(shop.server_order(order).await, before);

    // The disk is back: the same op, resent, is decided anew and applied once.
    execute_sql(&shop, "DELETE FROM injected_fault").await;
    let answer = counter_1
        .op_resent_while_retryable(op_id, order, add_line(line, shop.espresso, "2"))
        .await;
    assert_eq!(
        (
            answer["type"].as_str(),
            answer["duplicate"].as_bool(),
            answer["version"].as_u64()
        ),
        (Some("ack"), Some(false), Some(2)),
        "{answer}"
    );
    let again = counter_1
        .op_with_id(op_id, order, add_line(line, shop.espresso, "2"))
        .await;
    assert_eq!(again["duplicate"], true);
    counter_2.expect("change").await;
    assert_converged(&shop, &mut counter_2, order).await;
    assert_eq!(counter_2.orders[&order].lines.len(), 1);
    let metrics = shop
        .client
        .get(format!("{}/metrics", shop.base_url))
        .bearer_auth(&shop.manager_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("possync_failed_commits_total 1"),
        "{metrics}"
    );
}
