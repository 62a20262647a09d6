//! Receipt printers: the jobs queued for each config's printer, taken one at
//! a time under a lease, and what the last attempt found. The receipt job of
//! a payment is written by the payment's own transaction, on the commit
//! thread (`commit`).

use super::{SqliteStore, commit_tx};
use crate::database_errors::unavailable;
use crate::rows::{PrintJobRow, decode_printer, decode_u64};
use crate::{Conflict, StoreError, StoreResult};
use possync_core::*;
use sqlx::sqlite::SqliteConnection;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// Counts the jobs waiting for a printer (its config id bound).
const QUEUED_JOBS: &str = "SELECT COUNT(*) FROM print_jobs WHERE config_id = ? AND done_at IS NULL";

/// Queues a job (config, order, session, kind, open drawer, queued at bound).
const INSERT_JOB: &str = "INSERT INTO print_jobs (config_id, order_id, session_id, kind, open_drawer, queued_at) \
     VALUES (?, ?, ?, ?, ?, ?)";

/// Jobs waiting for the printer of `config_id`.
async fn queued_jobs(conn: &mut SqliteConnection, config_id: ConfigId) -> StoreResult<u64> {
    let queued: i64 = sqlx::query_scalar(QUEUED_JOBS)
        .bind(config_id.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(unavailable("could not count a printer's queue"))?;
    decode_u64(queued, "queued print jobs")
}

/// Queues the receipt of each newly paid order for the printer of the config
/// that took the payment, inside the payment's transaction on the commit
/// thread: a crash after the commit cannot lose a receipt, and a resent `pay`
/// (which pays nothing) queues nothing. A config without a printer costs one
/// read per batch.
pub(super) fn queue_receipts(
    conn: &rusqlite::Connection,
    newly_paid: &[(&Order, Timestamp)],
) -> StoreResult<()> {
    let mut inputs: BTreeMap<ConfigId, PrintInputs> = BTreeMap::new();
    for (order, at) in newly_paid {
        let Some(config_id) = order.paid_by.as_ref().map(|by| by.config_id) else {
            continue;
        };
        let config_inputs = match inputs.entry(config_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(unknown) => unknown.insert(print_inputs(conn, config_id)?),
        };
        match receipt_print_job(order, config_inputs, *at) {
            ReceiptPrint::NoPrinter => {}
            ReceiptPrint::QueueFull => tracing::warn!(
                %config_id, order_id = %order.id,
                "store: the printer's queue is full; this receipt is not queued (reprint it from the till)"
            ),
            ReceiptPrint::Queue(job) => {
                conn.prepare_cached(INSERT_JOB)
                    .and_then(|mut insert| {
                        insert.execute(rusqlite::params![
                            job.config_id.0,
                            order_of(&job).map(|order_id| order_id.to_string()),
                            session_of(&job).map(|session_id| session_id.0),
                            job.kind.as_str(),
                            job.open_drawer,
                            job.queued_at.unix_millis(),
                        ])
                    })
                    .map_err(unavailable("could not queue a print job"))?;
                config_inputs.queued += 1;
            }
        }
    }
    Ok(())
}

/// What deciding a payment's print job needs: the paying config's printer,
/// which payment methods are cash, and how many jobs wait for the printer.
fn print_inputs(conn: &rusqlite::Connection, config_id: ConfigId) -> StoreResult<PrintInputs> {
    use rusqlite::OptionalExtension;
    let printer: Option<Option<String>> = conn
        .prepare_cached("SELECT printer FROM configs WHERE id = ?")
        .and_then(|mut select| select.query_row([config_id.0], |row| row.get(0)).optional())
        .map_err(unavailable("could not read a config's printer"))?;
    let Some(printer) = decode_printer(printer.flatten())? else {
        return Ok(PrintInputs::default());
    };
    let cash_method_ids: Vec<i64> = conn
        .prepare_cached("SELECT id FROM payment_methods WHERE kind = 'cash'")
        .and_then(|mut select| {
            select
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()
        })
        .map_err(unavailable("could not read the cash payment methods"))?;
    let queued: i64 = conn
        .prepare_cached(QUEUED_JOBS)
        .and_then(|mut count| count.query_row([config_id.0], |row| row.get(0)))
        .map_err(unavailable("could not count a printer's queue"))?;
    Ok(PrintInputs {
        printer: Some(printer),
        cash_method_ids: cash_method_ids.into_iter().map(PaymentMethodId).collect(),
        queued: decode_u64(queued, "queued print jobs")?,
    })
}

fn order_of(job: &PrintJobNew) -> Option<OrderId> {
    match job.document {
        PrintDocument::Order(order_id) => Some(order_id),
        PrintDocument::SessionReport(_) => None,
    }
}

fn session_of(job: &PrintJobNew) -> Option<SessionId> {
    match job.document {
        PrintDocument::SessionReport(session_id) => Some(session_id),
        PrintDocument::Order(_) => None,
    }
}

async fn insert_job(conn: &mut SqliteConnection, job: &PrintJobNew) -> StoreResult<i64> {
    let inserted = sqlx::query(INSERT_JOB)
        .bind(job.config_id.0)
        .bind(order_of(job).map(|order_id| order_id.to_string()))
        .bind(session_of(job).map(|session_id| session_id.0))
        .bind(job.kind.as_str())
        .bind(job.open_drawer)
        .bind(job.queued_at.unix_millis())
        .execute(&mut *conn)
        .await
        .map_err(unavailable("could not queue a print job"))?;
    Ok(inserted.last_insert_rowid())
}

pub(super) async fn queue_print_job(
    store: &SqliteStore,
    job: &PrintJobNew,
) -> StoreResult<PrintJob> {
    let mut tx = store.write_tx().await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM configs WHERE id = ?")
        .bind(job.config_id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable("could not read a config"))?;
    if exists.is_none() {
        return Err(StoreError::NotFound("config"));
    }
    let queued = queued_jobs(&mut tx, job.config_id).await?;
    if queued >= PRINT_JOBS_QUEUED_PER_PRINTER_MAX {
        return Err(Conflict::PrintQueueFull(job.config_id).into());
    }
    let id = insert_job(&mut tx, job).await?;
    commit_tx(tx).await?;
    Ok(PrintJob {
        id,
        config_id: job.config_id,
        document: job.document,
        kind: job.kind,
        open_drawer: job.open_drawer,
        queued_at: job.queued_at,
        attempts: 0,
    })
}

pub(super) async fn queued_printers(
    store: &SqliteStore,
) -> StoreResult<Vec<(ConfigId, PrinterAddress)>> {
    let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT configs.id, configs.printer FROM configs \
         WHERE configs.printer IS NOT NULL \
           AND EXISTS (SELECT 1 FROM print_jobs WHERE print_jobs.config_id = configs.id AND print_jobs.done_at IS NULL) \
         ORDER BY configs.id",
    )
    .fetch_all(&store.reader)
    .await
    .map_err(unavailable("could not list the printers with jobs"))?;
    let mut printers = Vec::with_capacity(rows.len());
    for (config_id, printer) in rows {
        if let Some(printer) = decode_printer(printer)? {
            printers.push((ConfigId(config_id), printer));
        }
    }
    Ok(printers)
}

