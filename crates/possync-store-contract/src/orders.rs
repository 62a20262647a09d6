//! Orders: group commits, versions, history, op outcomes, listing by state.

use crate::fixtures::*;
use possync_core::*;
use possync_store::{
    CashSummary, CommitEntry, Conflict, HistoryEntry, Invoice, OpOutcome, OrderCursor, OrdersPage,
    PaymentTotal, ReadableBy, StockMove, Store,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use uuid::Uuid;

/// commit_batch creates orders and advances versions; the history keeps every op in order.
pub async fn orders_commit_and_history<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let order_id = OrderId(next_uuid());
    assert_eq!(
        ok(
            store.get_order(order_id).await,
            "get an order not yet created"
        ),
        None
    );

    let create = till.decide(
        None,
        order_id,
        Op::Create {
            config_id: None,
            customer_id: Some(shop.customer.id),
            note: None,
            share: Some(true),
        },
    );
    ok(
        store.commit_batch(std::slice::from_ref(&create)).await,
        "commit a create",
    );
    let v1 = entry_order(&create).clone();
    assert_eq!(v1.version, 1);
    assert_eq!(
        ok(store.get_order(order_id).await, "get the new order"),
        Some(v1.clone())
    );

    // Two ops of one order in one batch: the second builds on the first.
    let line_id = LineId(next_uuid());
    let add = till.decide(
        Some(&v1),
        order_id,
        Op::add_line(line_id, shop.coffee.id, qty(1_000)),
    );
    let set_qty = till.decide(
        Some(entry_order(&add)),
        order_id,
        Op::SetQty {
            line_id,
            qty: qty(3_000),
        },
    );
    ok(
        store.commit_batch(&[add.clone(), set_qty.clone()]).await,
        "commit two ops of one order",
    );
    let v3 = entry_order(&set_qty).clone();
    assert_eq!(v3.version, 3);
    assert_eq!(
        ok(store.get_order(order_id).await, "get the order"),
        Some(v3.clone())
    );
    assert_eq!(v3.lines[0].qty, qty(3_000));

    let history = ok(store.order_history(order_id).await, "read the history");
    assert_eq!(
        history,
        vec![
            entry_history(&create).clone(),
            entry_history(&add).clone(),
            entry_history(&set_qty).clone()
        ],
        "the history holds every accepted op, in version order"
    );
    assert_eq!(
        history
            .iter()
            .map(|entry| entry.version)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        ok(
            store.find_op_outcome(entry_history(&add).op_id).await,
            "find an accepted op"
        ),
        Some(OpOutcome::Accepted {
            order_id,
            version: 2
        })
    );
    assert_eq!(
        ok(
            store.find_op_outcome(OpId(next_uuid())).await,
            "find an unknown op"
        ),
        None
    );
    assert!(
        ok(
            store.order_history(OrderId(next_uuid())).await,
            "history of an unknown order"
        )
        .is_empty()
    );
    ok(store.commit_batch(&[]).await, "an empty batch");
}

