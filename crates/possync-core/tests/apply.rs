//! `possync_core::apply` and `Patch` held to the wire contract (PROTOCOL.md,
//! "Ops" and "Reject codes"): the effect and the refusals of every op kind,
//! payment locks and their leases, the payment rules, visibility, and two
//! properties over random op sequences: add_qty deltas commute, and the patch
//! of every accepted op turns the previous order into exactly the next one.
//!
//! Most tests are rows of a table run through one `check` helper, which also
//! asserts what holds for every accepted op (next version, stamped by and at,
//! totals equal to the sum of the lines, the patch reproduces the step) and for
//! every refused one (the caller's order is untouched).

use possync_core::limits::{LINE_IDS_PER_ORDER_MAX, LINES_PER_ORDER_MAX};
use possync_core::*;
use proptest::prelude::*;
use std::collections::BTreeSet;
use uuid::Uuid;

// ---------------------------------------------------------------------------
// The shop: a catalog, the actors, time.
// ---------------------------------------------------------------------------

/// Products as `(id, name, shelf price, taxes)`, each tax `(tax id, basis points, price included)`.
type ProductRow = (i64, &'static str, i64, &'static [(i64, i64, bool)]);

const PRODUCTS: &[ProductRow] = &[
    // 10% included in the shelf price.
    (1, "Espresso", 250, &[(1, 1000, true)]),
    // 21% added on top of the shelf price.
    (2, "Sandwich", 1000, &[(2, 2100, false)]),
    // Both kinds on one product.
    (3, "Wine", 1100, &[(1, 1000, true), (3, 500, false)]),
    // No tax.
    (4, "Gift card", 2000, &[]),
];

const ESPRESSO: ProductId = ProductId(1);
const SANDWICH: ProductId = ProductId(2);
const WINE: ProductId = ProductId(3);
const GIFT_CARD: ProductId = ProductId(4);
const UNKNOWN_PRODUCT: ProductId = ProductId(99);

const ALICE: CustomerId = CustomerId(7);
const BOB: CustomerId = CustomerId(8);
const UNKNOWN_CUSTOMER: CustomerId = CustomerId(99);

const CASH: PaymentMethodId = PaymentMethodId(1);
const CARD: PaymentMethodId = PaymentMethodId(2);
const VOUCHER: PaymentMethodId = PaymentMethodId(3);
const UNKNOWN_METHOD: PaymentMethodId = PaymentMethodId(99);

fn product_row(product_id: i64) -> Option<&'static ProductRow> {
    PRODUCTS.iter().find(|row| row.0 == product_id)
}

fn line_taxes(taxes: &[(i64, i64, bool)]) -> Vec<LineTax> {
    taxes
        .iter()
        .map(|&(tax_id, basis_points, price_included)| LineTax {
            tax_id: TaxId(tax_id),
            rate: TaxRate::from_basis_points(basis_points).unwrap(),
            price_included,
        })
        .collect()
}

#[derive(Debug)]
struct TestCatalog;

impl CatalogView for TestCatalog {
    fn sale_product(&self, product_id: ProductId) -> Option<SaleProduct> {
        let &(_, name, price, taxes) = product_row(product_id.0)?;
        Some(SaleProduct {
            name: Name::parse(name).unwrap(),
            price: Money::new(price).unwrap(),
            taxes: line_taxes(taxes),
        })
    }

    fn customer_exists(&self, customer_id: CustomerId) -> bool {
        [ALICE, BOB].contains(&customer_id)
    }

    fn payment_method_kind(&self, method_id: PaymentMethodId) -> Option<PaymentMethodKind> {
        match method_id {
            CASH => Some(PaymentMethodKind::Cash),
            CARD => Some(PaymentMethodKind::Card),
            VOUCHER => Some(PaymentMethodKind::Other),
            _ => None,
        }
    }
}

const COUNTER: ConfigId = ConfigId(1);
const BAR: ConfigId = ConfigId(2);
const TERRACE: ConfigId = ConfigId(3);
const KITCHEN: ConfigId = ConfigId(4);

/// Who sends an op. Counter, Bar and Terrace are configs; Counter has two
/// terminals (browser tabs) in its open session and a later shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Counter,
    CounterTab2,
    CounterNextShift,
    Bar,
    /// A config with `auto_share`.
    Terrace,
}

impl Who {
    fn by(self) -> By {
        let (session_id, config_id, config_name, terminal) = match self {
            Who::Counter => (10, COUNTER, "Counter", 0xa1),
            Who::CounterTab2 => (10, COUNTER, "Counter", 0xa2),
            Who::CounterNextShift => (11, COUNTER, "Counter", 0xa3),
            Who::Bar => (20, BAR, "Bar", 0xb1),
            Who::Terrace => (30, TERRACE, "Terrace", 0xc1),
        };
        By {
            session_id: SessionId(session_id),
            config_id,
            config_name: Name::parse(config_name).unwrap(),
            terminal: TerminalId(uuid(terminal)),
        }
    }

    fn auto_share(self) -> bool {
        self == Who::Terrace
    }
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

const ORDER_ID: OrderId = OrderId(Uuid::from_u128(0x0190_0000_0000_7000_8000_00ff_0000_0001));

fn line(n: u128) -> LineId {
    LineId(uuid(0x1_0000 + n))
}

const T0_MS: i64 = 1_795_000_000_000;
const LEASE_MS: i64 = 60_000;
const REFERENCE: &str = "Counter - 0001";

fn at_ms(offset_ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0_MS + offset_ms)
}

fn at_second(step: usize) -> Timestamp {
    at_ms(step as i64 * 1_000)
}

fn apply_as(who: Who, now: Timestamp, current: Option<&Order>, op: &Op) -> Result<Applied, Reject> {
    let by = who.by();
    let ctx = ApplyContext {
        rights: possync_core::Rights::FULL,
        by: &by,
        now,
        catalog: &TestCatalog,
        lease_ms: LEASE_MS,
        auto_share: who.auto_share(),
        reference: REFERENCE,
    };
    apply(current, ORDER_ID, op, &ctx)
}

// ---------------------------------------------------------------------------
// Ops, spelled as a terminal would send them.
// ---------------------------------------------------------------------------

fn money(minor: i64) -> Money {
    Money::new(minor).unwrap()
}

fn qty(text: &str) -> Quantity {
    text.parse().unwrap()
}

fn percent(text: &str) -> Discount {
    text.parse().unwrap()
}

fn note(text: &str) -> Note {
    Note::parse(text).unwrap()
}

// The test's own spelling (line numbers, quantities and amounts as text) over
// the core's op builders.
fn create() -> Op {
    Op::create()
}

fn add_line(line_no: u128, product_id: ProductId, quantity: &str) -> Op {
    Op::add_line(line(line_no), product_id, qty(quantity))
}

fn add_qty(line_no: u128, delta: &str) -> Op {
    Op::add_qty(line(line_no), qty(delta))
}

fn set_qty(line_no: u128, quantity: &str) -> Op {
    Op::set_qty(line(line_no), qty(quantity))
}

fn set_price(line_no: u128, unit_price: i64) -> Op {
    Op::set_price(line(line_no), money(unit_price))
}

fn set_discount(line_no: u128, discount: &str) -> Op {
    Op::set_discount(line(line_no), percent(discount))
}

fn set_line_note(line_no: u128, text: &str) -> Op {
    Op::set_line_note(line(line_no), note(text))
}

fn remove_line(line_no: u128) -> Op {
    Op::remove_line(line(line_no))
}

fn set_customer(customer_id: Option<CustomerId>) -> Op {
    Op::set_customer(customer_id)
}

fn set_note(text: &str) -> Op {
    Op::set_note(note(text))
}

fn pay(payments: &[(PaymentMethodId, i64)], expected_total: i64) -> Op {
    Op::pay(
        payments
            .iter()
            .map(|&(method_id, amount)| PaymentInput {
                method_id,
                amount: money(amount),
            })
            .collect(),
        money(expected_total),
    )
}

fn pay_with_invoice(payments: &[(PaymentMethodId, i64)], expected_total: i64) -> Op {
    match pay(payments, expected_total) {
        Op::Pay {
            payments,
            expected_total,
            ..
        } => Op::Pay {
            payments,
            expected_total,
            invoice: Some(true),
        },
        _ => unreachable!("pay builds a pay op"),
    }
}

fn cancel() -> Op {
    Op::cancel()
}

/// One op of every kind but create; the ones that name a line name `line_no`.
fn every_edit(line_no: u128) -> Vec<Op> {
    vec![
        Op::Share {},
        Op::Unshare {},
        add_line(line_no + 100, ESPRESSO, "1"),
        add_qty(line_no, "1"),
        set_qty(line_no, "2"),
        set_price(line_no, 300),
        set_discount(line_no, "5"),
        set_line_note(line_no, "hot"),
        remove_line(line_no),
        set_customer(Some(ALICE)),
        set_note("later"),
        Op::BeginPayment {},
        Op::CancelPayment {},
        pay(&[(CASH, 5_000)], 1_210),
        cancel(),
    ]
}

/// Every op kind that edits one existing line.
fn line_edits(line_no: u128) -> Vec<Op> {
    vec![
        add_qty(line_no, "1"),
        set_qty(line_no, "2"),
        set_price(line_no, 300),
        set_discount(line_no, "5"),
        set_line_note(line_no, "hot"),
        remove_line(line_no),
    ]
}

// ---------------------------------------------------------------------------
// Orders given before the op under test.
// ---------------------------------------------------------------------------

type Steps = Vec<(Who, Op)>;

/// A draft created by Counter, then `more`.
fn draft_with(more: Steps) -> Steps {
    let mut steps = vec![(Who::Counter, create())];
    steps.extend(more);
    steps
}

/// A draft with one sandwich (line 1): subtotal 10.00, tax 2.10, total 12.10.
fn sandwich_draft(more: Steps) -> Steps {
    let mut steps = draft_with(vec![(Who::Counter, add_line(1, SANDWICH, "1"))]);
    steps.extend(more);
    steps
}

/// Applies `steps` one second apart from T0; each must be accepted.
fn replay(steps: &[(Who, Op)]) -> Option<Order> {
    let mut order = None;
    for (step, (who, op)) in steps.iter().enumerate() {
        match apply_as(*who, at_second(step), order.as_ref(), op) {
            Ok(Applied::Changed(next)) => order = Some(next),
            Ok(Applied::Unchanged) => {}
            Err(reject) => panic!(
                "given step {step} ({who:?} {}) refused: {reject:?}",
                op.kind()
            ),
        }
    }
    order
}

// ---------------------------------------------------------------------------
// What holds for every accepted op.
// ---------------------------------------------------------------------------

fn amounts(line: &Line) -> (i64, i64, i64) {
    (line.subtotal.minor(), line.tax.minor(), line.total.minor())
}

fn totals(order: &Order) -> (i64, i64, i64) {
    (
        order.totals.subtotal.minor(),
        order.totals.tax.minor(),
        order.totals.total.minor(),
    )
}

fn only_line(order: &Order) -> &Line {
    assert_eq!(order.lines.len(), 1, "expected exactly one line: {order:?}");
    &order.lines[0]
}

fn line_ids(order: &Order) -> Vec<LineId> {
    order.lines.iter().map(|line| line.id).collect()
}

fn assert_totals_are_the_sum_of_lines(context: &str, order: &Order) {
    let sum = |pick: fn(&Line) -> Money| -> i64 {
        order.lines.iter().map(|line| pick(line).minor()).sum()
    };
    let summed: (i64, i64, i64) = (
        sum(|line| line.subtotal),
        sum(|line| line.tax),
        sum(|line| line.total),
    );
    assert_eq!(
        totals(order),
        summed,
        "{context}: totals are the sum of the lines"
    );
    for line in &order.lines {
        assert_eq!(
            line.subtotal.minor() + line.tax.minor(),
            line.total.minor(),
            "{context}: line total is subtotal plus tax"
        );
    }
    let live: BTreeSet<LineId> = order.lines.iter().map(|line| line.id).collect();
    assert_eq!(
        live.len(),
        order.lines.len(),
        "{context}: line ids are unique"
    );
    assert!(
        live.is_disjoint(&order.removed_line_ids),
        "{context}: a live line is not also removed"
    );
}

