//! [`spawn_app`]: the real server on `127.0.0.1:0` with its own SQLite file, one
//! manager and one cashier, and the HTTP helpers every test drives it with.

use crate::counter::Counter;
use possync_core::{ConfigId, Login, Name, OrderState, Password, Role, Timestamp};
use possync_server::auth::{hash_password, new_token, token_hash};
use possync_server::clock::Clock;
use possync_server::sync::{ShopStore, SyncStore};
use possync_server::{AppState, ManualClock, RunningServer, ServerConfig};
use possync_store::sqlite::SqliteStore;
use possync_store::{Store, TokenOwner, UserEdit};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::net::TcpListener;
use uuid::Uuid;

pub const MANAGER_LOGIN: &str = "manager";
pub const MANAGER_PASSWORD: &str = "manager-password";
pub const CASHIER_LOGIN: &str = "cashier";
pub const CASHIER_PASSWORD: &str = "cashier-password";

/// A running server on 127.0.0.1:0 with its own SQLite file, one manager and one cashier.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub manager_token: String,
    pub cashier_token: String,
    /// The server's clock: it moves only when a test advances it.
    pub clock: ManualClock,
    /// The settings the server runs with (kept for restarts).
    pub config: ServerConfig,
    /// How the sync node's view of the store is wrapped (kept for restarts).
    wrap_sync_store: Option<WrapSyncStore>,
    server: Option<RunningServer>,
    /// The data directory holding `possync.db`; deleted when the app is dropped.
    pub data_dir: TempDir,
}

/// Wraps the sync node's view of the store, to make it fail on demand.
pub type WrapSyncStore = Arc<dyn Fn(Arc<dyn SyncStore>) -> Arc<dyn SyncStore> + Send + Sync>;

/// The file name of the database inside [`TestApp::data_dir`].
pub const DATABASE_FILE: &str = "possync.db";

/// How a request carries its token.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Bearer(String),
    Query(String),
    Cookie(String),
    /// A raw `Authorization` header value.
    Header(String),
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    Json(Value),
    /// Exact bytes with an optional content type.
    Raw {
        content_type: Option<&'static str>,
        bytes: Vec<u8>,
    },
}

impl Body {
    pub fn json(value: Value) -> Body {
        Body::Json(value)
    }

    pub fn text(content_type: &'static str, text: &str) -> Body {
        Body::Raw {
            content_type: Some(content_type),
            bytes: text.as_bytes().to_vec(),
        }
    }
}

async fn create_user(store: &dyn Store, login: &str, role: Role, password: &str) {
    let password = Password::parse(password).unwrap();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password).unwrap())
        .await
        .unwrap();
    store
        .create_user(
            &Login::parse(login).unwrap(),
            &Name::parse(login).unwrap(),
            role,
            &hash,
            &[],
        )
        .await
        .unwrap();
}

/// A server with the default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(ServerConfig::default()).await
}

/// A server with these settings (queue bounds, heartbeats, rate limits, ...).
pub async fn spawn_app_with(config: ServerConfig) -> TestApp {
    spawn_app_wrapping(config, None).await
}

/// A server whose sync node sees the store through `wrap` (see [`WrapSyncStore`]).
pub async fn spawn_app_wrapping(config: ServerConfig, wrap: Option<WrapSyncStore>) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&data_dir.path().join(DATABASE_FILE))
            .await
            .unwrap(),
    );
    create_user(
        store.as_ref(),
        MANAGER_LOGIN,
        Role::Manager,
        MANAGER_PASSWORD,
    )
    .await;
    create_user(
        store.as_ref(),
        CASHIER_LOGIN,
        Role::Cashier,
        CASHIER_PASSWORD,
    )
    .await;
    let clock = ManualClock::starting_at(Timestamp::from_unix_millis(1_800_000_000_000));
    let server = start_server(store.clone(), clock.clone(), config.clone(), wrap.as_ref()).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut app = TestApp {
        base_url: server.base_url(),
        client,
        store,
        manager_token: String::new(),
        cashier_token: String::new(),
        clock,
        config,
        wrap_sync_store: wrap,
        server: Some(server),
        data_dir,
    };
    app.manager_token = app.login(MANAGER_LOGIN, MANAGER_PASSWORD).await;
    app.cashier_token = app.login(CASHIER_LOGIN, CASHIER_PASSWORD).await;
    app
}

