//! The store's answers, configuration reloads, and retries of both.
//!
//! Questions gathered while handling one input go out as one read
//! ([`StoreRequest::Read`]), so a burst of resent ops costs one query. A read
//! or a reload that fails is retried with a growing delay, and shows in
//! [`Node::health`] until it succeeds.

use super::{Asked, Node, ReadWaiter, Reload, ReloadState};
use crate::io::*;
use crate::shop::FinishedOrder;
use possync_core::*;
use possync_protocol::{CloseCode, ServerMessage};
use std::collections::{BTreeMap, BTreeSet};

/// 100 ms, doubling, at most 5 s.
fn backoff_ms(attempts: u32) -> i64 {
    (100_i64 << attempts.min(6)).min(5_000)
}

impl Node {
    /// Asks the store what the questions gathered so far need, in one read.
    pub(super) fn flush_reads(&mut self) {
        if self.reads.waiters.is_empty() {
            return;
        }
        let reads = std::mem::take(&mut self.reads);
        let op_ids: Vec<OpId> = reads.op_ids.into_iter().collect();
        let order_ids: Vec<OrderId> = reads.order_ids.into_iter().collect();
        self.stats.store_reads += 1;
        self.stats.store_ids_read += (op_ids.len() + order_ids.len()) as u64;
        self.new_ask(
            Asked::Read {
                waiters: reads.waiters,
                order_ids: order_ids.clone(),
            },
            StoreRequest::Read { op_ids, order_ids },
        );
    }

    /// The store answered (or failed to answer) the question `ask`.
    pub fn on_store_answer(
        &mut self,
        ask: AskId,
        answer: Result<StoreAnswer, String>,
        now: Timestamp,
    ) {
        let Some(asked) = self.asked.remove(&ask) else {
            return;
        };
        match (asked, answer) {
            (Asked::Read { waiters, order_ids }, Ok(StoreAnswer::Read { outcomes, orders })) => {
                if waiters.contains(&ReadWaiter::Recovery) {
                    self.recovered(outcomes, orders);
                    return;
                }
                let outcomes: BTreeMap<OpId, OpOutcome> = outcomes.into_iter().collect();
                let orders: BTreeMap<OrderId, Order> =
                    orders.into_iter().map(|order| (order.id, order)).collect();
                // Each waiter learns what it asked for just before it is
                // handled: the caches are bounded, and what one waiter's
                // decision adds may evict what another one needs.
                for waiter in waiters {
                    match waiter {
                        ReadWaiter::Op(ticket) => {
                            self.learn(
                                outcomes.get_key_value(&ticket.request.op_id),
                                orders.get(&ticket.request.order_id),
                            );
                            self.admit_after_read(ticket, now);
                        }
                        ReadWaiter::Known { conn } => {
                            for order_id in &order_ids {
                                self.learn(None, orders.get(order_id));
                            }
                            self.known_read(conn, &order_ids);
                        }
                        ReadWaiter::Resync { conn, order_ids } => {
                            for order_id in order_ids {
                                self.learn(None, orders.get(&order_id));
                                if let Some(message) = self.state_message_for(conn, order_id) {
                                    self.send_one(conn, message);
                                }
                            }
                        }
                        ReadWaiter::Changed { announced } => self.refreshed(announced, &orders),
                        ReadWaiter::Recovery => {}
                    }
                }
            }
            (Asked::Read { waiters, .. }, answer) => {
                let error = error_text(answer);
                for waiter in waiters {
                    self.read_failed(waiter, &error, now);
                }
            }
            (Asked::Bind { terminal, waiters }, Ok(StoreAnswer::TerminalBound { owner, .. })) => {
                self.terminal_bound(terminal, owner, waiters, now);
            }
            (Asked::Bind { terminal, waiters }, _) => self.binding_failed(terminal, waiters),
            (Asked::Reload(what), Ok(answer)) => self.reloaded(what, answer, now),
            (Asked::Reload(what), Err(error)) => self.reload_failed(what, error, now),
        }
    }

