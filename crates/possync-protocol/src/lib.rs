//! possync-protocol: the wire messages of `shared/PROTOCOL.md`, version 1.
//!
//! Client frames are decoded once, at the edge, into typed messages whose
//! fields are already parsed domain values; anything malformed or out of
//! bounds becomes a [`DecodeError`] with the contract's code. Server messages
//! are encoded once per message, however many connections receive them.

use possync_core::{
    Approval, ApprovalClaim, By, Config, Op, OpId, Order, OrderId, PIN_DIGITS_MAX, PIN_DIGITS_MIN,
    Patch, RejectCode, Session, TerminalId, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest client frame, in bytes.
pub const CLIENT_FRAME_BYTES_MAX: usize = 64 * 1024;
/// Entries in `hello.known`.
pub const KNOWN_ORDERS_MAX: usize = 5_000;
/// Ids in one `resync`.
pub const RESYNC_ORDERS_MAX: usize = 1_000;
/// Characters of a refusal's message at most. The parser's messages quote the
/// offending value; a hostile frame must not be echoed back (or logged) whole.
pub const ERROR_MESSAGE_CHARS_MAX: usize = 240;

/// A message from a terminal.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    Hello {
        protocol: u32,
        terminal: TerminalId,
        known: BTreeMap<OrderId, u64>,
    },
    Op(OpRequest),
    Resync {
        order_ids: Vec<OrderId>,
    },
    Presence {
        order_id: Option<OrderId>,
    },
    Ping {
        t: Value,
    },
}

/// One op as a terminal sends it, over WebSocket or `POST /orders/{id}/ops`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpRequest {
    pub op_id: OpId,
    pub order_id: OrderId,
    pub op: Op,
    /// A manager's approval, sent as `op.approval`. Decoding yields
    /// [`Approval::Claimed`]; the server checks the PIN and hands the node
    /// [`Approval::Verified`]. Never serialized: a PIN is neither stored in an
    /// outbox nor echoed. Boxed: most ops carry none, and an op waits in
    /// queues where its size counts.
    #[serde(skip)]
    pub approval: Option<Box<Approval>>,
}

/// Why a frame was refused. When the frame was an op whose `op_id` and
/// `order_id` could be read, the answer is a `reject` for that op; otherwise
/// a connection-level `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DecodeError {
    pub code: RejectCode,
    pub message: String,
    pub op: Option<(OpId, OrderId)>,
}

impl DecodeError {
    fn new(code: RejectCode, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if let Some((cut, _)) = message.char_indices().nth(ERROR_MESSAGE_CHARS_MAX) {
            message.truncate(cut);
            message.push('…');
        }
        DecodeError {
            code,
            message,
            op: None,
        }
    }

    /// The message to send back for this error.
    pub fn to_server_message(&self) -> ServerMessage {
        match self.op {
            Some((op_id, order_id)) => ServerMessage::Reject {
                op_id,
                order_id,
                code: self.code,
                message: self.message.clone(),
                order: None,
            },
            None => ServerMessage::Error {
                code: self.code.as_str().to_owned(),
                message: self.message.clone(),
            },
        }
    }
}

#[derive(Deserialize)]
struct HelloFrame {
    protocol: u32,
    terminal: TerminalId,
    #[serde(default)]
    known: BTreeMap<OrderId, u64>,
}

#[derive(Deserialize)]
struct ResyncFrame {
    order_ids: Vec<OrderId>,
}

#[derive(Deserialize)]
struct PresenceFrame {
    order_id: Option<OrderId>,
}

fn field<'a>(object: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name)
}

fn invalid(error: impl std::fmt::Display) -> DecodeError {
    DecodeError::new(RejectCode::Invalid, error.to_string())
}

