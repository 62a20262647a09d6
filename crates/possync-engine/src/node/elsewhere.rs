//! What other nodes committed: several nodes on one database.
//!
//! Each node holds the open drafts in memory and decides ops against them.
//! When another node commits, the store announces it (PostgreSQL's
//! `LISTEN/NOTIFY`, carried by the driver): [`Node::on_orders_changed`]. The
//! node then reads those orders back in one store read and tells its own
//! connections, in version order and never going back: a `change` when it was
//! exactly one version behind and the announcement names the op, the whole
//! `order` when it missed more, `removed` when the order was paid, cancelled or
//! unshared elsewhere.
//!
//! An order that a batch of this node is touching is not read while the batch
//! is pending: either the batch commits on top of what the other node wrote
//! (then the announcement was this node's own), or it fails the store's
//! version check and recovery reads the order back. Either way the
//! announcement is looked at again once the batch is done. Memory is never
//! trusted over the store: a decision taken on a stale copy fails its commit,
//! and the ops of that batch are answered `unavailable` and resent.
//!
//! A driver whose announcements may have been lost (its listener reconnected)
//! lists the store's drafts and hands them to [`Node::on_drafts_listed`]: every
//! draft newer than the node's copy, new to it, or gone from the list is read.

use super::commit::Committed;
use super::{Node, ReadWaiter};
use crate::io::*;
use crate::shop::FinishedOrder;
use possync_core::*;
use std::collections::{BTreeMap, BTreeSet};

/// 100 ms, doubling, at most 5 s (the same pace as the other retries).
fn refresh_backoff_ms(attempts: u32) -> i64 {
    (100_i64 << attempts.min(6)).min(5_000)
}

impl Node {
    /// The store announced orders committed by another node (or by this one):
    /// whatever this node holds of them older than announced is read again
    /// and its connections are told.
    pub fn on_orders_changed(&mut self, changes: Vec<OrderChanged>) {
        for change in changes {
            let deferred = self
                .changed_elsewhere
                .entry(change.order_id)
                .or_insert(change);
            if change.version > deferred.version {
                *deferred = change;
            }
        }
        self.refresh_changed();
    }

    /// After announcements may have been lost: the store's open drafts and
    /// their versions, all of them. Drafts newer than the node's, drafts it
    /// does not hold and drafts it holds that are no longer listed (paid or
    /// cancelled elsewhere) are read again.
    pub fn on_drafts_listed(&mut self, drafts: Vec<(OrderId, u64)>) {
        let listed: BTreeMap<OrderId, u64> = drafts.into_iter().collect();
        let mut changes: Vec<OrderChanged> = listed
            .iter()
            .map(|(order_id, version)| OrderChanged {
                order_id: *order_id,
                version: *version,
                op_id: None,
            })
            .collect();
        for (order_id, order) in &self.shop.drafts {
            if !listed.contains_key(order_id) {
                changes.push(OrderChanged {
                    order_id: *order_id,
                    version: order.version + 1,
                    op_id: None,
                });
            }
        }
        self.on_orders_changed(changes);
    }

    /// Another node closed a session: its ops are refused from now on and its
    /// connections here are told and closed (4001), as after a close on this node.
    pub fn on_session_closed_elsewhere(&mut self, session_id: SessionId) {
        self.finish_session_closes(&[], &[(session_id, true)]);
    }

    /// This node lost a race on these orders (its commit was refused because
    /// another node moved them first): they are read again, as if announced
    /// one version past what the node holds, and their connections told.
    pub(super) fn read_again_after_lost_race(&mut self, order_ids: &BTreeSet<OrderId>) {
        let changes = order_ids
            .iter()
            .map(|order_id| OrderChanged {
                order_id: *order_id,
                version: self
                    .committed_version(*order_id)
                    .map_or(1, |version| version + 1),
                op_id: None,
            })
            .collect();
        self.on_orders_changed(changes);
    }

    /// Whether a batch of this node (being built or committing) touches the order.
    fn pending_on(&self, order_id: OrderId) -> bool {
        self.current.pre_images.contains_key(&order_id)
            || self
                .in_flight
                .iter()
                .any(|in_flight| in_flight.builder.pre_images.contains_key(&order_id))
    }

    /// The version of what the node holds committed of an order, if it holds it.
    fn committed_version(&self, order_id: OrderId) -> Option<u64> {
        match self.committed(order_id) {
            Committed::Draft(order) => Some(order.version),
            Committed::Finished(finished) => Some(finished.version),
            Committed::Absent | Committed::Unknown => None,
        }
    }

