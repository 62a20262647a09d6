//! The scenarios of `possync bench`: what load each puts on the server and
//! what it measures. Sizes come from [`Sizes`] (full or `--quick`).

use super::load::{
    self, Counter, Draft, Registry, Role, Sending, Shop, Terminal, connect_all, create_drafts,
};
use super::server::BenchServer;
use super::stats::{Latencies, ProcessUsage, process_usage};
use super::{Scenario, Target};
use anyhow::{Context, Result};
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How big each scenario is.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub pair_ops: usize,
    pub fanout_readers: usize,
    pub fanout_ops: usize,
    pub shop_terminals: usize,
    pub shop_edits_per_s: u32,
    pub shop_duration: Duration,
    pub saturate_counters: usize,
    pub saturate_window: usize,
    pub saturate_duration: Duration,
    pub idle_terminals: usize,
    pub idle_terminals_per_counter: usize,
    pub restart_drafts: usize,
    pub restart_terminals: usize,
    /// `soak`: how long it runs (`--minutes`).
    pub soak_duration: Duration,
}

impl Sizes {
    pub fn full() -> Sizes {
        Sizes {
            pair_ops: 2_000,
            fanout_readers: 20,
            fanout_ops: 1_000,
            shop_terminals: 1_000,
            shop_edits_per_s: 2_000,
            shop_duration: Duration::from_secs(20),
            saturate_counters: 128,
            saturate_window: 4,
            saturate_duration: Duration::from_secs(10),
            idle_terminals: 10_000,
            idle_terminals_per_counter: 50,
            restart_drafts: 10_000,
            restart_terminals: 1_000,
            soak_duration: Duration::from_secs(60),
        }
    }

    /// Small enough for CI, large enough to touch every path.
    pub fn quick() -> Sizes {
        Sizes {
            pair_ops: 30,
            fanout_readers: 5,
            fanout_ops: 20,
            shop_terminals: 20,
            shop_edits_per_s: 100,
            shop_duration: Duration::from_secs(2),
            saturate_counters: 8,
            saturate_window: 4,
            saturate_duration: Duration::from_secs(1),
            idle_terminals: 50,
            idle_terminals_per_counter: 5,
            restart_drafts: 100,
            restart_terminals: 10,
            soak_duration: Duration::from_secs(60),
        }
    }
}

/// What one scenario measured.
#[derive(Debug, Default)]
pub struct Measured {
    pub edits: Latencies,
    pub acks: Latencies,
    pub ops: u64,
    pub elapsed: Duration,
    pub edits_expected: u64,
    pub edits_observed: u64,
    pub errors: u64,
    pub error_samples: Vec<String>,
    pub terminals: usize,
    /// Peak resident memory of the server during the measured phase.
    pub server_rss_kib: Option<u64>,
    /// Server CPU seconds during the measured phase.
    pub server_cpu_s: Option<f64>,
    /// `idle`: server memory per connected terminal.
    pub rss_per_terminal_kib: Option<f64>,
    /// `restart`: from starting the process to answering /healthz.
    pub serve_ms: Option<f64>,
    /// `restart`: from the first reconnect to the last terminal synced.
    pub catch_up_ms: Option<f64>,
    /// Free-form notes for the summary.
    pub notes: Vec<String>,
    /// `soak`: the server's memory, descriptors and tasks over time.
    pub soak_samples: Vec<super::soak::SoakSample>,
}

/// Samples the server's memory while `future` runs; answers the peak and the CPU used.
async fn watching_server<F: std::future::Future>(
    pid: Option<u32>,
    future: F,
) -> (F::Output, Option<u64>, Option<f64>) {
    let before = pid.and_then(process_usage);
    let mut peak = before.map(|usage| usage.rss_kib);
    tokio::pin!(future);
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let output = loop {
        tokio::select! {
            output = &mut future => break output,
            _ = ticker.tick() => {
                if let Some(usage) = pid.and_then(process_usage) {
                    peak = Some(peak.unwrap_or(0).max(usage.rss_kib));
                }
            }
        }
    };
    let after: Option<ProcessUsage> = pid.and_then(process_usage);
    if let Some(usage) = after {
        peak = Some(peak.unwrap_or(0).max(usage.rss_kib));
    }
    let cpu = match (before, after) {
        (Some(before), Some(after)) => Some(after.cpu_s - before.cpu_s),
        _ => None,
    };
    (output, peak, cpu)
}

