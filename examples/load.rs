//! A first load test of the sync path, kept for the figures it produced in
//! BENCHMARKS.md; `possync bench` is the maintained benchmark.
//!
//! Starts the real server in this process on 127.0.0.1:0 with a fresh SQLite
//! file (WAL, synchronous=FULL), opens `--terminals` WebSocket counters in two
//! linked configs, and has each send `--ops` add_qty ops to one shared order,
//! keeping `--window` ops in flight. It reports throughput, the time from
//! sending an op to its ack, and the time from sending an op to its `change`
//! arriving at a counter of the *other* config (what a cashier sees).
//!
//! Run: `cargo run --release --example load -- --terminals 8 --ops 2000 --window 16`

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use possync_core::{Login, Name, Password, Role};
use possync_server::auth::hash_password;
use possync_server::{AppState, RunningServer, ServerConfig, sync::SyncSettings};
use possync_store::Store;
use possync_store::sqlite::SqliteStore;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

#[derive(Parser, Debug)]
struct Args {
    /// WebSocket counters, split between two linked configs.
    #[arg(long, default_value_t = 8)]
    terminals: usize,
    /// Ops each counter sends.
    #[arg(long, default_value_t = 2000)]
    ops: usize,
    /// Ops each counter keeps in flight.
    #[arg(long, default_value_t = 16)]
    window: usize,
}

