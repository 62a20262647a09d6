//! The node's connections: where each is in its life (waiting for `hello`,
//! having its terminal id checked, catching up, live), its rate limits per
//! message kind, what it has queued on the wire, and what it has open.

use crate::io::{Peer, Source};
use crate::rate::RateLimiter;
use crate::settings::{NodeSettings, RateLimit};
use possync_core::{ConfigId, OrderId, Timestamp};
use possync_protocol::ClientMessage;
use std::collections::{BTreeMap, VecDeque};

/// The kinds of message a terminal sends, each with its own rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Hello,
    Op,
    Resync,
    Presence,
    Ping,
    /// A frame that did not decode.
    Invalid,
}

impl MessageKind {
    pub fn of(message: &ClientMessage) -> MessageKind {
        match message {
            ClientMessage::Hello { .. } => MessageKind::Hello,
            ClientMessage::Op(_) => MessageKind::Op,
            ClientMessage::Resync { .. } => MessageKind::Resync,
            ClientMessage::Presence { .. } => MessageKind::Presence,
            ClientMessage::Ping { .. } => MessageKind::Ping,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Limiters {
    hello: RateLimiter,
    op: RateLimiter,
    resync: RateLimiter,
    presence: RateLimiter,
    ping: RateLimiter,
    invalid: RateLimiter,
}

fn limiter(limit: RateLimit) -> RateLimiter {
    RateLimiter::new(limit.burst, limit.per_s)
}

impl Limiters {
    pub fn new(settings: &NodeSettings) -> Self {
        Limiters {
            hello: limiter(settings.hello_rate),
            op: limiter(settings.ops_rate),
            resync: limiter(settings.resync_rate),
            presence: limiter(settings.presence_rate),
            ping: limiter(settings.ping_rate),
            invalid: limiter(settings.invalid_rate),
        }
    }

    pub fn allow(&mut self, kind: MessageKind, now: Timestamp) -> bool {
        match kind {
            MessageKind::Hello => self.hello.allow(now),
            MessageKind::Op => self.op.allow(now),
            MessageKind::Resync => self.resync.allow(now),
            MessageKind::Presence => self.presence.allow(now),
            MessageKind::Ping => self.ping.allow(now),
            MessageKind::Invalid => self.invalid.allow(now),
        }
    }
}

/// Sending every visible draft to a connection that said `hello`, paced by
/// its queue. Drafts are visited by origin config (only the terminal's own
/// config and those linked to it), then by id: the cursor is a position in
/// that (origin, id) order, which is total over all orders, so "passed" means
/// the same whatever the links are. A change to an order the cursor has not
/// reached yet is not sent: the order goes out whole, at its then-committed
/// version, when the cursor gets there. So nothing is sent twice and nothing
/// is missed, and a catch-up costs what the terminal sees, not what the shop holds.
#[derive(Debug, Clone)]
pub struct CatchUp {
    /// The versions the terminal holds.
    pub known: BTreeMap<OrderId, u64>,
    /// The next (origin config, draft id) to consider; None once every draft was considered.
    pub cursor: Option<(ConfigId, OrderId)>,
    /// The ids in `known` the node holds nothing about are being asked of the store.
    pub known_lookup_pending: bool,
}

impl CatchUp {
    /// Whether changes to the order `order_id` of `origin` are sent to this connection yet.
    pub fn has_passed(&self, origin: ConfigId, order_id: OrderId) -> bool {
        match self.cursor {
            None => true,
            Some(cursor) => (origin, order_id) < cursor,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Phase {
    /// Connected; the first message must be `hello`.
    AwaitingHello,
    /// `hello` named this terminal; the store is asked whose it is.
    CheckingTerminal {
        known: BTreeMap<OrderId, u64>,
    },
    CatchingUp(CatchUp),
    Live,
}

#[derive(Debug, Clone)]
pub struct Connection {
    pub peer: Peer,
    pub phase: Phase,
    /// Set by `hello`.
    pub source: Option<Source>,
    pub limiters: Limiters,
    /// Messages refused over a rate limit since the last one accepted.
    pub refusals_in_row: u32,
    pub queued_frames: u32,
    pub queued_bytes: u64,
    pub last_heard: Timestamp,
    pub connected_at: Timestamp,
    /// Messages held back, in order: everything after `hello` while the
    /// terminal id is checked; ops behind an op that waits for the store.
    pub waiting: VecDeque<ClientMessage>,
    /// One of this connection's ops waits for the store.
    pub op_parked: bool,
    /// The order this terminal has open.
    pub presence: Option<OrderId>,
    /// Closed by the node; nothing more is sent or read.
    pub closing: bool,
}

impl Connection {
    pub fn new(peer: Peer, settings: &NodeSettings, now: Timestamp) -> Self {
        Connection {
            peer,
            phase: Phase::AwaitingHello,
            source: None,
            limiters: Limiters::new(settings),
            refusals_in_row: 0,
            queued_frames: 0,
            queued_bytes: 0,
            last_heard: now,
            connected_at: now,
            waiting: VecDeque::new(),
            op_parked: false,
            presence: None,
            closing: false,
        }
    }

    /// Registered for deliveries: past `hello` and the terminal check.
    pub fn is_registered(&self) -> bool {
        matches!(self.phase, Phase::CatchingUp(_) | Phase::Live)
    }

    /// Catching up, the cursor has not reached `order_id`, and the terminal
    /// holds a copy of it: if it loses sight of the order now, it must be
    /// told `removed` now, because the cursor sends only what it sees.
    pub fn holds_unreached(&self, origin: ConfigId, order_id: OrderId) -> bool {
        match &self.phase {
            Phase::CatchingUp(catch_up) => {
                !catch_up.has_passed(origin, order_id) && catch_up.known.contains_key(&order_id)
            }
            _ => false,
        }
    }

    /// Whether changes to the order `order_id` of `origin` are sent to this connection now.
    pub fn receives_changes_of(&self, origin: ConfigId, order_id: OrderId) -> bool {
        match &self.phase {
            Phase::Live => true,
            Phase::CatchingUp(catch_up) => catch_up.has_passed(origin, order_id),
            _ => false,
        }
    }
}
