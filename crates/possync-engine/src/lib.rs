//! possync-engine: the sync state machine, without I/O.
//!
//! The engine holds every open draft in memory, a summary of every finished
//! order, the connections with what they may see, and the recent answers to
//! ops. It decides each op at once against the state that includes the ops
//! decided before it, and says what to tell whom. It never reads a clock,
//! a socket or a disk: the server (or the simulation) feeds it inputs and
//! carries out its outputs.
//!
//! **Group commit.** Decisions accumulate in the current batch. The caller
//! takes the batch's [`CommitEntry`]s, makes them durable in one transaction,
//! and then calls [`Engine::commit_succeeded`], after which (and only after
//! which) it may send the answers and deliveries of the batch. If the commit
//! fails, [`Engine::commit_failed`] puts every touched order back as it was
//! before the batch, so memory is never ahead of the disk in what clients saw.
//!
//! **Between batches** the caller handles connects, resyncs, presence and
//! link changes, so catch-up always reflects committed state.

pub mod catalog;
pub mod clock;
pub mod rate;

pub use catalog::EngineCatalog;
pub use clock::{Clock, ManualClock};
pub use rate::RateLimiter;

use possync_core::*;
use possync_protocol::{OpRequest, PresentTerminal, RemovedReason, ServerMessage};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// A connection of a terminal, numbered by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    /// How long `begin_payment` locks an order.
    pub lease_ms: i64,
    /// Answers kept in memory for duplicate detection; older ones are found in the store.
    pub outcomes_cached_max: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            lease_ms: limits::PAYMENT_LEASE_MS_DEFAULT,
            outcomes_cached_max: 100_000,
        }
    }
}

/// What the engine needs to know about a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigInfo {
    pub id: ConfigId,
    pub name: Name,
    pub auto_share: bool,
}

/// Everything the engine starts from, as loaded from the store.
#[derive(Debug, Clone, Default)]
pub struct World {
    pub configs: Vec<ConfigInfo>,
    pub links: SyncLinks,
    pub catalog: EngineCatalog,
    /// Every order: drafts are kept whole, finished ones as summaries.
    pub orders: Vec<Order>,
}

/// A connection as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub session_id: SessionId,
    pub config_id: ConfigId,
    pub terminal: TerminalId,
}

/// Who sends an op: a terminal of a session, through a connection or over HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpSource {
    pub session_id: SessionId,
    pub config_id: ConfigId,
    pub terminal: TerminalId,
}

/// One message for several connections, encoded once by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub to: Vec<ConnId>,
    pub message: Arc<ServerMessage>,
}

/// The engine's answer to one op: the `ack`/`reject` for the sender, and what
/// every connection that may see the order must be told, to be sent in this
/// order once the batch has committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub answer: ServerMessage,
    pub deliveries: Vec<Delivery>,
}

/// A finished order, as much as is needed to answer ops and catch-ups about it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FinishedOrder {
    state: OrderState,
    origin_config_id: ConfigId,
    paid_by_config_id: Option<ConfigId>,
    shared: bool,
    version: u64,
    updated_by: By,
}

impl FinishedOrder {
    fn of(order: &Order) -> Self {
        FinishedOrder {
            state: order.state,
            origin_config_id: order.origin.config_id,
            paid_by_config_id: order.paid_by.as_ref().map(|by| by.config_id),
            shared: order.shared,
            version: order.version,
            updated_by: order.updated_by.clone(),
        }
    }

    fn readable_by(&self, config_id: ConfigId) -> bool {
        self.origin_config_id == config_id || self.paid_by_config_id == Some(config_id)
    }

    /// A config that could see the draft already knows the order exists, so
    /// telling it the order is paid leaks nothing.
    fn known_to(&self, config_id: ConfigId, links: &SyncLinks) -> bool {
        self.readable_by(config_id)
            || (self.shared && links.are_linked(self.origin_config_id, config_id))
    }

    fn removed_reason(&self) -> RemovedReason {
        match self.state {
            OrderState::Paid => RemovedReason::Paid,
            _ => RemovedReason::Cancelled,
        }
    }
}

/// An order slot before the current batch touched it, to restore on failure.
#[derive(Debug, Clone)]
struct PreImage {
    draft: Option<Order>,
    finished: Option<FinishedOrder>,
}

