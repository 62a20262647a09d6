//! Receipt printers and cash drawers (issue 12, PROTOCOL.md "After payment"),
//! against a loopback TCP listener that stands for a network printer on port
//! 9100: it records every byte it is sent, and the test decodes the ESC/POS
//! commands back into lines of text, cuts and drawer pulses.

use possync_server::ServerConfig;
use possync_server::printing::PrintSettings;
use possync_testkit::*;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use uuid::Uuid;

const ESC: u8 = 0x1b;
const GS: u8 = 0x1d;
const LF: u8 = 0x0a;
/// How long a test waits for the printer or the server before it fails.
const WAIT: Duration = Duration::from_secs(20);

/// A network receipt printer on 127.0.0.1: every connection is one job, its
/// bytes read to the end and handed to the test.
struct FakePrinter {
    address: SocketAddr,
    jobs: mpsc::UnboundedReceiver<Vec<u8>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakePrinter {
    async fn start() -> FakePrinter {
        FakePrinter::start_at("127.0.0.1:0".parse().unwrap()).await
    }

    async fn start_at(address: SocketAddr) -> FakePrinter {
        let listener = TcpListener::bind(address).await.unwrap();
        let address = listener.local_addr().unwrap();
        let (sender, jobs) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut bytes = Vec::new();
                if socket.read_to_end(&mut bytes).await.is_ok() && sender.send(bytes).is_err() {
                    return;
                }
            }
        });
        FakePrinter {
            address,
            jobs,
            task,
        }
    }

    /// The next job the printer received, decoded.
    async fn next_job(&mut self) -> Printed {
        let bytes = tokio::time::timeout(WAIT, self.jobs.recv())
            .await
            .expect("the printer received nothing in time")
            .expect("the printer stopped");
        decode(&bytes)
    }

    /// Whether a job arrived already (used after the server said there is none).
    fn has_job(&mut self) -> bool {
        !self.jobs.is_empty()
    }

    fn stop(self) -> SocketAddr {
        self.task.abort();
        self.address
    }
}

/// What a receipt printer would do with a job's bytes.
#[derive(Debug, Default)]
struct Printed {
    initialised: bool,
    code_page: Option<u8>,
    lines: Vec<String>,
    cuts: usize,
    /// `(pin, on, off)` of each `ESC p m t1 t2`.
    drawer_pulses: Vec<(u8, u8, u8)>,
    /// Whether the first drawer pulse came before any text.
    pulse_before_text: bool,
}

impl Printed {
    fn text(&self) -> String {
        self.lines.join("\n")
    }

    fn has_line(&self, wanted: &str) -> bool {
        self.lines.iter().any(|line| line.trim() == wanted)
    }

    /// The line that starts with `label`, with its spacing squeezed.
    fn line_starting(&self, label: &str) -> String {
        self.lines
            .iter()
            .find(|line| line.starts_with(label))
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no line starts with {label:?} in\n{}", self.text()))
    }
}

/// Decodes the ESC/POS commands a receipt uses; anything else fails the test.
fn decode(bytes: &[u8]) -> Printed {
    let mut printed = Printed::default();
    let mut line: Vec<u8> = Vec::new();
    let mut seen_text = false;
    let mut at = 0;
    let arg = |at: usize, n: usize| -> &[u8] {
        bytes
            .get(at..at + n)
            .unwrap_or_else(|| panic!("a command at byte {at} is cut short"))
    };
    let end_line = |line: &mut Vec<u8>, printed: &mut Printed| {
        // Code page WPC1252: ASCII as is; é is 0xE9 (the shop's name in a test).
        let text = line
            .iter()
            .map(|&byte| match byte {
                0xe9 => 'é',
                byte if byte.is_ascii() => byte as char,
                byte => panic!("a byte {byte:#x} this decoder does not know"),
            })
            .collect();
        printed.lines.push(text);
        line.clear();
    };
    while at < bytes.len() {
        match bytes[at] {
            ESC => {
                let command = arg(at + 1, 1)[0];
                match command {
                    b'@' => {
                        printed.initialised = true;
                        at += 2;
                    }
                    b't' => {
                        printed.code_page = Some(arg(at + 2, 1)[0]);
                        at += 3;
                    }
                    b'E' | b'a' => at += 3,
                    b'd' => {
                        let feeds = arg(at + 2, 1)[0];
                        end_line(&mut line, &mut printed);
                        for _ in 1..feeds {
                            end_line(&mut line, &mut printed);
                        }
                        at += 3;
                    }
                    b'p' => {
                        let pulse = arg(at + 2, 3);
                        if printed.drawer_pulses.is_empty() {
                            printed.pulse_before_text = !seen_text;
                        }
                        printed.drawer_pulses.push((pulse[0], pulse[1], pulse[2]));
                        at += 5;
                    }
                    other => panic!("ESC {other:#x} at byte {at} is not a receipt command"),
                }
            }
            GS => match arg(at + 1, 1)[0] {
                b'!' => at += 3,
                b'V' => {
                    // GS V m (m = 0, 1, 48, 49) or GS V m n (m = 65, 66).
                    let mode = arg(at + 2, 1)[0];
                    printed.cuts += 1;
                    at += if mode >= 65 { 4 } else { 3 };
                }
                other => panic!("GS {other:#x} at byte {at} is not a receipt command"),
            },
            LF => {
                end_line(&mut line, &mut printed);
                at += 1;
            }
            byte if byte >= 0x20 => {
                seen_text = true;
                line.push(byte);
                at += 1;
            }
            byte => panic!("control byte {byte:#x} at {at} is not a receipt command"),
        }
    }
    if !line.is_empty() {
        end_line(&mut line, &mut printed);
    }
    printed
}

