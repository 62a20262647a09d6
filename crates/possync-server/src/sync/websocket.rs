//! `GET /api/v1/sync`: the WebSocket of one terminal, as two tasks that
//! only move bytes. Every rule (hello first, rate limits, queue bounds,
//! heartbeats, close codes) is the node's.
//!
//! The reader decodes each frame into a message (or the reason it does not
//! decode) and hands it to the actor; ping and pong frames only say the
//! terminal is alive. The writer drains the connection's queue onto the
//! socket, tells the actor how much it wrote (the node counts the queue
//! against its bounds and paces catch-up by it), sends a ping every
//! heartbeat, and sends the close frame the node asks for.
//!
//! One check happens here rather than in the node: the PIN of a manager's
//! approval (an argon2 run, see `auth::approval`). The reader awaits it
//! before it reads the next frame, so the terminal's ops keep their order and
//! the node only ever sees a verified approval.

use super::actor::{Command, Outgoing, SyncHandle};
use crate::auth::approval::verify_claim;
use crate::auth::{AuthState, ClientAddress, TerminalCaller};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use possync_core::RejectCode;
use possync_engine::{ConnId, Peer, TokenKey};
use possync_protocol::{ClientMessage, DecodeError, decode_client_message};
use std::net::IpAddr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Frames larger than this are cut off by the socket layer itself; between
/// 64 KiB and this, the protocol answers `too_large` and keeps the connection.
const SOCKET_MESSAGE_BYTES_MAX: usize = 1024 * 1024;
/// The socket's read buffer: grows as a frame needs, starts small so that
/// ten thousand idle terminals fit in little memory.
const SOCKET_READ_BUFFER_BYTES: usize = 4 * 1024;
/// How long a closing connection waits for the terminal's answering close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// The writer reports its progress to the node at least every this many frames.
const FLUSH_REPORT_FRAMES: u32 = 64;

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
    ClientAddress(address): ClientAddress,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return ApiError::invalid(rejection.body_text()).into_response(),
    };
    upgrade
        .max_message_size(SOCKET_MESSAGE_BYTES_MAX)
        // tungstenite's defaults (128 KiB to read, a write buffer beside it)
        // made an idle terminal cost 137 KiB; a terminal's frames are small.
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection(socket, state, terminal, address))
}

async fn connection(socket: WebSocket, state: AppState, terminal: TerminalCaller, address: IpAddr) {
    let sync = state.sync.clone();
    let conn = sync.next_conn_id();
    let (outbox, queue) = mpsc::unbounded_channel();
    let peer_token_hash = terminal.token_hash.clone();
    let peer = Peer {
        token: TokenKey::new(&terminal.token_hash),
        session: terminal.session,
        config: terminal.config,
        role: terminal.user.role,
    };
    let (mut sink, mut stream) = socket.split();
    if sync
        .send(Command::Connect { conn, peer, outbox })
        .await
        .is_err()
    {
        let _ = sink
            .send(close_message(1011, "sync stopped; reconnect"))
            .await;
        return;
    }
    // A revocation that reached the node before this connection did would miss
    // it; the store revokes before it tells the node, so a second look here
    // closes the gap.
    let token_hash = peer_token_hash.clone();
    match state.store.find_token(&token_hash).await {
        Ok(Some(record)) if record.revoked_at.is_none() => {}
        Ok(_) => sync.tokens_revoked(&[token_hash]).await,
        Err(error) => tracing::warn!(%error, "could not recheck a sync connection's token"),
    }
    sync.metrics.connections_opened.inc();
    let heartbeat =
        Duration::from_millis(u64::try_from(sync.settings.node.heartbeat_ms.max(1)).unwrap_or(1));
    let writer_done = CancellationToken::new();
    let writer = tokio::spawn(write_frames(
        sink,
        queue,
        conn,
        sync.clone(),
        heartbeat,
        writer_done.clone(),
    ));
    let approvals = Approvals {
        auth: state.auth.clone(),
        address,
    };
    read_frames(&mut stream, conn, &sync, &approvals, &writer_done).await;
    // The node forgets the connection and the actor drops its queue: the
    // writer ends once it has sent what is queued.
    let _ = sync.send(Command::Disconnect { conn }).await;
    let _ = writer.await;
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

fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// What the reader needs to check the approvals a terminal sends.
struct Approvals {
    auth: AuthState,
    address: IpAddr,
}

impl Approvals {
    /// A decoded op with a claimed approval leaves with a verified one, or
    /// becomes the reject of that op (a wrong PIN, too many of them). A
    /// refused approval is not the op's final answer: the terminal may send
    /// the same op again with the right PIN.
    async fn check(
        &self,
        message: Result<ClientMessage, DecodeError>,
    ) -> Result<ClientMessage, DecodeError> {
        let Ok(ClientMessage::Op(mut request)) = message else {
            return message;
        };
        match verify_claim(&self.auth, &mut request.approval, self.address).await {
            Ok(()) => Ok(ClientMessage::Op(request)),
            Err(reject) => Err(DecodeError {
                code: reject.code,
                message: reject.message,
                op: Some((request.op_id, request.order_id)),
            }),
        }
    }
}

/// Reads until the socket closes or the writer ended the connection.
async fn read_frames(
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
    conn: ConnId,
    sync: &SyncHandle,
    approvals: &Approvals,
    writer_done: &CancellationToken,
) {
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            // The writer closed the connection (the node said so, or the socket failed).
            () = writer_done.cancelled() => break,
        };
        let Some(Ok(message)) = message else { break };
        let command = match message {
            Message::Text(text) => Command::Message {
                conn,
                message: approvals.check(decode_client_message(text.as_str())).await,
            },
            Message::Binary(_) => Command::Message {
                conn,
                message: Err(DecodeError {
                    code: RejectCode::Invalid,
                    message: "messages are JSON text frames".to_owned(),
                    op: None,
                }),
            },
            Message::Ping(_) | Message::Pong(_) => Command::Heard { conn },
            Message::Close(_) => break,
        };
        if sync.send(command).await.is_err() {
            break;
        }
    }
}

async fn write_frames(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    conn: ConnId,
    sync: SyncHandle,
    heartbeat: Duration,
    done: CancellationToken,
) {
    let mut ticker = tokio::time::interval(heartbeat);
    ticker.tick().await;
    let mut frames_written: u32 = 0;
    let mut bytes_written: u64 = 0;
    loop {
        tokio::select! {
            biased;
            outgoing = queue.recv() => match outgoing {
                Some(Outgoing::Text(text)) => {
                    let bytes = text.len() as u64;
                    if sink.send(Message::Text(text)).await.is_err() {
                        break;
                    }
                    frames_written += 1;
                    bytes_written += bytes;
                    if frames_written >= FLUSH_REPORT_FRAMES || queue.is_empty() {
                        let report = Command::Flushed { conn, frames: frames_written, bytes: bytes_written };
                        frames_written = 0;
                        bytes_written = 0;
                        if sync.send(report).await.is_err() {
                            let _ = sink.send(close_message(1011, "sync stopped; reconnect")).await;
                            break;
                        }
                    }
                }
                Some(Outgoing::Close(code)) => {
                    let _ = sink.send(close_message(code.code(), code.reason())).await;
                    break;
                }
                None => {
                    let _ = sink.send(close_message(1000, "bye")).await;
                    break;
                }
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