#[derive(Debug, Clone, Default)]
struct Batch {
    pre_images: BTreeMap<OrderId, PreImage>,
    op_ids: Vec<OpId>,
    entries: Vec<CommitEntry>,
}

#[derive(Debug)]
pub struct Engine {
    settings: EngineSettings,
    configs: BTreeMap<ConfigId, ConfigInfo>,
    links: SyncLinks,
    catalog: EngineCatalog,
    drafts: BTreeMap<OrderId, Order>,
    finished: BTreeMap<OrderId, FinishedOrder>,
    closed_sessions: BTreeSet<SessionId>,
    connections: BTreeMap<ConnId, ConnectionInfo>,
    presence: BTreeMap<ConnId, OrderId>,
    outcomes: BTreeMap<OpId, OpOutcome>,
    outcomes_order: VecDeque<OpId>,
    batch: Batch,
}

fn removed_message(
    order_id: OrderId,
    reason: RemovedReason,
    version: u64,
    by: &By,
) -> ServerMessage {
    ServerMessage::Removed {
        order_id,
        reason,
        version,
        by: by.clone(),
    }
}

impl Engine {
    pub fn new(settings: EngineSettings, world: World) -> Self {
        let mut drafts = BTreeMap::new();
        let mut finished = BTreeMap::new();
        for order in world.orders {
            if order.is_draft() {
                drafts.insert(order.id, order);
            } else {
                finished.insert(order.id, FinishedOrder::of(&order));
            }
        }
        Engine {
            settings,
            configs: world
                .configs
                .into_iter()
                .map(|config| (config.id, config))
                .collect(),
            links: world.links,
            catalog: world.catalog,
            drafts,
            finished,
            closed_sessions: BTreeSet::new(),
            connections: BTreeMap::new(),
            presence: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            outcomes_order: VecDeque::new(),
            batch: Batch::default(),
        }
    }

    pub fn links(&self) -> &SyncLinks {
        &self.links
    }

    pub fn draft(&self, order_id: OrderId) -> Option<&Order> {
        self.drafts.get(&order_id)
    }

    pub fn drafts(&self) -> impl Iterator<Item = &Order> {
        self.drafts.values()
    }

    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    pub fn config_name(&self, config_id: ConfigId) -> Option<&Name> {
        self.configs.get(&config_id).map(|config| &config.name)
    }

    fn by(&self, source: &OpSource) -> By {
        let config_name = self
            .configs
            .get(&source.config_id)
            .map(|config| config.name.clone())
            .unwrap_or_else(|| fallback_config_name(source.config_id));
        By {
            session_id: source.session_id,
            config_id: source.config_id,
            config_name,
            terminal: source.terminal,
        }
    }

    // ----- Configuration changes (between batches) -----

    pub fn set_catalog(&mut self, catalog: EngineCatalog) {
        self.catalog = catalog;
    }

    pub fn set_configs(&mut self, configs: Vec<ConfigInfo>) {
        self.configs = configs
            .into_iter()
            .map(|config| (config.id, config))
            .collect();
    }

    /// Replaces the sync links. Sessions that gain an order get it whole;
    /// sessions that lose one get `removed` with reason `unshared`.
    pub fn set_links(&mut self, links: SyncLinks) -> Vec<Delivery> {
        let before = std::mem::replace(&mut self.links, links);
        let mut deliveries = Vec::new();
        for order in self.drafts.values() {
            let mut gained = Vec::new();
            let mut lost = Vec::new();
            for (&conn_id, connection) in &self.connections {
                let saw = can_see_draft(order, connection.config_id, &before);
                let sees = can_see_draft(order, connection.config_id, &self.links);
                if sees && !saw {
                    gained.push(conn_id);
                } else if saw && !sees {
                    lost.push(conn_id);
                }
            }
            if !gained.is_empty() {
                deliveries.push(Delivery {
                    to: gained.clone(),
                    message: Arc::new(ServerMessage::Order {
                        order: Box::new(order.clone()),
                    }),
                });
                deliveries.extend(self.presence_for_newcomers(order.id, gained));
            }
            if !lost.is_empty() {
                deliveries.push(Delivery {
                    to: lost,
                    message: Arc::new(removed_message(
                        order.id,
                        RemovedReason::Unshared,
                        order.version,
                        &order.updated_by,
                    )),
                });
            }
        }
        deliveries
    }

