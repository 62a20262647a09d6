//! The SDK's wire code: opening the sync WebSocket with a terminal token,
//! encoding what a terminal sends and decoding what the server answers
//! (`shared/PROTOCOL.md`, version 1).
//!
//! [`crate::Client`] is built on it, and so are `possync bench` (which needs
//! the socket without the outbox file, to measure the server rather than the
//! client's disk) and `possync order`.

use futures_util::{SinkExt, StreamExt};
use possync_core::{OpId, OrderId};
use possync_protocol::{ClientMessage, ServerMessage};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A connected sync socket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The read buffer of a socket. tungstenite's default (128 KiB) is sized for
/// bulk transfers; sync frames are a few hundred bytes, and a bench process
/// holding 10,000 terminals would spend over a gigabyte on empty buffers.
/// The buffer grows when a larger frame (a catch-up `order`) arrives.
pub const SOCKET_READ_BUFFER_BYTES: usize = 4 * 1024;
/// How many bytes of frames fed without a flush the socket gathers before it
/// writes them: a sender that feeds several ops and then flushes sends them
/// to the kernel together. A plain send (feed and flush) writes at once.
pub const SOCKET_WRITE_BUFFER_BYTES: usize = 1024;
/// The largest server frame accepted: an order at its line limit fits many times over.
pub const SERVER_FRAME_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Why a socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not an `http(s)://` or `ws(s)://` address.
    #[error("not a server address: {0}")]
    BadUrl(String),
    /// The server answered the upgrade with an error status: a bad, expired or
    /// revoked token (401) or a token that is not a terminal token (403).
    /// Retrying with the same token will not help.
    #[error("the server refused the connection ({status}): {message}")]
    Refused { status: u16, message: String },
    /// Anything a later attempt may not meet: no route, refused TCP, timeout, a 5xx.
    #[error("could not reach the server: {0}")]
    Unreachable(String),
}

impl ConnectError {
    /// True when retrying with the same token cannot succeed.
    pub fn is_final(&self) -> bool {
        matches!(self, ConnectError::BadUrl(_) | ConnectError::Refused { .. })
    }
}

/// The `ws(s)://…/api/v1/sync` address for a server's base URL (`http://host:port`).
pub fn sync_url(base_url: &str) -> Result<String, ConnectError> {
    let base = base_url.trim_end_matches('/');
    let rest = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_owned()
    } else {
        return Err(ConnectError::BadUrl(base_url.to_owned()));
    };
    Ok(format!("{rest}/api/v1/sync"))
}

/// The socket settings the SDK uses: small buffers, a cap on incoming frames.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        .write_buffer_size(SOCKET_WRITE_BUFFER_BYTES)
        .max_message_size(Some(SERVER_FRAME_BYTES_MAX))
        .max_frame_size(Some(SERVER_FRAME_BYTES_MAX))
}

/// Opens the sync socket of a server with a terminal token (sent in the
/// `Authorization` header, so it stays out of access logs), with TCP_NODELAY.
pub async fn connect(
    base_url: &str,
    terminal_token: &str,
    timeout: Duration,
) -> Result<Socket, ConnectError> {
    let url = sync_url(base_url)?;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|error| ConnectError::BadUrl(format!("{url}: {error}")))?;
    let authorization =
        HeaderValue::from_str(&format!("Bearer {terminal_token}")).map_err(|_| {
            ConnectError::Refused {
                status: 401,
                message: "the token holds characters no HTTP header may carry".to_owned(),
            }
        })?;
    request.headers_mut().insert("authorization", authorization);
    let attempt =
        tokio_tungstenite::connect_async_with_config(request, Some(socket_config()), true);
    match tokio::time::timeout(timeout, attempt).await {
        Err(_) => Err(ConnectError::Unreachable(format!(
            "no answer within {} ms",
            timeout.as_millis()
        ))),
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            let message = response
                .body()
                .as_ref()
                .and_then(|body| serde_json::from_slice::<Value>(body).ok())
                .and_then(|body| body["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("HTTP {status}"));
            if (400..500).contains(&status) && status != 408 && status != 429 {
                Err(ConnectError::Refused { status, message })
            } else {
                Err(ConnectError::Unreachable(message))
            }
        }
        Ok(Err(error)) => Err(ConnectError::Unreachable(error.to_string())),
    }
}

/// The JSON text of a message to the server.
pub fn encode(message: &ClientMessage) -> String {
    let value = match message {
        ClientMessage::Hello {
            protocol,
            terminal,
            known,
        } => json!({"type": "hello", "protocol": protocol, "terminal": terminal, "known": known}),
        ClientMessage::Op(request) => {
            json!({"type": "op", "op_id": request.op_id, "order_id": request.order_id, "op": request.op})
        }
        ClientMessage::Resync { order_ids } => json!({"type": "resync", "order_ids": order_ids}),
        ClientMessage::Presence { order_id } => json!({"type": "presence", "order_id": order_id}),
        ClientMessage::Ping { t } => json!({"type": "ping", "t": t}),
    };
    value.to_string()
}

/// Decodes one server frame.
pub fn decode(text: &str) -> Result<ServerMessage, serde_json::Error> {
    serde_json::from_str(text)
}

/// The few fields a load generator needs from a server frame, read without
/// building the order or patch it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSummary {
    pub kind: FrameKind,
    pub op_id: Option<OpId>,
    pub order_id: Option<OrderId>,
    pub version: Option<u64>,
}

