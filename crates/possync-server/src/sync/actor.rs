//! The engine actor: the single writer of order state.
//!
//! It owns the [`Engine`] and the connection outboxes. Commands arrive on one
//! bounded channel. Ops are decided as they come and collected into a batch;
//! the batch is committed when the channel is momentarily empty, when it is
//! full, or before any other command (so connects, resyncs and link changes
//! always see committed state). While a commit is in flight, new commands
//! wait in the channel and become the next batch: that is the group commit.

use super::metrics::SyncMetrics;
use crate::clock::Clock;
use axum::extract::ws::Utf8Bytes;
use possync_core::*;
use possync_engine::{
    ConfigInfo, ConnId, ConnectionInfo, Decision, Delivery, Engine, EngineCatalog, EngineSettings,
    OpSource, World, unavailable_answer,
};
use possync_protocol::{OpRequest, ServerMessage};
use possync_store::{Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// Tunables of the sync path, with their units in their names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    pub lease_ms: i64,
    pub ops_per_batch_max: usize,
    pub commands_queued_max: usize,
    /// Frames waiting for one connection before it is closed as too slow (4008).
    pub frames_per_connection_max: usize,
    pub heartbeat_ms: u64,
    /// Ops a connection may send in a burst, and per second after it.
    pub ops_burst_max: u32,
    pub ops_per_s_max: u32,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            lease_ms: limits::PAYMENT_LEASE_MS_DEFAULT,
            ops_per_batch_max: 512,
            commands_queued_max: 16_384,
            frames_per_connection_max: 8_192,
            heartbeat_ms: 15_000,
            ops_burst_max: 200,
            ops_per_s_max: 100,
        }
    }
}

/// A frame for one connection's writer task. The text is reference-counted:
/// a change for fifty connections is encoded once.
#[derive(Debug, Clone)]
pub enum Frame {
    Text(Utf8Bytes),
    /// Close the connection with this code and reason.
    Close(u16, &'static str),
}

/// The sending side of a connection's queue, held by the actor.
#[derive(Debug, Clone)]
pub struct ConnectionOutbox {
    pub frames: mpsc::Sender<Frame>,
    /// A separate, always-free lane to close the connection when `frames` is full.
    pub close: mpsc::Sender<(u16, &'static str)>,
}

/// Where the answer to an op goes.
#[derive(Debug)]
pub enum Reply {
    /// Into a WebSocket connection's queue, before the op's `change`.
    Connection(ConnId),
    /// To an HTTP request waiting for it.
    Once(oneshot::Sender<ServerMessage>),
}

/// What the configuration change was, so the actor reloads just that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    Links,
    Configs,
    Catalog,
}

#[derive(Debug)]
pub enum Command {
    Op {
        source: OpSource,
        request: OpRequest,
        stored_outcome: Option<OpOutcome>,
        reply: Reply,
        received_at: Instant,
    },
    Connect {
        conn_id: ConnId,
        info: ConnectionInfo,
        known: BTreeMap<OrderId, u64>,
        outbox: ConnectionOutbox,
    },
    Disconnect {
        conn_id: ConnId,
    },
    Resync {
        conn_id: ConnId,
        order_ids: Vec<OrderId>,
    },
    Presence {
        conn_id: ConnId,
        order_id: Option<OrderId>,
    },
    Reload(Reload),
    SessionClosed {
        session_id: SessionId,
    },
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

    /// Hands a command to the actor without waiting: a full queue is an overload.
    pub fn try_send(&self, command: Command) -> Result<(), SyncUnavailable> {
        self.commands
            .try_send(command)
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => SyncUnavailable::Overloaded,
                mpsc::error::TrySendError::Closed(_) => SyncUnavailable::Stopped,
            })
    }

    /// Tells the actor that configuration changed in the store (links, configs, catalog).
    pub async fn reload(&self, what: Reload) {
        if self.send(Command::Reload(what)).await.is_err() {
            tracing::warn!(
                ?what,
                "sync engine stopped; configuration change not applied live"
            );
        }
    }

    pub async fn session_closed(&self, session_id: SessionId) {
        if self
            .send(Command::SessionClosed { session_id })
            .await
            .is_err()
        {
            tracing::warn!(%session_id, "sync engine stopped; session close not applied live");
        }
    }
}

