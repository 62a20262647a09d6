//! `apply`: the one function that turns an order and an op into the next
//! order or a reject. It is pure: the caller passes who is acting, the time,
//! a view of the catalog and the reference for a new order.
//!
//! The caller (the engine) has already checked that the acting session may see
//! the order and that its session is open; `apply` decides everything that
//! depends on the order itself: state, lock, lines, amounts and payment rules.

use crate::catalog::PaymentMethodKind;
use crate::ids::*;
use crate::limits::{
    LINE_AMOUNT_ABS_MAX_MINOR, LINE_IDS_PER_ORDER_MAX, LINES_PER_ORDER_MAX, PAYMENTS_PER_ORDER_MAX,
};
use crate::numbers::{Discount, Money, Quantity};
use crate::op::{Op, PaymentInput, Reject, RejectCode};
use crate::order::{By, Line, LineTax, Lock, Order, OrderState, Origin, Payment, Totals};
use crate::refund::changes_refund_lines;
use crate::rights::Rights;
use crate::text::{Name, Note};
use crate::timestamp::Timestamp;
use crate::totals::{order_totals, recompute_line};
use std::collections::BTreeSet;

/// What a line needs from a product at the moment it is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleProduct {
    pub name: Name,
    pub price: Money,
    pub taxes: Vec<LineTax>,
}

/// The part of the catalog that ops refer to.
pub trait CatalogView {
    fn sale_product(&self, product_id: ProductId) -> Option<SaleProduct>;
    fn customer_exists(&self, customer_id: CustomerId) -> bool;
    fn payment_method_kind(&self, method_id: PaymentMethodId) -> Option<PaymentMethodKind>;
}

/// Everything `apply` needs besides the order and the op.
#[derive(Clone, Copy)]
pub struct ApplyContext<'a> {
    pub by: &'a By,
    pub now: Timestamp,
    pub catalog: &'a dyn CatalogView,
    /// How long `begin_payment` locks the order.
    pub lease_ms: i64,
    /// The acting config shares new drafts at once.
    pub auto_share: bool,
    /// The human reference a new order gets ("Counter 1 - 0042").
    pub reference: &'a str,
    /// What the acting terminal may do with money (see [`crate::rights`]).
    pub rights: Rights,
}

impl std::fmt::Debug for ApplyContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyContext")
            .field("by", self.by)
            .field("now", &self.now)
            .field("lease_ms", &self.lease_ms)
            .field("auto_share", &self.auto_share)
            .field("reference", &self.reference)
            .field("rights", &self.rights)
            .finish_non_exhaustive()
    }
}

/// The result of an accepted op. Returned once per op and moved on at once,
/// so the large variant is not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The order at its next version.
    Changed(Order),
    /// A `create` of an order that already exists with the same content: accepted, nothing to do.
    Unchanged,
}

fn reject(code: RejectCode, message: impl Into<String>) -> Reject {
    Reject::new(code, message)
}

fn invalid(message: impl Into<String>) -> Reject {
    reject(RejectCode::Invalid, message)
}

