//! Sessions: opening or joining one per config (also when two nodes open the
//! same config at once), closing, and the session report (read here, added up
//! by `possync_core::session_report`).

use super::catalog::load_payment_methods;
use super::changes::ShopChange;
use super::{PostgresStore, commit_notifying, commit_tx, exists};
use crate::database_errors::unavailable;
use crate::rows::{ReportRows, SESSION_COLUMNS, SessionRow, TaxRow, decode_session_report};
use crate::{Conflict, SessionReport, StoreError, StoreResult};
use possync_core::*;
use sqlx::postgres::PgConnection;

async fn load_session(conn: &mut PgConnection, session_id: SessionId) -> StoreResult<Session> {
    sqlx::query_as::<_, SessionRow>(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
    ))
    .bind(session_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a session"))?
    .ok_or(StoreError::NotFound("session"))?
    .decode()
}

/// The report of a session: what it did, read here, added up by the core.
async fn build_report(conn: &mut PgConnection, session: Session) -> StoreResult<SessionReport> {
    let orders: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT total_minor, tax_minor, change_minor FROM orders WHERE paid_by_session_id = $1 AND state = 'paid'",
    )
    .bind(session.id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read the session's orders"))?;
    let payments: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT method_id, amount_minor FROM payments WHERE session_id = $1 ORDER BY id",
    )
    .bind(session.id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read the session's payments"))?;
    let taxes: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT tax_id, rate_bp, base_minor, amount_minor FROM order_taxes WHERE session_id = $1",
    )
    .bind(session.id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read the session's taxes"))?;
    let cash_moves: Vec<(i64, i64, String, i64, i64)> = sqlx::query_as(
        "SELECT id, amount_minor, reason, user_id, at FROM cash_moves WHERE session_id = $1 ORDER BY id",
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
    store: &PostgresStore,
    config_id: ConfigId,
    user_id: UserId,
    opening_cash: Money,
    now: Timestamp,
) -> StoreResult<(Session, bool)> {
    let mut tx = store.write_tx().await?;
    if !exists(&mut tx, "SELECT 1 FROM configs WHERE id = $1", config_id.0).await? {
        return Err(StoreError::NotFound("config"));
    }
    if !exists(&mut tx, "SELECT 1 FROM users WHERE id = $1", user_id.0).await? {
        return Err(StoreError::Invalid(format!("unknown user {user_id}")));
    }
    // The partial unique index decides between concurrent openers, on this node
    // or another: the insert of the second one waits for the first to commit,
    // then does nothing, and the second joins the session the first opened.
    let opened: Option<SessionRow> = sqlx::query_as(&format!(
        "INSERT INTO sessions (config_id, state, opened_at, opened_by, opening_cash) \
         VALUES ($1, 'open', $2, $3, $4) \
         ON CONFLICT (config_id) WHERE state = 'open' DO NOTHING \
         RETURNING {SESSION_COLUMNS}"
    ))
    .bind(config_id.0)
    .bind(now.unix_millis())
    .bind(user_id.0)
    .bind(opening_cash.minor())
    .fetch_optional(&mut *tx)
    .await
    .map_err(unavailable("could not open a session"))?;
    let answer = match opened {
        Some(row) => (row.decode()?, false),
        None => {
            let joined: Option<SessionRow> = sqlx::query_as(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE config_id = $1 AND state = 'open'"
            ))
            .bind(config_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(unavailable("could not read a session"))?;
            // Opened and closed again between the two statements: rare, and
            // the caller may simply try again.
            let row = joined.ok_or(Conflict::SessionChanged(config_id))?;
            (row.decode()?, true)
        }
    };
    commit_tx(tx).await?;
    Ok(answer)
}

pub(super) async fn get_session(
    store: &PostgresStore,
    session_id: SessionId,
) -> StoreResult<Session> {
    load_session(&mut *store.connection().await?, session_id).await
}

pub(super) async fn list_sessions(store: &PostgresStore) -> StoreResult<Vec<Session>> {
    sqlx::query_as::<_, SessionRow>(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions ORDER BY opened_at DESC, id DESC"
    ))
    .fetch_all(&store.pool)
    .await
    .map_err(unavailable("could not list sessions"))?
    .into_iter()
    .map(SessionRow::decode)
    .collect()
}

pub(super) async fn close_session(
    store: &PostgresStore,
    session_id: SessionId,
    counted_cash: Option<Money>,
    now: Timestamp,
) -> StoreResult<SessionReport> {
    let mut tx = store.write_tx().await?;
    // The row lock makes two closes (on two nodes) take turns: the second sees
    // the session closed.
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
    sqlx::query(
        "UPDATE sessions SET state = 'closed', closed_at = $1, counted_cash = $2 WHERE id = $3",
    )
    .bind(now.unix_millis())
    .bind(counted_cash.map(Money::minor))
    .bind(session_id.0)
    .execute(&mut *tx)
    .await
    .map_err(unavailable("could not close a session"))?;
    let session = load_session(&mut tx, session_id).await?;
    let report = build_report(&mut tx, session).await?;
    commit_notifying(tx, &[ShopChange::SessionClosed(session_id)]).await?;
    Ok(report)
}

pub(super) async fn session_report(
    store: &PostgresStore,
    session_id: SessionId,
) -> StoreResult<SessionReport> {
    let mut tx = store.read_tx().await?;
    let session = load_session(&mut tx, session_id).await?;
    let report = build_report(&mut tx, session).await?;
    commit_tx(tx).await?;
    Ok(report)
}

pub(super) async fn list_sessions_page(
    store: &PostgresStore,
    before: Option<SessionId>,
    limit: u32,
) -> StoreResult<Vec<Session>> {
    let before = before.map_or(i64::MAX, |session_id| session_id.0);
    sqlx::query_as::<_, SessionRow>(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE id < $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(unavailable("could not list sessions"))?
    .into_iter()
    .map(SessionRow::decode)
    .collect()
}
