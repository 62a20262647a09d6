//! possync-server: the HTTP API, its authentication, the OpenAPI document and the embedded web POS.
//!
//! The server is a thin shell around the store (and, for live sync, the engine):
//! every handler decodes its input into `possync-core` types, makes one call, and
//! encodes the answer. Rules live in the core, SQL in the store.
//!
//! Entry points:
//! - [`AppState`]: what every handler shares (the store, the configuration, the clock,
//!   the shutdown token).
//! - [`router`]: the whole application as an `axum::Router`, ready to serve.
//! - [`serve`] / [`RunningServer::start`]: run it on a `TcpListener` until a shutdown
//!   signal, with graceful shutdown of in-flight requests.
//! - [`auth::Caller`]: the extractor that turns a token into a user or terminal caller.
//!
//! Adding routes (the sync routes, for example) is done in [`api::routes`]: register
//! each handler with `utoipa_axum::routes!`, and it lands in the router and in the
//! OpenAPI document at once, so the two cannot drift.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod connections;
pub mod error;
pub mod extract;
pub mod health;
pub mod openapi;
pub mod printing;
pub mod schemas;
pub mod state;
pub mod sync;
pub mod web;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{DatabaseUrl, ServerConfig};
pub use error::ApiError;
pub use state::{AppState, ShopChange};

use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The whole application: the API under `/api/v1`, `/healthz`, and the web POS at `/`.
pub fn router(state: AppState) -> Router {
    api::application(state)
}

/// Serves the application on `listener` until `shutdown` completes, then lets
/// in-flight requests finish. Cancels `state.shutdown` too, so long-lived tasks
/// (WebSocket connections) can end on the same signal. Connections are bounded
/// and timed out as [`connections`] describes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shutdown_token = state.shutdown.clone();
    let counter = state.connections.clone();
    let application = router(state);
    let signal = async move {
        tokio::select! {
            () = shutdown => {}
            () = shutdown_token.cancelled() => {}
        }
        shutdown_token.cancel();
    };
    connections::serve_bounded(listener, application, counter, signal).await
}

/// A server running in a background task: what tests and embedders hold on to.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Starts serving on `listener` (bind it to `127.0.0.1:0` for a free port).
    pub fn start(listener: TcpListener, state: AppState) -> std::io::Result<RunningServer> {
        let local_addr = listener.local_addr()?;
        let shutdown = state.shutdown.clone();
        let task = tokio::spawn(serve(listener, state, std::future::pending()));
        Ok(RunningServer {
            local_addr,
            shutdown,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The token that stops the server; cancel it from anywhere.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting connections, waits for in-flight requests, and returns how serving ended.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        match self.task.await {
            Ok(result) => result,
            Err(join_error) => Err(std::io::Error::other(join_error)),
        }
    }
}
