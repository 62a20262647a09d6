//! Ops: the intent-level edits of one order, and the codes they are refused with.

use crate::ids::*;
use crate::limits::{LINES_PER_ORDER_MAX, PAYMENTS_PER_ORDER_MAX};
use crate::numbers::{Discount, Money, Quantity};
use crate::order::Line;
use crate::text::Note;
use serde::{Deserialize, Deserializer, Serialize, de};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInput {
    pub method_id: PaymentMethodId,
    pub amount: Money,
}

fn bounded_payments<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<PaymentInput>, D::Error> {
    let payments = Vec::<PaymentInput>::deserialize(deserializer)?;
    if payments.len() > PAYMENTS_PER_ORDER_MAX {
        return Err(de::Error::custom(format!(
            "at most {PAYMENTS_PER_ORDER_MAX} payments"
        )));
    }
    Ok(payments)
}

fn bounded_lines<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Line>, D::Error> {
    let lines = Vec::<Line>::deserialize(deserializer)?;
    if lines.len() > LINES_PER_ORDER_MAX {
        return Err(de::Error::custom(format!(
            "at most {LINES_PER_ORDER_MAX} lines"
        )));
    }
    Ok(lines)
}

/// One edit of one order (`op.kind` on the wire). Unknown fields are ignored
/// so that newer clients can talk to this server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Op {
    Create {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config_id: Option<ConfigId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<Note>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        share: Option<bool>,
    },
    /// A refund draft of the paid order `refund_of`, with its negative lines
    /// (see [`crate::refund`]). Only the server makes this op, for
    /// `POST /orders/{id}/refund`: a terminal that sends it as an op is
    /// refused at decoding. It is in the history as the order's first op.
    Refund {
        refund_of: OrderId,
        #[serde(deserialize_with = "bounded_lines")]
        lines: Vec<Line>,
    },
    Share {},
    Unshare {},
    AddLine {
        line_id: LineId,
        product_id: ProductId,
        qty: Quantity,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit_price: Option<Money>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        discount: Option<Discount>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<Note>,
    },
    AddQty {
        line_id: LineId,
        delta: Quantity,
    },
    SetQty {
        line_id: LineId,
        qty: Quantity,
    },
    SetPrice {
        line_id: LineId,
        unit_price: Money,
    },
    SetDiscount {
        line_id: LineId,
        discount: Discount,
    },
    SetLineNote {
        line_id: LineId,
        note: Note,
    },
    RemoveLine {
        line_id: LineId,
    },
    SetCustomer {
        customer_id: Option<CustomerId>,
    },
    SetNote {
        note: Note,
    },
    BeginPayment {},
    CancelPayment {},
    Pay {
        #[serde(deserialize_with = "bounded_payments")]
        payments: Vec<PaymentInput>,
        expected_total: Money,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invoice: Option<bool>,
    },
    Cancel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Note>,
    },
}

/// One way to spell each op, for code and tests alike (fields not named take
/// their defaults: no catalog override, no note, no invoice).
impl Op {
    /// A new private draft (shared at once only when the config auto-shares).
    pub fn create() -> Op {
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: None,
        }
    }

    /// A new draft, shared at once when `share`.
    pub fn create_shared(share: bool) -> Op {
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: Some(share),
        }
    }

    pub fn share() -> Op {
        Op::Share {}
    }

    pub fn unshare() -> Op {
        Op::Unshare {}
    }

    /// A line at the catalog price.
    pub fn add_line(line_id: LineId, product_id: ProductId, qty: Quantity) -> Op {
        Op::AddLine {
            line_id,
            product_id,
            qty,
            unit_price: None,
            discount: None,
            note: None,
        }
    }

    pub fn add_qty(line_id: LineId, delta: Quantity) -> Op {
        Op::AddQty { line_id, delta }
    }

    pub fn set_qty(line_id: LineId, qty: Quantity) -> Op {
        Op::SetQty { line_id, qty }
    }

    pub fn set_price(line_id: LineId, unit_price: Money) -> Op {
        Op::SetPrice {
            line_id,
            unit_price,
        }
    }

    pub fn set_discount(line_id: LineId, discount: Discount) -> Op {
        Op::SetDiscount { line_id, discount }
    }

    pub fn set_line_note(line_id: LineId, note: Note) -> Op {
        Op::SetLineNote { line_id, note }
    }

    pub fn remove_line(line_id: LineId) -> Op {
        Op::RemoveLine { line_id }
    }

    pub fn set_customer(customer_id: Option<CustomerId>) -> Op {
        Op::SetCustomer { customer_id }
    }

    pub fn set_note(note: Note) -> Op {
        Op::SetNote { note }
    }

    pub fn begin_payment() -> Op {
        Op::BeginPayment {}
    }

    pub fn cancel_payment() -> Op {
        Op::CancelPayment {}
    }

    /// Pays `expected_total` with these payments, without an invoice.
    pub fn pay(payments: Vec<PaymentInput>, expected_total: Money) -> Op {
        Op::Pay {
            payments,
            expected_total,
            invoice: None,
        }
    }

    /// Pays exactly `total` with one method.
    pub fn pay_exactly(method_id: PaymentMethodId, total: Money) -> Op {
        Op::pay(
            vec![PaymentInput {
                method_id,
                amount: total,
            }],
            total,
        )
    }

    pub fn cancel() -> Op {
        Op::Cancel { reason: None }
    }
}

