//! Live sync: one engine actor that decides and group-commits every op, the
//! connections it fans out to, the WebSocket route and the HTTP op route.
//!
//! The hot path of an op: a connection task decodes and bounds the frame,
//! asks the store whether the `op_id` was answered before (a read, off the
//! writer), and hands the op to the actor. The actor decides it at once with
//! the engine, against the state that includes the ops decided before it,
//! and keeps deciding whatever arrives while the previous commit is in
//! flight; then it writes the whole batch in one transaction. Only after the
//! commit does anything leave: the `ack` to the sender, then the `change`
//! (encoded once) to every connection that may see the order.

pub mod actor;
pub mod metrics;
pub mod ops;
pub mod websocket;

pub use actor::{SyncHandle, SyncSettings, start_sync};
pub use metrics::SyncMetrics;
