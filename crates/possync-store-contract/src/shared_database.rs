//! Two writers on one database: what holds when several processes (SQLite
//! files opened twice) or several server nodes (PostgreSQL) commit at once.
//!
//! Each behaviour takes two stores on the same, empty database. The races
//! are real: the two commits are spawned together, many rounds over, and the
//! checks hold whichever wins each round.

use crate::fixtures::*;
use possync_core::*;
use possync_store::{CommitEntry, Conflict, OpOutcome, Store, StoreError, StoreResult, UserEdit};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Rounds of each race: enough to see both orders of arrival.
const ROUNDS: usize = 12;

/// Commits `first` through `a` and `second` through `b` at the same time.
async fn race<S: Store + ?Sized>(
    a: &Arc<S>,
    b: &Arc<S>,
    first: Vec<CommitEntry>,
    second: Vec<CommitEntry>,
) -> (StoreResult<()>, StoreResult<()>) {
    let (a, b) = (Arc::clone(a), Arc::clone(b));
    let first = tokio::spawn(async move { a.commit_batch(&first).await });
    let second = tokio::spawn(async move { b.commit_batch(&second).await });
    (
        first.await.expect("the first commit task ran"),
        second.await.expect("the second commit task ran"),
    )
}

/// Two writers moving one order on from the same version: exactly one wins,
/// the other is told the order moved and writes nothing.
pub async fn racing_commits_have_one_winner<S: Store + ?Sized>(a: Arc<S>, b: Arc<S>) {
    let shop = open_shop(&*a).await;
    let till = open_till(&*a, &shop, &shop.counter_1, 0).await;
    let mut order = draft(&*a, &till, None, true, &[]).await;
    for round in 0..ROUNDS {
        let from_a = till.decide(
            Some(&order),
            order.id,
            Op::SetNote {
                note: note("from a"),
            },
        );
        let from_b = till.decide(
            Some(&order),
            order.id,
            Op::SetNote {
                note: note("from b"),
            },
        );
        let next = order.version + 1;
        let (result_a, result_b) = race(&a, &b, vec![from_a.clone()], vec![from_b.clone()]).await;
        let winner = match (&result_a, &result_b) {
            (Ok(()), Err(StoreError::Conflict(conflict))) => {
                assert_eq!(
                    *conflict,
                    version_conflict(order.id, next, next),
                    "round {round}"
                );
                from_a
            }
            (Err(StoreError::Conflict(conflict)), Ok(())) => {
                assert_eq!(
                    *conflict,
                    version_conflict(order.id, next, next),
                    "round {round}"
                );
                from_b
            }
            other => panic!("round {round}: expected one winner and one conflict, got {other:?}"),
        };
        order = entry_order(&winner).clone();
        assert_eq!(
            ok(a.get_order(order.id).await, "get the order"),
            Some(order.clone())
        );
        let history = ok(b.order_history(order.id).await, "history");
        assert_eq!(
            history
                .iter()
                .map(|entry| entry.version)
                .collect::<Vec<_>>(),
            (1..=next).collect::<Vec<_>>(),
            "round {round}: one op per version, no gap"
        );
        assert_eq!(
            history.last().map(|entry| entry.op_id),
            Some(entry_op_id(&winner))
        );
    }
}

