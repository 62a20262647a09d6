//! The node's boundary: who talks to it, what it asks the store, and the
//! effects it hands to whoever drives it (the server's actor, the simulation).

use crate::catalog::EngineCatalog;
use possync_core::*;
use possync_protocol::{CloseCode, OpRequest, ServerMessage};
use std::sync::Arc;

/// A connection of a terminal, numbered by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// A request waiting for one answer (an HTTP op), numbered by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// A question the node asked the store, numbered by the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AskId(pub u64);

/// A batch handed out by [`crate::Node::next_batch`], numbered by the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchId(pub u64);

/// Which terminal token a caller authenticated with: an opaque, stable key
/// (the server uses the token's hash). Terminal ids are bound to it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenKey(pub Arc<str>);

impl TokenKey {
    pub fn new(key: &str) -> Self {
        TokenKey(Arc::from(key))
    }
}

/// A terminal token's session, as the driver authenticated it, before `hello`
/// names the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub token: TokenKey,
    pub session: Session,
    pub config: Config,
    /// The role of the user who opened or joined the session with this token:
    /// a cashier's money ops may need a manager's approval.
    pub role: Role,
}

/// Who acts: a terminal of a session. Ops, presence and `by` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub session_id: SessionId,
    pub config_id: ConfigId,
    pub terminal: TerminalId,
    /// The role of the user behind the terminal's token.
    pub role: Role,
}

/// A server message with its JSON text, encoded once however many
/// connections receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame(Arc<EncodedMessage>);

#[derive(Debug, PartialEq)]
struct EncodedMessage {
    message: ServerMessage,
    text: String,
}

impl Frame {
    pub fn new(message: ServerMessage) -> Self {
        let text = message.encode();
        Frame(Arc::new(EncodedMessage { message, text }))
    }

    pub fn message(&self) -> &ServerMessage {
        &self.0.message
    }

    pub fn text(&self) -> &str {
        &self.0.text
    }

    /// Bytes on the wire (the queue bounds count these).
    pub fn len(&self) -> usize {
        self.0.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.text.is_empty()
    }
}

/// What the node asks the store. Answers come back through
/// [`crate::Node::on_store_answer`] with the same [`AskId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreRequest {
    /// The first answers of these ops and the current state of these orders,
    /// as far as the store has them.
    Read {
        op_ids: Vec<OpId>,
        order_ids: Vec<OrderId>,
    },
    /// Binds `terminal` to `token` unless it is bound already; answers the
    /// token it is bound to.
    BindTerminal {
        terminal: TerminalId,
        token: TokenKey,
    },
    LoadLinks,
    LoadConfigs,
    LoadCatalog,
}

/// The store's answer to a [`StoreRequest`].
#[derive(Debug, Clone)]
pub enum StoreAnswer {
    Read {
        outcomes: Vec<(OpId, OpOutcome)>,
        /// The orders that exist; an id asked for and absent does not.
        orders: Vec<Order>,
    },
    TerminalBound {
        terminal: TerminalId,
        owner: TokenKey,
    },
    Links(SyncLinks),
    Configs(Vec<ConfigInfo>),
    Catalog(EngineCatalog),
}

/// What the node needs to know about a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigInfo {
    pub id: ConfigId,
    pub name: Name,
    pub auto_share: bool,
    /// Cashiers' money ops need a manager's approval (`restrict_price_control`).
    pub restrict_price_control: bool,
}

/// An order another node (or this one) committed, as the store announced it:
/// the order is at `version` now, or later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderChanged {
    pub order_id: OrderId,
    pub version: u64,
    /// The op that brought the order to `version`, when the announcement names
    /// it: with it, a node one version behind sends a `change`, not the whole order.
    pub op_id: Option<OpId>,
}

/// A session close the driver carries out after the batch's entries are durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClose {
    pub request: RequestId,
    pub session_id: SessionId,
    pub counted_cash: Option<Money>,
}

/// One group commit: every entry in one transaction, then the session closes.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub id: BatchId,
    pub entries: Vec<CommitEntry>,
    pub session_closes: Vec<SessionClose>,
}

/// How a batch's commit ended, as the driver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitResult {
    /// The entries are durable; each session close succeeded or not.
    Committed {
        sessions_closed: Vec<(SessionId, bool)>,
    },
    /// The commit failed or its outcome is unknown (it may have landed).
    Failed { reason: String },
    /// The store refused the batch because another writer (another node on
    /// the same database) got there first: it moved `order_ids`, closed
    /// `closed_sessions` (whose ops must not commit after the close), or (both
    /// empty) answered one of the batch's ops. Nothing of the batch was
    /// written: its outcome is known. The node answers the ops on those
    /// orders and of those sessions `unavailable`, reads the orders again,
    /// and commits the batch's other ops in the next batch. It stays healthy:
    /// losing a race is not a failure.
    Conflict {
        order_ids: Vec<OrderId>,
        closed_sessions: Vec<SessionId>,
    },
}

/// What the driver must do, in the order the node says it.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Queue the frame for each of these connections.
    Send { to: Vec<ConnId>, frame: Frame },
    /// Close the connection with this code, after what is already queued.
    Close { conn: ConnId, code: CloseCode },
    /// Answer a request (an HTTP op) with its `ack` or `reject`.
    Reply {
        request: RequestId,
        answer: ServerMessage,
    },
    /// Ask the store; answer with [`crate::Node::on_store_answer`].
    Ask { ask: AskId, request: StoreRequest },
}

/// Why a node is not fully well, for `/healthz`'s `"degraded"` reasons.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum HealthIssue {
    /// Commits fail (a full disk, a database gone): ops are answered `unavailable`.
    CommitsFailing(String),
    /// A configuration reload keeps failing: links, configs or the catalog are stale.
    ReloadFailing { what: &'static str, error: String },
}

impl HealthIssue {
    /// Every kind, for a metric that says 0 or 1 for each.
    pub const KINDS: [&'static str; 2] = ["commits_failing", "reload_failing"];

    /// What kind of trouble this is, as a metric label (the details stay in
    /// `/healthz` and the log).
    pub fn kind(&self) -> &'static str {
        match self {
            HealthIssue::CommitsFailing(_) => Self::KINDS[0],
            HealthIssue::ReloadFailing { .. } => Self::KINDS[1],
        }
    }
}

impl std::fmt::Display for HealthIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HealthIssue::CommitsFailing(error) => {
                write!(f, "changes cannot be saved: {error}")
            }
            HealthIssue::ReloadFailing { what, error } => {
                write!(f, "reloading {what} failed: {error}")
            }
        }
    }
}

/// The `unavailable` reject of an op the node could not decide or commit
/// (the store failed): retryable, so the terminal sends the same op again.
pub(crate) fn unavailable_reject(request: &OpRequest, why: &str) -> ServerMessage {
    ServerMessage::Reject {
        op_id: request.op_id,
        order_id: request.order_id,
        code: RejectCode::Unavailable,
        message: format!("{why}; it will be sent again"),
        order: None,
    }
}
