//! [`Counter`]: one terminal on a WebSocket, as a client written from the
//! contract alone would be, and JSON builders for the ops it sends.

use futures_util::{SinkExt, StreamExt};
use possync_core::{Order, Patch};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// How long a test waits for a message that must come.
pub const WAIT: Duration = Duration::from_secs(10);

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One terminal on a WebSocket: it keeps every order it was sent and applies
/// every patch, exactly as a client written from the contract would.
pub struct Counter {
    socket: Socket,
    pub token: String,
    pub terminal: Uuid,
    pub welcome: Value,
    /// Messages received and not yet looked at by the test.
    pub inbox: VecDeque<Value>,
    /// The copies this terminal holds, advanced by `order` and `change` messages only.
    pub orders: BTreeMap<Uuid, Order>,
}

impl Counter {
    pub async fn connect(
        base_url: &str,
        token: &str,
        terminal: Uuid,
        known: BTreeMap<Uuid, u64>,
    ) -> Counter {
        let url = format!(
            "{}/api/v1/sync?token={token}",
            base_url.replacen("http", "ws", 1)
        );
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut counter = Counter {
            socket,
            token: token.to_owned(),
            terminal,
            welcome: Value::Null,
            inbox: VecDeque::new(),
            orders: BTreeMap::new(),
        };
        counter
            .send(json!({"type": "hello", "protocol": 1, "terminal": terminal, "known": known}))
            .await;
        counter.welcome = counter.expect("welcome").await;
        counter.expect("synced").await;
        counter
    }

