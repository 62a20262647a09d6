//! The journal of ops: what the engine hands to the store in a group commit,
//! what the history of an order shows, and the first answer given to each op
//! (so that a resend, even after a restart, gets that answer again).

use crate::ids::{OpId, OrderId, UserId};
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
    /// The manager who approved this op at the till (PROTOCOL.md "Manager approval").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<UserId>,
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
    /// An op acknowledged without a change (a `create` repeating the order it
    /// names, at `version`): its answer is remembered like any first answer,
    /// so a resend gets the same one (PROTOCOL.md guarantee 2).
    Unchanged {
        op_id: OpId,
        order_id: OrderId,
        version: u64,
        at: Timestamp,
    },
}

impl CommitEntry {
    /// The op this entry answers.
    pub fn op_id(&self) -> OpId {
        match self {
            CommitEntry::Accepted { entry, .. } => entry.op_id,
            CommitEntry::Rejected { op_id, .. } | CommitEntry::Unchanged { op_id, .. } => *op_id,
        }
    }

    /// The order this entry is about.
    pub fn order_id(&self) -> OrderId {
        match self {
            CommitEntry::Accepted { order, .. } => order.id,
            CommitEntry::Rejected { order_id, .. } | CommitEntry::Unchanged { order_id, .. } => {
                *order_id
            }
        }
    }

    /// The first answer this entry records.
    pub fn outcome(&self) -> OpOutcome {
        match self {
            CommitEntry::Accepted { order, entry } => OpOutcome::Accepted {
                order_id: order.id,
                version: entry.version,
            },
            CommitEntry::Rejected {
                order_id, reject, ..
            } => OpOutcome::Rejected {
                order_id: *order_id,
                reject: reject.clone(),
            },
            CommitEntry::Unchanged {
                order_id, version, ..
            } => OpOutcome::Accepted {
                order_id: *order_id,
                version: *version,
            },
        }
    }
}
