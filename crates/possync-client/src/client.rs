//! [`Client`]: one terminal, as a third-party till embeds it.
//!
//! A background task (the driver) owns the socket, the local file and the
//! sans-IO [`TerminalState`]. The [`Client`] handle talks to it over a
//! channel and reads the shared state for views; the [`Events`] stream
//! carries what happened, per order in version order.
//!
//! The driver's loop: connect (with the terminal token), `hello` with the
//! versions it holds, catch up, then stream. Ops are written to the outbox
//! file before they are sent and resent on every new connection until
//! answered. A lost connection is retried with exponential backoff and
//! jitter; a refused token or a closed session stops retrying (the till
//! needs a new token), while ops keep queuing durably.

use crate::backoff::Backoff;
use crate::catalog::Catalog;
use crate::http::HttpApi;
use crate::local_file::{LocalFile, LocalFileError, PendingWrites, SessionInfo};
use crate::wire::{self, Socket, SocketEnd};
use futures_util::{SinkExt, StreamExt};
use possync_core::{
    ApplyContext, By, Op, OpId, Order, OrderId, RejectCode, TerminalId, Timestamp, limits,
};
use possync_protocol::{ClientMessage, OpRequest, PresentTerminal, RemovedReason, ServerMessage};
use possync_terminal::{OpFate, TerminalState};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use uuid::Uuid;

/// How to reach the server and how patient to be. Every bound has a unit in its name.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `http://host:port` of the server.
    pub base_url: String,
    /// The terminal token from opening or joining a session (`POST /sessions`).
    pub terminal_token: String,
    /// The local SQLite file: outbox and caches. One client per file.
    pub local_file: PathBuf,
    /// The first reconnect waits about this long; each failure doubles it.
    pub reconnect_delay_min: Duration,
    /// Reconnects never wait longer than this.
    pub reconnect_delay_max: Duration,
    /// A connection attempt that takes longer than this is abandoned.
    pub connect_timeout: Duration,
    /// A connection that hears nothing (not even the server's heartbeat ping,
    /// every 15 s by default) for this long is dropped and reconnected.
    pub silence_max: Duration,
    /// After a `rate_limited` or `unavailable` reject, ops are resent after this long.
    pub retry_delay: Duration,
    /// Events waiting for the application; when full, the client stops reading
    /// the socket until the application catches up (the server then closes a
    /// client that stays behind, and it catches up on reconnect).
    pub events_queued_max: usize,
    /// Ops in the outbox at most; `submit` beyond it answers [`ClientError::OutboxFull`].
    pub pending_ops_max: usize,
    /// How long answered ops and confirmed copies may wait before being written
    /// to the local file (they are caches; the outbox itself is written at once).
    pub cache_flush_delay: Duration,
}

impl ClientOptions {
    pub fn new(base_url: &str, terminal_token: &str, local_file: impl Into<PathBuf>) -> Self {
        ClientOptions {
            base_url: base_url.to_owned(),
            terminal_token: terminal_token.to_owned(),
            local_file: local_file.into(),
            reconnect_delay_min: Duration::from_millis(200),
            reconnect_delay_max: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(10),
            silence_max: Duration::from_secs(50),
            retry_delay: Duration::from_millis(500),
            events_queued_max: 4_096,
            pending_ops_max: 10_000,
            cache_flush_delay: Duration::from_millis(50),
        }
    }
}

/// What can go wrong for the application.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    LocalFile(#[from] LocalFileError),
    #[error("the outbox already holds {pending} ops (at most {max}); wait for the server")]
    OutboxFull { pending: usize, max: usize },
    #[error("the client has stopped")]
    Stopped,
}

/// The connection, as a till shows it ("live", "offline, retrying in 2 s").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Trying to connect (attempt 1 is the first after a start or a drop).
    Connecting { attempt: u32 },
    /// Connected; `welcome` received; catch-up running.
    Connected(Box<SessionInfo>),
    /// Caught up: every visible order is current, and changes stream live.
    Synced,
    /// The connection is down; the next attempt is in `retry_in`.
    Disconnected { reason: String, retry_in: Duration },
    /// The server refused this token for good (bad or revoked token, session
    /// closed, terminal id taken): no more attempts. Ops stay in the outbox.
    Stopped { reason: String },
}

