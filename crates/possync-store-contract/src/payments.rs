//! What payments leave behind (payments, stock, invoices) and the session report.

use crate::fixtures::*;
use possync_core::*;
use possync_store::{
    CashSummary, CommitEntry, Conflict, HistoryEntry, Invoice, PaymentTotal, StockMove, Store,
};
use std::sync::Arc;

/// Paying writes payments, stock moves of tracked products, on-hand counts and invoices.
pub async fn payment_effects<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    assert_eq!(ok(store.list_invoices().await, "list invoices"), vec![]);

    // 2 coffees (250 + 21% VAT = 302.5 each, 605 together) and a cake (400).
    let order = draft(
        store,
        &till,
        Some(shop.customer.id),
        false,
        &[(shop.coffee.id, 2_000, 0), (shop.cake.id, 1_000, 0)],
    )
    .await;
    assert_eq!(order.totals.total, money(1_005));
    let paid = pay(store, &till, &order, &[(shop.cash.id, 2_000)], true).await;
    assert_eq!(paid.state, OrderState::Paid);
    assert_eq!(paid.change, money(995));
    assert_eq!(
        ok(store.get_order(paid.id).await, "get the paid order"),
        Some(paid.clone())
    );
    let paid_at = entry_history_at(store, paid.id).await;

    assert_eq!(
        ok(store.list_stock_moves(shop.coffee.id).await, "coffee moves"),
        vec![StockMove {
            product_id: shop.coffee.id,
            order_id: paid.id,
            qty: qty(-2_000),
            at: paid_at,
        }]
    );
    assert_eq!(
        ok(store.list_stock_moves(shop.cake.id).await, "cake moves"),
        vec![],
        "cake is not tracked"
    );
    assert_eq!(
        ok(store.get_product(shop.coffee.id).await, "get coffee").on_hand,
        qty(8_000)
    );
    assert_eq!(
        ok(store.get_product(shop.cake.id).await, "get cake").on_hand,
        Quantity::ZERO
    );
    assert_eq!(
        ok(store.list_invoices().await, "list invoices"),
        vec![Invoice {
            number: 1,
            order_id: paid.id,
            customer_id: shop.customer.id,
            total: money(1_005),
            at: paid_at,
        }]
    );
    let report = ok(store.session_report(till.by.session_id).await, "report");
    assert_eq!(
        report.payments,
        vec![PaymentTotal {
            method_id: shop.cash.id,
            name: shop.cash.name.clone(),
            kind: PaymentMethodKind::Cash,
            amount: money(2_000),
        }]
    );

    // Half a coffee, no invoice: stock moves in thousandths, no invoice row.
    let half = draft(store, &till, None, false, &[(shop.coffee.id, 500, 0)]).await;
    let half = pay(
        store,
        &till,
        &half,
        &[(shop.card.id, half.totals.total.minor())],
        false,
    )
    .await;
    // A returned coffee, refunded in cash, brings one back.
    let refund = draft(store, &till, None, false, &[(shop.coffee.id, -1_000, 0)]).await;
    assert_eq!(refund.totals.total, money(-303));
    let refund = pay(store, &till, &refund, &[(shop.cash.id, -303)], false).await;

    let moves: Vec<(OrderId, Quantity)> =
        ok(store.list_stock_moves(shop.coffee.id).await, "coffee moves")
            .into_iter()
            .map(|stock_move| (stock_move.order_id, stock_move.qty))
            .collect();
    assert_eq!(
        moves,
        vec![
            (paid.id, qty(-2_000)),
            (half.id, qty(-500)),
            (refund.id, qty(1_000))
        ],
        "moves oldest first, negative when goods leave"
    );
    assert_eq!(
        ok(store.get_product(shop.coffee.id).await, "get coffee").on_hand,
        qty(8_500)
    );
    assert_eq!(
        ok(store.list_invoices().await, "list invoices").len(),
        1,
        "no invoice unless asked"
    );
    expect_not_found(
        store.list_stock_moves(ProductId(MISSING_ID)).await,
        "product",
        "moves of an unknown product",
    );

    // An op on a paid order (here: one the engine would never accept) does not pay twice.
    let mut after_paid = paid.clone();
    after_paid.version += 1;
    let entry = HistoryEntry {
        approved_by: None,
        version: after_paid.version,
        op_id: OpId(next_uuid()),
        op: Op::SetNote {
            note: Note::default(),
        },
        by: till.by.clone(),
        at: tick(),
    };
    ok(
        store
            .commit_batch(&[CommitEntry::Accepted {
                order: after_paid,
                entry,
            }])
            .await,
        "a later version of a paid order",
    );
    assert_eq!(
        ok(store.get_product(shop.coffee.id).await, "get coffee").on_hand,
        qty(8_500)
    );
    assert_eq!(ok(store.list_invoices().await, "list invoices").len(), 1);
    let report = ok(store.session_report(till.by.session_id).await, "report");
    assert_eq!(report.orders_paid, 3);
    let amounts: Vec<(PaymentMethodId, Money)> = report
        .payments
        .iter()
        .map(|total| (total.method_id, total.amount))
        .collect();
    assert_eq!(
        amounts,
        vec![
            (shop.cash.id, money(2_000 - 303)),
            (shop.card.id, half.totals.total)
        ],
        "payments are written once, refunds as negative amounts"
    );
    assert_eq!(report.cash.payments, money(2_000 - 303));
    assert_eq!(
        report.cash.change_given,
        money(995),
        "a refund gives no change"
    );
    assert_eq!(
        report.sales_total,
        money(1_005 - 303 + half.totals.total.minor())
    );
}

