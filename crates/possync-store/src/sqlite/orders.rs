//! Reading orders, their history, op outcomes, and what payments left behind (stock moves, invoices).

use super::{SqliteStore, commit_tx, exists};
use crate::database_errors::unavailable;
use crate::rows::{
    HistoryReadRow, OrderRow, decode_history, decode_invoices, decode_json, decode_stock_moves,
};
use crate::{HistoryEntry, Invoice, OpOutcome, StockMove, StoreError, StoreResult};
use possync_core::*;
use sqlx::sqlite::SqliteConnection;

async fn load_order(conn: &mut SqliteConnection, order_id: OrderId) -> StoreResult<Option<Order>> {
    sqlx::query_as::<_, OrderRow>("SELECT id, version, body FROM orders WHERE id = ?")
        .bind(order_id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read an order"))?
        .map(OrderRow::decode)
        .transpose()
}

pub(super) async fn get_order(
    store: &SqliteStore,
    order_id: OrderId,
) -> StoreResult<Option<Order>> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    load_order(&mut conn, order_id).await
}

pub(super) async fn list_orders(store: &SqliteStore, state: OrderState) -> StoreResult<Vec<Order>> {
    sqlx::query_as::<_, OrderRow>(
        "SELECT id, version, body FROM orders WHERE state = ? ORDER BY created_at, id",
    )
    .bind(state.as_str())
    .fetch_all(&store.reader)
    .await
    .map_err(unavailable("could not list orders"))?
    .into_iter()
    .map(OrderRow::decode)
    .collect()
}

pub(super) async fn find_op_outcome(
    store: &SqliteStore,
    op_id: OpId,
) -> StoreResult<Option<OpOutcome>> {
    let outcome: Option<String> =
        sqlx::query_scalar("SELECT outcome FROM op_outcomes WHERE op_id = ?")
            .bind(op_id.to_string())
            .fetch_optional(&store.reader)
            .await
            .map_err(unavailable("could not find an op outcome"))?;
    outcome
        .map(|text| decode_json(&text, "op outcome"))
        .transpose()
}

pub(super) async fn order_history(
    store: &SqliteStore,
    order_id: OrderId,
) -> StoreResult<Vec<HistoryEntry>> {
    let rows: Vec<HistoryReadRow> = sqlx::query_as(
        "SELECT version, op_id, op, by_json, at FROM order_ops WHERE order_id = ? ORDER BY version",
    )
    .bind(order_id.to_string())
    .fetch_all(&store.reader)
    .await
    .map_err(unavailable("could not read an order's history"))?;
    decode_history(order_id, rows)
}

pub(super) async fn list_stock_moves(
    store: &SqliteStore,
    product_id: ProductId,
) -> StoreResult<Vec<StockMove>> {
    let mut tx = store.read_tx().await?;
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
    commit_tx(tx).await?;
    decode_stock_moves(product_id, rows)
}

pub(super) async fn list_invoices(store: &SqliteStore) -> StoreResult<Vec<Invoice>> {
    let rows: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT invoices.number, invoices.order_id, invoices.customer_id, orders.total_minor, invoices.at \
         FROM invoices JOIN orders ON orders.id = invoices.order_id ORDER BY invoices.number",
    )
    .fetch_all(&store.reader)
    .await
    .map_err(unavailable("could not list invoices"))?;
    decode_invoices(rows)
}
