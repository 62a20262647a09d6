//! Group commit on the store's own thread: a batch of op outcomes in one
//! transaction, with what each payment leaves behind (computed by
//! `possync_core::PaymentLedger`).
//!
//! Commits are the hot path of every edit, and SQLite does a one-op commit's
//! work in well under a tenth of a millisecond. Reaching it through sqlx cost
//! several times that: every statement is a hand-off to sqlx's connection
//! thread and back, eight per commit (BENCHMARKS.md, "Where the targets of
//! issue 9 stand"). So commits have a thread of their own, which owns its
//! connection (rusqlite, the same bundled SQLite as sqlx's) and runs a whole
//! batch, from `BEGIN IMMEDIATE` to `COMMIT`, per hand-off; its statements
//! stay prepared in the connection's cache.
//!
//! The batch is checked and encoded before it crosses ([`BatchPlan`]): the
//! thread gets rows it owns ([`Batch`]) and only reads and writes. The other
//! writes of the store (sessions, catalog, tokens) keep sqlx's writer
//! connection. The two writers take the store's write turn for each
//! transaction (`super::WriteTurn`): each batch's turn travels with it to the
//! thread and passes on once it is committed, so the two never meet at
//! SQLite's lock and its sleeping busy handler.

use super::{ConnectionPragmas, WriteTurn};
use crate::batch::{
    APPROVAL_ACTION, ApprovalRow, BatchPlan, HistoryRow, OutcomeRow, PaidCandidate,
    accepting_sessions, newly_paid, paid_candidates, refunded_by_new_drafts, worth_committing,
};
use crate::database_errors::{conflict_on_unique, order_write_error, unavailable};
use crate::rows::{
    OrderRow, decode_quantity, decode_u64, encode_count, encode_json, encode_version,
};
use crate::{CommitEntry, Conflict, StoreError, StoreResult};
use possync_core::*;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::{OwnedMutexGuard, oneshot};

/// Statements the commit connection keeps prepared: the commit's own (about
/// twenty) with room to spare.
const STATEMENTS_CACHED: usize = 64;

/// WAL pages after which a commit copies the WAL back into the database file
/// (SQLite's `wal_autocheckpoint`), while batches are small: SQLite's own
/// default. A till's edits come one or two to a batch; after a checkpoint the
/// WAL is written again from its start, in place, and a sync of a file that
/// does not grow is the cheaper one.
const CHECKPOINT_PAGES_SMALL_BATCHES: i64 = 1_000;

/// The same while batches are large. Many counters at once rewrite the same
/// pages (their open orders, the tail of the history) commit after commit; a
/// checkpoint copies each page once however often the WAL holds it, so
/// checkpointing a tenth as often copies far fewer pages. The WAL then holds up
/// to about 40 MiB. A fixed 10,000 would make a till's small batches pay for
/// that growth after every restart (BENCHMARKS.md, 2026-12-02), hence two levels.
const CHECKPOINT_PAGES_LARGE_BATCHES: i64 = 10_000;

/// Ops in a batch from which it counts as large.
const LARGE_BATCH_OPS: usize = 32;

/// The handle on the commit thread. Cloning shares the thread; the thread
/// ends when the store is closed or its last handle is dropped. Its channel
/// needs no bound of its own: a batch is sent only with the write turn, so at
/// most one waits there at any time.
#[derive(Debug, Clone)]
pub(super) struct Committer {
    requests: mpsc::Sender<Request>,
    /// The store's write turn, taken for each batch and handed to the thread
    /// with it: it passes on when the batch is committed, even if the caller
    /// stopped waiting.
    turn: WriteTurn,
}

