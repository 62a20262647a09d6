//! Reading orders, their history, op outcomes, and what payments left behind (stock moves, invoices).

use super::{SqliteStore, commit_tx, exists};
use crate::OrdersPage;
use crate::database_errors::unavailable;
use crate::paging::{Arg, Dialect, orders_page_query};
use crate::rows::decode_history_from;
use crate::rows::{
    HistoryReadRow, OrderRow, decode_history, decode_invoices, decode_json, decode_stock_moves,
    decode_u64, decode_uuid,
};
use crate::{HistoryEntry, Invoice, OpOutcome, StockMove, StoreError, StoreResult};
use possync_core::*;

const DIALECT: Dialect = Dialect {
    placeholder: |_| "?".to_owned(),
    uuid_param: |param| param.to_owned(),
    columns: "id, version, body",
    shared_true: "1",
};
use sqlx::sqlite::SqliteConnection;

/// An order by id (`id, version, body`), here and on the commit thread.
pub(super) const ORDER_BY_ID: &str = "SELECT id, version, body FROM orders WHERE id = ?";

/// The refunds of an order that are not cancelled, oldest first, here and on
/// the commit thread.
pub(super) const REFUNDS_OF: &str = "SELECT id, version, body FROM orders \
     WHERE refund_of = ? AND state <> 'cancelled' ORDER BY created_at, id";