    /// A terminal on an open socket that has not said `hello` yet.
    pub fn from_socket(socket: Socket, token: &str, terminal: Uuid) -> Counter {
        Counter {
            socket,
            token: token.to_owned(),
            terminal,
            welcome: Value::Null,
            inbox: VecDeque::new(),
            orders: BTreeMap::new(),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// Reads everything until the server closes the connection; returns the close code.
    pub async fn read_until_closed(&mut self) -> Option<u16> {
        self.closed_with().await
    }

    pub async fn send_text(&mut self, text: String) {
        self.socket.send(Message::text(text)).await.unwrap();
    }

    /// Reads the next JSON message (tracking orders), or None when the socket closed.
    async fn read(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("timed out waiting for a message")?;
            match message {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    self.track(&value);
                    return Some(value);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Keeps this terminal's copies up to date from the message.
    fn track(&mut self, message: &Value) {
        match message["type"].as_str() {
            Some("order") => {
                let order: Order = serde_json::from_value(message["order"].clone()).unwrap();
                self.orders.insert(order.id.0, order);
            }
            Some("change") => {
                let order_id: Uuid = message["order_id"].as_str().unwrap().parse().unwrap();
                let version = message["version"].as_u64().unwrap();
                let known = self
                    .orders
                    .get(&order_id)
                    .expect("a change for an order this counter never got");
                assert_eq!(
                    known.version + 1,
                    version,
                    "changes arrive in version order, each once"
                );
                let patch: Patch = serde_json::from_value(message["patch"].clone()).unwrap();
                let patched = patch.apply_to(known).unwrap();
                assert_eq!(patched.version, version);
                self.orders.insert(order_id, patched);
            }
            Some("removed") => {
                let order_id: Uuid = message["order_id"].as_str().unwrap().parse().unwrap();
                self.orders.remove(&order_id);
            }
            _ => {}
        }
    }

    /// The next message of this type, keeping the others for later.
    pub async fn expect(&mut self, kind: &str) -> Value {
        self.expect_where(|message| message["type"] == kind).await
    }

    pub async fn expect_where(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(index) = self.inbox.iter().position(&wanted) {
            return self.inbox.remove(index).unwrap();
        }
        loop {
            let message = self.read().await.expect("the connection closed");
            if wanted(&message) {
                return message;
            }
            self.inbox.push_back(message);
        }
    }

    /// The next message `wanted` picks, or None when the server closes the
    /// connection first (as a session close may, before an op in flight is read).
    pub async fn expect_where_or_closed(
        &mut self,
        wanted: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(index) = self.inbox.iter().position(&wanted) {
            return self.inbox.remove(index);
        }
        loop {
            let message = self.read().await?;
            if wanted(&message) {
                return Some(message);
            }
            self.inbox.push_back(message);
        }
    }

    /// Sends an op and returns its answer (`ack` or `reject`).
    pub async fn op(&mut self, order_id: Uuid, op: Value) -> Value {
        let op_id = Uuid::now_v7();
        self.op_with_id(op_id, order_id, op).await
    }

    pub async fn op_with_id(&mut self, op_id: Uuid, order_id: Uuid, op: Value) -> Value {
        self.send(json!({"type": "op", "op_id": op_id, "order_id": order_id, "op": op}))
            .await;
        let op_id = op_id.to_string();
        self.expect_where(|message| {
            (message["type"] == "ack" || message["type"] == "reject")
                && message["op_id"] == op_id.as_str()
        })
        .await
    }

    /// An op that must be accepted; returns the new version.
    pub async fn ok(&mut self, order_id: Uuid, op: Value) -> u64 {
        let answer = self.op(order_id, op.clone()).await;
        assert_eq!(answer["type"], "ack", "{op} was refused: {answer}");
        answer["version"].as_u64().unwrap()
    }

    /// An op that must be refused; returns the reject.
    pub async fn refused(&mut self, order_id: Uuid, op: Value, code: &str) -> Value {
        let answer = self.op(order_id, op.clone()).await;
        assert_eq!(answer["type"], "reject", "{op} was accepted: {answer}");
        assert_eq!(answer["code"], code, "{answer}");
        answer
    }

    /// Waits until everything the server queued for this counter before now has
    /// arrived: an op goes through the engine, and its answer is queued after
    /// anything queued earlier. (An absent message is proven this way, never by sleeping.)
    pub async fn barrier(&mut self) {
        let answer = self
            .op_resent_while_retryable(
                Uuid::now_v7(),
                Uuid::now_v7(),
                json!({"kind": "set_note", "note": "barrier"}),
            )
            .await;
        assert_eq!(answer["code"], "not_found", "{answer}");
    }

    /// Sends an op and, as a terminal does, sends it again with the same
    /// `op_id` while it is answered with a retryable code (`unavailable` while
    /// the server recovers from a failed save, `rate_limited`), backing off a
    /// little each time. Returns the first final answer.
    pub async fn op_resent_while_retryable(
        &mut self,
        op_id: Uuid,
        order_id: Uuid,
        op: Value,
    ) -> Value {
        let started = std::time::Instant::now();
        let mut backoff = Duration::from_millis(5);
        loop {
            let answer = self.op_with_id(op_id, order_id, op.clone()).await;
            let retryable = answer["type"] == "reject"
                && (answer["code"] == "unavailable" || answer["code"] == "rate_limited");
            if !retryable || started.elapsed() > WAIT {
                return answer;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(200));
        }
    }

    /// Drains what has arrived up to a barrier, tracking orders, and returns it.
    pub async fn received(&mut self) -> Vec<Value> {
        self.barrier().await;
        self.inbox.drain(..).collect()
    }

    /// Waits for the server to close the connection; returns the close code.
    pub async fn closed_with(&mut self) -> Option<u16> {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("timed out waiting for close");
            match message {
                Some(Ok(Message::Close(frame))) => return frame.map(|frame| u16::from(frame.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The versions this counter holds, as `hello.known`.
    pub fn known(&self) -> BTreeMap<Uuid, u64> {
        self.orders
            .iter()
            .map(|(id, order)| (*id, order.version))
            .collect()
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

pub fn create(share: bool) -> Value {
    json!({"kind": "create", "share": share})
}

pub fn add_line(line_id: Uuid, product_id: i64, qty: &str) -> Value {
    json!({"kind": "add_line", "line_id": line_id, "product_id": product_id, "qty": qty})
}
