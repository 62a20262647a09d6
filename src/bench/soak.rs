//! `possync bench soak --minutes N`: a shop's long day, compressed, against
//! one server, while the server's memory, descriptors and tasks are sampled.
//!
//! For N minutes, at once:
//! - cashiers (counter A of each linked pair) make orders: create, add
//!   lines, add to one, pay exactly; one op at a time, each resent by op id
//!   until acknowledged; now and then the connection is dropped right after
//!   an op was sent, and the terminal reconnects and resends it;
//! - readers (counter B) follow the changes, say where they are (presence),
//!   and drop and reconnect every so often;
//! - slow terminals (counter B) say `hello`, then stop reading for a while
//!   as changes keep coming, then read again or just go;
//! - a hostile terminal sends garbage, binary, oversized and out-of-place
//!   frames; others connect with a bad token, or connect and never say `hello`.
//!
//! It fails when the server's memory, open descriptors or tokio tasks keep
//! growing (the median of the last third of the samples against that of
//! the first third, beyond a margin for noise), when any acknowledged op is
//! missing from its order's history or is in it twice, when two acks of one
//! op name different versions, or when an orderly op is refused.

use super::load::{Counter, Shop};
use super::scenarios::{Measured, ScenarioContext};
use super::stats::process_usage;
use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use possync_client::http::HttpApi;
use possync_client::wire::{self, FrameKind, Socket};
use possync_core::{
    LineId, Money, Op, OpId, OrderId, PaymentMethodId, ProductId, Quantity, TerminalId,
};
use possync_protocol::{ClientMessage, OpRequest, PROTOCOL_VERSION, ServerMessage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// Linked pairs of counters: a cashier and a reader each.
const PAIRS: usize = 3;
/// Slow terminals (each on a pair's counter B).
const SLOW_TERMINALS: usize = 2;
/// A cashier's pause between ops: a busy till, not a load test.
const THINK: Duration = Duration::from_millis(20);
/// One cashier op in this many drops the connection right after it is sent.
const DROP_ONE_IN: u32 = 40;
/// How long an answer may take before the op counts as lost.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// The price of the bench product (no taxes): a line of `n` costs `n * 100`.
const PRICE_MINOR: i64 = 100;
/// A frame over the server's bound (64 KiB).
const OVERSIZED_BYTES: usize = 70 * 1024;

/// One reading of the server process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoakSample {
    pub at_s: f64,
    pub rss_kib: u64,
    pub fds: u64,
    pub threads: u64,
    /// `possync_runtime_tasks` from `/metrics`.
    pub tasks: Option<u64>,
    /// `possync_connections` from `/metrics`.
    pub connections: Option<u64>,
}

/// What every worker shares: what was acknowledged, and counts.
#[derive(Debug, Default)]
struct Ledger {
    /// Every acknowledged op: its order and version.
    acked: Mutex<BTreeMap<OpId, (OrderId, u64)>>,
    orders: Mutex<BTreeSet<OrderId>>,
    ops_sent: AtomicU64,
    acks: AtomicU64,
    duplicate_acks: AtomicU64,
    retries: AtomicU64,
    orders_paid: AtomicU64,
    drops: AtomicU64,
    reconnects: AtomicU64,
    changes_seen: AtomicU64,
    stalls: AtomicU64,
    closed_too_slow: AtomicU64,
    garbage_frames: AtomicU64,
    garbage_answered: AtomicU64,
    garbage_closed: AtomicU64,
    oversized_frames: AtomicU64,
    bad_tokens_refused: AtomicU64,
    mute_closed: AtomicU64,
    errors: AtomicU64,
    error_samples: Mutex<Vec<String>>,
}

impl Ledger {
    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut samples = self
            .error_samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if samples.len() < 8 {
            samples.push(what);
        }
    }

    /// Books an ack; two acks of one op must name the same version.
    fn acked(&self, op_id: OpId, order_id: OrderId, version: u64, duplicate: bool) {
        Self::count(&self.acks);
        if duplicate {
            Self::count(&self.duplicate_acks);
        }
        let mut acked = self
            .acked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(first) = acked.insert(op_id, (order_id, version))
            && first != (order_id, version)
        {
            drop(acked);
            self.error(format!(
                "op {op_id} acked as version {} then as version {version}",
                first.1
            ));
        }
    }
}