/// What the commit thread is asked.
enum Request {
    Commit {
        batch: Batch,
        turn: OwnedMutexGuard<()>,
        reply: oneshot::Sender<StoreResult<()>>,
    },
    Pragmas {
        reply: oneshot::Sender<StoreResult<ConnectionPragmas>>,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
}

impl Committer {
    /// Starts the thread and opens its connection to the (already migrated)
    /// database at `path`.
    pub(super) async fn start(
        path: &Path,
        busy_timeout: Duration,
        turn: WriteTurn,
    ) -> StoreResult<Committer> {
        let (requests, inbox) = mpsc::channel();
        let (opened, opening) = oneshot::channel();
        let path = path.to_owned();
        std::thread::Builder::new()
            .name("possync-sqlite-commit".to_owned())
            .spawn(move || match open(&path, busy_timeout) {
                Ok(conn) => {
                    // The opener waits for this answer; if it went away, the
                    // dropped `inbox` ends the loop at once.
                    let _ = opened.send(Ok(()));
                    serve(conn, &inbox);
                }
                Err(error) => {
                    let _ = opened.send(Err(error));
                }
            })
            .map_err(|error| {
                tracing::error!(%error, "sqlite store: cannot start the commit thread");
                StoreError::Unavailable("cannot start the commit thread".to_owned())
            })?;
        opening.await.map_err(|_| stopped())??;
        Ok(Committer { requests, turn })
    }

    /// Commits `entries` in one transaction (see [`crate::Store::commit_batch`]).
    pub(super) async fn commit(&self, entries: &[CommitEntry]) -> StoreResult<()> {
        if !worth_committing(entries)? {
            return Ok(());
        }
        // Encoded before the turn is taken: the other writer need not wait for it.
        let batch = Batch::new(entries)?;
        let turn = self.turn.take().await;
        self.ask(|reply| Request::Commit { batch, turn, reply })
            .await?
    }

    /// The pragmas in effect on the commit connection.
    pub(super) async fn pragmas(&self) -> StoreResult<ConnectionPragmas> {
        self.ask(|reply| Request::Pragmas { reply }).await?
    }

    /// Closes the connection and ends the thread; a commit asked afterwards
    /// answers `Unavailable`. Waits for a commit under way to finish first.
    pub(super) async fn close(&self) {
        // Already closed: nothing to wait for.
        let _ = self.ask(|reply| Request::Close { reply }).await;
    }

    async fn ask<T>(&self, request: impl FnOnce(oneshot::Sender<T>) -> Request) -> StoreResult<T> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(request(reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the store is closed".to_owned())
}

/// Opens the commit connection with the writer's durability: WAL, a synced
/// WAL at every commit (`synchronous=FULL`), foreign keys on.
fn open(path: &Path, busy_timeout: Duration) -> StoreResult<Connection> {
    let opened = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|conn| {
        conn.busy_timeout(busy_timeout)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES_SMALL_BATCHES)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
        Ok(conn)
    });
    opened.map_err(|error| {
        tracing::error!(%error, path = %path.display(), "sqlite store: cannot open the commit connection");
        StoreError::Unavailable(format!("cannot open {}: {error}", path.display()))
    })
}

/// The checkpoint threshold of the commit connection, set for each batch by
/// its size.
struct Checkpoints {
    pages: i64,
}

impl Checkpoints {
    /// Sets the threshold the batch's commit will check, when it changes.
    /// SQLite keeps its previous threshold if this fails, which is safe.
    fn set_for(&mut self, conn: &Connection, batch: &Batch) {
        let pages = if batch.ops() >= LARGE_BATCH_OPS {
            CHECKPOINT_PAGES_LARGE_BATCHES
        } else {
            CHECKPOINT_PAGES_SMALL_BATCHES
        };
        if pages == self.pages {
            return;
        }
        match conn.pragma_update(None, "wal_autocheckpoint", pages) {
            Ok(()) => self.pages = pages,
            Err(error) => {
                tracing::warn!(%error, pages, "sqlite store: could not set the checkpoint threshold");
            }
        }
    }
}

/// The thread's loop: one request at a time, in the order they came. Between
/// batches it sleeps on the channel. Spinning before it sleeps was measured
/// (BENCHMARKS.md, 2026-12-02): it saves a closed loop the wake-up, and costs
/// a busy shop up to a core; a cashier's edit finds the thread asleep either way.
fn serve(mut conn: Connection, inbox: &mpsc::Receiver<Request>) {
    let mut checkpoints = Checkpoints {
        pages: CHECKPOINT_PAGES_SMALL_BATCHES,
    };
    while let Ok(request) = inbox.recv() {
        match request {
            Request::Commit { batch, turn, reply } => {
                checkpoints.set_for(&conn, &batch);
                let committed = unless_panicked("a commit", || commit(&mut conn, &batch));
                drop(turn);
                // The caller may have stopped waiting; the commit stands.
                let _ = reply.send(committed);
            }
            Request::Pragmas { reply } => {
                let _ = reply.send(unless_panicked("reading the pragmas", || pragmas(&conn)));
            }
            Request::Close { reply } => {
                drop(conn);
                let _ = reply.send(());
                return;
            }
        }
    }
}

/// Runs `work`, answering `Unavailable` if it panics: a panic is a bug, and it
/// must not end the thread and every later commit with it. Unwinding drops
/// whatever transaction was open, which rolls it back.
fn unless_panicked<T>(what: &str, work: impl FnOnce() -> StoreResult<T>) -> StoreResult<T> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
        tracing::error!("sqlite store: {what} panicked on the commit thread; it was rolled back");
        Err(StoreError::Unavailable(format!("{what} failed")))
    })
}

