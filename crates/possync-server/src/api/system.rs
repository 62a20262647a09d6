//! Health checks and the OpenAPI document.

use crate::api::OpenApiJson;
use crate::schemas;
use axum::http::header;
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