/// Everything the workers need.
#[derive(Debug)]
struct Soak {
    base_url: String,
    product_id: ProductId,
    cash: PaymentMethodId,
    until: Instant,
    ledger: Ledger,
}

pub async fn soak(context: ScenarioContext<'_>) -> Result<Measured> {
    let duration = context.sizes.soak_duration;
    let pid = context
        .pid
        .context("soak needs the server's process (--server-pid with --url)")?;
    let manager = context.manager;
    let shop = Shop::build(manager, PAIRS).await?;
    let cash: Value = manager
        .call(
            reqwest::Method::POST,
            "/payment_methods",
            Some(json!({"name": format!("Soak cash {}", Uuid::now_v7().simple()), "kind": "cash"})),
        )
        .await?;
    let cash = PaymentMethodId(cash["id"].as_i64().context("payment method id")?);
    let started = Instant::now();
    let soak = Arc::new(Soak {
        base_url: shop.base_url.clone(),
        product_id: shop.product_id,
        cash,
        until: started + duration,
        ledger: Ledger::default(),
    });
    eprintln!(
        "soaking for {:.1} min: {PAIRS} cashiers, {PAIRS} readers, {SLOW_TERMINALS} slow terminals, 1 hostile, 1 mute",
        duration.as_secs_f64() / 60.0
    );
    let mut workers = Vec::new();
    for (index, (a, b)) in shop.pairs.iter().enumerate() {
        workers.push(tokio::spawn(cashier(soak.clone(), a.clone(), index as u64)));
        workers.push(tokio::spawn(reader(soak.clone(), b.clone(), index as u64)));
    }
    for index in 0..SLOW_TERMINALS {
        let (_, b) = &shop.pairs[index % shop.pairs.len()];
        workers.push(tokio::spawn(slow(soak.clone(), b.clone())));
    }
    let (a, _) = &shop.pairs[0];
    workers.push(tokio::spawn(hostile(soak.clone(), a.clone())));
    workers.push(tokio::spawn(mute(soak.clone(), a.clone())));

    let sample_every = (duration / 120).clamp(Duration::from_secs(1), Duration::from_secs(30));
    let metrics = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut samples = Vec::new();
    let bar = super::load::progress(duration.as_secs(), "soak s");
    while Instant::now() < soak.until {
        samples.push(sample(pid, started, &metrics, manager).await?);
        bar.set_position(started.elapsed().as_secs());
        sleep(sample_every.min(soak.until.saturating_duration_since(Instant::now()))).await;
    }
    bar.finish_and_clear();
    for worker in workers {
        match timeout(ANSWER_TIMEOUT * 2, worker).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => soak.ledger.error(format!("a worker failed: {error:#}")),
            Ok(Err(error)) => soak.ledger.error(format!("a worker panicked: {error}")),
            Err(_) => soak
                .ledger
                .error("a worker did not end within a minute".to_owned()),
        }
    }
    let elapsed = started.elapsed();
    samples.push(sample(pid, started, &metrics, manager).await?);
    let (checked, history_errors) = check_history(manager, &soak.ledger).await?;
    for error in history_errors {
        soak.ledger.error(error);
    }
    let growth = growth_problems(&samples);
    for problem in &growth.problems {
        soak.ledger.error(problem.clone());
    }
    let ledger = &soak.ledger;
    let n = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    let peak_rss = samples.iter().map(|sample| sample.rss_kib).max();
    let mut notes = vec![
        format!(
            "{:.1} min, {} samples every {:.0} s",
            elapsed.as_secs_f64() / 60.0,
            samples.len(),
            sample_every.as_secs_f64()
        ),
        format!(
            "ops sent {} (retries {}), acked {} ({} duplicate acks), orders paid {}, changes seen by readers {}",
            n(&ledger.ops_sent),
            n(&ledger.retries),
            n(&ledger.acks),
            n(&ledger.duplicate_acks),
            n(&ledger.orders_paid),
            n(&ledger.changes_seen),
        ),
        format!(
            "connections dropped mid-op {}, reconnects {}, stalls {} ({} closed as too slow)",
            n(&ledger.drops),
            n(&ledger.reconnects),
            n(&ledger.stalls),
            n(&ledger.closed_too_slow),
        ),
        format!(
            "hostile frames {} ({} answered, {} closed the connection), oversized frames {}, bad tokens refused {}, silent connections closed {}",
            n(&ledger.garbage_frames),
            n(&ledger.garbage_answered),
            n(&ledger.garbage_closed),
            n(&ledger.oversized_frames),
            n(&ledger.bad_tokens_refused),
            n(&ledger.mute_closed),
        ),
        format!(
            "acked ops checked against history: {checked} (missing or twice: {})",
            ledger
                .error_samples
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .filter(|sample| sample.contains("history"))
                .count()
        ),
    ];
    notes.extend(growth.figures);
    let error_samples = ledger
        .error_samples
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Ok(Measured {
        ops: n(&ledger.acks),
        elapsed,
        errors: n(&ledger.errors),
        error_samples,
        terminals: PAIRS * 2 + SLOW_TERMINALS + 2,
        server_rss_kib: peak_rss,
        notes,
        soak_samples: samples,
        ..Measured::default()
    })
}