fn pragmas(conn: &Connection) -> StoreResult<ConnectionPragmas> {
    let failed = unavailable("could not read the pragmas");
    let integer = |name: &str| -> StoreResult<i64> {
        conn.pragma_query_value(None, name, |row| row.get(0))
            .map_err(failed)
    };
    Ok(ConnectionPragmas {
        journal_mode: conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .map_err(failed)?,
        synchronous: integer("synchronous")?,
        foreign_keys: integer("foreign_keys")? == 1,
        busy_timeout_ms: integer("busy_timeout")?,
        wal_autocheckpoint_pages: integer("wal_autocheckpoint")?,
    })
}

// ---------------------------------------------------------------------------
// The batch as the thread takes it.

/// A batch checked and encoded by [`BatchPlan`], owning every row, so that it
/// can cross to the commit thread.
struct Batch {
    /// The sessions whose ops the batch accepts: each must still be open.
    sessions: Vec<SessionId>,
    /// One run per order, in the order each order first appears.
    orders: Vec<OrderWrite>,
    /// The paid orders that new refund drafts refund, with those drafts.
    refunds: BTreeMap<OrderId, Vec<OrderId>>,
    /// The ops that may make their order paid (owned copies: rare).
    paid_candidates: Vec<PaidCandidate<Order>>,
    /// Rejects and unchanged acks; an accepted op's answer is its history row
    /// (see [`write_outcomes`]).
    first_answers: Vec<OutcomeRow>,
    approvals: Vec<ApprovalRow>,
}

/// One order's run: its row as the run leaves it, and one history row per op.
struct OrderWrite {
    order_id: OrderId,
    /// The stored order must be one below it.
    first_version: u64,
    row: OrderColumns,
    history: Vec<HistoryRow>,
}

/// The columns of an `orders` row, encoded.
struct OrderColumns {
    id: String,
    state: &'static str,
    origin_config_id: i64,
    origin_session_id: i64,
    shared: bool,
    version: i64,
    paid_by_session_id: Option<i64>,
    paid_by_config_id: Option<i64>,
    total_minor: i64,
    tax_minor: i64,
    change_minor: i64,
    body: String,
    created_at: i64,
    updated_at: i64,
    refund_of: Option<String>,
}

