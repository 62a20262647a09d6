//! Group commit: a batch of op outcomes in one transaction, with what each
//! payment leaves behind (computed by `possync_core::PaymentLedger`).
//!
//! A batch often holds many ops of one order (a busy shared draft), and each
//! statement costs a round trip to sqlx's connection thread, more than the row
//! it writes. So the batch is checked and encoded in memory first
//! ([`BatchPlan`]); then each order's version is checked once and its row,
//! whole JSON body included, written once at its last version in the batch;
//! history and outcome rows go in with multi-row INSERTs. The database ends up
//! holding exactly what committing the entries one by one would leave.

use super::{SqliteStore, commit_tx};
use crate::batch::{
    APPROVAL_ACTION, BatchPlan, HistoryRow, OrderRun, OutcomeRow, accepting_sessions, newly_paid,
    refunded_by_new_drafts,
};
use crate::database_errors::{
    conflict_on_unique, order_write_error, orders_write_error, unavailable,
};
use crate::rows::{decode_quantity, decode_u64, encode_count, encode_json, encode_version};
use crate::{CommitEntry, Conflict, StoreError, StoreResult};
use possync_core::*;
use sqlx::query_builder::Separated;
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Sqlite};
use std::collections::{BTreeMap, BTreeSet};

/// Rows in one multi-row statement at most: 1,024 rows of at most 14 columns
/// bind 14,336 values, below SQLite's limit (32,766 since SQLite 3.32; the
/// bundled library is newer). A full batch (1,024 ops) then takes one
/// statement per kind of row.
const ROWS_PER_STATEMENT_MAX: usize = 1_024;

/// How many of `len` rows the next statement takes: a multiple of 64 up to
/// [`ROWS_PER_STATEMENT_MAX`], or below 64 the largest power of two. The
/// statement text depends on the number of rows, so this keeps to 22 texts
/// per kind of statement (a full batch of 1,000 rows in two statements), all
/// of which stay prepared in the writer's statement cache
/// ([`super::WRITER_STATEMENTS_CACHED`]); one text per batch size would crowd
/// it and be compiled again and again.
fn chunk_len(len: usize) -> usize {
    const STEP: usize = 64;
    if len >= STEP {
        (len.min(ROWS_PER_STATEMENT_MAX) / STEP) * STEP
    } else {
        1 << len.max(1).ilog2()
    }
}

/// Inserts `rows` with as few statements as [`ROWS_PER_STATEMENT_MAX`] allows.
/// `head` is `INSERT INTO table (columns) `, `tail` what follows the values
/// (a conflict clause, or nothing); `bind_row` binds one row's values.
async fn insert_rows<'r, R>(
    conn: &mut SqliteConnection,
    head: &'static str,
    tail: &'static str,
    rows: &'r [R],
    bind_row: impl Fn(Separated<'_, 'r, Sqlite, &'static str>, &'r R),
) -> Result<u64, sqlx::Error> {
    let mut rest = rows;
    let mut rows_affected = 0;
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(chunk_len(rest.len()));
        let mut builder = QueryBuilder::<Sqlite>::new(head);
        builder.push_values(chunk, &bind_row);
        builder.push(tail);
        rows_affected += builder.build().execute(&mut *conn).await?.rows_affected();
        rest = after;
    }
    Ok(rows_affected)
}

/// Refuses a batch that accepts an op of a closed session: inside the write
/// transaction, so a close (one writer at a time, also across processes)
/// comes wholly before or after the batch.
async fn check_open_sessions(
    conn: &mut SqliteConnection,
    entries: &[CommitEntry],
) -> StoreResult<()> {
    let session_ids: Vec<SessionId> = accepting_sessions(entries).into_iter().collect();
    for chunk in session_ids.chunks(ROWS_PER_STATEMENT_MAX) {
        let mut builder = QueryBuilder::<Sqlite>::new(
            "SELECT id FROM sessions WHERE state <> 'open' AND id IN (",
        );
        let mut ids = builder.separated(", ");
        for session_id in chunk {
            ids.push_bind(session_id.0);
        }
        builder.push(") LIMIT 1");
        let closed: Option<i64> = builder
            .build_query_scalar()
            .fetch_optional(&mut *conn)
            .await
            .map_err(unavailable("could not read the batch's sessions"))?;
        if let Some(session_id) = closed {
            return Err(Conflict::SessionClosed(SessionId(session_id)).into());
        }
    }
    Ok(())
}