/// A batch with a version gap, a stale version or a reused op id leaves nothing behind.
pub async fn commit_batch_is_all_or_nothing<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let v1 = draft(store, &till, None, false, &[]).await;
    let order_id = v1.id;
    let create_op_id = ok(store.order_history(order_id).await, "history")[0].op_id;

    let to_v2 = till.decide(
        Some(&v1),
        order_id,
        Op::SetNote {
            note: Note::parse("no sugar").expect("a note"),
        },
    );
    let to_v3 = till.decide(Some(entry_order(&to_v2)), order_id, Op::Share {});
    let to_v4 = till.decide(Some(entry_order(&to_v3)), order_id, Op::Unshare {});
    let rejected_op_id = OpId(next_uuid());
    let reject = CommitEntry::Rejected {
        op_id: rejected_op_id,
        order_id,
        reject: Reject::new(RejectCode::Locked, "being paid at Counter 2"),
        at: tick(),
    };
    let other_order = till.decide(
        None,
        OrderId(next_uuid()),
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: None,
        },
    );

    let never_kept = [entry_history(&to_v2).op_id, rejected_op_id];
    let other_order_id = entry_order(&other_order).id;
    expect_conflict(
        store
            .commit_batch(&[
                other_order.clone(),
                reject.clone(),
                to_v2.clone(),
                to_v4.clone(),
            ])
            .await,
        version_conflict(order_id, 2, 4),
        "a batch that skips version 3",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a version gap",
    )
    .await;

    expect_conflict(
        store
            .commit_batch(&[other_order.clone(), reject.clone(), to_v3.clone()])
            .await,
        version_conflict(order_id, 1, 3),
        "version 3 on an order at version 1",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a version ahead of the order",
    )
    .await;

    let stale_create = till.decide(
        None,
        order_id,
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: None,
        },
    );
    expect_conflict(
        store
            .commit_batch(&[other_order.clone(), stale_create])
            .await,
        version_conflict(order_id, 1, 1),
        "a second version 1 of an existing order",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a stale version",
    )
    .await;

    // An accepted op whose op_id already has an answer would take effect twice.
    let CommitEntry::Accepted { order, entry } = to_v2.clone() else {
        panic!("an accepted entry");
    };
    let reused = CommitEntry::Accepted {
        order,
        entry: HistoryEntry {
            approved_by: None,
            op_id: create_op_id,
            ..entry
        },
    };
    expect_conflict(
        store.commit_batch(&[other_order.clone(), reused]).await,
        Conflict::OpAnswered,
        "an accepted op that already has an answer",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a reused op id",
    )
    .await;

    // A new order starts at version 1.
    let mut late_start = other_order.clone();
    if let CommitEntry::Accepted { order, entry } = &mut late_start {
        order.version = 2;
        entry.version = 2;
    }
    expect_conflict(
        store.commit_batch(&[late_start]).await,
        version_conflict(other_order_id, 0, 2),
        "a new order at version 2",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a new order at version 2",
    )
    .await;

    let mut mismatched = to_v2.clone();
    if let CommitEntry::Accepted { entry, .. } = &mut mismatched {
        entry.version = 3;
    }
    expect_invalid(
        store.commit_batch(&[mismatched]).await,
        "an order and its history entry that disagree on the version",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a mismatched entry",
    )
    .await;

    // The store still takes the right batch afterwards.
    ok(
        store
            .commit_batch(&[
                to_v2.clone(),
                to_v3.clone(),
                reject.clone(),
                to_v4.clone(),
                other_order.clone(),
            ])
            .await,
        "the batch without its mistakes",
    );
    assert_eq!(
        ok(store.get_order(order_id).await, "get the order"),
        Some(entry_order(&to_v4).clone())
    );
    assert_eq!(ok(store.order_history(order_id).await, "history").len(), 4);
    assert_eq!(
        ok(
            store.get_order(entry_order(&other_order).id).await,
            "get the other order"
        ),
        Some(entry_order(&other_order).clone())
    );
}

/// Outcomes are kept for accepted and rejected ops; the first answer wins.
pub async fn op_outcomes<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let order = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;

    let rejected_op_id = OpId(next_uuid());
    let locked = Reject::new(RejectCode::Locked, "being paid at Counter 2");
    let reject = |reject: Reject| CommitEntry::Rejected {
        op_id: rejected_op_id,
        order_id: order.id,
        reject,
        at: tick(),
    };
    ok(
        store.commit_batch(&[reject(locked.clone())]).await,
        "commit a reject",
    );
    let first_answer = Some(OpOutcome::Rejected {
        order_id: order.id,
        reject: locked.clone(),
    });
    assert_eq!(
        ok(
            store.find_op_outcome(rejected_op_id).await,
            "find the reject"
        ),
        first_answer
    );
    ok(
        store
            .commit_batch(&[reject(Reject::new(
                RejectCode::Paid,
                "this order is already paid",
            ))])
            .await,
        "commit a second reject of the same op",
    );
    assert_eq!(
        ok(
            store.find_op_outcome(rejected_op_id).await,
            "find the reject"
        ),
        first_answer,
        "the first answer is kept"
    );

    // A repeated create acknowledged without a change keeps its first answer too.
    let repeat_op_id = OpId(next_uuid());
    let unchanged = |version: u64| CommitEntry::Unchanged {
        op_id: repeat_op_id,
        order_id: order.id,
        version,
        at: tick(),
    };
    ok(
        store.commit_batch(&[unchanged(order.version)]).await,
        "commit an unchanged ack",
    );
    ok(
        store.commit_batch(&[unchanged(order.version + 5)]).await,
        "commit it again",
    );
    assert_eq!(
        ok(store.find_op_outcome(repeat_op_id).await, "find the ack"),
        Some(OpOutcome::Accepted {
            order_id: order.id,
            version: order.version,
        }),
        "an unchanged ack is remembered, and its first answer kept"
    );
    assert_eq!(
        ok(store.order_history(order.id).await, "history").len() as u64,
        order.version,
        "an unchanged ack writes no history"
    );

    // A reject may name an order that never came to exist.
    let ghost_order_id = OrderId(next_uuid());
    let ghost_op_id = OpId(next_uuid());
    let not_found = Reject::new(RejectCode::NotFound, "no such order");
    ok(
        store
            .commit_batch(&[CommitEntry::Rejected {
                op_id: ghost_op_id,
                order_id: ghost_order_id,
                reject: not_found.clone(),
                at: tick(),
            }])
            .await,
        "reject an op on an unknown order",
    );
    assert_eq!(
        ok(store.find_op_outcome(ghost_op_id).await, "find the reject"),
        Some(OpOutcome::Rejected {
            order_id: ghost_order_id,
            reject: not_found,
        })
    );

    // Accepted and rejected entries side by side in one batch.
    let cancel = till.decide(Some(&order), order.id, Op::Cancel { reason: None });
    let late_op_id = OpId(next_uuid());
    let late = CommitEntry::Rejected {
        op_id: late_op_id,
        order_id: order.id,
        reject: Reject::new(RejectCode::Cancelled, "this order was cancelled"),
        at: tick(),
    };
    ok(
        store.commit_batch(&[cancel.clone(), late]).await,
        "commit an accept and a reject",
    );
    assert_eq!(
        ok(
            store.find_op_outcome(entry_history(&cancel).op_id).await,
            "find the accept"
        ),
        Some(OpOutcome::Accepted {
            order_id: order.id,
            version: order.version + 1,
        })
    );
    assert!(matches!(
        ok(store.find_op_outcome(late_op_id).await, "find the reject"),
        Some(OpOutcome::Rejected { reject, .. }) if reject.code == RejectCode::Cancelled
    ));
    // A reject of an op that was accepted does not replace the accept.
    ok(
        store
            .commit_batch(&[CommitEntry::Rejected {
                op_id: entry_history(&cancel).op_id,
                order_id: order.id,
                reject: Reject::new(RejectCode::Cancelled, "this order was cancelled"),
                at: tick(),
            }])
            .await,
        "reject an accepted op",
    );
    assert!(matches!(
        ok(
            store.find_op_outcome(entry_history(&cancel).op_id).await,
            "find the accept"
        ),
        Some(OpOutcome::Accepted { .. })
    ));

    // An op that was rejected cannot be accepted later: its answer stands.
    let other = draft(store, &till, None, false, &[]).await;
    let CommitEntry::Accepted {
        order: noted,
        entry,
    } = till.decide(Some(&other), other.id, Op::SetNote { note: note("late") })
    else {
        panic!("decide answers an accepted entry");
    };
    expect_conflict(
        store
            .commit_batch(&[CommitEntry::Accepted {
                order: noted,
                entry: HistoryEntry {
                    op_id: rejected_op_id,
                    ..entry
                },
            }])
            .await,
        Conflict::OpAnswered,
        "accepting an op that was rejected",
    );
    assert_eq!(
        ok(store.get_order(other.id).await, "get the order"),
        Some(other),
        "the refused op changed nothing"
    );
    assert_eq!(
        ok(
            store.find_op_outcome(rejected_op_id).await,
            "find the reject"
        ),
        first_answer,
        "the reject stands"
    );
}

