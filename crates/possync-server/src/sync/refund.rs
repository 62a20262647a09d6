//! `POST /api/v1/orders/{id}/refund`: a refund draft of some or all lines of
//! a paid order (PROTOCOL.md "Refunds").
//!
//! The handler decodes, checks the manager's PIN in its own task (as the
//! HTTP op route does), reads the paid order and its refunds, and lets
//! `possync_core::refund_lines` copy the lines; the draft itself is created by
//! the sync node like any order (a `refund` op, the order's version 1), so
//! linked counters see it, its history is normal and the op is idempotent by
//! its id (the new order's id). "No line is refunded beyond what was sold"
//! holds twice: refunds of one order take turns here ([`RefundTurns`]), so on
//! one server the second of two concurrent refunds reads the first one's
//! committed draft and is refused `invalid`; and the store checks it again
//! with the paid order's row locked in the transaction that writes the draft,
//! which is what holds between servers sharing one database (the loser's
//! draft alone is refused and answered `unavailable`, the rest of its group
//! commit goes in, and sent again it is refused here, `invalid`). The turn is
//! held by a task of its own until the node answers, so a client hanging up
//! cannot let the next refund read the store before its own refund is in it.
//! A paid order is refunded at most [`REFUNDS_PER_ORDER_MAX`] times (cancelled
//! refunds count): each request reads all of them.

use super::ops::{answer_response, reject_status, terminal_of};
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
use possync_core::limits::REFUNDS_PER_ORDER_MAX;
use possync_core::{
    Approval, LineId, Op, OpId, Order, OrderId, OrderState, Quantity, RefundLineRequest, Reject,
    Rights, Role, can_read, refund_lines,
};
use possync_engine::{Source, TokenKey};
use possync_protocol::{OpRequest, ServerMessage, decode_approval};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// How many refunds of different orders may be prepared at once: refunds of
/// orders whose ids fall on the same turn wait for each other, which only
/// costs a few milliseconds now and then.
const REFUND_TURNS: usize = 64;

/// Refunds of one paid order take turns on one server, from reading what its
/// other refunds bring back until the node has answered (an accepted refund
/// is durable by then), so the next one reads it.
pub struct RefundTurns([Arc<Mutex<()>>; REFUND_TURNS]);

impl Default for RefundTurns {
    fn default() -> Self {
        RefundTurns(std::array::from_fn(|_| Arc::new(Mutex::new(()))))
    }
}

impl std::fmt::Debug for RefundTurns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefundTurns")
    }
}

impl RefundTurns {
    fn of(&self, order_id: OrderId) -> &Arc<Mutex<()>> {
        let turn = (order_id.0.as_u128() % REFUND_TURNS as u128) as usize;
        &self.0[turn]
    }
}

/// The body of a refund. Unknown fields are ignored, as in ops.
#[derive(Debug, Deserialize)]
pub struct RefundBody {
    pub order_id: OrderId,
    pub lines: Vec<RefundLineRequest>,
    /// Parsed by [`decode_approval`], whose refusals never quote a PIN.
    #[serde(default)]
    pub approval: Option<Value>,
}

const NO_SUCH_ORDER: &str = "order not found";

/// A refusal decided here, before the node: the contract's error object (a
/// 429 or 503 says to try again in a second, unless a throttle said more).
fn refusal(reject: Reject) -> ApiError {
    let status = reject_status(reject.code);
    let error = ApiError::new(status, reject.code.as_str(), reject.message);
    if matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        error.with_retry_after(1)
    } else {
        error
    }
}

