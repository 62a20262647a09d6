//! Refunds: which lines of a paid order may still be refunded, and the
//! negative lines a refund draft starts with (PROTOCOL.md "Refunds").
//!
//! A refund is a new draft whose lines are copies of the paid order's lines
//! (same product, price, discount and taxes) with negative quantities, and
//! `refund_of` naming the paid order. A refund line keeps the `line_id` of the
//! line it refunds: line ids are unique within an order, and a refund draft's
//! lines are fixed at creation (see [`changes_refund_lines`]), so the id is the
//! mapping. No line is ever refunded beyond what was sold, counting every
//! refund of the order that is not cancelled (drafts and paid alike): the
//! server checks that here before it creates the draft, and the store checks
//! it again, with the paid order's row locked, in the transaction that writes
//! the draft ([`check_refunds_within_sold`]), which is what holds when two
//! servers refund the same line at once.

use crate::ids::{LineId, OrderId};
use crate::limits::LINES_PER_ORDER_MAX;
use crate::numbers::Quantity;
use crate::op::{Op, Reject, RejectCode};
use crate::order::{Line, Order, OrderState};
use crate::totals::recompute_line;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One line of a refund as the till asks for it: which line of the paid
/// order, and how many of it come back (positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLineRequest {
    pub line_id: LineId,
    pub qty: Quantity,
}

fn invalid(message: impl Into<String>) -> Reject {
    Reject::new(RejectCode::Invalid, message)
}

/// The one rule of refunds, on one line: `requested` more units may come back
/// when they are positive and, with `already_refunded`, stay within `sold`.
pub fn check_refund_qty(
    sold: Quantity,
    already_refunded: Quantity,
    requested: Quantity,
) -> Result<(), Reject> {
    if requested.milli() <= 0 {
        return Err(invalid("a refunded quantity must be more than zero"));
    }
    let left = sold.milli() - already_refunded.milli();
    if requested.milli() > left {
        return Err(invalid(format!(
            "only {} of this line can still be refunded (sold {sold}, refunded {already_refunded})",
            Quantity::from_milli(left.max(0)).unwrap_or(Quantity::ZERO)
        )));
    }
    Ok(())
}

/// How much of each line of `refund_of` the refunds in `refunds` bring back
/// (cancelled refunds and orders that refund another order count nothing).
pub fn refunded_quantities(refund_of: OrderId, refunds: &[Order]) -> BTreeMap<LineId, Quantity> {
    let mut refunded: BTreeMap<LineId, Quantity> = BTreeMap::new();
    for refund in refunds
        .iter()
        .filter(|order| order.refund_of == Some(refund_of) && order.state != OrderState::Cancelled)
    {
        for line in &refund.lines {
            let sum = refunded.entry(line.id).or_default();
            *sum = sum.saturating_add(-line.qty);
        }
    }
    refunded
}

/// What may still be refunded of each line of the paid order `original`,
/// given its refunds that are not cancelled: the till's refund dialog shows it.
pub fn refundable_quantities(original: &Order, refunds: &[Order]) -> BTreeMap<LineId, Quantity> {
    let refunded = refunded_quantities(original.id, refunds);
    original
        .lines
        .iter()
        .map(|line| {
            let back = refunded.get(&line.id).copied().unwrap_or_default();
            let left = (line.qty.milli() - back.milli()).max(0);
            (
                line.id,
                Quantity::from_milli(left).unwrap_or(Quantity::ZERO),
            )
        })
        .collect()
}

/// The negative lines a refund of `requested` starts with, or why it is
/// refused (`invalid`): the original must be a paid sale (not itself a
/// refund), each requested line one of its lines, asked once, for a positive
/// quantity that stays within what was sold minus what `refunds` (the
/// original's other refunds) already bring back.
pub fn refund_lines(
    original: &Order,
    refunds: &[Order],
    requested: &[RefundLineRequest],
) -> Result<Vec<Line>, Reject> {
    if original.state != OrderState::Paid {
        return Err(invalid("only a paid order can be refunded"));
    }
    if original.refund_of.is_some() {
        return Err(invalid("a refund cannot be refunded"));
    }
    if requested.is_empty() {
        return Err(invalid("a refund needs at least one line"));
    }
    if requested.len() > LINES_PER_ORDER_MAX {
        return Err(invalid(format!(
            "a refund has at most {LINES_PER_ORDER_MAX} lines"
        )));
    }
    let refunded = refunded_quantities(original.id, refunds);
    let mut seen = BTreeSet::new();
    let mut lines = Vec::with_capacity(requested.len());
    for request in requested {
        if !seen.insert(request.line_id) {
            return Err(invalid(format!(
                "line {} is asked for twice in this refund",
                request.line_id
            )));
        }
        let sold = original.line(request.line_id).ok_or_else(|| {
            invalid(format!(
                "line {} is not a line of this order",
                request.line_id
            ))
        })?;
        let already = refunded.get(&request.line_id).copied().unwrap_or_default();
        check_refund_qty(sold.qty, already, request.qty)?;
        let mut line = sold.clone();
        line.qty = -request.qty;
        recompute_line(&mut line).map_err(|error| invalid(error.to_string()))?;
        lines.push(line);
    }
    Ok(lines)
}

/// The store's backstop, run with the original's row locked after the
/// batch's refund drafts are written: every line that the original's refunds
/// (those not cancelled, new ones included) bring back is a line of the
/// original, and none comes back beyond what was sold.
pub fn check_refunds_within_sold(original: &Order, refunds: &[Order]) -> Result<(), Reject> {
    for (line_id, refunded) in refunded_quantities(original.id, refunds) {
        let Some(sold) = original.line(line_id) else {
            return Err(invalid(format!(
                "line {line_id} is not a line of the refunded order"
            )));
        };
        if refunded.milli() > sold.qty.milli() {
            return Err(invalid(format!(
                "line {line_id} would be refunded {refunded} times, it was sold {}",
                sold.qty
            )));
        }
    }
    Ok(())
}

/// Whether `op` would change the lines of a draft (add, quantity, price,
/// discount, removal): a refund draft's lines are fixed when it is created,
/// so these are refused on it.
pub fn changes_refund_lines(op: &Op) -> bool {
    matches!(
        op,
        Op::AddLine { .. }
            | Op::AddQty { .. }
            | Op::SetQty { .. }
            | Op::SetPrice { .. }
            | Op::SetDiscount { .. }
            | Op::RemoveLine { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qty(text: &str) -> Quantity {
        text.parse().unwrap()
    }

    #[test]
    fn a_line_comes_back_at_most_as_often_as_it_was_sold() {
        assert!(check_refund_qty(qty("2"), qty("0"), qty("2")).is_ok());
        assert!(check_refund_qty(qty("2"), qty("1"), qty("1")).is_ok());
        assert!(check_refund_qty(qty("2"), qty("1.5"), qty("0.5")).is_ok());
        for (sold, already, requested) in [
            ("2", "0", "2.001"),
            ("2", "2", "1"),
            ("2", "1", "1.001"),
            ("2", "0", "0"),
            ("2", "0", "-1"),
        ] {
            let reject = check_refund_qty(qty(sold), qty(already), qty(requested)).unwrap_err();
            assert_eq!(
                reject.code,
                RejectCode::Invalid,
                "{sold} {already} {requested}"
            );
        }
    }
}
