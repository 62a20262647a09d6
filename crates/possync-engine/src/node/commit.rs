//! Group commit, fan-out once durable, and recovery from failed commits.
//!
//! **Nothing leaves before its batch is durable.** Answers and changes of a
//! batch are sent in [`Node::on_commit`], computed against the connections
//! as they are then; catch-ups and resyncs meanwhile send the committed
//! state ([`Node::committed`]), so a terminal never sees what may be undone.
//!
//! **A failed commit is a commit of unknown outcome.** It may have landed
//! (the disk flushed, then the reply was lost). So the node does not trust
//! its memory: it answers every op of the failed batch and of everything
//! decided on top of it `unavailable`, stops deciding, and reads back from
//! the store the orders and op outcomes those batches touched. Then memory
//! equals the database, terminals are sent whatever differs from what they
//! were told, and resent ops are answered from the outcomes read back.

use super::{Node, ReadWaiter, Recovery};
use crate::batch::{BatchBuilder, InFlight, ReplyTo};
use crate::connections::Phase;
use crate::io::*;
use crate::shop::FinishedOrder;
use possync_core::*;
use possync_protocol::{CloseCode, RemovedReason, ServerMessage};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// What the store holds of an order, as far as clients were told.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Committed<'a> {
    Draft(&'a Order),
    Finished(&'a FinishedOrder),
    /// Created by a batch not yet durable, or known not to exist.
    Absent,
    /// The node holds nothing about it: ask the store.
    Unknown,
}

/// The order id right after this one, for catch-up cursors.
pub(crate) fn successor(order_id: OrderId) -> Option<OrderId> {
    order_id
        .0
        .as_u128()
        .checked_add(1)
        .map(|next| OrderId(Uuid::from_u128(next)))
}

impl Node {
    /// The committed state of an order: the pre-image of the oldest pending
    /// batch that touched it, else memory.
    pub(crate) fn committed(&self, order_id: OrderId) -> Committed<'_> {
        let pending = self
            .in_flight
            .iter()
            .map(|in_flight| &in_flight.builder)
            .chain(std::iter::once(&self.current));
        for builder in pending {
            if let Some(pre_image) = builder.pre_images.get(&order_id) {
                return match (&pre_image.draft, &pre_image.finished) {
                    (Some(order), _) => Committed::Draft(order),
                    (None, Some(finished)) => Committed::Finished(finished),
                    (None, None) => Committed::Absent,
                };
            }
        }
        if let Some(order) = self.shop.drafts.get(&order_id) {
            return Committed::Draft(order);
        }
        if let Some(finished) = self.shop.finished_order(order_id) {
            return Committed::Finished(finished);
        }
        Committed::Unknown
    }

    pub(crate) fn committed_draft(&self, order_id: OrderId) -> Option<&Order> {
        match self.committed(order_id) {
            Committed::Draft(order) => Some(order),
            _ => None,
        }
    }

    pub(crate) fn committed_finished(&self, order_id: OrderId) -> Option<&FinishedOrder> {
        match self.committed(order_id) {
            Committed::Finished(finished) => Some(finished),
            _ => None,
        }
    }

    /// Whether the node holds anything about the order (memory or a pending batch).
    pub(crate) fn holds(&self, order_id: OrderId) -> bool {
        !matches!(self.committed(order_id), Committed::Unknown)
    }

    /// The first committed draft of `origin` at or after `from`, in id order,
    /// for catch-up: from memory's index by origin, and from the pre-images of
    /// pending batches (a draft a pending batch finished is still committed).
    pub(crate) fn next_committed_draft_of(
        &self,
        origin: ConfigId,
        from: OrderId,
    ) -> Option<&Order> {
        let mut from = from;
        loop {
            let in_memory = self.shop.next_draft_of(origin, from);
            let in_batches = self
                .in_flight
                .iter()
                .map(|in_flight| &in_flight.builder)
                .chain(std::iter::once(&self.current))
                .filter_map(|builder| {
                    builder
                        .pre_images
                        .range(from..)
                        .find(|(_, pre_image)| {
                            pre_image
                                .draft
                                .as_ref()
                                .is_some_and(|draft| draft.origin.config_id == origin)
                        })
                        .map(|(id, _)| *id)
                })
                .min();
            let candidate = match (in_memory, in_batches) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b)?,
            };
            if let Some(order) = self.committed_draft(candidate) {
                return Some(order);
            }
            from = successor(candidate)?;
        }
    }

    // ----- Batches -----

    /// The next batch to commit, when one is ready and the driver may have
    /// another in flight. A batch that only carries answers (duplicates) is
    /// answered here once nothing is in flight, without the store.
    pub fn next_batch(&mut self) -> Option<Batch> {
        if self.recovery.is_some()
            || self.current.is_empty()
            || self.in_flight.len() >= self.settings.batches_in_flight_max.max(1)
        {
            return None;
        }
        if !self.current.needs_store() {
            self.answer_without_store();
            return None;
        }
        let mut builder = std::mem::take(&mut self.current);
        let id = BatchId(self.next_batch_id);
        self.next_batch_id += 1;
        let entries = std::mem::take(&mut builder.entries);
        let session_closes = builder.session_closes.clone();
        self.in_flight.push_back(InFlight {
            id,
            builder,
            void: false,
        });
        Some(Batch {
            id,
            entries,
            session_closes,
        })
    }

    /// Answers that need nothing written (duplicates of durable ops, repeated
    /// creates) go out at once when no batch is pending that they could
    /// overtake.
    pub(super) fn answer_without_store(&mut self) {
        if self.recovery.is_none()
            && self.in_flight.is_empty()
            && !self.current.needs_store()
            && !self.current.decided.is_empty()
        {
            let builder = std::mem::take(&mut self.current);
            self.send_answers_and_changes(builder, &[]);
        }
    }

    /// The driver committed (or failed to commit) a batch from [`Node::next_batch`].
    /// Batches must come back in the order they were taken. Ops that waited
    /// for room in a batch are decided at `now`, once the commit made room.
    pub fn on_commit(&mut self, batch: &Batch, result: CommitResult, now: Timestamp) {
        let Some(position) = self
            .in_flight
            .iter()
            .position(|in_flight| in_flight.id == batch.id)
        else {
            return;
        };
        let Some(in_flight) = self.in_flight.remove(position) else {
            return;
        };
        let sessions_closed = match &result {
            CommitResult::Committed { sessions_closed } => sessions_closed.clone(),
            CommitResult::Failed { .. } | CommitResult::Conflict { .. } => Vec::new(),
        };
        let closes = in_flight.builder.session_closes.clone();
        match result {
            CommitResult::Committed { .. } if !in_flight.void => {
                self.make_durable(&in_flight.builder);
                self.stats.batches_committed += 1;
                self.stats.batch_entries_committed += batch.entries.len() as u64;
                self.health
                    .retain(|issue| !matches!(issue, HealthIssue::CommitsFailing(_)));
                // Answers before closes: an op committed in the same batch as
                // its session's close is in the session's report, so its
                // terminal is told so before the connection is closed (4001).
                self.send_answers_and_changes(in_flight.builder, &batch.entries);
                self.finish_session_closes(&closes, &sessions_closed);
            }
            CommitResult::Committed { .. } => {
                self.finish_session_closes(&closes, &sessions_closed);
                // Decided on top of a failed batch; recovery reads back what it did.
                self.note_void(&in_flight.builder, &batch.entries);
            }
            CommitResult::Failed { reason } => {
                self.finish_session_closes(&closes, &sessions_closed);
                self.stats.commits_failed += 1;
                self.health
                    .retain(|issue| !matches!(issue, HealthIssue::CommitsFailing(_)));
                self.health.insert(HealthIssue::CommitsFailing(reason));
                if in_flight.void {
                    self.note_void(&in_flight.builder, &batch.entries);
                } else {
                    self.fail_from(in_flight, &batch.entries);
                }
            }
            CommitResult::Conflict {
                order_ids,
                closed_sessions,
            } => {
                self.finish_session_closes(&closes, &sessions_closed);
                self.stats.commit_conflicts += 1;
                // The store answered: whatever failed before works again.
                self.health
                    .retain(|issue| !matches!(issue, HealthIssue::CommitsFailing(_)));
                // Closed on another node: refused from now on, connections told (4001).
                let closed: Vec<(SessionId, bool)> = closed_sessions
                    .iter()
                    .map(|session_id| (*session_id, true))
                    .collect();
                self.finish_session_closes(&[], &closed);
                let lost_orders = self.orders_lost(&order_ids, &closed_sessions, &batch.entries);
                if in_flight.void {
                    self.note_void(&in_flight.builder, &batch.entries);
                } else if self.in_flight.is_empty() && !lost_orders.is_empty() {
                    self.lose_race(in_flight.builder, &batch.entries, &lost_orders);
                } else {
                    // Batches decided on top of this one are being committed
                    // and may land, or the store could not name the orders
                    // (an op of the batch was answered elsewhere): recovery
                    // reads back every order and op answer they touched, as
                    // after any failed commit, but the node is not degraded.
                    self.fail_from(in_flight, &batch.entries);
                }
            }
        }
        self.ask_recovery_when_settled();
        // Announcements of orders this batch touched wait for it.
        self.refresh_changed();
        self.resume_deferred(now);
    }

    /// A batch is durable: its answers and finished orders join the caches.
    fn make_durable(&mut self, builder: &BatchBuilder) {
        for op_id in &builder.op_ids {
            if let Some(outcome) = self.outcomes_pending.remove(op_id) {
                self.remember_outcome(*op_id, outcome);
            }
        }
        for order_id in builder.pre_images.keys() {
            if let Some(finished) = self.shop.finished_pending.remove(order_id) {
                self.remember_finished(*order_id, finished);
            }
        }
    }

    /// Session closes of a batch are done (or not): the sessions' connections
    /// are told and closed (4001), and their ops refused from now on.
    pub(super) fn finish_session_closes(
        &mut self,
        closes: &[SessionClose],
        closed: &[(SessionId, bool)],
    ) {
        for close in closes {
            if let Some(count) = self.closing_sessions.get_mut(&close.session_id) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.closing_sessions.remove(&close.session_id);
                }
            }
        }
        for (session_id, done) in closed {
            if !done {
                continue;
            }
            self.closed_sessions.insert(*session_id, ());
            let conn_ids: Vec<ConnId> = self
                .connections
                .iter()
                .filter(|(_, connection)| connection.peer.session.id == *session_id)
                .map(|(conn_id, _)| *conn_id)
                .collect();
            for conn_id in conn_ids {
                self.send_one(
                    conn_id,
                    Self::error("session_closed", "this session was closed"),
                );
                self.close(conn_id, CloseCode::SessionClosed);
            }
        }
    }

    /// Sends a durable batch's answers and, after each, who learns what about its op.
    fn send_answers_and_changes(&mut self, builder: BatchBuilder, entries: &[CommitEntry]) {
        let mut last: BTreeMap<OrderId, Option<Order>> = builder
            .pre_images
            .iter()
            .map(|(order_id, pre_image)| (*order_id, pre_image.draft.clone()))
            .collect();
        for mut decided in builder.decided {
            self.count_answer(&decided.answer);
            match decided.reply {
                ReplyTo::Connection(conn_id) => {
                    self.forget_snapshot_out_of_sight(conn_id, &mut decided.answer);
                    self.send_one(conn_id, decided.answer)
                }
                ReplyTo::Request(request) => self.effects.push_back(Effect::Reply {
                    request,
                    answer: decided.answer,
                }),
            }
            let Some(CommitEntry::Accepted { order, entry }) =
                decided.entry.and_then(|index| entries.get(index))
            else {
                continue;
            };
            let before = last.remove(&order.id).flatten();
            self.tell_change(entry.op_id, before.as_ref(), order, &entry.by, entry.at);
            if order.is_draft() {
                last.insert(order.id, Some(order.clone()));
            } else {
                last.insert(order.id, None);
                self.drop_presence_on(order.id);
            }
        }
    }

    /// A reject carries the order as it was when the op was decided, and the
    /// changes decided after it follow on the same connection. If the
    /// connection lost sight of the order since (a link removed), it was told
    /// `removed` already: the snapshot must not bring the order back. If the
    /// connection's catch-up has not reached the order, no change follows the
    /// snapshot: the catch-up sends the order whole instead.
    fn forget_snapshot_out_of_sight(&self, conn_id: ConnId, answer: &mut ServerMessage) {
        let ServerMessage::Reject { order, .. } = answer else {
            return;
        };
        let visible = order.as_ref().is_some_and(|order| {
            self.connections.get(&conn_id).is_some_and(|connection| {
                connection.receives_changes_of(order.origin.config_id, order.id)
                    && can_see_draft(order, connection.peer.config.id, &self.shop.links)
            })
        });
        if !visible {
            *order = None;
        }
    }

    /// Who learns what about an accepted op: a `change` to those who saw the
    /// order and still do, the whole `order` to those who now see it for the
    /// first time, `removed` to those who no longer may. Connections still
    /// catching up learn nothing of orders their cursor has not reached.
    pub(super) fn tell_change(
        &mut self,
        op_id: OpId,
        before: Option<&Order>,
        after: &Order,
        by: &By,
        at: Timestamp,
    ) {
        let mut kept = Vec::new();
        let mut gained = Vec::new();
        let mut lost = Vec::new();
        for conn_id in self.connections_near(after.origin.config_id) {
            let Some(connection) = self.connections.get(&conn_id) else {
                continue;
            };
            if connection.closing {
                continue;
            }
            let config_id = connection.peer.config.id;
            let saw = before.is_some_and(|order| can_see_draft(order, config_id, &self.shop.links));
            let sees = can_see_draft(after, config_id, &self.shop.links);
            let origin = after.origin.config_id;
            if !connection.receives_changes_of(origin, after.id) {
                if !sees && connection.holds_unreached(origin, after.id) {
                    lost.push(conn_id);
                }
                continue;
            }
            match (saw, sees) {
                (true, true) => kept.push(conn_id),
                (false, true) => gained.push(conn_id),
                (true, false) => lost.push(conn_id),
                (false, false) => {}
            }
        }
        if let Some(before) = before {
            self.send(
                kept,
                ServerMessage::Change {
                    order_id: after.id,
                    version: after.version,
                    op_id,
                    by: by.clone(),
                    at,
                    patch: Box::new(Patch::between(before, after)),
                },
            );
        }
        self.send(
            gained.clone(),
            ServerMessage::Order {
                order: Box::new(after.clone()),
            },
        );
        self.tell_presence_to_newcomers(after.id, gained);
        let reason = match after.state {
            OrderState::Paid => RemovedReason::Paid,
            OrderState::Cancelled => RemovedReason::Cancelled,
            OrderState::Draft => RemovedReason::Unshared,
        };
        self.send(
            lost,
            ServerMessage::Removed {
                order_id: after.id,
                reason,
                version: after.version,
                by: by.clone(),
            },
        );
    }

    // ----- Failure and recovery -----

    /// `failed` could not be committed, or may have been: it, every batch
    /// decided on top of it and the batch being built are void. Memory goes
    /// back to the pre-images, every op is answered `unavailable`, and the
    /// node recovers before it decides anything else.
    fn fail_from(&mut self, failed: InFlight, entries: &[CommitEntry]) {
        let recovery = self.recovery.get_or_insert_with(Recovery::default);
        recovery.order_ids.extend(failed.builder.pre_images.keys());
        recovery.op_ids.extend(failed.builder.op_ids.iter());
        recovery
            .order_ids
            .extend(entries.iter().map(CommitEntry::order_id));
        let mut void_builders = Vec::new();
        for later in self.in_flight.iter_mut() {
            later.void = true;
            recovery.order_ids.extend(later.builder.pre_images.keys());
            recovery.op_ids.extend(later.builder.op_ids.iter());
            void_builders.push(later.builder.clone());
        }
        let mut current = std::mem::take(&mut self.current);
        // The closes of the batch being built did not start: they go into the next one.
        self.current.session_closes = std::mem::take(&mut current.session_closes);
        if let Some(recovery) = self.recovery.as_mut() {
            recovery.order_ids.extend(current.pre_images.keys());
            recovery.op_ids.extend(current.op_ids.iter());
        }
        // Undo newest first: the batch being built, the later ones, then the failed one.
        self.undo(&current);
        for builder in void_builders.iter().rev() {
            self.undo(builder);
        }
        self.undo(&failed.builder);
        for builder in [current, failed.builder] {
            for decided in builder.decided {
                self.answer_now(
                    decided.reply,
                    unavailable_reject(
                        &decided.request,
                        "the server could not save this change now",
                    ),
                );
            }
        }
        for builder in void_builders {
            for decided in builder.decided {
                self.answer_now(
                    decided.reply,
                    unavailable_reject(
                        &decided.request,
                        "the server could not save this change now",
                    ),
                );
            }
        }
        // Ops parked for a read are answered when the read comes back (recovery answers them).
    }

    /// Another writer moved `order_ids` (or answered an op of the batch)
    /// before `lost` could commit, and nothing of it was written. Only the
    /// ops on those orders lost: memory of them goes back to what the store
    /// held before the batch, their ops (in this batch and in the one being
    /// built on top of it) are answered `unavailable`, and the orders are
    /// read again (as if another node had announced them), so the resent ops
    /// are decided on the order the race left. Every other op of the batch
    /// was decided on state that is still what the store holds: it goes into
    /// the batch being built, ahead of what was decided since, and commits
    /// with it.
    fn lose_race(
        &mut self,
        lost: BatchBuilder,
        entries: &[CommitEntry],
        lost_orders: &BTreeSet<OrderId>,
    ) {
        let mut built = std::mem::take(&mut self.current);
        // Memory of each lost order goes back to its oldest pre-image: the
        // lost batch's, else the one of the batch being built.
        for order_id in lost_orders {
            let Some(pre_image) = lost
                .pre_images
                .get(order_id)
                .or_else(|| built.pre_images.get(order_id))
            else {
                continue;
            };
            self.shop.take_draft(*order_id);
            self.shop.finished_pending.remove(order_id);
            if let Some(order) = &pre_image.draft {
                self.shop.put_draft(order.clone());
            }
        }
        let mut requeued = BatchBuilder {
            // The lost batch's closes were not attempted (the driver answered
            // them); those of the batch being built are still to do.
            session_closes: std::mem::take(&mut built.session_closes),
            ..BatchBuilder::default()
        };
        let sources = [
            (lost, entries.iter().cloned().map(Some).collect::<Vec<_>>()),
            {
                let entries = std::mem::take(&mut built.entries);
                (built, entries.into_iter().map(Some).collect())
            },
        ];
        // Ops answered from a lost op's pending answer (a resend within the
        // batch) lost with it, whichever order they name.
        let lost_op_ids: BTreeSet<OpId> = sources
            .iter()
            .flat_map(|(builder, _)| &builder.decided)
            .filter(|decided| {
                decided.entry.is_some() && lost_orders.contains(&decided.request.order_id)
            })
            .map(|decided| decided.request.op_id)
            .collect();
        let mut unavailable = Vec::new();
        for (builder, mut slots) in sources {
            for (order_id, pre_image) in builder.pre_images {
                if !lost_orders.contains(&order_id) {
                    // The older batch comes first: its pre-image is what the store holds.
                    requeued.pre_images.entry(order_id).or_insert(pre_image);
                }
            }
            for mut decided in builder.decided {
                if lost_orders.contains(&decided.request.order_id)
                    || lost_op_ids.contains(&decided.request.op_id)
                {
                    self.outcomes_pending.remove(&decided.request.op_id);
                    unavailable.push(decided);
                    continue;
                }
                if let Some(entry) = decided
                    .entry
                    .and_then(|index| slots.get_mut(index))
                    .and_then(Option::take)
                {
                    decided.entry = Some(requeued.entries.len());
                    requeued.op_ids.push(entry.op_id());
                    requeued.entries.push(entry);
                }
                requeued.decided.push(decided);
            }
        }
        self.current = requeued;
        for decided in unavailable {
            self.answer_now(
                decided.reply,
                unavailable_reject(
                    &decided.request,
                    "this order was changed on another server at the same moment",
                ),
            );
        }
        self.read_again_after_lost_race(lost_orders);
    }

    /// The orders a refused batch lost: those the store named, and those
    /// that ops of a session closed elsewhere changed, in the refused batch
    /// or in the one built on top of it (every later op on such an order
    /// was decided on top of them).
    fn orders_lost(
        &self,
        order_ids: &[OrderId],
        closed_sessions: &[SessionId],
        entries: &[CommitEntry],
    ) -> BTreeSet<OrderId> {
        let mut lost: BTreeSet<OrderId> = order_ids.iter().copied().collect();
        for entry in entries.iter().chain(&self.current.entries) {
            if let CommitEntry::Accepted { order, entry } = entry
                && closed_sessions.contains(&entry.by.session_id)
            {
                lost.insert(order.id);
            }
        }
        lost
    }

    /// A void batch came back: its orders and ops are read back by recovery.
    fn note_void(&mut self, builder: &BatchBuilder, entries: &[CommitEntry]) {
        let recovery = self.recovery.get_or_insert_with(Recovery::default);
        recovery.order_ids.extend(builder.pre_images.keys());
        recovery.op_ids.extend(builder.op_ids.iter());
        recovery
            .order_ids
            .extend(entries.iter().map(CommitEntry::order_id));
    }

    /// Puts memory back to the batch's pre-images and forgets its outcomes.
    fn undo(&mut self, builder: &BatchBuilder) {
        for (order_id, pre_image) in &builder.pre_images {
            self.shop.take_draft(*order_id);
            self.shop.finished_pending.remove(order_id);
            if let Some(order) = &pre_image.draft {
                self.shop.put_draft(order.clone());
            }
        }
        for op_id in &builder.op_ids {
            self.outcomes_pending.remove(op_id);
        }
    }

    /// Once no batch is in flight, asks the store for what recovery must read back.
    pub(super) fn ask_recovery_when_settled(&mut self) {
        if !self.in_flight.is_empty() {
            return;
        }
        let Some(recovery) = self.recovery.as_mut() else {
            return;
        };
        if recovery.asked || recovery.retry_at.is_some() {
            return;
        }
        recovery.asked = true;
        let op_ids = recovery.op_ids.iter().copied().collect();
        let order_ids: Vec<OrderId> = recovery.order_ids.iter().copied().collect();
        self.stats.recoveries += 1;
        self.new_ask(
            super::Asked::Read {
                waiters: vec![ReadWaiter::Recovery],
                order_ids: order_ids.clone(),
            },
            StoreRequest::Read { op_ids, order_ids },
        );
    }

    /// The store answered recovery's read: memory becomes what the store
    /// holds, terminals are told what differs, the node decides again.
    pub(super) fn recovered(&mut self, outcomes: Vec<(OpId, OpOutcome)>, orders: Vec<Order>) {
        let Some(recovery) = self.recovery.take() else {
            return;
        };
        let mut stored: BTreeMap<OrderId, Order> =
            orders.into_iter().map(|order| (order.id, order)).collect();
        for order_id in recovery.order_ids {
            let told = self.shop.drafts.get(&order_id).cloned();
            self.shop.take_draft(order_id);
            self.shop.finished_pending.remove(&order_id);
            self.shop.finished.remove(&order_id);
            let now_stored = stored.remove(&order_id);
            match &now_stored {
                Some(order) if order.is_draft() => self.shop.put_draft(order.clone()),
                Some(order) => {
                    self.remember_finished(order_id, FinishedOrder::of(order));
                    self.drop_presence_on(order_id);
                }
                None => self.drop_presence_on(order_id),
            }
            if told.as_ref() != now_stored.as_ref().filter(|order| order.is_draft()) {
                self.tell_recovered(told.as_ref(), now_stored.as_ref());
            }
        }
        for (op_id, outcome) in outcomes {
            self.remember_outcome(op_id, outcome);
        }
        // Catch-ups paused during recovery go on.
        let catching_up: Vec<ConnId> = self
            .connections
            .iter()
            .filter(|(_, connection)| matches!(connection.phase, Phase::CatchingUp(_)))
            .map(|(conn_id, _)| *conn_id)
            .collect();
        for conn_id in catching_up {
            self.pump_catch_up(conn_id);
        }
        self.refresh_changed();
    }

    /// After recovery an order differs from what terminals were told: send
    /// the whole order to those who see it, `removed` to those who saw it.
    pub(super) fn tell_recovered(&mut self, told: Option<&Order>, stored: Option<&Order>) {
        let Some(origin) = stored
            .map(|order| order.origin.config_id)
            .or(told.map(|order| order.origin.config_id))
        else {
            return;
        };
        let order_id = stored.or(told).map(|order| order.id);
        let Some(order_id) = order_id else {
            return;
        };
        let mut see = Vec::new();
        let mut lost = Vec::new();
        for conn_id in self.connections_near(origin) {
            let Some(connection) = self.connections.get(&conn_id) else {
                continue;
            };
            if connection.closing {
                continue;
            }
            let config_id = connection.peer.config.id;
            let saw = told.is_some_and(|order| can_see_draft(order, config_id, &self.shop.links));
            let sees =
                stored.is_some_and(|order| can_see_draft(order, config_id, &self.shop.links));
            if !connection.receives_changes_of(origin, order_id) {
                if !sees && connection.holds_unreached(origin, order_id) {
                    lost.push(conn_id);
                }
                continue;
            }
            if sees {
                see.push(conn_id);
            } else if saw {
                lost.push(conn_id);
            }
        }
        if let Some(order) = stored.filter(|order| order.is_draft()) {
            let newcomers: Vec<ConnId> = see
                .iter()
                .copied()
                .filter(|conn_id| {
                    !told.is_some_and(|order| {
                        self.connections.get(conn_id).is_some_and(|connection| {
                            can_see_draft(order, connection.peer.config.id, &self.shop.links)
                        })
                    })
                })
                .collect();
            self.send(
                see,
                ServerMessage::Order {
                    order: Box::new(order.clone()),
                },
            );
            self.tell_presence_to_newcomers(order.id, newcomers);
        }
        let (reason, version, by) = match stored {
            Some(order) => (
                match order.state {
                    OrderState::Paid => RemovedReason::Paid,
                    OrderState::Cancelled => RemovedReason::Cancelled,
                    OrderState::Draft => RemovedReason::Unshared,
                },
                order.version,
                order.updated_by.clone(),
            ),
            None => match told {
                // The order's create never landed: it does not exist.
                Some(order) => (
                    RemovedReason::Cancelled,
                    order.version,
                    order.updated_by.clone(),
                ),
                None => return,
            },
        };
        self.send(
            lost,
            ServerMessage::Removed {
                order_id,
                reason,
                version,
                by,
            },
        );
    }
}
