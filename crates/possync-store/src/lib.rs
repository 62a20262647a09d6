//! possync-store: where the shop's data lives.
//!
//! [`Store`] is the one interface the server uses; [`sqlite::SqliteStore`] is
//! the embedded default (WAL, `synchronous=FULL`) and a PostgreSQL store
//! implements the same trait for several server nodes. The contract test
//! suite (the `possync-store-contract` crate) runs against every
//! implementation, so they cannot drift.
//!
//! The store holds no rules of its own beyond integrity: validation lives in
//! `possync-core` types, which is why every input here is already parsed, and
//! what a payment leaves behind or what a session report adds up is computed
//! by `possync-core` ([`PaymentLedger`], [`session_report`]); a store only
//! reads what those need and writes what they answer.
//!
//! [`PaymentLedger`]: possync_core::PaymentLedger
//! [`session_report`]: possync_core::session_report

mod batch;
mod database_errors;
mod paging;
#[cfg(feature = "postgres")]
pub mod postgres;
mod rows;
pub mod sqlite;

use async_trait::async_trait;
use possync_core::*;
use serde::{Deserialize, Serialize};

/// What can go wrong in a store call, by what the caller should answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist (HTTP 404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input refers to something that does not exist or breaks a rule (HTTP 400).
    #[error("{0}")]
    Invalid(String),
    /// The input clashes with existing data (HTTP 409); the variant says with what.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// The database failed; the cause is logged, never shown to clients (HTTP 503).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The database's schema is not the one this build knows (not migrated yet,
    /// or migrated by a newer build); the message says what to run.
    #[error("{0}")]
    Schema(String),
}

/// Why a write clashes with what the store holds. Callers match on the variant
/// (the HTTP API turns each into its own error code; the sync node reloads an
/// order whose version moved); the message is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// Another user has this login.
    #[error("login already taken")]
    LoginTaken,
    /// Another product has this barcode.
    #[error("barcode already used by another product")]
    BarcodeTaken,
    /// The change would leave the shop without a manager.
    #[error("cannot demote the last manager: promote someone else first")]
    LastManager,
    /// The session is closed already: closing it again, or committing a
    /// batch that accepts an op of it (a close on another node came first;
    /// nothing of the batch was written).
    #[error("session {0} is already closed")]
    SessionClosed(SessionId),
    /// A token with this hash exists.
    #[error("token already exists")]
    TokenExists,
    /// The config's open session changed while joining it; trying again joins or opens afresh.
    #[error("the session of config {0} changed; try again")]
    SessionChanged(ConfigId),
    /// An accepted op does not follow the order's version (stored, or reached
    /// earlier in the same batch): another writer moved the order, or the batch
    /// skips a version. Nothing of the batch was written; reload the order.
    #[error("order {order_id} is at version {current}, so version {next} cannot follow it")]
    OrderVersion {
        order_id: OrderId,
        current: u64,
        next: u64,
    },
    /// An accepted op already has an answer (in the store, or earlier in the
    /// batch): it must not take effect twice. Nothing of the batch was written;
    /// the op's first answer is in the store.
    #[error("an op of this batch already has an answer")]
    OpAnswered,
    /// A refund draft of the batch would bring a line of the paid order back
    /// beyond what it sold, counting every refund of it that is not
    /// cancelled (another server made one meanwhile). Nothing of the batch
    /// was written. `refund_ids` are the batch's refund drafts of that order:
    /// the node refuses them and commits the rest of the batch again.
    #[error("order {order_id} cannot be refunded like this: {message}")]
    RefundBeyondSold {
        order_id: OrderId,
        refund_ids: Vec<OrderId>,
        message: String,
    },
    /// The config's printer has as many jobs waiting as it may
    /// ([`possync_core::PRINT_JOBS_QUEUED_PER_PRINTER_MAX`]).
    #[error("the printer of config {0} has a full queue; try again once it prints")]
    PrintQueueFull(ConfigId),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Paid orders one sales report reads at most (a busy shop's year is well below).
pub const SALE_FACTS_PER_REPORT_MAX: usize = 500_000;

/// Entries in one `commit_batch` at most; a larger batch is `Invalid`.
pub const COMMIT_ENTRIES_PER_BATCH_MAX: usize = 10_000;

/// How a store uses its database connections. `None` keeps the store's own
/// default, which the README lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Pooled connections at most: all of them for PostgreSQL, the readers
    /// (next to the one writer) for SQLite.
    pub connections_max: Option<u32>,
    /// How long a call waits for a free connection (or, for PostgreSQL, for a
    /// new one to open) before it answers `Unavailable`.
    pub acquire_timeout_ms: Option<u64>,
    /// How long one statement may run (PostgreSQL's `statement_timeout`) or wait
    /// for another process's lock (SQLite's `busy_timeout`).
    pub statement_timeout_ms: Option<u64>,
}

