//! The day's numbers: sums of paid orders over a period, grouped per hour, day,
//! payment method, product or counter, for the back office's dashboard.
//!
//! The store reads one [`SaleFact`] per order paid in the period; [`sales_report`]
//! does every sum, so each store answers the same figures. An order counts at
//! the moment it was paid. A refund is a paid order with a negative total, so
//! every figure is net of refunds. Per counter, an order is counted both where
//! it was started and where it was paid ([`CounterSales`]): a draft started at
//! Counter 1 and paid at Counter 2 shows in Counter 1's `started` and in
//! Counter 2's `paid`.
//!
//! Hours and days are the shop's: the period carries its offset from UTC, and
//! buckets start at the shop's local hour or midnight. Sums run in `i128` and are
//! checked into [`Money`] once, at the end.

use crate::ids::{ConfigId, OrderId, PaymentMethodId, ProductId};
use crate::numbers::{Money, Quantity};
use crate::order::Payment;
use crate::report::ReportError;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The longest period a report covers.
pub const SALES_PERIOD_DAYS_MAX: i64 = 366;
/// The longest period grouped per hour (744 buckets at most).
pub const SALES_HOURLY_DAYS_MAX: i64 = 31;
/// The furthest a shop's clock is from UTC, in minutes (UTC−12:00 to UTC+14:00).
pub const UTC_OFFSET_MINUTES_MAX: i32 = 14 * 60;

/// How a report groups its sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalesGrouping {
    Hour,
    Day,
    Method,
    Product,
    Config,
}

impl SalesGrouping {
    pub fn parse(text: &str) -> Option<SalesGrouping> {
        match text {
            "hour" => Some(SalesGrouping::Hour),
            "day" => Some(SalesGrouping::Day),
            "method" => Some(SalesGrouping::Method),
            "product" => Some(SalesGrouping::Product),
            "config" => Some(SalesGrouping::Config),
            _ => None,
        }
    }

    /// Whether the report needs each order's lines (only per product).
    pub fn needs_lines(self) -> bool {
        self == SalesGrouping::Product
    }
}

/// A period `[from, to)` in a shop whose clock is `utc_offset_minutes` from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesPeriod {
    pub from: Timestamp,
    pub to: Timestamp,
    pub utc_offset_minutes: i32,
}

/// Why a period or grouping cannot be reported; each says what to ask instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SalesPeriodError {
    #[error("`to` must come after `from`")]
    Empty,
    #[error("a report covers at most {SALES_PERIOD_DAYS_MAX} days")]
    TooLong,
    #[error("sales per hour cover at most {SALES_HOURLY_DAYS_MAX} days; group per day instead")]
    TooManyHours,
    #[error("a UTC offset is at most 14 hours either way")]
    Offset,
}

impl SalesPeriod {
    /// The shop's day that holds `now`.
    pub fn day_of(
        now: Timestamp,
        utc_offset_minutes: i32,
    ) -> Result<SalesPeriod, SalesPeriodError> {
        check_offset(utc_offset_minutes)?;
        let offset_ms = i64::from(utc_offset_minutes) * 60_000;
        let local = now.unix_millis() + offset_ms;
        let start = local.div_euclid(DAY_MS) * DAY_MS - offset_ms;
        Ok(SalesPeriod {
            from: Timestamp::from_unix_millis(start),
            to: Timestamp::from_unix_millis(start + DAY_MS),
            utc_offset_minutes,
        })
    }

    /// A period as asked, checked against the bounds of `grouping`.
    pub fn new(
        from: Timestamp,
        to: Timestamp,
        utc_offset_minutes: i32,
        grouping: SalesGrouping,
    ) -> Result<SalesPeriod, SalesPeriodError> {
        check_offset(utc_offset_minutes)?;
        let length_ms = to.unix_millis() - from.unix_millis();
        if length_ms <= 0 {
            return Err(SalesPeriodError::Empty);
        }
        if length_ms > SALES_PERIOD_DAYS_MAX * DAY_MS {
            return Err(SalesPeriodError::TooLong);
        }
        if grouping == SalesGrouping::Hour && length_ms > SALES_HOURLY_DAYS_MAX * DAY_MS {
            return Err(SalesPeriodError::TooManyHours);
        }
        Ok(SalesPeriod {
            from,
            to,
            utc_offset_minutes,
        })
    }

