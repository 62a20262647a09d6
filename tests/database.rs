//! The real `possync` binary and its database commands: `possync backup`
//! while the server serves and writes, `possync restore` into a data directory
//! (equal to the source afterwards), and a server on PostgreSQL that refuses an
//! unmigrated database until `possync migrate` has run.
//!
//! The PostgreSQL test uses a fresh database on 127.0.0.1:5432 and skips
//! loudly without PostgreSQL (fails with `POSSYNC_REQUIRE_POSTGRES=1`).

use possync_core::OrderState;
use possync_store::Store;
use possync_store::sqlite::SqliteStore;
use possync_store_contract::postgres_database::TestDatabase;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_possync");
/// Generous: a debug build hashes the demo passwords with argon2 before listening.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// `possync` with a clean environment and the given data directory.
fn possync(data_dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_remove("POSSYNC_LISTEN")
        .env_remove("POSSYNC_DEMO")
        .env_remove("POSSYNC_DATABASE_URL")
        .env("POSSYNC_DATA_DIR", data_dir)
        .env("POSSYNC_LOG", "warn")
        .stdin(Stdio::null());
    command
}

/// Runs a one-shot command to its end.
fn run(command: &mut Command) -> Output {
    command.output().expect("run possync")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `possync serve` child; killed if a test fails before stopping it.
struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    fn start(mut command: Command) -> Server {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn possync serve");
        let stdout = child.stdout.take().expect("a stdout pipe");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("possync listening on ") {
                    let _ = sender.send(url.trim().to_owned());
                }
            }
        });
        let base_url = receiver
            .recv_timeout(START_TIMEOUT)
            .expect("the server printed its listening line");
        Server { child, base_url }
    }

    /// SIGTERM, then wait for the exit.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("send SIGTERM");
        assert!(status.success());
        let exit = self.child.wait().expect("wait for the server");
        assert!(exit.success(), "the server exited with {exit}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Just enough of the HTTP API to sell and to compare.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base_url: String,
}

