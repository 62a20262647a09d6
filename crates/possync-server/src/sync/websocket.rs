//! `GET /api/v1/sync`: the WebSocket of one terminal, as one task that only
//! moves bytes. Every rule (hello first, rate limits, queue bounds,
//! heartbeats, close codes) is the node's.
//!
//! The task waits on three things at once: a frame from the terminal, which
//! it decodes into a message (or the reason it does not decode) and hands to
//! the actor (ping and pong frames only say the terminal is alive); the
//! connection's queue, which it writes onto the socket, telling the actor how
//! much it wrote (the node counts the queue against its bounds and paces
//! catch-up by it); and the heartbeat, a ping. It sends the close frame the
//! node asks for.
//!
//! One task, not a reader and a writer: ten thousand idle terminals each
//! keep their task's future for their whole life, so it holds nothing large
//! across an await. What is rare and large waits in a box of its own: opening
//! the connection, a full actor queue, and the one check that happens here
//! rather than in the node, the PIN of a manager's approval (an argon2 run,
//! see `auth::approval`). While an approval is checked the terminal's next
//! frames wait, so its ops keep their order and the node only ever sees a
//! verified approval; its queue is written meanwhile.

use super::actor::{Command, Outgoing, SyncHandle, SyncUnavailable};
use super::outbox::{OutboxReceiver, outbox};
use crate::auth::approval::verify_claim;
use crate::auth::{AuthState, ClientAddress, TerminalCaller};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use possync_core::RejectCode;
use possync_engine::{ConnId, Peer, TokenKey};
use possync_protocol::CloseCode;
use possync_protocol::{ClientMessage, DecodeError, decode_client_message};
use possync_store::Store;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::error::TrySendError;

/// Frames larger than this are cut off by the socket layer itself; between
/// 64 KiB and this, the protocol answers `too_large` and keeps the connection.
const SOCKET_MESSAGE_BYTES_MAX: usize = 1024 * 1024;
/// The socket's read buffer, allocated for every connection and kept for its
/// life: small, so that ten thousand idle terminals fit in little memory. It
/// grows to hold a larger frame (a `hello` naming many orders); a terminal's
/// ops are a few hundred bytes, and this is also the most one read takes
/// from the kernel.
const SOCKET_READ_BUFFER_BYTES: usize = 1024;
/// How long a closing connection waits for the terminal's answering close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// The connection reports its writing to the node at least every this many frames.
const FLUSH_REPORT_FRAMES: u32 = 64;
/// The most frames one write gathers: the frame the connection woke for and
/// those queued behind it (a batch's acks and changes for one terminal),
/// sent to the kernel in one `send` rather than one each.
const WRITE_BURST_FRAMES_MAX: u32 = 16;
/// How many bytes of gathered frames the socket holds before it writes them
/// anyway: a few acks and changes (a few hundred bytes each), as small as the
/// read buffer. The write buffer keeps the capacity of the most it held at
/// once for the terminal's whole life: gathering the frames of connecting
/// costs an idle terminal about 1 KiB more than writing each frame at once
/// (6.1 against 7.1 KiB, 512 bytes to 4 KiB alike), for an eighth more
/// durable ops/s under load (BENCHMARKS.md).
const SOCKET_WRITE_BUFFER_BYTES: usize = 1024;

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
    // Only what the connection needs goes into its task, not the whole
    // state and caller: the task keeps it for as long as the terminal stays.
    let opening = Opening {
        sync: state.sync.clone(),
        store: state.store.clone(),
        peer: Peer {
            token: TokenKey::new(&terminal.token_hash),
            session: terminal.session,
            config: terminal.config,
            role: terminal.user.role,
        },
        token_hash: terminal.token_hash,
        approvals: Approvals {
            auth: state.auth.clone(),
            address,
        },
    };
    upgrade
        .max_message_size(SOCKET_MESSAGE_BYTES_MAX)
        // tungstenite's defaults (128 KiB to read, a write buffer beside it)
        // made an idle terminal cost 137 KiB; a terminal's frames are small.
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        .write_buffer_size(SOCKET_WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| connection(socket, opening))
}

/// What a connection starts from.
struct Opening {
    sync: SyncHandle,
    store: Arc<dyn Store>,
    peer: Peer,
    token_hash: String,
    approvals: Approvals,
}

