//! The sync actor: the I/O around the one [`Node`].
//!
//! The node decides everything; this task moves bytes, calls the store and
//! keeps time. It owns the node and loops over:
//! - commands from connection tasks and HTTP handlers (one bounded channel),
//! - the store's answers to the node's questions (each asked in its own task),
//! - the result of the batch being committed (in its own task, so the node
//!   decides the next batch while the previous one is made durable),
//! - a ticker (heartbeats, retries) and the shutdown signal;
//!
//! and after each, carries out the node's effects and hands the next batch
//! to a commit task when the node has one.

use super::listener::{Hearing, HearingEvent};
use super::metrics::SyncMetrics;
use super::outbox::OutboxSender;
use super::store::SyncStore;
use crate::clock::Clock;
use crate::health::Health;
use axum::extract::ws::Utf8Bytes;
use futures_util::stream::FuturesOrdered;
use futures_util::{FutureExt, StreamExt};
use possync_core::*;
use possync_engine::{
    AskId, Batch, CommitResult, ConnId, Effect, Lookups, Node, NodeSettings, NodeStats, Peer,
    Reload, RequestId, Source, StoreAnswer, StoreRequest, TokenKey,
};
use possync_protocol::{ClientMessage, CloseCode, DecodeError, OpRequest, ServerMessage};
use possync_store::postgres::changes::ChangeListener;
use possync_store::{Conflict, SessionReport, StoreError};
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Tunables of the sync path, with their units in their names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    /// Every rule's bound: rate limits, queue bounds, batch sizes, caches.
    pub node: NodeSettings,
    /// Commands waiting for the actor; connection readers wait when it is full.
    pub commands_queued_max: usize,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            node: NodeSettings::default(),
            commands_queued_max: 16_384,
        }
    }
}

/// What a connection's task writes on the wire.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A JSON text frame (reference-counted: one encoding for every receiver).
    Text(Utf8Bytes),
    /// The close frame; the connection writes nothing after it.
    Close(CloseCode),
}

/// An input for the node, from a connection task or a handler.
#[derive(Debug)]
pub enum Command {
    Connect {
        conn: ConnId,
        peer: Peer,
        /// The connection's queue. Unbounded here because the node bounds it
        /// (frames and bytes) and closes a connection that goes over (4008).
        outbox: OutboxSender,
    },
    Message {
        conn: ConnId,
        message: Result<ClientMessage, DecodeError>,
    },
    /// A ping or pong frame: the terminal is alive.
    Heard {
        conn: ConnId,
    },
    /// The writer put this much of the connection's queue on the wire.
    Flushed {
        conn: ConnId,
        frames: u32,
        bytes: u64,
    },
    Disconnect {
        conn: ConnId,
    },
    HttpOp {
        token: TokenKey,
        source: Source,
        request: OpRequest,
        reply: oneshot::Sender<ServerMessage>,
    },
    CloseSession {
        session_id: SessionId,
        counted_cash: Option<Money>,
        reply: oneshot::Sender<Result<SessionReport, StoreError>>,
    },
    /// The back office changed links, configs or the catalog; `applied` is
    /// told once the node has reloaded it (or the reload failed and is retried).
    ShopChanged {
        what: Reload,
        applied: oneshot::Sender<()>,
    },
    /// These terminal tokens were revoked: their connections close with 4001.
    TokensRevoked(Vec<TokenKey>),
}

/// The server's handle on the actor: cheap to clone, one per handler.
#[derive(Debug, Clone)]
pub struct SyncHandle {
    commands: mpsc::Sender<Command>,
    next_conn_id: Arc<AtomicU64>,
    pub metrics: Arc<SyncMetrics>,
    pub settings: Arc<SyncSettings>,
}

/// Why a command could not be handed to the actor.
#[derive(Debug, thiserror::Error)]
pub enum SyncUnavailable {
    #[error("the sync engine has stopped")]
    Stopped,
    #[error("the sync engine is overloaded")]
    Overloaded,
}