impl Batch {
    fn new(entries: &[CommitEntry]) -> StoreResult<Batch> {
        let plan = BatchPlan::new(entries)?;
        let mut orders = Vec::with_capacity(plan.orders.len());
        for run in plan.orders {
            let order = run.last;
            orders.push(OrderWrite {
                order_id: order.id,
                first_version: run.first_version,
                row: OrderColumns {
                    id: run.order_id_text,
                    state: order.state.as_str(),
                    origin_config_id: order.origin.config_id.0,
                    origin_session_id: order.origin.session_id.0,
                    shared: order.shared,
                    version: encode_version(order.version)?,
                    paid_by_session_id: order.paid_by.as_ref().map(|by| by.session_id.0),
                    paid_by_config_id: order.paid_by.as_ref().map(|by| by.config_id.0),
                    total_minor: order.totals.total.minor(),
                    tax_minor: order.totals.tax.minor(),
                    change_minor: order.change.minor(),
                    body: encode_json(order, "order")?,
                    created_at: order.created_at.unix_millis(),
                    updated_at: order.updated_at.unix_millis(),
                    refund_of: order.refund_of.map(|refund_of| refund_of.to_string()),
                },
                history: run.history,
            });
        }
        Ok(Batch {
            sessions: accepting_sessions(entries).into_iter().collect(),
            orders,
            refunds: refunded_by_new_drafts(entries),
            paid_candidates: paid_candidates(entries)
                .into_iter()
                .map(|candidate| PaidCandidate {
                    order: candidate.order.clone(),
                    at: candidate.at,
                    first_of_order: candidate.first_of_order,
                })
                .collect(),
            first_answers: plan.first_answers,
            approvals: plan.approvals,
        })
    }

    /// The ops the batch writes to the history.
    fn ops(&self) -> usize {
        self.orders.iter().map(|order| order.history.len()).sum()
    }
}

// ---------------------------------------------------------------------------
// The commit, on the thread.

/// One transaction for the batch: one fsync, and on any error the dropped
/// transaction rolls back every entry.
fn commit(conn: &mut Connection, batch: &Batch) -> StoreResult<()> {
    if !conn.is_autocommit() {
        // A transaction SQLite could neither commit nor roll back (a full
        // disk) is rolled back before the next, or every later begin fails.
        tracing::warn!(
            "sqlite store: the commit connection was left inside a transaction; rolling it back"
        );
        conn.execute_batch("ROLLBACK")
            .map_err(unavailable("could not roll back a failed write"))?;
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable("could not begin a write"))?;
    check_open_sessions(&tx, &batch.sessions)?;
    let paid_before = write_orders(&tx, &batch.orders)?;
    check_refunds(&tx, &batch.refunds)?;
    record_payments(&tx, &batch.paid_candidates, &paid_before)?;
    write_outcomes(&tx, batch)?;
    write_approvals(&tx, &batch.approvals)?;
    tx.commit().map_err(unavailable("could not commit"))
}

/// Refuses a batch that accepts an op of a closed session: inside the write
/// transaction, so a close (one writer at a time, also across processes)
/// comes wholly before or after the batch.
fn check_open_sessions(conn: &Connection, session_ids: &[SessionId]) -> StoreResult<()> {
    let mut closed = conn
        .prepare_cached("SELECT 1 FROM sessions WHERE id = ? AND state <> 'open'")
        .map_err(unavailable("could not read the batch's sessions"))?;
    for session_id in session_ids {
        if closed
            .exists([session_id.0])
            .map_err(unavailable("could not read the batch's sessions"))?
        {
            return Err(Conflict::SessionClosed(*session_id).into());
        }
    }
    Ok(())
}