/// The same op sent to two writers (a terminal resending to another node)
/// takes effect once; an op id reused on another order is refused.
pub async fn one_op_on_two_writers_applies_once<S: Store + ?Sized>(a: Arc<S>, b: Arc<S>) {
    let shop = open_shop(&*a).await;
    let till = open_till(&*a, &shop, &shop.counter_1, 0).await;
    let mut order = draft(&*a, &till, None, true, &[]).await;
    for round in 0..ROUNDS {
        let entry = till.decide(
            Some(&order),
            order.id,
            Op::SetNote {
                note: note("twice"),
            },
        );
        let (result_a, result_b) = race(&a, &b, vec![entry.clone()], vec![entry.clone()]).await;
        let loser = match (&result_a, &result_b) {
            (Ok(()), Err(StoreError::Conflict(conflict)))
            | (Err(StoreError::Conflict(conflict)), Ok(())) => conflict.clone(),
            other => panic!("round {round}: expected one commit and one refusal, got {other:?}"),
        };
        assert!(
            matches!(loser, Conflict::OrderVersion { .. } | Conflict::OpAnswered),
            "round {round}: {loser:?}"
        );
        order = entry_order(&entry).clone();
        let op_id = entry_op_id(&entry);
        let applied = ok(a.order_history(order.id).await, "history")
            .iter()
            .filter(|history_entry| history_entry.op_id == op_id)
            .count();
        assert_eq!(applied, 1, "round {round}: the op is in the history once");
        assert_eq!(
            ok(b.find_op_outcome(op_id).await, "find the outcome"),
            Some(OpOutcome::Accepted {
                order_id: order.id,
                version: order.version
            })
        );
    }

    // The same op id on another order, through the other writer: one effect ever.
    let other = draft(&*b, &till, None, true, &[]).await;
    let CommitEntry::Accepted {
        order: moved,
        entry,
    } = till.decide(
        Some(&other),
        other.id,
        Op::SetNote {
            note: note("reused"),
        },
    )
    else {
        panic!("decide answers an accepted entry");
    };
    let reused = CommitEntry::Accepted {
        order: moved,
        entry: possync_store::HistoryEntry {
            approved_by: None,
            op_id: ok(a.order_history(order.id).await, "history")[1].op_id,
            ..entry
        },
    };
    expect_conflict(
        b.commit_batch(&[reused]).await,
        Conflict::OpAnswered,
        "an op id reused on another order",
    );
    assert_eq!(
        ok(a.get_order(other.id).await, "get the other order"),
        Some(other)
    );
}

/// Payments asking for invoices through two writers at once get numbers 1..n,
/// each once; stock moves from both add up; a refused batch takes no number.
pub async fn concurrent_payments_keep_numbers_and_stock<S: Store + ?Sized>(a: Arc<S>, b: Arc<S>) {
    let shop = open_shop(&*a).await;
    let till_1 = open_till(&*a, &shop, &shop.counter_1, 0).await;
    let till_2 = open_till(&*b, &shop, &shop.counter_2, 0).await;
    let on_hand_before = ok(a.get_product(shop.coffee.id).await, "get coffee").on_hand;
    let mut paid_orders = BTreeSet::new();
    for round in 0..ROUNDS {
        let order_1 = draft(
            &*a,
            &till_1,
            Some(shop.customer.id),
            false,
            &[(shop.coffee.id, 1_000, 0)],
        )
        .await;
        let order_2 = draft(
            &*b,
            &till_2,
            Some(shop.customer.id),
            false,
            &[(shop.coffee.id, 1_000, 0)],
        )
        .await;
        let pay_op = |order: &Order| Op::Pay {
            payments: vec![PaymentInput {
                method_id: shop.card.id,
                amount: order.totals.total,
            }],
            expected_total: order.totals.total,
            invoice: Some(true),
        };
        let paying_1 = till_1.decide(Some(&order_1), order_1.id, pay_op(&order_1));
        let paying_2 = till_2.decide(Some(&order_2), order_2.id, pay_op(&order_2));
        // Every third round, the first writer's batch also carries a stale op
        // and is refused whole: its payment must not take an invoice number.
        let refused = round % 3 == 2;
        let mut batch_1 = vec![paying_1];
        if refused {
            let stale = till_1.decide(
                None,
                order_2.id,
                Op::Create {
                    config_id: None,
                    customer_id: None,
                    note: None,
                    share: None,
                },
            );
            batch_1.push(stale);
        }
        let (result_1, result_2) = race(&a, &b, batch_1, vec![paying_2]).await;
        if refused {
            assert!(
                matches!(
                    result_1,
                    Err(StoreError::Conflict(Conflict::OrderVersion { .. }))
                ),
                "round {round}: {result_1:?}"
            );
        } else {
            ok(result_1, "pay at counter 1");
            paid_orders.insert(order_1.id);
        }
        ok(result_2, "pay at counter 2");
        paid_orders.insert(order_2.id);
    }
    let invoices = ok(a.list_invoices().await, "list invoices");
    assert_eq!(
        invoices
            .iter()
            .map(|invoice| invoice.number)
            .collect::<Vec<_>>(),
        (1..=paid_orders.len() as u64).collect::<Vec<_>>(),
        "invoice numbers run from 1 without a gap or a repeat"
    );
    assert_eq!(
        invoices
            .iter()
            .map(|invoice| invoice.order_id)
            .collect::<BTreeSet<_>>(),
        paid_orders,
        "one invoice per paid order"
    );
    let moved = i64::try_from(paid_orders.len()).expect("a small count") * 1_000;
    assert_eq!(
        ok(b.get_product(shop.coffee.id).await, "get coffee").on_hand,
        qty(on_hand_before.milli() - moved),
        "every sale moved the stock once, none was lost"
    );
    assert_eq!(
        ok(b.list_stock_moves(shop.coffee.id).await, "coffee moves").len(),
        paid_orders.len()
    );
}