/// A `change` that moved an order on by one version.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeInfo {
    pub version: u64,
    pub op_id: OpId,
    pub by: By,
    pub at: Timestamp,
}

/// What the application hears about, in the order it happened. For each
/// order, [`Event::OrderAppeared`], [`Event::OrderChanged`] and
/// [`Event::OrderRemoved`] come in version order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Connection(ConnectionState),
    /// An order this terminal did not hold became visible (catch-up, shared, linked).
    OrderAppeared {
        order: Box<Order>,
    },
    /// The confirmed copy of an order moved to a newer version: by one
    /// `change` (`change` says which op), or replaced whole after catch-up or
    /// a resync (`change` is `None`). `order` is the confirmed copy; the
    /// optimistic view with pending ops is [`Client::view`].
    OrderChanged {
        order: Box<Order>,
        change: Option<ChangeInfo>,
    },
    /// The order left this terminal (paid, cancelled, unshared).
    OrderRemoved {
        order_id: OrderId,
        reason: RemovedReason,
        version: u64,
        by: Box<By>,
    },
    /// Which terminals have an order open.
    Presence {
        order_id: OrderId,
        terminals: Vec<PresentTerminal>,
    },
    /// An op is durable on the server.
    OpAcked {
        op_id: OpId,
        order_id: OrderId,
        version: u64,
        duplicate: bool,
    },
    /// An op was refused. With `retrying`, it stays in the outbox and is sent
    /// again (`rate_limited`, `unavailable`); otherwise it is dropped.
    OpRejected {
        op_id: OpId,
        order_id: OrderId,
        code: RejectCode,
        message: String,
        retrying: bool,
    },
    /// Pending ops dropped unsent because their order left this terminal.
    OpDropped {
        op_id: OpId,
        order_id: OrderId,
        reason: RemovedReason,
    },
    /// A connection-level `error` from the server.
    ServerError {
        code: String,
        message: String,
    },
    /// The catalog was read anew after a connect and differs from the one
    /// held (see [`Client::catalog`]); optimistic views use it from now on.
    CatalogChanged,
}

/// The final answer to one submitted op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpOutcome {
    Acked {
        version: u64,
        duplicate: bool,
    },
    Rejected {
        code: RejectCode,
        message: String,
    },
    /// Dropped unsent: its order was paid, cancelled or unshared elsewhere.
    Dropped {
        reason: RemovedReason,
    },
}

/// A submitted op: durable in the outbox, on its way.
#[derive(Debug)]
pub struct Submitted {
    pub op_id: OpId,
    pub order_id: OrderId,
    outcome: oneshot::Receiver<OpOutcome>,
}

impl Submitted {
    /// Waits for the final answer; `None` if the client stopped first (the op
    /// stays in the outbox and is sent after the next start).
    pub async fn outcome(self) -> Option<OpOutcome> {
        self.outcome.await.ok()
    }
}

/// The application's side of the event stream.
#[derive(Debug)]
pub struct Events {
    receiver: mpsc::Receiver<Event>,
}

impl Events {
    /// The next event; `None` once the client has stopped.
    pub async fn next(&mut self) -> Option<Event> {
        self.receiver.recv().await
    }
}

/// A new id for an order created at this terminal (UUID v7: sortable by time).
pub fn new_order_id() -> OrderId {
    OrderId(Uuid::now_v7())
}

/// A new id for a line added at this terminal.
pub fn new_line_id() -> possync_core::LineId {
    possync_core::LineId(Uuid::now_v7())
}

fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_millis(millis)
}

#[derive(Debug)]
struct Shared {
    state: TerminalState,
    session: Option<SessionInfo>,
    catalog: Catalog,
    catalog_unsaved: bool,
    connection: ConnectionState,
}

type SubmitReply = oneshot::Sender<Result<Vec<Submitted>, ClientError>>;

#[derive(Debug)]
enum Command {
    Submit {
        requests: Vec<OpRequest>,
        reply: SubmitReply,
    },
    Presence(Option<OrderId>),
    Shutdown(oneshot::Sender<Result<(), ClientError>>),
}

