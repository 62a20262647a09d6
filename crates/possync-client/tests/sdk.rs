//! The SDK against the real server on 127.0.0.1:0 with a real SQLite file,
//! each client with its own real outbox file.
//!
//! What is proven here: the outbox survives a client restart and delivers
//! each op exactly once (also when the server applied it but the ack never
//! arrived); a client that was offline while others edited catches up to
//! the same state; events come in version order; a dropped connection comes
//! back by itself; a closed session stops the retries.

use possync_client::http::HttpApi;
use possync_client::{
    Client, ClientOptions, ConnectionState, Event, Events, OpOutcome, new_line_id, new_order_id,
};
use possync_core::{
    ConfigId, Login, Name, Op, OpId, Order, OrderId, OrderState, Password, PaymentInput,
    PaymentMethodId, ProductId, Quantity, Role,
};
use possync_server::auth::hash_password;
use possync_server::{AppState, RunningServer, ServerConfig};
use possync_store::Store;
use possync_store::sqlite::SqliteStore;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_secs(20);

/// A shop on a real server: counters A and B linked, one product, cash.
struct Shop {
    base_url: String,
    manager: HttpApi,
    token_a: String,
    token_b: String,
    session_a: i64,
    product_id: ProductId,
    cash_id: PaymentMethodId,
    files: TempDir,
    _server: RunningServer,
    _data_dir: TempDir,
}

async fn shop() -> Shop {
    let data_dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&data_dir.path().join("possync.db"))
            .await
            .unwrap(),
    );
    let password = Password::parse("manager-password").unwrap();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password).unwrap())
        .await
        .unwrap();
    store
        .create_user(
            &Login::parse("manager").unwrap(),
            &Name::parse("Manager").unwrap(),
            Role::Manager,
            &hash,
            &[],
        )
        .await
        .unwrap();
    let state = AppState::start_with_system_clock(store, ServerConfig::default())
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = RunningServer::start(listener, state).unwrap();
    let base_url = server.base_url();
    let manager = HttpApi::login(&base_url, "manager", "manager-password")
        .await
        .unwrap();
    let post = |path: &'static str, body: Value| {
        let manager = manager.clone();
        async move {
            manager
                .call::<Value>(reqwest::Method::POST, path, Some(body))
                .await
                .unwrap()
        }
    };
    let config_a = post("/configs", json!({"name": "Counter A"})).await["id"].clone();
    let config_b = post(
        "/configs",
        json!({"name": "Counter B", "sync_with": [config_a]}),
    )
    .await["id"]
        .clone();
    let tax = post(
        "/taxes",
        json!({"name": "VAT 10%", "rate": "10", "price_included": true}),
    )
    .await["id"]
        .clone();
    let product = post(
        "/products",
        json!({"name": "Coffee", "price": 250, "tax_ids": [tax]}),
    )
    .await;
    let cash = post("/payment_methods", json!({"name": "Cash", "kind": "cash"})).await;
    let session_a = manager
        .open_session(ConfigId(config_a.as_i64().unwrap()))
        .await
        .unwrap();
    let session_b = manager
        .open_session(ConfigId(config_b.as_i64().unwrap()))
        .await
        .unwrap();
    Shop {
        base_url,
        manager,
        token_a: session_a.terminal_token,
        token_b: session_b.terminal_token,
        session_a: session_a.session.id.0,
        product_id: ProductId(product["id"].as_i64().unwrap()),
        cash_id: PaymentMethodId(cash["id"].as_i64().unwrap()),
        files: tempfile::tempdir().unwrap(),
        _server: server,
        _data_dir: data_dir,
    }
}

impl Shop {
    fn file(&self, name: &str) -> PathBuf {
        self.files.path().join(name)
    }

    async fn start(&self, base_url: &str, token: &str, file: &str) -> (Client, Events) {
        let mut options = ClientOptions::new(base_url, token, self.file(file));
        options.reconnect_delay_min = Duration::from_millis(50);
        options.reconnect_delay_max = Duration::from_millis(500);
        Client::start(options).await.unwrap()
    }

    /// A client that is synced before it returns.
    async fn start_synced(&self, token: &str, file: &str) -> (Client, Events) {
        let (client, mut events) = self.start(&self.base_url, token, file).await;
        wait_for(&mut events, |event| {
            matches!(event, Event::Connection(ConnectionState::Synced)).then_some(())
        })
        .await;
        (client, events)
    }

