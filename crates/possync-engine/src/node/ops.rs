//! Ops: idempotency, sequencing, the draft cap, sessions being closed.
//!
//! An op is decided at once against the state that includes every op
//! decided before it, unless the node lacks what it needs: the first answer
//! of an op id it no longer holds, or an order it no longer holds. Then the
//! op waits for one store read (gathered with the other questions of the same
//! input), and the ops behind it on the same connection wait with it, so a
//! terminal's ops are decided in the order it sent them.

use super::{Node, ReadWaiter, Ticket};
use crate::batch::{Decided, PreImage, ReplyTo};
use crate::io::*;
use crate::shop::{FinishedOrder, Verdict};
use possync_core::*;
use possync_protocol::{OpRequest, ServerMessage};

/// What became of an op brought to a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// Decided: it is in the batch, or answered.
    Answered,
    /// Waiting for room in a batch (see [`Node::resume_deferred`]).
    Deferred,
}

impl Node {
    /// Decides an op now, or parks it until the store has answered what the node lacks.
    pub(super) fn admit(&mut self, ticket: Ticket, now: Timestamp) {
        if self.recovery.is_some() {
            self.answer_now(
                ticket.reply,
                unavailable_reject(
                    &ticket.request,
                    "the server is recovering from a failed save",
                ),
            );
            return;
        }
        let op_id = ticket.request.op_id;
        let order_id = ticket.request.order_id;
        let op_fresh = self.freshness.is_fresh(op_id.0, now);
        let order_fresh = self.freshness.is_fresh(order_id.0, now);
        let needs_outcome = self.outcome_of(op_id).is_none() && !op_fresh;
        let needs_order = !self.holds(order_id) && !order_fresh;
        if !needs_outcome && !needs_order {
            self.decide(ticket, now);
            return;
        }
        // Whatever is asked, ask for both: the caches are bounded, and what the
        // node holds now may be forgotten before the answer comes back.
        if !op_fresh {
            self.reads.op_ids.insert(op_id);
        }
        if !order_fresh && !self.shop.drafts.contains_key(&order_id) {
            self.reads.order_ids.insert(order_id);
        }
        if let ReplyTo::Connection(conn_id) = ticket.reply
            && let Some(connection) = self.connections.get_mut(&conn_id)
        {
            connection.op_parked = true;
        }
        self.reads.waiters.push(ReadWaiter::Op(ticket));
    }

    /// An op that waited for the store (or for a full batch to be handed
    /// out): decide it, then what waited behind it on its connection.
    pub(super) fn admit_after_read(&mut self, ticket: Ticket, now: Timestamp) {
        let reply = ticket.reply;
        if self.recovery.is_some() {
            self.answer_now(
                reply,
                unavailable_reject(
                    &ticket.request,
                    "the server is recovering from a failed save",
                ),
            );
        } else if self.decide(ticket, now) == Decision::Deferred {
            // Still parked: it and what is behind it go on after the next commit.
            return;
        }
        if let ReplyTo::Connection(conn_id) = reply {
            if let Some(connection) = self.connections.get_mut(&conn_id) {
                connection.op_parked = false;
            }
            self.drain_waiting(conn_id, now);
        }
    }

    /// A commit ended: the ops that waited for room in a batch are decided, in
    /// the order they came, for as long as there is room.
    pub(super) fn resume_deferred(&mut self, now: Timestamp) {
        while !self.is_saturated() {
            let Some(ticket) = self.deferred.pop_front() else {
                return;
            };
            self.admit_after_read(ticket, now);
        }
    }

    /// Decides an op whose op id and order the node holds (or knows to be new).
    fn decide(&mut self, ticket: Ticket, now: Timestamp) -> Decision {
        if self.is_saturated() {
            // No room in a batch until a commit ends. The op waits for it (its
            // connection stays parked, so the ops behind it keep their order),
            // unless so many wait already that the driver is not holding back
            // (see `is_saturated`): then it is refused rather than queued
            // without bound.
            if self.deferred.len() >= self.settings.ops_per_batch_max.max(1) {
                self.answer_now(
                    ticket.reply,
                    unavailable_reject(&ticket.request, "the server is busy"),
                );
                return Decision::Answered;
            }
            if let ReplyTo::Connection(conn_id) = ticket.reply
                && let Some(connection) = self.connections.get_mut(&conn_id)
            {
                connection.op_parked = true;
            }
            self.deferred.push_back(ticket);
            return Decision::Deferred;
        }
        self.decide_now(ticket, now);
        Decision::Answered
    }

