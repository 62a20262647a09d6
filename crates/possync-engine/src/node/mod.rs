//! [`Node`]: one sync node, without I/O.
//!
//! The driver (the server's actor, or the simulation) feeds it inputs: a
//! connection came or went, a message arrived, the wire drained, the store
//! answered, a batch committed, time passed. The node decides everything
//! and queues effects ([`Node::poll_effect`]): frames to send, connections to
//! close, replies to HTTP requests, questions for the store. Batches for the
//! store come out of [`Node::next_batch`]. It never reads a clock, a socket
//! or a disk, so the same inputs give the same effects.
//!
//! The rules it owns, by file:
//! - `messages`: hello first and once, terminal identity, rate limits per
//!   message kind, presence, resync, heartbeats, the queue bounds of each
//!   connection (4008), connections per token;
//! - `ops`: idempotency (asking the store about ids it does not hold),
//!   sequencing, the per-config draft cap, sessions being closed;
//! - `catch_up`: `hello`'s catch-up, paced by the connection's queue;
//! - `commit`: group commit, who is told what once a batch is durable, and
//!   recovery from a commit that failed or whose outcome is unknown;
//! - `store`: the store's answers, configuration reloads and their retries;
//! - `elsewhere`: what other nodes on the same database committed.

mod catch_up;
mod commit;
mod elsewhere;
mod messages;
mod ops;
mod store;

use crate::batch::{BatchBuilder, InFlight, ReplyTo};
use crate::bounded::FifoMap;
use crate::catalog::EngineCatalog;
use crate::connections::Connection;
use crate::freshness::Freshness;
use crate::io::*;
use crate::rate::RateLimiter;
use crate::settings::NodeSettings;
use crate::shop::{FinishedOrder, ShopState};
use possync_core::*;
use possync_protocol::{CloseCode, OpRequest, ServerMessage};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Everything a node starts from, as loaded from the store: the open drafts,
/// never the finished history.
#[derive(Debug, Clone, Default)]
pub struct World {
    pub configs: Vec<ConfigInfo>,
    pub links: SyncLinks,
    /// Every pair of configs ever linked (the current links included).
    pub links_ever: SyncLinks,
    pub catalog: EngineCatalog,
    pub drafts: Vec<Order>,
    /// The time stamp of the newest op or order id the store holds among
    /// those stamped at most `now + id_clock_skew_ms` at the start (see
    /// [`Freshness::starting_at`]); `None` when it holds none.
    pub newest_stored_id_ms: Option<i64>,
}

/// A configuration the back office changed in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reload {
    Links,
    Configs,
    Catalog,
}

impl Reload {
    pub fn as_str(self) -> &'static str {
        match self {
            Reload::Links => "sync links",
            Reload::Configs => "configs",
            Reload::Catalog => "the catalog",
        }
    }
}

/// Counters of what the node did, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeStats {
    pub ops_accepted: u64,
    pub ops_duplicate: u64,
    pub ops_rejected: BTreeMap<&'static str, u64>,
    pub messages_rate_limited: u64,
    pub connections_closed_too_slow: u64,
    pub connections_closed_silent: u64,
    pub terminal_ids_refused: u64,
    pub batches_committed: u64,
    pub batch_entries_committed: u64,
    pub commits_failed: u64,
    /// Batches the store refused because another node moved one of their
    /// orders first (a lost race, not a failure).
    pub commit_conflicts: u64,
    pub recoveries: u64,
    pub store_reads: u64,
    pub store_ids_read: u64,
    pub reloads_failed: u64,
}

/// An op on its way: who sent it, what it is, where its answer goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ticket {
    pub reply: ReplyTo,
    pub source: Source,
    pub request: OpRequest,
}

/// Who waits for a store read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReadWaiter {
    /// An op whose op id or order the node does not hold.
    Op(Ticket),
    /// A catch-up's `known` ids the node holds nothing about.
    Known { conn: ConnId },
    /// A `resync` naming orders the node holds nothing about.
    Resync {
        conn: ConnId,
        order_ids: Vec<OrderId>,
    },
    /// Recovery after a failed commit.
    Recovery,
    /// Orders another node committed: what the node holds of them is stale.
    Changed {
        announced: BTreeMap<OrderId, OrderChanged>,
    },
}