/// The `type` of a server frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Welcome,
    Order,
    Removed,
    Synced,
    Ack,
    Reject,
    Change,
    Presence,
    Error,
    Pong,
    /// A type this version does not know (a newer server).
    Other,
}

#[derive(Deserialize)]
struct SummaryFields<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default)]
    op_id: Option<OpId>,
    #[serde(default)]
    order_id: Option<OrderId>,
    #[serde(default)]
    version: Option<u64>,
}

/// Reads a frame's type, `op_id`, `order_id` and `version`; `None` when it is not a message.
pub fn summarize(text: &str) -> Option<FrameSummary> {
    let fields: SummaryFields<'_> = serde_json::from_str(text).ok()?;
    let kind = match fields.kind {
        "welcome" => FrameKind::Welcome,
        "order" => FrameKind::Order,
        "removed" => FrameKind::Removed,
        "synced" => FrameKind::Synced,
        "ack" => FrameKind::Ack,
        "reject" => FrameKind::Reject,
        "change" => FrameKind::Change,
        "presence" => FrameKind::Presence,
        "error" => FrameKind::Error,
        "pong" => FrameKind::Pong,
        _ => FrameKind::Other,
    };
    Some(FrameSummary {
        kind,
        op_id: fields.op_id,
        order_id: fields.order_id,
        version: fields.version,
    })
}

/// Sends one message.
pub async fn send(socket: &mut Socket, message: &ClientMessage) -> Result<(), tungstenite::Error> {
    socket.send(Message::text(encode(message))).await
}

/// How a socket ended, as far as the terminal can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEnd {
    /// The server sent a close frame with this code and reason.
    Closed { code: u16, reason: String },
    /// The connection broke without a close frame.
    Lost(String),
}

impl SocketEnd {
    /// Close codes after which the same token cannot connect again (session
    /// closed or token revoked, terminal id bound to another token).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            SocketEnd::Closed {
                code: 4001 | 4003,
                ..
            }
        )
    }
}

impl std::fmt::Display for SocketEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocketEnd::Closed { code, reason } => {
                write!(f, "closed by the server ({code}: {reason})")
            }
            SocketEnd::Lost(why) => write!(f, "connection lost: {why}"),
        }
    }
}

/// Reads the next text frame, skipping control frames; `Err` when the socket ended.
pub async fn next_text(socket: &mut Socket) -> Result<tungstenite::Utf8Bytes, SocketEnd> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text),
            Some(Ok(Message::Close(frame))) => {
                return Err(match frame {
                    Some(frame) => SocketEnd::Closed {
                        code: frame.code.into(),
                        reason: frame.reason.to_string(),
                    },
                    None => SocketEnd::Closed {
                        code: 1005,
                        reason: String::new(),
                    },
                });
            }
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(SocketEnd::Lost(error.to_string())),
            None => return Err(SocketEnd::Lost("the stream ended".to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use possync_core::{Op, Quantity};
    use possync_protocol::{OpRequest, decode_client_message};
    use std::collections::BTreeMap;
    use uuid::Uuid;

    /// What the SDK encodes, the server's own decoder reads back unchanged.
    #[test]
    fn encoded_client_messages_decode_on_the_server_side() {
        let order_id = OrderId(Uuid::now_v7());
        let messages = [
            ClientMessage::Hello {
                protocol: possync_protocol::PROTOCOL_VERSION,
                terminal: possync_core::TerminalId(Uuid::now_v7()),
                known: BTreeMap::from([(order_id, 7)]),
            },
            ClientMessage::Op(OpRequest {
                approval: None,
                op_id: OpId(Uuid::now_v7()),
                order_id,
                op: Op::AddQty {
                    line_id: possync_core::LineId(Uuid::now_v7()),
                    delta: Quantity::from_milli(-1500).unwrap(),
                },
            }),
            ClientMessage::Resync {
                order_ids: vec![order_id],
            },
            ClientMessage::Presence { order_id: None },
            ClientMessage::Presence {
                order_id: Some(order_id),
            },
            ClientMessage::Ping { t: json!(42) },
        ];
        for message in messages {
            let decoded = decode_client_message(&encode(&message)).unwrap();
            assert_eq!(decoded, message);
        }
    }

    #[test]
    fn summaries_read_ids_without_the_body() {
        let op_id = OpId(Uuid::now_v7());
        let order_id = OrderId(Uuid::now_v7());
        let ack = format!(
            r#"{{"type":"ack","op_id":"{op_id}","order_id":"{order_id}","version":3,"duplicate":false}}"#
        );
        assert_eq!(
            summarize(&ack),
            Some(FrameSummary {
                kind: FrameKind::Ack,
                op_id: Some(op_id),
                order_id: Some(order_id),
                version: Some(3),
            })
        );
        assert_eq!(
            summarize(r#"{"type":"synced"}"#).unwrap().kind,
            FrameKind::Synced
        );
        assert_eq!(
            summarize(r#"{"type":"new"}"#).unwrap().kind,
            FrameKind::Other
        );
        assert_eq!(summarize("[1]"), None);
    }

    #[test]
    fn sync_urls_follow_the_scheme() {
        assert_eq!(
            sync_url("http://127.0.0.1:8080/").unwrap(),
            "ws://127.0.0.1:8080/api/v1/sync"
        );
        assert_eq!(
            sync_url("https://shop.example").unwrap(),
            "wss://shop.example/api/v1/sync"
        );
        assert!(sync_url("ftp://x").is_err());
    }
}
