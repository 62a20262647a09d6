//! The load side of a bench: a shop built through the HTTP API, terminals
//! on the SDK's wire code, and the bookkeeping that turns frames into
//! latencies ("edit → other counter", ack) and counts what went wrong.

use super::stats::Latencies;
use anyhow::{Context, Result, bail};
use futures_util::stream::SplitSink;
use futures_util::{FutureExt, SinkExt, StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use possync_client::http::HttpApi;
use possync_client::wire::{self, FrameKind, Socket};
use possync_core::{ConfigId, LineId, Op, OpId, OrderId, ProductId, Quantity, TerminalId};
use possync_protocol::{ClientMessage, OpRequest, PROTOCOL_VERSION, ServerMessage};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// HTTP calls in flight while building a shop.
const SETUP_CONCURRENCY: usize = 16;
/// Terminals connecting at once.
pub const CONNECT_CONCURRENCY: usize = 128;
/// How long to wait for the last answers and changes once sending stops.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

pub fn progress(length: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>12} [{bar:40}] {pos}/{len} {elapsed} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_owned());
    bar
}

/// One counter (config) with the terminal token of its open session.
#[derive(Debug, Clone)]
pub struct Counter {
    pub config_id: ConfigId,
    pub token: String,
}

/// A shop of linked pairs of counters.
#[derive(Debug, Clone)]
pub struct Shop {
    pub base_url: String,
    pub product_id: ProductId,
    pub pairs: Vec<(Counter, Counter)>,
}

impl Shop {
    /// Builds `pairs` linked pairs of counters, each with an open session,
    /// and one product, through the HTTP API as a manager.
    pub async fn build(manager: &HttpApi, pairs: usize) -> Result<Shop> {
        let run = &Uuid::now_v7().simple().to_string()[24..];
        let product: Value = manager
            .call(
                reqwest::Method::POST,
                "/products",
                Some(json!({"name": format!("Bench item {run}"), "price": 100})),
            )
            .await?;
        let product_id = ProductId(product["id"].as_i64().context("product id")?);
        let bar = progress(pairs as u64, "shop");
        let built: Vec<(Counter, Counter)> = futures_util::stream::iter(0..pairs)
            .map(|index| {
                let (manager, bar) = (manager.clone(), bar.clone());
                async move {
                    let a: Value = manager
                        .call(
                            reqwest::Method::POST,
                            "/configs",
                            Some(json!({"name": format!("Bench {run} {index} A")})),
                        )
                        .await?;
                    let b: Value = manager
                        .call(
                            reqwest::Method::POST,
                            "/configs",
                            Some(json!({"name": format!("Bench {run} {index} B"), "sync_with": [a["id"]]})),
                        )
                        .await?;
                    let mut counters = Vec::new();
                    for config in [a, b] {
                        let config_id = ConfigId(config["id"].as_i64().context("config id")?);
                        let session = manager.open_session(config_id).await?;
                        counters.push(Counter {
                            config_id,
                            token: session.terminal_token,
                        });
                    }
                    bar.inc(1);
                    let b = counters.pop().context("two counters")?;
                    let a = counters.pop().context("two counters")?;
                    anyhow::Ok((a, b))
                }
            })
            .buffered(SETUP_CONCURRENCY)
            .try_collect()
            .await?;
        bar.finish_and_clear();
        Ok(Shop {
            base_url: manager.base_url().to_owned(),
            product_id,
            pairs: built,
        })
    }

    /// Every counter: pair 0 A, pair 0 B, pair 1 A, ...
    pub fn counters(&self) -> Vec<Counter> {
        self.pairs
            .iter()
            .flat_map(|(a, b)| [a.clone(), b.clone()])
            .collect()
    }
}

/// A connected, caught-up terminal.
#[derive(Debug)]
pub struct Terminal {
    pub config_id: ConfigId,
    pub socket: Socket,
    /// `order` messages received during catch-up.
    pub orders_caught_up: usize,
}

/// Connects, says `hello` with nothing known, and reads until `synced`.
pub async fn connect(base_url: &str, counter: &Counter) -> Result<Terminal> {
    let mut socket = wire::connect(base_url, &counter.token, Duration::from_secs(30)).await?;
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        terminal: TerminalId(Uuid::now_v7()),
        known: BTreeMap::new(),
    };
    wire::send(&mut socket, &hello).await?;
    let mut orders_caught_up = 0;
    loop {
        let text = wire::next_text(&mut socket)
            .await
            .map_err(|end| anyhow::anyhow!("during catch-up: {end}"))?;
        match wire::summarize(text.as_str()).map(|summary| summary.kind) {
            Some(FrameKind::Synced) => break,
            Some(FrameKind::Order) => orders_caught_up += 1,
            Some(FrameKind::Error) => bail!("during catch-up: {text}"),
            _ => {}
        }
    }
    Ok(Terminal {
        config_id: counter.config_id,
        socket,
        orders_caught_up,
    })
}

