//! `GET /metrics`: the sync path's Prometheus metrics, for a manager or for the
//! scraper holding the token given to `possync serve --metrics-token`.
//!
//! Metrics say how busy each counter is and when; that is shop data, so they are
//! not public.

use crate::auth::token::{TokenSource, secrets_match, token_from_request};
use crate::auth::{AuthState, ManagerCaller};
use crate::error::ApiError;
use crate::schemas;
use crate::state::AppState;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::IntoResponse;

/// A caller allowed to read the metrics: the metrics token (in the `Authorization`
/// header or `?token=`), or a manager's user token.
#[derive(Debug, Clone, Copy)]
pub struct MetricsReader;

impl<S> FromRequestParts<S> for MetricsReader
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = AuthState::from_ref(state);
        if let Some(metrics_token) = &auth.settings.metrics_token
            && let Ok(Some(presented)) = token_from_request(parts)
            && presented.source != TokenSource::Cookie
            && secrets_match(&presented.token, metrics_token)
        {
            return Ok(MetricsReader);
        }
        ManagerCaller::from_request_parts(parts, state).await?;
        Ok(MetricsReader)
    }
}

/// The sync path's metrics in Prometheus' text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain"),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Neither a manager's token nor the metrics token", body = schemas::ErrorBody),
    )
)]
pub async fn metrics(State(state): State<AppState>, _reader: MetricsReader) -> impl IntoResponse {
    let tasks = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    state
        .sync
        .metrics
        .runtime_tasks
        .set(i64::try_from(tasks).unwrap_or(i64::MAX));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.sync.metrics.render(),
    )
}
