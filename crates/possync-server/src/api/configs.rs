//! POS configurations and their two-way sync links.

use super::audit;
use crate::auth::{Caller, ManagerCaller};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::schemas;
use crate::state::{AppState, ShopChange};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use possync_core::{Config, ConfigChanges, ConfigId, ConfigNew};
use serde::Deserialize;
use utoipa::ToSchema;

/// The complete list of configs a config syncs with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncWithRequest {
    /// Replaces the config's links: new ones appear on both sides, missing ones vanish from both.
    #[schema(value_type = Vec<i64>)]
    pub config_ids: Vec<ConfigId>,
}

/// Lists every config with its links and open session.
#[utoipa::path(
    get,
    path = "/api/v1/configs",
    tag = "configs",
    responses(
        (status = 200, description = "Every config", body = Vec<schemas::Config>),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
    )
)]
pub async fn list_configs(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<Json<Vec<Config>>> {
    Ok(Json(state.store.list_configs().await?))
}

/// Creates a config, optionally linked to others at once.
#[utoipa::path(
    post,
    path = "/api/v1/configs",
    tag = "configs",
    request_body = schemas::ConfigNew,
    responses(
        (status = 201, description = "Created", body = schemas::Config),
        (status = 400, description = "Invalid body, self-link or unknown linked config", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
        (status = 413, description = "Body too large", body = schemas::ErrorBody),
    )
)]
pub async fn create_config(
    State(state): State<AppState>,
    ManagerCaller(manager): ManagerCaller,
    ApiJson(new): ApiJson<ConfigNew>,
) -> ApiResult<(StatusCode, Json<Config>)> {
    let config = state.store.create_config(&new).await?;
    state.notify(ShopChange::Configs).await;
    if !config.sync_with.is_empty() {
        state.notify(ShopChange::Links).await;
    }
    tracing::info!(config_id = %config.id, name = %config.name, "config created");
    audit::record(
        &state,
        &manager,
        "config.create",
        format!("config {}", config.id),
        serde_json::json!({
            "name": config.name,
            "sync_with": config.sync_with,
            "auto_share": config.auto_share,
            "printer": config.printer,
            "restrict_price_control": config.restrict_price_control,
        }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(config)))
}

/// One config.
#[utoipa::path(
    get,
    path = "/api/v1/configs/{id}",
    tag = "configs",
    params(("id" = i64, Path, description = "Config id")),
    responses(
        (status = 200, description = "The config", body = schemas::Config),
        (status = 400, description = "Not an integer id", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 404, description = "No such config", body = schemas::ErrorBody),
    )
)]
pub async fn get_config(
    State(state): State<AppState>,
    _caller: Caller,
    ApiPath(config_id): ApiPath<ConfigId>,
) -> ApiResult<Json<Config>> {
    Ok(Json(state.store.get_config(config_id).await?))
}

/// Renames a config, changes whether it shares new drafts at once, or whether
/// its cashiers need a manager's approval for money ops (`restrict_price_control`).
#[utoipa::path(
    patch,
    path = "/api/v1/configs/{id}",
    tag = "configs",
    params(("id" = i64, Path, description = "Config id")),
    request_body = schemas::ConfigChanges,
    responses(
        (status = 200, description = "The changed config", body = schemas::Config),
        (status = 400, description = "Invalid body", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
        (status = 404, description = "No such config", body = schemas::ErrorBody),
    )
)]
pub async fn update_config(
    State(state): State<AppState>,
    ManagerCaller(manager): ManagerCaller,
    ApiPath(config_id): ApiPath<ConfigId>,
    ApiJson(changes): ApiJson<ConfigChanges>,
) -> ApiResult<Json<Config>> {
    let before = state.store.get_config(config_id).await?;
    let config = state.store.update_config(config_id, &changes).await?;
    state.notify(ShopChange::Configs).await;
    audit::record(
        &state,
        &manager,
        "config.update",
        format!("config {}", config.id),
        serde_json::json!({
            "before": {"name": before.name, "auto_share": before.auto_share, "printer": before.printer, "restrict_price_control": before.restrict_price_control},
            "after": {"name": config.name, "auto_share": config.auto_share, "printer": config.printer, "restrict_price_control": config.restrict_price_control},
        }),
    )
    .await;
    Ok(Json(config))
}

/// Replaces the configs this config syncs with; links are two-way and not transitive.
#[utoipa::path(
    put,
    path = "/api/v1/configs/{id}/sync_with",
    tag = "configs",
    params(("id" = i64, Path, description = "Config id")),
    request_body = SyncWithRequest,
    responses(
        (status = 200, description = "The config with its new links", body = schemas::Config),
        (status = 400, description = "Invalid body, a self-link, or an unknown config id in the list", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
        (status = 404, description = "No such config", body = schemas::ErrorBody),
    )
)]
pub async fn set_sync_with(
    State(state): State<AppState>,
    ManagerCaller(manager): ManagerCaller,
    ApiPath(config_id): ApiPath<ConfigId>,
    ApiJson(request): ApiJson<SyncWithRequest>,
) -> ApiResult<Json<Config>> {
    // The path's config is checked first so an unknown one is a 404, not a 400 about links.
    let before = state.store.get_config(config_id).await?;
    let config = state
        .store
        .set_sync_with(config_id, &request.config_ids)
        .await?;
    state.notify(ShopChange::Links).await;
    tracing::info!(config_id = %config.id, sync_with = ?config.sync_with, "sync links changed");
    audit::record(
        &state,
        &manager,
        "links.set",
        format!("config {}", config.id),
        serde_json::json!({"before": before.sync_with, "after": config.sync_with}),
    )
    .await;
    Ok(Json(config))
}
