//! Health (liveness) and readiness checks, and the OpenAPI document.

use crate::api::OpenApiJson;
use crate::schemas;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

/// Liveness: 200 with `ok` or `degraded` (and the reasons) while the sync node
/// runs; 503 once it has stopped, since nothing syncs any more.
fn health_response(state: &AppState) -> Response {
    let report = state.health.read();
    let status = if report.sync_running {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut reasons = report.reasons.clone();
    if !report.sync_running {
        reasons.insert(
            0,
            "the sync node has stopped; restart the server".to_owned(),
        );
    }
    (
        status,
        Json(json!({"status": report.status(), "reasons": reasons})),
    )
        .into_response()
}

/// Liveness, for load balancers and process supervisors.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "system",
    security(()),
    responses(
        (status = 200, description = "Serving: `ok`, or `degraded` with the reasons", body = schemas::Health),
        (status = 503, description = "The sync node has stopped", body = schemas::Health),
    )
)]
pub async fn healthz(State(state): State<AppState>) -> Response {
    health_response(&state)
}

/// The same health check under the API prefix.
#[utoipa::path(
    get,
    path = "/api/v1/healthz",
    tag = "system",
    security(()),
    responses(
        (status = 200, description = "Serving: `ok`, or `degraded` with the reasons", body = schemas::Health),
        (status = 503, description = "The sync node has stopped", body = schemas::Health),
    )
)]
pub async fn api_healthz(State(state): State<AppState>) -> Response {
    health_response(&state)
}

/// Answers 200 only when this node can serve: its store answers and, with
/// several nodes, it hears the others and has caught up with them. A load
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
    if state
        .health
        .reported_by(crate::sync::listener::LISTENER_HEALTH)
    {
        // With several nodes, one that does not hear the others would serve
        // stale drafts to the counters a load balancer sends it.
        reasons.push("listener");
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