impl SyncHandle {
    pub fn next_conn_id(&self) -> ConnId {
        ConnId(self.next_conn_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Hands a command to the actor, waiting for room in its queue.
    pub async fn send(&self, command: Command) -> Result<(), SyncUnavailable> {
        self.commands
            .send(command)
            .await
            .map_err(|_| SyncUnavailable::Stopped)
    }

    /// Hands a command to the actor if its queue has room now; else gives it
    /// back with the reason (a full queue, or a stopped actor).
    // The command comes back whole so the caller can wait with it; boxing it
    // would cost an allocation per message on the path that does not wait.
    #[allow(clippy::result_large_err)]
    pub fn offer(&self, command: Command) -> Result<(), mpsc::error::TrySendError<Command>> {
        self.commands.try_send(command)
    }

    /// Hands a command to the actor without waiting: a full queue is an overload.
    pub fn try_send(&self, command: Command) -> Result<(), SyncUnavailable> {
        self.commands
            .try_send(command)
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => SyncUnavailable::Overloaded,
                mpsc::error::TrySendError::Closed(_) => SyncUnavailable::Stopped,
            })
    }

    /// One op over HTTP: its `ack` or `reject`.
    pub async fn op(
        &self,
        token: TokenKey,
        source: Source,
        request: OpRequest,
    ) -> Result<ServerMessage, SyncUnavailable> {
        let (reply, answer) = oneshot::channel();
        self.try_send(Command::HttpOp {
            token,
            source,
            request,
            reply,
        })?;
        answer.await.map_err(|_| SyncUnavailable::Stopped)
    }

    /// Closes a session through the node: every op is either in its report or
    /// refused `session_closed`.
    pub async fn close_session(
        &self,
        session_id: SessionId,
        counted_cash: Option<Money>,
    ) -> Result<Result<SessionReport, StoreError>, SyncUnavailable> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::CloseSession {
            session_id,
            counted_cash,
            reply,
        })
        .await?;
        answer.await.map_err(|_| SyncUnavailable::Stopped)
    }

    /// Tells the node that these tokens (by their hashes) were revoked, so their
    /// live connections close with 4001. The store must have revoked them first:
    /// a connection that arrives later is refused by its own check of the store.
    pub async fn tokens_revoked(&self, token_hashes: &[String]) {
        if token_hashes.is_empty() {
            return;
        }
        let tokens = token_hashes
            .iter()
            .map(|hash| TokenKey::new(hash))
            .collect();
        if self.send(Command::TokensRevoked(tokens)).await.is_err() {
            tracing::warn!("sync engine stopped; revoked tokens' connections not closed live");
        }
    }

    /// Tells the node that configuration changed in the store (links, configs,
    /// catalog), and waits until it has reloaded it: when a back-office answer
    /// returns, the tills of this node already work with the change (a product
    /// just created can be sold at once). Bounded: a node that does not answer
    /// within [`SHOP_CHANGE_WAIT`] is logged and not waited for.
    pub async fn shop_changed(&self, what: Reload) {
        let (applied, reloaded) = oneshot::channel();
        if self
            .send(Command::ShopChanged { what, applied })
            .await
            .is_err()
        {
            tracing::warn!(
                ?what,
                "sync engine stopped; configuration change not applied live"
            );
            return;
        }
        match tokio::time::timeout(SHOP_CHANGE_WAIT, reloaded).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => tracing::warn!(?what, "sync engine stopped before reloading a change"),
            Err(_) => tracing::warn!(
                ?what,
                "the sync node did not reload a change within {SHOP_CHANGE_WAIT:?}; it follows later"
            ),
        }
    }
}