/// Loads what the engine starts from.
async fn load_world(store: &dyn Store) -> Result<World, StoreError> {
    let mut orders = store.list_orders(OrderState::Draft).await?;
    orders.extend(store.list_orders(OrderState::Paid).await?);
    orders.extend(store.list_orders(OrderState::Cancelled).await?);
    Ok(World {
        configs: load_configs(store).await?,
        links: store.load_links().await?,
        catalog: load_catalog(store).await?,
        orders,
    })
}

async fn load_configs(store: &dyn Store) -> Result<Vec<ConfigInfo>, StoreError> {
    Ok(store
        .list_configs()
        .await?
        .into_iter()
        .map(|config| ConfigInfo {
            id: config.id,
            name: config.name,
            auto_share: config.auto_share,
        })
        .collect())
}

async fn load_catalog(store: &dyn Store) -> Result<EngineCatalog, StoreError> {
    Ok(EngineCatalog::build(
        &store.list_products().await?,
        &store.list_taxes().await?,
        &store.list_customers().await?,
        &store.list_payment_methods().await?,
    ))
}

/// Loads the engine from the store and starts the actor.
pub async fn start_sync(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: SyncSettings,
) -> Result<SyncHandle, StoreError> {
    let world = load_world(store.as_ref()).await?;
    let n_drafts = world.orders.iter().filter(|order| order.is_draft()).count();
    let engine = Engine::new(
        EngineSettings {
            lease_ms: settings.lease_ms,
            ..EngineSettings::default()
        },
        world,
    );
    tracing::info!(drafts = n_drafts, "sync engine loaded");
    let (commands, receiver) = mpsc::channel(settings.commands_queued_max);
    let metrics = Arc::new(SyncMetrics::new());
    let settings = Arc::new(settings);
    let actor = Actor {
        engine,
        store,
        clock,
        commands: receiver,
        outboxes: BTreeMap::new(),
        batch: Vec::new(),
        metrics: metrics.clone(),
        settings: settings.clone(),
    };
    tokio::spawn(actor.run());
    Ok(SyncHandle {
        commands,
        next_conn_id: Arc::new(AtomicU64::new(1)),
        metrics,
        settings,
    })
}

struct PendingAnswer {
    request: OpRequest,
    reply: Reply,
    decision: Decision,
    received_at: Instant,
}

struct Actor {
    engine: Engine,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    commands: mpsc::Receiver<Command>,
    outboxes: BTreeMap<ConnId, ConnectionOutbox>,
    batch: Vec<PendingAnswer>,
    metrics: Arc<SyncMetrics>,
    settings: Arc<SyncSettings>,
}

impl Actor {
    async fn run(mut self) {
        while let Some(first) = self.commands.recv().await {
            let mut next = Some(first);
            while let Some(command) = next {
                match command {
                    Command::Op {
                        source,
                        request,
                        stored_outcome,
                        reply,
                        received_at,
                    } => {
                        let decision =
                            self.engine
                                .decide(&source, &request, stored_outcome, self.clock.now());
                        self.batch.push(PendingAnswer {
                            request,
                            reply,
                            decision,
                            received_at,
                        });
                        if self.batch.len() >= self.settings.ops_per_batch_max {
                            self.flush().await;
                        }
                    }
                    other => {
                        self.flush().await;
                        self.handle(other).await;
                    }
                }
                next = self.commands.try_recv().ok();
            }
            self.flush().await;
        }
        tracing::info!("sync engine stopped");
    }

