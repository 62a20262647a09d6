//! Configs (tills) and the two-way sync links between them.

use super::changes::ShopChange;
use super::{PostgresStore, commit_notifying, commit_tx};
use crate::database_errors::unavailable;
use crate::rows::{ConfigRow, decode_configs, link_changes};
use crate::{StoreError, StoreResult};
use possync_core::*;
use sqlx::postgres::PgConnection;
use std::collections::BTreeSet;

async fn read_links(conn: &mut PgConnection) -> StoreResult<SyncLinks> {
    let pairs: Vec<(i64, i64)> =
        sqlx::query_as("SELECT config_a, config_b FROM sync_links ORDER BY config_a, config_b")
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable("could not read sync links"))?;
    Ok(SyncLinks::from_pairs(
        pairs.into_iter().map(|(a, b)| (ConfigId(a), ConfigId(b))),
    ))
}

/// Configs with their links and open session filled in; all of them, or only `only`.
async fn load_configs(conn: &mut PgConnection, only: Option<ConfigId>) -> StoreResult<Vec<Config>> {
    let rows: Vec<ConfigRow> = match only {
        Some(config_id) => sqlx::query_as(
            "SELECT id, name, auto_share, printer, restrict_price_control FROM configs WHERE id = $1",
        )
        .bind(config_id.0),
        None => sqlx::query_as(
            "SELECT id, name, auto_share, printer, restrict_price_control FROM configs ORDER BY id",
        ),
    }
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read configs"))?;
    // One config (every terminal's connection asks for its own) reads only
    // its links and its open session, not the whole shop's.
    let (links, open_sessions): (SyncLinks, Vec<(i64, i64)>) = match only {
        Some(config_id) => {
            let pairs: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT config_a, config_b FROM sync_links WHERE config_a = $1 OR config_b = $1",
            )
            .bind(config_id.0)
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable("could not read sync links"))?;
            let open_sessions = sqlx::query_as(
                "SELECT config_id, id FROM sessions WHERE state = 'open' AND config_id = $1",
            )
            .bind(config_id.0)
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable("could not read open sessions"))?;
            let links =
                SyncLinks::from_pairs(pairs.into_iter().map(|(a, b)| (ConfigId(a), ConfigId(b))));
            (links, open_sessions)
        }
        None => {
            let links = read_links(conn).await?;
            let open_sessions =
                sqlx::query_as("SELECT config_id, id FROM sessions WHERE state = 'open'")
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(unavailable("could not read open sessions"))?;
            (links, open_sessions)
        }
    };
    decode_configs(rows, &links, open_sessions)
}

async fn load_config(conn: &mut PgConnection, config_id: ConfigId) -> StoreResult<Config> {
    load_configs(conn, Some(config_id))
        .await?
        .pop()
        .ok_or(StoreError::NotFound("config"))
}