/// Runs the roles until every sender is done and every edit observed (or
/// the drain times out), and collects the figures.
async fn run_roles(
    roles: Vec<Role>,
    bar_length: u64,
    deadline: Instant,
    pid: Option<u32>,
) -> Result<Measured> {
    let registry = Arc::new(Registry::default());
    registry
        .senders_active
        .store(roles.len() as u64, Ordering::Relaxed);
    let terminals = roles.len();
    let (stop, stopped) = watch::channel(false);
    let bar = load::progress(bar_length, "ops");
    let started = Instant::now();
    let run = async {
        let tasks: Vec<_> = roles
            .into_iter()
            .map(|role| {
                tokio::spawn(load::run_terminal(
                    role,
                    registry.clone(),
                    stopped.clone(),
                    bar.clone(),
                ))
            })
            .collect();
        // Wait for the senders, then for the last observations.
        let drain_deadline = deadline + load::DRAIN_TIMEOUT;
        let mut ticker = tokio::time::interval(Duration::from_millis(10));
        loop {
            ticker.tick().await;
            let senders_done = registry.senders_active.load(Ordering::Relaxed) == 0;
            if (senders_done && registry.unobserved().await == 0)
                || Instant::now() > drain_deadline
                || tasks.iter().any(|task| task.is_finished())
            {
                break;
            }
        }
        let elapsed = started.elapsed();
        let _ = stop.send(true);
        let mut failures = Vec::new();
        for task in tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => failures.push(format!("{error:#}")),
                Err(error) => failures.push(error.to_string()),
            }
        }
        (elapsed, failures)
    };
    let ((elapsed, failures), peak, cpu) = watching_server(pid, run).await;
    bar.finish_and_clear();
    let mut error_samples = registry.error_samples.lock().await.clone();
    error_samples.extend(failures.iter().take(5).cloned());
    let unobserved = registry.unobserved().await as u64;
    if unobserved > 0 {
        error_samples.push(format!(
            "{unobserved} edits never reached the other counter"
        ));
    }
    Ok(Measured {
        edits: registry.edits.lock().await.clone(),
        acks: registry.acks.lock().await.clone(),
        ops: registry.acked.load(Ordering::Relaxed),
        elapsed,
        edits_expected: registry.edits_expected.load(Ordering::Relaxed),
        edits_observed: registry.edits_observed.load(Ordering::Relaxed),
        errors: registry.errors.load(Ordering::Relaxed) + failures.len() as u64 + unobserved,
        error_samples,
        terminals,
        server_rss_kib: peak,
        server_cpu_s: cpu,
        ..Measured::default()
    })
}

/// Everything a scenario needs from the harness.
pub struct ScenarioContext<'a> {
    pub manager: &'a possync_client::http::HttpApi,
    pub pid: Option<u32>,
    pub sizes: &'a Sizes,
    /// The server, when the bench started it (`restart` needs it).
    pub server: Option<&'a mut BenchServer>,
}

impl std::fmt::Debug for ScenarioContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScenarioContext")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

pub async fn run(scenario: Scenario, context: ScenarioContext<'_>) -> Result<Measured> {
    let manager = context.manager.clone();
    let commits_before = CommitStats::read(&manager).await;
    let mut measured = run_scenario(scenario, context).await?;
    if let (Some(before), Some(after)) = (commits_before, CommitStats::read(&manager).await)
        && let Some(note) = after.since(&before)
    {
        measured.notes.push(note);
    }
    Ok(measured)
}

/// The server's group commits, from its own `/metrics` (the bench's manager
/// may read them): how many ops each commit carried and how long it took.
#[derive(Debug, Clone, Copy)]
struct CommitStats {
    commits: f64,
    entries: f64,
    seconds: f64,
}

