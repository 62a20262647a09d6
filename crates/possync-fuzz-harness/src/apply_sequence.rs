//! Target `apply_sequence`: arbitrary sequences of ops, sent by four terminals
//! at arbitrary times (the clock may also jump back), on an arbitrary starting
//! order (none, or any order the order parser accepts), through
//! `possync_core::apply`.
//!
//! After every step:
//! - `apply` did not panic or overflow (both engines build with overflow checks);
//! - it is a function: the same step on the same order gives the same answer;
//! - a refused op leaves the order as it was, with a final code (`apply` never
//!   answers `rate_limited` or `unavailable`, which belong to the server);
//! - nothing is accepted on a paid or cancelled order, or under another
//!   terminal's live payment lock;
//! - an accepted op makes the next version: versions only grow, one at a time,
//!   and a create starts at 1;
//! - the totals equal the sum of the lines, every line's total is its subtotal
//!   plus its tax, and every line the op touched has the amounts the rounding
//!   rule gives for its price, quantity, discount and taxes;
//! - lines stay within their bound, with unique ids, none of them removed;
//! - the patch between the two versions, applied to the first (directly, and
//!   after a trip through JSON as on the wire), gives the second;
//! - the order reads back from its JSON unchanged;
//! - an order that just got paid has payments covering its total, change only
//!   from cash, and no lock.

use crate::shop::{Actor, CUSTOMER_IDS, FuzzCatalog, PAYMENT_METHOD_IDS, PRODUCT_IDS, uuid};
use arbitrary::{Arbitrary, Unstructured};
use possync_core::CatalogView;
use possync_core::limits::{
    LINE_AMOUNT_ABS_MAX_MINOR, LINE_IDS_PER_ORDER_MAX, LINES_PER_ORDER_MAX, MONEY_ABS_MAX_MINOR,
    NOTE_CHARS_MAX, QUANTITY_ABS_MAX_MILLI,
};
use possync_core::totals::line_amounts;
use possync_core::{
    Applied, ApplyContext, Discount, Line, LineId, LineTax, Lock, Money, Note, Op, Order, OrderId,
    OrderState, Origin, Patch, Payment, PaymentInput, PaymentMethodKind, Quantity, RejectCode,
    TaxId, TaxRate, Timestamp, Totals, apply,
};
use std::collections::{BTreeMap, BTreeSet};

/// Steps in one scenario at most: long enough to build, edit, lock and pay an order.
pub const STEPS_MAX: usize = 64;
/// Lines of an arbitrary starting order at most, before the parser's own bound.
const STARTING_LINES_MAX: usize = LINES_PER_ORDER_MAX + 8;

const ORDER_ID: OrderId = OrderId(uuid::Uuid::from_u128(
    0x0190_0000_0000_7000_8000_00ff_0000_0001,
));
const T0_MS: i64 = 1_795_000_000_000;
const LEASE_MS: i64 = 60_000;
const REFERENCE: &str = "Counter 1 - 0001";

/// One scenario: where it starts, and what happens.
#[derive(Debug)]
pub struct ApplyScenario {
    pub start: StartingOrder,
    pub steps: Vec<Step>,
}

/// The steps take the rest of the input, so that every extra byte a fuzzer or
/// a property test adds is more steps rather than a longer unused tail.
impl<'a> Arbitrary<'a> for ApplyScenario {
    fn arbitrary(input: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let start = StartingOrder::arbitrary(input)?;
        let mut steps = Vec::new();
        while !input.is_empty() && steps.len() < STEPS_MAX {
            steps.push(Step::arbitrary(input)?);
        }
        Ok(ApplyScenario { start, steps })
    }
}

#[derive(Debug, Arbitrary)]
pub enum StartingOrder {
    /// No order yet: everything but a create answers `not_found`.
    Nothing,
    /// An order built field by field, then read through the order parser.
    Parsed(Box<OrderFields>),
}

#[derive(Debug, Arbitrary)]
pub struct Step {
    pub actor: Actor,
    pub clock: ClockMove,
    pub op: OpChoice,
}

/// How time moves before a step.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum ClockMove {
    Stays,
    Millis(u16),
    Seconds(u16),
    /// Just past the payment lease.
    PastLease,
    /// Back in time (a system clock set back).
    BackSeconds(u16),
}

#[derive(Debug, Clone, Arbitrary)]
pub enum TextChoice {
    Empty,
    Word(u8),
    /// The longest note, in two-byte characters.
    Longest,
    Any(String),
}

