//! What a paid order prints as: the shop's header, tax per rate, the receipt and
//! invoice numbers, and the receipt document itself. Pure: the server renders
//! the [`Receipt`] as HTML, PDF or ESC/POS, and every rendering shows the same
//! figures, which are the order's to the minor unit.

use crate::ids::{ConfigId, CustomerId, OrderId, PaymentMethodId, SessionId, TaxId};
use crate::numbers::{Discount, Money, Quantity, TaxRate};
use crate::order::{Line, Order, OrderState};
use crate::text::{Name, Note};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The shop as its receipts and invoices name it (`GET /shop`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shop {
    pub name: Name,
    /// Free text, several lines allowed.
    pub address: Note,
    pub vat_number: Note,
    pub receipt_footer: Note,
}

impl Default for Shop {
    fn default() -> Self {
        Shop {
            name: Name::parse("My shop").expect("a constant, valid name"),
            address: Note::default(),
            vat_number: Note::default(),
            receipt_footer: Note::default(),
        }
    }
}

/// A change of the shop's header (`PATCH /shop`): absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopChanges {
    pub name: Option<Name>,
    pub address: Option<Note>,
    pub vat_number: Option<Note>,
    pub receipt_footer: Option<Note>,
}

impl Shop {
    pub fn apply(&mut self, changes: ShopChanges) {
        if let Some(name) = changes.name {
            self.name = name;
        }
        if let Some(address) = changes.address {
            self.address = address;
        }
        if let Some(vat_number) = changes.vat_number {
            self.vat_number = vat_number;
        }
        if let Some(receipt_footer) = changes.receipt_footer {
            self.receipt_footer = receipt_footer;
        }
    }
}

/// The tax one rate took on an order (or a session): `base` is the untaxed
/// amount it applied to, `amount` the tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxAmount {
    pub tax_id: TaxId,
    pub rate: TaxRate,
    pub base: Money,
    pub amount: Money,
}

/// The tax of every line split per tax, summed per (tax, rate), in that order.
///
/// A line's taxes added outside the price are each `subtotal × rate`, rounded as
/// in `totals::line_amounts`; what is left of the line's tax belongs to the taxes
/// included in the price, split by rate, the last one taking the remainder. So
/// the amounts of an order always add up to its `totals.tax`, to the minor unit.
pub fn tax_breakdown(lines: &[Line]) -> Vec<TaxAmount> {
    let mut sums: BTreeMap<(TaxId, i64), (i128, i128)> = BTreeMap::new();
    for line in lines {
        let subtotal = i128::from(line.subtotal.minor());
        let mut parts: Vec<(TaxId, i64, i128)> = Vec::with_capacity(line.taxes.len());
        let mut excluded_total = 0;
        for tax in line.taxes.iter().filter(|tax| !tax.price_included) {
            let amount = crate::totals::div_round_half_away(
                subtotal * i128::from(tax.rate.basis_points()),
                10_000,
            );
            excluded_total += amount;
            parts.push((tax.tax_id, tax.rate.basis_points(), amount));
        }
        let included: Vec<_> = line.taxes.iter().filter(|tax| tax.price_included).collect();
        let included_rate: i128 = included
            .iter()
            .map(|tax| i128::from(tax.rate.basis_points()))
            .sum();
        let mut included_left = i128::from(line.tax.minor()) - excluded_total;
        for (index, tax) in included.iter().enumerate() {
            let amount = if index + 1 == included.len() || included_rate == 0 {
                included_left
            } else {
                crate::totals::div_round_half_away(
                    (i128::from(line.tax.minor()) - excluded_total)
                        * i128::from(tax.rate.basis_points()),
                    included_rate,
                )
            };
            included_left -= amount;
            parts.push((tax.tax_id, tax.rate.basis_points(), amount));
        }
        for (tax_id, rate, amount) in parts {
            let sum = sums.entry((tax_id, rate)).or_default();
            sum.0 += subtotal;
            sum.1 += amount;
        }
    }
    sums.into_iter()
        .filter_map(|((tax_id, rate), (base, amount))| {
            Some(TaxAmount {
                tax_id,
                rate: TaxRate::from_basis_points(rate).ok()?,
                base: Money::from_i128(base).ok()?,
                amount: Money::from_i128(amount).ok()?,
            })
        })
        .collect()
}

