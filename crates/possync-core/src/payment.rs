//! What a payment leaves behind once an order becomes paid: the payments booked
//! to the session that took it, the next receipt number of that session, the tax
//! per rate, a stock move per line of a tracked product (and the stock on hand
//! after it), and the next invoice number when one was asked for.
//!
//! The store loads a [`PaymentLedger`] (the stock levels of the products a
//! batch's payments touch, the last invoice number) inside its transaction,
//! calls [`PaymentLedger::record`] for each order that became paid, in commit
//! order, and writes the [`PaymentEffects`] it answers. The ledger carries its
//! numbers from one payment to the next, so two payments in one batch get
//! consecutive invoice numbers and chained stock levels, exactly as if each
//! were committed on its own. Numbers come from the ledger alone: a store never
//! takes them from an auto-increment, which could leave gaps.

use crate::ids::{CustomerId, OrderId, ProductId, SessionId};
use crate::numbers::{Money, Quantity};
use crate::order::{Order, OrderState, Payment};
use crate::receipt::{TaxAmount, receipt_number, tax_breakdown};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One stock movement, written when an order with tracked products is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMove {
    pub product_id: ProductId,
    pub order_id: OrderId,
    /// Negative when goods leave the shop.
    pub qty: Quantity,
    pub at: Timestamp,
}

/// An invoice, written when an order paid with `invoice` asked for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// Sequential, starting at 1, never reused, without gaps.
    pub number: u64,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    /// The order's total.
    pub total: Money,
    pub at: Timestamp,
}

/// A product's stock, as far as a payment needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub tracks_stock: bool,
    pub on_hand: Quantity,
}

/// The stock on hand of a product after a payment's moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnHand {
    pub product_id: ProductId,
    pub on_hand: Quantity,
}

/// Everything one payment writes besides the order itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEffects {
    pub order_id: OrderId,
    /// The session that took the payment: its report counts these payments.
    pub session_id: SessionId,
    pub at: Timestamp,
    /// The order's payments, booked to `session_id`.
    pub payments: Vec<Payment>,
    /// The order's number in the paying session, 1 for its first payment, without gaps.
    pub receipt_sequence: u64,
    /// As printed: `<paying config name>/<NNNN>`.
    pub receipt_number: String,
    /// The order's tax per (tax, rate); the amounts add up to the order's tax.
    pub taxes: Vec<TaxAmount>,
    /// One move per line of a tracked product with a quantity, in line order.
    pub stock_moves: Vec<StockMove>,
    /// The stock on hand of each moved product after all of this payment's moves, by product id.
    pub on_hand: Vec<OnHand>,
    pub invoice: Option<Invoice>,
    /// Lines whose product the store does not know (products are never deleted,
    /// so the line came from elsewhere): the payment stands, the move has
    /// nowhere to go. The store logs them.
    pub unknown_products: Vec<ProductId>,
}

/// Why a payment cannot be recorded. The engine never produces these orders;
/// a store refuses the batch that holds one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("order {0} is not paid")]
    NotPaid(OrderId),
    #[error("order {0} is paid but does not say who took the payment")]
    NoPayer(OrderId),
    #[error("order {0} asks for an invoice but has no customer")]
    InvoiceWithoutCustomer(OrderId),
    #[error("invoice numbers are exhausted")]
    InvoiceNumbersExhausted,
    #[error("receipt numbers of session {0} are exhausted")]
    ReceiptNumbersExhausted(SessionId),
}

/// The running state payments draw from: stock levels and the last invoice
/// number, as the store holds them before the first payment of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLedger {
    /// The products the payments touch (see [`PaymentLedger::products_of`]);
    /// a product missing here is an unknown product.
    pub stock: BTreeMap<ProductId, StockLevel>,
    /// 0 before the first invoice.
    pub last_invoice_number: u64,
    /// The last receipt number of each paying session (see
    /// [`PaymentLedger::session_of`]); a session missing here has none yet.
    pub last_receipt_numbers: BTreeMap<SessionId, u64>,
}

