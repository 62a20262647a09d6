//! sqlx errors as store errors: a constraint the caller broke becomes the
//! matching [`StoreError`]; anything else is `Unavailable`, its cause logged.

use crate::{Conflict, StoreError};
use possync_core::OrderId;
use sqlx::error::{DatabaseError, ErrorKind};

/// SQLite's primary result code for "database or disk is full" (`SQLITE_FULL`).
const SQLITE_FULL: i64 = 13;
/// SQLite's primary result codes for a file that is not, or no longer, a
/// database (`SQLITE_CORRUPT`, `SQLITE_NOTADB`).
const SQLITE_DAMAGED: [i64; 2] = [11, 26];
/// PostgreSQL's SQLSTATE for a full disk (`disk_full`).
#[cfg(feature = "postgres")]
const POSTGRES_DISK_FULL: &str = "53100";

/// The primary SQLite result code of an SQLite error (sqlx reports the
/// extended code, whose low byte is the primary one); `None` for other databases.
fn sqlite_primary_code(error: &sqlx::Error) -> Option<i64> {
    let database_error = error.as_database_error()?;
    let sqlite_error = database_error.try_downcast_ref::<sqlx::sqlite::SqliteError>()?;
    sqlite_error
        .code()
        .and_then(|code| code.parse::<i64>().ok())
        .map(|code| code & 0xff)
}

/// Logs a database failure and answers `Unavailable`: the cause stays in the
/// log, except a full disk, which the message names, so that whoever reports
/// the failure (the sync node's health, an operator) can say why.
pub(crate) fn unavailable(context: &'static str) -> impl Fn(sqlx::Error) -> StoreError + Copy {
    move |error| {
        tracing::error!(%error, "store: {context}");
        if is_disk_full(&error) {
            StoreError::Unavailable(format!("{context}: the disk holding the database is full"))
        } else {
            StoreError::Unavailable(context.to_owned())
        }
    }
}

/// The SQLite file asked to open is damaged or not a database at all.
pub(crate) fn is_damaged(error: &sqlx::Error) -> bool {
    sqlite_primary_code(error).is_some_and(|code| SQLITE_DAMAGED.contains(&code))
}

fn is_disk_full(error: &sqlx::Error) -> bool {
    if sqlite_primary_code(error) == Some(SQLITE_FULL) {
        return true;
    }
    #[cfg(feature = "postgres")]
    if let Some(database_error) = error.as_database_error()
        && database_error
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some_and(|postgres_error| postgres_error.code() == POSTGRES_DISK_FULL)
    {
        return true;
    }
    false
}

pub(crate) fn violation(error: &sqlx::Error) -> Option<ErrorKind> {
    match error {
        sqlx::Error::Database(database_error) => Some(database_error.kind()),
        _ => None,
    }
}

/// A uniqueness violation becomes `conflict`; anything else `Unavailable`.
pub(crate) fn conflict_on_unique(
    conflict: Conflict,
    context: &'static str,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match violation(&error) {
        Some(ErrorKind::UniqueViolation) => conflict.into(),
        _ => unavailable(context)(error),
    }
}

/// A write of an order (or of what its payment leaves) that breaks a constraint
/// of the schema is `Invalid`, naming the order; anything else is `Unavailable`.
pub(crate) fn order_write_error(order_id: OrderId) -> impl FnOnce(sqlx::Error) -> StoreError {
    orders_write_error(format!("order {order_id}"))
}

/// [`order_write_error`] for a statement that writes several orders at once:
/// `orders` names them for the caller ("order <id>", "an order of the batch").
pub(crate) fn orders_write_error(orders: String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match violation(&error) {
        Some(ErrorKind::ForeignKeyViolation) => StoreError::Invalid(format!(
            "{orders} refers to an unknown config, session, payment method, product or customer"
        )),
        Some(ErrorKind::CheckViolation) => {
            // The constraint's text names tables and columns: it goes to the log only.
            tracing::warn!(%error, %orders, "store: an order breaks a check of the schema");
            StoreError::Invalid(format!(
                "{orders} is inconsistent (for example paid without a payer)"
            ))
        }
        _ => unavailable("could not write an order")(error),
    }
}