/// Loads the node from the store and starts the actor. With `listener`
/// (several nodes on one PostgreSQL database), the node hears what the other
/// nodes commit and asks the store about every id it does not hold.
pub async fn start_sync(
    store: Arc<dyn SyncStore>,
    clock: Arc<dyn Clock>,
    mut settings: SyncSettings,
    health: Arc<Health>,
    shutdown: CancellationToken,
    listener: Option<ChangeListener>,
) -> Result<SyncHandle, StoreError> {
    let started = Instant::now();
    if listener.is_some() {
        // Another node may have answered any op or written any order: no id
        // is new to the database just because this node has not seen it.
        settings.node.lookups = Lookups::Always;
    }
    // The listener subscribed before the world is read: nothing committed
    // elsewhere in between goes unheard.
    let hearing = listener.map(|listener| Hearing::new(listener, shutdown.clone(), health.clone()));
    let ids_at_most_ms = clock
        .now()
        .unix_millis()
        .saturating_add(settings.node.id_clock_skew_ms);
    let world = store.load_world(ids_at_most_ms).await?;
    let n_drafts = world.drafts.len();
    let node = Node::new(settings.node.clone(), world, clock.now());
    tracing::info!(
        drafts = n_drafts,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "sync node loaded"
    );
    let (commands, receiver) = mpsc::channel(settings.commands_queued_max);
    let (answers, answers_receiver) = mpsc::unbounded_channel();
    let metrics = Arc::new(SyncMetrics::new());
    let settings = Arc::new(settings);
    let actor = Actor {
        node,
        store,
        clock,
        commands: receiver,
        answers,
        answers_receiver,
        outboxes: BTreeMap::new(),
        http_waiters: BTreeMap::new(),
        close_waiters: BTreeMap::new(),
        reload_waiters: Vec::new(),
        next_request: 1,
        commits: FuturesOrdered::new(),
        published: NodeStats::default(),
        published_health: Vec::new(),
        metrics: metrics.clone(),
        health: health.clone(),
        shutdown,
        hearing,
    };
    tokio::spawn(async move {
        // Dropped when the actor ends, by returning or by a panic: /healthz answers 503.
        let _stopped = StoppedGuard(health);
        actor.run().await;
    });
    Ok(SyncHandle {
        commands,
        next_conn_id: Arc::new(AtomicU64::new(1)),
        metrics,
        settings,
    })
}

struct StoppedGuard(Arc<Health>);

impl Drop for StoppedGuard {
    fn drop(&mut self) {
        self.0.sync_stopped();
    }
}

/// A batch being committed, and the session reports its closes produced.
type CommitDone = (
    Arc<Batch>,
    CommitResult,
    Vec<(RequestId, Result<SessionReport, StoreError>)>,
    Duration,
);

struct Actor {
    node: Node,
    store: Arc<dyn SyncStore>,
    clock: Arc<dyn Clock>,
    commands: mpsc::Receiver<Command>,
    answers: mpsc::UnboundedSender<(AskId, Result<StoreAnswer, String>)>,
    answers_receiver: mpsc::UnboundedReceiver<(AskId, Result<StoreAnswer, String>)>,
    outboxes: BTreeMap<ConnId, OutboxSender>,
    http_waiters: BTreeMap<RequestId, oneshot::Sender<ServerMessage>>,
    close_waiters: BTreeMap<RequestId, oneshot::Sender<Result<SessionReport, StoreError>>>,
    /// Back-office changes waiting for the node to reload them.
    reload_waiters: Vec<(Reload, oneshot::Sender<()>)>,
    next_request: u64,
    commits: FuturesOrdered<CommitTask>,
    published: NodeStats,
    published_health: Vec<String>,
    metrics: Arc<SyncMetrics>,
    health: Arc<Health>,
    shutdown: CancellationToken,
    /// What other nodes on the same database commit (PostgreSQL only).
    hearing: Option<Hearing>,
}

/// A commit running in its own task; a panic in it counts as a failed commit.
struct CommitTask {
    batch: Arc<Batch>,
    handle: JoinHandle<CommitDone>,
}

impl std::future::Future for CommitTask {
    type Output = CommitDone;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<CommitDone> {
        let batch = self.batch.clone();
        std::pin::Pin::new(&mut self.handle)
            .poll(context)
            .map(|result| {
                result.unwrap_or_else(|error| {
                    (
                        batch,
                        CommitResult::Failed {
                            reason: format!("the commit task ended abnormally: {error}"),
                        },
                        Vec::new(),
                        Duration::ZERO,
                    )
                })
            })
    }
}

/// How long a back-office request waits for the node to reload what it changed.
pub const SHOP_CHANGE_WAIT: Duration = Duration::from_secs(5);

/// Commands taken from the channel at once before the node's batch is handed out.
const COMMANDS_PER_ROUND_MAX: usize = 4_096;

