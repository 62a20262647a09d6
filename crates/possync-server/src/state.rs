//! What every handler shares: the store, the configuration, the clock and the shutdown token.

use crate::auth::AuthState;
use crate::clock::{Clock, SystemClock};
use crate::config::ServerConfig;
use crate::connections::{ConnectionCounter, ConnectionMetrics};
use crate::health::Health;
use crate::printing::{PrintHandle, start_printing};
use crate::sync::refund::RefundTurns;
use crate::sync::{ShopStore, SyncHandle, SyncStore, start_sync};
use axum::extract::FromRef;
use possync_engine::Reload;
use possync_store::postgres::changes::ChangeListener;
use possync_store::{Store, StoreError};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The application state, cheap to clone (everything behind `Arc`).
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the server shuts down; long-lived tasks (WebSockets) watch it.
    pub shutdown: CancellationToken,
    /// What the authentication extractors need: the store, the clock, tokens and password checks.
    pub auth: AuthState,
    /// The live sync engine: ops, WebSockets, and configuration changes go through it.
    pub sync: SyncHandle,
    /// The open HTTP connections, bounded in all and per client address.
    pub connections: Arc<ConnectionCounter>,
    /// What `/healthz` answers.
    pub health: Arc<Health>,
    /// Wakes the task that prints the queued receipts.
    pub printing: PrintHandle,
    /// Refunds of one paid order take turns (see `sync::refund`).
    pub refund_turns: Arc<RefundTurns>,
}

impl AppState {
    /// Loads the sync engine from the store and assembles the state. `clock` is
    /// the system clock in production and a manual one in tests.
    pub async fn start(
        store: Arc<dyn Store>,
        config: ServerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState, StoreError> {
        let sync_store = Arc::new(ShopStore(store.clone()));
        AppState::start_with_sync_store(store, sync_store, config, clock).await
    }

    /// [`AppState::start`] with the sync node on its own view of the store
    /// (tests wrap it to inject failures the disk does not make on demand).
    pub async fn start_with_sync_store(
        store: Arc<dyn Store>,
        sync_store: Arc<dyn SyncStore>,
        config: ServerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState, StoreError> {
        let health = Arc::new(Health::default());
        let shutdown = CancellationToken::new();
        let listener = match &config.hear_other_nodes {
            Some(url) => Some(ChangeListener::connect(&url.0).await?),
            None => None,
        };
        let sync = start_sync(
            sync_store,
            clock.clone(),
            config.sync.clone(),
            health.clone(),
            shutdown.clone(),
            listener,
        )
        .await?;
        let auth = AuthState::new(store.clone(), clock.clone(), config.auth.clone());
        let connection_metrics = ConnectionMetrics::new();
        for collector in connection_metrics.collectors() {
            sync.metrics.register(collector);
        }
        let connections = ConnectionCounter::new(config.connections.clone(), connection_metrics);
        let printing = start_printing(
            store.clone(),
            clock.clone(),
            config.printing.clone(),
            shutdown.clone(),
        );
        Ok(AppState {
            store,
            config: Arc::new(config),
            clock,
            shutdown,
            auth,
            sync,
            connections,
            health,
            printing,
            refund_turns: Arc::new(RefundTurns::default()),
        })
    }

    /// [`AppState::start`] with the system clock.
    pub async fn start_with_system_clock(
        store: Arc<dyn Store>,
        config: ServerConfig,
    ) -> Result<AppState, StoreError> {
        AppState::start(store, config, Arc::new(SystemClock)).await
    }

    /// Tells live sync about a change the back office just committed, so open
    /// terminals see new links, config settings, prices and closed sessions
    /// without a restart. Handlers call it after the store call succeeded.
    ///
    /// This is the one place live sync plugs into the back office: links,
    /// configs and the catalog are reloaded into the node. (Sessions close
    /// through the node itself: [`SyncHandle::close_session`].)
    pub async fn notify(&self, change: ShopChange) {
        tracing::debug!(?change, "shop configuration changed");
        match change {
            ShopChange::Links => self.sync.shop_changed(Reload::Links).await,
            ShopChange::Configs => self.sync.shop_changed(Reload::Configs).await,
            ShopChange::Catalog => self.sync.shop_changed(Reload::Catalog).await,
        }
    }
}

impl FromRef<AppState> for AuthState {
    fn from_ref(state: &AppState) -> AuthState {
        state.auth.clone()
    }
}

/// A committed back-office change that live sync must learn about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopChange {
    /// Sync links between configs changed: visibility of shared drafts changes.
    Links,
    /// A config was created, renamed, or its `auto_share` changed.
    Configs,
    /// Products, taxes, customers, payment methods or categories changed.
    Catalog,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The store is a trait object without Debug; naming it is enough.
        f.debug_struct("AppState")
            .field("store", &"dyn Store")
            .field("config", &self.config)
            .field("clock", &self.clock)
            .field("shutdown", &self.shutdown.is_cancelled())
            .finish()
    }
}