pub(super) async fn load_order(
    conn: &mut SqliteConnection,
    order_id: OrderId,
) -> StoreResult<Option<Order>> {
    sqlx::query_as::<_, OrderRow>(ORDER_BY_ID)
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

/// The refunds of `order_id` that are not cancelled, oldest first.
pub(super) async fn load_refunds(
    conn: &mut SqliteConnection,
    order_id: OrderId,
) -> StoreResult<Vec<Order>> {
    sqlx::query_as::<_, OrderRow>(REFUNDS_OF)
        .bind(order_id.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(unavailable("could not read an order's refunds"))?
        .into_iter()
        .map(OrderRow::decode)
        .collect()
}

pub(super) async fn refunds_of(store: &SqliteStore, order_id: OrderId) -> StoreResult<Vec<Order>> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    load_refunds(&mut conn, order_id).await
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

/// An accepted op's answer is its history row; the other answers are in
/// `op_outcomes` (see `super::commit::write_outcomes`). The history is asked
/// first: a database written before may hold an accepted op in both, alike.
pub(super) async fn find_op_outcome(
    store: &SqliteStore,
    op_id: OpId,
) -> StoreResult<Option<OpOutcome>> {
    let accepted: Option<(String, i64)> =
        sqlx::query_as("SELECT order_id, version FROM order_ops WHERE op_id = ?")
            .bind(op_id.to_string())
            .fetch_optional(&store.reader)
            .await
            .map_err(unavailable("could not find an op outcome"))?;
    if let Some((order_id, version)) = accepted {
        return Ok(Some(OpOutcome::Accepted {
            order_id: OrderId(decode_uuid(&order_id, "order id")?),
            version: decode_u64(version, "order version")?,
        }));
    }
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

pub(super) async fn newest_id_stamp_ms(
    store: &SqliteStore,
    at_most_ms: i64,
) -> StoreResult<Option<i64>> {
    // Each MAX seeks a unique index from the bound down: three index lookups,
    // whatever the history holds. Accepted ops are answered from the history,
    // the other ops from `op_outcomes`.
    let below = crate::first_uuid_stamped(at_most_ms.saturating_add(1)).to_string();
    let newest: Option<String> = sqlx::query_scalar(
        "SELECT MAX(id) FROM (SELECT MAX(op_id) AS id FROM op_outcomes WHERE op_id < ?1 \
                              UNION ALL SELECT MAX(op_id) FROM order_ops WHERE op_id < ?1 \
                              UNION ALL SELECT MAX(id) FROM orders WHERE id < ?1)",
    )
    .bind(&below)
    .fetch_one(&store.reader)
    .await
    .map_err(unavailable("could not read the newest stored id"))?;
    newest
        .map(|text| {
            uuid::Uuid::parse_str(&text)
                .map(crate::uuid_stamp_ms)
                .map_err(|_| StoreError::Invalid(format!("stored id {text:?} is not a UUID")))
        })
        .transpose()
}

pub(super) async fn order_history(
    store: &SqliteStore,
    order_id: OrderId,
) -> StoreResult<Vec<HistoryEntry>> {
    let rows: Vec<HistoryReadRow> = sqlx::query_as(
        "SELECT version, op_id, op, by_json, at, approved_by FROM order_ops WHERE order_id = ? ORDER BY version",
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
        "SELECT order_id, qty_milli, at FROM stock_moves \
         WHERE product_id = ? AND order_id IS NOT NULL ORDER BY id",
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

pub(super) async fn list_orders_page(
    store: &SqliteStore,
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
        .fetch_all(&store.reader)
        .await
        .map_err(unavailable("could not list orders"))?
        .into_iter()
        .map(OrderRow::decode)
        .collect()
}

pub(super) async fn order_history_page(
    store: &SqliteStore,
    order_id: OrderId,
    after_version: u64,
    limit: u32,
) -> StoreResult<Vec<HistoryEntry>> {
    let after = i64::try_from(after_version)
        .map_err(|_| StoreError::Invalid("a version past the largest one".to_owned()))?;
    let rows: Vec<HistoryReadRow> = sqlx::query_as("SELECT version, op_id, op, by_json, at, approved_by FROM order_ops WHERE order_id = ? AND version > ? ORDER BY version LIMIT ?")
        .bind(order_id.to_string())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&store.reader)
        .await
        .map_err(unavailable("could not read an order's history"))?;
    decode_history_from(order_id, after_version + 1, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OrderCursor, ReadableBy};

    /// SQLite's plan for `page`: one line per step.
    async fn plan(store: &SqliteStore, page: &OrdersPage<'_>) -> Vec<String> {
        let (sql, args) = orders_page_query(&DIALECT, page);
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
        for arg in args {
            query = match arg {
                Arg::Text(text) => query.bind(text),
                Arg::Int(int) => query.bind(int),
            };
        }
        let steps = query.fetch_all(&store.reader).await.unwrap();
        steps.into_iter().map(|(_, _, _, step)| step).collect()
    }

    /// A terminal's page of every state, first or later, walks an index in
    /// page order for each of its branches and never scans the orders table:
    /// what it reads does not grow with the rest of the shop's history.
    #[tokio::test]
    async fn a_counters_pages_search_indexes_and_never_scan_the_orders() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("plan.db"))
            .await
            .unwrap();
        let linked = [ConfigId(2), ConfigId(3)];
        let after = OrderCursor {
            created_at: Timestamp::from_unix_millis(1_000),
            order_id: OrderId(uuid::Uuid::from_u128(
                0x0190_0000_0000_7000_8000_0000_0000_0001,
            )),
        };
        for state in [OrderState::Draft, OrderState::Paid, OrderState::Cancelled] {
            for after in [None, Some(after)] {
                let page = OrdersPage {
                    state,
                    after,
                    limit: 50,
                    readable_by: Some(ReadableBy {
                        config_id: ConfigId(1),
                        linked: &linked,
                    }),
                };
                let steps = plan(&store, &page).await;
                let on_orders: Vec<&String> = steps
                    .iter()
                    .filter(|step| step.contains(" orders"))
                    .collect();
                assert!(!on_orders.is_empty(), "{state:?}: {steps:?}");
                for step in on_orders {
                    assert!(
                        step.starts_with("SEARCH orders USING")
                            && (step.contains("orders_by_origin_state")
                                || step.contains("orders_by_paying_config")),
                        "{state:?} after {after:?}: {step} in {steps:?}"
                    );
                }
            }
        }
        store.close().await;
    }
}
