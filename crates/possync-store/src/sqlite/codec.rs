//! Errors and values between Rust and SQLite: a database failure becomes
//! `Unavailable` with its cause logged, a stored value that no longer parses is
//! reported as corrupt, never unwrapped.

use crate::{Conflict, StoreError, StoreResult};
use possync_core::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::error::ErrorKind;
use sqlx::sqlite::SqliteConnection;
use std::fmt::Display;
use uuid::Uuid;

/// SQLite's primary result code for "database or disk is full" (`SQLITE_FULL`).
const SQLITE_FULL: i64 = 13;
/// SQLite's primary result codes for a file that is not, or no longer, a
/// database (`SQLITE_CORRUPT`, `SQLITE_NOTADB`).
const SQLITE_DAMAGED: [i64; 2] = [11, 26];

/// The primary SQLite result code of a database error (sqlx reports the
/// extended code, whose low byte is the primary one).
fn primary_code(error: &sqlx::Error) -> Option<i64> {
    match error {
        sqlx::Error::Database(database_error) => database_error
            .code()
            .and_then(|code| code.parse::<i64>().ok())
            .map(|code| code & 0xff),
        _ => None,
    }
}

/// Logs a database failure and answers `Unavailable`: the cause stays in the
/// log, except a full disk, which the message names, so that whoever reports
/// the failure (the sync node's health, an operator) can say why.
pub(super) fn unavailable(context: &'static str) -> impl Fn(sqlx::Error) -> StoreError + Copy {
    move |error| {
        tracing::error!(%error, "sqlite store: {context}");
        if is_disk_full(&error) {
            StoreError::Unavailable(format!("{context}: the disk holding the database is full"))
        } else {
            StoreError::Unavailable(context.to_owned())
        }
    }
}

/// The file SQLite was asked to open is damaged or not a database at all.
pub(super) fn is_damaged(error: &sqlx::Error) -> bool {
    primary_code(error).is_some_and(|code| SQLITE_DAMAGED.contains(&code))
}

fn is_disk_full(error: &sqlx::Error) -> bool {
    primary_code(error) == Some(SQLITE_FULL)
}

pub(super) fn violation(error: &sqlx::Error) -> Option<ErrorKind> {
    match error {
        sqlx::Error::Database(database_error) => Some(database_error.kind()),
        _ => None,
    }
}

/// A uniqueness violation becomes `conflict`; anything else `Unavailable`.
pub(super) fn conflict_on_unique(
    conflict: Conflict,
    context: &'static str,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match violation(&error) {
        Some(ErrorKind::UniqueViolation) => conflict.into(),
        _ => unavailable(context)(error),
    }
}

/// A stored value that no longer parses: reported, logged, never unwrapped.
pub(super) fn corrupt(what: &'static str, detail: impl Display) -> StoreError {
    tracing::error!(%detail, "sqlite store: a stored {what} cannot be read back");
    StoreError::Unavailable(format!("a stored {what} cannot be read back"))
}

pub(super) fn decode_name(text: &str, what: &'static str) -> StoreResult<Name> {
    Name::parse(text).map_err(|error| corrupt(what, format!("{text:?}: {error}")))
}

pub(super) fn decode_optional_name(
    text: Option<String>,
    what: &'static str,
) -> StoreResult<Option<Name>> {
    text.map(|text| decode_name(&text, what)).transpose()
}

pub(super) fn decode_money(minor: i64, what: &'static str) -> StoreResult<Money> {
    Money::new(minor).map_err(|error| corrupt(what, error))
}

pub(super) fn decode_quantity(milli: i64, what: &'static str) -> StoreResult<Quantity> {
    Quantity::from_milli(milli).map_err(|error| corrupt(what, error))
}

pub(super) fn decode_u64(value: i64, what: &'static str) -> StoreResult<u64> {
    u64::try_from(value).map_err(|error| corrupt(what, format!("{value}: {error}")))
}

pub(super) fn decode_uuid(text: &str, what: &'static str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|error| corrupt(what, format!("{text:?}: {error}")))
}

pub(super) fn decode_json<T: DeserializeOwned>(text: &str, what: &'static str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|error| corrupt(what, error))
}

pub(super) fn encode_json<T: Serialize>(value: &T, what: &'static str) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::Invalid(format!("cannot encode the {what}: {error}")))
}

pub(super) fn encode_version(version: u64) -> StoreResult<i64> {
    i64::try_from(version)
        .map_err(|_| StoreError::Invalid(format!("version {version} is out of range")))
}

/// A count or number kept as an SQLite INTEGER (signed 64 bits).
pub(super) fn encode_count(value: u64, what: &'static str) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::Invalid(format!("{what} {value} is out of range")))
}

pub(super) fn timestamp(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

/// Whether the row `id` exists; `sql` is `SELECT 1 FROM <table> WHERE id = ?`.
pub(super) async fn exists(
    conn: &mut SqliteConnection,
    sql: &'static str,
    id: i64,
) -> StoreResult<bool> {
    let found: Option<i64> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not check a reference"))?;
    Ok(found.is_some())
}