    pub fn contains(&self, at: Timestamp) -> bool {
        self.from <= at && at < self.to
    }

    fn offset_ms(&self) -> i64 {
        i64::from(self.utc_offset_minutes) * 60_000
    }

    /// The start (UTC) of the local hour or day that holds `at`.
    fn bucket_of(&self, at: Timestamp, width_ms: i64) -> i64 {
        let local = at.unix_millis() + self.offset_ms();
        local.div_euclid(width_ms) * width_ms - self.offset_ms()
    }
}

fn check_offset(utc_offset_minutes: i32) -> Result<(), SalesPeriodError> {
    // Not `abs()`: the offset comes from a query string, and `i32::MIN.abs()` overflows.
    if !(-UTC_OFFSET_MINUTES_MAX..=UTC_OFFSET_MINUTES_MAX).contains(&utc_offset_minutes) {
        return Err(SalesPeriodError::Offset);
    }
    Ok(())
}

/// One line of a paid order, as far as the report adds it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleLine {
    pub product_id: ProductId,
    /// The name the line was sold under.
    pub name: String,
    pub qty: Quantity,
    /// After tax.
    pub total: Money,
}

/// One paid order, as the store reads it for a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleFact {
    pub order_id: OrderId,
    pub paid_at: Timestamp,
    /// The counter where the order was started.
    pub started_at: ConfigId,
    /// The counter whose session took the payment.
    pub paid_by: ConfigId,
    pub total: Money,
    pub tax: Money,
    /// Cash handed back: it came out of the order's cash payments.
    pub change: Money,
    pub payments: Vec<Payment>,
    /// Empty unless the grouping needs lines.
    pub lines: Vec<SaleLine>,
}

/// What the report names things by: methods (name, whether cash) and counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SalesNames {
    pub methods: BTreeMap<PaymentMethodId, (String, bool)>,
    pub configs: BTreeMap<ConfigId, String>,
    pub products: BTreeMap<ProductId, String>,
}

/// Orders and their total, one side of a counter's sales.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSales {
    pub orders: u64,
    pub total: Money,
}

/// One row of a report: a bucket of time, a method, a product or a counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesRow {
    /// Stable: the bucket's start (RFC 3339, UTC) or the method, product or config id.
    pub key: String,
    /// For people: `14:00`, `2026-11-30`, `Card`, `Croissant`, `Counter 2`.
    pub label: String,
    /// Orders in the row (per method: orders paid with it at least in part).
    pub orders: u64,
    /// Per hour, day or counter: the orders' totals (per counter, those it
    /// paid); per method: what the method kept (cash net of change); per
    /// product: its lines' totals.
    pub total: Money,
    /// Per product: the quantity sold, net of returns.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub qty: Option<Quantity>,
    /// Per counter: the orders started there, wherever they were paid.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub started: Option<CounterSales>,
    /// Per counter: the orders it took payment for, wherever they were started.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub paid: Option<CounterSales>,
}

/// The sums of the orders paid in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesReport {
    pub from: Timestamp,
    pub to: Timestamp,
    pub utc_offset_minutes: i32,
    pub group: SalesGrouping,
    pub orders: u64,
    pub total: Money,
    pub tax: Money,
    pub rows: Vec<SalesRow>,
}

#[derive(Default)]
struct Sum {
    orders: u64,
    total: i128,
    qty: i64,
}