/// Decodes one text frame from a terminal.
pub fn decode_client_message(text: &str) -> Result<ClientMessage, DecodeError> {
    if text.len() > CLIENT_FRAME_BYTES_MAX {
        return Err(DecodeError::new(
            RejectCode::TooLarge,
            format!("messages are limited to {CLIENT_FRAME_BYTES_MAX} bytes"),
        ));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|error| invalid(format!("not JSON: {error}")))?;
    let Value::Object(object) = value else {
        return Err(invalid("a message is a JSON object"));
    };
    let kind = field(&object, "type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("a message needs a string \"type\""))?;
    let rest = Value::Object(object.clone());
    match kind {
        "hello" => {
            let hello: HelloFrame = serde_json::from_value(rest).map_err(invalid)?;
            if hello.protocol != PROTOCOL_VERSION {
                return Err(invalid(format!(
                    "protocol {} is not supported; this server speaks {PROTOCOL_VERSION}",
                    hello.protocol
                )));
            }
            if hello.known.len() > KNOWN_ORDERS_MAX {
                return Err(DecodeError::new(
                    RejectCode::TooLarge,
                    format!("at most {KNOWN_ORDERS_MAX} known orders"),
                ));
            }
            Ok(ClientMessage::Hello {
                protocol: hello.protocol,
                terminal: hello.terminal,
                known: hello.known,
            })
        }
        "op" => decode_op_frame(&object).map(ClientMessage::Op),
        "resync" => {
            let resync: ResyncFrame = serde_json::from_value(rest).map_err(invalid)?;
            if resync.order_ids.len() > RESYNC_ORDERS_MAX {
                return Err(DecodeError::new(
                    RejectCode::TooLarge,
                    format!("at most {RESYNC_ORDERS_MAX} orders per resync"),
                ));
            }
            Ok(ClientMessage::Resync {
                order_ids: resync.order_ids,
            })
        }
        "presence" => {
            let presence: PresenceFrame = serde_json::from_value(rest).map_err(invalid)?;
            Ok(ClientMessage::Presence {
                order_id: presence.order_id,
            })
        }
        "ping" => Ok(ClientMessage::Ping {
            t: object.get("t").cloned().unwrap_or(Value::Null),
        }),
        other => Err(invalid(format!(
            "unknown message type {:?}",
            other.chars().take(40).collect::<String>()
        ))),
    }
}

/// Decodes an op frame: ids first, so that a bad op body is answered with a
/// `reject` naming the op rather than a bare connection error.
fn decode_op_frame(object: &serde_json::Map<String, Value>) -> Result<OpRequest, DecodeError> {
    let op_id: OpId = field(object, "op_id")
        .cloned()
        .ok_or_else(|| invalid("an op needs an \"op_id\""))
        .and_then(|value| {
            serde_json::from_value(value).map_err(|_| invalid("\"op_id\" must be a UUID"))
        })?;
    let order_id: OrderId = field(object, "order_id")
        .cloned()
        .ok_or_else(|| invalid("an op needs an \"order_id\""))
        .and_then(|value| {
            serde_json::from_value(value).map_err(|_| invalid("\"order_id\" must be a UUID"))
        })?;
    decode_op_body(op_id, order_id, field(object, "op"))
}

/// Parses the `op` object of an op whose ids are known.
pub fn decode_op_body(
    op_id: OpId,
    order_id: OrderId,
    op: Option<&Value>,
) -> Result<OpRequest, DecodeError> {
    let with_ids = |error: DecodeError| DecodeError {
        op: Some((op_id, order_id)),
        ..error
    };
    let op = op.ok_or_else(|| with_ids(invalid("an op needs an \"op\" object")))?;
    let approval = decode_approval(op.get("approval")).map_err(with_ids)?;
    let op: Op = serde_json::from_value(op.clone())
        .map_err(|error| with_ids(invalid(format!("bad op: {error}"))))?;
    // A refund's lines are copied from the paid order by the server, never
    // taken from a terminal: a terminal asks for one over HTTP.
    if matches!(op, Op::Refund { .. }) {
        return Err(with_ids(invalid(
            "a refund is made with POST /api/v1/orders/{id}/refund, not sent as an op",
        )));
    }
    Ok(OpRequest {
        op_id,
        order_id,
        op,
        approval: approval.map(|claim| Box::new(Approval::Claimed(claim))),
    })
}

/// Parses a manager's approval (`{"user_id", "pin"}` or `{"user_id",
/// "password"}`) wherever one is sent: inside an op object, or at the top of a
/// refund. Absent or null: none. A refusal never quotes the PIN or password.
pub fn decode_approval(approval: Option<&Value>) -> Result<Option<ApprovalClaim>, DecodeError> {
    match approval {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value::<ApprovalClaim>(value.clone())
            .map(Some)
            .map_err(|_| {
                invalid(format!(
                    "\"approval\" must be {{\"user_id\": <a manager's id>, \"pin\": \"<{PIN_DIGITS_MIN} to {PIN_DIGITS_MAX} digits>\"}} or {{\"user_id\": <a manager's id>, \"password\": \"<their password>\"}}"
                ))
            }),
    }
}