/// Two managers demoting each other through two writers: one stays manager.
pub async fn the_last_manager_survives_concurrent_demotions<S: Store + ?Sized>(
    a: Arc<S>,
    b: Arc<S>,
) {
    let mut survivor = ok(
        a.create_user(&login("first"), &name("First"), Role::Manager, "hash", &[])
            .await,
        "create a manager",
    );
    for round in 0..ROUNDS {
        // Before each race the shop has exactly two managers: the survivor of
        // the last round and a new one.
        let newcomer = ok(
            b.create_user(
                &login(&format!("manager{round}")),
                &name("Newcomer"),
                Role::Manager,
                "hash",
                &[],
            )
            .await,
            "create a manager",
        );
        let (a_task, b_task) = (Arc::clone(&a), Arc::clone(&b));
        let (survivor_id, newcomer_id) = (survivor.id, newcomer.id);
        let demote_survivor = tokio::spawn(async move {
            a_task
                .update_user(
                    survivor_id,
                    &UserEdit {
                        role: Some(Role::Cashier),
                        ..UserEdit::default()
                    },
                )
                .await
        });
        let demote_newcomer = tokio::spawn(async move {
            b_task
                .update_user(
                    newcomer_id,
                    &UserEdit {
                        role: Some(Role::Cashier),
                        ..UserEdit::default()
                    },
                )
                .await
        });
        let results = [
            demote_survivor.await.expect("a demotion task ran"),
            demote_newcomer.await.expect("a demotion task ran"),
        ];
        let managers: Vec<User> = ok(a.list_users().await, "list users")
            .into_iter()
            .filter(|user| user.role == Role::Manager)
            .collect();
        assert_eq!(
            managers.len(),
            1,
            "round {round}: one manager is left: {results:?}"
        );
        let refused = results
            .iter()
            .filter(|result| matches!(result, Err(StoreError::Conflict(Conflict::LastManager))))
            .count();
        assert_eq!(refused, 1, "round {round}: {results:?}");
        survivor = managers[0].clone();
    }
}

