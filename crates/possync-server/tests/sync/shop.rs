//! A running server with a small shop in it, and WebSocket counters to drive it.
//!
//! The shop: Counter 1 and Counter 2 are linked, the Bar is not. Each has an
//! open session. Time is a manual clock, so payment leases expire on demand.

use futures_util::{SinkExt, StreamExt};
use possync_core::{Login, Name, Order, Password, Patch, Role, Timestamp};
use possync_server::auth::hash_password;
use possync_server::{AppState, ManualClock, RunningServer, ServerConfig};
use possync_store::Store;
use possync_store::sqlite::SqliteStore;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// How long a test waits for a message that must come.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Shop {
    pub config: ServerConfig,
    pub base_url: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub clock: ManualClock,
    pub manager_token: String,
    pub cashier_token: String,
    pub counter_1: i64,
    pub counter_2: i64,
    pub bar: i64,
    pub espresso: i64,
    pub croissant: i64,
    pub cash: i64,
    pub card: i64,
    pub customer: i64,
    server: Option<RunningServer>,
    pub data_dir: TempDir,
}

async fn add_user(store: &dyn Store, login: &str, role: Role) {
    let password = Password::parse(login).unwrap();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password).unwrap())
        .await
        .unwrap();
    store
        .create_user(
            &Login::parse(login).unwrap(),
            &Name::parse(login).unwrap(),
            role,
            &hash,
        )
        .await
        .unwrap();
}

pub async fn start_server(
    store: Arc<dyn Store>,
    clock: ManualClock,
    config: ServerConfig,
) -> RunningServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let state = AppState::start(store, config, Arc::new(clock))
        .await
        .unwrap();
    RunningServer::start(listener, state).unwrap()
}

impl Shop {
    pub async fn open() -> Shop {
        Shop::open_with(ServerConfig::default()).await
    }