/// Why the server closes a sync connection: the WebSocket close code and a
/// short reason. The codes of PROTOCOL.md ("Close codes") are fixed; 1000,
/// 1008 and 1011 are the standard WebSocket ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CloseCode {
    /// 1000: the connection ended normally (the terminal left).
    Normal,
    /// 1001: the server is shutting down.
    ServerShuttingDown,
    /// 1008: a policy bound, e.g. too many connections for one token.
    TooManyConnections,
    /// 1011: the sync node stopped; the terminal reconnects.
    NodeStopped,
    /// 4000: the terminal missed its heartbeats.
    MissedHeartbeats,
    /// 4001: the session was closed or the token revoked.
    SessionClosed,
    /// 4003: the terminal id is bound to another token.
    TerminalTaken,
    /// 4008: too slow (its queue bound was hit) or flooding.
    TooSlow,
}

impl CloseCode {
    /// The numeric WebSocket close code.
    pub fn code(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::ServerShuttingDown => 1001,
            CloseCode::TooManyConnections => 1008,
            CloseCode::NodeStopped => 1011,
            CloseCode::MissedHeartbeats => 4000,
            CloseCode::SessionClosed => 4001,
            CloseCode::TerminalTaken => 4003,
            CloseCode::TooSlow => 4008,
        }
    }

    /// The reason sent in the close frame (short: a close frame holds 123 bytes).
    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::Normal => "bye",
            CloseCode::ServerShuttingDown => "server shutting down",
            CloseCode::TooManyConnections => "too many connections for this token",
            CloseCode::NodeStopped => "sync stopped; reconnect",
            CloseCode::MissedHeartbeats => "no heartbeat",
            CloseCode::SessionClosed => "session closed",
            CloseCode::TerminalTaken => "terminal id belongs to another token",
            CloseCode::TooSlow => "too slow: reconnect and catch up",
        }
    }

    /// The close code a number names, if it is one of these.
    pub fn from_code(code: u16) -> Option<CloseCode> {
        [
            CloseCode::Normal,
            CloseCode::ServerShuttingDown,
            CloseCode::TooManyConnections,
            CloseCode::NodeStopped,
            CloseCode::MissedHeartbeats,
            CloseCode::SessionClosed,
            CloseCode::TerminalTaken,
            CloseCode::TooSlow,
        ]
        .into_iter()
        .find(|close| close.code() == code)
    }
}

/// A linked config as named in `welcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedConfig {
    pub id: possync_core::ConfigId,
    pub name: possync_core::Name,
}

/// One terminal that has an order open.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PresentTerminal {
    pub terminal: TerminalId,
    pub config_id: possync_core::ConfigId,
    pub config_name: possync_core::Name,
}

/// Why an order left a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovedReason {
    Paid,
    Cancelled,
    Unshared,
}

/// A message to a terminal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        session: Session,
        config: Config,
        linked_configs: Vec<LinkedConfig>,
        server_time: Timestamp,
    },
    Order {
        order: Box<Order>,
    },
    Removed {
        order_id: OrderId,
        reason: RemovedReason,
        version: u64,
        by: By,
    },
    Synced,
    Ack {
        op_id: OpId,
        order_id: OrderId,
        version: u64,
        duplicate: bool,
    },
    Reject {
        op_id: OpId,
        order_id: OrderId,
        code: RejectCode,
        message: String,
        order: Option<Box<Order>>,
    },
    Change {
        order_id: OrderId,
        version: u64,
        op_id: OpId,
        by: By,
        at: Timestamp,
        patch: Box<Patch>,
    },
    Presence {
        order_id: OrderId,
        terminals: Vec<PresentTerminal>,
    },
    Error {
        code: String,
        message: String,
    },
    Pong {
        t: Value,
    },
}

impl ServerMessage {
    /// The JSON text of the message. Encoding the domain types cannot fail
    /// (no maps with non-string keys, no non-finite floats).
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","code":"internal","message":"could not encode a message"}"#
                .to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OP_ID: &str = "0190a0e0-0000-7000-8000-000000000001";
    const ORDER_ID: &str = "0190a0e0-0000-7000-8000-000000000002";

