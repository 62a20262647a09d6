//! Users and the hashes of their tokens.

use super::{SqliteStore, commit_tx};
use crate::database_errors::{conflict_on_unique, unavailable, violation};
use crate::rows::decode_json;
use crate::rows::{
    LoginRow, PinRow, TokenRow, UserRow, decode_token_record, decode_u64, encode_token_owner,
};
use crate::{
    AuditEntry, AuditNew, Conflict, StoreError, StoreResult, TokenOwner, TokenRecord, UserEdit,
};
use possync_core::*;
use sqlx::error::ErrorKind;

/// The columns a [`UserRow`] is read from, the user's counters included.
macro_rules! user_columns {
    () => {
        "id, login, name, role, active, (SELECT group_concat(config_id) FROM user_configs WHERE user_id = users.id) AS config_ids, pin_hash IS NOT NULL AS has_pin"
    };
}
use sqlx::sqlite::SqliteConnection;

async fn load_user(conn: &mut SqliteConnection, user_id: UserId) -> StoreResult<User> {
    sqlx::query_as::<_, UserRow>(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = ?"
    ))
    .bind(user_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a user"))?
    .ok_or(StoreError::NotFound("user"))?
    .decode()
}

pub(super) async fn count_users(store: &SqliteStore) -> StoreResult<u64> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&store.reader)
        .await
        .map_err(unavailable("could not count users"))?;
    decode_u64(count, "user count")
}

pub(super) async fn list_users(store: &SqliteStore) -> StoreResult<Vec<User>> {
    sqlx::query_as::<_, UserRow>(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users ORDER BY id"
    ))
    .fetch_all(&store.reader)
    .await
    .map_err(unavailable("could not list users"))?
    .into_iter()
    .map(UserRow::decode)
    .collect()
}

pub(super) async fn get_user(store: &SqliteStore, user_id: UserId) -> StoreResult<User> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    load_user(&mut conn, user_id).await
}

/// Replaces the user's counters; an unknown config id is `Invalid`.
async fn set_user_configs(
    conn: &mut SqliteConnection,
    user_id: UserId,
    config_ids: &[ConfigId],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM user_configs WHERE user_id = ?")
        .bind(user_id.0)
        .execute(&mut *conn)
        .await
        .map_err(unavailable("could not change a user's counters"))?;
    for config_id in config_ids {
        sqlx::query("INSERT OR IGNORE INTO user_configs (user_id, config_id) VALUES (?, ?)")
            .bind(user_id.0)
            .bind(config_id.0)
            .execute(&mut *conn)
            .await
            .map_err(|error| match violation(&error) {
                Some(ErrorKind::ForeignKeyViolation) => {
                    StoreError::Invalid(format!("config {} does not exist", config_id.0))
                }
                _ => unavailable("could not change a user's counters")(error),
            })?;
    }
    Ok(())
}

pub(super) async fn create_user(
    store: &SqliteStore,
    login: &Login,
    name: &Name,
    role: Role,
    password_hash: &str,
    config_ids: &[ConfigId],
) -> StoreResult<User> {
    let mut tx = store.write_tx().await?;
    let user_id =
        sqlx::query("INSERT INTO users (login, name, role, password_hash) VALUES (?, ?, ?, ?)")
            .bind(login.as_str())
            .bind(name.as_str())
            .bind(role.as_str())
            .bind(password_hash)
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique(
                Conflict::LoginTaken,
                "could not create a user",
            ))?
            .last_insert_rowid();
    set_user_configs(&mut tx, UserId(user_id), config_ids).await?;
    let user = load_user(&mut tx, UserId(user_id)).await?;
    commit_tx(tx).await?;
    Ok(user)
}

pub(super) async fn update_user(
    store: &SqliteStore,
    user_id: UserId,
    edit: &UserEdit<'_>,
) -> StoreResult<User> {
    let mut tx = store.write_tx().await?;
    let user = load_user(&mut tx, user_id).await?;
    let stops_being_a_manager =
        edit.role.is_some_and(|role| role != Role::Manager) || edit.active == Some(false);
    if user.role == Role::Manager && user.active && stops_being_a_manager {
        let other_managers: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'manager' AND active = 1 AND id != ?",
        )
        .bind(user_id.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(unavailable("could not count managers"))?;
        if other_managers == 0 {
            return Err(Conflict::LastManager.into());
        }
    }
    sqlx::query(
        "UPDATE users SET name = COALESCE(?, name), role = COALESCE(?, role), \
         password_hash = COALESCE(?, password_hash), active = COALESCE(?, active), \
         pin_hash = CASE WHEN ? THEN ? ELSE pin_hash END WHERE id = ?",
    )
    .bind(edit.name.map(Name::as_str))
    .bind(edit.role.map(Role::as_str))
    .bind(edit.password_hash)
    .bind(edit.active)
    .bind(edit.pin_hash.is_some())
    .bind(edit.pin_hash.flatten())
    .bind(user_id.0)
    .execute(&mut *tx)
    .await
    .map_err(unavailable("could not update a user"))?;
    if let Some(config_ids) = edit.config_ids {
        set_user_configs(&mut tx, user_id, config_ids).await?;
    }
    let user = load_user(&mut tx, user_id).await?;
    commit_tx(tx).await?;
    Ok(user)
}

pub(super) async fn find_login(
    store: &SqliteStore,
    login: &Login,
) -> StoreResult<Option<(User, String)>> {
    sqlx::query_as::<_, LoginRow>(concat!(
        "SELECT ",
        user_columns!(),
        ", password_hash FROM users WHERE login = ?"
    ))
    .bind(login.as_str())
    .fetch_optional(&store.reader)
    .await
    .map_err(unavailable("could not find a login"))?
    .map(LoginRow::decode)
    .transpose()
}