/// A server that reads the print queues often and retries a failed printer
/// soon, so tests do not wait for the defaults.
fn quick_printing() -> ServerConfig {
    ServerConfig {
        printing: PrintSettings {
            poll_ms: 20,
            retry_ms: 100,
            connect_timeout_ms: 2_000,
            write_timeout_ms: 5_000,
            ..PrintSettings::default()
        },
        ..ServerConfig::default()
    }
}

async fn set_printer(shop: &Shop, config_id: i64, printer: Value) -> (u16, Value) {
    shop.patch(
        &format!("/api/v1/configs/{config_id}"),
        &shop.manager_token,
        json!({ "printer": printer }),
    )
    .await
}

async fn printer_status(shop: &Shop, config_id: i64, token: &str) -> Value {
    let (status, body) = shop
        .get(&format!("/api/v1/configs/{config_id}/printer"), token)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Reads the printer's status until `wanted` holds (the print task works in
/// the background), failing after [`WAIT`].
async fn wait_for_status(shop: &Shop, config_id: i64, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = printer_status(shop, config_id, &shop.manager_token).await;
        if wanted(&status) {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the printer's status never got there: {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two espressos and a croissant (6.20), started at Counter 1 and shared.
async fn start_at_counter_1(shop: &Shop, counter_1: &mut Counter, counter_2: &mut Counter) -> Uuid {
    let order = Uuid::now_v7();
    counter_1.ok(order, create(true)).await;
    counter_1
        .ok(order, add_line(Uuid::now_v7(), shop.espresso, "2"))
        .await;
    counter_1
        .ok(order, add_line(Uuid::now_v7(), shop.croissant, "1"))
        .await;
    counter_2
        .expect_where(|message| message["type"] == "change" && message["version"] == 3)
        .await;
    order
}

/// One espresso (2.20) at `counter`, paid with `payments`.
async fn sell_espresso(shop: &Shop, counter: &mut Counter, payments: Value) -> Uuid {
    let order = Uuid::now_v7();
    counter.ok(order, create(false)).await;
    counter
        .ok(order, add_line(Uuid::now_v7(), shop.espresso, "1"))
        .await;
    counter
        .ok(
            order,
            json!({"kind": "pay", "payments": payments, "expected_total": 220}),
        )
        .await;
    order
}

async fn print(shop: &Shop, order: Uuid, token: &str, body: Value) -> (u16, Value) {
    shop.post(&format!("/api/v1/orders/{order}/print"), token, body)
        .await
}

#[tokio::test]
async fn the_paying_counters_printer_gets_the_receipt_and_only_cash_opens_the_drawer() {
    let shop = Shop::open_with(quick_printing()).await;
    let mut printer = FakePrinter::start().await;
    let (status, header) = shop
        .patch(
            "/api/v1/shop",
            &shop.manager_token,
            json!({"name": "Café Nube", "address": "Calle Mayor 1", "vat_number": "ESB12345678", "receipt_footer": "Thank you"}),
        )
        .await;
    assert_eq!(status, 200, "{header}");
    let (status, config) =
        set_printer(&shop, shop.counter_2, json!(printer.address.to_string())).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["printer"], printer.address.to_string());
    let before = printer_status(&shop, shop.counter_2, &shop.manager_token).await;
    assert_eq!(
        (before["state"].as_str(), before["queued"].as_u64()),
        (Some("unknown"), Some(0))
    );

    // Started at Counter 1, paid at Counter 2 in cash and by card.
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let order = start_at_counter_1(&shop, &mut counter_1, &mut counter_2).await;
    counter_2
        .ok(
            order,
            json!({"kind": "pay", "payments": [
                {"method_id": shop.card, "amount": 300},
                {"method_id": shop.cash, "amount": 500}
            ], "expected_total": 620}),
        )
        .await;

    let receipt = printer.next_job().await;
    assert!(receipt.initialised, "ESC @ first");
    assert_eq!(receipt.code_page, Some(16), "code page WPC1252");
    for line in [
        "Café Nube",
        "Calle Mayor 1",
        "VAT ESB12345678",
        "Receipt Counter 2/0001",
        "Started at Counter 1",
        "Paid at Counter 2",
        "Thank you",
    ] {
        assert!(
            receipt.has_line(line),
            "{line:?} missing from\n{}",
            receipt.text()
        );
    }
    assert!(!receipt.has_line("*** REPRINT ***"));
    assert_eq!(receipt.line_starting("Espresso"), "Espresso 4.40");
    assert_eq!(receipt.line_starting("  2 x"), "2 x 2.20");
    assert_eq!(receipt.line_starting("Croissant"), "Croissant 1.80");
    assert_eq!(receipt.line_starting("VAT 10%"), "VAT 10% on 5.64 0.56");
    assert_eq!(receipt.line_starting("TOTAL"), "TOTAL 6.20");
    assert_eq!(receipt.line_starting("Card"), "Card 3.00");
    assert_eq!(receipt.line_starting("Cash"), "Cash 5.00");
    assert_eq!(receipt.line_starting("Change"), "Change 1.80");
    assert_eq!(receipt.cuts, 1, "one cut");
    assert_eq!(
        receipt.drawer_pulses,
        [(0, 25, 250)],
        "a cash payment opens the drawer"
    );
    assert!(
        receipt.pulse_before_text,
        "the drawer opens as the receipt starts"
    );
    let after = wait_for_status(&shop, shop.counter_2, |status| {
        status["state"] == "online" && status["queued"] == 0
    })
    .await;
    assert_eq!(after["last_error"], Value::Null);

    // A card-only payment prints, cuts, and leaves the drawer shut.
    let card_only = sell_espresso(
        &shop,
        &mut counter_2,
        json!([{"method_id": shop.card, "amount": 220}]),
    )
    .await;
    let receipt = printer.next_job().await;
    assert!(
        receipt.has_line("Receipt Counter 2/0002"),
        "{}",
        receipt.text()
    );
    assert_eq!(receipt.line_starting("TOTAL"), "TOTAL 2.20");
    assert_eq!(receipt.cuts, 1);
    assert!(
        receipt.drawer_pulses.is_empty(),
        "no drawer pulse for a card payment"
    );

    // Counter 1 has no printer: its payments queue nothing.
    sell_espresso(
        &shop,
        &mut counter_1,
        json!([{"method_id": shop.cash, "amount": 220}]),
    )
    .await;
    let counter_1_printer = printer_status(&shop, shop.counter_1, &counter_1.token).await;
    assert_eq!(
        (
            counter_1_printer["state"].as_str(),
            counter_1_printer["queued"].as_u64()
        ),
        (Some("none"), Some(0))
    );
    // The order object of the card sale says which receipt it was.
    let paid = shop.server_order(card_only).await;
    assert_eq!(paid["receipt_number"], "Counter 2/0002");
    assert!(!printer.has_job(), "nothing else was printed");
}

#[tokio::test]
async fn with_the_printer_off_payments_succeed_and_the_queue_prints_once_it_is_back() {
    let shop = Shop::open_with(quick_printing()).await;
    // A port that refuses connections: the printer is off.
    let off = FakePrinter::start().await.stop();
    tokio::task::yield_now().await;
    let (status, _) = set_printer(&shop, shop.counter_2, json!(off.to_string())).await;
    assert_eq!(status, 200);
    let mut counter_2 = shop.counter(shop.counter_2).await;

    // Two payments go through at once, whatever the printer does.
    let first = sell_espresso(
        &shop,
        &mut counter_2,
        json!([{"method_id": shop.cash, "amount": 500}]),
    )
    .await;
    let offline =
        wait_for_status(&shop, shop.counter_2, |status| status["state"] == "offline").await;
    assert_eq!(offline["queued"], 1, "{offline}");
    assert!(
        offline["last_error"]
            .as_str()
            .is_some_and(|error| !error.is_empty()),
        "{offline}"
    );
    sell_espresso(
        &shop,
        &mut counter_2,
        json!([{"method_id": shop.card, "amount": 220}]),
    )
    .await;
    // What the till shows: "printer offline, 2 queued".
    let till = printer_status(&shop, shop.counter_2, &counter_2.token).await;
    assert_eq!(
        (till["state"].as_str(), till["queued"].as_u64()),
        (Some("offline"), Some(2)),
        "{till}"
    );
    let paid = shop.server_order(first).await;
    assert_eq!(
        (paid["state"].as_str(), paid["change"].as_i64()),
        (Some("paid"), Some(280))
    );

    // Three minutes later the printer is switched back on: the queue prints in
    // order, and the old cash receipt no longer springs the drawer open.
    shop.clock.advance_millis(180_000);
    let mut printer = FakePrinter::start_at(off).await;
    let first_receipt = printer.next_job().await;
    assert!(
        first_receipt.has_line("Receipt Counter 2/0001"),
        "{}",
        first_receipt.text()
    );
    assert_eq!(first_receipt.line_starting("Change"), "Change 2.80");
    assert!(
        first_receipt.drawer_pulses.is_empty(),
        "a late receipt never opens the drawer"
    );
    let second_receipt = printer.next_job().await;
    assert!(
        second_receipt.has_line("Receipt Counter 2/0002"),
        "{}",
        second_receipt.text()
    );
    let online = wait_for_status(&shop, shop.counter_2, |status| {
        status["state"] == "online" && status["queued"] == 0
    })
    .await;
    assert_eq!(online["last_error"], Value::Null, "{online}");

    // Once it is back, a cash sale opens the drawer again (from a new
    // connection of the same session: three minutes without heartbeats may
    // have closed the first one).
    let mut counter_2 = shop.counter(shop.counter_2).await;
    sell_espresso(
        &shop,
        &mut counter_2,
        json!([{"method_id": shop.cash, "amount": 220}]),
    )
    .await;
    let third = printer.next_job().await;
    assert!(third.has_line("Receipt Counter 2/0003"), "{}", third.text());
    assert_eq!(third.drawer_pulses.len(), 1);
}

#[tokio::test]
async fn a_receipt_is_reprinted_by_a_counter_that_may_read_it_and_never_opens_the_drawer() {
    let shop = Shop::open_with(quick_printing()).await;
    let mut printer = FakePrinter::start().await;
    let (status, _) = set_printer(&shop, shop.counter_2, json!(printer.address.to_string())).await;
    assert_eq!(status, 200);
    let mut counter_1 = shop.counter(shop.counter_1).await;
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let bar = shop.counter(shop.bar).await;
    let order = start_at_counter_1(&shop, &mut counter_1, &mut counter_2).await;
    counter_2
        .ok(order, json!({"kind": "pay", "payments": [{"method_id": shop.cash, "amount": 620}], "expected_total": 620}))
        .await;
    let original = printer.next_job().await;
    assert_eq!(original.drawer_pulses.len(), 1);

    let (status, job) = print(&shop, order, &counter_2.token, json!({})).await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(
        (job["kind"].as_str(), job["open_drawer"].as_bool()),
        (Some("reprint"), Some(false))
    );
    assert_eq!(job["config_id"], shop.counter_2);
    let copy = printer.next_job().await;
    assert!(copy.has_line("*** REPRINT ***"), "{}", copy.text());
    assert!(copy.has_line("Receipt Counter 2/0001"));
    assert_eq!(copy.line_starting("TOTAL"), "TOTAL 6.20");
    assert_eq!(copy.cuts, 1);
    assert!(
        copy.drawer_pulses.is_empty(),
        "a reprint never opens the drawer"
    );

    // A manager may reprint too (no body at all), on the paying counter by default.
    let (status, job) = shop
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/orders/{order}/print"),
            &shop.manager_token,
            None,
        )
        .await;
    assert_eq!(
        (status, &job["config_id"]),
        (202, &json!(shop.counter_2)),
        "{job}"
    );
    assert!(printer.next_job().await.has_line("*** REPRINT ***"));

    // Who may not, and what cannot be printed.
    let (status, body) = print(&shop, order, &counter_1.token, json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("no_printer")),
        "the origin counter has no printer"
    );
    let (status, body) = print(
        &shop,
        order,
        &counter_2.token,
        json!({"config_id": shop.counter_1}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (status, body) = print(&shop, order, &bar.token, json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, _) = print(&shop, order, &shop.cashier_token, json!({})).await;
    assert_eq!(status, 403, "a cashier's login reprints through a till");
    let (status, body) = print(&shop, order, &counter_2.token, json!({"config_id": "two"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid")),
        "{body}"
    );
    let (status, body) = print(&shop, order, &counter_2.token, json!({"copies": 2})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid")),
        "{body}"
    );
    let draft = Uuid::now_v7();
    counter_2.ok(draft, create(false)).await;
    let (status, _) = print(&shop, draft, &counter_2.token, json!({})).await;
    assert_eq!(status, 404, "a draft has no receipt");
    let (status, _) = print(&shop, Uuid::now_v7(), &shop.manager_token, json!({})).await;
    assert_eq!(status, 404);
    assert!(!printer.has_job(), "refused reprints print nothing");
}

#[tokio::test]
async fn a_printer_address_is_host_and_port_set_and_cleared_by_managers() {
    let shop = Shop::open().await;
    for bad in [
        json!("printer"),
        json!("printer:0"),
        json!("printer:70000"),
        json!("http://printer:9100"),
        json!("print er:9100"),
        json!(format!("{}:9100", "a".repeat(300))),
        json!(9100),
        json!({"host": "printer"}),
    ] {
        let (status, body) = set_printer(&shop, shop.counter_2, bad.clone()).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid")),
            "{bad}: {body}"
        );
    }
    let (status, config) =
        set_printer(&shop, shop.counter_2, json!("Printer-2.shop.lan:9100")).await;
    assert_eq!(
        (status, &config["printer"]),
        (200, &json!("printer-2.shop.lan:9100"))
    );
    let (status, config) = shop
        .patch(
            &format!("/api/v1/configs/{}", shop.counter_2),
            &shop.manager_token,
            json!({"name": "Counter Two"}),
        )
        .await;
    assert_eq!(
        (status, &config["printer"]),
        (200, &json!("printer-2.shop.lan:9100")),
        "a rename keeps the printer"
    );
    let (status, refused) = shop
        .patch(
            &format!("/api/v1/configs/{}", shop.counter_2),
            &shop.cashier_token,
            json!({"printer": null}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, config) = set_printer(&shop, shop.counter_2, json!(null)).await;
    assert_eq!((status, &config["printer"]), (200, &Value::Null));
    let (status, created) = shop
        .post(
            "/api/v1/configs",
            &shop.manager_token,
            json!({"name": "Terrace", "printer": "[::1]:9100"}),
        )
        .await;
    assert_eq!(
        (status, &created["printer"]),
        (201, &json!("[::1]:9100")),
        "{created}"
    );
    let (_, configs) = shop.get("/api/v1/configs", &shop.manager_token).await;
    let terrace = configs
        .as_array()
        .unwrap()
        .iter()
        .find(|config| config["name"] == "Terrace")
        .expect("listed");
    assert_eq!(terrace["printer"], "[::1]:9100");
    let (status, _) = shop
        .get("/api/v1/configs/999999/printer", &shop.manager_token)
        .await;
    assert_eq!(status, 404);
    let (status, _) = shop
        .get("/api/v1/configs/x/printer", &shop.manager_token)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn on_postgres_a_payment_queues_its_receipt_and_the_printer_gets_it() {
    let Some(nodes) = spawn_nodes(1).await else {
        return;
    };
    let shop = &nodes.shop;
    let mut printer = FakePrinter::start().await;
    let (status, _) = set_printer(shop, shop.counter_2, json!(printer.address.to_string())).await;
    assert_eq!(status, 200);
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let order = sell_espresso(
        shop,
        &mut counter_2,
        json!([{"method_id": shop.cash, "amount": 220}]),
    )
    .await;
    let receipt = printer.next_job().await;
    assert!(
        receipt.has_line("Receipt Counter 2/0001"),
        "{}",
        receipt.text()
    );
    assert_eq!(receipt.drawer_pulses.len(), 1);
    assert_eq!(receipt.cuts, 1);
    let (status, _) = print(shop, order, &counter_2.token, json!({})).await;
    assert_eq!(status, 202);
    let copy = printer.next_job().await;
    assert!(copy.has_line("*** REPRINT ***"));
    assert!(copy.drawer_pulses.is_empty());
    let online = wait_for_status(shop, shop.counter_2, |status| {
        status["state"] == "online" && status["queued"] == 0
    })
    .await;
    assert_eq!(online["printer"], printer.address.to_string());
}

#[tokio::test]
async fn a_session_report_prints_on_its_counters_printer_with_the_drawer_spelled_out() {
    let shop = Shop::open_with(quick_printing()).await;
    let mut printer = FakePrinter::start().await;
    let (status, _) = set_printer(&shop, shop.counter_2, json!(printer.address.to_string())).await;
    assert_eq!(status, 200);
    let mut counter_2 = shop.counter(shop.counter_2).await;
    let bar = shop.counter(shop.bar).await;
    sell_espresso(
        &shop,
        &mut counter_2,
        json!([{"method_id": shop.cash, "amount": 500}]),
    )
    .await;
    printer.next_job().await;
    let session = counter_2.welcome["session"]["id"].as_i64().unwrap();
    let (status, body) = shop
        .post(
            &format!("/api/v1/sessions/{session}/cash_moves"),
            &shop.manager_token,
            json!({"amount": 1000, "reason": "Float"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, report) = shop
        .post(
            &format!("/api/v1/sessions/{session}/close"),
            &shop.manager_token,
            json!({"counted_cash": 1200}),
        )
        .await;
    assert_eq!(status, 200, "{report}");

    let (status, job) = shop
        .post(
            &format!("/api/v1/sessions/{session}/print"),
            &shop.manager_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["kind"], "session_report");
    assert_eq!(job["document"], json!({"session_report": session}));
    let printed = printer.next_job().await;
    for line in [
        "SESSION REPORT",
        &format!("Counter 2, session {session}"),
        "Payments",
        "Cash drawer",
        "Float",
    ] {
        assert!(
            printed.lines.iter().any(|l| l.trim().starts_with(line)),
            "{line:?} missing from\n{}",
            printed.text()
        );
    }
    assert_eq!(printed.line_starting("Orders paid"), "Orders paid 1");
    assert_eq!(printed.line_starting("Sales"), "Sales 2.20");
    assert_eq!(printed.line_starting("VAT 10%"), "VAT 10% on 2.00 0.20");
    assert_eq!(
        printed.line_starting("Cash "),
        "Cash 5.00",
        "cash received, by method"
    );
    assert_eq!(printed.line_starting("Cash received"), "Cash received 5.00");
    assert_eq!(printed.line_starting("Change given"), "Change given 2.80");
    assert_eq!(printed.line_starting("Cash in/out"), "Cash in/out 10.00");
    assert_eq!(printed.line_starting("Expected"), "Expected 12.20");
    assert_eq!(printed.line_starting("Counted"), "Counted 12.00");
    assert_eq!(printed.line_starting("Difference"), "Difference -0.20");
    assert!(
        printed.has_line("*** SHORT BY 0.20 ***"),
        "{}",
        printed.text()
    );
    assert_eq!(printed.cuts, 1);
    assert!(
        printed.drawer_pulses.is_empty(),
        "a report never opens the drawer"
    );

    // Who may not, and a counter without a printer.
    let (status, body) = shop
        .post(
            &format!("/api/v1/sessions/{session}/print"),
            &bar.token,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (bar_session, _) = shop.open_session(shop.bar).await;
    let (status, body) = shop
        .post(
            &format!("/api/v1/sessions/{bar_session}/print"),
            &shop.manager_token,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("no_printer")),
        "{body}"
    );
    let (status, _) = shop
        .post(
            "/api/v1/sessions/999999/print",
            &shop.manager_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    assert!(!printer.has_job());
}
