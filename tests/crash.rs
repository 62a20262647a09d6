//! Kill -9 under load: counters send ops to the real `possync` binary while it
//! is killed with SIGKILL several times and restarted on the same data. Every
//! op a counter saw acknowledged must be in the order's history exactly once,
//! at the acknowledged version; every op is eventually acknowledged once
//! counters resend what was not.
//!
//! With PostgreSQL, the same with two `possync` nodes on one database and the
//! counters spread over both: one node is killed under load, its counters go
//! on through the other (as through a load balancer), nothing acknowledged is
//! lost, and terminals that held copies from the dead node catch up by `known`
//! on the other and converge. It skips loudly without PostgreSQL (fails with
//! `POSSYNC_REQUIRE_POSTGRES=1`).

use futures_util::{SinkExt, StreamExt};
use possync_store_contract::postgres_database::TestDatabase;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_possync");
const COUNTERS: usize = 4;
const ORDERS_PER_COUNTER: usize = 3;
const LINES_PER_ORDER: usize = 40;
const KILLS: usize = 3;
const WINDOW: usize = 16;

/// Starts `possync serve --demo` and returns it with its base URL.
fn start(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(BINARY)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("POSSYNC_DATA_DIR", data_dir)
        .env("POSSYNC_LOG", "warn")
        .env_remove("POSSYNC_LISTEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("possync listening on ") {
                let _ = sender.send(url.trim().to_owned());
            }
        }
    });
    let url = receiver
        .recv_timeout(Duration::from_secs(120))
        .expect("the server did not start");
    (child, url)
}

/// Starts `possync serve` on the PostgreSQL database at `url` (seeding the
/// demo shop when `demo`), with a data directory of its own for its logs and
/// lock; returns it with its base URL.
fn start_node(data_dir: &Path, url: &str, demo: bool) -> (Child, String) {
    let mut command = Command::new(BINARY);
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("POSSYNC_DATA_DIR", data_dir)
        .env("POSSYNC_DATABASE_URL", url)
        .env("POSSYNC_LOG", "warn")
        .env_remove("POSSYNC_LISTEN")
        .env_remove("POSSYNC_DEMO")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if demo {
        command.arg("--demo");
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("possync listening on ") {
                let _ = sender.send(url.trim().to_owned());
            }
        }
    });
    let url = receiver
        .recv_timeout(Duration::from_secs(120))
        .expect("the node did not start");
    (child, url)
}

/// One op a counter must get acknowledged.
#[derive(Debug, Clone)]
struct PlannedOp {
    op_id: Uuid,
    order_id: Uuid,
    op: Value,
}

/// What every counter saw acknowledged: op id -> (order, version).
type Acks = Arc<Mutex<BTreeMap<Uuid, (Uuid, u64)>>>;