/// Replaces the links of `config_id` with `linked`, writing only the difference.
async fn relink(
    conn: &mut PgConnection,
    config_id: ConfigId,
    linked: &[ConfigId],
) -> StoreResult<()> {
    // Links are read, changed in memory and written back: two relinks on two
    // nodes take turns (the mode conflicts with itself, not with readers), so
    // neither writes over a state it did not read.
    sqlx::query("LOCK TABLE sync_links IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await
        .map_err(unavailable("could not lock the sync links"))?;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM configs")
        .fetch_all(&mut *conn)
        .await
        .map_err(unavailable("could not read configs"))?;
    let known: BTreeSet<ConfigId> = ids.into_iter().map(ConfigId).collect();
    if !known.contains(&config_id) {
        return Err(StoreError::NotFound("config"));
    }
    let before = read_links(conn).await?;
    let after = before
        .set_sync_with(config_id, linked, |id| known.contains(&id))
        .map_err(|error| StoreError::Invalid(error.to_string()))?;
    let (removed, added) = link_changes(&before, &after);
    let split = |pairs: Vec<(ConfigId, ConfigId)>| -> (Vec<i64>, Vec<i64>) {
        pairs.into_iter().map(|(a, b)| (a.0, b.0)).unzip()
    };
    let (removed_a, removed_b) = split(removed);
    sqlx::query(
        "DELETE FROM sync_links WHERE (config_a, config_b) IN \
         (SELECT * FROM UNNEST($1::bigint[], $2::bigint[]))",
    )
    .bind(&removed_a)
    .bind(&removed_b)
    .execute(&mut *conn)
    .await
    .map_err(unavailable("could not remove sync links"))?;
    let (added_a, added_b) = split(added);
    sqlx::query(
        "INSERT INTO sync_links (config_a, config_b) SELECT * FROM UNNEST($1::bigint[], $2::bigint[])",
    )
    .bind(&added_a)
    .bind(&added_b)
    .execute(&mut *conn)
    .await
    .map_err(unavailable("could not add sync links"))?;
    sqlx::query(
        "INSERT INTO sync_links_ever (config_a, config_b) \
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
    )
    .bind(&added_a)
    .bind(&added_b)
    .execute(&mut *conn)
    .await
    .map_err(unavailable("could not record sync links"))?;
    Ok(())
}

pub(super) async fn list_configs(store: &PostgresStore) -> StoreResult<Vec<Config>> {
    let mut tx = store.read_tx().await?;
    let configs = load_configs(&mut tx, None).await?;
    commit_tx(tx).await?;
    Ok(configs)
}

pub(super) async fn get_config(store: &PostgresStore, config_id: ConfigId) -> StoreResult<Config> {
    let mut tx = store.read_tx().await?;
    let config = load_config(&mut tx, config_id).await?;
    commit_tx(tx).await?;
    Ok(config)
}

pub(super) async fn create_config(store: &PostgresStore, new: &ConfigNew) -> StoreResult<Config> {
    let mut tx = store.write_tx().await?;
    let config_id: i64 = sqlx::query_scalar(
        "INSERT INTO configs (name, auto_share, printer, restrict_price_control) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(new.name.as_str())
    .bind(new.auto_share)
    .bind(new.printer.as_ref().map(PrinterAddress::to_string))
    .bind(new.restrict_price_control)
    .fetch_one(&mut *tx)
    .await
    .map_err(unavailable("could not create a config"))?;
    let config_id = ConfigId(config_id);
    // On a bad link the transaction is dropped, so the config is not created either.
    relink(&mut tx, config_id, &new.sync_with).await?;
    let config = load_config(&mut tx, config_id).await?;
    commit_notifying(tx, &[ShopChange::Configs, ShopChange::Links]).await?;
    Ok(config)
}

pub(super) async fn update_config(
    store: &PostgresStore,
    config_id: ConfigId,
    changes: &ConfigChanges,
) -> StoreResult<Config> {
    let mut tx = store.write_tx().await?;
    let updated = sqlx::query(
        "UPDATE configs SET name = COALESCE($1, name), auto_share = COALESCE($2, auto_share), \
             printer = CASE WHEN $3 THEN $4 ELSE printer END, \
             restrict_price_control = COALESCE($6, restrict_price_control) WHERE id = $5",
    )
    .bind(changes.name.as_ref().map(Name::as_str))
    .bind(changes.auto_share)
    .bind(changes.printer.is_some())
    .bind(
        changes
            .printer
            .clone()
            .flatten()
            .map(|printer| printer.to_string()),
    )
    .bind(config_id.0)
    .bind(changes.restrict_price_control)
    .execute(&mut *tx)
    .await
    .map_err(unavailable("could not update a config"))?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound("config"));
    }
    let config = load_config(&mut tx, config_id).await?;
    commit_notifying(tx, &[ShopChange::Configs]).await?;
    Ok(config)
}

pub(super) async fn set_sync_with(
    store: &PostgresStore,
    config_id: ConfigId,
    linked: &[ConfigId],
) -> StoreResult<Config> {
    let mut tx = store.write_tx().await?;
    relink(&mut tx, config_id, linked).await?;
    let config = load_config(&mut tx, config_id).await?;
    commit_notifying(tx, &[ShopChange::Links]).await?;
    Ok(config)
}

pub(super) async fn load_links_ever(store: &PostgresStore) -> StoreResult<SyncLinks> {
    let pairs: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT config_a, config_b FROM sync_links_ever ORDER BY config_a, config_b",
    )
    .fetch_all(store.pool())
    .await
    .map_err(unavailable("could not read the link history"))?;
    Ok(SyncLinks::from_pairs(
        pairs.into_iter().map(|(a, b)| (ConfigId(a), ConfigId(b))),
    ))
}

pub(super) async fn load_links(store: &PostgresStore) -> StoreResult<SyncLinks> {
    read_links(&mut *store.connection().await?).await
}