/// A running terminal. Dropping it stops the driver too, without the graceful close of
/// [`Client::shutdown`].
#[derive(Debug)]
pub struct Client {
    commands: mpsc::Sender<Command>,
    shared: Arc<Mutex<Shared>>,
    terminal_id: TerminalId,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves plain data behind; keep serving it.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Client {
    /// Opens the local file, restores the outbox and cached orders, and starts
    /// connecting in the background. Returns at once, also when the server is
    /// unreachable: ops are accepted offline.
    pub async fn start(options: ClientOptions) -> Result<(Client, Events), ClientError> {
        let (file, restored) = LocalFile::open(
            &options.local_file,
            &options.terminal_token,
            possync_core::TerminalId(Uuid::now_v7()),
        )
        .await?;
        let mut state = TerminalState::new();
        for order in restored.confirmed {
            state.receive(&ServerMessage::Order {
                order: Box::new(order),
            });
        }
        for request in restored.outbox {
            state.push_op(request);
        }
        let shared = Arc::new(Mutex::new(Shared {
            state,
            session: restored.session,
            catalog: restored.catalog,
            catalog_unsaved: false,
            connection: ConnectionState::Connecting { attempt: 1 },
        }));
        let (commands, command_receiver) = mpsc::channel(64);
        let (event_sender, event_receiver) = mpsc::channel(options.events_queued_max.max(1));
        let api = HttpApi::new(&options.base_url, &options.terminal_token).ok();
        let driver = Driver {
            backoff: Backoff::new(options.reconnect_delay_min, options.reconnect_delay_max),
            options,
            terminal_id: restored.terminal_id,
            shared: shared.clone(),
            file: Some(file),
            commands: command_receiver,
            events: event_sender,
            waiters: BTreeMap::new(),
            writes: PendingWrites::default(),
            flush_at: None,
            resend_at: None,
            rng: StdRng::from_entropy(),
            api,
            shutdown_reply: None,
        };
        tokio::spawn(driver.run());
        Ok((
            Client {
                commands,
                shared,
                terminal_id: restored.terminal_id,
            },
            Events {
                receiver: event_receiver,
            },
        ))
    }

    /// This terminal's id (kept in the local file across restarts).
    pub fn terminal_id(&self) -> TerminalId {
        self.terminal_id
    }

    /// Queues one op: it is in the outbox file when this returns, and sent as
    /// soon as there is a connection.
    pub async fn submit(&self, order_id: OrderId, op: Op) -> Result<Submitted, ClientError> {
        let mut submitted = self.submit_all(vec![(order_id, op)]).await?;
        submitted.pop().ok_or(ClientError::Stopped)
    }

    /// Queues several ops in one durable write, in this order.
    pub async fn submit_all(&self, ops: Vec<(OrderId, Op)>) -> Result<Vec<Submitted>, ClientError> {
        let requests = ops
            .into_iter()
            .map(|(order_id, op)| OpRequest {
                approval: None,
                op_id: OpId(Uuid::now_v7()),
                order_id,
                op,
            })
            .collect();
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Submit { requests, reply })
            .await
            .map_err(|_| ClientError::Stopped)?;
        answer.await.map_err(|_| ClientError::Stopped)?
    }

    /// Tells the linked counters which order this terminal has open.
    pub async fn set_presence(&self, order_id: Option<OrderId>) -> Result<(), ClientError> {
        self.commands
            .send(Command::Presence(order_id))
            .await
            .map_err(|_| ClientError::Stopped)
    }

    /// The order as the cashier should see it: the confirmed copy with the
    /// pending ops re-applied on top (an order being created here shows too).
    /// Before the first `welcome` ever, only the confirmed copy is known.
    pub fn view(&self, order_id: OrderId) -> Option<Order> {
        let shared = lock(&self.shared);
        view_of(&shared, self.terminal_id, order_id)
    }

    /// Every order this terminal holds, optimistic, oldest first.
    pub fn views(&self) -> Vec<Order> {
        let shared = lock(&self.shared);
        let mut order_ids: BTreeSet<OrderId> = shared.state.confirmed().keys().copied().collect();
        order_ids.extend(shared.state.outbox().iter().map(|p| p.request.order_id));
        let mut orders: Vec<Order> = order_ids
            .into_iter()
            .filter_map(|order_id| view_of(&shared, self.terminal_id, order_id))
            .collect();
        orders.sort_by_key(|order| (order.created_at, order.id));
        orders
    }

    /// The last copy the server confirmed.
    pub fn confirmed(&self, order_id: OrderId) -> Option<Order> {
        lock(&self.shared).state.confirmed().get(&order_id).cloned()
    }