/// The session report, checked against numbers worked out by hand.
pub async fn session_report<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till_1 = open_till(store, &shop, &shop.counter_1, 5_000).await;
    let till_2 = open_till(store, &shop, &shop.counter_2, 0).await;
    let session_1 = till_1.by.session_id;
    let session_2 = till_2.by.session_id;

    let empty = ok(
        store.session_report(session_1).await,
        "report of a session without sales",
    );
    assert_eq!(
        (empty.orders_paid, empty.sales_total, empty.tax_total),
        (0, Money::ZERO, Money::ZERO)
    );
    assert!(empty.payments.is_empty());
    assert_eq!(empty.cash.expected, money(5_000));

    // A: 2 coffees (500 + 105 VAT) and a cake (400): 1,005, paid 2,000 in cash, 995 change.
    let a = draft(
        store,
        &till_1,
        Some(shop.customer.id),
        false,
        &[(shop.coffee.id, 2_000, 0), (shop.cake.id, 1_000, 0)],
    )
    .await;
    assert_eq!((a.totals.total, a.totals.tax), (money(1_005), money(105)));
    pay(store, &till_1, &a, &[(shop.cash.id, 2_000)], true).await;
    // B: 1.5 coffees at 10% off: 375 -> 337.5 -> 338, VAT 70.98 -> 71: 409, by card.
    let b = draft(
        store,
        &till_1,
        None,
        false,
        &[(shop.coffee.id, 1_500, 1_000)],
    )
    .await;
    assert_eq!((b.totals.total, b.totals.tax), (money(409), money(71)));
    pay(store, &till_1, &b, &[(shop.card.id, 409)], false).await;
    // C: a cake drafted at counter 2, shared, paid at counter 1: 100 card + 500 cash, 200 change.
    let c = draft(store, &till_2, None, true, &[(shop.cake.id, 1_000, 0)]).await;
    pay(
        store,
        &till_1,
        &c,
        &[(shop.card.id, 100), (shop.cash.id, 500)],
        false,
    )
    .await;
    // D: a cake paid at counter 2 in cash: it belongs to session 2's report.
    let d = draft(store, &till_2, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    pay(store, &till_2, &d, &[(shop.cash.id, 400)], false).await;
    // E stays a draft and F is cancelled: neither counts.
    draft(store, &till_1, None, false, &[(shop.coffee.id, 1_000, 0)]).await;
    let f = draft(store, &till_1, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    commit_op(store, &till_1, Some(&f), f.id, Op::Cancel { reason: None }).await;

    let expected_payments = vec![
        PaymentTotal {
            method_id: shop.cash.id,
            name: shop.cash.name.clone(),
            kind: PaymentMethodKind::Cash,
            amount: money(2_500),
        },
        PaymentTotal {
            method_id: shop.card.id,
            name: shop.card.name.clone(),
            kind: PaymentMethodKind::Card,
            amount: money(509),
        },
    ];
    assert!(shop.cash.id < shop.card.id && shop.card.id < shop.voucher.id);
    let report = ok(store.session_report(session_1).await, "report of session 1");
    assert_eq!(
        report.session,
        ok(store.get_session(session_1).await, "get session 1")
    );
    assert_eq!(report.orders_paid, 3, "A, B and C were paid at counter 1");
    assert_eq!(report.sales_total, money(1_005 + 409 + 400));
    assert_eq!(report.tax_total, money(105 + 71));
    assert_eq!(
        report.payments, expected_payments,
        "by method id, only methods used"
    );
    assert_eq!(
        report.cash,
        CashSummary {
            opening: money(5_000),
            payments: money(2_500),
            change_given: money(995 + 200),
            net: money(2_500 - 1_195),
            moves: Money::ZERO,
            expected: money(5_000 + 2_500 - 1_195),
            counted: None,
            difference: None,
        }
    );

    let closed = ok(
        store
            .close_session(session_1, Some(money(6_300)), tick())
            .await,
        "close session 1",
    );
    assert_eq!(closed.session.state, SessionState::Closed);
    assert_eq!(
        (closed.orders_paid, closed.sales_total, closed.tax_total),
        (3, money(1_814), money(176))
    );
    assert_eq!(closed.payments, expected_payments);
    assert_eq!(closed.cash.expected, money(6_305));
    assert_eq!(closed.cash.counted, Some(money(6_300)));
    assert_eq!(closed.cash.difference, Some(money(-5)), "five short");
    assert_eq!(
        ok(
            store.session_report(session_1).await,
            "report after closing"
        ),
        closed
    );

    let report_2 = ok(store.session_report(session_2).await, "report of session 2");
    assert_eq!(
        (
            report_2.orders_paid,
            report_2.sales_total,
            report_2.tax_total
        ),
        (1, money(400), Money::ZERO)
    );
    assert_eq!(
        report_2.payments,
        vec![PaymentTotal {
            method_id: shop.cash.id,
            name: shop.cash.name.clone(),
            kind: PaymentMethodKind::Cash,
            amount: money(400),
        }]
    );
    assert_eq!(
        report_2.cash,
        CashSummary {
            opening: Money::ZERO,
            payments: money(400),
            change_given: Money::ZERO,
            net: money(400),
            moves: Money::ZERO,
            expected: money(400),
            counted: None,
            difference: None,
        }
    );
}

/// Fifty payments committed at once, at two counters, each asking for an
/// invoice: invoice numbers run 1..=50 and each session's receipt numbers run
/// from 1 without a gap or a repeat; each order's taxes add up to its tax.
pub async fn concurrent_payments_number_receipts_and_invoices<S: Store + ?Sized>(store: Arc<S>) {
    const PAYMENTS: usize = 50;
    let shop = open_shop(&*store).await;
    let till_1 = open_till(&*store, &shop, &shop.counter_1, 0).await;
    let till_2 = open_till(&*store, &shop, &shop.counter_2, 0).await;
    let mut batches = Vec::with_capacity(PAYMENTS);
    for index in 0..PAYMENTS {
        let till = if index % 2 == 0 { &till_1 } else { &till_2 };
        let order = draft(
            &*store,
            till,
            Some(shop.customer.id),
            false,
            &[(shop.coffee.id, 1_000, 0), (shop.cake.id, 1_000, 0)],
        )
        .await;
        let pay_op = Op::Pay {
            payments: vec![PaymentInput {
                method_id: shop.card.id,
                amount: order.totals.total,
            }],
            expected_total: order.totals.total,
            invoice: Some(true),
        };
        batches.push(vec![till.decide(Some(&order), order.id, pay_op)]);
    }
    let tasks: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.commit_batch(&batch).await })
        })
        .collect();
    for task in tasks {
        ok(
            task.await.expect("a commit task ran"),
            "a concurrent payment",
        );
    }
    let mut numbers: Vec<u64> = ok(store.list_invoices().await, "list invoices")
        .iter()
        .map(|invoice| invoice.number)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=PAYMENTS as u64).collect::<Vec<_>>());
    let paged = ok(
        store.list_invoices_page(Some(11), 5).await,
        "a page of invoices",
    );
    assert_eq!(
        paged
            .iter()
            .map(|invoice| invoice.number)
            .collect::<Vec<_>>(),
        vec![10, 9, 8, 7, 6],
        "newest first, below the cursor"
    );
    assert_eq!(
        ok(store.get_invoice(PAYMENTS as u64).await, "get an invoice")
            .map(|invoice| invoice.number),
        Some(PAYMENTS as u64)
    );
    assert_eq!(
        ok(
            store.get_invoice(PAYMENTS as u64 + 1).await,
            "get a missing invoice"
        ),
        None
    );

    for (till, name) in [
        (&till_1, shop.counter_1.name.as_str()),
        (&till_2, shop.counter_2.name.as_str()),
    ] {
        let paid = ok(store.list_orders(OrderState::Paid).await, "paid orders");
        let mut receipt_numbers = Vec::new();
        for order in paid.iter().filter(|order| {
            order.paid_by.as_ref().map(|by| by.session_id) == Some(till.by.session_id)
        }) {
            let number = ok(store.receipt_number(order.id).await, "receipt number")
                .expect("a paid order has a receipt number");
            let invoice = ok(store.invoice_of_order(order.id).await, "invoice of order")
                .expect("every payment asked for an invoice");
            assert_eq!(invoice.total, order.totals.total);
            receipt_numbers.push(number);
        }
        receipt_numbers.sort();
        let expected: Vec<String> = (1..=PAYMENTS / 2)
            .map(|number| format!("{name}/{number:04}"))
            .collect();
        assert_eq!(receipt_numbers, expected, "receipt numbers of {name}");
        let report = ok(store.session_report(till.by.session_id).await, "report");
        assert_eq!(
            report
                .taxes
                .iter()
                .map(|tax| tax.amount.minor())
                .sum::<i64>(),
            report.tax_total.minor(),
            "tax per rate adds up to the tax of {name}"
        );
    }
    assert!(
        ok(
            store.receipt_number(OrderId(next_uuid())).await,
            "unknown order"
        )
        .is_none()
    );
}