    /// Marks a session closed: its ops are refused from now on. Answers the
    /// connections of that session, which the caller closes.
    pub fn session_closed(&mut self, session_id: SessionId) -> Vec<ConnId> {
        self.closed_sessions.insert(session_id);
        self.connections
            .iter()
            .filter(|(_, connection)| connection.session_id == session_id)
            .map(|(&conn_id, _)| conn_id)
            .collect()
    }

    pub fn is_session_closed(&self, session_id: SessionId) -> bool {
        self.closed_sessions.contains(&session_id)
    }

    // ----- Connections (between batches) -----

    /// Registers a connection after its `hello` and answers its catch-up:
    /// an `order` for every visible order it lacks or holds at another
    /// version, a `removed` for every known order it may no longer see, the
    /// presence on visible orders, then `synced`.
    pub fn connect(
        &mut self,
        conn_id: ConnId,
        connection: ConnectionInfo,
        known: &BTreeMap<OrderId, u64>,
    ) -> Vec<ServerMessage> {
        let config_id = connection.config_id;
        self.connections.insert(conn_id, connection);
        let mut messages = Vec::new();
        for order in self.drafts.values() {
            if can_see_draft(order, config_id, &self.links)
                && known.get(&order.id) != Some(&order.version)
            {
                messages.push(ServerMessage::Order {
                    order: Box::new(order.clone()),
                });
            }
        }
        for &order_id in known.keys() {
            if let Some(message) = self.removed_for(order_id, config_id) {
                messages.push(message);
            }
        }
        let present_orders: BTreeSet<OrderId> = self.presence.values().copied().collect();
        for order_id in present_orders {
            if self
                .drafts
                .get(&order_id)
                .is_some_and(|order| can_see_draft(order, config_id, &self.links))
            {
                messages.push(self.presence_message(order_id));
            }
        }
        messages.push(ServerMessage::Synced);
        messages
    }

    /// The `removed` message for an order this config may not (or no longer)
    /// see, if the order exists. It is sent for orders the terminal names (in
    /// `known` or `resync`): a terminal holding a copy must learn to drop it,
    /// even when the link or the sharing that let it see the order is gone.
    fn removed_for(&self, order_id: OrderId, config_id: ConfigId) -> Option<ServerMessage> {
        if let Some(order) = self.drafts.get(&order_id) {
            return (!can_see_draft(order, config_id, &self.links)).then(|| {
                removed_message(
                    order_id,
                    RemovedReason::Unshared,
                    order.version,
                    &order.updated_by,
                )
            });
        }
        let finished = self.finished.get(&order_id)?;
        Some(removed_message(
            order_id,
            finished.removed_reason(),
            finished.version,
            &finished.updated_by,
        ))
    }

    /// Answers a `resync`: the current state of each order the connection may see.
    pub fn resync(&self, conn_id: ConnId, order_ids: &[OrderId]) -> Vec<ServerMessage> {
        let Some(connection) = self.connections.get(&conn_id) else {
            return Vec::new();
        };
        order_ids
            .iter()
            .filter_map(|order_id| match self.drafts.get(order_id) {
                Some(order) if can_see_draft(order, connection.config_id, &self.links) => {
                    Some(ServerMessage::Order {
                        order: Box::new(order.clone()),
                    })
                }
                _ => self.removed_for(*order_id, connection.config_id),
            })
            .collect()
    }

    /// Forgets a connection; the terminals that could see its open order learn it left.
    pub fn disconnect(&mut self, conn_id: ConnId) -> Vec<Delivery> {
        let deliveries = self.set_presence(conn_id, None);
        self.connections.remove(&conn_id);
        deliveries
    }

