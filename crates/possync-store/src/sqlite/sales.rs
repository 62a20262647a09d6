//! What a sales report adds up: the orders paid in a period, read by the time
//! of payment (`orders_paid_by_time`), with their payments and, if asked, lines.

use super::{SqliteStore, commit_tx};
use crate::database_errors::unavailable;
use crate::rows::{SaleOrderRow, decode_sale_facts};
use crate::{SALE_FACTS_PER_REPORT_MAX, StoreError, StoreResult};
use possync_core::*;

pub(super) async fn list_sale_facts(
    store: &SqliteStore,
    from: Timestamp,
    to: Timestamp,
    with_lines: bool,
) -> StoreResult<Vec<SaleFact>> {
    let body = if with_lines { "orders.body" } else { "NULL" };
    let mut tx = store.read_tx().await?;
    let orders: Vec<SaleOrderRow> = sqlx::query_as(&format!(
        "SELECT orders.id, orders.origin_config_id, sessions.config_id, orders.total_minor, \
         orders.tax_minor, orders.change_minor, orders.updated_at, {body} \
         FROM orders JOIN sessions ON sessions.id = orders.paid_by_session_id \
         WHERE orders.state = 'paid' AND orders.updated_at >= ? AND orders.updated_at < ? \
         ORDER BY orders.updated_at, orders.id LIMIT ?"
    ))
    .bind(from.unix_millis())
    .bind(to.unix_millis())
    .bind(i64::try_from(SALE_FACTS_PER_REPORT_MAX + 1).unwrap_or(i64::MAX))
    .fetch_all(&mut *tx)
    .await
    .map_err(unavailable("could not read paid orders"))?;
    if orders.len() > SALE_FACTS_PER_REPORT_MAX {
        return Err(StoreError::Invalid(format!(
            "more than {SALE_FACTS_PER_REPORT_MAX} orders were paid in this period; choose a shorter one"
        )));
    }
    let payments: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT payments.order_id, payments.method_id, payments.amount_minor \
         FROM payments JOIN orders ON orders.id = payments.order_id \
         WHERE orders.state = 'paid' AND orders.updated_at >= ? AND orders.updated_at < ? \
         ORDER BY payments.id",
    )
    .bind(from.unix_millis())
    .bind(to.unix_millis())
    .fetch_all(&mut *tx)
    .await
    .map_err(unavailable("could not read payments"))?;
    commit_tx(tx).await?;
    decode_sale_facts(orders, payments)
}
