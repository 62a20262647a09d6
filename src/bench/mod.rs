//! `possync bench <scenario>`: load a server the way a shop would, and
//! measure it against the floors of the same machine in the same run.
//!
//! The bench starts the real binary as a separate process on a fresh data
//! directory (or targets `--url`), builds a shop through the HTTP API, and
//! drives terminals with the SDK's wire code (`possync_client::wire`). Before
//! the scenarios it measures two floors: a durable write on this disk (the
//! store's write + fdatasync) and a bare WebSocket relay on loopback. Every
//! result is printed beside them and as a ratio; `--json` ends the output
//! with one JSON object on one line; `--plot` draws the distributions.

mod floors;
mod load;
mod plot;
mod scenarios;
pub mod server;
mod soak;
mod stats;

use crate::database::{DatabaseArgs, redacted};
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use possync_client::http::HttpApi;
use possync_store::postgres::PostgresStore;
use rand::Rng;
use rand::distributions::Alphanumeric;
use scenarios::{Measured, Sizes};
use serde_json::{Value, json};
use server::{BENCH_LOGIN, BenchServer};
use stats::Latencies;
use std::path::PathBuf;

/// The scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Counter A edits, counter B sees it: edit → other counter, one op at a time.
    /// With `--nodes 2 --database URL`: counter B on a second node, against
    /// both counters on one node, in the same run.
    Pair,
    /// One writer, many readers at the linked counter: the last reader's latency.
    Fanout,
    /// Many terminals in linked pairs at a total edit rate.
    Shop,
    /// Counters each editing their own draft, many ops in flight: durable ops/s.
    Saturate,
    /// Many connected terminals doing nothing: server memory per terminal.
    Idle,
    /// Many drafts, the server restarted: time to serve and to catch every terminal up.
    Restart,
    /// `--minutes N` of a shop's day with drops, slow readers and garbage:
    /// fails when the server's memory, descriptors or tasks keep growing or
    /// an acknowledged op is missing from history or in it twice.
    Soak,
}

impl Scenario {
    const ALL: [Scenario; 6] = [
        Scenario::Pair,
        Scenario::Fanout,
        Scenario::Shop,
        Scenario::Saturate,
        Scenario::Idle,
        Scenario::Restart,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Pair => "pair",
            Scenario::Fanout => "fanout",
            Scenario::Shop => "shop",
            Scenario::Saturate => "saturate",
            Scenario::Idle => "idle",
            Scenario::Restart => "restart",
            Scenario::Soak => "soak",
        }
    }
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The scenario. Without one, `--quick` runs them all, small.
    #[arg(value_enum)]
    scenario: Option<Scenario>,
    /// Small sizes: a smoke test that checks zero errors and every edit
    /// observed, and asserts no timing.
    #[arg(long)]
    quick: bool,
    /// End the output with one JSON object on one line.
    #[arg(long)]
    json: bool,
    /// `soak`: how long it runs, in minutes.
    #[arg(long, default_value_t = 1.0, value_parser = parse_minutes)]
    minutes: f64,
    /// `saturate`: ops each counter keeps in flight (default 4, 128 counters:
    /// 512 in all). By Little's law the ack latency is the ops in flight over
    /// the throughput, so more in flight buys little throughput for much latency.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    window: Option<u16>,
    /// Draw the latency distributions (with the floors) into this SVG file;
    /// for `soak`, the server's memory, descriptors and tasks over time.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Bench a running server instead of starting one (its rate limits must allow the load).
    #[arg(long, env = "POSSYNC_BENCH_URL")]
    url: Option<String>,
    /// Manager login for `--url`.
    #[arg(long, env = "POSSYNC_BENCH_LOGIN", requires = "url")]
    login: Option<String>,
    /// Manager password for `--url`.
    #[arg(
        long,
        env = "POSSYNC_BENCH_PASSWORD",
        requires = "url",
        hide_env_values = true
    )]
    password: Option<String>,
    /// With `--url`: the server's process id, to read its CPU and memory from /proc.
    #[arg(long, requires = "url")]
    server_pid: Option<u32>,
    /// Where the bench server's data directory and the fsync floor's file go.
    #[arg(long, env = "POSSYNC_BENCH_DIR")]
    work_dir: Option<PathBuf>,
    /// Samples of each floor.
    #[arg(long, default_value_t = 500)]
    floor_samples: usize,
    /// `pair` only: 2 starts two nodes on the PostgreSQL database of
    /// `--database` and measures counter B on the other node than counter A,
    /// beside both on one node, in the same run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    nodes: u8,
}