async fn connection(mut socket: WebSocket, opening: Opening) {
    let Opening {
        sync,
        store,
        peer,
        token_hash,
        approvals,
    } = opening;
    let conn = sync.next_conn_id();
    let (outbox, mut queue) = outbox();
    // Boxed: it happens once, and its futures would otherwise add to the
    // size of every connection's task for its whole life.
    let opened = Box::pin(async {
        sync.send(Command::Connect { conn, peer, outbox }).await?;
        // A revocation that reached the node before this connection did would
        // miss it; the store revokes before it tells the node, so a second
        // look here closes the gap.
        match store.find_token(&token_hash).await {
            Ok(Some(record)) if record.revoked_at.is_none() => {}
            Ok(_) => sync.tokens_revoked(&[token_hash]).await,
            Err(error) => tracing::warn!(%error, "could not recheck a sync connection's token"),
        }
        Ok::<(), SyncUnavailable>(())
    })
    .await;
    drop(store);
    if opened.is_err() {
        let _ = socket
            .send(close_message(1011, "sync stopped; reconnect"))
            .await;
        return;
    }
    sync.metrics.connections_opened.inc();
    let heartbeat =
        Duration::from_millis(u64::try_from(sync.settings.node.heartbeat_ms.max(1)).unwrap_or(1));
    let ended = serve(&mut socket, &mut queue, conn, &sync, &approvals, heartbeat).await;
    // The node forgets the connection and the actor drops its queue.
    let _ = handed(hand_over(&sync, Command::Disconnect { conn })).await;
    match ended {
        // What the node queued before it heard of the disconnect still goes
        // out (as far as the socket takes it), then the close frame.
        Ended::ByTerminal => write_rest(&mut socket, &mut queue).await,
        Ended::SyncStopped => {
            let _ = socket
                .send(close_message(1011, "sync stopped; reconnect"))
                .await;
        }
        Ended::ByServer => {}
    }
    drop(queue);
    let _ = socket.flush().await;
    // The closing handshake: give the terminal a moment to answer our close
    // frame, so it reads the close code instead of a reset connection.
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(message)) = socket.recv().await {
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

/// A command waiting for room in the actor's queue, or the news that the
/// actor stopped.
type Waiting<'a> = Pin<Box<dyn Future<Output = Result<(), SyncUnavailable>> + Send + 'a>>;

/// Hands `command` to the actor: at once when its queue has room (the usual
/// case); when it is full, the returned box waits for room. So the future of
/// a connection holds a pointer across that wait, never a command.
fn hand_over(sync: &SyncHandle, command: Command) -> Result<(), Waiting<'_>> {
    match sync.offer(command) {
        Ok(()) => Ok(()),
        Err(TrySendError::Full(command)) => Err(Box::pin(sync.send(command))),
        Err(TrySendError::Closed(_)) => Err(Box::pin(async { Err(SyncUnavailable::Stopped) })),
    }
}

/// Waits for a command [`hand_over`] could not hand over at once.
async fn handed(handing: Result<(), Waiting<'_>>) -> Result<(), SyncUnavailable> {
    match handing {
        Ok(()) => Ok(()),
        Err(waiting) => waiting.await,
    }
}

/// What the connection needs to check the approvals a terminal sends.
struct Approvals {
    auth: AuthState,
    address: IpAddr,
}

/// An approval being checked: the message it came in, verified or refused.
type Checking<'a> = Pin<Box<dyn Future<Output = Result<ClientMessage, DecodeError>> + Send + 'a>>;

impl Approvals {
    /// Whether `message` is an op that claims a manager's approval.
    fn claimed(message: &Result<ClientMessage, DecodeError>) -> bool {
        matches!(message, Ok(ClientMessage::Op(request)) if request.approval.is_some())
    }

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
            Err(refused) => Err(DecodeError {
                code: refused.reject.code,
                message: refused.reject.message,
                op: Some((request.op_id, request.order_id)),
            }),
        }
    }
}

/// Why a connection's loop ended.
enum Ended {
    /// The terminal closed the socket, or reading or writing it failed.
    ByTerminal,
    /// The close frame went out: the node's, or ours once the node dropped the queue.
    ByServer,
    /// The actor is gone.
    SyncStopped,
}

