//! After payment: the shop's header (`/shop`), a paid order's receipt (JSON or
//! printable HTML), its invoice (JSON), and the cash moves of a session.
//!
//! A paid order is readable by the terminals of its origin config and of the
//! config whose session took the payment (`possync_core::can_read`), and by a
//! manager; anyone else gets 404 and learns nothing.

use crate::auth::{Caller, ManagerCaller};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use possync_core::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

const NO_SUCH_ORDER: &str = "order not found";

/// The shop's header, as receipts and invoices show it.
#[utoipa::path(
    get,
    path = "/api/v1/shop",
    tag = "after payment",
    responses(
        (status = 200, description = "The shop", body = schemas::Shop),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
    )
)]
pub async fn get_shop(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<Shop>> {
    Ok(Json(state.store.get_shop().await?))
}

/// Changes the shop's header; absent fields stay as they are.
#[utoipa::path(
    patch,
    path = "/api/v1/shop",
    tag = "after payment",
    request_body = schemas::ShopChanges,
    responses(
        (status = 200, description = "The shop after the change", body = schemas::Shop),
        (status = 400, description = "Invalid body", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
    )
)]
pub async fn update_shop(
    State(state): State<AppState>,
    ManagerCaller(user): ManagerCaller,
    ApiJson(changes): ApiJson<ShopChanges>,
) -> ApiResult<Json<Shop>> {
    let shop = state.store.update_shop(changes).await?;
    tracing::info!(user = %user.login.as_str(), "shop header changed");
    Ok(Json(shop))
}

/// A paid order the caller may read: terminals of the origin or paying config,
/// or a manager. Drafts and cancelled orders have no receipt (404).
pub(crate) async fn readable_paid_order(
    state: &AppState,
    caller: &Caller,
    order_id: OrderId,
) -> ApiResult<Order> {
    if let Caller::User(user) = caller
        && user.role != Role::Manager
    {
        return Err(ApiError::forbidden(
            "a cashier reads receipts through a terminal session",
        ));
    }
    let order = state
        .store
        .get_order(order_id)
        .await?
        .filter(|order| order.state == OrderState::Paid)
        .ok_or_else(|| ApiError::not_found(NO_SUCH_ORDER))?;
    if let Caller::Terminal(terminal) = caller {
        let links = state.store.load_links().await?;
        if !can_read(&order, terminal.config.id, &links) {
            return Err(ApiError::not_found(NO_SUCH_ORDER));
        }
    }
    Ok(order)
}

/// The receipt of a paid order, with every name looked up.
pub(crate) async fn receipt_of(state: &AppState, order: &Order) -> ApiResult<Receipt> {
    receipt_from_store(state.store.as_ref(), order).await
}

/// [`receipt_of`] from the store alone: what the print task builds receipts with.
pub(crate) async fn receipt_from_store(
    store: &dyn possync_store::Store,
    order: &Order,
) -> ApiResult<Receipt> {
    let receipt_number = store.receipt_number(order.id).await?;
    let shop = store.get_shop().await?;
    let names = ReceiptNames {
        origin_config_name: match store.get_config(order.origin.config_id).await {
            Ok(config) => Some(config.name),
            Err(possync_store::StoreError::NotFound(_)) => None,
            Err(error) => return Err(error.into()),
        },
        customer_name: match order.customer_id {
            Some(customer_id) => match store.get_customer(customer_id).await {
                Ok(customer) => Some(customer.name),
                Err(possync_store::StoreError::NotFound(_)) => None,
                Err(error) => return Err(error.into()),
            },
            None => None,
        },
        tax_names: store
            .list_taxes()
            .await?
            .into_iter()
            .map(|tax| (tax.id, tax.name))
            .collect::<BTreeMap<_, _>>(),
        method_names: store
            .list_payment_methods()
            .await?
            .into_iter()
            .map(|method| (method.id, method.name))
            .collect::<BTreeMap<_, _>>(),
        invoice: store.invoice_of_order(order.id).await?,
    };
    build_receipt(order, receipt_number, &shop, &names).map_err(ApiError::internal)
}

