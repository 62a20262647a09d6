//! Receipt printers and cash drawers (PROTOCOL.md "After payment"): where a
//! config's printer is ([`PrinterAddress`]), when a payment opens the drawer,
//! and what a printed receipt says, line by line, on paper `width` characters
//! wide ([`receipt_print_lines`]). The server turns the lines into ESC/POS and
//! sends them over TCP; nothing here does I/O.

use crate::ids::{ConfigId, OrderId, PaymentMethodId, SessionId};
use crate::numbers::{Discount, Money};
use crate::order::{Order, OrderState, Payment};
use crate::receipt::{Receipt, Shop};
use crate::report::SessionReport;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The longest `host:port` accepted: a DNS name (253), brackets, a colon and five digits.
pub const PRINTER_ADDRESS_CHARS_MAX: usize = 262;

/// Jobs waiting for one printer at most. A printer that stays off cannot make
/// the queue grow without bound; past this, a payment still succeeds and its
/// receipt can be printed again from the till once the printer is back.
pub const PRINT_JOBS_QUEUED_PER_PRINTER_MAX: u64 = 100;

/// A queued receipt opens the cash drawer only if it prints within this long
/// after it was queued. A printer that comes back after an outage prints the
/// receipts it missed, but never springs a drawer open at an unattended till.
pub const DRAWER_PULSE_LATE_MS: i64 = 120_000;

/// Characters per line of an 80 mm receipt printer in its default font.
pub const RECEIPT_PRINT_COLUMNS: usize = 42;

/// Where a network receipt printer listens for raw ESC/POS: `host:port`, the
/// host a DNS name, an IPv4 address or a bracketed IPv6 address (`[::1]:9100`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PrinterAddress {
    host: String,
    port: u16,
}

/// Why a text is not a printer address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a printer address (\"host:port\", e.g. \"192.168.1.50:9100\"): {0}")]
pub struct InvalidPrinterAddress(&'static str);

impl PrinterAddress {
    pub fn parse(text: &str) -> Result<PrinterAddress, InvalidPrinterAddress> {
        let fail = |why| Err(InvalidPrinterAddress(why));
        if text.chars().count() > PRINTER_ADDRESS_CHARS_MAX {
            return fail("too long");
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let Some((host, port)) = rest.split_once("]:") else {
                return fail("an IPv6 address is written [address]:port");
            };
            if !is_ipv6_address(host) {
                return fail("not an IPv6 address between the brackets");
            }
            (host, port)
        } else {
            let Some((host, port)) = text.rsplit_once(':') else {
                return fail("no port");
            };
            if !is_host_name(host) {
                return fail("the host is not a name or an IPv4 address");
            }
            (host, port)
        };
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return fail("the port is not a number");
        }
        match port.parse::<u16>() {
            Ok(port) if port > 0 => Ok(PrinterAddress {
                host: host.to_ascii_lowercase(),
                port,
            }),
            _ => fail("the port is not between 1 and 65535"),
        }
    }

    /// The host, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

/// A DNS name or an IPv4 address: dot-separated labels of letters, digits and
/// hyphens, each 1 to 63 long and not starting or ending with a hyphen.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// An IPv6 address in hex groups (`fe80::1`, `2001:db8:0:0:0:0:0:1`). Written
/// here rather than with the standard library's network types, which the core never uses.
fn is_ipv6_address(host: &str) -> bool {
    let is_group = |group: &str| {
        (1..=4).contains(&group.len()) && group.bytes().all(|b| b.is_ascii_hexdigit())
    };
    let groups = |part: &str| -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let groups: Vec<&str> = part.split(':').collect();
        groups
            .iter()
            .all(|group| is_group(group))
            .then_some(groups.len())
    };
    match host.split_once("::") {
        Some((head, tail)) => match (groups(head), groups(tail)) {
            (Some(head), Some(tail)) => head + tail < 8,
            _ => false,
        },
        None => groups(host) == Some(8),
    }
}

impl fmt::Display for PrinterAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl TryFrom<String> for PrinterAddress {
    type Error = InvalidPrinterAddress;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        PrinterAddress::parse(&text)
    }
}

impl From<PrinterAddress> for String {
    fn from(address: PrinterAddress) -> String {
        address.to_string()
    }
}

/// Whether a payment opens the cash drawer: it moved cash, in or out (a cash
/// refund pays out of the drawer too). A card-only payment leaves it shut.
pub fn payment_opens_drawer(
    payments: &[Payment],
    cash_method_ids: &BTreeSet<PaymentMethodId>,
) -> bool {
    payments.iter().any(|payment| {
        payment.amount != Money::ZERO && cash_method_ids.contains(&payment.method_id)
    })
}

