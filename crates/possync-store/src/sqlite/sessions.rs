//! Sessions: opening or joining one per config, closing, and the session report
//! (read from the store, added up by `possync_core::session_report`).

use super::catalog::load_payment_methods;
use super::{SqliteStore, commit_tx, exists};
use crate::database_errors::{unavailable, violation};
use crate::rows::{ReportRows, SESSION_COLUMNS, SessionRow, TaxRow, decode_session_report};
use crate::{Conflict, SessionReport, StoreError, StoreResult};
use possync_core::*;
use sqlx::error::ErrorKind;
use sqlx::sqlite::SqliteConnection;

async fn load_session(conn: &mut SqliteConnection, session_id: SessionId) -> StoreResult<Session> {
    sqlx::query_as::<_, SessionRow>(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?"
    ))
    .bind(session_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a session"))?
    .ok_or(StoreError::NotFound("session"))?
    .decode()
}

async fn open_session_of(
    conn: &mut SqliteConnection,
    config_id: ConfigId,
) -> StoreResult<Option<Session>> {
    sqlx::query_as::<_, SessionRow>(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE config_id = ? AND state = 'open'"
    ))
    .bind(config_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a session"))?
    .map(SessionRow::decode)
    .transpose()
}

/// The report of a session: what it did, read here, added up by the core.
async fn build_report(conn: &mut SqliteConnection, session: Session) -> StoreResult<SessionReport> {
    let orders: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT total_minor, tax_minor, change_minor FROM orders WHERE paid_by_session_id = ? AND state = 'paid'",
    )
    .bind(session.id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read the session's orders"))?;
    let payments: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT method_id, amount_minor FROM payments WHERE session_id = ? ORDER BY id",
    )
    .bind(session.id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read the session's payments"))?;
    let taxes: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT tax_id, rate_bp, base_minor, amount_minor FROM order_taxes WHERE session_id = ?",
    )
    .bind(session.id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read the session's taxes"))?;
    let cash_moves: Vec<(i64, i64, String, i64, i64)> = sqlx::query_as(
        "SELECT id, amount_minor, reason, user_id, at FROM cash_moves WHERE session_id = ? ORDER BY id",
    )
    .bind(session.id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read the session's cash moves"))?;
    let tax_catalog = sqlx::query_as::<_, TaxRow>(
        "SELECT id, name, rate_bp, price_included FROM taxes ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read the taxes"))?
    .into_iter()
    .map(TaxRow::decode)
    .collect::<StoreResult<Vec<_>>>()?;
    let methods = load_payment_methods(conn).await?;
    decode_session_report(
        session,
        ReportRows {
            paid_orders: orders,
            payments,
            taxes,
            cash_moves,
            methods,
            tax_catalog,
        },
    )
}

pub(super) async fn open_or_join_session(
    store: &SqliteStore,
    config_id: ConfigId,
    user_id: UserId,
    opening_cash: Money,
    now: Timestamp,
) -> StoreResult<(Session, bool)> {
    // One IMMEDIATE transaction: the look for an open session and the insert
    // cannot be split by another opener, in this process or another.
    let mut tx = store.write_tx().await?;
    if !exists(&mut tx, "SELECT 1 FROM configs WHERE id = ?", config_id.0).await? {
        return Err(StoreError::NotFound("config"));
    }
    if !exists(&mut tx, "SELECT 1 FROM users WHERE id = ?", user_id.0).await? {
        return Err(StoreError::Invalid(format!("unknown user {user_id}")));
    }
    if let Some(session) = open_session_of(&mut tx, config_id).await? {
        commit_tx(tx).await?;
        return Ok((session, true));
    }
    let inserted = sqlx::query(
        "INSERT INTO sessions (config_id, state, opened_at, opened_by, opening_cash) VALUES (?, 'open', ?, ?, ?)",
    )
    .bind(config_id.0)
    .bind(now.unix_millis())
    .bind(user_id.0)
    .bind(opening_cash.minor())
    .execute(&mut *tx)
    .await;
    let opened = match inserted {
        Ok(result) => (
            load_session(&mut tx, SessionId(result.last_insert_rowid())).await?,
            false,
        ),
        // The partial unique index caught a second open session: join it.
        Err(error) if violation(&error) == Some(ErrorKind::UniqueViolation) => {
            let session = open_session_of(&mut tx, config_id)
                .await?
                .ok_or(Conflict::SessionChanged(config_id))?;
            (session, true)
        }
        Err(error) => return Err(unavailable("could not open a session")(error)),
    };
    commit_tx(tx).await?;
    Ok(opened)
}

pub(super) async fn get_session(
    store: &SqliteStore,
    session_id: SessionId,
) -> StoreResult<Session> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    load_session(&mut conn, session_id).await
}

pub(super) async fn list_sessions(store: &SqliteStore) -> StoreResult<Vec<Session>> {
    sqlx::query_as::<_, SessionRow>(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions ORDER BY opened_at DESC, id DESC"
    ))
    .fetch_all(&store.reader)
    .await
    .map_err(unavailable("could not list sessions"))?
    .into_iter()
    .map(SessionRow::decode)
    .collect()
}

pub(super) async fn close_session(
    store: &SqliteStore,
    session_id: SessionId,
    counted_cash: Option<Money>,
    now: Timestamp,
) -> StoreResult<SessionReport> {
    let mut tx = store.write_tx().await?;
    let session = load_session(&mut tx, session_id).await?;
    if session.state == SessionState::Closed {
        return Err(Conflict::SessionClosed(session_id).into());
    }
    sqlx::query(
        "UPDATE sessions SET state = 'closed', closed_at = ?, counted_cash = ? WHERE id = ? AND state = 'open'",
    )
    .bind(now.unix_millis())
    .bind(counted_cash.map(Money::minor))
    .bind(session_id.0)
    .execute(&mut *tx)
    .await
    .map_err(unavailable("could not close a session"))?;
    let session = load_session(&mut tx, session_id).await?;
    let report = build_report(&mut tx, session).await?;
    commit_tx(tx).await?;
    Ok(report)
}

pub(super) async fn session_report(
    store: &SqliteStore,
    session_id: SessionId,
) -> StoreResult<SessionReport> {
    let mut tx = store.read_tx().await?;
    let session = load_session(&mut tx, session_id).await?;
    let report = build_report(&mut tx, session).await?;
    commit_tx(tx).await?;
    Ok(report)
}

pub(super) async fn list_sessions_page(
    store: &SqliteStore,
    before: Option<SessionId>,
    limit: u32,
) -> StoreResult<Vec<Session>> {
    let before = before.map_or(i64::MAX, |session_id| session_id.0);
    sqlx::query_as::<_, SessionRow>(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE id < ? ORDER BY id DESC LIMIT ?"
    ))
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(&store.reader)
    .await
    .map_err(unavailable("could not list sessions"))?
    .into_iter()
    .map(SessionRow::decode)
    .collect()
}
