//! The SQLite store: one file in WAL mode with `synchronous=FULL`, two writer
//! connections (the commit thread's, for ops, and sqlx's, for everything
//! else) that take turns, and a pool of readers that never wait for them.
//!
//! The two writers take the store's write turn ([`WriteTurn`], a fair async
//! lock) before `BEGIN IMMEDIATE` and keep it to the end of the transaction,
//! so within the process writes queue in order instead of meeting at SQLite's
//! lock, whose busy handler retries after sleeps of 1 to 100 ms and could
//! starve a back-office write behind a stream of commits. SQLite's lock and
//! busy timeout still order writes against other processes on the file.
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

mod after_payment;
pub mod backup;
mod catalog;
mod commit;
mod configs;
mod orders;
mod printing;
mod sales;
mod sessions;
mod stock;
mod terminals;
mod users;

use crate::database_errors::{is_damaged, unavailable};
use crate::{
    AuditEntry, AuditNew, CommitEntry, ConnectionSettings, HistoryEntry, Invoice, OpOutcome,
    OrdersPage, SessionReport, StockMove, Store, StoreError, StoreResult, TokenOwner, TokenRecord,
    UserEdit,
};
use async_trait::async_trait;
use possync_core::*;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The schema, embedded in the binary so a deployment is one file.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Reader connections at most by default: enough for the back office and
/// catch-ups on a small machine.
pub const READ_CONNECTIONS_MAX_DEFAULT: u32 = 4;
/// How long a call waits for a free connection by default.
pub const ACQUIRE_TIMEOUT_MS_DEFAULT: u64 = 30_000;

/// How long a statement waits by default for a lock held by another process
/// (a backup being taken, a second store on the file) before it fails.
pub const BUSY_TIMEOUT_MS_DEFAULT: u64 = 5_000;

/// The embedded SQLite store. Cloning is cheap and shares the connections.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The group commit of ops, on a thread that owns its connection
    /// (`commit`): the hot path, a whole batch per hand-off.
    committer: commit::Committer,
    /// Every other write, on exactly one connection: queueing for the pool is
    /// cheaper and fairer than retrying on `SQLITE_BUSY`.
    writer: SqlitePool,
    /// Taken by either writer for the whole of each write.
    turn: WriteTurn,
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
    /// WAL pages after which a commit on this connection checkpoints
    /// (`wal_autocheckpoint`). The commit connection sets it for each batch
    /// by the batch's size (`commit`).
    pub wal_autocheckpoint_pages: i64,
}

