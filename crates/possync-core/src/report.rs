//! The session report: what a session (one opening of a till) sold and what its
//! cash drawer should hold, as printed when the session closes.
//!
//! The store reads back what the session did ([`SessionActivity`]) and
//! [`session_report`] does every sum, so every store answers the same figures.
//! Sums run in `i128` and are checked once into [`Money`] at the end: an
//! overflow is reported, never wrapped.

use crate::catalog::{PaymentMethod, PaymentMethodKind, Session};
use crate::ids::PaymentMethodId;
use crate::numbers::Money;
use crate::order::Payment;
use crate::text::Name;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The cash and payment summary of a session, as printed at closing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionReport {
    pub session: Session,
    pub orders_paid: u64,
    pub sales_total: Money,
    pub tax_total: Money,
    /// One total per payment method used, by method id.
    pub payments: Vec<PaymentTotal>,
    pub cash: CashSummary,
}

/// What one payment method took in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentTotal {
    pub method_id: PaymentMethodId,
    pub name: Name,
    pub kind: PaymentMethodKind,
    pub amount: Money,
}

/// What the cash drawer should hold, and what was counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashSummary {
    pub opening: Money,
    /// Cash received, before change.
    pub payments: Money,
    pub change_given: Money,
    /// opening + payments − change_given: what the drawer should hold.
    pub expected: Money,
    pub counted: Option<Money>,
    /// counted − expected, once counted.
    pub difference: Option<Money>,
}

/// One order paid in the session, as far as the report adds it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidOrderSummary {
    pub total: Money,
    pub tax: Money,
    /// Change handed back for this order (cash over the total).
    pub change: Money,
}

/// What a session did, as the store reads it back: the orders it took payment
/// for and every payment booked to it (refunds as negative amounts). The order
/// of either list does not change the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionActivity {
    pub paid_orders: Vec<PaidOrderSummary>,
    pub payments: Vec<Payment>,
}

/// Why a report cannot be made from what the store holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// A payment names a method the shop does not have.
    #[error("a payment names unknown payment method {0}")]
    UnknownPaymentMethod(PaymentMethodId),
    /// A sum left the range of [`Money`].
    #[error("the {0} is out of range")]
    OutOfRange(&'static str),
}

/// Adds up a session: orders and sales, tax, payments per method, and the cash drawer.
///
/// `methods` must hold every method a payment names; cash is what methods of
/// kind [`PaymentMethodKind::Cash`] took. `expected` is opening + cash received
/// − change given; `difference` is counted − expected once the drawer was counted.
pub fn session_report(
    session: Session,
    activity: &SessionActivity,
    methods: &[PaymentMethod],
) -> Result<SessionReport, ReportError> {
    let methods: BTreeMap<PaymentMethodId, &PaymentMethod> =
        methods.iter().map(|method| (method.id, method)).collect();

    let mut by_method: BTreeMap<PaymentMethodId, i128> = BTreeMap::new();
    for payment in &activity.payments {
        *by_method.entry(payment.method_id).or_default() += i128::from(payment.amount.minor());
    }
    let mut payment_totals = Vec::with_capacity(by_method.len());
    let mut cash_received: i128 = 0;
    for (method_id, amount) in by_method {
        let method = methods
            .get(&method_id)
            .ok_or(ReportError::UnknownPaymentMethod(method_id))?;
        if method.kind == PaymentMethodKind::Cash {
            cash_received += amount;
        }
        payment_totals.push(PaymentTotal {
            method_id,
            name: method.name.clone(),
            kind: method.kind,
            amount: money(amount, "payment total")?,
        });
    }

    let sum_of = |field: fn(&PaidOrderSummary) -> Money| -> i128 {
        activity
            .paid_orders
            .iter()
            .map(|order| i128::from(field(order).minor()))
            .sum()
    };
    let change_given = sum_of(|order| order.change);
    let expected = i128::from(session.opening_cash.minor()) + cash_received - change_given;
    let difference = session
        .counted_cash
        .map(|counted| money(i128::from(counted.minor()) - expected, "cash difference"))
        .transpose()?;
    Ok(SessionReport {
        orders_paid: activity.paid_orders.len() as u64,
        sales_total: money(sum_of(|order| order.total), "sales total")?,
        tax_total: money(sum_of(|order| order.tax), "tax total")?,
        payments: payment_totals,
        cash: CashSummary {
            opening: session.opening_cash,
            payments: money(cash_received, "cash received")?,
            change_given: money(change_given, "change given")?,
            expected: money(expected, "expected cash")?,
            counted: session.counted_cash,
            difference,
        },
        session,
    })
}

fn money(minor: i128, what: &'static str) -> Result<Money, ReportError> {
    Money::from_i128(minor).map_err(|_| ReportError::OutOfRange(what))
}