impl Actor {
    async fn run(mut self) {
        let tick_ms =
            u64::try_from(self.node.settings().heartbeat_ms.clamp(50, 1_000)).unwrap_or(1_000);
        let mut ticker = tokio::time::interval(Duration::from_millis(tick_ms));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shutting_down = false;
        loop {
            tokio::select! {
                biased;
                Some((batch, result, reports, elapsed)) = self.commits.next(), if !self.commits.is_empty() => {
                    self.committed(&batch, result, reports, elapsed);
                }
                // While the node's batch is full and cannot be handed out, store
                // answers and commands wait (in their channels, and the sockets
                // behind them) until a commit ends: the node would otherwise
                // answer the ops they carry `unavailable`.
                Some((ask, answer)) = self.answers_receiver.recv(), if !self.node.is_saturated() => {
                    let now = self.clock.now();
                    self.node.on_store_answer(ask, answer, now);
                }
                command = self.commands.recv(), if !self.node.is_saturated() => {
                    let Some(command) = command else { break };
                    self.handle(command);
                    for _ in 1..COMMANDS_PER_ROUND_MAX {
                        if self.node.is_saturated() {
                            break;
                        }
                        match self.commands.try_recv() {
                            Ok(command) => self.handle(command),
                            Err(_) => break,
                        }
                    }
                }
                event = next_heard(&mut self.hearing) => {
                    if let Some(hearing) = self.hearing.as_mut() {
                        hearing.handle(event, &mut self.node, &self.store);
                    }
                }
                _ = ticker.tick() => {
                    let now = self.clock.now();
                    self.node.on_tick(now);
                    if let Some(hearing) = self.hearing.as_mut() {
                        hearing.tick(&self.store);
                    }
                }
                () = self.shutdown.cancelled(), if !shutting_down => {
                    shutting_down = true;
                    self.node.on_shutdown();
                }
            }
            // Health and metrics first: whoever reads an answer and then asks
            // /healthz sees the state that answer came from.
            self.publish();
            self.carry_out_effects();
            while let Some(batch) = self.node.next_batch() {
                self.start_commit(batch);
            }
            // `next_batch` may answer a batch of duplicates without the store.
            self.publish();
            self.carry_out_effects();
            self.tell_reloads_applied();
        }
        tracing::info!("sync node stopped");
    }

    /// Answers the back-office changes whose reload the node has finished.
    fn tell_reloads_applied(&mut self) {
        if self.reload_waiters.is_empty() {
            return;
        }
        let node = &self.node;
        // A handler that stopped waiting (its bounded wait ran out) leaves a
        // closed sender: dropped here, so a store that stays slow cannot make
        // the list grow with every back-office request.
        let (settled, waiting) = std::mem::take(&mut self.reload_waiters)
            .into_iter()
            .filter(|(_, applied)| !applied.is_closed())
            .partition(|(what, _)| !node.is_reloading(*what));
        self.reload_waiters = waiting;
        for (_, applied) in settled {
            let _ = applied.send(());
        }
    }

    fn handle(&mut self, command: Command) {
        let now = self.clock.now();
        match command {
            Command::Connect { conn, peer, outbox } => {
                self.outboxes.insert(conn, outbox);
                self.node.on_connect(conn, peer, now);
            }
            Command::Message { conn, message } => self.node.on_message(conn, message, now),
            Command::Heard { conn } => self.node.on_heard(conn, now),
            Command::Flushed {
                conn,
                frames,
                bytes,
            } => self.node.on_flushed(conn, frames, bytes),
            Command::Disconnect { conn } => {
                self.outboxes.remove(&conn);
                self.node.on_disconnect(conn);
            }
            Command::HttpOp {
                token,
                source,
                request,
                reply,
            } => {
                let request_id = self.new_request();
                self.http_waiters.insert(request_id, reply);
                self.node
                    .on_http_op(request_id, token, source, request, now);
            }
            Command::CloseSession {
                session_id,
                counted_cash,
                reply,
            } => {
                let request_id = self.new_request();
                self.close_waiters.insert(request_id, reply);
                self.node
                    .on_close_session(request_id, session_id, counted_cash);
            }
            Command::ShopChanged { what, applied } => {
                self.node.on_shop_changed(what);
                self.reload_waiters.push((what, applied));
            }
            Command::TokensRevoked(tokens) => self.node.on_tokens_revoked(&tokens),
        }
    }

