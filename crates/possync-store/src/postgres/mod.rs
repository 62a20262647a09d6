//! The PostgreSQL store: the same tables and promises as the SQLite store, for
//! several server nodes on one database.
//!
//! Every trait method is one transaction at READ COMMITTED, made safe for
//! concurrent writers by what PostgreSQL itself offers rather than by a lock in
//! this process: the version check on the order row
//! (`UPDATE orders ... WHERE id = $1 AND version = $2`), unique keys on op ids,
//! row locks (`FOR UPDATE`) where a write depends on what it read (the last
//! manager, stock levels, the invoice counter, the links of a config), and
//! `INSERT ... ON CONFLICT` where two nodes may create the same row. Reads of
//! more than one statement run in one REPEATABLE READ, READ ONLY transaction,
//! so they see one snapshot.
//!
//! The schema is never changed behind an operator's back: [`PostgresStore::migrate`]
//! (`possync migrate`) applies the migrations, and [`PostgresStore::connect`]
//! refuses a database whose schema is not exactly the one this build knows.
//!
//! Ids and JSON are `uuid` and `jsonb` in the tables; statements bind them as
//! text with a cast and read them back as text, so the row types and their
//! parsing are shared with the SQLite store (`crate::rows`).

mod after_payment;
mod catalog;
pub mod changes;
mod commit;
mod configs;
mod orders;
mod printing;
mod sales;
mod sessions;
mod stock;
mod terminals;
mod users;

use crate::database_errors::unavailable;
use crate::{
    AuditEntry, AuditNew, CommitEntry, ConnectionSettings, HistoryEntry, Invoice, OpOutcome,
    OrdersPage, SessionReport, StockMove, Store, StoreError, StoreResult, TokenOwner, TokenRecord,
    UserEdit,
};
use async_trait::async_trait;
use possync_core::*;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// The schema, embedded in the binary so a deployment is one file.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The newest migration this build knows: what a migrated database is at.
pub fn latest_migration() -> Option<i64> {
    MIGRATOR.iter().map(|migration| migration.version).max()
}

/// Pooled connections by default: enough for a node's writer, readers and
/// catch-ups, few enough that a handful of nodes stay far below PostgreSQL's
/// default `max_connections` of 100.
pub const CONNECTIONS_MAX_DEFAULT: u32 = 10;
/// How long a call waits for a connection by default.
pub const ACQUIRE_TIMEOUT_MS_DEFAULT: u64 = 5_000;
/// How long one statement may run by default: a group commit that waits on a
/// lock longer than this fails (and its ops are answered `unavailable`) rather
/// than holding a node's writer indefinitely.
pub const STATEMENT_TIMEOUT_MS_DEFAULT: u64 = 10_000;

/// The PostgreSQL store. Cloning is cheap and shares the pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

/// Where the database's schema stands against this build's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions this call applied, in order (empty when the schema was current).
    pub applied: Vec<i64>,
    /// The newest version the database is at now.
    pub current: Option<i64>,
}

impl PostgresStore {
    /// Connects to the database at `url` and checks that its schema is exactly
    /// the one this build knows; otherwise answers [`StoreError::Schema`] saying
    /// what to run. Never changes the schema.
    pub async fn connect(url: &str, settings: &ConnectionSettings) -> StoreResult<PostgresStore> {
        let options = connect_options(url, settings)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.connections_max.unwrap_or(CONNECTIONS_MAX_DEFAULT))
            .acquire_timeout(Duration::from_millis(
                settings
                    .acquire_timeout_ms
                    .unwrap_or(ACQUIRE_TIMEOUT_MS_DEFAULT),
            ))
            .connect_with(options)
            .await
            .map_err(|error| {
                tracing::error!(%error, "postgres store: cannot connect");
                StoreError::Unavailable(format!("cannot connect to PostgreSQL: {error}"))
            })?;
        if let Err(error) = check_schema(&pool).await {
            pool.close().await;
            return Err(error);
        }
        Ok(PostgresStore { pool })
    }

    /// Applies the migrations this build has and the database lacks, each in
    /// its own transaction, under sqlx's advisory lock (two nodes migrating at
    /// once apply each migration once). Refuses a database migrated by a newer build.
    pub async fn migrate(url: &str) -> StoreResult<MigrationReport> {
        let mut conn = connect_options(url, &ConnectionSettings::default())?
            .connect()
            .await
            .map_err(|error| {
                tracing::error!(%error, "postgres store: cannot connect to migrate");
                StoreError::Unavailable(format!("cannot connect to PostgreSQL: {error}"))
            })?;
        let before = applied_migrations(&mut conn).await?;
        MIGRATOR.run(&mut conn).await.map_err(|error| {
            tracing::error!(%error, "postgres store: migrations failed");
            StoreError::Schema(format!("cannot migrate the database: {error}"))
        })?;
        let after = applied_migrations(&mut conn).await?;
        let applied = after
            .iter()
            .map(|migration| migration.version)
            .filter(|version| !before.iter().any(|old| old.version == *version))
            .collect();
        Ok(MigrationReport {
            applied,
            current: after.last().map(|migration| migration.version),
        })
    }

    /// Closes every connection, waiting for them to finish. The store answers
    /// `Unavailable` afterwards.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The pool, for what needs its own connection to the same database (the
    /// cross-node listener).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn write_tx(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool
            .begin()
            .await
            .map_err(unavailable("could not begin a write"))
    }

    async fn read_tx(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(unavailable("could not begin a read"))
    }

    async fn connection(&self) -> StoreResult<sqlx::pool::PoolConnection<Postgres>> {
        self.pool
            .acquire()
            .await
            .map_err(unavailable("could not get a connection"))
    }
}

