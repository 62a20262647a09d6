//! The SQLite store: one file in WAL mode with `synchronous=FULL`, one writer
//! connection that serializes every write, and a pool of readers that never
//! wait for it.
//!
//! Every trait method is one transaction. Writes begin with `BEGIN IMMEDIATE`,
//! which takes the write lock up front: a transaction that reads and then
//! writes (join the open session, check an order's version) cannot be
//! overtaken between the two, not even by another process on the same file.
//! Reads of more than one statement run in one read transaction, so they see
//! one snapshot of the database.
//!
//! Values are stored as exact integers (minor units, thousandths, basis
//! points, unix milliseconds); orders, ops and outcomes as JSON text. What
//! comes back from the file is parsed again into core types: a row that does
//! not parse is reported as `Unavailable` and logged, never unwrapped.

use crate::{
    CashSummary, CommitEntry, HistoryEntry, Invoice, OpOutcome, PaymentTotal, SessionReport,
    StockMove, Store, StoreError, StoreResult, TokenOwner,
};
use async_trait::async_trait;
use possync_core::limits::{QUANTITY_ABS_MAX_MILLI, TAXES_PER_LINE_MAX};
use possync_core::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::error::ErrorKind;
use sqlx::query_builder::Separated;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, Transaction};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

/// The schema, embedded in the binary so a deployment is one file.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Reader connections at most: enough for the back office and catch-ups on a small machine.
const READ_CONNECTIONS_MAX: u32 = 4;
/// How long a statement waits for a lock held by another process before it fails.
const BUSY_TIMEOUT_MS: u64 = 5_000;

/// The embedded SQLite store. Cloning is cheap and shares the connections.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: SQLite has one writer at a time anyway, and
    /// queueing for the pool is cheaper and fairer than retrying on `SQLITE_BUSY`.
    writer: SqlitePool,
    /// Readers see the last committed state and never wait for the writer (WAL).
    reader: SqlitePool,
}

/// The settings one connection reports, to check that durability is what we asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionPragmas {
    /// `wal`.
    pub journal_mode: String,
    /// 2 is FULL.
    pub synchronous: i64,
    pub foreign_keys: bool,
    pub busy_timeout_ms: i64,
}

/// The pragmas of the writer connection and of one reader connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlitePragmas {
    pub writer: ConnectionPragmas,
    pub reader: ConnectionPragmas,
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file if it is missing, and
    /// brings its schema up to date.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL syncs the WAL at every commit: an acknowledged op survives a power cut.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS));
        let open_failed = |error: sqlx::Error| {
            tracing::error!(%error, path = %path.display(), "sqlite store: cannot open the database");
            StoreError::Unavailable(format!("cannot open {}: {error}", path.display()))
        };
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // The writer is kept for the life of the store: reopening costs, and
            // the last connection closing would checkpoint the WAL mid-run.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await
            .map_err(open_failed)?;
        MIGRATOR.run(&writer).await.map_err(|error| {
            tracing::error!(%error, path = %path.display(), "sqlite store: migrations failed");
            StoreError::Unavailable(format!("cannot migrate {}: {error}", path.display()))
        })?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS_MAX)
            .connect_with(options)
            .await
            .map_err(open_failed)?;
        Ok(SqliteStore { writer, reader })
    }

    /// Closes every connection, waiting for them to finish. The store answers
    /// `Unavailable` afterwards.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// The pragmas in effect on the writer and on a reader connection.
    pub async fn pragmas(&self) -> StoreResult<SqlitePragmas> {
        Ok(SqlitePragmas {
            writer: connection_pragmas(&self.writer).await?,
            reader: connection_pragmas(&self.reader).await?,
        })
    }

    async fn write_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(unavailable("could not begin a write"))
    }

    async fn read_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.reader
            .begin()
            .await
            .map_err(unavailable("could not begin a read"))
    }
}

async fn connection_pragmas(pool: &SqlitePool) -> StoreResult<ConnectionPragmas> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    let failed = unavailable("could not read the pragmas");
    let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .map_err(failed)?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .map_err(failed)?;
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .map_err(failed)?;
    let busy_timeout_ms: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .map_err(failed)?;
    Ok(ConnectionPragmas {
        journal_mode,
        synchronous,
        foreign_keys: foreign_keys == 1,
        busy_timeout_ms,
    })
}

async fn commit(tx: Transaction<'static, Sqlite>) -> StoreResult<()> {
    tx.commit().await.map_err(unavailable("could not commit"))
}

// ---------------------------------------------------------------------------
// Errors and decoding.

/// Logs a database failure and answers `Unavailable`: the cause stays in the log.
fn unavailable(context: &'static str) -> impl Fn(sqlx::Error) -> StoreError + Copy {
    move |error| {
        tracing::error!(%error, "sqlite store: {context}");
        StoreError::Unavailable(context.to_owned())
    }
}

fn violation(error: &sqlx::Error) -> Option<ErrorKind> {
    match error {
        sqlx::Error::Database(database_error) => Some(database_error.kind()),
        _ => None,
    }
}

/// A uniqueness violation becomes `Conflict(message)`; anything else `Unavailable`.
fn conflict_on_unique(
    message: &'static str,
    context: &'static str,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match violation(&error) {
        Some(ErrorKind::UniqueViolation) => StoreError::Conflict(message.to_owned()),
        _ => unavailable(context)(error),
    }
}

/// A stored value that no longer parses: reported, logged, never unwrapped.
fn corrupt(what: &'static str, detail: impl Display) -> StoreError {
    tracing::error!(%detail, "sqlite store: a stored {what} cannot be read back");
    StoreError::Unavailable(format!("a stored {what} cannot be read back"))
}

fn decode_name(text: &str, what: &'static str) -> StoreResult<Name> {
    Name::parse(text).map_err(|error| corrupt(what, format!("{text:?}: {error}")))
}

fn decode_optional_name(text: Option<String>, what: &'static str) -> StoreResult<Option<Name>> {
    text.map(|text| decode_name(&text, what)).transpose()
}

fn decode_money(minor: i64, what: &'static str) -> StoreResult<Money> {
    Money::new(minor).map_err(|error| corrupt(what, error))
}

fn decode_quantity(milli: i64, what: &'static str) -> StoreResult<Quantity> {
    Quantity::from_milli(milli).map_err(|error| corrupt(what, error))
}

fn decode_u64(value: i64, what: &'static str) -> StoreResult<u64> {
    u64::try_from(value).map_err(|error| corrupt(what, format!("{value}: {error}")))
}

fn decode_uuid(text: &str, what: &'static str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|error| corrupt(what, format!("{text:?}: {error}")))
}

fn decode_json<T: DeserializeOwned>(text: &str, what: &'static str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|error| corrupt(what, error))
}

fn encode_json<T: Serialize>(value: &T, what: &'static str) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::Invalid(format!("cannot encode the {what}: {error}")))
}

fn encode_version(version: u64) -> StoreResult<i64> {
    i64::try_from(version)
        .map_err(|_| StoreError::Invalid(format!("version {version} is out of range")))
}

fn timestamp(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

/// Sums exact amounts read from the database into `Money`.
fn sum_money(amounts: impl IntoIterator<Item = i128>, what: &'static str) -> StoreResult<Money> {
    let sum: i128 = amounts.into_iter().sum();
    Money::from_i128(sum).map_err(|error| corrupt(what, error))
}

/// Whether the row `id` exists; `sql` is `SELECT 1 FROM <table> WHERE id = ?`.
async fn exists(conn: &mut SqliteConnection, sql: &'static str, id: i64) -> StoreResult<bool> {
    let found: Option<i64> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not check a reference"))?;
    Ok(found.is_some())
}

// ---------------------------------------------------------------------------
// Rows.

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    login: String,
    name: String,
    role: String,
}