    fn new_request(&mut self) -> RequestId {
        let request = RequestId(self.next_request);
        self.next_request += 1;
        request
    }

    fn carry_out_effects(&mut self) {
        while let Some(effect) = self.node.poll_effect() {
            match effect {
                Effect::Send { to, frame } => {
                    let text = Utf8Bytes::from(frame.text().to_owned());
                    for conn in to {
                        if let Some(outbox) = self.outboxes.get(&conn) {
                            // A closed queue means the connection is ending; its Disconnect follows.
                            let _ = outbox.send(Outgoing::Text(text.clone()));
                        }
                    }
                }
                Effect::Close { conn, code } => {
                    if code == CloseCode::TooSlow {
                        tracing::warn!(
                            conn = conn.0,
                            "connection too slow or flooding; closing it (4008)"
                        );
                    }
                    if let Some(outbox) = self.outboxes.get(&conn) {
                        let _ = outbox.send(Outgoing::Close(code));
                    }
                }
                Effect::Reply { request, answer } => {
                    if let Some(waiter) = self.http_waiters.remove(&request) {
                        // The HTTP caller may have given up; the op is decided either way.
                        let _ = waiter.send(answer);
                    }
                }
                Effect::Ask { ask, request } => self.ask_store(ask, request),
            }
        }
    }

    /// Runs a store question in its own task; the answer comes back through `answers`.
    fn ask_store(&self, ask: AskId, request: StoreRequest) {
        let store = self.store.clone();
        let answers = self.answers.clone();
        let now = self.clock.now();
        tokio::spawn(async move {
            // A panic in the store must still answer: the node would wait forever.
            let answer = AssertUnwindSafe(answer_store_request(store.as_ref(), request, now))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Unavailable(
                        "the store failed unexpectedly".to_owned(),
                    ))
                })
                .map_err(|error| {
                    tracing::warn!(%error, "a store read for the sync node failed");
                    error.to_string()
                });
            let _ = answers.send((ask, answer));
        });
    }

    fn start_commit(&mut self, batch: Batch) {
        let batch = Arc::new(batch);
        let store = self.store.clone();
        let clock = self.clock.clone();
        let task_batch = batch.clone();
        self.metrics
            .commit_batch_ops
            .observe(batch.entries.len() as f64);
        let handle = tokio::spawn(async move {
            let started = Instant::now();
            let entries = if task_batch.entries.is_empty() {
                Ok(())
            } else {
                store.commit_batch(&task_batch.entries).await
            };
            let mut reports = Vec::new();
            let result = match entries {
                Ok(()) => {
                    let mut sessions_closed = Vec::new();
                    for close in &task_batch.session_closes {
                        let report = store
                            .close_session(close.session_id, close.counted_cash, clock.now())
                            .await;
                        sessions_closed.push((close.session_id, report.is_ok()));
                        reports.push((close.request, report));
                    }
                    CommitResult::Committed { sessions_closed }
                }
                Err(error) => {
                    let result = commit_failure(error, task_batch.entries.len());
                    for close in &task_batch.session_closes {
                        reports.push((
                            close.request,
                            Err(StoreError::Unavailable(
                                "the session could not be closed now; try again".to_owned(),
                            )),
                        ));
                    }
                    result
                }
            };
            (task_batch, result, reports, started.elapsed())
        });
        self.commits.push_back(CommitTask { batch, handle });
    }

    fn committed(
        &mut self,
        batch: &Batch,
        result: CommitResult,
        reports: Vec<(RequestId, Result<SessionReport, StoreError>)>,
        elapsed: Duration,
    ) {
        self.metrics.commit_seconds.observe(elapsed.as_secs_f64());
        let mut reports: BTreeMap<RequestId, Result<SessionReport, StoreError>> =
            reports.into_iter().collect();
        for close in &batch.session_closes {
            if let Some(waiter) = self.close_waiters.remove(&close.request) {
                let report = reports.remove(&close.request).unwrap_or_else(|| {
                    Err(StoreError::Unavailable(
                        "the session could not be closed now; try again".to_owned(),
                    ))
                });
                let _ = waiter.send(report);
            }
        }
        let now = self.clock.now();
        self.node.on_commit(batch, result, now);
    }

    /// Metrics and health follow the node's counters.
    fn publish(&mut self) {
        let stats = self.node.stats().clone();
        self.metrics.publish(&self.published, &stats);
        self.metrics
            .connections
            .set(i64::try_from(self.node.connection_count()).unwrap_or(i64::MAX));
        self.metrics
            .open_drafts
            .set(i64::try_from(self.node.open_drafts()).unwrap_or(i64::MAX));
        self.published = stats;
        let issues = self.node.health();
        let health: Vec<String> = issues.iter().map(ToString::to_string).collect();
        if health != self.published_health {
            self.metrics.publish_health(&issues);
            self.health.report("sync", health.clone());
            self.published_health = health;
        }
    }
}