/// Who waits for a terminal id's binding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BindWaiter {
    Hello(ConnId),
    Op { token: TokenKey, ticket: Ticket },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Asked {
    Read {
        waiters: Vec<ReadWaiter>,
        order_ids: Vec<OrderId>,
    },
    Bind {
        terminal: TerminalId,
        waiters: Vec<BindWaiter>,
    },
    Reload(Reload),
}

/// The store questions gathered while handling one input, asked as one read.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadBuilder {
    pub op_ids: BTreeSet<OpId>,
    pub order_ids: BTreeSet<OrderId>,
    pub waiters: Vec<ReadWaiter>,
}

/// After a failed commit: what must be read back before the node goes on.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recovery {
    pub order_ids: BTreeSet<OrderId>,
    pub op_ids: BTreeSet<OpId>,
    /// The read was asked and not answered yet.
    pub asked: bool,
    /// When to ask again after a failed read.
    pub retry_at: Option<Timestamp>,
    pub attempts: u32,
}

/// A configuration reload: asked, to be asked again, or failing.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReloadState {
    pub asked: bool,
    /// Another change came while the reload was asked: ask again after it.
    pub again: bool,
    pub retry_at: Option<Timestamp>,
    pub attempts: u32,
}

/// The whole sync node. See the module documentation.
#[derive(Debug)]
pub struct Node {
    settings: NodeSettings,
    shop: ShopState,
    /// First answers that are durable; the store knows the older ones.
    outcomes: FifoMap<OpId, OpOutcome>,
    /// First answers decided in a batch not yet durable: never evicted, moved
    /// to `outcomes` once their batch commits, dropped if it fails.
    outcomes_pending: BTreeMap<OpId, OpOutcome>,
    freshness: Freshness,
    /// Boxed: a `Connection` is several hundred bytes, and a B-tree filled in
    /// ascending id order leaves its nodes half empty; with boxes the empty
    /// half is pointers, not connections (ten thousand idle terminals).
    connections: BTreeMap<ConnId, Box<Connection>>,
    /// Registered connections (past hello) by config, for fan-out.
    connections_by_config: BTreeMap<ConfigId, BTreeSet<ConnId>>,
    connections_per_token: BTreeMap<TokenKey, usize>,
    /// Who has which order open.
    present: BTreeMap<OrderId, BTreeSet<ConnId>>,
    bindings: FifoMap<TerminalId, TokenKey>,
    http_limiters: FifoMap<TokenKey, RateLimiter>,
    current: BatchBuilder,
    in_flight: VecDeque<InFlight>,
    next_batch_id: u64,
    next_ask_id: u64,
    asked: BTreeMap<AskId, Asked>,
    /// A terminal binding being asked, so two hellos of one terminal ask once.
    binding_asks: BTreeMap<TerminalId, AskId>,
    reads: ReadBuilder,
    /// Ops whose turn came while the batch was full and could not be handed
    /// out: decided, in order, as soon as a commit ends. A connection has at
    /// most one here (it stays parked meanwhile); the queue is bounded.
    deferred: VecDeque<Ticket>,
    recovery: Option<Recovery>,
    closing_sessions: BTreeMap<SessionId, usize>,
    closed_sessions: FifoMap<SessionId, ()>,
    reloads: BTreeMap<Reload, ReloadState>,
    /// Orders other nodes changed, read once no batch of this node touches
    /// them and recovery is done (or, after a failed read, at `refresh_retry_at`).
    changed_elsewhere: BTreeMap<OrderId, OrderChanged>,
    refresh_retry_at: Option<Timestamp>,
    refresh_attempts: u32,
    /// Orders being read again because they changed elsewhere: ops on them
    /// are answered `unavailable` until the read is back, rather than decided
    /// on a copy known to be stale (their commit would lose the race).
    refreshing: BTreeSet<OrderId>,
    health: BTreeSet<HealthIssue>,
    effects: VecDeque<Effect>,
    stats: NodeStats,
    last_heartbeat_check: Timestamp,
}