    /// Commits the batch, then sends its answers and deliveries in decision order.
    async fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        self.metrics.commit_batch_ops.observe(batch.len() as f64);
        let entries = self.engine.batch_entries();
        let committed = if entries.is_empty() {
            Ok(())
        } else {
            let started = Instant::now();
            let result = self.store.commit_batch(entries).await;
            self.metrics
                .commit_seconds
                .observe(started.elapsed().as_secs_f64());
            result
        };
        match committed {
            Ok(()) => {
                self.engine.commit_succeeded();
                for pending in batch {
                    self.count_answer(&pending.decision.answer);
                    self.answer(pending.reply, pending.decision.answer, pending.received_at);
                    self.deliver(pending.decision.deliveries);
                }
            }
            Err(error) => {
                tracing::error!(%error, ops = batch.len(), "group commit failed; answering unavailable");
                self.metrics.failed_commits.inc();
                self.engine.commit_failed();
                for pending in batch {
                    let answer = unavailable_answer(&pending.request);
                    self.count_answer(&answer);
                    self.answer(pending.reply, answer, pending.received_at);
                }
            }
        }
    }

    fn count_answer(&self, answer: &ServerMessage) {
        match answer {
            ServerMessage::Ack {
                duplicate: false, ..
            } => self.metrics.ops_accepted.inc(),
            ServerMessage::Reject { code, .. } => self
                .metrics
                .ops_rejected
                .with_label_values(&[code.as_str()])
                .inc(),
            _ => {}
        }
    }

    fn answer(&mut self, reply: Reply, answer: ServerMessage, received_at: Instant) {
        match reply {
            Reply::Connection(conn_id) => {
                self.send_message(conn_id, &answer);
            }
            Reply::Once(sender) => {
                // The HTTP caller may have given up; the op is committed either way.
                let _ = sender.send(answer);
            }
        }
        self.metrics
            .ack_seconds
            .observe(received_at.elapsed().as_secs_f64());
    }

    /// Sends each delivery, encoded once, to each of its connections.
    fn deliver(&mut self, deliveries: Vec<Delivery>) {
        for delivery in deliveries {
            let frame = Utf8Bytes::from(delivery.message.encode());
            for conn_id in delivery.to {
                self.send_frame(conn_id, frame.clone());
            }
        }
    }

    fn send_message(&mut self, conn_id: ConnId, message: &ServerMessage) {
        self.send_frame(conn_id, Utf8Bytes::from(message.encode()));
    }

    /// Queues a frame; a connection whose queue is full is closed (4008), never waited for.
    fn send_frame(&mut self, conn_id: ConnId, frame: Utf8Bytes) {
        let Some(outbox) = self.outboxes.get(&conn_id) else {
            return;
        };
        let depth = self.settings.frames_per_connection_max - outbox.frames.capacity();
        self.metrics.fanout_queue_depth.observe(depth as f64);
        match outbox.frames.try_send(Frame::Text(frame)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(conn = conn_id.0, "connection too slow; closing it (4008)");
                self.metrics.slow_connections_closed.inc();
                let _ = outbox
                    .close
                    .try_send((4008, "too slow: reconnect and catch up"));
                self.drop_connection(conn_id);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.drop_connection(conn_id),
        }
    }

    fn drop_connection(&mut self, conn_id: ConnId) {
        if self.outboxes.remove(&conn_id).is_some() {
            let deliveries = self.engine.disconnect(conn_id);
            self.deliver(deliveries);
        }
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Op { .. } => unreachable!("ops are batched in run()"),
            Command::Connect {
                conn_id,
                info,
                known,
                outbox,
            } => {
                self.outboxes.insert(conn_id, outbox);
                for message in self.engine.connect(conn_id, info, &known) {
                    self.send_message(conn_id, &message);
                }
            }
            Command::Disconnect { conn_id } => self.drop_connection(conn_id),
            Command::Resync { conn_id, order_ids } => {
                for message in self.engine.resync(conn_id, &order_ids) {
                    self.send_message(conn_id, &message);
                }
            }
            Command::Presence { conn_id, order_id } => {
                let deliveries = self.engine.set_presence(conn_id, order_id);
                self.deliver(deliveries);
            }
            Command::Reload(what) => self.reload(what).await,
            Command::SessionClosed { session_id } => {
                for conn_id in self.engine.session_closed(session_id) {
                    let error = ServerMessage::Error {
                        code: "session_closed".to_owned(),
                        message: "this session was closed".to_owned(),
                    };
                    self.send_message(conn_id, &error);
                    if let Some(outbox) = self.outboxes.get(&conn_id) {
                        let _ = outbox.frames.try_send(Frame::Close(4001, "session closed"));
                    }
                    self.drop_connection(conn_id);
                }
            }
        }
    }

    async fn reload(&mut self, what: Reload) {
        let store = self.store.as_ref();
        let result = match what {
            Reload::Links => store.load_links().await.map(|links| {
                let deliveries = self.engine.set_links(links);
                self.deliver(deliveries);
            }),
            Reload::Configs => load_configs(store)
                .await
                .map(|configs| self.engine.set_configs(configs)),
            Reload::Catalog => load_catalog(store)
                .await
                .map(|catalog| self.engine.set_catalog(catalog)),
        };
        if let Err(error) = result {
            tracing::error!(%error, ?what, "could not reload configuration into the sync engine");
        }
    }
}