/// Creates a refund draft of a paid order at the caller's session.
#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/refund",
    tag = "orders",
    params(
        ("id" = uuid::Uuid, Path, description = "The paid order to refund"),
        ("x-possync-terminal" = Option<uuid::Uuid>, Header, description = "The calling terminal's id"),
    ),
    request_body = schemas::RefundBody,
    responses(
        (status = 201, description = "The refund draft: negative lines copied from the paid order, `refund_of` set; pay it with `pay` and negative amounts", body = schemas::Order),
        (status = 200, description = "The same refund asked again (same `order_id`): the draft as it is now", body = schemas::Order),
        (status = 400, description = "invalid: a line not in the order, asked twice, a quantity not above zero or beyond what is left to refund, a refund of a refund, a malformed body or approval", body = schemas::OpRefusal),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "forbidden: not a terminal token, a cashier at a restricted counter without a manager's approval, or a wrong approval", body = schemas::OpRefusal),
        (status = 404, description = "No such paid order, or not one this session may read", body = schemas::ErrorBody),
        (status = 409, description = "exists (the id is another order's, or another refund's with other lines), session_closed", body = schemas::OpRefusal),
        (status = 413, description = "too_large: the body, or a sale already refunded as many times as it may be (100, cancelled refunds included)", body = schemas::ErrorBody),
        (status = 429, description = "rate_limited: too many wrong PINs or passwords, or too many ops", body = schemas::OpRefusal,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 503, description = "unavailable: nothing was made, send the same refund again", body = schemas::OpRefusal,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn refund_order(
    State(state): State<AppState>,
    terminal: TerminalCaller,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    ApiPath(refund_of): ApiPath<OrderId>,
    ApiJson(body): ApiJson<RefundBody>,
) -> ApiResult<Response> {
    let terminal_id = terminal_of(&headers, &terminal)?;
    let claim = decode_approval(body.approval.as_ref())
        .map_err(|error| ApiError::invalid(error.message))?;
    // A draft, or a paid order this session may not read, answers exactly as
    // a missing order does: no existence leaks across unlinked counters.
    let links = state.store.load_links().await?;
    let original: Order = state
        .store
        .get_order(refund_of)
        .await?
        .filter(|order| order.state == OrderState::Paid)
        .filter(|order| can_read(order, terminal.config.id, &links))
        .ok_or_else(|| ApiError::not_found(NO_SUCH_ORDER))?;
    // The PIN is checked here, in this request's task, never in the node's loop.
    let mut approval = claim.map(|claim| Box::new(Approval::Claimed(claim)));
    verify_claim(&state.auth, &mut approval, address)
        .await
        .map_err(|refused| {
            let retry_after_s = refused.retry_after_s;
            let error = refusal(refused.reject);
            match retry_after_s {
                Some(seconds) => error.with_retry_after(seconds),
                None => error,
            }
        })?;
    let order_id = body.order_id;
    let source = Source {
        session_id: terminal.session.id,
        config_id: terminal.config.id,
        terminal: terminal_id,
        role: terminal.user.role,
    };
    let restricted = terminal.user.role == Role::Cashier && terminal.config.restrict_price_control;
    let token = TokenKey::new(&terminal.token_hash);
    // From reading the other refunds until the node has answered, in a task
    // of its own that holds the turn: a client that hangs up mid-request
    // cannot release the turn while its refund is still on its way to the
    // store, so the next refund of the order always reads it.
    let turn = Arc::clone(state.refund_turns.of(refund_of))
        .lock_owned()
        .await;
    let prepared = tokio::spawn({
        let state = state.clone();
        let requested = body.lines.clone();
        async move {
            let _turn = turn;
            let refunds = state.store.refunds_of(refund_of).await?;
            if refunds.len() >= REFUNDS_PER_ORDER_MAX
                && !refunds.iter().any(|refund| refund.id == order_id)
            {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("a sale is refunded in at most {REFUNDS_PER_ORDER_MAX} refunds"),
                ));
            }
            // The draft being asked for again (same id) is not one of the "other" refunds.
            let others: Vec<Order> = refunds
                .into_iter()
                .filter(|refund| refund.id != order_id)
                .collect();
            let lines = refund_lines(&original, &others, &requested).map_err(refusal)?;
            let op = Op::Refund { refund_of, lines };
            // The node decides the same rule; checking it here first keeps a
            // refusal for lack of rights from becoming the final answer of
            // this order id, so the till can ask again with the manager's
            // approval under the same id.
            let rights = Rights {
                price_control_restricted: restricted,
                approved_by: Approval::verified_user(approval.as_deref()),
            };
            rights.check(&op).map_err(refusal)?;
            let request = OpRequest {
                // The order's id is the op's idempotency key: one refund per id.
                op_id: OpId(order_id.0),
                order_id,
                op,
                approval,
            };
            state
                .sync
                .op(token, source, request)
                .await
                .map_err(ApiError::unavailable)
        }
    });
    let answer = prepared.await.map_err(|error| {
        tracing::error!(%error, "a refund's task ended without an answer");
        ApiError::unavailable("the refund could not be made now; send it again")
    })??;
    let ServerMessage::Ack { duplicate, .. } = answer else {
        return Ok(answer_response(answer));
    };
    // Acknowledged means durable: the store holds the draft now. The same id
    // asked again answers the draft it made, if it is the same refund.
    let asked_again_for = |refund: &Order| {
        let made: BTreeMap<LineId, Quantity> = refund
            .lines
            .iter()
            .map(|line| (line.id, -line.qty))
            .collect();
        let asked: BTreeMap<LineId, Quantity> = body
            .lines
            .iter()
            .map(|line| (line.line_id, line.qty))
            .collect();
        made == asked
    };
    let refund = state
        .store
        .get_order(order_id)
        .await?
        .filter(|order| order.refund_of == Some(refund_of))
        .filter(|order| !duplicate || asked_again_for(order))
        .ok_or_else(|| {
            ApiError::conflict(
                "exists",
                "this order id was used for another order or refund: ask again with a new id",
            )
        })?;
    let status = if duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(refund)).into_response())
}