impl Node {
    pub fn new(settings: NodeSettings, world: World, now: Timestamp) -> Self {
        let shop = ShopState::new(
            world.configs,
            world.links,
            world.links_ever,
            world.catalog,
            world.drafts,
            settings.finished_cached_max,
        );
        Node {
            outcomes: FifoMap::new(settings.outcomes_cached_max),
            outcomes_pending: BTreeMap::new(),
            freshness: Freshness::starting_at(
                now,
                settings.lookups,
                settings.id_clock_skew_ms,
                world.newest_stored_id_ms,
            ),
            bindings: FifoMap::new(settings.terminal_bindings_cached_max),
            http_limiters: FifoMap::new(settings.http_callers_tracked_max),
            closed_sessions: FifoMap::new(settings.closed_sessions_remembered_max),
            settings,
            shop,
            connections: BTreeMap::new(),
            connections_by_config: BTreeMap::new(),
            connections_per_token: BTreeMap::new(),
            present: BTreeMap::new(),
            current: BatchBuilder::default(),
            in_flight: VecDeque::new(),
            next_batch_id: 1,
            next_ask_id: 1,
            asked: BTreeMap::new(),
            binding_asks: BTreeMap::new(),
            reads: ReadBuilder::default(),
            deferred: VecDeque::new(),
            recovery: None,
            closing_sessions: BTreeMap::new(),
            reloads: BTreeMap::new(),
            changed_elsewhere: BTreeMap::new(),
            refresh_retry_at: None,
            refresh_attempts: 0,
            refreshing: BTreeSet::new(),
            health: BTreeSet::new(),
            effects: VecDeque::new(),
            stats: NodeStats::default(),
            last_heartbeat_check: now,
        }
    }

    // ----- Reading the node (metrics, health, tests) -----

    pub fn settings(&self) -> &NodeSettings {
        &self.settings
    }

    pub fn links(&self) -> &SyncLinks {
        &self.shop.links
    }

    /// The latest decided state of a draft (ahead of the store while a batch is pending).
    pub fn draft(&self, order_id: OrderId) -> Option<&Order> {
        self.shop.drafts.get(&order_id)
    }

    pub fn drafts(&self) -> impl Iterator<Item = &Order> {
        self.shop.drafts.values()
    }

    pub fn open_drafts(&self) -> usize {
        self.shop.drafts.len()
    }

    pub fn finished_cached(&self) -> usize {
        self.shop.finished.len()
    }

    pub fn outcomes_cached(&self) -> usize {
        self.outcomes.len() + self.outcomes_pending.len()
    }

    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    pub fn stats(&self) -> &NodeStats {
        &self.stats
    }

    /// What is wrong, if anything: `/healthz` answers `"degraded"` with these.
    pub fn health(&self) -> Vec<HealthIssue> {
        self.health.iter().cloned().collect()
    }

    /// The batch being built is full and cannot be handed out yet: the driver
    /// should stop feeding messages until a commit ends. Ops that still reach
    /// a decision (those that waited for a store read, or a driver that keeps
    /// feeding) wait for the commit, up to a bound; past it they are answered
    /// `unavailable`.
    pub fn is_saturated(&self) -> bool {
        self.current.entries.len() >= self.settings.ops_per_batch_max
            && self.in_flight.len() >= self.settings.batches_in_flight_max.max(1)
    }

    /// Whether a batch is waiting to be taken or is being committed.
    pub fn is_idle(&self) -> bool {
        self.current.is_empty()
            && self.in_flight.is_empty()
            && self.asked.is_empty()
            && self.reads.waiters.is_empty()
            && self.deferred.is_empty()
            && self.recovery.is_none()
            && self.effects.is_empty()
    }