/// list_orders answers the orders in one state, oldest first.
pub async fn list_orders_by_state<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let o1 = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let o2 = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let o3 = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let o4 = draft(store, &till, None, false, &[]).await;
    let o2 = pay(store, &till, &o2, &[(shop.cash.id, 400)], false).await;
    let o3 = commit_op(store, &till, Some(&o3), o3.id, Op::Cancel { reason: None }).await;
    // The oldest draft changes last: the order of the list stays by creation.
    let o1 = commit_op(store, &till, Some(&o1), o1.id, Op::Share {}).await;

    assert_eq!(
        ok(store.list_orders(OrderState::Draft).await, "drafts"),
        vec![o1, o4]
    );
    assert_eq!(
        ok(store.list_orders(OrderState::Paid).await, "paid"),
        vec![o2]
    );
    assert_eq!(
        ok(store.list_orders(OrderState::Cancelled).await, "cancelled"),
        vec![o3]
    );
}

/// One batch of many interleaved ops on several orders (more than one
/// multi-row INSERT holds) lands as if each op were committed on its own:
/// every order at its last state, every op in the history once with its
/// answer, a payment in the middle of the batch recorded once; and a batch
/// whose versions do not follow the store's, or each other, changes nothing.
pub async fn group_commits_of_many_ops<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let session_id = till.by.session_id;

    // Before the batch: order A exists (versions 1 and 2), and op R was rejected once.
    let a_before = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let a_history_before = ok(store.order_history(a_before.id).await, "history of A");
    assert_eq!(a_history_before.len(), 2);
    let a_create_op_id = a_history_before[0].op_id;
    let rejected_op_id = OpId(next_uuid());
    let locked = Reject::new(RejectCode::Locked, "being paid at Counter 2");
    ok(
        store
            .commit_batch(&[CommitEntry::Rejected {
                op_id: rejected_op_id,
                order_id: a_before.id,
                reject: locked.clone(),
                at: tick(),
            }])
            .await,
        "reject an op before the batch",
    );

    // A gets 70 ops (a coffee line, then notes and quantities), B is created
    // and gets 33 ops in all, C is created, edited and paid with an invoice
    // in the middle of the batch; rejects are mixed in.
    const A_OPS: usize = 70;
    const B_OPS: usize = 33;
    let mut a = OrderOps::new(a_before.id, Some(a_before.clone()));
    let mut b = OrderOps::new(OrderId(next_uuid()), None);
    let mut c = OrderOps::new(OrderId(next_uuid()), None);
    let a_line = LineId(next_uuid());
    let b_line = LineId(next_uuid());
    let c_coffee = LineId(next_uuid());
    let c_cake = LineId(next_uuid());
    let new_reject_op_id = OpId(next_uuid());
    let stale = Reject::new(RejectCode::Stale, "the line was changed meanwhile");
    let mut batch = Vec::new();
    let (mut a_done, mut b_done, mut c_done) = (0, 0, 0);
    let mut step = 0;
    while a_done < A_OPS {
        if step % 2 == 0 && b_done < B_OPS {
            let op = match b_done {
                0 => Op::create_shared(true),
                1 => Op::add_line(b_line, shop.cake.id, qty(1_000)),
                k if k % 2 == 0 => Op::set_qty(
                    b_line,
                    qty(1_000 * i64::try_from(k).expect("a small count")),
                ),
                k => Op::set_note(note(&format!("B note {k}"))),
            };
            b.push(&till, op, &mut batch);
            b_done += 1;
        }
        let op = match a_done {
            0 => Op::add_line(a_line, shop.coffee.id, qty(1_000)),
            k if k % 3 == 0 => Op::set_note(note(&format!("A note {k}"))),
            _ => Op::AddQty {
                line_id: a_line,
                delta: qty(500),
            },
        };
        a.push(&till, op, &mut batch);
        a_done += 1;
        if step % 7 == 3 && c_done < 6 {
            let op = match c_done {
                0 => Op::Create {
                    config_id: None,
                    customer_id: Some(shop.customer.id),
                    note: None,
                    share: None,
                },
                1 => Op::AddLine {
                    line_id: c_coffee,
                    product_id: shop.coffee.id,
                    qty: qty(1_000),
                    unit_price: None,
                    discount: None,
                    note: None,
                },
                2 => Op::AddLine {
                    line_id: c_cake,
                    product_id: shop.cake.id,
                    qty: qty(1_000),
                    unit_price: None,
                    discount: None,
                    note: None,
                },
                3 => Op::SetQty {
                    line_id: c_coffee,
                    qty: qty(2_000),
                },
                4 => Op::SetNote {
                    note: note("for Carla"),
                },
                _ => Op::Pay {
                    payments: vec![PaymentInput {
                        method_id: shop.cash.id,
                        amount: money(2_000),
                    }],
                    expected_total: c.last().totals.total,
                    invoice: Some(true),
                },
            };
            c.push(&till, op, &mut batch);
            c_done += 1;
        }
        // Rejects: R again (its first answer stands), a new one, and one of
        // an op accepted before the batch (its accept stands).
        match step {
            20 => batch.push(CommitEntry::Rejected {
                op_id: rejected_op_id,
                order_id: a.order_id,
                reject: Reject::new(RejectCode::Paid, "this order is already paid"),
                at: tick(),
            }),
            40 => batch.push(CommitEntry::Rejected {
                op_id: new_reject_op_id,
                order_id: b.order_id,
                reject: stale.clone(),
                at: tick(),
            }),
            50 => batch.push(CommitEntry::Rejected {
                op_id: a_create_op_id,
                order_id: a.order_id,
                reject: Reject::new(RejectCode::Exists, "this order exists"),
                at: tick(),
            }),
            _ => {}
        }
        step += 1;
    }
    // The batch is what the test means it to be: C paid mid-batch, then ops of A and B.
    assert_eq!(
        (a.entries.len(), b.entries.len(), c.entries.len()),
        (A_OPS, B_OPS, 6)
    );
    assert_eq!(batch.len(), A_OPS + B_OPS + 6 + 3);
    let c_paid = c.last().clone();
    assert_eq!(c_paid.state, OrderState::Paid);
    assert_eq!(
        (c_paid.totals.total, c_paid.totals.tax, c_paid.change),
        (money(1_005), money(105), money(995))
    );
    let c_pay_entry = c.entries.last().expect("C has entries").clone();
    let c_pay_position = batch
        .iter()
        .position(|entry| entry_op_id(entry) == c_pay_entry.op_id)
        .expect("C's pay is in the batch");
    let orders_after_pay: BTreeSet<OrderId> = batch[c_pay_position + 1..]
        .iter()
        .filter_map(|entry| match entry {
            CommitEntry::Accepted { order, .. } => Some(order.id),
            CommitEntry::Rejected { .. } | CommitEntry::Unchanged { .. } => None,
        })
        .collect();
    assert_eq!(
        orders_after_pay,
        BTreeSet::from([a.order_id, b.order_id]),
        "C is paid in the middle of the batch: ops of A and B follow, none of C"
    );

    ok(store.commit_batch(&batch).await, "commit the big batch");

    // (1) Every order at its last version and state; every op in its history once.
    let runs = [
        ("A", &a, a_history_before.clone()),
        ("B", &b, Vec::new()),
        ("C", &c, Vec::new()),
    ];
    for (label, run, history_before) in &runs {
        let stored = ok(store.get_order(run.order_id).await, "get an order")
            .unwrap_or_else(|| panic!("order {label} exists after the batch"));
        let expected_version =
            u64::try_from(history_before.len() + run.entries.len()).expect("a small count");
        assert_eq!(
            stored.version, expected_version,
            "order {label} is at the version of its last op"
        );
        // A paid order also carries the receipt number the store gave it.
        if stored.state == OrderState::Paid {
            assert!(
                stored.receipt_number.is_some(),
                "order {label} is paid and has a receipt number"
            );
        }
        assert_eq!(
            &Order {
                receipt_number: None,
                ..stored.clone()
            },
            run.last(),
            "order {label} holds the state of its last op in the batch"
        );
        let expected: Vec<HistoryEntry> =
            history_before.iter().chain(&run.entries).cloned().collect();
        let history = ok(store.order_history(run.order_id).await, "read a history");
        assert_eq!(
            history
                .iter()
                .map(|entry| (entry.version, entry.op_id))
                .collect::<Vec<_>>(),
            (1..=expected_version)
                .zip(expected.iter().map(|entry| entry.op_id))
                .collect::<Vec<_>>(),
            "the history of order {label} holds every op once, in version order"
        );
        assert_eq!(
            history, expected,
            "the history of order {label} holds each op as committed"
        );
    }
    assert_eq!(
        ok(store.list_orders(OrderState::Draft).await, "drafts"),
        vec![a.last().clone(), b.last().clone()]
    );
    // As stored, the paid order carries the receipt number its payment was given.
    let c_paid = Order {
        receipt_number: Some("Counter 1/0001".to_owned()),
        ..c_paid
    };
    assert_eq!(
        ok(store.list_orders(OrderState::Paid).await, "paid"),
        vec![c_paid.clone()]
    );

    // (2) C, created, edited and paid within the batch, is paid exactly once.
    assert_eq!(
        ok(store.list_stock_moves(shop.coffee.id).await, "coffee moves"),
        vec![StockMove {
            product_id: shop.coffee.id,
            order_id: c.order_id,
            qty: qty(-2_000),
            at: c_pay_entry.at,
        }],
        "one stock move, for the paid order only (A's coffee is still a draft)"
    );
    assert_eq!(
        ok(store.list_stock_moves(shop.cake.id).await, "cake moves"),
        vec![],
        "cake is not tracked"
    );
    assert_eq!(
        ok(store.get_product(shop.coffee.id).await, "get coffee").on_hand,
        qty(10_000 - 2_000),
        "on hand goes down once"
    );
    assert_eq!(
        ok(store.list_invoices().await, "list invoices"),
        vec![Invoice {
            number: 1,
            order_id: c.order_id,
            customer_id: shop.customer.id,
            total: money(1_005),
            at: c_pay_entry.at,
        }],
        "one invoice"
    );
    let report = ok(store.session_report(session_id).await, "report");
    assert_eq!(
        (report.orders_paid, report.sales_total, report.tax_total),
        (1, money(1_005), money(105)),
        "the report counts C once"
    );
    assert_eq!(
        report.payments,
        vec![PaymentTotal {
            method_id: shop.cash.id,
            name: shop.cash.name.clone(),
            kind: PaymentMethodKind::Cash,
            amount: money(2_000),
        }],
        "one payment"
    );
    assert_eq!(
        report.cash,
        CashSummary {
            opening: Money::ZERO,
            payments: money(2_000),
            change_given: money(995),
            net: money(1_005),
            moves: Money::ZERO,
            expected: money(1_005),
            counted: None,
            difference: None,
        }
    );

    // (3) Every accepted op has its answer; every reject keeps the first answer.
    for (label, run, _) in &runs {
        for entry in &run.entries {
            assert_eq!(
                ok(store.find_op_outcome(entry.op_id).await, "find an outcome"),
                Some(OpOutcome::Accepted {
                    order_id: run.order_id,
                    version: entry.version,
                }),
                "the answer to op {} of order {label}",
                entry.version
            );
        }
    }
    assert_eq!(
        ok(store.find_op_outcome(rejected_op_id).await, "find R"),
        Some(OpOutcome::Rejected {
            order_id: a.order_id,
            reject: locked,
        }),
        "a reject rejected again in the batch keeps its first answer"
    );
    assert_eq!(
        ok(
            store.find_op_outcome(new_reject_op_id).await,
            "find a reject"
        ),
        Some(OpOutcome::Rejected {
            order_id: b.order_id,
            reject: stale,
        }),
        "a new reject in the batch is answered"
    );
    assert_eq!(
        ok(
            store.find_op_outcome(a_create_op_id).await,
            "find A's create"
        ),
        Some(OpOutcome::Accepted {
            order_id: a.order_id,
            version: 1,
        }),
        "a reject of an op accepted earlier keeps the accept"
    );

    // Later batches, valid but for one thing each.
    let a_last = a.last().clone();
    let b_last = b.last().clone();
    let a_prev = a.states[a.states.len() - 2].clone();
    let b_prev = b.states[b.states.len() - 2].clone();
    let set_note = |text: &str| Op::SetNote { note: note(text) };
    let create = || Op::Create {
        config_id: None,
        customer_id: None,
        note: None,
        share: None,
    };
    let a1 = till.decide(Some(&a_last), a.order_id, set_note("A later 1"));
    let a2 = till.decide(Some(entry_order(&a1)), a.order_id, set_note("A later 2"));
    let a1_twin = till.decide(Some(&a_last), a.order_id, set_note("A twin"));
    let a_again = till.decide(Some(&a_prev), a.order_id, set_note("A again"));
    let a_again_next = till.decide(
        Some(entry_order(&a_again)),
        a.order_id,
        set_note("A again 2"),
    );
    let b1 = till.decide(Some(&b_last), b.order_id, set_note("B later 1"));
    let b2 = till.decide(Some(entry_order(&b1)), b.order_id, set_note("B later 2"));
    let b3 = till.decide(Some(entry_order(&b2)), b.order_id, set_note("B later 3"));
    let b_again = till.decide(Some(&b_prev), b.order_id, set_note("B again"));
    let b_again_next = till.decide(
        Some(entry_order(&b_again)),
        b.order_id,
        set_note("B again 2"),
    );
    let d_id = OrderId(next_uuid());
    let e_id = OrderId(next_uuid());
    let d1 = till.decide(None, d_id, create());
    let d2 = till.decide(Some(entry_order(&d1)), d_id, set_note("D 2"));
    let d3 = till.decide(Some(entry_order(&d2)), d_id, set_note("D 3"));
    let e1 = till.decide(None, e_id, create());
    let fresh_reject = || CommitEntry::Rejected {
        op_id: OpId(next_uuid()),
        order_id: a.order_id,
        reject: Reject::new(RejectCode::Locked, "being paid at Counter 2"),
        at: tick(),
    };
    assert_eq!(entry_order(&a_again).version, a_last.version);
    assert_eq!(entry_order(&b_again).version, b_last.version);

    let (a_at, b_at) = (a_last.version, b_last.version);
    let version_of = |entry: &CommitEntry| entry_order(entry).version;
    // Each batch names the conflict it must meet: the first order, in batch order, whose versions break.
    let refused: Vec<(&str, Vec<CommitEntry>, Conflict)> = vec![
        // (4) The first entry of an order skips a version, or repeats the last one.
        (
            "A's first entry skips a version",
            vec![d1.clone(), b1.clone(), a2.clone(), fresh_reject()],
            version_conflict(a.order_id, a_at, a_at + 2),
        ),
        (
            "B's first entry skips a version",
            vec![a1.clone(), b2.clone(), b3.clone(), d1.clone()],
            version_conflict(b.order_id, b_at, b_at + 2),
        ),
        (
            "A's first entry repeats its last version",
            vec![
                b1.clone(),
                d1.clone(),
                a_again.clone(),
                a_again_next.clone(),
            ],
            version_conflict(a.order_id, a_at, a_at),
        ),
        (
            "B's first entry repeats its last version",
            vec![
                a1.clone(),
                fresh_reject(),
                b_again.clone(),
                b_again_next.clone(),
                d1.clone(),
            ],
            version_conflict(b.order_id, b_at, b_at),
        ),
        // (5) One order's entries are not contiguous within the batch.
        (
            "B skips a version inside the batch",
            vec![
                d1.clone(),
                a1.clone(),
                b1.clone(),
                d2.clone(),
                fresh_reject(),
                b3.clone(),
                e1.clone(),
            ],
            version_conflict(b.order_id, version_of(&b1), version_of(&b3)),
        ),
        (
            "A repeats a version inside the batch",
            vec![a1.clone(), b1.clone(), e1.clone(), a1_twin.clone()],
            version_conflict(a.order_id, version_of(&a1), version_of(&a1_twin)),
        ),
        (
            "new order D skips version 2 inside the batch",
            vec![d1.clone(), a1.clone(), d3.clone(), b1.clone()],
            version_conflict(d_id, 1, 3),
        ),
    ];
    let order_ids = [a.order_id, b.order_id, c.order_id, d_id, e_id];
    for (what, refused_batch, conflict) in &refused {
        let before = snapshot(store, &shop, session_id, &order_ids).await;
        expect_conflict(
            store.commit_batch(refused_batch).await,
            conflict.clone(),
            what,
        );
        let after = snapshot(store, &shop, session_id, &order_ids).await;
        assert_eq!(after, before, "{what}: the refused batch changes nothing");
        assert_eq!(
            (after.orders[3].0.as_ref(), after.orders[4].0.as_ref()),
            (None, None),
            "{what}: no new order was created"
        );
        for entry in refused_batch {
            assert_eq!(
                ok(
                    store.find_op_outcome(entry_op_id(entry)).await,
                    "find an outcome"
                ),
                None,
                "{what}: no op of the refused batch has an answer"
            );
        }
    }

    // The same entries in the right order are taken: each refusal above was for its flaw.
    let later = [
        d1.clone(),
        a1.clone(),
        b1.clone(),
        d2.clone(),
        a2.clone(),
        b2.clone(),
        b3.clone(),
        d3.clone(),
        e1.clone(),
    ];
    ok(
        store.commit_batch(&later).await,
        "the later batch without flaws",
    );
    for (order_id, last, version) in [
        (a.order_id, &a2, a_last.version + 2),
        (b.order_id, &b3, b_last.version + 3),
        (d_id, &d3, 3),
        (e_id, &e1, 1),
    ] {
        assert_eq!(entry_order(last).version, version);
        assert_eq!(
            ok(store.get_order(order_id).await, "get an order"),
            Some(entry_order(last).clone())
        );
        assert_eq!(
            ok(store.order_history(order_id).await, "history")
                .iter()
                .map(|entry| entry.version)
                .collect::<Vec<_>>(),
            (1..=version).collect::<Vec<_>>()
        );
    }
    assert_eq!(
        ok(store.get_order(c.order_id).await, "get C"),
        Some(c_paid),
        "C is untouched"
    );
}