/// Adds up `facts` (orders paid in `period`; others are left out) per `group`.
///
/// Hours and days run over the whole period, empty ones included, so a chart
/// has every bar. Methods, products and counters come in id order, only those
/// with sales.
pub fn sales_report(
    period: SalesPeriod,
    group: SalesGrouping,
    facts: &[SaleFact],
    names: &SalesNames,
) -> Result<SalesReport, ReportError> {
    let facts: Vec<&SaleFact> = facts
        .iter()
        .filter(|fact| period.contains(fact.paid_at))
        .collect();
    let total: i128 = facts
        .iter()
        .map(|fact| i128::from(fact.total.minor()))
        .sum();
    let tax: i128 = facts.iter().map(|fact| i128::from(fact.tax.minor())).sum();
    let rows = match group {
        SalesGrouping::Hour => time_rows(period, &facts, HOUR_MS)?,
        SalesGrouping::Day => time_rows(period, &facts, DAY_MS)?,
        SalesGrouping::Method => method_rows(&facts, names)?,
        SalesGrouping::Product => product_rows(&facts, names)?,
        SalesGrouping::Config => config_rows(&facts, names)?,
    };
    Ok(SalesReport {
        from: period.from,
        to: period.to,
        utc_offset_minutes: period.utc_offset_minutes,
        group,
        orders: facts.len() as u64,
        total: money(total, "sales total")?,
        tax: money(tax, "tax total")?,
        rows,
    })
}

fn time_rows(
    period: SalesPeriod,
    facts: &[&SaleFact],
    width_ms: i64,
) -> Result<Vec<SalesRow>, ReportError> {
    let mut sums: BTreeMap<i64, Sum> = BTreeMap::new();
    let mut start = period.bucket_of(period.from, width_ms);
    while start < period.to.unix_millis() {
        sums.insert(start, Sum::default());
        start += width_ms;
    }
    for fact in facts {
        let sum = sums
            .entry(period.bucket_of(fact.paid_at, width_ms))
            .or_default();
        sum.orders += 1;
        sum.total += i128::from(fact.total.minor());
    }
    sums.into_iter()
        .map(|(start, sum)| {
            let local = Timestamp::from_unix_millis(start + period.offset_ms());
            let label = if width_ms == HOUR_MS {
                format!("{} {:02}:00", local.day(), local.hour())
            } else {
                local.day()
            };
            Ok(SalesRow {
                key: Timestamp::from_unix_millis(start).to_string(),
                label,
                orders: sum.orders,
                total: money(sum.total, "sales per period")?,
                qty: None,
                started: None,
                paid: None,
            })
        })
        .collect()
}

/// What each method kept: its payments, less the change handed back out of
/// the order's cash payments (taken from the first cash payment on; change
/// beyond the cash paid, which the core never allows, is left on the last).
pub fn kept_per_method(
    fact: &SaleFact,
    is_cash: impl Fn(PaymentMethodId) -> bool,
) -> Vec<(PaymentMethodId, i128)> {
    let mut change_left = i128::from(fact.change.minor());
    let mut kept = Vec::with_capacity(fact.payments.len());
    for payment in &fact.payments {
        let mut amount = i128::from(payment.amount.minor());
        if change_left > 0 && is_cash(payment.method_id) && amount > 0 {
            let taken = change_left.min(amount);
            amount -= taken;
            change_left -= taken;
        }
        kept.push((payment.method_id, amount));
    }
    if change_left > 0
        && let Some(last) = kept.last_mut()
    {
        last.1 -= change_left;
    }
    kept
}

