//! Receipt printers and cash drawers: the background task that prints the
//! queued jobs over raw TCP (ESC/POS, port 9100 by convention), and the
//! ESC/POS encoding of a receipt, made with the `escpos` crate.
//!
//! **A payment never waits for a printer.** The payment's transaction only
//! writes a row in `print_jobs` (so a crash right after the payment loses no
//! receipt); this task picks the rows up, and a printer that is off, slow or
//! unreachable only keeps its own jobs queued. Delivery is *at least once*:
//! raw TCP printing has no acknowledgement, so a job counts as printed once
//! every byte was written and the connection closed cleanly; if the server
//! dies between the write and the row's update, the receipt prints again
//! after the restart. A second copy of a receipt is the safer failure than
//! none; the drawer pulse is never repeated late (see
//! [`possync_core::drawer_pulse_due`]).
//!
//! Each printer's jobs go one at a time, oldest first, under a lease in the
//! store, so several nodes on one PostgreSQL database never print a job twice
//! at once nor out of order. A failed attempt is retried after
//! [`PrintSettings::retry_ms`].

use crate::api::receipts::receipt_from_store;
use crate::clock::Clock;
use escpos::driver::Driver;
use escpos::errors::PrinterError;
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{CashDrawer, JustifyMode, PageCode, Protocol};
use possync_core::*;
use possync_store::{Store, StoreError};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

/// How the print task works. Every duration is in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintSettings {
    /// How often the task looks for new jobs when nothing woke it.
    pub poll_ms: u64,
    /// How long after a failed attempt a printer is tried again (at most 10 s:
    /// PROTOCOL.md asks for a retry at least that often).
    pub retry_ms: u64,
    /// How long connecting to a printer may take.
    pub connect_timeout_ms: u64,
    /// How long writing one job and closing the connection may take.
    pub write_timeout_ms: u64,
    /// How long a taken job stays with this node before another may take it
    /// (longer than an attempt can last).
    pub lease_ms: i64,
}

impl Default for PrintSettings {
    fn default() -> Self {
        PrintSettings {
            poll_ms: 500,
            retry_ms: 5_000,
            connect_timeout_ms: 3_000,
            write_timeout_ms: 10_000,
            lease_ms: 60_000,
        }
    }
}

/// What handlers hold to wake the print task when they queued a job.
#[derive(Debug, Clone, Default)]
pub struct PrintHandle {
    wake: Arc<Notify>,
}

impl PrintHandle {
    /// Asks the task to look at the queues now instead of at its next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts the print task; it ends when `shutdown` is cancelled.
pub fn start_printing(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: PrintSettings,
    shutdown: CancellationToken,
) -> PrintHandle {
    let handle = PrintHandle::default();
    let task = PrintTask {
        store,
        clock,
        settings,
        retry_at: BTreeMap::new(),
    };
    tokio::spawn(task.run(handle.wake.clone(), shutdown));
    handle
}

struct PrintTask {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: PrintSettings,
    /// Printers whose last attempt failed, and when to try them again.
    retry_at: BTreeMap<ConfigId, Instant>,
}

impl PrintTask {
    async fn run(mut self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let poll = Duration::from_millis(self.settings.poll_ms.max(1));
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
            if let Err(error) = self.print_due().await {
                tracing::warn!(%error, "printing: could not read the print queues");
            }
        }
    }

    /// One round: the oldest job of every printer that is due, all printers at once.
    async fn print_due(&mut self) -> Result<(), StoreError> {
        let printers = self.store.queued_printers().await?;
        let now = Instant::now();
        self.retry_at.retain(|_, at| *at > now);
        let mut attempts = Vec::new();
        for (config_id, printer) in printers {
            if self.retry_at.contains_key(&config_id) {
                continue;
            }
            let taken_at = self.clock.now();
            let lease_until = taken_at.plus_millis(self.settings.lease_ms);
            if let Some(job) = self
                .store
                .take_print_job(config_id, taken_at, lease_until)
                .await?
            {
                attempts.push(self.attempt(job, printer));
            }
        }
        for (config_id, printed) in futures_util::future::join_all(attempts).await {
            if printed {
                // More of its jobs may wait: look again at once.
                self.retry_at.remove(&config_id);
            } else {
                let retry = Duration::from_millis(self.settings.retry_ms);
                self.retry_at.insert(config_id, Instant::now() + retry);
            }
        }
        Ok(())
    }

