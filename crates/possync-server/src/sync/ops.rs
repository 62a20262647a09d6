//! `POST /api/v1/orders/{id}/ops`: one op over HTTP, for clients without a
//! WebSocket. It takes the same path as a WebSocket op (same node, same
//! batch, same idempotency, a rate limit per token) and answers the same
//! `ack` or `reject` message.

use crate::auth::approval::verify_claim;
use crate::auth::{ClientAddress, TerminalCaller};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use possync_core::{OpId, OrderId, RejectCode, TerminalId};
use possync_engine::{Source, TokenKey};
use possync_protocol::{ServerMessage, decode_op_body};
use serde_json::Value;
use uuid::Uuid;

/// The header an HTTP client may name its terminal with (a UUID), so that a
/// payment lock it takes is its own.
pub const TERMINAL_HEADER: &str = "x-possync-terminal";

/// The HTTP status of each reject code.
pub fn reject_status(code: RejectCode) -> StatusCode {
    match code {
        RejectCode::Invalid | RejectCode::Underpaid => StatusCode::BAD_REQUEST,
        RejectCode::Forbidden => StatusCode::FORBIDDEN,
        RejectCode::NotFound => StatusCode::NOT_FOUND,
        RejectCode::Exists
        | RejectCode::LineRemoved
        | RejectCode::UnknownLine
        | RejectCode::Paid
        | RejectCode::Cancelled
        | RejectCode::Locked
        | RejectCode::Stale
        | RejectCode::SessionClosed => StatusCode::CONFLICT,
        RejectCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        RejectCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        RejectCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The answer as HTTP: an `ack` is 200; a `reject` carries its status and,
/// besides the message's own fields, the contract's `error` object. A 429 or
/// 503 says when to try again (`Retry-After`, one second).
pub(crate) fn answer_response(answer: ServerMessage) -> Response {
    answer_response_after(answer, None)
}

/// [`answer_response`], with a `Retry-After` of `retry_after_s` seconds on a
/// 429 or 503 when it is known (a throttle's), else one second.
pub(crate) fn answer_response_after(answer: ServerMessage, retry_after_s: Option<u64>) -> Response {
    let status = match &answer {
        ServerMessage::Reject { code, .. } => reject_status(*code),
        _ => StatusCode::OK,
    };
    let mut body = serde_json::to_value(&answer).unwrap_or(Value::Null);
    if let (ServerMessage::Reject { code, message, .. }, Value::Object(object)) =
        (&answer, &mut body)
    {
        object.insert(
            "error".to_owned(),
            serde_json::json!({"code": code.as_str(), "message": message}),
        );
    }
    let mut response = (status, Json(body)).into_response();
    if matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            retry_after_s.unwrap_or(1).into(),
        );
    }
    response
}

/// The terminal an HTTP call acts as: the header's UUID, or one derived from
/// the token, so every call with one token is the same terminal (and a lock
/// it takes is its own). Either way the node checks that the id belongs to
/// this token ("Terminal identity").
pub(crate) fn terminal_of(headers: &HeaderMap, terminal: &TerminalCaller) -> ApiResult<TerminalId> {
    match headers.get(TERMINAL_HEADER) {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|text| text.parse::<TerminalId>().ok())
            .ok_or_else(|| {
                ApiError::invalid(format!("the {TERMINAL_HEADER} header must be a UUID"))
            }),
        None => {
            let hex = terminal.token_hash.get(..32).unwrap_or_default();
            let bits = u128::from_str_radix(hex, 16).unwrap_or_default();
            Ok(TerminalId(Uuid::from_u128(bits)))
        }
    }
}

/// Applies one op to an order.
#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/ops",
    tag = "orders",
    params(
        ("id" = uuid::Uuid, Path, description = "Order id (chosen by the client for a create)"),
        ("x-possync-terminal" = Option<uuid::Uuid>, Header, description = "The calling terminal's id"),
    ),
    request_body = schemas::OpBody,
    responses(
        (status = 200, description = "Accepted (or a duplicate of an accepted op)", body = schemas::AckMessage),
        (status = 400, description = "invalid or underpaid: a reject when the op could be read, else an error (no op_id, malformed JSON)", body = schemas::OpRefusal),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "forbidden: a reject, or an error when the token is not a terminal token", body = schemas::OpRefusal),
        (status = 404, description = "not_found", body = schemas::RejectMessage),
        (status = 409, description = "paid, cancelled, locked, stale, exists, line_removed, unknown_line, session_closed", body = schemas::RejectMessage),
        (status = 413, description = "too_large", body = schemas::ErrorBody),
        (status = 429, description = "rate_limited", body = schemas::RejectMessage,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 503, description = "unavailable: nothing applied, send the same op again (an error when the sync engine itself is down)", body = schemas::OpRefusal,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn post_op(
    State(state): State<AppState>,
    terminal: TerminalCaller,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    ApiPath(order_id): ApiPath<OrderId>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let terminal_id = terminal_of(&headers, &terminal)?;
    let op_id: OpId = body
        .get("op_id")
        .cloned()
        .and_then(|value| serde_json::from_value(value).ok())
        .ok_or_else(|| ApiError::invalid("the body needs an \"op_id\" UUID"))?;
    let mut request = match decode_op_body(op_id, order_id, body.get("op")) {
        Ok(request) => request,
        Err(error) => return Ok(answer_response(error.to_server_message())),
    };
    // The PIN is checked here, in this request's task, never in the node's loop.
    if let Err(refused) = verify_claim(&state.auth, &mut request.approval, address).await {
        let answer = ServerMessage::Reject {
            op_id,
            order_id,
            code: refused.reject.code,
            message: refused.reject.message,
            order: None,
        };
        return Ok(answer_response_after(answer, refused.retry_after_s));
    }
    let source = Source {
        session_id: terminal.session.id,
        config_id: terminal.config.id,
        terminal: terminal_id,
        role: terminal.user.role,
    };
    let answer = state
        .sync
        .op(TokenKey::new(&terminal.token_hash), source, request)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(answer_response(answer))
}
