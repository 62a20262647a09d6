//! `possync order list|show|create|edit|share|pay|cancel`: drafts from the
//! command line, as one terminal of a session, through the Rust SDK.
//!
//! Each run starts an SDK client on a local outbox file, catches up, submits
//! its ops (durable in the file before they are sent), waits for their
//! answers and prints the order. When the server cannot be reached in time,
//! the ops stay in the outbox, the command says so and exits with status 2;
//! the next `possync order` on the same file delivers them.

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use possync_client::http::HttpApi;
use possync_client::{
    Client, ClientOptions, ConnectionState, Event, Events, OpOutcome, new_line_id, new_order_id,
};
use possync_core::{
    ConfigId, CustomerId, Discount, LineId, Money, Note, Op, OpId, Order, OrderId, OrderState,
    PaymentInput, PaymentMethodId, ProductId, Quantity,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

/// Exit status when ops were queued but not answered in time.
pub const EXIT_QUEUED: u8 = 2;

#[derive(Debug, Args)]
pub struct OrderArgs {
    /// The server.
    #[arg(
        long,
        env = "POSSYNC_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// A terminal token (from `POST /api/v1/sessions`). Or give --login, --password and --config.
    #[arg(
        long,
        env = "POSSYNC_TERMINAL_TOKEN",
        hide_env_values = true,
        global = true
    )]
    token: Option<String>,
    /// Log in as this user and open (or join) the session of --config.
    #[arg(long, env = "POSSYNC_LOGIN", global = true)]
    login: Option<String>,
    #[arg(long, env = "POSSYNC_PASSWORD", hide_env_values = true, global = true)]
    password: Option<String>,
    /// The counter (config id) whose session to work in, with --login.
    #[arg(long, global = true)]
    config: Option<i64>,
    /// The local outbox file: ops wait here until the server has answered them.
    #[arg(
        long,
        env = "POSSYNC_ORDER_OUTBOX",
        default_value = "possync-order-outbox.db",
        global = true
    )]
    outbox: PathBuf,
    /// How long to wait for the server, in seconds.
    #[arg(long, default_value_t = 10, global = true)]
    timeout: u64,
    /// Print one JSON object on one line instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// The orders this session sees (drafts), or its paid or cancelled orders.
    List {
        #[arg(long, default_value = "draft")]
        state: String,
    },
    /// One order.
    Show { order_id: OrderId },
    /// A new draft at this session's counter.
    Create {
        /// Share it with the linked counters at once (Manual Sync).
        #[arg(long)]
        share: bool,
        #[arg(long)]
        customer: Option<i64>,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        edits: Edits,
    },
    /// Change a draft.
    Edit {
        order_id: OrderId,
        #[command(flatten)]
        edits: Edits,
    },
    /// Make a draft visible to the linked counters.
    Share { order_id: OrderId },
    /// Pay a draft (every payment's amount defaults to what is left to pay).
    Pay {
        order_id: OrderId,
        /// METHOD_ID or METHOD_ID:AMOUNT (minor units); repeat for split payments.
        #[arg(long = "payment", required = true)]
        payments: Vec<String>,
        /// Ask for an invoice.
        #[arg(long)]
        invoice: bool,
    },
    /// Drop a draft everywhere.
    Cancel {
        order_id: OrderId,
        #[arg(long)]
        reason: Option<String>,
    },
}

/// Edits, applied in this order: lines added, quantities, prices, discounts,
/// lines removed, customer, note.
#[derive(Debug, Args)]
struct Edits {
    /// PRODUCT_ID or PRODUCT_ID:QTY: a new line (repeatable).
    #[arg(long = "add")]
    add: Vec<String>,
    /// LINE_ID:QTY (repeatable).
    #[arg(long = "set-qty")]
    set_qty: Vec<String>,
    /// LINE_ID:PRICE in minor units (repeatable).
    #[arg(long = "set-price")]
    set_price: Vec<String>,
    /// LINE_ID:PERCENT (repeatable).
    #[arg(long = "set-discount")]
    set_discount: Vec<String>,
    /// LINE_ID (repeatable).
    #[arg(long = "remove-line")]
    remove_line: Vec<String>,
    /// A customer id, or `none`.
    #[arg(long = "set-customer")]
    set_customer: Option<String>,
    #[arg(long = "set-note")]
    set_note: Option<String>,
}