/// Adds tax amounts of several orders per (tax, rate). `None` when a sum leaves
/// the range of [`Money`].
pub fn sum_tax_amounts<'a>(
    amounts: impl IntoIterator<Item = &'a TaxAmount>,
) -> Option<Vec<TaxAmount>> {
    let mut sums: BTreeMap<(TaxId, i64), (i128, i128)> = BTreeMap::new();
    for amount in amounts {
        let sum = sums
            .entry((amount.tax_id, amount.rate.basis_points()))
            .or_default();
        sum.0 += i128::from(amount.base.minor());
        sum.1 += i128::from(amount.amount.minor());
    }
    sums.into_iter()
        .map(|((tax_id, rate), (base, amount))| {
            Some(TaxAmount {
                tax_id,
                rate: TaxRate::from_basis_points(rate).ok()?,
                base: Money::from_i128(base).ok()?,
                amount: Money::from_i128(amount).ok()?,
            })
        })
        .collect()
}

/// A receipt number as printed: the paying config's name and its number in
/// that session, four digits at least (`Counter 2/0003`).
pub fn receipt_number(config_name: &Name, number: u64) -> String {
    format!("{}/{number:04}", config_name.as_str())
}

/// An invoice number as printed: `INV/<year of issue>/<number, five digits at least>`.
/// Numbers run on across years, so the sequence stays gap-free and unique.
pub fn invoice_number(number: u64, at: Timestamp) -> String {
    format!("INV/{}/{number:05}", at.year())
}

/// One line of a receipt or invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptLine {
    pub name: Name,
    pub qty: Quantity,
    pub unit_price: Money,
    pub discount: Discount,
    pub note: Note,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
}

/// The tax of one rate, named as the shop names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptTax {
    pub tax_id: TaxId,
    pub name: String,
    pub rate: TaxRate,
    pub base: Money,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptPayment {
    pub method_id: PaymentMethodId,
    pub name: String,
    pub amount: Money,
}

/// A counter as a receipt names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptCounter {
    pub config_id: ConfigId,
    pub name: String,
    pub session_id: SessionId,
}

/// Everything a printed receipt shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub order_id: OrderId,
    pub reference: String,
    pub receipt_number: Option<String>,
    pub shop: Shop,
    /// The counter whose session created the order.
    pub started_at: ReceiptCounter,
    /// The counter whose session took the payment.
    pub paid_at: ReceiptCounter,
    pub paid_on: Timestamp,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub note: Note,
    pub lines: Vec<ReceiptLine>,
    pub taxes: Vec<ReceiptTax>,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
    pub payments: Vec<ReceiptPayment>,
    pub change: Money,
    pub invoice_requested: bool,
    /// The invoice's id and printed number, once the store has made it.
    pub invoice: Option<ReceiptInvoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptInvoice {
    pub id: u64,
    pub number: String,
}

/// The names a receipt needs besides the order: looked up by the caller.
#[derive(Debug, Clone, Default)]
pub struct ReceiptNames {
    pub origin_config_name: Option<Name>,
    pub customer_name: Option<Name>,
    pub tax_names: BTreeMap<TaxId, Name>,
    pub method_names: BTreeMap<PaymentMethodId, Name>,
    /// The order's invoice, if it has one.
    pub invoice: Option<crate::payment::Invoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("order {0} is not paid")]
    NotPaid(OrderId),
}

