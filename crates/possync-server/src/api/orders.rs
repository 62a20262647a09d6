//! Reading orders. A terminal sees exactly what `possync_core::can_read` allows
//! its config; anything else is 404, so a terminal cannot learn that an order of
//! an unlinked counter exists. A manager's user token reads every order.
//!
//! Edits (`POST /api/v1/orders/{id}/ops`) and live updates go through the sync engine.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use possync_core::{Order, OrderId, OrderState, Role, can_read};
use possync_store::HistoryEntry;
use serde::Deserialize;

/// The query of `GET /orders`. Unknown parameters are ignored: `token` may ride along.
#[derive(Debug, Default, Deserialize)]
pub struct OrdersQuery {
    #[serde(default)]
    pub state: Option<OrderState>,
}

const NO_SUCH_ORDER: &str = "order not found";

/// Loads an order the caller may read, or answers 404 (for terminals, also when it exists
/// but is not theirs to see) or 403 (a cashier's user token).
async fn readable_order(
    state: &AppState,
    caller: &Caller,
    order_id: OrderId,
    cashier_may_read: bool,
) -> ApiResult<Order> {
    if let Caller::User(user) = caller
        && user.role != Role::Manager
        && !cashier_may_read
    {
        return Err(ApiError::forbidden(
            "a cashier reads orders through a terminal session",
        ));
    }
    let order = state
        .store
        .get_order(order_id)
        .await?
        .ok_or_else(|| ApiError::not_found(NO_SUCH_ORDER))?;
    if let Caller::Terminal(terminal) = caller {
        let links = state.store.load_links().await?;
        if !can_read(&order, terminal.config.id, &links) {
            return Err(ApiError::not_found(NO_SUCH_ORDER));
        }
    }
    Ok(order)
}

/// The orders in a state (drafts by default) that the caller may see: for a terminal,
/// those of its config and the shared drafts of linked configs; for a manager, all.
#[utoipa::path(
    get,
    path = "/api/v1/orders",
    tag = "orders",
    params(("state" = Option<schemas::OrderState>, Query, description = "draft (the default), paid or cancelled")),
    responses(
        (status = 200, description = "The visible orders, oldest first", body = Vec<schemas::Order>),
        (status = 400, description = "Unknown state", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A cashier's user token (use a terminal token)", body = schemas::ErrorBody),
    )
)]
pub async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<OrdersQuery>,
) -> ApiResult<Json<Vec<Order>>> {
    let order_state = query.state.unwrap_or(OrderState::Draft);
    match caller {
        Caller::Terminal(terminal) => {
            let orders = state.store.list_orders(order_state).await?;
            let links = state.store.load_links().await?;
            let visible = orders
                .into_iter()
                .filter(|order| can_read(order, terminal.config.id, &links))
                .collect();
            Ok(Json(visible))
        }
        Caller::User(user) if user.role == Role::Manager => {
            Ok(Json(state.store.list_orders(order_state).await?))
        }
        Caller::User(_) => Err(ApiError::forbidden(
            "a cashier reads orders through a terminal session",
        )),
    }
}

/// One order.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}",
    tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = schemas::Order),
        (status = 400, description = "Not a UUID", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A cashier's user token (use a terminal token)", body = schemas::ErrorBody),
        (status = 404, description = "No such order, or not visible to this terminal", body = schemas::ErrorBody),
    )
)]
pub async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(order_id): ApiPath<OrderId>,
) -> ApiResult<Json<Order>> {
    Ok(Json(
        readable_order(&state, &caller, order_id, false).await?,
    ))
}

/// Every accepted op of an order, in version order.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/history",
    tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order's ops, version 1 first", body = Vec<schemas::HistoryEntry>),
        (status = 400, description = "Not a UUID", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 404, description = "No such order, or not visible to this terminal", body = schemas::ErrorBody),
    )
)]
pub async fn order_history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(order_id): ApiPath<OrderId>,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    // Any back-office user may audit an order's history; a terminal only what it may read.
    readable_order(&state, &caller, order_id, true).await?;
    Ok(Json(state.store.order_history(order_id).await?))
}