/// The next news from other nodes; never, on a node that does not listen.
async fn next_heard(hearing: &mut Option<Hearing>) -> HearingEvent {
    match hearing {
        Some(hearing) => hearing.next().await,
        None => std::future::pending().await,
    }
}

/// What a refused group commit means for the node. A version conflict is a
/// race lost to another node on the same database: nothing was written, and
/// the node reads those orders again and stays healthy. Anything else is a
/// commit of unknown outcome (the database went away, the disk is full).
fn commit_failure(error: StoreError, entries: usize) -> CommitResult {
    match error {
        StoreError::Conflict(Conflict::OrderVersion {
            order_id,
            current,
            next,
        }) => {
            tracing::info!(%order_id, current, next, entries, "group commit lost a race on an order to another node; reading it again");
            CommitResult::Conflict {
                order_ids: vec![order_id],
                closed_sessions: Vec::new(),
            }
        }
        StoreError::Conflict(Conflict::SessionClosed(session_id)) => {
            tracing::info!(%session_id, entries, "group commit refused: it holds ops of a session closed on another node");
            CommitResult::Conflict {
                order_ids: Vec::new(),
                closed_sessions: vec![session_id],
            }
        }
        StoreError::Conflict(Conflict::RefundBeyondSold {
            order_id,
            refund_ids,
            message,
        }) => {
            // Another node refunded the same lines meanwhile: only these
            // drafts are refused (unavailable; asked again, the refund route
            // reads the other refund and says `invalid`), the rest commits.
            tracing::info!(%order_id, %message, entries, "group commit refused refund drafts beyond what was sold; committing the rest");
            CommitResult::Conflict {
                order_ids: refund_ids,
                closed_sessions: Vec::new(),
            }
        }
        StoreError::Conflict(Conflict::OpAnswered) => {
            tracing::info!(
                entries,
                "group commit refused: an op of it was answered on another node; reading the batch back"
            );
            CommitResult::Conflict {
                order_ids: Vec::new(),
                closed_sessions: Vec::new(),
            }
        }
        error => {
            tracing::error!(%error, entries, "group commit failed; answering unavailable and recovering");
            CommitResult::Failed {
                reason: error.to_string(),
            }
        }
    }
}

/// Carries out one store question of the node.
async fn answer_store_request(
    store: &dyn SyncStore,
    request: StoreRequest,
    now: Timestamp,
) -> Result<StoreAnswer, StoreError> {
    match request {
        StoreRequest::Read { op_ids, order_ids } => {
            let (outcomes, orders) = store.read(&op_ids, &order_ids).await?;
            Ok(StoreAnswer::Read { outcomes, orders })
        }
        StoreRequest::BindTerminal { terminal, token } => {
            let owner = store.bind_terminal(terminal, &token.0, now).await?;
            Ok(StoreAnswer::TerminalBound {
                terminal,
                owner: TokenKey::new(&owner),
            })
        }
        StoreRequest::LoadLinks => Ok(StoreAnswer::Links(store.load_links().await?)),
        StoreRequest::LoadConfigs => Ok(StoreAnswer::Configs(store.load_configs().await?)),
        StoreRequest::LoadCatalog => Ok(StoreAnswer::Catalog(store.load_catalog().await?)),
    }
}
