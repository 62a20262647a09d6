//! What comes after a payment, read and written: the shop's header, receipt
//! numbers, invoices one by one, and the cash moves of a session.

use super::{PostgresStore, commit_tx};
use crate::database_errors::unavailable;
use crate::rows::{ShopRow, decode_cash_move, decode_invoices};
use crate::{Conflict, Invoice, StoreError, StoreResult};
use possync_core::*;

pub(super) async fn get_shop(store: &PostgresStore) -> StoreResult<Shop> {
    sqlx::query_as::<_, ShopRow>(
        "SELECT name, address, vat_number, receipt_footer FROM shop WHERE id = 1",
    )
    .fetch_optional(&store.pool)
    .await
    .map_err(unavailable("could not read the shop"))?
    .map_or_else(|| Ok(Shop::default()), ShopRow::decode)
}

pub(super) async fn update_shop(store: &PostgresStore, changes: ShopChanges) -> StoreResult<Shop> {
    let mut tx = store.write_tx().await?;
    let mut shop = sqlx::query_as::<_, ShopRow>(
        "SELECT name, address, vat_number, receipt_footer FROM shop WHERE id = 1 FOR UPDATE",
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(unavailable("could not read the shop"))?
    .map_or_else(|| Ok(Shop::default()), ShopRow::decode)?;
    shop.apply(changes);
    sqlx::query(
        "INSERT INTO shop (id, name, address, vat_number, receipt_footer) VALUES (1, $1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, \
         vat_number = excluded.vat_number, receipt_footer = excluded.receipt_footer",
    )
    .bind(shop.name.as_str())
    .bind(shop.address.as_str())
    .bind(shop.vat_number.as_str())
    .bind(shop.receipt_footer.as_str())
    .execute(&mut *tx)
    .await
    .map_err(unavailable("could not update the shop"))?;
    commit_tx(tx).await?;
    Ok(shop)
}

pub(super) async fn receipt_number(
    store: &PostgresStore,
    order_id: OrderId,
) -> StoreResult<Option<String>> {
    let number: Option<Option<String>> =
        sqlx::query_scalar("SELECT receipt_number FROM orders WHERE id = $1")
            .bind(order_id.0)
            .fetch_optional(&store.pool)
            .await
            .map_err(unavailable("could not read a receipt number"))?;
    Ok(number.flatten())
}

const INVOICE_SELECT: &str = "SELECT invoices.number, invoices.order_id::text, invoices.customer_id, orders.total_minor, invoices.at \
     FROM invoices JOIN orders ON orders.id = invoices.order_id";

pub(super) async fn list_invoices_page(
    store: &PostgresStore,
    before: Option<u64>,
    limit: u32,
) -> StoreResult<Vec<Invoice>> {
    let before = before.map_or(i64::MAX, |number| i64::try_from(number).unwrap_or(i64::MAX));
    let rows: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(&format!(
        "{INVOICE_SELECT} WHERE invoices.number < $1 ORDER BY invoices.number DESC LIMIT $2"
    ))
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(unavailable("could not list invoices"))?;
    decode_invoices(rows)
}

pub(super) async fn get_invoice(
    store: &PostgresStore,
    number: u64,
) -> StoreResult<Option<Invoice>> {
    let Ok(number) = i64::try_from(number) else {
        return Ok(None);
    };
    let rows: Vec<(i64, String, i64, i64, i64)> =
        sqlx::query_as(&format!("{INVOICE_SELECT} WHERE invoices.number = $1"))
            .bind(number)
            .fetch_all(&store.pool)
            .await
            .map_err(unavailable("could not read an invoice"))?;
    Ok(decode_invoices(rows)?.into_iter().next())
}

pub(super) async fn invoice_of_order(
    store: &PostgresStore,
    order_id: OrderId,
) -> StoreResult<Option<Invoice>> {
    let rows: Vec<(i64, String, i64, i64, i64)> =
        sqlx::query_as(&format!("{INVOICE_SELECT} WHERE invoices.order_id = $1"))
            .bind(order_id.0)
            .fetch_all(&store.pool)
            .await
            .map_err(unavailable("could not read an invoice"))?;
    Ok(decode_invoices(rows)?.into_iter().next())
}

pub(super) async fn add_cash_move(
    store: &PostgresStore,
    session_id: SessionId,
    amount: Money,
    reason: &Note,
    user_id: UserId,
    at: Timestamp,
) -> StoreResult<CashMove> {
    let mut tx = store.write_tx().await?;
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM sessions WHERE id = $1 FOR UPDATE")
            .bind(session_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(unavailable("could not read a session"))?;
    match state.as_deref() {
        None => return Err(StoreError::NotFound("session")),
        Some("open") => {}
        Some(_) => return Err(Conflict::SessionClosed(session_id).into()),
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cash_moves (session_id, amount_minor, reason, user_id, at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(session_id.0)
    .bind(amount.minor())
    .bind(reason.as_str())
    .bind(user_id.0)
    .bind(at.unix_millis())
    .fetch_one(&mut *tx)
    .await
    .map_err(unavailable("could not record a cash move"))?;
    commit_tx(tx).await?;
    decode_cash_move((
        id,
        amount.minor(),
        reason.as_str().to_owned(),
        user_id.0,
        at.unix_millis(),
    ))
}