    /// What a read brought that the node does not hold goes into its caches.
    fn learn(&mut self, outcome: Option<(&OpId, &OpOutcome)>, order: Option<&Order>) {
        if let Some((op_id, outcome)) = outcome
            && self.outcome_of(*op_id).is_none()
        {
            self.remember_outcome(*op_id, outcome.clone());
        }
        let Some(order) = order else {
            return;
        };
        let recovering = self
            .recovery
            .as_ref()
            .is_some_and(|recovery| recovery.order_ids.contains(&order.id));
        if self.holds(order.id) || recovering {
            // Recovery reads this order back itself, and tells whom it concerns.
            return;
        }
        if order.is_draft() {
            // A draft this node did not hold was written by another node:
            // those who see it get it whole.
            self.shop.put_draft(order.clone());
            self.tell_recovered(None, Some(order));
        } else {
            self.remember_finished(order.id, FinishedOrder::of(order));
        }
    }

    fn read_failed(&mut self, waiter: ReadWaiter, error: &str, now: Timestamp) {
        match waiter {
            ReadWaiter::Op(ticket) => {
                let reply = ticket.reply;
                self.answer_now(
                    reply,
                    unavailable_reject(
                        &ticket.request,
                        "the server could not check this change now",
                    ),
                );
                if let crate::batch::ReplyTo::Connection(conn_id) = reply {
                    if let Some(connection) = self.connections.get_mut(&conn_id) {
                        connection.op_parked = false;
                    }
                    self.drain_waiting(conn_id, now);
                }
            }
            ReadWaiter::Known { conn } => {
                // The catch-up cannot be completed: the terminal reconnects and tries again.
                self.send_one(
                    conn,
                    ServerMessage::Error {
                        code: "unavailable".to_owned(),
                        message: format!("the server cannot catch this terminal up now: {error}"),
                    },
                );
                self.close(conn, CloseCode::NodeStopped);
            }
            // A terminal resyncs again on its next version gap.
            ReadWaiter::Resync { .. } => {}
            ReadWaiter::Changed { announced } => self.refresh_failed(announced, now),
            ReadWaiter::Recovery => {
                if let Some(recovery) = self.recovery.as_mut() {
                    recovery.asked = false;
                    recovery.attempts = recovery.attempts.saturating_add(1);
                    recovery.retry_at = Some(now.plus_millis(backoff_ms(recovery.attempts)));
                }
                self.health
                    .retain(|issue| !matches!(issue, HealthIssue::CommitsFailing(_)));
                self.health
                    .insert(HealthIssue::CommitsFailing(error.to_owned()));
            }
        }
    }

    // ----- Configuration reloads -----

    /// The back office changed links, configs or the catalog in the store.
    /// Whether a reload of `what` is asked or due again: the node does not
    /// hold the store's latest yet. False once it is reloaded, and while a
    /// failed reload waits for its retry (that shows in health).
    pub fn is_reloading(&self, what: Reload) -> bool {
        self.reloads
            .get(&what)
            .is_some_and(|state| state.asked || state.again)
    }

    pub fn on_shop_changed(&mut self, what: Reload) {
        let state = self.reloads.entry(what).or_default();
        if state.asked {
            state.again = true;
            return;
        }
        state.asked = true;
        state.retry_at = None;
        let request = match what {
            Reload::Links => StoreRequest::LoadLinks,
            Reload::Configs => StoreRequest::LoadConfigs,
            Reload::Catalog => StoreRequest::LoadCatalog,
        };
        self.new_ask(Asked::Reload(what), request);
    }

    fn reloaded(&mut self, what: Reload, answer: StoreAnswer, now: Timestamp) {
        match (what, answer) {
            (Reload::Links, StoreAnswer::Links(links)) => self.apply_links(links),
            (Reload::Configs, StoreAnswer::Configs(configs)) => self.shop.set_configs(configs),
            (Reload::Catalog, StoreAnswer::Catalog(catalog)) => self.shop.catalog = catalog,
            (what, _) => {
                self.reload_failed(what, "the store answered another question".to_owned(), now);
                return;
            }
        }
        self.health.retain(
            |issue| !matches!(issue, HealthIssue::ReloadFailing { what: name, .. } if *name == what.as_str()),
        );
        let state = self.reloads.entry(what).or_default();
        let again = state.again;
        *state = ReloadState::default();
        if again {
            self.on_shop_changed(what);
        }
    }

