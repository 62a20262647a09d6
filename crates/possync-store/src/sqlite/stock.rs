//! Stock moves as the back office reads them, and adjustments by hand.

use super::catalog::load_product;
use super::{SqliteStore, commit_tx, exists};
use crate::database_errors::unavailable;
use crate::rows::{StockMoveRow, decode_stock_move_entries};
use crate::{StoreError, StoreResult};
use possync_core::*;

/// The columns of [`StockMoveRow`], with the receipt number of a move's order.
const STOCK_MOVE_SELECT: &str = "SELECT stock_moves.id, stock_moves.qty_milli, stock_moves.at, \
     stock_moves.reason, stock_moves.note, stock_moves.order_id, orders.receipt_number, stock_moves.user_id \
     FROM stock_moves LEFT JOIN orders ON orders.id = stock_moves.order_id";

pub(super) async fn list_stock_moves_page(
    store: &SqliteStore,
    product_id: ProductId,
    before: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<StockMoveEntry>> {
    let mut tx = store.read_tx().await?;
    if !exists(&mut tx, "SELECT 1 FROM products WHERE id = ?", product_id.0).await? {
        return Err(StoreError::NotFound("product"));
    }
    let rows: Vec<StockMoveRow> = sqlx::query_as(&format!(
        "{STOCK_MOVE_SELECT} WHERE stock_moves.product_id = ? AND stock_moves.id < ? \
         ORDER BY stock_moves.id DESC LIMIT ?"
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
    store: &SqliteStore,
    product_id: ProductId,
    input: &StockAdjustmentInput,
    user_id: UserId,
    at: Timestamp,
) -> StoreResult<(StockMoveEntry, Product)> {
    // One writer: nothing moves this product's stock between the read and the write.
    let mut tx = store.write_tx().await?;
    let product = load_product(&mut tx, product_id).await?;
    let level = StockLevel {
        tracks_stock: product.tracks_stock,
        on_hand: product.on_hand,
    };
    let adjustment = plan_stock_adjustment(level, input)
        .map_err(|error| StoreError::Invalid(error.to_string()))?;
    let move_id = sqlx::query(
        "INSERT INTO stock_moves (product_id, order_id, qty_milli, at, reason, note, user_id) \
         VALUES (?, NULL, ?, ?, ?, ?, ?)",
    )
    .bind(product_id.0)
    .bind(adjustment.qty.milli())
    .bind(at.unix_millis())
    .bind(adjustment.reason.as_str())
    .bind(input.note.as_str())
    .bind(user_id.0)
    .execute(&mut *tx)
    .await
    .map_err(unavailable("could not record a stock move"))?
    .last_insert_rowid();
    sqlx::query("UPDATE products SET on_hand_milli = ? WHERE id = ?")
        .bind(adjustment.on_hand.milli())
        .bind(product_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update the stock on hand"))?;
    let product = load_product(&mut tx, product_id).await?;
    commit_tx(tx).await?;
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
