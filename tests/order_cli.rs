//! `possync order …` as a script runs it: the real binary against a real
//! server on 127.0.0.1:0, one JSON object per command with `--json`, and an
//! outbox file that keeps ops the server could not answer.

use possync_client::http::HttpApi;
use possync_core::{Login, Name, Order, OrderState, Password, Role};
use possync_server::auth::hash_password;
use possync_server::{AppState, RunningServer, ServerConfig};
use possync_store::Store;
use possync_store::sqlite::SqliteStore;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::net::TcpListener;

const BINARY: &str = env!("CARGO_BIN_EXE_possync");

struct Shop {
    base_url: String,
    token: String,
    product_id: i64,
    cash_id: i64,
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
    let server =
        RunningServer::start(TcpListener::bind("127.0.0.1:0").await.unwrap(), state).unwrap();
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
    let config = post("/configs", json!({"name": "Counter 1"})).await;
    let product = post("/products", json!({"name": "Tea", "price": 300})).await;
    let cash = post("/payment_methods", json!({"name": "Cash", "kind": "cash"})).await;
    let session = manager
        .open_session(possync_core::ConfigId(config["id"].as_i64().unwrap()))
        .await
        .unwrap();
    Shop {
        base_url,
        token: session.terminal_token,
        product_id: product["id"].as_i64().unwrap(),
        cash_id: cash["id"].as_i64().unwrap(),
        files: tempfile::tempdir().unwrap(),
        _server: server,
        _data_dir: data_dir,
    }
}

/// Runs `possync order ARGS --json` and answers its exit code and last stdout line as JSON.
async fn order(url: &str, token: &str, outbox: &Path, args: &[&str]) -> (i32, Value, String) {
    let output = tokio::process::Command::new(BINARY)
        .arg("order")
        .args(["--url", url, "--token", token, "--timeout", "5", "--json"])
        .arg("--outbox")
        .arg(outbox)
        .args(args)
        .env_remove("POSSYNC_TERMINAL_TOKEN")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let last = stdout.lines().last().unwrap_or("null");
    let value = serde_json::from_str(last).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), value, stderr)
}

#[tokio::test]
async fn a_script_creates_edits_lists_and_pays_a_draft() {
    let shop = shop().await;
    let outbox = shop.files.path().join("outbox.db");
    let run = |args: Vec<String>| {
        let (url, token, outbox) = (shop.base_url.clone(), shop.token.clone(), outbox.clone());
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            order(&url, &token, &outbox, &args).await
        }
    };
    let add = format!("{}:2", shop.product_id);
    let (code, created, stderr) = run(vec!["create".into(), "--add".into(), add]).await;
    assert_eq!(code, 0, "{stderr}");
    let created: Order = serde_json::from_value(created).unwrap();
    assert_eq!(created.lines.len(), 1);
    assert_eq!(created.totals.total.minor(), 600);
    let line_id = created.lines[0].id.to_string();

    let (code, edited, stderr) = run(vec![
        "edit".into(),
        created.id.to_string(),
        "--set-qty".into(),
        format!("{line_id}:3"),
        "--set-note".into(),
        "no sugar".into(),
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    let edited: Order = serde_json::from_value(edited).unwrap();
    assert_eq!(edited.totals.total.minor(), 900);
    assert_eq!(edited.note.as_str(), "no sugar");
    assert_eq!(edited.version, 4);

    let (code, listed, stderr) = run(vec!["list".into()]).await;
    assert_eq!(code, 0, "{stderr}");
    let listed: Vec<Order> = serde_json::from_value(listed["orders"].clone()).unwrap();
    assert_eq!(listed, vec![edited.clone()]);

    // A refused edit says why and exits non-zero, changing nothing.
    let (code, _, stderr) = run(vec![
        "edit".into(),
        created.id.to_string(),
        "--add".into(),
        "999999".into(),
    ])
    .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("refused"), "{stderr}");

    let (code, paid, stderr) = run(vec![
        "pay".into(),
        created.id.to_string(),
        "--payment".into(),
        format!("{}:1000", shop.cash_id),
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    let paid: Order = serde_json::from_value(paid).unwrap();
    assert_eq!(paid.state, OrderState::Paid);
    assert_eq!(paid.change.minor(), 100);
    let (_, listed, _) = run(vec!["list".into()]).await;
    assert_eq!(listed["orders"], json!([]));
    let (_, listed, _) = run(vec!["list".into(), "--state".into(), "paid".into()]).await;
    assert_eq!(listed["orders"][0]["id"], json!(created.id));
}

#[tokio::test]
async fn ops_the_server_could_not_answer_wait_in_the_outbox_for_the_next_run() {
    let shop = shop().await;
    let outbox = shop.files.path().join("outbox.db");
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let offline_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let add = format!("{}", shop.product_id);
    let (code, _, stderr) = order(
        &offline_url,
        &shop.token,
        &outbox,
        &["create", "--share", "--add", &add],
    )
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("wait in"), "{stderr}");
    // The next run against the server delivers them before listing.
    let (code, listed, stderr) = order(&shop.base_url, &shop.token, &outbox, &["list"]).await;
    assert_eq!(code, 0, "{stderr}");
    let orders: Vec<Order> = serde_json::from_value(listed["orders"].clone()).unwrap();
    assert_eq!(orders.len(), 1);
    assert!(orders[0].shared);
    assert_eq!(orders[0].lines.len(), 1);
    assert_eq!(
        orders[0].version, 2,
        "confirmed by the server, not only local"
    );
    let server = HttpApi::new(&shop.base_url, &shop.token)
        .unwrap()
        .orders(OrderState::Draft)
        .await
        .unwrap();
    assert_eq!(server, orders);
}