fn split_pair<'a>(text: &'a str, what: &str) -> Result<(&'a str, &'a str)> {
    text.split_once(':')
        .ok_or_else(|| anyhow!("{what} takes ID:VALUE, got {text:?}"))
}

fn parse_line_id(text: &str) -> Result<LineId> {
    text.parse()
        .map_err(|_| anyhow!("{text:?} is not a line id (a UUID)"))
}

fn parse_quantity(text: &str) -> Result<Quantity> {
    serde_json::from_value(json!(text)).map_err(|error| anyhow!("quantity {text:?}: {error}"))
}

fn parse_money(text: &str) -> Result<Money> {
    let minor: i64 = text
        .parse()
        .map_err(|_| anyhow!("{text:?} is not an amount in minor units (1250 = 12.50)"))?;
    Money::new(minor).map_err(|error| anyhow!("amount {text}: {error}"))
}

fn parse_note(text: &str) -> Result<Note> {
    Note::parse(text).map_err(|error| anyhow!("note: {error}"))
}

impl Edits {
    fn ops(&self) -> Result<Vec<Op>> {
        let mut ops = Vec::new();
        for add in &self.add {
            let (product, qty) = add.split_once(':').unwrap_or((add, "1"));
            let product_id = ProductId(
                product
                    .parse()
                    .map_err(|_| anyhow!("{product:?} is not a product id"))?,
            );
            ops.push(Op::AddLine {
                line_id: new_line_id(),
                product_id,
                qty: parse_quantity(qty)?,
                unit_price: None,
                discount: None,
                note: None,
            });
        }
        for pair in &self.set_qty {
            let (line, qty) = split_pair(pair, "--set-qty")?;
            ops.push(Op::SetQty {
                line_id: parse_line_id(line)?,
                qty: parse_quantity(qty)?,
            });
        }
        for pair in &self.set_price {
            let (line, price) = split_pair(pair, "--set-price")?;
            ops.push(Op::SetPrice {
                line_id: parse_line_id(line)?,
                unit_price: parse_money(price)?,
            });
        }
        for pair in &self.set_discount {
            let (line, percent) = split_pair(pair, "--set-discount")?;
            let discount: Discount = serde_json::from_value(json!(percent))
                .map_err(|error| anyhow!("discount {percent:?}: {error}"))?;
            ops.push(Op::SetDiscount {
                line_id: parse_line_id(line)?,
                discount,
            });
        }
        for line in &self.remove_line {
            ops.push(Op::RemoveLine {
                line_id: parse_line_id(line)?,
            });
        }
        if let Some(customer) = &self.set_customer {
            let customer_id = match customer.as_str() {
                "none" => None,
                id => {
                    Some(CustomerId(id.parse().map_err(|_| {
                        anyhow!("{id:?} is not a customer id (or `none`)")
                    })?))
                }
            };
            ops.push(Op::SetCustomer { customer_id });
        }
        if let Some(note) = &self.set_note {
            ops.push(Op::SetNote {
                note: parse_note(note)?,
            });
        }
        Ok(ops)
    }
}

/// The terminal token: given, or from logging in and opening the config's session.
async fn terminal_token(args: &OrderArgs) -> Result<String> {
    if let Some(token) = &args.token {
        return Ok(token.clone());
    }
    let (Some(login), Some(password), Some(config)) = (&args.login, &args.password, args.config)
    else {
        bail!("give --token, or --login, --password and --config");
    };
    let user = HttpApi::login(&args.url, login, password).await?;
    Ok(user.open_session(ConfigId(config)).await?.terminal_token)
}

/// What this run has heard of its ops: which were answered, the highest
/// version acknowledged for each order, and the orders removed (paid or
/// cancelled). Ops left in the outbox by earlier runs may be answered as soon
/// as the client connects, before it says it is synced, so every phase
/// records what it reads.
#[derive(Default)]
struct Answered {
    ops: BTreeSet<OpId>,
    acked: BTreeMap<OrderId, u64>,
    removed: BTreeSet<OrderId>,
}

impl Answered {
    fn record(&mut self, event: &Event) {
        match event {
            Event::OpAcked {
                op_id,
                order_id,
                version,
                duplicate,
            } => {
                self.ops.insert(*op_id);
                // A duplicate took effect in an earlier run: the catch-up
                // already brought the order as it is now, or left it out
                // (paid or cancelled since), and no change follows.
                if !duplicate {
                    let entry = self.acked.entry(*order_id).or_default();
                    *entry = (*entry).max(*version);
                }
            }
            Event::OpRejected { op_id, .. } | Event::OpDropped { op_id, .. } => {
                self.ops.insert(*op_id);
            }
            Event::OrderRemoved { order_id, .. } => {
                self.removed.insert(*order_id);
            }
            _ => {}
        }
    }