/// Who a bearer token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenOwner {
    /// A back-office login.
    User { user_id: UserId },
    /// A terminal bound to one session, opened by `user_id`.
    Terminal {
        user_id: UserId,
        session_id: SessionId,
    },
}

/// A stored token: whose it is and whether it still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRecord {
    pub owner: TokenOwner,
    pub created_at: Timestamp,
    /// `None`: no time limit of its own (terminal tokens die with their session).
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// Where a page of orders starts: just after this order, in the listing's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderCursor {
    pub created_at: Timestamp,
    pub order_id: OrderId,
}

impl OrderCursor {
    /// The cursor that continues a listing after `order`.
    pub fn after(order: &Order) -> OrderCursor {
        OrderCursor {
            created_at: order.created_at,
            order_id: order.id,
        }
    }
}

/// The orders a session of `config_id` may read (PROTOCOL.md "Visibility"):
/// `linked` are the configs linked to it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadableBy<'a> {
    pub config_id: ConfigId,
    pub linked: &'a [ConfigId],
}

/// One page of [`Store::list_orders_page`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrdersPage<'a> {
    pub state: OrderState,
    pub after: Option<OrderCursor>,
    /// At most this many orders, 1 to [`PAGE_LIMIT_MAX`].
    pub limit: u32,
    /// `None`: every order (a manager); else only what that config may read.
    pub readable_by: Option<ReadableBy<'a>>,
}

/// One entry of the audit trail of manager actions: who did what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    /// Who did it.
    pub user_id: UserId,
    /// What was done, e.g. `links.set`, `product.update`, `user.update`, `session.close`.
    pub action: String,
    /// What it was done to, e.g. `config 3`, `product 12`, `user 4`.
    pub target: String,
    /// The change itself, as a JSON object (never a password or a PIN).
    pub details: serde_json::Value,
}

/// An entry to append to the audit trail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuditNew<'a> {
    pub at: Timestamp,
    pub user_id: UserId,
    pub action: &'a str,
    pub target: &'a str,
    pub details: &'a serde_json::Value,
}

/// The largest page any listing answers.
pub const PAGE_LIMIT_MAX: u32 = 1000;

/// The changes of [`Store::update_user`]; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserEdit<'a> {
    pub name: Option<&'a Name>,
    pub role: Option<Role>,
    pub password_hash: Option<&'a str>,
    /// `Some(None)` removes the user's PIN.
    pub pin_hash: Option<Option<&'a str>>,
    pub active: Option<bool>,
    /// Replaces the user's counters.
    pub config_ids: Option<&'a [ConfigId]>,
}

pub use possync_core::journal::{CommitEntry, HistoryEntry, OpOutcome};
// The report and payment records are computed in the core; they are
// re-exported here because the store is where callers read them.
pub use possync_core::payment::{Invoice, StockMove};
pub use possync_core::report::{CashSummary, PaymentTotal, SessionReport};

