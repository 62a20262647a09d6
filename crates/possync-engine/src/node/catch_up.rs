//! `hello`'s catch-up, of any size, paced by the connection's queue.
//!
//! The terminal names the versions it holds (`known`). It is sent, by origin
//! config and then in order id order, every committed draft it may see and
//! holds at another version (only the drafts of its own and linked configs
//! are visited, so a catch-up costs what the terminal sees);
//! `removed` for every order it names that it may have seen and no longer
//! sees; the presence on what it sees; then `synced`. Orders go out only
//! while the connection's queue holds less than `catch_up_bytes_ahead_max`;
//! the rest follows as the terminal reads ([`Node::on_flushed`]). So nine
//! thousand drafts reach a slow tablet without ever tripping its queue bound.

use super::commit::{Committed, successor};
use super::{Node, ReadWaiter};
use crate::connections::{CatchUp, Phase};
use crate::io::*;
use possync_core::*;
use possync_protocol::ServerMessage;
use std::collections::BTreeMap;
use uuid::Uuid;

impl Node {
    pub(super) fn start_catch_up(
        &mut self,
        conn_id: ConnId,
        known: BTreeMap<OrderId, u64>,
        now: Timestamp,
    ) {
        let mut unknown = Vec::new();
        let mut removed = Vec::new();
        for &order_id in known.keys() {
            match self.committed(order_id) {
                // Visible drafts are the scan's; the others may be `removed`.
                Committed::Draft(_) | Committed::Finished(_) => {
                    if let Some(message @ ServerMessage::Removed { .. }) =
                        self.state_message_for(conn_id, order_id)
                    {
                        removed.push(message);
                    }
                }
                Committed::Absent => {}
                Committed::Unknown => {
                    if !self.freshness.is_fresh(order_id.0, now) {
                        unknown.push(order_id);
                    }
                }
            }
        }
        let Some(connection) = self.connections.get_mut(&conn_id) else {
            return;
        };
        connection.phase = Phase::CatchingUp(CatchUp {
            known,
            cursor: Some((ConfigId(i64::MIN), OrderId(Uuid::nil()))),
            known_lookup_pending: !unknown.is_empty(),
        });
        for message in removed {
            self.send_one(conn_id, message);
        }
        if !unknown.is_empty() {
            self.reads.order_ids.extend(unknown);
            self.reads.waiters.push(ReadWaiter::Known { conn: conn_id });
        }
        self.pump_catch_up(conn_id);
    }

    /// Sends catch-up orders while the connection's queue has room, and
    /// `synced` once everything was sent.
    pub(super) fn pump_catch_up(&mut self, conn_id: ConnId) {
        if self.recovery.is_some() {
            // Memory may not equal the store for some orders until recovery is done.
            return;
        }
        let Some(config_id) = self
            .connections
            .get(&conn_id)
            .map(|connection| connection.peer.config.id)
        else {
            return;
        };
        // The configs whose drafts this terminal may see, in id order: its
        // own and the linked ones (links do not change during this call).
        let mut origins = self.shop.links.sync_with(config_id);
        origins.push(config_id);
        origins.sort_unstable();
        origins.dedup();
        loop {
            let Some(connection) = self.connections.get(&conn_id) else {
                return;
            };
            let Phase::CatchingUp(catch_up) = &connection.phase else {
                return;
            };
            if connection.closing {
                return;
            }
            let Some(cursor) = catch_up.cursor else {
                break;
            };
            if connection.queued_bytes >= self.settings.catch_up_bytes_ahead_max
                || connection.queued_frames >= self.settings.frames_per_connection_max / 2
            {
                return;
            }
            let next = self.next_catch_up_draft(&origins, cursor).map(|order| {
                let wanted = can_see_draft(order, config_id, &self.shop.links)
                    && catch_up.known.get(&order.id) != Some(&order.version);
                (
                    (order.origin.config_id, order.id),
                    wanted.then(|| order.clone()),
                )
            });
            let next_cursor =
                next.as_ref()
                    .and_then(|((origin, order_id), _)| match successor(*order_id) {
                        Some(after) => Some((*origin, after)),
                        None => origins
                            .iter()
                            .find(|later| **later > *origin)
                            .map(|later| (*later, OrderId(Uuid::nil()))),
                    });
            if let Some(connection) = self.connections.get_mut(&conn_id)
                && let Phase::CatchingUp(catch_up) = &mut connection.phase
            {
                catch_up.cursor = next_cursor;
            }
            if let Some((_, Some(order))) = next {
                self.send_one(
                    conn_id,
                    ServerMessage::Order {
                        order: Box::new(order),
                    },
                );
            }
        }
        let Some(connection) = self.connections.get(&conn_id) else {
            return;
        };
        let Phase::CatchingUp(catch_up) = &connection.phase else {
            return;
        };
        if catch_up.known_lookup_pending {
            return;
        }
        let config_id = connection.peer.config.id;
        let present: Vec<OrderId> = self
            .present
            .keys()
            .copied()
            .filter(|order_id| {
                self.committed_draft(*order_id)
                    .is_some_and(|order| can_see_draft(order, config_id, &self.shop.links))
            })
            .collect();
        if let Some(connection) = self.connections.get_mut(&conn_id) {
            connection.phase = Phase::Live;
        }
        for order_id in present {
            let message = self.presence_message(order_id);
            self.send_one(conn_id, message);
        }
        self.send_one(conn_id, ServerMessage::Synced);
    }

    /// The first committed draft at or after `cursor` in (origin, id) order,
    /// among the drafts of `origins` (sorted).
    fn next_catch_up_draft(
        &self,
        origins: &[ConfigId],
        (cursor_origin, cursor_id): (ConfigId, OrderId),
    ) -> Option<&Order> {
        origins
            .iter()
            .filter(|origin| **origin >= cursor_origin)
            .find_map(|&origin| {
                let from = if origin == cursor_origin {
                    cursor_id
                } else {
                    OrderId(Uuid::nil())
                };
                self.next_committed_draft_of(origin, from)
            })
    }

    /// The store answered about `known` ids the node held nothing of.
    pub(super) fn known_read(&mut self, conn_id: ConnId, asked: &[OrderId]) {
        let Some(connection) = self.connections.get(&conn_id) else {
            return;
        };
        let Phase::CatchingUp(catch_up) = &connection.phase else {
            return;
        };
        let named: Vec<OrderId> = asked
            .iter()
            .copied()
            .filter(|order_id| catch_up.known.contains_key(order_id))
            .collect();
        let removed: Vec<ServerMessage> = named
            .into_iter()
            .filter_map(|order_id| match self.state_message_for(conn_id, order_id) {
                Some(message @ ServerMessage::Removed { .. }) => Some(message),
                _ => None,
            })
            .collect();
        if let Some(connection) = self.connections.get_mut(&conn_id)
            && let Phase::CatchingUp(catch_up) = &mut connection.phase
        {
            catch_up.known_lookup_pending = false;
        }
        for message in removed {
            self.send_one(conn_id, message);
        }
        self.pump_catch_up(conn_id);
    }
}
