//! The day's numbers (issue 12, point 6): `GET /reports/sales`, the sums of
//! the orders paid in a period, grouped per hour, day, payment method, product
//! or counter, for the back office's dashboard (managers only).
//!
//! The handler parses the period, reads the paid orders and names from the
//! store and hands them to `possync_core::sales_report`, which does every sum.

use crate::auth::ManagerCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use possync_core::*;
use serde::Deserialize;

/// Characters of a `from` or `to` value at most (an RFC 3339 time is 35 at most).
const PERIOD_BOUND_CHARS_MAX: usize = 64;

/// The query of `GET /reports/sales`.
#[derive(Debug, Default, Deserialize)]
pub struct SalesQuery {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    /// The shop's clock, in minutes ahead of UTC (a browser's
    /// `-new Date().getTimezoneOffset()`); 0 when absent.
    #[serde(default)]
    pub utc_offset_minutes: Option<i32>,
}

/// Which end of the period a date names: a day starts at its local midnight,
/// and a `to` date includes its whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    From,
    To,
}

/// `2026-11-30T09:00:00Z` as it is, or `2026-11-30` as that day's local midnight
/// (its end, for `to`), in a shop `utc_offset_minutes` ahead of UTC.
fn period_bound(name: &str, text: &str, end: End, utc_offset_minutes: i32) -> ApiResult<Timestamp> {
    let refused = || {
        ApiError::invalid(format!(
            "{name}: a date (2026-11-30) or an RFC 3339 time (2026-11-30T09:00:00Z)"
        ))
    };
    if text.len() > PERIOD_BOUND_CHARS_MAX {
        return Err(refused());
    }
    if let Some(at) = Timestamp::parse_rfc3339(text) {
        return Ok(at);
    }
    let is_date = text.len() == 10
        && text.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !is_date {
        return Err(refused());
    }
    let midnight_utc =
        Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z")).ok_or_else(refused)?;
    let day_ms = 24 * 3_600_000;
    let start = midnight_utc.unix_millis() - i64::from(utc_offset_minutes) * 60_000;
    Ok(Timestamp::from_unix_millis(match end {
        End::From => start,
        End::To => start + day_ms,
    }))
}

/// The sums of the orders paid in a period, for the dashboard's charts.
#[utoipa::path(
    get,
    path = "/api/v1/reports/sales",
    tag = "reports",
    params(
        ("group" = Option<String>, Query, description = "`hour`, `day` (the default), `method`, `product` or `config`"),
        ("from" = Option<String>, Query, description = "Start, included: an RFC 3339 time, or a date for its local midnight; default: the start of today"),
        ("to" = Option<String>, Query, description = "End, excluded: an RFC 3339 time, or a date whose whole day is included; default: the end of today. At most 366 days after `from` (31 per hour)"),
        ("utc_offset_minutes" = Option<i32>, Query, description = "The shop's clock in minutes ahead of UTC (-840 to 840; default 0): where its hours, days and today start"),
    ),
    responses(
        (status = 200, description = "The sums, in minor units", body = schemas::SalesReport),
        (status = 400, description = "A bad period, grouping or offset (the message says which)", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
    )
)]
pub async fn sales(
    State(state): State<AppState>,
    _manager: ManagerCaller,
    ApiQuery(query): ApiQuery<SalesQuery>,
) -> ApiResult<Json<SalesReport>> {
    let group = match query.group.as_deref() {
        None => SalesGrouping::Day,
        Some(text) => SalesGrouping::parse(text)
            .ok_or_else(|| ApiError::invalid("group: one of hour, day, method, product, config"))?,
    };
    let offset = query.utc_offset_minutes.unwrap_or(0);
    let invalid = |error: SalesPeriodError| ApiError::invalid(error.to_string());
    let today = SalesPeriod::day_of(state.clock.now(), offset).map_err(invalid)?;
    let from = match &query.from {
        Some(text) => period_bound("from", text, End::From, offset)?,
        None => today.from,
    };
    let to = match &query.to {
        Some(text) => period_bound("to", text, End::To, offset)?,
        None => today.to,
    };
    let period = SalesPeriod::new(from, to, offset, group).map_err(invalid)?;

    let (facts, methods, configs, products) = tokio::try_join!(
        state
            .store
            .list_sale_facts(period.from, period.to, group.needs_lines()),
        state.store.list_payment_methods(),
        state.store.list_configs(),
        state.store.list_products(),
    )?;
    let names = SalesNames {
        methods: methods
            .into_iter()
            .map(|method| {
                let is_cash = method.kind == PaymentMethodKind::Cash;
                (method.id, (method.name.as_str().to_owned(), is_cash))
            })
            .collect(),
        configs: configs
            .into_iter()
            .map(|config| (config.id, config.name.as_str().to_owned()))
            .collect(),
        products: products
            .into_iter()
            .map(|product| (product.id, product.name.as_str().to_owned()))
            .collect(),
    };
    let report = sales_report(period, group, &facts, &names).map_err(ApiError::internal)?;
    Ok(Json(report))
}