/// The shop's durable state. Every method is one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers `Ok` once the database has answered a trivial query, else
    /// `Unavailable`: what readiness (`/readyz`) asks of the store.
    async fn ping(&self) -> StoreResult<()>;

    // Users and authentication.
    async fn count_users(&self) -> StoreResult<u64>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    async fn get_user(&self, user_id: UserId) -> StoreResult<User>;
    /// Fails with [`Conflict::LoginTaken`] when the login is taken, `Invalid` for an unknown config.
    async fn create_user(
        &self,
        login: &Login,
        name: &Name,
        role: Role,
        password_hash: &str,
        config_ids: &[ConfigId],
    ) -> StoreResult<User>;
    /// Changes what `edit` names. Refuses ([`Conflict::LastManager`]) to demote
    /// or deactivate the last active manager; `Invalid` for an unknown config.
    async fn update_user(&self, user_id: UserId, edit: &UserEdit<'_>) -> StoreResult<User>;
    /// The user and their password hash, for login.
    async fn find_login(&self, login: &Login) -> StoreResult<Option<(User, String)>>;
    /// A user and the hash of their PIN (`None`: no PIN), to check an approval.
    async fn find_pin(&self, user_id: UserId) -> StoreResult<Option<(User, Option<String>)>>;
    /// Stores a token by its hash (the token itself is never stored). A token
    /// without `expires_at` lives as long as its owner (a terminal token: its session).
    async fn create_token(
        &self,
        token_hash: &str,
        owner: TokenOwner,
        created_at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<()>;
    /// A token by its hash, revoked or expired ones included: the caller decides.
    async fn find_token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>>;
    /// Revokes one token; `false` when it was unknown or already revoked.
    async fn revoke_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<bool>;
    /// Revokes every token of the user: their logins and the terminal tokens
    /// they were handed when opening or joining a session. Answers the hashes
    /// revoked now, so live connections of those tokens can be closed.
    async fn revoke_user_tokens(&self, user_id: UserId, now: Timestamp)
    -> StoreResult<Vec<String>>;
    /// Appends an entry to the audit trail (`Invalid` for an unknown user).
    async fn append_audit(&self, entry: &AuditNew<'_>) -> StoreResult<AuditEntry>;
    /// At most `limit` audit entries, newest first, with ids below `before`.
    async fn list_audit_page(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>>;
    /// The users who opened or joined the session (a terminal token was handed to them), ascending.
    async fn session_user_ids(&self, session_id: SessionId) -> StoreResult<Vec<UserId>>;

    // Catalog. Creates check references (category, taxes) and answer `Invalid` for unknown ones;
    // a barcode already used by another product is [`Conflict::BarcodeTaken`].
    async fn list_products(&self) -> StoreResult<Vec<Product>>;
    async fn get_product(&self, product_id: ProductId) -> StoreResult<Product>;
    async fn create_product(&self, new: &ProductNew) -> StoreResult<Product>;
    async fn update_product(
        &self,
        product_id: ProductId,
        changes: &ProductChanges,
    ) -> StoreResult<Product>;
    async fn list_categories(&self) -> StoreResult<Vec<Category>>;
    async fn get_category(&self, category_id: CategoryId) -> StoreResult<Category>;
    async fn create_category(&self, new: &CategoryNew) -> StoreResult<Category>;
    async fn update_category(
        &self,
        category_id: CategoryId,
        changes: &CategoryChanges,
    ) -> StoreResult<Category>;
    async fn list_taxes(&self) -> StoreResult<Vec<Tax>>;
    async fn get_tax(&self, tax_id: TaxId) -> StoreResult<Tax>;
    async fn create_tax(&self, new: &TaxNew) -> StoreResult<Tax>;
    async fn update_tax(&self, tax_id: TaxId, changes: &TaxChanges) -> StoreResult<Tax>;
    async fn list_customers(&self) -> StoreResult<Vec<Customer>>;
    async fn get_customer(&self, customer_id: CustomerId) -> StoreResult<Customer>;
    async fn create_customer(&self, new: &CustomerNew) -> StoreResult<Customer>;
    async fn update_customer(
        &self,
        customer_id: CustomerId,
        changes: &CustomerChanges,
    ) -> StoreResult<Customer>;
    async fn list_payment_methods(&self) -> StoreResult<Vec<PaymentMethod>>;
    async fn get_payment_method(&self, method_id: PaymentMethodId) -> StoreResult<PaymentMethod>;
    async fn create_payment_method(&self, new: &PaymentMethodNew) -> StoreResult<PaymentMethod>;
    async fn update_payment_method(
        &self,
        method_id: PaymentMethodId,
        changes: &PaymentMethodChanges,
    ) -> StoreResult<PaymentMethod>;

    // Configs and sync links. `sync_with` and `open_session_id` are filled in on every read.
    async fn list_configs(&self) -> StoreResult<Vec<Config>>;
    async fn get_config(&self, config_id: ConfigId) -> StoreResult<Config>;
    /// Creates the config and links it two-way to `new.sync_with` (unknown ids: `Invalid`).
    async fn create_config(&self, new: &ConfigNew) -> StoreResult<Config>;
    async fn update_config(
        &self,
        config_id: ConfigId,
        changes: &ConfigChanges,
    ) -> StoreResult<Config>;
    /// Replaces the config's links (two-way; dropped links vanish both ways).
    /// Self-links and unknown ids are `Invalid` and change nothing.
    async fn set_sync_with(&self, config_id: ConfigId, linked: &[ConfigId]) -> StoreResult<Config>;
    async fn load_links(&self) -> StoreResult<SyncLinks>;
    /// Every pair of configs ever linked, the current links included.
    async fn load_links_ever(&self) -> StoreResult<SyncLinks>;

    // Terminal identity.
    /// Binds a terminal id to the terminal token (by its hash) that first names
    /// it, atomically; answers the token hash it is bound to, which is another
    /// one when a different token got there first.
    async fn bind_terminal(
        &self,
        terminal: TerminalId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<String>;

    // Sessions.
    /// Opens a session for the config, or joins the one already open (`joined` = true).
    /// At most one session per config is open, even under concurrent calls.
    async fn open_or_join_session(
        &self,
        config_id: ConfigId,
        user_id: UserId,
        opening_cash: Money,
        now: Timestamp,
    ) -> StoreResult<(Session, bool)>;
    async fn get_session(&self, session_id: SessionId) -> StoreResult<Session>;
    /// Newest first.
    async fn list_sessions(&self) -> StoreResult<Vec<Session>>;
    /// At most `limit` sessions, newest (highest id) first, with ids below `before`.
    async fn list_sessions_page(
        &self,
        before: Option<SessionId>,
        limit: u32,
    ) -> StoreResult<Vec<Session>>;
    /// Closes an open session (a closed one is [`Conflict::SessionClosed`]) and returns its report.
    async fn close_session(
        &self,
        session_id: SessionId,
        counted_cash: Option<Money>,
        now: Timestamp,
    ) -> StoreResult<SessionReport>;
    async fn session_report(&self, session_id: SessionId) -> StoreResult<SessionReport>;

    // Orders.
    async fn get_order(&self, order_id: OrderId) -> StoreResult<Option<Order>>;
    /// The refunds of `order_id` that are not cancelled (drafts and paid), oldest first.
    async fn refunds_of(&self, order_id: OrderId) -> StoreResult<Vec<Order>>;
    /// Orders in `state`, oldest first.
    async fn list_orders(&self, state: OrderState) -> StoreResult<Vec<Order>>;
    /// One page of orders in a state: drafts oldest first, paid and cancelled
    /// newest first (by creation, then id). Reads only the page, by index.
    async fn list_orders_page(&self, page: &OrdersPage<'_>) -> StoreResult<Vec<Order>>;
    /// Writes a batch of op outcomes in one transaction: all or nothing.
    /// An accepted entry's version must be exactly one more than the stored
    /// order's (1 for a new order), else the whole batch fails with
    /// [`Conflict::OrderVersion`]; an accepted op whose `op_id` already has an
    /// outcome fails it with [`Conflict::OpAnswered`]. A rejected
    /// entry whose `op_id` already has an outcome keeps the first one.
    /// At most [`COMMIT_ENTRIES_PER_BATCH_MAX`] entries.
    async fn commit_batch(&self, entries: &[CommitEntry]) -> StoreResult<()>;
    /// The first final answer given to `op_id`, if any.
    async fn find_op_outcome(&self, op_id: OpId) -> StoreResult<Option<OpOutcome>>;
    /// Of the op ids answered and the order ids stored, the greatest one whose
    /// first 48 bits (a UUIDv7's creation time in milliseconds) are at most
    /// `at_most_ms`, read as a time stamp: what a starting sync node needs to
    /// know which recent ids may skip the store (`possync_engine::freshness`).
    /// Ids of other UUID versions count by the same bits. `None` when no id
    /// is that old.
    async fn newest_id_stamp_ms(&self, at_most_ms: i64) -> StoreResult<Option<i64>>;
    /// Every accepted op of the order, in version order.
    async fn order_history(&self, order_id: OrderId) -> StoreResult<Vec<HistoryEntry>>;
    /// At most `limit` accepted ops of the order with versions above `after_version`, in order.
    async fn order_history_page(
        &self,
        order_id: OrderId,
        after_version: u64,
        limit: u32,
    ) -> StoreResult<Vec<HistoryEntry>>;
    /// The stock moves of paid orders (sales and refunds) of a product, oldest
    /// first (`NotFound` for an unknown product).
    async fn list_stock_moves(&self, product_id: ProductId) -> StoreResult<Vec<StockMove>>;
    /// Every stock move of a product (sales, refunds and adjustments), newest
    /// first: at most `limit` with an id below `before` (`NotFound` for an
    /// unknown product).
    async fn list_stock_moves_page(
        &self,
        product_id: ProductId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<StockMoveEntry>>;
    /// Adjusts a product's stock by hand in one transaction: reads its level,
    /// plans the move with [`plan_stock_adjustment`] and writes the move (by
    /// `user_id`) and the new level. Answers the move and the product after
    /// it; a refused plan is `Invalid` and changes nothing.
    async fn adjust_stock(
        &self,
        product_id: ProductId,
        input: &StockAdjustmentInput,
        user_id: UserId,
        at: Timestamp,
    ) -> StoreResult<(StockMoveEntry, Product)>;
    /// Every invoice, by number.
    async fn list_invoices(&self) -> StoreResult<Vec<Invoice>>;
    /// The orders paid in `[from, to)`, by time of payment, each with its
    /// payments and (when `with_lines`) its lines: what
    /// [`possync_core::sales_report`] adds up. More than
    /// [`SALE_FACTS_PER_REPORT_MAX`] orders is `Invalid` (ask a shorter period).
    async fn list_sale_facts(
        &self,
        from: Timestamp,
        to: Timestamp,
        with_lines: bool,
    ) -> StoreResult<Vec<SaleFact>>;

    // After payment (issue 12): the shop's header, receipts, invoices, cash moves.
    async fn get_shop(&self) -> StoreResult<Shop>;
    async fn update_shop(&self, changes: ShopChanges) -> StoreResult<Shop>;
    /// The receipt number a paid order was given (`None` before payment).
    async fn receipt_number(&self, order_id: OrderId) -> StoreResult<Option<String>>;
    /// Invoices newest first: at most `limit` with a number below `before` (all when `None`).
    async fn list_invoices_page(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<Invoice>>;
    /// The invoice with this number, if any.
    async fn get_invoice(&self, number: u64) -> StoreResult<Option<Invoice>>;
    async fn invoice_of_order(&self, order_id: OrderId) -> StoreResult<Option<Invoice>>;
    /// Records cash put into (positive) or taken out of the drawer of an open
    /// session; a closed one is [`Conflict::SessionClosed`].
    async fn add_cash_move(
        &self,
        session_id: SessionId,
        amount: Money,
        reason: &Note,
        user_id: UserId,
        at: Timestamp,
    ) -> StoreResult<CashMove>;

    // Receipt printers (issue 12). A payment's receipt job is written by
    // `commit_batch` in the payment's transaction, for the paying config's
    // printer, as `possync_core::receipt_print_job` decides.
    /// Queues a job (a reprint); [`Conflict::PrintQueueFull`] when the
    /// config's printer has as many jobs waiting as it may, `NotFound` for an
    /// unknown config.
    async fn queue_print_job(&self, job: &PrintJobNew) -> StoreResult<PrintJob>;
    /// The configs that have a printer and jobs waiting for it, by config id.
    async fn queued_printers(&self) -> StoreResult<Vec<(ConfigId, PrinterAddress)>>;
    /// Takes the oldest waiting job of the config's printer until
    /// `lease_until` (counting the attempt), unless it is taken by someone
    /// else whose lease has not run out at `now`: so each printer prints one
    /// job at a time, in order, whatever the number of nodes.
    async fn take_print_job(
        &self,
        config_id: ConfigId,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<Option<PrintJob>>;
    /// Ends an attempt at a taken job: printed or abandoned, it leaves the
    /// queue; failed, it waits for the next attempt. Records what the attempt
    /// found at the printer.
    async fn finish_print_job(
        &self,
        job: &PrintJob,
        outcome: &PrintOutcome,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// The config's printer, its state and its queue (`NotFound` for an unknown config).
    async fn printer_status(&self, config_id: ConfigId) -> StoreResult<PrinterStatus>;
}

/// The smallest UUID whose first 48 bits are the time stamp `ms` (clamped to
/// the 48 bits): every id stamped at most `ms - 1` sorts below it, in both
/// stores (SQLite compares the lowercase text, PostgreSQL the bytes).
pub(crate) fn first_uuid_stamped(ms: i64) -> uuid::Uuid {
    let ms = u128::try_from(ms.clamp(0, (1 << 48) - 1)).unwrap_or_default();
    uuid::Uuid::from_u128(ms << 80)
}

/// The time stamp in an id's first 48 bits (a UUIDv7's creation time).
pub(crate) fn uuid_stamp_ms(id: uuid::Uuid) -> i64 {
    i64::try_from(id.as_u128() >> 80).unwrap_or(i64::MAX)
}