/// Pages of orders, sessions and history: keyset pages in the listing's order
/// (drafts oldest first, paid and cancelled newest first), each starting after
/// the last of the previous one, filtered to what a config may read.
pub async fn pages_of_orders_sessions_and_history<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till_1 = open_till(store, &shop, &shop.counter_1, 0).await;
    let till_2 = open_till(store, &shop, &shop.counter_2, 0).await;
    let d1 = draft(store, &till_1, None, false, &[]).await;
    let d2 = draft(store, &till_2, None, true, &[]).await;
    let d3 = draft(store, &till_2, None, false, &[]).await;
    let d4 = draft(store, &till_1, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let p1 = draft(store, &till_1, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let p2 = draft(store, &till_1, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let p3 = draft(store, &till_2, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let p1 = pay(store, &till_1, &p1, &[(shop.cash.id, 400)], false).await;
    // Made at counter 1, paid at counter 2: both may read it.
    let p2 = pay(store, &till_2, &p2, &[(shop.cash.id, 400)], false).await;
    let p3 = pay(store, &till_2, &p3, &[(shop.cash.id, 400)], false).await;

    let page = |state, after: Option<&Order>, limit, readable_by| OrdersPage {
        state,
        after: after.map(OrderCursor::after),
        limit,
        readable_by,
    };
    let ids = |orders: Vec<Order>| orders.into_iter().map(|order| order.id).collect::<Vec<_>>();
    let list = |page: OrdersPage<'static>| async move {
        ids(ok(store.list_orders_page(&page).await, "a page of orders"))
    };
    assert_eq!(
        list(page(OrderState::Draft, None, 2, None)).await,
        vec![d1.id, d2.id]
    );
    assert_eq!(
        list(page(OrderState::Draft, Some(&d2), 2, None)).await,
        vec![d3.id, d4.id]
    );
    assert_eq!(
        list(page(OrderState::Draft, Some(&d4), 2, None)).await,
        vec![]
    );
    assert_eq!(
        list(page(OrderState::Paid, None, 1000, None)).await,
        vec![p3.id, p2.id, p1.id],
        "paid orders come newest first"
    );
    assert_eq!(
        list(page(OrderState::Paid, Some(&p3), 1, None)).await,
        vec![p2.id]
    );
    assert_eq!(
        list(page(OrderState::Cancelled, None, 10, None)).await,
        vec![]
    );

    let counter_2 = [shop.counter_2.id];
    let linked_1 = ReadableBy {
        config_id: shop.counter_1.id,
        linked: &counter_2,
    };
    let alone_1 = ReadableBy {
        config_id: shop.counter_1.id,
        linked: &[],
    };
    let paid_at_2 = ReadableBy {
        config_id: shop.counter_2.id,
        linked: &[],
    };
    let readable = |state, readable_by| async move {
        ids(ok(
            store
                .list_orders_page(&OrdersPage {
                    state,
                    after: None,
                    limit: 1000,
                    readable_by: Some(readable_by),
                })
                .await,
            "a page of readable orders",
        ))
    };
    assert_eq!(
        readable(OrderState::Draft, linked_1).await,
        vec![d1.id, d2.id, d4.id],
        "its own drafts and the shared drafts of linked counters"
    );
    assert_eq!(
        readable(OrderState::Draft, alone_1).await,
        vec![d1.id, d4.id]
    );
    assert_eq!(
        readable(OrderState::Paid, alone_1).await,
        vec![p2.id, p1.id],
        "what it made"
    );
    assert_eq!(
        readable(OrderState::Paid, paid_at_2).await,
        vec![p3.id, p2.id],
        "what it made or was paid there"
    );
    for (what, order) in [("d1", &d1), ("p2", &p2)] {
        assert!(
            can_read(
                order,
                shop.counter_1.id,
                &SyncLinks::from_pairs([(shop.counter_1.id, shop.counter_2.id)])
            ),
            "{what}: the store's filter agrees with possync_core::can_read"
        );
    }

    // History pages.
    let full = ok(store.order_history(d4.id).await, "history");
    assert_eq!(full.len(), 2);
    assert_eq!(
        ok(store.order_history_page(d4.id, 0, 1).await, "first page"),
        full[..1].to_vec()
    );
    assert_eq!(
        ok(
            store.order_history_page(d4.id, 1, 1000).await,
            "second page"
        ),
        full[1..].to_vec()
    );
    assert_eq!(
        ok(
            store.order_history_page(d4.id, 2, 1000).await,
            "past the end"
        ),
        vec![]
    );

    // Sessions: newest first, by id.
    let newest = ok(store.list_sessions_page(None, 1).await, "newest session");
    assert_eq!(
        newest.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![till_2.by.session_id]
    );
    let older = ok(
        store
            .list_sessions_page(Some(till_2.by.session_id), 1000)
            .await,
        "older sessions",
    );
    assert_eq!(
        older.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![till_1.by.session_id]
    );
}

/// A UUIDv7 stamped `stamp_ms`, its other bits from `n`.
fn v7_stamped(stamp_ms: i64, n: u64) -> Uuid {
    let stamp = u128::try_from(stamp_ms).expect("a stamp after 1970");
    Uuid::from_u128((stamp << 80) | 0x7000_8000_0000_0000_0000 | u128::from(n))
}

/// The newest stored op or order id up to a time stamp: what a starting node
/// needs to tell which recent ids cannot be in the store.
pub async fn newest_id_stamp<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    // Every id the fixtures make carries this stamp.
    let fixture_ms = i64::try_from(next_uuid().as_u128() >> 80).expect("a 48-bit stamp");
    let newest = |at_most_ms: i64| async move {
        ok(
            store.newest_id_stamp_ms(at_most_ms).await,
            "read the newest id",
        )
    };
    assert_eq!(newest(i64::MAX).await, None, "an empty store holds no id");

    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    assert_eq!(newest(fixture_ms - 1).await, None);
    assert_eq!(newest(fixture_ms).await, Some(fixture_ms));

    // An order whose id is stamped later than its ops (created offline, say).
    let order_ms = fixture_ms + 2_000;
    let create = Op::Create {
        config_id: None,
        customer_id: None,
        note: None,
        share: Some(false),
    };
    commit_op(store, &till, None, OrderId(v7_stamped(order_ms, 1)), create).await;
    // Answers to ops stamped before and well after it.
    for op_ms in [fixture_ms + 1_000, fixture_ms + 100_000] {
        ok(
            store
                .commit_batch(&[CommitEntry::Rejected {
                    op_id: OpId(v7_stamped(op_ms, 2)),
                    order_id: OrderId(next_uuid()),
                    reject: Reject::new(RejectCode::NotFound, "no such order"),
                    at: tick(),
                }])
                .await,
            "commit a reject",
        );
    }
    assert_eq!(newest(fixture_ms + 999).await, Some(fixture_ms));
    assert_eq!(newest(fixture_ms + 1_000).await, Some(fixture_ms + 1_000));
    assert_eq!(newest(order_ms).await, Some(order_ms), "order ids count");
    assert_eq!(newest(fixture_ms + 99_999).await, Some(order_ms));
    assert_eq!(
        newest(fixture_ms + 100_000).await,
        Some(fixture_ms + 100_000)
    );
    assert_eq!(newest(i64::MAX).await, Some(fixture_ms + 100_000));

    // An accepted op stamped later than every other id.
    let op_ms = fixture_ms + 200_000;
    let order = draft(store, &till, None, false, &[]).await;
    let CommitEntry::Accepted { order, entry } = till.decide(Some(&order), order.id, Op::Share {})
    else {
        panic!("decide answers an accepted entry");
    };
    let entry = HistoryEntry {
        op_id: OpId(v7_stamped(op_ms, 3)),
        ..entry
    };
    ok(
        store
            .commit_batch(&[CommitEntry::Accepted { order, entry }])
            .await,
        "commit an accepted op",
    );
    assert_eq!(newest(op_ms - 1).await, Some(fixture_ms + 100_000));
    assert_eq!(newest(op_ms).await, Some(op_ms), "accepted op ids count");
    assert_eq!(newest(i64::MAX).await, Some(op_ms));
}