/// A terminal holding `before` that receives the `change` of this step, as
/// JSON over the wire, ends up with exactly `after`.
fn assert_patch_reproduces(context: &str, before: &Order, after: &Order) {
    let patch = Patch::between(before, after);
    assert!(
        !patch.header.contains_key("lines"),
        "{context}: lines travel as upsert_lines/remove_lines, not in the header"
    );
    let wire = serde_json::to_string(&patch).unwrap();
    let received: Patch = serde_json::from_str(&wire).unwrap();
    let patched = received
        .apply_to(before)
        .unwrap_or_else(|error| panic!("{context}: {error}"));
    assert_eq!(&patched, after, "{context}: patch {wire}");
}

fn assert_accepted(context: &str, before: Option<&Order>, after: &Order, who: Who, now: Timestamp) {
    assert_eq!(after.id, ORDER_ID, "{context}: id");
    assert_eq!(
        after.version,
        before.map_or(1, |before| before.version + 1),
        "{context}: every accepted op gets the next version (1 for create)"
    );
    assert_eq!(after.updated_by, who.by(), "{context}: updated_by");
    assert_eq!(after.updated_at, now, "{context}: updated_at");
    assert_totals_are_the_sum_of_lines(context, after);
    if let Some(before) = before {
        assert_eq!(after.created_at, before.created_at, "{context}: created_at");
        assert_eq!(after.origin, before.origin, "{context}: origin");
        assert_eq!(after.reference, before.reference, "{context}: reference");
        assert_patch_reproduces(context, before, after);
    }
}

// ---------------------------------------------------------------------------
// The table runner.
// ---------------------------------------------------------------------------