    fn reload_failed(&mut self, what: Reload, error: String, now: Timestamp) {
        self.stats.reloads_failed += 1;
        self.health.retain(
            |issue| !matches!(issue, HealthIssue::ReloadFailing { what: name, .. } if *name == what.as_str()),
        );
        self.health.insert(HealthIssue::ReloadFailing {
            what: what.as_str(),
            error,
        });
        let state = self.reloads.entry(what).or_default();
        state.asked = false;
        state.again = false;
        state.attempts = state.attempts.saturating_add(1);
        state.retry_at = Some(now.plus_millis(backoff_ms(state.attempts)));
    }

    /// Asks again what failed, once its delay has passed.
    pub(super) fn retry_due(&mut self, now: Timestamp) {
        let due: Vec<Reload> = self
            .reloads
            .iter()
            .filter(|(_, state)| state.retry_at.is_some_and(|at| at <= now))
            .map(|(what, _)| *what)
            .collect();
        for what in due {
            if let Some(state) = self.reloads.get_mut(&what) {
                state.retry_at = None;
            }
            let attempts = self.reloads.get(&what).map_or(0, |state| state.attempts);
            self.on_shop_changed(what);
            if let Some(state) = self.reloads.get_mut(&what) {
                state.attempts = attempts;
            }
        }
        self.refresh_retry_due(now);
        if let Some(recovery) = self.recovery.as_mut()
            && recovery.retry_at.is_some_and(|at| at <= now)
        {
            recovery.retry_at = None;
            self.ask_recovery_when_settled();
        }
    }

    /// New sync links: sessions that gain a shared draft get it whole (as
    /// committed), sessions that lose one get `removed` (`unshared`).
    fn apply_links(&mut self, links: SyncLinks) {
        self.shop.links_ever = crate::shop::union(&self.shop.links_ever, &links);
        let before = std::mem::replace(&mut self.shop.links, links);
        let mut ids: BTreeSet<OrderId> = self.shop.drafts.keys().copied().collect();
        for builder in self
            .in_flight
            .iter()
            .map(|in_flight| &in_flight.builder)
            .chain(std::iter::once(&self.current))
        {
            ids.extend(builder.pre_images.keys());
        }
        for order_id in ids {
            let Some(order) = self.committed_draft(order_id).cloned() else {
                continue;
            };
            if !order.shared {
                continue;
            }
            let origin = order.origin.config_id;
            let linked_before: BTreeSet<ConfigId> = before.sync_with(origin).into_iter().collect();
            let linked_after: BTreeSet<ConfigId> =
                self.shop.links.sync_with(origin).into_iter().collect();
            let in_configs = |node: &Node, configs: Vec<&ConfigId>, losing: bool| -> Vec<ConnId> {
                configs
                    .into_iter()
                    .filter_map(|config_id| node.connections_by_config.get(config_id))
                    .flatten()
                    .copied()
                    .filter(|conn_id| {
                        node.connections.get(conn_id).is_some_and(|connection| {
                            !connection.closing
                                && (connection.receives_changes_of(origin, order_id)
                                    || (losing && connection.holds_unreached(origin, order_id)))
                        })
                    })
                    .collect()
            };
            let gained = in_configs(
                self,
                linked_after.difference(&linked_before).collect(),
                false,
            );
            let lost = in_configs(
                self,
                linked_before.difference(&linked_after).collect(),
                true,
            );
            self.send(
                gained.clone(),
                ServerMessage::Order {
                    order: Box::new(order.clone()),
                },
            );
            self.tell_presence_to_newcomers(order_id, gained);
            for conn_id in &lost {
                self.drop_presence_of_conn_on(*conn_id, order_id);
            }
            self.send(
                lost,
                ServerMessage::Removed {
                    order_id,
                    reason: possync_protocol::RemovedReason::Unshared,
                    version: order.version,
                    by: order.updated_by.clone(),
                },
            );
        }
    }

    fn drop_presence_of_conn_on(&mut self, conn_id: ConnId, order_id: OrderId) {
        if self
            .connections
            .get(&conn_id)
            .is_some_and(|connection| connection.presence == Some(order_id))
        {
            self.set_presence_of(conn_id, None);
        }
    }
}

fn error_text(answer: Result<StoreAnswer, String>) -> String {
    match answer {
        Err(error) => error,
        Ok(_) => "the store answered another question".to_owned(),
    }
}