    /// Every op of `earlier` is answered, and every acknowledged op's change
    /// has reached the client's confirmed copy of its order (a `change`
    /// follows its `ack`), or the order is gone. Read from the events, not
    /// from the client's outbox: the client answers an op before its event
    /// is read, so an empty outbox does not mean the events are all in.
    fn settled(&self, earlier: &BTreeSet<OpId>, client: &Client) -> bool {
        earlier.is_subset(&self.ops)
            && self.acked.iter().all(|(order_id, version)| {
                self.removed.contains(order_id)
                    || client
                        .confirmed(*order_id)
                        .is_some_and(|order| order.version >= *version)
            })
    }
}

/// Reads events until the client is synced; an error when the server refuses us.
async fn wait_synced(
    events: &mut Events,
    answered: &mut Answered,
    deadline: Instant,
) -> Result<bool> {
    loop {
        match tokio::time::timeout_at(deadline, events.next()).await {
            Err(_) | Ok(None) => return Ok(false),
            Ok(Some(Event::Connection(ConnectionState::Synced))) => return Ok(true),
            Ok(Some(Event::Connection(ConnectionState::Stopped { reason }))) => {
                bail!("the server refused this terminal: {reason}")
            }
            Ok(Some(event)) => answered.record(&event),
        }
    }
}

/// Waits (until the deadline) for the ops left in the outbox by earlier runs
/// (`earlier`) to be answered, and for their changes to reach the confirmed
/// copies.
async fn wait_outbox_drained(
    client: &Client,
    events: &mut Events,
    earlier: &BTreeSet<OpId>,
    answered: &mut Answered,
    deadline: Instant,
) {
    while !answered.settled(earlier, client) {
        match tokio::time::timeout_at(deadline, events.next()).await {
            Err(_) | Ok(None) => return,
            Ok(Some(event)) => answered.record(&event),
        }
    }
}

/// What a run printed and how it ends.
enum Finish {
    Done,
    Queued(usize),
}

pub async fn run(args: OrderArgs) -> Result<u8> {
    let token = terminal_token(&args).await?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut options = ClientOptions::new(&args.url, &token, &args.outbox);
    options.reconnect_delay_max = Duration::from_secs(2);
    let (client, mut events) = Client::start(options).await?;
    // The outbox as the file held it, before anything was sent.
    let earlier: BTreeSet<OpId> = client
        .pending_ops()
        .into_iter()
        .map(|request| request.op_id)
        .collect();
    let outcome = drive(&args, &token, &client, &mut events, &earlier, deadline).await;
    let pending = client.pending_ops().len();
    client.shutdown().await?;
    match outcome? {
        Finish::Done if pending == 0 => Ok(0),
        Finish::Done => {
            eprintln!(
                "{pending} earlier ops still wait in {}",
                args.outbox.display()
            );
            Ok(0)
        }
        Finish::Queued(queued) => {
            eprintln!(
                "the server did not answer in time: {queued} ops wait in {} and go out with the next `possync order`",
                args.outbox.display()
            );
            Ok(EXIT_QUEUED)
        }
    }
}