/// The stored version and state of each order of the batch that exists.
async fn stored_versions(
    conn: &mut SqliteConnection,
    runs: &[OrderRun<'_>],
) -> StoreResult<BTreeMap<String, (i64, String)>> {
    let mut stored = BTreeMap::new();
    let mut rest = runs;
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(chunk_len(rest.len()));
        let mut builder =
            QueryBuilder::<Sqlite>::new("SELECT id, version, state FROM orders WHERE id IN (");
        let mut ids = builder.separated(", ");
        for run in chunk {
            ids.push_bind(run.order_id_text.as_str());
        }
        builder.push(")");
        let rows: Vec<(String, i64, String)> = builder
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable("could not read the orders' versions"))?;
        stored.extend(
            rows.into_iter()
                .map(|(id, version, state)| (id, (version, state))),
        );
        rest = after;
    }
    Ok(stored)
}

/// Moves every order of the batch from its stored version to its run's last
/// version: the versions of all orders read in one statement, each
/// checked, then every order row written once, whole JSON body included, and
/// every history row appended, all with multi-row statements. Answers, per
/// order, whether it was paid before the batch.
///
/// Each statement costs a round trip to sqlx's connection thread, and on a
/// busy machine each round trip waits for both threads to be scheduled: a
/// statement per order cost more than the rows themselves (BENCHMARKS.md,
/// "Statements per commit").
async fn write_order_runs(
    conn: &mut SqliteConnection,
    runs: &[OrderRun<'_>],
) -> StoreResult<BTreeMap<OrderId, bool>> {
    let stored = stored_versions(conn, runs).await?;
    let mut paid = BTreeMap::new();
    let mut rows = Vec::with_capacity(runs.len());
    for run in runs {
        let (stored_version, was_paid) = match stored.get(&run.order_id_text) {
            None => (0, false),
            Some((version, state)) => (
                decode_u64(*version, "order version")?,
                state == OrderState::Paid.as_str(),
            ),
        };
        // Versions are contiguous: the run's first op applies to exactly the
        // stored version (the later ones were checked against each other).
        if stored_version + 1 != run.first_version {
            return Err(Conflict::OrderVersion {
                order_id: run.last.id,
                current: stored_version,
                next: run.first_version,
            }
            .into());
        }
        paid.insert(run.last.id, was_paid);
        rows.push(OrderRow {
            id: run.order_id_text.as_str(),
            order: run.last,
            version: encode_version(run.last.version)?,
            body: encode_json(run.last, "order")?,
        });
    }
    // The versions were read in this IMMEDIATE transaction, which holds
    // SQLite's one write lock from its start: nothing can move an order
    // between the read and this write, so the write needs no version check of
    // its own (the PostgreSQL store, with concurrent writers, has one).
    let written = insert_rows(
        conn,
        "INSERT INTO orders (id, state, origin_config_id, origin_session_id, shared, version, paid_by_session_id, \
                             total_minor, tax_minor, change_minor, body, created_at, updated_at, refund_of, \
                             paid_by_config_id) ",
        " ON CONFLICT (id) DO UPDATE SET \
             state = excluded.state, shared = excluded.shared, version = excluded.version, \
             paid_by_session_id = excluded.paid_by_session_id, paid_by_config_id = excluded.paid_by_config_id, \
             total_minor = excluded.total_minor, \
             tax_minor = excluded.tax_minor, change_minor = excluded.change_minor, body = excluded.body, \
             updated_at = excluded.updated_at",
        &rows,
        |mut values, row| {
            let order = row.order;
            values
                .push_bind(row.id)
                .push_bind(order.state.as_str())
                .push_bind(order.origin.config_id.0)
                .push_bind(order.origin.session_id.0)
                .push_bind(order.shared)
                .push_bind(row.version)
                .push_bind(order.paid_by.as_ref().map(|by| by.session_id.0))
                .push_bind(order.totals.total.minor())
                .push_bind(order.totals.tax.minor())
                .push_bind(order.change.minor())
                .push_bind(row.body.as_str())
                .push_bind(order.created_at.unix_millis())
                .push_bind(order.updated_at.unix_millis())
                // Written when the order is created, never updated: a refund stays one.
                .push_bind(order.refund_of.map(|refund_of| refund_of.to_string()))
                .push_bind(order.paid_by.as_ref().map(|by| by.config_id.0));
        },
    )
    .await
    .map_err(|error| match runs {
        [run] => order_write_error(run.last.id)(error),
        _ => orders_write_error("an order of the batch".to_owned())(error),
    })?;
    assert_eq!(
        written,
        rows.len() as u64,
        "every order row of the batch is inserted or updated"
    );

    // After the order rows: the history's foreign key needs them.
    let history: Vec<(&str, &HistoryRow)> = runs
        .iter()
        .flat_map(|run| {
            run.history
                .iter()
                .map(|row| (run.order_id_text.as_str(), row))
        })
        .collect();
    insert_rows(
        conn,
        "INSERT INTO order_ops (order_id, version, op_id, op, by_json, at, approved_by) ",
        "",
        &history,
        |mut values, (order_id, row)| {
            values
                .push_bind(*order_id)
                .push_bind(row.version)
                .push_bind(row.op_id.as_str())
                .push_bind(row.op.as_str())
                .push_bind(row.by.as_str())
                .push_bind(row.at)
                .push_bind(row.approved_by);
        },
    )
    .await
    .map_err(conflict_on_unique(
        Conflict::OpAnswered,
        "could not append an op",
    ))?;
    Ok(paid)
}

/// An order row, encoded, as the batch leaves it.
struct OrderRow<'a> {
    id: &'a str,
    order: &'a Order,
    version: i64,
    body: String,
}