/// Whether a job queued at `queued_at` that asked for the drawer still opens
/// it when it prints at `now` (see [`DRAWER_PULSE_LATE_MS`]).
pub fn drawer_pulse_due(queued_at: Timestamp, now: Timestamp) -> bool {
    now.unix_millis().saturating_sub(queued_at.unix_millis()) <= DRAWER_PULSE_LATE_MS
}

/// Why a job was queued: the receipt of a payment (which may open the
/// drawer), a copy of it asked for later, or a session's report (neither of
/// which ever does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintKind {
    Receipt,
    Reprint,
    SessionReport,
}

impl PrintKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrintKind::Receipt => "receipt",
            PrintKind::Reprint => "reprint",
            PrintKind::SessionReport => "session_report",
        }
    }

    pub fn parse(text: &str) -> Option<PrintKind> {
        match text {
            "receipt" => Some(PrintKind::Receipt),
            "reprint" => Some(PrintKind::Reprint),
            "session_report" => Some(PrintKind::SessionReport),
            _ => None,
        }
    }
}

/// What a job prints: a paid order's receipt, or a session's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintDocument {
    Order(OrderId),
    SessionReport(SessionId),
}

/// A job to queue for a config's printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJobNew {
    pub config_id: ConfigId,
    pub document: PrintDocument,
    pub kind: PrintKind,
    pub open_drawer: bool,
    pub queued_at: Timestamp,
}

impl PrintJobNew {
    /// A session's report for the printer of the session's config.
    pub fn session_report(config_id: ConfigId, session_id: SessionId, at: Timestamp) -> Self {
        PrintJobNew {
            config_id,
            document: PrintDocument::SessionReport(session_id),
            kind: PrintKind::SessionReport,
            open_drawer: false,
            queued_at: at,
        }
    }
}

/// A queued job, as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrintJob {
    pub id: i64,
    pub config_id: ConfigId,
    pub document: PrintDocument,
    pub kind: PrintKind,
    pub open_drawer: bool,
    pub queued_at: Timestamp,
    /// Attempts so far, the current one included.
    pub attempts: u32,
}

/// How one attempt at a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintOutcome {
    /// Every byte reached the printer: the job is done.
    Printed,
    /// The printer could not be reached or did not take the bytes: the job
    /// stays queued and is tried again.
    Failed(String),
    /// The job can never print (its order or session is gone): it leaves the queue.
    Abandoned(String),
}

impl PrintOutcome {
    /// What the attempt says about the printer: online, offline, or nothing
    /// (an abandoned job never reached it).
    pub fn printer_online(&self) -> Option<bool> {
        match self {
            PrintOutcome::Printed => Some(true),
            PrintOutcome::Failed(_) => Some(false),
            PrintOutcome::Abandoned(_) => None,
        }
    }
}

/// What deciding a payment's print job needs, read in the payment's transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrintInputs {
    /// The paying config's printer.
    pub printer: Option<PrinterAddress>,
    pub cash_method_ids: BTreeSet<PaymentMethodId>,
    /// Jobs already waiting for that printer.
    pub queued: u64,
}

/// What a payment queues for the paying config's printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptPrint {
    /// The config has no printer.
    NoPrinter,
    /// The printer's queue is full: nothing is queued, the payment stands, and
    /// the receipt can be printed again from the till once the printer is back.
    QueueFull,
    Queue(PrintJobNew),
}

/// The receipt job of a paid order, for the printer of the config that took
/// the payment; a cash payment asks for the drawer.
pub fn receipt_print_job(order: &Order, inputs: &PrintInputs, at: Timestamp) -> ReceiptPrint {
    let Some(paid_by) = order
        .paid_by
        .as_ref()
        .filter(|_| order.state == OrderState::Paid)
    else {
        return ReceiptPrint::NoPrinter;
    };
    if inputs.printer.is_none() {
        return ReceiptPrint::NoPrinter;
    }
    if inputs.queued >= PRINT_JOBS_QUEUED_PER_PRINTER_MAX {
        return ReceiptPrint::QueueFull;
    }
    ReceiptPrint::Queue(PrintJobNew {
        config_id: paid_by.config_id,
        document: PrintDocument::Order(order.id),
        kind: PrintKind::Receipt,
        open_drawer: payment_opens_drawer(&order.payments, &inputs.cash_method_ids),
        queued_at: at,
    })
}