async fn http(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Value,
) -> Value {
    let response = client
        .request(method, url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: n={} p50={:.2} ms p95={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.95),
        percentile(&samples, 0.99),
        percentile(&samples, 1.0),
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let data_dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&data_dir.path().join("possync.db"))
            .await
            .unwrap(),
    );
    let password = Password::parse("load").unwrap();
    let hash = hash_password(&password).unwrap();
    store
        .create_user(
            &Login::parse("load").unwrap(),
            &Name::parse("Load").unwrap(),
            Role::Manager,
            &hash,
            &[],
        )
        .await
        .unwrap();
    let config = ServerConfig {
        sync: SyncSettings {
            node: possync_server::sync::NodeSettings {
                ops_rate: possync_server::sync::RateLimit::new(1_000_000, 1_000_000),
                ..possync_server::sync::NodeSettings::default()
            },
            ..SyncSettings::default()
        },
        ..ServerConfig::default()
    };
    let state = AppState::start_with_system_clock(store.clone(), config)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = RunningServer::start(listener, state).unwrap();
    let base = server.base_url();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = http(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/login"),
        "",
        json!({"login": "load", "password": "load"}),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let config_a = http(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/configs"),
        &token,
        json!({"name": "Counter A"}),
    )
    .await["id"]
        .clone();
    let config_b = http(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/configs"),
        &token,
        json!({"name": "Counter B", "sync_with": [config_a]}),
    )
    .await["id"]
        .clone();
    let product = http(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/products"),
        &token,
        json!({"name": "Item", "price": 100}),
    )
    .await["id"]
        .clone();
    let mut terminal_tokens = Vec::new();
    for config_id in [&config_a, &config_b] {
        let session = http(
            &client,
            reqwest::Method::POST,
            format!("{base}/api/v1/sessions"),
            &token,
            json!({"config_id": config_id}),
        )
        .await;
        terminal_tokens.push(session["terminal_token"].as_str().unwrap().to_owned());
    }

    // One shared order with one line, created over HTTP by counter A.
    let order_id = Uuid::now_v7();
    let line_id = Uuid::now_v7();
    for op in [
        json!({"kind": "create", "share": true}),
        json!({"kind": "add_line", "line_id": line_id, "product_id": product, "qty": "1"}),
    ] {
        http(
            &client,
            reqwest::Method::POST,
            format!("{base}/api/v1/orders/{order_id}/ops"),
            &terminal_tokens[0],
            json!({"op_id": Uuid::now_v7(), "op": op}),
        )
        .await;
    }

    // Connect everyone first, so every change reaches every counter.
    let ws_base = base.replacen("http", "ws", 1);
    let mut sockets = Vec::new();
    for index in 0..args.terminals {
        let token = &terminal_tokens[index % 2];
        let (mut socket, _) = tokio_tungstenite::connect_async_with_config(
            format!("{ws_base}/api/v1/sync?token={token}"),
            None,
            true,
        )
        .await
        .unwrap();
        let hello =
            json!({"type": "hello", "protocol": 1, "terminal": Uuid::now_v7(), "known": {}});
        socket.send(Message::text(hello.to_string())).await.unwrap();
        loop {
            let Some(Ok(Message::Text(text))) = socket.next().await else {
                panic!("closed")
            };
            if serde_json::from_str::<Value>(text.as_str()).unwrap()["type"] == "synced" {
                break;
            }
        }
        sockets.push(socket);
    }

    // Op ids are numbered so every counter can tell who sent an op and when.
    let sent_at: Arc<std::sync::Mutex<BTreeMap<Uuid, (usize, Instant)>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (index, socket) in sockets.into_iter().enumerate() {
        let sent_at = sent_at.clone();
        let (ops, window) = (args.ops, args.window);
        tasks.push(tokio::spawn(async move {
            let (mut sink, mut stream) = socket.split();
            let mut acks = Vec::new();
            let mut cross = Vec::new();
            let (mut sent, mut acked) = (0usize, 0usize);
            while acked < ops {
                while sent < ops && sent - acked < window {
                    let op_id = Uuid::now_v7();
                    sent_at.lock().unwrap().insert(op_id, (index, Instant::now()));
                    let frame = json!({"type": "op", "op_id": op_id, "order_id": order_id,
                                       "op": {"kind": "add_qty", "line_id": line_id, "delta": "1"}});
                    sink.send(Message::text(frame.to_string())).await.unwrap();
                    sent += 1;
                }
                let text = match stream.next().await {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(frame))) => panic!("the server closed the connection: {frame:?}"),
                    Some(Ok(_)) => continue,
                    other => panic!("connection lost: {other:?}"),
                };
                let message: Value = serde_json::from_str(text.as_str()).unwrap();
                let Some(op_id) = message["op_id"].as_str().and_then(|id| id.parse::<Uuid>().ok()) else { continue };
                let Some((sender, at)) = sent_at.lock().unwrap().get(&op_id).copied() else { continue };
                match message["type"].as_str() {
                    Some("ack") => {
                        assert_eq!(sender, index);
                        acks.push(at.elapsed());
                        acked += 1;
                    }
                    Some("reject") => panic!("rejected: {message}"),
                    // A change made at a counter of the other config.
                    Some("change") if sender % 2 != index % 2 => cross.push(at.elapsed()),
                    _ => {}
                }
            }
            (acks, cross)
        }));
    }
    let mut acks = Vec::new();
    let mut cross = Vec::new();
    for task in tasks {
        let (task_acks, task_cross) = task.await.unwrap();
        acks.extend(task_acks);
        cross.extend(task_cross);
    }
    let elapsed = started.elapsed();
    let total = args.terminals * args.ops;
    println!(
        "terminals={} ops/terminal={} window={}: {total} ops in {:.2} s = {:.0} ops/s",
        args.terminals,
        args.ops,
        args.window,
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    report("ack latency (send -> ack)", acks);
    report(
        "other counter sees it (send -> change at a counter of the other config)",
        cross,
    );
    let metrics = client
        .get(format!("{base}/metrics"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|value| value.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let commits = value("possync_commit_seconds_count");
    println!(
        "server: {commits} commits, {:.1} ops per commit, {:.2} ms per commit, {:.2} ms from engine to answer on average",
        value("possync_commit_batch_ops_sum") / value("possync_commit_batch_ops_count"),
        value("possync_commit_seconds_sum") / commits * 1000.0,
        value("possync_ack_seconds_sum") / value("possync_ack_seconds_count") * 1000.0,
    );
    server.shutdown().await.unwrap();
}