    /// Prints one job and records how it went; answers whether it printed.
    async fn attempt(&self, job: PrintJob, printer: PrinterAddress) -> (ConfigId, bool) {
        let config_id = job.config_id;
        let outcome = match self.job_bytes(&job).await {
            Ok(bytes) => match send(&printer, &bytes, &self.settings).await {
                Ok(()) => PrintOutcome::Printed,
                Err(error) => PrintOutcome::Failed(error),
            },
            Err(outcome) => outcome,
        };
        match &outcome {
            PrintOutcome::Printed => {
                tracing::info!(job = job.id, %config_id, %printer, document = ?job.document, "printing: printed")
            }
            PrintOutcome::Failed(error) => {
                tracing::warn!(job = job.id, %config_id, %printer, %error, attempts = job.attempts, "printing: the printer did not take the job; it stays queued")
            }
            PrintOutcome::Abandoned(error) => {
                tracing::error!(job = job.id, %config_id, %error, "printing: a job cannot be printed and was dropped")
            }
        }
        let printed = matches!(outcome, PrintOutcome::Printed);
        if let Err(error) = self
            .store
            .finish_print_job(&job, &outcome, self.clock.now())
            .await
        {
            // The lease runs out and the job is taken again: printed twice at
            // worst, never lost.
            tracing::warn!(job = job.id, %error, "printing: could not record a print attempt");
        }
        (config_id, printed)
    }

    /// The bytes of a job, or why it cannot be printed now (the store failed:
    /// try again) or ever (its order is gone or not paid: drop it).
    async fn job_bytes(&self, job: &PrintJob) -> Result<Vec<u8>, PrintOutcome> {
        let order_id = match job.document {
            PrintDocument::Order(order_id) => order_id,
            PrintDocument::SessionReport(session_id) => {
                return self.report_bytes(session_id).await;
            }
        };
        let order = match self.store.get_order(order_id).await {
            Ok(Some(order)) if order.state == OrderState::Paid => order,
            Ok(_) => {
                return Err(PrintOutcome::Abandoned(
                    "the order is not a paid order".to_owned(),
                ));
            }
            Err(error) => return Err(PrintOutcome::Failed(error.to_string())),
        };
        let receipt = receipt_from_store(self.store.as_ref(), &order)
            .await
            .map_err(|error| PrintOutcome::Failed(error.to_string()))?;
        let lines = receipt_print_lines(
            &receipt,
            RECEIPT_PRINT_COLUMNS,
            job.kind == PrintKind::Reprint,
        );
        let open_drawer = job.open_drawer && drawer_pulse_due(job.queued_at, self.clock.now());
        escpos_bytes(&lines, open_drawer)
            .map_err(|error| PrintOutcome::Abandoned(format!("ESC/POS encoding failed: {error}")))
    }
}

impl PrintTask {
    /// The bytes of a session's report.
    async fn report_bytes(&self, session_id: SessionId) -> Result<Vec<u8>, PrintOutcome> {
        let report = match self.store.session_report(session_id).await {
            Ok(report) => report,
            Err(StoreError::NotFound(_)) => {
                return Err(PrintOutcome::Abandoned("the session is gone".to_owned()));
            }
            Err(error) => return Err(PrintOutcome::Failed(error.to_string())),
        };
        let failed = |error: StoreError| PrintOutcome::Failed(error.to_string());
        let config_name = match self.store.get_config(report.session.config_id).await {
            Ok(config) => config.name.as_str().to_owned(),
            Err(StoreError::NotFound(_)) => format!("Counter #{}", report.session.config_id),
            Err(error) => return Err(failed(error)),
        };
        let shop = self.store.get_shop().await.map_err(failed)?;
        let lines = session_report_print_lines(&report, &config_name, &shop, RECEIPT_PRINT_COLUMNS);
        escpos_bytes(&lines, false)
            .map_err(|error| PrintOutcome::Abandoned(format!("ESC/POS encoding failed: {error}")))
    }
}