/// Connects one terminal per entry of `counters`, `CONNECT_CONCURRENCY` at a time.
pub async fn connect_all(
    base_url: &str,
    counters: &[Counter],
    what: &str,
) -> Result<Vec<Terminal>> {
    let bar = progress(counters.len() as u64, what);
    let terminals = futures_util::stream::iter(counters.iter().cloned())
        .map(|counter| {
            let bar = bar.clone();
            async move {
                let terminal = connect(base_url, &counter).await;
                bar.inc(1);
                terminal
            }
        })
        .buffered(CONNECT_CONCURRENCY)
        .try_collect()
        .await;
    bar.finish_and_clear();
    terminals
}

/// The op a bench terminal sends: one more of the order's line.
pub fn add_one(order_id: OrderId, line_id: LineId) -> OpRequest {
    OpRequest {
        approval: None,
        op_id: OpId(Uuid::now_v7()),
        order_id,
        op: Op::AddQty {
            line_id,
            delta: Quantity::from_milli(1000).unwrap_or_default(),
        },
    }
}

/// A draft with one line that bench terminals then edit.
#[derive(Debug, Clone, Copy)]
pub struct Draft {
    pub order_id: OrderId,
    pub line_id: LineId,
}

/// Creates drafts (shared or not) through a terminal's socket, `window` ops in flight.
pub async fn create_drafts(
    terminal: &mut Terminal,
    product_id: ProductId,
    count: usize,
    share: bool,
    window: usize,
) -> Result<Vec<Draft>> {
    let drafts: Vec<Draft> = (0..count)
        .map(|_| Draft {
            order_id: OrderId(Uuid::now_v7()),
            line_id: LineId(Uuid::now_v7()),
        })
        .collect();
    let mut ops = drafts.iter().flat_map(|draft| {
        [
            OpRequest {
                approval: None,
                op_id: OpId(Uuid::now_v7()),
                order_id: draft.order_id,
                op: Op::Create {
                    config_id: None,
                    customer_id: None,
                    note: None,
                    share: Some(share),
                },
            },
            OpRequest {
                approval: None,
                op_id: OpId(Uuid::now_v7()),
                order_id: draft.order_id,
                op: Op::AddLine {
                    line_id: draft.line_id,
                    product_id,
                    qty: Quantity::from_milli(1000).unwrap_or_default(),
                    unit_price: None,
                    discount: None,
                    note: None,
                },
            },
        ]
    });
    let total = count * 2;
    let (mut sent, mut acked) = (0usize, 0usize);
    // Ops sent and not yet acknowledged, to resend on a retryable reject
    // (`rate_limited`, `unavailable`) with the same op id, as a till would.
    let mut unanswered: HashMap<OpId, OpRequest> = HashMap::new();
    let mut resends = 0usize;
    while acked < total {
        while sent < total && sent - acked < window.max(1) {
            let Some(request) = ops.next() else { break };
            wire::send(&mut terminal.socket, &ClientMessage::Op(request.clone())).await?;
            unanswered.insert(request.op_id, request);
            sent += 1;
        }
        let text = wire::next_text(&mut terminal.socket)
            .await
            .map_err(|end| anyhow::anyhow!("while creating drafts: {end}"))?;
        match wire::summarize(text.as_str()).map(|summary| summary.kind) {
            Some(FrameKind::Ack) => {
                if let Ok(ServerMessage::Ack { op_id, .. }) = wire::decode(text.as_str()) {
                    unanswered.remove(&op_id);
                }
                acked += 1;
            }
            Some(FrameKind::Reject) => {
                let retry = match wire::decode(text.as_str()) {
                    Ok(ServerMessage::Reject { op_id, code, .. }) if code.is_retryable() => {
                        unanswered.get(&op_id).cloned()
                    }
                    _ => None,
                };
                let Some(request) = retry else {
                    bail!("while creating drafts: {text}")
                };
                resends += 1;
                if resends > total.saturating_mul(10) {
                    bail!("while creating drafts: still refused after {resends} resends: {text}");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                wire::send(&mut terminal.socket, &ClientMessage::Op(request)).await?;
            }
            Some(FrameKind::Error) => bail!("while creating drafts: {text}"),
            _ => {}
        }
    }
    Ok(drafts)
}

/// An op in flight, waiting for the terminals of the other counter to see it.
#[derive(Debug)]
struct InFlight {
    sender_config: ConfigId,
    sent_at: Instant,
    observers_left: u32,
    done: Option<oneshot::Sender<()>>,
}

/// What every terminal of a run shares: ops in flight and what was observed.
#[derive(Debug, Default)]
pub struct Registry {
    in_flight: Mutex<HashMap<OpId, InFlight>>,
    /// Edit → other counter: until the last terminal of the other counter had the change.
    pub edits: Mutex<Latencies>,
    pub acks: Mutex<Latencies>,
    pub edits_expected: AtomicU64,
    pub edits_observed: AtomicU64,
    pub acked: AtomicU64,
    pub errors: AtomicU64,
    pub error_samples: Mutex<Vec<String>>,
    /// Terminals still sending or waiting for answers.
    pub senders_active: AtomicU64,
}

impl Registry {
    async fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut samples = self.error_samples.lock().await;
        if samples.len() < 5 {
            samples.push(what);
        }
    }

    async fn sent(
        &self,
        op_id: OpId,
        sender_config: ConfigId,
        observers: u32,
    ) -> Option<oneshot::Receiver<()>> {
        if observers == 0 {
            return None;
        }
        self.edits_expected
            .fetch_add(u64::from(observers), Ordering::Relaxed);
        let (done, finished) = oneshot::channel();
        self.in_flight.lock().await.insert(
            op_id,
            InFlight {
                sender_config,
                sent_at: Instant::now(),
                observers_left: observers,
                done: Some(done),
            },
        );
        Some(finished)
    }

    async fn observed(&self, op_id: OpId, observer_config: ConfigId) {
        let mut in_flight = self.in_flight.lock().await;
        let Some(entry) = in_flight.get_mut(&op_id) else {
            return;
        };
        if entry.sender_config == observer_config {
            return;
        }
        self.edits_observed.fetch_add(1, Ordering::Relaxed);
        entry.observers_left = entry.observers_left.saturating_sub(1);
        if entry.observers_left == 0
            && let Some(entry) = in_flight.remove(&op_id)
        {
            drop(in_flight);
            self.edits.lock().await.record(entry.sent_at.elapsed());
            if let Some(done) = entry.done {
                let _ = done.send(());
            }
        }
    }

    async fn forget(&self, op_id: OpId) {
        self.in_flight.lock().await.remove(&op_id);
    }

    /// Ops whose change has not reached every terminal of the other counter.
    pub async fn unobserved(&self) -> usize {
        self.in_flight.lock().await.len()
    }
}