/// The pragmas of the commit connection, the writer connection and one reader connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlitePragmas {
    /// The commit thread's connection, which writes every op.
    pub committer: ConnectionPragmas,
    pub writer: ConnectionPragmas,
    pub reader: ConnectionPragmas,
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file if it is missing, and
    /// brings its schema up to date, with the default connection settings.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        SqliteStore::open_with(path, &ConnectionSettings::default()).await
    }

    /// [`SqliteStore::open`] with `settings`: `connections_max` readers (next
    /// to the one writer), `statement_timeout_ms` as SQLite's busy timeout.
    pub async fn open_with(path: &Path, settings: &ConnectionSettings) -> StoreResult<SqliteStore> {
        let acquire_timeout = Duration::from_millis(
            settings
                .acquire_timeout_ms
                .unwrap_or(ACQUIRE_TIMEOUT_MS_DEFAULT),
        );
        let busy_timeout = Duration::from_millis(
            settings
                .statement_timeout_ms
                .unwrap_or(BUSY_TIMEOUT_MS_DEFAULT),
        );
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL syncs the WAL at every commit: an acknowledged op survives a power cut.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(busy_timeout);
        let open_failed = |error: sqlx::Error| {
            tracing::error!(%error, path = %path.display(), "sqlite store: cannot open the database");
            if is_damaged(&error) {
                return damaged(path, &error);
            }
            StoreError::Unavailable(format!("cannot open {}: {error}", path.display()))
        };
        let writer = SqlitePoolOptions::new()
            .acquire_timeout(acquire_timeout)
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
            match &error {
                sqlx::migrate::MigrateError::Execute(cause) if is_damaged(cause) => {
                    damaged(path, cause)
                }
                _ => StoreError::Unavailable(format!("cannot migrate {}: {error}", path.display())),
            }
        })?;
        let reader = SqlitePoolOptions::new()
            .acquire_timeout(acquire_timeout)
            .max_connections(
                settings
                    .connections_max
                    .unwrap_or(READ_CONNECTIONS_MAX_DEFAULT)
                    .max(1),
            )
            .connect_with(options)
            .await
            .map_err(open_failed)?;
        // Last: the schema is in place, and the commit connection is opened
        // on a file SQLite has already read as a database.
        let turn = WriteTurn::default();
        let committer = commit::Committer::start(path, busy_timeout, turn.clone()).await?;
        Ok(SqliteStore {
            committer,
            writer,
            turn,
            reader,
        })
    }

    /// Closes every connection, waiting for them to finish. The store answers
    /// `Unavailable` afterwards.
    pub async fn close(&self) {
        self.committer.close().await;
        self.reader.close().await;
        self.writer.close().await;
    }

    /// The pragmas in effect on the commit connection, the writer and a reader connection.
    pub async fn pragmas(&self) -> StoreResult<SqlitePragmas> {
        Ok(SqlitePragmas {
            committer: self.committer.pragmas().await?,
            writer: connection_pragmas(&self.writer).await?,
            reader: connection_pragmas(&self.reader).await?,
        })
    }

    /// Begins a write on sqlx's writer connection, in the store's write turn.
    async fn write_tx(&self) -> StoreResult<WriteTx> {
        let turn = self.turn.take().await;
        let tx = match self.writer.begin_with("BEGIN IMMEDIATE").await {
            Err(sqlx::Error::InvalidSavePointStatement) => {
                self.replace_stuck_writer().await?;
                self.writer
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(unavailable("could not begin a write"))
            }
            begun => begun.map_err(unavailable("could not begin a write")),
        }?;
        Ok(WriteTx { tx, turn })
    }

    /// When the disk is full, SQLite rolls a failing transaction back by
    /// itself; sqlx's own ROLLBACK then fails, and sqlx goes on believing the
    /// writer connection is inside a transaction: every later `BEGIN
    /// IMMEDIATE` is refused (`InvalidSavePointStatement`), so writes never
    /// worked again, even once space returned. The stuck connection is closed
    /// (closing also rolls back whatever SQLite might still hold open) and the
    /// pool opens a fresh one for the next write.
    async fn replace_stuck_writer(&self) -> StoreResult<()> {
        tracing::warn!(
            "sqlite store: the writer connection was left inside a failed transaction; replacing it"
        );
        let stuck = self
            .writer
            .acquire()
            .await
            .map_err(unavailable("could not get the writer connection"))?;
        if let Err(error) = sqlx::Connection::close(stuck.detach()).await {
            tracing::warn!(%error, "sqlite store: closing the stuck writer connection failed");
        }
        Ok(())
    }

    async fn read_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.reader
            .begin()
            .await
            .map_err(unavailable("could not begin a read"))
    }
}

/// The answer to a database file that SQLite cannot read as a database: it is
/// left exactly as it is (nothing is ever written to it), and the message says
/// how to get back to work.
fn damaged(path: &Path, error: &sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!(
        "the database file {} is damaged ({error}); possync left it untouched. \
         Restore the last backup with `possync restore`, or move the file away to start with an empty database",
        path.display()
    ))
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
    let wal_autocheckpoint_pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(&mut *conn)
        .await
        .map_err(failed)?;
    Ok(ConnectionPragmas {
        journal_mode,
        synchronous,
        foreign_keys: foreign_keys == 1,
        busy_timeout_ms,
        wal_autocheckpoint_pages,
    })
}

/// The store's write turn: the commit thread and sqlx's writer take it for
/// the whole of each write, in the order they asked (tokio's mutex is fair).
#[derive(Debug, Clone, Default)]
struct WriteTurn(Arc<Mutex<()>>);

impl WriteTurn {
    async fn take(&self) -> OwnedMutexGuard<()> {
        self.0.clone().lock_owned().await
    }
}

