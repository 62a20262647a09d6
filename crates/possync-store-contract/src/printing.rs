//! Receipt printers: the job a payment queues in its own transaction, the
//! queue per printer taken one job at a time under a lease, oldest first,
//! what each attempt leaves, and the bound on the queue.

use crate::fixtures::*;
use possync_core::*;
use possync_store::{Conflict, Store};
use std::sync::Arc;

fn printer(text: &str) -> PrinterAddress {
    PrinterAddress::parse(text).expect("a printer address")
}

pub async fn print_queue<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let address = printer("192.0.2.10:9100");
    let counter_1 = ok(
        store
            .update_config(
                shop.counter_1.id,
                &ConfigChanges {
                    printer: Some(Some(address.clone())),
                    ..ConfigChanges::default()
                },
            )
            .await,
        "give counter 1 a printer",
    );
    assert_eq!(counter_1.printer, Some(address.clone()));
    assert_eq!(
        ok(store.get_config(shop.counter_1.id).await, "read it back").printer,
        Some(address.clone())
    );
    let status = ok(store.printer_status(shop.counter_1.id).await, "status");
    assert_eq!((status.state, status.queued), (PrinterState::Unknown, 0));
    assert_eq!(
        ok(store.queued_printers().await, "no queue yet"),
        vec![],
        "a printer without jobs is not listed"
    );

    // A cash payment queues its receipt, asking for the drawer.
    let till = open_till(store, &shop, &counter_1, 0).await;
    let order = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let paid = pay(store, &till, &order, &[(shop.cash.id, 500)], false).await;
    assert_eq!(
        ok(store.queued_printers().await, "the queue"),
        vec![(shop.counter_1.id, address.clone())]
    );
    let now = tick();
    let lease_until = now.plus_millis(60_000);
    let job = ok(
        store
            .take_print_job(shop.counter_1.id, now, lease_until)
            .await,
        "take",
    )
    .expect("the receipt job");
    assert_eq!(
        (job.document, job.kind, job.open_drawer, job.attempts),
        (PrintDocument::Order(paid.id), PrintKind::Receipt, true, 1)
    );
    // Taken: nobody else gets it (nor the next job) until the lease runs out.
    assert_eq!(
        ok(
            store
                .take_print_job(shop.counter_1.id, now, lease_until)
                .await,
            "again"
        ),
        None
    );
    let reprint = ok(
        store
            .queue_print_job(&PrintJobNew {
                config_id: shop.counter_1.id,
                document: PrintDocument::Order(paid.id),
                kind: PrintKind::Reprint,
                open_drawer: false,
                queued_at: tick(),
            })
            .await,
        "queue a reprint",
    );
    assert_eq!(
        ok(
            store
                .take_print_job(shop.counter_1.id, tick(), lease_until)
                .await,
            "behind a taken job"
        ),
        None,
        "a printer's jobs go one at a time"
    );
    // A node that died while printing: its lease runs out and the job is taken again.
    let later = lease_until.plus_millis(1);
    let again = ok(
        store
            .take_print_job(shop.counter_1.id, later, later.plus_millis(60_000))
            .await,
        "take after the lease",
    )
    .expect("the same job");
    assert_eq!((again.id, again.attempts), (job.id, 2));

    ok(
        store
            .finish_print_job(
                &again,
                &PrintOutcome::Failed("connection refused".to_owned()),
                tick(),
            )
            .await,
        "a failed attempt",
    );
    let status = ok(store.printer_status(shop.counter_1.id).await, "status");
    assert_eq!(
        (status.state, status.queued, status.last_error.as_deref()),
        (PrinterState::Offline, 2, Some("connection refused"))
    );
    // A failed job waits at the head of its printer's queue.
    let head = ok(
        store
            .take_print_job(shop.counter_1.id, tick(), later.plus_millis(120_000))
            .await,
        "retry",
    )
    .expect("the receipt again");
    assert_eq!((head.id, head.attempts), (job.id, 3));
    ok(
        store
            .finish_print_job(&head, &PrintOutcome::Printed, tick())
            .await,
        "printed",
    );
    let status = ok(store.printer_status(shop.counter_1.id).await, "status");
    assert_eq!(
        (status.state, status.queued, status.last_error),
        (PrinterState::Online, 1, None)
    );
    let next = ok(
        store
            .take_print_job(shop.counter_1.id, tick(), later.plus_millis(120_000))
            .await,
        "the reprint",
    )
    .expect("the reprint job");
    assert_eq!(
        (next.id, next.kind, next.open_drawer),
        (reprint.id, PrintKind::Reprint, false)
    );
    ok(
        store
            .finish_print_job(&next, &PrintOutcome::Abandoned("gone".to_owned()), tick())
            .await,
        "abandoned",
    );
    let status = ok(store.printer_status(shop.counter_1.id).await, "status");
    assert_eq!(
        (status.state, status.queued),
        (PrinterState::Online, 0),
        "an abandoned job says nothing of the printer"
    );
    assert_eq!(ok(store.queued_printers().await, "empty"), vec![]);

    // A card-only payment leaves the drawer shut; a counter without a printer queues nothing.
    let order = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    pay(store, &till, &order, &[(shop.card.id, 400)], false).await;
    let card_job = ok(
        store
            .take_print_job(shop.counter_1.id, tick(), later.plus_millis(180_000))
            .await,
        "the card receipt",
    )
    .expect("queued");
    assert!(!card_job.open_drawer, "no drawer for a card payment");
    ok(
        store
            .finish_print_job(&card_job, &PrintOutcome::Printed, tick())
            .await,
        "printed",
    );
    let till_2 = open_till(store, &shop, &shop.counter_2, 0).await;
    let order = draft(store, &till_2, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    pay(store, &till_2, &order, &[(shop.cash.id, 400)], false).await;
    let status = ok(store.printer_status(shop.counter_2.id).await, "status 2");
    assert_eq!((status.state, status.queued), (PrinterState::None, 0));

    // The queue is bounded: reprints are refused past it, and a payment still
    // goes through without queuing its receipt.
    for _ in 0..PRINT_JOBS_QUEUED_PER_PRINTER_MAX {
        ok(
            store
                .queue_print_job(&PrintJobNew {
                    config_id: shop.counter_1.id,
                    document: PrintDocument::Order(paid.id),
                    kind: PrintKind::Reprint,
                    open_drawer: false,
                    queued_at: tick(),
                })
                .await,
            "fill the queue",
        );
    }
    expect_conflict(
        store
            .queue_print_job(&PrintJobNew {
                config_id: shop.counter_1.id,
                document: PrintDocument::Order(paid.id),
                kind: PrintKind::Reprint,
                open_drawer: false,
                queued_at: tick(),
            })
            .await,
        Conflict::PrintQueueFull(shop.counter_1.id),
        "one past the bound",
    );
    let order = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let paid_anyway = pay(store, &till, &order, &[(shop.cash.id, 400)], false).await;
    assert_eq!(paid_anyway.state, OrderState::Paid);
    assert_eq!(
        ok(store.printer_status(shop.counter_1.id).await, "full").queued,
        PRINT_JOBS_QUEUED_PER_PRINTER_MAX
    );

    // Removing the printer takes the counter out of the queues.
    ok(
        store
            .update_config(
                shop.counter_1.id,
                &ConfigChanges {
                    printer: Some(None),
                    ..ConfigChanges::default()
                },
            )
            .await,
        "remove the printer",
    );
    assert_eq!(ok(store.queued_printers().await, "no printer"), vec![]);
    let status = ok(store.printer_status(shop.counter_1.id).await, "status");
    assert_eq!(status.state, PrinterState::None);
    // A session's report is a job too, with the session instead of an order.
    let report_job = ok(
        store
            .queue_print_job(&PrintJobNew::session_report(
                shop.counter_2.id,
                till_2.by.session_id,
                tick(),
            ))
            .await,
        "queue a session report",
    );
    let taken = ok(
        store
            .take_print_job(shop.counter_2.id, tick(), later.plus_millis(600_000))
            .await,
        "take the report",
    )
    .expect("the report job");
    assert_eq!(
        (taken.id, taken.document, taken.kind, taken.open_drawer),
        (
            report_job.id,
            PrintDocument::SessionReport(till_2.by.session_id),
            PrintKind::SessionReport,
            false
        )
    );
    expect_not_found(
        store.printer_status(ConfigId(999_999)).await,
        "config",
        "status of an unknown config",
    );
}
