//! Stock moves as the back office reads them, and adjustments by hand.
//!
//! An adjustment locks the product's row (`FOR UPDATE`), as a payment's stock
//! moves do, so a sale on another node and a count never both read the same
//! level.

use super::catalog::load_product;
use super::changes::ShopChange;
use super::{PostgresStore, commit_notifying, commit_tx, exists};
use crate::database_errors::unavailable;
use crate::rows::{StockMoveRow, decode_stock_move_entries};
use crate::{StoreError, StoreResult};
use possync_core::*;

/// The columns of [`StockMoveRow`], with the receipt number of a move's order.
const STOCK_MOVE_SELECT: &str = "SELECT stock_moves.id, stock_moves.qty_milli, stock_moves.at, \
     stock_moves.reason, stock_moves.note, stock_moves.order_id::text, orders.receipt_number, stock_moves.user_id \
     FROM stock_moves LEFT JOIN orders ON orders.id = stock_moves.order_id";

pub(super) async fn list_stock_moves_page(
    store: &PostgresStore,
    product_id: ProductId,
    before: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<StockMoveEntry>> {
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
    let rows: Vec<StockMoveRow> = sqlx::query_as(&format!(
        "{STOCK_MOVE_SELECT} WHERE stock_moves.product_id = $1 AND stock_moves.id < $2 \
         ORDER BY stock_moves.id DESC LIMIT $3"
    ))
    .bind(product_id.0)
    .bind(before.unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(unavailable("could not list stock moves"))?;
    commit_tx(tx).await?;
    decode_stock_move_entries(product_id, rows)
}

pub(super) async fn adjust_stock(
    store: &PostgresStore,
    product_id: ProductId,
    input: &StockAdjustmentInput,
    user_id: UserId,
    at: Timestamp,
) -> StoreResult<(StockMoveEntry, Product)> {
    let mut tx = store.write_tx().await?;
    let product = load_product(&mut tx, product_id, true).await?;
    let level = StockLevel {
        tracks_stock: product.tracks_stock,
        on_hand: product.on_hand,
    };
    let adjustment = plan_stock_adjustment(level, input)
        .map_err(|error| StoreError::Invalid(error.to_string()))?;
    let move_id: i64 = sqlx::query_scalar(
        "INSERT INTO stock_moves (product_id, order_id, qty_milli, at, reason, note, user_id) \
         VALUES ($1, NULL, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(product_id.0)
    .bind(adjustment.qty.milli())
    .bind(at.unix_millis())
    .bind(adjustment.reason.as_str())
    .bind(input.note.as_str())
    .bind(user_id.0)
    .fetch_one(&mut *tx)
    .await
    .map_err(unavailable("could not record a stock move"))?;
    sqlx::query("UPDATE products SET on_hand_milli = $1 WHERE id = $2")
        .bind(adjustment.on_hand.milli())
        .bind(product_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update the stock on hand"))?;
    let product = load_product(&mut tx, product_id, false).await?;
    commit_notifying(tx, &[ShopChange::Catalog]).await?;
    let entry = StockMoveEntry {
        id: move_id,
        product_id,
        qty: adjustment.qty,
        reason: adjustment.reason.into(),
        note: input.note.clone(),
        at,
        order_id: None,
        receipt_number: None,
        user_id: Some(user_id),
    };
    Ok((entry, product))
}