/// A transaction on sqlx's writer connection, holding the write turn until it
/// is committed or dropped (rolled back).
struct WriteTx {
    /// Declared before `turn`: fields drop in order, so an uncommitted
    /// transaction's rollback is queued on the connection before the turn
    /// passes on.
    tx: Transaction<'static, Sqlite>,
    turn: OwnedMutexGuard<()>,
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

/// A transaction [`commit_tx`] ends: a read, or a write with its turn.
trait Finish {
    /// The transaction, and the write turn to hold until it is committed.
    fn into_parts(self) -> (Transaction<'static, Sqlite>, Option<OwnedMutexGuard<()>>);
}

impl Finish for Transaction<'static, Sqlite> {
    fn into_parts(self) -> (Transaction<'static, Sqlite>, Option<OwnedMutexGuard<()>>) {
        (self, None)
    }
}

impl Finish for WriteTx {
    fn into_parts(self) -> (Transaction<'static, Sqlite>, Option<OwnedMutexGuard<()>>) {
        (self.tx, Some(self.turn))
    }
}

/// Commits `tx`; a write's turn passes on only once the commit is done.
async fn commit_tx(tx: impl Finish) -> StoreResult<()> {
    let (tx, turn) = tx.into_parts();
    let committed = tx.commit().await.map_err(unavailable("could not commit"));
    drop(turn);
    committed
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
// The trait: each method is written in the module of its section.

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(unavailable("the database does not answer"))?;
        Ok(())
    }

    async fn count_users(&self) -> StoreResult<u64> {
        users::count_users(self).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        users::list_users(self).await
    }

    async fn get_user(&self, user_id: UserId) -> StoreResult<User> {
        users::get_user(self, user_id).await
    }

    async fn create_user(
        &self,
        login: &Login,
        name: &Name,
        role: Role,
        password_hash: &str,
        config_ids: &[ConfigId],
    ) -> StoreResult<User> {
        users::create_user(self, login, name, role, password_hash, config_ids).await
    }

    async fn update_user(&self, user_id: UserId, edit: &UserEdit<'_>) -> StoreResult<User> {
        users::update_user(self, user_id, edit).await
    }

    async fn find_login(&self, login: &Login) -> StoreResult<Option<(User, String)>> {
        users::find_login(self, login).await
    }

    async fn find_pin(&self, user_id: UserId) -> StoreResult<Option<(User, Option<String>)>> {
        users::find_pin(self, user_id).await
    }

    async fn create_token(
        &self,
        token_hash: &str,
        owner: TokenOwner,
        created_at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        users::create_token(self, token_hash, owner, created_at, expires_at).await
    }

