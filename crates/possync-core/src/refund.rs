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
//!
//! The money follows the quantities, never the price list: a refund line's
//! amounts are what makes the line's refunds so far, with this one, the
//! sold amounts in proportion to the quantity brought back (rounded half away
//! from zero), so a line refunded in pieces never pays out more than it took
//! in, and the refund that brings back its last unit pays out exactly what is
//! left. (Pricing each piece again by the rule would round every piece up:
//! a 5.00 line refunded 0.001 at a time would pay out 10.00.)

use crate::ids::{LineId, OrderId};
use crate::limits::{LINES_PER_ORDER_MAX, QUANTITY_ABS_MAX_MILLI};
use crate::numbers::Money;
use crate::numbers::Quantity;
use crate::op::{Op, Reject, RejectCode};
use crate::order::{Line, Order, OrderState};
use crate::totals::div_round_half_away;
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

/// What the refunds of one line bring back so far: units, and money as
/// positive amounts (a refund line holds them negated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Refunded {
    qty: i128,
    subtotal: i128,
    tax: i128,
}

/// What the refunds in `refunds` bring back of each line of `refund_of`
/// (cancelled refunds and orders that refund another order count nothing).
fn refunded(refund_of: OrderId, refunds: &[Order]) -> BTreeMap<LineId, Refunded> {
    let mut refunded: BTreeMap<LineId, Refunded> = BTreeMap::new();
    for refund in refunds
        .iter()
        .filter(|order| order.refund_of == Some(refund_of) && order.state != OrderState::Cancelled)
    {
        for line in &refund.lines {
            let sum = refunded.entry(line.id).or_default();
            sum.qty -= i128::from(line.qty.milli());
            sum.subtotal -= i128::from(line.subtotal.minor());
            sum.tax -= i128::from(line.tax.minor());
        }
    }
    refunded
}

/// Converts a sum of line quantities back (bounded: lines are bounded in
/// quantity and in number, and refunds per order by the store).
fn quantity(milli: i128) -> Quantity {
    let bound = i128::from(QUANTITY_ABS_MAX_MILLI);
    let clamped = i64::try_from(milli.clamp(-bound, bound)).unwrap_or(0);
    Quantity::from_milli(clamped).unwrap_or(Quantity::ZERO)
}

/// How much of each line of `refund_of` the refunds in `refunds` bring back
/// (cancelled refunds and orders that refund another order count nothing).
pub fn refunded_quantities(refund_of: OrderId, refunds: &[Order]) -> BTreeMap<LineId, Quantity> {
    refunded(refund_of, refunds)
        .into_iter()
        .map(|(line_id, back)| (line_id, quantity(back.qty)))
        .collect()
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
    let refunded = refunded(original.id, refunds);
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
        check_refund_qty(sold.qty, quantity(already.qty), request.qty)?;
        lines.push(refund_line(sold, already, request.qty));
    }
    Ok(lines)
}

/// The negative copy of `sold` that brings back `requested` more units
/// after `already`: its amounts take the line's refunds, with this one, to the
/// sold amounts in proportion to the units brought back (see the module's
/// documentation). `requested` was checked to stay within what was sold.
fn refund_line(sold: &Line, already: Refunded, requested: Quantity) -> Line {
    let sold_qty = i128::from(sold.qty.milli());
    let after = already.qty + i128::from(requested.milli());
    // In proportion, and never back past what earlier refunds paid out (they
    // may have been priced by another rule): each amount moves one way only.
    let share = |sold_amount: Money, so_far: i128| -> i128 {
        let sold_amount = i128::from(sold_amount.minor());
        let target = div_round_half_away(sold_amount * after, sold_qty);
        let step = target - so_far;
        if step.signum() == -sold_amount.signum() {
            0
        } else {
            step
        }
    };
    let subtotal = share(sold.subtotal, already.subtotal);
    let tax = share(sold.tax, already.tax);
    // Each step is at most the sold amount, which is a line's amount.
    let money = |minor: i128| Money::from_i128(-minor).unwrap_or(Money::ZERO);
    let mut line = sold.clone();
    line.qty = -requested;
    line.subtotal = money(subtotal);
    line.tax = money(tax);
    line.total = money(subtotal + tax);
    line
}

/// The store's backstop, run with the original's row locked after the
/// batch's refund drafts are written: every line that the original's refunds
/// (those not cancelled, new ones included) bring back is a line of the
/// original, and none comes back beyond what was sold.
pub fn check_refunds_within_sold(original: &Order, refunds: &[Order]) -> Result<(), Reject> {
    for (line_id, back) in refunded(original.id, refunds) {
        let Some(sold) = original.line(line_id) else {
            return Err(invalid(format!(
                "line {line_id} is not a line of the refunded order"
            )));
        };
        if back.qty > i128::from(sold.qty.milli()) {
            return Err(invalid(format!(
                "line {line_id} would be refunded {} times, it was sold {}",
                quantity(back.qty),
                sold.qty
            )));
        }
        let total = back.subtotal + back.tax;
        let sold_total = i128::from(sold.total.minor());
        if total.abs() > sold_total.abs() || total.signum() * sold_total.signum() < 0 {
            return Err(invalid(format!(
                "line {line_id} would pay back {}, it took in {}",
                Money::from_i128(total).unwrap_or(Money::ZERO),
                sold.total
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
