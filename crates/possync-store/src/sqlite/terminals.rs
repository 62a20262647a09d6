//! Terminal identity: a terminal id belongs to the token that first named it.

use super::SqliteStore;
use crate::StoreResult;
use crate::database_errors::unavailable;
use possync_core::{TerminalId, Timestamp};

/// Binds `terminal` to `token_hash` unless it is bound already, in one
/// statement (so two tokens racing for one id cannot both win); answers the
/// token hash it is bound to.
pub(super) async fn bind_terminal(
    store: &SqliteStore,
    terminal: TerminalId,
    token_hash: &str,
    now: Timestamp,
) -> StoreResult<String> {
    // The write and the read after it in one turn of the store's writers.
    let _turn = store.turn.take().await;
    sqlx::query(
        "INSERT INTO terminal_bindings (terminal_id, token_hash, bound_at) VALUES (?, ?, ?) \
         ON CONFLICT (terminal_id) DO NOTHING",
    )
    .bind(terminal.0.to_string())
    .bind(token_hash)
    .bind(now.unix_millis())
    .execute(&store.writer)
    .await
    .map_err(unavailable("could not bind a terminal id"))?;
    sqlx::query_scalar("SELECT token_hash FROM terminal_bindings WHERE terminal_id = ?")
        .bind(terminal.0.to_string())
        .fetch_one(&store.writer)
        .await
        .map_err(unavailable("could not read a terminal binding"))
}
