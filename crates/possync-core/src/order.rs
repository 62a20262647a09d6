//! Orders and their lines, as the server keeps them and as every terminal
//! receives them (the "order object" of the wire contract).

use crate::ids::*;
use crate::limits::{
    LINE_AMOUNT_ABS_MAX_MINOR, LINE_IDS_PER_ORDER_MAX, LINES_PER_ORDER_MAX, NAME_CHARS_MAX,
    PAYMENTS_PER_ORDER_MAX, TAXES_PER_LINE_MAX,
};
use crate::numbers::{Discount, Money, Quantity, TaxRate};
use crate::text::{Name, Note};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Draft,
    Paid,
    Cancelled,
}

impl OrderState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Draft => "draft",
            OrderState::Paid => "paid",
            OrderState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(OrderState::Draft),
            "paid" => Some(OrderState::Paid),
            "cancelled" => Some(OrderState::Cancelled),
            _ => None,
        }
    }
}

/// Who did something: a terminal of a session of a config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct By {
    pub session_id: SessionId,
    pub config_id: ConfigId,
    pub config_name: Name,
    pub terminal: TerminalId,
}

/// Where an order was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    pub config_id: ConfigId,
    pub session_id: SessionId,
}

/// A payment lock: while `until` is in the future, only `terminal` may edit or pay.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Lock {
    pub terminal: TerminalId,
    pub session_id: SessionId,
    pub config_id: ConfigId,
    pub config_name: Name,
    pub until: Timestamp,
}

