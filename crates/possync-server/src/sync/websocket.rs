//! `GET /api/v1/sync`: the WebSocket of one terminal.
//!
//! Each connection has two tasks. The reader decodes and bounds every frame,
//! rate-limits ops, answers what needs no engine (`pong`, decode errors),
//! and hands the rest to the actor. The writer drains the connection's
//! bounded queue into the socket and sends heartbeats; the actor closes a
//! connection whose queue is full (4008) rather than wait for it.

use super::actor::{Command, ConnectionOutbox, Frame, Reply, SyncHandle};
use crate::auth::TerminalCaller;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use possync_core::ConfigId;
use possync_engine::{ConnId, ConnectionInfo, OpSource, RateLimiter};
use possync_protocol::{ClientMessage, LinkedConfig, ServerMessage, decode_client_message};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Frames larger than this are cut off by the socket layer itself; between
/// 64 KiB and this, the protocol answers `too_large` and keeps the connection.
const SOCKET_MESSAGE_BYTES_MAX: usize = 1024 * 1024;
/// A terminal that says nothing, not even a pong, for this many heartbeats is gone.
const HEARTBEATS_MISSED_MAX: u32 = 3;
/// How long a closing connection waits for the terminal's answering close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The live sync WebSocket (see the wire contract).
#[utoipa::path(
    get,
    path = "/api/v1/sync",
    tag = "sync",
    params(("token" = Option<String>, Query, description = "Terminal token, when no Authorization header can be sent")),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol of shared/PROTOCOL.md"),
        (status = 400, description = "Not a WebSocket request", body = crate::schemas::ErrorBody),
        (status = 401, description = "No or bad token, or the session is closed", body = crate::schemas::ErrorBody),
        (status = 403, description = "Not a terminal token", body = crate::schemas::ErrorBody),
    )
)]
pub async fn sync_socket(
    State(state): State<AppState>,
    terminal: TerminalCaller,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return ApiError::invalid(rejection.body_text()).into_response(),
    };
    upgrade
        .max_message_size(SOCKET_MESSAGE_BYTES_MAX)
        .on_upgrade(move |socket| connection(socket, state, terminal))
}

/// Pushes a frame the connection itself answers with; a full queue closes it.
fn push(outbox: &ConnectionOutbox, message: &ServerMessage) -> bool {
    match outbox
        .frames
        .try_send(Frame::Text(Utf8Bytes::from(message.encode())))
    {
        Ok(()) => true,
        Err(_) => {
            let _ = outbox
                .close
                .try_send((4008, "too slow: reconnect and catch up"));
            false
        }
    }
}