/// Openers of one config on two writers at once share one session.
pub async fn one_session_per_config_across_writers<S: Store + ?Sized>(a: Arc<S>, b: Arc<S>) {
    let shop = open_shop(&*a).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = if i % 2 == 0 {
            Arc::clone(&a)
        } else {
            Arc::clone(&b)
        };
        let (config_id, user_id) = (shop.counter_2.id, shop.manager.id);
        tasks.push(tokio::spawn(async move {
            store
                .open_or_join_session(config_id, user_id, Money::ZERO, tick())
                .await
        }));
    }
    let mut opened = Vec::new();
    for task in tasks {
        opened.push(ok(task.await.expect("an open task ran"), "open or join"));
    }
    let session_ids: BTreeSet<SessionId> = opened.iter().map(|(session, _)| session.id).collect();
    assert_eq!(session_ids.len(), 1, "{opened:?}");
    assert_eq!(
        opened.iter().filter(|(_, joined)| !joined).count(),
        1,
        "{opened:?}"
    );
}

/// A session closes atomically with respect to its ops, also when the close
/// and an op of the session go through two writers (two nodes) at once: the
/// op either commits before the close, and the close's report counts it, or
/// it is refused [`Conflict::SessionClosed`] and writes nothing. After the
/// close, an op of the session is always refused.
pub async fn a_session_close_and_its_ops_take_turns<S: Store + ?Sized>(a: Arc<S>, b: Arc<S>) {
    let shop = open_shop(&*a).await;
    for round in 0..ROUNDS {
        let till = open_till(&*a, &shop, &shop.counter_1, 0).await;
        let session_id = till.by.session_id;
        let order = draft(&*a, &till, None, false, &[(shop.coffee.id, 1_000, 0)]).await;
        let paying = till.decide(
            Some(&order),
            order.id,
            Op::Pay {
                payments: vec![PaymentInput {
                    method_id: shop.card.id,
                    amount: order.totals.total,
                }],
                expected_total: order.totals.total,
                invoice: Some(false),
            },
        );
        let (closer, payer) = (Arc::clone(&a), Arc::clone(&b));
        let close =
            tokio::spawn(async move { closer.close_session(session_id, None, tick()).await });
        let commit = tokio::spawn(async move { payer.commit_batch(&[paying]).await });
        let report = ok(
            close.await.expect("the close task ran"),
            "close the session",
        );
        let committed = commit.await.expect("the commit task ran");
        let stored = ok(b.get_order(order.id).await, "get the order").expect("the order exists");
        match committed {
            Ok(()) => {
                assert_eq!(stored.state, OrderState::Paid, "round {round}");
                assert_eq!(
                    (report.orders_paid, report.sales_total),
                    (1, order.totals.total),
                    "round {round}: committed before the close, so in its report"
                );
            }
            Err(StoreError::Conflict(Conflict::SessionClosed(closed))) => {
                assert_eq!(closed, session_id, "round {round}");
                assert_eq!(stored, order, "round {round}: nothing of the batch written");
                assert_eq!(report.orders_paid, 0, "round {round}");
            }
            other => panic!("round {round}: expected a commit or a refusal, got {other:?}"),
        }
        if stored.state == OrderState::Draft {
            // Once closed, the session's ops are refused, on either writer.
            let late = till.decide(Some(&stored), order.id, Op::SetNote { note: note("late") });
            expect_conflict(
                b.commit_batch(std::slice::from_ref(&late)).await,
                Conflict::SessionClosed(session_id),
                "an op of a closed session",
            );
            assert_eq!(
                ok(a.get_order(order.id).await, "get the order"),
                Some(stored),
                "round {round}"
            );
        }
    }
    // Closed through one writer, then an op through the other: refused.
    let till = open_till(&*a, &shop, &shop.counter_2, 0).await;
    let order = draft(&*b, &till, None, false, &[]).await;
    ok(
        a.close_session(till.by.session_id, None, tick()).await,
        "close the session",
    );
    let late = till.decide(Some(&order), order.id, Op::SetNote { note: note("late") });
    expect_conflict(
        b.commit_batch(std::slice::from_ref(&late)).await,
        Conflict::SessionClosed(till.by.session_id),
        "an op of a session closed through the other writer",
    );
    assert_eq!(
        ok(b.get_order(order.id).await, "get the order"),
        Some(order)
    );
}