async fn sample(
    pid: u32,
    started: Instant,
    client: &reqwest::Client,
    manager: &HttpApi,
) -> Result<SoakSample> {
    let usage = process_usage(pid).context("the server process is gone")?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| entries.count() as u64)
        .context("reading the server's open descriptors")?;
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Threads:"))
                .and_then(|value| value.trim().parse().ok())
        })
        .unwrap_or(0);
    let text = client
        .get(format!("{}/metrics", manager.base_url()))
        .bearer_auth(manager.token())
        .send()
        .await
        .and_then(reqwest::Response::error_for_status);
    let text = match text {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let metric = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .map(|value| value as u64)
    };
    Ok(SoakSample {
        at_s: started.elapsed().as_secs_f64(),
        rss_kib: usage.rss_kib,
        fds,
        threads,
        tasks: metric("possync_runtime_tasks"),
        connections: metric("possync_connections"),
    })
}

/// What the samples say: figures, and a problem per measure that kept growing.
#[derive(Debug, Default, PartialEq)]
pub struct Growth {
    pub figures: Vec<String>,
    pub problems: Vec<String>,
}

fn median(mut values: Vec<u64>) -> Option<u64> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

/// Compares the median of the last third of the run with that of the first
/// third. Noise allowed: memory may grow by 20 % or 16 MiB, whichever is
/// more (allocator and page cache warming up); descriptors and tasks by
/// 25 % or 16, whichever is more (connections come and go).
pub fn growth_problems(samples: &[SoakSample]) -> Growth {
    let mut growth = Growth::default();
    let Some(end) = samples.last().map(|sample| sample.at_s) else {
        return growth;
    };
    let first: Vec<&SoakSample> = samples.iter().filter(|s| s.at_s < end / 3.0).collect();
    let last: Vec<&SoakSample> = samples
        .iter()
        .filter(|s| s.at_s >= end * 2.0 / 3.0)
        .collect();
    if first.is_empty() || last.is_empty() {
        growth
            .problems
            .push(format!("too few samples ({}) to compare", samples.len()));
        return growth;
    }
    // (name, unit, reading, noise allowed in units, noise allowed as a fraction)
    type Measure = (
        &'static str,
        &'static str,
        fn(&SoakSample) -> Option<u64>,
        u64,
        f64,
    );
    let measures: [Measure; 3] = [
        ("server RSS", "KiB", |s| Some(s.rss_kib), 16 * 1024, 0.20),
        ("open descriptors", "", |s| Some(s.fds), 16, 0.25),
        ("tokio tasks", "", |s| s.tasks, 16, 0.25),
    ];
    for (name, unit, read, slack_abs, slack_rel) in measures {
        let early = median(first.iter().filter_map(|s| read(s)).collect());
        let late = median(last.iter().filter_map(|s| read(s)).collect());
        let (Some(early), Some(late)) = (early, late) else {
            growth
                .figures
                .push(format!("{name}: not measured (no samples)"));
            continue;
        };
        let allowed = early + slack_abs.max((early as f64 * slack_rel) as u64);
        let all: Vec<u64> = samples.iter().filter_map(read).collect();
        let (min, max) = (
            all.iter().min().copied().unwrap_or(0),
            all.iter().max().copied().unwrap_or(0),
        );
        growth.figures.push(format!(
            "{name}: first third median {early}{unit}, last third median {late}{unit} (allowed {allowed}{unit}; min {min}{unit}, max {max}{unit})",
            unit = if unit.is_empty() { String::new() } else { format!(" {unit}") }
        ));
        if late > allowed {
            growth.problems.push(format!(
                "{name} kept growing: median {early} in the first third, {late} in the last (allowed {allowed})"
            ));
        }
    }
    growth
}