/// `?format=json` (or `Accept: application/json`) asks for the receipt as JSON.
#[derive(Debug, Default, Deserialize)]
pub struct ReceiptQuery {
    #[serde(default)]
    pub format: Option<ReceiptFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptFormat {
    Html,
    Json,
}

fn wants_json(query: &ReceiptQuery, headers: &HeaderMap) -> bool {
    match query.format {
        Some(format) => format == ReceiptFormat::Json,
        None => headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| {
                accept.contains("application/json") && !accept.contains("text/html")
            }),
    }
}

/// The printable receipt of a paid order: HTML by default, JSON with
/// `?format=json` or `Accept: application/json`.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/receipt",
    tag = "after payment",
    params(
        ("id" = uuid::Uuid, Path, description = "Order id"),
        ("format" = Option<String>, Query, description = "html (the default) or json"),
    ),
    responses(
        (status = 200, description = "The receipt", content(
            (String = "text/html"),
            (schemas::Receipt = "application/json"),
        )),
        (status = 400, description = "Not a UUID, or an unknown format", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A cashier's user token (use a terminal token)", body = schemas::ErrorBody),
        (status = 404, description = "No such paid order, or not readable by this terminal", body = schemas::ErrorBody),
    )
)]
pub async fn order_receipt(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(order_id): ApiPath<OrderId>,
    ApiQuery(query): ApiQuery<ReceiptQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let order = readable_paid_order(&state, &caller, order_id).await?;
    let receipt = receipt_of(&state, &order).await?;
    if wants_json(&query, &headers) {
        return Ok(Json(receipt).into_response());
    }
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        receipt_html(&receipt),
    )
        .into_response())
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Text with its line breaks kept, escaped.
fn escape_lines(text: &str) -> String {
    text.lines().map(escape).collect::<Vec<_>>().join("<br>")
}

/// The receipt as a standalone printable HTML page (80 mm wide when printed).
pub fn receipt_html(receipt: &Receipt) -> String {
    let mut html = String::new();
    let title = receipt
        .receipt_number
        .clone()
        .unwrap_or_else(|| receipt.reference.clone());
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Receipt {}</title>\
         <style>body{{font-family:monospace;max-width:80mm;margin:0 auto;padding:4mm}}\
         table{{width:100%;border-collapse:collapse}}td.num{{text-align:right}}\
         header,footer{{text-align:center}}.total td{{font-weight:bold;border-top:1px solid}}\
         .sub td{{font-size:90%;color:#444}}</style></head><body><article class=\"receipt\">",
        escape(&title)
    );
    let shop = &receipt.shop;
    let _ = write!(
        html,
        "<header><h1 data-field=\"shop-name\">{}</h1>",
        escape(shop.name.as_str())
    );
    if !shop.address.is_empty() {
        let _ = write!(
            html,
            "<div data-field=\"shop-address\">{}</div>",
            escape_lines(shop.address.as_str())
        );
    }
    if !shop.vat_number.is_empty() {
        let _ = write!(
            html,
            "<div data-field=\"vat-number\">VAT {}</div>",
            escape(shop.vat_number.as_str())
        );
    }
    html.push_str("</header><section>");
    if let Some(number) = &receipt.receipt_number {
        let _ = write!(
            html,
            "<div data-field=\"receipt-number\">Receipt {}</div>",
            escape(number)
        );
    }
    let _ = write!(
        html,
        "<div data-field=\"reference\">{}</div><div data-field=\"paid-on\">{}</div>\
         <div data-field=\"started-at\">Started at {}</div><div data-field=\"paid-at\">Paid at {}</div>",
        escape(&receipt.reference),
        receipt.paid_on,
        escape(&receipt.started_at.name),
        escape(&receipt.paid_at.name),
    );
    if let Some(customer) = &receipt.customer_name {
        let _ = write!(
            html,
            "<div data-field=\"customer\">Customer: {}</div>",
            escape(customer)
        );
    }
    html.push_str("</section><table class=\"lines\"><tbody>");
    for line in &receipt.lines {
        let _ = write!(
            html,
            "<tr class=\"line\"><td>{}</td><td class=\"num\">{}</td></tr><tr class=\"sub\"><td colspan=\"2\">{} × {}",
            escape(line.name.as_str()),
            line.total,
            line.qty,
            line.unit_price
        );
        if line.discount != Discount::ZERO {
            let _ = write!(html, " −{}%", line.discount);
        }
        if !line.note.is_empty() {
            let _ = write!(html, " · {}", escape(line.note.as_str()));
        }
        html.push_str("</td></tr>");
    }
    let _ = write!(
        html,
        "</tbody></table><table class=\"totals\"><tbody>\
         <tr><td>Untaxed</td><td class=\"num\" data-field=\"subtotal\">{}</td></tr>",
        receipt.subtotal
    );
    for tax in &receipt.taxes {
        let _ = write!(
            html,
            "<tr class=\"tax\"><td>{} on {}</td><td class=\"num\">{}</td></tr>",
            escape(&tax.name),
            tax.base,
            tax.amount
        );
    }
    let _ = write!(
        html,
        "<tr class=\"total\"><td>Total</td><td class=\"num\" data-field=\"total\">{}</td></tr>",
        receipt.total
    );
    for payment in &receipt.payments {
        let _ = write!(
            html,
            "<tr class=\"payment\"><td>{}</td><td class=\"num\">{}</td></tr>",
            escape(&payment.name),
            payment.amount
        );
    }
    let _ = write!(
        html,
        "<tr><td>Change</td><td class=\"num\" data-field=\"change\">{}</td></tr></tbody></table>",
        receipt.change
    );
    if let Some(invoice) = &receipt.invoice {
        let _ = write!(
            html,
            "<p data-field=\"invoice\">Invoice {}</p>",
            escape(&invoice.number)
        );
    }
    if !receipt.note.is_empty() {
        let _ = write!(html, "<p>{}</p>", escape_lines(receipt.note.as_str()));
    }
    let _ = write!(
        html,
        "<footer data-field=\"footer\">{}</footer></article></body></html>",
        escape_lines(shop.receipt_footer.as_str())
    );
    html
}

/// A cash move: cash put into (positive) or taken out of (negative) the drawer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashMoveRequest {
    /// Minor units, signed, never zero.
    #[schema(value_type = i64)]
    pub amount: Money,
    /// Why (a float, a bank drop); 1 to 1,000 characters.
    #[schema(value_type = String)]
    pub reason: Note,
}