impl Api {
    fn new(server: &Server) -> Api {
        Api {
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("a client"),
            base_url: server.base_url.clone(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send a request");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("read the body");
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }

    async fn login(&self, login: &str, password: &str) -> String {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/api/v1/login",
                None,
                Some(json!({"login": login, "password": password})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().expect("a token").to_owned()
    }

    /// Opens (or joins) the session of the first config; answers its terminal token.
    async fn terminal(&self, manager_token: &str) -> String {
        let (status, configs) = self
            .send(
                reqwest::Method::GET,
                "/api/v1/configs",
                Some(manager_token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{configs}");
        let config_id = configs[0]["id"].clone();
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/api/v1/sessions",
                Some(manager_token),
                Some(json!({"config_id": config_id})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["terminal_token"]
            .as_str()
            .expect("a terminal token")
            .to_owned()
    }

    /// Creates an order and adds `lines` lines to it, each op acknowledged.
    async fn sell(&self, terminal_token: &str, product_id: &Value, lines: usize) -> Uuid {
        let order_id = Uuid::now_v7();
        let mut ops = vec![json!({"kind": "create", "share": true})];
        for _ in 0..lines {
            ops.push(json!({"kind": "add_line", "line_id": Uuid::now_v7(), "product_id": product_id, "qty": "1"}));
        }
        for op in ops {
            let (status, body) = self
                .send(
                    reqwest::Method::POST,
                    &format!("/api/v1/orders/{order_id}/ops"),
                    Some(terminal_token),
                    Some(json!({"op_id": Uuid::now_v7(), "op": op})),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        order_id
    }
}

/// Everything a restore must bring back, read through the store.
async fn snapshot(store: &SqliteStore) -> Value {
    let mut orders = Vec::new();
    for state in [OrderState::Draft, OrderState::Paid, OrderState::Cancelled] {
        for order in store.list_orders(state).await.expect("list orders") {
            let history = store.order_history(order.id).await.expect("history");
            orders.push(json!({"order": order, "history": history}));
        }
    }
    json!({
        "users": store.list_users().await.expect("users"),
        "products": store.list_products().await.expect("products"),
        "configs": store.list_configs().await.expect("configs"),
        "sessions": store.list_sessions().await.expect("sessions"),
        "orders": orders,
    })
}

/// Every order of a backup is whole: its body is at the version its history ends at.
async fn assert_consistent(store: &SqliteStore) {
    for order in store
        .list_orders(OrderState::Draft)
        .await
        .expect("list orders")
    {
        let history = store
            .order_history(order.id)
            .await
            .expect("a contiguous history");
        assert_eq!(
            history.len() as u64,
            order.version,
            "order {} and its history agree",
            order.id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_serving_then_restore_equals_the_source() {
    let source_dir = tempfile::tempdir().expect("a temp dir");
    let backups = tempfile::tempdir().expect("a temp dir");
    let mut serve = possync(source_dir.path());
    serve.env("POSSYNC_DEMO", "1");
    let server = Server::start(serve);
    let api = Api::new(&server);
    let manager = api.login("admin", "admin").await;
    let terminal = api.terminal(&manager).await;
    let (_, products) = api
        .send(
            reqwest::Method::GET,
            "/api/v1/products",
            Some(&manager),
            None,
        )
        .await;
    let product_id = products[0]["id"].clone();

    // Counters keep selling while the backup is taken.
    let selling = Arc::new(AtomicBool::new(true));
    let sold = Arc::new(AtomicUsize::new(0));
    let mut sellers = Vec::new();
    for _ in 0..2 {
        let (api, terminal, product_id) = (api.clone(), terminal.clone(), product_id.clone());
        let (selling, sold) = (selling.clone(), sold.clone());
        sellers.push(tokio::spawn(async move {
            while selling.load(Ordering::Relaxed) {
                api.sell(&terminal, &product_id, 5).await;
                sold.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let during = backups.path().join("during.db");
    for _ in 0..3 {
        // Wait for traffic between the snapshots, by count rather than by time.
        let before = sold.load(Ordering::Relaxed);
        while sold.load(Ordering::Relaxed) < before + 2 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = std::fs::remove_file(&during);
        let output = tokio::task::spawn_blocking({
            let (source, during) = (source_dir.path().to_owned(), during.clone());
            move || run(possync(&source).args(["backup", "--output"]).arg(&during))
        })
        .await
        .expect("the backup ran");
        assert!(
            output.status.success(),
            "backup while serving: {}",
            text(&output.stderr)
        );
        assert!(
            text(&output.stdout).contains("Backed up"),
            "{}",
            text(&output.stdout)
        );
        let copy = SqliteStore::open(&during).await.expect("open the backup");
        assert_consistent(&copy).await;
        copy.close().await;
    }
    selling.store(false, Ordering::Relaxed);
    for seller in sellers {
        seller.await.expect("a seller finished");
    }
    assert!(sold.load(Ordering::Relaxed) >= 6);

    // Once writes stop, a backup holds exactly what the source holds.
    let quiet = backups.path().join("quiet.db");
    let output = run(possync(source_dir.path())
        .args(["backup", "--output"])
        .arg(&quiet));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let refused = run(possync(source_dir.path())
        .args(["backup", "--output"])
        .arg(&quiet));
    assert!(
        !refused.status.success(),
        "a backup never overwrites a file"
    );
    assert!(
        text(&refused.stderr).contains("exists already"),
        "{}",
        text(&refused.stderr)
    );
    server.stop();

    let source = SqliteStore::open(&source_dir.path().join("possync.db"))
        .await
        .expect("open the source");
    let expected = snapshot(&source).await;
    source.close().await;

    // Restore into another data directory, then serve from it.
    let restored_dir = tempfile::tempdir().expect("a temp dir");
    let output = run(possync(restored_dir.path())
        .args(["restore", "--input"])
        .arg(&quiet));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let restored = SqliteStore::open(&restored_dir.path().join("possync.db"))
        .await
        .expect("open the restored database");
    assert_eq!(
        snapshot(&restored).await,
        expected,
        "the restored database equals the source"
    );
    restored.close().await;
    let server = Server::start(possync(restored_dir.path()));
    let api = Api::new(&server);
    let manager = api.login("admin", "admin").await;
    let (status, drafts) = api
        .send(
            reqwest::Method::GET,
            "/api/v1/orders?state=draft&limit=1000",
            Some(&manager),
            None,
        )
        .await;
    assert_eq!(status, 200, "{drafts}");
    assert_eq!(
        drafts.as_array().map(Vec::len),
        expected["orders"].as_array().map(Vec::len),
        "the restored server serves every order"
    );

    // A restore needs the data directory to itself, and a real backup.
    let refused = run(possync(restored_dir.path())
        .args(["restore", "--input"])
        .arg(&during));
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("in use"),
        "{}",
        text(&refused.stderr)
    );
    server.stop();
    let not_a_backup = backups.path().join("notes.txt");
    std::fs::write(
        &not_a_backup,
        "not a database, just text that is long enough to look like one",
    )
    .expect("write a file");
    let refused = run(possync(restored_dir.path())
        .args(["restore", "--input"])
        .arg(&not_a_backup));
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("not a possync database backup"),
        "{}",
        text(&refused.stderr)
    );

    // Restoring over a database keeps the replaced one aside.
    let output = run(possync(restored_dir.path())
        .args(["restore", "--input"])
        .arg(&during));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("possync-before-restore-"),
        "{}",
        text(&output.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_postgres_refuses_an_unmigrated_database_until_migrate() {
    let Some(database) = TestDatabase::create_unmigrated().await else {
        return;
    };
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let refused = run(possync(data_dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        &database.url(),
    ]));
    assert!(!refused.status.success(), "serve on an unmigrated database");
    assert!(
        text(&refused.stderr).contains("possync migrate"),
        "{}",
        text(&refused.stderr)
    );

    let migrated = run(possync(data_dir.path())
        .arg("migrate")
        .env("POSSYNC_DATABASE_URL", database.url()));
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    assert!(
        text(&migrated.stdout).contains("Applied migration(s) 1"),
        "{}",
        text(&migrated.stdout)
    );
    let again = run(possync(data_dir.path()).args(["migrate", "--database", &database.url()]));
    assert!(
        text(&again.stdout).contains("up to date"),
        "{}",
        text(&again.stdout)
    );

    let mut serve = possync(data_dir.path());
    serve
        .args([
            "--database",
            &database.url(),
            "--database-connections-max",
            "4",
        ])
        .env("POSSYNC_DEMO", "1");
    let server = Server::start(serve);
    let api = Api::new(&server);
    let (status, ready) = api.send(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (status, ready),
        (200, json!({"status": "ready", "reasons": []}))
    );
    let manager = api.login("admin", "admin").await;
    let terminal = api.terminal(&manager).await;
    let (_, products) = api
        .send(
            reqwest::Method::GET,
            "/api/v1/products",
            Some(&manager),
            None,
        )
        .await;
    let order_id = api.sell(&terminal, &products[0]["id"], 3).await;

    // Several processes share PostgreSQL: no data-directory lock stands in the way.
    let added = run(possync(data_dir.path())
        .args([
            "user",
            "add",
            "--login",
            "nina",
            "--name",
            "Nina",
            "--role",
            "cashier",
            "--password",
            "nina-password",
        ])
        .env("POSSYNC_DATABASE_URL", database.url()));
    assert!(added.status.success(), "{}", text(&added.stderr));
    api.login("nina", "nina-password").await;
    server.stop();

    let store =
        possync_store::postgres::PostgresStore::connect(&database.url(), &Default::default())
            .await
            .expect("connect");
    let order = store
        .get_order(possync_core::OrderId(order_id))
        .await
        .expect("read")
        .expect("the order is in PostgreSQL");
    assert_eq!(order.lines.len(), 3);
    store.close().await;
}
