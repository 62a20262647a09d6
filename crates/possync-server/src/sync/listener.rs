//! Hearing the other nodes on one PostgreSQL database: the store's
//! [`ChangeListener`] (LISTEN/NOTIFY) in a task of its own, whose news the
//! actor hands to the node.
//!
//! The task only moves what it hears: a change, or that the listener is down.
//! After a drop, the store's listener says [`StoreChange::Missed`] once it is
//! subscribed again; the actor then re-reads what may have changed (see
//! `actor::Actor::heard`) before it hands the node anything newer.

use super::store::SyncStore;
use crate::health::Health;
use possync_core::OrderId;
use possync_engine::{Node, OrderChanged, Reload, TokenKey};
use possync_store::StoreResult;
use possync_store::postgres::changes::{ChangeListener, StoreChange};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What the listener task tells the actor.
#[derive(Debug, Clone)]
pub enum Heard {
    /// A change some node committed (or `Missed`: the listener is back after a drop).
    Change(StoreChange),
    /// The listener lost the database; it tries again by itself.
    Down(String),
}

/// News waiting for the actor; the listener waits (and PostgreSQL queues
/// notifications for it) when the actor is this far behind.
const HEARD_QUEUED_MAX: usize = 16_384;

/// How long the listener waits before it tries the database again: 250 ms, doubling, at most 5 s.
fn reconnect_delay(attempts: u32) -> Duration {
    Duration::from_millis((250_u64 << attempts.min(5)).min(5_000))
}

/// Runs `listener` until shutdown (or until the actor is gone), passing on what it hears.
pub fn spawn_listener(
    mut listener: ChangeListener,
    shutdown: CancellationToken,
) -> mpsc::Receiver<Heard> {
    let (sender, receiver) = mpsc::channel(HEARD_QUEUED_MAX);
    tokio::spawn(async move {
        let mut failures = 0_u32;
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return,
                next = listener.next() => next,
            };
            let heard = match next {
                Ok(change) => {
                    failures = 0;
                    Heard::Change(change)
                }
                Err(error) => {
                    tracing::warn!(%error, "change listener: not hearing other nodes; trying again");
                    Heard::Down(error.to_string())
                }
            };
            let down = matches!(heard, Heard::Down(_));
            if sender.send(heard).await.is_err() {
                return;
            }
            if down {
                let delay = reconnect_delay(failures);
                failures = failures.saturating_add(1);
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    });
    receiver
}

/// What the actor keeps about hearing other nodes: the listener's news, and
/// the re-read after a drop.
pub(super) struct Hearing {
    heard: mpsc::Receiver<Heard>,
    /// The listener task ended (shutdown).
    ended: bool,
    /// Why the listener is down, while it is.
    down: Option<String>,
    /// Between a drop and the end of the re-read: order changes heard
    /// meanwhile, handed to the node after the store's listing of drafts.
    missed: Option<BTreeMap<OrderId, OrderChanged>>,
    listing_asked: bool,
    listing_retry_at: Option<Instant>,
    listings: mpsc::UnboundedSender<StoreResult<Vec<(OrderId, u64)>>>,
    listed: mpsc::UnboundedReceiver<StoreResult<Vec<(OrderId, u64)>>>,
    /// Tokens of this node's connections found revoked after a drop.
    revocations: mpsc::UnboundedSender<Vec<String>>,
    revoked: mpsc::UnboundedReceiver<Vec<String>>,
    health: Arc<Health>,
}

/// One thing for the actor to handle.
pub(super) enum HearingEvent {
    Heard(Heard),
    Listed(StoreResult<Vec<(OrderId, u64)>>),
    /// Tokens revoked while the listener was down.
    Revoked(Vec<String>),
}

/// News taken from the listener at once, so a burst of commits elsewhere
/// costs the node one store read.
const HEARD_PER_ROUND_MAX: usize = 4_096;

/// How long a failed listing of drafts waits before it is asked again.
const LISTING_RETRY: Duration = Duration::from_secs(1);

impl Hearing {
    pub(super) fn new(
        listener: ChangeListener,
        shutdown: CancellationToken,
        health: Arc<Health>,
    ) -> Self {
        let (listings, listed) = mpsc::unbounded_channel();
        let (revocations, revoked) = mpsc::unbounded_channel();
        Hearing {
            revocations,
            revoked,
            heard: spawn_listener(listener, shutdown),
            ended: false,
            down: None,
            missed: None,
            listing_asked: false,
            listing_retry_at: None,
            listings,
            listed,
            health,
        }
    }

    /// The next piece of news; never completes once the listener has ended.
    pub(super) async fn next(&mut self) -> HearingEvent {
        loop {
            tokio::select! {
                heard = self.heard.recv(), if !self.ended => match heard {
                    Some(heard) => return HearingEvent::Heard(heard),
                    None => self.ended = true,
                },
                Some(listed) = self.listed.recv() => return HearingEvent::Listed(listed),
                Some(revoked) = self.revoked.recv() => return HearingEvent::Revoked(revoked),
            }
        }
    }

