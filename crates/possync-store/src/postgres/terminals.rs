//! Terminal identity: a terminal id belongs to the token that first named it.

use super::PostgresStore;
use crate::StoreResult;
use crate::database_errors::unavailable;
use possync_core::{TerminalId, Timestamp};

/// Binds `terminal` to `token_hash` unless it is bound already, in one
/// statement (two nodes racing for one id agree on the winner); answers the
/// token hash it is bound to.
pub(super) async fn bind_terminal(
    store: &PostgresStore,
    terminal: TerminalId,
    token_hash: &str,
    now: Timestamp,
) -> StoreResult<String> {
    // The no-op update makes RETURNING answer the row whether it was inserted or not.
    sqlx::query_scalar(
        "INSERT INTO terminal_bindings (terminal_id, token_hash, bound_at) VALUES ($1, $2, $3) \
         ON CONFLICT (terminal_id) DO UPDATE SET terminal_id = EXCLUDED.terminal_id \
         RETURNING token_hash",
    )
    .bind(terminal.0.to_string())
    .bind(token_hash)
    .bind(now.unix_millis())
    .fetch_one(store.pool())
    .await
    .map_err(unavailable("could not bind a terminal id"))
}
