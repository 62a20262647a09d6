//! Group commit: what the node decided and has not yet made durable.
//!
//! Every decision joins the batch being built. The driver takes the batch
//! ([`crate::Node::next_batch`]), writes its entries in one transaction and
//! hands it back with the result ([`crate::Node::on_commit`]). Only then do
//! the answers go out, and the changes, computed against the connections as
//! they are at that moment. A batch keeps each order as it was before the
//! batch first touched it (its pre-image): that is what clients were told,
//! what a catch-up sends meanwhile, and what a failed commit goes back to.

use crate::io::{BatchId, ConnId, RequestId, SessionClose};
use crate::shop::FinishedOrder;
use possync_core::{CommitEntry, OpId, Order, OrderId};
use possync_protocol::{OpRequest, ServerMessage};
use std::collections::BTreeMap;

/// Where an op's answer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyTo {
    Connection(ConnId),
    Request(RequestId),
}

/// An order slot before the batch touched it.
#[derive(Debug, Clone, PartialEq)]
pub struct PreImage {
    pub draft: Option<Order>,
    pub finished: Option<FinishedOrder>,
}

/// One decided op, answered once its batch is durable.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub reply: ReplyTo,
    pub request: OpRequest,
    pub answer: ServerMessage,
    /// The entry this decision wrote (an accepted op, a final reject), if any.
    pub entry: Option<usize>,
}

/// The batch being built, or one being committed (then `entries` are with the driver).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchBuilder {
    pub decided: Vec<Decided>,
    pub entries: Vec<CommitEntry>,
    pub pre_images: BTreeMap<OrderId, PreImage>,
    /// Op ids whose outcome this batch put in the outcome cache.
    pub op_ids: Vec<OpId>,
    pub session_closes: Vec<SessionClose>,
}

impl BatchBuilder {
    pub fn is_empty(&self) -> bool {
        self.decided.is_empty() && self.entries.is_empty() && self.session_closes.is_empty()
    }

    /// Whether anything must reach the store (otherwise only answers wait).
    pub fn needs_store(&self) -> bool {
        !self.entries.is_empty() || !self.session_closes.is_empty()
    }
}

/// A batch handed to the driver, waiting for its result.
#[derive(Debug, Clone, PartialEq)]
pub struct InFlight {
    pub id: BatchId,
    pub builder: BatchBuilder,
    /// A batch decided on top of one that failed: its result no longer
    /// counts, it only has to arrive before recovery reads the store.
    pub void: bool,
}