#[derive(Debug)]
enum Want {
    /// Accepted; the function checks the op's own effect on the new order.
    Changed(fn(&Order)),
    /// Accepted with nothing to do (a repeated create).
    Unchanged,
    /// Refused with this code and a message containing this text.
    Rejected(RejectCode, &'static str),
}

#[derive(Debug)]
struct Case {
    name: String,
    given: Steps,
    who: Who,
    op: Op,
    want: Want,
}

fn case(name: impl Into<String>, given: Steps, who: Who, op: Op, want: Want) -> Case {
    Case {
        name: name.into(),
        given,
        who,
        op,
        want,
    }
}

/// Replays `given` one second apart, applies `op` one second later, and
/// compares with `want`.
fn check(case: &Case) {
    let name = &case.name;
    let before = replay(&case.given);
    let snapshot = before.clone();
    let now = at_second(case.given.len());
    let result = apply_as(case.who, now, before.as_ref(), &case.op);
    match (result, &case.want) {
        (Ok(Applied::Changed(after)), Want::Changed(effect)) => {
            assert_accepted(name, before.as_ref(), &after, case.who, now);
            effect(&after);
        }
        (Ok(Applied::Unchanged), Want::Unchanged) => {}
        (Err(reject), Want::Rejected(code, text)) => {
            assert_eq!(reject.code, *code, "{name}: {reject:?}");
            assert!(
                !reject.message.is_empty(),
                "{name}: a reject explains itself"
            );
            assert!(
                reject.message.contains(text),
                "{name}: message {:?} should contain {text:?}",
                reject.message
            );
        }
        (result, want) => panic!("{name}: wanted {want:?}, got {result:?}"),
    }
    assert_eq!(
        before, snapshot,
        "{name}: apply must not touch the caller's order"
    );
}

/// Runs every case, then fails naming each case that failed.
fn check_all(cases: Vec<Case>) {
    assert!(!cases.is_empty());
    let failed: Vec<&str> = cases
        .iter()
        .filter(|case| std::panic::catch_unwind(|| check(case)).is_err())
        .map(|case| case.name.as_str())
        .collect();
    assert!(
        failed.is_empty(),
        "failed cases:\n  {}",
        failed.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// create
// ---------------------------------------------------------------------------

#[test]
fn create_op() {
    use Want::*;
    use Who::*;
    let create_with = |config_id, customer_id, text: Option<&str>, share| Op::Create {
        config_id,
        customer_id,
        note: text.map(note),
        share,
    };
    check_all(vec![
        case(
            "create makes an empty private draft in the caller's session",
            vec![],
            Counter,
            create(),
            Changed(|order| {
                assert_eq!(order.state, OrderState::Draft);
                assert_eq!(
                    order.origin,
                    Origin {
                        config_id: COUNTER,
                        session_id: SessionId(10)
                    }
                );
                assert!(!order.shared);
                assert_eq!(order.customer_id, None);
                assert!(order.note.is_empty());
                assert!(order.lines.is_empty());
                assert_eq!(order.totals, Totals::default());
                assert_eq!(order.lock, None);
                assert!(order.payments.is_empty());
                assert_eq!(order.change, Money::ZERO);
                assert_eq!(order.paid_by, None);
                assert!(order.removed_line_ids.is_empty());
                assert_eq!(order.reference, REFERENCE);
                assert_eq!(order.created_at, order.updated_at);
            }),
        ),
        case(
            "create with share shares at once",
            vec![],
            Counter,
            create_with(None, None, None, Some(true)),
            Changed(|order| assert!(order.shared)),
        ),
        case(
            "create with share false stays private",
            vec![],
            Counter,
            create_with(None, None, None, Some(false)),
            Changed(|order| assert!(!order.shared)),
        ),
        case(
            "create in an auto_share config shares at once",
            vec![],
            Terrace,
            create(),
            Changed(|order| {
                assert!(order.shared);
                assert_eq!(order.origin.config_id, TERRACE);
            }),
        ),
        case(
            "create in an auto_share config shares even with share false",
            vec![],
            Terrace,
            create_with(None, None, None, Some(false)),
            Changed(|order| assert!(order.shared)),
        ),
        case(
            "create with a customer and a note",
            vec![],
            Counter,
            create_with(None, Some(ALICE), Some("table 4"), None),
            Changed(|order| {
                assert_eq!(order.customer_id, Some(ALICE));
                assert_eq!(order.note.as_str(), "table 4");
            }),
        ),
        case(
            "create naming the caller's own config",
            vec![],
            Counter,
            create_with(Some(COUNTER), None, None, None),
            Changed(|order| assert_eq!(order.origin.config_id, COUNTER)),
        ),
        case(
            "create naming another config is forbidden",
            vec![],
            Counter,
            create_with(Some(BAR), None, None, None),
            Rejected(RejectCode::Forbidden, ""),
        ),
        case(
            "create with an unknown customer is invalid",
            vec![],
            Counter,
            create_with(None, Some(UNKNOWN_CUSTOMER), None, None),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "create of an existing id with the same content is accepted unchanged",
            vec![(
                Counter,
                create_with(None, Some(ALICE), Some("table 4"), None),
            )],
            Counter,
            create_with(None, Some(ALICE), Some("table 4"), None),
            Unchanged,
        ),
        case(
            "create of an existing id with the same content from another tab of the session",
            vec![(Counter, create())],
            CounterTab2,
            create(),
            Unchanged,
        ),
        case(
            "create of an existing id with another note is exists",
            vec![(Counter, create_with(None, None, Some("table 4"), None))],
            Counter,
            create_with(None, None, Some("table 5"), None),
            Rejected(RejectCode::Exists, ""),
        ),
        case(
            "create of an existing id with another customer is exists",
            vec![(Counter, create_with(None, Some(ALICE), None, None))],
            Counter,
            create_with(None, Some(BOB), None, None),
            Rejected(RejectCode::Exists, ""),
        ),
        case(
            "create of an existing id from another config is exists",
            vec![(Counter, create())],
            Bar,
            create(),
            Rejected(RejectCode::Exists, ""),
        ),
        case(
            "an op on an order that does not exist is not_found",
            vec![],
            Counter,
            Op::Share {},
            Rejected(RejectCode::NotFound, ""),
        ),
        case(
            "add_line on an order that does not exist is not_found",
            vec![],
            Counter,
            add_line(1, ESPRESSO, "1"),
            Rejected(RejectCode::NotFound, ""),
        ),
    ]);
}

// ---------------------------------------------------------------------------
// share, unshare
// ---------------------------------------------------------------------------

#[test]
fn share_and_unshare() {
    use Want::*;
    use Who::*;
    check_all(vec![
        case(
            "share makes the draft visible to linked configs",
            draft_with(vec![]),
            Counter,
            Op::Share {},
            Changed(|order| assert!(order.shared)),
        ),
        case(
            "unshare by the origin config",
            draft_with(vec![(Counter, Op::Share {})]),
            Counter,
            Op::Unshare {},
            Changed(|order| assert!(!order.shared)),
        ),
        case(
            "unshare by the origin config's next shift (origin is a config, not a session)",
            draft_with(vec![(Counter, Op::Share {})]),
            CounterNextShift,
            Op::Unshare {},
            Changed(|order| assert!(!order.shared)),
        ),
        case(
            "unshare by a linked config is forbidden",
            draft_with(vec![(Counter, Op::Share {})]),
            Bar,
            Op::Unshare {},
            Rejected(RejectCode::Forbidden, ""),
        ),
    ]);
}

// ---------------------------------------------------------------------------
// add_line
// ---------------------------------------------------------------------------

#[test]
fn add_line_op() {
    use Want::*;
    use Who::*;
    let add_line_with = |line_no,
                         product_id,
                         quantity,
                         unit_price: Option<i64>,
                         discount: Option<&str>,
                         text: Option<&str>| {
        Op::AddLine {
            line_id: line(line_no),
            product_id,
            qty: qty(quantity),
            unit_price: unit_price.map(money),
            discount: discount.map(percent),
            note: text.map(note),
        }
    };
    check_all(vec![
        case(
            "add_line takes the catalog name, price and taxes (10% included)",
            draft_with(vec![]),
            Counter,
            add_line(1, ESPRESSO, "2"),
            Changed(|order| {
                let line = only_line(order);
                assert_eq!(line.id, self::line(1));
                assert_eq!(line.product_id, ESPRESSO);
                assert_eq!(line.name.as_str(), "Espresso");
                assert_eq!(line.qty, qty("2"));
                assert_eq!(line.unit_price, money(250));
                assert_eq!(line.discount, Discount::ZERO);
                assert!(line.note.is_empty());
                assert_eq!(line.taxes, line_taxes(&[(1, 1000, true)]));
                // 5.00 with 10% included: 4.545... -> 4.55 before tax.
                assert_eq!(amounts(line), (455, 45, 500));
                assert_eq!(totals(order), (455, 45, 500));
            }),
        ),
        case(
            "add_line with a tax added on top (21%)",
            draft_with(vec![]),
            Counter,
            add_line(1, SANDWICH, "1"),
            Changed(|order| assert_eq!(amounts(only_line(order)), (1000, 210, 1210))),
        ),
        case(
            "add_line with an included and an added tax",
            draft_with(vec![]),
            Counter,
            add_line(1, WINE, "1"),
            Changed(|order| assert_eq!(amounts(only_line(order)), (1000, 150, 1150))),
        ),
        case(
            "add_line with an explicit price overrides the catalog price",
            draft_with(vec![]),
            Counter,
            add_line_with(1, SANDWICH, "1", Some(800), None, None),
            Changed(|order| {
                let line = only_line(order);
                assert_eq!(line.unit_price, money(800));
                assert_eq!(amounts(line), (800, 168, 968));
            }),
        ),
        case(
            "add_line with a discount",
            draft_with(vec![]),
            Counter,
            add_line_with(1, SANDWICH, "3", None, Some("10"), None),
            Changed(|order| {
                let line = only_line(order);
                assert_eq!(line.discount, percent("10"));
                assert_eq!(amounts(line), (2700, 567, 3267));
            }),
        ),
        case(
            "add_line with a note",
            draft_with(vec![]),
            Counter,
            add_line_with(1, SANDWICH, "1", None, None, Some("no mayo")),
            Changed(|order| assert_eq!(only_line(order).note.as_str(), "no mayo")),
        ),
        case(
            "add_line with a fractional quantity",
            draft_with(vec![]),
            Counter,
            add_line(1, ESPRESSO, "0.5"),
            Changed(|order| assert_eq!(amounts(only_line(order)), (114, 11, 125))),
        ),
        case(
            "add_line with a negative quantity (a return)",
            draft_with(vec![]),
            Counter,
            add_line(1, GIFT_CARD, "-1"),
            Changed(|order| assert_eq!(amounts(only_line(order)), (-2000, 0, -2000))),
        ),
        case(
            "lines keep the order in which they were added",
            draft_with(vec![
                (Counter, add_line(3, ESPRESSO, "1")),
                (Bar, add_line(1, SANDWICH, "1")),
            ]),
            Counter,
            add_line(2, WINE, "1"),
            Changed(|order| {
                assert_eq!(line_ids(order), vec![line(3), line(1), line(2)]);
                assert_eq!(
                    totals(order),
                    (227 + 1000 + 1000, 23 + 210 + 150, 250 + 1210 + 1150)
                );
            }),
        ),
        case(
            "add_line of an unknown product is invalid",
            draft_with(vec![]),
            Counter,
            add_line(1, UNKNOWN_PRODUCT, "1"),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "add_line reusing a live line id is invalid",
            draft_with(vec![(Counter, add_line(1, ESPRESSO, "1"))]),
            Bar,
            add_line(1, SANDWICH, "1"),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "add_line reusing a removed line id is invalid",
            draft_with(vec![
                (Counter, add_line(1, ESPRESSO, "1")),
                (Counter, remove_line(1)),
            ]),
            Counter,
            add_line(1, ESPRESSO, "1"),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "add_line whose amount is out of range is invalid",
            draft_with(vec![]),
            Counter,
            add_line_with(1, GIFT_CARD, "1", Some(2_000_000_000_000), None, None),
            Rejected(RejectCode::Invalid, ""),
        ),
    ]);
}

#[test]
fn the_number_of_lines_is_limited() {
    use Want::*;
    use Who::*;
    let adds = |from: u128, to: u128| -> Steps {
        (from..to)
            .map(|n| (Counter, add_line(n, GIFT_CARD, "1")))
            .collect()
    };
    let removes =
        |from: u128, to: u128| -> Steps { (from..to).map(|n| (Counter, remove_line(n))).collect() };
    let max_lines = LINES_PER_ORDER_MAX as u128;
    let max_ids = LINE_IDS_PER_ORDER_MAX as u128;
    // Live lines and removed ones fill the line ids up to one short of the bound.
    let mut ids_almost_full = adds(0, max_lines);
    ids_almost_full.extend(removes(0, max_lines));
    ids_almost_full.extend(adds(max_lines, max_ids - 1));
    ids_almost_full.extend(removes(max_lines, max_ids - 1 - max_lines / 2));
    let mut ids_full = ids_almost_full.clone();
    ids_full.push((Counter, add_line(max_ids - 1, GIFT_CARD, "1")));
    check_all(vec![
        case(
            "the last line within the bound is accepted",
            draft_with(adds(0, max_lines - 1)),
            Counter,
            add_line(max_lines, GIFT_CARD, "1"),
            Changed(|order| assert_eq!(order.lines.len(), LINES_PER_ORDER_MAX)),
        ),
        case(
            "one live line over the bound is too_large",
            draft_with(adds(0, max_lines)),
            Counter,
            add_line(max_lines, GIFT_CARD, "1"),
            Rejected(RejectCode::TooLarge, ""),
        ),
        case(
            "the last line id within the bound is accepted",
            draft_with(ids_almost_full),
            Counter,
            add_line(max_ids - 1, GIFT_CARD, "1"),
            Changed(|order| {
                assert!(order.lines.len() < LINES_PER_ORDER_MAX);
                assert_eq!(
                    order.lines.len() + order.removed_line_ids.len(),
                    LINE_IDS_PER_ORDER_MAX
                );
            }),
        ),
        case(
            "a new line id once removed lines used them all is too_large",
            draft_with(ids_full),
            Counter,
            add_line(max_ids, GIFT_CARD, "1"),
            Rejected(RejectCode::TooLarge, ""),
        ),
    ]);
}

// ---------------------------------------------------------------------------
// Line edits
// ---------------------------------------------------------------------------

#[test]
fn line_edits_recompute_the_line() {
    use Want::*;
    use Who::*;
    let espresso_2 = || draft_with(vec![(Counter, add_line(1, ESPRESSO, "2"))]);
    check_all(vec![
        case(
            "add_qty adds to the quantity",
            espresso_2(),
            Bar,
            add_qty(1, "1"),
            Changed(|order| {
                let line = only_line(order);
                assert_eq!(line.qty, qty("3"));
                assert_eq!(amounts(line), (682, 68, 750));
            }),
        ),
        case(
            "add_qty with a negative fractional delta",
            espresso_2(),
            Counter,
            add_qty(1, "-0.5"),
            Changed(|order| {
                let line = only_line(order);
                assert_eq!(line.qty, qty("1.5"));
                assert_eq!(amounts(line), (341, 34, 375));
            }),
        ),
        case(
            "add_qty past the largest quantity is invalid",
            espresso_2(),
            Counter,
            add_qty(1, "1000000"),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "set_qty replaces the quantity",
            espresso_2(),
            Counter,
            set_qty(1, "5"),
            Changed(|order| {
                let line = only_line(order);
                assert_eq!(line.qty, qty("5"));
                assert_eq!(amounts(line), (1136, 114, 1250));
            }),
        ),
        case(
            "set_qty 0 keeps the line, at zero",
            espresso_2(),
            Counter,
            set_qty(1, "0"),
            Changed(|order| {
                let line = only_line(order);
                assert_eq!(line.qty, Quantity::ZERO);
                assert_eq!(amounts(line), (0, 0, 0));
                assert_eq!(totals(order), (0, 0, 0));
                assert!(order.removed_line_ids.is_empty());
            }),
        ),
        case(
            "set_price replaces the unit price",
            sandwich_draft(vec![]),
            Counter,
            set_price(1, 500),
            Changed(|order| {
                let line = only_line(order);
                assert_eq!(line.unit_price, money(500));
                assert_eq!(amounts(line), (500, 105, 605));
            }),
        ),
        case(
            "set_price out of range is invalid",
            sandwich_draft(vec![]),
            Counter,
            set_price(1, 2_000_000_000_000),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "set_discount applies before tax",
            sandwich_draft(vec![]),
            Counter,
            set_discount(1, "12.5"),
            Changed(|order| {
                let line = only_line(order);
                assert_eq!(line.discount, percent("12.5"));
                assert_eq!(amounts(line), (875, 184, 1059));
            }),
        ),
        case(
            "set_discount 100 makes the line free",
            sandwich_draft(vec![]),
            Counter,
            set_discount(1, "100"),
            Changed(|order| assert_eq!(amounts(only_line(order)), (0, 0, 0))),
        ),
        case(
            "set_line_note changes the note only",
            sandwich_draft(vec![]),
            Counter,
            set_line_note(1, "well done\nno salt"),
            Changed(|order| {
                let line = only_line(order);
                assert_eq!(line.note.as_str(), "well done\nno salt");
                assert_eq!(amounts(line), (1000, 210, 1210));
            }),
        ),
        case(
            "remove_line drops the line and remembers its id",
            draft_with(vec![
                (Counter, add_line(1, ESPRESSO, "2")),
                (Counter, add_line(2, SANDWICH, "1")),
            ]),
            Bar,
            remove_line(1),
            Changed(|order| {
                assert_eq!(line_ids(order), vec![line(2)]);
                assert_eq!(order.removed_line_ids, BTreeSet::from([line(1)]));
                assert_eq!(totals(order), (1000, 210, 1210));
            }),
        ),
    ]);
}

/// An order stored under an older rounding rule keeps its amounts until a
/// line is really repriced: an edit that sets a line's price, quantity or
/// discount to what it already was changes no amount (found by the
/// `apply_sequence` fuzz target), while a real change reprices that line only.
#[test]
fn an_edit_that_changes_nothing_keeps_older_amounts() {
    let mut stored = replay(&sandwich_draft(vec![(
        Who::Counter,
        add_line(2, ESPRESSO, "1"),
    )]))
    .expect("the draft replays");
    for line in &mut stored.lines {
        line.subtotal = money(1);
        line.tax = money(2);
        line.total = money(3);
    }
    stored.totals = Totals {
        subtotal: money(2),
        tax: money(4),
        total: money(6),
    };
    let same_inputs = [
        set_discount(1, "0"),
        set_qty(1, "1"),
        set_price(1, 1000),
        add_qty(1, "0"),
    ];
    for op in same_inputs {
        let Ok(Applied::Changed(after)) = apply_as(Who::Counter, at_second(9), Some(&stored), &op)
        else {
            panic!("{op:?} is accepted");
        };
        assert_eq!(
            after.lines.iter().map(amounts).collect::<Vec<_>>(),
            vec![(1, 2, 3), (1, 2, 3)],
            "{op:?} left every amount as stored"
        );
        assert_eq!(totals(&after), (2, 4, 6), "{op:?}");
    }
    let Ok(Applied::Changed(after)) = apply_as(
        Who::Counter,
        at_second(9),
        Some(&stored),
        &set_discount(1, "12.5"),
    ) else {
        panic!("a real discount is accepted");
    };
    assert_eq!(
        after.lines.iter().map(amounts).collect::<Vec<_>>(),
        vec![(875, 184, 1059), (1, 2, 3)],
        "the repriced line follows the rule, the other keeps its amounts"
    );
    assert_eq!(totals(&after), (876, 186, 1062));
}

#[test]
fn edits_of_removed_or_unknown_lines_are_refused() {
    let mut cases = Vec::new();
    for op in line_edits(1) {
        cases.push(case(
            format!("{} of a removed line is line_removed", op.kind()),
            sandwich_draft(vec![(Who::Counter, remove_line(1))]),
            Who::Bar,
            op,
            Want::Rejected(RejectCode::LineRemoved, ""),
        ));
    }
    for op in line_edits(9) {
        cases.push(case(
            format!("{} of a line that never existed is unknown_line", op.kind()),
            sandwich_draft(vec![]),
            Who::Counter,
            op,
            Want::Rejected(RejectCode::UnknownLine, ""),
        ));
    }
    check_all(cases);
}

// ---------------------------------------------------------------------------
// set_customer, set_note
// ---------------------------------------------------------------------------

#[test]
fn customer_and_note() {
    use Want::*;
    use Who::*;
    check_all(vec![
        case(
            "set_customer sets the customer",
            draft_with(vec![]),
            Counter,
            set_customer(Some(ALICE)),
            Changed(|order| assert_eq!(order.customer_id, Some(ALICE))),
        ),
        case(
            "set_customer replaces the customer",
            draft_with(vec![(Counter, set_customer(Some(ALICE)))]),
            Bar,
            set_customer(Some(BOB)),
            Changed(|order| assert_eq!(order.customer_id, Some(BOB))),
        ),
        case(
            "set_customer null clears the customer",
            draft_with(vec![(Counter, set_customer(Some(ALICE)))]),
            Counter,
            set_customer(None),
            Changed(|order| assert_eq!(order.customer_id, None)),
        ),
        case(
            "set_customer with an unknown customer is invalid",
            draft_with(vec![]),
            Counter,
            set_customer(Some(UNKNOWN_CUSTOMER)),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "set_note sets the note",
            draft_with(vec![]),
            Counter,
            set_note("birthday\ttable 4"),
            Changed(|order| assert_eq!(order.note.as_str(), "birthday\ttable 4")),
        ),
        case(
            "set_note with an empty note clears it",
            draft_with(vec![(Counter, set_note("birthday"))]),
            Counter,
            set_note(""),
            Changed(|order| assert!(order.note.is_empty())),
        ),
    ]);
}

// ---------------------------------------------------------------------------
// Payment locks
// ---------------------------------------------------------------------------

/// A shared sandwich draft that Counter started to take payment for at 3 s
/// (so its lease runs until 63 s).
fn locked_by_counter() -> Steps {
    sandwich_draft(vec![
        (Who::Counter, Op::Share {}),
        (Who::Counter, Op::BeginPayment {}),
    ])
}

const LOCKED_AT_MS: i64 = 3_000;

#[test]
fn a_payment_lock_keeps_every_other_terminal_out() {
    use Want::*;
    use Who::*;
    let mut cases = vec![
        case(
            "begin_payment locks the order to the caller's terminal for a lease",
            sandwich_draft(vec![]),
            Bar,
            Op::BeginPayment {},
            Changed(|order| {
                let bar = Who::Bar.by();
                assert_eq!(
                    order.lock,
                    Some(Lock {
                        terminal: bar.terminal,
                        session_id: bar.session_id,
                        config_id: bar.config_id,
                        config_name: bar.config_name,
                        until: at_second(2).plus_millis(LEASE_MS),
                    })
                );
            }),
        ),
        case(
            "cancel_payment by the holder releases the lock",
            locked_by_counter(),
            Counter,
            Op::CancelPayment {},
            Changed(|order| assert_eq!(order.lock, None)),
        ),
        case(
            "the holder may still edit, and keeps the lock",
            locked_by_counter(),
            Counter,
            add_qty(1, "1"),
            Changed(|order| {
                assert_eq!(only_line(order).qty, qty("2"));
                let lock = order.lock.as_ref().expect("still locked");
                assert_eq!(lock.terminal, Who::Counter.by().terminal);
                assert_eq!(lock.until, at_ms(LOCKED_AT_MS + LEASE_MS));
            }),
        ),
        case(
            "the holder may pay, which releases the lock",
            locked_by_counter(),
            Counter,
            pay(&[(CARD, 1_210)], 1_210),
            Changed(|order| {
                assert_eq!(order.state, OrderState::Paid);
                assert_eq!(order.lock, None);
            }),
        ),
        case(
            "the holder may cancel, which releases the lock",
            locked_by_counter(),
            Counter,
            cancel(),
            Changed(|order| {
                assert_eq!(order.state, OrderState::Cancelled);
                assert_eq!(order.lock, None);
            }),
        ),
    ];
    // The lock is per terminal: another tab of the same session is kept out too.
    for who in [Bar, CounterTab2, CounterNextShift] {
        for op in every_edit(1) {
            cases.push(case(
                format!(
                    "{} by {who:?} while Counter takes payment is locked",
                    op.kind()
                ),
                locked_by_counter(),
                who,
                op,
                // The message names who holds the lock.
                Rejected(RejectCode::Locked, "Counter"),
            ));
        }
    }
    cases.push(case(
        "the locked message names the holder's config (Bar holds, Counter asks)",
        sandwich_draft(vec![(Counter, Op::Share {}), (Bar, Op::BeginPayment {})]),
        Counter,
        set_note("hurry"),
        Rejected(RejectCode::Locked, "Bar"),
    ));
    check_all(cases);
}

/// Applies `op` at `offset_ms` after T0, checking the invariants of an accepted op.
fn apply_at(order: &Order, who: Who, offset_ms: i64, op: &Op) -> Result<Order, Reject> {
    match apply_as(who, at_ms(offset_ms), Some(order), op)? {
        Applied::Changed(next) => {
            assert_accepted(op.kind(), Some(order), &next, who, at_ms(offset_ms));
            Ok(next)
        }
        Applied::Unchanged => panic!("{} answered unchanged", op.kind()),
    }
}

fn rejected_code(result: Result<Order, Reject>) -> RejectCode {
    match result {
        Ok(order) => panic!("expected a reject, got version {}", order.version),
        Err(reject) => reject.code,
    }
}

#[test]
fn a_payment_lock_expires_with_its_lease() {
    let locked = replay(&locked_by_counter()).unwrap();
    let until_ms = LOCKED_AT_MS + LEASE_MS;
    assert_eq!(locked.lock.as_ref().unwrap().until, at_ms(until_ms));

    // Just before the lease ends, Bar is still kept out.
    assert_eq!(
        rejected_code(apply_at(&locked, Who::Bar, until_ms - 1, &set_note("mine"))),
        RejectCode::Locked
    );
    // Just after, Bar gets in, and its op drops the dead lock.
    let after = apply_at(&locked, Who::Bar, until_ms + 1, &set_note("mine")).unwrap();
    assert_eq!(after.lock, None);
    assert_eq!(after.note.as_str(), "mine");
    let patch = Patch::between(&locked, &after);
    assert_eq!(patch.header.get("lock"), Some(&serde_json::Value::Null));
    // Bar may take the payment over.
    let taken = apply_at(&locked, Who::Bar, until_ms + 1, &Op::BeginPayment {}).unwrap();
    let lock = taken.lock.as_ref().unwrap();
    assert_eq!(lock.terminal, Who::Bar.by().terminal);
    assert_eq!(lock.config_name.as_str(), "Bar");
    assert_eq!(lock.until, at_ms(until_ms + 1 + LEASE_MS));
    // And then Counter is the one kept out, told that Bar holds it.
    let refused = apply_at(&taken, Who::Counter, until_ms + 2, &add_qty(1, "1")).unwrap_err();
    assert_eq!(refused.code, RejectCode::Locked);
    assert!(refused.message.contains("Bar"), "{}", refused.message);
    // Bar may pay after the dead lock is gone, even without a lock of its own.
    let paid = apply_at(
        &locked,
        Who::Bar,
        until_ms + 1,
        &pay(&[(CASH, 1_210)], 1_210),
    )
    .unwrap();
    assert_eq!(paid.state, OrderState::Paid);
    assert_eq!(paid.paid_by, Some(Who::Bar.by()));
}

#[test]
fn sending_begin_payment_again_renews_the_lease() {
    let locked = replay(&locked_by_counter()).unwrap();
    let renewed_at_ms = 50_000;
    let renewed = apply_at(&locked, Who::Counter, renewed_at_ms, &Op::BeginPayment {}).unwrap();
    let until_ms = renewed_at_ms + LEASE_MS;
    assert_eq!(renewed.lock.as_ref().unwrap().until, at_ms(until_ms));
    // Past the first lease, Bar is still kept out by the renewed one.
    assert_eq!(
        rejected_code(apply_at(
            &renewed,
            Who::Bar,
            LOCKED_AT_MS + LEASE_MS + 1,
            &set_note("x")
        )),
        RejectCode::Locked
    );
    assert_eq!(
        rejected_code(apply_at(&renewed, Who::Bar, until_ms - 1, &set_note("x"))),
        RejectCode::Locked
    );
    let after = apply_at(&renewed, Who::Bar, until_ms + 1, &set_note("x")).unwrap();
    assert_eq!(after.lock, None);
}

#[test]
fn cancel_payment_lets_other_terminals_in_at_once() {
    let locked = replay(&locked_by_counter()).unwrap();
    let released = apply_at(&locked, Who::Counter, 4_000, &Op::CancelPayment {}).unwrap();
    assert_eq!(released.lock, None);
    let edited = apply_at(&released, Who::Bar, 5_000, &add_qty(1, "2")).unwrap();
    assert_eq!(only_line(&edited).qty, qty("3"));
    // Another terminal cannot release someone else's lock: "every other
    // terminal's edits and payments get locked".
    assert_eq!(
        rejected_code(apply_at(&locked, Who::Bar, 4_000, &Op::CancelPayment {})),
        RejectCode::Locked
    );
}

// ---------------------------------------------------------------------------
// pay
// ---------------------------------------------------------------------------

#[test]
fn pay_op() {
    use Want::*;
    use Who::*;
    // The sandwich draft totals 12.10.
    check_all(vec![
        case(
            "pay by card, exactly",
            sandwich_draft(vec![(Counter, Op::Share {})]),
            Bar,
            pay(&[(CARD, 1_210)], 1_210),
            Changed(|order| {
                assert_eq!(order.state, OrderState::Paid);
                assert_eq!(
                    order.payments,
                    vec![Payment {
                        method_id: CARD,
                        amount: money(1_210)
                    }]
                );
                assert_eq!(order.change, Money::ZERO);
                assert!(!order.invoice);
                assert_eq!(order.paid_by, Some(Who::Bar.by()));
                assert_eq!(order.lock, None);
                assert_eq!(totals(order), (1000, 210, 1210));
            }),
        ),
        case(
            "pay in cash over the total gives change",
            sandwich_draft(vec![]),
            Counter,
            pay(&[(CASH, 2_000)], 1_210),
            Changed(|order| {
                assert_eq!(order.state, OrderState::Paid);
                assert_eq!(order.change, money(790));
                assert_eq!(order.payments[0].amount, money(2_000));
            }),
        ),
        case(
            "pay by card over the total is invalid",
            sandwich_draft(vec![]),
            Counter,
            pay(&[(CARD, 1_300)], 1_210),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "pay by an 'other' method over the total is invalid",
            sandwich_draft(vec![]),
            Counter,
            pay(&[(VOUCHER, 1_300)], 1_210),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "pay by card and cash, change from the cash",
            sandwich_draft(vec![]),
            Counter,
            pay(&[(CARD, 1_000), (CASH, 500)], 1_210),
            Changed(|order| {
                assert_eq!(order.state, OrderState::Paid);
                assert_eq!(order.change, money(290));
                assert_eq!(
                    order.payments,
                    vec![
                        Payment {
                            method_id: CARD,
                            amount: money(1_000)
                        },
                        Payment {
                            method_id: CASH,
                            amount: money(500)
                        },
                    ]
                );
            }),
        ),
        case(
            "pay by card and cash, where the change is more than the cash, is invalid",
            sandwich_draft(vec![]),
            Counter,
            pay(&[(CARD, 1_300), (CASH, 20)], 1_210),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "pay short of the total is underpaid",
            sandwich_draft(vec![]),
            Counter,
            pay(&[(CASH, 1_000)], 1_210),
            Rejected(RejectCode::Underpaid, "2.10"),
        ),
        case(
            "a split payment short of the total is underpaid",
            sandwich_draft(vec![]),
            Counter,
            pay(&[(CARD, 600), (CASH, 600)], 1_210),
            Rejected(RejectCode::Underpaid, ""),
        ),
        case(
            "pay with no payment at all is underpaid",
            sandwich_draft(vec![]),
            Counter,
            pay(&[], 1_210),
            Rejected(RejectCode::Underpaid, ""),
        ),
        case(
            "pay with an outdated expected_total is stale",
            sandwich_draft(vec![(Bar, add_qty(1, "1"))]),
            Counter,
            pay(&[(CASH, 5_000)], 1_210),
            Rejected(RejectCode::Stale, "24.20"),
        ),
        case(
            "pay asking for an invoice without a customer is invalid",
            sandwich_draft(vec![]),
            Counter,
            pay_with_invoice(&[(CARD, 1_210)], 1_210),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "pay asking for an invoice with a customer",
            sandwich_draft(vec![(Counter, set_customer(Some(ALICE)))]),
            Counter,
            pay_with_invoice(&[(CARD, 1_210)], 1_210),
            Changed(|order| {
                assert_eq!(order.state, OrderState::Paid);
                assert!(order.invoice);
                assert_eq!(order.customer_id, Some(ALICE));
            }),
        ),
        case(
            "pay of an order without lines is invalid",
            draft_with(vec![]),
            Counter,
            pay(&[(CASH, 100)], 0),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "pay of an order whose lines were all removed is invalid",
            sandwich_draft(vec![(Counter, remove_line(1))]),
            Counter,
            pay(&[], 0),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "pay with an unknown method is invalid",
            sandwich_draft(vec![]),
            Counter,
            pay(&[(UNKNOWN_METHOD, 1_210)], 1_210),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "a zero payment is invalid",
            sandwich_draft(vec![]),
            Counter,
            pay(&[(CARD, 1_210), (CASH, 0)], 1_210),
            Rejected(RejectCode::Invalid, ""),
        ),
        case(
            "a negative payment on a positive total is invalid",
            sandwich_draft(vec![]),
            Counter,
            pay(&[(CASH, 1_310), (CARD, -100)], 1_210),
            Rejected(RejectCode::Invalid, ""),
        ),
        // A return makes the total negative: the shop pays out exactly that,
        // in cash or not, and gives no change, so "only cash gives change"
        // has nothing to refuse.
        case(
            "a refund pays out exactly the (negative) total",
            draft_with(vec![(Counter, add_line(1, GIFT_CARD, "-1"))]),
            Counter,
            pay(&[(CASH, -2_000)], -2_000),
            Changed(|order| {
                assert_eq!(order.state, OrderState::Paid);
                assert_eq!(order.change, Money::ZERO);
                assert_eq!(order.payments[0].amount, money(-2_000));
            }),
        ),
        case(
            "a refund paid out by card",
            draft_with(vec![(Counter, add_line(1, GIFT_CARD, "-1"))]),
            Counter,
            pay(&[(CARD, -2_000)], -2_000),
            Changed(|order| {
                assert_eq!(order.state, OrderState::Paid);
                assert_eq!(order.change, Money::ZERO);
            }),
        ),
        case(
            "a refund paid out partly in cash, partly by card",
            draft_with(vec![(Counter, add_line(1, GIFT_CARD, "-1"))]),
            Counter,
            pay(&[(CARD, -1_500), (CASH, -500)], -2_000),
            Changed(|order| {
                assert_eq!(order.state, OrderState::Paid);
                assert_eq!(order.change, Money::ZERO);
            }),
        ),
        case(
            "a refund paying out more than owed is refused",
            draft_with(vec![(Counter, add_line(1, GIFT_CARD, "-1"))]),
            Counter,
            pay(&[(CASH, -2_500)], -2_000),
            Rejected(RejectCode::Invalid, "more than the total"),
        ),
    ]);
}

// ---------------------------------------------------------------------------
// After pay, after cancel
// ---------------------------------------------------------------------------

#[test]
fn cancel_and_the_end_of_an_order() {
    use Want::*;
    use Who::*;
    let paid = || {
        sandwich_draft(vec![
            (Counter, Op::Share {}),
            (Counter, pay(&[(CARD, 1_210)], 1_210)),
        ])
    };
    let cancelled = || sandwich_draft(vec![(Counter, Op::Share {}), (Counter, cancel())]);
    let mut cases = vec![
        case(
            "cancel drops the draft",
            sandwich_draft(vec![]),
            Bar,
            cancel(),
            Changed(|order| {
                assert_eq!(order.state, OrderState::Cancelled);
                assert_eq!(order.paid_by, None);
                assert!(order.payments.is_empty());
            }),
        ),
        case(
            "cancel with a reason",
            sandwich_draft(vec![]),
            Counter,
            Op::Cancel {
                reason: Some(note("customer left")),
            },
            Changed(|order| assert_eq!(order.state, OrderState::Cancelled)),
        ),
    ];
    // Guarantee 5: no edit is accepted after pay, from anyone, not even the payer.
    for who in [Counter, CounterTab2, Bar] {
        for op in every_edit(1) {
            cases.push(case(
                format!("{} by {who:?} after pay is paid", op.kind()),
                paid(),
                who,
                op,
                Rejected(RejectCode::Paid, ""),
            ));
        }
        for op in every_edit(1) {
            cases.push(case(
                format!("{} by {who:?} after cancel is cancelled", op.kind()),
                cancelled(),
                who,
                op,
                Rejected(RejectCode::Cancelled, ""),
            ));
        }
    }
    check_all(cases);
}

#[test]
fn create_of_a_finished_order_is_refused() {
    // PROTOCOL.md does not say whether a create of an id that is paid or
    // cancelled answers `exists` (other content: no longer a draft) or
    // `paid`/`cancelled`; either is a final refusal, never an acceptance.
    for (steps, end_code) in [
        (
            sandwich_draft(vec![(Who::Counter, pay(&[(CARD, 1_210)], 1_210))]),
            RejectCode::Paid,
        ),
        (
            sandwich_draft(vec![(Who::Counter, cancel())]),
            RejectCode::Cancelled,
        ),
    ] {
        let order = replay(&steps).unwrap();
        let reject = apply_as(
            Who::Counter,
            at_second(steps.len()),
            Some(&order),
            &create(),
        )
        .unwrap_err();
        assert!(
            [RejectCode::Exists, end_code].contains(&reject.code),
            "{:?}: {reject:?}",
            order.state
        );
    }
}

// ---------------------------------------------------------------------------
// Visibility
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct VisibilityRow<'a> {
    name: &'a str,
    order: &'a Order,
    links: &'a SyncLinks,
    config_id: ConfigId,
    sees_draft: bool,
    reads: bool,
}

#[test]
fn visibility_follows_origin_links_sharing_and_payment() {
    // Counter-Bar and Bar-Terrace are linked; Kitchen is linked to no one.
    let links = SyncLinks::from_pairs([(COUNTER, BAR), (BAR, TERRACE)]);
    let counter_unlinked = SyncLinks::from_pairs([(BAR, TERRACE)]);
    let private = replay(&sandwich_draft(vec![])).unwrap();
    let shared = replay(&sandwich_draft(vec![(Who::Counter, Op::Share {})])).unwrap();
    let unshared = replay(&sandwich_draft(vec![
        (Who::Counter, Op::Share {}),
        (Who::Counter, Op::Unshare {}),
    ]))
    .unwrap();
    let paid_at_origin = replay(&sandwich_draft(vec![
        (Who::Counter, Op::Share {}),
        (Who::Counter, pay(&[(CARD, 1_210)], 1_210)),
    ]))
    .unwrap();
    let paid_at_bar = replay(&sandwich_draft(vec![
        (Who::Counter, Op::Share {}),
        (Who::Bar, pay(&[(CARD, 1_210)], 1_210)),
    ]))
    .unwrap();
    let cancelled = replay(&sandwich_draft(vec![
        (Who::Counter, Op::Share {}),
        (Who::Bar, cancel()),
    ]))
    .unwrap();
    let row = |name, order, links, config_id, sees_draft, reads| VisibilityRow {
        name,
        order,
        links,
        config_id,
        sees_draft,
        reads,
    };
    let rows = [
        row(
            "private draft, origin",
            &private,
            &links,
            COUNTER,
            true,
            true,
        ),
        row(
            "private draft, linked config",
            &private,
            &links,
            BAR,
            false,
            false,
        ),
        row(
            "private draft, unlinked config",
            &private,
            &links,
            KITCHEN,
            false,
            false,
        ),
        row("shared draft, origin", &shared, &links, COUNTER, true, true),
        row(
            "shared draft, linked config",
            &shared,
            &links,
            BAR,
            true,
            true,
        ),
        row(
            "shared draft, config linked only to a linked config (not transitive)",
            &shared,
            &links,
            TERRACE,
            false,
            false,
        ),
        row(
            "shared draft, unlinked config",
            &shared,
            &links,
            KITCHEN,
            false,
            false,
        ),
        row(
            "shared draft, linked config after the link is removed",
            &shared,
            &counter_unlinked,
            BAR,
            false,
            false,
        ),
        row(
            "shared draft, origin after its links are removed",
            &shared,
            &counter_unlinked,
            COUNTER,
            true,
            true,
        ),
        row(
            "unshared draft, origin",
            &unshared,
            &links,
            COUNTER,
            true,
            true,
        ),
        row(
            "unshared draft, linked config",
            &unshared,
            &links,
            BAR,
            false,
            false,
        ),
        row(
            "paid at origin, origin",
            &paid_at_origin,
            &links,
            COUNTER,
            false,
            true,
        ),
        row(
            "paid at origin, linked config",
            &paid_at_origin,
            &links,
            BAR,
            false,
            false,
        ),
        row(
            "paid at bar, origin",
            &paid_at_bar,
            &links,
            COUNTER,
            false,
            true,
        ),
        row("paid at bar, payer", &paid_at_bar, &links, BAR, false, true),
        row(
            "paid at bar, payer after the link is removed",
            &paid_at_bar,
            &counter_unlinked,
            BAR,
            false,
            true,
        ),
        row(
            "paid at bar, config linked to the payer",
            &paid_at_bar,
            &links,
            TERRACE,
            false,
            false,
        ),
        row(
            "paid at bar, unlinked config",
            &paid_at_bar,
            &links,
            KITCHEN,
            false,
            false,
        ),
        // PROTOCOL.md only keeps paid orders readable; core keeps a cancelled
        // order readable by its origin config (visibility.rs says so).
        row(
            "cancelled, origin",
            &cancelled,
            &links,
            COUNTER,
            false,
            true,
        ),
        row(
            "cancelled, the linked config that cancelled it",
            &cancelled,
            &links,
            BAR,
            false,
            false,
        ),
        row(
            "cancelled, unlinked config",
            &cancelled,
            &links,
            KITCHEN,
            false,
            false,
        ),
    ];
    let failed: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            let got = (
                can_see_draft(row.order, row.config_id, row.links),
                can_read(row.order, row.config_id, row.links),
            );
            (got != (row.sees_draft, row.reads)).then(|| {
                format!(
                    "{}: (can_see_draft, can_read) = {got:?}, want {:?}",
                    row.name,
                    (row.sees_draft, row.reads)
                )
            })
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

// ---------------------------------------------------------------------------
// Patches
// ---------------------------------------------------------------------------

#[test]
fn patches_carry_only_what_changed() {
    let base = replay(&draft_with(vec![
        (Who::Counter, add_line(1, ESPRESSO, "1")),
        (Who::Counter, add_line(2, SANDWICH, "1")),
    ]))
    .unwrap();

    let noted = apply_at(&base, Who::Counter, 10_000, &set_note("window")).unwrap();
    let patch = Patch::between(&base, &noted);
    assert!(patch.upsert_lines.is_empty() && patch.remove_lines.is_empty());
    assert_eq!(patch.header.get("note"), Some(&serde_json::json!("window")));
    assert!(patch.header.contains_key("version"));
    assert!(patch.header.contains_key("updated_at"));
    assert!(
        !patch.header.contains_key("totals"),
        "totals did not change"
    );
    assert!(!patch.header.contains_key("customer_id"));

    let more = apply_at(&base, Who::Bar, 10_000, &add_qty(2, "1")).unwrap();
    let patch = Patch::between(&base, &more);
    assert_eq!(patch.upsert_lines, vec![more.lines[1].clone()]);
    assert!(patch.remove_lines.is_empty());
    assert!(patch.header.contains_key("totals"));
    assert!(patch.header.contains_key("updated_by"));

    let removed = apply_at(&base, Who::Counter, 10_000, &remove_line(1)).unwrap();
    let patch = Patch::between(&base, &removed);
    assert!(patch.upsert_lines.is_empty());
    assert_eq!(patch.remove_lines, vec![line(1)]);

    // Patches chain: a copy that only ever receives patches follows the order.
    let mut copy = base.clone();
    let mut order = base;
    for (step, (who, op)) in [
        (Who::Counter, add_line(3, WINE, "2")),
        (Who::Bar, remove_line(1)),
        (Who::Counter, set_discount(3, "10")),
        (Who::Bar, Op::BeginPayment {}),
        (Who::Bar, pay(&[(CASH, 5_000)], 1_210 + 2_070)),
    ]
    .iter()
    .enumerate()
    {
        let next = apply_at(&order, *who, 20_000 + step as i64 * 1_000, op).unwrap();
        copy = Patch::between(&order, &next).apply_to(&copy).unwrap();
        assert_eq!(copy, next, "after {}", op.kind());
        order = next;
    }
    assert_eq!(order.state, OrderState::Paid);
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

fn deltas_and_a_shuffle() -> impl Strategy<Value = (Vec<i64>, Vec<i64>)> {
    prop::collection::vec(-5_000i64..=5_000, 1..12)
        .prop_flat_map(|deltas| (Just(deltas.clone()), Just(deltas).prop_shuffle()))
}

/// Failures print the minimal sequence; nothing is written next to the tests.
fn proptest_config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// "add_qty: commutative: concurrent adds all count". Whatever order the
    /// server sequences them in, the line ends at the same quantity and amounts.
    #[test]
    fn add_qty_deltas_commute((deltas, shuffled) in deltas_and_a_shuffle()) {
        let base = replay(&draft_with(vec![
            (Who::Counter, add_line(1, ESPRESSO, "2")),
            (Who::Counter, add_line(2, SANDWICH, "1")),
        ]))
        .unwrap();
        let run = |deltas: &[i64]| -> Order {
            let mut order = base.clone();
            for (step, &delta) in deltas.iter().enumerate() {
                let who = if step % 2 == 0 { Who::Counter } else { Who::Bar };
                let op = Op::AddQty {
                    line_id: line(1),
                    delta: Quantity::from_milli(delta).unwrap(),
                };
                order = apply_at(&order, who, 10_000 + step as i64, &op).unwrap();
            }
            order
        };
        let in_order = run(&deltas);
        let reordered = run(&shuffled);
        let sum: i64 = deltas.iter().sum();
        prop_assert_eq!(in_order.lines[0].qty.milli(), 2_000 + sum);
        prop_assert_eq!(&in_order.lines, &reordered.lines);
        prop_assert_eq!(in_order.totals, reordered.totals);
        prop_assert_eq!(&in_order.lines[1], &base.lines[1]);
        prop_assert_eq!(in_order.version, base.version + deltas.len() as u64);
    }
}

/// The actors of the random sequences: two tabs of the origin counter and a linked bar.
const ACTORS: [Who; 3] = [Who::Counter, Who::CounterTab2, Who::Bar];
const PRODUCT_CHOICES: [i64; 5] = [1, 2, 3, 4, 99];
const NOTES: [&str; 3] = ["", "no ice", "table 4\nby the window"];
const CUSTOMER_CHOICES: [Option<i64>; 4] = [None, Some(7), Some(8), Some(99)];
const LINE_SLOTS: u128 = 6;

#[derive(Debug, Clone, Copy)]
enum PayPlan {
    /// One payment of the whole total with method 1, 2 or 3.
    Exact(i64),
    CashOver(i64),
    CardOver(i64),
    /// Half by card, the rest plus something in cash.
    Split(i64),
    Under(i64),
    /// Exact by card, with an expected_total off by this much.
    Stale(i64),
    UnknownMethod,
}

#[derive(Debug, Clone)]
enum Action {
    AddLine {
        slot: u128,
        product: usize,
        qty: i64,
        price: Option<i64>,
        discount: Option<i64>,
        note: Option<usize>,
    },
    AddQty {
        slot: u128,
        delta: i64,
    },
    SetQty {
        slot: u128,
        qty: i64,
    },
    SetPrice {
        slot: u128,
        price: i64,
    },
    SetDiscount {
        slot: u128,
        discount: i64,
    },
    SetLineNote {
        slot: u128,
        note: usize,
    },
    RemoveLine {
        slot: u128,
    },
    SetCustomer(usize),
    SetNote(usize),
    Share,
    Unshare,
    BeginPayment,
    CancelPayment,
    Pay {
        plan: PayPlan,
        invoice: bool,
    },
    Cancel,
}

fn action() -> impl Strategy<Value = Action> {
    let slot = || 0..LINE_SLOTS;
    let plan = prop_oneof![
        (1i64..=3).prop_map(PayPlan::Exact),
        (1i64..=500).prop_map(PayPlan::CashOver),
        (1i64..=500).prop_map(PayPlan::CardOver),
        (0i64..=500).prop_map(PayPlan::Split),
        (1i64..=500).prop_map(PayPlan::Under),
        prop_oneof![-100i64..=-1, 1i64..=100].prop_map(PayPlan::Stale),
        Just(PayPlan::UnknownMethod),
    ];
    // Cancel and a successful pay end a sequence, so they are kept rare.
    prop_oneof![
        18 => (
            slot(),
            0..PRODUCT_CHOICES.len(),
            -3_000i64..=9_000,
            prop::option::of(-1_000i64..=5_000),
            prop::option::of(0i64..=10_000),
            prop::option::of(0..NOTES.len()),
        )
            .prop_map(|(slot, product, qty, price, discount, note)| Action::AddLine {
                slot,
                product,
                qty,
                price,
                discount,
                note,
            }),
        12 => (slot(), -3_000i64..=3_000).prop_map(|(slot, delta)| Action::AddQty { slot, delta }),
        9 => (slot(), -2_000i64..=9_000).prop_map(|(slot, qty)| Action::SetQty { slot, qty }),
        6 => (slot(), -1_000i64..=5_000).prop_map(|(slot, price)| Action::SetPrice { slot, price }),
        6 => (slot(), 0i64..=10_000).prop_map(|(slot, discount)| Action::SetDiscount { slot, discount }),
        3 => (slot(), 0..NOTES.len()).prop_map(|(slot, note)| Action::SetLineNote { slot, note }),
        6 => slot().prop_map(|slot| Action::RemoveLine { slot }),
        6 => (0..CUSTOMER_CHOICES.len()).prop_map(Action::SetCustomer),
        3 => (0..NOTES.len()).prop_map(Action::SetNote),
        3 => Just(Action::Share),
        3 => Just(Action::Unshare),
        6 => Just(Action::BeginPayment),
        3 => Just(Action::CancelPayment),
        6 => (plan, any::<bool>()).prop_map(|(plan, invoice)| Action::Pay { plan, invoice }),
        1 => Just(Action::Cancel),
    ]
}

/// One step of a random sequence: who acts, how long after the previous step, and what.
fn step() -> impl Strategy<Value = (usize, i64, Action)> {
    (0..ACTORS.len(), 0i64..=20_000, action())
}

/// The amounts of a line by the rule in totals.rs's documentation, written
/// out again here so that the model does not trust the code under test.
fn expected_amounts(
    price: i64,
    qty_milli: i64,
    discount_bp: i64,
    taxes: &[(i64, i64, bool)],
) -> (i64, i64, i64) {
    let half_away = |numerator: i128, denominator: i128| -> i128 {
        let quotient = numerator / denominator;
        if 2 * (numerator % denominator).abs() >= denominator {
            quotient + numerator.signum()
        } else {
            quotient
        }
    };
    let priced = half_away(
        i128::from(price) * i128::from(qty_milli) * i128::from(10_000 - discount_bp),
        1_000 * 10_000,
    );
    let included: i128 = taxes
        .iter()
        .filter(|tax| tax.2)
        .map(|tax| i128::from(tax.1))
        .sum();
    let subtotal = if included > 0 {
        half_away(priced * 10_000, 10_000 + included)
    } else {
        priced
    };
    let added: i128 = taxes
        .iter()
        .filter(|tax| !tax.2)
        .map(|tax| half_away(subtotal * i128::from(tax.1), 10_000))
        .sum();
    let tax = priced - subtotal + added;
    (subtotal as i64, tax as i64, (subtotal + tax) as i64)
}

#[derive(Debug, Clone)]
struct ModelLine {
    id: LineId,
    product: i64,
    qty: i64,
    price: i64,
    discount: i64,
    note: &'static str,
}

impl ModelLine {
    fn amounts(&self) -> (i64, i64, i64) {
        let taxes = product_row(self.product).unwrap().3;
        expected_amounts(self.price, self.qty, self.discount, taxes)
    }
}

/// What the order should be, kept from the contract alone.
#[derive(Debug, Clone)]
struct Model {
    version: u64,
    state: OrderState,
    shared: bool,
    customer: Option<i64>,
    note: &'static str,
    lines: Vec<ModelLine>,
    removed: BTreeSet<LineId>,
    /// The holder and the end of the lease, in ms since the epoch.
    lock: Option<(Who, i64)>,
    payments: Vec<(i64, i64)>,
    change: i64,
    invoice: bool,
    paid_by: Option<Who>,
    updated: (Who, i64),
}

impl Model {
    fn created_by_counter() -> Model {
        Model {
            version: 1,
            state: OrderState::Draft,
            shared: false,
            customer: None,
            note: "",
            lines: Vec::new(),
            removed: BTreeSet::new(),
            lock: None,
            payments: Vec::new(),
            change: 0,
            invoice: false,
            paid_by: None,
            updated: (Who::Counter, T0_MS),
        }
    }

    fn total(&self) -> i64 {
        self.lines.iter().map(|line| line.amounts().2).sum()
    }

    /// The payments and expected_total a cashier following `plan` sends.
    fn payments_for(&self, plan: PayPlan) -> (Vec<(i64, i64)>, i64) {
        let total = self.total();
        match plan {
            PayPlan::Exact(method) => (vec![(method, total)], total),
            PayPlan::CashOver(extra) => (vec![(CASH.0, total + extra)], total),
            PayPlan::CardOver(extra) => (vec![(CARD.0, total + extra)], total),
            PayPlan::Split(extra) => (
                vec![(CARD.0, total / 2), (CASH.0, total - total / 2 + extra)],
                total,
            ),
            PayPlan::Under(short) => (vec![(CASH.0, total - short)], total),
            PayPlan::Stale(off) => (vec![(CARD.0, total)], total + off),
            PayPlan::UnknownMethod => (vec![(UNKNOWN_METHOD.0, total)], total),
        }
    }

    fn op_for(&self, action: &Action) -> Op {
        match *action {
            Action::AddLine {
                slot,
                product,
                qty,
                price,
                discount,
                note: note_index,
            } => Op::AddLine {
                line_id: line(slot),
                product_id: ProductId(PRODUCT_CHOICES[product]),
                qty: Quantity::from_milli(qty).unwrap(),
                unit_price: price.map(money),
                discount: discount.map(|bp| Discount::from_basis_points(bp).unwrap()),
                note: note_index.map(|index| note(NOTES[index])),
            },
            Action::AddQty { slot, delta } => Op::AddQty {
                line_id: line(slot),
                delta: Quantity::from_milli(delta).unwrap(),
            },
            Action::SetQty { slot, qty } => Op::SetQty {
                line_id: line(slot),
                qty: Quantity::from_milli(qty).unwrap(),
            },
            Action::SetPrice { slot, price } => set_price(slot, price),
            Action::SetDiscount { slot, discount } => Op::SetDiscount {
                line_id: line(slot),
                discount: Discount::from_basis_points(discount).unwrap(),
            },
            Action::SetLineNote { slot, note } => set_line_note(slot, NOTES[note]),
            Action::RemoveLine { slot } => remove_line(slot),
            Action::SetCustomer(index) => set_customer(CUSTOMER_CHOICES[index].map(CustomerId)),
            Action::SetNote(index) => set_note(NOTES[index]),
            Action::Share => Op::Share {},
            Action::Unshare => Op::Unshare {},
            Action::BeginPayment => Op::BeginPayment {},
            Action::CancelPayment => Op::CancelPayment {},
            Action::Pay { plan, invoice } => {
                let (payments, expected_total) = self.payments_for(plan);
                Op::Pay {
                    payments: payments
                        .into_iter()
                        .map(|(method_id, amount)| PaymentInput {
                            method_id: PaymentMethodId(method_id),
                            amount: money(amount),
                        })
                        .collect(),
                    expected_total: money(expected_total),
                    invoice: Some(invoice),
                }
            }
            Action::Cancel => cancel(),
        }
    }

    fn line_mut(&mut self, slot: u128) -> Result<&mut ModelLine, RejectCode> {
        let line_id = line(slot);
        if self.removed.contains(&line_id) {
            return Err(RejectCode::LineRemoved);
        }
        self.lines
            .iter_mut()
            .find(|line| line.id == line_id)
            .ok_or(RejectCode::UnknownLine)
    }

    /// The order after `who` does `action` at `now_ms`, or the code it is refused with.
    fn expect(&self, who: Who, now_ms: i64, action: &Action) -> Result<Model, RejectCode> {
        match self.state {
            OrderState::Draft => {}
            OrderState::Paid => return Err(RejectCode::Paid),
            OrderState::Cancelled => return Err(RejectCode::Cancelled),
        }
        if let Some((holder, until_ms)) = self.lock
            && until_ms > now_ms
            && holder != who
        {
            return Err(RejectCode::Locked);
        }
        let mut next = self.clone();
        if next.lock.is_some_and(|(_, until_ms)| until_ms <= now_ms) {
            next.lock = None;
        }
        match *action {
            Action::AddLine {
                slot,
                product,
                qty,
                price,
                discount,
                note: note_index,
            } => {
                let line_id = line(slot);
                if next.removed.contains(&line_id)
                    || next.lines.iter().any(|line| line.id == line_id)
                {
                    return Err(RejectCode::Invalid);
                }
                let product = PRODUCT_CHOICES[product];
                let row = product_row(product).ok_or(RejectCode::Invalid)?;
                next.lines.push(ModelLine {
                    id: line_id,
                    product,
                    qty,
                    price: price.unwrap_or(row.2),
                    discount: discount.unwrap_or(0),
                    note: note_index.map_or("", |index| NOTES[index]),
                });
            }
            Action::AddQty { slot, delta } => next.line_mut(slot)?.qty += delta,
            Action::SetQty { slot, qty } => next.line_mut(slot)?.qty = qty,
            Action::SetPrice { slot, price } => next.line_mut(slot)?.price = price,
            Action::SetDiscount { slot, discount } => next.line_mut(slot)?.discount = discount,
            Action::SetLineNote { slot, note } => next.line_mut(slot)?.note = NOTES[note],
            Action::RemoveLine { slot } => {
                next.line_mut(slot)?;
                next.lines.retain(|line| line.id != self::line(slot));
                next.removed.insert(line(slot));
            }
            Action::SetCustomer(index) => {
                let customer = CUSTOMER_CHOICES[index];
                if customer.is_some_and(|id| id != ALICE.0 && id != BOB.0) {
                    return Err(RejectCode::Invalid);
                }
                next.customer = customer;
            }
            Action::SetNote(index) => next.note = NOTES[index],
            Action::Share => next.shared = true,
            Action::Unshare => {
                if who.by().config_id != COUNTER {
                    return Err(RejectCode::Forbidden);
                }
                next.shared = false;
            }
            Action::BeginPayment => next.lock = Some((who, now_ms + LEASE_MS)),
            Action::CancelPayment => next.lock = None,
            Action::Pay { plan, invoice } => {
                let (payments, expected_total) = self.payments_for(plan);
                let total = next.total();
                // The order of these checks is the core's; PROTOCOL.md names the
                // codes but not which wins when several apply.
                if next.lines.is_empty() {
                    return Err(RejectCode::Invalid);
                }
                if expected_total != total {
                    return Err(RejectCode::Stale);
                }
                if invoice && next.customer.is_none() {
                    return Err(RejectCode::Invalid);
                }
                let (mut paid, mut paid_in_cash) = (0, 0);
                for &(method, amount) in &payments {
                    if ![CASH.0, CARD.0, VOUCHER.0].contains(&method) {
                        return Err(RejectCode::Invalid);
                    }
                    if amount == 0 || (amount < 0) != (total < 0) {
                        return Err(RejectCode::Invalid);
                    }
                    paid += amount;
                    if method == CASH.0 {
                        paid_in_cash += amount;
                    }
                }
                let change = if total >= 0 {
                    if paid < total {
                        return Err(RejectCode::Underpaid);
                    }
                    paid - total
                } else {
                    // A refund pays out exactly the total: less is underpaid, more is invalid.
                    if paid > total {
                        return Err(RejectCode::Underpaid);
                    }
                    if paid < total {
                        return Err(RejectCode::Invalid);
                    }
                    0
                };
                // Only cash gives change back; a refund gives none.
                if change > 0 && change > paid_in_cash {
                    return Err(RejectCode::Invalid);
                }
                next.state = OrderState::Paid;
                next.lock = None;
                next.payments = payments;
                next.change = change;
                next.invoice = invoice;
                next.paid_by = Some(who);
            }
            Action::Cancel => {
                next.state = OrderState::Cancelled;
                next.lock = None;
            }
        }
        next.version += 1;
        next.updated = (who, now_ms);
        Ok(next)
    }

    fn assert_is(&self, order: &Order) -> Result<(), TestCaseError> {
        prop_assert_eq!(order.version, self.version);
        prop_assert_eq!(order.state, self.state);
        prop_assert_eq!(order.shared, self.shared);
        prop_assert_eq!(order.customer_id, self.customer.map(CustomerId));
        prop_assert_eq!(order.note.as_str(), self.note);
        prop_assert_eq!(&order.removed_line_ids, &self.removed);
        prop_assert_eq!(order.lines.len(), self.lines.len());
        for (line, model) in order.lines.iter().zip(&self.lines) {
            let (name, taxes) = product_row(model.product)
                .map(|row| (row.1, row.3))
                .unwrap();
            prop_assert_eq!(line.id, model.id);
            prop_assert_eq!(line.product_id, ProductId(model.product));
            prop_assert_eq!(line.name.as_str(), name);
            prop_assert_eq!(line.qty.milli(), model.qty);
            prop_assert_eq!(line.unit_price.minor(), model.price);
            prop_assert_eq!(line.discount.basis_points(), model.discount);
            prop_assert_eq!(line.note.as_str(), model.note);
            prop_assert_eq!(&line.taxes, &line_taxes(taxes));
            prop_assert_eq!(amounts(line), model.amounts(), "line {:?}", model);
        }
        let summed = self
            .lines
            .iter()
            .map(ModelLine::amounts)
            .fold((0, 0, 0), |sum, line| {
                (sum.0 + line.0, sum.1 + line.1, sum.2 + line.2)
            });
        prop_assert_eq!(totals(order), summed);
        let lock = self.lock.map(|(holder, until_ms)| {
            let by = holder.by();
            Lock {
                terminal: by.terminal,
                session_id: by.session_id,
                config_id: by.config_id,
                config_name: by.config_name,
                until: Timestamp::from_unix_millis(until_ms),
            }
        });
        prop_assert_eq!(&order.lock, &lock);
        let payments: Vec<Payment> = self
            .payments
            .iter()
            .map(|&(method_id, amount)| Payment {
                method_id: PaymentMethodId(method_id),
                amount: money(amount),
            })
            .collect();
        prop_assert_eq!(&order.payments, &payments);
        prop_assert_eq!(order.change.minor(), self.change);
        prop_assert_eq!(order.invoice, self.invoice);
        prop_assert_eq!(&order.paid_by, &self.paid_by.map(Who::by));
        prop_assert_eq!(&order.updated_by, &self.updated.0.by());
        prop_assert_eq!(
            order.updated_at,
            Timestamp::from_unix_millis(self.updated.1)
        );
        prop_assert_eq!(order.created_at, Timestamp::from_unix_millis(T0_MS));
        prop_assert_eq!(
            order.origin,
            Origin {
                config_id: COUNTER,
                session_id: SessionId(10)
            }
        );
        Ok(())
    }
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// Random sequences of ops by three terminals over time: each op is
    /// accepted or refused exactly as the model (written from PROTOCOL.md)
    /// says; an accepted op yields the next version, whose patch, sent over the
    /// wire, turns a terminal's copy into exactly the server's order; a refused
    /// op leaves the order as it was.
    #[test]
    fn random_op_sequences_follow_the_contract_and_patches_reproduce_every_step(
        steps in prop::collection::vec(step(), 1..60)
    ) {
        let mut order = match apply_as(Who::Counter, at_ms(0), None, &create()) {
            Ok(Applied::Changed(order)) => order,
            other => panic!("create: {other:?}"),
        };
        let mut model = Model::created_by_counter();
        model.assert_is(&order)?;
        // What a terminal holds when it only ever receives patches.
        let mut terminal_copy = order.clone();
        let mut now_ms = T0_MS;
        for (index, (actor, advance_ms, action)) in steps.iter().enumerate() {
            now_ms += advance_ms;
            let who = ACTORS[*actor];
            let op = model.op_for(action);
            let before = order.clone();
            let got = apply_as(who, Timestamp::from_unix_millis(now_ms), Some(&order), &op);
            let want = model.expect(who, now_ms, action);
            match (got, want) {
                (Ok(Applied::Changed(next)), Ok(next_model)) => {
                    next_model.assert_is(&next)?;
                    prop_assert_eq!(next.version, before.version + 1);
                    let wire = serde_json::to_string(&Patch::between(&before, &next)).unwrap();
                    let patch: Patch = serde_json::from_str(&wire).unwrap();
                    terminal_copy = patch.apply_to(&terminal_copy).unwrap();
                    prop_assert_eq!(&terminal_copy, &next, "step {} patch {}", index, wire);
                    order = next;
                    model = next_model;
                }
                (Err(reject), Err(code)) => {
                    prop_assert_eq!(reject.code, code, "step {}: {:?}", index, reject);
                    prop_assert!(!reject.code.is_retryable());
                    prop_assert_eq!(&order, &before);
                }
                (got, want) => {
                    prop_assert!(
                        false,
                        "step {} {:?} {:?} at +{} ms: got {:?}, the contract says {:?}",
                        index, who, op, now_ms - T0_MS, got.map(|_| ()), want.map(|_| ())
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Found by fuzzing (RELIABILITY.md): orders at the edge of what can exist.
// ---------------------------------------------------------------------------

#[test]
fn an_order_at_its_last_version_refuses_edits_instead_of_overflowing() {
    let mut order = replay(&sandwich_draft(vec![])).unwrap();
    order.version = u64::MAX;
    let refused = apply_as(
        Who::Counter,
        at_second(9),
        Some(&order),
        &set_note("one more"),
    );
    assert_eq!(refused.unwrap_err().code, RejectCode::TooLarge);
    order.version = u64::MAX - 1;
    match apply_as(
        Who::Counter,
        at_second(9),
        Some(&order),
        &set_note("the last"),
    ) {
        Ok(Applied::Changed(next)) => assert_eq!(next.version, u64::MAX),
        other => panic!("the last version is still reachable: {other:?}"),
    }
}

/// The order parser admits only orders that hold the invariants: a damaged
/// store row or a forged message is refused, never half-trusted by `apply`.
#[test]
fn the_order_parser_refuses_orders_whose_amounts_do_not_add_up() {
    let order = replay(&sandwich_draft(vec![(
        Who::Counter,
        add_line(2, ESPRESSO, "2"),
    )]))
    .unwrap();
    let text = serde_json::to_value(&order).unwrap();
    assert_eq!(
        serde_json::from_value::<Order>(text.clone()).unwrap(),
        order
    );
    let damaged = |damage: &dyn Fn(&mut serde_json::Value)| {
        let mut value = text.clone();
        damage(&mut value);
        serde_json::from_value::<Order>(value)
            .expect_err("a damaged order was accepted")
            .to_string()
    };
    let refusals = [
        damaged(&|order| order["totals"]["total"] = 1.into()),
        damaged(&|order| order["lines"][0]["total"] = 1.into()),
        damaged(&|order| order["lines"][1]["id"] = order["lines"][0]["id"].clone()),
        damaged(&|order| {
            order["removed_line_ids"] = serde_json::json!([order["lines"][0]["id"].clone()])
        }),
        damaged(&|order| order["version"] = 0.into()),
        damaged(&|order| {
            order["lines"][0]["subtotal"] = 2_000_000_000_000_i64.into();
            order["lines"][0]["total"] = 2_000_000_000_210_i64.into();
        }),
    ];
    for refusal in refusals {
        assert!(refusal.contains("not a consistent order"), "{refusal}");
    }
}

/// A refund draft (issue 8, point 3): negative copies of a paid order's lines
/// (ids, prices, discounts and taxes kept), never beyond what was sold across
/// refunds, with lines that no op changes afterwards.
#[test]
fn a_refund_copies_the_sold_lines_negated_and_keeps_them_fixed() {
    let paid = replay(&sandwich_draft(vec![
        (Who::Counter, add_line(2, ESPRESSO, "3")),
        (Who::Counter, set_discount(2, "10")),
        (Who::Counter, pay(&[(CARD, 1_885)], 1_885)),
    ]))
    .unwrap();
    assert_eq!(paid.state, OrderState::Paid, "{paid:?}");
    let request = |line_no: u128, quantity: &str| RefundLineRequest {
        line_id: line(line_no),
        qty: qty(quantity),
    };
    let lines = refund_lines(&paid, &[], &[request(1, "1"), request(2, "2")]).unwrap();
    let refund_id = OrderId(uuid(0xAA));
    let by = Who::Counter.by();
    let context = ApplyContext {
        rights: possync_core::Rights::FULL,
        by: &by,
        now: at_second(9),
        catalog: &TestCatalog,
        lease_ms: LEASE_MS,
        auto_share: false,
        reference: REFERENCE,
    };
    let op = Op::Refund {
        refund_of: paid.id,
        lines,
    };
    let Ok(Applied::Changed(refund)) = apply(None, refund_id, &op, &context) else {
        panic!("a refund within what was sold is made");
    };
    assert_eq!(refund.refund_of, Some(paid.id));
    assert_eq!(refund.version, 1);
    assert_eq!(line_ids(&refund), vec![line(1), line(2)]);
    assert_eq!(refund.lines[1].discount, percent("10"));
    assert_eq!(refund.lines[1].taxes, paid.lines[1].taxes);
    // 2 of 3 espressos at 10% off, tax included: two thirds of the sold line.
    assert_eq!(amounts(&refund.lines[0]), (-1_000, -210, -1_210));
    assert_eq!(refund.lines[1].total.minor(), -450);
    assert_totals_are_the_sum_of_lines("refund", &refund);
    // The same refund again makes nothing new; another with this id is `exists`.
    assert_eq!(
        apply(Some(&refund), refund_id, &op, &context),
        Ok(Applied::Unchanged)
    );

    // Beyond what is left (1 espresso), a line not sold, asked twice, zero: invalid.
    let refunds = [refund.clone()];
    for requested in [
        vec![request(2, "1.001")],
        vec![request(1, "0.001")],
        vec![request(9, "1")],
        vec![request(2, "0.5"), request(2, "0.5")],
        vec![request(2, "0")],
        vec![],
    ] {
        let reject = refund_lines(&paid, &refunds, &requested).unwrap_err();
        assert_eq!(
            reject.code,
            RejectCode::Invalid,
            "{requested:?}: {reject:?}"
        );
    }
    assert!(refund_lines(&paid, &refunds, &[request(2, "1")]).is_ok());
    // The store's backstop agrees; a cancelled refund counts nothing.
    assert!(check_refunds_within_sold(&paid, &refunds).is_ok());
    let twice = [
        refund.clone(),
        Order {
            id: OrderId(uuid(0xAB)),
            ..refund.clone()
        },
    ];
    assert_eq!(
        check_refunds_within_sold(&paid, &twice).unwrap_err().code,
        RejectCode::Invalid
    );
    let cancelled = Order {
        state: OrderState::Cancelled,
        ..twice[1].clone()
    };
    assert!(check_refunds_within_sold(&paid, &[refund.clone(), cancelled]).is_ok());
    // A refund is not refunded.
    let paid_refund = Order {
        state: OrderState::Paid,
        ..refund.clone()
    };
    assert_eq!(
        refund_lines(&paid_refund, &[], &[request(1, "1")])
            .unwrap_err()
            .code,
        RejectCode::Invalid
    );

    // Its lines are fixed; its note, customer and payment are not.
    for edit in line_edits(1)
        .into_iter()
        .filter(changes_refund_lines)
        .chain([add_line(5, ESPRESSO, "1")])
    {
        let reject = apply(Some(&refund), refund_id, &edit, &context).unwrap_err();
        assert_eq!(reject.code, RejectCode::Invalid, "{edit:?}");
        assert!(reject.message.contains("fixed"), "{reject:?}");
    }
    for edit in [
        set_note("wrong size"),
        set_customer(Some(ALICE)),
        pay(&[(CASH, -1_660)], -1_660),
    ] {
        assert!(
            matches!(
                apply(Some(&refund), refund_id, &edit, &context),
                Ok(Applied::Changed(_))
            ),
            "{edit:?}"
        );
    }
    // A restricted cashier needs a manager's approval for it.
    let restricted = ApplyContext {
        rights: possync_core::Rights {
            price_control_restricted: true,
            approved_by: None,
        },
        ..context
    };
    assert_eq!(
        apply(None, OrderId(uuid(0xAC)), &op, &restricted)
            .unwrap_err()
            .code,
        RejectCode::Forbidden
    );
}

/// The paid order of the refund tests with its first line priced, discounted
/// and counted as given (amounts by the rule, totals the sums).
fn paid_with_line(unit_price: i64, sold: &str, discount: &str) -> Order {
    let mut paid = replay(&sandwich_draft(vec![(
        Who::Counter,
        pay(&[(CARD, 1_210)], 1_210),
    )]))
    .unwrap();
    let line = &mut paid.lines[0];
    line.unit_price = Money::new(unit_price).unwrap();
    line.qty = qty(sold);
    line.discount = percent(discount);
    possync_core::totals::recompute_line(line).unwrap();
    paid.totals = possync_core::totals::order_totals(&paid.lines);
    paid
}

/// Refunds `pieces` of line 1 of `paid` one after the other, each a refund
/// draft; returns the drafts, checking the store's backstop after each.
fn refund_in_pieces(paid: &Order, pieces: &[Quantity]) -> Vec<Order> {
    let mut refunds: Vec<Order> = Vec::new();
    for (n, piece) in pieces.iter().enumerate() {
        let request = RefundLineRequest {
            line_id: line(1),
            qty: *piece,
        };
        let lines = refund_lines(paid, &refunds, &[request]).unwrap();
        let mut refund = Order {
            id: OrderId(uuid(0x5000 + n as u128)),
            state: OrderState::Draft,
            refund_of: Some(paid.id),
            payments: Vec::new(),
            receipt_number: None,
            lines,
            ..paid.clone()
        };
        refund.totals = possync_core::totals::order_totals(&refund.lines);
        refunds.push(refund);
        check_refunds_within_sold(paid, &refunds).unwrap();
    }
    refunds
}

fn sums(lines: impl Iterator<Item = (i64, i64, i64)>) -> (i64, i64, i64) {
    lines.fold((0, 0, 0), |sum, (s, t, a)| {
        (sum.0 + s, sum.1 + t, sum.2 + a)
    })
}

/// A line refunded in pieces pays back exactly what it took in, never more
/// (each piece priced by the rule alone rounded 0.5 up: a 5.00 line refunded
/// 0.001 at a time paid out 10.00).
#[test]
fn a_line_refunded_a_thousandth_at_a_time_pays_back_what_it_took_in() {
    let paid = paid_with_line(500, "1", "0");
    let sold = amounts(&paid.lines[0]);
    let refunds = refund_in_pieces(&paid, &vec![qty("0.001"); 1_000]);
    let back = sums(refunds.iter().map(|refund| amounts(&refund.lines[0])));
    assert_eq!(back, (-sold.0, -sold.1, -sold.2), "sold {sold:?}");
    // Nothing is left to refund, and the backstop refuses one more piece.
    let mut more = refunds.clone();
    more.push(Order {
        id: OrderId(uuid(0x6000)),
        ..refunds[0].clone()
    });
    assert_eq!(
        check_refunds_within_sold(&paid, &more).unwrap_err().code,
        RejectCode::Invalid
    );
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// Any line (price, quantity, discount, the sandwich's taxes) refunded in
    /// any pieces: after each piece what came back is at most what was sold,
    /// in money as in units, no piece pays the wrong way, and once every unit
    /// is back exactly the sold amounts are.
    #[test]
    fn refunds_in_pieces_never_pay_back_more_than_was_sold(
        unit_price in -50_000i64..500_000,
        sold_milli in 1i64..20_000,
        discount in 0u8..=100,
        cuts in prop::collection::vec(1i64..20_000, 0..12),
    ) {
        let paid = paid_with_line(
            unit_price,
            &Quantity::from_milli(sold_milli).unwrap().to_string(),
            &discount.to_string(),
        );
        let sold = amounts(&paid.lines[0]);
        // Pieces: the sold quantity cut at the given points.
        let mut points: Vec<i64> = cuts.iter().map(|cut| cut % sold_milli).filter(|p| *p > 0).collect();
        points.extend([0, sold_milli]);
        points.sort_unstable();
        points.dedup();
        let pieces: Vec<Quantity> = points
            .windows(2)
            .map(|pair| Quantity::from_milli(pair[1] - pair[0]).unwrap())
            .collect();
        let refunds = refund_in_pieces(&paid, &pieces);
        let mut back = (0, 0, 0);
        for refund in &refunds {
            let piece = amounts(&refund.lines[0]);
            prop_assert!(piece.2 * sold.2 <= 0, "piece {piece:?} of {sold:?}");
            back = sums([back, piece].into_iter());
            prop_assert!(back.2.abs() <= sold.2.abs(), "{back:?} of {sold:?}");
        }
        prop_assert_eq!(back, (-sold.0, -sold.1, -sold.2));
    }
}

/// The test catalog and a product priced below zero (a bottle deposit given back).
#[derive(Debug)]
struct CatalogWithDepositReturn;

const DEPOSIT_RETURN: ProductId = ProductId(5);

impl CatalogView for CatalogWithDepositReturn {
    fn sale_product(&self, product_id: ProductId) -> Option<SaleProduct> {
        if product_id == DEPOSIT_RETURN {
            return Some(SaleProduct {
                name: Name::parse("Deposit return").unwrap(),
                price: money(-25),
                taxes: Vec::new(),
            });
        }
        TestCatalog.sale_product(product_id)
    }

    fn customer_exists(&self, customer_id: CustomerId) -> bool {
        TestCatalog.customer_exists(customer_id)
    }

    fn payment_method_kind(&self, method_id: PaymentMethodId) -> Option<PaymentMethodKind> {
        TestCatalog.payment_method_kind(method_id)
    }
}

/// Under restricted price control, a line that pays money out without an
/// original sale needs a manager, even when the op itself looks harmless: a
/// product the catalog prices below zero, added or counted up. Counting it
/// down (less money out) needs no one; with an approval it goes through.
#[test]
fn a_restricted_cashier_needs_approval_for_a_line_that_pays_money_out() {
    let draft = replay(&draft_with(vec![(
        Who::Counter,
        add_line(1, ESPRESSO, "1"),
    )]))
    .unwrap();
    let by = Who::Counter.by();
    let restricted = ApplyContext {
        rights: possync_core::Rights {
            price_control_restricted: true,
            approved_by: None,
        },
        by: &by,
        now: at_second(30),
        catalog: &CatalogWithDepositReturn,
        lease_ms: LEASE_MS,
        auto_share: false,
        reference: REFERENCE,
    };
    let refused = apply(
        Some(&draft),
        ORDER_ID,
        &add_line(2, DEPOSIT_RETURN, "2"),
        &restricted,
    )
    .unwrap_err();
    assert_eq!(refused.code, RejectCode::Forbidden, "{refused:?}");
    let approved = ApplyContext {
        rights: possync_core::Rights {
            price_control_restricted: true,
            approved_by: Some(UserId(1)),
        },
        ..restricted
    };
    let Ok(Applied::Changed(with_return)) = apply(
        Some(&draft),
        ORDER_ID,
        &add_line(2, DEPOSIT_RETURN, "2"),
        &approved,
    ) else {
        panic!("approved, the deposit return is added");
    };
    assert_eq!(with_return.lines[1].total, money(-50));
    // More of it is more money out: refused again without approval.
    let more = Op::AddQty {
        line_id: line(2),
        delta: qty("1"),
    };
    assert_eq!(
        apply(Some(&with_return), ORDER_ID, &more, &restricted)
            .unwrap_err()
            .code,
        RejectCode::Forbidden
    );
    // Less of it (a cashier's own set_qty down from 2 to 1) is less money out.
    let fewer = Op::SetQty {
        line_id: line(2),
        qty: qty("1"),
    };
    assert!(matches!(
        apply(Some(&with_return), ORDER_ID, &fewer, &restricted),
        Ok(Applied::Changed(_))
    ));
    // An unrestricted counter adds it as any product.
    let full = ApplyContext {
        rights: possync_core::Rights::FULL,
        ..restricted
    };
    assert!(matches!(
        apply(
            Some(&draft),
            ORDER_ID,
            &add_line(2, DEPOSIT_RETURN, "2"),
            &full
        ),
        Ok(Applied::Changed(_))
    ));
}
