//! Configs (tills) and the two-way sync links between them.

use super::{SqliteStore, commit_tx};
use crate::database_errors::unavailable;
use crate::rows::{ConfigRow, decode_configs, link_changes};
use crate::{StoreError, StoreResult};
use possync_core::*;
use sqlx::sqlite::SqliteConnection;
use std::collections::BTreeSet;

async fn read_links(conn: &mut SqliteConnection) -> StoreResult<SyncLinks> {
    let pairs: Vec<(i64, i64)> =
        sqlx::query_as("SELECT config_a, config_b FROM sync_links ORDER BY config_a, config_b")
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable("could not read sync links"))?;
    Ok(SyncLinks::from_pairs(
        pairs.into_iter().map(|(a, b)| (ConfigId(a), ConfigId(b))),
    ))
}

async fn config_ids(conn: &mut SqliteConnection) -> StoreResult<BTreeSet<ConfigId>> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM configs")
        .fetch_all(&mut *conn)
        .await
        .map_err(unavailable("could not read configs"))?;
    Ok(ids.into_iter().map(ConfigId).collect())
}

/// Configs with their links and open session filled in; all of them, or only `only`.
async fn load_configs(
    conn: &mut SqliteConnection,
    only: Option<ConfigId>,
) -> StoreResult<Vec<Config>> {
    let rows: Vec<ConfigRow> = match only {
        Some(config_id) => sqlx::query_as(
            "SELECT id, name, auto_share, printer, restrict_price_control FROM configs WHERE id = ?",
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
                "SELECT config_a, config_b FROM sync_links WHERE config_a = ? OR config_b = ?",
            )
            .bind(config_id.0)
            .bind(config_id.0)
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable("could not read sync links"))?;
            let open_sessions = sqlx::query_as(
                "SELECT config_id, id FROM sessions WHERE state = 'open' AND config_id = ?",
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

async fn load_config(conn: &mut SqliteConnection, config_id: ConfigId) -> StoreResult<Config> {
    load_configs(conn, Some(config_id))
        .await?
        .pop()
        .ok_or(StoreError::NotFound("config"))
}

/// Replaces the links of `config_id` with `linked`, writing only the difference.
async fn relink(
    conn: &mut SqliteConnection,
    config_id: ConfigId,
    linked: &[ConfigId],
) -> StoreResult<()> {
    let known = config_ids(conn).await?;
    if !known.contains(&config_id) {
        return Err(StoreError::NotFound("config"));
    }
    let before = read_links(conn).await?;
    let after = before
        .set_sync_with(config_id, linked, |id| known.contains(&id))
        .map_err(|error| StoreError::Invalid(error.to_string()))?;
    let (removed, added) = link_changes(&before, &after);
    for (a, b) in removed {
        sqlx::query("DELETE FROM sync_links WHERE config_a = ? AND config_b = ?")
            .bind(a.0)
            .bind(b.0)
            .execute(&mut *conn)
            .await
            .map_err(unavailable("could not remove a sync link"))?;
    }
    for (a, b) in added {
        sqlx::query("INSERT INTO sync_links (config_a, config_b) VALUES (?, ?)")
            .bind(a.0)
            .bind(b.0)
            .execute(&mut *conn)
            .await
            .map_err(unavailable("could not add a sync link"))?;
        sqlx::query("INSERT OR IGNORE INTO sync_links_ever (config_a, config_b) VALUES (?, ?)")
            .bind(a.0)
            .bind(b.0)
            .execute(&mut *conn)
            .await
            .map_err(unavailable("could not record a sync link"))?;
    }
    Ok(())
}

pub(super) async fn list_configs(store: &SqliteStore) -> StoreResult<Vec<Config>> {
    let mut tx = store.read_tx().await?;
    let configs = load_configs(&mut tx, None).await?;
    commit_tx(tx).await?;
    Ok(configs)
}

pub(super) async fn get_config(store: &SqliteStore, config_id: ConfigId) -> StoreResult<Config> {
    let mut tx = store.read_tx().await?;
    let config = load_config(&mut tx, config_id).await?;
    commit_tx(tx).await?;
    Ok(config)
}

pub(super) async fn create_config(store: &SqliteStore, new: &ConfigNew) -> StoreResult<Config> {
    let mut tx = store.write_tx().await?;
    let config_id = sqlx::query(
        "INSERT INTO configs (name, auto_share, printer, restrict_price_control) VALUES (?, ?, ?, ?)",
    )
    .bind(new.name.as_str())
    .bind(new.auto_share)
    .bind(new.printer.as_ref().map(PrinterAddress::to_string))
    .bind(new.restrict_price_control)
    .execute(&mut *tx)
    .await
    .map_err(unavailable("could not create a config"))?
    .last_insert_rowid();
    let config_id = ConfigId(config_id);
    // On a bad link the transaction is dropped, so the config is not created either.
    relink(&mut tx, config_id, &new.sync_with).await?;
    let config = load_config(&mut tx, config_id).await?;
    commit_tx(tx).await?;
    Ok(config)
}

pub(super) async fn update_config(
    store: &SqliteStore,
    config_id: ConfigId,
    changes: &ConfigChanges,
) -> StoreResult<Config> {
    let mut tx = store.write_tx().await?;
    let updated = sqlx::query(
        "UPDATE configs SET name = COALESCE(?, name), auto_share = COALESCE(?, auto_share), \
             printer = CASE WHEN ? THEN ? ELSE printer END, \
             restrict_price_control = COALESCE(?, restrict_price_control) WHERE id = ?",
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
    .bind(changes.restrict_price_control)
    .bind(config_id.0)
    .execute(&mut *tx)
    .await
    .map_err(unavailable("could not update a config"))?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound("config"));
    }
    let config = load_config(&mut tx, config_id).await?;
    commit_tx(tx).await?;
    Ok(config)
}

pub(super) async fn set_sync_with(
    store: &SqliteStore,
    config_id: ConfigId,
    linked: &[ConfigId],
) -> StoreResult<Config> {
    let mut tx = store.write_tx().await?;
    relink(&mut tx, config_id, linked).await?;
    let config = load_config(&mut tx, config_id).await?;
    commit_tx(tx).await?;
    Ok(config)
}

pub(super) async fn load_links_ever(store: &SqliteStore) -> StoreResult<SyncLinks> {
    let pairs: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT config_a, config_b FROM sync_links_ever ORDER BY config_a, config_b",
    )
    .fetch_all(&store.reader)
    .await
    .map_err(unavailable("could not read the link history"))?;
    Ok(SyncLinks::from_pairs(
        pairs.into_iter().map(|(a, b)| (ConfigId(a), ConfigId(b))),
    ))
}

pub(super) async fn load_links(store: &SqliteStore) -> StoreResult<SyncLinks> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    read_links(&mut conn).await
}