impl PaymentLedger {
    /// The products whose stock level the ledger needs to record `order`'s payment.
    pub fn products_of(order: &Order) -> BTreeSet<ProductId> {
        order
            .lines
            .iter()
            .filter(|line| line.qty != Quantity::ZERO)
            .map(|line| line.product_id)
            .collect()
    }

    /// The session whose receipt counter `order`'s payment draws from.
    pub fn session_of(order: &Order) -> Option<SessionId> {
        order.paid_by.as_ref().map(|by| by.session_id)
    }

    /// Records the payment of `order` (paid at `at`) and answers what to write.
    ///
    /// Goods leave the shop: a sale of 2 is a move of −2, a returned 1 a move
    /// of +1. Stock on hand is clamped to what a [`Quantity`] can hold: refusing
    /// a payment the engine has already accepted because a stock count ran past
    /// a million units would be worse than a figure that needs a recount.
    /// On an error the ledger is unchanged.
    pub fn record(&mut self, order: &Order, at: Timestamp) -> Result<PaymentEffects, PaymentError> {
        if order.state != OrderState::Paid {
            return Err(PaymentError::NotPaid(order.id));
        }
        let paid_by = order
            .paid_by
            .as_ref()
            .ok_or(PaymentError::NoPayer(order.id))?;
        let invoice = if order.invoice {
            let customer_id = order
                .customer_id
                .ok_or(PaymentError::InvoiceWithoutCustomer(order.id))?;
            let number = self
                .last_invoice_number
                .checked_add(1)
                .filter(|&number| i64::try_from(number).is_ok())
                .ok_or(PaymentError::InvoiceNumbersExhausted)?;
            Some(Invoice {
                number,
                order_id: order.id,
                customer_id,
                total: order.totals.total,
                at,
            })
        } else {
            None
        };
        let receipt_sequence = self
            .last_receipt_numbers
            .get(&paid_by.session_id)
            .copied()
            .unwrap_or(0)
            .checked_add(1)
            .filter(|&number| i64::try_from(number).is_ok())
            .ok_or(PaymentError::ReceiptNumbersExhausted(paid_by.session_id))?;

        let mut stock_moves = Vec::new();
        let mut on_hand: BTreeMap<ProductId, Quantity> = BTreeMap::new();
        let mut unknown_products = Vec::new();
        for line in order.lines.iter().filter(|line| line.qty != Quantity::ZERO) {
            let Some(level) = self.stock.get(&line.product_id) else {
                unknown_products.push(line.product_id);
                continue;
            };
            if !level.tracks_stock {
                continue;
            }
            let before = on_hand
                .get(&line.product_id)
                .copied()
                .unwrap_or(level.on_hand);
            let moved = -line.qty;
            stock_moves.push(StockMove {
                product_id: line.product_id,
                order_id: order.id,
                qty: moved,
                at,
            });
            on_hand.insert(line.product_id, before.saturating_add(moved));
        }

        // Nothing failed: the ledger moves on.
        self.last_receipt_numbers
            .insert(paid_by.session_id, receipt_sequence);
        if let Some(invoice) = &invoice {
            self.last_invoice_number = invoice.number;
        }
        for (product_id, quantity) in &on_hand {
            if let Some(level) = self.stock.get_mut(product_id) {
                level.on_hand = *quantity;
            }
        }
        Ok(PaymentEffects {
            order_id: order.id,
            session_id: paid_by.session_id,
            at,
            payments: order.payments.clone(),
            receipt_sequence,
            receipt_number: receipt_number(&paid_by.config_name, receipt_sequence),
            taxes: tax_breakdown(&order.lines),
            stock_moves,
            on_hand: on_hand
                .into_iter()
                .map(|(product_id, on_hand)| OnHand {
                    product_id,
                    on_hand,
                })
                .collect(),
            invoice,
            unknown_products,
        })
    }
}