/// A target of issue 9, checked in the summary (never asserted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    EditP50WithinRelayAndFsync { relay_factor: f64 },
    EditP99Ms(f64),
    AckP99Ms(f64),
    OpsPerS(f64),
    RssKib(u64),
    RssPerTerminalKib(f64),
    ServeMs(f64),
    CatchUpMs(f64),
    ZeroErrors,
}

/// The floors of this run.
#[derive(Debug, Clone)]
struct Floors {
    fsync: Latencies,
    /// Relay to one reader, and to `fanout_readers` readers.
    relay: Latencies,
    relay_fanout: Latencies,
}

struct Outcome {
    scenario: Scenario,
    /// How the summary names it, when not by the scenario alone.
    label: Option<&'static str>,
    measured: Measured,
    relay: Latencies,
}

impl Outcome {
    fn name(&self) -> &'static str {
        self.label.unwrap_or(self.scenario.name())
    }
}

pub async fn run(args: BenchArgs, database: &DatabaseArgs) -> Result<()> {
    let database_url = database.database_url.as_deref();
    if args.nodes == 2 && (args.scenario != Some(Scenario::Pair) || args.url.is_some()) {
        bail!("--nodes 2 is an option of `pair` on servers the bench starts");
    }
    if args.nodes == 2 && database_url.is_none() {
        bail!(
            "--nodes 2 needs a PostgreSQL database for both nodes: --database URL (or POSSYNC_DATABASE_URL)"
        );
    }
    let scenarios: Vec<Scenario> = match (args.scenario, args.quick) {
        (Some(scenario), _) => vec![scenario],
        (None, true) => Scenario::ALL.to_vec(),
        (None, false) => bail!(
            "name a scenario (pair, fanout, shop, saturate, idle, restart, soak), or pass --quick to run them all small"
        ),
    };
    let mut sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    sizes.soak_duration = std::time::Duration::from_secs_f64(args.minutes * 60.0);
    if let Some(window) = args.window {
        sizes.saturate_window = usize::from(window);
    }
    let work = match &args.work_dir {
        Some(dir) => tempfile::Builder::new()
            .prefix("possync-bench-")
            .tempdir_in(dir)?,
        None => tempfile::Builder::new()
            .prefix("possync-bench-")
            .tempdir()?,
    };
    let floor_samples = if args.quick {
        args.floor_samples.min(30)
    } else {
        args.floor_samples
    };
    eprintln!("measuring the floors ({floor_samples} samples each)...");
    let floors = Floors {
        fsync: floors::fsync_floor(work.path(), floor_samples)?,
        relay: floors::relay_floor(1, floor_samples).await?,
        relay_fanout: floors::relay_floor(sizes.fanout_readers, floor_samples).await?,
    };
    if let Some(url) = database_url {
        // Nodes refuse a schema they do not know: bring it up to date first.
        PostgresStore::migrate(url)
            .await
            .with_context(|| format!("could not migrate {}", redacted(url)))?;
    }
    let mut outcomes = Vec::new();
    if args.nodes == 2 {
        eprintln!("running pair on one node, then across two nodes...");
        let url = database_url.context("--nodes 2 needs --database")?;
        let (one_node, two_nodes) = pair_on_nodes(&sizes, work.path(), url).await?;
        for (label, measured) in [
            ("pair (1 node, PostgreSQL)", one_node),
            ("pair (2 nodes, PostgreSQL)", two_nodes),
        ] {
            let outcome = Outcome {
                scenario: Scenario::Pair,
                label: Some(label),
                measured,
                relay: floors.relay.clone(),
            };
            print_summary(&outcome, &floors, args.quick);
            outcomes.push(outcome);
        }
        if let [one, two] = outcomes.as_slice() {
            let p99 = ratio(two.measured.edits.p99_ms(), one.measured.edits.p99_ms());
            let p50 = ratio(two.measured.edits.p50_ms(), one.measured.edits.p50_ms());
            println!();
            println!(
                "== across nodes / one node, same run: edit → other counter p50 {p50}, p99 {p99} (target p99 ≤ 2×)"
            );
        }
    }
    for scenario in scenarios.into_iter().filter(|_| args.nodes == 1) {
        eprintln!("running {}...", scenario.name());
        let measured = run_one(scenario, &args, &sizes, work.path(), database_url).await?;
        let relay = if scenario == Scenario::Fanout {
            floors.relay_fanout.clone()
        } else {
            floors.relay.clone()
        };
        let outcome = Outcome {
            scenario,
            label: None,
            measured,
            relay,
        };
        print_summary(&outcome, &floors, args.quick);
        outcomes.push(outcome);
    }
    if let Some(path) = &args.plot {
        match outcomes.as_slice() {
            [outcome] if outcome.scenario == Scenario::Soak => {
                plot::draw_soak(path, &outcome.measured.soak_samples)?;
            }
            _ => plot::draw(path, &outcomes_for_plot(&outcomes), &floors.fsync)?,
        }
        println!("plot: {}", path.display());
    }
    let errors: u64 = outcomes.iter().map(|o| o.measured.errors).sum();
    let unobserved: u64 = outcomes
        .iter()
        .map(|o| {
            o.measured
                .edits_expected
                .saturating_sub(o.measured.edits_observed)
        })
        .sum();
    if args.json {
        let results: Vec<Value> = outcomes.iter().map(|o| to_json(o, &floors)).collect();
        let line = match outcomes.as_slice() {
            [_] => results.into_iter().next().unwrap_or(Value::Null),
            [one, two] if args.nodes == 2 => json!({
                "scenario": "pair",
                "nodes": 2,
                "errors": errors,
                "one_node": results[0],
                "two_nodes": results[1],
                "edit_p50_ratio": two.measured.edits.p50_ms().zip(one.measured.edits.p50_ms()).map(|(two, one)| two / one),
                "edit_p99_ratio": two.measured.edits.p99_ms().zip(one.measured.edits.p99_ms()).map(|(two, one)| two / one),
            }),
            _ => json!({"scenario": "quick", "errors": errors, "results": results}),
        };
        println!("{line}");
    }
    if errors > 0 || unobserved > 0 {
        bail!("{errors} errors, {unobserved} edits not observed");
    }
    Ok(())
}