impl CommitStats {
    /// `None` when the server does not answer them (a restarted server
    /// starts counting again; a server behind `--url` may refuse).
    async fn read(manager: &possync_client::http::HttpApi) -> Option<CommitStats> {
        let text = reqwest::Client::new()
            .get(format!("{}/metrics", manager.base_url()))
            .bearer_auth(manager.token())
            .send()
            .await
            .ok()?
            .error_for_status()
            .ok()?
            .text()
            .await
            .ok()?;
        let value = |name: &str| {
            text.lines().find_map(|line| {
                line.strip_prefix(name)?
                    .strip_prefix(' ')?
                    .parse::<f64>()
                    .ok()
            })
        };
        Some(CommitStats {
            commits: value("possync_commit_batch_ops_count")?,
            entries: value("possync_commit_batch_ops_sum")?,
            seconds: value("possync_commit_seconds_sum")?,
        })
    }

    fn since(&self, before: &CommitStats) -> Option<String> {
        let commits = self.commits - before.commits;
        if commits < 1.0 || self.seconds < before.seconds {
            return None;
        }
        let entries = self.entries - before.entries;
        let seconds = self.seconds - before.seconds;
        Some(format!(
            "{commits:.0} group commits: {:.1} entries and {:.2} ms each on average, {:.2} s committing in all",
            entries / commits,
            seconds * 1_000.0 / commits,
            seconds
        ))
    }
}

async fn run_scenario(scenario: Scenario, context: ScenarioContext<'_>) -> Result<Measured> {
    match scenario {
        Scenario::Pair => closed_loop(context, 1).await,
        Scenario::Fanout => {
            let readers = context.sizes.fanout_readers;
            closed_loop(context, readers).await
        }
        Scenario::Shop => shop(context).await,
        Scenario::Saturate => saturate(context).await,
        Scenario::Idle => idle(context).await,
        Scenario::Restart => restart(context).await,
        Scenario::Soak => super::soak::soak(context).await,
    }
}

/// `pair` (one reader) and `fanout` (many): one terminal at counter A edits a
/// shared draft, one op at a time; each op waits until every terminal of
/// counter B has its change. The edit latency is the last reader's.
async fn closed_loop(context: ScenarioContext<'_>, readers: usize) -> Result<Measured> {
    let ops = if readers == 1 {
        context.sizes.pair_ops
    } else {
        context.sizes.fanout_ops
    };
    closed_loop_on(context.manager, None, readers, ops, context.pid).await
}

/// `pair --nodes 2`: the pair with counter B's terminal on the node at
/// `reader_url` (another node on the same database), or with both on the
/// manager's node (`None`).
pub async fn pair_across(
    manager: &possync_client::http::HttpApi,
    reader_url: Option<&str>,
    pid: Option<u32>,
    sizes: &Sizes,
) -> Result<Measured> {
    closed_loop_on(manager, reader_url, 1, sizes.pair_ops, pid).await
}

async fn closed_loop_on(
    manager: &possync_client::http::HttpApi,
    reader_url: Option<&str>,
    readers: usize,
    ops: usize,
    pid: Option<u32>,
) -> Result<Measured> {
    let shop = Shop::build(manager, 1).await?;
    let (a, b) = shop.pairs[0].clone();
    let mut writer = load::connect(&shop.base_url, &a).await?;
    let draft = create_drafts(&mut writer, shop.product_id, 1, true, 1).await?[0];
    let reader_counters = vec![b; readers];
    let reader_terminals = connect_all(
        reader_url.unwrap_or(&shop.base_url),
        &reader_counters,
        "readers",
    )
    .await?;
    let mut roles = vec![Role {
        terminal: writer,
        sending: Sending::ClosedLoop { draft, ops },
        observers: readers as u32,
    }];
    roles.extend(reader_terminals.into_iter().map(|terminal| Role {
        terminal,
        sending: Sending::Nothing,
        observers: 0,
    }));
    let deadline = Instant::now() + Duration::from_secs(600);
    run_roles(roles, ops as u64, deadline, pid).await
}