impl Lock {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.until > now
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Payment {
    pub method_id: PaymentMethodId,
    pub amount: Money,
}

/// A tax as it applied when the line was added; later catalog edits do not
/// change the lines of open orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineTax {
    pub tax_id: TaxId,
    pub rate: TaxRate,
    pub price_included: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Totals {
    /// Before tax.
    pub subtotal: Money,
    pub tax: Money,
    /// After tax: what the customer pays.
    pub total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Line {
    pub id: LineId,
    pub product_id: ProductId,
    pub name: Name,
    pub qty: Quantity,
    pub unit_price: Money,
    pub discount: Discount,
    pub note: Note,
    pub taxes: Vec<LineTax>,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
}

/// An order. It is parsed (from the store, from the wire) only when it holds
/// the invariants of [`Order::check_invariants`]: an order read from a damaged
/// row or a forged message is refused at the edge, never half-trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedOrder")]
pub struct Order {
    pub id: OrderId,
    pub reference: String,
    pub state: OrderState,
    pub version: u64,
    pub origin: Origin,
    pub shared: bool,
    pub customer_id: Option<CustomerId>,
    pub note: Note,
    pub lines: Vec<Line>,
    pub totals: Totals,
    pub lock: Option<Lock>,
    pub payments: Vec<Payment>,
    pub change: Money,
    /// An invoice was asked for at payment.
    pub invoice: bool,
    /// The terminal and session that took the payment.
    pub paid_by: Option<By>,
    /// The receipt number the payment was given, "<config name>/<NNNN>"
    /// (PROTOCOL.md "After payment"). The store assigns it in the payment's
    /// transaction, because only the store knows the paying session's last
    /// number; `apply` never sets it. On the wire it is absent, never null,
    /// until the order is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_number: Option<String>,
    /// The paid order this order refunds (PROTOCOL.md "Refunds"): set when a
    /// refund draft is created and never changed. Absent on the wire, never
    /// null, for every other order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_of: Option<OrderId>,
    /// Ids of lines that were removed, so an edit of one answers `line_removed`.
    pub removed_line_ids: BTreeSet<LineId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub updated_by: By,
}

/// The fields of an order as they arrive, before [`Order::check_invariants`].
#[derive(Deserialize)]
struct UncheckedOrder {
    id: OrderId,
    reference: String,
    state: OrderState,
    version: u64,
    origin: Origin,
    shared: bool,
    customer_id: Option<CustomerId>,
    note: Note,
    lines: Vec<Line>,
    totals: Totals,
    lock: Option<Lock>,
    payments: Vec<Payment>,
    change: Money,
    invoice: bool,
    paid_by: Option<By>,
    #[serde(default)]
    receipt_number: Option<String>,
    #[serde(default)]
    refund_of: Option<OrderId>,
    removed_line_ids: BTreeSet<LineId>,
    created_at: Timestamp,
    updated_at: Timestamp,
    updated_by: By,
}

impl TryFrom<UncheckedOrder> for Order {
    type Error = InvalidOrder;

    fn try_from(unchecked: UncheckedOrder) -> Result<Order, InvalidOrder> {
        let UncheckedOrder {
            id,
            reference,
            state,
            version,
            origin,
            shared,
            customer_id,
            note,
            lines,
            totals,
            lock,
            payments,
            change,
            invoice,
            paid_by,
            receipt_number,
            refund_of,
            removed_line_ids,
            created_at,
            updated_at,
            updated_by,
        } = unchecked;
        let order = Order {
            id,
            reference,
            state,
            version,
            origin,
            shared,
            customer_id,
            note,
            lines,
            totals,
            lock,
            payments,
            change,
            invoice,
            paid_by,
            receipt_number,
            refund_of,
            removed_line_ids,
            created_at,
            updated_at,
            updated_by,
        };
        order.check_invariants()?;
        Ok(order)
    }
}

/// Why an order value cannot exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a consistent order: {0}")]
pub struct InvalidOrder(String);

impl Order {
    pub fn line(&self, line_id: LineId) -> Option<&Line> {
        self.lines.iter().find(|line| line.id == line_id)
    }

    pub fn is_draft(&self) -> bool {
        self.state == OrderState::Draft
    }

    /// The lock if it is still live at `now`.
    pub fn live_lock(&self, now: Timestamp) -> Option<&Lock> {
        self.lock.as_ref().filter(|lock| lock.is_live(now))
    }

    /// Number of items (sum of positive quantities), as shown on the orders screen.
    pub fn n_lines(&self) -> usize {
        self.lines.len()
    }

    /// What holds for every order `apply` makes, whatever the rounding rule of
    /// the day: a version from 1, lines within their bounds and with unique ids
    /// that are not among the removed ones, each line's total its subtotal plus
    /// its tax, every amount within a line's bound, and totals that are the
    /// sums of the lines. (Whether a line's amounts follow today's rounding rule
    /// is not checked: a paid order keeps the amounts it was paid with.)
    pub fn check_invariants(&self) -> Result<(), InvalidOrder> {
        let fail = |what: String| Err(InvalidOrder(what));
        if self.version == 0 {
            return fail("versions start at 1".to_owned());
        }
        if self.lines.len() > LINES_PER_ORDER_MAX {
            return fail(format!("more than {LINES_PER_ORDER_MAX} lines"));
        }
        if self.lines.len() + self.removed_line_ids.len() > LINE_IDS_PER_ORDER_MAX {
            return fail(format!("more than {LINE_IDS_PER_ORDER_MAX} line ids"));
        }
        if let Some(number) = &self.receipt_number {
            if self.state != OrderState::Paid {
                return fail("only a paid order has a receipt number".to_owned());
            }
            // A config name, a slash and a number of at most 20 digits.
            if number.chars().count() > NAME_CHARS_MAX + 21 {
                return fail("the receipt number is too long".to_owned());
            }
        }
        if self.payments.len() > PAYMENTS_PER_ORDER_MAX {
            return fail(format!("more than {PAYMENTS_PER_ORDER_MAX} payments"));
        }
        let mut line_ids = BTreeSet::new();
        let mut sums = [0i128; 3];
        for line in &self.lines {
            if !line_ids.insert(line.id) || self.removed_line_ids.contains(&line.id) {
                return fail(format!("line {} appears twice", line.id));
            }
            if line.taxes.len() > TAXES_PER_LINE_MAX {
                return fail(format!(
                    "line {} has more than {TAXES_PER_LINE_MAX} taxes",
                    line.id
                ));
            }
            let amounts =
                [line.subtotal, line.tax, line.total].map(|money| i128::from(money.minor()));
            if amounts
                .iter()
                .any(|amount| amount.abs() > i128::from(LINE_AMOUNT_ABS_MAX_MINOR))
            {
                return fail(format!("line {} has an amount out of range", line.id));
            }
            if amounts[0] + amounts[1] != amounts[2] {
                return fail(format!(
                    "line {}: subtotal plus tax is not the total",
                    line.id
                ));
            }
            for (sum, amount) in sums.iter_mut().zip(amounts) {
                *sum += amount;
            }
        }
        let totals = [self.totals.subtotal, self.totals.tax, self.totals.total]
            .map(|money| i128::from(money.minor()));
        if totals != sums {
            return fail("the totals are not the sums of the lines".to_owned());
        }
        Ok(())
    }
}