fn parse_minutes(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(minutes) if (0.1..=24.0 * 60.0).contains(&minutes) => Ok(minutes),
        _ => Err(format!(
            "{text:?} is not a number of minutes from 0.1 to 1440"
        )),
    }
}

fn outcomes_for_plot(outcomes: &[Outcome]) -> Vec<(String, Latencies)> {
    let mut series = Vec::new();
    for outcome in outcomes {
        let name = outcome.name();
        if outcome.measured.edits.count() > 0 {
            series.push((
                format!("{name}: edit → other counter"),
                outcome.measured.edits.clone(),
            ));
        }
        if outcome.measured.acks.count() > 0 {
            series.push((format!("{name}: ack"), outcome.measured.acks.clone()));
        }
        series.push((format!("relay floor ({name})"), outcome.relay.clone()));
    }
    series
}

/// `pair --nodes 2`: two nodes on the PostgreSQL database at `url`; the pair
/// with both counters on node A, then with counter B on node B.
async fn pair_on_nodes(
    sizes: &Sizes,
    work: &std::path::Path,
    url: &str,
) -> Result<(Measured, Measured)> {
    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    let node_a = BenchServer::start(&work.join("node-a"), &password, false, Some(url)).await?;
    let node_b = BenchServer::start(&work.join("node-b"), &password, false, Some(url)).await?;
    let manager = HttpApi::login(&node_a.base_url, BENCH_LOGIN, &password).await?;
    let one_node = scenarios::pair_across(&manager, None, Some(node_a.pid), sizes).await;
    let two_nodes = match one_node {
        Ok(_) => {
            scenarios::pair_across(&manager, Some(&node_b.base_url), Some(node_a.pid), sizes).await
        }
        Err(_) => Ok(Measured::default()),
    };
    node_b.stop().await?;
    node_a.stop().await?;
    Ok((one_node?, two_nodes?))
}

