//! Stock (issue 12, point 4): a product's moves, newest first and paged
//! (`GET /products/{id}/stock_moves`), and adjustments by hand, a count, a
//! delivery, damage, a loss or a correction (`POST /products/{id}/stock_moves`).
//!
//! Both are for managers: moves name orders of every counter and the staff who
//! adjusted, which is back-office knowledge; a till reads stock levels through
//! `GET /products`. What an adjustment moves is decided by
//! `possync_core::plan_stock_adjustment`; every adjustment goes to the audit trail.

use super::audit;
use super::paging::{page_limit, page_response, split_page};
use crate::auth::ManagerCaller;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::schemas;
use crate::state::{AppState, ShopChange};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use possync_core::*;
use serde::{Deserialize, Serialize};

/// The query of `GET /products/{id}/stock_moves`.
#[derive(Debug, Default, Deserialize)]
pub struct StockMovesQuery {
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only moves with a lower id (from a next link).
    #[serde(default)]
    pub before: Option<i64>,
}

/// What `POST /products/{id}/stock_moves` answers.
#[derive(Debug, Serialize)]
pub struct StockAdjusted {
    #[serde(rename = "move")]
    pub stock_move: StockMoveEntry,
    pub on_hand: Quantity,
}

/// A product's stock moves (sales, refunds, adjustments), newest first, paged.
#[utoipa::path(
    get,
    path = "/api/v1/products/{id}/stock_moves",
    tag = "stock",
    params(
        ("id" = i64, Path, description = "Product id"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Moves per page (default 200)"),
        ("before" = Option<i64>, Query, description = "Only moves with a lower id, as given by the `Link` header of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of moves, newest first", body = Vec<schemas::StockMoveEntry>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when more remain"))),
        (status = 400, description = "A limit out of range or a bad `before`", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
        (status = 404, description = "No such product", body = schemas::ErrorBody),
    )
)]
pub async fn list_stock_moves(
    State(state): State<AppState>,
    _manager: ManagerCaller,
    ApiPath(product_id): ApiPath<ProductId>,
    ApiQuery(query): ApiQuery<StockMovesQuery>,
) -> ApiResult<Response> {
    let limit = page_limit(query.limit)?;
    let moves = state
        .store
        .list_stock_moves_page(product_id, query.before, limit + 1)
        .await?;
    let (moves, more) = split_page(moves, limit);
    let path = format!("/api/v1/products/{product_id}/stock_moves");
    let next = more
        .then(|| moves.last().map(|stock_move| stock_move.id))
        .flatten()
        .map(|id| {
            (
                path.as_str(),
                vec![("limit", limit.to_string()), ("before", id.to_string())],
            )
        });
    Ok(page_response(moves, next))
}

/// Adjusts a tracked product's stock by hand; the move names the manager and the reason.
#[utoipa::path(
    post,
    path = "/api/v1/products/{id}/stock_moves",
    tag = "stock",
    params(("id" = i64, Path, description = "Product id")),
    request_body = schemas::StockAdjustmentInput,
    responses(
        (status = 201, description = "The move, and the stock on hand after it", body = schemas::StockAdjusted),
        (status = 400, description = "A bad body, an untracked product, or a quantity the reason does not allow (the message says which)", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
        (status = 404, description = "No such product", body = schemas::ErrorBody),
        (status = 413, description = "Body too large", body = schemas::ErrorBody),
    )
)]
pub async fn adjust_stock(
    State(state): State<AppState>,
    ManagerCaller(manager): ManagerCaller,
    ApiPath(product_id): ApiPath<ProductId>,
    ApiJson(input): ApiJson<StockAdjustmentInput>,
) -> ApiResult<(StatusCode, Json<StockAdjusted>)> {
    let adjusted = record_adjustment(&state, &manager, product_id, &input).await?;
    Ok((StatusCode::CREATED, Json(adjusted)))
}

/// Writes an adjustment, tells live sync the catalog moved, and audits it.
pub async fn record_adjustment(
    state: &AppState,
    manager: &User,
    product_id: ProductId,
    input: &StockAdjustmentInput,
) -> ApiResult<StockAdjusted> {
    let (stock_move, product) = state
        .store
        .adjust_stock(product_id, input, manager.id, state.clock.now())
        .await?;
    state.notify(ShopChange::Catalog).await;
    tracing::info!(%product_id, qty = %stock_move.qty, reason = input.reason.as_str(), by = %manager.login.as_str(), "stock adjusted");
    audit::record(
        state,
        manager,
        "stock.adjust",
        format!("product {product_id}"),
        serde_json::json!({
            "reason": input.reason,
            "qty": stock_move.qty,
            "note": input.note,
            "on_hand": product.on_hand,
        }),
    )
    .await;
    Ok(StockAdjusted {
        on_hand: product.on_hand,
        stock_move,
    })
}
