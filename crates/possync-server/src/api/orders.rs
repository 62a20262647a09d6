//! Reading orders. A terminal sees exactly what `possync_core::can_read` allows
//! its config; anything else is 404, so a terminal cannot learn that an order of
//! an unlinked counter exists. A manager's user token reads every order.
//!
//! Edits (`POST /api/v1/orders/{id}/ops`) and live updates go through the sync engine.

use super::paging::{
    decode_order_cursor, encode_order_cursor, page_limit, page_response, split_page,
};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use possync_core::{ConfigId, Order, OrderId, OrderState, Role, can_read};
use possync_store::{HistoryEntry, OrderCursor, OrdersPage, ReadableBy};
use serde::Deserialize;

/// The query of `GET /orders`. Unknown parameters are ignored: `token` may ride along.
#[derive(Debug, Default, Deserialize)]
pub struct OrdersQuery {
    #[serde(default)]
    pub state: Option<OrderState>,
    /// Orders per page (default 200, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Where the page starts: the cursor of a `Link: rel="next"` URL.
    #[serde(default)]
    pub after: Option<String>,
}

/// The query of `GET /orders/{id}/history`.
#[derive(Debug, Default, Deserialize)]
pub struct HistoryQuery {
    #[serde(default)]
    pub limit: Option<u32>,
    /// The page starts after this version.
    #[serde(default)]
    pub after: Option<u64>,
}

const NO_SUCH_ORDER: &str = "order not found";

/// Loads an order the caller may read, or answers 404 (for terminals, also when it exists
/// but is not theirs to see) or 403 (a cashier's user token).
async fn readable_order(state: &AppState, caller: &Caller, order_id: OrderId) -> ApiResult<Order> {
    if let Caller::User(user) = caller
        && user.role != Role::Manager
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
/// those of its config and the shared drafts of linked configs (paid: those it made
/// or was paid at; cancelled: those it made); for a manager, all. Paged: drafts
/// oldest first, paid and cancelled newest first.
#[utoipa::path(
    get,
    path = "/api/v1/orders",
    tag = "orders",
    params(
        ("state" = Option<schemas::OrderState>, Query, description = "draft (the default), paid or cancelled"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Orders per page (default 200)"),
        ("after" = Option<String>, Query, description = "Where the page starts, as given by the `Link` header of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of the visible orders: drafts oldest first, paid and cancelled newest first", body = Vec<schemas::Order>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when more remain"))),
        (status = 400, description = "Unknown state, a limit out of range or a bad cursor", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A cashier's user token (use a terminal token)", body = schemas::ErrorBody),
    )
)]
pub async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<OrdersQuery>,
) -> ApiResult<Response> {
    let order_state = query.state.unwrap_or(OrderState::Draft);
    let limit = page_limit(query.limit)?;
    let after = query
        .after
        .as_deref()
        .map(decode_order_cursor)
        .transpose()?;
    let (config_id, links) = match &caller {
        Caller::Terminal(terminal) => (
            Some(terminal.config.id),
            Some(state.store.load_links().await?),
        ),
        Caller::User(user) if user.role == Role::Manager => (None, None),
        Caller::User(_) => {
            return Err(ApiError::forbidden(
                "a cashier reads orders through a terminal session",
            ));
        }
    };
    let linked: Vec<ConfigId> = match (config_id, &links) {
        (Some(config_id), Some(links)) => links.sync_with(config_id),
        _ => Vec::new(),
    };
    let page = OrdersPage {
        state: order_state,
        after,
        // One more than asked tells whether another page follows.
        limit: limit + 1,
        readable_by: config_id.map(|config_id| ReadableBy {
            config_id,
            linked: &linked,
        }),
    };
    let (orders, more) = split_page(state.store.list_orders_page(&page).await?, limit);
    let next = more
        .then(|| orders.last().map(OrderCursor::after))
        .flatten()
        .map(|cursor| {
            (
                "/api/v1/orders",
                vec![
                    ("state", order_state.as_str().to_owned()),
                    ("limit", limit.to_string()),
                    ("after", encode_order_cursor(cursor)),
                ],
            )
        });
    // The store's filter is the visibility rule in SQL; the rule itself has the last word.
    let orders: Vec<Order> = match (config_id, &links) {
        (Some(config_id), Some(links)) => orders
            .into_iter()
            .filter(|order| can_read(order, config_id, links))
            .collect(),
        _ => orders,
    };
    Ok(page_response(orders, next))
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
    Ok(Json(readable_order(&state, &caller, order_id).await?))
}

/// The accepted ops of an order, in version order, paged. With a user token,
/// managers only; with a terminal token, the orders that session may read.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/history",
    tag = "orders",
    params(
        ("id" = uuid::Uuid, Path, description = "Order id"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Ops per page (default 200)"),
        ("after" = Option<u64>, Query, description = "The page starts after this version"),
    ),
    responses(
        (status = 200, description = "One page of the order's ops, oldest first", body = Vec<schemas::HistoryEntry>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when more remain"))),
        (status = 400, description = "Not a UUID, a limit out of range or a bad `after`", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A cashier's user token (use a terminal token)", body = schemas::ErrorBody),
        (status = 404, description = "No such order, or not visible to this terminal", body = schemas::ErrorBody),
    )
)]
pub async fn order_history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(order_id): ApiPath<OrderId>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Response> {
    let limit = page_limit(query.limit)?;
    readable_order(&state, &caller, order_id).await?;
    let after = query.after.unwrap_or(0);
    let entries = state
        .store
        .order_history_page(order_id, after, limit + 1)
        .await?;
    let (entries, more): (Vec<HistoryEntry>, bool) = split_page(entries, limit);
    let path = format!("/api/v1/orders/{order_id}/history");
    let next = more
        .then(|| entries.last().map(|entry| entry.version))
        .flatten()
        .map(|version| {
            (
                path.as_str(),
                vec![("limit", limit.to_string()), ("after", version.to_string())],
            )
        });
    Ok(page_response(entries, next))
}