impl UserRow {
    fn decode(self) -> StoreResult<User> {
        Ok(User {
            id: UserId(self.id),
            login: Login::parse(&self.login).map_err(|error| corrupt("login", error))?,
            name: decode_name(&self.name, "user name")?,
            role: Role::parse(&self.role).ok_or_else(|| corrupt("user role", &self.role))?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: i64,
    name: String,
    price_minor: i64,
    category_id: Option<i64>,
    barcode: Option<String>,
    tracks_stock: bool,
    on_hand_milli: i64,
}

impl ProductRow {
    fn decode(self, tax_ids: Vec<TaxId>) -> StoreResult<Product> {
        Ok(Product {
            id: ProductId(self.id),
            name: decode_name(&self.name, "product name")?,
            price: decode_money(self.price_minor, "product price")?,
            category_id: self.category_id.map(CategoryId),
            barcode: self
                .barcode
                .map(|text| Barcode::parse(&text).map_err(|error| corrupt("barcode", error)))
                .transpose()?,
            tax_ids,
            tracks_stock: self.tracks_stock,
            on_hand: decode_quantity(self.on_hand_milli, "stock on hand")?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TaxRow {
    id: i64,
    name: String,
    rate_bp: i64,
    price_included: bool,
}

impl TaxRow {
    fn decode(self) -> StoreResult<Tax> {
        Ok(Tax {
            id: TaxId(self.id),
            name: decode_name(&self.name, "tax name")?,
            rate: TaxRate::from_basis_points(self.rate_bp)
                .map_err(|error| corrupt("tax rate", error))?,
            price_included: self.price_included,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    id: i64,
    name: String,
    email: Option<String>,
    phone: Option<String>,
}

impl CustomerRow {
    fn decode(self) -> StoreResult<Customer> {
        Ok(Customer {
            id: CustomerId(self.id),
            name: decode_name(&self.name, "customer name")?,
            email: decode_optional_name(self.email, "customer email")?,
            phone: decode_optional_name(self.phone, "customer phone")?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PaymentMethodRow {
    id: i64,
    name: String,
    kind: String,
}

impl PaymentMethodRow {
    fn decode(self) -> StoreResult<PaymentMethod> {
        Ok(PaymentMethod {
            id: PaymentMethodId(self.id),
            name: decode_name(&self.name, "payment method name")?,
            kind: PaymentMethodKind::parse(&self.kind)
                .ok_or_else(|| corrupt("payment method kind", &self.kind))?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ConfigRow {
    id: i64,
    name: String,
    auto_share: bool,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    config_id: i64,
    state: String,
    opened_at: i64,
    closed_at: Option<i64>,
    opened_by: i64,
    opening_cash: i64,
    counted_cash: Option<i64>,
}

impl SessionRow {
    fn decode(self) -> StoreResult<Session> {
        let state = match self.state.as_str() {
            "open" => SessionState::Open,
            "closed" => SessionState::Closed,
            other => return Err(corrupt("session state", other)),
        };
        Ok(Session {
            id: SessionId(self.id),
            config_id: ConfigId(self.config_id),
            state,
            opened_at: timestamp(self.opened_at),
            closed_at: self.closed_at.map(timestamp),
            opened_by: UserId(self.opened_by),
            opening_cash: decode_money(self.opening_cash, "opening cash")?,
            counted_cash: self
                .counted_cash
                .map(|minor| decode_money(minor, "counted cash"))
                .transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: String,
    version: i64,
    body: String,
}

impl OrderRow {
    /// Parses the JSON body and checks it against the columns written with it.
    fn decode(self) -> StoreResult<Order> {
        let order: Order = decode_json(&self.body, "order")?;
        let id = decode_uuid(&self.id, "order id")?;
        let version = decode_u64(self.version, "order version")?;
        if order.id.0 != id || order.version != version {
            return Err(corrupt(
                "order",
                format!(
                    "row {id} at version {version} holds order {} at version {}",
                    order.id, order.version
                ),
            ));
        }
        Ok(order)
    }
}

// ---------------------------------------------------------------------------
// Loading, shared by reads and by writes that answer with the record.

async fn load_user(conn: &mut SqliteConnection, user_id: UserId) -> StoreResult<User> {
    sqlx::query_as::<_, UserRow>("SELECT id, login, name, role FROM users WHERE id = ?")
        .bind(user_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read a user"))?
        .ok_or(StoreError::NotFound("user"))?
        .decode()
}

async fn load_product(conn: &mut SqliteConnection, product_id: ProductId) -> StoreResult<Product> {
    let row = sqlx::query_as::<_, ProductRow>(
        "SELECT id, name, price_minor, category_id, barcode, tracks_stock, on_hand_milli FROM products WHERE id = ?",
    )
    .bind(product_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a product"))?
    .ok_or(StoreError::NotFound("product"))?;
    let tax_ids: Vec<i64> =
        sqlx::query_scalar("SELECT tax_id FROM product_taxes WHERE product_id = ? ORDER BY tax_id")
            .bind(product_id.0)
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable("could not read a product's taxes"))?;
    row.decode(tax_ids.into_iter().map(TaxId).collect())
}

async fn load_category(
    conn: &mut SqliteConnection,
    category_id: CategoryId,
) -> StoreResult<Category> {
    let (id, name): (i64, String) = sqlx::query_as("SELECT id, name FROM categories WHERE id = ?")
        .bind(category_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read a category"))?
        .ok_or(StoreError::NotFound("category"))?;
    Ok(Category {
        id: CategoryId(id),
        name: decode_name(&name, "category name")?,
    })
}

async fn load_tax(conn: &mut SqliteConnection, tax_id: TaxId) -> StoreResult<Tax> {
    sqlx::query_as::<_, TaxRow>("SELECT id, name, rate_bp, price_included FROM taxes WHERE id = ?")
        .bind(tax_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read a tax"))?
        .ok_or(StoreError::NotFound("tax"))?
        .decode()
}

async fn load_customer(
    conn: &mut SqliteConnection,
    customer_id: CustomerId,
) -> StoreResult<Customer> {
    sqlx::query_as::<_, CustomerRow>("SELECT id, name, email, phone FROM customers WHERE id = ?")
        .bind(customer_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read a customer"))?
        .ok_or(StoreError::NotFound("customer"))?
        .decode()
}

async fn load_payment_method(
    conn: &mut SqliteConnection,
    method_id: PaymentMethodId,
) -> StoreResult<PaymentMethod> {
    sqlx::query_as::<_, PaymentMethodRow>("SELECT id, name, kind FROM payment_methods WHERE id = ?")
        .bind(method_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read a payment method"))?
        .ok_or(StoreError::NotFound("payment method"))?
        .decode()
}

async fn load_payment_methods(conn: &mut SqliteConnection) -> StoreResult<Vec<PaymentMethod>> {
    sqlx::query_as::<_, PaymentMethodRow>("SELECT id, name, kind FROM payment_methods ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .map_err(unavailable("could not read payment methods"))?
        .into_iter()
        .map(PaymentMethodRow::decode)
        .collect()
}

async fn load_links(conn: &mut SqliteConnection) -> StoreResult<SyncLinks> {
    let pairs: Vec<(i64, i64)> =
        sqlx::query_as("SELECT config_a, config_b FROM sync_links ORDER BY config_a, config_b")
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable("could not read sync links"))?;
    Ok(SyncLinks::from_pairs(
        pairs.into_iter().map(|(a, b)| (ConfigId(a), ConfigId(b))),
    ))
}

async fn config_ids(conn: &mut SqliteConnection) -> StoreResult<BTreeSet<ConfigId>> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM configs")
        .fetch_all(&mut *conn)
        .await
        .map_err(unavailable("could not read configs"))?;
    Ok(ids.into_iter().map(ConfigId).collect())
}

/// Configs with their links and open session filled in; all of them, or only `only`.
async fn load_configs(
    conn: &mut SqliteConnection,
    only: Option<ConfigId>,
) -> StoreResult<Vec<Config>> {
    let rows: Vec<ConfigRow> = match only {
        Some(config_id) => sqlx::query_as("SELECT id, name, auto_share FROM configs WHERE id = ?")
            .bind(config_id.0),
        None => sqlx::query_as("SELECT id, name, auto_share FROM configs ORDER BY id"),
    }
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read configs"))?;
    let links = load_links(conn).await?;
    let open_sessions: Vec<(i64, i64)> =
        sqlx::query_as("SELECT config_id, id FROM sessions WHERE state = 'open'")
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable("could not read open sessions"))?;
    let open_sessions: BTreeMap<ConfigId, SessionId> = open_sessions
        .into_iter()
        .map(|(config_id, session_id)| (ConfigId(config_id), SessionId(session_id)))
        .collect();
    rows.into_iter()
        .map(|row| {
            let id = ConfigId(row.id);
            Ok(Config {
                id,
                name: decode_name(&row.name, "config name")?,
                sync_with: links.sync_with(id),
                auto_share: row.auto_share,
                open_session_id: open_sessions.get(&id).copied(),
            })
        })
        .collect()
}

async fn load_config(conn: &mut SqliteConnection, config_id: ConfigId) -> StoreResult<Config> {
    load_configs(conn, Some(config_id))
        .await?
        .pop()
        .ok_or(StoreError::NotFound("config"))
}

const SESSION_COLUMNS: &str =
    "id, config_id, state, opened_at, closed_at, opened_by, opening_cash, counted_cash";

async fn load_session(conn: &mut SqliteConnection, session_id: SessionId) -> StoreResult<Session> {
    sqlx::query_as::<_, SessionRow>(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?"
    ))
    .bind(session_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a session"))?
    .ok_or(StoreError::NotFound("session"))?
    .decode()
}

async fn open_session_of(
    conn: &mut SqliteConnection,
    config_id: ConfigId,
) -> StoreResult<Option<Session>> {
    sqlx::query_as::<_, SessionRow>(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE config_id = ? AND state = 'open'"
    ))
    .bind(config_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a session"))?
    .map(SessionRow::decode)
    .transpose()
}

/// The report of a session, from the orders it took payment for.
async fn build_report(conn: &mut SqliteConnection, session: Session) -> StoreResult<SessionReport> {
    let orders: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT total_minor, tax_minor, change_minor FROM orders WHERE paid_by_session_id = ? AND state = 'paid'",
    )
    .bind(session.id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read the session's orders"))?;
    let payments: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT method_id, amount_minor FROM payments WHERE session_id = ? ORDER BY method_id",
    )
    .bind(session.id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read the session's payments"))?;
    let methods: BTreeMap<PaymentMethodId, PaymentMethod> = load_payment_methods(conn)
        .await?
        .into_iter()
        .map(|method| (method.id, method))
        .collect();

    // Sums are kept wide (i128) and checked once at the end: no silent wrap.
    let mut by_method: BTreeMap<PaymentMethodId, i128> = BTreeMap::new();
    for (method_id, amount_minor) in payments {
        *by_method.entry(PaymentMethodId(method_id)).or_default() += i128::from(amount_minor);
    }
    let mut payment_totals = Vec::with_capacity(by_method.len());
    let mut cash_received: i128 = 0;
    for (method_id, amount) in by_method {
        let method = methods
            .get(&method_id)
            .ok_or_else(|| corrupt("payment", format!("unknown payment method {method_id}")))?;
        if method.kind == PaymentMethodKind::Cash {
            cash_received += amount;
        }
        payment_totals.push(PaymentTotal {
            method_id,
            name: method.name.clone(),
            kind: method.kind,
            amount: sum_money([amount], "payment total")?,
        });
    }
    let change_given: i128 = orders
        .iter()
        .map(|&(_, _, change)| i128::from(change))
        .sum();
    let expected = i128::from(session.opening_cash.minor()) + cash_received - change_given;
    let difference = session
        .counted_cash
        .map(|counted| sum_money([i128::from(counted.minor()), -expected], "cash difference"))
        .transpose()?;
    Ok(SessionReport {
        orders_paid: orders.len() as u64,
        sales_total: sum_money(
            orders.iter().map(|&(total, _, _)| i128::from(total)),
            "sales total",
        )?,
        tax_total: sum_money(
            orders.iter().map(|&(_, tax, _)| i128::from(tax)),
            "tax total",
        )?,
        payments: payment_totals,
        cash: CashSummary {
            opening: session.opening_cash,
            payments: sum_money([cash_received], "cash received")?,
            change_given: sum_money([change_given], "change given")?,
            expected: sum_money([expected], "expected cash")?,
            counted: session.counted_cash,
            difference,
        },
        session,
    })
}

async fn load_order(conn: &mut SqliteConnection, order_id: OrderId) -> StoreResult<Option<Order>> {
    sqlx::query_as::<_, OrderRow>("SELECT id, version, body FROM orders WHERE id = ?")
        .bind(order_id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read an order"))?
        .map(OrderRow::decode)
        .transpose()
}

// ---------------------------------------------------------------------------
// Writing helpers.

/// Checks what a product refers to before it is written, so the answer names
/// the culprit ("unknown category 7") rather than a bare constraint.
async fn check_product(
    conn: &mut SqliteConnection,
    product_id: Option<ProductId>,
    category_id: Option<CategoryId>,
    tax_ids: &[TaxId],
    barcode: Option<&Barcode>,
) -> StoreResult<()> {
    let distinct_tax_ids: BTreeSet<TaxId> = tax_ids.iter().copied().collect();
    if distinct_tax_ids.len() > TAXES_PER_LINE_MAX {
        return Err(StoreError::Invalid(format!(
            "a product has at most {TAXES_PER_LINE_MAX} taxes"
        )));
    }
    if let Some(category_id) = category_id
        && !exists(conn, "SELECT 1 FROM categories WHERE id = ?", category_id.0).await?
    {
        return Err(StoreError::Invalid(format!(
            "unknown category {category_id}"
        )));
    }
    for tax_id in distinct_tax_ids {
        if !exists(conn, "SELECT 1 FROM taxes WHERE id = ?", tax_id.0).await? {
            return Err(StoreError::Invalid(format!("unknown tax {tax_id}")));
        }
    }
    if let Some(barcode) = barcode {
        let holder: Option<i64> =
            sqlx::query_scalar("SELECT id FROM products WHERE barcode = ? AND id IS NOT ?")
                .bind(barcode.as_str())
                .bind(product_id.map(|id| id.0))
                .fetch_optional(&mut *conn)
                .await
                .map_err(unavailable("could not check a barcode"))?;
        if holder.is_some() {
            return Err(StoreError::Conflict(
                "barcode already used by another product".to_owned(),
            ));
        }
    }
    Ok(())
}

fn product_write_error(error: sqlx::Error) -> StoreError {
    match violation(&error) {
        Some(ErrorKind::UniqueViolation) => {
            StoreError::Conflict("barcode already used by another product".to_owned())
        }
        Some(ErrorKind::ForeignKeyViolation) => {
            StoreError::Invalid("unknown category or tax".to_owned())
        }
        _ => unavailable("could not write a product")(error),
    }
}

async fn write_product_taxes(
    conn: &mut SqliteConnection,
    product_id: ProductId,
    tax_ids: &[TaxId],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM product_taxes WHERE product_id = ?")
        .bind(product_id.0)
        .execute(&mut *conn)
        .await
        .map_err(product_write_error)?;
    for tax_id in tax_ids.iter().collect::<BTreeSet<_>>() {
        sqlx::query("INSERT INTO product_taxes (product_id, tax_id) VALUES (?, ?)")
            .bind(product_id.0)
            .bind(tax_id.0)
            .execute(&mut *conn)
            .await
            .map_err(product_write_error)?;
    }
    Ok(())
}

/// Replaces the links of `config_id` with `linked`, writing only the difference.
async fn relink(
    conn: &mut SqliteConnection,
    config_id: ConfigId,
    linked: &[ConfigId],
) -> StoreResult<()> {
    let known = config_ids(conn).await?;
    if !known.contains(&config_id) {
        return Err(StoreError::NotFound("config"));
    }
    let before = load_links(conn).await?;
    let after = before
        .set_sync_with(config_id, linked, |id| known.contains(&id))
        .map_err(|error| StoreError::Invalid(error.to_string()))?;
    let before_pairs: BTreeSet<(ConfigId, ConfigId)> = before.pairs().collect();
    let after_pairs: BTreeSet<(ConfigId, ConfigId)> = after.pairs().collect();
    for (a, b) in before_pairs.difference(&after_pairs) {
        sqlx::query("DELETE FROM sync_links WHERE config_a = ? AND config_b = ?")
            .bind(a.0)
            .bind(b.0)
            .execute(&mut *conn)
            .await
            .map_err(unavailable("could not remove a sync link"))?;
    }
    for (a, b) in after_pairs.difference(&before_pairs) {
        sqlx::query("INSERT INTO sync_links (config_a, config_b) VALUES (?, ?)")
            .bind(a.0)
            .bind(b.0)
            .execute(&mut *conn)
            .await
            .map_err(unavailable("could not add a sync link"))?;
    }
    Ok(())
}

fn order_write_error(order_id: OrderId) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match violation(&error) {
        Some(ErrorKind::ForeignKeyViolation) => StoreError::Invalid(format!(
            "order {order_id} refers to an unknown config, session, payment method, product or customer"
        )),
        Some(ErrorKind::CheckViolation) => {
            // The constraint's text names tables and columns: it goes to the log only.
            tracing::warn!(%error, %order_id, "sqlite store: an order breaks a check of the schema");
            StoreError::Invalid(format!(
                "order {order_id} is inconsistent (for example paid without a payer)"
            ))
        }
        _ => unavailable("could not write an order")(error),
    }
}

/// Writes what a payment leaves behind: payments for the session that took
/// it, stock moves of tracked products, and the invoice if one was asked for.
async fn record_payment(
    conn: &mut SqliteConnection,
    order: &Order,
    at: Timestamp,
) -> StoreResult<()> {
    let Some(paid_by) = &order.paid_by else {
        return Err(StoreError::Invalid(format!(
            "order {} is paid but does not say who took the payment",
            order.id
        )));
    };
    let order_id_text = order.id.to_string();
    for payment in &order.payments {
        sqlx::query("INSERT INTO payments (order_id, session_id, method_id, amount_minor, at) VALUES (?, ?, ?, ?, ?)")
            .bind(&order_id_text)
            .bind(paid_by.session_id.0)
            .bind(payment.method_id.0)
            .bind(payment.amount.minor())
            .bind(at.unix_millis())
            .execute(&mut *conn)
            .await
            .map_err(order_write_error(order.id))?;
    }
    for line in &order.lines {
        if line.qty == Quantity::ZERO {
            continue;
        }
        let tracks_stock: Option<bool> =
            sqlx::query_scalar("SELECT tracks_stock FROM products WHERE id = ?")
                .bind(line.product_id.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(unavailable("could not read a product"))?;
        match tracks_stock {
            Some(true) => {}
            Some(false) => continue,
            None => {
                // Products are never deleted, so this is a line from elsewhere;
                // the payment stands and the move has nowhere to go.
                tracing::warn!(order_id = %order.id, product_id = %line.product_id, "paid line of an unknown product");
                continue;
            }
        }
        // Goods leave the shop: a sale of 2 is a move of -2, a return of -1 a move of +1.
        let moved_milli = -line.qty.milli();
        sqlx::query(
            "INSERT INTO stock_moves (product_id, order_id, qty_milli, at) VALUES (?, ?, ?, ?)",
        )
        .bind(line.product_id.0)
        .bind(&order_id_text)
        .bind(moved_milli)
        .bind(at.unix_millis())
        .execute(&mut *conn)
        .await
        .map_err(order_write_error(order.id))?;
        // Clamped to what a Quantity can hold: refusing a payment the engine
        // has already accepted because the stock count ran past a million units
        // would be worse than a stock figure that needs a manual recount.
        sqlx::query(
            "UPDATE products SET on_hand_milli = MAX(?, MIN(?, on_hand_milli + ?)) WHERE id = ?",
        )
        .bind(-QUANTITY_ABS_MAX_MILLI)
        .bind(QUANTITY_ABS_MAX_MILLI)
        .bind(moved_milli)
        .bind(line.product_id.0)
        .execute(&mut *conn)
        .await
        .map_err(unavailable("could not update stock on hand"))?;
    }
    if order.invoice {
        let customer_id = order.customer_id.ok_or_else(|| {
            StoreError::Invalid(format!(
                "order {} asks for an invoice but has no customer",
                order.id
            ))
        })?;
        sqlx::query("INSERT INTO invoices (order_id, customer_id, at) VALUES (?, ?, ?)")
            .bind(&order_id_text)
            .bind(customer_id.0)
            .bind(at.unix_millis())
            .execute(&mut *conn)
            .await
            .map_err(order_write_error(order.id))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Group commit.
//
// A batch often holds many ops of one order (a busy shared draft), and each
// statement costs a round trip to sqlx's connection thread, more than the row
// it writes. So the batch is checked and encoded in memory first
// ([`BatchPlan`]); then each order's version is checked once and its row,
// whole JSON body included, written once at its last version in the batch;
// history and outcome rows go in with multi-row INSERTs. The database ends up
// holding exactly what committing the entries one by one would leave.

/// Rows in one multi-row INSERT at most: 64 rows of at most 6 columns bind
/// 384 values, far below SQLite's limit (32,766; 999 before SQLite 3.32).
const ROWS_PER_INSERT_MAX: usize = 64;

/// A batch checked and encoded without the database.
struct BatchPlan<'a> {
    /// One run per order, in the order each order first appears in the batch.
    orders: Vec<OrderRun<'a>>,
    /// Written with a plain INSERT: an accepted op that already has an answer
    /// must not take effect a second time, so the batch fails and the caller reloads.
    accepted_outcomes: Vec<OutcomeRow>,
    /// Written with `ON CONFLICT DO NOTHING`: the first answer to an op wins,
    /// so a resend that was rejected again keeps the first reject.
    rejected_outcomes: Vec<OutcomeRow>,
}

/// The accepted entries of one order in a batch, at contiguous versions.
struct OrderRun<'a> {
    order_id_text: String,
    /// The version of the run's first entry: the stored order must be one below it.
    first_version: u64,
    /// The order at the run's last version, the only state the order row needs.
    last: &'a Order,
    /// One row per entry, in version order.
    history: Vec<HistoryRow>,
}

/// A row of `order_ops`, encoded; its order id is the run's.
struct HistoryRow {
    version: i64,
    op_id: String,
    op: String,
    by: String,
    at: i64,
}

/// A row of `op_outcomes`, encoded.
struct OutcomeRow {
    op_id: String,
    order_id: String,
    outcome: String,
    at: i64,
}

impl<'a> BatchPlan<'a> {
    /// Checks what can be checked without the database (an order and its
    /// history entry agree, one order's entries follow each other version by
    /// version, an op is answered once) and encodes every row.
    fn new(entries: &'a [CommitEntry]) -> StoreResult<BatchPlan<'a>> {
        let mut orders: Vec<OrderRun<'a>> = Vec::new();
        let mut run_index: BTreeMap<OrderId, usize> = BTreeMap::new();
        // Op ids answered earlier in this batch; answers from earlier batches
        // are caught by the database when the outcome rows are inserted.
        let mut answered: BTreeSet<OpId> = BTreeSet::new();
        let mut accepted_outcomes = Vec::new();
        let mut rejected_outcomes = Vec::new();
        for entry in entries {
            match entry {
                CommitEntry::Accepted { order, entry } => {
                    check_accepted(order, entry)?;
                    let history = HistoryRow::encode(entry)?;
                    match run_index.get(&order.id) {
                        Some(&index) => {
                            let run = &mut orders[index];
                            // Versions are contiguous within the batch as in the database:
                            // an op applies to exactly the version before it.
                            if entry.version != run.last.version + 1 {
                                return Err(StoreError::Conflict(format!(
                                    "order {} reaches version {} earlier in this batch, so version {} cannot follow it",
                                    order.id, run.last.version, entry.version
                                )));
                            }
                            run.last = order;
                            run.history.push(history);
                        }
                        None => {
                            run_index.insert(order.id, orders.len());
                            orders.push(OrderRun {
                                order_id_text: order.id.to_string(),
                                first_version: entry.version,
                                last: order,
                                history: vec![history],
                            });
                        }
                    }
                    if !answered.insert(entry.op_id) {
                        return Err(StoreError::Conflict(
                            "this op already has an answer".to_owned(),
                        ));
                    }
                    let outcome = OpOutcome::Accepted {
                        order_id: order.id,
                        version: entry.version,
                    };
                    accepted_outcomes.push(OutcomeRow::encode(
                        entry.op_id,
                        order.id,
                        &outcome,
                        entry.at,
                    )?);
                }
                CommitEntry::Rejected {
                    op_id,
                    order_id,
                    reject,
                    at,
                } => {
                    // The first answer wins within the batch too: a reject after
                    // an answer earlier in the batch is dropped, as the
                    // `ON CONFLICT DO NOTHING` would drop it one entry at a time.
                    if answered.insert(*op_id) {
                        let outcome = OpOutcome::Rejected {
                            order_id: *order_id,
                            reject: reject.clone(),
                        };
                        rejected_outcomes
                            .push(OutcomeRow::encode(*op_id, *order_id, &outcome, *at)?);
                    }
                }
            }
        }
        Ok(BatchPlan {
            orders,
            accepted_outcomes,
            rejected_outcomes,
        })
    }
}

/// What an accepted entry must satisfy on its own.
fn check_accepted(order: &Order, entry: &HistoryEntry) -> StoreResult<()> {
    if entry.version == 0 || order.version != entry.version {
        return Err(StoreError::Invalid(format!(
            "op {}: the order is at version {} but its history entry is version {}",
            entry.op_id, order.version, entry.version
        )));
    }
    // Only the last state of each order in a batch reaches the orders table,
    // whose CHECK ties `paid` to a payer; the states before it are held to the
    // same rule here, so that no version in the history breaks it.
    if (order.state == OrderState::Paid) != order.paid_by.is_some() {
        return Err(StoreError::Invalid(format!(
            "order {} is inconsistent at version {} (for example paid without a payer)",
            order.id, order.version
        )));
    }
    Ok(())
}

impl HistoryRow {
    fn encode(entry: &HistoryEntry) -> StoreResult<HistoryRow> {
        Ok(HistoryRow {
            version: encode_version(entry.version)?,
            op_id: entry.op_id.to_string(),
            op: encode_json(&entry.op, "op")?,
            by: encode_json(&entry.by, "author of an op")?,
            at: entry.at.unix_millis(),
        })
    }
}

impl OutcomeRow {
    fn encode(
        op_id: OpId,
        order_id: OrderId,
        outcome: &OpOutcome,
        at: Timestamp,
    ) -> StoreResult<OutcomeRow> {
        Ok(OutcomeRow {
            op_id: op_id.to_string(),
            order_id: order_id.to_string(),
            outcome: encode_json(outcome, "op outcome")?,
            at: at.unix_millis(),
        })
    }
}

/// Inserts `rows` with as few statements as [`ROWS_PER_INSERT_MAX`] allows.
/// `head` is `INSERT INTO table (columns) `, `tail` what follows the values
/// (a conflict clause, or nothing); `bind_row` binds one row's values.
async fn insert_rows<'r, R>(
    conn: &mut SqliteConnection,
    head: &'static str,
    tail: &'static str,
    rows: &'r [R],
    bind_row: impl Fn(Separated<'_, 'r, Sqlite, &'static str>, &'r R),
) -> Result<(), sqlx::Error> {
    let mut rest = rows;
    while !rest.is_empty() {
        // Each statement takes the largest power of two of the rows left. The
        // statement text depends on the number of rows, so this keeps to 7
        // texts per kind of insert, which all stay prepared in sqlx's statement
        // cache (100 statements per connection); one text per batch size would
        // crowd it and be compiled again and again.
        let chunk_len = 1 << rest.len().min(ROWS_PER_INSERT_MAX).ilog2();
        let (chunk, after) = rest.split_at(chunk_len);
        let mut builder = QueryBuilder::<Sqlite>::new(head);
        builder.push_values(chunk, &bind_row);
        builder.push(tail);
        builder.build().execute(&mut *conn).await?;
        rest = after;
    }
    Ok(())
}

/// Moves one order from its stored version to the run's last version: one
/// version check and one write of the order row for all of the run's ops,
/// then their history rows. Answers whether the order was paid before.
async fn write_order_run(conn: &mut SqliteConnection, run: &OrderRun<'_>) -> StoreResult<bool> {
    let stored: Option<(i64, String)> =
        sqlx::query_as("SELECT version, state FROM orders WHERE id = ?")
            .bind(&run.order_id_text)
            .fetch_optional(&mut *conn)
            .await
            .map_err(unavailable("could not read an order's version"))?;
    let (stored_version, was_paid) = match stored {
        None => (0, false),
        Some((version, state)) => (
            decode_u64(version, "order version")?,
            state == OrderState::Paid.as_str(),
        ),
    };
    // Versions are contiguous: the run's first op applies to exactly the
    // stored version (the later ones were checked against each other).
    if stored_version + 1 != run.first_version {
        return Err(StoreError::Conflict(format!(
            "order {} is at version {stored_version}, so version {} cannot follow it",
            run.last.id, run.first_version
        )));
    }
    let order = run.last;
    let body = encode_json(order, "order")?;
    // The WHERE on the update repeats the version check in the statement itself,
    // as the PostgreSQL store must: only one writer can move an order on from
    // the version it read.
    let written = sqlx::query(
        "INSERT INTO orders (id, state, origin_config_id, origin_session_id, shared, version, paid_by_session_id, \
                             total_minor, tax_minor, change_minor, body, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET \
             state = excluded.state, shared = excluded.shared, version = excluded.version, \
             paid_by_session_id = excluded.paid_by_session_id, total_minor = excluded.total_minor, \
             tax_minor = excluded.tax_minor, change_minor = excluded.change_minor, body = excluded.body, \
             updated_at = excluded.updated_at \
         WHERE orders.version = ?",
    )
    .bind(&run.order_id_text)
    .bind(order.state.as_str())
    .bind(order.origin.config_id.0)
    .bind(order.origin.session_id.0)
    .bind(order.shared)
    .bind(encode_version(order.version)?)
    .bind(order.paid_by.as_ref().map(|by| by.session_id.0))
    .bind(order.totals.total.minor())
    .bind(order.totals.tax.minor())
    .bind(order.change.minor())
    .bind(&body)
    .bind(order.created_at.unix_millis())
    .bind(order.updated_at.unix_millis())
    .bind(encode_version(stored_version)?)
    .execute(&mut *conn)
    .await
    .map_err(order_write_error(order.id))?;
    if written.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "order {} moved while versions {} to {} were being written",
            order.id, run.first_version, order.version
        )));
    }

    // After the order row: the history's foreign key needs it.
    let order_id = run.order_id_text.as_str();
    insert_rows(
        conn,
        "INSERT INTO order_ops (order_id, version, op_id, op, by_json, at) ",
        "",
        &run.history,
        |mut values, row| {
            values
                .push_bind(order_id)
                .push_bind(row.version)
                .push_bind(row.op_id.as_str())
                .push_bind(row.op.as_str())
                .push_bind(row.by.as_str())
                .push_bind(row.at);
        },
    )
    .await
    .map_err(conflict_on_unique(
        "this op is already committed",
        "could not append an op",
    ))?;
    Ok(was_paid)
}

/// Records what each payment leaves behind. `paid` says, for every order of
/// the batch, whether it was paid before the batch.
async fn record_payments(
    conn: &mut SqliteConnection,
    entries: &[CommitEntry],
    mut paid: BTreeMap<OrderId, bool>,
) -> StoreResult<()> {
    // In batch order, each with the state and time of the op that made its
    // order paid (an order may become paid at any of its ops in the batch):
    // payments, stock moves and invoices get the rows and numbers they would
    // get if each op were committed on its own.
    for entry in entries {
        let CommitEntry::Accepted { order, entry } = entry else {
            continue;
        };
        let is_paid = order.state == OrderState::Paid;
        let was_paid = paid.insert(order.id, is_paid) == Some(true);
        if is_paid && !was_paid {
            record_payment(conn, order, entry.at).await?;
        }
    }
    Ok(())
}

/// Writes the batch's answers. Within the batch every op id appears once
/// (see [`BatchPlan::new`]), so the two statements cannot clash with each other.
async fn write_outcomes(conn: &mut SqliteConnection, plan: &BatchPlan<'_>) -> StoreResult<()> {
    fn bind_outcome<'r>(mut values: Separated<'_, 'r, Sqlite, &'static str>, row: &'r OutcomeRow) {
        values
            .push_bind(row.op_id.as_str())
            .push_bind(row.order_id.as_str())
            .push_bind(row.outcome.as_str())
            .push_bind(row.at);
    }
    insert_rows(
        conn,
        "INSERT INTO op_outcomes (op_id, order_id, outcome, at) ",
        "",
        &plan.accepted_outcomes,
        bind_outcome,
    )
    .await
    .map_err(conflict_on_unique(
        "this op already has an answer",
        "could not record an op outcome",
    ))?;
    insert_rows(
        conn,
        "INSERT INTO op_outcomes (op_id, order_id, outcome, at) ",
        " ON CONFLICT (op_id) DO NOTHING",
        &plan.rejected_outcomes,
        bind_outcome,
    )
    .await
    .map_err(unavailable("could not record a reject"))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The trait.

#[async_trait]
impl Store for SqliteStore {
    async fn count_users(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.reader)
            .await
            .map_err(unavailable("could not count users"))?;
        decode_u64(count, "user count")
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sqlx::query_as::<_, UserRow>("SELECT id, login, name, role FROM users ORDER BY id")
            .fetch_all(&self.reader)
            .await
            .map_err(unavailable("could not list users"))?
            .into_iter()
            .map(UserRow::decode)
            .collect()
    }

    async fn get_user(&self, user_id: UserId) -> StoreResult<User> {
        let mut conn = self
            .reader
            .acquire()
            .await
            .map_err(unavailable("could not get a connection"))?;
        load_user(&mut conn, user_id).await
    }

    async fn create_user(
        &self,
        login: &Login,
        name: &Name,
        role: Role,
        password_hash: &str,
    ) -> StoreResult<User> {
        let mut tx = self.write_tx().await?;
        let user_id =
            sqlx::query("INSERT INTO users (login, name, role, password_hash) VALUES (?, ?, ?, ?)")
                .bind(login.as_str())
                .bind(name.as_str())
                .bind(role.as_str())
                .bind(password_hash)
                .execute(&mut *tx)
                .await
                .map_err(conflict_on_unique(
                    "login already taken",
                    "could not create a user",
                ))?
                .last_insert_rowid();
        let user = load_user(&mut tx, UserId(user_id)).await?;
        commit(tx).await?;
        Ok(user)
    }

    async fn update_user(
        &self,
        user_id: UserId,
        name: Option<&Name>,
        role: Option<Role>,
        password_hash: Option<&str>,
    ) -> StoreResult<User> {
        let mut tx = self.write_tx().await?;
        let user = load_user(&mut tx, user_id).await?;
        if user.role == Role::Manager && role.is_some_and(|role| role != Role::Manager) {
            let other_managers: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'manager' AND id != ?")
                    .bind(user_id.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(unavailable("could not count managers"))?;
            if other_managers == 0 {
                return Err(StoreError::Conflict(
                    "cannot demote the last manager: promote someone else first".to_owned(),
                ));
            }
        }
        sqlx::query(
            "UPDATE users SET name = COALESCE(?, name), role = COALESCE(?, role), \
             password_hash = COALESCE(?, password_hash) WHERE id = ?",
        )
        .bind(name.map(Name::as_str))
        .bind(role.map(Role::as_str))
        .bind(password_hash)
        .bind(user_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update a user"))?;
        let user = load_user(&mut tx, user_id).await?;
        commit(tx).await?;
        Ok(user)
    }

    async fn find_login(&self, login: &Login) -> StoreResult<Option<(User, String)>> {
        let row: Option<(i64, String, String, String, String)> = sqlx::query_as(
            "SELECT id, login, name, role, password_hash FROM users WHERE login = ?",
        )
        .bind(login.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(unavailable("could not find a login"))?;
        row.map(|(id, login, name, role, password_hash)| {
            let user = UserRow {
                id,
                login,
                name,
                role,
            }
            .decode()?;
            Ok((user, password_hash))
        })
        .transpose()
    }

    async fn create_token(
        &self,
        token_hash: &str,
        owner: TokenOwner,
        created_at: Timestamp,
    ) -> StoreResult<()> {
        let (owner_kind, user_id, session_id) = match owner {
            TokenOwner::User { user_id } => ("user", user_id, None),
            TokenOwner::Terminal {
                user_id,
                session_id,
            } => ("terminal", user_id, Some(session_id.0)),
        };
        sqlx::query("INSERT INTO tokens (hash, owner_kind, user_id, session_id, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(token_hash)
            .bind(owner_kind)
            .bind(user_id.0)
            .bind(session_id)
            .bind(created_at.unix_millis())
            .execute(&self.writer)
            .await
            .map_err(|error| match violation(&error) {
                Some(ErrorKind::UniqueViolation) => StoreError::Conflict("token already exists".to_owned()),
                Some(ErrorKind::ForeignKeyViolation) => {
                    StoreError::Invalid("the token's owner names an unknown user or session".to_owned())
                }
                _ => unavailable("could not create a token")(error),
            })?;
        Ok(())
    }

    async fn find_token(&self, token_hash: &str) -> StoreResult<Option<TokenOwner>> {
        let row: Option<(String, i64, Option<i64>)> =
            sqlx::query_as("SELECT owner_kind, user_id, session_id FROM tokens WHERE hash = ?")
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await
                .map_err(unavailable("could not find a token"))?;
        row.map(
            |(owner_kind, user_id, session_id)| match (owner_kind.as_str(), session_id) {
                ("user", None) => Ok(TokenOwner::User {
                    user_id: UserId(user_id),
                }),
                ("terminal", Some(session_id)) => Ok(TokenOwner::Terminal {
                    user_id: UserId(user_id),
                    session_id: SessionId(session_id),
                }),
                _ => Err(corrupt("token owner", owner_kind)),
            },
        )
        .transpose()
    }

    async fn list_products(&self) -> StoreResult<Vec<Product>> {
        let mut tx = self.read_tx().await?;
        let rows = sqlx::query_as::<_, ProductRow>(
            "SELECT id, name, price_minor, category_id, barcode, tracks_stock, on_hand_milli FROM products ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable("could not list products"))?;
        let taxes: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT product_id, tax_id FROM product_taxes ORDER BY product_id, tax_id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable("could not list product taxes"))?;
        commit(tx).await?;
        let mut tax_ids: BTreeMap<i64, Vec<TaxId>> = BTreeMap::new();
        for (product_id, tax_id) in taxes {
            tax_ids.entry(product_id).or_default().push(TaxId(tax_id));
        }
        rows.into_iter()
            .map(|row| {
                let product_tax_ids = tax_ids.remove(&row.id).unwrap_or_default();
                row.decode(product_tax_ids)
            })
            .collect()
    }

    async fn get_product(&self, product_id: ProductId) -> StoreResult<Product> {
        let mut tx = self.read_tx().await?;
        let product = load_product(&mut tx, product_id).await?;
        commit(tx).await?;
        Ok(product)
    }

    async fn create_product(&self, new: &ProductNew) -> StoreResult<Product> {
        let mut tx = self.write_tx().await?;
        check_product(
            &mut tx,
            None,
            new.category_id,
            &new.tax_ids,
            new.barcode.as_ref(),
        )
        .await?;
        let product_id = sqlx::query(
            "INSERT INTO products (name, price_minor, category_id, barcode, tracks_stock, on_hand_milli) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(new.name.as_str())
        .bind(new.price.minor())
        .bind(new.category_id.map(|id| id.0))
        .bind(new.barcode.as_ref().map(Barcode::as_str))
        .bind(new.tracks_stock)
        .bind(new.on_hand.milli())
        .execute(&mut *tx)
        .await
        .map_err(product_write_error)?
        .last_insert_rowid();
        let product_id = ProductId(product_id);
        write_product_taxes(&mut tx, product_id, &new.tax_ids).await?;
        let product = load_product(&mut tx, product_id).await?;
        commit(tx).await?;
        Ok(product)
    }

    async fn update_product(
        &self,
        product_id: ProductId,
        changes: &ProductChanges,
    ) -> StoreResult<Product> {
        let mut tx = self.write_tx().await?;
        let mut product = load_product(&mut tx, product_id).await?;
        product.apply_changes(changes.clone());
        check_product(
            &mut tx,
            Some(product_id),
            product.category_id,
            &product.tax_ids,
            product.barcode.as_ref(),
        )
        .await?;
        sqlx::query(
            "UPDATE products SET name = ?, price_minor = ?, category_id = ?, barcode = ?, tracks_stock = ?, \
             on_hand_milli = ? WHERE id = ?",
        )
        .bind(product.name.as_str())
        .bind(product.price.minor())
        .bind(product.category_id.map(|id| id.0))
        .bind(product.barcode.as_ref().map(Barcode::as_str))
        .bind(product.tracks_stock)
        .bind(product.on_hand.milli())
        .bind(product_id.0)
        .execute(&mut *tx)
        .await
        .map_err(product_write_error)?;
        if changes.tax_ids.is_some() {
            write_product_taxes(&mut tx, product_id, &product.tax_ids).await?;
        }
        let product = load_product(&mut tx, product_id).await?;
        commit(tx).await?;
        Ok(product)
    }

    async fn list_categories(&self) -> StoreResult<Vec<Category>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM categories ORDER BY id")
                .fetch_all(&self.reader)
                .await
                .map_err(unavailable("could not list categories"))?;
        rows.into_iter()
            .map(|(id, name)| {
                Ok(Category {
                    id: CategoryId(id),
                    name: decode_name(&name, "category name")?,
                })
            })
            .collect()
    }

    async fn get_category(&self, category_id: CategoryId) -> StoreResult<Category> {
        let mut conn = self
            .reader
            .acquire()
            .await
            .map_err(unavailable("could not get a connection"))?;
        load_category(&mut conn, category_id).await
    }

    async fn create_category(&self, new: &CategoryNew) -> StoreResult<Category> {
        let mut tx = self.write_tx().await?;
        let category_id = sqlx::query("INSERT INTO categories (name) VALUES (?)")
            .bind(new.name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(unavailable("could not create a category"))?
            .last_insert_rowid();
        let category = load_category(&mut tx, CategoryId(category_id)).await?;
        commit(tx).await?;
        Ok(category)
    }

    async fn update_category(
        &self,
        category_id: CategoryId,
        changes: &CategoryChanges,
    ) -> StoreResult<Category> {
        let mut tx = self.write_tx().await?;
        let mut category = load_category(&mut tx, category_id).await?;
        if let Some(name) = &changes.name {
            category.name = name.clone();
        }
        sqlx::query("UPDATE categories SET name = ? WHERE id = ?")
            .bind(category.name.as_str())
            .bind(category_id.0)
            .execute(&mut *tx)
            .await
            .map_err(unavailable("could not update a category"))?;
        let category = load_category(&mut tx, category_id).await?;
        commit(tx).await?;
        Ok(category)
    }

    async fn list_taxes(&self) -> StoreResult<Vec<Tax>> {
        sqlx::query_as::<_, TaxRow>(
            "SELECT id, name, rate_bp, price_included FROM taxes ORDER BY id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(unavailable("could not list taxes"))?
        .into_iter()
        .map(TaxRow::decode)
        .collect()
    }

    async fn get_tax(&self, tax_id: TaxId) -> StoreResult<Tax> {
        let mut conn = self
            .reader
            .acquire()
            .await
            .map_err(unavailable("could not get a connection"))?;
        load_tax(&mut conn, tax_id).await
    }

    async fn create_tax(&self, new: &TaxNew) -> StoreResult<Tax> {
        let mut tx = self.write_tx().await?;
        let tax_id =
            sqlx::query("INSERT INTO taxes (name, rate_bp, price_included) VALUES (?, ?, ?)")
                .bind(new.name.as_str())
                .bind(new.rate.basis_points())
                .bind(new.price_included)
                .execute(&mut *tx)
                .await
                .map_err(unavailable("could not create a tax"))?
                .last_insert_rowid();
        let tax = load_tax(&mut tx, TaxId(tax_id)).await?;
        commit(tx).await?;
        Ok(tax)
    }

    async fn update_tax(&self, tax_id: TaxId, changes: &TaxChanges) -> StoreResult<Tax> {
        let mut tx = self.write_tx().await?;
        let mut tax = load_tax(&mut tx, tax_id).await?;
        if let Some(name) = &changes.name {
            tax.name = name.clone();
        }
        if let Some(rate) = changes.rate {
            tax.rate = rate;
        }
        if let Some(price_included) = changes.price_included {
            tax.price_included = price_included;
        }
        sqlx::query("UPDATE taxes SET name = ?, rate_bp = ?, price_included = ? WHERE id = ?")
            .bind(tax.name.as_str())
            .bind(tax.rate.basis_points())
            .bind(tax.price_included)
            .bind(tax_id.0)
            .execute(&mut *tx)
            .await
            .map_err(unavailable("could not update a tax"))?;
        let tax = load_tax(&mut tx, tax_id).await?;
        commit(tx).await?;
        Ok(tax)
    }

    async fn list_customers(&self) -> StoreResult<Vec<Customer>> {
        sqlx::query_as::<_, CustomerRow>("SELECT id, name, email, phone FROM customers ORDER BY id")
            .fetch_all(&self.reader)
            .await
            .map_err(unavailable("could not list customers"))?
            .into_iter()
            .map(CustomerRow::decode)
            .collect()
    }

    async fn get_customer(&self, customer_id: CustomerId) -> StoreResult<Customer> {
        let mut conn = self
            .reader
            .acquire()
            .await
            .map_err(unavailable("could not get a connection"))?;
        load_customer(&mut conn, customer_id).await
    }

    async fn create_customer(&self, new: &CustomerNew) -> StoreResult<Customer> {
        let mut tx = self.write_tx().await?;
        let customer_id =
            sqlx::query("INSERT INTO customers (name, email, phone) VALUES (?, ?, ?)")
                .bind(new.name.as_str())
                .bind(new.email.as_ref().map(Name::as_str))
                .bind(new.phone.as_ref().map(Name::as_str))
                .execute(&mut *tx)
                .await
                .map_err(unavailable("could not create a customer"))?
                .last_insert_rowid();
        let customer = load_customer(&mut tx, CustomerId(customer_id)).await?;
        commit(tx).await?;
        Ok(customer)
    }

    async fn update_customer(
        &self,
        customer_id: CustomerId,
        changes: &CustomerChanges,
    ) -> StoreResult<Customer> {
        let mut tx = self.write_tx().await?;
        let mut customer = load_customer(&mut tx, customer_id).await?;
        if let Some(name) = &changes.name {
            customer.name = name.clone();
        }
        if let Some(email) = &changes.email {
            customer.email = email.clone();
        }
        if let Some(phone) = &changes.phone {
            customer.phone = phone.clone();
        }
        sqlx::query("UPDATE customers SET name = ?, email = ?, phone = ? WHERE id = ?")
            .bind(customer.name.as_str())
            .bind(customer.email.as_ref().map(Name::as_str))
            .bind(customer.phone.as_ref().map(Name::as_str))
            .bind(customer_id.0)
            .execute(&mut *tx)
            .await
            .map_err(unavailable("could not update a customer"))?;
        let customer = load_customer(&mut tx, customer_id).await?;
        commit(tx).await?;
        Ok(customer)
    }

    async fn list_payment_methods(&self) -> StoreResult<Vec<PaymentMethod>> {
        let mut conn = self
            .reader
            .acquire()
            .await
            .map_err(unavailable("could not get a connection"))?;
        load_payment_methods(&mut conn).await
    }

    async fn get_payment_method(&self, method_id: PaymentMethodId) -> StoreResult<PaymentMethod> {
        let mut conn = self
            .reader
            .acquire()
            .await
            .map_err(unavailable("could not get a connection"))?;
        load_payment_method(&mut conn, method_id).await
    }

    async fn create_payment_method(&self, new: &PaymentMethodNew) -> StoreResult<PaymentMethod> {
        let mut tx = self.write_tx().await?;
        let method_id = sqlx::query("INSERT INTO payment_methods (name, kind) VALUES (?, ?)")
            .bind(new.name.as_str())
            .bind(new.kind.as_str())
            .execute(&mut *tx)
            .await
            .map_err(unavailable("could not create a payment method"))?
            .last_insert_rowid();
        let method = load_payment_method(&mut tx, PaymentMethodId(method_id)).await?;
        commit(tx).await?;
        Ok(method)
    }

    async fn update_payment_method(
        &self,
        method_id: PaymentMethodId,
        changes: &PaymentMethodChanges,
    ) -> StoreResult<PaymentMethod> {
        let mut tx = self.write_tx().await?;
        let mut method = load_payment_method(&mut tx, method_id).await?;
        if let Some(name) = &changes.name {
            method.name = name.clone();
        }
        if let Some(kind) = changes.kind {
            method.kind = kind;
        }
        sqlx::query("UPDATE payment_methods SET name = ?, kind = ? WHERE id = ?")
            .bind(method.name.as_str())
            .bind(method.kind.as_str())
            .bind(method_id.0)
            .execute(&mut *tx)
            .await
            .map_err(unavailable("could not update a payment method"))?;
        let method = load_payment_method(&mut tx, method_id).await?;
        commit(tx).await?;
        Ok(method)
    }

    async fn list_configs(&self) -> StoreResult<Vec<Config>> {
        let mut tx = self.read_tx().await?;
        let configs = load_configs(&mut tx, None).await?;
        commit(tx).await?;
        Ok(configs)
    }

    async fn get_config(&self, config_id: ConfigId) -> StoreResult<Config> {
        let mut tx = self.read_tx().await?;
        let config = load_config(&mut tx, config_id).await?;
        commit(tx).await?;
        Ok(config)
    }

    async fn create_config(&self, new: &ConfigNew) -> StoreResult<Config> {
        let mut tx = self.write_tx().await?;
        let config_id = sqlx::query("INSERT INTO configs (name, auto_share) VALUES (?, ?)")
            .bind(new.name.as_str())
            .bind(new.auto_share)
            .execute(&mut *tx)
            .await
            .map_err(unavailable("could not create a config"))?
            .last_insert_rowid();
        let config_id = ConfigId(config_id);
        // On a bad link the transaction is dropped, so the config is not created either.
        relink(&mut tx, config_id, &new.sync_with).await?;
        let config = load_config(&mut tx, config_id).await?;
        commit(tx).await?;
        Ok(config)
    }

    async fn update_config(
        &self,
        config_id: ConfigId,
        changes: &ConfigChanges,
    ) -> StoreResult<Config> {
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query(
            "UPDATE configs SET name = COALESCE(?, name), auto_share = COALESCE(?, auto_share) WHERE id = ?",
        )
        .bind(changes.name.as_ref().map(Name::as_str))
        .bind(changes.auto_share)
        .bind(config_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update a config"))?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound("config"));
        }
        let config = load_config(&mut tx, config_id).await?;
        commit(tx).await?;
        Ok(config)
    }

    async fn set_sync_with(&self, config_id: ConfigId, linked: &[ConfigId]) -> StoreResult<Config> {
        let mut tx = self.write_tx().await?;
        relink(&mut tx, config_id, linked).await?;
        let config = load_config(&mut tx, config_id).await?;
        commit(tx).await?;
        Ok(config)
    }

    async fn load_links(&self) -> StoreResult<SyncLinks> {
        let mut conn = self
            .reader
            .acquire()
            .await
            .map_err(unavailable("could not get a connection"))?;
        load_links(&mut conn).await
    }

    async fn open_or_join_session(
        &self,
        config_id: ConfigId,
        user_id: UserId,
        opening_cash: Money,
        now: Timestamp,
    ) -> StoreResult<(Session, bool)> {
        // One IMMEDIATE transaction: the look for an open session and the insert
        // cannot be split by another opener, in this process or another.
        let mut tx = self.write_tx().await?;
        if !exists(&mut tx, "SELECT 1 FROM configs WHERE id = ?", config_id.0).await? {
            return Err(StoreError::NotFound("config"));
        }
        if !exists(&mut tx, "SELECT 1 FROM users WHERE id = ?", user_id.0).await? {
            return Err(StoreError::Invalid(format!("unknown user {user_id}")));
        }
        if let Some(session) = open_session_of(&mut tx, config_id).await? {
            commit(tx).await?;
            return Ok((session, true));
        }
        let inserted = sqlx::query(
            "INSERT INTO sessions (config_id, state, opened_at, opened_by, opening_cash) VALUES (?, 'open', ?, ?, ?)",
        )
        .bind(config_id.0)
        .bind(now.unix_millis())
        .bind(user_id.0)
        .bind(opening_cash.minor())
        .execute(&mut *tx)
        .await;
        let opened = match inserted {
            Ok(result) => (
                load_session(&mut tx, SessionId(result.last_insert_rowid())).await?,
                false,
            ),
            // The partial unique index caught a second open session: join it.
            Err(error) if violation(&error) == Some(ErrorKind::UniqueViolation) => {
                let session = open_session_of(&mut tx, config_id).await?.ok_or_else(|| {
                    StoreError::Conflict("the config's session changed; try again".to_owned())
                })?;
                (session, true)
            }
            Err(error) => return Err(unavailable("could not open a session")(error)),
        };
        commit(tx).await?;
        Ok(opened)
    }

    async fn get_session(&self, session_id: SessionId) -> StoreResult<Session> {
        let mut conn = self
            .reader
            .acquire()
            .await
            .map_err(unavailable("could not get a connection"))?;
        load_session(&mut conn, session_id).await
    }

    async fn list_sessions(&self) -> StoreResult<Vec<Session>> {
        sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions ORDER BY opened_at DESC, id DESC"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(unavailable("could not list sessions"))?
        .into_iter()
        .map(SessionRow::decode)
        .collect()
    }

    async fn close_session(
        &self,
        session_id: SessionId,
        counted_cash: Option<Money>,
        now: Timestamp,
    ) -> StoreResult<SessionReport> {
        let mut tx = self.write_tx().await?;
        let session = load_session(&mut tx, session_id).await?;
        if session.state == SessionState::Closed {
            return Err(StoreError::Conflict(format!(
                "session {session_id} is already closed"
            )));
        }
        sqlx::query(
            "UPDATE sessions SET state = 'closed', closed_at = ?, counted_cash = ? WHERE id = ? AND state = 'open'",
        )
        .bind(now.unix_millis())
        .bind(counted_cash.map(Money::minor))
        .bind(session_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not close a session"))?;
        let session = load_session(&mut tx, session_id).await?;
        let report = build_report(&mut tx, session).await?;
        commit(tx).await?;
        Ok(report)
    }

    async fn session_report(&self, session_id: SessionId) -> StoreResult<SessionReport> {
        let mut tx = self.read_tx().await?;
        let session = load_session(&mut tx, session_id).await?;
        let report = build_report(&mut tx, session).await?;
        commit(tx).await?;
        Ok(report)
    }

    async fn get_order(&self, order_id: OrderId) -> StoreResult<Option<Order>> {
        let mut conn = self
            .reader
            .acquire()
            .await
            .map_err(unavailable("could not get a connection"))?;
        load_order(&mut conn, order_id).await
    }

    async fn list_orders(&self, state: OrderState) -> StoreResult<Vec<Order>> {
        sqlx::query_as::<_, OrderRow>(
            "SELECT id, version, body FROM orders WHERE state = ? ORDER BY created_at, id",
        )
        .bind(state.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(unavailable("could not list orders"))?
        .into_iter()
        .map(OrderRow::decode)
        .collect()
    }

    async fn commit_batch(&self, entries: &[CommitEntry]) -> StoreResult<()> {
        if entries.len() > crate::COMMIT_ENTRIES_PER_BATCH_MAX {
            return Err(StoreError::Invalid(format!(
                "a batch holds at most {} entries",
                crate::COMMIT_ENTRIES_PER_BATCH_MAX
            )));
        }
        if entries.is_empty() {
            return Ok(());
        }
        // Checked and encoded before the write lock is taken.
        let plan = BatchPlan::new(entries)?;
        // One transaction for the batch: one fsync, and on any error the
        // dropped transaction rolls back every entry.
        let mut tx = self.write_tx().await?;
        let mut paid = BTreeMap::new();
        for run in &plan.orders {
            let was_paid = write_order_run(&mut tx, run).await?;
            paid.insert(run.last.id, was_paid);
        }
        record_payments(&mut tx, entries, paid).await?;
        write_outcomes(&mut tx, &plan).await?;
        commit(tx).await
    }

    async fn find_op_outcome(&self, op_id: OpId) -> StoreResult<Option<OpOutcome>> {
        let outcome: Option<String> =
            sqlx::query_scalar("SELECT outcome FROM op_outcomes WHERE op_id = ?")
                .bind(op_id.to_string())
                .fetch_optional(&self.reader)
                .await
                .map_err(unavailable("could not find an op outcome"))?;
        outcome
            .map(|text| decode_json(&text, "op outcome"))
            .transpose()
    }

    async fn order_history(&self, order_id: OrderId) -> StoreResult<Vec<HistoryEntry>> {
        let rows: Vec<(i64, String, String, String, i64)> =
            sqlx::query_as("SELECT version, op_id, op, by_json, at FROM order_ops WHERE order_id = ? ORDER BY version")
                .bind(order_id.to_string())
                .fetch_all(&self.reader)
                .await
                .map_err(unavailable("could not read an order's history"))?;
        let mut history = Vec::with_capacity(rows.len());
        for (expected_version, (version, op_id, op, by, at)) in (1u64..).zip(rows) {
            let version = decode_u64(version, "history version")?;
            // Versions are contiguous from 1 after load, as they were before append.
            if version != expected_version {
                return Err(corrupt(
                    "order history",
                    format!(
                        "order {order_id} jumps to version {version} where {expected_version} was due"
                    ),
                ));
            }
            history.push(HistoryEntry {
                version,
                op_id: OpId(decode_uuid(&op_id, "op id")?),
                op: decode_json(&op, "op")?,
                by: decode_json(&by, "author of an op")?,
                at: timestamp(at),
            });
        }
        Ok(history)
    }

    async fn list_stock_moves(&self, product_id: ProductId) -> StoreResult<Vec<StockMove>> {
        let mut tx = self.read_tx().await?;
        if !exists(&mut tx, "SELECT 1 FROM products WHERE id = ?", product_id.0).await? {
            return Err(StoreError::NotFound("product"));
        }
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT order_id, qty_milli, at FROM stock_moves WHERE product_id = ? ORDER BY id",
        )
        .bind(product_id.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable("could not list stock moves"))?;
        commit(tx).await?;
        rows.into_iter()
            .map(|(order_id, qty_milli, at)| {
                Ok(StockMove {
                    product_id,
                    order_id: OrderId(decode_uuid(&order_id, "order id")?),
                    qty: decode_quantity(qty_milli, "stock move")?,
                    at: timestamp(at),
                })
            })
            .collect()
    }

    async fn list_invoices(&self) -> StoreResult<Vec<Invoice>> {
        let rows: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT invoices.number, invoices.order_id, invoices.customer_id, orders.total_minor, invoices.at \
             FROM invoices JOIN orders ON orders.id = invoices.order_id ORDER BY invoices.number",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(unavailable("could not list invoices"))?;
        rows.into_iter()
            .map(|(number, order_id, customer_id, total_minor, at)| {
                Ok(Invoice {
                    number: decode_u64(number, "invoice number")?,
                    order_id: OrderId(decode_uuid(&order_id, "order id")?),
                    customer_id: CustomerId(customer_id),
                    total: decode_money(total_minor, "invoice total")?,
                    at: timestamp(at),
                })
            })
            .collect()
    }
}