/// Reads, writes and pings until the connection ends.
async fn serve(
    socket: &mut WebSocket,
    queue: &mut OutboxReceiver,
    conn: ConnId,
    sync: &SyncHandle,
    approvals: &Approvals,
    heartbeat: Duration,
) -> Ended {
    let mut ticker = tokio::time::interval(heartbeat);
    ticker.tick().await;
    let mut frames_written: u32 = 0;
    let mut bytes_written: u64 = 0;
    let mut checking: Option<Checking<'_>> = None;
    loop {
        // Not biased: a long catch-up in the queue must not keep the
        // terminal's frames (its pongs among them) unread, nor the reverse.
        tokio::select! {
            outgoing = queue.recv() => match outgoing {
                Some(Outgoing::Text(text)) => {
                    let Ok(burst) = write_burst(socket, queue, text).await else {
                        return Ended::ByTerminal;
                    };
                    frames_written += burst.frames;
                    bytes_written += burst.bytes;
                    if let Some(code) = burst.closing {
                        let _ = socket.send(close_message(code.code(), code.reason())).await;
                        return Ended::ByServer;
                    }
                    if frames_written >= FLUSH_REPORT_FRAMES || queue.is_empty() {
                        let report = Command::Flushed { conn, frames: frames_written, bytes: bytes_written };
                        frames_written = 0;
                        bytes_written = 0;
                        if handed(hand_over(sync, report)).await.is_err() {
                            return Ended::SyncStopped;
                        }
                    }
                }
                Some(Outgoing::Close(code)) => {
                    let _ = socket.send(close_message(code.code(), code.reason())).await;
                    return Ended::ByServer;
                }
                None => {
                    let _ = socket.send(close_message(1000, "bye")).await;
                    return Ended::ByServer;
                }
            },
            message = async {
                match checking.as_mut() {
                    Some(check) => check.await,
                    None => std::future::pending().await,
                }
            }, if checking.is_some() => {
                checking = None;
                if handed(hand_over(sync, Command::Message { conn, message })).await.is_err() {
                    return Ended::SyncStopped;
                }
            }
            // While an approval is checked, the terminal's next frames wait.
            frame = socket.recv(), if checking.is_none() => {
                let Some(Ok(frame)) = frame else { return Ended::ByTerminal };
                let command = match frame {
                    Message::Text(text) => {
                        let message = decode_client_message(text.as_str());
                        if Approvals::claimed(&message) {
                            checking = Some(Box::pin(approvals.check(message)));
                            continue;
                        }
                        Command::Message { conn, message }
                    }
                    Message::Binary(_) => Command::Message {
                        conn,
                        message: Err(DecodeError {
                            code: RejectCode::Invalid,
                            message: "messages are JSON text frames".to_owned(),
                            op: None,
                        }),
                    },
                    Message::Ping(_) | Message::Pong(_) => Command::Heard { conn },
                    Message::Close(_) => return Ended::ByTerminal,
                };
                if handed(hand_over(sync, command)).await.is_err() {
                    return Ended::SyncStopped;
                }
            }
            _ = ticker.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return Ended::ByTerminal;
                }
            }
        }
    }
}

/// What [`write_burst`] wrote.
struct Burst {
    frames: u32,
    bytes: u64,
    /// The close the node queued behind the burst's frames: it goes out next.
    closing: Option<CloseCode>,
}

/// Writes `first` and the text frames queued behind it, at most
/// [`WRITE_BURST_FRAMES_MAX`], then flushes once: a batch's frames for this
/// terminal leave in one `send` to the kernel instead of one each (the socket
/// writes earlier only past [`SOCKET_WRITE_BUFFER_BYTES`]). Stops at a close,
/// which it hands back unwritten.
async fn write_burst(
    socket: &mut WebSocket,
    queue: &mut OutboxReceiver,
    first: Utf8Bytes,
) -> Result<Burst, axum::Error> {
    let mut burst = Burst {
        frames: 0,
        bytes: 0,
        closing: None,
    };
    let mut next = Some(Outgoing::Text(first));
    while let Some(outgoing) = next.take() {
        match outgoing {
            Outgoing::Text(text) => {
                burst.frames += 1;
                burst.bytes += text.len() as u64;
                socket.feed(Message::Text(text)).await?;
                if burst.frames < WRITE_BURST_FRAMES_MAX {
                    next = queue.try_recv();
                }
            }
            Outgoing::Close(code) => burst.closing = Some(code),
        }
    }
    socket.flush().await?;
    Ok(burst)
}

/// After the terminal went: writes what is queued until the actor drops the
/// queue (it has the disconnect), then the close frame; stops at the first
/// write the socket refuses.
async fn write_rest(socket: &mut WebSocket, queue: &mut OutboxReceiver) {
    loop {
        match queue.recv().await {
            Some(Outgoing::Text(text)) => {
                if socket.send(Message::Text(text)).await.is_err() {
                    return;
                }
            }
            Some(Outgoing::Close(code)) => {
                let _ = socket.send(close_message(code.code(), code.reason())).await;
                return;
            }
            None => {
                let _ = socket.send(close_message(1000, "bye")).await;
                return;
            }
        }
    }
}
