//! A connection's outgoing queue: the actor puts frames in, the
//! connection's task takes them out and writes them to the socket.
//!
//! Unbounded here because the node bounds it (frames and bytes) and closes a
//! connection that goes over (4008). Not a tokio mpsc channel: that
//! allocates a block of 32 slots and its padded channel state (about 1 KiB)
//! for every connection up front, which ten thousand idle terminals pay for
//! nothing. This queue holds no buffer while it is empty and gives back what
//! a burst (a catch-up) made it grow.

use super::actor::Outgoing;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// The capacity an emptied queue may keep; a larger one is given back.
const CAPACITY_KEPT_MAX: usize = 8;

/// A new queue: the actor's end and the connection's end.
pub fn outbox() -> (OutboxSender, OutboxReceiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            frames: VecDeque::new(),
            sender_gone: false,
            receiver_gone: false,
        }),
        ready: Notify::new(),
    });
    (OutboxSender(shared.clone()), OutboxReceiver(shared))
}

struct Shared {
    state: Mutex<State>,
    /// Told when a frame is queued or the sender is gone; one waiter at most.
    ready: Notify,
}

struct State {
    frames: VecDeque<Outgoing>,
    sender_gone: bool,
    receiver_gone: bool,
}

impl State {
    /// The next frame; an emptied queue gives back the capacity a burst left.
    fn take(&mut self) -> Option<Outgoing> {
        let outgoing = self.frames.pop_front()?;
        if self.frames.is_empty() && self.frames.capacity() > CAPACITY_KEPT_MAX {
            self.frames = VecDeque::new();
        }
        Some(outgoing)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding it; a poisoned queue is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The actor's end. Dropping it ends the queue: the receiver gets what is
/// queued, then `None`.
pub struct OutboxSender(Arc<Shared>);

impl std::fmt::Debug for OutboxSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxSender").finish_non_exhaustive()
    }
}

/// The receiver is gone (the connection is ending); the frame was not queued.
#[derive(Debug)]
pub struct ReceiverGone;

impl OutboxSender {
    /// Queues a frame, unless the connection's task has ended.
    pub fn send(&self, outgoing: Outgoing) -> Result<(), ReceiverGone> {
        let mut state = self.0.lock();
        if state.receiver_gone {
            return Err(ReceiverGone);
        }
        state.frames.push_back(outgoing);
        drop(state);
        self.0.ready.notify_one();
        Ok(())
    }
}

impl Drop for OutboxSender {
    fn drop(&mut self) {
        self.0.lock().sender_gone = true;
        self.0.ready.notify_one();
    }
}

/// The connection's end.
pub struct OutboxReceiver(Arc<Shared>);

impl std::fmt::Debug for OutboxReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxReceiver").finish_non_exhaustive()
    }
}