/// The shop's header and cash moves: read, changed, and refused on a closed session.
pub async fn shop_and_cash_moves<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    assert_eq!(
        ok(store.get_shop().await, "get shop"),
        possync_core::Shop::default()
    );
    let changed = ok(
        store
            .update_shop(ShopChanges {
                name: Some(name("Café Nube")),
                vat_number: Some(note("ES-B12345678")),
                ..ShopChanges::default()
            })
            .await,
        "update shop",
    );
    assert_eq!(changed.name.as_str(), "Café Nube");
    assert_eq!(changed.address, Note::default(), "absent fields stay");
    assert_eq!(ok(store.get_shop().await, "get shop"), changed);

    let till = open_till(store, &shop, &shop.counter_1, 5_000).await;
    let user_id = ok(store.get_session(till.by.session_id).await, "session").opened_by;
    let float = ok(
        store
            .add_cash_move(
                till.by.session_id,
                money(2_000),
                &note("Float"),
                user_id,
                tick(),
            )
            .await,
        "cash in",
    );
    ok(
        store
            .add_cash_move(
                till.by.session_id,
                money(-500),
                &note("Bank drop"),
                user_id,
                tick(),
            )
            .await,
        "cash out",
    );
    let report = ok(store.session_report(till.by.session_id).await, "report");
    assert_eq!(report.cash.moves, money(1_500));
    assert_eq!(report.cash.expected, money(6_500));
    assert_eq!(report.cash_moves.first(), Some(&float));
    expect_not_found(
        store
            .add_cash_move(SessionId(MISSING_ID), money(1), &note("x"), user_id, tick())
            .await,
        "session",
        "cash move of an unknown session",
    );
    ok(
        store
            .close_session(till.by.session_id, Some(money(6_500)), tick())
            .await,
        "close",
    );
    expect_conflict(
        store
            .add_cash_move(
                till.by.session_id,
                money(100),
                &note("late"),
                user_id,
                tick(),
            )
            .await,
        Conflict::SessionClosed(till.by.session_id),
        "cash move of a closed session",
    );
}