async fn http(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> Value {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

/// Sends the counter's remaining ops (oldest first, a window at a time) until
/// all are acknowledged or the connection dies. Answers the ops still owed.
async fn drive(
    base_url: &str,
    token: &str,
    mut owed: Vec<PlannedOp>,
    acks: Acks,
) -> Vec<PlannedOp> {
    let url = format!(
        "{}/api/v1/sync?token={token}",
        base_url.replacen("http", "ws", 1)
    );
    let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url).await else {
        return owed;
    };
    let hello = json!({"type": "hello", "protocol": 1, "terminal": Uuid::now_v7(), "known": {}});
    if socket.send(Message::text(hello.to_string())).await.is_err() {
        return owed;
    }
    let mut next_to_send = 0;
    while !owed.is_empty() {
        while next_to_send < owed.len().min(WINDOW) {
            let planned = &owed[next_to_send];
            let frame = json!({"type": "op", "op_id": planned.op_id, "order_id": planned.order_id, "op": planned.op});
            if socket.send(Message::text(frame.to_string())).await.is_err() {
                return owed;
            }
            next_to_send += 1;
        }
        let message = match tokio::time::timeout(Duration::from_secs(30), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                serde_json::from_str::<Value>(text.as_str()).unwrap()
            }
            Ok(Some(Ok(_))) => continue,
            _ => return owed,
        };
        let Some(op_id) = message["op_id"]
            .as_str()
            .map(|id| id.parse::<Uuid>().unwrap())
        else {
            continue;
        };
        let Some(index) = owed.iter().position(|planned| planned.op_id == op_id) else {
            continue;
        };
        match message["type"].as_str() {
            Some("ack") => {
                let version = message["version"].as_u64().unwrap();
                let order_id = owed[index].order_id;
                let previous = acks.lock().unwrap().insert(op_id, (order_id, version));
                if let Some(previous) = previous {
                    assert_eq!(
                        previous,
                        (order_id, version),
                        "a resend was acknowledged with another version"
                    );
                }
                owed.remove(index);
                next_to_send -= 1;
            }
            Some("reject") => {
                let code = message["code"].as_str().unwrap();
                assert!(
                    code == "rate_limited" || code == "unavailable",
                    "unexpected reject: {message}"
                );
                // Resend it (and everything after it) on this connection, in order.
                next_to_send = index;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            _ => {}
        }
    }
    owed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_op_survives_kill_9() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut server, base_url) = start(data_dir.path());
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let api = |path: &str| format!("{base_url}/api/v1{path}");
    let login = http(
        &client,
        reqwest::Method::POST,
        api("/login"),
        None,
        Some(json!({"login": "cashier", "password": "cashier"})),
    )
    .await;
    let cashier = login["token"].as_str().unwrap().to_owned();
    let configs = http(
        &client,
        reqwest::Method::GET,
        api("/configs"),
        Some(&cashier),
        None,
    )
    .await;
    let counter_1 = configs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Counter 1")
        .unwrap()["id"]
        .clone();
    let session = http(
        &client,
        reqwest::Method::POST,
        api("/sessions"),
        Some(&cashier),
        Some(json!({"config_id": counter_1})),
    )
    .await;
    let terminal_token = session["terminal_token"].as_str().unwrap().to_owned();
    let products = http(
        &client,
        reqwest::Method::GET,
        api("/products"),
        Some(&terminal_token),
        None,
    )
    .await;
    let product_ids: Vec<i64> = products
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();

    // Every counter's plan: create its orders, then add lines to them.
    let mut plans: Vec<Vec<PlannedOp>> = (0..COUNTERS)
        .map(|counter| {
            let order_ids: Vec<Uuid> = (0..ORDERS_PER_COUNTER).map(|_| Uuid::now_v7()).collect();
            let mut plan: Vec<PlannedOp> = order_ids
                .iter()
                .map(|&order_id| PlannedOp { op_id: Uuid::now_v7(), order_id, op: json!({"kind": "create", "share": true}) })
                .collect();
            for line in 0..LINES_PER_ORDER {
                for &order_id in &order_ids {
                    let product_id = product_ids[(counter + line) % product_ids.len()];
                    plan.push(PlannedOp {
                        op_id: Uuid::now_v7(),
                        order_id,
                        op: json!({"kind": "add_line", "line_id": Uuid::now_v7(), "product_id": product_id, "qty": "1"}),
                    });
                }
            }
            plan
        })
        .collect();
    let total_ops: usize = plans.iter().map(Vec::len).sum();
    let acks: Acks = Arc::default();

    let mut base_url = base_url;
    for round in 0..=KILLS {
        let tasks: Vec<_> = plans
            .drain(..)
            .map(|owed| {
                let (base_url, token, acks) =
                    (base_url.clone(), terminal_token.clone(), acks.clone());
                tokio::spawn(async move { drive(&base_url, &token, owed, acks).await })
            })
            .collect();
        if round < KILLS {
            // Kill in the middle of the traffic, once this round has seen some acks.
            let target = acks.lock().unwrap().len() + total_ops / (KILLS + 2);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while acks.lock().unwrap().len() < target && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            server.kill().unwrap();
            server.wait().unwrap();
        }
        for task in tasks {
            plans.push(task.await.unwrap());
        }
        if round < KILLS {
            let owed: usize = plans.iter().map(Vec::len).sum();
            assert!(
                owed > 0,
                "round {round}: the kill came after all traffic; it proves nothing"
            );
            let (restarted, url) = start(data_dir.path());
            server = restarted;
            base_url = url;
        }
    }
    assert!(
        plans.iter().all(Vec::is_empty),
        "every op is acknowledged in the end"
    );

    // Every acknowledged op is in its order's history once, at its acknowledged version.
    let acks = acks.lock().unwrap().clone();
    assert_eq!(acks.len(), total_ops);
    let mut by_order: BTreeMap<Uuid, Vec<(Uuid, u64)>> = BTreeMap::new();
    for (op_id, (order_id, version)) in &acks {
        by_order
            .entry(*order_id)
            .or_default()
            .push((*op_id, *version));
    }
    // Order history with a user token is for managers.
    let manager_login = http(
        &client,
        reqwest::Method::POST,
        format!("{base_url}/api/v1/login"),
        None,
        Some(json!({"login": "admin", "password": "admin"})),
    )
    .await;
    let manager = manager_login["token"].as_str().unwrap().to_owned();
    for (order_id, mut expected) in by_order {
        let url = format!("{base_url}/api/v1/orders/{order_id}/history");
        let history = http(&client, reqwest::Method::GET, url, Some(&manager), None).await;
        let mut found: Vec<(Uuid, u64)> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                (
                    entry["op_id"].as_str().unwrap().parse().unwrap(),
                    entry["version"].as_u64().unwrap(),
                )
            })
            .collect();
        let versions: Vec<u64> = found.iter().map(|(_, version)| *version).collect();
        assert_eq!(
            versions,
            (1..=versions.len() as u64).collect::<Vec<_>>(),
            "history has no gaps"
        );
        found.sort();
        expected.sort();
        assert_eq!(
            found, expected,
            "order {order_id}: history and acknowledgements differ"
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Checks every acknowledged op against its order's history on `base_url`:
/// each op once, at its acknowledged version, and no version missing.
async fn assert_histories(
    client: &reqwest::Client,
    base_url: &str,
    manager: &str,
    acks: &BTreeMap<Uuid, (Uuid, u64)>,
) {
    let mut by_order: BTreeMap<Uuid, Vec<(Uuid, u64)>> = BTreeMap::new();
    for (op_id, (order_id, version)) in acks {
        by_order
            .entry(*order_id)
            .or_default()
            .push((*op_id, *version));
    }
    for (order_id, mut expected) in by_order {
        let url = format!("{base_url}/api/v1/orders/{order_id}/history");
        let history = http(client, reqwest::Method::GET, url, Some(manager), None).await;
        let mut found: Vec<(Uuid, u64)> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                (
                    entry["op_id"].as_str().unwrap().parse().unwrap(),
                    entry["version"].as_u64().unwrap(),
                )
            })
            .collect();
        let versions: Vec<u64> = found.iter().map(|(_, version)| *version).collect();
        assert_eq!(
            versions,
            (1..=versions.len() as u64).collect::<Vec<_>>(),
            "history has no gaps"
        );
        found.sort();
        expected.sort();
        assert_eq!(
            found, expected,
            "order {order_id}: history and acknowledgements differ"
        );
    }
}

