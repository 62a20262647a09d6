//! Database errors as store errors: a constraint the caller broke becomes the
//! matching [`StoreError`]; anything else is `Unavailable`, its cause logged.
//! The same mapping serves sqlx (the readers, the back office, PostgreSQL)
//! and rusqlite (the SQLite store's commit thread), through [`DatabaseFailure`].

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

/// What the mapping needs to know of a driver's error.
pub(crate) trait DatabaseFailure: std::fmt::Display {
    /// The primary SQLite result code of an SQLite error; `None` for other
    /// databases and for errors that are not the database's.
    fn sqlite_primary_code(&self) -> Option<i64>;
    /// The constraint a statement broke (`Other` for any other database
    /// error); `None` when the database did not answer with an error.
    fn violation(&self) -> Option<ErrorKind>;
    /// PostgreSQL said its disk is full.
    fn is_postgres_disk_full(&self) -> bool {
        false
    }
}

impl DatabaseFailure for sqlx::Error {
    /// sqlx reports SQLite's extended code, whose low byte is the primary one.
    fn sqlite_primary_code(&self) -> Option<i64> {
        let database_error = self.as_database_error()?;
        let sqlite_error = database_error.try_downcast_ref::<sqlx::sqlite::SqliteError>()?;
        sqlite_error
            .code()
            .and_then(|code| code.parse::<i64>().ok())
            .map(|code| code & 0xff)
    }

    fn violation(&self) -> Option<ErrorKind> {
        match self {
            sqlx::Error::Database(database_error) => Some(database_error.kind()),
            _ => None,
        }
    }

    #[cfg(feature = "postgres")]
    fn is_postgres_disk_full(&self) -> bool {
        self.as_database_error().is_some_and(|database_error| {
            database_error
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some_and(|postgres_error| postgres_error.code() == POSTGRES_DISK_FULL)
        })
    }
}

impl DatabaseFailure for rusqlite::Error {
    fn sqlite_primary_code(&self) -> Option<i64> {
        self.sqlite_error()
            .map(|error| i64::from(error.extended_code & 0xff))
    }

    /// The same kinds sqlx gives SQLite's extended constraint codes.
    fn violation(&self) -> Option<ErrorKind> {
        use rusqlite::ffi;
        let error = self.sqlite_error()?;
        Some(match error.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        })
    }
}

/// Logs a database failure and answers `Unavailable`: the cause stays in the
/// log, except a full disk, which the message names, so that whoever reports
/// the failure (the sync node's health, an operator) can say why.
pub(crate) fn unavailable<E: DatabaseFailure>(
    context: &'static str,
) -> impl Fn(E) -> StoreError + Copy {
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
pub(crate) fn is_damaged(error: &impl DatabaseFailure) -> bool {
    error
        .sqlite_primary_code()
        .is_some_and(|code| SQLITE_DAMAGED.contains(&code))
}

fn is_disk_full(error: &impl DatabaseFailure) -> bool {
    error.sqlite_primary_code() == Some(SQLITE_FULL) || error.is_postgres_disk_full()
}

pub(crate) fn violation(error: &impl DatabaseFailure) -> Option<ErrorKind> {
    error.violation()
}

/// A uniqueness violation becomes `conflict`; anything else `Unavailable`.
pub(crate) fn conflict_on_unique<E: DatabaseFailure>(
    conflict: Conflict,
    context: &'static str,
) -> impl FnOnce(E) -> StoreError {
    move |error| match violation(&error) {
        Some(ErrorKind::UniqueViolation) => conflict.into(),
        _ => unavailable(context)(error),
    }
}

/// A write of an order (or of what its payment leaves) that breaks a constraint
/// of the schema is `Invalid`, naming the order; anything else is `Unavailable`.
pub(crate) fn order_write_error<E: DatabaseFailure>(
    order_id: OrderId,
) -> impl FnOnce(E) -> StoreError {
    orders_write_error(format!("order {order_id}"))
}

/// [`order_write_error`] for a statement that writes several orders at once:
/// `orders` names them for the caller ("order <id>", "an order of the batch").
pub(crate) fn orders_write_error<E: DatabaseFailure>(
    orders: String,
) -> impl FnOnce(E) -> StoreError {
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
