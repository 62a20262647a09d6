//! Staff logins, managed by managers. Passwords and PINs are hashed here
//! (argon2, off the async workers) and never leave the store; no answer
//! contains a hash, and a user answers only whether they have a PIN
//! (`has_pin`). `GET /approvers` names the managers a till may ask to approve.

use super::audit;
use crate::auth::{Caller, ManagerCaller};
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use possync_core::{ConfigId, Name, Role, User, UserChanges, UserId, UserNew};
use possync_store::UserEdit;
use serde::Serialize;

/// The most counters one user may be given: far more than any shop has.
pub const USER_CONFIG_IDS_MAX: usize = 1000;

fn check_config_ids(config_ids: &[ConfigId]) -> ApiResult<()> {
    if config_ids.len() > USER_CONFIG_IDS_MAX {
        return Err(ApiError::invalid(format!(
            "config_ids: at most {USER_CONFIG_IDS_MAX} counters"
        )));
    }
    Ok(())
}

/// Lists every user (managers only).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    responses(
        (status = 200, description = "Every user", body = Vec<schemas::User>),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    _manager: ManagerCaller,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.store.list_users().await?))
}

/// Adds a user with a password.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = schemas::UserNew,
    responses(
        (status = 201, description = "Created", body = schemas::User),
        (status = 400, description = "Invalid body", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
        (status = 409, description = "The login is taken (code `login_taken`)", body = schemas::ErrorBody),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    ManagerCaller(manager): ManagerCaller,
    ApiJson(new): ApiJson<UserNew>,
) -> ApiResult<(StatusCode, Json<User>)> {
    check_config_ids(&new.config_ids)?;
    let password_hash = state
        .auth
        .passwords
        .hash(new.password.as_str().to_owned())
        .await?;
    let pin_hash = match &new.pin {
        Some(pin) => Some(state.auth.passwords.hash(pin.as_str().to_owned()).await?),
        None => None,
    };
    let mut user = state
        .store
        .create_user(
            &new.login,
            &new.name,
            new.role,
            &password_hash,
            &new.config_ids,
        )
        .await?;
    if let Some(pin_hash) = &pin_hash {
        user = state
            .store
            .update_user(
                user.id,
                &UserEdit {
                    pin_hash: Some(Some(pin_hash)),
                    ..UserEdit::default()
                },
            )
            .await?;
    }
    tracing::info!(user_id = %user.id, login = %user.login.as_str(), role = user.role.as_str(), by = %manager.login.as_str(), "user created");
    audit::record(
        &state,
        &manager,
        "user.create",
        format!("user {}", user.id),
        serde_json::json!({"login": user.login, "name": user.name, "role": user.role, "config_ids": user.config_ids, "has_pin": user.has_pin}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(user)))
}

/// One user (managers only).
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = schemas::User),
        (status = 400, description = "Not an integer id", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
        (status = 404, description = "No such user", body = schemas::ErrorBody),
    )
)]
pub async fn get_user(
    State(state): State<AppState>,
    _manager: ManagerCaller,
    ApiPath(user_id): ApiPath<UserId>,
) -> ApiResult<Json<User>> {
    Ok(Json(state.store.get_user(user_id).await?))
}

/// Changes a user's name, role, password, counters or `active`. The last active
/// manager can be neither demoted nor deactivated. A new password or
/// `active: false` revokes every token of the user (logins and the terminal
/// tokens they were handed), and their live sync connections close with 4001.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = schemas::UserChanges,
    responses(
        (status = 200, description = "The changed user", body = schemas::User),
        (status = 400, description = "Invalid body", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
        (status = 404, description = "No such user", body = schemas::ErrorBody),
        (status = 409, description = "Would leave the shop without an active manager (code `last_manager`)", body = schemas::ErrorBody),
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    ManagerCaller(manager): ManagerCaller,
    ApiPath(user_id): ApiPath<UserId>,
    ApiJson(changes): ApiJson<UserChanges>,
) -> ApiResult<Json<User>> {
    if let Some(config_ids) = &changes.config_ids {
        check_config_ids(config_ids)?;
    }
    // Look the user up before hashing, so an unknown id costs no argon2 run.
    let before = state.store.get_user(user_id).await?;
    let password_hash = match changes.password {
        Some(password) => Some(
            state
                .auth
                .passwords
                .hash(password.as_str().to_owned())
                .await?,
        ),
        None => None,
    };
    let pin_hash = match &changes.pin {
        Some(Some(pin)) => Some(Some(
            state.auth.passwords.hash(pin.as_str().to_owned()).await?,
        )),
        Some(None) => Some(None),
        None => None,
    };
    let user = state
        .store
        .update_user(
            user_id,
            &UserEdit {
                name: changes.name.as_ref(),
                role: changes.role,
                password_hash: password_hash.as_deref(),
                pin_hash: pin_hash.as_ref().map(Option::as_deref),
                active: changes.active,
                config_ids: changes.config_ids.as_deref(),
            },
        )
        .await?;
    // After the change, so a login in between with the old password cannot
    // keep a token; the node hears of it after the store, see `tokens_revoked`.
    if password_hash.is_some() || changes.active == Some(false) {
        let revoked = state
            .store
            .revoke_user_tokens(user_id, state.clock.now())
            .await?;
        tracing::info!(user_id = %user.id, n_tokens = revoked.len(), "tokens revoked");
        state.sync.tokens_revoked(&revoked).await;
    }
    audit::record(
        &state,
        &manager,
        "user.update",
        format!("user {}", user.id),
        serde_json::json!({
            "before": {"name": before.name, "role": before.role, "active": before.active, "config_ids": before.config_ids},
            "after": {"name": user.name, "role": user.role, "active": user.active, "config_ids": user.config_ids},
            "password_changed": password_hash.is_some(),
            "pin_changed": pin_hash.is_some(),
            "has_pin": user.has_pin,
        }),
    )
    .await;
    tracing::info!(user_id = %user.id, by = %manager.login.as_str(), password_changed = password_hash.is_some(), "user changed");
    Ok(Json(user))
}

/// A manager a till may ask to approve an op: any active manager. `has_pin`
/// tells the till whether to offer the PIN first; every manager can approve
/// with their password.
#[derive(Debug, Serialize)]
pub struct Approver {
    pub id: UserId,
    pub name: Name,
    pub has_pin: bool,
}

/// The managers who can approve an op at a till (every active manager, by
/// PIN or password), for the till's approval dialog. Names, ids and whether
/// each has a PIN; anyone logged in may ask.
#[utoipa::path(
    get,
    path = "/api/v1/approvers",
    tag = "users",
    responses(
        (status = 200, description = "Active managers, each saying whether they have a PIN", body = Vec<schemas::Approver>),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
    )
)]
pub async fn list_approvers(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<Json<Vec<Approver>>> {
    let approvers = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|user| user.active && user.role == Role::Manager)
        .map(|user| Approver {
            id: user.id,
            name: user.name,
            has_pin: user.has_pin,
        })
        .collect();
    Ok(Json(approvers))
}
