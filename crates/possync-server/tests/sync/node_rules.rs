//! The rules of the sync node, each proven over the wire against the real
//! server: who a terminal is, what each message may cost, catch-ups of any
//! size, what a session may learn, closing a session, and commits whose
//! outcome is unknown.

use async_trait::async_trait;
use possync_core::*;
use possync_engine::{ConfigInfo, EngineCatalog, NodeSettings, RateLimit};
use possync_server::ServerConfig;
use possync_server::sync::{SyncSettings, SyncStore};
use possync_store::{SessionReport, StoreError, StoreResult};
use possync_testkit::{Counter, Shop, add_line, create};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use uuid::Uuid;

fn config_with(node: NodeSettings) -> ServerConfig {
    ServerConfig {
        sync: SyncSettings {
            node,
            ..SyncSettings::default()
        },
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn a_terminal_id_taken_by_another_token_is_refused() {
    let shop = Shop::open().await;
    let mut holder = shop.counter(shop.counter_1).await;
    let order = Uuid::now_v7();
    holder.ok(order, create(true)).await;
    holder.ok(order, json!({"kind": "begin_payment"})).await;
    // Counter 2 reads the lock holder's id from `lock.terminal` and claims it.
    let token = shop.terminal_token(shop.counter_2).await;
    let url = format!(
        "{}/api/v1/sync?token={token}",
        shop.base_url.replacen("http", "ws", 1)
    );
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut impostor = Counter::from_socket(socket, &token, holder.terminal);
    impostor
        .send(json!({"type": "hello", "protocol": 1, "terminal": holder.terminal, "known": {}}))
        .await;
    let error = impostor.expect("error").await;
    assert_eq!(error["code"], "forbidden", "{error}");
    assert_eq!(impostor.closed_with().await, Some(4003));
    // Over HTTP, naming the holder in the header: refused too.
    let (status, body) = shop
        .client
        .post(format!("{}/api/v1/orders/{order}/ops", shop.base_url))
        .bearer_auth(&token)
        .header("x-possync-terminal", holder.terminal.to_string())
        .json(&json!({"op_id": Uuid::now_v7(), "op": {"kind": "cancel_payment"}}))
        .send()
        .await
        .map(|response| (response.status().as_u16(), response))
        .unwrap();
    let body: Value = body.json().await.unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    // The lock still holds against Counter 2 as itself.
    let mut counter_2 = shop.counter(shop.counter_2).await;
    counter_2
        .refused(order, json!({"kind": "set_note", "note": "mine"}), "locked")
        .await;
    // And the holder is still served as itself.
    holder.ok(order, json!({"kind": "cancel_payment"})).await;
}

#[tokio::test]
async fn presence_and_resync_floods_cost_no_commit_and_are_rate_limited() {
    let config = config_with(NodeSettings {
        presence_rate: RateLimit::new(10, 20),
        ..NodeSettings::default()
    });
    let shop = Shop::open_with(config).await;
    let mut flooder = shop.counter(shop.counter_1).await;
    let mut other = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    flooder.ok(order, create(true)).await;
    flooder.received().await;
    let commits = shop
        .metric("possync_commit_batch_ops_count")
        .await
        .unwrap_or(0.0);
    for n in 0..200 {
        let order_id = if n % 2 == 0 { Some(order) } else { None };
        flooder
            .send(json!({"type": "presence", "order_id": order_id}))
            .await;
    }
    flooder
        .send(json!({"type": "resync", "order_ids": vec![order; 1_000]}))
        .await;
    // The other counter's edit goes through as always.
    other
        .ok(order, json!({"kind": "set_note", "note": "table 4"}))
        .await;
    let received = flooder.received().await;
    let limited = received
        .iter()
        .filter(|message| message["type"] == "error" && message["code"] == "rate_limited")
        .count();
    assert!(
        limited >= 150,
        "only {limited} presence messages were refused"
    );
    let orders = received
        .iter()
        .filter(|message| message["type"] == "order" && message["order"]["id"] == order.to_string())
        .count();
    assert_eq!(
        orders, 1,
        "a resync naming one order a thousand times gets it once"
    );
    // Two ops, two commits (three with the barrier): presence and resync forced none.
    let after = shop
        .metric("possync_commit_batch_ops_count")
        .await
        .unwrap_or(0.0);
    assert!(
        after - commits <= 3.0,
        "{} commits for 2 ops",
        after - commits
    );
}

#[tokio::test]
async fn a_catch_up_of_nine_thousand_drafts_completes() {
    let shop = Shop::open().await;
    // Nine thousand shared drafts of Counter 1, written as a group commit would.
    let session = shop.open_session(shop.counter_1).await.0;
    let by = By {
        session_id: SessionId(session),
        config_id: ConfigId(shop.counter_1),
        config_name: Name::parse("Counter 1").unwrap(),
        terminal: TerminalId(Uuid::now_v7()),
    };
    let at = Timestamp::from_unix_millis(1_800_000_000_000);
    let entries: Vec<CommitEntry> = (0..9_000)
        .map(|_| {
            let order_id = OrderId(Uuid::now_v7());
            let op = Op::Create {
                config_id: None,
                customer_id: None,
                note: None,
                share: Some(true),
            };
            let order = Order {
                id: order_id,
                reference: format!("Counter 1 {}", &order_id.0.simple().to_string()[26..]),
                state: OrderState::Draft,
                version: 1,
                origin: Origin {
                    config_id: by.config_id,
                    session_id: by.session_id,
                },
                shared: true,
                customer_id: None,
                note: Note::default(),
                lines: Vec::new(),
                totals: Totals::default(),
                lock: None,
                payments: Vec::new(),
                change: Money::ZERO,
                invoice: false,
                paid_by: None,
                receipt_number: None,
                refund_of: None,
                removed_line_ids: Default::default(),
                created_at: at,
                updated_at: at,
                updated_by: by.clone(),
            };
            CommitEntry::Accepted {
                order,
                entry: HistoryEntry {
                    approved_by: None,
                    version: 1,
                    op_id: OpId(Uuid::now_v7()),
                    op,
                    by: by.clone(),
                    at,
                },
            }
        })
        .collect();
    shop.store.commit_batch(&entries).await.unwrap();
    let mut shop = shop;
    shop.restart().await;
    // Counter 2 catches up on all of them; its queue bound (8,192 frames) is
    // smaller than the catch-up, which is paced by what it reads.
    let counter = shop.counter(shop.counter_2).await;
    assert_eq!(counter.orders.len(), 9_000);
}

#[tokio::test]
async fn known_ids_teach_a_session_nothing_of_orders_it_could_never_see() {
    let shop = Shop::open().await;
    let mut bar = shop.counter(shop.bar).await;
    let draft = Uuid::now_v7();
    bar.ok(draft, create(true)).await;
    let cancelled = Uuid::now_v7();
    bar.ok(cancelled, create(false)).await;
    bar.ok(cancelled, json!({"kind": "cancel"})).await;
    // Counter 1 was never linked to the Bar; it names both orders anyway.
    let token = shop.terminal_token(shop.counter_1).await;
    let known = BTreeMap::from([(draft, 1), (cancelled, 2)]);
    let mut counter = Counter::connect(&shop.base_url, &token, Uuid::now_v7(), known).await;
    counter
        .send(json!({"type": "resync", "order_ids": [draft, cancelled]}))
        .await;
    let received = counter.received().await;
    assert!(
        received
            .iter()
            .all(|message| message["type"] != "removed" && message["type"] != "order"),
        "{received:?}"
    );
}

#[tokio::test]
async fn a_payment_racing_the_session_close_is_in_the_report_or_refused() {
    for round in 0..4 {
        let shop = Shop::open().await;
        let mut counter = shop.counter(shop.counter_1).await;
        let order = Uuid::now_v7();
        counter.ok(order, create(false)).await;
        counter
            .ok(order, add_line(Uuid::now_v7(), shop.espresso, "1"))
            .await;
        let session = counter.welcome["session"]["id"].as_i64().unwrap();
        let pay = json!({"kind": "pay", "payments": [{"method_id": shop.cash, "amount": 220}], "expected_total": 220});
        let pay_id = Uuid::now_v7();
        counter
            .send(json!({"type": "op", "op_id": pay_id, "order_id": order, "op": pay}))
            .await;
        let close_path = format!("/api/v1/sessions/{session}/close");
        let (status, report) = shop
            .request(
                reqwest::Method::POST,
                &close_path,
                &shop.manager_token,
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 200, "round {round}: {report}");
        // The pay's answer: an ack (then it is in the report), or unavailable
        // while the close was pending, and `session_closed` when resent. When
        // the close ends the connection before the node has read the pay, it
        // gets no answer: it was never received, so it must not have applied.
        let answer = counter
            .expect_where_or_closed(|message| message["op_id"] == pay_id.to_string())
            .await
            .unwrap_or_else(|| json!({"type": "closed before the pay was read"}));
        let paid = match (answer["type"].as_str(), answer["code"].as_str()) {
            (Some("ack"), _) => true,
            (Some("closed before the pay was read"), _) => false,
            // Refused while the close was pending: nothing was applied (and the
            // terminal's token dies with the session, so it cannot come back).
            (Some("reject"), Some("unavailable")) => false,
            (Some("reject"), Some("session_closed")) => false,
            other => panic!("round {round}: {other:?} {answer}"),
        };
        assert_eq!(
            report["orders_paid"].as_u64(),
            Some(u64::from(paid)),
            "round {round}: {report}"
        );
        let state = shop.server_order(order).await["state"].clone();
        assert_eq!(state, if paid { "paid" } else { "draft" }, "round {round}");
    }
}

/// A store whose next commit lands and then reports an error, as when the
/// database's reply is lost after COMMIT, whose commits wait while its
/// gate is closed, as on a slow disk, and whose catalog loads take
/// `catalog_delay`, as on a busy database.
struct LandsThenFails {
    inner: Arc<dyn SyncStore>,
    failures_left: AtomicUsize,
    gate: tokio::sync::watch::Receiver<bool>,
    catalog_delay: std::time::Duration,
}

#[async_trait]
impl SyncStore for LandsThenFails {
    async fn load_configs(&self) -> StoreResult<Vec<ConfigInfo>> {
        self.inner.load_configs().await
    }
    async fn load_links(&self) -> StoreResult<SyncLinks> {
        self.inner.load_links().await
    }
    async fn load_links_ever(&self) -> StoreResult<SyncLinks> {
        self.inner.load_links_ever().await
    }
    async fn load_catalog(&self) -> StoreResult<EngineCatalog> {
        tokio::time::sleep(self.catalog_delay).await;
        self.inner.load_catalog().await
    }
    async fn load_drafts(&self) -> StoreResult<Vec<Order>> {
        self.inner.load_drafts().await
    }
    async fn newest_id_stamp_ms(&self, at_most_ms: i64) -> StoreResult<Option<i64>> {
        self.inner.newest_id_stamp_ms(at_most_ms).await
    }
    async fn read(
        &self,
        op_ids: &[OpId],
        order_ids: &[OrderId],
    ) -> StoreResult<(Vec<(OpId, OpOutcome)>, Vec<Order>)> {
        self.inner.read(op_ids, order_ids).await
    }
    async fn bind_terminal(
        &self,
        terminal: TerminalId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<String> {
        self.inner.bind_terminal(terminal, token_hash, now).await
    }
    async fn commit_batch(&self, entries: &[CommitEntry]) -> StoreResult<()> {
        let mut gate = self.gate.clone();
        let _ = gate.wait_for(|open| *open).await;
        self.inner.commit_batch(entries).await?;
        let armed = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if armed {
            return Err(StoreError::Unavailable(
                "the connection dropped after COMMIT".to_owned(),
            ));
        }
        Ok(())
    }
    async fn revoked_tokens(&self, token_hashes: &[String]) -> StoreResult<Vec<String>> {
        self.inner.revoked_tokens(token_hashes).await
    }
    async fn close_session(
        &self,
        session_id: SessionId,
        counted_cash: Option<Money>,
        now: Timestamp,
    ) -> StoreResult<SessionReport> {
        self.inner
            .close_session(session_id, counted_cash, now)
            .await
    }
}

#[tokio::test]
async fn a_commit_that_lands_but_reports_failure_converges() {
    let armed: Arc<std::sync::Mutex<Option<Arc<LandsThenFails>>>> = Arc::default();
    let slot = armed.clone();
    let wrap: possync_testkit::WrapSyncStore = Arc::new(move |inner| {
        let store = Arc::new(LandsThenFails {
            inner,
            failures_left: AtomicUsize::new(0),
            gate: tokio::sync::watch::channel(true).1,
            catalog_delay: std::time::Duration::ZERO,
        });
        *slot.lock().unwrap() = Some(store.clone());
        store
    });
    let shop = Shop::open_wrapping(ServerConfig::default(), Some(wrap)).await;
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let order = Uuid::now_v7();
    counter_1.ok(order, create(true)).await;
    counter_2.expect("order").await;
    armed
        .lock()
        .unwrap()
        .as_ref()
        .unwrap()
        .failures_left
        .store(1, Ordering::SeqCst);
    let op_id = Uuid::now_v7();
    let line = Uuid::now_v7();
    let answer = counter_1
        .op_with_id(op_id, order, add_line(line, shop.espresso, "2"))
        .await;
    assert_eq!(answer["code"], "unavailable", "{answer}");
    // The node read the order back: the change that did land reaches Counter 2 whole.
    let (status, health) = shop
        .request(reqwest::Method::GET, "/healthz", "", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "degraded", "{health}");
    let again = counter_1
        .op_resent_while_retryable(op_id, order, add_line(line, shop.espresso, "2"))
        .await;
    assert_eq!(
        (again["type"].as_str(), again["duplicate"].as_bool()),
        (Some("ack"), Some(true)),
        "{again}"
    );
    // Later edits commit on top of it, with the next versions.
    counter_1
        .ok(order, json!({"kind": "set_note", "note": "after"}))
        .await;
    let server = shop.server_order(order).await;
    assert_eq!(server["version"], 3, "{server}");
    counter_2.barrier().await;
    assert_eq!(counter_2.orders[&order].version, 3);
    assert_eq!(
        counter_2.orders[&order].lines.len(),
        1,
        "the line is there once"
    );
    let (_, health) = shop
        .request(reqwest::Method::GET, "/healthz", "", None)
        .await;
    assert_eq!(health["status"], "ok", "{health}");
}

/// When the batch being built is full and the commit before it has not
/// ended (a slow disk), the server stops reading ops until it has: every op
/// is acked once the disk catches up, none is refused `unavailable`.
#[tokio::test]
async fn a_full_batch_holds_ops_back_instead_of_refusing_them() {
    let (open_gate, gate) = tokio::sync::watch::channel(true);
    let wrap: possync_testkit::WrapSyncStore = Arc::new(move |inner| {
        Arc::new(LandsThenFails {
            inner,
            failures_left: AtomicUsize::new(0),
            gate: gate.clone(),
            catalog_delay: std::time::Duration::ZERO,
        })
    });
    let config = config_with(NodeSettings {
        ops_per_batch_max: 2,
        batches_in_flight_max: 1,
        ..NodeSettings::default()
    });
    let shop = Shop::open_wrapping(config, Some(wrap)).await;
    let mut counter = shop.counter(shop.counter_1).await;
    let mut orders = Vec::new();
    for _ in 0..8 {
        let order = Uuid::now_v7();
        counter.ok(order, create(false)).await;
        orders.push(order);
    }
    open_gate.send_replace(false);
    let mut op_ids = Vec::new();
    for (n, order) in orders.iter().enumerate() {
        let op_id = Uuid::now_v7();
        counter
            .send(json!({"type": "op", "op_id": op_id, "order_id": order,
                "op": {"kind": "set_note", "note": format!("note {n}")}}))
            .await;
        op_ids.push(op_id.to_string());
    }
    // Time for the server to read what it would read (and, before the actor
    // held back at a full batch, to refuse the ops past it); nothing can be
    // acked while the disk is stuck.
    let early = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        counter.expect_where(|message| message["type"] == "ack" || message["type"] == "reject"),
    )
    .await;
    assert!(
        early.is_err(),
        "answered while the disk was stuck: {early:?}"
    );
    open_gate.send_replace(true);
    for op_id in &op_ids {
        let answer = counter
            .expect_where(|message| message["op_id"] == op_id.as_str())
            .await;
        assert_eq!(answer["type"], "ack", "{answer}");
    }
}

#[tokio::test]
async fn a_repeated_create_is_answered_the_same_even_after_a_restart() {
    let mut shop = Shop::open().await;
    let mut counter = shop.counter(shop.counter_1).await;
    let order = Uuid::now_v7();
    counter.ok(order, create(false)).await;
    let repeat = Uuid::now_v7();
    let first = counter.op_with_id(repeat, order, create(false)).await;
    assert_eq!(
        (first["version"].as_u64(), first["duplicate"].as_bool()),
        (Some(1), Some(true))
    );
    counter
        .ok(order, json!({"kind": "set_note", "note": "v2"}))
        .await;
    shop.restart().await;
    let token = counter.token.clone();
    let mut counter =
        Counter::connect(&shop.base_url, &token, counter.terminal, BTreeMap::new()).await;
    let again = counter.op_with_id(repeat, order, create(false)).await;
    assert_eq!(
        again,
        {
            let mut expected = first.clone();
            expected["duplicate"] = json!(true);
            expected
        },
        "the first answer, not the order's version now"
    );
}

#[tokio::test]
async fn limits_refuse_what_is_over_them() {
    let config = config_with(NodeSettings {
        drafts_per_config_max: 2,
        connections_per_token_max: 1,
        http_ops_rate: RateLimit::new(2, 1),
        ..NodeSettings::default()
    });
    let shop = Shop::open_with(config).await;
    let mut counter = shop.counter(shop.counter_1).await;
    counter.ok(Uuid::now_v7(), create(false)).await;
    counter.ok(Uuid::now_v7(), create(false)).await;
    let refused = counter
        .refused(Uuid::now_v7(), create(false), "invalid")
        .await;
    assert!(
        refused["message"].as_str().unwrap().contains("open drafts"),
        "{refused}"
    );
    // A second connection with the same token.
    let url = format!(
        "{}/api/v1/sync?token={}",
        shop.base_url.replacen("http", "ws", 1),
        counter.token
    );
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut second = Counter::from_socket(socket, &counter.token, Uuid::now_v7());
    assert_eq!(second.closed_with().await, Some(1008));
    // HTTP ops of one token beyond their rate.
    let token = shop.terminal_token(shop.counter_2).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, _) = shop
            .request(
                reqwest::Method::POST,
                &format!("/api/v1/orders/{}/ops", Uuid::now_v7()),
                &token,
                Some(json!({"op_id": Uuid::now_v7(), "op": {"kind": "set_note", "note": "x"}})),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses, [404, 404, 429, 429]);
}

/// A sync socket that is upgraded but never says `hello` (and answers the
/// server's pings, so no heartbeat closes it) is closed at the hello deadline
/// (4000), freeing its slot.
#[tokio::test]
async fn a_socket_that_never_says_hello_is_closed_at_the_deadline() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let config = config_with(NodeSettings {
        hello_deadline_ms: 300,
        ..NodeSettings::default()
    });
    let shop = Shop::open_with(config).await;
    let token = shop.terminal_token(shop.counter_1).await;
    let url = format!(
        "{}/api/v1/sync?token={token}",
        shop.base_url.replacen("http", "ws", 1)
    );
    let (mut silent, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    // The server's clock moves only when the test moves it; the node may see
    // the connection a moment after the upgrade, so time moves in steps
    // until the close comes (4 s of server time at most, far less than the
    // heartbeats a socket that answers pings would need).
    let mut steps = 0;
    let code = loop {
        shop.clock.advance_millis(400);
        steps += 1;
        match tokio::time::timeout(std::time::Duration::from_secs(2), silent.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|frame| u16::from(frame.code)),
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the socket ended without a close frame: {other:?}"),
            Err(_) => assert!(steps < 10, "a socket that never said hello is still open"),
        }
    };
    assert_eq!(code, Some(4000));
}

#[tokio::test]
async fn a_product_created_in_the_back_office_sells_at_once() {
    // The node reloads the catalog from the store after a change; here that
    // read is slow. The back office's answer waits for the reload, so a till
    // that sells the new product right after is not told "unknown product".
    let wrap: possync_testkit::WrapSyncStore = Arc::new(|inner| {
        Arc::new(LandsThenFails {
            inner,
            failures_left: AtomicUsize::new(0),
            gate: tokio::sync::watch::channel(true).1,
            catalog_delay: std::time::Duration::from_millis(300),
        })
    });
    let shop = Shop::open_wrapping(ServerConfig::default(), Some(wrap)).await;
    let mut counter = shop.counter(shop.counter_1).await;
    let order = Uuid::now_v7();
    counter.ok(order, create(false)).await;
    let tea = shop
        .create("/api/v1/products", json!({"name": "Tea", "price": 150}))
        .await;
    counter.ok(order, add_line(Uuid::now_v7(), tea, "1")).await;
}
