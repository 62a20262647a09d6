//! possync-client: the Rust SDK of possync, for a till that embeds a terminal.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use possync_client::{Client, ClientOptions, Event, new_order_id};
//! use possync_core::Op;
//!
//! let options = ClientOptions::new("http://127.0.0.1:8080", "<terminal token>", "till.db");
//! let (client, mut events) = Client::start(options).await?;
//! let order_id = new_order_id();
//! let created = client
//!     .submit(order_id, Op::Create { config_id: None, customer_id: None, note: None, share: Some(true) })
//!     .await?; // durable in till.db now, sent when connected
//! while let Some(event) = events.next().await {
//!     if let Event::OpAcked { op_id, version, .. } = event {
//!         if op_id == created.op_id { println!("order {order_id} is at version {version}"); break; }
//!     }
//! }
//! client.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! - [`Client`]: connect with a terminal token, `hello` with known versions,
//!   catch up; submit ops through a durable outbox (an SQLite file); read
//!   optimistic views rebased on server patches; reconnect with backoff and jitter.
//! - [`Events`]: orders appearing, changing and leaving (per order in version
//!   order), presence, op answers and the connection state.
//! - [`wire`]: the socket and message encoding alone, for load generators.
//! - [`http`]: login, sessions, catalog and order reads over HTTP.
//! - The state machine without I/O lives in `possync-terminal` (re-exported
//!   here as [`terminal`]); the deterministic simulation drives it directly.

pub mod backoff;
pub mod catalog;
mod client;
pub mod http;
pub mod local_file;
pub mod wire;

pub use client::{
    ChangeInfo, Client, ClientError, ClientOptions, ConnectionState, Event, Events, OpOutcome,
    Submitted, new_line_id, new_order_id,
};
pub use local_file::SessionInfo;
pub use possync_terminal as terminal;