/// Adjustments by hand write a move (reason, note, user) and the new level in
/// one transaction; a refused one writes nothing; a product's moves page
/// newest first and name a sale's order and receipt number.
pub async fn stock_adjustments<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let order = draft(store, &till, None, false, &[(shop.coffee.id, 2_000, 0)]).await;
    let paid = pay(store, &till, &order, &[(shop.cash.id, 1_000)], false).await;
    let adjust = |reason: AdjustmentReason, qty: Option<i64>, counted: Option<i64>, text: &str| {
        StockAdjustmentInput {
            reason,
            qty: qty.map(crate::fixtures::qty),
            counted: counted.map(crate::fixtures::qty),
            note: note(text),
        }
    };

    let delivery = adjust(AdjustmentReason::Delivery, Some(5_000), None, "pallet 7");
    let at = tick();
    let (delivered, coffee) = ok(
        store
            .adjust_stock(shop.coffee.id, &delivery, shop.manager.id, at)
            .await,
        "a delivery",
    );
    assert_eq!(coffee.on_hand, qty(13_000), "10 - 2 sold + 5 delivered");
    assert_eq!(
        delivered,
        StockMoveEntry {
            id: delivered.id,
            product_id: shop.coffee.id,
            qty: qty(5_000),
            reason: StockMoveReason::Delivery,
            note: note("pallet 7"),
            at,
            order_id: None,
            receipt_number: None,
            user_id: Some(shop.manager.id),
        }
    );
    let count = adjust(AdjustmentReason::Count, None, Some(12_000), "");
    let (counted, coffee) = ok(
        store
            .adjust_stock(shop.coffee.id, &count, shop.manager.id, tick())
            .await,
        "a count",
    );
    assert_eq!((counted.qty, coffee.on_hand), (qty(-1_000), qty(12_000)));

    // Refused: an untracked product, a delivery taking out, an unknown product.
    let message = expect_invalid(
        store
            .adjust_stock(shop.cake.id, &delivery, shop.manager.id, tick())
            .await,
        "an untracked product",
    );
    assert_eq!(message, "this product does not track stock");
    expect_invalid(
        store
            .adjust_stock(
                shop.coffee.id,
                &adjust(AdjustmentReason::Delivery, Some(-1_000), None, ""),
                shop.manager.id,
                tick(),
            )
            .await,
        "a delivery that takes goods out",
    );
    expect_not_found(
        store
            .adjust_stock(ProductId(MISSING_ID), &delivery, shop.manager.id, tick())
            .await,
        "product",
        "an unknown product",
    );
    assert_eq!(
        ok(store.get_product(shop.coffee.id).await, "coffee").on_hand,
        qty(12_000),
        "refusals moved nothing"
    );

    // Newest first, a page at a time; the sale names its order and receipt.
    let first_page = ok(
        store.list_stock_moves_page(shop.coffee.id, None, 2).await,
        "the first page",
    );
    assert_eq!(first_page, vec![counted.clone(), delivered.clone()]);
    let rest = ok(
        store
            .list_stock_moves_page(shop.coffee.id, Some(delivered.id), 2)
            .await,
        "the rest",
    );
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(rest[0].reason, StockMoveReason::Sale);
    assert_eq!(rest[0].qty, qty(-2_000));
    assert_eq!(rest[0].order_id, Some(paid.id));
    assert_eq!(rest[0].receipt_number.as_deref(), Some("Counter 1/0001"));
    assert_eq!(rest[0].user_id, None);
    assert_eq!(
        ok(store.list_stock_moves(shop.coffee.id).await, "sale moves").len(),
        1,
        "the moves of paid orders leave adjustments out"
    );
    assert!(
        ok(
            store.list_stock_moves_page(shop.cake.id, None, 10).await,
            "cake"
        )
        .is_empty()
    );
    expect_not_found(
        store
            .list_stock_moves_page(ProductId(MISSING_ID), None, 10)
            .await,
        "product",
        "moves of an unknown product",
    );
}

