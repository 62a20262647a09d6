//! The HTTP API under `/api/v1`: route registration, the OpenAPI document, and
//! the layers every request passes through.
//!
//! **Every route is registered in [`routes`] with `utoipa_axum::routes!`**, which
//! puts the handler in the router and its `#[utoipa::path]` in the OpenAPI
//! document in one step. A route added with plain `Router::route` would be
//! missing from the document, and `tests/openapi.rs` would fail.

pub mod audit;
pub mod catalog;
pub mod configs;
pub mod invoices;
pub mod login;
pub mod metrics;
pub mod orders;
pub mod paging;
pub mod printing;
pub mod receipts;
pub mod reports;
pub mod sessions;
pub mod stock;
pub mod system;
pub mod users;

use crate::auth::token::redacted_uri;
use crate::error::{ApiError, NO_SUCH_ROUTE_MESSAGE};
use crate::openapi::ApiDoc;
use crate::state::AppState;
use crate::web;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::any::Any;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The API base path.
pub const API_PREFIX: &str = "/api/v1";

/// Every documented route. Handlers with the same path but different methods may
/// share one `routes!` call.
///
/// The live sync routes (`POST /api/v1/orders/{id}/ops`, `GET /api/v1/sync`) join
/// here from `crate::sync`: give each handler a `#[utoipa::path]` and add
/// `.routes(routes!(sync::post_op))` (or `.merge(sync::routes())` returning an
/// `OpenApiRouter<AppState>`) below the orders routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::healthz))
        .routes(routes!(system::api_healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(system::api_readyz))
        .routes(routes!(system::openapi_json))
        .routes(routes!(login::login))
        .routes(routes!(login::me))
        .routes(routes!(login::logout))
        .routes(routes!(configs::list_configs, configs::create_config))
        .routes(routes!(configs::get_config, configs::update_config))
        .routes(routes!(configs::set_sync_with))
        .routes(routes!(catalog::list_products, catalog::create_product))
        .routes(routes!(catalog::get_product, catalog::update_product))
        .routes(routes!(catalog::list_categories, catalog::create_category))
        .routes(routes!(catalog::get_category, catalog::update_category))
        .routes(routes!(catalog::list_taxes, catalog::create_tax))
        .routes(routes!(catalog::get_tax, catalog::update_tax))
        .routes(routes!(catalog::list_customers, catalog::create_customer))
        .routes(routes!(catalog::get_customer, catalog::update_customer))
        .routes(routes!(
            catalog::list_payment_methods,
            catalog::create_payment_method
        ))
        .routes(routes!(
            catalog::get_payment_method,
            catalog::update_payment_method
        ))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user, users::update_user))
        .routes(routes!(users::list_approvers))
        .routes(routes!(sessions::list_sessions, sessions::open_session))
        .routes(routes!(sessions::close_session))
        .routes(routes!(sessions::session_report))
        .routes(routes!(orders::list_orders))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::order_history))
        .routes(routes!(crate::sync::ops::post_op))
        .routes(routes!(crate::sync::refund::refund_order))
        .routes(routes!(crate::sync::websocket::sync_socket))
        .routes(routes!(metrics::metrics))
        // After payment (issue 12).
        .routes(routes!(receipts::get_shop, receipts::update_shop))
        .routes(routes!(receipts::order_receipt))
        .routes(routes!(receipts::add_cash_move))
        .routes(routes!(invoices::list_invoices))
        .routes(routes!(invoices::get_invoice))
        .routes(routes!(invoices::invoice_pdf))
        .routes(routes!(audit::list_audit))
        .routes(routes!(stock::list_stock_moves, stock::adjust_stock))
        .routes(routes!(reports::sales))
        .routes(routes!(printing::printer_status))
        .routes(routes!(printing::print_order))
        .routes(routes!(printing::print_session_report))
}

/// The OpenAPI document of [`routes`], as served at `/api/v1/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The serialized OpenAPI document, shared by the handler that serves it.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub Arc<String>);

/// The whole application with its layers and fallbacks.
pub fn application(state: AppState) -> Router {
    let body_bytes_max = state.config.body_bytes_max;
    let (api_router, mut document) = routes().split_for_parts();
    crate::openapi::mark_optional_bodies(&mut document);
    // Serializing a document built from static attributes cannot fail in practice;
    // if it ever does, the endpoint says so instead of the server refusing to start.
    let document_json = document.to_pretty_json().unwrap_or_else(|error| {
        format!("{{\"error\":{{\"code\":\"internal\",\"message\":\"{error}\"}}}}")
    });
    api_router
        .layer(axum::Extension(OpenApiJson(Arc::new(document_json))))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_bytes_max))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span every request is logged in. Its URL has any `?token=` value
/// redacted: a token in a log file would let its reader in.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %redacted_uri(request.uri()),
        version = ?request.version(),
    )
}

/// Unknown routes: the web POS's files outside `/api`, a JSON 404 everywhere else.
async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let is_api = path == "/api" || path.starts_with("/api/");
    if !is_api
        && (method == Method::GET || method == Method::HEAD)
        && let Some(response) = web::static_file(path)
    {
        return response;
    }
    ApiError::not_found(NO_SUCH_ROUTE_MESSAGE).into_response()
}

async fn method_not_allowed(method: Method) -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid",
        format!("method {method} is not allowed on this route"),
    )
    .into_response()
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let cause = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::internal(format!("handler panicked: {cause}")).into_response()
}
