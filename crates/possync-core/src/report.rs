//! The session report: what a session (one opening of a till) sold and what its
//! cash drawer should hold, as printed when the session closes.
//!
//! The store reads back what the session did ([`SessionActivity`]) and
//! [`session_report`] does every sum, so every store answers the same figures.
//! Sums run in `i128` and are checked once into [`Money`] at the end: an
//! overflow is reported, never wrapped.

use crate::catalog::{PaymentMethod, PaymentMethodKind, Session, Tax};
use crate::ids::{PaymentMethodId, TaxId, UserId};
use crate::numbers::{Money, TaxRate};
use crate::order::Payment;
use crate::receipt::{TaxAmount, sum_tax_amounts};
use crate::text::{Name, Note};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The cash and payment summary of a session, as printed at closing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionReport {
    pub session: Session,
    pub orders_paid: u64,
    pub sales_total: Money,
    pub tax_total: Money,
    /// Tax per (tax, rate), by tax id; the amounts add up to `tax_total`.
    pub taxes: Vec<ReportTax>,
    /// One total per payment method used, by method id.
    pub payments: Vec<PaymentTotal>,
    pub cash: CashSummary,
    /// Cash put in (positive) or taken out (negative) during the session, oldest first.
    pub cash_moves: Vec<CashMove>,
}

/// The tax one rate took in a session, named as the shop names the tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTax {
    pub tax_id: TaxId,
    pub name: String,
    pub rate: TaxRate,
    /// The untaxed amount the rate applied to.
    pub base: Money,
    pub amount: Money,
}

/// Cash put into or taken out of the drawer outside a sale (a float, a bank drop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashMove {
    pub id: i64,
    /// Signed: positive puts cash in, negative takes it out. Never zero.
    pub amount: Money,
    pub reason: Note,
    pub user_id: UserId,
    pub at: Timestamp,
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
    /// payments − change_given: the cash sales kept.
    pub net: Money,
    /// The sum of the cash moves (in minus out).
    pub moves: Money,
    /// opening + net + moves: what the drawer should hold.
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
    /// The tax per rate of each paid order, as recorded at payment.
    pub taxes: Vec<TaxAmount>,
    pub cash_moves: Vec<CashMove>,
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
/// − change given + cash moves; `difference` is counted − expected once the
/// drawer was counted. `taxes` names the rates (a tax the catalog lost is named
/// by its rate).
pub fn session_report(
    session: Session,
    activity: &SessionActivity,
    methods: &[PaymentMethod],
    taxes: &[Tax],
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
    let net = cash_received - change_given;
    let mut cash_moves = activity.cash_moves.clone();
    cash_moves.sort_by_key(|cash_move| (cash_move.at, cash_move.id));
    let moves: i128 = cash_moves
        .iter()
        .map(|cash_move| i128::from(cash_move.amount.minor()))
        .sum();
    let expected = i128::from(session.opening_cash.minor()) + net + moves;
    let tax_names: BTreeMap<TaxId, &Name> = taxes.iter().map(|tax| (tax.id, &tax.name)).collect();
    let report_taxes = sum_tax_amounts(&activity.taxes)
        .ok_or(ReportError::OutOfRange("tax per rate"))?
        .into_iter()
        .map(|tax| ReportTax {
            name: tax_names.get(&tax.tax_id).map_or_else(
                || format!("Tax {}%", tax.rate),
                |name| name.as_str().to_owned(),
            ),
            tax_id: tax.tax_id,
            rate: tax.rate,
            base: tax.base,
            amount: tax.amount,
        })
        .collect();
    let difference = session
        .counted_cash
        .map(|counted| money(i128::from(counted.minor()) - expected, "cash difference"))
        .transpose()?;
    Ok(SessionReport {
        orders_paid: activity.paid_orders.len() as u64,
        sales_total: money(sum_of(|order| order.total), "sales total")?,
        tax_total: money(sum_of(|order| order.tax), "tax total")?,
        taxes: report_taxes,
        payments: payment_totals,
        cash: CashSummary {
            opening: session.opening_cash,
            payments: money(cash_received, "cash received")?,
            change_given: money(change_given, "change given")?,
            net: money(net, "net cash")?,
            moves: money(moves, "cash moves")?,
            expected: money(expected, "expected cash")?,
            counted: session.counted_cash,
            difference,
        },
        cash_moves,
        session,
    })
}

fn money(minor: i128, what: &'static str) -> Result<Money, ReportError> {
    Money::from_i128(minor).map_err(|_| ReportError::OutOfRange(what))
}