    /// Every confirmed order, by id.
    pub fn confirmed_orders(&self) -> BTreeMap<OrderId, Order> {
        lock(&self.shared).state.confirmed().clone()
    }

    /// The ops not answered yet, oldest first.
    pub fn pending_ops(&self) -> Vec<OpRequest> {
        lock(&self.shared)
            .state
            .outbox()
            .iter()
            .map(|pending| pending.request.clone())
            .collect()
    }

    pub fn connection(&self) -> ConnectionState {
        lock(&self.shared).connection.clone()
    }

    /// The session and config this terminal works in, from the last `welcome`.
    pub fn session(&self) -> Option<SessionInfo> {
        lock(&self.shared).session.clone()
    }

    /// The catalog as last read from the server.
    pub fn catalog(&self) -> Catalog {
        lock(&self.shared).catalog.clone()
    }

    /// Closes the connection with a normal close frame, writes what is cached
    /// and closes the local file. Unanswered ops stay in the outbox.
    pub async fn shutdown(self) -> Result<(), ClientError> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Shutdown(reply)).await.is_err() {
            return Ok(());
        }
        answer.await.unwrap_or(Ok(()))
    }
}

fn view_of(shared: &Shared, terminal: TerminalId, order_id: OrderId) -> Option<Order> {
    let Some(session) = &shared.session else {
        return shared.state.confirmed().get(&order_id).cloned();
    };
    let by = By {
        session_id: session.session.id,
        config_id: session.config.id,
        config_name: session.config.name.clone(),
        terminal,
    };
    let catalog = shared.catalog.view();
    let context = ApplyContext {
        rights: possync_core::Rights::FULL,
        by: &by,
        now: now(),
        catalog: &catalog,
        lease_ms: limits::PAYMENT_LEASE_MS_DEFAULT,
        auto_share: session.config.auto_share,
        reference: "",
    };
    shared.state.view(order_id, &context)
}

/// How a live connection ended.
enum LiveEnd {
    Shutdown,
    Ended(SocketEnd),
}

struct Driver {
    options: ClientOptions,
    terminal_id: TerminalId,
    shared: Arc<Mutex<Shared>>,
    file: Option<LocalFile>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    waiters: BTreeMap<OpId, oneshot::Sender<OpOutcome>>,
    writes: PendingWrites,
    flush_at: Option<Instant>,
    resend_at: Option<Instant>,
    backoff: Backoff,
    rng: StdRng,
    api: Option<HttpApi>,
    shutdown_reply: Option<oneshot::Sender<Result<(), ClientError>>>,
}

