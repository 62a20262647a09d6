//! Receipt printers: how a config's printer is doing (`GET
//! /configs/{id}/printer`, what the till shows as "printer offline, 2
//! queued"), reprinting a paid order's receipt (`POST /orders/{id}/print`)
//! and printing a session's report (`POST /sessions/{id}/print`).
//! The printing itself is done by [`crate::printing`] in the background.

use super::receipts::readable_paid_order;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJsonOrEmpty, ApiPath};
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use possync_core::*;
use serde::Deserialize;
use utoipa::ToSchema;

/// The printer of a config: its address, its state and how many jobs wait.
#[utoipa::path(
    get,
    path = "/api/v1/configs/{id}/printer",
    tag = "configs",
    params(("id" = i64, Path, description = "Config id")),
    responses(
        (status = 200, description = "The printer's state and queue", body = schemas::PrinterStatus),
        (status = 400, description = "Not an integer id", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 404, description = "No such config", body = schemas::ErrorBody),
    )
)]
pub async fn printer_status(
    State(state): State<AppState>,
    _caller: Caller,
    ApiPath(config_id): ApiPath<ConfigId>,
) -> ApiResult<Json<PrinterStatus>> {
    Ok(Json(state.store.printer_status(config_id).await?))
}

/// Where a reprint goes. A terminal always prints on its own counter's
/// printer; a manager may name the counter (default: the one that took the payment).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrintRequest {
    #[schema(value_type = Option<i64>)]
    #[serde(default)]
    pub config_id: Option<ConfigId>,
}

/// Prints a paid order's receipt again, marked as a reprint; it never opens
/// the cash drawer. The job is queued and printed in the background.
#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/print",
    tag = "after payment",
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    request_body(content = PrintRequest, description = "Optional; only a manager may name another counter"),
    responses(
        (status = 202, description = "Queued for the printer", body = schemas::PrintJob),
        (status = 400, description = "Not a UUID, or a bad body", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A cashier's user token, or a terminal naming another counter", body = schemas::ErrorBody),
        (status = 404, description = "No such paid order, or not readable by this terminal; or no such counter", body = schemas::ErrorBody),
        (status = 409, description = "The counter has no printer (`no_printer`), or its queue is full (`print_queue_full`)", body = schemas::ErrorBody),
    )
)]
pub async fn print_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(order_id): ApiPath<OrderId>,
    ApiJsonOrEmpty(request): ApiJsonOrEmpty<PrintRequest>,
) -> ApiResult<(StatusCode, Json<PrintJob>)> {
    let order = readable_paid_order(&state, &caller, order_id).await?;
    let config_id = match &caller {
        Caller::Terminal(terminal) => {
            let own = terminal.config.id;
            if request.config_id.is_some_and(|asked| asked != own) {
                return Err(ApiError::forbidden(
                    "a till prints on its own counter's printer",
                ));
            }
            own
        }
        Caller::User(_) => match (request.config_id, &order.paid_by) {
            (Some(asked), _) => asked,
            (None, Some(paid_by)) => paid_by.config_id,
            (None, None) => order.origin.config_id,
        },
    };
    let config = state.store.get_config(config_id).await?;
    if config.printer.is_none() {
        return Err(ApiError::conflict(
            "no_printer",
            format!("{} has no receipt printer", config.name),
        ));
    }
    let job = state
        .store
        .queue_print_job(&PrintJobNew {
            config_id,
            document: PrintDocument::Order(order_id),
            kind: PrintKind::Reprint,
            open_drawer: false,
            queued_at: state.clock.now(),
        })
        .await?;
    state.printing.wake();
    tracing::info!(%order_id, %config_id, job = job.id, user = %caller.user().login.as_str(), "receipt reprint queued");
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Prints a session's report on the receipt printer of the session's counter
/// (the session report's last bullet in issue 12: "on paper and on the receipt
/// printer"). A manager, a user of that session, or a terminal of it may.
#[utoipa::path(
    post,
    path = "/api/v1/sessions/{id}/print",
    tag = "sessions",
    params(("id" = i64, Path, description = "Session id")),
    responses(
        (status = 202, description = "Queued for the printer", body = schemas::PrintJob),
        (status = 400, description = "Not an integer id", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager nor a user or terminal of that session", body = schemas::ErrorBody),
        (status = 404, description = "No such session", body = schemas::ErrorBody),
        (status = 409, description = "The counter has no printer (`no_printer`), or its queue is full (`print_queue_full`)", body = schemas::ErrorBody),
    )
)]
pub async fn print_session_report(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(session_id): ApiPath<SessionId>,
) -> ApiResult<(StatusCode, Json<PrintJob>)> {
    let session = state.store.get_session(session_id).await?;
    let allowed = match &caller {
        Caller::User(user) => {
            user.role == Role::Manager
                || state
                    .store
                    .session_user_ids(session_id)
                    .await?
                    .contains(&user.id)
        }
        Caller::Terminal(terminal) => terminal.session.id == session_id,
    };
    if !allowed {
        return Err(ApiError::forbidden(
            "only a manager or a user of this session may print its report",
        ));
    }
    let config = state.store.get_config(session.config_id).await?;
    if config.printer.is_none() {
        return Err(ApiError::conflict(
            "no_printer",
            format!("{} has no receipt printer", config.name),
        ));
    }
    let job = state
        .store
        .queue_print_job(&PrintJobNew::session_report(
            config.id,
            session_id,
            state.clock.now(),
        ))
        .await?;
    state.printing.wake();
    tracing::info!(%session_id, config_id = %config.id, job = job.id, user = %caller.user().login.as_str(), "session report print queued");
    Ok((StatusCode::ACCEPTED, Json(job)))
}