    async fn find_token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        users::find_token(self, token_hash).await
    }

    async fn revoke_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<bool> {
        users::revoke_token(self, token_hash, now).await
    }

    async fn revoke_user_tokens(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> StoreResult<Vec<String>> {
        users::revoke_user_tokens(self, user_id, now).await
    }

    async fn append_audit(&self, entry: &AuditNew<'_>) -> StoreResult<AuditEntry> {
        users::append_audit(self, entry).await
    }

    async fn list_audit_page(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        users::list_audit_page(self, before, limit).await
    }

    async fn session_user_ids(&self, session_id: SessionId) -> StoreResult<Vec<UserId>> {
        users::session_user_ids(self, session_id).await
    }

    async fn list_products(&self) -> StoreResult<Vec<Product>> {
        catalog::list_products(self).await
    }

    async fn get_product(&self, product_id: ProductId) -> StoreResult<Product> {
        catalog::get_product(self, product_id).await
    }

    async fn create_product(&self, new: &ProductNew) -> StoreResult<Product> {
        catalog::create_product(self, new).await
    }

    async fn update_product(
        &self,
        product_id: ProductId,
        changes: &ProductChanges,
    ) -> StoreResult<Product> {
        catalog::update_product(self, product_id, changes).await
    }

    async fn list_categories(&self) -> StoreResult<Vec<Category>> {
        catalog::list_categories(self).await
    }

    async fn get_category(&self, category_id: CategoryId) -> StoreResult<Category> {
        catalog::get_category(self, category_id).await
    }

    async fn create_category(&self, new: &CategoryNew) -> StoreResult<Category> {
        catalog::create_category(self, new).await
    }

    async fn update_category(
        &self,
        category_id: CategoryId,
        changes: &CategoryChanges,
    ) -> StoreResult<Category> {
        catalog::update_category(self, category_id, changes).await
    }

    async fn list_taxes(&self) -> StoreResult<Vec<Tax>> {
        catalog::list_taxes(self).await
    }

    async fn get_tax(&self, tax_id: TaxId) -> StoreResult<Tax> {
        catalog::get_tax(self, tax_id).await
    }

    async fn create_tax(&self, new: &TaxNew) -> StoreResult<Tax> {
        catalog::create_tax(self, new).await
    }

    async fn update_tax(&self, tax_id: TaxId, changes: &TaxChanges) -> StoreResult<Tax> {
        catalog::update_tax(self, tax_id, changes).await
    }

    async fn list_customers(&self) -> StoreResult<Vec<Customer>> {
        catalog::list_customers(self).await
    }

    async fn get_customer(&self, customer_id: CustomerId) -> StoreResult<Customer> {
        catalog::get_customer(self, customer_id).await
    }

    async fn create_customer(&self, new: &CustomerNew) -> StoreResult<Customer> {
        catalog::create_customer(self, new).await
    }

    async fn update_customer(
        &self,
        customer_id: CustomerId,
        changes: &CustomerChanges,
    ) -> StoreResult<Customer> {
        catalog::update_customer(self, customer_id, changes).await
    }

    async fn list_payment_methods(&self) -> StoreResult<Vec<PaymentMethod>> {
        catalog::list_payment_methods(self).await
    }

    async fn get_payment_method(&self, method_id: PaymentMethodId) -> StoreResult<PaymentMethod> {
        catalog::get_payment_method(self, method_id).await
    }

    async fn create_payment_method(&self, new: &PaymentMethodNew) -> StoreResult<PaymentMethod> {
        catalog::create_payment_method(self, new).await
    }

    async fn update_payment_method(
        &self,
        method_id: PaymentMethodId,
        changes: &PaymentMethodChanges,
    ) -> StoreResult<PaymentMethod> {
        catalog::update_payment_method(self, method_id, changes).await
    }

    async fn list_configs(&self) -> StoreResult<Vec<Config>> {
        configs::list_configs(self).await
    }

    async fn get_config(&self, config_id: ConfigId) -> StoreResult<Config> {
        configs::get_config(self, config_id).await
    }

    async fn create_config(&self, new: &ConfigNew) -> StoreResult<Config> {
        configs::create_config(self, new).await
    }

    async fn update_config(
        &self,
        config_id: ConfigId,
        changes: &ConfigChanges,
    ) -> StoreResult<Config> {
        configs::update_config(self, config_id, changes).await
    }

    async fn set_sync_with(&self, config_id: ConfigId, linked: &[ConfigId]) -> StoreResult<Config> {
        configs::set_sync_with(self, config_id, linked).await
    }

    async fn load_links(&self) -> StoreResult<SyncLinks> {
        configs::load_links(self).await
    }

    async fn load_links_ever(&self) -> StoreResult<SyncLinks> {
        configs::load_links_ever(self).await
    }

    async fn bind_terminal(
        &self,
        terminal: TerminalId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<String> {
        terminals::bind_terminal(self, terminal, token_hash, now).await
    }

    async fn open_or_join_session(
        &self,
        config_id: ConfigId,
        user_id: UserId,
        opening_cash: Money,
        now: Timestamp,
    ) -> StoreResult<(Session, bool)> {
        sessions::open_or_join_session(self, config_id, user_id, opening_cash, now).await
    }

    async fn get_session(&self, session_id: SessionId) -> StoreResult<Session> {
        sessions::get_session(self, session_id).await
    }

    async fn list_sessions(&self) -> StoreResult<Vec<Session>> {
        sessions::list_sessions(self).await
    }

    async fn close_session(
        &self,
        session_id: SessionId,
        counted_cash: Option<Money>,
        now: Timestamp,
    ) -> StoreResult<SessionReport> {
        sessions::close_session(self, session_id, counted_cash, now).await
    }

    async fn session_report(&self, session_id: SessionId) -> StoreResult<SessionReport> {
        sessions::session_report(self, session_id).await
    }

    async fn get_order(&self, order_id: OrderId) -> StoreResult<Option<Order>> {
        orders::get_order(self, order_id).await
    }

    async fn refunds_of(&self, order_id: OrderId) -> StoreResult<Vec<Order>> {
        orders::refunds_of(self, order_id).await
    }

    async fn list_orders_page(&self, page: &OrdersPage<'_>) -> StoreResult<Vec<Order>> {
        orders::list_orders_page(self, page).await
    }

    async fn order_history_page(
        &self,
        order_id: OrderId,
        after_version: u64,
        limit: u32,
    ) -> StoreResult<Vec<HistoryEntry>> {
        orders::order_history_page(self, order_id, after_version, limit).await
    }

    async fn list_sessions_page(
        &self,
        before: Option<SessionId>,
        limit: u32,
    ) -> StoreResult<Vec<Session>> {
        sessions::list_sessions_page(self, before, limit).await
    }

    async fn list_orders(&self, state: OrderState) -> StoreResult<Vec<Order>> {
        orders::list_orders(self, state).await
    }

    async fn commit_batch(&self, entries: &[CommitEntry]) -> StoreResult<()> {
        self.committer.commit(entries).await
    }

    async fn find_op_outcome(&self, op_id: OpId) -> StoreResult<Option<OpOutcome>> {
        orders::find_op_outcome(self, op_id).await
    }

    async fn newest_id_stamp_ms(&self, at_most_ms: i64) -> StoreResult<Option<i64>> {
        orders::newest_id_stamp_ms(self, at_most_ms).await
    }

    async fn order_history(&self, order_id: OrderId) -> StoreResult<Vec<HistoryEntry>> {
        orders::order_history(self, order_id).await
    }

    async fn list_stock_moves(&self, product_id: ProductId) -> StoreResult<Vec<StockMove>> {
        orders::list_stock_moves(self, product_id).await
    }
    async fn list_stock_moves_page(
        &self,
        product_id: ProductId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<StockMoveEntry>> {
        stock::list_stock_moves_page(self, product_id, before, limit).await
    }
    async fn adjust_stock(
        &self,
        product_id: ProductId,
        input: &StockAdjustmentInput,
        user_id: UserId,
        at: Timestamp,
    ) -> StoreResult<(StockMoveEntry, Product)> {
        stock::adjust_stock(self, product_id, input, user_id, at).await
    }

    async fn list_sale_facts(
        &self,
        from: Timestamp,
        to: Timestamp,
        with_lines: bool,
    ) -> StoreResult<Vec<SaleFact>> {
        sales::list_sale_facts(self, from, to, with_lines).await
    }

    async fn list_invoices(&self) -> StoreResult<Vec<Invoice>> {
        orders::list_invoices(self).await
    }

    async fn get_shop(&self) -> StoreResult<Shop> {
        after_payment::get_shop(self).await
    }

    async fn update_shop(&self, changes: ShopChanges) -> StoreResult<Shop> {
        after_payment::update_shop(self, changes).await
    }

    async fn receipt_number(&self, order_id: OrderId) -> StoreResult<Option<String>> {
        after_payment::receipt_number(self, order_id).await
    }

    async fn list_invoices_page(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<Invoice>> {
        after_payment::list_invoices_page(self, before, limit).await
    }

    async fn get_invoice(&self, number: u64) -> StoreResult<Option<Invoice>> {
        after_payment::get_invoice(self, number).await
    }

    async fn invoice_of_order(&self, order_id: OrderId) -> StoreResult<Option<Invoice>> {
        after_payment::invoice_of_order(self, order_id).await
    }

    async fn add_cash_move(
        &self,
        session_id: SessionId,
        amount: Money,
        reason: &Note,
        user_id: UserId,
        at: Timestamp,
    ) -> StoreResult<CashMove> {
        after_payment::add_cash_move(self, session_id, amount, reason, user_id, at).await
    }

    async fn queue_print_job(&self, job: &PrintJobNew) -> StoreResult<PrintJob> {
        printing::queue_print_job(self, job).await
    }

    async fn queued_printers(&self) -> StoreResult<Vec<(ConfigId, PrinterAddress)>> {
        printing::queued_printers(self).await
    }

    async fn take_print_job(
        &self,
        config_id: ConfigId,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<Option<PrintJob>> {
        printing::take_print_job(self, config_id, now, lease_until).await
    }

    async fn finish_print_job(
        &self,
        job: &PrintJob,
        outcome: &PrintOutcome,
        at: Timestamp,
    ) -> StoreResult<()> {
        printing::finish_print_job(self, job, outcome, at).await
    }

    async fn printer_status(&self, config_id: ConfigId) -> StoreResult<PrinterStatus> {
        printing::printer_status(self, config_id).await
    }
}