impl OutboxReceiver {
    /// The next frame; `None` once the sender is gone and the queue is empty.
    /// Cancel-safe: a frame is only taken by the call that returns it.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        loop {
            {
                // One look under one lock: a frame queued just before the
                // sender went is still taken.
                let mut state = self.0.lock();
                if let Some(outgoing) = state.take() {
                    return Some(outgoing);
                }
                if state.sender_gone {
                    return None;
                }
            }
            // A frame queued between the look above and this wait left a
            // permit in `ready`: the wait ends at once.
            self.0.ready.notified().await;
        }
    }

    /// The next frame if one is queued now; `None` otherwise (and once the
    /// sender is gone and the queue is empty, as [`Self::recv`] then says).
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        self.0.lock().take()
    }

    /// Whether nothing is queued now.
    pub fn is_empty(&self) -> bool {
        self.0.lock().frames.is_empty()
    }
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.receiver_gone = true;
        // Frames nobody will write: their memory goes now, not when the
        // actor hears of the disconnect.
        state.frames = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ws::Utf8Bytes;
    use possync_protocol::CloseCode;
    use std::time::Duration;

    fn text(value: &'static str) -> Outgoing {
        Outgoing::Text(Utf8Bytes::from_static(value))
    }

    fn as_text(outgoing: Option<Outgoing>) -> Option<String> {
        match outgoing {
            Some(Outgoing::Text(text)) => Some(text.as_str().to_owned()),
            Some(Outgoing::Close(code)) => Some(format!("close {}", code.code())),
            None => None,
        }
    }

    #[tokio::test]
    async fn frames_come_out_in_order_then_none_once_the_sender_is_gone() {
        let (sender, mut receiver) = outbox();
        sender.send(text("a")).unwrap();
        sender.send(text("b")).unwrap();
        sender.send(Outgoing::Close(CloseCode::TooSlow)).unwrap();
        drop(sender);
        assert_eq!(as_text(receiver.recv().await).as_deref(), Some("a"));
        assert_eq!(as_text(receiver.recv().await).as_deref(), Some("b"));
        assert_eq!(
            as_text(receiver.recv().await),
            Some(format!("close {}", CloseCode::TooSlow.code()))
        );
        assert!(receiver.recv().await.is_none());
        assert!(receiver.recv().await.is_none());
    }

    #[test]
    fn try_recv_takes_what_is_queued_now_in_order() {
        let (sender, mut receiver) = outbox();
        assert!(receiver.try_recv().is_none(), "nothing queued yet");
        sender.send(text("a")).unwrap();
        sender.send(text("b")).unwrap();
        assert_eq!(as_text(receiver.try_recv()).as_deref(), Some("a"));
        assert_eq!(as_text(receiver.try_recv()).as_deref(), Some("b"));
        assert!(receiver.try_recv().is_none(), "the queue is empty again");
        sender.send(text("c")).unwrap();
        drop(sender);
        assert_eq!(
            as_text(receiver.try_recv()).as_deref(),
            Some("c"),
            "a frame queued before the sender went is still taken"
        );
        assert!(receiver.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_for_a_frame_sent_later() {
        let (sender, mut receiver) = outbox();
        let waiting = tokio::spawn(async move { as_text(receiver.recv().await) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        sender.send(text("late")).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the receiver was not woken")
            .unwrap();
        assert_eq!(got.as_deref(), Some("late"));
    }

    #[tokio::test]
    async fn a_cancelled_wait_loses_no_frame_and_no_wake_up() {
        let (sender, mut receiver) = outbox();
        // A wait given up, as when another branch of a select wins.
        assert!(
            tokio::time::timeout(Duration::from_millis(10), receiver.recv())
                .await
                .is_err()
        );
        sender.send(text("kept")).unwrap();
        assert_eq!(as_text(receiver.recv().await).as_deref(), Some("kept"));
        // The next wait still wakes for the next frame.
        let waiting = tokio::spawn(async move {
            let got = as_text(receiver.recv().await);
            (got, receiver)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        sender.send(text("next")).unwrap();
        let (got, mut receiver) = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the receiver was not woken")
            .unwrap();
        assert_eq!(got.as_deref(), Some("next"));
        drop(sender);
        assert!(receiver.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_drained_queue_gives_back_what_a_burst_grew() {
        let (sender, mut receiver) = outbox();
        for _ in 0..1_000 {
            sender.send(text("catch-up")).unwrap();
        }
        assert!(receiver.0.lock().frames.capacity() >= 1_000);
        for _ in 0..1_000 {
            assert!(receiver.recv().await.is_some());
        }
        assert!(receiver.is_empty());
        assert!(receiver.0.lock().frames.capacity() <= CAPACITY_KEPT_MAX);
    }

    #[tokio::test]
    async fn sending_to_a_gone_receiver_fails_and_keeps_nothing() {
        let (sender, receiver) = outbox();
        sender.send(text("queued")).unwrap();
        drop(receiver);
        assert!(sender.send(text("after")).is_err());
        assert!(sender.0.lock().frames.is_empty());
    }
}