async fn drive(
    args: &OrderArgs,
    token: &str,
    client: &Client,
    events: &mut Events,
    earlier: &BTreeSet<OpId>,
    deadline: Instant,
) -> Result<Finish> {
    let http = HttpApi::new(&args.url, token)?;
    let mut answered = Answered::default();
    let synced = wait_synced(events, &mut answered, deadline).await?;
    if synced {
        wait_outbox_drained(client, events, earlier, &mut answered, deadline).await;
    }
    let (order_id, ops) = match &args.verb {
        Verb::List { state } => {
            let state = OrderState::parse(state)
                .ok_or_else(|| anyhow!("--state is draft, paid or cancelled"))?;
            let orders = if state == OrderState::Draft {
                if !synced {
                    bail!("the server did not answer within {} s", args.timeout);
                }
                client.views()
            } else {
                http.orders(state).await?
            };
            print_orders(&orders, args.json);
            return Ok(Finish::Done);
        }
        Verb::Show { order_id } => {
            let order = match client.view(*order_id) {
                Some(order) => order,
                None => http.order(*order_id).await?,
            };
            print_order(&order, args.json);
            return Ok(Finish::Done);
        }
        Verb::Create {
            share,
            customer,
            note,
            edits,
        } => {
            let order_id = new_order_id();
            let mut ops = vec![Op::Create {
                config_id: None,
                customer_id: customer.map(CustomerId),
                note: note.as_deref().map(parse_note).transpose()?,
                share: share.then_some(true),
            }];
            ops.extend(edits.ops()?);
            (order_id, ops)
        }
        Verb::Edit { order_id, edits } => {
            let ops = edits.ops()?;
            if ops.is_empty() {
                bail!(
                    "nothing to change: give --add, --set-qty, --set-price, --set-discount, --remove-line, --set-customer or --set-note"
                );
            }
            (*order_id, ops)
        }
        Verb::Share { order_id } => (*order_id, vec![Op::Share {}]),
        Verb::Cancel { order_id, reason } => (
            *order_id,
            vec![Op::Cancel {
                reason: reason.as_deref().map(parse_note).transpose()?,
            }],
        ),
        Verb::Pay {
            order_id,
            payments,
            invoice,
        } => {
            if !synced {
                bail!(
                    "paying needs the current total: the server did not answer within {} s",
                    args.timeout
                );
            }
            let order = client
                .view(*order_id)
                .ok_or_else(|| anyhow!("order {order_id} is not a draft this session sees"))?;
            (*order_id, vec![pay_op(&order, payments, *invoice)?])
        }
    };
    let submitted = client
        .submit_all(ops.into_iter().map(|op| (order_id, op)).collect())
        .await?;
    let count = submitted.len();
    for (index, op) in submitted.into_iter().enumerate() {
        match tokio::time::timeout_at(deadline, op.outcome()).await {
            Err(_) | Ok(None) => return Ok(Finish::Queued(count - index)),
            Ok(Some(OpOutcome::Acked { .. })) => {}
            Ok(Some(OpOutcome::Rejected { code, message })) => {
                bail!("the server refused it ({code}): {message}")
            }
            Ok(Some(OpOutcome::Dropped { reason })) => {
                bail!("the order left this counter ({reason:?}) before the change was sent")
            }
        }
    }
    let order = http.order(order_id).await?;
    print_order(&order, args.json);
    Ok(Finish::Done)
}

fn pay_op(order: &Order, payments: &[String], invoice: bool) -> Result<Op> {
    let total = order.totals.total;
    let mut inputs = Vec::new();
    let mut paid = 0i64;
    for payment in payments {
        let (method, amount) = match payment.split_once(':') {
            Some((method, amount)) => (method, Some(parse_money(amount)?)),
            None => (payment.as_str(), None),
        };
        let method_id = PaymentMethodId(
            method
                .parse()
                .map_err(|_| anyhow!("{method:?} is not a payment method id"))?,
        );
        let amount = match amount {
            Some(amount) => amount,
            None => Money::new((total.minor() - paid).max(0))
                .map_err(|error| anyhow!("amount left to pay: {error}"))?,
        };
        paid += amount.minor();
        inputs.push(PaymentInput { method_id, amount });
    }
    Ok(Op::Pay {
        payments: inputs,
        expected_total: total,
        invoice: invoice.then_some(true),
    })
}

fn money(amount: Money) -> String {
    let minor = amount.minor();
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

fn print_order(order: &Order, as_json: bool) {
    if as_json {
        println!("{}", serde_json::to_string(order).unwrap_or_default());
        return;
    }
    println!(
        "{} {} ({}, version {}{}) total {}",
        if order.reference.is_empty() {
            "(new)"
        } else {
            order.reference.as_str()
        },
        order.id,
        order.state.as_str(),
        order.version,
        if order.shared { ", shared" } else { "" },
        money(order.totals.total)
    );
    for line in &order.lines {
        let qty = serde_json::to_value(line.qty)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!(
            "  {} {} × {} = {}  [line {}]",
            line.name.as_str(),
            qty,
            money(line.unit_price),
            money(line.total),
            line.id
        );
    }
}

fn print_orders(orders: &[Order], as_json: bool) {
    if as_json {
        println!("{}", json!({ "orders": orders }));
        return;
    }
    if orders.is_empty() {
        println!("no orders");
    }
    for order in orders {
        print_order(order, false);
    }
}