/// Users the test kit's apps log in with, created once per database.
pub async fn create_test_users(store: &dyn Store) {
    create_user(store, MANAGER_LOGIN, Role::Manager, MANAGER_PASSWORD).await;
    create_user(store, CASHIER_LOGIN, Role::Cashier, CASHIER_PASSWORD).await;
}

/// Starts the real server on a free loopback port over `store` (whose users
/// exist: see [`create_test_users`]) and logs the manager and the cashier in.
pub async fn spawn_app_on(store: Arc<dyn Store>, config: ServerConfig) -> TestApp {
    let clock = ManualClock::starting_at(Timestamp::from_unix_millis(1_800_000_000_000));
    let server = start_server(store.clone(), clock.clone(), config.clone(), None).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut app = TestApp {
        base_url: server.base_url(),
        client,
        store,
        manager_token: String::new(),
        cashier_token: String::new(),
        clock,
        config,
        wrap_sync_store: None,
        server: Some(server),
        data_dir: tempfile::tempdir().unwrap(),
    };
    app.manager_token = app.login(MANAGER_LOGIN, MANAGER_PASSWORD).await;
    app.cashier_token = app.login(CASHIER_LOGIN, CASHIER_PASSWORD).await;
    app
}

/// Starts the real server on a free loopback port over `store`.
pub async fn start_server(
    store: Arc<dyn Store>,
    clock: ManualClock,
    config: ServerConfig,
    wrap: Option<&WrapSyncStore>,
) -> RunningServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut sync_store: Arc<dyn SyncStore> = Arc::new(ShopStore(store.clone()));
    if let Some(wrap) = wrap {
        sync_store = wrap(sync_store);
    }
    let state = AppState::start_with_sync_store(store, sync_store, config, Arc::new(clock))
        .await
        .unwrap();
    RunningServer::start(listener, state).unwrap()
}