    /// Records which order a connection has open, and tells everyone who may see it.
    pub fn set_presence(&mut self, conn_id: ConnId, order_id: Option<OrderId>) -> Vec<Delivery> {
        let Some(connection) = self.connections.get(&conn_id) else {
            return Vec::new();
        };
        // Presence on an order the connection may not see is ignored: it would leak.
        let order_id = order_id.filter(|order_id| {
            self.drafts
                .get(order_id)
                .is_some_and(|order| can_see_draft(order, connection.config_id, &self.links))
        });
        let previous = match order_id {
            Some(order_id) => self.presence.insert(conn_id, order_id),
            None => self.presence.remove(&conn_id),
        };
        if previous == order_id {
            return Vec::new();
        }
        previous
            .into_iter()
            .chain(order_id)
            .filter_map(|order_id| {
                let order = self.drafts.get(&order_id)?;
                let to = self.connections_seeing(order);
                (!to.is_empty()).then(|| Delivery {
                    to,
                    message: Arc::new(self.presence_message(order_id)),
                })
            })
            .collect()
    }

    /// Who has `order_id` open, for connections that have just come to see it (the
    /// order was shared, or their config linked): catch-up tells a connecting
    /// terminal the same, and without it a newly shared order would read "open
    /// nowhere" until someone's presence changed. None when nobody has it open.
    fn presence_for_newcomers(
        &self,
        order_id: OrderId,
        newcomers: Vec<ConnId>,
    ) -> Option<Delivery> {
        self.presence
            .values()
            .any(|present_order_id| *present_order_id == order_id)
            .then(|| Delivery {
                to: newcomers,
                message: Arc::new(self.presence_message(order_id)),
            })
    }

    fn presence_message(&self, order_id: OrderId) -> ServerMessage {
        let terminals: BTreeSet<PresentTerminal> = self
            .presence
            .iter()
            .filter(|(_, present_order_id)| **present_order_id == order_id)
            .filter_map(|(conn_id, _)| self.connections.get(conn_id))
            .filter_map(|connection| {
                Some(PresentTerminal {
                    terminal: connection.terminal,
                    config_id: connection.config_id,
                    config_name: self.config_name(connection.config_id)?.clone(),
                })
            })
            .collect();
        ServerMessage::Presence {
            order_id,
            terminals: terminals.into_iter().collect(),
        }
    }

    fn connections_seeing(&self, order: &Order) -> Vec<ConnId> {
        self.connections
            .iter()
            .filter(|(_, connection)| can_see_draft(order, connection.config_id, &self.links))
            .map(|(&conn_id, _)| conn_id)
            .collect()
    }

    // ----- Ops -----

    /// The answer recorded for an op, if this engine still remembers it.
    pub fn known_outcome(&self, op_id: OpId) -> Option<&OpOutcome> {
        self.outcomes.get(&op_id)
    }

    /// Decides one op. `stored_outcome` is what the store remembers for this
    /// `op_id` (looked up by the caller before, for ops this engine forgot or
    /// never saw since it started). The decision joins the current batch.
    pub fn decide(
        &mut self,
        source: &OpSource,
        request: &OpRequest,
        stored_outcome: Option<OpOutcome>,
        now: Timestamp,
    ) -> Decision {
        let by = self.by(source);
        let known = self
            .outcomes
            .get(&request.op_id)
            .cloned()
            .or(stored_outcome);
        if let Some(outcome) = known {
            return self.duplicate_answer(request, &outcome, source.config_id);
        }
        match self.decide_new(&by, request, now) {
            Ok(decision) => decision,
            Err(reject) => self.reject(request, reject, &by, now),
        }
    }

    fn duplicate_answer(
        &self,
        request: &OpRequest,
        outcome: &OpOutcome,
        config_id: ConfigId,
    ) -> Decision {
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
        Decision {
            answer,
            deliveries: Vec::new(),
        }
    }

    fn visible_draft(&self, order_id: OrderId, config_id: ConfigId) -> Option<Box<Order>> {
        self.drafts
            .get(&order_id)
            .filter(|order| can_see_draft(order, config_id, &self.links))
            .map(|order| Box::new(order.clone()))
    }

    fn reject(&mut self, request: &OpRequest, reject: Reject, by: &By, now: Timestamp) -> Decision {
        if !reject.code.is_retryable() {
            self.remember(
                request.op_id,
                OpOutcome::Rejected {
                    order_id: request.order_id,
                    reject: reject.clone(),
                },
            );
            self.batch.entries.push(CommitEntry::Rejected {
                op_id: request.op_id,
                order_id: request.order_id,
                reject: reject.clone(),
                at: now,
            });
        }
        Decision {
            answer: ServerMessage::Reject {
                op_id: request.op_id,
                order_id: request.order_id,
                code: reject.code,
                message: reject.message,
                order: self.visible_draft(request.order_id, by.config_id),
            },
            deliveries: Vec::new(),
        }
    }