/// Every acknowledged op is in its order's history exactly once, at the
/// version it was acknowledged with. Answers how many were checked and what is wrong.
async fn check_history(manager: &HttpApi, ledger: &Ledger) -> Result<(usize, Vec<String>)> {
    let acked = ledger
        .acked
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let orders: Vec<OrderId> = ledger
        .orders
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .copied()
        .collect();
    let bar = super::load::progress(orders.len() as u64, "history");
    let histories: Vec<(
        OrderId,
        Result<Vec<possync_client::http::HistoryEntry>, String>,
    )> = futures_util::stream::iter(orders)
        .map(|order_id| {
            let bar = bar.clone();
            async move {
                let history = manager
                    .history(order_id)
                    .await
                    .map_err(|error| error.to_string());
                bar.inc(1);
                (order_id, history)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    bar.finish_and_clear();
    let mut problems = Vec::new();
    let mut found: BTreeMap<OpId, (OrderId, u64)> = BTreeMap::new();
    for (order_id, history) in histories {
        let history = match history {
            Ok(history) => history,
            Err(error) => {
                problems.push(format!("history of {order_id} could not be read: {error}"));
                continue;
            }
        };
        for entry in history {
            if found
                .insert(entry.op_id, (order_id, entry.version))
                .is_some()
            {
                problems.push(format!(
                    "op {} is in the history twice (order {order_id})",
                    entry.op_id
                ));
            }
        }
    }
    for (op_id, (order_id, version)) in &acked {
        match found.get(op_id) {
            Some(at) if at == &(*order_id, *version) => {}
            Some(at) => problems.push(format!(
                "acked op {op_id} is in the history of {} at version {}, acked as {order_id} version {version}",
                at.0, at.1
            )),
            None => problems.push(format!(
                "acked op {op_id} (order {order_id} version {version}) is missing from the history"
            )),
        }
    }
    Ok((acked.len(), problems))
}

/// Connects, says `hello` as `terminal`, and reads until `synced`.
async fn connect(soak: &Soak, token: &str, terminal: TerminalId) -> Result<Socket> {
    let mut socket = wire::connect(&soak.base_url, token, Duration::from_secs(30))
        .await
        .map_err(|error| anyhow!("connecting: {error}"))?;
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        terminal,
        known: BTreeMap::new(),
    };
    wire::send(&mut socket, &hello).await?;
    loop {
        let text = timeout(ANSWER_TIMEOUT, wire::next_text(&mut socket))
            .await
            .context("no `synced` within 30 s")?
            .map_err(|end| anyhow!("during catch-up: {end}"))?;
        match wire::summarize(text.as_str()).map(|summary| summary.kind) {
            Some(FrameKind::Synced) => return Ok(socket),
            Some(FrameKind::Error) => bail!("during catch-up: {text}"),
            _ => {}
        }
    }
}

/// A cashier: orders made and paid, one op at a time, each resent by op id
/// until acknowledged.
async fn cashier(soak: Arc<Soak>, counter: Counter, index: u64) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(index);
    let terminal = TerminalId(Uuid::now_v7());
    let mut socket: Option<Socket> = None;
    while Instant::now() < soak.until {
        let order_id = OrderId(Uuid::now_v7());
        soak.ledger
            .orders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(order_id);
        let mut ops = vec![Op::create_shared(true)];
        let mut quantity = 0;
        let mut first_line = None;
        for _ in 0..rng.gen_range(1..=3) {
            let line_id = LineId(Uuid::now_v7());
            first_line.get_or_insert(line_id);
            let qty = rng.gen_range(1..=3);
            quantity += qty;
            ops.push(Op::add_line(
                line_id,
                soak.product_id,
                Quantity::from_milli(qty * 1000).unwrap_or(Quantity::ONE),
            ));
        }
        if let Some(line_id) = first_line
            && rng.gen_bool(0.3)
        {
            quantity += 1;
            ops.push(Op::add_qty(line_id, Quantity::ONE));
        }
        let total = Money::new(quantity * PRICE_MINOR).context("a small total")?;
        ops.push(Op::pay_exactly(soak.cash, total));
        for op in ops {
            let request = OpRequest {
                approval: None,
                op_id: OpId(Uuid::now_v7()),
                order_id,
                op,
            };
            until_acked(&soak, &counter, terminal, &mut socket, &mut rng, &request).await?;
            sleep(THINK).await;
        }
        Ledger::count(&soak.ledger.orders_paid);
    }
    if let Some(mut socket) = socket {
        let _ = socket.close(None).await;
    }
    Ok(())
}

/// Sends `request` (again after each failure) until it is acknowledged.
async fn until_acked(
    soak: &Soak,
    counter: &Counter,
    terminal: TerminalId,
    socket: &mut Option<Socket>,
    rng: &mut StdRng,
    request: &OpRequest,
) -> Result<()> {
    let gave_up_at = Instant::now() + ANSWER_TIMEOUT * 4;
    let mut attempt = 0u32;
    loop {
        if Instant::now() > gave_up_at {
            soak.ledger.error(format!(
                "op {} was not acknowledged within {} s",
                request.op_id,
                (ANSWER_TIMEOUT * 4).as_secs()
            ));
            return Ok(());
        }
        if attempt > 0 {
            Ledger::count(&soak.ledger.retries);
            sleep(Duration::from_millis(50 * u64::from(attempt.min(20)))).await;
        }
        attempt += 1;
        let mut open = match socket.take() {
            Some(open) => open,
            None => match connect(soak, &counter.token, terminal).await {
                Ok(open) => {
                    Ledger::count(&soak.ledger.reconnects);
                    open
                }
                Err(error) => {
                    soak.ledger
                        .error(format!("a cashier could not connect: {error:#}"));
                    continue;
                }
            },
        };
        Ledger::count(&soak.ledger.ops_sent);
        if wire::send(&mut open, &ClientMessage::Op(request.clone()))
            .await
            .is_err()
        {
            continue;
        }
        if rng.gen_ratio(1, DROP_ONE_IN) {
            // Gone without a close frame, the op's answer unread.
            Ledger::count(&soak.ledger.drops);
            drop(open);
            continue;
        }
        loop {
            let text = match timeout(ANSWER_TIMEOUT, wire::next_text(&mut open)).await {
                Ok(Ok(text)) => text,
                Ok(Err(_)) => break,
                Err(_) => {
                    soak.ledger.error(format!(
                        "no answer to op {} within {} s",
                        request.op_id,
                        ANSWER_TIMEOUT.as_secs()
                    ));
                    break;
                }
            };
            let Some(summary) = wire::summarize(text.as_str()) else {
                continue;
            };
            if summary.op_id != Some(request.op_id) {
                continue;
            }
            match wire::decode(text.as_str()) {
                Ok(ServerMessage::Ack {
                    op_id,
                    order_id,
                    version,
                    duplicate,
                }) => {
                    soak.ledger.acked(op_id, order_id, version, duplicate);
                    *socket = Some(open);
                    return Ok(());
                }
                Ok(ServerMessage::Reject { code, .. }) if code.is_retryable() => {
                    *socket = Some(open);
                    break;
                }
                Ok(ServerMessage::Change { .. }) => {}
                _ => {
                    soak.ledger
                        .error(format!("an orderly op was refused: {text}"));
                    *socket = Some(open);
                    return Ok(());
                }
            }
        }
    }
}

/// A reader at the linked counter: follows changes, says where it is, and
/// reconnects every so often.
async fn reader(soak: Arc<Soak>, counter: Counter, index: u64) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(1_000 + index);
    let terminal = TerminalId(Uuid::now_v7());
    while Instant::now() < soak.until {
        let mut socket = match connect(&soak, &counter.token, terminal).await {
            Ok(socket) => socket,
            Err(error) => {
                soak.ledger
                    .error(format!("a reader could not connect: {error:#}"));
                sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        Ledger::count(&soak.ledger.reconnects);
        let stay_until =
            (Instant::now() + Duration::from_secs(rng.gen_range(10..40))).min(soak.until);
        let mut last_presence = Instant::now();
        while let Ok(frame) =
            tokio::time::timeout_at(stay_until, wire::next_text(&mut socket)).await
        {
            let Ok(text) = frame else { break };
            let Some(summary) = wire::summarize(text.as_str()) else {
                continue;
            };
            if summary.kind == FrameKind::Change {
                Ledger::count(&soak.ledger.changes_seen);
                if last_presence.elapsed() > Duration::from_secs(2)
                    && let Some(order_id) = summary.order_id
                {
                    last_presence = Instant::now();
                    let presence = ClientMessage::Presence {
                        order_id: Some(order_id),
                    };
                    if wire::send(&mut socket, &presence).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = socket.close(None).await;
    }
    Ok(())
}

/// A terminal that stops reading while changes keep coming, then reads what
/// is left (or is closed as too slow), or just goes.
async fn slow(soak: Arc<Soak>, counter: Counter) -> Result<()> {
    let terminal = TerminalId(Uuid::now_v7());
    let mut round = 0u64;
    while Instant::now() < soak.until {
        round += 1;
        let mut socket = match connect(&soak, &counter.token, terminal).await {
            Ok(socket) => socket,
            Err(error) => {
                soak.ledger
                    .error(format!("a slow terminal could not connect: {error:#}"));
                sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        Ledger::count(&soak.ledger.stalls);
        let stall =
            Duration::from_secs(15).min(soak.until.saturating_duration_since(Instant::now()));
        sleep(stall).await;
        if round.is_multiple_of(2) {
            // Gone without reading or closing.
            drop(socket);
            continue;
        }
        let drain_until = Instant::now() + Duration::from_secs(10);
        while let Ok(frame) =
            tokio::time::timeout_at(drain_until, wire::next_text(&mut socket)).await
        {
            match frame {
                Ok(_) => {}
                Err(wire::SocketEnd::Closed { code: 4008, .. }) => {
                    Ledger::count(&soak.ledger.closed_too_slow);
                    break;
                }
                Err(_) => break,
            }
        }
        let _ = socket.close(None).await;
    }
    Ok(())
}

/// Frames a hostile or broken terminal sends.
fn hostile_frame(round: u64, terminal: TerminalId) -> Message {
    match round % 8 {
        0 => Message::text("this is not JSON"),
        1 => Message::text(r#"{"type":"op","op_id":"not a uuid"}"#),
        2 => Message::binary(vec![0xff_u8; 128]),
        3 => Message::text("x".repeat(OVERSIZED_BYTES)),
        4 => Message::text(wire::encode(&ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            terminal,
            known: BTreeMap::new(),
        })),
        5 => Message::text(wire::encode(&ClientMessage::Op(OpRequest {
            approval: None,
            op_id: OpId(Uuid::now_v7()),
            order_id: OrderId(Uuid::now_v7()),
            op: Op::add_qty(LineId(Uuid::now_v7()), Quantity::ONE),
        }))),
        6 => Message::text(format!(
            r#"{{"type":"resync","order_ids":[{}]}}"#,
            "[".repeat(200)
        )),
        _ => Message::text(r#"{"type":"ping","t":{"deep":[1,2,3]}}"#),
    }
}

/// A hostile terminal: garbage, binary, oversized and out-of-place frames;
/// a connection with a bad token now and then.
async fn hostile(soak: Arc<Soak>, counter: Counter) -> Result<()> {
    let terminal = TerminalId(Uuid::now_v7());
    let mut round = 0u64;
    while Instant::now() < soak.until {
        if round.is_multiple_of(10) {
            match wire::connect(&soak.base_url, "not-a-token", Duration::from_secs(30)).await {
                Err(wire::ConnectError::Refused { status: 401, .. }) => {
                    Ledger::count(&soak.ledger.bad_tokens_refused);
                }
                Err(error) => soak
                    .ledger
                    .error(format!("a bad token was not refused with 401: {error}")),
                Ok(_) => soak.ledger.error("a bad token was let in".to_owned()),
            }
        }
        let mut socket = match connect(&soak, &counter.token, terminal).await {
            Ok(socket) => socket,
            Err(error) => {
                soak.ledger
                    .error(format!("the hostile terminal could not connect: {error:#}"));
                sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // A few frames per connection, then a new one.
        for _ in 0..4 {
            let frame = hostile_frame(round, terminal);
            round += 1;
            if matches!(&frame, Message::Text(text) if text.len() >= OVERSIZED_BYTES) {
                Ledger::count(&soak.ledger.oversized_frames);
            }
            Ledger::count(&soak.ledger.garbage_frames);
            if socket.send(frame).await.is_err() {
                Ledger::count(&soak.ledger.garbage_closed);
                break;
            }
            match timeout(Duration::from_secs(5), next_answer(&mut socket)).await {
                Ok(Some(())) => Ledger::count(&soak.ledger.garbage_answered),
                Ok(None) => {
                    Ledger::count(&soak.ledger.garbage_closed);
                    break;
                }
                // Some frames (a ping with a strange `t`) may get no answer.
                Err(_) => {}
            }
            sleep(Duration::from_millis(200)).await;
        }
        let _ = socket.close(None).await;
    }
    Ok(())
}

/// The next answer to a hostile frame: `Some` for an error, reject or pong,
/// `None` when the connection ended.
async fn next_answer(socket: &mut Socket) -> Option<()> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                if matches!(
                    wire::summarize(text.as_str()).map(|summary| summary.kind),
                    Some(FrameKind::Error | FrameKind::Reject | FrameKind::Pong)
                ) {
                    return Some(());
                }
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// A connection that never says `hello`: the server closes it after its
/// hello deadline.
async fn mute(soak: Arc<Soak>, counter: Counter) -> Result<()> {
    while Instant::now() + Duration::from_secs(20) < soak.until {
        let mut socket = wire::connect(&soak.base_url, &counter.token, Duration::from_secs(30))
            .await
            .map_err(|error| anyhow!("a silent connection could not connect: {error}"))?;
        match timeout(Duration::from_secs(20), wire::next_text(&mut socket)).await {
            Ok(Err(wire::SocketEnd::Closed { .. })) => Ledger::count(&soak.ledger.mute_closed),
            Ok(Err(wire::SocketEnd::Lost(_))) => Ledger::count(&soak.ledger.mute_closed),
            Ok(Ok(text)) => soak.ledger.error(format!(
                "a connection that never said hello was sent {text}"
            )),
            Err(_) => soak
                .ledger
                .error("a connection that never said hello was still open after 20 s".to_owned()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(rss_kib: impl Fn(u64) -> u64, fds: impl Fn(u64) -> u64) -> Vec<SoakSample> {
        (0..60)
            .map(|second| SoakSample {
                at_s: second as f64,
                rss_kib: rss_kib(second),
                fds: fds(second),
                threads: 4,
                tasks: Some(20 + second % 7),
                connections: Some(9),
            })
            .collect()
    }

    #[test]
    fn a_steady_server_passes_with_noise_and_warm_up() {
        // Warm-up in the first seconds, then noise around a plateau.
        let growth = growth_problems(&samples(
            |s| 40_000 + s.min(5) * 2_000 + (s % 3) * 500,
            |s| 30 + s % 9,
        ));
        assert_eq!(growth.problems, Vec::<String>::new());
        assert_eq!(growth.figures.len(), 3, "{growth:?}");
    }

    #[test]
    fn memory_or_descriptors_that_keep_growing_fail() {
        let leaking_memory = growth_problems(&samples(|s| 40_000 + s * 1_000, |_| 30));
        assert_eq!(leaking_memory.problems.len(), 1, "{leaking_memory:?}");
        assert!(leaking_memory.problems[0].contains("server RSS"));
        let leaking_fds = growth_problems(&samples(|_| 40_000, |s| 30 + s));
        assert_eq!(leaking_fds.problems.len(), 1, "{leaking_fds:?}");
        assert!(leaking_fds.problems[0].contains("open descriptors"));
    }

    #[test]
    fn too_few_samples_is_a_problem_not_a_pass() {
        let growth = growth_problems(&samples(|_| 1, |_| 1)[..1]);
        assert_eq!(growth.problems.len(), 1, "{growth:?}");
    }
}