/// What the last attempt found at a printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterCheck {
    pub online: bool,
    pub checked_at: Timestamp,
    pub last_error: String,
}

/// How a printer is, as `GET /configs/{id}/printer` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    /// The config has no printer.
    None,
    /// Nothing was sent to it yet.
    Unknown,
    /// The last job reached it.
    Online,
    /// The last attempt could not reach it; its jobs wait.
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrinterStatus {
    pub config_id: ConfigId,
    pub printer: Option<PrinterAddress>,
    pub state: PrinterState,
    /// Jobs waiting for the printer.
    pub queued: u64,
    /// When the last attempt was made.
    pub checked_at: Option<Timestamp>,
    /// Why the last attempt failed (`None` when it did not).
    pub last_error: Option<String>,
}

impl PrinterStatus {
    pub fn new(
        config_id: ConfigId,
        printer: Option<PrinterAddress>,
        queued: u64,
        check: Option<PrinterCheck>,
    ) -> PrinterStatus {
        let state = match (&printer, &check) {
            (None, _) => PrinterState::None,
            (Some(_), None) => PrinterState::Unknown,
            (Some(_), Some(check)) if check.online => PrinterState::Online,
            (Some(_), Some(_)) => PrinterState::Offline,
        };
        PrinterStatus {
            config_id,
            printer,
            state,
            queued,
            checked_at: check.as_ref().map(|check| check.checked_at),
            last_error: check
                .filter(|check| !check.online && !check.last_error.is_empty())
                .map(|check| check.last_error),
        }
    }
}

/// How a printed line looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintStyle {
    /// Left-aligned.
    Plain,
    /// Left-aligned, bold.
    Bold,
    /// Centred.
    Centered,
    /// Centred, bold, double height: the shop's name.
    Title,
}

/// One printed line: at most `width` characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrintLine {
    pub style: PrintStyle,
    pub text: String,
}

impl PrintLine {
    fn new(style: PrintStyle, text: impl Into<String>) -> PrintLine {
        PrintLine {
            style,
            text: text.into(),
        }
    }
}

/// `left` and `right` on one line of `width` characters, the right one
/// flush right; `left` is cut short when both do not fit.
fn two_columns(left: &str, right: &str, width: usize) -> String {
    let right_len = right.chars().count();
    let room = width.saturating_sub(right_len + 1);
    let left: String = left.chars().take(room).collect();
    let gap = width
        .saturating_sub(left.chars().count() + right_len)
        .max(1);
    format!("{left}{}{right}", " ".repeat(gap))
}