/// How a terminal sends during the measured phase.
#[derive(Debug, Clone)]
pub enum Sending {
    /// Only reads (and counts what it observes).
    Nothing,
    /// One op at a time: the next once the ack and every observation are in.
    ClosedLoop { draft: Draft, ops: usize },
    /// One op every `interval`, starting after `phase`, until `until`.
    Rate {
        draft: Draft,
        interval: Duration,
        phase: Duration,
        until: Instant,
    },
    /// Keeps `window` ops in flight until `until`.
    Window {
        draft: Draft,
        window: usize,
        until: Instant,
    },
}

/// One terminal's part in a run.
#[derive(Debug)]
pub struct Role {
    pub terminal: Terminal,
    pub sending: Sending,
    /// Terminals of other counters that will see each of its ops.
    pub observers: u32,
}

/// Reads frames into the registry; sends per `sending`; ends when its
/// sending is done and answered, and `stop` says every sender is done.
pub async fn run_terminal(
    role: Role,
    registry: Arc<Registry>,
    mut stop: watch::Receiver<bool>,
    bar: ProgressBar,
) -> Result<()> {
    let Role {
        terminal,
        sending,
        observers,
    } = role;
    let config_id = terminal.config_id;
    let (mut sink, mut stream) = terminal.socket.split();
    let mut pending: HashMap<OpId, Instant> = HashMap::new();
    let mut sent = 0usize;
    let mut waiting_observation: Option<oneshot::Receiver<()>> = None;
    let mut reported_done = false;
    let mut unflushed = false;
    let mut next_send = match &sending {
        Sending::Rate { phase, .. } => Some(Instant::now() + *phase),
        Sending::Nothing => None,
        _ => Some(Instant::now()),
    };
    loop {
        // Decide what may be sent now.
        let may_send = match &sending {
            Sending::Nothing => false,
            Sending::ClosedLoop { ops, .. } => {
                sent < *ops && pending.is_empty() && waiting_observation.is_none()
            }
            Sending::Rate { until, .. } => {
                next_send.is_some_and(|at| at <= Instant::now() && at < *until)
            }
            Sending::Window { window, until, .. } => {
                pending.len() < *window && Instant::now() < *until
            }
        };
        if may_send {
            let draft = match &sending {
                Sending::ClosedLoop { draft, .. }
                | Sending::Rate { draft, .. }
                | Sending::Window { draft, .. } => *draft,
                Sending::Nothing => unreachable!("may_send is false"),
            };
            let request = add_one(draft.order_id, draft.line_id);
            let op_id = request.op_id;
            pending.insert(op_id, Instant::now());
            waiting_observation = registry.sent(op_id, config_id, observers).await;
            feed(&mut sink, &request).await?;
            unflushed = true;
            sent += 1;
            bar.inc(1);
            if let Sending::Rate { interval, .. } = &sending {
                next_send = next_send.map(|at| at + *interval);
            }
            continue;
        }
        let done_sending = match &sending {
            Sending::Nothing => true,
            Sending::ClosedLoop { ops, .. } => sent >= *ops,
            Sending::Rate { until, .. } | Sending::Window { until, .. } => Instant::now() >= *until,
        };
        if done_sending && pending.is_empty() && !reported_done {
            reported_done = true;
            registry.senders_active.fetch_sub(1, Ordering::Relaxed);
        }
        // The ops of a window go to the kernel together: one write for the
        // ops the acks of one server write let go.
        if std::mem::take(&mut unflushed) {
            sink.flush().await.context("sending ops")?;
        }
        if *stop.borrow() {
            break;
        }
        let wake = match &sending {
            Sending::Rate { until, .. } => next_send.filter(|at| at < until),
            Sending::Window { until, .. } if Instant::now() < *until => Some(*until),
            _ => None,
        };
        tokio::select! {
            frame = stream.next() => {
                // This frame and those already read with it (the acks of one
                // server write): the window refills once for all of them.
                let mut frame = Some(frame);
                while let Some(next) = frame {
                    if let Some(rejected) = handle_frame(next, &mut pending, &registry, config_id).await? {
                        registry.forget(rejected).await;
                        waiting_observation = None;
                    }
                    frame = stream.next().now_or_never();
                }
            }
            () = async {
                match waiting_observation.as_mut() {
                    Some(receiver) => { let _ = receiver.await; }
                    None => std::future::pending().await,
                }
            } => {
                waiting_observation = None;
            }
            () = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    let _ = sink.close().await;
    Ok(())
}

/// Queues an op on the socket; it goes out at the next flush (or once the
/// socket's write buffer is full).
async fn feed(sink: &mut SplitSink<Socket, Message>, request: &OpRequest) -> Result<()> {
    sink.feed(Message::text(wire::encode(&ClientMessage::Op(
        request.clone(),
    ))))
    .await
    .context("sending an op")
}

/// Books one frame; answers the op id of a reject (its observations will never come).
async fn handle_frame(
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    pending: &mut HashMap<OpId, Instant>,
    registry: &Registry,
    config_id: ConfigId,
) -> Result<Option<OpId>> {
    let text = match frame {
        Some(Ok(Message::Text(text))) => text,
        Some(Ok(Message::Close(frame))) => bail!("the server closed a bench connection: {frame:?}"),
        Some(Ok(_)) => return Ok(None),
        Some(Err(error)) => bail!("a bench connection broke: {error}"),
        None => bail!("a bench connection ended"),
    };
    let Some(summary) = wire::summarize(text.as_str()) else {
        registry.error(format!("unreadable frame: {text}")).await;
        return Ok(None);
    };
    match summary.kind {
        FrameKind::Ack => {
            if let Some(sent_at) = summary.op_id.and_then(|op_id| pending.remove(&op_id)) {
                registry.acks.lock().await.record(sent_at.elapsed());
                registry.acked.fetch_add(1, Ordering::Relaxed);
            }
        }
        FrameKind::Change => {
            if let Some(op_id) = summary.op_id {
                registry.observed(op_id, config_id).await;
            }
        }
        FrameKind::Reject => {
            registry.error(format!("reject: {text}")).await;
            if let Some(op_id) = summary.op_id {
                pending.remove(&op_id);
                return Ok(Some(op_id));
            }
        }
        FrameKind::Error => registry.error(format!("error: {text}")).await,
        _ => {}
    }
    Ok(None)
}
