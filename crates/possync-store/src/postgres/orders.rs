//! Reading orders, their history, op outcomes, and what payments left behind (stock moves, invoices).

use super::{PostgresStore, commit_tx, exists};
use crate::OrdersPage;
use crate::database_errors::unavailable;
use crate::paging::{Arg, Dialect, orders_page_query};
use crate::rows::decode_history_from;
use crate::rows::{
    HistoryReadRow, OrderRow, decode_history, decode_invoices, decode_json, decode_stock_moves,
};
use crate::{HistoryEntry, Invoice, OpOutcome, StockMove, StoreError, StoreResult};
use possync_core::*;
use sqlx::postgres::PgConnection;

const DIALECT: Dialect = Dialect {
    placeholder: |n| format!("${n}"),
    uuid_param: |param| format!("{param}::uuid"),
    columns: "id::text AS id, version, body::text AS body",
    shared_true: "TRUE",
};

pub(super) async fn get_order(
    store: &PostgresStore,
    order_id: OrderId,
) -> StoreResult<Option<Order>> {
    sqlx::query_as::<_, OrderRow>(
        "SELECT id::text AS id, version, body::text AS body FROM orders WHERE id = $1",
    )
    .bind(order_id.0)
    .fetch_optional(&store.pool)
    .await
    .map_err(unavailable("could not read an order"))?
    .map(OrderRow::decode)
    .transpose()
}

/// The refunds of `order_id` that are not cancelled, oldest first.
pub(super) async fn load_refunds(
    conn: &mut PgConnection,
    order_id: OrderId,
) -> StoreResult<Vec<Order>> {
    sqlx::query_as::<_, OrderRow>(
        "SELECT id::text AS id, version, body::text AS body FROM orders \
         WHERE refund_of = $1 AND state <> 'cancelled' ORDER BY created_at, id",
    )
    .bind(order_id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read an order's refunds"))?
    .into_iter()
    .map(OrderRow::decode)
    .collect()
}

pub(super) async fn refunds_of(
    store: &PostgresStore,
    order_id: OrderId,
) -> StoreResult<Vec<Order>> {
    let mut conn = store.connection().await?;
    load_refunds(&mut conn, order_id).await
}

pub(super) async fn list_orders(
    store: &PostgresStore,
    state: OrderState,
) -> StoreResult<Vec<Order>> {
    sqlx::query_as::<_, OrderRow>(
        "SELECT id::text AS id, version, body::text AS body FROM orders WHERE state = $1 ORDER BY created_at, id",
    )
    .bind(state.as_str())
    .fetch_all(&store.pool)
    .await
    .map_err(unavailable("could not list orders"))?
    .into_iter()
    .map(OrderRow::decode)
    .collect()
}

pub(super) async fn find_op_outcome(
    store: &PostgresStore,
    op_id: OpId,
) -> StoreResult<Option<OpOutcome>> {
    let outcome: Option<String> =
        sqlx::query_scalar("SELECT outcome::text FROM op_outcomes WHERE op_id = $1")
            .bind(op_id.0)
            .fetch_optional(&store.pool)
            .await
            .map_err(unavailable("could not find an op outcome"))?;
    outcome
        .map(|text| decode_json(&text, "op outcome"))
        .transpose()
}

pub(super) async fn newest_id_stamp_ms(
    store: &PostgresStore,
    at_most_ms: i64,
) -> StoreResult<Option<i64>> {
    // PostgreSQL has no MAX over UUIDs; each ORDER BY ... DESC LIMIT 1 walks
    // the primary key's index backwards from the bound.
    let below = crate::first_uuid_stamped(at_most_ms.saturating_add(1));
    let newest: Option<uuid::Uuid> = sqlx::query_scalar(
        "SELECT GREATEST( \
             (SELECT op_id FROM op_outcomes WHERE op_id < $1 ORDER BY op_id DESC LIMIT 1), \
             (SELECT id FROM orders WHERE id < $1 ORDER BY id DESC LIMIT 1))",
    )
    .bind(below)
    .fetch_one(&store.pool)
    .await
    .map_err(unavailable("could not read the newest stored id"))?;
    Ok(newest.map(crate::uuid_stamp_ms))
}

pub(super) async fn order_history(
    store: &PostgresStore,
    order_id: OrderId,
) -> StoreResult<Vec<HistoryEntry>> {
    let rows: Vec<HistoryReadRow> = sqlx::query_as(
        "SELECT version, op_id::text AS op_id, op::text AS op, by_json::text AS by_json, at, approved_by \
         FROM order_ops WHERE order_id = $1 ORDER BY version",
    )
    .bind(order_id.0)
    .fetch_all(&store.pool)
    .await
    .map_err(unavailable("could not read an order's history"))?;
    decode_history(order_id, rows)
}

pub(super) async fn list_stock_moves(
    store: &PostgresStore,
    product_id: ProductId,
) -> StoreResult<Vec<StockMove>> {
    let mut tx = store.read_tx().await?;
    if !exists(
        &mut tx,
        "SELECT 1 FROM products WHERE id = $1",
        product_id.0,
    )
    .await?
    {
        return Err(StoreError::NotFound("product"));
    }
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT order_id::text, qty_milli, at FROM stock_moves \
         WHERE product_id = $1 AND order_id IS NOT NULL ORDER BY id",
    )
    .bind(product_id.0)
    .fetch_all(&mut *tx)
    .await
    .map_err(unavailable("could not list stock moves"))?;
    commit_tx(tx).await?;
    decode_stock_moves(product_id, rows)
}

pub(super) async fn list_invoices(store: &PostgresStore) -> StoreResult<Vec<Invoice>> {
    let rows: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT invoices.number, invoices.order_id::text, invoices.customer_id, orders.total_minor, invoices.at \
         FROM invoices JOIN orders ON orders.id = invoices.order_id ORDER BY invoices.number",
    )
    .fetch_all(&store.pool)
    .await
    .map_err(unavailable("could not list invoices"))?;
    decode_invoices(rows)
}

pub(super) async fn list_orders_page(
    store: &PostgresStore,
    page: &OrdersPage<'_>,
) -> StoreResult<Vec<Order>> {
    let (sql, args) = orders_page_query(&DIALECT, page);
    let mut query = sqlx::query_as::<_, OrderRow>(&sql);
    for arg in args {
        query = match arg {
            Arg::Text(text) => query.bind(text),
            Arg::Int(int) => query.bind(int),
        };
    }
    query
        .fetch_all(&store.pool)
        .await
        .map_err(unavailable("could not list orders"))?
        .into_iter()
        .map(OrderRow::decode)
        .collect()
}

pub(super) async fn order_history_page(
    store: &PostgresStore,
    order_id: OrderId,
    after_version: u64,
    limit: u32,
) -> StoreResult<Vec<HistoryEntry>> {
    let after = i64::try_from(after_version)
        .map_err(|_| StoreError::Invalid("a version past the largest one".to_owned()))?;
    let rows: Vec<HistoryReadRow> = sqlx::query_as(
        "SELECT version, op_id::text AS op_id, op::text AS op, by_json::text AS by_json, at, approved_by \
         FROM order_ops WHERE order_id = $1 AND version > $2 ORDER BY version LIMIT $3",
    )
    .bind(order_id.0)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(unavailable("could not read an order's history"))?;
    decode_history_from(order_id, after_version + 1, rows)
}
