//! Golden tests of what a payment leaves behind (`PaymentLedger::record`) and
//! of the session report (`session_report`): fixed inputs, results worked out
//! by hand, and the report's JSON pinned in `tests/golden/`, since the HTTP API
//! answers it as it is serialized here.
//!
//! Orders are built with `apply`, as the engine builds them, over a small café:
//! a tracked espresso (250, 10% included), an untracked sandwich (1,000 + 21%)
//! and a tracked bottle of water (100, no tax).

use possync_core::*;
use std::collections::BTreeMap;
use uuid::Uuid;

const ESPRESSO: ProductId = ProductId(1);
const SANDWICH: ProductId = ProductId(2);
const WATER: ProductId = ProductId(3);
/// A product the catalog sells but the ledger was not given: an unknown product to the store.
const GHOST: ProductId = ProductId(4);

const ALICE: CustomerId = CustomerId(7);
const CASH: PaymentMethodId = PaymentMethodId(1);
const CARD: PaymentMethodId = PaymentMethodId(2);
const VOUCHER: PaymentMethodId = PaymentMethodId(3);

const COUNTER_SESSION: SessionId = SessionId(10);
const BAR_SESSION: SessionId = SessionId(20);

const T0_MS: i64 = 1_795_000_000_000;

fn at_second(second: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0_MS + second * 1_000)
}

fn money(minor: i64) -> Money {
    Money::new(minor).unwrap()
}

