//! Group commit: a batch of op outcomes in one transaction, with what each
//! payment leaves behind (computed by `possync_core::PaymentLedger`), safe with
//! several nodes committing at once.
//!
//! The batch is planned in memory first (`crate::batch`). Then, in one
//! transaction:
//! 1. the stored rows of the batch's orders are locked (`FOR UPDATE`, in id
//!    order, so two batches never wait on each other in a cycle) and each
//!    order's run is checked against its stored version;
//! 2. the sessions whose ops are accepted are locked and must still be open
//!    (a close on another node takes the same lock: [`Conflict::SessionClosed`]);
//! 3. each order row is written once, at its last version in the batch, by
//!    `UPDATE ... WHERE id = $1 AND version = $2` (or an `INSERT ... ON CONFLICT
//!    DO NOTHING` for a new order): a writer that lost a race writes nothing
//!    and the batch fails with [`Conflict::OrderVersion`];
//! 4. history and outcome rows go in with one `UNNEST` insert each; the unique
//!    op id refuses an accepted op that another node already committed
//!    ([`Conflict::OpAnswered`]);
//! 5. payments lock the stock rows they move and the invoice counter, so
//!    numbers stay gap-free and stock exact across nodes;
//! 6. every order written is notified (`possync_orders`, its id, version and
//!    the op that brought it there),
//!    delivered to every node's listener once the transaction commits.

use super::changes::notify_orders;
use super::{PostgresStore, commit_tx};
use crate::batch::{
    APPROVAL_ACTION, BatchPlan, OrderRun, accepting_sessions, newly_paid, paid_candidates,
    refunded_by_new_drafts, worth_committing,
};
use crate::database_errors::{conflict_on_unique, order_write_error, unavailable};
use crate::rows::OrderRow;
use crate::rows::{decode_quantity, decode_u64, encode_count, encode_json, encode_version};
use crate::{CommitEntry, Conflict, StoreError, StoreResult};
use possync_core::*;
use sqlx::postgres::PgConnection;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// What the database holds of an order before the batch.
struct StoredOrder {
    version: u64,
    paid: bool,
}

pub(super) async fn commit_batch(
    store: &PostgresStore,
    entries: &[CommitEntry],
) -> StoreResult<()> {
    if !worth_committing(entries)? {
        return Ok(());
    }
    let plan = BatchPlan::new(entries)?;
    // One transaction for the batch: on any error the dropped transaction
    // rolls back every entry.
    let mut tx = store.write_tx().await?;
    let stored = lock_orders(&mut tx, &plan).await?;
    // Checked in batch order, so the conflict named is the first order of the
    // batch whose version moved, as in every store.
    for run in &plan.orders {
        let stored_version = stored.get(&run.last.id).map_or(0, |order| order.version);
        if stored_version + 1 != run.first_version {
            return Err(Conflict::OrderVersion {
                order_id: run.last.id,
                current: stored_version,
                next: run.first_version,
            }
            .into());
        }
    }
    lock_open_sessions(&mut tx, entries).await?;
    // Written in id order, like the locks: two batches creating the same new
    // orders wait for each other in one direction only.
    let mut runs: Vec<&OrderRun<'_>> = plan.orders.iter().collect();
    runs.sort_by_key(|run| run.last.id);
    for run in runs {
        write_order_row(&mut tx, run, stored.get(&run.last.id)).await?;
    }
    let written: Vec<(OrderId, u64, &str)> = plan
        .orders
        .iter()
        .filter_map(|run| {
            let last = run.history.last()?;
            Some((run.last.id, run.last.version, last.op_id.as_str()))
        })
        .collect();
    check_refunds(&mut tx, entries).await?;
    notify_orders(&mut tx, &written).await?;
    write_history(&mut tx, &plan).await?;
    write_outcomes(&mut tx, &plan).await?;
    let paid_before = plan
        .orders
        .iter()
        .map(|run| {
            let was_paid = stored.get(&run.last.id).is_some_and(|order| order.paid);
            (run.last.id, was_paid)
        })
        .collect();
    record_payments(&mut tx, entries, paid_before).await?;
    write_approvals(&mut tx, &plan).await?;
    commit_tx(tx).await
}