    /// The server's copy, read with a terminal token.
    async fn server_order(&self, token: &str, order_id: OrderId) -> Order {
        self.manager
            .with_token(token)
            .order(order_id)
            .await
            .unwrap()
    }

    async fn history_op_ids(&self, order_id: OrderId) -> Vec<OpId> {
        self.manager
            .history(order_id)
            .await
            .unwrap()
            .into_iter()
            .map(|entry| entry.op_id)
            .collect()
    }

    fn add_line(&self, qty: &str) -> (possync_core::LineId, Op) {
        let line_id = new_line_id();
        let op = Op::AddLine {
            line_id,
            product_id: self.product_id,
            qty: qty.parse::<Quantity>().unwrap(),
            unit_price: None,
            discount: None,
            note: None,
        };
        (line_id, op)
    }
}

fn create_shared() -> Op {
    Op::Create {
        config_id: None,
        customer_id: None,
        note: None,
        share: Some(true),
    }
}

fn add_qty(line_id: possync_core::LineId, delta: &str) -> Op {
    Op::AddQty {
        line_id,
        delta: delta.parse().unwrap(),
    }
}

/// Reads events until `pick` returns something, within [`WAIT`].
async fn wait_for<T>(events: &mut Events, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.next().await.expect("the client stopped");
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    })
    .await
    .expect("the awaited event did not come")
}

/// Waits for the acks of these ops and answers their versions.
async fn wait_for_acks(events: &mut Events, op_ids: &[OpId]) -> BTreeMap<OpId, (u64, bool)> {
    let mut acked = BTreeMap::new();
    while acked.len() < op_ids.len() {
        let (op_id, version, duplicate) = wait_for(events, |event| match event {
            Event::OpAcked {
                op_id,
                version,
                duplicate,
                ..
            } if op_ids.contains(op_id) => Some((*op_id, *version, *duplicate)),
            Event::OpRejected { code, message, .. } => panic!("rejected: {code} {message}"),
            _ => None,
        })
        .await;
        acked.insert(op_id, (version, duplicate));
    }
    acked
}

/// A TCP relay in front of the server whose server-to-client direction can be
/// cut (frames read and thrown away) or whose connections can all be broken.
struct Proxy {
    base_url: String,
    deliver: Arc<AtomicBool>,
    break_all: Arc<tokio::sync::Notify>,
}

async fn proxy(target: &str) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let target = target.trim_start_matches("http://").to_owned();
    let deliver = Arc::new(AtomicBool::new(true));
    let break_all = Arc::new(tokio::sync::Notify::new());
    let (deliver_task, break_task) = (deliver.clone(), break_all.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&target).await else {
                continue;
            };
            let (deliver, broken) = (deliver_task.clone(), break_task.clone());
            tokio::spawn(async move {
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let upstream = async {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                };
                let downstream = async {
                    let mut buffer = vec![0u8; 16 * 1024];
                    while let Ok(n) = server_read.read(&mut buffer).await {
                        if n == 0 {
                            break;
                        }
                        if deliver.load(Ordering::SeqCst)
                            && client_write.write_all(&buffer[..n]).await.is_err()
                        {
                            break;
                        }
                    }
                };
                tokio::select! {
                    () = upstream => {}
                    () = downstream => {}
                    () = broken.notified() => {}
                }
            });
        }
    });
    Proxy {
        base_url,
        deliver,
        break_all,
    }
}