/// Parses the URL and adds what every connection of the store needs.
fn connect_options(url: &str, settings: &ConnectionSettings) -> StoreResult<PgConnectOptions> {
    if !is_postgres_url(url) {
        return Err(StoreError::Invalid(
            "a PostgreSQL URL starts with postgres:// or postgresql://".to_owned(),
        ));
    }
    let options = PgConnectOptions::from_str(url).map_err(|error| {
        // The error names what is wrong without echoing the URL (it may hold a password).
        StoreError::Invalid(format!("the PostgreSQL URL does not parse: {error}"))
    })?;
    let statement_timeout_ms = settings
        .statement_timeout_ms
        .unwrap_or(STATEMENT_TIMEOUT_MS_DEFAULT);
    Ok(options
        .application_name("possync")
        .options([("statement_timeout", statement_timeout_ms.to_string())]))
}

/// Whether `url` names a PostgreSQL database (rather than, say, a file path).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// One row of sqlx's bookkeeping table.
#[derive(Debug, sqlx::FromRow)]
struct AppliedMigration {
    version: i64,
    success: bool,
    checksum: Vec<u8>,
}

async fn applied_migrations(conn: &mut PgConnection) -> StoreResult<Vec<AppliedMigration>> {
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(&mut *conn)
        .await
        .map_err(unavailable("could not look for the migrations table"))?;
    if table.is_none() {
        return Ok(Vec::new());
    }
    sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .map_err(unavailable("could not read the applied migrations"))
}

/// Refuses a schema this build does not know: not migrated (or not fully), a
/// migration that failed halfway, or one this build has not heard of (the
/// database was migrated by a newer possync).
async fn check_schema(pool: &PgPool) -> StoreResult<()> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    let applied = applied_migrations(&mut conn).await?;
    for migration in &applied {
        let Some(known) = MIGRATOR
            .iter()
            .find(|known| known.version == migration.version)
        else {
            return Err(StoreError::Schema(format!(
                "the database has migration {} which this possync does not know: it was migrated by a newer possync; run that version",
                migration.version
            )));
        };
        if !migration.success {
            return Err(StoreError::Schema(format!(
                "migration {} failed halfway; repair the database, then run `possync migrate`",
                migration.version
            )));
        }
        if *known.checksum != *migration.checksum {
            return Err(StoreError::Schema(format!(
                "migration {} in the database differs from this possync's; the schema was changed by hand or by another build",
                migration.version
            )));
        }
    }
    if let Some(missing) = MIGRATOR.iter().find(|known| {
        !applied
            .iter()
            .any(|migration| migration.version == known.version)
    }) {
        let what = if applied.is_empty() {
            "the database has no possync schema yet".to_owned()
        } else {
            format!(
                "the database lacks migration {} ({})",
                missing.version, missing.description
            )
        };
        return Err(StoreError::Schema(format!(
            "{what}: run `possync migrate --database <url>` first"
        )));
    }
    Ok(())
}

async fn commit_tx(tx: Transaction<'static, Postgres>) -> StoreResult<()> {
    tx.commit().await.map_err(unavailable("could not commit"))
}

/// Commits `tx`, telling every node's listener about `changes` once it has.
async fn commit_notifying(
    mut tx: Transaction<'static, Postgres>,
    changes: &[changes::ShopChange],
) -> StoreResult<()> {
    changes::notify_shop(&mut tx, changes).await?;
    commit_tx(tx).await
}

/// Whether the row `id` exists; `sql` is `SELECT 1 FROM <table> WHERE id = $1`.
async fn exists(conn: &mut PgConnection, sql: &'static str, id: i64) -> StoreResult<bool> {
    let found: Option<i32> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not check a reference"))?;
    Ok(found.is_some())
}

// ---------------------------------------------------------------------------
// The trait: each method is written in the module of its section.

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
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
        commit::commit_batch(self, entries).await
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