fn qty(text: &str) -> Quantity {
    text.parse().unwrap()
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

#[derive(Debug)]
struct Cafe;

impl CatalogView for Cafe {
    fn sale_product(&self, product_id: ProductId) -> Option<SaleProduct> {
        let (name, price, taxes): (&str, i64, Vec<LineTax>) = match product_id {
            ESPRESSO => ("Espresso", 250, vec![tax(1, 1_000, true)]),
            SANDWICH => ("Sandwich", 1_000, vec![tax(2, 2_100, false)]),
            WATER => ("Water", 100, vec![]),
            GHOST => ("Ghost", 500, vec![]),
            _ => return None,
        };
        Some(SaleProduct {
            name: Name::parse(name).unwrap(),
            price: money(price),
            taxes,
        })
    }

    fn customer_exists(&self, customer_id: CustomerId) -> bool {
        customer_id == ALICE
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

fn tax(tax_id: i64, basis_points: i64, price_included: bool) -> LineTax {
    LineTax {
        tax_id: TaxId(tax_id),
        rate: TaxRate::from_basis_points(basis_points).unwrap(),
        price_included,
    }
}

fn by(session_id: SessionId) -> By {
    By {
        session_id,
        config_id: ConfigId(session_id.0 / 10),
        config_name: Name::parse("Counter").unwrap(),
        terminal: TerminalId(uuid(session_id.0 as u128)),
    }
}

/// Applies `op` to `order` as a terminal of `session_id` would, at `at`.
fn step(
    order: Option<&Order>,
    order_id: OrderId,
    session_id: SessionId,
    at: Timestamp,
    op: Op,
) -> Order {
    let by = by(session_id);
    let context = ApplyContext {
        rights: possync_core::Rights::FULL,
        by: &by,
        now: at,
        catalog: &Cafe,
        lease_ms: 60_000,
        auto_share: false,
        reference: "Counter - 0001",
    };
    match apply(order, order_id, &op, &context) {
        Ok(Applied::Changed(order)) => order,
        other => panic!("{op:?} on {order:?}: {other:?}"),
    }
}

/// An order of `lines` (product, quantity) created at the counter, with
/// `customer`, paid by `paid_in` with `payments` (method, amount), asking for an invoice or not.
fn paid_order(
    n: u128,
    lines: &[(ProductId, &str)],
    customer: Option<CustomerId>,
    paid_in: SessionId,
    payments: &[(PaymentMethodId, i64)],
    invoice: bool,
) -> Order {
    let order_id = OrderId(uuid(0xff_0000 + n));
    let created = at_second(0);
    let mut order = step(
        None,
        order_id,
        COUNTER_SESSION,
        created,
        Op::Create {
            config_id: None,
            customer_id: customer,
            note: None,
            share: Some(true),
        },
    );
    for (index, &(product_id, quantity)) in lines.iter().enumerate() {
        order = step(
            Some(&order),
            order_id,
            COUNTER_SESSION,
            created,
            Op::AddLine {
                line_id: LineId(uuid(0x1_0000 + n * 100 + index as u128)),
                product_id,
                qty: qty(quantity),
                unit_price: None,
                discount: None,
                note: None,
            },
        );
    }
    let total = order.totals.total;
    step(
        Some(&order),
        order_id,
        paid_in,
        at_second(1),
        Op::Pay {
            payments: payments
                .iter()
                .map(|&(method_id, amount)| PaymentInput {
                    method_id,
                    amount: money(amount),
                })
                .collect(),
            expected_total: total,
            invoice: invoice.then_some(true),
        },
    )
}

fn ledger(last_invoice_number: u64, stock: &[(ProductId, bool, &str)]) -> PaymentLedger {
    PaymentLedger {
        stock: stock
            .iter()
            .map(|&(product_id, tracks_stock, on_hand)| {
                (
                    product_id,
                    StockLevel {
                        tracks_stock,
                        on_hand: qty(on_hand),
                    },
                )
            })
            .collect(),
        last_invoice_number,
        ..PaymentLedger::default()
    }
}

fn on_hand(ledger: &PaymentLedger) -> BTreeMap<ProductId, Quantity> {
    ledger
        .stock
        .iter()
        .map(|(&product_id, level)| (product_id, level.on_hand))
        .collect()
}

fn cafe_ledger() -> PaymentLedger {
    ledger(
        41,
        &[
            (ESPRESSO, true, "10"),
            (SANDWICH, false, "0"),
            (WATER, true, "24"),
        ],
    )
}

// ---------------------------------------------------------------------------
// Payments.

#[test]
fn a_sale_moves_tracked_stock_books_payments_and_numbers_the_invoice() {
    // 2 espressos (500, 10% included) and a sandwich (1,000 + 210): 1,710, paid
    // 2,000 in cash at the bar: 290 change.
    let order = paid_order(
        1,
        &[(ESPRESSO, "2"), (SANDWICH, "1")],
        Some(ALICE),
        BAR_SESSION,
        &[(CASH, 2_000)],
        true,
    );
    assert_eq!(order.totals.total, money(1_710));
    let mut ledger = cafe_ledger();
    let effects = ledger.record(&order, at_second(1)).unwrap();
    assert_eq!(
        effects,
        PaymentEffects {
            order_id: order.id,
            session_id: BAR_SESSION,
            at: at_second(1),
            payments: vec![Payment {
                method_id: CASH,
                amount: money(2_000)
            }],
            receipt_sequence: 1,
            receipt_number: "Counter/0001".to_owned(),
            // 500 with 10% included: 455 + 45; 1,000 + 210.
            taxes: vec![
                TaxAmount {
                    tax_id: TaxId(1),
                    rate: TaxRate::from_basis_points(1_000).unwrap(),
                    base: money(455),
                    amount: money(45),
                },
                TaxAmount {
                    tax_id: TaxId(2),
                    rate: TaxRate::from_basis_points(2_100).unwrap(),
                    base: money(1_000),
                    amount: money(210),
                },
            ],
            stock_moves: vec![StockMove {
                product_id: ESPRESSO,
                order_id: order.id,
                qty: qty("-2"),
                at: at_second(1),
            }],
            on_hand: vec![OnHand {
                product_id: ESPRESSO,
                on_hand: qty("8"),
            }],
            invoice: Some(Invoice {
                number: 42,
                order_id: order.id,
                customer_id: ALICE,
                total: money(1_710),
                at: at_second(1),
            }),
            unknown_products: vec![],
        }
    );
    assert_eq!(ledger.last_invoice_number, 42, "the ledger moves on");
    assert_eq!(
        on_hand(&ledger),
        BTreeMap::from([
            (ESPRESSO, qty("8")),
            (SANDWICH, qty("0")),
            (WATER, qty("24"))
        ])
    );
}

#[test]
fn payments_in_one_ledger_chain_numbers_and_stock_as_one_by_one() {
    let mut ledger = cafe_ledger();
    // Two lines of the same product make two moves and one level after both.
    let first = paid_order(
        1,
        &[(ESPRESSO, "1.5"), (WATER, "2"), (ESPRESSO, "0.5")],
        Some(ALICE),
        COUNTER_SESSION,
        &[(CARD, 700)],
        true,
    );
    assert_eq!(first.totals.total, money(700));
    let without_invoice = paid_order(
        2,
        &[(WATER, "1")],
        None,
        COUNTER_SESSION,
        &[(CASH, 100)],
        false,
    );
    let third = paid_order(
        3,
        &[(ESPRESSO, "3")],
        Some(ALICE),
        BAR_SESSION,
        &[(CASH, 750)],
        true,
    );

    let first = ledger.record(&first, at_second(1)).unwrap();
    let moves: Vec<(ProductId, Quantity)> = first
        .stock_moves
        .iter()
        .map(|stock_move| (stock_move.product_id, stock_move.qty))
        .collect();
    assert_eq!(
        moves,
        vec![
            (ESPRESSO, qty("-1.5")),
            (WATER, qty("-2")),
            (ESPRESSO, qty("-0.5"))
        ],
        "one move per line, in line order"
    );
    assert_eq!(
        first.on_hand,
        vec![
            OnHand {
                product_id: ESPRESSO,
                on_hand: qty("8")
            },
            OnHand {
                product_id: WATER,
                on_hand: qty("22")
            },
        ]
    );
    assert_eq!(first.invoice.map(|invoice| invoice.number), Some(42));

    let second = ledger.record(&without_invoice, at_second(2)).unwrap();
    assert_eq!(second.invoice, None, "no invoice unless asked");
    assert_eq!(
        second.on_hand,
        vec![OnHand {
            product_id: WATER,
            on_hand: qty("21")
        }]
    );

    let third = ledger.record(&third, at_second(3)).unwrap();
    assert_eq!(
        third.invoice.map(|invoice| invoice.number),
        Some(43),
        "an order without invoice draws no number: no gap"
    );
    assert_eq!(
        third.on_hand,
        vec![OnHand {
            product_id: ESPRESSO,
            on_hand: qty("5")
        }]
    );
    assert_eq!(third.session_id, BAR_SESSION);
    assert_eq!(ledger.last_invoice_number, 43);
}

#[test]
fn a_refund_brings_goods_back_and_an_untracked_or_zero_line_moves_nothing() {
    let refund = paid_order(
        1,
        &[(ESPRESSO, "-1"), (SANDWICH, "-1"), (WATER, "0")],
        None,
        COUNTER_SESSION,
        &[(CASH, -1_460)],
        false,
    );
    assert_eq!(refund.totals.total, money(-1_460));
    let mut ledger = cafe_ledger();
    let effects = ledger.record(&refund, at_second(1)).unwrap();
    assert_eq!(
        effects.stock_moves,
        vec![StockMove {
            product_id: ESPRESSO,
            order_id: refund.id,
            qty: qty("1"),
            at: at_second(1),
        }]
    );
    assert_eq!(
        effects.on_hand,
        vec![OnHand {
            product_id: ESPRESSO,
            on_hand: qty("11")
        }]
    );
    assert_eq!(
        effects.payments,
        vec![Payment {
            method_id: CASH,
            amount: money(-1_460)
        }],
        "refunds are booked as negative payments"
    );
}

#[test]
fn unknown_products_are_listed_and_stock_is_clamped_to_what_a_quantity_holds() {
    let order = paid_order(
        1,
        &[(GHOST, "1"), (WATER, "2")],
        None,
        COUNTER_SESSION,
        &[(CASH, 700)],
        false,
    );
    let mut ledger = ledger(0, &[(WATER, true, "-999999")]);
    let effects = ledger.record(&order, at_second(1)).unwrap();
    assert_eq!(effects.unknown_products, vec![GHOST]);
    assert_eq!(
        effects.stock_moves.len(),
        1,
        "the known product still moves"
    );
    assert_eq!(
        effects.on_hand,
        vec![OnHand {
            product_id: WATER,
            on_hand: qty("-1000000")
        }],
        "-999,999 - 2 is held at -1,000,000"
    );
}

#[test]
fn a_payment_that_cannot_be_recorded_leaves_the_ledger_as_it_was() {
    let draft = step(
        None,
        OrderId(uuid(0xff_0001)),
        COUNTER_SESSION,
        at_second(0),
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: None,
        },
    );
    let paid = paid_order(
        2,
        &[(ESPRESSO, "1")],
        Some(ALICE),
        COUNTER_SESSION,
        &[(CASH, 250)],
        true,
    );
    let mut without_payer = paid.clone();
    without_payer.paid_by = None;
    let mut without_customer = paid.clone();
    without_customer.customer_id = None;

    let cases: Vec<(&Order, PaymentLedger, PaymentError)> = vec![
        (&draft, cafe_ledger(), PaymentError::NotPaid(draft.id)),
        (
            &without_payer,
            cafe_ledger(),
            PaymentError::NoPayer(paid.id),
        ),
        (
            &without_customer,
            cafe_ledger(),
            PaymentError::InvoiceWithoutCustomer(paid.id),
        ),
        (
            &paid,
            ledger(i64::MAX as u64, &[(ESPRESSO, true, "10")]),
            PaymentError::InvoiceNumbersExhausted,
        ),
    ];
    for (order, mut ledger, expected) in cases {
        let before = ledger.clone();
        assert_eq!(ledger.record(order, at_second(1)), Err(expected.clone()));
        assert_eq!(ledger, before, "{expected}: the ledger is untouched");
    }
}

// ---------------------------------------------------------------------------
// The session report.

fn methods() -> Vec<PaymentMethod> {
    [
        (CASH, "Cash", PaymentMethodKind::Cash),
        (CARD, "Card", PaymentMethodKind::Card),
        (VOUCHER, "Voucher", PaymentMethodKind::Other),
    ]
    .into_iter()
    .map(|(id, name, kind)| PaymentMethod {
        id,
        name: Name::parse(name).unwrap(),
        kind,
    })
    .collect()
}

fn session(opening_cash: i64, counted_cash: Option<i64>) -> Session {
    Session {
        id: COUNTER_SESSION,
        config_id: ConfigId(1),
        state: if counted_cash.is_some() {
            SessionState::Closed
        } else {
            SessionState::Open
        },
        opened_at: at_second(0),
        closed_at: counted_cash.map(|_| at_second(3_600)),
        opened_by: UserId(1),
        opening_cash: money(opening_cash),
        counted_cash: counted_cash.map(money),
    }
}

fn paid(total: i64, tax: i64, change: i64) -> PaidOrderSummary {
    PaidOrderSummary {
        total: money(total),
        tax: money(tax),
        change: money(change),
    }
}

fn payment(method_id: PaymentMethodId, amount: i64) -> Payment {
    Payment {
        method_id,
        amount: money(amount),
    }
}

/// A day at the counter, worked out by hand:
/// A: 1,005 (105 tax), paid 2,000 cash, 995 change;
/// B: 409 (71 tax), card;
/// C: 400, 100 card + 500 cash, 200 change;
/// R: a refund of -303 (-53 tax) in cash.
fn counter_day() -> SessionActivity {
    SessionActivity {
        paid_orders: vec![
            paid(1_005, 105, 995),
            paid(409, 71, 0),
            paid(400, 0, 200),
            paid(-303, -53, 0),
        ],
        payments: vec![
            payment(CASH, 2_000),
            payment(CARD, 409),
            payment(CARD, 100),
            payment(CASH, 500),
            payment(CASH, -303),
        ],
        ..SessionActivity::default()
    }
}

#[test]
fn a_session_report_adds_up_sales_payments_and_the_drawer() {
    let report =
        session_report(session(5_000, Some(6_000)), &counter_day(), &methods(), &[]).unwrap();
    assert_eq!(report.orders_paid, 4);
    assert_eq!(report.sales_total, money(1_005 + 409 + 400 - 303));
    assert_eq!(report.tax_total, money(105 + 71 - 53));
    assert_eq!(
        report.payments,
        vec![
            PaymentTotal {
                method_id: CASH,
                name: Name::parse("Cash").unwrap(),
                kind: PaymentMethodKind::Cash,
                amount: money(2_197),
            },
            PaymentTotal {
                method_id: CARD,
                name: Name::parse("Card").unwrap(),
                kind: PaymentMethodKind::Card,
                amount: money(509),
            },
        ],
        "by method id, only methods used"
    );
    assert_eq!(
        report.cash,
        CashSummary {
            opening: money(5_000),
            payments: money(2_197),
            change_given: money(1_195),
            net: money(1_002),
            moves: Money::ZERO,
            // 5,000 + 2,197 - 1,195
            expected: money(6_002),
            counted: Some(money(6_000)),
            difference: Some(money(-2)),
        }
    );
    assert_eq!(report.session, session(5_000, Some(6_000)));

    // The order in which the store reads rows changes nothing.
    let mut shuffled = counter_day();
    shuffled.paid_orders.reverse();
    shuffled.payments.reverse();
    assert_eq!(
        session_report(session(5_000, Some(6_000)), &shuffled, &methods(), &[]).unwrap(),
        report
    );
}

#[test]
fn the_report_json_is_pinned() {
    // The HTTP API answers the report as serialized here (POST /sessions/{id}/close).
    let report =
        session_report(session(5_000, Some(6_000)), &counter_day(), &methods(), &[]).unwrap();
    let json = serde_json::to_string_pretty(&report).unwrap();
    let golden = include_str!("golden/session_report.json");
    assert_eq!(
        json.trim_end(),
        golden.trim_end(),
        "the report's JSON changed"
    );
    let back: SessionReport = serde_json::from_str(golden).unwrap();
    assert_eq!(back, report);
}

#[test]
fn an_empty_session_expects_its_opening_cash() {
    let report = session_report(
        session(5_000, None),
        &SessionActivity::default(),
        &methods(),
        &[],
    )
    .unwrap();
    assert_eq!(
        (
            report.orders_paid,
            report.sales_total,
            report.tax_total,
            report.payments.len()
        ),
        (0, Money::ZERO, Money::ZERO, 0)
    );
    assert_eq!(
        report.cash,
        CashSummary {
            opening: money(5_000),
            payments: Money::ZERO,
            change_given: Money::ZERO,
            net: Money::ZERO,
            moves: Money::ZERO,
            expected: money(5_000),
            counted: None,
            difference: None,
        }
    );
}

#[test]
fn a_report_refuses_what_it_cannot_add_up() {
    let unknown_method = SessionActivity {
        paid_orders: vec![paid(100, 0, 0)],
        payments: vec![payment(PaymentMethodId(99), 100)],
        ..SessionActivity::default()
    };
    assert_eq!(
        session_report(session(0, None), &unknown_method, &methods(), &[]),
        Err(ReportError::UnknownPaymentMethod(PaymentMethodId(99)))
    );
    let huge = limits::MONEY_ABS_MAX_MINOR;
    let too_much = SessionActivity {
        paid_orders: vec![paid(huge, 0, 0), paid(huge, 0, 0)],
        payments: vec![payment(CARD, huge), payment(CARD, huge)],
        ..SessionActivity::default()
    };
    assert!(matches!(
        session_report(session(0, None), &too_much, &methods(), &[]),
        Err(ReportError::OutOfRange(_))
    ));
}

// ---------------------------------------------------------------------------
// Receipt numbers, tax per rate, cash moves (issue 12).

fn taxes() -> Vec<Tax> {
    vec![
        Tax {
            id: TaxId(1),
            name: Name::parse("VAT 10% incl.").unwrap(),
            rate: TaxRate::from_basis_points(1_000).unwrap(),
            price_included: true,
        },
        Tax {
            id: TaxId(2),
            name: Name::parse("VAT 21%").unwrap(),
            rate: TaxRate::from_basis_points(2_100).unwrap(),
            price_included: false,
        },
    ]
}

#[test]
fn receipt_numbers_run_per_paying_session_without_gaps() {
    let mut ledger = cafe_ledger();
    ledger.last_receipt_numbers.insert(BAR_SESSION, 7);
    let numbers: Vec<(SessionId, u64, String)> = [
        (1, COUNTER_SESSION),
        (2, BAR_SESSION),
        (3, COUNTER_SESSION),
        (4, BAR_SESSION),
    ]
    .into_iter()
    .map(|(n, session)| {
        let order = paid_order(n, &[(WATER, "1")], None, session, &[(CASH, 100)], false);
        let effects = ledger.record(&order, at_second(1)).unwrap();
        (
            effects.session_id,
            effects.receipt_sequence,
            effects.receipt_number,
        )
    })
    .collect();
    assert_eq!(
        numbers,
        vec![
            (COUNTER_SESSION, 1, "Counter/0001".to_owned()),
            (BAR_SESSION, 8, "Counter/0008".to_owned()),
            (COUNTER_SESSION, 2, "Counter/0002".to_owned()),
            (BAR_SESSION, 9, "Counter/0009".to_owned()),
        ]
    );
    assert_eq!(
        ledger.last_receipt_numbers,
        BTreeMap::from([(COUNTER_SESSION, 2), (BAR_SESSION, 9)])
    );
    assert_eq!(
        receipt_number(&Name::parse("Counter 2").unwrap(), 3),
        "Counter 2/0003"
    );
    assert_eq!(
        receipt_number(&Name::parse("Bar").unwrap(), 12_345),
        "Bar/12345"
    );
    assert_eq!(invoice_number(42, at_second(0)), "INV/2026/00042");
}

#[test]
fn tax_per_rate_adds_up_to_the_order_tax_to_the_minor_unit() {
    // Mixed: included and excluded taxes, discounts through quantities that round.
    for (n, lines) in [
        vec![(ESPRESSO, "3"), (SANDWICH, "1"), (WATER, "2")],
        vec![(ESPRESSO, "0.333"), (SANDWICH, "2.5")],
    ]
    .into_iter()
    .enumerate()
    {
        let order = paid_order(
            n as u128,
            &lines,
            None,
            COUNTER_SESSION,
            &[(CASH, 100_000)],
            false,
        );
        let breakdown = tax_breakdown(&order.lines);
        let sum: i64 = breakdown.iter().map(|tax| tax.amount.minor()).sum();
        assert_eq!(sum, order.totals.tax.minor(), "{lines:?}");
        let untaxed_water: i64 = order
            .lines
            .iter()
            .filter(|line| line.taxes.is_empty())
            .map(|line| line.subtotal.minor())
            .sum();
        let bases: i64 = breakdown.iter().map(|tax| tax.base.minor()).sum();
        assert_eq!(
            bases + untaxed_water,
            order.totals.subtotal.minor(),
            "{lines:?}"
        );
    }
}

#[test]
fn two_included_taxes_split_the_line_tax_by_rate() {
    let line_taxes = [
        LineTax {
            tax_id: TaxId(5),
            rate: TaxRate::from_basis_points(1_000).unwrap(),
            price_included: true,
        },
        LineTax {
            tax_id: TaxId(6),
            rate: TaxRate::from_basis_points(500).unwrap(),
            price_included: true,
        },
    ];
    let amounts =
        totals::line_amounts(money(1_150), qty("1"), Discount::ZERO, &line_taxes).unwrap();
    assert_eq!((amounts.subtotal, amounts.tax), (money(1_000), money(150)));
    let line = Line {
        id: LineId(uuid(1)),
        product_id: ESPRESSO,
        name: Name::parse("Two taxes").unwrap(),
        qty: qty("1"),
        unit_price: money(1_150),
        discount: Discount::ZERO,
        note: Note::default(),
        taxes: line_taxes.to_vec(),
        subtotal: amounts.subtotal,
        tax: amounts.tax,
        total: amounts.total,
    };
    let breakdown = tax_breakdown(&[line]);
    let split: Vec<(TaxId, i64, i64)> = breakdown
        .iter()
        .map(|tax| (tax.tax_id, tax.base.minor(), tax.amount.minor()))
        .collect();
    assert_eq!(split, vec![(TaxId(5), 1_000, 100), (TaxId(6), 1_000, 50)]);
}

fn cash_move(id: i64, amount: i64, reason: &str, second: i64) -> CashMove {
    CashMove {
        id,
        amount: money(amount),
        reason: Note::parse(reason).unwrap(),
        user_id: UserId(2),
        at: at_second(second),
    }
}

/// The counter's day with tax per rate and two cash moves: a float put in
/// (+2,000) and a bank drop taken out (-5,000).
fn counter_day_with_moves() -> SessionActivity {
    let mut activity = counter_day();
    activity.taxes = vec![
        TaxAmount {
            tax_id: TaxId(1),
            rate: TaxRate::from_basis_points(1_000).unwrap(),
            base: money(900),
            amount: money(105),
        },
        TaxAmount {
            tax_id: TaxId(2),
            rate: TaxRate::from_basis_points(2_100).unwrap(),
            base: money(338),
            amount: money(71),
        },
        TaxAmount {
            tax_id: TaxId(2),
            rate: TaxRate::from_basis_points(2_100).unwrap(),
            base: money(-250),
            amount: money(-53),
        },
    ];
    activity.cash_moves = vec![
        cash_move(2, -5_000, "Bank drop", 1_800),
        cash_move(1, 2_000, "Float", 60),
    ];
    activity
}

#[test]
fn the_report_has_tax_per_rate_net_cash_and_cash_moves() {
    let report = session_report(
        session(5_000, Some(3_000)),
        &counter_day_with_moves(),
        &methods(),
        &taxes(),
    )
    .unwrap();
    let taxes: Vec<(&str, i64, i64)> = report
        .taxes
        .iter()
        .map(|tax| (tax.name.as_str(), tax.base.minor(), tax.amount.minor()))
        .collect();
    assert_eq!(
        taxes,
        vec![("VAT 10% incl.", 900, 105), ("VAT 21%", 88, 18)]
    );
    assert_eq!(
        report
            .taxes
            .iter()
            .map(|tax| tax.amount.minor())
            .sum::<i64>(),
        report.tax_total.minor()
    );
    assert_eq!(
        report.cash,
        CashSummary {
            opening: money(5_000),
            payments: money(2_197),
            change_given: money(1_195),
            net: money(1_002),
            moves: money(-3_000),
            // 5,000 + 1,002 - 3,000
            expected: money(3_002),
            counted: Some(money(3_000)),
            difference: Some(money(-2)),
        }
    );
    let reasons: Vec<&str> = report
        .cash_moves
        .iter()
        .map(|cash_move| cash_move.reason.as_str())
        .collect();
    assert_eq!(reasons, vec!["Float", "Bank drop"], "oldest first");
    // A tax the catalog lost is named by its rate.
    let unnamed =
        session_report(session(0, None), &counter_day_with_moves(), &methods(), &[]).unwrap();
    assert_eq!(unnamed.taxes[1].name, "Tax 21%");

    let json = serde_json::to_string_pretty(&report).unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/session_report_with_moves.json"
    );
    if std::env::var("POSSYNC_GOLDEN_BLESS").as_deref() == Ok("1") {
        std::fs::write(path, format!("{json}\n")).unwrap();
    }
    let golden = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        json.trim_end(),
        golden.trim_end(),
        "the report's JSON changed"
    );
}