/// Reads what the node sends the watching terminal until its copy of every
/// order equals the node's (built from `order` and `change` messages alone).
async fn converge(
    watcher: &mut possync_testkit::Counter,
    client: &reqwest::Client,
    base_url: &str,
    manager: &str,
    order_ids: &[Uuid],
) {
    for order_id in order_ids {
        let id = order_id.to_string();
        loop {
            let url = format!("{base_url}/api/v1/orders/{order_id}");
            let server: possync_core::Order = serde_json::from_value(
                http(client, reqwest::Method::GET, url, Some(manager), None).await,
            )
            .unwrap();
            if watcher.orders.get(order_id) == Some(&server) {
                break;
            }
            watcher
                .expect_where(|message| {
                    message["order_id"] == id.as_str() || message["order"]["id"] == id.as_str()
                })
                .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_under_load_loses_no_acknowledged_op_and_its_counters_go_on_elsewhere() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut node_a, url_a) = start_node(dir_a.path(), &database.url(), true);
    let (mut node_b, url_b) = start_node(dir_b.path(), &database.url(), false);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let login = |url: &str, who: &str| {
        let (client, url, who) = (client.clone(), url.to_owned(), who.to_owned());
        async move {
            let answer = http(
                &client,
                reqwest::Method::POST,
                format!("{url}/api/v1/login"),
                None,
                Some(json!({"login": who, "password": who})),
            )
            .await;
            answer["token"].as_str().unwrap().to_owned()
        }
    };
    let cashier = login(&url_a, "cashier").await;
    let manager = login(&url_b, "admin").await;
    let configs = http(
        &client,
        reqwest::Method::GET,
        format!("{url_a}/api/v1/configs"),
        Some(&cashier),
        None,
    )
    .await;
    let counter_1 = configs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Counter 1")
        .unwrap()["id"]
        .clone();
    // One session; each terminal has a token of its own, opened on either node.
    let mut tokens = Vec::new();
    for i in 0..COUNTERS + 2 {
        let url = if i % 2 == 0 { &url_a } else { &url_b };
        let session = http(
            &client,
            reqwest::Method::POST,
            format!("{url}/api/v1/sessions"),
            Some(&cashier),
            Some(json!({"config_id": counter_1})),
        )
        .await;
        tokens.push(session["terminal_token"].as_str().unwrap().to_owned());
    }
    let products = http(
        &client,
        reqwest::Method::GET,
        format!("{url_a}/api/v1/products"),
        Some(&tokens[0]),
        None,
    )
    .await;
    let product_ids: Vec<i64> = products
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();

    // Each counter creates its shared orders, then adds lines to them; every
    // terminal of the session sees every order, whichever node it is on.
    let order_ids: Vec<Vec<Uuid>> = (0..COUNTERS)
        .map(|_| (0..ORDERS_PER_COUNTER).map(|_| Uuid::now_v7()).collect())
        .collect();
    let all_orders: Vec<Uuid> = order_ids.iter().flatten().copied().collect();
    let mut plans: Vec<Vec<PlannedOp>> = (0..COUNTERS)
        .map(|counter| {
            let mut plan: Vec<PlannedOp> = order_ids[counter]
                .iter()
                .map(|&order_id| PlannedOp {
                    op_id: Uuid::now_v7(),
                    order_id,
                    op: json!({"kind": "create", "share": true}),
                })
                .collect();
            for line in 0..LINES_PER_ORDER {
                for &order_id in &order_ids[counter] {
                    let product_id = product_ids[(counter + line) % product_ids.len()];
                    plan.push(PlannedOp {
                        op_id: Uuid::now_v7(),
                        order_id,
                        op: json!({"kind": "add_line", "line_id": Uuid::now_v7(), "product_id": product_id, "qty": "1"}),
                    });
                }
            }
            plan
        })
        .collect();
    let total_ops: usize = plans.iter().map(Vec::len).sum();
    let acks: Acks = Arc::default();

    // Terminals that only watch, one on each node, building copies from messages.
    let mut watcher_a = possync_testkit::Counter::connect(
        &url_a,
        &tokens[COUNTERS],
        Uuid::now_v7(),
        BTreeMap::new(),
    )
    .await;
    let mut watcher_b = possync_testkit::Counter::connect(
        &url_b,
        &tokens[COUNTERS + 1],
        Uuid::now_v7(),
        BTreeMap::new(),
    )
    .await;

    // Counters spread over both nodes; node A is killed in the middle of it.
    let tasks: Vec<_> = plans
        .drain(..)
        .enumerate()
        .map(|(counter, owed)| {
            let url = if counter % 2 == 0 { &url_a } else { &url_b };
            let (url, token, acks) = (url.clone(), tokens[counter].clone(), acks.clone());
            tokio::spawn(async move { drive(&url, &token, owed, acks).await })
        })
        .collect();
    let target = total_ops / 3;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while acks.lock().unwrap().len() < target && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    node_a.kill().unwrap();
    node_a.wait().unwrap();
    for task in tasks {
        plans.push(task.await.unwrap());
    }
    let owed: usize = plans.iter().map(Vec::len).sum();
    assert!(
        owed > 0,
        "the kill came after all traffic; it proves nothing"
    );

    // Node A's counters reconnect through the load balancer to node B and
    // resend what they were owed; node B's counters finish too.
    let tasks: Vec<_> = plans
        .drain(..)
        .enumerate()
        .map(|(counter, owed)| {
            let (url, token, acks) = (url_b.clone(), tokens[counter].clone(), acks.clone());
            tokio::spawn(async move { drive(&url, &token, owed, acks).await })
        })
        .collect();
    for task in tasks {
        assert!(
            task.await.unwrap().is_empty(),
            "every op is acknowledged on node B"
        );
    }
    let acks = acks.lock().unwrap().clone();
    assert_eq!(acks.len(), total_ops);
    assert_histories(&client, &url_b, &manager, &acks).await;

    // The watcher of node A lost its connection with the node; it reconnects
    // to node B with the versions it holds and catches up from there.
    // (It reads, and keeps its copies of, what node A sent before dying.)
    assert!(
        watcher_a.expect_where_or_closed(|_| false).await.is_none(),
        "the watcher's connection ended with node A"
    );
    let known = watcher_a.known();
    assert!(!known.is_empty(), "the watcher saw orders before the kill");
    let mut again =
        possync_testkit::Counter::connect(&url_b, &tokens[COUNTERS], watcher_a.terminal, known)
            .await;
    // What the catch-up did not resend (the versions it already had) stays as it was.
    for (order_id, order) in &watcher_a.orders {
        again
            .orders
            .entry(*order_id)
            .or_insert_with(|| order.clone());
    }
    converge(&mut again, &client, &url_b, &manager, &all_orders).await;
    converge(&mut watcher_b, &client, &url_b, &manager, &all_orders).await;
    node_b.kill().unwrap();
    node_b.wait().unwrap();
}