/// The receipt of a paid order. Names the catalog no longer has fall back to
/// their ids, so a receipt can always be printed again.
pub fn build_receipt(
    order: &Order,
    receipt_number: Option<String>,
    shop: &Shop,
    names: &ReceiptNames,
) -> Result<Receipt, ReceiptError> {
    let paid_by = match (&order.state, &order.paid_by) {
        (OrderState::Paid, Some(paid_by)) => paid_by,
        _ => return Err(ReceiptError::NotPaid(order.id)),
    };
    let taxes = tax_breakdown(&order.lines)
        .into_iter()
        .map(|tax| ReceiptTax {
            name: names.tax_names.get(&tax.tax_id).map_or_else(
                || format!("Tax {}%", tax.rate),
                |name| name.as_str().to_owned(),
            ),
            tax_id: tax.tax_id,
            rate: tax.rate,
            base: tax.base,
            amount: tax.amount,
        })
        .collect();
    Ok(Receipt {
        order_id: order.id,
        reference: order.reference.clone(),
        receipt_number,
        shop: shop.clone(),
        started_at: ReceiptCounter {
            config_id: order.origin.config_id,
            name: names.origin_config_name.as_ref().map_or_else(
                || format!("Counter #{}", order.origin.config_id),
                |name| name.as_str().to_owned(),
            ),
            session_id: order.origin.session_id,
        },
        paid_at: ReceiptCounter {
            config_id: paid_by.config_id,
            name: paid_by.config_name.as_str().to_owned(),
            session_id: paid_by.session_id,
        },
        paid_on: order.updated_at,
        customer_id: order.customer_id,
        customer_name: names
            .customer_name
            .as_ref()
            .map(|name| name.as_str().to_owned()),
        note: order.note.clone(),
        lines: order
            .lines
            .iter()
            .map(|line| ReceiptLine {
                name: line.name.clone(),
                qty: line.qty,
                unit_price: line.unit_price,
                discount: line.discount,
                note: line.note.clone(),
                subtotal: line.subtotal,
                tax: line.tax,
                total: line.total,
            })
            .collect(),
        taxes,
        subtotal: order.totals.subtotal,
        tax: order.totals.tax,
        total: order.totals.total,
        payments: order
            .payments
            .iter()
            .map(|payment| ReceiptPayment {
                method_id: payment.method_id,
                name: names.method_names.get(&payment.method_id).map_or_else(
                    || format!("Method #{}", payment.method_id),
                    |name| name.as_str().to_owned(),
                ),
                amount: payment.amount,
            })
            .collect(),
        change: order.change,
        invoice_requested: order.invoice,
        invoice: names.invoice.as_ref().map(|invoice| ReceiptInvoice {
            id: invoice.number,
            number: invoice_number(invoice.number, invoice.at),
        }),
    })
}

/// An invoice as its document shows it: the receipt's figures under a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDocument {
    /// The sequential number, also the invoice's id in the API.
    pub id: u64,
    /// As printed: `INV/<year>/<NNNNN>`.
    pub number: String,
    pub order_id: OrderId,
    pub issued_at: Timestamp,
    pub customer: InvoiceCustomer,
    pub shop: Shop,
    pub receipt_number: Option<String>,
    pub lines: Vec<ReceiptLine>,
    pub taxes: Vec<ReceiptTax>,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
    pub payments: Vec<ReceiptPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceCustomer {
    pub id: CustomerId,
    pub name: String,
}

/// The document of `invoice`, from the receipt of its order: the same lines,
/// taxes and totals, so the two never disagree by a minor unit.
pub fn build_invoice(invoice: &crate::payment::Invoice, receipt: Receipt) -> InvoiceDocument {
    InvoiceDocument {
        id: invoice.number,
        number: invoice_number(invoice.number, invoice.at),
        order_id: invoice.order_id,
        issued_at: invoice.at,
        customer: InvoiceCustomer {
            id: invoice.customer_id,
            name: receipt
                .customer_name
                .clone()
                .unwrap_or_else(|| format!("Customer #{}", invoice.customer_id)),
        },
        shop: receipt.shop,
        receipt_number: receipt.receipt_number,
        lines: receipt.lines,
        taxes: receipt.taxes,
        subtotal: receipt.subtotal,
        tax: receipt.tax,
        total: receipt.total,
        payments: receipt.payments,
    }
}
