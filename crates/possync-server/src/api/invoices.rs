//! Invoices: the back office's paged list, one invoice as JSON, and its PDF.
//!
//! An invoice shows its order's receipt figures (`possync_core::build_invoice`),
//! so the PDF, the JSON and the order agree to the minor unit. A manager reads
//! every invoice; a terminal those of orders it may read (the origin and paying
//! configs); anyone else gets 404.

use super::receipts::{readable_paid_order, receipt_of};
use crate::auth::{Caller, ManagerCaller};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use possync_core::*;
use serde::{Deserialize, Serialize};

const NO_SUCH_INVOICE: &str = "invoice not found";
/// Invoices per page by default and at most (as for orders, PROTOCOL.md "Paging").
const INVOICES_PER_PAGE_DEFAULT: u32 = 200;
const INVOICES_PER_PAGE_MAX: u32 = 1_000;

/// The query of `GET /invoices`. Unknown parameters are ignored: `token` may ride along.
#[derive(Debug, Default, Deserialize)]
pub struct InvoicesQuery {
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only invoices numbered below this one (the next page's cursor).
    #[serde(default)]
    pub before: Option<u64>,
}

/// An invoice in the list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceSummary {
    pub id: u64,
    /// `INV/<year>/<NNNNN>`.
    pub number: String,
    #[schema(value_type = uuid::Uuid)]
    pub order_id: OrderId,
    #[schema(value_type = i64)]
    pub customer_id: CustomerId,
    #[schema(value_type = i64)]
    pub total: Money,
    #[schema(value_type = String)]
    pub at: Timestamp,
}

/// Every invoice, newest first, paged with `limit` (default 200, at most 1,000)
/// and a `Link: <...>; rel="next"` header while more remain.
#[utoipa::path(
    get,
    path = "/api/v1/invoices",
    tag = "after payment",
    params(
        ("limit" = Option<u32>, Query, description = "Invoices per page, 1 to 1000 (default 200)"),
        ("before" = Option<u64>, Query, description = "Only invoices with a lower id (the next page)"),
    ),
    responses(
        (status = 200, description = "A page of invoices, newest first", body = Vec<InvoiceSummary>),
        (status = 400, description = "Bad limit", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
    )
)]
pub async fn list_invoices(
    State(state): State<AppState>,
    _manager: ManagerCaller,
    ApiQuery(query): ApiQuery<InvoicesQuery>,
) -> ApiResult<Response> {
    if query.before.is_some_and(|before| before > i64::MAX as u64) {
        return Err(ApiError::invalid(format!(
            "before must be an invoice id, 0 to {}",
            i64::MAX
        )));
    }
    let limit = query.limit.unwrap_or(INVOICES_PER_PAGE_DEFAULT);
    if !(1..=INVOICES_PER_PAGE_MAX).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit must be 1 to {INVOICES_PER_PAGE_MAX}"
        )));
    }
    // One more than asked tells whether a next page exists.
    let mut invoices = state
        .store
        .list_invoices_page(query.before, limit + 1)
        .await?;
    let more = invoices.len() > limit as usize;
    invoices.truncate(limit as usize);
    let next = invoices.last().filter(|_| more).map(|last| {
        format!(
            "</api/v1/invoices?limit={limit}&before={}>; rel=\"next\"",
            last.number
        )
    });
    let page: Vec<InvoiceSummary> = invoices
        .into_iter()
        .map(|invoice| InvoiceSummary {
            id: invoice.number,
            number: invoice_number(invoice.number, invoice.at),
            order_id: invoice.order_id,
            customer_id: invoice.customer_id,
            total: invoice.total,
            at: invoice.at,
        })
        .collect();
    let mut response = Json(page).into_response();
    if let Some(next) = next
        && let Ok(value) = HeaderValue::from_str(&next)
    {
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

async fn readable_invoice(
    state: &AppState,
    caller: &Caller,
    invoice_id: u64,
) -> ApiResult<InvoiceDocument> {
    let invoice = state
        .store
        .get_invoice(invoice_id)
        .await?
        .ok_or_else(|| ApiError::not_found(NO_SUCH_INVOICE))?;
    let order = readable_paid_order(state, caller, invoice.order_id)
        .await
        .map_err(|error| {
            if error.status == StatusCode::NOT_FOUND {
                ApiError::not_found(NO_SUCH_INVOICE)
            } else {
                error
            }
        })?;
    let receipt = receipt_of(state, &order).await?;
    Ok(build_invoice(&invoice, receipt))
}

/// One invoice: number, customer, lines, tax per rate and totals, as its order has them.
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}",
    tag = "after payment",
    params(("id" = u64, Path, description = "Invoice id (its sequential number)")),
    responses(
        (status = 200, description = "The invoice", body = schemas::InvoiceDocument),
        (status = 400, description = "Not an integer id", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A cashier's user token (use a terminal token)", body = schemas::ErrorBody),
        (status = 404, description = "No such invoice, or not readable by this terminal", body = schemas::ErrorBody),
    )
)]
pub async fn get_invoice(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(invoice_id): ApiPath<u64>,
) -> ApiResult<Json<InvoiceDocument>> {
    Ok(Json(readable_invoice(&state, &caller, invoice_id).await?))
}