    /// The next effect to carry out, in order.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.flush_reads();
        self.answer_without_store();
        self.effects.pop_front()
    }

    /// Every pending effect, in order.
    pub fn drain_effects(&mut self) -> Vec<Effect> {
        self.flush_reads();
        self.answer_without_store();
        self.effects.drain(..).collect()
    }

    /// The earliest time [`Node::on_tick`] has something to do.
    pub fn next_wake(&self) -> Option<Timestamp> {
        let retries = self
            .reloads
            .values()
            .filter_map(|state| state.retry_at)
            .chain(
                self.recovery
                    .as_ref()
                    .and_then(|recovery| recovery.retry_at),
            )
            .chain(self.refresh_retry_at);
        let heartbeat = (!self.connections.is_empty()).then(|| {
            self.last_heartbeat_check
                .plus_millis(self.settings.heartbeat_ms.clamp(1, 1_000))
        });
        retries.chain(heartbeat).min()
    }

    // ----- Shared helpers of the input handlers -----

    fn new_ask(&mut self, asked: Asked, request: StoreRequest) -> AskId {
        let ask = AskId(self.next_ask_id);
        self.next_ask_id += 1;
        self.asked.insert(ask, asked);
        self.effects.push_back(Effect::Ask { ask, request });
        ask
    }

    /// Sends one frame to each of `to`, counting it against their queue
    /// bounds; a connection over its bound is closed (4008) instead.
    fn send(&mut self, to: Vec<ConnId>, message: ServerMessage) {
        if to.is_empty() {
            return;
        }
        let frame = Frame::new(message);
        let bytes = frame.len() as u64;
        let mut receivers = Vec::with_capacity(to.len());
        let mut too_slow = Vec::new();
        for conn_id in to {
            let Some(connection) = self.connections.get_mut(&conn_id) else {
                continue;
            };
            if connection.closing {
                continue;
            }
            connection.queued_frames = connection.queued_frames.saturating_add(1);
            connection.queued_bytes = connection.queued_bytes.saturating_add(bytes);
            if connection.queued_frames > self.settings.frames_per_connection_max
                || connection.queued_bytes > self.settings.bytes_per_connection_max
            {
                too_slow.push(conn_id);
            } else {
                receivers.push(conn_id);
            }
        }
        if !receivers.is_empty() {
            self.effects.push_back(Effect::Send {
                to: receivers,
                frame,
            });
        }
        for conn_id in too_slow {
            self.stats.connections_closed_too_slow += 1;
            self.close(conn_id, CloseCode::TooSlow);
        }
    }

    fn send_one(&mut self, conn_id: ConnId, message: ServerMessage) {
        self.send(vec![conn_id], message);
    }

    fn error(code: &str, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// Closes a connection: it receives nothing more, its presence goes, and
    /// the driver sends the close frame after what is queued.
    fn close(&mut self, conn_id: ConnId, code: CloseCode) {
        let Some(connection) = self.connections.get_mut(&conn_id) else {
            return;
        };
        if connection.closing {
            return;
        }
        connection.closing = true;
        self.unregister(conn_id);
        self.effects.push_back(Effect::Close {
            conn: conn_id,
            code,
        });
    }

    /// Takes a connection out of fan-out and presence (it keeps its slot
    /// until the driver reports the disconnect).
    fn unregister(&mut self, conn_id: ConnId) {
        self.set_presence_of(conn_id, None);
        let Some(connection) = self.connections.get(&conn_id) else {
            return;
        };
        let config_id = connection.peer.config.id;
        if let Some(connections) = self.connections_by_config.get_mut(&config_id) {
            connections.remove(&conn_id);
            if connections.is_empty() {
                self.connections_by_config.remove(&config_id);
            }
        }
    }

    /// The registered connections of the configs that may see `order`
    /// in any state: its origin and the configs linked to it.
    fn connections_near(&self, origin_config_id: ConfigId) -> Vec<ConnId> {
        let mut configs = self.shop.links.sync_with(origin_config_id);
        configs.push(origin_config_id);
        configs
            .iter()
            .filter_map(|config_id| self.connections_by_config.get(config_id))
            .flatten()
            .copied()
            .collect()
    }

    /// The first answer of an op, pending or durable, if the node holds it.
    fn outcome_of(&self, op_id: OpId) -> Option<&OpOutcome> {
        self.outcomes_pending
            .get(&op_id)
            .or_else(|| self.outcomes.get(&op_id))
    }

    /// Keeps a durable first answer (the cache may forget older ones).
    fn remember_outcome(&mut self, op_id: OpId, outcome: OpOutcome) {
        for (forgotten, _) in self.outcomes.insert(op_id, outcome) {
            self.freshness.forgot(forgotten.0);
        }
    }

    /// Keeps a durably finished order (the cache may forget older ones).
    fn remember_finished(&mut self, order_id: OrderId, finished: FinishedOrder) {
        for (forgotten, _) in self.shop.finished.insert(order_id, finished) {
            self.freshness.forgot(forgotten.0);
        }
    }
}