pub(super) async fn take_print_job(
    store: &SqliteStore,
    config_id: ConfigId,
    now: Timestamp,
    lease_until: Timestamp,
) -> StoreResult<Option<PrintJob>> {
    let mut tx = store.write_tx().await?;
    // Only the oldest job of a printer is ever taken, so a printer's jobs
    // print in order, and one node at a time prints to it.
    let row: Option<PrintJobRow> = sqlx::query_as(
        "UPDATE print_jobs SET leased_until = ?, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM print_jobs WHERE config_id = ? AND done_at IS NULL ORDER BY id LIMIT 1) \
           AND (leased_until IS NULL OR leased_until <= ?) \
         RETURNING id, config_id, order_id, session_id, kind, open_drawer, queued_at, attempts",
    )
    .bind(lease_until.unix_millis())
    .bind(config_id.0)
    .bind(now.unix_millis())
    .fetch_optional(&mut *tx)
    .await
    .map_err(unavailable("could not take a print job"))?;
    commit_tx(tx).await?;
    row.map(PrintJobRow::decode).transpose()
}

pub(super) async fn finish_print_job(
    store: &SqliteStore,
    job: &PrintJob,
    outcome: &PrintOutcome,
    at: Timestamp,
) -> StoreResult<()> {
    let mut tx = store.write_tx().await?;
    let (done, error) = match outcome {
        PrintOutcome::Printed => (Some("printed"), ""),
        PrintOutcome::Failed(error) => (None, error.as_str()),
        PrintOutcome::Abandoned(error) => (Some("abandoned"), error.as_str()),
    };
    sqlx::query(
        "UPDATE print_jobs SET leased_until = NULL, outcome = ?, done_at = ?, last_error = ? WHERE id = ?",
    )
    .bind(done)
    .bind(done.map(|_| at.unix_millis()))
    .bind(error)
    .bind(job.id)
    .execute(&mut *tx)
    .await
    .map_err(unavailable("could not finish a print job"))?;
    if let Some(online) = outcome.printer_online() {
        sqlx::query(
            "INSERT INTO printer_states (config_id, online, checked_at, last_error) VALUES (?, ?, ?, ?) \
             ON CONFLICT (config_id) DO UPDATE SET online = excluded.online, \
                 checked_at = excluded.checked_at, last_error = excluded.last_error",
        )
        .bind(job.config_id.0)
        .bind(online)
        .bind(at.unix_millis())
        .bind(error)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not record a printer's state"))?;
    }
    commit_tx(tx).await
}

pub(super) async fn printer_status(
    store: &SqliteStore,
    config_id: ConfigId,
) -> StoreResult<PrinterStatus> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    let printer: Option<Option<String>> =
        sqlx::query_scalar("SELECT printer FROM configs WHERE id = ?")
            .bind(config_id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(unavailable("could not read a config's printer"))?;
    let Some(printer) = printer else {
        return Err(StoreError::NotFound("config"));
    };
    let printer = decode_printer(printer)?;
    let queued = queued_jobs(&mut conn, config_id).await?;
    let checked: Option<(bool, i64, String)> = sqlx::query_as(
        "SELECT online, checked_at, last_error FROM printer_states WHERE config_id = ?",
    )
    .bind(config_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a printer's state"))?;
    Ok(PrinterStatus::new(
        config_id,
        printer,
        queued,
        checked.map(|(online, checked_at, error)| PrinterCheck {
            online,
            checked_at: Timestamp::from_unix_millis(checked_at),
            last_error: error,
        }),
    ))
}