/// Terminals in linked pairs, one per counter, each pair editing its shared
/// draft; `per_pair` drafts are created first by counter A.
async fn pairs_with_drafts(
    context: &ScenarioContext<'_>,
    pairs: usize,
    share: bool,
) -> Result<(Vec<Terminal>, Vec<Draft>)> {
    let shop = Shop::build(context.manager, pairs).await?;
    let counters: Vec<Counter> = shop.counters();
    let mut terminals = connect_all(&shop.base_url, &counters, "terminals").await?;
    let bar = load::progress(terminals.len() as u64, "drafts");
    let product_id = shop.product_id;
    // A shared draft per pair (made by its A side), or a draft per terminal.
    let step = if share { 2 } else { 1 };
    let drafts: Vec<Draft> = futures_util::stream::iter(terminals.iter_mut().step_by(step))
        .map(|terminal| {
            let bar = bar.clone();
            async move {
                let drafts = create_drafts(terminal, product_id, 1, share, 1).await;
                bar.inc(step as u64);
                drafts.map(|mut drafts| drafts.remove(0))
            }
        })
        .buffered(load::CONNECT_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    bar.finish_and_clear();
    Ok((terminals, drafts))
}

/// `shop`: many terminals in linked pairs, each editing its pair's shared
/// draft at a fixed rate, the whole shop at the given total rate.
async fn shop(context: ScenarioContext<'_>) -> Result<Measured> {
    let sizes = context.sizes;
    let pairs = (sizes.shop_terminals / 2).max(1);
    let (terminals, drafts) = pairs_with_drafts(&context, pairs, true).await?;
    let terminal_count = terminals.len();
    let per_terminal_per_s = f64::from(sizes.shop_edits_per_s) / terminal_count as f64;
    let interval = Duration::from_secs_f64(1.0 / per_terminal_per_s.max(0.001));
    let start = Instant::now() + Duration::from_millis(200);
    let until = start + sizes.shop_duration;
    let roles = terminals
        .into_iter()
        .enumerate()
        .map(|(index, terminal)| Role {
            terminal,
            sending: Sending::Rate {
                draft: drafts[index / 2],
                interval,
                // Spread the terminals evenly over one interval.
                phase: Duration::from_millis(200)
                    + interval.mul_f64(index as f64 / terminal_count as f64),
                until,
            },
            observers: 1,
        })
        .collect();
    let expected = (f64::from(sizes.shop_edits_per_s) * sizes.shop_duration.as_secs_f64()) as u64;
    let mut measured = run_roles(roles, expected, until, context.pid).await?;
    measured.elapsed = sizes.shop_duration;
    Ok(measured)
}

/// `saturate`: counters each editing their own (unshared) draft with a
/// window of ops in flight: the durable throughput and its ack latency.
async fn saturate(context: ScenarioContext<'_>) -> Result<Measured> {
    let sizes = context.sizes;
    let pairs = (sizes.saturate_counters / 2).max(1);
    let (terminals, drafts) = pairs_with_drafts(&context, pairs, false).await?;
    let until = Instant::now() + sizes.saturate_duration;
    let roles = terminals
        .into_iter()
        .zip(drafts)
        .map(|(terminal, draft)| Role {
            terminal,
            sending: Sending::Window {
                draft,
                window: sizes.saturate_window,
                until,
            },
            observers: 0,
        })
        .collect();
    run_roles(roles, 0, until, context.pid).await
}

/// `idle`: many connected, caught-up terminals doing nothing; the server's
/// memory per terminal.
async fn idle(context: ScenarioContext<'_>) -> Result<Measured> {
    let sizes = context.sizes;
    let counters_needed = sizes
        .idle_terminals
        .div_ceil(sizes.idle_terminals_per_counter);
    let shop = Shop::build(context.manager, counters_needed.div_ceil(2)).await?;
    let counters = shop.counters();
    let plan: Vec<Counter> = (0..sizes.idle_terminals)
        .map(|index| counters[index % counters.len()].clone())
        .collect();
    let pid = context
        .pid
        .context("idle needs the server's process (--server-pid with --url)")?;
    let before = process_usage(pid).context("the server process is gone")?;
    let (terminals, peak, cpu) =
        watching_server(Some(pid), connect_all(&shop.base_url, &plan, "connect")).await;
    let terminals = terminals?;
    // Let the allocator settle, then read the steady state.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = process_usage(pid).context("the server process is gone")?;
    let per_terminal = (after.rss_kib as f64 - before.rss_kib as f64) / terminals.len() as f64;
    let measured = Measured {
        terminals: terminals.len(),
        server_rss_kib: Some(after.rss_kib.max(peak.unwrap_or(0))),
        server_cpu_s: cpu,
        rss_per_terminal_kib: Some(per_terminal),
        notes: vec![format!(
            "server RSS {} KiB before connecting, {} KiB with {} terminals",
            before.rss_kib,
            after.rss_kib,
            terminals.len()
        )],
        ..Measured::default()
    };
    drop(terminals);
    Ok(measured)
}

/// `restart`: drafts spread over pairs of counters, the server restarted;
/// the time until it serves, and until every terminal holds every draft it may see.
async fn restart(mut context: ScenarioContext<'_>) -> Result<Measured> {
    let sizes = context.sizes.clone();
    let pairs = (sizes.restart_terminals / 2).max(1);
    let shop = Shop::build(context.manager, pairs).await?;
    let counters = shop.counters();
    let mut terminals = connect_all(&shop.base_url, &counters, "terminals").await?;
    let per_counter = sizes.restart_drafts.div_ceil(counters.len());
    let bar = load::progress(terminals.len() as u64, "drafts");
    let product_id = shop.product_id;
    let created: Vec<Result<Vec<Draft>>> = futures_util::stream::iter(terminals.iter_mut())
        .map(|terminal| {
            let bar = bar.clone();
            async move {
                let drafts = create_drafts(terminal, product_id, per_counter, true, 16).await;
                bar.inc(1);
                drafts
            }
        })
        .buffered(load::CONNECT_CONCURRENCY)
        .collect()
        .await;
    bar.finish_and_clear();
    let drafts_made: usize = created
        .into_iter()
        .map(|drafts| drafts.map(|d| d.len()))
        .sum::<Result<usize>>()?;
    drop(terminals);
    let server = context
        .server
        .take()
        .context("restart needs a server the bench started (not --url)")?;
    let serve_time = server.restart().await?;
    let (base_url, pid) = (server.base_url.clone(), Some(server.pid));
    let expected_per_terminal = per_counter * 2;
    let reconnect_started = Instant::now();
    let (reconnected, peak, cpu) =
        watching_server(pid, connect_all(&base_url, &counters, "catch-up")).await;
    let catch_up = reconnect_started.elapsed();
    let reconnected = reconnected?;
    let short: Vec<usize> = reconnected
        .iter()
        .map(|terminal| terminal.orders_caught_up)
        .filter(|caught_up| *caught_up != expected_per_terminal)
        .collect();
    let mut measured = Measured {
        terminals: reconnected.len(),
        server_rss_kib: peak,
        server_cpu_s: cpu,
        serve_ms: Some(serve_time.as_secs_f64() * 1000.0),
        catch_up_ms: Some(catch_up.as_secs_f64() * 1000.0),
        edits_expected: (reconnected.len() * expected_per_terminal) as u64,
        edits_observed: reconnected
            .iter()
            .map(|terminal| terminal.orders_caught_up as u64)
            .sum(),
        notes: vec![format!(
            "{drafts_made} drafts over {} counters; each terminal caught up {expected_per_terminal} drafts",
            counters.len()
        )],
        ..Measured::default()
    };
    if !short.is_empty() {
        measured.errors = short.len() as u64;
        measured.error_samples.push(format!(
            "{} terminals caught up a different number of drafts than {expected_per_terminal}: {:?}",
            short.len(),
            &short[..short.len().min(5)]
        ));
    }
    Ok(measured)
}

/// The targets of issue 9, for the summary.
pub fn targets(scenario: Scenario) -> Vec<Target> {
    match scenario {
        Scenario::Pair => vec![
            Target::EditP50WithinRelayAndFsync { relay_factor: 3.0 },
            Target::EditP99Ms(3.0),
        ],
        Scenario::Fanout => vec![Target::EditP99Ms(4.0)],
        Scenario::Shop => vec![
            Target::EditP99Ms(20.0),
            Target::RssKib(150 * 1000),
            Target::ZeroErrors,
        ],
        Scenario::Saturate => vec![Target::OpsPerS(30_000.0), Target::AckP99Ms(50.0)],
        Scenario::Idle => vec![Target::RssPerTerminalKib(8.0)],
        Scenario::Restart => vec![Target::ServeMs(1000.0), Target::CatchUpMs(3000.0)],
        Scenario::Soak => vec![Target::ZeroErrors],
    }
}
