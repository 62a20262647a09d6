//! A minimal third-party till on the Rust SDK (`possync-client`).
//!
//! It logs in, opens (or joins) the session of a counter, connects with the
//! terminal token, rings up one coffee on a new shared order, and prints
//! every event until the order is paid elsewhere or `--seconds` pass. Ops go
//! through the durable outbox in `--outbox`: stop the server mid-way and
//! start it again, and the till catches up and delivers what waited.
//!
//! ```sh
//! cargo run --release -- serve --demo &
//! cargo run --example till -- --url http://127.0.0.1:8080 --login cashier --password cashier --config 2
//! ```

use clap::Parser;
use possync_client::http::HttpApi;
use possync_client::{Client, ClientOptions, Event, new_line_id, new_order_id};
use possync_core::{ConfigId, Op, Quantity};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, default_value = "cashier")]
    login: String,
    #[arg(long, default_value = "cashier")]
    password: String,
    /// The counter (config id) whose session this till works in.
    #[arg(long, default_value_t = 2)]
    config: i64,
    /// The till's local file: outbox and caches.
    #[arg(long, default_value = "till-outbox.db")]
    outbox: PathBuf,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let user = HttpApi::login(&args.url, &args.login, &args.password).await?;
    let opened = user.open_session(ConfigId(args.config)).await?;
    println!("session {} of config {}", opened.session.id, args.config);
    let (client, mut events) = Client::start(ClientOptions::new(
        &args.url,
        &opened.terminal_token,
        &args.outbox,
    ))
    .await?;
    println!("terminal {}", client.terminal_id());

    // Wait for the catalog, then ring up the first product on a shared order.
    let order_id = new_order_id();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.seconds);
    let mut rung_up = false;
    loop {
        let event = match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(event)) => event,
            Ok(None) | Err(_) => break,
        };
        match &event {
            Event::Connection(state) => println!("connection: {state:?}"),
            Event::OrderAppeared { order } => {
                println!("order {} appeared at v{}", order.id, order.version)
            }
            Event::OrderChanged { order, change } => println!(
                "order {} is at v{} (total {}){}",
                order.id,
                order.version,
                order.totals.total.minor(),
                change
                    .as_ref()
                    .map(|c| format!(", by {}", c.by.config_name.as_str()))
                    .unwrap_or_default()
            ),
            Event::OrderRemoved {
                order_id: removed,
                reason,
                ..
            } => {
                println!("order {removed} left this till: {reason:?}");
                if *removed == order_id {
                    break;
                }
            }
            other => println!("{other:?}"),
        }
        if matches!(event, Event::CatalogChanged) && !rung_up {
            let Some(product) = client.catalog().products.first().cloned() else {
                println!("the shop has no products");
                break;
            };
            rung_up = true;
            let ops = vec![
                (
                    order_id,
                    Op::Create {
                        config_id: None,
                        customer_id: None,
                        note: None,
                        share: Some(true),
                    },
                ),
                (
                    order_id,
                    Op::AddLine {
                        line_id: new_line_id(),
                        product_id: product.id,
                        qty: Quantity::from_milli(1000)?,
                        unit_price: None,
                        discount: None,
                        note: None,
                    },
                ),
            ];
            client.submit_all(ops).await?;
            if let Some(view) = client.view(order_id) {
                println!(
                    "rang up {} on order {order_id}: total {} (not yet confirmed)",
                    product.name.as_str(),
                    view.totals.total.minor()
                );
            }
        }
    }
    println!("{} ops still in the outbox", client.pending_ops().len());
    client.shutdown().await?;
    Ok(())
}