    /// Reads what announcements made stale, as soon as nothing of this node
    /// touches those orders. Called after each input that may have freed them.
    pub(super) fn refresh_changed(&mut self) {
        if self.recovery.is_some() || self.refresh_retry_at.is_some() {
            return;
        }
        let ready: Vec<OrderId> = self
            .changed_elsewhere
            .keys()
            .copied()
            .filter(|order_id| !self.pending_on(*order_id))
            .collect();
        let mut announced = BTreeMap::new();
        for order_id in ready {
            let Some(change) = self.changed_elsewhere.remove(&order_id) else {
                continue;
            };
            let up_to_date = self
                .committed_version(order_id)
                .is_some_and(|version| version >= change.version);
            // A finished order never changes again; an announcement for it is old.
            let finished = self.committed_finished(order_id).is_some();
            if !up_to_date && !finished {
                announced.insert(order_id, change);
            }
        }
        if announced.is_empty() {
            return;
        }
        self.reads.order_ids.extend(announced.keys().copied());
        self.refreshing.extend(announced.keys().copied());
        self.reads.waiters.push(ReadWaiter::Changed { announced });
    }

    /// The store answered the read of announced orders: memory takes the
    /// store's state and connections are told what changed.
    pub(super) fn refreshed(
        &mut self,
        announced: BTreeMap<OrderId, OrderChanged>,
        stored: &BTreeMap<OrderId, Order>,
    ) {
        self.refresh_retry_at = None;
        self.refresh_attempts = 0;
        for order_id in announced.keys() {
            self.refreshing.remove(order_id);
        }
        for (order_id, change) in announced {
            if self.pending_on(order_id) || self.recovery.is_some() {
                // Decided on meanwhile: looked at again once that batch is done.
                self.on_orders_changed(vec![change]);
                continue;
            }
            let Some(stored) = stored.get(&order_id) else {
                // Orders are never deleted: an announced order the store does
                // not return was announced by a database this node is not on.
                continue;
            };
            match self.committed(order_id) {
                Committed::Finished(_) => {}
                Committed::Draft(held) if held.version >= stored.version => {}
                Committed::Draft(held) => {
                    let held = held.clone();
                    self.take_store_state(stored);
                    let one_step =
                        stored.version == held.version + 1 && change.version == stored.version;
                    match change.op_id.filter(|_| one_step) {
                        Some(op_id) => self.tell_change(
                            op_id,
                            Some(&held),
                            stored,
                            &stored.updated_by,
                            stored.updated_at,
                        ),
                        None => self.tell_recovered(Some(&held), Some(stored)),
                    }
                }
                Committed::Absent | Committed::Unknown => {
                    self.take_store_state(stored);
                    if stored.is_draft() {
                        // New to this node: those who see it get it whole.
                        self.tell_recovered(None, Some(stored));
                    }
                }
            }
        }
        // What waited behind a pending batch may be free now.
        self.refresh_changed();
    }

    /// Memory takes the store's copy of an order.
    fn take_store_state(&mut self, stored: &Order) {
        self.shop.take_draft(stored.id);
        if stored.is_draft() {
            self.shop.put_draft(stored.clone());
        } else {
            self.remember_finished(stored.id, FinishedOrder::of(stored));
            self.drop_presence_on(stored.id);
        }
    }

    /// The read of announced orders failed: asked again later, and meanwhile
    /// nothing newer of them is delivered.
    pub(super) fn refresh_failed(
        &mut self,
        announced: BTreeMap<OrderId, OrderChanged>,
        now: Timestamp,
    ) {
        self.refresh_attempts = self.refresh_attempts.saturating_add(1);
        self.refresh_retry_at = Some(now.plus_millis(refresh_backoff_ms(self.refresh_attempts)));
        for change in announced.into_values() {
            self.refreshing.remove(&change.order_id);
            let deferred = self
                .changed_elsewhere
                .entry(change.order_id)
                .or_insert(change);
            if change.version > deferred.version {
                *deferred = change;
            }
        }
    }

    /// A failed read of announced orders is asked again once its delay passed.
    pub(super) fn refresh_retry_due(&mut self, now: Timestamp) {
        if self.refresh_retry_at.is_some_and(|at| at <= now) {
            self.refresh_retry_at = None;
            self.refresh_changed();
        }
    }
}
