//! possync-engine: one sync node, without I/O.
//!
//! [`Node`] is the whole of a possync server's sync rules: who may connect and
//! as which terminal, what each message does, how fast a terminal may send,
//! how ops are decided, batched and made durable, who is told what and when,
//! how a catch-up of any size is paced, and how the node recovers from a
//! commit that failed or whose outcome is unknown. It takes inputs and
//! returns effects and batches; it never reads a clock, a socket or a disk.
//! The server's actor drives it with real I/O; `possync-sim` drives the same
//! type with a seeded network, clock and store that fails.
//!
//! Memory holds what is live (drafts, connections, recent answers), never the
//! whole history: finished orders and old answers live in bounded caches
//! ([`bounded`]) and are asked of the store when needed.

pub mod batch;
pub mod bounded;
pub mod catalog;
pub mod connections;
pub mod freshness;
pub mod io;
pub mod node;
pub mod rate;
pub mod settings;
pub mod shop;

pub use catalog::EngineCatalog;
pub use io::*;
pub use node::{Node, NodeStats, Reload, World};
pub use rate::RateLimiter;
pub use settings::{Lookups, NodeSettings, RateLimit};
pub use shop::order_reference;