/// `text` cut into lines of at most `width` characters (at spaces where it can).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word: Vec<char> = word.chars().collect();
            while !word.is_empty() {
                let used = line.chars().count();
                let room = if used == 0 {
                    width
                } else {
                    width.saturating_sub(used + 1)
                };
                if word.len() <= room {
                    if used > 0 {
                        line.push(' ');
                    }
                    line.extend(word.drain(..));
                } else if used > 0 {
                    lines.push(std::mem::take(&mut line));
                } else {
                    lines.push(word.drain(..width).collect());
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// What the receipt printer prints for `receipt`, `width` characters wide: the
/// shop's header, the receipt number and both counters named, the lines with
/// quantities and discounts, the untaxed amount, the tax of each rate, the
/// total, the payments, the change, the invoice number and the footer. A
/// reprint says so at the top, so a copy is never taken for a second sale.
pub fn receipt_print_lines(receipt: &Receipt, width: usize, reprint: bool) -> Vec<PrintLine> {
    use PrintStyle::*;
    let mut out = Vec::new();
    let shop = &receipt.shop;
    for line in wrap(shop.name.as_str(), width / 2) {
        out.push(PrintLine::new(Title, line));
    }
    for line in wrap(shop.address.as_str(), width) {
        out.push(PrintLine::new(Centered, line));
    }
    if !shop.vat_number.is_empty() {
        out.push(PrintLine::new(
            Centered,
            format!("VAT {}", shop.vat_number.as_str()),
        ));
    }
    out.push(PrintLine::new(Plain, ""));
    if reprint {
        out.push(PrintLine::new(Centered, "*** REPRINT ***"));
    }
    let number = receipt
        .receipt_number
        .as_deref()
        .unwrap_or(receipt.reference.as_str());
    out.push(PrintLine::new(Bold, format!("Receipt {number}")));
    out.push(PrintLine::new(Plain, receipt.reference.clone()));
    out.push(PrintLine::new(Plain, receipt.paid_on.to_string()));
    out.push(PrintLine::new(
        Plain,
        format!("Started at {}", receipt.started_at.name),
    ));
    out.push(PrintLine::new(
        Plain,
        format!("Paid at {}", receipt.paid_at.name),
    ));
    if let Some(customer) = &receipt.customer_name {
        out.push(PrintLine::new(Plain, format!("Customer: {customer}")));
    }
    let rule = "-".repeat(width);
    out.push(PrintLine::new(Plain, rule.clone()));
    for line in &receipt.lines {
        out.push(PrintLine::new(
            Plain,
            two_columns(line.name.as_str(), &line.total.to_string(), width),
        ));
        let mut detail = format!("  {} x {}", line.qty, line.unit_price);
        if line.discount != Discount::ZERO {
            detail.push_str(&format!(" -{}%", line.discount));
        }
        out.push(PrintLine::new(Plain, detail));
        for note in wrap(line.note.as_str(), width.saturating_sub(2)) {
            if !note.is_empty() {
                out.push(PrintLine::new(Plain, format!("  {note}")));
            }
        }
    }
    out.push(PrintLine::new(Plain, rule.clone()));
    out.push(PrintLine::new(
        Plain,
        two_columns("Untaxed", &receipt.subtotal.to_string(), width),
    ));
    for tax in &receipt.taxes {
        out.push(PrintLine::new(
            Plain,
            two_columns(
                &format!("{} on {}", tax.name, tax.base),
                &tax.amount.to_string(),
                width,
            ),
        ));
    }
    out.push(PrintLine::new(
        Bold,
        two_columns("TOTAL", &receipt.total.to_string(), width),
    ));
    for payment in &receipt.payments {
        out.push(PrintLine::new(
            Plain,
            two_columns(&payment.name, &payment.amount.to_string(), width),
        ));
    }
    out.push(PrintLine::new(
        Plain,
        two_columns("Change", &receipt.change.to_string(), width),
    ));
    if let Some(invoice) = &receipt.invoice {
        out.push(PrintLine::new(Plain, format!("Invoice {}", invoice.number)));
    }
    if !receipt.note.is_empty() {
        out.push(PrintLine::new(Plain, rule));
        for line in wrap(receipt.note.as_str(), width) {
            out.push(PrintLine::new(Plain, line));
        }
    }
    if !shop.receipt_footer.is_empty() {
        out.push(PrintLine::new(Plain, ""));
        for line in wrap(shop.receipt_footer.as_str(), width) {
            out.push(PrintLine::new(Centered, line));
        }
    }
    out
}

/// What the receipt printer prints for a session's report, `width` characters
/// wide: the shop, the counter and the session, sales and tax per rate, the
/// payments per method, and the cash drawer down to the counted difference, a
/// shortage or surplus spelled out.
pub fn session_report_print_lines(
    report: &SessionReport,
    config_name: &str,
    shop: &Shop,
    width: usize,
) -> Vec<PrintLine> {
    use PrintStyle::*;
    let mut out = Vec::new();
    let amount = |label: &str, money: Money| two_columns(label, &money.to_string(), width);
    for line in wrap(shop.name.as_str(), width / 2) {
        out.push(PrintLine::new(Title, line));
    }
    out.push(PrintLine::new(Centered, "SESSION REPORT"));
    out.push(PrintLine::new(Plain, ""));
    let session = &report.session;
    out.push(PrintLine::new(
        Bold,
        format!("{config_name}, session {}", session.id),
    ));
    out.push(PrintLine::new(
        Plain,
        format!("Opened {}", session.opened_at),
    ));
    match session.closed_at {
        Some(closed_at) => out.push(PrintLine::new(Plain, format!("Closed {closed_at}"))),
        None => out.push(PrintLine::new(Plain, "Still open")),
    }
    let rule = "-".repeat(width);
    out.push(PrintLine::new(Plain, rule.clone()));
    out.push(PrintLine::new(
        Plain,
        two_columns("Orders paid", &report.orders_paid.to_string(), width),
    ));
    out.push(PrintLine::new(Bold, amount("Sales", report.sales_total)));
    for tax in &report.taxes {
        out.push(PrintLine::new(
            Plain,
            amount(&format!("{} on {}", tax.name, tax.base), tax.amount),
        ));
    }
    out.push(PrintLine::new(Plain, amount("Tax", report.tax_total)));
    out.push(PrintLine::new(Plain, rule.clone()));
    out.push(PrintLine::new(Bold, "Payments"));
    for payment in &report.payments {
        out.push(PrintLine::new(
            Plain,
            amount(payment.name.as_str(), payment.amount),
        ));
    }
    out.push(PrintLine::new(Plain, rule.clone()));
    let cash = &report.cash;
    out.push(PrintLine::new(Bold, "Cash drawer"));
    out.push(PrintLine::new(Plain, amount("Opening", cash.opening)));
    out.push(PrintLine::new(
        Plain,
        amount("Cash received", cash.payments),
    ));
    out.push(PrintLine::new(
        Plain,
        amount("Change given", cash.change_given),
    ));
    out.push(PrintLine::new(Plain, amount("Net cash", cash.net)));
    out.push(PrintLine::new(Plain, amount("Cash in/out", cash.moves)));
    for cash_move in &report.cash_moves {
        out.push(PrintLine::new(
            Plain,
            amount(
                &format!("  {}", cash_move.reason.as_str()),
                cash_move.amount,
            ),
        ));
    }
    out.push(PrintLine::new(Bold, amount("Expected", cash.expected)));
    match (cash.counted, cash.difference) {
        (Some(counted), Some(difference)) => {
            out.push(PrintLine::new(Plain, amount("Counted", counted)));
            out.push(PrintLine::new(Bold, amount("Difference", difference)));
            let verdict = if difference < Money::ZERO {
                // Money is bounded symmetrically, so the negation always exists.
                let short = Money::new(-difference.minor()).unwrap_or(difference);
                format!("*** SHORT BY {short} ***")
            } else if difference > Money::ZERO {
                format!("*** OVER BY {difference} ***")
            } else {
                "The drawer is right".to_owned()
            };
            out.push(PrintLine::new(Centered, verdict));
        }
        _ => out.push(PrintLine::new(Plain, "Not counted")),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_addresses_parse_and_print_back() {
        for (text, host, port) in [
            ("192.168.1.50:9100", "192.168.1.50", 9100),
            ("Printer-1.shop.lan:9100", "printer-1.shop.lan", 9100),
            ("[::1]:9100", "::1", 9100),
            ("[FE80::1:2]:9100", "fe80::1:2", 9100),
            ("[1:2:3:4:5:6:7:8]:9100", "1:2:3:4:5:6:7:8", 9100),
            ("localhost:1", "localhost", 1),
        ] {
            let address = PrinterAddress::parse(text).unwrap();
            assert_eq!((address.host(), address.port()), (host, port), "{text}");
            assert_eq!(
                PrinterAddress::parse(&address.to_string()).unwrap(),
                address
            );
        }
        let long_host = format!("{}:9100", ["a"; 200].join("."));
        for text in [
            "",
            "printer",
            "printer:",
            ":9100",
            "printer:0",
            "printer:65536",
            "printer:+9100",
            "printer:91 00",
            " printer:9100",
            "pr inter:9100",
            "-printer:9100",
            "a..b:9100",
            "::1:9100",
            "[::1]9100",
            "[nope]:9100",
            "[1::2::3]:9100",
            "[1:2:3:4:5:6:7]:9100",
            "[12345::1]:9100",
            "http://printer:9100",
            long_host.as_str(),
        ] {
            assert!(PrinterAddress::parse(text).is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn two_columns_fill_the_width_and_cut_the_left_side() {
        assert_eq!(two_columns("Tea", "2.20", 12), "Tea     2.20");
        assert_eq!(two_columns("A very long name", "2.20", 12), "A very  2.20");
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    }

    #[test]
    fn cash_opens_the_drawer_and_late_jobs_do_not() {
        let cash = PaymentMethodId(1);
        let card = PaymentMethodId(2);
        let cash_ids = BTreeSet::from([cash]);
        let pay = |method_id, minor| Payment {
            method_id,
            amount: Money::new(minor).unwrap(),
        };
        assert!(payment_opens_drawer(
            &[pay(card, 100), pay(cash, 50)],
            &cash_ids
        ));
        assert!(
            payment_opens_drawer(&[pay(cash, -50)], &cash_ids),
            "a cash refund"
        );
        assert!(!payment_opens_drawer(&[pay(card, 100)], &cash_ids));
        assert!(!payment_opens_drawer(
            &[pay(cash, 0), pay(card, 100)],
            &cash_ids
        ));
        let queued = Timestamp::from_unix_millis(1_000_000);
        assert!(drawer_pulse_due(
            queued,
            queued.plus_millis(DRAWER_PULSE_LATE_MS)
        ));
        assert!(!drawer_pulse_due(
            queued,
            queued.plus_millis(DRAWER_PULSE_LATE_MS + 1)
        ));
    }
}