    /// Hands what was heard (and whatever else is already queued) to the node.
    pub(super) fn handle(
        &mut self,
        event: HearingEvent,
        node: &mut Node,
        store: &Arc<dyn SyncStore>,
    ) {
        match event {
            HearingEvent::Heard(heard) => {
                let mut orders = Vec::new();
                self.heard_one(heard, node, store, &mut orders);
                for _ in 1..HEARD_PER_ROUND_MAX {
                    match self.heard.try_recv() {
                        Ok(heard) => self.heard_one(heard, node, store, &mut orders),
                        Err(_) => break,
                    }
                }
                if !orders.is_empty() {
                    node.on_orders_changed(orders);
                }
            }
            HearingEvent::Listed(Ok(drafts)) => {
                self.listing_asked = false;
                node.on_drafts_listed(drafts);
                if let Some(missed) = self.missed.take() {
                    node.on_orders_changed(missed.into_values().collect());
                }
                tracing::info!(
                    "change listener: caught up with what other nodes changed meanwhile"
                );
            }
            HearingEvent::Revoked(token_hashes) => {
                if !token_hashes.is_empty() {
                    tracing::info!(
                        n_tokens = token_hashes.len(),
                        "tokens revoked while the change listener was down: closing their connections"
                    );
                }
                let tokens: Vec<TokenKey> = token_hashes
                    .iter()
                    .map(|hash| TokenKey::new(hash))
                    .collect();
                node.on_tokens_revoked(&tokens);
            }
            HearingEvent::Listed(Err(error)) => {
                tracing::warn!(%error, "could not list the drafts after the change listener came back; trying again");
                self.listing_asked = false;
                self.listing_retry_at = Some(Instant::now() + LISTING_RETRY);
            }
        }
        self.publish();
    }

    fn heard_one(
        &mut self,
        heard: Heard,
        node: &mut Node,
        store: &Arc<dyn SyncStore>,
        orders: &mut Vec<OrderChanged>,
    ) {
        let change = match heard {
            Heard::Down(error) => {
                self.down = Some(error);
                return;
            }
            Heard::Change(change) => change,
        };
        self.down = None;
        match change {
            StoreChange::Order {
                order_id,
                version,
                op_id,
            } => {
                let change = OrderChanged {
                    order_id,
                    version,
                    op_id,
                };
                match self.missed.as_mut() {
                    Some(missed) => {
                        let kept = missed.entry(order_id).or_insert(change);
                        if change.version > kept.version {
                            *kept = change;
                        }
                    }
                    None => orders.push(change),
                }
            }
            StoreChange::Links => node.on_shop_changed(Reload::Links),
            StoreChange::Configs => node.on_shop_changed(Reload::Configs),
            StoreChange::Catalog => node.on_shop_changed(Reload::Catalog),
            // Tokens are looked up in the store on every request and every
            // connection, so a user changed on another node needs nothing here.
            StoreChange::Users => {}
            StoreChange::SessionClosed(session_id) => node.on_session_closed_elsewhere(session_id),
            // Logged out, or its user changed, on another node: its live
            // connections here close with 4001 too.
            StoreChange::TokenRevoked(token_hash) => {
                node.on_tokens_revoked(&[TokenKey::new(&token_hash)]);
            }
            StoreChange::Missed => {
                tracing::info!(
                    "change listener: back; re-reading what other nodes changed meanwhile"
                );
                // Order changes heard before this one go first; later ones wait for the listing.
                if !orders.is_empty() {
                    node.on_orders_changed(std::mem::take(orders));
                }
                self.missed.get_or_insert_with(BTreeMap::new);
                for what in [Reload::Links, Reload::Configs, Reload::Catalog] {
                    node.on_shop_changed(what);
                }
                self.listing_retry_at = None;
                self.ask_listing(store);
                self.recheck_tokens(node, store);
            }
        }
    }

    /// Revocations told meanwhile are lost too: the tokens of this node's
    /// connections are looked up again, and those revoked are closed (4001).
    fn recheck_tokens(&self, node: &Node, store: &Arc<dyn SyncStore>) {
        let token_hashes: Vec<String> = node
            .connection_tokens()
            .iter()
            .map(|token| token.0.to_string())
            .collect();
        if token_hashes.is_empty() {
            return;
        }
        let store = store.clone();
        let revocations = self.revocations.clone();
        tokio::spawn(async move {
            match store.revoked_tokens(&token_hashes).await {
                Ok(revoked) => {
                    let _ = revocations.send(revoked);
                }
                // The connections' own requests still check their tokens;
                // only a live socket of a revoked token lingers until the next drop.
                Err(error) => {
                    tracing::warn!(%error, "could not check the connections' tokens after the change listener came back");
                }
            }
        });
    }

    fn ask_listing(&mut self, store: &Arc<dyn SyncStore>) {
        if self.listing_asked {
            // The answer in flight may predate the drop: list again after it.
            self.listing_retry_at = Some(Instant::now());
            return;
        }
        self.listing_asked = true;
        let store = store.clone();
        let listings = self.listings.clone();
        tokio::spawn(async move {
            let _ = listings.send(store.draft_versions().await);
        });
    }

    /// Asks again for a listing that failed, once its delay passed.
    pub(super) fn tick(&mut self, store: &Arc<dyn SyncStore>) {
        if !self.listing_asked
            && self.missed.is_some()
            && self.listing_retry_at.is_some_and(|at| at <= Instant::now())
        {
            self.listing_retry_at = None;
            self.ask_listing(store);
        }
    }

    /// `/healthz` says `degraded`, and `/readyz` not ready, while this node
    /// does not hear the others or has not caught up with what it missed.
    fn publish(&self) {
        let mut reasons = Vec::new();
        if let Some(error) = &self.down {
            reasons.push(format!(
                "not hearing other nodes: the change listener is down ({error}); their changes reach this node's counters once it is back"
            ));
        } else if self.missed.is_some() {
            reasons.push(
                "re-reading what other nodes changed while the change listener was down".to_owned(),
            );
        }
        self.health.report(LISTENER_HEALTH, reasons);
    }
}

/// The name the listener's reasons go under in [`Health`].
pub const LISTENER_HEALTH: &str = "listener";