/// The backstop of "no line is refunded beyond what was sold": after the
/// batch's orders are written, every paid order a new refund draft refunds is
/// checked against all of its refunds that are not cancelled, new ones
/// included. The write transaction holds SQLite's one write lock, so no other
/// writer (another process on the same file included) adds a refund meanwhile.
async fn check_refunds(conn: &mut SqliteConnection, entries: &[CommitEntry]) -> StoreResult<()> {
    for (refund_of, refund_ids) in refunded_by_new_drafts(entries) {
        let original = super::orders::load_order(conn, refund_of)
            .await?
            .ok_or(StoreError::NotFound("refunded order"))?;
        let refunds = super::orders::load_refunds(conn, refund_of).await?;
        check_refunds_within_sold(&original, &refunds).map_err(|reject| {
            Conflict::RefundBeyondSold {
                order_id: refund_of,
                refund_ids: refund_ids.clone(),
                message: reject.message,
            }
        })?;
    }
    Ok(())
}

/// Records what each payment leaves behind. `paid` says, for every order of
/// the batch, whether it was paid before the batch.
async fn record_payments(
    conn: &mut SqliteConnection,
    entries: &[CommitEntry],
    paid: BTreeMap<OrderId, bool>,
) -> StoreResult<()> {
    let newly_paid = newly_paid(entries, paid);
    if newly_paid.is_empty() {
        return Ok(());
    }
    let mut ledger = load_ledger(conn, &newly_paid).await?;
    for (order, at) in &newly_paid {
        let effects = ledger
            .record(order, *at)
            .map_err(|error| StoreError::Invalid(error.to_string()))?;
        write_payment_effects(conn, &effects).await?;
    }
    super::printing::queue_receipts(conn, &newly_paid).await
}