impl TextChoice {
    fn note(&self) -> Note {
        const WORDS: [&str; 4] = ["no ice", "table 4\nby the window", "  spaced  ", "€"];
        match self {
            TextChoice::Empty => Note::default(),
            TextChoice::Word(n) => note_or_empty(WORDS[usize::from(*n) % WORDS.len()]),
            TextChoice::Longest => note_or_empty(&"é".repeat(NOTE_CHARS_MAX)),
            TextChoice::Any(text) => note_or_empty(text),
        }
    }
}

fn note_or_empty(text: &str) -> Note {
    Note::parse(text).unwrap_or_default()
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum QuantityChoice {
    One,
    Units(i16),
    Milli(i32),
    Extreme { negative: bool },
    Any(i64),
}

impl QuantityChoice {
    fn quantity(self) -> Quantity {
        let milli = match self {
            QuantityChoice::One => 1_000,
            QuantityChoice::Units(units) => i64::from(units) * 1_000,
            QuantityChoice::Milli(milli) => i64::from(milli),
            QuantityChoice::Extreme { negative } => signed(QUANTITY_ABS_MAX_MILLI, negative),
            QuantityChoice::Any(any) => any % (QUANTITY_ABS_MAX_MILLI + 1),
        };
        Quantity::from_milli(milli).unwrap_or(Quantity::ONE)
    }
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum MoneyChoice {
    Zero,
    Small(i16),
    LineMax { negative: bool },
    MoneyMax { negative: bool },
    Any(i64),
}

impl MoneyChoice {
    fn money(self) -> Money {
        let minor = match self {
            MoneyChoice::Zero => 0,
            MoneyChoice::Small(minor) => i64::from(minor),
            MoneyChoice::LineMax { negative } => signed(LINE_AMOUNT_ABS_MAX_MINOR, negative),
            MoneyChoice::MoneyMax { negative } => signed(MONEY_ABS_MAX_MINOR, negative),
            MoneyChoice::Any(any) => any % (MONEY_ABS_MAX_MINOR + 1),
        };
        Money::new(minor).unwrap_or(Money::ZERO)
    }
}

fn signed(magnitude: i64, negative: bool) -> i64 {
    if negative { -magnitude } else { magnitude }
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum PercentChoice {
    Zero,
    Hundred,
    Any(u16),
}

impl PercentChoice {
    fn basis_points(self) -> i64 {
        match self {
            PercentChoice::Zero => 0,
            PercentChoice::Hundred => 10_000,
            PercentChoice::Any(any) => i64::from(any) % 10_001,
        }
    }

    fn discount(self) -> Discount {
        Discount::from_basis_points(self.basis_points()).unwrap_or_default()
    }

    fn tax_rate(self) -> TaxRate {
        TaxRate::from_basis_points(self.basis_points()).unwrap_or_default()
    }
}

/// Which line an op names.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum LineChoice {
    /// A live line of the order, by position.
    Live(u8),
    /// A removed line, by position.
    Removed(u8),
    /// A line id by number: new, or one already used.
    Numbered(u8),
}

fn numbered_line(n: u8) -> LineId {
    LineId(uuid(0x1_0000 + u128::from(n)))
}

impl LineChoice {
    fn line_id(self, order: Option<&Order>) -> LineId {
        let pick = |ids: Vec<LineId>, n: u8| ids.get(usize::from(n) % ids.len().max(1)).copied();
        match self {
            LineChoice::Live(n) => {
                order.and_then(|order| pick(order.lines.iter().map(|line| line.id).collect(), n))
            }
            LineChoice::Removed(n) => {
                order.and_then(|order| pick(order.removed_line_ids.iter().copied().collect(), n))
            }
            LineChoice::Numbered(n) => Some(numbered_line(n)),
        }
        .unwrap_or_else(|| numbered_line(0))
    }
}

/// What each payment of a `pay` op is.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum AmountChoice {
    /// The order's whole total.
    Total,
    /// The total and some more (change, when in cash).
    TotalPlus(u16),
    /// Half the total, rounded down.
    Half,
    Money(MoneyChoice),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum ExpectedTotalChoice {
    Current,
    Off(i16),
    Money(MoneyChoice),
}

/// One op, with every field chosen among values that matter.
#[derive(Debug, Clone, Arbitrary)]
pub enum OpChoice {
    Create {
        other_config: Option<bool>,
        customer: Option<u8>,
        note: Option<TextChoice>,
        share: Option<bool>,
    },
    Share,
    Unshare,
    AddLine {
        line: LineChoice,
        product: u8,
        qty: QuantityChoice,
        unit_price: Option<MoneyChoice>,
        discount: Option<PercentChoice>,
        note: Option<TextChoice>,
    },
    AddQty {
        line: LineChoice,
        delta: QuantityChoice,
    },
    SetQty {
        line: LineChoice,
        qty: QuantityChoice,
    },
    SetPrice {
        line: LineChoice,
        unit_price: MoneyChoice,
    },
    SetDiscount {
        line: LineChoice,
        discount: PercentChoice,
    },
    SetLineNote {
        line: LineChoice,
        note: TextChoice,
    },
    RemoveLine {
        line: LineChoice,
    },
    SetCustomer {
        customer: Option<u8>,
    },
    SetNote {
        note: TextChoice,
    },
    BeginPayment,
    CancelPayment,
    Pay {
        payments: Vec<(u8, AmountChoice)>,
        expected_total: ExpectedTotalChoice,
        invoice: Option<bool>,
    },
    Cancel {
        reason: Option<TextChoice>,
    },
}

fn customer(n: u8) -> possync_core::CustomerId {
    CUSTOMER_IDS[usize::from(n) % CUSTOMER_IDS.len()]
}

fn total_of(order: Option<&Order>) -> i128 {
    order.map_or(0, |order| {
        order
            .lines
            .iter()
            .map(|line| i128::from(line.total.minor()))
            .sum()
    })
}

fn money_or_zero(minor: i128) -> Money {
    Money::from_i128(minor).unwrap_or(Money::ZERO)
}

impl OpChoice {
    /// The op, resolved against the order it will be applied to.
    pub fn op(&self, order: Option<&Order>, actor: Actor) -> Op {
        match self {
            OpChoice::Create {
                other_config,
                customer: chosen,
                note,
                share,
            } => Op::Create {
                config_id: other_config.map(|other| {
                    let own = actor.by().config_id;
                    if other {
                        possync_core::ConfigId(own.0 + 1)
                    } else {
                        own
                    }
                }),
                customer_id: chosen.map(customer),
                note: note.as_ref().map(TextChoice::note),
                share: *share,
            },
            OpChoice::Share => Op::Share {},
            OpChoice::Unshare => Op::Unshare {},
            OpChoice::AddLine {
                line,
                product,
                qty,
                unit_price,
                discount,
                note,
            } => Op::AddLine {
                line_id: line.line_id(order),
                product_id: PRODUCT_IDS[usize::from(*product) % PRODUCT_IDS.len()],
                qty: qty.quantity(),
                unit_price: unit_price.map(MoneyChoice::money),
                discount: discount.map(PercentChoice::discount),
                note: note.as_ref().map(TextChoice::note),
            },
            OpChoice::AddQty { line, delta } => Op::AddQty {
                line_id: line.line_id(order),
                delta: delta.quantity(),
            },
            OpChoice::SetQty { line, qty } => Op::SetQty {
                line_id: line.line_id(order),
                qty: qty.quantity(),
            },
            OpChoice::SetPrice { line, unit_price } => Op::SetPrice {
                line_id: line.line_id(order),
                unit_price: unit_price.money(),
            },
            OpChoice::SetDiscount { line, discount } => Op::SetDiscount {
                line_id: line.line_id(order),
                discount: discount.discount(),
            },
            OpChoice::SetLineNote { line, note } => Op::SetLineNote {
                line_id: line.line_id(order),
                note: note.note(),
            },
            OpChoice::RemoveLine { line } => Op::RemoveLine {
                line_id: line.line_id(order),
            },
            OpChoice::SetCustomer { customer: chosen } => Op::SetCustomer {
                customer_id: chosen.map(customer),
            },
            OpChoice::SetNote { note } => Op::SetNote { note: note.note() },
            OpChoice::BeginPayment => Op::BeginPayment {},
            OpChoice::CancelPayment => Op::CancelPayment {},
            OpChoice::Pay {
                payments,
                expected_total,
                invoice,
            } => {
                let total = total_of(order);
                Op::Pay {
                    payments: payments
                        .iter()
                        .take(possync_core::limits::PAYMENTS_PER_ORDER_MAX + 1)
                        .map(|&(method, amount)| PaymentInput {
                            method_id: PAYMENT_METHOD_IDS
                                [usize::from(method) % PAYMENT_METHOD_IDS.len()],
                            amount: match amount {
                                AmountChoice::Total => money_or_zero(total),
                                AmountChoice::TotalPlus(more) => {
                                    money_or_zero(total + i128::from(more))
                                }
                                AmountChoice::Half => money_or_zero(total / 2),
                                AmountChoice::Money(money) => money.money(),
                            },
                        })
                        .collect(),
                    expected_total: match expected_total {
                        ExpectedTotalChoice::Current => money_or_zero(total),
                        ExpectedTotalChoice::Off(off) => money_or_zero(total + i128::from(*off)),
                        ExpectedTotalChoice::Money(money) => money.money(),
                    },
                    invoice: *invoice,
                }
            }
            OpChoice::Cancel { reason } => Op::Cancel {
                reason: reason.as_ref().map(TextChoice::note),
            },
        }
    }
}

/// A starting order, field by field. The amounts may be recomputed (an order
/// as `apply` makes them) or arbitrary (a damaged or forged one): the order
/// parser decides which of them exist.
#[derive(Debug, Arbitrary)]
pub struct OrderFields {
    pub state: u8,
    pub version: VersionChoice,
    pub origin: Actor,
    pub shared: bool,
    pub customer: Option<u8>,
    pub note: TextChoice,
    pub lines: Vec<LineFields>,
    pub removed: Vec<u8>,
    pub lock: Option<(Actor, i32)>,
    pub payments: Vec<(u8, MoneyChoice)>,
    pub change: MoneyChoice,
    pub invoice: bool,
    pub paid_by: Option<Actor>,
    pub totals: Option<(MoneyChoice, MoneyChoice, MoneyChoice)>,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum VersionChoice {
    Zero,
    Small(u16),
    Any(u64),
    Max,
}

#[derive(Debug, Arbitrary)]
pub struct LineFields {
    pub id: u8,
    pub product: u8,
    pub qty: QuantityChoice,
    pub unit_price: MoneyChoice,
    pub discount: PercentChoice,
    pub note: TextChoice,
    pub taxes: Vec<(u8, PercentChoice, bool)>,
    /// `None`: the amounts the rounding rule gives; otherwise these.
    pub amounts: Option<(MoneyChoice, MoneyChoice, MoneyChoice)>,
}

impl OrderFields {
    /// The order these fields describe, in JSON, for the parser to judge.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.order()).unwrap_or(serde_json::Value::Null)
    }

    /// The order these fields describe, as a value; the parser has not seen it yet.
    fn order(&self) -> Order {
        let by = self.origin.by();
        let lines: Vec<Line> = self
            .lines
            .iter()
            .take(STARTING_LINES_MAX)
            .map(LineFields::line)
            .collect();
        let sum = |pick: fn(&Line) -> Money| {
            money_or_zero(lines.iter().map(|l| i128::from(pick(l).minor())).sum())
        };
        let totals = match self.totals {
            None => Totals {
                subtotal: sum(|line| line.subtotal),
                tax: sum(|line| line.tax),
                total: sum(|line| line.total),
            },
            Some((subtotal, tax, total)) => Totals {
                subtotal: subtotal.money(),
                tax: tax.money(),
                total: total.money(),
            },
        };
        let at = Timestamp::from_unix_millis(T0_MS);
        Order {
            id: ORDER_ID,
            reference: REFERENCE.to_owned(),
            state: match self.state % 3 {
                0 => OrderState::Draft,
                1 => OrderState::Paid,
                _ => OrderState::Cancelled,
            },
            version: match self.version {
                VersionChoice::Zero => 0,
                VersionChoice::Small(version) => u64::from(version),
                VersionChoice::Any(version) => version,
                VersionChoice::Max => u64::MAX,
            },
            origin: Origin {
                config_id: by.config_id,
                session_id: by.session_id,
            },
            shared: self.shared,
            customer_id: self.customer.map(customer),
            note: self.note.note(),
            lines,
            totals,
            lock: self.lock.map(|(holder, offset_ms)| {
                let holder = holder.by();
                Lock {
                    terminal: holder.terminal,
                    session_id: holder.session_id,
                    config_id: holder.config_id,
                    config_name: holder.config_name,
                    until: Timestamp::from_unix_millis(T0_MS + i64::from(offset_ms)),
                }
            }),
            payments: self
                .payments
                .iter()
                .map(|&(method, amount)| Payment {
                    method_id: PAYMENT_METHOD_IDS[usize::from(method) % PAYMENT_METHOD_IDS.len()],
                    amount: amount.money(),
                })
                .collect(),
            change: self.change.money(),
            invoice: self.invoice,
            paid_by: self.paid_by.map(Actor::by),
            receipt_number: None,
            refund_of: None,
            removed_line_ids: self.removed.iter().copied().map(numbered_line).collect(),
            created_at: at,
            updated_at: at,
            updated_by: by,
        }
    }
}

impl LineFields {
    fn line(&self) -> Line {
        let product_id = PRODUCT_IDS[usize::from(self.product) % PRODUCT_IDS.len()];
        let taxes: Vec<LineTax> = self
            .taxes
            .iter()
            .map(|&(tax_id, rate, price_included)| LineTax {
                tax_id: TaxId(i64::from(tax_id)),
                rate: rate.tax_rate(),
                price_included,
            })
            .collect();
        let unit_price = self.unit_price.money();
        let qty = self.qty.quantity();
        let discount = self.discount.discount();
        let (subtotal, tax, total) = match self.amounts {
            Some((subtotal, tax, total)) => (subtotal.money(), tax.money(), total.money()),
            None => match line_amounts(unit_price, qty, discount, &taxes) {
                Ok(amounts) => (amounts.subtotal, amounts.tax, amounts.total),
                Err(_) => (Money::ZERO, Money::ZERO, Money::ZERO),
            },
        };
        Line {
            id: numbered_line(self.id),
            product_id,
            name: FuzzCatalog
                .sale_product(product_id)
                .map(|product| product.name)
                .unwrap_or_else(|| {
                    possync_core::Name::parse("Gone")
                        .unwrap_or_else(|error| unreachable!("{error}"))
                }),
            qty,
            unit_price,
            discount,
            note: self.note.note(),
            taxes,
            subtotal,
            tax,
            total,
        }
    }
}

/// What a scenario did: how many ops of each kind were accepted, and how many
/// were refused with each code. Tests use it to see that the inputs reach deep
/// states (payments, locks) and not only refusals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioSummary {
    pub accepted: BTreeMap<&'static str, usize>,
    pub rejected: BTreeMap<RejectCode, usize>,
    /// The scenario started from a parsed order.
    pub parsed_start: bool,
}

impl ScenarioSummary {
    pub fn add(&mut self, other: &ScenarioSummary) {
        for (kind, n) in &other.accepted {
            *self.accepted.entry(kind).or_default() += n;
        }
        for (code, n) in &other.rejected {
            *self.rejected.entry(*code).or_default() += n;
        }
        self.parsed_start |= other.parsed_start;
    }
}

/// Runs the scenario the bytes describe.
pub fn check_apply_sequence(data: &[u8]) {
    summarize_apply_sequence(data);
}

/// Runs the scenario the bytes describe and says what it did.
pub fn summarize_apply_sequence(data: &[u8]) -> ScenarioSummary {
    let mut unstructured = Unstructured::new(data);
    match ApplyScenario::arbitrary(&mut unstructured) {
        Ok(scenario) => check_scenario(&scenario),
        Err(_) => ScenarioSummary::default(),
    }
}

/// Runs one scenario, checking every step.
pub fn check_scenario(scenario: &ApplyScenario) -> ScenarioSummary {
    let mut summary = ScenarioSummary::default();
    let mut order: Option<Order> = match &scenario.start {
        StartingOrder::Nothing => None,
        StartingOrder::Parsed(fields) => {
            let text = serde_json::to_string(&fields.order())
                .unwrap_or_else(|error| panic!("an order value does not encode: {error}"));
            match serde_json::from_str::<Order>(&text) {
                Ok(parsed) => {
                    check_structure(&parsed, "the order parser accepted it");
                    summary.parsed_start = true;
                    Some(parsed)
                }
                // The parser refused it: no such order can reach `apply`.
                Err(_) => return summary,
            }
        }
    };
    let mut now_ms = T0_MS;
    for (step_number, step) in scenario.steps.iter().take(STEPS_MAX).enumerate() {
        now_ms = match step.clock {
            ClockMove::Stays => now_ms,
            ClockMove::Millis(millis) => now_ms + i64::from(millis),
            ClockMove::Seconds(seconds) => now_ms + i64::from(seconds) * 1_000,
            ClockMove::PastLease => now_ms + LEASE_MS + 1,
            ClockMove::BackSeconds(seconds) => now_ms - i64::from(seconds) * 1_000,
        };
        let now = Timestamp::from_unix_millis(now_ms);
        let op = step.op.op(order.as_ref(), step.actor);
        let context = format!("step {step_number}: {:?} sends {op:?} at {now}", step.actor);
        order = check_step(order, step.actor, now, &op, &context, &mut summary);
    }
    summary
}

fn check_step(
    before: Option<Order>,
    actor: Actor,
    now: Timestamp,
    op: &Op,
    context: &str,
    summary: &mut ScenarioSummary,
) -> Option<Order> {
    let by = actor.by();
    let apply_context = ApplyContext {
        rights: possync_core::Rights::FULL,
        by: &by,
        now,
        catalog: &FuzzCatalog,
        lease_ms: LEASE_MS,
        auto_share: actor.auto_share(),
        reference: REFERENCE,
    };
    let outcome = apply(before.as_ref(), ORDER_ID, op, &apply_context);
    assert_eq!(
        outcome,
        apply(before.as_ref(), ORDER_ID, op, &apply_context),
        "{context}: the same step gave two answers"
    );
    let is_create = matches!(op, Op::Create { .. });
    match &outcome {
        Ok(_) => *summary.accepted.entry(op.kind()).or_default() += 1,
        Err(reject) => *summary.rejected.entry(reject.code).or_default() += 1,
    }
    match outcome {
        Err(reject) => {
            assert!(
                !reject.code.is_retryable(),
                "{context}: apply answered the server's code {}",
                reject.code
            );
            assert!(!reject.message.is_empty(), "{context}: a reject says why");
            if let Some(before) = &before
                && !is_create
            {
                let expected = match before.state {
                    OrderState::Paid => Some(RejectCode::Paid),
                    OrderState::Cancelled => Some(RejectCode::Cancelled),
                    OrderState::Draft => before
                        .live_lock(now)
                        .filter(|lock| lock.terminal != by.terminal)
                        .map(|_| RejectCode::Locked),
                };
                if let Some(expected) = expected {
                    assert_eq!(reject.code, expected, "{context}");
                }
            }
            before
        }
        Ok(Applied::Unchanged) => {
            assert!(
                is_create && before.is_some(),
                "{context}: only a create of an existing order changes nothing"
            );
            before
        }
        Ok(Applied::Changed(after)) => {
            check_change(before.as_ref(), &after, &by, now, context);
            Some(after)
        }
    }
}

fn check_change(
    before: Option<&Order>,
    after: &Order,
    by: &possync_core::By,
    now: Timestamp,
    context: &str,
) {
    match before {
        None => assert_eq!(
            after.version, 1,
            "{context}: a new order starts at version 1"
        ),
        Some(before) => {
            assert_eq!(
                before.state,
                OrderState::Draft,
                "{context}: a {} order was changed",
                before.state.as_str()
            );
            assert_eq!(
                Some(after.version),
                before.version.checked_add(1),
                "{context}: versions go up by one"
            );
            assert_eq!(after.id, before.id, "{context}: the id changed");
            assert_eq!(after.origin, before.origin, "{context}: the origin changed");
            assert_eq!(after.created_at, before.created_at, "{context}");
        }
    }
    assert_eq!(after.updated_at, now, "{context}: updated_at");
    assert_eq!(&after.updated_by, by, "{context}: updated_by");
    check_structure(after, context);
    // A line the op added, or whose price, quantity, discount or taxes it
    // changed, has the amounts of the rounding rule; any other line keeps the
    // amounts it had (a parsed order may hold amounts of an older rule).
    for line in &after.lines {
        let old = before.and_then(|before| before.line(line.id));
        let repriced = old.is_none_or(|old| {
            (old.unit_price, old.qty, old.discount, &old.taxes)
                != (line.unit_price, line.qty, line.discount, &line.taxes)
        });
        let amounts = (line.subtotal, line.tax, line.total);
        match old {
            Some(old) if !repriced => assert_eq!(
                amounts,
                (old.subtotal, old.tax, old.total),
                "{context}: an op changed the amounts of a line it did not reprice"
            ),
            _ => {
                let expected = line_amounts(line.unit_price, line.qty, line.discount, &line.taxes)
                    .unwrap_or_else(|_| {
                        panic!("{context}: a line out of range was accepted: {line:?}")
                    });
                assert_eq!(
                    amounts,
                    (expected.subtotal, expected.tax, expected.total),
                    "{context}: a line's amounts do not follow the rounding rule"
                );
            }
        }
    }
    if let Some(before) = before {
        let patch = Patch::between(before, after);
        let patched = patch
            .apply_to(before)
            .unwrap_or_else(|error| panic!("{context}: the patch does not apply: {error}"));
        assert_eq!(&patched, after, "{context}: the patch gives another order");
        let wire = serde_json::to_string(&patch)
            .unwrap_or_else(|error| panic!("{context}: the patch does not encode: {error}"));
        let from_wire: Patch = serde_json::from_str(&wire)
            .unwrap_or_else(|error| panic!("{context}: the patch does not parse: {error}\n{wire}"));
        let patched = from_wire.apply_to(before).unwrap_or_else(|error| {
            panic!("{context}: the patch, through JSON, does not apply: {error}")
        });
        assert_eq!(
            &patched, after,
            "{context}: the patch, through JSON, gives another order"
        );
    }
    if after.state == OrderState::Paid {
        check_payment(after, context);
    }
    if after.state != OrderState::Draft {
        assert!(
            after.lock.is_none(),
            "{context}: a finished order keeps a lock"
        );
    }
}

/// What holds for every order that exists: bounds, unique line ids, amounts
/// that add up, and a JSON form that reads back unchanged.
fn check_structure(order: &Order, context: &str) {
    assert!(order.version >= 1, "{context}: version {}", order.version);
    assert!(
        order.lines.len() <= LINES_PER_ORDER_MAX,
        "{context}: {} lines",
        order.lines.len()
    );
    let live: BTreeSet<LineId> = order.lines.iter().map(|line| line.id).collect();
    assert_eq!(
        live.len(),
        order.lines.len(),
        "{context}: two lines share an id"
    );
    assert!(
        live.is_disjoint(&order.removed_line_ids),
        "{context}: a live line is also removed"
    );
    assert!(
        live.len() + order.removed_line_ids.len() <= LINE_IDS_PER_ORDER_MAX,
        "{context}: {} line ids used",
        live.len() + order.removed_line_ids.len()
    );
    let mut sums = [0i128; 3];
    for line in &order.lines {
        let amounts = [line.subtotal, line.tax, line.total].map(|money| i128::from(money.minor()));
        assert_eq!(
            amounts[0] + amounts[1],
            amounts[2],
            "{context}: a line's total is not its subtotal plus its tax: {line:?}"
        );
        for (amount, sum) in amounts.iter().zip(sums.iter_mut()) {
            assert!(
                amount.abs() <= i128::from(LINE_AMOUNT_ABS_MAX_MINOR),
                "{context}: a line amount out of range: {line:?}"
            );
            *sum += amount;
        }
    }
    let totals = [order.totals.subtotal, order.totals.tax, order.totals.total]
        .map(|money| i128::from(money.minor()));
    assert_eq!(
        totals, sums,
        "{context}: the totals are not the sum of the lines"
    );
    let text = serde_json::to_string(order)
        .unwrap_or_else(|error| panic!("{context}: the order does not encode: {error}"));
    let again: Order = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{context}: the order does not read back: {error}\n{text}"));
    assert_eq!(&again, order, "{context}: the order reads back changed");
}

fn check_payment(order: &Order, context: &str) {
    let total = i128::from(order.totals.total.minor());
    let paid: i128 = order
        .payments
        .iter()
        .map(|payment| i128::from(payment.amount.minor()))
        .sum();
    let in_cash: i128 = order
        .payments
        .iter()
        .filter(|payment| {
            FuzzCatalog.payment_method_kind(payment.method_id) == Some(PaymentMethodKind::Cash)
        })
        .map(|payment| i128::from(payment.amount.minor()))
        .sum();
    let change = i128::from(order.change.minor());
    assert!(
        !order.lines.is_empty(),
        "{context}: an order without lines got paid"
    );
    assert!(order.paid_by.is_some(), "{context}: paid by nobody");
    assert!(change >= 0, "{context}: negative change");
    assert_eq!(
        paid - change,
        total,
        "{context}: payments minus change are not the total"
    );
    assert!(
        change <= in_cash.max(0),
        "{context}: change given from a card"
    );
}