/// Applies `op` to the order `current` (None when it does not exist yet).
pub fn apply(
    current: Option<&Order>,
    order_id: OrderId,
    op: &Op,
    ctx: &ApplyContext<'_>,
) -> Result<Applied, Reject> {
    if let Op::Create {
        config_id,
        customer_id,
        note,
        share,
    } = op
    {
        return create(
            current,
            order_id,
            *config_id,
            *customer_id,
            note,
            *share,
            ctx,
        );
    }
    if let Op::Refund { refund_of, lines } = op {
        ctx.rights.check(op)?;
        return create_refund(current, order_id, *refund_of, lines, ctx);
    }
    let Some(current) = current else {
        return Err(reject(RejectCode::NotFound, "no such order"));
    };
    ctx.rights.check(op)?;
    match current.state {
        OrderState::Draft => {}
        OrderState::Paid => return Err(reject(RejectCode::Paid, "this order is already paid")),
        OrderState::Cancelled => {
            return Err(reject(RejectCode::Cancelled, "this order was cancelled"));
        }
    }
    if current.refund_of.is_some() && changes_refund_lines(op) {
        return Err(invalid(
            "the lines of a refund are fixed when it is made: cancel it and make a new refund",
        ));
    }
    // A manager's approval lets another terminal release a lock whose
    // holder vanished before its lease ends (PROTOCOL.md "Manager approval").
    let approved_release = matches!(op, Op::CancelPayment {}) && ctx.rights.approved_by.is_some();
    if let Some(lock) = current.live_lock(ctx.now)
        && lock.terminal != ctx.by.terminal
        && !approved_release
    {
        return Err(reject(
            RejectCode::Locked,
            format!("being paid at {}", lock.config_name),
        ));
    }

    let Some(next_version) = current.version.checked_add(1) else {
        return Err(reject(
            RejectCode::TooLarge,
            "this order has had every version it can have: start a new order",
        ));
    };
    let mut next = current.clone();
    // An expired lock is dropped by the first op that comes after it.
    if next
        .lock
        .as_ref()
        .is_some_and(|lock| !lock.is_live(ctx.now))
    {
        next.lock = None;
    }
    edit(&mut next, op, ctx)?;
    if let Op::AddLine { line_id, .. } | Op::AddQty { line_id, .. } | Op::SetQty { line_id, .. } =
        op
        && let Some(line) = next.line(*line_id)
    {
        let before = current
            .line(*line_id)
            .map_or(Money::ZERO, |line| line.total);
        ctx.rights.check_line(before, line)?;
    }
    next.version = next_version;
    next.updated_at = ctx.now;
    next.updated_by = ctx.by.clone();
    next.totals = order_totals(&next.lines);
    Ok(Applied::Changed(next))
}

fn create(
    current: Option<&Order>,
    order_id: OrderId,
    config_id: Option<ConfigId>,
    customer_id: Option<CustomerId>,
    note: &Option<Note>,
    share: Option<bool>,
    ctx: &ApplyContext<'_>,
) -> Result<Applied, Reject> {
    if config_id.is_some_and(|config_id| config_id != ctx.by.config_id) {
        return Err(reject(
            RejectCode::Forbidden,
            "an order is created in the caller's own config",
        ));
    }
    if let Some(customer_id) = customer_id
        && !ctx.catalog.customer_exists(customer_id)
    {
        return Err(invalid(format!("unknown customer {customer_id}")));
    }
    let shared = share.unwrap_or(false) || ctx.auto_share;
    let note = note.clone().unwrap_or_default();
    if let Some(existing) = current {
        return created_again(
            existing.origin.session_id == ctx.by.session_id
                && existing.customer_id == customer_id
                && existing.note == note
                && existing.state == OrderState::Draft,
        );
    }
    Ok(Applied::Changed(Order {
        shared,
        customer_id,
        note,
        ..new_draft(order_id, ctx)
    }))
}

/// A new, empty, unshared draft made at the caller's session, at version 1.
fn new_draft(order_id: OrderId, ctx: &ApplyContext<'_>) -> Order {
    Order {
        id: order_id,
        reference: ctx.reference.to_owned(),
        state: OrderState::Draft,
        version: 1,
        origin: Origin {
            config_id: ctx.by.config_id,
            session_id: ctx.by.session_id,
        },
        shared: false,
        customer_id: None,
        note: Note::default(),
        lines: Vec::new(),
        totals: Totals::default(),
        lock: None,
        payments: Vec::new(),
        change: Money::ZERO,
        invoice: false,
        paid_by: None,
        receipt_number: None,
        refund_of: None,
        removed_line_ids: BTreeSet::new(),
        created_at: ctx.now,
        updated_at: ctx.now,
        updated_by: ctx.by.clone(),
    }
}