/// What the payments of `orders` draw from, read inside the write transaction:
/// the stock of the products they sell and, if one asks for an invoice, the
/// last invoice number.
async fn load_ledger(
    conn: &mut SqliteConnection,
    orders: &[(&Order, Timestamp)],
) -> StoreResult<PaymentLedger> {
    let product_ids: BTreeSet<ProductId> = orders
        .iter()
        .flat_map(|(order, _)| PaymentLedger::products_of(order))
        .collect();
    let mut stock = BTreeMap::new();
    for product_id in product_ids {
        let level: Option<(bool, i64)> =
            sqlx::query_as("SELECT tracks_stock, on_hand_milli FROM products WHERE id = ?")
                .bind(product_id.0)
                .fetch_optional(&mut *conn)
                .await
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
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) FROM invoices")
            .fetch_one(&mut *conn)
            .await
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
    for session_id in session_ids {
        let last: Option<i64> =
            sqlx::query_scalar("SELECT last_receipt_number FROM sessions WHERE id = ?")
                .bind(session_id.0)
                .fetch_optional(&mut *conn)
                .await
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
/// paying session, stock moves and levels, the invoice.
async fn write_payment_effects(
    conn: &mut SqliteConnection,
    effects: &PaymentEffects,
) -> StoreResult<()> {
    let order_id_text = effects.order_id.to_string();
    let at = effects.at.unix_millis();
    let write_failed = || order_write_error(effects.order_id);
    for payment in &effects.payments {
        sqlx::query("INSERT INTO payments (order_id, session_id, method_id, amount_minor, at) VALUES (?, ?, ?, ?, ?)")
            .bind(&order_id_text)
            .bind(effects.session_id.0)
            .bind(payment.method_id.0)
            .bind(payment.amount.minor())
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(write_failed())?;
    }
    let receipt_sequence = encode_count(effects.receipt_sequence, "receipt number")?;
    // The number goes into the order's body too, so every read of the order
    // (by id, paged) answers it on the order object.
    sqlx::query(
        "UPDATE orders SET receipt_sequence = ?1, receipt_number = ?2, \
             body = json_set(body, '$.receipt_number', ?2) WHERE id = ?3",
    )
    .bind(receipt_sequence)
    .bind(&effects.receipt_number)
    .bind(&order_id_text)
    .execute(&mut *conn)
    .await
    .map_err(write_failed())?;
    let advanced = sqlx::query(
        "UPDATE sessions SET last_receipt_number = ? WHERE id = ? AND last_receipt_number = ?",
    )
    .bind(receipt_sequence)
    .bind(effects.session_id.0)
    .bind(receipt_sequence - 1)
    .execute(&mut *conn)
    .await
    .map_err(unavailable("could not advance a session's receipt number"))?;
    if advanced.rows_affected() != 1 {
        return Err(StoreError::Invalid(format!(
            "session {} did not hold receipt number {} before order {}",
            effects.session_id,
            receipt_sequence - 1,
            effects.order_id
        )));
    }
    for tax in &effects.taxes {
        sqlx::query(
            "INSERT INTO order_taxes (order_id, session_id, tax_id, rate_bp, base_minor, amount_minor) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&order_id_text)
        .bind(effects.session_id.0)
        .bind(tax.tax_id.0)
        .bind(tax.rate.basis_points())
        .bind(tax.base.minor())
        .bind(tax.amount.minor())
        .execute(&mut *conn)
        .await
        .map_err(write_failed())?;
    }
    for stock_move in &effects.stock_moves {
        sqlx::query(
            "INSERT INTO stock_moves (product_id, order_id, qty_milli, at) VALUES (?, ?, ?, ?)",
        )
        .bind(stock_move.product_id.0)
        .bind(&order_id_text)
        .bind(stock_move.qty.milli())
        .bind(stock_move.at.unix_millis())
        .execute(&mut *conn)
        .await
        .map_err(write_failed())?;
    }
    for level in &effects.on_hand {
        sqlx::query("UPDATE products SET on_hand_milli = ? WHERE id = ?")
            .bind(level.on_hand.milli())
            .bind(level.product_id.0)
            .execute(&mut *conn)
            .await
            .map_err(unavailable("could not update stock on hand"))?;
    }
    for product_id in &effects.unknown_products {
        tracing::warn!(order_id = %effects.order_id, %product_id, "paid line of an unknown product");
    }
    if let Some(invoice) = &effects.invoice {
        sqlx::query("INSERT INTO invoices (number, order_id, customer_id, at) VALUES (?, ?, ?, ?)")
            .bind(encode_count(invoice.number, "invoice number")?)
            .bind(&order_id_text)
            .bind(invoice.customer_id.0)
            .bind(invoice.at.unix_millis())
            .execute(&mut *conn)
            .await
            .map_err(write_failed())?;
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
        Conflict::OpAnswered,
        "could not record an op outcome",
    ))?;
    insert_rows(
        conn,
        "INSERT INTO op_outcomes (op_id, order_id, outcome, at) ",
        " ON CONFLICT (op_id) DO NOTHING",
        &plan.first_answers,
        bind_outcome,
    )
    .await
    .map_err(unavailable("could not record a reject"))?;
    Ok(())
}

pub(super) async fn commit_batch(store: &SqliteStore, entries: &[CommitEntry]) -> StoreResult<()> {
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
    let mut tx = store.write_tx().await?;
    check_open_sessions(&mut tx, entries).await?;
    let paid = write_order_runs(&mut tx, &plan.orders).await?;
    check_refunds(&mut tx, entries).await?;
    record_payments(&mut tx, entries, paid).await?;
    write_outcomes(&mut tx, &plan).await?;
    write_approvals(&mut tx, &plan).await?;
    commit_tx(tx).await
}

/// The audit trail's entry for each approved op, in the op's transaction:
/// an approval is in the trail exactly when its op took effect.
async fn write_approvals(conn: &mut SqliteConnection, plan: &BatchPlan<'_>) -> StoreResult<()> {
    for approval in &plan.approvals {
        sqlx::query(
            "INSERT INTO audit_log (at, user_id, action, target, details) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(approval.at)
        .bind(approval.user_id)
        .bind(APPROVAL_ACTION)
        .bind(&approval.target)
        .bind(&approval.details)
        .execute(&mut *conn)
        .await
        .map_err(unavailable(
            "could not record an approval in the audit trail",
        ))?;
    }
    Ok(())
}
