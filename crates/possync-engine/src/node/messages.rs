//! Connections and the messages they send: hello first and once, terminal
//! identity, rate limits per message kind, presence, resync, heartbeats.

use super::{Asked, BindWaiter, Node, ReadWaiter, Ticket};
use crate::batch::ReplyTo;
use crate::connections::{Connection, MessageKind, Phase};
use crate::io::*;
use possync_core::*;
use possync_protocol::{
    ClientMessage, CloseCode, DecodeError, LinkedConfig, OpRequest, PresentTerminal, ServerMessage,
};
use std::collections::{BTreeMap, BTreeSet};

impl Node {
    /// A terminal token opened a sync connection. It must say `hello` first.
    pub fn on_connect(&mut self, conn_id: ConnId, peer: Peer, now: Timestamp) {
        let count = self
            .connections_per_token
            .entry(peer.token.clone())
            .or_default();
        *count += 1;
        let over = *count > self.settings.connections_per_token_max;
        self.connections.insert(
            conn_id,
            Box::new(Connection::new(peer, &self.settings, now)),
        );
        if over {
            self.send_one(
                conn_id,
                Self::error(
                    "rate_limited",
                    format!(
                        "at most {} live connections per terminal token",
                        self.settings.connections_per_token_max
                    ),
                ),
            );
            self.close(conn_id, CloseCode::TooManyConnections);
        }
    }

