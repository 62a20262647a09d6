//! How long the real `possync serve` takes to start, and how much memory it
//! holds once serving, with an empty shop, with 10,000 open drafts, and with
//! 100,000 paid orders in its history. The node loads open drafts only, so
//! history must cost neither time nor memory.
//!
//! Each database is written through the store (`commit_batch`, as the node
//! writes), with orders built by `possync_core::apply`. Then the binary is
//! started on it: the time is from spawning the process to the first 200 from
//! `/healthz`, the memory is the process's resident set (`/proc/<pid>/status`)
//! right after.
//!
//! Run: `cargo build --release && cargo run --release --example startup -- --binary target/release/possync`

use anyhow::{Context, Result, bail};
use clap::Parser;
use possync_core::*;
use possync_server::sync::EngineCatalog;
use possync_store::Store;
use possync_store::sqlite::SqliteStore;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Parser, Debug)]
struct Args {
    /// The `possync` binary to start (build it with `--release`).
    #[arg(long, default_value = "target/release/possync")]
    binary: PathBuf,
    /// Open drafts in the second shop.
    #[arg(long, default_value_t = 10_000)]
    drafts: usize,
    /// Paid orders in the third shop's history.
    #[arg(long, default_value_t = 100_000)]
    paid: usize,
    /// Starts of each shop; the figures are the median.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

fn name(text: &str) -> Name {
    Name::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"))
}

/// A shop with one counter, one product and cash; answers the counter's session.
async fn shop(store: &SqliteStore) -> Result<(Config, Session, Product, PaymentMethod)> {
    let config = store
        .create_config(&ConfigNew {
            restrict_price_control: false,
            name: name("Counter 1"),
            sync_with: vec![],
            auto_share: false,
            printer: None,
        })
        .await?;
    let product = store
        .create_product(&ProductNew {
            name: name("Espresso"),
            price: Money::new(220).context("a price")?,
            category_id: None,
            barcode: None,
            tax_ids: vec![],
            tracks_stock: false,
            on_hand: Quantity::ZERO,
            low_stock: None,
        })
        .await?;
    let cash = store
        .create_payment_method(&PaymentMethodNew {
            name: name("Cash"),
            kind: PaymentMethodKind::Cash,
        })
        .await?;
    // The session needs a user; this one never signs in, so its hash is a placeholder.
    let manager = store
        .create_user(
            &Login::parse("startup").context("a login")?,
            &name("Startup Manager"),
            Role::Manager,
            "not a password hash: this user never signs in",
            &[],
        )
        .await?;
    let user_id = manager.id;
    let (session, _) = store
        .open_or_join_session(
            config.id,
            user_id,
            Money::ZERO,
            Timestamp::from_unix_millis(0),
        )
        .await?;
    Ok((config, session, product, cash))
}

/// Writes `count` orders: drafts with one line, or the same paid.
async fn write_orders(store: &SqliteStore, count: usize, paid: bool) -> Result<()> {
    let (config, session, product, cash) = shop(store).await?;
    let catalog = EngineCatalog::build(
        std::slice::from_ref(&product),
        &[],
        &[],
        std::slice::from_ref(&cash),
    );
    let by = By {
        session_id: session.id,
        config_id: config.id,
        config_name: config.name.clone(),
        terminal: TerminalId(Uuid::now_v7()),
    };
    let at = Timestamp::from_unix_millis(1_800_000_000_000);
    let context_reference = String::from("Counter 1");
    let context = ApplyContext {
        rights: possync_core::Rights::FULL,
        by: &by,
        now: at,
        catalog: &catalog,
        lease_ms: 60_000,
        auto_share: false,
        reference: &context_reference,
    };
    let mut ops = vec![
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: None,
        },
        Op::AddLine {
            line_id: LineId(Uuid::nil()),
            product_id: product.id,
            qty: Quantity::ONE,
            unit_price: None,
            discount: None,
            note: None,
        },
    ];
    if paid {
        ops.push(Op::Pay {
            payments: vec![PaymentInput {
                method_id: cash.id,
                amount: product.price,
            }],
            expected_total: product.price,
            invoice: None,
        });
    }
    let mut entries = Vec::new();
    for n in 0..count {
        let order_id = OrderId(Uuid::now_v7());
        let mut order: Option<Order> = None;
        for op in &ops {
            let op = match op {
                Op::AddLine { .. } => Op::AddLine {
                    line_id: LineId(Uuid::now_v7()),
                    product_id: product.id,
                    qty: Quantity::ONE,
                    unit_price: None,
                    discount: None,
                    note: None,
                },
                other => other.clone(),
            };
            let Applied::Changed(next) = apply(order.as_ref(), order_id, &op, &context)
                .map_err(|reject| anyhow::anyhow!("{}", reject.message))?
            else {
                bail!("op {op:?} changed nothing");
            };
            entries.push(CommitEntry::Accepted {
                order: next.clone(),
                entry: HistoryEntry {
                    approved_by: None,
                    version: next.version,
                    op_id: OpId(Uuid::now_v7()),
                    op,
                    by: by.clone(),
                    at,
                },
            });
            order = Some(next);
        }
        if entries.len() >= 3_000 || n + 1 == count {
            store.commit_batch(&entries).await?;
            entries.clear();
        }
    }
    Ok(())
}

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc")
}

struct Started {
    child: Child,
    elapsed: Duration,
}

/// Starts the binary on `data_dir` and waits for `/healthz` to answer 200.
async fn start(binary: &Path, data_dir: &Path, port: u16) -> Result<Started> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(["--data-dir"])
        .arg(data_dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("POSSYNC_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("start {}", binary.display()))?;
    let url = format!("http://127.0.0.1:{port}/healthz");
    loop {
        if let Ok(response) = client.get(&url).send().await
            && response.status().is_success()
        {
            return Ok(Started {
                child,
                elapsed: started.elapsed(),
            });
        }
        if let Some(status) = child.try_wait()? {
            bail!("the server exited before serving ({status}); its log is above");
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            bail!("the server did not answer /healthz within 2 minutes");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn stop(mut child: Child) -> Result<()> {
    // SIGTERM, as a supervisor would; the server then releases its data-dir lock.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    child.wait()?;
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let root = tempfile::tempdir()?;
    let shops = [
        ("empty shop", 0, false),
        ("open drafts", args.drafts, false),
        ("paid orders", args.paid, true),
    ];
    println!(
        "| shop | start to /healthz 200, median of {} | server RSS after start |",
        args.runs
    );
    println!("|---|---|---|");
    for (label, count, paid) in shops {
        let data_dir = root.path().join(label.replace(' ', "-"));
        std::fs::create_dir_all(&data_dir)?;
        let written = Instant::now();
        {
            let store = SqliteStore::open(&data_dir.join("possync.db")).await?;
            if count > 0 {
                write_orders(&store, count, paid).await?;
            } else {
                shop(&store).await?;
            }
            store.close().await;
        }
        eprintln!(
            "{label}: {count} orders written in {:.1} s",
            written.elapsed().as_secs_f64()
        );
        let mut times = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..args.runs {
            let started = start(&args.binary, &data_dir, free_port()?).await?;
            times.push(started.elapsed.as_secs_f64() * 1_000.0);
            rss.push(rss_kib(started.child.id())? as f64 / 1024.0);
            stop(started.child)?;
        }
        let what = if count == 0 {
            label.to_owned()
        } else {
            format!("{count} {label}")
        };
        println!(
            "| {what} | {:.0} ms | {:.1} MiB |",
            median(times),
            median(rss)
        );
    }
    Ok(())
}