async fn connection(socket: WebSocket, state: AppState, terminal: TerminalCaller) {
    let sync = state.sync.clone();
    let conn_id = sync.next_conn_id();
    let (frames, frames_receiver) = mpsc::channel(sync.settings.frames_per_connection_max);
    let (close, close_receiver) = mpsc::channel(1);
    let outbox = ConnectionOutbox { frames, close };
    let (sink, mut stream) = socket.split();
    let heartbeat = Duration::from_millis(sync.settings.heartbeat_ms);
    let writer_done = CancellationToken::new();
    sync.metrics.connections.inc();
    let writer = tokio::spawn(write_frames(
        sink,
        frames_receiver,
        close_receiver,
        heartbeat,
        writer_done.clone(),
    ));
    let registered = read_frames(
        &mut stream,
        &state,
        &sync,
        conn_id,
        &terminal,
        &outbox,
        heartbeat,
        &writer_done,
    )
    .await;
    if registered {
        // The actor drops its copy of the outbox; the writer ends once it has sent what is queued.
        let _ = sync.send(Command::Disconnect { conn_id }).await;
    }
    let _ = outbox.close.try_send((1000, "bye"));
    drop(outbox);
    let _ = writer.await;
    sync.metrics.connections.dec();
    // The closing handshake: give the terminal a moment to answer our close
    // frame, so it reads the close code instead of a reset connection.
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

async fn write_frames(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut frames: mpsc::Receiver<Frame>,
    mut close: mpsc::Receiver<(u16, &'static str)>,
    heartbeat: Duration,
    done: CancellationToken,
) {
    let mut ticker = tokio::time::interval(heartbeat);
    ticker.tick().await;
    let close_frame = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }))
    };
    loop {
        tokio::select! {
            biased;
            Some((code, reason)) = close.recv() => {
                let _ = sink.send(close_frame(code, reason)).await;
                break;
            }
            frame = frames.recv() => match frame {
                Some(Frame::Text(text)) => {
                    if sink.send(Message::Text(text)).await.is_err() {
                        break;
                    }
                }
                Some(Frame::Close(code, reason)) => {
                    let _ = sink.send(close_frame(code, reason)).await;
                    break;
                }
                None => break,
            },
            _ = ticker.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = sink.flush().await;
    done.cancel();
}

/// Reads until the socket closes, the terminal goes silent, or the server
/// shuts down. Answers whether the connection was registered with the actor.
#[allow(clippy::too_many_arguments)]
async fn read_frames(
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
    state: &AppState,
    sync: &SyncHandle,
    conn_id: ConnId,
    terminal: &TerminalCaller,
    outbox: &ConnectionOutbox,
    heartbeat: Duration,
    writer_done: &CancellationToken,
) -> bool {
    let mut registered = false;
    let mut source: Option<OpSource> = None;
    let mut limiter = RateLimiter::new(sync.settings.ops_burst_max, sync.settings.ops_per_s_max);
    let silence_max = heartbeat * HEARTBEATS_MISSED_MAX;
    let mut last_heard = Instant::now();
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            () = tokio::time::sleep_until((last_heard + silence_max).into()) => {
                let _ = outbox.close.try_send((4000, "no heartbeat"));
                break;
            }
            () = state.shutdown.cancelled() => {
                let _ = outbox.close.try_send((1001, "server shutting down"));
                break;
            }
            // The writer closed the connection (too slow, session closed, socket gone).
            () = writer_done.cancelled() => break,
        };
        let Some(Ok(message)) = message else { break };
        last_heard = Instant::now();
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                let error = ServerMessage::Error {
                    code: "invalid".to_owned(),
                    message: "messages are JSON text frames".to_owned(),
                };
                if !push(outbox, &error) {
                    break;
                }
                continue;
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => break,
        };
        let decoded = match decode_client_message(text.as_str()) {
            Ok(decoded) => decoded,
            Err(error) => {
                if !push(outbox, &error.to_server_message()) {
                    break;
                }
                continue;
            }
        };
        let command = match decoded {
            ClientMessage::Hello {
                terminal: terminal_id,
                known,
                ..
            } => {
                if registered {
                    let error = ServerMessage::Error {
                        code: "invalid".to_owned(),
                        message: "hello was already sent on this connection".to_owned(),
                    };
                    if !push(outbox, &error) {
                        break;
                    }
                    continue;
                }
                if !push(outbox, &welcome(state, terminal).await) {
                    break;
                }
                registered = true;
                source = Some(OpSource {
                    session_id: terminal.session.id,
                    config_id: terminal.config.id,
                    terminal: terminal_id,
                });
                Command::Connect {
                    conn_id,
                    info: ConnectionInfo {
                        session_id: terminal.session.id,
                        config_id: terminal.config.id,
                        terminal: terminal_id,
                    },
                    known,
                    outbox: outbox.clone(),
                }
            }
            ClientMessage::Ping { t } => {
                if !push(outbox, &ServerMessage::Pong { t }) {
                    break;
                }
                continue;
            }
            _ if !registered => {
                let error = ServerMessage::Error {
                    code: "invalid".to_owned(),
                    message: "send hello first".to_owned(),
                };
                if !push(outbox, &error) {
                    break;
                }
                continue;
            }
            ClientMessage::Op(request) => {
                let Some(source) = source.clone() else {
                    continue;
                };
                if !limiter.allow(state.clock.now()) {
                    let reject = ServerMessage::Reject {
                        op_id: request.op_id,
                        order_id: request.order_id,
                        code: possync_core::RejectCode::RateLimited,
                        message: "too many changes at once; this one will be sent again".to_owned(),
                        order: None,
                    };
                    if !push(outbox, &reject) {
                        break;
                    }
                    continue;
                }
                let stored_outcome = match state.store.find_op_outcome(request.op_id).await {
                    Ok(stored_outcome) => stored_outcome,
                    Err(error) => {
                        tracing::error!(%error, "idempotency lookup failed");
                        if !push(outbox, &possync_engine::unavailable_answer(&request)) {
                            break;
                        }
                        continue;
                    }
                };
                Command::Op {
                    source,
                    request,
                    stored_outcome,
                    reply: Reply::Connection(conn_id),
                    received_at: Instant::now(),
                }
            }
            ClientMessage::Resync { order_ids } => Command::Resync { conn_id, order_ids },
            ClientMessage::Presence { order_id } => Command::Presence { conn_id, order_id },
        };
        if sync.send(command).await.is_err() {
            let _ = outbox.close.try_send((1011, "sync engine stopped"));
            break;
        }
    }
    registered
}

/// The `welcome` message: the session, its config and the configs it syncs with.
async fn welcome(state: &AppState, terminal: &TerminalCaller) -> ServerMessage {
    let linked_ids: Vec<ConfigId> = terminal.config.sync_with.clone();
    let linked_configs = match state.store.list_configs().await {
        Ok(configs) => configs
            .into_iter()
            .filter(|config| linked_ids.contains(&config.id))
            .map(|config| LinkedConfig {
                id: config.id,
                name: config.name,
            })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "could not list linked configs for welcome");
            Vec::new()
        }
    };
    ServerMessage::Welcome {
        session: terminal.session.clone(),
        config: terminal.config.clone(),
        linked_configs,
        server_time: state.clock.now(),
    }
}