/// The answer to an op that creates an order whose id exists: a resend of the
/// same creation (`same`) changes nothing, anything else is refused.
fn created_again(same: bool) -> Result<Applied, Reject> {
    if same {
        Ok(Applied::Unchanged)
    } else {
        Err(reject(
            RejectCode::Exists,
            "an order with this id already exists",
        ))
    }
}

/// A refund draft: a new order at the caller's session whose lines, made by
/// [`crate::refund::refund_lines`], are negative copies of lines of the paid
/// order `refund_of`. Their amounts are the op's (a refund's money follows
/// what was sold, not today's pricing rule: see [`crate::refund`]); they are
/// checked here, so an order `apply` makes holds its invariants whatever the
/// op carries.
fn create_refund(
    current: Option<&Order>,
    order_id: OrderId,
    refund_of: OrderId,
    lines: &[Line],
    ctx: &ApplyContext<'_>,
) -> Result<Applied, Reject> {
    if refund_of == order_id {
        return Err(invalid("an order cannot refund itself"));
    }
    if lines.is_empty() {
        return Err(invalid("a refund needs at least one line"));
    }
    if lines.len() > LINES_PER_ORDER_MAX {
        return Err(reject(
            RejectCode::TooLarge,
            format!("an order holds at most {LINES_PER_ORDER_MAX} lines"),
        ));
    }
    let mut line_ids = BTreeSet::new();
    let mut checked = Vec::with_capacity(lines.len());
    for line in lines {
        if line.qty.milli() >= 0 {
            return Err(invalid("every line of a refund has a negative quantity"));
        }
        if !line_ids.insert(line.id) {
            return Err(invalid("a line is refunded twice in one refund"));
        }
        check_unit_price(line.unit_price)?;
        let amounts = [line.subtotal, line.tax, line.total].map(|money| i128::from(money.minor()));
        if amounts
            .iter()
            .any(|amount| amount.abs() > i128::from(LINE_AMOUNT_ABS_MAX_MINOR))
            || amounts[0] + amounts[1] != amounts[2]
        {
            return Err(invalid(
                "a refund line's total is its subtotal plus its tax, within a line's bound",
            ));
        }
        checked.push(line.clone());
    }
    if let Some(existing) = current {
        return created_again(
            existing.origin.session_id == ctx.by.session_id
                && existing.refund_of == Some(refund_of)
                && existing.state == OrderState::Draft
                && existing.version == 1
                && existing.lines == checked,
        );
    }
    Ok(Applied::Changed(Order {
        shared: ctx.auto_share,
        totals: order_totals(&checked),
        lines: checked,
        refund_of: Some(refund_of),
        ..new_draft(order_id, ctx)
    }))
}

/// Finds a live line, telling a removed line apart from one that never existed.
fn line_mut(order: &mut Order, line_id: LineId) -> Result<&mut Line, Reject> {
    if order.removed_line_ids.contains(&line_id) {
        return Err(reject(RejectCode::LineRemoved, "this line was removed"));
    }
    order
        .lines
        .iter_mut()
        .find(|line| line.id == line_id)
        .ok_or_else(|| reject(RejectCode::UnknownLine, "no such line in this order"))
}

/// Changes one line and recomputes its amounts, refusing amounts out of range.
/// Changes a line's price, quantity or discount and reprices it. A change
/// that leaves those as they were leaves the amounts as they were too: an
/// order stored under an older rounding rule keeps its amounts until a line
/// is really repriced (the `apply_sequence` fuzz target found the difference).
fn edit_line(
    order: &mut Order,
    line_id: LineId,
    change: impl FnOnce(&mut Line) -> Result<(), Reject>,
) -> Result<(), Reject> {
    let line = line_mut(order, line_id)?;
    let before = (line.unit_price, line.qty, line.discount);
    change(line)?;
    if (line.unit_price, line.qty, line.discount) == before {
        return Ok(());
    }
    recompute_line(line).map_err(|error| invalid(error.to_string()))
}