async fn run_one(
    scenario: Scenario,
    args: &BenchArgs,
    sizes: &Sizes,
    work: &std::path::Path,
    database_url: Option<&str>,
) -> Result<Measured> {
    if let Some(url) = &args.url {
        let login = args.login.as_deref().unwrap_or(BENCH_LOGIN);
        let password = args
            .password
            .as_deref()
            .context("--url needs --password (or POSSYNC_BENCH_PASSWORD)")?;
        let manager = HttpApi::login(url, login, password).await?;
        return scenarios::run(
            scenario,
            scenarios::ScenarioContext {
                manager: &manager,
                pid: args.server_pid,
                sizes,
                server: None,
            },
        )
        .await;
    }
    let data_dir = work.join(format!("server-{}", scenario.name()));
    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    // The soak's server keeps small caches: they fill in seconds, so memory
    // that still grows later is a leak (with the defaults, 100,000 answers
    // and 20,000 finished orders, a soak's steady state comes after half an hour).
    let small_caches = scenario == Scenario::Soak;
    let mut server = BenchServer::start(&data_dir, &password, small_caches, database_url).await?;
    let manager = HttpApi::login(&server.base_url, BENCH_LOGIN, &password).await?;
    let pid = server.pid;
    let measured = scenarios::run(
        scenario,
        scenarios::ScenarioContext {
            manager: &manager,
            pid: Some(pid),
            sizes,
            server: Some(&mut server),
        },
    )
    .await;
    server.stop().await?;
    measured
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.2} ms"))
}

fn ratio(value: Option<f64>, floor: Option<f64>) -> String {
    match (value, floor) {
        (Some(value), Some(floor)) if floor > 0.0 => format!("{:.1}×", value / floor),
        _ => "-".to_owned(),
    }
}

fn print_summary(outcome: &Outcome, floors: &Floors, quick: bool) {
    let measured = &outcome.measured;
    let relay = &outcome.relay;
    println!();
    println!(
        "== {} ({} terminals{})",
        outcome.name(),
        measured.terminals,
        if quick { ", quick" } else { "" }
    );
    println!(
        "   floors: fsync p50 {} p99 {} | relay p50 {} p99 {}",
        ms(floors.fsync.p50_ms()),
        ms(floors.fsync.p99_ms()),
        ms(relay.p50_ms()),
        ms(relay.p99_ms()),
    );
    if measured.edits.count() > 0 {
        println!(
            "   edit → other counter: p50 {} ({} relay) p99 {} ({} relay) max {}  [{} samples]",
            ms(measured.edits.p50_ms()),
            ratio(measured.edits.p50_ms(), relay.p50_ms()),
            ms(measured.edits.p99_ms()),
            ratio(measured.edits.p99_ms(), relay.p99_ms()),
            ms(measured.edits.max_ms()),
            measured.edits.count()
        );
    }
    if measured.acks.count() > 0 {
        println!(
            "   ack: p50 {} ({} fsync) p99 {} ({} fsync) max {}",
            ms(measured.acks.p50_ms()),
            ratio(measured.acks.p50_ms(), floors.fsync.p50_ms()),
            ms(measured.acks.p99_ms()),
            ratio(measured.acks.p99_ms(), floors.fsync.p99_ms()),
            ms(measured.acks.max_ms()),
        );
        println!(
            "   {} ops in {:.2} s = {:.0} durable ops/s",
            measured.ops,
            measured.elapsed.as_secs_f64(),
            ops_per_s(measured).unwrap_or(0.0)
        );
    }
    if let Some(serve) = measured.serve_ms {
        println!("   restart: serving after {serve:.0} ms");
    }
    if let Some(catch_up) = measured.catch_up_ms {
        println!("   every terminal caught up after {catch_up:.0} ms");
    }
    if let Some(per_terminal) = measured.rss_per_terminal_kib {
        println!("   server RSS per idle terminal: {per_terminal:.1} KiB");
    }
    if let Some(rss) = measured.server_rss_kib {
        println!(
            "   server: peak RSS {:.1} MB, CPU {}",
            rss as f64 / 1000.0,
            measured
                .server_cpu_s
                .map_or_else(|| "-".to_owned(), |cpu| format!("{cpu:.2} s")),
        );
    }
    for note in &measured.notes {
        println!("   {note}");
    }
    println!(
        "   edits observed {}/{}, errors {}",
        measured.edits_observed, measured.edits_expected, measured.errors
    );
    for sample in &measured.error_samples {
        println!("   error: {sample}");
    }
    // The targets are those of one node on its SQLite file; `--nodes 2` has
    // its own (the ratio of the two runs, printed after them).
    if !quick && outcome.label.is_none() {
        for target in scenarios::targets(outcome.scenario) {
            let (met, text) = check(target, measured, relay, &floors.fsync);
            println!("   target {}: {text}", if met { "met" } else { "MISSED" });
        }
    }
}