    #[test]
    fn decodes_every_client_message() {
        let hello = decode_client_message(&format!(
            r#"{{"type":"hello","protocol":1,"terminal":"{OP_ID}","known":{{"{ORDER_ID}":3}}}}"#
        ))
        .unwrap();
        assert!(matches!(hello, ClientMessage::Hello { ref known, .. } if known.len() == 1));
        let op = decode_client_message(&format!(
            r#"{{"type":"op","op_id":"{OP_ID}","order_id":"{ORDER_ID}","op":{{"kind":"share"}}}}"#
        ))
        .unwrap();
        assert!(matches!(
            op,
            ClientMessage::Op(OpRequest {
                op: Op::Share {},
                ..
            })
        ));
        assert!(matches!(
            decode_client_message(r#"{"type":"presence","order_id":null}"#).unwrap(),
            ClientMessage::Presence { order_id: None }
        ));
        assert!(matches!(
            decode_client_message(r#"{"type":"ping","t":5}"#).unwrap(),
            ClientMessage::Ping { .. }
        ));
    }

    #[test]
    fn an_approval_inside_the_op_is_claimed_and_its_pin_never_echoed() {
        let frame = |approval: &str| {
            format!(
                r#"{{"type":"op","op_id":"{OP_ID}","order_id":"{ORDER_ID}","op":{{"kind":"share","approval":{approval}}}}}"#
            )
        };
        let Ok(ClientMessage::Op(request)) =
            decode_client_message(&frame(r#"{"user_id":7,"pin":"4821"}"#))
        else {
            panic!("an op with an approval decodes");
        };
        let Some(Approval::Claimed(claim)) = request.approval.as_deref() else {
            panic!("decoding only ever claims an approval");
        };
        assert_eq!(
            (claim.user_id.0, claim.pin().map(|pin| pin.as_str())),
            (7, Some("4821"))
        );
        assert_eq!(request.op, Op::Share {});
        let Ok(ClientMessage::Op(request)) = decode_client_message(&frame("null")) else {
            panic!("a null approval is none");
        };
        assert_eq!(request.approval, None);
        for bad in [
            r#"{"user_id":7,"pin":"48211234567"}"#,
            r#"{"user_id":7,"pin":"48a1"}"#,
            r#"{"user_id":7}"#,
            r#"{"user_id":"x","pin":"4821"}"#,
            r#"{"user_id":7,"pin":"4821","why":"x"}"#,
            r#""4821""#,
        ] {
            let error = decode_client_message(&frame(bad)).unwrap_err();
            assert_eq!(error.code, RejectCode::Invalid, "{bad}");
            assert!(error.op.is_some(), "answered as a reject of the op: {bad}");
            assert!(!error.message.contains("4821"), "{}", error.message);
            assert!(!error.message.contains("48a1"), "{}", error.message);
        }
    }

    #[test]
    fn bad_frames_get_the_right_answer() {
        let check = |text: &str, code: RejectCode, names_op: bool| {
            let error = decode_client_message(text).unwrap_err();
            assert_eq!(error.code, code, "{text}");
            assert_eq!(error.op.is_some(), names_op, "{text}");
        };
        check("not json", RejectCode::Invalid, false);
        check("[1,2]", RejectCode::Invalid, false);
        check(r#"{"type":"nope"}"#, RejectCode::Invalid, false);
        check(
            r#"{"type":"hello","protocol":2,"terminal":"x"}"#,
            RejectCode::Invalid,
            false,
        );
        check(
            r#"{"type":"op","op_id":"x","order_id":"y","op":{}}"#,
            RejectCode::Invalid,
            false,
        );
        check(
            &format!(
                r#"{{"type":"op","op_id":"{OP_ID}","order_id":"{ORDER_ID}","op":{{"kind":"set_qty"}}}}"#
            ),
            RejectCode::Invalid,
            true,
        );
        check(
            &" ".repeat(CLIENT_FRAME_BYTES_MAX + 1),
            RejectCode::TooLarge,
            false,
        );
    }

    #[test]
    fn refusals_do_not_echo_a_long_value_back() {
        let long = "x".repeat(10_000);
        for frame in [
            format!(r#"{{"type":"hello","protocol":"{long}","terminal":"{OP_ID}"}}"#),
            format!(r#"{{"type":"resync","order_ids":"{long}"}}"#),
            format!(
                r#"{{"type":"op","op_id":"{OP_ID}","order_id":"{ORDER_ID}","op":{{"kind":"{long}"}}}}"#
            ),
        ] {
            let error = decode_client_message(&frame).unwrap_err();
            assert!(
                error.message.chars().count() <= ERROR_MESSAGE_CHARS_MAX + 1,
                "{} characters: {}",
                error.message.chars().count(),
                error.message
            );
            assert!(!error.message.is_empty());
        }
        // A short message is kept whole.
        let error = decode_client_message(r#"{"type":"nope"}"#).unwrap_err();
        assert_eq!(error.message, r#"unknown message type "nope""#);
    }

    #[test]
    fn server_messages_carry_their_type() {
        let text = ServerMessage::Synced.encode();
        assert_eq!(text, r#"{"type":"synced"}"#);
        let pong = ServerMessage::Pong { t: Value::from(7) }.encode();
        assert_eq!(pong, r#"{"type":"pong","t":7}"#);
    }
}
