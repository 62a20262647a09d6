//! Receipts and the receipt printer at the till (issue 12, points 1 and 2): the
//! manager names Counter 2's printer in the back office; the printer is off, so
//! two cash sales go through and the top bar says "Printer offline, 2 queued";
//! the printer comes on and prints both; the till's Paid screen lists the
//! session's receipts by number, shows one as the server prints it, and Reprint
//! sends a copy marked REPRINT; closing the session prints its report there
//! too. The printer is a loopback TCP listener that keeps every job's bytes.

use crate::chrome::free_port;
use crate::shop::{Shop, run};
use crate::till::{Till, js_str};
use futures_util::FutureExt;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const TEST_NAME: &str = "printing";
/// The printer task retries every 5 s and the till reads its printer every 10 s.
const PRINTER_WAIT: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_till_lists_its_receipts_reprints_them_and_says_when_the_printer_is_off() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

/// A receipt printer on a loopback port: each connection is a job.
struct Printer {
    jobs: mpsc::UnboundedReceiver<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Printer {
    async fn start(port: u16) -> Printer {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let (sender, jobs) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut bytes = Vec::new();
                if socket.read_to_end(&mut bytes).await.is_ok() {
                    // ESC/POS commands and WPC1252 text: the ASCII of it is enough here.
                    let _ = sender.send(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        });
        Printer { jobs, task }
    }

    async fn next_job(&mut self) -> String {
        tokio::time::timeout(PRINTER_WAIT, self.jobs.recv())
            .await
            .expect("the printer received nothing in time")
            .expect("the printer stopped")
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One espresso on a new order, paid in cash (exact); answers the order id once the receipt shows.
async fn sell_espresso_in_cash(till: &Till) -> String {
    till.tap_product("Espresso").await;
    till.wait_lines(&[("Espresso", "1")]).await;
    let order_id = till.current_order_id().await;
    till.click_tid("pay-button").await;
    till.click(r#"[data-testid="payment-method"][data-kind="cash"]"#)
        .await;
    till.wait_text("payment-line-amount", "2.20").await;
    till.click_tid("payment-validate").await;
    till.wait(
        "the receipt",
        &format!(
            "!!$('receipt') && $('receipt').dataset.orderId === {}",
            js_str(&order_id)
        ),
    )
    .await;
    order_id
}

async fn story(shop: &Shop) {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let till = shop.till("admin", "admin", "Counter 2").await;

    // The back office names the printer (it is switched off for now).
    till.click_tid("menu-button").await;
    till.click_tid("menu-backoffice").await;
    till.wait("the counters", "$$('bo-row').length >= 3").await;
    till.eval("$$('bo-row').find((r) => txt(r).startsWith('Counter 2')).click()")
        .await;
    till.wait("Counter 2's form", "!!$('bo-field-printer')")
        .await;
    till.type_into("bo-field-printer", &address).await;
    till.shot("printer-field").await;
    till.click_tid("bo-save").await;
    till.wait(
        "the printer in the list",
        &format!(
            "$$('bo-row').some((r) => txt(r).startsWith('Counter 2') && txt(r.querySelector('[data-col=\"printer\"]')) === {})",
            js_str(&address)
        ),
    )
    .await;
    till.shot("printer-listed").await;
    till.eval("location.hash = '#/pos'").await;
    till.wait_live().await;

    // Two sales while the printer is off: both paid, both queued.
    let first = sell_espresso_in_cash(&till).await;
    till.wait_text("receipt-number", "Receipt Counter 2/0001")
        .await;
    till.click_tid("receipt-new-order").await;
    sell_espresso_in_cash(&till).await;
    till.wait_text("receipt-number", "Receipt Counter 2/0002")
        .await;
    till.wait_for(
        "the top bar to say the printer is off with both receipts queued",
        "!$('printer-state').hidden && txt($('printer-state')) === 'Printer offline, 2 queued'",
        PRINTER_WAIT,
    )
    .await;
    till.shot_both("printer-offline-2-queued").await;

    // The printer comes on: the queue prints in order and the warning goes.
    let mut printer = Printer::start(port).await;
    let job = printer.next_job().await;
    assert!(job.contains("Receipt Counter 2/0001"), "{job}");
    let job = printer.next_job().await;
    assert!(job.contains("Receipt Counter 2/0002"), "{job}");
    till.wait_for(
        "the printer warning to go",
        "$('printer-state').hidden && $('printer-state').dataset.state === 'online'",
        PRINTER_WAIT,
    )
    .await;

    // The session's receipts, newest first; one shown as the server prints it.
    till.click_tid("paid-button").await;
    till.wait(
        "both receipts listed by number",
        "$$('paid-row').map((r) => txt($('paid-number', r))).join(', ') === 'Counter 2/0002, Counter 2/0001'",
    )
    .await;
    till.shot_both("paid-list").await;
    till.eval(&format!(
        "document.querySelector('[data-testid=\"paid-row\"][data-order-id=\"{first}\"]').click()"
    ))
    .await;
    till.wait(
        "the receipt's HTML in the frame",
        "(() => { const f = $('paid-receipt-frame'); const d = f && f.contentDocument; return !!d && !!d.body && d.body.innerText.includes('Receipt Counter 2/0001') && d.body.innerText.includes('Paid at Counter 2'); })()",
    )
    .await;
    till.shot("receipt-view").await;

    till.click_tid("paid-reprint").await;
    let copy = printer.next_job().await;
    assert!(copy.contains("*** REPRINT ***"), "{copy}");
    assert!(copy.contains("Receipt Counter 2/0001"), "{copy}");
    assert!(
        !copy.contains("\u{1b}p"),
        "a reprint never opens the drawer"
    );
    till.shot("reprinted").await;

    // Closing the session: the report goes to the receipt printer too.
    till.click_tid("paid-back").await;
    till.click_tid("menu-button").await;
    till.click_tid("menu-close-session").await;
    till.type_into("counted-cash", "4.40").await;
    till.click_tid("close-session-confirm").await;
    till.wait("the session report", "!!$('session-report-dialog')")
        .await;
    till.click_tid("report-print-printer").await;
    let report = printer.next_job().await;
    assert!(report.contains("SESSION REPORT"), "{report}");
    assert!(
        report.contains("Cash drawer") && report.contains("Expected"),
        "{report}"
    );
    assert!(
        !report.contains("\u{1b}p"),
        "a report never opens the drawer"
    );
    till.shot("session-report-sent-to-printer").await;
    till.click_tid("report-done").await;
}