impl TestApp {
    pub async fn send(&self, method: Method, path: &str, auth: &Auth, body: &Body) -> (u16, Value) {
        let response = self.send_raw(method, path, auth, body).await;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "{path}: answer is not JSON ({status}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        (status, value)
    }

    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: &Body,
    ) -> reqwest::Response {
        let mut url = format!("{}{path}", self.base_url);
        if let Auth::Query(token) = auth {
            url.push(if path.contains('?') { '&' } else { '?' });
            url.push_str(&format!("token={token}"));
        }
        let mut request = self.client.request(method, &url);
        match auth {
            Auth::None | Auth::Query(_) => {}
            Auth::Bearer(token) => request = request.bearer_auth(token),
            Auth::Cookie(token) => {
                request = request.header("cookie", format!("possync_token={token}"))
            }
            Auth::Header(value) => request = request.header("authorization", value),
        }
        match body {
            Body::None => {}
            Body::Json(value) => request = request.json(value),
            Body::Raw {
                content_type,
                bytes,
            } => {
                if let Some(content_type) = content_type {
                    request = request.header("content-type", *content_type);
                }
                request = request.body(bytes.clone());
            }
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(
            Method::GET,
            path,
            &Auth::Bearer(token.to_owned()),
            &Body::None,
        )
        .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(
            Method::POST,
            path,
            &Auth::Bearer(token.to_owned()),
            &Body::Json(body),
        )
        .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(
            Method::PUT,
            path,
            &Auth::Bearer(token.to_owned()),
            &Body::Json(body),
        )
        .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(
            Method::PATCH,
            path,
            &Auth::Bearer(token.to_owned()),
            &Body::Json(body),
        )
        .await
    }

    /// Logs in and returns the token, asserting success.
    pub async fn login(&self, login: &str, password: &str) -> String {
        let (status, body) = self
            .send(
                Method::POST,
                "/api/v1/login",
                &Auth::None,
                &Body::json(json!({"login": login, "password": password})),
            )
            .await;
        assert_eq!(status, 200, "login {login}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Creates a config as the manager and returns its id. The test cashier
    /// may open it (see [`TestApp::assign_cashier`]).
    pub async fn create_config(&self, name: &str) -> i64 {
        let (status, body) = self
            .post(
                "/api/v1/configs",
                &self.manager_token,
                json!({"name": name}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let config_id = body["id"].as_i64().unwrap();
        self.assign_cashier(config_id).await;
        config_id
    }

    /// Creates a user through the API as the manager and logs them in; answers
    /// (user id, user token). Their password is their login twice.
    pub async fn add_user(&self, login: &str, role: &str, config_ids: &[i64]) -> (i64, String) {
        let password = format!("{login}{login}");
        let id = self
            .create(
                "/api/v1/users",
                json!({"login": login, "name": login, "role": role, "password": password, "config_ids": config_ids}),
            )
            .await;
        (id, self.login(login, &password).await)
    }

    /// Opens (or joins) a session of the config with `user_token`; returns (session id, terminal token).
    pub async fn open_session_as(&self, user_token: &str, config_id: i64) -> (i64, String) {
        let (status, body) = self
            .post(
                "/api/v1/sessions",
                user_token,
                json!({"config_id": config_id}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (
            body["session"]["id"].as_i64().unwrap(),
            body["terminal_token"].as_str().unwrap().to_owned(),
        )
    }

    /// A token of the manager that expired a moment ago, made straight in the
    /// store (advancing the clock would expire every other login too).
    pub async fn expired_manager_token(&self) -> String {
        let login = Login::parse(MANAGER_LOGIN).unwrap();
        let (manager, _) = self.store.find_login(&login).await.unwrap().unwrap();
        let token = new_token();
        let now = self.clock.now();
        self.store
            .create_token(
                &token_hash(&token),
                TokenOwner::User {
                    user_id: manager.id,
                },
                now.plus_millis(-60_000),
                Some(now.plus_millis(-1)),
            )
            .await
            .unwrap();
        token
    }

    /// Adds the counter to the test cashier's `config_ids`, straight in the
    /// store. Like the demo shop's cashier, the test cashier works every counter
    /// the helpers create; tests of counter rights make cashiers of their own.
    pub async fn assign_cashier(&self, config_id: i64) {
        let login = Login::parse(CASHIER_LOGIN).unwrap();
        let (cashier, _) = self.store.find_login(&login).await.unwrap().unwrap();
        let mut config_ids = cashier.config_ids.clone();
        config_ids.push(ConfigId(config_id));
        self.store
            .update_user(
                cashier.id,
                &UserEdit {
                    config_ids: Some(&config_ids),
                    ..UserEdit::default()
                },
            )
            .await
            .unwrap();
    }

    /// Sets a config's links as the manager, asserting success; returns the config.
    pub async fn set_links(&self, config_id: i64, linked: &[i64]) -> Value {
        let (status, body) = self
            .put(
                &format!("/api/v1/configs/{config_id}/sync_with"),
                &self.manager_token,
                json!({"config_ids": linked}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Opens (or joins) a session of the config as the cashier; returns (session id, terminal token).
    pub async fn open_session(&self, config_id: i64) -> (i64, String) {
        self.open_session_as(&self.cashier_token, config_id).await
    }

    /// Everything the API can change, read straight from the store, to prove a
    /// refused request changed nothing.
    pub async fn snapshot(&self) -> Value {
        let store = &self.store;
        json!({
            "users": store.list_users().await.unwrap(),
            "configs": store.list_configs().await.unwrap(),
            "products": store.list_products().await.unwrap(),
            "categories": store.list_categories().await.unwrap(),
            "taxes": store.list_taxes().await.unwrap(),
            "customers": store.list_customers().await.unwrap(),
            "payment_methods": store.list_payment_methods().await.unwrap(),
            "sessions": store.list_sessions().await.unwrap(),
            "drafts": store.list_orders(OrderState::Draft).await.unwrap(),
        })
    }

    /// Stops the server but keeps the app (a node taken out of service: its
    /// WebSockets are closed with 1001 and its port refuses connections).
    pub async fn stop_in_place(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
    }

    /// Stops the server and starts a new one on the same SQLite file, reopened,
    /// as after a restart: only what was committed is there. Tokens stay valid.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
        self.store = Arc::new(
            SqliteStore::open(&self.data_dir.path().join(DATABASE_FILE))
                .await
                .unwrap(),
        );
        let server = start_server(
            self.store.clone(),
            self.clock.clone(),
            self.config.clone(),
            self.wrap_sync_store.as_ref(),
        )
        .await;
        self.base_url = server.base_url();
        self.server = Some(server);
    }

    /// A request with a bearer token (empty: none) and an optional JSON body;
    /// answers the status and the body as JSON (or as a JSON string when it is not JSON).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
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

    /// Creates a record as the manager (`POST path`), asserting 201; returns its id.
    /// A config made here is one the test cashier may open ([`TestApp::assign_cashier`]).
    pub async fn create(&self, path: &str, body: Value) -> i64 {
        let (status, record) = self.post(path, &self.manager_token, body).await;
        assert_eq!(status, 201, "{path}: {record}");
        let id = record["id"].as_i64().unwrap();
        if path == "/api/v1/configs" {
            self.assign_cashier(id).await;
        }
        id
    }

    /// Opens or joins the config's session as the cashier and returns a terminal token.
    pub async fn terminal_token(&self, config_id: i64) -> String {
        self.open_session(config_id).await.1
    }

    /// A new counter connection of this config, through hello and catch-up.
    pub async fn counter(&self, config_id: i64) -> Counter {
        let token = self.terminal_token(config_id).await;
        Counter::connect(&self.base_url, &token, Uuid::now_v7(), BTreeMap::new()).await
    }

    /// The server's copy of an order, read as the manager.
    pub async fn server_order(&self, order_id: Uuid) -> Value {
        let (status, order) = self
            .get(&format!("/api/v1/orders/{order_id}"), &self.manager_token)
            .await;
        assert_eq!(status, 200, "{order}");
        order
    }

    /// A metric's value from `/metrics` (summed over its labels), if it is there.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let text = self
            .client
            .get(format!("{}/metrics", self.base_url))
            .bearer_auth(&self.manager_token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let values: Vec<f64> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (key, value) = line.rsplit_once(' ')?;
                let metric = key.split('{').next()?;
                (metric == name).then(|| value.parse().ok())?
            })
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }

    /// Stops the server and waits for it, asserting a clean end.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
    }
}

/// One request that must be refused, and how.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: &'static str,
    pub method: Method,
    pub path: String,
    pub auth: Auth,
    pub body: Body,
    pub status: u16,
    pub code: &'static str,
}

impl Case {
    pub fn new(
        name: &'static str,
        method: Method,
        path: impl Into<String>,
        auth: Auth,
        body: Body,
    ) -> Case {
        Case {
            name,
            method,
            path: path.into(),
            auth,
            body,
            status: 0,
            code: "",
        }
    }

    pub fn expect(mut self, status: u16, code: &'static str) -> Case {
        self.status = status;
        self.code = code;
        self
    }
}

/// Sends every case and checks its status, its contract error body, and that
/// nothing in the store changed.
pub async fn check(app: &TestApp, cases: &[Case]) {
    for case in cases {
        let before = app.snapshot().await;
        let (status, body) = app
            .send(case.method.clone(), &case.path, &case.auth, &case.body)
            .await;
        assert_eq!(
            status, case.status,
            "{}: {} {} answered {status}: {body}",
            case.name, case.method, case.path
        );
        assert_eq!(body["error"]["code"], case.code, "{}: {body}", case.name);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|message| !message.is_empty()),
            "{}: {body}",
            case.name
        );
        let after = app.snapshot().await;
        assert_eq!(before, after, "{}: the store changed", case.name);
    }
}

/// Ids of one record of each catalog collection, created by [`seed_catalog`].
#[derive(Debug, Clone, Copy)]
pub struct CatalogIds {
    pub category_id: i64,
    pub tax_id: i64,
    pub product_id: i64,
    pub customer_id: i64,
    pub payment_method_id: i64,
}

/// Creates a category, a tax, a product, a customer and a payment method as the manager.
pub async fn seed_catalog(app: &TestApp) -> CatalogIds {
    let create = |path: &'static str, body: Value| async move {
        let (status, record) = app.post(path, &app.manager_token, body).await;
        assert_eq!(status, 201, "{path}: {record}");
        record["id"].as_i64().unwrap()
    };
    let category_id = create("/api/v1/categories", json!({"name": "Coffee"})).await;
    let tax_id = create(
        "/api/v1/taxes",
        json!({"name": "VAT 10%", "rate": "10", "price_included": true}),
    )
    .await;
    let product_id = create(
        "/api/v1/products",
        json!({"name": "Espresso", "price": 220, "category_id": category_id, "tax_ids": [tax_id], "barcode": "8420001000005"}),
    )
    .await;
    let customer_id = create("/api/v1/customers", json!({"name": "Lucía Fernández"})).await;
    let payment_method_id = create(
        "/api/v1/payment_methods",
        json!({"name": "Cash", "kind": "cash"}),
    )
    .await;
    CatalogIds {
        category_id,
        tax_id,
        product_id,
        customer_id,
        payment_method_id,
    }
}

/// Every write route with a valid body: (name, method, path, body).
pub fn write_routes(
    ids: &CatalogIds,
    config_id: i64,
    user_id: i64,
) -> Vec<(&'static str, Method, String, Value)> {
    vec![
        (
            "create config",
            Method::POST,
            "/api/v1/configs".into(),
            json!({"name": "Kiosk"}),
        ),
        (
            "update config",
            Method::PATCH,
            format!("/api/v1/configs/{config_id}"),
            json!({"name": "Kiosk"}),
        ),
        (
            "set sync_with",
            Method::PUT,
            format!("/api/v1/configs/{config_id}/sync_with"),
            json!({"config_ids": []}),
        ),
        (
            "create product",
            Method::POST,
            "/api/v1/products".into(),
            json!({"name": "Tea", "price": 250}),
        ),
        (
            "update product",
            Method::PATCH,
            format!("/api/v1/products/{}", ids.product_id),
            json!({"price": 1}),
        ),
        (
            "create category",
            Method::POST,
            "/api/v1/categories".into(),
            json!({"name": "Tea"}),
        ),
        (
            "update category",
            Method::PATCH,
            format!("/api/v1/categories/{}", ids.category_id),
            json!({"name": "Tea"}),
        ),
        (
            "create tax",
            Method::POST,
            "/api/v1/taxes".into(),
            json!({"name": "VAT 4%", "rate": "4"}),
        ),
        (
            "update tax",
            Method::PATCH,
            format!("/api/v1/taxes/{}", ids.tax_id),
            json!({"rate": "4"}),
        ),
        (
            "create customer",
            Method::POST,
            "/api/v1/customers".into(),
            json!({"name": "Eve"}),
        ),
        (
            "update customer",
            Method::PATCH,
            format!("/api/v1/customers/{}", ids.customer_id),
            json!({"name": "Eve"}),
        ),
        (
            "create payment method",
            Method::POST,
            "/api/v1/payment_methods".into(),
            json!({"name": "Voucher", "kind": "other"}),
        ),
        (
            "update payment method",
            Method::PATCH,
            format!("/api/v1/payment_methods/{}", ids.payment_method_id),
            json!({"name": "Voucher"}),
        ),
        (
            "create user",
            Method::POST,
            "/api/v1/users".into(),
            json!({"login": "eve", "name": "Eve", "role": "manager", "password": "secret"}),
        ),
        (
            "update user",
            Method::PATCH,
            format!("/api/v1/users/{user_id}"),
            json!({"role": "manager"}),
        ),
    ]
}
