//! Orders and their lines, as the server keeps them and as every terminal
//! receives them (the "order object" of the wire contract).

use crate::ids::*;
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Ids of lines that were removed, so an edit of one answers `line_removed`.
    pub removed_line_ids: BTreeSet<LineId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub updated_by: By,
}

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
}
