//! Refunds in the store: a refund draft's `refund_of` is kept, its refunds
//! are listed (cancelled ones left out), and the store refuses a batch whose
//! new refund draft would bring a line back beyond what was sold, counting
//! every refund that is not cancelled, also when two writers race.

use crate::fixtures::*;
use possync_core::*;
use possync_store::{Conflict, Store, StoreError};
use std::sync::Arc;

/// A refund draft of `lines` (line, quantity in thousandths) of `paid`,
/// decided at `till` as the server would (its lines from `refund_lines`,
/// counting no other refund: the store is what is being checked).
fn refund_entry(till: &Till, paid: &Order, lines: &[(LineId, i64)]) -> CommitEntry {
    let requested: Vec<RefundLineRequest> = lines
        .iter()
        .map(|&(line_id, milli)| RefundLineRequest {
            line_id,
            qty: qty(milli),
        })
        .collect();
    let lines = refund_lines(paid, &[], &requested).expect("a refund within what was sold");
    till.decide(
        None,
        OrderId(next_uuid()),
        Op::Refund {
            refund_of: paid.id,
            lines,
        },
    )
}

fn expect_beyond_sold(result: Result<(), StoreError>, paid: &Order, what: &str) {
    match result {
        Err(StoreError::Conflict(Conflict::RefundBeyondSold { order_id, .. })) => {
            assert_eq!(order_id, paid.id, "{what}")
        }
        other => panic!("{what}: expected RefundBeyondSold, got {other:?}"),
    }
}

/// A paid sale of 2 coffees and 1 cake at `till`.
async fn paid_sale<S: Store + ?Sized>(
    store: &S,
    shop: &crate::fixtures::Shop,
    till: &Till,
) -> Order {
    let order = draft(
        store,
        till,
        None,
        false,
        &[(shop.coffee.id, 2_000, 0), (shop.cake.id, 1_000, 0)],
    )
    .await;
    pay(
        store,
        till,
        &order,
        &[(shop.card.id, order.totals.total.minor())],
        false,
    )
    .await
}

pub async fn refunds<S: Store + ?Sized>(store: Arc<S>) {
    let shop = open_shop(&*store).await;
    let till = open_till(&*store, &shop, &shop.counter_1, 0).await;
    let paid = paid_sale(&*store, &shop, &till).await;
    let (coffee, cake) = (paid.lines[0].id, paid.lines[1].id);
    assert_eq!(
        ok(store.refunds_of(paid.id).await, "no refunds yet"),
        vec![]
    );

    // One coffee back: stored with `refund_of`, listed as a refund.
    let first = refund_entry(&till, &paid, &[(coffee, 1_000)]);
    ok(
        store.commit_batch(std::slice::from_ref(&first)).await,
        "a refund within what was sold",
    );
    let first = entry_order(&first).clone();
    let stored = ok(store.get_order(first.id).await, "read the refund").expect("stored");
    assert_eq!(stored.refund_of, Some(paid.id));
    assert_eq!(stored, first);
    assert_eq!(
        ok(store.refunds_of(paid.id).await, "one refund"),
        vec![first.clone()]
    );

    // Two more coffees: the store refuses the batch whole (the cake of the
    // same batch is not written either).
    let too_many = refund_entry(&till, &paid, &[(coffee, 2_000)]);
    let cake_back = refund_entry(&till, &paid, &[(cake, 1_000)]);
    let session_id = till.by.session_id;
    let ids = [
        paid.id,
        first.id,
        entry_order(&too_many).id,
        entry_order(&cake_back).id,
    ];
    let before = snapshot(&*store, &shop, session_id, &ids).await;
    expect_beyond_sold(
        store
            .commit_batch(&[cake_back.clone(), too_many.clone()])
            .await,
        &paid,
        "a second refund of the coffees beyond what was sold",
    );
    assert_eq!(
        snapshot(&*store, &shop, session_id, &ids).await,
        before,
        "the refused batch wrote nothing"
    );
    // Two refunds in one batch that together go beyond: refused as well.
    let second_half = refund_entry(&till, &paid, &[(coffee, 500)]);
    let other_half = refund_entry(&till, &paid, &[(coffee, 501)]);
    expect_beyond_sold(
        store.commit_batch(&[second_half.clone(), other_half]).await,
        &paid,
        "two refunds of one batch beyond what was sold",
    );

    // Cancelling the first refund frees its coffee: two may come back now.
    let cancelled = till.decide(Some(&first), first.id, Op::cancel());
    ok(
        store.commit_batch(std::slice::from_ref(&cancelled)).await,
        "cancel the first refund",
    );
    assert_eq!(ok(store.refunds_of(paid.id).await, "none left"), vec![]);
    ok(
        store.commit_batch(&[too_many, cake_back]).await,
        "the coffees and the cake, once the first refund is cancelled",
    );
    assert_eq!(ok(store.refunds_of(paid.id).await, "two refunds").len(), 2);
}

/// Two writers each adding a refund of every coffee sold at the same moment:
/// one wins, the other's batch is refused and writes nothing.
pub async fn concurrent_refunds_stay_within_what_was_sold<S: Store + ?Sized>(a: Arc<S>, b: Arc<S>) {
    let shop = open_shop(&*a).await;
    let till = open_till(&*a, &shop, &shop.counter_1, 0).await;
    for round in 0..8 {
        let paid = paid_sale(&*a, &shop, &till).await;
        let coffee = paid.lines[0].id;
        let from_a = refund_entry(&till, &paid, &[(coffee, 2_000)]);
        let from_b = refund_entry(&till, &paid, &[(coffee, 2_000)]);
        let (a_clone, b_clone) = (Arc::clone(&a), Arc::clone(&b));
        let (batch_a, batch_b) = (vec![from_a], vec![from_b]);
        let first = tokio::spawn(async move { a_clone.commit_batch(&batch_a).await });
        let second = tokio::spawn(async move { b_clone.commit_batch(&batch_b).await });
        let results = [
            first.await.expect("the first commit ran"),
            second.await.expect("the second commit ran"),
        ];
        let won = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(
            won, 1,
            "round {round}: exactly one refund wins: {results:?}"
        );
        for result in results.into_iter().filter(Result::is_err) {
            match result {
                Err(StoreError::Conflict(Conflict::RefundBeyondSold { order_id, .. })) => {
                    assert_eq!(order_id, paid.id, "round {round}")
                }
                // SQLite's two processes may also find the file busy: still nothing written.
                Err(StoreError::Unavailable(_)) => {}
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(
            ok(a.refunds_of(paid.id).await, "the refunds").len(),
            1,
            "round {round}"
        );
    }
}