fn edit(order: &mut Order, op: &Op, ctx: &ApplyContext<'_>) -> Result<(), Reject> {
    match op {
        Op::Create { .. } | Op::Refund { .. } => {
            unreachable!("create and refund are handled before edit")
        }
        Op::Share {} => order.shared = true,
        Op::Unshare {} => {
            if ctx.by.config_id != order.origin.config_id {
                return Err(reject(
                    RejectCode::Forbidden,
                    "only the counter that created the order can stop sharing it",
                ));
            }
            order.shared = false;
        }
        Op::AddLine {
            line_id,
            product_id,
            qty,
            unit_price,
            discount,
            note,
        } => add_line(
            order,
            *line_id,
            *product_id,
            *qty,
            *unit_price,
            *discount,
            note,
            ctx,
        )?,
        Op::AddQty { line_id, delta } => edit_line(order, *line_id, |line| {
            line.qty = line
                .qty
                .checked_add(*delta)
                .map_err(|error| invalid(error.to_string()))?;
            Ok(())
        })?,
        Op::SetQty { line_id, qty } => edit_line(order, *line_id, |line| {
            line.qty = *qty;
            Ok(())
        })?,
        Op::SetPrice {
            line_id,
            unit_price,
        } => {
            check_unit_price(*unit_price)?;
            edit_line(order, *line_id, |line| {
                line.unit_price = *unit_price;
                Ok(())
            })?
        }
        Op::SetDiscount { line_id, discount } => edit_line(order, *line_id, |line| {
            line.discount = *discount;
            Ok(())
        })?,
        Op::SetLineNote { line_id, note } => {
            line_mut(order, *line_id)?.note = note.clone();
        }
        Op::RemoveLine { line_id } => {
            line_mut(order, *line_id)?;
            order.lines.retain(|line| line.id != *line_id);
            order.removed_line_ids.insert(*line_id);
        }
        Op::SetCustomer { customer_id } => {
            if let Some(customer_id) = customer_id
                && !ctx.catalog.customer_exists(*customer_id)
            {
                return Err(invalid(format!("unknown customer {customer_id}")));
            }
            order.customer_id = *customer_id;
        }
        Op::SetNote { note } => order.note = note.clone(),
        Op::BeginPayment {} => {
            order.lock = Some(Lock {
                terminal: ctx.by.terminal,
                session_id: ctx.by.session_id,
                config_id: ctx.by.config_id,
                config_name: ctx.by.config_name.clone(),
                until: ctx.now.plus_millis(ctx.lease_ms),
            });
        }
        Op::CancelPayment {} => order.lock = None,
        Op::Pay {
            payments,
            expected_total,
            invoice,
        } => pay(
            order,
            payments,
            *expected_total,
            invoice.unwrap_or(false),
            ctx,
        )?,
        Op::Cancel { .. } => {
            order.state = OrderState::Cancelled;
            order.lock = None;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn add_line(
    order: &mut Order,
    line_id: LineId,
    product_id: ProductId,
    qty: Quantity,
    unit_price: Option<Money>,
    discount: Option<Discount>,
    note: &Option<Note>,
    ctx: &ApplyContext<'_>,
) -> Result<(), Reject> {
    if order.removed_line_ids.contains(&line_id) || order.line(line_id).is_some() {
        return Err(invalid("this line id is already used in the order"));
    }
    if order.lines.len() >= LINES_PER_ORDER_MAX {
        return Err(reject(
            RejectCode::TooLarge,
            format!("an order holds at most {LINES_PER_ORDER_MAX} lines"),
        ));
    }
    if order.lines.len() + order.removed_line_ids.len() >= LINE_IDS_PER_ORDER_MAX {
        return Err(reject(
            RejectCode::TooLarge,
            format!(
                "an order uses at most {LINE_IDS_PER_ORDER_MAX} line ids, removed lines included: start a new order"
            ),
        ));
    }
    if let Some(unit_price) = unit_price {
        check_unit_price(unit_price)?;
    }
    let product = ctx
        .catalog
        .sale_product(product_id)
        .ok_or_else(|| invalid(format!("unknown product {product_id}")))?;
    let mut line = Line {
        id: line_id,
        product_id,
        name: product.name,
        qty,
        unit_price: unit_price.unwrap_or(product.price),
        discount: discount.unwrap_or_default(),
        note: note.clone().unwrap_or_default(),
        taxes: product.taxes,
        subtotal: Money::ZERO,
        tax: Money::ZERO,
        total: Money::ZERO,
    };
    recompute_line(&mut line).map_err(|error| invalid(error.to_string()))?;
    order.lines.push(line);
    Ok(())
}

/// A unit price is a line amount: bounded like one, even on a zero quantity.
fn check_unit_price(unit_price: Money) -> Result<(), Reject> {
    if unit_price.minor().unsigned_abs() > LINE_AMOUNT_ABS_MAX_MINOR as u64 {
        return Err(invalid(format!(
            "a unit price is at most {LINE_AMOUNT_ABS_MAX_MINOR} minor units"
        )));
    }
    Ok(())
}

fn pay(
    order: &mut Order,
    payments: &[PaymentInput],
    expected_total: Money,
    invoice: bool,
    ctx: &ApplyContext<'_>,
) -> Result<(), Reject> {
    let total = order_totals(&order.lines).total;
    if order.lines.is_empty() {
        return Err(invalid("an order without lines cannot be paid"));
    }
    if expected_total != total {
        return Err(reject(
            RejectCode::Stale,
            format!("the total is now {total}, not {expected_total}"),
        ));
    }
    if invoice && order.customer_id.is_none() {
        return Err(invalid("an invoice needs a customer"));
    }
    if payments.len() > PAYMENTS_PER_ORDER_MAX {
        return Err(invalid(format!(
            "at most {PAYMENTS_PER_ORDER_MAX} payments"
        )));
    }
    let mut paid: i128 = 0;
    let mut paid_in_cash: i128 = 0;
    for payment in payments {
        let kind = ctx
            .catalog
            .payment_method_kind(payment.method_id)
            .ok_or_else(|| invalid(format!("unknown payment method {}", payment.method_id)))?;
        if payment.amount == Money::ZERO || (payment.amount.minor() < 0) != (total.minor() < 0) {
            return Err(invalid(
                "each payment must be non-zero and of the sign of the total",
            ));
        }
        paid += i128::from(payment.amount.minor());
        if kind == PaymentMethodKind::Cash {
            paid_in_cash += i128::from(payment.amount.minor());
        }
    }
    let total_minor = i128::from(total.minor());
    let change = if total_minor >= 0 {
        if paid < total_minor {
            return Err(reject(
                RejectCode::Underpaid,
                format!(
                    "{} is still due",
                    Money::from_i128(total_minor - paid).unwrap_or(total)
                ),
            ));
        }
        paid - total_minor
    } else {
        // A refund pays out exactly what is owed: less is underpaid, more is a mistake.
        if paid > total_minor {
            return Err(reject(
                RejectCode::Underpaid,
                "a refund must pay out the whole total",
            ));
        }
        if paid < total_minor {
            return Err(invalid("a refund cannot pay out more than the total"));
        }
        0
    };
    // Only cash gives change; a refund (negative total) has no change at all.
    if change > 0 && change > paid_in_cash {
        return Err(invalid("only cash can be given back as change"));
    }
    order.state = OrderState::Paid;
    order.lock = None;
    order.payments = payments
        .iter()
        .map(|payment| Payment {
            method_id: payment.method_id,
            amount: payment.amount,
        })
        .collect();
    order.change = Money::from_i128(change).map_err(|error| invalid(error.to_string()))?;
    order.invoice = invoice;
    order.paid_by = Some(ctx.by.clone());
    Ok(())
}
