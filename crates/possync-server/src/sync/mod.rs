//! Live sync: the actor that drives the one sync node, the WebSocket route
//! and the HTTP op route. Every rule is the node's (`possync-engine`); what
//! lives here moves bytes, calls the store and keeps time.
//!
//! The hot path of an op: a connection task decodes the frame and hands it
//! to the actor. The node decides it at once, against the state that
//! includes the ops decided before it (asking the store first only about ids
//! it no longer holds), and keeps deciding whatever arrives while the
//! previous batch is being committed in its own task. Once a batch is
//! durable, its answers go out, then each change (encoded once) to every
//! connection that may see the order.

pub mod actor;
pub mod listener;
pub mod metrics;
pub mod ops;
pub mod outbox;
pub mod refund;
pub mod store;
pub mod websocket;

pub use actor::{SyncHandle, SyncSettings, start_sync};
pub use metrics::SyncMetrics;
pub use possync_engine::{EngineCatalog, Lookups, NodeSettings, RateLimit};
pub use store::{ShopStore, SyncStore};
