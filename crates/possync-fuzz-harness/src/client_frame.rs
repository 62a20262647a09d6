//! Target `client_frame`: any bytes a terminal can put in a WebSocket text
//! frame, through `possync_protocol::decode_client_message`.
//!
//! What must hold:
//! - decoding never panics and is deterministic;
//! - a refusal is `invalid` or `too_large`, with a short, non-empty message, and
//!   names an op (so the answer is a `reject`) only for a frame of type `op`;
//! - the answer to a refusal encodes as one JSON object with a `type`;
//! - an accepted frame is within every bound (frame size, `known`, `resync`);
//! - an accepted op, encoded again as a client would, decodes to the same op.

use possync_core::RejectCode;
use possync_protocol::{
    CLIENT_FRAME_BYTES_MAX, ClientMessage, KNOWN_ORDERS_MAX, PROTOCOL_VERSION, RESYNC_ORDERS_MAX,
    ServerMessage, decode_client_message,
};
use serde_json::{Value, json};

/// The longest message a refusal may carry, in bytes: a cashier reads it, and
/// a hostile frame must not be echoed back whole.
pub const ERROR_MESSAGE_BYTES_MAX: usize = 1_024;

/// Checks one frame. Bytes that are not UTF-8 never reach the decoder (the
/// WebSocket layer refuses such text frames), so they are read lossily: the
/// decoder still sees every shape of text.
pub fn check_client_frame(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_text(&text);
}

/// Checks one text frame.
pub fn check_text(text: &str) {
    let decoded = decode_client_message(text);
    assert_eq!(
        decoded,
        decode_client_message(text),
        "decoding the same frame twice gave two answers"
    );
    match decoded {
        Err(error) => {
            assert!(
                matches!(error.code, RejectCode::Invalid | RejectCode::TooLarge),
                "a bad frame is answered invalid or too_large, not {}",
                error.code
            );
            assert!(!error.message.is_empty(), "a refusal says why");
            assert!(
                error.message.len() <= ERROR_MESSAGE_BYTES_MAX,
                "a refusal's message is {} bytes (at most {ERROR_MESSAGE_BYTES_MAX}): {:?}...",
                error.message.len(),
                error.message.chars().take(200).collect::<String>()
            );
            if error.op.is_some() {
                let frame: Option<Value> = serde_json::from_str(text).ok();
                let kind = frame.as_ref().and_then(|frame| frame.get("type"));
                assert_eq!(
                    kind.and_then(Value::as_str),
                    Some("op"),
                    "only an op frame is answered with a reject"
                );
            }
            let answer = error.to_server_message();
            assert!(
                matches!(
                    answer,
                    ServerMessage::Reject { .. } | ServerMessage::Error { .. }
                ),
                "a refusal is answered with reject or error"
            );
            check_encodes_as_message(&answer);
        }
        Ok(message) => {
            assert!(
                text.len() <= CLIENT_FRAME_BYTES_MAX,
                "a frame of {} bytes was accepted",
                text.len()
            );
            check_accepted(message);
        }
    }
}

fn check_accepted(message: ClientMessage) {
    match message {
        ClientMessage::Hello {
            protocol, known, ..
        } => {
            assert_eq!(protocol, PROTOCOL_VERSION, "hello of another protocol");
            assert!(
                known.len() <= KNOWN_ORDERS_MAX,
                "hello with {} known",
                known.len()
            );
        }
        ClientMessage::Op(request) => {
            // What a client library would send for this op.
            let again = json!({
                "type": "op",
                "op_id": request.op_id,
                "order_id": request.order_id,
                "op": request.op,
            })
            .to_string();
            match decode_client_message(&again) {
                Ok(ClientMessage::Op(decoded)) => assert_eq!(
                    decoded, request,
                    "an op encoded again decodes to another op: {again}"
                ),
                other => panic!("an accepted op, encoded again, is refused: {other:?}\n{again}"),
            }
        }
        ClientMessage::Resync { order_ids } => assert!(
            order_ids.len() <= RESYNC_ORDERS_MAX,
            "resync of {} orders",
            order_ids.len()
        ),
        ClientMessage::Presence { .. } => {}
        ClientMessage::Ping { t } => check_encodes_as_message(&ServerMessage::Pong { t }),
    }
}

/// A server message encodes as one JSON object with a string `type`.
fn check_encodes_as_message(message: &ServerMessage) {
    let text = message.encode();
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("a server message is not JSON ({error}): {text}"));
    assert!(
        value.get("type").and_then(Value::as_str).is_some(),
        "a server message without a type: {text}"
    );
}