/// Moves every order of the batch from its stored version to its run's last
/// version: the stored version checked, the row written once, whole JSON body
/// included, and the run's history rows appended. Answers, per order, whether
/// it was paid before the batch.
///
/// The versions are read in this IMMEDIATE transaction, which holds SQLite's
/// one write lock from its start: nothing can move an order between the read
/// and the write, so the write needs no version check of its own (the
/// PostgreSQL store, with concurrent writers, has one).
fn write_orders(conn: &Connection, orders: &[OrderWrite]) -> StoreResult<BTreeMap<OrderId, bool>> {
    let mut stored = conn
        .prepare_cached(
            "SELECT version, state, paid_by_session_id, paid_by_config_id FROM orders WHERE id = ?",
        )
        .map_err(unavailable("could not read the orders' versions"))?;
    let mut upsert = conn
        .prepare_cached(
            "INSERT INTO orders (id, state, origin_config_id, origin_session_id, shared, version, \
                                 paid_by_session_id, total_minor, tax_minor, change_minor, body, \
                                 created_at, updated_at, refund_of, paid_by_config_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET \
                 state = excluded.state, shared = excluded.shared, version = excluded.version, \
                 paid_by_session_id = excluded.paid_by_session_id, \
                 paid_by_config_id = excluded.paid_by_config_id, \
                 total_minor = excluded.total_minor, tax_minor = excluded.tax_minor, \
                 change_minor = excluded.change_minor, body = excluded.body, \
                 updated_at = excluded.updated_at",
        )
        .map_err(unavailable("could not write an order"))?;
    // The columns an edit of an order can change outside of every index. An
    // UPDATE rewrites the entry of each index over a column it sets, even to
    // the same value: the upsert above rewrites three index pages (two on
    // `state`), in the WAL and its fsync, for every edit of a draft.
    let mut edit = conn
        .prepare_cached(
            "UPDATE orders SET shared = ?, version = ?, total_minor = ?, tax_minor = ?, \
                               change_minor = ?, body = ?, updated_at = ? \
             WHERE id = ?",
        )
        .map_err(unavailable("could not write an order"))?;
    let mut append = conn
        .prepare_cached(
            "INSERT INTO order_ops (order_id, version, op_id, op, by_json, at, approved_by) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .map_err(unavailable("could not append an op"))?;
    // Every version checked before anything is written, so that a stale
    // order is reported as such whatever else the batch would break.
    let mut paid_before = BTreeMap::new();
    let mut indexed_unchanged = Vec::with_capacity(orders.len());
    for write in orders {
        let found: Option<StoredOrder> = stored
            .query_row([write.row.id.as_str()], |found| {
                Ok(StoredOrder {
                    version: found.get(0)?,
                    state: found.get(1)?,
                    paid_by_session_id: found.get(2)?,
                    paid_by_config_id: found.get(3)?,
                })
            })
            .optional()
            .map_err(unavailable("could not read the orders' versions"))?;
        let (stored_version, was_paid) = match &found {
            None => (0, false),
            Some(found) => (
                decode_u64(found.version, "order version")?,
                found.state == OrderState::Paid.as_str(),
            ),
        };
        indexed_unchanged.push(found.is_some_and(|found| found.indexed_as(&write.row)));
        // Versions are contiguous: the run's first op applies to exactly the
        // stored version (the later ones were checked against each other).
        if stored_version + 1 != write.first_version {
            return Err(Conflict::OrderVersion {
                order_id: write.order_id,
                current: stored_version,
                next: write.first_version,
            }
            .into());
        }
        paid_before.insert(write.order_id, was_paid);
    }
    for (write, indexed_unchanged) in orders.iter().zip(indexed_unchanged) {
        let row = &write.row;
        let written = if indexed_unchanged {
            edit.execute(params![
                row.shared,
                row.version,
                row.total_minor,
                row.tax_minor,
                row.change_minor,
                row.body,
                row.updated_at,
                row.id,
            ])
        } else {
            upsert.execute(params![
                row.id,
                row.state,
                row.origin_config_id,
                row.origin_session_id,
                row.shared,
                row.version,
                row.paid_by_session_id,
                row.total_minor,
                row.tax_minor,
                row.change_minor,
                row.body,
                row.created_at,
                row.updated_at,
                // Written when the order is created, never updated: a refund stays one.
                row.refund_of,
                row.paid_by_config_id,
            ])
        };
        written.map_err(order_write_error(write.order_id))?;
        // After the order row: the history's foreign key needs it.
        for history in &write.history {
            append
                .execute(params![
                    row.id,
                    history.version,
                    history.op_id,
                    history.op,
                    history.by,
                    history.at,
                    history.approved_by,
                ])
                .map_err(conflict_on_unique(
                    Conflict::OpAnswered,
                    "could not append an op",
                ))?;
        }
    }
    Ok(paid_before)
}

/// What [`write_orders`] reads of a stored order: its version, and the
/// columns an order's edits can change that are under an index.
struct StoredOrder {
    version: i64,
    state: String,
    paid_by_session_id: Option<i64>,
    paid_by_config_id: Option<i64>,
}

impl StoredOrder {
    /// Whether writing `row` leaves every indexed column as stored, so that
    /// the narrow UPDATE may write it. The other indexed columns (id, origin,
    /// `created_at`, `refund_of`, the receipt number) are never changed by an
    /// edit; `updated_at` is under an index of paid orders only, and such an
    /// order's edit rewrites that index's entry with the new time, as it must.
    fn indexed_as(&self, row: &OrderColumns) -> bool {
        self.state == row.state
            && self.paid_by_session_id == row.paid_by_session_id
            && self.paid_by_config_id == row.paid_by_config_id
    }
}

/// The order `order_id` as stored, read on the commit connection.
fn load_order(conn: &Connection, order_id: OrderId) -> StoreResult<Option<Order>> {
    conn.prepare_cached(super::orders::ORDER_BY_ID)
        .and_then(|mut statement| {
            statement
                .query_row([order_id.to_string()], order_row)
                .optional()
        })
        .map_err(unavailable("could not read an order"))?
        .map(OrderRow::decode)
        .transpose()
}

/// The refunds of `order_id` that are not cancelled, read on the commit connection.
fn load_refunds(conn: &Connection, order_id: OrderId) -> StoreResult<Vec<Order>> {
    conn.prepare_cached(super::orders::REFUNDS_OF)
        .and_then(|mut statement| {
            statement
                .query_map([order_id.to_string()], order_row)?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(unavailable("could not read an order's refunds"))?
        .into_iter()
        .map(OrderRow::decode)
        .collect()
}

fn order_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRow> {
    Ok(OrderRow {
        id: row.get(0)?,
        version: row.get(1)?,
        body: row.get(2)?,
    })
}

/// The backstop of "no line is refunded beyond what was sold": after the
/// batch's orders are written, every paid order a new refund draft refunds is
/// checked against all of its refunds that are not cancelled, new ones
/// included. The write transaction holds SQLite's one write lock, so no other
/// writer (another process on the same file included) adds a refund meanwhile.
fn check_refunds(conn: &Connection, refunds: &BTreeMap<OrderId, Vec<OrderId>>) -> StoreResult<()> {
    for (refund_of, refund_ids) in refunds {
        let original =
            load_order(conn, *refund_of)?.ok_or(StoreError::NotFound("refunded order"))?;
        let refunds = load_refunds(conn, *refund_of)?;
        check_refunds_within_sold(&original, &refunds).map_err(|reject| {
            Conflict::RefundBeyondSold {
                order_id: *refund_of,
                refund_ids: refund_ids.clone(),
                message: reject.message,
            }
        })?;
    }
    Ok(())
}

/// Records what each payment leaves behind. `paid_before` says, for every
/// order of the batch, whether it was paid before the batch.
fn record_payments(
    conn: &Connection,
    candidates: &[PaidCandidate<Order>],
    paid_before: &BTreeMap<OrderId, bool>,
) -> StoreResult<()> {
    let newly_paid = newly_paid(candidates, paid_before);
    if newly_paid.is_empty() {
        return Ok(());
    }
    let mut ledger = load_ledger(conn, &newly_paid)?;
    for (order, at) in &newly_paid {
        let effects = ledger
            .record(order, *at)
            .map_err(|error| StoreError::Invalid(error.to_string()))?;
        write_payment_effects(conn, &effects)?;
    }
    super::printing::queue_receipts(conn, &newly_paid)
}

/// What the payments of `orders` draw from, read inside the write transaction:
/// the stock of the products they sell, the paying sessions' last receipt
/// numbers and, if one asks for an invoice, the last invoice number.
fn load_ledger(conn: &Connection, orders: &[(&Order, Timestamp)]) -> StoreResult<PaymentLedger> {
    let product_ids: BTreeSet<ProductId> = orders
        .iter()
        .flat_map(|(order, _)| PaymentLedger::products_of(order))
        .collect();
    let mut stock = BTreeMap::new();
    let mut level_of = conn
        .prepare_cached("SELECT tracks_stock, on_hand_milli FROM products WHERE id = ?")
        .map_err(unavailable("could not read a product's stock"))?;
    for product_id in product_ids {
        let level: Option<(bool, i64)> = level_of
            .query_row([product_id.0], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()
            .map_err(unavailable("could not read a product's stock"))?;
        if let Some((tracks_stock, on_hand_milli)) = level {
            let on_hand = decode_quantity(on_hand_milli, "stock on hand")?;
            stock.insert(
                product_id,
                StockLevel {
                    tracks_stock,
                    on_hand,
                },
            );
        }
    }
    let last_invoice_number = if orders.iter().any(|(order, _)| order.invoice) {
        // Invoices are never deleted and numbers only come from the ledger, so
        // the largest number is the last one given.
        let last: i64 = conn
            .prepare_cached("SELECT COALESCE(MAX(number), 0) FROM invoices")
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(unavailable("could not read the last invoice number"))?;
        decode_u64(last, "invoice number")?
    } else {
        0
    };
    let mut last_receipt_numbers = BTreeMap::new();
    let session_ids: BTreeSet<SessionId> = orders
        .iter()
        .filter_map(|(order, _)| PaymentLedger::session_of(order))
        .collect();
    let mut last_of = conn
        .prepare_cached("SELECT last_receipt_number FROM sessions WHERE id = ?")
        .map_err(unavailable(
            "could not read a session's last receipt number",
        ))?;
    for session_id in session_ids {
        let last: Option<i64> = last_of
            .query_row([session_id.0], |row| row.get(0))
            .optional()
            .map_err(unavailable(
                "could not read a session's last receipt number",
            ))?;
        if let Some(last) = last {
            last_receipt_numbers.insert(session_id, decode_u64(last, "receipt number")?);
        }
    }
    Ok(PaymentLedger {
        stock,
        last_invoice_number,
        last_receipt_numbers,
    })
}

/// Writes what the ledger answered for one payment: payments booked to the
/// paying session, the receipt number, taxes, stock moves and levels, the invoice.
fn write_payment_effects(conn: &Connection, effects: &PaymentEffects) -> StoreResult<()> {
    let order_id_text = effects.order_id.to_string();
    let at = effects.at.unix_millis();
    let write_failed = || order_write_error(effects.order_id);
    let execute = |sql: &str, values: &[&dyn rusqlite::ToSql]| {
        conn.prepare_cached(sql)
            .and_then(|mut statement| statement.execute(values))
    };
    for payment in &effects.payments {
        execute(
            "INSERT INTO payments (order_id, session_id, method_id, amount_minor, at) VALUES (?, ?, ?, ?, ?)",
            params![order_id_text, effects.session_id.0, payment.method_id.0, payment.amount.minor(), at],
        )
        .map_err(write_failed())?;
    }
    let receipt_sequence = encode_count(effects.receipt_sequence, "receipt number")?;
    // The number goes into the order's body too, so every read of the order
    // (by id, paged) answers it on the order object.
    execute(
        "UPDATE orders SET receipt_sequence = ?1, receipt_number = ?2, \
             body = json_set(body, '$.receipt_number', ?2) WHERE id = ?3",
        params![receipt_sequence, effects.receipt_number, order_id_text],
    )
    .map_err(write_failed())?;
    let advanced = execute(
        "UPDATE sessions SET last_receipt_number = ? WHERE id = ? AND last_receipt_number = ?",
        params![receipt_sequence, effects.session_id.0, receipt_sequence - 1],
    )
    .map_err(unavailable("could not advance a session's receipt number"))?;
    if advanced != 1 {
        return Err(StoreError::Invalid(format!(
            "session {} did not hold receipt number {} before order {}",
            effects.session_id,
            receipt_sequence - 1,
            effects.order_id
        )));
    }
    for tax in &effects.taxes {
        execute(
            "INSERT INTO order_taxes (order_id, session_id, tax_id, rate_bp, base_minor, amount_minor) \
             VALUES (?, ?, ?, ?, ?, ?)",
            params![
                order_id_text,
                effects.session_id.0,
                tax.tax_id.0,
                tax.rate.basis_points(),
                tax.base.minor(),
                tax.amount.minor()
            ],
        )
        .map_err(write_failed())?;
    }
    for stock_move in &effects.stock_moves {
        execute(
            "INSERT INTO stock_moves (product_id, order_id, qty_milli, at) VALUES (?, ?, ?, ?)",
            params![
                stock_move.product_id.0,
                order_id_text,
                stock_move.qty.milli(),
                stock_move.at.unix_millis()
            ],
        )
        .map_err(write_failed())?;
    }
    for level in &effects.on_hand {
        execute(
            "UPDATE products SET on_hand_milli = ? WHERE id = ?",
            params![level.on_hand.milli(), level.product_id.0],
        )
        .map_err(unavailable("could not update stock on hand"))?;
    }
    for product_id in &effects.unknown_products {
        tracing::warn!(order_id = %effects.order_id, %product_id, "paid line of an unknown product");
    }
    if let Some(invoice) = &effects.invoice {
        execute(
            "INSERT INTO invoices (number, order_id, customer_id, at) VALUES (?, ?, ?, ?)",
            params![
                encode_count(invoice.number, "invoice number")?,
                order_id_text,
                invoice.customer_id.0,
                invoice.at.unix_millis()
            ],
        )
        .map_err(write_failed())?;
    }
    Ok(())
}

/// Writes the batch's answers. Within the batch every op id appears once (see
/// [`BatchPlan::new`]), so the two kinds of answers cannot clash with each other.
///
/// An accepted op's answer is its history row, already written: `order_ops`
/// holds its order and version under a unique op id, and
/// `super::orders::find_op_outcome` answers from it. `op_outcomes` holds the
/// other answers, rejects and unchanged acks (and, in a database written
/// before, the accepted ops too, which agree with their history rows). One
/// answer per op holds across the two tables because the write transaction
/// holds SQLite's one write lock: nothing answers an op between a check here
/// and the write after it.
fn write_outcomes(conn: &Connection, batch: &Batch) -> StoreResult<()> {
    // An accepted op that already has an answer must not take effect a second
    // time: the batch fails, and the caller reloads. (An op accepted before
    // fails it already, at its history row's unique op id.)
    let mut answered = conn
        .prepare_cached("SELECT 1 FROM op_outcomes WHERE op_id = ?")
        .map_err(unavailable("could not read an op outcome"))?;
    for history in batch.orders.iter().flat_map(|write| &write.history) {
        if answered
            .exists([history.op_id.as_str()])
            .map_err(unavailable("could not read an op outcome"))?
        {
            return Err(Conflict::OpAnswered.into());
        }
    }
    // The first answer to a reject or an unchanged ack wins: a resend
    // answered again keeps the first, accepted or not.
    let mut first = conn
        .prepare_cached(
            "INSERT INTO op_outcomes (op_id, order_id, outcome, at) \
             SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM order_ops WHERE op_id = ?1) \
             ON CONFLICT (op_id) DO NOTHING",
        )
        .map_err(unavailable("could not record a reject"))?;
    for row in &batch.first_answers {
        first
            .execute(params![row.op_id, row.order_id, row.outcome, row.at])
            .map_err(unavailable("could not record a reject"))?;
    }
    Ok(())
}

/// The audit trail's entry for each approved op, in the op's transaction:
/// an approval is in the trail exactly when its op took effect.
fn write_approvals(conn: &Connection, approvals: &[ApprovalRow]) -> StoreResult<()> {
    if approvals.is_empty() {
        return Ok(());
    }
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO audit_log (at, user_id, action, target, details) VALUES (?, ?, ?, ?, ?)",
        )
        .map_err(unavailable(
            "could not record an approval in the audit trail",
        ))?;
    for approval in approvals {
        insert
            .execute(params![
                approval.at,
                approval.user_id,
                APPROVAL_ACTION,
                approval.target,
                approval.details
            ])
            .map_err(unavailable(
                "could not record an approval in the audit trail",
            ))?;
    }
    Ok(())
}