/// Records cash put into or taken out of the drawer of an open session.
/// A manager, a terminal of that session, or the user who opened it may.
#[utoipa::path(
    post,
    path = "/api/v1/sessions/{id}/cash_moves",
    tag = "sessions",
    params(("id" = i64, Path, description = "Session id")),
    request_body = CashMoveRequest,
    responses(
        (status = 201, description = "Recorded", body = schemas::CashMove),
        (status = 400, description = "Invalid body (a zero amount, an empty reason)", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager nor a user of that session", body = schemas::ErrorBody),
        (status = 404, description = "No such session", body = schemas::ErrorBody),
        (status = 409, description = "The session is closed (code `session_closed`)", body = schemas::ErrorBody),
    )
)]
pub async fn add_cash_move(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(session_id): ApiPath<SessionId>,
    ApiJson(request): ApiJson<CashMoveRequest>,
) -> ApiResult<(StatusCode, Json<CashMove>)> {
    if request.amount == Money::ZERO {
        return Err(ApiError::invalid("a cash move needs a non-zero amount"));
    }
    if request.reason.as_str().trim().is_empty() {
        return Err(ApiError::invalid("a cash move needs a reason"));
    }
    let session = state.store.get_session(session_id).await?;
    let allowed = match &caller {
        Caller::User(user) => user.role == Role::Manager || user.id == session.opened_by,
        Caller::Terminal(terminal) => terminal.session.id == session_id,
    };
    if !allowed {
        return Err(ApiError::forbidden(
            "only a manager or a user of this session may move its cash",
        ));
    }
    let now = state.clock.now();
    let cash_move = state
        .store
        .add_cash_move(
            session_id,
            request.amount,
            &request.reason,
            caller.user().id,
            now,
        )
        .await?;
    tracing::info!(%session_id, amount = %request.amount, user = %caller.user().login.as_str(), "cash move");
    Ok((StatusCode::CREATED, Json(cash_move)))
}
