//! Sessions: a counter's shift. Opening one when another is open joins it, and
//! every open or join hands out a new terminal token bound to that session.

use crate::auth::{UserCaller, issue_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiJsonOrEmpty, ApiPath};
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use possync_core::{ConfigId, Money, Session, SessionId, SessionState};
use possync_store::{SessionReport, TokenOwner};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenSessionRequest {
    #[schema(value_type = i64)]
    pub config_id: ConfigId,
    /// Cash in the drawer at opening, minor units (ignored when joining).
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub opening_cash: Option<Money>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenSessionResponse {
    #[schema(value_type = schemas::Session)]
    pub session: Session,
    /// A new token bound to this session; terminals use it for orders and sync.
    pub terminal_token: String,
    /// The config already had an open session, and this call joined it.
    pub joined: bool,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseSessionRequest {
    /// Cash counted in the drawer, minor units.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub counted_cash: Option<Money>,
}

/// Lists the sessions, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/sessions",
    tag = "sessions",
    responses(
        (status = 200, description = "Every session, newest first", body = Vec<schemas::Session>),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A terminal token", body = schemas::ErrorBody),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    _user: UserCaller,
) -> ApiResult<Json<Vec<Session>>> {
    Ok(Json(state.store.list_sessions().await?))
}

/// Opens a session of a config, or joins the one already open, and answers a new terminal token.
#[utoipa::path(
    post,
    path = "/api/v1/sessions",
    tag = "sessions",
    request_body = OpenSessionRequest,
    responses(
        (status = 200, description = "Opened or joined", body = OpenSessionResponse),
        (status = 400, description = "Invalid body", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A terminal token", body = schemas::ErrorBody),
        (status = 404, description = "No such config", body = schemas::ErrorBody),
    )
)]
pub async fn open_session(
    State(state): State<AppState>,
    UserCaller(user): UserCaller,
    ApiJson(request): ApiJson<OpenSessionRequest>,
) -> ApiResult<Json<OpenSessionResponse>> {
    // Checked first so an unknown config is a clear 404 whatever the store would say.
    state.store.get_config(request.config_id).await?;
    let now = state.clock.now();
    let (session, joined) = state
        .store
        .open_or_join_session(
            request.config_id,
            user.id,
            request.opening_cash.unwrap_or(Money::ZERO),
            now,
        )
        .await?;
    let terminal_token = issue_token(
        state.store.as_ref(),
        TokenOwner::Terminal {
            user_id: user.id,
            session_id: session.id,
        },
        now,
    )
    .await?;
    tracing::info!(session_id = %session.id, config_id = %session.config_id, user = %user.login.as_str(), joined, "terminal token issued");
    Ok(Json(OpenSessionResponse {
        session,
        terminal_token,
        joined,
    }))
}

/// Closes an open session and answers its report. Drafts of that config stay drafts,
/// and its terminal tokens stop working (401 `session_closed`).
#[utoipa::path(
    post,
    path = "/api/v1/sessions/{id}/close",
    tag = "sessions",
    params(("id" = i64, Path, description = "Session id")),
    request_body(content = CloseSessionRequest, description = "May be empty"),
    responses(
        (status = 200, description = "Closed; the session report", body = schemas::SessionReport),
        (status = 400, description = "Invalid body or id", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A terminal token", body = schemas::ErrorBody),
        (status = 404, description = "No such session", body = schemas::ErrorBody),
        (status = 409, description = "Already closed (code `session_closed`)", body = schemas::ErrorBody),
    )
)]
pub async fn close_session(
    State(state): State<AppState>,
    UserCaller(user): UserCaller,
    ApiPath(session_id): ApiPath<SessionId>,
    ApiJsonOrEmpty(request): ApiJsonOrEmpty<CloseSessionRequest>,
) -> ApiResult<Json<SessionReport>> {
    let session = state.store.get_session(session_id).await?;
    if session.state == SessionState::Closed {
        return Err(ApiError::conflict(
            "session_closed",
            "this session is already closed",
        ));
    }
    // Through the sync node, so every op is either in the report or refused `session_closed`.
    let report = state
        .sync
        .close_session(session_id, request.counted_cash)
        .await
        .map_err(ApiError::unavailable)??;
    tracing::info!(session_id = %session_id, user = %user.login.as_str(), "session closed");
    Ok(Json(report))
}

/// The payment and cash summary of a session, open or closed.
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{id}/report",
    tag = "sessions",
    params(("id" = i64, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session report", body = schemas::SessionReport),
        (status = 400, description = "Not an integer id", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A terminal token", body = schemas::ErrorBody),
        (status = 404, description = "No such session", body = schemas::ErrorBody),
    )
)]
pub async fn session_report(
    State(state): State<AppState>,
    _user: UserCaller,
    ApiPath(session_id): ApiPath<SessionId>,
) -> ApiResult<Json<SessionReport>> {
    Ok(Json(state.store.session_report(session_id).await?))
}