fn method_rows(facts: &[&SaleFact], names: &SalesNames) -> Result<Vec<SalesRow>, ReportError> {
    let is_cash = |method_id| names.methods.get(&method_id).is_some_and(|(_, cash)| *cash);
    let mut sums: BTreeMap<PaymentMethodId, Sum> = BTreeMap::new();
    for fact in facts {
        let mut counted: Vec<PaymentMethodId> = Vec::new();
        for (method_id, kept) in kept_per_method(fact, is_cash) {
            let sum = sums.entry(method_id).or_default();
            sum.total += kept;
            if !counted.contains(&method_id) {
                counted.push(method_id);
                sum.orders += 1;
            }
        }
    }
    sums.into_iter()
        .map(|(method_id, sum)| {
            // Methods are never deleted; one missing here is named by its id
            // rather than failing the whole report.
            let label = names
                .methods
                .get(&method_id)
                .map_or_else(|| format!("Method #{method_id}"), |(name, _)| name.clone());
            Ok(SalesRow {
                key: method_id.to_string(),
                label,
                orders: sum.orders,
                total: money(sum.total, "sales per method")?,
                qty: None,
                started: None,
                paid: None,
            })
        })
        .collect()
}

fn product_rows(facts: &[&SaleFact], names: &SalesNames) -> Result<Vec<SalesRow>, ReportError> {
    let mut sums: BTreeMap<ProductId, (Sum, String)> = BTreeMap::new();
    for fact in facts {
        let mut counted: Vec<ProductId> = Vec::new();
        for line in &fact.lines {
            let (sum, sold_as) = sums
                .entry(line.product_id)
                .or_insert_with(|| (Sum::default(), line.name.clone()));
            sum.total += i128::from(line.total.minor());
            sum.qty = sum.qty.saturating_add(line.qty.milli());
            if !counted.contains(&line.product_id) {
                counted.push(line.product_id);
                sum.orders += 1;
            }
            if sold_as.is_empty() {
                sold_as.clone_from(&line.name);
            }
        }
    }
    sums.into_iter()
        .map(|(product_id, (sum, sold_as))| {
            Ok(SalesRow {
                key: product_id.to_string(),
                label: names.products.get(&product_id).cloned().unwrap_or(sold_as),
                orders: sum.orders,
                total: money(sum.total, "sales per product")?,
                qty: Some(
                    Quantity::from_milli(sum.qty)
                        .map_err(|_| ReportError::OutOfRange("quantity per product"))?,
                ),
                started: None,
                paid: None,
            })
        })
        .collect()
}

fn config_rows(facts: &[&SaleFact], names: &SalesNames) -> Result<Vec<SalesRow>, ReportError> {
    let mut started: BTreeMap<ConfigId, Sum> = BTreeMap::new();
    let mut paid: BTreeMap<ConfigId, Sum> = BTreeMap::new();
    for fact in facts {
        for (sums, config_id) in [(&mut started, fact.started_at), (&mut paid, fact.paid_by)] {
            let sum = sums.entry(config_id).or_default();
            sum.orders += 1;
            sum.total += i128::from(fact.total.minor());
        }
    }
    let mut config_ids: Vec<ConfigId> = started.keys().chain(paid.keys()).copied().collect();
    config_ids.sort_unstable();
    config_ids.dedup();
    config_ids
        .into_iter()
        .map(|config_id| {
            let side = |sums: &BTreeMap<ConfigId, Sum>| -> Result<CounterSales, ReportError> {
                let sum = sums.get(&config_id);
                Ok(CounterSales {
                    orders: sum.map_or(0, |sum| sum.orders),
                    total: money(sum.map_or(0, |sum| sum.total), "sales per counter")?,
                })
            };
            let paid_side = side(&paid)?;
            Ok(SalesRow {
                key: config_id.to_string(),
                label: names
                    .configs
                    .get(&config_id)
                    .cloned()
                    .unwrap_or_else(|| format!("Counter #{config_id}")),
                orders: paid_side.orders,
                total: paid_side.total,
                qty: None,
                started: Some(side(&started)?),
                paid: Some(paid_side),
            })
        })
        .collect()
}

fn money(minor: i128, what: &'static str) -> Result<Money, ReportError> {
    Money::from_i128(minor).map_err(|_| ReportError::OutOfRange(what))
}