fn ops_per_s(measured: &Measured) -> Option<f64> {
    (measured.ops > 0 && !measured.elapsed.is_zero())
        .then(|| measured.ops as f64 / measured.elapsed.as_secs_f64())
}

fn check(
    target: Target,
    measured: &Measured,
    relay: &Latencies,
    fsync: &Latencies,
) -> (bool, String) {
    let at_most = |value: Option<f64>, limit: f64| value.is_some_and(|value| value <= limit);
    match target {
        Target::EditP50WithinRelayAndFsync { relay_factor } => {
            let limit =
                relay_factor * relay.p50_ms().unwrap_or(0.0) + fsync.p50_ms().unwrap_or(0.0);
            (
                at_most(measured.edits.p50_ms(), limit),
                format!(
                    "edit p50 {} ≤ {relay_factor} × relay p50 + fsync p50 = {limit:.2} ms",
                    ms(measured.edits.p50_ms())
                ),
            )
        }
        Target::EditP99Ms(limit) => (
            at_most(measured.edits.p99_ms(), limit),
            format!("edit p99 {} ≤ {limit} ms", ms(measured.edits.p99_ms())),
        ),
        Target::AckP99Ms(limit) => (
            at_most(measured.acks.p99_ms(), limit),
            format!("ack p99 {} ≤ {limit} ms", ms(measured.acks.p99_ms())),
        ),
        Target::OpsPerS(floor) => (
            ops_per_s(measured).is_some_and(|rate| rate >= floor),
            format!("{:.0} ops/s ≥ {floor}", ops_per_s(measured).unwrap_or(0.0)),
        ),
        Target::RssKib(limit) => (
            measured.server_rss_kib.is_some_and(|rss| rss <= limit),
            format!(
                "server RSS {} KiB ≤ {limit} KiB",
                measured
                    .server_rss_kib
                    .map_or("-".to_owned(), |rss| rss.to_string())
            ),
        ),
        Target::RssPerTerminalKib(limit) => (
            at_most(measured.rss_per_terminal_kib, limit),
            format!(
                "{:.1} KiB per terminal ≤ {limit} KiB",
                measured.rss_per_terminal_kib.unwrap_or(f64::NAN)
            ),
        ),
        Target::ServeMs(limit) => (
            at_most(measured.serve_ms, limit),
            format!(
                "serving after {:.0} ms ≤ {limit} ms",
                measured.serve_ms.unwrap_or(f64::NAN)
            ),
        ),
        Target::CatchUpMs(limit) => (
            at_most(measured.catch_up_ms, limit),
            format!(
                "caught up after {:.0} ms ≤ {limit} ms",
                measured.catch_up_ms.unwrap_or(f64::NAN)
            ),
        ),
        Target::ZeroErrors => (measured.errors == 0, format!("{} errors", measured.errors)),
    }
}

fn to_json(outcome: &Outcome, floors: &Floors) -> Value {
    let measured = &outcome.measured;
    json!({
        "scenario": outcome.name(),
        "edit_p50_ms": measured.edits.p50_ms(),
        "edit_p99_ms": measured.edits.p99_ms(),
        "ack_p50_ms": measured.acks.p50_ms(),
        "ack_p99_ms": measured.acks.p99_ms(),
        "ops_per_s": ops_per_s(measured),
        "rss_kib": measured.server_rss_kib,
        "fsync_p50_ms": floors.fsync.p50_ms(),
        "fsync_p99_ms": floors.fsync.p99_ms(),
        "relay_p50_ms": outcome.relay.p50_ms(),
        "relay_p99_ms": outcome.relay.p99_ms(),
        "terminals": measured.terminals,
        "ops": measured.ops,
        "errors": measured.errors,
        "edits_expected": measured.edits_expected,
        "edits_observed": measured.edits_observed,
        "server_cpu_s": measured.server_cpu_s,
        "rss_per_terminal_kib": measured.rss_per_terminal_kib,
        "serve_ms": measured.serve_ms,
        "catch_up_ms": measured.catch_up_ms,
    })
}
