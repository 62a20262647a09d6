//! Users and the hashes of their tokens.

use super::changes::ShopChange;
use super::{PostgresStore, commit_notifying};
use crate::database_errors::{conflict_on_unique, unavailable, violation};
use crate::rows::{LoginRow, UserRow, decode_token_owner, decode_u64, encode_token_owner};
use crate::{Conflict, StoreError, StoreResult, TokenOwner};
use possync_core::*;
use sqlx::error::ErrorKind;
use sqlx::postgres::PgConnection;

async fn load_user(conn: &mut PgConnection, user_id: UserId) -> StoreResult<User> {
    sqlx::query_as::<_, UserRow>("SELECT id, login, name, role FROM users WHERE id = $1")
        .bind(user_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read a user"))?
        .ok_or(StoreError::NotFound("user"))?
        .decode()
}

pub(super) async fn count_users(store: &PostgresStore) -> StoreResult<u64> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&store.pool)
        .await
        .map_err(unavailable("could not count users"))?;
    decode_u64(count, "user count")
}

pub(super) async fn list_users(store: &PostgresStore) -> StoreResult<Vec<User>> {
    sqlx::query_as::<_, UserRow>("SELECT id, login, name, role FROM users ORDER BY id")
        .fetch_all(&store.pool)
        .await
        .map_err(unavailable("could not list users"))?
        .into_iter()
        .map(UserRow::decode)
        .collect()
}

pub(super) async fn get_user(store: &PostgresStore, user_id: UserId) -> StoreResult<User> {
    load_user(&mut *store.connection().await?, user_id).await
}

pub(super) async fn create_user(
    store: &PostgresStore,
    login: &Login,
    name: &Name,
    role: Role,
    password_hash: &str,
) -> StoreResult<User> {
    let mut tx = store.write_tx().await?;
    let row = sqlx::query_as::<_, UserRow>(
        "INSERT INTO users (login, name, role, password_hash) VALUES ($1, $2, $3, $4) \
         RETURNING id, login, name, role",
    )
    .bind(login.as_str())
    .bind(name.as_str())
    .bind(role.as_str())
    .bind(password_hash)
    .fetch_one(&mut *tx)
    .await
    .map_err(conflict_on_unique(
        Conflict::LoginTaken,
        "could not create a user",
    ))?;
    let record = row.decode()?;
    commit_notifying(tx, &[ShopChange::Users]).await?;
    Ok(record)
}

pub(super) async fn update_user(
    store: &PostgresStore,
    user_id: UserId,
    name: Option<&Name>,
    role: Option<Role>,
    password_hash: Option<&str>,
) -> StoreResult<User> {
    let mut tx = store.write_tx().await?;
    let user = load_user(&mut tx, user_id).await?;
    if user.role == Role::Manager && role.is_some_and(|role| role != Role::Manager) {
        // Locking every manager row makes two concurrent demotions (on two
        // nodes) take turns: the second one sees the first and is refused.
        let managers: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM users WHERE role = 'manager' ORDER BY id FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable("could not lock the managers"))?;
        if !managers.iter().any(|&id| id != user_id.0) {
            return Err(Conflict::LastManager.into());
        }
    }
    sqlx::query(
        "UPDATE users SET name = COALESCE($1, name), role = COALESCE($2, role), \
         password_hash = COALESCE($3, password_hash) WHERE id = $4",
    )
    .bind(name.map(Name::as_str))
    .bind(role.map(Role::as_str))
    .bind(password_hash)
    .bind(user_id.0)
    .execute(&mut *tx)
    .await
    .map_err(unavailable("could not update a user"))?;
    let user = load_user(&mut tx, user_id).await?;
    commit_notifying(tx, &[ShopChange::Users]).await?;
    Ok(user)
}

pub(super) async fn find_login(
    store: &PostgresStore,
    login: &Login,
) -> StoreResult<Option<(User, String)>> {
    sqlx::query_as::<_, LoginRow>(
        "SELECT id, login, name, role, password_hash FROM users WHERE login = $1",
    )
    .bind(login.as_str())
    .fetch_optional(&store.pool)
    .await
    .map_err(unavailable("could not find a login"))?
    .map(LoginRow::decode)
    .transpose()
}

pub(super) async fn create_token(
    store: &PostgresStore,
    token_hash: &str,
    owner: TokenOwner,
    created_at: Timestamp,
) -> StoreResult<()> {
    let (owner_kind, user_id, session_id) = encode_token_owner(owner);
    sqlx::query(
        "INSERT INTO tokens (hash, owner_kind, user_id, session_id, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(owner_kind)
    .bind(user_id)
    .bind(session_id)
    .bind(created_at.unix_millis())
    .execute(&store.pool)
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
    store: &PostgresStore,
    token_hash: &str,
) -> StoreResult<Option<TokenOwner>> {
    let row: Option<(String, i64, Option<i64>)> =
        sqlx::query_as("SELECT owner_kind, user_id, session_id FROM tokens WHERE hash = $1")
            .bind(token_hash)
            .fetch_optional(&store.pool)
            .await
            .map_err(unavailable("could not find a token"))?;
    row.map(decode_token_owner).transpose()
}
