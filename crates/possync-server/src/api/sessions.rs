//! Sessions: a counter's shift. Opening one when another is open joins it, and
//! every open or join hands out a new terminal token bound to that session.

use super::audit;
use super::paging::{page_limit, page_response, split_page};
use crate::auth::{UserCaller, issue_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery};
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use possync_core::{ConfigId, Money, Role, Session, SessionId, SessionState, User};
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

/// The query of `GET /sessions`.
#[derive(Debug, Default, Deserialize)]
pub struct SessionsQuery {
    /// Sessions per page (default 200, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The page holds sessions with ids below this one (from a next link).
    #[serde(default)]
    pub before: Option<i64>,
}

/// Lists the sessions, newest first, paged.
#[utoipa::path(
    get,
    path = "/api/v1/sessions",
    tag = "sessions",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Sessions per page (default 200)"),
        ("before" = Option<i64>, Query, description = "Only sessions with a lower id, as given by the `Link` header of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of sessions, newest first", body = Vec<schemas::Session>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when more remain"))),
        (status = 400, description = "A limit out of range or a bad `before`", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A terminal token", body = schemas::ErrorBody),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    _user: UserCaller,
    ApiQuery(query): ApiQuery<SessionsQuery>,
) -> ApiResult<Response> {
    let limit = page_limit(query.limit)?;
    let sessions = state
        .store
        .list_sessions_page(query.before.map(SessionId), limit + 1)
        .await?;
    let (sessions, more) = split_page(sessions, limit);
    let next = more
        .then(|| sessions.last().map(|session| session.id))
        .flatten()
        .map(|session_id| {
            (
                "/api/v1/sessions",
                vec![
                    ("limit", limit.to_string()),
                    ("before", session_id.0.to_string()),
                ],
            )
        });
    Ok(page_response(sessions, next))
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
        (status = 403, description = "A terminal token, or a cashier and a counter not among their `config_ids`", body = schemas::ErrorBody),
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
    if !user.may_open(request.config_id) {
        return Err(ApiError::forbidden(
            "this counter is not one of yours; a manager can add it to your counters",
        ));
    }
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
        // A terminal token lives as long as its session (or until revoked).
        None,
    )
    .await?;
    tracing::info!(session_id = %session.id, config_id = %session.config_id, user = %user.login.as_str(), joined, "terminal token issued");
    Ok(Json(OpenSessionResponse {
        session,
        terminal_token,
        joined,
    }))
}

/// A manager, or a user who opened or joined the session: who may close it or read its report.
async fn check_session_user(state: &AppState, user: &User, session_id: SessionId) -> ApiResult<()> {
    if user.role == Role::Manager {
        return Ok(());
    }
    if state
        .store
        .session_user_ids(session_id)
        .await?
        .contains(&user.id)
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only a manager or a user who opened or joined this session may do this",
        ))
    }
}

/// Closes an open session and answers its report: a manager, or a user who
/// opened or joined it, may. Drafts of that config stay drafts,
/// and its terminal tokens stop working (401 `session_closed`).
#[utoipa::path(
    post,
    path = "/api/v1/sessions/{id}/close",
    tag = "sessions",
    params(("id" = i64, Path, description = "Session id")),
    request_body(content = CloseSessionRequest, description = "Optional (see `openapi::OPTIONAL_BODIES`): no body means no counted cash"),
    responses(
        (status = 200, description = "Closed; the session report", body = schemas::SessionReport),
        (status = 400, description = "Invalid body or id", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A terminal token, or neither a manager nor a user who opened or joined this session", body = schemas::ErrorBody),
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
    check_session_user(&state, &user, session_id).await?;
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
    audit::record(
        &state,
        &user,
        "session.close",
        format!("session {session_id}"),
        serde_json::json!({"config_id": session.config_id, "counted_cash": request.counted_cash}),
    )
    .await;
    Ok(Json(report))
}

/// The payment and cash summary of a session, open or closed: for a manager,
/// or a user who opened or joined it.
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{id}/report",
    tag = "sessions",
    params(("id" = i64, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session report", body = schemas::SessionReport),
        (status = 400, description = "Not an integer id", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A terminal token, or neither a manager nor a user who opened or joined this session", body = schemas::ErrorBody),
        (status = 404, description = "No such session", body = schemas::ErrorBody),
    )
)]
pub async fn session_report(
    State(state): State<AppState>,
    UserCaller(user): UserCaller,
    ApiPath(session_id): ApiPath<SessionId>,
) -> ApiResult<Json<SessionReport>> {
    state.store.get_session(session_id).await?;
    check_session_user(&state, &user, session_id).await?;
    Ok(Json(state.store.session_report(session_id).await?))
}
