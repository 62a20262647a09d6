//! Health (liveness) and readiness checks, and the OpenAPI document.

use crate::api::OpenApiJson;
use crate::schemas;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde_json::json;

/// Answers 200 while the server is serving (for load balancers and process supervisors).
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "system",
    security(()),
    responses((status = 200, description = "The server is serving", body = schemas::Health))
)]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// The same health check under the API prefix.
#[utoipa::path(
    get,
    path = "/api/v1/healthz",
    tag = "system",
    security(()),
    responses((status = 200, description = "The server is serving", body = schemas::Health))
)]
pub async fn api_healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Answers 200 only when this node can serve: its store answers. A load
/// balancer sends traffic to ready nodes only; liveness stays `/healthz`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "system",
    security(()),
    responses(
        (status = 200, description = "Ready: the store answers", body = schemas::Readiness),
        (status = 503, description = "Not ready; `reasons` says what is down", body = schemas::Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    readiness(&state).await
}

/// The same readiness check under the API prefix.
#[utoipa::path(
    get,
    path = "/api/v1/readyz",
    tag = "system",
    security(()),
    responses(
        (status = 200, description = "Ready: the store answers", body = schemas::Readiness),
        (status = 503, description = "Not ready; `reasons` says what is down", body = schemas::Readiness),
    )
)]
pub async fn api_readyz(State(state): State<AppState>) -> impl IntoResponse {
    readiness(&state).await
}

async fn readiness(state: &AppState) -> (StatusCode, Json<serde_json::Value>) {
    let mut reasons = Vec::new();
    if let Err(error) = state.store.ping().await {
        tracing::warn!(%error, "not ready: the store does not answer");
        reasons.push("store");
    }
    if reasons.is_empty() {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "reasons": reasons})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "reasons": reasons})),
        )
    }
}

/// This OpenAPI 3 document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "system",
    security(()),
    responses((status = 200, description = "The OpenAPI 3 description of this HTTP API", content_type = "application/json"))
)]
pub async fn openapi_json(Extension(document): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.0.as_str().to_owned(),
    )
}