    /// A shop whose server runs with these settings (queue bounds, heartbeats, ...).
    pub async fn open_with(config: ServerConfig) -> Shop {
        let data_dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&data_dir.path().join("possync.db"))
                .await
                .unwrap(),
        );
        add_user(store.as_ref(), "manager", Role::Manager).await;
        add_user(store.as_ref(), "cashier", Role::Cashier).await;
        let clock = ManualClock::starting_at(Timestamp::from_unix_millis(1_800_000_000_000));
        let server = start_server(store.clone(), clock.clone(), config.clone()).await;
        let mut shop = Shop {
            config,
            base_url: server.base_url(),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            store,
            clock,
            manager_token: String::new(),
            cashier_token: String::new(),
            counter_1: 0,
            counter_2: 0,
            bar: 0,
            espresso: 0,
            croissant: 0,
            cash: 0,
            card: 0,
            customer: 0,
            server: Some(server),
            data_dir,
        };
        shop.manager_token = shop.login("manager").await;
        shop.cashier_token = shop.login("cashier").await;
        shop.bar = shop.create("/api/v1/configs", json!({"name": "Bar"})).await;
        shop.counter_1 = shop
            .create("/api/v1/configs", json!({"name": "Counter 1"}))
            .await;
        shop.counter_2 = shop
            .create(
                "/api/v1/configs",
                json!({"name": "Counter 2", "sync_with": [shop.counter_1]}),
            )
            .await;
        let vat = shop
            .create(
                "/api/v1/taxes",
                json!({"name": "VAT 10%", "rate": "10", "price_included": true}),
            )
            .await;
        shop.espresso = shop
            .create(
                "/api/v1/products",
                json!({"name": "Espresso", "price": 220, "tax_ids": [vat]}),
            )
            .await;
        shop.croissant = shop
            .create("/api/v1/products", json!({"name": "Croissant", "price": 180, "tax_ids": [vat], "tracks_stock": true, "on_hand": "20"}))
            .await;
        shop.cash = shop
            .create(
                "/api/v1/payment_methods",
                json!({"name": "Cash", "kind": "cash"}),
            )
            .await;
        shop.card = shop
            .create(
                "/api/v1/payment_methods",
                json!({"name": "Card", "kind": "card"}),
            )
            .await;
        shop.customer = shop
            .create("/api/v1/customers", json!({"name": "Ada Lovelace"}))
            .await;
        shop
    }

    /// Stops the server and starts a new one on the same SQLite file, reopened,
    /// as after a restart: only what was committed is there.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
        self.store = Arc::new(
            SqliteStore::open(&self.data_dir.path().join("possync.db"))
                .await
                .unwrap(),
        );
        let server =
            start_server(self.store.clone(), self.clock.clone(), self.config.clone()).await;
        self.base_url = server.base_url();
        self.server = Some(server);
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn login(&self, login: &str) -> String {
        let (status, body) = self
            .request(
                reqwest::Method::POST,
                "/api/v1/login",
                "",
                Some(json!({"login": login, "password": login})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    async fn create(&self, path: &str, body: Value) -> i64 {
        let (status, record) = self
            .request(reqwest::Method::POST, path, &self.manager_token, Some(body))
            .await;
        assert_eq!(status, 201, "{path}: {record}");
        record["id"].as_i64().unwrap()
    }

    /// Opens or joins the config's session and returns a terminal token.
    pub async fn terminal_token(&self, config_id: i64) -> String {
        let (status, body) = self
            .request(
                reqwest::Method::POST,
                "/api/v1/sessions",
                &self.cashier_token,
                Some(json!({"config_id": config_id})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["terminal_token"].as_str().unwrap().to_owned()
    }

    /// A new counter connection of this config, through hello and catch-up.
    pub async fn counter(&self, config_id: i64) -> Counter {
        let token = self.terminal_token(config_id).await;
        Counter::connect(&self.base_url, &token, Uuid::now_v7(), BTreeMap::new()).await
    }

    pub async fn server_order(&self, order_id: Uuid) -> Value {
        let (status, order) = self
            .request(
                reqwest::Method::GET,
                &format!("/api/v1/orders/{order_id}"),
                &self.manager_token,
                None,
            )
            .await;
        assert_eq!(status, 200, "{order}");
        order
    }

    pub async fn set_links(&self, config_id: i64, linked: &[i64]) {
        let (status, body) = self
            .request(
                reqwest::Method::PUT,
                &format!("/api/v1/configs/{config_id}/sync_with"),
                &self.manager_token,
                Some(json!({"config_ids": linked})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One terminal on a WebSocket: it keeps every order it was sent and applies
/// every patch, exactly as a client written from the contract would.
pub struct Counter {
    socket: Socket,
    pub token: String,
    pub terminal: Uuid,
    pub welcome: Value,
    /// Messages received and not yet looked at by the test.
    pub inbox: VecDeque<Value>,
    /// The copies this terminal holds, advanced by `order` and `change` messages only.
    pub orders: BTreeMap<Uuid, Order>,
}

impl Counter {
    pub async fn connect(
        base_url: &str,
        token: &str,
        terminal: Uuid,
        known: BTreeMap<Uuid, u64>,
    ) -> Counter {
        let url = format!(
            "{}/api/v1/sync?token={token}",
            base_url.replacen("http", "ws", 1)
        );
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut counter = Counter {
            socket,
            token: token.to_owned(),
            terminal,
            welcome: Value::Null,
            inbox: VecDeque::new(),
            orders: BTreeMap::new(),
        };
        counter
            .send(json!({"type": "hello", "protocol": 1, "terminal": terminal, "known": known}))
            .await;
        counter.welcome = counter.expect("welcome").await;
        counter.expect("synced").await;
        counter
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// Reads everything until the server closes the connection; returns the close code.
    pub async fn read_until_closed(&mut self) -> Option<u16> {
        self.closed_with().await
    }

    pub async fn send_text(&mut self, text: String) {
        self.socket.send(Message::text(text)).await.unwrap();
    }

    /// Reads the next JSON message (tracking orders), or None when the socket closed.
    async fn read(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("timed out waiting for a message")?;
            match message {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    self.track(&value);
                    return Some(value);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Keeps this terminal's copies up to date from the message.
    fn track(&mut self, message: &Value) {
        match message["type"].as_str() {
            Some("order") => {
                let order: Order = serde_json::from_value(message["order"].clone()).unwrap();
                self.orders.insert(order.id.0, order);
            }
            Some("change") => {
                let order_id: Uuid = message["order_id"].as_str().unwrap().parse().unwrap();
                let version = message["version"].as_u64().unwrap();
                let known = self
                    .orders
                    .get(&order_id)
                    .expect("a change for an order this counter never got");
                assert_eq!(
                    known.version + 1,
                    version,
                    "changes arrive in version order, each once"
                );
                let patch: Patch = serde_json::from_value(message["patch"].clone()).unwrap();
                let patched = patch.apply_to(known).unwrap();
                assert_eq!(patched.version, version);
                self.orders.insert(order_id, patched);
            }
            Some("removed") => {
                let order_id: Uuid = message["order_id"].as_str().unwrap().parse().unwrap();
                self.orders.remove(&order_id);
            }
            _ => {}
        }
    }

    /// The next message of this type, keeping the others for later.
    pub async fn expect(&mut self, kind: &str) -> Value {
        self.expect_where(|message| message["type"] == kind).await
    }

    pub async fn expect_where(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(index) = self.inbox.iter().position(&wanted) {
            return self.inbox.remove(index).unwrap();
        }
        loop {
            let message = self.read().await.expect("the connection closed");
            if wanted(&message) {
                return message;
            }
            self.inbox.push_back(message);
        }
    }

    /// Sends an op and returns its answer (`ack` or `reject`).
    pub async fn op(&mut self, order_id: Uuid, op: Value) -> Value {
        let op_id = Uuid::now_v7();
        self.op_with_id(op_id, order_id, op).await
    }

    pub async fn op_with_id(&mut self, op_id: Uuid, order_id: Uuid, op: Value) -> Value {
        self.send(json!({"type": "op", "op_id": op_id, "order_id": order_id, "op": op}))
            .await;
        let op_id = op_id.to_string();
        self.expect_where(|message| {
            (message["type"] == "ack" || message["type"] == "reject")
                && message["op_id"] == op_id.as_str()
        })
        .await
    }

    /// An op that must be accepted; returns the new version.
    pub async fn ok(&mut self, order_id: Uuid, op: Value) -> u64 {
        let answer = self.op(order_id, op.clone()).await;
        assert_eq!(answer["type"], "ack", "{op} was refused: {answer}");
        answer["version"].as_u64().unwrap()
    }

    /// An op that must be refused; returns the reject.
    pub async fn refused(&mut self, order_id: Uuid, op: Value, code: &str) -> Value {
        let answer = self.op(order_id, op.clone()).await;
        assert_eq!(answer["type"], "reject", "{op} was accepted: {answer}");
        assert_eq!(answer["code"], code, "{answer}");
        answer
    }

    /// Waits until everything the server queued for this counter before now has
    /// arrived: an op goes through the engine, and its answer is queued after
    /// anything queued earlier. (An absent message is proven this way, never by sleeping.)
    pub async fn barrier(&mut self) {
        let answer = self
            .op(
                Uuid::now_v7(),
                json!({"kind": "set_note", "note": "barrier"}),
            )
            .await;
        assert_eq!(answer["code"], "not_found", "{answer}");
    }

    /// Drains what has arrived up to a barrier, tracking orders, and returns it.
    pub async fn received(&mut self) -> Vec<Value> {
        self.barrier().await;
        self.inbox.drain(..).collect()
    }

    /// Waits for the server to close the connection; returns the close code.
    pub async fn closed_with(&mut self) -> Option<u16> {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("timed out waiting for close");
            match message {
                Some(Ok(Message::Close(frame))) => return frame.map(|frame| u16::from(frame.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The versions this counter holds, as `hello.known`.
    pub fn known(&self) -> BTreeMap<Uuid, u64> {
        self.orders
            .iter()
            .map(|(id, order)| (*id, order.version))
            .collect()
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

pub fn create(share: bool) -> Value {
    json!({"kind": "create", "share": share})
}

pub fn add_line(line_id: Uuid, product_id: i64, qty: &str) -> Value {
    json!({"kind": "add_line", "line_id": line_id, "product_id": product_id, "qty": qty})
}