#[tokio::test]
async fn the_outbox_survives_a_restart_and_delivers_each_op_exactly_once() {
    let shop = shop().await;
    // A first start learns the session and the catalog.
    let (client, mut events) = shop.start(&shop.base_url, &shop.token_a, "a.db").await;
    wait_for(&mut events, |event| {
        matches!(event, Event::CatalogChanged).then_some(())
    })
    .await;
    client.shutdown().await.unwrap();

    // Offline: nothing listens on this port. Ops go to the outbox file.
    let closed_port = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let offline_url = format!("http://{}", closed_port.local_addr().unwrap());
    drop(closed_port);
    let (client, _events) = shop.start(&offline_url, &shop.token_a, "a.db").await;
    let order_id = new_order_id();
    let (line_id, add_line) = shop.add_line("1");
    let mut ops = vec![(order_id, create_shared()), (order_id, add_line)];
    ops.extend((0..3).map(|_| (order_id, add_qty(line_id, "1"))));
    let submitted = client.submit_all(ops).await.unwrap();
    let op_ids: Vec<OpId> = submitted.iter().map(|s| s.op_id).collect();
    assert_eq!(client.pending_ops().len(), 5);
    // The optimistic view already shows the order, priced from the cached catalog.
    let view = client.view(order_id).expect("the pending order shows");
    assert_eq!(view.lines.len(), 1);
    assert_eq!(view.lines[0].qty, "4".parse().unwrap());
    assert_eq!(view.totals.total.minor(), 1000);
    assert!(client.confirmed(order_id).is_none());
    client.shutdown().await.unwrap();

    // Back online with the same file: the outbox is sent and answered.
    let (client, mut events) = shop.start(&shop.base_url, &shop.token_a, "a.db").await;
    assert_eq!(client.pending_ops().len(), 5, "restored from the file");
    let acked = wait_for_acks(&mut events, &op_ids).await;
    assert_eq!(
        acked
            .values()
            .map(|(version, _)| *version)
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert!(acked.values().all(|(_, duplicate)| !duplicate));
    assert_eq!(shop.history_op_ids(order_id).await, op_ids);
    assert!(client.pending_ops().is_empty());
    let server = shop.server_order(&shop.token_a, order_id).await;
    wait_for(&mut events, |event| match event {
        Event::OrderChanged { order, .. } if order.version == server.version => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(client.confirmed(order_id).unwrap(), server);
    client.shutdown().await.unwrap();

    // Once more: nothing is left to send, nothing is applied again.
    let (client, _events) = shop.start_synced(&shop.token_a, "a.db").await;
    assert!(client.pending_ops().is_empty());
    assert_eq!(client.confirmed(order_id).unwrap(), server);
    client.shutdown().await.unwrap();
    assert_eq!(shop.history_op_ids(order_id).await, op_ids);
}

#[tokio::test]
async fn an_op_whose_ack_was_lost_is_resent_after_a_restart_and_applied_once() {
    let shop = shop().await;
    let (watcher, mut watcher_events) = shop.start_synced(&shop.token_b, "b.db").await;
    let relay = proxy(&shop.base_url).await;
    let (client, mut events) = shop.start(&relay.base_url, &shop.token_a, "a.db").await;
    wait_for(&mut events, |event| {
        matches!(event, Event::Connection(ConnectionState::Synced)).then_some(())
    })
    .await;
    let order_id = new_order_id();
    let created = client.submit(order_id, create_shared()).await.unwrap();
    let created_op_id = created.op_id;
    assert!(matches!(
        created.outcome().await,
        Some(OpOutcome::Acked { version: 1, .. })
    ));

    // The server applies the next op, but its ack never reaches the client.
    relay.deliver.store(false, Ordering::SeqCst);
    let (_line_id, add_line) = shop.add_line("2");
    let lost = client.submit(order_id, add_line).await.unwrap();
    let lost_op_id = lost.op_id;
    wait_for(&mut watcher_events, |event| match event {
        Event::OrderChanged {
            change: Some(change),
            ..
        } if change.op_id == lost_op_id => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(client.pending_ops().len(), 1);
    client.shutdown().await.unwrap();

    // Restarted straight to the server: the op is sent again, answered as a duplicate.
    let (client, mut events) = shop.start(&shop.base_url, &shop.token_a, "a.db").await;
    let acked = wait_for_acks(&mut events, &[lost_op_id]).await;
    assert_eq!(acked[&lost_op_id], (2, true));
    assert!(client.pending_ops().is_empty());
    assert_eq!(
        shop.history_op_ids(order_id).await,
        vec![created_op_id, lost_op_id]
    );
    let server = shop.server_order(&shop.token_a, order_id).await;
    assert_eq!(server.lines.len(), 1);
    assert_eq!(client.view(order_id).unwrap(), server);
    assert_eq!(watcher.confirmed(order_id).unwrap(), server);
    client.shutdown().await.unwrap();
    watcher.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_client_offline_while_others_edit_catches_up_to_an_equal_state() {
    let shop = shop().await;
    let (a, mut a_events) = shop.start_synced(&shop.token_a, "a.db").await;
    let (b, mut b_events) = shop.start_synced(&shop.token_b, "b.db").await;
    // Orders both counters hold before B goes away.
    let kept = new_order_id();
    let to_cancel = new_order_id();
    let (kept_line, add_line) = shop.add_line("1");
    let before = a
        .submit_all(vec![
            (kept, create_shared()),
            (kept, add_line),
            (to_cancel, create_shared()),
        ])
        .await
        .unwrap();
    let before_ids: Vec<OpId> = before.iter().map(|s| s.op_id).collect();
    wait_for_acks(&mut a_events, &before_ids).await;
    wait_for(&mut b_events, |event| match event {
        Event::OrderAppeared { order } if order.id == to_cancel => Some(()),
        _ => None,
    })
    .await;
    b.shutdown().await.unwrap();

    // While B is away: A edits, creates, pays and cancels.
    let paid = new_order_id();
    let fresh = new_order_id();
    let (_, paid_line) = shop.add_line("2");
    let (_, fresh_line) = shop.add_line("3");
    let mut ops = vec![
        (kept, add_qty(kept_line, "5")),
        (
            kept,
            Op::SetNote {
                note: possync_core::Note::parse("table 4").unwrap(),
            },
        ),
        (to_cancel, Op::Cancel { reason: None }),
        (fresh, create_shared()),
        (fresh, fresh_line),
        (paid, create_shared()),
        (paid, paid_line),
    ];
    ops.push((
        paid,
        Op::Pay {
            payments: vec![PaymentInput {
                method_id: shop.cash_id,
                amount: possync_core::Money::new(500).unwrap(),
            }],
            expected_total: possync_core::Money::new(500).unwrap(),
            invoice: None,
        },
    ));
    let away = a.submit_all(ops).await.unwrap();
    let away_ids: Vec<OpId> = away.iter().map(|s| s.op_id).collect();
    wait_for_acks(&mut a_events, &away_ids).await;

    // B also edits while offline: its op waits in its outbox.
    let closed_port = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let offline_url = format!("http://{}", closed_port.local_addr().unwrap());
    drop(closed_port);
    let (b, _) = shop.start(&offline_url, &shop.token_b, "b.db").await;
    let b_edit = b
        .submit(kept, add_qty(kept_line, "10"))
        .await
        .unwrap()
        .op_id;
    b.shutdown().await.unwrap();

    // B comes back: it catches up, and its offline edit lands once.
    let (b, mut b_events) = shop.start(&shop.base_url, &shop.token_b, "b.db").await;
    let mut removed = Vec::new();
    let mut acked = false;
    let mut synced = false;
    wait_for(&mut b_events, |event| {
        match event {
            Event::OrderRemoved {
                order_id, reason, ..
            } => removed.push((*order_id, *reason)),
            Event::OpAcked { op_id, .. } if *op_id == b_edit => acked = true,
            Event::Connection(ConnectionState::Synced) => synced = true,
            _ => {}
        }
        (acked && synced).then_some(())
    })
    .await;
    assert_eq!(
        removed,
        vec![(to_cancel, possync_protocol::RemovedReason::Cancelled)]
    );
    let server_kept = shop.server_order(&shop.token_b, kept).await;
    assert_eq!(server_kept.lines[0].qty, "16".parse().unwrap());
    // Every copy converges on the server's: drafts visible to B, exactly.
    let server_drafts: BTreeMap<OrderId, Order> = shop
        .manager
        .with_token(&shop.token_b)
        .orders(OrderState::Draft)
        .await
        .unwrap()
        .into_iter()
        .map(|order| (order.id, order))
        .collect();
    assert_eq!(server_drafts.keys().copied().collect::<Vec<_>>(), {
        let mut ids = vec![kept, fresh];
        ids.sort();
        ids
    });
    for client_and_events in [(&a, &mut a_events), (&b, &mut b_events)] {
        let (client, events) = client_and_events;
        wait_for(events, |_| {
            (client.confirmed(kept).map(|o| o.version) == Some(server_kept.version)).then_some(())
        })
        .await;
    }
    assert_eq!(b.confirmed_orders(), server_drafts);
    assert_eq!(a.confirmed(kept).unwrap(), server_kept);
    assert!(b.pending_ops().is_empty());
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn events_arrive_in_version_order() {
    let shop = shop().await;
    let (a, mut a_events) = shop.start_synced(&shop.token_a, "a.db").await;
    let (b, mut b_events) = shop.start_synced(&shop.token_b, "b.db").await;
    let orders = [new_order_id(), new_order_id()];
    let mut all_ids = Vec::new();
    let mut lines = Vec::new();
    for order_id in orders {
        let (line_id, add_line) = shop.add_line("1");
        lines.push(line_id);
        let submitted = a
            .submit_all(vec![(order_id, create_shared()), (order_id, add_line)])
            .await
            .unwrap();
        all_ids.extend(submitted.iter().map(|s| s.op_id));
    }
    // Interleaved edits of both orders, in several writes.
    for round in 0..6 {
        let ops = (0..5)
            .map(|i| {
                let which = (round + i) % 2;
                (orders[which], add_qty(lines[which], "1"))
            })
            .collect();
        let submitted = a.submit_all(ops).await.unwrap();
        all_ids.extend(submitted.iter().map(|s| s.op_id));
    }
    let acked = wait_for_acks(&mut a_events, &all_ids).await;
    let mut final_versions = BTreeMap::new();
    for (op_id, (version, _)) in &acked {
        let order_id = if shop.history_op_ids(orders[0]).await.contains(op_id) {
            orders[0]
        } else {
            orders[1]
        };
        let entry = final_versions.entry(order_id).or_insert(0);
        *entry = (*entry).max(*version);
    }
    // B saw each order appear, then every version after it, one by one.
    let mut seen: BTreeMap<OrderId, Vec<u64>> = BTreeMap::new();
    wait_for(&mut b_events, |event| {
        match event {
            Event::OrderAppeared { order } => seen.entry(order.id).or_default().push(order.version),
            Event::OrderChanged { order, change } => {
                assert!(change.is_some(), "a live change comes as a patch");
                seen.entry(order.id).or_default().push(order.version);
            }
            _ => {}
        }
        orders
            .iter()
            .all(|id| seen.get(id).and_then(|v| v.last()) == final_versions.get(id))
            .then_some(())
    })
    .await;
    for order_id in orders {
        let versions = &seen[&order_id];
        let first = versions[0];
        let expected: Vec<u64> = (first..=final_versions[&order_id]).collect();
        assert_eq!(versions, &expected, "versions of {order_id}");
        assert_eq!(
            b.confirmed(order_id).unwrap(),
            shop.server_order(&shop.token_b, order_id).await
        );
    }
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dropped_connection_comes_back_and_resends_what_waited() {
    let shop = shop().await;
    let relay = proxy(&shop.base_url).await;
    let (client, mut events) = shop.start(&relay.base_url, &shop.token_a, "a.db").await;
    wait_for(&mut events, |event| {
        matches!(event, Event::Connection(ConnectionState::Synced)).then_some(())
    })
    .await;
    // Cut the server's answers and break the connection: the client notices,
    // waits a jittered delay and reconnects.
    relay.deliver.store(false, Ordering::SeqCst);
    let order_id = new_order_id();
    let created = client
        .submit(order_id, create_shared())
        .await
        .unwrap()
        .op_id;
    relay.break_all.notify_waiters();
    relay.deliver.store(true, Ordering::SeqCst);
    let retry_in = wait_for(&mut events, |event| match event {
        Event::Connection(ConnectionState::Disconnected { retry_in, .. }) => Some(*retry_in),
        _ => None,
    })
    .await;
    assert!(retry_in <= Duration::from_millis(500));
    let acked = wait_for_acks(&mut events, &[created]).await;
    assert_eq!(acked[&created].0, 1);
    assert_eq!(shop.history_op_ids(order_id).await, vec![created]);
    assert!(matches!(
        client.connection(),
        ConnectionState::Synced | ConnectionState::Connected(_)
    ));
    client.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_closed_session_stops_the_retries_and_keeps_the_outbox() {
    let shop = shop().await;
    let (client, mut events) = shop.start_synced(&shop.token_a, "a.db").await;
    shop.manager
        .call::<Value>(
            reqwest::Method::POST,
            &format!("/sessions/{}/close", shop.session_a),
            Some(json!({})),
        )
        .await
        .unwrap();
    wait_for(&mut events, |event| match event {
        Event::Connection(ConnectionState::Stopped { reason }) => {
            assert!(
                reason.contains("4001") || reason.contains("401"),
                "{reason}"
            );
            Some(())
        }
        _ => None,
    })
    .await;
    // Ops are still accepted durably, for a restart with a new token.
    let order_id = new_order_id();
    client.submit(order_id, create_shared()).await.unwrap();
    assert_eq!(client.pending_ops().len(), 1);
    client.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_second_client_on_the_same_file_is_refused() {
    let shop = shop().await;
    let (client, _events) = shop.start(&shop.base_url, &shop.token_a, "a.db").await;
    let second = Client::start(ClientOptions::new(
        &shop.base_url,
        &shop.token_a,
        shop.file("a.db"),
    ))
    .await;
    match second {
        Err(possync_client::ClientError::LocalFile(error)) => {
            assert!(error.to_string().contains("another client"), "{error}")
        }
        other => panic!("a second client on one file must be refused: {other:?}"),
    }
    client.shutdown().await.unwrap();
}