    /// The connection is gone (closed by either side). Idempotent.
    pub fn on_disconnect(&mut self, conn_id: ConnId) {
        if !self.connections.contains_key(&conn_id) {
            return;
        }
        self.unregister(conn_id);
        if let Some(connection) = self.connections.remove(&conn_id) {
            let token = connection.peer.token;
            if let Some(count) = self.connections_per_token.get_mut(&token) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.connections_per_token.remove(&token);
                }
            }
        }
    }

    /// These terminal tokens were revoked (a logout, a password change, a
    /// deactivated user): every connection of theirs is told so and closed with
    /// 4001, after what is already queued. Tokens with no connection are ignored.
    pub fn on_tokens_revoked(&mut self, tokens: &[TokenKey]) {
        let revoked: BTreeSet<&TokenKey> = tokens.iter().collect();
        let conn_ids: Vec<ConnId> = self
            .connections
            .iter()
            .filter(|(_, connection)| revoked.contains(&connection.peer.token))
            .map(|(conn_id, _)| *conn_id)
            .collect();
        for conn_id in conn_ids {
            self.send_one(
                conn_id,
                Self::error(
                    "unauthorized",
                    "this terminal token was revoked; log in again",
                ),
            );
            self.close(conn_id, CloseCode::SessionClosed);
        }
    }

    /// The tokens of the open connections, each once, in order: what a driver
    /// that may have missed revocations (its listener dropped) checks again.
    pub fn connection_tokens(&self) -> Vec<TokenKey> {
        self.connections_per_token.keys().cloned().collect()
    }

    /// The terminal showed it is alive without a message (a pong, a ping frame).
    pub fn on_heard(&mut self, conn_id: ConnId, now: Timestamp) {
        if let Some(connection) = self.connections.get_mut(&conn_id) {
            connection.last_heard = now;
        }
    }

    /// The driver wrote `frames` frames (`bytes` bytes) of this connection's queue to the wire.
    pub fn on_flushed(&mut self, conn_id: ConnId, frames: u32, bytes: u64) {
        let Some(connection) = self.connections.get_mut(&conn_id) else {
            return;
        };
        connection.queued_frames = connection.queued_frames.saturating_sub(frames);
        connection.queued_bytes = connection.queued_bytes.saturating_sub(bytes);
        if matches!(connection.phase, Phase::CatchingUp(_)) {
            self.pump_catch_up(conn_id);
        }
    }

    /// The server is shutting down: every connection is closed (1001).
    pub fn on_shutdown(&mut self) {
        let conn_ids: Vec<ConnId> = self.connections.keys().copied().collect();
        for conn_id in conn_ids {
            self.close(conn_id, CloseCode::ServerShuttingDown);
        }
    }

    /// A frame arrived: a decoded message, or why it did not decode.
    pub fn on_message(
        &mut self,
        conn_id: ConnId,
        message: Result<ClientMessage, DecodeError>,
        now: Timestamp,
    ) {
        let Some(connection) = self.connections.get_mut(&conn_id) else {
            return;
        };
        if connection.closing {
            return;
        }
        connection.last_heard = now;
        let kind = match &message {
            Ok(message) => MessageKind::of(message),
            Err(_) => MessageKind::Invalid,
        };
        if !connection.limiters.allow(kind, now) {
            connection.refusals_in_row = connection.refusals_in_row.saturating_add(1);
            let flooding = connection.refusals_in_row > self.settings.refusals_in_row_max;
            self.stats.messages_rate_limited += 1;
            if flooding {
                self.stats.connections_closed_too_slow += 1;
                self.close(conn_id, CloseCode::TooSlow);
                return;
            }
            let answer = match &message {
                Ok(ClientMessage::Op(request)) => ServerMessage::Reject {
                    op_id: request.op_id,
                    order_id: request.order_id,
                    code: RejectCode::RateLimited,
                    message: "too many changes at once; this one will be sent again".to_owned(),
                    order: None,
                },
                _ => Self::error("rate_limited", "too many messages of this kind; slow down"),
            };
            self.send_one(conn_id, answer);
            return;
        }
        connection.refusals_in_row = 0;
        match message {
            Err(error) => self.send_one(conn_id, error.to_server_message()),
            Ok(message) => self.handle_message(conn_id, message, now),
        }
    }

    /// Handles an admitted message according to where the connection is in its life.
    pub(super) fn handle_message(
        &mut self,
        conn_id: ConnId,
        message: ClientMessage,
        now: Timestamp,
    ) {
        let Some(connection) = self.connections.get_mut(&conn_id) else {
            return;
        };
        if let ClientMessage::Ping { t } = message {
            self.send_one(conn_id, ServerMessage::Pong { t });
            return;
        }
        match (&connection.phase, message) {
            (
                Phase::AwaitingHello,
                ClientMessage::Hello {
                    terminal, known, ..
                },
            ) => {
                self.hello(conn_id, terminal, known, now);
            }
            (Phase::AwaitingHello, _) => {
                self.send_one(conn_id, Self::error("invalid", "send hello first"));
            }
            (Phase::CheckingTerminal { .. }, message) => self.hold(conn_id, message),
            (_, ClientMessage::Hello { .. }) => self.send_one(
                conn_id,
                Self::error("invalid", "hello was already sent on this connection"),
            ),
            (_, ClientMessage::Op(request)) => {
                if connection.op_parked {
                    self.hold(conn_id, ClientMessage::Op(request));
                    return;
                }
                let Some(source) = connection.source else {
                    return;
                };
                self.admit(
                    Ticket {
                        reply: ReplyTo::Connection(conn_id),
                        source,
                        request,
                    },
                    now,
                );
            }
            (_, ClientMessage::Resync { order_ids }) => self.resync(conn_id, order_ids, now),
            (_, ClientMessage::Presence { order_id }) => self.set_presence_of(conn_id, order_id),
            (_, ClientMessage::Ping { .. }) => {}
        }
    }

    /// Keeps a message for later, in order; a connection that keeps sending
    /// while it cannot be served is closed (4008) once the bound is hit.
    fn hold(&mut self, conn_id: ConnId, message: ClientMessage) {
        let Some(connection) = self.connections.get_mut(&conn_id) else {
            return;
        };
        if connection.waiting.len() >= self.settings.messages_waiting_per_connection_max {
            self.stats.connections_closed_too_slow += 1;
            self.close(conn_id, CloseCode::TooSlow);
            return;
        }
        connection.waiting.push_back(message);
    }

    /// Handles held messages until one has to wait again.
    pub(super) fn drain_waiting(&mut self, conn_id: ConnId, now: Timestamp) {
        loop {
            let Some(connection) = self.connections.get_mut(&conn_id) else {
                return;
            };
            if connection.closing
                || connection.op_parked
                || matches!(connection.phase, Phase::CheckingTerminal { .. })
            {
                return;
            }
            let Some(message) = connection.waiting.pop_front() else {
                return;
            };
            self.handle_message(conn_id, message, now);
        }
    }

    // ----- hello and terminal identity -----

    fn hello(
        &mut self,
        conn_id: ConnId,
        terminal: TerminalId,
        known: BTreeMap<OrderId, u64>,
        now: Timestamp,
    ) {
        let Some(connection) = self.connections.get_mut(&conn_id) else {
            return;
        };
        let token = connection.peer.token.clone();
        match self.bindings.get(&terminal) {
            Some(owner) if *owner == token => {
                self.start_session(conn_id, terminal, known, now);
            }
            Some(_) => self.refuse_terminal(conn_id),
            None => {
                connection.phase = Phase::CheckingTerminal { known };
                connection.source = Some(Source {
                    session_id: connection.peer.session.id,
                    config_id: connection.peer.config.id,
                    terminal,
                    role: connection.peer.role,
                });
                self.ask_binding(terminal, token, BindWaiter::Hello(conn_id));
            }
        }
    }

    pub(super) fn ask_binding(
        &mut self,
        terminal: TerminalId,
        token: TokenKey,
        waiter: BindWaiter,
    ) {
        if let Some(ask) = self.binding_asks.get(&terminal)
            && let Some(Asked::Bind { waiters, .. }) = self.asked.get_mut(ask)
        {
            waiters.push(waiter);
            return;
        }
        let ask = self.new_ask(
            Asked::Bind {
                terminal,
                waiters: vec![waiter],
            },
            StoreRequest::BindTerminal { terminal, token },
        );
        self.binding_asks.insert(terminal, ask);
    }

    fn refuse_terminal(&mut self, conn_id: ConnId) {
        self.stats.terminal_ids_refused += 1;
        self.send_one(
            conn_id,
            Self::error(
                "forbidden",
                "this terminal id is used by another terminal token; choose a new one",
            ),
        );
        self.close(conn_id, CloseCode::TerminalTaken);
    }

    /// The store says whose `terminal` is: let its waiters in or refuse them.
    pub(super) fn terminal_bound(
        &mut self,
        terminal: TerminalId,
        owner: TokenKey,
        waiters: Vec<BindWaiter>,
        now: Timestamp,
    ) {
        self.binding_asks.remove(&terminal);
        self.bindings.insert(terminal, owner.clone());
        for waiter in waiters {
            match waiter {
                BindWaiter::Hello(conn_id) => {
                    let Some(connection) = self.connections.get_mut(&conn_id) else {
                        continue;
                    };
                    if connection.closing {
                        continue;
                    }
                    if connection.peer.token != owner {
                        self.refuse_terminal(conn_id);
                        continue;
                    }
                    let known = match std::mem::replace(&mut connection.phase, Phase::Live) {
                        Phase::CheckingTerminal { known } => known,
                        other => {
                            connection.phase = other;
                            continue;
                        }
                    };
                    self.start_session(conn_id, terminal, known, now);
                    self.drain_waiting(conn_id, now);
                }
                BindWaiter::Op { token, ticket } => {
                    if token == owner {
                        self.admit(ticket, now);
                    } else {
                        self.refuse_terminal_op(ticket);
                    }
                }
            }
        }
    }

    /// The binding could not be read: the hello is refused for now (the
    /// terminal reconnects), an HTTP op answered `unavailable`.
    pub(super) fn binding_failed(&mut self, terminal: TerminalId, waiters: Vec<BindWaiter>) {
        self.binding_asks.remove(&terminal);
        for waiter in waiters {
            match waiter {
                BindWaiter::Hello(conn_id) => {
                    self.send_one(
                        conn_id,
                        Self::error("unavailable", "the server cannot check this terminal now"),
                    );
                    self.close(conn_id, CloseCode::NodeStopped);
                }
                BindWaiter::Op { ticket, .. } => {
                    self.answer_now(
                        ticket.reply,
                        unavailable_reject(
                            &ticket.request,
                            "the server cannot check this terminal now",
                        ),
                    );
                }
            }
        }
    }

    /// `welcome`, registration for fan-out, then the catch-up.
    fn start_session(
        &mut self,
        conn_id: ConnId,
        terminal: TerminalId,
        known: BTreeMap<OrderId, u64>,
        now: Timestamp,
    ) {
        let Some(connection) = self.connections.get_mut(&conn_id) else {
            return;
        };
        let session = connection.peer.session.clone();
        let mut config = connection.peer.config.clone();
        connection.source = Some(Source {
            session_id: session.id,
            config_id: config.id,
            terminal,
            role: connection.peer.role,
        });
        config.sync_with = self.shop.links.sync_with(config.id);
        let linked_configs = config
            .sync_with
            .iter()
            .map(|&id| LinkedConfig {
                id,
                name: self.shop.config_name(id),
            })
            .collect();
        self.connections_by_config
            .entry(config.id)
            .or_default()
            .insert(conn_id);
        self.send_one(
            conn_id,
            ServerMessage::Welcome {
                session,
                config,
                linked_configs,
                server_time: now,
            },
        );
        self.start_catch_up(conn_id, known, now);
    }

    // ----- HTTP ops -----

    /// `POST /orders/{id}/ops`: one op with one answer ([`Effect::Reply`]).
    pub fn on_http_op(
        &mut self,
        request_id: RequestId,
        token: TokenKey,
        source: Source,
        request: OpRequest,
        now: Timestamp,
    ) {
        let allowed = {
            let limit = self.settings.http_ops_rate;
            let mut limiter = self
                .http_limiters
                .remove(&token)
                .unwrap_or_else(|| crate::rate::RateLimiter::new(limit.burst, limit.per_s));
            let allowed = limiter.allow(now);
            // Re-inserting makes it the newest: the least recently used go first.
            self.http_limiters.insert(token.clone(), limiter);
            allowed
        };
        let reply = ReplyTo::Request(request_id);
        if !allowed {
            self.stats.messages_rate_limited += 1;
            self.answer_now(
                reply,
                ServerMessage::Reject {
                    op_id: request.op_id,
                    order_id: request.order_id,
                    code: RejectCode::RateLimited,
                    message: "too many changes at once; send this one again later".to_owned(),
                    order: None,
                },
            );
            return;
        }
        let ticket = Ticket {
            reply,
            source,
            request,
        };
        match self.bindings.get(&source.terminal) {
            Some(owner) if *owner == token => self.admit(ticket, now),
            Some(_) => self.refuse_terminal_op(ticket),
            None => self.ask_binding(
                source.terminal,
                token.clone(),
                BindWaiter::Op { token, ticket },
            ),
        }
    }

    fn refuse_terminal_op(&mut self, ticket: Ticket) {
        self.stats.terminal_ids_refused += 1;
        self.answer_now(
            ticket.reply,
            ServerMessage::Reject {
                op_id: ticket.request.op_id,
                order_id: ticket.request.order_id,
                code: RejectCode::Forbidden,
                message: "this terminal id is used by another terminal token".to_owned(),
                order: None,
            },
        );
    }

    /// Sends an answer that records nothing (a retryable or refused op) at once.
    pub(super) fn answer_now(&mut self, reply: ReplyTo, answer: ServerMessage) {
        self.count_answer(&answer);
        match reply {
            ReplyTo::Connection(conn_id) => self.send_one(conn_id, answer),
            ReplyTo::Request(request) => self.effects.push_back(Effect::Reply { request, answer }),
        }
    }

    pub(super) fn count_answer(&mut self, answer: &ServerMessage) {
        match answer {
            ServerMessage::Ack {
                duplicate: false, ..
            } => self.stats.ops_accepted += 1,
            ServerMessage::Ack {
                duplicate: true, ..
            } => self.stats.ops_duplicate += 1,
            ServerMessage::Reject { code, .. } => {
                *self.stats.ops_rejected.entry(code.as_str()).or_default() += 1;
            }
            _ => {}
        }
    }

    // ----- presence -----

    /// Records which order a connection has open, and tells everyone who may
    /// see it. An order the connection may not see, or that is not durable
    /// yet, is ignored: presence never leaks an order.
    pub(super) fn set_presence_of(&mut self, conn_id: ConnId, order_id: Option<OrderId>) {
        let Some(connection) = self.connections.get(&conn_id) else {
            return;
        };
        let config_id = connection.peer.config.id;
        let order_id = order_id.filter(|order_id| {
            !connection.closing
                && connection.is_registered()
                && self
                    .committed_draft(*order_id)
                    .is_some_and(|order| can_see_draft(order, config_id, &self.shop.links))
        });
        let previous = connection.presence;
        if previous == order_id {
            return;
        }
        if let Some(connection) = self.connections.get_mut(&conn_id) {
            connection.presence = order_id;
        }
        if let Some(previous) = previous
            && let Some(present) = self.present.get_mut(&previous)
        {
            present.remove(&conn_id);
            if present.is_empty() {
                self.present.remove(&previous);
            }
        }
        if let Some(order_id) = order_id {
            self.present.entry(order_id).or_default().insert(conn_id);
        }
        for changed in previous.into_iter().chain(order_id) {
            self.tell_presence(changed);
        }
    }

    /// Sends the presence of an order to every connection that sees it and is past its catch-up of it.
    fn tell_presence(&mut self, order_id: OrderId) {
        let Some(order) = self.committed_draft(order_id) else {
            return;
        };
        let to: Vec<ConnId> = self
            .connections_near(order.origin.config_id)
            .into_iter()
            .filter(|conn_id| {
                self.connections.get(conn_id).is_some_and(|connection| {
                    connection.receives_changes_of(order.origin.config_id, order_id)
                        && can_see_draft(order, connection.peer.config.id, &self.shop.links)
                })
            })
            .collect();
        let message = self.presence_message(order_id);
        self.send(to, message);
    }

    /// Connections that have just come to see an order (it was shared, their
    /// config was linked) learn who has it open, as a catch-up would tell
    /// them; without it a newly shared order would read "open nowhere" until
    /// someone's presence changed.
    pub(super) fn tell_presence_to_newcomers(&mut self, order_id: OrderId, newcomers: Vec<ConnId>) {
        if newcomers.is_empty() || !self.present.contains_key(&order_id) {
            return;
        }
        let message = self.presence_message(order_id);
        self.send(newcomers, message);
    }

    pub(super) fn presence_message(&self, order_id: OrderId) -> ServerMessage {
        let terminals: BTreeSet<PresentTerminal> = self
            .present
            .get(&order_id)
            .into_iter()
            .flatten()
            .filter_map(|conn_id| self.connections.get(conn_id))
            .filter_map(|connection| {
                let source = connection.source?;
                Some(PresentTerminal {
                    terminal: source.terminal,
                    config_id: source.config_id,
                    config_name: self.shop.config_name(source.config_id),
                })
            })
            .collect();
        ServerMessage::Presence {
            order_id,
            terminals: terminals.into_iter().collect(),
        }
    }

    /// Orders that became finished leave everyone's presence (they were told `removed`).
    pub(super) fn drop_presence_on(&mut self, order_id: OrderId) {
        if let Some(conn_ids) = self.present.remove(&order_id) {
            for conn_id in conn_ids {
                if let Some(connection) = self.connections.get_mut(&conn_id) {
                    connection.presence = None;
                }
            }
        }
    }

    // ----- resync -----

    /// The current committed state of each named order the connection may
    /// see; `removed` for those it may have seen and no longer does; nothing
    /// for the rest. Ids are de-duplicated (the decoder caps their number).
    fn resync(&mut self, conn_id: ConnId, order_ids: Vec<OrderId>, now: Timestamp) {
        let order_ids: BTreeSet<OrderId> = order_ids.into_iter().collect();
        let mut unknown = Vec::new();
        for order_id in order_ids {
            if self.recovery.is_some() || !self.holds(order_id) {
                if self.recovery.is_none() && self.freshness.is_fresh(order_id.0, now) {
                    continue;
                }
                unknown.push(order_id);
                continue;
            }
            if let Some(message) = self.state_message_for(conn_id, order_id) {
                self.send_one(conn_id, message);
            }
        }
        if !unknown.is_empty() {
            for order_id in &unknown {
                self.reads.order_ids.insert(*order_id);
            }
            self.reads.waiters.push(ReadWaiter::Resync {
                conn: conn_id,
                order_ids: unknown,
            });
        }
    }

    /// What a connection is told about one order it named: its committed
    /// state if it sees it, `removed` if it may have seen it, else nothing.
    pub(super) fn state_message_for(
        &self,
        conn_id: ConnId,
        order_id: OrderId,
    ) -> Option<ServerMessage> {
        let connection = self.connections.get(&conn_id)?;
        let config_id = connection.peer.config.id;
        if let Some(order) = self.committed_draft(order_id) {
            if can_see_draft(order, config_id, &self.shop.links) {
                return Some(ServerMessage::Order {
                    order: Box::new(order.clone()),
                });
            }
            return crate::shop::draft_known_to(order, config_id, &self.shop.links_ever).then(
                || ServerMessage::Removed {
                    order_id,
                    reason: possync_protocol::RemovedReason::Unshared,
                    version: order.version,
                    by: order.updated_by.clone(),
                },
            );
        }
        let finished = self.committed_finished(order_id)?;
        finished
            .known_to(config_id, &self.shop.links_ever)
            .then(|| finished.removed_message(order_id))
    }

    // ----- heartbeats -----

    /// Time passed: silent connections are closed (4000), retries are due.
    pub fn on_tick(&mut self, now: Timestamp) {
        let silence_max_ms = self
            .settings
            .heartbeat_ms
            .saturating_mul(i64::from(self.settings.heartbeats_missed_max));
        if now.unix_millis() - self.last_heartbeat_check.unix_millis()
            >= self.settings.heartbeat_ms.clamp(1, 1_000)
        {
            self.last_heartbeat_check = now;
            let hello_deadline_ms = self.settings.hello_deadline_ms;
            let silent: Vec<ConnId> = self
                .connections
                .iter()
                .filter(|(_, connection)| {
                    let silent =
                        now.unix_millis() - connection.last_heard.unix_millis() > silence_max_ms;
                    let no_hello = matches!(connection.phase, Phase::AwaitingHello)
                        && now.unix_millis() - connection.connected_at.unix_millis()
                            > hello_deadline_ms;
                    !connection.closing && (silent || no_hello)
                })
                .map(|(conn_id, _)| *conn_id)
                .collect();
            for conn_id in silent {
                self.stats.connections_closed_silent += 1;
                self.close(conn_id, CloseCode::MissedHeartbeats);
            }
        }
        self.retry_due(now);
    }
}