/// Waits until `deadline`, or forever when there is none.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl Driver {
    async fn run(mut self) {
        let mut attempt = 1u32;
        loop {
            self.set_connection(ConnectionState::Connecting { attempt })
                .await;
            let (base_url, token) = (
                self.options.base_url.clone(),
                self.options.terminal_token.clone(),
            );
            let timeout = self.options.connect_timeout;
            let connect = async move { wire::connect(&base_url, &token, timeout).await };
            let Some(connected) = self.serve_commands_until(connect).await else {
                break;
            };
            let reason = match connected {
                Ok(socket) => match self.live(socket).await {
                    LiveEnd::Shutdown => break,
                    LiveEnd::Ended(end) if end.is_final() => {
                        self.stop_for_good(end.to_string()).await;
                        break;
                    }
                    LiveEnd::Ended(end) => end.to_string(),
                },
                Err(error) if error.is_final() => {
                    self.stop_for_good(error.to_string()).await;
                    break;
                }
                Err(error) => error.to_string(),
            };
            let retry_in = self.backoff.next_delay(&mut self.rng);
            {
                let mut shared = lock(&self.shared);
                shared.state.disconnected();
            }
            self.set_connection(ConnectionState::Disconnected { reason, retry_in })
                .await;
            if self
                .serve_commands_until(tokio::time::sleep(retry_in))
                .await
                .is_none()
            {
                break;
            }
            attempt = attempt.saturating_add(1);
        }
        let result = self.close_file().await;
        if let Some(reply) = self.shutdown_reply.take() {
            let _ = reply.send(result);
        }
    }

    async fn stop_for_good(&mut self, reason: String) {
        lock(&self.shared).state.disconnected();
        self.set_connection(ConnectionState::Stopped { reason })
            .await;
        // Keep accepting ops into the outbox until the application shuts down.
        let _ = self
            .serve_commands_until(std::future::pending::<()>())
            .await;
    }

    async fn close_file(&mut self) -> Result<(), ClientError> {
        self.flush().await;
        if let Some(file) = self.file.take() {
            file.close().await?;
        }
        Ok(())
    }

    async fn set_connection(&mut self, connection: ConnectionState) {
        lock(&self.shared).connection = connection.clone();
        self.emit(Event::Connection(connection)).await;
    }

    async fn emit(&mut self, event: Event) {
        // An application that dropped its `Events` does not want them.
        let _ = self.events.send(event).await;
    }

    /// Runs `future` to its end while serving commands (ops go to the outbox);
    /// `None` when the application shut the client down meanwhile.
    async fn serve_commands_until<F: std::future::Future>(
        &mut self,
        future: F,
    ) -> Option<F::Output> {
        tokio::pin!(future);
        loop {
            tokio::select! {
                output = &mut future => return Some(output),
                command = self.commands.recv() => {
                    let command = command?;
                    if !self.handle_command(command, None).await {
                        return None;
                    }
                }
                () = sleep_until_some(self.flush_at) => self.flush().await,
            }
        }
    }

    /// Handles one command; `false` when it asks to shut down.
    async fn handle_command(&mut self, command: Command, socket: Option<&mut Socket>) -> bool {
        match command {
            Command::Submit { requests, reply } => {
                let answer = self.queue_ops(requests).await;
                let _ = reply.send(answer);
                if let Some(socket) = socket {
                    // A send error shows up on the next read, which ends the connection.
                    let _ = self.send_unsent(socket).await;
                }
                true
            }
            Command::Presence(order_id) => {
                if let Some(socket) = socket {
                    let _ = wire::send(socket, &ClientMessage::Presence { order_id }).await;
                }
                true
            }
            Command::Shutdown(reply) => {
                self.shutdown_reply = Some(reply);
                false
            }
        }
    }

    async fn queue_ops(&mut self, requests: Vec<OpRequest>) -> Result<Vec<Submitted>, ClientError> {
        let pending = lock(&self.shared).state.outbox().len();
        if pending + requests.len() > self.options.pending_ops_max {
            return Err(ClientError::OutboxFull {
                pending,
                max: self.options.pending_ops_max,
            });
        }
        let file = self.file.as_mut().ok_or(ClientError::Stopped)?;
        file.append_ops(&requests).await?;
        let mut submitted = Vec::with_capacity(requests.len());
        let mut shared = lock(&self.shared);
        for request in requests {
            let (sender, outcome) = oneshot::channel();
            self.waiters.insert(request.op_id, sender);
            submitted.push(Submitted {
                op_id: request.op_id,
                order_id: request.order_id,
                outcome,
            });
            shared.state.push_op(request);
        }
        Ok(submitted)
    }

    async fn send_unsent(&mut self, socket: &mut Socket) -> Result<(), SocketEnd> {
        let unsent = lock(&self.shared).state.unsent();
        if unsent.is_empty() {
            return Ok(());
        }
        for request in unsent {
            socket
                .feed(Message::text(wire::encode(&ClientMessage::Op(request))))
                .await
                .map_err(|error| SocketEnd::Lost(error.to_string()))?;
        }
        socket
            .flush()
            .await
            .map_err(|error| SocketEnd::Lost(error.to_string()))
    }

    async fn live(&mut self, mut socket: Socket) -> LiveEnd {
        let hello = lock(&self.shared).state.hello(self.terminal_id);
        if let Err(error) = wire::send(&mut socket, &hello).await {
            return LiveEnd::Ended(SocketEnd::Lost(error.to_string()));
        }
        if let Err(end) = self.send_unsent(&mut socket).await {
            return LiveEnd::Ended(end);
        }
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                frame = socket.next() => {
                    last_heard = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            if let Err(end) = self.on_server_text(text.as_str(), &mut socket).await {
                                return LiveEnd::Ended(end);
                            }
                        }
                        Some(Ok(Message::Close(frame))) => {
                            let (code, reason) = frame
                                .map(|frame| (u16::from(frame.code), frame.reason.to_string()))
                                .unwrap_or((1005, String::new()));
                            return LiveEnd::Ended(SocketEnd::Closed { code, reason });
                        }
                        Some(Ok(_)) => {}
                        Some(Err(error)) => return LiveEnd::Ended(SocketEnd::Lost(error.to_string())),
                        None => return LiveEnd::Ended(SocketEnd::Lost("the stream ended".to_owned())),
                    }
                }
                command = self.commands.recv() => {
                    let keep_going = match command {
                        Some(command) => self.handle_command(command, Some(&mut socket)).await,
                        None => false,
                    };
                    if !keep_going {
                        let _ = socket
                            .close(Some(CloseFrame {
                                code: CloseCode::Normal,
                                reason: "terminal shutting down".into(),
                            }))
                            .await;
                        return LiveEnd::Shutdown;
                    }
                }
                () = tokio::time::sleep_until(last_heard + self.options.silence_max) => {
                    return LiveEnd::Ended(SocketEnd::Lost(format!(
                        "nothing heard from the server for {} s",
                        self.options.silence_max.as_secs()
                    )));
                }
                () = sleep_until_some(self.flush_at) => self.flush().await,
                () = sleep_until_some(self.resend_at) => {
                    self.resend_at = None;
                    if let Err(end) = self.send_unsent(&mut socket).await {
                        return LiveEnd::Ended(end);
                    }
                }
            }
        }
    }

    fn schedule_flush(&mut self) {
        if self.flush_at.is_none() && !self.writes.is_empty() {
            self.flush_at = Some(Instant::now() + self.options.cache_flush_delay);
        }
    }

    async fn flush(&mut self) {
        self.flush_at = None;
        {
            let mut shared = lock(&self.shared);
            if shared.catalog_unsaved {
                shared.catalog_unsaved = false;
                self.writes.catalog = serde_json::to_string(&shared.catalog).ok();
            }
        }
        let writes = std::mem::take(&mut self.writes);
        if let Some(file) = self.file.as_mut()
            && let Err(error) = file.flush(&writes).await
        {
            // Only caches and deletes of answered ops wait here: losing them
            // costs a resend (answered as a duplicate) or a larger catch-up.
            tracing::warn!(%error, "could not update the local file");
        }
    }

    fn resolve(&mut self, op_id: OpId, outcome: OpOutcome) {
        if let Some(waiter) = self.waiters.remove(&op_id) {
            let _ = waiter.send(outcome);
        }
        self.writes.answered_ops.push(op_id);
    }

    /// Reads the catalog in the background after each `welcome`.
    fn refresh_catalog(&self) {
        let Some(api) = self.api.clone() else { return };
        let shared = self.shared.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            match Catalog::fetch(&api).await {
                Ok(catalog) => {
                    let changed = {
                        let mut shared = lock(&shared);
                        let changed = shared.catalog != catalog;
                        if changed {
                            shared.catalog = catalog;
                            shared.catalog_unsaved = true;
                        }
                        changed
                    };
                    if changed {
                        let _ = events.send(Event::CatalogChanged).await;
                    }
                }
                Err(error) => tracing::debug!(%error, "could not read the catalog"),
            }
        });
    }

    async fn on_server_text(&mut self, text: &str, socket: &mut Socket) -> Result<(), SocketEnd> {
        let message = match wire::decode(text) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "a server frame this SDK cannot read was skipped");
                return Ok(());
            }
        };
        let mut events = Vec::new();
        let resync = {
            let mut shared = lock(&self.shared);
            match &message {
                ServerMessage::Welcome {
                    session,
                    config,
                    linked_configs,
                    ..
                } => {
                    let info = SessionInfo {
                        session: session.clone(),
                        config: config.clone(),
                        linked_configs: linked_configs.clone(),
                    };
                    self.writes.session = serde_json::to_string(&info).ok();
                    shared.session = Some(info.clone());
                    let connection = ConnectionState::Connected(Box::new(info));
                    shared.connection = connection.clone();
                    events.push(Event::Connection(connection));
                }
                ServerMessage::Order { order } => {
                    let before = shared.state.confirmed().get(&order.id).map(|o| o.version);
                    shared.state.receive(&message);
                    if let Some(after) = shared.state.confirmed().get(&order.id)
                        && Some(after.version) != before
                    {
                        self.writes.orders.insert(order.id, Some(after.clone()));
                        events.push(match before {
                            None => Event::OrderAppeared {
                                order: Box::new(after.clone()),
                            },
                            Some(_) => Event::OrderChanged {
                                order: Box::new(after.clone()),
                                change: None,
                            },
                        });
                    }
                }
                ServerMessage::Change {
                    order_id,
                    version,
                    op_id,
                    by,
                    at,
                    ..
                } => {
                    let before = shared.state.confirmed().get(order_id).map(|o| o.version);
                    shared.state.receive(&message);
                    if let Some(after) = shared.state.confirmed().get(order_id)
                        && after.version == *version
                        && before != Some(*version)
                    {
                        self.writes.orders.insert(*order_id, Some(after.clone()));
                        events.push(Event::OrderChanged {
                            order: Box::new(after.clone()),
                            change: Some(ChangeInfo {
                                version: *version,
                                op_id: *op_id,
                                by: by.clone(),
                                at: *at,
                            }),
                        });
                    }
                }
                ServerMessage::Removed {
                    order_id,
                    reason,
                    version,
                    by,
                } => {
                    let dropped: Vec<OpId> = shared
                        .state
                        .outbox()
                        .iter()
                        .filter(|pending| pending.request.order_id == *order_id)
                        .map(|pending| pending.request.op_id)
                        .collect();
                    shared.state.receive(&message);
                    drop(shared);
                    for op_id in dropped {
                        self.resolve(op_id, OpOutcome::Dropped { reason: *reason });
                        events.push(Event::OpDropped {
                            op_id,
                            order_id: *order_id,
                            reason: *reason,
                        });
                    }
                    self.writes.orders.insert(*order_id, None);
                    events.push(Event::OrderRemoved {
                        order_id: *order_id,
                        reason: *reason,
                        version: *version,
                        by: Box::new(by.clone()),
                    });
                    shared = lock(&self.shared);
                }
                ServerMessage::Synced => {
                    shared.state.receive(&message);
                    shared.connection = ConnectionState::Synced;
                    events.push(Event::Connection(ConnectionState::Synced));
                    self.backoff.reset();
                }
                ServerMessage::Ack { .. } | ServerMessage::Reject { .. } => {
                    let reject_order = match &message {
                        ServerMessage::Reject {
                            order: Some(order), ..
                        } => Some(order.id),
                        _ => None,
                    };
                    let fate = shared.state.receive(&message);
                    if let Some(order_id) = reject_order
                        && let Some(order) = shared.state.confirmed().get(&order_id)
                    {
                        self.writes.orders.insert(order_id, Some(order.clone()));
                    }
                    drop(shared);
                    match fate {
                        Some(OpFate::Acked {
                            op_id,
                            order_id,
                            version,
                            duplicate,
                        }) => {
                            self.resolve(op_id, OpOutcome::Acked { version, duplicate });
                            events.push(Event::OpAcked {
                                op_id,
                                order_id,
                                version,
                                duplicate,
                            });
                        }
                        Some(OpFate::Rejected {
                            op_id,
                            order_id,
                            code,
                            message,
                        }) => {
                            let retrying = code.is_retryable();
                            if retrying {
                                self.resend_at
                                    .get_or_insert(Instant::now() + self.options.retry_delay);
                            } else {
                                self.resolve(
                                    op_id,
                                    OpOutcome::Rejected {
                                        code,
                                        message: message.clone(),
                                    },
                                );
                            }
                            events.push(Event::OpRejected {
                                op_id,
                                order_id,
                                code,
                                message,
                                retrying,
                            });
                        }
                        None => {}
                    }
                    shared = lock(&self.shared);
                }
                ServerMessage::Presence {
                    order_id,
                    terminals,
                } => {
                    events.push(Event::Presence {
                        order_id: *order_id,
                        terminals: terminals.clone(),
                    });
                }
                ServerMessage::Error { code, message } => {
                    events.push(Event::ServerError {
                        code: code.clone(),
                        message: message.clone(),
                    });
                }
                ServerMessage::Pong { .. } => {}
            }
            shared.state.take_resync()
        };
        if matches!(message, ServerMessage::Welcome { .. }) {
            self.refresh_catalog();
        }
        self.schedule_flush();
        if let Some(resync) = resync {
            wire::send(socket, &resync)
                .await
                .map_err(|error| SocketEnd::Lost(error.to_string()))?;
        }
        for event in events {
            self.emit(event).await;
        }
        Ok(())
    }
}
