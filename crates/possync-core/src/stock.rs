//! Stock moved by hand: a count, a delivery, damage, a loss, a correction.
//!
//! Sales and refunds move stock through [`crate::PaymentLedger`]; everything
//! else a manager does to a product's stock is a [`StockAdjustment`] planned
//! here from the product's [`StockLevel`] and what the manager asked
//! ([`StockAdjustmentInput`]). The store reads the level, calls
//! [`plan_stock_adjustment`] and writes the move and the new level in one
//! transaction. A listing names every move by its [`StockMoveReason`].

use crate::ids::{OrderId, ProductId, UserId};
use crate::numbers::Quantity;
use crate::payment::StockLevel;
use crate::text::Note;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// Why stock moved by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReason {
    /// The shelf was counted: the move is counted − on hand (it may be zero,
    /// which records that the count agreed).
    Count,
    /// Goods arrived: the move is positive.
    Delivery,
    /// Goods were damaged and thrown away: the move is negative.
    Damage,
    /// Goods went missing: the move is negative.
    Loss,
    /// Anything else, either way: the note says why.
    Correction,
}

impl AdjustmentReason {
    pub const ALL: [AdjustmentReason; 5] = [
        AdjustmentReason::Count,
        AdjustmentReason::Delivery,
        AdjustmentReason::Damage,
        AdjustmentReason::Loss,
        AdjustmentReason::Correction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentReason::Count => "count",
            AdjustmentReason::Delivery => "delivery",
            AdjustmentReason::Damage => "damage",
            AdjustmentReason::Loss => "loss",
            AdjustmentReason::Correction => "correction",
        }
    }

    pub fn parse(text: &str) -> Option<AdjustmentReason> {
        AdjustmentReason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
    }
}

/// Why any stock move happened, as a listing shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockMoveReason {
    /// A paid order took goods out.
    Sale,
    /// A paid order brought goods back (a refund or a returned line).
    Refund,
    Count,
    Delivery,
    Damage,
    Loss,
    Correction,
}

impl StockMoveReason {
    /// The reason of a move written by a payment: goods out are a sale, goods in a refund.
    pub fn of_payment(qty: Quantity) -> StockMoveReason {
        if qty > Quantity::ZERO {
            StockMoveReason::Refund
        } else {
            StockMoveReason::Sale
        }
    }
}

impl From<AdjustmentReason> for StockMoveReason {
    fn from(reason: AdjustmentReason) -> StockMoveReason {
        match reason {
            AdjustmentReason::Count => StockMoveReason::Count,
            AdjustmentReason::Delivery => StockMoveReason::Delivery,
            AdjustmentReason::Damage => StockMoveReason::Damage,
            AdjustmentReason::Loss => StockMoveReason::Loss,
            AdjustmentReason::Correction => StockMoveReason::Correction,
        }
    }
}

/// What a manager asks for: `{"reason": "count", "counted": "12"}`, or
/// `{"reason": "delivery", "qty": "24", "note": "Supplier note 118"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustmentInput {
    pub reason: AdjustmentReason,
    /// The signed move, for every reason but a count.
    #[serde(default)]
    pub qty: Option<Quantity>,
    /// What was counted on the shelf, for a count only.
    #[serde(default)]
    pub counted: Option<Quantity>,
    #[serde(default)]
    pub note: Note,
}

/// The move an adjustment makes and the stock on hand after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockAdjustment {
    pub reason: AdjustmentReason,
    /// Signed: positive brings goods in.
    pub qty: Quantity,
    pub on_hand: Quantity,
}

/// Why an adjustment cannot be made; each says what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockAdjustmentError {
    #[error("this product does not track stock")]
    NotTracked,
    #[error("a count gives what was counted (`counted`), not a `qty`")]
    CountNeedsCounted,
    #[error("a counted quantity cannot be negative")]
    NegativeCount,
    #[error("reason `{0}` gives the quantity moved (`qty`), not `counted`")]
    NeedsQty(&'static str),
    #[error("reason `{0}` moves a quantity other than zero")]
    ZeroMove(&'static str),
    #[error("a delivery brings goods in: qty must be positive")]
    DeliveryTakesOut,
    #[error("reason `{0}` takes goods out: qty must be negative")]
    RemovalBringsIn(&'static str),
    #[error("the stock on hand would leave the range of a quantity")]
    OutOfRange,
    #[error("a correction needs a note that says why")]
    CorrectionWithoutNote,
}

/// Plans a manual adjustment of a product whose stock is `level`.
///
/// A count moves stock to what was counted; a delivery moves it up, damage
/// and loss down; a correction either way, with a note. Every adjustment but a
/// count that agreed moves something.
pub fn plan_stock_adjustment(
    level: StockLevel,
    input: &StockAdjustmentInput,
) -> Result<StockAdjustment, StockAdjustmentError> {
    use AdjustmentReason as R;
    use StockAdjustmentError as E;
    if !level.tracks_stock {
        return Err(E::NotTracked);
    }
    let qty = match input.reason {
        R::Count => {
            if input.qty.is_some() {
                return Err(E::CountNeedsCounted);
            }
            let counted = input.counted.ok_or(E::CountNeedsCounted)?;
            if counted < Quantity::ZERO {
                return Err(E::NegativeCount);
            }
            Quantity::from_milli(counted.milli() - level.on_hand.milli())
                .map_err(|_| E::OutOfRange)?
        }
        reason => {
            let name = reason.as_str();
            if input.counted.is_some() {
                return Err(E::NeedsQty(name));
            }
            let qty = input.qty.ok_or(E::NeedsQty(name))?;
            if qty == Quantity::ZERO {
                return Err(E::ZeroMove(name));
            }
            match reason {
                R::Delivery if qty < Quantity::ZERO => return Err(E::DeliveryTakesOut),
                R::Damage | R::Loss if qty > Quantity::ZERO => {
                    return Err(E::RemovalBringsIn(name));
                }
                R::Correction if input.note.as_str().trim().is_empty() => {
                    return Err(E::CorrectionWithoutNote);
                }
                _ => {}
            }
            qty
        }
    };
    let on_hand = level.on_hand.checked_add(qty).map_err(|_| E::OutOfRange)?;
    Ok(StockAdjustment {
        reason: input.reason,
        qty,
        on_hand,
    })
}

/// One stock move as the back office lists it: a sale or refund (with its
/// order and receipt number) or an adjustment (with who made it and why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMoveEntry {
    /// Ascending in the order moves were written.
    pub id: i64,
    pub product_id: ProductId,
    /// Signed: positive brings goods in.
    pub qty: Quantity,
    pub reason: StockMoveReason,
    pub note: Note,
    pub at: Timestamp,
    /// The paid order of a sale or refund.
    pub order_id: Option<OrderId>,
    /// That order's receipt number, when it has one.
    pub receipt_number: Option<String>,
    /// Who made an adjustment.
    pub user_id: Option<UserId>,
}
