//! The journal of ops: what the engine hands to the store in a group commit,
//! what the history of an order shows, and the first answer given to each op
//! (so that a resend, even after a restart, gets that answer again).

use crate::ids::{OpId, OrderId};
use crate::op::{Op, Reject};
use crate::order::{By, Order};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// One accepted op as it is kept in the order's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub version: u64,
    pub op_id: OpId,
    pub op: Op,
    pub by: By,
    pub at: Timestamp,
}

/// The first final answer given to an op, kept so a resend gets it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OpOutcome {
    Accepted { order_id: OrderId, version: u64 },
    Rejected { order_id: OrderId, reject: Reject },
}

/// One entry of a group commit. Entries are built once and moved into the
/// batch, so the large variant is not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum CommitEntry {
    /// An accepted op: the order at its new version, and the history row.
    /// When `order.state` became `paid`, the store also records the payments,
    /// the stock moves of tracked products and, if asked, the invoice.
    Accepted { order: Order, entry: HistoryEntry },
    /// A final reject, remembered for idempotency.
    Rejected {
        op_id: OpId,
        order_id: OrderId,
        reject: Reject,
        at: Timestamp,
    },
}