    fn remember(&mut self, op_id: OpId, outcome: OpOutcome) {
        if self.outcomes.insert(op_id, outcome).is_none() {
            self.outcomes_order.push_back(op_id);
            self.batch.op_ids.push(op_id);
        }
        while self.outcomes_order.len() > self.settings.outcomes_cached_max {
            if let Some(oldest) = self.outcomes_order.pop_front() {
                self.outcomes.remove(&oldest);
            }
        }
    }

    fn decide_new(
        &mut self,
        by: &By,
        request: &OpRequest,
        now: Timestamp,
    ) -> Result<Decision, Reject> {
        let order_id = request.order_id;
        if self.closed_sessions.contains(&by.session_id) {
            return Err(Reject::new(
                RejectCode::SessionClosed,
                "this session is closed",
            ));
        }
        let is_create = matches!(request.op, Op::Create { .. });
        let current = self.drafts.get(&order_id);
        if let Some(order) = current {
            if !is_create && !can_see_draft(order, by.config_id, &self.links) {
                return Err(Reject::new(RejectCode::NotFound, "no such order"));
            }
        } else if let Some(finished) = self.finished.get(&order_id) {
            return Err(
                match (is_create, finished.known_to(by.config_id, &self.links)) {
                    (true, _) => {
                        Reject::new(RejectCode::Exists, "an order with this id already exists")
                    }
                    (false, false) => Reject::new(RejectCode::NotFound, "no such order"),
                    (false, true) if finished.state == OrderState::Paid => {
                        Reject::new(RejectCode::Paid, "this order is already paid")
                    }
                    (false, true) => Reject::new(RejectCode::Cancelled, "this order was cancelled"),
                },
            );
        }
        let auto_share = self
            .configs
            .get(&by.config_id)
            .is_some_and(|config| config.auto_share);
        let reference = order_reference(&by.config_name, order_id);
        let context = ApplyContext {
            by,
            now,
            catalog: &self.catalog,
            lease_ms: self.settings.lease_ms,
            auto_share,
            reference: &reference,
        };
        let before = current.cloned();
        match apply(before.as_ref(), order_id, &request.op, &context)? {
            Applied::Unchanged => Ok(Decision {
                answer: ServerMessage::Ack {
                    op_id: request.op_id,
                    order_id,
                    version: before.as_ref().map_or(1, |order| order.version),
                    duplicate: true,
                },
                deliveries: Vec::new(),
            }),
            Applied::Changed(after) => Ok(self.accept(by, request, before, after, now)),
        }
    }

    fn accept(
        &mut self,
        by: &By,
        request: &OpRequest,
        before: Option<Order>,
        after: Order,
        now: Timestamp,
    ) -> Decision {
        let order_id = after.id;
        assert_eq!(
            after.version,
            before.as_ref().map_or(1, |order| order.version + 1),
            "versions are contiguous"
        );
        let deliveries =
            self.deliveries_for_change(request.op_id, before.as_ref(), &after, by, now);
        self.batch
            .pre_images
            .entry(order_id)
            .or_insert_with(|| PreImage {
                draft: before,
                finished: self.finished.get(&order_id).cloned(),
            });
        self.remember(
            request.op_id,
            OpOutcome::Accepted {
                order_id,
                version: after.version,
            },
        );
        self.batch.entries.push(CommitEntry::Accepted {
            order: after.clone(),
            entry: HistoryEntry {
                version: after.version,
                op_id: request.op_id,
                op: request.op.clone(),
                by: by.clone(),
                at: now,
            },
        });
        let answer = ServerMessage::Ack {
            op_id: request.op_id,
            order_id,
            version: after.version,
            duplicate: false,
        };
        if after.is_draft() {
            self.drafts.insert(order_id, after);
        } else {
            self.drafts.remove(&order_id);
            self.presence
                .retain(|_, present_order_id| *present_order_id != order_id);
            self.finished.insert(order_id, FinishedOrder::of(&after));
        }
        Decision { answer, deliveries }
    }