pub(super) async fn find_pin(
    store: &SqliteStore,
    user_id: UserId,
) -> StoreResult<Option<(User, Option<String>)>> {
    sqlx::query_as::<_, PinRow>(concat!(
        "SELECT ",
        user_columns!(),
        ", pin_hash FROM users WHERE id = ?"
    ))
    .bind(user_id.0)
    .fetch_optional(&store.reader)
    .await
    .map_err(unavailable("could not read a user's PIN"))?
    .map(PinRow::decode)
    .transpose()
}

pub(super) async fn create_token(
    store: &SqliteStore,
    token_hash: &str,
    owner: TokenOwner,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
) -> StoreResult<()> {
    let _turn = store.turn.take().await;
    let (owner_kind, user_id, session_id) = encode_token_owner(owner);
    sqlx::query("INSERT INTO tokens (hash, owner_kind, user_id, session_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(token_hash)
        .bind(owner_kind)
        .bind(user_id)
        .bind(session_id)
        .bind(created_at.unix_millis())
        .bind(expires_at.map(Timestamp::unix_millis))
        .execute(&store.writer)
        .await
        .map_err(|error| match violation(&error) {
            Some(ErrorKind::UniqueViolation) => Conflict::TokenExists.into(),
            Some(ErrorKind::ForeignKeyViolation) => {
                StoreError::Invalid("the token's owner names an unknown user or session".to_owned())
            }
            _ => unavailable("could not create a token")(error),
        })?;
    Ok(())
}

pub(super) async fn find_token(
    store: &SqliteStore,
    token_hash: &str,
) -> StoreResult<Option<TokenRecord>> {
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT owner_kind, user_id, session_id, created_at, expires_at, revoked_at FROM tokens WHERE hash = ?",
    )
    .bind(token_hash)
    .fetch_optional(&store.reader)
    .await
    .map_err(unavailable("could not find a token"))?;
    row.map(decode_token_record).transpose()
}

pub(super) async fn revoke_token(
    store: &SqliteStore,
    token_hash: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let _turn = store.turn.take().await;
    let revoked =
        sqlx::query("UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL")
            .bind(now.unix_millis())
            .bind(token_hash)
            .execute(&store.writer)
            .await
            .map_err(unavailable("could not revoke a token"))?
            .rows_affected();
    Ok(revoked > 0)
}

pub(super) async fn revoke_user_tokens(
    store: &SqliteStore,
    user_id: UserId,
    now: Timestamp,
) -> StoreResult<Vec<String>> {
    let _turn = store.turn.take().await;
    sqlx::query_scalar(
        "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL RETURNING hash",
    )
    .bind(now.unix_millis())
    .bind(user_id.0)
    .fetch_all(&store.writer)
    .await
    .map_err(unavailable("could not revoke a user's tokens"))
}

pub(super) async fn session_user_ids(
    store: &SqliteStore,
    session_id: SessionId,
) -> StoreResult<Vec<UserId>> {
    let opened_by: Option<i64> = sqlx::query_scalar("SELECT opened_by FROM sessions WHERE id = ?")
        .bind(session_id.0)
        .fetch_optional(&store.reader)
        .await
        .map_err(unavailable("could not read a session"))?;
    let opened_by = opened_by.ok_or(StoreError::NotFound("session"))?;
    let mut user_ids: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT user_id FROM tokens WHERE session_id = ? AND owner_kind = 'terminal'",
    )
    .bind(session_id.0)
    .fetch_all(&store.reader)
    .await
    .map_err(unavailable("could not read a session's users"))?;
    user_ids.push(opened_by);
    user_ids.sort_unstable();
    user_ids.dedup();
    Ok(user_ids.into_iter().map(UserId).collect())
}

pub(super) async fn append_audit(
    store: &SqliteStore,
    entry: &AuditNew<'_>,
) -> StoreResult<AuditEntry> {
    let _turn = store.turn.take().await;
    let id: i64 = sqlx::query_scalar("INSERT INTO audit_log (at, user_id, action, target, details) VALUES (?, ?, ?, ?, ?) RETURNING id")
        .bind(entry.at.unix_millis())
        .bind(entry.user_id.0)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.details.to_string())
        .fetch_one(&store.writer)
        .await
        .map_err(|error| match violation(&error) {
            Some(ErrorKind::ForeignKeyViolation) => {
                StoreError::Invalid("an audit entry names an unknown user".to_owned())
            }
            _ => unavailable("could not append to the audit trail")(error),
        })?;
    Ok(AuditEntry {
        id,
        at: entry.at,
        user_id: entry.user_id,
        action: entry.action.to_owned(),
        target: entry.target.to_owned(),
        details: entry.details.clone(),
    })
}

pub(super) async fn list_audit_page(
    store: &SqliteStore,
    before: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<AuditEntry>> {
    let rows: Vec<(i64, i64, i64, String, String, String)> = sqlx::query_as("SELECT id, at, user_id, action, target, details FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?")
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&store.reader)
        .await
        .map_err(unavailable("could not read the audit trail"))?;
    rows.into_iter()
        .map(|(id, at, user_id, action, target, details)| {
            Ok(AuditEntry {
                id,
                at: Timestamp::from_unix_millis(at),
                user_id: UserId(user_id),
                action,
                target,
                details: decode_json(&details, "audit details")?,
            })
        })
        .collect()
}
