//! possync-terminal: what a terminal keeps and how it reacts to the server,
//! without I/O, so the same logic serves the Rust SDK (`possync-client`, which
//! adds the socket, the durable outbox file and reconnects around it) and the
//! deterministic simulation (`possync-sim`), which drives it with a seeded network.
//!
//! A terminal holds, per order, the **last confirmed copy** from the server,
//! and an **outbox** of ops not yet answered, in the order they were made.
//! Server patches advance the confirmed copy; acks and final rejects empty
//! the outbox; retryable rejects keep the op for a later resend with the same
//! `op_id`. The optimistic view shown to a cashier is the confirmed copy with
//! the pending ops re-applied on top ([`TerminalState::view`]).

use possync_core::*;
use possync_protocol::{ClientMessage, OpRequest, RemovedReason, ServerMessage};
use std::collections::{BTreeMap, BTreeSet};

/// An op waiting for its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingOp {
    pub request: OpRequest,
    /// Sent on the current connection; cleared on disconnect so it is resent.
    pub sent: bool,
}

/// What happened to an op, for the terminal to tell the cashier.
#[derive(Debug, Clone, PartialEq)]
pub enum OpFate {
    Acked {
        op_id: OpId,
        order_id: OrderId,
        version: u64,
        duplicate: bool,
    },
    Rejected {
        op_id: OpId,
        order_id: OrderId,
        code: RejectCode,
        message: String,
    },
}

/// The terminal's knowledge of the orders it may see.
#[derive(Debug, Clone, Default)]
pub struct TerminalState {
    confirmed: BTreeMap<OrderId, Order>,
    outbox: Vec<PendingOp>,
    /// Orders that left this terminal for good, with why.
    removed: BTreeMap<OrderId, RemovedReason>,
    /// Orders to ask the server again about (a version gap was seen).
    resync_wanted: BTreeSet<OrderId>,
    synced: bool,
}

impl TerminalState {
    pub fn new() -> Self {
        TerminalState::default()
    }

    pub fn confirmed(&self) -> &BTreeMap<OrderId, Order> {
        &self.confirmed
    }

    pub fn outbox(&self) -> &[PendingOp] {
        &self.outbox
    }

    pub fn is_synced(&self) -> bool {
        self.synced
    }

    pub fn removed_reason(&self, order_id: OrderId) -> Option<RemovedReason> {
        self.removed.get(&order_id).copied()
    }

    /// Queues an op; it is sent by [`TerminalState::unsent`].
    pub fn push_op(&mut self, request: OpRequest) {
        self.outbox.push(PendingOp {
            request,
            sent: false,
        });
    }

    /// The `hello` for a new connection: every confirmed version.
    pub fn hello(&mut self, terminal: TerminalId) -> ClientMessage {
        self.synced = false;
        for pending in &mut self.outbox {
            pending.sent = false;
        }
        ClientMessage::Hello {
            protocol: possync_protocol::PROTOCOL_VERSION,
            terminal,
            known: self
                .confirmed
                .iter()
                .map(|(id, order)| (*id, order.version))
                .collect(),
        }
    }

    /// The ops to send now (after `hello`, and whenever new ones are queued), marked sent.
    pub fn unsent(&mut self) -> Vec<OpRequest> {
        self.outbox
            .iter_mut()
            .filter(|pending| !pending.sent)
            .map(|pending| {
                pending.sent = true;
                pending.request.clone()
            })
            .collect()
    }

    /// The connection dropped: every pending op is to be resent on the next one.
    pub fn disconnected(&mut self) {
        self.synced = false;
        for pending in &mut self.outbox {
            pending.sent = false;
        }
    }

    /// A `resync` request, if a version gap was seen.
    pub fn take_resync(&mut self) -> Option<ClientMessage> {
        if self.resync_wanted.is_empty() {
            return None;
        }
        let order_ids = std::mem::take(&mut self.resync_wanted)
            .into_iter()
            .collect();
        Some(ClientMessage::Resync { order_ids })
    }

    /// Handles one server message; answers the fate of an op when it has one.
    pub fn receive(&mut self, message: &ServerMessage) -> Option<OpFate> {
        match message {
            ServerMessage::Order { order } => {
                let newer = self
                    .confirmed
                    .get(&order.id)
                    .is_none_or(|known| known.version <= order.version);
                if newer {
                    self.removed.remove(&order.id);
                    self.confirmed.insert(order.id, (**order).clone());
                }
                None
            }
            ServerMessage::Change {
                order_id,
                version,
                patch,
                ..
            } => {
                match self.confirmed.get(order_id) {
                    Some(known) if known.version + 1 == *version => match patch.apply_to(known) {
                        Ok(patched) => {
                            self.confirmed.insert(*order_id, patched);
                        }
                        Err(_) => {
                            self.resync_wanted.insert(*order_id);
                        }
                    },
                    Some(known) if known.version >= *version => {}
                    _ => {
                        self.resync_wanted.insert(*order_id);
                    }
                }
                None
            }
            ServerMessage::Removed {
                order_id, reason, ..
            } => {
                self.confirmed.remove(order_id);
                self.removed.insert(*order_id, *reason);
                // Edits of an order this terminal may no longer touch would only be refused.
                self.outbox
                    .retain(|pending| pending.request.order_id != *order_id);
                None
            }
            ServerMessage::Synced => {
                self.synced = true;
                None
            }
            ServerMessage::Ack {
                op_id,
                order_id,
                version,
                duplicate,
            } => {
                self.outbox
                    .retain(|pending| pending.request.op_id != *op_id);
                Some(OpFate::Acked {
                    op_id: *op_id,
                    order_id: *order_id,
                    version: *version,
                    duplicate: *duplicate,
                })
            }
            ServerMessage::Reject {
                op_id,
                order_id,
                code,
                message,
                order,
            } => {
                if code.is_retryable() {
                    if let Some(pending) = self
                        .outbox
                        .iter_mut()
                        .find(|pending| pending.request.op_id == *op_id)
                    {
                        pending.sent = false;
                    }
                } else {
                    self.outbox
                        .retain(|pending| pending.request.op_id != *op_id);
                }
                if let Some(order) = order {
                    let newer = self
                        .confirmed
                        .get(&order.id)
                        .is_none_or(|known| known.version <= order.version);
                    if newer {
                        self.confirmed.insert(order.id, (**order).clone());
                    }
                }
                Some(OpFate::Rejected {
                    op_id: *op_id,
                    order_id: *order_id,
                    code: *code,
                    message: message.clone(),
                })
            }
            ServerMessage::Welcome { .. }
            | ServerMessage::Presence { .. }
            | ServerMessage::Error { .. }
            | ServerMessage::Pong { .. } => None,
        }
    }

    /// The order as the cashier sees it: the confirmed copy with the pending
    /// ops re-applied on top. Ops that would be refused are skipped (the
    /// server will say why). `None` when the order is neither confirmed nor
    /// being created here.
    pub fn view(&self, order_id: OrderId, context: &ApplyContext<'_>) -> Option<Order> {
        let mut order = self.confirmed.get(&order_id).cloned();
        for pending in self
            .outbox
            .iter()
            .filter(|pending| pending.request.order_id == order_id)
        {
            if let Ok(Applied::Changed(next)) =
                apply(order.as_ref(), order_id, &pending.request.op, context)
            {
                order = Some(next);
            }
        }
        order
    }
}