    /// Who learns what about an accepted op: a `change` to those who saw the
    /// order and still do, the whole `order` to those who now see it for the
    /// first time, `removed` to those who no longer may.
    fn deliveries_for_change(
        &self,
        op_id: OpId,
        before: Option<&Order>,
        after: &Order,
        by: &By,
        now: Timestamp,
    ) -> Vec<Delivery> {
        let mut kept = Vec::new();
        let mut gained = Vec::new();
        let mut lost = Vec::new();
        for (&conn_id, connection) in &self.connections {
            let saw =
                before.is_some_and(|order| can_see_draft(order, connection.config_id, &self.links));
            let sees = can_see_draft(after, connection.config_id, &self.links);
            match (saw, sees) {
                (true, true) => kept.push(conn_id),
                (false, true) => gained.push(conn_id),
                (true, false) => lost.push(conn_id),
                (false, false) => {}
            }
        }
        let mut deliveries = Vec::new();
        if let (Some(before), false) = (before, kept.is_empty()) {
            deliveries.push(Delivery {
                to: kept,
                message: Arc::new(ServerMessage::Change {
                    order_id: after.id,
                    version: after.version,
                    op_id,
                    by: by.clone(),
                    at: now,
                    patch: Box::new(Patch::between(before, after)),
                }),
            });
        }
        if !gained.is_empty() {
            deliveries.push(Delivery {
                to: gained.clone(),
                message: Arc::new(ServerMessage::Order {
                    order: Box::new(after.clone()),
                }),
            });
            if after.is_draft() {
                deliveries.extend(self.presence_for_newcomers(after.id, gained));
            }
        }
        if !lost.is_empty() {
            let reason = match after.state {
                OrderState::Paid => RemovedReason::Paid,
                OrderState::Cancelled => RemovedReason::Cancelled,
                OrderState::Draft => RemovedReason::Unshared,
            };
            deliveries.push(Delivery {
                to: lost,
                message: Arc::new(removed_message(after.id, reason, after.version, by)),
            });
        }
        deliveries
    }

    // ----- The batch -----

    /// Whether decisions are waiting to be committed.
    pub fn batch_is_empty(&self) -> bool {
        self.batch.entries.is_empty()
            && self.batch.op_ids.is_empty()
            && self.batch.pre_images.is_empty()
    }

    /// What the current batch must write, in decision order.
    pub fn batch_entries(&self) -> &[CommitEntry] {
        &self.batch.entries
    }

    /// The batch is durable: its answers and deliveries may now be sent.
    pub fn commit_succeeded(&mut self) {
        self.batch = Batch::default();
    }

    /// The batch could not be written: every order it touched is put back as
    /// it was, and its answers are forgotten, so each of its ops is decided
    /// anew when resent. The caller answers them `unavailable`.
    pub fn commit_failed(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        for (order_id, pre_image) in batch.pre_images {
            match pre_image.draft {
                Some(order) => {
                    self.drafts.insert(order_id, order);
                }
                None => {
                    self.drafts.remove(&order_id);
                }
            }
            match pre_image.finished {
                Some(finished) => {
                    self.finished.insert(order_id, finished);
                }
                None => {
                    self.finished.remove(&order_id);
                }
            }
        }
        let forgotten: BTreeSet<OpId> = batch.op_ids.into_iter().collect();
        for op_id in &forgotten {
            self.outcomes.remove(op_id);
        }
        self.outcomes_order
            .retain(|op_id| !forgotten.contains(op_id));
    }
}

/// The answer to an op whose batch could not be committed.
pub fn unavailable_answer(request: &OpRequest) -> ServerMessage {
    ServerMessage::Reject {
        op_id: request.op_id,
        order_id: request.order_id,
        code: RejectCode::Unavailable,
        message: "the server could not save this change now; it will be sent again".to_owned(),
        order: None,
    }
}

/// A short reference a cashier can read out: the config's name and six hex
/// digits of the (random part of the) order id.
pub fn order_reference(config_name: &Name, order_id: OrderId) -> String {
    let hex = order_id.0.simple().to_string().to_uppercase();
    format!("{} {}", config_name, &hex[hex.len() - 6..])
}

/// The name shown for a config the engine was not told about (a race with its creation).
fn fallback_config_name(config_id: ConfigId) -> Name {
    Name::parse(&format!("Config {config_id}"))
        .unwrap_or_else(|_| unreachable!("\"Config <number>\" is always a valid name"))
}