    fn decide_now(&mut self, ticket: Ticket, now: Timestamp) {
        let Ticket {
            reply,
            source,
            request,
        } = ticket;
        if let Some(outcome) = self.outcome_of(request.op_id).cloned() {
            self.answer_duplicate(reply, source.config_id, &request, &outcome);
            return;
        }
        if self.refreshing.contains(&request.order_id) {
            // Another node moved the order: deciding on this copy would only
            // lose at commit. The terminal resends once the read is back.
            self.answer_now(
                reply,
                unavailable_reject(
                    &request,
                    "this order was just changed on another server and is being read again",
                ),
            );
            return;
        }
        if self.closed_sessions.contains_key(&source.session_id) {
            self.reject(
                reply,
                &source,
                request,
                Reject::new(RejectCode::SessionClosed, "this session is closed"),
                now,
            );
            return;
        }
        if self.closing_sessions.contains_key(&source.session_id) {
            // The close may still fail: a final `session_closed` would be wrong then.
            self.answer_now(
                reply,
                unavailable_reject(&request, "this session is being closed"),
            );
            return;
        }
        let by = self.shop.by(&source);
        if request.op.is_create()
            && !self.holds(request.order_id)
            && self.shop.open_drafts_of(source.config_id) >= self.settings.drafts_per_config_max
        {
            let reject = Reject::new(
                RejectCode::Invalid,
                format!(
                    "{} already has {} open drafts, the most a counter may have: pay or cancel some first",
                    by.config_name, self.settings.drafts_per_config_max
                ),
            );
            self.reject(reply, &source, request, reject, now);
            return;
        }
        match self
            .shop
            .decide(&by, source.role, &request, now, self.settings.lease_ms)
        {
            Verdict::Accepted { before, after } => {
                self.accept(reply, by, request, before, after, now)
            }
            Verdict::Unchanged { version } => {
                // A create repeating the order it names: acknowledged at that
                // version like a duplicate, and remembered like any first answer.
                let entry = CommitEntry::Unchanged {
                    op_id: request.op_id,
                    order_id: request.order_id,
                    version,
                    at: now,
                };
                self.outcomes_pending.insert(request.op_id, entry.outcome());
                self.current.op_ids.push(request.op_id);
                let answer = ServerMessage::Ack {
                    op_id: request.op_id,
                    order_id: request.order_id,
                    version,
                    duplicate: true,
                };
                let index = self.current.entries.len();
                self.current.entries.push(entry);
                self.current.decided.push(Decided {
                    reply,
                    request,
                    answer,
                    entry: Some(index),
                });
            }
            Verdict::Rejected(reject) => self.reject(reply, &source, request, reject, now),
        }
    }

    fn answer_duplicate(
        &mut self,
        reply: ReplyTo,
        config_id: ConfigId,
        request: &OpRequest,
        outcome: &OpOutcome,
    ) {
        let answer = match outcome {
            OpOutcome::Accepted { order_id, version } => ServerMessage::Ack {
                op_id: request.op_id,
                order_id: *order_id,
                version: *version,
                duplicate: true,
            },
            OpOutcome::Rejected { order_id, reject } => ServerMessage::Reject {
                op_id: request.op_id,
                order_id: *order_id,
                code: reject.code,
                message: reject.message.clone(),
                order: self.visible_draft(*order_id, config_id),
            },
        };
        // Answered with the batch: the first answer may still be in it.
        self.current.decided.push(Decided {
            reply,
            request: request.clone(),
            answer,
            entry: None,
        });
    }

    /// The order as the terminal may see it, attached to a reject so it can resync.
    fn visible_draft(&self, order_id: OrderId, config_id: ConfigId) -> Option<Box<Order>> {
        self.shop
            .drafts
            .get(&order_id)
            .filter(|order| can_see_draft(order, config_id, &self.shop.links))
            .map(|order| Box::new(order.clone()))
    }

    fn reject(
        &mut self,
        reply: ReplyTo,
        source: &Source,
        request: OpRequest,
        reject: Reject,
        now: Timestamp,
    ) {
        let answer = ServerMessage::Reject {
            op_id: request.op_id,
            order_id: request.order_id,
            code: reject.code,
            message: reject.message.clone(),
            order: self.visible_draft(request.order_id, source.config_id),
        };
        if reject.code.is_retryable() {
            self.answer_now(reply, answer);
            return;
        }
        self.outcomes_pending.insert(
            request.op_id,
            OpOutcome::Rejected {
                order_id: request.order_id,
                reject: reject.clone(),
            },
        );
        self.current.op_ids.push(request.op_id);
        let entry = self.current.entries.len();
        self.current.entries.push(CommitEntry::Rejected {
            op_id: request.op_id,
            order_id: request.order_id,
            reject,
            at: now,
        });
        self.current.decided.push(Decided {
            reply,
            request,
            answer,
            entry: Some(entry),
        });
    }

    fn accept(
        &mut self,
        reply: ReplyTo,
        by: By,
        request: OpRequest,
        before: Option<Order>,
        after: Order,
        now: Timestamp,
    ) {
        let order_id = after.id;
        let finished_before = self.shop.finished_order(order_id).cloned();
        self.current
            .pre_images
            .entry(order_id)
            .or_insert_with(|| PreImage {
                draft: before,
                finished: finished_before,
            });
        self.outcomes_pending.insert(
            request.op_id,
            OpOutcome::Accepted {
                order_id,
                version: after.version,
            },
        );
        self.current.op_ids.push(request.op_id);
        let answer = ServerMessage::Ack {
            op_id: request.op_id,
            order_id,
            version: after.version,
            duplicate: false,
        };
        let entry = self.current.entries.len();
        self.current.entries.push(CommitEntry::Accepted {
            order: after.clone(),
            entry: HistoryEntry {
                version: after.version,
                op_id: request.op_id,
                op: request.op.clone(),
                by,
                at: now,
                approved_by: Approval::verified_user(request.approval.as_deref()),
            },
        });
        self.current.decided.push(Decided {
            reply,
            request,
            answer,
            entry: Some(entry),
        });
        if after.is_draft() {
            self.shop.put_draft(after);
        } else {
            self.shop.take_draft(order_id);
            self.shop
                .finished_pending
                .insert(order_id, FinishedOrder::of(&after));
        }
    }

    // ----- closing a session -----

    /// Closes a session through the node, so that every op is either committed
    /// before the close (and in its report) or refused `session_closed`. The
    /// close joins the current batch; the driver closes the session in the
    /// store once the batch's entries are durable. Meanwhile the session's
    /// ops are answered `unavailable` (retryable): the close may still fail.
    pub fn on_close_session(
        &mut self,
        request: RequestId,
        session_id: SessionId,
        counted_cash: Option<Money>,
    ) {
        *self.closing_sessions.entry(session_id).or_default() += 1;
        self.current.session_closes.push(SessionClose {
            request,
            session_id,
            counted_cash,
        });
    }
}