/// The backstop of "no line is refunded beyond what was sold", which holds
/// across nodes: after the batch's orders are written, the row of every paid
/// order a new refund draft refunds is locked (`FOR UPDATE`, in id order, and
/// after the batch's own orders, so two batches wait in one direction only),
/// then all of its refunds that are not cancelled, new ones included, are
/// read and checked. A node refunding the same order at the same time waits
/// for the lock, and its read (a new statement under READ COMMITTED) sees
/// this batch's refund once it commits.
async fn check_refunds(conn: &mut PgConnection, entries: &[CommitEntry]) -> StoreResult<()> {
    for (refund_of, refund_ids) in refunded_by_new_drafts(entries) {
        let original = sqlx::query_as::<_, OrderRow>(
            "SELECT id::text AS id, version, body::text AS body FROM orders WHERE id = $1 FOR UPDATE",
        )
        .bind(refund_of.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not lock a refunded order"))?
        .map(OrderRow::decode)
        .transpose()?
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

/// The audit trail's entry for each approved op, in the op's transaction:
/// an approval is in the trail exactly when its op took effect.
async fn write_approvals(conn: &mut PgConnection, plan: &BatchPlan<'_>) -> StoreResult<()> {
    for approval in &plan.approvals {
        sqlx::query(
            "INSERT INTO audit_log (at, user_id, action, target, details) VALUES ($1, $2, $3, $4, $5::jsonb)",
        )
        .bind(approval.at)
        .bind(approval.user_id)
        .bind(APPROVAL_ACTION)
        .bind(&approval.target)
        .bind(&approval.details)
        .execute(&mut *conn)
        .await
        .map_err(unavailable("could not record an approval in the audit trail"))?;
    }
    Ok(())
}

/// Locks the stored rows of the batch's orders and answers their versions and states.
async fn lock_orders(
    conn: &mut PgConnection,
    plan: &BatchPlan<'_>,
) -> StoreResult<BTreeMap<OrderId, StoredOrder>> {
    let mut order_ids: Vec<Uuid> = plan.orders.iter().map(|run| run.last.id.0).collect();
    order_ids.sort();
    let rows: Vec<(Uuid, i64, String)> = sqlx::query_as(
        "SELECT id, version, state FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(&order_ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not lock the batch's orders"))?;
    rows.into_iter()
        .map(|(order_id, version, state)| {
            Ok((
                OrderId(order_id),
                StoredOrder {
                    version: decode_u64(version, "order version")?,
                    paid: state == OrderState::Paid.as_str(),
                },
            ))
        })
        .collect()
}

/// Locks the sessions whose ops the batch accepts and checks that each is
/// still open. Closing a session locks its row too (`FOR UPDATE`), so a close
/// on another node and this batch take turns: an op of the session either
/// commits before the close (and its report, read after the lock, counts it)
/// or finds the session closed and the batch is refused
/// ([`Conflict::SessionClosed`]). `NO KEY UPDATE`, the mode the receipt
/// counters are locked in later, so the transaction never upgrades a lock
/// another one shares; in id order, after the orders, like every commit.
async fn lock_open_sessions(conn: &mut PgConnection, entries: &[CommitEntry]) -> StoreResult<()> {
    let session_ids: Vec<i64> = accepting_sessions(entries)
        .into_iter()
        .map(|session_id| session_id.0)
        .collect();
    if session_ids.is_empty() {
        return Ok(());
    }
    // The state is checked here, not in SQL around the locking select: a
    // row that waited for a close's lock comes back as the close left it,
    // but a filter outside the locking subquery would judge its old version.
    let sessions: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, state FROM sessions WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(&session_ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not lock the batch's sessions"))?;
    match sessions.into_iter().find(|(_, state)| state != "open") {
        Some((session_id, _)) => Err(Conflict::SessionClosed(SessionId(session_id)).into()),
        None => Ok(()),
    }
}

/// Moves one order from its stored version to the run's last version.
async fn write_order_run_conflict(
    conn: &mut PgConnection,
    run: &OrderRun<'_>,
) -> StoreResult<StoreError> {
    // Read without a lock, only to say where the order is now.
    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM orders WHERE id = $1")
        .bind(run.last.id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read an order's version"))?;
    Ok(Conflict::OrderVersion {
        order_id: run.last.id,
        current: current.map_or(Ok(0), |version| decode_u64(version, "order version"))?,
        next: run.first_version,
    }
    .into())
}

/// Writes the order row at the run's last version. The `WHERE version = $n`
/// repeats the version check in the statement itself: whatever happened since
/// the lock, only one writer can move an order on from the version it read.
async fn write_order_row(
    conn: &mut PgConnection,
    run: &OrderRun<'_>,
    stored: Option<&StoredOrder>,
) -> StoreResult<()> {
    let order = run.last;
    let body = encode_json(order, "order")?;
    let written = match stored {
        Some(stored) => sqlx::query(
            "UPDATE orders SET state = $2, shared = $3, version = $4, paid_by_session_id = $5, \
                 total_minor = $6, tax_minor = $7, change_minor = $8, body = $9::jsonb, updated_at = $10, \
                 paid_by_config_id = $12 \
             WHERE id = $1 AND version = $11",
        )
        .bind(order.id.0)
        .bind(order.state.as_str())
        .bind(order.shared)
        .bind(encode_version(order.version)?)
        .bind(order.paid_by.as_ref().map(|by| by.session_id.0))
        .bind(order.totals.total.minor())
        .bind(order.totals.tax.minor())
        .bind(order.change.minor())
        .bind(&body)
        .bind(order.updated_at.unix_millis())
        .bind(encode_version(stored.version)?)
        .bind(order.paid_by.as_ref().map(|by| by.config_id.0))
        .execute(&mut *conn)
        .await
        .map_err(order_write_error(order.id))?,
        None => sqlx::query(
            "INSERT INTO orders (id, state, origin_config_id, origin_session_id, shared, version, \
                 paid_by_session_id, total_minor, tax_minor, change_minor, body, created_at, updated_at, \
                 refund_of, paid_by_config_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(order.id.0)
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
        // Written when the order is created, never updated: a refund stays one.
        .bind(order.refund_of.map(|refund_of| refund_of.0))
        .bind(order.paid_by.as_ref().map(|by| by.config_id.0))
        .execute(&mut *conn)
        .await
        .map_err(order_write_error(order.id))?,
    };
    if written.rows_affected() != 1 {
        // Another node created (or moved) the order first.
        return Err(write_order_run_conflict(conn, run).await?);
    }
    Ok(())
}

/// Every history row of the batch in one statement.
async fn write_history(conn: &mut PgConnection, plan: &BatchPlan<'_>) -> StoreResult<()> {
    let mut order_ids = Vec::new();
    let mut versions = Vec::new();
    let mut op_ids = Vec::new();
    let mut ops = Vec::new();
    let mut bys = Vec::new();
    let mut ats = Vec::new();
    let mut approvers = Vec::new();
    for run in &plan.orders {
        for row in &run.history {
            order_ids.push(run.last.id.0);
            versions.push(row.version);
            op_ids.push(row.op_id.as_str());
            ops.push(row.op.as_str());
            bys.push(row.by.as_str());
            ats.push(row.at);
            approvers.push(row.approved_by);
        }
    }
    sqlx::query(
        "INSERT INTO order_ops (order_id, version, op_id, op, by_json, at, approved_by) \
         SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::text[]::uuid[], $4::text[]::jsonb[], \
                              $5::text[]::jsonb[], $6::bigint[], $7::bigint[])",
    )
    .bind(&order_ids)
    .bind(&versions)
    .bind(&op_ids)
    .bind(&ops)
    .bind(&bys)
    .bind(&ats)
    .bind(&approvers)
    .execute(&mut *conn)
    .await
    .map_err(conflict_on_unique(
        Conflict::OpAnswered,
        "could not append ops",
    ))?;
    Ok(())
}

/// Writes the batch's answers. Within the batch every op id appears once (see
/// `BatchPlan::new`); an accepted op that already has an answer in the store
/// fails the batch, a reject that already has one keeps the first.
async fn write_outcomes(conn: &mut PgConnection, plan: &BatchPlan<'_>) -> StoreResult<()> {
    let accepted_outcomes = plan.accepted_outcomes()?;
    for (rows, conflict_clause, on_error) in [
        (&accepted_outcomes, "", Some(Conflict::OpAnswered)),
        (&plan.first_answers, " ON CONFLICT (op_id) DO NOTHING", None),
    ] {
        if rows.is_empty() {
            continue;
        }
        let op_ids: Vec<&str> = rows.iter().map(|row| row.op_id.as_str()).collect();
        let order_ids: Vec<&str> = rows.iter().map(|row| row.order_id.as_str()).collect();
        let outcomes: Vec<&str> = rows.iter().map(|row| row.outcome.as_str()).collect();
        let ats: Vec<i64> = rows.iter().map(|row| row.at).collect();
        let inserted = sqlx::query(&format!(
            "INSERT INTO op_outcomes (op_id, order_id, outcome, at) \
             SELECT * FROM UNNEST($1::text[]::uuid[], $2::text[]::uuid[], $3::text[]::jsonb[], $4::bigint[]){conflict_clause}"
        ))
        .bind(&op_ids)
        .bind(&order_ids)
        .bind(&outcomes)
        .bind(&ats)
        .execute(&mut *conn)
        .await;
        match (inserted, on_error) {
            (Ok(_), _) => {}
            (Err(error), Some(conflict)) => {
                return Err(conflict_on_unique(conflict, "could not record op outcomes")(error));
            }
            (Err(error), None) => return Err(unavailable("could not record rejects")(error)),
        }
    }
    Ok(())
}

/// Records what each payment of the batch leaves behind. `paid_before` says,
/// for every order of the batch, whether it was paid before the batch.
async fn record_payments(
    conn: &mut PgConnection,
    entries: &[CommitEntry],
    paid_before: BTreeMap<OrderId, bool>,
) -> StoreResult<()> {
    let candidates = paid_candidates(entries);
    let newly_paid = newly_paid(&candidates, &paid_before);
    if newly_paid.is_empty() {
        return Ok(());
    }
    let asks_for_invoice = newly_paid.iter().any(|(order, _)| order.invoice);
    let mut ledger = load_ledger(conn, &newly_paid, asks_for_invoice).await?;
    let last_invoice_number_before = ledger.last_invoice_number;
    let mut effects = Vec::with_capacity(newly_paid.len());
    for (order, at) in &newly_paid {
        effects.push(
            ledger
                .record(order, *at)
                .map_err(|error| StoreError::Invalid(error.to_string()))?,
        );
    }
    write_payment_effects(conn, &effects).await?;
    if ledger.last_invoice_number != last_invoice_number_before {
        sqlx::query("UPDATE counters SET last = $1 WHERE name = 'invoice'")
            .bind(encode_count(ledger.last_invoice_number, "invoice number")?)
            .execute(&mut *conn)
            .await
            .map_err(unavailable("could not advance the invoice counter"))?;
    }
    super::printing::queue_receipts(conn, &newly_paid).await
}

/// What the payments draw from, locked until the transaction ends: the stock
/// rows of the products they sell (in id order) and, if one asks for an
/// invoice, the invoice counter. Payments on other nodes wait for these locks,
/// so each reads the numbers and levels the previous one left.
async fn load_ledger(
    conn: &mut PgConnection,
    orders: &[(&Order, Timestamp)],
    asks_for_invoice: bool,
) -> StoreResult<PaymentLedger> {
    let product_ids: Vec<i64> = orders
        .iter()
        .flat_map(|(order, _)| PaymentLedger::products_of(order))
        .map(|product_id| product_id.0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let levels: Vec<(i64, bool, i64)> = sqlx::query_as(
        "SELECT id, tracks_stock, on_hand_milli FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(&product_ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not lock the stock of the paid products"))?;
    let mut stock = BTreeMap::new();
    for (product_id, tracks_stock, on_hand_milli) in levels {
        stock.insert(
            ProductId(product_id),
            StockLevel {
                tracks_stock,
                on_hand: decode_quantity(on_hand_milli, "stock on hand")?,
            },
        );
    }
    let last_invoice_number = if asks_for_invoice {
        let last: i64 =
            sqlx::query_scalar("SELECT last FROM counters WHERE name = 'invoice' FOR UPDATE")
                .fetch_one(&mut *conn)
                .await
                .map_err(unavailable("could not lock the invoice counter"))?;
        decode_u64(last, "invoice number")?
    } else {
        0
    };
    // The paying sessions' receipt counters, locked in id order like the stock.
    // NO KEY UPDATE: the order rows written above hold KEY SHARE locks on their
    // sessions (the foreign key), which a plain FOR UPDATE would wait on and
    // deadlock against; two payers still exclude each other.
    let session_ids: Vec<i64> = orders
        .iter()
        .filter_map(|(order, _)| PaymentLedger::session_of(order))
        .map(|session_id| session_id.0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let counters: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, last_receipt_number FROM sessions WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(&session_ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not lock the paying sessions' receipt numbers"))?;
    let mut last_receipt_numbers = BTreeMap::new();
    for (session_id, last) in counters {
        last_receipt_numbers.insert(SessionId(session_id), decode_u64(last, "receipt number")?);
    }
    Ok(PaymentLedger {
        stock,
        last_invoice_number,
        last_receipt_numbers,
    })
}

/// Writes what the ledger answered for the batch's payments, one statement per table.
async fn write_payment_effects(
    conn: &mut PgConnection,
    effects: &[PaymentEffects],
) -> StoreResult<()> {
    let Some(first) = effects.first() else {
        return Ok(());
    };
    // A payment names an unknown method or session only if the batch is
    // broken; the foreign keys say so, naming the first paid order.
    let write_failed = || order_write_error(first.order_id);

    let mut order_ids = Vec::new();
    let mut session_ids = Vec::new();
    let mut method_ids = Vec::new();
    let mut amounts = Vec::new();
    let mut ats = Vec::new();
    for effect in effects {
        for payment in &effect.payments {
            order_ids.push(effect.order_id.0);
            session_ids.push(effect.session_id.0);
            method_ids.push(payment.method_id.0);
            amounts.push(payment.amount.minor());
            ats.push(effect.at.unix_millis());
        }
    }
    sqlx::query(
        "INSERT INTO payments (order_id, session_id, method_id, amount_minor, at) \
         SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])",
    )
    .bind(&order_ids)
    .bind(&session_ids)
    .bind(&method_ids)
    .bind(&amounts)
    .bind(&ats)
    .execute(&mut *conn)
    .await
    .map_err(write_failed())?;

    let mut order_ids = Vec::new();
    let mut sequences = Vec::new();
    let mut numbers = Vec::new();
    for effect in effects {
        order_ids.push(effect.order_id.0);
        sequences.push(encode_count(effect.receipt_sequence, "receipt number")?);
        numbers.push(effect.receipt_number.clone());
    }
    sqlx::query(
        // The number goes into the order's body too, so every read of the
        // order (by id, paged, after a NOTIFY) answers it on the order object.
        "UPDATE orders SET receipt_sequence = receipt.sequence, receipt_number = receipt.number, \
             body = jsonb_set(body, '{receipt_number}', to_jsonb(receipt.number)) \
         FROM UNNEST($1::uuid[], $2::bigint[], $3::text[]) AS receipt (id, sequence, number) \
         WHERE orders.id = receipt.id",
    )
    .bind(&order_ids)
    .bind(&sequences)
    .bind(&numbers)
    .execute(&mut *conn)
    .await
    .map_err(write_failed())?;
    // The last number of each session after the batch (the sessions are locked).
    let mut last_numbers: BTreeMap<i64, i64> = BTreeMap::new();
    for (effect, sequence) in effects.iter().zip(&sequences) {
        last_numbers.insert(effect.session_id.0, *sequence);
    }
    let (session_ids, lasts): (Vec<i64>, Vec<i64>) = last_numbers.into_iter().unzip();
    sqlx::query(
        "UPDATE sessions SET last_receipt_number = receipt.last \
         FROM UNNEST($1::bigint[], $2::bigint[]) AS receipt (id, last) \
         WHERE sessions.id = receipt.id",
    )
    .bind(&session_ids)
    .bind(&lasts)
    .execute(&mut *conn)
    .await
    .map_err(unavailable(
        "could not advance the sessions' receipt numbers",
    ))?;

    let mut order_ids = Vec::new();
    let mut session_ids = Vec::new();
    let mut tax_ids = Vec::new();
    let mut rates = Vec::new();
    let mut bases = Vec::new();
    let mut amounts = Vec::new();
    for effect in effects {
        for tax in &effect.taxes {
            order_ids.push(effect.order_id.0);
            session_ids.push(effect.session_id.0);
            tax_ids.push(tax.tax_id.0);
            rates.push(tax.rate.basis_points());
            bases.push(tax.base.minor());
            amounts.push(tax.amount.minor());
        }
    }
    sqlx::query(
        "INSERT INTO order_taxes (order_id, session_id, tax_id, rate_bp, base_minor, amount_minor) \
         SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])",
    )
    .bind(&order_ids)
    .bind(&session_ids)
    .bind(&tax_ids)
    .bind(&rates)
    .bind(&bases)
    .bind(&amounts)
    .execute(&mut *conn)
    .await
    .map_err(write_failed())?;

    let mut product_ids = Vec::new();
    let mut order_ids = Vec::new();
    let mut quantities = Vec::new();
    let mut ats = Vec::new();
    for stock_move in effects.iter().flat_map(|effect| &effect.stock_moves) {
        product_ids.push(stock_move.product_id.0);
        order_ids.push(stock_move.order_id.0);
        quantities.push(stock_move.qty.milli());
        ats.push(stock_move.at.unix_millis());
    }
    sqlx::query(
        "INSERT INTO stock_moves (product_id, order_id, qty_milli, at) \
         SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::bigint[], $4::bigint[])",
    )
    .bind(&product_ids)
    .bind(&order_ids)
    .bind(&quantities)
    .bind(&ats)
    .execute(&mut *conn)
    .await
    .map_err(write_failed())?;

    // The level after the batch: a later payment's level is the later one.
    let on_hand: BTreeMap<i64, i64> = effects
        .iter()
        .flat_map(|effect| &effect.on_hand)
        .map(|level| (level.product_id.0, level.on_hand.milli()))
        .collect();
    let (product_ids, levels): (Vec<i64>, Vec<i64>) = on_hand.into_iter().unzip();
    sqlx::query(
        "UPDATE products SET on_hand_milli = level.on_hand_milli \
         FROM UNNEST($1::bigint[], $2::bigint[]) AS level (id, on_hand_milli) \
         WHERE products.id = level.id",
    )
    .bind(&product_ids)
    .bind(&levels)
    .execute(&mut *conn)
    .await
    .map_err(unavailable("could not update stock on hand"))?;

    let mut numbers = Vec::new();
    let mut order_ids = Vec::new();
    let mut customer_ids = Vec::new();
    let mut ats = Vec::new();
    for effect in effects {
        for product_id in &effect.unknown_products {
            tracing::warn!(order_id = %effect.order_id, %product_id, "paid line of an unknown product");
        }
        if let Some(invoice) = &effect.invoice {
            numbers.push(encode_count(invoice.number, "invoice number")?);
            order_ids.push(invoice.order_id.0);
            customer_ids.push(invoice.customer_id.0);
            ats.push(invoice.at.unix_millis());
        }
    }
    sqlx::query(
        "INSERT INTO invoices (number, order_id, customer_id, at) \
         SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::bigint[], $4::bigint[])",
    )
    .bind(&numbers)
    .bind(&order_ids)
    .bind(&customer_ids)
    .bind(&ats)
    .execute(&mut *conn)
    .await
    .map_err(write_failed())?;
    Ok(())
}