/// Sends `bytes` to the printer and closes the connection, each step bounded.
async fn send(
    printer: &PrinterAddress,
    bytes: &[u8],
    settings: &PrintSettings,
) -> Result<(), String> {
    let connect = TcpStream::connect((printer.host(), printer.port()));
    let mut stream =
        match timeout(Duration::from_millis(settings.connect_timeout_ms), connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return Err(format!("could not connect: {error}")),
            Err(_) => return Err("could not connect: timed out".to_owned()),
        };
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await?;
        stream.shutdown().await
    };
    match timeout(Duration::from_millis(settings.write_timeout_ms), write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(format!("could not send the receipt: {error}")),
        Err(_) => Err("could not send the receipt: timed out".to_owned()),
    }
}

/// An `escpos` driver that keeps the bytes instead of sending them: the
/// printing itself is async, with timeouts, over tokio's TCP.
#[derive(Debug, Clone, Default)]
struct Collect(Arc<Mutex<Vec<u8>>>);

impl Driver for Collect {
    fn name(&self) -> String {
        "collect".to_owned()
    }

    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0
            .lock()
            .map_err(|_| PrinterError::Io("the byte buffer was poisoned".to_owned()))?
            .extend_from_slice(data);
        Ok(())
    }

    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }

    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// The drawer's pulse on pin 2: on for 50 ms, off for 500 ms (`t1`, `t2` of
/// `ESC p m t1 t2`, in 2 ms units). The `escpos` crate writes `ESC p m` alone,
/// and a printer reads the next two bytes as these times; they are written
/// here so that what follows is not swallowed.
const DRAWER_PULSE_TIMES: [u8; 2] = [25, 250];

/// The ESC/POS bytes of a receipt: initialise, code page WPC1252 (Western
/// European with €; the crate's table for page 858 sends an ASCII hyphen as
/// byte 0xF0), the drawer pulse if asked, the lines in their styles, a feed
/// and a full cut.
pub fn escpos_bytes(lines: &[PrintLine], open_drawer: bool) -> escpos::errors::Result<Vec<u8>> {
    let bytes = Collect::default();
    let options = PrinterOptions::new(Some(PageCode::WPC1252), None, RECEIPT_PRINT_COLUMNS as u8);
    let mut printer = Printer::new(bytes.clone(), Protocol::default(), Some(options));
    printer.init()?;
    if open_drawer {
        // First, so the drawer opens while the receipt prints.
        printer.cash_drawer(CashDrawer::Pin2)?;
        printer.custom(&DRAWER_PULSE_TIMES)?;
    }
    for line in lines {
        match line.style {
            PrintStyle::Plain => {
                printer.writeln(&line.text)?;
            }
            PrintStyle::Bold => {
                printer.bold(true)?.writeln(&line.text)?.bold(false)?;
            }
            PrintStyle::Centered => {
                printer
                    .justify(JustifyMode::CENTER)?
                    .writeln(&line.text)?
                    .justify(JustifyMode::LEFT)?;
            }
            PrintStyle::Title => {
                printer
                    .justify(JustifyMode::CENTER)?
                    .bold(true)?
                    .size(1, 2)?
                    .writeln(&line.text)?
                    .reset_size()?
                    .bold(false)?
                    .justify(JustifyMode::LEFT)?;
            }
        }
    }
    printer.feeds(4)?.cut()?.print()?;
    let bytes = bytes
        .0
        .lock()
        .map_err(|_| PrinterError::Io("the byte buffer was poisoned".to_owned()))?
        .clone();
    Ok(bytes)
}