/// The invoice as a PDF document (A4).
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}/pdf",
    tag = "after payment",
    params(("id" = u64, Path, description = "Invoice id (its sequential number)")),
    responses(
        (status = 200, description = "The invoice", content_type = "application/pdf", body = Vec<u8>),
        (status = 400, description = "Not an integer id", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "A cashier's user token (use a terminal token)", body = schemas::ErrorBody),
        (status = 404, description = "No such invoice, or not readable by this terminal", body = schemas::ErrorBody),
    )
)]
pub async fn invoice_pdf(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(invoice_id): ApiPath<u64>,
) -> ApiResult<Response> {
    let document = readable_invoice(&state, &caller, invoice_id).await?;
    let bytes = render_invoice_pdf(&document);
    let file_name = document.number.replace('/', "-");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!("inline; filename=\"{file_name}.pdf\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok((StatusCode::OK, headers, bytes).into_response())
}

/// Text as the standard Type 1 fonts take it (WinAnsiEncoding): Latin-1
/// characters as themselves, anything else as '?'.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u32::from(c) {
            code @ (0x20..=0x7e | 0xa0..=0xff) => code as u8,
            _ => b'?',
        })
        .collect()
}

/// Lays the invoice out on A4 pages, one text line after another.
pub fn render_invoice_pdf(document: &InvoiceDocument) -> Vec<u8> {
    // (text, right-aligned amount, bold)
    let mut rows: Vec<(String, String, bool)> = Vec::new();
    let mut row = |text: String, amount: String, bold: bool| rows.push((text, amount, bold));
    row(document.shop.name.as_str().to_owned(), String::new(), true);
    for line in document.shop.address.as_str().lines() {
        row(line.to_owned(), String::new(), false);
    }
    if !document.shop.vat_number.is_empty() {
        row(
            format!("VAT {}", document.shop.vat_number.as_str()),
            String::new(),
            false,
        );
    }
    row(String::new(), String::new(), false);
    row(format!("Invoice {}", document.number), String::new(), true);
    row(
        format!("Date: {}", document.issued_at),
        String::new(),
        false,
    );
    row(
        format!("Customer: {}", document.customer.name),
        String::new(),
        false,
    );
    if let Some(receipt_number) = &document.receipt_number {
        row(format!("Receipt {receipt_number}"), String::new(), false);
    }
    row(String::new(), String::new(), false);
    for line in &document.lines {
        let mut text = format!("{} x {} {}", line.qty, line.unit_price, line.name.as_str());
        if line.discount != Discount::ZERO {
            text.push_str(&format!(" (-{}%)", line.discount));
        }
        row(text, line.total.to_string(), false);
    }
    row(String::new(), String::new(), false);
    row("Untaxed".to_owned(), document.subtotal.to_string(), false);
    for tax in &document.taxes {
        row(
            format!("{} on {}", tax.name, tax.base),
            tax.amount.to_string(),
            false,
        );
    }
    row("Total".to_owned(), document.total.to_string(), true);
    for payment in &document.payments {
        row(payment.name.clone(), payment.amount.to_string(), false);
    }

    const ROWS_PER_PAGE: usize = 48;
    let pages: Vec<&[(String, String, bool)]> = rows.chunks(ROWS_PER_PAGE).collect();
    let catalog_id = Ref::new(1);
    let page_tree_id = Ref::new(2);
    let regular_id = Ref::new(3);
    let bold_id = Ref::new(4);
    let first_page = 5;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|index| Ref::new(first_page + 2 * index as i32))
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(page_tree_id);
    pdf.pages(page_tree_id)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    pdf.type1_font(regular_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold_id)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    for (index, page_rows) in pages.iter().enumerate() {
        let page_id = page_ids[index];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.parent(page_tree_id)
            .media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
            .contents(content_id);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(b"F1"), regular_id);
        fonts.pair(Name(b"F2"), bold_id);
        fonts.finish();
        resources.finish();
        page.finish();
        let mut content = Content::new();
        let mut y = 790.0;
        for (text, amount, bold) in page_rows.iter() {
            let font = if *bold { Name(b"F2") } else { Name(b"F1") };
            content.begin_text();
            content.set_font(font, 11.0);
            content.next_line(56.0, y);
            content.show(Str(&win_ansi(text)));
            content.end_text();
            if !amount.is_empty() {
                // Right-aligned by an estimate of Helvetica's digit width (0.556 em).
                let width = amount.len() as f32 * 11.0 * 0.556;
                content.begin_text();
                content.set_font(font, 11.0);
                content.next_line(539.0 - width, y);
                content.show(Str(&win_ansi(amount)));
                content.end_text();
            }
            y -= 15.0;
        }
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}