impl Op {
    /// Whether this op creates its order (a draft, or a refund draft).
    pub fn is_create(&self) -> bool {
        matches!(self, Op::Create { .. } | Op::Refund { .. })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Op::Create { .. } => "create",
            Op::Refund { .. } => "refund",
            Op::Share {} => "share",
            Op::Unshare {} => "unshare",
            Op::AddLine { .. } => "add_line",
            Op::AddQty { .. } => "add_qty",
            Op::SetQty { .. } => "set_qty",
            Op::SetPrice { .. } => "set_price",
            Op::SetDiscount { .. } => "set_discount",
            Op::SetLineNote { .. } => "set_line_note",
            Op::RemoveLine { .. } => "remove_line",
            Op::SetCustomer { .. } => "set_customer",
            Op::SetNote { .. } => "set_note",
            Op::BeginPayment {} => "begin_payment",
            Op::CancelPayment {} => "cancel_payment",
            Op::Pay { .. } => "pay",
            Op::Cancel { .. } => "cancel",
        }
    }
}

/// The reject codes of the wire contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    Invalid,
    Forbidden,
    NotFound,
    Exists,
    LineRemoved,
    UnknownLine,
    Paid,
    Cancelled,
    Locked,
    Stale,
    Underpaid,
    SessionClosed,
    RateLimited,
    TooLarge,
    Unavailable,
}

impl RejectCode {
    pub const ALL: [RejectCode; 15] = [
        RejectCode::Invalid,
        RejectCode::Forbidden,
        RejectCode::NotFound,
        RejectCode::Exists,
        RejectCode::LineRemoved,
        RejectCode::UnknownLine,
        RejectCode::Paid,
        RejectCode::Cancelled,
        RejectCode::Locked,
        RejectCode::Stale,
        RejectCode::Underpaid,
        RejectCode::SessionClosed,
        RejectCode::RateLimited,
        RejectCode::TooLarge,
        RejectCode::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::Invalid => "invalid",
            RejectCode::Forbidden => "forbidden",
            RejectCode::NotFound => "not_found",
            RejectCode::Exists => "exists",
            RejectCode::LineRemoved => "line_removed",
            RejectCode::UnknownLine => "unknown_line",
            RejectCode::Paid => "paid",
            RejectCode::Cancelled => "cancelled",
            RejectCode::Locked => "locked",
            RejectCode::Stale => "stale",
            RejectCode::Underpaid => "underpaid",
            RejectCode::SessionClosed => "session_closed",
            RejectCode::RateLimited => "rate_limited",
            RejectCode::TooLarge => "too_large",
            RejectCode::Unavailable => "unavailable",
        }
    }

    /// Only these may be resent with the same op_id and decided anew.
    pub fn is_retryable(self) -> bool {
        matches!(self, RejectCode::RateLimited | RejectCode::Unavailable)
    }
}

impl fmt::Display for RejectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused op: a code and a sentence a cashier can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    pub code: RejectCode,
    pub message: String,
}

impl Reject {
    pub fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Reject {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_parse_from_the_wire() {
        let op: Op = serde_json::from_str(
            r#"{"kind":"add_line","line_id":"0190a0e0-0000-7000-8000-000000000001","product_id":3,"qty":"2","extra":1}"#,
        )
        .unwrap();
        assert!(matches!(op, Op::AddLine { qty, .. } if qty.milli() == 2000));
        assert_eq!(
            serde_json::from_str::<Op>(r#"{"kind":"share"}"#).unwrap(),
            Op::Share {}
        );
        assert_eq!(
            serde_json::from_str::<Op>(r#"{"kind":"set_customer","customer_id":null}"#).unwrap(),
            Op::SetCustomer { customer_id: None }
        );
        for bad in [
            r#"{"kind":"explode"}"#,
            r#"{"kind":"add_qty","line_id":"nope","delta":"1"}"#,
            r#"{"kind":"set_qty","line_id":"0190a0e0-0000-7000-8000-000000000001","qty":"1.0001"}"#,
            r#"{"kind":"set_discount","line_id":"0190a0e0-0000-7000-8000-000000000001","discount":"101"}"#,
            r#"{"kind":"pay","payments":[],"expected_total":1.5}"#,
            r#"{"qty":"1"}"#,
        ] {
            assert!(serde_json::from_str::<Op>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reject_codes_have_their_wire_names() {
        for code in RejectCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