/// A sales report reads the orders paid in a period by the time they were
/// paid, with where each was started and paid, its payments and, if asked,
/// its lines; drafts and orders paid outside the period are left out.
pub async fn sale_facts<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till_1 = open_till(store, &shop, &shop.counter_1, 0).await;
    let till_2 = open_till(store, &shop, &shop.counter_2, 0).await;
    let before = tick();
    // Started at Counter 1, paid at Counter 2: 2 coffees (605) and a cake (400).
    let across = draft(
        store,
        &till_1,
        None,
        false,
        &[(shop.coffee.id, 2_000, 0), (shop.cake.id, 1_000, 0)],
    )
    .await;
    let across = pay(
        store,
        &till_2,
        &across,
        &[(shop.card.id, 500), (shop.cash.id, 1_000)],
        false,
    )
    .await;
    let at_1 = draft(store, &till_1, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let at_1 = pay(store, &till_1, &at_1, &[(shop.cash.id, 400)], false).await;
    let _open = draft(store, &till_1, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let after = tick();

    let facts = ok(
        store.list_sale_facts(before, after, true).await,
        "the orders paid in the period",
    );
    assert_eq!(facts.len(), 2, "the draft is not a sale: {facts:?}");
    let first = &facts[0];
    assert_eq!(first.order_id, across.id, "by time of payment");
    assert_eq!(first.paid_at, across.updated_at);
    assert_eq!(
        (first.started_at, first.paid_by),
        (shop.counter_1.id, shop.counter_2.id)
    );
    assert_eq!(
        (first.total, first.tax, first.change),
        (money(1_005), across.totals.tax, money(495))
    );
    assert_eq!(first.payments, across.payments);
    assert_eq!(
        first
            .lines
            .iter()
            .map(|line| (line.product_id, line.qty, line.total))
            .collect::<Vec<_>>(),
        vec![
            (shop.coffee.id, qty(2_000), money(605)),
            (shop.cake.id, qty(1_000), money(400)),
        ]
    );
    assert_eq!(facts[1].order_id, at_1.id);
    assert_eq!(
        (facts[1].started_at, facts[1].paid_by),
        (shop.counter_1.id, shop.counter_1.id)
    );

    let without_lines = ok(
        store.list_sale_facts(before, after, false).await,
        "without lines",
    );
    assert!(without_lines.iter().all(|fact| fact.lines.is_empty()));
    assert_eq!(without_lines[0].payments, first.payments);
    // The period is half-open: an order paid at `to` belongs to the next one.
    let up_to_first = ok(
        store
            .list_sale_facts(before, across.updated_at, false)
            .await,
        "up to the first payment",
    );
    assert!(up_to_first.is_empty(), "{up_to_first:?}");
    assert!(ok(store.list_sale_facts(after, tick(), true).await, "later").is_empty());
}
